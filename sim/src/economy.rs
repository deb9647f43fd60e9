//! The token economy of a run, driven by the federation's events: genesis,
//! fees when rounds close, blocks every `block_time`, emission and reward
//! payout every epoch, token price, operators' USD revenue and costs, and
//! the cloud baseline. The ledger itself is `dmlsim_models::econ::ledger`.

use crate::engine::SimTime;
use crate::engine::rng::stream_key;
use crate::scenario::{
    EconomicsSpec, EmissionSpec, PriceSpec, Scenario, SlashDestination, SlashingSpec,
};
use crate::system::{Contribution, Effect, Misconduct, RoundClosed};
use crate::world::Nodes;
use dmlsim_models::econ::emission::Curve;
use dmlsim_models::econ::ledger::{AccountId, EntryKind, Ledger, LedgerError};
use dmlsim_models::econ::metrics::concentration;
use dmlsim_models::econ::price::{PriceModel, PricePath};
use dmlsim_models::econ::slashing::{Offence, Policy};
use dmlsim_models::econ::split::{PPM, pro_rata};
use dmlsim_models::econ::{TOKEN, as_tokens, tokens};

/// What the economy reports for a round.
#[derive(Clone, Debug, Default)]
pub struct RoundEconomics {
    /// Fees the job owner paid for the round, base units.
    pub fee: u128,
    /// Emission attributed to the round (its share of its epoch's work), base units.
    pub emission: u128,
    /// Token price when the round closed.
    pub price_usd: f64,
    /// Operators' electricity, bandwidth and amortization for the round, USD.
    pub operator_cost_usd: f64,
    /// The same work on the cloud baseline, USD (None without one).
    pub cloud_cost_usd: Option<f64>,
    flops: f64,
}

/// One settled epoch, for `epochs.arrow`.
#[derive(Clone, Debug)]
pub struct EpochRecord {
    /// Epoch number from 0.
    pub epoch: u64,
    /// Settlement time.
    pub t: SimTime,
    /// Supply after the epoch (minted − burned), base units.
    pub supply: u128,
    /// Minted so far, base units.
    pub minted: u128,
    /// Burned so far, base units.
    pub burned: u128,
    /// Staked and unbonding, base units.
    pub staked: u128,
    /// Emission of this epoch, base units.
    pub emission: u128,
    /// Fees collected this epoch, base units.
    pub fees: u128,
    /// Treasury balance, base units.
    pub treasury: u128,
    /// Token price at settlement, USD.
    pub price_usd: f64,
    /// Gini coefficient of holdings (balance + stake) over holders and operators.
    pub gini: f64,
    /// Fewest accounts holding more than a third of those holdings.
    pub nakamoto_33: u32,
    /// Fewest accounts holding more than half.
    pub nakamoto_51: u32,
    /// Herfindahl–Hirschman index of the holdings (Σ shares²).
    pub hhi: f64,
    /// Operators that contributed work this epoch.
    pub active_operators: u32,
    /// Operators in the network at settlement (entry/exit rules).
    pub operators_in_network: u32,
    /// Operators that joined at this settlement.
    pub joined: u32,
    /// Operators that left at this settlement.
    pub left: u32,
    /// Quantiles (10%, 50%, 90%) of operators' cumulative profit (see
    /// [`Economy::operator_profit_usd`]).
    pub profit_quantiles_usd: [f64; 3],
}

/// The economy's state.
pub struct Economy {
    spec: EconomicsSpec,
    /// The ledger.
    pub ledger: Ledger,
    curve: Curve,
    treasury: AccountId,
    pool: AccountId,
    job_owner: AccountId,
    /// Account of each operator.
    pub operator_account: Vec<AccountId>,
    holders: Vec<AccountId>,
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
    slashing: Option<(Policy, SimTime, Option<AccountId>, SimTime, u32)>,
    slash_window: Vec<(SimTime, u128)>,
    node_share: Vec<f64>,
    epoch_fees: u128,
    epoch_rounds: Vec<usize>,
    price: PricePath,
    price_now: f64,
    /// Per operator: USD revenue (rewards × price at payout).
    pub revenue_usd: Vec<f64>,
    /// Per operator: USD costs (electricity, bandwidth, amortization).
    pub cost_usd: Vec<f64>,
    /// Per operator: tokens earned, base units.
    pub earned: Vec<u128>,
    amortization_usd_per_hour: Vec<f64>,
    last_amortized: SimTime,
    /// Per round, in round order.
    pub rounds: Vec<RoundEconomics>,
    /// Settled epochs.
    pub epochs: Vec<EpochRecord>,
    /// Fees the job owner could not pay, base units.
    pub unpaid_fees: u128,
    /// Hash of the latest aggregated model (recorded in the next block).
    pub model_hash: [u8; 32],
    region_usd_per_kwh: Vec<f64>,
    rule: Vec<Option<usize>>,
    /// Each operator's cumulative USD profit at each settled epoch (for exit windows).
    profit_history: Vec<Vec<f64>>,
    epoch_reward: Vec<u128>,
    /// Whether each operator is in the network (staked and not ejected);
    /// the world learns of changes through effects.
    in_network: Vec<bool>,
    /// Operators out of the network because slashing left their stake below
    /// the minimum: neither selected nor paid until they top up.
    suspended: Vec<bool>,
    /// Since when no operator has been in the network (None while some are).
    empty_since: Option<SimTime>,
}

fn amount(v: f64) -> u128 {
    tokens(v).unwrap_or(0)
}

/// Whole epochs that settle within a horizon (settlements at each
/// multiple of the epoch length up to the horizon).
pub fn epochs_in_horizon(horizon: SimTime, epoch: SimTime) -> u64 {
    horizon.nanos().checked_div(epoch.nanos()).unwrap_or(0)
}

/// The emission curve of an economics section in base units, scaled to its
/// `emission_budget` over `horizon` when it has one.
pub fn budgeted_curve(spec: &EconomicsSpec, horizon: SimTime) -> Curve {
    let curve = curve_of(&spec.emission);
    match spec.emission_budget {
        Some(budget) => curve
            .with_budget(
                amount(budget),
                epochs_in_horizon(horizon, spec.epoch.time()),
            )
            .unwrap_or(curve),
        None => curve,
    }
}

/// The emission curve in base units.
pub fn curve_of(spec: &EmissionSpec) -> Curve {
    match spec {
        EmissionSpec::Constant { per_epoch } => Curve::Constant {
            per_epoch: amount(*per_epoch),
        },
        EmissionSpec::LinearDecay { initial, decrement } => Curve::LinearDecay {
            initial: amount(*initial),
            decrement: amount(*decrement),
        },
        EmissionSpec::ExponentialDecay {
            initial,
            half_life_epochs,
        } => Curve::ExponentialDecay {
            initial: amount(*initial),
            half_life: *half_life_epochs,
        },
        EmissionSpec::Halving {
            initial,
            every_epochs,
        } => Curve::Halving {
            initial: amount(*initial),
            every: *every_epochs,
        },
        EmissionSpec::Capped {
            cap,
            half_life_epochs,
        } => Curve::Capped {
            cap: amount(*cap),
            rate: std::f64::consts::LN_2 / half_life_epochs,
        },
        EmissionSpec::Piecewise { steps } => Curve::Piecewise {
            steps: steps
                .iter()
                .map(|s| (s.from_epoch, amount(s.per_epoch)))
                .collect(),
        },
    }
}

/// The effect of an operator entering or leaving the network.
fn membership(op: usize, active: bool) -> Effect {
    Effect::SetOperatorActive {
        operator: op as u32,
        active,
    }
}

fn ppm(f: f64) -> u128 {
    (f * PPM as f64).round() as u128
}

impl Economy {
    /// Opens the accounts and mints the genesis distribution (not yet
    /// sealed); operators that must pass an entry test start outside the
    /// network (an effect each).
    pub fn new(
        spec: &EconomicsSpec,
        s: &Scenario,
        nodes: &Nodes,
        model: PriceModel,
        effects: &mut Vec<Effect>,
    ) -> Result<Economy, LedgerError> {
        let mut ledger = Ledger::new();
        let treasury = ledger.open("treasury");
        let pool = ledger.open("reward-pool");
        let job_owner = ledger.open("job-owner");
        let mut holders = Vec::new();
        for h in &spec.genesis.holders {
            let a = ledger.open(h.name.clone());
            ledger.mint(a, amount(h.tokens), "genesis")?;
            holders.push(a);
        }
        ledger.mint(job_owner, amount(spec.genesis.job_owner), "genesis")?;
        let ops = nodes.operators as usize;
        // Each operator follows the rule of its first node's profile.
        let mut rule = vec![None; ops];
        for (o, r) in rule.iter_mut().enumerate() {
            let first = nodes.operator.partition_point(|&x| (x as usize) < o);
            let profile = &s.profiles[nodes.profile[first] as usize].name;
            *r = spec
                .operator_rules
                .iter()
                .position(|r| &r.profile == profile);
        }
        let mut operator_account = Vec::with_capacity(ops);
        let mut in_network = vec![true; ops];
        for (o, r) in rule.iter().enumerate() {
            let a = ledger.open(format!("operator-{o}"));
            ledger.mint(a, amount(spec.genesis.per_operator), "genesis")?;
            if r.is_some_and(|r| spec.operator_rules[r].entry.is_some()) {
                // Outside the network until its entry test passes.
                in_network[o] = false;
                effects.push(membership(o, false));
            } else {
                ledger.stake_tokens(a, amount(spec.staking.min_stake))?;
            }
            operator_account.push(a);
        }
        let mut amortization = vec![0.0; ops];
        for (i, &op) in nodes.operator.iter().enumerate() {
            let profile = &s.profiles[nodes.profile[i] as usize].name;
            if let Some(h) = spec.costs.hardware.iter().find(|h| &h.profile == profile) {
                amortization[op as usize] += h.price_usd / (h.lifetime_years * 365.25 * 24.0);
            }
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
        let mut slashing = None;
        if let Some(v) = &s.verification {
            for i in 0..v.validators.count {
                let a = ledger.open(format!("validator-{i}"));
                ledger.mint(a, amount(v.validators.stake), "genesis")?;
                ledger.stake_tokens(a, amount(v.validators.stake))?;
                validators.push(a);
            }
            let (policy, window) = match &v.slashing {
                SlashingSpec::Fixed { fraction } => (
                    Policy::Fixed {
                        fraction: *fraction,
                    },
                    SimTime::ZERO,
                ),
                SlashingSpec::Severity {
                    invalid_update,
                    liveness,
                    equivocation,
                    bad_approval,
                } => (
                    Policy::Severity {
                        fractions: [*invalid_update, *liveness, *equivocation, *bad_approval],
                    },
                    SimTime::ZERO,
                ),
                SlashingSpec::Correlated {
                    base,
                    multiplier,
                    window,
                } => (
                    Policy::Correlated {
                        base: *base,
                        multiplier: *multiplier,
                    },
                    window.time(),
                ),
            };
            let to = match v.slash_to {
                SlashDestination::Burn => None,
                SlashDestination::Treasury => Some(treasury),
            };
            slashing = Some((
                policy,
                window,
                to,
                v.jail.duration.time(),
                v.jail.eject_after,
            ));
        }
        let mut price = PricePath::new(model);
        let price_now = price.at(0.0);
        Ok(Economy {
            spec: spec.clone(),
            ledger,
            curve: budgeted_curve(spec, s.horizon.time()),
            treasury,
            pool,
            job_owner,
            operator_account,
            holders,
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
            slashing,
            slash_window: Vec::new(),
            node_share,
            epoch_fees: 0,
            epoch_rounds: Vec::new(),
            price,
            price_now,
            revenue_usd: vec![0.0; ops],
            cost_usd: vec![0.0; ops],
            earned: vec![0; ops],
            amortization_usd_per_hour: amortization,
            last_amortized: SimTime::ZERO,
            rounds: Vec::new(),
            epochs: Vec::new(),
            unpaid_fees: 0,
            model_hash: [0; 32],
            region_usd_per_kwh: s
                .regions
                .iter()
                .map(|r| r.electricity_usd_per_kwh)
                .collect(),
            profit_history: vec![Vec::new(); ops],
            epoch_reward: vec![0; ops],
            rule,
            in_network,
            suspended: vec![false; ops],
            empty_since: None,
        })
    }

    /// The latest token price, USD.
    pub fn price_now(&self) -> f64 {
        self.price_now
    }

    /// Time between blocks.
    pub fn block_time(&self) -> SimTime {
        self.spec.block_time.time()
    }

    /// Length of an epoch.
    pub fn epoch_len(&self) -> SimTime {
        self.spec.epoch.time()
    }

    fn refresh_price(&mut self, t: SimTime) {
        self.price_now = self.price.at(t.as_secs_f64());
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
                    || self.rule[o].is_some_and(|r| self.spec.operator_rules[r].entry.is_some()))
        })
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
            .zip(&self.amortization_usd_per_hour)
            .enumerate()
        {
            if self.in_network[o] {
                *c += per_hour * hours;
            }
        }
        for (i, &o) in nodes.operator.iter().enumerate() {
            if self.in_network[o as usize] {
                self.node_cost_usd[i] +=
                    self.amortization_usd_per_hour[o as usize] * self.node_share[i] * hours;
            }
        }
        self.last_amortized = t;
    }

    /// Settles a closed round: charges its fees, records the operators'
    /// costs and the cloud baseline, then punishes its misconduct. Returns
    /// the stake slashed for the round; a refused ledger operation is an
    /// error that stops the run.
    pub fn settle_round(
        &mut self,
        closed: &RoundClosed,
        nodes: &Nodes,
        effects: &mut Vec<Effect>,
    ) -> Result<u128, String> {
        self.model_hash = closed.model_hash;
        let now = closed.t_end;
        let round = closed.round;
        let mut failure = None;
        if let Err(e) = self.charge_round(closed, nodes) {
            failure = Some(format!("ledger refused the fees of round {round}: {e}"));
        }
        let before = self.offences.len();
        for m in &closed.misconduct {
            if let Err(e) = self.punish(now, round, m, nodes, effects) {
                failure = Some(format!("ledger refused a slash in round {round}: {e}"));
                break;
            }
        }
        for b in &closed.bad_approvals {
            if let Err(e) = self.punish_validator(now, round, b.validator, b.node, nodes) {
                failure = Some(format!(
                    "ledger refused a validator slash in round {round}: {e}"
                ));
            }
        }
        match failure {
            Some(message) => Err(message),
            None => Ok(self.offences[before..].iter().map(|o| o.penalty).sum()),
        }
    }

    /// Charges the job owner for a closed round's work, records the
    /// operators' costs, and prices the round on the cloud baseline.
    fn charge_round(&mut self, closed: &RoundClosed, nodes: &Nodes) -> Result<(), LedgerError> {
        let t = closed.t_end;
        let contributions: &[Contribution] = &closed.accepted;
        let bytes = &closed.traffic;
        let duration = closed.t_end.saturating_sub(closed.t_start);
        let first = closed.first;
        let last_model_bytes = closed.final_model_bytes;
        self.ledger.set_time(t.nanos());
        self.refresh_price(t);
        let total_flops: f64 = contributions.iter().map(|c| c.claimed_flops).sum();
        let gpu_hours: f64 = contributions
            .iter()
            .map(|c| c.claimed_flops / nodes.effective_flops(c.node).max(1e-9))
            .sum::<f64>()
            / 3600.0;
        // Fee per PFLOP of claimed work plus per GPU-hour of compute.
        let wanted = ((total_flops / 1e15 * self.spec.fees.tokens_per_pflop
            + gpu_hours * self.spec.fees.tokens_per_gpu_hour)
            * TOKEN as f64)
            .round() as u128;
        let fee = wanted.min(self.ledger.balance(self.job_owner));
        self.unpaid_fees += wanted - fee;
        if fee > 0 {
            self.ledger
                .transfer(EntryKind::Fee, self.job_owner, self.pool, fee, "work")?;
            let burn = fee * ppm(self.spec.fees.burn_fraction) / PPM;
            if burn > 0 {
                self.ledger.burn(self.pool, burn, "fee burn")?;
            }
        }
        self.epoch_fees += fee;
        let mut op_cost = 0.0;
        for c in contributions {
            let op = nodes.operator[c.node as usize] as usize;
            self.flops[c.node as usize] += c.claimed_flops.max(0.0) as u128;
            self.samples[c.node as usize] += u128::from(c.samples);
            // Electricity: watts while really computing × the region's price.
            let secs = c.done_flops / nodes.effective_flops(c.node).max(1e-9);
            let kwh = nodes.gpu_watts[c.node as usize] * secs / 3.6e6;
            let usd = kwh * self.region_usd_per_kwh[nodes.region[c.node as usize] as usize];
            self.cost_usd[op] += usd;
            self.node_cost_usd[c.node as usize] += usd;
            op_cost += usd;
        }
        for &(node, b) in bytes.iter() {
            let usd = b as f64 / 1e9 * self.spec.costs.bandwidth_usd_per_gb;
            let op = nodes.operator[node as usize] as usize;
            self.cost_usd[op] += usd;
            self.node_cost_usd[node as usize] += usd;
            op_cost += usd;
            op_cost += self.amortization_usd_per_hour[op]
                * self.node_share[node as usize]
                * duration.as_secs_f64()
                / 3600.0;
        }
        let cloud = self.spec.cloud.as_ref().map(|cl| {
            let gpu_hours = total_flops / (cl.tflops * 1e12 * cl.efficiency) / 3600.0;
            let mut usd = gpu_hours * cl.usd_per_gpu_hour;
            if first {
                usd += cl.data_staging_gb * cl.staging_usd_per_gb;
            }
            if let Some(b) = last_model_bytes {
                usd += b as f64 / 1e9 * cl.egress_usd_per_gb;
            }
            usd
        });
        self.epoch_rounds.push(self.rounds.len());
        self.rounds.push(RoundEconomics {
            fee,
            emission: 0,
            price_usd: self.price_now,
            operator_cost_usd: op_cost,
            cloud_cost_usd: cloud,
            flops: total_flops,
        });
        Ok(())
    }

    /// Mints the epoch's emission and pays the pool out; records the epoch.
    pub fn settle_epoch(
        &mut self,
        t: SimTime,
        nodes: &Nodes,
        effects: &mut Vec<Effect>,
    ) -> Result<(), LedgerError> {
        self.ledger.set_time(t.nanos());
        self.refresh_price(t);
        self.amortize(t, nodes);
        self.epoch_reward.iter_mut().for_each(|r| *r = 0);
        let emission = self.curve.emission(self.epoch);
        if emission > 0 {
            self.ledger.mint(self.pool, emission, "emission")?;
        }
        // Attribute the emission to the epoch's rounds by their work.
        let weights: Vec<u128> = self
            .epoch_rounds
            .iter()
            .map(|&r| self.rounds[r].flops.max(0.0) as u128)
            .collect();
        let (parts, _) = pro_rata(emission, &weights);
        for (&r, p) in self.epoch_rounds.iter().zip(parts) {
            self.rounds[r].emission = p;
        }
        let pool = self.ledger.balance(self.pool);
        let sp = &self.spec.split;
        let (shares, _) = pro_rata(
            pool,
            &[
                ppm(sp.compute),
                ppm(sp.data),
                ppm(sp.validators),
                ppm(sp.treasury),
            ],
        );
        let price = self.price_now;
        // An operator slashed below the minimum stake (suspended) forfeits
        // the epoch's rewards; one that left in good standing is paid for
        // its last work.
        let suspended = &self.suspended;
        let paid = |w: &[u128]| -> Vec<u128> {
            w.iter()
                .zip(&nodes.operator)
                .map(|(&w, &o)| if suspended[o as usize] { 0 } else { w })
                .collect()
        };
        for (share, weights, memo) in [
            (shares[0], paid(&self.flops), "compute"),
            (shares[1], paid(&self.samples), "data"),
        ] {
            // Pro rata per node, paid to each node's operator in one entry.
            let (parts, _) = pro_rata(share, &weights);
            let mut per_operator = vec![0u128; self.operator_account.len()];
            for (node, p) in parts.into_iter().enumerate() {
                if p > 0 {
                    per_operator[nodes.operator[node] as usize] += p;
                    self.node_earned[node] += p;
                    self.node_revenue_usd[node] += as_tokens(p) * price;
                }
            }
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
                }
            }
        }
        // Validators share their part equally; without validators it goes to
        // the treasury, with the treasury's share and every rounding remainder.
        if !self.validators.is_empty() {
            let (parts, _) = pro_rata(shares[2], &vec![1; self.validators.len()]);
            for (&v, p) in self.validators.iter().zip(parts) {
                if p > 0 {
                    self.ledger
                        .transfer(EntryKind::Reward, self.pool, v, p, "validation")?;
                }
            }
        }
        let rest = self.ledger.balance(self.pool);
        if rest > 0 {
            self.ledger.transfer(
                EntryKind::Reward,
                self.pool,
                self.treasury,
                rest,
                "treasury",
            )?;
        }
        let mut contributed = vec![false; self.operator_account.len()];
        for (node, &f) in self.flops.iter().enumerate() {
            if f > 0 {
                contributed[nodes.operator[node] as usize] = true;
            }
        }
        let active = contributed.iter().filter(|&&c| c).count() as u32;
        let (mut joined, left) = self.apply_operator_rules(t, effects)?;
        joined += self.top_up_suspended(effects)?;
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
        let c = concentration(&holdings);
        let mut profit: Vec<f64> = (0..self.operator_account.len())
            .map(|o| self.operator_profit_usd(o))
            .collect();
        profit.sort_by(f64::total_cmp);
        let q = |p: f64| {
            if profit.is_empty() {
                0.0
            } else {
                profit[((profit.len() - 1) as f64 * p).round() as usize]
            }
        };
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
            price_usd: price,
            gini: c.gini,
            nakamoto_33: c.nakamoto_33,
            nakamoto_51: c.nakamoto_51,
            hhi: c.hhi,
            active_operators: active,
            operators_in_network: self.operators_in_network(),
            joined,
            left,
            profit_quantiles_usd: [q(0.1), q(0.5), q(0.9)],
        });
        self.epoch += 1;
        self.flops.iter_mut().for_each(|f| *f = 0);
        self.samples.iter_mut().for_each(|f| *f = 0);
        self.epoch_fees = 0;
        self.epoch_rounds.clear();
        Ok(())
    }
}

/// A detected offence and the ledger entry that punished it.
#[derive(Clone, Debug)]
pub struct OffenceRecord {
    /// When it was punished.
    pub t: SimTime,
    /// Round it happened in.
    pub round: u32,
    /// Offending node.
    pub node: u32,
    /// Its operator.
    pub operator: u32,
    /// What it did.
    pub kind: Offence,
    /// How it was found.
    pub evidence: &'static str,
    /// Stake taken, base units.
    pub penalty: u128,
    /// The `slash` entry in the ledger (None when there was no stake to take).
    pub ledger_seq: Option<u64>,
    /// Whether the operator was ejected for it.
    pub ejected: bool,
    /// For `bad_approval`: the validator punished (the node is the one whose
    /// bad update it approved).
    pub validator: Option<u32>,
}

impl Economy {
    /// Punishes `node`'s operator for an offence: slashes stake by the
    /// policy (burned or to the treasury), jails its nodes, ejects it after
    /// too many offences, and records the offence.
    pub fn punish(
        &mut self,
        t: SimTime,
        round: u32,
        misconduct: &Misconduct,
        nodes: &Nodes,
        effects: &mut Vec<Effect>,
    ) -> Result<(), LedgerError> {
        let Misconduct {
            node,
            kind,
            evidence,
        } = *misconduct;
        let Some((policy, window, to, jail, eject_after)) = self.slashing.clone() else {
            return Ok(());
        };
        self.ledger.set_time(t.nanos());
        let op = nodes.operator[node as usize] as usize;
        let account = self.operator_account[op];
        let stake = self.ledger.stake(account);
        self.slash_window
            .retain(|(at, _)| window > SimTime::ZERO && t.saturating_sub(*at) < window);
        let recent: u128 = self.slash_window.iter().map(|x| x.1).sum();
        let total = self.ledger.total_staked();
        let penalty = policy.penalty(kind, stake, recent, total).min(stake);
        let mut ledger_seq = None;
        if penalty > 0 {
            self.ledger.slash(account, penalty, to, kind.label())?;
            ledger_seq = self.ledger.entries().last().map(|e| e.seq);
            self.slash_window.push((t, penalty));
        }
        self.node_offences[node as usize] += 1;
        self.node_slashed[node as usize] += penalty;
        let penalty_usd = as_tokens(penalty) * self.price_now;
        self.node_slashed_usd[node as usize] += penalty_usd;
        self.slashed[op] += penalty;
        self.slashed_usd[op] += penalty_usd;
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
                self.ledger.unstake(
                    account,
                    rest,
                    t.saturating_add(self.spec.staking.unbonding.time()).nanos(),
                )?;
            }
        } else {
            if jail > SimTime::ZERO {
                effects.push(Effect::JailOperator {
                    operator: op as u32,
                    until: t.saturating_add(jail),
                });
            }
            // Below the minimum stake an operator may not serve.
            let min_stake = amount(self.spec.staking.min_stake);
            if self.in_network[op] && self.ledger.stake(account) < min_stake {
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
    ) -> Result<(), LedgerError> {
        let Some((policy, _, to, _, _)) = self.slashing.clone() else {
            return Ok(());
        };
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
            ledger_seq = self.ledger.entries().last().map(|e| e.seq);
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

    /// Exit and entry decisions at an epoch's settlement; returns (joined, left).
    fn apply_operator_rules(
        &mut self,
        t: SimTime,
        effects: &mut Vec<Effect>,
    ) -> Result<(u32, u32), LedgerError> {
        let epoch_hours = self.epoch_len().as_secs_f64() / 3600.0;
        let price = self.price_now;
        let min_stake = amount(self.spec.staking.min_stake);
        let release = t.saturating_add(self.spec.staking.unbonding.time()).nanos();
        // The mean reward of an operator in the network this epoch is what a
        // newcomer expects to earn.
        let in_network: Vec<usize> = (0..self.rule.len())
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
        for o in 0..self.rule.len() {
            let Some(r) = self.rule[o] else { continue };
            let rule = &self.spec.operator_rules[r];
            let profit = self.operator_profit_usd(o);
            let history = &mut self.profit_history[o];
            history.push(profit);
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
                    - self.amortization_usd_per_hour[o] * epoch_hours)
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
    fn top_up_suspended(&mut self, effects: &mut Vec<Effect>) -> Result<u32, LedgerError> {
        let min_stake = amount(self.spec.staking.min_stake);
        let mut rejoined = 0;
        for o in 0..self.suspended.len() {
            if !self.suspended[o] {
                continue;
            }
            let account = self.operator_account[o];
            let missing = min_stake.saturating_sub(self.ledger.stake(account));
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

/// The token-price model of a spec, reading a CSV series relative to
/// `base_dir`; errors name the field.
pub fn price_model(
    spec: &EconomicsSpec,
    base_dir: &std::path::Path,
    price_seed: u64,
) -> Result<PriceModel, (String, String)> {
    Ok(match &spec.token_price {
        PriceSpec::Constant { usd } => PriceModel::Constant { usd: *usd },
        PriceSpec::Gbm {
            initial_usd,
            mu,
            sigma,
            step,
        } => PriceModel::Gbm {
            initial_usd: *initial_usd,
            mu: *mu,
            sigma: *sigma,
            step_s: step.time().as_secs_f64(),
            key: stream_key(price_seed, "token-price", 0),
        },
        PriceSpec::Series { points } => PriceModel::Series {
            points: points
                .iter()
                .map(|p| (p.t.time().as_secs_f64(), p.usd))
                .collect(),
        },
        PriceSpec::Csv { path } => {
            let full = base_dir.join(path);
            let at = "economics.token_price.csv.path".to_string();
            let text = std::fs::read_to_string(&full)
                .map_err(|e| (at.clone(), format!("cannot read `{}`: {e}", full.display())))?;
            let mut points: Vec<(f64, f64)> = Vec::new();
            for (i, line) in text
                .lines()
                .enumerate()
                .filter(|(_, l)| !l.trim().is_empty())
            {
                let cells: Vec<&str> = line.split(',').map(str::trim).collect();
                let parsed = match cells.as_slice() {
                    [t, p] => t.parse::<f64>().ok().zip(p.parse::<f64>().ok()),
                    _ => None,
                };
                match parsed {
                    Some((t, p)) if t.is_finite() && p.is_finite() && p >= 0.0 => {
                        if points.last().is_some_and(|l| t <= l.0) {
                            return Err((
                                at,
                                format!("`{}` line {}: times must increase", full.display(), i + 1),
                            ));
                        }
                        points.push((t, p));
                    }
                    None if i == 0 => {} // a header line
                    _ => {
                        return Err((
                            at,
                            format!(
                                "`{}` line {}: expected `t_s,usd`, found `{line}`",
                                full.display(),
                                i + 1
                            ),
                        ));
                    }
                }
            }
            if points.is_empty() {
                return Err((at, format!("`{}` holds no price points", full.display())));
            }
            PriceModel::Series { points }
        }
    })
}
