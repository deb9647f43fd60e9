//! Writes a synthetic measured population for the node-table bench: a
//! Parquet node table, per-node online-interval traces for a week (on/off
//! periods of random length, as a FedScale-style trace would hold) and a
//! few weekly patterns, deterministically from a seed.

use arrow_array::{ArrayRef, Float64Array, RecordBatch, StringArray, UInt32Array};
use dmlsim_models::rng::stream;
use parquet::arrow::ArrowWriter;
use rand::RngExt;
use rand_distr::StandardNormal;
use std::path::Path;
use std::sync::Arc;

const REGIONS: [&str; 3] = ["us-east", "eu-west", "asia-east"];
const PATTERNS: [&str; 3] = ["office", "evenings", "weekends"];
const WEEK_S: f64 = 7.0 * 86_400.0;
const BATCH: usize = 65_536;

fn writer(path: &Path, batch: &RecordBatch) -> ArrowWriter<std::fs::File> {
    let file = std::fs::File::create(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    ArrowWriter::try_new(file, batch.schema(), None).expect("parquet writer")
}

/// Writes `nodes.parquet`, `online.parquet` and `weekly.csv` into `dir`:
/// `nodes` nodes, 60% with their own week of traces, the rest following
/// one of three weekly patterns. Returns (nodes, trace rows).
pub fn write(dir: &Path, nodes: u32, seed: u64) -> (u32, u64) {
    std::fs::create_dir_all(dir).expect("output folder");
    let mut weekly = String::from("pattern,start_h,end_h\n");
    for day in 0..5 {
        let d = f64::from(day) * 24.0;
        weekly += &format!("office,{},{}\n", d + 9.0, d + 17.0);
    }
    for day in 0..7 {
        let d = f64::from(day) * 24.0;
        weekly += &format!("evenings,{},{}\n", d + 18.0, d + 23.5);
    }
    weekly += "weekends,120,168\n";
    std::fs::write(dir.join("weekly.csv"), weekly).expect("weekly.csv");

    let mut node_writer: Option<ArrowWriter<std::fs::File>> = None;
    let mut trace_writer: Option<ArrowWriter<std::fs::File>> = None;
    let mut trace_rows = 0u64;
    let mut start = 0u32;
    while start < nodes {
        let end = nodes.min(start + BATCH as u32);
        let (mut region, mut tflops, mut up, mut down, mut op, mut pattern) =
            (vec![], vec![], vec![], vec![], vec![], vec![]);
        let (mut t_node, mut t_start, mut t_end) = (vec![], vec![], vec![]);
        for id in start..end {
            let mut rng = stream(seed, "bench-node", u64::from(id));
            region.push(REGIONS[rng.random_range(0..REGIONS.len())]);
            tflops.push([12.7, 35.6, 82.6, 312.0][rng.random_range(0..4usize)]);
            let z: f64 = rng.sample(StandardNormal);
            let median_up = 40.0 * (0.5 * z).exp();
            up.push((median_up * 100.0).round() / 100.0);
            down.push((median_up * 7.5 * 100.0).round() / 100.0);
            op.push(id / 4); // four nodes an operator
            if rng.random::<f64>() < 0.6 {
                pattern.push(None);
                // Alternating online (mean 3 h) and offline (mean 5 h)
                // periods over a week, starting in either state.
                let mut t = 0.0;
                let mut online = rng.random::<f64>() < 3.0 / 8.0;
                while t < WEEK_S {
                    let mean = if online { 3.0 } else { 5.0 } * 3600.0;
                    let len = -mean * (1.0 - rng.random::<f64>()).ln();
                    let e = (t + len).min(WEEK_S);
                    if online {
                        t_node.push(id);
                        t_start.push(t.round());
                        t_end.push(e.round());
                    }
                    t = e;
                    online = !online;
                }
            } else {
                pattern.push(Some(PATTERNS[rng.random_range(0..PATTERNS.len())]));
            }
        }
        let n = (end - start) as usize;
        let cols: Vec<(&str, ArrayRef)> = vec![
            (
                "node_id",
                Arc::new(UInt32Array::from_iter_values(start..end)),
            ),
            ("region", Arc::new(StringArray::from(region))),
            ("gpu_tflops", Arc::new(Float64Array::from(tflops))),
            ("gpu_efficiency", Arc::new(Float64Array::from(vec![0.3; n]))),
            ("up_mbps", Arc::new(Float64Array::from(up))),
            ("down_mbps", Arc::new(Float64Array::from(down))),
            ("operator_id", Arc::new(UInt32Array::from(op))),
            ("pattern", Arc::new(StringArray::from(pattern))),
        ];
        let batch = RecordBatch::try_from_iter(cols).expect("node batch");
        node_writer
            .get_or_insert_with(|| writer(&dir.join("nodes.parquet"), &batch))
            .write(&batch)
            .expect("nodes.parquet");
        trace_rows += t_node.len() as u64;
        let traces = RecordBatch::try_from_iter([
            ("node_id", Arc::new(UInt32Array::from(t_node)) as ArrayRef),
            ("start_s", Arc::new(Float64Array::from(t_start))),
            ("end_s", Arc::new(Float64Array::from(t_end))),
        ])
        .expect("trace batch");
        trace_writer
            .get_or_insert_with(|| writer(&dir.join("online.parquet"), &traces))
            .write(&traces)
            .expect("online.parquet");
        start = end;
    }
    for w in [node_writer, trace_writer].into_iter().flatten() {
        w.close().expect("parquet footer");
    }
    (nodes, trace_rows)
}
