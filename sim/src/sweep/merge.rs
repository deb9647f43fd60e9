//! `dmlsim sweep merge`: combines the folders of a sharded sweep into one
//! folder, equal byte for byte (every Arrow file) to the same sweep run
//! unsharded.

use super::index::{IndexCounts, write_index};
use super::store::{PlanRecord, SweepDir, SweepError, read_record};
use std::path::{Path, PathBuf};

/// What a merge found.
#[derive(Clone, Debug, Default)]
pub struct MergeOutcome {
    /// Runs the sweep plans.
    pub planned: u32,
    /// The merged index's counts (`missing`: runs no shard holds).
    pub index: IndexCounts,
    /// Shard indices (of `count`) not among the folders given.
    pub absent_shards: Vec<u32>,
}

/// Merges shard folders into `out`.
pub fn merge(shards: &[PathBuf], out: &Path) -> Result<MergeOutcome, SweepError> {
    if shards.is_empty() {
        return Err(SweepError::Input("name the shard folders to merge".into()));
    }
    let plans: Vec<PlanRecord> = shards
        .iter()
        .map(|s| PlanRecord::read(s))
        .collect::<Result<_, _>>()?;
    let first = &plans[0];
    for (p, s) in plans.iter().zip(shards).skip(1) {
        if p.plan_sha256 != first.plan_sha256 {
            return Err(SweepError::Input(format!(
                "{} holds another sweep than {} (their run lists differ); merge only shards of one sweep",
                s.display(),
                shards[0].display()
            )));
        }
    }
    let mut merged = first.clone();
    merged.shard = None;
    let dir = SweepDir::open(out, &merged)?;
    let mut seen_shards = Vec::new();
    for (plan, shard_dir) in plans.iter().zip(shards) {
        if same_folder(shard_dir, out) {
            return Err(SweepError::Input(format!(
                "{} is both a shard and the merge's --out",
                out.display()
            )));
        }
        if let Some([i, _]) = plan.shard {
            seen_shards.push(i);
        }
        for run_id in 0..plan.runs {
            if let Some([i, n]) = plan.shard
                && run_id % n != i
            {
                continue;
            }
            let Some(record) = read_record(shard_dir, run_id).filter(|r| r.run_id == run_id) else {
                continue;
            };
            for f in &record.files {
                let own = crate::output::sink::TABLES
                    .iter()
                    .any(|t| f.name == SweepDir::table_name(t, run_id));
                if !own {
                    return Err(SweepError::Input(format!(
                        "{}: run {run_id}'s record lists `{}`, which is not one of its table files",
                        shard_dir.display(),
                        f.name
                    )));
                }
            }
            dir.clear_run(run_id)?;
            for f in &record.files {
                let from = shard_dir.join(&f.name);
                let to = dir.root.join(&f.name);
                if let Some(parent) = to.parent() {
                    std::fs::create_dir_all(parent).map_err(|e| SweepError::io(parent, e))?;
                }
                if std::fs::hard_link(&from, &to).is_err() {
                    std::fs::copy(&from, &to).map_err(|e| SweepError::io(&from, e))?;
                }
            }
            dir.write_json(&dir.record_path(run_id), &record)?;
        }
    }
    let absent_shards = match first.shard {
        Some([_, n]) => (0..n).filter(|i| !seen_shards.contains(i)).collect(),
        None => Vec::new(),
    };
    let index = write_index(&dir.root, &merged, |_| true).map_err(|e| SweepError::io(out, e))?;
    Ok(MergeOutcome {
        planned: merged.runs,
        index,
        absent_shards,
    })
}

fn same_folder(a: &Path, b: &Path) -> bool {
    match (std::fs::canonicalize(a), std::fs::canonicalize(b)) {
        (Ok(x), Ok(y)) => x == y,
        _ => false,
    }
}
