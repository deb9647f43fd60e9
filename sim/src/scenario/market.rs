//! The `market` section: agents that buy training on the network or rent
//! the cloud, and the compute market that prices the network's GPU time.

use super::data_market::DataMarketSpec;
use super::{ByteSize, Duration};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Agents, their job streams and the compute market (needs `economics`
/// with a `cloud` baseline: agents compare the network with it).
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MarketSpec {
    /// Agents submit jobs until this simulated time; the run ends once
    /// they and the protocol's own job are done.
    pub until: Duration,
    /// How the network's GPU time is priced.
    #[serde(deserialize_with = "super::tagged::one_key_map")]
    pub mechanism: MechanismSpec,
    /// Time an order stays open for providers' bids; the job starts (or
    /// goes to the cloud) when it closes (default 5m).
    #[serde(default = "five_minutes")]
    pub bid_window: Duration,
    /// Jobs a node trains at once (default 1). A node leased to a job is
    /// not selected by the protocol's own job either.
    #[serde(default = "one")]
    pub slots_per_node: u32,
    /// Operators ask their USD cost per PFLOP (electricity at their
    /// region's price while computing, plus their hardware's amortization
    /// over the hours a PFLOP takes) times `1 + margin`, in tokens at the
    /// current price (default 0.2).
    #[serde(default = "default_margin")]
    pub operator_margin: f64,
    /// Tokens an agent must keep staked to deploy on the network.
    #[serde(default)]
    pub min_agent_stake: f64,
    /// Share of an agent's stake slashed when it breaks a rule (bids above
    /// its cap, defaults on a payment); it is then barred from the network
    /// (default 0.5). An agent below `min_agent_stake` is not slashed: the
    /// protocol never lets it deploy.
    #[serde(default = "half")]
    pub agent_slash_fraction: f64,
    /// The agent populations.
    pub agents: Vec<AgentSpec>,
    /// Data providers whose datasets jobs buy (`jobs.dataset`); see
    /// [`DataMarketSpec`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data: Option<DataMarketSpec>,
}

/// How the network's GPU time is priced.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum MechanismSpec {
    /// The protocol posts one price; the job takes the first idle nodes
    /// that accept it (their ask at or below it), best reputation first.
    PostedPrice {
        /// Tokens per PFLOP of work.
        tokens_per_pflop: f64,
    },
    /// Akash-style: each job's order is published, every idle provider
    /// bids its ask, and the job hires the cheapest eligible ones.
    ReverseAuction {
        /// `first_price` (each winner is paid its own ask) or
        /// `second_price` (every winner is paid the best losing ask).
        #[serde(default)]
        payment: PaymentSpec,
    },
    /// A uniform-price double auction every `every`: the orders closed
    /// since the last clearing bid for their nodes (each at its cap, or
    /// the cloud's compute price in tokens if lower), every idle node asks
    /// its compute cost per PFLOP, and all trades clear at one price, the
    /// midpoint of the marginal bid and ask. A job filled short, or with a
    /// node below its reputation floor, takes no network nodes.
    DoubleAuction {
        /// Time between clearings (default 1h).
        #[serde(default = "one_hour")]
        every: Duration,
    },
}

/// How the winners of a reverse auction are paid.
#[derive(Clone, Copy, Debug, Default, Deserialize, Serialize, JsonSchema, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum PaymentSpec {
    /// Each winner its own ask.
    #[default]
    FirstPrice,
    /// Every winner the best losing ask (or the cap when none lost).
    SecondPrice,
}

/// A population of agents with the same budget, jobs and rules.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AgentSpec {
    /// Population name (agents are `NAME-0`, `NAME-1`, … on the ledger).
    pub name: String,
    /// Agents in the population (default 1).
    #[serde(default = "one")]
    pub count: u32,
    /// Tokens each agent holds at genesis (to pay the network).
    #[serde(default)]
    pub tokens: f64,
    /// Of those, tokens each stakes at genesis (its deposit for deploying).
    #[serde(default)]
    pub stake: f64,
    /// USD each agent may spend over the run, on either venue.
    pub budget_usd: f64,
    /// How the agent chooses a venue (default `cheapest`).
    #[serde(default)]
    pub policy: AgentPolicy,
    /// Whether it obeys its rules (default `honest`).
    #[serde(default)]
    pub behaviour: AgentBehaviour,
    /// The jobs it submits.
    pub jobs: JobStreamSpec,
    /// Its on-chain rules.
    #[serde(default)]
    pub rules: AgentRules,
}

/// How an agent chooses between the network and the cloud.
#[derive(Clone, Copy, Debug, Default, Deserialize, Serialize, JsonSchema, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum AgentPolicy {
    /// The venue whose cost for the job is lower by the agent's own
    /// accounting (network: tokens paid × token price + data staging;
    /// cloud: GPU-hours × price + data staging + model egress); the cloud
    /// on a tie.
    #[default]
    Cheapest,
    /// The network whenever its rules allow, else the cloud.
    NetworkOnly,
    /// Always the cloud.
    CloudOnly,
}

/// Whether an agent obeys its on-chain rules.
#[derive(Clone, Copy, Debug, Default, Deserialize, Serialize, JsonSchema, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum AgentBehaviour {
    /// Obeys them.
    #[default]
    Honest,
    /// Orders at twice its price cap until the protocol catches an award
    /// above the cap.
    Overspender,
    /// Deploys, then pays nothing for the work.
    Defaulter,
}

/// The jobs an agent submits.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct JobStreamSpec {
    /// Jobs arrive as a Poisson stream with this mean gap (drawn from the
    /// `market` seed), or every `every` exactly with `poisson: false`.
    pub every: Duration,
    /// Whether gaps are exponential (default true) or fixed.
    #[serde(default = "yes")]
    pub poisson: bool,
    /// Federated rounds per job.
    pub rounds: u32,
    /// Nodes a job trains on (it needs all of them hired to run on the
    /// network).
    pub clients: u32,
    /// Work per client per round, PFLOP.
    pub pflop_per_client_round: f64,
    /// Model size sent to each client every round.
    pub model_bytes: ByteSize,
    /// Update size each client returns every round (default: the model's).
    #[serde(default)]
    pub update_bytes: Option<ByteSize>,
    /// Training data the job moves to where it trains: on the network each
    /// client downloads its shard (`data_bytes / clients`) with round 0's
    /// model; the cloud stages it all once. Not with `dataset`.
    #[serde(default)]
    pub data_bytes: ByteSize,
    /// A data provider population of `market.data` whose dataset each job
    /// buys (its size replaces `data_bytes`): the agent pays a provider
    /// for it on either venue, and on the network each client downloads
    /// its shard from the provider's hosting nodes before its first model.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dataset: Option<String>,
    /// A round's deadline on the network (default 1h).
    #[serde(default = "one_hour")]
    pub deadline: Duration,
    /// USD a finished model is worth to the agent: it never pays more.
    pub value_usd: f64,
    /// Times the agent submits a job again after it was trained nowhere
    /// (venue `none`: dropped for its budget, value, tokens or lack of
    /// clean data), each `retry_after` later, while before `until`
    /// (default 0).
    #[serde(default)]
    pub retries: u32,
    /// Time between a dropped job and its resubmission (default 1h).
    #[serde(default = "one_hour")]
    pub retry_after: Duration,
    /// What an hour of waiting for the model costs the agent, USD: each
    /// venue's estimated time is counted at this price when it compares
    /// them (default 0: price only).
    #[serde(default)]
    pub usd_per_hour: f64,
}

/// An agent's on-chain rules, enforced by the protocol on the network.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AgentRules {
    /// Highest price it may pay, tokens per PFLOP (default: no cap).
    #[serde(default = "unbounded")]
    pub price_cap_tokens_per_pflop: f64,
    /// Largest share of its remaining USD budget one job may cost (default 1).
    #[serde(default = "full")]
    pub max_budget_share: f64,
    /// Lowest reputation of a provider it hires, in [0, 1] (default 0).
    #[serde(default)]
    pub min_reputation: f64,
    /// How much a provider's reputation counts when it hires in a reverse
    /// auction, w in [0, 10] (default 0: the cheapest asks win): offers
    /// rank by `ask / reputation^w`, and second price pays each winner
    /// the highest ask at which it would still have won.
    #[serde(default)]
    pub reputation_weight: f64,
}

impl Default for AgentRules {
    fn default() -> Self {
        AgentRules {
            price_cap_tokens_per_pflop: unbounded(),
            max_budget_share: 1.0,
            min_reputation: 0.0,
            reputation_weight: 0.0,
        }
    }
}

fn five_minutes() -> Duration {
    Duration(crate::engine::SimTime::from_secs(300))
}

fn one_hour() -> Duration {
    Duration(crate::engine::SimTime::from_secs(3600))
}

fn one() -> u32 {
    1
}

fn yes() -> bool {
    true
}

fn half() -> f64 {
    0.5
}

fn full() -> f64 {
    1.0
}

fn default_margin() -> f64 {
    0.2
}

fn unbounded() -> f64 {
    f64::MAX
}

/// Most agents a market may declare.
pub const MAX_AGENTS: u64 = 1_000_000;
/// Most jobs the agents may be expected to submit (mean gaps over `until`).
pub const MAX_EXPECTED_JOBS: f64 = 50_000.0;

/// Whether `name` (or `name-i`) would clash with the protocol's accounts.
pub(super) fn reserved_name(name: &str) -> bool {
    [
        "treasury",
        "reward-pool",
        "job-owner",
        "operator",
        "validator",
        "amm",
    ]
    .iter()
    .any(|r| name == *r || name.starts_with(&format!("{r}-")))
}

/// The `market` section's numbers and references.
pub(super) fn check(c: &mut super::validate::Checker, m: &MarketSpec, s: &super::Scenario) {
    let has_cloud = s.economics.as_ref().is_some_and(|e| e.cloud.is_some());
    if !has_cloud {
        c.err(
            "market",
            "a market needs an `economics` section with a `cloud` baseline (agents compare the network with it)",
        );
    }
    c.positive_duration("market.until", m.until);
    c.positive_duration("market.bid_window", m.bid_window);
    if !(1..=64).contains(&m.slots_per_node) {
        c.err(
            "market.slots_per_node",
            format!("expected 1 to 64 jobs per node, found {}", m.slots_per_node),
        );
    }
    c.num(
        "market.operator_margin",
        m.operator_margin,
        0.0,
        false,
        100.0,
    );
    let max_tokens = dmlsim_models::econ::MAX_SUPPLY_TOKENS;
    c.num(
        "market.min_agent_stake",
        m.min_agent_stake,
        0.0,
        false,
        max_tokens,
    );
    c.num(
        "market.agent_slash_fraction",
        m.agent_slash_fraction,
        0.0,
        false,
        1.0,
    );
    if let MechanismSpec::DoubleAuction { every } = m.mechanism {
        c.positive_duration("market.mechanism.double_auction.every", every);
    }
    if let MechanismSpec::PostedPrice { tokens_per_pflop } = m.mechanism {
        c.num(
            "market.mechanism.posted_price.tokens_per_pflop",
            tokens_per_pflop,
            0.0,
            true,
            1e12,
        );
    }
    if m.agents.is_empty() {
        c.err("market.agents", "expected at least one agent population");
    }
    let holders: Vec<&str> = s
        .economics
        .iter()
        .flat_map(|e| e.genesis.holders.iter().map(|h| h.name.as_str()))
        .collect();
    let mut seen = std::collections::BTreeSet::new();
    let (mut agents, mut expected_jobs) = (0u64, 0.0);
    for (i, a) in m.agents.iter().enumerate() {
        let p = format!("market.agents[{i}]");
        if a.name.trim().is_empty() {
            c.err(format!("{p}.name"), "expected a non-empty name");
        } else if !seen.insert(a.name.as_str()) {
            c.err(format!("{p}.name"), format!("duplicate name `{}`", a.name));
        } else if reserved_name(&a.name) {
            c.err(
                format!("{p}.name"),
                format!("`{}` would clash with the protocol's accounts (treasury, reward-pool, job-owner, operator-N, validator-N, amm-pool, amm-buyers)", a.name),
            );
        } else if holders.contains(&a.name.as_str()) {
            c.err(
                format!("{p}.name"),
                format!("`{}` is already a genesis holder group", a.name),
            );
        }
        if a.count == 0 {
            c.err(format!("{p}.count"), "expected at least 1 agent, found 0");
        }
        agents += u64::from(a.count);
        c.num(&format!("{p}.tokens"), a.tokens, 0.0, false, max_tokens);
        c.num(
            &format!("{p}.stake"),
            a.stake,
            0.0,
            false,
            a.tokens.max(0.0),
        );
        c.num(&format!("{p}.budget_usd"), a.budget_usd, 0.0, false, 1e15);
        let j = &a.jobs;
        let jp = format!("{p}.jobs");
        c.positive_duration(&format!("{jp}.every"), j.every);
        c.positive_duration(&format!("{jp}.deadline"), j.deadline);
        c.positive_duration(&format!("{jp}.retry_after"), j.retry_after);
        if j.retries > 100 {
            c.err(
                format!("{jp}.retries"),
                format!("expected at most 100 retries, found {}", j.retries),
            );
        }
        if !(1..=1_000_000).contains(&j.rounds) {
            c.err(
                format!("{jp}.rounds"),
                format!("expected 1 to 1000000 rounds, found {}", j.rounds),
            );
        }
        if !(1..=100_000).contains(&j.clients) {
            c.err(
                format!("{jp}.clients"),
                format!("expected 1 to 100000 clients, found {}", j.clients),
            );
        }
        c.num(
            &format!("{jp}.pflop_per_client_round"),
            j.pflop_per_client_round,
            0.0,
            true,
            1e9,
        );
        if j.model_bytes.0 == 0 {
            c.err(format!("{jp}.model_bytes"), "expected more than 0 bytes");
        }
        if j.dataset.is_some() && j.data_bytes.0 > 0 {
            c.err(
                format!("{jp}.data_bytes"),
                "give `dataset` or `data_bytes`, not both (a dataset's size is its provider's `dataset_bytes`)",
            );
        }
        if j.dataset.is_some() && m.data.is_none() {
            c.err(
                format!("{jp}.dataset"),
                "a job's dataset names a provider population of `market.data`, which this scenario lacks",
            );
        }
        if j.update_bytes.is_some_and(|b| b.0 == 0) {
            c.err(format!("{jp}.update_bytes"), "expected more than 0 bytes");
        }
        c.num(&format!("{jp}.value_usd"), j.value_usd, 0.0, false, 1e15);
        c.num(
            &format!("{jp}.usd_per_hour"),
            j.usd_per_hour,
            0.0,
            false,
            1e12,
        );
        let r = &a.rules;
        let rp = format!("{p}.rules");
        c.num(
            &format!("{rp}.price_cap_tokens_per_pflop"),
            r.price_cap_tokens_per_pflop,
            0.0,
            true,
            f64::MAX,
        );
        c.num(
            &format!("{rp}.max_budget_share"),
            r.max_budget_share,
            0.0,
            true,
            1.0,
        );
        c.num(
            &format!("{rp}.min_reputation"),
            r.min_reputation,
            0.0,
            false,
            1.0,
        );
        c.num(
            &format!("{rp}.reputation_weight"),
            r.reputation_weight,
            0.0,
            false,
            10.0,
        );
        let gap = j.every.time().as_secs_f64();
        if gap > 0.0 {
            expected_jobs += f64::from(a.count) * m.until.time().as_secs_f64() / gap;
        }
    }
    if let Some(d) = &m.data {
        let taken: Vec<&str> = holders
            .iter()
            .copied()
            .chain(m.agents.iter().map(|a| a.name.as_str()))
            .collect();
        super::data_market::check(c, d, m, &taken);
        if s.nodes.is_none() {
            // With a node table the count is checked once it is read.
            let nodes = s.populations.iter().map(|p| u64::from(p.count)).sum();
            for (path, problem) in super::data_market::node_count_problems(d, nodes) {
                c.err(path, problem);
            }
        }
    }
    if agents > MAX_AGENTS {
        c.err(
            "market.agents",
            format!("expected at most {MAX_AGENTS} agents in all, found {agents}"),
        );
    }
    if expected_jobs > MAX_EXPECTED_JOBS {
        c.err(
            "market.agents",
            format!(
                "the agents would submit about {expected_jobs:.0} jobs before `until`; at most {MAX_EXPECTED_JOBS:.0} are supported: lengthen `every` or shorten `until`"
            ),
        );
    }
}
