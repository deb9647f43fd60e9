//! Slashing policies, engine-free: how much stake an offence costs. The
//! ledger applies the amount (`Ledger::slash`), burning it or sending it to
//! the treasury, so conservation holds.

/// A protocol offence.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Offence {
    /// An update caught as invalid (lazy or poisoned).
    InvalidUpdate,
    /// Accepted a task and did not deliver.
    Liveness,
    /// Two different updates for one task.
    Equivocation,
    /// A validator approved an update later caught as bad.
    BadApproval,
}

impl Offence {
    /// Name used in outputs.
    pub fn label(self) -> &'static str {
        match self {
            Offence::InvalidUpdate => "invalid_update",
            Offence::Liveness => "liveness",
            Offence::Equivocation => "equivocation",
            Offence::BadApproval => "bad_approval",
        }
    }
}

/// How an offence is priced.
#[derive(Clone, Debug, PartialEq)]
pub enum Policy {
    /// The same fraction of stake for any offence.
    Fixed {
        /// Fraction in [0, 1].
        fraction: f64,
    },
    /// A fraction per offence kind (invalid update, liveness, equivocation, bad approval).
    Severity {
        /// Fractions in the order of [`Offence`]'s variants.
        fractions: [f64; 4],
    },
    /// Ethereum-style correlation: an initial `base` fraction plus
    /// `multiplier × (stake slashed in the window) / (total stake)`, capped at 1,
    /// so coordinated offences cost more than isolated ones.
    Correlated {
        /// Initial fraction (Ethereum Electra: 1/4096).
        base: f64,
        /// Correlation multiplier (Ethereum: 3).
        multiplier: f64,
    },
}

/// Fractions are applied as integer parts per 10^18.
const PPB: u128 = 1_000_000_000_000_000_000;

fn fraction_of(stake: u128, f: f64) -> u128 {
    let f = f.clamp(0.0, 1.0);
    crate::econ::split::mul_div(stake, (f * PPB as f64).round() as u128, PPB)
}

impl Policy {
    /// The penalty in base units for an offence by an account holding
    /// `stake`, when `slashed_in_window` of `total_stake` has been slashed in
    /// the correlation window (used by `Correlated` only).
    pub fn penalty(
        &self,
        offence: Offence,
        stake: u128,
        slashed_in_window: u128,
        total_stake: u128,
    ) -> u128 {
        match self {
            Policy::Fixed { fraction } => fraction_of(stake, *fraction),
            Policy::Severity { fractions } => {
                let i = match offence {
                    Offence::InvalidUpdate => 0,
                    Offence::Liveness => 1,
                    Offence::Equivocation => 2,
                    Offence::BadApproval => 3,
                };
                fraction_of(stake, fractions[i])
            }
            Policy::Correlated { base, multiplier } => {
                let correlated = if total_stake == 0 {
                    0.0
                } else {
                    multiplier * slashed_in_window as f64 / total_stake as f64
                };
                fraction_of(stake, (base + correlated).min(1.0))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::econ::TOKEN;

    #[test]
    fn fixed_and_severity() {
        let stake = 1000 * TOKEN;
        assert_eq!(
            Policy::Fixed { fraction: 0.05 }.penalty(Offence::Liveness, stake, 0, 0),
            50 * TOKEN
        );
        let s = Policy::Severity {
            fractions: [0.1, 0.01, 0.5, 0.2],
        };
        assert_eq!(s.penalty(Offence::InvalidUpdate, stake, 0, 0), 100 * TOKEN);
        assert_eq!(s.penalty(Offence::Liveness, stake, 0, 0), 10 * TOKEN);
        assert_eq!(s.penalty(Offence::Equivocation, stake, 0, 0), 500 * TOKEN);
    }

    #[test]
    fn correlated_penalty_by_hand() {
        // Ethereum-style: base 1/4096, multiplier 3. A validator with 32
        // tokens of stake, alone (nothing else slashed): 32/4096 = 0.0078125.
        let p = Policy::Correlated {
            base: 1.0 / 4096.0,
            multiplier: 3.0,
        };
        let stake = 32 * TOKEN;
        let alone = p.penalty(Offence::Equivocation, stake, 0, 1_000 * TOKEN);
        assert!((alone as f64 / TOKEN as f64 - 0.0078125).abs() < 1e-8);
        // 10% of all stake slashed in the window: 1/4096 + 0.3 of the stake.
        let ten_pct = p.penalty(Offence::Equivocation, stake, 100 * TOKEN, 1_000 * TOKEN);
        let expected = 32.0 * (1.0 / 4096.0 + 0.3);
        assert!(
            (ten_pct as f64 / TOKEN as f64 - expected).abs() < 1e-8,
            "{ten_pct}"
        );
        // A third or more slashed together: everything.
        assert_eq!(
            p.penalty(Offence::Equivocation, stake, 334 * TOKEN, 1_000 * TOKEN),
            stake
        );
    }
}
