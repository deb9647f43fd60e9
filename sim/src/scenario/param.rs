//! Numeric scenario fields that are either a constant or a distribution
//! sampled once per node (`lognormal`, `normal`, `uniform`, `choice`).

use rand::{Rng, RngExt};
use rand_distr::{Distribution as _, LogNormal, Normal, weighted::WeightedIndex};
use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde::de::{self, Deserializer, MapAccess, Visitor};
use serde::{Deserialize, Serialize};
use std::borrow::Cow;
use std::fmt;

/// A number in YAML: a plain constant, or a one-key map naming a distribution.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(untagged)]
pub enum Param {
    /// The same value for every node.
    Const(f64),
    /// A value drawn per node from a distribution.
    Dist(Distribution),
}

/// A distribution a numeric field is sampled from.
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum Distribution {
    /// Log-normal given by its median and the σ of the underlying normal.
    Lognormal {
        /// The median (e^μ); must be > 0.
        median: f64,
        /// σ of ln(X); ≥ 0.
        sigma: f64,
        /// Optional lower clamp.
        #[serde(default)]
        min: Option<f64>,
        /// Optional upper clamp.
        #[serde(default)]
        max: Option<f64>,
    },
    /// Normal with mean and standard deviation, optionally clamped.
    Normal {
        /// The mean.
        mean: f64,
        /// The standard deviation; ≥ 0.
        std: f64,
        /// Optional lower clamp.
        #[serde(default)]
        min: Option<f64>,
        /// Optional upper clamp.
        #[serde(default)]
        max: Option<f64>,
    },
    /// Uniform on [low, high).
    Uniform {
        /// Lower bound.
        low: f64,
        /// Upper bound; ≥ low.
        high: f64,
    },
    /// One of `values`, picked with the given `weights` (equal if omitted).
    Choice {
        /// The possible values.
        values: Vec<f64>,
        /// Non-negative weights, one per value.
        #[serde(default)]
        weights: Option<Vec<f64>>,
    },
}

/// A number as a person would write it: `1e308`, not 309 digits.
pub fn show(v: f64) -> String {
    let a = v.abs();
    if a != 0.0 && a.is_finite() && !(1e-6..1e15).contains(&a) {
        format!("{v:e}")
    } else {
        format!("{v}")
    }
}

/// The range of a sampled physical quantity. Validation refuses a constant
/// outside it and a distribution whose parameters lie outside it; draws of
/// a distribution are clamped into `[floor, hi]`, so a heavy tail (a
/// lognormal with a large σ) never reaches 0 or infinity — or `inf` after
/// a unit conversion — in the tables.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Range {
    /// Lower end.
    pub lo: f64,
    /// Whether `lo` itself is excluded.
    pub lo_open: bool,
    /// The smallest value a draw is clamped to (`lo`, or just above it
    /// when `lo` is excluded).
    pub floor: f64,
    /// Upper end, included; draws are clamped to it.
    pub hi: f64,
}

/// The ranges of the node and network quantities sampled from parameters.
pub mod ranges {
    use super::Range;

    /// GPU throughput, TFLOPS: up to a million (far beyond any one node).
    pub const GPU_TFLOPS: Range = Range {
        lo: 0.0,
        lo_open: true,
        floor: 1e-6,
        hi: 1e6,
    };
    /// GPU memory, GB.
    pub const GPU_MEMORY_GB: Range = Range {
        lo: 0.0,
        lo_open: false,
        floor: 0.0,
        hi: 1e6,
    };
    /// GPU board power, W.
    pub const GPU_WATTS: Range = Range {
        lo: 0.0,
        lo_open: false,
        floor: 0.0,
        hi: 1e6,
    };
    /// Fraction of peak throughput reached.
    pub const GPU_EFFICIENCY: Range = Range {
        lo: 0.0,
        lo_open: true,
        floor: 1e-6,
        hi: 1.0,
    };
    /// Access-link bandwidth, Mbit/s: from 1 bit/s to 1 Pbit/s.
    pub const LINK_MBPS: Range = Range {
        lo: 0.0,
        lo_open: true,
        floor: 1e-6,
        hi: 1e9,
    };
    /// Router-link bandwidth, Gbit/s: from 1 bit/s to 1 Ebit/s.
    pub const ROUTER_LINK_GBPS: Range = Range {
        lo: 0.0,
        lo_open: true,
        floor: 1e-9,
        hi: 1e9,
    };
}

impl Param {
    /// Draws one value and clamps it into `range` (see [`Range`]).
    pub fn sample_in<R: Rng + ?Sized>(&self, range: Range, rng: &mut R) -> f64 {
        self.sample(rng).clamp(range.floor, range.hi)
    }

    /// Why the parameter does not fit `range`, if it does not: a constant
    /// outside it, parameters beyond its upper end, or a lower tail below
    /// its lower end (which needs a `min` clamp). An upper tail is clamped.
    pub fn check_in(&self, range: Range) -> Option<String> {
        let beyond = match self {
            Param::Const(v) => *v > range.hi,
            Param::Dist(d) => d.typical() > range.hi,
        };
        if beyond && self.check().is_empty() {
            let hi = range.hi;
            return Some(match self {
                Param::Const(v) => {
                    format!("expected a value of at most {hi:e}, found {}", show(*v))
                }
                Param::Dist(d) => format!(
                    "this distribution is centred at {}, beyond the largest value allowed ({hi:e})",
                    show(d.typical())
                ),
            });
        }
        self.check_range(range.lo, range.lo_open, f64::INFINITY, false)
    }

    /// Draws one value from `rng` (a constant draws nothing).
    pub fn sample<R: Rng + ?Sized>(&self, rng: &mut R) -> f64 {
        match self {
            Param::Const(v) => *v,
            Param::Dist(d) => d.sample(rng),
        }
    }

    /// The smallest and largest values this parameter can produce.
    pub fn support(&self) -> (f64, f64) {
        match self {
            Param::Const(v) => (*v, *v),
            Param::Dist(d) => d.support(),
        }
    }

    /// Problems with the distribution's own parameters (not the field's range).
    pub fn check(&self) -> Vec<String> {
        match self {
            Param::Const(v) if !v.is_finite() => {
                vec![format!("expected a finite number, found {v}")]
            }
            Param::Const(_) => vec![],
            Param::Dist(d) => d.check(),
        }
    }

    /// Checks the parameter can only yield values in `[lo, hi]` (open at an
    /// end when the matching `*_open` flag is set); the message says how to fix it.
    pub fn check_range(&self, lo: f64, lo_open: bool, hi: f64, hi_open: bool) -> Option<String> {
        let own = self.check();
        if !own.is_empty() {
            return Some(own.join("; "));
        }
        let (min, max) = self.support();
        let below = if lo_open { min <= lo } else { min < lo };
        let above = if hi_open { max >= hi } else { max > hi };
        if !(below || above) {
            return None;
        }
        let range = format!(
            "{}{lo}, {hi}{}",
            if lo_open { "(" } else { "[" },
            if hi_open { ")" } else { "]" }
        );
        Some(match self {
            Param::Const(v) => format!("expected a value in {range}, found {}", show(*v)),
            Param::Dist(_) => format!(
                "expected values in {range}, but this distribution can produce values in [{min}, {max}]; add `min`/`max` clamps or change its parameters"
            ),
        })
    }
}

impl Distribution {
    fn clamp(v: f64, min: Option<f64>, max: Option<f64>) -> f64 {
        let v = min.map_or(v, |m| v.max(m));
        max.map_or(v, |m| v.min(m))
    }

    /// Draws one value.
    pub fn sample<R: Rng + ?Sized>(&self, rng: &mut R) -> f64 {
        match self {
            Distribution::Lognormal {
                median,
                sigma,
                min,
                max,
            } => {
                let d = LogNormal::new(median.ln(), *sigma).expect("validated lognormal");
                Self::clamp(d.sample(rng), *min, *max)
            }
            Distribution::Normal {
                mean,
                std,
                min,
                max,
            } => {
                let d = Normal::new(*mean, *std).expect("validated normal");
                Self::clamp(d.sample(rng), *min, *max)
            }
            Distribution::Uniform { low, high } => {
                if high > low {
                    low + (high - low) * rng.random::<f64>()
                } else {
                    *low
                }
            }
            Distribution::Choice { values, weights } => {
                let i = match weights {
                    Some(w) => WeightedIndex::new(w)
                        .expect("validated weights")
                        .sample(rng),
                    None => rng.random_range(0..values.len()),
                };
                values[i]
            }
        }
    }

    /// A value the distribution is centred on or reaches by its own
    /// parameters: the median, the mean, the upper end, the largest choice
    /// (or an explicit lower clamp, when larger).
    fn typical(&self) -> f64 {
        let (lo, hi) = self.support();
        let own = match self {
            Distribution::Lognormal { median, .. } => *median,
            Distribution::Normal { mean, .. } => *mean,
            Distribution::Uniform { .. } | Distribution::Choice { .. } => hi,
        };
        own.max(lo)
    }

    /// The smallest and largest values the distribution can produce (a
    /// lognormal is strictly positive: its smallest is the least positive
    /// float unless `min` says otherwise).
    pub fn support(&self) -> (f64, f64) {
        match self {
            Distribution::Lognormal { min, max, .. } => (
                min.unwrap_or(f64::MIN_POSITIVE).max(0.0),
                max.unwrap_or(f64::INFINITY),
            ),
            Distribution::Normal {
                mean,
                std,
                min,
                max,
            } => {
                let lo = if *std == 0.0 {
                    *mean
                } else {
                    f64::NEG_INFINITY
                };
                let hi = if *std == 0.0 { *mean } else { f64::INFINITY };
                (min.map_or(lo, |m| lo.max(m)), max.map_or(hi, |m| hi.min(m)))
            }
            Distribution::Uniform { low, high } => (*low, *high),
            Distribution::Choice { values, weights } => {
                let live = values
                    .iter()
                    .enumerate()
                    .filter(|(i, _)| {
                        weights
                            .as_ref()
                            .is_none_or(|w| w.get(*i).is_some_and(|w| *w > 0.0))
                    })
                    .map(|(_, v)| *v);
                live.fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), v| {
                    (a.min(v), b.max(v))
                })
            }
        }
    }

    /// Problems with the distribution's parameters.
    pub fn check(&self) -> Vec<String> {
        let mut p = Vec::new();
        let finite = |name: &str, v: f64, p: &mut Vec<String>| {
            if !v.is_finite() {
                p.push(format!("`{name}` must be a finite number, found {v}"));
            }
        };
        let clamps = |min: &Option<f64>, max: &Option<f64>, p: &mut Vec<String>| {
            if let (Some(a), Some(b)) = (min, max)
                && a > b
            {
                p.push(format!("`min` ({a}) is greater than `max` ({b})"));
            }
        };
        match self {
            Distribution::Lognormal {
                median,
                sigma,
                min,
                max,
            } => {
                if !(median.is_finite() && *median > 0.0) {
                    p.push(format!("lognormal `median` must be > 0, found {median}"));
                }
                if !(sigma.is_finite() && *sigma >= 0.0) {
                    p.push(format!("lognormal `sigma` must be ≥ 0, found {sigma}"));
                }
                clamps(min, max, &mut p);
            }
            Distribution::Normal {
                mean,
                std,
                min,
                max,
            } => {
                finite("mean", *mean, &mut p);
                if !(std.is_finite() && *std >= 0.0) {
                    p.push(format!("normal `std` must be ≥ 0, found {std}"));
                }
                clamps(min, max, &mut p);
            }
            Distribution::Uniform { low, high } => {
                finite("low", *low, &mut p);
                finite("high", *high, &mut p);
                if low > high {
                    p.push(format!(
                        "uniform `low` ({low}) is greater than `high` ({high})"
                    ));
                }
            }
            Distribution::Choice { values, weights } => {
                if values.is_empty() {
                    p.push("choice needs at least one value".into());
                }
                for v in values {
                    finite("values", *v, &mut p);
                }
                if let Some(w) = weights {
                    if w.len() != values.len() {
                        p.push(format!(
                            "choice has {} values but {} weights",
                            values.len(),
                            w.len()
                        ));
                    } else if w.iter().any(|x| !(x.is_finite() && *x >= 0.0)) {
                        p.push("choice weights must be finite and ≥ 0".into());
                    } else if w.iter().sum::<f64>() <= 0.0 {
                        p.push("choice weights must not all be zero".into());
                    }
                }
            }
        }
        p
    }
}

impl<'de> Deserialize<'de> for Param {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Param;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str(
                    "a number or a distribution such as {lognormal: {median: 20, sigma: 0.5}}",
                )
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Param, E> {
                Ok(Param::Const(v))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Param, E> {
                Ok(Param::Const(v as f64))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Param, E> {
                Ok(Param::Const(v as f64))
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Param, A::Error> {
                Distribution::deserialize(de::value::MapAccessDeserializer::new(map))
                    .map(Param::Dist)
            }
        }
        d.deserialize_any(V)
    }
}

impl JsonSchema for Param {
    fn schema_name() -> Cow<'static, str> {
        "Param".into()
    }
    fn json_schema(generator: &mut SchemaGenerator) -> Schema {
        let dist = generator.subschema_for::<Distribution>();
        json_schema!({
            "description": "A constant number, or a distribution sampled once per node.",
            "oneOf": [ { "type": "number" }, dist ]
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::rng::stream;

    fn parse(y: &str) -> Param {
        serde_yaml_ng::from_str(y).unwrap()
    }

    #[test]
    fn physical_ranges_refuse_constants_and_clamp_heavy_tails() {
        let r = ranges::LINK_MBPS;
        // A lognormal is strictly positive: no `min` needed on (0, ∞).
        assert_eq!(
            parse("{lognormal: {median: 300, sigma: 0.5}}").check_in(r),
            None
        );
        assert!(
            parse("1e308")
                .check_in(r)
                .unwrap()
                .contains("at most 1e9, found 1e308")
        );
        assert!(
            parse("{normal: {mean: 10, std: 5}}")
                .check_in(r)
                .unwrap()
                .contains("add `min`")
        );
        let wild = parse("{lognormal: {median: 300, sigma: 1e20}}");
        assert_eq!(wild.check_in(r), None);
        let mut rng = stream(1, "t", 0);
        let draws: Vec<f64> = (0..200).map(|_| wild.sample_in(r, &mut rng)).collect();
        assert!(draws.iter().all(|v| (r.floor..=r.hi).contains(v)));
        assert!(
            draws.contains(&r.floor) && draws.contains(&r.hi),
            "both tails clamp"
        );
        assert_eq!(
            (show(1e308), show(0.5), show(-2e-9)),
            ("1e308".into(), "0.5".into(), "-2e-9".into())
        );
    }

    #[test]
    fn parses_constants_and_distributions() {
        assert_eq!(parse("12.5"), Param::Const(12.5));
        assert_eq!(parse("3"), Param::Const(3.0));
        assert!(matches!(
            parse("{lognormal: {median: 20, sigma: 0.5}}"),
            Param::Dist(Distribution::Lognormal { .. })
        ));
        assert!(matches!(
            parse("{choice: {values: [1, 2], weights: [3, 1]}}"),
            Param::Dist(Distribution::Choice { .. })
        ));
        let err = serde_yaml_ng::from_str::<Param>("{gamma: {k: 1}}")
            .unwrap_err()
            .to_string();
        assert!(err.contains("unknown variant `gamma`"), "{err}");
        let err = serde_yaml_ng::from_str::<Param>("fast")
            .unwrap_err()
            .to_string();
        assert!(err.contains("a number or a distribution"), "{err}");
    }

    #[test]
    fn samples_match_their_distribution() {
        let mut rng = stream(1, "test", 0);
        let n = 20_000;
        let ln = parse("{lognormal: {median: 20, sigma: 0.5}}");
        let mut v: Vec<f64> = (0..n).map(|_| ln.sample(&mut rng)).collect();
        v.sort_by(f64::total_cmp);
        let median = v[n / 2];
        assert!((median - 20.0).abs() < 0.5, "median {median}");
        let u = parse("{uniform: {low: 2, high: 4}}");
        let mean: f64 = (0..n).map(|_| u.sample(&mut rng)).sum::<f64>() / n as f64;
        assert!((mean - 3.0).abs() < 0.02);
        let c = parse("{choice: {values: [1, 2], weights: [3, 1]}}");
        let ones = (0..n).filter(|_| c.sample(&mut rng) == 1.0).count() as f64 / n as f64;
        assert!((ones - 0.75).abs() < 0.02);
        let clamped = parse("{normal: {mean: 0, std: 10, min: -1, max: 1}}");
        assert!((0..n).all(|_| (-1.0..=1.0).contains(&clamped.sample(&mut rng))));
    }

    #[test]
    fn range_checks_explain_themselves() {
        assert!(
            Param::Const(0.5)
                .check_range(0.0, true, 1.0, false)
                .is_none()
        );
        assert!(
            Param::Const(1.5)
                .check_range(0.0, true, 1.0, false)
                .unwrap()
                .contains("found 1.5")
        );
        let msg = parse("{normal: {mean: 5, std: 1}}")
            .check_range(0.0, true, f64::INFINITY, false)
            .unwrap();
        assert!(msg.contains("add `min`"), "{msg}");
        assert!(
            parse("{normal: {mean: 5, std: 1, min: 0.1}}")
                .check_range(0.0, true, f64::INFINITY, false)
                .is_none()
        );
        assert!(
            parse("{choice: {values: [1, 2], weights: [1]}}")
                .check_range(0.0, false, 9.0, false)
                .unwrap()
                .contains("2 values but 1 weights")
        );
    }
}
