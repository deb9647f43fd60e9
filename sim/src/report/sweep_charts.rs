//! Charts of a sweep: one line per cell with replicate bands, bars with
//! 95% confidence intervals from `summary.arrow`, heatmaps over two swept
//! fields.

use super::Report;
use super::chart::{Bar, BarChart, Heatmap, LineChart, Series, short};
use super::run_charts::{nums, time_axis};
use crate::check::data::{RunData, Val};
use crate::sweep::store::{PlanRecord, read_record};
use std::collections::BTreeMap;
use std::path::Path;

/// Most cells drawn as separate lines in one chart.
pub const MAX_LINES: usize = 20;

/// One summary.arrow row: n, mean, ci95_low, ci95_high.
pub type CellStat = (u64, Option<f64>, Option<f64>, Option<f64>);

/// A sweep folder's plan, cells and complete runs.
pub struct SweepData {
    /// The plan.
    pub plan: PlanRecord,
    /// Each cell's label (its swept values).
    pub labels: Vec<String>,
    /// Complete runs: (cell, data).
    pub runs: Vec<(u32, RunData)>,
    /// summary.arrow's rows by (cell, metric).
    pub summary: BTreeMap<(u32, String), CellStat>,
}

impl SweepData {
    /// Reads a sweep folder.
    pub fn read(dir: &Path) -> Result<SweepData, String> {
        let plan = PlanRecord::read(dir).map_err(|e| e.to_string())?;
        let labels = cell_labels(&plan.params, &plan.cells);
        let mut runs = Vec::new();
        for id in 0..plan.runs {
            if let Some(r) = read_record(dir, id)
                && r.status == "ok"
                && let Some(run) = r.run
            {
                runs.push((r.cell, RunData::sweep_run(dir, id, run)));
            }
        }
        if runs.is_empty() {
            return Err(format!("{} holds no complete run to report", dir.display()));
        }
        let mut summary = BTreeMap::new();
        let file = dir.join("summary.arrow");
        if file.is_file() {
            let batches = {
                let f =
                    std::fs::File::open(&file).map_err(|e| format!("{}: {e}", file.display()))?;
                arrow_ipc::reader::FileReader::try_new(f, None)
                    .map_err(|e| format!("{}: {e}", file.display()))?
                    .collect::<Result<Vec<_>, _>>()
                    .map_err(|e| format!("{}: {e}", file.display()))?
            };
            for b in &batches {
                let mut out = Vec::new();
                let mut get = |name: &str| -> Vec<Val> {
                    out.clear();
                    b.column_by_name(name)
                        .map(|c| crate::check::data::values_of(c, &mut out).map(|_| out.clone()))
                        .and_then(Result::ok)
                        .unwrap_or_default()
                };
                let cell = get("cell");
                let metric = get("metric");
                let n = get("n");
                let mean = get("mean");
                let lo = get("ci95_low");
                let hi = get("ci95_high");
                let num = |v: &Val| match v {
                    Val::Num(x) => Some(*x),
                    _ => None,
                };
                for i in 0..cell.len() {
                    if let (Some(c), Val::Str(m)) = (num(&cell[i]), &metric[i]) {
                        summary.insert(
                            (c as u32, m.clone()),
                            (
                                num(&n[i]).unwrap_or(0.0) as u64,
                                num(&mean[i]),
                                num(&lo[i]),
                                num(&hi[i]),
                            ),
                        );
                    }
                }
            }
        }
        Ok(SweepData {
            plan,
            labels,
            runs,
            summary,
        })
    }

    /// Cells with at least one complete run, in order.
    pub fn cells(&self) -> Vec<u32> {
        let mut c: Vec<u32> = self.runs.iter().map(|r| r.0).collect();
        c.dedup();
        c
    }

    /// Metric names in summary.arrow.
    pub fn metrics(&self) -> Vec<String> {
        let mut m: Vec<String> = self.summary.keys().map(|k| k.1.clone()).collect();
        m.sort();
        m.dedup();
        m
    }
}

/// `path=value` for every leaf of a YAML value (`initial_usd=0.01`).
fn leaves(prefix: &str, v: &serde_yaml_ng::Value, out: &mut Vec<(String, String)>) {
    match v {
        serde_yaml_ng::Value::Mapping(m) => {
            for (k, x) in m {
                let key = crate::scenario::flow_text(k);
                let path = if prefix.is_empty() {
                    key
                } else {
                    format!("{prefix}.{key}")
                };
                leaves(&path, x, out);
            }
        }
        other => out.push((prefix.to_string(), crate::scenario::flow_text(other))),
    }
}

/// Short labels of cells: per swept field, only the parts of its value
/// that differ between cells (`halving.initial=2000`, `initial_usd=0.05`).
pub fn cell_labels(params: &[String], cells: &[Vec<String>]) -> Vec<String> {
    if params.is_empty() {
        return cells.iter().map(|_| "all runs".to_string()).collect();
    }
    let mut per_param: Vec<Vec<String>> = Vec::new();
    for (i, p) in params.iter().enumerate() {
        let field = p.rsplit('.').next().unwrap_or(p);
        let parsed: Vec<Vec<(String, String)>> = cells
            .iter()
            .map(|c| {
                let v: serde_yaml_ng::Value =
                    serde_yaml_ng::from_str(&c[i]).unwrap_or(serde_yaml_ng::Value::Null);
                let mut out = Vec::new();
                leaves("", &v, &mut out);
                out
            })
            .collect();
        let varies = |path: &str| {
            let first = parsed[0].iter().find(|(k, _)| k == path).map(|x| &x.1);
            parsed
                .iter()
                .any(|c| c.iter().find(|(k, _)| k == path).map(|x| &x.1) != first)
        };
        per_param.push(
            parsed
                .iter()
                .map(|c| {
                    let varying: Vec<&(String, String)> =
                        c.iter().filter(|(k, _)| varies(k)).collect();
                    // A tagged choice (`{halving: {…}}`) whose tag differs
                    // between cells is named once: `halving initial=2000`.
                    let tag = c.first().map(|(k, _)| k.split('.').next().unwrap_or(""));
                    let tagged = tag.is_some_and(|t| {
                        !t.is_empty()
                            && c.iter().all(|(k, _)| k.starts_with(&format!("{t}.")))
                            && parsed.iter().any(|o| {
                                o.first().map(|(k, _)| k.split('.').next().unwrap_or("")) != Some(t)
                            })
                    });
                    let mut parts: Vec<String> = Vec::new();
                    if tagged {
                        parts.push(tag.unwrap_or_default().to_string());
                    }
                    for (k, v) in varying {
                        if k.is_empty() {
                            parts.push(format!("{field}={v}"));
                        } else {
                            parts.push(format!("{}={v}", k.rsplit('.').next().unwrap_or(k)));
                        }
                    }
                    parts.join(" ")
                })
                .collect(),
        );
    }
    (0..cells.len())
        .map(|c| {
            per_param
                .iter()
                .map(|p| p[c].clone())
                .filter(|s| !s.is_empty())
                .collect::<Vec<_>>()
                .join(", ")
        })
        .collect()
}

/// For each cell, the mean line of `y` against `x` over its replicates,
/// matched by row (round or epoch), and the band of the mean's 95%
/// confidence interval (with two or more replicates).
fn by_cell(s: &SweepData, table: &str, x: &str, y: &str, x_scale: f64) -> Vec<Series> {
    let mut out = Vec::new();
    for cell in s.cells().into_iter().take(MAX_LINES) {
        let mut rows: Vec<(Vec<f64>, Vec<f64>)> = Vec::new();
        for (_, data) in s.runs.iter().filter(|r| r.0 == cell) {
            let (Some(xs), Some(ys)) = (nums(data, table, x), nums(data, table, y)) else {
                continue;
            };
            for (i, (a, b)) in xs.iter().zip(&ys).enumerate() {
                if let (Some(a), Some(b)) = (a, b) {
                    if rows.len() <= i {
                        rows.resize(i + 1, (Vec::new(), Vec::new()));
                    }
                    rows[i].0.push(a * x_scale);
                    rows[i].1.push(*b);
                }
            }
        }
        let mut points = Vec::new();
        let mut band = Vec::new();
        for (xs, ys) in rows.iter().filter(|r| !r.1.is_empty()) {
            let mx = xs.iter().sum::<f64>() / xs.len() as f64;
            let m = crate::sweep::stats::Moments::of(ys.iter().copied());
            let Some(my) = m.mean else { continue };
            points.push((mx, my));
            if let Some(half) = m.ci95 {
                band.push((mx, my - half, my + half));
            }
        }
        if !points.is_empty() {
            out.push(Series {
                label: s.labels[cell as usize].clone(),
                points,
                band,
            });
        }
    }
    out
}

fn max_x(s: &SweepData, table: &str, x: &str) -> f64 {
    s.runs
        .iter()
        .filter_map(|(_, d)| nums(d, table, x))
        .flat_map(|v| v.into_iter().flatten())
        .fold(0.0, f64::max)
}

/// Bars of a summary metric by cell, with their 95% intervals.
fn bars(s: &SweepData, metric: &str) -> Vec<Bar> {
    s.cells()
        .into_iter()
        .filter_map(|c| {
            let (_, mean, lo, hi) = s.summary.get(&(c, metric.to_string()))?;
            Some(Bar {
                label: s.labels[c as usize].clone(),
                value: (*mean)?,
                interval: lo.zip(*hi),
                short_label: Some(c.to_string()),
            })
        })
        .collect()
}

/// Where a chart shows only the first cells.
fn note_lines(s: &SweepData, r: &mut Report) {
    let n = s.cells().len();
    if n > MAX_LINES {
        r.notes.push(format!(
            "Line charts show the first {MAX_LINES} of {n} cells; the tables below list all."
        ));
    }
}

/// Draws every chart the sweep's tables allow.
pub fn draw(
    s: &SweepData,
    r: &mut Report,
    heatmaps: &[String],
    axes: Option<(&str, &str)>,
) -> Result<(), String> {
    note_lines(s, r);
    let band =
        "line: mean over the cell's replicates; band: its 95% confidence interval (Student's t)";
    let t = max_x(s, "rounds", "t_end_s");
    let (scale, x_label) = time_axis(t);
    let acc = by_cell(s, "rounds", "t_end_s", "test_accuracy", scale);
    if !acc.is_empty() {
        r.add(
            "accuracy_by_cell",
            &format!("Test accuracy against simulated time per cell ({band})."),
            &LineChart {
                title: "Test accuracy by cell".into(),
                x_label: x_label.into(),
                y_label: "test accuracy".into(),
                series: acc,
                diagonal: false,
            },
        )?;
    }
    let metrics = s.metrics();
    // The lowest target (keys are percent with `_` for the point).
    let target_of = |m: &str| -> Option<f64> {
        let key = m
            .strip_prefix("rounds.accuracy_targets.")?
            .strip_suffix(".time_s")?;
        key.replace('_', ".").parse().ok()
    };
    if let Some(m) = metrics
        .iter()
        .filter(|m| target_of(m).is_some())
        .min_by(|a, b| {
            target_of(a)
                .unwrap_or(0.0)
                .total_cmp(&target_of(b).unwrap_or(0.0))
        })
    {
        let b = bars(s, m);
        if !b.is_empty() {
            let target = m.split('.').nth(2).unwrap_or("").replace('_', ".");
            r.add(
                "time_to_accuracy",
                &format!("Simulated time until test accuracy first reached {target}% (`{m}`), mean and 95% confidence interval over replicates that reached it."),
                &BarChart {
                    title: format!("Time to {target}% accuracy by cell"),
                    y_label: "s".into(),
                    bars: b,
                },
            )?;
        }
    }
    let te = max_x(s, "epochs", "t_s");
    let (escale, ex_label) = time_axis(te);
    for (name, col, title, y, caption) in [
        (
            "reward_curves",
            "emission_tokens",
            "Emission per epoch by cell",
            "tokens",
            "Tokens emitted in each epoch: the reward curves of the sweep overlaid",
        ),
        (
            "supply_by_cell",
            "supply_tokens",
            "Supply by cell",
            "tokens",
            "Token supply at each settlement",
        ),
        (
            "price_by_cell",
            "token_price_usd",
            "Token price by cell",
            "USD",
            "Token price at each settlement",
        ),
        (
            "operators_by_cell",
            "operators_in_network",
            "Operators in the network by cell",
            "operators",
            "Operators in the network: who stays as rewards change (survival)",
        ),
        (
            "profitable_by_cell",
            "operators_profitable",
            "Operators profitable per epoch by cell",
            "operators",
            "Operators whose profit over the epoch was positive",
        ),
        (
            "gini_by_cell",
            "gini",
            "Gini of holdings by cell",
            "Gini",
            "Gini coefficient of holdings, all accounts",
        ),
        (
            "nakamoto_by_cell",
            "nakamoto_51",
            "Nakamoto coefficient by cell",
            "accounts",
            "Fewest accounts holding a majority",
        ),
    ] {
        let series = by_cell(s, "epochs", "t_s", col, escale);
        if series.iter().any(|x| !x.points.is_empty()) {
            r.add(
                name,
                &format!("{caption} ({band})."),
                &LineChart {
                    title: title.into(),
                    x_label: ex_label.into(),
                    y_label: y.into(),
                    series,
                    diagonal: false,
                },
            )?;
        }
    }
    for (metric, name, title, y) in [
        (
            "economy.profitable_share",
            "survival",
            "Profitable operator-epochs by cell",
            "share of operator-epochs",
        ),
        (
            "verification.cheating_premium_usd_per_update",
            "cheating_premium",
            "Cheating premium by cell",
            "USD per update (> 0: cheating pays)",
        ),
        (
            "rounds.final_test_accuracy",
            "final_accuracy",
            "Final test accuracy by cell",
            "test accuracy",
        ),
    ] {
        let b = bars(s, metric);
        if !b.is_empty() {
            r.add(
                name,
                &format!("`{metric}` per cell: mean and 95% confidence interval over replicates."),
                &BarChart {
                    title: title.into(),
                    y_label: y.into(),
                    bars: b,
                },
            )?;
        }
    }
    heatmap_charts(s, r, heatmaps, axes)
}

/// Heatmaps of metrics over two swept fields (the first two, or `axes`).
fn heatmap_charts(
    s: &SweepData,
    r: &mut Report,
    chosen: &[String],
    axes: Option<(&str, &str)>,
) -> Result<(), String> {
    let params = &s.plan.params;
    let (xi, yi) = match axes {
        Some((x, y)) => {
            let find = |p: &str| {
                params.iter().position(|q| q == p).ok_or_else(|| {
                    format!(
                        "`{p}` is not a swept field of this sweep; it sweeps {}",
                        params.join(", ")
                    )
                })
            };
            (find(x)?, find(y)?)
        }
        None if params.len() >= 2 => (0, 1),
        None => {
            if !chosen.is_empty() {
                return Err(format!(
                    "a heatmap needs two swept fields; this sweep varies {}",
                    if params.is_empty() {
                        "none".to_string()
                    } else {
                        params.join(", ")
                    }
                ));
            }
            return Ok(());
        }
    };
    let metrics: Vec<String> = if chosen.is_empty() {
        [
            "verification.cheating_premium_usd_per_update",
            "economy.profitable_share",
            "rounds.final_test_accuracy",
            "economy.final_gini",
        ]
        .iter()
        .filter(|m| s.summary.iter().any(|(k, v)| k.1 == **m && v.1.is_some()))
        .map(|m| m.to_string())
        .collect()
    } else {
        let known = s.metrics();
        for m in chosen {
            if !known.contains(m) {
                return Err(format!(
                    "--heatmap {m}: not a metric of summary.arrow; it has: {}",
                    known.join(", ")
                ));
            }
        }
        chosen.to_vec()
    };
    let mut xs: Vec<String> = Vec::new();
    let mut ys: Vec<String> = Vec::new();
    for c in &s.plan.cells {
        if !xs.contains(&c[xi]) {
            xs.push(c[xi].clone());
        }
        if !ys.contains(&c[yi]) {
            ys.push(c[yi].clone());
        }
    }
    for m in metrics {
        // Cells sharing (x, y) — other swept fields differ — are averaged.
        let mut sum = vec![vec![(0.0, 0u32); xs.len()]; ys.len()];
        for (cell, values) in s.plan.cells.iter().enumerate() {
            if let Some((_, Some(mean), _, _)) = s.summary.get(&(cell as u32, m.clone())) {
                let i = xs.iter().position(|x| *x == values[xi]).unwrap_or(0);
                let j = ys.iter().position(|y| *y == values[yi]).unwrap_or(0);
                sum[j][i].0 += mean;
                sum[j][i].1 += 1;
            }
        }
        let values = sum
            .iter()
            .map(|row| {
                row.iter()
                    .map(|(s, n)| (*n > 0).then(|| s / f64::from(*n)))
                    .collect()
            })
            .collect();
        let name = format!("heatmap_{}", m.replace(['.', '%'], "_"));
        let averaged = if params.len() > 2 {
            " Cells that differ only in the other swept fields are averaged."
        } else {
            ""
        };
        r.add(
            &name,
            &format!(
                "`{m}` (mean over replicates) over `{}` × `{}`.{averaged}",
                params[xi], params[yi]
            ),
            &Heatmap {
                title: short(&m, 70),
                x_label: params[xi].clone(),
                y_label: params[yi].clone(),
                x_ticks: xs.clone(),
                y_ticks: ys.clone(),
                values,
            },
        )?;
    }
    Ok(())
}

/// The cells table for the index: label, runs, and key metrics as mean
/// ± half CI.
pub fn cell_table(s: &SweepData) -> (Vec<String>, Vec<Vec<String>>) {
    let key = [
        "rounds.final_test_accuracy",
        "rounds.cost_usd",
        "economy.supply_tokens",
        "economy.final_gini",
        "economy.final_gini_operators",
        "economy.profitable_share",
        "economy.operators_in_network",
        "verification.cheating_premium_usd_per_update",
    ];
    let present: Vec<&str> = key
        .iter()
        .copied()
        .filter(|m| s.summary.keys().any(|k| k.1 == *m))
        .collect();
    let mut header = vec![
        "cell".to_string(),
        "swept values".to_string(),
        "runs ok".to_string(),
    ];
    header.extend(present.iter().map(|m| m.to_string()));
    let rows = (0..s.plan.cells.len() as u32)
        .map(|c| {
            let ok = s.runs.iter().filter(|r| r.0 == c).count();
            let mut row = vec![c.to_string(), s.labels[c as usize].clone(), ok.to_string()];
            for m in &present {
                row.push(match s.summary.get(&(c, m.to_string())) {
                    Some((_, Some(mean), Some(lo), Some(hi))) => format!(
                        "{} ± {}",
                        super::chart::compact(*mean),
                        super::chart::compact((hi - lo) / 2.0)
                    ),
                    Some((_, Some(mean), _, _)) => super::chart::compact(*mean),
                    _ => "—".into(),
                });
            }
            row
        })
        .collect();
    (header, rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cell_labels_keep_only_what_differs() {
        let params = vec![
            "economics.emission".to_string(),
            "economics.token_price".to_string(),
            "rounds.count".to_string(),
        ];
        let cells: Vec<Vec<String>> = [
            [
                "{constant: {per_epoch: 1000}}",
                "{gbm: {initial_usd: 0.01, sigma: 0.8}}",
                "5",
            ],
            [
                "{halving: {initial: 2000, every_epochs: 6}}",
                "{gbm: {initial_usd: 0.05, sigma: 0.8}}",
                "5",
            ],
        ]
        .iter()
        .map(|r| r.iter().map(|s| s.to_string()).collect())
        .collect();
        assert_eq!(
            cell_labels(&params, &cells),
            [
                "constant per_epoch=1000, initial_usd=0.01",
                "halving initial=2000 every_epochs=6, initial_usd=0.05"
            ]
        );
    }
}
