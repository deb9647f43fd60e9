//! Epoch settlement: emission, the pool's payout by work, data and
//! validation, and the epoch record with its concentration metrics.

use super::records::{OperatorEpochRecord, ProfitQuantiles, RewardConcentration};
use super::{ChainParams, Economy, EpochRecord};
use crate::engine::SimTime;
use crate::system::Effect;
use crate::world::Nodes;
use dmlsim_models::econ::as_tokens;
use dmlsim_models::econ::ledger::{EntryKind, LedgerError};
use dmlsim_models::econ::metrics::{Sorted, quantiles};
use dmlsim_models::econ::split::pro_rata;

impl Economy {
    /// Pays the delegators their part of the epoch's rewards; an
    /// operator's epoch reward, earnings and revenue are what it keeps,
    /// and each of its nodes' earnings shrink in the same proportion
    /// (`node_epoch`: each node's rewards this epoch).
    fn pass_to_delegators(
        &mut self,
        nodes: &Nodes,
        node_epoch: &[u128],
    ) -> Result<(), LedgerError> {
        let passed = self.pay_delegators()?;
        let price = self.price_now;
        let gross = self.epoch_reward.clone();
        for (op, &p) in passed.iter().enumerate() {
            if p > 0 {
                self.epoch_reward[op] -= p;
                self.earned[op] -= p;
                self.revenue_usd[op] -= as_tokens(p) * price;
            }
        }
        for (node, &e) in node_epoch.iter().enumerate() {
            let op = nodes.operator[node] as usize;
            if e > 0 && passed[op] > 0 {
                let cut = dmlsim_models::econ::split::mul_div(e, passed[op], gross[op]);
                self.node_earned[node] -= cut;
                self.node_revenue_usd[node] -= as_tokens(cut) * price;
            }
        }
        Ok(())
    }

    /// Pays `share` pro rata by per-node `weights`, each node's part to
    /// its operator (one entry per operator, memo `memo`); returns what
    /// was paid (the rest stays in the pool, for the treasury).
    fn pay_by_node(
        &mut self,
        share: u128,
        weights: &[u128],
        memo: &'static str,
        nodes: &Nodes,
        node_epoch: &mut [u128],
    ) -> Result<u128, LedgerError> {
        let price = self.price_now;
        let (parts, _) = pro_rata(share, weights);
        let mut per_operator = vec![0u128; self.operator_account.len()];
        for (node, p) in parts.into_iter().enumerate() {
            if p > 0 {
                per_operator[nodes.operator[node] as usize] += p;
                self.node_earned[node] += p;
                self.node_revenue_usd[node] += as_tokens(p) * price;
                if let Some(e) = node_epoch.get_mut(node) {
                    *e += p;
                }
            }
        }
        let mut total = 0;
        for (op, p) in per_operator.into_iter().enumerate() {
            if p > 0 {
                self.ledger.transfer(
                    EntryKind::Reward,
                    self.pool,
                    self.operator_account[op],
                    p,
                    memo,
                )?;
                self.earned[op] += p;
                self.epoch_reward[op] += p;
                self.revenue_usd[op] += as_tokens(p) * price;
                total += p;
            }
        }
        Ok(total)
    }

    /// Pays the data share to the data providers pro rata by their sales
    /// in the epoch (memo `data`), and starts the next epoch's count;
    /// returns what was paid.
    fn pay_data_providers(
        &mut self,
        share: u128,
        d: &mut super::data::DataRewards,
    ) -> Result<u128, LedgerError> {
        let (parts, _) = pro_rata(share, &d.sold);
        let mut total = 0;
        for (i, p) in parts.into_iter().enumerate() {
            if p > 0 {
                self.ledger
                    .transfer(EntryKind::Reward, self.pool, d.providers[i], p, "data")?;
                d.rewarded[i] += p;
                total += p;
            }
        }
        d.sold.iter_mut().for_each(|s| *s = 0);
        Ok(total)
    }

    /// Mints the epoch's emission and pays the pool out; records the epoch.
    pub fn settle_epoch(
        &mut self,
        t: SimTime,
        nodes: &Nodes,
        params: &ChainParams,
        effects: &mut Vec<Effect>,
    ) -> Result<(), LedgerError> {
        self.ledger.set_time(t.nanos());
        self.release_vested(t)?;
        self.refresh_price(t);
        self.amortize(t, nodes);
        self.epoch_reward.iter_mut().for_each(|r| *r = 0);
        let emission = dmlsim_models::econ::split::mul_div(
            self.plan.curve.emission(self.epoch),
            params.emission_ppm,
            dmlsim_models::econ::split::PPM,
        );
        if emission > 0 {
            self.ledger.mint(self.pool, emission, "emission")?;
        }
        // Attribute the emission to the epoch's rounds by their work.
        let epoch_rounds = &mut self.rounds[self.unsettled..];
        let weights: Vec<u128> = epoch_rounds
            .iter()
            .map(|r| r.flops.max(0.0) as u128)
            .collect();
        let (parts, _) = pro_rata(emission, &weights);
        for (r, p) in epoch_rounds.iter_mut().zip(parts) {
            r.emission = p;
        }
        let pool = self.ledger.balance(self.pool);
        let sp = &params.split;
        let (shares, _) = pro_rata(
            pool,
            &[
                sp.compute_ppm,
                sp.data_ppm,
                sp.storage_ppm,
                sp.relay_ppm,
                sp.validators_ppm,
                sp.treasury_ppm,
            ],
        );
        // An operator slashed below the minimum stake (suspended) forfeits
        // the epoch's rewards; one that left in good standing is paid for
        // its last work.
        let suspended = self.suspended.clone();
        let paid = |w: &[u128]| -> Vec<u128> {
            w.iter()
                .zip(&nodes.operator)
                .map(|(&w, &o)| if suspended[o as usize] { 0 } else { w })
                .collect()
        };
        // Each node's rewards this epoch, kept only when delegators take a
        // part of them (see below).
        let mut node_epoch = vec![
            0u128;
            if self.delegations.is_empty() {
                0
            } else {
                nodes.len()
            }
        ];
        let compute = paid(&self.flops);
        match self.data.take() {
            // With a data market the data share pays the providers by their
            // sales; hosts earn storage and relay by bytes.
            Some(mut d) => {
                let data = self.pay_data_providers(shares[1], &mut d)?;
                self.pay_by_node(shares[0], &compute, "compute", nodes, &mut node_epoch)?;
                let storage = self.pay_by_node(
                    shares[2],
                    &paid(&d.hosted),
                    "storage",
                    nodes,
                    &mut node_epoch,
                )?;
                let relay =
                    self.pay_by_node(shares[3], &paid(&d.served), "relay", nodes, &mut node_epoch)?;
                d.served.fill(0);
                d.last_paid = [data, storage, relay];
                self.data = Some(d);
            }
            // Without one nothing is hosted: the storage and relay shares
            // stay in the pool, for the treasury.
            None => {
                self.pay_by_node(shares[0], &compute, "compute", nodes, &mut node_epoch)?;
                let data = paid(&self.samples);
                self.pay_by_node(shares[1], &data, "data", nodes, &mut node_epoch)?;
            }
        }
        // Validators share their part equally; without validators it goes to
        // the treasury, with the treasury's share and every rounding remainder.
        let mut protocol_rewards = Vec::new();
        if !self.validators.is_empty() {
            let (parts, _) = pro_rata(shares[4], &vec![1; self.validators.len()]);
            for (&v, p) in self.validators.iter().zip(parts) {
                if p > 0 {
                    self.ledger
                        .transfer(EntryKind::Reward, self.pool, v, p, "validation")?;
                }
                protocol_rewards.push(p);
            }
        }
        let rest = self.ledger.balance(self.pool);
        protocol_rewards.push(rest);
        if rest > 0 {
            self.ledger.transfer(
                EntryKind::Reward,
                self.pool,
                self.treasury,
                rest,
                "treasury",
            )?;
        }
        self.pass_to_delegators(nodes, &node_epoch)?;
        let mut contributed = vec![false; self.operator_account.len()];
        for (node, &f) in self.flops.iter().enumerate() {
            if f > 0 {
                contributed[nodes.operator[node] as usize] = true;
            }
        }
        let active = contributed.iter().filter(|&&c| c).count() as u32;
        // Who took part in the epoch: in the network before this
        // settlement's entries and exits, or paid for earlier work.
        // (Also an operator slashed out during the epoch: its losses count.)
        let took_part: Vec<bool> = (0..self.operator_account.len())
            .map(|o| {
                self.in_network_at_epoch_start[o] || self.in_network[o] || self.epoch_reward[o] > 0
            })
            .collect();
        let (mut joined, left) = self.apply_operator_rules(t, params, effects)?;
        joined += self.top_up_suspended(params, effects)?;
        self.restake_rewards()?;
        self.redelegate();
        self.send_selection_stake(effects);
        if self.operators_in_network() == 0 {
            self.empty_since.get_or_insert(t);
        } else {
            self.empty_since = None;
        }
        let unbonding = self.ledger.unbonding_by_account();
        let holdings: Vec<u128> = self
            .holders
            .iter()
            .chain(self.operator_account.iter())
            .map(|&a| self.ledger.balance(a) + self.ledger.stake(a) + unbonding[a as usize])
            .collect();
        // Operators' holdings are kept sorted from epoch to epoch (updated
        // where they changed) and rewards sorted once; the few holder and
        // protocol amounts are merged in for the wider metrics.
        let (holders, operators) = holdings.split_at(self.holders.len());
        self.operators_sorted
            .update(&self.operator_holdings, operators);
        self.operator_holdings.clear();
        self.operator_holdings.extend_from_slice(operators);
        let c = self
            .operators_sorted
            .merged(holders, &[holders, operators])
            .concentration();
        let operators_holdings = self.operators_sorted.concentration();
        let rewards: Vec<u128> = (0..self.operator_account.len())
            .filter(|&o| took_part[o])
            .map(|o| self.epoch_reward[o])
            .collect();
        let rewards_sorted = Sorted::new(&rewards);
        let reward_gini_with_protocol = rewards_sorted
            .merged(&protocol_rewards, &[&rewards, &protocol_rewards])
            .concentration()
            .gini;
        let reward_concentration = RewardConcentration {
            c: rewards_sorted.concentration(),
            top1_share: rewards_sorted.top_share(1),
            top3_share: rewards_sorted.top_share(3),
            top10_share: rewards_sorted.top_share(10),
        };
        let mut profitable = 0u32;
        for (o, _) in took_part.iter().enumerate().filter(|(_, t)| **t) {
            let now = [self.revenue_usd[o], self.cost_usd[o], self.slashed_usd[o]];
            let before = self.at_last_epoch[o];
            let row = OperatorEpochRecord {
                epoch: self.epoch,
                operator: o as u32,
                reward: self.epoch_reward[o],
                revenue_usd: now[0] - before[0],
                cost_usd: now[1] - before[1],
                slashed_usd: now[2] - before[2],
                in_network: self.in_network[o],
            };
            if row.profit_usd() > 0.0 {
                profitable += 1;
            }
            self.operator_epochs.push(row);
        }
        for o in 0..self.operator_account.len() {
            self.at_last_epoch[o] = [self.revenue_usd[o], self.cost_usd[o], self.slashed_usd[o]];
        }
        let participating = took_part.iter().filter(|&&t| t).count() as u32;
        self.in_network_at_epoch_start = self.in_network.clone();
        self.operator_epoch_counts.0 += u64::from(profitable);
        self.operator_epoch_counts.1 += u64::from(participating);
        let mut profit: Vec<f64> = (0..self.operator_account.len())
            .map(|o| self.operator_profit_usd(o))
            .collect();
        let [p10, p50, p90] = quantiles(&mut profit, [0.1, 0.5, 0.9]);
        self.epochs.push(EpochRecord {
            epoch: self.epoch,
            t,
            supply: self.ledger.supply(),
            minted: self.ledger.minted(),
            burned: self.ledger.burned(),
            staked: self.ledger.total_staked(),
            emission,
            fees: self.epoch_fees,
            treasury: self.ledger.balance(self.treasury),
            price_usd: self.price_now,
            gini: c.gini,
            nakamoto_33: c.nakamoto_33,
            nakamoto_51: c.nakamoto_51,
            hhi: c.hhi,
            active_operators: active,
            operators_in_network: self.operators_in_network(),
            joined,
            left,
            operator_profit_usd: ProfitQuantiles { p10, p50, p90 },
            operators_holdings,
            rewards: reward_concentration,
            reward_gini_with_protocol,
            operators_profitable: profitable,
            operators_participating: participating,
        });
        self.protocol_rewards = protocol_rewards;
        self.epoch += 1;
        self.flops.iter_mut().for_each(|f| *f = 0);
        self.samples.iter_mut().for_each(|f| *f = 0);
        self.epoch_fees = 0;
        self.unsettled = self.rounds.len();
        // Trades with the token pool (when one sets the price) move the
        // price the next epoch starts at.
        self.trade_amm()
    }
}
