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
//!
//! `dmlsim-scale --make-node-table DIR [NODES]` writes a synthetic
//! measured population into DIR (NODES defaults to 1,000,000);
//! `benches/table-1m-7d.yaml` reads the one written into `target/table-1m`.

mod node_table;

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
    if args.first().is_some_and(|a| a == "--make-node-table") {
        let Some(dir) = args.get(1) else {
            eprintln!("usage: dmlsim-scale --make-node-table DIR [NODES]");
            return ExitCode::from(2);
        };
        let nodes = match args.get(2).map(|n| n.parse::<u32>()) {
            None => 1_000_000,
            Some(Ok(n)) if n > 0 => n,
            Some(_) => {
                eprintln!("NODES must be a whole number above 0");
                return ExitCode::from(2);
            }
        };
        let t = std::time::Instant::now();
        let (n, traces) = node_table::write(Path::new(dir), nodes, 1);
        println!(
            "wrote {n} nodes and {traces} online intervals into {dir} in {:.1} s",
            t.elapsed().as_secs_f64()
        );
        return ExitCode::SUCCESS;
    }
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
    // Refuse what is not a scenario before anything runs (a stray
    // `--set x=y` would otherwise run every other argument first).
    if let Some(bad) = scenarios.iter().find(|s| !s.is_file()) {
        eprintln!(
            "`{}` is not a scenario file; usage: dmlsim-scale [SCENARIO ...] | --make-node-table DIR [NODES] (to change a field, use `dmlsim run --set`)",
            bad.display()
        );
        return ExitCode::from(2);
    }
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
