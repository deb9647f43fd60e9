//! The finish times of active flows: an indexed binary min-heap keyed by
//! `(finish time, tie)`, so that a flow's finish time can move (its rate
//! changed) or vanish (it was abandoned) in O(log n) without leaving a stale
//! entry behind, and the network needs only one wake-up event in the
//! engine, at the earliest finish.

use super::keyed_heap::KeyedHeap;
use crate::engine::SimTime;

/// A due flow: when its last bit leaves its bottleneck, and the tie-break
/// among flows finishing at the same nanosecond (lower first).
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct Due {
    /// The flow's slot.
    pub flow: u32,
    /// When its last bit leaves its bottleneck (latency not included).
    pub finish: SimTime,
    /// Order among equal finish times.
    pub tie: u64,
}

fn key(finish: SimTime, tie: u64) -> u128 {
    ((finish.0 as u128) << 64) | tie as u128
}

/// Flows by finish time, each at most once.
#[derive(Default)]
pub struct DueHeap {
    heap: KeyedHeap<u128, false>,
}

impl DueHeap {
    /// Number of flows with a finish time.
    pub fn len(&self) -> usize {
        self.heap.len()
    }

    /// Whether no flow has a finish time.
    pub fn is_empty(&self) -> bool {
        self.heap.is_empty()
    }

    /// The earliest finish.
    pub fn first(&self) -> Option<Due> {
        self.heap.peek().map(|(k, flow)| Due {
            flow,
            finish: SimTime((k >> 64) as u64),
            tie: k as u64,
        })
    }

    /// Sets (or moves) a flow's finish time.
    pub fn set(&mut self, flow: u32, finish: SimTime, tie: u64) {
        self.heap.set(key(finish, tie), flow);
    }

    /// Forgets a flow's finish time (if it has one).
    pub fn remove(&mut self, flow: u32) {
        self.heap.remove(flow);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    #[test]
    fn agrees_with_a_sorted_map_under_random_moves_and_removals() {
        let mut rnd = crate::engine::test_rnd(3);
        let mut heap = DueHeap::default();
        // flow → key, and key → flow, for the reference.
        let mut by_flow: BTreeMap<u32, (u64, u64)> = BTreeMap::new();
        let mut tie = 0u64;
        for _ in 0..50_000 {
            let flow = rnd(300) as u32;
            if rnd(4) == 0 {
                heap.remove(flow);
                by_flow.remove(&flow);
            } else {
                let finish = rnd(1000);
                tie += 1;
                heap.set(flow, SimTime(finish), tie);
                by_flow.insert(flow, (finish, tie));
            }
            let want = by_flow
                .iter()
                .map(|(&f, &(t, k))| (t, k, f))
                .min()
                .map(|(t, k, f)| Due {
                    flow: f,
                    finish: SimTime(t),
                    tie: k,
                });
            assert_eq!(heap.first(), want);
            assert_eq!(heap.len(), by_flow.len());
        }
    }
}
