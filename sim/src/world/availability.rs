//! Availability as a function of time, evaluated only when a node is asked
//! about: always-on, diurnal (busy hours in local time) and on/off churn
//! with exponential period lengths. Idle nodes cost memory, never events.

use crate::engine::SimTime;
use crate::engine::rng::{counter_uniform, stream_key};

const DAY_NS: i128 = 86_400 * 1_000_000_000;
const HOUR_NS: f64 = 3_600.0 * 1e9;

/// A profile's availability process.
#[derive(Clone, Debug, PartialEq)]
pub enum AvailabilityModel {
    /// Always online.
    AlwaysOn,
    /// Offline in each node's busy window (hours sampled per node).
    Diurnal,
    /// Alternating online/offline periods with these mean lengths (ns).
    Churn {
        /// Mean online period in ns.
        mean_up_ns: f64,
        /// Mean offline period in ns.
        mean_down_ns: f64,
    },
}

impl AvailabilityModel {
    /// Name used in `nodes.arrow`.
    pub fn label(&self) -> &'static str {
        match self {
            AvailabilityModel::AlwaysOn => "always_on",
            AvailabilityModel::Diurnal => "diurnal",
            AvailabilityModel::Churn { .. } => "churn",
        }
    }
}

/// Where a node's churn process was last evaluated (a cache; the process
/// itself is a pure function of the seed and the node).
#[derive(Copy, Clone, Debug, Default)]
pub struct ChurnCursor {
    /// Periods passed since the start (u64: 2^32 periods of 1 ms pass in
    /// 50 simulated days, and a u32 counter would repeat its draws).
    period: u64,
    start: u64,
    end: u64,
    up: bool,
    started: bool,
}

impl ChurnCursor {
    /// A value read from the cursor, for `Nodes::warm_availability`.
    pub(crate) fn warm_key(&self) -> u64 {
        self.end
    }
}

/// Exponential draw with the given mean from a uniform in [0, 1).
fn exponential_ns(mean_ns: f64, u: f64) -> u64 {
    ((-mean_ns * (1.0 - u).ln()).ceil() as u64).max(1)
}

/// End of the current online period at `t` for a diurnal node whose busy
/// window is `[busy_start_h, busy_end_h)` local time; None when busy.
pub fn diurnal_online_until(
    t: SimTime,
    utc_offset_ns: i64,
    busy_start_h: f32,
    busy_end_h: f32,
) -> Option<SimTime> {
    let s = (f64::from(busy_start_h) * HOUR_NS) as i128;
    let e = (f64::from(busy_end_h) * HOUR_NS) as i128;
    if s == e {
        return Some(SimTime::MAX); // an empty busy window
    }
    let local = (t.nanos() as i128 + utc_offset_ns as i128).rem_euclid(DAY_NS);
    let busy = if s < e {
        local >= s && local < e
    } else {
        local >= s || local < e
    };
    if busy {
        return None;
    }
    let wait = (s.rem_euclid(DAY_NS) - local).rem_euclid(DAY_NS);
    Some(SimTime(t.nanos().saturating_add(wait as u64)))
}

/// End of the current online period at `t` for a churning node; None when
/// offline. Moves `cursor` forward (or restarts it for a query in the past).
pub fn churn_online_until(
    t: SimTime,
    seed: u64,
    node: u32,
    mean_up_ns: f64,
    mean_down_ns: f64,
    cursor: &mut ChurnCursor,
) -> Option<SimTime> {
    let key = stream_key(seed, "churn", u64::from(node));
    let period_len = |up: bool, k: u64| {
        exponential_ns(
            if up { mean_up_ns } else { mean_down_ns },
            counter_uniform(key, k + 1),
        )
    };
    if !cursor.started || t.nanos() < cursor.start {
        // Stationary start: online with probability up / (up + down); by
        // memorylessness the first period's remainder is exponential too.
        let up = counter_uniform(key, 0) < mean_up_ns / (mean_up_ns + mean_down_ns);
        *cursor = ChurnCursor {
            period: 0,
            start: 0,
            end: period_len(up, 0),
            up,
            started: true,
        };
    }
    while cursor.end <= t.nanos() {
        cursor.period += 1;
        cursor.up = !cursor.up;
        cursor.start = cursor.end;
        cursor.end = cursor
            .start
            .saturating_add(period_len(cursor.up, cursor.period));
    }
    cursor.up.then_some(SimTime(cursor.end))
}

#[cfg(test)]
mod tests {
    use super::*;

    const H: u64 = 3_600_000_000_000;

    #[test]
    fn diurnal_busy_window_in_local_time() {
        // Busy 18:00–23:00 local in UTC+2: busy 16:00–21:00 UTC.
        let off = 2 * H as i64;
        assert_eq!(
            diurnal_online_until(SimTime(15 * H), off, 18.0, 23.0),
            Some(SimTime(16 * H))
        );
        assert_eq!(diurnal_online_until(SimTime(16 * H), off, 18.0, 23.0), None);
        assert_eq!(
            diurnal_online_until(SimTime(20 * H + 1), off, 18.0, 23.0),
            None
        );
        // Free again at 21:00 UTC until 16:00 UTC next day.
        assert_eq!(
            diurnal_online_until(SimTime(21 * H), off, 18.0, 23.0),
            Some(SimTime(40 * H))
        );
        // A window wrapping midnight: busy 22:00–02:00 in UTC.
        assert_eq!(diurnal_online_until(SimTime(23 * H), 0, 22.0, 2.0), None);
        assert_eq!(diurnal_online_until(SimTime(25 * H), 0, 22.0, 2.0), None);
        assert_eq!(
            diurnal_online_until(SimTime(26 * H), 0, 22.0, 2.0),
            Some(SimTime(46 * H))
        );
        // Negative offsets wrap correctly: UTC−5, busy 18–23 local = 23–04 UTC.
        assert_eq!(
            diurnal_online_until(SimTime(H), -5 * H as i64, 18.0, 23.0),
            None
        );
    }

    #[test]
    fn churn_matches_its_stationary_availability() {
        // Mean up 3 h, down 1 h: online a quarter... three quarters of the time.
        let (up, down) = (3.0 * H as f64, 1.0 * H as f64);
        let nodes = 2_000u32;
        let mut online = 0usize;
        let samples = 50u64;
        for n in 0..nodes {
            let mut c = ChurnCursor::default();
            for s in 0..samples {
                if churn_online_until(SimTime(s * 7 * H), 1, n, up, down, &mut c).is_some() {
                    online += 1;
                }
            }
        }
        let frac = online as f64 / (nodes as u64 * samples) as f64;
        assert!((frac - 0.75).abs() < 0.01, "fraction online {frac}");
    }

    #[test]
    fn churn_is_a_pure_function_of_time() {
        let (up, down) = (2.0 * H as f64, 2.0 * H as f64);
        let mut forward = ChurnCursor::default();
        let a: Vec<_> = (0..100)
            .map(|i| churn_online_until(SimTime(i * H / 3), 5, 9, up, down, &mut forward))
            .collect();
        // Asking in reverse order (cursor restarts) gives the same answers.
        let mut back = ChurnCursor::default();
        let mut b: Vec<_> = (0..100)
            .rev()
            .map(|i| churn_online_until(SimTime(i * H / 3), 5, 9, up, down, &mut back))
            .collect();
        b.reverse();
        assert_eq!(a, b);
    }
}
