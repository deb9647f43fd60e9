//! dmlsim: a deterministic discrete-event simulator and economics lab for
//! decentralized machine-learning networks.
//!
//! Layers, bottom up: [`engine`] (time, queue, kernel, random streams),
//! [`scenario`] (the YAML format), [`world`] (nodes and availability),
//! [`network`] (latency and max-min fair flows), [`protocol`] (federated
//! rounds), [`output`] (Arrow tables and `run.json`) and [`run`] (wiring).

pub mod economy;
pub mod engine;
pub mod learning_setup;
pub mod network;
pub mod output;
pub mod protocol;
pub mod run;
pub mod scenario;
pub mod verification;
pub mod world;
