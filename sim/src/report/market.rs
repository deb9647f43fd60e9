//! Charts of the market (the market columns of epochs.arrow, jobs.arrow):
//! the network's share of the agents' jobs, the price it cleared at, the
//! work it won and the work it could not take, and why jobs went where;
//! with a data market, dataset purchases, the data-side rewards and each
//! provider's sales (epochs.arrow, datasets.arrow).

use super::Report;
use super::chart::{Bar, BarChart, LineChart, Series};
use super::run_charts::{nums, pairs, texts, time_axis};
use crate::check::data::RunData;
use std::collections::BTreeMap;

/// Adds the market's charts when the run has a market.
pub fn draw(data: &RunData, r: &mut Report) -> Result<(), String> {
    let (Some(t), Some(share)) = (
        nums(data, "epochs", "t_s"),
        nums(data, "epochs", "network_share"),
    ) else {
        return Ok(());
    };
    let max = t.iter().flatten().copied().fold(0.0, f64::max);
    let (scale, x_label) = time_axis(max);
    let col = |c: &str| nums(data, "epochs", c).unwrap_or_default();
    let line = |title: &str, y: &str, series: Vec<Series>| LineChart {
        title: title.into(),
        x_label: x_label.into(),
        y_label: y.into(),
        series,
        diagonal: false,
    };
    let one = |label: &str, points| Series {
        label: label.into(),
        points,
        band: Vec::new(),
    };
    r.add(
        "market_share",
        "Share of the jobs decided in each epoch that the agents sent to the network rather than the cloud.",
        &line(
            "Network share of the agents' jobs",
            "share of jobs",
            vec![one("", pairs(&t, &share, scale))],
        ),
    )?;
    r.add(
        "market_price",
        "Mean price the network's jobs were awarded in each epoch (PFLOP-weighted).",
        &line(
            "Clearing price",
            "tokens per PFLOP",
            vec![one(
                "",
                pairs(&t, &col("clearing_price_tokens_per_pflop"), scale),
            )],
        ),
    )?;
    r.add(
        "market_volume",
        "Work awarded to the network in each epoch, and work of jobs that wanted it but found too few eligible providers.",
        &line(
            "Work won and demand left unfilled",
            "PFLOP",
            vec![
                one("awarded", pairs(&t, &col("volume_pflop"), scale)),
                one("unfilled", pairs(&t, &col("unfilled_pflop"), scale)),
            ],
        ),
    )?;
    if let (Some(venue), Some(reason)) =
        (texts(data, "jobs", "venue"), texts(data, "jobs", "reason"))
    {
        let mut counts: BTreeMap<String, f64> = BTreeMap::new();
        for (v, why) in venue.iter().zip(&reason) {
            *counts.entry(format!("{v}: {why}")).or_default() += 1.0;
        }
        r.add(
            "market_reasons",
            "The agents' jobs by venue and the reason for it (jobs.arrow).",
            &BarChart {
                title: "Where the jobs went, and why".into(),
                y_label: "jobs".into(),
                bars: counts
                    .into_iter()
                    .map(|(label, value)| Bar {
                        label,
                        value,
                        interval: None,
                        short_label: None,
                    })
                    .collect(),
            },
        )?;
    }
    if let Some(paid) = nums(data, "epochs", "data_paid_tokens") {
        r.add(
            "market_data",
            "Tokens agents paid data providers for datasets in each epoch, and the epoch's data, storage and relay rewards (epochs.arrow; runs with market.data).",
            &line(
                "Data purchases and the data-side rewards",
                "tokens",
                vec![
                    one("dataset purchases", pairs(&t, &paid, scale)),
                    one("data share (providers)", pairs(&t, &col("data_reward_tokens"), scale)),
                    one("storage share (hosts)", pairs(&t, &col("storage_reward_tokens"), scale)),
                    one("relay share (hosts)", pairs(&t, &col("relay_reward_tokens"), scale)),
                ],
            ),
        )?;
    }
    if let (Some(provider), Some(sales)) = (
        texts(data, "datasets", "provider"),
        nums(data, "datasets", "sales"),
    ) {
        let poisoned = texts(data, "datasets", "poisoned").unwrap_or_default();
        r.add(
            "market_datasets",
            "Jobs that bought each provider's dataset; (poisoned) marks providers listing poisoned data (datasets.arrow).",
            &BarChart {
                title: "Dataset sales by provider".into(),
                y_label: "jobs".into(),
                bars: provider
                    .iter()
                    .zip(&sales)
                    .enumerate()
                    .map(|(i, (name, n))| Bar {
                        label: if poisoned.get(i).is_some_and(|p| p == "true") {
                            format!("{name} (poisoned)")
                        } else {
                            name.clone()
                        },
                        value: n.unwrap_or(0.0),
                        interval: None,
                        short_label: None,
                    })
                    .collect(),
            },
        )?;
    }
    Ok(())
}
