//! The typed scenario: what a YAML file parses into. Field docs here become
//! the JSON Schema descriptions that editors show.

use super::bytes::ByteSize;
use super::duration::Duration;
use super::learning::LearningSpec;
use super::param::Param;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// A complete scenario: the network, its nodes and the federated rounds.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    /// Short name of the scenario, recorded in `run.json`.
    pub name: String,
    /// Free text describing what the scenario studies.
    #[serde(default)]
    pub description: Option<String>,
    /// The seed every random stream is derived from, unless `seeds` gives a
    /// group of streams its own.
    pub seed: u64,
    /// Separate seeds for groups of random streams (each defaults to
    /// `seed`), so variants can share some draws (common random numbers)
    /// and vary others.
    #[serde(default)]
    pub seeds: SeedsSpec,
    /// Simulated time after which the run stops, e.g. `2d`.
    pub horizon: Duration,
    /// Geographic regions nodes live in.
    pub regions: Vec<Region>,
    /// How latency (and, on a generated topology, core capacity) is modelled.
    pub network: NetworkSpec,
    /// Hardware and availability profiles nodes are drawn from.
    pub profiles: Vec<Profile>,
    /// Groups of nodes instantiated from a profile (may be empty when
    /// `nodes` reads them from a table).
    #[serde(default)]
    pub populations: Vec<Population>,
    /// Nodes read from a table, one row per node, with measured
    /// availability; they come before the populations' nodes.
    #[serde(default)]
    pub nodes: Option<NodeTableSpec>,
    /// The coordinator that broadcasts the model and aggregates updates.
    pub aggregator: Aggregator,
    /// Federated round settings.
    pub rounds: Rounds,
    /// Real federated learning (data, model, training, aggregation); rounds
    /// are timing-only without it.
    #[serde(default)]
    pub learning: Option<LearningSpec>,
    /// The token economy (ledger, blocks, emission, rewards, USD costs,
    /// cloud baseline); absent for runs without one.
    #[serde(default)]
    pub economics: Option<super::EconomicsSpec>,
    /// Verification of claimed work and slashing (needs `learning` and `economics`).
    #[serde(default)]
    pub verification: Option<super::VerificationSpec>,
    /// On-chain governance: proposals that change the economy's live
    /// parameters, and how owners vote on them (needs `economics`).
    #[serde(default)]
    pub governance: Option<super::GovernanceSpec>,
    /// Agents buying training on the network or in the cloud, and the
    /// compute market pricing the network (needs `economics.cloud`).
    #[serde(default)]
    pub market: Option<super::MarketSpec>,
    /// Targets of the derived metrics (time to accuracy).
    #[serde(default)]
    pub metrics: MetricsSpec,
    /// Checks of the outputs (`dmlsim check`, `dmlsim run --check`):
    /// expressions over the tables and `run.json` that must be true.
    #[serde(default)]
    pub checks: Vec<crate::check::CheckEntry>,
}

/// What the derived metrics of `run.json`'s summary measure against.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MetricsSpec {
    /// Test accuracies, each in (0, 1], whose time to reach is reported
    /// (`summary.rounds.accuracy_targets`), e.g. `[0.8, 0.9]`.
    #[serde(default)]
    pub accuracy_targets: Vec<f64>,
    /// Rounds in a row the accuracy must stay at or above a target for
    /// the sustained time to accuracy (default 3).
    #[serde(default = "default_sustained_rounds")]
    pub sustained_rounds: u32,
}

fn default_sustained_rounds() -> u32 {
    3
}

impl Default for MetricsSpec {
    fn default() -> Self {
        MetricsSpec {
            accuracy_targets: Vec::new(),
            sustained_rounds: default_sustained_rounds(),
        }
    }
}

/// Per-group seeds; an absent one follows `seed`.
#[derive(Clone, Debug, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SeedsSpec {
    /// Hardware, links, availability, behaviours, operators and topology.
    #[serde(default)]
    pub world: Option<u64>,
    /// Which clients each round selects.
    #[serde(default)]
    pub selection: Option<u64>,
    /// Datasets, their split and partition, and local training.
    #[serde(default)]
    pub training: Option<u64>,
    /// The token-price path.
    #[serde(default)]
    pub price: Option<u64>,
    /// Verification draws (which updates are checked, by which validator).
    #[serde(default)]
    pub verification: Option<u64>,
    /// Governance draws (which owners stay away from a vote).
    #[serde(default)]
    pub governance: Option<u64>,
    /// Market draws (agents' job arrivals).
    #[serde(default)]
    pub market: Option<u64>,
}

/// The seed of each group of random streams of a run, resolved.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Seeds {
    /// Hardware, links, availability, behaviours, operators and topology.
    pub world: u64,
    /// Client selection.
    pub selection: u64,
    /// Datasets, partitions and local training.
    pub training: u64,
    /// The token-price path.
    pub price: u64,
    /// Verification draws.
    pub verification: u64,
    /// Governance draws.
    pub governance: u64,
    /// Market draws (agents' job arrivals).
    pub market: u64,
}

impl Scenario {
    /// Each stream group's seed: its own if set, else `seed`.
    pub fn seeds(&self) -> Seeds {
        let s = &self.seeds;
        let or = |v: Option<u64>| v.unwrap_or(self.seed);
        Seeds {
            world: or(s.world),
            selection: or(s.selection),
            training: or(s.training),
            price: or(s.price),
            verification: or(s.verification),
            governance: or(s.governance),
            market: or(s.market),
        }
    }
}

/// A region: a time zone and an electricity price.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Region {
    /// Unique region name, referenced by populations and the aggregator.
    pub name: String,
    /// Offset of local time from UTC in hours (−12 … +14); drives diurnal availability.
    pub utc_offset_h: f64,
    /// Electricity price in USD per kWh (used by the economics).
    #[serde(default)]
    pub electricity_usd_per_kwh: f64,
}

/// Latency model: a region latency matrix, or a generated router topology.
#[derive(Clone, Debug, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NetworkSpec {
    /// One-way latency in milliseconds between regions, a square matrix in
    /// the order of `regions` (row = sender's region).
    #[serde(default)]
    pub latency_ms: Option<Vec<Vec<f64>>>,
    /// A generated router topology; flows also cross its links.
    #[serde(default)]
    pub topology: Option<TopologySpec>,
}

/// A generated router graph: nodes attach to a router of their region, and
/// a transfer follows the lowest-latency path between routers.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TopologySpec {
    /// The random-graph model.
    #[serde(deserialize_with = "super::tagged::one_key_map")]
    pub generator: Generator,
    /// Number of routers (≥ 2 and ≥ the number of regions).
    pub routers: u32,
    /// Capacity of each router-to-router link in Gbit/s (sampled per link).
    pub link_gbps: Param,
    /// Fixed latency of every router link in milliseconds.
    #[serde(default = "default_link_base_ms")]
    pub link_base_ms: f64,
    /// Extra latency per unit of distance in the unit square, in milliseconds.
    #[serde(default = "default_link_ms_per_unit")]
    pub link_ms_per_unit: f64,
}

fn default_link_base_ms() -> f64 {
    1.0
}
fn default_link_ms_per_unit() -> f64 {
    100.0
}

/// Random-graph models for the router topology.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum Generator {
    /// Waxman: routers uniform in the unit square; an edge u–v exists with
    /// probability `beta · exp(−d(u,v) / (alpha · √2))`.
    Waxman {
        /// Distance sensitivity in (0, 1].
        alpha: f64,
        /// Edge density in (0, 1].
        beta: f64,
    },
    /// Barabási–Albert preferential attachment: each new router links to
    /// `m` existing ones with probability proportional to their degree.
    BarabasiAlbert {
        /// Links per new router (1 ≤ m < routers).
        m: u32,
    },
}

/// A hardware and availability profile.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Profile {
    /// Unique profile name, referenced by populations.
    pub name: String,
    /// The node's accelerator.
    pub gpu: Gpu,
    /// The node's access link.
    pub link: AccessLink,
    /// When the node is online; `always_on` if omitted.
    #[serde(default, deserialize_with = "super::tagged::one_key_map")]
    pub availability: Availability,
    /// Behaviour name → weight, drawn per node (`honest`, `lazy`,
    /// `sign_flip`, `scaled`, `gaussian_noise`, `label_flip`); all honest if
    /// omitted. Needs a `learning` section.
    #[serde(default)]
    pub behaviour: BTreeMap<String, f64>,
}

/// An accelerator; every numeric field may be a distribution.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Gpu {
    /// Card name, e.g. `RTX 4090`.
    pub name: String,
    /// Peak throughput in TFLOP/s at the precision training uses (> 0).
    pub tflops: Param,
    /// Memory in GB (≥ 0).
    #[serde(default = "zero_param")]
    pub memory_gb: Param,
    /// Board power in watts while busy (≥ 0).
    #[serde(default = "zero_param")]
    pub watts: Param,
    /// Achieved fraction of peak while training, in (0, 1].
    pub efficiency: Param,
}

fn zero_param() -> Param {
    Param::Const(0.0)
}

/// Access link capacities in Mbit/s (> 0).
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AccessLink {
    /// Upload capacity in Mbit/s.
    pub up_mbps: Param,
    /// Download capacity in Mbit/s.
    pub down_mbps: Param,
}

/// When a node can take part in a round. Evaluated lazily from time: idle
/// nodes cost no events.
#[derive(Clone, Debug, Default, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum Availability {
    /// Always online.
    #[default]
    AlwaysOn,
    /// Offline during the owner's busy hours each day, in the region's local
    /// time; the window may wrap midnight (`busy_start_h: 22, busy_end_h: 2`).
    Diurnal {
        /// Local hour the owner starts using the machine, in [0, 24].
        busy_start_h: Param,
        /// Local hour the owner stops, in [0, 24].
        busy_end_h: Param,
    },
    /// Alternating online/offline periods with exponentially distributed
    /// lengths (a memoryless on/off process).
    Churn {
        /// Mean length of an online period.
        mean_up: Duration,
        /// Mean length of an offline period.
        mean_down: Duration,
    },
}

/// A group of nodes drawn from one profile.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Population {
    /// Name of the profile in `profiles`.
    pub profile: String,
    /// Number of nodes.
    pub count: u32,
    /// Region name → weight; each node's region is drawn by weight.
    pub regions: BTreeMap<String, f64>,
    /// Nodes run by one operator (sampled per operator, rounded, ≥ 1);
    /// operators own consecutive nodes of the population.
    #[serde(default = "one_param")]
    pub nodes_per_operator: Param,
}

/// Nodes from files: a node table (one row per node) and, optionally,
/// availability traces and weekly patterns. Paths are relative to the
/// scenario file; the format follows the extension (`.csv`, `.arrow`,
/// `.parquet`).
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NodeTableSpec {
    /// The node table: one row per node (`region`, `gpu_tflops`,
    /// `up_mbps`, `down_mbps` required; see the scenario reference for the
    /// optional columns).
    pub table: String,
    /// Per-node online intervals: rows of `node_id`, `start_s`, `end_s`
    /// (seconds from the run's start).
    #[serde(default)]
    pub traces: Option<String>,
    /// Period after which every trace repeats (FedScale-style); without it
    /// a node is offline after its trace's last interval.
    #[serde(default)]
    pub trace_period: Option<Duration>,
    /// Weekly patterns: rows of `pattern`, `start_h`, `end_h` (online hours
    /// of the week in the node's local time, Monday 00:00 = 0), referenced
    /// by the node table's `pattern` column.
    #[serde(default)]
    pub patterns: Option<String>,
}

fn one_param() -> Param {
    Param::Const(1.0)
}

/// The coordinator: its region and its own link.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Aggregator {
    /// Region name.
    pub region: String,
    /// Upload capacity in Mbit/s (model broadcasts share it).
    pub up_mbps: f64,
    /// Download capacity in Mbit/s (client updates share it).
    pub down_mbps: f64,
}

/// Federated round settings.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Rounds {
    /// Number of rounds to run.
    pub count: u32,
    /// Clients selected (uniformly among available nodes) per round.
    pub clients_per_round: u32,
    /// A round starts only when at least this many nodes are available;
    /// otherwise selection is retried after `retry_after`.
    #[serde(default = "one_u32")]
    pub min_clients: u32,
    /// Wait before retrying selection when too few nodes are available.
    #[serde(default = "default_retry")]
    pub retry_after: Duration,
    /// Time from a round's start after which late updates are dropped.
    pub deadline: Duration,
    /// Pause between the end of one round and the start of the next.
    #[serde(default)]
    pub gap: Duration,
    /// Size of the global model sent to each client, in bytes (timing-only
    /// runs; with `learning` the model sets it).
    #[serde(default)]
    pub model_bytes: Option<ByteSize>,
    /// Size of each client's update, in bytes; `model_bytes` if omitted
    /// (timing-only runs).
    #[serde(default)]
    pub update_bytes: Option<ByteSize>,
    /// Local work per client per round, in FLOPs (timing-only runs; with
    /// `learning` it follows the model and the node's data).
    #[serde(default)]
    pub client_flops: Option<f64>,
}

fn one_u32() -> u32 {
    1
}
fn default_retry() -> Duration {
    Duration(crate::engine::SimTime::from_secs(300))
}
