//! Agents and the compute market end to end: caps, stake and rule
//! breaches enforced with their ledger entries, venue choices that agree
//! with the agents' own accounting, nodes never over their slots, jobs
//! sharing a link max-min fairly, and conservation with purchases and
//! agent slashing.

use super::economics::{dict_strings, replay_and_check};
use super::support::*;
use arrow_array::{
    Array, Decimal128Array, Float64Array, Int64Array, StringArray, UInt32Array, UInt64Array,
};
use std::collections::BTreeMap;
use std::path::Path;

/// The rows of `jobs.arrow` a test reads.
struct Jobs {
    population: Vec<String>,
    venue: Vec<String>,
    reason: Vec<String>,
    outcome: Vec<String>,
    price: Vec<Option<f64>>,
    paid_tokens: Vec<f64>,
    pflop: Vec<f64>,
    network_cost: Vec<Option<f64>>,
    cloud_cost: Vec<f64>,
    providers: Vec<Vec<u32>>,
    t_decided: Vec<f64>,
    t_end: Vec<Option<f64>>,
    paid: Vec<i128>,
}

fn strings(b: &arrow_array::RecordBatch, name: &str) -> Vec<String> {
    dict_strings(b.column_by_name(name).unwrap().as_ref())
        .into_iter()
        .map(|s| s.unwrap())
        .collect()
}

fn opt_f64(b: &arrow_array::RecordBatch, name: &str) -> Vec<Option<f64>> {
    let a = column::<Float64Array>(b, name);
    (0..a.len())
        .map(|i| a.is_valid(i).then(|| a.value(i)))
        .collect()
}

fn read_jobs(out: &Path) -> Jobs {
    let b = &read_arrow(&out.join("jobs.arrow"))[0];
    Jobs {
        population: strings(b, "population"),
        venue: strings(b, "venue"),
        reason: strings(b, "reason"),
        outcome: strings(b, "outcome"),
        price: opt_f64(b, "price_tokens_per_pflop"),
        paid_tokens: f64_col(b, "paid_tokens"),
        pflop: f64_col(b, "pflop"),
        network_cost: opt_f64(b, "network_cost_usd"),
        cloud_cost: f64_col(b, "cloud_cost_usd"),
        providers: column::<StringArray>(b, "providers")
            .iter()
            .map(|s| {
                s.unwrap()
                    .split_whitespace()
                    .map(|n| n.parse().unwrap())
                    .collect()
            })
            .collect(),
        t_decided: f64_col(b, "t_decided_s"),
        t_end: opt_f64(b, "t_end_s"),
        paid: column::<Decimal128Array>(b, "paid").values().to_vec(),
    }
}

/// The shipped agent market, traced and checked, run once for the tests
/// that read it.
fn agent_market() -> &'static Path {
    static OUT: std::sync::OnceLock<std::path::PathBuf> = std::sync::OnceLock::new();
    OUT.get_or_init(|| {
        let out = scratch("market-agent-market");
        run_ok(
            "scenarios/agent-market.yaml",
            &out,
            &["--trace", "--check"],
            &[],
        );
        out
    })
}

#[test]
fn agents_never_pay_above_their_caps_and_choose_by_their_own_accounting() {
    let j = read_jobs(agent_market());
    let caps = BTreeMap::from([("lab", 0.02), ("enterprise", 0.03), ("defaulter", 0.02)]);
    let mut network = 0;
    for i in 0..j.venue.len() {
        if j.venue[i] == "network" {
            network += 1;
            let cap = caps[j.population[i].as_str()];
            let price = j.price[i].unwrap();
            assert!(price <= cap, "job {i} awarded {price} over the cap {cap}");
            assert!(j.paid_tokens[i] <= cap * j.pflop[i] * (1.0 + 1e-12));
        }
        match j.reason[i].as_str() {
            "network_cheaper" => assert!(j.network_cost[i].unwrap() < j.cloud_cost[i]),
            "cloud_cheaper" => assert!(j.network_cost[i].unwrap() >= j.cloud_cost[i]),
            _ => {}
        }
    }
    // The run is a real market: both venues win work.
    assert!(network > 100 && network < j.venue.len() - 100, "{network}");
    // Finished network jobs were paid for every round their providers delivered.
    let finished_paid = (0..j.venue.len())
        .filter(|&i| j.venue[i] == "network" && j.outcome[i] == "finished")
        .all(|i| j.paid[i] > 0);
    assert!(finished_paid);
}

#[test]
fn an_agent_without_stake_never_deploys() {
    let j = read_jobs(agent_market());
    let unstaked: Vec<usize> = (0..j.venue.len())
        .filter(|&i| j.population[i] == "unstaked")
        .collect();
    assert!(unstaked.len() > 50);
    for i in unstaked {
        assert_eq!(j.venue[i], "cloud");
        assert_eq!(j.reason[i], "no_stake");
        assert_eq!(j.paid[i], 0);
    }
}

#[test]
fn rule_breaking_agents_are_slashed_with_their_ledger_entry_and_barred() {
    let out = agent_market();
    let j = read_jobs(out);
    let o = &read_arrow(&out.join("offences.arrow"))[0];
    let kinds = strings(o, "kind");
    let party = strings(o, "party");
    let jobs = column::<Int64Array>(o, "job");
    let seqs = column::<Int64Array>(o, "ledger_seq");
    let penalty = column::<Decimal128Array>(o, "penalty");
    let agent_rows: Vec<usize> = (0..o.num_rows()).filter(|&r| party[r] == "agent").collect();
    let found: Vec<&str> = agent_rows.iter().map(|&r| kinds[r].as_str()).collect();
    assert_eq!(found, ["price_cap_breach", "payment_default"]);
    // The ledger entry each row names is the slash of half the 200-token deposit.
    let ledger = &read_arrow(&out.join("ledger.arrow"))[0];
    let seq = column::<UInt64Array>(ledger, "seq");
    let lkind = strings(ledger, "kind");
    let from = dict_strings(ledger.column_by_name("from").unwrap().as_ref());
    let amount = column::<Decimal128Array>(ledger, "amount");
    for (&r, who) in agent_rows.iter().zip(["overspender", "defaulter"]) {
        let s = seqs.value(r) as u64;
        let e = (0..ledger.num_rows()).find(|&e| seq.value(e) == s).unwrap();
        assert_eq!(lkind[e], "slash");
        assert_eq!(from[e].as_deref(), Some(who));
        assert_eq!(amount.value(e), penalty.value(r));
        assert_eq!(penalty.value(r), 100 * 10i128.pow(18));
        // Barred: none of the agent's later jobs reaches the network.
        let job = jobs.value(r) as usize;
        let expected = if who == "overspender" {
            "refused"
        } else {
            "aborted_default"
        };
        assert_eq!(j.outcome[job], expected);
        for later in job + 1..j.venue.len() {
            if j.population[later] == who {
                assert_eq!(j.reason[later], "barred");
            }
        }
    }
    // Conservation holds at every block with agents' purchases and slashes.
    replay_and_check(out);
}

#[test]
fn a_node_never_trains_more_jobs_than_its_slots() {
    let out = agent_market();
    let j = read_jobs(out);
    // Market leases per node, as [decided, end) intervals.
    let mut leases: BTreeMap<u32, Vec<(f64, f64)>> = BTreeMap::new();
    for i in 0..j.venue.len() {
        if j.venue[i] == "network" {
            let end = j.t_end[i].unwrap_or(f64::INFINITY);
            for &n in &j.providers[i] {
                leases.entry(n).or_default().push((j.t_decided[i], end));
            }
        }
    }
    assert!(!leases.is_empty());
    for spans in leases.values_mut() {
        spans.sort_by(|a, b| a.0.total_cmp(&b.0));
        for w in spans.windows(2) {
            assert!(w[0].1 <= w[1].0, "overlapping leases {w:?}");
        }
    }
    // The protocol's own job never moves a model to or from a leased node.
    let t = &read_arrow(&out.join("transfers.arrow"))[0];
    let job = column::<UInt32Array>(t, "job");
    let src = column::<Int64Array>(t, "src");
    let dst = column::<Int64Array>(t, "dst");
    let (start, end) = (f64_col(t, "start_s"), f64_col(t, "end_s"));
    let mut checked = 0;
    for r in 0..t.num_rows() {
        if job.value(r) != 0 {
            continue;
        }
        let node = src.value(r).max(dst.value(r)) as u32;
        for &(from, to) in leases.get(&node).into_iter().flatten() {
            assert!(
                end[r] <= from || start[r] >= to,
                "node {node} trained the protocol's job while leased"
            );
            checked += 1;
        }
    }
    assert!(checked > 0);
}

/// A tiny market: one always-on node per agent, a 100 Mbit/s aggregator
/// uplink, and `agents` agents whose one job each arrives at 1h and starts
/// when its 5-minute order closes. Returns the market jobs' broadcast
/// durations (s).
fn broadcast_times(agents: u32, name: &str) -> Vec<f64> {
    let agent = |i: u32| {
        format!(
            "    - {{ name: a{i}, tokens: 1000, stake: 10, budget_usd: 1000,
        jobs: {{ every: 1h, poisson: false, rounds: 1, clients: 1, pflop_per_client_round: 0.001,
                model_bytes: 100 MB, update_bytes: 1 MB, value_usd: 100 }} }}\n"
        )
    };
    let text = format!(
        "name: link-share
seed: 3
horizon: 3h
regions: [{{ name: r, utc_offset_h: 0, electricity_usd_per_kwh: 0.1 }}]
network: {{ latency_ms: [[10]] }}
profiles:
  - name: box
    gpu: {{ name: G, tflops: 100, memory_gb: 24, watts: 300, efficiency: 0.5 }}
    link: {{ up_mbps: 1000, down_mbps: 1000 }}
    availability: always_on
populations: [{{ profile: box, count: {agents}, regions: {{ r: 1.0 }} }}]
aggregator: {{ region: r, up_mbps: 100, down_mbps: 10000 }}
rounds: {{ count: 1, clients_per_round: 1, deadline: 10m, model_bytes: 1 MB, client_flops: 1.0e9 }}
economics:
  block_time: 12s
  epoch: 1h
  emission: {{ constant: {{ per_epoch: 10 }} }}
  split: {{ compute: 1.0, data: 0.0, validators: 0.0, treasury: 0.0 }}
  fees: {{ tokens_per_pflop: 0 }}
  staking: {{ min_stake: 1, unbonding: 1d }}
  genesis: {{ holders: [], job_owner: 10, per_operator: 10 }}
  token_price: {{ constant: {{ usd: 1.0 }} }}
  cloud: {{ gpu: H100, tflops: 989, efficiency: 0.4, usd_per_gpu_hour: 1000 }}
market:
  until: 2h
  mechanism: {{ reverse_auction: {{}} }}
  agents:
{}",
        (0..agents).map(agent).collect::<String>()
    );
    let dir = scratch(name);
    let path = dir.join("scenario.yaml");
    std::fs::write(&path, text).unwrap();
    let out = dir.join("out");
    run_ok(path.to_str().unwrap(), &out, &["--trace"], &[]);
    let t = &read_arrow(&out.join("transfers.arrow"))[0];
    let job = column::<UInt32Array>(t, "job");
    let kind = strings(t, "kind");
    let (start, end) = (f64_col(t, "start_s"), f64_col(t, "end_s"));
    (0..t.num_rows())
        .filter(|&r| job.value(r) > 0 && kind[r] == "broadcast")
        .map(|r| end[r] - start[r])
        .collect()
}

#[test]
fn two_jobs_contending_for_one_link_get_max_min_shares() {
    // Alone, 100 MB over the 100 Mbit/s uplink takes 8 s (+10 ms latency);
    // two jobs' broadcasts starting together get 50 Mbit/s each: 16 s.
    let alone = broadcast_times(1, "market-link-alone");
    assert_eq!(alone.len(), 1);
    assert!((alone[0] - 8.01).abs() < 1e-6, "{alone:?}");
    let shared = broadcast_times(2, "market-link-shared");
    assert_eq!(shared.len(), 2);
    for d in shared {
        assert!((d - 16.01).abs() < 1e-6, "{d}");
    }
}

/// The shipped agent market with exactly one occurrence of `from` replaced.
fn market_variant(from: &str, to: &str) -> String {
    let text = std::fs::read_to_string(repo().join("scenarios/agent-market.yaml")).unwrap();
    assert_eq!(text.matches(from).count(), 1, "`{from}` must occur once");
    text.replacen(from, to, 1)
}

#[test]
fn bad_market_sections_are_reported_with_path_and_line() {
    let cases = [
        (
            "market-stake-over-tokens",
            "      count: 6\n      tokens: 100000\n      stake: 1000\n",
            "      count: 6\n      tokens: 100000\n      stake: 200000\n",
            "market.agents[1].stake",
            "stake: 200000",
            "expected a value in [0, 100000], found 200000",
        ),
        (
            "market-zero-clients",
            "rounds: 40, clients: 32,",
            "rounds: 40, clients: 0,",
            "market.agents[1].jobs.clients",
            "clients: 0",
            "expected 1 to 100000 clients, found 0",
        ),
        (
            "market-share-over-one",
            "max_budget_share: 0.5",
            "max_budget_share: 1.5",
            "market.agents[0].rules.max_budget_share",
            "max_budget_share: 1.5",
            "expected a value in (0, 1], found 1.5",
        ),
        (
            "market-unknown-mechanism",
            "mechanism: { reverse_auction: { payment: first_price } }",
            "mechanism: { dutch_auction: {} }",
            "market.mechanism.dutch_auction",
            "dutch_auction",
            "unknown variant `dutch_auction`",
        ),
        (
            "market-duplicate-agents",
            "    - name: enterprise\n",
            "    - name: lab # again\n",
            "market.agents[1].name",
            "lab # again",
            "duplicate name `lab`",
        ),
        (
            "market-too-many-jobs",
            "      count: 24\n",
            "      count: 2400\n",
            "market.agents",
            "agents:",
            "at most 50000 are supported",
        ),
    ];
    for (name, from, to, path, marker, expect) in cases {
        expect_problem(name, &market_variant(from, to), path, marker, expect);
    }
    // Without any cloud baseline the market is refused at `market`.
    let text = market_variant(
        "  cloud:\n    gpu: H100 SXM\n    tflops: 989\n    efficiency: 0.4\n    usd_per_gpu_hour: 4.92\n    egress_usd_per_gb: 0.09\n    staging_usd_per_gb: 0.09\n",
        "",
    );
    expect_problem(
        "market-without-cloud",
        &text.replace("\nmarket:\n", "\nmarket: # here\n"),
        "market",
        "market: # here",
        "a market needs an `economics` section with a `cloud` baseline",
    );
}

#[test]
fn the_market_runs_are_byte_identical_and_the_summary_reports_the_share() {
    let out = agent_market();
    let again = scratch("market-agent-market-again");
    run_ok("scenarios/agent-market.yaml", &again, &["--trace"], &[]);
    for table in ["jobs", "epochs", "ledger", "offences", "transfers", "nodes"] {
        let a = std::fs::read(out.join(format!("{table}.arrow"))).unwrap();
        let b = std::fs::read(again.join(format!("{table}.arrow"))).unwrap();
        assert!(a == b, "{table}.arrow differs between two runs");
    }
    let m = &run_json(out)["summary"]["market"];
    let (network, jobs) = (
        m["network_jobs"].as_f64().unwrap(),
        m["jobs"].as_f64().unwrap(),
    );
    assert!(network > 0.0 && m["cloud_jobs"].as_f64().unwrap() > 0.0);
    let share = m["network_share"].as_f64().unwrap();
    // Every order closes before the run ends: all jobs were decided.
    assert!((share - network / jobs).abs() < 1e-12, "{m}");
    assert_eq!(m["agent_offences"], 2);
}

#[test]
fn a_double_auction_clears_hourly_at_one_price_within_the_caps() {
    let out = run_with_sets(
        "scenarios/agent-market.yaml",
        "market-double-auction",
        &["market.mechanism={double_auction: {every: 1h}}"],
    );
    let j = read_jobs(&out);
    let mut price_at: BTreeMap<u64, f64> = BTreeMap::new();
    let mut network = 0;
    for i in 0..j.venue.len() {
        if j.venue[i] != "network" && j.reason[i] != "rule_breach" {
            continue;
        }
        let t = j.t_decided[i];
        // Orders wait for the hourly clearing.
        assert_eq!(t % 3600.0, 0.0, "job {i} decided at {t}");
        let price = j.price[i].unwrap();
        let same = *price_at.entry(t as u64).or_insert(price);
        assert_eq!(same, price, "two prices in the clearing at {t}");
        if j.venue[i] == "network" {
            network += 1;
            let cap = if j.population[i] == "enterprise" {
                0.03
            } else {
                0.02
            };
            assert!(price <= cap, "job {i}: {price} over {cap}");
        }
    }
    assert!(network > 50, "{network}");
    // The overspender's doubled bid cleared above its cap: refused, slashed.
    assert!(j.outcome.iter().any(|o| o == "refused"));
    replay_and_check(&out);
}

#[test]
fn a_posted_price_is_what_every_network_job_pays() {
    let out = run_with_sets(
        "scenarios/agent-market.yaml",
        "market-posted-price",
        &["market.mechanism={posted_price: {tokens_per_pflop: 0.015}}"],
    );
    let j = read_jobs(&out);
    let mut network = 0;
    for i in 0..j.venue.len() {
        if j.venue[i] == "network" {
            network += 1;
            assert!((j.price[i].unwrap() - 0.015).abs() < 1e-15, "job {i}");
            if j.outcome[i] == "finished" {
                let expected = 0.015 * j.pflop[i];
                assert!(
                    (j.paid_tokens[i] - expected).abs() < 1e-9 * expected,
                    "job {i}"
                );
            }
        }
        // Enterprises' cap (0.03) admits the price; the overspender's 0.006 does not.
        if j.population[i] == "overspender" {
            assert_ne!(j.venue[i], "network");
        }
    }
    // At 0.015 tokens ($0.003) per PFLOP few labs find the network cheaper
    // once staging and egress are counted; some do.
    assert!(network > 5, "{network}");
}

#[test]
fn a_market_cut_by_the_horizon_says_so_and_keeps_its_running_jobs() {
    let out = run_with_sets(
        "scenarios/agent-market.yaml",
        "market-horizon",
        &["horizon=36h"],
    );
    assert_eq!(run_json(&out)["stopped_by"], "horizon");
    let j = read_jobs(&out);
    let running: Vec<usize> = (0..j.outcome.len())
        .filter(|&i| j.outcome[i] == "running")
        .collect();
    assert!(!running.is_empty());
    for i in running {
        assert_eq!(j.venue[i], "network");
        assert_eq!(j.t_end[i], None);
    }
}

#[test]
fn a_token_pool_moves_the_price_with_operators_sales_agents_and_outside_buyers() {
    let final_price = |name: &str, args: &str| {
        let amm = format!(
            "economics.token_price={{amm: {{initial_usd: 0.2, pool_tokens: 500000, {args}}}}}"
        );
        let out = run_with_sets("scenarios/agent-market.yaml", name, &[&amm]);
        replay_and_check(&out);
        let e = &read_arrow(&out.join("epochs.arrow"))[0];
        let p = f64_col(e, "token_price_usd");
        assert!((p[0] - 0.2).abs() < 0.01, "{name}: starts at {}", p[0]);
        *p.last().unwrap()
    };
    // Agents alone buy the tokens they pay with: the price rises a little.
    let agents = final_price("market-amm-agents", "operator_sell_fraction: 0");
    assert!(agents > 0.2, "{agents}");
    // Operators selling half their rewards push it down.
    let selling = final_price("market-amm-selling", "operator_sell_fraction: 0.5");
    assert!(selling < 0.2 && selling < agents, "{selling}");
    // Outside buyers spending $2,000 a day push it up.
    let buying = final_price(
        "market-amm-buying",
        "operator_sell_fraction: 0.5, exogenous_buy_usd_per_epoch: 2000",
    );
    assert!(buying > agents, "{buying}");
}

#[test]
fn an_agent_that_prices_its_time_sends_slow_network_jobs_to_the_cloud() {
    // Labs win on the network by cents but wait ~45 minutes for it against
    // the cloud's ~3: at $1 an hour of waiting, the cloud is cheaper.
    let out = run_with_sets(
        "scenarios/agent-market.yaml",
        "market-time",
        &["market.agents[0].jobs.usd_per_hour=1"],
    );
    let b = &read_arrow(&out.join("jobs.arrow"))[0];
    let j = read_jobs(&out);
    let est = opt_f64(b, "network_time_est_s");
    let cloud_time = f64_col(b, "cloud_time_s");
    let mut labs = 0;
    for i in 0..j.venue.len() {
        if j.population[i] != "lab" || j.network_cost[i].is_none() {
            continue;
        }
        labs += 1;
        assert_eq!(j.venue[i], "cloud");
        let wait = (est[i].unwrap() - cloud_time[i]) / 3600.0;
        // The network was cheaper in USD alone, or lost on both counts.
        assert!(
            j.network_cost[i].unwrap() + wait >= j.cloud_cost[i],
            "job {i}"
        );
    }
    assert!(labs > 100, "{labs}");
}
