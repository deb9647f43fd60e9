//! What subsystems tell the root (facts) and what their policies ask it to
//! do (effects): cadCAD's split between deciding and applying. A subsystem
//! never changes another's state; it returns effects and the root applies
//! them, in order, before the next event.

use super::JobId;
use crate::economy::{EpochRecord, OffenceRecord};
use crate::engine::SimTime;
use crate::params::ParamChange;
use dmlsim_models::econ::slashing::Offence;

/// One accepted contribution to a closed round.
#[derive(Clone, Debug, PartialEq)]
pub struct Contribution {
    /// Node id.
    pub node: u32,
    /// Work it claims (and is paid for), FLOPs.
    pub claimed_flops: f64,
    /// Work it really did (a free-rider does none), FLOPs; sets its electricity.
    pub done_flops: f64,
    /// Training examples it used.
    pub samples: u64,
}

/// Misbehaviour found in a round, to be punished by the chain's policies.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Misconduct {
    /// Offending node.
    pub node: u32,
    /// What it did.
    pub kind: Offence,
    /// How it was found.
    pub evidence: &'static str,
}

/// A validator that approved a bad update and was caught by an audit.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct BadApproval {
    /// Validator index.
    pub validator: u32,
    /// Node whose bad update it approved.
    pub node: u32,
}

/// A training round that closed, with what the chain needs to settle it.
#[derive(Clone, Debug, PartialEq)]
pub struct RoundClosed {
    /// The job.
    pub job: JobId,
    /// Round number from 0.
    pub round: u32,
    /// When clients were selected.
    pub t_start: SimTime,
    /// When it closed.
    pub t_end: SimTime,
    /// Whether it was the job's first round.
    pub first: bool,
    /// Bytes of the final model when it was the job's last round.
    pub final_model_bytes: Option<u64>,
    /// Accepted (aggregated) contributions, ascending node ids.
    pub accepted: Vec<Contribution>,
    /// Each selected node's traffic in the round, bytes, in slot order.
    pub traffic: Vec<(u32, u64)>,
    /// Bytes of dataset shards each hosting node served in the round.
    pub served: Vec<(u32, u64)>,
    /// Offences found: rejected updates, then clients that delivered nothing.
    pub misconduct: Vec<Misconduct>,
    /// Validators caught approving bad updates.
    pub bad_approvals: Vec<BadApproval>,
    /// Hash of the aggregated model.
    pub model_hash: [u8; 32],
}

/// Something that happened, reported by the subsystem that saw it.
#[derive(Clone, Copy, Debug)]
pub enum Fact<'a> {
    /// A training round closed.
    RoundClosed(&'a RoundClosed),
    /// An offence was punished.
    OffencePunished(&'a OffenceRecord),
    /// An economic epoch was settled.
    EpochSettled(&'a EpochRecord),
}

/// A change a policy asks the root to apply.
#[derive(Clone, Debug, PartialEq)]
pub enum Effect {
    /// An operator enters (true) or leaves (false) the network: its nodes
    /// can (or can no longer) be selected.
    SetOperatorActive {
        /// Operator id.
        operator: u32,
        /// In the network or not.
        active: bool,
    },
    /// An operator's nodes are jailed (offline) until a time (a later
    /// jailing extends, an earlier one never shortens).
    JailOperator {
        /// Operator id.
        operator: u32,
        /// End of the jailing.
        until: SimTime,
    },
    /// Selection follows stake: each operator's bonded stake (its own and
    /// its delegators', base units) from now on.
    SetSelectionStake {
        /// Per operator.
        bonded: Vec<u128>,
    },
    /// Tokens leave the treasury for a wallet now (a passed proposal).
    TreasurySpend {
        /// Receiving account.
        to: dmlsim_models::econ::ledger::AccountId,
        /// Base units.
        amount: u128,
    },
    /// A runtime parameter changes from a time on.
    ChangeParam {
        /// When the change takes effect (clamped to now if earlier).
        from: SimTime,
        /// The change.
        change: ParamChange,
    },
}

/// A subsystem that only listens to facts and answers with effects — the
/// seam governance and other policies plug into.
pub trait Listener {
    /// Reacts to a fact at `now`, pushing any effects it decides on.
    fn on_fact(&mut self, now: SimTime, fact: Fact<'_>, effects: &mut Vec<Effect>);
}
