//! The training kernels against the ndarray backend: the same tasks (same
//! streams, so the same mini-batches) trained on both give parameters
//! within a stated max-abs difference and the same losses to a stated
//! relative error; models and batches off the workgroup size; clients
//! split into groups, and steps into windows, by a small binding limit; two
//! runs on one device give the same bits. Skipped without an adapter unless `DMLSIM_REQUIRE_GPU`
//! is set (CI sets it, with lavapipe).

use dmlsim_gpu::{GpuBackend, Shape, test_gpu};
use dmlsim_models::aggregate::Rule;
use dmlsim_models::backend::{ClientTask, NdarrayBackend, TrainingBackend};
use dmlsim_models::behaviour::Behaviour;
use dmlsim_models::data::{Dataset, Standardizer, digits};
use dmlsim_models::nn::Mlp;
use dmlsim_models::rng::stream;
use dmlsim_models::train::{LocalConfig, LocalResult};
use rand::RngExt;

/// Largest parameter difference allowed after one round of local training
/// (the kernels sum in another order than ndarray's matrix products).
const PARAM_MAX_ABS: f32 = 1e-5;
/// Largest relative difference of a client's mean training loss.
const LOSS_REL: f64 = 1e-4;

fn data() -> (Dataset, Dataset) {
    let d = digits::load();
    let (mut train, mut test) = d.split(0.2, &mut stream(5, "split", 0));
    let s = Standardizer::fit(&train);
    s.apply(&mut train);
    s.apply(&mut test);
    (train, test)
}

fn cfg() -> LocalConfig {
    LocalConfig {
        epochs: 3,
        batch_size: 10,
        learning_rate: 0.05,
        momentum: 0.9,
        weight_decay: 1e-3,
        prox_mu: 0.01,
    }
}

/// Shards of uneven sizes (some not multiples of the batch, one of a
/// single example, one empty) with mixed behaviours.
fn shards(n: usize) -> Vec<(Vec<u32>, Behaviour)> {
    let mut rng = stream(9, "shards", 0);
    [1usize, 7, 10, 23, 64, 65, 130, 0]
        .iter()
        .enumerate()
        .map(|(k, &size)| {
            let rows = (0..size).map(|_| rng.random_range(0..n as u32)).collect();
            let b = if k % 3 == 2 {
                Behaviour::LabelFlip
            } else {
                Behaviour::Honest
            };
            (rows, b)
        })
        .collect()
}

fn train_on(
    backend: &dyn TrainingBackend,
    model: &Mlp,
    global: &[f32],
    train: &Dataset,
    cfg: &LocalConfig,
) -> (Vec<LocalResult>, Vec<u64>) {
    let shards = shards(train.len());
    let mut tasks: Vec<ClientTask> = shards
        .iter()
        .enumerate()
        .map(|(k, (rows, b))| ClientTask {
            rows,
            behaviour: *b,
            rng: stream(11, "train", k as u64),
        })
        .collect();
    let results = backend.train(model, global, train, cfg, &mut tasks);
    // What the learner draws after training must not depend on the backend.
    let next = tasks.iter_mut().map(|t| t.rng.random::<u64>()).collect();
    (results, next)
}

fn max_abs(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len());
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f32::max)
}

fn parity(sizes: Vec<usize>, cfg: &LocalConfig) {
    let Some(g) = test_gpu() else { return };
    let gpu = GpuBackend::on(g);
    let (train, _) = data();
    let mut sizes = sizes;
    sizes[0] = train.dim();
    *sizes.last_mut().unwrap() = train.classes;
    let model = Mlp::new(sizes);
    let global = model.init(&mut stream(3, "init", 0));
    let (cpu, cpu_next) = train_on(&NdarrayBackend, &model, &global, &train, cfg);
    let (dev, dev_next) = train_on(&gpu, &model, &global, &train, cfg);
    assert_eq!(cpu_next, dev_next, "streams advanced differently");
    let mut worst = 0.0f32;
    for (c, d) in cpu.iter().zip(&dev) {
        worst = worst.max(max_abs(&c.params, &d.params));
        let rel = (c.loss - d.loss).abs() / c.loss.abs().max(1e-12);
        assert!(
            rel <= LOSS_REL,
            "loss {} on the CPU, {} on the GPU",
            c.loss,
            d.loss
        );
    }
    eprintln!(
        "{:?}: largest parameter difference {worst:.2e}",
        model.sizes()
    );
    assert!(worst <= PARAM_MAX_ABS, "{:?}: {worst}", model.sizes());
    // The update moved the model: the comparison is not of two copies of
    // the global model. The empty shard keeps it, with no loss.
    assert!(max_abs(&dev[6].params, &global) > 1e-2);
    assert_eq!(dev[7].params, global);
    assert_eq!(dev[7].loss, 0.0);
}

#[test]
fn zero_epochs_return_the_global_model_on_both_backends() {
    let Some(g) = test_gpu() else { return };
    let gpu = GpuBackend::on(g);
    let (train, _) = data();
    let model = Mlp::new(vec![train.dim(), 8, train.classes]);
    let global = model.init(&mut stream(3, "init", 0));
    let none = LocalConfig { epochs: 0, ..cfg() };
    let (cpu, cpu_next) = train_on(&NdarrayBackend, &model, &global, &train, &none);
    let (dev, dev_next) = train_on(&gpu, &model, &global, &train, &none);
    assert_eq!(cpu, dev);
    assert_eq!(cpu_next, dev_next);
    assert!(dev.iter().all(|r| r.params == global && r.loss == 0.0));
}

#[test]
fn a_test_set_of_several_evaluation_batches_scores_as_on_the_cpu() {
    let Some(g) = test_gpu() else { return };
    let gpu = GpuBackend::on(g);
    // 2,500 examples: batches of 1,024, 1,024 and a short 452.
    let test = dmlsim_models::data::synthetic::gaussian_mixture(
        4,
        20,
        1.5,
        2500,
        &mut stream(8, "mixture", 0),
    );
    let model = Mlp::new(vec![20, 16, 4]);
    let params = model.init(&mut stream(8, "init", 0));
    let cpu = NdarrayBackend.evaluate(&model, &params, &test);
    let dev = gpu.evaluate(&model, &params, &test);
    eprintln!("2,500 examples: CPU {cpu:?}, GPU {dev:?}");
    assert!((cpu.accuracy - dev.accuracy).abs() <= 1.0 / 2500.0);
    assert!((cpu.loss - dev.loss).abs() <= 1e-5 * cpu.loss);
    // An untrained model: some hits, some misses, nothing degenerate.
    assert!(cpu.accuracy > 0.1 && cpu.accuracy < 1.0, "{cpu:?}");
}

#[test]
fn logistic_regression_trains_as_on_the_cpu() {
    parity(vec![0, 0], &cfg());
}

#[test]
fn an_mlp_trains_as_on_the_cpu() {
    parity(vec![0, 33, 0], &cfg());
}

#[test]
fn a_deeper_mlp_without_momentum_trains_as_on_the_cpu() {
    let plain = LocalConfig {
        momentum: 0.0,
        weight_decay: 0.0,
        prox_mu: 0.0,
        ..cfg()
    };
    parity(vec![0, 70, 17, 0], &plain);
}

#[test]
fn groups_of_clients_give_the_same_bits_as_one_group_and_as_a_second_run() {
    let Some(g) = test_gpu() else { return };
    let (train, _) = data();
    let model = Mlp::new(vec![train.dim(), 40, train.classes]);
    let global = model.init(&mut stream(3, "init", 0));
    let gpu = GpuBackend::on(g);
    let (whole, _) = train_on(&gpu, &model, &global, &train, &cfg());
    let (again, _) = train_on(&gpu, &model, &global, &train, &cfg());
    assert_eq!(whole, again, "two runs on one device differ");
    // A binding that holds only two clients: four groups.
    let shape = Shape::new(model.sizes());
    let steps = 3 * 130usize.div_ceil(10);
    let small = 2 * shape.client_binding_bytes(steps, 10) + 4;
    assert_eq!(shape.clients_per_group(steps, 10, small), 2);
    let shards = shards(train.len());
    let x = train.x.as_slice().unwrap();
    let batches: Vec<_> = shards
        .iter()
        .enumerate()
        .map(|(k, (rows, b))| {
            let mut rng = stream(11, "train", k as u64);
            let mut order = rows.clone();
            let mut out = dmlsim_gpu::ClientBatches::default();
            for _ in 0..3 {
                rand::seq::SliceRandom::shuffle(&mut order[..], &mut rng);
                for chunk in order.chunks(10) {
                    out.rows.push(chunk.to_vec());
                    out.labels.push(
                        chunk
                            .iter()
                            .map(|&r| b.map_label(train.y[r as usize], train.classes))
                            .collect(),
                    );
                }
            }
            out
        })
        .collect();
    let sgd = dmlsim_gpu::Sgd::from(&cfg());
    let grouped = gpu
        .gpu()
        .train_chunked(&shape, &global, x, &batches, sgd, small)
        .unwrap();
    for (a, b) in grouped.iter().zip(&whole) {
        assert_eq!(a.params, b.params, "grouped training differs");
    }
    // A binding that holds one client's parameters but not its examples
    // for all 39 steps: windows of steps, one client at a time.
    let tight = shape.client_binding_bytes(1, 10);
    assert_eq!(shape.clients_per_group(steps, 10, tight), 0);
    let windowed = gpu
        .gpu()
        .train_chunked(&shape, &global, x, &batches, sgd, tight)
        .unwrap();
    for (a, b) in windowed.iter().zip(&whole) {
        assert_eq!(a.params, b.params, "training in windows of steps differs");
    }
    let with_probs = gpu
        .gpu()
        .train_chunked(&shape, &global, x, &batches, sgd, u64::MAX)
        .unwrap();
    assert_eq!(windowed, with_probs, "probabilities and hits per step");
    // Too small for even one client: an error, not a panic.
    let err = gpu
        .gpu()
        .train_chunked(&shape, &global, x, &batches, sgd, 64)
        .unwrap_err();
    assert!(err.to_string().contains("binding"), "{err}");
}

#[test]
fn evaluation_and_aggregation_agree_with_the_cpu() {
    let Some(g) = test_gpu() else { return };
    let gpu = GpuBackend::on(g);
    let (train, test) = data();
    let model = Mlp::new(vec![train.dim(), 32, train.classes]);
    let (results, _) = train_on(
        &NdarrayBackend,
        &model,
        &model.init(&mut stream(3, "init", 0)),
        &train,
        &cfg(),
    );
    let models: Vec<&[f32]> = results.iter().map(|r| r.params.as_slice()).collect();
    let weights: Vec<f64> = (1..=models.len()).map(|k| k as f64).collect();
    for rule in [
        Rule::FedAvg,
        Rule::MultiKrum { f: 1, m: 3 },
        Rule::Median,
        Rule::TrimmedMean { beta: 0.2 },
    ] {
        let cpu = NdarrayBackend.aggregate(&rule, &models, &weights).unwrap();
        let dev = gpu.aggregate(&rule, &models, &weights).unwrap();
        assert!(max_abs(&cpu, &dev) <= 1e-5, "{rule:?}");
    }
    assert_eq!(gpu.aggregate(&Rule::FedAvg, &models, &[0.0; 7]), None);
    assert_eq!(gpu.aggregate(&Rule::FedAvg, &[], &[]), None);
    let params = &results[6].params;
    let cpu = NdarrayBackend.evaluate(&model, params, &test);
    let dev = gpu.evaluate(&model, params, &test);
    eprintln!("evaluation: CPU {cpu:?}, GPU {dev:?}");
    assert!((cpu.accuracy - dev.accuracy).abs() <= 1.0 / test.len() as f64);
    assert!((cpu.loss - dev.loss).abs() <= 1e-5 * cpu.loss);
    assert!(cpu.accuracy > 0.5, "a trained model, not a guess");
}
