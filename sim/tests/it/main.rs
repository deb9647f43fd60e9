//! End-to-end tests: the CLI on shipped scenarios, determinism across runs
//! and thread counts, hand-computed round timings, validation messages.

mod checks;
mod cli;
mod data_market;
mod determinism;
mod economics;
mod fuzz;
mod golden;
mod governance;
#[cfg(feature = "gpu")]
mod gpu;
mod integrity;
mod learning;
mod market;
mod node_tables;
mod reports;
mod seeds;
mod support;
mod sweeps;
mod timing;
mod validation;
mod verification;
