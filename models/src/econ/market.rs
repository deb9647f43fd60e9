//! Compute-market clearing, engine-free: a per-epoch uniform-price double
//! auction of operators' asks against agents' bids, and a per-job reverse
//! auction (Akash-style: providers bid on one order, the buyer picks by
//! price and reputation) paid at the first or the second price. Prices
//! are per unit of work (e.g. tokens per GPU-hour); ties are broken by id,
//! so a clearing is the same on every run. Runs use the reverse auction
//! (`sim::market`); the double auction is not yet wired into them.

/// An operator's offer: up to `units` of work at no less than `price` each.
#[derive(Copy, Clone, Debug, PartialEq)]
pub struct Ask {
    /// The provider's id.
    pub provider: u32,
    /// Units offered.
    pub units: u64,
    /// Lowest acceptable price per unit.
    pub price: f64,
}

/// A buyer's order: up to `units` of work at no more than `price` each.
#[derive(Copy, Clone, Debug, PartialEq)]
pub struct Bid {
    /// The buyer's id.
    pub buyer: u32,
    /// Units wanted.
    pub units: u64,
    /// Highest acceptable price per unit.
    pub price: f64,
}

/// Units one buyer gets from one provider.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct Fill {
    /// The buyer's id.
    pub buyer: u32,
    /// The provider's id.
    pub provider: u32,
    /// Units traded.
    pub units: u64,
}

/// The outcome of a double auction.
#[derive(Clone, Debug, PartialEq)]
pub struct Clearing {
    /// The uniform price every fill pays (None when nothing trades).
    pub price: Option<f64>,
    /// Units traded.
    pub volume: u64,
    /// Units bid for that found no seller at the bidders' prices.
    pub unfilled_demand: u64,
    /// Units offered that found no buyer.
    pub unsold_supply: u64,
    /// Who trades with whom: bids from the highest price, asks from the
    /// lowest, matched in that order.
    pub fills: Vec<Fill>,
}

/// Clears a uniform-price double auction.
///
/// Bids are taken from the highest price (ties: the lower buyer id) and
/// asks from the lowest (ties: the lower provider id); units trade while
/// the next bid's price is at least the next ask's. The price is the
/// midpoint of the last traded bid's and ask's prices (a k-double auction
/// with k = ½), so no trader pays more than its bid or receives less than
/// its ask.
pub fn double_auction(asks: &[Ask], bids: &[Bid]) -> Clearing {
    let mut asks: Vec<Ask> = asks
        .iter()
        .filter(|a| a.units > 0 && a.price.is_finite())
        .copied()
        .collect();
    let mut bids: Vec<Bid> = bids
        .iter()
        .filter(|b| b.units > 0 && b.price.is_finite())
        .copied()
        .collect();
    asks.sort_by(|a, b| {
        a.price
            .total_cmp(&b.price)
            .then(a.provider.cmp(&b.provider))
    });
    bids.sort_by(|a, b| b.price.total_cmp(&a.price).then(a.buyer.cmp(&b.buyer)));
    let demand: u64 = bids.iter().map(|b| b.units).sum();
    let supply: u64 = asks.iter().map(|a| a.units).sum();
    let (mut i, mut j) = (0, 0);
    let (mut bid_left, mut ask_left) = (
        bids.first().map_or(0, |b| b.units),
        asks.first().map_or(0, |a| a.units),
    );
    let mut fills: Vec<Fill> = Vec::new();
    let mut last = None;
    while i < bids.len() && j < asks.len() && bids[i].price >= asks[j].price {
        let units = bid_left.min(ask_left);
        match fills.last_mut() {
            Some(f) if f.buyer == bids[i].buyer && f.provider == asks[j].provider => {
                f.units += units
            }
            _ => fills.push(Fill {
                buyer: bids[i].buyer,
                provider: asks[j].provider,
                units,
            }),
        }
        last = Some((bids[i].price, asks[j].price));
        bid_left -= units;
        ask_left -= units;
        if bid_left == 0 {
            i += 1;
            bid_left = bids.get(i).map_or(0, |b| b.units);
        }
        if ask_left == 0 {
            j += 1;
            ask_left = asks.get(j).map_or(0, |a| a.units);
        }
    }
    let volume: u64 = fills.iter().map(|f| f.units).sum();
    Clearing {
        price: last.map(|(b, a)| (b + a) / 2.0),
        volume,
        unfilled_demand: demand - volume,
        unsold_supply: supply - volume,
        fills,
    }
}

/// A provider's bid on one order in a reverse auction.
#[derive(Copy, Clone, Debug, PartialEq)]
pub struct Offer {
    /// The provider's id.
    pub provider: u32,
    /// Price asked for the whole order.
    pub price: f64,
    /// Reputation in [0, 1] (from verification outcomes).
    pub reputation: f64,
}

/// What the winner of a reverse auction is paid.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Payment {
    /// Its own price (first price, sealed or open).
    FirstPrice,
    /// The next-best eligible price (sealed second price, Vickrey): bidding
    /// one's true cost is a dominant strategy. With one eligible offer, the
    /// buyer's cap.
    SecondPrice,
}

/// The buyer's rules for one order.
#[derive(Copy, Clone, Debug, PartialEq)]
pub struct OrderRules {
    /// The highest price it may pay (its on-chain cap).
    pub price_cap: f64,
    /// The lowest reputation it accepts.
    pub min_reputation: f64,
    /// How the winner is paid.
    pub payment: Payment,
    /// How much reputation counts in the ranking, `w` ≥ 0: offers rank by
    /// their score `price / reputation^w` (0: by price alone).
    pub reputation_weight: f64,
}

/// An offer's score under reputation weight `w`: `price /
/// reputation^w` (the price itself at w = 0; never below the price for
/// reputations in [0, 1]).
pub fn offer_score(price: f64, reputation: f64, w: f64) -> f64 {
    if w == 0.0 {
        price
    } else {
        price / reputation.max(1e-9).powf(w)
    }
}

impl OrderRules {
    /// An offer's score under these rules.
    fn score(&self, o: &Offer) -> f64 {
        offer_score(o.price, o.reputation, self.reputation_weight)
    }

    /// What a winner of `reputation` is paid under second price when the
    /// best losing score is `losing` (None: no eligible offer lost): the
    /// highest price at which it would still have won, `losing ·
    /// reputation^w`, never above the cap.
    fn critical_price(&self, losing: Option<f64>, reputation: f64) -> f64 {
        match losing {
            None => self.price_cap,
            Some(_) if self.reputation_weight == 0.0 => losing.unwrap_or(self.price_cap),
            Some(l) => (l * reputation.max(1e-9).powf(self.reputation_weight)).min(self.price_cap),
        }
    }
}

/// The winner of a reverse auction and what it is paid.
#[derive(Copy, Clone, Debug, PartialEq)]
pub struct Award {
    /// The winning provider.
    pub provider: u32,
    /// What the buyer pays it (never above the cap).
    pub paid: f64,
}

/// Runs a reverse auction on one order: among the offers at or below the
/// cap from providers of at least the minimum reputation, the lowest price
/// wins (ties: the higher reputation, then the lower id); None when no
/// offer is eligible.
pub fn reverse_auction(offers: &[Offer], rules: &OrderRules) -> Option<Award> {
    reverse_auction_k(offers, rules, 1).into_iter().next()
}

/// Runs a reverse auction for `k` providers on one order (a job that
/// trains on `k` nodes): the `k` best eligible offers win, ranked as in
/// [`reverse_auction`] — or, with a `reputation_weight` w > 0, by score
/// `price / reputation^w` (ties: the higher reputation, then the lower
/// id). First price pays each winner its own price; second price pays
/// every winner the best losing eligible price (the `k+1`-th, the uniform
/// Vickrey price for providers that each sell one unit), or the cap when
/// no eligible offer lost; with w > 0 each winner is paid its critical
/// price, the best losing score × its own reputation^w (the highest ask
/// at which it would still have won), never above the cap. Fewer than `k`
/// awards when fewer offers are eligible; the buyer decides whether that
/// is enough.
pub fn reverse_auction_k(offers: &[Offer], rules: &OrderRules, k: usize) -> Vec<Award> {
    let mut eligible: Vec<&Offer> = offers
        .iter()
        .filter(|o| {
            o.price.is_finite()
                && o.price <= rules.price_cap
                && o.reputation >= rules.min_reputation
        })
        .collect();
    let rank = |a: &&Offer, b: &&Offer| {
        rules
            .score(a)
            .total_cmp(&rules.score(b))
            .then(b.reputation.total_cmp(&a.reputation))
            .then(a.provider.cmp(&b.provider))
    };
    // Only the k + 1 best matter: partition them to the front in linear
    // time, then sort those (the order is total, so the result is the
    // same as sorting everything).
    if eligible.len() > k + 1 {
        eligible.select_nth_unstable_by(k, rank);
        eligible.truncate(k + 1);
    }
    eligible.sort_by(rank);
    let losing = eligible.get(k).map(|o| rules.score(o));
    eligible
        .iter()
        .take(k)
        .map(|o| Award {
            provider: o.provider,
            paid: match rules.payment {
                Payment::FirstPrice => o.price,
                Payment::SecondPrice => rules.critical_price(losing, o.reputation),
            },
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ask(provider: u32, units: u64, price: f64) -> Ask {
        Ask {
            provider,
            units,
            price,
        }
    }

    fn bid(buyer: u32, units: u64, price: f64) -> Bid {
        Bid {
            buyer,
            units,
            price,
        }
    }

    #[test]
    fn a_double_auction_clears_a_hand_worked_book() {
        // Asks: 10 @ 1.0 (p1), 5 @ 2.0 (p2), 10 @ 4.0 (p3).
        // Bids: 8 @ 5.0 (b7), 6 @ 3.0 (b8), 10 @ 1.5 (b9).
        // b7 takes 8 of p1; b8 takes p1's last 2 and 4 of p2; b9 (1.5)
        // meets p2 (2.0): no trade. Marginal pair: b8 @ 3.0 and p2 @ 2.0.
        let c = double_auction(
            &[ask(3, 10, 4.0), ask(1, 10, 1.0), ask(2, 5, 2.0)],
            &[bid(9, 10, 1.5), bid(7, 8, 5.0), bid(8, 6, 3.0)],
        );
        assert_eq!(c.price, Some(2.5));
        assert_eq!(c.volume, 14);
        assert_eq!(c.unfilled_demand, 10);
        assert_eq!(c.unsold_supply, 11);
        assert_eq!(
            c.fills,
            vec![
                Fill {
                    buyer: 7,
                    provider: 1,
                    units: 8
                },
                Fill {
                    buyer: 8,
                    provider: 1,
                    units: 2
                },
                Fill {
                    buyer: 8,
                    provider: 2,
                    units: 4
                },
            ]
        );
    }

    #[test]
    fn ties_are_broken_by_id_and_nothing_trades_across_a_gap() {
        // Two asks at one price: the lower provider id sells first.
        let c = double_auction(&[ask(5, 3, 1.0), ask(4, 3, 1.0)], &[bid(1, 4, 1.0)]);
        assert_eq!(c.price, Some(1.0));
        assert_eq!(
            c.fills,
            vec![
                Fill {
                    buyer: 1,
                    provider: 4,
                    units: 3
                },
                Fill {
                    buyer: 1,
                    provider: 5,
                    units: 1
                },
            ]
        );
        // Every bid below every ask: no trade, no price.
        let none = double_auction(&[ask(1, 5, 3.0)], &[bid(1, 5, 2.0)]);
        assert_eq!(
            (none.price, none.volume, none.unfilled_demand),
            (None, 0, 5)
        );
        assert_eq!(double_auction(&[], &[]).price, None);
    }

    fn offer(provider: u32, price: f64, reputation: f64) -> Offer {
        Offer {
            provider,
            price,
            reputation,
        }
    }

    const RULES: OrderRules = OrderRules {
        price_cap: 10.0,
        min_reputation: 0.5,
        payment: Payment::FirstPrice,
        reputation_weight: 0.0,
    };

    #[test]
    fn a_reverse_auction_picks_the_cheapest_eligible_offer() {
        let offers = [
            offer(1, 4.0, 0.9),
            offer(2, 3.0, 0.3), // cheapest, but below the reputation floor
            offer(3, 4.0, 0.95),
            offer(4, 12.0, 1.0), // above the cap
            offer(5, 6.0, 0.8),
        ];
        // First price: the 4.0 tie goes to the higher reputation.
        let first = reverse_auction(&offers, &RULES).unwrap();
        assert_eq!(
            first,
            Award {
                provider: 3,
                paid: 4.0
            }
        );
        // Second price: the winner is paid the next eligible offer, 4.0.
        let second = OrderRules {
            payment: Payment::SecondPrice,
            ..RULES
        };
        assert_eq!(
            reverse_auction(&offers, &second).unwrap(),
            Award {
                provider: 3,
                paid: 4.0
            }
        );
        // Without provider 1, the second price is provider 5's 6.0.
        let without: Vec<Offer> = offers.iter().filter(|o| o.provider != 1).copied().collect();
        assert_eq!(
            reverse_auction(&without, &second).unwrap(),
            Award {
                provider: 3,
                paid: 6.0
            }
        );
        // One eligible offer is paid the cap; none eligible, no award.
        assert_eq!(
            reverse_auction(&[offer(7, 2.0, 1.0)], &second)
                .unwrap()
                .paid,
            10.0
        );
        assert_eq!(reverse_auction(&[offer(2, 3.0, 0.3)], &RULES), None);
    }

    #[test]
    fn a_reverse_auction_for_several_providers_pays_by_hand() {
        let offers = [
            offer(1, 4.0, 0.9),
            offer(2, 3.0, 0.3), // below the reputation floor
            offer(3, 4.0, 0.95),
            offer(4, 12.0, 1.0), // above the cap
            offer(5, 6.0, 0.8),
            offer(6, 5.0, 0.6),
        ];
        // Eligible ranking: 3 (4.0, .95), 1 (4.0, .9), 6 (5.0), 5 (6.0).
        let won = |awards: &[Award]| {
            awards
                .iter()
                .map(|a| (a.provider, a.paid))
                .collect::<Vec<_>>()
        };
        assert_eq!(
            won(&reverse_auction_k(&offers, &RULES, 3)),
            [(3, 4.0), (1, 4.0), (6, 5.0)]
        );
        // Second price: every winner is paid the best loser's 6.0.
        let second = OrderRules {
            payment: Payment::SecondPrice,
            ..RULES
        };
        assert_eq!(
            won(&reverse_auction_k(&offers, &second, 3)),
            [(3, 6.0), (1, 6.0), (6, 6.0)]
        );
        // Asking for more than are eligible: all four win, paid the cap.
        assert_eq!(
            won(&reverse_auction_k(&offers, &second, 5)),
            [(3, 10.0), (1, 10.0), (6, 10.0), (5, 10.0)]
        );
        assert!(reverse_auction_k(&offers, &RULES, 0).is_empty());
    }

    #[test]
    fn a_reputation_weighted_auction_ranks_by_score_and_pays_critical_prices() {
        let offers = [
            offer(1, 4.0, 0.5),  // score 4 / 0.5 = 8
            offer(2, 5.0, 1.0),  // score 5
            offer(3, 4.5, 0.75), // score 6
            offer(4, 3.0, 0.4),  // below the floor
            offer(5, 6.3, 0.9),  // score 7
        ];
        let weighted = OrderRules {
            reputation_weight: 1.0,
            ..RULES
        };
        let won = |awards: &[Award]| {
            awards
                .iter()
                .map(|a| (a.provider, a.paid))
                .collect::<Vec<_>>()
        };
        // Ranked 2 (5), 3 (6), 5 (7), 1 (8): first price pays the asks.
        assert_eq!(
            won(&reverse_auction_k(&offers, &weighted, 2)),
            [(2, 5.0), (3, 4.5)]
        );
        // Second price: the best losing score is 5's 7; provider 2 would
        // have won up to 7 × 1.0, provider 3 up to 7 × 0.75 = 5.25.
        let second = OrderRules {
            payment: Payment::SecondPrice,
            ..weighted
        };
        assert_eq!(
            won(&reverse_auction_k(&offers, &second, 2)),
            [(2, 7.0), (3, 5.25)]
        );
        // A critical price above the cap is paid the cap: 3 winners, the
        // loser 1's score 8; provider 2 up to 8, provider 5 up to 7.2.
        let capped = OrderRules {
            price_cap: 7.5,
            ..second
        };
        assert_eq!(
            won(&reverse_auction_k(&offers, &capped, 3)),
            [(2, 7.5), (3, 6.0), (5, 7.2)]
        );
        // Weight 0 is the price ranking: 1 (4.0) and 3 (4.5) win, paid
        // the best loser's 5.0.
        let plain = OrderRules {
            reputation_weight: 0.0,
            ..second
        };
        assert_eq!(
            won(&reverse_auction_k(&offers, &plain, 2)),
            [(1, 5.0), (3, 5.0)]
        );
    }

    #[test]
    fn nobody_pays_more_than_its_bid_or_receives_less_than_its_ask() {
        // Random books: every fill's price lies between the traders' limits.
        let mut seed = 7u64;
        let mut next = || {
            seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (seed >> 33) as f64 / (1u64 << 31) as f64
        };
        for _ in 0..200 {
            let asks: Vec<Ask> = (0..5)
                .map(|p| ask(p, 1 + (next() * 9.0) as u64, 1.0 + next() * 4.0))
                .collect();
            let bids: Vec<Bid> = (0..5)
                .map(|b| bid(b, 1 + (next() * 9.0) as u64, 1.0 + next() * 4.0))
                .collect();
            let c = double_auction(&asks, &bids);
            let Some(price) = c.price else { continue };
            for f in &c.fills {
                let b = bids.iter().find(|b| b.buyer == f.buyer).unwrap();
                let a = asks.iter().find(|a| a.provider == f.provider).unwrap();
                assert!(a.price <= price && price <= b.price, "{a:?} {price} {b:?}");
            }
            let demand: u64 = bids.iter().map(|b| b.units).sum();
            assert_eq!(c.volume + c.unfilled_demand, demand);
        }
    }
}
