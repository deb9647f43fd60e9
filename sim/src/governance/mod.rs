//! The governance subsystem: scheduled proposals that would change the
//! economy's live parameters, the owners' votes on them, the tally, and
//! the changes of the proposals that pass, returned as effects the root
//! applies (a versioned parameter change from the effective time on, or a
//! treasury payment at the first settlement at or after it).
//!
//! Governance acts at epoch settlements, after the economy has settled:
//! first it measures how concentrated holdings, voting power and rewards
//! are over wallets and owners; then it tallies the proposals whose voting
//! period has ended; then it pays the treasury spends that have come due
//! (one passed with no delay is paid at once); then it creates the
//! proposals whose time has come. The root applies the effects after
//! governance returns, so proposals created at a settlement, and that
//! settlement's records, see the treasury before that settlement's spends. A proposal's votes are cast when it is
//! created, with each wallet's tokens (balance + stake) at that moment as
//! its power; each owner decides once for all its wallets.
//!
//! - `plan`: owners, behaviours and proposals as ids and base units;
//! - [`concentration`]: holdings, votes and rewards over wallets and owners;
//! - `estimate`: the self-interested voter's income estimate;
//! - `records`: the proposals' and votes' rows.

pub mod concentration;
mod estimate;
pub mod plan;
pub mod records;

pub use concentration::ConcentrationRecord;
pub use estimate::IncomeBasis;
pub use plan::{Behaviour, GovernancePlan, Owners, PlannedProposal, ProposalChange};
pub use records::{ProposalRecord, VoteRecord};

use crate::economy::{ChainParams, Economy};
use crate::engine::SimTime;
use crate::params::ParamChange;
use crate::scenario::VoteBehaviour;
use crate::system::Effect;
use dmlsim_models::econ::as_tokens;
use dmlsim_models::econ::governance::{Ballot, Choice, Tally};
use dmlsim_models::econ::ledger::AccountId;
use dmlsim_models::econ::split::PPM;
use dmlsim_models::rng::{counter_uniform, purpose_hash, stream_key};

/// A proposal whose votes are cast and whose tally is still to come.
struct Open {
    /// Index in `Governance::proposals`.
    record: usize,
    ballots: Vec<Ballot>,
    /// What was planned (proposed again if it fails and may retry).
    planned: PlannedProposal,
}

/// Governance's state.
pub struct Governance {
    plan: GovernancePlan,
    /// Planned proposals created so far.
    created: usize,
    open: Vec<Open>,
    /// Passed treasury spends waiting for their effective time: when,
    /// proposal id, receiving account, base units.
    spends: Vec<(SimTime, u32, AccountId, u128)>,
    /// Every proposal created, in creation order.
    pub proposals: Vec<ProposalRecord>,
    /// Every vote cast, by proposal.
    pub votes: Vec<VoteRecord>,
    /// Concentration of holdings, votes and rewards, epoch by epoch.
    pub concentration: Vec<ConcentrationRecord>,
}

impl Governance {
    /// Governance following `plan`.
    pub fn new(plan: GovernancePlan) -> Governance {
        Governance {
            plan,
            created: 0,
            open: Vec::new(),
            spends: Vec::new(),
            proposals: Vec::new(),
            votes: Vec::new(),
            concentration: Vec::new(),
        }
    }

    /// Owners and wallets.
    pub fn owners(&self) -> &Owners {
        &self.plan.owners
    }

    /// Owners at most that make a decided proposal captured.
    pub fn captured_at_most(&self) -> u32 {
        self.plan.captured_at_most
    }

    /// Acts at an epoch settlement at `now` (see the module docs), with
    /// the economy as settled and the parameters in effect. At the run's
    /// last settlement (`closing`: the chain's last block is sealed) it
    /// measures, tallies and creates, but pays nothing more.
    pub fn on_epoch(
        &mut self,
        now: SimTime,
        economy: &Economy,
        params: &ChainParams,
        closing: bool,
        effects: &mut Vec<Effect>,
    ) {
        self.concentration.extend(concentration::measure(
            economy,
            &self.plan.owners,
            self.plan.rule,
            &self.plan.treasury_owners,
        ));
        let mut still_open = Vec::new();
        for open in std::mem::take(&mut self.open) {
            if self.proposals[open.record].closes <= now {
                self.decide(now, open, effects);
            } else {
                still_open.push(open);
            }
        }
        self.open = still_open;
        if !closing {
            let (due, later): (Vec<_>, Vec<_>) = std::mem::take(&mut self.spends)
                .into_iter()
                .partition(|s| s.0 <= now);
            self.spends = later;
            for (_, _, to, amount) in due {
                effects.push(Effect::TreasurySpend { to, amount });
            }
        }
        while self
            .plan
            .proposals
            .get(self.created)
            .is_some_and(|p| p.at <= now)
        {
            let planned = self.plan.proposals[self.created].clone();
            self.created += 1;
            self.create(now, planned, economy, params);
        }
    }

    /// What the run ended before doing: proposals never created, treasury
    /// spends passed but not yet paid.
    pub fn warnings(&self) -> Vec<String> {
        let mut w: Vec<String> = self.plan.proposals[self.created..]
            .iter()
            .map(|p| {
                format!(
                    "a governance proposal scheduled at {} s was never created: the run's last epoch settled before it",
                    p.at.as_secs_f64()
                )
            })
            .collect();
        for (effective, id, _, amount) in &self.spends {
            w.push(format!(
                "proposal {id}'s treasury spend of {} tokens, effective at {} s, was not paid: the run ended first",
                as_tokens(*amount),
                effective.as_secs_f64()
            ));
        }
        w
    }

    /// Tallies an open proposal and, if it passed, schedules its change.
    fn decide(&mut self, now: SimTime, open: Open, effects: &mut Vec<Effect>) {
        let decision = self.plan.decision;
        let record = &mut self.proposals[open.record];
        let passed = decision.passes(&record.tally, record.eligible);
        record.passed = Some(passed);
        record.decided_by = decision.decided_by(&open.ballots, record.eligible);
        record.captured = record
            .decided_by
            .is_some_and(|k| k <= self.plan.captured_at_most);
        if !passed {
            // The proposer tries again, if its policy says so.
            if let Some((left @ 1.., after)) = open.planned.retry {
                let again = PlannedProposal {
                    at: now.saturating_add(after),
                    retry: Some((left - 1, after)),
                    ..open.planned
                };
                let rest = &self.plan.proposals[self.created..];
                let at = self.created + rest.partition_point(|p| p.at <= again.at);
                self.plan.proposals.insert(at, again);
            }
            return;
        }
        let effective = now.saturating_add(self.plan.delay);
        record.effective = Some(effective);
        match open.planned.change {
            ProposalChange::Param(change) => effects.push(Effect::ChangeParam {
                from: effective,
                change,
            }),
            ProposalChange::TreasurySpend { to, amount, .. } => {
                self.spends.push((effective, record.id, to, amount))
            }
        }
    }

    /// Creates a proposal: snapshots every wallet's power and casts the
    /// owners' votes.
    fn create(
        &mut self,
        now: SimTime,
        planned: PlannedProposal,
        economy: &Economy,
        params: &ChainParams,
    ) {
        let id = self.proposals.len() as u32;
        let view = economy.delegation_view();
        let follows = self.plan.rule.follows_delegation();
        // Every wallet holding tokens now: (wallet, owner, tokens, power).
        let snapshot: Vec<(AccountId, u32, f64, f64)> = self
            .plan
            .owners
            .wallets
            .iter()
            .filter_map(|&(wallet, owner)| {
                let held = voting_tokens(economy, follows.then_some(&view), wallet);
                let tokens = as_tokens(held);
                (held > 0).then(|| (wallet, owner, tokens, self.plan.rule.power(tokens)))
            })
            .collect();
        let mut owner_power = vec![0.0; self.plan.owners.names.len()];
        for &(_, owner, _, power) in &snapshot {
            owner_power[owner as usize] += power;
        }
        let choices = self.choices(id, &planned.change, economy, params, &owner_power);
        let mut ballots = Vec::new();
        let mut votes = Vec::new();
        let mut eligible = 0.0;
        for (wallet, owner, tokens, power) in snapshot {
            eligible += power;
            let Some(mut choice) = choices[owner as usize] else {
                continue;
            };
            if self.plan.behaviour[owner as usize].vote == VoteBehaviour::FollowDelegate {
                // As the operator it delegates most to votes, if it votes.
                let operator_choice = view.main[wallet as usize].and_then(|op| {
                    let o = self.plan.owners.operator_owner[op as usize] as usize;
                    let follows_too = self.plan.behaviour[o].vote == VoteBehaviour::FollowDelegate;
                    if follows_too { None } else { choices[o] }
                });
                match operator_choice {
                    Some(c) => choice = c,
                    None => continue,
                }
            }
            ballots.push(Ballot {
                owner,
                power,
                choice,
            });
            votes.push(VoteRecord {
                proposal: id,
                wallet,
                owner,
                tokens,
                power,
                choice,
            });
        }
        self.votes.extend(votes);
        let voters = {
            let mut seen: Vec<u32> = ballots.iter().map(|b| b.owner).collect();
            seen.sort_unstable();
            seen.dedup();
            seen.len() as u32
        };
        let (parameter, old, new) = describe(&planned.change, params, economy);
        self.proposals.push(ProposalRecord {
            id,
            created: now,
            closes: now.saturating_add(self.plan.voting_period),
            by: planned.by.clone(),
            parameter,
            old,
            new,
            tally: Tally::of(&ballots),
            eligible,
            voters,
            passed: None,
            effective: None,
            decided_by: None,
            captured: false,
        });
        self.open.push(Open {
            record: self.proposals.len() - 1,
            ballots,
            planned,
        });
    }

    /// Each owner's vote on proposal `id` (None: stays away), given each
    /// owner's voting power on it.
    fn choices(
        &self,
        id: u32,
        change: &ProposalChange,
        economy: &Economy,
        params: &ChainParams,
        power: &[f64],
    ) -> Vec<Option<Choice>> {
        let owners = &self.plan.owners;
        let weighs = |b: &Behaviour| {
            matches!(
                b.vote,
                VoteBehaviour::SelfInterested | VoteBehaviour::Cartel
            )
        };
        let incomes = self
            .plan
            .behaviour
            .iter()
            .any(weighs)
            .then(|| self.incomes(change, economy, params));
        let own = |o: usize| {
            let (before, after) = incomes.as_ref().expect("estimated")[o];
            let tolerance = 1e-9 * before.abs().max(after.abs());
            if after > before + tolerance {
                Choice::Yes
            } else if after < before - tolerance {
                Choice::No
            } else {
                Choice::Abstain
            }
        };
        // The cartel's side: its members' own preferences weighted by their power.
        let mut bloc = Choice::Abstain;
        if self
            .plan
            .behaviour
            .iter()
            .any(|b| b.vote == VoteBehaviour::Cartel)
        {
            let (mut yes, mut no) = (0.0, 0.0);
            for (o, b) in self.plan.behaviour.iter().enumerate() {
                if b.vote == VoteBehaviour::Cartel {
                    match own(o) {
                        Choice::Yes => yes += power[o],
                        Choice::No => no += power[o],
                        Choice::Abstain => {}
                    }
                }
            }
            if yes > no {
                bloc = Choice::Yes;
            } else if no > yes {
                bloc = Choice::No;
            }
        }
        let key = stream_key(self.plan.seed, "governance-apathy", u64::from(id));
        (0..owners.names.len())
            .map(|o| {
                let b = self.plan.behaviour[o];
                if b.abstain_probability > 0.0
                    && counter_uniform(key, purpose_hash(&owners.names[o])) < b.abstain_probability
                {
                    return None;
                }
                Some(match b.vote {
                    VoteBehaviour::Yes => Choice::Yes,
                    VoteBehaviour::No => Choice::No,
                    VoteBehaviour::Abstain => Choice::Abstain,
                    VoteBehaviour::SelfInterested => own(o),
                    VoteBehaviour::Cartel => bloc,
                    // Decided wallet by wallet (in `create`).
                    VoteBehaviour::FollowDelegate => Choice::Abstain,
                })
            })
            .collect()
    }

    /// Each owner's estimated income per epoch now and if `change` passed.
    fn incomes(
        &self,
        change: &ProposalChange,
        economy: &Economy,
        params: &ChainParams,
    ) -> Vec<(f64, f64)> {
        let owners = &self.plan.owners;
        let ledger = &economy.ledger;
        let basis = IncomeBasis {
            emission: as_tokens(economy.next_emission()),
            fees: economy.epochs.last().map_or(0.0, |e| as_tokens(e.fees)),
            rewards: economy
                .last_epoch_rewards()
                .iter()
                .map(|&r| as_tokens(r))
                .collect(),
            capacity: economy
                .operator_account
                .iter()
                .map(|&a| ledger.balance(a) + ledger.stake(a))
                .collect(),
            validators: !economy.validators.is_empty(),
            current: params.clone(),
        };
        let mut proposed = params.clone();
        let mut spend = None;
        match change {
            ProposalChange::Param(p) => apply(&mut proposed, p),
            ProposalChange::TreasurySpend { owner, amount, .. } => {
                spend = Some((*owner, as_tokens(*amount)))
            }
        }
        let (now, then) = (basis.outlook(params), basis.outlook(&proposed));
        let mut operators: Vec<Vec<usize>> = vec![Vec::new(); owners.names.len()];
        for (op, &owner) in owners.operator_owner.iter().enumerate() {
            operators[owner as usize].push(op);
        }
        let share = 1.0 / self.plan.treasury_owners.len().max(1) as f64;
        (0..owners.names.len())
            .map(|o| {
                let treasury = if self.plan.treasury_owners.contains(&(o as u32)) {
                    share
                } else {
                    0.0
                };
                let before = basis.income(&now, &operators[o], treasury);
                let mut after = basis.income(&then, &operators[o], treasury);
                if let Some((to, tokens)) = spend
                    && to as usize == o
                {
                    after += tokens;
                }
                (before, after)
            })
            .collect()
    }
}

/// An account's tokens for voting: balance + stake, and where power follows
/// delegation (`view`), less what it delegates and plus what is delegated
/// to it.
pub(crate) fn voting_tokens(
    economy: &Economy,
    view: Option<&crate::economy::DelegationView>,
    account: AccountId,
) -> u128 {
    let held = economy.ledger.balance(account) + economy.ledger.stake(account);
    match view {
        Some(v) => held - v.out[account as usize] + v.into[account as usize],
        None => held,
    }
}

/// Applies a parameter change to a copy of the economy's parameters.
fn apply(params: &mut ChainParams, change: &ParamChange) {
    match change {
        ParamChange::MinStake(v) => params.min_stake = *v,
        ParamChange::FeePerPflop(v) => params.fees.tokens_per_pflop = *v,
        ParamChange::BurnPpm(v) => params.fees.burn_ppm = *v,
        ParamChange::Split(s) => params.split = s.clone(),
        ParamChange::EmissionPpm(v) => params.emission_ppm = *v,
        ParamChange::SlashFraction(v) => params.slash_fraction = Some(*v),
        ParamChange::SpotCheckP(v) => params.spot_check_p = Some(*v),
        // Round settings do not enter the income estimate.
        ParamChange::ClientsPerRound(_)
        | ParamChange::MinClients(_)
        | ParamChange::Deadline(_)
        | ParamChange::RoundGap(_) => {}
    }
}

/// A proposal's parameter path and its old and new values, as text.
fn describe(
    change: &ProposalChange,
    params: &ChainParams,
    economy: &Economy,
) -> (&'static str, String, String) {
    let fraction = |ppm: u128| format!("{}", ppm as f64 / PPM as f64);
    let split = |s: &crate::economy::plan::Split| {
        let mut text = format!(
            "compute={} data={}",
            fraction(s.compute_ppm),
            fraction(s.data_ppm)
        );
        // Storage and relay shares are named only where a split has them.
        for (name, ppm) in [("storage", s.storage_ppm), ("relay", s.relay_ppm)] {
            if ppm > 0 {
                text += &format!(" {name}={}", fraction(ppm));
            }
        }
        text + &format!(
            " validators={} treasury={}",
            fraction(s.validators_ppm),
            fraction(s.treasury_ppm)
        )
    };
    match change {
        ProposalChange::Param(p) => {
            let (old, new) = match p {
                ParamChange::Split(s) => (split(&params.split), split(s)),
                ParamChange::FeePerPflop(v) => {
                    (format!("{}", params.fees.tokens_per_pflop), format!("{v}"))
                }
                ParamChange::BurnPpm(v) => (fraction(params.fees.burn_ppm), fraction(*v)),
                ParamChange::MinStake(v) => (
                    format!("{}", as_tokens(params.min_stake)),
                    format!("{}", as_tokens(*v)),
                ),
                ParamChange::EmissionPpm(v) => (
                    format!("scale={}", fraction(params.emission_ppm)),
                    format!("scale={}", fraction(*v)),
                ),
                ParamChange::SlashFraction(v) => (
                    params
                        .slash_fraction
                        .map_or("the scenario's policy".to_string(), |f| {
                            format!("fixed={f}")
                        }),
                    format!("fixed={v}"),
                ),
                ParamChange::SpotCheckP(v) => (
                    params
                        .spot_check_p
                        .map_or(String::new(), |p| format!("{p}")),
                    format!("{v}"),
                ),
                other => (String::new(), format!("{other:?}")),
            };
            (p.path(), old, new)
        }
        ProposalChange::TreasurySpend { to, amount, .. } => (
            "treasury_spend",
            format!("{}", as_tokens(economy.ledger.balance(economy.treasury()))),
            format!(
                "{} to {}",
                as_tokens(*amount),
                economy.ledger.names()[*to as usize]
            ),
        ),
    }
}

#[cfg(test)]
mod tests;
