//! Output integrity: `--out` always holds exactly one whole run whose
//! `run.json` lists every table with its size and SHA-256 — after reruns,
//! refusals, kills, interrupts and concurrent runs.

use super::support::*;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Starts a run that would take hours (a million quickstart rounds) into
/// `out`, with extra arguments.
fn start_long_run(out: &Path, extra: &[&str]) -> Child {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_dmlsim"));
    cmd.args(["run", "scenarios/quickstart.yaml", "--quiet", "--out"])
        .arg(out)
        .args(["--set", "rounds.count=1000000", "--set", "horizon=10000d"])
        .args(extra)
        .current_dir(repo())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    cmd.spawn().expect("dmlsim starts")
}

/// Waits until `path` exists (the run has claimed its folder).
fn wait_for(path: &Path) {
    let start = Instant::now();
    while !path.exists() {
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "{} never appeared",
            path.display()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn signal(child: &Child, sig: &str) {
    let ok = Command::new("kill")
        .args([sig, &child.id().to_string()])
        .status()
        .unwrap();
    assert!(ok.success());
}

/// Runs the quickstart into `out`, expecting a refusal (exit 2) before
/// anything is simulated; returns what stderr said.
fn refused(out: &Path) -> String {
    let o = dmlsim(
        &[
            "run",
            "scenarios/quickstart.yaml",
            "--out",
            out.to_str().unwrap(),
        ],
        &[],
    );
    let stderr = String::from_utf8_lossy(&o.stderr).to_string();
    assert_eq!(o.status.code(), Some(2), "{stderr}");
    stderr
}

fn names(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    v.sort();
    v
}

#[test]
fn a_rerun_replaces_the_folder_and_its_manifest_lists_every_file() {
    // Stale ledger.arrow of an economics run stayed beside a timing run's tables.
    let dir = scratch("integrity-rerun");
    let out = dir.join("out");
    run_ok("scenarios/reward-curves.yaml", &out, &[], &[]);
    assert!(out.join("ledger.arrow").exists());
    assert_manifest_agrees(&out);
    run_ok("scenarios/quickstart.yaml", &out, &[], &[]);
    assert_eq!(names(&out), ["nodes.arrow", "rounds.arrow", "run.json"]);
    assert_manifest_agrees(&out);
    assert_eq!(names(&dir), ["out"], "no lock, staging or old folder left");
}

#[test]
fn a_folder_with_foreign_files_or_an_unusable_path_is_refused_before_simulating() {
    let dir = scratch("integrity-foreign");
    let out = dir.join("out");
    std::fs::create_dir(&out).unwrap();
    std::fs::write(out.join("analysis.ipynb"), "mine").unwrap();
    let stderr = refused(&out);
    assert!(
        stderr.contains("refusing to replace") && stderr.contains("`analysis.ipynb`"),
        "{stderr}"
    );
    assert_eq!(names(&out), ["analysis.ipynb"]);
    // A path through a file cannot be written; said before simulating.
    let stderr = refused(&dir.join("out/analysis.ipynb/run"));
    assert!(
        stderr.contains("cannot write") && stderr.contains("analysis.ipynb"),
        "{stderr}"
    );
}

#[cfg(unix)]
#[test]
fn ctrl_c_writes_what_is_complete_and_a_second_run_is_refused_meanwhile() {
    let dir = scratch("integrity-interrupt");
    let out = dir.join("out");
    let child = start_long_run(&out, &[]);
    wait_for(&dir.join(".out.dmlsim-new"));
    // Another run into the same folder is refused while the first writes.
    let stderr = refused(&out);
    assert!(
        stderr.contains("is being written by another dmlsim run")
            && stderr.contains(&format!("pid {}", child.id())),
        "{stderr}"
    );
    std::thread::sleep(Duration::from_millis(300));
    signal(&child, "-INT");
    let o = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(130), "{stderr}");
    assert!(stderr.contains("stopped early (interrupted)"), "{stderr}");
    let info = run_json(&out);
    assert_eq!(info["stopped_by"], "interrupted");
    let done = info["rounds_completed"].as_u64().unwrap();
    assert!(done < 1_000_000);
    assert_manifest_agrees(&out);
    let rows: usize = read_arrow(&out.join("rounds.arrow"))
        .iter()
        .map(|b| b.num_rows())
        .sum();
    assert_eq!(rows as u64, done, "every closed round is written");
    assert_eq!(names(&dir), ["out"]);
}

#[cfg(unix)]
#[test]
fn a_second_ctrl_c_aborts_and_leaves_the_previous_run_whole() {
    let dir = scratch("integrity-abort");
    let out = dir.join("out");
    run_ok("scenarios/reward-curves.yaml", &out, &[], &[]);
    let before = std::fs::read(out.join("run.json")).unwrap();
    let child = start_long_run(&out, &[]);
    wait_for(&dir.join(".out.dmlsim-new"));
    signal(&child, "-INT");
    std::thread::sleep(Duration::from_millis(30));
    signal(&child, "-INT");
    let o = child.wait_with_output().unwrap();
    assert_eq!(o.status.code(), Some(130));
    // Either the first press finished writing before the second (a whole
    // interrupted run) or the abort left the previous run as it was.
    let info = run_json(&out);
    if info["stopped_by"] != "interrupted" {
        assert_eq!(std::fs::read(out.join("run.json")).unwrap(), before);
    }
    assert_manifest_agrees(&out);
    assert_eq!(names(&dir), ["out"], "no staging folder or lock left");
}

#[cfg(unix)]
#[test]
fn a_killed_run_leaves_the_previous_run_whole_and_the_next_run_sweeps_up() {
    let dir = scratch("integrity-kill");
    let out = dir.join("out");
    run_ok("scenarios/quickstart.yaml", &out, &[], &[]);
    let before = std::fs::read(out.join("run.json")).unwrap();
    let mut child = start_long_run(&out, &[]);
    wait_for(&dir.join(".out.dmlsim-new"));
    std::thread::sleep(Duration::from_millis(300));
    signal(&child, "-KILL");
    child.wait().unwrap();
    assert_eq!(std::fs::read(out.join("run.json")).unwrap(), before);
    assert_manifest_agrees(&out);
    // The killed run's lock is free (the kernel released it) and its
    // staging folder is removed by the next run.
    run_ok("scenarios/quickstart.yaml", &out, &["--seed", "7"], &[]);
    assert_eq!(run_json(&out)["seed"], 7);
    assert_manifest_agrees(&out);
    assert_eq!(names(&dir), ["out"]);
}

#[test]
fn event_and_wall_budgets_stop_a_run_cleanly() {
    let dir = scratch("integrity-budgets");
    let out = dir.join("events");
    let mut child = start_long_run(&out, &["--max-events", "50000"]);
    assert!(child.wait().unwrap().success());
    let info = run_json(&out);
    assert_eq!(info["stopped_by"], "max_events");
    assert_eq!(info["events"], 50_000);
    assert_manifest_agrees(&out);
    let out = dir.join("wall");
    let mut child = start_long_run(&out, &["--max-wall", "1s"]);
    assert!(child.wait().unwrap().success());
    let info = run_json(&out);
    assert_eq!(info["stopped_by"], "max_wall");
    assert!(info["wall_s"].as_f64().unwrap() < 30.0);
    assert_manifest_agrees(&out);
}

#[cfg(unix)]
#[test]
fn a_full_disk_leaves_the_previous_run_whole_and_names_the_file() {
    // After a full disk, new tables sat next to an old run.json. A file-size
    // limit (with SIGXFSZ ignored, writes fail with EFBIG) stands in for it.
    let dir = scratch("integrity-full-disk");
    let out = dir.join("out");
    run_ok("scenarios/quickstart.yaml", &out, &[], &[]);
    let before = std::fs::read(out.join("run.json")).unwrap();
    let o = Command::new("bash")
        .arg("-c")
        .arg(format!(
            "ulimit -f 64; trap '' XFSZ; exec '{}' run scenarios/reward-curves.yaml --out '{}' -q",
            env!("CARGO_BIN_EXE_dmlsim"),
            out.display()
        ))
        .current_dir(repo())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("cannot write") && stderr.contains(".arrow"),
        "the error names the file: {stderr}"
    );
    assert_eq!(std::fs::read(out.join("run.json")).unwrap(), before);
    assert_manifest_agrees(&out);
    assert_eq!(names(&dir), ["out"], "no staging folder left");
}

#[test]
fn progress_is_reported_after_every_round() {
    // Progress came every 200,000 events: a learning run showed `round
    // 0/200` for a minute and a half.
    let loaded =
        dmlsim::scenario::load_scenario_with(&repo().join("scenarios/digits-iid.yaml"), &[])
            .unwrap();
    let opts = dmlsim::run::RunOptions {
        out: scratch("integrity-progress").join("out"),
        ..Default::default()
    };
    let mut seen = Vec::new();
    let info =
        dmlsim::run::run_scenario(&loaded, &opts, &mut |done, _, _| seen.push(done)).unwrap();
    let rounds = info.rounds_completed;
    for r in 1..=rounds {
        assert!(
            seen.contains(&r),
            "no progress report at round {r}: {seen:?}"
        );
    }
}
