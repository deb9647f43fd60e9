//! Helpers shared by the end-to-end tests.

use arrow_array::RecordBatch;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The repository root.
pub fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

/// A fresh, empty folder for one test's output.
pub fn scratch(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Runs the `dmlsim` binary with arguments and extra environment.
pub fn dmlsim(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_dmlsim"));
    cmd.args(args).current_dir(repo());
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().expect("dmlsim runs")
}

/// Runs a scenario into `out` and asserts success.
pub fn run_ok(scenario: &str, out: &Path, extra: &[&str], env: &[(&str, &str)]) {
    let mut args = vec!["run", scenario, "--out", out.to_str().unwrap(), "--quiet"];
    args.extend_from_slice(extra);
    let o = dmlsim(&args, env);
    assert!(
        o.status.success(),
        "dmlsim run failed: {}",
        String::from_utf8_lossy(&o.stderr)
    );
}

/// Runs a scenario with `--set` flags into a fresh folder named `name`;
/// returns the folder.
pub fn run_with_sets(scenario: &str, name: &str, sets: &[&str]) -> PathBuf {
    let out = scratch(name);
    let mut extra = Vec::new();
    for s in sets {
        extra.extend(["--set", s]);
    }
    run_ok(scenario, &out, &extra, &[]);
    out
}

/// A run's `run.json`.
pub fn run_json(out: &Path) -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(out.join("run.json")).unwrap()).unwrap()
}

/// Reads every batch of an Arrow IPC file.
pub fn read_arrow(path: &Path) -> Vec<RecordBatch> {
    let file = std::fs::File::open(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    arrow_ipc::reader::FileReader::try_new(file, None)
        .unwrap()
        .map(|b| b.unwrap())
        .collect()
}

/// A float column of the first batch.
pub fn f64_col(batch: &RecordBatch, name: &str) -> Vec<f64> {
    let col = batch
        .column_by_name(name)
        .unwrap_or_else(|| panic!("column {name}"));
    col.as_any()
        .downcast_ref::<arrow_array::Float64Array>()
        .unwrap()
        .values()
        .to_vec()
}

/// Runs a shipped scenario with text replacements (each must match) into a
/// fresh folder named `name`; returns the output folder.
pub fn run_variant(scenario: &str, replacements: &[(&str, &str)], name: &str) -> PathBuf {
    let mut text = std::fs::read_to_string(repo().join(scenario)).unwrap();
    for (from, to) in replacements {
        assert!(text.contains(from), "`{from}` not in {scenario}");
        text = text.replace(from, to);
    }
    let dir = scratch(name);
    let path = dir.join("scenario.yaml");
    std::fs::write(&path, text).unwrap();
    run_ok(path.to_str().unwrap(), &dir.join("out"), &[], &[]);
    dir.join("out")
}

/// A typed column of a batch, by name.
pub fn column<'a, T: 'static>(batch: &'a RecordBatch, name: &str) -> &'a T {
    batch
        .column_by_name(name)
        .unwrap_or_else(|| panic!("column {name}"))
        .as_any()
        .downcast_ref::<T>()
        .unwrap_or_else(|| panic!("column {name} has another type"))
}

/// Asserts that `run.json`'s manifest lists exactly the folder's other
/// files, each with its true size and SHA-256, and that the folder holds
/// nothing else (no temporary file).
pub fn assert_manifest_agrees(out: &Path) {
    let info = run_json(out);
    let mut listed: Vec<String> = Vec::new();
    for f in info["files"].as_array().expect("run.json lists files") {
        let name = f["name"].as_str().unwrap();
        let bytes = std::fs::read(out.join(name)).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(f["bytes"].as_u64(), Some(bytes.len() as u64), "{name}");
        assert_eq!(
            f["sha256"].as_str(),
            Some(sha256_hex(&bytes).as_str()),
            "{name}"
        );
        listed.push(name.to_string());
    }
    listed.push("run.json".into());
    listed.sort();
    let mut present: Vec<String> = std::fs::read_dir(out)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    present.sort();
    assert_eq!(present, listed, "{}", out.display());
}

/// Hex SHA-256 of bytes, as run.json writes digests.
pub fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Writes a sweep of the free-riders scenario (`body` follows the
/// `scenario:` line) into a fresh folder `name`, runs it into `name/out`
/// and asserts success; returns the sweep folder.
pub fn free_riders_sweep(name: &str, body: &str) -> PathBuf {
    scenario_sweep_ok(name, "scenarios/free-riders.yaml", body, &[])
}

/// `dmlsim sweep FILE --out OUT --quiet EXTRA…`.
pub fn sweep(file: &Path, out: &Path, extra: &[&str]) -> Output {
    let mut args = vec![
        "sweep",
        file.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--quiet",
    ];
    args.extend_from_slice(extra);
    dmlsim(&args, &[])
}

/// Writes a sweep of `scenario` (a path in the repository; `body` follows
/// the `scenario:` line) into a fresh folder `name`, runs it into
/// `name/out` with the `extra` flags and asserts success; returns the
/// sweep folder.
pub fn scenario_sweep_ok(name: &str, scenario: &str, body: &str, extra: &[&str]) -> PathBuf {
    let dir = scratch(name);
    let file = dir.join("sweep.yaml");
    let scenario = repo().join(scenario);
    std::fs::write(&file, format!("scenario: {}\n{body}", scenario.display())).unwrap();
    let out = dir.join("out");
    let o = sweep(&file, &out, extra);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    out
}

pub fn line_of(text: &str, needle: &str) -> usize {
    text.lines()
        .position(|l| l.contains(needle))
        .unwrap_or_else(|| panic!("{needle} not found"))
        + 1
}

/// Validates `text`, expecting exit 2 and a message naming `path` at the
/// line containing `marker`, with `expect` in it.
pub fn expect_problem(name: &str, text: &str, path: &str, marker: &str, expect: &str) {
    let dir = scratch(&format!("validate-{name}"));
    let file = dir.join("bad.yaml");
    std::fs::write(&file, text).unwrap();
    let o = dmlsim(&["validate", file.to_str().unwrap()], &[]);
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{name}: {stderr}");
    let line = line_of(text, marker);
    let wanted = format!("{}:{line}:", file.display());
    let hit = stderr.lines().find(|l| l.contains(&format!(": {path}: ")));
    let hit = hit.unwrap_or_else(|| panic!("{name}: no problem at `{path}` in:\n{stderr}"));
    assert!(
        hit.starts_with(&wanted),
        "{name}: expected {wanted} in `{hit}`"
    );
    assert!(
        hit.contains(expect),
        "{name}: expected `{expect}` in `{hit}`"
    );
}

/// A bad-scenario case: name, text to replace (once), replacement, field
/// path, line marker, message fragment (see [`expect_problem`]).
pub type Mutation<'a> = (&'a str, &'a str, &'a str, &'a str, &'a str, &'a str);

/// Checks each mutation of `base` with [`expect_problem`]; the replaced
/// text must occur exactly once in `base`.
pub fn expect_mutations(base: &str, cases: &[Mutation]) {
    for (name, from, to, path, marker, expect) in cases {
        assert_eq!(base.matches(from).count(), 1, "`{from}` must occur once");
        expect_problem(name, &base.replacen(from, to, 1), path, marker, expect);
    }
}
