//! The `summary` block of `run.json`: the headline figures of each table,
//! so a sweep or a CI check can read a run's outcome without opening the
//! tables.

use crate::economy::Economy;
use crate::protocol::RoundRecord;
use dmlsim_models::econ::as_tokens;
use serde::Serialize;
use std::collections::BTreeMap;

/// Headline figures of a run.
#[derive(Clone, Debug, Serialize)]
pub struct Summary {
    /// Rows written per table.
    pub rows: BTreeMap<&'static str, u64>,
    /// The rounds.
    pub rounds: RoundsSummary,
    /// The economy, when the run has one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub economy: Option<EconomySummary>,
}

/// Headline figures of `rounds.arrow`, accumulated as rounds stream out.
#[derive(Clone, Debug, Default, Serialize)]
pub struct RoundsSummary {
    /// Rounds closed.
    pub rounds: u32,
    /// Updates that arrived in time, over all rounds.
    pub updates_completed: u64,
    /// Clients dropped (late or offline), over all rounds.
    pub clients_dropped: u64,
    /// Mean round duration, s (null without rounds).
    pub duration_s_mean: Option<f64>,
    /// Test accuracy after the last round (null when nothing is trained).
    pub final_test_accuracy: Option<f64>,
    #[serde(skip)]
    duration_s_sum: f64,
}

impl RoundsSummary {
    /// Adds rounds (in order) to the summary.
    pub fn add(&mut self, rounds: &[RoundRecord]) {
        for r in rounds {
            self.rounds += 1;
            self.updates_completed += u64::from(r.completed);
            self.clients_dropped += u64::from(r.dropped_late + r.dropped_offline);
            self.duration_s_sum += r.t_end.saturating_sub(r.t_start).as_secs_f64();
            self.final_test_accuracy = r.evaluation.map(|e| e.test_accuracy);
        }
        self.duration_s_mean =
            (self.rounds > 0).then(|| self.duration_s_sum / f64::from(self.rounds));
    }
}

/// Headline figures of the economy's tables.
#[derive(Clone, Debug, Serialize)]
pub struct EconomySummary {
    /// Epochs settled.
    pub epochs: u64,
    /// Supply at the end, tokens.
    pub supply_tokens: f64,
    /// Minted over the run, tokens.
    pub minted_tokens: f64,
    /// Burned over the run, tokens.
    pub burned_tokens: f64,
    /// Gini of holdings at the last settlement (null before any).
    pub final_gini: Option<f64>,
    /// Nakamoto coefficient at 51% at the last settlement.
    pub final_nakamoto_51: Option<u32>,
    /// Operators in the network at the end.
    pub operators_in_network: u32,
    /// Offences punished.
    pub offences: u64,
    /// Stake slashed, tokens.
    pub slashed_tokens: f64,
    /// Fees the job owner could not pay, tokens.
    pub unpaid_fees_tokens: f64,
}

impl Summary {
    /// The summary of a run; `rounds` are the rounds' figures accumulated
    /// as they streamed out. `rows` stays empty until the tables are
    /// finished ([`super::RunInfo::record_files`]).
    pub fn new(rounds: RoundsSummary, e: Option<&Economy>) -> Self {
        Summary {
            rows: BTreeMap::new(),
            rounds,
            economy: e.map(|e| {
                let last = e.epochs.last();
                EconomySummary {
                    epochs: e.epochs.len() as u64,
                    supply_tokens: as_tokens(e.ledger.supply()),
                    minted_tokens: as_tokens(e.ledger.minted()),
                    burned_tokens: as_tokens(e.ledger.burned()),
                    final_gini: last.map(|x| x.gini),
                    final_nakamoto_51: last.map(|x| x.nakamoto_51),
                    operators_in_network: e.operators_in_network(),
                    offences: e.offences.len() as u64,
                    slashed_tokens: as_tokens(e.offences.iter().map(|o| o.penalty).sum()),
                    unpaid_fees_tokens: as_tokens(e.unpaid_fees),
                }
            }),
        }
    }
}
