//! `run.json`: what produced a run's tables and how long it took.

use serde::Serialize;
use std::path::Path;

/// The run record written beside the tables.
#[derive(Clone, Debug, Serialize)]
pub struct RunInfo {
    /// dmlsim version that produced the run.
    pub dmlsim_version: String,
    /// Scenario name.
    pub scenario: String,
    /// SHA-256 of the scenario file's bytes, hex.
    pub scenario_sha256: String,
    /// Seed used (the scenario's, or the `--seed` override).
    pub seed: u64,
    /// The seed of each group of random streams (each follows `seed` unless
    /// the scenario's `seeds` section sets it).
    pub seeds: crate::scenario::Seeds,
    /// `--set path=value` overrides applied to the scenario file, in order.
    pub overrides: Vec<String>,
    /// The command line that produced the run (empty when run as a library).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub command: Vec<String>,
    /// Every input file the run read — the scenario, a data table, a price
    /// series — with its size and SHA-256 (paths as the scenario names them).
    pub inputs: Vec<FileRecord>,
    /// The learner behind the rounds.
    pub learner: String,
    /// Number of nodes.
    pub nodes: u64,
    /// Number of operators.
    pub operators: u64,
    /// Routers in a generated topology (0 with a latency matrix).
    pub routers: u64,
    /// Rounds asked for.
    pub rounds_planned: u32,
    /// Rounds closed.
    pub rounds_completed: u32,
    /// Why the run ended: `rounds_done`, `no_operators` (every operator
    /// left the network before the job finished) or `horizon`.
    pub stopped_by: String,
    /// With `no_operators`: since when the network has been empty, in s.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub no_operators_since_s: Option<f64>,
    /// Simulated time at the end, in s.
    pub sim_time_s: f64,
    /// Events handled by the kernel.
    pub events: u64,
    /// Selection retries for lack of online nodes.
    pub selection_retries: u64,
    /// Wall-clock time of the simulation, in s.
    pub wall_s: f64,
    /// Events per wall-clock second.
    pub events_per_s: f64,
    /// The manifest: every table file written, relative to the output
    /// folder, with its size and SHA-256 (`run.json` itself is written
    /// last and not listed).
    pub files: Vec<FileRecord>,
    /// Headline figures of each table.
    pub summary: super::summary::Summary,
    /// What the scenario was estimated to cost before it ran (upper
    /// bounds: memory in bytes, kernel events, training FLOPs).
    pub estimate: crate::estimate::Estimate,
    /// Things the run could not do but went on without (e.g. a parameter
    /// change a policy asked for that does not apply to this run).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
    /// The scenario's checks, which `dmlsim check` evaluates on this
    /// folder (absent when the scenario declares none).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub checks: Vec<crate::check::NamedCheck>,
    /// What is trained on what (absent for timing-only runs).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub learning: Option<LearningRecord>,
}

/// One file of the run's manifest.
#[derive(Clone, Debug, Serialize)]
pub struct FileRecord {
    /// File name, relative to the output folder.
    pub name: String,
    /// Size, bytes.
    pub bytes: u64,
    /// Hex SHA-256 of the file's bytes.
    pub sha256: String,
}

impl FileRecord {
    /// The record of a file's bytes.
    pub fn of_bytes(name: &str, bytes: &[u8]) -> FileRecord {
        use sha2::Digest;
        FileRecord {
            name: name.to_string(),
            bytes: bytes.len() as u64,
            sha256: super::sink::hex(&sha2::Sha256::digest(bytes)),
        }
    }

    /// The manifest entry of a written table.
    pub fn of(t: &super::sink::WrittenTable) -> FileRecord {
        FileRecord {
            name: format!("{}.arrow", t.name),
            bytes: t.bytes,
            sha256: t.sha256.clone(),
        }
    }
}

/// The learning setup of a run: the learner's description and the message
/// sizes on the wire.
#[derive(Clone, Debug, Serialize)]
pub struct LearningRecord {
    /// What is trained on what.
    #[serde(flatten)]
    pub info: dmlsim_models::learning::LearningInfo,
    /// Bytes of the global model on the wire.
    pub model_bytes: u64,
    /// Bytes of one update on the wire.
    pub update_bytes: u64,
    /// The first round after which the global model held a non-finite
    /// parameter (training diverged; losses are NaN from then on).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub diverged_at_round: Option<u32>,
}
impl RunInfo {
    /// Fills the manifest and the row counts from the finished tables.
    pub fn record_files(&mut self, written: &[super::sink::WrittenTable]) {
        self.files = written.iter().map(FileRecord::of).collect();
        self.summary.rows = written.iter().map(|t| (t.name, t.rows)).collect();
    }

    /// Writes `DIR/run.json` atomically.
    pub fn write(&self, dir: &Path) -> std::io::Result<()> {
        super::table::write_atomically(&dir.join("run.json"), |w| {
            serde_json::to_writer_pretty(&mut *w, self).map_err(std::io::Error::other)?;
            std::io::Write::write_all(w, b"\n")
        })
    }
}
