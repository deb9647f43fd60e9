//! dmlsim: a deterministic discrete-event simulator and economics lab for
//! decentralized machine-learning networks.
//!
//! Layers, bottom up: [`engine`] (time, queue, kernel, random streams),
//! [`scenario`] (the YAML format), [`world`] (nodes and availability),
//! [`network`] (latency, max-min fair flows and transfers), [`protocol`]
//! (a federated training job's rounds), [`chain`] and [`economy`] (the token
//! economy and its clock), [`governance`] (proposals and votes that change
//! the economy's parameters), [`verification`], [`params`] (versioned runtime
//! parameters), [`system`] (the root model that routes events to the
//! subsystems and applies their effects), [`output`] (Arrow tables and
//! `run.json`), [`estimate`] (what a scenario will cost, before it runs) and
//! [`run`] (loading, running, writing).

pub mod chain;
pub mod check;
pub mod economy;
pub mod engine;
pub mod estimate;
pub mod governance;
pub mod input;
pub mod learning_setup;
pub mod lower;
pub mod market;
pub mod network;
pub mod output;
pub mod params;
pub mod protocol;
pub mod report;
pub mod run;
pub mod scenario;
pub mod sweep;
pub mod system;
pub mod verification;
pub mod world;
