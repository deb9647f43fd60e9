//! Delegation and restaking in the lab economy: supply is conserved at
//! every block, delegators get their share less commission to the base
//! unit, restaking bonds exactly its fraction, a slash falls on the
//! delegators in proportion, and redelegation leaves no stake behind an
//! operator out of the network.

use crate::engine::Kernel;
use crate::scenario::LoadedScenario;
use crate::system::tests::{lab_loaded, lab_text};
use crate::system::{Event, System, build};
use dmlsim_models::econ::TOKEN;
use dmlsim_models::econ::ledger::{Entry, EntryKind};
use dmlsim_models::econ::split::{PPM, mul_div, pro_rata};

type Sys = System<Box<dyn dmlsim_models::learning::Learner + Send>>;

/// The lab's ten one-node operators with ten-minute epochs for two hours;
/// `staking` is the staking section's body.
fn economy(staking: &str) -> LoadedScenario {
    let economics = format!(
        r#"economics:
  block_time: 12s
  epoch: 10m
  emission: {{ constant: {{ per_epoch: 1000 }} }}
  split: {{ compute: 0.7, data: 0.0, validators: 0.1, treasury: 0.2 }}
  fees: {{ tokens_per_pflop: 20, burn_fraction: 0.3 }}
  staking: {staking}
  genesis:
    holders:
      - {{ name: whale, tokens: 5000 }}
      - {{ name: community, tokens: 3000, wallets: 30, owners: 30 }}
    job_owner: 10000
    per_operator: 150
  token_price: {{ constant: {{ usd: 0.02 }} }}
"#
    );
    lab_loaded(lab_text(
        "2h",
        "  count: 1000\n  clients_per_round: 3\n  deadline: 1m\n  gap: 1m",
        &economics,
    ))
}

const DELEGATING: &str = "{ min_stake: 100, commission: 0.1, restake: 0.5, selection: stake_weighted, delegations: [ { group: whale, fraction: 0.8, choose: random, restake: all }, { group: community, fraction: 0.5 } ] }";

fn built(loaded: &LoadedScenario) -> Sys {
    build(&loaded.scenario, loaded, false).expect("builds")
}

fn run(loaded: &LoadedScenario) -> Sys {
    let mut sys = built(loaded);
    let mut kernel: Kernel<Event> = Kernel::new();
    sys.start(kernel.scheduler());
    kernel.run(&mut sys, loaded.scenario.horizon.time(), u64::MAX);
    assert_eq!(sys.failure, None);
    sys
}

fn economy_of(sys: &Sys) -> &super::Economy {
    &sys.chain.as_ref().unwrap().economy
}

/// The entries of a kind and memo.
fn entries<'a>(sys: &'a Sys, kind: EntryKind, memo: &str) -> Vec<&'a Entry> {
    economy_of(sys)
        .ledger
        .entries()
        .iter()
        .filter(|e| e.kind == kind && e.memo == memo)
        .collect()
}

#[test]
fn delegation_and_restaking_conserve_supply_and_the_bookkeeping_matches_the_ledger() {
    let sys = run(&economy(DELEGATING));
    let e = economy_of(&sys);
    // Every block was sealed after a conservation check (a violation
    // stops the run); the books say the same at the end.
    e.ledger.check_conservation().unwrap();
    assert!(e.ledger.blocks().len() > 500);
    assert!(!entries(&sys, EntryKind::Reward, "delegation").is_empty());
    assert!(!entries(&sys, EntryKind::Stake, "restake").is_empty());
    // Each wallet's stake on the ledger is what it bonds to operators.
    for &w in &e.holders {
        let bonded: u128 = e
            .delegations
            .iter()
            .filter(|d| d.wallet == w)
            .map(|d| d.amount)
            .sum();
        assert_eq!(e.ledger.stake(w), bonded, "wallet {w}");
    }
    for o in 0..e.operator_account.len() {
        let by_list: u128 = e
            .delegations
            .iter()
            .filter(|d| d.operator as usize == o)
            .map(|d| d.amount)
            .sum();
        assert_eq!(e.delegated[o], by_list, "operator {o}");
    }
    // The whale delegated 80% of 5,000 to one operator and restakes all.
    let whale = e.holders[0];
    assert_eq!(
        e.delegations.iter().filter(|d| d.wallet == whale).count(),
        1
    );
    assert!(e.ledger.stake(whale) > 4_000 * TOKEN);
    assert_eq!(e.ledger.balance(whale), 1_000 * TOKEN);
    // The community spread half their 100 tokens over all ten operators.
    let first = e.holders[1];
    assert_eq!(
        e.delegations.iter().filter(|d| d.wallet == first).count(),
        10
    );
    assert_eq!(e.ledger.stake(first), 50 * TOKEN);
}

#[test]
fn delegators_get_their_share_less_commission_to_the_base_unit() {
    let sys = run(&economy(DELEGATING));
    let e = economy_of(&sys);
    let first_settlement = entries(&sys, EntryKind::Reward, "compute")[0].t_ns;
    let at = |memo: &str, kind: EntryKind| -> Vec<&Entry> {
        entries(&sys, kind, memo)
            .into_iter()
            .filter(|x| x.t_ns == first_settlement)
            .collect()
    };
    let rewards = at("compute", EntryKind::Reward);
    let passed = at("delegation", EntryKind::Reward);
    assert!(!passed.is_empty());
    // Bonded at the first settlement: the genesis delegations (nothing
    // is restaked or slashed before it).
    for r in &rewards {
        let op = e
            .operator_account
            .iter()
            .position(|&a| Some(a) == r.to)
            .unwrap();
        let account = e.operator_account[op];
        // Genesis bonds: 100 own; the community's 15 wallets… each 50/10
        // = 5 tokens; the whale's 4,000 if it drew this operator.
        let whale_here = e
            .delegations
            .iter()
            .any(|d| d.wallet == e.holders[0] && d.operator as usize == op);
        let mut bonds: Vec<u128> = vec![5 * TOKEN; 30];
        if whale_here {
            bonds.insert(0, 4_000 * TOKEN);
        }
        let delegated: u128 = bonds.iter().sum();
        let share = mul_div(r.amount, delegated, delegated + 100 * TOKEN);
        let pass = share - mul_div(share, 100_000, PPM);
        let (parts, _) = pro_rata(pass, &bonds);
        let mut got: Vec<u128> = passed
            .iter()
            .filter(|x| x.from == Some(account))
            .map(|x| x.amount)
            .collect();
        let mut want: Vec<u128> = parts.into_iter().filter(|&p| p > 0).collect();
        got.sort_unstable();
        want.sort_unstable();
        assert_eq!(got, want, "operator {op}");
    }
}

#[test]
fn restaking_bonds_exactly_its_fraction_of_what_the_operator_keeps() {
    let sys = run(&economy("{ min_stake: 100, restake: 0.5 }"));
    let e = economy_of(&sys);
    let rewards = entries(&sys, EntryKind::Reward, "compute");
    let restaked = entries(&sys, EntryKind::Stake, "restake");
    assert!(!rewards.is_empty());
    let mut want: Vec<(u64, Option<u32>, u128)> = rewards
        .iter()
        .map(|r| (r.t_ns, r.to, r.amount / 2))
        .filter(|w| w.2 > 0)
        .collect();
    let mut got: Vec<(u64, Option<u32>, u128)> =
        restaked.iter().map(|r| (r.t_ns, r.to, r.amount)).collect();
    want.sort_unstable();
    got.sort_unstable();
    assert_eq!(got, want);
    let own_stake: u128 = e.operator_account.iter().map(|&a| e.ledger.stake(a)).sum();
    let restaked_total: u128 = got.iter().map(|g| g.2).sum();
    assert_eq!(own_stake, 10 * 100 * TOKEN + restaked_total);
}

#[test]
fn a_slash_falls_on_the_delegators_in_proportion_to_their_bonds() {
    let mut sys = built(&economy(
        "{ min_stake: 100, delegations: [ { group: community, fraction: 0.5 } ] }",
    ));
    let e = &mut sys.chain.as_mut().unwrap().economy;
    // Operator 0: 100 own, 30 × 5 delegated; slash 50 of the 250 bonded.
    assert_eq!(e.bonded(0), 250 * TOKEN);
    let (slashed, own, seq) = e.slash_bonded(0, 50 * TOKEN, None, "test").unwrap();
    assert_eq!((slashed, own), (50 * TOKEN, 20 * TOKEN));
    assert!(seq.is_some());
    assert_eq!(e.ledger.stake(e.operator_account[0]), 80 * TOKEN);
    assert_eq!(e.delegated[0], 120 * TOKEN);
    for d in e.delegations.iter().filter(|d| d.operator == 0) {
        assert_eq!(d.amount, 4 * TOKEN);
        assert_eq!(
            e.ledger.stake(d.wallet),
            4 * TOKEN + 9 * 5 * TOKEN,
            "one of ten bonds slashed by a fifth"
        );
    }
    e.ledger.check_conservation().unwrap();
}

#[test]
fn delegations_leave_an_operator_out_of_the_network_at_the_next_settlement() {
    let mut sys = built(&economy(
        "{ min_stake: 100, delegations: [ { group: community, fraction: 0.5 } ] }",
    ));
    let e = &mut sys.chain.as_mut().unwrap().economy;
    e.in_network[3] = false;
    e.redelegate();
    assert_eq!(e.delegated[3], 0);
    let total: u128 = e.delegated.iter().sum();
    assert_eq!(total, 30 * 50 * TOKEN, "nothing lost");
    // Each wallet's bond to operator 3 moved and merged: at most ten bonds.
    for &w in &e.holders[1..] {
        let bonds = e.delegations.iter().filter(|d| d.wallet == w).count();
        assert_eq!(bonds, 9, "wallet {w}");
    }
}
