//! Checking a round's updates before aggregation: spot-check re-execution,
//! redundancy with a majority vote, or statistical screening. Rejected
//! updates are not aggregated and not paid; their senders are punished by
//! the economy.

use crate::engine::rng::{StreamRng, stream};
use dmlsim_models::econ::verify::{ResultHash, Strategy, Verdict, majority, spot_check};
use dmlsim_models::learning::RoundUpdates;
use rand::RngExt;

/// What verification decided for one round.
#[derive(Clone, Debug, Default)]
pub struct RoundChecks {
    /// Updates aggregated and paid (ascending node ids).
    pub accepted: Vec<u32>,
    /// Updates rejected as invalid, with the evidence.
    pub rejected: Vec<(u32, &'static str)>,
    /// Updates withheld without blame (a redundancy group with no majority).
    pub withheld: Vec<u32>,
    /// Updates a validator checked (re-executed, voted on or screened).
    pub checked: u32,
    /// Extra FLOPs spent on verification.
    pub verification_flops: f64,
    /// Time the validators need to re-execute the checked work, which
    /// delays the round's settlement (rounds themselves do not wait).
    pub settlement_delay_s: f64,
    /// Bad updates a colluding validator approved and an audit caught:
    /// (validator index, node).
    pub bad_approvals: Vec<(u32, u32)>,
}

/// The verifier's runtime parameters, lowered from the scenario.
#[derive(Clone, Debug, PartialEq)]
pub struct VerifierPlan {
    /// How updates are checked.
    pub strategy: Strategy,
    /// Number of validators (at least one).
    pub validators: u32,
    /// The first this-many validators collude with cheaters.
    pub colluding: u32,
    /// Probability that an approved update is audited by an honest validator.
    pub audit_p: f64,
    /// Re-execution capacity of all validators together, FLOP/s.
    pub capacity_flops: f64,
}

/// The verifier of a run.
pub struct Verifier {
    strategy: Strategy,
    rng: StreamRng,
    /// Re-execution capacity of all validators together, FLOP/s.
    capacity: f64,
    validators: u32,
    colluding: u32,
    audit_p: f64,
    /// Draws which validator checks and whether an audit follows (its own
    /// stream, so the check draws do not depend on the validator settings).
    assign_rng: StreamRng,
}

/// The hash an honest replica of a task produces (all honest replicas agree).
const HONEST: ResultHash = [0; 32];
/// The hash colluding lazy replicas all submit.
const COLLUDED: ResultHash = [0xff; 32];

impl Verifier {
    /// A verifier drawing its checks from the seed's `verification` stream.
    pub fn new(plan: VerifierPlan, seed: u64) -> Verifier {
        Verifier {
            strategy: plan.strategy,
            rng: stream(seed, "verification", 0),
            capacity: plan.capacity_flops,
            validators: plan.validators.max(1),
            colluding: plan.colluding,
            audit_p: plan.audit_p,
            assign_rng: stream(seed, "validator-assignment", 0),
        }
    }

    /// Checks a round's updates; `spot_check_p` is the spot-check
    /// probability in effect (a governance vote may have changed the
    /// scenario's).
    pub fn check(&mut self, mut updates: RoundUpdates, spot_check_p: Option<f64>) -> RoundChecks {
        let mut out = RoundChecks::default();
        let contributors = updates.senders();
        match &self.strategy {
            Strategy::None => out.accepted = contributors.to_vec(),
            Strategy::SpotCheck { p } => {
                let p = spot_check_p.unwrap_or(*p);
                for &n in contributors {
                    // Deterministic training: re-execution reproduces the honest hash.
                    let submitted = if updates.is_honest(n) {
                        HONEST
                    } else {
                        node_hash(n)
                    };
                    let verdict = spot_check(p, &submitted, &HONEST, &mut self.rng);
                    // The checking validator; the first `colluding` ones approve bad work.
                    let validator = if verdict == Verdict::Unchecked {
                        0
                    } else {
                        self.assign_rng.random_range(0..self.validators)
                    };
                    let verdict = if verdict == Verdict::Caught && validator < self.colluding {
                        if self.audit_p > 0.0 && self.assign_rng.random::<f64>() < self.audit_p {
                            out.bad_approvals.push((validator, n));
                            Verdict::Caught
                        } else {
                            Verdict::Passed
                        }
                    } else {
                        verdict
                    };
                    match verdict {
                        Verdict::Unchecked => out.accepted.push(n),
                        Verdict::Passed => {
                            out.checked += 1;
                            out.verification_flops += updates.claimed_flops(n);
                            out.accepted.push(n);
                        }
                        Verdict::Caught => {
                            out.checked += 1;
                            out.verification_flops += updates.claimed_flops(n);
                            out.rejected.push((
                                n,
                                "spot check: result hash differs from the validator's re-execution",
                            ));
                        }
                    }
                }
            }
            Strategy::Redundancy { r, colluding_lazy } => {
                // Consecutive contributors are replicas of one task.
                for group in contributors.chunks(*r as usize) {
                    let hashes: Vec<ResultHash> = group
                        .iter()
                        .map(|&n| {
                            if updates.is_honest(n) {
                                HONEST
                            } else if *colluding_lazy
                                && updates.claimed_flops(n) > 0.0
                                && updates.done_flops(n) == 0.0
                            {
                                COLLUDED
                            } else {
                                node_hash(n)
                            }
                        })
                        .collect();
                    out.checked += group.len() as u32;
                    // Only one replica's work is useful: the rest is overhead.
                    let work: f64 = group.iter().map(|&n| updates.claimed_flops(n)).sum();
                    out.verification_flops +=
                        work * (group.len() as f64 - 1.0) / group.len() as f64;
                    match majority(&hashes) {
                        Some(winner) => {
                            for (&n, h) in group.iter().zip(&hashes) {
                                if *h == winner {
                                    out.accepted.push(n);
                                } else {
                                    out.rejected.push((
                                        n,
                                        "redundancy: result differs from the majority of replicas",
                                    ));
                                }
                            }
                        }
                        None => out.withheld.extend_from_slice(group),
                    }
                }
            }
            Strategy::Screening { threshold } => {
                let flags = updates.screen(*threshold);
                out.checked = contributors.len() as u32;
                for (&n, flagged) in contributors.iter().zip(flags) {
                    if flagged {
                        out.rejected
                            .push((n, "screening: update far from the median update"));
                    } else {
                        out.accepted.push(n);
                    }
                }
            }
        }
        out.accepted.sort_unstable();
        if matches!(self.strategy, Strategy::SpotCheck { .. }) {
            out.settlement_delay_s = out.verification_flops / self.capacity.max(1.0);
        }
        out
    }
}

/// A wrong result unique to a node.
fn node_hash(node: u32) -> ResultHash {
    let mut h = [0u8; 32];
    h[..4].copy_from_slice(&node.to_le_bytes());
    h[31] = 1;
    h
}
