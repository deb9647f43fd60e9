//! Max-min sharing of one *hub* link by flows whose other links are their
//! own — the star every federated round forms on the aggregator's uplink
//! (broadcasts) and downlink (uploads) — in O(log K) per flow event.
//!
//! With private capacities `cᵢ` (the smallest capacity among a flow's other
//! links) and hub capacity `C`, progressive filling gives every flow
//! `rateᵢ = min(cᵢ, θ)`, where the water level θ solves `Σ min(cᵢ, θ) = C`
//! (θ = ∞ when `Σ cᵢ ≤ C`: the hub is not a bottleneck). Flows are kept in
//! two ordered sets by `cᵢ`: *low* ones (`cᵢ < θ`, at their own rate, with
//! an exact fixed-point sum of their capacities) and *high* ones (at θ, so
//! `θ = (C − Σ_low)/|high|`); a start or an end moves the boundary by a few
//! flows, each in O(log K).
//!
//! High flows advance on the hub's virtual clock `V(t) = ∫θ dt` (processor
//! sharing): a high flow finishes when `V` reaches its target `V(join) +
//! bits`, so a change of θ moves no flow — the targets are kept in order
//! and only the smallest are turned into finish times, `t + ⌈(target −
//! V(t))/θ⌉` from the last change. Low flows run at a constant rate and get
//! a finish time in the network's due heap when they become low.
//!
//! Ties: flows finishing at the same nanosecond run in the order of their
//! index in the hub's flow list when their rate last changed (the order in
//! which the general solver's recomputation reaches them), after the flows
//! of earlier recomputations. High flows whose targets differ in the last
//! bits but round to the same nanosecond are ordered the same way, not by
//! target.

use super::due::DueHeap;
use super::keyed_heap::KeyedHeap;
use super::{FlowId, LinkId};
use crate::engine::SimTime;
use std::cell::Cell;
use std::collections::BTreeSet;

/// Capacities are summed exactly as integers of 2⁻¹⁶ bit/s, so the water
/// level never drifts however many flows come and go.
const SCALE: f64 = 65_536.0;

fn fixed(bps: f64) -> i128 {
    (bps * SCALE).round() as i128
}

/// A flow at the star: its private capacity and progress.
#[derive(Clone, Copy, Default)]
struct Member {
    active: bool,
    /// Waiting for the next flush to be placed low or high.
    joining: bool,
    high: bool,
    cap: f64,
    /// Index in the hub's list.
    pos: u32,
    /// A high flow's index at the last flush that gave it its tie (the
    /// index in its key in `level`); it catches up with `pos` at the next
    /// flush that takes a block.
    key_pos: u32,
    /// Listed in `moved` (its index changed since its key was made).
    queued: bool,
    /// High flows: the virtual time at which the last bit leaves.
    target: f64,
    /// Low flows (and joining ones): bits left at `since`.
    remaining: f64,
    since: SimTime,
}

/// A flow handed back by [`Star::dissolve`].
pub struct Dissolved {
    /// The flow.
    pub flow: FlowId,
    /// Bits it has left.
    pub remaining_bits: f64,
    /// Its rate (0 while joining).
    pub rate_bps: f64,
    /// It had not been given a rate yet.
    pub joining: bool,
    /// A high flow's finish time and tie under the current level.
    pub high_finish: Option<(SimTime, u64)>,
}

/// One hub link and its flows.
pub struct Star {
    /// The hub link.
    pub link: LinkId,
    capacity: f64,
    members: Vec<Member>,
    /// Flows below the water level by capacity bits, the largest on top.
    low: KeyedHeap<u64, true>,
    /// Flows at the water level by capacity bits, the smallest on top.
    high: KeyedHeap<u64, false>,
    low_sum: i128,
    /// The water level (meaningful while `high` is non-empty).
    theta: f64,
    /// The virtual clock `V` at `t_ref` (the last flush).
    v: f64,
    t_ref: SimTime,
    /// High flows by `(target bits, key_pos, flow)`: by virtual finish,
    /// then by tie.
    level: BTreeSet<(u64, u32, FlowId)>,
    /// High flows whose index changed since their key was made.
    moved: Vec<FlowId>,
    /// The high flow that finishes first, `(flow, finish, tie)`, once found.
    earliest: Cell<Option<Option<(FlowId, SimTime, u64)>>>,
    /// Flows joined since the last flush, in join order.
    joining: Vec<FlowId>,
    /// Scratch: flows whose rate changed in a flush.
    changed: Vec<FlowId>,
    /// First tie number of the last flush's block (tie = base + pos).
    base: u64,
    dirty: bool,
}

impl Star {
    /// A star on `link` of `capacity` bit/s, with no flows.
    pub fn new(link: LinkId, capacity: f64) -> Star {
        Star {
            link,
            capacity,
            members: Vec::new(),
            low: KeyedHeap::default(),
            high: KeyedHeap::default(),
            low_sum: 0,
            theta: f64::INFINITY,
            v: 0.0,
            t_ref: SimTime::ZERO,
            level: BTreeSet::new(),
            moved: Vec::new(),
            earliest: Cell::new(None),
            joining: Vec::new(),
            changed: Vec::new(),
            base: 0,
            dirty: false,
        }
    }

    /// Whether flows joined or left since the last flush.
    pub fn is_dirty(&self) -> bool {
        self.dirty
    }

    /// Adds a flow of `bits` with private capacity `cap` at index `pos` of
    /// the hub's list; it is given a rate at the next flush.
    pub fn join(&mut self, flow: FlowId, cap: f64, bits: f64, pos: u32, now: SimTime) {
        let f = flow as usize;
        if self.members.len() <= f {
            self.members.resize(f + 1, Member::default());
        }
        self.members[f] = Member {
            active: true,
            joining: true,
            high: false,
            cap,
            pos,
            key_pos: pos,
            queued: false,
            target: 0.0,
            remaining: bits,
            since: now,
        };
        self.joining.push(flow);
        self.dirty = true;
    }

    /// The virtual clock at `now` under the current water level (set for
    /// the high flows at the last flush; infinite while none was high).
    fn v_at(&self, now: SimTime) -> f64 {
        if self.high.is_empty() || now == self.t_ref {
            self.v
        } else {
            self.v + self.theta * now.saturating_sub(self.t_ref).as_secs_f64()
        }
    }

    /// Bits a member has left at `now`.
    fn remaining_at(&self, m: &Member, now: SimTime) -> f64 {
        if m.joining {
            m.remaining
        } else if m.high {
            (m.target - self.v_at(now)).max(0.0)
        } else {
            (m.remaining - m.cap * now.saturating_sub(m.since).as_secs_f64()).max(0.0)
        }
    }

    /// Removes a flow at `now`; returns the bits it had left. A low flow's
    /// finish time stays in the network's due heap for the caller to remove.
    pub fn leave(&mut self, flow: FlowId, now: SimTime) -> f64 {
        let m = self.members[flow as usize];
        debug_assert!(m.active, "leaving flow is not at the star");
        let remaining = self.remaining_at(&m, now);
        if m.joining {
            self.joining.retain(|&j| j != flow);
        } else if m.high {
            self.high.remove(flow);
            self.level.remove(&(m.target.to_bits(), m.key_pos, flow));
            self.earliest.set(None);
        } else {
            self.low.remove(flow);
            self.low_sum -= fixed(m.cap);
        }
        self.members[flow as usize].active = false;
        self.dirty = true;
        remaining
    }

    /// The flow's index in the hub's list moved to `pos` (a removal swapped
    /// it into a hole).
    pub fn moved(&mut self, flow: FlowId, pos: u32) {
        let m = &mut self.members[flow as usize];
        m.pos = pos;
        if m.high && !m.joining && !m.queued {
            m.queued = true;
            self.moved.push(flow);
        }
    }

    /// The flow's current rate in bit/s (0 until its first flush).
    pub fn rate(&self, flow: FlowId) -> f64 {
        let m = &self.members[flow as usize];
        match (m.joining, m.high) {
            (true, _) => 0.0,
            (false, true) => self.theta,
            (false, false) => m.cap,
        }
    }

    /// The water level with the given low sum and high count.
    fn level_for(&self, low_sum: i128, high: usize) -> f64 {
        if high == 0 {
            return f64::INFINITY;
        }
        let spare = (fixed(self.capacity) - low_sum).max(0) as f64 / SCALE;
        spare / high as f64
    }

    fn make_high(&mut self, flow: FlowId, now: SimTime) {
        let m = self.members[flow as usize];
        let remaining = self.remaining_at(&m, now);
        let target = self.v + remaining;
        let m = &mut self.members[flow as usize];
        m.joining = false;
        m.high = true;
        m.target = target;
        m.key_pos = m.pos;
        self.high.insert(m.cap.to_bits(), flow);
        self.level.insert((target.to_bits(), m.key_pos, flow));
    }

    fn make_low(&mut self, flow: FlowId, now: SimTime) {
        let m = self.members[flow as usize];
        let remaining = self.remaining_at(&m, now);
        if m.high {
            self.level.remove(&(m.target.to_bits(), m.key_pos, flow));
        }
        let m = &mut self.members[flow as usize];
        m.joining = false;
        m.high = false;
        m.remaining = remaining;
        m.since = now;
        self.low.insert(m.cap.to_bits(), flow);
        self.low_sum += fixed(m.cap);
    }

    /// Places joining flows, moves flows across the water level until it is
    /// the max-min solution again, and gives every flow whose rate changed
    /// its finish time: low ones in `due`, high ones through `level`.
    /// `tie(n)` hands out `n` consecutive tie numbers; `list_len` is the
    /// hub list's length (every `pos` is below it).
    pub fn flush(
        &mut self,
        now: SimTime,
        list_len: usize,
        tie: &mut impl FnMut(u64) -> u64,
        due: &mut DueHeap,
    ) {
        // Bring the virtual clock up to now under the old level.
        self.v = self.v_at(now);
        self.t_ref = now;
        let old_theta = self.theta;
        // Scratch lists keep their allocations from flush to flush.
        let mut changed = std::mem::take(&mut self.changed);
        changed.clear();
        let mut joining = std::mem::take(&mut self.joining);
        for &flow in &joining {
            // Every newcomer starts high; the rebalance below lowers it if
            // its own capacity is below the level.
            self.make_high(flow, now);
            changed.push(flow);
        }
        joining.clear();
        self.joining = joining;
        // Rebalance: a high flow below the level goes low; a low flow that
        // would be at or above the level were it high goes high.
        // Each flow crosses at most twice (newcomers may come down, then
        // the boundary settles); the guard only bounds a float pathology.
        let mut guard = 2 * (self.low.len() + self.high.len()) + 4;
        loop {
            let theta = self.level_for(self.low_sum, self.high.len());
            guard -= 1;
            if guard == 0 {
                debug_assert!(false, "water level does not settle");
                self.theta = theta;
                break;
            }
            if let Some((bits, flow)) = self.high.peek()
                && f64::from_bits(bits) < theta
            {
                self.high.remove(flow);
                self.make_low(flow, now);
                changed.push(flow);
                continue;
            }
            if let Some((bits, flow)) = self.low.peek() {
                let cap = f64::from_bits(bits);
                let raised = self.level_for(self.low_sum - fixed(cap), self.high.len() + 1);
                if cap >= raised {
                    self.low.remove(flow);
                    self.low_sum -= fixed(cap);
                    self.make_high(flow, now);
                    changed.push(flow);
                    continue;
                }
            }
            self.theta = theta;
            break;
        }
        if self.high.is_empty() && self.low.is_empty() {
            // Restart the virtual clock so its values stay small.
            self.v = 0.0;
        }
        self.dirty = false;
        self.earliest.set(None);
        if changed.is_empty() && self.theta == old_theta {
            self.changed = changed;
            return;
        }
        self.base = tie(list_len as u64 + 1);
        // High flows that moved in the list since their last tie now take
        // their tie from their current index.
        let mut moved = std::mem::take(&mut self.moved);
        for &flow in &moved {
            let m = &mut self.members[flow as usize];
            m.queued = false;
            if m.active && m.high && !m.joining && m.key_pos != m.pos {
                let target = m.target.to_bits();
                self.level.remove(&(target, m.key_pos, flow));
                m.key_pos = m.pos;
                self.level.insert((target, m.key_pos, flow));
            }
        }
        moved.clear();
        self.moved = moved;
        for &flow in &changed {
            let m = self.members[flow as usize];
            if !m.high {
                let finish = now.saturating_add(SimTime::from_secs_f64_ceil(m.remaining / m.cap));
                due.set(flow, finish, self.base + u64::from(m.pos));
            } else {
                due.remove(flow);
            }
        }
        self.changed = changed;
    }

    /// A high flow's tie: its index in the hub's list at the last flush
    /// that took a block, within that block.
    fn tie_of(&self, flow: FlowId) -> u64 {
        self.base + u64::from(self.members[flow as usize].key_pos)
    }

    /// When a high flow with virtual `target` finishes under the level
    /// set at the last flush.
    fn finish_of(&self, target: f64) -> SimTime {
        if self.theta > 0.0 {
            let left = (target - self.v).max(0.0);
            self.t_ref
                .saturating_add(SimTime::from_secs_f64_ceil(left / self.theta))
        } else {
            SimTime::MAX
        }
    }

    /// The high flow that finishes first: `(flow, finish, tie)`. Among
    /// high flows finishing in the same nanosecond (the first few
    /// targets), the lowest tie.
    pub fn earliest(&self) -> Option<(FlowId, SimTime, u64)> {
        if let Some(found) = self.earliest.get() {
            return found;
        }
        // The first flow of each distinct target, in target order, while
        // the finish time stays that of the smallest target: flows with
        // equal targets come in tie order, so only the first counts.
        let mut best: Option<(FlowId, SimTime, u64)> = None;
        let mut next = self.level.first().copied();
        while let Some((target_bits, _, flow)) = next {
            let finish = self.finish_of(f64::from_bits(target_bits));
            let tie = self.tie_of(flow);
            match best {
                Some((_, first, _)) if finish > first => break,
                Some((_, _, t)) if t <= tie => {}
                _ => best = Some((flow, finish, tie)),
            }
            next = self.level.range((target_bits + 1, 0, 0)..).next().copied();
        }
        self.earliest.set(Some(best));
        best
    }

    /// Every flow as it is at `now`; empties the star. Used when the
    /// network stops serving this hub as a star.
    pub fn dissolve(&mut self, now: SimTime) -> Vec<Dissolved> {
        let mut out = Vec::new();
        // In the order ordered sets would list them: joining, then low and
        // high flows each by (capacity, flow).
        let mut low = self.low.as_slice().to_vec();
        low.sort_unstable();
        let mut high = self.high.as_slice().to_vec();
        high.sort_unstable();
        let flows: Vec<FlowId> = self
            .joining
            .iter()
            .copied()
            .chain(low.iter().map(|k| k.1))
            .chain(high.iter().map(|k| k.1))
            .collect();
        for flow in flows {
            let m = self.members[flow as usize];
            out.push(Dissolved {
                flow,
                remaining_bits: self.remaining_at(&m, now),
                rate_bps: self.rate(flow),
                joining: m.joining,
                high_finish: (m.high && !m.joining)
                    .then(|| (self.finish_of(m.target), self.tie_of(flow))),
            });
        }
        *self = Star::new(self.link, self.capacity);
        out
    }
}
