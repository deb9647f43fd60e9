//! `dmlsim check`: each built-in invariant passes on a good run and fires
//! on a crafted violation; scenario checks, located expression errors,
//! baselines, JUnit output, sweeps.

use super::support::*;
use arrow_array::{Array, ArrayRef, Decimal128Array, RecordBatch, StringArray};
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

/// A free-riders run (ledger, blocks, offences), made once.
fn good_run() -> &'static Path {
    static RUN: OnceLock<PathBuf> = OnceLock::new();
    RUN.get_or_init(|| {
        let out = scratch("check-good");
        run_ok(
            "scenarios/free-riders.yaml",
            &out,
            &["--set", "rounds.count=40"],
            &[],
        );
        out
    })
}

/// A copy of the good run to tamper with.
fn copy_of_good(name: &str) -> PathBuf {
    let dir = scratch(name);
    for e in std::fs::read_dir(good_run()).unwrap() {
        let p = e.unwrap().path();
        std::fs::copy(&p, dir.join(p.file_name().unwrap())).unwrap();
    }
    dir
}

fn check(args: &[&str]) -> (i32, String) {
    let mut all = vec!["check"];
    all.extend_from_slice(args);
    let o = dmlsim(&all, &[]);
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    (o.status.code().unwrap(), text)
}

/// The status tag of a named outcome in a report.
fn status_of(report: &str, name: &str) -> String {
    report
        .lines()
        .find(|l| l.split_whitespace().nth(2) == Some(name))
        .and_then(|l| l.split_whitespace().next())
        .unwrap_or_else(|| panic!("{name} not in\n{report}"))
        .to_string()
}

/// Rewrites one table: `edit` gets its batches and returns new ones.
fn rewrite(dir: &Path, table: &str, edit: impl Fn(Vec<RecordBatch>) -> Vec<RecordBatch>) {
    let path = dir.join(format!("{table}.arrow"));
    let batches = edit(read_arrow(&path));
    let file = std::fs::File::create(&path).unwrap();
    let mut w = arrow_ipc::writer::FileWriter::try_new(file, &batches[0].schema()).unwrap();
    for b in &batches {
        w.write(b).unwrap();
    }
    w.finish().unwrap();
}

/// Replaces column `name` of a batch.
fn with_column(b: &RecordBatch, name: &str, col: ArrayRef) -> RecordBatch {
    let i = b.schema().index_of(name).unwrap();
    let mut cols = b.columns().to_vec();
    cols[i] = col;
    RecordBatch::try_new(b.schema(), cols).unwrap()
}

/// Changes the decimal `column` of `table` at the first row `pick` selects
/// (given the row's ledger kind and memo, when the table has them).
fn tamper_amount(
    dir: &Path,
    table: &str,
    column: &str,
    pick: impl Fn(&RecordBatch, usize) -> bool,
    change: impl Fn(i128) -> i128,
) {
    let changed = std::cell::Cell::new(false);
    rewrite(dir, table, |batches| {
        let mut done = false;
        let out = batches
            .into_iter()
            .map(|b| {
                let a = column_ref::<Decimal128Array>(&b, column);
                let mut values: Vec<i128> = a.values().to_vec();
                for (i, v) in values.iter_mut().enumerate() {
                    if !done && pick(&b, i) {
                        *v = change(*v);
                        done = true;
                    }
                }
                let new = Decimal128Array::from(values)
                    .with_precision_and_scale(38, 0)
                    .unwrap();
                with_column(&b, column, Arc::new(new))
            })
            .collect();
        changed.set(done);
        out
    });
    assert!(changed.get(), "no row of {table} was picked");
}

fn column_ref<'a, T: 'static>(b: &'a RecordBatch, name: &str) -> &'a T {
    column::<T>(b, name)
}

/// The ledger row's kind and the names of its accounts.
fn ledger_row(b: &RecordBatch, i: usize) -> (String, Option<String>, Option<String>) {
    let s = |name: &str| {
        crate::economics::dict_strings(b.column_by_name(name).unwrap().as_ref())[i].clone()
    };
    (s("kind").unwrap(), s("from"), s("to"))
}

#[test]
fn every_invariant_passes_on_a_good_run() {
    let (code, report) = check(&[good_run().to_str().unwrap()]);
    assert_eq!(code, 0, "{report}");
    for (name, _) in dmlsim::check::invariants::INVARIANTS {
        assert_eq!(status_of(&report, name), "PASS", "{report}");
    }
}

#[test]
fn a_changed_file_breaks_the_manifest() {
    let dir = copy_of_good("check-files");
    let mut bytes = std::fs::read(dir.join("nodes.arrow")).unwrap();
    bytes.push(0);
    std::fs::write(dir.join("nodes.arrow"), bytes).unwrap();
    let (code, report) = check(&[dir.to_str().unwrap()]);
    assert_eq!(code, 1);
    assert_eq!(status_of(&report, "files_intact"), "FAIL");
    assert!(report.contains("nodes.arrow has"), "{report}");
}

#[test]
fn a_block_supply_that_disagrees_with_the_ledger_breaks_conservation() {
    let dir = copy_of_good("check-supply");
    tamper_amount(&dir, "blocks", "supply", |_, i| i == 5, |v| v + 1);
    let (code, report) = check(&[dir.to_str().unwrap()]);
    assert_eq!(code, 1);
    assert_eq!(status_of(&report, "supply_conserved"), "FAIL");
    assert!(
        report.contains("blocks.arrow says block 5 left a supply of"),
        "{report}"
    );
    // The supply is not hashed, so the chain itself still holds.
    assert_eq!(status_of(&report, "chain_consistent"), "PASS");
}

#[test]
fn an_overdrawn_transfer_is_a_negative_balance_and_breaks_the_chain() {
    let dir = copy_of_good("check-negative");
    tamper_amount(
        &dir,
        "ledger",
        "amount",
        |b, i| ledger_row(b, i).0 == "reward",
        |v| v + 1_000_000_000_000_000_000_000_000,
    );
    let (code, report) = check(&[dir.to_str().unwrap()]);
    assert_eq!(code, 1);
    assert_eq!(status_of(&report, "no_negative_balance"), "FAIL");
    assert_eq!(status_of(&report, "chain_consistent"), "FAIL");
    assert!(report.contains("hash to"), "{report}");
}

#[test]
fn a_short_reward_leaves_the_pool_unpaid() {
    let dir = copy_of_good("check-pool");
    // One base unit less to the treasury: the pool keeps it.
    tamper_amount(
        &dir,
        "ledger",
        "amount",
        |b, i| {
            let (kind, from, to) = ledger_row(b, i);
            kind == "reward"
                && from.as_deref() == Some("reward-pool")
                && to.as_deref() == Some("treasury")
        },
        |v| v - 1,
    );
    let (code, report) = check(&[dir.to_str().unwrap()]);
    assert_eq!(code, 1);
    assert_eq!(status_of(&report, "rewards_paid_in_full"), "FAIL");
    assert!(
        report.contains("the reward pool still holds 1 base units"),
        "{report}"
    );
    // Conservation still holds: the unit is in the pool.
    assert_eq!(status_of(&report, "supply_conserved"), "PASS");
}

#[test]
fn a_slash_beyond_the_stake_and_an_offence_the_ledger_disagrees_with() {
    let dir = copy_of_good("check-slash");
    tamper_amount(
        &dir,
        "ledger",
        "amount",
        |b, i| ledger_row(b, i).0 == "slash",
        |v| v * 1_000_000,
    );
    let (code, report) = check(&[dir.to_str().unwrap()]);
    assert_eq!(code, 1);
    assert_eq!(status_of(&report, "slash_within_stake"), "FAIL");
    assert_eq!(status_of(&report, "ledger_matches_offences"), "FAIL");
    // And an offence whose penalty no longer matches its slash.
    let dir = copy_of_good("check-offence");
    tamper_amount(&dir, "offences", "penalty", |_, i| i == 0, |v| v + 1);
    let (code, report) = check(&[dir.to_str().unwrap()]);
    assert_eq!(code, 1);
    assert_eq!(status_of(&report, "ledger_matches_offences"), "FAIL");
    assert_eq!(status_of(&report, "slash_within_stake"), "PASS");
}

#[test]
fn a_relinked_block_breaks_the_chain() {
    let dir = copy_of_good("check-chain");
    rewrite(&dir, "blocks", |batches| {
        batches
            .into_iter()
            .map(|b| {
                let prev = column_ref::<StringArray>(&b, "prev_hash");
                let values: Vec<String> = (0..prev.len())
                    .map(|i| {
                        if i == 3 {
                            "0".repeat(64)
                        } else {
                            prev.value(i).to_string()
                        }
                    })
                    .collect();
                with_column(&b, "prev_hash", Arc::new(StringArray::from(values)))
            })
            .collect()
    });
    let (code, report) = check(&[dir.to_str().unwrap()]);
    assert_eq!(code, 1);
    assert_eq!(status_of(&report, "chain_consistent"), "FAIL");
    assert!(report.contains("block 3: prev_hash"), "{report}");
}

#[test]
fn expression_checks_pass_fail_and_point_at_errors() {
    let run = good_run().to_str().unwrap();
    let (code, report) = check(&[
        run,
        "--no-invariants",
        "--expr",
        "mean(nodes.net_profit_usd where behaviour == \"lazy\") < mean(nodes.net_profit_usd where behaviour == \"honest\")",
        "--expr",
        "final(epochs.supply_tokens) == run.summary.economy.supply_tokens",
        "--expr",
        "count(rounds.round) == run.rounds_completed and run.stopped_by != 'no_operators'",
    ]);
    assert_eq!(code, 0, "{report}");
    // A protocol team's bound on concentration: violated, named, exit 1.
    let (code, report) = check(&[
        run,
        "--no-invariants",
        "--expr",
        "final(epochs.gini) <= 0.5",
    ]);
    assert_eq!(code, 1);
    assert!(
        report.contains("FAIL  check     final(epochs.gini) <= 0.5"),
        "{report}"
    );
    assert!(report.contains("final(epochs.gini) = 0."), "{report}");
    // A misspelt column: exit 2, the caret under it, the real columns listed.
    let (code, report) = check(&[run, "--no-invariants", "--expr", "max(nodes.profit) > 0"]);
    assert_eq!(code, 2);
    assert!(
        report.contains(
            "                      ^^^^^^^^^^^^ nodes.arrow has no column `profit`; it has: node_id"
        ),
        "{report}"
    );
    let (code, report) = check(&[run, "--no-invariants", "--expr", "final(epochs.gini) = 1"]);
    assert_eq!(code, 2);
    assert!(
        report.contains("`=` is not an operator; compare with `==`"),
        "{report}"
    );
}

#[test]
fn scenario_checks_run_with_run_check_and_a_broken_one_fails_the_build() {
    let dir = scratch("check-scenario");
    let full = std::fs::read_to_string(repo().join("scenarios/free-riders.yaml")).unwrap();
    // Without the file's own checks, so each case declares its own.
    let text = full.split("\n# What the docs claim").next().unwrap();
    let write = |name: &str, checks: &str| {
        let p = dir.join(name);
        std::fs::write(&p, format!("{text}\nchecks:\n{checks}")).unwrap();
        p
    };
    let good = write(
        "good.yaml",
        "  - { name: lazy-pays-less, expr: 'mean(nodes.net_profit_usd where behaviour == \"lazy\") < mean(nodes.net_profit_usd where behaviour == \"honest\")' }\n  - 'final(epochs.nakamoto_51) >= 1'\n",
    );
    let out = dir.join("out");
    let o = dmlsim(
        &[
            "run",
            good.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
            "-q",
            "--check",
        ],
        &[],
    );
    let said = String::from_utf8_lossy(&o.stdout);
    assert_eq!(o.status.code(), Some(0), "{said}");
    assert!(said.contains("PASS  check     lazy-pays-less"), "{said}");
    // `dmlsim check` finds them in run.json.
    let (code, report) = check(&[out.to_str().unwrap()]);
    assert_eq!(code, 0);
    assert!(report.contains("lazy-pays-less"));
    let bad = write(
        "bad.yaml",
        "  - { name: decentralized, expr: 'final(epochs.nakamoto_51) >= 10' }\n",
    );
    let junit = dir.join("junit.xml");
    let o = dmlsim(
        &[
            "run",
            bad.to_str().unwrap(),
            "--out",
            dir.join("out-bad").to_str().unwrap(),
            "-q",
            "--check",
            "--junit",
            junit.to_str().unwrap(),
        ],
        &[],
    );
    assert_eq!(o.status.code(), Some(1));
    let said = String::from_utf8_lossy(&o.stdout);
    assert!(said.contains("FAIL  check     decentralized"), "{said}");
    let xml = std::fs::read_to_string(&junit).unwrap();
    assert_junit_valid(&xml);
    assert!(xml.contains("<testcase classname=\"dmlsim.check\" name=\"decentralized\""));
    assert!(xml.contains("<failure message=\"final(epochs.nakamoto_51) = 1 is not &gt;= 10\""));
    // A syntax error is a scenario error, located.
    let broken = write("broken.yaml", "  - 'mean(nodes.cost_usd where) > 0'\n");
    let o = dmlsim(&["validate", broken.to_str().unwrap()], &[]);
    assert_eq!(o.status.code(), Some(2));
    let e = String::from_utf8_lossy(&o.stderr);
    assert!(e.contains("checks[0]: not a valid check:"), "{e}");
    assert!(e.contains("expected a value, found `)`"), "{e}");
}

#[test]
fn a_baseline_passes_a_rerun_and_catches_a_changed_metric() {
    let base = good_run().to_str().unwrap();
    let again = scratch("check-baseline-again");
    run_ok(
        "scenarios/free-riders.yaml",
        &again,
        &["--set", "rounds.count=40"],
        &[],
    );
    let (code, report) = check(&[
        again.to_str().unwrap(),
        "--no-invariants",
        "--baseline",
        base,
    ]);
    assert_eq!(code, 0, "{report}");
    assert!(
        report.contains("PASS  baseline  economy.supply_tokens"),
        "{report}"
    );
    let other = scratch("check-baseline-other");
    run_ok(
        "scenarios/free-riders.yaml",
        &other,
        &[
            "--set",
            "rounds.count=40",
            "--set",
            "verification.strategy={spot_check: {p: 0.5}}",
        ],
        &[],
    );
    let (code, report) = check(&[
        other.to_str().unwrap(),
        "--no-invariants",
        "--baseline",
        base,
        "--metric",
        "economy.offences",
        "--metric",
        "rounds.rounds=0",
    ]);
    assert_eq!(code, 1, "{report}");
    assert!(
        report.contains("FAIL  baseline  economy.offences"),
        "{report}"
    );
    assert!(report.contains("PASS  baseline  rounds.rounds"), "{report}");
    let (code, _) = check(&[
        other.to_str().unwrap(),
        "--no-invariants",
        "--baseline",
        base,
        "--metric",
        "economy.offences=1000%",
    ]);
    assert_eq!(code, 0);
}

#[test]
fn a_sweep_folder_is_checked_run_by_run() {
    let out = free_riders_sweep(
        "check-sweep",
        "set: { rounds.count: 4, horizon: 1d }\ngrid: { verification.strategy.spot_check.p: [0.05, 0.5] }\n",
    );
    let (code, report) = check(&[out.to_str().unwrap(), "--expr", "count(rounds.round) == 4"]);
    assert_eq!(code, 0, "{report}");
    assert!(
        report.contains("out run 0") && report.contains("out run 1"),
        "{report}"
    );
    assert_eq!(
        report.matches("PASS  invariant chain_consistent").count(),
        2,
        "{report}"
    );
}

/// Checks that a JUnit document is well-formed XML with the elements and
/// attributes of the JUnit schema CI systems read: `testsuites` holding
/// `testsuite` (name, tests, failures, errors, skipped) holding `testcase`
/// (classname, name) holding at most one of `failure`, `error` (message,
/// type) or `skipped`.
fn assert_junit_valid(xml: &str) {
    let body = xml
        .strip_prefix("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n")
        .expect("an XML declaration");
    let mut stack: Vec<String> = Vec::new();
    let mut rest = body;
    let allowed_in = |parent: Option<&str>, child: &str| {
        matches!(
            (parent, child),
            (None, "testsuites")
                | (Some("testsuites"), "testsuite")
                | (Some("testsuite"), "testcase")
                | (Some("testcase"), "failure" | "error" | "skipped")
        )
    };
    let required = |tag: &str| -> &[&str] {
        match tag {
            "testsuite" => &["name", "tests", "failures", "errors", "skipped"],
            "testcase" => &["classname", "name"],
            "failure" | "error" => &["message", "type"],
            _ => &[],
        }
    };
    while let Some(open) = rest.find('<') {
        let text = &rest[..open];
        assert!(
            !text.contains('&')
                || text.contains("&amp;")
                || text.contains("&lt;")
                || text.contains("&gt;")
                || text.contains("&quot;")
                || text.contains("&apos;"),
            "raw & in {text}"
        );
        assert!(!text.contains('>'), "a stray > in text: {text}");
        let close = rest[open..].find('>').expect("a tag ends") + open;
        let tag = &rest[open + 1..close];
        rest = &rest[close + 1..];
        if let Some(name) = tag.strip_prefix('/') {
            assert_eq!(stack.pop().as_deref(), Some(name), "mismatched </{name}>");
            continue;
        }
        let self_closing = tag.ends_with('/');
        let tag = tag.trim_end_matches('/');
        let name = tag.split_whitespace().next().unwrap();
        assert!(
            allowed_in(stack.last().map(String::as_str), name),
            "<{name}> inside {stack:?}"
        );
        // Attributes: name="value" pairs, values without < or raw quotes.
        let mut attrs = Vec::new();
        let mut a = tag[name.len()..].trim();
        while !a.is_empty() {
            let eq = a.find("=\"").expect("attribute=\"value\"");
            let key = a[..eq].trim();
            let end = a[eq + 2..].find('"').expect("closing quote") + eq + 2;
            assert!(!a[eq + 2..end].contains('<'), "< in an attribute");
            attrs.push(key.to_string());
            a = a[end + 1..].trim();
        }
        for r in required(name) {
            assert!(attrs.iter().any(|k| k == r), "<{name}> lacks {r}");
        }
        if !self_closing {
            stack.push(name.to_string());
        }
    }
    assert!(stack.is_empty(), "unclosed {stack:?}");
    assert!(rest.trim().is_empty());
}
