//! The seam between a federated round's timing (simulated by `dmlsim`) and
//! the learning it stands for. A [`Learner`] says how much work a client
//! does and how big the messages are and, when a round closes, turns the
//! updates that arrived in time into the next global model.
//!
//! [`TimingOnly`] trains nothing (accuracy is null, never made up);
//! [`FederatedLearner`] trains a real model on real data.

use crate::aggregate::{Rule, server_step};
use crate::backend::{ClientTask, NdarrayBackend, TrainingBackend};
use crate::behaviour::{ALL, AttackParams, Behaviour};
use crate::compress::Compression;
use crate::data::Dataset;
use crate::nn::Mlp;
use crate::rng::{StreamRng, stream};
use crate::train::{LocalConfig, LocalResult, work_flops};
use rayon::prelude::*;

/// The quality of the global model on the held-out test set after a round.
#[derive(Copy, Clone, Debug, PartialEq)]
pub struct Evaluation {
    /// Fraction of test examples classified correctly, in [0, 1].
    pub test_accuracy: f64,
    /// Mean test loss (softmax cross-entropy).
    pub test_loss: f64,
}

/// What the learner reports when a round closes.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct RoundLearning {
    /// The global model's evaluation, or None when nothing is trained.
    pub evaluation: Option<Evaluation>,
    /// Mean local training loss of the contributors that trained, weighted by examples.
    pub train_loss: Option<f64>,
    /// FLOPs the contributors really spent training.
    pub flops: f64,
    /// Contributions by behaviour, in the order of [`crate::behaviour::ALL`].
    pub by_behaviour: [u32; 6],
}

/// What `nodes.arrow` reports about a node's learning role.
#[derive(Clone, Debug, PartialEq)]
pub struct NodeLearning {
    /// Training examples the node holds.
    pub samples: u64,
    /// Its behaviour's name.
    pub behaviour: &'static str,
}

/// What a round's work costs, apart from learning itself: the FLOPs each
/// client spends and claims, and the bytes on the wire. The round protocol
/// times compute and transfers from it; a training backend (CPU or GPU)
/// never changes it.
pub trait CostModel {
    /// FLOPs `node` spends on local work in `round`; simulated compute time
    /// is this divided by the node's effective FLOP/s.
    fn client_work_flops(&self, round: u32, node: u32) -> f64;

    /// FLOPs `node` claims for `round` (what it is paid for): honest work,
    /// even when a free-rider skipped it.
    fn claimed_work_flops(&self, round: u32, node: u32) -> f64 {
        self.client_work_flops(round, node)
    }

    /// Bytes of the global model sent to each client, if the learner sets it.
    fn model_bytes(&self) -> Option<u64> {
        None
    }

    /// Bytes of each client's update on the wire, if the learner sets it.
    fn update_bytes(&self) -> Option<u64> {
        None
    }

    /// Whether `node` holds training data. A node without examples has
    /// nothing to train on and is never selected (it would send the global
    /// model back and drag robust aggregators towards no progress).
    fn holds_data(&self, _node: u32) -> bool {
        true
    }
}

/// The learning behind federated rounds (its costs are its [`CostModel`]).
///
/// Training is deterministic given the global model, a node's data and the
/// round, so the learner trains the contributors' updates when the round
/// closes (in parallel, combined in node-id order).
pub trait Learner: CostModel {
    /// Short name recorded in `run.json`.
    fn name(&self) -> &str;

    /// Closes `round`: `contributors` (ascending node ids) are the clients
    /// whose updates arrived before the deadline.
    fn complete_round(&mut self, round: u32, contributors: &[u32]) -> RoundLearning;

    /// The node's data and behaviour, for `nodes.arrow`.
    fn node_learning(&self, _node: u32) -> NodeLearning {
        NodeLearning {
            samples: 0,
            behaviour: "honest",
        }
    }

    /// What is trained on what, for `run.json` (None when nothing is trained).
    fn describe(&self) -> Option<LearningInfo> {
        None
    }

    /// SHA-256 of the current global model (zeros when nothing is trained).
    fn model_hash(&self) -> [u8; 32] {
        [0; 32]
    }

    /// The first round after which the global model held a non-finite
    /// parameter (training diverged), if any.
    fn diverged_at(&self) -> Option<u32> {
        None
    }

    /// Whether `node` submits the honest result of its task (training is
    /// deterministic, so a validator's re-execution reproduces an honest
    /// update bit for bit and nothing else).
    fn submits_honest_result(&self, _node: u32) -> bool {
        true
    }

    /// Screens `round`'s updates before aggregation: true flags an update
    /// whose distance to the median update exceeds `threshold` median
    /// distances. The default (nothing trained) flags nothing.
    fn screen(&mut self, _round: u32, contributors: &[u32], _threshold: f64) -> Vec<bool> {
        vec![false; contributors.len()]
    }
}

/// A closed round's submitted updates, as verification inspects them: who
/// sent one, the work each claims and really did, whether each is the
/// honest result, and a statistical screen of the updates. Aggregation
/// ([`Learner::complete_round`]) comes after, with the accepted senders.
pub struct RoundUpdates<'a> {
    round: u32,
    senders: &'a [u32],
    learner: &'a mut dyn Learner,
}

impl<'a> RoundUpdates<'a> {
    /// The updates `senders` (ascending node ids) sent in `round`.
    pub fn new(round: u32, senders: &'a [u32], learner: &'a mut dyn Learner) -> Self {
        RoundUpdates {
            round,
            senders,
            learner,
        }
    }

    /// Nodes that sent an update, ascending.
    pub fn senders(&self) -> &'a [u32] {
        self.senders
    }

    /// FLOPs `node` claims for its update (what it is paid for).
    pub fn claimed_flops(&self, node: u32) -> f64 {
        self.learner.claimed_work_flops(self.round, node)
    }

    /// FLOPs `node` really spent (zero for a free-rider).
    pub fn done_flops(&self, node: u32) -> f64 {
        self.learner.client_work_flops(self.round, node)
    }

    /// Whether `node`'s update is the honest result of its task.
    pub fn is_honest(&self, node: u32) -> bool {
        self.learner.submits_honest_result(node)
    }

    /// Flags updates farther than `threshold` median distances from the
    /// median update (one flag per sender). Trains the round's updates,
    /// which aggregation then reuses.
    pub fn screen(&mut self, threshold: f64) -> Vec<bool> {
        self.learner.screen(self.round, self.senders, threshold)
    }
}

/// A description of the learning setup, for the run record.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct LearningInfo {
    /// Dataset name.
    pub dataset: String,
    /// Training examples.
    pub train_examples: usize,
    /// Test examples.
    pub test_examples: usize,
    /// Features per example.
    pub features: usize,
    /// Classes.
    pub classes: usize,
    /// The source table's label of each class, in class order (absent for
    /// generated data).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub class_labels: Vec<String>,
    /// `logistic` or `mlp`.
    pub model: String,
    /// Layer sizes.
    pub layers: Vec<usize>,
    /// Parameters of the real model.
    pub parameters: usize,
    /// Parameters of the logical model, if one is declared.
    pub logical_parameters: Option<f64>,
    /// Training FLOPs per example of the model that sets compute time.
    pub flops_per_sample: f64,
    /// Aggregation rule.
    pub aggregation: String,
    /// Update compression.
    pub compression: String,
    /// The training backend (`ndarray` or `gpu`).
    pub backend: String,
    /// The device the backend runs on (absent on the CPU).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub device: Option<crate::backend::DeviceInfo>,
}

impl<L: CostModel + ?Sized> CostModel for Box<L> {
    fn client_work_flops(&self, round: u32, node: u32) -> f64 {
        (**self).client_work_flops(round, node)
    }

    fn model_bytes(&self) -> Option<u64> {
        (**self).model_bytes()
    }

    fn update_bytes(&self) -> Option<u64> {
        (**self).update_bytes()
    }

    fn claimed_work_flops(&self, round: u32, node: u32) -> f64 {
        (**self).claimed_work_flops(round, node)
    }

    fn holds_data(&self, node: u32) -> bool {
        (**self).holds_data(node)
    }
}

impl<L: Learner + ?Sized> Learner for Box<L> {
    fn name(&self) -> &str {
        (**self).name()
    }
    fn complete_round(&mut self, round: u32, contributors: &[u32]) -> RoundLearning {
        (**self).complete_round(round, contributors)
    }
    fn node_learning(&self, node: u32) -> NodeLearning {
        (**self).node_learning(node)
    }
    fn describe(&self) -> Option<LearningInfo> {
        (**self).describe()
    }
    fn model_hash(&self) -> [u8; 32] {
        (**self).model_hash()
    }
    fn diverged_at(&self) -> Option<u32> {
        (**self).diverged_at()
    }
    fn submits_honest_result(&self, node: u32) -> bool {
        (**self).submits_honest_result(node)
    }
    fn screen(&mut self, round: u32, contributors: &[u32], threshold: f64) -> Vec<bool> {
        (**self).screen(round, contributors, threshold)
    }
}

/// Timing only: clients spend a fixed amount of work and no model is
/// trained, so rounds report no accuracy (null, never a made-up number).
#[derive(Clone, Debug, PartialEq)]
pub struct TimingOnly {
    /// FLOPs per client per round.
    pub work_flops: f64,
}

impl CostModel for TimingOnly {
    fn client_work_flops(&self, _round: u32, _node: u32) -> f64 {
        self.work_flops
    }
}

impl Learner for TimingOnly {
    fn name(&self) -> &str {
        "timing-only"
    }

    fn complete_round(&mut self, _round: u32, _contributors: &[u32]) -> RoundLearning {
        RoundLearning::default()
    }
}

/// A large model's costs carried by a small real proxy model: bandwidth
/// follows `parameters`, compute follows `flops_per_sample`.
#[derive(Clone, Debug, PartialEq)]
pub struct LogicalSize {
    /// Parameters of the model being stood in for.
    pub parameters: f64,
    /// Its training FLOPs per example (forward and backward).
    pub flops_per_sample: f64,
}

/// Federated learning settings.
#[derive(Clone, Debug, PartialEq)]
pub struct FlConfig {
    /// Local training.
    pub local: LocalConfig,
    /// Aggregation rule.
    pub rule: Rule,
    /// Server learning rate (1: take the aggregate as the new model).
    pub server_lr: f32,
    /// Update compression.
    pub compression: Compression,
    /// Bytes per parameter on the wire (4 for fp32, 2 for fp16/bf16).
    pub precision_bytes: u32,
    /// Optional logical model size.
    pub logical: Option<LogicalSize>,
    /// Strength of poisoning attacks.
    pub attack: AttackParams,
}

/// Real federated learning: a global model, every node's shard and
/// behaviour, trained and aggregated round by round.
pub struct FederatedLearner {
    model: Mlp,
    global: Vec<f32>,
    train: Dataset,
    test: Dataset,
    shards: Vec<Vec<u32>>,
    behaviours: Vec<Behaviour>,
    cfg: FlConfig,
    seed: u64,
    /// Updates trained ahead of aggregation (for screening), by round.
    prepared: Option<(u32, Vec<u32>, Vec<Sent>)>,
    /// The first round that left a non-finite global parameter.
    diverged_at: Option<u32>,
    /// Where local training, aggregation and evaluation run.
    backend: Box<dyn TrainingBackend>,
}

/// One client's submission in a round.
struct Sent {
    model: Vec<f32>,
    samples: f64,
    loss: Option<f64>,
    flops: f64,
    behaviour: Behaviour,
}

impl FederatedLearner {
    /// A learner with a freshly initialised global model (from the seed's
    /// `model-init` stream). `shards` and `behaviours` are indexed by node id.
    pub fn new(
        model: Mlp,
        train: Dataset,
        test: Dataset,
        shards: Vec<Vec<u32>>,
        behaviours: Vec<Behaviour>,
        cfg: FlConfig,
        seed: u64,
    ) -> Self {
        let global = model.init(&mut stream(seed, "model-init", 0));
        FederatedLearner {
            model,
            global,
            train,
            test,
            shards,
            behaviours,
            cfg,
            seed,
            prepared: None,
            diverged_at: None,
            backend: Box::new(NdarrayBackend),
        }
    }

    /// The same learner on another training backend (the default is
    /// [`NdarrayBackend`]).
    pub fn with_backend(mut self, backend: Box<dyn TrainingBackend>) -> Self {
        self.backend = backend;
        self
    }

    /// The training backend's name.
    pub fn backend_name(&self) -> &str {
        self.backend.name()
    }

    /// The current global model's parameters.
    pub fn global(&self) -> &[f32] {
        &self.global
    }

    /// The model architecture.
    pub fn model(&self) -> &Mlp {
        &self.model
    }

    /// The settings.
    pub fn config(&self) -> &FlConfig {
        &self.cfg
    }

    /// Training and test sets.
    pub fn datasets(&self) -> (&Dataset, &Dataset) {
        (&self.train, &self.test)
    }

    /// Parameters that travel on the wire (logical size if set).
    pub fn wire_parameters(&self) -> f64 {
        self.cfg
            .logical
            .as_ref()
            .map_or(self.model.num_params() as f64, |l| l.parameters)
    }

    /// Trains (or corrupts) every contributor's update for `round`,
    /// returned in contributor order: the clients that train do so on the
    /// backend, all at once; then each client's behaviour and the
    /// compression apply to its result, in parallel.
    fn train_round(&self, round: u32, contributors: &[u32]) -> Vec<Sent> {
        let global = &self.global;
        let mut rngs: Vec<Option<StreamRng>> = contributors
            .iter()
            .map(|&node| {
                Some(stream(
                    self.seed,
                    "train",
                    (u64::from(round) << 32) | u64::from(node),
                ))
            })
            .collect();
        let trains = |node: u32| {
            self.behaviours[node as usize].trains() && !self.shards[node as usize].is_empty()
        };
        let trainers: Vec<usize> = (0..contributors.len())
            .filter(|&i| trains(contributors[i]))
            .collect();
        let mut tasks: Vec<ClientTask> = trainers
            .iter()
            .map(|&i| {
                let node = contributors[i] as usize;
                ClientTask {
                    rows: &self.shards[node],
                    behaviour: self.behaviours[node],
                    rng: rngs[i].take().expect("one task per client"),
                }
            })
            .collect();
        let results = self.backend.train(
            &self.model,
            global,
            &self.train,
            &self.cfg.local,
            &mut tasks,
        );
        let mut trained: Vec<Option<LocalResult>> = vec![None; contributors.len()];
        for ((&i, task), result) in trainers.iter().zip(tasks).zip(results) {
            rngs[i] = Some(task.rng);
            trained[i] = Some(result);
        }
        contributors
            .par_iter()
            .zip(rngs)
            .zip(trained)
            .map(|((&node, rng), result)| {
                let b = self.behaviours[node as usize];
                let rows = &self.shards[node as usize];
                let mut rng = rng.expect("every client keeps its stream");
                let (trained, loss, flops) = match result {
                    Some(r) => (r.params, Some(r.loss), r.flops),
                    None => (global.clone(), None, 0.0),
                };
                let model = self.cfg.compression.apply(
                    global,
                    b.corrupt(global, trained, &self.cfg.attack, &mut rng),
                );
                Sent {
                    model,
                    samples: rows.len() as f64,
                    loss,
                    flops,
                    behaviour: b,
                }
            })
            .collect()
    }

    /// Evaluates the current global model on the test set; a diverged
    /// model (a non-finite parameter) scores NaN for both, not the
    /// accuracy of always guessing class 0.
    pub fn evaluate(&self) -> Evaluation {
        if self.diverged_at.is_some() {
            return Evaluation {
                test_accuracy: f64::NAN,
                test_loss: f64::NAN,
            };
        }
        let s = self.backend.evaluate(&self.model, &self.global, &self.test);
        Evaluation {
            test_accuracy: s.accuracy,
            test_loss: s.loss,
        }
    }
}

impl CostModel for FederatedLearner {
    fn client_work_flops(&self, round: u32, node: u32) -> f64 {
        if self.behaviours[node as usize] == Behaviour::Lazy {
            return 0.0;
        }
        self.claimed_work_flops(round, node)
    }

    fn model_bytes(&self) -> Option<u64> {
        Some((self.wire_parameters() * f64::from(self.cfg.precision_bytes)).round() as u64)
    }

    fn update_bytes(&self) -> Option<u64> {
        Some(
            self.cfg
                .compression
                .wire_bytes(self.wire_parameters(), f64::from(self.cfg.precision_bytes)),
        )
    }

    fn claimed_work_flops(&self, _round: u32, node: u32) -> f64 {
        let samples = self.shards[node as usize].len();
        match &self.cfg.logical {
            Some(l) => f64::from(self.cfg.local.epochs) * samples as f64 * l.flops_per_sample,
            None => work_flops(&self.model, samples, &self.cfg.local),
        }
    }

    fn holds_data(&self, node: u32) -> bool {
        !self.shards[node as usize].is_empty()
    }
}

impl Learner for FederatedLearner {
    fn name(&self) -> &str {
        "federated"
    }

    fn complete_round(&mut self, round: u32, contributors: &[u32]) -> RoundLearning {
        let sent: Vec<Sent> = match self.prepared.take() {
            // Screened this round: keep the accepted contributors' updates.
            Some((r, nodes, prepared)) if r == round => nodes
                .into_iter()
                .zip(prepared)
                .filter(|(n, _)| contributors.binary_search(n).is_ok())
                .map(|(_, s)| s)
                .collect(),
            _ => self.train_round(round, contributors),
        };
        let mut out = RoundLearning::default();
        for s in &sent {
            out.flops += s.flops;
            out.by_behaviour[ALL.iter().position(|b| *b == s.behaviour).expect("known")] += 1;
        }
        let trained: Vec<&Sent> = sent.iter().filter(|s| s.loss.is_some()).collect();
        let weight: f64 = trained.iter().map(|s| s.samples).sum();
        if weight > 0.0 {
            out.train_loss = Some(
                trained
                    .iter()
                    .map(|s| s.loss.unwrap_or(0.0) * s.samples)
                    .sum::<f64>()
                    / weight,
            );
        }
        let models: Vec<&[f32]> = sent.iter().map(|s| s.model.as_slice()).collect();
        let weights: Vec<f64> = sent.iter().map(|s| s.samples).collect();
        if let Some(agg) = self.backend.aggregate(&self.cfg.rule, &models, &weights) {
            self.global = server_step(&self.global, agg, self.cfg.server_lr);
        }
        if self.diverged_at.is_none() && !self.global.iter().all(|p| p.is_finite()) {
            self.diverged_at = Some(round);
        }
        out.evaluation = Some(self.evaluate());
        out
    }

    fn node_learning(&self, node: u32) -> NodeLearning {
        NodeLearning {
            samples: self.shards[node as usize].len() as u64,
            behaviour: self.behaviours[node as usize].label(),
        }
    }

    fn submits_honest_result(&self, node: u32) -> bool {
        self.behaviours[node as usize] == Behaviour::Honest
    }

    fn screen(&mut self, round: u32, contributors: &[u32], threshold: f64) -> Vec<bool> {
        let sent = self.train_round(round, contributors);
        let updates: Vec<Vec<f32>> = sent
            .iter()
            .map(|s| {
                s.model
                    .iter()
                    .zip(&self.global)
                    .map(|(m, g)| m - g)
                    .collect()
            })
            .collect();
        let refs: Vec<&[f32]> = updates.iter().map(|u| u.as_slice()).collect();
        let flags = crate::screening::screen(&refs, threshold);
        self.prepared = Some((round, contributors.to_vec(), sent));
        flags
    }

    fn diverged_at(&self) -> Option<u32> {
        self.diverged_at
    }

    fn model_hash(&self) -> [u8; 32] {
        use sha2::{Digest, Sha256};
        let mut h = Sha256::new();
        for p in &self.global {
            h.update(p.to_le_bytes());
        }
        h.finalize().into()
    }

    fn describe(&self) -> Option<LearningInfo> {
        Some(LearningInfo {
            dataset: self.train.name.clone(),
            train_examples: self.train.len(),
            test_examples: self.test.len(),
            features: self.train.dim(),
            classes: self.train.classes,
            class_labels: self.train.class_labels.clone(),
            model: self.model.kind().to_string(),
            layers: self.model.sizes().to_vec(),
            parameters: self.model.num_params(),
            logical_parameters: self.cfg.logical.as_ref().map(|l| l.parameters),
            flops_per_sample: self
                .cfg
                .logical
                .as_ref()
                .map_or(self.model.train_flops_per_sample(), |l| l.flops_per_sample),
            aggregation: self.cfg.rule.label().to_string(),
            compression: self.cfg.compression.label().to_string(),
            backend: self.backend.name().to_string(),
            device: self.backend.device(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::{Standardizer, digits};
    use crate::partition::{Scheme, partition};
    use crate::train::train_local;

    #[test]
    fn timing_only_reports_work_and_no_accuracy() {
        let mut l = TimingOnly { work_flops: 5e12 };
        assert_eq!(l.client_work_flops(3, 9), 5e12);
        assert_eq!(l.complete_round(0, &[1, 2]).evaluation, None);
        assert_eq!(l.name(), "timing-only");
    }

    fn digits_split() -> (Dataset, Dataset) {
        let (mut train, mut test) = digits::load().split(0.2, &mut stream(5, "split", 0));
        let s = Standardizer::fit(&train);
        s.apply(&mut train);
        s.apply(&mut test);
        (train, test)
    }

    fn config(rule: Rule) -> FlConfig {
        FlConfig {
            local: LocalConfig {
                epochs: 1,
                batch_size: 16,
                learning_rate: 0.05,
                momentum: 0.5,
                weight_decay: 0.0,
                prox_mu: 0.0,
            },
            rule,
            server_lr: 1.0,
            compression: Compression::None,
            precision_bytes: 4,
            logical: None,
            attack: AttackParams::default(),
        }
    }

    #[test]
    fn fedavg_with_one_client_equals_centralised_sgd() {
        let (train, test) = digits_split();
        let model = Mlp::new(vec![64, 16, 10]);
        let rows: Vec<u32> = (0..train.len() as u32).collect();
        let cfg = config(Rule::FedAvg);
        let mut fl = FederatedLearner::new(
            model.clone(),
            train.clone(),
            test,
            vec![rows.clone()],
            vec![Behaviour::Honest],
            cfg.clone(),
            9,
        );
        let start = fl.global().to_vec();
        fl.complete_round(0, &[0]);
        // The same data in the same order: the client's stream for round 0, node 0.
        let central = train_local(
            &model,
            &start,
            &train,
            &rows,
            &cfg.local,
            |y| y,
            &mut stream(9, "train", 0),
        );
        assert_eq!(fl.global(), central.params.as_slice());
    }

    #[test]
    fn a_round_through_the_backend_seam_equals_each_client_by_hand() {
        // Every behaviour, an empty shard and 8-bit updates: the seam must
        // hand each client its stream, shard and label map, and give the
        // stream back for the behaviour's corruption.
        let (train, test) = digits_split();
        let behaviours = ALL.to_vec();
        let nodes = behaviours.len() + 1;
        let mut shards = partition(
            &Scheme::Iid,
            &train.y,
            train.classes,
            nodes,
            None,
            &mut stream(4, "partition", 0),
        );
        shards[2].clear();
        let mut behaviours = behaviours;
        behaviours.push(Behaviour::Honest);
        let mut cfg = config(Rule::FedAvg);
        cfg.compression = Compression::Quantize8;
        cfg.attack.sign_flip_scale = 3.0;
        let model = Mlp::new(vec![64, 8, 10]);
        let mut fl = FederatedLearner::new(
            model.clone(),
            train.clone(),
            test,
            shards.clone(),
            behaviours.clone(),
            cfg.clone(),
            11,
        );
        assert_eq!(fl.backend_name(), "ndarray");
        let global = fl.global().to_vec();
        let contributors: Vec<u32> = (0..nodes as u32).collect();
        fl.complete_round(3, &contributors);
        let mut models = Vec::new();
        let mut weights = Vec::new();
        for &node in &contributors {
            let (b, rows) = (behaviours[node as usize], &shards[node as usize]);
            let mut rng = stream(11, "train", (3u64 << 32) | u64::from(node));
            let trained = if b.trains() && !rows.is_empty() {
                let classes = train.classes;
                train_local(
                    &model,
                    &global,
                    &train,
                    rows,
                    &cfg.local,
                    |y| b.map_label(y, classes),
                    &mut rng,
                )
                .params
            } else {
                global.clone()
            };
            let sent = b.corrupt(&global, trained, &cfg.attack, &mut rng);
            models.push(cfg.compression.apply(&global, sent));
            weights.push(rows.len() as f64);
        }
        let refs: Vec<&[f32]> = models.iter().map(|m| m.as_slice()).collect();
        let agg = crate::aggregate::aggregate(&cfg.rule, &refs, &weights).unwrap();
        assert_eq!(
            fl.global(),
            server_step(&global, agg, cfg.server_lr).as_slice()
        );
    }

    /// Federated training on digits with a fraction of sign-flipping clients.
    fn accuracy_under_attack(rule: Rule, attackers: f64) -> f64 {
        let (train, test) = digits_split();
        let nodes = 20;
        let shards = partition(
            &Scheme::Iid,
            &train.y,
            train.classes,
            nodes,
            None,
            &mut stream(3, "partition", 0),
        );
        let bad = (attackers * nodes as f64).round() as usize;
        let behaviours: Vec<Behaviour> = (0..nodes)
            .map(|i| {
                if i < bad {
                    Behaviour::SignFlip
                } else {
                    Behaviour::Honest
                }
            })
            .collect();
        let mut cfg = config(rule);
        cfg.attack.sign_flip_scale = 4.0;
        let mut fl = FederatedLearner::new(
            Mlp::logistic(64, 10),
            train,
            test,
            shards,
            behaviours,
            cfg,
            3,
        );
        let all: Vec<u32> = (0..nodes as u32).collect();
        let mut last = 0.0;
        for r in 0..10 {
            last = fl.complete_round(r, &all).evaluation.unwrap().test_accuracy;
        }
        last
    }

    #[test]
    fn sign_flip_attackers_hurt_fedavg_more_than_median() {
        let fedavg = accuracy_under_attack(Rule::FedAvg, 0.3);
        let median = accuracy_under_attack(Rule::Median, 0.3);
        let clean = accuracy_under_attack(Rule::FedAvg, 0.0);
        assert!(clean > 0.85, "clean FedAvg {clean}");
        assert!(
            median > fedavg + 0.2,
            "median {median} should clearly beat FedAvg {fedavg} under 30% sign flips"
        );
    }

    #[test]
    fn byte_sizes_follow_the_logical_model_and_compression() {
        let (train, test) = digits_split();
        let mut cfg = config(Rule::FedAvg);
        cfg.logical = Some(LogicalSize {
            parameters: 7e9,
            flops_per_sample: 6.0 * 7e9 * 512.0,
        });
        cfg.precision_bytes = 2;
        cfg.compression = Compression::Quantize8;
        let fl = FederatedLearner::new(
            Mlp::logistic(64, 10),
            train,
            test,
            vec![vec![0, 1, 2]],
            vec![Behaviour::Honest],
            cfg,
            1,
        );
        assert_eq!(fl.model_bytes(), Some(14_000_000_000));
        assert_eq!(fl.update_bytes(), Some(7_000_000_004));
        assert_eq!(fl.client_work_flops(0, 0), 3.0 * 6.0 * 7e9 * 512.0);
    }
}
