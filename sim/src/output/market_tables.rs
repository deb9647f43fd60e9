//! The market's tables: `jobs.arrow`, the market columns of
//! `epochs.arrow`, and `offences.arrow` with the agents' offences beside
//! the nodes' (only in runs with a `market` section; other runs' tables
//! keep their schema).

use super::table::{Column, Table, dictionary, node_lists};
use crate::economy::Economy;
use crate::market::Market;
use dmlsim_models::econ::as_tokens;

/// `jobs.arrow`: one row per job an agent submitted, with the venue it
/// chose and why, what it paid and what the cloud would have cost.
pub fn jobs_table(m: &Market, e: &Economy) -> Table {
    let r = &m.records;
    let names = e.ledger.names();
    let accounts = m.agent_accounts();
    let table = Table::new("jobs")
        .col("job", "", Column::U32(r.iter().map(|x| x.job).collect()))
        .col(
            "agent_id",
            "",
            Column::U32(r.iter().map(|x| x.agent).collect()),
        )
        .col(
            "agent",
            "",
            Column::Str(
                r.iter()
                    .map(|x| names[accounts[x.agent as usize] as usize].clone())
                    .collect(),
            ),
        )
        .col(
            "population",
            "",
            dictionary(
                r.iter()
                    .map(|x| m.populations[x.population as usize].as_str()),
            ),
        )
        .col(
            "t_submit_s",
            "s",
            Column::F64(r.iter().map(|x| x.t_submit.as_secs_f64()).collect()),
        )
        .col(
            "t_decided_s",
            "s",
            Column::F64(r.iter().map(|x| x.t_decided.as_secs_f64()).collect()),
        )
        .col(
            "t_end_s",
            "s",
            Column::OptF64(r.iter().map(|x| x.t_end.map(|t| t.as_secs_f64())).collect()),
        )
        .col(
            "time_to_finish_s",
            "s",
            Column::OptF64(
                r.iter()
                    .map(|x| {
                        (x.outcome == crate::market::records::Outcome::Finished)
                            .then(|| x.t_end.map(|t| t.saturating_sub(x.t_submit).as_secs_f64()))
                            .flatten()
                    })
                    .collect(),
            ),
        )
        .col("venue", "", dictionary(r.iter().map(|x| x.venue.label())))
        .col("reason", "", dictionary(r.iter().map(|x| x.reason)))
        .col(
            "outcome",
            "",
            dictionary(r.iter().map(|x| x.outcome.label())),
        )
        .col(
            "providers",
            "node ids, space-separated",
            node_lists(r.iter().map(|x| x.providers.as_slice())),
        )
        .col(
            "price_tokens_per_pflop",
            "tokens/PFLOP",
            Column::OptF64(r.iter().map(|x| x.price_tokens_per_pflop).collect()),
        )
        .col(
            "rounds",
            "",
            Column::U32(r.iter().map(|x| x.rounds).collect()),
        )
        .col(
            "rounds_done",
            "",
            Column::U32(r.iter().map(|x| x.rounds_done).collect()),
        )
        .col(
            "pflop",
            "PFLOP",
            Column::F64(r.iter().map(|x| x.pflop).collect()),
        )
        .col(
            "data_bytes",
            "bytes",
            Column::U64(r.iter().map(|x| x.data_bytes).collect()),
        )
        .col(
            "paid",
            "base units (1e-18 token)",
            Column::Dec128(r.iter().map(|x| x.paid).collect()),
        )
        .col(
            "paid_tokens",
            "tokens",
            Column::F64(r.iter().map(|x| as_tokens(x.paid)).collect()),
        )
        .col(
            "cost_usd",
            "USD",
            Column::F64(r.iter().map(|x| x.cost_usd).collect()),
        )
        .col(
            "network_cost_usd",
            "USD",
            Column::OptF64(r.iter().map(|x| x.network_cost_usd).collect()),
        )
        .col(
            "cloud_cost_usd",
            "USD",
            Column::F64(r.iter().map(|x| x.cloud_cost_usd).collect()),
        )
        .col(
            "cloud_staging_usd",
            "USD",
            Column::F64(r.iter().map(|x| x.cloud_staging_usd).collect()),
        )
        .col(
            "cloud_time_s",
            "s",
            Column::F64(r.iter().map(|x| x.cloud_time_s).collect()),
        )
        .col(
            "network_time_est_s",
            "s",
            Column::OptF64(r.iter().map(|x| x.network_time_est_s).collect()),
        )
        .col(
            "token_price_usd",
            "USD/token",
            Column::F64(r.iter().map(|x| x.token_price_usd).collect()),
        )
        .col(
            "first_payment_seq",
            "",
            Column::I64(
                r.iter()
                    .map(|x| x.first_payment_seq.map(|s| s as i64))
                    .collect(),
            ),
        );
    if !m.has_retries() {
        // Only markets whose agents retry have these columns.
        return table;
    }
    table
        .col(
            "attempt",
            "",
            Column::U32(r.iter().map(|x| x.attempt).collect()),
        )
        .col(
            "retry_of",
            "",
            Column::I64(r.iter().map(|x| x.retry_of.map(i64::from)).collect()),
        )
}

/// Adds the market's per-epoch columns to `epochs.arrow`.
pub fn with_market_columns(t: Table, m: &Market) -> Table {
    let x = &m.epochs;
    t.col(
        "market_jobs",
        "",
        Column::U32(x.iter().map(|r| r.jobs).collect()),
    )
    .col(
        "network_jobs",
        "",
        Column::U32(x.iter().map(|r| r.network_jobs).collect()),
    )
    .col(
        "cloud_jobs",
        "",
        Column::U32(x.iter().map(|r| r.cloud_jobs).collect()),
    )
    .col(
        "dropped_jobs",
        "",
        Column::U32(x.iter().map(|r| r.dropped_jobs).collect()),
    )
    .col(
        "network_share",
        "",
        Column::OptF64(x.iter().map(|r| r.network_share()).collect()),
    )
    .col(
        "clearing_price_tokens_per_pflop",
        "tokens/PFLOP",
        Column::OptF64(x.iter().map(|r| r.clearing_price()).collect()),
    )
    .col(
        "volume_pflop",
        "PFLOP",
        Column::F64(x.iter().map(|r| r.volume_pflop).collect()),
    )
    .col(
        "unfilled_pflop",
        "PFLOP",
        Column::F64(x.iter().map(|r| r.unfilled_pflop).collect()),
    )
    .col(
        "market_paid_tokens",
        "tokens",
        Column::F64(x.iter().map(|r| as_tokens(r.paid)).collect()),
    )
}

/// `offences.arrow` of a market run: the nodes' offences and the agents',
/// in order of time (nodes' first at equal times). `party` says whose;
/// the node, operator and validator columns are null on an agent's row,
/// the agent and job columns on a node's; with a data market a
/// `provider_id` column names the data provider on its rows.
pub fn offences_table(e: &Economy, m: &Market) -> Table {
    #[derive(Default)]
    struct Row {
        t: f64,
        party: &'static str,
        round: Option<i64>,
        node: Option<i64>,
        operator: Option<i64>,
        agent: Option<i64>,
        job: Option<i64>,
        kind: &'static str,
        evidence: &'static str,
        penalty: u128,
        ledger_seq: Option<i64>,
        ejected: bool,
        validator: Option<i64>,
        provider: Option<i64>,
    }
    let nodes = e.offences.iter().map(|o| Row {
        t: o.t.as_secs_f64(),
        party: "node",
        round: Some(i64::from(o.round)),
        node: Some(i64::from(o.node)),
        operator: Some(i64::from(o.operator)),
        kind: o.kind.label(),
        evidence: o.evidence,
        penalty: o.penalty,
        ledger_seq: o.ledger_seq.map(|s| s as i64),
        ejected: o.ejected,
        validator: o.validator.map(i64::from),
        ..Row::default()
    });
    let agents = m.offences.iter().map(|o| Row {
        t: o.t.as_secs_f64(),
        party: "agent",
        agent: Some(i64::from(o.agent)),
        job: Some(i64::from(o.job)),
        kind: o.kind.label(),
        evidence: match o.kind {
            crate::market::records::AgentOffenceKind::PriceCapBreach => {
                "the protocol checked the awarded prices against the agent's on-chain cap"
            }
            crate::market::records::AgentOffenceKind::PaymentDefault => {
                "the agent did not pay for a round its providers delivered"
            }
        },
        penalty: o.penalty,
        ledger_seq: o.ledger_seq.map(|s| s as i64),
        ejected: true,
        ..Row::default()
    });
    let providers = m.data.iter().flat_map(|d| &d.offences).map(|o| Row {
        t: o.t.as_secs_f64(),
        party: "data_provider",
        job: Some(i64::from(o.job)),
        kind: "poisoned_data",
        evidence: "a buyer's challenge of a sample against its held-out set found the data poisoned",
        penalty: o.penalty,
        ledger_seq: o.ledger_seq.map(|s| s as i64),
        provider: Some(i64::from(o.provider)),
        ..Row::default()
    });
    let mut rows: Vec<Row> = nodes.chain(agents).chain(providers).collect();
    rows.sort_by(|a, b| a.t.total_cmp(&b.t));
    let opt = |f: fn(&Row) -> Option<i64>| Column::I64(rows.iter().map(f).collect());
    let table = Table::new("offences")
        .col("t_s", "s", Column::F64(rows.iter().map(|r| r.t).collect()))
        .col("party", "", dictionary(rows.iter().map(|r| r.party)))
        .col("round", "", opt(|r| r.round))
        .col("node_id", "", opt(|r| r.node))
        .col("operator_id", "", opt(|r| r.operator))
        .col("agent_id", "", opt(|r| r.agent))
        .col("job", "", opt(|r| r.job))
        .col("kind", "", dictionary(rows.iter().map(|r| r.kind)))
        .col("evidence", "", dictionary(rows.iter().map(|r| r.evidence)))
        .col(
            "penalty",
            "base units (1e-18 token)",
            Column::Dec128(rows.iter().map(|r| r.penalty).collect()),
        )
        .col(
            "penalty_tokens",
            "tokens",
            Column::F64(rows.iter().map(|r| as_tokens(r.penalty)).collect()),
        )
        .col("ledger_seq", "", opt(|r| r.ledger_seq))
        .col(
            "ejected",
            "",
            Column::Bool(rows.iter().map(|r| r.ejected).collect()),
        )
        .col("validator", "", opt(|r| r.validator));
    if m.data.is_some() {
        // Only data-market runs have providers: other runs keep the schema.
        table.col("provider_id", "", opt(|r| r.provider))
    } else {
        table
    }
}
