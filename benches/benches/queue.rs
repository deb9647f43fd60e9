//! Event-queue hold model: with N events pending, pop the earliest and push
//! one a random distance later (the classic priority-queue benchmark), for
//! dmlsim's radix-heap queue and, as the baseline it was chosen against, a
//! binary heap keyed the same way (`time << 64 | seq`, FIFO ties).

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use dmlsim::engine::rng::splitmix64;
use dmlsim::engine::{EventQueue, SimTime};
use std::cmp::Ordering;
use std::collections::BinaryHeap;
use std::hint::black_box;

/// Pending sizes measured; 10 M holds 320 MB of entries.
const PENDING: [usize; 4] = [1_000, 100_000, 1_000_000, 10_000_000];

/// A random delay of up to 1 ms (in ns), so keys spread over the near future.
fn delays(seed: u64) -> impl FnMut() -> u64 {
    let mut state = seed;
    move || {
        state = splitmix64(state);
        state % 1_000_000
    }
}

/// An entry of the binary heap dmlsim used before the radix heap: a
/// 128-bit key compared alone, with a 16-byte payload like `Event`.
struct Entry {
    key: u128,
    event: [u64; 2],
}

impl PartialEq for Entry {
    fn eq(&self, other: &Self) -> bool {
        self.key == other.key
    }
}
impl Eq for Entry {}
impl PartialOrd for Entry {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Entry {
    fn cmp(&self, other: &Self) -> Ordering {
        // A max-heap: reversed so the earliest key pops first.
        other.key.cmp(&self.key)
    }
}

/// That binary heap, as the baseline.
struct BinaryHeapQueue {
    heap: BinaryHeap<Entry>,
    seq: u64,
}

impl BinaryHeapQueue {
    fn push(&mut self, t: u64, event: [u64; 2]) {
        self.seq += 1;
        let key = ((t as u128) << 64) | self.seq as u128;
        self.heap.push(Entry { key, event });
    }
    fn pop(&mut self) -> (u64, [u64; 2]) {
        let e = self.heap.pop().expect("pending");
        ((e.key >> 64) as u64, e.event)
    }
}

fn hold(c: &mut Criterion) {
    let mut group = c.benchmark_group("queue_hold");
    group.throughput(Throughput::Elements(1));
    for &pending in &PENDING {
        let mut next = delays(1);
        let mut q: EventQueue<[u64; 2]> = EventQueue::with_capacity(pending + 1);
        for i in 0..pending {
            q.push(SimTime(next()), [i as u64, 0]);
        }
        group.bench_with_input(BenchmarkId::new("radix", pending), &pending, |b, _| {
            b.iter(|| {
                let (t, _, e) = q.pop().expect("pending");
                q.push(SimTime(t.nanos() + next()), black_box(e));
            })
        });
        drop(q);
        let mut next = delays(1);
        let mut q = BinaryHeapQueue {
            heap: BinaryHeap::with_capacity(pending + 1),
            seq: 0,
        };
        for i in 0..pending {
            q.push(next(), [i as u64, 0]);
        }
        group.bench_with_input(BenchmarkId::new("binary", pending), &pending, |b, _| {
            b.iter(|| {
                let (t, e) = q.pop();
                q.push(t + next(), black_box(e));
            })
        });
    }
    group.finish();
}

criterion_group!(benches, hold);
criterion_main!(benches);
