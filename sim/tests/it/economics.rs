//! The token economy end to end: conservation at every block (replayed
//! from ledger.arrow), reward pools paid out to the base unit, emission
//! against the closed form, a hand-worked operator P&L, the hash chain.

use super::support::*;
use arrow_array::{
    Array, Decimal128Array, DictionaryArray, StringArray, UInt64Array, types::Int32Type,
};
use std::collections::BTreeMap;

struct LedgerRows {
    block: Vec<u64>,
    kind: Vec<String>,
    from: Vec<Option<String>>,
    to: Vec<Option<String>>,
    amount: Vec<i128>,
}

pub fn dict_strings(a: &dyn Array) -> Vec<Option<String>> {
    let d = a
        .as_any()
        .downcast_ref::<DictionaryArray<Int32Type>>()
        .unwrap();
    let values = d.values().as_any().downcast_ref::<StringArray>().unwrap();
    (0..d.len())
        .map(|i| d.key(i).map(|k| values.value(k).to_string()))
        .collect()
}

fn read_ledger(out: &std::path::Path) -> LedgerRows {
    let mut rows = LedgerRows {
        block: vec![],
        kind: vec![],
        from: vec![],
        to: vec![],
        amount: vec![],
    };
    for b in read_arrow(&out.join("ledger.arrow")) {
        rows.block
            .extend(column::<UInt64Array>(&b, "block").values());
        rows.kind.extend(
            dict_strings(b.column_by_name("kind").unwrap().as_ref())
                .into_iter()
                .map(|k| k.unwrap()),
        );
        rows.from
            .extend(dict_strings(b.column_by_name("from").unwrap().as_ref()));
        rows.to
            .extend(dict_strings(b.column_by_name("to").unwrap().as_ref()));
        rows.amount
            .extend(column::<Decimal128Array>(&b, "amount").values());
    }
    rows
}

/// Replays the ledger and checks supply conservation after every block and
/// that the reward pool is emptied by every payout.
pub fn replay_and_check(out: &std::path::Path) -> (i128, i128) {
    let l = read_ledger(out);
    let mut balance: BTreeMap<String, i128> = BTreeMap::new();
    let mut staked: BTreeMap<String, i128> = BTreeMap::new();
    let (mut minted, mut burned) = (0i128, 0i128);
    let blocks = *l.block.last().unwrap() + 1;
    let mut i = 0;
    for block in 0..blocks {
        while i < l.block.len() && l.block[i] == block {
            let (from, to, x) = (l.from[i].clone(), l.to[i].clone(), l.amount[i]);
            match l.kind[i].as_str() {
                "mint" => {
                    minted += x;
                    *balance.entry(to.unwrap()).or_default() += x;
                }
                "burn" => {
                    burned += x;
                    *balance.entry(from.unwrap()).or_default() -= x;
                }
                "transfer" | "fee" | "reward" => {
                    *balance.entry(from.unwrap()).or_default() -= x;
                    *balance.entry(to.unwrap()).or_default() += x;
                }
                "stake" => {
                    *balance.entry(from.clone().unwrap()).or_default() -= x;
                    *staked.entry(from.unwrap()).or_default() += x;
                }
                "unstake" | "release" => {}
                "slash" => {
                    *staked.entry(from.unwrap()).or_default() -= x;
                    match to {
                        Some(t) => *balance.entry(t).or_default() += x,
                        None => burned += x,
                    }
                }
                k => panic!("unknown kind {k}"),
            }
            if l.kind[i] == "reward" && l.to[i].as_deref() == Some("treasury") {
                // The treasury takes the rest of the pool: it must be empty now.
                assert_eq!(
                    balance.get("reward-pool").copied().unwrap_or(0),
                    0,
                    "pool not emptied at entry {i}"
                );
            }
            i += 1;
        }
        let held: i128 = balance.values().sum::<i128>() + staked.values().sum::<i128>();
        assert_eq!(
            minted - burned,
            held,
            "conservation broken after block {block}"
        );
        assert!(
            balance.values().all(|&b| b >= 0),
            "negative balance after block {block}"
        );
    }
    (minted, burned)
}

const TOKEN: i128 = 1_000_000_000_000_000_000;

#[test]
fn shipped_economies_conserve_supply_at_every_block() {
    for (scenario, genesis_tokens, emitted) in [
        // Halving every 6 epochs from 2,000: 19 epochs settle.
        // 900 single-node operators and 10 racks of 10: 1,010 operators (100 newcomers included).
        (
            "reward-curves",
            200_000 + 150_000 + 100_000 + 50_000 + 1010 * 150,
            6 * 2000 + 6 * 1000 + 6 * 500 + 250,
        ),
        ("cloud-parity", 100_000 + 100_000 + 2000 * 100, -1),
    ] {
        let out = scratch(&format!("econ-{scenario}"));
        run_ok(&format!("scenarios/{scenario}.yaml"), &out, &[], &[]);
        let (minted, _) = replay_and_check(&out);
        if emitted >= 0 {
            assert_eq!(
                minted,
                (genesis_tokens + emitted) * TOKEN,
                "{scenario}: minted"
            );
        }
        for t in [
            "ledger.arrow",
            "blocks.arrow",
            "epochs.arrow",
            "operators.arrow",
        ] {
            assert!(out.join(t).exists(), "{scenario}: {t}");
        }
    }
}

#[test]
fn the_chain_is_reproducible_and_one_token_changes_every_later_hash() {
    let hashes = |out: &std::path::Path| -> Vec<String> {
        let b = &read_arrow(&out.join("blocks.arrow"))[0];
        let h = column::<StringArray>(b, "hash");
        let prev = column::<StringArray>(b, "prev_hash");
        for i in 1..h.len() {
            assert_eq!(prev.value(i), h.value(i - 1), "block {i} does not link");
        }
        (0..h.len()).map(|i| h.value(i).to_string()).collect()
    };
    let a = scratch("chain-a");
    let b = scratch("chain-b");
    run_ok("scenarios/reward-curves.yaml", &a, &[], &[]);
    run_ok("scenarios/reward-curves.yaml", &b, &[], &[]);
    let (ha, hb) = (hashes(&a), hashes(&b));
    assert_eq!(ha, hb);
    let text = std::fs::read_to_string(repo().join("scenarios/reward-curves.yaml")).unwrap();
    let dir = scratch("chain-c");
    let path = dir.join("s.yaml");
    std::fs::write(
        &path,
        text.replace(
            "{ name: founders, tokens: 200000 }",
            "{ name: founders, tokens: 200001 }",
        ),
    )
    .unwrap();
    run_ok(path.to_str().unwrap(), &dir.join("out"), &[], &[]);
    let hc = hashes(&dir.join("out"));
    assert_eq!(ha.len(), hc.len());
    assert!(
        ha.iter().zip(&hc).all(|(x, y)| x != y),
        "every block hash must change"
    );
}

/// Two identical always-on nodes, one round of 1e13 FLOPs each, one hour-long
/// epoch emitting 100 tokens all to compute; `region` and `economics` add the
/// case's own fields.
fn two_node(region: &str, economics: &str) -> String {
    format!(
        r#"
name: two-node
seed: 1
horizon: 1d
regions: [{{ name: lab, utc_offset_h: 0, {region} }}]
network: {{ latency_ms: [[0]] }}
profiles:
  - name: box
    gpu: {{ name: test, tflops: 10, efficiency: 0.5, watts: 500 }}
    link: {{ up_mbps: 1000, down_mbps: 1000 }}
populations: [{{ profile: box, count: 2, regions: {{ lab: 1 }} }}]
aggregator: {{ region: lab, up_mbps: 10000, down_mbps: 10000 }}
rounds: {{ count: 1, clients_per_round: 2, deadline: 1h, model_bytes: 1 kB, client_flops: 1.0e13 }}
economics:
  block_time: 1m
  epoch: 1h
  emission: {{ constant: {{ per_epoch: 100 }} }}
  split: {{ compute: 1.0 }}{economics}
"#
    )
}

#[test]
fn two_node_operator_profit_by_hand() {
    // Two identical always-on nodes (one operator each), one round of 1e13
    // FLOPs each at 10 TFLOP/s × 0.5 = 2 s of compute at 500 W, electricity
    // $0.20/kWh, hardware $8,766 over one year = $1 per hour. One epoch of
    // one hour emits 100 tokens, all to compute: 50 each at $2 = $100.
    // Profit = 100 − 1 (amortization) − 2 s × 500 W / 3.6e6 × 0.20.
    let yaml = two_node(
        "electricity_usd_per_kwh: 0.2",
        r#"
  token_price: { constant: { usd: 2 } }
  genesis: { per_operator: 10 }
  staking: { min_stake: 10 }
  costs: { hardware: [{ profile: box, price_usd: 8766, lifetime_years: 1 }] }"#,
    );
    let dir = scratch("econ-two-node");
    let path = dir.join("two.yaml");
    std::fs::write(&path, yaml).unwrap();
    run_ok(path.to_str().unwrap(), &dir.join("out"), &[], &[]);
    let ops = &read_arrow(&dir.join("out/operators.arrow"))[0];
    let expected = 100.0 - 1.0 - 2.0 * 500.0 / 3.6e6 * 0.2;
    for (col, want) in [
        ("earned_tokens", 50.0),
        ("revenue_usd", 100.0),
        ("profit_usd", expected),
    ] {
        for v in f64_col(ops, col) {
            assert!((v - want).abs() < 1e-9, "{col}: {v} vs {want}");
        }
    }
    // The one epoch: both operators earn 50 tokens (equal rewards: Gini 0,
    // the largest holds half, two make 51%) at a profit of `expected` each.
    let epochs = &read_arrow(&dir.join("out/epochs.arrow"))[0];
    let u32s = |name: &str| {
        crate::support::column::<arrow_array::UInt32Array>(epochs, name)
            .values()
            .to_vec()
    };
    assert_eq!(f64_col(epochs, "reward_gini")[0], 0.0);
    assert_eq!(f64_col(epochs, "reward_top1_share")[0], 0.5);
    assert_eq!(u32s("reward_nakamoto_51")[0], 2);
    assert_eq!(u32s("operators_participating")[0], 2);
    assert_eq!(u32s("operators_profitable")[0], 2);
    let rows = &read_arrow(&dir.join("out/operator_epochs.arrow"))[0];
    let profit = f64_col(rows, "profit_usd");
    assert_eq!(profit.len(), 2);
    assert!((profit[0] - expected).abs() < 1e-9 && (profit[1] - expected).abs() < 1e-9);
    let info = crate::support::run_json(&dir.join("out"));
    let e = &info["summary"]["economy"];
    assert_eq!(e["operator_epochs"].as_u64(), Some(2));
    assert_eq!(e["operator_epochs_profitable"].as_u64(), Some(2));
    assert_eq!(e["profitable_share"].as_f64(), Some(1.0));
    replay_and_check(&dir.join("out"));
}

/// Gini by its definition, the mean absolute difference over twice the
/// mean (independent of the simulator's sorted formula).
fn gini_by_definition(x: &[f64]) -> f64 {
    let n = x.len() as f64;
    let mean = x.iter().sum::<f64>() / n;
    if mean == 0.0 {
        return 0.0;
    }
    let diffs: f64 = x
        .iter()
        .flat_map(|a| x.iter().map(move |b| (a - b).abs()))
        .sum();
    diffs / (2.0 * n * n * mean)
}

#[test]
fn reward_concentration_and_survival_agree_with_the_operator_epochs() {
    let out = scratch("econ-reward-concentration");
    run_ok("scenarios/reward-curves.yaml", &out, &[], &[]);
    let epochs = &read_arrow(&out.join("epochs.arrow"))[0];
    let rows = &read_arrow(&out.join("operator_epochs.arrow"))[0];
    let epoch = crate::support::column::<arrow_array::UInt64Array>(rows, "epoch");
    let reward = f64_col(rows, "reward_tokens");
    let profitable = crate::support::column::<arrow_array::BooleanArray>(rows, "profitable");
    let gini = f64_col(epochs, "reward_gini");
    let top10 = f64_col(epochs, "reward_top10_share");
    let counts = crate::support::column::<arrow_array::UInt32Array>(epochs, "operators_profitable");
    for (k, &g) in gini.iter().enumerate() {
        let idx: Vec<usize> = (0..rows.num_rows())
            .filter(|&i| epoch.value(i) == k as u64)
            .collect();
        let mut r: Vec<f64> = idx.iter().map(|&i| reward[i]).collect();
        assert!((gini_by_definition(&r) - g).abs() < 1e-9, "epoch {k}");
        r.sort_by(|a, b| b.total_cmp(a));
        let total: f64 = r.iter().sum();
        let top: f64 = r.iter().take(10).sum();
        assert!((top / total - top10[k]).abs() < 1e-9, "epoch {k}");
        let p = idx.iter().filter(|&&i| profitable.value(i)).count() as u32;
        assert_eq!(p, counts.value(k), "epoch {k}");
    }
    // Over holdings, genesis holders make the network look concentrated;
    // over operators alone it is not.
    let last = epochs.num_rows() - 1;
    assert!(f64_col(epochs, "gini")[last] > 0.7);
    assert!(f64_col(epochs, "gini_operators")[last] < 0.1);
    let info = crate::support::run_json(&out);
    let e = &info["summary"]["economy"];
    let share =
        e["operator_epochs_profitable"].as_f64().unwrap() / e["operator_epochs"].as_f64().unwrap();
    assert_eq!(e["profitable_share"].as_f64(), Some(share));
    assert_eq!(e["operator_epochs"].as_u64(), Some(rows.num_rows() as u64));
}

#[test]
fn operators_leave_when_rewards_fall_and_join_when_they_pay() {
    let run = |name: &str, replacements: &[(&str, &str)]| {
        let out = run_variant("scenarios/reward-curves.yaml", replacements, name);
        let e = &read_arrow(&out.join("epochs.arrow"))[0];
        let col = |n: &str| column::<arrow_array::UInt32Array>(e, n).values().to_vec();
        (
            col("operators_in_network"),
            col("operators_left").iter().sum::<u32>(),
            col("operators_joined").iter().sum::<u32>(),
        )
    };
    // Halving starves home operators faster than a capped curve.
    let (halving, left_h, _) = run("rules-halving", &[]);
    let (capped, left_c, _) = run(
        "rules-capped",
        &[(
            "{ halving: { initial: 2000, every_epochs: 6 } }",
            "{ capped: { cap: 50000, half_life_epochs: 12 } }",
        )],
    );
    assert!(
        left_h > left_c,
        "halving {left_h} vs capped {left_c} departures"
    );
    assert!(halving.last() < capped.last());
    // At 50× the token price, rewards cover the newcomers' hardware: they join.
    let (_, _, joined) = run(
        "rules-rich",
        &[(
            "token_price: { constant: { usd: 0.02 } }",
            "token_price: { constant: { usd: 1.0 } }",
        )],
    );
    assert_eq!(joined, 100, "all newcomers should join");
}

#[test]
fn gpu_hour_fees_and_a_csv_price_series() {
    // The two-node job again, with a fee of 3,600 tokens per GPU-hour: two
    // nodes × 2 s = 1/900 GPU-hour → 4 tokens, paid into the pool with the
    // 100 emitted: 52 tokens each. The price steps from $1 to $3 at 3,000 s,
    // so the payout at 3,600 s is worth 52 × 3 = $156.
    let dir = scratch("econ-csv-price");
    std::fs::write(dir.join("price.csv"), "t_s,usd\n0,1\n3000,3\n").unwrap();
    let yaml = two_node(
        "electricity_usd_per_kwh: 0",
        r#"
  fees: { tokens_per_gpu_hour: 3600 }
  token_price: { csv: { path: price.csv } }
  genesis: { job_owner: 10 }"#,
    );
    let path = dir.join("s.yaml");
    std::fs::write(&path, yaml).unwrap();
    run_ok(path.to_str().unwrap(), &dir.join("out"), &[], &[]);
    let ops = &read_arrow(&dir.join("out/operators.arrow"))[0];
    for v in f64_col(ops, "earned_tokens") {
        assert!((v - 52.0).abs() < 1e-9, "{v}");
    }
    for v in f64_col(ops, "revenue_usd") {
        assert!((v - 156.0).abs() < 1e-9, "{v}");
    }
    replay_and_check(&dir.join("out"));
    // A broken price file is reported at its field.
    std::fs::write(dir.join("price.csv"), "t_s,usd\n0,1\nsoon,3\n").unwrap();
    let o = dmlsim(&["validate", path.to_str().unwrap()], &[]);
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("economics.token_price.csv.path: ")
            && err.contains("line 3: expected `t_s,usd`"),
        "{err}"
    );
}

#[test]
fn a_collapsed_network_says_so_in_run_json_and_on_stderr() {
    // No emission and no fees: every operator loses money and, with an
    // exit rule for every profile, leaves after two epochs. It used to run
    // on to the horizon and report `stopped_by: horizon`.
    let rules = |newcomer: &str| {
        format!(
            "economics.operator_rules=[{{profile: gamer-3060, exit_after_unprofitable_epochs: 2}}, {{profile: dc-a100, exit_after_unprofitable_epochs: 2}}, {{profile: newcomer-4090, {newcomer}}}]"
        )
    };
    let run = |name: &str, newcomer: &str| {
        let out = scratch(name);
        let rules = rules(newcomer);
        let o = dmlsim(
            &[
                "run",
                "scenarios/reward-curves.yaml",
                "--out",
                out.to_str().unwrap(),
                "--quiet",
                "--set",
                "economics.emission={constant: {per_epoch: 0}}",
                "--set",
                "economics.fees={tokens_per_pflop: 0}",
                "--set",
                &rules,
            ],
            &[],
        );
        assert!(o.status.success());
        let info = run_json(&out);
        (info, String::from_utf8_lossy(&o.stderr).into_owned())
    };
    // Nobody can come back: the run stops at the settlement that emptied it.
    let (info, stderr) = run("collapse-final", "exit_after_unprofitable_epochs: 2");
    assert_eq!(info["stopped_by"], "no_operators");
    assert_eq!(info["no_operators_since_s"], 10_800.0);
    assert_eq!(info["sim_time_s"], 10_800.0);
    assert!(info["rounds_completed"].as_u64().unwrap() < 200);
    assert!(
        stderr.contains("warning: reward-curves: every operator left the network by t = 10800 s"),
        "{stderr}"
    );
    // Newcomers could still join (they never find it worth it): the run goes
    // on to the horizon, and still names the cause.
    let (info, _) = run(
        "collapse-hopeful",
        "entry: { horizon_epochs: 24, min_profit_usd: 1.0e9 }",
    );
    assert_eq!(info["stopped_by"], "no_operators");
    assert_eq!(info["sim_time_s"], 3.0 * 86_400.0);
}

#[test]
fn an_emission_budget_gives_every_curve_the_same_total_over_the_horizon() {
    // 12 hourly epochs; the job (200 rounds) outlasts them, so all 12 settle.
    let emitted = |name: &str, curve: &str| {
        let out = scratch(name);
        run_ok(
            "scenarios/reward-curves.yaml",
            &out,
            &[
                "--set",
                "horizon=12h",
                "--set",
                "economics.emission_budget=10000",
                "--set",
                curve,
            ],
            &[],
        );
        let e = &read_arrow(&out.join("epochs.arrow"))[0];
        assert_eq!(e.num_rows(), 12, "{curve}");
        f64_col(e, "emission_tokens").iter().sum::<f64>()
    };
    for (name, curve) in [
        (
            "budget-halving",
            "economics.emission={halving: {initial: 1, every_epochs: 3}}",
        ),
        (
            "budget-constant",
            "economics.emission={constant: {per_epoch: 1}}",
        ),
        (
            "budget-capped",
            "economics.emission={capped: {cap: 1, half_life_epochs: 6}}",
        ),
        (
            "budget-linear",
            "economics.emission={linear_decay: {initial: 10, decrement: 1}}",
        ),
    ] {
        let total = emitted(name, curve);
        assert!((total - 10_000.0).abs() < 1e-6, "{curve}: {total}");
    }
}
