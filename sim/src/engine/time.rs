//! Simulated time as an integer count of nanoseconds.

use std::fmt;

/// A point in (or span of) simulated time, in integer nanoseconds. Never a float.
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct SimTime(pub u64);

impl SimTime {
    /// Time zero, the start of every run (00:00 UTC of day 0).
    pub const ZERO: SimTime = SimTime(0);
    /// The largest representable time, used as "never".
    pub const MAX: SimTime = SimTime(u64::MAX);
    /// Nanoseconds per second.
    pub const NANOS_PER_SEC: u64 = 1_000_000_000;

    /// Builds a time from whole seconds (saturating).
    pub fn from_secs(secs: u64) -> SimTime {
        SimTime(secs.saturating_mul(Self::NANOS_PER_SEC))
    }

    /// Builds a time from fractional seconds, rounding up to the next
    /// nanosecond so that a positive duration never collapses to zero.
    /// Negative or NaN inputs give zero; huge inputs saturate.
    pub fn from_secs_f64_ceil(secs: f64) -> SimTime {
        if secs.is_nan() || secs <= 0.0 {
            return SimTime::ZERO;
        }
        let ns = (secs * 1e9).ceil();
        if ns >= u64::MAX as f64 {
            SimTime::MAX
        } else {
            SimTime(ns as u64)
        }
    }

    /// This time in seconds, for output and arithmetic on rates.
    pub fn as_secs_f64(self) -> f64 {
        self.0 as f64 / 1e9
    }

    /// Nanoseconds since the start.
    pub fn nanos(self) -> u64 {
        self.0
    }

    /// Adds a span, saturating at [`SimTime::MAX`].
    pub fn saturating_add(self, other: SimTime) -> SimTime {
        SimTime(self.0.saturating_add(other.0))
    }

    /// The span from `earlier` to `self`, zero if `earlier` is later.
    pub fn saturating_sub(self, earlier: SimTime) -> SimTime {
        SimTime(self.0.saturating_sub(earlier.0))
    }
}

impl fmt::Display for SimTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:.9}s", self.as_secs_f64())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn converts_seconds_both_ways() {
        assert_eq!(SimTime::from_secs(3).nanos(), 3_000_000_000);
        assert_eq!(SimTime::from_secs_f64_ceil(1.5), SimTime(1_500_000_000));
        assert_eq!(SimTime::from_secs_f64_ceil(1e-10), SimTime(1));
        assert_eq!(SimTime::from_secs_f64_ceil(-1.0), SimTime::ZERO);
        assert_eq!(SimTime::from_secs_f64_ceil(f64::INFINITY), SimTime::MAX);
        assert_eq!(SimTime(2_500_000_000).as_secs_f64(), 2.5);
    }

    #[test]
    fn saturates() {
        assert_eq!(SimTime::MAX.saturating_add(SimTime(1)), SimTime::MAX);
        assert_eq!(SimTime(1).saturating_sub(SimTime(5)), SimTime::ZERO);
    }
}
