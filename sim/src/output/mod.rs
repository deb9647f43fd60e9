//! Result files: Arrow IPC tables written through a [`sink::Sink`] (streamed
//! in batches where a table grows with the run) and `run.json`, the
//! manifest written last. A run writes into a staging folder that replaces
//! `--out` as a whole when complete ([`folder`]), so an interrupted or
//! failed run never leaves a truncated file or a mix of two runs behind.
//! Models and the protocol never see this.

pub mod data_tables;
pub mod econ_tables;
pub mod folder;
pub mod governance_tables;
pub mod market_tables;
pub mod run_info;
pub mod sink;
pub mod summary;
pub mod table;
pub mod tables;

pub use folder::OutputFolder;
pub use run_info::RunInfo;
pub use sink::{ArrowFileSink, MemorySink, Sink, TableSet, WrittenTable};
pub use table::{Column, Table};
