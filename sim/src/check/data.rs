//! What checks read: a run's tables and its `run.json`, from a run folder
//! (`DIR/rounds.arrow`) or from one run of a sweep folder
//! (`DIR/rounds/run-000017.arrow`, the record's `run`).

use arrow_array::cast::AsArray;
use arrow_array::{Array, ArrayRef, RecordBatch};
use arrow_schema::DataType;
use serde_json::Value as Json;
use std::cell::RefCell;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::rc::Rc;

/// One value of a column or of `run.json`.
#[derive(Clone, Debug, PartialEq)]
pub enum Val {
    /// Any number (integers, floats, decimals read as f64).
    Num(f64),
    /// Text (strings and dictionary labels).
    Str(String),
    /// A boolean.
    Bool(bool),
    /// Missing.
    Null,
}

impl std::fmt::Display for Val {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Val::Num(x) => write!(f, "{x}"),
            Val::Str(s) => write!(f, "\"{s}\""),
            Val::Bool(b) => write!(f, "{b}"),
            Val::Null => write!(f, "null"),
        }
    }
}

/// Columns converted so far, by (table, column).
type ColumnCache = BTreeMap<(String, String), Rc<Vec<Val>>>;

/// Where a run's files are.
#[derive(Clone, Debug)]
enum Layout {
    /// `DIR/NAME.arrow`.
    Run,
    /// `DIR/NAME/run-NNNNNN.arrow`.
    SweepRun(u32),
}

/// A run's output, read lazily: a table is read when a check first names
/// it, a column converted when first used.
pub struct RunData {
    /// The folder.
    pub dir: PathBuf,
    layout: Layout,
    /// The run's `run.json`.
    pub run_json: Json,
    batches: RefCell<BTreeMap<String, Rc<Vec<RecordBatch>>>>,
    columns: RefCell<ColumnCache>,
}

impl RunData {
    /// A run folder: `DIR/run.json` and `DIR/NAME.arrow`.
    pub fn run_folder(dir: &Path) -> Result<RunData, String> {
        let path = dir.join("run.json");
        let text = std::fs::read_to_string(&path)
            .map_err(|e| format!("{}: {e} (is this a run's --out folder?)", path.display()))?;
        let run_json: Json = serde_json::from_str(&text)
            .map_err(|e| format!("{} is not a run.json dmlsim wrote: {e}", path.display()))?;
        Ok(RunData::new(dir, Layout::Run, run_json))
    }

    /// One run of a sweep folder, its `run.json` taken from its record.
    pub fn sweep_run(dir: &Path, run_id: u32, run_json: Json) -> RunData {
        RunData::new(dir, Layout::SweepRun(run_id), run_json)
    }

    fn new(dir: &Path, layout: Layout, run_json: Json) -> RunData {
        RunData {
            dir: dir.to_path_buf(),
            layout,
            run_json,
            batches: RefCell::new(BTreeMap::new()),
            columns: RefCell::new(BTreeMap::new()),
        }
    }

    /// The file of table `name`.
    pub fn table_path(&self, name: &str) -> PathBuf {
        match self.layout {
            Layout::Run => self.dir.join(format!("{name}.arrow")),
            Layout::SweepRun(id) => self
                .dir
                .join(crate::sweep::store::SweepDir::table_name(name, id)),
        }
    }

    /// Whether the run wrote table `name`.
    pub fn has_table(&self, name: &str) -> bool {
        self.table_path(name).is_file()
    }

    /// Every batch of table `name`.
    pub fn batches(&self, name: &str) -> Result<Rc<Vec<RecordBatch>>, String> {
        if let Some(b) = self.batches.borrow().get(name) {
            return Ok(Rc::clone(b));
        }
        let path = self.table_path(name);
        let file = std::fs::File::open(&path)
            .map_err(|e| format!("this run has no {name}.arrow ({}: {e})", path.display()))?;
        let reader = arrow_ipc::reader::FileReader::try_new(file, None)
            .map_err(|e| format!("{}: not an Arrow file: {e}", path.display()))?;
        let batches: Vec<RecordBatch> = reader
            .collect::<Result<_, _>>()
            .map_err(|e| format!("{}: {e}", path.display()))?;
        let rc = Rc::new(batches);
        self.batches
            .borrow_mut()
            .insert(name.to_string(), Rc::clone(&rc));
        Ok(rc)
    }

    /// Column `column` of table `table`, every batch, as values.
    pub fn column(&self, table: &str, column: &str) -> Result<Rc<Vec<Val>>, String> {
        let key = (table.to_string(), column.to_string());
        if let Some(c) = self.columns.borrow().get(&key) {
            return Ok(Rc::clone(c));
        }
        let batches = self.batches(table)?;
        let mut out = Vec::new();
        for b in batches.iter() {
            let Some(array) = b.column_by_name(column) else {
                let names: Vec<String> = b
                    .schema()
                    .fields()
                    .iter()
                    .map(|f| f.name().clone())
                    .collect();
                return Err(format!(
                    "{table}.arrow has no column `{column}`; it has: {}",
                    names.join(", ")
                ));
            };
            values_of(array, &mut out).map_err(|e| format!("{table}.{column}: {e}"))?;
        }
        let rc = Rc::new(out);
        self.columns.borrow_mut().insert(key, Rc::clone(&rc));
        Ok(rc)
    }

    /// A value of `run.json` by its path of keys.
    pub fn json(&self, path: &[String]) -> Result<Val, String> {
        let mut v = &self.run_json;
        for (i, k) in path.iter().enumerate() {
            v = match v {
                Json::Object(map) => map.get(k).ok_or_else(|| {
                    let here = if i == 0 {
                        "run.json".to_string()
                    } else {
                        format!("run.json's `{}`", path[..i].join("."))
                    };
                    let keys: Vec<&String> = map.keys().collect();
                    format!(
                        "{here} has no key `{k}`; it has: {}",
                        keys.iter()
                            .map(|k| k.as_str())
                            .collect::<Vec<_>>()
                            .join(", ")
                    )
                })?,
                _ => {
                    return Err(format!(
                        "run.json's `{}` is not an object",
                        path[..i].join(".")
                    ));
                }
            };
        }
        match v {
            Json::Null => Ok(Val::Null),
            Json::Bool(b) => Ok(Val::Bool(*b)),
            Json::Number(n) => Ok(n.as_f64().map_or(Val::Null, Val::Num)),
            Json::String(s) => Ok(Val::Str(s.clone())),
            Json::Array(_) | Json::Object(_) => Err(format!(
                "run.json's `{}` is a list or an object, not a value; name one of its values",
                path.join(".")
            )),
        }
    }
}

/// Appends an Arrow array's values (numbers, text, booleans).
pub fn values_of(a: &ArrayRef, out: &mut Vec<Val>) -> Result<(), String> {
    let n = a.len();
    let num = |f: &dyn Fn(usize) -> f64, out: &mut Vec<Val>| {
        out.extend((0..n).map(|i| {
            if a.is_null(i) {
                Val::Null
            } else {
                Val::Num(f(i))
            }
        }));
    };
    use arrow_array::types::*;
    match a.data_type() {
        DataType::Float64 => num(&|i| a.as_primitive::<Float64Type>().value(i), out),
        DataType::Float32 => num(
            &|i| f64::from(a.as_primitive::<Float32Type>().value(i)),
            out,
        ),
        DataType::UInt64 => num(&|i| a.as_primitive::<UInt64Type>().value(i) as f64, out),
        DataType::UInt32 => num(&|i| f64::from(a.as_primitive::<UInt32Type>().value(i)), out),
        DataType::UInt16 => num(&|i| f64::from(a.as_primitive::<UInt16Type>().value(i)), out),
        DataType::UInt8 => num(&|i| f64::from(a.as_primitive::<UInt8Type>().value(i)), out),
        DataType::Int64 => num(&|i| a.as_primitive::<Int64Type>().value(i) as f64, out),
        DataType::Int32 => num(&|i| f64::from(a.as_primitive::<Int32Type>().value(i)), out),
        DataType::Decimal128(_, scale) => {
            let d = a.as_primitive::<Decimal128Type>();
            let s = 10f64.powi(i32::from(*scale));
            num(&|i| d.value(i) as f64 / s, out)
        }
        DataType::Boolean => {
            let b = a.as_boolean();
            out.extend((0..n).map(|i| {
                if b.is_null(i) {
                    Val::Null
                } else {
                    Val::Bool(b.value(i))
                }
            }));
        }
        DataType::Utf8 => {
            let s = a.as_string::<i32>();
            out.extend((0..n).map(|i| {
                if s.is_null(i) {
                    Val::Null
                } else {
                    Val::Str(s.value(i).to_string())
                }
            }));
        }
        DataType::Dictionary(k, v) if **k == DataType::Int32 && **v == DataType::Utf8 => {
            let d = a.as_dictionary::<Int32Type>();
            let labels = d.values().as_string::<i32>();
            out.extend((0..n).map(|i| match d.key(i) {
                Some(k) => Val::Str(labels.value(k).to_string()),
                None => Val::Null,
            }));
        }
        other => return Err(format!("columns of type {other} cannot be used in checks")),
    }
    Ok(())
}
