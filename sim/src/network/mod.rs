//! The network: link capacities, latency (region matrix or generated router
//! topology) and max-min fair flows.

pub mod flows;
pub mod topology;

pub use flows::{FlowId, FlowNetwork, LinkId, Reschedule};
pub use topology::Topology;
