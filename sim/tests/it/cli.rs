//! The CLI runs the quickstart and writes the contract's tables.

use super::support::*;

const ROUNDS_COLUMNS: [&str; 10] = [
    "round",
    "t_start_s",
    "t_end_s",
    "selected",
    "completed",
    "dropped",
    "bytes_up",
    "bytes_down",
    "test_accuracy",
    "test_loss",
];
const NODES_COLUMNS: [&str; 5] = [
    "node_id",
    "operator_id",
    "profile",
    "region",
    "rounds_completed",
];
const RUN_KEYS: [&str; 6] = [
    "dmlsim_version",
    "scenario_sha256",
    "seed",
    "events",
    "wall_s",
    "files",
];

#[test]
fn quickstart_writes_the_contract_tables() {
    let out = scratch("cli-quickstart");
    run_ok("scenarios/quickstart.yaml", &out, &["--trace"], &[]);
    let rounds = read_arrow(&out.join("rounds.arrow"));
    let schema = rounds[0].schema();
    for c in ROUNDS_COLUMNS {
        assert!(schema.field_with_name(c).is_ok(), "rounds.arrow lacks {c}");
    }
    let rows: usize = rounds.iter().map(|b| b.num_rows()).sum();
    assert_eq!(rows, 20, "one row per round");
    let nodes = read_arrow(&out.join("nodes.arrow"));
    for c in NODES_COLUMNS {
        assert!(
            nodes[0].schema().field_with_name(c).is_ok(),
            "nodes.arrow lacks {c}"
        );
    }
    assert_eq!(nodes.iter().map(|b| b.num_rows()).sum::<usize>(), 2000);
    let transfers = read_arrow(&out.join("transfers.arrow"));
    for c in ["src", "dst", "bytes", "start_s", "end_s"] {
        assert!(
            transfers[0].schema().field_with_name(c).is_ok(),
            "transfers.arrow lacks {c}"
        );
    }
    // Each selected client downloads once; uploads only after downloading.
    let selected: u64 = rounds
        .iter()
        .map(|b| {
            column::<arrow_array::UInt32Array>(b, "selected")
                .values()
                .iter()
                .map(|&v| u64::from(v))
                .sum::<u64>()
        })
        .sum();
    let n_transfers: usize = transfers.iter().map(|b| b.num_rows()).sum();
    assert!(n_transfers as u64 >= selected && n_transfers as u64 <= 2 * selected);

    let run: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("run.json")).unwrap()).unwrap();
    for k in RUN_KEYS {
        assert!(run.get(k).is_some(), "run.json lacks {k}");
    }
    assert_eq!(run["seed"], 42);
    assert_eq!(run["scenario_sha256"].as_str().unwrap().len(), 64);
    // No temporary files are left behind.
    for entry in std::fs::read_dir(&out).unwrap() {
        let name = entry.unwrap().file_name().into_string().unwrap();
        assert!(!name.ends_with(".partial"), "left {name}");
    }
}

#[test]
fn schema_is_json_describing_the_scenario() {
    let o = dmlsim(&["schema"], &[]);
    assert!(o.status.success());
    let schema: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let props = &schema["properties"];
    for k in [
        "name",
        "seed",
        "horizon",
        "regions",
        "network",
        "profiles",
        "populations",
        "aggregator",
        "rounds",
    ] {
        assert!(props.get(k).is_some(), "schema lacks {k}");
    }
}

#[test]
fn shipped_scenarios_validate() {
    for entry in std::fs::read_dir(repo().join("scenarios")).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "yaml") {
            let o = dmlsim(&["validate", path.to_str().unwrap()], &[]);
            assert!(
                o.status.success(),
                "{}: {}",
                path.display(),
                String::from_utf8_lossy(&o.stderr)
            );
        }
    }
}

#[test]
fn usage_errors_exit_2() {
    assert_eq!(dmlsim(&["run"], &[]).status.code(), Some(2));
    assert_eq!(dmlsim(&["frobnicate"], &[]).status.code(), Some(2));
    let o = dmlsim(&["run", "no/such/file.yaml", "--quiet"], &[]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("cannot read the scenario"));
}

#[test]
fn set_overrides_any_field_and_matches_the_edited_file() {
    // `--set` gives the same bytes as editing the file by hand.
    let flagged = scratch("cli-set");
    run_ok(
        "scenarios/quickstart.yaml",
        &flagged,
        &[
            "--set",
            "rounds.count=4",
            "--set",
            "populations[0].count=300",
        ],
        &[],
    );
    let edited = run_variant(
        "scenarios/quickstart.yaml",
        &[
            ("  count: 20\n", "  count: 4\n"),
            ("count: 1200", "count: 300"),
        ],
        "cli-set-edited",
    );
    for t in ["rounds.arrow", "nodes.arrow"] {
        assert_eq!(
            std::fs::read(flagged.join(t)).unwrap(),
            std::fs::read(edited.join(t)).unwrap(),
            "{t}"
        );
    }
    let info = run_json(&flagged);
    assert_eq!(
        info["overrides"],
        serde_json::json!(["rounds.count=4", "populations[0].count=300"])
    );
}

#[test]
fn a_bad_override_names_its_flag_and_exits_2() {
    let out = scratch("cli-set-bad");
    let o = out.to_str().unwrap();
    let cases = [
        (
            "rounds.count=abc",
            "scenarios/quickstart.yaml: --set rounds.count=abc: rounds.count: invalid type",
        ),
        (
            "rounds.cout=5",
            "--set rounds.cout=5: rounds.cout: unknown field `cout`",
        ),
        (
            "populations[9].count=5",
            "`populations[9]` is out of range: the list has 4 entries",
        ),
        ("nonsense", "--set nonsense: expected `path=value`"),
    ];
    for (flag, expected) in cases {
        let r = dmlsim(
            &[
                "run",
                "scenarios/quickstart.yaml",
                "--out",
                o,
                "--set",
                flag,
            ],
            &[],
        );
        let stderr = String::from_utf8_lossy(&r.stderr);
        assert_eq!(r.status.code(), Some(2), "{flag}: {stderr}");
        assert!(stderr.contains(expected), "{flag}: {stderr}");
    }
}

#[test]
fn tables_chooses_what_is_written_and_names_unknown_tables() {
    let out = scratch("cli-tables");
    run_ok(
        "scenarios/reward-curves.yaml",
        &out,
        &["--tables", "rounds,epochs"],
        &[],
    );
    let mut files: Vec<String> = std::fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    files.sort();
    assert_eq!(files, ["epochs.arrow", "rounds.arrow", "run.json"]);
    let info = run_json(&out);
    let listed: Vec<&str> = info["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["name"].as_str().unwrap())
        .collect();
    assert_eq!(listed, ["rounds.arrow", "epochs.arrow"]);
    assert_manifest_agrees(&out);
    // The summary counts the rows written and gives headline figures.
    let rows = |t: &str| -> usize {
        read_arrow(&out.join(format!("{t}.arrow")))
            .iter()
            .map(|b| b.num_rows())
            .sum()
    };
    let summary = &info["summary"];
    assert_eq!(summary["rows"]["rounds"], rows("rounds"));
    assert_eq!(summary["rows"]["epochs"], rows("epochs"));
    assert_eq!(summary["rounds"]["rounds"], rows("rounds"));
    assert_eq!(summary["economy"]["epochs"], rows("epochs"));
    assert!(summary["economy"]["supply_tokens"].as_f64().unwrap() > 0.0);
    let r = dmlsim(
        &[
            "run",
            "scenarios/quickstart.yaml",
            "--out",
            out.to_str().unwrap(),
            "--tables",
            "rounds,ledgr",
        ],
        &[],
    );
    assert_eq!(r.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&r.stderr).contains("unknown table `ledgr`"));
}

#[test]
fn a_long_chain_streams_out_in_batches_and_stays_linked() {
    // 72,000 one-second blocks: more than one batch of 65,536.
    let out = scratch("cli-blocks-stream");
    run_ok(
        "scenarios/reward-curves.yaml",
        &out,
        &[
            "--set",
            "economics.block_time=1s",
            "--set",
            "horizon=20h",
            "--tables",
            "blocks",
        ],
        &[],
    );
    let batches = read_arrow(&out.join("blocks.arrow"));
    assert!(batches.len() > 1, "streamed in batches");
    let mut index = Vec::new();
    let mut hash = Vec::new();
    let mut prev = Vec::new();
    for b in &batches {
        let strings = |name: &str| {
            column::<arrow_array::StringArray>(b, name)
                .iter()
                .map(|s| s.unwrap().to_string())
                .collect::<Vec<_>>()
        };
        index.extend(
            column::<arrow_array::UInt64Array>(b, "block")
                .values()
                .iter()
                .copied(),
        );
        hash.extend(strings("hash"));
        prev.extend(strings("prev_hash"));
    }
    assert!(index.len() > 65_536);
    assert!(index.iter().enumerate().all(|(i, &b)| b == i as u64));
    for i in 1..hash.len() {
        assert_eq!(prev[i], hash[i - 1], "block {i} links to its predecessor");
    }
}

#[test]
fn many_rounds_stream_out_in_batches_joined_with_their_economy() {
    // 70,000 nine-second rounds: more than one batch of 65,536 rows. Each
    // round's economy row (its share of its epoch's emission) must follow it
    // into the right batch: the rounds' rewards add up to the emission.
    let out = scratch("cli-rounds-stream");
    run_ok(
        "sim/tests/scenarios/two-tier.yaml",
        &out,
        &[
            "--set",
            "rounds.count=70000",
            "--set",
            "horizon=30d",
            "--set",
            "economics={block_time: 1h, epoch: 6h, emission: {constant: {per_epoch: 10}}, split: {compute: 1.0}, token_price: {constant: {usd: 1}}}",
            "--tables",
            "rounds,epochs",
        ],
        &[],
    );
    let batches = read_arrow(&out.join("rounds.arrow"));
    assert!(batches.len() > 1, "streamed in batches");
    let mut rounds = Vec::new();
    let mut rewards = 0.0;
    for b in &batches {
        rounds.extend(
            column::<arrow_array::UInt32Array>(b, "round")
                .values()
                .iter()
                .copied(),
        );
        let r = column::<arrow_array::Float64Array>(b, "reward_tokens");
        assert_eq!(
            arrow_array::Array::null_count(r),
            0,
            "every round has its economy row"
        );
        rewards += r.values().iter().sum::<f64>();
    }
    assert_eq!(rounds, (0..70_000).collect::<Vec<u32>>());
    let emitted: f64 = f64_col(&read_arrow(&out.join("epochs.arrow"))[0], "emission_tokens")
        .iter()
        .sum();
    assert!(emitted > 0.0);
    assert!(
        (rewards - emitted).abs() < 1e-6 * emitted,
        "{rewards} vs {emitted}"
    );
    assert_eq!(run_json(&out)["summary"]["rounds"]["rounds"], 70_000);
}

#[test]
fn a_run_that_closes_no_round_still_writes_its_tables() {
    // The horizon ends before the first round and the first block.
    let out = scratch("cli-empty-tables");
    run_ok(
        "scenarios/reward-curves.yaml",
        &out,
        &["--set", "horizon=5s"],
        &[],
    );
    let rows = |t: &str| -> usize {
        read_arrow(&out.join(format!("{t}.arrow")))
            .iter()
            .map(|b| b.num_rows())
            .sum()
    };
    for t in ["rounds", "blocks", "epochs"] {
        assert_eq!(rows(t), 0, "{t}");
    }
    assert!(rows("ledger") > 0, "the genesis entries");
    assert_eq!(run_json(&out)["summary"]["rounds"]["rounds"], 0);
}

#[cfg(unix)]
#[test]
fn planted_symlinks_at_temporary_names_are_never_followed() {
    // A `.rounds.arrow.partial` (or `.run.json.partial`) symlink made the
    // run overwrite a file outside the output folder.
    let dir = scratch("cli-symlinks");
    let victim = dir.join("precious.txt");
    std::fs::write(&victim, "precious").unwrap();
    let out = dir.join("out");
    std::fs::create_dir_all(&out).unwrap();
    for name in [
        ".rounds.arrow.partial",
        ".run.json.partial",
        ".nodes.arrow.partial",
    ] {
        std::os::unix::fs::symlink(&victim, out.join(name)).unwrap();
    }
    run_ok("scenarios/quickstart.yaml", &out, &[], &[]);
    assert_eq!(std::fs::read_to_string(&victim).unwrap(), "precious");
    for name in ["rounds.arrow", "run.json", "nodes.arrow"] {
        let meta = std::fs::symlink_metadata(out.join(name)).unwrap();
        assert!(meta.is_file(), "{name} is a regular file");
    }
    assert!(!out.join(".rounds.arrow.partial").exists());
}

#[test]
fn run_json_records_the_command_and_warns_of_an_empty_epochs_table() {
    let out = scratch("cli-command").join("out");
    let o = dmlsim(
        &[
            "run",
            "scenarios/reward-curves.yaml",
            "--out",
            out.to_str().unwrap(),
            "-q",
            "--set",
            "horizon=30m",
        ],
        &[],
    );
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{stderr}");
    // The horizon ends before the first (hourly) epoch: said, not silent.
    assert!(stderr.contains("no epoch settled"), "{stderr}");
    let info = run_json(&out);
    assert!(
        info["warnings"][0]
            .as_str()
            .unwrap()
            .contains("no epoch settled")
    );
    let command: Vec<&str> = info["command"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert_eq!(command[1..3], ["run", "scenarios/reward-curves.yaml"]);
    assert!(command.contains(&"horizon=30m"));
    assert_eq!(info["inputs"][0]["name"], "scenarios/reward-curves.yaml");
    assert_eq!(info["inputs"][0]["sha256"], info["scenario_sha256"]);
}
