//! The weighted-mean kernel against a CPU reference: sizes that are not
//! multiples of the workgroup, several models, a model split across
//! bindings, and two runs on one device. Skipped without an adapter
//! unless `DMLSIM_REQUIRE_GPU` is set (CI sets it, with lavapipe).

use dmlsim_gpu::test_gpu as gpu;
use rand::{RngExt, SeedableRng};

fn random_models(n: usize, len: usize, seed: u64) -> (Vec<Vec<f32>>, Vec<f64>) {
    let mut rng = rand::rngs::ChaCha8Rng::seed_from_u64(seed);
    let models = (0..n)
        .map(|_| (0..len).map(|_| rng.random_range(-2.0f32..2.0)).collect())
        .collect();
    let weights = (0..n).map(|_| rng.random_range(1.0..100.0f64)).collect();
    (models, weights)
}

/// Σ wᵢ·mᵢ / Σ wᵢ in f64.
fn reference(models: &[Vec<f32>], weights: &[f64]) -> Vec<f64> {
    let total: f64 = weights.iter().sum();
    (0..models[0].len())
        .map(|c| {
            models
                .iter()
                .zip(weights)
                .map(|(m, w)| f64::from(m[c]) * w)
                .sum::<f64>()
                / total
        })
        .collect()
}

#[test]
fn the_weighted_mean_matches_the_cpu_off_the_workgroup_size() {
    let Some(g) = gpu() else { return };
    let s = g.summary();
    assert!(!s.name.is_empty() && !s.api.is_empty(), "{s:?}");
    eprintln!(
        "adapter: {s:?}, largest binding {} B",
        g.max_binding_bytes()
    );
    for (n, len) in [
        (1, 1),
        (3, 255),
        (3, 256),
        (10, 257),
        (7, 1000),
        (4, 70_001),
    ] {
        let (models, weights) = random_models(n, len, (n * len) as u64);
        let refs: Vec<&[f32]> = models.iter().map(|m| m.as_slice()).collect();
        let got = g.weighted_mean(&refs, &weights);
        let want = reference(&models, &weights);
        assert_eq!(got.len(), len);
        // f32 sums of n terms of magnitude ≤ 2: a few ulps of 2 each.
        let worst = got
            .iter()
            .zip(&want)
            .map(|(a, b)| (f64::from(*a) - b).abs())
            .fold(0.0, f64::max);
        assert!(worst <= 2e-6 * n as f64, "{n} × {len}: off by {worst}");
    }
}

#[test]
fn a_model_larger_than_a_binding_is_split_and_gives_the_same_bits() {
    let Some(g) = gpu() else { return };
    let (models, weights) = random_models(5, 10_000, 7);
    let refs: Vec<&[f32]> = models.iter().map(|m| m.as_slice()).collect();
    let whole = g.weighted_mean(&refs, &weights);
    // 5 models × 4 B × 333 coordinates per binding: 31 chunks, the last short.
    let chunked = g.weighted_mean_chunked(&refs, &weights, 5 * 4 * 333);
    assert_eq!(whole, chunked);
    assert!(
        g.max_binding_bytes() >= 128 << 20,
        "{}",
        g.max_binding_bytes()
    );
}

#[test]
fn two_runs_on_one_device_give_the_same_bits() {
    let Some(g) = gpu() else { return };
    let (models, weights) = random_models(16, 4099, 3);
    let refs: Vec<&[f32]> = models.iter().map(|m| m.as_slice()).collect();
    assert_eq!(
        g.weighted_mean(&refs, &weights),
        g.weighted_mean(&refs, &weights)
    );
}

#[test]
fn median_and_trimmed_mean_match_the_cpu_rules_with_ties_and_signed_zeros() {
    use dmlsim_models::aggregate::{Rule, aggregate, trim_count};
    let Some(g) = gpu() else { return };
    for (n, len) in [(1usize, 3usize), (2, 255), (5, 257), (8, 1000), (33, 513)] {
        let (mut models, weights) = random_models(n, len, (7 * n + len) as u64);
        // Ties, signed zeros and repeated values in the first coordinates.
        for (k, m) in models.iter_mut().enumerate() {
            m[0] = 1.5;
            m[1] = if k % 2 == 0 { 0.0 } else { -0.0 };
            m[2] = (k % 3) as f32;
        }
        let refs: Vec<&[f32]> = models.iter().map(|m| m.as_slice()).collect();
        for rule in [
            Rule::Median,
            Rule::TrimmedMean { beta: 0.0 },
            Rule::TrimmedMean { beta: 0.2 },
            Rule::TrimmedMean { beta: 0.45 },
        ] {
            let t = match rule {
                Rule::Median => (n - 1) / 2,
                Rule::TrimmedMean { beta } => trim_count(beta, n),
                _ => unreachable!(),
            };
            let want = aggregate(&rule, &refs, &weights).unwrap();
            let got = g.trimmed_mean(&refs, t);
            let worst = got
                .iter()
                .zip(&want)
                .map(|(a, b)| (a - b).abs())
                .fold(0.0f32, f32::max);
            // Kept values are summed in f32 here, in f64 on the CPU.
            assert!(
                worst <= 4e-7 * n as f32,
                "{rule:?}, {n} × {len}: off by {worst}"
            );
            assert_eq!(got[0], 1.5, "{rule:?}: a tie of equal values");
            if n % 2 == 1 && matches!(rule, Rule::Median) {
                // An odd median is one of the values, exactly.
                assert_eq!(got, want, "{n} × {len}");
            }
        }
        let chunked = g.trimmed_mean_chunked(&refs, (n - 1) / 2, (n * 4 * 100) as u64);
        assert_eq!(chunked, g.trimmed_mean(&refs, (n - 1) / 2), "chunks");
    }
}
