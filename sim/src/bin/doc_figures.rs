//! Regenerates the measured tables quoted in `docs/*.md` from sweeps, so
//! the figures are computed, not pasted. Each table sits between
//! `<!-- figures:NAME -->` and `<!-- /figures:NAME -->` in its document and
//! comes from the sweep `docs/figures/NAME.yaml`.
//!
//! ```sh
//! cargo run --release -p dmlsim --bin dmlsim-doc-figures           # rewrite
//! cargo run --release -p dmlsim --bin dmlsim-doc-figures -- --check  # exit 1 if stale
//! ```

use dmlsim::check::data::{RunData, Val};
use dmlsim::sweep::store::{PlanRecord, read_record};
use dmlsim::sweep::{Sweep, SweepOptions, run_sweep};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// A quoted table: its name, document and renderer.
struct Figure {
    name: &'static str,
    doc: &'static str,
    render: fn(&Path) -> Result<String, String>,
}

const FIGURES: [Figure; 5] = [
    Figure {
        name: "digits-partition",
        doc: "docs/learning.md",
        render: digits_partition,
    },
    Figure {
        name: "free-riders-p",
        doc: "docs/verification.md",
        render: free_riders,
    },
    Figure {
        name: "reward-curves-budget",
        doc: "docs/economics.md",
        render: reward_curves,
    },
    Figure {
        name: "capture-variants",
        doc: "docs/governance.md",
        render: capture_variants,
    },
    Figure {
        name: "capture-by-rule",
        doc: "docs/governance.md",
        render: capture_by_rule,
    },
];

/// The complete runs of a sweep folder with their cell's swept values.
fn runs(dir: &Path) -> Result<Vec<(Vec<String>, RunData)>, String> {
    let plan = PlanRecord::read(dir).map_err(|e| e.to_string())?;
    let mut out = Vec::new();
    for id in 0..plan.runs {
        let r = read_record(dir, id).ok_or_else(|| format!("run {id} has no record"))?;
        let run = r
            .run
            .ok_or_else(|| format!("run {id} failed: {:?}", r.error))?;
        out.push((
            plan.cells[r.cell as usize].clone(),
            RunData::sweep_run(dir, id, run),
        ));
    }
    Ok(out)
}

fn num(v: &Val) -> f64 {
    match v {
        Val::Num(x) => *x,
        _ => f64::NAN,
    }
}

fn column(d: &RunData, table: &str, col: &str) -> Result<Vec<Val>, String> {
    Ok(d.column(table, col)?.as_ref().clone())
}

/// A number with thousands separators.
fn grouped(x: f64) -> String {
    let s = format!("{:.0}", x.abs());
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    if x < -0.5 { format!("−{out}") } else { out }
}

/// Dollars with a real minus sign.
fn usd(x: f64, digits: usize) -> String {
    if x < 0.0 {
        format!("−${:.digits$}", -x)
    } else {
        format!("${x:.digits$}")
    }
}

fn signed(x: f64, digits: usize) -> String {
    if x < 0.0 {
        format!("−{:.digits$}", -x)
    } else {
        format!("{x:.digits$}")
    }
}

/// Test accuracy after 1, 5, … 60 rounds under each partition.
fn digits_partition(dir: &Path) -> Result<String, String> {
    const AFTER: [usize; 7] = [1, 5, 10, 20, 30, 40, 60];
    let mut t = String::from("| rounds closed |");
    for n in AFTER {
        t.push_str(&format!(" {n} |"));
    }
    t.push_str("\n| --- |");
    t.push_str(&" --- |".repeat(AFTER.len()));
    t.push('\n');
    for (cell, d) in runs(dir)? {
        let label = if cell[0] == "iid" {
            "IID".to_string()
        } else {
            "Dirichlet(0.1)".to_string()
        };
        let acc: Vec<f64> = column(&d, "rounds", "test_accuracy")?
            .iter()
            .map(num)
            .collect();
        t.push_str(&format!("| {label} |"));
        for n in AFTER {
            let a = acc
                .get(n - 1)
                .ok_or_else(|| format!("fewer than {n} rounds"))?;
            t.push_str(&format!(" {:.1}% |", 100.0 * a));
        }
        t.push('\n');
    }
    Ok(t)
}

fn free_riders(dir: &Path) -> Result<String, String> {
    let mut t = String::from(
        "| p | lazy updates caught | detection rate | honest $ per update | lazy $ per update | cheating pays? |\n| --- | --- | --- | --- | --- | --- |\n",
    );
    for (cell, d) in runs(dir)? {
        let b = column(&d, "behaviours", "behaviour")?;
        let updates = column(&d, "behaviours", "updates")?;
        let caught = column(&d, "behaviours", "caught")?;
        let profit = column(&d, "behaviours", "net_profit_usd_per_update")?;
        let row = |name: &str| b.iter().position(|v| *v == Val::Str(name.into()));
        let (h, l) = (
            row("honest").ok_or("no honest row")?,
            row("lazy").ok_or("no lazy row")?,
        );
        let p: f64 = cell[0].parse().map_err(|_| "p is not a number")?;
        let (lc, lu) = (num(&caught[l]), num(&updates[l]));
        let (hp, lp) = (num(&profit[h]), num(&profit[l]));
        t.push_str(&format!(
            "| {p:.2} | {} of {} | {:.1}% | {} | {} | {} |\n",
            grouped(lc),
            grouped(lu),
            100.0 * lc / lu,
            signed(hp, 4),
            signed(lp, 4),
            if lp > hp { "yes" } else { "no" }
        ));
    }
    Ok(t)
}

/// `halving { every_epochs: 6 }` from `{halving: {initial: 2000, every_epochs: 6}}`:
/// the curve and the parameters the table distinguishes it by.
fn curve_label(text: &str) -> String {
    let v: serde_yaml_ng::Value = serde_yaml_ng::from_str(text).unwrap_or_default();
    let Some((tag, params)) = v.as_mapping().and_then(|m| m.iter().next()) else {
        return format!("`{text}`");
    };
    let tag = tag.as_str().unwrap_or("?");
    let shown: Vec<String> = params
        .as_mapping()
        .map(|m| {
            m.iter()
                .filter(|(k, _)| {
                    !matches!(k.as_str(), Some("initial" | "per_epoch" | "cap"))
                        || tag == "linear_decay"
                })
                .map(|(k, v)| {
                    format!(
                        "{}: {}",
                        k.as_str().unwrap_or("?"),
                        dmlsim::scenario::flow_text(v)
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    if shown.is_empty() {
        format!("`{tag}`")
    } else {
        format!("`{tag} {{ {} }}`", shown.join(", "))
    }
}

fn reward_curves(dir: &Path) -> Result<String, String> {
    let mut t = String::from(
        "| emission shape | emitted | final supply | operators in network after 12 h | at the end | left | median operator profit | 10th percentile |\n| --- | --- | --- | --- | --- | --- | --- | --- |\n",
    );
    for (cell, d) in runs(dir)? {
        let col = |c: &str| -> Result<Vec<f64>, String> {
            Ok(column(&d, "epochs", c)?.iter().map(num).collect())
        };
        let (emitted, supply, t_s) = (col("emission_tokens")?, col("supply_tokens")?, col("t_s")?);
        let (ops, left) = (col("operators_in_network")?, col("operators_left")?);
        let (p50, p10) = (
            col("operator_profit_usd_p50")?,
            col("operator_profit_usd_p10")?,
        );
        let at_12h = t_s
            .iter()
            .position(|&t| (t - 43_200.0).abs() < 1e-6)
            .ok_or("no settlement at 12 h")?;
        let last = supply.len().checked_sub(1).ok_or("no epoch settled")?;
        t.push_str(&format!(
            "| {} | {} | {} | {} | {} | {} | {} | {} |\n",
            curve_label(&cell[0]),
            grouped(emitted.iter().sum()),
            grouped(supply[last]),
            grouped(ops[at_12h]),
            grouped(ops[last]),
            grouped(left.iter().sum()),
            usd(p50[last], 3),
            usd(p10[last], 3)
        ));
    }
    Ok(t)
}

/// A run's only proposal: a column's value.
fn proposal(d: &RunData, col: &str) -> Result<Val, String> {
    column(d, "proposals", col)?
        .into_iter()
        .next()
        .ok_or_else(|| "no proposal".to_string())
}

/// Operators in the network at the last settlement.
fn final_operators(d: &RunData) -> Result<f64, String> {
    let ops = column(d, "epochs", "operators_in_network")?;
    ops.last().map(num).ok_or_else(|| "no epoch settled".into())
}

/// The capture vote under each rule, with the founders' tokens in 3 or
/// 300 wallets.
fn capture_variants(dir: &Path) -> Result<String, String> {
    let mut t = String::from(
        "| rule | founder wallets | yes | no | abstain | turnout | outcome | decided by (owners) | operators at the end |\n| --- | --- | --- | --- | --- | --- | --- | --- | --- |\n",
    );
    for (cell, d) in runs(dir)? {
        let text = |c: &str| -> Result<String, String> {
            Ok(match proposal(&d, c)? {
                Val::Str(s) => s,
                Val::Num(x) => format!("{x}"),
                _ => "—".into(),
            })
        };
        let power = |c: &str| -> Result<String, String> { Ok(grouped(num(&proposal(&d, c)?))) };
        t.push_str(&format!(
            "| {} | {} | {} | {} | {} | {:.1}% | {} | {} | {} |\n",
            cell[0],
            cell[1],
            power("yes_power")?,
            power("no_power")?,
            power("abstain_power")?,
            100.0 * num(&proposal(&d, "turnout")?),
            text("status")?,
            text("decided_by_owners")?,
            grouped(final_operators(&d)?)
        ));
    }
    Ok(t)
}

/// Per founders' share and rule: in how many replicates the proposal
/// passed and was captured, mean turnout, operators left at the end.
fn capture_by_rule(dir: &Path) -> Result<String, String> {
    let mut t = String::from(
        "| founders' tokens | share | rule | passed | captured | mean turnout | operators at the end (mean) |\n| --- | --- | --- | --- | --- | --- | --- |\n",
    );
    let runs = runs(dir)?;
    let mut cells: Vec<Vec<String>> = runs.iter().map(|(c, _)| c.clone()).collect();
    cells.dedup();
    for cell in cells {
        let reps: Vec<&RunData> = runs
            .iter()
            .filter(|(c, _)| *c == cell)
            .map(|(_, d)| d)
            .collect();
        let (mut passed, mut captured, mut turnout, mut ops) = (0, 0, 0.0, 0.0);
        for d in &reps {
            passed += usize::from(proposal(d, "passed")? == Val::Bool(true));
            captured += usize::from(proposal(d, "captured")? == Val::Bool(true));
            turnout += num(&proposal(d, "turnout")?);
            ops += final_operators(d)?;
        }
        let n = reps.len() as f64;
        let tokens: f64 = cell[0].parse().map_err(|_| "tokens is not a number")?;
        t.push_str(&format!(
            "| {} | {:.0}% | {} | {passed} of {} | {captured} of {} | {:.1}% | {} |\n",
            grouped(tokens),
            100.0 * tokens / (tokens + 600_000.0),
            cell[1],
            reps.len(),
            reps.len(),
            100.0 * turnout / n,
            grouped(ops / n)
        ));
    }
    Ok(t)
}

/// Replaces the text between a figure's markers.
fn splice(doc: &str, name: &str, table: &str) -> Result<String, String> {
    let open = format!("<!-- figures:{name} -->");
    let close = format!("<!-- /figures:{name} -->");
    let a = doc
        .find(&open)
        .ok_or_else(|| format!("no `{open}` marker"))?
        + open.len();
    let b = doc[a..]
        .find(&close)
        .ok_or_else(|| format!("no `{close}` marker"))?
        + a;
    Ok(format!("{}\n{table}{}", &doc[..a], &doc[b..]))
}

fn main() -> ExitCode {
    let check = std::env::args().any(|a| a == "--check");
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default();
    let work = std::env::var_os("DMLSIM_DOC_FIGURES_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("target/doc-figures"));
    let mut stale = Vec::new();
    for f in &FIGURES {
        let result = (|| -> Result<Option<String>, String> {
            let sweep = Sweep::load(&root.join("docs/figures").join(format!("{}.yaml", f.name)))
                .map_err(|e| e.to_string())?;
            let out = work.join(f.name);
            let _ = std::fs::remove_dir_all(&out);
            let opts = SweepOptions {
                out: out.clone(),
                ..SweepOptions::default()
            };
            let o = run_sweep(&sweep, &opts, &|_| {}).map_err(|e| e.to_string())?;
            if o.index.failed > 0 {
                return Err(format!(
                    "{} runs failed (see {}/runs.arrow)",
                    o.index.failed,
                    out.display()
                ));
            }
            let table = (f.render)(&out)?;
            let path = root.join(f.doc);
            let doc =
                std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
            let new = splice(&doc, f.name, &table)?;
            if new == doc {
                return Ok(None);
            }
            if !check {
                std::fs::write(&path, &new).map_err(|e| format!("{}: {e}", path.display()))?;
            }
            Ok(Some(f.doc.to_string()))
        })();
        match result {
            Ok(None) => eprintln!("{}: {} is current", f.name, f.doc),
            Ok(Some(doc)) if check => {
                eprintln!(
                    "{}: {doc} quotes other figures than the simulator gives now",
                    f.name
                );
                stale.push(f.name);
            }
            Ok(Some(doc)) => eprintln!("{}: rewrote the table in {doc}", f.name),
            Err(e) => {
                eprintln!("error: {}: {e}", f.name);
                return ExitCode::from(2);
            }
        }
    }
    if stale.is_empty() {
        ExitCode::SUCCESS
    } else {
        eprintln!(
            "stale: {}; regenerate with `cargo run --release -p dmlsim --bin dmlsim-doc-figures`",
            stale.join(", ")
        );
        ExitCode::from(1)
    }
}
