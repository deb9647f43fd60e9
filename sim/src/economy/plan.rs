//! The economy's runtime parameters, lowered once from the scenario
//! (`crate::lower`): ids instead of names, [`SimTime`], base units and the
//! models' own types. [`ChainParams`] holds what a governance vote may
//! change; it is versioned in [`crate::params::Params`].

use crate::engine::SimTime;
use dmlsim_models::econ::emission::Curve;
use dmlsim_models::econ::price::PriceModel;
use dmlsim_models::econ::slashing::Policy;

/// What the economy is built from and does not change during a run.
#[derive(Clone, Debug)]
pub struct EconomyPlan {
    /// Time between blocks.
    pub block_time: SimTime,
    /// Length of an epoch.
    pub epoch: SimTime,
    /// Emission per epoch (already scaled to a budget, if one was given).
    pub curve: Curve,
    /// The token-price model.
    pub price: PriceModel,
    /// The genesis distribution.
    pub genesis: Genesis,
    /// USD per GB a node moves.
    pub bandwidth_usd_per_gb: f64,
    /// The rented-GPU baseline, if priced.
    pub cloud: Option<CloudBaseline>,
    /// Per operator: the entry and exit rule of its first node's profile.
    pub operator_rules: Vec<Option<OperatorRule>>,
    /// Per operator: hardware amortization, USD per hour.
    pub amortization_usd_per_hour: Vec<f64>,
    /// Per region: electricity, USD per kWh.
    pub region_usd_per_kwh: Vec<f64>,
    /// Staked validators, when the run verifies work.
    pub validators: Option<Validators>,
    /// How offences are punished, when the run verifies work.
    pub slashing: Option<SlashingRules>,
    /// Restaking, delegation and how stake weighs in selection.
    pub staking: StakingPlan,
    /// The token/USD pool that sets the price, when the scenario has one.
    pub amm: Option<AmmPlan>,
}

/// A constant-product pool that sets the token price.
#[derive(Clone, Debug, PartialEq)]
pub struct AmmPlan {
    /// Tokens in the pool at genesis, base units.
    pub pool_tokens: u128,
    /// Price at genesis, USD per token.
    pub initial_usd: f64,
    /// Swap fee, parts per million.
    pub fee_ppm: u32,
    /// Share of each epoch's rewards operators sell, parts per million.
    pub sell_ppm: u128,
    /// USD outside buyers spend each epoch.
    pub exogenous_usd: f64,
}

/// How stake moves: restaking, delegation, and whether selection follows it.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct StakingPlan {
    /// Share of each epoch's rewards an operator stakes, parts per million.
    pub restake_ppm: u128,
    /// Whether clients are drawn in proportion to their operator's stake.
    pub stake_weighted: bool,
    /// Share of its delegators' rewards an operator keeps, parts per million.
    pub commission_ppm: u128,
    /// The delegating groups.
    pub delegations: Vec<DelegationPlan>,
    /// Seed of the delegators' draws (the `world` group's).
    pub seed: u64,
}

/// How a delegating wallet picks operators.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum DelegateChoice {
    /// Equally over all operators in the network.
    Spread,
    /// One drawn uniformly.
    Random,
    /// The one with the most bonded stake (ties: more nodes, lower id).
    Largest,
}

/// A genesis group delegating to operators.
#[derive(Clone, Debug, PartialEq)]
pub struct DelegationPlan {
    /// Index of the group in `Genesis::holders`.
    pub group: usize,
    /// Share of each wallet's tokens delegated, parts per million.
    pub fraction_ppm: u128,
    /// How each wallet picks operators.
    pub choice: DelegateChoice,
    /// Share of the delegators' rewards bonded again, parts per million.
    pub restake_ppm: u128,
}

/// The genesis distribution, base units.
#[derive(Clone, Debug, PartialEq)]
pub struct Genesis {
    /// Named holder groups and their tokens, in wallets and owners.
    pub holders: Vec<HolderGroup>,
    /// The job owner's tokens (it pays the fees).
    pub job_owner: u128,
    /// Each operator's tokens.
    pub per_operator: u128,
}

/// A named genesis group: tokens split equally across wallets, which
/// belong to owners (wallet `w` to owner `w mod owners`).
#[derive(Clone, Debug, PartialEq)]
pub struct HolderGroup {
    /// Group name.
    pub name: String,
    /// The group's tokens, base units.
    pub tokens: u128,
    /// Wallets (≥ 1): one is named after the group, several `name-0`…
    pub wallets: u32,
    /// Owners (1 ≤ owners ≤ wallets).
    pub owners: u32,
    /// What kind of owners, for the tables.
    pub kind: &'static str,
    /// When the group's tokens are released, if they are locked at genesis.
    pub vesting: Option<Vesting>,
    /// Zipf exponent of the split across wallets (0: equal parts).
    pub zipf_exponent: f64,
}

/// A vesting schedule: nothing before `cliff`, then `duration`'s elapsed
/// share (floor-rounded to the base unit), everything from `duration` on.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct Vesting {
    /// From genesis to the first release.
    pub cliff: SimTime,
    /// From genesis to the last release (> 0, ≥ cliff).
    pub duration: SimTime,
}

impl Vesting {
    /// How much of `total` has vested at `t`, base units.
    pub fn vested(&self, total: u128, t: SimTime) -> u128 {
        if t < self.cliff {
            0
        } else if t >= self.duration {
            total
        } else {
            dmlsim_models::econ::split::mul_div(
                total,
                u128::from(t.nanos()),
                u128::from(self.duration.nanos()),
            )
        }
    }
}

impl HolderGroup {
    /// The account that holds the group's locked tokens while they vest.
    pub fn escrow_name(&self) -> String {
        format!("{}-vesting", self.name)
    }

    /// The name of wallet `w` (or of owner `w`, with `count` owners).
    pub fn member_name(&self, w: u32, count: u32) -> String {
        if count == 1 {
            self.name.clone()
        } else {
            format!("{}-{w}", self.name)
        }
    }

    /// Each wallet's tokens: equal parts, or by Zipf's law (wallet k gets a
    /// share ∝ (k + 1)^−s, as integer weights of 2^52 × that), the
    /// rounding remainder to the first.
    pub fn wallet_tokens(&self) -> Vec<u128> {
        let n = u128::from(self.wallets.max(1));
        if self.zipf_exponent > 0.0 {
            let weights: Vec<u128> = (0..n)
                .map(|k| {
                    ((k as f64 + 1.0).powf(-self.zipf_exponent) * 2f64.powi(52)).round() as u128
                })
                .collect();
            let (mut parts, rest) = dmlsim_models::econ::split::pro_rata(self.tokens, &weights);
            parts[0] += rest;
            return parts;
        }
        let mut parts = vec![self.tokens / n; n as usize];
        parts[0] += self.tokens % n;
        parts
    }
}

/// The same work priced on rented datacenter GPUs.
#[derive(Clone, Debug, PartialEq)]
pub struct CloudBaseline {
    /// Peak TFLOP/s of the card.
    pub tflops: f64,
    /// Achieved fraction of peak.
    pub efficiency: f64,
    /// USD per GPU-hour.
    pub usd_per_gpu_hour: f64,
    /// USD per GB of the final model leaving the cloud.
    pub egress_usd_per_gb: f64,
    /// GB of training data staged into the cloud before round 0.
    pub data_staging_gb: f64,
    /// USD per GB staged.
    pub staging_usd_per_gb: f64,
}

/// When an operator joins and leaves the network.
#[derive(Clone, Debug, PartialEq)]
pub struct OperatorRule {
    /// Leave when the profit of the last this-many epochs together is negative.
    pub exit_after_unprofitable_epochs: Option<u32>,
    /// Start outside and join once the projected profit clears a threshold.
    pub entry: Option<EntryRule>,
}

/// The entry test of an operator outside the network.
#[derive(Clone, Debug, PartialEq)]
pub struct EntryRule {
    /// Epochs the expected profit is projected over.
    pub horizon_epochs: u32,
    /// Join when the projected profit is at least this, USD.
    pub min_profit_usd: f64,
}

/// The run's validators.
#[derive(Clone, Debug, PartialEq)]
pub struct Validators {
    /// How many.
    pub count: u32,
    /// Each one's stake, base units.
    pub stake: u128,
}

/// Where slashed stake goes.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum SlashDestination {
    /// Burned (supply falls).
    Burn,
    /// To the treasury.
    Treasury,
}

/// How offences are punished (was a five-element tuple).
#[derive(Clone, Debug, PartialEq)]
pub struct SlashingRules {
    /// The penalty policy.
    pub policy: Policy,
    /// Window of recent slashes a correlated policy looks at (zero otherwise).
    pub window: SimTime,
    /// Where slashed stake goes.
    pub destination: SlashDestination,
    /// How long an offender's nodes are jailed (zero: not at all).
    pub jail: SimTime,
    /// Offences after which an operator is ejected (0: never).
    pub eject_after: u32,
}

impl SlashingRules {
    /// The penalty policy in effect under `params`: a voted fixed fraction
    /// replaces the scenario's policy.
    pub fn policy_under(&self, params: &ChainParams) -> Policy {
        match params.slash_fraction {
            Some(fraction) => Policy::Fixed { fraction },
            None => self.policy.clone(),
        }
    }
}

/// Economy parameters a governance vote may change.
#[derive(Clone, Debug, PartialEq)]
pub struct ChainParams {
    /// What job owners pay.
    pub fees: Fees,
    /// How each epoch's pool is shared, parts per million.
    pub split: Split,
    /// Stake an operator must have bonded (its own and its delegators')
    /// to serve, base units.
    pub min_stake: u128,
    /// Stake of its own an operator must keep to serve, base units.
    pub min_self_stake: u128,
    /// Delay before unstaked tokens are released.
    pub unbonding: SimTime,
    /// Each epoch's emission as a share of the curve's, parts per million
    /// (`PPM`: the curve as written).
    pub emission_ppm: u128,
    /// A fixed share of bonded stake slashed per offence, replacing the
    /// scenario's slashing policy (None: the policy as written).
    pub slash_fraction: Option<f64>,
    /// The spot-check probability in effect, when updates are spot-checked.
    pub spot_check_p: Option<f64>,
}

/// Fee rules.
#[derive(Clone, Debug, PartialEq)]
pub struct Fees {
    /// Tokens per PFLOP of claimed work.
    pub tokens_per_pflop: f64,
    /// Tokens per GPU-hour of claimed work.
    pub tokens_per_gpu_hour: f64,
    /// Share of each fee burned, parts per million.
    pub burn_ppm: u128,
}

/// Shares of an epoch's pool, parts per million (summing to a million).
#[derive(Clone, Debug, PartialEq)]
pub struct Split {
    /// To compute providers, by claimed FLOPs.
    pub compute_ppm: u128,
    /// To data providers, by examples used (by dataset sales with a data
    /// market).
    pub data_ppm: u128,
    /// To dataset hosts, by bytes hosted.
    pub storage_ppm: u128,
    /// To dataset hosts, by bytes served.
    pub relay_ppm: u128,
    /// To validators, equally.
    pub validators_ppm: u128,
    /// To the treasury.
    pub treasury_ppm: u128,
}
