//! dmlsim-models: pure, engine-free models behind small traits. The
//! simulator calls them; they never know about events, files or Arrow.
//!
//! So far: the [`learning`] seam a federated round calls. Datasets, models,
//! aggregation rules and the economics arrive behind the same kind of trait.

pub mod learning;
