//! `--set path=value`: changes any scenario field by its YAML path before
//! the typed parse, so an override is checked exactly like the file and a
//! bad one is reported against the flag that set it. Sweeps vary scenarios
//! the same way.
//!
//! Paths use the same form as error messages: `rounds.clients_per_round`,
//! `populations[1].count`, `economics.emission.halving.initial`. The value
//! is YAML: `5`, `2h`, `"quoted text"`, or a whole mapping such as
//! `{constant: {per_epoch: 100}}` to switch a tagged choice.

use super::load::kind_of as kind;
use serde_yaml_ng::{Mapping, Value};
use std::fmt;

/// One `path=value` override.
#[derive(Clone, Debug, PartialEq)]
pub struct Override {
    /// The field path, e.g. `rounds.count`.
    pub path: String,
    /// The new value, parsed as YAML.
    pub value: Value,
    /// The flag as the user wrote it (`path=value`), for messages and `run.json`.
    pub flag: String,
    /// Whether missing sections on the path are created (as `--set`
    /// does); when false, setting a field of an absent section is an
    /// error (as `--backend` without a `learning` section).
    pub create: bool,
}

/// Why an override could not be read or applied.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OverrideError {
    /// The flag as the user wrote it.
    pub flag: String,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for OverrideError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "--set {}: {}", self.flag, self.message)
    }
}

impl std::error::Error for OverrideError {}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Segment {
    Key(String),
    Index(usize),
}

fn segments(path: &str) -> Result<Vec<Segment>, String> {
    let mut out = Vec::new();
    for part in path.split('.') {
        let (name, mut rest) = match part.find('[') {
            Some(i) => (&part[..i], &part[i..]),
            None => (part, ""),
        };
        if name.is_empty() && (out.is_empty() || rest.is_empty()) {
            return Err(format!("`{path}` has an empty field name"));
        }
        if !name.is_empty() {
            out.push(Segment::Key(name.to_string()));
        }
        while !rest.is_empty() {
            let close = rest
                .find(']')
                .ok_or_else(|| format!("`{path}`: `[` without `]`"))?;
            let index = rest[1..close]
                .parse::<usize>()
                .map_err(|_| format!("`{path}`: `{}` is not a list index", &rest[..=close]))?;
            out.push(Segment::Index(index));
            rest = &rest[close + 1..];
            if !rest.is_empty() && !rest.starts_with('[') {
                return Err(format!("`{path}`: unexpected `{rest}` after an index"));
            }
        }
    }
    Ok(out)
}

/// A YAML value on one line, as a `--set` flag writes it: `5`, `2h`,
/// `{constant: {per_epoch: 100}}`, `[a, b]`; strings that would read back
/// as something else are double-quoted.
pub fn flow_text(v: &Value) -> String {
    match v {
        Value::Null => "null".into(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        Value::String(s) => {
            let plain = !s.is_empty()
                && !s.contains([',', '[', ']', '{', '}', '#', '\n', '"', '\''])
                && serde_yaml_ng::from_str::<Value>(s).ok().as_ref() == Some(v);
            if plain {
                s.clone()
            } else {
                serde_json::to_string(s).expect("a string serializes")
            }
        }
        Value::Sequence(items) => {
            let inner: Vec<String> = items.iter().map(flow_text).collect();
            format!("[{}]", inner.join(", "))
        }
        Value::Mapping(map) => {
            let inner: Vec<String> = map
                .iter()
                .map(|(k, v)| format!("{}: {}", flow_text(k), flow_text(v)))
                .collect();
            format!("{{{}}}", inner.join(", "))
        }
        Value::Tagged(t) => format!("{} {}", t.tag, flow_text(&t.value)),
    }
}

impl Override {
    /// The override that sets `path` to `value`; its flag is `path=value`
    /// with the value on one line, so it reads back as the same override.
    pub fn new(path: &str, value: Value) -> Override {
        Override {
            path: path.to_string(),
            flag: format!("{path}={}", flow_text(&value)),
            value,
            create: true,
        }
    }

    /// The override that sets `path` to `value` only where the sections
    /// leading to it exist.
    pub fn existing(path: &str, value: Value) -> Override {
        Override {
            create: false,
            ..Override::new(path, value)
        }
    }

    /// Reads a `path=value` flag.
    pub fn parse(flag: &str) -> Result<Override, OverrideError> {
        let err = |message: String| OverrideError {
            flag: flag.to_string(),
            message,
        };
        let (path, value) = flag
            .split_once('=')
            .ok_or_else(|| err("expected `path=value`, e.g. `rounds.count=50`".into()))?;
        let path = path.trim();
        segments(path).map_err(err)?;
        let value: Value = serde_yaml_ng::from_str(value)
            .map_err(|e| err(format!("the value is not valid YAML: {e}")))?;
        Ok(Override {
            path: path.to_string(),
            value,
            flag: flag.to_string(),
            create: true,
        })
    }

    /// Whether a problem reported at field `path` concerns this override's
    /// field or something inside it.
    pub fn covers(&self, path: &str) -> bool {
        path == self.path
            || path
                .strip_prefix(self.path.as_str())
                .is_some_and(|rest| rest.starts_with('.') || rest.starts_with('['))
    }

    /// Sets the field in a scenario document, creating missing mappings on
    /// the way (so an absent optional section can be set field by field).
    pub fn apply(&self, root: &mut Value) -> Result<(), OverrideError> {
        let err = |message: String| OverrideError {
            flag: self.flag.clone(),
            message,
        };
        let segs = segments(&self.path).map_err(err)?;
        let mut node = root;
        let mut walked = String::new();
        let last = segs.len().saturating_sub(1);
        for (depth, seg) in segs.into_iter().enumerate() {
            node = match seg {
                Segment::Key(k) => {
                    let absent = match &*node {
                        Value::Mapping(map) => map.get(k.as_str()).is_none_or(Value::is_null),
                        _ => true,
                    };
                    if !self.create && depth < last && absent {
                        return Err(err(format!(
                            "the scenario has no `{}` section",
                            if walked.is_empty() {
                                k.clone()
                            } else {
                                format!("{walked}.{k}")
                            }
                        )));
                    }
                    if node.is_null() {
                        *node = Value::Mapping(Mapping::new());
                    }
                    let Value::Mapping(map) = node else {
                        return Err(err(format!(
                            "`{walked}` is {}, so it has no field `{k}`",
                            kind(node)
                        )));
                    };
                    walked = if walked.is_empty() {
                        k.clone()
                    } else {
                        format!("{walked}.{k}")
                    };
                    map.entry(Value::String(k)).or_insert(Value::Null)
                }
                Segment::Index(i) => {
                    let Value::Sequence(items) = node else {
                        return Err(err(format!("`{walked}` is {}, not a list", kind(node))));
                    };
                    let len = items.len();
                    walked = format!("{walked}[{i}]");
                    items.get_mut(i).ok_or_else(|| {
                        err(format!(
                            "`{walked}` is out of range: the list has {len} entries"
                        ))
                    })?
                }
            };
        }
        *node = self.value.clone();
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc() -> Value {
        serde_yaml_ng::from_str(
            "rounds: { count: 3 }\npopulations:\n  - { profile: a, count: 1 }\n  - { profile: b, count: 2 }\n",
        )
        .unwrap()
    }

    fn set(flag: &str) -> Result<Value, OverrideError> {
        let mut d = doc();
        Override::parse(flag)?.apply(&mut d)?;
        Ok(d)
    }

    #[test]
    fn sets_nested_fields_list_entries_and_new_sections() {
        let d = set("rounds.count=50").unwrap();
        assert_eq!(d["rounds"]["count"], Value::from(50));
        let d = set("populations[1].count=7").unwrap();
        assert_eq!(d["populations"][1]["count"], Value::from(7));
        let d = set("economics.emission={constant: {per_epoch: 5}}").unwrap();
        assert_eq!(
            d["economics"]["emission"]["constant"]["per_epoch"],
            Value::from(5)
        );
        let d = set("horizon=2h").unwrap();
        assert_eq!(d["horizon"], Value::from("2h"));
    }

    #[test]
    fn bad_flags_and_paths_say_what_is_wrong() {
        let msg = |f: &str| set(f).unwrap_err().to_string();
        assert_eq!(
            msg("rounds.count"),
            "--set rounds.count: expected `path=value`, e.g. `rounds.count=50`"
        );
        assert_eq!(
            msg("populations[5].count=1"),
            "--set populations[5].count=1: `populations[5]` is out of range: the list has 2 entries"
        );
        assert_eq!(
            msg("rounds.count.x=1"),
            "--set rounds.count.x=1: `rounds.count` is a number, so it has no field `x`"
        );
        assert!(msg("rounds[x]=1").contains("is not a list index"));
        assert!(msg("rounds..count=1").contains("empty field name"));
    }

    #[test]
    fn an_existing_only_override_refuses_absent_and_empty_sections() {
        let mut d = doc();
        Override::existing("rounds.count", Value::from(9))
            .apply(&mut d)
            .unwrap();
        assert_eq!(d["rounds"]["count"], Value::from(9));
        let msg = |d: &mut Value| {
            Override::existing("learning.backend", Value::from("gpu"))
                .apply(d)
                .unwrap_err()
                .message
        };
        assert_eq!(msg(&mut doc()), "the scenario has no `learning` section");
        // `learning:` with nothing under it is as good as absent.
        let mut empty = doc();
        empty["learning"] = Value::Null;
        assert_eq!(msg(&mut empty), "the scenario has no `learning` section");
    }

    #[test]
    fn flow_text_reads_back_as_the_same_value() {
        for text in [
            "5",
            "2.5",
            "2h",
            "true",
            "null",
            "\"true\"",
            "\"5\"",
            "\"a, b\"",
            "\"\"",
            "[1, x, {a: 2}]",
            "{constant: {per_epoch: 100}}",
            "{halving: {initial: 2000.5, period_epochs: 24}}",
        ] {
            let v: Value = serde_yaml_ng::from_str(text).unwrap();
            let o = Override::new("a.b", v.clone());
            assert_eq!(
                Override::parse(&o.flag).unwrap().value,
                v,
                "{text} -> {}",
                o.flag
            );
        }
        assert_eq!(
            flow_text(&serde_yaml_ng::from_str("{a: [1, 2]}").unwrap()),
            "{a: [1, 2]}"
        );
    }

    #[test]
    fn covers_the_field_and_what_is_inside_it() {
        let o = Override::parse("economics.emission={constant: {per_epoch: 5}}").unwrap();
        assert!(o.covers("economics.emission"));
        assert!(o.covers("economics.emission.constant.per_epoch"));
        assert!(!o.covers("economics.emission_x"));
        assert!(!o.covers("economics"));
    }
}
