//! The token economy, engine-free: an integer double-entry ledger with
//! hash-chained blocks, emission curves, reward splits, token-price models,
//! verification strategies, slashing policies, concentration metrics,
//! voting rules and compute-market clearing.

pub mod amm;
pub mod emission;
pub mod governance;
pub mod ledger;
pub mod market;
pub mod metrics;
pub mod price;
pub mod slashing;
pub mod split;
pub mod verify;

/// Base units per token (amounts are integers of base units).
pub const TOKEN: u128 = 1_000_000_000_000_000_000;

/// Most tokens a run may ever hold in all (genesis plus everything its
/// emission can mint over the horizon): 10¹⁹ tokens = 10³⁷ base units, a
/// tenth of what the tables' Decimal128(38, 0) columns hold, so no amount,
/// balance, supply or sum of them can overflow an output column.
pub const MAX_SUPPLY_TOKENS: f64 = 1e19;

/// Converts a token amount written as a decimal number to base units
/// (rounded to the nearest base unit; negative or non-finite gives None).
pub fn tokens(amount: f64) -> Option<u128> {
    if !(amount.is_finite() && amount >= 0.0) || amount > 1e20 {
        return None;
    }
    // Split into whole and fractional tokens to keep f64 precision.
    let whole = amount.trunc();
    let frac = amount - whole;
    Some(whole as u128 * TOKEN + (frac * TOKEN as f64).round() as u128)
}

/// Base units as (fractional) tokens, for output.
pub fn as_tokens(amount: u128) -> f64 {
    // The remainder is below 10^18, so it fits 64 bits.
    u128_to_f64(amount / TOKEN) + (amount % TOKEN) as u64 as f64 / TOKEN as f64
}

/// `amount as f64` — the same correctly rounded value (round to nearest,
/// ties to even) — without the slow generic 128-bit conversion: the top 64
/// significant bits, with a sticky bit for anything below them, round to
/// 53 bits exactly as the whole number does, and the power-of-two scaling
/// is exact.
#[inline]
pub fn u128_to_f64(amount: u128) -> f64 {
    if let Ok(small) = u64::try_from(amount) {
        return small as f64;
    }
    let shift = 64 - amount.leading_zeros(); // 1..=64 bits below the top 64
    let sticky = u64::from(amount & ((1u128 << shift) - 1) != 0);
    let top = (amount >> shift) as u64 | sticky;
    top as f64 * f64::from_bits(u64::from(1023 + shift) << 52)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn u128_to_f64_rounds_as_the_cast_does(hi in any::<u64>(), lo in any::<u64>(), bits in 0u32..128) {
            let v = ((u128::from(hi) << 64) | u128::from(lo)) >> bits;
            prop_assert_eq!(u128_to_f64(v).to_bits(), (v as f64).to_bits());
        }
    }

    #[test]
    fn u128_to_f64_at_rounding_edges() {
        // Halfway cases (ties to even), just above and below, and extremes.
        for v in [
            0u128,
            1,
            u128::from(u64::MAX),
            u128::from(u64::MAX) + 1,
            (1u128 << 64) + (1 << 11),
            (1u128 << 64) + (1 << 11) + 1,
            (1u128 << 64) + (3 << 11),
            (1u128 << 100) + (1 << 47),
            (1u128 << 100) + (1 << 47) - 1,
            (1u128 << 100) + (1 << 47) + 1,
            (1u128 << 100) + (3 << 47),
            u128::MAX,
            u128::MAX - (1 << 74),
        ] {
            assert_eq!(u128_to_f64(v).to_bits(), (v as f64).to_bits(), "{v}");
        }
    }

    #[test]
    fn token_conversions() {
        assert_eq!(tokens(1.0), Some(TOKEN));
        assert_eq!(tokens(0.5), Some(TOKEN / 2));
        assert_eq!(tokens(21_000_000.0), Some(21_000_000 * TOKEN));
        assert_eq!(tokens(-1.0), None);
        assert_eq!(as_tokens(3 * TOKEN / 2), 1.5);
    }
}
