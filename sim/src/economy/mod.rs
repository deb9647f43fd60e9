//! The token economy of a run: genesis, fees when rounds close, emission and
//! reward payout every epoch, token price, operators' USD revenue and costs,
//! slashing and operator entry and exit, and the cloud baseline. The chain
//! subsystem (`crate::chain`) drives it; the ledger itself is
//! `dmlsim_models::econ::ledger`.
//!
//! - [`records`]: what it reports (rounds, epochs, offences);
//! - `round`: a closed round's fees, costs and cloud price;
//! - `epoch`: emission, payouts and the epoch record;
//! - `slashing`: punishing offences (slash, jail, eject, suspend);
//! - `operators`: entry and exit rules, top-ups after suspension;
//! - `staking`: delegation, restaking and the stake selection follows;
//! - [`plan`]: its runtime parameters, lowered from the scenario by `crate::lower`.

pub mod data;
mod epoch;
mod operators;
pub mod plan;
pub mod records;
mod round;
mod slashing;
mod staking;

pub use plan::{ChainParams, EconomyPlan};
pub use records::{
    EpochRecord, OffenceRecord, OperatorEpochRecord, ProfitQuantiles, RewardConcentration,
    RoundEconomics,
};
pub use staking::DelegationView;

use crate::engine::SimTime;
use crate::system::Effect;
use crate::world::Nodes;
use dmlsim_models::econ::ledger::{AccountId, EntryKind, Ledger, LedgerError};
use dmlsim_models::econ::metrics::Sorted;
use dmlsim_models::econ::price::PricePath;

/// The economy's state.
pub struct Economy {
    plan: EconomyPlan,
    /// The ledger.
    pub ledger: Ledger,
    treasury: AccountId,
    pool: AccountId,
    job_owner: AccountId,
    /// Account of each operator.
    pub operator_account: Vec<AccountId>,
    /// Genesis wallets, group by group (see `plan.genesis.holders`).
    pub holders: Vec<AccountId>,
    /// Genesis groups whose tokens vest, with what each wallet has received.
    vesting: Vec<VestingGroup>,
    epoch: u64,
    /// Claimed work per node this epoch, FLOPs.
    flops: Vec<u128>,
    /// Examples used per node this epoch.
    samples: Vec<u128>,
    /// Per node: tokens earned, USD revenue and USD costs.
    pub node_earned: Vec<u128>,
    /// Per node: USD revenue (its rewards × price at payout).
    pub node_revenue_usd: Vec<f64>,
    /// Per node: USD costs (electricity, bandwidth, its share of amortization).
    pub node_cost_usd: Vec<f64>,
    /// Per node: offences and tokens slashed.
    pub node_offences: Vec<u32>,
    /// Per node: tokens slashed from its operator's stake for its offences.
    pub node_slashed: Vec<u128>,
    /// Per node: its slashed tokens valued at the price when slashed, USD.
    node_slashed_usd: Vec<f64>,
    /// Per operator: stake slashed for its nodes' offences, base units.
    pub slashed: Vec<u128>,
    /// Per operator: slashed stake valued at the price when slashed, USD.
    pub slashed_usd: Vec<f64>,
    /// Every detected offence, in order.
    pub offences: Vec<OffenceRecord>,
    /// Validator accounts.
    pub validators: Vec<AccountId>,
    slash_window: Vec<(SimTime, u128)>,
    node_share: Vec<f64>,
    epoch_fees: u128,
    /// Index in `rounds` of the first round of the open epoch (rounds
    /// before it are settled: their emission share is final).
    unsettled: usize,
    price: PricePath,
    price_now: f64,
    /// Per operator: USD revenue (rewards × price at payout).
    pub revenue_usd: Vec<f64>,
    /// Per operator: USD costs (electricity, bandwidth, amortization).
    pub cost_usd: Vec<f64>,
    /// Per operator: tokens earned, base units.
    pub earned: Vec<u128>,
    last_amortized: SimTime,
    /// Per round, in round order (settled rounds may have been taken out).
    pub rounds: Vec<RoundEconomics>,
    /// Settled epochs.
    pub epochs: Vec<EpochRecord>,
    /// Fees the job owner could not pay, base units.
    pub unpaid_fees: u128,
    /// Hash of the latest aggregated model (recorded in the next block).
    pub model_hash: [u8; 32],
    /// Each operator's cumulative USD profit at its last settled epochs (as
    /// many as its exit window needs).
    profit_history: Vec<std::collections::VecDeque<f64>>,
    epoch_reward: Vec<u128>,
    /// The last epoch's rewards to each validator, then to the treasury.
    protocol_rewards: Vec<u128>,
    /// Whether each operator is in the network (staked and not ejected);
    /// the world learns of changes through effects.
    in_network: Vec<bool>,
    /// Operators out of the network because slashing left their stake below
    /// the minimum: neither selected nor paid until they top up.
    suspended: Vec<bool>,
    /// Since when no operator has been in the network (None while some are).
    empty_since: Option<SimTime>,
    /// Per operator: cumulative revenue, costs and slashes (USD) at the
    /// last settlement, to take each epoch's part.
    at_last_epoch: Vec<[f64; 3]>,
    /// Whether each operator was in the network after the last settlement
    /// (at genesis: its entry state): it takes part in the next epoch even
    /// if slashed out of the network during it.
    pub(super) in_network_at_epoch_start: Vec<bool>,
    /// Operators' holdings at the last settlement, sorted in
    /// `operators_sorted`: each epoch updates the sorted set where
    /// holdings changed instead of sorting all operators again.
    pub(super) operator_holdings: Vec<u128>,
    /// `operator_holdings` sorted, for the concentration metrics.
    pub(super) operators_sorted: Sorted,
    /// Operator-epoch rows not yet written (taken by the run loop).
    pub operator_epochs: Vec<OperatorEpochRecord>,
    /// Operator-epochs with a profitable operator, and all operator-epochs.
    pub operator_epoch_counts: (u64, u64),
    /// Genesis wallets' stake bonded to operators.
    delegations: Vec<staking::Delegation>,
    /// Per operator: the delegated stake bonded to it, base units.
    delegated: Vec<u128>,
    /// Per operator: the bonded stake selection was last told of.
    selection_stake: Vec<u128>,
    /// Per operator: its nodes.
    operator_nodes: Vec<u32>,
    /// The last settlement's payments to delegating wallets.
    delegator_rewards: Vec<(AccountId, u128)>,
    /// The token/USD pool that sets the price, with its ledger account and
    /// the account of the outside buyers.
    amm: Option<Amm>,
    /// Dataset sales and the bytes nodes host and serve, with a data market.
    data: Option<data::DataRewards>,
}

/// The pool that sets the price and its accounts.
#[derive(Clone, Debug)]
struct Amm {
    pool: dmlsim_models::econ::amm::Pool,
    account: AccountId,
    buyers: AccountId,
}

/// A genesis group's tokens locked in escrow and released on a schedule.
#[derive(Clone, Debug)]
struct VestingGroup {
    escrow: AccountId,
    schedule: plan::Vesting,
    wallets: Vec<Locked>,
}

/// One wallet's locked tokens.
#[derive(Clone, Debug)]
struct Locked {
    wallet: AccountId,
    total: u128,
    released: u128,
}

/// The effect of an operator entering or leaving the network.
fn membership(op: usize, active: bool) -> Effect {
    Effect::SetOperatorActive {
        operator: op as u32,
        active,
    }
}

impl Economy {
    /// Opens the accounts and mints the genesis distribution (not yet
    /// sealed); operators that must pass an entry test start outside the
    /// network (an effect each).
    pub fn new(
        plan: EconomyPlan,
        params: &ChainParams,
        nodes: &Nodes,
        effects: &mut Vec<Effect>,
    ) -> Result<Economy, LedgerError> {
        let mut ledger = Ledger::new();
        let treasury = ledger.open("treasury");
        let pool = ledger.open("reward-pool");
        let job_owner = ledger.open("job-owner");
        let mut holders = Vec::new();
        let mut vesting = Vec::new();
        for group in &plan.genesis.holders {
            let mut locked = Vec::new();
            for (w, tokens) in group.wallet_tokens().into_iter().enumerate() {
                let a = ledger.open(group.member_name(w as u32, group.wallets));
                if group.vesting.is_some() {
                    locked.push(Locked {
                        wallet: a,
                        total: tokens,
                        released: 0,
                    });
                } else {
                    ledger.mint(a, tokens, "genesis")?;
                }
                holders.push(a);
            }
            if let Some(schedule) = group.vesting {
                // Locked in an escrow account of the group's until released.
                let escrow = ledger.open(group.escrow_name());
                ledger.mint(escrow, group.tokens, "genesis")?;
                vesting.push(VestingGroup {
                    escrow,
                    schedule,
                    wallets: locked,
                });
            }
        }
        ledger.mint(job_owner, plan.genesis.job_owner, "genesis")?;
        let ops = nodes.operators as usize;
        let mut operator_account = Vec::with_capacity(ops);
        let mut in_network = vec![true; ops];
        for (o, rule) in plan.operator_rules.iter().enumerate() {
            let a = ledger.open(format!("operator-{o}"));
            ledger.mint(a, plan.genesis.per_operator, "genesis")?;
            if rule.as_ref().is_some_and(|r| r.entry.is_some()) {
                // Outside the network until its entry test passes.
                in_network[o] = false;
                effects.push(membership(o, false));
            } else {
                ledger.stake_tokens(a, params.min_stake)?;
            }
            operator_account.push(a);
        }
        let n = nodes.len();
        // Each node carries an equal share of its operator's hardware.
        let mut per_op = vec![0u32; ops];
        for &o in &nodes.operator {
            per_op[o as usize] += 1;
        }
        let node_share: Vec<f64> = nodes
            .operator
            .iter()
            .map(|&o| 1.0 / f64::from(per_op[o as usize].max(1)))
            .collect();
        let mut validators = Vec::new();
        if let Some(v) = &plan.validators {
            for i in 0..v.count {
                let a = ledger.open(format!("validator-{i}"));
                ledger.mint(a, v.stake, "genesis")?;
                ledger.stake_tokens(a, v.stake)?;
                validators.push(a);
            }
        }
        let mut price = PricePath::new(plan.price.clone());
        let mut price_now = price.at(0.0);
        let amm = match &plan.amm {
            Some(a) => {
                let account = ledger.open("amm-pool");
                ledger.mint(account, a.pool_tokens, "genesis")?;
                let buyers = ledger.open("amm-buyers");
                let usd = dmlsim_models::econ::as_tokens(a.pool_tokens) * a.initial_usd;
                let pool = dmlsim_models::econ::amm::Pool::new(a.pool_tokens, usd, a.fee_ppm);
                price_now = pool.spot_price();
                Some(Amm {
                    pool,
                    account,
                    buyers,
                })
            }
            None => None,
        };
        let mut economy = Economy {
            ledger,
            treasury,
            pool,
            job_owner,
            operator_account,
            holders,
            vesting,
            epoch: 0,
            flops: vec![0; n],
            samples: vec![0; n],
            node_earned: vec![0; n],
            node_revenue_usd: vec![0.0; n],
            node_cost_usd: vec![0.0; n],
            node_offences: vec![0; n],
            node_slashed: vec![0; n],
            node_slashed_usd: vec![0.0; n],
            slashed: vec![0; ops],
            slashed_usd: vec![0.0; ops],
            offences: Vec::new(),
            validators,
            slash_window: Vec::new(),
            node_share,
            epoch_fees: 0,
            unsettled: 0,
            price,
            price_now,
            revenue_usd: vec![0.0; ops],
            cost_usd: vec![0.0; ops],
            earned: vec![0; ops],
            last_amortized: SimTime::ZERO,
            rounds: Vec::new(),
            epochs: Vec::new(),
            unpaid_fees: 0,
            model_hash: [0; 32],
            profit_history: vec![std::collections::VecDeque::new(); ops],
            epoch_reward: vec![0; ops],
            protocol_rewards: Vec::new(),
            in_network: in_network.clone(),
            suspended: vec![false; ops],
            empty_since: None,
            at_last_epoch: vec![[0.0; 3]; ops],
            in_network_at_epoch_start: in_network,
            operator_holdings: Vec::new(),
            operators_sorted: Sorted::default(),
            operator_epochs: Vec::new(),
            operator_epoch_counts: (0, 0),
            delegations: Vec::new(),
            delegated: vec![0; ops],
            selection_stake: Vec::new(),
            operator_nodes: per_op,
            delegator_rewards: Vec::new(),
            amm,
            data: None,
            plan,
        };
        economy.delegate_at_genesis()?;
        economy.send_selection_stake(effects);
        Ok(economy)
    }

    /// The plan the economy was built from.
    pub fn plan(&self) -> &EconomyPlan {
        &self.plan
    }

    /// The treasury's account.
    pub fn treasury(&self) -> AccountId {
        self.treasury
    }

    /// Each operator's rewards in the last settled epoch, base units.
    pub fn last_epoch_rewards(&self) -> &[u128] {
        &self.epoch_reward
    }

    /// The last epoch's rewards to each validator, then to the treasury
    /// (its share and every rounding remainder), base units.
    pub fn last_epoch_protocol_rewards(&self) -> &[u128] {
        &self.protocol_rewards
    }

    /// The emission the curve gives the next epoch settlement, base units
    /// (before the emission scale of [`ChainParams`]).
    pub fn next_emission(&self) -> u128 {
        self.plan.curve.emission(self.epoch)
    }

    /// Releases what has vested by `t` from each escrow to its wallets
    /// (an entry per wallet that receives anything).
    fn release_vested(&mut self, t: SimTime) -> Result<(), LedgerError> {
        for g in &mut self.vesting {
            for w in &mut g.wallets {
                let due = g.schedule.vested(w.total, t) - w.released;
                if due > 0 {
                    self.ledger.transfer(
                        dmlsim_models::econ::ledger::EntryKind::Transfer,
                        g.escrow,
                        w.wallet,
                        due,
                        "vesting",
                    )?;
                    w.released += due;
                }
            }
        }
        Ok(())
    }

    /// Pays `amount` out of the treasury to `to` (a governance decision),
    /// at the ledger's current time; refused, changing nothing, when the
    /// treasury holds less.
    pub fn spend_treasury(&mut self, to: AccountId, amount: u128) -> Result<(), String> {
        let held = self.ledger.balance(self.treasury);
        if held < amount {
            return Err(format!(
                "the treasury held {} tokens",
                dmlsim_models::econ::as_tokens(held)
            ));
        }
        self.ledger
            .transfer(
                dmlsim_models::econ::ledger::EntryKind::Transfer,
                self.treasury,
                to,
                amount,
                "treasury spend",
            )
            .map_err(|e| e.to_string())
    }

    /// The latest token price, USD.
    pub fn price_now(&self) -> f64 {
        self.price_now
    }

    /// Time between blocks.
    pub fn block_time(&self) -> SimTime {
        self.plan.block_time
    }

    /// Length of an epoch.
    pub fn epoch_len(&self) -> SimTime {
        self.plan.epoch
    }

    /// The token price at `t`, USD (also the price the economy uses next).
    pub fn price_at(&mut self, t: SimTime) -> f64 {
        self.refresh_price(t);
        self.price_now
    }

    /// Books work a provider sold on the market: the tokens its operator
    /// was paid (already moved on the ledger) as earnings and USD revenue
    /// at the current price, and the electricity of `done_flops` on `node`
    /// as a cost, like the protocol job's work.
    pub fn book_market_work(&mut self, node: u32, paid: u128, done_flops: f64, nodes: &Nodes) {
        let i = node as usize;
        let op = nodes.operator[i] as usize;
        let usd = dmlsim_models::econ::as_tokens(paid) * self.price_now;
        self.earned[op] += paid;
        self.node_earned[i] += paid;
        self.revenue_usd[op] += usd;
        self.node_revenue_usd[i] += usd;
        let cost = self.electricity_usd(node, done_flops, nodes);
        self.cost_usd[op] += cost;
        self.node_cost_usd[i] += cost;
    }

    /// Electricity of `flops` of work on `node`: its GPU's watts for the
    /// time the work takes, at its region's price, USD.
    pub(super) fn electricity_usd(&self, node: u32, flops: f64, nodes: &Nodes) -> f64 {
        let i = node as usize;
        let secs = flops / nodes.effective_flops(node).max(1e-9);
        let kwh = nodes.gpu_watts[i] * secs / 3.6e6;
        kwh * self.plan.region_usd_per_kwh[nodes.region[i] as usize]
    }

    /// Slashes `ppm` parts per million of `account`'s stake to the
    /// treasury at `now` (a market party's offence, memo `memo`); returns
    /// the penalty and its `slash` entry's sequence number (None when
    /// there was no stake to take).
    pub fn slash_share_to_treasury(
        &mut self,
        account: AccountId,
        ppm: u128,
        now: SimTime,
        memo: &'static str,
    ) -> Result<(u128, Option<u64>), LedgerError> {
        let penalty = self.ledger.stake(account) * ppm / dmlsim_models::econ::split::PPM;
        if penalty == 0 {
            return Ok((0, None));
        }
        self.ledger.set_time(now.nanos());
        self.ledger
            .slash(account, penalty, Some(self.treasury), memo)?;
        Ok((penalty, self.ledger.last_seq()))
    }

    /// Books the bandwidth cost of `bytes` a node moved for a market job.
    pub fn book_market_traffic(&mut self, node: u32, bytes: u64, nodes: &Nodes) {
        let usd = bytes as f64 / 1e9 * self.plan.bandwidth_usd_per_gb;
        self.cost_usd[nodes.operator[node as usize] as usize] += usd;
        self.node_cost_usd[node as usize] += usd;
    }

    fn refresh_price(&mut self, t: SimTime) {
        self.price_now = match &self.amm {
            Some(a) => a.pool.spot_price(),
            None => self.price.at(t.as_secs_f64()),
        };
    }

    /// Whether a pool sets the token price.
    pub fn has_amm(&self) -> bool {
        self.amm.is_some()
    }

    /// Buys exactly `tokens` from the pool for `to` (the ledger moves them
    /// from the pool's account); returns the USD paid.
    pub fn buy_from_amm(&mut self, to: AccountId, tokens: u128) -> Result<f64, String> {
        let amm = self.amm.as_mut().ok_or("no pool sets the price")?;
        let usd = amm.pool.buy_exact(tokens).map_err(|e| {
            format!(
                "the token pool refused a purchase of {} tokens: {e:?}",
                dmlsim_models::econ::as_tokens(tokens)
            )
        })?;
        self.ledger
            .transfer(EntryKind::Transfer, amm.account, to, tokens, "amm buy")
            .map_err(|e| e.to_string())?;
        self.price_now = amm.pool.spot_price();
        Ok(usd)
    }

    /// The epoch's trades with the pool: every operator sells its share of
    /// the epoch's rewards (what its balance holds of it), then the outside
    /// buyers spend their USD. The price follows the pool.
    pub(super) fn trade_amm(&mut self) -> Result<(), LedgerError> {
        let Some(amm) = self.amm.as_mut() else {
            return Ok(());
        };
        let sell_ppm = self.plan.amm.as_ref().map_or(0, |a| a.sell_ppm);
        for (op, &reward) in self.epoch_reward.iter().enumerate() {
            let account = self.operator_account[op];
            let amount = (reward * sell_ppm / dmlsim_models::econ::split::PPM)
                .min(self.ledger.balance(account));
            if amount == 0 {
                continue;
            }
            if amm.pool.sell_tokens(amount).is_ok() {
                self.ledger.transfer(
                    EntryKind::Transfer,
                    account,
                    amm.account,
                    amount,
                    "amm sell",
                )?;
            }
        }
        let usd = self.plan.amm.as_ref().map_or(0.0, |a| a.exogenous_usd);
        if usd > 0.0
            && let Ok(tokens) = amm.pool.buy_tokens(usd)
            && tokens > 0
        {
            self.ledger.transfer(
                EntryKind::Transfer,
                amm.account,
                amm.buyers,
                tokens,
                "amm buy",
            )?;
        }
        self.price_now = amm.pool.spot_price();
        Ok(())
    }

    /// An operator's cumulative profit, the one definition every table
    /// uses: USD revenue (rewards × the price when paid) − USD costs
    /// (electricity, bandwidth, amortization) − slashed stake × the price
    /// when slashed.
    pub fn operator_profit_usd(&self, op: usize) -> f64 {
        self.revenue_usd[op] - self.cost_usd[op] - self.slashed_usd[op]
    }

    /// A node's share of its operator's profit, by the same definition:
    /// its rewards, its costs and the stake slashed for its offences.
    pub fn node_profit_usd(&self, node: usize) -> f64 {
        self.node_revenue_usd[node] - self.node_cost_usd[node] - self.node_slashed_usd[node]
    }

    /// Since when no operator has been in the network, as of the last
    /// settlement (None while some are).
    pub fn empty_since(&self) -> Option<SimTime> {
        self.empty_since
    }

    /// Whether an operator outside the network may still come back: one
    /// suspended for low stake may top up, one with an entry rule may join.
    pub fn may_recover(&self) -> bool {
        (0..self.in_network.len()).any(|o| {
            !self.in_network[o]
                && (self.suspended[o]
                    || self.plan.operator_rules[o]
                        .as_ref()
                        .is_some_and(|r| r.entry.is_some()))
        })
    }

    /// Takes the rounds whose epoch has settled (their rows are final), so
    /// a long run can stream them out.
    pub fn take_settled_rounds(&mut self) -> Vec<RoundEconomics> {
        let settled = self.rounds.drain(..self.unsettled).collect();
        self.unsettled = 0;
        settled
    }

    /// Operators in the network now.
    pub fn operators_in_network(&self) -> u32 {
        self.in_network.iter().filter(|&&a| a).count() as u32
    }

    fn set_in_network(&mut self, op: usize, active: bool, effects: &mut Vec<Effect>) {
        self.in_network[op] = active;
        effects.push(membership(op, active));
    }

    /// Hardware depreciates while its operator is in the network.
    fn amortize(&mut self, t: SimTime, nodes: &Nodes) {
        let hours = t.saturating_sub(self.last_amortized).as_secs_f64() / 3600.0;
        for (o, (c, per_hour)) in self
            .cost_usd
            .iter_mut()
            .zip(&self.plan.amortization_usd_per_hour)
            .enumerate()
        {
            if self.in_network[o] {
                *c += per_hour * hours;
            }
        }
        for (i, &o) in nodes.operator.iter().enumerate() {
            if self.in_network[o as usize] {
                self.node_cost_usd[i] +=
                    self.plan.amortization_usd_per_hour[o as usize] * self.node_share[i] * hours;
            }
        }
        self.last_amortized = t;
    }
}
