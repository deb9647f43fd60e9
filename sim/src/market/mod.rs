//! The market subsystem: agents submit training jobs over time; each job's
//! order is open for the bid window, then priced by the compute market
//! (a posted price or a reverse auction over the idle providers' asks) and
//! the agent chooses the network or the cloud by its policy. A network job
//! hires its providers for its whole length and trains on them as a real
//! job on the shared flow network (its data shards ride with round 0's
//! model); its agent pays each provider per delivered round through the
//! ledger, and the protocol slashes and bars an agent that breaks its
//! rules.
//!
//! ```text
//!  Arrive ─▶ order ──(bid window)──▶ CloseOrder ─▶ offers ─▶ awards ─▶ choose
//!                                                           │ network      │ cloud
//!                                  lease nodes, Job::new ◀──┘              └─▶ record
//!   round closed ─▶ pay providers (or default ─▶ slash, bar, abort) ─▶ … ─▶ release, record
//! ```

pub mod data;
pub mod pricing;
pub mod records;
pub mod walk;

use crate::economy::Economy;
use crate::economy::plan::CloudBaseline;
use crate::engine::rng::{StreamRng, stream};
use crate::engine::{Scheduler, SimTime};
use crate::params::{RoundParams, Versioned};
use crate::protocol::job::{Job, JobPlan, Staging};
use crate::scenario::{
    AgentBehaviour, AgentPolicy, AgentRules, MarketSpec, MechanismSpec, PaymentSpec,
};
use crate::system::{Event, JobEvent, JobId, MarketEvent, RoundClosed};
use crate::world::Nodes;
use data::{DataMarket, DataPick, DataPrice};
use dmlsim_models::econ::ledger::{AccountId, EntryKind, LedgerError};
use dmlsim_models::econ::market::{
    Ask, Award, Bid, Offer, OrderRules, Payment, double_auction, reverse_auction_k,
};
use dmlsim_models::econ::{TOKEN, as_tokens};
use dmlsim_models::learning::TimingOnly;
use pricing::{CloudQuote, JobSize, Limits, NetworkOffer, Venue, choose, cloud_quote};
use rand::RngExt;
use records::{AgentOffence, AgentOffenceKind, JobRecord, MarketEpoch, Outcome};

/// How the network's GPU time is priced, lowered.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Mechanism {
    /// One price, tokens per PFLOP.
    Posted(f64),
    /// A reverse auction per job.
    ReverseAuction(Payment),
    /// A uniform-price double auction at this interval.
    DoubleAuction(SimTime),
}

/// One agent's fixed settings.
#[derive(Clone, Debug)]
struct AgentPlan {
    population: u16,
    budget_usd: f64,
    policy: AgentPolicy,
    behaviour: AgentBehaviour,
    rules: AgentRules,
    size: JobSize,
    update_bytes: u64,
    deadline: SimTime,
    value_usd: f64,
    usd_per_hour: f64,
    every: SimTime,
    poisson: bool,
    /// The data provider population its jobs buy from.
    dataset: Option<u16>,
    /// Resubmissions of a job trained nowhere, and the time between them.
    retries: u32,
    retry_after: SimTime,
}

/// An agent's state.
struct Agent {
    plan: AgentPlan,
    account: AccountId,
    spent_usd: f64,
    barred: bool,
    arrivals: StreamRng,
}

/// A job trained on the network.
struct NetworkJob {
    /// Index of its record.
    record: usize,
    job: Job<TimingOnly>,
    rounds: Versioned<RoundParams>,
    /// Per provider (as in the record), the price per PFLOP, base units.
    price: Vec<u128>,
    /// The data provider whose dataset it bought.
    data: Option<u32>,
    stopped: bool,
}

/// The market's state.
pub struct Market {
    until: SimTime,
    mechanism: Mechanism,
    bid_window: SimTime,
    margin: f64,
    min_agent_stake: u128,
    slash_ppm: u128,
    cloud: CloudBaseline,
    /// Per node: the operator's USD cost per PFLOP on it.
    node_usd_per_pflop: Vec<f64>,
    /// Node ids from the cheapest cost per PFLOP (ties by id).
    by_cost: Vec<u32>,
    /// Population names, for the tables.
    pub populations: Vec<String>,
    agents: Vec<Agent>,
    jobs: Vec<NetworkJob>,
    /// Every submitted job, in submission order.
    pub records: Vec<JobRecord>,
    /// The open epoch's figures.
    epoch: MarketEpoch,
    /// Settled epochs' figures, in order.
    pub epochs: Vec<MarketEpoch>,
    /// Agents' offences, in order.
    pub offences: Vec<AgentOffence>,
    /// PFLOP of all jobs that wanted the network and found too few providers.
    pub unfilled_pflop: f64,
    open_orders: u32,
    /// Orders closed and waiting for the next double-auction clearing.
    waiting: Vec<u32>,
    running: u32,
    /// Resubmissions scheduled and not yet made.
    retries_due: u32,
    seed: u64,
    /// The data providers, with `market.data`.
    pub data: Option<DataMarket>,
}

/// A node's reputation in [0, 1]: (rounds completed + 1) / (rounds
/// selected + 2) over every round it has been in, any job's.
fn reputation(nodes: &Nodes, node: u32) -> f64 {
    let (s, i) = (&nodes.stats, node as usize);
    (f64::from(s.rounds_completed[i]) + 1.0) / (f64::from(s.rounds_selected[i]) + 2.0)
}

/// Agent accounts are opened as `NAME-i`; this is one agent's name.
pub fn agent_name(population: &str, i: u32, count: u32) -> String {
    if count == 1 {
        population.to_string()
    } else {
        format!("{population}-{i}")
    }
}

impl Market {
    /// The market of `spec`: opens each agent's account on the economy's
    /// ledger and mints and stakes its genesis tokens (part of genesis).
    pub fn new(
        spec: &MarketSpec,
        economy: &mut Economy,
        nodes: &mut Nodes,
        seed: u64,
    ) -> Result<Market, LedgerError> {
        let plan = economy.plan();
        let cloud = plan
            .cloud
            .clone()
            .expect("validated: a market needs a cloud");
        let mut per_op = vec![0u32; nodes.operators as usize];
        for &o in &nodes.operator {
            per_op[o as usize] += 1;
        }
        let node_usd_per_pflop: Vec<f64> = (0..nodes.len())
            .map(|i| {
                let op = nodes.operator[i] as usize;
                pricing::node_usd_per_pflop(
                    nodes.effective_flops(i as u32),
                    nodes.gpu_watts[i],
                    plan.region_usd_per_kwh[nodes.region[i] as usize],
                    plan.amortization_usd_per_hour[op] / f64::from(per_op[op].max(1)),
                )
            })
            .collect();
        let data = match &spec.data {
            Some(d) => Some(DataMarket::new(d, economy, nodes, seed)?),
            None => None,
        };
        let mut agents = Vec::new();
        let mut populations = Vec::new();
        for (p, a) in spec.agents.iter().enumerate() {
            populations.push(a.name.clone());
            let j = &a.jobs;
            // A bought dataset's size replaces `data_bytes` (validated).
            let dataset = j
                .dataset
                .as_deref()
                .and_then(|name| data.as_ref()?.population(name));
            let data_bytes = match (dataset, &spec.data) {
                (Some(pop), Some(d)) => d.providers[pop as usize].dataset_bytes.0,
                _ => j.data_bytes.0,
            };
            let agent_plan = AgentPlan {
                population: p as u16,
                budget_usd: a.budget_usd,
                policy: a.policy,
                behaviour: a.behaviour,
                rules: a.rules.clone(),
                size: JobSize {
                    rounds: j.rounds,
                    clients: j.clients,
                    pflop_per_client_round: j.pflop_per_client_round,
                    model_bytes: j.model_bytes.0,
                    data_bytes,
                },
                update_bytes: j.update_bytes.unwrap_or(j.model_bytes).0,
                deadline: j.deadline.time(),
                value_usd: j.value_usd,
                usd_per_hour: j.usd_per_hour,
                every: j.every.time(),
                poisson: j.poisson,
                dataset,
                retries: j.retries,
                retry_after: j.retry_after.time(),
            };
            for i in 0..a.count {
                let ledger = &mut economy.ledger;
                let account = ledger.open(agent_name(&a.name, i, a.count));
                ledger.mint(account, crate::lower::amount(a.tokens), "genesis")?;
                ledger.stake_with_memo(account, crate::lower::amount(a.stake), "agent deposit")?;
                let index = agents.len() as u64;
                agents.push(Agent {
                    plan: agent_plan.clone(),
                    account,
                    spent_usd: 0.0,
                    barred: false,
                    arrivals: stream(seed, "market-arrivals", index),
                });
            }
        }
        let mut by_cost: Vec<u32> = (0..nodes.len() as u32).collect();
        by_cost.sort_by(|&a, &b| {
            node_usd_per_pflop[a as usize]
                .total_cmp(&node_usd_per_pflop[b as usize])
                .then(a.cmp(&b))
        });
        nodes.track_busy(spec.slots_per_node as u8);
        Ok(Market {
            until: spec.until.time(),
            mechanism: match spec.mechanism {
                MechanismSpec::PostedPrice { tokens_per_pflop } => {
                    Mechanism::Posted(tokens_per_pflop)
                }
                MechanismSpec::ReverseAuction { payment } => {
                    Mechanism::ReverseAuction(match payment {
                        PaymentSpec::FirstPrice => Payment::FirstPrice,
                        PaymentSpec::SecondPrice => Payment::SecondPrice,
                    })
                }
                MechanismSpec::DoubleAuction { every } => Mechanism::DoubleAuction(every.time()),
            },
            bid_window: spec.bid_window.time(),
            margin: spec.operator_margin,
            min_agent_stake: crate::lower::amount(spec.min_agent_stake),
            slash_ppm: crate::lower::ppm(spec.agent_slash_fraction),
            cloud,
            node_usd_per_pflop,
            by_cost,
            populations,
            agents,
            jobs: Vec::new(),
            records: Vec::new(),
            epoch: MarketEpoch::default(),
            epochs: Vec::new(),
            offences: Vec::new(),
            unfilled_pflop: 0.0,
            open_orders: 0,
            waiting: Vec::new(),
            running: 0,
            retries_due: 0,
            seed,
            data,
        })
    }

    /// Agents in the market.
    pub fn agent_count(&self) -> usize {
        self.agents.len()
    }

    /// The data provider population each agent's jobs buy from.
    pub fn agent_datasets(&self) -> Vec<Option<u16>> {
        self.agents.iter().map(|a| a.plan.dataset).collect()
    }

    /// The ledger account of each agent.
    pub fn agent_accounts(&self) -> Vec<AccountId> {
        self.agents.iter().map(|a| a.account).collect()
    }

    /// Schedules every agent's first job (and a double auction's first
    /// clearing).
    pub fn start(&mut self, sched: &mut Scheduler<Event>) {
        for a in 0..self.agents.len() {
            self.schedule_arrival(a as u32, SimTime::ZERO, sched);
        }
        if let Mechanism::DoubleAuction(every) = self.mechanism {
            sched.schedule_at(every, Event::Market(MarketEvent::Clear));
        }
    }

    fn schedule_arrival(&mut self, agent: u32, from: SimTime, sched: &mut Scheduler<Event>) {
        let a = &mut self.agents[agent as usize];
        let mean = a.plan.every.as_secs_f64();
        let gap = if a.plan.poisson {
            let u = a.arrivals.random::<f64>();
            -(1.0 - u).ln() * mean
        } else {
            mean
        };
        let at = from.saturating_add(SimTime::from_secs_f64_ceil(gap));
        if at < self.until {
            sched.schedule_at(at, Event::Market(MarketEvent::Arrive { agent }));
        }
    }

    /// Whether an order is open, a retry due or a job is training on the
    /// network.
    pub fn busy(&self) -> bool {
        self.open_orders > 0 || self.running > 0 || self.retries_due > 0
    }

    /// Whether no more jobs will arrive and none is open, due again or
    /// running.
    pub fn is_done(&self, now: SimTime) -> bool {
        now >= self.until && !self.busy()
    }

    /// Whether any agent resubmits dropped jobs (jobs.arrow then has the
    /// `attempt` and `retry_of` columns).
    pub fn has_retries(&self) -> bool {
        self.agents.iter().any(|a| a.plan.retries > 0)
    }

    /// Handles an arrival, the close of an order's bid window, or a
    /// double auction's clearing.
    pub fn handle(
        &mut self,
        event: MarketEvent,
        sched: &mut Scheduler<Event>,
        nodes: &mut Nodes,
        economy: &mut Economy,
    ) -> Result<(), String> {
        let now = sched.now();
        match event {
            MarketEvent::Arrive { agent } => {
                self.open_order(agent, None, now, sched);
                self.schedule_arrival(agent, now, sched);
                Ok(())
            }
            MarketEvent::Resubmit { job } => {
                self.retries_due -= 1;
                let agent = self.records[job as usize].agent;
                self.open_order(agent, Some(job), now, sched);
                Ok(())
            }
            MarketEvent::CloseOrder { job } => {
                let agent = self.records[job as usize].agent;
                let blocked = self.blocked(agent, economy);
                if matches!(self.mechanism, Mechanism::DoubleAuction(_)) && blocked.is_none() {
                    self.waiting.push(job);
                    return Ok(());
                }
                self.open_orders -= 1;
                self.decide(job, sched, nodes, economy)
            }
            MarketEvent::Clear => {
                let Mechanism::DoubleAuction(every) = self.mechanism else {
                    return Ok(());
                };
                self.clear(sched, nodes, economy)?;
                if now < self.until || self.open_orders > 0 {
                    sched.schedule_in(every, Event::Market(MarketEvent::Clear));
                }
                Ok(())
            }
        }
    }

    /// Publishes an order for a job of `agent` (a resubmission of
    /// `retry_of`, if given), open for the bid window.
    fn open_order(
        &mut self,
        agent: u32,
        retry_of: Option<u32>,
        now: SimTime,
        sched: &mut Scheduler<Event>,
    ) {
        let job = self.records.len() as u32;
        let a = &self.agents[agent as usize];
        let size = a.plan.size;
        let quote = cloud_quote(&self.cloud, &size);
        let attempt = retry_of.map_or(0, |r| self.records[r as usize].attempt + 1);
        self.records.push(JobRecord {
            job,
            agent,
            population: a.plan.population,
            t_submit: now,
            t_decided: now,
            t_end: None,
            venue: Venue::Dropped,
            reason: "",
            providers: Vec::new(),
            price_tokens_per_pflop: None,
            rounds: size.rounds,
            rounds_done: 0,
            outcome: Outcome::Dropped,
            paid: 0,
            network_cost_usd: None,
            cost_usd: 0.0,
            cloud_cost_usd: quote.cost_usd,
            cloud_staging_usd: quote.staging_usd,
            cloud_time_s: quote.time_s,
            network_time_est_s: None,
            pflop: size.pflop(),
            data_bytes: size.data_bytes,
            token_price_usd: 0.0,
            first_payment_seq: None,
            data_provider: None,
            data_challenges: 0,
            data_paid: 0,
            data_usd: 0.0,
            data_poisoned: false,
            attempt,
            retry_of,
        });
        self.open_orders += 1;
        sched.schedule_in(
            self.bid_window,
            Event::Market(MarketEvent::CloseOrder { job }),
        );
    }

    /// Schedules the resubmission of `job`, trained nowhere, if its agent
    /// retries and has attempts left before `until`.
    fn maybe_retry(&mut self, job: u32, sched: &mut Scheduler<Event>) {
        let r = &self.records[job as usize];
        let plan = &self.agents[r.agent as usize].plan;
        let at = sched.now().saturating_add(plan.retry_after);
        if r.attempt < plan.retries && at < self.until {
            self.retries_due += 1;
            sched.schedule_at(at, Event::Market(MarketEvent::Resubmit { job }));
        }
    }

    /// Why the agent's job cannot be offered to the network at all, if so.
    fn blocked(&self, agent: u32, economy: &Economy) -> Option<NetworkOffer> {
        let a = &self.agents[agent as usize];
        if a.plan.policy == AgentPolicy::CloudOnly {
            // It never publishes an order on the network.
            Some(NetworkOffer::TooFewProviders)
        } else if a.barred {
            Some(NetworkOffer::Barred)
        } else if economy.ledger.stake(a.account) < self.min_agent_stake {
            Some(NetworkOffer::NoStake)
        } else {
            None
        }
    }

    /// The price an agent bids per PFLOP, tokens: its cap (an
    /// overspender's doubled; the protocol checks the real cap).
    fn bid_cap(&self, agent: u32) -> f64 {
        let a = &self.agents[agent as usize].plan;
        match a.behaviour {
            AgentBehaviour::Overspender => a.rules.price_cap_tokens_per_pflop * 2.0,
            _ => a.rules.price_cap_tokens_per_pflop,
        }
    }

    /// The network's offer for `job` given its awards.
    fn priced(&self, job: u32, awards: &[Award], price_usd: f64) -> NetworkOffer {
        let size = self.agents[self.records[job as usize].agent as usize]
            .plan
            .size;
        if awards.len() < size.clients as usize {
            return NetworkOffer::TooFewProviders;
        }
        let per_pflop: f64 = awards.iter().map(|w| w.paid).sum::<f64>();
        let tokens = per_pflop * size.pflop_per_client_round * f64::from(size.rounds);
        NetworkOffer::Priced {
            tokens,
            cost_usd: pricing::network_cost_usd(tokens, price_usd, &size, &self.cloud),
        }
    }

    /// Clears the waiting orders in one uniform-price double auction: each
    /// idle, online node asks its compute cost per PFLOP (× `1 + margin`,
    /// in tokens) for one job; each order bids for its clients at its cap,
    /// or the cloud's compute price per PFLOP in tokens if lower (an
    /// honest agent pays no more for compute than the cloud asks; an
    /// overspender bids twice its cap). A job filled short, or with a node
    /// below its reputation floor, takes no network nodes; then each job
    /// is concluded in submission order.
    fn clear(
        &mut self,
        sched: &mut Scheduler<Event>,
        nodes: &mut Nodes,
        economy: &mut Economy,
    ) -> Result<(), String> {
        let waiting = std::mem::take(&mut self.waiting);
        if waiting.is_empty() {
            return Ok(());
        }
        let now = sched.now();
        let price_usd = economy.price_at(now);
        let mut asks = Vec::new();
        for &n in &self.by_cost {
            if !nodes.has_free_slot(n) || nodes.online_until(n, now).is_none() {
                continue;
            }
            asks.push(Ask {
                provider: n,
                units: 1,
                price: self.node_usd_per_pflop[n as usize] * (1.0 + self.margin)
                    / price_usd.max(1e-12),
            });
        }
        let cloud_tokens_per_pflop = self.cloud.usd_per_gpu_hour
            / pricing::cloud_pflop_per_gpu_hour(&self.cloud)
            / price_usd.max(1e-12);
        let bids: Vec<Bid> = waiting
            .iter()
            .map(|&job| {
                let agent = self.records[job as usize].agent;
                let a = &self.agents[agent as usize].plan;
                let price = match a.behaviour {
                    AgentBehaviour::Overspender => self.bid_cap(agent),
                    _ => self.bid_cap(agent).min(cloud_tokens_per_pflop),
                };
                Bid {
                    buyer: job,
                    units: u64::from(a.size.clients),
                    price,
                }
            })
            .collect();
        let clearing = double_auction(&asks, &bids);
        for &job in &waiting {
            self.open_orders -= 1;
            let agent = self.records[job as usize].agent;
            let floor = self.agents[agent as usize].plan.rules.min_reputation;
            let reputation = |n: u32| reputation(nodes, n);
            let fills: Vec<u32> = clearing
                .fills
                .iter()
                .filter(|f| f.buyer == job)
                .map(|f| f.provider)
                .collect();
            let awards: Vec<Award> = match clearing.price {
                Some(price) if fills.iter().all(|&n| reputation(n) >= floor) => fills
                    .iter()
                    .map(|&provider| Award {
                        provider,
                        paid: price,
                    })
                    .collect(),
                _ => Vec::new(),
            };
            let offer = self.priced(job, &awards, price_usd);
            self.conclude(job, offer, awards, price_usd, sched, nodes, economy)?;
        }
        Ok(())
    }

    /// The idle, online providers' offers at `now` for a job of `size`
    /// (with `update_bytes` per update), priced per PFLOP in tokens at
    /// `price_usd`: each node's USD cost of its part of the job — the
    /// work at its cost per PFLOP plus the bytes it moves (its data shard,
    /// every round's model and update) at the bandwidth price — times
    /// `1 + margin`, spread over its PFLOP.
    ///
    /// Only offers at or below `limit` are gathered, walking the nodes from
    /// the cheapest (an ask's rank does not depend on the job); with
    /// `enough = Some((k, min_reputation, w))` the walk also stops once the
    /// prices pass the `k + 1`-th best score (`price / reputation^w`) of
    /// the offers of at least `min_reputation` so far — a score is never
    /// below its price, so every offer an auction for `k` providers can
    /// award or price is then among those gathered, ties included.
    #[allow(clippy::too_many_arguments)]
    fn offers(
        &self,
        now: SimTime,
        nodes: &mut Nodes,
        price_usd: f64,
        size: &JobSize,
        update_bytes: u64,
        bandwidth_usd_per_gb: f64,
        limit: f64,
        enough: Option<(usize, f64, f64)>,
    ) -> Vec<Offer> {
        let pflop = size.pflop_per_client_round * f64::from(size.rounds);
        let bytes = size.data_bytes as f64 / f64::from(size.clients.max(1))
            + f64::from(size.rounds) * (size.model_bytes + update_bytes) as f64;
        let bandwidth_usd = bytes / 1e9 * bandwidth_usd_per_gb;
        let mut offers = Vec::new();
        let mut enough =
            enough.map(|(k, min_reputation, weight)| walk::Enough::new(k, min_reputation, weight));
        for &n in &self.by_cost {
            let i = n as usize;
            let usd = self.node_usd_per_pflop[i] * pflop + bandwidth_usd;
            let price = usd * (1.0 + self.margin) / pflop.max(1e-12) / price_usd.max(1e-12);
            if price > limit || enough.as_ref().is_some_and(|e| e.passed(price)) {
                break;
            }
            if !nodes.has_free_slot(n) || nodes.online_until(n, now).is_none() {
                continue;
            }
            let reputation = reputation(nodes, n);
            offers.push(Offer {
                provider: n,
                price,
                reputation,
            });
            if let Some(e) = enough.as_mut() {
                e.note(price, reputation);
            }
        }
        offers
    }

    /// Prices `job` by a posted price or a reverse auction and concludes it.
    fn decide(
        &mut self,
        job: u32,
        sched: &mut Scheduler<Event>,
        nodes: &mut Nodes,
        economy: &mut Economy,
    ) -> Result<(), String> {
        let now = sched.now();
        let price_usd = economy.price_at(now);
        let agent = self.records[job as usize].agent;
        let a = &self.agents[agent as usize];
        let (size, min_rep) = (a.plan.size, a.plan.rules.min_reputation);
        let weight = a.plan.rules.reputation_weight;
        let bid_cap = self.bid_cap(agent);
        let mut awards = Vec::new();
        let offer = match self.blocked(agent, economy) {
            Some(blocked) => blocked,
            None => {
                let update_bytes = a.plan.update_bytes;
                let bandwidth = economy.plan().bandwidth_usd_per_gb;
                let k = size.clients as usize;
                let (limit, enough) = match self.mechanism {
                    Mechanism::Posted(p) => (p.min(bid_cap), None),
                    _ => (bid_cap, Some((k, min_rep, weight))),
                };
                let offers = self.offers(
                    now,
                    nodes,
                    price_usd,
                    &size,
                    update_bytes,
                    bandwidth,
                    limit,
                    enough,
                );
                awards = match self.mechanism {
                    Mechanism::Posted(p) if p <= bid_cap => {
                        // Every provider willing at the posted price, ranked
                        // by reputation: an auction among equal prices.
                        let takers: Vec<Offer> = offers
                            .iter()
                            .filter(|o| o.price <= p)
                            .map(|o| Offer { price: p, ..*o })
                            .collect();
                        let rules = OrderRules {
                            price_cap: p,
                            min_reputation: min_rep,
                            payment: Payment::FirstPrice,
                            reputation_weight: 0.0,
                        };
                        reverse_auction_k(&takers, &rules, k)
                    }
                    Mechanism::Posted(_) => Vec::new(),
                    Mechanism::ReverseAuction(payment) => {
                        let rules = OrderRules {
                            price_cap: bid_cap,
                            min_reputation: min_rep,
                            payment,
                            reputation_weight: weight,
                        };
                        reverse_auction_k(&offers, &rules, k)
                    }
                    // Only blocked orders are decided here under a double
                    // auction; the others wait for a clearing.
                    Mechanism::DoubleAuction(_) => Vec::new(),
                };
                self.priced(job, &awards, price_usd)
            }
        };
        self.conclude(job, offer, awards, price_usd, sched, nodes, economy)
    }

    /// The agent's choice for `job` given the network's offer and awards,
    /// and what follows from it: the cloud's record, or the protocol's cap
    /// check and the deployment.
    #[allow(clippy::too_many_arguments)]
    fn conclude(
        &mut self,
        job: u32,
        offer: NetworkOffer,
        awards: Vec<Award>,
        price_usd: f64,
        sched: &mut Scheduler<Event>,
        nodes: &mut Nodes,
        economy: &mut Economy,
    ) -> Result<(), String> {
        let now = sched.now();
        let agent = self.records[job as usize].agent;
        let size = self.agents[agent as usize].plan.size;
        let rules = self.agents[agent as usize].plan.rules.clone();
        let quote = CloudQuote {
            cost_usd: self.records[job as usize].cloud_cost_usd,
            staging_usd: self.records[job as usize].cloud_staging_usd,
            time_s: self.records[job as usize].cloud_time_s,
        };
        // A job with a dataset first finds one whose data passes its
        // challenge; its price counts on either venue.
        let mut dataset = None;
        if let (Some(pop), Some(data)) = (self.agents[agent as usize].plan.dataset, &mut self.data)
        {
            let (pick, challenges) = data.pick(job, pop, rules.min_reputation, now, economy)?;
            self.records[job as usize].data_challenges = challenges;
            match pick {
                DataPick::Bought(p) => dataset = Some(p),
                DataPick::NoCleanData => {
                    return self.drop_job(job, "no_clean_data", price_usd, sched);
                }
            }
        }
        let data_tokens = dataset.map_or(0, |p| self.data_price(p).amount());
        let data_usd = as_tokens(data_tokens) * price_usd;
        let a = &self.agents[agent as usize];
        if data_tokens > 0 && !economy.has_amm() && economy.ledger.balance(a.account) < data_tokens
        {
            return self.drop_job(job, "too_few_tokens", price_usd, sched);
        }
        let network_time = (!awards.is_empty()).then(|| {
            let speeds: Vec<pricing::ProviderSpeed> = awards
                .iter()
                .map(|w| {
                    let i = w.provider as usize;
                    pricing::ProviderSpeed {
                        down_bps: nodes.down_bps[i],
                        up_bps: nodes.up_bps[i],
                        flops: nodes.effective_flops(w.provider),
                    }
                })
                .collect();
            let host_up: Vec<f64> = dataset
                .and_then(|p| self.data.as_ref().map(|d| &d.providers[p as usize].hosts))
                .map(|hosts| hosts.iter().map(|&h| nodes.up_bps[h as usize]).collect())
                .unwrap_or_default();
            pricing::network_time_s(&speeds, &size, a.plan.update_bytes, &host_up)
        });
        let per_hour = a.plan.usd_per_hour;
        let limits = Limits {
            budget_left_usd: (a.plan.budget_usd - a.spent_usd).max(0.0),
            max_budget_share: rules.max_budget_share,
            // With a token pool the agent buys what it pays with.
            tokens: if economy.has_amm() {
                f64::INFINITY
            } else {
                as_tokens(economy.ledger.balance(a.account) - data_tokens)
            },
            value_usd: a.plan.value_usd,
            network_wait_usd: per_hour * network_time.unwrap_or(0.0) / 3600.0,
            cloud_wait_usd: per_hour * quote.time_s / 3600.0,
        };
        // The dataset costs the same on both venues: it decides no
        // comparison, but counts against the budget and the model's value.
        let with_data = match offer {
            NetworkOffer::Priced { tokens, cost_usd } => NetworkOffer::Priced {
                tokens,
                cost_usd: cost_usd + data_usd,
            },
            other => other,
        };
        let choice = choose(a.plan.policy, with_data, quote.cost_usd + data_usd, &limits);
        let r = &mut self.records[job as usize];
        r.t_decided = now;
        r.venue = choice.venue;
        r.reason = choice.reason;
        r.token_price_usd = price_usd;
        r.network_time_est_s = network_time;
        if let NetworkOffer::Priced { cost_usd, .. } = offer {
            r.network_cost_usd = Some(cost_usd);
            r.price_tokens_per_pflop =
                Some(awards.iter().map(|w| w.paid).sum::<f64>() / awards.len().max(1) as f64);
        }
        self.epoch.jobs += 1;
        if offer == NetworkOffer::TooFewProviders && a.plan.policy != AgentPolicy::CloudOnly {
            self.epoch.unfilled_pflop += size.pflop();
            self.unfilled_pflop += size.pflop();
        }
        match choice.venue {
            Venue::Cloud => {
                self.epoch.cloud_jobs += 1;
                r.cost_usd = quote.cost_usd;
                r.outcome = Outcome::Finished;
                r.t_end = Some(now.saturating_add(SimTime::from_secs_f64_ceil(quote.time_s)));
                self.agents[agent as usize].spent_usd += quote.cost_usd;
                if let Some(p) = dataset {
                    self.buy_data(job, p, now, economy)?;
                }
                Ok(())
            }
            Venue::Dropped => {
                self.epoch.dropped_jobs += 1;
                self.maybe_retry(job, sched);
                Ok(())
            }
            Venue::Network => {
                if awards
                    .iter()
                    .any(|w| w.paid > rules.price_cap_tokens_per_pflop)
                {
                    // The protocol refuses a deployment above the agent's cap.
                    r.venue = Venue::Dropped;
                    r.reason = "rule_breach";
                    r.outcome = Outcome::Refused;
                    self.epoch.dropped_jobs += 1;
                    self.punish(job, AgentOffenceKind::PriceCapBreach, now, economy)?;
                    self.maybe_retry(job, sched);
                    return Ok(());
                }
                self.epoch.network_jobs += 1;
                let pflop = size.pflop();
                self.epoch.volume_pflop += pflop;
                let paid_mean = r.price_tokens_per_pflop.unwrap_or(0.0);
                self.epoch.awarded_tokens += paid_mean * pflop;
                if let Some(p) = dataset {
                    self.buy_data(job, p, now, economy)?;
                }
                self.deploy(job, &awards, dataset, sched, nodes)
            }
        }
    }

    /// Leases the awarded providers and starts the job on them.
    fn deploy(
        &mut self,
        job: u32,
        awards: &[Award],
        dataset: Option<u32>,
        sched: &mut Scheduler<Event>,
        nodes: &mut Nodes,
    ) -> Result<(), String> {
        let index = self.jobs.len() + 1;
        if index > usize::from(u16::MAX) {
            return Err(format!(
                "more than {} jobs ran on the network; the market supports at most that many per run",
                u16::MAX
            ));
        }
        let mut hired: Vec<(u32, u128)> = awards
            .iter()
            .map(|w| (w.provider, (w.paid * TOKEN as f64).round() as u128))
            .collect();
        hired.sort_unstable_by_key(|h| h.0);
        let r = &mut self.records[job as usize];
        r.providers = hired.iter().map(|h| h.0).collect();
        let a = &self.agents[r.agent as usize].plan;
        let clients = r.providers.clone();
        for &n in &clients {
            nodes.occupy(n);
        }
        let shard = a.size.data_bytes / u64::from(a.size.clients.max(1));
        // A bought dataset is staged from its hosts; other data rides with
        // round 0's model.
        let stage = dataset.and_then(|p| {
            let hosts = self.data.as_ref()?.providers[p as usize].hosts.clone();
            Some(Staging {
                hosts,
                shard_bytes: shard,
            })
        });
        let plan = JobPlan {
            count: a.size.rounds,
            model_bytes: a.size.model_bytes,
            update_bytes: a.update_bytes,
            settle: false,
            clients: Some(clients),
            first_broadcast_extra: if stage.is_some() { 0 } else { shard },
            stage,
        };
        let id = JobId(index as u16);
        let learner = TimingOnly {
            work_flops: a.size.pflop_per_client_round * 1e15,
        };
        let rounds = Versioned::new(RoundParams {
            clients_per_round: a.size.clients,
            min_clients: 1,
            retry_after: SimTime::from_secs(60),
            deadline: a.deadline,
            gap: SimTime::ZERO,
        });
        let seed = crate::engine::rng::stream_key(self.seed, "market-job", u64::from(job));
        self.jobs.push(NetworkJob {
            record: job as usize,
            job: Job::new(id, plan, learner, seed),
            rounds,
            price: hired.iter().map(|h| h.1).collect(),
            data: dataset,
            stopped: false,
        });
        self.running += 1;
        sched.schedule_at(sched.now(), Event::Job(JobEvent::StartRound { job: id }));
        Ok(())
    }

    /// The network job with `id`, with its round parameters, unless it has
    /// stopped.
    pub fn job_mut(
        &mut self,
        id: JobId,
    ) -> Option<(&mut Job<TimingOnly>, &Versioned<RoundParams>)> {
        let j = self.jobs.get_mut(usize::from(id.0).checked_sub(1)?)?;
        (!j.stopped).then_some((&mut j.job, &j.rounds))
    }

    /// Pays for a closed round of network job `id`: each accepted provider
    /// its price × the round's work, from the agent to the provider's
    /// operator; an agent that does not pay is slashed and barred and its
    /// job stopped. The job is released once its last round closed.
    pub fn on_round_closed(
        &mut self,
        id: JobId,
        closed: &RoundClosed,
        nodes: &mut Nodes,
        economy: &mut Economy,
    ) -> Result<(), String> {
        let index = usize::from(id.0) - 1;
        let now = closed.t_end;
        let (record, done) = {
            let j = &mut self.jobs[index];
            j.job.take_records(None);
            (j.record, j.job.is_done())
        };
        let agent = self.records[record].agent as usize;
        let size = self.agents[agent].plan.size;
        self.records[record].rounds_done += 1;
        economy.ledger.set_time(now.nanos());
        let price = economy.price_at(now);
        let mut due: Vec<(u32, u128)> = Vec::new();
        for c in &closed.accepted {
            let slot = self.records[record]
                .providers
                .binary_search(&c.node)
                .expect("contributors are hired providers");
            let per_pflop = self.jobs[index].price[slot];
            let amount = (per_pflop as f64 * size.pflop_per_client_round).round() as u128;
            due.push((c.node, amount));
        }
        let total: u128 = due.iter().map(|d| d.1).sum();
        let account = self.agents[agent].account;
        // With a token pool the agent buys the tokens it pays with.
        let defaults = self.agents[agent].plan.behaviour == AgentBehaviour::Defaulter
            || (!economy.has_amm() && economy.ledger.balance(account) < total);
        if defaults && total > 0 {
            return self.abort_for_default(index, now, nodes, economy);
        }
        let bought_usd = if economy.has_amm() && total > 0 {
            Some(economy.buy_from_amm(account, total)?)
        } else {
            None
        };
        for (node, amount) in due {
            if amount == 0 {
                continue;
            }
            let op = nodes.operator[node as usize] as usize;
            let to = economy.operator_account[op];
            economy
                .ledger
                .transfer(EntryKind::Fee, account, to, amount, "compute purchase")
                .map_err(|e| format!("ledger refused an agent's payment: {e}"))?;
            let seq = economy.ledger.last_seq();
            let r = &mut self.records[record];
            r.first_payment_seq = r.first_payment_seq.or(seq);
            r.paid += amount;
            self.epoch.paid += amount;
            economy.book_market_work(node, amount, size.pflop_per_client_round * 1e15, nodes);
        }
        for &(node, bytes) in &closed.traffic {
            economy.book_market_traffic(node, bytes, nodes);
        }
        for &(host, bytes) in &closed.served {
            economy.book_data_served(host, bytes, nodes);
        }
        let spent = bought_usd.unwrap_or(as_tokens(total) * price)
            + pricing::broadcast_usd(closed.traffic.len() as u32, &size, &self.cloud);
        self.agents[agent].spent_usd += spent;
        let r = &mut self.records[record];
        r.cost_usd += spent;
        if r.rounds_done == 1 {
            // Data staging is paid once, with the first round.
            let staging = size.data_bytes as f64 / 1e9 * self.cloud.staging_usd_per_gb;
            r.cost_usd += staging;
            self.agents[agent].spent_usd += staging;
        }
        if done {
            self.records[record].outcome = Outcome::Finished;
            self.stop(index, now, nodes);
        }
        Ok(())
    }

    /// Punishes the agent of network job `index` for a payment default
    /// and stops the job.
    fn abort_for_default(
        &mut self,
        index: usize,
        now: SimTime,
        nodes: &mut Nodes,
        economy: &mut Economy,
    ) -> Result<(), String> {
        let record = self.jobs[index].record;
        self.punish(
            record as u32,
            AgentOffenceKind::PaymentDefault,
            now,
            economy,
        )?;
        self.records[record].outcome = Outcome::AbortedDefault;
        self.stop(index, now, nodes);
        Ok(())
    }

    /// Releases a network job's providers and closes its record.
    fn stop(&mut self, index: usize, now: SimTime, nodes: &mut Nodes) {
        let j = &mut self.jobs[index];
        j.stopped = true;
        self.running -= 1;
        let r = &mut self.records[j.record];
        r.t_end = Some(now);
        for &n in &r.providers {
            nodes.release(n);
        }
    }

    /// Slashes the agent of `job` for `kind` and bars it from the network.
    fn punish(
        &mut self,
        job: u32,
        kind: AgentOffenceKind,
        now: SimTime,
        economy: &mut Economy,
    ) -> Result<(), String> {
        let agent = self.records[job as usize].agent;
        let a = &mut self.agents[agent as usize];
        a.barred = true;
        let (penalty, ledger_seq) = economy
            .slash_share_to_treasury(a.account, self.slash_ppm, now, "agent offence")
            .map_err(|e| format!("ledger refused an agent's slash: {e}"))?;
        self.offences.push(AgentOffence {
            t: now,
            agent,
            job,
            kind,
            penalty,
            ledger_seq,
        });
        Ok(())
    }

    /// Closes the market's epoch figures (called as the economy settles
    /// one), then renews the per-epoch data access of the jobs still
    /// training: an agent that cannot pay is punished as a defaulter and
    /// its job stopped.
    pub fn close_epoch(
        &mut self,
        now: SimTime,
        nodes: &mut Nodes,
        economy: &mut Economy,
    ) -> Result<(), String> {
        if let Some(d) = economy.data_rewards() {
            self.epoch.data_rewards = d.last_paid;
        }
        self.epochs.push(std::mem::take(&mut self.epoch));
        for index in 0..self.jobs.len() {
            let j = &self.jobs[index];
            let Some(p) = j.data.filter(|_| !j.stopped) else {
                continue;
            };
            if !matches!(self.data_price(p), DataPrice::PerEpoch(_)) {
                continue;
            }
            let record = j.record;
            let agent = &self.agents[self.records[record].agent as usize];
            let amount = self.data_price(p).amount();
            let short = !economy.has_amm() && economy.ledger.balance(agent.account) < amount;
            if agent.plan.behaviour == AgentBehaviour::Defaulter || short {
                self.abort_for_default(index, now, nodes, economy)?;
            } else {
                self.buy_data(record as u32, p, now, economy)?;
            }
        }
        Ok(())
    }

    /// The price of data provider `p`'s dataset.
    fn data_price(&self, p: u32) -> DataPrice {
        self.data.as_ref().expect("a data market").providers[p as usize].price
    }

    /// Records `job` as dropped for `reason` when it is decided (and
    /// schedules its retry).
    fn drop_job(
        &mut self,
        job: u32,
        reason: &'static str,
        price_usd: f64,
        sched: &mut Scheduler<Event>,
    ) -> Result<(), String> {
        let r = &mut self.records[job as usize];
        r.t_decided = sched.now();
        r.venue = Venue::Dropped;
        r.reason = reason;
        r.token_price_usd = price_usd;
        self.epoch.jobs += 1;
        self.epoch.dropped_jobs += 1;
        self.maybe_retry(job, sched);
        Ok(())
    }

    /// Job `job`'s agent pays data provider `p` for its dataset (the first
    /// purchase or an epoch's renewal): a ledger `fee` entry, memo `data
    /// purchase` (with a token pool the agent buys the tokens first).
    fn buy_data(
        &mut self,
        job: u32,
        p: u32,
        now: SimTime,
        economy: &mut Economy,
    ) -> Result<(), String> {
        let data = self.data.as_mut().expect("a data market");
        let (to, amount, poisoned) = {
            let provider = &data.providers[p as usize];
            (provider.account, provider.price.amount(), provider.poisoned)
        };
        let r = &mut self.records[job as usize];
        let a = &mut self.agents[r.agent as usize];
        if r.data_provider.is_none() {
            data.providers[p as usize].sales += 1;
        }
        r.data_provider = Some(p);
        r.data_poisoned = poisoned;
        if amount == 0 {
            return Ok(());
        }
        economy.ledger.set_time(now.nanos());
        let usd = if economy.has_amm() {
            economy.buy_from_amm(a.account, amount)?
        } else {
            as_tokens(amount) * economy.price_at(now)
        };
        economy
            .ledger
            .transfer(EntryKind::Fee, a.account, to, amount, "data purchase")
            .map_err(|e| format!("ledger refused a data purchase: {e}"))?;
        r.first_payment_seq = r.first_payment_seq.or(economy.ledger.last_seq());
        r.data_paid += amount;
        r.data_usd += usd;
        r.cost_usd += usd;
        a.spent_usd += usd;
        self.epoch.data_paid += amount;
        data.book_sale(p, amount, economy);
        Ok(())
    }

    /// Marks jobs still training as running, adding their open rounds'
    /// statistics to their nodes (the run is over).
    pub fn end_of_run(&mut self, nodes: &mut Nodes) {
        for j in &mut self.jobs {
            if !j.stopped {
                j.job.end_of_run(nodes);
                self.records[j.record].outcome = Outcome::Running;
            }
        }
    }
}
