//! Governance end to end: the shipped capture scenario shows three
//! founders deciding a vote that moves emission to their treasury, and
//! what it did to the network; bad governance sections are reported with
//! their path and line.

use super::economics::dict_strings;
use super::support::*;
use arrow_array::{BooleanArray, Float64Array, Int64Array, RecordBatch, UInt32Array};

const CAPTURE: &str = "scenarios/governance-capture.yaml";

/// The values of a dictionary column, row by row.
fn labels(batch: &RecordBatch, name: &str) -> Vec<String> {
    let col = batch.column_by_name(name).expect("column");
    dict_strings(col.as_ref())
        .into_iter()
        .map(Option::unwrap)
        .collect()
}

#[test]
fn three_founders_capture_the_vote_and_operators_leave() {
    let out = scratch("governance-capture");
    run_ok(CAPTURE, &out, &["--check"], &[]);
    let p = &read_arrow(&out.join("proposals.arrow"))[0];
    assert_eq!(p.num_rows(), 1);
    assert_eq!(labels(p, "parameter"), vec!["economics.split"]);
    assert_eq!(labels(p, "status"), vec!["passed"]);
    let decided: &Int64Array = column(p, "decided_by_owners");
    let captured: &BooleanArray = column(p, "captured");
    assert_eq!((decided.value(0), captured.value(0)), (3, true));
    // Turnout clears the 50% quorum, but not without every founder.
    let yes = f64_col(p, "yes_power")[0];
    let eligible = f64_col(p, "eligible_power")[0];
    let turnout = f64_col(p, "turnout")[0];
    assert!(turnout >= 0.5 && turnout - yes / 3.0 / eligible < 0.5);
    let effective = f64_col(p, "effective_s")[0];
    assert_eq!(effective, 9.0 * 86_400.0);

    // The three founder wallets voted yes, with all their tokens.
    let v = &read_arrow(&out.join("votes.arrow"))[0];
    let kinds = labels(v, "owner_kind");
    let choices = labels(v, "choice");
    let founders: Vec<&str> = (0..v.num_rows())
        .filter(|&i| kinds[i] == "founder")
        .map(|i| choices[i].as_str())
        .collect();
    assert_eq!(founders, vec!["yes"; 3]);
    let power: &Float64Array = column(v, "power");
    let founder_power: f64 = (0..v.num_rows())
        .filter(|&i| kinds[i] == "founder")
        .map(|i| power.value(i))
        .sum();
    assert_eq!(founder_power, yes);
    assert!((0..v.num_rows()).all(|i| kinds[i] != "operator" || choices[i] != "yes"));

    // Operators in the network: most stay until the change, most leave after.
    let e = &read_arrow(&out.join("epochs.arrow"))[0];
    let t = f64_col(e, "t_s");
    let ops: &UInt32Array = column(e, "operators_in_network");
    let at = |s: f64| ops.value(t.iter().position(|&x| x >= s).unwrap());
    assert!(at(effective) > 900, "{}", at(effective));
    assert!(at(effective + 3.0 * 86_400.0) < 300);
    // And the treasury's part of each epoch's pool went from 30% (its 20%
    // plus the validators' 10%, there being no validators) to 70%.
    let treasury = f64_col(e, "treasury_tokens");
    let i = t.iter().position(|&x| x >= effective).unwrap();
    let before = treasury[i - 1] - treasury[i - 2];
    let after = treasury[i + 1] - treasury[i];
    let ratio = after / before;
    assert!(
        (ratio / (0.7 / 0.3) - 1.0).abs() < 0.05,
        "{before} → {after}"
    );

    // Counting the treasury as its three owners' holdings, the top three
    // owners' share falls while rewards spread, then climbs after the change.
    let c = &read_arrow(&out.join("concentration.arrow"))[0];
    let (measure, over) = (labels(c, "measure"), labels(c, "over"));
    let with: &BooleanArray = column(c, "with_protocol");
    let (ct, top3) = (f64_col(c, "t_s"), f64_col(c, "top3_share"));
    let series: Vec<(f64, f64)> = (0..c.num_rows())
        .filter(|&i| measure[i] == "holdings" && over[i] == "owners" && with.value(i))
        .map(|i| (ct[i], top3[i]))
        .collect();
    assert_eq!(series.len(), t.len());
    let share_at = |s: f64| series.iter().find(|x| x.0 >= s).unwrap().1;
    assert!(share_at(effective) < share_at(0.0));
    assert!(series.last().unwrap().1 > share_at(effective) + 0.03);
}

#[test]
fn bad_governance_sections_are_reported_with_path_and_line() {
    let base = std::fs::read_to_string(repo().join(CAPTURE)).unwrap();
    let cases: &[Mutation] = &[
        (
            "gov-unknown-group",
            "{ group: investors,",
            "{ group: investers,",
            "governance.voters[1].group",
            "group: investers",
            "unknown group `investers`",
        ),
        (
            "gov-owners-over-wallets",
            "wallets: 5, owners: 5",
            "wallets: 5, owners: 6",
            "economics.genesis.holders[1].owners",
            "owners: 6",
            "expected 1 to 5 owners",
        ),
        (
            "gov-threshold-one",
            "  threshold: 0.5",
            "  threshold: 1",
            "governance.threshold",
            "threshold: 1",
            "expected a value below 1",
        ),
        (
            "gov-bad-split",
            "treasury: 0.6 } }",
            "treasury: 0.7 } }",
            "governance.proposals[0].change.split",
            "treasury: 0.7 } }",
            "shares must add up to 1",
        ),
        (
            "gov-wallet-name-clash",
            "{ name: investors, tokens: 250000, wallets: 5,",
            "{ name: founders-1, tokens: 250000, wallets: 1,",
            "economics.genesis.holders[1].name",
            "name: founders-1",
            "its wallet `founders-1` would share an account name",
        ),
        (
            "gov-group-named-operators",
            "{ name: investors, tokens: 250000,",
            "{ name: operators, tokens: 250000,",
            "economics.genesis.holders[1].name",
            "name: operators",
            "`operators` stands for every operator",
        ),
        (
            "gov-cliff-after-vesting",
            "wallets: 5, owners: 5, kind: investor }",
            "wallets: 5, owners: 5, kind: investor, vesting: { cliff: 400d, duration: 365d } }",
            "economics.genesis.holders[1].vesting.cliff",
            "cliff: 400d",
            "the cliff must not come after the end of vesting",
        ),
        (
            "gov-unknown-field",
            "  delay: 1d",
            "  delay: 1d\n  dealy: 1d",
            "governance.dealy",
            "dealy",
            "unknown field `dealy`",
        ),
    ];
    expect_mutations(&base, cases);
}

#[test]
fn a_sybil_split_gains_the_square_root_of_its_wallets_under_quadratic_voting() {
    const WIDE: &str = "scenarios/governance-wide.yaml";
    let split = run_with_sets(WIDE, "governance-wide", &[]);
    let single = run_with_sets(
        WIDE,
        "governance-wide-single",
        &["economics.genesis.holders[2].wallets=1"],
    );
    let weighted = run_with_sets(
        WIDE,
        "governance-wide-weighted",
        &["governance.rule=token_weighted"],
    );
    let proposal = |out: &std::path::Path| read_arrow(&out.join("proposals.arrow"))[0].clone();
    let (a, b, c) = (proposal(&split), proposal(&single), proposal(&weighted));
    // 400 wallets of 375 tokens against one of 150,000: √400 = 20 times the votes.
    let (yes_split, yes_single) = (f64_col(&a, "yes_power")[0], f64_col(&b, "yes_power")[0]);
    assert!((yes_single - 150_000f64.sqrt()).abs() < 1e-9);
    assert!(
        (yes_split / yes_single - 20.0).abs() < 1e-9,
        "{yes_split} / {yes_single}"
    );
    // The opposition is the same in both runs (the same owners stay away).
    assert_eq!(f64_col(&a, "no_power"), f64_col(&b, "no_power"));
    // Split, the raid passes and one owner decided it; whole, or counted
    // token by token, it fails.
    assert_eq!(labels(&a, "status"), vec!["passed"]);
    let decided: &Int64Array = column(&a, "decided_by_owners");
    assert_eq!(decided.value(0), 1);
    assert_eq!(labels(&b, "status"), vec!["failed"]);
    assert_eq!(labels(&c, "status"), vec!["failed"]);
    let summary = &run_json(&split)["summary"]["governance"];
    assert_eq!(summary["captured"], 1);
    assert_eq!(summary["passed_share"], 1.0);
}

#[test]
fn selection_by_stake_keeps_stake_concentrated_where_uniform_selection_spreads_it() {
    const SC: &str = "scenarios/stake-concentration.yaml";
    let weighted = run_with_sets(SC, "stake-weighted", &[]);
    let uniform = run_with_sets(
        SC,
        "stake-uniform",
        &["economics.staking.selection=uniform"],
    );
    let gini = |out: &std::path::Path| {
        run_json(out)["summary"]["governance"]["final_stake_gini"]
            .as_f64()
            .unwrap()
    };
    let (w, u) = (gini(&weighted), gini(&uniform));
    assert!(w > u + 0.15, "stake-weighted {w:.3}, uniform {u:.3}");
    // The bonded-stake rows: one per epoch each way, 304 operators, and
    // the exchange's pool holds half of the bonded stake at genesis.
    let rows = read_arrow(&weighted.join("concentration.arrow"));
    let (mut first_top1, mut count) = (None, 0);
    for b in &rows {
        let measure = labels(b, "measure");
        let top1 = f64_col(b, "top1_share");
        for (i, m) in measure.iter().enumerate() {
            if m == "bonded_stake" {
                count += 1;
                first_top1.get_or_insert(top1[i]);
            }
        }
    }
    assert_eq!(count, 2 * 365);
    let top1 = first_top1.unwrap();
    assert!((0.45..0.55).contains(&top1), "{top1}");
    // Delegation rewards and restakes go through the ledger.
    let ledger = read_arrow(&weighted.join("ledger.arrow"));
    let memos: Vec<String> = ledger.iter().flat_map(|b| labels(b, "memo")).collect();
    for memo in ["delegation", "restake"] {
        assert!(memos.iter().any(|m| m == memo), "no `{memo}` entry");
    }
}

#[test]
fn bad_staking_settings_are_refused_with_their_place() {
    let base = std::fs::read_to_string(repo().join("scenarios/stake-concentration.yaml")).unwrap();
    let cases: &[Mutation] = &[
        (
            "stake-restake-word",
            "    restake: all",
            "    restake: most",
            "economics.staking.restake",
            "restake: most",
            "`none`, `all` or a fraction",
        ),
        (
            "stake-restake-over-one",
            "    restake: all",
            "    restake: 1.5",
            "economics.staking.restake",
            "restake: 1.5",
            "expected",
        ),
        (
            "stake-self-over-min",
            "    min_self_stake: 50",
            "    min_self_stake: 500",
            "economics.staking.min_self_stake",
            "min_self_stake: 500",
            "less than the 500 of its own",
        ),
        (
            "stake-unknown-group",
            "{ group: exchange, fraction: 0.9",
            "{ group: exchanges, fraction: 0.9",
            "economics.staking.delegations[0].group",
            "group: exchanges",
            "unknown group `exchanges`",
        ),
        (
            "stake-fraction-zero",
            "{ group: exchange, fraction: 0.9",
            "{ group: exchange, fraction: 0",
            "economics.staking.delegations[0].fraction",
            "fraction: 0,",
            "expected",
        ),
        (
            "stake-commission",
            "    commission: 0.1",
            "    commission: -0.1",
            "economics.staking.commission",
            "commission: -0.1",
            "expected",
        ),
        (
            "zipf-exponent",
            "{ name: exchange, tokens: 200000, kind: exchange }",
            "{ name: exchange, tokens: 200000, kind: exchange, split: { zipf: { exponent: 20 } } }",
            "economics.genesis.holders[1].split.zipf.exponent",
            "exponent: 20",
            "expected",
        ),
        (
            "pool-unknown-profile",
            "{ name: cloudco, profile: pool-a100 }",
            "{ name: cloudco, profile: pool-h100 }",
            "governance.pools[0].profile",
            "profile: pool-h100",
            "unknown profile `pool-h100`",
        ),
        (
            "pool-name-clash",
            "{ name: cloudco, profile: pool-a100 }",
            "{ name: community-7, profile: pool-a100 }",
            "governance.pools[0].name",
            "name: community-7",
            "names another group, owner or account",
        ),
        (
            "stake-choice",
            "choose: largest",
            "choose: biggest",
            "economics.staking.delegations[0].choose",
            "choose: biggest",
            "largest",
        ),
    ];
    expect_mutations(&base, cases);
    // `spread` over 340 nodes from 100,000 wallets: 34 million bonds.
    let wide = base
        .replace("wallets: 300, owners: 300", "wallets: 100000, owners: 300")
        .replace(
            "{ group: community, fraction: 0.5, choose: random",
            "{ group: community, fraction: 0.5, choose: spread",
        );
    expect_problem(
        "spread-too-wide",
        &wide,
        "economics.staking.delegations[1].choose",
        "group: community",
        "`spread` would bond each of 100000 wallets to each of up to 340 operators",
    );
}

#[test]
fn votes_change_the_spot_check_probability_the_slashing_fraction_and_the_emission() {
    // The foundation (100,000 tokens against the operators' 20,000) passes
    // three changes on day 1, tallied and effective at 30 h.
    let gov = "governance={voting_period: 6h, delay: 0s, voters: [{group: foundation, vote: yes}], others: {vote: abstain}, proposals: [{at: 1d, by: foundation, change: {spot_check_probability: 0.6}}, {at: 1d, by: foundation, change: {slash_fraction: 0.5}}, {at: 1d, by: foundation, change: {emission_scale: 0.5}}]}";
    let out = run_with_sets("scenarios/free-riders.yaml", "gov-verification", &[gov]);
    let proposals = read_arrow(&out.join("proposals.arrow"));
    let p = &proposals[0];
    assert_eq!(labels(p, "status"), vec!["passed"; 3]);
    let text = |name: &str| -> Vec<String> {
        let col: &arrow_array::StringArray = column(p, name);
        col.iter().map(|v| v.unwrap().to_string()).collect()
    };
    assert_eq!(
        labels(p, "parameter"),
        vec![
            "verification.strategy.spot_check.p",
            "verification.slashing",
            "economics.emission"
        ]
    );
    assert_eq!(
        text("old"),
        vec!["0.05", "the scenario's policy", "scale=1"]
    );
    assert_eq!(text("new"), vec!["0.6", "fixed=0.5", "scale=0.5"]);
    let effective = 30.0 * 3600.0;
    assert!(f64_col(p, "effective_s").iter().all(|&t| t == effective));
    // Spot checks: about 5% of updates before, about 60% after.
    let (mut checked, mut completed) = ([0.0; 2], [0.0; 2]);
    for b in read_arrow(&out.join("rounds.arrow")) {
        let (end, verified, done) = (
            f64_col(&b, "t_end_s"),
            column::<UInt32Array>(&b, "verified").values().to_vec(),
            column::<UInt32Array>(&b, "completed").values().to_vec(),
        );
        for i in 0..end.len() {
            let after = usize::from(end[i] >= effective);
            checked[after] += f64::from(verified[i]);
            completed[after] += f64::from(done[i]);
        }
    }
    let (before, after) = (checked[0] / completed[0], checked[1] / completed[1]);
    assert!((0.02..0.1).contains(&before), "{before}");
    assert!((0.5..0.7).contains(&after), "{after}");
    // Slashing: 10% of a 200-token stake before, half of it after.
    for b in read_arrow(&out.join("offences.arrow")) {
        for (t, penalty) in f64_col(&b, "t_s")
            .into_iter()
            .zip(f64_col(&b, "penalty_tokens"))
        {
            let want = if t >= effective { 100.0 } else { 20.0 };
            assert_eq!(penalty, want, "offence at {t} s");
        }
    }
    // Emission: 530 tokens an epoch, then 265.
    for b in read_arrow(&out.join("epochs.arrow")) {
        for (t, e) in f64_col(&b, "t_s")
            .into_iter()
            .zip(f64_col(&b, "emission_tokens"))
        {
            let want = if t > effective { 265.0 } else { 530.0 };
            assert_eq!(e, want, "epoch settled at {t} s");
        }
    }
}

#[test]
fn verification_changes_need_verification_to_change() {
    let base = std::fs::read_to_string(repo().join(CAPTURE)).unwrap();
    let split = "change: { split: { compute: 0.3, data: 0.0, validators: 0.1, treasury: 0.6 } }";
    let cases: &[Mutation] = &[
        (
            "gov-slash-without-verification",
            split,
            "change: { slash_fraction: 0.5 }",
            "governance.proposals[0].change.slash_fraction",
            "slash_fraction",
            "needs a `verification` section",
        ),
        (
            "gov-spot-check-without-spot-checks",
            split,
            "change: { spot_check_probability: 0.5 }",
            "governance.proposals[0].change.spot_check_probability",
            "spot_check_probability",
            "needs `verification.strategy: { spot_check",
        ),
        (
            "gov-retry-no-attempts",
            split,
            "change: { split: { compute: 0.3, data: 0.0, validators: 0.1, treasury: 0.6 } }\n      retry: { after: 1d, attempts: 0 }",
            "governance.proposals[0].retry.attempts",
            "attempts: 0",
            "expected 1 to 1000 attempts",
        ),
        (
            "gov-negative-emission-scale",
            split,
            "change: { emission_scale: -1 }",
            "governance.proposals[0].change.emission_scale",
            "emission_scale",
            "expected",
        ),
    ];
    expect_mutations(&base, cases);
}
