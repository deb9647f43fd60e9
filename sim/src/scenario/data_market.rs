//! The `market.data` section: Ocean-style data providers, each its own
//! ledger account listing one dataset that agents' jobs buy, stage and may
//! find poisoned.

use super::ByteSize;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Data providers and how buyers check their data.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DataMarketSpec {
    /// Probability that a buyer's challenge — validating a sample of a
    /// poisoned dataset against its own held-out set before it pays —
    /// detects the poison, per purchase (default 0.8). Drawn from the
    /// `market` seed.
    #[serde(default = "default_detection")]
    pub detection: f64,
    /// Share of a provider's stake slashed (to the treasury) each time its
    /// poisoned data is detected (default 0.5).
    #[serde(default = "half")]
    pub provider_slash_fraction: f64,
    /// The provider populations.
    pub providers: Vec<DataProviderSpec>,
}

/// A population of data providers listing the same kind of dataset.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DataProviderSpec {
    /// Population name: jobs name it in `jobs.dataset`; providers are
    /// `NAME-0`, `NAME-1`, … on the ledger (`NAME` alone when `count` is 1).
    pub name: String,
    /// Providers in the population (default 1).
    #[serde(default = "one")]
    pub count: u32,
    /// Tokens each provider holds at genesis.
    #[serde(default)]
    pub tokens: f64,
    /// Of those, tokens each stakes at genesis (slashable for poisoned data).
    #[serde(default)]
    pub stake: f64,
    /// Size of each provider's dataset: a job buying it stages all of it,
    /// one shard per client on the network.
    pub dataset_bytes: ByteSize,
    /// Nodes hosting a copy of each provider's dataset (default 2): a
    /// job's clients download their shards from them, round robin, and
    /// the hosts earn the rewards split's `storage` and `relay` shares.
    #[serde(default = "two")]
    pub replicas: u32,
    /// What a job pays the provider for the dataset.
    #[serde(deserialize_with = "super::tagged::one_key_map")]
    pub price: DataPriceSpec,
    /// How many of the population's providers list mislabelled or
    /// poisoned data (default 0): `NAME-0` to `NAME-(poisoned-1)`. A
    /// buyer's challenge catches it with probability `detection`; a model
    /// trained on it is worthless.
    #[serde(default)]
    pub poisoned: u32,
}

/// A dataset's price in tokens.
#[derive(Clone, Copy, Debug, Deserialize, Serialize, JsonSchema, PartialEq)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum DataPriceSpec {
    /// Once per job that uses it.
    PerUse(f64),
    /// Per economic epoch of access: once when the job buys it and again
    /// at each epoch settlement while the job trains on the network.
    PerEpoch(f64),
}

impl DataPriceSpec {
    /// The price in tokens, whatever it is charged for.
    pub fn tokens(self) -> f64 {
        match self {
            DataPriceSpec::PerUse(t) | DataPriceSpec::PerEpoch(t) => t,
        }
    }
}

fn default_detection() -> f64 {
    0.8
}

fn half() -> f64 {
    0.5
}

fn one() -> u32 {
    1
}

fn two() -> u32 {
    2
}

/// Most data providers a market may declare.
pub const MAX_PROVIDERS: u64 = 100_000;

/// Replica counts against the number of nodes (known once a node table
/// is read): each replica is a distinct node.
pub(super) fn node_count_problems(d: &DataMarketSpec, nodes: u64) -> Vec<(String, String)> {
    d.providers
        .iter()
        .enumerate()
        .filter(|(_, p)| u64::from(p.replicas) > nodes)
        .map(|(i, p)| {
            (
                format!("market.data.providers[{i}].replicas"),
                format!(
                    "{} hosting nodes, but the node table and populations hold only {nodes} nodes",
                    p.replicas
                ),
            )
        })
        .collect()
}

/// The `market.data` section's numbers, names and the datasets jobs name.
pub(super) fn check(
    c: &mut super::validate::Checker,
    d: &DataMarketSpec,
    market: &super::MarketSpec,
    taken: &[&str],
) {
    c.num("market.data.detection", d.detection, 0.0, false, 1.0);
    c.num(
        "market.data.provider_slash_fraction",
        d.provider_slash_fraction,
        0.0,
        false,
        1.0,
    );
    if d.providers.is_empty() {
        c.err(
            "market.data.providers",
            "expected at least one provider population",
        );
    }
    let max_tokens = dmlsim_models::econ::MAX_SUPPLY_TOKENS;
    let mut seen = std::collections::BTreeSet::new();
    let mut count = 0u64;
    for (i, p) in d.providers.iter().enumerate() {
        let path = format!("market.data.providers[{i}]");
        if p.name.trim().is_empty() {
            c.err(format!("{path}.name"), "expected a non-empty name");
        } else if !seen.insert(p.name.as_str()) {
            c.err(
                format!("{path}.name"),
                format!("duplicate name `{}`", p.name),
            );
        } else if super::market::reserved_name(&p.name) || taken.contains(&p.name.as_str()) {
            c.err(
                format!("{path}.name"),
                format!(
                    "`{}` would clash with another account (the protocol's, a genesis group's or an agent population's)",
                    p.name
                ),
            );
        }
        if p.count == 0 {
            c.err(
                format!("{path}.count"),
                "expected at least 1 provider, found 0",
            );
        }
        count += u64::from(p.count);
        if p.poisoned > p.count {
            c.err(
                format!("{path}.poisoned"),
                format!(
                    "expected at most the population's {} providers, found {}",
                    p.count, p.poisoned
                ),
            );
        }
        c.num(&format!("{path}.tokens"), p.tokens, 0.0, false, max_tokens);
        c.num(
            &format!("{path}.stake"),
            p.stake,
            0.0,
            false,
            p.tokens.max(0.0),
        );
        if p.dataset_bytes.0 == 0 {
            c.err(
                format!("{path}.dataset_bytes"),
                "expected more than 0 bytes",
            );
        }
        if p.replicas == 0 {
            c.err(
                format!("{path}.replicas"),
                "expected at least 1 hosting node, found 0",
            );
        }
        c.num(
            &format!("{path}.price"),
            p.price.tokens(),
            0.0,
            false,
            max_tokens,
        );
    }
    if count > MAX_PROVIDERS {
        c.err(
            "market.data.providers",
            format!("expected at most {MAX_PROVIDERS} providers in all, found {count}"),
        );
    }
    for (i, a) in market.agents.iter().enumerate() {
        if let Some(name) = &a.jobs.dataset
            && !d.providers.iter().any(|p| &p.name == name)
        {
            let known: Vec<&str> = d.providers.iter().map(|p| p.name.as_str()).collect();
            c.err(
                format!("market.agents[{i}].jobs.dataset"),
                format!(
                    "no provider population `{name}` in market.data.providers (it has: {})",
                    known.join(", ")
                ),
            );
        }
    }
}
