//! Bad scenarios: each problem is reported with file:line:column and the
//! exact field path, and the CLI exits with code 2.

use super::support::*;

fn quickstart() -> String {
    std::fs::read_to_string(repo().join("scenarios/quickstart.yaml")).unwrap()
}

/// Replaces exactly one occurrence of `from` in the quickstart.
fn mutate(from: &str, to: &str) -> String {
    let q = quickstart();
    assert_eq!(q.matches(from).count(), 1, "`{from}` must occur once");
    q.replacen(from, to, 1)
}

#[test]
fn bad_scenarios_are_reported_with_path_and_line() {
    let cases: &[Mutation] = &[
        // name, from, to, path, line marker, message fragment
        (
            "unknown-profile",
            "  - profile: gamer-4090\n    count: 500",
            "  - profile: gamer-4080\n    count: 500",
            "populations[1].profile",
            "profile: gamer-4080",
            "unknown profile `gamer-4080`",
        ),
        (
            "negative-count",
            "count: 500",
            "count: -5",
            "populations[1].count",
            "count: -5",
            "invalid type: integer `-5`, expected a whole number from 0 to 4294967295",
        ),
        (
            "zero-deadline",
            "deadline: 10m",
            "deadline: 0s",
            "rounds.deadline",
            "deadline: 0s",
            "greater than zero",
        ),
        (
            "unknown-field",
            "  clients_per_round: 100",
            "  clients_per_round: 100\n  clients_per_rund: 5",
            "rounds.clients_per_rund",
            "clients_per_rund",
            "unknown field `clients_per_rund`",
        ),
        (
            "type-error",
            "tflops: 12.7",
            "tflops: fast",
            "profiles[0].gpu.tflops",
            "tflops: fast",
            "a number or a distribution",
        ),
        (
            "efficiency-range",
            "efficiency: 0.3 }",
            "efficiency: 1.3 }",
            "profiles[2].gpu.efficiency",
            "efficiency: 1.3",
            "found 1.3",
        ),
        (
            "bad-region",
            "  region: us-east\n  up_mbps: 10000",
            "  region: mars\n  up_mbps: 10000",
            "aggregator.region",
            "region: mars",
            "unknown region `mars`",
        ),
        (
            "weight-region",
            "regions: { us-east: 0.5, eu-west: 0.5 }",
            "regions: { us-east: 0.5, eu-wst: 0.5 }",
            "populations[2].regions.eu-wst",
            "eu-wst",
            "unknown region `eu-wst`",
        ),
        (
            "bad-duration",
            "horizon: 2d",
            "horizon: 2 fortnights",
            "horizon",
            "horizon: 2 fortnights",
            "unknown unit",
        ),
        (
            "bad-distribution",
            "efficiency: { uniform: { low: 0.2, high: 0.35 } }",
            "efficiency: { uniform: { low: 0.5, high: 0.35 } }",
            "profiles[0].gpu.efficiency",
            "low: 0.5",
            "greater than `high`",
        ),
        (
            "matrix-shape",
            "    - [90, 100, 12]\n",
            "",
            "network.latency_ms",
            "latency_ms:",
            "expected 3 rows",
        ),
        (
            "missing-field",
            "  clients_per_round: 100\n",
            "",
            "rounds",
            "rounds:",
            "missing field `clients_per_round`",
        ),
        (
            "unknown-availability",
            "churn: { mean_up: 6h, mean_down: 2h }",
            "flaky: { mean_up: 6h }",
            "profiles[2].availability.flaky",
            "flaky",
            "unknown variant `flaky`, expected one of `always_on`",
        ),
    ];
    for (name, from, to, path, marker, expect) in cases {
        expect_problem(name, &mutate(from, to), path, marker, expect);
    }
}

#[test]
fn several_problems_are_all_reported() {
    let text = mutate("count: 500", "count: -5")
        .replace("deadline: 10m", "deadline: 0s")
        .replace("seed: 42", "seed: lots");
    let dir = scratch("validate-several");
    let file = dir.join("bad.yaml");
    std::fs::write(&file, &text).unwrap();
    let o = dmlsim(&["validate", file.to_str().unwrap()], &[]);
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr.contains(": seed: ") && stderr.contains(": populations[1].count: "),
        "{stderr}"
    );
}

#[test]
fn hostile_inputs_are_refused_quickly() {
    let dir = scratch("validate-hostile");
    // A billion-laughs alias bomb.
    let mut bomb = String::from("a: &a [x, x, x, x, x, x, x, x, x]\n");
    for i in 1..10 {
        bomb.push_str(&format!(
            "{}: &{} [*{}, *{}, *{}, *{}, *{}, *{}, *{}, *{}, *{}]\n",
            (b'a' + i) as char,
            (b'a' + i) as char,
            (b'a' + i - 1) as char,
            (b'a' + i - 1) as char,
            (b'a' + i - 1) as char,
            (b'a' + i - 1) as char,
            (b'a' + i - 1) as char,
            (b'a' + i - 1) as char,
            (b'a' + i - 1) as char,
            (b'a' + i - 1) as char,
            (b'a' + i - 1) as char
        ));
    }
    let file = dir.join("bomb.yaml");
    std::fs::write(&file, bomb).unwrap();
    let o = dmlsim(&["validate", file.to_str().unwrap()], &[]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("not valid YAML"),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    // A 100 MB file is refused before it is read.
    let big = dir.join("big.yaml");
    let f = std::fs::File::create(&big).unwrap();
    f.set_len(100 * 1024 * 1024).unwrap();
    let o = dmlsim(&["validate", big.to_str().unwrap()], &[]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("scenarios are limited to"));
    std::fs::remove_file(big).unwrap();
    // Not a mapping at all.
    let list = dir.join("list.yaml");
    std::fs::write(&list, "- 1\n- 2\n").unwrap();
    let o = dmlsim(&["validate", list.to_str().unwrap()], &[]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("expected a mapping of scenario fields"));
}

#[cfg(unix)]
#[test]
fn size_limits_apply_while_reading_not_from_metadata() {
    // `/dev/zero` (size 0 in its metadata) as the scenario or a data file
    // was read until 5–6 GB.
    let o = dmlsim(&["validate", "/dev/zero"], &[]);
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("larger than the limit of 4194304 bytes"),
        "{stderr}"
    );
    let dir = scratch("validate-endless-data");
    let scenario = dir.join("zero.yaml");
    let data = |path: &str| digits_with_data(&format!("{{ csv: {{ path: {path}, label: y }} }}"));
    std::fs::write(&scenario, data("/dev/zero")).unwrap();
    let o = dmlsim(&["validate", scenario.to_str().unwrap()], &[]);
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("learning.dataset.csv.path: cannot read `/dev/zero`: not a regular file"),
        "{stderr}"
    );
    // The data limit is documented and can be changed.
    std::fs::write(dir.join("d.csv"), "x,y\n1,a\n2,b\n3,a\n4,b\n").unwrap();
    std::fs::write(&scenario, data("d.csv")).unwrap();
    let file = scenario.to_str().unwrap();
    assert!(dmlsim(&["validate", file], &[]).status.success());
    let o = dmlsim(&["validate", file], &[("DMLSIM_MAX_DATA_BYTES", "10")]);
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("raise it with DMLSIM_MAX_DATA_BYTES"),
        "{stderr}"
    );
}

/// The digits scenario with another dataset.
fn digits_with_data(dataset: &str) -> String {
    let text = std::fs::read_to_string(repo().join("scenarios/digits-iid.yaml")).unwrap();
    text.replace("  dataset: digits", &format!("  dataset: {dataset}"))
}

#[test]
fn bad_learning_sections_are_reported_with_path_and_line() {
    let base = std::fs::read_to_string(repo().join("scenarios/poisoning-vs-robust.yaml")).unwrap();
    let cases: &[Mutation] = &[
        (
            "unknown-behaviour",
            "sign_flip: 0.2 }",
            "sign_flop: 0.2 }",
            "profiles[0].behaviour.sign_flop",
            "sign_flop",
            "unknown behaviour `sign_flop`",
        ),
        (
            "unknown-rule",
            "  aggregation: fedavg",
            "  aggregation: mean",
            "learning.aggregation",
            "aggregation: mean",
            "unknown variant `mean`",
        ),
        (
            "bad-beta",
            "  aggregation: fedavg",
            "  aggregation: { trimmed_mean: { beta: 0.7 } }",
            "learning.aggregation.trimmed_mean.beta",
            "beta: 0.7",
            "expected a value in [0, 0.5)",
        ),
        (
            "zero-lr",
            "learning_rate: 0.05",
            "learning_rate: 0",
            "learning.local.learning_rate",
            "learning_rate: 0",
            "found 0",
        ),
        (
            "bytes-with-learning",
            "  deadline: 5m",
            "  deadline: 5m\n  model_bytes: 1 MB",
            "rounds.model_bytes",
            "model_bytes: 1 MB",
            "is set by the `learning` section",
        ),
        (
            "bad-dataset",
            "  dataset: digits",
            "  dataset: mnist",
            "learning.dataset",
            "dataset: mnist",
            "unknown variant `mnist`",
        ),
    ];
    expect_mutations(&base, cases);
}

#[test]
fn oversized_learning_setups_are_refused_not_attempted() {
    let base = std::fs::read_to_string(repo().join("scenarios/poisoning-vs-robust.yaml")).unwrap();
    let huge_model = base.replace(
        "  model: logistic",
        "  model: { mlp: { hidden: [60000, 60000] } }",
    );
    let dir = scratch("validate-huge");
    let file = dir.join("huge.yaml");
    std::fs::write(&file, &huge_model).unwrap();
    let o = dmlsim(
        &[
            "run",
            file.to_str().unwrap(),
            "--out",
            dir.join("o").to_str().unwrap(),
            "-q",
        ],
        &[],
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("real models are limited to"),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    // `validate` finds it too (it used to say ok and leave it to `run`).
    expect_problem(
        "huge-model",
        &huge_model,
        "learning.model",
        "model: { mlp",
        "real models are limited to",
    );
    let huge_data = base.replace("  dataset: digits", "  dataset: { gaussian_mixture: { classes: 2, dim: 100000, separation: 1, samples: 10000000 } }");
    expect_problem(
        "huge-data",
        &huge_data,
        "learning.dataset.gaussian_mixture",
        "gaussian_mixture",
        "at most 250000000",
    );
}

#[test]
fn verification_needs_learning_and_economics() {
    let base = std::fs::read_to_string(repo().join("scenarios/free-riders.yaml")).unwrap();
    let cut = base.find("economics:").unwrap();
    let verification = &base[base.find("verification:").unwrap()..];
    let text = format!("{}{}", &base[..cut], verification);
    expect_problem(
        "verification-no-economics",
        &text,
        "verification",
        "verification:",
        "add an `economics` section",
    );
    let bad_p = base.replace("{ spot_check: { p: 0.05 } }", "{ spot_check: { p: 1.5 } }");
    expect_problem(
        "verification-bad-p",
        &bad_p,
        "verification.strategy.spot_check.p",
        "p: 1.5",
        "found 1.5",
    );
}

#[test]
fn values_that_become_infinite_are_refused_or_clamped() {
    // `up_mbps: 1e308` became inf bit/s after the unit conversion and
    // reached the tables; `watts: 1e308` the same for energy.
    expect_problem(
        "huge-link",
        &quickstart().replacen(
            "up_mbps: { lognormal: { median: 40, sigma: 0.5, min: 20 } }",
            "up_mbps: 1e308",
            1,
        ),
        "profiles[0].link.up_mbps",
        "up_mbps: 1e308",
        "expected a value of at most 1e9, found 1e308",
    );
    expect_problem(
        "huge-watts",
        &mutate("watts: 170", "watts: 1e308"),
        "profiles[0].gpu.watts",
        "watts: 1e308",
        "at most 1e6",
    );
    expect_problem(
        "huge-median",
        &quickstart().replacen(
            "median: 300, sigma: 0.5, min: 25",
            "median: 1e300, sigma: 0.5",
            1,
        ),
        "profiles[0].link.down_mbps",
        "median: 1e300",
        "centred at 1e300, beyond the largest value allowed (1e9)",
    );
    // A lognormal with σ = 1e20 draws 0 and inf; its draws are clamped
    // into the documented range, so every table stays finite.
    let out = run_variant(
        "scenarios/quickstart.yaml",
        &[(
            "down_mbps: { lognormal: { median: 300, sigma: 0.5, min: 25 } }",
            "down_mbps: { lognormal: { median: 300, sigma: 1e20 } }",
        )],
        "validate-heavy-tail",
    );
    for table in ["rounds", "nodes"] {
        for batch in read_arrow(&out.join(format!("{table}.arrow"))) {
            for (field, col) in batch.schema().fields().iter().zip(batch.columns()) {
                if let Some(f) = col.as_any().downcast_ref::<arrow_array::Float64Array>() {
                    assert!(
                        f.iter().flatten().all(f64::is_finite),
                        "{table}.{} holds a non-finite value",
                        field.name()
                    );
                }
            }
        }
    }
}

#[test]
fn the_readme_scenario_validates() {
    // A lognormal without `min` is strictly positive; the README's own
    // 30-line scenario was refused for it.
    let readme = std::fs::read_to_string(repo().join("README.md")).unwrap();
    let start = readme.find("## A scenario in 30 lines").unwrap();
    let body = &readme[start..];
    let yaml_start = body.find("```yaml\n").unwrap() + 8;
    let yaml_end = yaml_start + body[yaml_start..].find("```").unwrap();
    let dir = scratch("validate-readme");
    let file = dir.join("tour.yaml");
    std::fs::write(&file, &body[yaml_start..yaml_end]).unwrap();
    let o = dmlsim(&["validate", file.to_str().unwrap()], &[]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
}

#[test]
fn token_amounts_are_bounded_so_validate_and_run_agree() {
    // Genesis amounts that overflowed passed `validate` and then failed the
    // run (exit 1); others wrapped supply negative or overflowed the
    // tables' Decimal128(38, 0).
    for set in [
        "economics.genesis.per_operator=1e18",
        "economics.genesis.holders=[{name: a, tokens: 9e18}, {name: b, tokens: 9e18}]",
        "economics.emission={constant: {per_epoch: 1e18}}",
        "economics.emission_budget=2e19",
    ] {
        let o = dmlsim(
            &["validate", "scenarios/reward-curves.yaml", "--set", set],
            &[],
        );
        let stderr = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{set}: {stderr}");
        assert!(
            stderr.contains("economics: genesis and emission over the horizon could reach")
                && stderr.contains("at most 1e19"),
            "{set}: {stderr}"
        );
        let out = scratch("validate-supply");
        let o = dmlsim(
            &[
                "run",
                "scenarios/reward-curves.yaml",
                "--out",
                out.join("o").to_str().unwrap(),
                "--set",
                set,
            ],
            &[],
        );
        assert_eq!(o.status.code(), Some(2), "{set}: run agrees with validate");
    }
    // Durations beyond the clock are refused, not saturated.
    let o = dmlsim(
        &[
            "validate",
            "scenarios/quickstart.yaml",
            "--set",
            "horizon=1e30",
        ],
        &[],
    );
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("longer than the simulator's clock holds"),
        "{stderr}"
    );
}

#[test]
fn scenarios_that_would_exhaust_memory_or_run_for_hours_are_refused_with_their_estimate() {
    // Each passed `validate` and then aborted ("memory allocation failed",
    // exit 134) or ran for hours.
    let cases: &[(&str, &[&str], &str, &str)] = &[
        (
            "scenarios/digits-iid.yaml",
            &[
                "learning.dataset={teacher_student: {classes: 3, dim: 100000, hidden: 100000, samples: 100}}",
            ],
            "learning.dataset.teacher_student",
            "of memory",
        ),
        (
            "scenarios/digits-iid.yaml",
            &[
                "learning.partition={shards: {per_client: 1000000}}",
                "populations[0].count=1000",
            ],
            "learning.partition",
            "of memory",
        ),
        (
            "scenarios/digits-iid.yaml",
            &[
                "learning.model={mlp: {hidden: [4000, 4000]}}",
                "populations[0].count=400",
                "rounds.clients_per_round=200",
            ],
            "learning.model",
            "200 simultaneous updates of 16.3 M parameters",
        ),
        (
            "scenarios/global-10k.yaml",
            &[
                "network.topology.generator={barabasi_albert: {m: 50000}}",
                "network.topology.routers=100000",
            ],
            "network.topology.generator.barabasi_albert.m",
            "of memory",
        ),
        (
            "scenarios/global-10k.yaml",
            &[
                "network.topology.generator={waxman: {alpha: 1, beta: 1}}",
                "network.topology.routers=5000",
            ],
            "network.topology.generator.waxman",
            "shortest-path searches",
        ),
        (
            "scenarios/quickstart.yaml",
            &[
                "profiles[2].availability={churn: {mean_up: 1ms, mean_down: 1ms}}",
                "horizon=100d",
            ],
            "profiles[2].availability.churn",
            "churn periods walked",
        ),
        (
            "scenarios/quickstart.yaml",
            &["rounds.retry_after=1ms", "horizon=100d"],
            "rounds.retry_after",
            "selection retries",
        ),
        (
            "scenarios/quickstart.yaml",
            &["rounds.count=4294967295", "horizon=100000d"],
            "horizon",
            "events (most for rounds",
        ),
    ];
    for (scenario, sets, path, expect) in cases {
        let mut args = vec!["validate", scenario];
        for s in *sets {
            args.extend(["--set", s]);
        }
        let started = std::time::Instant::now();
        let o = dmlsim(&args, &[]);
        let stderr = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{sets:?}: {stderr}");
        assert!(
            stderr.contains(&format!(": {path}: this run is estimated to need"))
                && stderr.contains(expect)
                && stderr.contains("--allow-large"),
            "{sets:?}: {stderr}"
        );
        assert!(started.elapsed().as_secs() < 10, "{sets:?} refused quickly");
    }
    // `validate` prints the estimate of what it accepts.
    let o = dmlsim(&["validate", "scenarios/quickstart.yaml"], &[]);
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(
        stdout.contains("ok (estimated ~") && stdout.contains("events"),
        "{stdout}"
    );
    // --allow-large runs it anyway, and an event budget stops it cleanly.
    let out = scratch("validate-allow-large").join("out");
    run_ok(
        "scenarios/quickstart.yaml",
        &out,
        &[
            "--set",
            "rounds.count=4294967295",
            "--set",
            "horizon=100000d",
            "--allow-large",
            "--max-events",
            "20000",
        ],
        &[],
    );
    let info = run_json(&out);
    assert_eq!(info["stopped_by"], "max_events");
    assert!(info["estimate"]["events"].as_f64().unwrap() > 1e9);
}

#[test]
fn messages_speak_of_numbers_not_rust_types_and_empty_feature_lists_are_refused() {
    let cases = [
        (
            "rounds.count=-1",
            "rounds.count: invalid type: integer `-1`, expected a whole number from 0 to 4294967295",
        ),
        (
            "learning.dataset={csv: {path: x.csv, label: y, features: []}}",
            "learning.dataset.csv.features: an empty list; omit `features` to use every column but the label",
        ),
    ];
    for (set, expect) in cases {
        let o = dmlsim(
            &["validate", "scenarios/digits-iid.yaml", "--set", set],
            &[],
        );
        let stderr = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{stderr}");
        assert!(stderr.contains(expect), "{set}: {stderr}");
        assert!(
            !stderr.contains("u32") && !stderr.contains("u128"),
            "{stderr}"
        );
    }
}

#[test]
fn accuracy_targets_are_checked() {
    let o = crate::support::dmlsim(
        &[
            "validate",
            "scenarios/quickstart.yaml",
            "--set",
            "metrics.accuracy_targets=[0.9, 1.5, 0.9]",
        ],
        &[],
    );
    assert_eq!(o.status.code(), Some(2));
    let e = String::from_utf8_lossy(&o.stderr);
    assert!(
        e.contains("metrics.accuracy_targets[1]: expected a value in (0, 1], found 1.5"),
        "{e}"
    );
    assert!(
        e.contains("metrics.accuracy_targets[2]: 0.9 is listed twice"),
        "{e}"
    );
    assert!(
        e.contains("accuracy targets need a `learning` section"),
        "{e}"
    );
}
