//! Measured availability: per-node online intervals (FedScale-style
//! traces, optionally repeating) and weekly patterns in the node's local
//! time. Like the modelled processes, a trace is only consulted when a node
//! is asked about, so idle nodes cost no events.

use crate::engine::SimTime;

/// One week in ns: the period of a weekly pattern.
pub const WEEK_NS: u64 = 7 * 86_400 * 1_000_000_000;

/// All traces of a run, their online spans stored one after another.
#[derive(Clone, Debug, Default)]
pub struct Traces {
    /// Online spans `[start, end)` in ns; each trace's are sorted, merged
    /// and separated by offline gaps.
    spans: Vec<(u64, u64)>,
    /// Trace `k` owns `spans[first[k]..first[k + 1]]`.
    first: Vec<usize>,
    /// Repetition period of each trace in ns (0: the trace does not repeat
    /// and the node stays offline after its last span).
    period: Vec<u64>,
    /// Whether the trace is in the node's local time (weekly patterns)
    /// rather than the run's clock.
    local: Vec<bool>,
}

impl Traces {
    /// Number of traces.
    pub fn len(&self) -> usize {
        self.period.len()
    }

    /// Whether there are no traces.
    pub fn is_empty(&self) -> bool {
        self.period.is_empty()
    }

    /// Adds a trace from online spans in any order (overlapping or touching
    /// spans merge; empty ones are dropped) and returns its index.
    /// `period` 0 means no repetition; otherwise every span lies in
    /// `[0, period]` and the pattern repeats.
    pub fn push(&mut self, spans: &mut [(u64, u64)], period: u64, local: bool) -> u32 {
        if self.first.is_empty() {
            self.first.push(0);
        }
        spans.sort_unstable();
        let start = self.spans.len();
        for &(s, e) in spans.iter().filter(|(s, e)| e > s) {
            match self.spans[start..].last_mut() {
                Some(last) if s <= last.1 => last.1 = last.1.max(e),
                _ => self.spans.push((s, e)),
            }
        }
        self.first.push(self.spans.len());
        self.period.push(period);
        self.local.push(local);
        (self.period.len() - 1) as u32
    }

    /// Whether trace `k` is a weekly pattern (local time) rather than a
    /// node's own trace.
    pub fn is_pattern(&self, k: u32) -> bool {
        self.local[k as usize]
    }

    /// End of the online span holding `t` in trace `k`, or None when the
    /// node is offline at `t`. `utc_offset_ns` shifts local-time traces.
    pub fn online_until(&self, k: u32, t: SimTime, utc_offset_ns: i64) -> Option<SimTime> {
        let k = k as usize;
        let spans = &self.spans[self.first[k]..self.first[k + 1]];
        let shift = if self.local[k] {
            i128::from(utc_offset_ns)
        } else {
            0
        };
        let x = i128::from(t.nanos()) + shift;
        let period = i128::from(self.period[k]);
        let (base, r) = if period > 0 {
            (x.div_euclid(period) * period, x.rem_euclid(period))
        } else {
            (0, x)
        };
        let i = spans.partition_point(|s| i128::from(s.0) <= r);
        let &(_, e) = spans.get(i.checked_sub(1)?)?;
        if r >= i128::from(e) {
            return None;
        }
        let mut end = base + i128::from(e);
        if period > 0 && i128::from(e) == period && spans[0].0 == 0 {
            if spans.len() == 1 {
                return Some(SimTime::MAX); // online the whole period
            }
            end += i128::from(spans[0].1); // runs on into the next period
        }
        Some(SimTime((end - shift).clamp(0, i128::from(u64::MAX)) as u64))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const H: u64 = 3_600_000_000_000;

    fn at(h: u64) -> SimTime {
        SimTime(h * H)
    }

    #[test]
    fn a_trace_without_period_ends_offline() {
        let mut t = Traces::default();
        let k = t.push(
            &mut [(5 * H, 8 * H), (H, 2 * H), (2 * H, 3 * H), (7 * H, 9 * H)],
            0,
            false,
        );
        assert_eq!(t.online_until(k, at(0), 0), None);
        assert_eq!(
            t.online_until(k, at(1), 0),
            Some(at(3)),
            "touching spans merge"
        );
        assert_eq!(t.online_until(k, at(3), 0), None, "the end is exclusive");
        assert_eq!(
            t.online_until(k, at(6), 0),
            Some(at(9)),
            "overlapping spans merge"
        );
        assert_eq!(t.online_until(k, at(9), 0), None);
        assert_eq!(t.online_until(k, at(1000), 0), None);
        assert!(!t.is_pattern(k));
    }

    #[test]
    fn repeating_traces_wrap_and_join_across_the_boundary() {
        let mut t = Traces::default();
        let day = 24 * H;
        let k = t.push(&mut [(0, 2 * H), (20 * H, day)], day, false);
        assert_eq!(t.online_until(k, at(1), 0), Some(at(2)));
        assert_eq!(t.online_until(k, at(10), 0), None);
        assert_eq!(
            t.online_until(k, at(21), 0),
            Some(at(26)),
            "20h–24h joins 0h–2h"
        );
        assert_eq!(t.online_until(k, at(24 * 9 + 1), 0), Some(at(24 * 9 + 2)));
        let all = t.push(&mut [(0, day)], day, false);
        assert_eq!(t.online_until(all, at(5), 0), Some(SimTime::MAX));
        let none = t.push(&mut [], day, false);
        assert_eq!(t.online_until(none, at(5), 0), None);
        // Another trace's spans are not consulted.
        assert_eq!(t.online_until(k, at(10), 0), None);
    }

    #[test]
    fn weekly_patterns_follow_local_time() {
        let mut t = Traces::default();
        // Online Monday 09:00–17:00 local.
        let k = t.push(&mut [(9 * H, 17 * H)], WEEK_NS, true);
        assert!(t.is_pattern(k));
        let plus2 = 2 * H as i64;
        // 08:00 UTC is 10:00 at UTC+2: online until 15:00 UTC.
        assert_eq!(t.online_until(k, at(8), plus2), Some(at(15)));
        assert_eq!(t.online_until(k, at(15), plus2), None);
        assert_eq!(t.online_until(k, at(8), 0), None);
        // A week later, the same.
        assert_eq!(t.online_until(k, at(168 + 8), plus2), Some(at(168 + 15)));
        // West of UTC, the run's first hours are Sunday evening local time.
        let sunday = t.push(&mut [(160 * H, 168 * H)], WEEK_NS, true);
        assert_eq!(t.online_until(sunday, at(1), -5 * H as i64), Some(at(5)));
    }
}
