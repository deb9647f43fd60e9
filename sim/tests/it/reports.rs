//! `dmlsim report`: every expected chart exists and decodes as an image of
//! the stated size, the SVGs are SVG of that size, and every link of
//! index.html resolves.

use super::support::*;
use std::path::Path;

/// Decodes a PNG fully (every pixel); returns its size.
fn png_size(path: &Path) -> (u32, u32) {
    let file = std::fs::File::open(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut reader = png::Decoder::new(file)
        .read_info()
        .unwrap_or_else(|e| panic!("{}: not a PNG: {e}", path.display()));
    let mut buf = vec![0; reader.output_buffer_size()];
    let info = reader
        .next_frame(&mut buf)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    // Not blank: a chart has more than one colour.
    let first = &buf[..3];
    assert!(
        buf.chunks(3).any(|p| p != first),
        "{} is blank",
        path.display()
    );
    (info.width, info.height)
}

/// `dmlsim report DIR --out REP EXTRA…`.
fn report(dir: &Path, rep: &Path, extra: &[&str]) -> std::process::Output {
    let mut args = vec![
        "report",
        dir.to_str().unwrap(),
        "--out",
        rep.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    dmlsim(&args, &[])
}

fn assert_report(dir: &Path, expected: &[&str]) {
    for name in expected {
        assert_eq!(
            png_size(&dir.join(format!("{name}.png"))),
            (1000, 600),
            "{name}"
        );
        let svg = std::fs::read_to_string(dir.join(format!("{name}.svg"))).unwrap();
        assert!(
            svg.contains("<svg")
                && svg.contains("width=\"1000\"")
                && svg.contains("height=\"600\""),
            "{name}.svg"
        );
        assert!(
            svg.trim_end().ends_with("</svg>"),
            "{name}.svg is cut short"
        );
    }
    let index = std::fs::read_to_string(dir.join("index.html")).unwrap();
    assert!(index.starts_with("<!DOCTYPE html>") && index.trim_end().ends_with("</html>"));
    assert!(!index.contains("<script"), "no JavaScript");
    assert!(
        !index.contains("http://") && !index.contains("https://"),
        "no network access"
    );
    // Every src and href resolves to a file of the report.
    let mut links = 0;
    for attr in ["src=\"", "href=\""] {
        for part in index.split(attr).skip(1) {
            let target = &part[..part.find('"').unwrap()];
            let path = target.split('#').next().unwrap();
            if path.is_empty() {
                continue;
            }
            assert!(
                dir.join(path).is_file(),
                "index.html links to missing {target}"
            );
            links += 1;
        }
    }
    for name in expected {
        assert!(
            index.contains(&format!("src=\"{name}.png\"")),
            "{name} not shown"
        );
    }
    assert!(links >= 2 * expected.len());
}

#[test]
fn a_run_report_draws_every_chart_its_tables_allow() {
    let out = scratch("report-run");
    run_ok(
        "scenarios/free-riders.yaml",
        &out,
        &["--set", "rounds.count=30"],
        &[],
    );
    let rep = scratch("report-run-charts");
    let o = report(&out, &rep, &[]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_report(
        &rep,
        &[
            "accuracy",
            "round_duration",
            "cost_per_round",
            "supply",
            "emission",
            "token_price",
            "operators",
            "nakamoto",
            "gini",
            "operator_profit_by_profile",
            "lorenz",
            "behaviours",
        ],
    );
    let index = std::fs::read_to_string(rep.join("index.html")).unwrap();
    assert!(
        index.contains("<td>final test accuracy</td>"),
        "key figures"
    );
    // A timing-only run has no economy charts, and a second report into the
    // same folder leaves none of the first's behind.
    let quick = scratch("report-quick");
    run_ok("scenarios/quickstart.yaml", &quick, &[], &[]);
    let o = report(&quick, &rep, &[]);
    assert!(o.status.success());
    assert_report(&rep, &["round_duration"]);
    assert!(!rep.join("supply.png").exists());
}

#[test]
fn a_governance_report_shows_who_decided_the_vote_and_how_power_moved() {
    let out = scratch("report-governance");
    run_ok("scenarios/governance-capture.yaml", &out, &[], &[]);
    let rep = scratch("report-governance-charts");
    let o = report(&out, &rep, &[]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_report(
        &rep,
        &[
            "operators",
            "nakamoto",
            "owner_nakamoto",
            "owner_top_shares",
        ],
    );
    let index = std::fs::read_to_string(rep.join("index.html")).unwrap();
    // The proposal: what it changed, when, and that three owners decided it.
    let row = index
        .split("<tr>")
        .find(|r| r.contains("<td>economics.split</td>"))
        .expect("a proposals row");
    for cell in [
        "<td>day 5</td>",
        "compute=0.7 data=0 validators=0.1 treasury=0.2 → compute=0.3",
        "<td>passed</td>",
        "<td>day 9</td>",
        "<td>3</td>",
        "<td>yes</td>",
    ] {
        assert!(row.contains(cell), "{cell} not in {row}");
    }
    // The three founders are the largest voters, and voted yes.
    for f in 0..3 {
        assert!(
            index.contains(&format!(
                "<td>founders-{f}</td><td>founder</td><td>1</td><td>133,333</td><td>yes</td>"
            )),
            "founders-{f}"
        );
    }
    assert!(index.contains("<td>proposals captured</td><td>1</td>"));
}

#[test]
fn a_report_on_moving_stake_draws_its_concentration() {
    let out = scratch("report-stake");
    run_ok("scenarios/stake-concentration.yaml", &out, &[], &[]);
    let rep = scratch("report-stake-charts");
    let o = report(&out, &rep, &[]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_report(
        &rep,
        &["owner_nakamoto", "stake_concentration", "stake_nakamoto"],
    );
}

#[test]
fn a_market_report_draws_the_networks_share_price_and_reasons() {
    let out = scratch("report-market");
    run_ok("scenarios/agent-market.yaml", &out, &[], &[]);
    let rep = scratch("report-market-charts");
    let o = report(&out, &rep, &[]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_report(
        &rep,
        &[
            "market_share",
            "market_price",
            "market_volume",
            "market_reasons",
        ],
    );
    let data = scratch("report-data-market");
    run_ok("scenarios/data-market.yaml", &data, &[], &[]);
    let rep = scratch("report-data-market-charts");
    let o = report(&data, &rep, &[]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_report(&rep, &["market_share", "market_data", "market_datasets"]);
}

#[test]
fn a_sweep_report_overlays_cells_and_draws_the_frontier_heatmap() {
    let out = free_riders_sweep(
        "report-sweep",
        "set: { rounds.count: 20, horizon: 2d }\ngrid:\n  verification.strategy.spot_check.p: [0.01, 0.3]\n  verification.slashing.fixed.fraction: [0.05, 0.5]\nreplicates: 2\nvary_seeds: [selection, verification]\n",
    );
    let rep = out.with_file_name("report");
    let o = report(&out, &rep, &[]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_report(
        &rep,
        &[
            "accuracy_by_cell",
            "reward_curves",
            "supply_by_cell",
            "operators_by_cell",
            "survival",
            "cheating_premium",
            "final_accuracy",
            "heatmap_verification_cheating_premium_usd_per_update",
        ],
    );
    let index = std::fs::read_to_string(rep.join("index.html")).unwrap();
    assert!(
        index.contains("<td>p=0.3, fraction=0.5</td>"),
        "cells are labelled by their values"
    );
    // A chosen metric; an unknown one is refused with the known ones.
    let o = report(&out, &rep, &["--heatmap", "economy.final_gini"]);
    assert!(o.status.success());
    assert!(rep.join("heatmap_economy_final_gini.png").exists());
    let o = report(&out, &rep, &["--heatmap", "economy.gini"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("not a metric of summary.arrow; it has:"));
}

#[test]
fn one_command_runs_a_sweep_and_draws_its_report() {
    let rep = scratch("report-one-command-charts").join("report");
    scenario_sweep_ok(
        "report-one-command",
        "scenarios/reward-curves.yaml",
        "set: { horizon: 6h, economics.emission_budget: 5000 }\ngrid:\n  economics.emission: [{ constant: { per_epoch: 1000 } }, { halving: { initial: 2000, every_epochs: 2 } }]\nreplicates: 3\nvary_seeds: [price, selection]\ntables: [epochs]\n",
        &["--report", rep.to_str().unwrap()],
    );
    assert_report(
        &rep,
        &[
            "reward_curves",
            "supply_by_cell",
            "operators_by_cell",
            "survival",
        ],
    );
    // The bands are the replicates' 95% confidence intervals: the SVG
    // holds one shaded polygon per cell around each line.
    let svg = std::fs::read_to_string(rep.join("operators_by_cell.svg")).unwrap();
    assert!(svg.matches("<polygon").count() >= 2, "bands drawn");
}
