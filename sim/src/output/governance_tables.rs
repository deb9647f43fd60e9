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
