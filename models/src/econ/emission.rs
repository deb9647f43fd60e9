//! Emission curves: how many new tokens each economic epoch mints. Every
//! curve is defined by its cumulative emission after `n` epochs, rounded to
//! the base unit; an epoch emits the difference, so the running total always
//! equals the closed form exactly.

/// An emission schedule.
#[derive(Clone, Debug, PartialEq)]
pub enum Curve {
    /// The same amount every epoch.
    Constant {
        /// Base units per epoch.
        per_epoch: u128,
    },
    /// Starts at `initial` and falls by `decrement` each epoch, never below zero.
    LinearDecay {
        /// Base units in epoch 0.
        initial: u128,
        /// Decrease per epoch.
        decrement: u128,
    },
    /// `initial · 2^(−e / half_life)` in epoch `e`.
    ExponentialDecay {
        /// Base units in epoch 0.
        initial: u128,
        /// Epochs for the rate to halve (> 0).
        half_life: f64,
    },
    /// Bitcoin-style: `initial`, halved (integer shift) every `every` epochs.
    Halving {
        /// Base units per epoch in the first period.
        initial: u128,
        /// Epochs per period (≥ 1).
        every: u64,
    },
    /// Capped supply approached asymptotically: `cap · (1 − e^(−λ n))`
    /// after `n` epochs (Filecoin's simple minting shape).
    Capped {
        /// The supply emission approaches.
        cap: u128,
        /// λ per epoch (> 0).
        rate: f64,
    },
    /// A table of `(first epoch, base units per epoch)` steps, sorted by epoch;
    /// zero before the first step.
    Piecewise {
        /// The steps.
        steps: Vec<(u64, u128)>,
    },
}

impl Curve {
    /// Total emitted in epochs `0..n` (the closed form, rounded to base
    /// units). Saturates at `u128::MAX` instead of wrapping (validation
    /// keeps real runs far below; see [`crate::econ::MAX_SUPPLY_TOKENS`]).
    pub fn cumulative(&self, n: u64) -> u128 {
        match self {
            Curve::Constant { per_epoch } => per_epoch.saturating_mul(u128::from(n)),
            Curve::LinearDecay { initial, decrement } => {
                // Σ_{e<n} max(initial − e·d, 0): full arithmetic series up to the zero crossing.
                if *decrement == 0 {
                    return initial.saturating_mul(u128::from(n));
                }
                let positive = (initial.div_ceil(*decrement)).min(u128::from(n)); // epochs with e·d < initial
                positive.saturating_mul(*initial).saturating_sub(
                    decrement
                        .saturating_mul(positive)
                        .saturating_mul(positive.saturating_sub(1))
                        / 2,
                )
            }
            Curve::ExponentialDecay { initial, half_life } => {
                let r = 0.5f64.powf(1.0 / half_life);
                let total = *initial as f64 * (1.0 - r.powf(n as f64)) / (1.0 - r);
                total.round() as u128
            }
            Curve::Halving { initial, every } => {
                let mut total = 0u128;
                let mut left = n;
                let mut rate = *initial;
                while left > 0 && rate > 0 {
                    let take = left.min(*every);
                    total = total.saturating_add(rate.saturating_mul(u128::from(take)));
                    left -= take;
                    rate >>= 1;
                }
                total
            }
            Curve::Capped { cap, rate } => {
                (*cap as f64 * (1.0 - (-rate * n as f64).exp())).round() as u128
            }
            Curve::Piecewise { steps } => {
                let mut total = 0u128;
                for (i, &(start, per)) in steps.iter().enumerate() {
                    let end = steps.get(i + 1).map_or(n, |s| s.0.min(n));
                    if end > start {
                        total = total.saturating_add(per.saturating_mul(u128::from(end - start)));
                    }
                }
                total
            }
        }
    }

    /// Base units minted in epoch `e`.
    pub fn emission(&self, e: u64) -> u128 {
        self.cumulative(e + 1) - self.cumulative(e)
    }

    /// The same shape scaled so that epochs `0..epochs` emit `budget` base
    /// units in total (to within rounding): every amount of the curve is
    /// multiplied by `budget / cumulative(epochs)`. None when the curve
    /// emits nothing in those epochs, so no scale can reach the budget.
    pub fn with_budget(&self, budget: u128, epochs: u64) -> Option<Curve> {
        let now = self.cumulative(epochs);
        if now == 0 {
            return None;
        }
        let k = budget as f64 / now as f64;
        let s = |v: &u128| (*v as f64 * k).round() as u128;
        Some(match self {
            Curve::Constant { per_epoch } => Curve::Constant {
                per_epoch: s(per_epoch),
            },
            Curve::LinearDecay { initial, decrement } => Curve::LinearDecay {
                initial: s(initial),
                decrement: s(decrement),
            },
            Curve::ExponentialDecay { initial, half_life } => Curve::ExponentialDecay {
                initial: s(initial),
                half_life: *half_life,
            },
            Curve::Halving { initial, every } => Curve::Halving {
                initial: s(initial),
                every: *every,
            },
            Curve::Capped { cap, rate } => Curve::Capped {
                cap: s(cap),
                rate: *rate,
            },
            Curve::Piecewise { steps } => Curve::Piecewise {
                steps: steps.iter().map(|(e, v)| (*e, s(v))).collect(),
            },
        })
    }

    /// Name for outputs.
    pub fn label(&self) -> &'static str {
        match self {
            Curve::Constant { .. } => "constant",
            Curve::LinearDecay { .. } => "linear_decay",
            Curve::ExponentialDecay { .. } => "exponential_decay",
            Curve::Halving { .. } => "halving",
            Curve::Capped { .. } => "capped",
            Curve::Piecewise { .. } => "piecewise",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::econ::TOKEN;

    #[test]
    fn cumulative_saturates_instead_of_wrapping() {
        let huge = u128::MAX / 2;
        assert_eq!(Curve::Constant { per_epoch: huge }.cumulative(3), u128::MAX);
        let steps = vec![(0, huge), (1, huge), (2, huge)];
        assert_eq!(Curve::Piecewise { steps }.cumulative(3), u128::MAX);
        let halving = Curve::Halving {
            initial: huge,
            every: 10,
        };
        assert_eq!(halving.cumulative(10), u128::MAX);
    }

    fn summed(c: &Curve, n: u64) -> u128 {
        (0..n).map(|e| c.emission(e)).sum()
    }

    #[test]
    fn constant_and_linear_match_their_sums() {
        let c = Curve::Constant {
            per_epoch: 7 * TOKEN,
        };
        assert_eq!(summed(&c, 100), 700 * TOKEN);
        // 100, 90, …, 10, then 0: Σ = 10 · (100 + 10) / 2 = 550.
        let l = Curve::LinearDecay {
            initial: 100,
            decrement: 10,
        };
        assert_eq!(summed(&l, 30), 550);
        assert_eq!(l.emission(3), 70);
        assert_eq!(l.emission(10), 0);
        let uneven = Curve::LinearDecay {
            initial: 25,
            decrement: 10,
        };
        assert_eq!(summed(&uneven, 5), 25 + 15 + 5);
    }

    #[test]
    fn halving_matches_bitcoin_arithmetic() {
        // 50 per epoch halving every 210,000 epochs: total → 21M minus the
        // integer-shift dust (the shift drops fractions as Bitcoin does).
        let h = Curve::Halving {
            initial: 50 * 100_000_000,
            every: 210_000,
        };
        let total = h.cumulative(64 * 210_000);
        assert_eq!(total, 2_099_999_997_690_000);
        assert_eq!(h.emission(209_999), 50 * 100_000_000);
        assert_eq!(h.emission(210_000), 25 * 100_000_000);
        assert_eq!(
            summed(
                &Curve::Halving {
                    initial: 8,
                    every: 3
                },
                10
            ),
            3 * 8 + 3 * 4 + 3 * 2 + 1
        );
    }

    #[test]
    fn exponential_and_capped_follow_the_closed_forms() {
        let e = Curve::ExponentialDecay {
            initial: 1_000 * TOKEN,
            half_life: 10.0,
        };
        // Geometric series: Σ_{k<n} a r^k = a (1 − r^n) / (1 − r), r = 2^(−1/10).
        let r = 0.5f64.powf(0.1);
        let expected = 1_000.0 * (1.0 - r.powi(50)) / (1.0 - r);
        let got = summed(&e, 50) as f64 / TOKEN as f64;
        assert!((got - expected).abs() < 1e-9, "{got} vs {expected}");
        assert_eq!(summed(&e, 50), e.cumulative(50));
        // Emission halves after one half-life.
        let ratio = e.emission(10) as f64 / e.emission(0) as f64;
        assert!((ratio - 0.5).abs() < 0.02, "{ratio}");
        // Filecoin-like: 330M · (1 − e^(−λ n)); after one half-life half the cap.
        let lambda = std::f64::consts::LN_2 / 72.0;
        let c = Curve::Capped {
            cap: 330_000_000 * TOKEN,
            rate: lambda,
        };
        let half = c.cumulative(72) as f64 / TOKEN as f64;
        assert!((half - 165_000_000.0).abs() < 1e-3, "{half}");
        assert_eq!(summed(&c, 720), c.cumulative(720));
        assert!(c.cumulative(100_000) <= 330_000_000 * TOKEN);
    }

    #[test]
    fn capped_is_exponential_decay_with_another_parameter() {
        // cap · (1 − e^(−λn)) with λ = ln 2 / h equals the geometric series
        // of exponential decay with initial = cap · (1 − 2^(−1/h)).
        let h = 12.0;
        let cap = 50_000 * TOKEN;
        let capped = Curve::Capped {
            cap,
            rate: std::f64::consts::LN_2 / h,
        };
        let initial = (cap as f64 * (1.0 - 0.5f64.powf(1.0 / h))).round() as u128;
        let decay = Curve::ExponentialDecay {
            initial,
            half_life: h,
        };
        for n in [1, 10, 72, 1000] {
            let (a, b) = (capped.cumulative(n) as f64, decay.cumulative(n) as f64);
            assert!((a - b).abs() <= 1e-9 * a, "n = {n}: {a} vs {b}");
        }
    }

    #[test]
    fn a_budget_scales_every_curve_to_the_same_total() {
        let budget = 50_000 * TOKEN;
        let curves = [
            Curve::Constant { per_epoch: TOKEN },
            Curve::LinearDecay {
                initial: 2_000 * TOKEN,
                decrement: 40 * TOKEN,
            },
            Curve::ExponentialDecay {
                initial: TOKEN,
                half_life: 12.0,
            },
            Curve::Halving {
                initial: 2_000 * TOKEN,
                every: 6,
            },
            Curve::Capped {
                cap: TOKEN,
                rate: 0.05,
            },
            Curve::Piecewise {
                steps: vec![(0, 3 * TOKEN), (10, TOKEN)],
            },
        ];
        for c in curves {
            let b = c.with_budget(budget, 72).unwrap();
            let got = b.cumulative(72) as f64;
            assert!(
                (got - budget as f64).abs() < 1e-9 * budget as f64,
                "{}: {got}",
                c.label()
            );
            assert_eq!(b.label(), c.label());
        }
        // A shape that emits nothing in the window cannot be scaled.
        let late = Curve::Piecewise {
            steps: vec![(100, TOKEN)],
        };
        assert_eq!(late.with_budget(budget, 72), None);
    }

    #[test]
    fn piecewise_steps() {
        let p = Curve::Piecewise {
            steps: vec![(0, 10), (5, 4), (8, 0)],
        };
        assert_eq!(summed(&p, 20), 5 * 10 + 3 * 4);
        assert_eq!(p.emission(6), 4);
        let late = Curve::Piecewise {
            steps: vec![(3, 2)],
        };
        assert_eq!(summed(&late, 5), 4);
    }
}
