//! A constant-product market maker (Uniswap v2 style) between the token
//! and USD, engine-free: the pool holds `tokens` and `usd`; a swap of `x`
//! in pays out what keeps `tokens × usd` from falling after a fee on the
//! input stays in the pool. The spot price is `usd / tokens`. Token
//! amounts are base units (exact integers, as on the ledger); USD is f64.
//! Runs use it with `economics.token_price: {amm: …}`.

/// The pool's reserves and fee.
#[derive(Clone, Debug, PartialEq)]
pub struct Pool {
    /// Tokens in the pool, base units.
    pub tokens: u128,
    /// USD in the pool.
    pub usd: f64,
    /// Fee on the input of every swap, parts per million (kept in the pool).
    pub fee_ppm: u32,
}

/// Why a swap was refused.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum SwapError {
    /// Nothing, a negative or a non-finite amount was offered.
    BadAmount,
    /// The pool would be emptied of what it pays out.
    Drained,
}

const PPM: f64 = 1e6;

impl Pool {
    /// A pool with these reserves.
    pub fn new(tokens: u128, usd: f64, fee_ppm: u32) -> Pool {
        Pool {
            tokens,
            usd,
            fee_ppm,
        }
    }

    /// USD per token at the margin (base units scaled to tokens).
    pub fn spot_price(&self) -> f64 {
        self.usd / (self.tokens as f64 / crate::econ::TOKEN as f64)
    }

    /// The invariant `tokens × usd` (tokens in whole tokens).
    pub fn invariant(&self) -> f64 {
        self.tokens as f64 / crate::econ::TOKEN as f64 * self.usd
    }

    fn after_fee(&self, amount: f64) -> f64 {
        amount * (PPM - f64::from(self.fee_ppm)) / PPM
    }

    /// Sells `tokens` into the pool; returns the USD paid out. The payout
    /// is rounded down so the invariant never falls.
    pub fn sell_tokens(&mut self, tokens: u128) -> Result<f64, SwapError> {
        if tokens == 0 {
            return Err(SwapError::BadAmount);
        }
        let t = self.tokens as f64;
        let dx = self.after_fee(tokens as f64);
        // usd' = usd × t / (t + dx): what keeps (t + dx) × usd' = t × usd.
        let out = self.usd * dx / (t + dx);
        let out = next_down(out).max(0.0);
        if out >= self.usd {
            return Err(SwapError::Drained);
        }
        self.tokens += tokens;
        self.usd -= out;
        Ok(out)
    }

    /// Buys tokens with `usd`; returns the tokens paid out (base units,
    /// rounded down so the invariant never falls).
    pub fn buy_tokens(&mut self, usd: f64) -> Result<u128, SwapError> {
        if !(usd.is_finite() && usd > 0.0) {
            return Err(SwapError::BadAmount);
        }
        let dy = self.after_fee(usd);
        let out = (self.tokens as f64 * dy / (self.usd + dy)).floor();
        // One base unit of slack for the f64 rounding of large reserves.
        let out = (out as u128).saturating_sub(1);
        if out >= self.tokens {
            return Err(SwapError::Drained);
        }
        self.tokens -= out;
        self.usd += usd;
        Ok(out)
    }
}

impl Pool {
    /// Buys exactly `tokens` (base units); returns the USD paid in,
    /// rounded up so the invariant never falls.
    pub fn buy_exact(&mut self, tokens: u128) -> Result<f64, SwapError> {
        if tokens == 0 {
            return Err(SwapError::BadAmount);
        }
        if tokens >= self.tokens {
            return Err(SwapError::Drained);
        }
        let (t, out) = (self.tokens as f64, tokens as f64);
        // (t − out) × (usd + dy) = t × usd, and dy is what is left after the fee.
        let dy = self.usd * out / (t - out);
        let usd_in = next_up(dy * PPM / (PPM - f64::from(self.fee_ppm)));
        self.tokens -= tokens;
        self.usd += usd_in;
        Ok(usd_in)
    }
}

/// The smallest f64 above `x` (for positive finite `x`; `x` otherwise).
fn next_up(x: f64) -> f64 {
    if x.is_finite() && x > 0.0 {
        f64::from_bits(x.to_bits() + 1)
    } else {
        x
    }
}

/// The largest f64 below `x` (for positive finite `x`; `x` otherwise).
fn next_down(x: f64) -> f64 {
    if x.is_finite() && x > 0.0 {
        f64::from_bits(x.to_bits() - 1)
    } else {
        x
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::econ::TOKEN;

    #[test]
    fn a_swap_pays_what_the_constant_product_gives_by_hand() {
        // 1,000 tokens against $100 (spot $0.10), no fee: selling 1,000
        // tokens doubles the token side, so the USD side halves: $50 out.
        let mut p = Pool::new(1_000 * TOKEN, 100.0, 0);
        assert!((p.spot_price() - 0.1).abs() < 1e-15);
        let usd = p.sell_tokens(1_000 * TOKEN).unwrap();
        assert!((usd - 50.0).abs() < 1e-9, "{usd}");
        assert!((p.spot_price() - 0.025).abs() < 1e-12);
        // Buying back with $50 returns (almost exactly) the 1,000 tokens.
        let tokens = p.buy_tokens(50.0).unwrap();
        let back = tokens as f64 / TOKEN as f64;
        assert!((back - 1_000.0).abs() < 1e-6, "{back}");
    }

    #[test]
    fn the_invariant_never_falls_and_the_fee_grows_it() {
        let mut seed = 11u64;
        let mut next = || {
            seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (seed >> 33) as f64 / (1u64 << 31) as f64
        };
        for fee in [0, 3_000] {
            let mut p = Pool::new(1_000_000 * TOKEN, 200_000.0, fee);
            let start = p.invariant();
            let mut k = start;
            for _ in 0..2_000 {
                if next() < 0.5 {
                    let tokens = (next() * 10_000.0 * TOKEN as f64) as u128 + 1;
                    p.sell_tokens(tokens).unwrap();
                } else {
                    p.buy_tokens(next() * 2_000.0 + 0.01).unwrap();
                }
                let now = p.invariant();
                assert!(now >= k * (1.0 - 1e-12), "fee {fee}: {now} < {k}");
                k = now;
            }
            if fee > 0 {
                assert!(k > start * 1.001, "fees should accumulate: {k} vs {start}");
            }
        }
    }

    #[test]
    fn buying_an_exact_amount_costs_what_the_curve_says() {
        // 1,000 tokens against $100, no fee: taking 500 tokens halves the
        // token side, so the USD side doubles: $100 in.
        let mut p = Pool::new(1_000 * TOKEN, 100.0, 0);
        let usd = p.buy_exact(500 * TOKEN).unwrap();
        assert!((usd - 100.0).abs() < 1e-9, "{usd}");
        assert_eq!(p.tokens, 500 * TOKEN);
        // With a 1% fee the same purchase costs 1/0.99 as much.
        let mut f = Pool::new(1_000 * TOKEN, 100.0, 10_000);
        let usd = f.buy_exact(500 * TOKEN).unwrap();
        assert!((usd - 100.0 / 0.99).abs() < 1e-9, "{usd}");
        assert!(f.invariant() >= 1_000.0 * 100.0);
        assert_eq!(f.buy_exact(500 * TOKEN), Err(SwapError::Drained));
        assert_eq!(f.buy_exact(0), Err(SwapError::BadAmount));
    }

    #[test]
    fn bad_amounts_are_refused_and_nothing_moves() {
        let mut p = Pool::new(1_000 * TOKEN, 100.0, 3_000);
        let before = p.clone();
        assert_eq!(p.sell_tokens(0), Err(SwapError::BadAmount));
        assert_eq!(p.buy_tokens(0.0), Err(SwapError::BadAmount));
        assert_eq!(p.buy_tokens(f64::NAN), Err(SwapError::BadAmount));
        assert_eq!(p.buy_tokens(-1.0), Err(SwapError::BadAmount));
        assert_eq!(p, before);
        // A huge buy drains nearly all tokens but never all of them.
        let got = p.buy_tokens(1e12).unwrap();
        assert!(got < 1_000 * TOKEN && p.tokens > 0);
    }
}
