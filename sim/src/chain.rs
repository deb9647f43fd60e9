//! The chain subsystem: the token economy and its own clock. Blocks are
//! sealed every `block_time` and epochs settled every `epoch`; when every
//! job is done, the epoch after it is the last one. The economy's policies
//! (fees, rewards, slashing, operator entry and exit) return effects the
//! root applies; a refused ledger operation stops the run.

use crate::economy::{ChainParams, Economy};
use crate::engine::{Scheduler, SimTime};
use crate::system::{ChainEvent, Effect, Event};
use crate::world::Nodes;

/// What the chain did with one of its events.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum ChainStep {
    /// The clock goes on.
    Continue,
    /// An epoch was settled; the clock goes on.
    EpochSettled,
    /// The last epoch after the jobs finished was settled and sealed: the run is over.
    Finished,
    /// An epoch was settled with no operator left in the network and none
    /// able to come back: the network has collapsed and the run is over.
    Collapsed,
}

/// The chain: the economy plus its block and epoch clock.
pub struct Chain {
    /// The token economy.
    pub economy: Economy,
}

impl Chain {
    /// A chain over `economy`.
    pub fn new(economy: Economy) -> Chain {
        Chain { economy }
    }

    /// Schedules the first block and the first epoch settlement.
    pub fn start(&self, sched: &mut Scheduler<Event>) {
        sched.schedule_at(self.block_time(), Event::Chain(ChainEvent::Block));
        sched.schedule_at(self.epoch_len(), Event::Chain(ChainEvent::Epoch));
    }

    fn block_time(&self) -> SimTime {
        self.economy.block_time()
    }

    fn epoch_len(&self) -> SimTime {
        self.economy.epoch_len()
    }

    fn seal(&mut self, now: SimTime) -> Result<(), String> {
        let hash = self.economy.model_hash;
        self.economy
            .ledger
            .seal_block(now.nanos(), hash)
            .map(|_| ())
            .map_err(|v| v.to_string())
    }

    /// Handles a clock event. `jobs_done` says every job has finished, so
    /// this epoch's settlement is the last.
    pub fn handle(
        &mut self,
        event: ChainEvent,
        sched: &mut Scheduler<Event>,
        nodes: &Nodes,
        params: &ChainParams,
        jobs_done: bool,
        effects: &mut Vec<Effect>,
    ) -> Result<ChainStep, String> {
        let now = sched.now();
        match event {
            ChainEvent::Block => {
                self.seal(now)?;
                sched.schedule_in(self.block_time(), Event::Chain(ChainEvent::Block));
                Ok(ChainStep::Continue)
            }
            ChainEvent::Epoch => {
                self.economy
                    .settle_epoch(now, nodes, params, effects)
                    .map_err(|e| format!("ledger refused the epoch payout: {e}"))?;
                if jobs_done {
                    // The job is done and its last epoch settled: seal and stop.
                    self.seal(now)?;
                    Ok(ChainStep::Finished)
                } else if self.economy.operators_in_network() == 0 && !self.economy.may_recover() {
                    self.seal(now)?;
                    Ok(ChainStep::Collapsed)
                } else {
                    sched.schedule_in(self.epoch_len(), Event::Chain(ChainEvent::Epoch));
                    Ok(ChainStep::EpochSettled)
                }
            }
        }
    }
}
