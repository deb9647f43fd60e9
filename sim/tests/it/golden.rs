//! The regression guard of restructures: the SHA-256 of every table every
//! shipped scenario writes (with `--trace`), checked in as
//! `scenarios/golden-sha256.txt`. A change that alters any byte fails here;
//! a deliberate change (a defect fix) regenerates the list with
//! `DMLSIM_UPDATE_GOLDEN=1 cargo test --release -p dmlsim golden` and
//! explains the new bytes in its commit message.

use super::support::*;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;

/// Scenarios whose tables are pinned: every shipped scenario plus the
/// small bench scenarios (traced, so `transfers.arrow` is pinned too).
const PINNED: [&str; 15] = [
    "scenarios/quickstart.yaml",
    "scenarios/global-10k.yaml",
    "scenarios/digits-iid.yaml",
    "scenarios/digits-dirichlet.yaml",
    "scenarios/poisoning-vs-robust.yaml",
    "scenarios/reward-curves.yaml",
    "scenarios/cloud-parity.yaml",
    "scenarios/free-riders.yaml",
    "scenarios/collusion.yaml",
    "scenarios/governance-capture.yaml",
    "scenarios/governance-wide.yaml",
    "scenarios/stake-concentration.yaml",
    "scenarios/agent-market.yaml",
    "scenarios/data-market.yaml",
    "benches/digits-1000.yaml",
];

const GOLDEN: &str = "scenarios/golden-sha256.txt";

fn hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// `scenario-stem/table.arrow` → SHA-256 of the table, for every pinned run.
fn measured() -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for scenario in PINNED {
        let stem = std::path::Path::new(scenario)
            .file_stem()
            .unwrap()
            .to_string_lossy()
            .into_owned();
        let dir = scratch(&format!("golden-{stem}"));
        run_ok(scenario, &dir, &["--trace", "--check"], &[]);
        for entry in std::fs::read_dir(&dir).unwrap() {
            let name = entry.unwrap().file_name().into_string().unwrap();
            if name.ends_with(".arrow") {
                let bytes = std::fs::read(dir.join(&name)).unwrap();
                out.insert(format!("{stem}/{name}"), hex(&bytes));
            }
        }
    }
    out
}

#[test]
fn shipped_scenarios_write_the_pinned_bytes() {
    let now = measured();
    let path = repo().join(GOLDEN);
    if std::env::var_os("DMLSIM_UPDATE_GOLDEN").is_some() {
        let text: String = now.iter().map(|(k, v)| format!("{v}  {k}\n")).collect();
        std::fs::write(&path, text).unwrap();
        return;
    }
    let text = std::fs::read_to_string(&path).unwrap();
    let pinned: BTreeMap<String, String> = text
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let (sha, name) = l.split_once("  ").expect("`sha  name` lines");
            (name.to_string(), sha.to_string())
        })
        .collect();
    let mut diffs = Vec::new();
    for (name, sha) in &pinned {
        match now.get(name) {
            Some(s) if s == sha => {}
            Some(_) => diffs.push(format!("{name}: bytes changed")),
            None => diffs.push(format!("{name}: no longer written")),
        }
    }
    for name in now.keys().filter(|k| !pinned.contains_key(*k)) {
        diffs.push(format!("{name}: new table, not pinned"));
    }
    assert!(
        diffs.is_empty(),
        "tables differ from {GOLDEN}:\n{}",
        diffs.join("\n")
    );
}
