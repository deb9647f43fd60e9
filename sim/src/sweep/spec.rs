//! The sweep file: a base scenario and the fields to vary.
//!
//! ```yaml
//! name: curves-by-price
//! scenario: ../scenarios/reward-curves.yaml   # relative to this file
//! set: { economics.emission_budget: 25000 }    # every run
//! grid:                                        # cartesian product
//!   economics.emission:
//!     - { constant: { per_epoch: 1000 } }
//!     - { exponential_decay: { initial: 2000, half_life_epochs: 12 } }
//!   economics.token_price: [{ constant: 0.01 }, { constant: 0.05 }]
//! zip:                                         # lists varied together
//!   - { rounds.count: [10, 20], horizon: [1d, 2d] }
//! random:                                      # seeded samples
//!   samples: 8
//!   seed: 3
//!   fields:
//!     verification.spot_check.probability: { uniform: [0.0, 0.5] }
//! replicates: 5                                # Monte Carlo seeds
//! vary_seeds: [price]                          # only the price path varies
//! tables: [rounds, epochs]
//! ```

use serde::Deserialize;
use serde_yaml_ng::{Mapping, Value};

/// A sweep file as written.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SweepSpec {
    /// Name of the sweep (default: the file name without extension).
    #[serde(default)]
    pub name: Option<String>,
    /// What the sweep compares, for people.
    #[serde(default)]
    pub description: Option<String>,
    /// The base scenario file, relative to the sweep file.
    pub scenario: String,
    /// Fields set in every run (`path: value`), applied first.
    #[serde(default)]
    pub set: Mapping,
    /// Fields varied as a cartesian product: `path: [value, …]`; each field
    /// is one axis, in file order (the first varies slowest).
    #[serde(default)]
    pub grid: Mapping,
    /// Groups of fields varied together: each group maps paths to lists of
    /// equal length and is one axis, after the grid's.
    #[serde(default)]
    pub zip: Vec<Mapping>,
    /// Randomly sampled points: one axis after the zipped ones.
    #[serde(default)]
    pub random: Option<RandomSpec>,
    /// Runs per cell, each with its own seeds (default 1).
    #[serde(default = "one")]
    pub replicates: u32,
    /// Which seed groups a replicate changes (`world`, `selection`,
    /// `training`, `price`, `verification`); absent: the scenario `seed`,
    /// which moves every group the scenario does not pin in `seeds`.
    #[serde(default)]
    pub vary_seeds: Option<Vec<SeedGroup>>,
    /// Tables each run writes (default: all the runs produce).
    #[serde(default)]
    pub tables: Option<Vec<String>>,
}

fn one() -> u32 {
    1
}

/// Random points of a sweep: `samples` draws of every field, from a
/// stream seeded by `seed`.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RandomSpec {
    /// Number of points drawn.
    pub samples: u32,
    /// Seed of the draws (default 0); the same seed draws the same points.
    #[serde(default)]
    pub seed: u64,
    /// `path: distribution` ([`Sampler`]), drawn in file order for each
    /// point.
    pub fields: Mapping,
}

/// How one field of a random point is drawn.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum Sampler {
    /// A float uniform in `[low, high)`.
    Uniform([f64; 2]),
    /// A float whose logarithm is uniform: `low` and `high` > 0.
    LogUniform([f64; 2]),
    /// A whole number uniform in `[low, high]`, both included.
    IntUniform([i64; 2]),
    /// One of the values, each equally likely.
    Choice(Vec<Value>),
}

/// A group of random streams a replicate can reseed.
#[derive(Clone, Copy, Debug, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum SeedGroup {
    /// Hardware, links, availability, behaviours, operators, topology.
    World,
    /// Client selection.
    Selection,
    /// Datasets, partitions and local training.
    Training,
    /// The token-price path.
    Price,
    /// Verification draws.
    Verification,
    /// Governance draws (apathy).
    Governance,
    /// Market draws (agents' job arrivals).
    Market,
}

impl SeedGroup {
    /// The group's field name under the scenario's `seeds`.
    pub fn name(self) -> &'static str {
        match self {
            SeedGroup::World => "world",
            SeedGroup::Selection => "selection",
            SeedGroup::Training => "training",
            SeedGroup::Price => "price",
            SeedGroup::Verification => "verification",
            SeedGroup::Governance => "governance",
            SeedGroup::Market => "market",
        }
    }
}
