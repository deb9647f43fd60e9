//! Token price in USD over time: constant, geometric Brownian motion on a
//! fixed time grid, or a series given as (time, price) points held
//! step-wise.
//!
//! The GBM path is a function of time alone: step `k` uses the `k`-th
//! counter-based normal draw of the path's key, and the price between grid
//! points is the last grid point's. Two runs with the same price seed see
//! the same path, however often (and whenever) each asks for the price.

use crate::rng::counter_normal;

/// A token-price model.
#[derive(Clone, Debug, PartialEq)]
pub enum PriceModel {
    /// The same price throughout.
    Constant {
        /// USD per token.
        usd: f64,
    },
    /// Geometric Brownian motion with yearly drift μ and volatility σ.
    Gbm {
        /// Price at time 0, USD.
        initial_usd: f64,
        /// Drift per year.
        mu: f64,
        /// Volatility per √year.
        sigma: f64,
        /// Grid step, s: the price moves at multiples of it and holds between.
        step_s: f64,
        /// Key of the path's counter-based draws (from the price seed).
        key: u64,
    },
    /// A step series of `(time s, USD)` points sorted by time; the first
    /// price holds before the first point.
    Series {
        /// The points.
        points: Vec<(f64, f64)>,
    },
}

const YEAR_S: f64 = 365.25 * 86_400.0;

/// A price path, read at any times (fastest when they increase).
pub struct PricePath {
    model: PriceModel,
    /// GBM: the grid index and log-price reached so far.
    cursor: (u64, f64),
}

impl PricePath {
    /// Starts the path at time 0.
    pub fn new(model: PriceModel) -> PricePath {
        let log0 = match &model {
            PriceModel::Gbm { initial_usd, .. } => initial_usd.ln(),
            _ => 0.0,
        };
        PricePath {
            model,
            cursor: (0, log0),
        }
    }

    /// The price at `t_s` seconds.
    pub fn at(&mut self, t_s: f64) -> f64 {
        match &self.model {
            PriceModel::Constant { usd } => *usd,
            PriceModel::Gbm {
                initial_usd,
                mu,
                sigma,
                step_s,
                key,
            } => {
                if *initial_usd <= 0.0 {
                    return 0.0;
                }
                let k = (t_s.max(0.0) / step_s).floor() as u64;
                if k < self.cursor.0 {
                    self.cursor = (0, initial_usd.ln());
                }
                let dt = step_s / YEAR_S;
                let drift = (mu - 0.5 * sigma * sigma) * dt;
                let vol = sigma * dt.sqrt();
                let (mut i, mut log) = self.cursor;
                while i < k {
                    log += drift + vol * counter_normal(*key, i);
                    i += 1;
                }
                self.cursor = (k, log);
                log.exp()
            }
            PriceModel::Series { points } => {
                let i = points.partition_point(|p| p.0 <= t_s);
                points.get(i.saturating_sub(1)).map_or(0.0, |p| p.1)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn constant_and_series() {
        let mut c = PricePath::new(PriceModel::Constant { usd: 2.0 });
        assert_eq!(c.at(100.0), 2.0);
        let mut s = PricePath::new(PriceModel::Series {
            points: vec![(0.0, 1.0), (10.0, 3.0), (20.0, 2.0)],
        });
        assert_eq!(
            [s.at(5.0), s.at(10.0), s.at(19.0), s.at(99.0)],
            [1.0, 3.0, 3.0, 2.0]
        );
    }

    fn gbm(key: u64) -> PricePath {
        PricePath::new(PriceModel::Gbm {
            initial_usd: 1.0,
            mu: 0.1,
            sigma: 0.5,
            step_s: 3600.0,
            key,
        })
    }

    #[test]
    fn a_gbm_path_depends_on_time_only_not_on_when_it_is_read() {
        // Read every minute for two days, or only at a few times, or backwards:
        // the same times give the same prices.
        let mut dense = gbm(9);
        let mut by_minute = Vec::new();
        for m in 0..=2 * 24 * 60 {
            by_minute.push(dense.at(f64::from(m) * 60.0));
        }
        let mut sparse = gbm(9);
        for m in [2 * 24 * 60, 61, 0, 1_000, 59] {
            assert_eq!(
                sparse.at(f64::from(m) * 60.0),
                by_minute[m as usize],
                "minute {m}"
            );
        }
        // Held between grid points, moving at them.
        assert_eq!(by_minute[0], 1.0);
        assert_eq!(by_minute[59], 1.0);
        assert_ne!(by_minute[60], 1.0);
        assert_eq!(by_minute[60], by_minute[119]);
        // Another key, another path.
        assert_ne!(gbm(10).at(86_400.0), by_minute[24 * 60]);
    }

    #[test]
    fn gbm_mean_grows_at_the_drift() {
        // E[S_T] = S_0 e^{μT}: one year, μ = 0.1, σ = 0.5, 4,000 paths of 12 steps.
        let mut total = 0.0;
        let n = 4000;
        for k in 0..n {
            let mut p = PricePath::new(PriceModel::Gbm {
                initial_usd: 1.0,
                mu: 0.1,
                sigma: 0.5,
                step_s: YEAR_S / 12.0,
                key: crate::rng::stream_key(7, "price", k),
            });
            total += p.at(YEAR_S);
        }
        let mean = total / n as f64;
        assert!((mean - 0.1f64.exp()).abs() < 0.03, "{mean}");
    }
}
