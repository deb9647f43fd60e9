//! One federated training job's round state machine:
//!
//! ```text
//! StartRound ──select──▶ broadcast flows ──(network: flow finished)──▶ Delivered(Broadcast)
//!      ▲                                                                  │ compute
//!      │ gap                                                              ▼
//!  close round ◀── all settled / Deadline ◀── Delivered(Upload) ◀── upload flows
//! ```
//!
//! The job owns its round state, its learner and its records. It uses the
//! world (nodes) and the network as resources through a [`JobCtx`]; when
//! every client of a round is settled it hands the root a [`RoundEnded`],
//! and the root has the round verified and calls [`Job::close_round`],
//! which aggregates and reports a [`RoundClosed`] fact.

use super::records::{RoundRecord, TransferKind};
use super::selection::{Chosen, select_clients};
use crate::engine::rng::{StreamRng, stream};
use crate::engine::{EventId, Scheduler, SimTime};
use crate::network::{FlowFinished, FlowId, Network, TransferTag};
use crate::params::{RoundParams, Versioned};
use crate::system::{BadApproval, Contribution, Event, JobEvent, JobId, Misconduct, RoundClosed};
use crate::verification::RoundChecks;
use crate::world::Nodes;
use dmlsim_models::econ::slashing::Offence;
use dmlsim_models::learning::{Learner, RoundUpdates};

/// What a job uses while handling an event: the clock, the network, the
/// nodes and its round parameters.
pub struct JobCtx<'a> {
    /// The scheduler.
    pub sched: &'a mut Scheduler<Event>,
    /// The network, for transfers.
    pub net: &'a mut Network,
    /// The nodes, for selection and per-node counters.
    pub nodes: &'a mut Nodes,
    /// Round parameters (versioned: read at the time they are used).
    pub rounds: &'a Versioned<RoundParams>,
}

/// Fixed sizes and length of a job.
#[derive(Clone, Debug)]
pub struct JobPlan {
    /// Rounds to run.
    pub count: u32,
    /// Global model size in bytes.
    pub model_bytes: u64,
    /// Client update size in bytes.
    pub update_bytes: u64,
    /// Whether rounds are settled on a chain (closed rounds then carry the
    /// aggregated model's hash, which is otherwise not computed).
    pub settle: bool,
    /// The nodes a job hired for its whole length (a market job: each
    /// round trains on those of them online); None selects clients anew
    /// every round from the nodes with a free slot.
    pub clients: Option<Vec<u32>>,
    /// Bytes added to round 0's broadcast to each client: its shard of
    /// the training data, staged with the first model.
    pub first_broadcast_extra: u64,
    /// Where each client downloads its shard of a bought dataset from,
    /// before its first model (in round 0, or the first round it is
    /// online for).
    pub stage: Option<Staging>,
}

/// A dataset's shards staged from hosting nodes to a job's clients.
#[derive(Clone, Debug)]
pub struct Staging {
    /// Nodes hosting the dataset: client slot `i` of the first round a
    /// client is in downloads from `hosts[i % hosts.len()]` (nothing when
    /// it is that host).
    pub hosts: Vec<u32>,
    /// Bytes of each client's shard.
    pub shard_bytes: u64,
}

impl Staging {
    /// The host that serves client slot `slot`.
    pub fn host(&self, slot: u32) -> u32 {
        self.hosts[slot as usize % self.hosts.len()]
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Phase {
    Downloading,
    Computing,
    Uploading,
    Done,
}

struct Client {
    node: u32,
    online_until: SimTime,
    phase: Phase,
    flow: Option<FlowId>,
    compute_event: Option<EventId>,
    t_downloaded: SimTime,
    t_computed: SimTime,
    bytes: u64,
    /// Of `bytes`, those uploaded.
    bytes_up: u64,
    /// Time spent computing, ns.
    compute_ns: u64,
    /// Whether its update arrived in time.
    completed: bool,
    /// Trace row of the transfer on its way to the receiver, when tracing.
    arriving: Option<usize>,
}

/// Sums of the phase durations of clients that completed, s.
#[derive(Clone, Copy, Debug, Default)]
struct PhaseSums {
    download_s: f64,
    compute_s: f64,
    upload_s: f64,
}

struct ActiveRound {
    index: u32,
    t_start: SimTime,
    deadline_event: EventId,
    clients: Vec<Client>,
    outstanding: u32,
    completed: u32,
    dropped_late: u32,
    dropped_offline: u32,
    bytes_up: u64,
    bytes_down: u64,
    contributors: Vec<u32>,
    dropped_nodes: Vec<u32>,
    sums: PhaseSums,
    /// Whether the clients' statistics were added to their nodes'.
    node_stats_added: bool,
    /// Whether the clients are the job's hired nodes (which hold their
    /// slot for the whole job, not per round).
    clients_hired: bool,
    /// Shard bytes each hosting node served in the round.
    served: Vec<(u32, u64)>,
}

/// A round whose clients are all settled, waiting for verification and
/// aggregation ([`Job::close_round`]).
pub struct RoundEnded {
    round: ActiveRound,
}

impl RoundEnded {
    /// Nodes whose update arrived in time, ascending.
    pub fn contributors(&self) -> &[u32] {
        &self.round.contributors
    }
}

enum Outcome {
    Arrived,
    Offline,
    Late,
}

/// A federated training job.
pub struct Job<L: Learner> {
    id: JobId,
    plan: JobPlan,
    learner: L,
    selection_rng: StreamRng,
    round: Option<ActiveRound>,
    next_round: u32,
    /// Closed rounds not yet taken out ([`Job::take_records`]), in order.
    pub records: Vec<RoundRecord>,
    closed: u32,
    /// Times selection found too few online nodes and was retried.
    pub selection_retries: u64,
    /// Clients that hold their shard of a staged dataset, ascending.
    staged: Vec<u32>,
}

impl<L: Learner> Job<L> {
    /// A job running `plan` with `learner`, selecting clients from the
    /// `selection` stream of `seed`.
    pub fn new(id: JobId, plan: JobPlan, learner: L, seed: u64) -> Job<L> {
        Job {
            id,
            plan,
            learner,
            selection_rng: stream(seed, "selection", 0),
            round: None,
            next_round: 0,
            records: Vec::new(),
            closed: 0,
            selection_retries: 0,
            staged: Vec::new(),
        }
    }

    /// The job's id.
    pub fn id(&self) -> JobId {
        self.id
    }

    /// The learner (for its name and final state).
    pub fn learner(&self) -> &L {
        &self.learner
    }

    /// Sizes and length of the job.
    pub fn plan(&self) -> &JobPlan {
        &self.plan
    }

    /// Rounds closed so far.
    pub fn rounds_done(&self) -> u32 {
        self.closed
    }

    /// Whether every planned round has closed.
    pub fn is_done(&self) -> bool {
        self.next_round >= self.plan.count
    }

    /// The updates of an ended round, for verification to inspect.
    pub fn updates<'a>(&'a mut self, ended: &'a RoundEnded) -> RoundUpdates<'a> {
        RoundUpdates::new(
            ended.round.index,
            &ended.round.contributors,
            &mut self.learner,
        )
    }

    /// Takes the records of closed rounds up to and including `through`
    /// (all of them with None), so a long run can stream them out.
    pub fn take_records(&mut self, through: Option<u32>) -> Vec<RoundRecord> {
        let n = match through {
            Some(r) => self.records.partition_point(|x| x.round <= r),
            None => self.records.len(),
        };
        self.records.drain(..n).collect()
    }

    /// Records the stake slashed for a closed round's offences.
    pub fn note_slashed(&mut self, round: u32, slashed: u128) {
        if let Some(r) = self.records.iter_mut().rev().find(|r| r.round == round) {
            r.slashed = slashed;
        }
    }

    fn event(&self, e: JobEvent) -> Event {
        Event::Job(e)
    }

    /// Handles one of the job's events; returns a round whose clients are
    /// all settled.
    pub fn handle(&mut self, event: JobEvent, ctx: &mut JobCtx) -> Option<RoundEnded> {
        match event {
            JobEvent::StartRound { .. } => {
                self.start_round(ctx);
                None
            }
            JobEvent::Delivered {
                round, slot, kind, ..
            } => self.on_delivered(ctx, round, slot, kind),
            JobEvent::ComputeDone { round, slot, .. } => self.on_compute_done(ctx, round, slot),
            JobEvent::Deadline { round, .. } => self.on_deadline(ctx, round),
        }
    }

    fn start_transfer(&mut self, ctx: &mut JobCtx, slot: u32, node: u32, kind: TransferKind) {
        let round = self.round.as_ref().map_or(0, |r| r.index);
        let mut source = None;
        let bytes = match kind {
            TransferKind::Stage => {
                let stage = self.plan.stage.as_ref().expect("staging has hosts");
                let host = stage.host(slot);
                let h = host as usize;
                source = Some((host, (ctx.nodes.region[h], ctx.nodes.router[h])));
                if host == node { 0 } else { stage.shard_bytes }
            }
            TransferKind::Broadcast if round == 0 => {
                self.plan.model_bytes + self.plan.first_broadcast_extra
            }
            TransferKind::Broadcast => self.plan.model_bytes,
            TransferKind::Upload => self.plan.update_bytes,
        };
        let tag = TransferTag {
            job: self.id,
            round,
            slot,
            kind,
        };
        let node_end = (
            ctx.nodes.region[node as usize],
            ctx.nodes.router[node as usize],
        );
        let flow = ctx
            .net
            .start_from(ctx.sched, tag, source, node, node_end, bytes);
        self.round.as_mut().expect("open round").clients[slot as usize].flow = Some(flow);
    }

    fn account_bytes(&mut self, slot: u32, kind: TransferKind, moved: u64) {
        let round = self.round.as_mut().expect("active round");
        let c = &mut round.clients[slot as usize];
        c.bytes += moved;
        match kind {
            TransferKind::Broadcast => round.bytes_down += moved,
            TransferKind::Stage => {
                round.bytes_down += moved;
                if let Some(stage) = &self.plan.stage
                    && moved > 0
                {
                    round.served.push((stage.host(slot), moved));
                }
            }
            TransferKind::Upload => {
                round.bytes_up += moved;
                c.bytes_up += moved;
            }
        }
    }

    /// Adds what the round's clients did to their nodes' statistics. A
    /// round keeps these with its clients and adds them in one pass when
    /// it closes (or when the run ends with it open): in a population of a
    /// million, each node's entries are cache misses, which overlap in a
    /// pass and would stall one at a time in the clients' events.
    fn add_node_stats(round: &mut ActiveRound, nodes: &mut Nodes) {
        if std::mem::replace(&mut round.node_stats_added, true) {
            return;
        }
        if !nodes.busy.is_empty() && !round.clients_hired {
            for c in &round.clients {
                nodes.release(c.node);
            }
        }
        let s = &mut nodes.stats;
        for c in &round.clients {
            let i = c.node as usize;
            s.rounds_selected[i] += 1;
            s.rounds_completed[i] += u32::from(c.completed);
            s.bytes_down[i] += c.bytes - c.bytes_up;
            s.bytes_up[i] += c.bytes_up;
            s.compute_ns[i] += c.compute_ns;
        }
    }

    /// Adds the open round's client statistics so far to the nodes' (see
    /// `add_node_stats`), when the run ends with a round open; nothing is
    /// added twice.
    pub fn end_of_run(&mut self, nodes: &mut Nodes) {
        if let Some(round) = self.round.as_mut() {
            Self::add_node_stats(round, nodes);
        }
    }

    fn start_round(&mut self, ctx: &mut JobCtx) {
        let now = ctx.sched.now();
        let params = ctx.rounds.at(now).clone();
        let k = params.clients_per_round as usize;
        let chosen = match &self.plan.clients {
            Some(hired) => hired
                .iter()
                .filter_map(|&node| {
                    let online_until = ctx.nodes.online_until(node, now)?;
                    Some(Chosen { node, online_until })
                })
                .collect(),
            None => select_clients(ctx.nodes, now, k, &mut self.selection_rng),
        };
        if chosen.len() < params.min_clients as usize || chosen.is_empty() {
            self.selection_retries += 1;
            let e = self.event(JobEvent::StartRound { job: self.id });
            ctx.sched.schedule_in(params.retry_after, e);
            return;
        }
        let index = self.next_round;
        let e = self.event(JobEvent::Deadline {
            job: self.id,
            round: index,
        });
        let deadline_event = ctx.sched.schedule_in(params.deadline, e);
        self.round = Some(ActiveRound {
            index,
            t_start: now,
            deadline_event,
            clients: chosen
                .iter()
                .map(|c| Client {
                    node: c.node,
                    online_until: c.online_until,
                    phase: Phase::Downloading,
                    flow: None,
                    compute_event: None,
                    t_downloaded: now,
                    t_computed: now,
                    bytes: 0,
                    bytes_up: 0,
                    compute_ns: 0,
                    completed: false,
                    arriving: None,
                })
                .collect(),
            outstanding: chosen.len() as u32,
            completed: 0,
            dropped_late: 0,
            dropped_offline: 0,
            bytes_up: 0,
            bytes_down: 0,
            contributors: Vec::new(),
            dropped_nodes: Vec::new(),
            sums: PhaseSums::default(),
            node_stats_added: false,
            clients_hired: self.plan.clients.is_some(),
            served: Vec::new(),
        });
        let ids: Vec<u32> = chosen.iter().map(|c| c.node).collect();
        if !ctx.nodes.busy.is_empty() && self.plan.clients.is_none() {
            // Selected clients hold a slot until the round closes.
            for &n in &ids {
                ctx.nodes.occupy(n);
            }
        }
        ctx.nodes.warm(&ids);
        ctx.net.warm(&ids);
        // A job with a dataset first stages each client's shard (in round
        // 0, or the first round the client is online for).
        for (slot, c) in chosen.iter().enumerate() {
            let first = if self.plan.stage.is_some() && self.staged.binary_search(&c.node).is_err()
            {
                TransferKind::Stage
            } else {
                TransferKind::Broadcast
            };
            self.start_transfer(ctx, slot as u32, c.node, first);
        }
    }

    /// A transfer of this job left the network: account its bytes and
    /// deliver it after the path latency.
    pub fn on_flow_finished(&mut self, f: FlowFinished, ctx: &mut JobCtx) {
        let round = self.round.as_mut().expect("flows only run inside a round");
        let slot = f.tag.slot;
        round.clients[slot as usize].flow = None;
        round.clients[slot as usize].arriving = f.trace_row;
        let index = round.index;
        self.account_bytes(slot, f.tag.kind, f.moved);
        let e = self.event(JobEvent::Delivered {
            job: self.id,
            round: index,
            slot,
            kind: f.tag.kind,
        });
        ctx.sched.schedule_at(f.arrives, e);
    }

    /// The live client for `(round, slot)`, if the round is still open and
    /// the client still busy.
    fn live_client(&mut self, round: u32, slot: u32) -> Option<&mut Client> {
        let r = self.round.as_mut().filter(|r| r.index == round)?;
        let c = &mut r.clients[slot as usize];
        (c.phase != Phase::Done).then_some(c)
    }

    fn on_delivered(
        &mut self,
        ctx: &mut JobCtx,
        round: u32,
        slot: u32,
        kind: TransferKind,
    ) -> Option<RoundEnded> {
        let now = ctx.sched.now();
        let client = self.live_client(round, slot)?;
        if client.online_until < now {
            return self.resolve(ctx, slot, Outcome::Offline);
        }
        // The round is open for this client and it is online: the transfer
        // counts as delivered (one that arrives after the deadline does not).
        ctx.net.mark_delivered(client.arriving.take());
        let node = client.node;
        match kind {
            TransferKind::Broadcast => {
                client.t_downloaded = now;
                client.phase = Phase::Computing;
                let work = self.learner.client_work_flops(round, node);
                let secs = work / ctx.nodes.effective_flops(node);
                let e = self.event(JobEvent::ComputeDone {
                    job: self.id,
                    round,
                    slot,
                });
                let id = ctx.sched.schedule_in(SimTime::from_secs_f64_ceil(secs), e);
                self.live_client(round, slot).expect("live").compute_event = Some(id);
                None
            }
            TransferKind::Upload => self.resolve(ctx, slot, Outcome::Arrived),
            TransferKind::Stage => {
                // The shard is in: the model follows.
                if let Err(at) = self.staged.binary_search(&node) {
                    self.staged.insert(at, node);
                }
                self.start_transfer(ctx, slot, node, TransferKind::Broadcast);
                None
            }
        }
    }

    fn on_compute_done(&mut self, ctx: &mut JobCtx, round: u32, slot: u32) -> Option<RoundEnded> {
        let now = ctx.sched.now();
        let client = self.live_client(round, slot)?;
        client.compute_event = None;
        client.t_computed = now;
        client.compute_ns += now.saturating_sub(client.t_downloaded).nanos();
        let (node, online_until) = (client.node, client.online_until);
        if online_until >= now {
            client.phase = Phase::Uploading;
        }
        if online_until < now {
            return self.resolve(ctx, slot, Outcome::Offline);
        }
        self.start_transfer(ctx, slot, node, TransferKind::Upload);
        None
    }

    /// Settles one client of the open round; returns the round when none is left.
    fn resolve(&mut self, ctx: &mut JobCtx, slot: u32, outcome: Outcome) -> Option<RoundEnded> {
        let now = ctx.sched.now();
        let round = self.round.as_mut().expect("open round");
        let c = &mut round.clients[slot as usize];
        c.phase = Phase::Done;
        round.outstanding -= 1;
        match outcome {
            Outcome::Arrived => {
                round.completed += 1;
                round.contributors.push(c.node);
                let s = &mut round.sums;
                s.download_s += c.t_downloaded.saturating_sub(round.t_start).as_secs_f64();
                s.compute_s += c.t_computed.saturating_sub(c.t_downloaded).as_secs_f64();
                s.upload_s += now.saturating_sub(c.t_computed).as_secs_f64();
                c.completed = true;
            }
            Outcome::Offline => {
                round.dropped_offline += 1;
                round.dropped_nodes.push(c.node);
            }
            Outcome::Late => {
                round.dropped_late += 1;
                round.dropped_nodes.push(c.node);
            }
        }
        if round.outstanding > 0 {
            return None;
        }
        ctx.sched.cancel(round.deadline_event);
        let mut round = self.round.take().expect("open round");
        Self::add_node_stats(&mut round, ctx.nodes);
        round.contributors.sort_unstable();
        round.dropped_nodes.sort_unstable();
        Some(RoundEnded { round })
    }

    fn on_deadline(&mut self, ctx: &mut JobCtx, round: u32) -> Option<RoundEnded> {
        let r = self.round.as_ref().filter(|r| r.index == round)?;
        let slots: Vec<u32> = (0..r.clients.len() as u32)
            .filter(|&s| r.clients[s as usize].phase != Phase::Done)
            .collect();
        // The round is closed for these clients: abandon their work.
        for slot in slots {
            let now = ctx.sched.now();
            let c = &mut self.round.as_mut().expect("open").clients[slot as usize];
            let (flow, compute) = (c.flow.take(), c.compute_event.take());
            if compute.is_some() {
                c.compute_ns += now.saturating_sub(c.t_downloaded).nanos();
            }
            if let Some(f) = flow {
                let (tag, moved) = ctx.net.abandon(ctx.sched, f);
                self.account_bytes(slot, tag.kind, moved);
            }
            if let Some(e) = compute {
                ctx.sched.cancel(e);
            }
            if let Some(ended) = self.resolve(ctx, slot, Outcome::Late) {
                return Some(ended);
            }
        }
        None
    }

    /// Aggregates the updates verification accepted, records the round,
    /// schedules the next one, and reports the closed round.
    pub fn close_round(
        &mut self,
        ended: RoundEnded,
        checks: RoundChecks,
        ctx: &mut JobCtx,
    ) -> RoundClosed {
        let r = ended.round;
        let now = ctx.sched.now();
        // Only verified (or unchecked) updates are aggregated and paid.
        let learning = self.learner.complete_round(r.index, &checks.accepted);
        let mean = |sum: f64| (r.completed > 0).then(|| sum / f64::from(r.completed));
        self.closed += 1;
        self.records.push(RoundRecord {
            round: r.index,
            t_start: r.t_start,
            t_end: now,
            selected: r.clients.len() as u32,
            completed: r.completed,
            dropped_late: r.dropped_late,
            dropped_offline: r.dropped_offline,
            bytes_up: r.bytes_up,
            bytes_down: r.bytes_down,
            download_s_mean: mean(r.sums.download_s),
            compute_s_mean: mean(r.sums.compute_s),
            upload_s_mean: mean(r.sums.upload_s),
            evaluation: learning.evaluation,
            train_loss: learning.train_loss,
            flops: learning.flops,
            update_bytes: self.plan.update_bytes,
            by_behaviour: learning.by_behaviour,
            verified: checks.checked,
            rejected: checks.rejected.len() as u32,
            withheld: checks.withheld.len() as u32,
            verification_flops: checks.verification_flops,
            slashed: 0,
            settlement_delay_s: checks.settlement_delay_s,
        });
        let accepted = checks
            .accepted
            .iter()
            .map(|&node| Contribution {
                node,
                claimed_flops: self.learner.claimed_work_flops(r.index, node),
                done_flops: self.learner.client_work_flops(r.index, node),
                samples: self.learner.node_learning(node).samples,
            })
            .collect();
        // Invalid updates and clients that accepted the task but did not deliver.
        let misconduct = checks
            .rejected
            .iter()
            .map(|&(node, evidence)| Misconduct {
                node,
                kind: Offence::InvalidUpdate,
                evidence,
            })
            .chain(r.dropped_nodes.iter().map(|&node| Misconduct {
                node,
                kind: Offence::Liveness,
                evidence: "accepted the task, delivered nothing before the deadline",
            }))
            .collect();
        let last = r.index + 1 == self.plan.count;
        let closed = RoundClosed {
            job: self.id,
            round: r.index,
            t_start: r.t_start,
            t_end: now,
            first: r.index == 0,
            final_model_bytes: last.then_some(self.plan.model_bytes),
            accepted,
            traffic: r.clients.iter().map(|c| (c.node, c.bytes)).collect(),
            served: r.served,
            misconduct,
            bad_approvals: checks
                .bad_approvals
                .iter()
                .map(|&(validator, node)| BadApproval { validator, node })
                .collect(),
            model_hash: if self.plan.settle {
                self.learner.model_hash()
            } else {
                [0; 32]
            },
        };
        self.next_round += 1;
        if self.next_round < self.plan.count {
            let gap = ctx.rounds.at(now).gap;
            let e = self.event(JobEvent::StartRound { job: self.id });
            ctx.sched.schedule_in(gap, e);
        }
        closed
    }
}
