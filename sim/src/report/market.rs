//! Charts of the market (the market columns of epochs.arrow, jobs.arrow):
//! the network's share of the agents' jobs, the price it cleared at, the
//! work it won and the work it could not take, and why jobs went where.

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
    Ok(())
}
