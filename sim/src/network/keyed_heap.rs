//! An indexed binary heap of flows by a key: insert, remove any flow and
//! read the top in O(log n) / O(1), with the flow as the last tie-break so
//! the top is the same element an ordered set of `(key, flow)` would give
//! first (min heap) or last (max heap). The network's due finish times
//! ([`super::due`]) are one; the stars keep their flows below
//! and at the water level by capacity in these (an ordered set costs a tree
//! walk and node allocations per change; 4% of a 1,000-client round's
//! instructions). Their level flows stay in an ordered set: finding the
//! earliest walks distinct targets, which a heap cannot skip.

use super::FlowId;

/// Where a flow is in the heap: an index into it, or absent.
const ABSENT: u32 = u32::MAX;

/// Flows by `(key, flow)`, each at most once; the top is the smallest
/// (`MAX = false`) or the largest (`MAX = true`).
pub struct KeyedHeap<K, const MAX: bool> {
    /// `(key, flow)` entries in heap order.
    heap: Vec<(K, FlowId)>,
    /// Position of each flow in `heap`, or `ABSENT`.
    pos: Vec<u32>,
}

impl<K, const MAX: bool> Default for KeyedHeap<K, MAX> {
    fn default() -> Self {
        KeyedHeap {
            heap: Vec::new(),
            pos: Vec::new(),
        }
    }
}

impl<K: Ord + Copy, const MAX: bool> KeyedHeap<K, MAX> {
    /// Whether `a` belongs above `b`.
    #[inline]
    fn above(a: &(K, FlowId), b: &(K, FlowId)) -> bool {
        if MAX { a > b } else { a < b }
    }

    /// Number of flows held.
    pub fn len(&self) -> usize {
        self.heap.len()
    }

    /// Whether no flow is held.
    pub fn is_empty(&self) -> bool {
        self.heap.is_empty()
    }

    /// The top entry.
    pub fn peek(&self) -> Option<(K, FlowId)> {
        self.heap.first().copied()
    }

    /// The entries, in heap order (not sorted).
    pub fn as_slice(&self) -> &[(K, FlowId)] {
        &self.heap
    }

    /// Adds a flow that is not held.
    pub fn insert(&mut self, key: K, flow: FlowId) {
        let f = flow as usize;
        if self.pos.len() <= f {
            self.pos.resize(f + 1, ABSENT);
        }
        debug_assert_eq!(self.pos[f], ABSENT, "flow {flow} is held already");
        self.heap.push((key, flow));
        let last = self.heap.len() - 1;
        self.pos[f] = last as u32;
        self.sift_up(last);
    }

    /// Sets a flow's key: inserts the flow, or moves it if held.
    pub fn set(&mut self, key: K, flow: FlowId) {
        match self.pos.get(flow as usize) {
            Some(&at) if at != ABSENT => {
                let i = at as usize;
                let old = self.heap[i];
                self.heap[i].0 = key;
                if Self::above(&self.heap[i], &old) {
                    self.sift_up(i);
                } else {
                    self.sift_down(i);
                }
            }
            _ => self.insert(key, flow),
        }
    }

    /// Removes a flow; returns its key if it was held.
    pub fn remove(&mut self, flow: FlowId) -> Option<K> {
        let at = *self.pos.get(flow as usize)?;
        if at == ABSENT {
            return None;
        }
        let i = at as usize;
        self.pos[flow as usize] = ABSENT;
        let last = self.heap.pop().expect("a held flow is in the heap");
        if i == self.heap.len() {
            return Some(last.0);
        }
        let old = self.heap[i];
        self.place(i, last);
        if Self::above(&last, &old) {
            self.sift_up(i);
        } else {
            self.sift_down(i);
        }
        Some(old.0)
    }

    #[inline]
    fn place(&mut self, i: usize, entry: (K, FlowId)) {
        self.heap[i] = entry;
        self.pos[entry.1 as usize] = i as u32;
    }

    fn sift_up(&mut self, mut i: usize) {
        let entry = self.heap[i];
        while i > 0 {
            let parent = (i - 1) / 2;
            if !Self::above(&entry, &self.heap[parent]) {
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
            let child = if right < n && Self::above(&self.heap[right], &self.heap[left]) {
                right
            } else {
                left
            };
            if !Self::above(&self.heap[child], &entry) {
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
    use std::collections::BTreeSet;

    fn check<const MAX: bool>(seed: u64) {
        let mut rnd = crate::engine::test_rnd(seed);
        let mut heap: KeyedHeap<u64, MAX> = KeyedHeap::default();
        let mut set: BTreeSet<(u64, FlowId)> = BTreeSet::new();
        let mut key_of = vec![None; 400];
        for step in 0..60_000 {
            let flow = rnd(400) as FlowId;
            match key_of[flow as usize] {
                Some(k) if rnd(3) > 0 => {
                    assert_eq!(heap.remove(flow), Some(k));
                    set.remove(&(k, flow));
                    key_of[flow as usize] = None;
                }
                Some(_) => {}
                None => {
                    // Few distinct keys, so the flow decides many ties.
                    let k = rnd(20);
                    heap.insert(k, flow);
                    set.insert((k, flow));
                    key_of[flow as usize] = Some(k);
                }
            }
            if step % 1000 == 0 {
                assert_eq!(heap.remove(400 + flow), None);
            }
            let want = if MAX { set.last() } else { set.first() };
            assert_eq!(heap.peek(), want.copied());
            assert_eq!(heap.len(), set.len());
        }
        let mut all = heap.as_slice().to_vec();
        all.sort();
        assert_eq!(all, set.into_iter().collect::<Vec<_>>());
    }

    #[test]
    fn top_is_an_ordered_sets_first_or_last_under_random_changes() {
        check::<false>(5);
        check::<true>(6);
    }
}
