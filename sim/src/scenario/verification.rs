//! The `verification` section: how claimed work is checked, who checks it,
//! and how offences are punished (through the economy's ledger).

use super::duration::Duration;
use super::tagged::one_key_map;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Verification and slashing settings (needs `learning` and `economics`).
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct VerificationSpec {
    /// How updates are checked.
    #[serde(deserialize_with = "one_key_map")]
    pub strategy: StrategySpec,
    /// The validators who re-execute work.
    #[serde(default)]
    pub validators: ValidatorSpec,
    /// How offences are priced.
    #[serde(deserialize_with = "one_key_map")]
    pub slashing: SlashingSpec,
    /// Where slashed tokens go.
    #[serde(default, deserialize_with = "one_key_map")]
    pub slash_to: SlashDestination,
    /// Jailing and ejection after offences.
    #[serde(default)]
    pub jail: JailSpec,
}

/// Verification strategies.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum StrategySpec {
    /// Nothing is checked; every claim is paid.
    None,
    /// Each update is re-executed by a validator with probability `p`.
    SpotCheck {
        /// Probability in [0, 1].
        p: f64,
    },
    /// Contributors are grouped `r` at a time (in node-id order) as replicas
    /// of one task; the result hash of a strict majority wins.
    Redundancy {
        /// Replicas per task (≥ 2).
        r: u32,
        /// Lazy replicas collude: they submit the same wrong result.
        #[serde(default)]
        colluding_lazy: bool,
    },
    /// Updates far from the coordinate-wise median update are rejected.
    Screening {
        /// Distance to the median, in multiples of the median distance, above
        /// which an update is rejected (> 0).
        threshold: f64,
    },
}

/// Validators: staked accounts that re-execute work.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ValidatorSpec {
    /// Number of validators (≥ 1 for spot checks).
    #[serde(default = "one")]
    pub count: u32,
    /// Tokens each validator stakes (minted at genesis).
    #[serde(default)]
    pub stake: f64,
    /// Effective TFLOP/s of a validator's re-execution (sets the delay).
    #[serde(default = "default_tflops")]
    pub tflops: f64,
    /// How many of the validators collude with the cheaters: they approve
    /// the bad updates they are asked to check.
    #[serde(default)]
    pub colluding: u32,
    /// Probability that an approved update is audited again by an honest
    /// validator; a bad update caught this way also punishes the validator
    /// who approved it (`bad_approval`).
    #[serde(default)]
    pub audit_p: f64,
}

fn one() -> u32 {
    1
}
fn default_tflops() -> f64 {
    100.0
}

impl Default for ValidatorSpec {
    fn default() -> Self {
        ValidatorSpec {
            count: 1,
            stake: 0.0,
            tflops: default_tflops(),
            colluding: 0,
            audit_p: 0.0,
        }
    }
}

/// Slashing policies.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum SlashingSpec {
    /// The same fraction of stake for any offence.
    Fixed {
        /// Fraction in [0, 1].
        fraction: f64,
    },
    /// A fraction per offence kind.
    Severity {
        /// An invalid (lazy or poisoned) update.
        invalid_update: f64,
        /// Accepting a task and not delivering before the deadline.
        liveness: f64,
        /// Two different updates for one task.
        #[serde(default)]
        equivocation: f64,
        /// A validator approving a bad update.
        #[serde(default)]
        bad_approval: f64,
    },
    /// Ethereum-style: `base` plus `multiplier` × the share of all stake
    /// slashed in the last `window` of simulated time, capped at 1.
    Correlated {
        /// Initial fraction.
        base: f64,
        /// Correlation multiplier (Ethereum: 3).
        multiplier: f64,
        /// Correlation window.
        window: Duration,
    },
}

/// Where slashed stake goes.
#[derive(Clone, Debug, Default, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum SlashDestination {
    /// Destroyed.
    #[default]
    Burn,
    /// Sent to the treasury.
    Treasury,
}

/// Jailing: an offender's nodes are offline for `duration`; after
/// `eject_after` offences the operator is ejected for good.
#[derive(Clone, Debug, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct JailSpec {
    /// Time out after each offence (0: none).
    #[serde(default)]
    pub duration: Duration,
    /// Offences before ejection (0: never).
    #[serde(default)]
    pub eject_after: u32,
}
