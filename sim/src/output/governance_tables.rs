//! Governance's tables: `proposals.arrow` (one row per proposal) and
//! `votes.arrow` (one row per wallet's vote). Voting power is in tokens
//! (token weighted) or square roots of tokens (quadratic).

use super::table::{Column, Table, dictionary};
use crate::governance::Governance;
use dmlsim_models::econ::ledger::Ledger;

/// `proposals.arrow`: one row per proposal, in creation order.
pub fn proposals_table(g: &Governance) -> Table {
    let p = &g.proposals;
    let f64s =
        |f: fn(&crate::governance::ProposalRecord) -> f64| Column::F64(p.iter().map(f).collect());
    Table::new("proposals")
        .col("id", "", Column::U32(p.iter().map(|x| x.id).collect()))
        .col("created_s", "s", f64s(|x| x.created.as_secs_f64()))
        .col("closes_s", "s", f64s(|x| x.closes.as_secs_f64()))
        .col("by", "", dictionary(p.iter().map(|x| x.by.as_str())))
        .col("parameter", "", dictionary(p.iter().map(|x| x.parameter)))
        .col(
            "old",
            "",
            Column::Str(p.iter().map(|x| x.old.clone()).collect()),
        )
        .col(
            "new",
            "",
            Column::Str(p.iter().map(|x| x.new.clone()).collect()),
        )
        .col("yes_power", "votes", f64s(|x| x.tally.yes))
        .col("no_power", "votes", f64s(|x| x.tally.no))
        .col("abstain_power", "votes", f64s(|x| x.tally.abstain))
        .col("eligible_power", "votes", f64s(|x| x.eligible))
        .col("turnout", "fraction", f64s(|x| x.tally.turnout(x.eligible)))
        .col(
            "voters",
            "owners",
            Column::U32(p.iter().map(|x| x.voters).collect()),
        )
        .col(
            "status",
            "",
            dictionary(p.iter().map(|x| match x.passed {
                Some(true) => "passed",
                Some(false) => "failed",
                None => "open",
            })),
        )
        .col(
            "passed",
            "",
            Column::Bool(p.iter().map(|x| x.passed == Some(true)).collect()),
        )
        .col(
            "effective_s",
            "s",
            Column::OptF64(
                p.iter()
                    .map(|x| x.effective.map(|t| t.as_secs_f64()))
                    .collect(),
            ),
        )
        .col(
            "decided_by_owners",
            "owners",
            Column::I64(p.iter().map(|x| x.decided_by.map(i64::from)).collect()),
        )
        .col(
            "captured",
            "",
            Column::Bool(p.iter().map(|x| x.captured).collect()),
        )
        .col(
            "captured_at_most",
            "owners",
            Column::U32(vec![g.captured_at_most(); p.len()]),
        )
}

/// `votes.arrow`: one row per wallet that voted, by proposal, in wallet order.
pub fn votes_table(g: &Governance, ledger: &Ledger) -> Table {
    let v = &g.votes;
    let owners = g.owners();
    Table::new("votes")
        .col(
            "proposal",
            "",
            Column::U32(v.iter().map(|x| x.proposal).collect()),
        )
        .col(
            "wallet",
            "account",
            Column::Dict(
                v.iter().map(|x| x.wallet as i32).collect(),
                ledger.names().to_vec(),
            ),
        )
        .col(
            "owner",
            "",
            Column::Dict(
                v.iter().map(|x| x.owner as i32).collect(),
                owners.names.clone(),
            ),
        )
        .col(
            "owner_kind",
            "",
            dictionary(v.iter().map(|x| owners.kinds[x.owner as usize])),
        )
        .col(
            "tokens",
            "tokens",
            Column::F64(v.iter().map(|x| x.tokens).collect()),
        )
        .col(
            "power",
            "votes",
            Column::F64(v.iter().map(|x| x.power).collect()),
        )
        .col("choice", "", dictionary(v.iter().map(|x| x.choice.label())))
}

/// `concentration.arrow`: per settled epoch, how concentrated holdings,
/// voting power and the epoch's rewards are, over wallets and owners,
/// with and without the treasury and validators.
pub fn concentration_table(g: &Governance) -> Table {
    let c = &g.concentration;
    let f64s = |f: fn(&crate::governance::ConcentrationRecord) -> f64| {
        Column::F64(c.iter().map(f).collect())
    };
    let u32s = |f: fn(&crate::governance::ConcentrationRecord) -> u32| {
        Column::U32(c.iter().map(f).collect())
    };
    Table::new("concentration")
        .col(
            "epoch",
            "",
            Column::U64(c.iter().map(|x| x.epoch).collect()),
        )
        .col("t_s", "s", f64s(|x| x.t.as_secs_f64()))
        .col("measure", "", dictionary(c.iter().map(|x| x.measure)))
        .col("over", "", dictionary(c.iter().map(|x| x.over)))
        .col(
            "with_protocol",
            "",
            Column::Bool(c.iter().map(|x| x.with_protocol).collect()),
        )
        .col("entities", "wallets or owners", u32s(|x| x.entities))
        .col(
            "total",
            "tokens or votes",
            f64s(|x| dmlsim_models::econ::as_tokens(x.total)),
        )
        .col("gini", "", f64s(|x| x.c.gini))
        .col(
            "nakamoto_33",
            "wallets or owners",
            u32s(|x| x.c.nakamoto_33),
        )
        .col(
            "nakamoto_51",
            "wallets or owners",
            u32s(|x| x.c.nakamoto_51),
        )
        .col("hhi", "", f64s(|x| x.c.hhi))
        .col("top1_share", "fraction", f64s(|x| x.top[0]))
        .col("top3_share", "fraction", f64s(|x| x.top[1]))
        .col("top10_share", "fraction", f64s(|x| x.top[2]))
}
