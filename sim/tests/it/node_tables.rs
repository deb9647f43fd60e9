//! Nodes from tables: a run's own `nodes.arrow` read back (as Arrow, CSV
//! or Parquet) reproduces every table; measured availability (traces and
//! weekly patterns) decides who is selected, exactly; bad tables are
//! refused with the file, column and row.

use super::support::*;
use arrow_array::RecordBatch;
use arrow_array::cast::AsArray;
use arrow_array::types::{Float64Type, UInt32Type};
use std::path::Path;

/// The free-riders scenario with its population replaced by `nodes`.
fn free_riders_from(table: &str, dir: &Path) -> std::path::PathBuf {
    let text = std::fs::read_to_string(repo().join("scenarios/free-riders.yaml")).unwrap();
    let from = "populations:\n  - profile: gamer\n    count: 100\n    regions: { us-east: 0.5, eu-west: 0.5 }\n";
    assert_eq!(text.matches(from).count(), 1);
    let file = dir.join(format!("from-{}.yaml", table.replace('.', "-")));
    std::fs::write(
        &file,
        text.replace(from, &format!("nodes: {{ table: {table} }}\n")),
    )
    .unwrap();
    file
}

/// The columns of `nodes.arrow` a node table reads, as CSV text.
fn csv_of(batches: &[RecordBatch]) -> String {
    let columns = [
        "node_id",
        "operator_id",
        "profile",
        "region",
        "gpu",
        "gpu_tflops",
        "gpu_efficiency",
        "gpu_memory_gb",
        "gpu_watts",
        "up_mbps",
        "down_mbps",
        "availability",
        "busy_start_h",
        "busy_end_h",
        "behaviour",
    ];
    let mut out = columns.join(",") + "\n";
    for b in batches {
        for r in 0..b.num_rows() {
            let cells: Vec<String> = columns
                .iter()
                .map(|&c| {
                    let a = b.column_by_name(c).unwrap();
                    if let Some(p) = a.as_primitive_opt::<Float64Type>() {
                        format!("{}", p.value(r))
                    } else if let Some(p) = a.as_primitive_opt::<UInt32Type>() {
                        format!("{}", p.value(r))
                    } else {
                        let d = a.as_any_dictionary();
                        let values = d.values().as_string::<i32>();
                        values.value(d.normalized_keys()[r]).to_string()
                    }
                })
                .collect();
            out += &(cells.join(",") + "\n");
        }
    }
    out
}

#[test]
fn a_runs_node_table_read_back_reproduces_every_table() {
    let dir = scratch("node-table-round-trip");
    let first = dir.join("first");
    run_ok("scenarios/free-riders.yaml", &first, &[], &[]);
    let nodes = read_arrow(&first.join("nodes.arrow"));
    std::fs::copy(first.join("nodes.arrow"), dir.join("nodes.arrow")).unwrap();
    std::fs::write(dir.join("nodes.csv"), csv_of(&nodes)).unwrap();
    let mut w = parquet::arrow::ArrowWriter::try_new(
        std::fs::File::create(dir.join("nodes.parquet")).unwrap(),
        nodes[0].schema(),
        None,
    )
    .unwrap();
    for b in &nodes {
        w.write(b).unwrap();
    }
    w.close().unwrap();
    for table in ["nodes.arrow", "nodes.csv", "nodes.parquet"] {
        let scenario = free_riders_from(table, &dir);
        let again = dir.join(table.replace('.', "-"));
        run_ok(scenario.to_str().unwrap(), &again, &[], &[]);
        let mut compared = 0;
        for entry in std::fs::read_dir(&first).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_some_and(|e| e == "arrow") {
                let name = path.file_name().unwrap();
                assert!(
                    std::fs::read(&path).unwrap() == std::fs::read(again.join(name)).unwrap(),
                    "{table}: {name:?} differs"
                );
                compared += 1;
            }
        }
        assert!(compared >= 8, "{compared} tables compared");
    }
}

const TRACED: &str = "name: traced
seed: 7
horizon: 5h
regions:
  - { name: utc, utc_offset_h: 0 }
  - { name: east, utc_offset_h: 3 }
network: { latency_ms: [[10, 50], [50, 10]] }
profiles: []
nodes:
  table: nodes.csv
  traces: online.csv
  patterns: weekly.csv
aggregator: { region: utc, up_mbps: 1000, down_mbps: 1000 }
rounds:
  count: 40
  clients_per_round: 5
  min_clients: 2
  deadline: 10m
  gap: 5m
  model_bytes: 1MB
  client_flops: 1e12
";

fn write_traced(dir: &Path, nodes: &str, online: &str) -> std::path::PathBuf {
    std::fs::write(dir.join("nodes.csv"), nodes).unwrap();
    std::fs::write(dir.join("online.csv"), online).unwrap();
    // Monday 01:00-02:30 local time (UTC+3: 22:00-23:30 UTC on Sunday, so
    // never within the run; the UTC node's 00:00-02:00 is).
    std::fs::write(
        dir.join("weekly.csv"),
        "pattern,start_h,end_h\nearly,0,2\nearly,1.5,2\neast-late,1,2.5\nunused,5,6\n",
    )
    .unwrap();
    let file = dir.join("traced.yaml");
    std::fs::write(&file, TRACED).unwrap();
    file
}

const NODES: &str = "node_id,region,gpu_tflops,up_mbps,down_mbps,pattern,operator_id,profile
a,utc,10,100,100,,op1,desk
b,utc,10,100,100,,op1,desk
c,utc,10,100,100,,op2,
d,utc,10,100,100,early,op3,desk
e,east,10,100,100,east-late,op3,laptop
";

#[test]
fn traces_and_weekly_patterns_decide_who_is_selected() {
    let dir = scratch("node-table-traces");
    // c is online 0-1 h and 2-3 h (two touching rows merge).
    let file = write_traced(
        &dir,
        NODES,
        "node_id,start_s,end_s\nc,7200,9000\nc,0,3600\nc,9000,10800\n",
    );
    let out = dir.join("out");
    run_ok(file.to_str().unwrap(), &out, &[], &[]);
    let rounds = read_arrow(&out.join("rounds.arrow"));
    let starts = f64_col(&rounds[0], "t_start_s");
    assert!(starts.len() > 10, "{} rounds", starts.len());
    let in_spans = |spans: &[(f64, f64)]| {
        starts
            .iter()
            .filter(|&&t| spans.iter().any(|&(s, e)| t >= s && t < e))
            .count() as u32
    };
    let nodes = read_arrow(&out.join("nodes.arrow"));
    let selected = column::<arrow_array::UInt32Array>(&nodes[0], "rounds_selected");
    let n = starts.len() as u32;
    assert_eq!(selected.value(0), n, "a is always on");
    assert_eq!(selected.value(1), n);
    assert_eq!(
        selected.value(2),
        in_spans(&[(0.0, 3600.0), (7200.0, 10800.0)])
    );
    assert_eq!(selected.value(3), in_spans(&[(0.0, 7200.0)]));
    assert_eq!(
        selected.value(4),
        0,
        "e's Monday hours are Sunday night in UTC"
    );
    // Operators by label in order of appearance; profiles by label.
    let ops = column::<arrow_array::UInt32Array>(&nodes[0], "operator_id");
    assert_eq!(ops.values().to_vec(), vec![0, 0, 1, 2, 2]);
    let label = |col: &str, r: usize| {
        let d = nodes[0].column_by_name(col).unwrap().as_any_dictionary();
        let v = d.values().as_string::<i32>();
        v.value(d.normalized_keys()[r]).to_string()
    };
    let profiles: Vec<String> = (0..5).map(|r| label("profile", r)).collect();
    assert_eq!(profiles, ["desk", "desk", "table", "desk", "laptop"]);
    let availability: Vec<String> = (0..5).map(|r| label("availability", r)).collect();
    assert_eq!(
        availability,
        ["always_on", "always_on", "trace", "weekly", "weekly"]
    );
}

#[test]
fn repeating_traces_wrap_with_their_period() {
    let dir = scratch("node-table-period");
    let file = write_traced(&dir, NODES, "node_id,start_s,end_s\nc,0,1800\n");
    let text = std::fs::read_to_string(&file).unwrap();
    std::fs::write(
        &file,
        text.replace(
            "  traces: online.csv\n",
            "  traces: online.csv\n  trace_period: 1h\n",
        ),
    )
    .unwrap();
    let out = dir.join("out");
    run_ok(file.to_str().unwrap(), &out, &[], &[]);
    let starts = f64_col(&read_arrow(&out.join("rounds.arrow"))[0], "t_start_s");
    let expected = starts.iter().filter(|&&t| t % 3600.0 < 1800.0).count() as u32;
    let nodes = read_arrow(&out.join("nodes.arrow"));
    let selected = column::<arrow_array::UInt32Array>(&nodes[0], "rounds_selected");
    assert_eq!(selected.value(2), expected);
    assert!(expected > 3 && expected < starts.len() as u32);
}

#[test]
fn bad_node_tables_name_the_file_column_and_row() {
    let dir = scratch("node-table-errors");
    let cases: &[(&str, &str, &str)] = &[
        (
            "node_id,region,gpu_tflops,up_mbps,down_mbps\na,utc,10,100,100\nb,mars,10,100,100\n",
            "node_id,start_s,end_s\n",
            "nodes.table: `{dir}/nodes.csv`: column `region`, row 2: unknown region `mars`; defined regions are utc, east",
        ),
        (
            "node_id,region,gpu_tflops,up_mbps\na,utc,10,100\n",
            "node_id,start_s,end_s\n",
            "column named `down_mbps`",
        ),
        (
            "node_id,region,gpu_tflops,up_mbps,down_mbps\na,utc,0,100,100\n",
            "node_id,start_s,end_s\n",
            "column `gpu_tflops`, row 1: expected a number in (0, 1000000], found 0",
        ),
        (
            "node_id,region,gpu_tflops,up_mbps,down_mbps,pattern\na,utc,10,100,100,lunch\n",
            "node_id,start_s,end_s\n",
            "column `pattern`, row 1: no pattern `lunch` in the patterns table (3 patterns)",
        ),
        (
            "node_id,region,gpu_tflops,up_mbps,down_mbps\na,utc,10,100,100\na,utc,10,100,100\n",
            "node_id,start_s,end_s\n",
            "column `node_id`, row 2: node id `a` appears twice",
        ),
        (
            "node_id,region,gpu_tflops,up_mbps,down_mbps\na,utc,10,100,100\nb,utc,10,100,100\n",
            "node_id,start_s,end_s\nz,0,10\n",
            "nodes.traces: `{dir}/online.csv`: column `node_id`, row 1: no node with node_id `z` in the node table",
        ),
        (
            "node_id,region,gpu_tflops,up_mbps,down_mbps\na,utc,10,100,100\nb,utc,10,100,100\n",
            "node_id,start_s,end_s\na,10,5\n",
            "column `end_s`, row 1: the interval ends (5 s) before it starts (10 s)",
        ),
        (
            "node_id,region,gpu_tflops,up_mbps,down_mbps,availability\na,utc,10,100,100,trace\nb,utc,10,100,100,\n",
            "node_id,start_s,end_s\nb,0,10\n",
            "column `availability`, row 1: `trace`, but the traces hold no interval of this node",
        ),
        (
            "node_id,region,gpu_tflops,up_mbps,down_mbps,behaviour\na,utc,10,100,100,sign_flip\n",
            "node_id,start_s,end_s\n",
            "column `behaviour`, row 1: behaviour `sign_flip` needs a `learning` section",
        ),
        (
            "node_id,region,gpu_tflops,up_mbps,down_mbps\na,utc,10,100,100\n",
            "node_id,start_s,end_s\n",
            "rounds.clients_per_round: 5 clients per round, but the node table and populations hold only 1 nodes",
        ),
    ];
    for (nodes, online, want) in cases {
        let file = write_traced(&dir, nodes, online);
        let o = dmlsim(
            &[
                "run",
                file.to_str().unwrap(),
                "--out",
                dir.join("out").to_str().unwrap(),
                "--quiet",
            ],
            &[],
        );
        let stderr = String::from_utf8_lossy(&o.stderr);
        let want = want.replace("{dir}", dir.to_str().unwrap());
        assert_eq!(o.status.code(), Some(2), "{want}: {stderr}");
        assert!(stderr.contains(&want), "expected `{want}` in:\n{stderr}");
    }
}
