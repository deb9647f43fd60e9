//! The coordinating code without the CLI: the root's effect application, a
//! toy listener changing a parameter mid-run, the round state machine at a
//! deadline, and the chain's clock.

use super::*;
use crate::engine::{Kernel, StopReason};
use crate::params::ParamChange;
use crate::scenario::{LoadedScenario, parse_scenario};

/// The text of a lab scenario: ten identical always-on nodes, one per
/// operator, each moving 10 MB and computing 0.2 s per round (see
/// tests/it/timing.rs); `rounds` holds the rounds section's own lines
/// (count, clients, deadline, gap), `extra` any further sections.
pub(crate) fn lab_text(horizon: &str, rounds: &str, extra: &str) -> String {
    format!(
        r#"
name: lab
seed: 7
horizon: {horizon}
regions:
  - {{ name: lab, utc_offset_h: 0 }}
network:
  latency_ms: [[10]]
profiles:
  - name: box
    gpu: {{ name: test-gpu, tflops: 10, efficiency: 0.5 }}
    link: {{ up_mbps: 50, down_mbps: 200 }}
populations:
  - {{ profile: box, count: 10, regions: {{ lab: 1 }} }}
aggregator: {{ region: lab, up_mbps: 1000, down_mbps: 100 }}
rounds:
{rounds}
  model_bytes: 10 MB
  client_flops: 1.0e12
{extra}"#
    )
}

/// A lab scenario parsed, as if loaded from `lab.yaml`.
pub(crate) fn lab_loaded(text: String) -> LoadedScenario {
    LoadedScenario {
        scenario: parse_scenario(&text, "lab.yaml").expect("valid"),
        text,
        file: "lab.yaml".into(),
        dir: ".".into(),
        overrides: vec![],
    }
}

/// The lab with six rounds of `k` clients and a one-minute deadline.
fn lab(k: u32, extra: &str) -> LoadedScenario {
    lab_loaded(lab_text(
        "1h",
        &format!("  count: 6\n  clients_per_round: {k}\n  deadline: 1m"),
        extra,
    ))
}

type Sys = System<Box<dyn dmlsim_models::learning::Learner + Send>>;

fn system(loaded: &LoadedScenario) -> Sys {
    build(&loaded.scenario, loaded, false).expect("builds")
}

fn run(sys: &mut Sys, horizon: SimTime) -> (StopReason, Kernel<Event>) {
    let mut kernel = Kernel::new();
    sys.start(kernel.scheduler());
    let stop = kernel.run(sys, horizon, u64::MAX);
    (stop, kernel)
}

/// A policy in a few lines: after round `after` closes, rounds select `k`
/// clients.
struct ShrinkRounds {
    after: u32,
    k: u32,
}

impl Listener for ShrinkRounds {
    fn on_fact(&mut self, now: SimTime, fact: Fact<'_>, effects: &mut Vec<Effect>) {
        if let Fact::RoundClosed(r) = fact
            && r.round == self.after
        {
            effects.push(Effect::ChangeParam {
                from: now,
                change: ParamChange::ClientsPerRound(self.k),
            });
        }
    }
}

#[test]
fn a_listener_changes_a_parameter_and_later_rounds_see_it() {
    let loaded = lab(10, "");
    let mut sys = system(&loaded);
    sys.add_listener(Box::new(ShrinkRounds { after: 1, k: 4 }));
    run(&mut sys, SimTime::MAX);
    let selected: Vec<u32> = sys.job.records.iter().map(|r| r.selected).collect();
    assert_eq!(selected, vec![10, 10, 4, 4, 4, 4]);
    // The change is logged with the time it took effect: round 1's close.
    let history = sys.params.rounds.history();
    assert_eq!(history.len(), 2);
    assert_eq!(history[1].0, sys.job.records[1].t_end);
    assert_eq!(history[1].1.clients_per_round, 4);
}

/// Takes every operator out of the network when round 0 closes.
struct Evict;

impl Listener for Evict {
    fn on_fact(&mut self, _now: SimTime, fact: Fact<'_>, effects: &mut Vec<Effect>) {
        if let Fact::RoundClosed(r) = fact
            && r.round == 0
        {
            effects.extend((0..10).map(|operator| Effect::SetOperatorActive {
                operator,
                active: false,
            }));
        }
    }
}

#[test]
fn the_root_applies_effects_to_the_world_before_the_next_event() {
    let loaded = lab(10, "");
    let mut sys = system(&loaded);
    sys.add_listener(Box::new(Evict));
    let (stop, _) = run(&mut sys, SimTime::from_secs(600));
    // No operator is left: round 1 never finds a client and keeps retrying.
    assert_eq!(stop, StopReason::Horizon);
    assert_eq!(sys.job.rounds_done(), 1);
    assert!(sys.job.selection_retries > 0);
    assert!(sys.nodes.operator_active.iter().all(|a| !a));
}

#[test]
fn jailing_takes_the_latest_end_and_never_shortens() {
    let loaded = lab(10, "");
    let mut sys = system(&loaded);
    let t = |s| SimTime::from_secs(s);
    sys.effects.extend([
        Effect::JailOperator {
            operator: 3,
            until: t(100),
        },
        Effect::JailOperator {
            operator: 3,
            until: t(50),
        },
    ]);
    sys.apply_effects(SimTime::ZERO);
    assert_eq!(sys.nodes.operator_jailed_until[3], t(100));
    // A jailed node is offline until its jailing ends.
    assert_eq!(sys.nodes.online_until(3, t(99)), None);
    assert!(sys.nodes.online_until(3, t(100)).is_some());
}

#[test]
fn a_deadline_before_any_download_drops_every_client_with_partial_bytes() {
    // 10 × 10 MB through a 1 Gbit/s uplink takes 0.8 s; the deadline is 0.1 s.
    let mut loaded = lab(10, "");
    loaded.scenario.rounds.deadline = crate::scenario::Duration(SimTime(100_000_000));
    let mut sys = system(&loaded);
    run(&mut sys, SimTime::MAX);
    for r in &sys.job.records {
        assert_eq!((r.completed, r.dropped_late), (0, 10));
        assert_eq!(r.t_end.saturating_sub(r.t_start), SimTime(100_000_000));
        // Each download ran at 100 Mbit/s for 0.1 s: 1.25 MB moved of 10.
        assert_eq!(r.bytes_down, 10 * 1_250_000);
        assert_eq!(r.bytes_up, 0);
    }
}

#[test]
fn the_chain_seals_blocks_on_its_own_clock_and_stops_after_the_last_epoch() {
    let loaded = lab(
        4,
        r#"
economics:
  block_time: 12s
  epoch: 1m
  emission: { constant: { per_epoch: 100 } }
  split: { compute: 0.7, data: 0.0, validators: 0.1, treasury: 0.2 }
  fees: { tokens_per_pflop: 20, burn_fraction: 0.3 }
  staking: { min_stake: 10, unbonding: 1d }
  genesis: { holders: [], job_owner: 1000, per_operator: 50 }
  token_price: { constant: { usd: 1.0 } }
"#,
    );
    let mut sys = system(&loaded);
    let (stop, kernel) = run(&mut sys, SimTime::MAX);
    assert_eq!(stop, StopReason::Stopped);
    let economy = &sys.chain.as_ref().unwrap().economy;
    let end = kernel.now();
    // Six short rounds end within the first minute; the first epoch settles
    // at 60 s and, the job being done, is the last.
    assert!(sys.job.is_done());
    assert_eq!(end, SimTime::from_secs(60));
    assert_eq!(economy.epochs.len(), 1);
    // Blocks at 12, 24, 36 and 48 s. At 60 s the epoch, queued at time
    // zero, comes before the block queued at 48 s: it seals the last block
    // and stops the run.
    let times: Vec<u64> = economy
        .ledger
        .blocks()
        .iter()
        .map(|b| b.t_ns / 1_000_000_000)
        .collect();
    assert_eq!(times, vec![12, 24, 36, 48, 60]);
}

/// Asks for an economy parameter change in a run without an economy.
struct MisplacedChange;

impl Listener for MisplacedChange {
    fn on_fact(&mut self, now: SimTime, fact: Fact<'_>, effects: &mut Vec<Effect>) {
        if let Fact::RoundClosed(r) = fact
            && r.round == 0
        {
            effects.push(Effect::ChangeParam {
                from: now,
                change: ParamChange::MinStake(1),
            });
        }
    }
}

#[test]
fn a_change_that_does_not_apply_is_reported_not_fatal() {
    let loaded = lab(10, "");
    let mut sys = system(&loaded);
    sys.add_listener(Box::new(MisplacedChange));
    run(&mut sys, SimTime::MAX);
    assert_eq!(sys.job.rounds_done(), 6);
    assert_eq!(
        sys.param_errors,
        vec!["`economics.staking.min_stake` changed in a run without an economy".to_string()]
    );
}

/// Node statistics are added when a round closes; a run that ends with a
/// round open adds what its clients did so far (downloads and compute
/// done, uploads in flight), and adds it once.
#[test]
fn a_round_open_at_the_end_of_a_run_counts_in_the_node_statistics() {
    let loaded = lab(4, "");
    let mut sys = system(&loaded);
    // Downloads end at about 0.41 s, compute at 0.61 s; uploads take 3.2 s.
    run(&mut sys, SimTime::from_secs(1));
    assert_eq!(sys.job.rounds_done(), 0);
    let stats = |sys: &Sys| {
        let s = &sys.nodes.stats;
        (
            s.rounds_selected.iter().sum::<u32>(),
            s.rounds_completed.iter().sum::<u32>(),
            s.bytes_down.iter().sum::<u64>(),
            s.bytes_up.iter().sum::<u64>(),
            s.compute_ns.iter().sum::<u64>(),
        )
    };
    assert_eq!(stats(&sys), (0, 0, 0, 0, 0), "kept with the open round");
    sys.job.end_of_run(&mut sys.nodes);
    let open = (4, 0, 4 * 10_000_000, 0, 4 * 200_000_000);
    assert_eq!(stats(&sys), open);
    sys.job.end_of_run(&mut sys.nodes);
    assert_eq!(stats(&sys), open, "added once");

    // A closed round adds all of it: its uploads too.
    let mut sys = system(&loaded);
    run(&mut sys, SimTime::from_secs(5));
    assert_eq!(sys.job.rounds_done(), 1);
    sys.job.end_of_run(&mut sys.nodes);
    let (selected, completed, down, up, _) = stats(&sys);
    assert_eq!((selected, completed, up), (8, 4, 4 * 10_000_000));
    assert!(
        down > 4 * 10_000_000,
        "the second round's downloads: {down}"
    );
}
