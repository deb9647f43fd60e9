//! [`GpuBackend`]: dmlsim's training backend on the GPU. Each client's
//! random stream is advanced exactly as the CPU's `train_local` does (one
//! shuffle of its rows per epoch, here on the host), so the mini-batches
//! are the same on both backends and only floating-point rounding differs.

use crate::{ClientBatches, Gpu, GpuError, Sgd, Shape};
use dmlsim_models::aggregate::{Rule, aggregate, krum_select, trim_count};
use dmlsim_models::backend::{ClientTask, DeviceInfo, TrainingBackend};
use dmlsim_models::data::Dataset;
use dmlsim_models::nn::{EVAL_BATCH, Mlp, Scores, cross_entropy};
use dmlsim_models::train::{LocalConfig, LocalResult, work_flops};
use rand::seq::SliceRandom;

/// Training, evaluation and aggregation on a wgpu device: FedAvg, median,
/// trimmed mean and Multi-Krum's mean run there; Krum's (and Multi-Krum's)
/// choice of models, pairwise distances in f64, stays on the CPU.
pub struct GpuBackend {
    gpu: Gpu,
}

impl GpuBackend {
    /// The backend on the first adapter wgpu offers.
    pub fn new() -> Result<GpuBackend, GpuError> {
        Ok(GpuBackend { gpu: Gpu::new()? })
    }

    /// The backend on `gpu`.
    pub fn on(gpu: Gpu) -> GpuBackend {
        GpuBackend { gpu }
    }

    /// The device.
    pub fn gpu(&self) -> &Gpu {
        &self.gpu
    }

    /// Checks that a client of `samples` examples can train `model` on
    /// this device, and that a test set of `test` examples can be scored.
    pub fn check(
        &self,
        model: &Mlp,
        samples: usize,
        test: usize,
        cfg: &LocalConfig,
    ) -> Result<(), GpuError> {
        let shape = Shape::new(model.sizes());
        let max = self.gpu.max_binding_bytes();
        // Steps are submitted in windows down to one step, so one step of
        // one client is what must fit.
        let batch = cfg.batch_size.max(1).min(samples.max(1));
        shape.check_fits(1, batch, max)?;
        shape.check_fits(1, test.clamp(1, EVAL_BATCH), max)
    }
}

/// `order` shuffled once per epoch with the task's stream and cut into
/// mini-batches, labels remapped by its behaviour: `train_local`'s batches.
fn batches(task: &mut ClientTask, data: &Dataset, cfg: &LocalConfig) -> ClientBatches {
    let bs = cfg.batch_size.max(1);
    let mut order: Vec<u32> = task.rows.to_vec();
    let mut out = ClientBatches::default();
    for _ in 0..cfg.epochs {
        order.shuffle(&mut task.rng);
        for chunk in order.chunks(bs) {
            out.rows.push(chunk.to_vec());
            out.labels.push(
                chunk
                    .iter()
                    .map(|&r| task.behaviour.map_label(data.y[r as usize], data.classes))
                    .collect(),
            );
        }
    }
    out
}

/// The mean over steps of each mini-batch's mean cross-entropy, summed in
/// f64 as `train_local` does.
fn mean_batch_loss(label_probs: &[Vec<f32>]) -> f64 {
    if label_probs.is_empty() {
        return 0.0;
    }
    let total: f64 = label_probs
        .iter()
        .map(|step| {
            let sum = step.iter().fold(0.0, |acc, &p| acc + cross_entropy(p));
            sum / step.len().max(1) as f64
        })
        .sum();
    total / label_probs.len() as f64
}

fn rows_of(data: &Dataset) -> std::borrow::Cow<'_, [f32]> {
    match data.x.as_slice() {
        Some(s) => s.into(),
        None => data.x.iter().copied().collect::<Vec<f32>>().into(),
    }
}

impl TrainingBackend for GpuBackend {
    fn name(&self) -> &str {
        "gpu"
    }

    fn device(&self) -> Option<DeviceInfo> {
        Some(self.gpu.summary())
    }

    fn train(
        &self,
        model: &Mlp,
        global: &[f32],
        data: &Dataset,
        cfg: &LocalConfig,
        tasks: &mut [ClientTask],
    ) -> Vec<LocalResult> {
        let clients: Vec<ClientBatches> = tasks.iter_mut().map(|t| batches(t, data, cfg)).collect();
        let sgd = Sgd::from(cfg);
        let outcomes = self
            .gpu
            .train(
                &Shape::new(model.sizes()),
                global,
                &rows_of(data),
                &clients,
                sgd,
            )
            .unwrap_or_else(|e| panic!("local training on the GPU: {e}"));
        outcomes
            .into_iter()
            .zip(tasks.iter())
            .map(|(o, t)| LocalResult {
                loss: mean_batch_loss(&o.label_probs),
                params: o.params,
                flops: work_flops(model, t.rows.len(), cfg),
            })
            .collect()
    }

    fn aggregate(&self, rule: &Rule, models: &[&[f32]], weights: &[f64]) -> Option<Vec<f32>> {
        let mean = |models: &[&[f32]], weights: &[f64]| {
            let total: f64 = weights.iter().sum();
            (!models.is_empty() && total > 0.0).then(|| self.gpu.weighted_mean(models, weights))
        };
        match rule {
            Rule::FedAvg => mean(models, weights),
            Rule::Median if !models.is_empty() => {
                Some(self.gpu.trimmed_mean(models, (models.len() - 1) / 2))
            }
            Rule::TrimmedMean { beta } if !models.is_empty() => Some(
                self.gpu
                    .trimmed_mean(models, trim_count(*beta, models.len())),
            ),
            Rule::MultiKrum { f, m } if !models.is_empty() => {
                let chosen: Vec<&[f32]> = krum_select(models, *f, *m)
                    .into_iter()
                    .map(|i| models[i])
                    .collect();
                mean(&chosen, &vec![1.0; chosen.len()])
            }
            _ => aggregate(rule, models, weights),
        }
    }

    fn evaluate(&self, model: &Mlp, params: &[f32], test: &Dataset) -> Scores {
        let scored = self
            .gpu
            .score(&Shape::new(model.sizes()), params, &rows_of(test), &test.y)
            .unwrap_or_else(|e| panic!("evaluation on the GPU: {e}"));
        // Summed per batch of EVAL_BATCH, then over batches, as `Mlp::evaluate`.
        let mut loss = 0.0;
        let mut correct = 0usize;
        for batch in scored.chunks(EVAL_BATCH) {
            loss += batch
                .iter()
                .fold(0.0, |acc, &(p, _)| acc + cross_entropy(p));
            correct += batch.iter().filter(|&&(_, hit)| hit).count();
        }
        let n = test.len().max(1) as f64;
        Scores {
            loss: loss / n,
            accuracy: correct as f64 / n,
        }
    }
}
