//! The economy's tables: `ledger.arrow`, `blocks.arrow`, `epochs.arrow`,
//! `operators.arrow`. Amounts are exact base units (Decimal128(38, 0), 10^18
//! per token) with a float `_tokens` twin for plotting.

use super::table::{Column, Table, dictionary};
use crate::economy::Economy;
use crate::world::Nodes;
use dmlsim_models::econ::as_tokens;
use dmlsim_models::econ::ledger::{Block, hex};

fn secs_ns(ns: u64) -> f64 {
    ns as f64 / 1e9
}

/// `ledger.arrow`: one row per ledger entry.
pub fn ledger_table(e: &Economy) -> Table {
    let entries = e.ledger.entries();
    let names = e.ledger.names().to_vec();
    let account = |a: Option<u32>| a.map(|a| a as i32);
    Table::new("ledger")
        .col(
            "seq",
            "",
            Column::U64(entries.iter().map(|x| x.seq).collect()),
        )
        .col(
            "block",
            "",
            Column::U64(entries.iter().map(|x| x.block).collect()),
        )
        .col(
            "t_s",
            "s",
            Column::F64(entries.iter().map(|x| secs_ns(x.t_ns)).collect()),
        )
        .col(
            "kind",
            "",
            dictionary(entries.iter().map(|x| x.kind.label())),
        )
        .col(
            "from",
            "account",
            Column::OptDict(
                entries.iter().map(|x| account(x.from)).collect(),
                names.clone(),
            ),
        )
        .col(
            "to",
            "account",
            Column::OptDict(entries.iter().map(|x| account(x.to)).collect(), names),
        )
        .col(
            "amount",
            "base units (1e-18 token)",
            Column::Dec128(entries.iter().map(|x| x.amount).collect()),
        )
        .col(
            "amount_tokens",
            "tokens",
            Column::F64(entries.iter().map(|x| as_tokens(x.amount)).collect()),
        )
        .col("memo", "", dictionary(entries.iter().map(|x| x.memo)))
        .col(
            "t_ns",
            "ns",
            Column::U64(entries.iter().map(|x| x.t_ns).collect()),
        )
}

/// `blocks.arrow`: one row per sealed block (written in batches as the
/// chain grows).
pub fn blocks_table(b: &[Block]) -> Table {
    Table::new("blocks")
        .col(
            "block",
            "",
            Column::U64(b.iter().map(|x| x.index).collect()),
        )
        .col(
            "t_s",
            "s",
            Column::F64(b.iter().map(|x| secs_ns(x.t_ns)).collect()),
        )
        .col(
            "prev_hash",
            "sha256 hex",
            Column::Str(b.iter().map(|x| hex(&x.prev_hash)).collect()),
        )
        .col(
            "hash",
            "sha256 hex",
            Column::Str(b.iter().map(|x| hex(&x.hash)).collect()),
        )
        .col(
            "entries",
            "entries",
            Column::U64(b.iter().map(|x| x.entries).collect()),
        )
        .col(
            "model_hash",
            "sha256 hex",
            Column::Str(b.iter().map(|x| hex(&x.model_hash)).collect()),
        )
        .col(
            "supply",
            "base units (1e-18 token)",
            Column::Dec128(b.iter().map(|x| x.supply).collect()),
        )
        .col(
            "t_ns",
            "ns",
            Column::U64(b.iter().map(|x| x.t_ns).collect()),
        )
}

/// `epochs.arrow`: one row per settled economic epoch.
pub fn epochs_table(e: &Economy) -> Table {
    let x = &e.epochs;
    let tok = |f: fn(&crate::economy::EpochRecord) -> u128| {
        Column::F64(x.iter().map(|r| as_tokens(f(r))).collect())
    };
    Table::new("epochs")
        .col(
            "epoch",
            "",
            Column::U64(x.iter().map(|r| r.epoch).collect()),
        )
        .col(
            "t_s",
            "s",
            Column::F64(x.iter().map(|r| r.t.as_secs_f64()).collect()),
        )
        .col(
            "supply",
            "base units (1e-18 token)",
            Column::Dec128(x.iter().map(|r| r.supply).collect()),
        )
        .col(
            "minted",
            "base units (1e-18 token)",
            Column::Dec128(x.iter().map(|r| r.minted).collect()),
        )
        .col(
            "burned",
            "base units (1e-18 token)",
            Column::Dec128(x.iter().map(|r| r.burned).collect()),
        )
        .col(
            "staked",
            "base units (1e-18 token)",
            Column::Dec128(x.iter().map(|r| r.staked).collect()),
        )
        .col("supply_tokens", "tokens", tok(|r| r.supply))
        .col("minted_tokens", "tokens", tok(|r| r.minted))
        .col("burned_tokens", "tokens", tok(|r| r.burned))
        .col("staked_tokens", "tokens", tok(|r| r.staked))
        .col("emission_tokens", "tokens", tok(|r| r.emission))
        .col("fees_tokens", "tokens", tok(|r| r.fees))
        .col("treasury_tokens", "tokens", tok(|r| r.treasury))
        .col(
            "token_price_usd",
            "USD",
            Column::F64(x.iter().map(|r| r.price_usd).collect()),
        )
        .col("gini", "", Column::F64(x.iter().map(|r| r.gini).collect()))
        .col(
            "nakamoto_33",
            "accounts",
            Column::U32(x.iter().map(|r| r.nakamoto_33).collect()),
        )
        .col(
            "nakamoto_51",
            "accounts",
            Column::U32(x.iter().map(|r| r.nakamoto_51).collect()),
        )
        .col("hhi", "", Column::F64(x.iter().map(|r| r.hhi).collect()))
        .col(
            "active_operators",
            "operators",
            Column::U32(x.iter().map(|r| r.active_operators).collect()),
        )
        .col(
            "operators_in_network",
            "operators",
            Column::U32(x.iter().map(|r| r.operators_in_network).collect()),
        )
        .col(
            "operators_joined",
            "operators",
            Column::U32(x.iter().map(|r| r.joined).collect()),
        )
        .col(
            "operators_left",
            "operators",
            Column::U32(x.iter().map(|r| r.left).collect()),
        )
        .col(
            "operator_profit_usd_p10",
            "USD",
            Column::F64(x.iter().map(|r| r.operator_profit_usd.p10).collect()),
        )
        .col(
            "operator_profit_usd_p50",
            "USD",
            Column::F64(x.iter().map(|r| r.operator_profit_usd.p50).collect()),
        )
        .col(
            "operator_profit_usd_p90",
            "USD",
            Column::F64(x.iter().map(|r| r.operator_profit_usd.p90).collect()),
        )
        .col(
            "operators_participating",
            "operators",
            Column::U32(x.iter().map(|r| r.operators_participating).collect()),
        )
        .col(
            "operators_profitable",
            "operators",
            Column::U32(x.iter().map(|r| r.operators_profitable).collect()),
        )
        .col(
            "gini_operators",
            "",
            Column::F64(x.iter().map(|r| r.operators_holdings.gini).collect()),
        )
        .col(
            "nakamoto_51_operators",
            "accounts",
            Column::U32(x.iter().map(|r| r.operators_holdings.nakamoto_51).collect()),
        )
        .col(
            "reward_gini",
            "",
            Column::F64(x.iter().map(|r| r.rewards.c.gini).collect()),
        )
        .col(
            "reward_gini_with_protocol",
            "",
            Column::F64(x.iter().map(|r| r.reward_gini_with_protocol).collect()),
        )
        .col(
            "reward_nakamoto_33",
            "accounts",
            Column::U32(x.iter().map(|r| r.rewards.c.nakamoto_33).collect()),
        )
        .col(
            "reward_nakamoto_51",
            "accounts",
            Column::U32(x.iter().map(|r| r.rewards.c.nakamoto_51).collect()),
        )
        .col(
            "reward_hhi",
            "",
            Column::F64(x.iter().map(|r| r.rewards.c.hhi).collect()),
        )
        .col(
            "reward_top1_share",
            "",
            Column::F64(x.iter().map(|r| r.rewards.top1_share).collect()),
        )
        .col(
            "reward_top3_share",
            "",
            Column::F64(x.iter().map(|r| r.rewards.top3_share).collect()),
        )
        .col(
            "reward_top10_share",
            "",
            Column::F64(x.iter().map(|r| r.rewards.top10_share).collect()),
        )
}

/// `operator_epochs.arrow`: one row per operator per epoch it took part
/// in, with the epoch's rewards and USD P&L. `profile_of` is each
/// operator's profile (its first node's), `profiles` the profile names.
pub fn operator_epochs_table(
    rows: &[crate::economy::OperatorEpochRecord],
    profile_of: &[u16],
    profiles: &[String],
) -> Table {
    Table::new("operator_epochs")
        .col(
            "epoch",
            "",
            Column::U64(rows.iter().map(|r| r.epoch).collect()),
        )
        .col(
            "operator_id",
            "",
            Column::U32(rows.iter().map(|r| r.operator).collect()),
        )
        .col(
            "profile",
            "",
            Column::Dict(
                rows.iter()
                    .map(|r| i32::from(profile_of[r.operator as usize]))
                    .collect(),
                profiles.to_vec(),
            ),
        )
        .col(
            "reward_tokens",
            "tokens",
            Column::F64(rows.iter().map(|r| as_tokens(r.reward)).collect()),
        )
        .col(
            "revenue_usd",
            "USD",
            Column::F64(rows.iter().map(|r| r.revenue_usd).collect()),
        )
        .col(
            "cost_usd",
            "USD",
            Column::F64(rows.iter().map(|r| r.cost_usd).collect()),
        )
        .col(
            "slashed_usd",
            "USD",
            Column::F64(rows.iter().map(|r| r.slashed_usd).collect()),
        )
        .col(
            "profit_usd",
            "USD",
            Column::F64(rows.iter().map(|r| r.profit_usd()).collect()),
        )
        .col(
            "profitable",
            "",
            Column::Bool(rows.iter().map(|r| r.profit_usd() > 0.0).collect()),
        )
        .col(
            "in_network",
            "",
            Column::Bool(rows.iter().map(|r| r.in_network).collect()),
        )
}

/// `operators.arrow`: one row per operator with its tokens and USD P&L.
pub fn operators_table(e: &Economy, nodes: &Nodes) -> Table {
    let n = e.operator_account.len();
    let mut node_count = vec![0u32; n];
    for &o in &nodes.operator {
        node_count[o as usize] += 1;
    }
    let acc = &e.operator_account;
    Table::new("operators")
        .col("operator_id", "", Column::U32((0..n as u32).collect()))
        .col("nodes", "nodes", Column::U32(node_count))
        .col(
            "earned_tokens",
            "tokens",
            Column::F64(e.earned.iter().map(|&v| as_tokens(v)).collect()),
        )
        .col(
            "balance_tokens",
            "tokens",
            Column::F64(
                acc.iter()
                    .map(|&a| as_tokens(e.ledger.balance(a)))
                    .collect(),
            ),
        )
        .col(
            "stake_tokens",
            "tokens",
            Column::F64(acc.iter().map(|&a| as_tokens(e.ledger.stake(a))).collect()),
        )
        .col("revenue_usd", "USD", Column::F64(e.revenue_usd.clone()))
        .col("cost_usd", "USD", Column::F64(e.cost_usd.clone()))
        .col(
            "slashed_tokens",
            "tokens",
            Column::F64(e.slashed.iter().map(|&v| as_tokens(v)).collect()),
        )
        .col("slashed_usd", "USD", Column::F64(e.slashed_usd.clone()))
        .col(
            "profit_usd",
            "USD",
            Column::F64((0..n).map(|o| e.operator_profit_usd(o)).collect()),
        )
}

/// `offences.arrow`: one row per detected offence, with the ledger entry
/// that punished it.
pub fn offences_table(e: &Economy) -> Table {
    let o = &e.offences;
    Table::new("offences")
        .col(
            "t_s",
            "s",
            Column::F64(o.iter().map(|x| x.t.as_secs_f64()).collect()),
        )
        .col(
            "round",
            "",
            Column::U32(o.iter().map(|x| x.round).collect()),
        )
        .col(
            "node_id",
            "",
            Column::U32(o.iter().map(|x| x.node).collect()),
        )
        .col(
            "operator_id",
            "",
            Column::U32(o.iter().map(|x| x.operator).collect()),
        )
        .col("kind", "", dictionary(o.iter().map(|x| x.kind.label())))
        .col("evidence", "", dictionary(o.iter().map(|x| x.evidence)))
        .col(
            "penalty",
            "base units (1e-18 token)",
            Column::Dec128(o.iter().map(|x| x.penalty).collect()),
        )
        .col(
            "penalty_tokens",
            "tokens",
            Column::F64(o.iter().map(|x| as_tokens(x.penalty)).collect()),
        )
        .col(
            "ledger_seq",
            "",
            Column::I64(o.iter().map(|x| x.ledger_seq.map(|s| s as i64)).collect()),
        )
        .col(
            "ejected",
            "",
            Column::Bool(o.iter().map(|x| x.ejected).collect()),
        )
        .col(
            "validator",
            "",
            Column::I64(o.iter().map(|x| x.validator.map(i64::from)).collect()),
        )
}

/// One behaviour class's totals over a run.
#[derive(Clone, Debug, PartialEq)]
pub struct BehaviourStat {
    /// `honest`, `lazy`, …
    pub label: &'static str,
    /// Nodes with this behaviour.
    pub nodes: u32,
    /// Updates they delivered.
    pub updates: u64,
    /// Invalid updates caught.
    pub caught: u64,
    /// Tokens slashed.
    pub slashed_tokens: f64,
    /// Tokens earned.
    pub earned_tokens: f64,
    /// Net profit, USD.
    pub profit_usd: f64,
}

impl BehaviourStat {
    /// A per-update figure (None without updates).
    pub fn per_update(&self, x: f64) -> Option<f64> {
        (self.updates > 0).then(|| x / self.updates as f64)
    }
}

/// Totals per behaviour class present in the run, in class order.
pub fn behaviour_stats(e: &Economy, nodes: &Nodes) -> Vec<BehaviourStat> {
    use dmlsim_models::behaviour::ALL;
    use dmlsim_models::econ::slashing::Offence;
    let mut stats: Vec<BehaviourStat> = ALL
        .iter()
        .map(|b| BehaviourStat {
            label: b.label(),
            nodes: 0,
            updates: 0,
            caught: 0,
            slashed_tokens: 0.0,
            earned_tokens: 0.0,
            profit_usd: 0.0,
        })
        .collect();
    let class = |node: usize| {
        ALL.iter()
            .position(|x| *x == nodes.behaviour[node])
            .expect("known behaviour")
    };
    for i in 0..nodes.len() {
        let s = &mut stats[class(i)];
        s.nodes += 1;
        s.updates += u64::from(nodes.stats.rounds_completed[i]);
        s.slashed_tokens += as_tokens(e.node_slashed[i]);
        s.earned_tokens += as_tokens(e.node_earned[i]);
        s.profit_usd += e.node_profit_usd(i);
    }
    for o in &e.offences {
        if o.kind == Offence::InvalidUpdate {
            stats[class(o.node as usize)].caught += 1;
        }
    }
    stats.retain(|s| s.nodes > 0);
    stats
}

/// `behaviours.arrow`: one row per behaviour class present.
pub fn behaviours_table(e: &Economy, nodes: &Nodes) -> Table {
    let stats = behaviour_stats(e, nodes);
    let per = |f: fn(&BehaviourStat) -> f64| {
        Column::OptF64(stats.iter().map(|s| s.per_update(f(s))).collect())
    };
    Table::new("behaviours")
        .col("behaviour", "", dictionary(stats.iter().map(|s| s.label)))
        .col(
            "nodes",
            "nodes",
            Column::U32(stats.iter().map(|s| s.nodes).collect()),
        )
        .col(
            "updates",
            "updates",
            Column::U64(stats.iter().map(|s| s.updates).collect()),
        )
        .col(
            "caught",
            "updates",
            Column::U64(stats.iter().map(|s| s.caught).collect()),
        )
        .col(
            "caught_rate",
            "fraction",
            Column::OptF64(
                stats
                    .iter()
                    .map(|s| s.per_update(s.caught as f64))
                    .collect(),
            ),
        )
        .col(
            "earned_tokens_per_update",
            "tokens",
            per(|s| s.earned_tokens),
        )
        .col(
            "slashed_tokens_per_update",
            "tokens",
            per(|s| s.slashed_tokens),
        )
        .col("net_profit_usd_per_update", "USD", per(|s| s.profit_usd))
}
