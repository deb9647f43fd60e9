//! Wiring: scenario → federation → kernel loop → result files.

use crate::economy::{Economy, price_model};
use crate::engine::{Kernel, SimTime, StopReason};
use crate::learning_setup::build_learner;
use crate::network::Topology;
use crate::output::run_info::LearningRecord;
use crate::output::{RunInfo, econ_tables, tables};
use crate::protocol::{Event, Federation};
use crate::scenario::{LoadedScenario, ScenarioError, load_scenario};
use crate::world::Nodes;
use dmlsim_models::learning::Learner;
use sha2::{Digest, Sha256};
use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Instant;

/// How to run a scenario.
#[derive(Clone, Debug, Default)]
pub struct RunOptions {
    /// Folder for the result files (created if missing).
    pub out: PathBuf,
    /// Also write `transfers.arrow`.
    pub trace: bool,
    /// Replace the scenario's seed.
    pub seed: Option<u64>,
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
    /// A check or invariant failed during the run (exit code 1).
    Check(String),
}

impl fmt::Display for RunError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RunError::Scenario(e) => write!(f, "{e}"),
            RunError::Output(p, e) => write!(f, "cannot write {}: {e}", p.display()),
            RunError::Check(m) => write!(f, "{m}"),
        }
    }
}

impl std::error::Error for RunError {}

/// Loads and runs a scenario file, writing the result files.
pub fn run_file(path: &Path, opts: &RunOptions, progress: Progress) -> Result<RunInfo, RunError> {
    let loaded = load_scenario(path).map_err(RunError::Scenario)?;
    run_scenario(&loaded, opts, progress)
}

/// Hex SHA-256 of a text.
pub fn sha256_hex(text: &str) -> String {
    Sha256::digest(text.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Runs a loaded scenario, writing the result files into `opts.out`.
pub fn run_scenario(
    loaded: &LoadedScenario,
    opts: &RunOptions,
    progress: Progress,
) -> Result<RunInfo, RunError> {
    let mut scenario = loaded.scenario.clone();
    if let Some(seed) = opts.seed {
        scenario.seed = seed;
    }
    let out_err = |p: &Path, e| RunError::Output(p.to_path_buf(), e);
    std::fs::create_dir_all(&opts.out).map_err(|e| out_err(&opts.out, e))?;
    let started = Instant::now();
    let topo = Topology::build(&scenario);
    let mut nodes = Nodes::instantiate(&scenario, &topo);
    let learner = build_learner(&scenario, &loaded.dir, &nodes)
        .map_err(|p| RunError::Scenario(loaded.error(vec![p])))?;
    let learning = learner.describe();
    let economy = match &scenario.economics {
        Some(spec) => Some(
            Economy::new(
                spec,
                &scenario,
                &mut nodes,
                price_model(spec, &loaded.dir)
                    .map_err(|p| RunError::Scenario(loaded.error(vec![p])))?,
            )
            .map_err(|e| RunError::Check(format!("the genesis distribution was refused: {e}")))?,
        ),
        None => None,
    };
    let mut fed = Federation::new(&scenario, topo, nodes, learner, opts.trace);
    let mut kernel: Kernel<Event> = Kernel::new();
    if let Some(e) = economy {
        fed.attach_economy(e, kernel.scheduler());
    }
    kernel
        .scheduler()
        .schedule_at(SimTime::ZERO, Event::StartRound);
    let horizon = scenario.horizon.time();
    let planned = fed.plan().count;
    progress(0, planned, SimTime::ZERO);
    let stop = loop {
        let stop = kernel.run(&mut fed, horizon, 200_000);
        progress(fed.rounds_done(), planned, kernel.now());
        if stop != StopReason::Budget {
            break stop;
        }
    };
    let wall_s = started.elapsed().as_secs_f64();
    let events = kernel.events_processed();
    if let Some(message) = &fed.economy_error {
        return Err(RunError::Check(format!("{}: {message}", loaded.file)));
    }

    let mut outputs = Vec::new();
    let mut tables = vec![
        tables::rounds_table(&fed.records, fed.economy.as_ref()),
        tables::nodes_table(
            &scenario,
            &fed.nodes,
            fed.routers() > 0,
            fed.learner(),
            fed.economy.as_ref(),
        ),
    ];
    if let Some(trace) = &fed.trace {
        tables.push(tables::transfers_table(trace));
    }
    if let Some(e) = &fed.economy {
        tables.push(econ_tables::ledger_table(e));
        tables.push(econ_tables::blocks_table(e));
        tables.push(econ_tables::epochs_table(e));
        tables.push(econ_tables::operators_table(e, &fed.nodes));
        if scenario.verification.is_some() {
            tables.push(econ_tables::offences_table(e));
            tables.push(econ_tables::behaviours_table(e, &fed.nodes));
        }
    }
    for t in tables {
        let path = t.write(&opts.out).map_err(|e| out_err(&opts.out, e))?;
        outputs.push(
            path.file_name()
                .expect("file")
                .to_string_lossy()
                .into_owned(),
        );
    }
    outputs.push("run.json".into());
    let info = RunInfo {
        dmlsim_version: env!("CARGO_PKG_VERSION").to_string(),
        scenario: scenario.name.clone(),
        scenario_sha256: sha256_hex(&loaded.text),
        seed: scenario.seed,
        learner: fed.learner().name().to_string(),
        nodes: fed.nodes.len() as u64,
        operators: u64::from(fed.nodes.operators),
        routers: fed.routers() as u64,
        rounds_planned: planned,
        rounds_completed: fed.rounds_done(),
        stopped_by: if stop == StopReason::Horizon && fed.rounds_done() < planned {
            "horizon"
        } else {
            "rounds_done"
        }
        .into(),
        sim_time_s: kernel.now().as_secs_f64(),
        events,
        selection_retries: fed.selection_retries,
        wall_s,
        events_per_s: events as f64 / wall_s.max(1e-9),
        outputs,
        learning: learning.map(|info| LearningRecord {
            info,
            model_bytes: fed.plan().model_bytes,
            update_bytes: fed.plan().update_bytes,
        }),
    };
    info.write(&opts.out).map_err(|e| out_err(&opts.out, e))?;
    Ok(info)
}
