//! The data market end to end: poisoned data caught at the documented rate
//! and slashed with its ledger entries, datasets staged from their hosts as
//! real flows before round 0, storage and relay rewards that match the
//! bytes hosted and served, and conservation with data purchases.

use super::economics::{dict_strings, replay_and_check};
use super::support::*;
use arrow_array::{Array, Decimal128Array, Int64Array, StringArray, UInt32Array, UInt64Array};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

fn strings(b: &arrow_array::RecordBatch, name: &str) -> Vec<String> {
    let a = b.column_by_name(name).unwrap();
    match a.as_any().downcast_ref::<StringArray>() {
        Some(s) => s.iter().map(|x| x.unwrap_or("").to_string()).collect(),
        None => dict_strings(a.as_ref())
            .into_iter()
            .map(|s| s.unwrap_or_default())
            .collect(),
    }
}

fn opt_i64(b: &arrow_array::RecordBatch, name: &str) -> Vec<Option<i64>> {
    let a = column::<Int64Array>(b, name);
    (0..a.len())
        .map(|i| a.is_valid(i).then(|| a.value(i)))
        .collect()
}

/// A small always-on data market: 40 nodes with 100 Mbit/s uplinks, two
/// providers (`a`: 1 GB on 2 hosts, `b`: 2 GB on 3 hosts), one epoch of
/// 1 day; `agents` is the YAML of the agent list, `providers_a` replaces
/// provider `a`'s extra fields.
fn tiny_market(name: &str, detection: f64, poisoned_a: u32, agents: &str) -> PathBuf {
    let text = format!(
        "name: data-tiny
seed: 5
horizon: 2d
regions: [{{ name: r, utc_offset_h: 0, electricity_usd_per_kwh: 0.1 }}]
network: {{ latency_ms: [[10]] }}
profiles:
  - name: box
    gpu: {{ name: G, tflops: 100, memory_gb: 24, watts: 300, efficiency: 0.5 }}
    link: {{ up_mbps: 100, down_mbps: 1000 }}
    availability: always_on
populations: [{{ profile: box, count: 40, regions: {{ r: 1.0 }} }}]
aggregator: {{ region: r, up_mbps: 10000, down_mbps: 10000 }}
rounds: {{ count: 1, clients_per_round: 1, deadline: 10m, model_bytes: 1 MB, client_flops: 1.0e9 }}
economics:
  block_time: 12s
  epoch: 1d
  emission: {{ constant: {{ per_epoch: 1000 }} }}
  split: {{ compute: 0.5, data: 0.2, storage: 0.1, relay: 0.1, treasury: 0.1 }}
  fees: {{ tokens_per_pflop: 0 }}
  staking: {{ min_stake: 1, unbonding: 1d }}
  genesis: {{ holders: [], job_owner: 10, per_operator: 10 }}
  token_price: {{ constant: {{ usd: 1.0 }} }}
  cloud: {{ gpu: H100, tflops: 989, efficiency: 0.4, usd_per_gpu_hour: 4 }}
market:
  until: 20h
  mechanism: {{ reverse_auction: {{}} }}
  data:
    detection: {detection}
    provider_slash_fraction: 0.01
    providers:
      - {{ name: a, poisoned: {poisoned_a}, tokens: 1000, stake: 1000, dataset_bytes: 1 GB, replicas: 2, price: {{ per_use: 3 }} }}
      - {{ name: b, tokens: 1000, stake: 1000, dataset_bytes: 2 GB, replicas: 3, price: {{ per_use: 4 }} }}
  agents:
{agents}"
    );
    let dir = scratch(name);
    let path = dir.join("scenario.yaml");
    std::fs::write(&path, text).unwrap();
    let out = dir.join("out");
    run_ok(path.to_str().unwrap(), &out, &["--trace"], &[]);
    out
}

/// Agents that only rent the cloud, buying dataset `a` every 5 minutes.
const CLOUD_BUYERS: &str = "    - { name: x, count: 4, tokens: 100000, budget_usd: 1.0e9, policy: cloud_only,
        jobs: { every: 5m, poisson: false, rounds: 1, clients: 1, pflop_per_client_round: 0.01, model_bytes: 1 MB, dataset: a, value_usd: 1.0e6 } }
";

/// Agents that train on the network, on datasets `a` and `b`.
const NETWORK_BUYERS: &str = "    - { name: x, count: 2, tokens: 100000, stake: 10, budget_usd: 1.0e9, policy: network_only,
        jobs: { every: 3h, poisson: false, rounds: 2, clients: 4, pflop_per_client_round: 0.01, model_bytes: 10 MB, dataset: a, value_usd: 1.0e6 } }
    - { name: y, count: 2, tokens: 100000, stake: 10, budget_usd: 1.0e9, policy: network_only,
        jobs: { every: 4h, poisson: false, rounds: 2, clients: 5, pflop_per_client_round: 0.01, model_bytes: 10 MB, dataset: b, value_usd: 1.0e6 } }
";

/// The ledger rows a test reads.
struct Ledger {
    seq: Vec<u64>,
    kind: Vec<String>,
    from: Vec<Option<String>>,
    to: Vec<Option<String>>,
    amount: Vec<i128>,
    memo: Vec<String>,
}

fn read_ledger(out: &Path) -> Ledger {
    let b = &read_arrow(&out.join("ledger.arrow"))[0];
    Ledger {
        seq: column::<UInt64Array>(b, "seq").values().to_vec(),
        kind: strings(b, "kind"),
        from: dict_strings(b.column_by_name("from").unwrap().as_ref()),
        to: dict_strings(b.column_by_name("to").unwrap().as_ref()),
        amount: column::<Decimal128Array>(b, "amount").values().to_vec(),
        memo: strings(b, "memo"),
    }
}

#[test]
fn poisoned_data_is_caught_at_the_documented_rate_and_slashed() {
    let out = tiny_market("data-poison-rate", 0.7, 1, CLOUD_BUYERS);
    let d = &read_arrow(&out.join("datasets.arrow"))[0];
    let challenges = column::<UInt32Array>(d, "challenges").value(0);
    let detected = column::<UInt32Array>(d, "detected").value(0);
    let sales = column::<UInt32Array>(d, "sales").value(0);
    // 4 agents × 239 jobs (every 5 minutes from 5m, before 20h), each
    // challenging the one listing of `a`.
    assert_eq!(challenges, 956);
    assert_eq!(challenges, detected + sales);
    let rate = f64::from(detected) / f64::from(challenges);
    // Binomial(956, 0.7): σ ≈ 0.0148; 4σ either side.
    assert!((rate - 0.7).abs() < 0.06, "caught {rate}");
    // Each catch drops the job (no clean data left) and slashes 1% of the
    // provider's stake to the treasury, with its ledger entry.
    let j = &read_arrow(&out.join("jobs.arrow"))[0];
    let reasons = strings(j, "reason");
    let no_data = reasons.iter().filter(|r| *r == "no_clean_data").count();
    assert_eq!(no_data, detected as usize);
    let poisoned = column::<arrow_array::BooleanArray>(j, "data_poisoned");
    assert_eq!(
        (0..poisoned.len()).filter(|&i| poisoned.value(i)).count(),
        sales as usize
    );
    let o = &read_arrow(&out.join("offences.arrow"))[0];
    let party = strings(o, "party");
    let seq = opt_i64(o, "ledger_seq");
    let penalty = column::<Decimal128Array>(o, "penalty");
    let l = read_ledger(&out);
    let mut stake: i128 = 1000 * 10i128.pow(18);
    let mut rows = 0;
    for r in 0..o.num_rows() {
        assert_eq!(party[r], "data_provider");
        let s = seq[r].unwrap() as u64;
        let e = l.seq.iter().position(|&x| x == s).unwrap();
        assert_eq!(l.kind[e], "slash");
        assert_eq!(l.memo[e], "data offence");
        assert_eq!(l.from[e].as_deref(), Some("a"));
        assert_eq!(l.to[e].as_deref(), Some("treasury"));
        assert_eq!(l.amount[e], penalty.value(r));
        assert_eq!(penalty.value(r), stake / 100);
        stake -= stake / 100;
        rows += 1;
    }
    assert_eq!(rows, detected);
    // Bounds of the probability: never caught at 0, always at 1.
    let never = tiny_market("data-poison-never", 0.0, 1, CLOUD_BUYERS);
    let d = &read_arrow(&never.join("datasets.arrow"))[0];
    assert_eq!(column::<UInt32Array>(d, "detected").value(0), 0);
    let always = tiny_market("data-poison-always", 1.0, 1, CLOUD_BUYERS);
    let d = &read_arrow(&always.join("datasets.arrow"))[0];
    assert_eq!(column::<UInt32Array>(d, "detected").value(0), 956);
    assert_eq!(column::<UInt32Array>(d, "sales").value(0), 0);
}

/// Each account's rewards under `memo`, base units.
fn rewards_by_account(l: &Ledger, memo: &str) -> BTreeMap<String, i128> {
    let mut by = BTreeMap::new();
    for i in 0..l.kind.len() {
        if l.kind[i] == "reward" && l.memo[i] == memo {
            *by.entry(l.to[i].clone().unwrap()).or_default() += l.amount[i];
        }
    }
    by
}

/// Checks that `paid` splits like `weights` (by account), to within a few
/// base units (each node's part is floor-rounded).
fn assert_pro_rata(paid: &BTreeMap<String, i128>, weights: &BTreeMap<String, u128>, what: &str) {
    let total_paid: i128 = paid.values().sum();
    let total_w: u128 = weights.values().sum();
    assert!(total_paid > 0 && total_w > 0, "{what}: nothing paid");
    assert_eq!(
        paid.keys().collect::<Vec<_>>(),
        weights.keys().collect::<Vec<_>>(),
        "{what}: paid accounts"
    );
    for (account, &w) in weights {
        // Floats carry 16 digits: allow a part in 10^12 of the total.
        let expected = total_paid as f64 * w as f64 / total_w as f64;
        let got = paid[account] as f64;
        assert!(
            (got - expected).abs() <= 5.0 + total_paid as f64 * 1e-12,
            "{what}: {account} got {got}, expected {expected}"
        );
    }
}

#[test]
fn datasets_are_staged_from_their_hosts_and_hosts_earn_by_bytes() {
    let out = tiny_market("data-staging", 0.8, 0, NETWORK_BUYERS);
    let d = &read_arrow(&out.join("datasets.arrow"))[0];
    let hosts: Vec<Vec<u32>> = strings(d, "hosts")
        .iter()
        .map(|h| h.split_whitespace().map(|n| n.parse().unwrap()).collect())
        .collect();
    let bytes = column::<UInt64Array>(d, "dataset_bytes");
    assert_eq!(hosts[0].len(), 2);
    assert_eq!(hosts[1].len(), 3);
    let n = &read_arrow(&out.join("nodes.arrow"))[0];
    let operator = column::<UInt32Array>(n, "operator_id");
    let op_name = |node: u32| format!("operator-{}", operator.value(node as usize));
    // Every network job's clients first download a shard of its dataset
    // from one of its provider's hosts, then round 0's model.
    let j = &read_arrow(&out.join("jobs.arrow"))[0];
    let provider = opt_i64(j, "data_provider_id");
    let venue = strings(j, "venue");
    let providers: Vec<Vec<u32>> = strings(j, "providers")
        .iter()
        .map(|h| h.split_whitespace().map(|n| n.parse().unwrap()).collect())
        .collect();
    let t = &read_arrow(&out.join("transfers.arrow"))[0];
    let (job, round) = (
        column::<UInt32Array>(t, "job"),
        column::<UInt32Array>(t, "round"),
    );
    let kind = strings(t, "kind");
    let (src, dst) = (opt_i64(t, "src"), opt_i64(t, "dst"));
    let moved = column::<UInt64Array>(t, "bytes_moved");
    let (start, end) = (f64_col(t, "start_s"), f64_col(t, "end_s"));
    let mut served: BTreeMap<String, u128> = BTreeMap::new();
    let mut market_job = 0u32;
    for i in 0..venue.len() {
        if venue[i] != "network" {
            continue;
        }
        market_job += 1;
        let p = provider[i].unwrap() as usize;
        let shard = bytes.value(p) / providers[i].len() as u64;
        for &client in &providers[i] {
            let rows: Vec<usize> = (0..t.num_rows())
                .filter(|&r| job.value(r) == market_job && round.value(r) == 0)
                .filter(|&r| dst[r] == Some(i64::from(client)))
                .collect();
            let stage = rows.iter().find(|&&r| kind[r] == "stage").copied();
            let stage = stage.unwrap_or_else(|| panic!("job {i}: no staging to {client}"));
            let host = src[stage].unwrap() as u32;
            assert!(hosts[p].contains(&host), "job {i}: {host} hosts nothing");
            let expected = if host == client { 0 } else { shard };
            assert_eq!(moved.value(stage), expected);
            let broadcast = rows.iter().find(|&&r| kind[r] == "broadcast").unwrap();
            assert!(start[*broadcast] >= end[stage], "model before the data");
            *served.entry(op_name(host)).or_default() += u128::from(expected);
        }
    }
    assert!(market_job >= 8, "{market_job} network jobs");
    let l = read_ledger(&out);
    // One epoch: storage pays by bytes hosted, relay by bytes served.
    let mut hosted: BTreeMap<String, u128> = BTreeMap::new();
    for (p, h) in hosts.iter().enumerate() {
        for &node in h {
            *hosted.entry(op_name(node)).or_default() += u128::from(bytes.value(p));
        }
    }
    let epochs = &read_arrow(&out.join("epochs.arrow"))[0];
    assert_eq!(epochs.num_rows(), 1, "the test assumes one epoch");
    assert_pro_rata(&rewards_by_account(&l, "storage"), &hosted, "storage");
    served.retain(|_, b| *b > 0);
    assert_pro_rata(&rewards_by_account(&l, "relay"), &served, "relay");
    // The data share follows the providers' sales.
    let sold: BTreeMap<String, u128> = strings(d, "provider")
        .into_iter()
        .zip(column::<Decimal128Array>(d, "sold").values())
        .map(|(name, &s)| (name, s as u128))
        .collect();
    assert_pro_rata(&rewards_by_account(&l, "data"), &sold, "data");
    replay_and_check(&out);
}

#[test]
fn the_data_market_conserves_supply_and_traces_purchases_to_the_ledger() {
    let out = scratch("data-market-shipped");
    run_ok("scenarios/data-market.yaml", &out, &["--check"], &[]);
    replay_and_check(&out);
    let l = read_ledger(&out);
    let j = &read_arrow(&out.join("jobs.arrow"))[0];
    let d = &read_arrow(&out.join("datasets.arrow"))[0];
    // Every token a job paid for data is a `data purchase` fee to its
    // provider, and each provider's sales add up to them.
    let names = strings(d, "provider");
    let mut by_provider: BTreeMap<String, i128> = BTreeMap::new();
    for i in 0..l.kind.len() {
        if l.memo[i] == "data purchase" {
            assert_eq!(l.kind[i], "fee");
            *by_provider.entry(l.to[i].clone().unwrap()).or_default() += l.amount[i];
        }
    }
    let sold = column::<Decimal128Array>(d, "sold");
    for (p, name) in names.iter().enumerate() {
        assert_eq!(
            by_provider.get(name).copied().unwrap_or(0),
            sold.value(p),
            "{name}"
        );
    }
    let paid: i128 = column::<Decimal128Array>(j, "data_paid")
        .values()
        .iter()
        .sum();
    assert_eq!(paid, by_provider.values().sum::<i128>());
    // The 50 GB set goes to the cloud, the 5 GB one mostly to the network.
    let population = strings(j, "population");
    let venue = strings(j, "venue");
    let share = |pop: &str| {
        let all = population.iter().filter(|p| *p == pop).count();
        let net = (0..venue.len())
            .filter(|&i| population[i] == pop && venue[i] == "network")
            .count();
        net as f64 / all as f64
    };
    assert!(share("vision-lab") < 0.1, "{}", share("vision-lab"));
    assert!(share("text-lab") > 0.5, "{}", share("text-lab"));
}

#[test]
fn bad_data_market_sections_are_reported_with_path_and_line() {
    let base = std::fs::read_to_string(repo().join("scenarios/data-market.yaml")).unwrap();
    let cases: [Mutation; 8] = [
        (
            "data-unknown-dataset",
            "dataset: text-5g, deadline: 1h",
            "dataset: text-9g, deadline: 1h",
            "market.agents[1].jobs.dataset",
            "dataset: text-9g",
            "no provider population `text-9g` in market.data.providers (it has: images-50g, text-5g)",
        ),
        (
            "data-dataset-and-bytes",
            "dataset: images-50g, deadline: 2h",
            "dataset: images-50g, data_bytes: 5 GB, deadline: 2h",
            "market.agents[0].jobs.data_bytes",
            "data_bytes: 5 GB",
            "give `dataset` or `data_bytes`, not both",
        ),
        (
            "data-too-many-poisoned",
            "count: 3, poisoned: 1",
            "count: 3, poisoned: 4",
            "market.data.providers[1].poisoned",
            "poisoned: 4",
            "expected at most the population's 3 providers, found 4",
        ),
        (
            "data-replicas-over-nodes",
            "replicas: 3,",
            "replicas: 3000,",
            "market.data.providers[0].replicas",
            "replicas: 3000",
            "3000 hosting nodes, but the node table and populations hold only 1000 nodes",
        ),
        (
            "data-detection-over-one",
            "detection: 0.8",
            "detection: 1.5",
            "market.data.detection",
            "detection: 1.5",
            "expected a value in [0, 1], found 1.5",
        ),
        (
            "data-split-over-one",
            "storage: 0.05, relay: 0.05",
            "storage: 0.05, relay: 0.5",
            "economics.split",
            "relay: 0.5",
            "shares must add up to 1",
        ),
        (
            "data-unknown-price",
            "price: { per_use: 40 }",
            "price: { per_year: 40 }",
            "market.data.providers[0].price.per_year",
            "per_year",
            "unknown variant `per_year`",
        ),
        (
            "data-provider-named-like-an-agent",
            "name: images-50g,",
            "name: vision-lab,",
            "market.data.providers[0].name",
            "name: vision-lab,",
            "would clash with another account",
        ),
    ];
    expect_mutations(&base, &cases);
}

#[test]
fn an_agent_resubmits_a_job_trained_nowhere_until_its_retries_run_out() {
    // Every challenge of `a` catches its poison: each job is dropped
    // (`no_clean_data`) and submitted again 30 minutes later, twice.
    let agents = "    - { name: x, count: 2, tokens: 100000, budget_usd: 1.0e9, policy: cloud_only,
        jobs: { every: 2h, poisson: false, rounds: 1, clients: 1, pflop_per_client_round: 0.01, model_bytes: 1 MB, dataset: a, value_usd: 1.0e6, retries: 2, retry_after: 30m } }
";
    let out = tiny_market("data-retries", 1.0, 1, agents);
    let j = &read_arrow(&out.join("jobs.arrow"))[0];
    let agent = column::<UInt32Array>(j, "agent_id");
    let attempt = column::<UInt32Array>(j, "attempt");
    let retry_of = opt_i64(j, "retry_of");
    let reason = strings(j, "reason");
    let (submit, decided) = (f64_col(j, "t_submit_s"), f64_col(j, "t_decided_s"));
    let mut resubmitted = vec![0; j.num_rows()];
    for i in 0..j.num_rows() {
        assert_eq!(reason[i], "no_clean_data");
        match retry_of[i] {
            None => assert_eq!(attempt.value(i), 0),
            Some(of) => {
                let of = of as usize;
                assert_eq!(agent.value(i), agent.value(of));
                assert_eq!(attempt.value(i), attempt.value(of) + 1);
                assert!((submit[i] - decided[of] - 1800.0).abs() < 1e-6);
                resubmitted[of] += 1;
            }
        }
    }
    // Each first and second attempt was resubmitted once (all before
    // `until`: the last new job comes at 18h, its retries at 18h35 and
    // 19h10); third attempts never.
    for (i, &n) in resubmitted.iter().enumerate() {
        let expected = usize::from(attempt.value(i) < 2);
        assert_eq!(n, expected, "job {i}");
    }
    // 2 agents × 9 new jobs (every 2h from 2h, before 20h), 3 attempts each.
    assert_eq!(j.num_rows(), 54);
}
