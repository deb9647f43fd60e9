//! The columns a sweep adds to every table of its runs: `run_id` and one
//! column per swept field, typed once for the whole sweep so every run's
//! files share one schema (and read as one dataset).

use super::plan::Sweep;
use crate::output::Sink;
use arrow_array::UInt32Array;
use arrow_array::{ArrayRef, BooleanArray, Float64Array, Int64Array, RecordBatch, StringArray};
use arrow_schema::{DataType, Field, Schema};
use serde_yaml_ng::Value;
use std::sync::Arc;

/// The Arrow type of a swept field's column.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ParamType {
    /// Every value is a whole number: Int64.
    Int,
    /// Every value is a number: Float64.
    Float,
    /// Every value is a boolean.
    Bool,
    /// Anything else (strings, durations, mappings): Utf8, the value as a
    /// `--set` flag writes it (`{constant: {per_epoch: 1000}}`).
    Text,
}

impl ParamType {
    /// The narrowest type that holds every value.
    pub fn of<'a>(values: impl Iterator<Item = &'a Value>) -> ParamType {
        let mut t: Option<ParamType> = None;
        for v in values {
            let this = match v {
                Value::Number(n) if n.is_i64() => ParamType::Int,
                Value::Number(_) => ParamType::Float,
                Value::Bool(_) => ParamType::Bool,
                _ => ParamType::Text,
            };
            t = Some(match (t, this) {
                (None, x) => x,
                (Some(a), b) if a == b => a,
                (Some(ParamType::Int), ParamType::Float)
                | (Some(ParamType::Float), ParamType::Int) => ParamType::Float,
                _ => ParamType::Text,
            });
        }
        t.unwrap_or(ParamType::Text)
    }

    /// The Arrow data type.
    pub fn data_type(self) -> DataType {
        match self {
            ParamType::Int => DataType::Int64,
            ParamType::Float => DataType::Float64,
            ParamType::Bool => DataType::Boolean,
            ParamType::Text => DataType::Utf8,
        }
    }

    /// `n` copies of `v` (null for absent values) as an array of this type.
    pub fn repeat(self, v: Option<&Value>, n: usize) -> ArrayRef {
        self.column(std::iter::repeat_n(v, n))
    }

    /// The values (null where absent or of another type) as an array of
    /// this type.
    pub fn column<'a>(self, values: impl Iterator<Item = Option<&'a Value>>) -> ArrayRef {
        match self {
            ParamType::Int => Arc::new(Int64Array::from_iter(values.map(|v| v?.as_i64()))),
            ParamType::Float => Arc::new(Float64Array::from_iter(values.map(|v| v?.as_f64()))),
            ParamType::Bool => Arc::new(BooleanArray::from_iter(values.map(|v| v?.as_bool()))),
            ParamType::Text => Arc::new(StringArray::from_iter(
                values.map(|v| v.map(crate::scenario::flow_text)),
            )),
        }
    }
}

/// The swept fields and their column types.
#[derive(Clone, Debug)]
pub struct ParamColumns {
    /// `(path, type)` per swept field, in axis order.
    pub fields: Vec<(String, ParamType)>,
}

impl ParamColumns {
    /// The columns of a sweep's swept fields.
    pub fn of(sweep: &Sweep) -> ParamColumns {
        ParamColumns {
            fields: sweep
                .params
                .iter()
                .enumerate()
                .map(|(i, p)| (p.clone(), ParamType::of(sweep.cells.iter().map(|c| &c[i]))))
                .collect(),
        }
    }

    /// Arrow fields, nullable.
    pub fn arrow_fields(&self) -> Vec<Field> {
        self.fields
            .iter()
            .map(|(p, t)| Field::new(p, t.data_type(), true))
            .collect()
    }
}

/// A sink that prepends `run_id` and the run's swept values to every
/// batch before passing it on.
pub struct TaggingSink<'a> {
    inner: &'a mut dyn Sink,
    run_id: u32,
    values: &'a [Value],
    params: &'a ParamColumns,
}

impl<'a> TaggingSink<'a> {
    /// Tags the batches of run `run_id`, whose cell holds `values`.
    pub fn new(
        inner: &'a mut dyn Sink,
        run_id: u32,
        values: &'a [Value],
        params: &'a ParamColumns,
    ) -> Self {
        TaggingSink {
            inner,
            run_id,
            values,
            params,
        }
    }

    fn tagged(&self, table: &str, batch: &RecordBatch) -> std::io::Result<RecordBatch> {
        let n = batch.num_rows();
        let schema = batch.schema();
        let mut fields = vec![Field::new("run_id", DataType::UInt32, false)];
        fields.extend(self.params.arrow_fields());
        let mut arrays: Vec<ArrayRef> = vec![Arc::new(UInt32Array::from(vec![self.run_id; n]))];
        for (i, (_, t)) in self.params.fields.iter().enumerate() {
            arrays.push(t.repeat(self.values.get(i), n));
        }
        for f in &fields {
            if schema.field_with_name(f.name()).is_ok() {
                return Err(std::io::Error::other(format!(
                    "{table}.arrow already has a column `{}`, so the swept field of that name cannot be added; sweep it under another path",
                    f.name()
                )));
            }
        }
        fields.extend(schema.fields().iter().map(|f| f.as_ref().clone()));
        arrays.extend(batch.columns().iter().cloned());
        let schema = Schema::new_with_metadata(fields, schema.metadata().clone());
        RecordBatch::try_new(Arc::new(schema), arrays).map_err(std::io::Error::other)
    }
}

impl Sink for TaggingSink<'_> {
    fn wants(&self, table: &str) -> bool {
        self.inner.wants(table)
    }

    fn write(&mut self, table: &'static str, batch: &RecordBatch) -> std::io::Result<()> {
        let tagged = self.tagged(table, batch)?;
        self.inner.write(table, &tagged)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn values(text: &str) -> Vec<Value> {
        serde_yaml_ng::from_str(text).unwrap()
    }

    #[test]
    fn a_column_takes_the_narrowest_type_of_its_values() {
        let t = |s: &str| ParamType::of(values(s).iter());
        assert_eq!(t("[1, 2]"), ParamType::Int);
        assert_eq!(t("[1, 2.5]"), ParamType::Float);
        assert_eq!(t("[true, false]"), ParamType::Bool);
        assert_eq!(t("[1, x]"), ParamType::Text);
        assert_eq!(t("[2h, 1d]"), ParamType::Text);
        assert_eq!(t("[{a: 1}]"), ParamType::Text);
    }

    #[test]
    fn tagged_batches_lead_with_run_id_and_the_swept_values() {
        let params = ParamColumns {
            fields: vec![
                ("rounds.count".into(), ParamType::Int),
                ("economics.emission".into(), ParamType::Text),
            ],
        };
        let vals = values("[5, {constant: {per_epoch: 10}}]");
        let mut mem = crate::output::MemorySink::default();
        let batch = RecordBatch::try_from_iter([(
            "round",
            Arc::new(UInt32Array::from(vec![0, 1, 2])) as ArrayRef,
        )])
        .unwrap();
        TaggingSink::new(&mut mem, 7, &vals, &params)
            .write("rounds", &batch)
            .unwrap();
        let out = &mem.tables["rounds"][0];
        let names: Vec<_> = out
            .schema()
            .fields()
            .iter()
            .map(|f| f.name().clone())
            .collect();
        assert_eq!(
            names,
            ["run_id", "rounds.count", "economics.emission", "round"]
        );
        let text = out
            .column(2)
            .as_any()
            .downcast_ref::<StringArray>()
            .unwrap();
        assert_eq!(text.value(2), "{constant: {per_epoch: 10}}");
        let ids = out
            .column(0)
            .as_any()
            .downcast_ref::<UInt32Array>()
            .unwrap();
        assert_eq!(ids.values().to_vec(), vec![7, 7, 7]);
    }
}
