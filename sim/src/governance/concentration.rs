//! How concentrated tokens, votes and rewards are after each epoch
//! settles, over wallets and over the owners behind them, with and
//! without the protocol's accounts (the treasury and the validators).
//!
//! In the owners' view with the protocol's accounts, the treasury counts
//! as held by the owners who control it (`governance.treasury_owner`,
//! shared equally, the remainder to the first), or as an owner of its own
//! when nobody does; each validator is an owner of its own. Voting power
//! is counted without the protocol's accounts (they do not vote).

use super::plan::Owners;
use crate::economy::Economy;
use crate::engine::SimTime;
use dmlsim_models::econ::governance::VotingRule;
use dmlsim_models::econ::ledger::AccountId;
use dmlsim_models::econ::metrics::{Concentration, Sorted};
use dmlsim_models::econ::{TOKEN, as_tokens};

/// One measurement of one epoch.
#[derive(Clone, Debug, PartialEq)]
pub struct ConcentrationRecord {
    /// The settled epoch.
    pub epoch: u64,
    /// When it settled.
    pub t: SimTime,
    /// `holdings` (balance + stake + unbonding), `voting_power`,
    /// `rewards` (earned in the epoch) or `bonded_stake` (stake bonded to
    /// each operator, its delegators' included).
    pub measure: &'static str,
    /// `wallets`, `owners` or `operators`.
    pub over: &'static str,
    /// Whether the treasury and the validators are counted.
    pub with_protocol: bool,
    /// Wallets or owners counted (those holding nothing included).
    pub entities: u32,
    /// Their total: base units of tokens, or of votes (10^-18 of a vote).
    pub total: u128,
    /// Gini, Nakamoto coefficients and HHI.
    pub c: Concentration,
    /// Shares of the largest 1, 3 and 10.
    pub top: [f64; 3],
}

/// Amounts per wallet and per owner, and the protocol's amounts.
struct Amounts {
    wallets: Vec<u128>,
    owners: Vec<u128>,
    treasury: u128,
    validators: Vec<u128>,
}

/// The epoch's measurements (twelve rows: holdings and rewards four
/// ways, voting power over wallets and owners, bonded stake over
/// operators with and without the validators).
pub fn measure(
    economy: &Economy,
    owners: &Owners,
    rule: VotingRule,
    treasury_owners: &[u32],
) -> Vec<ConcentrationRecord> {
    let Some(last) = economy.epochs.last() else {
        return Vec::new();
    };
    let ledger = &economy.ledger;
    let unbonding = ledger.unbonding_by_account();
    let held = |a: AccountId| ledger.balance(a) + ledger.stake(a) + unbonding[a as usize];
    let holdings = amounts(economy, owners, held);
    // Rewards by account: operators', then the validators' and the treasury's.
    let mut earned = vec![0u128; ledger.names().len()];
    for (&a, &r) in economy
        .operator_account
        .iter()
        .zip(economy.last_epoch_rewards())
    {
        earned[a as usize] += r;
    }
    let protocol = economy.last_epoch_protocol_rewards();
    for (&v, &r) in economy.validators.iter().zip(protocol) {
        earned[v as usize] += r;
    }
    earned[economy.treasury() as usize] += protocol.last().copied().unwrap_or(0);
    for &(w, r) in economy.last_epoch_delegator_rewards() {
        earned[w as usize] += r;
    }
    let rewards = amounts(economy, owners, |a| earned[a as usize]);
    // Votes in 10^-18 units: exactly the tokens when token weighted.
    let view = rule.follows_delegation().then(|| economy.delegation_view());
    let votes = amounts(economy, owners, |a| {
        let tokens = super::voting_tokens(economy, view.as_ref(), a);
        if rule.one_token_one_vote() {
            tokens
        } else {
            (rule.power(as_tokens(tokens)) * TOKEN as f64).round() as u128
        }
    });
    let row = |measure, over, with_protocol, amounts: &[u128]| {
        let sorted = Sorted::new(amounts);
        ConcentrationRecord {
            epoch: last.epoch,
            t: last.t,
            measure,
            over,
            with_protocol,
            entities: amounts.len() as u32,
            total: amounts.iter().sum(),
            c: sorted.concentration(),
            top: [
                sorted.top_share(1),
                sorted.top_share(3),
                sorted.top_share(10),
            ],
        }
    };
    let mut out = Vec::with_capacity(12);
    for (measure, a) in [
        ("holdings", &holdings),
        ("voting_power", &votes),
        ("rewards", &rewards),
    ] {
        out.push(row(measure, "wallets", false, &a.wallets));
        if measure != "voting_power" {
            out.push(row(measure, "wallets", true, &a.with_protocol_wallets()));
        }
        out.push(row(measure, "owners", false, &a.owners));
        if measure != "voting_power" {
            out.push(row(
                measure,
                "owners",
                true,
                &a.with_protocol_owners(treasury_owners),
            ));
        }
    }
    // Stake bonded to operators (what stake-weighted selection follows),
    // then with the validators' stake.
    let mut bonded: Vec<u128> = (0..economy.operator_account.len())
        .map(|o| economy.bonded(o))
        .collect();
    out.push(row("bonded_stake", "operators", false, &bonded));
    bonded.extend(economy.validators.iter().map(|&v| ledger.stake(v)));
    out.push(row("bonded_stake", "operators", true, &bonded));
    out
}

/// `amount` of every voting wallet, summed by owner, and of the protocol's accounts.
fn amounts(economy: &Economy, owners: &Owners, amount: impl Fn(AccountId) -> u128) -> Amounts {
    let wallets: Vec<u128> = owners.wallets.iter().map(|&(a, _)| amount(a)).collect();
    let mut by_owner = vec![0u128; owners.names.len()];
    for (&(_, o), &x) in owners.wallets.iter().zip(&wallets) {
        by_owner[o as usize] += x;
    }
    Amounts {
        wallets,
        owners: by_owner,
        treasury: amount(economy.treasury()),
        validators: economy.validators.iter().map(|&v| amount(v)).collect(),
    }
}

impl Amounts {
    /// Wallets, then the treasury and each validator.
    fn with_protocol_wallets(&self) -> Vec<u128> {
        let mut v = self.wallets.clone();
        v.push(self.treasury);
        v.extend(&self.validators);
        v
    }

    /// Owners with the treasury's amount shared by `treasury_owners` (or
    /// as an owner of its own), then each validator.
    fn with_protocol_owners(&self, treasury_owners: &[u32]) -> Vec<u128> {
        let mut v = self.owners.clone();
        match treasury_owners.len() as u128 {
            0 => v.push(self.treasury),
            n => {
                for (i, &o) in treasury_owners.iter().enumerate() {
                    let part = self.treasury / n + if i == 0 { self.treasury % n } else { 0 };
                    v[o as usize] += part;
                }
            }
        }
        v.extend(&self.validators);
        v
    }
}
