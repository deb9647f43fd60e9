//! The chart kinds a report draws — lines with bands, bars with
//! confidence intervals, heatmaps — each rendered to PNG and SVG with the
//! bundled DejaVu Sans (no system fonts needed).

use plotters::coord::Shift;
use plotters::prelude::*;
use std::path::Path;

/// Width and height of every chart, pixels.
pub const SIZE: (u32, u32) = (1000, 600);

const FONT: &str = "sans-serif";

/// Registers the bundled font (once per process).
pub fn register_font() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        // The bundled font is a valid TrueType file; failing here is a bug.
        plotters::style::register_font(FONT, FontStyle::Normal, dejavu::sans::regular())
            .map_err(|_| ())
            .expect("the bundled DejaVu Sans font loads");
    });
}

/// A colour per series, distinguishable and printable.
const PALETTE: [RGBColor; 20] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(127, 127, 127),
    RGBColor(188, 189, 34),
    RGBColor(23, 190, 207),
    RGBColor(174, 199, 232),
    RGBColor(255, 187, 120),
    RGBColor(152, 223, 138),
    RGBColor(255, 152, 150),
    RGBColor(197, 176, 213),
    RGBColor(196, 156, 148),
    RGBColor(247, 182, 210),
    RGBColor(199, 199, 199),
    RGBColor(219, 219, 141),
    RGBColor(158, 218, 229),
];

/// The colour of series `i`.
/// The label of a segmented axis' tick: the name at the segment's centre,
/// nothing at its edges.
fn segment_label(labels: &[String], v: &SegmentValue<usize>) -> String {
    match v {
        SegmentValue::CenterOf(i) => labels.get(*i).cloned().unwrap_or_default(),
        _ => String::new(),
    }
}

pub fn color(i: usize) -> RGBColor {
    PALETTE[i % PALETTE.len()]
}

/// One line, with an optional band (x, low, high) around it.
#[derive(Clone, Debug, Default)]
pub struct Series {
    /// Legend label.
    pub label: String,
    /// The line's points, in x order.
    pub points: Vec<(f64, f64)>,
    /// A shaded band: (x, low, high), in x order.
    pub band: Vec<(f64, f64, f64)>,
}

/// A line chart.
#[derive(Clone, Debug, Default)]
pub struct LineChart {
    /// Title.
    pub title: String,
    /// X axis label.
    pub x_label: String,
    /// Y axis label.
    pub y_label: String,
    /// The lines.
    pub series: Vec<Series>,
    /// Draw the diagonal y = x (a Lorenz curve's line of equality).
    pub diagonal: bool,
}

/// One bar with an optional interval.
#[derive(Clone, Debug)]
pub struct Bar {
    /// Category label.
    pub label: String,
    /// Height.
    pub value: f64,
    /// Interval (low, high), e.g. the 95% confidence interval.
    pub interval: Option<(f64, f64)>,
    /// What the axis shows when there are too many bars for labels (e.g.
    /// the cell number).
    pub short_label: Option<String>,
}

/// A bar chart.
#[derive(Clone, Debug)]
pub struct BarChart {
    /// Title.
    pub title: String,
    /// Y axis label.
    pub y_label: String,
    /// The bars, left to right.
    pub bars: Vec<Bar>,
}

/// A heatmap: `values[y][x]`.
#[derive(Clone, Debug)]
pub struct Heatmap {
    /// Title.
    pub title: String,
    /// X axis label.
    pub x_label: String,
    /// Y axis label.
    pub y_label: String,
    /// Labels of the columns.
    pub x_ticks: Vec<String>,
    /// Labels of the rows.
    pub y_ticks: Vec<String>,
    /// Cell values (None: no run).
    pub values: Vec<Vec<Option<f64>>>,
}

/// Something that can be drawn on any plotters backend.
pub trait Figure {
    /// Draws the figure on `root`.
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), String>;
}

fn err<E: std::fmt::Display>(e: E) -> String {
    e.to_string()
}

/// Saves `fig` as `dir/NAME.png` and `dir/NAME.svg`.
pub fn save(fig: &impl Figure, dir: &Path, name: &str) -> Result<(), String> {
    register_font();
    let png = dir.join(format!("{name}.png"));
    {
        let root = BitMapBackend::new(&png, SIZE).into_drawing_area();
        fig.draw(&root)?;
        root.present()
            .map_err(|e| format!("{}: {e}", png.display()))?;
    }
    let svg = dir.join(format!("{name}.svg"));
    {
        let root = SVGBackend::new(&svg, SIZE).into_drawing_area();
        fig.draw(&root)?;
        root.present()
            .map_err(|e| format!("{}: {e}", svg.display()))?;
    }
    Ok(())
}

/// A label cut to `max` characters.
pub fn short(label: &str, max: usize) -> String {
    if label.chars().count() <= max {
        label.to_string()
    } else {
        let cut: String = label.chars().take(max.saturating_sub(1)).collect();
        format!("{cut}…")
    }
}

/// A padded range covering `values` (finite ones), never empty.
fn range(values: impl Iterator<Item = f64>, from_zero: bool) -> (f64, f64) {
    let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
    for v in values.filter(|v| v.is_finite()) {
        lo = lo.min(v);
        hi = hi.max(v);
    }
    if !lo.is_finite() {
        return (0.0, 1.0);
    }
    if from_zero {
        lo = lo.min(0.0);
        hi = hi.max(0.0);
    }
    if hi - lo < 1e-12 {
        let pad = if lo.abs() > 1e-12 {
            lo.abs() * 0.1
        } else {
            1.0
        };
        return (lo - pad, hi + pad);
    }
    let pad = (hi - lo) * 0.05;
    (
        if from_zero && lo == 0.0 {
            0.0
        } else {
            lo - pad
        },
        hi + pad,
    )
}

impl Figure for LineChart {
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), String> {
        root.fill(&WHITE).map_err(err)?;
        let xs = self.series.iter().flat_map(|s| {
            s.points
                .iter()
                .map(|p| p.0)
                .chain(s.band.iter().map(|b| b.0))
        });
        let ys = self.series.iter().flat_map(|s| {
            s.points
                .iter()
                .map(|p| p.1)
                .chain(s.band.iter().flat_map(|b| [b.1, b.2]))
        });
        let (x0, x1) = range(xs, false);
        let (y0, y1) = if self.diagonal {
            (0.0, 1.0)
        } else {
            range(ys, false)
        };
        let mut chart = ChartBuilder::on(root)
            .caption(&self.title, (FONT, 24))
            .margin(16)
            .x_label_area_size(48)
            .y_label_area_size(80)
            .build_cartesian_2d(x0..x1, y0..y1)
            .map_err(err)?;
        chart
            .configure_mesh()
            .x_desc(&self.x_label)
            .y_desc(&self.y_label)
            .label_style((FONT, 14))
            .axis_desc_style((FONT, 16))
            .light_line_style(WHITE.mix(0.0))
            .draw()
            .map_err(err)?;
        if self.diagonal {
            chart
                .draw_series(LineSeries::new(
                    vec![(0.0, 0.0), (1.0, 1.0)],
                    BLACK.mix(0.4),
                ))
                .map_err(err)?;
        }
        for (i, s) in self.series.iter().enumerate() {
            let c = color(i);
            if s.band.len() > 1 {
                let mut poly: Vec<(f64, f64)> = s.band.iter().map(|b| (b.0, b.1)).collect();
                poly.extend(s.band.iter().rev().map(|b| (b.0, b.2)));
                chart
                    .draw_series(std::iter::once(Polygon::new(poly, c.mix(0.18))))
                    .map_err(err)?;
            }
            let drawn = chart
                .draw_series(LineSeries::new(s.points.clone(), c.stroke_width(2)))
                .map_err(err)?;
            if !s.label.is_empty() {
                drawn.label(short(&s.label, 60)).legend(move |(x, y)| {
                    PathElement::new(vec![(x, y), (x + 20, y)], c.stroke_width(2))
                });
            }
        }
        if self.series.iter().any(|s| !s.label.is_empty()) {
            chart
                .configure_series_labels()
                .label_font((FONT, if self.series.len() > 12 { 11 } else { 13 }))
                .background_style(WHITE.mix(0.85))
                .border_style(BLACK.mix(0.3))
                .position(SeriesLabelPosition::UpperRight)
                .draw()
                .map_err(err)?;
        }
        Ok(())
    }
}

impl Figure for BarChart {
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), String> {
        root.fill(&WHITE).map_err(err)?;
        let n = self.bars.len().max(1);
        let ys = self.bars.iter().flat_map(|b| {
            let (lo, hi) = b.interval.unwrap_or((b.value, b.value));
            [b.value, lo, hi]
        });
        let (y0, y1) = range(ys, true);
        // Many bars: numbered (the report's tables say what each is).
        let numbered = n > 8;
        let labels: Vec<String> = self
            .bars
            .iter()
            .enumerate()
            .map(|(i, b)| {
                if numbered {
                    b.short_label.clone().unwrap_or_else(|| i.to_string())
                } else {
                    short(&b.label, 28)
                }
            })
            .collect();
        let mut chart = ChartBuilder::on(root)
            .caption(&self.title, (FONT, 24))
            .margin(16)
            .x_label_area_size(48)
            .y_label_area_size(80)
            .build_cartesian_2d((0..n - 1).into_segmented(), y0..y1)
            .map_err(err)?;
        chart
            .configure_mesh()
            .disable_x_mesh()
            .light_line_style(WHITE.mix(0.0))
            .y_desc(&self.y_label)
            .x_desc(if numbered { "cell" } else { "" })
            .label_style((FONT, 13))
            .axis_desc_style((FONT, 16))
            .x_labels(n)
            .x_label_formatter(&|v| segment_label(&labels, v))
            .draw()
            .map_err(err)?;
        for (i, b) in self.bars.iter().enumerate() {
            let c = color(i);
            let bar = Rectangle::new(
                [
                    (SegmentValue::Exact(i), 0.0),
                    (SegmentValue::Exact(i + 1), b.value),
                ],
                c.mix(0.75).filled(),
            );
            chart.draw_series(std::iter::once(bar)).map_err(err)?;
            if let Some((lo, hi)) = b.interval {
                let whisker = PathElement::new(
                    vec![
                        (SegmentValue::CenterOf(i), lo),
                        (SegmentValue::CenterOf(i), hi),
                    ],
                    BLACK.stroke_width(2),
                );
                chart.draw_series(std::iter::once(whisker)).map_err(err)?;
            }
        }
        Ok(())
    }
}

/// Viridis at t in [0, 1].
fn viridis(t: f64) -> RGBColor {
    const STOPS: [(f64, f64, f64); 5] = [
        (68.0, 1.0, 84.0),
        (59.0, 82.0, 139.0),
        (33.0, 145.0, 140.0),
        (94.0, 201.0, 98.0),
        (253.0, 231.0, 37.0),
    ];
    let t = if t.is_finite() {
        t.clamp(0.0, 1.0)
    } else {
        0.0
    };
    let x = t * (STOPS.len() - 1) as f64;
    let i = (x.floor() as usize).min(STOPS.len() - 2);
    let f = x - i as f64;
    let (a, b) = (STOPS[i], STOPS[i + 1]);
    let mix = |p: f64, q: f64| (p + (q - p) * f).round() as u8;
    RGBColor(mix(a.0, b.0), mix(a.1, b.1), mix(a.2, b.2))
}

/// A value written short enough for a heatmap cell.
pub fn compact(v: f64) -> String {
    let a = v.abs();
    if a == 0.0 {
        "0".into()
    } else if !(1e-3..1e5).contains(&a) {
        format!("{v:.2e}")
    } else if a >= 100.0 {
        format!("{v:.0}")
    } else if a >= 1.0 {
        format!("{v:.2}")
    } else {
        format!("{v:.4}")
    }
}

impl Figure for Heatmap {
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), String> {
        root.fill(&WHITE).map_err(err)?;
        let (nx, ny) = (self.x_ticks.len().max(1), self.y_ticks.len().max(1));
        let all: Vec<f64> = self.values.iter().flatten().flatten().copied().collect();
        let (lo, hi) = range(all.iter().copied(), false);
        let xl: Vec<String> = self.x_ticks.iter().map(|t| short(t, 20)).collect();
        let yl: Vec<String> = self.y_ticks.iter().map(|t| short(t, 20)).collect();
        let mut chart = ChartBuilder::on(root)
            .caption(&self.title, (FONT, 22))
            .margin(16)
            .x_label_area_size(60)
            .y_label_area_size(150)
            .build_cartesian_2d((0..nx - 1).into_segmented(), (0..ny - 1).into_segmented())
            .map_err(err)?;
        chart
            .configure_mesh()
            .disable_mesh()
            .x_desc(&self.x_label)
            .y_desc(&self.y_label)
            .label_style((FONT, 13))
            .axis_desc_style((FONT, 16))
            .x_labels(nx)
            .y_labels(ny)
            .x_label_formatter(&|v| segment_label(&xl, v))
            .y_label_formatter(&|v| segment_label(&yl, v))
            .draw()
            .map_err(err)?;
        for (j, row) in self.values.iter().enumerate() {
            for (i, v) in row.iter().enumerate() {
                let fill = match v {
                    Some(v) => viridis((v - lo) / (hi - lo)).filled(),
                    None => RGBColor(230, 230, 230).filled(),
                };
                let cell = Rectangle::new(
                    [
                        (SegmentValue::Exact(i), SegmentValue::Exact(j)),
                        (SegmentValue::Exact(i + 1), SegmentValue::Exact(j + 1)),
                    ],
                    fill,
                );
                chart.draw_series(std::iter::once(cell)).map_err(err)?;
                let text = v.map_or("—".to_string(), compact);
                let light = v.is_some_and(|v| (v - lo) / (hi - lo) < 0.6);
                let style = TextStyle::from((FONT, 14).into_font())
                    .color(if light { &WHITE } else { &BLACK })
                    .pos(plotters::style::text_anchor::Pos::new(
                        plotters::style::text_anchor::HPos::Center,
                        plotters::style::text_anchor::VPos::Center,
                    ));
                chart
                    .draw_series(std::iter::once(Text::new(
                        text,
                        (SegmentValue::CenterOf(i), SegmentValue::CenterOf(j)),
                        style,
                    )))
                    .map_err(err)?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_pad_and_never_collapse() {
        assert_eq!(range([1.0, 1.0].into_iter(), false), (0.9, 1.1));
        assert_eq!(range([0.0].into_iter(), false), (-1.0, 1.0));
        assert_eq!(range(std::iter::empty(), false), (0.0, 1.0));
        let (lo, hi) = range([2.0, 4.0, f64::NAN].into_iter(), true);
        assert_eq!((lo, hi), (0.0, 4.2));
    }

    #[test]
    fn viridis_runs_from_purple_to_yellow() {
        assert_eq!(viridis(0.0), RGBColor(68, 1, 84));
        assert_eq!(viridis(1.0), RGBColor(253, 231, 37));
        assert_eq!(viridis(f64::NAN), RGBColor(68, 1, 84));
    }
}
