//! Round timings against hand computation on a homogeneous scenario
//! (`tests/scenarios/two-tier.yaml`):
//!
//! ```text
//!  aggregator ──up 1000 Mbit/s──▶ 10 × node (down 200)   broadcast 10 MB each
//!  aggregator ◀─down 100 Mbit/s── 10 × node (up 50)      upload 10 MB each
//! ```
//! Broadcast: 10 flows share 1000 Mbit/s → 100 each (below the 200 downlink):
//! 80 Mbit / 100 Mbit/s = 0.8 s, plus 10 ms latency.
//! Compute: 1e12 FLOP / (10 TFLOP/s × 0.5) = 0.2 s.
//! Upload: 10 flows share 100 Mbit/s → 10 each (below the 50 uplink):
//! 80 Mbit / 10 Mbit/s = 8 s, plus 10 ms. Round: 0.81 + 0.2 + 8.01 = 9.02 s.
//! Halving the aggregator's downlink to 50 Mbit/s doubles the upload: 17.02 s.

use super::support::*;

const SCENARIO: &str = "sim/tests/scenarios/two-tier.yaml";

fn durations(out: &std::path::Path) -> Vec<f64> {
    f64_col(&read_arrow(&out.join("rounds.arrow"))[0], "duration_s")
}

#[test]
fn round_time_matches_the_arithmetic() {
    let out = scratch("timing-two-tier");
    run_ok(SCENARIO, &out, &["--trace"], &[]);
    for d in durations(&out) {
        assert!((d - 9.02).abs() < 1e-6, "round took {d} s, expected 9.02 s");
    }
    let t = &read_arrow(&out.join("transfers.arrow"))[0];
    let (start, end, lat) = (
        f64_col(t, "start_s"),
        f64_col(t, "end_s"),
        f64_col(t, "latency_s"),
    );
    for i in 0..start.len() {
        // Latency is added once per transfer: transmission time + 10 ms.
        let expected = if i % 20 < 10 { 0.8 } else { 8.0 } + 0.010;
        assert!((lat[i] - 0.010).abs() < 1e-12);
        assert!(
            (end[i] - start[i] - expected).abs() < 1e-6,
            "transfer {i}: {} s",
            end[i] - start[i]
        );
    }
}

#[test]
fn halving_the_aggregator_downlink_doubles_the_upload() {
    let text = std::fs::read_to_string(repo().join(SCENARIO)).unwrap();
    let halved = text.replace("down_mbps: 100 }", "down_mbps: 50 }");
    assert_ne!(text, halved);
    let dir = scratch("timing-halved");
    let path = dir.join("halved.yaml");
    std::fs::write(&path, halved).unwrap();
    run_ok(path.to_str().unwrap(), &dir.join("out"), &[], &[]);
    for d in durations(&dir.join("out")) {
        assert!(
            (d - 17.02).abs() < 1e-6,
            "round took {d} s, expected 17.02 s"
        );
    }
}

#[test]
fn a_deadline_drops_late_updates() {
    // With a 5 s deadline the uploads (ending at 9.02 s) are all late.
    let text = std::fs::read_to_string(repo().join(SCENARIO)).unwrap();
    let dir = scratch("timing-deadline");
    let path = dir.join("deadline.yaml");
    std::fs::write(&path, text.replace("deadline: 1m", "deadline: 5s")).unwrap();
    run_ok(path.to_str().unwrap(), &dir.join("out"), &[], &[]);
    let rounds = &read_arrow(&dir.join("out/rounds.arrow"))[0];
    for d in f64_col(rounds, "duration_s") {
        assert!(
            (d - 5.0).abs() < 1e-9,
            "a late round ends at its deadline, not {d}"
        );
    }
    let col = |n: &str| {
        column::<arrow_array::UInt32Array>(rounds, n)
            .values()
            .to_vec()
    };
    assert!(col("completed").iter().all(|&c| c == 0));
    assert!(col("dropped_late").iter().all(|&c| c == 10));
    // Abandoned uploads moved part of their bytes: 10 Mbit/s for 5 − 1.01 s.
    let up = column::<arrow_array::UInt64Array>(rounds, "bytes_up").value(0);
    let expected = 10.0 * 10e6 / 8.0 * (5.0 - 1.01);
    assert!((up as f64 - expected).abs() < 100.0, "{up} vs {expected}");
}

#[test]
fn transfers_and_rounds_agree_on_what_was_delivered() {
    // At an 89 s deadline some uploads leave their bottleneck before it and
    // arrive after it: rounds.arrow drops them, so transfers.arrow must not
    // call them delivered (it did, in 6 of 20 rounds).
    use arrow_array::{BooleanArray, Int64Array, UInt32Array};
    let out = scratch("timing-delivered");
    run_ok(
        "scenarios/quickstart.yaml",
        &out,
        &["--trace", "--set", "rounds.deadline=89s"],
        &[],
    );
    let rounds = &read_arrow(&out.join("rounds.arrow"))[0];
    let completed = column::<UInt32Array>(rounds, "completed").values().to_vec();
    let mut delivered_uploads = vec![0u32; completed.len()];
    for t in read_arrow(&out.join("transfers.arrow")) {
        let round = column::<UInt32Array>(&t, "round");
        let src = column::<Int64Array>(&t, "src");
        let delivered = column::<BooleanArray>(&t, "delivered");
        for i in 0..t.num_rows() {
            // Uploads are sent by a node (src ≥ 0), broadcasts by the aggregator.
            if src.value(i) >= 0 && delivered.value(i) {
                delivered_uploads[round.value(i) as usize] += 1;
            }
        }
    }
    assert!(completed.iter().sum::<u32>() > 0);
    assert_eq!(delivered_uploads, completed);
    let dropped: u32 = column::<UInt32Array>(rounds, "dropped_late")
        .values()
        .iter()
        .sum();
    assert!(
        dropped > 0,
        "the deadline must bite for this test to mean anything"
    );
}
