//! Robust-statistics screening of model updates: each update's distance to
//! the coordinate-wise median update, compared with the median of those
//! distances. Verification uses it to reject updates before aggregation.

/// Screening: flags updates whose distance to the coordinate-wise median
/// update exceeds `threshold` times the median of those distances (a robust
/// z-score). Honest but non-IID clients can be flagged too: that is the
/// false-positive rate this strategy pays.
pub fn screen(updates: &[&[f32]], threshold: f64) -> Vec<bool> {
    let n = updates.len();
    if n < 3 {
        return vec![false; n];
    }
    let p = updates[0].len();
    let mut centre = vec![0f32; p];
    let mut column = Vec::with_capacity(n);
    for (k, c) in centre.iter_mut().enumerate() {
        column.clear();
        column.extend(updates.iter().map(|u| u[k]));
        column.sort_unstable_by(f32::total_cmp);
        *c = if n % 2 == 1 {
            column[n / 2]
        } else {
            (column[n / 2 - 1] + column[n / 2]) / 2.0
        };
    }
    let dist: Vec<f64> = updates
        .iter()
        .map(|u| {
            u.iter()
                .zip(&centre)
                .map(|(a, b)| f64::from(a - b).powi(2))
                .sum::<f64>()
                .sqrt()
        })
        .collect();
    let mut sorted = dist.clone();
    sorted.sort_by(f64::total_cmp);
    let scale = sorted[n / 2].max(1e-12);
    dist.iter().map(|d| d / scale > threshold).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn screening_flags_a_planted_outlier() {
        let honest: Vec<Vec<f32>> = (0..9)
            .map(|i| vec![1.0 + 0.01 * i as f32, 1.0 - 0.01 * i as f32])
            .collect();
        let mut all: Vec<&[f32]> = honest.iter().map(|v| v.as_slice()).collect();
        let outlier = vec![-20.0f32, 30.0];
        all.push(&outlier);
        let flags = screen(&all, 5.0);
        assert_eq!(flags.iter().filter(|&&f| f).count(), 1);
        assert!(flags[9]);
    }
}
