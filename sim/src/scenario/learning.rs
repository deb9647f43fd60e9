//! The `learning` section: what is trained, on which data, how it is spread
//! over nodes, how clients train and how updates are aggregated.

use super::tagged::one_key_map;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Real federated learning settings; without this section rounds are
/// timing-only (`rounds.client_flops` and `rounds.model_bytes` set the costs).
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LearningSpec {
    /// The data.
    #[serde(deserialize_with = "one_key_map")]
    pub dataset: DatasetSpec,
    /// Fraction held out as the test set, in (0, 1).
    #[serde(default = "default_test_fraction")]
    pub test_fraction: f64,
    /// Standardise features (mean 0, variance 1, fitted on the training set).
    #[serde(default = "yes")]
    pub standardize: bool,
    /// How training examples are spread over nodes.
    #[serde(default, deserialize_with = "one_key_map")]
    pub partition: PartitionSpec,
    /// Each node draws a shard of about this many examples (examples may be
    /// shared between nodes); omit to split the training set into disjoint shards.
    #[serde(default)]
    pub samples_per_node: Option<u32>,
    /// The model trained.
    #[serde(deserialize_with = "one_key_map")]
    pub model: ModelSpec,
    /// A larger model whose bandwidth and compute costs the real model stands in for.
    #[serde(default)]
    pub logical_model: Option<LogicalModelSpec>,
    /// Bytes per parameter on the wire (4 = fp32, 2 = fp16/bf16, 1 = int8).
    #[serde(default = "default_precision")]
    pub precision_bytes: u32,
    /// Local training on each client.
    pub local: LocalSpec,
    /// How the server combines updates.
    #[serde(default, deserialize_with = "one_key_map")]
    pub aggregation: AggregationSpec,
    /// Server learning rate: the new global model moves this fraction of the
    /// way to the aggregate, in (0, 10].
    #[serde(default = "one")]
    pub server_learning_rate: f64,
    /// Update compression.
    #[serde(default, deserialize_with = "one_key_map")]
    pub compression: CompressionSpec,
    /// Strength of the poisoning behaviours.
    #[serde(default)]
    pub attacks: AttackSpec,
    /// Where local training, FedAvg and evaluation run: `ndarray` (the
    /// CPU) or `gpu` (wgpu: Vulkan, Metal or DX12). `dmlsim run --backend`
    /// sets it.
    #[serde(default)]
    pub backend: BackendSpec,
}

/// A training backend.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum BackendSpec {
    /// ndarray on the CPU, clients in parallel with rayon.
    #[default]
    Ndarray,
    /// wgpu compute shaders on the first GPU adapter found; an error when
    /// there is none (or dmlsim was built without the `gpu` feature).
    Gpu,
}

impl BackendSpec {
    /// The name used in YAML and on the command line.
    pub fn label(self) -> &'static str {
        match self {
            BackendSpec::Ndarray => "ndarray",
            BackendSpec::Gpu => "gpu",
        }
    }
}

fn default_test_fraction() -> f64 {
    0.2
}
fn yes() -> bool {
    true
}
fn one() -> f64 {
    1.0
}
fn default_precision() -> u32 {
    4
}

/// Where the examples come from.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum DatasetSpec {
    /// The shipped UCI handwritten digits (1,797 8×8 images, 10 classes).
    Digits,
    /// Gaussian clusters, one per class.
    GaussianMixture {
        /// Number of classes (≥ 2).
        classes: u32,
        /// Feature dimension (≥ 1).
        dim: u32,
        /// Distance of class means from the origin (larger is easier).
        separation: f64,
        /// Number of examples.
        samples: u32,
    },
    /// Standard-normal inputs labelled by a random teacher network.
    TeacherStudent {
        /// Number of classes (≥ 2).
        classes: u32,
        /// Feature dimension (≥ 1).
        dim: u32,
        /// Hidden units of the teacher (≥ 1).
        hidden: u32,
        /// Number of examples.
        samples: u32,
    },
    /// A CSV file with a header row.
    Csv(FileDataSpec),
    /// An Arrow IPC file.
    Arrow(FileDataSpec),
    /// A Parquet file.
    Parquet(FileDataSpec),
}

/// A user's table: path (relative to the scenario file) and columns.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FileDataSpec {
    /// File path, relative to the scenario file's folder.
    pub path: String,
    /// Label column name.
    pub label: String,
    /// Feature column names; all other columns if omitted (an empty list
    /// is refused rather than read as "all").
    #[serde(default, deserialize_with = "non_empty_names")]
    pub features: Vec<String>,
}

/// A list of names that, when written, names at least one.
fn non_empty_names<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    let names = Vec::<String>::deserialize(d)?;
    if names.is_empty() {
        return Err(serde::de::Error::custom(
            "an empty list; omit `features` to use every column but the label",
        ));
    }
    Ok(names)
}

/// Partitioning schemes.
#[derive(Clone, Debug, Default, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum PartitionSpec {
    /// Uniformly random.
    #[default]
    Iid,
    /// Label skew: class proportions ~ Dirichlet(α); small α, few classes per node.
    Dirichlet {
        /// Concentration α > 0.
        alpha: f64,
    },
    /// Shard sizes ∝ log-normal(0, σ).
    QuantitySkew {
        /// σ ≥ 0.
        sigma: f64,
    },
    /// The pathological non-IID split: each node gets `per_client` label-sorted shards.
    Shards {
        /// Shards per node (≥ 1).
        per_client: u32,
    },
}

/// Model architectures.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum ModelSpec {
    /// Multinomial logistic regression.
    Logistic,
    /// Multilayer perceptron with ReLU hidden layers.
    Mlp {
        /// Hidden layer widths, e.g. `[64]` or `[128, 64]`.
        hidden: Vec<u32>,
    },
}

/// A logical model size.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LogicalModelSpec {
    /// Parameters (sets model and update bytes).
    pub parameters: f64,
    /// Training FLOPs per example (forward + backward); 6 × parameters if omitted.
    #[serde(default)]
    pub flops_per_sample: Option<f64>,
}

/// Local training.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LocalSpec {
    /// Passes over the local shard per round (≥ 1).
    #[serde(default = "one_u32")]
    pub epochs: u32,
    /// Examples per SGD step (≥ 1).
    #[serde(default = "default_batch")]
    pub batch_size: u32,
    /// SGD learning rate (> 0).
    pub learning_rate: f64,
    /// Momentum in [0, 1).
    #[serde(default)]
    pub momentum: f64,
    /// L2 weight decay (≥ 0).
    #[serde(default)]
    pub weight_decay: f64,
    /// FedProx proximal term μ (≥ 0; 0 is plain FedAvg local training).
    #[serde(default)]
    pub prox_mu: f64,
}

fn one_u32() -> u32 {
    1
}
fn default_batch() -> u32 {
    32
}

/// Aggregation rules.
#[derive(Clone, Debug, Default, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum AggregationSpec {
    /// Average weighted by examples.
    #[default]
    Fedavg,
    /// Coordinate-wise median.
    Median,
    /// Coordinate-wise trimmed mean.
    TrimmedMean {
        /// Fraction dropped at each end, in [0, 0.5).
        beta: f64,
    },
    /// Krum: the single most central update.
    Krum {
        /// Attackers tolerated.
        f: u32,
    },
    /// Multi-Krum: the mean of the `m` most central updates.
    MultiKrum {
        /// Attackers tolerated.
        f: u32,
        /// Updates averaged (≥ 1).
        m: u32,
    },
}

/// Update compression.
#[derive(Clone, Debug, Default, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum CompressionSpec {
    /// Full-precision updates.
    #[default]
    None,
    /// Keep the largest `fraction` of update coordinates (+4 bytes of index each).
    TopK {
        /// Fraction kept, in (0, 1].
        fraction: f64,
    },
    /// 8-bit linear quantization of the update.
    Quantize8bit,
}

/// Strength of poisoning behaviours.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AttackSpec {
    /// A sign-flipping client sends `global − scale · update`.
    #[serde(default = "one")]
    pub sign_flip_scale: f64,
    /// A scaling client sends `global + factor · update`.
    #[serde(default = "ten")]
    pub scale_factor: f64,
    /// A noise client sends `global + N(0, noise_std²)`.
    #[serde(default = "one")]
    pub noise_std: f64,
}

fn ten() -> f64 {
    10.0
}

impl Default for AttackSpec {
    fn default() -> Self {
        AttackSpec {
            sign_flip_scale: 1.0,
            scale_factor: 10.0,
            noise_std: 1.0,
        }
    }
}
