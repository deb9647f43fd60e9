//! What governance reports: one record per proposal and one per vote.

use crate::engine::SimTime;
use dmlsim_models::econ::governance::{Choice, Tally};
use dmlsim_models::econ::ledger::AccountId;

/// A proposal, as created and (once tallied) decided.
#[derive(Clone, Debug, PartialEq)]
pub struct ProposalRecord {
    /// Proposal id, from 0 in creation order.
    pub id: u32,
    /// When it was created (and its votes cast).
    pub created: SimTime,
    /// When its voting period ends.
    pub closes: SimTime,
    /// Who proposed it.
    pub by: String,
    /// The scenario path of what it changes (`treasury_spend` for a payment).
    pub parameter: &'static str,
    /// The value in effect when it was created.
    pub old: String,
    /// The value it proposes.
    pub new: String,
    /// Power by choice.
    pub tally: Tally,
    /// All eligible power (every wallet holding tokens at creation).
    pub eligible: f64,
    /// Owners who cast a vote.
    pub voters: u32,
    /// Whether it passed; None while still open at the end of the run.
    pub passed: Option<bool>,
    /// When it took (or takes) effect, if it passed.
    pub effective: Option<SimTime>,
    /// The fewest owners whose votes decided it (see
    /// [`dmlsim_models::econ::governance::Decision::decided_by`]).
    pub decided_by: Option<u32>,
    /// Decided by no more than the scenario's `captured_at_most` owners.
    pub captured: bool,
}

/// One wallet's vote on a proposal.
#[derive(Clone, Debug, PartialEq)]
pub struct VoteRecord {
    /// Proposal id.
    pub proposal: u32,
    /// The voting wallet.
    pub wallet: AccountId,
    /// Its owner.
    pub owner: u32,
    /// Its tokens (balance + stake) when the proposal was created.
    pub tokens: f64,
    /// Its voting power.
    pub power: f64,
    /// How it voted.
    pub choice: Choice,
}
