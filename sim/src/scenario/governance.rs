//! The `governance` section: proposals that change live economy
//! parameters, the voting rule that decides them and how each group of
//! owners votes. Needs `economics` (the owners are its genesis groups and
//! its operators).

use super::duration::Duration;
use super::economics::SplitSpec;
use super::tagged::one_key_map;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// On-chain governance of the economy's parameters.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct GovernanceSpec {
    /// How tokens become voting power.
    #[serde(default)]
    pub rule: VotingRuleSpec,
    /// Fewest votes cast (yes, no and abstain) for a decision, as a
    /// fraction of all eligible voting power, in [0, 1].
    #[serde(default)]
    pub quorum: f64,
    /// A proposal passes when yes is more than this fraction of yes + no,
    /// in [0, 1).
    #[serde(default = "half")]
    pub threshold: f64,
    /// Time from a proposal's creation to its tally.
    pub voting_period: Duration,
    /// Time from the tally to the change taking effect.
    #[serde(default)]
    pub delay: Duration,
    /// A decided proposal is "captured" when this many owners or fewer
    /// decided it (see `proposals.arrow`'s `decided_by_owners`).
    #[serde(default = "three")]
    pub captured_at_most: u32,
    /// The genesis group whose owners control the treasury: its income
    /// counts as theirs when they weigh a proposal.
    #[serde(default)]
    pub treasury_owner: Option<String>,
    /// How the owners of each group vote; groups not listed follow `others`.
    #[serde(default)]
    pub voters: Vec<VoterSpec>,
    /// How owners of groups not listed in `voters` vote.
    #[serde(default)]
    pub others: VoteSpec,
    /// Proposals, each created at its time (none: governance only
    /// measures concentration, `concentration.arrow`).
    #[serde(default)]
    pub proposals: Vec<ProposalSpec>,
    /// Pools: all operators of a profile run by one owner (without one,
    /// every operator is its own owner).
    #[serde(default)]
    pub pools: Vec<PoolSpec>,
}

/// One owner running every operator whose first node has a profile.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PoolSpec {
    /// The owner's name (and its group's, for `voters` and `by`).
    pub name: String,
    /// The profile whose operators it runs.
    pub profile: String,
}

fn half() -> f64 {
    0.5
}

fn three() -> u32 {
    3
}

/// Voting rules.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum VotingRuleSpec {
    /// One token (balance + stake) one vote.
    #[default]
    TokenWeighted,
    /// The square root of each wallet's tokens: splitting a holding across
    /// k wallets multiplies its power by √k.
    Quadratic,
    /// One token one vote, but tokens delegated to an operator
    /// (`economics.staking.delegations`) are voted by the operator.
    Delegated,
}

/// How the owners of one group vote.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct VoterSpec {
    /// A genesis group's name, or `operators` for every operator.
    pub group: String,
    /// What they vote.
    #[serde(default)]
    pub vote: VoteBehaviour,
    /// Chance that an owner does not vote on a proposal at all, in [0, 1].
    #[serde(default)]
    pub abstain_probability: f64,
}

impl VoterSpec {
    /// The group's behaviour.
    pub fn behaviour(&self) -> VoteSpec {
        VoteSpec {
            vote: self.vote,
            abstain_probability: self.abstain_probability,
        }
    }
}

/// A voting behaviour.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct VoteSpec {
    /// What they vote.
    #[serde(default)]
    pub vote: VoteBehaviour,
    /// Chance that an owner does not vote on a proposal at all (apathy;
    /// drawn per owner and proposal), in [0, 1].
    #[serde(default)]
    pub abstain_probability: f64,
}

impl Default for VoteSpec {
    fn default() -> Self {
        VoteSpec {
            vote: VoteBehaviour::SelfInterested,
            abstain_probability: 0.0,
        }
    }
}

/// What an owner votes.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum VoteBehaviour {
    /// For every proposal.
    Yes,
    /// Against every proposal.
    No,
    /// Present but abstaining (counts toward the quorum).
    Abstain,
    /// For a proposal that raises the owner's estimated income per epoch,
    /// against one that lowers it, abstaining when it changes nothing
    /// (the estimator is documented in `docs/governance.md`).
    #[default]
    SelfInterested,
    /// As one bloc with every other `cartel` owner: each member weighs the
    /// proposal as a self-interested owner would, and all vote the side
    /// with more of the members' voting power behind it (abstain on a tie).
    Cartel,
    /// Each wallet votes as the operator it delegates most to votes (stays
    /// away when it delegates nothing or that operator stays away).
    FollowDelegate,
}

/// A scheduled proposal.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ProposalSpec {
    /// When it is created (at the first epoch settlement at or after it).
    pub at: Duration,
    /// The genesis group that proposes it, or `operators` (for the tables).
    #[serde(default)]
    pub by: Option<String>,
    /// What it changes.
    #[serde(deserialize_with = "one_key_map")]
    pub change: ChangeSpec,
    /// The proposer's policy when it fails: propose it again (none: once).
    #[serde(default)]
    pub retry: Option<RetrySpec>,
}

/// Proposing a failed proposal again, as a proposer set on a change does
/// (each attempt a new proposal, with its own apathy draws).
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RetrySpec {
    /// Time from a failed tally to the next attempt (> 0).
    pub after: Duration,
    /// Attempts after the first, at most (1-1000).
    pub attempts: u32,
}

/// A change a proposal makes if it passes.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum ChangeSpec {
    /// A new reward split (`economics.split`).
    Split(SplitSpec),
    /// A new fee per PFLOP, tokens (`economics.fees.tokens_per_pflop`).
    TokensPerPflop(f64),
    /// A new burned share of fees, in [0, 1] (`economics.fees.burn_fraction`).
    BurnFraction(f64),
    /// A new minimum operator stake, tokens (`economics.staking.min_stake`).
    MinStake(f64),
    /// Each epoch's emission as a multiple of the emission curve's, ≥ 0
    /// (1: the curve as written; 0.5 halves the emission from then on).
    EmissionScale(f64),
    /// A fixed share of bonded stake slashed per offence, in [0, 1],
    /// replacing `verification.slashing` (needs `verification`).
    SlashFraction(f64),
    /// A new spot-check probability, in [0, 1] (needs
    /// `verification.strategy: { spot_check: … }`).
    SpotCheckProbability(f64),
    /// Pay tokens out of the treasury to a genesis group's first wallet.
    TreasurySpend {
        /// Tokens paid.
        tokens: f64,
        /// The receiving genesis group.
        to: String,
    },
}
