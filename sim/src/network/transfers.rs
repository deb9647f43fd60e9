//! The network subsystem: the link layout (each node's access link, the
//! aggregator's, the core links of a generated topology), transfers as
//! max-min fair flows, their completion events and the optional trace.
//!
//! A training job starts and abandons transfers here (they are activities on
//! the shared links, as in SimGrid); when a flow's last bit leaves its
//! bottleneck, [`Network::handle`] reports a [`FlowFinished`] fact, which the
//! root hands back to the job that owns the transfer.
//!
//! Finish times are the flow network's own; the engine holds one wake-up
//! event, at the earliest. Each finish time takes an engine sequence number
//! when it is computed ([`Scheduler::reserve_many`]) and the wake-up is queued
//! under it, so a completion runs exactly where an event queued at that
//! moment would have run among the events of its nanosecond — the order a
//! completion event per flow gave, without an event per rate change.

use super::{FlowId, FlowNetwork, LinkId, Topology};
use crate::engine::{EventId, Scheduler, SimTime};
use crate::protocol::{TransferKind, TransferRecord};
use crate::system::{Event, JobId, NetEvent};

/// Who owns a transfer: a client slot of a job's round.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct TransferTag {
    /// The job.
    pub job: JobId,
    /// Its round.
    pub round: u32,
    /// The client slot within the round.
    pub slot: u32,
    /// Broadcast or upload.
    pub kind: TransferKind,
}

/// A flow whose last bit left its bottleneck.
#[derive(Copy, Clone, Debug, PartialEq)]
pub struct FlowFinished {
    /// Whose transfer it was.
    pub tag: TransferTag,
    /// Bytes moved.
    pub moved: u64,
    /// When its last byte reaches the receiver (now plus path latency).
    pub arrives: SimTime,
    /// Its row in the trace, when tracing.
    pub trace_row: Option<usize>,
}

#[derive(Clone, Copy)]
struct Transfer {
    tag: TransferTag,
    latency: SimTime,
    trace: Option<usize>,
}

/// Where the aggregator of a job attaches.
#[derive(Copy, Clone, Debug)]
struct Aggregator {
    region: u16,
    router: u32,
}

/// Link direction offsets within a node's (or the aggregator's) pair.
const UP: LinkId = 0;
const DOWN: LinkId = 1;

/// Links, flows, transfers and their trace.
pub struct Network {
    topo: Topology,
    flows: FlowNetwork,
    nodes: u32,
    aggregator: Aggregator,
    transfers: Vec<Option<Transfer>>,
    /// The queued wake-up, keyed by the earliest finish when it was queued.
    wake: Option<EventId>,
    path: Vec<LinkId>,
    flush_scheduled: bool,
    /// Every transfer, when tracing.
    pub trace: Option<Vec<TransferRecord>>,
}

impl Network {
    /// Lays out the links: node `i` up = `2i`, down = `2i+1`, then the
    /// aggregator's up and down, then the topology's core links. The
    /// aggregator sits on the lowest-numbered router of `agg_region`.
    pub fn new(
        topo: Topology,
        node_up_down_bps: impl ExactSizeIterator<Item = (f64, f64)>,
        agg_region: u16,
        agg_up_down_bps: (f64, f64),
        trace: bool,
    ) -> Network {
        let nodes = node_up_down_bps.len() as u32;
        let mut caps = Vec::with_capacity(2 * nodes as usize + 2 + topo.core_links());
        for (up, down) in node_up_down_bps {
            caps.push(up);
            caps.push(down);
        }
        caps.push(agg_up_down_bps.0);
        caps.push(agg_up_down_bps.1);
        caps.extend(topo.core_capacities());
        let router = topo.attach(agg_region, 0.0);
        let mut flows = FlowNetwork::new(caps);
        if topo.routers() == 0 {
            // Without core links every transfer is a node's own link plus
            // one of the aggregator's: two stars.
            flows.add_star_hub(2 * nodes + UP);
            flows.add_star_hub(2 * nodes + DOWN);
        }
        Network {
            topo,
            flows,
            nodes,
            aggregator: Aggregator {
                region: agg_region,
                router,
            },
            transfers: Vec::new(),
            wake: None,
            path: Vec::new(),
            flush_scheduled: false,
            trace: trace.then(Vec::new),
        }
    }

    /// Number of routers in a generated topology (0 for a region matrix).
    pub fn routers(&self) -> usize {
        self.topo.routers()
    }

    fn agg_link(&self, dir: LinkId) -> LinkId {
        2 * self.nodes + dir
    }

    fn core_base(&self) -> LinkId {
        2 * self.nodes + 2
    }

    /// Reads the link entries that transfers of `nodes` will read, in one
    /// pass (see `Nodes::warm`). It changes nothing.
    pub fn warm(&self, nodes: &[u32]) {
        self.flows.warm(nodes.iter().map(|&n| 2 * n + UP));
    }

    /// Starts a transfer between the aggregator and `node` (at region and
    /// router `node_end`) — or, for a `Stage` transfer, from `source` (a
    /// hosting node and its region and router) to `node`, over the host's
    /// uplink and the node's downlink. Its rate is computed once for every
    /// flow starting at this instant.
    pub fn start_from(
        &mut self,
        sched: &mut Scheduler<Event>,
        tag: TransferTag,
        source: Option<(u32, (u16, u32))>,
        node: u32,
        node_end: (u16, u32),
        bytes: u64,
    ) -> FlowId {
        let now = sched.now();
        let agg_end = (self.aggregator.region, self.aggregator.router);
        let core_base = self.core_base();
        self.path.clear();
        let latency = match tag.kind {
            TransferKind::Stage => {
                let (host, host_end) = source.expect("a staging transfer has a source");
                self.path.push(2 * host + UP);
                let l = self
                    .topo
                    .route(host_end, node_end, core_base, &mut self.path);
                self.path.push(2 * node + DOWN);
                l
            }
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
        let flow = self.flows.start_deferred(now, &self.path, bytes);
        self.schedule_flush(sched);
        let trace = self.trace.as_mut().map(|t| {
            t.push(TransferRecord {
                job: tag.job.0,
                round: tag.round,
                kind: tag.kind,
                src: match tag.kind {
                    TransferKind::Upload => Some(node),
                    TransferKind::Stage => source.map(|s| s.0),
                    TransferKind::Broadcast => None,
                },
                dst: (tag.kind != TransferKind::Upload).then_some(node),
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
            tag,
            latency,
            trace,
        });
        flow
    }

    /// Abandons a running transfer (its round closed for it); returns
    /// whose it was and the bytes it moved. The trace row ends now,
    /// undelivered.
    pub fn abandon(&mut self, sched: &mut Scheduler<Event>, flow: FlowId) -> (TransferTag, u64) {
        let (t, moved) = self.stop_flow(sched, flow);
        self.arm(sched);
        if let (Some(trace), Some(i)) = (self.trace.as_mut(), t.trace) {
            trace[i].end = sched.now();
        }
        (t.tag, moved)
    }

    /// Marks a finished transfer as delivered: its last byte reached a
    /// receiver that still wanted it (the round open for that client, the
    /// node online). Transfers never marked stay `delivered: false`.
    pub fn mark_delivered(&mut self, trace_row: Option<usize>) {
        if let (Some(trace), Some(i)) = (self.trace.as_mut(), trace_row) {
            trace[i].delivered = true;
        }
    }

    /// Handles a network event; a finished flow is reported as a fact.
    pub fn handle(
        &mut self,
        event: NetEvent,
        sched: &mut Scheduler<Event>,
    ) -> Option<FlowFinished> {
        match event {
            NetEvent::Wake => {
                let due = self.flows.next_due().expect("a wake-up has a due flow");
                debug_assert_eq!(
                    Some(EventId::new(due.finish, due.tie)),
                    self.wake,
                    "stale wake-up"
                );
                self.wake = None;
                let (t, moved) = self.stop_flow(sched, due.flow);
                self.arm(sched);
                let arrives = sched.now().saturating_add(t.latency);
                // Delivered only once the job accepts it (mark_delivered).
                if let (Some(trace), Some(i)) = (self.trace.as_mut(), t.trace) {
                    trace[i].end = arrives;
                }
                Some(FlowFinished {
                    tag: t.tag,
                    moved,
                    arrives,
                    trace_row: t.trace,
                })
            }
            NetEvent::Flush => {
                self.flush_scheduled = false;
                self.flows
                    .flush(sched.now(), &mut |n| sched.reserve_many(n));
                self.arm(sched);
                None
            }
        }
    }

    /// Keeps exactly one wake-up queued, at the earliest finish: a wake-up
    /// queued for an earlier key that is no longer the earliest is
    /// cancelled (and revived if that key becomes the earliest again).
    fn arm(&mut self, sched: &mut Scheduler<Event>) {
        let want = self.flows.next_due().map(|d| EventId::new(d.finish, d.tie));
        if want == self.wake {
            return;
        }
        if let Some(queued) = self.wake {
            sched.cancel(queued);
        }
        self.wake =
            want.map(|id| sched.schedule_reserved(id.time(), id.seq(), Event::Net(NetEvent::Wake)));
    }

    /// Queues one rate recomputation after everything else at this instant.
    fn schedule_flush(&mut self, sched: &mut Scheduler<Event>) {
        if !self.flush_scheduled {
            self.flush_scheduled = true;
            sched.schedule_in(SimTime::ZERO, Event::Net(NetEvent::Flush));
        }
    }

    /// Stops a flow (finished or abandoned); returns its transfer and bytes moved.
    fn stop_flow(&mut self, sched: &mut Scheduler<Event>, flow: FlowId) -> (Transfer, u64) {
        // Recompute the neighbours once, after every flow ending now has ended.
        let moved = self.flows.stop_deferred(sched.now(), flow);
        self.schedule_flush(sched);
        let t = self.transfers[flow as usize]
            .take()
            .expect("flow has a transfer");
        if let (Some(trace), Some(i)) = (self.trace.as_mut(), t.trace) {
            trace[i].bytes_moved = moved;
        }
        (t, moved)
    }
}
