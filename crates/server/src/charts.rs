//! Server-side charts as SVG text (plotters' SVG backend), so that the pages draw charts
//! without any JavaScript library and work offline. Pure functions: the routes map the game's
//! and the simulation's views into [`ChartSeries`] and serve the returned text as
//! `image/svg+xml`. Labels are escaped by the backend.

use std::fmt::Write as _;

use plotters::prelude::*;

/// Width of the score-over-time chart, in pixels.
pub const SCORE_CHART_WIDTH_PX: u32 = 600;
/// Height of the score-over-time chart, in pixels.
pub const SCORE_CHART_HEIGHT_PX: u32 = 330;
/// Width of a metric chart, in pixels.
pub const METRIC_CHART_WIDTH_PX: u32 = 400;
/// Height of a metric chart, in pixels.
pub const METRIC_CHART_HEIGHT_PX: u32 = 210;
/// Most series drawn in one chart; the rest are left out (and said so).
pub const MAX_SERIES: usize = 40;
/// Most points drawn per series; longer series are thinned evenly (keeping the last point).
pub const MAX_POINTS_PER_SERIES: usize = 2_000;
/// Most characters of a series label.
pub const MAX_LABEL_CHARS: usize = 32;
/// Series with a name written at the end of their line (beyond this, the legend only).
const MAX_END_LABELS: usize = 12;
/// Most characters of a name written at the end of a line.
const MAX_END_LABEL_CHARS: usize = 14;
/// Font size of a chart's caption, in pixels.
const CAPTION_FONT_PX: u32 = 20;
/// Font size of axis labels, legends and line names, in pixels.
const LABEL_FONT_PX: u32 = 14;

/// Line colours, chosen to stay apart for common colour-vision deficiencies (Okabe–Ito first).
const PALETTE: [RGBColor; 10] = [
    RGBColor(0, 114, 178),
    RGBColor(213, 94, 0),
    RGBColor(0, 158, 115),
    RGBColor(204, 121, 167),
    RGBColor(86, 180, 233),
    RGBColor(230, 159, 0),
    RGBColor(0, 0, 0),
    RGBColor(117, 112, 179),
    RGBColor(102, 166, 30),
    RGBColor(166, 118, 29),
];

/// One line of a chart: a label and `(elapsed_s, value)` points in time order.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ChartSeries {
    /// Shown in the legend and at the end of the line (a team name, an instance).
    pub label: String,
    /// `(simulated seconds since the start, value)`, sorted by time.
    pub points: Vec<(f64, f64)>,
}

/// A labelled line ready to draw: `(label, points)`.
type Line = (String, Vec<(f64, f64)>);

/// How a metric is titled and scaled.
struct MetricInfo {
    title: String,
    unit: &'static str,
    percent: bool,
}

fn metric_info(metric: &str) -> MetricInfo {
    let (unit, percent) = if metric.ends_with("_percent") {
        ("%", true)
    } else if metric.ends_with("_ms") {
        ("ms", false)
    } else if metric == "rps" {
        ("requests/s", false)
    } else {
        ("", false)
    };
    let name = metric
        .trim_end_matches("_percent")
        .trim_end_matches("_ms")
        .replace('_', " ");
    let title = match metric {
        "rps" => "requests per second".to_owned(),
        "latency_p50_ms" => "latency p50".to_owned(),
        "latency_p99_ms" => "latency p99".to_owned(),
        _ => name,
    };
    MetricInfo {
        title,
        unit,
        percent,
    }
}

/// Seconds in a minute: the time axis is drawn in minutes.
const SECONDS_PER_MINUTE: f64 = 60.0;

/// `m:ss` or `h:mm:ss` for an axis label.
fn format_elapsed(seconds: f64) -> String {
    let total = if seconds.is_finite() {
        seconds.max(0.0).round() as u64
    } else {
        0
    };
    let (h, m, s) = (total / 3600, (total % 3600) / 60, total % 60);
    if h > 0 {
        format!("{h}:{m:02}:{s:02}")
    } else {
        format!("{m}:{s:02}")
    }
}

/// A compact number for an axis label.
fn format_value(value: f64) -> String {
    let magnitude = value.abs();
    if magnitude >= 1_000_000.0 {
        format!("{:.1}M", value / 1_000_000.0)
    } else if magnitude >= 10_000.0 {
        format!("{:.0}k", value / 1_000.0)
    } else if magnitude >= 100.0 || value.fract() == 0.0 {
        format!("{value:.0}")
    } else {
        format!("{value:.1}")
    }
}

/// `label` cut to at most `max_chars` characters, with an ellipsis when cut.
fn shorten(label: &str, max_chars: usize) -> String {
    if label.chars().count() <= max_chars {
        label.to_owned()
    } else {
        let mut short: String = label.chars().take(max_chars.saturating_sub(1)).collect();
        short.push('…');
        short
    }
}

/// Keeps finite points, thinned evenly to at most [`MAX_POINTS_PER_SERIES`].
fn clean_points(points: &[(f64, f64)]) -> Vec<(f64, f64)> {
    let finite: Vec<(f64, f64)> = points
        .iter()
        .copied()
        .filter(|(x, y)| x.is_finite() && y.is_finite())
        .collect();
    if finite.len() <= MAX_POINTS_PER_SERIES {
        return finite;
    }
    let stride = finite.len().div_ceil(MAX_POINTS_PER_SERIES);
    let mut thinned: Vec<(f64, f64)> = finite.iter().copied().step_by(stride).collect();
    if let (Some(last), Some(kept)) = (finite.last(), thinned.last())
        && last != kept
    {
        thinned.push(*last);
    }
    thinned
}

/// A score series as a step line from 0 at the start: the score holds until the next change,
/// and until `until_s`.
fn step_points(points: &[(f64, f64)], until_s: f64) -> Vec<(f64, f64)> {
    let mut steps = Vec::with_capacity(points.len() * 2 + 2);
    match points.first() {
        Some(&(x, _)) if x > 0.0 => steps.extend([(0.0, 0.0), (x, 0.0)]),
        None => steps.push((0.0, 0.0)),
        Some(_) => {}
    }
    for (i, &(x, y)) in points.iter().enumerate() {
        if i > 0 {
            let previous = points[i - 1].1;
            steps.push((x, previous));
        }
        steps.push((x, y));
    }
    let (last_x, last_y) = steps.last().copied().unwrap_or((0.0, 0.0));
    if until_s > last_x {
        steps.push((until_s, last_y));
    }
    steps
}

/// The ranges covering every point, with a little headroom; `floor_zero` keeps 0 in view.
fn bounds(series: &[Vec<(f64, f64)>], floor_zero: bool, min_top: f64) -> ((f64, f64), (f64, f64)) {
    let mut x = (f64::INFINITY, f64::NEG_INFINITY);
    let mut y = (f64::INFINITY, f64::NEG_INFINITY);
    for &(px, py) in series.iter().flatten() {
        x = (x.0.min(px), x.1.max(px));
        y = (y.0.min(py), y.1.max(py));
    }
    if !x.0.is_finite() {
        x = (0.0, 60.0);
        y = (0.0, min_top.max(1.0));
    }
    if x.1 - x.0 < 1.0 {
        x.1 = x.0 + 60.0;
    }
    if floor_zero {
        y.0 = y.0.min(0.0);
        y.1 = y.1.max(0.0);
    }
    y.1 = y.1.max(min_top);
    let pad = ((y.1 - y.0) * 0.08).max(1.0);
    let low = if floor_zero && y.0 >= 0.0 {
        y.0
    } else {
        y.0 - pad
    };
    ((x.0, x.1), (low, y.1 + pad))
}

/// A chart that only says why there is nothing to draw.
fn message_svg(width_px: u32, height_px: u32, message: &str) -> String {
    let mut out = String::new();
    {
        let root = SVGBackend::with_string(&mut out, (width_px, height_px)).into_drawing_area();
        let drawn = root.fill(&WHITE).and_then(|()| {
            root.draw(&Text::new(
                message.to_owned(),
                (16, (height_px / 2) as i32),
                ("sans-serif", 16)
                    .into_font()
                    .color(&RGBColor(91, 101, 116)),
            ))
        });
        let _ = drawn.and_then(|()| root.present());
    }
    out
}

/// Draws `lines` (already cleaned) into an SVG string; `Err` text on a drawing failure.
fn draw_lines(
    size_px: (u32, u32),
    caption: &str,
    y_desc: &str,
    lines: &[Line],
    ranges: ((f64, f64), (f64, f64)),
    end_labels: bool,
) -> Result<String, String> {
    let mut out = String::new();
    {
        let root = SVGBackend::with_string(&mut out, size_px).into_drawing_area();
        let err = |e: DrawingAreaErrorKind<_>| e.to_string();
        root.fill(&WHITE).map_err(err)?;
        let ((x0, x1), (y0, y1)) = ranges;
        let right_margin = if end_labels { 130 } else { 16 };
        let mut chart = ChartBuilder::on(&root)
            .caption(caption, ("sans-serif", CAPTION_FONT_PX))
            .margin(10)
            .margin_right(right_margin)
            .x_label_area_size(42)
            .y_label_area_size(56)
            // The time axis counts minutes, so that its labels fall on round minutes.
            .build_cartesian_2d(x0 / SECONDS_PER_MINUTE..x1 / SECONDS_PER_MINUTE, y0..y1)
            .map_err(|e| e.to_string())?;
        chart
            .configure_mesh()
            .light_line_style(RGBColor(236, 239, 243))
            .bold_line_style(RGBColor(217, 222, 229))
            .x_labels(6)
            .y_labels(6)
            .x_label_formatter(&|minutes| format_elapsed(*minutes * SECONDS_PER_MINUTE))
            .y_label_formatter(&|y| format_value(*y))
            .x_desc("game time")
            .y_desc(y_desc)
            .label_style(("sans-serif", LABEL_FONT_PX))
            .draw()
            .map_err(|e| e.to_string())?;
        for (i, (label, points)) in lines.iter().enumerate() {
            let color = PALETTE[i % PALETTE.len()];
            let style = color.stroke_width(2);
            chart
                .draw_series(LineSeries::new(
                    points.iter().map(|&(x, y)| (x / SECONDS_PER_MINUTE, y)),
                    style,
                ))
                .map_err(|e| e.to_string())?
                .label(label.as_str())
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], style));
            if end_labels
                && i < MAX_END_LABELS
                && let Some(&(x, y)) = points.last()
            {
                chart
                    .draw_series(std::iter::once(Text::new(
                        format!(" {}", shorten(label, MAX_END_LABEL_CHARS)),
                        (x / SECONDS_PER_MINUTE, y),
                        ("sans-serif", LABEL_FONT_PX).into_font().color(&color),
                    )))
                    .map_err(|e| e.to_string())?;
            }
        }
        if lines.len() > 1 {
            chart
                .configure_series_labels()
                .position(SeriesLabelPosition::UpperLeft)
                .background_style(WHITE.mix(0.85))
                .border_style(RGBColor(217, 222, 229))
                .label_font(("sans-serif", LABEL_FONT_PX))
                .draw()
                .map_err(|e| e.to_string())?;
        }
        root.present().map_err(err)?;
    }
    Ok(out)
}

/// Labels and cleans the series, keeping at most [`MAX_SERIES`]; also returns how many were
/// left out.
fn prepare(series: &[ChartSeries]) -> (Vec<Line>, usize) {
    let kept: Vec<Line> = series
        .iter()
        .take(MAX_SERIES)
        .map(|s| (shorten(&s.label, MAX_LABEL_CHARS), clean_points(&s.points)))
        .collect();
    (kept, series.len().saturating_sub(MAX_SERIES))
}

/// Every team's score over game time, one step line per team (a team's score holds until its
/// next change; lines are drawn up to `until_s`, usually the game's elapsed time).
pub fn score_history_svg(series: &[ChartSeries], until_s: f64) -> String {
    let size = (SCORE_CHART_WIDTH_PX, SCORE_CHART_HEIGHT_PX);
    if series.is_empty() {
        return message_svg(size.0, size.1, "No teams yet.");
    }
    let (prepared, left_out) = prepare(series);
    let lines: Vec<Line> = prepared
        .into_iter()
        .map(|(label, points)| {
            let steps = step_points(&points, until_s);
            (label, steps)
        })
        .collect();
    let ranges = bounds(
        &lines.iter().map(|(_, p)| p.clone()).collect::<Vec<_>>(),
        true,
        10.0,
    );
    let mut caption = "Score over time".to_owned();
    if left_out > 0 {
        let _ = write!(caption, " (first {MAX_SERIES} teams)");
    }
    draw_lines(size, &caption, "points", &lines, ranges, true)
        .unwrap_or_else(|error| message_svg(size.0, size.1, &format!("Chart failed: {error}")))
}

/// One metric over game time: one line per series (the service, or each of its instances).
/// `metric` is a scenario metric name (`cpu_percent`, `latency_p99_ms`, `rps`...): it gives
/// the title and the unit; percentages keep 0–100 in view.
pub fn metric_svg(series: &[ChartSeries], metric: &str) -> String {
    let size = (METRIC_CHART_WIDTH_PX, METRIC_CHART_HEIGHT_PX);
    let info = metric_info(metric);
    let (lines, _) = prepare(series);
    if lines.iter().all(|(_, points)| points.is_empty()) {
        return message_svg(
            size.0,
            size.1,
            &format!("{}: no data (telemetry dark or no history yet)", info.title),
        );
    }
    let min_top = if info.percent { 100.0 } else { 1.0 };
    let ranges = bounds(
        &lines.iter().map(|(_, p)| p.clone()).collect::<Vec<_>>(),
        true,
        min_top,
    );
    let caption = if info.unit.is_empty() {
        info.title.clone()
    } else {
        format!("{} ({})", info.title, info.unit)
    };
    draw_lines(size, &caption, info.unit, &lines, ranges, false)
        .unwrap_or_else(|error| message_svg(size.0, size.1, &format!("Chart failed: {error}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn series(label: &str, points: &[(f64, f64)]) -> ChartSeries {
        ChartSeries {
            label: label.to_owned(),
            points: points.to_vec(),
        }
    }

    #[test]
    fn score_chart_is_svg_with_every_team_named() {
        let svg = score_history_svg(
            &[
                series("Blue", &[(0.0, 0.0), (60.0, 12.0), (240.0, 80.0)]),
                series("Red", &[(0.0, 0.0), (120.0, -20.0)]),
            ],
            300.0,
        );
        assert!(svg.starts_with("<svg"), "{svg}");
        assert!(svg.trim_end().ends_with("</svg>"));
        assert!(svg.contains("Blue") && svg.contains("Red"));
        assert!(svg.contains("Score over time"));
        assert!(svg.contains("<polyline") || svg.contains("<path"));
    }

    #[test]
    fn labels_are_escaped() {
        let svg = score_history_svg(&[series("<script>&", &[(0.0, 1.0), (10.0, 2.0)])], 20.0);
        assert!(!svg.contains("<script>"));
        assert!(svg.contains("&lt;script&gt;&amp;"));
    }

    #[test]
    fn empty_inputs_say_why() {
        assert!(score_history_svg(&[], 0.0).contains("No teams yet."));
        let svg = metric_svg(&[series("api", &[])], "cpu_percent");
        assert!(svg.contains("no data"), "{svg}");
    }

    #[test]
    fn metric_chart_titles_by_metric_and_keeps_percent_scale() {
        let svg = metric_svg(
            &[series(
                "checkout",
                &[(0.0, 10.0), (60.0, 35.0), (120.0, 90.0)],
            )],
            "memory_percent",
        );
        assert!(svg.contains("memory (%)"), "{svg}");
        // The percent axis reaches 100 even though the data stays below.
        assert!(svg.contains("\n100\n"), "{svg}");
        assert!(
            metric_svg(
                &[series("web", &[(0.0, 3.0), (5.0, 4.0)])],
                "latency_p99_ms"
            )
            .contains("latency p99 (ms)")
        );
    }

    #[test]
    fn non_finite_points_are_dropped_and_long_series_thinned() {
        let mut points: Vec<(f64, f64)> = (0..10_000)
            .map(|i| (f64::from(i), f64::from(i % 7)))
            .collect();
        points.push((10_000.0, f64::NAN));
        let cleaned = clean_points(&points);
        assert!(cleaned.len() <= MAX_POINTS_PER_SERIES + 1);
        assert_eq!(cleaned.last(), Some(&(9_999.0, f64::from(9_999 % 7))));
        assert!(cleaned.iter().all(|(x, y)| x.is_finite() && y.is_finite()));
    }

    #[test]
    fn scores_step_and_hold_until_now() {
        let steps = step_points(&[(0.0, 0.0), (60.0, 10.0)], 90.0);
        assert_eq!(
            steps,
            vec![(0.0, 0.0), (60.0, 0.0), (60.0, 10.0), (90.0, 10.0)]
        );
        // A series whose first change comes later still starts from 0 at the start.
        let late = step_points(&[(30.0, 5.0)], 40.0);
        assert_eq!(
            late,
            vec![(0.0, 0.0), (30.0, 0.0), (30.0, 5.0), (40.0, 5.0)]
        );
    }

    #[test]
    fn axis_labels_read_as_game_time() {
        assert_eq!(format_elapsed(59.6), "1:00");
        assert_eq!(format_elapsed(3_725.0), "1:02:05");
        assert_eq!(format_value(12_500.0), "12k");
        assert_eq!(format_value(2.5), "2.5");
    }
}
