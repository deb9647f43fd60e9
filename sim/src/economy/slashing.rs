//! Punishing offences: slashing stake by policy, jailing, ejection after
//! repeated offences, and suspension below the minimum stake.

use super::plan::{SlashDestination, SlashingRules};
use super::{ChainParams, Economy, OffenceRecord};
use crate::engine::SimTime;
use crate::system::{Effect, Misconduct};
use crate::world::Nodes;
use dmlsim_models::econ::as_tokens;
use dmlsim_models::econ::ledger::AccountId;
use dmlsim_models::econ::ledger::LedgerError;
use dmlsim_models::econ::slashing::Offence;

impl Economy {
    /// The account slashed stake goes to (None: burned).
    fn slash_destination(&self, rules: &SlashingRules) -> Option<AccountId> {
        match rules.destination {
            SlashDestination::Burn => None,
            SlashDestination::Treasury => Some(self.treasury),
        }
    }

    /// Punishes `node`'s operator for an offence: slashes stake by the
    /// policy (burned or to the treasury), jails its nodes, ejects it after
    /// too many offences, and records the offence.
    pub fn punish(
        &mut self,
        t: SimTime,
        round: u32,
        misconduct: &Misconduct,
        nodes: &Nodes,
        params: &ChainParams,
        effects: &mut Vec<Effect>,
    ) -> Result<(), LedgerError> {
        let Misconduct {
            node,
            kind,
            evidence,
        } = *misconduct;
        let Some(rules) = self.plan.slashing.clone() else {
            return Ok(());
        };
        let to = self.slash_destination(&rules);
        let policy = rules.policy_under(params);
        let SlashingRules {
            window,
            jail,
            eject_after,
            ..
        } = rules;
        self.ledger.set_time(t.nanos());
        let op = nodes.operator[node as usize] as usize;
        let account = self.operator_account[op];
        // The stake bonded to the operator, its delegators' included, is
        // slashed in proportion to what each bonds.
        let stake = self.bonded(op);
        self.slash_window
            .retain(|(at, _)| window > SimTime::ZERO && t.saturating_sub(*at) < window);
        let recent: u128 = self.slash_window.iter().map(|x| x.1).sum();
        let total = self.ledger.total_staked();
        let wanted = policy.penalty(kind, stake, recent, total).min(stake);
        let mut ledger_seq = None;
        // The whole penalty, and the operator's own part of it (what its
        // and its node's accounts count; delegators bear the rest).
        let (mut penalty, mut own) = (0, 0);
        if wanted > 0 {
            (penalty, own, ledger_seq) = self.slash_bonded(op, wanted, to, kind.label())?;
            self.slash_window.push((t, penalty));
        }
        self.node_offences[node as usize] += 1;
        self.node_slashed[node as usize] += own;
        let own_usd = as_tokens(own) * self.price_now;
        self.node_slashed_usd[node as usize] += own_usd;
        self.slashed[op] += own;
        self.slashed_usd[op] += own_usd;
        let count: u32 = nodes
            .operator
            .iter()
            .enumerate()
            .filter(|(_, o)| **o as usize == op)
            .map(|(i, _)| self.node_offences[i])
            .sum();
        let ejected = eject_after > 0 && count >= eject_after;
        if ejected && (self.in_network[op] || self.suspended[op]) {
            self.suspended[op] = false;
            if self.in_network[op] {
                self.set_in_network(op, false, effects);
            }
            let rest = self.ledger.stake(account);
            if rest > 0 {
                self.ledger
                    .unstake(account, rest, t.saturating_add(params.unbonding).nanos())?;
            }
        } else {
            if jail > SimTime::ZERO {
                effects.push(Effect::JailOperator {
                    operator: op as u32,
                    until: t.saturating_add(jail),
                });
            }
            // Below the minimum stake an operator may not serve.
            if self.in_network[op] && !self.stake_suffices(op, params) {
                self.suspended[op] = true;
                self.set_in_network(op, false, effects);
            }
        }
        self.offences.push(OffenceRecord {
            t,
            round,
            node,
            operator: op as u32,
            kind,
            evidence,
            penalty,
            ledger_seq,
            ejected,
            validator: None,
        });
        Ok(())
    }

    /// Punishes a validator that approved `node`'s bad update (`bad_approval`).
    pub fn punish_validator(
        &mut self,
        t: SimTime,
        round: u32,
        validator: u32,
        node: u32,
        nodes: &Nodes,
        params: &ChainParams,
    ) -> Result<(), LedgerError> {
        let Some(rules) = self.plan.slashing.clone() else {
            return Ok(());
        };
        let to = self.slash_destination(&rules);
        let policy = rules.policy_under(params);
        let Some(&account) = self.validators.get(validator as usize) else {
            return Ok(());
        };
        self.ledger.set_time(t.nanos());
        let stake = self.ledger.stake(account);
        let penalty = policy
            .penalty(Offence::BadApproval, stake, 0, self.ledger.total_staked())
            .min(stake);
        let mut ledger_seq = None;
        if penalty > 0 {
            self.ledger
                .slash(account, penalty, to, Offence::BadApproval.label())?;
            ledger_seq = self.ledger.last_seq();
        }
        self.offences.push(OffenceRecord {
            t,
            round,
            node,
            operator: nodes.operator[node as usize],
            kind: Offence::BadApproval,
            evidence: "audit: approved an update that an honest re-execution rejects",
            penalty,
            ledger_seq,
            ejected: false,
            validator: Some(validator),
        });
        Ok(())
    }
}
