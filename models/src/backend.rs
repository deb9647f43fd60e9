//! The training backend: the seam below the federated learner. A backend
//! trains a round's client tasks from the global model, aggregates
//! updates and evaluates a model; behaviours, compression, screening and
//! the choice of aggregation rule stay above it, in
//! [`crate::learning::FederatedLearner`], shared by every backend.
//!
//! [`NdarrayBackend`] is the CPU implementation (ndarray, clients in
//! parallel with rayon).

use crate::aggregate::{Rule, aggregate};
use crate::behaviour::Behaviour;
use crate::data::Dataset;
use crate::nn::{Mlp, Scores};
use crate::rng::StreamRng;
use crate::train::{LocalConfig, LocalResult, train_local};
use rayon::prelude::*;

/// One client's local training in a round.
pub struct ClientTask<'a> {
    /// Its examples (rows of the training set).
    pub rows: &'a [u32],
    /// Its behaviour (which may remap labels).
    pub behaviour: Behaviour,
    /// Its random stream: a backend advances it exactly as
    /// [`train_local`] does (one shuffle of `rows` per epoch), so what
    /// the learner draws from it afterwards is the same on every backend.
    pub rng: StreamRng,
}

/// What a backend runs on, for run.json (`learning.device`).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct DeviceInfo {
    /// The adapter's name (e.g. `llvmpipe (LLVM 15.0.6, 256 bits)`).
    pub name: String,
    /// The driver and its version.
    pub driver: String,
    /// The graphics API (`Vulkan`, `Metal`, `Dx12`).
    pub api: String,
    /// `DiscreteGpu`, `IntegratedGpu`, `Cpu` (a software rasterizer), …
    pub device_type: String,
}

/// Where a round's local training, aggregation and evaluation run.
pub trait TrainingBackend: Send + Sync {
    /// Its name, for run.json.
    fn name(&self) -> &str;

    /// The device it runs on (None for the CPU).
    fn device(&self) -> Option<DeviceInfo> {
        None
    }

    /// Trains every task from `global` on `data` (labels over `classes`
    /// remapped by each task's behaviour); results in task order.
    fn train(
        &self,
        model: &Mlp,
        global: &[f32],
        data: &Dataset,
        cfg: &LocalConfig,
        tasks: &mut [ClientTask],
    ) -> Vec<LocalResult>;

    /// Aggregates `models` with `weights` under `rule` (None without
    /// models).
    fn aggregate(&self, rule: &Rule, models: &[&[f32]], weights: &[f64]) -> Option<Vec<f32>>;

    /// Scores `params` on `test`.
    fn evaluate(&self, model: &Mlp, params: &[f32], test: &Dataset) -> Scores;
}

/// The CPU backend: ndarray kernels, clients trained in parallel.
#[derive(Clone, Copy, Debug, Default)]
pub struct NdarrayBackend;

impl TrainingBackend for NdarrayBackend {
    fn name(&self) -> &str {
        "ndarray"
    }

    fn train(
        &self,
        model: &Mlp,
        global: &[f32],
        data: &Dataset,
        cfg: &LocalConfig,
        tasks: &mut [ClientTask],
    ) -> Vec<LocalResult> {
        let classes = data.classes;
        tasks
            .par_iter_mut()
            .map(|t| {
                let b = t.behaviour;
                train_local(
                    model,
                    global,
                    data,
                    t.rows,
                    cfg,
                    |y| b.map_label(y, classes),
                    &mut t.rng,
                )
            })
            .collect()
    }

    fn aggregate(&self, rule: &Rule, models: &[&[f32]], weights: &[f64]) -> Option<Vec<f32>> {
        aggregate(rule, models, weights)
    }

    fn evaluate(&self, model: &Mlp, params: &[f32], test: &Dataset) -> Scores {
        model.evaluate(params, test.x.view(), &test.y)
    }
}
