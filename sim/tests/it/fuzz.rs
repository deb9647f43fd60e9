//! The structured fuzzer: mutates the values of the shipped scenarios
//! (numbers pushed to extremes, strings swapped, fields removed, lists
//! emptied or grown), then validates each and runs the accepted ones under
//! an event budget, asserting: no panic, no non-finite number in any output
//! table (loss columns of a run that reports divergence excepted), every
//! decimal within Decimal128(38, 0), supply = minted − burned in every
//! epoch, and a manifest that agrees with the folder.
//!
//! CI runs `DMLSIM_FUZZ_CASES` cases (default 300); run longer with e.g.
//! `DMLSIM_FUZZ_CASES=10000 DMLSIM_FUZZ_SEED=7 cargo test --release -p dmlsim
//! --test it fuzz -- --nocapture`. A failing case is written to
//! `target/tmp/fuzz-findings/` with the reason; keep it as a regression in
//! `sim/tests/fuzz-regressions/` (every file there is replayed first).

use super::support::*;
use dmlsim::engine::rng::stream;
use dmlsim::run::{RunError, RunOptions, run_scenario};
use dmlsim::scenario::{LoadedScenario, parse_scenario_with};
use rand::RngExt;
use serde_yaml_ng::Value;
use std::path::{Path, PathBuf};

const SCENARIOS: [&str; 9] = [
    "quickstart",
    "global-10k",
    "digits-iid",
    "digits-dirichlet",
    "poisoning-vs-robust",
    "reward-curves",
    "cloud-parity",
    "free-riders",
    "collusion",
];

/// Replacement numbers: edges of types and ranges, and ordinary values.
const NUMBERS: [f64; 16] = [
    0.0,
    -1.0,
    1.0,
    2.0,
    0.5,
    1e-9,
    1e-300,
    1e9,
    1e20,
    1e300,
    4294967295.0,
    65536.0,
    3.0,
    100.0,
    -1e20,
    0.999,
];
/// Replacement strings: durations, sizes, names, junk.
const STRINGS: [&str; 12] = [
    "", "1ms", "0s", "1e30", "10m", "1d", "100 MB", "0 B", "x", "us-east", "gamer", "NaN",
];

/// Every path to a scalar in a YAML tree.
fn leaves(v: &Value, path: &mut Vec<PathStep>, out: &mut Vec<Vec<PathStep>>) {
    match v {
        Value::Mapping(m) => {
            for (k, child) in m {
                path.push(PathStep::Key(k.clone()));
                out.push(path.clone());
                leaves(child, path, out);
                path.pop();
            }
        }
        Value::Sequence(s) => {
            for (i, child) in s.iter().enumerate() {
                path.push(PathStep::Index(i));
                out.push(path.clone());
                leaves(child, path, out);
                path.pop();
            }
        }
        _ => {}
    }
}

#[derive(Clone, Debug)]
enum PathStep {
    Key(Value),
    Index(usize),
}

fn at<'a>(v: &'a mut Value, path: &[PathStep]) -> Option<&'a mut Value> {
    let mut cur = v;
    for step in path {
        cur = match (step, cur) {
            (PathStep::Key(k), Value::Mapping(m)) => m.get_mut(k)?,
            (PathStep::Index(i), Value::Sequence(s)) => s.get_mut(*i)?,
            _ => return None,
        };
    }
    Some(cur)
}

/// Applies one to three random mutations to a scenario document.
fn mutate(doc: &mut Value, rng: &mut impl RngExt) {
    for _ in 0..rng.random_range(1..=3) {
        let mut paths = Vec::new();
        leaves(doc, &mut Vec::new(), &mut paths);
        if paths.is_empty() {
            return;
        }
        let path = paths[rng.random_range(0..paths.len())].clone();
        let choice = rng.random_range(0..10);
        if choice == 0 {
            // Remove the field or list element.
            let (last, parent) = path.split_last().expect("non-empty");
            match (last, at(doc, parent)) {
                (PathStep::Key(k), Some(Value::Mapping(m))) => {
                    m.remove(k);
                }
                (PathStep::Index(i), Some(Value::Sequence(s))) => {
                    s.remove(*i);
                }
                _ => {}
            }
            continue;
        }
        let Some(target) = at(doc, &path) else {
            continue;
        };
        *target = match (choice, &*target) {
            (1, Value::Sequence(s)) if !s.is_empty() => {
                // Grow a list by repeating an element.
                let mut s = s.clone();
                s.push(s[rng.random_range(0..s.len())].clone());
                Value::Sequence(s)
            }
            (2, Value::Sequence(_)) => Value::Sequence(Vec::new()),
            (_, Value::Number(n)) if choice < 6 => {
                // Mostly plausible changes (which run), sometimes extremes.
                let x = n.as_f64().unwrap_or(1.0);
                let factors: [f64; 11] =
                    [0.5, 2.0, 10.0, 0.1, 1.5, 0.9, 0.0, -1.0, 1e-6, 1e6, 1e30];
                let f = factors[rng.random_range(0..factors.len())];
                if x.fract() == 0.0 && f.abs() >= 1.0 && (x * f).abs() < 9e15 {
                    Value::from((x * f) as i64)
                } else {
                    Value::from(x * f)
                }
            }
            (_, Value::String(_)) if choice < 8 => {
                Value::from(STRINGS[rng.random_range(0..STRINGS.len())])
            }
            (_, Value::Bool(b)) => Value::Bool(!b),
            _ => Value::from(NUMBERS[rng.random_range(0..NUMBERS.len())]),
        };
    }
}

/// Why a case's outputs are wrong, if they are.
fn check_outputs(out: &Path) -> Result<(), String> {
    use arrow_array::{Array, Decimal128Array, Float64Array};
    let info = run_json(out);
    let diverged = info["learning"].get("diverged_at_round").is_some();
    for f in info["files"].as_array().ok_or("run.json lists no files")? {
        let name = f["name"].as_str().ok_or("a file without a name")?;
        let len = std::fs::metadata(out.join(name))
            .map_err(|e| format!("{name}: {e}"))?
            .len();
        if Some(len) != f["bytes"].as_u64() {
            return Err(format!("{name}: {len} bytes, run.json says {}", f["bytes"]));
        }
        for batch in read_arrow(&out.join(name)) {
            for (field, col) in batch.schema().fields().iter().zip(batch.columns()) {
                let col_name = field.name();
                if let Some(x) = col.as_any().downcast_ref::<Float64Array>() {
                    let loss = matches!(
                        col_name.as_str(),
                        "test_loss" | "test_accuracy" | "train_loss"
                    );
                    if !(diverged && loss) && x.iter().flatten().any(|v| !v.is_finite()) {
                        return Err(format!("{name}.{col_name} holds a non-finite value"));
                    }
                }
                if let Some(d) = col.as_any().downcast_ref::<Decimal128Array>() {
                    let bad = d
                        .iter()
                        .flatten()
                        .any(|v| !(0..10i128.pow(38)).contains(&v));
                    if bad || d.validate_decimal_precision(38).is_err() {
                        return Err(format!("{name}.{col_name} holds an invalid decimal"));
                    }
                }
            }
        }
    }
    let epochs = out.join("epochs.arrow");
    if epochs.exists() {
        for b in read_arrow(&epochs) {
            let dec = |c: &str| column::<Decimal128Array>(&b, c).clone();
            let (supply, minted, burned) = (dec("supply"), dec("minted"), dec("burned"));
            for i in 0..b.num_rows() {
                if supply.value(i) != minted.value(i) - burned.value(i) {
                    return Err(format!("epochs row {i}: supply ≠ minted − burned"));
                }
            }
        }
    }
    Ok(())
}

/// What happened to one case.
enum Outcome {
    Refused,
    Ran,
}

/// Validates and (if accepted) runs one scenario text; Err says what broke.
fn run_case(text: &str, dir: &Path, out: &Path) -> Result<Outcome, String> {
    let parsed = std::panic::catch_unwind(|| parse_scenario_with(text, "fuzz.yaml", &[]));
    let scenario = match parsed {
        Err(_) => return Err("validation panicked".into()),
        Ok(Err(_)) => return Ok(Outcome::Refused),
        Ok(Ok(s)) => s,
    };
    let loaded = LoadedScenario {
        scenario,
        text: text.to_string(),
        file: "fuzz.yaml".into(),
        dir: dir.to_path_buf(),
        overrides: Vec::new(),
    };
    let opts = RunOptions {
        out: out.to_path_buf(),
        max_events: Some(30_000),
        max_wall: Some(std::time::Duration::from_secs(5)),
        ..RunOptions::default()
    };
    let ran = std::panic::catch_unwind(|| run_scenario(&loaded, &opts, &mut |_, _, _| {}));
    match ran {
        Err(_) => Err("the run panicked".into()),
        Ok(Err(RunError::Scenario(_))) => Ok(Outcome::Refused),
        Ok(Err(e)) => Err(format!("the run failed after validation: {e}")),
        Ok(Ok(_)) => check_outputs(out).map(|()| Outcome::Ran),
    }
}

fn findings_dir() -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR")).join("fuzz-findings")
}

#[test]
fn fuzzed_scenarios_never_panic_or_write_invalid_tables() {
    let cases: u64 = std::env::var("DMLSIM_FUZZ_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(300);
    let seed: u64 = std::env::var("DMLSIM_FUZZ_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1);
    let dir = repo().join("scenarios");
    let work = scratch("fuzz");
    let out = work.join("out");
    let mut failures = Vec::new();
    // Regressions first: inputs that once broke something.
    let regressions = repo().join("sim/tests/fuzz-regressions");
    let mut inputs: Vec<(String, String)> = std::fs::read_dir(&regressions)
        .map(|d| {
            d.filter_map(|e| e.ok())
                .map(|e| e.path())
                .filter(|p| p.extension().is_some_and(|x| x == "yaml"))
                .map(|p| {
                    (
                        p.display().to_string(),
                        std::fs::read_to_string(&p).unwrap(),
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    inputs.sort();
    let bases: Vec<Value> = SCENARIOS
        .iter()
        .map(|s| {
            let text = std::fs::read_to_string(dir.join(format!("{s}.yaml"))).unwrap();
            serde_yaml_ng::from_str(&text).unwrap()
        })
        .collect();
    let mut rng = stream(seed, "fuzz", 0);
    for case in 0..cases {
        let base = rng.random_range(0..bases.len());
        let mut doc = bases[base].clone();
        mutate(&mut doc, &mut rng);
        let text = serde_yaml_ng::to_string(&doc).unwrap();
        inputs.push((format!("case {case} (from {})", SCENARIOS[base]), text));
    }
    let (mut refused, mut ran) = (0, 0);
    for (name, text) in &inputs {
        match run_case(text, &dir, &out) {
            Ok(Outcome::Refused) => refused += 1,
            Ok(Outcome::Ran) => ran += 1,
            Err(why) => {
                let dump = findings_dir();
                std::fs::create_dir_all(&dump).unwrap();
                let file = dump.join(format!("finding-{}.yaml", failures.len()));
                std::fs::write(&file, format!("# {name}: {why}\n{text}")).unwrap();
                failures.push(format!("{name}: {why} ({})", file.display()));
            }
        }
    }
    eprintln!(
        "fuzz: {} inputs (seed {seed}): {ran} ran, {refused} refused, {} failed",
        inputs.len(),
        failures.len()
    );
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert!(ran > 0 && refused > 0, "the mutations reach both outcomes");
}
