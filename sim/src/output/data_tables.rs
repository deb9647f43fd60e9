//! The data market's tables: `datasets.arrow` (one row per provider), the
//! data columns of `jobs.arrow` and `epochs.arrow`, and the providers'
//! rows of `offences.arrow` (only in runs with `market.data`; other runs'
//! tables keep their schema).

use super::table::{Column, Table, dictionary, node_lists};
use crate::economy::Economy;
use crate::market::Market;
use crate::market::data::{DataMarket, DataPrice};
use dmlsim_models::econ::as_tokens;

/// `datasets.arrow`: each data provider's listing, hosts, challenges,
/// sales, rewards and slashes over the run.
pub fn datasets_table(d: &DataMarket, e: &Economy) -> Table {
    let p = &d.providers;
    let names = e.ledger.names();
    let rewarded = e
        .data_rewards()
        .map_or_else(|| vec![0; p.len()], |r| r.rewarded.clone());
    let tokens = |f: fn(&crate::market::data::Provider) -> u128| {
        Column::F64(p.iter().map(|x| as_tokens(f(x))).collect())
    };
    Table::new("datasets")
        .col(
            "provider_id",
            "",
            Column::U32((0..p.len() as u32).collect()),
        )
        .col(
            "provider",
            "",
            Column::Str(
                p.iter()
                    .map(|x| names[x.account as usize].clone())
                    .collect(),
            ),
        )
        .col(
            "population",
            "",
            dictionary(
                p.iter()
                    .map(|x| d.populations[x.population as usize].as_str()),
            ),
        )
        .col(
            "poisoned",
            "",
            Column::Bool(p.iter().map(|x| x.poisoned).collect()),
        )
        .col(
            "dataset_bytes",
            "bytes",
            Column::U64(p.iter().map(|x| x.bytes).collect()),
        )
        .col("price_tokens", "tokens", tokens(|x| x.price.amount()))
        .col(
            "price_per",
            "",
            dictionary(p.iter().map(|x| match x.price {
                DataPrice::PerUse(_) => "use",
                DataPrice::PerEpoch(_) => "epoch",
            })),
        )
        .col(
            "hosts",
            "node ids, space-separated",
            node_lists(p.iter().map(|x| x.hosts.as_slice())),
        )
        .col(
            "challenges",
            "",
            Column::U32(p.iter().map(|x| x.challenges).collect()),
        )
        .col(
            "detected",
            "",
            Column::U32(p.iter().map(|x| x.detected).collect()),
        )
        .col(
            "reputation",
            "",
            Column::F64(p.iter().map(|x| x.reputation()).collect()),
        )
        .col(
            "sales",
            "",
            Column::U32(p.iter().map(|x| x.sales).collect()),
        )
        .col(
            "sold",
            "base units (1e-18 token)",
            Column::Dec128(p.iter().map(|x| x.sold).collect()),
        )
        .col("sold_tokens", "tokens", tokens(|x| x.sold))
        .col(
            "data_rewards",
            "base units (1e-18 token)",
            Column::Dec128(rewarded.clone()),
        )
        .col(
            "data_rewards_tokens",
            "tokens",
            Column::F64(rewarded.iter().map(|&r| as_tokens(r)).collect()),
        )
        .col(
            "slashed",
            "base units (1e-18 token)",
            Column::Dec128(p.iter().map(|x| x.slashed).collect()),
        )
        .col("slashed_tokens", "tokens", tokens(|x| x.slashed))
        .col(
            "stake_left_tokens",
            "tokens",
            Column::F64(
                p.iter()
                    .map(|x| as_tokens(e.ledger.stake(x.account)))
                    .collect(),
            ),
        )
}

/// Adds the data columns to `jobs.arrow`.
pub fn with_data_job_columns(t: Table, m: &Market, d: &DataMarket) -> Table {
    let r = &m.records;
    let datasets = m.agent_datasets();
    t.col(
        "dataset",
        "",
        Column::OptDict(
            r.iter()
                .map(|x| datasets[x.agent as usize].map(i32::from))
                .collect(),
            d.populations.clone(),
        ),
    )
    .col(
        "data_provider_id",
        "",
        Column::I64(r.iter().map(|x| x.data_provider.map(i64::from)).collect()),
    )
    .col(
        "data_challenges",
        "",
        Column::U32(r.iter().map(|x| x.data_challenges).collect()),
    )
    .col(
        "data_paid",
        "base units (1e-18 token)",
        Column::Dec128(r.iter().map(|x| x.data_paid).collect()),
    )
    .col(
        "data_paid_tokens",
        "tokens",
        Column::F64(r.iter().map(|x| as_tokens(x.data_paid)).collect()),
    )
    .col(
        "data_usd",
        "USD",
        Column::F64(r.iter().map(|x| x.data_usd).collect()),
    )
    .col(
        "data_poisoned",
        "",
        Column::Bool(r.iter().map(|x| x.data_poisoned).collect()),
    )
}

/// Adds the data market's per-epoch columns to `epochs.arrow`.
pub fn with_data_epoch_columns(t: Table, m: &Market) -> Table {
    let x = &m.epochs;
    let col = |f: fn(&crate::market::records::MarketEpoch) -> u128| {
        Column::F64(x.iter().map(|r| as_tokens(f(r))).collect())
    };
    t.col("data_paid_tokens", "tokens", col(|r| r.data_paid))
        .col("data_reward_tokens", "tokens", col(|r| r.data_rewards[0]))
        .col(
            "storage_reward_tokens",
            "tokens",
            col(|r| r.data_rewards[1]),
        )
        .col("relay_reward_tokens", "tokens", col(|r| r.data_rewards[2]))
}
