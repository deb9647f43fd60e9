//! Nodes read from a table (`nodes.table`), one row per node, with measured
//! availability: per-node online intervals (`nodes.traces`) or weekly
//! patterns (`nodes.patterns`). The columns are those of `nodes.arrow`, so a
//! run's own node table can be read back. A row that names a scenario
//! profile takes that profile's GPU name, availability model and behaviour
//! weights where it leaves them empty; other empty cells take fixed
//! defaults (efficiency 1, memory and watts 0, an operator of its own).

use super::availability::AvailabilityModel;
use super::nodes::{NodeAvailability, Nodes};
use super::table_input::{Format, Row, Wanted, read_rows};
use super::traces::WEEK_NS;
use crate::engine::rng::stream;
use crate::network::Topology;
use crate::scenario::param::{Range, ranges};
use crate::scenario::{Availability, NodeTableSpec, Scenario};
use dmlsim_models::behaviour::Behaviour;
use rand::RngExt;
use std::collections::{BTreeMap, HashMap};
use std::path::Path;

/// A problem with the node files: the scenario field and the message.
pub type TableProblem = (String, String);

/// Profile label of rows that name none.
pub const DEFAULT_PROFILE: &str = "table";

/// The node table's columns, in the order [`Wanted`] lists them.
const COLUMNS: [(&str, bool); 17] = [
    ("region", true),
    ("gpu_tflops", true),
    ("up_mbps", true),
    ("down_mbps", true),
    ("gpu_efficiency", false),
    ("gpu_memory_gb", false),
    ("gpu_watts", false),
    ("operator_id", false),
    ("profile", false),
    ("gpu", false),
    ("behaviour", false),
    ("availability", false),
    ("busy_start_h", false),
    ("busy_end_h", false),
    ("pattern", false),
    ("router", false),
    ("node_id", false),
];
const REGION: usize = 0;
const TFLOPS: usize = 1;
const UP: usize = 2;
const DOWN: usize = 3;
const EFFICIENCY: usize = 4;
const MEMORY: usize = 5;
const WATTS: usize = 6;
const OPERATOR: usize = 7;
const PROFILE: usize = 8;
const GPU: usize = 9;
const BEHAVIOUR: usize = 10;
const AVAILABILITY: usize = 11;
const BUSY_START: usize = 12;
const BUSY_END: usize = 13;
const PATTERN: usize = 14;
const ROUTER: usize = 15;
const NODE_ID: usize = 16;

/// An availability a row states explicitly.
#[derive(Copy, Clone, PartialEq, Eq)]
enum Stated {
    Unstated,
    AlwaysOn,
    Diurnal,
    Churn,
    Trace,
    Weekly,
}

impl Stated {
    fn parse(label: &str) -> Option<Stated> {
        Some(match label {
            "always_on" => Stated::AlwaysOn,
            "diurnal" => Stated::Diurnal,
            "churn" => Stated::Churn,
            "trace" => Stated::Trace,
            "weekly" => Stated::Weekly,
            _ => return None,
        })
    }
}

/// How trace rows find their node: by row position, or by `node_id`.
enum Keys {
    Rows,
    Ids(HashMap<String, u32>),
}

/// What the rows said that is settled only once the traces are read.
struct Pending {
    stated: Vec<Stated>,
    pattern: Vec<u32>,
    keys: Keys,
}

const NO_PATTERN: u32 = u32::MAX;

/// Reads the node table (and its traces and patterns) into `out`, which
/// holds no nodes yet; at most `max_rows` nodes.
pub fn load(
    spec: &NodeTableSpec,
    s: &Scenario,
    topo: &Topology,
    dir: &Path,
    out: &mut Nodes,
    max_rows: u64,
) -> Result<(), TableProblem> {
    let file_err = |field: &str, path: &Path, e: String| {
        (
            format!("nodes.{field}"),
            format!("`{}`: {e}", path.display()),
        )
    };
    let patterns = match &spec.patterns {
        Some(p) => {
            let path = dir.join(p);
            read_patterns(&path, out).map_err(|e| file_err("patterns", &path, e))?
        }
        None => BTreeMap::new(),
    };
    let table = dir.join(&spec.table);
    Format::of(&table).map_err(|e| ("nodes.table".to_string(), e))?;
    let pending = read_nodes(
        &table,
        s,
        topo,
        &patterns,
        spec.traces.is_some(),
        out,
        max_rows,
    )
    .and_then(|p| match out.is_empty() {
        true => Err("the table has no rows".to_string()),
        false => Ok(p),
    })
    .map_err(|e| file_err("table", &table, e))?;
    let mut trace_of = vec![u32::MAX; out.len()];
    if let Some(t) = &spec.traces {
        let path = dir.join(t);
        let period = spec.trace_period.map_or(0, |p| p.time().nanos());
        read_traces(&path, &pending.keys, period, out, &mut trace_of)
            .map_err(|e| file_err("traces", &path, e))?;
    }
    settle_availability(&pending, &trace_of, out).map_err(|e| file_err("table", &table, e))
}

/// Weekly patterns: `pattern`, `start_h`, `end_h` rows; each pattern's
/// spans become one local-time trace, in the order of the pattern names.
fn read_patterns(path: &Path, out: &mut Nodes) -> Result<BTreeMap<String, u32>, String> {
    let wanted = [
        want("pattern", true),
        want("start_h", true),
        want("end_h", true),
    ];
    let mut spans: BTreeMap<String, Vec<(u64, u64)>> = BTreeMap::new();
    read_rows(path, &wanted, u64::from(u32::MAX), |r| {
        let name = r
            .text(0)
            .ok_or_else(|| r.err(0, "expected a pattern name"))?;
        let start = required(r, 1, r.num_in(1, 0.0, false, 168.0))?;
        let end = required(r, 2, r.num_in(2, 0.0, false, 168.0))?;
        if end < start {
            return Err(r.err(
                2,
                format!("the span ends ({end} h) before it starts ({start} h)"),
            ));
        }
        let ns = |h: f64| (h * 3.6e12).round() as u64;
        spans
            .entry(name.into_owned())
            .or_default()
            .push((ns(start), ns(end)));
        Ok(())
    })?;
    Ok(spans
        .into_iter()
        .map(|(name, mut s)| {
            let k = out.traces.push(&mut s, WEEK_NS, true);
            (name, k)
        })
        .collect())
}

fn want(name: &str, required: bool) -> Wanted<'_> {
    Wanted { name, required }
}

/// The value of a required cell, or an error naming it.
fn required(r: &Row<'_>, i: usize, v: Result<Option<f64>, String>) -> Result<f64, String> {
    v?.ok_or_else(|| r.err(i, "expected a number, found nothing"))
}

/// A number within a parameter range (see [`Range`]).
fn in_range(r: &Row<'_>, i: usize, range: Range) -> Result<Option<f64>, String> {
    r.num_in(i, range.lo, range.lo_open, range.hi)
}

/// Reads the node rows into `out`; returns what the traces settle.
fn read_nodes(
    path: &Path,
    s: &Scenario,
    topo: &Topology,
    patterns: &BTreeMap<String, u32>,
    keyed: bool,
    out: &mut Nodes,
    max_rows: u64,
) -> Result<Pending, String> {
    let wanted: Vec<Wanted<'_>> = COLUMNS.iter().map(|&(n, r)| want(n, r)).collect();
    let regions: HashMap<&str, u16> = s
        .regions
        .iter()
        .enumerate()
        .map(|(i, r)| (r.name.as_str(), i as u16))
        .collect();
    let region_list = || {
        s.regions
            .iter()
            .map(|r| r.name.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    };
    let mut profiles: HashMap<String, u16> = out
        .profile_names
        .iter()
        .enumerate()
        .map(|(i, p)| (p.clone(), i as u16))
        .collect();
    let mut gpus: HashMap<String, u16> = HashMap::new();
    for (i, g) in out.gpu_names.iter().enumerate() {
        gpus.entry(g.clone()).or_insert(i as u16);
    }
    let mut operators: HashMap<String, u32> = HashMap::new();
    let mut ids: HashMap<String, u32> = HashMap::new();
    let mut stated = Vec::new();
    let mut pattern_of = Vec::new();
    let world = s.seeds().world;
    let routers = topo.routers();
    let behaviours: Vec<Vec<(Behaviour, f64)>> = s.profiles.iter().map(behaviour_weights).collect();
    read_rows(path, &wanted, max_rows, |r| {
        let id = r.row - 1;
        let mut rng = stream(world, "node", id);
        let name = r
            .text(REGION)
            .ok_or_else(|| r.err(REGION, "expected a region name"))?;
        let region = *regions.get(name.as_ref()).ok_or_else(|| {
            r.err(
                REGION,
                format!(
                    "unknown region `{name}`; defined regions are {}",
                    region_list()
                ),
            )
        })?;
        // Drawn whether or not the row names a router, so a row's other
        // draws do not depend on it.
        let attach_u = rng.random::<f64>();
        let router = match r.num(ROUTER)? {
            Some(x) if routers == 0 => {
                return Err(r.err(
                    ROUTER,
                    format!("router {x} given, but the network has no generated topology"),
                ));
            }
            Some(x) if x.fract() != 0.0 || x < 0.0 || x >= routers as f64 => {
                return Err(r.err(
                    ROUTER,
                    format!("expected a router number in 0..{routers}, found {x}"),
                ));
            }
            Some(x) => x as u32,
            None => topo.attach(region, attach_u),
        };
        let profile_label = r.text(PROFILE);
        let label = profile_label.as_deref().unwrap_or(DEFAULT_PROFILE);
        let profile = match profiles.get(label) {
            Some(&p) => p,
            None => {
                let p = u16::try_from(out.profile_names.len())
                    .ok()
                    .filter(|&p| p < u16::MAX)
                    .ok_or_else(|| r.err(PROFILE, "more than 65,534 distinct profiles"))?;
                out.profile_names.push(label.to_string());
                out.profile_availability.push(AvailabilityModel::AlwaysOn);
                profiles.insert(label.to_string(), p);
                p
            }
        };
        let scenario_profile = s.profiles.get(profile as usize);
        let gpu_label = r.text(GPU);
        let gpu_label = gpu_label
            .as_deref()
            .or(scenario_profile.map(|p| p.gpu.name.as_str()))
            .unwrap_or("unknown");
        let gpu = match gpus.get(gpu_label) {
            Some(&g) => g,
            None => {
                let g = u16::try_from(out.gpu_names.len())
                    .ok()
                    .filter(|&g| g < u16::MAX)
                    .ok_or_else(|| r.err(GPU, "more than 65,534 distinct GPU names"))?;
                out.gpu_names.push(gpu_label.to_string());
                gpus.insert(gpu_label.to_string(), g);
                g
            }
        };
        let tflops = required(r, TFLOPS, in_range(r, TFLOPS, ranges::GPU_TFLOPS))?;
        let up = required(r, UP, in_range(r, UP, ranges::LINK_MBPS))?;
        let down = required(r, DOWN, in_range(r, DOWN, ranges::LINK_MBPS))?;
        let efficiency = in_range(r, EFFICIENCY, ranges::GPU_EFFICIENCY)?.unwrap_or(1.0);
        let memory = in_range(r, MEMORY, ranges::GPU_MEMORY_GB)?.unwrap_or(0.0);
        let watts = in_range(r, WATTS, ranges::GPU_WATTS)?.unwrap_or(0.0);
        let operator = match r.text(OPERATOR) {
            Some(key) => match operators.get(key.as_ref()) {
                Some(&o) => o,
                None => {
                    operators.insert(key.into_owned(), out.operators);
                    out.operators += 1;
                    out.operators - 1
                }
            },
            None => {
                out.operators += 1;
                out.operators - 1
            }
        };
        let state = match r.text(AVAILABILITY) {
            Some(a) => Stated::parse(&a).ok_or_else(|| {
                r.err(
                    AVAILABILITY,
                    format!("unknown availability `{a}`; expected always_on, diurnal, churn, trace or weekly"),
                )
            })?,
            None => Stated::Unstated,
        };
        let busy = match (
            r.num_in(BUSY_START, 0.0, false, 24.0)?,
            r.num_in(BUSY_END, 0.0, false, 24.0)?,
        ) {
            (Some(a), Some(b)) => Some((a as f32, b as f32)),
            (None, None) => None,
            (Some(_), None) => return Err(r.err(BUSY_END, "missing, but busy_start_h is given")),
            (None, Some(_)) => return Err(r.err(BUSY_START, "missing, but busy_end_h is given")),
        };
        let profile_diurnal = scenario_profile.and_then(|p| match &p.availability {
            Availability::Diurnal {
                busy_start_h,
                busy_end_h,
            } => Some((busy_start_h, busy_end_h)),
            _ => None,
        });
        let busy = match (busy, profile_diurnal) {
            (Some(b), _) => b,
            (None, _) if state == Stated::Diurnal => {
                return Err(r.err(AVAILABILITY, "`diurnal` needs busy_start_h and busy_end_h"));
            }
            (None, Some((a, b))) => (a.sample(&mut rng) as f32, b.sample(&mut rng) as f32),
            (None, None) => (0.0, 0.0),
        };
        let pattern = match r.text(PATTERN) {
            Some(p) if patterns.is_empty() => {
                return Err(r.err(
                    PATTERN,
                    format!("pattern `{p}` given, but `nodes.patterns` is not set"),
                ));
            }
            Some(p) => *patterns.get(p.as_ref()).ok_or_else(|| {
                r.err(
                    PATTERN,
                    format!(
                        "no pattern `{p}` in the patterns table ({} patterns)",
                        patterns.len()
                    ),
                )
            })?,
            None => NO_PATTERN,
        };
        let behaviour = match r.text(BEHAVIOUR) {
            Some(b) => Behaviour::from_label(&b).ok_or_else(|| {
                let known: Vec<&str> = dmlsim_models::behaviour::ALL
                    .iter()
                    .map(|b| b.label())
                    .collect();
                r.err(
                    BEHAVIOUR,
                    format!(
                        "unknown behaviour `{b}`; known behaviours are {}",
                        known.join(", ")
                    ),
                )
            })?,
            None => pick_behaviour(
                behaviours
                    .get(profile as usize)
                    .map_or(&[][..], Vec::as_slice),
                &mut rng,
            ),
        };
        if behaviour != Behaviour::Honest && s.learning.is_none() {
            return Err(r.err(
                BEHAVIOUR,
                format!(
                    "behaviour `{}` needs a `learning` section",
                    behaviour.label()
                ),
            ));
        }
        if keyed {
            let key = match r.text(NODE_ID) {
                Some(k) => k.into_owned(),
                None => id.to_string(),
            };
            if ids.insert(key, id as u32).is_some() {
                let key = r
                    .text(NODE_ID)
                    .map_or_else(|| id.to_string(), |k| k.into_owned());
                return Err(r.err(NODE_ID, format!("node id `{key}` appears twice")));
            }
        }
        out.operator.push(operator);
        out.profile.push(profile);
        out.region.push(region);
        out.router.push(router);
        out.gpu_name.push(gpu);
        out.gpu_tflops.push(tflops);
        out.gpu_efficiency.push(efficiency);
        out.gpu_memory_gb.push(memory);
        out.gpu_watts.push(watts);
        out.up_bps.push(up * 1e6);
        out.down_bps.push(down * 1e6);
        out.busy_hours.push(busy);
        out.behaviour.push(behaviour);
        stated.push(state);
        pattern_of.push(pattern);
        Ok(())
    })?;
    Ok(Pending {
        stated,
        pattern: pattern_of,
        keys: if keyed { Keys::Ids(ids) } else { Keys::Rows },
    })
}

/// A profile's behaviour weights, as [`pick_behaviour`] takes them.
pub fn behaviour_weights(p: &crate::scenario::Profile) -> Vec<(Behaviour, f64)> {
    p.behaviour
        .iter()
        .filter_map(|(name, w)| Behaviour::from_label(name).map(|b| (b, *w)))
        .collect()
}

/// A behaviour drawn by weight (honest when there are no weights; no draw
/// is taken then).
pub fn pick_behaviour(weights: &[(Behaviour, f64)], rng: &mut impl rand::Rng) -> Behaviour {
    let total: f64 = weights.iter().map(|b| b.1).sum();
    let mut behaviour = Behaviour::Honest;
    if total > 0.0 {
        let mut u = rng.random::<f64>() * total;
        for &(b, w) in weights {
            behaviour = b;
            if u < w {
                break;
            }
            u -= w;
        }
    }
    behaviour
}

/// Per-node online intervals: `node_id`, `start_s`, `end_s` rows, in any
/// order; each node's become one trace.
fn read_traces(
    path: &Path,
    keys: &Keys,
    period_ns: u64,
    out: &mut Nodes,
    trace_of: &mut [u32],
) -> Result<(), String> {
    let wanted = [
        want("node_id", true),
        want("start_s", true),
        want("end_s", true),
    ];
    let n = trace_of.len();
    let max_s = if period_ns > 0 {
        period_ns as f64 / 1e9
    } else {
        1e10 // over 300 years
    };
    let mut rows: Vec<(u32, u64, u64)> = Vec::new();
    read_rows(path, &wanted, u64::from(u32::MAX), |r| {
        let key = r.text(0).ok_or_else(|| r.err(0, "expected a node id"))?;
        let node = match keys {
            Keys::Ids(ids) => ids.get(key.as_ref()).copied(),
            Keys::Rows => key.parse::<u32>().ok().filter(|&k| (k as usize) < n),
        }
        .ok_or_else(|| {
            r.err(
                0,
                match keys {
                    Keys::Ids(_) => format!("no node with node_id `{key}` in the node table"),
                    Keys::Rows => format!(
                        "expected a node's row position in 0..{n} (the node table has no node_id column), found `{key}`"
                    ),
                },
            )
        })?;
        let start = required(r, 1, r.num_in(1, 0.0, false, max_s))?;
        let end = required(r, 2, r.num_in(2, 0.0, false, max_s))?;
        if end < start {
            return Err(r.err(
                2,
                format!("the interval ends ({end} s) before it starts ({start} s)"),
            ));
        }
        let ns = |x: f64| (x * 1e9).round() as u64;
        rows.push((node, ns(start), ns(end)));
        Ok(())
    })?;
    {
        use rayon::slice::ParallelSliceMut;
        rows.par_sort_unstable();
    }
    let mut spans = Vec::new();
    for chunk in rows.chunk_by(|a, b| a.0 == b.0) {
        spans.clear();
        spans.extend(chunk.iter().map(|&(_, s, e)| (s, e)));
        trace_of[chunk[0].0 as usize] = out.traces.push(&mut spans, period_ns, false);
    }
    Ok(())
}

/// Each node's availability, once its trace (if any) is known: what the
/// row states wins; unstated, a trace comes before a pattern before the
/// profile's model.
fn settle_availability(p: &Pending, trace_of: &[u32], out: &mut Nodes) -> Result<(), String> {
    out.availability = Vec::with_capacity(trace_of.len());
    for (i, (&stated, &trace)) in p.stated.iter().zip(trace_of).enumerate() {
        let model = &out.profile_availability[out.profile[i] as usize];
        let err = |msg: &str| format!("column `availability`, row {}: {msg}", i + 1);
        let a = match stated {
            Stated::Unstated if trace != u32::MAX => NodeAvailability::Trace(trace),
            Stated::Unstated if p.pattern[i] != NO_PATTERN => NodeAvailability::Trace(p.pattern[i]),
            Stated::Unstated => NodeAvailability::Profile,
            Stated::AlwaysOn if *model == AvailabilityModel::AlwaysOn => NodeAvailability::Profile,
            Stated::AlwaysOn => NodeAvailability::AlwaysOn,
            Stated::Diurnal if *model == AvailabilityModel::Diurnal => NodeAvailability::Profile,
            Stated::Diurnal => NodeAvailability::Diurnal,
            Stated::Churn if matches!(model, AvailabilityModel::Churn { .. }) => {
                NodeAvailability::Profile
            }
            Stated::Churn => {
                return Err(err(
                    "`churn` needs the row's profile to be a scenario profile with churn availability (its means)",
                ));
            }
            Stated::Trace if trace != u32::MAX => NodeAvailability::Trace(trace),
            Stated::Trace => {
                return Err(err("`trace`, but the traces hold no interval of this node"));
            }
            Stated::Weekly if p.pattern[i] != NO_PATTERN => NodeAvailability::Trace(p.pattern[i]),
            Stated::Weekly => return Err(err("`weekly`, but the row names no pattern")),
        };
        out.availability.push(a);
    }
    Ok(())
}

/// The number of rows a node table holds, estimated cheaply (exact for
/// Parquet): for the run estimate before the table is read.
pub fn estimated_rows(spec: &NodeTableSpec, dir: &Path) -> f64 {
    let path = dir.join(&spec.table);
    let bytes = std::fs::metadata(&path).map_or(0.0, |m| m.len() as f64);
    match Format::of(&path) {
        Ok(Format::Parquet) => std::fs::File::open(&path)
            .ok()
            .and_then(|f| {
                crate::learning_setup::decode_guarded("Parquet", || {
                    parquet::file::reader::SerializedFileReader::new(f)
                        .map(|r| {
                            use parquet::file::reader::FileReader;
                            r.metadata().file_metadata().num_rows() as f64
                        })
                        .map_err(|e| e.to_string())
                })
                .ok()
            })
            .unwrap_or(0.0),
        // About 40 bytes a row in text (region, hardware, links), 24 in Arrow.
        Ok(Format::Csv) => bytes / 40.0,
        _ => bytes / 24.0,
    }
}
