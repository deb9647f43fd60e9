//! Operator entry and exit rules at each settlement, and top-ups of
//! operators suspended for low stake.

use super::{ChainParams, Economy, membership};
use crate::engine::SimTime;
use crate::system::Effect;
use dmlsim_models::econ::as_tokens;
use dmlsim_models::econ::ledger::LedgerError;

impl Economy {
    /// Exit and entry decisions at an epoch's settlement; returns (joined, left).
    pub(super) fn apply_operator_rules(
        &mut self,
        t: SimTime,
        params: &ChainParams,
        effects: &mut Vec<Effect>,
    ) -> Result<(u32, u32), LedgerError> {
        let epoch_hours = self.epoch_len().as_secs_f64() / 3600.0;
        let price = self.price_now;
        let min_stake = params.min_stake;
        let release = t.saturating_add(params.unbonding).nanos();
        // The mean reward of an operator in the network this epoch is what a
        // newcomer expects to earn.
        let in_network: Vec<usize> = (0..self.in_network.len())
            .filter(|&o| self.in_network[o])
            .collect();
        let mean_reward = if in_network.is_empty() {
            0.0
        } else {
            as_tokens(
                in_network
                    .iter()
                    .map(|&o| self.epoch_reward[o])
                    .sum::<u128>()
                    / in_network.len() as u128,
            )
        };
        let (mut joined, mut left) = (0, 0);
        for o in 0..self.in_network.len() {
            let Some(rule) = &self.plan.operator_rules[o] else {
                continue;
            };
            let profit = self.operator_profit_usd(o);
            // Only the exit window's epochs are kept (memory stays flat over
            // a long run).
            let keep = rule
                .exit_after_unprofitable_epochs
                .map_or(1, |w| w as usize + 1);
            let history = &mut self.profit_history[o];
            history.push_back(profit);
            while history.len() > keep {
                history.pop_front();
            }
            let account = self.operator_account[o];
            if self.in_network[o] {
                let Some(window) = rule.exit_after_unprofitable_epochs else {
                    continue;
                };
                let window = window as usize;
                // Leave when the last `window` epochs, taken together, lost money.
                let losing = history.len() > window && profit < history[history.len() - 1 - window];
                if losing {
                    let stake = self.ledger.stake(account);
                    if stake > 0 {
                        self.ledger.unstake(account, stake, release)?;
                    }
                    self.in_network[o] = false;
                    effects.push(membership(o, false));
                    left += 1;
                }
            } else if self.suspended[o] {
                // Back only by topping up its stake (after the rules).
            } else if let Some(entry) = &rule.entry {
                let expected = (mean_reward * price
                    - self.plan.amortization_usd_per_hour[o] * epoch_hours)
                    * f64::from(entry.horizon_epochs);
                if expected >= entry.min_profit_usd && self.ledger.balance(account) >= min_stake {
                    self.ledger.stake_tokens(account, min_stake)?;
                    self.in_network[o] = true;
                    effects.push(membership(o, true));
                    joined += 1;
                }
            }
        }
        Ok((joined, left))
    }

    /// Suspended operators whose balance covers the missing stake top it up
    /// and rejoin the network; returns how many did.
    pub(super) fn top_up_suspended(
        &mut self,
        params: &ChainParams,
        effects: &mut Vec<Effect>,
    ) -> Result<u32, LedgerError> {
        let min_stake = params.min_stake;
        let mut rejoined = 0;
        for o in 0..self.suspended.len() {
            if !self.suspended[o] {
                continue;
            }
            let account = self.operator_account[o];
            let missing = min_stake.saturating_sub(self.bonded(o)).max(
                params
                    .min_self_stake
                    .saturating_sub(self.ledger.stake(account)),
            );
            if self.ledger.balance(account) >= missing {
                if missing > 0 {
                    self.ledger.stake_tokens(account, missing)?;
                }
                self.suspended[o] = false;
                self.set_in_network(o, true, effects);
                rejoined += 1;
            }
        }
        Ok(rejoined)
    }
}
