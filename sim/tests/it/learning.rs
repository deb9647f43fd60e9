//! Real federated learning end to end: determinism with training on, the
//! effect of attackers under FedAvg and robust rules, user data files.

use super::support::*;
use parquet::basic::Compression;

fn accuracies(out: &std::path::Path) -> Vec<f64> {
    f64_col(&read_arrow(&out.join("rounds.arrow"))[0], "test_accuracy")
}

#[test]
fn training_runs_are_byte_identical_across_thread_counts() {
    let one = scratch("learn-det-1");
    let two = scratch("learn-det-2");
    run_ok(
        "scenarios/digits-dirichlet.yaml",
        &one,
        &[],
        &[("RAYON_NUM_THREADS", "1")],
    );
    run_ok(
        "scenarios/digits-dirichlet.yaml",
        &two,
        &[],
        &[("RAYON_NUM_THREADS", "2")],
    );
    for t in ["rounds.arrow", "nodes.arrow"] {
        assert_eq!(
            std::fs::read(one.join(t)).unwrap(),
            std::fs::read(two.join(t)).unwrap(),
            "{t} differs"
        );
    }
    let acc = accuracies(&one);
    assert!(acc.iter().all(|a| (0.0..=1.0).contains(a)));
    assert!(
        acc.last().unwrap() > &0.85,
        "digits-dirichlet should learn: {acc:?}"
    );
}

/// Runs poisoning-vs-robust with 30% attackers and the given rule.
fn final_accuracy_with(rule: &str, name: &str) -> f64 {
    let text = std::fs::read_to_string(repo().join("scenarios/poisoning-vs-robust.yaml")).unwrap();
    let text = text
        .replace(
            "behaviour: { honest: 0.8, sign_flip: 0.2 }",
            "behaviour: { honest: 0.7, sign_flip: 0.3 }",
        )
        .replace("  aggregation: fedavg", &format!("  aggregation: {rule}"));
    let dir = scratch(name);
    let path = dir.join("scenario.yaml");
    std::fs::write(&path, text).unwrap();
    run_ok(path.to_str().unwrap(), &dir.join("out"), &[], &[]);
    *accuracies(&dir.join("out")).last().unwrap()
}

#[test]
fn thirty_percent_sign_flippers_hurt_fedavg_far_more_than_median() {
    let fedavg = final_accuracy_with("fedavg", "poison-fedavg");
    let median = final_accuracy_with("median", "poison-median");
    assert!(median > fedavg + 0.3, "median {median} vs FedAvg {fedavg}");
}

#[test]
fn nodes_report_their_data_and_behaviour() {
    let out = scratch("learn-nodes");
    run_ok("scenarios/poisoning-vs-robust.yaml", &out, &[], &[]);
    let nodes = &read_arrow(&out.join("nodes.arrow"))[0];
    let samples = column::<arrow_array::UInt64Array>(nodes, "samples");
    // IID over 100 nodes of the 1,438 training images: 14 or 15 each.
    assert_eq!(samples.values().iter().sum::<u64>(), 1438);
    assert!(samples.values().iter().all(|&s| s == 14 || s == 15));
    let behaviour = nodes.column_by_name("behaviour").unwrap();
    let dict = behaviour
        .as_any()
        .downcast_ref::<arrow_array::DictionaryArray<arrow_array::types::Int32Type>>()
        .unwrap();
    let values = dict
        .values()
        .as_any()
        .downcast_ref::<arrow_array::StringArray>()
        .unwrap();
    let flips = dict
        .keys()
        .values()
        .iter()
        .filter(|&&k| values.value(k as usize) == "sign_flip")
        .count();
    assert!(
        (10..=30).contains(&flips),
        "about 20 attackers expected, found {flips}"
    );
    let rounds = &read_arrow(&out.join("rounds.arrow"))[0];
    for c in [
        "train_loss",
        "test_accuracy",
        "test_loss",
        "flops",
        "update_bytes",
        "updates_honest",
        "updates_lazy",
        "updates_poisoned",
    ] {
        assert!(rounds.column_by_name(c).is_some(), "rounds.arrow lacks {c}");
    }
}

/// A tiny two-class table where feature `a` decides the label.
fn tiny_rows() -> Vec<(f64, f64, &'static str)> {
    (0..200)
        .map(|i| {
            let a = (i % 20) as f64 / 10.0 - 1.0;
            (a, (i % 7) as f64, if a > 0.0 { "yes" } else { "no" })
        })
        .collect()
}

fn scenario_with_dataset(dataset: &str) -> String {
    let text = std::fs::read_to_string(repo().join("scenarios/digits-iid.yaml")).unwrap();
    text.replace("  dataset: digits", &format!("  dataset: {dataset}"))
}

/// The tiny separable table as an Arrow batch with columns `a`, `b`, `label`.
fn tiny_batch() -> arrow_array::RecordBatch {
    use arrow_array::{ArrayRef, Float64Array, RecordBatch, StringArray};
    use std::sync::Arc;
    let rows = tiny_rows();
    RecordBatch::try_from_iter(vec![
        (
            "a",
            Arc::new(Float64Array::from(
                rows.iter().map(|r| r.0).collect::<Vec<_>>(),
            )) as ArrayRef,
        ),
        (
            "b",
            Arc::new(Float64Array::from(
                rows.iter().map(|r| r.1).collect::<Vec<_>>(),
            )) as ArrayRef,
        ),
        (
            "label",
            Arc::new(StringArray::from(
                rows.iter().map(|r| r.2).collect::<Vec<_>>(),
            )) as ArrayRef,
        ),
    ])
    .unwrap()
}

/// Writes `batch` as Parquet compressed with `codec`.
fn write_parquet(path: &std::path::Path, batch: &arrow_array::RecordBatch, codec: Compression) {
    let props = parquet::file::properties::WriterProperties::builder()
        .set_compression(codec)
        .build();
    let mut pw = parquet::arrow::ArrowWriter::try_new(
        std::fs::File::create(path).unwrap(),
        batch.schema(),
        Some(props),
    )
    .unwrap();
    pw.write(batch).unwrap();
    pw.close().unwrap();
}

#[test]
fn user_tables_load_from_csv_arrow_and_parquet() {
    let dir = scratch("learn-files");
    let mut csv = String::from("a,b,label\n");
    for (a, b, l) in &tiny_rows() {
        csv.push_str(&format!("{a},{b},{l}\n"));
    }
    std::fs::write(dir.join("data.csv"), csv).unwrap();
    let batch = tiny_batch();
    let mut w = arrow_ipc::writer::FileWriter::try_new(
        std::fs::File::create(dir.join("data.arrow")).unwrap(),
        &batch.schema(),
    )
    .unwrap();
    w.write(&batch).unwrap();
    w.finish().unwrap();
    write_parquet(&dir.join("data.parquet"), &batch, Compression::UNCOMPRESSED);
    for kind in ["csv", "arrow", "parquet"] {
        let path = dir.join(format!("{kind}.yaml"));
        std::fs::write(
            &path,
            scenario_with_dataset(&format!(
                "{{ {kind}: {{ path: data.{kind}, label: label, features: [a, b] }} }}"
            )),
        )
        .unwrap();
        let o = dmlsim(&["validate", path.to_str().unwrap()], &[]);
        assert!(
            o.status.success(),
            "{kind}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        run_ok(
            path.to_str().unwrap(),
            &dir.join(format!("out-{kind}")),
            &[],
            &[],
        );
        // run.json names every input file with its digest, the data table too.
        let inputs = run_json(&dir.join(format!("out-{kind}")))["inputs"].clone();
        let data = std::fs::read(dir.join(format!("data.{kind}"))).unwrap();
        assert_eq!(inputs[1]["name"], format!("data.{kind}"), "{inputs}");
        assert_eq!(inputs[1]["sha256"], sha256_hex(&data).as_str());
        let acc = accuracies(&dir.join(format!("out-{kind}")));
        assert!(
            *acc.last().unwrap() > 0.9,
            "{kind}: a separable table should be learned: {acc:?}"
        );
    }
}

#[test]
fn parquet_files_load_with_every_common_codec() {
    // Polars writes zstd by default, pyarrow snappy, Spark snappy or gzip.
    use parquet::basic::{GzipLevel, ZstdLevel};
    let dir = scratch("learn-codecs");
    let codecs = [
        ("zstd", Compression::ZSTD(ZstdLevel::default())),
        ("lz4", Compression::LZ4_RAW),
        ("gzip", Compression::GZIP(GzipLevel::default())),
        ("snappy", Compression::SNAPPY),
    ];
    for (name, codec) in codecs {
        write_parquet(&dir.join(format!("{name}.parquet")), &tiny_batch(), codec);
        let path = dir.join(format!("{name}.yaml"));
        std::fs::write(
            &path,
            scenario_with_dataset(&format!(
                "{{ parquet: {{ path: {name}.parquet, label: label, features: [a, b] }} }}"
            )),
        )
        .unwrap();
        let o = dmlsim(&["validate", path.to_str().unwrap()], &[]);
        assert!(
            o.status.success(),
            "{name}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
    }
}

#[test]
fn bad_data_files_are_reported_with_the_field_and_line() {
    let dir = scratch("learn-bad-files");
    std::fs::write(dir.join("data.csv"), "a,b,label\n1,2,x\n3,oops,y\n").unwrap();
    let cases = [
        (
            "{ csv: { path: missing.csv, label: label } }",
            "learning.dataset.csv.path",
            "cannot read",
        ),
        (
            "{ csv: { path: data.csv, label: target } }",
            "learning.dataset.csv",
            "no column named `target`; the columns are a, b, label",
        ),
        (
            "{ csv: { path: data.csv, label: label } }",
            "learning.dataset.csv",
            "column `b`, row 2: expected a number, found `oops`",
        ),
    ];
    for (i, (dataset, path, message)) in cases.iter().enumerate() {
        let text = scenario_with_dataset(dataset);
        let file = dir.join(format!("bad{i}.yaml"));
        std::fs::write(&file, &text).unwrap();
        for args in [
            vec!["validate", file.to_str().unwrap()],
            vec![
                "run",
                file.to_str().unwrap(),
                "--out",
                dir.join("o").to_str().unwrap(),
                "-q",
            ],
        ] {
            let o = dmlsim(&args, &[]);
            let err = String::from_utf8_lossy(&o.stderr);
            assert_eq!(o.status.code(), Some(2), "{err}");
            let line = text.lines().position(|l| l.contains("dataset:")).unwrap() + 1;
            assert!(
                err.contains(&format!(":{line}:"))
                    && err.contains(&format!("{path}: "))
                    && err.contains(message),
                "{args:?}: {err}"
            );
        }
    }
}

#[test]
fn categorical_labels_load_and_missing_ones_are_refused_with_their_row() {
    // What pandas' `category` and Polars' `Categorical` write: a dictionary column.
    use arrow_array::types::Int32Type;
    use arrow_array::{ArrayRef, DictionaryArray, Float64Array, RecordBatch};
    use std::sync::Arc;
    let dir = scratch("learn-categorical");
    let rows = tiny_rows();
    let write = |name: &str, labels: Vec<Option<&str>>| {
        let label: DictionaryArray<Int32Type> = labels.into_iter().collect();
        let batch = RecordBatch::try_from_iter(vec![
            (
                "a",
                Arc::new(Float64Array::from(
                    rows.iter().map(|r| r.0).collect::<Vec<_>>(),
                )) as ArrayRef,
            ),
            ("label", Arc::new(label) as ArrayRef),
        ])
        .unwrap();
        let mut w = arrow_ipc::writer::FileWriter::try_new(
            std::fs::File::create(dir.join(format!("{name}.arrow"))).unwrap(),
            &batch.schema(),
        )
        .unwrap();
        w.write(&batch).unwrap();
        w.finish().unwrap();
        let path = dir.join(format!("{name}.yaml"));
        std::fs::write(
            &path,
            scenario_with_dataset(&format!(
                "{{ arrow: {{ path: {name}.arrow, label: label }} }}"
            )),
        )
        .unwrap();
        path
    };
    let good = write("good", rows.iter().map(|r| Some(r.2)).collect());
    let out = dir.join("out");
    run_ok(good.to_str().unwrap(), &out, &[], &[]);
    let info = run_json(&out);
    assert_eq!(info["learning"]["classes"], 2);
    assert_eq!(
        info["learning"]["class_labels"],
        serde_json::json!(["no", "yes"])
    );
    assert!(*accuracies(&out).last().unwrap() > 0.9);
    let mut labels: Vec<Option<&str>> = rows.iter().map(|r| Some(r.2)).collect();
    labels[4] = None;
    let bad = write("bad", labels);
    let o = dmlsim(&["validate", bad.to_str().unwrap()], &[]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(
        err.contains("column `label`, row 5: missing value"),
        "{err}"
    );
}

/// The README's 30-line scenario with its learning snippet (the timing
/// fields the learning section sets removed).
fn readme_learning_scenario() -> String {
    let readme = std::fs::read_to_string(repo().join("README.md")).unwrap();
    let block = |after: &str| {
        let body = &readme[readme.find(after).unwrap()..];
        let start = body.find("```yaml\n").unwrap() + 8;
        body[start..start + body[start..].find("```").unwrap()].to_string()
    };
    let tour: String = block("## A scenario in 30 lines")
        .lines()
        .filter(|l| !l.contains("model_bytes:") && !l.contains("client_flops:"))
        .map(|l| format!("{l}\n"))
        .collect();
    tour + &block("Add a `learning` section")
}

#[test]
fn nodes_without_examples_are_never_selected() {
    // With 1,000 nodes sharing 1,437 digits under Dirichlet(0.1), a third of
    // the nodes hold nothing; they were selected, counted as completed and
    // sent the global model back, pinning the median at 0.09 accuracy.
    let dir = scratch("learn-empty-nodes");
    let file = dir.join("readme.yaml");
    std::fs::write(&file, readme_learning_scenario()).unwrap();
    let out = dir.join("out");
    run_ok(file.to_str().unwrap(), &out, &[], &[]);
    let nodes = &read_arrow(&out.join("nodes.arrow"))[0];
    let samples = column::<arrow_array::UInt64Array>(nodes, "samples");
    let selected = column::<arrow_array::UInt32Array>(nodes, "rounds_selected");
    let empty: Vec<usize> = (0..nodes.num_rows())
        .filter(|&i| samples.value(i) == 0)
        .collect();
    assert!(empty.len() > 100, "the setup leaves many nodes empty");
    assert!(empty.iter().all(|&i| selected.value(i) == 0));
    let acc = accuracies(&out);
    assert!(
        *acc.last().unwrap() > 0.2,
        "the median makes progress once empty nodes stay out: {acc:?}"
    );
}

#[test]
fn divergence_is_reported_as_nan_with_its_round_and_a_warning() {
    // A learning rate of 100 pinned the loss at 69.0776 (= −ln 1e−30), with
    // accuracy 0.10 and no warning.
    let dir = scratch("learn-diverge");
    let out = dir.join("out");
    let o = dmlsim(
        &[
            "run",
            "scenarios/digits-iid.yaml",
            "--out",
            out.to_str().unwrap(),
            "-q",
            "--set",
            "learning.local.learning_rate=100",
        ],
        &[],
    );
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{stderr}");
    assert!(stderr.contains("training diverged in round 0"), "{stderr}");
    let info = run_json(&out);
    assert_eq!(info["learning"]["diverged_at_round"], 0);
    let rounds = &read_arrow(&out.join("rounds.arrow"))[0];
    assert!(f64_col(rounds, "test_loss").iter().all(|l| l.is_nan()));
    assert!(f64_col(rounds, "test_accuracy").iter().all(|a| a.is_nan()));
    // A healthy run records no divergence.
    let ok = dir.join("ok");
    run_ok("scenarios/digits-iid.yaml", &ok, &[], &[]);
    assert!(run_json(&ok)["learning"].get("diverged_at_round").is_none());
}

#[test]
fn corrupt_arrow_and_parquet_files_are_refused_not_panicked_on() {
    // Found by the libFuzzer targets: the Arrow and Parquet decoders panic
    // on the `crash-` files (arrow-buffer and parquet assertions), and the
    // Arrow reader allocated 4 GB for the 348-byte `oom-` file.
    let dir = scratch("learn-corrupt");
    for kind in ["arrow", "parquet"] {
        let folder = repo().join("fuzz/regressions").join(kind);
        for entry in std::fs::read_dir(&folder).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_some_and(|e| e == "md") {
                continue;
            }
            let data = dir.join(format!("data.{kind}"));
            std::fs::copy(&path, &data).unwrap();
            let scenario = dir.join(format!("{kind}.yaml"));
            std::fs::write(
                &scenario,
                scenario_with_dataset(&format!("{{ {kind}: {{ path: data.{kind}, label: y }} }}")),
            )
            .unwrap();
            let o = dmlsim(&["validate", scenario.to_str().unwrap()], &[]);
            let stderr = String::from_utf8_lossy(&o.stderr);
            assert_eq!(o.status.code(), Some(2), "{}: {stderr}", path.display());
            assert!(!stderr.contains("panicked"), "{}: {stderr}", path.display());
            assert!(
                stderr.contains(&format!("learning.dataset.{kind}")),
                "{stderr}"
            );
        }
    }
}

#[test]
fn time_to_accuracy_in_run_json_agrees_with_rounds_arrow() {
    let out = crate::support::run_with_sets(
        "scenarios/digits-iid.yaml",
        "learning-time-to-accuracy",
        &["metrics={accuracy_targets: [0.8, 0.9, 0.99], sustained_rounds: 2}"],
    );
    let rounds = &crate::support::read_arrow(&out.join("rounds.arrow"))[0];
    let acc = crate::support::f64_col(rounds, "test_accuracy");
    let t_end = crate::support::f64_col(rounds, "t_end_s");
    let info = crate::support::run_json(&out);
    let targets = &info["summary"]["rounds"]["accuracy_targets"];
    for (key, target) in [("80", 0.8), ("90", 0.9), ("99", 0.99)] {
        let first = acc.iter().position(|&a| a >= target);
        let held =
            (0..acc.len().saturating_sub(1)).find(|&i| acc[i] >= target && acc[i + 1] >= target);
        let t = &targets[key];
        assert_eq!(t["reached"].as_bool(), Some(first.is_some()), "{key}");
        assert_eq!(t["round"].as_u64(), first.map(|i| i as u64), "{key}");
        assert_eq!(t["time_s"].as_f64(), first.map(|i| t_end[i]), "{key}");
        assert_eq!(
            t["sustained_round"].as_u64(),
            held.map(|i| i as u64),
            "{key}"
        );
    }
    assert_eq!(targets["80"]["reached"].as_bool(), Some(true));
    assert_eq!(targets["99"]["reached"].as_bool(), Some(false));
}
