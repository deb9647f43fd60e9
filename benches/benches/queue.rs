//! Event-queue hold model: with N events pending, pop the earliest and push
//! one a random distance later (the classic priority-queue benchmark).

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use dmlsim::engine::rng::splitmix64;
use dmlsim::engine::{EventQueue, SimTime};
use std::hint::black_box;

fn hold(c: &mut Criterion) {
    let mut group = c.benchmark_group("queue_hold");
    group.throughput(Throughput::Elements(1));
    for &pending in &[1_000usize, 100_000, 1_000_000] {
        let mut q: EventQueue<u32> = EventQueue::with_capacity(pending + 1);
        let mut state = 1u64;
        let mut next = || {
            state = splitmix64(state);
            state % 1_000_000
        };
        for i in 0..pending {
            q.push(SimTime(next()), i as u32);
        }
        group.bench_with_input(BenchmarkId::from_parameter(pending), &pending, |b, _| {
            b.iter(|| {
                let (t, _, e) = q.pop().expect("pending");
                q.push(SimTime(t.nanos() + next()), black_box(e));
            })
        });
    }
    group.finish();
}

criterion_group!(benches, hold);
criterion_main!(benches);
