//! Flow-level bandwidth sharing. Each transfer is a flow over a path of
//! links; concurrent flows share capacity max-min fairly (progressive
//! filling). When a flow starts or ends, only the flows connected to it
//! through shared links are recomputed, and only those whose rate changed
//! get a new finish time. Finish times live in the network's own
//! [`DueHeap`], not in the engine: a rate change moves a heap entry and
//! queues no event.

use super::due::{Due, DueHeap};
use crate::engine::SimTime;
use std::cmp::Reverse;
use std::collections::BinaryHeap;

/// Index of a link (a directed capacity: an uplink, a downlink, a router link).
pub type LinkId = u32;
/// Index of an active flow (slots are reused after a flow ends).
pub type FlowId = u32;

#[derive(Default)]
struct Flow {
    path: Vec<LinkId>,
    /// The flow's index in `on_link[path[i]]`, for each `i`: removal swaps
    /// the list's last entry into its place in O(1).
    link_pos: Vec<u32>,
    total_bits: f64,
    remaining_bits: f64,
    rate_bps: f64,
    last_update: SimTime,
    /// Started and not yet given a rate.
    fresh: bool,
    active: bool,
    /// Rate before the current recompute, to detect changes.
    old_rate_bps: f64,
    /// Scratch: component stamp and "rate fixed" stamp during a recompute.
    seen: u64,
    fixed: u64,
}

/// The set of links and active flows with their max-min fair rates.
pub struct FlowNetwork {
    capacity_bps: Vec<f64>,
    flows: Vec<Flow>,
    free: Vec<FlowId>,
    /// Active flows on each link, indexed by `LinkId`.
    on_link: Vec<Vec<FlowId>>,
    /// Finish times of the active flows.
    due: DueHeap,
    stamp: u64,
    /// Links of flows started or stopped but not yet recomputed.
    pending: Vec<LinkId>,
    /// Flows with nothing to send, to be reported done at the next flush.
    instant: Vec<FlowId>,
    // Scratch buffers reused by every recompute: a link is in the current
    // component when `link_stamp[l] == stamp`, at position `link_local[l]`.
    link_stamp: Vec<u64>,
    link_local: Vec<u32>,
    comp_links: Vec<LinkId>,
    comp_flows: Vec<FlowId>,
    rem_cap: Vec<f64>,
    unfixed: Vec<u32>,
    link_ver: Vec<u32>,
}

/// Orders floats totally for the filling heap.
#[derive(Copy, Clone, PartialEq)]
struct Share(f64);
impl Eq for Share {}
impl PartialOrd for Share {
    fn partial_cmp(&self, o: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(o))
    }
}
impl Ord for Share {
    fn cmp(&self, o: &Self) -> std::cmp::Ordering {
        self.0.total_cmp(&o.0)
    }
}

impl FlowNetwork {
    /// A network with the given link capacities in bit/s (index = `LinkId`).
    pub fn new(capacity_bps: Vec<f64>) -> Self {
        let n = capacity_bps.len();
        FlowNetwork {
            capacity_bps,
            flows: Vec::new(),
            free: Vec::new(),
            on_link: vec![Vec::new(); n],
            due: DueHeap::default(),
            stamp: 0,
            pending: Vec::new(),
            instant: Vec::new(),
            link_stamp: vec![0; n],
            link_local: vec![0; n],
            comp_links: Vec::new(),
            comp_flows: Vec::new(),
            rem_cap: Vec::new(),
            unfixed: Vec::new(),
            link_ver: Vec::new(),
        }
    }

    /// Number of links.
    pub fn links(&self) -> usize {
        self.capacity_bps.len()
    }

    /// Capacity of a link in bit/s.
    pub fn capacity_bps(&self, link: LinkId) -> f64 {
        self.capacity_bps[link as usize]
    }

    /// Number of active flows.
    pub fn active_flows(&self) -> usize {
        self.flows.len() - self.free.len()
    }

    /// Starts a flow of `bytes` over `path` at `now` and recomputes rates at
    /// once; `tie` numbers the new finish times (see [`FlowNetwork::flush`]).
    pub fn start(
        &mut self,
        now: SimTime,
        path: &[LinkId],
        bytes: u64,
        tie: &mut impl FnMut() -> u64,
    ) -> FlowId {
        let id = self.start_deferred(now, path, bytes);
        self.flush(now, tie);
        id
    }

    /// Starts a flow like [`FlowNetwork::start`] but leaves the rate
    /// computation (and the flow's finish time) for [`FlowNetwork::flush`],
    /// so that many flows starting at the same instant cost one
    /// recomputation. Call `flush` before time moves on.
    pub fn start_deferred(&mut self, now: SimTime, path: &[LinkId], bytes: u64) -> FlowId {
        let id = match self.free.pop() {
            Some(id) => id,
            None => {
                self.flows.push(Flow::default());
                (self.flows.len() - 1) as FlowId
            }
        };
        let bits = bytes as f64 * 8.0;
        let f = &mut self.flows[id as usize];
        f.path.clear();
        f.path.extend_from_slice(path);
        f.link_pos.clear();
        f.total_bits = bits;
        f.remaining_bits = bits;
        f.rate_bps = 0.0;
        f.last_update = now;
        f.fresh = true;
        f.active = true;
        for &l in path {
            let list = &mut self.on_link[l as usize];
            f.link_pos.push(list.len() as u32);
            list.push(id);
        }
        if path.is_empty() || bits == 0.0 {
            // Nothing to share: it ends at once (reported by the next flush).
            self.instant.push(id);
        } else {
            self.pending.extend_from_slice(path);
        }
        id
    }

    /// The active flow that finishes first, with its finish time and tie.
    pub fn next_due(&self) -> Option<Due> {
        self.due.first()
    }

    /// The flow's current rate in bit/s.
    pub fn rate_bps(&self, flow: FlowId) -> f64 {
        self.flows[flow as usize].rate_bps
    }

    /// Ends a flow that completed (or is abandoned) at `now` and recomputes
    /// its neighbours at once; returns the bytes it actually moved.
    pub fn stop(&mut self, now: SimTime, flow: FlowId, tie: &mut impl FnMut() -> u64) -> u64 {
        let moved = self.stop_deferred(now, flow);
        self.flush(now, tie);
        moved
    }

    /// Ends a flow like [`FlowNetwork::stop`] but leaves the neighbours'
    /// recomputation for [`FlowNetwork::flush`] (or the next start), so that
    /// many flows ending at the same instant cost one recomputation, not one
    /// each. Call `flush` before time moves on.
    pub fn stop_deferred(&mut self, now: SimTime, flow: FlowId) -> u64 {
        let f = &mut self.flows[flow as usize];
        debug_assert!(f.active, "stopping an inactive flow");
        let dt = now.saturating_sub(f.last_update).as_secs_f64();
        let remaining = (f.remaining_bits - f.rate_bps * dt).max(0.0);
        let moved_bits = f.total_bits - remaining;
        f.active = false;
        f.fresh = false;
        let path = std::mem::take(&mut f.path);
        let link_pos = std::mem::take(&mut f.link_pos);
        for (&l, &at) in path.iter().zip(&link_pos) {
            self.unlist(l, at);
        }
        self.due.remove(flow);
        self.free.push(flow);
        self.pending.extend_from_slice(&path);
        let f = &mut self.flows[flow as usize];
        f.path = path;
        f.link_pos = link_pos;
        (moved_bits / 8.0).round() as u64
    }

    /// Removes entry `at` of link `l`'s flow list by moving the list's last
    /// entry into its place, and tells the moved flow its new index.
    fn unlist(&mut self, l: LinkId, at: u32) {
        let list = &mut self.on_link[l as usize];
        let last = (list.len() - 1) as u32;
        list.swap_remove(at as usize);
        if at == last {
            return;
        }
        let moved = &mut self.flows[list[at as usize] as usize];
        let i = moved
            .path
            .iter()
            .zip(&moved.link_pos)
            .position(|(&ml, &mp)| ml == l && mp == last)
            .expect("a listed flow knows its index");
        moved.link_pos[i] = at;
    }

    /// Whether started or stopped flows still await a recomputation.
    pub fn has_pending(&self) -> bool {
        !self.pending.is_empty() || !self.instant.is_empty()
    }

    /// Recomputes the flows that shared links with flows started or stopped
    /// since the last recomputation and gives every flow whose rate changed
    /// (and every new flow) its finish time. Each new finish time takes the
    /// next number from `tie`, which orders flows finishing at the same
    /// nanosecond: new flows with nothing to send first, in start order,
    /// then the recomputed flows in the order the recomputation reached them.
    pub fn flush(&mut self, now: SimTime, tie: &mut impl FnMut() -> u64) {
        for id in std::mem::take(&mut self.instant) {
            let f = &mut self.flows[id as usize];
            if f.active {
                f.fresh = false;
                self.due.set(id, now, tie());
            }
        }
        if self.pending.is_empty() {
            return;
        }
        let seeds = std::mem::take(&mut self.pending);
        self.recompute(now, &seeds, tie);
        self.pending = seeds;
        self.pending.clear();
    }

    /// Recomputes max-min rates for the component of flows reachable from
    /// `seeds` through shared links.
    fn recompute(&mut self, now: SimTime, seeds: &[LinkId], tie: &mut impl FnMut() -> u64) {
        self.stamp += 1;
        let stamp = self.stamp;
        self.comp_links.clear();
        self.comp_flows.clear();
        // Breadth-first over links and flows.
        for &l in seeds {
            if !self.on_link[l as usize].is_empty() && self.link_stamp[l as usize] != stamp {
                self.link_stamp[l as usize] = stamp;
                self.link_local[l as usize] = self.comp_links.len() as u32;
                self.comp_links.push(l);
            }
        }
        let mut next = 0;
        while next < self.comp_links.len() {
            let l = self.comp_links[next];
            next += 1;
            for &f in &self.on_link[l as usize] {
                let flow = &mut self.flows[f as usize];
                if flow.seen == stamp {
                    continue;
                }
                flow.seen = stamp;
                self.comp_flows.push(f);
                for &l2 in &flow.path {
                    if self.link_stamp[l2 as usize] != stamp {
                        self.link_stamp[l2 as usize] = stamp;
                        self.link_local[l2 as usize] = self.comp_links.len() as u32;
                        self.comp_links.push(l2);
                    }
                }
            }
        }
        // Bring every affected flow's remaining bits up to now.
        for &f in &self.comp_flows {
            let flow = &mut self.flows[f as usize];
            let dt = now.saturating_sub(flow.last_update).as_secs_f64();
            flow.remaining_bits = (flow.remaining_bits - flow.rate_bps * dt).max(0.0);
            flow.last_update = now;
        }
        // Progressive filling with a heap of per-link fair shares.
        let n = self.comp_links.len();
        self.rem_cap.clear();
        self.unfixed.clear();
        self.link_ver.clear();
        let mut heap = BinaryHeap::with_capacity(n);
        for (i, &l) in self.comp_links.iter().enumerate() {
            let cap = self.capacity_bps[l as usize];
            let count = self.on_link[l as usize].len() as u32;
            self.rem_cap.push(cap);
            self.unfixed.push(count);
            self.link_ver.push(0);
            heap.push(Reverse((Share(cap / f64::from(count)), i, 0u32)));
        }
        while let Some(Reverse((Share(share), i, ver))) = heap.pop() {
            if self.unfixed[i] == 0 || self.link_ver[i] != ver {
                continue;
            }
            let share = share.max(0.0);
            let l = self.comp_links[i];
            for &f in &self.on_link[l as usize] {
                let flow = &mut self.flows[f as usize];
                if flow.fixed == stamp {
                    continue;
                }
                flow.fixed = stamp;
                flow.old_rate_bps = flow.rate_bps;
                flow.rate_bps = share;
                for &l2 in &flow.path {
                    let j = self.link_local[l2 as usize] as usize;
                    self.rem_cap[j] = (self.rem_cap[j] - share).max(0.0);
                    self.unfixed[j] -= 1;
                    if j != i && self.unfixed[j] > 0 {
                        self.link_ver[j] += 1;
                        let s = self.rem_cap[j] / f64::from(self.unfixed[j]);
                        heap.push(Reverse((Share(s), j, self.link_ver[j])));
                    }
                }
            }
        }
        // New finish times for flows whose rate changed (or that are new).
        for &f in &self.comp_flows {
            let flow = &mut self.flows[f as usize];
            if !flow.fresh && flow.old_rate_bps == flow.rate_bps {
                continue;
            }
            flow.fresh = false;
            let finish = if flow.rate_bps > 0.0 {
                now.saturating_add(SimTime::from_secs_f64_ceil(
                    flow.remaining_bits / flow.rate_bps,
                ))
            } else {
                SimTime::MAX
            };
            self.due.set(f, finish, tie());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    const MBIT: f64 = 1e6;

    /// Numbers finish times in the order they are set.
    fn ties() -> impl FnMut() -> u64 {
        let mut next = 0;
        move || {
            next += 1;
            next
        }
    }

    /// Links 0..n are uplinks of senders, link `sink` is the shared downlink.
    fn incast(ups_mbps: &[f64], down_mbps: f64) -> (FlowNetwork, LinkId) {
        let mut caps: Vec<f64> = ups_mbps.iter().map(|m| m * MBIT).collect();
        caps.push(down_mbps * MBIT);
        (FlowNetwork::new(caps), ups_mbps.len() as LinkId)
    }

    fn rates(net: &FlowNetwork, ids: &[FlowId]) -> Vec<f64> {
        ids.iter().map(|&f| net.rate_bps(f) / MBIT).collect()
    }

    #[test]
    fn max_min_shares_match_hand_computation() {
        // Uplinks 10, 50, 100 into a 100 Mbit/s downlink: the 10 is capped by
        // its own uplink, the other two split the remaining 90 equally.
        let (mut net, sink) = incast(&[10.0, 50.0, 100.0], 100.0);
        let mut out = ties();
        let ids: Vec<FlowId> = (0..3)
            .map(|i| net.start(SimTime::ZERO, &[i, sink], 1_000_000, &mut out))
            .collect();
        let r = rates(&net, &ids);
        assert!(
            (r[0] - 10.0).abs() < 1e-9 && (r[1] - 45.0).abs() < 1e-9 && (r[2] - 45.0).abs() < 1e-9,
            "{r:?}"
        );
    }

    #[test]
    fn two_bottlenecks_in_a_chain() {
        // Flow a: links 0,1; flow b: link 1; flow c: links 1,2 with link 2 = 5.
        // Link 1 (30) is shared by a, b, c; c is capped at 5 by link 2, so a
        // and b split 25: 12.5 each. Link 0 (100) is not a bottleneck.
        let mut net = FlowNetwork::new(vec![100.0 * MBIT, 30.0 * MBIT, 5.0 * MBIT]);
        let mut out = ties();
        let a = net.start(SimTime::ZERO, &[0, 1], 1, &mut out);
        let b = net.start(SimTime::ZERO, &[1], 1, &mut out);
        let c = net.start(SimTime::ZERO, &[1, 2], 1, &mut out);
        let r = rates(&net, &[a, b, c]);
        assert!(
            (r[0] - 12.5).abs() < 1e-9 && (r[1] - 12.5).abs() < 1e-9 && (r[2] - 5.0).abs() < 1e-9,
            "{r:?}"
        );
    }

    /// Runs flows to completion, returning each flow's finish time in seconds.
    fn run_to_completion(net: &mut FlowNetwork, starts: &[(f64, Vec<LinkId>, u64)]) -> Vec<f64> {
        let mut pending: Vec<(SimTime, usize)> = starts
            .iter()
            .enumerate()
            .map(|(i, s)| (SimTime::from_secs_f64_ceil(s.0), i))
            .collect();
        let mut owner: HashMap<FlowId, usize> = HashMap::new();
        let mut done = vec![f64::NAN; starts.len()];
        let mut tie = ties();
        loop {
            pending.sort();
            let next_start = pending.first().map(|p| p.0);
            match (next_start, net.next_due()) {
                (None, None) => break,
                (Some(ts), due) if due.is_none_or(|d| ts <= d.finish) => {
                    let (t, i) = pending.remove(0);
                    let id = net.start(t, &starts[i].1, starts[i].2, &mut tie);
                    owner.insert(id, i);
                }
                (_, Some(d)) => {
                    net.stop(d.finish, d.flow, &mut tie);
                    done[owner[&d.flow]] = d.finish.as_secs_f64();
                }
                _ => unreachable!(),
            }
        }
        done
    }

    #[test]
    fn incast_completion_times_follow_the_arithmetic() {
        // 4 senders with 100 Mbit/s uplinks, 8 MB each, into a 100 Mbit/s
        // downlink: each gets 25 Mbit/s; 64 Mbit / 25 = 2.56 s, all together.
        let (mut net, sink) = incast(&[100.0; 4], 100.0);
        let starts: Vec<_> = (0..4).map(|i| (0.0, vec![i, sink], 8_000_000)).collect();
        for t in run_to_completion(&mut net, &starts) {
            assert!((t - 2.56).abs() < 1e-6, "{t}");
        }
        // Halving the downlink doubles the time exactly.
        let (mut net, sink) = incast(&[100.0; 4], 50.0);
        let starts: Vec<_> = (0..4).map(|i| (0.0, vec![i, sink], 8_000_000)).collect();
        for t in run_to_completion(&mut net, &starts) {
            assert!((t - 5.12).abs() < 1e-6, "{t}");
        }
    }

    #[test]
    fn staggered_flows_share_then_speed_up() {
        // Flow A (10 MB = 80 Mbit) alone on a 100 Mbit/s link from t=0; flow B
        // (5 MB = 40 Mbit) joins at t=0.4 s. A has 40 Mbit left then; both run
        // at 50 Mbit/s and finish together at 0.4 + 40/50 = 1.2 s.
        let mut net = FlowNetwork::new(vec![100.0 * MBIT]);
        let done = run_to_completion(
            &mut net,
            &[(0.0, vec![0], 10_000_000), (0.4, vec![0], 5_000_000)],
        );
        assert!(
            (done[0] - 1.2).abs() < 1e-6 && (done[1] - 1.2).abs() < 1e-6,
            "{done:?}"
        );
        // B of 2.5 MB (20 Mbit) instead: B ends at 0.4 + 20/50 = 0.8 s, A has
        // 40 − 20 = 20 Mbit left and ends at 0.8 + 20/100 = 1.0 s.
        let mut net = FlowNetwork::new(vec![100.0 * MBIT]);
        let done = run_to_completion(
            &mut net,
            &[(0.0, vec![0], 10_000_000), (0.4, vec![0], 2_500_000)],
        );
        assert!(
            (done[0] - 1.0).abs() < 1e-6 && (done[1] - 0.8).abs() < 1e-6,
            "{done:?}"
        );
    }

    #[test]
    fn unrelated_flows_keep_their_finish_times() {
        let mut net = FlowNetwork::new(vec![MBIT, MBIT]);
        let mut drawn = 0;
        let mut count = || {
            drawn += 1;
            drawn
        };
        net.start(SimTime::ZERO, &[0], 1000, &mut count);
        let first = net.next_due().unwrap();
        net.start(SimTime::ZERO, &[1], 1000, &mut count);
        assert_eq!(drawn, 2, "only the new flow got a finish time");
        assert_eq!(net.next_due(), Some(first), "the first flow kept its own");
    }

    #[test]
    fn stopping_early_reports_bytes_moved() {
        let mut net = FlowNetwork::new(vec![8.0 * MBIT]);
        let mut out = ties();
        let f = net.start(SimTime::ZERO, &[0], 10_000_000, &mut out);
        // 8 Mbit/s = 1 MB/s; after 2 s, 2 MB have moved.
        assert_eq!(net.stop(SimTime::from_secs(2), f, &mut out), 2_000_000);
        assert_eq!(net.active_flows(), 0);
    }

    /// Textbook progressive filling from scratch, for comparison.
    fn reference_rates(caps: &[f64], paths: &[Vec<LinkId>]) -> Vec<f64> {
        let mut rate = vec![f64::NAN; paths.len()];
        let mut rem = caps.to_vec();
        loop {
            let mut best: Option<(f64, usize)> = None;
            for (l, cap) in rem.iter().enumerate() {
                let n = (0..paths.len())
                    .filter(|&f| rate[f].is_nan() && paths[f].contains(&(l as LinkId)))
                    .count();
                if n > 0 && best.is_none_or(|(s, _)| cap / (n as f64) < s) {
                    best = Some((cap / n as f64, l));
                }
            }
            let Some((share, l)) = best else { return rate };
            for f in 0..paths.len() {
                if rate[f].is_nan() && paths[f].contains(&(l as LinkId)) {
                    rate[f] = share;
                    for &l2 in &paths[f] {
                        rem[l2 as usize] -= share;
                    }
                }
            }
        }
    }

    #[test]
    fn incremental_rates_equal_a_from_scratch_solution() {
        // Random starts and stops over random paths; after every change the
        // incremental solver must agree with progressive filling from scratch.
        let mut state = 11u64;
        let mut rnd = |m: u64| {
            state = crate::engine::rng::splitmix64(state);
            state % m
        };
        for trial in 0..20 {
            let links = 3 + rnd(10) as usize;
            let caps: Vec<f64> = (0..links).map(|_| (1 + rnd(100)) as f64 * MBIT).collect();
            let mut net = FlowNetwork::new(caps.clone());
            let mut live: Vec<(FlowId, Vec<LinkId>)> = Vec::new();
            let mut out = ties();
            for step in 0..60u64 {
                let now = SimTime(step * 1_000);
                if live.is_empty() || rnd(3) > 0 {
                    let len = 1 + rnd(3.min(links as u64)) as usize;
                    let mut path: Vec<LinkId> = Vec::new();
                    while path.len() < len {
                        let l = rnd(links as u64) as LinkId;
                        if !path.contains(&l) {
                            path.push(l);
                        }
                    }
                    let id = net.start(now, &path, 1_000_000, &mut out);
                    live.push((id, path));
                } else {
                    let (id, _) = live.swap_remove(rnd(live.len() as u64) as usize);
                    net.stop(now, id, &mut out);
                }
                let paths: Vec<Vec<LinkId>> = live.iter().map(|l| l.1.clone()).collect();
                let expected = reference_rates(&caps, &paths);
                for ((id, _), want) in live.iter().zip(expected) {
                    let got = net.rate_bps(*id);
                    assert!(
                        (got - want).abs() <= 1e-9 * want.max(1.0),
                        "trial {trial} step {step}: {got} vs {want}"
                    );
                }
            }
        }
    }

    #[test]
    fn deferred_stops_recompute_once_and_agree_with_immediate_ones() {
        // Ten equal flows on one link end together: stopping them one by one
        // reschedules the survivors each time; deferring does it once.
        let mut a = FlowNetwork::new(vec![100.0 * MBIT]);
        let mut b = FlowNetwork::new(vec![100.0 * MBIT]);
        let mut out = ties();
        let ids: Vec<FlowId> = (0..10)
            .map(|_| a.start(SimTime::ZERO, &[0], 1_000_000, &mut out))
            .collect();
        for _ in 0..10 {
            b.start(SimTime::ZERO, &[0], 1_000_000, &mut out);
        }
        let t = SimTime::from_secs(1);
        let mut immediate = 0;
        for &f in &ids[..5] {
            a.stop(t, f, &mut || {
                immediate += 1;
                immediate
            });
        }
        for &f in &ids[..5] {
            b.stop_deferred(t, f);
        }
        assert!(b.has_pending());
        let mut deferred = 0;
        b.flush(t, &mut || {
            deferred += 1;
            deferred
        });
        assert!(!b.has_pending());
        assert_eq!(deferred, 5, "one finish time per survivor");
        assert!(immediate > deferred);
        for &f in &ids[5..] {
            assert_eq!(a.rate_bps(f), b.rate_bps(f));
            assert!((b.rate_bps(f) - 20.0 * MBIT).abs() < 1e-6);
        }
    }
}
