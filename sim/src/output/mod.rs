//! Result files: Arrow IPC tables written through a [`sink::Sink`] (streamed
//! in batches where a table grows with the run) and `run.json`, each
//! written to a temporary name and renamed when complete, so an interrupted
//! run never leaves a truncated file behind. Models and the protocol never
//! see this.

pub mod econ_tables;
pub mod run_info;
pub mod sink;
pub mod summary;
pub mod table;
pub mod tables;

pub use run_info::RunInfo;
pub use sink::{ArrowFileSink, MemorySink, Sink, TableSet};
pub use table::{Column, Table};
