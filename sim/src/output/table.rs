//! A small column-oriented table type and its Arrow IPC file writer.

use arrow_array::types::Int32Type;
use arrow_array::{
    ArrayRef, BooleanArray, Decimal128Array, DictionaryArray, Float64Array, Int32Array, Int64Array,
    RecordBatch, StringArray, UInt32Array, UInt64Array,
};
use arrow_schema::{DataType, Field, Schema};
use std::collections::HashMap;
use std::io::{BufWriter, Write};
use std::path::Path;
use std::sync::Arc;

/// One column's values.
pub enum Column {
    /// Unsigned 32-bit integers.
    U32(Vec<u32>),
    /// Unsigned 64-bit integers.
    U64(Vec<u64>),
    /// Signed 64-bit integers, nullable.
    I64(Vec<Option<i64>>),
    /// 64-bit floats.
    F64(Vec<f64>),
    /// 64-bit floats, nullable.
    OptF64(Vec<Option<f64>>),
    /// Booleans.
    Bool(Vec<bool>),
    /// Strings from a small set: keys into `values` (an Arrow dictionary,
    /// read as Categorical by Polars and pandas).
    Dict(Vec<i32>, Vec<String>),
    /// Like `Dict`, with nulls.
    OptDict(Vec<Option<i32>>, Vec<String>),
    /// Strings.
    Str(Vec<String>),
    /// Exact integer amounts (token base units) as Decimal128(38, 0).
    Dec128(Vec<u128>),
}

impl Column {
    fn into_arrow(self) -> std::io::Result<(DataType, bool, ArrayRef)> {
        Ok(match self {
            Column::U32(v) => (DataType::UInt32, false, Arc::new(UInt32Array::from(v))),
            Column::U64(v) => (DataType::UInt64, false, Arc::new(UInt64Array::from(v))),
            Column::I64(v) => (DataType::Int64, true, Arc::new(Int64Array::from(v))),
            Column::F64(v) => (DataType::Float64, false, Arc::new(Float64Array::from(v))),
            Column::OptF64(v) => (DataType::Float64, true, Arc::new(Float64Array::from(v))),
            Column::Bool(v) => (DataType::Boolean, false, Arc::new(BooleanArray::from(v))),
            Column::OptDict(keys, values) => {
                let dict = DictionaryArray::<Int32Type>::try_new(
                    Int32Array::from(keys),
                    Arc::new(StringArray::from(values)),
                )
                .expect("dictionary keys are in range");
                (
                    DataType::Dictionary(Box::new(DataType::Int32), Box::new(DataType::Utf8)),
                    true,
                    Arc::new(dict),
                )
            }
            Column::Str(v) => (DataType::Utf8, false, Arc::new(StringArray::from(v))),
            Column::Dec128(v) => {
                const LIMIT: u128 = 10u128.pow(38);
                if let Some(x) = v.iter().find(|&&x| x >= LIMIT) {
                    // Validation bounds supply far below; this is a bug, not a wrap.
                    return Err(std::io::Error::other(format!(
                        "an amount of {x} base units does not fit Decimal128(38, 0)"
                    )));
                }
                let a = Decimal128Array::from(v.into_iter().map(|x| x as i128).collect::<Vec<_>>())
                    .with_precision_and_scale(38, 0)
                    .map_err(std::io::Error::other)?;
                (DataType::Decimal128(38, 0), false, Arc::new(a))
            }
            Column::Dict(keys, values) => {
                let dict = DictionaryArray::<Int32Type>::try_new(
                    Int32Array::from(keys),
                    Arc::new(StringArray::from(values)),
                )
                .expect("dictionary keys are in range");
                (
                    DataType::Dictionary(Box::new(DataType::Int32), Box::new(DataType::Utf8)),
                    false,
                    Arc::new(dict),
                )
            }
        })
    }
}

/// A named table of equal-length columns, each with a unit (or "" for none).
pub struct Table {
    /// File name without extension, e.g. `rounds`.
    pub name: &'static str,
    columns: Vec<(&'static str, &'static str, Column)>,
}

impl Table {
    /// An empty table.
    pub fn new(name: &'static str) -> Table {
        Table {
            name,
            columns: Vec::new(),
        }
    }

    /// Adds a column with its unit (stored as Arrow field metadata `unit`).
    pub fn col(mut self, name: &'static str, unit: &'static str, column: Column) -> Table {
        self.columns.push((name, unit, column));
        self
    }

    /// Column names in order.
    pub fn column_names(&self) -> Vec<&'static str> {
        self.columns.iter().map(|c| c.0).collect()
    }

    /// The table as one Arrow record batch (units in field metadata).
    pub fn into_batch(self) -> std::io::Result<RecordBatch> {
        let mut fields = Vec::new();
        let mut arrays = Vec::new();
        for (col_name, unit, column) in self.columns {
            let (dt, nullable, array) = column
                .into_arrow()
                .map_err(|e| std::io::Error::other(format!("{}.{col_name}: {e}", self.name)))?;
            let mut field = Field::new(col_name, dt, nullable);
            if !unit.is_empty() {
                field =
                    field.with_metadata(HashMap::from([("unit".to_string(), unit.to_string())]));
            }
            fields.push(field);
            arrays.push(array);
        }
        let schema = Arc::new(Schema::new(fields));
        RecordBatch::try_new(schema, arrays).map_err(std::io::Error::other)
    }

    /// Writes the table into a sink as one batch.
    pub fn write_to(self, sink: &mut dyn super::sink::Sink) -> std::io::Result<()> {
        let name = self.name;
        let batch = self.into_batch()?;
        sink.write(name, &batch)
    }
}

/// Creates a new temporary file exclusively: whatever stands at `path` (a
/// stale file of a killed run, or a planted symlink) is removed first —
/// removing a symlink removes the link, not its target — and the file is
/// then created with O_EXCL, which never follows a symlink. Errors name the
/// file.
pub fn create_exclusive(path: &Path) -> std::io::Result<std::fs::File> {
    let named =
        |e: std::io::Error| std::io::Error::new(e.kind(), format!("{}: {e}", path.display()));
    if let Ok(meta) = std::fs::symlink_metadata(path) {
        if meta.is_dir() {
            return Err(named(std::io::Error::other("a folder is in the way")));
        }
        std::fs::remove_file(path).map_err(named)?;
    }
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
        .map_err(named)
}

/// Writes a file through a temporary sibling and renames it into place.
pub fn write_atomically(
    path: &Path,
    body: impl FnOnce(&mut BufWriter<std::fs::File>) -> std::io::Result<()>,
) -> std::io::Result<()> {
    let file_name = path.file_name().and_then(|n| n.to_str()).unwrap_or("out");
    let tmp = path.with_file_name(format!(".{file_name}.partial"));
    let result = (|| {
        let mut w = BufWriter::new(create_exclusive(&tmp)?);
        body(&mut w)?;
        w.flush()?;
        w.into_inner().map_err(|e| e.into_error())?.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

/// Lists of node ids as space-separated text, one per row.
pub fn node_lists<'a>(lists: impl Iterator<Item = &'a [u32]>) -> Column {
    Column::Str(
        lists
            .map(|l| l.iter().map(u32::to_string).collect::<Vec<_>>().join(" "))
            .collect(),
    )
}

/// Dictionary-encodes labels: keys into the returned distinct values, in
/// first-seen order (deterministic for a deterministic input).
pub fn dictionary<'a>(labels: impl Iterator<Item = &'a str>) -> Column {
    let mut values: Vec<String> = Vec::new();
    let mut index: HashMap<&'a str, i32> = HashMap::new();
    let keys = labels
        .map(|l| {
            *index.entry(l).or_insert_with(|| {
                values.push(l.to_string());
                (values.len() - 1) as i32
            })
        })
        .collect();
    Column::Dict(keys, values)
}
