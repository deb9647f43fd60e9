//! The events of a run: one enum per subsystem, wrapped in one [`Event`]
//! the root routes. Small `Copy` variants keep the hot loop free of
//! allocation and dynamic dispatch.

use crate::protocol::TransferKind;

/// Identifies a training job (there is one job per run today). 16 bits keep
/// [`Event`] at 16 bytes, which the event queue's speed depends on.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct JobId(pub u16);

/// Every event of a run, by the subsystem that handles it.
#[derive(Copy, Clone, Debug, PartialEq)]
pub enum Event {
    /// An event of a training job.
    Job(JobEvent),
    /// An event of the network.
    Net(NetEvent),
    /// An event of the chain (its block and epoch clock).
    Chain(ChainEvent),
    /// An event of the market (agents' orders).
    Market(MarketEvent),
}

/// Events of the market: agents' jobs arriving and their orders closing.
#[derive(Copy, Clone, Debug, PartialEq)]
pub enum MarketEvent {
    /// An agent submits a job: its order is published.
    Arrive {
        /// The agent.
        agent: u32,
    },
    /// A job's bid window closes: it is priced and its venue chosen (or,
    /// under a double auction, it waits for the next clearing).
    CloseOrder {
        /// The job (submission order).
        job: u32,
    },
    /// A double auction clears the orders waiting for it.
    Clear,
    /// An agent submits again a job that was trained nowhere (a retry).
    Resubmit {
        /// The job that was dropped (submission order).
        job: u32,
    },
}

/// Events of a training job's round protocol, each naming its job.
#[derive(Copy, Clone, Debug, PartialEq)]
pub enum JobEvent {
    /// Select clients and broadcast the model (or retry if too few are online).
    StartRound {
        /// The job.
        job: JobId,
    },
    /// A transfer's last byte reached its receiver.
    Delivered {
        /// The job.
        job: JobId,
        /// Round it belongs to.
        round: u32,
        /// Client slot within the round.
        slot: u32,
        /// Broadcast or upload.
        kind: TransferKind,
    },
    /// A client finished local training.
    ComputeDone {
        /// The job.
        job: JobId,
        /// Round it belongs to.
        round: u32,
        /// Client slot within the round.
        slot: u32,
    },
    /// The round's deadline.
    Deadline {
        /// The job.
        job: JobId,
        /// Round it belongs to.
        round: u32,
    },
}

impl JobEvent {
    /// The job the event belongs to.
    pub fn job(&self) -> JobId {
        match *self {
            JobEvent::StartRound { job }
            | JobEvent::Delivered { job, .. }
            | JobEvent::ComputeDone { job, .. }
            | JobEvent::Deadline { job, .. } => job,
        }
    }
}

/// Events of the network.
#[derive(Copy, Clone, Debug, PartialEq)]
pub enum NetEvent {
    /// The earliest flow finish is due: its last bit leaves its bottleneck.
    /// Queued under the sequence number the finish time was given (see
    /// [`crate::engine::Scheduler::reserve_many`]); one is queued at a time.
    Wake,
    /// Recompute the rates of flows that shared links with flows that
    /// started or ended at this instant (queued after all of them).
    Flush,
}

/// Events of the chain's clock.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum ChainEvent {
    /// Seal a block of ledger entries.
    Block,
    /// Settle an economic epoch (emission and rewards).
    Epoch,
}

#[cfg(test)]
mod tests {
    #[test]
    fn an_event_stays_within_16_bytes() {
        // The queue moves events around on every push and pop: a bigger
        // event measurably slows runs of a million pending events.
        assert!(std::mem::size_of::<super::Event>() <= 16);
    }
}
