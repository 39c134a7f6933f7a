//! The use cases of reported figures, with their scope rules: an officer of the level above
//! (as for quotas: [`super::service::may_set_quota`]) enters, imports and corrects the daily
//! figures of units inside theirs; anyone who sees a unit (not an auditor) reads its figures
//! and their history. Re-exported by [`super::service`].

use std::collections::HashMap;

use eid_domain::{Metric, Tree, UnitCode, Units};
use sha2::{Digest, Sha256};
use time::Date;

use super::service::{check_day, may_set_quota};
use super::{
    put_figure, read_file, BadRow, FigureFilter, OpsError, Provenance, Put, ReportedFigure,
    ReportedVersion, MAX_SOURCE,
};
use crate::clock::vietnam;
use crate::sql;
use crate::store::StoreError;
use crate::{Acting, Caller, Error, Store};

/// Who may report a unit's figures: the level above it, as for its quotas (see
/// [`may_set_quota`]); never the nation's own.
pub fn may_report(caller: &Caller, unit: &UnitCode) -> bool {
    unit.level() != eid_domain::Level::Nation && may_set_quota(caller, unit)
}

/// Who may read a unit's figures: a caller whose unit contains it.
fn may_read(caller: &Caller, unit: &UnitCode) -> bool {
    caller.role() != crate::store::Role::Auditor
        && Units::get().contains(Tree::Gso2024, &caller.unit(), unit)
}

fn today(acting: &Acting) -> Date {
    acting.now.to_offset(vietnam()).date()
}

/// A reported day: from the first operations day to today (no figure for a day to come).
fn check_reported_day(day: Date, today: Date) -> Result<Date, Error> {
    check_day(day, "day")?;
    if day > today {
        return Err(Error::bad(
            "reported.future",
            "a figure is reported for today or a day before",
        ));
    }
    Ok(day)
}

fn clean_source(s: &str) -> String {
    s.trim().chars().take(MAX_SOURCE).collect()
}

/// A figure entered by hand.
#[derive(Debug, Clone)]
pub struct FigureIn {
    pub unit: UnitCode,
    pub metric: Metric,
    pub day: Date,
    pub count: u64,
    /// How it arrived ("điện thoại", "Zalo UBND xã …").
    pub source: String,
    /// Required when the figure exists and changes.
    pub reason: String,
}

/// Enters (or corrects, with a reason) one figure. Audited as `reported.enter` on the unit.
pub fn enter_figure(
    store: &dyn Store,
    acting: &Acting,
    f: &FigureIn,
) -> Result<(ReportedFigure, Put), Error> {
    const ACTION: &str = "reported.enter";
    if !may_report(&acting.caller, &f.unit) {
        acting.audit(store, ACTION, f.unit.as_str(), "denied")?;
        return Err(Error::ScopeDenied);
    }
    check_reported_day(f.day, today(acting))?;
    if f.source.trim().is_empty() {
        return Err(Error::bad(
            "reported.source",
            "say where the figure comes from (phone, Zalo, a spreadsheet …)",
        ));
    }
    let prov = Provenance {
        source: clean_source(&f.source),
        reason: f.reason.trim().to_owned(),
        ..Provenance::default()
    };
    let r = sql::transact(store.db(), |tx| {
        put_figure(
            tx,
            (&f.unit, f.metric, f.day),
            f.count,
            &prov,
            acting.actor(),
            acting.now,
        )
    })
    .and_then(|put| {
        let fig = super::figures(
            store,
            &FigureFilter {
                within: f.unit,
                metric: Some(f.metric),
                from: f.day,
                to: f.day,
                limit: 1000,
            },
        )?
        .into_iter()
        .find(|x| x.unit == f.unit)
        .ok_or(OpsError::NotFound("reported.not_found"))?;
        Ok((fig, put))
    });
    acting.audited(store, ACTION, f.unit.as_str(), r)
}

/// Corrects a figure by id: a new count and the reason; every version is kept. Audited as
/// `reported.correct` on the figure's id.
pub fn correct_figure(
    store: &dyn Store,
    acting: &Acting,
    id: i64,
    count: u64,
    source: &str,
    reason: &str,
) -> Result<ReportedFigure, Error> {
    const ACTION: &str = "reported.correct";
    let target = id.to_string();
    let fig = super::figure(store, id)?
        .ok_or_else(|| Error::not_found("reported.not_found", "no reported figure has this id"))?;
    if !may_report(&acting.caller, &fig.unit) {
        acting.audit(store, ACTION, &target, "denied")?;
        return Err(Error::ScopeDenied);
    }
    if reason.trim().is_empty() {
        return Err(Error::bad(
            "reported.reason",
            "say why the figure is corrected",
        ));
    }
    let source = if source.trim().is_empty() {
        fig.latest.source.clone()
    } else {
        clean_source(source)
    };
    let prov = Provenance {
        source,
        reason: reason.trim().to_owned(),
        ..Provenance::default()
    };
    let r = sql::transact(store.db(), |tx| {
        put_figure(
            tx,
            (&fig.unit, fig.metric, fig.day),
            count,
            &prov,
            acting.actor(),
            acting.now,
        )
    })
    .and_then(|_| super::figure(store, id)?.ok_or(OpsError::NotFound("reported.not_found")));
    acting.audited(store, ACTION, &target, r)
}

/// What an import did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportReport {
    /// The file's SHA-256, hex.
    pub sha256: String,
    /// Rows read (the header not counted).
    pub rows: usize,
    /// Whether anything was written: false when some row was bad and the officer did not choose
    /// to skip bad rows (then nothing is).
    pub applied: bool,
    pub created: usize,
    pub corrected: usize,
    pub unchanged: usize,
    /// The rows not applied, by line, with the reason.
    pub bad: Vec<BadRow>,
}

/// How to import.
#[derive(Debug, Clone, Default)]
pub struct ImportIn {
    pub file_name: String,
    /// The source of rows whose own `source` cell is empty.
    pub source: String,
    /// The reason of the corrections the file makes (rows that change an existing figure are
    /// bad without one).
    pub reason: String,
    /// Apply the good rows and report the bad ones; without it a file with any bad row writes
    /// nothing.
    pub skip_bad: bool,
}

enum Abort {
    Bad,
    Store(StoreError),
}

impl From<StoreError> for Abort {
    fn from(e: StoreError) -> Abort {
        Abort::Store(e)
    }
}

/// Imports a CSV or XLSX file of daily figures (see [`super::REPORTED_HEADER`]) in one
/// transaction: every row is checked (unit in the caller's scope, day, metric, count, nesting,
/// a reason for a correction, a unit-day repeated in the file), and without `skip_bad` a file
/// with any bad row writes nothing. Audited as `reported.import` on the file's SHA-256.
pub fn import_figures(
    store: &dyn Store,
    acting: &Acting,
    bytes: &[u8],
    how: &ImportIn,
) -> Result<ImportReport, Error> {
    const ACTION: &str = "reported.import";
    acting.caller.not_auditor().or_else(|e| {
        acting.audit(store, ACTION, "-", "denied")?;
        Err(e)
    })?;
    let caller = &acting.caller;
    let r = import_as(
        store,
        acting.actor(),
        acting.now,
        &|u: &UnitCode| may_report(caller, u),
        bytes,
        how,
    );
    let target = match &r {
        Ok(rep) => rep.sha256.clone(),
        Err(_) => sha256_hex(bytes),
    };
    acting.audited(store, ACTION, &target, r)
}

fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The import itself, for `actor` at `now`, with `may` saying which units' figures it may
/// write (a row of another unit is a bad row). [`import_figures`] calls it for a caller; the
/// demo for its ministry, with the same checks and the same transaction. Not audited.
pub fn import_as(
    store: &dyn Store,
    actor: &crate::Actor,
    now: time::OffsetDateTime,
    may: &dyn Fn(&UnitCode) -> bool,
    bytes: &[u8],
    how: &ImportIn,
) -> Result<ImportReport, Error> {
    let sha256 = sha256_hex(bytes);
    let (rows, mut bad) = read_file(bytes).map_err(|why| Error::bad("reported.file", why))?;
    let today = now.to_offset(vietnam()).date();
    let file_name: String = how.file_name.trim().chars().take(200).collect();
    let default_source = clean_source(&how.source);
    let mut report = ImportReport {
        sha256: sha256.clone(),
        rows: rows.len() + bad.len(),
        applied: false,
        created: 0,
        corrected: 0,
        unchanged: 0,
        bad: Vec::new(),
    };
    let result = sql::transact(store.db(), |tx| {
        let mut seen: HashMap<(UnitCode, Metric, Date), u64> = HashMap::new();
        let (mut created, mut corrected, mut unchanged) = (0, 0, 0);
        let mut row_bad: Vec<BadRow> = Vec::new();
        for r in &rows {
            let mut fail = |reason: String| {
                row_bad.push(BadRow {
                    line: r.line,
                    reason,
                })
            };
            if !may(&r.unit) {
                fail(format!(
                    "unit: {} is not a unit below yours",
                    r.unit.as_str()
                ));
                continue;
            }
            if let Err(e) = check_reported_day(r.day, today) {
                fail(format!("day: {e}"));
                continue;
            }
            if let Some(first) = seen.insert((r.unit, r.metric, r.day), r.line) {
                fail(format!("the same unit, day and metric as line {first}"));
                continue;
            }
            let source = if r.source.is_empty() {
                default_source.clone()
            } else {
                r.source.clone()
            };
            if source.is_empty() {
                fail(
                    "source: say where the figure comes from (or give the import a source)".into(),
                );
                continue;
            }
            let prov = Provenance {
                source,
                file_name: file_name.clone(),
                file_sha256: sha256.clone(),
                reason: how.reason.trim().to_owned(),
            };
            match put_figure(tx, (&r.unit, r.metric, r.day), r.count, &prov, actor, now) {
                Ok(Put::Created) => created += 1,
                Ok(Put::Corrected) => corrected += 1,
                Ok(Put::Unchanged) => unchanged += 1,
                Err(OpsError::Store(e)) => return Err(Abort::Store(e)),
                Err(e) => fail(e.to_string()),
            }
        }
        bad.append(&mut row_bad);
        bad.sort_by_key(|b| b.line);
        report.created = created;
        report.corrected = corrected;
        report.unchanged = unchanged;
        if !bad.is_empty() && !how.skip_bad {
            return Err(Abort::Bad);
        }
        Ok(())
    });
    report.bad = bad;
    match result {
        Ok(()) => {
            report.applied = true;
            Ok(report)
        }
        Err(Abort::Bad) => {
            report.created = 0;
            report.corrected = 0;
            report.unchanged = 0;
            Ok(report)
        }
        Err(Abort::Store(e)) => Err(Error::from(e)),
    }
}

/// Reported figures of units inside `unit` (one the caller sees), with whether each counts.
pub fn list_figures(
    store: &dyn Store,
    caller: &Caller,
    unit: &UnitCode,
    metric: Option<Metric>,
    from: Date,
    to: Date,
) -> Result<Vec<ReportedFigure>, Error> {
    caller.not_auditor()?;
    if !may_read(caller, unit) {
        return Err(Error::ScopeDenied);
    }
    check_day(from, "from")?;
    check_day(to, "to")?;
    Ok(super::figures(
        store,
        &FigureFilter {
            within: *unit,
            metric,
            from,
            to,
            limit: 1000,
        },
    )?)
}

/// A figure the caller may read, with every version, oldest first.
pub fn figure_history(
    store: &dyn Store,
    caller: &Caller,
    id: i64,
) -> Result<(ReportedFigure, Vec<ReportedVersion>), Error> {
    caller.not_auditor()?;
    let fig = super::figure(store, id)?
        .ok_or_else(|| Error::not_found("reported.not_found", "no reported figure has this id"))?;
    if !may_read(caller, &fig.unit) {
        return Err(Error::ScopeDenied);
    }
    let versions = super::figure_history(store, id)?;
    Ok((fig, versions))
}
