//! The federated-learning protocol as events: client selection, model
//! broadcast, local compute, update upload, deadline and round close.

pub mod job;
pub mod records;
mod selection;

pub use job::{Job, JobCtx, JobPlan, RoundEnded};
pub use records::{RoundRecord, TransferKind, TransferRecord};
