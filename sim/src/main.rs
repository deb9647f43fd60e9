//! The `dmlsim` command line: run, validate, schema.

use clap::{Args, Parser, Subcommand, ValueEnum};
use dmlsim::estimate::Estimate;
use dmlsim::output::TableSet;
use dmlsim::run::{RunError, RunOptions, run_file};
use dmlsim::scenario::{BackendSpec, Override, json_schema, load_scenario_with};
use indicatif::{ProgressBar, ProgressStyle};
use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

/// Deterministic simulator and economics lab for decentralized ML networks.
#[derive(Parser)]
#[command(name = "dmlsim", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

/// `--backend`: where training runs.
#[derive(Clone, Copy, ValueEnum)]
enum BackendArg {
    /// ndarray on the CPU.
    Ndarray,
    /// wgpu on the first GPU adapter found.
    Gpu,
}

#[derive(Subcommand)]
enum Command {
    /// Run a scenario and write Arrow tables and run.json into --out.
    Run {
        /// Scenario YAML file.
        scenario: PathBuf,
        /// Output folder (created if missing).
        #[arg(long, short, default_value = "out")]
        out: PathBuf,
        /// Also write transfers.arrow, one row per network flow.
        #[arg(long)]
        trace: bool,
        /// Override the scenario's seed.
        #[arg(long)]
        seed: Option<u64>,
        /// Where training runs: `ndarray` (the CPU) or `gpu` (wgpu on the
        /// first adapter found); sets `learning.backend`, which the
        /// scenario must have a `learning` section for.
        #[arg(long, value_enum)]
        backend: Option<BackendArg>,
        /// Change a scenario field by its path, e.g. `--set rounds.count=50`
        /// or `--set 'economics.emission={constant: {per_epoch: 100}}'`
        /// (repeatable; the value is YAML).
        #[arg(long = "set", value_name = "PATH=VALUE")]
        set: Vec<String>,
        /// Write only these tables, e.g. `--tables rounds,epochs` (a year
        /// of 12-second blocks is 600 MB of blocks.arrow); default: all
        /// the run produces.
        #[arg(long, value_name = "LIST")]
        tables: Option<String>,
        /// Stop cleanly after this many events (run.json: `stopped_by:
        /// max_events`); what is complete is written.
        #[arg(long, value_name = "N")]
        max_events: Option<u64>,
        /// Stop cleanly after this much wall-clock time, e.g. `10m`
        /// (run.json: `stopped_by: max_wall`; such a run's tables depend on
        /// the machine's speed).
        #[arg(long, value_name = "DURATION", value_parser = parse_wall)]
        max_wall: Option<std::time::Duration>,
        /// Run even if the scenario is estimated to exceed the memory,
        /// event or training-work limits (see `dmlsim validate`).
        #[arg(long)]
        allow_large: bool,
        /// After the run, evaluate the built-in invariants and the
        /// scenario's checks (as `dmlsim check`); exit 1 on a violation.
        #[arg(long)]
        check: bool,
        /// With --check: also write the outcomes as JUnit XML to FILE.
        #[arg(long, value_name = "FILE", requires = "check")]
        junit: Option<PathBuf>,
        /// No progress bar.
        #[arg(long, short)]
        quiet: bool,
    },
    /// Evaluate a run's (or each run of a sweep's) built-in invariants,
    /// its scenario's checks and --expr checks, and compare it with a
    /// baseline; exit 1 on a violation, 2 on bad input.
    Check {
        /// Run folders (a run's --out) or sweep folders.
        #[arg(required = true)]
        dirs: Vec<PathBuf>,
        /// An extra check expression, e.g. `final(epochs.nakamoto_51) >= 4`
        /// (repeatable; see docs/checks.md).
        #[arg(long = "expr", value_name = "EXPR")]
        exprs: Vec<String>,
        /// Compare with this run folder's run.json metrics.
        #[arg(long, value_name = "DIR")]
        baseline: Option<PathBuf>,
        /// With --baseline: compare this metric (a runs.arrow metric name,
        /// e.g. `economy.final_gini`), optionally with a tolerance:
        /// `economy.final_gini=0.01` or `rounds.cost_usd=5%` (repeatable;
        /// default: every metric both runs have).
        #[arg(long = "metric", value_name = "NAME[=TOL]", requires = "baseline")]
        metrics: Vec<String>,
        /// With --baseline: the tolerance of metrics not named by --metric
        /// (default 0: exactly equal, as a deterministic rerun must be).
        #[arg(long, value_name = "TOL", default_value = "0", requires = "baseline")]
        tolerance: String,
        /// Skip the built-in invariants.
        #[arg(long)]
        no_invariants: bool,
        /// Skip the scenario's checks recorded in run.json.
        #[arg(long)]
        no_scenario_checks: bool,
        /// Also write the outcomes as JUnit XML to FILE.
        #[arg(long, value_name = "FILE")]
        junit: Option<PathBuf>,
    },
    /// Draw the charts of a run or a sweep (PNG and SVG) and an
    /// index.html with the key figures.
    Report {
        /// A run folder (a run's --out) or a sweep folder.
        dir: PathBuf,
        /// Report folder (default: reports/NAME, NAME the folder's name).
        #[arg(long, short)]
        out: Option<PathBuf>,
        /// For a sweep: draw this summary.arrow metric as a heatmap over
        /// two swept fields (repeatable), e.g.
        /// `verification.cheating_premium_usd_per_update`.
        #[arg(long = "heatmap", value_name = "METRIC")]
        heatmaps: Vec<String>,
        /// For a sweep: the two swept fields of the heatmaps, `X,Y`
        /// (default: the first two).
        #[arg(long, value_name = "X,Y")]
        axes: Option<String>,
    },
    /// Check scenario files without running them; exit 2 if any is invalid.
    Validate {
        /// Scenario YAML files.
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// Check the files with these overrides applied (as for `run`).
        #[arg(long = "set", value_name = "PATH=VALUE")]
        set: Vec<String>,
        /// Accept scenarios estimated to exceed the memory, event or
        /// training-work limits (as `run --allow-large` would).
        #[arg(long)]
        allow_large: bool,
    },
    /// Run a sweep: many runs of one scenario with fields varied (grid,
    /// zip, random samples, replicates), in parallel, into one folder;
    /// re-running it resumes. `dmlsim sweep merge` combines shards.
    Sweep(SweepArgs),
    /// Print the JSON Schema of the scenario format (for editors).
    Schema,
}

#[derive(Args)]
#[command(args_conflicts_with_subcommands = true, subcommand_negates_reqs = true)]
struct SweepArgs {
    #[command(subcommand)]
    action: Option<SweepAction>,
    /// Sweep YAML file (see docs/sweeps.md).
    #[arg(required = true)]
    file: Option<PathBuf>,
    /// Sweep folder (default: out/NAME, NAME the sweep's name).
    #[arg(long, short)]
    out: Option<PathBuf>,
    /// Run only shard I of N (0 ≤ I < N): the runs whose id is I modulo N;
    /// combine the shards' folders with `dmlsim sweep merge`.
    #[arg(long, value_name = "I/N")]
    shard: Option<String>,
    /// Runs at a time (default: one per core).
    #[arg(long, short)]
    jobs: Option<usize>,
    /// Print the runs (id, cell, replicate, overrides) and exit.
    #[arg(long)]
    list: bool,
    /// When the runs are done, also draw the report (as `dmlsim report`)
    /// into DIR (default: reports/NAME).
    #[arg(long, value_name = "DIR", num_args = 0..=1, default_missing_value = "")]
    report: Option<PathBuf>,
    /// Run scenarios estimated to exceed the limits (as `run --allow-large`).
    #[arg(long)]
    allow_large: bool,
    /// No progress bar.
    #[arg(long, short)]
    quiet: bool,
}

#[derive(Subcommand)]
enum SweepAction {
    /// Combine the folders of a sharded sweep into one (byte for byte the
    /// folder the unsharded sweep writes).
    Merge {
        /// The shards' folders.
        #[arg(required = true)]
        shards: Vec<PathBuf>,
        /// The merged folder.
        #[arg(long, short)]
        out: PathBuf,
    },
}

/// Parses `--max-wall` (`90s`, `10m`, `2h`).
fn parse_wall(text: &str) -> Result<std::time::Duration, String> {
    dmlsim::scenario::duration::parse_duration(text)
        .map(|t| std::time::Duration::from_nanos(t.nanos()))
}

/// Ctrl-C once: the run stops at the next event boundary and writes what is
/// complete (`stopped_by: interrupted`, exit 130). Twice: abort at once,
/// removing the run's staging folder, so `--out` keeps what it held.
fn install_interrupt_handler() -> Option<Arc<AtomicBool>> {
    let flag = Arc::new(AtomicBool::new(false));
    let seen = Arc::clone(&flag);
    let installed = ctrlc::set_handler(move || {
        if seen.swap(true, Ordering::SeqCst) {
            dmlsim::output::folder::remove_partial_outputs();
            eprintln!("\ninterrupted again: aborted without writing; --out is unchanged");
            std::process::exit(130);
        }
        eprintln!(
            "\ninterrupted: stopping at the next event and writing what is complete (Ctrl-C again aborts without writing)"
        );
    });
    match installed {
        Ok(()) => Some(flag),
        Err(e) => {
            eprintln!("warning: Ctrl-C will abort without writing: {e}");
            None
        }
    }
}

/// Reads `--set` flags; a malformed one is a usage error (exit 2).
fn parse_overrides(flags: &[String]) -> Result<Vec<Override>, ExitCode> {
    flags
        .iter()
        .map(|f| Override::parse(f))
        .collect::<Result<_, _>>()
        .map_err(|e| {
            eprintln!("error: {e}");
            ExitCode::from(2)
        })
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Sweep(args) => sweep_command(args),
        Command::Report {
            dir,
            out,
            heatmaps,
            axes,
        } => {
            let axes = match axes.as_deref().map(|a| {
                a.split_once(',')
                    .map(|(x, y)| (x.trim().to_string(), y.trim().to_string()))
                    .ok_or_else(|| format!("--axes expects X,Y (two swept fields), found `{a}`"))
            }) {
                None => None,
                Some(Ok(a)) => Some(a),
                Some(Err(e)) => {
                    eprintln!("error: {e}");
                    return ExitCode::from(2);
                }
            };
            let name = std::fs::canonicalize(&dir)
                .ok()
                .and_then(|d| d.file_name().map(|n| n.to_os_string()))
                .unwrap_or_else(|| "report".into());
            let out = out.unwrap_or_else(|| PathBuf::from("reports").join(name));
            let opts = dmlsim::report::ReportOptions {
                out: out.clone(),
                heatmaps,
                axes,
            };
            match dmlsim::report::report(&dir, &opts) {
                Ok(r) => {
                    eprintln!(
                        "{} charts (PNG and SVG) and index.html in {}",
                        r.charts.len(),
                        out.display()
                    );
                    ExitCode::SUCCESS
                }
                Err(e) => {
                    eprintln!("error: {e}");
                    ExitCode::from(2)
                }
            }
        }
        Command::Check {
            dirs,
            exprs,
            baseline,
            metrics,
            tolerance,
            no_invariants,
            no_scenario_checks,
            junit,
        } => {
            let baseline = match baseline.map(|b| read_baseline(&b, &metrics, &tolerance)) {
                None => None,
                Some(Ok(b)) => Some(b),
                Some(Err(e)) => {
                    eprintln!("error: {e}");
                    return ExitCode::from(2);
                }
            };
            check_folders(
                &dirs,
                CheckSettings {
                    exprs: &exprs,
                    baseline: baseline.as_ref(),
                    invariants: !no_invariants,
                    scenario_checks: !no_scenario_checks,
                    junit: junit.as_deref(),
                },
            )
        }
        Command::Schema => {
            println!("{}", json_schema());
            ExitCode::SUCCESS
        }
        Command::Validate {
            files,
            set,
            allow_large,
        } => {
            let overrides = match parse_overrides(&set) {
                Ok(o) => o,
                Err(code) => return code,
            };
            let mut ok = true;
            for f in files {
                // A scenario is valid when it parses, passes its checks and its data loads.
                let checked = load_scenario_with(&f, &overrides).and_then(|loaded| {
                    let s = &loaded.scenario;
                    // Estimated before any data is generated or loaded.
                    let estimate = Estimate::of(s, &loaded.dir);
                    let too_large = estimate.problems();
                    if !allow_large && !too_large.is_empty() {
                        return Err(loaded.error(too_large));
                    }
                    if let Some(l) = &s.learning {
                        let data = dmlsim::learning_setup::load_dataset(
                            l,
                            &loaded.dir,
                            s.seeds().training,
                        )
                        .map_err(|p| loaded.error(vec![p]))?;
                        dmlsim::learning_setup::checked_model(&l.model, data.dim(), data.classes)
                            .map_err(|p| loaded.error(vec![p]))?;
                    }
                    if let Some(e) = &s.economics {
                        dmlsim::lower::price_model(e, &loaded.dir, s.seeds().price)
                            .map_err(|p| loaded.error(vec![p]))?;
                    }
                    Ok(estimate)
                });
                match checked {
                    Ok(estimate) => println!("{}: ok ({})", f.display(), estimate.summary()),
                    Err(e) => {
                        eprintln!("{e}");
                        ok = false;
                    }
                }
            }
            if ok {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(2)
            }
        }
        Command::Run {
            scenario,
            out,
            trace,
            seed,
            backend,
            set,
            tables,
            max_events,
            max_wall,
            allow_large,
            check,
            junit,
            quiet,
        } => {
            let tables = match tables.as_deref().map(TableSet::parse) {
                None => TableSet::all(),
                Some(Ok(t)) => t,
                Some(Err(e)) => {
                    eprintln!("error: --tables: {e}");
                    return ExitCode::from(2);
                }
            };
            let mut overrides = match parse_overrides(&set) {
                Ok(o) => o,
                Err(code) => return code,
            };
            if let Some(b) = backend {
                let spec = match b {
                    BackendArg::Ndarray => BackendSpec::Ndarray,
                    BackendArg::Gpu => BackendSpec::Gpu,
                };
                overrides.push(Override::existing("learning.backend", spec.label().into()));
            }
            let bar = (!quiet && std::io::stderr().is_terminal()).then(|| {
                let b = ProgressBar::new(0);
                b.set_style(
                    ProgressStyle::with_template(
                        "{elapsed_precise} [{bar:30}] round {pos}/{len} {msg}",
                    )
                    .expect("valid template")
                    .progress_chars("=> "),
                );
                b
            });
            let mut progress = |done: u32, total: u32, now: dmlsim::engine::SimTime| {
                if let Some(b) = &bar {
                    b.set_length(u64::from(total));
                    b.set_position(u64::from(done));
                    b.set_message(format!("sim t = {:.0} s", now.as_secs_f64()));
                }
            };
            let opts = RunOptions {
                out: out.clone(),
                trace,
                seed,
                overrides,
                tables,
                interrupt: install_interrupt_handler(),
                max_events,
                max_wall,
                allow_large,
                command: std::env::args().collect(),
            };
            let result = run_file(&scenario, &opts, &mut progress);
            if let Some(b) = bar {
                b.finish_and_clear();
            }
            match result {
                Ok(info) => {
                    for w in &info.warnings {
                        eprintln!("warning: {}: {w}", info.scenario);
                    }
                    if let Some(t) = info.no_operators_since_s {
                        // A warning even with --quiet: the results describe a dead network.
                        eprintln!(
                            "warning: {}: every operator left the network by t = {t:.0} s; {} of {} rounds ran (run.json: stopped_by = no_operators)",
                            info.scenario, info.rounds_completed, info.rounds_planned
                        );
                    }
                    let stopped_early = matches!(
                        info.stopped_by.as_str(),
                        "interrupted" | "max_events" | "max_wall"
                    );
                    if stopped_early {
                        // Even with --quiet: the tables end where the run was stopped.
                        eprintln!(
                            "warning: {}: stopped early ({}) after {} of {} rounds; the tables hold what was complete",
                            info.scenario,
                            info.stopped_by,
                            info.rounds_completed,
                            info.rounds_planned
                        );
                    }
                    if !quiet {
                        eprintln!(
                            "{}: {} of {} rounds in {:.0} s simulated ({}), {} events in {:.2} s wall; results in {}",
                            info.scenario,
                            info.rounds_completed,
                            info.rounds_planned,
                            info.sim_time_s,
                            info.stopped_by,
                            info.events,
                            info.wall_s,
                            out.display()
                        );
                    }
                    if info.stopped_by == "interrupted" {
                        ExitCode::from(130)
                    } else if check {
                        check_folders(
                            std::slice::from_ref(&out),
                            CheckSettings {
                                junit: junit.as_deref(),
                                ..CheckSettings::default()
                            },
                        )
                    } else {
                        ExitCode::SUCCESS
                    }
                }
                Err(e @ RunError::Check(_)) => {
                    eprintln!("error: {e}");
                    ExitCode::from(1)
                }
                Err(e @ RunError::Scenario(_)) => {
                    eprintln!("{e}");
                    ExitCode::from(2)
                }
                Err(e) => {
                    eprintln!("error: {e}");
                    ExitCode::from(2)
                }
            }
        }
    }
}

/// `dmlsim sweep FILE` and `dmlsim sweep merge`.
fn sweep_command(args: SweepArgs) -> ExitCode {
    use dmlsim::sweep::{RunEvent, Shard, Sweep, SweepOptions, merge, run_sweep, runs_of};
    if let Some(SweepAction::Merge { shards, out }) = args.action {
        return match merge(&shards, &out) {
            Ok(m) => {
                if !m.absent_shards.is_empty() {
                    eprintln!(
                        "warning: shards {:?} were not given; their runs are `missing` in runs.arrow",
                        m.absent_shards
                    );
                }
                eprintln!(
                    "merged {} folders into {}: {} runs ok, {} failed, {} missing of {}",
                    shards.len(),
                    out.display(),
                    m.index.ok,
                    m.index.failed,
                    m.index.missing,
                    m.planned
                );
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("error: {e}");
                ExitCode::from(2)
            }
        };
    }
    let Some(file) = args.file else {
        eprintln!("error: name a sweep file");
        return ExitCode::from(2);
    };
    let shard = match args.shard.as_deref().map(Shard::parse).transpose() {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    let sweep = match Sweep::load(&file) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(2);
        }
    };
    let mine = runs_of(&sweep, shard);
    if args.list {
        println!("run_id\tcell\treplicate\toverrides");
        for r in mine {
            let flags: Vec<String> = r
                .overrides
                .iter()
                .map(|o| format!("--set '{}'", o.flag.replace('\'', "'\\''")))
                .collect();
            println!(
                "{}\t{}\t{}\t{}",
                r.run_id,
                r.cell,
                r.replicate,
                flags.join(" ")
            );
        }
        return ExitCode::SUCCESS;
    }
    let out = args
        .out
        .unwrap_or_else(|| PathBuf::from("out").join(&sweep.name));
    let planned = mine.len() as u64;
    let bar = (!args.quiet && std::io::stderr().is_terminal()).then(|| {
        let b = ProgressBar::new(planned);
        b.set_style(
            ProgressStyle::with_template(
                "{elapsed_precise} [{bar:30}] runs {pos}/{len} {msg} (eta {eta})",
            )
            .expect("valid template")
            .progress_chars("=> "),
        );
        b
    });
    let running = std::sync::atomic::AtomicU32::new(0);
    let failed = std::sync::atomic::AtomicU32::new(0);
    let show = |b: &ProgressBar| {
        b.set_message(format!(
            "running {}, failed {}",
            running.load(Ordering::Relaxed),
            failed.load(Ordering::Relaxed)
        ));
    };
    let report = |event: RunEvent| {
        match &event {
            RunEvent::Started(_) => {
                running.fetch_add(1, Ordering::Relaxed);
            }
            RunEvent::Done(_) => {
                running.fetch_sub(1, Ordering::Relaxed);
            }
            RunEvent::Failed(id, message) => {
                running.fetch_sub(1, Ordering::Relaxed);
                failed.fetch_add(1, Ordering::Relaxed);
                let line = format!("run {id} failed: {message}");
                match &bar {
                    Some(b) => b.println(line),
                    None => eprintln!("{line}"),
                }
            }
        }
        if let Some(b) = &bar {
            if !matches!(event, RunEvent::Started(_)) {
                b.inc(1);
            }
            show(b);
        }
    };
    let opts = SweepOptions {
        out: out.clone(),
        shard,
        jobs: args.jobs,
        allow_large: args.allow_large,
        interrupt: install_interrupt_handler(),
        command: std::env::args().collect(),
    };
    let result = run_sweep(&sweep, &opts, &report);
    if let Some(b) = &bar {
        b.finish_and_clear();
    }
    match result {
        Ok(o) => {
            if !args.quiet {
                eprintln!(
                    "{}: {} runs done, {} failed, {} already complete, of {}{}; results in {}",
                    sweep.name,
                    o.done,
                    o.failed,
                    o.skipped,
                    o.planned,
                    shard.map_or(String::new(), |s| format!(
                        " (shard {}/{})",
                        s.index, s.count
                    )),
                    out.display()
                );
            }
            if !o.interrupted
                && let Some(dir) = &args.report
            {
                let dir = if dir.as_os_str().is_empty() {
                    PathBuf::from("reports").join(&sweep.name)
                } else {
                    dir.clone()
                };
                let opts = dmlsim::report::ReportOptions {
                    out: dir.clone(),
                    ..Default::default()
                };
                match dmlsim::report::report(&out, &opts) {
                    Ok(r) => eprintln!(
                        "report: {} charts and index.html in {}",
                        r.charts.len(),
                        dir.display()
                    ),
                    Err(e) => {
                        eprintln!("error: the report: {e}");
                        return ExitCode::from(2);
                    }
                }
            }
            if o.interrupted {
                eprintln!(
                    "interrupted: {} of {} runs are complete; run the same command again to resume",
                    o.index.ok, o.planned
                );
                ExitCode::from(130)
            } else if o.index.failed > 0 {
                eprintln!(
                    "error: {} runs failed (runs.arrow: status = failed, error says why)",
                    o.index.failed
                );
                ExitCode::from(1)
            } else {
                ExitCode::SUCCESS
            }
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(2)
        }
    }
}

/// What `dmlsim check` (and `run --check`) evaluates.
struct CheckSettings<'a> {
    exprs: &'a [String],
    baseline: Option<&'a dmlsim::check::Baseline>,
    invariants: bool,
    scenario_checks: bool,
    junit: Option<&'a std::path::Path>,
}

impl Default for CheckSettings<'_> {
    fn default() -> Self {
        CheckSettings {
            exprs: &[],
            baseline: None,
            invariants: true,
            scenario_checks: true,
            junit: None,
        }
    }
}

/// Reads `--baseline DIR` with its `--metric` and `--tolerance` flags.
fn read_baseline(
    dir: &std::path::Path,
    metrics: &[String],
    tolerance: &str,
) -> Result<dmlsim::check::Baseline, String> {
    use dmlsim::check::{Baseline, Tolerance};
    let data = dmlsim::check::data::RunData::run_folder(dir)?;
    let default_tolerance = Tolerance::parse(tolerance).map_err(|e| format!("--tolerance: {e}"))?;
    let metrics = metrics
        .iter()
        .map(|m| match m.split_once('=') {
            Some((name, tol)) => Ok((
                name.trim().to_string(),
                Tolerance::parse(tol).map_err(|e| format!("--metric {m}: {e}"))?,
            )),
            None => Ok((m.trim().to_string(), default_tolerance)),
        })
        .collect::<Result<_, String>>()?;
    Ok(Baseline {
        run_json: data.run_json,
        metrics,
        default_tolerance,
    })
}

/// Checks run or sweep folders, prints the report, writes JUnit; the exit
/// code is 2 if a check could not be evaluated, 1 if one failed.
fn check_folders(dirs: &[PathBuf], s: CheckSettings) -> ExitCode {
    use dmlsim::check::{
        NamedCheck, declared_checks, exit_code, junit, report, run_checks, runs_in,
    };
    let extra: Vec<NamedCheck> = s
        .exprs
        .iter()
        .map(|e| NamedCheck {
            name: e.clone(),
            expr: e.clone(),
        })
        .collect();
    let mut all = Vec::new();
    let mut code = 0u8;
    for dir in dirs {
        let runs = match runs_in(dir) {
            Ok(r) => r,
            Err(e) => {
                eprintln!("error: {e}");
                return ExitCode::from(2);
            }
        };
        for (target, data) in runs {
            let outcomes = match data {
                Ok(data) => {
                    let mut checks = if s.scenario_checks {
                        declared_checks(&data)
                    } else {
                        Vec::new()
                    };
                    checks.extend(extra.iter().cloned());
                    run_checks(&data, &checks, s.invariants, s.baseline)
                }
                Err(reason) => vec![dmlsim::check::missing_run(reason)],
            };
            print!("{}", report(&target, &outcomes));
            code = code.max(exit_code(&outcomes));
            all.push((target, outcomes));
        }
    }
    if let Some(path) = s.junit
        && let Err(e) = std::fs::write(path, junit::document(&all))
    {
        eprintln!("error: cannot write {}: {e}", path.display());
        return ExitCode::from(2);
    }
    ExitCode::from(code)
}
