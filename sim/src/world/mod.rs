//! The nodes of a run: per-node sampled hardware, links, regions and
//! operators (struct-of-arrays), or nodes read from a table, and their
//! lazily evaluated availability (modelled or measured).

pub mod availability;
pub mod node_table;
pub mod nodes;
pub mod table_input;
pub mod traces;

pub use availability::AvailabilityModel;
pub use nodes::{NodeAvailability, NodeStats, Nodes};
