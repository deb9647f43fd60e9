//! The token economy, engine-free: an integer double-entry ledger with
//! hash-chained blocks, emission curves, reward splits, token-price models,
//! verification strategies, slashing policies and concentration metrics.

pub mod emission;
pub mod ledger;
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
    (amount / TOKEN) as f64 + (amount % TOKEN) as f64 / TOKEN as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_conversions() {
        assert_eq!(tokens(1.0), Some(TOKEN));
        assert_eq!(tokens(0.5), Some(TOKEN / 2));
        assert_eq!(tokens(21_000_000.0), Some(21_000_000 * TOKEN));
        assert_eq!(tokens(-1.0), None);
        assert_eq!(as_tokens(3 * TOKEN / 2), 1.5);
    }
}
