//! The two training backends side by side:
//! - `train_round_cpu_vs_gpu`: one round of local training (32 examples
//!   per client, one step of 32, momentum) on ndarray and on the wgpu
//!   backend, in training examples per second;
//! - `fedavg_cpu_vs_gpu`: FedAvg's aggregation (ndarray backend's rule,
//!   wgpu weighted-mean kernel), in bytes of updates read per second.
//!
//! Host upload and readback are included. On lavapipe the GPU figures only
//! prove the path works; on a real GPU compare them with its FP32
//! throughput (training) and memory bandwidth (aggregation). Without an
//! adapter the GPU cases are skipped. `DMLSIM_BENCH_LARGE=1` adds the
//! sizes that only a real GPU finishes in reasonable time (10,000 clients,
//! a 10 M parameter model).

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use dmlsim_gpu::{Gpu, GpuBackend};
use dmlsim_models::aggregate::{Rule, aggregate};
use dmlsim_models::backend::{ClientTask, NdarrayBackend, TrainingBackend};
use dmlsim_models::behaviour::Behaviour;
use dmlsim_models::data::synthetic::gaussian_mixture;
use dmlsim_models::nn::Mlp;
use dmlsim_models::rng::stream;
use dmlsim_models::train::LocalConfig;
use rand::RngExt;

fn device() -> Option<Gpu> {
    match Gpu::new() {
        Ok(g) => {
            eprintln!("GPU: {:?}", g.summary());
            Some(g)
        }
        Err(e) => {
            eprintln!("GPU cases skipped: {e}");
            None
        }
    }
}

fn large() -> bool {
    std::env::var_os("DMLSIM_BENCH_LARGE").is_some_and(|v| v != "0")
}

/// Examples per client (one step of this batch size).
const SAMPLES: usize = 32;

fn train_round(c: &mut Criterion) {
    let gpu = device().map(GpuBackend::on);
    let mut g = c.benchmark_group("train_round_cpu_vs_gpu");
    g.sample_size(10);
    // (clients, layer sizes): about 10 k, 100 k, 1 M (and 10 M) parameters.
    let mut cases: Vec<(usize, Vec<usize>)> = vec![
        (10, vec![64, 128, 10]),
        (100, vec![64, 128, 10]),
        (1000, vec![64, 128, 10]),
        (10, vec![256, 384, 10]),
        (100, vec![256, 384, 10]),
        (10, vec![512, 1536, 128, 10]),
    ];
    if large() {
        cases.push((10_000, vec![64, 128, 10]));
        cases.push((10, vec![1024, 4096, 1024, 10]));
    }
    let cfg = LocalConfig {
        epochs: 1,
        batch_size: SAMPLES,
        learning_rate: 0.01,
        momentum: 0.9,
        weight_decay: 0.0,
        prox_mu: 0.0,
    };
    for (clients, sizes) in cases {
        let model = Mlp::new(sizes.clone());
        let data = gaussian_mixture(
            10,
            sizes[0],
            3.0,
            clients * SAMPLES,
            &mut stream(1, "data", sizes[0] as u64),
        );
        let global = model.init(&mut stream(1, "init", 0));
        let shards: Vec<Vec<u32>> = (0..clients)
            .map(|k| ((k * SAMPLES) as u32..((k + 1) * SAMPLES) as u32).collect())
            .collect();
        let tasks = || -> Vec<ClientTask> {
            shards
                .iter()
                .enumerate()
                .map(|(k, rows)| ClientTask {
                    rows,
                    behaviour: Behaviour::Honest,
                    rng: stream(1, "train", k as u64),
                })
                .collect()
        };
        g.throughput(Throughput::Elements((clients * SAMPLES) as u64));
        let size = format!("{clients}x{}", model.num_params());
        let mut backends: Vec<(&str, &dyn TrainingBackend)> = vec![("ndarray", &NdarrayBackend)];
        if let Some(gpu) = &gpu {
            backends.push(("wgpu", gpu));
        }
        for (name, backend) in backends {
            g.bench_function(BenchmarkId::new(name, &size), |b| {
                b.iter(|| backend.train(&model, &global, &data, &cfg, &mut tasks()))
            });
        }
    }
    g.finish();
}

fn fedavg(c: &mut Criterion) {
    let gpu = device();
    let mut g = c.benchmark_group("fedavg_cpu_vs_gpu");
    g.sample_size(10);
    let mut cases = vec![(10usize, 100_000usize), (100, 100_000), (10, 1_000_000)];
    if large() {
        cases.extend([(1000, 100_000), (10, 10_000_000), (100, 10_000_000)]);
    }
    for (clients, params) in cases {
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

criterion_group!(benches, train_round, fedavg);
criterion_main!(benches);
