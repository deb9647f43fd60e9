//! Expanding a sweep file into its list of runs.
//!
//! Axes, in this order: each `grid` field, each `zip` group, the `random`
//! points. Cells are the cartesian product of the axes with the first axis
//! varying slowest (nested loops in file order); a sweep without axes has
//! one cell. Each cell runs `replicates` times: run `cell × replicates + r`
//! is replicate `r`. Replicate 0 runs the seeds the scenario (and the
//! cell) gives; replicate `r` adds `r` to the varied seeds, so replicate
//! `r` of every cell shares its random numbers (common random numbers).
//!
//! A run is a list of `--set` overrides on the base scenario, in the order
//! `set`, cell values, seeds; `dmlsim run BASE --set …` with the same list
//! reproduces it byte for byte.

use super::spec::{Sampler, SeedGroup, SweepSpec};
use crate::scenario::{
    LoadedScenario, Override, ScenarioError, locate_problems, parse_document, parse_scenario_with,
};
use dmlsim_models::rng::stream;
use rand::RngExt;
use serde_yaml_ng::Value;
use std::path::{Path, PathBuf};

/// Most runs one sweep may plan.
pub const MAX_RUNS: u64 = 1_000_000;

/// One run of a sweep.
#[derive(Clone, Debug)]
pub struct PlannedRun {
    /// Position in the sweep's run list (0-based).
    pub run_id: u32,
    /// The cell: one combination of the swept values.
    pub cell: u32,
    /// Which replicate of the cell (0-based).
    pub replicate: u32,
    /// The overrides that make the run from the base scenario.
    pub overrides: Vec<Override>,
}

/// A sweep file, validated and expanded.
#[derive(Clone, Debug)]
pub struct Sweep {
    /// The sweep's name.
    pub name: String,
    /// The sweep file as the user named it.
    pub file: String,
    /// The sweep file's text.
    pub text: String,
    /// The base scenario file (resolved against the sweep file's folder).
    pub scenario: PathBuf,
    /// The base scenario's text.
    pub scenario_text: String,
    /// Swept field paths, in axis order (one column each in the outputs).
    pub params: Vec<String>,
    /// Each cell's values, aligned with `params`.
    pub cells: Vec<Vec<Value>>,
    /// Runs per cell.
    pub replicates: u32,
    /// Every run, in run-id order.
    pub runs: Vec<PlannedRun>,
    /// The tables each run writes.
    pub tables: crate::output::TableSet,
}

/// A 1/N share of a sweep's runs: the runs whose id is `index` modulo
/// `count` (round robin, so every shard gets a similar mix of cells).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Shard {
    /// This shard, 0 ≤ index < count (Slurm's `SLURM_ARRAY_TASK_ID`,
    /// Kubernetes' `JOB_COMPLETION_INDEX`).
    pub index: u32,
    /// How many shards the sweep is split into.
    pub count: u32,
}

impl Shard {
    /// Reads `I/N`.
    pub fn parse(text: &str) -> Result<Shard, String> {
        let bad = || format!("--shard expects I/N with 0 ≤ I < N (e.g. 0/4), found `{text}`");
        let (i, n) = text.split_once('/').ok_or_else(bad)?;
        let index: u32 = i.trim().parse().map_err(|_| bad())?;
        let count: u32 = n.trim().parse().map_err(|_| bad())?;
        if count == 0 || index >= count {
            return Err(bad());
        }
        Ok(Shard { index, count })
    }

    /// Whether the run belongs to this shard.
    pub fn holds(&self, run_id: u32) -> bool {
        run_id % self.count == self.index
    }
}

/// One axis: fields varied together and the points they take.
struct Axis {
    fields: Vec<String>,
    points: Vec<Vec<Value>>,
}

impl Sweep {
    /// Reads, validates and expands a sweep file. Every cell's scenario is
    /// parsed and validated here, so a bad value is reported before
    /// anything runs.
    pub fn load(path: &Path) -> Result<Sweep, ScenarioError> {
        let file = path.display().to_string();
        let read = |p: &Path, what: &str| -> Result<String, ScenarioError> {
            let bytes = crate::input::read_limited(p, crate::scenario::load::MAX_SCENARIO_BYTES)
                .map_err(|e| {
                    ScenarioError::single(&file, None, format!("cannot read {what}: {e}"))
                })?;
            String::from_utf8(bytes).map_err(|e| {
                ScenarioError::single(&file, None, format!("{what} is not UTF-8 text: {e}"))
            })
        };
        let text = read(path, "the sweep file")?;
        let spec: SweepSpec = parse_document(&text, &file)?;
        let fail = |problems: Vec<(String, String)>| locate_problems(&file, &text, problems);
        let axes = axes(&spec).map_err(fail)?;
        let tables = match &spec.tables {
            None => crate::output::TableSet::all(),
            Some(list) => crate::output::TableSet::parse(&list.join(","))
                .map_err(|e| fail(vec![("tables".into(), e)]))?,
        };
        if spec.replicates == 0 {
            return Err(fail(vec![(
                "replicates".into(),
                "expected at least 1 run per cell".into(),
            )]));
        }
        let cells_count = axes
            .iter()
            .try_fold(1u64, |n, a| n.checked_mul(a.points.len() as u64))
            .unwrap_or(u64::MAX);
        let runs_count = cells_count.saturating_mul(u64::from(spec.replicates));
        if runs_count > MAX_RUNS {
            return Err(fail(vec![(
                String::new(),
                format!(
                    "the sweep plans {runs_count} runs ({cells_count} cells × {} replicates); at most {MAX_RUNS} are allowed in one sweep file — split it",
                    spec.replicates
                ),
            )]));
        }
        let base_dir = path.parent().unwrap_or(Path::new(""));
        let scenario = base_dir.join(&spec.scenario);
        let scenario_text = read(&scenario, "the base scenario")?;
        let scenario_file = scenario.display().to_string();
        let fixed: Vec<Override> = spec
            .set
            .iter()
            .map(|(k, v)| Override::new(k.as_str().unwrap_or_default(), v.clone()))
            .collect();
        let params: Vec<String> = axes.iter().flat_map(|a| a.fields.clone()).collect();
        let cells = product(&axes);
        let mut runs = Vec::with_capacity(runs_count as usize);
        for (c, values) in cells.iter().enumerate() {
            let mut overrides = fixed.clone();
            overrides.extend(
                params
                    .iter()
                    .zip(values)
                    .map(|(p, v)| Override::new(p, v.clone())),
            );
            let parsed = parse_scenario_with(&scenario_text, &scenario_file, &overrides)
                .map_err(|e| in_cell(e, &file, c, values, &params))?;
            let seeds = parsed.seeds();
            for r in 0..spec.replicates {
                let mut run = overrides.clone();
                if r > 0 {
                    let plus = |s: u64| Value::from(s.wrapping_add(u64::from(r)));
                    match &spec.vary_seeds {
                        None => run.push(Override::new("seed", plus(parsed.seed))),
                        Some(groups) => {
                            for g in groups {
                                let s = match g {
                                    SeedGroup::World => seeds.world,
                                    SeedGroup::Selection => seeds.selection,
                                    SeedGroup::Training => seeds.training,
                                    SeedGroup::Price => seeds.price,
                                    SeedGroup::Verification => seeds.verification,
                                    SeedGroup::Governance => seeds.governance,
                                    SeedGroup::Market => seeds.market,
                                };
                                run.push(Override::new(&format!("seeds.{}", g.name()), plus(s)));
                            }
                        }
                    }
                }
                runs.push(PlannedRun {
                    run_id: runs.len() as u32,
                    cell: c as u32,
                    replicate: r,
                    overrides: run,
                });
            }
        }
        let name = spec.name.clone().unwrap_or_else(|| {
            path.file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_else(|| "sweep".into())
        });
        Ok(Sweep {
            name,
            file,
            text,
            scenario,
            scenario_text,
            params,
            cells,
            replicates: spec.replicates,
            runs,
            tables,
        })
    }

    /// The run's scenario: the base with the run's overrides, validated.
    pub fn scenario_of(&self, run: &PlannedRun) -> Result<LoadedScenario, ScenarioError> {
        let file = self.scenario.display().to_string();
        let scenario = parse_scenario_with(&self.scenario_text, &file, &run.overrides)?;
        Ok(LoadedScenario {
            scenario,
            text: self.scenario_text.clone(),
            file,
            dir: self
                .scenario
                .parent()
                .map(Path::to_path_buf)
                .unwrap_or_default(),
            overrides: run.overrides.clone(),
        })
    }

    /// A digest of the run list and tables: two folders with the same
    /// digest hold runs of the same sweep (resume and merge check it).
    pub fn plan_sha256(&self) -> String {
        let mut text = format!(
            "dmlsim {}\nscenario {}\ntables {:?}\n",
            env!("CARGO_PKG_VERSION"),
            crate::run::sha256_hex(&self.scenario_text),
            self.tables
        );
        for r in &self.runs {
            text.push_str(&r.run_id.to_string());
            for o in &r.overrides {
                text.push('\t');
                text.push_str(&o.flag);
            }
            text.push('\n');
        }
        crate::run::sha256_hex(&text)
    }
}

/// A cell's scenario problem, said with the cell's values.
fn in_cell(
    e: ScenarioError,
    sweep_file: &str,
    cell: usize,
    values: &[Value],
    params: &[String],
) -> ScenarioError {
    let which: Vec<String> = params
        .iter()
        .zip(values)
        .map(|(p, v)| format!("{p}={}", crate::scenario::flow_text(v)))
        .collect();
    let mut e = e;
    let context = if which.is_empty() {
        format!("{sweep_file}: the base scenario with `set` is invalid")
    } else {
        format!(
            "{sweep_file}: cell {cell} ({}) is invalid",
            which.join(", ")
        )
    };
    e.problems.insert(
        0,
        crate::scenario::Problem {
            path: String::new(),
            location: None,
            message: context,
            flag: None,
        },
    );
    e
}

/// The sweep's axes, in order, with every problem found.
fn axes(spec: &SweepSpec) -> Result<Vec<Axis>, Vec<(String, String)>> {
    let mut problems = Vec::new();
    let mut seen: Vec<String> = Vec::new();
    let mut field = |path: &Value, at: &str, problems: &mut Vec<(String, String)>| {
        let Some(p) = path.as_str() else {
            problems.push((
                at.into(),
                "expected a field path such as `rounds.count`".into(),
            ));
            return None;
        };
        if let Err(e) = Override::parse(&format!("{p}=0")) {
            problems.push((format!("{at}.{p}"), e.message));
            return None;
        }
        if seen.iter().any(|s| s == p) {
            problems.push((
                format!("{at}.{p}"),
                format!("`{p}` is set or varied more than once in this sweep"),
            ));
            return None;
        }
        seen.push(p.to_string());
        Some(p.to_string())
    };
    for k in spec.set.keys() {
        field(k, "set", &mut problems);
    }
    let mut out = Vec::new();
    for (k, v) in &spec.grid {
        let Some(p) = field(k, "grid", &mut problems) else {
            continue;
        };
        match v {
            Value::Sequence(items) if !items.is_empty() => out.push(Axis {
                fields: vec![p],
                points: items.iter().map(|v| vec![v.clone()]).collect(),
            }),
            _ => problems.push((
                format!("grid.{p}"),
                "expected a non-empty list of values".into(),
            )),
        }
    }
    for (g, group) in spec.zip.iter().enumerate() {
        let at = format!("zip[{g}]");
        let mut fields = Vec::new();
        let mut lists = Vec::new();
        for (k, v) in group {
            let Some(p) = field(k, &at, &mut problems) else {
                continue;
            };
            match v {
                Value::Sequence(items) if !items.is_empty() => {
                    fields.push(p);
                    lists.push(items.clone());
                }
                _ => problems.push((
                    format!("{at}.{p}"),
                    "expected a non-empty list of values".into(),
                )),
            }
        }
        let n = lists.first().map_or(0, Vec::len);
        if let Some((f, l)) = fields.iter().zip(&lists).find(|(_, l)| l.len() != n) {
            problems.push((
                format!("{at}.{f}"),
                format!(
                    "zipped lists must have equal lengths: `{}` has {n} values, `{f}` has {}",
                    fields[0],
                    l.len()
                ),
            ));
        } else if n > 0 {
            out.push(Axis {
                fields,
                points: (0..n)
                    .map(|i| lists.iter().map(|l| l[i].clone()).collect())
                    .collect(),
            });
        }
    }
    if let Some(random) = &spec.random {
        let mut samplers = Vec::new();
        for (k, v) in &random.fields {
            let Some(p) = field(k, "random.fields", &mut problems) else {
                continue;
            };
            match sampler(v) {
                Ok(s) => samplers.push((p, s)),
                Err(e) => problems.push((format!("random.fields.{p}"), e)),
            }
        }
        if random.samples == 0 || u64::from(random.samples) > MAX_RUNS {
            problems.push((
                "random.samples".into(),
                format!("expected 1 to {MAX_RUNS} samples"),
            ));
        } else if samplers.is_empty() && problems.is_empty() {
            problems.push(("random.fields".into(), "expected at least one field".into()));
        } else if !samplers.is_empty() {
            out.push(Axis {
                fields: samplers.iter().map(|(p, _)| p.clone()).collect(),
                points: (0..random.samples)
                    .map(|i| {
                        let mut rng = stream(random.seed, "sweep-random", u64::from(i));
                        samplers.iter().map(|(_, s)| draw(s, &mut rng)).collect()
                    })
                    .collect(),
            });
        }
    }
    if problems.is_empty() {
        Ok(out)
    } else {
        Err(problems)
    }
}

/// A sampler read from its YAML, with its bounds checked.
fn sampler(v: &Value) -> Result<Sampler, String> {
    #[derive(serde::Deserialize)]
    struct Field(#[serde(deserialize_with = "crate::scenario::tagged::one_key_map")] Sampler);
    let text = serde_yaml_ng::to_string(v).map_err(|e| e.to_string())?;
    let Field(s) = serde_yaml_ng::from_str(&text).map_err(|_| {
        "expected one of `uniform: [low, high]`, `log_uniform: [low, high]`, `int_uniform: [low, high]`, `choice: [values]`".to_string()
    })?;
    match &s {
        Sampler::Uniform([lo, hi]) if !(lo.is_finite() && hi.is_finite() && lo < hi) => Err(
            format!("uniform needs finite low < high, found [{lo}, {hi}]"),
        ),
        Sampler::LogUniform([lo, hi])
            if !(lo.is_finite() && hi.is_finite() && *lo > 0.0 && lo < hi) =>
        {
            Err(format!(
                "log_uniform needs 0 < low < high, found [{lo}, {hi}]"
            ))
        }
        Sampler::IntUniform([lo, hi]) if lo > hi => {
            Err(format!("int_uniform needs low ≤ high, found [{lo}, {hi}]"))
        }
        Sampler::Choice(values) if values.is_empty() => {
            Err("choice needs at least one value".into())
        }
        _ => Ok(s),
    }
}

/// One draw of a sampler.
fn draw(s: &Sampler, rng: &mut dmlsim_models::rng::StreamRng) -> Value {
    let u: f64 = rng.random();
    match s {
        Sampler::Uniform([lo, hi]) => Value::from(lo + (hi - lo) * u),
        Sampler::LogUniform([lo, hi]) => Value::from((lo.ln() + (hi.ln() - lo.ln()) * u).exp()),
        Sampler::IntUniform([lo, hi]) => {
            let span = (*hi as i128 - *lo as i128 + 1) as f64;
            let k = ((u * span) as i128).min(*hi as i128 - *lo as i128);
            Value::from((*lo as i128 + k) as i64)
        }
        Sampler::Choice(values) => {
            let k = ((u * values.len() as f64) as usize).min(values.len() - 1);
            values[k].clone()
        }
    }
}

/// The cartesian product of the axes' points, first axis slowest.
fn product(axes: &[Axis]) -> Vec<Vec<Value>> {
    let mut cells: Vec<Vec<Value>> = vec![Vec::new()];
    for axis in axes {
        cells = cells
            .iter()
            .flat_map(|prefix| {
                axis.points.iter().map(move |p| {
                    let mut c = prefix.clone();
                    c.extend(p.iter().cloned());
                    c
                })
            })
            .collect();
    }
    cells
}
