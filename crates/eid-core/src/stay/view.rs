//! The use cases of stay notifications that read: the guest's own list, where a stay reveals a
//! person's data ([`data_uses`]), and the commune police's views of their unit — today's guests
//! per establishment, late notifications, counts per day and type, the search by person
//! (commune officers only, audited with its reason) and the report per establishment type.
//! Scope is the caller's unit subtree ([`Caller::within`](crate::Caller::within)); every read of
//! personal data is audited.

use std::collections::BTreeMap;

use eid_domain::{PersonalId, UnitCode};
use time::{Date, OffsetDateTime};

use super::{masked_name, Establishment, Kind, Rule, Via, DEADLINE};
use crate::sql::{self, SqlRow, Val};
use crate::store::{from_ms, path_range, to_ms, Role};
use crate::{Acting, Error, Store, StoreError};

fn g(r: &SqlRow, i: usize) -> Val {
    r.get(i).cloned().unwrap_or(Val::Null)
}

/// A stay as listed.
#[derive(Clone)]
pub struct StayRow {
    pub id: i64,
    pub establishment_id: i64,
    pub establishment: String,
    pub kind: Kind,
    pub commune: String,
    /// The guest's personal ID, or `P:<nationality>:<passport>` for a foreigner.
    pub guest_key: String,
    pub guest_name: Option<String>,
    pub arrival: OffsetDateTime,
    pub departure: OffsetDateTime,
    pub reason: String,
    pub deadline: Option<OffsetDateTime>,
    pub notified_at: OffsetDateTime,
    pub late: bool,
    pub rule: Rule,
    pub via: Via,
    pub notifier_pid: Option<String>,
    pub client_id: Option<String>,
}

impl std::fmt::Debug for StayRow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "StayRow({}, est {}, late {})",
            self.id, self.establishment_id, self.late
        )
    }
}

const STAY_COLS: &str = "s.id, s.establishment_id, e.name, s.kind, e.commune, s.guest_key, \
    s.guest_name, s.arrival, s.departure, s.reason, s.deadline, s.notified_at, s.late, s.rule, \
    s.via, s.notifier_pid, s.client_id";

fn stay_from(r: &SqlRow) -> Result<StayRow, StoreError> {
    let kind = g(r, 3).text()?;
    let rule = g(r, 13).text()?;
    let via = g(r, 14).text()?;
    let bad = |what: &str, v: &str| StoreError::Corrupt(format!("stay {what} {v}"));
    Ok(StayRow {
        id: g(r, 0).int()?,
        establishment_id: g(r, 1).int()?,
        establishment: g(r, 2).text()?,
        kind: Kind::parse(&kind).ok_or_else(|| bad("kind", &kind))?,
        commune: g(r, 4).text()?,
        guest_key: g(r, 5).text()?,
        guest_name: g(r, 6).opt_text()?,
        arrival: from_ms(g(r, 7).int()?),
        departure: from_ms(g(r, 8).int()?),
        reason: g(r, 9).text()?,
        deadline: g(r, 10).opt_int()?.map(from_ms),
        notified_at: from_ms(g(r, 11).int()?),
        late: g(r, 12).int()? != 0,
        rule: Rule::parse(&rule).ok_or_else(|| bad("rule", &rule))?,
        via: Via::parse(&via).ok_or_else(|| bad("via", &via))?,
        notifier_pid: g(r, 15).opt_text()?,
        client_id: g(r, 16).opt_text()?,
    })
}

/// A stay as its guest sees it: where, when, and who notified (masked).
#[derive(Clone)]
pub struct MyStay {
    pub stay: StayRow,
    /// The notifier's masked name ("N. T. Hoa"), or the establishment's system for the API and
    /// CSV.
    pub notified_by: String,
}

impl std::fmt::Debug for MyStay {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "MyStay({:?})", self.stay)
    }
}

fn notifier_label(store: &dyn Store, s: &StayRow) -> Result<String, StoreError> {
    match (&s.notifier_pid, s.via) {
        (Some(pid), _) => Ok(match PersonalId::parse(pid) {
            Ok(id) => store
                .person(&id)?
                .map(|p| masked_name(&p.person.name.full()))
                .unwrap_or_default(),
            Err(_) => String::new(),
        }),
        (None, _) => Ok(s.establishment.clone()),
    }
}

/// Every stay notified for the signed-in citizen, newest first, with who notified it.
pub fn my_stays(store: &dyn Store, personal_id: &str) -> Result<Vec<MyStay>, Error> {
    let rows = sql::read(store.db(), |tx| -> Result<Vec<StayRow>, StoreError> {
        let rows = tx.query(
            &format!(
                "SELECT {STAY_COLS} FROM stay s JOIN stay_establishment e ON e.id = s.establishment_id \
                 WHERE s.guest_pid = $1 ORDER BY s.arrival DESC LIMIT 500"
            ),
            &[personal_id.into()],
        )?;
        rows.iter().map(stay_from).collect()
    })?;
    let mut out = Vec::with_capacity(rows.len());
    for stay in rows {
        let notified_by = notifier_label(store, &stay)?;
        out.push(MyStay { stay, notified_by });
    }
    Ok(out)
}

/// Where a stay notification used a person's data: for the "who used my data" log. Each stay
/// of a citizen guest checked their personal ID, full name and date of birth against the
/// register on behalf of an establishment (the notifier, or its system).
#[derive(Clone)]
pub struct DataUse {
    pub personal_id: String,
    pub stay_id: i64,
    pub at: OffsetDateTime,
    pub establishment_id: i64,
    pub establishment: String,
    /// `web`, `self`, `csv` or `api`.
    pub via: Via,
    /// The API client, for `api`.
    pub client_id: Option<String>,
    /// What was checked against the register (never shown to the host).
    pub fields: &'static [&'static str],
}

impl std::fmt::Debug for DataUse {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "DataUse(stay {}, {:?})", self.stay_id, self.via)
    }
}

/// The fields a stay notification checks.
pub const CHECKED_FIELDS: &[&str] = &["personal_id", "full_name", "birth_date"];

/// Every use of `personal_id`'s data by stay notifications since `since`: the one place a stay
/// reveals a person's data.
pub fn data_uses(
    store: &dyn Store,
    personal_id: &str,
    since: OffsetDateTime,
) -> Result<Vec<DataUse>, Error> {
    let rows = sql::read(store.db(), |tx| -> Result<Vec<StayRow>, StoreError> {
        let rows = tx.query(
            &format!(
                "SELECT {STAY_COLS} FROM stay s JOIN stay_establishment e ON e.id = s.establishment_id \
                 WHERE s.guest_pid = $1 AND s.notified_at >= $2 ORDER BY s.notified_at"
            ),
            &[personal_id.into(), to_ms(since).into()],
        )?;
        rows.iter().map(stay_from).collect()
    })?;
    Ok(rows
        .into_iter()
        .map(|s| DataUse {
            personal_id: personal_id.to_owned(),
            stay_id: s.id,
            at: s.notified_at,
            establishment_id: s.establishment_id,
            establishment: s.establishment,
            via: s.via,
            client_id: s.client_id,
            fields: CHECKED_FIELDS,
        })
        .collect())
}

fn range_of(acting: &Acting, unit: Option<&str>) -> Result<(UnitCode, i64, i64), Error> {
    let unit = acting.caller.within(unit)?;
    let (lo, hi) = path_range(&unit).ok_or(Error::ScopeDenied)?;
    Ok((unit, lo, hi))
}

/// One establishment's guests on a day.
#[derive(Debug, Clone)]
pub struct EstablishmentDay {
    pub establishment: Establishment,
    pub guests: u64,
    pub late: u64,
}

/// The establishments of a unit with their guests present on `day` (arrived on or before, not
/// yet departed), most guests first. Audited `stay.today`.
pub fn today(
    store: &dyn Store,
    acting: &Acting,
    unit: Option<&str>,
    day: Date,
) -> Result<Vec<EstablishmentDay>, Error> {
    let run = || -> Result<Vec<EstablishmentDay>, Error> {
        let (_, lo, hi) = range_of(acting, unit)?;
        let (start, end) = day_bounds(day);
        sql::read(store.db(), |tx| {
            let rows = tx.query(
                "SELECT e.id, e.kind, e.name, e.address, e.commune, e.relatives_once, e.created_at, \
                 count(s.id), count(CASE WHEN s.late = 1 THEN 1 END) FROM stay_establishment e \
                 LEFT JOIN stay s ON s.establishment_id = e.id AND s.arrival < $3 AND s.departure >= $4 \
                 WHERE e.unit_path >= $1 AND e.unit_path < $2 \
                 GROUP BY e.id, e.kind, e.name, e.address, e.commune, e.relatives_once, e.created_at \
                 ORDER BY count(s.id) DESC, e.name LIMIT 1000",
                &[lo.into(), hi.into(), to_ms(end).into(), to_ms(start).into()],
            )?;
            let mut out = Vec::with_capacity(rows.len());
            for r in &rows {
                out.push(EstablishmentDay {
                    establishment: super::service::est_from(r)?,
                    guests: g(r, 7).int()?.max(0) as u64,
                    late: g(r, 8).int()?.max(0) as u64,
                });
            }
            Ok(out)
        })
    };
    let target = unit.unwrap_or("").to_owned();
    acting.audited(store, "stay.today", &target, run())
}

/// The start and end of a day in Vietnam time.
pub fn day_bounds(day: Date) -> (OffsetDateTime, OffsetDateTime) {
    let off =
        time::UtcOffset::from_hms(DEADLINE.utc_offset_hours, 0, 0).unwrap_or(time::UtcOffset::UTC);
    let start = day.midnight().assume_offset(off);
    (start, start + time::Duration::days(1))
}

/// The guests present at one establishment on `day`. Audited `stay.guests` (personal data).
pub fn guests(
    store: &dyn Store,
    acting: &Acting,
    establishment_id: i64,
    day: Date,
) -> Result<(Establishment, Vec<StayRow>), Error> {
    let run = || -> Result<(Establishment, Vec<StayRow>), Error> {
        acting.caller.not_auditor()?;
        let e = super::service::establishment(store, establishment_id)?;
        if !acting.caller.sees(&e.commune) {
            return Err(Error::ScopeDenied);
        }
        let (start, end) = day_bounds(day);
        let rows = sql::read(store.db(), |tx| -> Result<Vec<StayRow>, StoreError> {
            let rows = tx.query(
                &format!(
                    "SELECT {STAY_COLS} FROM stay s JOIN stay_establishment e ON e.id = s.establishment_id \
                     WHERE s.establishment_id = $1 AND s.arrival < $2 AND s.departure >= $3 \
                     ORDER BY s.arrival LIMIT 2000"
                ),
                &[establishment_id.into(), to_ms(end).into(), to_ms(start).into()],
            )?;
            rows.iter().map(stay_from).collect()
        })?;
        Ok((e, rows))
    };
    acting.audited(store, "stay.guests", &establishment_id.to_string(), run())
}

/// Late notifications of a unit whose stays arrived between `from` and `to` (days, inclusive),
/// newest first. Audited `stay.late`.
pub fn late(
    store: &dyn Store,
    acting: &Acting,
    unit: Option<&str>,
    from: Date,
    to: Date,
) -> Result<Vec<StayRow>, Error> {
    let run = || -> Result<Vec<StayRow>, Error> {
        let (_, lo, hi) = range_of(acting, unit)?;
        sql::read(store.db(), |tx| -> Result<Vec<StayRow>, Error> {
            let rows = tx.query(
                &format!(
                    "SELECT {STAY_COLS} FROM stay s JOIN stay_establishment e ON e.id = s.establishment_id \
                     WHERE s.unit_path >= $1 AND s.unit_path < $2 AND s.day >= $3 AND s.day <= $4 \
                     AND s.late = 1 ORDER BY s.arrival DESC LIMIT 1000"
                ),
                &[
                    lo.into(),
                    hi.into(),
                    eid_domain::iso(from).into(),
                    eid_domain::iso(to).into(),
                ],
            )?;
            Ok(rows.iter().map(stay_from).collect::<Result<_, _>>()?)
        })
    };
    let target = unit.unwrap_or("").to_owned();
    acting.audited(store, "stay.late", &target, run())
}

/// Stays of one day and establishment type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DayCount {
    pub day: String,
    pub kind: Kind,
    pub stays: u64,
    pub late: u64,
}

/// Stays per day and establishment type in a unit between `from` and `to` (inclusive).
pub fn counts(
    store: &dyn Store,
    acting: &Acting,
    unit: Option<&str>,
    from: Date,
    to: Date,
) -> Result<Vec<DayCount>, Error> {
    let (_, lo, hi) = range_of(acting, unit)?;
    sql::read(store.db(), |tx| -> Result<Vec<DayCount>, Error> {
        let rows = tx.query(
            "SELECT day, kind, count(*), count(CASE WHEN late = 1 THEN 1 END) FROM stay \
             WHERE unit_path >= $1 AND unit_path < $2 AND day >= $3 AND day <= $4 \
             GROUP BY day, kind ORDER BY day, kind",
            &[
                lo.into(),
                hi.into(),
                eid_domain::iso(from).into(),
                eid_domain::iso(to).into(),
            ],
        )?;
        let mut out = Vec::with_capacity(rows.len());
        for r in &rows {
            let kind = g(r, 1).text()?;
            out.push(DayCount {
                day: g(r, 0).text()?,
                kind: Kind::parse(&kind)
                    .ok_or_else(|| StoreError::Corrupt(format!("stay kind {kind}")))?,
                stays: g(r, 2).int()?.max(0) as u64,
                late: g(r, 3).int()?.max(0) as u64,
            });
        }
        Ok(out)
    })
}

/// The report per establishment type: stays, late ones and establishments, for the unit and
/// period (every type listed, zeros included).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KindReport {
    pub kind: Kind,
    pub establishments: u64,
    pub stays: u64,
    pub late: u64,
}

pub fn report(
    store: &dyn Store,
    acting: &Acting,
    unit: Option<&str>,
    from: Date,
    to: Date,
) -> Result<Vec<KindReport>, Error> {
    let per_day = counts(store, acting, unit, from, to)?;
    let (_, lo, hi) = range_of(acting, unit)?;
    let ests = sql::read(store.db(), |tx| -> Result<Vec<(String, i64)>, StoreError> {
        let rows = tx.query(
            "SELECT kind, count(*) FROM stay_establishment WHERE unit_path >= $1 AND unit_path < $2 \
             GROUP BY kind",
            &[lo.into(), hi.into()],
        )?;
        rows.iter()
            .map(|r| Ok((g(r, 0).text()?, g(r, 1).int()?)))
            .collect()
    })?;
    let mut by: BTreeMap<&'static str, KindReport> = Kind::ALL
        .iter()
        .map(|k| {
            (
                k.as_str(),
                KindReport {
                    kind: *k,
                    establishments: 0,
                    stays: 0,
                    late: 0,
                },
            )
        })
        .collect();
    for (k, n) in ests {
        if let Some(r) = Kind::parse(&k).and_then(|k| by.get_mut(k.as_str())) {
            r.establishments = n.max(0) as u64;
        }
    }
    for c in per_day {
        if let Some(r) = by.get_mut(c.kind.as_str()) {
            r.stays += c.stays;
            r.late += c.late;
        }
    }
    Ok(Kind::ALL
        .iter()
        .filter_map(|k| by.remove(k.as_str()))
        .collect())
}

/// Searches the stays of one person in the caller's unit. Commune officers of the unit only;
/// the reason is required and kept with the audit line of the same request.
pub fn search(
    store: &dyn Store,
    acting: &Acting,
    personal_id: &str,
    reason: &str,
) -> Result<Vec<StayRow>, Error> {
    let id = PersonalId::parse(personal_id.trim())
        .map_err(|e| Error::bad("person.bad_id", format!("invalid personal ID: {e}")));
    let target = id
        .as_ref()
        .map(|i| i.as_str().to_owned())
        .unwrap_or_default();
    let run = || -> Result<Vec<StayRow>, Error> {
        if acting.caller.role() != Role::Commune {
            return Err(Error::ScopeDenied);
        }
        let id = id?;
        let reason = reason.trim();
        if reason.chars().count() < 5 || reason.chars().count() > 300 {
            return Err(Error::bad(
                "stay.search_reason",
                "give the reason for the search (5 to 300 characters)",
            ));
        }
        let (lo, hi) = path_range(&acting.caller.unit()).ok_or(Error::ScopeDenied)?;
        sql::transact(store.db(), |tx| -> Result<Vec<StayRow>, Error> {
            tx.exec(
                "INSERT INTO stay_search (staff, personal_id, reason, request_id, at) \
                 VALUES ($1, $2, $3, $4, $5)",
                &[
                    acting.actor().to_db().into(),
                    id.as_str().into(),
                    reason.into(),
                    acting.request_id.as_str().into(),
                    to_ms(acting.now).into(),
                ],
            )?;
            let rows = tx.query(
                &format!(
                    "SELECT {STAY_COLS} FROM stay s JOIN stay_establishment e ON e.id = s.establishment_id \
                     WHERE s.guest_pid = $1 AND s.unit_path >= $2 AND s.unit_path < $3 \
                     ORDER BY s.arrival DESC LIMIT 500"
                ),
                &[id.as_str().into(), lo.into(), hi.into()],
            )?;
            Ok(rows.iter().map(stay_from).collect::<Result<_, _>>()?)
        })
    };
    acting.audited(store, "stay.search", &target, run())
}

/// The reasons given for searches of a person (newest first), for the audit.
pub fn search_reasons(
    store: &dyn Store,
    request_id: &str,
) -> Result<Vec<(String, String)>, StoreError> {
    sql::read(store.db(), |tx| {
        let rows = tx.query(
            "SELECT personal_id, reason FROM stay_search WHERE request_id = $1",
            &[request_id.into()],
        )?;
        rows.iter()
            .map(|r| Ok((g(r, 0).text()?, g(r, 1).text()?)))
            .collect()
    })
}

/// The stays a citizen notified as a host (newest first, at most `limit`): what they typed,
/// the guest's name as they typed it is not kept, so only the guest's key and the outcome.
pub fn notified_by(
    store: &dyn Store,
    personal_id: &str,
    limit: u32,
) -> Result<Vec<StayRow>, Error> {
    sql::read(store.db(), |tx| -> Result<Vec<StayRow>, Error> {
        let rows = tx.query(
            &format!(
                "SELECT {STAY_COLS} FROM stay s JOIN stay_establishment e ON e.id = s.establishment_id \
                 WHERE s.notifier_pid = $1 AND s.via = 'web' ORDER BY s.notified_at DESC, s.id DESC LIMIT $2"
            ),
            &[personal_id.into(), i64::from(limit).into()],
        )?;
        Ok(rows.iter().map(stay_from).collect::<Result<_, _>>()?)
    })
}
