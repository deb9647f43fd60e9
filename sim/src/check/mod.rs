//! Checks for CI: built-in invariants ([`invariants`]) and the scenario's
//! own `checks:` — expressions over the output tables and `run.json`
//! ([`expr`], [`eval`]) — plus comparisons against a baseline run, with a
//! readable report and JUnit XML ([`junit`]).

pub mod data;
pub mod eval;
pub mod expr;
pub mod invariants;
pub mod junit;

use data::{RunData, Val};
use eval::Value;
use expr::Expr;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::path::Path;

/// A check as a scenario writes it: an expression, or a named one.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema, PartialEq)]
#[serde(
    untagged,
    expecting = "an expression such as `final(epochs.nakamoto_51) >= 4`, or `{name, expr}`"
)]
pub enum CheckEntry {
    /// The expression, which is also its name.
    Plain(String),
    /// A named expression.
    Named(NamedCheck),
}

/// A named check.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct NamedCheck {
    /// Short name, shown in reports and JUnit.
    pub name: String,
    /// The expression; true means the check passes.
    pub expr: String,
}

impl CheckEntry {
    /// The check's name and expression.
    pub fn named(&self) -> NamedCheck {
        match self {
            CheckEntry::Plain(e) => NamedCheck {
                name: e.clone(),
                expr: e.clone(),
            },
            CheckEntry::Named(n) => n.clone(),
        }
    }
}

/// What a check is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// A built-in invariant.
    Invariant,
    /// A scenario or command-line expression.
    Check,
    /// A metric compared with a baseline run.
    Baseline,
}

impl Kind {
    /// The label in reports (and the JUnit class).
    pub fn label(self) -> &'static str {
        match self {
            Kind::Invariant => "invariant",
            Kind::Check => "check",
            Kind::Baseline => "baseline",
        }
    }
}

/// How a check came out.
#[derive(Clone, Debug, PartialEq)]
pub enum Status {
    /// It holds.
    Pass,
    /// It is violated (exit code 1): the details.
    Fail(String),
    /// It could not be evaluated (exit code 2): bad expression, missing
    /// table or column.
    Error(String),
    /// It does not apply to this run.
    Skipped(String),
}

/// One check's outcome.
#[derive(Clone, Debug, PartialEq)]
pub struct Outcome {
    /// What kind of check.
    pub kind: Kind,
    /// Its name.
    pub name: String,
    /// What it checks (the expression, or the invariant's statement).
    pub what: String,
    /// How it came out.
    pub status: Status,
}

/// A baseline comparison: metric names (as in a sweep's `runs.arrow`)
/// with their tolerances.
#[derive(Clone, Debug, Default)]
pub struct Baseline {
    /// The baseline run's `run.json`.
    pub run_json: serde_json::Value,
    /// `(metric, tolerance)`; empty: every metric both runs have, with
    /// `default_tolerance`.
    pub metrics: Vec<(String, Tolerance)>,
    /// Tolerance of metrics not listed.
    pub default_tolerance: Tolerance,
}

/// How far a metric may move from its baseline.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub enum Tolerance {
    /// Exactly equal.
    #[default]
    Exact,
    /// |now − base| ≤ x.
    Absolute(f64),
    /// |now − base| ≤ x·|base|.
    Relative(f64),
}

impl Tolerance {
    /// Reads `0.01` (absolute) or `5%` (relative).
    pub fn parse(text: &str) -> Result<Tolerance, String> {
        let t = text.trim();
        let bad = || {
            format!(
                "`{text}` is not a tolerance: write an absolute one such as 0.01, or a relative one such as 5%"
            )
        };
        if let Some(p) = t.strip_suffix('%') {
            let x: f64 = p.trim().parse().map_err(|_| bad())?;
            if !(x.is_finite() && x >= 0.0) {
                return Err(bad());
            }
            return Ok(Tolerance::Relative(x / 100.0));
        }
        let x: f64 = t.parse().map_err(|_| bad())?;
        if !(x.is_finite() && x >= 0.0) {
            return Err(bad());
        }
        Ok(if x == 0.0 {
            Tolerance::Exact
        } else {
            Tolerance::Absolute(x)
        })
    }

    fn allows(self, base: f64, now: f64) -> bool {
        if base.is_nan() || now.is_nan() {
            // A null metric equals only another null one.
            return base.is_nan() && now.is_nan();
        }
        match self {
            Tolerance::Exact => base == now,
            Tolerance::Absolute(x) => (now - base).abs() <= x,
            Tolerance::Relative(x) => (now - base).abs() <= x * base.abs(),
        }
    }

    fn show(self) -> String {
        match self {
            Tolerance::Exact => "exact".into(),
            Tolerance::Absolute(x) => format!("± {x}"),
            Tolerance::Relative(x) => format!("± {}%", x * 100.0),
        }
    }
}

/// The checks a run declared (recorded in its `run.json`).
pub fn declared_checks(data: &RunData) -> Vec<NamedCheck> {
    data.run_json
        .get("checks")
        .and_then(|c| serde_json::from_value::<Vec<NamedCheck>>(c.clone()).ok())
        .unwrap_or_default()
}

/// Evaluates one expression check.
pub fn evaluate(check: &NamedCheck, data: &RunData) -> Status {
    let text = &check.expr;
    let e = match expr::parse(text) {
        Ok(e) => e,
        Err(err) => return Status::Error(err.show(text)),
    };
    match eval::eval(&e, data) {
        Err(err) => Status::Error(err.show(text)),
        Ok(Value::One(Val::Bool(true))) => Status::Pass,
        Ok(Value::One(Val::Bool(false))) => Status::Fail(explain(&e, text, data)),
        Ok(Value::One(Val::Null)) => Status::Fail(format!(
            "the result is null (a value it needs is missing or was never reached); {}",
            explain(&e, text, data)
        )),
        Ok(Value::One(v)) => Status::Error(
            expr::ExprError::at(
                e.span(),
                format!("a check must be true or false, found {v}"),
            )
            .show(text),
        ),
        Ok(Value::Many(vs, t)) => Status::Error(
            expr::ExprError::at(
                e.span(),
                format!(
                    "this is a column of {} rows of {t}.arrow; wrap it in all(...) or any(...)",
                    vs.len()
                ),
            )
            .show(text),
        ),
    }
}

/// Why a check is false: the values of a comparison's two sides, or the
/// rows that broke an `all(...)`.
fn explain(e: &Expr, text: &str, data: &RunData) -> String {
    match e {
        Expr::Bin(op, a, b, _) if op.is_comparison() => {
            let side = |x: &Expr| {
                let src = &text[x.span().start..x.span().end];
                match eval::eval(x, data) {
                    Ok(Value::One(v)) if v.to_string() == src => src.to_string(),
                    Ok(Value::One(v)) => format!("{src} = {v}"),
                    _ => src.to_string(),
                }
            };
            format!("{} is not {} {}", side(a), op.symbol(), side(b))
        }
        Expr::Call {
            name, args, filter, ..
        } if name == "all" && args.len() == 1 && filter.is_none() => {
            match eval::eval(&args[0], data) {
                Ok(Value::Many(rows, table)) => {
                    let false_rows: Vec<usize> = (0..rows.len())
                        .filter(|&i| rows[i] == Val::Bool(false))
                        .collect();
                    let nulls = rows.iter().filter(|v| **v == Val::Null).count();
                    let mut m = format!(
                        "{} of {} rows of {table}.arrow are false and {nulls} null (null where a value is missing)",
                        false_rows.len(),
                        rows.len()
                    );
                    if let Some(first) = false_rows.first() {
                        m.push_str(&format!("; the first false row is row {first} (from 0)"));
                    }
                    m
                }
                _ => format!("`{text}` is false"),
            }
        }
        _ => format!("`{text}` is false"),
    }
}

/// Runs the invariants (unless `invariants` is false), the checks and the
/// baseline comparison on one run.
pub fn run_checks(
    data: &RunData,
    checks: &[NamedCheck],
    invariants: bool,
    baseline: Option<&Baseline>,
) -> Vec<Outcome> {
    let mut out = Vec::new();
    if invariants {
        for (name, o) in invariants::check_all(data) {
            let what = invariants::INVARIANTS
                .iter()
                .find(|(n, _)| *n == name)
                .map_or("", |(_, w)| w);
            out.push(Outcome {
                kind: Kind::Invariant,
                name: name.to_string(),
                what: what.to_string(),
                status: match o {
                    invariants::Outcome::Pass => Status::Pass,
                    invariants::Outcome::Fail(m) => Status::Fail(m),
                    invariants::Outcome::Skipped(m) => Status::Skipped(m),
                },
            });
        }
    }
    for c in checks {
        out.push(Outcome {
            kind: Kind::Check,
            name: c.name.clone(),
            what: c.expr.clone(),
            status: evaluate(c, data),
        });
    }
    if let Some(b) = baseline {
        out.extend(compare(data, b));
    }
    out
}

/// Compares a run's metrics with the baseline's.
fn compare(data: &RunData, b: &Baseline) -> Vec<Outcome> {
    let now = crate::sweep::index::metrics_of(&data.run_json);
    let base = crate::sweep::index::metrics_of(&b.run_json);
    let chosen: Vec<(String, Tolerance)> = if b.metrics.is_empty() {
        // Every baseline metric: one this run lacks is an error, not a pass.
        base.keys()
            .filter(|k| !k.starts_with("rows."))
            .map(|k| (k.clone(), b.default_tolerance))
            .collect()
    } else {
        b.metrics.clone()
    };
    chosen
        .into_iter()
        .map(|(m, tol)| {
            let status = match (base.get(&m), now.get(&m)) {
                (None, _) => Status::Error(format!("the baseline has no metric `{m}`")),
                (_, None) => Status::Error(format!("this run has no metric `{m}`")),
                (Some(&x), Some(&y)) if tol.allows(x, y) => Status::Pass,
                (Some(&x), Some(&y)) => Status::Fail(format!(
                    "{m} is {y}, the baseline {x} (difference {}; allowed {})",
                    y - x,
                    tol.show()
                )),
            };
            Outcome {
                kind: Kind::Baseline,
                what: format!("{m} within {} of the baseline", tol.show()),
                name: m,
                status,
            }
        })
        .collect()
}

/// The outcomes as a readable table.
pub fn report(target: &str, outcomes: &[Outcome]) -> String {
    let mut s = format!("{target}\n");
    let (mut pass, mut fail, mut error, mut skip) = (0, 0, 0, 0);
    for o in outcomes {
        let (tag, detail) = match &o.status {
            Status::Pass => {
                pass += 1;
                ("PASS", None)
            }
            Status::Fail(d) => {
                fail += 1;
                ("FAIL", Some(d))
            }
            Status::Error(d) => {
                error += 1;
                ("ERROR", Some(d))
            }
            Status::Skipped(d) => {
                skip += 1;
                ("SKIP", Some(d))
            }
        };
        s.push_str(&format!("  {tag:<5} {:<9} {}\n", o.kind.label(), o.name));
        let shows_expr = matches!(&o.status, Status::Error(d) if d.starts_with(&o.what));
        if o.kind == Kind::Check
            && o.name != o.what
            && !shows_expr
            && !matches!(o.status, Status::Pass)
        {
            s.push_str(&format!("                  {}\n", o.what));
        }
        if let Some(d) = detail {
            // An error's caret display repeats the expression: keep it
            // only when the name differs from the expression.
            let skip = usize::from(shows_expr && o.name == o.what);
            for line in d.lines().skip(skip) {
                s.push_str(&format!("                  {line}\n"));
            }
        }
    }
    s.push_str(&format!(
        "  {pass} passed, {fail} failed, {error} errors, {skip} skipped\n"
    ));
    s
}

/// The exit code for these outcomes: 2 if any could not be evaluated, 1
/// if any failed, else 0.
pub fn exit_code(outcomes: &[Outcome]) -> u8 {
    if outcomes
        .iter()
        .any(|o| matches!(o.status, Status::Error(_)))
    {
        2
    } else if outcomes.iter().any(|o| matches!(o.status, Status::Fail(_))) {
        1
    } else {
        0
    }
}

/// A run's output, or why it has none.
pub type RunOrReason = Result<RunData, String>;

/// The runs of a folder: a run folder is one run; a sweep folder each of
/// its runs (`DIR run N`), a failed or missing one as the reason it has
/// no output.
pub fn runs_in(dir: &Path) -> Result<Vec<(String, RunOrReason)>, String> {
    if dir.join("sweep.json").is_file() {
        let plan = crate::sweep::store::PlanRecord::read(dir).map_err(|e| e.to_string())?;
        let mut out = Vec::new();
        for id in 0..plan.runs {
            let target = format!("{} run {id}", dir.display());
            let data = match crate::sweep::store::read_record(dir, id) {
                Some(r) if r.status == "ok" => match r.run {
                    Some(run) => Ok(RunData::sweep_run(dir, id, run)),
                    None => Err("its record holds no run.json".to_string()),
                },
                Some(r) => Err(format!(
                    "the run failed: {}",
                    r.error.unwrap_or_else(|| "no reason recorded".into())
                )),
                None => Err("the run has no record (not run, or in a shard not merged)".into()),
            };
            out.push((target, data));
        }
        return Ok(out);
    }
    Ok(vec![(
        dir.display().to_string(),
        Ok(RunData::run_folder(dir)?),
    )])
}

/// The outcome of a run that has no output to check.
pub fn missing_run(reason: String) -> Outcome {
    Outcome {
        kind: Kind::Check,
        name: "run completed".into(),
        what: "the run completed and wrote its tables".into(),
        status: Status::Fail(reason),
    }
}
