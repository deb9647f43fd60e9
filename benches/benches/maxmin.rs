//! Max-min solver cost per flow event (a start and a stop, each followed by
//! the incremental recompute) with many flows already sharing the links:
//! - incast: 1,000 flows from distinct uplinks into one aggregator downlink,
//!   by the general solver and with the downlink served as a star hub;
//! - incast_star_100000: the same star with 100,000 flows (O(log K));
//! - mesh: 10,000 flows over random 2–6 link paths through 1,000 links.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use dmlsim::engine::SimTime;
use dmlsim::engine::rng::splitmix64;
use dmlsim::network::{FlowNetwork, LinkId};

/// `n` flows from distinct 20–100 Mbit/s uplinks into a 1 Gbit/s link;
/// the downlink is a star hub when `star`.
fn incast_network(n: u32, star: bool) -> FlowNetwork {
    let mut caps: Vec<f64> = (0..n).map(|i| (20.0 + f64::from(i % 81)) * 1e6).collect();
    caps.push(1e9);
    let mut net = FlowNetwork::new(caps);
    if star {
        net.add_star_hub(n);
    }
    let mut seq = 0u64;
    for i in 0..n - 1 {
        net.start(SimTime::ZERO, &[i, n], 100_000_000, &mut |k| {
            seq += k;
            seq
        });
    }
    net
}

fn incast(c: &mut Criterion) {
    // Numbers finish times as the engine's sequence would.
    let mut seq = 0u64;
    let mut out = move |n| {
        seq += n;
        seq
    };
    let mut g = c.benchmark_group("maxmin");
    g.throughput(Throughput::Elements(2));
    for (name, n, star) in [
        ("incast_1000_flows", 1_000u32, false),
        ("incast_1000_flows_star", 1_000, true),
        ("incast_100000_flows_star", 100_000, true),
    ] {
        let mut net = incast_network(n, star);
        let mut t = 0u64;
        g.bench_function(name, |b| {
            b.iter(|| {
                t += 1_000;
                let f = net.start(SimTime(t), &[n - 1, n], 100_000_000, &mut out);
                net.stop(SimTime(t + 500), f, &mut out);
            })
        });
    }

    let links = 1_000u32;
    let caps: Vec<f64> = (0..links)
        .map(|i| (100.0 + f64::from(i % 900)) * 1e6)
        .collect();
    let mut net = FlowNetwork::new(caps);
    let mut state = 7u64;
    let mut rnd = |m: u64| {
        state = splitmix64(state);
        state % m
    };
    let path_of = |rnd: &mut dyn FnMut(u64) -> u64| -> Vec<LinkId> {
        let len = 2 + rnd(5) as usize;
        let mut p: Vec<LinkId> = Vec::with_capacity(len);
        while p.len() < len {
            let l = rnd(u64::from(links)) as LinkId;
            if !p.contains(&l) {
                p.push(l);
            }
        }
        p
    };
    for _ in 0..10_000 {
        let p = path_of(&mut rnd);
        net.start(SimTime::ZERO, &p, 1_000_000_000, &mut out);
    }
    let probe = path_of(&mut rnd);
    let mut t = 0u64;
    g.bench_function("mesh_10000_flows_1000_links", |b| {
        b.iter(|| {
            t += 1_000;
            let f = net.start(SimTime(t), &probe, 1_000_000, &mut out);
            net.stop(SimTime(t + 500), f, &mut out);
        })
    });
    g.finish();
}

criterion_group!(benches, incast);
criterion_main!(benches);
