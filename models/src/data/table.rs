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
            x[[i, j]] = v as f32;
        }
    }
    let (lname, lcells) = &columns[label_idx];
    // Numbers (also text that is all numbers) order numerically.
    let numeric: Option<Vec<f64>> = match lcells {
        Cells::Numbers(v) => Some(v.clone()),
        Cells::Text(t) => t.iter().map(|s| s.trim().parse::<f64>().ok()).collect(),
    };
    let (y, classes) = match numeric {
        Some(values) => {
            let mut distinct = values.clone();
            distinct.sort_by(f64::total_cmp);
            distinct.dedup();
            let y = values
                .iter()
                .map(|v| distinct.partition_point(|d| d < v) as u32)
                .collect();
            (y, distinct.len())
        }
        None => {
            let Cells::Text(t) = lcells else {
                unreachable!("numbers always parse")
            };
            let distinct: BTreeMap<&str, u32> = t.iter().map(|s| (s.trim(), 0)).collect();
            let index: BTreeMap<&str, u32> = distinct
                .keys()
                .enumerate()
                .map(|(i, k)| (*k, i as u32))
                .collect();
            (t.iter().map(|s| index[s.trim()]).collect(), index.len())
        }
    };
    if classes < 2 {
        return Err(format!("label column `{lname}` has fewer than two classes"));
    }
    Ok(Dataset {
        name: name.to_string(),
        x,
        y,
        classes,
    })
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
    let mut lines = text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty());
    let header: Vec<String> = match pick {
        ColumnPick::Named { .. } => match lines.next() {
            Some((_, h)) => h
                .split(',')
                .map(|s| s.trim().trim_matches('"').to_string())
                .collect(),
            None => return Err("the file is empty".into()),
        },
        ColumnPick::LastIsLabel => Vec::new(),
    };
    let mut columns: Vec<(String, Vec<String>)> =
        header.iter().map(|h| (h.clone(), Vec::new())).collect();
    for (line_no, line) in lines.take(max_rows.unwrap_or(usize::MAX)) {
        let cells: Vec<&str> = line.split(',').collect();
        if columns.is_empty() {
            columns = (0..cells.len())
                .map(|i| (format!("column {}", i + 1), Vec::new()))
                .collect();
        }
        if cells.len() != columns.len() {
            return Err(format!(
                "line {}: expected {} fields, found {}",
                line_no + 1,
                columns.len(),
                cells.len()
            ));
        }
        for (c, cell) in columns.iter_mut().zip(cells) {
            c.1.push(cell.trim().trim_matches('"').to_string());
        }
    }
    let columns: Vec<(String, Cells)> = columns
        .into_iter()
        .map(|(n, v)| (n, Cells::Text(v)))
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
    fn numeric_labels_are_ordered_numerically() {
        let csv = "f,y\n1,10\n2,9\n3,10.0\n";
        let d = parse_csv(csv, "t", None, &named("y", &["f"])).unwrap();
        assert_eq!(d.y, vec![1, 0, 1]);
    }
}
