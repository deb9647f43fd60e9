//! A sweep's output folder:
//!
//! ```text
//! DIR/sweep.json               the plan: swept fields, cells, replicates, shard
//! DIR/runs.arrow               one row per run: parameters, status, summary
//! DIR/summary.arrow            one row per cell and metric: mean, sd, 95% CI
//! DIR/runs/run-000017.json     run 17's record: status, overrides, its run.json
//! DIR/rounds/run-000017.arrow  run 17's rounds, with run_id and the swept fields
//! DIR/epochs/run-000017.arrow  … one folder per table: one dataset each
//! DIR/.work/                   runs in progress (removed when done)
//! DIR/.sweep.lock              held while a sweep writes the folder
//! ```
//!
//! A run is complete when its record says `ok` and every file it lists is
//! there with its size; anything else of the run is removed and the run is
//! done again, so re-running a sweep resumes it.

use super::plan::{Shard, Sweep};
use crate::output::folder::{ClaimError, acquire_lock};
use crate::output::run_info::FileRecord;
use crate::output::sink::TABLES;
use serde::{Deserialize, Serialize};
use serde_json::Value as Json;
use std::fs::File;
use std::path::{Path, PathBuf};

/// The plan a sweep folder holds, written to `sweep.json`.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct PlanRecord {
    /// dmlsim version that wrote the folder.
    pub dmlsim_version: String,
    /// The sweep's name.
    pub name: String,
    /// The sweep file as named on the command line.
    pub sweep_file: String,
    /// SHA-256 of the sweep file.
    pub sweep_sha256: String,
    /// The base scenario file.
    pub scenario: String,
    /// SHA-256 of the base scenario file.
    pub scenario_sha256: String,
    /// Digest of the run list ([`Sweep::plan_sha256`]).
    pub plan_sha256: String,
    /// Swept field paths, in axis order.
    pub params: Vec<String>,
    /// Each cell's values, aligned with `params`, as `--set` writes them
    /// (YAML on one line; reads back as the sweep file's values).
    pub cells: Vec<Vec<String>>,
    /// Runs per cell.
    pub replicates: u32,
    /// Runs in the whole sweep.
    pub runs: u32,
    /// The shard this folder holds (`[index, count]`), null for all runs.
    pub shard: Option<[u32; 2]>,
}

impl PlanRecord {
    /// The record of a sweep run as `shard`.
    pub fn of(sweep: &Sweep, shard: Option<Shard>) -> PlanRecord {
        PlanRecord {
            dmlsim_version: env!("CARGO_PKG_VERSION").into(),
            name: sweep.name.clone(),
            sweep_file: sweep.file.clone(),
            sweep_sha256: crate::run::sha256_hex(&sweep.text),
            scenario: sweep.scenario.display().to_string(),
            scenario_sha256: crate::run::sha256_hex(&sweep.scenario_text),
            plan_sha256: sweep.plan_sha256(),
            params: sweep.params.clone(),
            cells: sweep
                .cells
                .iter()
                .map(|c| c.iter().map(crate::scenario::flow_text).collect())
                .collect(),
            replicates: sweep.replicates,
            runs: sweep.runs.len() as u32,
            shard: shard.map(|s| [s.index, s.count]),
        }
    }

    /// The cells' values as YAML values (as the sweep file wrote them).
    pub fn yaml_cells(&self) -> Vec<Vec<serde_yaml_ng::Value>> {
        self.cells
            .iter()
            .map(|c| {
                c.iter()
                    .map(|v| serde_yaml_ng::from_str(v).unwrap_or(serde_yaml_ng::Value::Null))
                    .collect()
            })
            .collect()
    }

    /// Reads `DIR/sweep.json`.
    pub fn read(dir: &Path) -> Result<PlanRecord, SweepError> {
        let path = dir.join("sweep.json");
        let text = std::fs::read_to_string(&path).map_err(|e| SweepError::io(&path, e))?;
        serde_json::from_str(&text).map_err(|e| {
            SweepError::Input(format!(
                "{} is not a sweep plan dmlsim wrote: {e}",
                path.display()
            ))
        })
    }
}

/// What a sweep could not do.
#[derive(Debug)]
pub enum SweepError {
    /// Bad input: a folder of another sweep, a damaged plan (exit code 2).
    Input(String),
    /// The folder is being written by another sweep.
    Folder(ClaimError),
    /// A file could not be read or written.
    Io(PathBuf, std::io::Error),
}

impl SweepError {
    /// An I/O error on `path`.
    pub fn io(path: &Path, e: std::io::Error) -> SweepError {
        SweepError::Io(path.to_path_buf(), e)
    }
}

impl std::fmt::Display for SweepError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SweepError::Input(m) => write!(f, "{m}"),
            SweepError::Folder(e) => write!(f, "{e}"),
            SweepError::Io(p, e) => write!(f, "{}: {e}", p.display()),
        }
    }
}

impl std::error::Error for SweepError {}

/// One run's record, `runs/run-NNNNNN.json`.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct RunRecord {
    /// The run's id in the sweep.
    pub run_id: u32,
    /// Its cell.
    pub cell: u32,
    /// Its replicate within the cell.
    pub replicate: u32,
    /// `ok` or `failed`.
    pub status: String,
    /// Why the run failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// The `--set` flags that make the run from the base scenario.
    pub overrides: Vec<String>,
    /// The table files the run wrote, relative to the sweep folder.
    #[serde(default)]
    pub files: Vec<FileRecordIn>,
    /// The run's `run.json` (absent for a failed run).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run: Option<Json>,
}

/// A file entry as read back from a record.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct FileRecordIn {
    /// Path relative to the sweep folder.
    pub name: String,
    /// Size, bytes.
    pub bytes: u64,
    /// Hex SHA-256.
    pub sha256: String,
}

impl From<&FileRecord> for FileRecordIn {
    fn from(f: &FileRecord) -> Self {
        FileRecordIn {
            name: f.name.clone(),
            bytes: f.bytes,
            sha256: f.sha256.clone(),
        }
    }
}

/// A sweep folder, locked for this process.
pub struct SweepDir {
    /// The folder.
    pub root: PathBuf,
    _lock: File,
}

/// `run-000017`.
pub fn run_name(run_id: u32) -> String {
    format!("run-{run_id:06}")
}

impl SweepDir {
    /// Opens (creating it if needed) and locks a sweep folder for `plan`.
    /// A folder of another plan or shard, or one holding files that no
    /// sweep wrote, is refused.
    pub fn open(root: &Path, plan: &PlanRecord) -> Result<SweepDir, SweepError> {
        std::fs::create_dir_all(root).map_err(|e| SweepError::io(root, e))?;
        let lock = acquire_lock(root, &root.join(".sweep.lock")).map_err(SweepError::Folder)?;
        let dir = SweepDir {
            root: root.to_path_buf(),
            _lock: lock,
        };
        if dir.root.join("sweep.json").exists() {
            let held = PlanRecord::read(root)?;
            if held.plan_sha256 != plan.plan_sha256 {
                return Err(SweepError::Input(format!(
                    "{} holds another sweep ({} from {}; its run list differs from this one's); choose another --out, or remove the folder to start over",
                    root.display(),
                    held.name,
                    held.sweep_file
                )));
            }
            if held.shard != plan.shard {
                return Err(SweepError::Input(format!(
                    "{} holds {} of this sweep, not {}; choose another --out for each shard",
                    root.display(),
                    shard_text(held.shard),
                    shard_text(plan.shard)
                )));
            }
        } else if let Some(other) = foreign_entry(root)? {
            return Err(SweepError::Input(format!(
                "refusing to write a sweep into {}: it holds `{other}` and no sweep.json; choose a new or empty folder for --out",
                root.display()
            )));
        }
        dir.write_json(&root.join("sweep.json"), plan)?;
        let work = root.join(".work");
        if work.exists() {
            std::fs::remove_dir_all(&work).map_err(|e| SweepError::io(&work, e))?;
        }
        Ok(dir)
    }

    /// `runs/run-NNNNNN.json`.
    pub fn record_path(&self, run_id: u32) -> PathBuf {
        self.root
            .join("runs")
            .join(format!("{}.json", run_name(run_id)))
    }

    /// The folder a run in progress writes into.
    pub fn work_dir(&self, run_id: u32) -> PathBuf {
        self.root.join(".work").join(run_name(run_id))
    }

    /// `TABLE/run-NNNNNN.arrow`, relative to the sweep folder.
    pub fn table_name(table: &str, run_id: u32) -> String {
        format!("{table}/{}.arrow", run_name(run_id))
    }

    /// The run's record, if it has a readable one.
    pub fn record(&self, run_id: u32) -> Option<RunRecord> {
        read_record(&self.root, run_id)
    }

    /// Whether the run is complete: its record says `ok` for these
    /// overrides and every file it lists is there with its size.
    pub fn is_complete(&self, run_id: u32, overrides: &[String]) -> bool {
        self.record(run_id).is_some_and(|r| {
            r.status == "ok"
                && r.overrides == overrides
                && r.files.iter().all(|f| {
                    std::fs::metadata(self.root.join(&f.name)).is_ok_and(|m| m.len() == f.bytes)
                })
        })
    }

    /// Removes whatever a run left: its record and its table files.
    pub fn clear_run(&self, run_id: u32) -> Result<(), SweepError> {
        let mut paths = vec![self.record_path(run_id), self.work_dir(run_id)];
        paths.extend(
            TABLES
                .iter()
                .map(|t| self.root.join(Self::table_name(t, run_id))),
        );
        for p in paths {
            let removed = if p.is_dir() {
                std::fs::remove_dir_all(&p)
            } else {
                std::fs::remove_file(&p)
            };
            match removed {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                    return Err(SweepError::io(&p, e));
                }
                _ => {}
            }
        }
        Ok(())
    }

    /// Writes a JSON file atomically.
    pub fn write_json<T: Serialize>(&self, path: &Path, value: &T) -> Result<(), SweepError> {
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(|e| SweepError::io(parent, e))?;
        }
        crate::output::table::write_atomically(path, |w| {
            serde_json::to_writer_pretty(&mut *w, value).map_err(std::io::Error::other)?;
            std::io::Write::write_all(w, b"\n")
        })
        .map_err(|e| SweepError::io(path, e))
    }
}

/// Reads `runs/run-NNNNNN.json` under `root`, if readable.
pub fn read_record(root: &Path, run_id: u32) -> Option<RunRecord> {
    let path = root.join("runs").join(format!("{}.json", run_name(run_id)));
    let text = std::fs::read_to_string(path).ok()?;
    serde_json::from_str(&text).ok()
}

fn shard_text(shard: Option<[u32; 2]>) -> String {
    match shard {
        Some([i, n]) => format!("shard {i}/{n}"),
        None => "all runs".into(),
    }
}

/// A name in `root` that a sweep does not write, if any.
fn foreign_entry(root: &Path) -> Result<Option<String>, SweepError> {
    let entries = std::fs::read_dir(root).map_err(|e| SweepError::io(root, e))?;
    for entry in entries {
        let entry = entry.map_err(|e| SweepError::io(root, e))?;
        let name = entry.file_name().to_string_lossy().into_owned();
        let ours = matches!(
            name.as_str(),
            ".sweep.lock"
                | ".work"
                | "runs"
                | "runs.arrow"
                | "summary.arrow"
                | ".sweep.json.partial"
        ) || TABLES.contains(&name.as_str());
        if !ours {
            return Ok(Some(name));
        }
    }
    Ok(None)
}
