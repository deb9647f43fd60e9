//! Wiring: scenario → federation → kernel loop → result files.

use crate::engine::{Kernel, SimTime, StopReason};
use crate::estimate::Estimate;
use crate::output::run_info::{FileRecord, LearningRecord};
use crate::output::summary::Summary;
use crate::output::{
    ArrowFileSink, OutputFolder, RunInfo, Sink, TableSet, data_tables, econ_tables,
    governance_tables, market_tables, tables,
};
use crate::scenario::{LoadedScenario, Override, ScenarioError, load_scenario_with};
use crate::system::{Event, System, build};
use sha2::{Digest, Sha256};
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// How to run a scenario.
#[derive(Clone, Debug, Default)]
pub struct RunOptions {
    /// Folder for the result files (created if missing).
    pub out: PathBuf,
    /// Also write `transfers.arrow`.
    pub trace: bool,
    /// Replace the scenario's seed.
    pub seed: Option<u64>,
    /// `--set path=value` overrides, applied in order before the typed parse.
    pub overrides: Vec<Override>,
    /// Which tables to write (all by default).
    pub tables: TableSet,
    /// Set (e.g. by Ctrl-C) to stop the run at the next event boundary;
    /// what is complete is written and `stopped_by` is `interrupted`.
    pub interrupt: Option<Arc<AtomicBool>>,
    /// Stop after this many events (`stopped_by: max_events`).
    pub max_events: Option<u64>,
    /// Stop after this much wall-clock time (`stopped_by: max_wall`); such
    /// a run's tables depend on the machine's speed.
    pub max_wall: Option<Duration>,
    /// Run even when the scenario's estimate exceeds the limits of
    /// [`crate::estimate`].
    pub allow_large: bool,
    /// The command line, recorded in `run.json`.
    pub command: Vec<String>,
}

/// Progress reported while running: rounds closed, rounds planned, sim time.
pub type Progress<'a> = &'a mut dyn FnMut(u32, u32, SimTime);

/// Why a run failed.
#[derive(Debug)]
pub enum RunError {
    /// The scenario is invalid (exit code 2).
    Scenario(ScenarioError),
    /// The output folder or a file in it could not be written.
    Output(PathBuf, std::io::Error),
    /// The output folder cannot be used (another run is writing it, or it
    /// holds files dmlsim did not write).
    Folder(crate::output::folder::ClaimError),
    /// A check or invariant failed during the run (exit code 1).
    Check(String),
}

impl fmt::Display for RunError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RunError::Scenario(e) => write!(f, "{e}"),
            RunError::Output(p, e) => write!(f, "cannot write {}: {e}", p.display()),
            RunError::Check(m) => write!(f, "{m}"),
            RunError::Folder(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for RunError {}

/// Loads and runs a scenario file, writing the result files.
pub fn run_file(path: &Path, opts: &RunOptions, progress: Progress) -> Result<RunInfo, RunError> {
    let loaded = load_scenario_with(path, &opts.overrides).map_err(RunError::Scenario)?;
    run_scenario(&loaded, opts, progress)
}

/// Hex SHA-256 of a text.
pub fn sha256_hex(text: &str) -> String {
    crate::output::sink::hex(&Sha256::digest(text.as_bytes()))
}

/// What ended the kernel loop.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Ending {
    /// The kernel stopped by itself (horizon, empty queue, model stop).
    Kernel(StopReason),
    /// The interrupt flag was set (Ctrl-C).
    Interrupted,
    /// `--max-events` was reached.
    MaxEvents,
    /// `--max-wall` was reached.
    MaxWall,
}

/// Events per kernel slice between checks of the wall-clock budget and
/// draining of streamed tables (the kernel also pauses at every round).
const SLICE_EVENTS: u64 = 200_000;

/// Why a run ended: `rounds_done`, `no_operators` when every operator left
/// the network before the job finished, `horizon`, or a stop from outside:
/// `interrupted`, `max_events`, `max_wall`.
fn stopped_by<L: dmlsim_models::learning::Learner>(
    sys: &System<L>,
    ending: Ending,
) -> &'static str {
    let stop = match ending {
        Ending::Interrupted => return "interrupted",
        Ending::MaxEvents => return "max_events",
        Ending::MaxWall => return "max_wall",
        Ending::Kernel(stop) => stop,
    };
    // A market still training or with orders open was cut short.
    let market_busy = sys.market.as_ref().is_some_and(|m| m.busy());
    if sys.job.is_done() && !market_busy {
        "rounds_done"
    } else if sys
        .chain
        .as_ref()
        .is_some_and(|c| c.economy.empty_since().is_some())
    {
        "no_operators"
    } else if stop == StopReason::Horizon {
        "horizon"
    } else {
        "rounds_done"
    }
}

/// Rows per record batch of a streamed table (`blocks.arrow`,
/// `rounds.arrow`): a year of 12-second blocks (2.6 M) never sits in memory.
const BATCH_ROWS: usize = 65_536;

/// Rows of one streamed table waiting for a full batch. Batches have a fixed
/// size, so a file's bytes do not depend on how the run was sliced.
struct Batches<T> {
    pending: Vec<T>,
    written: bool,
}

impl<T> Default for Batches<T> {
    fn default() -> Self {
        Batches {
            pending: Vec::new(),
            written: false,
        }
    }
}

impl<T> Batches<T> {
    /// Hands full batches to `emit`, and at the `last` call the rest — or an
    /// empty batch, so a table that got no row is still written.
    fn flush(
        &mut self,
        last: bool,
        mut emit: impl FnMut(Vec<T>) -> std::io::Result<()>,
    ) -> std::io::Result<()> {
        while self.pending.len() >= BATCH_ROWS
            || (last && (!self.pending.is_empty() || !self.written))
        {
            let take = self.pending.len().min(BATCH_ROWS);
            emit(self.pending.drain(..take).collect())?;
            self.written = true;
        }
        Ok(())
    }
}

/// Moves sealed blocks from the ledger into `blocks.arrow`, and forgets
/// sealed ledger entries when `ledger.arrow` is not written.
#[derive(Default)]
struct BlockStream {
    blocks: Batches<dmlsim_models::econ::ledger::Block>,
}

impl BlockStream {
    /// Takes the ledger's new blocks and writes what fills batches (all of
    /// it when `last`). Blocks are dropped when the sink does not want them.
    fn drain<L: dmlsim_models::learning::Learner>(
        &mut self,
        sys: &mut System<L>,
        sink: &mut dyn Sink,
        last: bool,
    ) -> std::io::Result<()> {
        let Some(chain) = sys.chain.as_mut() else {
            return Ok(());
        };
        if !sink.wants("ledger") {
            // Sealed entries are in the chain's hashes; nobody reads them.
            chain.economy.ledger.drop_sealed_entries();
        }
        let new = chain.economy.ledger.take_blocks();
        if !sink.wants("blocks") {
            return Ok(());
        }
        self.blocks.pending.extend(new);
        self.blocks.flush(last, |batch| {
            econ_tables::blocks_table(&batch).write_to(sink)
        })
    }
}

/// Moves operator-epoch rows out of the economy into
/// `operator_epochs.arrow` as epochs settle (a year of hourly epochs of
/// 10,000 operators is 88 M rows).
struct OperatorEpochStream {
    rows: Batches<crate::economy::OperatorEpochRecord>,
    /// Each operator's profile: its first node's.
    profile_of: Vec<u16>,
    profiles: Vec<String>,
}

impl OperatorEpochStream {
    fn new<L: dmlsim_models::learning::Learner>(sys: &System<L>) -> Self {
        let profile_of = sys
            .nodes
            .first_node_of_operators()
            .iter()
            .map(|&node| sys.nodes.profile[node as usize])
            .collect();
        OperatorEpochStream {
            rows: Batches::default(),
            profile_of,
            profiles: sys.nodes.profile_names.clone(),
        }
    }

    fn drain<L: dmlsim_models::learning::Learner>(
        &mut self,
        sys: &mut System<L>,
        sink: &mut dyn Sink,
        last: bool,
    ) -> std::io::Result<()> {
        let Some(chain) = sys.chain.as_mut() else {
            return Ok(());
        };
        let new = std::mem::take(&mut chain.economy.operator_epochs);
        if !sink.wants("operator_epochs") {
            return Ok(());
        }
        self.rows.pending.extend(new);
        let (profile_of, profiles) = (&self.profile_of, &self.profiles);
        self.rows.flush(last, |batch| {
            econ_tables::operator_epochs_table(&batch, profile_of, profiles).write_to(sink)
        })
    }
}

/// Moves closed rounds out of the job (and, with an economy, their settled
/// economy rows) into `rounds.arrow`, so memory does not grow with the
/// number of rounds.
struct RoundStream {
    records: Batches<crate::protocol::RoundRecord>,
    economy: Vec<crate::economy::RoundEconomics>,
    summary: crate::output::summary::RoundsSummary,
}

impl RoundStream {
    /// A stream whose summary measures the scenario's derived metrics.
    fn new(metrics: &crate::scenario::MetricsSpec) -> Self {
        RoundStream {
            records: Batches::default(),
            economy: Vec::new(),
            summary: crate::output::summary::RoundsSummary::new(metrics),
        }
    }

    /// Takes the rounds whose rows are final (all of them when `last`) and
    /// writes what fills batches (all of it when `last`).
    fn drain<L: dmlsim_models::learning::Learner>(
        &mut self,
        sys: &mut System<L>,
        sink: &mut dyn Sink,
        last: bool,
    ) -> std::io::Result<()> {
        let new = match sys.chain.as_mut() {
            // A round's economy row is final once its epoch has settled.
            Some(chain) if !last => {
                let settled = chain.economy.take_settled_rounds();
                let through = settled.last().map(|r| r.round);
                self.economy.extend(settled);
                match through {
                    Some(r) => sys.job.take_records(Some(r)),
                    None => Vec::new(),
                }
            }
            Some(chain) => {
                self.economy.extend(chain.economy.take_settled_rounds());
                self.economy.append(&mut chain.economy.rounds);
                sys.job.take_records(None)
            }
            None => sys.job.take_records(None),
        };
        let economy = sys.chain.is_some().then_some(self.economy.as_slice());
        self.summary.add(&new, economy);
        if !sink.wants("rounds") {
            self.economy.clear();
            return Ok(());
        }
        self.records.pending.extend(new);
        let with_economy = sys.chain.is_some();
        let economy = &mut self.economy;
        self.records.flush(last, |batch| {
            // The batch's economy rows, joined by round number.
            let through = batch.last().map_or(0, |r| r.round);
            let k = economy.partition_point(|e| e.round <= through);
            let econ: Vec<_> = economy.drain(..k).collect();
            tables::rounds_table(&batch, with_economy.then_some(econ.as_slice())).write_to(sink)
        })
    }
}

/// Writes the tables built at the end of a run (each one only if wanted).
fn write_tables<L: dmlsim_models::learning::Learner>(
    scenario: &crate::scenario::Scenario,
    sys: &System<L>,
    sink: &mut dyn Sink,
) -> std::io::Result<()> {
    let economy = sys.chain.as_ref().map(|c| &c.economy);
    if sink.wants("nodes") {
        tables::nodes_table(
            scenario,
            &sys.nodes,
            sys.net.routers() > 0,
            sys.job.learner(),
            economy,
        )
        .write_to(sink)?;
    }
    if let Some(trace) = sys.net.trace.as_ref().filter(|_| sink.wants("transfers")) {
        tables::transfers_table(trace, sys.market.is_some()).write_to(sink)?;
    }
    let Some(e) = economy else {
        return Ok(());
    };
    if sink.wants("ledger") {
        econ_tables::ledger_table(e).write_to(sink)?;
    }
    if sink.wants("epochs") {
        let table = econ_tables::epochs_table(e);
        match &sys.market {
            Some(m) => {
                let table = market_tables::with_market_columns(table, m);
                match &m.data {
                    Some(_) => data_tables::with_data_epoch_columns(table, m).write_to(sink)?,
                    None => table.write_to(sink)?,
                }
            }
            None => table.write_to(sink)?,
        }
    }
    if sink.wants("operators") {
        econ_tables::operators_table(e, &sys.nodes).write_to(sink)?;
    }
    if let Some(g) = &sys.governance {
        if sink.wants("proposals") {
            governance_tables::proposals_table(g).write_to(sink)?;
        }
        if sink.wants("votes") {
            governance_tables::votes_table(g, &e.ledger).write_to(sink)?;
        }
        if sink.wants("concentration") {
            governance_tables::concentration_table(g).write_to(sink)?;
        }
    }
    if let Some(m) = &sys.market {
        if sink.wants("jobs") {
            let table = market_tables::jobs_table(m, e);
            match &m.data {
                Some(d) => data_tables::with_data_job_columns(table, m, d).write_to(sink)?,
                None => table.write_to(sink)?,
            }
        }
        if let Some(d) = &m.data
            && sink.wants("datasets")
        {
            data_tables::datasets_table(d, e).write_to(sink)?;
        }
        if sink.wants("offences") {
            market_tables::offences_table(e, m).write_to(sink)?;
        }
    }
    if scenario.verification.is_some() {
        if sink.wants("offences") && sys.market.is_none() {
            econ_tables::offences_table(e).write_to(sink)?;
        }
        if sink.wants("behaviours") {
            econ_tables::behaviours_table(e, &sys.nodes).write_to(sink)?;
        }
    }
    Ok(())
}

/// The input files a run read, each with its size and digest: the
/// scenario (its text as read), a data table, a price series.
fn input_files(loaded: &LoadedScenario, scenario: &crate::scenario::Scenario) -> Vec<FileRecord> {
    use crate::scenario::{DatasetSpec, PriceSpec};
    let mut files = vec![FileRecord::of_bytes(&loaded.file, loaded.text.as_bytes())];
    let data = scenario.learning.as_ref().and_then(|l| match &l.dataset {
        DatasetSpec::Csv(f) | DatasetSpec::Arrow(f) | DatasetSpec::Parquet(f) => Some(&f.path),
        _ => None,
    });
    let price = scenario
        .economics
        .as_ref()
        .and_then(|e| match &e.token_price {
            PriceSpec::Csv { path } => Some(path),
            _ => None,
        });
    for path in data.into_iter().chain(price) {
        // Read (within the data limit) after the run used it.
        if let Ok(bytes) =
            crate::input::read_limited(&loaded.dir.join(path), crate::input::data_limit())
        {
            files.push(FileRecord::of_bytes(path, &bytes));
        }
    }
    files
}

/// What the run went on past: parameter changes that did not apply, and a
/// diverged training run.
fn warnings<L: dmlsim_models::learning::Learner>(sys: &System<L>) -> Vec<String> {
    let mut w = sys.param_errors.clone();
    if let Some(g) = &sys.governance {
        w.extend(g.warnings());
    }
    if sys
        .chain
        .as_ref()
        .is_some_and(|c| c.economy.epochs.is_empty())
    {
        w.push(
            "no epoch settled: the run ended before the first epoch boundary, so epochs.arrow is empty: no emission was minted and no reward paid (lengthen the horizon or shorten economics.epoch)"
                .into(),
        );
    }
    if let Some(round) = sys.job.learner().diverged_at() {
        w.push(format!(
            "training diverged in round {round}: the global model holds non-finite parameters and test_loss is NaN from then on (run.json: learning.diverged_at_round); lower the learning rate or rescale the features"
        ));
    }
    w
}

/// The scenario as it will run: `opts.seed` applied, refused when its
/// estimate exceeds the limits (unless `opts.allow_large`).
fn prepared(
    loaded: &LoadedScenario,
    opts: &RunOptions,
) -> Result<(crate::scenario::Scenario, Estimate), RunError> {
    let mut scenario = loaded.scenario.clone();
    if let Some(seed) = opts.seed {
        scenario.seed = seed;
    }
    let estimate = Estimate::of(&scenario, &loaded.dir);
    let too_large = estimate.problems();
    if !opts.allow_large && !too_large.is_empty() {
        return Err(RunError::Scenario(loaded.error(too_large)));
    }
    Ok((scenario, estimate))
}

/// Runs a loaded scenario, writing the result files into `opts.out`: into
/// a staging folder that replaces `opts.out` as a whole when the run is
/// complete (see [`crate::output::folder`]).
pub fn run_scenario(
    loaded: &LoadedScenario,
    opts: &RunOptions,
    progress: Progress,
) -> Result<RunInfo, RunError> {
    prepared(loaded, opts)?;
    // Claimed (locked, probed for writing) before anything is simulated.
    let folder = OutputFolder::claim(&opts.out).map_err(RunError::Folder)?;
    let dir = folder.staging().to_path_buf();
    let out_err = |p: &Path, e| RunError::Output(p.to_path_buf(), e);
    let mut sink = ArrowFileSink::new(&dir, opts.tables.clone());
    let mut info = simulate(loaded, opts, &mut sink, progress)?;
    let written = sink.finish().map_err(|e| out_err(&opts.out, e))?;
    info.record_files(&written);
    // run.json, the manifest, is written last; then the folder is swapped in.
    info.write(&dir).map_err(|e| out_err(&dir, e))?;
    folder.commit().map_err(|e| out_err(&opts.out, e))?;
    Ok(info)
}

/// Runs a loaded scenario into `sink` and returns its `run.json` record,
/// whose manifest is empty until the caller finishes the sink and calls
/// [`RunInfo::record_files`]. Write errors name `opts.out`.
pub fn simulate(
    loaded: &LoadedScenario,
    opts: &RunOptions,
    sink: &mut dyn Sink,
    progress: Progress,
) -> Result<RunInfo, RunError> {
    let (scenario, estimate) = prepared(loaded, opts)?;
    let out_err = |p: &Path, e| RunError::Output(p.to_path_buf(), e);
    let started = Instant::now();
    let mut sys = build(&scenario, loaded, opts.trace)?;
    let learning = sys.job.learner().describe();
    let mut blocks = BlockStream::default();
    let mut rounds = RoundStream::new(&scenario.metrics);
    let mut operator_epochs = OperatorEpochStream::new(&sys);
    let write_err = |e| out_err(&opts.out, e);
    let mut kernel: Kernel<Event> = Kernel::new();
    sys.start(kernel.scheduler());
    let horizon = scenario.horizon.time();
    let planned = sys.job.plan().count;
    let interrupted = || {
        opts.interrupt
            .as_ref()
            .is_some_and(|f| f.load(Ordering::Relaxed))
    };
    progress(0, planned, SimTime::ZERO);
    let ending = loop {
        let left = opts
            .max_events
            .map_or(u64::MAX, |m| m.saturating_sub(kernel.events_processed()));
        if left == 0 {
            break Ending::MaxEvents;
        }
        let round = sys.job.rounds_done();
        // Pauses at every closed round (for progress) and at an interrupt.
        let stop = kernel.run_while(&mut sys, horizon, left.min(SLICE_EVENTS), |s| {
            s.job.rounds_done() == round && !interrupted()
        });
        progress(sys.job.rounds_done(), planned, kernel.now());
        blocks.drain(&mut sys, sink, false).map_err(write_err)?;
        rounds.drain(&mut sys, sink, false).map_err(write_err)?;
        operator_epochs
            .drain(&mut sys, sink, false)
            .map_err(write_err)?;
        if !matches!(stop, StopReason::Budget | StopReason::Paused) {
            break Ending::Kernel(stop);
        }
        if interrupted() {
            break Ending::Interrupted;
        }
        if opts.max_wall.is_some_and(|w| started.elapsed() >= w) {
            break Ending::MaxWall;
        }
    };
    let wall_s = started.elapsed().as_secs_f64();
    let events = kernel.events_processed();
    if let Some(message) = &sys.failure {
        return Err(RunError::Check(format!("{}: {message}", loaded.file)));
    }
    blocks.drain(&mut sys, sink, true).map_err(write_err)?;
    rounds.drain(&mut sys, sink, true).map_err(write_err)?;
    operator_epochs
        .drain(&mut sys, sink, true)
        .map_err(write_err)?;
    sys.job.end_of_run(&mut sys.nodes);
    if let Some(market) = sys.market.as_mut() {
        market.end_of_run(&mut sys.nodes);
    }
    write_tables(&scenario, &sys, sink).map_err(write_err)?;
    let stopped_by = stopped_by(&sys, ending);
    let mut summary = Summary::new(rounds.summary, sys.chain.as_ref().map(|c| &c.economy));
    summary.network_collapsed = stopped_by == "no_operators";
    summary.governance = sys
        .governance
        .as_ref()
        .map(crate::output::summary::GovernanceSummary::of);
    summary.market = sys
        .market
        .as_ref()
        .map(crate::output::summary::MarketSummary::of);
    if let (Some(_), Some(chain)) = (&scenario.verification, sys.chain.as_ref()) {
        summary.verification = Some(crate::output::summary::VerificationSummary::of(
            &econ_tables::behaviour_stats(&chain.economy, &sys.nodes),
        ));
    }
    Ok(RunInfo {
        dmlsim_version: env!("CARGO_PKG_VERSION").to_string(),
        scenario: scenario.name.clone(),
        scenario_sha256: sha256_hex(&loaded.text),
        seed: scenario.seed,
        seeds: scenario.seeds(),
        overrides: loaded.overrides.iter().map(|o| o.flag.clone()).collect(),
        command: opts.command.clone(),
        inputs: input_files(loaded, &scenario),
        learner: sys.job.learner().name().to_string(),
        nodes: sys.nodes.len() as u64,
        operators: u64::from(sys.nodes.operators),
        routers: sys.net.routers() as u64,
        rounds_planned: planned,
        rounds_completed: sys.job.rounds_done(),
        stopped_by: stopped_by.into(),
        no_operators_since_s: sys
            .chain
            .as_ref()
            .and_then(|c| c.economy.empty_since())
            .filter(|_| sys.job.rounds_done() < planned)
            .map(|t| t.as_secs_f64()),
        sim_time_s: kernel.now().as_secs_f64(),
        events,
        selection_retries: sys.job.selection_retries,
        wall_s,
        events_per_s: events as f64 / wall_s.max(1e-9),
        files: Vec::new(),
        warnings: warnings(&sys),
        checks: scenario.checks.iter().map(|c| c.named()).collect(),
        estimate,
        summary,
        learning: learning.map(|info| LearningRecord {
            info,
            model_bytes: sys.job.plan().model_bytes,
            update_bytes: sys.job.plan().update_bytes,
            diverged_at_round: sys.job.learner().diverged_at(),
        }),
    })
}
