//! Figures reported by units that do not run eid: a daily count per unit, metric and day,
//! entered or imported by the level above, with every version and its provenance kept; and the
//! one rule by which they count ([`REPORTED_RULE`]).
//!
//! A figure is stored at the first key of its unit's path range (`res_path`, a commune's own
//! path; `path_hi` ends the range), so it is read by the same range scans as the recorded
//! counters (`unit_day_count`). Whether a figure counts is kept at write time
//! (`reported_figure.overlapped`, migration 30); `reported_province_day` keeps, per province and
//! day, the sum of all figures and of those that count, which the national view reads instead of
//! every commune's row.

use std::collections::{HashMap, HashSet};

use eid_domain::{Level, Metric, Tree, UnitCode, Units};
use time::{Date, OffsetDateTime};

use super::{counted, OpsError};
use crate::accounts::{day_date, day_number};
use crate::sql::{self, SqlRow, Tx, Val};
use crate::store::{from_ms, path_range, to_ms, Actor, Store, StoreError};

/// The rule by which reported figures count, as the API and the quota page state it.
pub const REPORTED_RULE: &str = "A reported figure counts for its unit, metric and day only when \
the unit recorded no event of that metric that day in eid (anywhere inside it): when it did, the \
recorded count stands and the reported figure is shown but not added. Reported figures do not \
nest: a unit's figure is refused while a unit above or below it has one for the same metric and day.";

/// The rule in Vietnamese, for the console's legend.
pub const REPORTED_RULE_VI: &str = "Số liệu báo cáo của một đơn vị cho một chỉ số trong một ngày \
chỉ được cộng khi ngày đó đơn vị không ghi nhận sự kiện nào của chỉ số ấy trên eid (ở bất kỳ đơn vị \
trực thuộc nào); nếu có, số ghi nhận được giữ và số báo cáo chỉ hiển thị, không cộng. Số liệu báo \
cáo không lồng nhau: không nhận số của một đơn vị khi đơn vị cấp trên hoặc cấp dưới đã có số cho \
cùng chỉ số và ngày.";

/// One reported figure, as it stands, with its latest provenance.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportedFigure {
    pub id: i64,
    pub unit: UnitCode,
    pub metric: Metric,
    pub day: Date,
    pub count: u64,
    pub version: i64,
    pub updated_at: OffsetDateTime,
    /// Whether it counts under [`REPORTED_RULE`] (false: the unit recorded events that day).
    pub counted: bool,
    /// The provenance of the current version.
    pub latest: ReportedVersion,
}

/// One version of a figure: its count and provenance.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportedVersion {
    pub version: i64,
    pub count: u64,
    pub at: OffsetDateTime,
    pub actor: Actor,
    pub source: String,
    pub file_name: String,
    pub file_sha256: String,
    /// Empty for the first version; the correction's reason after.
    pub reason: String,
}

/// Where a figure came from, for the version a write makes.
#[derive(Debug, Clone, Default)]
pub struct Provenance {
    pub source: String,
    pub file_name: String,
    pub file_sha256: String,
    /// Required to change a figure that exists.
    pub reason: String,
}

/// What a write did to one figure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Put {
    Created,
    Corrected,
    /// The same count was there: nothing written.
    Unchanged,
}

/// The path-range keys `(res_path, path_hi)` a unit's figure is stored under: a province,
/// district or commune of the 2024 tree.
pub fn figure_keys(unit: &UnitCode) -> Result<(i64, i64), OpsError> {
    let u = Units::get()
        .unit(Tree::Gso2024, unit)
        .ok_or(OpsError::Invalid(
            "unit.unknown",
            "the unit is not in the 2024 tree".into(),
        ))?;
    if u.level == Level::Nation {
        return Err(OpsError::Invalid(
            "reported.unit",
            "figures are reported by a province, district or commune".into(),
        ));
    }
    path_range(unit).ok_or(OpsError::Invalid(
        "unit.unknown",
        "the unit is not in the 2024 tree".into(),
    ))
}

fn check_metric(m: Metric) -> Result<(), OpsError> {
    if counted(m) {
        Ok(())
    } else {
        Err(OpsError::Invalid(
            "reported.metric",
            "cards issued are read from the register; report applications or accounts".into(),
        ))
    }
}

/// The keys of the units above `lo` whose figures would nest with one at `lo`.
fn ancestor_keys(lo: i64) -> Vec<i64> {
    let district = lo - lo % 100_000;
    let province = lo - lo % 100_000_000;
    [district, province]
        .into_iter()
        .filter(|k| *k != lo)
        .collect::<HashSet<_>>()
        .into_iter()
        .collect()
}

/// Writes one figure — of a unit, metric and day — in `tx`: creates it, or corrects it (a reason is required), keeping the
/// version with its provenance, and moves the province's daily sum by the difference.
pub fn put_figure(
    tx: &mut dyn Tx,
    (unit, metric, day): (&UnitCode, Metric, Date),
    count: u64,
    prov: &Provenance,
    actor: &Actor,
    now: OffsetDateTime,
) -> Result<Put, OpsError> {
    check_metric(metric)?;
    let (lo, hi) = figure_keys(unit)?;
    let n = i64::try_from(count)
        .ok()
        .filter(|n| *n <= 10_000_000)
        .ok_or(OpsError::Invalid(
            "reported.count",
            "a day's count is at most 10,000,000".into(),
        ))?;
    let d = day_number(day);
    let m = metric.as_str();
    let province = lo / 100_000_000;
    // The province-day's sums row first (created if missing): the counters' trigger takes the
    // same row before it reads figures, so on PostgreSQL the later of the two sees the other.
    tx.exec(
        "INSERT INTO reported_province_day (metric, province, day, n, counted) VALUES ($1, $2, $3, 0, 0) \
         ON CONFLICT (metric, province, day) DO UPDATE SET n = reported_province_day.n",
        &[m.into(), province.into(), d.into()],
    )?;
    for k in ancestor_keys(lo) {
        if tx
            .row(
                "SELECT id FROM reported_figure WHERE metric = $1 AND res_path = $2 AND day = $3",
                &[m.into(), k.into(), d.into()],
            )?
            .is_some()
        {
            return Err(OpsError::Conflict(
                "reported.nested",
                "a unit above this one already has a figure for this metric and day".into(),
            ));
        }
    }
    if hi - lo > 1
        && tx
            .row(
                "SELECT id FROM reported_figure WHERE metric = $1 AND res_path > $2 AND res_path < $3 AND day = $4 LIMIT 1",
                &[m.into(), lo.into(), hi.into(), d.into()],
            )?
            .is_some()
    {
        return Err(OpsError::Conflict(
            "reported.nested",
            "a unit below this one already has a figure for this metric and day".into(),
        ));
    }
    let existing = tx.row(
        "SELECT id, n, version, overlapped FROM reported_figure WHERE metric = $1 AND res_path = $2 AND day = $3",
        &[m.into(), lo.into(), d.into()],
    )?;
    let overlapped = tx
        .row(
            "SELECT 1 FROM unit_day_count WHERE metric = $1 AND day = $2 AND res_path >= $3 AND res_path < $4 \
             AND n > 0 LIMIT 1",
            &[m.into(), d.into(), lo.into(), hi.into()],
        )?
        .is_some();
    let counting = |n: i64| if overlapped { 0 } else { n };
    let (id, version, delta, counted_delta, put) = match existing {
        Some(r) => {
            let g = |i: usize| r.get(i).cloned().unwrap_or(Val::Null).int();
            let (id, old, version, was_overlapped) = (g(0)?, g(1)?, g(2)?, g(3)? != 0);
            if old == n {
                return Ok(Put::Unchanged);
            }
            if prov.reason.trim().is_empty() {
                return Err(OpsError::Invalid(
                    "reported.reason",
                    format!("the figure is {old}: say why it is corrected"),
                ));
            }
            tx.exec(
                "UPDATE reported_figure SET n = $1, version = version + 1, updated_at = $2, overlapped = $3 WHERE id = $4",
                &[n.into(), to_ms(now).into(), i64::from(overlapped).into(), id.into()],
            )?;
            let was = if was_overlapped { 0 } else { old };
            (id, version + 1, n - old, counting(n) - was, Put::Corrected)
        }
        None => {
            let id = tx.int(
                "INSERT INTO reported_figure (unit, metric, day, res_path, path_hi, n, version, updated_at, overlapped) \
                 VALUES ($1, $2, $3, $4, $5, $6, 1, $7, $8) RETURNING id",
                &[
                    unit.as_str().into(),
                    m.into(),
                    d.into(),
                    lo.into(),
                    hi.into(),
                    n.into(),
                    to_ms(now).into(),
                    i64::from(overlapped).into(),
                ],
            )?;
            (id, 1, n, counting(n), Put::Created)
        }
    };
    tx.exec(
        "INSERT INTO reported_version (figure_id, version, n, at, actor, source, file_name, file_sha256, reason) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        &[
            id.into(),
            version.into(),
            n.into(),
            to_ms(now).into(),
            actor.to_db().into(),
            prov.source.as_str().into(),
            prov.file_name.as_str().into(),
            prov.file_sha256.as_str().into(),
            prov.reason.trim().into(),
        ],
    )?;
    tx.exec(
        "UPDATE reported_province_day SET n = n + $1, counted = counted + $2 \
         WHERE metric = $3 AND province = $4 AND day = $5",
        &[
            delta.into(),
            counted_delta.into(),
            m.into(),
            province.into(),
            d.into(),
        ],
    )?;
    Ok(put)
}

// ----------------------------------------------------------------------------------------------
// Reading figures

const FIGURE_COLS: &str = "f.id, f.unit, f.metric, f.day, f.n, f.version, f.updated_at, \
    v.version, v.n, v.at, v.actor, v.source, v.file_name, v.file_sha256, v.reason, 1 - f.overlapped";

fn version_from(r: &SqlRow, at: usize) -> Result<ReportedVersion, StoreError> {
    let g = |i: usize| r.get(at + i).cloned().unwrap_or(Val::Null);
    Ok(ReportedVersion {
        version: g(0).int()?,
        count: g(1).int()?.max(0).unsigned_abs(),
        at: from_ms(g(2).int()?),
        actor: Actor::from_db(&g(3).text()?),
        source: g(4).text()?,
        file_name: g(5).text()?,
        file_sha256: g(6).text()?,
        reason: g(7).text()?,
    })
}

fn figure_from(r: &SqlRow) -> Result<ReportedFigure, StoreError> {
    let g = |i: usize| r.get(i).cloned().unwrap_or(Val::Null);
    let metric = g(2).text()?;
    Ok(ReportedFigure {
        id: g(0).int()?,
        unit: UnitCode::parse(&g(1).text()?)
            .map_err(|e| StoreError::Corrupt(format!("reported unit: {e}")))?,
        metric: Metric::parse(&metric)
            .ok_or_else(|| StoreError::Corrupt(format!("reported metric: {metric:?}")))?,
        day: day_date(g(3).int()?),
        count: g(4).int()?.max(0).unsigned_abs(),
        version: g(5).int()?,
        updated_at: from_ms(g(6).int()?),
        latest: version_from(r, 7)?,
        counted: g(15).int()? == 1,
    })
}

/// What to list.
#[derive(Debug, Clone)]
pub struct FigureFilter {
    /// Figures of units inside this one (itself included).
    pub within: UnitCode,
    pub metric: Option<Metric>,
    pub from: Date,
    pub to: Date,
    pub limit: usize,
}

/// Reported figures inside a unit, newest day first, with whether each counts.
pub fn figures(store: &dyn Store, f: &FigureFilter) -> Result<Vec<ReportedFigure>, OpsError> {
    let (lo, hi) = path_range(&f.within).ok_or(OpsError::Invalid(
        "unit.unknown",
        "the unit is not in the 2024 tree".into(),
    ))?;
    let limit = i64::try_from(f.limit.clamp(1, 1000)).unwrap_or(1000);
    let metric = f.metric.map(|m| m.as_str().to_owned()).unwrap_or_default();
    let rows = sql::read(store.db(), |tx| {
        let sql = format!(
            "SELECT {FIGURE_COLS} FROM reported_figure f JOIN reported_version v ON v.figure_id = f.id AND v.version = f.version \
             WHERE f.res_path >= $1 AND f.res_path < $2 AND f.day >= $3 AND f.day <= $4 AND ($5 = '' OR f.metric = $5) \
             ORDER BY f.day DESC, f.unit, f.metric LIMIT $6"
        );
        tx.query(
            &sql,
            &[
                lo.into(),
                hi.into(),
                day_number(f.from).into(),
                day_number(f.to).into(),
                metric.into(),
                limit.into(),
            ],
        )
    })?;
    Ok(rows.iter().map(figure_from).collect::<Result<_, _>>()?)
}

/// One figure by id.
pub fn figure(store: &dyn Store, id: i64) -> Result<Option<ReportedFigure>, OpsError> {
    let row = sql::read(store.db(), |tx| {
        let sql = format!(
            "SELECT {FIGURE_COLS} FROM reported_figure f JOIN reported_version v ON v.figure_id = f.id AND v.version = f.version \
             WHERE f.id = $1"
        );
        tx.row(&sql, &[id.into()])
    })?;
    Ok(row.as_ref().map(figure_from).transpose()?)
}

/// Every version of a figure, oldest first.
pub fn figure_history(store: &dyn Store, id: i64) -> Result<Vec<ReportedVersion>, OpsError> {
    let rows = sql::read(store.db(), |tx| {
        tx.query(
            "SELECT version, n, at, actor, source, file_name, file_sha256, reason FROM reported_version \
             WHERE figure_id = $1 ORDER BY seq",
            &[id.into()],
        )
    })?;
    Ok(rows
        .iter()
        .map(|r| version_from(r, 0))
        .collect::<Result<_, _>>()?)
}

// ----------------------------------------------------------------------------------------------
// The rule, in the counters' read path
//
// Whether a figure counts is kept at write time (migration 30): `reported_figure.overlapped`
// and `reported_province_day.counted`, moved by `put_figure` and by triggers on the recorded
// counters. Reads below only sum.

/// Whether `[lo, hi)` is a whole province (or the nation), which the daily sums cover.
fn provinces_of((lo, hi): (i64, i64)) -> Option<(i64, i64)> {
    const P: i64 = 100_000_000;
    if hi == i64::MAX {
        Some((lo / P, i64::MAX))
    } else if lo % P == 0 && hi % P == 0 {
        Some((lo / P, hi / P))
    } else {
        None
    }
}

/// Reported figures that count, per day, inside `[lo, hi)` on days `from..=to`. A whole
/// province (or the nation) reads the per-province daily sums; a smaller unit its figures.
pub fn reported_daily(
    store: &dyn Store,
    metric: &str,
    range: (i64, i64),
    from: i64,
    to: i64,
) -> Result<HashMap<i64, u64>, OpsError> {
    let rows = sql::read(store.db(), |tx| {
        match provinces_of(range) {
        Some((p0, p1)) => tx.query(
            "SELECT day, CAST(SUM(counted) AS BIGINT) FROM reported_province_day WHERE metric = $1 AND province >= $2 \
             AND province < $3 AND day >= $4 AND day <= $5 GROUP BY day",
            &[metric.into(), p0.into(), p1.into(), from.into(), to.into()],
        ),
        None => tx.query(
            "SELECT day, CAST(SUM(n) AS BIGINT) FROM reported_figure WHERE metric = $1 AND res_path >= $2 AND res_path < $3 \
             AND day >= $4 AND day <= $5 AND overlapped = 0 GROUP BY day",
            &[metric.into(), range.0.into(), range.1.into(), from.into(), to.into()],
        ),
    }
    })?;
    let mut out: HashMap<i64, u64> = HashMap::new();
    for r in rows {
        let g = |i: usize| r.get(i).cloned().unwrap_or(Val::Null).int();
        let n = g(1)?.max(0).unsigned_abs();
        if n > 0 {
            out.insert(g(0)?, n);
        }
    }
    Ok(out)
}

/// The total of reported figures that count inside `[lo, hi)` on days `from..=to`.
pub fn reported_total(
    store: &dyn Store,
    metric: &str,
    range: (i64, i64),
    from: i64,
    to: i64,
) -> Result<u64, OpsError> {
    Ok(reported_daily(store, metric, range, from, to)?
        .values()
        .fold(0u64, |s, n| s.saturating_add(*n)))
}

/// Reported figures that count inside `[lo, hi)` on days `from..=to`, per figure key
/// (`res_path`): the unit-level rows rankings and splits attribute to a child by its range.
/// Per key: `(total, since recent_from, of the day to)`.
pub fn reported_by_key(
    store: &dyn Store,
    metric: &str,
    range: (i64, i64),
    from: i64,
    to: i64,
    recent_from: i64,
) -> Result<HashMap<i64, (u64, u64, u64)>, OpsError> {
    let rows = sql::read(store.db(), |tx| {
        tx.query(
            "SELECT res_path, day, n FROM reported_figure WHERE metric = $1 AND res_path >= $2 AND res_path < $3 \
             AND day >= $4 AND day <= $5 AND overlapped = 0",
            &[metric.into(), range.0.into(), range.1.into(), from.into(), to.into()],
        )
    })?;
    let mut out: HashMap<i64, (u64, u64, u64)> = HashMap::new();
    for r in rows {
        let g = |i: usize| r.get(i).cloned().unwrap_or(Val::Null).int();
        let (k, d, n) = (g(0)?, g(1)?, g(2)?.max(0).unsigned_abs());
        let e = out.entry(k).or_default();
        e.0 = e.0.saturating_add(n);
        if d >= recent_from {
            e.1 = e.1.saturating_add(n);
        }
        if d == to {
            e.2 = e.2.saturating_add(n);
        }
    }
    Ok(out)
}

/// Reported figures that count, per 2024 province number, on days `from..=to`.
pub fn reported_by_province(
    store: &dyn Store,
    metric: &str,
    from: i64,
    to: i64,
) -> Result<HashMap<i64, u64>, OpsError> {
    let rows = sql::read(store.db(), |tx| {
        tx.query(
            "SELECT province, CAST(SUM(counted) AS BIGINT) FROM reported_province_day WHERE metric = $1 AND day >= $2 \
             AND day <= $3 GROUP BY province",
            &[metric.into(), from.into(), to.into()],
        )
    })?;
    let mut out: HashMap<i64, u64> = HashMap::new();
    for r in rows {
        let g = |i: usize| r.get(i).cloned().unwrap_or(Val::Null).int();
        out.insert(g(0)?, g(1)?.max(0).unsigned_abs());
    }
    Ok(out)
}

/// Per (2024 province number, day): the recorded count and the reported figure that counts.
pub type ProvinceDaily = HashMap<(i64, i64), (i64, u64)>;

/// Per 2024 province number and day on days `from..=to`: the recorded count (the per-province
/// roll-up `province_day_count`, kept by triggers) and the reported figures that count under
/// [`REPORTED_RULE`] (`reported_province_day.counted`, kept at write time). What
/// [`super::done`] gives for a province, for every province at once.
pub fn province_daily(
    store: &dyn Store,
    metric: &str,
    from: i64,
    to: i64,
) -> Result<ProvinceDaily, OpsError> {
    let (recorded, reported) = sql::read(store.db(), |tx| {
        let args = [metric.into(), from.into(), to.into()];
        let recorded = tx.query(
            "SELECT province, day, n FROM province_day_count WHERE metric = $1 AND day >= $2 AND day <= $3",
            &args,
        )?;
        let reported = tx.query(
            "SELECT province, day, counted FROM reported_province_day WHERE metric = $1 AND day >= $2 AND day <= $3 \
             AND counted > 0",
            &args,
        )?;
        Ok::<_, StoreError>((recorded, reported))
    })?;
    let int = |r: &SqlRow, i: usize| r.get(i).cloned().unwrap_or(Val::Null).int();
    let mut out: ProvinceDaily = HashMap::new();
    for r in &recorded {
        out.entry((int(r, 0)?, int(r, 1)?)).or_default().0 = int(r, 2)?;
    }
    for r in &reported {
        out.entry((int(r, 0)?, int(r, 1)?)).or_default().1 = int(r, 2)?.max(0).unsigned_abs();
    }
    Ok(out)
}
