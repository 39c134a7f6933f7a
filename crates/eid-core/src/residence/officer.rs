//! The police side: the queue of the communes an officer sees, assignment, questions, decisions,
//! and the operations figures per commune. Commune officers act on their own commune's requests;
//! district, province and ministry accounts read the requests of their sub-units; auditors see
//! none. Every act is audited with the request's id as target.

use std::collections::BTreeMap;

use eid_domain::{Absence, Person, Residence, Residency, UnitCode};
use time::Date;

use super::calendar;
use super::requests::{
    self, add_step, load, notify, request_from, steps, vn_day, Request, State, Step, COLUMNS,
};
use super::rules::{self, Procedure};
use crate::clock::vietnam;
use crate::error::Error;
use crate::sql;
use crate::store::{path_range, to_ms, Role, Store, StoreError};
use crate::{Acting, Caller};
use eid_store::residency;

/// Which requests a queue lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Filter {
    Open,
    Overdue,
    Closed,
    All,
}

impl Filter {
    pub fn parse(s: &str) -> Filter {
        match s {
            "overdue" => Filter::Overdue,
            "closed" => Filter::Closed,
            "all" => Filter::All,
            _ => Filter::Open,
        }
    }
    pub fn as_str(self) -> &'static str {
        match self {
            Filter::Open => "open",
            Filter::Overdue => "overdue",
            Filter::Closed => "closed",
            Filter::All => "all",
        }
    }
}

fn range(caller: &Caller) -> Result<(i64, i64), Error> {
    caller.not_auditor()?;
    path_range(&caller.unit()).ok_or(Error::ScopeDenied)
}

/// The requests in the caller's units, oldest due first (at most 500).
pub fn queue(
    store: &dyn Store,
    caller: &Caller,
    filter: Filter,
    today: Date,
) -> Result<Vec<Request>, Error> {
    let (lo, hi) = range(caller)?;
    let states = match filter {
        Filter::Open | Filter::Overdue => "('submitted', 'assigned', 'more_info')",
        Filter::Closed => "('approved', 'refused')",
        Filter::All => "('submitted', 'assigned', 'more_info', 'approved', 'refused')",
    };
    let rows = sql::read(store.db(), |tx| {
        tx.query(
            &format!(
                "SELECT {COLUMNS} FROM res_request WHERE res_path BETWEEN $1 AND $2 \
                 AND state IN {states} ORDER BY due_date, id LIMIT 500"
            ),
            &[lo.into(), hi.into()],
        )
    })?;
    let mut out: Vec<Request> = rows.iter().map(request_from).collect::<Result<_, _>>()?;
    if filter == Filter::Overdue {
        out.retain(|r| r.clock(today).overdue);
    }
    Ok(out)
}

/// One request with its steps, if it lies in the caller's units (`ScopeDenied` otherwise).
pub fn one_as(store: &dyn Store, caller: &Caller, id: i64) -> Result<(Request, Vec<Step>), Error> {
    caller.not_auditor()?;
    let found = sql::read(store.db(), |tx| {
        let Some(r) = load(tx, id)? else {
            return Ok(None);
        };
        let s = steps(tx, id)?;
        Ok::<_, StoreError>(Some((r, s)))
    })?;
    let (r, s) = found.ok_or_else(requests::not_found)?;
    if !caller.sees(&r.commune) {
        return Err(Error::ScopeDenied);
    }
    Ok((r, s))
}

/// A file of a request in the caller's units: (name, mime, bytes).
pub fn file_as(
    store: &dyn Store,
    caller: &Caller,
    id: i64,
    file: i64,
) -> Result<(String, String, Vec<u8>), Error> {
    one_as(store, caller, id)?;
    requests::file_bytes(store, id, file)?.ok_or_else(requests::not_found)
}

/// Who may act: a commune officer of the request's commune.
fn may_act(caller: &Caller, r: &Request) -> Result<(), Error> {
    caller.not_auditor()?;
    if caller.role() != Role::Commune || !caller.sees(&r.commune) {
        return Err(Error::ScopeDenied);
    }
    Ok(())
}

fn closed() -> Error {
    Error::Conflict {
        code: "residence.closed",
        message: "this request has been decided already".into(),
    }
}

/// Loads an open request the caller may act on.
fn actionable(store: &dyn Store, caller: &Caller, id: i64) -> Result<Request, Error> {
    let r = sql::read(store.db(), |tx| load(tx, id))?.ok_or_else(requests::not_found)?;
    may_act(caller, &r)?;
    if !r.state.is_open() {
        return Err(closed());
    }
    Ok(r)
}

/// Assigns a request to an officer of its commune (`username`, or the caller when empty).
/// Refused: an officer unknown, disabled or of another unit (`residence.bad_assignee`).
/// Audited as `residence.assign`.
pub fn assign(store: &dyn Store, acting: &Acting, id: i64, username: &str) -> Result<(), Error> {
    let done = (|| {
        let r = actionable(store, &acting.caller, id)?;
        let to = if username.trim().is_empty() {
            acting.caller.staff.clone()
        } else {
            store
                .staff_by_username(username.trim())?
                .map(|(s, _)| s)
                .ok_or_else(|| Error::bad("residence.bad_assignee", "no such officer"))?
        };
        if to.disabled || to.role != Role::Commune || !to.sees(&r.commune) {
            return Err(Error::bad(
                "residence.bad_assignee",
                "the officer must be of the request's commune",
            ));
        }
        let actor = acting.actor().to_db();
        sql::transact(store.db(), |tx| {
            let next = if r.state == State::MoreInfo {
                "more_info"
            } else {
                "assigned"
            };
            let n = tx.exec(
                "UPDATE res_request SET assignee = $1, state = $2 WHERE id = $3 \
                 AND state IN ('submitted', 'assigned', 'more_info')",
                &[to.id.into(), next.into(), id.into()],
            )?;
            if n != 1 {
                return Err(closed());
            }
            add_step(
                tx,
                id,
                "assigned",
                &actor,
                &to.display_name,
                &[],
                acting.now,
            )?;
            Ok(())
        })
    })();
    acting.audited(store, "residence.assign", &id.to_string(), done)
}

/// Asks the citizen for more (what is missing, in words); the citizen sees the question and is
/// told by SMS. Audited as `residence.ask`.
pub fn ask(store: &dyn Store, acting: &Acting, id: i64, question: &str) -> Result<(), Error> {
    let done = (|| {
        let q = rules::check_note("residence.bad_note", question)?.to_owned();
        let r = actionable(store, &acting.caller, id)?;
        let actor = acting.actor().to_db();
        sql::transact(store.db(), |tx| {
            let n = tx.exec(
                "UPDATE res_request SET state = 'more_info', asked = $1, \
                 assignee = COALESCE(assignee, $2) \
                 WHERE id = $3 AND state IN ('submitted', 'assigned')",
                &[q.as_str().into(), acting.caller.staff.id.into(), id.into()],
            )?;
            if n != 1 {
                return Err(Error::Conflict {
                    code: "residence.not_askable",
                    message: "this request is waiting for the citizen or decided".into(),
                });
            }
            add_step(tx, id, "asked", &actor, &q, &[], acting.now)?;
            notify(tx, &r.personal_id, id, "can bo sung giay to", acting.now)?;
            Ok(())
        })
    })();
    acting.audited(store, "residence.ask", &id.to_string(), done)
}

/// The register record and its residence fields after approving `r` on `today`: a temporary
/// residence with its term's end; a renewal moves the end; a permanent residence replaces the
/// old one (and ends a temporary residence in the same commune); a temporary absence from the
/// filing day to the request's end date, with its destination; a split gives the applicant a
/// new household (and [`approve`] the members named with them); a deregistration ends the temporary residence and its term.
pub fn applied(r: &Request, person: &Person, res: &Residency) -> (Person, Residency) {
    let mut next = person.clone();
    let mut nres = res.clone();
    match r.procedure {
        Procedure::Temporary => {
            next.temporary = Some(Residence {
                unit: r.commune,
                address: r.address.clone(),
            });
            nres.temp_until = r.until;
        }
        Procedure::Renewal => nres.temp_until = r.until.or(nres.temp_until),
        Procedure::Permanent => {
            next.residence = Residence {
                unit: r.commune,
                address: r.address.clone(),
            };
            if next.temporary.as_ref().is_some_and(|t| t.unit == r.commune) {
                next.temporary = None;
            }
        }
        Procedure::Split => next.household = Some(format!("HH-R{}", r.id)),
        Procedure::Deregister => next.temporary = None,
        Procedure::Absence => {
            if let Some(to) = r.until {
                let destination = if r.address == person.residence.address {
                    String::new()
                } else {
                    r.address.clone()
                };
                nres.absence = Some(Absence {
                    from: r.submitted_at.to_offset(vietnam()).date(),
                    to,
                    destination,
                });
            }
        }
    }
    if next.temporary.is_none() {
        nres.temp_until = None;
    }
    (next, nres)
}

/// The reason written on the register's event for an approval.
pub fn event_reason(id: i64) -> String {
    format!("Hồ sơ cư trú số {id}")
}

/// Approves a request: the register changes in the same transaction as the request, through the
/// register's writer (an `updated` event with the officer as actor and the request as reason),
/// never by hand. Refused: someone not a commune officer of the request's commune
/// (`ScopeDenied`), a decided request or one waiting for the citizen (`Conflict`), a change the
/// register refuses (`Bad`). Audited as `residence.approve`.
pub fn approve(store: &dyn Store, acting: &Acting, id: i64) -> Result<(), Error> {
    let done = (|| {
        let r = actionable(store, &acting.caller, id)?;
        if r.state == State::MoreInfo {
            return Err(Error::Conflict {
                code: "residence.waiting",
                message: "the citizen has not answered yet".into(),
            });
        }
        let pid = eid_domain::PersonalId::parse(&r.personal_id).map_err(|_| {
            Error::Store(StoreError::Corrupt("res_request: bad personal ID".into()))
        })?;
        let reason = event_reason(id);
        let mut w = store.writer(acting.actor(), &reason, acting.now)?;
        let current = w.current(&pid)?.ok_or_else(|| {
            Error::not_found("person.not_found", "no person has this personal ID")
        })?;
        let before = {
            let mut tx = w.tx()?;
            residency::load(&mut *tx, &pid)?
        };
        let today = acting.now.to_offset(vietnam()).date();
        let (next, next_res) = applied(&r, &current.person, &before);
        next.check(today)
            .and_then(|()| next_res.check(next.temporary.is_some(), today))
            .map_err(|e| Error::bad("person.invalid_record", format!("{}: {e}", e.field())))?;
        let mut changed = next != current.person;
        if changed {
            w.put(&next)?;
        }
        // A split moves the members named with the applicant, those still of the old household.
        if r.procedure == Procedure::Split {
            for m in &r.members {
                let Ok(mid) = eid_domain::PersonalId::parse(m) else {
                    continue;
                };
                let Some(cur) = w.current(&mid)? else {
                    continue;
                };
                if cur.person.household.is_some()
                    && cur.person.household == current.person.household
                {
                    let mut moved = cur.person.clone();
                    moved.household = next.household.clone();
                    w.put(&moved)?;
                    changed = true;
                }
            }
        }
        {
            let mut tx = w.tx()?;
            changed |= residency::write(
                &mut *tx,
                &pid,
                acting.actor(),
                &reason,
                acting.now,
                &next_res,
            )?;
        }
        let outcome = if changed {
            "register updated"
        } else {
            "recorded"
        };
        {
            let mut tx = w.tx()?;
            let n = tx.exec(
                "UPDATE res_request SET state = 'approved', open_key = NULL, decided_at = $1, \
                 decided_by = $2, outcome = $3 WHERE id = $4 AND state IN ('submitted', 'assigned')",
                &[
                    to_ms(acting.now).into(),
                    acting.caller.staff.id.into(),
                    outcome.into(),
                    id.into(),
                ],
            )?;
            if n != 1 {
                return Err(closed());
            }
            add_step(
                &mut *tx,
                id,
                "approved",
                &acting.actor().to_db(),
                outcome,
                &[],
                acting.now,
            )?;
            notify(
                &mut *tx,
                &r.personal_id,
                id,
                "da duoc phe duyet",
                acting.now,
            )?;
        }
        w.commit()?;
        Ok(())
    })();
    acting.audited(store, "residence.approve", &id.to_string(), done)
}

/// Refuses a request with a reason the citizen reads. Audited as `residence.refuse`.
pub fn refuse(store: &dyn Store, acting: &Acting, id: i64, reason: &str) -> Result<(), Error> {
    let done = (|| {
        let why = rules::check_note("residence.reason_required", reason)?.to_owned();
        let r = actionable(store, &acting.caller, id)?;
        sql::transact(store.db(), |tx| {
            let n = tx.exec(
                "UPDATE res_request SET state = 'refused', open_key = NULL, decided_at = $1, \
                 decided_by = $2, outcome = $3 \
                 WHERE id = $4 AND state IN ('submitted', 'assigned', 'more_info')",
                &[
                    to_ms(acting.now).into(),
                    acting.caller.staff.id.into(),
                    why.as_str().into(),
                    id.into(),
                ],
            )?;
            if n != 1 {
                return Err(closed());
            }
            add_step(
                tx,
                id,
                "refused",
                &acting.actor().to_db(),
                &why,
                &[],
                acting.now,
            )?;
            notify(tx, &r.personal_id, id, "bi tu choi, xem ly do", acting.now)?;
            Ok(())
        })
    })();
    acting.audited(store, "residence.refuse", &id.to_string(), done)
}

/// The operations figures of one commune.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CommuneFigures {
    pub commune: Option<UnitCode>,
    pub open: u64,
    pub overdue: u64,
    pub approved: u64,
    pub refused: u64,
    /// Decided within the legal time.
    pub on_time: u64,
    /// Mean working days taken by decided requests.
    pub mean_days: Option<f64>,
    /// Mean legal limit of the decided requests.
    pub mean_limit: Option<f64>,
}

impl CommuneFigures {
    fn add(&mut self, r: &Request, today: Date, sums: &mut (f64, f64, u64)) {
        if r.state.is_open() {
            self.open += 1;
            if r.clock(today).overdue {
                self.overdue += 1;
            }
        } else {
            if r.state == State::Approved {
                self.approved += 1;
            } else {
                self.refused += 1;
            }
            if !r.clock(today).overdue {
                self.on_time += 1;
            }
            if let Some(t) = r.took() {
                sums.0 += t as f64;
                sums.1 += f64::from(r.legal_days);
                sums.2 += 1;
            }
        }
    }
}

/// Requests per commune in the caller's units (and their total, `commune: None`): open,
/// overdue, decided, decided on time, mean working days taken against the mean legal limit.
pub fn figures(
    store: &dyn Store,
    caller: &Caller,
    today: Date,
) -> Result<(Vec<CommuneFigures>, CommuneFigures), Error> {
    let (lo, hi) = range(caller)?;
    let rows = sql::read(store.db(), |tx| {
        tx.query(
            &format!("SELECT {COLUMNS} FROM res_request WHERE res_path BETWEEN $1 AND $2"),
            &[lo.into(), hi.into()],
        )
    })?;
    let mut per: BTreeMap<String, (CommuneFigures, (f64, f64, u64))> = BTreeMap::new();
    let mut total = (CommuneFigures::default(), (0.0, 0.0, 0));
    for row in &rows {
        let r = request_from(row)?;
        let e = per.entry(r.commune.as_str().to_owned()).or_insert_with(|| {
            (
                CommuneFigures {
                    commune: Some(r.commune),
                    ..CommuneFigures::default()
                },
                (0.0, 0.0, 0),
            )
        });
        e.0.add(&r, today, &mut e.1);
        total.0.add(&r, today, &mut total.1);
    }
    let finish = |(mut f, (d, l, n)): (CommuneFigures, (f64, f64, u64))| {
        if n > 0 {
            f.mean_days = Some(d / n as f64);
            f.mean_limit = Some(l / n as f64);
        }
        f
    };
    Ok((per.into_values().map(finish).collect(), finish(total)))
}

/// The due date as dd/mm/yyyy.
pub fn due_text(r: &Request) -> String {
    vn_day(r.due)
}

/// The legal working days and the calendar's end, for pages that explain the clock.
pub fn calendar_years() -> (i32, i32) {
    (calendar::FIRST_YEAR, calendar::LAST_YEAR)
}
