//! What a scenario will cost before it runs: peak memory, kernel events and
//! training work, estimated from the file alone (data files only have their
//! header read). A scenario that passes validation can still ask for 80 GB
//! or for billions of events; the estimate refuses it with a located error
//! naming the field responsible — unless `--allow-large` is given — and
//! `validate` prints it.
//!
//! The figures are planning upper bounds, not measurements: rounds are
//! capped by what fits the horizon given a lower bound on a round's length.
//! A change of flow rates queues no event (finish times live in the
//! network), so contention adds nothing to the event count.

use crate::scenario::learning::{DatasetSpec, FileDataSpec, LearningSpec, ModelSpec};
use crate::scenario::{Availability, Generator, PartitionSpec, Scenario};
use serde::Serialize;
use std::path::Path;

/// Most memory a run may be estimated to need without `--allow-large`.
pub const MEMORY_LIMIT_BYTES: f64 = 8.0 * 1024.0 * 1024.0 * 1024.0;
/// Most kernel events (and churn steps) a run may be estimated to need
/// without `--allow-large`: about 5–10 minutes on one core.
pub const EVENTS_LIMIT: f64 = 1e9;
/// Most training FLOPs a run may be estimated to need without
/// `--allow-large`: about half an hour of CPU training on a laptop.
pub const TRAINING_FLOPS_LIMIT: f64 = 1e14;

/// Bytes a node costs (attributes, counters, availability state).
const NODE_BYTES: f64 = 600.0;
/// Kernel events per selected client and round (selection, broadcast,
/// compute, upload, completion; measured: about 6.8 with a 1,000-client
/// round, flushes and wake-ups included).
const EVENTS_PER_CLIENT: f64 = 6.0;

/// One contribution to the estimate, with the scenario field that drives it.
#[derive(Clone, Debug, Serialize)]
pub struct Part {
    /// Scenario path of the field responsible (where an error points).
    pub path: String,
    /// What it is.
    pub what: String,
    /// Memory, bytes.
    pub bytes: f64,
    /// Kernel events (or lazily walked availability periods).
    pub events: f64,
    /// Training work, FLOPs.
    pub flops: f64,
}

/// The estimate of a scenario: the sum of its parts.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Estimate {
    /// Peak memory, bytes.
    pub memory_bytes: f64,
    /// Kernel events.
    pub events: f64,
    /// Training FLOPs.
    pub training_flops: f64,
    /// The contributions.
    #[serde(skip)]
    pub parts: Vec<Part>,
}

impl Estimate {
    /// Estimates a scenario whose data files (if any) are relative to `dir`.
    pub fn of(s: &Scenario, dir: &Path) -> Estimate {
        let mut parts = Vec::new();
        let in_populations: f64 = s.populations.iter().map(|p| f64::from(p.count)).sum();
        let mut nodes = in_populations;
        let horizon_s = s.horizon.time().as_secs_f64();
        parts.push(Part::memory("populations", "nodes", nodes * NODE_BYTES));
        if let Some(t) = &s.nodes {
            let rows = crate::world::node_table::estimated_rows(t, dir);
            nodes += rows;
            parts.push(Part::memory("nodes.table", "nodes", rows * NODE_BYTES));
        }
        if let Some(t) = &s.network.topology {
            let r = f64::from(t.routers);
            let (path, edges) = match &t.generator {
                Generator::BarabasiAlbert { m } => (
                    "network.topology.generator.barabasi_albert.m",
                    r * f64::from(*m),
                ),
                Generator::Waxman { alpha, .. } => (
                    "network.topology.generator.waxman",
                    alpha * r * (r - 1.0) / 2.0,
                ),
            };
            // A link both ways, its adjacency entries and routing tables.
            parts.push(Part::memory(
                path,
                "router links",
                r * 256.0 + edges * 160.0,
            ));
            // A shortest-path search (every link relaxed) per source router
            // that sends: the aggregator's and those nodes attach to.
            parts.push(Part::events(
                path,
                "shortest-path searches (links relaxed)",
                r.min(nodes + 1.0) * (edges + r),
            ));
        }
        let learning = s.learning.as_ref().map(|l| Learning::of(l, nodes, dir));
        let rounds = rounds_in_horizon(s, learning.as_ref());
        let clients = f64::from(s.rounds.clients_per_round).min(nodes);
        parts.push(Part::events(
            if rounds < f64::from(s.rounds.count) {
                "horizon"
            } else {
                "rounds.count"
            },
            "rounds",
            rounds * (clients * EVENTS_PER_CLIENT + 3.0),
        ));
        let may_go_offline = s
            .profiles
            .iter()
            .any(|p| !matches!(p.availability, Availability::AlwaysOn))
            || s.economics
                .as_ref()
                .is_some_and(|e| !e.operator_rules.is_empty());
        if may_go_offline {
            let retry = s.rounds.retry_after.time().as_secs_f64().max(1e-9);
            parts.push(Part::events(
                "rounds.retry_after",
                "selection retries while too few nodes are online",
                horizon_s / retry,
            ));
        }
        for (i, p) in s.profiles.iter().enumerate() {
            if let Availability::Churn { mean_up, mean_down } = &p.availability {
                let period =
                    (mean_up.time().as_secs_f64() + mean_down.time().as_secs_f64()).max(1e-9);
                let members: f64 = s
                    .populations
                    .iter()
                    .filter(|pop| pop.profile == p.name)
                    .map(|pop| f64::from(pop.count))
                    .sum();
                parts.push(Part::events(
                    &format!("profiles[{i}].availability.churn"),
                    "churn periods walked",
                    members * 2.0 * horizon_s / period,
                ));
            }
        }
        if let Some(e) = &s.economics {
            let blocks = horizon_s / e.block_time.time().as_secs_f64().max(1e-9);
            let epochs = horizon_s / e.epoch.time().as_secs_f64().max(1e-9);
            parts.push(Part::events("economics.block_time", "blocks", blocks));
            // Ledger rows (kept for ledger.arrow).
            let operators: f64 = s
                .populations
                .iter()
                .map(|p| f64::from(p.count) / p.nodes_per_operator.support().0.max(1.0))
                .sum::<f64>()
                + (nodes - in_populations); // a table's nodes: at most one operator each
            // Paid per epoch: each operator with work (compute and data
            // shares), no more than the epoch's selected clients; plus a
            // round's fee entries.
            let paid_per_epoch = (2.0 * operators).min(2.0 * clients * rounds / epochs.max(1.0));
            parts.push(Part::memory(
                "economics.epoch",
                "ledger entries and epoch records",
                epochs * (paid_per_epoch * 120.0 + 512.0) + rounds * 3.0 * 120.0,
            ));
        }
        if let Some(l) = learning {
            parts.extend(l.parts(rounds, clients));
        }
        Estimate {
            memory_bytes: parts.iter().map(|p| p.bytes).sum(),
            events: parts.iter().map(|p| p.events).sum(),
            training_flops: parts.iter().map(|p| p.flops).sum(),
            parts,
        }
    }

    /// The limits this estimate exceeds, each as a problem at the path of
    /// its largest part; empty when the run is within bounds.
    pub fn problems(&self) -> Vec<(String, String)> {
        let mut out = Vec::new();
        let mut check = |total: f64, limit: f64, key: fn(&Part) -> f64, what: &str| {
            let (noun, hint) = if what == "memory" {
                ("of memory", "pass --allow-large to run it anyway")
            } else {
                (
                    what,
                    "pass --allow-large to run it anyway (with --max-events or --max-wall to bound it)",
                )
            };
            if total <= limit {
                return;
            }
            let top = self
                .parts
                .iter()
                .max_by(|a, b| key(a).total_cmp(&key(b)))
                .expect("a part exceeds the limit");
            out.push((
                top.path.clone(),
                format!(
                    "this run is estimated to need {} {noun} (most for {}: {}); the limit is {}; {hint}",
                    human(total, what),
                    top.what,
                    human(key(top), what),
                    human(limit, what)
                ),
            ));
        };
        check(self.memory_bytes, MEMORY_LIMIT_BYTES, |p| p.bytes, "memory");
        check(self.events, EVENTS_LIMIT, |p| p.events, "events");
        check(
            self.training_flops,
            TRAINING_FLOPS_LIMIT,
            |p| p.flops,
            "training FLOPs",
        );
        out
    }

    /// One line for `validate`: memory, events, training work.
    pub fn summary(&self) -> String {
        let mut s = format!(
            "estimated ~{} memory, ~{} events",
            human(self.memory_bytes, "memory"),
            human(self.events, "events")
        );
        if self.training_flops > 0.0 {
            s.push_str(&format!(
                ", ~{} training FLOPs",
                human(self.training_flops, "")
            ));
        }
        s
    }
}

impl Part {
    fn memory(path: &str, what: &str, bytes: f64) -> Part {
        Part {
            path: path.into(),
            what: what.into(),
            bytes,
            events: 0.0,
            flops: 0.0,
        }
    }

    fn events(path: &str, what: &str, events: f64) -> Part {
        Part {
            path: path.into(),
            what: what.into(),
            bytes: 0.0,
            events,
            flops: 0.0,
        }
    }
}

/// A quantity for people: bytes in KiB/MiB/GiB, counts in k/M/G.
fn human(v: f64, what: &str) -> String {
    if what == "memory" {
        let units = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];
        let mut v = v;
        let mut u = 0;
        while v >= 1024.0 && u + 1 < units.len() {
            v /= 1024.0;
            u += 1;
        }
        return format!("{v:.1} {}", units[u]);
    }
    let (scale, suffix) = [(1e12, " T"), (1e9, " G"), (1e6, " M"), (1e3, " k")]
        .into_iter()
        .find(|(s, _)| v >= *s)
        .unwrap_or((1.0, ""));
    if v >= 1e15 {
        return format!("{v:.1e}");
    }
    format!("{:.1}{suffix}", v / scale)
}

/// The shape of the training problem.
struct Learning {
    kind: &'static str,
    samples: f64,
    features: f64,
    dataset_bytes: f64,
    per_node_samples: f64,
    partition_bytes: f64,
    params: f64,
    epochs: f64,
    precision_bytes: f64,
}

impl Learning {
    fn of(l: &LearningSpec, nodes: f64, dir: &Path) -> Learning {
        let (kind, samples, features, classes, extra) = match &l.dataset {
            DatasetSpec::Digits => ("digits", 1797.0, 64.0, 10.0, 0.0),
            DatasetSpec::GaussianMixture {
                classes,
                dim,
                samples,
                ..
            } => (
                "gaussian_mixture",
                f64::from(*samples),
                f64::from(*dim),
                f64::from(*classes),
                0.0,
            ),
            DatasetSpec::TeacherStudent {
                classes,
                dim,
                hidden,
                samples,
            } => {
                let (d, h, n) = (f64::from(*dim), f64::from(*hidden), f64::from(*samples));
                // The teacher's weights and its hidden activations.
                let teacher = 4.0 * (d * h + h * f64::from(*classes) + n * h.min(4096.0));
                ("teacher_student", n, d, f64::from(*classes), teacher)
            }
            DatasetSpec::Csv(f) => file_shape("csv", f, dir),
            DatasetSpec::Arrow(f) => file_shape("arrow", f, dir),
            DatasetSpec::Parquet(f) => file_shape("parquet", f, dir),
        };
        // Features as f32, once loaded and once split and standardised.
        let dataset_bytes = samples * features * 4.0 * 2.0 + samples * 8.0 + extra;
        let train = samples * (1.0 - l.test_fraction);
        let per_node_samples = match l.samples_per_node {
            Some(m) => f64::from(m).min(train.max(1.0)),
            None => train / nodes.max(1.0),
        };
        let partition_bytes = match (&l.partition, l.samples_per_node) {
            (PartitionSpec::Shards { per_client }, None) => {
                nodes * f64::from(*per_client) * 32.0 + train * 4.0
            }
            _ => nodes * (per_node_samples * 4.0 + 24.0),
        };
        let mut sizes = vec![features];
        if let ModelSpec::Mlp { hidden } = &l.model {
            sizes.extend(hidden.iter().map(|&h| f64::from(h)));
        }
        sizes.push(classes.max(2.0));
        let params = sizes.windows(2).map(|w| (w[0] + 1.0) * w[1]).sum();
        Learning {
            kind,
            samples,
            features,
            dataset_bytes,
            per_node_samples,
            partition_bytes,
            params,
            epochs: f64::from(l.local.epochs),
            precision_bytes: f64::from(l.precision_bytes),
        }
    }

    /// The real model's bytes on the wire (a lower bound for the round).
    fn model_bytes(&self) -> f64 {
        self.params * self.precision_bytes
    }

    fn parts(&self, rounds: f64, clients: f64) -> Vec<Part> {
        let dataset_path = format!("learning.dataset.{}", self.kind);
        let mut parts = vec![
            Part::memory(
                &dataset_path,
                &format!(
                    "the dataset ({} × {} features)",
                    human(self.samples, ""),
                    human(self.features, "")
                ),
                self.dataset_bytes,
            ),
            Part::memory(
                "learning.partition",
                "the nodes' example lists",
                self.partition_bytes,
            ),
        ];
        if self.params > crate::learning_setup::MAX_REAL_PARAMETERS as f64 {
            // Refused on its own, with the advice to declare a logical model.
            return parts;
        }
        parts.extend([
            // Every contributor's update exists at once when a round closes
            // (plus its compressed copy), besides the global model and buffers.
            Part::memory(
                "learning.model",
                &format!(
                    "{} simultaneous updates of {} parameters",
                    clients,
                    human(self.params, "")
                ),
                self.params * 4.0 * (2.0 * clients + 8.0),
            ),
        ]);
        // Forward and backward: about 6 FLOPs per parameter and example.
        let per_round = clients * self.per_node_samples * self.epochs * 6.0 * self.params;
        parts.push(Part {
            path: "learning.local.epochs".into(),
            what: "local training".into(),
            bytes: 0.0,
            events: 0.0,
            flops: rounds * per_round,
        });
        parts
    }
}

/// Kind, rows, features, classes and extra bytes of a data file, from its
/// size and its header alone (classes are not known before reading: 2).
fn file_shape(
    kind: &'static str,
    f: &FileDataSpec,
    dir: &Path,
) -> (&'static str, f64, f64, f64, f64) {
    let path = dir.join(&f.path);
    let bytes = std::fs::metadata(&path).map_or(0.0, |m| m.len() as f64);
    let columns = if f.features.is_empty() {
        header_columns(kind, &path).saturating_sub(1) as f64
    } else {
        f.features.len() as f64
    };
    let features = columns.max(1.0);
    // At least two bytes per value in text, eight in binary files.
    let per_value = if kind == "csv" { 2.0 } else { 4.0 };
    let rows = bytes / (per_value * (features + 1.0));
    (kind, rows, features, 2.0, bytes)
}

/// Columns of a data file from its header (0 when it cannot be read; the
/// loader reports why).
fn header_columns(kind: &str, path: &Path) -> usize {
    use std::io::{BufRead, Read};
    let Ok(file) = std::fs::File::open(path) else {
        return 0;
    };
    match kind {
        "csv" => {
            let mut line = String::new();
            let _ = std::io::BufReader::new(file.take(1 << 20)).read_line(&mut line);
            line.split(',').count()
        }
        // The decoders can panic on corrupt files; the loader reports those.
        "arrow" => crate::learning_setup::decode_guarded("Arrow IPC", || {
            Ok(arrow_ipc::reader::FileReader::try_new(file, None)
                .map_or(0, |r| r.schema().fields().len()))
        })
        .unwrap_or(0),
        _ => crate::learning_setup::decode_guarded("Parquet", || {
            Ok(
                parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(file)
                    .map_or(0, |b| b.schema().fields().len()),
            )
        })
        .unwrap_or(0),
    }
}

/// Rounds the run can close: the count, or fewer when even the fastest
/// possible round (the aggregator's uplink sending the model to every
/// client, plus the gap) leaves room for fewer in the horizon.
fn rounds_in_horizon(s: &Scenario, learning: Option<&Learning>) -> f64 {
    let count = f64::from(s.rounds.count);
    let clients = f64::from(s.rounds.clients_per_round);
    let model_bytes = match (learning, &s.rounds.model_bytes) {
        (Some(l), _) => l.model_bytes(),
        (None, Some(b)) => b.0 as f64,
        (None, None) => 0.0,
    };
    let broadcast = clients * model_bytes * 8.0 / (s.aggregator.up_mbps * 1e6).max(1.0);
    let deadline = s.rounds.deadline.time().as_secs_f64();
    let shortest = s.rounds.gap.time().as_secs_f64() + broadcast.min(deadline);
    if shortest <= 0.0 {
        return count;
    }
    count.min((s.horizon.time().as_secs_f64() / shortest).ceil())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantities_read_as_people_write_them() {
        assert_eq!(human(3.0 * 1024.0 * 1024.0, "memory"), "3.0 MiB");
        assert_eq!(human(80e9, "memory"), "74.5 GiB");
        assert_eq!(human(2.5e9, "events"), "2.5 G");
        assert_eq!(human(12.0, "events"), "12.0");
    }
}
