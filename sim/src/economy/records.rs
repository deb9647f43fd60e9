//! What the economy reports: per round, per settled epoch, per offence.

use crate::engine::SimTime;
use dmlsim_models::econ::slashing::Offence;

/// What the economy reports for a round.
#[derive(Clone, Debug, Default)]
pub struct RoundEconomics {
    /// The round.
    pub round: u32,
    /// Fees the job owner paid for the round, base units.
    pub fee: u128,
    /// Emission attributed to the round (its share of its epoch's work), base units.
    pub emission: u128,
    /// Token price when the round closed.
    pub price_usd: f64,
    /// Operators' electricity, bandwidth and amortization for the round, USD.
    pub operator_cost_usd: f64,
    /// The same work on the cloud baseline, USD (None without one).
    pub cloud_cost_usd: Option<f64>,
    pub(super) flops: f64,
}

impl RoundEconomics {
    /// Tokens paid for the round: its fees plus its share of its epoch's
    /// emission, base units.
    pub fn paid(&self) -> u128 {
        self.fee + self.emission
    }

    /// What the round cost the decentralized network, USD: the tokens paid
    /// for it at the price when it closed (emission counts: holders pay it
    /// through dilution) plus the operators' electricity, bandwidth and
    /// amortization.
    pub fn cost_usd(&self) -> f64 {
        dmlsim_models::econ::as_tokens(self.paid()) * self.price_usd + self.operator_cost_usd
    }
}

/// Quantiles of operators' cumulative profit, USD (nearest rank).
#[derive(Copy, Clone, Debug, Default, PartialEq)]
pub struct ProfitQuantiles {
    /// 10th percentile.
    pub p10: f64,
    /// Median.
    pub p50: f64,
    /// 90th percentile.
    pub p90: f64,
}

/// One settled epoch, for `epochs.arrow`.
#[derive(Clone, Debug)]
pub struct EpochRecord {
    /// Epoch number from 0.
    pub epoch: u64,
    /// Settlement time.
    pub t: SimTime,
    /// Supply after the epoch (minted − burned), base units.
    pub supply: u128,
    /// Minted so far, base units.
    pub minted: u128,
    /// Burned so far, base units.
    pub burned: u128,
    /// Staked and unbonding, base units.
    pub staked: u128,
    /// Emission of this epoch, base units.
    pub emission: u128,
    /// Fees collected this epoch, base units.
    pub fees: u128,
    /// Treasury balance, base units.
    pub treasury: u128,
    /// Token price at settlement, USD.
    pub price_usd: f64,
    /// Gini coefficient of holdings (balance + stake) over holders and operators.
    pub gini: f64,
    /// Fewest accounts holding more than a third of those holdings.
    pub nakamoto_33: u32,
    /// Fewest accounts holding more than half.
    pub nakamoto_51: u32,
    /// Herfindahl–Hirschman index of the holdings (Σ shares²).
    pub hhi: f64,
    /// Operators that contributed work this epoch.
    pub active_operators: u32,
    /// Operators in the network at settlement (entry/exit rules).
    pub operators_in_network: u32,
    /// Operators that joined at this settlement.
    pub joined: u32,
    /// Operators that left at this settlement.
    pub left: u32,
    /// Quantiles (10%, 50%, 90%) of operators' cumulative profit (see
    /// [`super::Economy::operator_profit_usd`]).
    pub operator_profit_usd: ProfitQuantiles,
    /// Concentration of holdings over operator accounts only (no genesis
    /// holders, treasury or validators).
    pub operators_holdings: dmlsim_models::econ::metrics::Concentration,
    /// Concentration of the rewards earned this epoch over the operators
    /// that took part in it (in the network before the settlement, or paid).
    pub rewards: RewardConcentration,
    /// Gini of the epoch's rewards with the protocol's recipients
    /// (validators, treasury) counted as accounts too.
    pub reward_gini_with_protocol: f64,
    /// Operators that took part in the epoch and whose profit over it
    /// (rewards at the settlement price − costs − slashes) was positive.
    pub operators_profitable: u32,
    /// Operators that took part in the epoch.
    pub operators_participating: u32,
}

/// How concentrated one epoch's rewards were.
#[derive(Copy, Clone, Debug, Default, PartialEq)]
pub struct RewardConcentration {
    /// Gini, Nakamoto coefficients and HHI of the rewards.
    pub c: dmlsim_models::econ::metrics::Concentration,
    /// Share of the largest reward.
    pub top1_share: f64,
    /// Share of the three largest.
    pub top3_share: f64,
    /// Share of the ten largest.
    pub top10_share: f64,
}

/// One operator in one epoch, for `operator_epochs.arrow`.
#[derive(Clone, Debug, PartialEq)]
pub struct OperatorEpochRecord {
    /// The epoch.
    pub epoch: u64,
    /// The operator.
    pub operator: u32,
    /// Rewards earned in the epoch, base units.
    pub reward: u128,
    /// Revenue over the epoch, USD.
    pub revenue_usd: f64,
    /// Costs over the epoch (electricity, bandwidth, amortization), USD.
    pub cost_usd: f64,
    /// Stake slashed over the epoch, USD.
    pub slashed_usd: f64,
    /// Whether the operator is still in the network after the settlement.
    pub in_network: bool,
}

impl OperatorEpochRecord {
    /// Revenue − costs − slashes over the epoch, USD.
    pub fn profit_usd(&self) -> f64 {
        self.revenue_usd - self.cost_usd - self.slashed_usd
    }
}

/// A detected offence and the ledger entry that punished it.
#[derive(Clone, Debug)]
pub struct OffenceRecord {
    /// When it was punished.
    pub t: SimTime,
    /// Round it happened in.
    pub round: u32,
    /// Offending node.
    pub node: u32,
    /// Its operator.
    pub operator: u32,
    /// What it did.
    pub kind: Offence,
    /// How it was found.
    pub evidence: &'static str,
    /// Stake taken, base units.
    pub penalty: u128,
    /// The `slash` entry in the ledger (None when there was no stake to take).
    pub ledger_seq: Option<u64>,
    /// Whether the operator was ejected for it.
    pub ejected: bool,
    /// For `bad_approval`: the validator punished (the node is the one whose
    /// bad update it approved).
    pub validator: Option<u32>,
}
