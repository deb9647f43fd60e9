//! dmlsim-models: pure, engine-free models behind small traits. The
//! simulator calls them; they never know about events, files or Arrow.
//!
//! - [`rng`]: seeded per-purpose random streams.
//! - [`data`]: datasets (the shipped UCI digits, synthetic generators), the
//!   train/test split and standardisation.
//! - [`partition`]: how training data is spread over nodes.
//! - [`nn`]: logistic regression and multilayer perceptrons with exact FLOP counts.
//! - [`train`]: local SGD training (momentum, weight decay, FedProx).
//! - [`aggregate`]: FedAvg and robust aggregation rules.
//! - [`behaviour`]: honest, lazy and poisoning clients.
//! - [`compress`]: top-k sparsification and 8-bit quantization of updates.
//! - [`screening`]: robust-statistics screening of updates.
//! - [`econ`]: the token economy: ledger and blocks, emission curves,
//!   reward splits, token price and USD costs.
//! - [`learning`]: the seam a federated round calls, and the real federated
//!   learner behind it.

pub mod aggregate;
pub mod backend;
pub mod behaviour;
pub mod compress;
pub mod data;
pub mod econ;
pub mod learning;
pub mod nn;
pub mod partition;
pub mod rng;
pub mod screening;
pub mod train;
