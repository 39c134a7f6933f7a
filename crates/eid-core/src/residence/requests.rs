//! Requests as the citizen files, answers and reads them, and their storage.

use eid_domain::{AccountLevel, PersonalId, Tree, UnitCode, Units};
use serde_json::json;
use time::{Date, OffsetDateTime};

use super::attach::Checked;
use super::calendar;
use super::rules::{self, Procedure};
use crate::account_key::{self, Key};
use crate::clock::vietnam;
use crate::error::Error;
use crate::outbox::queue_sms;
use crate::sql::{self, SqlRow, Tx, Val};
use crate::store::{from_ms, to_ms, unit_path, Rule, Store, StoreError};

/// Where a request stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    Submitted,
    Assigned,
    /// The officer asked for more; the citizen's answer resumes it.
    MoreInfo,
    Approved,
    Refused,
}

impl State {
    pub fn as_str(self) -> &'static str {
        match self {
            State::Submitted => "submitted",
            State::Assigned => "assigned",
            State::MoreInfo => "more_info",
            State::Approved => "approved",
            State::Refused => "refused",
        }
    }
    pub fn parse(s: &str) -> Result<State, StoreError> {
        Ok(match s {
            "submitted" => State::Submitted,
            "assigned" => State::Assigned,
            "more_info" => State::MoreInfo,
            "approved" => State::Approved,
            "refused" => State::Refused,
            _ => return Err(StoreError::Corrupt("unknown request state".into())),
        })
    }
    pub fn is_open(self) -> bool {
        !matches!(self, State::Approved | State::Refused)
    }
}

/// A request. Its `Debug` leaves out the personal ID, address and notes.
#[derive(Clone, PartialEq, Eq)]
pub struct Request {
    pub id: i64,
    pub personal_id: String,
    pub procedure: Procedure,
    /// The commune of the address the request is about (its police decide).
    pub commune: UnitCode,
    pub address: String,
    /// The end of the term (temporary residence, renewal) or of the absence.
    pub until: Option<Date>,
    /// What the citizen wrote.
    pub note: String,
    /// A split: the members who move with the applicant (personal IDs).
    pub members: Vec<String>,
    pub state: State,
    pub assignee: Option<i64>,
    pub legal_days: u32,
    pub fee_vnd: i64,
    pub submitted_at: OffsetDateTime,
    /// When the legal clock started (the filing, or the answer to the last question).
    pub clock_from: OffsetDateTime,
    pub due: Date,
    /// The officer's open question.
    pub asked: Option<String>,
    pub decided_at: Option<OffsetDateTime>,
    pub decided_by: Option<i64>,
    /// The refusal's reason, or what the approval changed.
    pub outcome: Option<String>,
}

impl std::fmt::Debug for Request {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Request")
            .field("id", &self.id)
            .field("procedure", &self.procedure)
            .field("commune", &self.commune.as_str())
            .field("state", &self.state)
            .field("due", &self.due)
            .finish_non_exhaustive()
    }
}

/// The legal clock of a request as of `today`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClockView {
    /// Working days used since the clock started.
    pub used: i64,
    /// Working days left to the due date (negative when overdue).
    pub left: i64,
    pub overdue: bool,
}

impl Request {
    /// The clock as of `today` (a closed request's clock stops at its decision).
    pub fn clock(&self, today: Date) -> ClockView {
        let start = self.clock_from.to_offset(vietnam()).date();
        let end = match self.decided_at {
            Some(d) => d.to_offset(vietnam()).date(),
            None => today,
        };
        let left = calendar::working_days_between(end, self.due);
        ClockView {
            used: calendar::working_days_between(start, end).max(0),
            left,
            overdue: left < 0,
        }
    }

    /// Working days the police took (closed requests), counted from the filing.
    pub fn took(&self) -> Option<i64> {
        let d = self.decided_at?;
        Some(calendar::working_days_between(
            self.submitted_at.to_offset(vietnam()).date(),
            d.to_offset(vietnam()).date(),
        ))
    }
}

/// One step of a request's history, with the files added at it.
#[derive(Clone, PartialEq, Eq)]
pub struct Step {
    pub id: i64,
    /// `submitted`, `assigned`, `asked`, `answered`, `approved`, `refused`.
    pub kind: String,
    /// `citizen` or `staff:N`.
    pub actor: String,
    pub body: String,
    pub at: OffsetDateTime,
    pub files: Vec<FileInfo>,
}

impl std::fmt::Debug for Step {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Step({}, {})", self.id, self.kind)
    }
}

/// An attachment as listed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileInfo {
    pub id: i64,
    pub sha256: String,
    pub name: String,
    pub mime: String,
    pub size: i64,
}

/// The citizen acting: their personal ID and the level of their session.
#[derive(Clone, PartialEq, Eq)]
pub struct Applicant {
    pub personal_id: PersonalId,
    pub level: AccountLevel,
}

impl std::fmt::Debug for Applicant {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Applicant({:?})", self.level)
    }
}

/// What the citizen fills in.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct NewRequest {
    pub procedure: String,
    /// The commune's code (temporary and permanent residence).
    pub commune: String,
    pub address: String,
    /// `yyyy-mm-dd` (temporary residence, renewal, absence).
    pub until: String,
    pub note: String,
    /// A household split: the personal IDs of the household's members who move with the
    /// applicant into the new household (separated by spaces or commas; may be empty).
    pub members: String,
}

/// The most members a split moves with the applicant.
pub const MAX_MEMBERS: usize = 20;

impl std::fmt::Debug for NewRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "NewRequest({})", self.procedure)
    }
}

pub(super) const COLUMNS: &str = "id, personal_id, procedure, commune, address, detail, state, \
     assignee, legal_days, fee_vnd, submitted_at, clock_from, due_date, asked, decided_at, \
     decided_by, outcome";

pub(super) fn request_from(r: &SqlRow) -> Result<Request, StoreError> {
    let g = |i: usize| r.get(i).cloned().unwrap_or(Val::Null);
    let bad = |what: &str| StoreError::Corrupt(format!("res_request: bad {what}"));
    let detail: serde_json::Value =
        serde_json::from_str(&g(5).text()?).map_err(|_| bad("detail"))?;
    let text = |k: &str| {
        detail
            .get(k)
            .and_then(|v| v.as_str())
            .unwrap_or_default()
            .to_owned()
    };
    Ok(Request {
        id: g(0).int()?,
        personal_id: g(1).text()?,
        procedure: Procedure::parse(&g(2).text()?).map_err(|_| bad("procedure"))?,
        commune: UnitCode::parse(&g(3).text()?).map_err(|_| bad("commune"))?,
        address: g(4).text()?,
        until: calendar::parse_date(&text("until")),
        note: text("note"),
        members: detail
            .get("members")
            .and_then(|v| v.as_array())
            .map(|a| {
                a.iter()
                    .filter_map(|m| m.as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default(),
        state: State::parse(&g(6).text()?)?,
        assignee: g(7).opt_int()?,
        legal_days: u32::try_from(g(8).int()?).unwrap_or(0),
        fee_vnd: g(9).int()?,
        submitted_at: from_ms(g(10).int()?),
        clock_from: from_ms(g(11).int()?),
        due: calendar::parse_date(&g(12).text()?).ok_or_else(|| bad("due date"))?,
        asked: g(13).opt_text()?,
        decided_at: g(14).opt_int()?.map(from_ms),
        decided_by: g(15).opt_int()?,
        outcome: g(16).opt_text()?,
    })
}

/// A request by id, as stored.
pub(super) fn load(tx: &mut dyn Tx, id: i64) -> Result<Option<Request>, StoreError> {
    tx.row(
        &format!("SELECT {COLUMNS} FROM res_request WHERE id = $1"),
        &[id.into()],
    )?
    .map(|r| request_from(&r))
    .transpose()
}

/// The steps of a request, oldest first, with their files.
pub(super) fn steps(tx: &mut dyn Tx, id: i64) -> Result<Vec<Step>, StoreError> {
    let rows = tx.query(
        "SELECT id, kind, actor, body, at FROM res_event WHERE request_id = $1 ORDER BY id",
        &[id.into()],
    )?;
    let files = tx.query(
        "SELECT id, event_id, sha256, name, mime, size FROM res_attachment \
         WHERE request_id = $1 ORDER BY id",
        &[id.into()],
    )?;
    let mut out = Vec::new();
    for r in rows {
        let g = |i: usize| r.get(i).cloned().unwrap_or(Val::Null);
        let sid = g(0).int()?;
        let mut mine = Vec::new();
        for f in &files {
            let h = |i: usize| f.get(i).cloned().unwrap_or(Val::Null);
            if h(1).int()? == sid {
                mine.push(FileInfo {
                    id: h(0).int()?,
                    sha256: h(2).text()?,
                    name: h(3).text()?,
                    mime: h(4).text()?,
                    size: h(5).int()?,
                });
            }
        }
        out.push(Step {
            id: sid,
            kind: g(1).text()?,
            actor: g(2).text()?,
            body: g(3).text()?,
            at: from_ms(g(4).int()?),
            files: mine,
        });
    }
    Ok(out)
}

/// Appends a step and its files (each blob kept once, by its key).
pub(super) fn add_step(
    tx: &mut dyn Tx,
    id: i64,
    kind: &str,
    actor: &str,
    body: &str,
    files: &[Checked],
    now: OffsetDateTime,
) -> Result<i64, StoreError> {
    let at = to_ms(now);
    let event = tx.int(
        "INSERT INTO res_event (request_id, kind, actor, body, at) VALUES ($1, $2, $3, $4, $5) \
         RETURNING id",
        &[id.into(), kind.into(), actor.into(), body.into(), at.into()],
    )?;
    for f in files {
        let size = i64::try_from(f.bytes.len()).unwrap_or(i64::MAX);
        tx.exec(
            "INSERT INTO res_blob (sha256, mime, size, bytes, created_at) \
             VALUES ($1, $2, $3, $4, $5) ON CONFLICT (sha256) DO NOTHING",
            &[
                f.sha256.as_str().into(),
                f.mime.into(),
                size.into(),
                f.bytes.as_slice().into(),
                at.into(),
            ],
        )?;
        tx.exec(
            "INSERT INTO res_attachment (request_id, event_id, sha256, name, mime, size) \
             VALUES ($1, $2, $3, $4, $5, $6)",
            &[
                id.into(),
                event.into(),
                f.sha256.as_str().into(),
                f.name.as_str().into(),
                f.mime.into(),
                size.into(),
            ],
        )?;
    }
    Ok(event)
}

/// Tells the citizen by SMS (to the phone of their account) that request `id` moved on. The
/// text carries no personal data: the number and what to do.
pub(super) fn notify(
    tx: &mut dyn Tx,
    personal_id: &str,
    id: i64,
    what: &str,
    now: OffsetDateTime,
) -> Result<(), StoreError> {
    let phone = account_key::phone(tx, Key::Person(personal_id))?;
    if let Some(phone) = phone {
        let body = format!("eID: Ho so cu tru so {id}: {what}. Xem chi tiet tai muc Cu tru.");
        queue_sms(tx, &phone, &body, "residence", now)?;
    }
    Ok(())
}

/// The date of `now` in Vietnam, dd/mm/yyyy, for the SMS.
pub(super) fn vn_day(d: Date) -> String {
    format!("{:02}/{:02}/{}", d.day(), u8::from(d.month()), d.year())
}

fn commune_of(raw: &str) -> Result<UnitCode, Error> {
    let code = UnitCode::parse(raw.trim())
        .map_err(|_| Error::bad("residence.bad_commune", "choose a commune"))?;
    let units = Units::get();
    match units.unit(Tree::Gso2024, &code) {
        Some(u) if unit_path(&code).is_some() => Ok(u.code),
        _ => Err(Error::bad("residence.bad_commune", "choose a commune")),
    }
}

/// The latest approved temporary residence (or renewal) of a person: its end date.
fn current_term(tx: &mut dyn Tx, pid: &str) -> Result<Option<Date>, StoreError> {
    let rows = tx.query(
        &format!(
            "SELECT {COLUMNS} FROM res_request WHERE personal_id = $1 AND state = 'approved' \
             AND procedure IN ('temporary', 'renewal') ORDER BY decided_at DESC, id DESC"
        ),
        &[pid.into()],
    )?;
    Ok(rows
        .first()
        .map(request_from)
        .transpose()?
        .and_then(|r| r.until))
}

/// Files a request. Refused: a session below level 2 (`residence.level2_required`), a person
/// not in the register or not alive (`residence.not_eligible`), a bad procedure, commune,
/// address, end date or note (`Bad`), a renewal or deregistration without a temporary
/// residence (`residence.no_temporary`), a renewal more than 15 days before the term ends
/// (`residence.renew_too_early`), a split without a household (`residence.no_household`), and a
/// second open request of the same procedure — also when both arrive at once (`Conflict`
/// `residence.duplicate`, by the unique index on the open key). Returns the request's id.
pub fn submit(
    store: &dyn Store,
    who: &Applicant,
    form: &NewRequest,
    files: &[Checked],
    now: OffsetDateTime,
) -> Result<i64, Error> {
    if who.level < AccountLevel::Two {
        return Err(Error::bad(
            "residence.level2_required",
            "residence procedures need a level-2 account",
        ));
    }
    let procedure = Procedure::parse(form.procedure.trim())?;
    let today = now.to_offset(vietnam()).date();
    let person = store
        .person(&who.personal_id)?
        .filter(|p| p.person.life.state == eid_domain::LifeState::Alive)
        .ok_or_else(|| Error::bad("residence.not_eligible", "no living person in the register"))?
        .person;
    let until_raw = form.until.trim();
    let until = if until_raw.is_empty() {
        None
    } else {
        Some(
            calendar::parse_date(until_raw)
                .ok_or_else(|| Error::bad("residence.bad_until", "the end date is not a date"))?,
        )
    };
    let until = rules::check_until(procedure, today, until)?;
    let note = form.note.trim();
    if note.chars().count() > rules::MAX_NOTE_CHARS
        || note
            .chars()
            .any(|c| c.is_control() && c != '\n' && c != '\r')
    {
        return Err(Error::bad("residence.bad_note", "the note is too long"));
    }
    let (commune, address) = match procedure {
        Procedure::Temporary | Procedure::Permanent => {
            let commune = commune_of(&form.commune)?;
            let address = form.address.trim();
            if address.is_empty() {
                return Err(Error::bad(
                    "residence.bad_address",
                    "the address is required",
                ));
            }
            eid_domain::person::check_address("address", address)
                .map_err(|_| Error::bad("residence.bad_address", "the address is too long"))?;
            (commune, address.to_owned())
        }
        Procedure::Renewal | Procedure::Deregister => match &person.temporary {
            Some(t) => (t.unit, t.address.clone()),
            None => {
                return Err(Error::bad(
                    "residence.no_temporary",
                    "there is no temporary residence in the register",
                ))
            }
        },
        // A temporary absence's address is where the citizen goes, when they say.
        Procedure::Absence if !form.address.trim().is_empty() => {
            let address = form.address.trim();
            eid_domain::person::check_address("address", address)
                .map_err(|_| Error::bad("residence.bad_address", "the address is too long"))?;
            (person.residence.unit, address.to_owned())
        }
        Procedure::Absence | Procedure::Split => {
            if procedure == Procedure::Split && person.household.is_none() {
                return Err(Error::bad(
                    "residence.no_household",
                    "no household in the register",
                ));
            }
            (person.residence.unit, person.residence.address.clone())
        }
    };
    let members = if procedure == Procedure::Split {
        split_members(store, &person, &form.members)?
    } else {
        Vec::new()
    };
    let path = unit_path(&commune)
        .ok_or_else(|| Error::bad("residence.bad_commune", "choose a commune"))?;
    let terms = procedure.terms();
    let due = calendar::due_date(today, terms.working_days).ok_or_else(|| {
        Error::bad(
            "residence.calendar",
            "the working-day calendar does not cover this date",
        )
    })?;
    let pid = who.personal_id.as_str().to_owned();
    let detail = json!({
        "until": until.map(calendar::iso).unwrap_or_default(),
        "note": note,
        "members": members,
    })
    .to_string();
    let open_key = format!("{pid}:{}", procedure.as_str());
    sql::transact(store.db(), |tx| {
        if procedure == Procedure::Renewal {
            if let Some(end) = current_term(tx, &pid)? {
                if (end - today).whole_days() > rules::RENEW_WINDOW_DAYS {
                    return Err(Error::bad(
                        "residence.renew_too_early",
                        "a renewal is filed within 15 days before the term ends",
                    ));
                }
            }
        }
        let inserted = tx.int(
            "INSERT INTO res_request (personal_id, procedure, commune, res_path, address, \
             detail, state, open_key, legal_days, fee_vnd, submitted_at, clock_from, due_date) \
             VALUES ($1, $2, $3, $4, $5, $6, 'submitted', $7, $8, $9, $10, $10, $11) \
             RETURNING id",
            &[
                pid.as_str().into(),
                procedure.as_str().into(),
                commune.as_str().into(),
                path.into(),
                address.as_str().into(),
                detail.as_str().into(),
                open_key.as_str().into(),
                terms.working_days.into(),
                terms.fee_vnd.into(),
                to_ms(now).into(),
                calendar::iso(due).into(),
            ],
        );
        let id = match inserted {
            Ok(id) => id,
            Err(StoreError::Violated(Rule::Unique, _) | StoreError::Conflict(_)) => {
                return Err(duplicate())
            }
            Err(e) => return Err(e.into()),
        };
        add_step(tx, id, "submitted", "citizen", note, files, now)?;
        notify(
            tx,
            &pid,
            id,
            &format!("da tiep nhan, han giai quyet {}", vn_day(due)),
            now,
        )?;
        Ok(id)
    })
}

fn duplicate() -> Error {
    Error::Conflict {
        code: "residence.duplicate",
        message: "a request of this kind is already open".into(),
    }
}

/// The members a split moves: each a personal ID of another person of the applicant's household
/// in the register, at most [`MAX_MEMBERS`], no repeats. Anything else — an unknown ID, someone
/// of another household — gets the same refusal (`residence.bad_member`), so the form cannot
/// probe the register.
fn split_members(
    store: &dyn Store,
    applicant: &eid_domain::Person,
    raw: &str,
) -> Result<Vec<String>, Error> {
    let bad = || {
        Error::bad(
            "residence.bad_member",
            "each member must be another person of your household",
        )
    };
    let mut out: Vec<String> = Vec::new();
    for part in raw
        .split(|c: char| c == ',' || c == ';' || c.is_whitespace())
        .filter(|p| !p.is_empty())
    {
        let id = PersonalId::parse(part).map_err(|_| bad())?;
        if id == applicant.id || out.iter().any(|o| o == id.as_str()) || out.len() >= MAX_MEMBERS {
            return Err(bad());
        }
        let same = store.person(&id)?.is_some_and(|m| {
            m.person.household.is_some() && m.person.household == applicant.household
        });
        if !same {
            return Err(bad());
        }
        out.push(id.as_str().to_owned());
    }
    Ok(out)
}

/// The citizen's requests, newest first.
pub fn mine(store: &dyn Store, pid: &PersonalId) -> Result<Vec<Request>, Error> {
    let rows = sql::read(store.db(), |tx| {
        tx.query(
            &format!("SELECT {COLUMNS} FROM res_request WHERE personal_id = $1 ORDER BY id DESC"),
            &[pid.as_str().into()],
        )
    })?;
    Ok(rows.iter().map(request_from).collect::<Result<_, _>>()?)
}

/// One of the citizen's requests with its steps; another person's is `NotFound` (the same as
/// one that does not exist).
pub fn one_mine(
    store: &dyn Store,
    pid: &PersonalId,
    id: i64,
) -> Result<(Request, Vec<Step>), Error> {
    let found = sql::read(store.db(), |tx| {
        let Some(r) = load(tx, id)? else {
            return Ok(None);
        };
        if r.personal_id != pid.as_str() {
            return Ok(None);
        }
        let s = steps(tx, id)?;
        Ok::<_, StoreError>(Some((r, s)))
    })?;
    found.ok_or_else(not_found)
}

pub(super) fn not_found() -> Error {
    Error::not_found("residence.not_found", "no such request")
}

/// The citizen answers the officer's question, with new files: the request goes back to the
/// officer and its legal clock starts again from the answer (the law counts the time from a
/// complete file). Refused: a request not awaiting an answer (`Conflict`
/// `residence.not_asked`), a missing answer (`residence.bad_note`).
pub fn answer(
    store: &dyn Store,
    who: &Applicant,
    id: i64,
    text: &str,
    files: &[Checked],
    now: OffsetDateTime,
) -> Result<(), Error> {
    let text = rules::check_note("residence.bad_note", text)?.to_owned();
    let pid = who.personal_id.as_str().to_owned();
    let today = now.to_offset(vietnam()).date();
    sql::transact(store.db(), |tx| {
        let Some(r) = load(tx, id)? else {
            return Err(not_found());
        };
        if r.personal_id != pid {
            return Err(not_found());
        }
        if r.state != State::MoreInfo {
            return Err(Error::Conflict {
                code: "residence.not_asked",
                message: "this request is not waiting for an answer".into(),
            });
        }
        let due = calendar::due_date(today, r.legal_days).ok_or_else(|| {
            Error::bad(
                "residence.calendar",
                "the working-day calendar does not cover this date",
            )
        })?;
        let next = if r.assignee.is_some() {
            "assigned"
        } else {
            "submitted"
        };
        let n = tx.exec(
            "UPDATE res_request SET state = $1, asked = NULL, clock_from = $2, due_date = $3 \
             WHERE id = $4 AND state = 'more_info'",
            &[
                next.into(),
                to_ms(now).into(),
                calendar::iso(due).into(),
                id.into(),
            ],
        )?;
        if n != 1 {
            return Err(Error::Conflict {
                code: "residence.not_asked",
                message: "this request is not waiting for an answer".into(),
            });
        }
        add_step(tx, id, "answered", "citizen", &text, files, now)?;
        Ok(())
    })
}

/// An attachment's bytes, for its citizen (`Some(pid)`) or for anyone the caller already
/// cleared (`None`): (name, mime, bytes).
pub(super) fn file_bytes(
    store: &dyn Store,
    request_id: i64,
    file_id: i64,
) -> Result<Option<(String, String, Vec<u8>)>, Error> {
    let row = sql::read(store.db(), |tx| {
        tx.row(
            "SELECT a.name, a.mime, b.bytes FROM res_attachment a \
             JOIN res_blob b ON b.sha256 = a.sha256 WHERE a.id = $1 AND a.request_id = $2",
            &[file_id.into(), request_id.into()],
        )
    })?;
    let Some(r) = row else { return Ok(None) };
    let g = |i: usize| r.get(i).cloned().unwrap_or(Val::Null);
    Ok(Some((g(0).text()?, g(1).text()?, g(2).blob()?)))
}

/// One of the citizen's own files: (name, mime, bytes); anything else is `NotFound`.
pub fn my_file(
    store: &dyn Store,
    pid: &PersonalId,
    request_id: i64,
    file_id: i64,
) -> Result<(String, String, Vec<u8>), Error> {
    let (r, _) = one_mine(store, pid, request_id)?;
    file_bytes(store, r.id, file_id)?.ok_or_else(not_found)
}
