//! Lowering the `governance` section: genesis groups and operators become
//! owners with ids, wallets become accounts, group names become owner and
//! account ids, and proposed values become base units and parts per
//! million.

use super::{amount, ppm, split};
use crate::economy::Economy;
use crate::governance::{Behaviour, GovernancePlan, Owners, PlannedProposal, ProposalChange};
use crate::params::ParamChange;
use crate::scenario::{ChangeSpec, GovernanceSpec, VoteSpec, VotingRuleSpec};
use dmlsim_models::econ::governance::{Decision, VotingRule};

/// The group name that stands for every operator.
pub const OPERATORS: &str = "operators";

/// Owners and wallets of `economy`: each genesis group's owners (wallet
/// `w` belongs to owner `w mod owners`), then one owner per operator
/// outside a pool, then one per pool (`pool_of`: each operator's pool, as
/// an index in `pools`). Also returns each owner's group name (a pool's
/// is its own name).
pub fn owners(
    economy: &Economy,
    pool_of: &[Option<usize>],
    pools: &[String],
) -> (Owners, Vec<String>) {
    let mut o = Owners::default();
    let mut group_of = Vec::new();
    let mut wallet = 0;
    for g in &economy.plan().genesis.holders {
        let base = o.names.len() as u32;
        for k in 0..g.owners {
            o.names.push(g.member_name(k, g.owners));
            o.kinds.push(g.kind);
            group_of.push(g.name.clone());
        }
        for w in 0..g.wallets {
            o.wallets
                .push((economy.holders[wallet], base + w % g.owners.max(1)));
            wallet += 1;
        }
    }
    let mut single = Vec::with_capacity(economy.operator_account.len());
    for op in 0..economy.operator_account.len() {
        if pool_of.get(op).copied().flatten().is_none() {
            single.push(o.names.len() as u32);
            o.names.push(format!("operator-{op}"));
            o.kinds.push("operator");
            group_of.push(OPERATORS.to_string());
        } else {
            single.push(u32::MAX);
        }
    }
    let first_pool = o.names.len() as u32;
    for name in pools {
        o.names.push(name.clone());
        o.kinds.push("pool");
        group_of.push(name.clone());
    }
    for (op, &account) in economy.operator_account.iter().enumerate() {
        let owner = match pool_of.get(op).copied().flatten() {
            Some(p) => first_pool + p as u32,
            None => single[op],
        };
        o.wallets.push((account, owner));
        o.operator_owner.push(owner);
    }
    (o, group_of)
}

/// The governance plan of a validated `spec` over `economy` and its
/// `nodes` (an operator's pool follows its first node's profile); `seed`
/// seeds the apathy draws.
pub fn governance(
    spec: &GovernanceSpec,
    economy: &Economy,
    nodes: &crate::world::Nodes,
    seed: u64,
) -> GovernancePlan {
    let pool_of: Vec<Option<usize>> = nodes
        .first_node_of_operators()
        .into_iter()
        .map(|first| {
            let profile = &nodes.profile_names[nodes.profile[first as usize] as usize];
            spec.pools.iter().position(|p| &p.profile == profile)
        })
        .collect();
    let pool_names: Vec<String> = spec.pools.iter().map(|p| p.name.clone()).collect();
    let (owners, group_of) = owners(economy, &pool_of, &pool_names);
    let members = |group: &str| -> Vec<u32> {
        (0..group_of.len() as u32)
            .filter(|&o| group_of[o as usize] == group)
            .collect()
    };
    let behaviour = group_of
        .iter()
        .map(|g| {
            // A pool not listed votes as the operators do, if they are.
            let listed = |group: &str| spec.voters.iter().find(|v| v.group == group);
            let pooled = pool_names.contains(g);
            let v: VoteSpec = listed(g)
                .or_else(|| pooled.then(|| listed(OPERATORS)).flatten())
                .map_or_else(|| spec.others.clone(), |v| v.behaviour());
            Behaviour {
                vote: v.vote,
                abstain_probability: v.abstain_probability,
            }
        })
        .collect();
    // A group's first wallet (validated to exist).
    let first_wallet = |group: &str| {
        let owner = members(group)[0];
        owners
            .wallets
            .iter()
            .find(|(_, o)| *o == owner)
            .expect("every owner holds a wallet")
            .0
    };
    let mut proposals: Vec<PlannedProposal> = spec
        .proposals
        .iter()
        .map(|p| PlannedProposal {
            at: p.at.time(),
            by: p.by.clone().unwrap_or_else(|| "scenario".into()),
            retry: p.retry.as_ref().map(|r| (r.attempts, r.after.time())),
            change: match &p.change {
                ChangeSpec::Split(s) => ProposalChange::Param(ParamChange::Split(split(s))),
                ChangeSpec::TokensPerPflop(v) => {
                    ProposalChange::Param(ParamChange::FeePerPflop(*v))
                }
                ChangeSpec::BurnFraction(v) => ProposalChange::Param(ParamChange::BurnPpm(ppm(*v))),
                ChangeSpec::MinStake(v) => ProposalChange::Param(ParamChange::MinStake(amount(*v))),
                ChangeSpec::EmissionScale(v) => {
                    ProposalChange::Param(ParamChange::EmissionPpm(ppm(*v)))
                }
                ChangeSpec::SlashFraction(v) => {
                    ProposalChange::Param(ParamChange::SlashFraction(*v))
                }
                ChangeSpec::SpotCheckProbability(v) => {
                    ProposalChange::Param(ParamChange::SpotCheckP(*v))
                }
                ChangeSpec::TreasurySpend { tokens, to } => ProposalChange::TreasurySpend {
                    to: first_wallet(to),
                    owner: members(to)[0],
                    amount: amount(*tokens),
                },
            },
        })
        .collect();
    proposals.sort_by_key(|p| p.at);
    GovernancePlan {
        rule: match spec.rule {
            VotingRuleSpec::TokenWeighted => VotingRule::TokenWeighted,
            VotingRuleSpec::Delegated => VotingRule::Delegated,
            VotingRuleSpec::Quadratic => VotingRule::Quadratic,
        },
        decision: Decision {
            quorum: spec.quorum,
            threshold: spec.threshold,
        },
        voting_period: spec.voting_period.time(),
        delay: spec.delay.time(),
        captured_at_most: spec.captured_at_most,
        treasury_owners: spec
            .treasury_owner
            .as_deref()
            .map(members)
            .unwrap_or_default(),
        owners,
        behaviour,
        proposals,
        seed,
    }
}
