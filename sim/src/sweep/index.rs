//! `runs.arrow` (one row per run: parameters, status, headline figures)
//! and `summary.arrow` (one row per cell and metric: mean, standard
//! deviation and 95% confidence interval across replicates), built from
//! the run records in run-id order, so the same records give the same
//! bytes however the runs were scheduled, sharded or resumed.

use super::columns::{ParamColumns, ParamType};
use super::stats::Moments;
use super::store::{PlanRecord, RunRecord, read_record};
use arrow_array::builder::{ListBuilder, StringBuilder};
use arrow_array::{
    Array, ArrayRef, Float64Array, RecordBatch, StringArray, UInt32Array, UInt64Array,
};
use arrow_schema::{DataType, Field, Schema};
use serde_json::Value as Json;
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::sync::Arc;

/// Top-level `run.json` fields that differ between machines or runs of
/// the same scenario (wall-clock time), or that are not outcomes; they
/// stay out of the index.
const NOT_METRICS: [&str; 4] = ["wall_s", "events_per_s", "seed", "estimate"];

/// The numeric figures of a run's `run.json`: its top-level numbers and
/// the `summary` block flattened (`rounds.final_test_accuracy`,
/// `economy.final_gini`, `rows.rounds`, …). Booleans count as 0/1.
pub fn metrics_of(run: &Json) -> BTreeMap<String, f64> {
    let mut out = BTreeMap::new();
    let Json::Object(top) = run else {
        return out;
    };
    for (k, v) in top {
        if NOT_METRICS.contains(&k.as_str()) {
            continue;
        }
        if k == "summary" {
            flatten("", v, &mut out);
        } else if let Some(x) = number(v) {
            out.insert(k.clone(), x);
        }
    }
    out
}

fn number(v: &Json) -> Option<f64> {
    match v {
        Json::Number(n) => n.as_f64(),
        Json::Bool(b) => Some(f64::from(u8::from(*b))),
        _ => None,
    }
}

fn flatten(prefix: &str, v: &Json, out: &mut BTreeMap<String, f64>) {
    match v {
        Json::Object(map) => {
            for (k, v) in map {
                let key = if prefix.is_empty() {
                    k.clone()
                } else {
                    format!("{prefix}.{k}")
                };
                flatten(&key, v, out);
            }
        }
        Json::Null => {
            out.insert(prefix.to_string(), f64::NAN);
        }
        _ => {
            if let Some(x) = number(v) {
                out.insert(prefix.to_string(), x);
            }
        }
    }
}

/// One run as the index sees it.
struct Row {
    run_id: u32,
    cell: u32,
    replicate: u32,
    record: Option<RunRecord>,
    metrics: BTreeMap<String, f64>,
}

/// Figures of a written index.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct IndexCounts {
    /// Runs complete.
    pub ok: u32,
    /// Runs that failed.
    pub failed: u32,
    /// Runs without a record.
    pub missing: u32,
}

/// Writes `runs.arrow` and `summary.arrow` into `root` for the runs whose
/// ids `holds` accepts, reading their records from `root/runs`.
pub fn write_index(
    root: &Path,
    plan: &PlanRecord,
    holds: impl Fn(u32) -> bool,
) -> std::io::Result<IndexCounts> {
    if plan.replicates == 0
        || plan.cells.len() as u64 * u64::from(plan.replicates) != u64::from(plan.runs)
    {
        return Err(std::io::Error::other(
            "sweep.json is inconsistent (cells × replicates ≠ runs); it was not written by this dmlsim",
        ));
    }
    let cells = plan.yaml_cells();
    let params = ParamColumns {
        fields: plan
            .params
            .iter()
            .enumerate()
            .map(|(i, p)| (p.clone(), ParamType::of(cells.iter().map(|c| &c[i]))))
            .collect(),
    };
    let rows: Vec<Row> = (0..plan.runs)
        .filter(|&id| holds(id))
        .map(|run_id| {
            let mut record = read_record(root, run_id).filter(|r| r.run_id == run_id);
            let metrics = record
                .as_ref()
                .and_then(|r| r.run.as_ref())
                .map(metrics_of)
                .unwrap_or_default();
            // Keep only what the index reads of run.json, so the index's
            // memory is a few numbers per run.
            if let Some(r) = record.as_mut() {
                r.files.clear();
                r.run = r.run.take().map(|j| {
                    let keep = ["stopped_by", "seed", "seeds"];
                    Json::Object(
                        keep.iter()
                            .filter_map(|k| Some((k.to_string(), j.get(k)?.clone())))
                            .collect(),
                    )
                });
            }
            Row {
                run_id,
                cell: run_id / plan.replicates,
                replicate: run_id % plan.replicates,
                record,
                metrics,
            }
        })
        .collect();
    let names: Vec<String> = rows
        .iter()
        .flat_map(|r| r.metrics.keys().cloned())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let runs = runs_batch(&rows, &cells, &params, &names)?;
    write_batch(&root.join("runs.arrow"), &runs)?;
    let summary = summary_batch(&rows, &cells, &params, &names)?;
    write_batch(&root.join("summary.arrow"), &summary)?;
    let mut counts = IndexCounts::default();
    for r in &rows {
        match r.record.as_ref().map(|r| r.status.as_str()) {
            Some("ok") => counts.ok += 1,
            Some(_) => counts.failed += 1,
            None => counts.missing += 1,
        }
    }
    Ok(counts)
}

fn param_arrays(
    params: &ParamColumns,
    cells: &[Vec<serde_yaml_ng::Value>],
    of: &[u32],
) -> Vec<ArrayRef> {
    params
        .fields
        .iter()
        .enumerate()
        .map(|(i, (_, t))| {
            t.column(
                of.iter()
                    .map(|&c| cells.get(c as usize).and_then(|v| v.get(i))),
            )
        })
        .collect()
}

fn runs_batch(
    rows: &[Row],
    cells: &[Vec<serde_yaml_ng::Value>],
    params: &ParamColumns,
    metrics: &[String],
) -> std::io::Result<RecordBatch> {
    let mut fields = vec![
        Field::new("run_id", DataType::UInt32, false),
        Field::new("cell", DataType::UInt32, false),
        Field::new("replicate", DataType::UInt32, false),
    ];
    fields.extend(params.arrow_fields());
    let mut arrays: Vec<ArrayRef> = vec![
        Arc::new(UInt32Array::from_iter_values(rows.iter().map(|r| r.run_id))),
        Arc::new(UInt32Array::from_iter_values(rows.iter().map(|r| r.cell))),
        Arc::new(UInt32Array::from_iter_values(
            rows.iter().map(|r| r.replicate),
        )),
    ];
    let of: Vec<u32> = rows.iter().map(|r| r.cell).collect();
    arrays.extend(param_arrays(params, cells, &of));
    let run_field = |r: &Row, key: &str| {
        r.record
            .as_ref()
            .and_then(|rec| rec.run.as_ref())
            .and_then(|j| j.get(key).cloned())
    };
    fields.push(Field::new("status", DataType::Utf8, false));
    arrays.push(Arc::new(StringArray::from_iter_values(rows.iter().map(
        |r| {
            r.record
                .as_ref()
                .map_or("missing", |rec| rec.status.as_str())
        },
    ))));
    fields.push(Field::new("error", DataType::Utf8, true));
    arrays
        .push(Arc::new(StringArray::from_iter(rows.iter().map(|r| {
            r.record.as_ref().and_then(|rec| rec.error.clone())
        }))));
    fields.push(Field::new("stopped_by", DataType::Utf8, true));
    arrays.push(Arc::new(StringArray::from_iter(rows.iter().map(|r| {
        run_field(r, "stopped_by").and_then(|v| v.as_str().map(str::to_string))
    }))));
    fields.push(Field::new("seed", DataType::UInt64, true));
    arrays.push(Arc::new(UInt64Array::from_iter(
        rows.iter()
            .map(|r| run_field(r, "seed").and_then(|v| v.as_u64())),
    )));
    for group in [
        "world",
        "selection",
        "training",
        "price",
        "verification",
        "governance",
        "market",
    ] {
        fields.push(Field::new(format!("seeds.{group}"), DataType::UInt64, true));
        arrays.push(Arc::new(UInt64Array::from_iter(rows.iter().map(|r| {
            run_field(r, "seeds").and_then(|v| v.get(group)?.as_u64())
        }))));
    }
    let mut overrides = ListBuilder::new(StringBuilder::new());
    for r in rows {
        match &r.record {
            Some(rec) => {
                for o in &rec.overrides {
                    overrides.values().append_value(o);
                }
                overrides.append(true);
            }
            None => overrides.append(false),
        }
    }
    let list = overrides.finish();
    fields.push(Field::new("overrides", list.data_type().clone(), true));
    arrays.push(Arc::new(list));
    for m in metrics {
        fields.push(Field::new(m, DataType::Float64, true));
        arrays.push(Arc::new(Float64Array::from_iter(
            rows.iter()
                .map(|r| r.metrics.get(m).copied().filter(|x| !x.is_nan())),
        )));
    }
    RecordBatch::try_new(Arc::new(Schema::new(fields)), arrays).map_err(std::io::Error::other)
}

fn summary_batch(
    rows: &[Row],
    cells: &[Vec<serde_yaml_ng::Value>],
    params: &ParamColumns,
    metrics: &[String],
) -> std::io::Result<RecordBatch> {
    // Rows are in run-id order, so a cell's runs are adjacent.
    let mut by_cell: Vec<(u32, Vec<&Row>)> = Vec::new();
    for r in rows {
        match by_cell.last_mut() {
            Some((c, runs)) if *c == r.cell => runs.push(r),
            _ => by_cell.push((r.cell, vec![r])),
        }
    }
    let mut cell_col = Vec::new();
    let mut metric_col = Vec::new();
    let mut runs_col = Vec::new();
    let mut ok_col = Vec::new();
    let mut stats: Vec<Moments> = Vec::new();
    for (cell, runs) in &by_cell {
        let ok: Vec<&&Row> = runs
            .iter()
            .filter(|r| r.record.as_ref().is_some_and(|rec| rec.status == "ok"))
            .collect();
        for m in metrics {
            cell_col.push(*cell);
            metric_col.push(m.as_str());
            runs_col.push(runs.len() as u32);
            ok_col.push(ok.len() as u32);
            stats.push(Moments::of(
                ok.iter().filter_map(|r| r.metrics.get(m).copied()),
            ));
        }
    }
    let mut fields = vec![Field::new("cell", DataType::UInt32, false)];
    fields.extend(params.arrow_fields());
    fields.extend([
        Field::new("metric", DataType::Utf8, false),
        Field::new("runs", DataType::UInt32, false),
        Field::new("runs_ok", DataType::UInt32, false),
        Field::new("n", DataType::UInt64, false),
        Field::new("mean", DataType::Float64, true),
        Field::new("sd", DataType::Float64, true),
        Field::new("ci95_low", DataType::Float64, true),
        Field::new("ci95_high", DataType::Float64, true),
        Field::new("min", DataType::Float64, true),
        Field::new("max", DataType::Float64, true),
    ]);
    let f = |get: &dyn Fn(&Moments) -> Option<f64>| -> ArrayRef {
        Arc::new(Float64Array::from_iter(stats.iter().map(get)))
    };
    let mut arrays: Vec<ArrayRef> = vec![Arc::new(UInt32Array::from(cell_col.clone()))];
    arrays.extend(param_arrays(params, cells, &cell_col));
    arrays.extend([
        Arc::new(StringArray::from(metric_col)) as ArrayRef,
        Arc::new(UInt32Array::from(runs_col)),
        Arc::new(UInt32Array::from(ok_col)),
        Arc::new(UInt64Array::from_iter_values(stats.iter().map(|s| s.n))),
        f(&|s| s.mean),
        f(&|s| s.sd),
        f(&|s| Some(s.mean? - s.ci95?)),
        f(&|s| Some(s.mean? + s.ci95?)),
        f(&|s| s.min),
        f(&|s| s.max),
    ]);
    RecordBatch::try_new(Arc::new(Schema::new(fields)), arrays).map_err(std::io::Error::other)
}

/// Writes one batch as an Arrow IPC file, atomically.
pub fn write_batch(path: &Path, batch: &RecordBatch) -> std::io::Result<()> {
    crate::output::table::write_atomically(path, |w| {
        let mut writer = arrow_ipc::writer::FileWriter::try_new(&mut *w, &batch.schema())
            .map_err(std::io::Error::other)?;
        writer.write(batch).map_err(std::io::Error::other)?;
        writer.finish().map_err(std::io::Error::other)
    })
}
