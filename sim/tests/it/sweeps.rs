//! Sweeps: expansion against documented run lists, a run inside a sweep
//! against the same run alone, shards merged against the unsharded sweep,
//! resume, failures recorded.

use crate::support::{dmlsim, read_arrow, repo, run_ok, scratch, sweep};
use arrow_array::{Array, RecordBatch, StringArray};
use std::path::{Path, PathBuf};

/// Writes a sweep file into a fresh folder (its `scenario:` may name a
/// shipped scenario as `SCENARIOS/x.yaml`); returns its path.
fn sweep_file(name: &str, text: &str) -> PathBuf {
    let dir = scratch(name);
    let path = dir.join("sweep.yaml");
    let scenarios = repo().join("scenarios");
    std::fs::write(
        &path,
        text.replace("SCENARIOS", scenarios.to_str().unwrap()),
    )
    .unwrap();
    path
}

fn sweep_ok(file: &Path, out: &Path, extra: &[&str]) -> String {
    let o = sweep(file, out, extra);
    assert!(
        o.status.success(),
        "dmlsim sweep failed: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// The `--list` output, without the header.
fn listed(file: &Path) -> Vec<String> {
    let o = dmlsim(&["sweep", file.to_str().unwrap(), "--list"], &[]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    String::from_utf8(o.stdout)
        .unwrap()
        .lines()
        .skip(1)
        .map(str::to_string)
        .collect()
}

#[test]
fn grid_zip_and_replicates_expand_to_the_documented_run_list() {
    let file = sweep_file(
        "sweep-list",
        "scenario: SCENARIOS/quickstart.yaml
set: { rounds.count: 2 }
grid:
  rounds.clients_per_round: [10, 20]
  aggregator.down_mbps: [500, 1000]
zip:
  - { rounds.deadline: [5m, 10m], horizon: [1d, 2d] }
replicates: 2
vary_seeds: [selection]
",
    );
    let runs = listed(&file);
    // 2 × 2 × 2 cells, first axis slowest, 2 replicates each; replicate 1
    // moves only the selection seed (42 + 1).
    assert_eq!(runs.len(), 16);
    let fixed = "--set 'rounds.count=2'";
    assert_eq!(
        runs[0],
        format!(
            "0\t0\t0\t{fixed} --set 'rounds.clients_per_round=10' --set 'aggregator.down_mbps=500' --set 'rounds.deadline=5m' --set 'horizon=1d'"
        )
    );
    assert_eq!(
        runs[1],
        format!(
            "1\t0\t1\t{fixed} --set 'rounds.clients_per_round=10' --set 'aggregator.down_mbps=500' --set 'rounds.deadline=5m' --set 'horizon=1d' --set 'seeds.selection=43'"
        )
    );
    assert_eq!(
        runs[2],
        format!(
            "2\t1\t0\t{fixed} --set 'rounds.clients_per_round=10' --set 'aggregator.down_mbps=500' --set 'rounds.deadline=10m' --set 'horizon=2d'"
        )
    );
    assert_eq!(
        runs[15],
        format!(
            "15\t7\t1\t{fixed} --set 'rounds.clients_per_round=20' --set 'aggregator.down_mbps=1000' --set 'rounds.deadline=10m' --set 'horizon=2d' --set 'seeds.selection=43'"
        )
    );
    // Without vary_seeds, a replicate moves the scenario seed.
    let plain = sweep_file(
        "sweep-list-seed",
        "scenario: SCENARIOS/quickstart.yaml\nreplicates: 3\n",
    );
    let runs = listed(&plain);
    assert_eq!(
        runs,
        [
            "0\t0\t0\t",
            "1\t0\t1\t--set 'seed=43'",
            "2\t0\t2\t--set 'seed=44'"
        ]
    );
}

#[test]
fn random_points_are_drawn_from_the_seed_within_their_ranges() {
    let text = "scenario: SCENARIOS/quickstart.yaml
random:
  samples: 50
  seed: SEED
  fields:
    aggregator.down_mbps: { uniform: [100, 200] }
    aggregator.up_mbps: { log_uniform: [10, 10000] }
    rounds.clients_per_round: { int_uniform: [5, 7] }
    rounds.deadline: { choice: [5m, 10m] }
";
    let runs = listed(&sweep_file("sweep-random", &text.replace("SEED", "3")));
    assert_eq!(runs.len(), 50);
    let again = listed(&sweep_file("sweep-random-2", &text.replace("SEED", "3")));
    assert_eq!(runs, again, "the same seed draws the same points");
    let other = listed(&sweep_file("sweep-random-3", &text.replace("SEED", "4")));
    assert_ne!(runs, other);
    let value = |line: &str, field: &str| -> String {
        let key = format!("--set '{field}=");
        let at = line.find(&key).unwrap() + key.len();
        line[at..].split('\'').next().unwrap().to_string()
    };
    let mut ints = std::collections::BTreeSet::new();
    let mut choices = std::collections::BTreeSet::new();
    let mut logs = Vec::new();
    for line in &runs {
        let down: f64 = value(line, "aggregator.down_mbps").parse().unwrap();
        assert!((100.0..200.0).contains(&down), "{down}");
        let up: f64 = value(line, "aggregator.up_mbps").parse().unwrap();
        assert!((10.0..10000.0).contains(&up), "{up}");
        logs.push(up.log10());
        ints.insert(value(line, "rounds.clients_per_round"));
        choices.insert(value(line, "rounds.deadline"));
    }
    assert_eq!(ints.into_iter().collect::<Vec<_>>(), ["5", "6", "7"]);
    assert_eq!(choices.into_iter().collect::<Vec<_>>(), ["10m", "5m"]);
    // Log-uniform over three decades: about as many below 100 as above.
    let below = logs.iter().filter(|&&l| l < 2.5).count();
    assert!((15..=35).contains(&below), "{below} of 50 below 10^2.5");
}

#[test]
fn bad_sweep_files_are_refused_with_the_field_and_cell() {
    let refused = |name: &str, text: &str| -> String {
        let file = sweep_file(name, text);
        let o = sweep(&file, &scratch(&format!("{name}-out")), &[]);
        assert_eq!(
            o.status.code(),
            Some(2),
            "{}",
            String::from_utf8_lossy(&o.stderr)
        );
        String::from_utf8_lossy(&o.stderr).into_owned()
    };
    let e = refused(
        "sweep-bad-value",
        "scenario: SCENARIOS/quickstart.yaml\ngrid:\n  rounds.clients_per_round: [10, -3]\n",
    );
    assert!(
        e.contains("cell 1 (rounds.clients_per_round=-3) is invalid"),
        "{e}"
    );
    assert!(e.contains("--set rounds.clients_per_round=-3"), "{e}");
    let e = refused(
        "sweep-bad-zip",
        "scenario: SCENARIOS/quickstart.yaml\nzip:\n  - { rounds.count: [1, 2], horizon: [1d] }\n",
    );
    assert!(e.contains("zipped lists must have equal lengths"), "{e}");
    let e = refused(
        "sweep-bad-field",
        "scenario: SCENARIOS/quickstart.yaml\nreplicate: 3\n",
    );
    assert!(
        e.contains(":2:1: replicate: unknown field `replicate`"),
        "{e}"
    );
    let e = refused(
        "sweep-twice",
        "scenario: SCENARIOS/quickstart.yaml\nset: { rounds.count: 2 }\ngrid: { rounds.count: [1, 2] }\n",
    );
    assert!(
        e.contains("`rounds.count` is set or varied more than once"),
        "{e}"
    );
    let e = refused(
        "sweep-bad-sampler",
        "scenario: SCENARIOS/quickstart.yaml\nrandom: { samples: 2, fields: { rounds.count: { log_uniform: [0, 5] } } }\n",
    );
    assert!(e.contains("log_uniform needs 0 < low < high"), "{e}");
}

/// The small sweep the remaining tests share: 2 cells × 2 replicates of
/// the free-riders scenario, cut short.
const FREE_RIDERS: &str = "scenario: SCENARIOS/free-riders.yaml
set: { rounds.count: 6, horizon: 1d }
grid:
  verification.strategy:
    - { spot_check: { p: 0.05 } }
    - { spot_check: { p: 0.5 } }
replicates: 2
";

/// Every `.arrow` file under `dir`, relative path → bytes.
fn arrow_files(dir: &Path) -> std::collections::BTreeMap<String, Vec<u8>> {
    let mut out = std::collections::BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x == "arrow") {
                let rel = p.strip_prefix(dir).unwrap().display().to_string();
                out.insert(rel, std::fs::read(&p).unwrap());
            }
        }
    }
    out
}

fn strings(batch: &RecordBatch, name: &str) -> Vec<String> {
    let a = crate::support::column::<StringArray>(batch, name);
    (0..a.len()).map(|i| a.value(i).to_string()).collect()
}

#[test]
fn a_run_inside_a_sweep_equals_the_same_run_alone() {
    let file = sweep_file("sweep-alone", FREE_RIDERS);
    let out = scratch("sweep-alone-out");
    sweep_ok(&file, &out, &["--jobs", "2"]);
    let runs = &read_arrow(&out.join("runs.arrow"))[0];
    assert_eq!(strings(runs, "status"), ["ok"; 4]);
    // Run 3: cell 1, replicate 1, redone alone from its recorded overrides.
    let overrides = runs
        .column_by_name("overrides")
        .unwrap()
        .as_any()
        .downcast_ref::<arrow_array::ListArray>()
        .unwrap()
        .value(3);
    let overrides = overrides.as_any().downcast_ref::<StringArray>().unwrap();
    let mut extra = Vec::new();
    for i in 0..overrides.len() {
        extra.push("--set".to_string());
        extra.push(overrides.value(i).to_string());
    }
    assert!(extra.contains(&"seed=14".to_string()), "{extra:?}");
    let alone = scratch("sweep-alone-run");
    let extra: Vec<&str> = extra.iter().map(String::as_str).collect();
    run_ok("scenarios/free-riders.yaml", &alone, &extra, &[]);
    for table in [
        "rounds",
        "nodes",
        "epochs",
        "ledger",
        "offences",
        "behaviours",
    ] {
        let in_sweep = read_arrow(&out.join(table).join("run-000003.arrow"));
        let by_itself = read_arrow(&alone.join(format!("{table}.arrow")));
        assert_eq!(in_sweep.len(), by_itself.len(), "{table}");
        for (s, a) in in_sweep.iter().zip(&by_itself) {
            // The sweep's batches lead with run_id and the swept field.
            assert_eq!(s.schema().field(0).name(), "run_id");
            assert_eq!(s.schema().field(1).name(), "verification.strategy");
            assert_eq!(
                strings(s, "verification.strategy")[0],
                "{spot_check: {p: 0.5}}"
            );
            let rest = s
                .project(&(2..s.num_columns()).collect::<Vec<_>>())
                .unwrap();
            assert_eq!(&rest, a, "{table}");
        }
    }
}

#[test]
fn shards_run_apart_and_merged_equal_the_unsharded_sweep_byte_for_byte() {
    let file = sweep_file("sweep-shards", FREE_RIDERS);
    let whole = scratch("sweep-shards-whole");
    sweep_ok(&file, &whole, &["--jobs", "2"]);
    let mut shard_dirs = Vec::new();
    for i in 0..3 {
        let d = scratch(&format!("sweep-shards-{i}"));
        sweep_ok(&file, &d, &["--shard", &format!("{i}/3"), "--jobs", "1"]);
        shard_dirs.push(d);
    }
    // Shard 0 of 3 holds runs 0 and 3.
    let r0 = &read_arrow(&shard_dirs[0].join("runs.arrow"))[0];
    assert_eq!(
        crate::support::column::<arrow_array::UInt32Array>(r0, "run_id")
            .values()
            .to_vec(),
        vec![0, 3]
    );
    let merged = scratch("sweep-shards-merged");
    let mut args = vec!["sweep", "merge"];
    args.extend(shard_dirs.iter().map(|d| d.to_str().unwrap()));
    args.extend(["--out", merged.to_str().unwrap()]);
    let o = dmlsim(&args, &[]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let a = arrow_files(&whole);
    let b = arrow_files(&merged);
    assert_eq!(a.keys().collect::<Vec<_>>(), b.keys().collect::<Vec<_>>());
    assert!(a.contains_key("runs.arrow") && a.contains_key("summary.arrow"));
    assert!(a.contains_key("rounds/run-000003.arrow"));
    for (name, bytes) in &a {
        assert!(
            bytes == &b[name],
            "{name} differs between merged and unsharded"
        );
    }
    // Merging only some shards marks the others' runs missing.
    let partial = scratch("sweep-shards-partial");
    let o = dmlsim(
        &[
            "sweep",
            "merge",
            shard_dirs[0].to_str().unwrap(),
            "--out",
            partial.to_str().unwrap(),
        ],
        &[],
    );
    assert!(o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("shards [1, 2] were not given"));
    let runs = &read_arrow(&partial.join("runs.arrow"))[0];
    assert_eq!(strings(runs, "status"), ["ok", "missing", "missing", "ok"]);
}

#[test]
fn a_rerun_resumes_skipping_complete_runs_and_redoing_partial_ones() {
    let file = sweep_file("sweep-resume", FREE_RIDERS);
    let out = scratch("sweep-resume-out");
    sweep_ok(&file, &out, &[]);
    let before = arrow_files(&out);
    let run1 = out.join("rounds/run-000001.arrow");
    let stamp = |p: &Path| std::fs::metadata(p).unwrap().modified().unwrap();
    let run1_time = stamp(&run1);
    // Run 2 lost a table (a killed sweep); run 0 lost its record.
    std::fs::remove_file(out.join("epochs/run-000002.arrow")).unwrap();
    std::fs::remove_file(out.join("runs/run-000000.json")).unwrap();
    std::fs::create_dir_all(out.join(".work/run-000003")).unwrap();
    let text = dmlsim(
        &[
            "sweep",
            file.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
        ],
        &[],
    );
    let said = String::from_utf8_lossy(&text.stderr);
    assert!(text.status.success(), "{said}");
    assert!(
        said.contains("2 runs done, 0 failed, 2 already complete, of 4"),
        "{said}"
    );
    assert_eq!(stamp(&run1), run1_time, "a complete run is not redone");
    assert_eq!(
        arrow_files(&out),
        before,
        "the resumed sweep equals the first"
    );
    assert!(!out.join(".work").exists());
    // Another sweep is refused in the same folder.
    let other = sweep_file(
        "sweep-resume-other",
        &FREE_RIDERS.replace("replicates: 2", "replicates: 3"),
    );
    let o = sweep(&other, &out, &[]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("holds another sweep"));
    // So is a folder holding someone's files.
    let foreign = scratch("sweep-foreign");
    std::fs::write(foreign.join("notes.txt"), "mine").unwrap();
    let o = sweep(&file, &foreign, &[]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("it holds `notes.txt`"));
}

#[test]
fn a_failed_run_is_recorded_and_the_others_complete() {
    let file = sweep_file(
        "sweep-failed",
        "scenario: SCENARIOS/free-riders.yaml
set: { rounds.count: 3, horizon: 1d }
grid:
  learning.dataset: [digits, { csv: { path: no-such-file.csv, label: y } }]
",
    );
    let out = scratch("sweep-failed-out");
    let o = sweep(&file, &out, &[]);
    assert_eq!(
        o.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let said = String::from_utf8_lossy(&o.stderr);
    assert!(
        said.contains("run 1 failed:") && said.contains("no-such-file.csv"),
        "{said}"
    );
    let runs = &read_arrow(&out.join("runs.arrow"))[0];
    assert_eq!(strings(runs, "status"), ["ok", "failed"]);
    let errors = crate::support::column::<StringArray>(runs, "error");
    assert!(errors.is_null(0) && errors.value(1).contains("no-such-file.csv"));
    assert!(out.join("rounds/run-000000.arrow").exists());
    assert!(!out.join("rounds/run-000001.arrow").exists());
    // The summary counts the cell's runs and its successful ones.
    let summary = &read_arrow(&out.join("summary.arrow"))[0];
    let ok = crate::support::column::<arrow_array::UInt32Array>(summary, "runs_ok");
    let cells = crate::support::column::<arrow_array::UInt32Array>(summary, "cell");
    for i in 0..summary.num_rows() {
        assert_eq!(ok.value(i), u32::from(cells.value(i) == 0));
    }
}

#[test]
fn summary_rows_hold_the_mean_sd_and_interval_of_the_replicates() {
    let file = sweep_file("sweep-summary", FREE_RIDERS);
    let out = scratch("sweep-summary-out");
    sweep_ok(&file, &out, &[]);
    let runs = &read_arrow(&out.join("runs.arrow"))[0];
    let supply = crate::support::f64_col(runs, "economy.supply_tokens");
    let summary = &read_arrow(&out.join("summary.arrow"))[0];
    let metric = strings(summary, "metric");
    let cells = crate::support::column::<arrow_array::UInt32Array>(summary, "cell");
    let row = (0..summary.num_rows())
        .find(|&i| metric[i] == "economy.supply_tokens" && cells.value(i) == 1)
        .unwrap();
    let get = |name: &str| crate::support::f64_col(summary, name)[row];
    let (a, b) = (supply[2], supply[3]);
    let mean = (a + b) / 2.0;
    let sd = ((a - mean).powi(2) + (b - mean).powi(2)).sqrt();
    assert!((get("mean") - mean).abs() < 1e-9);
    assert!((get("sd") - sd).abs() < 1e-9);
    let half = 12.706_204_736 * sd / 2f64.sqrt();
    assert!((get("ci95_high") - (mean + half)).abs() < 1e-6);
    assert!((get("ci95_low") - (mean - half)).abs() < 1e-6);
}

#[test]
fn deploy_scripts_shard_and_merge() {
    // The shipped Slurm and Kubernetes jobs, run here with the environment
    // their schedulers set; merged, each equals the unsharded sweep.
    let file = sweep_file("sweep-deploy", FREE_RIDERS);
    let whole = scratch("sweep-deploy-whole");
    sweep_ok(&file, &whole, &[]);
    let bin_dir = Path::new(env!("CARGO_BIN_EXE_dmlsim")).parent().unwrap();
    let path = format!("{}:{}", bin_dir.display(), std::env::var("PATH").unwrap());
    let sh = |script: &str, env: &[(&str, &str)]| {
        let o = std::process::Command::new("bash")
            .args(["-c", script])
            .current_dir(repo())
            .env("PATH", &path)
            .envs(env.iter().copied())
            .output()
            .unwrap();
        assert!(
            o.status.success(),
            "{script}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
    };
    // Slurm: one array task per shard, then the merge job.
    let slurm = scratch("sweep-deploy-slurm");
    for i in ["0", "1", "2"] {
        sh(
            "deploy/slurm/sweep.sbatch",
            &[
                ("SWEEP", file.to_str().unwrap()),
                ("OUT", slurm.to_str().unwrap()),
                ("SLURM_ARRAY_TASK_ID", i),
                ("SLURM_ARRAY_TASK_COUNT", "3"),
                ("SLURM_CPUS_PER_TASK", "1"),
            ],
        );
    }
    sh(
        "deploy/slurm/merge.sbatch",
        &[("OUT", slurm.to_str().unwrap())],
    );
    assert_eq!(arrow_files(&slurm.join("merged")), arrow_files(&whole));
    // Kubernetes: each pod's command with its completion index, the
    // volumes mounted at test folders.
    let k8s = scratch("sweep-deploy-k8s");
    let container = |manifest: &str| -> (String, Vec<(String, String)>) {
        let text =
            std::fs::read_to_string(repo().join("deploy/kubernetes").join(manifest)).unwrap();
        let job: serde_yaml_ng::Value = serde_yaml_ng::from_str(&text).unwrap();
        let c = &job["spec"]["template"]["spec"]["containers"][0];
        let args = c["args"][0].as_str().unwrap();
        let command = args
            .replace("/sweep/sweep.yaml", file.to_str().unwrap())
            .replace("/results", k8s.to_str().unwrap());
        let env = c["env"]
            .as_sequence()
            .map(|e| {
                e.iter()
                    .map(|v| {
                        (
                            v["name"].as_str().unwrap().to_string(),
                            v["value"].as_str().unwrap().to_string(),
                        )
                    })
                    .collect()
            })
            .unwrap_or_default();
        (command, env)
    };
    let (command, env) = container("sweep-job.yaml");
    let job: serde_yaml_ng::Value = serde_yaml_ng::from_str(
        &std::fs::read_to_string(repo().join("deploy/kubernetes/sweep-job.yaml")).unwrap(),
    )
    .unwrap();
    let completions = job["spec"]["completions"].as_u64().unwrap();
    assert_eq!(env, [("SHARDS".to_string(), completions.to_string())]);
    // Fewer pods than the manifest's 8 would leave runs missing; 8 shards
    // of 4 runs leave four shards empty, which is fine.
    for i in 0..completions {
        let index = i.to_string();
        let mut vars: Vec<(&str, &str)> =
            env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        vars.push(("JOB_COMPLETION_INDEX", &index));
        sh(&command, &vars);
    }
    let (merge_command, _) = container("merge-job.yaml");
    sh(&merge_command, &[]);
    assert_eq!(arrow_files(&k8s.join("merged")), arrow_files(&whole));
}

#[test]
fn the_documented_example_sweep_is_valid_and_expands_as_documented() {
    let doc = std::fs::read_to_string(repo().join("docs/sweeps.md")).unwrap();
    let start = doc.find("```yaml\n").unwrap() + 8;
    let text = &doc[start..start + doc[start..].find("```").unwrap()];
    let file = sweep_file("sweep-doc", &text.replace("../scenarios/", "SCENARIOS/"));
    let runs = listed(&file);
    // 2 emission × 2 price × 2 zipped × 4 random points, 3 replicates.
    assert_eq!(runs.len(), 2 * 2 * 2 * 4 * 3);
    assert!(
        runs[1].ends_with("--set 'seeds.price=14' --set 'seeds.selection=14'"),
        "{}",
        runs[1]
    );
}

#[test]
fn the_figures_quoted_in_the_docs_are_what_the_simulator_gives() {
    // docs/verification.md, docs/economics.md and docs/learning.md quote tables computed by
    // dmlsim-doc-figures from sweeps; --check fails when they are stale.
    let work = scratch("doc-figures");
    let o = std::process::Command::new(env!("CARGO_BIN_EXE_dmlsim-doc-figures"))
        .arg("--check")
        .env("DMLSIM_DOC_FIGURES_DIR", &work)
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{said}");
    assert!(
        said.contains("free-riders-p: docs/verification.md is current"),
        "{said}"
    );
    assert!(
        said.contains("reward-curves-budget: docs/economics.md is current"),
        "{said}"
    );
}
