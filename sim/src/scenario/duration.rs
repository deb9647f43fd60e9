//! Human durations in scenarios: `90m`, `2d`, `1h30m`, `250ms`, or a plain
//! number of seconds.

use crate::engine::SimTime;
use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde::de::{self, Deserializer, Visitor};
use serde::{Deserialize, Serialize, Serializer};
use std::borrow::Cow;
use std::fmt;

/// A span of simulated time written the human way in YAML.
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Default)]
pub struct Duration(pub SimTime);

impl Duration {
    /// The span as simulated time.
    pub fn time(self) -> SimTime {
        self.0
    }
}

const UNITS: [(&str, u64); 7] = [
    ("ns", 1),
    ("us", 1_000),
    ("ms", 1_000_000),
    ("s", 1_000_000_000),
    ("m", 60_000_000_000),
    ("h", 3_600_000_000_000),
    ("d", 86_400_000_000_000),
];

/// Why a duration is refused for its length.
const TOO_LONG: &str = "longer than the simulator's clock holds (2^64 ns, about 584 years)";

/// Parses `2d`, `1h30m`, `0.5s`, `250ms`; an empty unit is an error.
pub fn parse_duration(text: &str) -> Result<SimTime, String> {
    let s = text.trim();
    if s.is_empty() {
        return Err("an empty duration".into());
    }
    let mut total: f64 = 0.0;
    let mut rest = s;
    while !rest.is_empty() {
        let num_len = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.' || c == '_'))
            .unwrap_or(rest.len());
        if num_len == 0 {
            return Err(format!(
                "`{text}` (expected a number before each unit, e.g. `1h30m`)"
            ));
        }
        let number: f64 = rest[..num_len]
            .replace('_', "")
            .parse()
            .map_err(|_| format!("`{text}` (bad number `{}`)", &rest[..num_len]))?;
        rest = &rest[num_len..];
        let unit_len = rest
            .find(|c: char| !c.is_ascii_alphabetic())
            .unwrap_or(rest.len());
        let unit = &rest[..unit_len];
        let Some(&(_, scale)) = UNITS.iter().find(|(u, _)| *u == unit) else {
            return Err(format!(
                "`{text}` (unknown unit `{unit}`; use ns, us, ms, s, m, h or d)"
            ));
        };
        total += number * scale as f64;
        rest = rest[unit_len..].trim_start();
    }
    if !total.is_finite() || total >= u64::MAX as f64 {
        return Err(format!("`{text}` is {TOO_LONG}"));
    }
    Ok(SimTime(total.round() as u64))
}

/// Formats a time back into the shortest exact human form.
pub fn format_duration(t: SimTime) -> String {
    let ns = t.nanos();
    if ns == 0 {
        return "0s".into();
    }
    for &(unit, scale) in UNITS.iter().rev() {
        if ns.is_multiple_of(scale) {
            return format!("{}{unit}", ns / scale);
        }
    }
    format!("{ns}ns")
}

impl<'de> Deserialize<'de> for Duration {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Duration;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a duration such as `90m`, `2d`, `1h30m` or a number of seconds")
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Duration, E> {
                match v.checked_mul(1_000_000_000) {
                    Some(ns) => Ok(Duration(SimTime(ns))),
                    None => Err(E::custom(format!("invalid duration: {v} s is {TOO_LONG}"))),
                }
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Duration, E> {
                if v < 0 {
                    return Err(E::custom(format!("invalid duration: {v} is negative")));
                }
                self.visit_u64(v as u64)
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Duration, E> {
                if !(v.is_finite() && v >= 0.0) {
                    return Err(E::custom(format!("invalid duration: {v} seconds")));
                }
                if v * 1e9 >= u64::MAX as f64 {
                    return Err(E::custom(format!(
                        "invalid duration: {} s is {TOO_LONG}",
                        super::param::show(v)
                    )));
                }
                Ok(Duration(SimTime((v * 1e9).round() as u64)))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Duration, E> {
                parse_duration(v)
                    .map(Duration)
                    .map_err(|m| E::custom(format!("invalid duration: {m}")))
            }
        }
        d.deserialize_any(V)
    }
}

impl Serialize for Duration {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&format_duration(self.0))
    }
}

impl JsonSchema for Duration {
    fn schema_name() -> Cow<'static, str> {
        "Duration".into()
    }
    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "description": "A duration: a number of seconds, or a string of numbers with units ns, us, ms, s, m, h, d (e.g. `90m`, `1h30m`, `2d`).",
            "oneOf": [
                { "type": "number", "minimum": 0 },
                { "type": "string", "pattern": "^\\s*([0-9][0-9_]*(\\.[0-9]+)?\\s*(ns|us|ms|s|m|h|d)\\s*)+$" }
            ]
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_human_durations() {
        assert_eq!(parse_duration("2d").unwrap(), SimTime::from_secs(172_800));
        assert_eq!(parse_duration("90m").unwrap(), SimTime::from_secs(5_400));
        assert_eq!(parse_duration("1h30m").unwrap(), SimTime::from_secs(5_400));
        assert_eq!(parse_duration("250ms").unwrap(), SimTime(250_000_000));
        assert_eq!(parse_duration("1.5s").unwrap(), SimTime(1_500_000_000));
        assert!(parse_duration("5 parsecs").is_err());
        assert!(parse_duration("h").is_err());
        assert!(parse_duration("").is_err());
        assert!(parse_duration("99999999999999d").is_err());
    }

    #[test]
    fn formats_round_trip() {
        for s in ["2d", "90m", "250ms", "7s", "3ns"] {
            assert_eq!(format_duration(parse_duration(s).unwrap()), s);
        }
    }
}
