//! `dmlsim report`: charts of a run or a sweep as PNG and SVG, drawn with
//! plotters and the bundled DejaVu Sans, and an `index.html` (no network,
//! no JavaScript) showing them with the key figures in tables.

pub mod chart;
pub mod governance;
pub mod html;
pub mod market;
pub mod run_charts;
pub mod sweep_charts;

use chart::Figure;
use std::path::{Path, PathBuf};

/// A chart written to the report folder.
#[derive(Clone, Debug)]
pub struct Drawn {
    /// File stem: `NAME.png` and `NAME.svg`.
    pub name: String,
    /// What it shows.
    pub caption: String,
}

/// A report being written.
#[derive(Debug)]
pub struct Report {
    /// The report folder.
    pub dir: PathBuf,
    /// The charts drawn, in order.
    pub charts: Vec<Drawn>,
    /// Remarks shown above the charts.
    pub notes: Vec<String>,
}

impl Report {
    /// Draws `fig` as `NAME.png` and `NAME.svg`.
    pub fn add(&mut self, name: &str, caption: &str, fig: &impl Figure) -> Result<(), String> {
        chart::save(fig, &self.dir, name)?;
        self.charts.push(Drawn {
            name: name.to_string(),
            caption: caption.to_string(),
        });
        Ok(())
    }
}

/// How to draw a report.
#[derive(Clone, Debug, Default)]
pub struct ReportOptions {
    /// The report folder (created; its earlier charts and index replaced).
    pub out: PathBuf,
    /// Sweep metrics to draw as heatmaps (default: a few key ones present).
    pub heatmaps: Vec<String>,
    /// The two swept fields of the heatmaps (default: the first two).
    pub axes: Option<(String, String)>,
}

/// Draws the report of a run folder or a sweep folder.
pub fn report(dir: &Path, opts: &ReportOptions) -> Result<Report, String> {
    std::fs::create_dir_all(&opts.out).map_err(|e| format!("{}: {e}", opts.out.display()))?;
    clear_previous(&opts.out)?;
    let mut r = Report {
        dir: opts.out.clone(),
        charts: Vec::new(),
        notes: Vec::new(),
    };
    let page = if dir.join("sweep.json").is_file() {
        let s = sweep_charts::SweepData::read(dir)?;
        let axes = opts.axes.as_ref().map(|(x, y)| (x.as_str(), y.as_str()));
        sweep_charts::draw(&s, &mut r, &opts.heatmaps, axes)?;
        html::sweep_page(dir, &s, &r)
    } else {
        if !opts.heatmaps.is_empty() || opts.axes.is_some() {
            return Err("--heatmap and --axes apply to sweep folders; this is a run folder".into());
        }
        let data = crate::check::data::RunData::run_folder(dir)?;
        run_charts::draw(&data, &mut r)?;
        html::run_page(dir, &data, &r)
    };
    let index = opts.out.join("index.html");
    std::fs::write(&index, page).map_err(|e| format!("{}: {e}", index.display()))?;
    Ok(r)
}

/// Removes the charts and index a previous report left (only those).
fn clear_previous(dir: &Path) -> Result<(), String> {
    let entries = std::fs::read_dir(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    for e in entries.flatten() {
        let p = e.path();
        let ours = p.extension().is_some_and(|x| x == "png" || x == "svg")
            || p.file_name().is_some_and(|n| n == "index.html");
        if ours && p.is_file() {
            std::fs::remove_file(&p).map_err(|e| format!("{}: {e}", p.display()))?;
        }
    }
    Ok(())
}
