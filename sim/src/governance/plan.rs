//! Governance's runtime plan, lowered once from the scenario
//! (`crate::lower::governance`): owners and their wallets as ids, each
//! owner's voting behaviour, and the scheduled proposals with their
//! changes in base units and parts per million.

use crate::engine::SimTime;
use crate::params::ParamChange;
use crate::scenario::VoteBehaviour;
use dmlsim_models::econ::governance::{Decision, VotingRule};
use dmlsim_models::econ::ledger::AccountId;

/// Who owns which wallets.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Owners {
    /// Each owner's name (a genesis group's member, or `operator-N`).
    pub names: Vec<String>,
    /// Each owner's kind (`founder`, …, `operator`).
    pub kinds: Vec<&'static str>,
    /// Every wallet that may vote with its owner, in voting order: genesis
    /// wallets group by group, then operators' accounts.
    pub wallets: Vec<(AccountId, u32)>,
    /// Each operator's owner.
    pub operator_owner: Vec<u32>,
}

/// How one owner votes.
#[derive(Copy, Clone, Debug, PartialEq)]
pub struct Behaviour {
    /// What it votes when it votes.
    pub vote: VoteBehaviour,
    /// Chance it stays away from a proposal altogether.
    pub abstain_probability: f64,
}

/// What a passed proposal does.
#[derive(Clone, Debug, PartialEq)]
pub enum ProposalChange {
    /// Changes a versioned parameter from its effective time on.
    Param(ParamChange),
    /// Pays tokens out of the treasury.
    TreasurySpend {
        /// Receiving wallet.
        to: AccountId,
        /// Its owner.
        owner: u32,
        /// Base units.
        amount: u128,
    },
}

/// A scheduled proposal.
#[derive(Clone, Debug, PartialEq)]
pub struct PlannedProposal {
    /// Created at the first epoch settlement at or after this time.
    pub at: SimTime,
    /// Who proposes it (a group name, for the tables).
    pub by: String,
    /// What it changes if it passes.
    pub change: ProposalChange,
    /// Attempts left if it fails, and the time from a failed tally to the
    /// next one.
    pub retry: Option<(u32, SimTime)>,
}

/// Everything governance needs, fixed for the run.
#[derive(Clone, Debug, PartialEq)]
pub struct GovernancePlan {
    /// How tokens become power.
    pub rule: VotingRule,
    /// Quorum and threshold.
    pub decision: Decision,
    /// Creation to tally.
    pub voting_period: SimTime,
    /// Tally to effect.
    pub delay: SimTime,
    /// Decided by at most this many owners: captured.
    pub captured_at_most: u32,
    /// Owners and wallets.
    pub owners: Owners,
    /// Owners who share the treasury's income (may be empty).
    pub treasury_owners: Vec<u32>,
    /// Each owner's behaviour.
    pub behaviour: Vec<Behaviour>,
    /// Proposals, in creation order.
    pub proposals: Vec<PlannedProposal>,
    /// Seed of the apathy draws.
    pub seed: u64,
}
