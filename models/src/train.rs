//! Local training on a client's shard: mini-batch SGD with momentum, weight
//! decay and an optional FedProx proximal term, and the exact FLOPs it costs.

use crate::data::Dataset;
use crate::nn::Mlp;
use ndarray::Array2;
use rand::Rng;
use rand::seq::SliceRandom;

/// Local training settings.
#[derive(Clone, Debug, PartialEq)]
pub struct LocalConfig {
    /// Passes over the shard per round.
    pub epochs: u32,
    /// Examples per SGD step (the last batch of an epoch may be smaller).
    pub batch_size: usize,
    /// SGD step size.
    pub learning_rate: f32,
    /// Heavy-ball momentum in [0, 1).
    pub momentum: f32,
    /// L2 penalty coefficient (added to the gradient as `wd · w`).
    pub weight_decay: f32,
    /// FedProx proximal coefficient μ (adds `μ · (w − w_global)`).
    pub prox_mu: f32,
}

/// The outcome of one client's local training.
#[derive(Clone, Debug, PartialEq)]
pub struct LocalResult {
    /// Parameters after training.
    pub params: Vec<f32>,
    /// Mean mini-batch loss over all steps.
    pub loss: f64,
    /// FLOPs spent (equals [`work_flops`] for the same shard size).
    pub flops: f64,
}

/// SGD steps for `samples` examples.
pub fn steps(samples: usize, cfg: &LocalConfig) -> u64 {
    u64::from(cfg.epochs) * samples.div_ceil(cfg.batch_size.max(1)) as u64
}

/// FLOPs of one parameter update per parameter: the gradient terms that are
/// switched on, the momentum buffer and the step.
fn update_flops_per_param(cfg: &LocalConfig) -> f64 {
    let mut f = 2.0; // w -= lr · v
    if cfg.momentum != 0.0 {
        f += 2.0; // v = m · v + g
    }
    if cfg.weight_decay != 0.0 {
        f += 2.0; // g += wd · w
    }
    if cfg.prox_mu != 0.0 {
        f += 3.0; // g += μ · (w − w_global)
    }
    f
}

/// FLOPs of local training on `samples` examples: forward and backward per
/// example per epoch, plus one parameter update per step.
pub fn work_flops(model: &Mlp, samples: usize, cfg: &LocalConfig) -> f64 {
    f64::from(cfg.epochs) * samples as f64 * model.train_flops_per_sample()
        + steps(samples, cfg) as f64 * model.num_params() as f64 * update_flops_per_param(cfg)
}

/// Trains from `global` on the examples `rows` of `data`, with labels passed
/// through `label_map` (identity for honest clients). Shuffles each epoch
/// with `rng`; fully deterministic for a given generator state.
pub fn train_local<R: Rng + ?Sized>(
    model: &Mlp,
    global: &[f32],
    data: &Dataset,
    rows: &[u32],
    cfg: &LocalConfig,
    label_map: impl Fn(u32) -> u32,
    rng: &mut R,
) -> LocalResult {
    let mut w = global.to_vec();
    let mut v = vec![0f32; w.len()];
    let mut g = vec![0f32; w.len()];
    let mut order: Vec<u32> = rows.to_vec();
    let d = data.dim();
    let bs = cfg.batch_size.max(1);
    let mut batch_x = Array2::<f32>::zeros((bs, d));
    let mut batch_y: Vec<u32> = Vec::with_capacity(bs);
    let mut loss_sum = 0.0;
    let mut n_steps = 0u64;
    for _ in 0..cfg.epochs {
        order.shuffle(rng);
        for chunk in order.chunks(bs) {
            if chunk.len() != batch_x.nrows() {
                batch_x = Array2::zeros((chunk.len(), d));
            }
            batch_y.clear();
            for (i, &r) in chunk.iter().enumerate() {
                batch_x.row_mut(i).assign(&data.x.row(r as usize));
                batch_y.push(label_map(data.y[r as usize]));
            }
            loss_sum += model.loss_grad(&w, batch_x.view(), &batch_y, &mut g);
            n_steps += 1;
            for k in 0..w.len() {
                let mut grad = g[k];
                if cfg.weight_decay != 0.0 {
                    grad += cfg.weight_decay * w[k];
                }
                if cfg.prox_mu != 0.0 {
                    grad += cfg.prox_mu * (w[k] - global[k]);
                }
                let step = if cfg.momentum != 0.0 {
                    v[k] = cfg.momentum * v[k] + grad;
                    v[k]
                } else {
                    grad
                };
                w[k] -= cfg.learning_rate * step;
            }
            if batch_x.nrows() != bs {
                batch_x = Array2::zeros((bs, d));
            }
        }
    }
    LocalResult {
        params: w,
        loss: if n_steps > 0 {
            loss_sum / n_steps as f64
        } else {
            0.0
        },
        flops: work_flops(model, rows.len(), cfg),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::{Standardizer, digits};
    use crate::rng::stream;

    /// The accuracy `docs/learning.md` documents for centralised training.
    pub const CENTRAL_MLP_DIGITS_ACCURACY: f64 = 0.95;

    #[test]
    fn centralised_mlp_learns_digits() {
        let d = digits::load();
        let (mut train, mut test) = d.split(0.2, &mut stream(42, "split", 0));
        let s = Standardizer::fit(&train);
        s.apply(&mut train);
        s.apply(&mut test);
        let model = Mlp::new(vec![64, 64, 10]);
        let w0 = model.init(&mut stream(42, "init", 0));
        let cfg = LocalConfig {
            epochs: 20,
            batch_size: 32,
            learning_rate: 0.05,
            momentum: 0.9,
            weight_decay: 1e-4,
            prox_mu: 0.0,
        };
        let rows: Vec<u32> = (0..train.len() as u32).collect();
        let r = train_local(
            &model,
            &w0,
            &train,
            &rows,
            &cfg,
            |y| y,
            &mut stream(42, "train", 0),
        );
        let scores = model.evaluate(&r.params, test.x.view(), &test.y);
        eprintln!(
            "centralised MLP 64-64-10 on digits: test accuracy {:.4}",
            scores.accuracy
        );
        assert!(
            scores.accuracy >= CENTRAL_MLP_DIGITS_ACCURACY,
            "test accuracy {}",
            scores.accuracy
        );
        assert_eq!(r.flops, work_flops(&model, rows.len(), &cfg));
    }

    #[test]
    fn training_is_deterministic_for_a_seed() {
        let d = digits::load();
        let model = Mlp::logistic(64, 10);
        let w0 = vec![0f32; model.num_params()];
        let cfg = LocalConfig {
            epochs: 2,
            batch_size: 16,
            learning_rate: 0.01,
            momentum: 0.5,
            weight_decay: 0.0,
            prox_mu: 0.1,
        };
        let rows: Vec<u32> = (0..200).collect();
        let a = train_local(&model, &w0, &d, &rows, &cfg, |y| y, &mut stream(1, "t", 0));
        let b = train_local(&model, &w0, &d, &rows, &cfg, |y| y, &mut stream(1, "t", 0));
        assert_eq!(a, b);
        assert_eq!(steps(200, &cfg), 2 * 13);
    }
}
