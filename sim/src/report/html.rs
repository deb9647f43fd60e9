//! The report's `index.html`: plain HTML and inline CSS, every chart as a
//! PNG linking to its SVG, and the key figures in tables.

use super::Report;
use super::sweep_charts::{SweepData, cell_table};
use crate::check::data::RunData;
use crate::check::junit::escape;
use std::path::Path;

const STYLE: &str = "body{font-family:sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;color:#222}\
table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:4px 8px;text-align:left;font-size:14px}\
th{background:#f3f3f3}figure{margin:2em 0}img{max-width:100%;border:1px solid #ddd}figcaption{font-size:14px;color:#444}\
.note{background:#fff8e0;padding:0.5em 1em}code{background:#f3f3f3;padding:0 3px}";

fn page(title: &str, body: &str) -> String {
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>{}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n{body}</body>\n</html>\n",
        escape(title)
    )
}

fn table(header: &[String], rows: &[Vec<String>]) -> String {
    let mut t = String::from("<table>\n<tr>");
    for h in header {
        t.push_str(&format!("<th>{}</th>", escape(h)));
    }
    t.push_str("</tr>\n");
    for r in rows {
        t.push_str("<tr>");
        for c in r {
            t.push_str(&format!("<td>{}</td>", escape(c)));
        }
        t.push_str("</tr>\n");
    }
    t.push_str("</table>\n");
    t
}

fn charts(r: &Report) -> String {
    let mut s = String::new();
    for n in &r.notes {
        s.push_str(&format!("<p class=\"note\">{}</p>\n", escape(n)));
    }
    for c in &r.charts {
        s.push_str(&format!(
            "<figure id=\"{0}\"><a href=\"{0}.svg\"><img src=\"{0}.png\" alt=\"{1}\" width=\"1000\" height=\"600\"></a>\n<figcaption>{1} (<a href=\"{0}.svg\">SVG</a>)</figcaption></figure>\n",
            escape(&c.name),
            escape(&c.caption)
        ));
    }
    s
}

/// The index of a run's report.
pub fn run_page(dir: &Path, data: &RunData, r: &Report) -> String {
    let figures = super::run_charts::key_figures(data);
    let rows: Vec<Vec<String>> = figures.into_iter().map(|(k, v)| vec![k, v]).collect();
    let title = format!("dmlsim report: {}", dir.display());
    let mut governance = String::new();
    if let Some((header, rows)) = super::governance::proposals(data) {
        governance.push_str("<h2>Proposals</h2>\n");
        governance.push_str(&table(&header, &rows));
    }
    if let Some((header, rows)) = super::governance::largest_voters(data) {
        governance.push_str("<h3>The largest owners' votes</h3>\n");
        governance.push_str(&table(&header, &rows));
    }
    let body = format!(
        "<h1>{}</h1>\n<h2>Key figures</h2>\n{}{governance}<h2>Charts</h2>\n{}",
        escape(&title),
        table(&["figure".into(), "value".into()], &rows),
        charts(r)
    );
    page(&title, &body)
}

/// The index of a sweep's report.
pub fn sweep_page(dir: &Path, s: &SweepData, r: &Report) -> String {
    let (header, rows) = cell_table(s);
    let title = format!("dmlsim sweep report: {} ({})", s.plan.name, dir.display());
    let swept = if s.plan.params.is_empty() {
        "nothing (replicates only)".to_string()
    } else {
        s.plan
            .params
            .iter()
            .map(|p| format!("<code>{}</code>", escape(p)))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let body = format!(
        "<h1>{}</h1>\n<p>{} runs in {} cells × {} replicates; swept: {swept}. Values are mean ± half the 95% confidence interval over a cell's replicates (summary.arrow).</p>\n<h2>Cells</h2>\n{}<h2>Charts</h2>\n{}",
        escape(&title),
        s.plan.runs,
        s.plan.cells.len(),
        s.plan.replicates,
        table(&header, &rows),
        charts(r)
    );
    page(&title, &body)
}
