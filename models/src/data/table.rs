//! Datasets from tables: numeric feature columns plus a label column. CSV
//! text is parsed here; `dmlsim` reads Arrow and Parquet files into the same
//! column form and calls [`from_columns`].

use super::Dataset;
use ndarray::Array2;
use std::collections::BTreeMap;

/// Which columns hold the features and the label.
#[derive(Clone, Debug, PartialEq)]
pub enum ColumnPick {
    /// No header: every column but the last is a feature, the last is the label.
    LastIsLabel,
    /// A header row names the columns: `label` and the `features` (all other
    /// columns when `features` is empty).
    Named {
        /// Label column name.
        label: String,
        /// Feature column names; empty means every other column.
        features: Vec<String>,
    },
}

/// One column's cells: numbers (from typed files) or text (from CSV).
#[derive(Clone, Debug, PartialEq)]
pub enum Cells {
    /// Numeric cells.
    Numbers(Vec<f64>),
    /// Text cells (numbers are parsed when the column is a feature).
    Text(Vec<String>),
}

impl Cells {
    fn len(&self) -> usize {
        match self {
            Cells::Numbers(v) => v.len(),
            Cells::Text(v) => v.len(),
        }
    }
}

/// Builds a dataset from named columns. Labels may be text or numbers; they
/// are mapped to `0..classes` in sorted order (numbers numerically). Errors
/// name the column and row.
pub fn from_columns(
    name: &str,
    columns: &[(String, Cells)],
    pick: &ColumnPick,
) -> Result<Dataset, String> {
    if columns.is_empty() {
        return Err("the table has no columns".into());
    }
    let names: Vec<&str> = columns.iter().map(|c| c.0.as_str()).collect();
    for (i, n) in names.iter().enumerate() {
        if let Some(j) = names[..i].iter().position(|m| m == n) {
            return Err(format!(
                "column `{n}` appears twice (columns {} and {}); column names must be unique",
                j + 1,
                i + 1
            ));
        }
    }
    let find = |n: &str| {
        names.iter().position(|c| *c == n).ok_or_else(|| {
            format!(
                "no column named `{n}`; the columns are {}",
                names.join(", ")
            )
        })
    };
    let (label_idx, feature_idx): (usize, Vec<usize>) = match pick {
        ColumnPick::LastIsLabel => (names.len() - 1, (0..names.len() - 1).collect()),
        ColumnPick::Named { label, features } => {
            let l = find(label)?;
            let f = if features.is_empty() {
                (0..names.len()).filter(|&i| i != l).collect()
            } else {
                features.iter().map(|f| find(f)).collect::<Result<_, _>>()?
            };
            (l, f)
        }
    };
    if feature_idx.is_empty() {
        return Err("no feature columns".into());
    }
    let rows = columns[label_idx].1.len();
    if rows == 0 {
        return Err("the table has no rows".into());
    }
    let mut x = Array2::<f32>::zeros((rows, feature_idx.len()));
    for (j, &c) in feature_idx.iter().enumerate() {
        let (cname, cells) = &columns[c];
        if cells.len() != rows {
            return Err(format!(
                "column `{cname}` has {} rows, the label column {rows}",
                cells.len()
            ));
        }
        for i in 0..rows {
            let v = match cells {
                Cells::Numbers(v) => v[i],
                Cells::Text(t) => t[i].trim().parse::<f64>().map_err(|_| {
                    format!(
                        "column `{cname}`, row {}: expected a number, found `{}`",
                        i + 1,
                        t[i]
                    )
                })?,
            };
            if !v.is_finite() {
                return Err(format!(
                    "column `{cname}`, row {}: expected a finite number, found {v}",
                    i + 1
                ));
            }
            let narrow = v as f32;
            if !narrow.is_finite() {
                return Err(format!(
                    "column `{cname}`, row {}: {v} is beyond ±3.4e38, the range of the 32-bit floats models train in; rescale the column",
                    i + 1
                ));
            }
            x[[i, j]] = narrow;
        }
    }
    let (lname, lcells) = &columns[label_idx];
    let (y, class_labels) = classes_of(lname, lcells)?;
    let classes = class_labels.len();
    if classes < 2 {
        return Err(format!("label column `{lname}` has fewer than two classes"));
    }
    Ok(Dataset {
        name: name.to_string(),
        x,
        y,
        classes,
        class_labels,
    })
}

/// Text that marks a missing value in files written by pandas, Polars, R
/// or spreadsheets (compared without case).
const MISSING_MARKERS: [&str; 6] = ["", "nan", "na", "n/a", "null", "none"];

/// Maps label cells to classes `0..k` in sorted order (numbers
/// numerically; text that is all numbers counts as numbers) and returns
/// each class's label. A missing or non-finite label is an error naming
/// the row — it would otherwise become a class of its own.
fn classes_of(name: &str, cells: &Cells) -> Result<(Vec<u32>, Vec<String>), String> {
    let bad = |i: usize, found: &str| {
        format!(
            "label column `{name}`, row {}: missing or invalid label `{found}`; drop or fill such rows",
            i + 1
        )
    };
    if let Cells::Text(t) = cells
        && let Some((i, s)) = t
            .iter()
            .enumerate()
            .find(|(_, s)| MISSING_MARKERS.contains(&s.trim().to_ascii_lowercase().as_str()))
    {
        return Err(bad(i, s));
    }
    let numeric: Option<Vec<f64>> = match cells {
        Cells::Numbers(v) => Some(v.clone()),
        Cells::Text(t) => t.iter().map(|s| s.trim().parse::<f64>().ok()).collect(),
    };
    if let Some(values) = numeric {
        if let Some(i) = values.iter().position(|v| !v.is_finite()) {
            return Err(bad(i, &values[i].to_string()));
        }
        let mut distinct = values.clone();
        distinct.sort_by(f64::total_cmp);
        distinct.dedup();
        let y = values
            .iter()
            .map(|v| distinct.partition_point(|d| d < v) as u32)
            .collect();
        return Ok((y, distinct.iter().map(|d| d.to_string()).collect()));
    }
    let Cells::Text(t) = cells else {
        unreachable!("number cells always give numeric labels")
    };
    let index: BTreeMap<&str, u32> = t
        .iter()
        .map(|s| (s.trim(), 0))
        .collect::<BTreeMap<_, _>>()
        .into_keys()
        .enumerate()
        .map(|(i, k)| (k, i as u32))
        .collect();
    let y = t.iter().map(|s| index[s.trim()]).collect();
    Ok((y, index.into_keys().map(str::to_string).collect()))
}

/// Parses comma-separated text. With [`ColumnPick::Named`] the first line is
/// a header; with [`ColumnPick::LastIsLabel`] there is none. `max_rows`
/// stops early (None: all rows).
pub fn parse_csv(
    text: &str,
    name: &str,
    max_rows: Option<usize>,
    pick: &ColumnPick,
) -> Result<Dataset, String> {
    parse_csv_reader(text.as_bytes(), name, max_rows, pick)
}

/// Parses comma-separated text line by line from a reader. Feature cells
/// become numbers as they are read (8 bytes each) and columns that are
/// neither label nor feature are skipped, so memory follows the table's
/// values, not its text.
pub fn parse_csv_reader(
    reader: impl std::io::BufRead,
    name: &str,
    max_rows: Option<usize>,
    pick: &ColumnPick,
) -> Result<Dataset, String> {
    let mut lines = reader
        .lines()
        .enumerate()
        .map(|(i, l)| {
            l.map(|l| (i, l))
                .map_err(|e| format!("line {}: {e}", i + 1))
        })
        .filter(|l| l.as_ref().map_or(true, |(_, l)| !l.trim().is_empty()));
    let cell = |c: &str| c.trim().trim_matches('"').to_string();
    let mut names: Vec<String> = match pick {
        ColumnPick::Named { .. } => match lines.next().transpose()? {
            Some((_, h)) => h.split(',').map(cell).collect(),
            None => return Err("the file is empty".into()),
        },
        ColumnPick::LastIsLabel => Vec::new(),
    };
    // What each column holds once the header (or first row) is known.
    enum Col {
        Label(Vec<String>),
        Feature(Vec<f64>),
        Skip,
    }
    let mut cols: Vec<Col> = Vec::new();
    let layout = |names: &[String]| -> Result<Vec<Col>, String> {
        let (label, features): (Option<&str>, &[String]) = match pick {
            ColumnPick::Named { label, features } => (Some(label), features),
            ColumnPick::LastIsLabel => (None, &[]),
        };
        for wanted in label.into_iter().chain(features.iter().map(String::as_str)) {
            if !names.iter().any(|n| n == wanted) {
                return Err(format!(
                    "no column named `{wanted}`; the columns are {}",
                    names.join(", ")
                ));
            }
        }
        let label_at = match label {
            Some(l) => names.iter().position(|n| n == l),
            None => names.len().checked_sub(1),
        };
        Ok((0..names.len())
            .map(|i| {
                if Some(i) == label_at {
                    Col::Label(Vec::new())
                } else if features.is_empty() || features.contains(&names[i]) {
                    Col::Feature(Vec::new())
                } else {
                    Col::Skip
                }
            })
            .collect())
    };
    if !names.is_empty() {
        cols = layout(&names)?;
    }
    for (index, line) in lines.take(max_rows.unwrap_or(usize::MAX)).enumerate() {
        let (line_no, line) = line?;
        let row = index + 1;
        let cells: Vec<&str> = line.split(',').collect();
        if names.is_empty() {
            names = (0..cells.len())
                .map(|i| format!("column {}", i + 1))
                .collect();
            cols = layout(&names)?;
        }
        if cells.len() != names.len() {
            return Err(format!(
                "line {}: expected {} fields, found {}",
                line_no + 1,
                names.len(),
                cells.len()
            ));
        }
        for ((col, c), n) in cols.iter_mut().zip(&cells).zip(&names) {
            match col {
                Col::Label(v) => v.push(cell(c)),
                Col::Feature(v) => {
                    let text = c.trim().trim_matches('"');
                    let x = text.parse::<f64>().map_err(|_| {
                        format!("column `{n}`, row {row}: expected a number, found `{text}`")
                    })?;
                    v.push(x);
                }
                Col::Skip => {}
            }
        }
    }
    let columns: Vec<(String, Cells)> = names
        .into_iter()
        .zip(cols)
        .map(|(n, c)| {
            let cells = match c {
                Col::Label(v) => Cells::Text(v),
                Col::Feature(v) => Cells::Numbers(v),
                Col::Skip => Cells::Text(Vec::new()),
            };
            (n, cells)
        })
        .collect();
    from_columns(name, &columns, pick)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn named(label: &str, features: &[&str]) -> ColumnPick {
        ColumnPick::Named {
            label: label.into(),
            features: features.iter().map(|s| s.to_string()).collect(),
        }
    }

    #[test]
    fn parses_a_csv_with_header_and_string_labels() {
        let csv = "a,b,species\n1,2,cat\n3,4,dog\n5,6,cat\n";
        let d = parse_csv(csv, "t", None, &named("species", &[])).unwrap();
        assert_eq!((d.len(), d.dim(), d.classes), (3, 2, 2));
        assert_eq!(d.y, vec![0, 1, 0]);
        assert_eq!(d.x[[2, 1]], 6.0);
    }

    #[test]
    fn errors_name_the_column_and_row() {
        let csv = "a,b,y\n1,2,0\n3,x,1\n";
        let e = parse_csv(csv, "t", None, &named("y", &[])).unwrap_err();
        assert_eq!(e, "column `b`, row 2: expected a number, found `x`");
        let e = parse_csv(csv, "t", None, &named("label", &[])).unwrap_err();
        assert!(
            e.contains("no column named `label`; the columns are a, b, y"),
            "{e}"
        );
        let e = parse_csv("a,y\n1,0\n2\n", "t", None, &named("y", &[])).unwrap_err();
        assert!(e.contains("line 3: expected 2 fields, found 1"), "{e}");
    }

    #[test]
    fn missing_labels_are_refused_with_their_row_not_made_classes() {
        // 3 labels with NaN and empty cells became 71 classes.
        for (csv, row, found) in [
            ("f,y\n1,a\n2,\n3,b\n", 2, "``"),
            ("f,y\n1,0\n2,NaN\n3,1\n", 2, "`NaN`"),
            ("f,y\n1,cat\n2,cat\n3,NA\n", 3, "`NA`"),
            ("f,y\n1,1\n2,inf\n", 2, "`inf`"),
        ] {
            let e = parse_csv(csv, "t", None, &named("y", &[])).unwrap_err();
            assert!(
                e.contains(&format!(
                    "label column `y`, row {row}: missing or invalid label {found}"
                )),
                "{csv}: {e}"
            );
        }
        let cols = vec![
            ("f".to_string(), Cells::Numbers(vec![1.0, 2.0, 3.0])),
            ("y".to_string(), Cells::Numbers(vec![1.0, f64::NAN, 0.0])),
        ];
        let e = from_columns("t", &cols, &named("y", &[])).unwrap_err();
        assert!(e.contains("row 2: missing or invalid label `NaN`"), "{e}");
    }

    #[test]
    fn class_labels_say_what_each_class_is() {
        let d = parse_csv("f,y\n1,dog\n2,cat\n", "t", None, &named("y", &[])).unwrap();
        assert_eq!(
            (d.y.clone(), d.class_labels),
            (vec![1, 0], vec!["cat".into(), "dog".into()])
        );
        let d = parse_csv("f,y\n1,10\n2,9.5\n", "t", None, &named("y", &[])).unwrap();
        assert_eq!(d.class_labels, ["9.5", "10"]);
    }

    #[test]
    fn features_beyond_f32_and_duplicate_headers_are_refused() {
        let e = parse_csv("f,y\n1e39,0\n2,1\n", "t", None, &named("y", &[])).unwrap_err();
        assert!(
            e.contains(
                "column `f`, row 1: 1000000000000000000000000000000000000000 is beyond ±3.4e38"
            ),
            "{e}"
        );
        let e = parse_csv("f,f,y\n1,2,0\n2,3,1\n", "t", None, &named("y", &[])).unwrap_err();
        assert!(
            e.contains("column `f` appears twice (columns 1 and 2)"),
            "{e}"
        );
    }

    #[test]
    fn numeric_labels_are_ordered_numerically() {
        let csv = "f,y\n1,10\n2,9\n3,10.0\n";
        let d = parse_csv(csv, "t", None, &named("y", &["f"])).unwrap();
        assert_eq!(d.y, vec![1, 0, 1]);
    }
}
