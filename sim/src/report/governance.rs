//! The governance part of a run's report: a table of the proposals (what
//! each changed, the tally, who decided it), the largest owners' votes on
//! each, and charts of how concentrated power is over owners.

use super::Report;
use super::chart::{LineChart, Series};
use super::run_charts::{nums, pairs, texts, time_axis};
use crate::check::data::{RunData, Val};
use std::collections::BTreeMap;

/// How many owners of each proposal the report lists.
const LARGEST: usize = 5;

fn bools(data: &RunData, table: &str, column: &str) -> Option<Vec<bool>> {
    let col = data.column(table, column).ok()?;
    Some(col.iter().map(|v| *v == Val::Bool(true)).collect())
}

/// A time as days from the start, to the hour.
fn when(t_s: Option<f64>) -> String {
    t_s.map_or("—".into(), |t| {
        let days = format!("{:.2}", t / 86_400.0);
        format!("day {}", days.trim_end_matches('0').trim_end_matches('.'))
    })
}

/// A count.
fn whole(x: Option<f64>) -> String {
    x.map_or("—".into(), |x| format!("{x:.0}"))
}

/// Voting power: whole votes with thousands separators, or two decimals below 100.
fn amount(x: Option<f64>) -> String {
    let Some(x) = x else {
        return "—".into();
    };
    if x.abs() < 100.0 {
        return format!("{x:.2}");
    }
    let digits = format!("{:.0}", x.abs());
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    if x < 0.0 { format!("-{out}") } else { out }
}

/// The proposals table: header and rows (None without proposals.arrow).
pub fn proposals(data: &RunData) -> Option<(Vec<String>, Vec<Vec<String>>)> {
    if !data.has_table("proposals") {
        return None;
    }
    let num = |c: &str| nums(data, "proposals", c).unwrap_or_default();
    let text = |c: &str| texts(data, "proposals", c).unwrap_or_default();
    let (id, created, effective) = (num("id"), num("created_s"), num("effective_s"));
    let (parameter, old, new, status) =
        (text("parameter"), text("old"), text("new"), text("status"));
    let (yes, no, abstain, turnout) = (
        num("yes_power"),
        num("no_power"),
        num("abstain_power"),
        num("turnout"),
    );
    let decided = num("decided_by_owners");
    let captured = bools(data, "proposals", "captured").unwrap_or_default();
    let header = [
        "proposal",
        "created",
        "changes",
        "from → to",
        "yes / no / abstain",
        "turnout",
        "outcome",
        "effective",
        "decided by (owners)",
        "captured",
    ]
    .map(String::from)
    .to_vec();
    let rows = (0..id.len())
        .map(|i| {
            vec![
                whole(id[i]),
                when(created[i]),
                parameter[i].clone(),
                format!("{} → {}", old[i], new[i]),
                format!(
                    "{} / {} / {}",
                    amount(yes[i]),
                    amount(no[i]),
                    amount(abstain[i])
                ),
                turnout[i].map_or("—".into(), |t| format!("{:.1}%", 100.0 * t)),
                status[i].clone(),
                when(effective[i]),
                whole(decided[i]),
                if captured[i] {
                    "yes".into()
                } else {
                    "no".into()
                },
            ]
        })
        .collect();
    Some((header, rows))
}

/// Per proposal, its largest owners by power cast: owner, kind, wallets,
/// power and choice (None without votes.arrow).
pub fn largest_voters(data: &RunData) -> Option<(Vec<String>, Vec<Vec<String>>)> {
    if !data.has_table("votes") {
        return None;
    }
    let proposal = nums(data, "votes", "proposal")?;
    let owner = texts(data, "votes", "owner")?;
    let kind = texts(data, "votes", "owner_kind")?;
    let choice = texts(data, "votes", "choice")?;
    let power = nums(data, "votes", "power")?;
    // (proposal, owner) → (kind, choice, wallets, power), in proposal order.
    let mut by: BTreeMap<(u64, String), (String, String, u32, f64)> = BTreeMap::new();
    for i in 0..owner.len() {
        let p = proposal[i].unwrap_or(0.0) as u64;
        let e = by
            .entry((p, owner[i].clone()))
            .or_insert_with(|| (kind[i].clone(), choice[i].clone(), 0, 0.0));
        e.2 += 1;
        e.3 += power[i].unwrap_or(0.0);
    }
    let mut rows = Vec::new();
    let proposals: Vec<u64> = {
        let mut p: Vec<u64> = by.keys().map(|k| k.0).collect();
        p.dedup();
        p
    };
    for p in proposals {
        let mut owners: Vec<_> = by.iter().filter(|(k, _)| k.0 == p).collect();
        owners.sort_by(|a, b| b.1.3.total_cmp(&a.1.3).then(a.0.1.cmp(&b.0.1)));
        for ((_, name), (kind, choice, wallets, power)) in owners.into_iter().take(LARGEST) {
            rows.push(vec![
                p.to_string(),
                name.clone(),
                kind.clone(),
                wallets.to_string(),
                amount(Some(*power)),
                choice.clone(),
            ]);
        }
    }
    let header = ["proposal", "owner", "kind", "wallets", "power", "vote"]
        .map(String::from)
        .to_vec();
    Some((header, rows))
}

/// Charts of concentration over owners (concentration.arrow).
pub fn draw(data: &RunData, r: &mut Report) -> Result<(), String> {
    let (Some(t), Some(measure), Some(over), Some(with)) = (
        nums(data, "concentration", "t_s"),
        texts(data, "concentration", "measure"),
        texts(data, "concentration", "over"),
        bools(data, "concentration", "with_protocol"),
    ) else {
        return Ok(());
    };
    let max = t.iter().flatten().copied().fold(0.0, f64::max);
    let (scale, x_label) = time_axis(max);
    let pick = |m: &str, o: &str, w: bool, column: &str| -> Vec<(f64, f64)> {
        let values = nums(data, "concentration", column).unwrap_or_default();
        let rows: Vec<usize> = (0..t.len())
            .filter(|&i| measure[i] == m && over[i] == o && with[i] == w)
            .collect();
        let x: Vec<Option<f64>> = rows.iter().map(|&i| t[i]).collect();
        let y: Vec<Option<f64>> = rows.iter().map(|&i| values[i]).collect();
        pairs(&x, &y, scale)
    };
    let line = |label: &str, points| Series {
        label: label.into(),
        points,
        band: Vec::new(),
    };
    r.add(
        "owner_nakamoto",
        "Nakamoto coefficients over owners (the fewest owners holding 33% and 51%), counting the treasury as its controlling owners' holdings, and of voting power.",
        &LineChart {
            title: "Nakamoto coefficient over owners".into(),
            x_label: x_label.into(),
            y_label: "owners".into(),
            series: vec![
                line("holdings 33%", pick("holdings", "owners", true, "nakamoto_33")),
                line("holdings 51%", pick("holdings", "owners", true, "nakamoto_51")),
                line("voting power 51%", pick("voting_power", "owners", false, "nakamoto_51")),
            ],
            diagonal: false,
        },
    )?;
    r.add(
        "owner_top_shares",
        "Share of the largest 1, 3 and 10 owners in holdings (treasury counted as its owners') and the largest 3 in the epoch's rewards (treasury included).",
        &LineChart {
            title: "Largest owners' shares".into(),
            x_label: x_label.into(),
            y_label: "share".into(),
            series: vec![
                line("holdings, top 1", pick("holdings", "owners", true, "top1_share")),
                line("holdings, top 3", pick("holdings", "owners", true, "top3_share")),
                line("holdings, top 10", pick("holdings", "owners", true, "top10_share")),
                line("rewards, top 3", pick("rewards", "owners", true, "top3_share")),
            ],
            diagonal: false,
        },
    )?;
    // Bonded stake: drawn when its concentration moves at all (restaking,
    // delegation, slashing, operators leaving), not when every operator
    // keeps its minimum for the whole run.
    let gini = pick("bonded_stake", "operators", false, "gini");
    if gini.iter().any(|p| p.1 != gini[0].1) {
        r.add(
            "stake_concentration",
            "Concentration of the stake bonded to operators (their own and their delegators', validators left out): the Gini coefficient and the share of the largest 1 and 10 operators (their Nakamoto coefficients are in `stake_nakamoto`).",
            &LineChart {
                title: "Bonded stake over operators".into(),
                x_label: x_label.into(),
                y_label: "Gini / share".into(),
                series: vec![
                    line("Gini", gini),
                    line("top 1 share", pick("bonded_stake", "operators", false, "top1_share")),
                    line("top 10 share", pick("bonded_stake", "operators", false, "top10_share")),
                ],
                diagonal: false,
            },
        )?;
        r.add(
            "stake_nakamoto",
            "Nakamoto coefficients of bonded stake: the fewest operators holding 33% and 51% of the stake bonded to operators.",
            &LineChart {
                title: "Nakamoto coefficient of bonded stake".into(),
                x_label: x_label.into(),
                y_label: "operators".into(),
                series: vec![
                    line("33%", pick("bonded_stake", "operators", false, "nakamoto_33")),
                    line("51%", pick("bonded_stake", "operators", false, "nakamoto_51")),
                ],
                diagonal: false,
            },
        )?;
    }
    Ok(())
}
