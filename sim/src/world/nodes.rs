//! Node instantiation from a node table (see [`super::node_table`]) and
//! from populations and profiles: per-node sampled values from the node's
//! own random stream (so the result is the same with any number of
//! threads), regions by weight, operators owning runs of nodes.

use super::availability::{
    AvailabilityModel, ChurnCursor, churn_online_until, diurnal_online_until,
};
use super::node_table::{self, TableProblem, behaviour_weights, pick_behaviour};
use super::traces::Traces;
use crate::engine::SimTime;
use crate::engine::rng::stream;
use crate::network::Topology;
use crate::scenario::param::ranges;
use crate::scenario::{Availability, Scenario};
use dmlsim_models::behaviour::Behaviour;
use rand::RngExt;
use rayon::prelude::*;
use std::path::Path;

/// Per-node counters accumulated during a run.
#[derive(Clone, Debug, Default)]
pub struct NodeStats {
    /// Rounds the node was selected for.
    pub rounds_selected: Vec<u32>,
    /// Rounds whose update arrived before the deadline.
    pub rounds_completed: Vec<u32>,
    /// Bytes the node uploaded (partial transfers included).
    pub bytes_up: Vec<u64>,
    /// Bytes the node downloaded (partial transfers included).
    pub bytes_down: Vec<u64>,
    /// Simulated time spent computing, in ns.
    pub compute_ns: Vec<u64>,
}

/// All nodes of a run as struct-of-arrays (index = node id).
pub struct Nodes {
    /// Operator that runs each node.
    pub operator: Vec<u32>,
    /// Profile index into `profile_names`.
    pub profile: Vec<u16>,
    /// Profile labels: the scenario's profiles, then labels only the node
    /// table uses.
    pub profile_names: Vec<String>,
    /// GPU name index into `gpu_names`.
    pub gpu_name: Vec<u16>,
    /// GPU names: each scenario profile's (by profile index), then names
    /// only the node table uses.
    pub gpu_names: Vec<String>,
    /// Region index (into the scenario's `regions`).
    pub region: Vec<u16>,
    /// Router the node attaches to (0 without a generated topology).
    pub router: Vec<u32>,
    /// Peak GPU TFLOP/s.
    pub gpu_tflops: Vec<f64>,
    /// Achieved fraction of peak.
    pub gpu_efficiency: Vec<f64>,
    /// GPU memory in GB.
    pub gpu_memory_gb: Vec<f64>,
    /// GPU board power in W.
    pub gpu_watts: Vec<f64>,
    /// Uplink capacity in bit/s.
    pub up_bps: Vec<f64>,
    /// Downlink capacity in bit/s.
    pub down_bps: Vec<f64>,
    /// Diurnal busy window (start, end) in local hours.
    pub busy_hours: Vec<(f32, f32)>,
    /// Availability model of each profile.
    pub profile_availability: Vec<AvailabilityModel>,
    /// Each node's own availability where it differs from its profile's
    /// (empty: every node follows its profile; only node tables set it).
    pub availability: Vec<NodeAvailability>,
    /// Measured availability (node traces and weekly patterns).
    pub traces: Traces,
    /// UTC offset of each region in ns.
    pub region_offset_ns: Vec<i64>,
    churn: Vec<ChurnCursor>,
    seed: u64,
    /// Behaviour of each node (drawn from its profile's weights).
    pub behaviour: Vec<Behaviour>,
    /// Run counters.
    pub stats: NodeStats,
    /// Number of operators.
    pub operators: u32,
    /// Whether each operator is in the network (economics entry/exit rules
    /// turn this off and on); nodes of absent operators are offline.
    pub operator_active: Vec<bool>,
    /// Nodes that hold no training data and are never selected (empty:
    /// every node may be selected).
    pub without_data: Vec<bool>,
    /// Until when each operator's nodes are jailed (offline) for an offence.
    pub operator_jailed_until: Vec<SimTime>,
    /// Under stake-weighted selection: the running sum of the nodes'
    /// weights (node `i`'s is its operator's bonded stake ÷ the operator's
    /// nodes), ascending by id; None under uniform selection.
    pub stake_weights: Option<Vec<u128>>,
    /// Per node: jobs training on it now (empty unless a market runs
    /// several jobs; see [`Nodes::track_busy`]).
    pub busy: Vec<u8>,
    /// Jobs a node may train at once, when `busy` is tracked.
    pub slots: u8,
}

/// A node's availability where a node table gives it one of its own.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum NodeAvailability {
    /// The profile's model.
    Profile,
    /// Always online.
    AlwaysOn,
    /// Offline in the node's busy hours.
    Diurnal,
    /// Online as trace `k` of [`Nodes::traces`] says.
    Trace(u32),
}

struct Draw {
    region: u16,
    router: u32,
    tflops: f64,
    efficiency: f64,
    memory_gb: f64,
    watts: f64,
    up_bps: f64,
    down_bps: f64,
    busy: (f32, f32),
    behaviour: Behaviour,
}

impl Nodes {
    /// Instantiates the node table's nodes (if any), then every
    /// population's (in parallel, deterministically). Files are relative to
    /// `dir`.
    pub fn instantiate(s: &Scenario, topo: &Topology, dir: &Path) -> Result<Nodes, TableProblem> {
        let world_seed = s.seeds().world;
        let region_index = |name: &str| {
            s.regions
                .iter()
                .position(|r| r.name == name)
                .expect("validated region") as u16
        };
        let mut out = Nodes {
            operator: Vec::new(),
            profile: Vec::new(),
            profile_names: s.profiles.iter().map(|p| p.name.clone()).collect(),
            gpu_name: Vec::new(),
            gpu_names: s.profiles.iter().map(|p| p.gpu.name.clone()).collect(),
            availability: Vec::new(),
            traces: Traces::default(),
            region: Vec::new(),
            router: Vec::new(),
            gpu_tflops: Vec::new(),
            gpu_efficiency: Vec::new(),
            gpu_memory_gb: Vec::new(),
            gpu_watts: Vec::new(),
            up_bps: Vec::new(),
            down_bps: Vec::new(),
            busy_hours: Vec::new(),
            behaviour: Vec::new(),
            profile_availability: s
                .profiles
                .iter()
                .map(|p| match &p.availability {
                    Availability::AlwaysOn => AvailabilityModel::AlwaysOn,
                    Availability::Diurnal { .. } => AvailabilityModel::Diurnal,
                    Availability::Churn { mean_up, mean_down } => AvailabilityModel::Churn {
                        mean_up_ns: mean_up.time().nanos() as f64,
                        mean_down_ns: mean_down.time().nanos() as f64,
                    },
                })
                .collect(),
            region_offset_ns: s
                .regions
                .iter()
                .map(|r| (r.utc_offset_h * 3.6e12).round() as i64)
                .collect(),
            churn: Vec::new(),
            seed: s.seeds().world,
            stats: NodeStats::default(),
            operators: 0,
            operator_active: Vec::new(),
            operator_jailed_until: Vec::new(),
            stake_weights: None,
            without_data: Vec::new(),
            busy: Vec::new(),
            slots: 1,
        };
        if let Some(spec) = &s.nodes {
            let in_populations: u64 = s.populations.iter().map(|p| u64::from(p.count)).sum();
            let max_rows = crate::scenario::validate::MAX_NODES.saturating_sub(in_populations);
            node_table::load(spec, s, topo, dir, &mut out, max_rows)?;
        }
        let mut first_id = out.len() as u64;
        for (pop_index, pop) in s.populations.iter().enumerate() {
            let profile_index = s
                .profiles
                .iter()
                .position(|p| p.name == pop.profile)
                .expect("validated profile");
            let profile = &s.profiles[profile_index];
            let weights: Vec<(u16, f64)> = pop
                .regions
                .iter()
                .map(|(name, w)| (region_index(name), *w))
                .collect();
            let total_weight: f64 = weights.iter().map(|w| w.1).sum();
            let behaviours = behaviour_weights(profile);
            let draws: Vec<Draw> = (0..u64::from(pop.count))
                .into_par_iter()
                .map(|i| {
                    let id = first_id + i;
                    let mut rng = stream(world_seed, "node", id);
                    let mut u = rng.random::<f64>() * total_weight;
                    let mut region = weights.last().expect("validated weights").0;
                    for &(r, w) in &weights {
                        if u < w {
                            region = r;
                            break;
                        }
                        u -= w;
                    }
                    let router = topo.attach(region, rng.random::<f64>());
                    let busy = match &profile.availability {
                        Availability::Diurnal {
                            busy_start_h,
                            busy_end_h,
                        } => (
                            busy_start_h.sample(&mut rng) as f32,
                            busy_end_h.sample(&mut rng) as f32,
                        ),
                        _ => (0.0, 0.0),
                    };
                    let gpu = &profile.gpu;
                    let tflops = gpu.tflops.sample_in(ranges::GPU_TFLOPS, &mut rng);
                    let efficiency = gpu.efficiency.sample_in(ranges::GPU_EFFICIENCY, &mut rng);
                    let memory_gb = gpu.memory_gb.sample_in(ranges::GPU_MEMORY_GB, &mut rng);
                    let watts = gpu.watts.sample_in(ranges::GPU_WATTS, &mut rng);
                    let link = &profile.link;
                    let up_bps = link.up_mbps.sample_in(ranges::LINK_MBPS, &mut rng) * 1e6;
                    let down_bps = link.down_mbps.sample_in(ranges::LINK_MBPS, &mut rng) * 1e6;
                    let behaviour = pick_behaviour(&behaviours, &mut rng);
                    Draw {
                        region,
                        router,
                        tflops,
                        efficiency,
                        memory_gb,
                        watts,
                        up_bps,
                        down_bps,
                        busy,
                        behaviour,
                    }
                })
                .collect();
            for d in draws {
                out.profile.push(profile_index as u16);
                out.gpu_name.push(profile_index as u16);
                out.region.push(d.region);
                out.router.push(d.router);
                out.gpu_tflops.push(d.tflops);
                out.gpu_efficiency.push(d.efficiency);
                out.gpu_memory_gb.push(d.memory_gb);
                out.gpu_watts.push(d.watts);
                out.up_bps.push(d.up_bps);
                out.down_bps.push(d.down_bps);
                out.busy_hours.push(d.busy);
                out.behaviour.push(d.behaviour);
            }
            // Operators own consecutive runs of the population's nodes.
            let mut rng = stream(s.seeds().world, "operators", pop_index as u64);
            let mut left = u64::from(pop.count);
            while left > 0 {
                let size =
                    (pop.nodes_per_operator.sample(&mut rng).round().max(1.0) as u64).min(left);
                out.operator
                    .extend(std::iter::repeat_n(out.operators, size as usize));
                out.operators += 1;
                left -= size;
            }
            first_id += u64::from(pop.count);
        }
        let n = out.len();
        if !out.availability.is_empty() {
            out.availability.resize(n, NodeAvailability::Profile);
        }
        out.operator_active = vec![true; out.operators as usize];
        out.operator_jailed_until = vec![SimTime::ZERO; out.operators as usize];
        out.churn = vec![ChurnCursor::default(); n];
        out.stats = NodeStats {
            rounds_selected: vec![0; n],
            rounds_completed: vec![0; n],
            bytes_up: vec![0; n],
            bytes_down: vec![0; n],
            compute_ns: vec![0; n],
        };
        Ok(out)
    }

    /// Each operator's first node (operators of a node table need not own
    /// consecutive nodes).
    pub fn first_node_of_operators(&self) -> Vec<u32> {
        let mut first = vec![u32::MAX; self.operators as usize];
        for (node, &o) in self.operator.iter().enumerate().rev() {
            first[o as usize] = node as u32;
        }
        first
    }

    /// Name of the node's availability, as `nodes.arrow` lists it.
    pub fn availability_label(&self, node: u32) -> &'static str {
        let i = node as usize;
        match self.availability.get(i) {
            None | Some(NodeAvailability::Profile) => {
                self.profile_availability[self.profile[i] as usize].label()
            }
            Some(NodeAvailability::AlwaysOn) => AvailabilityModel::AlwaysOn.label(),
            Some(NodeAvailability::Diurnal) => AvailabilityModel::Diurnal.label(),
            Some(&NodeAvailability::Trace(k)) if self.traces.is_pattern(k) => "weekly",
            Some(NodeAvailability::Trace(_)) => "trace",
        }
    }

    /// Number of nodes.
    pub fn len(&self) -> usize {
        self.profile.len()
    }

    /// Whether there are no nodes.
    pub fn is_empty(&self) -> bool {
        self.profile.is_empty()
    }

    /// Effective training throughput in FLOP/s (peak × efficiency).
    pub fn effective_flops(&self, node: u32) -> f64 {
        let i = node as usize;
        self.gpu_tflops[i] * 1e12 * self.gpu_efficiency[i]
    }

    /// Reads the per-node entries a round goes on to read for each of
    /// `nodes` (its GPU and place), all in one pass. In a population of a
    /// million, each entry is a cache miss; here the misses overlap, where
    /// the round's events would otherwise meet them one at a time. It
    /// changes nothing.
    pub fn warm(&self, nodes: &[u32]) {
        let mut seen = 0u64;
        for &node in nodes {
            let i = node as usize;
            seen ^= self.gpu_tflops[i].to_bits()
                ^ self.gpu_efficiency[i].to_bits()
                ^ u64::from(self.region[i])
                ^ u64::from(self.router.get(i).copied().unwrap_or(0));
        }
        std::hint::black_box(seen);
    }

    /// Reads the entries that `online_until` and `selectable` read for
    /// each of `nodes`, in one pass (see [`Nodes::warm`]). It changes
    /// nothing.
    pub fn warm_availability(&self, nodes: &[u32]) {
        let mut seen = 0u64;
        for &node in nodes {
            let i = node as usize;
            let op = self.operator[i] as usize;
            seen ^= u64::from(self.operator_active[op])
                ^ self.operator_jailed_until[op].nanos()
                ^ u64::from(self.profile[i])
                ^ u64::from(self.region[i])
                ^ self
                    .busy_hours
                    .get(i)
                    .map_or(0, |h| u64::from(h.0.to_bits()))
                ^ u64::from(self.without_data.get(i).copied().unwrap_or(false))
                ^ u64::from(matches!(
                    self.availability.get(i),
                    Some(NodeAvailability::Trace(_))
                ))
                ^ self.churn.get(i).map_or(0, |c| c.warm_key());
        }
        std::hint::black_box(seen);
    }

    /// Weighs selection by each operator's bonded stake (base units),
    /// shared equally by its nodes.
    pub fn set_stake_weights(&mut self, bonded: &[u128]) {
        let mut count = vec![0u128; self.operators as usize];
        for &o in &self.operator {
            count[o as usize] += 1;
        }
        let mut sum = 0u128;
        let cumulative = self
            .operator
            .iter()
            .map(|&o| {
                let o = o as usize;
                sum += bonded.get(o).copied().unwrap_or(0) / count[o].max(1);
                sum
            })
            .collect();
        self.stake_weights = Some(cumulative);
    }

    /// Whether `node` may be selected at all: it holds training data and,
    /// when several jobs run, has a free slot.
    pub fn selectable(&self, node: u32) -> bool {
        !self
            .without_data
            .get(node as usize)
            .copied()
            .unwrap_or(false)
            && self.has_free_slot(node)
    }

    /// Whether `node` can take another job (always, when not tracked).
    pub fn has_free_slot(&self, node: u32) -> bool {
        self.busy.get(node as usize).is_none_or(|&b| b < self.slots)
    }

    /// Starts counting the jobs each node trains, allowing `slots` at once.
    pub fn track_busy(&mut self, slots: u8) {
        self.busy = vec![0; self.len()];
        self.slots = slots.max(1);
    }

    /// A job starts training on `node` (nothing when not tracked).
    pub fn occupy(&mut self, node: u32) {
        if let Some(b) = self.busy.get_mut(node as usize) {
            debug_assert!(*b < self.slots, "node {node} is over its slots");
            *b += 1;
        }
    }

    /// A job stops training on `node` (nothing when not tracked).
    pub fn release(&mut self, node: u32) {
        if let Some(b) = self.busy.get_mut(node as usize) {
            *b = b.saturating_sub(1);
        }
    }

    /// End of the node's current online period at `t`, or None if offline.
    pub fn online_until(&mut self, node: u32, t: SimTime) -> Option<SimTime> {
        let i = node as usize;
        let op = self.operator[i] as usize;
        if !self.operator_active[op] || t < self.operator_jailed_until[op] {
            return None;
        }
        let offset = || self.region_offset_ns[self.region[i] as usize];
        match self.availability.get(i) {
            None | Some(NodeAvailability::Profile) => {}
            Some(NodeAvailability::AlwaysOn) => return Some(SimTime::MAX),
            Some(NodeAvailability::Diurnal) => {
                let (s, e) = self.busy_hours[i];
                return diurnal_online_until(t, offset(), s, e);
            }
            Some(&NodeAvailability::Trace(k)) => return self.traces.online_until(k, t, offset()),
        }
        match &self.profile_availability[self.profile[i] as usize] {
            AvailabilityModel::AlwaysOn => Some(SimTime::MAX),
            AvailabilityModel::Diurnal => {
                let (s, e) = self.busy_hours[i];
                diurnal_online_until(t, offset(), s, e)
            }
            AvailabilityModel::Churn {
                mean_up_ns,
                mean_down_ns,
            } => churn_online_until(
                t,
                self.seed,
                node,
                *mean_up_ns,
                *mean_down_ns,
                &mut self.churn[i],
            ),
        }
    }
}
