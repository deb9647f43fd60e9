//! Splitting an amount in integer base units: by fixed shares, and pro rata
//! by work. Every split is floor-rounded and reports its remainder, so the
//! parts plus the remainder equal the whole, to the base unit. The caller
//! sends remainders to the treasury.

/// Splits `total` by `weights` (any non-negative integers): each part is
/// `floor(total · w / Σw)`; returns the parts and the remainder. With all
/// weights zero, everything is remainder.
pub fn pro_rata(total: u128, weights: &[u128]) -> (Vec<u128>, u128) {
    let sum: u128 = weights.iter().sum();
    if sum == 0 {
        return (vec![0; weights.len()], total);
    }
    // A zero weight's part is zero; most weights of an epoch's payout
    // (nodes that did no work) are, so they skip the 128-bit division.
    let parts: Vec<u128> = weights
        .iter()
        .map(|&w| if w == 0 { 0 } else { mul_div(total, w, sum) })
        .collect();
    let paid: u128 = parts.iter().sum();
    (parts, total - paid)
}

/// `floor(a · b / c)` computed exactly with a 256-bit intermediate
/// (the result must fit in u128, as it does when `b ≤ c`).
pub fn mul_div(a: u128, b: u128, c: u128) -> u128 {
    if let Some(p) = a.checked_mul(b) {
        return p / c;
    }
    // 256-bit product from 64-bit limbs.
    let (a1, a0) = (a >> 64, a & u128::from(u64::MAX));
    let (b1, b0) = (b >> 64, b & u128::from(u64::MAX));
    let lo_lo = a0 * b0;
    let mid1 = a1 * b0;
    let mid2 = a0 * b1;
    let hi_hi = a1 * b1;
    let (mid, mid_carry) = mid1.overflowing_add(mid2);
    let (lo, lo_carry) = lo_lo.overflowing_add(mid << 64);
    let hi = hi_hi + (mid >> 64) + (u128::from(mid_carry) << 64) + u128::from(lo_carry);
    // Bitwise long division of (hi, lo) by c.
    let mut rem: u128 = 0;
    let mut quot: u128 = 0;
    for i in (0..256).rev() {
        let bit = if i >= 128 {
            (hi >> (i - 128)) & 1
        } else {
            (lo >> i) & 1
        };
        let carry = rem >> 127;
        rem = (rem << 1) | bit;
        if carry == 1 || rem >= c {
            rem = rem.wrapping_sub(c);
            if i < 128 {
                quot |= 1 << i;
            }
        }
    }
    quot
}

/// Parts per million, to express fractional shares exactly.
pub const PPM: u128 = 1_000_000;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parts_and_remainder_add_up() {
        let (parts, rem) = pro_rata(100, &[1, 1, 1]);
        assert_eq!(parts, vec![33, 33, 33]);
        assert_eq!(rem, 1);
        let (parts, rem) = pro_rata(10, &[0, 0]);
        assert_eq!((parts, rem), (vec![0, 0], 10));
        // Large amounts: 10^27 base units split three ways by FLOP counts.
        let total = 1_000_000_000u128 * crate::econ::TOKEN;
        let w = [3_000_000_000_000_000_000u128, 1_000_000_000_000_000_000, 7];
        let (parts, rem) = pro_rata(total, &w);
        assert_eq!(parts.iter().sum::<u128>() + rem, total);
        // 3/4 of the total less 3/4 · 7 / (4e18 + 7) of it: about 1.3125e9 base units less.
        let shortfall = total / 4 * 3 - parts[0];
        assert!(
            (1_312_499_000..=1_312_500_001).contains(&shortfall),
            "{shortfall}"
        );
    }

    #[test]
    fn mul_div_is_exact() {
        assert_eq!(mul_div(u128::MAX / 3, 3, 3), u128::MAX / 3);
        assert_eq!(mul_div(u128::MAX, u128::MAX, u128::MAX), u128::MAX);
        assert_eq!(mul_div(u128::MAX, 1 << 100, 1 << 101), u128::MAX / 2);
        assert_eq!(
            mul_div(10u128.pow(30), 10u128.pow(20), 10u128.pow(25)),
            10u128.pow(25)
        );
        assert_eq!(mul_div(7, 5, 3), 11);
    }
}
