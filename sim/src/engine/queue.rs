//! The pending-event queue, ordered by `(time, insertion sequence)` so that
//! events at equal times come out first-in first-out, always.

use super::time::SimTime;
use std::cmp::Ordering;
use std::collections::BinaryHeap;

/// Identifies a scheduled event (its insertion sequence number); used to cancel it.
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct EventId(pub u64);

struct Entry<E> {
    /// `time << 64 | seq`: one integer comparison orders by time, then FIFO.
    key: u128,
    event: E,
}

impl<E> PartialEq for Entry<E> {
    fn eq(&self, other: &Self) -> bool {
        self.key == other.key
    }
}
impl<E> Eq for Entry<E> {}
impl<E> PartialOrd for Entry<E> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl<E> Ord for Entry<E> {
    fn cmp(&self, other: &Self) -> Ordering {
        // BinaryHeap is a max-heap; reverse to pop the earliest key first.
        other.key.cmp(&self.key)
    }
}

/// A min-queue of events keyed by `(time, sequence)`.
pub struct EventQueue<E> {
    heap: BinaryHeap<Entry<E>>,
    next_seq: u64,
}

impl<E> Default for EventQueue<E> {
    fn default() -> Self {
        Self::new()
    }
}

impl<E> EventQueue<E> {
    /// An empty queue.
    pub fn new() -> Self {
        EventQueue {
            heap: BinaryHeap::new(),
            next_seq: 0,
        }
    }

    /// An empty queue with room for `capacity` pending events.
    pub fn with_capacity(capacity: usize) -> Self {
        EventQueue {
            heap: BinaryHeap::with_capacity(capacity),
            next_seq: 0,
        }
    }

    /// Adds an event at `time`; later pushes at the same time pop later.
    pub fn push(&mut self, time: SimTime, event: E) -> EventId {
        let seq = self.next_seq;
        self.next_seq += 1;
        let key = ((time.0 as u128) << 64) | seq as u128;
        self.heap.push(Entry { key, event });
        EventId(seq)
    }

    /// Removes and returns the earliest event with its time and id.
    pub fn pop(&mut self) -> Option<(SimTime, EventId, E)> {
        self.heap.pop().map(|e| {
            (
                SimTime((e.key >> 64) as u64),
                EventId(e.key as u64),
                e.event,
            )
        })
    }

    /// The time of the earliest pending event.
    pub fn peek_time(&self) -> Option<SimTime> {
        self.heap.peek().map(|e| SimTime((e.key >> 64) as u64))
    }

    /// Number of pending events (cancelled ones included until popped).
    pub fn len(&self) -> usize {
        self.heap.len()
    }

    /// Whether no event is pending.
    pub fn is_empty(&self) -> bool {
        self.heap.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
            // Interleave two time stamps so ties are spread through the heap.
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
        assert_eq!((a, b), (EventId(0), EventId(1)));
        assert_eq!(q.pop().unwrap().1, b);
        assert_eq!(q.peek_time(), Some(SimTime(5)));
    }
}
