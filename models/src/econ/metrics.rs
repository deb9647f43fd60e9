//! Concentration of holdings (or of any non-negative amounts): the Gini
//! coefficient, Nakamoto coefficients and the Herfindahl–Hirschman index.
use super::u128_to_f64;

/// How concentrated a set of holdings is.
#[derive(Copy, Clone, Debug, Default, PartialEq)]
pub struct Concentration {
    /// Gini coefficient: 0 when everyone holds the same, (n−1)/n when one holds all.
    pub gini: f64,
    /// Nakamoto coefficient at 33%: the fewest holders who together hold
    /// at least 33% (the smallest k whose top-k share is ≥ 0.33).
    pub nakamoto_33: u32,
    /// Nakamoto coefficient at 51%: the fewest holders who together hold
    /// at least 51%.
    pub nakamoto_51: u32,
    /// Herfindahl–Hirschman index, Σ shares² (1/n for equal holdings, 1 for one holder).
    pub hhi: f64,
}

/// The Nakamoto coefficient at `percent`: the smallest k such that the k
/// largest holdings sum to at least `percent`% of the total (0 when the
/// total is 0). Exact integer arithmetic, so equal holdings give exactly
/// ⌈n·percent/100⌉.
pub fn nakamoto(holdings: &[u128], percent: u32) -> u32 {
    let mut v = holdings.to_vec();
    sort_desc(&mut v);
    nakamoto_sorted_desc(&v, v.len(), v.iter().sum(), percent)
}

/// [`nakamoto`] of `n` amounts whose non-zero ones, largest first, are
/// `desc`, and which sum to `total`.
fn nakamoto_sorted_desc(desc: &[u128], n: usize, total: u128, percent: u32) -> u32 {
    if total == 0 {
        return 0;
    }
    // top·100 ≥ total·percent without overflow: total = 100q + r.
    let (q, r) = (total / 100, total % 100);
    let p = u128::from(percent);
    let needed = q * p + (r * p).div_ceil(100);
    let mut acc = 0u128;
    for (k, x) in desc.iter().enumerate() {
        acc += x;
        if acc >= needed {
            return k as u32 + 1;
        }
    }
    n as u32
}

/// The concentration of `holdings` (all zeros or none: everything zero).
pub fn concentration(holdings: &[u128]) -> Concentration {
    Sorted::new(holdings).concentration()
}

/// Amounts sorted largest first, with their total as the metrics sum it
/// (in the original order), so several metrics — and the metrics of a
/// union with a few more amounts ([`Sorted::merged`]) — share one sort.
/// Only the non-zero amounts are kept in order (zeros are counted: they
/// come last), so a set of mostly zero rewards sorts only its few payees,
/// and a set whose amounts changed in a few places is brought up to date
/// without sorting it again ([`Sorted::update`]).
#[derive(Clone, Debug, Default)]
pub struct Sorted {
    /// The non-zero amounts, largest first.
    nonzero: Vec<u128>,
    /// How many amounts are zero.
    zeros: usize,
    total: f64,
    exact_total: u128,
}

/// `amounts` largest first (a descending sort; equal values are
/// indistinguishable, so any sort gives the same sequence).
fn sort_desc(amounts: &mut [u128]) {
    amounts.sort_unstable_by(|a, b| b.cmp(a));
}

/// The non-zero amounts of `amounts`, largest first.
fn nonzero_desc(amounts: &[u128]) -> Vec<u128> {
    let mut nonzero: Vec<u128> = amounts.iter().copied().filter(|&a| a > 0).collect();
    sort_desc(&mut nonzero);
    nonzero
}

/// Totals of `amounts` summed in their order: the f64 sum the metrics
/// divide by and the exact sum.
fn totals<'a>(amounts: impl Iterator<Item = &'a u128> + Clone) -> (f64, u128) {
    (
        amounts.clone().map(|&h| u128_to_f64(h)).sum(),
        amounts.sum(),
    )
}

/// Merges two sequences sorted largest first into one.
fn merge_desc(a: &[u128], b: &[u128]) -> Vec<u128> {
    let mut out = Vec::with_capacity(a.len() + b.len());
    let (mut i, mut j) = (0, 0);
    while i < a.len() && j < b.len() {
        if a[i] >= b[j] {
            out.push(a[i]);
            i += 1;
        } else {
            out.push(b[j]);
            j += 1;
        }
    }
    out.extend_from_slice(&a[i..]);
    out.extend_from_slice(&b[j..]);
    out
}

impl Sorted {
    /// Sorts `amounts`.
    pub fn new(amounts: &[u128]) -> Sorted {
        let nonzero = nonzero_desc(amounts);
        let (total, exact_total) = totals(amounts.iter());
        Sorted {
            zeros: amounts.len() - nonzero.len(),
            nonzero,
            total,
            exact_total,
        }
    }

    /// How many amounts there are.
    pub fn len(&self) -> usize {
        self.nonzero.len() + self.zeros
    }

    /// Whether there are no amounts.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// These amounts and `extra` together, sorted by merging `extra` in:
    /// the same as `Sorted::new` of the concatenation `original_order`
    /// (which holds this set's amounts and `extra`, in the order their
    /// total is to be summed).
    pub fn merged(&self, extra: &[u128], original_order: &[&[u128]]) -> Sorted {
        let extra_nonzero = nonzero_desc(extra);
        let all = || original_order.iter().flat_map(|s| s.iter());
        debug_assert_eq!(all().count(), self.len() + extra.len());
        let (total, exact_total) = totals(all());
        Sorted {
            nonzero: merge_desc(&self.nonzero, &extra_nonzero),
            zeros: self.zeros + (extra.len() - extra_nonzero.len()),
            total,
            exact_total,
        }
    }

    /// Brings these amounts, sorted from `before`, up to `after` (the
    /// same items, some amounts changed): afterwards `self` is what
    /// `Sorted::new(after)` gives. The changed amounts are taken out and
    /// put back in by merging, O(n + m log m) for m changes, so a set that
    /// changes in a few places a step is never sorted again. Sorts afresh
    /// when many changed or when `before` has another length.
    pub fn update(&mut self, before: &[u128], after: &[u128]) {
        if before.len() != after.len() || before.len() != self.len() {
            *self = Sorted::new(after);
            return;
        }
        let (mut removed, mut added) = (Vec::with_capacity(64), Vec::with_capacity(64));
        for (&b, &a) in before.iter().zip(after) {
            if b != a {
                if b > 0 {
                    removed.push(b);
                }
                if a > 0 {
                    added.push(a);
                }
            }
        }
        if removed.len() + added.len() > self.nonzero.len() / 4 {
            *self = Sorted::new(after);
            return;
        }
        sort_desc(&mut removed);
        sort_desc(&mut added);
        // `removed` is a sub-multiset of `nonzero`, both largest first:
        // walking them together skips each removed amount once.
        let mut kept = Vec::with_capacity(self.nonzero.len() - removed.len());
        let mut r = 0;
        for &x in &self.nonzero {
            if r < removed.len() && x == removed[r] {
                r += 1;
            } else {
                debug_assert!(
                    r == removed.len() || x > removed[r],
                    "before was not this set"
                );
                kept.push(x);
            }
        }
        debug_assert_eq!(r, removed.len(), "before was not this set");
        self.nonzero = merge_desc(&kept, &added);
        self.zeros = after.len() - self.nonzero.len();
        (self.total, self.exact_total) = totals(after.iter());
    }

    /// Gini, Nakamoto coefficients and HHI of the amounts.
    pub fn concentration(&self) -> Concentration {
        concentration_of(self)
    }

    /// The share of the `k` largest amounts in the total (see [`top_share`]).
    pub fn top_share(&self, k: usize) -> f64 {
        if self.exact_total == 0 {
            return 0.0;
        }
        u128_to_f64(self.nonzero.iter().take(k).sum::<u128>()) / u128_to_f64(self.exact_total)
    }
}

/// [`concentration`] of sorted amounts.
fn concentration_of(sorted: &Sorted) -> Concentration {
    let (total, exact_total, n_items) = (sorted.total, sorted.exact_total, sorted.len());
    if n_items == 0 || total <= 0.0 {
        return Concentration::default();
    }
    // The ascending order the Gini and HHI sums run in is the descending
    // one reversed (the conversion to f64 keeps order): the zeros first.
    let n = n_items as f64;
    // Gini = Σ (2i − n − 1) x_i / (n Σ x), i from 1, ascending; HHI =
    // Σ (x_i / Σ x)². Both sums in one pass, each in the order and from
    // the start (−0.0) that `Iterator::sum` uses. A zero adds a signed
    // zero: (2i − n − 1)·0 is −0.0 while 2i < n + 1 and +0.0 after, and
    // (0/Σ)² is +0.0; so after z ≥ 1 zeros the Gini sum is −0.0 exactly
    // when 2z < n + 1 and the HHI sum is +0.0, the values the sums over
    // the zeros themselves would reach.
    let z = sorted.zeros;
    let (mut weighted, mut hhi) = match z {
        0 => (-0.0f64, -0.0f64),
        _ if 2 * z < n_items + 1 => (-0.0, 0.0),
        _ => (0.0, 0.0),
    };
    for (k, &h) in sorted.nonzero.iter().rev().enumerate() {
        let i = z + k;
        let x = u128_to_f64(h);
        weighted += (2.0 * (i as f64 + 1.0) - n - 1.0) * x;
        hhi += (x / total).powi(2);
    }
    let gini = weighted / (n * total);
    Concentration {
        gini,
        nakamoto_33: nakamoto_sorted_desc(&sorted.nonzero, n_items, exact_total, 33),
        nakamoto_51: nakamoto_sorted_desc(&sorted.nonzero, n_items, exact_total, 51),
        hhi,
    }
}

/// The values at fractions `ps` (each in 0..=1, ascending) of `values`
/// ordered by [`f64::total_cmp`]: the value at rank `round((n − 1)·p)`,
/// as indexing the sorted values would give (0 for no values). It
/// selects each rank in its part instead of sorting everything, and
/// leaves `values` reordered.
pub fn quantiles<const N: usize>(values: &mut [f64], ps: [f64; N]) -> [f64; N] {
    debug_assert!(ps.windows(2).all(|w| w[0] <= w[1]), "fractions ascend");
    let mut out = [0.0; N];
    if values.is_empty() {
        return out;
    }
    let last = (values.len() - 1) as f64;
    // Ranks ascend with `ps`; everything before the previous rank is no
    // larger and everything after it no smaller, so each rank is selected
    // among the values after the previous one.
    let mut from = 0;
    let mut previous: Option<(usize, f64)> = None;
    for (q, &p) in out.iter_mut().zip(&ps) {
        let rank = (last * p).round() as usize;
        *q = match previous {
            Some((r, v)) if rank <= r => v,
            _ => {
                let (_, v, _) = values[from..].select_nth_unstable_by(rank - from, f64::total_cmp);
                *v
            }
        };
        previous = Some((rank, *q));
        from = from.max(rank + 1).min(values.len() - 1);
    }
    out
}

/// The share of the `k` largest amounts in the total (0 when the total
/// is 0; 1 when `k` ≥ the number of amounts).
pub fn top_share(amounts: &[u128], k: usize) -> f64 {
    Sorted::new(amounts).top_share(k)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_merged_sort_gives_the_metrics_of_the_whole() {
        let few = [7u128, 0, 300];
        let many: Vec<u128> = (0..500u128).map(|i| (i * 7919) % 1000).collect();
        let whole: Vec<u128> = few.iter().chain(&many).copied().collect();
        let merged = Sorted::new(&many).merged(&few, &[&few, &many]);
        assert_eq!(merged.concentration(), concentration(&whole));
        assert_eq!(merged.top_share(10), top_share(&whole, 10));
        let after: Vec<u128> = many.iter().chain(&few).copied().collect();
        let merged = Sorted::new(&many).merged(&few, &[&many, &few]);
        assert_eq!(merged.concentration(), concentration(&after));
        assert_eq!(Sorted::new(&many).concentration(), concentration(&many));
    }

    #[test]
    fn top_shares_by_hand() {
        // 50, 30, 10, 10: the largest holds half, the top three 90%.
        let v = [10, 50, 10, 30];
        assert_eq!(top_share(&v, 1), 0.5);
        assert_eq!(top_share(&v, 3), 0.9);
        assert_eq!(top_share(&v, 10), 1.0);
        assert_eq!(top_share(&[0, 0], 1), 0.0);
    }

    #[test]
    fn concentration_of_known_distributions() {
        // Equal holdings: Gini 0, HHI 1/n, Nakamoto ⌈0.33n⌉ and ⌈0.51n⌉.
        let c = concentration(&[5; 10]);
        assert!(c.gini.abs() < 1e-12 && (c.hhi - 0.1).abs() < 1e-12);
        assert_eq!((c.nakamoto_33, c.nakamoto_51), (4, 6));
        // One holder has everything: Gini (n−1)/n, HHI 1, Nakamoto 1.
        let c = concentration(&[0, 0, 0, 100]);
        assert!((c.gini - 0.75).abs() < 1e-12 && (c.hhi - 1.0).abs() < 1e-12);
        assert_eq!((c.nakamoto_33, c.nakamoto_51), (1, 1));
        // 1, 2, 3, 4: Gini = Σ(2i−5)x / (4·10) = (−3 −2 +3 +12)/40 = 0.25.
        let c = concentration(&[1, 2, 3, 4]);
        assert!((c.gini - 0.25).abs() < 1e-12);
        assert_eq!(c.nakamoto_51, 2); // 4 + 3 = 7 ≥ 5.1
    }

    #[test]
    fn geometric_shares_match_their_closed_forms() {
        // Holdings r^j, j = 0..n−1, with r = 1/2 as exact integers 2^(n−1−j).
        let n = 40u32;
        let v: Vec<u128> = (0..n).map(|j| 1u128 << (n - 1 - j)).collect();
        let (nf, r) = (f64::from(n), 0.5f64);
        let sum = (1.0 - r.powi(n as i32)) / (1.0 - r);
        // Σ j r^j = r (1 − n r^(n−1) + (n−1) r^n) / (1 − r)².
        let t = r * (1.0 - nf * r.powi(n as i32 - 1) + (nf - 1.0) * r.powi(n as i32))
            / (1.0 - r).powi(2);
        let gini = (nf - 1.0) / nf - 2.0 * t / (nf * sum);
        let hhi = (1.0 - r) * (1.0 + r.powi(n as i32)) / ((1.0 + r) * (1.0 - r.powi(n as i32)));
        let top = |k: i32| (1.0 - r.powi(k)) / (1.0 - r.powi(n as i32));
        let c = concentration(&v);
        assert!((c.gini - gini).abs() < 1e-12, "{} vs {gini}", c.gini);
        assert!((c.hhi - hhi).abs() < 1e-12, "{} vs {hhi}", c.hhi);
        for k in [1, 3, 10] {
            assert!((top_share(&v, k as usize) - top(k)).abs() < 1e-12);
        }
        // The largest holds just over half: one reaches 33%, two reach 51%.
        assert_eq!((c.nakamoto_33, c.nakamoto_51), (1, 2));
    }

    #[test]
    fn nakamoto_is_the_fewest_holders_with_at_least_the_threshold() {
        // 1,000 equal holders: exactly 330 hold 33% and 510 hold 51% (a
        // "more than half" count gives 501, a float sum can be off by one).
        let equal = vec![10u128.pow(18); 1000];
        assert_eq!(nakamoto(&equal, 33), 330);
        assert_eq!(nakamoto(&equal, 51), 510);
        // Two halves: one holds 50% < 51%, so both are needed; one is ≥ 33%.
        assert_eq!(nakamoto(&[50, 50], 51), 2);
        assert_eq!(nakamoto(&[50, 50], 33), 1);
        // Exactly at the threshold counts: 33 of 100, and 51 of 100.
        assert_eq!(nakamoto(&[33, 33, 34], 33), 1);
        assert_eq!(nakamoto(&[51, 49], 51), 1);
        assert_eq!(nakamoto(&[50, 49, 1], 51), 2);
        // Order of the input does not matter; nothing held gives 0.
        assert_eq!(nakamoto(&[1, 49, 50], 51), 2);
        assert_eq!(nakamoto(&[0, 0], 51), 0);
        // Near u128's limit the arithmetic does not overflow.
        assert_eq!(nakamoto(&[u128::MAX / 4, u128::MAX / 4], 51), 2);
    }

    mod quantile_selection {
        use super::*;
        use proptest::prelude::*;

        fn value() -> impl Strategy<Value = f64> {
            prop_oneof![
                Just(0.0),
                Just(-0.0),
                (-5i32..5).prop_map(f64::from),
                any::<f64>().prop_filter("a number", |v| !v.is_nan()),
            ]
        }

        proptest! {
            /// The selected quantiles equal, bit for bit, indexing the
            /// values sorted by `total_cmp`.
            #[test]
            fn selected_quantiles_equal_indexing_the_sorted_values(
                values in proptest::collection::vec(value(), 0..120)
            ) {
                let ps = [0.1, 0.5, 0.9];
                let mut sorted = values.clone();
                sorted.sort_by(f64::total_cmp);
                let want = ps.map(|p| {
                    if sorted.is_empty() {
                        0.0
                    } else {
                        sorted[((sorted.len() - 1) as f64 * p).round() as usize]
                    }
                });
                let got = quantiles(&mut values.clone(), ps);
                prop_assert_eq!(got.map(f64::to_bits), want.map(f64::to_bits));
            }
        }

        #[test]
        fn equal_and_extreme_fractions() {
            assert_eq!(
                quantiles(&mut [3.0, 1.0, 2.0], [0.0, 0.0, 1.0]),
                [1.0, 1.0, 3.0]
            );
            assert_eq!(quantiles(&mut [7.0], [0.1, 0.5, 0.9]), [7.0; 3]);
            assert_eq!(quantiles(&mut [], [0.5]), [0.0]);
        }
    }

    mod one_pass {
        use super::*;
        use proptest::prelude::*;

        fn amount() -> impl Strategy<Value = u128> {
            prop_oneof![
                Just(0u128),
                0u128..1_000,
                any::<u128>().prop_map(|v| v >> 8)
            ]
        }

        /// All amounts largest first, zeros included.
        fn full_desc(sorted: &Sorted) -> Vec<u128> {
            let mut all = sorted.nonzero.clone();
            all.resize(sorted.len(), 0);
            all
        }

        /// The metrics as first written: two separate sums over every
        /// amount (zeros included) in ascending order, each from −0.0.
        fn reference(amounts: &[u128]) -> (f64, f64) {
            let mut desc = amounts.to_vec();
            desc.sort_unstable_by(|a, b| b.cmp(a));
            let total: f64 = amounts.iter().map(|&h| u128_to_f64(h)).sum();
            let n = desc.len() as f64;
            let ascending = || desc.iter().rev().map(|&h| u128_to_f64(h));
            let gini = ascending()
                .enumerate()
                .map(|(i, x)| (2.0 * (i as f64 + 1.0) - n - 1.0) * x)
                .sum::<f64>()
                / (n * total);
            let hhi: f64 = ascending().map(|x| (x / total).powi(2)).sum();
            (gini, hhi)
        }

        /// The one-pass Gini and HHI of `amounts` equal the reference's bits.
        fn same_bits_as_reference(amounts: &[u128]) -> Result<(), TestCaseError> {
            let sorted = Sorted::new(amounts);
            let got = sorted.concentration();
            if sorted.total > 0.0 {
                let (gini, hhi) = reference(amounts);
                prop_assert_eq!(got.gini.to_bits(), gini.to_bits());
                prop_assert_eq!(got.hhi.to_bits(), hhi.to_bits());
            }
            Ok(())
        }

        proptest! {
            /// The one-pass Gini and HHI, skipping the zeros, equal bit
            /// for bit the two separate sums over every amount they
            /// replaced.
            #[test]
            fn one_pass_sums_equal_two_separate_sums(
                amounts in proptest::collection::vec(amount(), 1..200)
            ) {
                same_bits_as_reference(&amounts)?;
            }

            /// Mostly zero amounts (an epoch's rewards): the same bits.
            #[test]
            fn mostly_zero_amounts_give_the_same_bits(
                amounts in proptest::collection::vec(
                    prop_oneof![8 => Just(0u128), 1 => 1u128..50, 1 => amount()],
                    1..300,
                )
            ) {
                same_bits_as_reference(&amounts)?;
            }

            /// Updating a sorted set in place gives what sorting the new
            /// amounts gives: the same order, totals and metrics.
            #[test]
            fn an_update_equals_sorting_afresh(
                before in proptest::collection::vec(
                    prop_oneof![Just(0u128), 1u128..20, amount()],
                    0..300,
                ),
                changes in proptest::collection::vec(
                    (any::<proptest::sample::Index>(), prop_oneof![Just(0u128), 1u128..20, amount()]),
                    0..40,
                ),
            ) {
                let mut after = before.clone();
                if !after.is_empty() {
                    for (i, v) in &changes {
                        after[i.index(before.len())] = *v;
                    }
                }
                let mut sorted = Sorted::new(&before);
                sorted.update(&before, &after);
                let fresh = Sorted::new(&after);
                prop_assert_eq!(full_desc(&sorted), full_desc(&fresh));
                prop_assert_eq!(sorted.total.to_bits(), fresh.total.to_bits());
                prop_assert_eq!(sorted.exact_total, fresh.exact_total);
                prop_assert_eq!(sorted.concentration(), fresh.concentration());
            }
        }

        #[test]
        fn an_update_of_another_length_sorts_afresh() {
            let mut sorted = Sorted::new(&[3, 1, 2]);
            sorted.update(&[3, 1, 2], &[5, 0, 0, 4]);
            assert_eq!(full_desc(&sorted), vec![5, 4, 0, 0]);
            assert_eq!(sorted.concentration(), concentration(&[5, 0, 0, 4]));
        }
    }
}
