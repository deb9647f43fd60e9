//! Flow-level bandwidth sharing. Each transfer is a flow over a path of
//! links; concurrent flows share capacity max-min fairly (progressive
//! filling). When a flow starts or ends, only the flows connected to it
//! through shared links are recomputed, and only those whose rate changed
//! get a new finish time. Finish times live in the network's own
//! [`DueHeap`], not in the engine: a rate change moves a heap entry and
//! queues no event.
//!
//! Links declared hubs ([`FlowNetwork::add_star_hub`]) are served by a
//! water level instead ([`super::star`]): a flow whose path is one hub plus
//! links of its own costs O(log K) per start or end, however many flows
//! share the hub. A flow that would break that shape (a private link used
//! twice, two hubs on one path) turns every star back into ordinary flows
//! for good, so results stay max-min fair whatever the paths.

use super::due::{Due, DueHeap};
use super::star::Star;
use crate::engine::SimTime;
use std::cmp::Reverse;
use std::collections::BinaryHeap;

/// Index of a link (a directed capacity: an uplink, a downlink, a router link).
pub type LinkId = u32;
/// Index of an active flow (slots are reused after a flow ends).
pub type FlowId = u32;

/// `Flow::star` of a flow the general solver serves.
const NO_STAR: u32 = u32::MAX;
/// `Flow::link_pos` of a link the flow is not listed on; `star_user` of a
/// link no star flow holds.
const UNLISTED: u32 = u32::MAX;

#[derive(Default)]
struct Flow {
    path: Vec<LinkId>,
    /// Index of the star serving it, or `NO_STAR`.
    star: u32,
    /// The flow's index in `on_link[path[i]]`, for each `i`: removal swaps
    /// the list's last entry into its place in O(1). `UNLISTED` for a star
    /// flow's private links (see `FlowNetwork::star_user`).
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
    /// Scratch: component stamp, "in the solved part" stamp and "rate
    /// fixed" stamp during a recompute.
    seen: u64,
    solved: u64,
    fixed: u64,
}

/// The set of links and active flows with their max-min fair rates.
pub struct FlowNetwork {
    capacity_bps: Vec<f64>,
    flows: Vec<Flow>,
    free: Vec<FlowId>,
    /// Active flows on each link, indexed by `LinkId`.
    on_link: Vec<Vec<FlowId>>,
    /// Finish times of the active flows (the general solver's and the
    /// stars' low ones; a star's high ones are keyed in the star).
    due: DueHeap,
    /// Hub links served by a water level.
    stars: Vec<Star>,
    /// The star flow holding each link as a private link, or `UNLISTED`.
    /// Star flows are listed only on their hub, so a million nodes' links
    /// need no list of their own (allocated when the first hub is declared).
    star_user: Vec<FlowId>,
    stamp: u64,
    /// Links of flows started or stopped but not yet recomputed.
    pending: Vec<LinkId>,
    /// The links of flows stopped since the last recomputation, with the
    /// rate each such flow had there (a link it left may have been a
    /// bottleneck only with it).
    freed: Vec<(LinkId, f64)>,
    /// Solve the next recomputation's whole component (set when stars
    /// hand their flows over: their rates come from another solver).
    solve_whole: bool,
    /// Always solve whole components (the reference the partial solve is
    /// tested against).
    always_whole: bool,
    /// Partial solves redone because a link not taken as open limited a
    /// solved flow (a statistic for tests and profiles).
    retries: u64,
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
    /// Per component link: the rates of its flows before the recompute.
    load: Vec<f64>,
    /// Per component link: the rates of the flows that left it since the
    /// last recompute.
    freed_load: Vec<f64>,
    /// Per component link: the try (a stamp) in which it joined the solved
    /// part.
    solved_at: Vec<u64>,
    /// Per component link: the rates (before the recompute) of its solved
    /// flows; `unfixed` counts them before the filling.
    solved_load: Vec<f64>,
    /// Per component link: every flow on it is solved (it was, or may
    /// become, a bottleneck); other links of solved flows only bound them
    /// by the capacity their unsolved flows leave.
    open: Vec<bool>,
    solved_links: Vec<u32>,
    solved_flows: Vec<FlowId>,
}

/// Whether links carrying `load` bit/s of `capacity` are full, up to float
/// error (a relative margin far above it): a link below this is no flow's
/// bottleneck.
fn nearly_full(load: f64, capacity: f64) -> bool {
    load >= capacity * (1.0 - 1e-9)
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
            stars: Vec::new(),
            star_user: Vec::new(),
            stamp: 0,
            pending: Vec::new(),
            freed: Vec::new(),
            solve_whole: false,
            always_whole: false,
            retries: 0,
            instant: Vec::new(),
            link_stamp: vec![0; n],
            link_local: vec![0; n],
            comp_links: Vec::new(),
            comp_flows: Vec::new(),
            rem_cap: Vec::new(),
            unfixed: Vec::new(),
            link_ver: Vec::new(),
            load: Vec::new(),
            freed_load: Vec::new(),
            solved_at: Vec::new(),
            solved_load: Vec::new(),
            open: Vec::new(),
            solved_links: Vec::new(),
            solved_flows: Vec::new(),
        }
    }

    /// Serves `link` as a star hub: flows over it whose other links carry
    /// nothing else share it by a water level in O(log K) per flow event.
    /// Declare hubs before starting flows.
    pub fn add_star_hub(&mut self, link: LinkId) {
        debug_assert!(self.active_flows() == 0, "hubs are declared up front");
        if self.star_user.is_empty() {
            self.star_user = vec![UNLISTED; self.capacity_bps.len()];
        }
        if self.stars.iter().all(|s| s.link != link) {
            self.stars
                .push(Star::new(link, self.capacity_bps[link as usize]));
        }
    }

    fn star_at(&self, link: LinkId) -> Option<usize> {
        self.stars.iter().position(|s| s.link == link)
    }

    /// Reads the per-link entries that starting and stopping a flow over
    /// `links` reads, all in one pass, so their cache misses overlap (see
    /// `Nodes::warm`). It changes nothing.
    pub fn warm(&self, links: impl Iterator<Item = LinkId>) {
        let mut seen = 0u64;
        for l in links {
            let l = l as usize;
            seen ^= self.capacity_bps[l].to_bits()
                ^ self.on_link[l].len() as u64
                ^ u64::from(self.star_user.get(l).copied().unwrap_or(0));
        }
        std::hint::black_box(seen);
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
        tie: &mut impl FnMut(u64) -> u64,
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
        let instant = path.is_empty() || bytes == 0;
        let star = if instant || self.stars.is_empty() {
            None
        } else {
            let star = self.star_shape(path);
            if star.is_none() && self.touches_star(path) {
                self.dissolve_stars(now);
            }
            star
        };
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
        f.star = NO_STAR;
        if instant {
            // Nothing to share: it ends at once (reported by the next
            // flush) and is listed on no link.
            self.instant.push(id);
            return id;
        }
        match star {
            Some((s, cap)) => {
                let hub = self.stars[s].link;
                let mut pos = 0;
                for &l in path {
                    if l == hub {
                        let list = &mut self.on_link[l as usize];
                        pos = list.len() as u32;
                        f.link_pos.push(pos);
                        list.push(id);
                    } else {
                        f.link_pos.push(UNLISTED);
                        self.star_user[l as usize] = id;
                    }
                }
                f.star = s as u32;
                f.fresh = false;
                self.stars[s].join(id, cap, bits, pos, now);
            }
            None => {
                for &l in path {
                    let list = &mut self.on_link[l as usize];
                    f.link_pos.push(list.len() as u32);
                    list.push(id);
                }
                self.pending.extend_from_slice(path);
            }
        }
        id
    }

    /// The star a path can join, with the flow's private capacity: exactly
    /// one hub on it and every other link free.
    fn star_shape(&self, path: &[LinkId]) -> Option<(usize, f64)> {
        let mut star = None;
        let mut cap = f64::INFINITY;
        for &l in path {
            if let Some(s) = self.star_at(l) {
                if star.is_some() {
                    return None;
                }
                star = Some(s);
            } else if !self.on_link[l as usize].is_empty() || self.star_user[l as usize] != UNLISTED
            {
                return None;
            } else {
                cap = cap.min(self.capacity_bps[l as usize]);
            }
        }
        let s = star?;
        Some((s, cap.min(self.capacity_bps[self.stars[s].link as usize])))
    }

    /// Whether a path uses a hub or a link of a star's flow.
    fn touches_star(&self, path: &[LinkId]) -> bool {
        path.iter()
            .any(|&l| self.star_at(l).is_some() || self.star_user[l as usize] != UNLISTED)
    }

    /// Hands every star's flows to the general solver, as they are at
    /// `now` (finish times kept), and serves no hub as a star from now on.
    fn dissolve_stars(&mut self, now: SimTime) {
        self.solve_whole = true;
        for mut star in std::mem::take(&mut self.stars) {
            for d in star.dissolve(now) {
                // List the flow on its private links, as general flows are.
                let f = &mut self.flows[d.flow as usize];
                for (&l, at) in f.path.iter().zip(f.link_pos.iter_mut()) {
                    if *at == UNLISTED {
                        let list = &mut self.on_link[l as usize];
                        *at = list.len() as u32;
                        list.push(d.flow);
                        self.star_user[l as usize] = UNLISTED;
                    }
                }
                f.star = NO_STAR;
                f.remaining_bits = d.remaining_bits;
                f.rate_bps = d.rate_bps;
                f.last_update = now;
                f.fresh = d.joining;
                if let Some((finish, tie)) = d.high_finish {
                    self.due.set(d.flow, finish, tie);
                }
                self.pending.extend_from_slice(&f.path);
            }
        }
    }

    /// The active flow that finishes first, with its finish time and tie.
    pub fn next_due(&self) -> Option<Due> {
        let mut best = self.due.first();
        for star in &self.stars {
            if let Some((flow, finish, tie)) = star.earliest()
                && best.is_none_or(|b| (finish, tie) < (b.finish, b.tie))
            {
                best = Some(Due { flow, finish, tie });
            }
        }
        best
    }

    /// The flow's current rate in bit/s.
    pub fn rate_bps(&self, flow: FlowId) -> f64 {
        let f = &self.flows[flow as usize];
        match f.star {
            NO_STAR => f.rate_bps,
            s => self.stars[s as usize].rate(flow),
        }
    }

    /// Ends a flow that completed (or is abandoned) at `now` and recomputes
    /// its neighbours at once; returns the bytes it actually moved.
    pub fn stop(&mut self, now: SimTime, flow: FlowId, tie: &mut impl FnMut(u64) -> u64) -> u64 {
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
        let star = f.star;
        let remaining = if star != NO_STAR {
            self.stars[star as usize].leave(flow, now)
        } else {
            let dt = now.saturating_sub(f.last_update).as_secs_f64();
            (f.remaining_bits - f.rate_bps * dt).max(0.0)
        };
        let f = &mut self.flows[flow as usize];
        let moved_bits = f.total_bits - remaining;
        f.active = false;
        f.fresh = false;
        let path = std::mem::take(&mut f.path);
        let link_pos = std::mem::take(&mut f.link_pos);
        for (&l, &at) in path.iter().zip(&link_pos) {
            if at == UNLISTED {
                self.star_user[l as usize] = UNLISTED;
            } else {
                self.unlist(l, at);
            }
        }
        self.due.remove(flow);
        self.free.push(flow);
        // A general flow frees capacity for its neighbours (instant flows
        // were listed nowhere; a star's leaver is handled at its flush).
        if star == NO_STAR && !link_pos.is_empty() {
            self.pending.extend_from_slice(&path);
            let rate = self.flows[flow as usize].rate_bps;
            self.freed.extend(path.iter().map(|&l| (l, rate)));
        }
        let f = &mut self.flows[flow as usize];
        f.star = NO_STAR;
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
        let moved_id = list[at as usize];
        let moved = &mut self.flows[moved_id as usize];
        let i = moved
            .path
            .iter()
            .zip(&moved.link_pos)
            .position(|(&ml, &mp)| ml == l && mp == last)
            .expect("a listed flow knows its index");
        moved.link_pos[i] = at;
        if moved.star != NO_STAR {
            let star = &mut self.stars[moved.star as usize];
            if star.link == l {
                star.moved(moved_id, at);
            }
        }
    }

    /// Whether started or stopped flows still await a recomputation.
    pub fn has_pending(&self) -> bool {
        !self.pending.is_empty()
            || !self.instant.is_empty()
            || self.stars.iter().any(Star::is_dirty)
    }

    /// Recomputes the flows that shared links with flows started or stopped
    /// since the last recomputation and gives every flow whose rate changed
    /// (and every new flow) its finish time. Each new finish time takes the
    /// next number from `tie`, which orders flows finishing at the same
    /// nanosecond: new flows with nothing to send first, in start order,
    /// then the recomputed flows in the order the recomputation reached them.
    pub fn flush(&mut self, now: SimTime, tie: &mut impl FnMut(u64) -> u64) {
        for id in std::mem::take(&mut self.instant) {
            let f = &mut self.flows[id as usize];
            if f.active {
                f.fresh = false;
                self.due.set(id, now, tie(1));
            }
        }
        if !self.pending.is_empty() {
            let seeds = std::mem::take(&mut self.pending);
            self.recompute(now, &seeds, tie);
            self.pending = seeds;
            self.pending.clear();
            self.freed.clear();
            self.solve_whole = false;
        }
        for star in &mut self.stars {
            if star.is_dirty() {
                let listed = self.on_link[star.link as usize].len();
                star.flush(now, listed, tie, &mut self.due);
            }
        }
    }

    /// Recomputes max-min rates for the component of flows reachable from
    /// `seeds` through shared links.
    ///
    /// Only part of the component is solved: the flows started, and every
    /// flow on an *open* link — one that was saturated before (with the
    /// rates of flows stopped since), the only kind through which a change
    /// reaches other flows — reached from the seeds through open links.
    /// Their other links bound them by the capacity the component's other
    /// flows leave. If one of those links turns out to limit a solved flow,
    /// it is opened and the part solved again (after a few tries, the whole
    /// component). The unsolved flows keep their rates, which is exact in
    /// exact arithmetic: a flow's rate is set at a saturated link where it
    /// has the largest rate, and an unsolved flow's such link holds no
    /// solved flow. Links in a router core that never fill, which every
    /// flow of a topology crosses, no longer tie every flow event to every
    /// flow.
    ///
    /// Remaining bits and ties are kept as a whole-component solve keeps
    /// them: every component flow's bits are brought up to now, and new
    /// finish times are numbered in the component's order. In floats, a
    /// rate a whole solve would derive again (subtracting in another order)
    /// can differ from the kept one in its last bits, and a finish time by
    /// a nanosecond (tested: rates to 1e-12, finishes to 1 ns).
    fn recompute(&mut self, now: SimTime, seeds: &[LinkId], tie: &mut impl FnMut(u64) -> u64) {
        self.stamp += 1;
        let stamp = self.stamp;
        self.comp_links.clear();
        self.comp_flows.clear();
        // Breadth-first over links and flows. Each flow reached has its
        // remaining bits brought up to now, and its rate (as it was) added
        // to its links' loads, to find the saturated links.
        self.load.clear();
        for &l in seeds {
            if !self.on_link[l as usize].is_empty() && self.link_stamp[l as usize] != stamp {
                self.link_stamp[l as usize] = stamp;
                self.link_local[l as usize] = self.comp_links.len() as u32;
                self.comp_links.push(l);
                self.load.push(0.0);
            }
        }
        let seed_links = self.comp_links.len();
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
                let dt = now.saturating_sub(flow.last_update).as_secs_f64();
                flow.remaining_bits = (flow.remaining_bits - flow.rate_bps * dt).max(0.0);
                flow.last_update = now;
                flow.old_rate_bps = flow.rate_bps;
                for &l2 in &flow.path {
                    if self.link_stamp[l2 as usize] != stamp {
                        self.link_stamp[l2 as usize] = stamp;
                        self.link_local[l2 as usize] = self.comp_links.len() as u32;
                        self.comp_links.push(l2);
                        self.load.push(0.0);
                    }
                    self.load[self.link_local[l2 as usize] as usize] += flow.rate_bps;
                }
            }
        }
        // A link flows left counts their rates too: it was saturated with them.
        self.freed_load.clear();
        self.freed_load.resize(self.comp_links.len(), 0.0);
        for &(l, rate) in &self.freed {
            if self.link_stamp[l as usize] == stamp {
                self.freed_load[self.link_local[l as usize] as usize] += rate;
            }
        }
        self.open.clear();
        for (i, &l) in self.comp_links.iter().enumerate() {
            let load = self.load[i] + self.freed_load[i];
            self.open.push(
                self.solve_whole
                    || self.always_whole
                    || nearly_full(load, self.capacity_bps[l as usize]),
            );
        }
        let mut tries = 0;
        while let Some(blocking) = self.solve_part(seed_links) {
            tries += 1;
            self.retries += 1;
            if tries >= 4 {
                self.open.iter_mut().for_each(|o| *o = true);
            } else {
                self.open[blocking] = true;
            }
            // Undo the failed try's rates.
            for &f in &self.solved_flows {
                let flow = &mut self.flows[f as usize];
                flow.rate_bps = flow.old_rate_bps;
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
            self.due.set(f, finish, tie(1));
        }
    }

    /// One try of [`FlowNetwork::recompute`]'s partial solve: collects the
    /// solved part (new flows and the flows of open links, through open
    /// links) and fills it progressively. Returns the component index of
    /// a link that is not open but limits a solved flow (the try is void),
    /// or `None` when the rates set are the component's max-min rates.
    /// The component's first `seed_links` links are the seeds.
    fn solve_part(&mut self, seed_links: usize) -> Option<usize> {
        self.stamp += 1;
        let stamp = self.stamp;
        let n = self.comp_links.len();
        self.solved_at.resize(n, 0);
        self.solved_load.resize(n, 0.0);
        self.rem_cap.resize(n, 0.0);
        self.unfixed.resize(n, 0);
        self.link_ver.resize(n, 0);
        self.solved_links.clear();
        self.solved_flows.clear();
        // Seeds: new flows, and the open links among the changed ones
        // (links flows left: their flows may speed up).
        for k in 0..self.comp_flows.len() {
            let f = self.comp_flows[k];
            if self.flows[f as usize].fresh {
                self.add_solved_flow(f, stamp);
            }
        }
        for i in 0..seed_links {
            if self.open[i] && self.solved_at[i] != stamp {
                self.add_solved_link(i, stamp);
            }
        }
        // Open links bring in all their flows, whose links come in too.
        let mut next = 0;
        while next < self.solved_links.len() {
            let i = self.solved_links[next] as usize;
            next += 1;
            if !self.open[i] {
                continue;
            }
            let l = self.comp_links[i];
            for k in 0..self.on_link[l as usize].len() {
                let f = self.on_link[l as usize][k];
                if self.flows[f as usize].solved != stamp {
                    self.add_solved_flow(f, stamp);
                }
            }
        }
        // Progressive filling with a heap of per-link fair shares, ordered
        // as the whole component's filling orders them (share, then the
        // link's place in the component). An open link holds only solved
        // flows; another offers what its unsolved flows leave.
        let mut heap = BinaryHeap::with_capacity(self.solved_links.len());
        for &i in &self.solved_links {
            let i = i as usize;
            let l = self.comp_links[i] as usize;
            let cap = self.capacity_bps[l];
            let cap = if self.open[i] {
                debug_assert_eq!(self.unfixed[i] as usize, self.on_link[l].len());
                cap
            } else {
                (cap - (self.load[i] - self.solved_load[i])).max(0.0)
            };
            self.rem_cap[i] = cap;
            heap.push(Reverse((Share(cap / f64::from(self.unfixed[i])), i, 0u32)));
        }
        self.stamp += 1;
        let fixed = self.stamp;
        while let Some(Reverse((Share(share), i, ver))) = heap.pop() {
            if self.unfixed[i] == 0 || self.link_ver[i] != ver {
                continue;
            }
            if !self.open[i] {
                return Some(i);
            }
            let share = share.max(0.0);
            let l = self.comp_links[i];
            for &f in &self.on_link[l as usize] {
                let flow = &mut self.flows[f as usize];
                if flow.fixed == fixed {
                    continue;
                }
                flow.fixed = fixed;
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
        // A link that is not open but is (nearly) full now may limit its
        // unsolved flows: open it. (What it offered was computed in
        // another order than a whole solve's, so a margin decides.)
        for &i in &self.solved_links {
            let i = i as usize;
            if !self.open[i] {
                let cap = self.capacity_bps[self.comp_links[i] as usize];
                // What is left of it after the solved flows took their rates.
                let used = cap - self.rem_cap[i];
                if nearly_full(used, cap) {
                    return Some(i);
                }
            }
        }
        None
    }

    /// Adds component link `i` to the solved part of try `stamp`.
    fn add_solved_link(&mut self, i: usize, stamp: u64) {
        self.solved_at[i] = stamp;
        self.solved_links.push(i as u32);
        self.solved_load[i] = 0.0;
        self.unfixed[i] = 0;
        self.link_ver[i] = 0;
    }

    /// Adds flow `f` to the solved part of try `stamp`, with its links.
    fn add_solved_flow(&mut self, f: FlowId, stamp: u64) {
        self.flows[f as usize].solved = stamp;
        self.solved_flows.push(f);
        for k in 0..self.flows[f as usize].path.len() {
            let flow = &self.flows[f as usize];
            let (l, rate) = (flow.path[k], flow.old_rate_bps);
            let i = self.link_local[l as usize] as usize;
            if self.solved_at[i] != stamp {
                self.add_solved_link(i, stamp);
            }
            self.solved_load[i] += rate;
            self.unfixed[i] += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    const MBIT: f64 = 1e6;

    /// Numbers finish times in the order they are set.
    fn ties() -> impl FnMut(u64) -> u64 {
        let mut next = 0;
        move |n| {
            next += n;
            next - n
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

    /// A flow to start: when (s), over which links, how many bytes.
    type Start = (f64, Vec<LinkId>, u64);

    /// Runs flows to completion, returning each flow's finish time in seconds.
    fn run_to_completion(net: &mut FlowNetwork, starts: &[Start]) -> Vec<f64> {
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
        let mut count = |n| {
            drawn += n;
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

    /// Every live flow's rate equals progressive filling from scratch.
    fn assert_reference_rates(
        net: &FlowNetwork,
        caps: &[f64],
        live: &[(FlowId, Vec<LinkId>)],
        at: &str,
    ) {
        let paths: Vec<Vec<LinkId>> = live.iter().map(|l| l.1.clone()).collect();
        let expected = reference_rates(caps, &paths);
        for ((id, _), want) in live.iter().zip(expected) {
            let got = net.rate_bps(*id);
            assert!(
                (got - want).abs() <= 1e-9 * want.max(1.0),
                "{at}: {got} vs {want}"
            );
        }
    }

    #[test]
    fn incremental_rates_equal_a_from_scratch_solution() {
        // Random starts and stops over random paths; after every change the
        // incremental solver must agree with progressive filling from scratch.
        let mut rnd = crate::engine::test_rnd(11);
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
                assert_reference_rates(&net, &caps, &live, &format!("trial {trial} step {step}"));
            }
        }
    }

    /// A router core: each flow crosses an access link of its own (1–100
    /// Mbit/s) and two or three of six shared core links, most far larger
    /// than the access links, some small enough to fill. Starts come in
    /// bursts at equal times.
    fn core_instance(rnd: &mut impl FnMut(u64) -> u64, flows: u32) -> (Vec<f64>, Vec<Start>) {
        let core = 6u32;
        let mut caps: Vec<f64> = (0..core)
            .map(|_| [60.0, 150.0, 400.0, 10_000.0][rnd(4) as usize] * MBIT)
            .collect();
        let mut starts = Vec::new();
        let mut t = 0.0;
        for f in 0..flows {
            caps.push((1 + rnd(100)) as f64 * MBIT);
            let mut path = vec![core + f];
            for _ in 0..2 + rnd(2) {
                let l = rnd(u64::from(core)) as LinkId;
                if !path.contains(&l) {
                    path.push(l);
                }
            }
            if rnd(3) == 0 {
                t += rnd(2_000) as f64 * 1e-3;
            }
            starts.push((t, path, 1_000 * (1 + rnd(5_000))));
        }
        (caps, starts)
    }

    /// Two networks over `caps`: one solving parts of components (as the
    /// simulator does), one always solving whole components.
    fn partial_and_whole(caps: Vec<f64>) -> (FlowNetwork, FlowNetwork) {
        let mut whole = FlowNetwork::new(caps.clone());
        whole.always_whole = true;
        (FlowNetwork::new(caps), whole)
    }

    #[test]
    fn a_partial_solve_finishes_flows_when_a_whole_solve_does() {
        // Same flows, one network solving only the flows a change can reach
        // through full links, the other whole components: every finish
        // time agrees to the nanosecond (the lockstep test below says why
        // not always to the bit), and retries take place.
        let mut rnd = crate::engine::test_rnd(29);
        let (mut retries, mut exact, mut flows) = (0, 0, 0);
        let mut worst = 0.0f64;
        for trial in 0..40 {
            let (caps, starts) = core_instance(&mut rnd, 60);
            let (mut partial, mut whole) = partial_and_whole(caps);
            let a = run_to_completion(&mut partial, &starts);
            let b = run_to_completion(&mut whole, &starts);
            for (i, (x, y)) in a.iter().zip(&b).enumerate() {
                assert!(x.is_finite(), "trial {trial} flow {i}");
                worst = worst.max((x - y).abs());
                assert!(
                    (x - y).abs() <= 2e-9,
                    "trial {trial} flow {i}: {x} s, {y} s"
                );
                exact += usize::from(x.to_bits() == y.to_bits());
                flows += 1;
            }
            retries += partial.retries;
            assert_eq!(whole.retries, 0);
        }
        eprintln!(
            "{exact} of {flows} finish times equal to the bit; largest difference {worst:e} s"
        );
        // Core links that were slack and filled up were opened and the
        // part solved again.
        assert!(retries > 0, "no partial solve was redone");
    }

    #[test]
    fn partial_and_whole_solves_agree_step_by_step_under_batches_and_abandons() {
        // Two networks in lockstep, one solving parts, one whole
        // components, driven through batches of starts and early stops
        // (abandons) at the same instant, deferred and flushed once; the
        // partial one's next finish decides what happens next in both.
        // In exact arithmetic they agree; in floats a rate the whole solve
        // derives again (with its subtractions in another order) can differ
        // in the last bits from the one the partial solve kept, and a
        // finish time by a nanosecond. So: rates to 1e-12 relative, next
        // finishes to 1 ns, and stops' bytes to 1 byte.
        let mut rnd = crate::engine::test_rnd(31);
        let (mut retries, mut steps, mut exact) = (0, 0, 0);
        let mut worst_rate = 0.0f64;
        for trial in 0..30 {
            let core = 5u32;
            let access = 40u32;
            let mut caps: Vec<f64> = (0..core)
                .map(|_| [60.0, 200.0, 10_000.0][rnd(3) as usize] * MBIT)
                .collect();
            caps.extend((0..access).map(|_| (1 + rnd(100)) as f64 * MBIT));
            let (mut partial, mut whole) = partial_and_whole(caps);
            let (mut tie_a, mut tie_b) = (ties(), ties());
            let mut live: Vec<FlowId> = Vec::new();
            let mut now = SimTime::ZERO;
            for step in 0..400 {
                let at = format!("trial {trial} step {step}");
                let due = partial.next_due();
                let due_whole = whole.next_due();
                assert_eq!(due.is_some(), due_whole.is_some(), "{at}");
                if let (Some(a), Some(b)) = (due, due_whole) {
                    assert!(a.finish.0.abs_diff(b.finish.0) <= 1, "{at}: {a:?} {b:?}");
                }
                let next_batch = now.saturating_add(SimTime(rnd(50_000_000)));
                match due {
                    Some(d) if d.finish <= next_batch => {
                        now = d.finish;
                        let a = partial.stop(now, d.flow, &mut tie_a);
                        let b = whole.stop(now, d.flow, &mut tie_b);
                        assert!(a.abs_diff(b) <= 1, "{at}: {a} {b} bytes");
                        live.retain(|&f| f != d.flow);
                    }
                    _ => {
                        now = next_batch;
                        for _ in 0..1 + rnd(4) {
                            if !live.is_empty() && rnd(3) == 0 {
                                let f = live.swap_remove(rnd(live.len() as u64) as usize);
                                let a = partial.stop_deferred(now, f);
                                let b = whole.stop_deferred(now, f);
                                assert!(a.abs_diff(b) <= 1, "{at}: {a} {b} bytes");
                            } else {
                                let mut path = vec![core + rnd(u64::from(access)) as LinkId];
                                for _ in 0..1 + rnd(3) {
                                    let l = rnd(u64::from(core)) as LinkId;
                                    if !path.contains(&l) {
                                        path.push(l);
                                    }
                                }
                                let bytes = 1_000 * (1 + rnd(2_000));
                                let a = partial.start_deferred(now, &path, bytes);
                                let b = whole.start_deferred(now, &path, bytes);
                                assert_eq!(a, b);
                                live.push(a);
                            }
                        }
                        partial.flush(now, &mut tie_a);
                        whole.flush(now, &mut tie_b);
                    }
                }
                steps += 1;
                let mut same = true;
                for &f in &live {
                    let (a, b) = (partial.rate_bps(f), whole.rate_bps(f));
                    let rel = (a - b).abs() / b.max(1.0);
                    worst_rate = worst_rate.max(rel);
                    same &= a.to_bits() == b.to_bits();
                    assert!(rel <= 1e-12, "{at} flow {f}: {a} {b}");
                }
                exact += usize::from(same);
            }
            retries += partial.retries;
        }
        eprintln!(
            "{exact} of {steps} steps with every rate equal to the bit; \
             largest relative difference {worst_rate:e}; {retries} retries"
        );
        assert!(retries > 0, "no partial solve was redone");
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
            a.stop(t, f, &mut |n| {
                immediate += n;
                immediate
            });
        }
        for &f in &ids[..5] {
            b.stop_deferred(t, f);
        }
        assert!(b.has_pending());
        let mut deferred = 0;
        b.flush(t, &mut |n| {
            deferred += n;
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

    /// A random star: `k` senders with private links (0..k) into hub `k`;
    /// starts at random times, random sizes, some flows abandoned early.
    pub(super) fn random_star(rnd: &mut impl FnMut(u64) -> u64, k: u32) -> (Vec<f64>, Vec<Start>) {
        let mut caps: Vec<f64> = (0..k).map(|_| (1 + rnd(200)) as f64 * MBIT).collect();
        let hub = (1 + rnd(20 * u64::from(k))) as f64 * MBIT;
        caps.push(hub);
        let starts = (0..k)
            .map(|i| {
                let at = rnd(4) as f64 * 0.5 + rnd(1000) as f64 * 1e-4;
                let bytes = 1 + rnd(20_000_000);
                let path = if rnd(2) == 0 { vec![i, k] } else { vec![k, i] };
                (at, path, bytes)
            })
            .collect();
        (caps, starts)
    }

    #[test]
    fn a_star_finishes_flows_when_the_general_solver_does() {
        // The water level and virtual clock against progressive filling
        // from scratch on every event: the same completion times, to the
        // nanosecond (both round finish times up to whole nanoseconds).
        let mut rnd = crate::engine::test_rnd(23);
        let mut worst = 0.0f64;
        for trial in 0..200 {
            let k = 1 + rnd(40) as u32;
            let (caps, starts) = random_star(&mut rnd, k);
            let mut general = FlowNetwork::new(caps.clone());
            let mut star = FlowNetwork::new(caps.clone());
            star.add_star_hub(k);
            let want = run_to_completion(&mut general, &starts);
            let got = run_to_completion(&mut star, &starts);
            for (i, (w, g)) in want.iter().zip(&got).enumerate() {
                worst = worst.max((w - g).abs());
                assert!(
                    (w - g).abs() <= 2e-9,
                    "trial {trial}, flow {i} of {k}: general {w} s, star {g} s"
                );
            }
        }
        eprintln!("largest difference {worst:e} s");
    }

    #[test]
    fn star_rates_equal_a_from_scratch_solution() {
        let mut rnd = crate::engine::test_rnd(29);
        for trial in 0..50 {
            let k = 1 + rnd(30) as u32;
            let (caps, _) = random_star(&mut rnd, k);
            let mut net = FlowNetwork::new(caps.clone());
            net.add_star_hub(k);
            let mut live: Vec<(FlowId, Vec<LinkId>)> = Vec::new();
            let mut free: Vec<u32> = (0..k).collect();
            let mut tie = ties();
            for step in 0..80u64 {
                let now = SimTime(step * 1_000);
                if !free.is_empty() && (live.is_empty() || rnd(3) > 0) {
                    let i = free.swap_remove(rnd(free.len() as u64) as usize);
                    let path = if rnd(2) == 0 { vec![i, k] } else { vec![k, i] };
                    live.push((net.start(now, &path, 1_000_000, &mut tie), path));
                } else {
                    let (id, path) = live.swap_remove(rnd(live.len() as u64) as usize);
                    net.stop(now, id, &mut tie);
                    free.push(path[0].min(path[1]));
                }
                assert_reference_rates(&net, &caps, &live, &format!("trial {trial} step {step}"));
            }
        }
    }

    #[test]
    fn equal_finishes_run_in_the_general_solvers_order_at_a_star() {
        // Six equal broadcasts end in the same nanosecond: the star must
        // hand them out in the order the general solver does (the order
        // their rates last changed), unsaturated and saturated, even though
        // each stop swaps the hub list's last flow into the hole.
        for hub_bps in [1e10, 1e8] {
            let mut caps = vec![1e8; 6];
            caps.push(hub_bps);
            let order = |star: bool| {
                let mut net = FlowNetwork::new(caps.clone());
                if star {
                    net.add_star_hub(6);
                }
                let mut tie = ties();
                let ids: Vec<FlowId> = (0..6)
                    .map(|i| net.start_deferred(SimTime::ZERO, &[6, i], 1_000_000))
                    .collect();
                net.flush(SimTime::ZERO, &mut tie);
                let mut out = Vec::new();
                while let Some(d) = net.next_due() {
                    out.push((ids.iter().position(|&x| x == d.flow).unwrap(), d.finish));
                    net.stop_deferred(d.finish, d.flow);
                    if net.next_due().is_none_or(|n| n.finish != d.finish) {
                        net.flush(d.finish, &mut tie);
                    }
                }
                out
            };
            let general = order(false);
            assert_eq!(
                general.iter().map(|o| o.0).collect::<Vec<_>>(),
                [0, 1, 2, 3, 4, 5]
            );
            assert_eq!(order(true), general, "hub at {hub_bps} bit/s");
        }
    }

    #[test]
    fn a_star_that_stops_fitting_hands_its_flows_to_the_general_solver() {
        // Some flows reuse a busy private link or cross two private links:
        // the stars dissolve and every rate and finish time must still be
        // what the general solver gives.
        let mut dissolved = 0;
        let mut rnd = crate::engine::test_rnd(31);
        for trial in 0..100 {
            let k = 2 + rnd(20) as u32;
            let (caps, mut starts) = random_star(&mut rnd, k);
            for s in starts.iter_mut() {
                match rnd(8) {
                    0 => s.1 = vec![rnd(u64::from(k)) as LinkId, k],
                    1 => s.1 = vec![0, 1, k],
                    _ => {}
                }
            }
            let mut general = FlowNetwork::new(caps.clone());
            let mut star = FlowNetwork::new(caps.clone());
            star.add_star_hub(k);
            let want = run_to_completion(&mut general, &starts);
            let got = run_to_completion(&mut star, &starts);
            dissolved += usize::from(star.stars.is_empty());
            for (i, (w, g)) in want.iter().zip(&got).enumerate() {
                assert!(
                    (w - g).abs() <= 2e-9,
                    "trial {trial}, flow {i}: general {w} s, star {g} s"
                );
            }
        }
        assert!(
            dissolved > 20,
            "only {dissolved} trials dissolved their star"
        );
    }
}
