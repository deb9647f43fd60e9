//! Same scenario + seed + version = byte-identical Arrow files, with one
//! thread or many; another seed gives other files.

use super::support::*;

const TABLES: [&str; 3] = ["rounds.arrow", "nodes.arrow", "transfers.arrow"];

fn bytes(dir: &std::path::Path, f: &str) -> Vec<u8> {
    std::fs::read(dir.join(f)).unwrap()
}

#[test]
fn quickstart_is_byte_identical_across_runs_and_thread_counts() {
    let a = scratch("det-a");
    let b = scratch("det-b");
    let one = scratch("det-1-thread");
    let two = scratch("det-2-threads");
    run_ok("scenarios/quickstart.yaml", &a, &["--trace"], &[]);
    run_ok("scenarios/quickstart.yaml", &b, &["--trace"], &[]);
    run_ok(
        "scenarios/quickstart.yaml",
        &one,
        &["--trace"],
        &[("RAYON_NUM_THREADS", "1")],
    );
    run_ok(
        "scenarios/quickstart.yaml",
        &two,
        &["--trace"],
        &[("RAYON_NUM_THREADS", "2")],
    );
    for t in TABLES {
        let reference = bytes(&a, t);
        assert_eq!(reference, bytes(&b, t), "{t} differs between two runs");
        assert_eq!(reference, bytes(&one, t), "{t} differs with 1 thread");
        assert_eq!(reference, bytes(&two, t), "{t} differs with 2 threads");
    }
}

#[test]
fn another_seed_gives_other_results() {
    let a = scratch("seed-a");
    let b = scratch("seed-b");
    run_ok("scenarios/quickstart.yaml", &a, &[], &[]);
    run_ok("scenarios/quickstart.yaml", &b, &["--seed", "43"], &[]);
    assert_ne!(bytes(&a, "rounds.arrow"), bytes(&b, "rounds.arrow"));
    assert_ne!(bytes(&a, "nodes.arrow"), bytes(&b, "nodes.arrow"));
}

#[test]
fn economy_and_training_are_byte_identical_across_thread_counts() {
    for scenario in [
        "scenarios/reward-curves.yaml",
        "scenarios/poisoning-vs-robust.yaml",
        "scenarios/agent-market.yaml",
        "scenarios/data-market.yaml",
    ] {
        let one = scratch("det-econ-1");
        let two = scratch("det-econ-2");
        run_ok(scenario, &one, &[], &[("RAYON_NUM_THREADS", "1")]);
        run_ok(scenario, &two, &[], &[("RAYON_NUM_THREADS", "2")]);
        for entry in std::fs::read_dir(&one).unwrap() {
            let name = entry.unwrap().file_name().into_string().unwrap();
            if name.ends_with(".arrow") {
                assert_eq!(
                    bytes(&one, &name),
                    bytes(&two, &name),
                    "{scenario}: {name} differs"
                );
            }
        }
    }
}
