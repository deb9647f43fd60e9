//! The nodes of a run: per-node sampled hardware, links, regions and
//! operators (struct-of-arrays), and their lazily evaluated availability.

pub mod availability;
pub mod nodes;

pub use availability::AvailabilityModel;
pub use nodes::{NodeStats, Nodes};
