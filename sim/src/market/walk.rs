//! When a walk over providers' offers, cheapest first, may stop: once the
//! prices pass the `k + 1`-th best score gathered, no later offer can be
//! awarded or set a price in an auction for `k` providers (a score is
//! never below its price).

use dmlsim_models::econ::market::offer_score;
use std::collections::BinaryHeap;

/// The `k + 1` best scores of the eligible offers gathered so far.
pub struct Enough {
    k: usize,
    min_reputation: f64,
    weight: f64,
    /// Scores as bits (non-negative floats order as their bits).
    best: BinaryHeap<u64>,
}

impl Enough {
    /// For an auction for `k` providers of at least `min_reputation`,
    /// ranking by `price / reputation^weight`.
    pub fn new(k: usize, min_reputation: f64, weight: f64) -> Enough {
        Enough {
            k,
            min_reputation,
            weight,
            best: BinaryHeap::with_capacity(k + 2),
        }
    }

    /// Whether an offer at `price` (and every later, dearer one) cannot
    /// matter: the walk may stop.
    pub fn passed(&self, price: f64) -> bool {
        self.best.len() == self.k + 1
            && self.best.peek().is_some_and(|&b| price > f64::from_bits(b))
    }

    /// Notes a gathered offer.
    pub fn note(&mut self, price: f64, reputation: f64) {
        if reputation < self.min_reputation {
            return;
        }
        let score = offer_score(price, reputation, self.weight);
        self.best.push(score.max(0.0).to_bits());
        if self.best.len() > self.k + 1 {
            self.best.pop();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use dmlsim_models::econ::market::{Offer, OrderRules, Payment, reverse_auction_k};
    use dmlsim_models::rng::stream;
    use rand::RngExt;

    #[test]
    fn a_walk_stopped_early_awards_and_prices_as_the_whole_book() {
        let mut rng = stream(9, "walk", 0);
        for case in 0..400 {
            let n = rng.random_range(1..60usize);
            let k = rng.random_range(1..8usize);
            let weight = [0.0, 0.5, 1.0, 3.0][case % 4];
            let mut offers: Vec<Offer> = (0..n as u32)
                .map(|provider| Offer {
                    provider,
                    // Coarse prices and reputations, so ties happen.
                    price: f64::from(rng.random_range(1..20u32)) / 4.0,
                    reputation: f64::from(rng.random_range(0..5u32)) / 4.0,
                })
                .collect();
            offers.sort_by(|a, b| {
                a.price
                    .total_cmp(&b.price)
                    .then(a.provider.cmp(&b.provider))
            });
            let min_reputation = [0.0, 0.5][case % 2];
            let mut enough = Enough::new(k, min_reputation, weight);
            let mut walked = Vec::new();
            for o in &offers {
                if enough.passed(o.price) {
                    break;
                }
                walked.push(*o);
                enough.note(o.price, o.reputation);
            }
            for payment in [Payment::FirstPrice, Payment::SecondPrice] {
                let rules = OrderRules {
                    price_cap: 100.0,
                    min_reputation,
                    payment,
                    reputation_weight: weight,
                };
                assert_eq!(
                    reverse_auction_k(&walked, &rules, k),
                    reverse_auction_k(&offers, &rules, k),
                    "case {case}"
                );
            }
        }
    }
}
