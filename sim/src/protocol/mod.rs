//! The federated-learning protocol as events: client selection, model
//! broadcast, local compute, update upload, deadline and round close.

pub mod federation;
pub mod records;
mod selection;

pub use federation::{Event, Federation};
pub use records::{RoundRecord, TransferKind, TransferRecord};
