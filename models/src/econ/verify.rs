//! Verification of claimed work, engine-free: spot-check re-execution
//! (deterministic training makes an honest update reproducible bit for bit,
//! so a check compares hashes), redundancy with a majority vote over result
//! hashes (colluders submitting the same wrong result can win); screening
//! of updates far from the robust centre is [`crate::screening`].

use rand::{Rng, RngExt};

/// A 32-byte result hash (SHA-256 of an update).
pub type ResultHash = [u8; 32];

/// How a round's updates are checked.
#[derive(Clone, Debug, PartialEq)]
pub enum Strategy {
    /// Nothing is checked; every claim is paid.
    None,
    /// Each update is re-executed with probability `p`.
    SpotCheck {
        /// Check probability.
        p: f64,
    },
    /// Consecutive contributors are `r` replicas of one task; a strict
    /// majority of result hashes wins.
    Redundancy {
        /// Replicas per task.
        r: u32,
        /// Whether lazy replicas submit one shared wrong result.
        colluding_lazy: bool,
    },
    /// Updates farther than `threshold` median distances from the median
    /// update are rejected.
    Screening {
        /// Distance threshold in median distances.
        threshold: f64,
    },
}

/// The outcome of checking one update.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Not checked (paid on trust).
    Unchecked,
    /// Checked and matched the honest re-execution.
    Passed,
    /// Checked and did not match: an invalid update.
    Caught,
}

/// Spot-check: with probability `p` a validator re-executes the task and
/// compares its hash with the submitted one.
pub fn spot_check<R: Rng + ?Sized>(
    p: f64,
    submitted: &ResultHash,
    reexecuted: &ResultHash,
    rng: &mut R,
) -> Verdict {
    if p <= 0.0 || rng.random::<f64>() >= p {
        return Verdict::Unchecked;
    }
    if submitted == reexecuted {
        Verdict::Passed
    } else {
        Verdict::Caught
    }
}

/// Redundancy: the hash submitted by a strict majority of the replicas wins;
/// returns the winning hash, or None without a strict majority.
pub fn majority(hashes: &[ResultHash]) -> Option<ResultHash> {
    let mut counts: Vec<(ResultHash, usize)> = Vec::new();
    for h in hashes {
        match counts.iter_mut().find(|(x, _)| x == h) {
            Some((_, c)) => *c += 1,
            None => counts.push((*h, 1)),
        }
    }
    counts
        .into_iter()
        .find(|(_, c)| 2 * c > hashes.len())
        .map(|(h, _)| h)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::stream;

    const HONEST: ResultHash = [1; 32];
    const LAZY: ResultHash = [2; 32];

    #[test]
    fn honest_updates_always_pass_and_lazy_ones_never_do() {
        let mut rng = stream(1, "spot", 0);
        for _ in 0..1000 {
            assert_ne!(spot_check(0.5, &HONEST, &HONEST, &mut rng), Verdict::Caught);
            assert_ne!(spot_check(0.5, &LAZY, &HONEST, &mut rng), Verdict::Passed);
        }
        assert_eq!(spot_check(1.0, &LAZY, &HONEST, &mut rng), Verdict::Caught);
        assert_eq!(
            spot_check(0.0, &LAZY, &HONEST, &mut rng),
            Verdict::Unchecked
        );
    }

    #[test]
    fn detection_rate_matches_p_within_binomial_error() {
        let (p, n) = (0.05, 40_000);
        let mut rng = stream(2, "spot", 0);
        let caught = (0..n)
            .filter(|_| spot_check(p, &LAZY, &HONEST, &mut rng) == Verdict::Caught)
            .count();
        let rate = caught as f64 / n as f64;
        let sd = (p * (1.0 - p) / n as f64).sqrt();
        assert!((rate - p).abs() < 4.0 * sd, "rate {rate} vs {p} ± {sd}");
    }

    #[test]
    fn redundancy_majority_with_and_without_collusion() {
        let bad = [9; 32];
        // r = 3, one cheater: the honest majority wins.
        assert_eq!(majority(&[HONEST, bad, HONEST]), Some(HONEST));
        // Two colluders submitting the same wrong result win.
        assert_eq!(majority(&[bad, HONEST, bad]), Some(bad));
        // Two cheaters who do not collude (different wrong results): no majority.
        assert_eq!(majority(&[[7; 32], HONEST, [8; 32]]), None);
        // Even split: no strict majority.
        assert_eq!(majority(&[HONEST, bad]), None);
    }
}
