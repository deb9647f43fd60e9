//! The data market: providers, each a ledger account listing one dataset
//! hosted on a few nodes; a job's agent picks a provider by price weighted
//! by reputation, challenges the data (a poisoned dataset is caught with
//! the documented probability, its provider slashed and its reputation
//! cut) and pays the first provider whose data passes.
//!
//! ```text
//!  job decided ─▶ candidates (reputation ≥ floor, by price / reputation)
//!      └─▶ challenge ─(poison caught)─▶ slash provider, next candidate
//!                   └─(passes)───────▶ buy: agent ─fee─▶ provider ("data purchase")
//! ```

use crate::economy::Economy;
use crate::engine::SimTime;
use crate::engine::rng::stream;
use crate::scenario::{DataMarketSpec, DataPriceSpec};
use crate::world::Nodes;
use dmlsim_models::econ::ledger::{AccountId, LedgerError};
use rand::RngExt;

/// How a dataset is charged.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DataPrice {
    /// Once per job, base units.
    PerUse(u128),
    /// Per epoch of access, base units.
    PerEpoch(u128),
}

impl DataPrice {
    /// The amount charged each time, base units.
    pub fn amount(self) -> u128 {
        match self {
            DataPrice::PerUse(a) | DataPrice::PerEpoch(a) => a,
        }
    }
}

/// One data provider and its listing.
#[derive(Clone, Debug)]
pub struct Provider {
    /// Its population.
    pub population: u16,
    /// Its ledger account.
    pub account: AccountId,
    /// Its dataset's size, bytes.
    pub bytes: u64,
    /// What a job pays for it.
    pub price: DataPrice,
    /// Whether its data is poisoned.
    pub poisoned: bool,
    /// Nodes hosting the dataset, ascending.
    pub hosts: Vec<u32>,
    /// Buyers' challenges it faced.
    pub challenges: u32,
    /// Of those, the ones that caught poison.
    pub detected: u32,
    /// Jobs that bought the dataset.
    pub sales: u32,
    /// Tokens received for it, base units.
    pub sold: u128,
    /// Stake slashed from it, base units.
    pub slashed: u128,
}

impl Provider {
    /// Its reputation in (0, 1]: `(passed + 1) / (challenges + 1)`, which
    /// is 1 until poison is caught and falls with each catch (one catch
    /// in one challenge: 1/2).
    pub fn reputation(&self) -> f64 {
        f64::from(self.challenges - self.detected + 1) / f64::from(self.challenges + 1)
    }
}

/// A provider caught listing poisoned data, and its punishment.
#[derive(Clone, Debug, PartialEq)]
pub struct DataOffence {
    /// When.
    pub t: SimTime,
    /// The provider (index over all providers).
    pub provider: u32,
    /// The job whose agent's challenge caught it.
    pub job: u32,
    /// Stake slashed, base units.
    pub penalty: u128,
    /// The `slash` ledger entry (None with no stake to take).
    pub ledger_seq: Option<u64>,
}

/// The outcome of an agent's search for a dataset.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DataPick {
    /// This provider's data passed the challenge (poisoned if it slipped
    /// through).
    Bought(u32),
    /// Every eligible provider was caught or none was eligible.
    NoCleanData,
}

/// Providers, their listings and offences.
pub struct DataMarket {
    detection: f64,
    slash_ppm: u128,
    /// Population names, for the tables.
    pub populations: Vec<String>,
    /// Every provider, population by population.
    pub providers: Vec<Provider>,
    /// Providers caught with poisoned data, in order.
    pub offences: Vec<DataOffence>,
    seed: u64,
}

/// Picks `k` distinct nodes of `n` from `rng`, ascending.
fn distinct_nodes(rng: &mut impl RngExt, n: u32, k: u32) -> Vec<u32> {
    let mut picked = std::collections::BTreeSet::new();
    if u64::from(k) * 2 <= u64::from(n) {
        while picked.len() < k as usize {
            picked.insert(rng.random_range(0..n));
        }
    } else {
        // Most of the nodes: a partial Fisher–Yates shuffle.
        let mut all: Vec<u32> = (0..n).collect();
        for i in 0..k as usize {
            let j = rng.random_range(i..n as usize);
            all.swap(i, j);
            picked.insert(all[i]);
        }
    }
    picked.into_iter().collect()
}

/// Provider accounts are opened as `NAME-i`; this is one provider's name.
fn provider_name(population: &str, i: u32, count: u32) -> String {
    super::agent_name(population, i, count)
}

impl DataMarket {
    /// The data market of `spec`: opens each provider's account, mints and
    /// stakes its genesis tokens, places its dataset on `replicas` nodes
    /// drawn from the `market` seed, and opens the economy's data
    /// accounting.
    pub fn new(
        spec: &DataMarketSpec,
        economy: &mut Economy,
        nodes: &Nodes,
        seed: u64,
    ) -> Result<DataMarket, LedgerError> {
        let mut providers = Vec::new();
        let mut populations = Vec::new();
        let mut hosted = vec![0u128; nodes.len()];
        for (p, spec) in spec.providers.iter().enumerate() {
            populations.push(spec.name.clone());
            let price = match spec.price {
                DataPriceSpec::PerUse(t) => DataPrice::PerUse(crate::lower::amount(t)),
                DataPriceSpec::PerEpoch(t) => DataPrice::PerEpoch(crate::lower::amount(t)),
            };
            for i in 0..spec.count {
                let ledger = &mut economy.ledger;
                let account = ledger.open(provider_name(&spec.name, i, spec.count));
                ledger.mint(account, crate::lower::amount(spec.tokens), "genesis")?;
                ledger.stake_with_memo(
                    account,
                    crate::lower::amount(spec.stake),
                    "provider deposit",
                )?;
                let index = providers.len() as u64;
                let mut rng = stream(seed, "data-hosts", index);
                let hosts = distinct_nodes(&mut rng, nodes.len() as u32, spec.replicas);
                for &h in &hosts {
                    hosted[h as usize] += u128::from(spec.dataset_bytes.0);
                }
                providers.push(Provider {
                    population: p as u16,
                    account,
                    bytes: spec.dataset_bytes.0,
                    price,
                    poisoned: i < spec.poisoned,
                    hosts,
                    challenges: 0,
                    detected: 0,
                    sales: 0,
                    sold: 0,
                    slashed: 0,
                });
            }
        }
        economy.open_data_market(providers.iter().map(|p| p.account).collect(), hosted);
        Ok(DataMarket {
            detection: spec.detection,
            slash_ppm: crate::lower::ppm(spec.provider_slash_fraction),
            populations,
            providers,
            offences: Vec::new(),
            seed,
        })
    }

    /// The population named `name`, if any.
    pub fn population(&self, name: &str) -> Option<u16> {
        self.populations
            .iter()
            .position(|p| p == name)
            .map(|p| p as u16)
    }

    /// The providers of `population` at or above `min_reputation`, by
    /// price per unit of reputation, ties in a random order drawn from
    /// `rng` (so equal listings share the buyers).
    fn candidates(&self, population: u16, min_reputation: f64, rng: &mut impl RngExt) -> Vec<u32> {
        let mut c: Vec<(f64, u64, u32)> = self
            .providers
            .iter()
            .enumerate()
            .filter(|(_, p)| p.population == population && p.reputation() >= min_reputation)
            .map(|(i, p)| {
                let per_reputation = p.price.amount() as f64 / p.reputation();
                (per_reputation, rng.random::<u64>(), i as u32)
            })
            .collect();
        c.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)).then(a.2.cmp(&b.2)));
        c.into_iter().map(|(_, _, i)| i).collect()
    }

    /// Job `job`'s agent looks for a dataset of `population`: it takes the
    /// candidates in order of price per unit of reputation and challenges
    /// each; poison is caught with probability `detection` (its provider
    /// is slashed, to the treasury, and the agent moves on), and the first
    /// dataset that passes is the one it will buy. Returns the pick and
    /// the challenges made.
    pub fn pick(
        &mut self,
        job: u32,
        population: u16,
        min_reputation: f64,
        now: SimTime,
        economy: &mut Economy,
    ) -> Result<(DataPick, u32), String> {
        let mut rng = stream(self.seed, "data-challenge", u64::from(job));
        let mut challenges = 0;
        for candidate in self.candidates(population, min_reputation, &mut rng) {
            let caught = rng.random::<f64>() < self.detection;
            let p = &mut self.providers[candidate as usize];
            p.challenges += 1;
            challenges += 1;
            if !(p.poisoned && caught) {
                return Ok((DataPick::Bought(candidate), challenges));
            }
            p.detected += 1;
            let (penalty, ledger_seq) = economy
                .slash_share_to_treasury(p.account, self.slash_ppm, now, "data offence")
                .map_err(|e| format!("ledger refused a data provider's slash: {e}"))?;
            p.slashed += penalty;
            self.offences.push(DataOffence {
                t: now,
                provider: candidate,
                job,
                penalty,
                ledger_seq,
            });
        }
        Ok((DataPick::NoCleanData, challenges))
    }

    /// Books a sale of `provider`'s dataset for `amount` base units.
    pub fn book_sale(&mut self, provider: u32, amount: u128, economy: &mut Economy) {
        let p = &mut self.providers[provider as usize];
        p.sold += amount;
        economy.book_data_sale(provider as usize, amount);
    }
}
