//! Independent random streams: variants share the draws they do not vary
//! (common random numbers), and each stream group can be reseeded alone.

use super::support::*;

const GBM: &str = "economics.token_price={gbm: {initial_usd: 0.02, mu: 0.0, sigma: 2.0}}";

fn run_set(name: &str, sets: &[&str]) -> std::path::PathBuf {
    run_with_sets("scenarios/reward-curves.yaml", name, sets)
}

fn prices(out: &std::path::Path) -> (Vec<f64>, Vec<f64>) {
    let e = &read_arrow(&out.join("epochs.arrow"))[0];
    (f64_col(e, "t_s"), f64_col(e, "token_price_usd"))
}

#[test]
fn two_emission_curves_with_one_seed_see_the_same_price_path() {
    let halving = run_set("seeds-halving", &[GBM]);
    let constant = run_set(
        "seeds-constant",
        &[GBM, "economics.emission={constant: {per_epoch: 1000}}"],
    );
    // The curves pay differently, so operators come and go differently...
    assert_ne!(
        std::fs::read(halving.join("operators.arrow")).unwrap(),
        std::fs::read(constant.join("operators.arrow")).unwrap()
    );
    // ...but at every epoch both see one price, and it moves.
    let (t_a, p_a) = prices(&halving);
    let (t_b, p_b) = prices(&constant);
    let n = t_a.len().min(t_b.len());
    assert!(n > 10);
    assert_eq!(t_a[..n], t_b[..n]);
    assert_eq!(p_a[..n], p_b[..n]);
    assert!(p_a.windows(2).any(|w| w[0] != w[1]));
    // A price seed of its own changes the path and nothing else is needed.
    let reseeded = run_set("seeds-price", &[GBM, "seeds.price=7"]);
    assert_ne!(prices(&reseeded).1[..n], p_a[..n]);
}

#[test]
fn reseeding_selection_keeps_the_world_and_changes_the_rounds() {
    let base = scratch("seeds-base");
    let other = scratch("seeds-selection");
    run_ok("scenarios/quickstart.yaml", &base, &[], &[]);
    run_ok(
        "scenarios/quickstart.yaml",
        &other,
        &["--set", "seeds.selection=99"],
        &[],
    );
    let hw = |out: &std::path::Path| {
        let n = &read_arrow(&out.join("nodes.arrow"))[0];
        (f64_col(n, "gpu_tflops"), f64_col(n, "up_mbps"))
    };
    assert_eq!(hw(&base), hw(&other), "the world follows `seed`");
    assert_ne!(
        std::fs::read(base.join("rounds.arrow")).unwrap(),
        std::fs::read(other.join("rounds.arrow")).unwrap()
    );
    // Setting a group's seed to `seed` changes nothing.
    let same = scratch("seeds-explicit");
    run_ok(
        "scenarios/quickstart.yaml",
        &same,
        &[
            "--set",
            "seeds={world: 42, selection: 42, training: 42, price: 42, verification: 42}",
        ],
        &[],
    );
    for t in ["rounds.arrow", "nodes.arrow"] {
        assert_eq!(
            std::fs::read(base.join(t)).unwrap(),
            std::fs::read(same.join(t)).unwrap(),
            "{t}"
        );
    }
    let info = run_json(&other);
    assert_eq!(info["seeds"]["selection"], 99);
    assert_eq!(info["seeds"]["world"], 42);
}
