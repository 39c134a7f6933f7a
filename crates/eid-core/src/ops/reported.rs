//! Figures reported by units that do not run eid: a daily count per unit, metric and day,
//! entered or imported by the level above, with every version and its provenance kept; and the
//! one rule by which they count ([`REPORTED_RULE`]).
//!
//! A figure is stored at the first key of its unit's path range (`res_path`, a commune's own
//! path; `path_hi` ends the range), so it is read by the same range scans as the recorded
//! counters (`unit_day_count`). `reported_province_day` keeps their sum per province and day,
//! which the national view reads instead of every commune's row.

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
        "SELECT id, n, version FROM reported_figure WHERE metric = $1 AND res_path = $2 AND day = $3",
        &[m.into(), lo.into(), d.into()],
    )?;
    let (id, version, delta, put) = match existing {
        Some(r) => {
            let g = |i: usize| r.get(i).cloned().unwrap_or(Val::Null).int();
            let (id, old, version) = (g(0)?, g(1)?, g(2)?);
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
                "UPDATE reported_figure SET n = $1, version = version + 1, updated_at = $2 WHERE id = $3",
                &[n.into(), to_ms(now).into(), id.into()],
            )?;
            (id, version + 1, n - old, Put::Corrected)
        }
        None => {
            let id = tx.int(
                "INSERT INTO reported_figure (unit, metric, day, res_path, path_hi, n, version, updated_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, 1, $7) RETURNING id",
                &[unit.as_str().into(), m.into(), d.into(), lo.into(), hi.into(), n.into(), to_ms(now).into()],
            )?;
            (id, 1, n, Put::Created)
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
        "INSERT INTO reported_province_day (metric, province, day, n) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (metric, province, day) DO UPDATE SET n = reported_province_day.n + $4",
        &[m.into(), (lo / 100_000_000).into(), d.into(), delta.into()],
    )?;
    Ok(put)
}

// ----------------------------------------------------------------------------------------------
// Reading figures

const FIGURE_COLS: &str = "f.id, f.unit, f.metric, f.day, f.n, f.version, f.updated_at, \
    v.version, v.n, v.at, v.actor, v.source, v.file_name, v.file_sha256, v.reason, \
    CASE WHEN EXISTS (SELECT 1 FROM unit_day_count u WHERE u.metric = f.metric AND u.day = f.day \
    AND u.res_path >= f.res_path AND u.res_path < f.path_hi AND u.n > 0) THEN 0 ELSE 1 END";

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

/// The reported figures inside `[lo, hi)` on days `from..=to` that the rule does not count
/// (their unit recorded events that day), found from the recorded side: for each recorded
/// commune-day, the figure of that commune, its district or its province. `(res_path, day, n)`.
pub(super) fn overlapped(
    store: &dyn Store,
    metric: &str,
    (lo, hi): (i64, i64),
    from: i64,
    to: i64,
) -> Result<Vec<(i64, i64, u64)>, OpsError> {
    let rows = sql::read(store.db(), |tx| {
        // Few figures in the range (none, or a province's own row a day): each is checked
        // against the recorded counters under it, one index probe a figure.
        let few = tx.int(
            "SELECT count(*) FROM (SELECT 1 FROM reported_figure WHERE metric = $1 AND res_path >= $2 AND res_path < $3 \
             AND day >= $4 AND day <= $5 LIMIT 2000) t",
            &[metric.into(), lo.into(), hi.into(), from.into(), to.into()],
        )?;
        if few < 2000 {
            if few == 0 {
                return Ok(Vec::new());
            }
            return tx.query(
                "SELECT r.id, r.res_path, r.day, r.n FROM reported_figure r WHERE r.metric = $1 AND r.res_path >= $2 \
                 AND r.res_path < $3 AND r.day >= $4 AND r.day <= $5 AND EXISTS (SELECT 1 FROM unit_day_count u \
                 WHERE u.metric = r.metric AND u.day = r.day AND u.res_path >= r.res_path AND u.res_path < r.path_hi AND u.n > 0)",
                &[metric.into(), lo.into(), hi.into(), from.into(), to.into()],
            );
        }
        // Many figures (a province's communes, day by day): found from the recorded side.
        // One equality join per level (the commune's own key, its district's, its province's),
        // so each is an index lookup on both engines; UNION drops a figure met twice.
        let level = |key: &str| {
            format!(
                "SELECT r.id, r.res_path, r.day, r.n FROM unit_day_count u JOIN reported_figure r \
                 ON r.metric = u.metric AND r.res_path = {key} AND r.day = u.day \
                 WHERE u.metric = $1 AND u.res_path >= $2 AND u.res_path < $3 AND u.day >= $4 AND u.day <= $5 \
                 AND u.n > 0 AND r.res_path >= $2 AND r.res_path < $3"
            )
        };
        let sql = format!(
            "{} UNION {} UNION {}",
            level("u.res_path"),
            level("u.res_path - u.res_path % 100000"),
            level("u.res_path - u.res_path % 100000000")
        );
        tx.query(
            &sql,
            &[metric.into(), lo.into(), hi.into(), from.into(), to.into()],
        )
    })?;
    let mut out = Vec::with_capacity(rows.len());
    for r in rows {
        let g = |i: usize| r.get(i).cloned().unwrap_or(Val::Null).int();
        out.push((g(1)?, g(2)?, g(3)?.max(0).unsigned_abs()));
    }
    Ok(out)
}

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
            "SELECT day, CAST(SUM(n) AS BIGINT) FROM reported_province_day WHERE metric = $1 AND province >= $2 AND province < $3 \
             AND day >= $4 AND day <= $5 GROUP BY day",
            &[metric.into(), p0.into(), p1.into(), from.into(), to.into()],
        ),
        None => tx.query(
            "SELECT day, CAST(SUM(n) AS BIGINT) FROM reported_figure WHERE metric = $1 AND res_path >= $2 AND res_path < $3 \
             AND day >= $4 AND day <= $5 GROUP BY day",
            &[metric.into(), range.0.into(), range.1.into(), from.into(), to.into()],
        ),
    }
    })?;
    let mut out: HashMap<i64, u64> = HashMap::new();
    for r in rows {
        let g = |i: usize| r.get(i).cloned().unwrap_or(Val::Null).int();
        out.insert(g(0)?, g(1)?.max(0).unsigned_abs());
    }
    for (_, day, n) in overlapped(store, metric, range, from, to)? {
        if let Some(t) = out.get_mut(&day) {
            *t = t.saturating_sub(n);
        }
    }
    out.retain(|_, n| *n > 0);
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
/// `today` also sums the figures of that one day, `(total, of today)`.
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
             AND day >= $4 AND day <= $5",
            &[metric.into(), range.0.into(), range.1.into(), from.into(), to.into()],
        )
    })?;
    let skip: HashSet<(i64, i64)> = overlapped(store, metric, range, from, to)?
        .into_iter()
        .map(|(k, d, _)| (k, d))
        .collect();
    let mut out: HashMap<i64, (u64, u64, u64)> = HashMap::new();
    for r in rows {
        let g = |i: usize| r.get(i).cloned().unwrap_or(Val::Null).int();
        let (k, d, n) = (g(0)?, g(1)?, g(2)?.max(0).unsigned_abs());
        if skip.contains(&(k, d)) {
            continue;
        }
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
            "SELECT province, CAST(SUM(n) AS BIGINT) FROM reported_province_day WHERE metric = $1 AND day >= $2 AND day <= $3 \
             GROUP BY province",
            &[metric.into(), from.into(), to.into()],
        )
    })?;
    let mut out: HashMap<i64, u64> = HashMap::new();
    for r in rows {
        let g = |i: usize| r.get(i).cloned().unwrap_or(Val::Null).int();
        out.insert(g(0)?, g(1)?.max(0).unsigned_abs());
    }
    for (k, _, n) in overlapped(store, metric, (0, i64::MAX), from, to)? {
        if let Some(t) = out.get_mut(&(k / 100_000_000)) {
            *t = t.saturating_sub(n);
        }
    }
    Ok(out)
}

/// Per (2024 province number, day): the recorded count and the reported figure that counts.
pub type ProvinceDaily = HashMap<(i64, i64), (i64, u64)>;

/// Per 2024 province number and day on days `from..=to`: the recorded count (the per-province
/// roll-up `province_day_count`, kept by triggers) and the reported figures that count under
/// [`REPORTED_RULE`]. What [`super::done`] gives for a province, for every province at once:
/// a province's own figure is not counted on a day the province recorded events; figures of
/// its districts or communes (never beside a province's own, as figures do not nest) are
/// checked one by one only on the days the province recorded events at all.
pub fn province_daily(
    store: &dyn Store,
    metric: &str,
    from: i64,
    to: i64,
) -> Result<ProvinceDaily, OpsError> {
    const P: i64 = 100_000_000;
    let (recorded, reported, own) = sql::read(store.db(), |tx| {
        let args = [metric.into(), from.into(), to.into()];
        let recorded = tx.query(
            "SELECT province, day, n FROM province_day_count WHERE metric = $1 AND day >= $2 AND day <= $3",
            &args,
        )?;
        let reported = tx.query(
            "SELECT province, day, n FROM reported_province_day WHERE metric = $1 AND day >= $2 AND day <= $3",
            &args,
        )?;
        let mut own = Vec::new();
        let provinces: Vec<i64> = reported
            .iter()
            .filter_map(|r| r.first().cloned().and_then(|v| v.int().ok()))
            .collect::<HashSet<i64>>()
            .into_iter()
            .collect();
        for p in provinces {
            own.extend(tx.query(
                "SELECT res_path, day, n FROM reported_figure WHERE metric = $1 AND res_path = $2 \
                 AND day >= $3 AND day <= $4",
                &[metric.into(), (p * P).into(), from.into(), to.into()],
            )?);
        }
        Ok::<_, StoreError>((recorded, reported, own))
    })?;
    let int = |r: &SqlRow, i: usize| r.get(i).cloned().unwrap_or(Val::Null).int();
    let mut out: HashMap<(i64, i64), (i64, u64)> = HashMap::new();
    for r in &recorded {
        out.entry((int(r, 0)?, int(r, 1)?)).or_default().0 = int(r, 2)?;
    }
    let own: HashSet<(i64, i64)> = own
        .iter()
        .map(|r| Ok((int(r, 0)? / P, int(r, 1)?)))
        .collect::<Result<_, StoreError>>()?;
    // Provinces whose district or commune figures meet recorded events on some day.
    let mut detail: HashMap<i64, (i64, i64)> = HashMap::new();
    for r in &reported {
        let (p, d, n) = (int(r, 0)?, int(r, 1)?, int(r, 2)?.max(0).unsigned_abs());
        let e = out.entry((p, d)).or_default();
        let events = e.0 > 0;
        if own.contains(&(p, d)) {
            if !events {
                e.1 = n;
            }
            continue;
        }
        e.1 = n;
        if events {
            let w = detail.entry(p).or_insert((d, d));
            w.0 = w.0.min(d);
            w.1 = w.1.max(d);
        }
    }
    for (p, (a, b)) in detail {
        for (_, d, n) in overlapped(store, metric, (p * P, (p + 1) * P), a, b)? {
            if let Some(e) = out.get_mut(&(p, d)) {
                e.1 = e.1.saturating_sub(n);
            }
        }
    }
    Ok(out)
}
