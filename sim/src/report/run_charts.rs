//! Charts of one run.

use super::Report;
use super::chart::{Bar, BarChart, LineChart, Series};
use crate::check::data::{RunData, Val};
use std::collections::BTreeMap;

/// A column mapped value by value (None if the table or column is absent).
fn mapped<T>(data: &RunData, table: &str, column: &str, f: fn(&Val) -> T) -> Option<Vec<T>> {
    if !data.has_table(table) {
        return None;
    }
    Some(data.column(table, column).ok()?.iter().map(f).collect())
}

/// A numeric column (None if the table or column is absent).
pub fn nums(data: &RunData, table: &str, column: &str) -> Option<Vec<Option<f64>>> {
    mapped(data, table, column, |v| match v {
        Val::Num(x) if x.is_finite() => Some(*x),
        _ => None,
    })
}

/// A text column (None if absent).
pub fn texts(data: &RunData, table: &str, column: &str) -> Option<Vec<String>> {
    mapped(data, table, column, |v| match v {
        Val::Str(s) => s.clone(),
        other => other.to_string(),
    })
}

/// Simulated time in days beyond a month, in hours beyond four hours, else
/// seconds.
pub fn time_axis(max_s: f64) -> (f64, &'static str) {
    if max_s > 30.0 * 86_400.0 {
        (1.0 / 86_400.0, "simulated time (days)")
    } else if max_s > 4.0 * 3600.0 {
        (1.0 / 3600.0, "simulated time (h)")
    } else {
        (1.0, "simulated time (s)")
    }
}

/// Pairs of present values.
pub fn pairs(x: &[Option<f64>], y: &[Option<f64>], x_scale: f64) -> Vec<(f64, f64)> {
    x.iter()
        .zip(y)
        .filter_map(|(a, b)| Some((a.as_ref()? * x_scale, *b.as_ref()?)))
        .collect()
}

/// A chart of one unlabelled line.
fn one_line(title: &str, x_label: &str, y_label: &str, points: Vec<(f64, f64)>) -> LineChart {
    LineChart {
        title: title.into(),
        x_label: x_label.into(),
        y_label: y_label.into(),
        series: vec![series("", points)],
        diagonal: false,
    }
}

fn series(label: &str, points: Vec<(f64, f64)>) -> Series {
    Series {
        label: label.into(),
        points,
        band: Vec::new(),
    }
}

/// Draws every chart the run's tables allow.
pub fn draw(data: &RunData, r: &mut Report) -> Result<(), String> {
    if let (Some(t), Some(acc)) = (
        nums(data, "rounds", "t_end_s"),
        nums(data, "rounds", "test_accuracy"),
    ) && acc.iter().any(Option::is_some)
    {
        let max = t.iter().flatten().copied().fold(0.0, f64::max);
        let (scale, x_label) = time_axis(max);
        r.add(
            "accuracy",
            "Test accuracy of the global model after each round.",
            &one_line(
                "Test accuracy against simulated time",
                x_label,
                "test accuracy",
                pairs(&t, &acc, scale),
            ),
        )?;
    }
    if let (Some(round), Some(d)) = (
        nums(data, "rounds", "round"),
        nums(data, "rounds", "duration_s"),
    ) {
        r.add(
            "round_duration",
            "How long each round took, s.",
            &one_line(
                "Round duration",
                "round",
                "duration (s)",
                pairs(&round, &d, 1.0),
            ),
        )?;
    }
    if let (Some(round), Some(cost)) = (
        nums(data, "rounds", "round"),
        nums(data, "rounds", "cost_usd"),
    ) && cost.iter().any(Option::is_some)
    {
        let mut s = vec![series(
            "network: tokens paid + operators' costs",
            pairs(&round, &cost, 1.0),
        )];
        if let Some(cloud) = nums(data, "rounds", "cloud_cost_usd")
            && cloud.iter().any(Option::is_some)
        {
            s.push(series("cloud baseline", pairs(&round, &cloud, 1.0)));
        }
        r.add(
            "cost_per_round",
            "What each round cost the network (tokens paid at the price, plus operators' electricity, bandwidth and amortization) against the same work on rented cloud GPUs, USD.",
            &LineChart {
                title: "Cost per round against the cloud baseline".into(),
                x_label: "round".into(),
                y_label: "USD".into(),
                series: s,
                diagonal: false,
            },
        )?;
    }
    if let Some(t) = nums(data, "epochs", "t_s") {
        let max = t.iter().flatten().copied().fold(0.0, f64::max);
        let (scale, x_label) = time_axis(max);
        let col = |c: &str| nums(data, "epochs", c).unwrap_or_default();
        let line = |title: &str, y: &str, cols: &[(&str, &str)]| LineChart {
            title: title.into(),
            x_label: x_label.into(),
            y_label: y.into(),
            series: cols
                .iter()
                .map(|(c, label)| series(label, pairs(&t, &col(c), scale)))
                .collect(),
            diagonal: false,
        };
        r.add(
            "supply",
            "Token supply and what was minted so far, at each epoch's settlement.",
            &line(
                "Supply",
                "tokens",
                &[("supply_tokens", "supply"), ("minted_tokens", "minted")],
            ),
        )?;
        r.add(
            "emission",
            "Tokens emitted in each epoch (the reward curve).",
            &line("Emission per epoch", "tokens", &[("emission_tokens", "")]),
        )?;
        r.add(
            "token_price",
            "Token price at each settlement.",
            &line("Token price", "USD", &[("token_price_usd", "")]),
        )?;
        r.add(
            "operators",
            "Operators in the network, taking part in the epoch, and with a positive profit over the epoch.",
            &line(
                "Operators over time",
                "operators",
                &[
                    ("operators_in_network", "in the network"),
                    ("operators_participating", "taking part"),
                    ("operators_profitable", "profitable in the epoch"),
                ],
            ),
        )?;
        r.add(
            "nakamoto",
            "Nakamoto coefficient (51%): the fewest accounts holding a majority — of all holdings, of operators' holdings, and of the epoch's rewards.",
            &line(
                "Nakamoto coefficient over time",
                "accounts",
                &[
                    ("nakamoto_51", "holdings, all accounts"),
                    ("nakamoto_51_operators", "holdings, operators only"),
                    ("reward_nakamoto_51", "rewards earned in the epoch"),
                ],
            ),
        )?;
        r.add(
            "gini",
            "Gini coefficient of holdings (all accounts, operators only) and of each epoch's rewards.",
            &line(
                "Gini over time",
                "Gini",
                &[
                    ("gini", "holdings, all accounts"),
                    ("gini_operators", "holdings, operators only"),
                    ("reward_gini", "rewards earned in the epoch"),
                ],
            ),
        )?;
    }
    profit_by_profile(data, r)?;
    lorenz(data, r)?;
    super::governance::draw(data, r)?;
    super::market::draw(data, r)?;
    if let (Some(b), Some(p)) = (
        texts(data, "behaviours", "behaviour"),
        nums(data, "behaviours", "net_profit_usd_per_update"),
    ) {
        r.add(
            "behaviours",
            "Net profit per delivered update of each behaviour class (rewards − costs − slashes): cheating pays when a cheating class's bar is above the honest one's.",
            &BarChart {
                title: "Net profit per update by behaviour".into(),
                y_label: "USD per update".into(),
                bars: b
                    .iter()
                    .zip(&p)
                    .map(|(label, v)| Bar {
                        label: label.clone(),
                        value: v.unwrap_or(0.0),
                        interval: None,
                        short_label: None,
                    })
                    .collect(),
            },
        )?;
    }
    Ok(())
}

/// Median epoch profit per operator profile over time.
fn profit_by_profile(data: &RunData, r: &mut Report) -> Result<(), String> {
    let (Some(epoch), Some(profile), Some(profit)) = (
        nums(data, "operator_epochs", "epoch"),
        texts(data, "operator_epochs", "profile"),
        nums(data, "operator_epochs", "profit_usd"),
    ) else {
        return Ok(());
    };
    let mut by: BTreeMap<String, BTreeMap<u64, Vec<f64>>> = BTreeMap::new();
    for ((e, p), x) in epoch.iter().zip(&profile).zip(&profit) {
        if let (Some(e), Some(x)) = (e, x) {
            by.entry(p.clone())
                .or_default()
                .entry(*e as u64)
                .or_default()
                .push(*x);
        }
    }
    let quantile = |v: &mut Vec<f64>, q: f64| {
        v.sort_by(f64::total_cmp);
        v[((v.len() - 1) as f64 * q).round() as usize]
    };
    let series: Vec<Series> = by
        .into_iter()
        .map(|(p, epochs)| {
            let mut points = Vec::new();
            let mut band = Vec::new();
            for (e, mut v) in epochs {
                let x = e as f64;
                points.push((x, quantile(&mut v, 0.5)));
                band.push((x, quantile(&mut v, 0.1), quantile(&mut v, 0.9)));
            }
            Series {
                label: p,
                points,
                band,
            }
        })
        .collect();
    r.add(
        "operator_profit_by_profile",
        "Each profile's operators' profit over each epoch (rewards at the price − costs − slashes): median line, 10th–90th percentile band.",
        &LineChart {
            title: "Operator profit per epoch by profile".into(),
            x_label: "epoch".into(),
            y_label: "USD per operator per epoch".into(),
            series,
            diagonal: false,
        },
    )
}

/// Final holdings per account from replaying the ledger (the reward pool
/// and other empty accounts left out).
fn final_holdings(data: &RunData) -> Option<Vec<f64>> {
    let kind = texts(data, "ledger", "kind")?;
    let from = data.column("ledger", "from").ok()?;
    let to = data.column("ledger", "to").ok()?;
    let amount = nums(data, "ledger", "amount_tokens")?;
    let mut held: BTreeMap<String, f64> = BTreeMap::new();
    let name = |v: &Val| match v {
        Val::Str(s) => Some(s.clone()),
        _ => None,
    };
    for i in 0..kind.len() {
        let x = amount[i].unwrap_or(0.0);
        let (f, t) = (name(&from[i]), name(&to[i]));
        match kind[i].as_str() {
            // Stake, unbonding and release move within an account's holdings.
            "stake" | "unstake" | "release" => {}
            "slash" => {
                if let Some(f) = f {
                    *held.entry(f).or_default() -= x;
                }
                if let Some(t) = t {
                    *held.entry(t).or_default() += x;
                }
            }
            _ => {
                if let Some(f) = f {
                    *held.entry(f).or_default() -= x;
                }
                if let Some(t) = t {
                    *held.entry(t).or_default() += x;
                }
            }
        }
    }
    Some(
        held.into_iter()
            .filter(|(k, v)| k != "reward-pool" && *v > 1e-12)
            .map(|(_, v)| v)
            .collect(),
    )
}

/// The Lorenz curve of amounts: cumulative share of accounts against
/// cumulative share of the amount, poorest first.
pub fn lorenz_points(amounts: &[f64]) -> Vec<(f64, f64)> {
    let mut v: Vec<f64> = amounts.iter().copied().filter(|x| *x >= 0.0).collect();
    v.sort_by(f64::total_cmp);
    let total: f64 = v.iter().sum();
    let n = v.len() as f64;
    let mut out = vec![(0.0, 0.0)];
    if total <= 0.0 {
        return out;
    }
    let mut acc = 0.0;
    for (i, x) in v.iter().enumerate() {
        acc += x;
        out.push(((i + 1) as f64 / n, acc / total));
    }
    out
}

fn lorenz(data: &RunData, r: &mut Report) -> Result<(), String> {
    let Some(all) = final_holdings(data) else {
        return Ok(());
    };
    let mut s = vec![Series {
        label: format!("all accounts ({})", all.len()),
        points: lorenz_points(&all),
        band: Vec::new(),
    }];
    if let (Some(b), Some(st)) = (
        nums(data, "operators", "balance_tokens"),
        nums(data, "operators", "stake_tokens"),
    ) {
        let ops: Vec<f64> = b
            .iter()
            .zip(&st)
            .map(|(b, s)| b.unwrap_or(0.0) + s.unwrap_or(0.0))
            .collect();
        s.push(Series {
            label: format!("operators only ({})", ops.len()),
            points: lorenz_points(&ops),
            band: Vec::new(),
        });
    }
    r.add(
        "lorenz",
        "Lorenz curve of final holdings (balance + stake): the poorest x share of accounts holds y of the tokens; the diagonal is perfect equality. Genesis holders and the treasury make \"all accounts\" far more concentrated than operators alone.",
        &LineChart {
            title: "Lorenz curve of final holdings".into(),
            x_label: "share of accounts (poorest first)".into(),
            y_label: "share of holdings".into(),
            series: s,
            diagonal: true,
        },
    )
}

/// The key figures of a run's index: label and `run.json` pointer.
const KEY_FIGURES: [(&str, &str); 19] = [
    ("scenario", "/scenario"),
    ("stopped by", "/stopped_by"),
    ("rounds completed", "/rounds_completed"),
    ("simulated time (s)", "/sim_time_s"),
    ("final test accuracy", "/summary/rounds/final_test_accuracy"),
    ("network cost (USD)", "/summary/rounds/cost_usd"),
    ("cloud cost (USD)", "/summary/rounds/cloud_cost_usd"),
    (
        "USD per accuracy point",
        "/summary/rounds/cost_usd_per_accuracy_point",
    ),
    ("final supply (tokens)", "/summary/economy/supply_tokens"),
    ("final Gini (all)", "/summary/economy/final_gini"),
    (
        "final Gini (operators)",
        "/summary/economy/final_gini_operators",
    ),
    ("final Nakamoto 51%", "/summary/economy/final_nakamoto_51"),
    (
        "profitable operator-epochs",
        "/summary/economy/profitable_share",
    ),
    ("network collapsed", "/summary/network_collapsed"),
    (
        "cheating premium (USD/update)",
        "/summary/verification/cheating_premium_usd_per_update",
    ),
    ("proposals passed", "/summary/governance/passed"),
    ("proposals captured", "/summary/governance/captured"),
    (
        "fewest owners deciding a vote",
        "/summary/governance/min_decided_by_owners",
    ),
    (
        "final Nakamoto 51% (owners, treasury included)",
        "/summary/governance/final_owner_nakamoto_51",
    ),
];

/// The run's key figures for the index, from `run.json`.
pub fn key_figures(data: &RunData) -> Vec<(String, String)> {
    let j = &data.run_json;
    let mut out = Vec::new();
    for (label, pointer) in KEY_FIGURES {
        let text = match j.pointer(pointer) {
            None | Some(serde_json::Value::Null) => continue,
            // Counts as they are; other numbers compactly.
            Some(serde_json::Value::Number(n)) if n.is_u64() || n.is_i64() => n.to_string(),
            Some(serde_json::Value::Number(n)) => {
                n.as_f64().map_or(n.to_string(), super::chart::compact)
            }
            Some(serde_json::Value::String(s)) => s.clone(),
            Some(other) => other.to_string(),
        };
        out.push((label.to_string(), text));
    }
    if let Some(targets) = j
        .pointer("/summary/rounds/accuracy_targets")
        .and_then(|t| t.as_object())
    {
        for (k, t) in targets {
            let v = t
                .get("time_s")
                .and_then(|v| v.as_f64())
                .map_or("not reached".to_string(), super::chart::compact);
            out.push((format!("time to {}% accuracy (s)", k.replace('_', ".")), v));
        }
    }
    out
}
