//! Stake that moves: Cosmos-style delegation of genesis wallets' tokens to
//! operators (with commission, shared slashing and redelegation away from
//! operators out of the network), restaking of rewards, and the bonded
//! stake that stake-weighted selection follows.
//!
//! A delegation's tokens stay in the delegating wallet's stake on the
//! ledger (a `stake` entry with memo `delegation`); which operator they
//! are bonded to is the economy's bookkeeping. Moving them to another
//! operator is a redelegation and moves no tokens.

use super::Economy;
use super::plan::{DelegateChoice, DelegationPlan};
use crate::system::Effect;
use dmlsim_models::econ::ledger::{AccountId, EntryKind, LedgerError};
use dmlsim_models::econ::split::{PPM, mul_div, pro_rata};
use dmlsim_models::rng::{counter_uniform, stream_key};

/// Tokens of a wallet bonded to an operator.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct Delegation {
    /// The delegating wallet.
    pub wallet: AccountId,
    /// The operator it is bonded to.
    pub operator: u32,
    /// Base units bonded.
    pub amount: u128,
    /// Share of its rewards bonded again, parts per million.
    pub restake_ppm: u128,
    /// How the wallet picks an operator when it redelegates.
    pub choice: DelegateChoice,
}

/// Where delegated stake comes from and where it is bonded, per ledger
/// account (for voting power that follows delegation).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DelegationView {
    /// Per account: the stake it delegates to operators.
    pub out: Vec<u128>,
    /// Per account: the stake delegated to it (operators' accounts).
    pub into: Vec<u128>,
    /// Per account: the operator it delegates most to (ties: the lower id).
    pub main: Vec<Option<u32>>,
}

/// Index `i` of `n` (n > 0) drawn uniformly from the delegators' stream.
fn draw(seed: u64, wallet: AccountId, counter: u64, n: usize) -> usize {
    let u = counter_uniform(stream_key(seed, "delegation", u64::from(wallet)), counter);
    ((u * n as f64) as usize).min(n - 1)
}

impl Economy {
    /// Stake bonded to an operator: its own and its delegators'.
    pub fn bonded(&self, op: usize) -> u128 {
        self.ledger.stake(self.operator_account[op]) + self.delegated[op]
    }

    /// Every account's delegations now (see [`DelegationView`]).
    pub fn delegation_view(&self) -> DelegationView {
        let n = self.ledger.names().len();
        let mut view = DelegationView {
            out: vec![0; n],
            into: vec![0; n],
            main: vec![None; n],
        };
        let mut largest = vec![0u128; n];
        for d in &self.delegations {
            let w = d.wallet as usize;
            view.out[w] += d.amount;
            view.into[self.operator_account[d.operator as usize] as usize] += d.amount;
            let better = d.amount > largest[w]
                || (d.amount == largest[w] && view.main[w].is_some_and(|m| d.operator < m));
            if better && d.amount > 0 {
                largest[w] = d.amount;
                view.main[w] = Some(d.operator);
            }
        }
        view
    }

    /// What each delegating wallet received from operators at the last
    /// settlement, an entry per delegation paid, base units.
    pub fn last_epoch_delegator_rewards(&self) -> &[(AccountId, u128)] {
        &self.delegator_rewards
    }

    /// Whether `op` may serve with the stake bonded to it now.
    pub(super) fn stake_suffices(&self, op: usize, params: &super::ChainParams) -> bool {
        self.bonded(op) >= params.min_stake
            && self.ledger.stake(self.operator_account[op]) >= params.min_self_stake
    }

    /// Operators in the network now (all of them when none is), ascending.
    fn delegation_targets(&self) -> Vec<u32> {
        let inside: Vec<u32> = (0..self.in_network.len() as u32)
            .filter(|&o| self.in_network[o as usize])
            .collect();
        if inside.is_empty() {
            (0..self.in_network.len() as u32).collect()
        } else {
            inside
        }
    }

    /// Bonds each delegating group's share of its wallets' genesis tokens
    /// to operators: spread equally, or to one drawn per wallet.
    pub(super) fn delegate_at_genesis(&mut self) -> Result<(), LedgerError> {
        let targets = self.delegation_targets();
        if targets.is_empty() {
            return Ok(());
        }
        let plan = self.plan.staking.clone();
        // The first wallet of each group, in `holders` order.
        let mut first = Vec::with_capacity(self.plan.genesis.holders.len());
        let mut at = 0;
        for g in &self.plan.genesis.holders {
            first.push(at);
            at += g.wallets as usize;
        }
        for d in &plan.delegations {
            let group = &self.plan.genesis.holders[d.group];
            let tokens = group.wallet_tokens();
            for (w, held) in tokens.into_iter().enumerate() {
                let wallet = self.holders[first[d.group] + w];
                let amount = mul_div(held, d.fraction_ppm, PPM);
                if amount == 0 {
                    continue;
                }
                self.ledger.stake_with_memo(wallet, amount, "delegation")?;
                if d.choice == DelegateChoice::Spread {
                    let (parts, rest) = pro_rata(amount, &vec![1; targets.len()]);
                    for (i, (&op, mut part)) in targets.iter().zip(parts).enumerate() {
                        if i == 0 {
                            part += rest;
                        }
                        self.bond(wallet, op, part, d);
                    }
                } else {
                    let op = self.pick(d.choice, &targets, wallet, 0);
                    self.bond(wallet, op, amount, d);
                }
            }
        }
        Ok(())
    }

    /// The operator among `targets` a wallet delegating by `choice` picks
    /// (`spread` picks like `random`); `counter` numbers the wallet's draws.
    fn pick(
        &self,
        choice: DelegateChoice,
        targets: &[u32],
        wallet: AccountId,
        counter: u64,
    ) -> u32 {
        match choice {
            DelegateChoice::Largest => *targets
                .iter()
                .max_by_key(|&&o| {
                    let o = o as usize;
                    (self.bonded(o), self.operator_nodes[o], std::cmp::Reverse(o))
                })
                .expect("targets are never empty"),
            DelegateChoice::Spread | DelegateChoice::Random => {
                targets[draw(self.plan.staking.seed, wallet, counter, targets.len())]
            }
        }
    }

    /// Records `amount` of `wallet`'s stake as bonded to `op`.
    fn bond(&mut self, wallet: AccountId, op: u32, amount: u128, d: &DelegationPlan) {
        if amount == 0 {
            return;
        }
        self.delegated[op as usize] += amount;
        self.delegations.push(Delegation {
            wallet,
            operator: op,
            amount,
            restake_ppm: d.restake_ppm,
            choice: d.choice,
        });
    }

    /// Pays each operator's delegators their part of its epoch rewards
    /// (in proportion to the stake they bond to it, less its commission)
    /// and bonds what they restake. Returns what each operator passed on.
    pub(super) fn pay_delegators(&mut self) -> Result<Vec<u128>, LedgerError> {
        let ops = self.operator_account.len();
        let mut passed = vec![0u128; ops];
        self.delegator_rewards.clear();
        if self.delegations.is_empty() {
            return Ok(passed);
        }
        let commission = self.plan.staking.commission_ppm;
        // Delegations by operator, in the order they were made.
        let mut by_operator: Vec<Vec<usize>> = vec![Vec::new(); ops];
        for (i, d) in self.delegations.iter().enumerate() {
            by_operator[d.operator as usize].push(i);
        }
        for (op, list) in by_operator.iter().enumerate() {
            let reward = self.epoch_reward[op];
            if reward == 0 || self.delegated[op] == 0 {
                continue;
            }
            let share = mul_div(reward, self.delegated[op], self.bonded(op));
            let pass = share - mul_div(share, commission, PPM);
            let amounts: Vec<u128> = list.iter().map(|&i| self.delegations[i].amount).collect();
            let (parts, rest) = pro_rata(pass, &amounts);
            passed[op] = pass - rest;
            let from = self.operator_account[op];
            for (&i, part) in list.iter().zip(parts) {
                if part == 0 {
                    continue;
                }
                let d = &self.delegations[i];
                let (wallet, restake_ppm) = (d.wallet, d.restake_ppm);
                self.ledger
                    .transfer(EntryKind::Reward, from, wallet, part, "delegation")?;
                self.delegator_rewards.push((wallet, part));
                let again = mul_div(part, restake_ppm, PPM);
                if again > 0 {
                    self.ledger.stake_with_memo(wallet, again, "restake")?;
                    self.delegations[i].amount += again;
                    self.delegated[op] += again;
                }
            }
        }
        Ok(passed)
    }

    /// Operators in the network stake their restaked share of the epoch's
    /// rewards (what they kept after their delegators').
    pub(super) fn restake_rewards(&mut self) -> Result<(), LedgerError> {
        let ppm = self.plan.staking.restake_ppm;
        if ppm == 0 {
            return Ok(());
        }
        for op in 0..self.operator_account.len() {
            if !self.in_network[op] {
                continue;
            }
            let again = mul_div(self.epoch_reward[op], ppm, PPM);
            if again > 0 {
                self.ledger
                    .stake_with_memo(self.operator_account[op], again, "restake")?;
            }
        }
        Ok(())
    }

    /// Moves delegations bonded to operators out of the network to one
    /// drawn uniformly among those in it (none move while none is in).
    pub(super) fn redelegate(&mut self) {
        if !self.in_network.iter().any(|&a| a) {
            return;
        }
        let targets = self.delegation_targets();
        let epoch = self.epoch;
        let mut moved = false;
        for i in 0..self.delegations.len() {
            let d = &self.delegations[i];
            if self.in_network[d.operator as usize] {
                continue;
            }
            // One draw per wallet, delegation and epoch.
            let counter = ((epoch + 1) << 24) | i as u64;
            let to = self.pick(d.choice, &targets, d.wallet, counter);
            let d = &self.delegations[i];
            self.delegated[d.operator as usize] -= d.amount;
            self.delegated[to as usize] += d.amount;
            self.delegations[i].operator = to;
            moved = true;
        }
        if moved {
            self.merge_delegations();
        }
    }

    /// Merges the delegations of a wallet to the same operator (after a
    /// redelegation), keeping the first one's place.
    fn merge_delegations(&mut self) {
        let mut at: std::collections::HashMap<(AccountId, u32), usize> =
            std::collections::HashMap::with_capacity(self.delegations.len());
        let mut merged: Vec<Delegation> = Vec::with_capacity(self.delegations.len());
        for d in std::mem::take(&mut self.delegations) {
            match at.get(&(d.wallet, d.operator)) {
                Some(&i) => merged[i].amount += d.amount,
                None => {
                    at.insert((d.wallet, d.operator), merged.len());
                    merged.push(d);
                }
            }
        }
        self.delegations = merged;
    }

    /// Slashes `penalty` (≤ the bonded stake) from `op`'s own stake and
    /// its delegations in proportion to what each bonds (the rounding
    /// remainder from the operator's, as far as it holds); returns what
    /// was slashed in all, the operator's own part, and the first slash
    /// entry, if any.
    pub(super) fn slash_bonded(
        &mut self,
        op: usize,
        penalty: u128,
        to: Option<AccountId>,
        memo: &'static str,
    ) -> Result<(u128, u128, Option<u64>), LedgerError> {
        let account = self.operator_account[op];
        let own = self.ledger.stake(account);
        let bonded = own + self.delegated[op];
        let (list, parts, own_part) = if self.delegated[op] == 0 {
            (Vec::new(), Vec::new(), penalty.min(own))
        } else {
            let own_part = mul_div(penalty, own, bonded);
            let list: Vec<usize> = (0..self.delegations.len())
                .filter(|&i| self.delegations[i].operator as usize == op)
                .collect();
            let amounts: Vec<u128> = list.iter().map(|&i| self.delegations[i].amount).collect();
            let (parts, rest) = pro_rata(penalty - own_part, &amounts);
            (list, parts, (own_part + rest).min(own))
        };
        let mut seq = None;
        if own_part > 0 {
            self.ledger.slash(account, own_part, to, memo)?;
            seq = self.ledger.last_seq();
        }
        let mut total = own_part;
        for (&i, part) in list.iter().zip(parts) {
            if part > 0 {
                self.ledger
                    .slash(self.delegations[i].wallet, part, to, memo)?;
                seq = seq.or(self.ledger.last_seq());
                self.delegations[i].amount -= part;
                self.delegated[op] -= part;
                total += part;
            }
        }
        Ok((total, own_part, seq))
    }

    /// The selection weights' effect (each operator's bonded stake), when
    /// selection follows stake and they changed since last sent.
    pub(super) fn send_selection_stake(&mut self, effects: &mut Vec<Effect>) {
        if !self.plan.staking.stake_weighted {
            return;
        }
        let bonded: Vec<u128> = (0..self.operator_account.len())
            .map(|o| self.bonded(o))
            .collect();
        if bonded != self.selection_stake {
            self.selection_stake = bonded.clone();
            effects.push(Effect::SetSelectionStake { bonded });
        }
    }
}

#[cfg(test)]
#[path = "staking_tests.rs"]
mod tests;
