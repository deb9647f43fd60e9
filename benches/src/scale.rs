//! `dmlsim-scale`: runs the scale scenarios and prints events per second,
//! wall time and peak memory, so scale is measured by a bench command and
//! never by a timed test.
//!
//! ```text
//! cargo run --release -p dmlsim-benches --bin dmlsim-scale [SCENARIO ...]
//! ```
//! With no arguments it runs `scenarios/quickstart.yaml`, then
//! `benches/scale-10k.yaml` and `benches/scale-100k.yaml` (same rounds, 10×
//! the nodes: the event counts show idle nodes cost memory, not events).
//! Each scenario runs in a child process so its peak memory is its own.

use dmlsim::run::{RunOptions, run_file};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

/// Peak resident memory of this process in MiB (Linux), if known.
fn peak_rss_mib() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024.0)
}

fn run_one(scenario: &Path) -> ExitCode {
    let out = std::env::temp_dir().join(format!("dmlsim-scale-{}", std::process::id()));
    let opts = RunOptions {
        out: out.clone(),
        trace: false,
        seed: None,
        overrides: Vec::new(),
        ..RunOptions::default()
    };
    let result = run_file(scenario, &opts, &mut |_, _, _| {});
    let _ = std::fs::remove_dir_all(&out);
    match result {
        Ok(info) => {
            println!(
                "{:<28} nodes {:>8}  rounds {:>3}  events {:>10}  wall {:>7.3} s  {:>6.2} M events/s  peak RSS {:>7.1} MiB",
                info.scenario,
                info.nodes,
                info.rounds_completed,
                info.events,
                info.wall_s,
                info.events_per_s / 1e6,
                peak_rss_mib().unwrap_or(f64::NAN)
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("{e}");
            ExitCode::from(2)
        }
    }
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if let [flag, path] = args.as_slice()
        && flag == "--one"
    {
        return run_one(Path::new(path));
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("repo root")
        .to_path_buf();
    let scenarios: Vec<PathBuf> = if args.is_empty() {
        [
            "scenarios/quickstart.yaml",
            "benches/scale-10k.yaml",
            "benches/scale-100k.yaml",
        ]
        .iter()
        .map(|s| root.join(s))
        .collect()
    } else {
        args.iter().map(PathBuf::from).collect()
    };
    let me = std::env::current_exe().expect("own path");
    let mut code = ExitCode::SUCCESS;
    for s in scenarios {
        let status = Command::new(&me)
            .arg("--one")
            .arg(&s)
            .status()
            .expect("child runs");
        if !status.success() {
            code = ExitCode::from(1);
        }
    }
    code
}
