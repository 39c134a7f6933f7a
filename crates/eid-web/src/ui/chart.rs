//! The server-side SVG chart of a quota: cumulative progress against the straight required
//! line to the deadline, with the forecast at the last week's rate. Drawn as text, inline in
//! the page: the console's CSP runs no script and loads nothing from elsewhere.

use std::fmt::Write as _;

use eid_core::accounts::day_number;
use eid_domain::campaign;
use time::Date;

use super::format::{num, short_day};
use crate::console::i18n::Lang;

/// What the chart of a quota draws.
pub struct ChartData<'a> {
    pub start: Date,
    pub deadline: Date,
    pub as_of: Date,
    pub target: u64,
    pub done: u64,
    pub rate_7d: f64,
    /// Daily counts from the start (see [`svc::QuotaDetail::daily`]).
    pub daily: &'a [(i64, u64)],
}

/// A round step for about `ticks` ticks up to `max`: 1, 2, 2.5 or 5 times a power of ten,
/// never below 1 (counts are whole).
fn nice_step(max: f64, ticks: f64) -> f64 {
    let raw = (max / ticks).max(1.0);
    let mag = 10f64.powf(raw.log10().floor());
    for m in [1.0, 2.0, 2.5, 5.0, 10.0] {
        if m * mag >= raw {
            return (m * mag).max(1.0);
        }
    }
    10.0 * mag
}

/// Escapes text for HTML and SVG.
fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// The chart of cumulative progress against the required line to the deadline, as SVG.
///
/// x runs from the start to the deadline (days); y is the count. The solid line is the
/// cumulative count done at the end of each day; the straight required line goes from (start,
/// 0) to (deadline, target); the dashed forecast goes on from the as-of day at the rate of the
/// last 7 days; a vertical mark shows the as-of day and a dotted line the target.
pub fn chart_svg(lang: Lang, c: &ChartData, compact: bool) -> String {
    let (w, h) = if compact {
        (560.0, 220.0)
    } else {
        (880.0, 360.0)
    };
    let (ml, mr, mt, mb) = if compact {
        (64.0, 14.0, 16.0, 30.0)
    } else {
        (84.0, 24.0, 22.0, 52.0)
    };
    let font = 13.0;
    let (pw, ph) = (w - ml - mr, h - mt - mb);
    let d0 = day_number(c.start);
    let d1 = day_number(c.deadline).max(d0 + 1);
    let asof = day_number(c.as_of);
    let x = |d: i64| ml + (d.clamp(d0, d1) - d0) as f64 / (d1 - d0) as f64 * pw;

    let mut cum = 0u64;
    let mut points: Vec<(i64, u64)> = Vec::with_capacity(c.daily.len());
    for (d, n) in c.daily {
        cum = cum.saturating_add(*n);
        if *d >= d0 && *d <= d1 {
            points.push((*d, cum));
        }
    }
    let forecast =
        (asof >= d0 && asof < d1).then(|| c.done as f64 + c.rate_7d * (d1 - asof) as f64);
    let top = [c.target as f64, cum as f64, forecast.unwrap_or(0.0), 1.0]
        .into_iter()
        .fold(0.0, f64::max)
        * 1.06;
    let step = nice_step(top, if compact { 4.0 } else { 5.0 });
    let ymax = (top / step).ceil() * step;
    let y = |v: f64| mt + ph - v / ymax * ph;

    let mut s = String::with_capacity(8192);
    let title = lang.t("ops.chart.title");
    let _ = write!(
        s,
        "<svg class=\"chart{}\" viewBox=\"0 0 {w} {h}\" role=\"img\" aria-label=\"{}\" \
         xmlns=\"http://www.w3.org/2000/svg\" font-size=\"{font}\"><title>{}</title>",
        if compact { " compact" } else { "" },
        esc(title),
        esc(title)
    );
    let _ = write!(
        s,
        "<rect class=\"ch-plot\" x=\"{ml}\" y=\"{mt}\" width=\"{pw}\" height=\"{ph}\"/>"
    );
    // y grid and labels
    let mut v = 0.0;
    while v <= ymax + 0.5 {
        let yy = y(v);
        let _ = write!(
            s,
            "<line class=\"ch-grid\" x1=\"{ml}\" y1=\"{yy:.1}\" x2=\"{:.1}\" y2=\"{yy:.1}\"/>\
             <text class=\"ch-tick\" x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\">{}</text>",
            ml + pw,
            ml - 6.0,
            yy + font * 0.35,
            esc(&num(lang, v as u64))
        );
        v += step;
    }
    // x ticks: the start, the deadline and evenly between
    let n_ticks: i64 = if compact { 4 } else { 7 };
    let span = d1 - d0;
    let mut ticks: Vec<i64> = (0..=n_ticks)
        .map(|i| d0 + (span * i + n_ticks / 2) / n_ticks)
        .collect();
    ticks.dedup();
    for d in &ticks {
        let xx = x(*d);
        let anchor = if *d == d0 {
            "start"
        } else if *d == d1 {
            "end"
        } else {
            "middle"
        };
        let _ = write!(
            s,
            "<line class=\"ch-xgrid\" x1=\"{xx:.1}\" y1=\"{mt}\" x2=\"{xx:.1}\" y2=\"{:.1}\"/>\
             <text class=\"ch-tick\" x=\"{xx:.1}\" y=\"{:.1}\" text-anchor=\"{anchor}\">{}</text>",
            mt + ph + 4.0,
            mt + ph + font + 6.0,
            short_day(campaign::shift_days(c.start, *d - d0))
        );
    }
    let _ = write!(
        s,
        "<line class=\"ch-axis\" x1=\"{ml}\" y1=\"{:.1}\" x2=\"{:.1}\" y2=\"{:.1}\"/>\
         <line class=\"ch-axis\" x1=\"{ml}\" y1=\"{mt}\" x2=\"{ml}\" y2=\"{:.1}\"/>",
        mt + ph,
        ml + pw,
        mt + ph,
        mt + ph
    );
    if !compact {
        let _ = write!(
            s,
            "<text class=\"ch-axis-title\" x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{}</text>\
             <text class=\"ch-axis-title\" x=\"14\" y=\"{:.1}\" text-anchor=\"middle\" transform=\"rotate(-90 14 {:.1})\">{}</text>",
            ml + pw / 2.0,
            h - 8.0,
            esc(lang.t("ops.chart.x")),
            mt + ph / 2.0,
            mt + ph / 2.0,
            esc(lang.t("ops.chart.y"))
        );
    }
    // the target
    let ty = y(c.target as f64);
    let _ = write!(
        s,
        "<line class=\"ch-target\" x1=\"{ml}\" y1=\"{ty:.1}\" x2=\"{:.1}\" y2=\"{ty:.1}\"/>\
         <text class=\"ch-label\" x=\"{:.1}\" y=\"{:.1}\">{} {}</text>",
        ml + pw,
        ml + 6.0,
        ty - 5.0,
        esc(lang.t("ops.chart.target")),
        esc(&num(lang, c.target))
    );
    // the required line
    let _ = write!(
        s,
        "<line class=\"ch-required\" x1=\"{:.1}\" y1=\"{:.1}\" x2=\"{:.1}\" y2=\"{ty:.1}\"/>",
        x(d0),
        y(0.0),
        x(d1)
    );
    // the cumulative count, with the area under it
    if !points.is_empty() {
        let mut line = String::new();
        for (d, n) in &points {
            let _ = write!(line, "{:.1},{:.1} ", x(*d), y(*n as f64));
        }
        let (first, last) = (
            points.first().map_or(d0, |p| p.0),
            points.last().map_or(d0, |p| p.0),
        );
        let _ = write!(
            s,
            "<polygon class=\"ch-area\" points=\"{:.1},{:.1} {line}{:.1},{:.1}\"/>\
             <polyline class=\"ch-actual\" points=\"{}\"/>",
            x(first),
            y(0.0),
            x(last),
            y(0.0),
            line.trim_end()
        );
    }
    // the forecast at the 7-day rate
    if let Some(end) = forecast {
        let (fx0, fy0, fx1, fy1) = (x(asof), y(c.done as f64), x(d1), y(end));
        let _ = write!(
            s,
            "<line class=\"ch-forecast\" x1=\"{fx0:.1}\" y1=\"{fy0:.1}\" x2=\"{fx1:.1}\" y2=\"{fy1:.1}\"/>"
        );
    }
    // the as-of day
    if asof >= d0 && asof <= d1 {
        let ax = x(asof);
        let anchor = if ax > ml + pw - 90.0 {
            "end"
        } else if ax < ml + 90.0 {
            "start"
        } else {
            "middle"
        };
        let _ = write!(
            s,
            "<line class=\"ch-today\" x1=\"{ax:.1}\" y1=\"{mt}\" x2=\"{ax:.1}\" y2=\"{:.1}\"/>\
             <circle class=\"ch-dot\" cx=\"{ax:.1}\" cy=\"{:.1}\" r=\"3.5\"/>\
             <text class=\"ch-label ch-today-label\" x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"{anchor}\">{} {}</text>",
            mt + ph,
            y(c.done as f64),
            if anchor == "end" {
                ax - 4.0
            } else if anchor == "start" {
                ax + 4.0
            } else {
                ax
            },
            mt - 5.0 + font,
            esc(lang.t("ops.chart.as_of")),
            short_day(c.as_of)
        );
    }
    s.push_str("</svg>");
    s
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;
    use time::macros::date;
    use time::Duration;

    #[test]
    fn chart_steps_are_round() {
        assert_eq!(nice_step(421_013.0, 5.0), 100_000.0);
        assert_eq!(nice_step(618.0, 5.0), 200.0);
        assert_eq!(nice_step(3.0, 5.0), 1.0);
        assert_eq!(nice_step(1200.0, 5.0), 250.0);
    }

    #[test]
    fn the_chart_draws_the_required_line_the_actual_line_the_forecast_and_the_day() {
        let start = date!(2023 - 05 - 11);
        let daily: Vec<(i64, u64)> = (0..20).map(|i| (day_number(start) + i, 1_000)).collect();
        let svg = chart_svg(
            Lang::En,
            &ChartData {
                start,
                deadline: date!(2023 - 07 - 15),
                as_of: start + Duration::days(19),
                target: 421_013,
                done: 20_000,
                rate_7d: 1_000.0,
                daily: &daily,
            },
            false,
        );
        assert!(svg.starts_with("<svg") && svg.ends_with("</svg>"));
        for class in [
            "ch-required",
            "ch-actual",
            "ch-forecast",
            "ch-today",
            "ch-target",
        ] {
            assert!(svg.contains(class), "{class}");
        }
        assert!(svg.contains(">11/05<") && svg.contains(">15/07<"), "{svg}");
        assert!(svg.contains("421,013"));
    }

    #[test]
    fn a_chart_at_the_ends_of_the_calendar_is_drawn_without_panicking() {
        for (start, deadline, as_of) in [
            (Date::MAX, Date::MAX, Date::MAX),
            (Date::MIN, Date::MIN, Date::MIN),
            (Date::MIN, Date::MAX, date!(2026 - 01 - 01)),
            (Date::MAX, Date::MIN, Date::MIN),
        ] {
            for compact in [false, true] {
                let svg = chart_svg(
                    Lang::Vi,
                    &ChartData {
                        start,
                        deadline,
                        as_of,
                        target: u64::MAX,
                        done: u64::MAX,
                        rate_7d: f64::MAX,
                        daily: &[(day_number(start), u64::MAX), (day_number(start), 1)],
                    },
                    compact,
                );
                assert!(svg.starts_with("<svg") && svg.ends_with("</svg>"));
            }
        }
    }
}
