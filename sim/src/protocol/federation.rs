//! One federated training job as an event-driven model:
//!
//! ```text
//! StartRound ──select──▶ broadcast flows ──FlowDone+latency──▶ Delivered(Broadcast)
//!      ▲                                                          │ compute
//!      │ gap                                                      ▼
//!  close round ◀── all arrived / Deadline ◀── Delivered(Upload) ◀── upload flows
//! ```
//!
//! Transfers are flows in the shared [`FlowNetwork`], so concurrent
//! broadcasts share the aggregator's uplink and concurrent uploads its
//! downlink, max-min fairly.

use super::records::{RoundRecord, TransferKind, TransferRecord};
use super::selection::select_clients;
use crate::economy::{Contribution, Economy};
use crate::engine::rng::{StreamRng, stream};
use crate::engine::{EventId, Model, Scheduler, SimTime};
use crate::network::{FlowId, FlowNetwork, LinkId, Reschedule, Topology};
use crate::scenario::Scenario;
use crate::verification::{RoundChecks, Verifier};
use crate::world::Nodes;
use dmlsim_models::econ::slashing::Offence;
use dmlsim_models::learning::Learner;

/// Events of the federated protocol.
#[derive(Clone, Debug, PartialEq)]
pub enum Event {
    /// Select clients and broadcast the model (or retry if too few are online).
    StartRound,
    /// A flow's last bit may have left the bottleneck (stale if the version moved on).
    FlowDone {
        /// The flow.
        flow: FlowId,
        /// Finish-time version the event was scheduled for.
        version: u64,
    },
    /// A transfer's last byte reached its receiver.
    Delivered {
        /// Round it belongs to.
        round: u32,
        /// Client slot within the round.
        slot: u32,
        /// Broadcast or upload.
        kind: TransferKind,
    },
    /// A client finished local training.
    ComputeDone {
        /// Round it belongs to.
        round: u32,
        /// Client slot within the round.
        slot: u32,
    },
    /// The round's deadline.
    Deadline {
        /// Round it belongs to.
        round: u32,
    },
    /// Recompute the rates of flows that shared links with flows that ended
    /// at this instant (queued after all of that instant's completions).
    NetworkFlush,
    /// Seal a block of ledger entries.
    Block,
    /// Settle an economic epoch (emission and rewards).
    Epoch,
}

/// Static round settings, resolved from the scenario.
#[derive(Clone, Debug)]
pub struct RoundPlan {
    /// Rounds to run.
    pub count: u32,
    /// Clients per round.
    pub clients_per_round: u32,
    /// Fewest online nodes to start a round.
    pub min_clients: u32,
    /// Wait before retrying selection.
    pub retry_after: SimTime,
    /// Deadline from round start.
    pub deadline: SimTime,
    /// Pause between rounds.
    pub gap: SimTime,
    /// Global model size in bytes.
    pub model_bytes: u64,
    /// Client update size in bytes.
    pub update_bytes: u64,
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
    sums: [f64; 3],
}

#[derive(Clone, Copy)]
struct Transfer {
    slot: u32,
    kind: TransferKind,
    latency: SimTime,
    trace: Option<usize>,
}

/// The federated job: nodes, network, learner and round state.
pub struct Federation<L: Learner> {
    plan: RoundPlan,
    /// The nodes, with their run counters.
    pub nodes: Nodes,
    topo: Topology,
    net: FlowNetwork,
    learner: L,
    agg_region: u16,
    agg_router: u32,
    selection_rng: StreamRng,
    round: Option<ActiveRound>,
    next_round: u32,
    transfers: Vec<Option<Transfer>>,
    resched: Vec<Reschedule>,
    path: Vec<LinkId>,
    /// Closed rounds, in order.
    pub records: Vec<RoundRecord>,
    /// Every transfer, when tracing.
    pub trace: Option<Vec<TransferRecord>>,
    /// Times selection found too few online nodes and was retried.
    pub selection_retries: u64,
    flush_scheduled: bool,
    /// The token economy, when the scenario has one.
    pub economy: Option<Economy>,
    /// The verifier, when the scenario has a `verification` section.
    pub verifier: Option<Verifier>,
    /// Why the economy stopped the run (a refused operation or a
    /// conservation violation): the run fails with exit code 1.
    pub economy_error: Option<String>,
}

const UP: LinkId = 0;
const DOWN: LinkId = 1;

impl<L: Learner> Federation<L> {
    /// Builds the job for a validated scenario from its topology, nodes and learner.
    pub fn new(
        s: &Scenario,
        topo: Topology,
        nodes: Nodes,
        learner: L,
        trace: bool,
    ) -> Federation<L> {
        let agg_region = s
            .regions
            .iter()
            .position(|r| r.name == s.aggregator.region)
            .expect("validated") as u16;
        // The aggregator sits on the lowest-numbered router of its region.
        let agg_router = topo.attach(agg_region, 0.0);
        // Link ids: node i up = 2i, down = 2i+1; aggregator next; core links after.
        let mut caps = Vec::with_capacity(2 * nodes.len() + 2 + topo.core_links());
        for i in 0..nodes.len() {
            caps.push(nodes.up_bps[i]);
            caps.push(nodes.down_bps[i]);
        }
        caps.push(s.aggregator.up_mbps * 1e6);
        caps.push(s.aggregator.down_mbps * 1e6);
        caps.extend(topo.core_capacities());
        let r = &s.rounds;
        // The learner sets message sizes when it trains a real model.
        let model_bytes = learner
            .model_bytes()
            .or(r.model_bytes.map(|b| b.0))
            .unwrap_or(1);
        let update_bytes = learner
            .update_bytes()
            .or(r.update_bytes.map(|b| b.0))
            .unwrap_or(model_bytes);
        Federation {
            plan: RoundPlan {
                count: r.count,
                clients_per_round: r.clients_per_round,
                min_clients: r.min_clients,
                retry_after: r.retry_after.time(),
                deadline: r.deadline.time(),
                gap: r.gap.time(),
                model_bytes,
                update_bytes,
            },
            nodes,
            topo,
            net: FlowNetwork::new(caps),
            learner,
            agg_region,
            agg_router,
            selection_rng: stream(s.seed, "selection", 0),
            round: None,
            next_round: 0,
            transfers: Vec::new(),
            resched: Vec::new(),
            path: Vec::new(),
            records: Vec::new(),
            trace: trace.then(Vec::new),
            selection_retries: 0,
            flush_scheduled: false,
            economy: None,
            economy_error: None,
            verifier: s.verification.as_ref().map(|v| Verifier::new(v, s.seed)),
        }
    }

    /// The learner (for its name and final state).
    pub fn learner(&self) -> &L {
        &self.learner
    }

    /// The round settings.
    pub fn plan(&self) -> &RoundPlan {
        &self.plan
    }

    /// Rounds closed so far.
    pub fn rounds_done(&self) -> u32 {
        self.records.len() as u32
    }

    /// Number of routers in a generated topology (0 for a region matrix).
    pub fn routers(&self) -> usize {
        self.topo.routers()
    }

    fn agg_link(&self, dir: LinkId) -> LinkId {
        2 * self.nodes.len() as LinkId + dir
    }

    fn core_base(&self) -> LinkId {
        2 * self.nodes.len() as LinkId + 2
    }

    /// Starts a transfer between the aggregator and a client's node.
    fn start_transfer(
        &mut self,
        sched: &mut Scheduler<Event>,
        slot: u32,
        node: u32,
        kind: TransferKind,
        bytes: u64,
    ) -> FlowId {
        let now = sched.now();
        let node_end = (
            self.nodes.region[node as usize],
            self.nodes.router[node as usize],
        );
        let agg_end = (self.agg_region, self.agg_router);
        let core_base = self.core_base();
        self.path.clear();
        let latency = match kind {
            TransferKind::Broadcast => {
                self.path.push(self.agg_link(UP));
                let l = self
                    .topo
                    .route(agg_end, node_end, core_base, &mut self.path);
                self.path.push(2 * node + DOWN);
                l
            }
            TransferKind::Upload => {
                self.path.push(2 * node + UP);
                let l = self
                    .topo
                    .route(node_end, agg_end, core_base, &mut self.path);
                self.path.push(self.agg_link(DOWN));
                l
            }
        };
        // Rates are computed once for every flow starting at this instant.
        let flow = self.net.start_deferred(now, &self.path, bytes);
        self.schedule_flush(sched);
        let round = self.round.as_ref().map_or(0, |r| r.index);
        let trace = self.trace.as_mut().map(|t| {
            t.push(TransferRecord {
                round,
                kind,
                src: (kind == TransferKind::Upload).then_some(node),
                dst: (kind == TransferKind::Broadcast).then_some(node),
                bytes,
                bytes_moved: 0,
                start: now,
                end: now,
                latency,
                delivered: false,
            });
            t.len() - 1
        });
        if self.transfers.len() <= flow as usize {
            self.transfers.resize(flow as usize + 1, None);
        }
        self.transfers[flow as usize] = Some(Transfer {
            slot,
            kind,
            latency,
            trace,
        });
        flow
    }

    /// Queues one network recomputation after everything else at this instant.
    fn schedule_flush(&mut self, sched: &mut Scheduler<Event>) {
        if !self.flush_scheduled {
            self.flush_scheduled = true;
            sched.schedule_in(SimTime::ZERO, Event::NetworkFlush);
        }
    }

    fn flush_reschedules(&mut self, sched: &mut Scheduler<Event>) {
        for r in self.resched.drain(..) {
            sched.schedule_at(
                r.finish,
                Event::FlowDone {
                    flow: r.flow,
                    version: r.version,
                },
            );
        }
    }

    /// Stops a flow (finished or abandoned); returns its transfer and bytes moved.
    fn stop_flow(&mut self, sched: &mut Scheduler<Event>, flow: FlowId) -> (Transfer, u64) {
        // Recompute the neighbours once, after every flow ending now has ended.
        let moved = self.net.stop_deferred(sched.now(), flow);
        self.schedule_flush(sched);
        let t = self.transfers[flow as usize]
            .take()
            .expect("flow has a transfer");
        if let (Some(trace), Some(i)) = (self.trace.as_mut(), t.trace) {
            trace[i].bytes_moved = moved;
        }
        (t, moved)
    }

    fn account_bytes(&mut self, slot: u32, node: u32, kind: TransferKind, moved: u64) {
        let round = self.round.as_mut().expect("active round");
        round.clients[slot as usize].bytes += moved;
        match kind {
            TransferKind::Broadcast => {
                round.bytes_down += moved;
                self.nodes.stats.bytes_down[node as usize] += moved;
            }
            TransferKind::Upload => {
                round.bytes_up += moved;
                self.nodes.stats.bytes_up[node as usize] += moved;
            }
        }
    }

    fn start_round(&mut self, sched: &mut Scheduler<Event>) {
        let now = sched.now();
        let k = self.plan.clients_per_round as usize;
        let chosen = select_clients(&mut self.nodes, now, k, &mut self.selection_rng);
        if chosen.len() < self.plan.min_clients as usize || chosen.is_empty() {
            self.selection_retries += 1;
            sched.schedule_in(self.plan.retry_after, Event::StartRound);
            return;
        }
        let index = self.next_round;
        let deadline_event =
            sched.schedule_in(self.plan.deadline, Event::Deadline { round: index });
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
            sums: [0.0; 3],
        });
        for (slot, c) in chosen.iter().enumerate() {
            self.nodes.stats.rounds_selected[c.node as usize] += 1;
            let flow = self.start_transfer(
                sched,
                slot as u32,
                c.node,
                TransferKind::Broadcast,
                self.plan.model_bytes,
            );
            self.round.as_mut().expect("just set").clients[slot].flow = Some(flow);
        }
    }

    fn on_flow_done(&mut self, sched: &mut Scheduler<Event>, flow: FlowId, version: u64) {
        if !self.net.is_current(flow, version) {
            return; // a stale finish time
        }
        let (t, moved) = self.stop_flow(sched, flow);
        let now = sched.now();
        let round = self.round.as_mut().expect("flows only run inside a round");
        let node = round.clients[t.slot as usize].node;
        round.clients[t.slot as usize].flow = None;
        let index = round.index;
        self.account_bytes(t.slot, node, t.kind, moved);
        let arrive = now.saturating_add(t.latency);
        if let (Some(trace), Some(i)) = (self.trace.as_mut(), t.trace) {
            trace[i].end = arrive;
            trace[i].delivered = true;
        }
        sched.schedule_at(
            arrive,
            Event::Delivered {
                round: index,
                slot: t.slot,
                kind: t.kind,
            },
        );
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
        sched: &mut Scheduler<Event>,
        round: u32,
        slot: u32,
        kind: TransferKind,
    ) {
        let now = sched.now();
        let Some(client) = self.live_client(round, slot) else {
            return;
        };
        if client.online_until < now {
            self.resolve(sched, slot, Outcome::Offline);
            return;
        }
        let node = client.node;
        match kind {
            TransferKind::Broadcast => {
                client.t_downloaded = now;
                client.phase = Phase::Computing;
                let work = self.learner.client_work_flops(round, node);
                let secs = work / self.nodes.effective_flops(node);
                let id = sched.schedule_in(
                    SimTime::from_secs_f64_ceil(secs),
                    Event::ComputeDone { round, slot },
                );
                self.live_client(round, slot).expect("live").compute_event = Some(id);
            }
            TransferKind::Upload => self.resolve(sched, slot, Outcome::Arrived),
        }
    }

    fn on_compute_done(&mut self, sched: &mut Scheduler<Event>, round: u32, slot: u32) {
        let now = sched.now();
        let Some(client) = self.live_client(round, slot) else {
            return;
        };
        client.compute_event = None;
        client.t_computed = now;
        let (node, online_until, computed) = (
            client.node,
            client.online_until,
            now.saturating_sub(client.t_downloaded),
        );
        if online_until >= now {
            client.phase = Phase::Uploading;
        }
        self.nodes.stats.compute_ns[node as usize] += computed.nanos();
        if online_until < now {
            self.resolve(sched, slot, Outcome::Offline);
            return;
        }
        let flow = self.start_transfer(
            sched,
            slot,
            node,
            TransferKind::Upload,
            self.plan.update_bytes,
        );
        self.live_client(round, slot).expect("live").flow = Some(flow);
    }

    /// Settles one client of the open round, closing the round when none is left.
    fn resolve(&mut self, sched: &mut Scheduler<Event>, slot: u32, outcome: Outcome) {
        let now = sched.now();
        let round = self.round.as_mut().expect("open round");
        let c = &mut round.clients[slot as usize];
        c.phase = Phase::Done;
        round.outstanding -= 1;
        match outcome {
            Outcome::Arrived => {
                round.completed += 1;
                round.contributors.push(c.node);
                round.sums[0] += c.t_downloaded.saturating_sub(round.t_start).as_secs_f64();
                round.sums[1] += c.t_computed.saturating_sub(c.t_downloaded).as_secs_f64();
                round.sums[2] += now.saturating_sub(c.t_computed).as_secs_f64();
                self.nodes.stats.rounds_completed[c.node as usize] += 1;
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
        if round.outstanding == 0 {
            let deadline_event = round.deadline_event;
            sched.cancel(deadline_event);
            self.close_round(sched);
        }
    }

    fn on_deadline(&mut self, sched: &mut Scheduler<Event>, round: u32) {
        if self.round.as_ref().is_none_or(|r| r.index != round) {
            return;
        }
        let slots: Vec<u32> = {
            let r = self.round.as_ref().expect("open");
            (0..r.clients.len() as u32)
                .filter(|&s| r.clients[s as usize].phase != Phase::Done)
                .collect()
        };
        // The round is closed for these clients: abandon their work.
        for slot in slots {
            let (flow, compute, node) = {
                let c = &mut self.round.as_mut().expect("open").clients[slot as usize];
                (c.flow.take(), c.compute_event.take(), c.node)
            };
            if let Some(f) = flow {
                let (t, moved) = self.stop_flow(sched, f);
                if let (Some(trace), Some(i)) = (self.trace.as_mut(), t.trace) {
                    trace[i].end = sched.now();
                }
                self.account_bytes(t.slot, node, t.kind, moved);
            }
            if let Some(e) = compute {
                sched.cancel(e);
                let c = &self.round.as_ref().expect("open").clients[slot as usize];
                self.nodes.stats.compute_ns[node as usize] +=
                    sched.now().saturating_sub(c.t_downloaded).nanos();
            }
            self.resolve(sched, slot, Outcome::Late);
            if self.round.is_none() {
                break;
            }
        }
    }

    fn close_round(&mut self, sched: &mut Scheduler<Event>) {
        let mut r = self.round.take().expect("open round");
        let now = sched.now();
        r.contributors.sort_unstable();
        r.dropped_nodes.sort_unstable();
        let checks = match self.verifier.as_mut() {
            Some(v) => v.check(r.index, &r.contributors, &mut self.learner),
            None => RoundChecks {
                accepted: r.contributors.clone(),
                ..RoundChecks::default()
            },
        };
        // Only verified (or unchecked) updates are aggregated and paid.
        let learning = self.learner.complete_round(r.index, &checks.accepted);
        let mean = |sum: f64| (r.completed > 0).then(|| sum / f64::from(r.completed));
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
            download_s_mean: mean(r.sums[0]),
            compute_s_mean: mean(r.sums[1]),
            upload_s_mean: mean(r.sums[2]),
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
        let mut failure: Option<String> = None;
        if let Some(econ) = self.economy.as_mut() {
            let contributions: Vec<Contribution> = checks
                .accepted
                .iter()
                .map(|&node| Contribution {
                    node,
                    flops: self.learner.claimed_work_flops(r.index, node),
                    work_flops: self.learner.client_work_flops(r.index, node),
                    samples: self.learner.node_learning(node).samples,
                })
                .collect();
            let bytes: Vec<(u32, u64)> = r.clients.iter().map(|c| (c.node, c.bytes)).collect();
            let last = r.index + 1 == self.plan.count;
            econ.model_hash = self.learner.model_hash();
            if let Err(e) = econ.on_round_closed(
                now,
                &self.nodes,
                &contributions,
                &bytes,
                now.saturating_sub(r.t_start),
                r.index == 0,
                last.then_some(self.plan.model_bytes),
            ) {
                failure = Some(format!("ledger refused the fees of round {}: {e}", r.index));
            }
            // Punish invalid updates and clients that accepted the task but did not deliver.
            let before = econ.offences.len();
            let offences = checks
                .rejected
                .iter()
                .map(|&(n, why)| (n, Offence::InvalidUpdate, why))
                .chain(r.dropped_nodes.iter().map(|&n| {
                    (
                        n,
                        Offence::Liveness,
                        "accepted the task, delivered nothing before the deadline",
                    )
                }));
            for (node, kind, why) in offences {
                if let Err(e) = econ.punish(now, r.index, node, kind, why, &mut self.nodes) {
                    failure = Some(format!("ledger refused a slash in round {}: {e}", r.index));
                    break;
                }
            }
            for &(validator, node) in &checks.bad_approvals {
                if let Err(e) = econ.punish_validator(now, r.index, validator, node, &self.nodes) {
                    failure = Some(format!(
                        "ledger refused a validator slash in round {}: {e}",
                        r.index
                    ));
                }
            }
            let slashed: u128 = econ.offences[before..].iter().map(|o| o.penalty).sum();
            self.records.last_mut().expect("just pushed").slashed = slashed;
        }
        if let Some(message) = failure {
            self.fail(sched, message);
        }
        self.next_round += 1;
        if self.next_round < self.plan.count {
            sched.schedule_in(self.plan.gap, Event::StartRound);
        }
    }
}

impl<L: Learner> Federation<L> {
    /// Attaches a token economy and schedules its first block and epoch.
    pub fn attach_economy(&mut self, economy: Economy, sched: &mut Scheduler<Event>) {
        sched.schedule_at(economy.block_time(), Event::Block);
        sched.schedule_at(economy.epoch_len(), Event::Epoch);
        self.economy = Some(economy);
    }

    fn fail(&mut self, sched: &mut Scheduler<Event>, message: String) {
        self.economy_error.get_or_insert(message);
        sched.stop();
    }

    fn seal(&mut self, sched: &mut Scheduler<Event>) -> bool {
        let now = sched.now();
        let Some(econ) = self.economy.as_mut() else {
            return false;
        };
        let hash = econ.model_hash;
        match econ.ledger.seal_block(now.nanos(), hash) {
            Ok(_) => true,
            Err(v) => {
                self.fail(sched, v.to_string());
                false
            }
        }
    }

    fn on_block(&mut self, sched: &mut Scheduler<Event>) {
        if self.seal(sched) {
            let next = self.economy.as_ref().expect("economy").block_time();
            sched.schedule_in(next, Event::Block);
        }
    }

    fn on_epoch(&mut self, sched: &mut Scheduler<Event>) {
        let now = sched.now();
        let Some(econ) = self.economy.as_mut() else {
            return;
        };
        if let Err(e) = econ.settle_epoch(now, &mut self.nodes) {
            self.fail(sched, format!("ledger refused the epoch payout: {e}"));
            return;
        }
        if self.next_round >= self.plan.count {
            // The job is done and its last epoch settled: seal and stop.
            if self.seal(sched) {
                sched.stop();
            }
        } else {
            let next = econ.epoch_len();
            sched.schedule_in(next, Event::Epoch);
        }
    }
}

enum Outcome {
    Arrived,
    Offline,
    Late,
}

impl<L: Learner> Model for Federation<L> {
    type Event = Event;

    fn handle(&mut self, event: Event, sched: &mut Scheduler<Event>) {
        match event {
            Event::StartRound => self.start_round(sched),
            Event::FlowDone { flow, version } => self.on_flow_done(sched, flow, version),
            Event::Delivered { round, slot, kind } => self.on_delivered(sched, round, slot, kind),
            Event::ComputeDone { round, slot } => self.on_compute_done(sched, round, slot),
            Event::Deadline { round } => self.on_deadline(sched, round),
            Event::Block => self.on_block(sched),
            Event::Epoch => self.on_epoch(sched),
            Event::NetworkFlush => {
                self.flush_scheduled = false;
                self.net.flush(sched.now(), &mut self.resched);
                self.flush_reschedules(sched);
            }
        }
    }
}
