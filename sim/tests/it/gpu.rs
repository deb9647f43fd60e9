//! The wgpu training backend end to end: the digits scenarios pass their
//! accuracy checks on it and agree with ndarray within the documented
//! tolerance (docs/learning.md, "Training backends"); two runs on one
//! device write identical tables; a missing adapter is an error that
//! names what was tried. Tests that need a device skip without one unless
//! `DMLSIM_REQUIRE_GPU` is set (CI sets it, with lavapipe).

use super::support::*;
use arrow_array::RecordBatch;

/// Largest difference of a round's test accuracy between the backends.
const ACCURACY_ABS: f64 = 0.01;
/// Largest relative difference of a round's test and training loss.
const LOSS_REL: f64 = 1e-3;
/// The rounds.arrow columns computed from the model's numbers: the only
/// ones that may differ between backends in these scenarios.
const MODEL_COLUMNS: [&str; 3] = ["test_accuracy", "test_loss", "train_loss"];

fn has_gpu() -> bool {
    dmlsim_gpu::test_gpu().is_some()
}

fn tables(dir: &std::path::Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".arrow"))
        .collect();
    names.sort();
    names
}

fn rounds(dir: &std::path::Path) -> RecordBatch {
    read_arrow(&dir.join("rounds.arrow")).remove(0)
}

#[test]
fn the_digits_scenarios_pass_their_checks_on_the_gpu_and_agree_with_ndarray() {
    if !has_gpu() {
        return;
    }
    for name in ["digits-iid", "digits-dirichlet"] {
        let scenario = format!("scenarios/{name}.yaml");
        let cpu = scratch(&format!("gpu-parity-{name}-cpu"));
        let gpu = scratch(&format!("gpu-parity-{name}-gpu"));
        // --check: the scenario's accuracy bands hold on both backends.
        run_ok(&scenario, &cpu, &["--check"], &[]);
        run_ok(&scenario, &gpu, &["--check", "--backend", "gpu"], &[]);
        assert_eq!(run_json(&cpu)["learning"]["backend"], "ndarray");
        assert_eq!(run_json(&gpu)["learning"]["backend"], "gpu");
        assert!(run_json(&cpu)["learning"].get("device").is_none());
        let device = &run_json(&gpu)["learning"]["device"];
        assert!(
            device["name"].as_str().is_some_and(|n| !n.is_empty()),
            "{device}"
        );
        assert!(device["driver"].is_string() && device["api"].is_string());
        assert_eq!(tables(&cpu), tables(&gpu));
        for t in tables(&cpu) {
            if t != "rounds.arrow" {
                assert_eq!(
                    std::fs::read(cpu.join(&t)).unwrap(),
                    std::fs::read(gpu.join(&t)).unwrap(),
                    "{name}: {t} differs between the backends"
                );
            }
        }
        let (a, b) = (rounds(&cpu), rounds(&gpu));
        assert_eq!(a.schema(), b.schema());
        for (k, field) in a.schema().fields().iter().enumerate() {
            let col = field.name().as_str();
            if !MODEL_COLUMNS.contains(&col) {
                assert_eq!(a.column(k), b.column(k), "{name}: rounds.{col} differs");
            }
        }
        let (acc_a, acc_b) = (f64_col(&a, "test_accuracy"), f64_col(&b, "test_accuracy"));
        let worst = acc_a
            .iter()
            .zip(&acc_b)
            .map(|(x, y)| (x - y).abs())
            .fold(0.0, f64::max);
        assert!(worst <= ACCURACY_ABS, "{name}: accuracy differs by {worst}");
        for col in ["test_loss", "train_loss"] {
            for (x, y) in f64_col(&a, col).iter().zip(f64_col(&b, col)) {
                let rel = (x - y).abs() / x.abs().max(1e-12);
                assert!(
                    rel <= LOSS_REL,
                    "{name}: {col} {x} on the CPU, {y} on the GPU"
                );
            }
        }
    }
}

#[test]
fn two_runs_on_one_device_write_identical_tables() {
    if !has_gpu() {
        return;
    }
    let one = scratch("gpu-twice-1");
    let two = scratch("gpu-twice-2");
    let scenario = "scenarios/poisoning-vs-robust.yaml";
    run_ok(scenario, &one, &["--backend", "gpu"], &[]);
    run_ok(
        scenario,
        &two,
        &["--backend", "gpu"],
        &[("RAYON_NUM_THREADS", "1")],
    );
    let names = tables(&one);
    assert!(names.contains(&"rounds.arrow".to_string()));
    for t in names {
        assert_eq!(
            std::fs::read(one.join(&t)).unwrap(),
            std::fs::read(two.join(&t)).unwrap(),
            "{t} differs between two runs on one device"
        );
    }
}

#[cfg(target_os = "linux")]
#[test]
fn without_an_adapter_the_gpu_backend_is_an_error_that_names_what_was_tried() {
    let out = scratch("gpu-none");
    let o = dmlsim(
        &[
            "run",
            "scenarios/digits-iid.yaml",
            "--backend",
            "gpu",
            "--quiet",
            "--out",
            out.to_str().unwrap(),
        ],
        // No Vulkan driver: nothing to fall back to.
        &[
            ("VK_ICD_FILENAMES", "/nonexistent/icd.json"),
            ("VK_DRIVER_FILES", "/nonexistent/icd.json"),
            ("WGPU_BACKEND", "vulkan"),
        ],
    );
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(err.contains("learning.backend"), "{err}");
    assert!(err.contains("no GPU adapter found"), "{err}");
    assert!(err.contains("tried: vulkan"), "the backends tried: {err}");
    assert!(err.contains("mesa-vulkan-drivers"), "{err}");
    assert!(!out.join("rounds.arrow").exists());
}

#[test]
fn the_backend_flag_needs_a_learning_section() {
    let out = scratch("gpu-no-learning");
    let o = dmlsim(
        &[
            "run",
            "scenarios/quickstart.yaml",
            "--backend",
            "gpu",
            "--quiet",
            "--out",
            out.to_str().unwrap(),
        ],
        &[],
    );
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(err.contains("has no `learning` section"), "{err}");
}
