//! Reading a scenario file: size limits, YAML parsing, section-by-section
//! typed deserialization (so several problems are reported at once), then
//! semantic validation; every problem carries file, line, column and path.

use super::locate::{Location, LocationIndex};
use super::overrides::Override;
use super::types::Scenario;
use super::validate;
use serde::de::DeserializeOwned;
use serde_yaml_ng::Value;
use std::fmt;
use std::path::Path;

/// Largest scenario file accepted; real scenarios are a few kilobytes.
pub const MAX_SCENARIO_BYTES: u64 = 4 * 1024 * 1024;

/// One problem in a scenario: where it is and what is wrong.
#[derive(Clone, Debug, PartialEq)]
pub struct Problem {
    /// Field path such as `populations[1].profile` (empty for the whole file).
    pub path: String,
    /// Where in the file, when known.
    pub location: Option<Location>,
    /// What was expected and what was found.
    pub message: String,
    /// The `--set` flag that put the faulty value there, if one did.
    pub flag: Option<String>,
}

/// Every problem found in one scenario file.
#[derive(Clone, Debug)]
pub struct ScenarioError {
    /// The file as the user named it.
    pub file: String,
    /// The problems, in document order of discovery.
    pub problems: Vec<Problem>,
}

impl fmt::Display for ScenarioError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, p) in self.problems.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            match (&p.flag, p.location) {
                (Some(flag), _) => write!(f, "{}: --set {flag}: ", self.file)?,
                (None, Some(l)) => write!(f, "{}:{}:{}: ", self.file, l.line, l.column)?,
                (None, None) => write!(f, "{}: ", self.file)?,
            }
            if p.path.is_empty() {
                write!(f, "{}", p.message)?;
            } else {
                write!(f, "{}: {}", p.path, p.message)?;
            }
        }
        Ok(())
    }
}

impl std::error::Error for ScenarioError {}

impl ScenarioError {
    /// One problem without a field path.
    pub fn single(file: &str, location: Option<Location>, message: String) -> Self {
        ScenarioError {
            file: file.to_string(),
            problems: vec![Problem {
                path: String::new(),
                location,
                message,
                flag: None,
            }],
        }
    }
}

/// A parsed, validated scenario together with its source text.
#[derive(Clone, Debug)]
pub struct LoadedScenario {
    /// The typed scenario.
    pub scenario: Scenario,
    /// The exact text it came from (hashed into `run.json`).
    pub text: String,
    /// The file as the user named it.
    pub file: String,
    /// Folder that relative paths in the scenario (data files) start from.
    pub dir: std::path::PathBuf,
    /// The `--set` overrides applied to the file, in order.
    pub overrides: Vec<Override>,
}

impl LoadedScenario {
    /// An error about this scenario at the given field paths, located in its
    /// text or attributed to the override that set the field.
    pub fn error(&self, problems: Vec<(String, String)>) -> ScenarioError {
        locate(&self.file, &self.text, &self.overrides, problems)
    }
}

/// Reads, parses and validates a scenario file.
pub fn load_scenario(path: &Path) -> Result<LoadedScenario, ScenarioError> {
    load_scenario_with(path, &[])
}

/// Reads a scenario file, applies `overrides` in order, then parses and
/// validates the result.
pub fn load_scenario_with(
    path: &Path,
    overrides: &[Override],
) -> Result<LoadedScenario, ScenarioError> {
    let file = path.display().to_string();
    let meta = std::fs::metadata(path).map_err(|e| {
        ScenarioError::single(&file, None, format!("cannot read the scenario: {e}"))
    })?;
    if meta.len() > MAX_SCENARIO_BYTES {
        return Err(ScenarioError::single(
            &file,
            None,
            format!(
                "the file is {} bytes; scenarios are limited to {} bytes (is this really a scenario?)",
                meta.len(),
                MAX_SCENARIO_BYTES
            ),
        ));
    }
    // The limit applies while reading too: a pipe or /dev/zero reports no size.
    let bytes = crate::input::read_limited(path, MAX_SCENARIO_BYTES).map_err(|e| {
        ScenarioError::single(&file, None, format!("cannot read the scenario: {e}"))
    })?;
    let text = String::from_utf8(bytes).map_err(|e| {
        ScenarioError::single(&file, None, format!("the file is not UTF-8 text: {e}"))
    })?;
    let scenario = parse_scenario_with(&text, &file, overrides)?;
    let dir = path.parent().map(|p| p.to_path_buf()).unwrap_or_default();
    Ok(LoadedScenario {
        scenario,
        text,
        file,
        dir,
        overrides: overrides.to_vec(),
    })
}

const KNOWN: [&str; 19] = [
    "name",
    "description",
    "seed",
    "seeds",
    "horizon",
    "regions",
    "network",
    "profiles",
    "populations",
    "nodes",
    "aggregator",
    "rounds",
    "learning",
    "economics",
    "verification",
    "governance",
    "market",
    "metrics",
    "checks",
];
const OPTIONAL: [&str; 11] = [
    "description",
    "populations",
    "nodes",
    "seeds",
    "learning",
    "economics",
    "verification",
    "governance",
    "market",
    "metrics",
    "checks",
];

/// Parses and validates scenario text; `file` names it in messages.
pub fn parse_scenario(text: &str, file: &str) -> Result<Scenario, ScenarioError> {
    parse_scenario_with(text, file, &[])
}

/// Parses scenario text, applies `overrides` to the document, then
/// deserializes and validates it. Problems in overridden fields name the flag.
pub fn parse_scenario_with(
    text: &str,
    file: &str,
    overrides: &[Override],
) -> Result<Scenario, ScenarioError> {
    if text.len() as u64 > MAX_SCENARIO_BYTES {
        return Err(ScenarioError::single(
            file,
            None,
            format!("the scenario is larger than {MAX_SCENARIO_BYTES} bytes"),
        ));
    }
    let mut root: Value = serde_yaml_ng::from_str(text).map_err(|e| {
        let loc = e.location().map(|l| Location {
            line: l.line(),
            column: l.column(),
        });
        ScenarioError::single(
            file,
            loc,
            format!("not valid YAML: {}", strip_location(&e.to_string())),
        )
    })?;
    for o in overrides {
        if let Err(e) = o.apply(&mut root) {
            return Err(ScenarioError {
                file: file.to_string(),
                problems: vec![Problem {
                    path: o.path.clone(),
                    location: None,
                    message: e.message,
                    flag: Some(e.flag),
                }],
            });
        }
    }
    // The typed parse reads the overridden document; locations still come
    // from the file (overridden fields are attributed to their flag).
    let merged;
    let source = if overrides.is_empty() {
        text
    } else {
        merged = serde_yaml_ng::to_string(&root).map_err(|e| {
            ScenarioError::single(file, None, format!("cannot apply the overrides: {e}"))
        })?;
        &merged
    };
    let Value::Mapping(map) = &root else {
        return Err(ScenarioError::single(
            file,
            Some(Location { line: 1, column: 1 }),
            format!(
                "expected a mapping of scenario fields ({}), found {}",
                KNOWN.join(", "),
                kind_of(&root)
            ),
        ));
    };

    let mut raw: Vec<(String, String)> = Vec::new();
    for (k, v) in map {
        let Some(key) = k.as_str() else {
            raw.push((
                String::new(),
                format!("expected field names to be strings, found {}", kind_of(k)),
            ));
            continue;
        };
        match (key, v) {
            // Element by element, so one bad entry does not hide the others.
            ("regions", Value::Sequence(items)) => {
                check_items::<super::Region>(items, key, &mut raw)
            }
            ("profiles", Value::Sequence(items)) => {
                check_items::<super::Profile>(items, key, &mut raw)
            }
            ("populations", Value::Sequence(items)) => {
                check_items::<super::Population>(items, key, &mut raw)
            }
            ("name", _) => check_section::<String>(v, key, &mut raw),
            ("description", _) => check_section::<Option<String>>(v, key, &mut raw),
            ("seed", _) => check_section::<u64>(v, key, &mut raw),
            ("seeds", _) => check_section::<super::SeedsSpec>(v, key, &mut raw),
            ("horizon", _) => check_section::<super::Duration>(v, key, &mut raw),
            ("regions", _) => check_section::<Vec<super::Region>>(v, key, &mut raw),
            ("profiles", _) => check_section::<Vec<super::Profile>>(v, key, &mut raw),
            ("populations", _) => check_section::<Vec<super::Population>>(v, key, &mut raw),
            ("nodes", _) => check_section::<Option<super::NodeTableSpec>>(v, key, &mut raw),
            ("network", _) => check_section::<super::NetworkSpec>(v, key, &mut raw),
            ("aggregator", _) => check_section::<super::Aggregator>(v, key, &mut raw),
            ("rounds", _) => check_section::<super::Rounds>(v, key, &mut raw),
            ("learning", _) => check_section::<Option<super::LearningSpec>>(v, key, &mut raw),
            ("economics", _) => check_section::<Option<super::EconomicsSpec>>(v, key, &mut raw),
            ("verification", _) => {
                check_section::<Option<super::VerificationSpec>>(v, key, &mut raw)
            }
            ("governance", _) => check_section::<Option<super::GovernanceSpec>>(v, key, &mut raw),
            ("market", _) => check_section::<Option<super::MarketSpec>>(v, key, &mut raw),
            ("metrics", _) => check_section::<super::MetricsSpec>(v, key, &mut raw),
            ("checks", Value::Sequence(items)) => {
                check_items::<crate::check::CheckEntry>(items, key, &mut raw)
            }
            ("checks", _) => check_section::<Vec<crate::check::CheckEntry>>(v, key, &mut raw),
            _ => raw.push((
                key.to_string(),
                format!(
                    "unknown field `{key}`, expected one of {}",
                    KNOWN.join(", ")
                ),
            )),
        }
    }
    for key in KNOWN {
        if !OPTIONAL.contains(&key) && !map.contains_key(key) {
            raw.push((String::new(), format!("missing field `{key}`")));
        }
    }
    if !raw.is_empty() {
        return Err(locate(file, text, overrides, raw));
    }
    let scenario: Scenario =
        match serde_path_to_error::deserialize(serde_yaml_ng::Deserializer::from_str(source)) {
            Ok(s) => s,
            Err(e) => {
                let path = e.path().to_string();
                let msg = strip_location(&e.into_inner().to_string());
                return Err(locate(
                    file,
                    text,
                    overrides,
                    vec![(if path == "." { String::new() } else { path }, msg)],
                ));
            }
        };
    let semantic = validate::validate(&scenario);
    if !semantic.is_empty() {
        return Err(locate(file, text, overrides, semantic));
    }
    Ok(scenario)
}

/// Parses a whole YAML document (a sweep file, a check list) into `T`,
/// reporting the first problem with its file, line, column and field path,
/// as scenario problems are reported.
pub fn parse_document<T: DeserializeOwned>(text: &str, file: &str) -> Result<T, ScenarioError> {
    if text.len() as u64 > MAX_SCENARIO_BYTES {
        return Err(ScenarioError::single(
            file,
            None,
            format!("the file is larger than {MAX_SCENARIO_BYTES} bytes"),
        ));
    }
    serde_path_to_error::deserialize(serde_yaml_ng::Deserializer::from_str(text)).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        let loc = inner.location().map(|l| Location {
            line: l.line(),
            column: l.column(),
        });
        let mut err = locate(
            file,
            text,
            &[],
            vec![(
                if path == "." { String::new() } else { path },
                strip_location(&inner.to_string()),
            )],
        );
        if let Some(p) = err.problems.first_mut().filter(|p| p.location.is_none()) {
            p.location = loc;
        }
        err
    })
}

/// Locates problems found after parsing (field path and message) in a
/// document's text, as scenario problems are located.
pub fn locate_problems(file: &str, text: &str, problems: Vec<(String, String)>) -> ScenarioError {
    locate(file, text, &[], problems)
}

fn check_items<T: DeserializeOwned>(items: &[Value], key: &str, out: &mut Vec<(String, String)>) {
    for (i, item) in items.iter().enumerate() {
        check_section::<T>(item, &format!("{key}[{i}]"), out);
    }
}

/// Deserializes one section, recording its first problem under `prefix`.
fn check_section<T: DeserializeOwned>(v: &Value, prefix: &str, out: &mut Vec<(String, String)>) {
    // Through text again: the `Value` deserializer reads enums only from YAML
    // tags, while scenarios write them as one-key maps.
    let text = match serde_yaml_ng::to_string(v) {
        Ok(t) => t,
        Err(e) => {
            out.push((prefix.to_string(), e.to_string()));
            return;
        }
    };
    if let Err(e) =
        serde_path_to_error::deserialize::<_, T>(serde_yaml_ng::Deserializer::from_str(&text))
    {
        let inner = e.path().to_string();
        let path = if inner == "." {
            prefix.to_string()
        } else if inner.starts_with('[') {
            format!("{prefix}{inner}")
        } else {
            format!("{prefix}.{inner}")
        };
        let message = strip_location(&e.into_inner().to_string());
        // serde_yaml_ng repeats the path in front of its message; keep one.
        let mut message = message;
        let mut candidate = Some(inner.clone());
        while let Some(c) = candidate.filter(|c| !c.is_empty()) {
            if let Some(rest) = message.strip_prefix(&format!("{c}: ")) {
                message = rest.to_string();
                break;
            }
            candidate = super::locate::parent(&c);
        }
        out.push((path, message));
    }
}

fn locate(
    file: &str,
    text: &str,
    overrides: &[Override],
    raw: Vec<(String, String)>,
) -> ScenarioError {
    let index = LocationIndex::build(text);
    let problems = raw
        .into_iter()
        .map(|(path, message)| {
            let location = unknown_field_name(&message)
                .and_then(|f| {
                    // serde reports an unknown field at its parent or at itself.
                    let own = if path.ends_with(&format!(".{f}")) || path == f {
                        path.clone()
                    } else if path.is_empty() {
                        f.to_string()
                    } else {
                        format!("{path}.{f}")
                    };
                    index.key(&own)
                })
                .or_else(|| index.find(&path));
            // Report unknown fields at the field itself.
            let path = match unknown_field_name(&message) {
                Some(f) if !path.ends_with(f) => {
                    if path.is_empty() {
                        f.to_string()
                    } else {
                        format!("{path}.{f}")
                    }
                }
                _ => path,
            };
            // The last override covering the field set its value.
            let flag = overrides
                .iter()
                .rev()
                .find(|o| o.covers(&path))
                .map(|o| o.flag.clone());
            Problem {
                location: if flag.is_some() { None } else { location },
                path,
                message,
                flag,
            }
        })
        .collect();
    ScenarioError {
        file: file.to_string(),
        problems,
    }
}

fn unknown_field_name(message: &str) -> Option<&str> {
    let rest = message.strip_prefix("unknown field `")?;
    Some(&rest[..rest.find('`')?])
}

/// A parser message without its location (reported separately) and
/// without Rust type names: `expected u32` reads `expected a whole number
/// from 0 to 4294967295`.
fn strip_location(msg: &str) -> String {
    let msg = match msg.rfind(" at line ") {
        Some(i) => &msg[..i],
        None => msg,
    };
    const TYPES: [(&str, &str); 9] = [
        ("u8", "a whole number from 0 to 255"),
        ("u16", "a whole number from 0 to 65535"),
        ("u32", "a whole number from 0 to 4294967295"),
        ("u64", "a whole number from 0 to 18446744073709551615"),
        ("usize", "a whole number ≥ 0"),
        ("i32", "a whole number"),
        ("i64", "a whole number"),
        ("f32", "a number"),
        ("f64", "a number"),
    ];
    let mut out = msg.to_string();
    for (rust, plain) in TYPES {
        let pattern = format!("expected {rust}");
        if let Some(i) = out.find(&pattern) {
            let end = i + pattern.len();
            if !out[end..].starts_with(|c: char| c.is_ascii_alphanumeric()) {
                out.replace_range(i..end, &format!("expected {plain}"));
            }
        }
    }
    out
}

/// How a YAML value is named in messages ("a number", "a list", …).
pub(super) fn kind_of(v: &Value) -> &'static str {
    match v {
        Value::Null => "nothing (null)",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Sequence(_) => "a list",
        Value::Mapping(_) => "a mapping",
        Value::Tagged(_) => "a tagged value",
    }
}
