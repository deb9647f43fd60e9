//! Sweeps and Monte Carlo: one base scenario, many runs.
//!
//! A sweep file ([`spec`]) names a base scenario and the fields to vary;
//! [`plan`] expands it into a list of runs (each a list of `--set`
//! overrides), [`runner`] runs them in parallel into a sweep folder
//! ([`store`]) with `run_id` and the swept values as columns
//! ([`columns`]), [`index`] writes `runs.arrow` and `summary.arrow`
//! (means, standard deviations and 95% confidence intervals across
//! replicates, [`stats`]), and [`mod@merge`] combines the folders of a sweep
//! run in shards on a cluster.

pub mod columns;
pub mod index;
pub mod merge;
pub mod plan;
pub mod runner;
pub mod spec;
pub mod stats;
pub mod store;

pub use merge::merge;
pub use plan::{PlannedRun, Shard, Sweep};
pub use runner::{RunEvent, SweepOptions, SweepOutcome, run_sweep, runs_of};
pub use store::SweepError;
