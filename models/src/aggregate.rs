//! Aggregation rules that turn the models clients sent into the next global
//! model: FedAvg weighted by samples, coordinate-wise median, trimmed mean,
//! Krum and multi-Krum. Coordinates are processed in parallel, each in a
//! fixed order, so the result does not depend on the thread count.

use rayon::prelude::*;

/// An aggregation rule.
#[derive(Clone, Debug, PartialEq)]
pub enum Rule {
    /// Average weighted by each client's number of examples.
    FedAvg,
    /// Coordinate-wise median (mean of the two middle values for an even count).
    Median,
    /// Coordinate-wise mean after dropping the ⌊β·n⌋ smallest and largest values.
    TrimmedMean {
        /// Fraction trimmed at each end, in [0, 0.5).
        beta: f64,
    },
    /// The one model closest (sum of squared distances to its n − f − 2
    /// nearest neighbours) to the others, tolerating `f` attackers.
    Krum {
        /// Attackers tolerated.
        f: usize,
    },
    /// Mean of the `m` models with the best Krum scores.
    MultiKrum {
        /// Attackers tolerated.
        f: usize,
        /// Models averaged.
        m: usize,
    },
}

impl Rule {
    /// Name for outputs.
    pub fn label(&self) -> &'static str {
        match self {
            Rule::FedAvg => "fedavg",
            Rule::Median => "median",
            Rule::TrimmedMean { .. } => "trimmed_mean",
            Rule::Krum { .. } => "krum",
            Rule::MultiKrum { .. } => "multi_krum",
        }
    }
}

const CHUNK: usize = 4096;

/// Applies `per_coordinate` to every coordinate's column of client values.
fn coordinatewise(
    models: &[&[f32]],
    per_coordinate: impl Fn(&mut Vec<f32>) -> f32 + Sync,
) -> Vec<f32> {
    let p = models[0].len();
    let mut out = vec![0f32; p];
    out.par_chunks_mut(CHUNK)
        .enumerate()
        .for_each(|(c, chunk)| {
            let mut column = Vec::with_capacity(models.len());
            for (j, o) in chunk.iter_mut().enumerate() {
                let k = c * CHUNK + j;
                column.clear();
                column.extend(models.iter().map(|m| m[k]));
                *o = per_coordinate(&mut column);
            }
        });
    out
}

fn median_of(v: &mut [f32]) -> f32 {
    v.sort_unstable_by(f32::total_cmp);
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        ((f64::from(v[n / 2 - 1]) + f64::from(v[n / 2])) / 2.0) as f32
    }
}

/// Krum scores: for each model, the sum of squared distances to its
/// `n − f − 2` (at least 1) nearest other models.
pub fn krum_scores(models: &[&[f32]], f: usize) -> Vec<f64> {
    let n = models.len();
    let neighbours = n.saturating_sub(f + 2).max(1).min(n.saturating_sub(1));
    let dist: Vec<Vec<f64>> = (0..n)
        .into_par_iter()
        .map(|i| {
            (0..n)
                .map(|j| {
                    models[i]
                        .iter()
                        .zip(models[j])
                        .map(|(a, b)| f64::from(a - b).powi(2))
                        .sum()
                })
                .collect()
        })
        .collect();
    (0..n)
        .map(|i| {
            let mut d: Vec<f64> = (0..n).filter(|&j| j != i).map(|j| dist[i][j]).collect();
            d.sort_by(f64::total_cmp);
            d.iter().take(neighbours).sum()
        })
        .collect()
}

/// Indices of the `m` best Krum scores, best first (ties: lower index).
pub fn krum_select(models: &[&[f32]], f: usize, m: usize) -> Vec<usize> {
    let scores = krum_scores(models, f);
    let mut order: Vec<usize> = (0..models.len()).collect();
    order.sort_by(|&a, &b| scores[a].total_cmp(&scores[b]).then(a.cmp(&b)));
    order.truncate(m.max(1));
    order
}

/// How many values the trimmed mean drops at each end of `n` (≥ 1):
/// ⌊β·n⌋, at most (n − 1) / 2.
pub fn trim_count(beta: f64, n: usize) -> usize {
    ((beta * n as f64).floor() as usize).min(n.saturating_sub(1) / 2)
}

/// Aggregates client models (all the same length) with their example counts.
/// Returns None when there is nothing to aggregate (no models, or FedAvg
/// with zero total weight).
pub fn aggregate(rule: &Rule, models: &[&[f32]], weights: &[f64]) -> Option<Vec<f32>> {
    if models.is_empty() {
        return None;
    }
    Some(match rule {
        Rule::FedAvg => {
            let total: f64 = weights.iter().sum();
            if total <= 0.0 {
                return None;
            }
            let alpha: Vec<f64> = weights.iter().map(|w| w / total).collect();
            let p = models[0].len();
            let mut out = vec![0f32; p];
            out.par_chunks_mut(CHUNK)
                .enumerate()
                .for_each(|(c, chunk)| {
                    for (j, o) in chunk.iter_mut().enumerate() {
                        let k = c * CHUNK + j;
                        *o = models
                            .iter()
                            .zip(&alpha)
                            .map(|(m, a)| a * f64::from(m[k]))
                            .sum::<f64>() as f32;
                    }
                });
            out
        }
        Rule::Median => coordinatewise(models, |v| median_of(v)),
        Rule::TrimmedMean { beta } => {
            let n = models.len();
            let t = trim_count(*beta, n);
            coordinatewise(models, move |v| {
                v.sort_unstable_by(f32::total_cmp);
                let kept = &v[t..n - t];
                (kept.iter().map(|&x| f64::from(x)).sum::<f64>() / kept.len() as f64) as f32
            })
        }
        Rule::Krum { f } => models[krum_select(models, *f, 1)[0]].to_vec(),
        Rule::MultiKrum { f, m } => {
            let chosen: Vec<&[f32]> = krum_select(models, *f, *m)
                .into_iter()
                .map(|i| models[i])
                .collect();
            let ones = vec![1.0; chosen.len()];
            return aggregate(&Rule::FedAvg, &chosen, &ones);
        }
    })
}

/// The next global model: `global + lr · (aggregated − global)`; exactly
/// `aggregated` when `lr` is 1.
pub fn server_step(global: &[f32], aggregated: Vec<f32>, lr: f32) -> Vec<f32> {
    if lr == 1.0 {
        return aggregated;
    }
    global
        .iter()
        .zip(aggregated)
        .map(|(g, a)| g + lr * (a - g))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(rule: Rule, models: &[Vec<f32>], weights: &[f64]) -> Vec<f32> {
        let refs: Vec<&[f32]> = models.iter().map(|m| m.as_slice()).collect();
        aggregate(&rule, &refs, weights).unwrap()
    }

    #[test]
    fn fedavg_weights_by_samples() {
        // (1·[1, 10] + 3·[5, 2]) / 4 = [4, 4]
        let m = vec![vec![1.0, 10.0], vec![5.0, 2.0]];
        assert_eq!(run(Rule::FedAvg, &m, &[1.0, 3.0]), vec![4.0, 4.0]);
        // One client: its model, bit for bit.
        let one = vec![vec![0.1f32, -0.3, 7.77]];
        assert_eq!(run(Rule::FedAvg, &one, &[13.0]), one[0]);
        assert!(aggregate(&Rule::FedAvg, &[&[1.0][..]], &[0.0]).is_none());
    }

    #[test]
    fn median_and_trimmed_mean_by_hand() {
        let m = vec![
            vec![1.0, 4.0],
            vec![2.0, 100.0],
            vec![3.0, -50.0],
            vec![10.0, 5.0],
            vec![-20.0, 6.0],
        ];
        // Sorted coordinate 0: −20, 1, 2, 3, 10 → median 2; coordinate 1: −50, 4, 5, 6, 100 → 5.
        assert_eq!(run(Rule::Median, &m, &[1.0; 5]), vec![2.0, 5.0]);
        // β = 0.2 drops one at each end: (1 + 2 + 3) / 3 = 2, (4 + 5 + 6) / 3 = 5.
        assert_eq!(
            run(Rule::TrimmedMean { beta: 0.2 }, &m, &[1.0; 5]),
            vec![2.0, 5.0]
        );
        // Even count: mean of the two middle values.
        assert_eq!(
            run(
                Rule::Median,
                &[vec![1.0], vec![2.0], vec![4.0], vec![9.0]],
                &[1.0; 4]
            ),
            vec![3.0]
        );
        // β = 0 is the plain mean.
        assert_eq!(
            run(
                Rule::TrimmedMean { beta: 0.0 },
                &[vec![1.0], vec![2.0], vec![6.0]],
                &[1.0; 3]
            ),
            vec![3.0]
        );
    }

    #[test]
    fn krum_rejects_a_planted_outlier() {
        // Four honest models near (1, 1) and one attacker far away.
        let m = vec![
            vec![1.0, 1.0],
            vec![1.1, 0.9],
            vec![0.9, 1.0],
            vec![1.0, 1.2],
            vec![50.0, -40.0],
        ];
        let refs: Vec<&[f32]> = m.iter().map(|v| v.as_slice()).collect();
        let scores = krum_scores(&refs, 1);
        // n − f − 2 = 2 neighbours. Model 0: distances 0.02, 0.01, 0.04 → 0.01 + 0.02.
        assert!((scores[0] - 0.03).abs() < 1e-6, "{scores:?}");
        assert!(scores[4] > 1000.0);
        let chosen = run(Rule::Krum { f: 1 }, &m, &[1.0; 5]);
        assert_eq!(chosen, m[0]);
        let multi = run(Rule::MultiKrum { f: 1, m: 4 }, &m, &[1.0; 5]);
        assert!(
            (multi[0] - 1.0).abs() < 1e-6 && (multi[1] - 1.025).abs() < 1e-6,
            "{multi:?}"
        );
    }

    #[test]
    fn server_learning_rate_moves_part_way() {
        assert_eq!(
            server_step(&[0.0, 2.0], vec![1.0, 4.0], 0.5),
            vec![0.5, 3.0]
        );
        assert_eq!(server_step(&[0.3], vec![0.7], 1.0), vec![0.7]);
    }
}
