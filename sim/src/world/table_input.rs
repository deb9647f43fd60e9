//! Row-by-row reading of node-level input tables — CSV, Arrow IPC or
//! Parquet — for node tables, availability traces and weekly patterns.
//! Arrow and Parquet files are read one record batch at a time and CSV one
//! line at a time, so memory follows one batch, not the file. Every error
//! names the column and the 1-based data row.

use crate::learning_setup::{check_arrow_extents, check_parquet_extent, decode_guarded};
use arrow_array::cast::AsArray;
use arrow_array::types::{
    Float32Type, Float64Type, Int8Type, Int16Type, Int32Type, Int64Type, UInt8Type, UInt16Type,
    UInt32Type, UInt64Type,
};
use arrow_array::{Array, RecordBatch};
use arrow_schema::DataType;
use std::borrow::Cow;
use std::io::BufRead;
use std::path::Path;

/// The file formats a table may come in, chosen by the file's extension.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Format {
    /// Comma-separated text with a header line.
    Csv,
    /// Arrow IPC file (`.arrow`, `.feather`, `.ipc`).
    Arrow,
    /// Parquet (`.parquet`, `.pq`).
    Parquet,
}

impl Format {
    /// The format a path's extension names.
    pub fn of(path: &Path) -> Result<Format, String> {
        let ext = path
            .extension()
            .and_then(|e| e.to_str())
            .unwrap_or("")
            .to_ascii_lowercase();
        match ext.as_str() {
            "csv" => Ok(Format::Csv),
            "arrow" | "feather" | "ipc" => Ok(Format::Arrow),
            "parquet" | "pq" => Ok(Format::Parquet),
            _ => Err(format!(
                "cannot tell the format of `{}` from its extension; use .csv, .arrow (.feather, .ipc) or .parquet (.pq)",
                path.display()
            )),
        }
    }
}

/// A column the caller reads, and whether the table must have it.
#[derive(Copy, Clone, Debug)]
pub struct Wanted<'a> {
    /// Column name, matched exactly.
    pub name: &'a str,
    /// Whether a table without the column is refused.
    pub required: bool,
}

/// One cell as the file holds it.
#[derive(Copy, Clone, Debug, PartialEq)]
pub enum Cell<'a> {
    /// Null, an empty CSV field, or a column the table lacks.
    Missing,
    /// A number (any integer or floating-point column).
    Num(f64),
    /// Text (a string or dictionary column, or any CSV field).
    Text(&'a str),
}

/// One data row: the wanted columns' cells, in the order they were asked for.
pub struct Row<'a> {
    /// 1-based data row (the header line of a CSV file is not counted).
    pub row: u64,
    names: &'a [Wanted<'a>],
    cells: &'a [Cell<'a>],
}

impl Row<'_> {
    /// An error message about wanted column `i` of this row.
    pub fn err(&self, i: usize, msg: impl std::fmt::Display) -> String {
        format!("column `{}`, row {}: {msg}", self.names[i].name, self.row)
    }

    /// Wanted column `i` as a finite number; None when missing.
    pub fn num(&self, i: usize) -> Result<Option<f64>, String> {
        let v = match self.cells[i] {
            Cell::Missing => return Ok(None),
            Cell::Num(v) => v,
            Cell::Text(t) => {
                let t = t.trim();
                if t.is_empty() {
                    return Ok(None);
                }
                t.parse::<f64>()
                    .map_err(|_| self.err(i, format!("expected a number, found `{t}`")))?
            }
        };
        if !v.is_finite() {
            return Err(self.err(i, format!("expected a finite number, found {v}")));
        }
        Ok(Some(v))
    }

    /// Wanted column `i` as a number in `[lo, hi]` (or `(lo, hi]` when
    /// `lo_open`); None when missing.
    pub fn num_in(&self, i: usize, lo: f64, lo_open: bool, hi: f64) -> Result<Option<f64>, String> {
        let Some(v) = self.num(i)? else {
            return Ok(None);
        };
        let below = if lo_open { v <= lo } else { v < lo };
        if below || v > hi {
            let open = if lo_open { "(" } else { "[" };
            return Err(self.err(
                i,
                format!("expected a number in {open}{lo}, {hi}], found {v}"),
            ));
        }
        Ok(Some(v))
    }

    /// Wanted column `i` as text (a number is written as the shortest text
    /// that reads back as it; `7.0` as `7`); None when missing or empty.
    pub fn text(&self, i: usize) -> Option<Cow<'_, str>> {
        match self.cells[i] {
            Cell::Missing => None,
            Cell::Num(v) if v.fract() == 0.0 && v.abs() < 1e15 => {
                Some(Cow::Owned(format!("{}", v as i64)))
            }
            Cell::Num(v) => Some(Cow::Owned(format!("{v}"))),
            Cell::Text(t) => {
                let t = t.trim();
                (!t.is_empty()).then_some(Cow::Borrowed(t))
            }
        }
    }
}

/// Reads `path` row by row, handing `each` the `wanted` columns of every
/// row; returns the number of data rows (a header alone is 0 rows). At most `max_rows` rows are read
/// (a longer table is refused). Columns not wanted are never decoded.
pub fn read_rows(
    path: &Path,
    wanted: &[Wanted<'_>],
    max_rows: u64,
    mut each: impl FnMut(&Row<'_>) -> Result<(), String>,
) -> Result<u64, String> {
    let limit = crate::input::data_limit();
    let file = crate::input::open_data_file(path, limit)?;
    let mut rows = 0u64;
    let too_many = |rows: u64| -> Result<(), String> {
        if rows > max_rows {
            return Err(format!(
                "more than {max_rows} rows; at most {max_rows} are supported"
            ));
        }
        Ok(())
    };
    let mut read_batches =
        |batches: &mut dyn Iterator<Item = Result<RecordBatch, arrow_schema::ArrowError>>,
         rows: &mut u64|
         -> Result<(), String> {
            for batch in batches {
                *rows = read_batch(&batch.map_err(|e| e.to_string())?, wanted, *rows, &mut each)?;
                too_many(*rows)?;
            }
            Ok(())
        };
    match Format::of(path)? {
        Format::Csv => {
            let reader = std::io::BufReader::new(file);
            read_csv(reader, wanted, |row| {
                rows = row.row;
                too_many(rows)?;
                each(row)
            })?;
        }
        Format::Arrow => {
            let mut file = std::io::BufReader::new(file);
            check_arrow_extents(&mut file)?;
            decode_guarded("Arrow IPC", || {
                let reader = arrow_ipc::reader::FileReader::try_new(file, None)
                    .map_err(|e| format!("not an Arrow IPC file: {e}"))?;
                read_batches(&mut reader.into_iter(), &mut rows)
            })?;
        }
        Format::Parquet => {
            decode_guarded("Parquet", || {
                let builder =
                    parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(file)
                        .map_err(|e| format!("not a readable Parquet file: {e}"))?;
                check_parquet_extent(builder.metadata(), limit)?;
                let reader = builder
                    .build()
                    .map_err(|e| format!("not a readable Parquet file: {e}"))?;
                read_batches(&mut reader.into_iter(), &mut rows)
            })?;
        }
    }
    Ok(rows)
}

/// Where each wanted column is among a header's names (None: absent);
/// refuses a header without a required column or with a repeated name.
fn locate(header: &[&str], wanted: &[Wanted<'_>]) -> Result<Vec<Option<usize>>, String> {
    for (i, name) in header.iter().enumerate() {
        if header[..i].contains(name) {
            return Err(format!("column `{name}` appears twice"));
        }
    }
    wanted
        .iter()
        .map(|w| {
            let at = header.iter().position(|h| *h == w.name);
            if at.is_none() && w.required {
                return Err(format!(
                    "no column named `{}`; the columns are {}",
                    w.name,
                    header.join(", ")
                ));
            }
            Ok(at)
        })
        .collect()
}

/// CSV: a header line, then one row per non-blank line; fields are split
/// at commas and stripped of surrounding spaces and double quotes.
fn read_csv(
    reader: impl BufRead,
    wanted: &[Wanted<'_>],
    mut each: impl FnMut(&Row<'_>) -> Result<(), String>,
) -> Result<(), String> {
    fn field(c: &str) -> &str {
        c.trim().trim_matches('"')
    }
    let mut lines = reader.lines().enumerate();
    let header_text = loop {
        match lines.next() {
            None => return Err("the file is empty".into()),
            Some((i, l)) => {
                let l = l.map_err(|e| format!("line {}: {e}", i + 1))?;
                if !l.trim().is_empty() {
                    break l;
                }
            }
        }
    };
    let header: Vec<&str> = header_text.split(',').map(field).collect();
    let at = locate(&header, wanted)?;
    let mut row = 0u64;
    for (i, line) in lines {
        let line = line.map_err(|e| format!("line {}: {e}", i + 1))?;
        if line.trim().is_empty() {
            continue;
        }
        row += 1;
        let fields: Vec<&str> = line.split(',').map(field).collect();
        if fields.len() != header.len() {
            return Err(format!(
                "line {} (row {row}): expected {} fields, found {} (quoted fields holding commas are not supported)",
                i + 1,
                header.len(),
                fields.len()
            ));
        }
        let cells: Vec<Cell<'_>> = at
            .iter()
            .map(|at| match at {
                Some(c) if !fields[*c].is_empty() => Cell::Text(fields[*c]),
                _ => Cell::Missing,
            })
            .collect();
        each(&Row {
            row,
            names: wanted,
            cells: &cells,
        })?;
    }
    Ok(())
}

/// Hands `each` the rows of one record batch; `before` rows came earlier.
fn read_batch(
    batch: &RecordBatch,
    wanted: &[Wanted<'_>],
    before: u64,
    each: &mut impl FnMut(&Row<'_>) -> Result<(), String>,
) -> Result<u64, String> {
    let schema = batch.schema();
    let header: Vec<&str> = schema.fields().iter().map(|f| f.name().as_str()).collect();
    let at = locate(&header, wanted)?;
    let columns: Vec<Option<Vec<Cell<'_>>>> = at
        .iter()
        .map(|a| {
            a.map(|c| column_cells(batch.column(c).as_ref(), header[c]))
                .transpose()
        })
        .collect::<Result<_, _>>()?;
    let mut cells = vec![Cell::Missing; wanted.len()];
    for r in 0..batch.num_rows() {
        for (cell, col) in cells.iter_mut().zip(&columns) {
            *cell = col.as_ref().map_or(Cell::Missing, |c| c[r]);
        }
        each(&Row {
            row: before + r as u64 + 1,
            names: wanted,
            cells: &cells,
        })?;
    }
    Ok(before + batch.num_rows() as u64)
}

/// The cells of one Arrow column: numbers, text or (for nulls) missing.
fn column_cells<'a>(a: &'a dyn Array, name: &str) -> Result<Vec<Cell<'a>>, String> {
    let nulls = a.logical_nulls();
    let valid = |i: usize| nulls.as_ref().is_none_or(|n| n.is_valid(i));
    macro_rules! numbers {
        ($($t:ty),*) => {
            $(if let Some(p) = a.as_primitive_opt::<$t>() {
                return Ok(p
                    .values()
                    .iter()
                    .enumerate()
                    .map(|(i, &v)| if valid(i) { Cell::Num(v as f64) } else { Cell::Missing })
                    .collect());
            })*
        };
    }
    numbers!(
        Float64Type,
        Float32Type,
        Int8Type,
        Int16Type,
        Int32Type,
        Int64Type,
        UInt8Type,
        UInt16Type,
        UInt32Type,
        UInt64Type
    );
    let text = |get: &dyn Fn(usize) -> &'a str| -> Vec<Cell<'a>> {
        (0..a.len())
            .map(|i| {
                if valid(i) {
                    Cell::Text(get(i))
                } else {
                    Cell::Missing
                }
            })
            .collect()
    };
    if let Some(s) = a.as_string_opt::<i32>() {
        return Ok(text(&|i| s.value(i)));
    }
    if let Some(s) = a.as_string_opt::<i64>() {
        return Ok(text(&|i| s.value(i)));
    }
    if let Some(s) = a.as_string_view_opt() {
        return Ok(text(&|i| s.value(i)));
    }
    if let Some(d) = a.as_any_dictionary_opt() {
        let values = column_cells(d.values().as_ref(), name)?;
        let keys = d.normalized_keys();
        return Ok(keys
            .iter()
            .enumerate()
            .map(|(i, &k)| {
                if valid(i) {
                    values.get(k).copied().unwrap_or(Cell::Missing)
                } else {
                    Cell::Missing
                }
            })
            .collect());
    }
    let kind = match a.data_type() {
        DataType::Boolean => "booleans".to_string(),
        other => other.to_string(),
    };
    Err(format!(
        "column `{name}` holds {kind}; expected numbers or text"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow_array::{DictionaryArray, Float64Array, Int32Array, StringArray};
    use std::sync::Arc;

    const WANTED: [Wanted<'static>; 2] = [
        Wanted {
            name: "region",
            required: true,
        },
        Wanted {
            name: "up_mbps",
            required: false,
        },
    ];

    type Rows = Vec<(Option<String>, Option<f64>)>;

    fn collect(path: &Path) -> Result<Rows, String> {
        let mut out = Vec::new();
        read_rows(path, &WANTED, 100, |r| {
            out.push((r.text(0).map(|t| t.into_owned()), r.num(1)?));
            Ok(())
        })?;
        Ok(out)
    }

    fn batch() -> RecordBatch {
        let region: DictionaryArray<arrow_array::types::Int32Type> =
            vec![Some("eu"), None, Some("us")].into_iter().collect();
        RecordBatch::try_from_iter([
            ("extra", Arc::new(Int32Array::from(vec![1, 2, 3])) as _),
            ("region", Arc::new(region) as _),
            (
                "up_mbps",
                Arc::new(Float64Array::from(vec![Some(10.0), Some(2.5), None])) as _,
            ),
        ])
        .unwrap()
    }

    fn expected() -> Rows {
        vec![
            (Some("eu".into()), Some(10.0)),
            (None, Some(2.5)),
            (Some("us".into()), None),
        ]
    }

    #[test]
    fn the_three_formats_read_the_same_rows() {
        let dir = std::env::temp_dir().join(format!("dmlsim-table-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let csv = dir.join("t.csv");
        std::fs::write(
            &csv,
            "extra, region ,up_mbps\n1,eu,10\n\n2,,2.5\n3,\"us\",\n",
        )
        .unwrap();
        assert_eq!(collect(&csv).unwrap(), expected());
        std::fs::write(&csv, "region\n\n").unwrap();
        assert_eq!(collect(&csv).unwrap(), vec![]);

        let b = batch();
        let arrow = dir.join("t.arrow");
        let mut w = arrow_ipc::writer::FileWriter::try_new(
            std::fs::File::create(&arrow).unwrap(),
            &b.schema(),
        )
        .unwrap();
        w.write(&b).unwrap();
        w.finish().unwrap();
        assert_eq!(collect(&arrow).unwrap(), expected());

        let pq = dir.join("t.parquet");
        let mut w = parquet::arrow::ArrowWriter::try_new(
            std::fs::File::create(&pq).unwrap(),
            b.schema(),
            None,
        )
        .unwrap();
        w.write(&b).unwrap();
        w.close().unwrap();
        assert_eq!(collect(&pq).unwrap(), expected());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn errors_name_the_column_and_the_row() {
        let dir = std::env::temp_dir().join(format!("dmlsim-table-err-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("t.csv");
        let check = |text: &str, want: &str| {
            std::fs::write(&path, text).unwrap();
            let e = collect(&path).unwrap_err();
            assert!(e.contains(want), "{e}");
        };
        check(
            "region,up_mbps\neu,1\nus,fast\n",
            "column `up_mbps`, row 2: expected a number, found `fast`",
        );
        check(
            "region,up_mbps\neu,inf\n",
            "column `up_mbps`, row 1: expected a finite number",
        );
        check(
            "up_mbps\n1\n",
            "no column named `region`; the columns are up_mbps",
        );
        check("region,region\n1,2\n", "column `region` appears twice");
        check(
            "region,up_mbps\neu\n",
            "line 2 (row 1): expected 2 fields, found 1",
        );
        check("", "the file is empty");
        let many = format!("region\n{}", "eu\n".repeat(101));
        check(&many, "more than 100 rows");
        let e = read_rows(&dir.join("t.xlsx"), &WANTED, 10, |_| Ok(())).unwrap_err();
        assert!(
            e.contains("No such file") || e.contains("cannot tell"),
            "{e}"
        );
        std::fs::write(dir.join("t.xlsx"), "x").unwrap();
        let e = read_rows(&dir.join("t.xlsx"), &WANTED, 10, |_| Ok(())).unwrap_err();
        assert!(e.contains("cannot tell the format"), "{e}");

        let b = RecordBatch::try_from_iter([(
            "region",
            Arc::new(arrow_array::BooleanArray::from(vec![true])) as _,
        )])
        .unwrap();
        let e = read_batch(&b, &WANTED, 0, &mut |_| Ok(())).unwrap_err();
        assert_eq!(
            e,
            "column `region` holds booleans; expected numbers or text"
        );
        let b =
            RecordBatch::try_from_iter([("region", Arc::new(StringArray::from(vec!["eu"])) as _)])
                .unwrap();
        let rows = read_batch(&b, &WANTED, 41, &mut |r| {
            assert_eq!(r.row, 42);
            assert_eq!(r.num(1), Ok(None));
            Ok(())
        })
        .unwrap();
        assert_eq!(rows, 42);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn numbers_read_as_text_lose_nothing() {
        let names = [Wanted {
            name: "x",
            required: true,
        }];
        let text = |c: Cell<'_>| {
            Row {
                row: 1,
                names: &names,
                cells: &[c],
            }
            .text(0)
            .map(|t| t.into_owned())
        };
        assert_eq!(text(Cell::Num(7.0)).as_deref(), Some("7"));
        assert_eq!(text(Cell::Num(0.5)).as_deref(), Some("0.5"));
        assert_eq!(text(Cell::Text("  ")), None);
        assert_eq!(text(Cell::Missing), None);
    }
}
