//! The pending-event queue, ordered by `(time, insertion sequence)` so that
//! events at equal times come out first-in first-out, always.
//!
//! It is a radix heap over the 128-bit key `time << 64 | seq`. A discrete
//! event simulation never schedules before the event it is handling, so
//! every key pushed is at least the last key popped (the queue is
//! *monotone*), and a radix heap exploits that: an entry lives in the bucket
//! of the highest bit in which its key differs from the last popped key.
//! Pushing is a bit scan and a `Vec::push`; popping from an empty bucket 0
//! takes the first non-empty bucket, finds its minimum and redistributes the
//! rest into lower buckets, so each entry moves at most once per bit it
//! shares with the front, through memory read sequentially. Measured
//! against a binary heap in `benches/benches/queue.rs` (figures in
//! `docs/benchmarks.md`): faster from 1,000 pending on, several times so
//! past a million, where the binary heap's sift paths miss the cache.

use super::time::SimTime;

/// Identifies a scheduled event by its key — its time and sequence number,
/// unique in the queue; used to cancel it.
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct EventId(u128);

impl EventId {
    /// The id of the event queued at `time` under sequence number `seq`.
    pub fn new(time: SimTime, seq: u64) -> EventId {
        EventId(key_of(time, seq))
    }

    /// When the event runs.
    pub fn time(self) -> SimTime {
        SimTime((self.0 >> 64) as u64)
    }

    /// Its sequence number (insertion order, or the number reserved for it).
    pub fn seq(self) -> u64 {
        self.0 as u64
    }
}

struct Entry<E> {
    /// `time << 64 | seq`: one integer comparison orders by time, then FIFO.
    key: u128,
    event: E,
}

/// Buckets: 0 holds keys equal to `last`; bucket `b ≥ 1` holds keys whose
/// highest bit differing from `last` is bit `b - 1`.
const BUCKETS: usize = 129;

/// A min-queue of events keyed by `(time, sequence)`; keys pushed must not
/// be smaller than the last key popped.
pub struct EventQueue<E> {
    buckets: Vec<Vec<Entry<E>>>,
    /// Bit `b` set when bucket `b` is non-empty (buckets 0..=127; bucket
    /// 128 is checked directly).
    occupied: u128,
    /// The last key popped (or moved to the front); every pending key is ≥ it.
    last: u128,
    len: usize,
    next_seq: u64,
}

impl<E> Default for EventQueue<E> {
    fn default() -> Self {
        Self::new()
    }
}

fn key_of(time: SimTime, seq: u64) -> u128 {
    ((time.0 as u128) << 64) | seq as u128
}

impl<E> EventQueue<E> {
    /// An empty queue.
    pub fn new() -> Self {
        EventQueue {
            buckets: (0..BUCKETS).map(|_| Vec::new()).collect(),
            occupied: 0,
            last: 0,
            len: 0,
            next_seq: 0,
        }
    }

    /// An empty queue with room for `capacity` pending events.
    pub fn with_capacity(capacity: usize) -> Self {
        let mut q = Self::new();
        // Most entries of a busy queue sit in the buckets of the time bits.
        for b in &mut q.buckets[64..] {
            b.reserve(capacity / 64);
        }
        q
    }

    fn bucket_of(&self, key: u128) -> usize {
        (128 - (key ^ self.last).leading_zeros()) as usize
    }

    fn insert(&mut self, entry: Entry<E>) {
        debug_assert!(entry.key >= self.last, "key below the queue's front");
        let b = self.bucket_of(entry.key);
        self.buckets[b].push(entry);
        if b < 128 {
            self.occupied |= 1 << b;
        }
        self.len += 1;
    }

    /// Takes the next sequence number without queueing anything, so an
    /// event a model keeps outside the queue can later be pushed with
    /// [`EventQueue::push_with_seq`] exactly where it would have been.
    pub fn reserve_seq(&mut self) -> u64 {
        self.reserve_seqs(1)
    }

    /// Takes `n` consecutive sequence numbers; returns the first.
    pub fn reserve_seqs(&mut self, n: u64) -> u64 {
        let seq = self.next_seq;
        self.next_seq += n;
        seq
    }

    /// Adds an event at `time`; later pushes at the same time pop later.
    pub fn push(&mut self, time: SimTime, event: E) -> EventId {
        let seq = self.reserve_seq();
        self.push_with_seq(time, seq, event)
    }

    /// Adds an event under a sequence number taken earlier with
    /// [`EventQueue::reserve_seq`]; `(time, seq)` must not be smaller than
    /// the last popped key (checked in debug builds).
    pub fn push_with_seq(&mut self, time: SimTime, seq: u64, event: E) -> EventId {
        let key = key_of(time, seq);
        self.insert(Entry { key, event });
        EventId(key)
    }

    /// Makes bucket 0 hold the earliest entry; false when the queue is empty.
    fn settle_front(&mut self) -> bool {
        if self.occupied & 1 != 0 {
            return true;
        }
        let b = if self.occupied != 0 {
            self.occupied.trailing_zeros() as usize
        } else if !self.buckets[128].is_empty() {
            128
        } else {
            return false;
        };
        let mut moving = std::mem::take(&mut self.buckets[b]);
        if b < 128 {
            self.occupied &= !(1u128 << b);
        }
        let min = moving.iter().map(|e| e.key).min().expect("non-empty");
        self.last = min;
        // Every entry lands in a bucket below `b` (it shares bit `b - 1`
        // with the new front), so below 128.
        for e in moving.drain(..) {
            let to = (128 - (e.key ^ min).leading_zeros()) as usize;
            self.occupied |= 1 << to;
            self.buckets[to].push(e);
        }
        // Hand the (empty) allocation back so the bucket keeps its capacity.
        self.buckets[b] = moving;
        true
    }

    /// Removes and returns the earliest event with its time and id.
    pub fn pop(&mut self) -> Option<(SimTime, EventId, E)> {
        if !self.settle_front() {
            return None;
        }
        let e = self.buckets[0].pop().expect("front settled");
        // Keys are unique (the sequence number is), so bucket 0 held one entry.
        debug_assert!(self.buckets[0].is_empty());
        self.occupied &= !1;
        self.len -= 1;
        Some((SimTime((e.key >> 64) as u64), EventId(e.key), e.event))
    }

    /// The time of the earliest pending event.
    pub fn peek_time(&mut self) -> Option<SimTime> {
        if !self.settle_front() {
            return None;
        }
        Some(SimTime((self.buckets[0][0].key >> 64) as u64))
    }

    /// Number of pending events (cancelled ones included until popped).
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether no event is pending.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cmp::Reverse;
    use std::collections::BinaryHeap;

    #[test]
    fn pops_in_time_order() {
        let mut q = EventQueue::new();
        q.push(SimTime(30), 'c');
        q.push(SimTime(10), 'a');
        q.push(SimTime(20), 'b');
        let order: Vec<char> = std::iter::from_fn(|| q.pop().map(|(_, _, e)| e)).collect();
        assert_eq!(order, vec!['a', 'b', 'c']);
    }

    #[test]
    fn equal_times_are_first_in_first_out() {
        let mut q = EventQueue::new();
        for i in 0..1000u32 {
            // Interleave two time stamps so ties are spread through the buckets.
            q.push(SimTime(u64::from(i % 2)), i);
        }
        let mut last: Option<(SimTime, u32)> = None;
        while let Some((t, _, i)) = q.pop() {
            if let Some((lt, li)) = last {
                assert!(
                    t > lt || (t == lt && i > li),
                    "tie broken out of insertion order"
                );
            }
            last = Some((t, i));
        }
    }

    #[test]
    fn ids_are_insertion_sequence() {
        let mut q = EventQueue::new();
        let a = q.push(SimTime(5), ());
        let b = q.push(SimTime(1), ());
        assert_eq!((a.seq(), b.seq()), (0, 1));
        assert_eq!((a.time(), b.time()), (SimTime(5), SimTime(1)));
        assert_eq!(q.pop().unwrap().1, b);
        assert_eq!(q.peek_time(), Some(SimTime(5)));
    }

    #[test]
    fn a_reserved_sequence_number_keeps_its_place() {
        // An event pushed late under an early sequence number pops before
        // events at the same time pushed after the reservation.
        let mut q = EventQueue::new();
        let early = q.reserve_seq();
        q.push(SimTime(7), "later");
        q.push_with_seq(SimTime(7), early, "reserved");
        assert_eq!(q.pop().unwrap().2, "reserved");
        assert_eq!(q.pop().unwrap().2, "later");
        assert!(q.pop().is_none());
    }

    #[test]
    fn agrees_with_a_binary_heap_on_random_monotone_work() {
        // Random holds, bursts and drains, including the extremes of the
        // time range; the radix heap must pop exactly what a binary heap
        // ordered by (time, seq) pops.
        let mut rnd = crate::engine::test_rnd(5);
        let mut q = EventQueue::new();
        let mut reference = BinaryHeap::new();
        let mut now = 0u64;
        for step in 0..200_000u64 {
            let op = rnd(10);
            if op < 6 || reference.is_empty() {
                let delay = match rnd(5) {
                    0 => 0,
                    1 => rnd(10),
                    2 => rnd(1_000_000),
                    3 => rnd(1 << 40),
                    _ => (u64::MAX - now) / (1 + rnd(4)),
                };
                let t = SimTime(now + delay);
                let id = q.push(t, step);
                reference.push(Reverse((t, id, step)));
            } else {
                let Reverse(want) = reference.pop().unwrap();
                assert_eq!(q.peek_time(), Some(want.0));
                assert_eq!(q.pop(), Some(want));
                now = want.0.0;
            }
            assert_eq!(q.len(), reference.len());
        }
        while let Some(Reverse(want)) = reference.pop() {
            assert_eq!(q.pop(), Some(want));
        }
        assert!(q.is_empty() && q.pop().is_none());
    }
}
