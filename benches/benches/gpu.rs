//! FedAvg's aggregation on the CPU (ndarray backend's rule) and on the GPU
//! (wgpu weighted-mean kernel, host upload and readback included), in
//! bytes of updates read per second. On lavapipe the GPU figures only
//! prove the path works; on a real GPU compare them with its memory
//! bandwidth. Without an adapter the GPU cases are skipped.

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use dmlsim_gpu::Gpu;
use dmlsim_models::aggregate::{Rule, aggregate};
use dmlsim_models::rng::stream;
use rand::RngExt;

fn fedavg(c: &mut Criterion) {
    let gpu = match Gpu::new() {
        Ok(g) => {
            eprintln!("GPU: {:?}", g.summary());
            Some(g)
        }
        Err(e) => {
            eprintln!("GPU cases skipped: {e}");
            None
        }
    };
    let mut g = c.benchmark_group("fedavg_cpu_vs_gpu");
    g.sample_size(10);
    for (clients, params) in [(10usize, 100_000usize), (100, 100_000), (10, 1_000_000)] {
        let mut rng = stream(4, "updates", (clients * params) as u64);
        let models: Vec<Vec<f32>> = (0..clients)
            .map(|_| (0..params).map(|_| rng.random::<f32>()).collect())
            .collect();
        let refs: Vec<&[f32]> = models.iter().map(|m| m.as_slice()).collect();
        let weights: Vec<f64> = (0..clients).map(|i| 1.0 + i as f64).collect();
        g.throughput(Throughput::Bytes((clients * params * 4) as u64));
        let size = format!("{clients}x{params}");
        g.bench_with_input(BenchmarkId::new("ndarray", &size), &refs, |b, refs| {
            b.iter(|| aggregate(&Rule::FedAvg, refs, &weights))
        });
        if let Some(gpu) = &gpu {
            g.bench_with_input(BenchmarkId::new("wgpu", &size), &refs, |b, refs| {
                b.iter(|| gpu.weighted_mean(refs, &weights))
            });
        }
    }
    g.finish();
}

criterion_group!(benches, fedavg);
criterion_main!(benches);
