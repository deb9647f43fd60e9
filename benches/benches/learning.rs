//! Learning throughput: local training on digits (samples/s on one core)
//! and aggregation rules (updates × parameters per second).

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use dmlsim_models::aggregate::{Rule, aggregate};
use dmlsim_models::data::{Standardizer, digits};
use dmlsim_models::nn::Mlp;
use dmlsim_models::rng::stream;
use dmlsim_models::train::{LocalConfig, train_local};
use rand::RngExt;

fn training(c: &mut Criterion) {
    let mut d = digits::load();
    let s = Standardizer::fit(&d);
    s.apply(&mut d);
    let rows: Vec<u32> = (0..d.len() as u32).collect();
    let cfg = LocalConfig {
        epochs: 1,
        batch_size: 32,
        learning_rate: 0.05,
        momentum: 0.9,
        weight_decay: 0.0,
        prox_mu: 0.0,
    };
    let mut g = c.benchmark_group("local_training_digits_epoch");
    g.throughput(Throughput::Elements(rows.len() as u64));
    for (name, model) in [
        ("logistic", Mlp::logistic(64, 10)),
        ("mlp_64_64_10", Mlp::new(vec![64, 64, 10])),
    ] {
        let w0 = model.init(&mut stream(1, "init", 0));
        g.bench_function(name, |b| {
            b.iter(|| {
                train_local(
                    &model,
                    &w0,
                    &d,
                    &rows,
                    &cfg,
                    |y| y,
                    &mut stream(1, "train", 0),
                )
            })
        });
    }
    g.finish();
}

fn aggregation(c: &mut Criterion) {
    let (n, p) = (100usize, 100_000usize);
    let mut rng = stream(2, "updates", 0);
    let models: Vec<Vec<f32>> = (0..n)
        .map(|_| (0..p).map(|_| rng.random::<f32>()).collect())
        .collect();
    let refs: Vec<&[f32]> = models.iter().map(|m| m.as_slice()).collect();
    let weights = vec![1.0; n];
    let mut g = c.benchmark_group("aggregate_100_updates_100k_params");
    g.throughput(Throughput::Elements((n * p) as u64));
    g.sample_size(10);
    for rule in [
        Rule::FedAvg,
        Rule::Median,
        Rule::TrimmedMean { beta: 0.1 },
        Rule::Krum { f: 10 },
    ] {
        g.bench_with_input(
            BenchmarkId::from_parameter(rule.label()),
            &rule,
            |b, rule| b.iter(|| aggregate(rule, &refs, &weights)),
        );
    }
    g.finish();
}

criterion_group!(benches, training, aggregation);
criterion_main!(benches);
