//! Tables sorted by any column without script: each header is a link that keeps the page's
//! other parameters and sets `?sort=<column>&dir=asc|desc` (a second click reverses), and the
//! sorted column says so with `aria-sort`. Rows carry the values they sort by, never the
//! formatted text (1.234 sorts after 999).

use std::cmp::Ordering;
use std::collections::HashMap;

use crate::console::i18n::Lang;

/// A value a row sorts by: a number (absent values last) or text (compared case-folded).
#[derive(Debug, Clone, PartialEq)]
pub enum Key {
    N(Option<f64>),
    T(String),
}

impl Key {
    pub fn n(v: impl Into<f64>) -> Key {
        Key::N(Some(v.into()))
    }

    fn cmp(&self, other: &Key, desc: bool) -> Ordering {
        match (self, other) {
            (Key::N(a), Key::N(b)) => match (a, b) {
                // Rows without a value stay last whichever the direction.
                (None, None) => Ordering::Equal,
                (None, Some(_)) => Ordering::Greater,
                (Some(_), None) => Ordering::Less,
                (Some(a), Some(b)) => {
                    let o = a.total_cmp(b);
                    if desc {
                        o.reverse()
                    } else {
                        o
                    }
                }
            },
            (Key::T(a), Key::T(b)) => {
                let o = a.to_lowercase().cmp(&b.to_lowercase());
                if desc {
                    o.reverse()
                } else {
                    o
                }
            }
            (Key::N(_), Key::T(_)) => Ordering::Less,
            (Key::T(_), Key::N(_)) => Ordering::Greater,
        }
    }
}

/// A column that sorts: its key in the URL, its header's translation key, an optional hint
/// (`title`) key, and whether it holds numbers (right-aligned).
pub struct Col {
    pub key: &'static str,
    pub label: &'static str,
    pub title: &'static str,
    pub num: bool,
}

pub const fn col(key: &'static str, label: &'static str, num: bool) -> Col {
    Col {
        key,
        label,
        title: "",
        num,
    }
}

pub const fn col_hint(
    key: &'static str,
    label: &'static str,
    title: &'static str,
    num: bool,
) -> Col {
    Col {
        key,
        label,
        title,
        num,
    }
}

/// The page's sort, read from `?sort=&dir=` against the columns offered (none: the table's own
/// order, the rank).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sort {
    pub key: &'static str,
    pub desc: bool,
}

pub fn sort_from(q: &HashMap<String, String>, cols: &[Col]) -> Option<Sort> {
    let asked = q.get("sort")?;
    let col = cols.iter().find(|c| c.key == asked)?;
    Some(Sort {
        key: col.key,
        desc: q.get("dir").is_some_and(|d| d == "desc"),
    })
}

/// A header as the template draws it.
pub struct Head {
    pub label: String,
    pub title: String,
    pub href: String,
    /// `ascending`, `descending` or empty (the column is not the sorted one).
    pub aria: &'static str,
    pub arrow: &'static str,
    pub num: bool,
}

/// The headers of `cols` for a page at `path` with query `q`: each links to the same page,
/// every other parameter kept, sorted by that column (ascending first, or reversed when it is
/// already the sorted column).
pub fn heads(
    lang: Lang,
    cols: &[Col],
    sort: Option<&Sort>,
    path: &str,
    q: &HashMap<String, String>,
    anchor: &str,
) -> Vec<Head> {
    let mut kept: Vec<(&String, &String)> = q
        .iter()
        .filter(|(k, _)| k.as_str() != "sort" && k.as_str() != "dir" && k.as_str() != "done")
        .collect();
    kept.sort();
    let base: String = kept
        .iter()
        .map(|(k, v)| {
            format!(
                "{}={}&",
                crate::console::percent_encode(k),
                crate::console::percent_encode(v)
            )
        })
        .collect();
    cols.iter()
        .map(|c| {
            let active = sort.filter(|s| s.key == c.key);
            let dir = match active {
                Some(s) if !s.desc => "desc",
                _ => "asc",
            };
            Head {
                label: lang.t(c.label).to_owned(),
                title: if c.title.is_empty() {
                    String::new()
                } else {
                    lang.t(c.title).to_owned()
                },
                href: format!("{path}?{base}sort={}&dir={dir}{anchor}", c.key),
                aria: match active {
                    Some(s) if s.desc => "descending",
                    Some(_) => "ascending",
                    None => "",
                },
                arrow: match active {
                    Some(s) if s.desc => " ▼",
                    Some(_) => " ▲",
                    None => "",
                },
                num: c.num,
            }
        })
        .collect()
}

/// Sorts `rows` by the page's sort (stable: ties keep the rank order); no sort leaves them.
pub fn apply<R>(rows: &mut [R], sort: Option<&Sort>, key: impl Fn(&R, &str) -> Key) {
    if let Some(s) = sort {
        rows.sort_by(|a, b| key(a, s.key).cmp(&key(b, s.key), s.desc));
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    const COLS: [Col; 2] = [
        col("unit", "field.unit", false),
        col("done", "ops.fig.done", true),
    ];

    #[test]
    fn headers_keep_other_parameters_and_reverse_the_sorted_column() {
        let q: HashMap<String, String> =
            [("as_of", "10/03/2026"), ("sort", "done"), ("dir", "asc")]
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect();
        let s = sort_from(&q, &COLS).unwrap();
        let h = heads(Lang::Vi, &COLS, Some(&s), "/ops", &q, "");
        assert_eq!(h[0].href, "/ops?as_of=10/03/2026&sort=unit&dir=asc");
        assert_eq!(h[1].href, "/ops?as_of=10/03/2026&sort=done&dir=desc");
        assert_eq!((h[0].aria, h[1].aria), ("", "ascending"));
        let q2: HashMap<String, String> = [("sort", "nope")]
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        assert_eq!(sort_from(&q2, &COLS), None);
    }

    #[test]
    fn numbers_sort_as_numbers_and_missing_values_stay_last() {
        let mut rows = vec![Some(999.0), None, Some(1234.0), Some(5.0)];
        let s = Sort {
            key: "done",
            desc: false,
        };
        apply(&mut rows, Some(&s), |r, _| Key::N(*r));
        assert_eq!(rows, vec![Some(5.0), Some(999.0), Some(1234.0), None]);
        let s = Sort {
            key: "done",
            desc: true,
        };
        apply(&mut rows, Some(&s), |r, _| Key::N(*r));
        assert_eq!(rows, vec![Some(1234.0), Some(999.0), Some(5.0), None]);
    }
}

/// What a ranking's or a split's row sorts by, kept beside its formatted cells.
#[derive(Debug, Clone, Default)]
pub struct Raw {
    pub rank: Option<f64>,
    pub change: Option<f64>,
    pub unit: String,
    pub done: f64,
    pub target: f64,
    pub percent: f64,
    pub pp: Option<f64>,
    /// The status's place from met to not started (see [`status_order`]).
    pub status: Option<f64>,
    pub required: Option<f64>,
    pub days_left: Option<f64>,
    /// The forecast day as a Julian day number; none when there is no forecast.
    pub forecast: Option<f64>,
}

impl Raw {
    /// The row's values from a quota's progress (`unit` its shown name).
    pub fn of(unit: String, done: u64, target: u64, p: &eid_domain::campaign::Progress) -> Raw {
        Raw {
            unit,
            done: done as f64,
            target: target as f64,
            percent: percent(done, target),
            status: Some(status_order(p.status)),
            required: eid_domain::campaign::required_daily_tenths(p.remaining, p.days_left)
                .map(|t| t as f64 / 10.0),
            days_left: Some(p.days_left.max(0) as f64),
            forecast: p.forecast_met_on.map(|d| f64::from(d.to_julian_day())),
            ..Raw::default()
        }
    }

    /// The value of column `key`.
    pub fn key(&self, key: &str) -> Key {
        match key {
            "rank" => Key::N(self.rank),
            "change" => Key::N(self.change),
            "unit" => Key::T(self.unit.clone()),
            "done" => Key::n(self.done),
            "target" => Key::n(self.target),
            "percent" => Key::n(self.percent),
            "pp" => Key::N(self.pp),
            "status" => Key::N(self.status),
            "required" => Key::N(self.required),
            "days_left" => Key::N(self.days_left),
            "forecast" => Key::N(self.forecast),
            _ => Key::N(None),
        }
    }
}

/// `done` in percent of `target` (100 for a zero target), for sorting.
pub fn percent(done: u64, target: u64) -> f64 {
    if target == 0 {
        100.0
    } else {
        done as f64 * 100.0 / target as f64
    }
}

/// Statuses from best to worst, for sorting.
pub fn status_order(s: eid_domain::campaign::Status) -> f64 {
    use eid_domain::campaign::Status;
    match s {
        Status::Met => 0.0,
        Status::OnTrack => 1.0,
        Status::AtRisk => 2.0,
        Status::Behind => 3.0,
        Status::BeyondCapacity => 4.0,
        Status::Missed => 5.0,
        Status::TooEarly => 6.0,
        Status::NotStarted => 7.0,
    }
}

/// The columns of a ranking of the units below.
pub const RANKING: [Col; 11] = [
    col("rank", "ops.rank.rank", true),
    col_hint("change", "ops.rank.change", "ops.rank.change_hint", true),
    col("unit", "field.unit", false),
    col("done", "ops.fig.done", true),
    col("target", "ops.fig.target", true),
    col("percent", "ops.rank.percent", true),
    col_hint("pp", "ops.rank.pp", "ops.rank.pp_hint", true),
    col("status", "ops.status", false),
    col_hint(
        "required",
        "ops.rank.required",
        "ops.fig.required_rule",
        true,
    ),
    col("days_left", "ops.rank.days_left", true),
    col("forecast", "ops.rank.forecast", false),
];

/// The columns of the national ranking of provinces.
pub const NATIONAL: [Col; 9] = [
    col("rank", "ops.rank.rank", true),
    col("unit", "ops.nat.province", false),
    col("done", "ops.fig.done", true),
    col("target", "ops.fig.target", true),
    col("percent", "ops.rank.percent", true),
    col("status", "ops.status", false),
    col_hint(
        "required",
        "ops.rank.required",
        "ops.fig.required_rule",
        true,
    ),
    col("days_left", "ops.rank.days_left", true),
    col("forecast", "ops.rank.forecast", false),
];

/// The columns of a quota's split (its children).
pub const CHILDREN: [Col; 8] = [
    col("unit", "field.unit", false),
    col("target", "ops.fig.target", true),
    col("done", "ops.fig.done", true),
    col("percent", "ops.rank.percent", true),
    col("status", "ops.status", false),
    col_hint(
        "required",
        "ops.rank.required",
        "ops.fig.required_rule",
        true,
    ),
    col("days_left", "ops.rank.days_left", true),
    col("forecast", "ops.rank.forecast", false),
];
