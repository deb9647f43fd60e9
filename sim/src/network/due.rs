//! The finish times of active flows: an indexed binary min-heap keyed by
//! `(finish time, tie)`, so that a flow's finish time can move (its rate
//! changed) or vanish (it was abandoned) in O(log n) without leaving a stale
//! entry behind, and the network needs only one wake-up event in the
//! engine, at the earliest finish.

use crate::engine::SimTime;

/// Where a flow is in the heap: an index into it, or absent.
const ABSENT: u32 = u32::MAX;

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
    /// `(key, flow)`, a binary min-heap on the key.
    heap: Vec<(u128, u32)>,
    /// Position of each flow slot in `heap`, or `ABSENT`.
    pos: Vec<u32>,
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
        self.heap.first().map(|&(k, flow)| Due {
            flow,
            finish: SimTime((k >> 64) as u64),
            tie: k as u64,
        })
    }

    /// Sets (or moves) a flow's finish time.
    pub fn set(&mut self, flow: u32, finish: SimTime, tie: u64) {
        let f = flow as usize;
        if self.pos.len() <= f {
            self.pos.resize(f + 1, ABSENT);
        }
        let k = key(finish, tie);
        let at = self.pos[f];
        if at == ABSENT {
            self.heap.push((k, flow));
            self.pos[f] = (self.heap.len() - 1) as u32;
            self.sift_up(self.heap.len() - 1);
        } else {
            let i = at as usize;
            let old = self.heap[i].0;
            self.heap[i].0 = k;
            if k < old {
                self.sift_up(i);
            } else {
                self.sift_down(i);
            }
        }
    }

    /// Forgets a flow's finish time (if it has one).
    pub fn remove(&mut self, flow: u32) {
        let Some(&at) = self.pos.get(flow as usize) else {
            return;
        };
        if at == ABSENT {
            return;
        }
        let i = at as usize;
        self.pos[flow as usize] = ABSENT;
        let last = self.heap.pop().expect("flow is in the heap");
        if i < self.heap.len() {
            let old = self.heap[i].0;
            self.heap[i] = last;
            self.pos[last.1 as usize] = i as u32;
            if last.0 < old {
                self.sift_up(i);
            } else {
                self.sift_down(i);
            }
        }
    }

    fn place(&mut self, i: usize, entry: (u128, u32)) {
        self.heap[i] = entry;
        self.pos[entry.1 as usize] = i as u32;
    }

    fn sift_up(&mut self, mut i: usize) {
        let entry = self.heap[i];
        while i > 0 {
            let parent = (i - 1) / 2;
            if self.heap[parent].0 <= entry.0 {
                break;
            }
            let p = self.heap[parent];
            self.place(i, p);
            i = parent;
        }
        self.place(i, entry);
    }

    fn sift_down(&mut self, mut i: usize) {
        let entry = self.heap[i];
        let n = self.heap.len();
        loop {
            let left = 2 * i + 1;
            if left >= n {
                break;
            }
            let right = left + 1;
            let child = if right < n && self.heap[right].0 < self.heap[left].0 {
                right
            } else {
                left
            };
            if self.heap[child].0 >= entry.0 {
                break;
            }
            let c = self.heap[child];
            self.place(i, c);
            i = child;
        }
        self.place(i, entry);
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
