//! The network: link capacities, latency (region matrix or generated router
//! topology), max-min fair flows, and the transfers jobs run over them.

pub mod due;
pub mod flows;
pub mod keyed_heap;
pub mod star;
pub mod topology;
pub mod transfers;

pub use due::{Due, DueHeap};
pub use flows::{FlowId, FlowNetwork, LinkId};
pub use topology::Topology;
pub use transfers::{FlowFinished, Network, TransferTag};
