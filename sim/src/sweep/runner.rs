//! Running a sweep's runs in parallel — worker threads pulling runs from a
//! shared queue (dynamic balancing; training inside a run uses rayon) —
//! each into its own staging folder, then moved into the sweep's table
//! folders and recorded.

use super::columns::{ParamColumns, TaggingSink};
use super::index::{IndexCounts, write_index};
use super::plan::{PlannedRun, Shard, Sweep};
use super::store::{FileRecordIn, PlanRecord, RunRecord, SweepDir, SweepError};
use crate::output::ArrowFileSink;
use crate::run::{RunError, RunOptions, simulate};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

/// How to run a sweep.
#[derive(Clone, Debug, Default)]
pub struct SweepOptions {
    /// The sweep folder.
    pub out: PathBuf,
    /// Run only this share of the runs.
    pub shard: Option<Shard>,
    /// Runs at a time (default: one per core).
    pub jobs: Option<usize>,
    /// Run scenarios estimated to exceed the limits.
    pub allow_large: bool,
    /// Set (by Ctrl-C) to start no new run and abandon the running ones;
    /// what is complete stays, and the next sweep resumes.
    pub interrupt: Option<Arc<AtomicBool>>,
    /// The command line, recorded in each run's `run.json`.
    pub command: Vec<String>,
}

/// What happened to one run, for progress displays.
#[derive(Clone, Debug)]
pub enum RunEvent {
    /// The run started.
    Started(u32),
    /// The run finished and is recorded as complete.
    Done(u32),
    /// The run failed; the error is recorded.
    Failed(u32, String),
}

/// The outcome of a sweep.
#[derive(Clone, Debug, Default)]
pub struct SweepOutcome {
    /// Runs this invocation was responsible for (its shard).
    pub planned: u32,
    /// Runs found complete and skipped.
    pub skipped: u32,
    /// Runs done now.
    pub done: u32,
    /// Runs that failed now.
    pub failed: u32,
    /// Whether an interrupt stopped the sweep before every run was done.
    pub interrupted: bool,
    /// The index's counts over the shard's runs.
    pub index: IndexCounts,
}

/// The runs of `sweep` this invocation is responsible for.
pub fn runs_of(sweep: &Sweep, shard: Option<Shard>) -> Vec<&PlannedRun> {
    sweep
        .runs
        .iter()
        .filter(|r| shard.is_none_or(|s| s.holds(r.run_id)))
        .collect()
}

/// Runs a sweep into `opts.out`, skipping complete runs; `report` hears
/// of each run as it starts and ends (from several threads).
pub fn run_sweep(
    sweep: &Sweep,
    opts: &SweepOptions,
    report: &(dyn Fn(RunEvent) + Sync),
) -> Result<SweepOutcome, SweepError> {
    let plan = PlanRecord::of(sweep, opts.shard);
    let dir = SweepDir::open(&opts.out, &plan)?;
    let params = ParamColumns::of(sweep);
    let mine = runs_of(sweep, opts.shard);
    let flags =
        |r: &PlannedRun| -> Vec<String> { r.overrides.iter().map(|o| o.flag.clone()).collect() };
    let mut pending = Vec::new();
    for r in &mine {
        if dir.is_complete(r.run_id, &flags(r)) {
            continue;
        }
        dir.clear_run(r.run_id)?;
        pending.push(*r);
    }
    let interrupted = || {
        opts.interrupt
            .as_ref()
            .is_some_and(|f| f.load(Ordering::Relaxed))
    };
    let mut outcome = SweepOutcome {
        planned: mine.len() as u32,
        skipped: (mine.len() - pending.len()) as u32,
        ..SweepOutcome::default()
    };
    let done = std::sync::atomic::AtomicU32::new(0);
    let failed = std::sync::atomic::AtomicU32::new(0);
    let io_error: std::sync::Mutex<Option<SweepError>> = std::sync::Mutex::new(None);
    // Runs are pulled from a shared queue by `jobs` worker threads, so at
    // most `jobs` runs are in memory; a run's own training uses rayon's
    // pool, which never picks up another run (no run nests inside
    // another's wait).
    let jobs = opts
        .jobs
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
        .clamp(1, pending.len().max(1));
    let next = std::sync::atomic::AtomicUsize::new(0);
    let worker = || {
        loop {
            if interrupted() || io_error.lock().map(|e| e.is_some()).unwrap_or(true) {
                break;
            }
            let Some(run) = pending.get(next.fetch_add(1, Ordering::Relaxed)) else {
                break;
            };
            report(RunEvent::Started(run.run_id));
            match execute(sweep, &dir, &params, run, opts, &flags(run)) {
                Ok(Executed::Done) => {
                    done.fetch_add(1, Ordering::Relaxed);
                    report(RunEvent::Done(run.run_id));
                }
                Ok(Executed::Failed(message)) => {
                    failed.fetch_add(1, Ordering::Relaxed);
                    report(RunEvent::Failed(run.run_id, message));
                }
                Ok(Executed::Abandoned) => {}
                Err(e) => {
                    if let Ok(mut slot) = io_error.lock() {
                        slot.get_or_insert(e);
                    }
                }
            }
        }
    };
    std::thread::scope(|scope| {
        for _ in 0..jobs {
            scope.spawn(worker);
        }
    });
    // Each run removed its own staging folder; the parent goes when empty.
    let _ = std::fs::remove_dir(dir.root.join(".work"));
    if let Some(e) = io_error.into_inner().ok().flatten() {
        return Err(e);
    }
    outcome.done = done.into_inner();
    outcome.failed = failed.into_inner();
    outcome.interrupted = interrupted();
    let shard = opts.shard;
    outcome.index = write_index(&dir.root, &plan, |id| shard.is_none_or(|s| s.holds(id)))
        .map_err(|e| SweepError::io(&dir.root, e))?;
    Ok(outcome)
}

/// How one run ended.
enum Executed {
    /// Complete and recorded.
    Done,
    /// Failed; the error is recorded.
    Failed(String),
    /// Stopped by an interrupt; nothing is recorded, a later sweep redoes it.
    Abandoned,
}

/// Runs one run of the sweep: simulate into `.work/run-N`, move its tables
/// into the table folders, write its record last. An error of the sweep
/// folder itself (cannot write a record) is returned; anything else fails
/// the run, recorded.
fn execute(
    sweep: &Sweep,
    dir: &SweepDir,
    params: &ParamColumns,
    run: &PlannedRun,
    opts: &SweepOptions,
    flags: &[String],
) -> Result<Executed, SweepError> {
    let work = dir.work_dir(run.run_id);
    let attempt = || -> Result<Option<RunRecord>, String> {
        let loaded = sweep.scenario_of(run).map_err(|e| e.to_string())?;
        std::fs::create_dir_all(&work).map_err(|e| format!("{}: {e}", work.display()))?;
        let run_opts = RunOptions {
            out: work.clone(),
            tables: sweep.tables.clone(),
            interrupt: opts.interrupt.clone(),
            allow_large: opts.allow_large,
            command: opts.command.clone(),
            ..RunOptions::default()
        };
        let mut files = ArrowFileSink::new(&work, sweep.tables.clone());
        let values = &sweep.cells[run.cell as usize];
        let mut tagged = TaggingSink::new(&mut files, run.run_id, values, params);
        let mut info =
            simulate(&loaded, &run_opts, &mut tagged, &mut |_, _, _| {}).map_err(|e| match e {
                RunError::Scenario(s) => s.to_string(),
                other => other.to_string(),
            })?;
        if info.stopped_by == "interrupted" {
            return Ok(None);
        }
        let written = files.finish().map_err(|e| e.to_string())?;
        info.record_files(&written);
        let mut moved = Vec::new();
        for f in &mut info.files {
            let table = f.name.trim_end_matches(".arrow").to_string();
            let name = SweepDir::table_name(&table, run.run_id);
            let to = dir.root.join(&name);
            let folder = dir.root.join(&table);
            std::fs::create_dir_all(&folder).map_err(|e| format!("{}: {e}", folder.display()))?;
            std::fs::rename(work.join(&f.name), &to)
                .map_err(|e| format!("{}: {e}", to.display()))?;
            f.name = name;
            moved.push(FileRecordIn::from(&*f));
        }
        let json = serde_json::to_value(&info).map_err(|e| e.to_string())?;
        Ok(Some(RunRecord {
            run_id: run.run_id,
            cell: run.cell,
            replicate: run.replicate,
            status: "ok".into(),
            error: None,
            overrides: flags.to_vec(),
            files: moved,
            run: Some(json),
        }))
    };
    let result = attempt();
    let _ = std::fs::remove_dir_all(&work);
    match result {
        Ok(Some(record)) => {
            dir.write_json(&dir.record_path(run.run_id), &record)?;
            Ok(Executed::Done)
        }
        Ok(None) => {
            dir.clear_run(run.run_id)?;
            Ok(Executed::Abandoned)
        }
        Err(message) => {
            dir.clear_run(run.run_id)?;
            let record = RunRecord {
                run_id: run.run_id,
                cell: run.cell,
                replicate: run.replicate,
                status: "failed".into(),
                error: Some(message.clone()),
                overrides: flags.to_vec(),
                files: Vec::new(),
                run: None,
            };
            dir.write_json(&dir.record_path(run.run_id), &record)?;
            Ok(Executed::Failed(message))
        }
    }
}
