//! The network: link capacities, latency (region matrix or generated router
//! topology), max-min fair flows, and the transfers jobs run over them.

pub mod flows;
pub mod topology;
pub mod transfers;

pub use flows::{FlowId, FlowNetwork, LinkId, Reschedule};
pub use topology::Topology;
pub use transfers::{FlowFinished, Network, TransferTag};
