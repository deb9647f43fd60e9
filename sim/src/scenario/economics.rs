//! The `economics` section: blocks and epochs, emission, reward split,
//! fees, staking, genesis, token price, USD costs and the cloud baseline.
//! Token amounts are written in tokens (decimals allowed) and kept in
//! integer base units (10^18 per token) inside.

use super::duration::Duration;
use super::tagged::one_key_map;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// The token economy of a run.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct EconomicsSpec {
    /// Time between blocks (settlement granularity).
    pub block_time: Duration,
    /// Length of an economic epoch (emission and reward payout).
    pub epoch: Duration,
    /// Emission curve, per epoch.
    #[serde(deserialize_with = "one_key_map")]
    pub emission: EmissionSpec,
    /// Total tokens to emit over the run's horizon (its whole epochs). When
    /// set, the `emission` curve's amounts only give its shape: they are
    /// scaled so that the horizon's emission equals the budget, which is
    /// how curves are compared fairly.
    #[serde(default)]
    pub emission_budget: Option<f64>,
    /// How each epoch's pool (emission + fees not burned) is shared.
    pub split: SplitSpec,
    /// What job owners pay.
    #[serde(default)]
    pub fees: FeeSpec,
    /// Staking rules.
    #[serde(default)]
    pub staking: StakingSpec,
    /// Initial token distribution.
    #[serde(default)]
    pub genesis: GenesisSpec,
    /// Token price in USD.
    #[serde(deserialize_with = "one_key_map")]
    pub token_price: PriceSpec,
    /// Operators' USD costs.
    #[serde(default)]
    pub costs: CostSpec,
    /// The same work priced on rented datacenter GPUs.
    #[serde(default)]
    pub cloud: Option<CloudSpec>,
    /// Operator entry and exit rules by profile (operators without a rule
    /// stay for the whole run).
    #[serde(default)]
    pub operator_rules: Vec<OperatorRule>,
}

/// When the operators of a profile join and leave the network.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct OperatorRule {
    /// Profile name (the rule applies to operators whose first node has it).
    pub profile: String,
    /// Leave (unstake, stop serving) when the operator's USD profit over the
    /// last this-many epochs, taken together, is negative.
    #[serde(default)]
    pub exit_after_unprofitable_epochs: Option<u32>,
    /// Start outside the network and join once the expected profit clears a threshold.
    #[serde(default)]
    pub entry: Option<EntryRule>,
}

/// The entry test, evaluated at every epoch for operators outside the network.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct EntryRule {
    /// Epochs the expected profit is projected over (≥ 1).
    pub horizon_epochs: u32,
    /// Join when the projected profit (the last epoch's mean reward of the
    /// operators in the network at the current price, less own hardware
    /// costs, over `horizon_epochs`) is at least this many USD.
    pub min_profit_usd: f64,
}

/// Emission curves (amounts in tokens per epoch).
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum EmissionSpec {
    /// The same amount every epoch.
    Constant {
        /// Tokens per epoch.
        per_epoch: f64,
    },
    /// Falls by `decrement` each epoch, never below zero.
    LinearDecay {
        /// Tokens in epoch 0.
        initial: f64,
        /// Decrease per epoch, tokens.
        decrement: f64,
    },
    /// Halves every `half_life_epochs`, smoothly.
    ExponentialDecay {
        /// Tokens in epoch 0.
        initial: f64,
        /// Epochs to halve (> 0).
        half_life_epochs: f64,
    },
    /// Bitcoin-style halving every `every_epochs`.
    Halving {
        /// Tokens per epoch in the first period.
        initial: f64,
        /// Epochs per period (≥ 1).
        every_epochs: u64,
    },
    /// Approaches `cap` as cap · (1 − e^(−λ n)), λ = ln 2 / half_life_epochs.
    Capped {
        /// Total supply approached, tokens.
        cap: f64,
        /// Epochs to emit half the cap (> 0).
        half_life_epochs: f64,
    },
    /// A table of steps: from `from_epoch` on, `per_epoch` tokens.
    Piecewise {
        /// Steps sorted by `from_epoch`.
        steps: Vec<PiecewiseStep>,
    },
}

/// One step of a piecewise emission table.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PiecewiseStep {
    /// First epoch of the step.
    pub from_epoch: u64,
    /// Tokens per epoch from then on.
    pub per_epoch: f64,
}

/// Shares of each epoch's pool; they must add up to 1.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SplitSpec {
    /// To compute providers, pro rata by their work in FLOPs.
    pub compute: f64,
    /// To data providers: with `market.data`, the providers' accounts pro
    /// rata by their dataset sales in the epoch; otherwise the operators
    /// whose nodes' data was used, pro rata by examples used.
    #[serde(default)]
    pub data: f64,
    /// To the operators of nodes hosting `market.data` datasets, pro rata
    /// by bytes hosted (each replica's dataset size) in the epoch (to the
    /// treasury when none are hosted).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub storage: f64,
    /// To the operators of nodes serving dataset shards to training
    /// clients, pro rata by bytes served in the epoch (to the treasury
    /// when none were served).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub relay: f64,
    /// To validators (none exist yet: this share goes to the treasury).
    #[serde(default)]
    pub validators: f64,
    /// To the treasury.
    #[serde(default)]
    pub treasury: f64,
}

fn is_zero(v: &f64) -> bool {
    *v == 0.0
}

/// Fees for work.
#[derive(Clone, Debug, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FeeSpec {
    /// Tokens the job owner pays per PFLOP (10^15 FLOP) of contributed work.
    #[serde(default)]
    pub tokens_per_pflop: f64,
    /// Tokens the job owner pays per GPU-hour its clients compute (added to
    /// the per-PFLOP fee).
    #[serde(default)]
    pub tokens_per_gpu_hour: f64,
    /// Fraction of each fee burned, in [0, 1].
    #[serde(default)]
    pub burn_fraction: f64,
}

/// Staking rules.
#[derive(Clone, Debug, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct StakingSpec {
    /// Tokens each operator stakes at genesis to operate, and the stake
    /// bonded to it (its own and its delegators') below which it may not
    /// serve.
    #[serde(default)]
    pub min_stake: f64,
    /// Tokens of its own an operator must keep staked to serve (≤
    /// `min_stake`; 0: no separate floor).
    #[serde(default)]
    pub min_self_stake: f64,
    /// Delay before unstaked tokens return to the balance.
    #[serde(default)]
    pub unbonding: Duration,
    /// What share of each epoch's rewards an operator stakes at once:
    /// `none` (default), `all`, or a fraction in [0, 1].
    #[serde(default)]
    pub restake: Restake,
    /// How a round's clients are drawn: `uniform` (default) or
    /// `stake_weighted` (a node's chance ∝ its operator's bonded stake ÷
    /// the operator's nodes).
    #[serde(default)]
    pub selection: SelectionRule,
    /// Share of its delegators' rewards an operator keeps, in [0, 1].
    #[serde(default)]
    pub commission: f64,
    /// Genesis groups that delegate part of their tokens to operators.
    #[serde(default)]
    pub delegations: Vec<DelegationSpec>,
}

/// A share of rewards staked again: `none`, `all` or a fraction in [0, 1].
#[derive(Copy, Clone, Debug, PartialEq, Serialize, JsonSchema)]
#[serde(untagged)]
pub enum Restake {
    /// `none` (0) or `all` (1).
    Named(RestakeWord),
    /// A fraction in [0, 1].
    Fraction(f64),
}

/// The named restaking policies.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum RestakeWord {
    /// Nothing is restaked.
    None,
    /// Every reward is restaked.
    All,
}

impl Default for Restake {
    fn default() -> Self {
        Restake::Named(RestakeWord::None)
    }
}

impl Restake {
    /// The share restaked, in [0, 1] once validated.
    pub fn fraction(self) -> f64 {
        match self {
            Restake::Named(RestakeWord::None) => 0.0,
            Restake::Named(RestakeWord::All) => 1.0,
            Restake::Fraction(f) => f,
        }
    }
}

impl<'de> Deserialize<'de> for Restake {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl serde::de::Visitor<'_> for V {
            type Value = Restake;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("`none`, `all` or a fraction in [0, 1]")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Restake, E> {
                match v {
                    "none" => Ok(Restake::Named(RestakeWord::None)),
                    "all" => Ok(Restake::Named(RestakeWord::All)),
                    _ => Err(E::invalid_value(serde::de::Unexpected::Str(v), &self)),
                }
            }
            fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<Restake, E> {
                Ok(Restake::Fraction(v))
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<Restake, E> {
                Ok(Restake::Fraction(v as f64))
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<Restake, E> {
                Ok(Restake::Fraction(v as f64))
            }
        }
        d.deserialize_any(V)
    }
}

/// How a round's clients are drawn.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum SelectionRule {
    /// Every online node alike.
    #[default]
    Uniform,
    /// In proportion to the stake bonded to the node's operator (its own
    /// and its delegators'), shared equally by the operator's nodes.
    StakeWeighted,
}

/// A genesis group delegating part of each wallet's tokens to operators
/// (Cosmos-style: the tokens stay the wallet's, staked and bonded to an
/// operator; they earn a share of its rewards less its commission and
/// are slashed with its stake).
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DelegationSpec {
    /// A genesis group without vesting.
    pub group: String,
    /// Share of each wallet's genesis tokens delegated, in (0, 1].
    pub fraction: f64,
    /// How each wallet picks operators: `spread` (equally over every
    /// operator in the network at genesis), `random` (one operator, drawn
    /// uniformly from the `world` seed) or `largest` (the one with the most
    /// bonded stake when the wallet delegates, wallet after wallet). At
    /// each settlement, delegations bonded to an operator out of the
    /// network move to one in it picked the same way (`spread` moves like
    /// `random`; a redelegation: no unbonding).
    #[serde(default)]
    pub choose: DelegateChoice,
    /// Share of the delegators' rewards bonded again to the same operator:
    /// `none` (default), `all` or a fraction.
    #[serde(default)]
    pub restake: Restake,
}

/// How a delegating wallet picks its operators.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum DelegateChoice {
    /// Equally over every operator in the network at genesis.
    #[default]
    Spread,
    /// One operator drawn uniformly among those in the network.
    Random,
    /// The operator in the network with the most stake bonded to it (ties:
    /// the one with more nodes, then the lower id), as exchanges and
    /// large holders pick professional operators.
    Largest,
}

/// The initial distribution.
#[derive(Clone, Debug, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct GenesisSpec {
    /// Named holders (founders, investors, community…) and their tokens.
    #[serde(default)]
    pub holders: Vec<HolderSpec>,
    /// Tokens the job owner starts with (it pays the fees).
    #[serde(default)]
    pub job_owner: f64,
    /// Tokens minted to each operator at genesis (before staking `min_stake`).
    #[serde(default)]
    pub per_operator: f64,
}

/// A named genesis group: its tokens, split equally across `wallets`
/// wallets, which `owners` owners control (wallet `w` belongs to owner
/// `w mod owners`).
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct HolderSpec {
    /// Group name; the account name of a single wallet, `name-0`, `name-1`…
    /// of several, and likewise the owners' names.
    pub name: String,
    /// Tokens of the whole group.
    pub tokens: f64,
    /// Wallets the tokens are split across (≥ 1).
    #[serde(default = "one")]
    pub wallets: u32,
    /// Owners who control those wallets (1 ≤ owners ≤ wallets). One owner
    /// with many wallets is a Sybil split; as many owners as wallets are
    /// independent holders.
    #[serde(default = "one")]
    pub owners: u32,
    /// What kind of owner they are (for the tables; it changes no rule).
    #[serde(default)]
    pub kind: OwnerKind,
    /// Lock the tokens at genesis and release them to the wallets over time.
    #[serde(default)]
    pub vesting: Option<VestingSpec>,
    /// How the tokens are split across the wallets: `equal` (default) or
    /// `{ zipf: { exponent: s } }` (wallet k, from 0, gets a share ∝
    /// (k + 1)^−s: a few large holders and a long tail).
    #[serde(default, deserialize_with = "super::tagged::one_key_map")]
    pub split: WalletSplit,
}

/// How a genesis group's tokens are split across its wallets.
#[derive(Clone, Debug, Default, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum WalletSplit {
    /// Equal parts.
    #[default]
    Equal,
    /// Zipf's law: wallet k (from 0) gets a share ∝ (k + 1)^−exponent.
    Zipf {
        /// The exponent s, in [0, 10] (0: equal parts).
        exponent: f64,
    },
}

/// A vesting schedule from genesis: nothing until the cliff, then the
/// share of `duration` elapsed (all of it from `duration` on), released
/// through the ledger at each epoch settlement.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct VestingSpec {
    /// Time from genesis before anything is released.
    #[serde(default)]
    pub cliff: Duration,
    /// Time from genesis until everything is released (≥ cliff, > 0).
    pub duration: Duration,
}

fn one() -> u32 {
    1
}

/// Kinds of token owners.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum OwnerKind {
    /// Founders or the founding team.
    Founder,
    /// Investors.
    Investor,
    /// A foundation.
    Foundation,
    /// An exchange holding customers' tokens.
    Exchange,
    /// Community members.
    #[default]
    Community,
}

impl OwnerKind {
    /// Name used in the tables.
    pub fn label(self) -> &'static str {
        match self {
            OwnerKind::Founder => "founder",
            OwnerKind::Investor => "investor",
            OwnerKind::Foundation => "foundation",
            OwnerKind::Exchange => "exchange",
            OwnerKind::Community => "community",
        }
    }
}

/// Token-price models.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum PriceSpec {
    /// A fixed price.
    Constant {
        /// USD per token.
        usd: f64,
    },
    /// Geometric Brownian motion on a fixed time grid, drawn from the
    /// `price` seed: the path depends on time only, so runs that differ in
    /// anything else (an emission curve, a fee) see the same prices.
    Gbm {
        /// Price at time 0.
        initial_usd: f64,
        /// Drift per year.
        mu: f64,
        /// Volatility per √year.
        sigma: f64,
        /// Grid step: the price moves at multiples of it and holds between
        /// (default 1h; at least 1s).
        #[serde(default = "one_hour")]
        step: Duration,
    },
    /// A step series: from `t` on, the price is `usd`.
    Series {
        /// Points sorted by time.
        points: Vec<PricePoint>,
    },
    /// A step series read from a CSV file of `t_s,usd` lines (an optional
    /// header line is skipped), relative to the scenario file.
    Csv {
        /// File path.
        path: String,
    },
    /// A constant-product pool of tokens against USD sets the price
    /// (`usd / tokens`): at each epoch's settlement operators sell a share
    /// of the epoch's rewards into it and outside buyers spend a fixed
    /// USD amount on tokens; agents buy the tokens they pay providers
    /// with. The pool's tokens are minted at genesis.
    Amm {
        /// Price at genesis, USD per token (sets the pool's USD side).
        initial_usd: f64,
        /// Tokens in the pool at genesis.
        pool_tokens: f64,
        /// Fee on every swap's input, kept in the pool (default 0.003).
        #[serde(default = "amm_fee")]
        fee: f64,
        /// Share of each epoch's rewards every operator sells (default 0).
        #[serde(default)]
        operator_sell_fraction: f64,
        /// USD outside buyers spend on tokens each epoch (default 0).
        #[serde(default)]
        exogenous_buy_usd_per_epoch: f64,
    },
}

fn amm_fee() -> f64 {
    0.003
}

fn one_hour() -> Duration {
    Duration(crate::engine::SimTime::from_secs(3600))
}

/// A point of a price series.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PricePoint {
    /// From this simulated time.
    pub t: Duration,
    /// USD per token.
    pub usd: f64,
}

/// Operators' USD costs besides electricity (which uses each region's price
/// and each GPU's watts while computing).
#[derive(Clone, Debug, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CostSpec {
    /// USD per GB an operator's node moves (up and down).
    #[serde(default)]
    pub bandwidth_usd_per_gb: f64,
    /// Hardware amortization by profile name: purchase price and lifetime.
    #[serde(default)]
    pub hardware: Vec<HardwareCost>,
}

/// Purchase price and lifetime of a profile's hardware.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct HardwareCost {
    /// Profile name.
    pub profile: String,
    /// Purchase price, USD.
    pub price_usd: f64,
    /// Useful life, years (> 0); cost accrues per hour of the run.
    pub lifetime_years: f64,
}

/// The cloud baseline: the same rounds' work on rented GPUs.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CloudSpec {
    /// Card name, e.g. `H100 SXM`.
    pub gpu: String,
    /// Peak TFLOP/s at the training precision.
    pub tflops: f64,
    /// Achieved fraction of peak, in (0, 1].
    pub efficiency: f64,
    /// On-demand USD per GPU-hour.
    pub usd_per_gpu_hour: f64,
    /// USD per GB leaving the cloud (the final model).
    #[serde(default)]
    pub egress_usd_per_gb: f64,
    /// GB of training data moved into the cloud once, before round 0.
    #[serde(default)]
    pub data_staging_gb: f64,
    /// USD per GB of that staging (egress from where the data lives).
    #[serde(default)]
    pub staging_usd_per_gb: f64,
}
