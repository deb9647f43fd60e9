//! Token price in USD over time: constant, geometric Brownian motion
//! (seeded), or a series given as (time, price) points held step-wise.

use rand::Rng;
use rand_distr::{Distribution, StandardNormal};

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
    },
    /// A step series of `(time s, USD)` points sorted by time; the first
    /// price holds before the first point.
    Series {
        /// The points.
        points: Vec<(f64, f64)>,
    },
}

const YEAR_S: f64 = 365.25 * 86_400.0;

/// A price path sampled at increasing times (GBM draws one step per call).
pub struct PricePath {
    model: PriceModel,
    last_t: f64,
    last_price: f64,
}

impl PricePath {
    /// Starts the path at time 0.
    pub fn new(model: PriceModel) -> PricePath {
        let p0 = match &model {
            PriceModel::Constant { usd } => *usd,
            PriceModel::Gbm { initial_usd, .. } => *initial_usd,
            PriceModel::Series { points } => points.first().map_or(0.0, |p| p.1),
        };
        PricePath {
            model,
            last_t: 0.0,
            last_price: p0,
        }
    }

    /// The price at `t_s` (≥ the previous call's time).
    pub fn at<R: Rng + ?Sized>(&mut self, t_s: f64, rng: &mut R) -> f64 {
        let price = match &self.model {
            PriceModel::Constant { usd } => *usd,
            PriceModel::Gbm { mu, sigma, .. } => {
                let dt = ((t_s - self.last_t) / YEAR_S).max(0.0);
                if dt == 0.0 {
                    self.last_price
                } else {
                    let z: f64 = StandardNormal.sample(rng);
                    self.last_price
                        * ((mu - 0.5 * sigma * sigma) * dt + sigma * dt.sqrt() * z).exp()
                }
            }
            PriceModel::Series { points } => {
                let i = points.partition_point(|p| p.0 <= t_s);
                points[i.saturating_sub(1)].1
            }
        };
        self.last_t = t_s;
        self.last_price = price;
        price
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::stream;

    #[test]
    fn constant_and_series() {
        let mut c = PricePath::new(PriceModel::Constant { usd: 2.0 });
        assert_eq!(c.at(100.0, &mut stream(1, "p", 0)), 2.0);
        let mut s = PricePath::new(PriceModel::Series {
            points: vec![(0.0, 1.0), (10.0, 3.0), (20.0, 2.0)],
        });
        let r = &mut stream(1, "p", 0);
        assert_eq!(
            [s.at(5.0, r), s.at(10.0, r), s.at(19.0, r), s.at(99.0, r)],
            [1.0, 3.0, 3.0, 2.0]
        );
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
            });
            let mut r = stream(7, "price", k);
            let mut last = 1.0;
            for m in 1..=12 {
                last = p.at(m as f64 * YEAR_S / 12.0, &mut r);
            }
            total += last;
        }
        let mean = total / n as f64;
        assert!((mean - 0.1f64.exp()).abs() < 0.03, "{mean}");
    }
}
