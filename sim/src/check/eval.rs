//! Evaluating check expressions over a run's output.
//!
//! Names: `TABLE.COLUMN` is a column (`rounds.test_accuracy`);
//! `run.KEY.KEY…` a value of `run.json` (`run.stopped_by`);
//! `summary.KEY…` a value of its summary (`summary.economy.final_gini`).
//! Inside an aggregate, a bare name is a column of the aggregate's table
//! (`mean(nodes.profit_usd where behaviour == "lazy")`). Operators work
//! row by row on columns of one table and broadcast single values.
//! Comparisons and arithmetic with null give null; a check that is null
//! fails.

use super::data::{RunData, Val};
use super::expr::{BinOp, Expr, ExprError, Span};
use crate::output::sink::TABLES;

/// A value: one, or a column of a table.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    /// A single value.
    One(Val),
    /// A column (or a row-by-row result), with its table's name.
    Many(Vec<Val>, String),
}

/// Aggregates: a column → one value.
pub const AGGREGATES: [&str; 11] = [
    "first", "final", "last", "min", "max", "mean", "median", "sum", "count", "all", "any",
];

/// Other functions.
pub const FUNCTIONS: [&str; 3] = ["time_to_accuracy", "rounds_to_accuracy", "abs"];

struct Ctx<'a> {
    data: &'a RunData,
    /// The table bare names belong to, inside an aggregate.
    row_table: Option<String>,
}

/// Evaluates an expression.
pub fn eval(e: &Expr, data: &RunData) -> Result<Value, ExprError> {
    let ctx = Ctx {
        data,
        row_table: None,
    };
    ctx.eval(e)
}

fn is_table(name: &str) -> bool {
    TABLES.contains(&name)
}

/// The table of the first `TABLE.COLUMN` inside `e`.
fn table_of(e: &Expr) -> Option<String> {
    match e {
        Expr::Name(parts, _) if parts.len() == 2 && is_table(&parts[0]) => Some(parts[0].clone()),
        Expr::Neg(x, _) | Expr::Not(x, _) => table_of(x),
        Expr::Bin(_, a, b, _) => table_of(a).or_else(|| table_of(b)),
        Expr::Call { args, filter, .. } => args
            .iter()
            .find_map(table_of)
            .or_else(|| filter.as_deref().and_then(table_of)),
        _ => None,
    }
}

fn truthy(v: &Val) -> Option<bool> {
    match v {
        Val::Bool(b) => Some(*b),
        Val::Null => None,
        _ => None,
    }
}

impl Ctx<'_> {
    fn eval(&self, e: &Expr) -> Result<Value, ExprError> {
        match e {
            Expr::Num(x, _) => Ok(Value::One(Val::Num(*x))),
            Expr::Str(s, _) => Ok(Value::One(Val::Str(s.clone()))),
            Expr::Bool(b, _) => Ok(Value::One(Val::Bool(*b))),
            Expr::Null(_) => Ok(Value::One(Val::Null)),
            Expr::Name(parts, span) => self.name(parts, *span),
            Expr::Neg(x, span) => self.map1(x, *span, |v| match v {
                Val::Num(x) => Ok(Val::Num(-x)),
                Val::Null => Ok(Val::Null),
                other => Err(format!("cannot negate {other}")),
            }),
            Expr::Not(x, span) => self.map1(x, *span, |v| match v {
                Val::Bool(b) => Ok(Val::Bool(!b)),
                Val::Null => Ok(Val::Null),
                other => Err(format!("`not` needs true or false, found {other}")),
            }),
            Expr::Bin(op, a, b, span) => self.binary(*op, a, b, *span),
            Expr::Call {
                name,
                args,
                filter,
                span,
                name_span,
            } => self.call(name, args, filter.as_deref(), *span, *name_span),
        }
    }

    fn name(&self, parts: &[String], span: Span) -> Result<Value, ExprError> {
        let err = |m: String| ExprError::at(span, m);
        match parts[0].as_str() {
            "run" if parts.len() > 1 => self.data.json(&parts[1..]).map(Value::One).map_err(err),
            "summary" if parts.len() > 1 => {
                let mut path = vec!["summary".to_string()];
                path.extend(parts[1..].iter().cloned());
                self.data.json(&path).map(Value::One).map_err(err)
            }
            t if is_table(t) && parts.len() == 2 => self
                .data
                .column(t, &parts[1])
                .map(|c| Value::Many(c.as_ref().clone(), t.to_string()))
                .map_err(err),
            t if is_table(t) => Err(err(format!("name one column of {t}.arrow: `{t}.COLUMN`"))),
            _ if parts.len() == 1 => match &self.row_table {
                Some(t) => self
                    .data
                    .column(t, &parts[0])
                    .map(|c| Value::Many(c.as_ref().clone(), t.clone()))
                    .map_err(err),
                None => Err(err(format!(
                    "unknown name `{}`: write a column as TABLE.COLUMN (e.g. rounds.test_accuracy), a run.json value as run.KEY or summary.KEY",
                    parts[0]
                ))),
            },
            other => Err(err(format!(
                "unknown table `{other}`; tables are {}, and run.json values are run.KEY or summary.KEY",
                TABLES.join(", ")
            ))),
        }
    }

    fn map1(
        &self,
        x: &Expr,
        span: Span,
        f: impl Fn(&Val) -> Result<Val, String>,
    ) -> Result<Value, ExprError> {
        let err = |m| ExprError::at(span, m);
        Ok(match self.eval(x)? {
            Value::One(v) => Value::One(f(&v).map_err(err)?),
            Value::Many(vs, t) => {
                Value::Many(vs.iter().map(&f).collect::<Result<_, _>>().map_err(err)?, t)
            }
        })
    }

    fn binary(&self, op: BinOp, a: &Expr, b: &Expr, span: Span) -> Result<Value, ExprError> {
        let va = self.eval(a)?;
        let vb = self.eval(b)?;
        let apply = |x: &Val, y: &Val| -> Result<Val, String> { apply(op, x, y) };
        let err = |m| ExprError::at(span, m);
        Ok(match (va, vb) {
            (Value::One(x), Value::One(y)) => Value::One(apply(&x, &y).map_err(err)?),
            (Value::Many(xs, t), Value::One(y)) => Value::Many(
                xs.iter()
                    .map(|x| apply(x, &y))
                    .collect::<Result<_, _>>()
                    .map_err(err)?,
                t,
            ),
            (Value::One(x), Value::Many(ys, t)) => Value::Many(
                ys.iter()
                    .map(|y| apply(&x, y))
                    .collect::<Result<_, _>>()
                    .map_err(err)?,
                t,
            ),
            (Value::Many(xs, t), Value::Many(ys, u)) => {
                if t != u || xs.len() != ys.len() {
                    return Err(err(format!(
                        "row by row needs columns of one table: {t}.arrow ({} rows) and {u}.arrow ({} rows); aggregate one side first (e.g. mean(...))",
                        xs.len(),
                        ys.len()
                    )));
                }
                Value::Many(
                    xs.iter()
                        .zip(&ys)
                        .map(|(x, y)| apply(x, y))
                        .collect::<Result<_, _>>()
                        .map_err(err)?,
                    t,
                )
            }
        })
    }

    fn call(
        &self,
        name: &str,
        args: &[Expr],
        filter: Option<&Expr>,
        span: Span,
        name_span: Span,
    ) -> Result<Value, ExprError> {
        let arity = |n: usize| -> Result<(), ExprError> {
            if args.len() == n {
                Ok(())
            } else {
                Err(ExprError::at(
                    span,
                    format!(
                        "{name}() takes {n} argument{}, found {}",
                        if n == 1 { "" } else { "s" },
                        args.len()
                    ),
                ))
            }
        };
        if filter.is_some() && !AGGREGATES.contains(&name) {
            return Err(ExprError::at(
                span,
                format!("`where` belongs inside an aggregate such as mean(...), not {name}()"),
            ));
        }
        match name {
            "min" | "max" if args.len() == 2 => {
                let a = self.scalar(&args[0])?;
                let b = self.scalar(&args[1])?;
                let pick = |x: f64, y: f64| if name == "min" { x.min(y) } else { x.max(y) };
                Ok(Value::One(match (a, b) {
                    (Val::Num(x), Val::Num(y)) => Val::Num(pick(x, y)),
                    _ => Val::Null,
                }))
            }
            _ if AGGREGATES.contains(&name) => {
                arity(1)?;
                self.aggregate(name, &args[0], filter, span)
            }
            "abs" => {
                arity(1)?;
                self.map1(&args[0], span, |v| match v {
                    Val::Num(x) => Ok(Val::Num(x.abs())),
                    Val::Null => Ok(Val::Null),
                    other => Err(format!("abs() needs a number, found {other}")),
                })
            }
            "time_to_accuracy" | "rounds_to_accuracy" => {
                arity(1)?;
                let Val::Num(target) = self.scalar(&args[0])? else {
                    return Err(ExprError::at(
                        args[0].span(),
                        "expected a target accuracy such as 0.9",
                    ));
                };
                let err = |m| ExprError::at(span, m);
                let acc = self.data.column("rounds", "test_accuracy").map_err(err)?;
                let hit = acc
                    .iter()
                    .position(|v| matches!(v, Val::Num(a) if *a >= target));
                Ok(Value::One(match hit {
                    None => Val::Null,
                    Some(i) if name == "rounds_to_accuracy" => {
                        match &self.data.column("rounds", "round").map_err(err)?[i] {
                            Val::Num(r) => Val::Num(r + 1.0),
                            _ => Val::Null,
                        }
                    }
                    Some(i) => self.data.column("rounds", "t_end_s").map_err(err)?[i].clone(),
                }))
            }
            _ => Err(ExprError::at(
                name_span,
                format!(
                    "unknown function `{name}`; aggregates: {}; functions: {}",
                    AGGREGATES.join(", "),
                    FUNCTIONS.join(", ")
                ),
            )),
        }
    }

    fn scalar(&self, e: &Expr) -> Result<Val, ExprError> {
        match self.eval(e)? {
            Value::One(v) => Ok(v),
            Value::Many(_, t) => Err(ExprError::at(
                e.span(),
                format!(
                    "expected one value, found a column of {t}.arrow; aggregate it (e.g. final(...))"
                ),
            )),
        }
    }

    fn aggregate(
        &self,
        name: &str,
        arg: &Expr,
        filter: Option<&Expr>,
        span: Span,
    ) -> Result<Value, ExprError> {
        let inner = Ctx {
            data: self.data,
            row_table: table_of(arg)
                .or_else(|| filter.and_then(table_of))
                .or_else(|| self.row_table.clone()),
        };
        let values = match inner.eval(arg)? {
            Value::One(v) => vec![v],
            Value::Many(vs, _) => vs,
        };
        let values = match filter {
            None => values,
            Some(f) => {
                let keep = match inner.eval(f)? {
                    Value::Many(k, _) if k.len() == values.len() => k,
                    Value::One(k) => vec![k; values.len()],
                    Value::Many(k, t) => {
                        return Err(ExprError::at(
                            f.span(),
                            format!(
                                "the `where` condition has {} rows ({t}.arrow) but the values have {}",
                                k.len(),
                                values.len()
                            ),
                        ));
                    }
                };
                values
                    .into_iter()
                    .zip(keep)
                    .filter(|(_, k)| truthy(k) == Some(true))
                    .map(|(v, _)| v)
                    .collect()
            }
        };
        let nums = || -> Result<Vec<f64>, ExprError> {
            values
                .iter()
                .filter(|v| **v != Val::Null)
                .map(|v| match v {
                    Val::Num(x) => Ok(*x),
                    other => Err(ExprError::at(
                        span,
                        format!("{name}() needs numbers, found {other}"),
                    )),
                })
                .collect()
        };
        let bools = || -> Result<Vec<Option<bool>>, ExprError> {
            values
                .iter()
                .map(|v| match v {
                    Val::Bool(b) => Ok(Some(*b)),
                    Val::Null => Ok(None),
                    other => Err(ExprError::at(
                        span,
                        format!("{name}() needs true/false values (a comparison), found {other}"),
                    )),
                })
                .collect()
        };
        let one = |v: Val| Ok(Value::One(v));
        match name {
            "first" => one(values.first().cloned().unwrap_or(Val::Null)),
            "final" | "last" => one(values.last().cloned().unwrap_or(Val::Null)),
            "count" => one(Val::Num(
                values.iter().filter(|v| **v != Val::Null).count() as f64
            )),
            "all" => one(Val::Bool(bools()?.iter().all(|b| *b == Some(true)))),
            "any" => one(Val::Bool(bools()?.contains(&Some(true)))),
            _ => {
                let mut xs = nums()?;
                if xs.is_empty() {
                    return one(if name == "sum" {
                        Val::Num(0.0)
                    } else {
                        Val::Null
                    });
                }
                let n = xs.len() as f64;
                one(Val::Num(match name {
                    "min" => xs.iter().copied().fold(f64::INFINITY, f64::min),
                    "max" => xs.iter().copied().fold(f64::NEG_INFINITY, f64::max),
                    "sum" => xs.iter().sum(),
                    "mean" => xs.iter().sum::<f64>() / n,
                    _ => {
                        xs.sort_by(f64::total_cmp);
                        let m = xs.len() / 2;
                        if xs.len() % 2 == 1 {
                            xs[m]
                        } else {
                            (xs[m - 1] + xs[m]) / 2.0
                        }
                    }
                }))
            }
        }
    }
}

/// One operator on two values.
fn apply(op: BinOp, x: &Val, y: &Val) -> Result<Val, String> {
    use Val::*;
    if matches!(op, BinOp::And | BinOp::Or) {
        let (a, b) = (truthy(x), truthy(y));
        let ok = |v: &Val| matches!(v, Bool(_) | Null);
        if !ok(x) || !ok(y) {
            return Err(format!(
                "`{}` needs true/false on both sides, found {x} and {y}",
                op.symbol()
            ));
        }
        // Three-valued: null where the known side does not decide.
        return Ok(match (op, a, b) {
            (BinOp::And, Some(false), _) | (BinOp::And, _, Some(false)) => Bool(false),
            (BinOp::And, Some(true), Some(true)) => Bool(true),
            (BinOp::Or, Some(true), _) | (BinOp::Or, _, Some(true)) => Bool(true),
            (BinOp::Or, Some(false), Some(false)) => Bool(false),
            _ => Null,
        });
    }
    if *x == Null || *y == Null {
        return Ok(Null);
    }
    match (x, y) {
        (Num(a), Num(b)) => Ok(match op {
            BinOp::Add => Num(a + b),
            BinOp::Sub => Num(a - b),
            BinOp::Mul => Num(a * b),
            BinOp::Div => {
                if *b == 0.0 {
                    Null
                } else {
                    Num(a / b)
                }
            }
            BinOp::Lt => Bool(a < b),
            BinOp::Le => Bool(a <= b),
            BinOp::Gt => Bool(a > b),
            BinOp::Ge => Bool(a >= b),
            BinOp::Eq => Bool(a == b),
            BinOp::Ne => Bool(a != b),
            BinOp::And | BinOp::Or => unreachable!("handled above"),
        }),
        (Str(a), Str(b)) if matches!(op, BinOp::Eq | BinOp::Ne) => {
            Ok(Bool((a == b) == (op == BinOp::Eq)))
        }
        (Bool(a), Bool(b)) if matches!(op, BinOp::Eq | BinOp::Ne) => {
            Ok(Bool((a == b) == (op == BinOp::Eq)))
        }
        _ => Err(format!("cannot apply `{}` to {x} and {y}", op.symbol())),
    }
}
