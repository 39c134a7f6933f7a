//! Misuse reports: a citizen reports one of their data-use entries; auditors (and the ministry)
//! see the open cases, answer them, and the answer is shown to the citizen and sent by SMS.

use time::OffsetDateTime;

use crate::account_key::{self, Key};
use crate::sql::{self, SqlRow, Val};
use crate::store::{from_ms, to_ms, Role};
use crate::{Acting, Error, Store, StoreError};

/// The outcomes an auditor may give.
pub const OUTCOMES: [&str; 3] = ["justified", "misuse", "referred"];

/// A misuse report.
#[derive(Clone)]
pub struct Report {
    pub id: i64,
    pub seq: u64,
    pub personal_id: String,
    pub who_unit: Option<String>,
    pub note: String,
    pub open: bool,
    pub outcome: Option<String>,
    pub answer: Option<String>,
    pub answered_by: Option<String>,
    pub created_at: OffsetDateTime,
    pub answered_at: Option<OffsetDateTime>,
}

impl std::fmt::Debug for Report {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "Report({}, entry {}, open {})",
            self.id, self.seq, self.open
        )
    }
}

const COLS: &str = "id, seq, personal_id, who_unit, note, state, outcome, answer, answered_by, \
                    created_at, answered_at";

fn from_row(r: &SqlRow) -> Result<Report, StoreError> {
    let g = |i: usize| r.get(i).cloned().unwrap_or(Val::Null);
    Ok(Report {
        id: g(0).int()?,
        seq: u64::try_from(g(1).int()?).unwrap_or(0),
        personal_id: g(2).text()?,
        who_unit: g(3).opt_text()?,
        note: g(4).text()?,
        open: g(5).text()? == "open",
        outcome: g(6).opt_text()?,
        answer: g(7).opt_text()?,
        answered_by: g(8).opt_text()?,
        created_at: from_ms(g(9).int()?),
        answered_at: g(10).opt_int()?.map(from_ms),
    })
}

/// The citizen `personal_id` reports entry `seq` (theirs) as misuse. One open report per entry:
/// reporting it again returns the open report's id.
pub fn open(
    store: &dyn Store,
    personal_id: &str,
    seq: u64,
    note: &str,
    now: OffsetDateTime,
) -> Result<i64, Error> {
    let note: String = note.trim().chars().take(1000).collect();
    sql::transact(store.db(), |tx| {
        let entry = tx.row(
            "SELECT personal_id, who_unit FROM data_use WHERE seq = $1",
            &[(seq as i64).into()],
        )?;
        let Some(entry) = entry else {
            return Err(Error::not_found("data_use.not_found", "no such entry"));
        };
        let g = |i: usize| entry.get(i).cloned().unwrap_or(Val::Null);
        if g(0).text()? != personal_id {
            return Err(Error::not_found("data_use.not_found", "no such entry"));
        }
        if let Some(r) = tx.row(
            "SELECT id FROM data_use_report WHERE seq = $1 AND state = 'open'",
            &[(seq as i64).into()],
        )? {
            return Ok(r.first().cloned().unwrap_or(Val::Null).int()?);
        }
        let id = tx
            .row(
                "INSERT INTO data_use_report (seq, personal_id, who_unit, note, state, created_at) \
                 VALUES ($1, $2, $3, $4, 'open', $5) RETURNING id",
                &[
                    (seq as i64).into(),
                    personal_id.into(),
                    g(1).opt_text()?.into(),
                    note.as_str().into(),
                    to_ms(now).into(),
                ],
            )?
            .and_then(|r| r.first().cloned())
            .unwrap_or(Val::Null)
            .int()?;
        Ok(id)
    })
}

/// The citizen's reports, newest first.
pub fn for_person(store: &dyn Store, personal_id: &str) -> Result<Vec<Report>, Error> {
    let rows = sql::read(store.db(), |tx| {
        tx.query(
            &format!(
                "SELECT {COLS} FROM data_use_report WHERE personal_id = $1 ORDER BY id DESC LIMIT 200"
            ),
            &[personal_id.into()],
        )
    })?;
    Ok(rows.iter().map(from_row).collect::<Result<_, _>>()?)
}

fn may_handle(acting: &Acting) -> Result<(), Error> {
    match acting.caller.role() {
        Role::Auditor | Role::Ministry => Ok(()),
        _ => Err(Error::ScopeDenied),
    }
}

/// The auditors' queue: open reports first, then the latest answered. Auditors and the ministry
/// only. Audited as `data_use.reports`.
pub fn queue(store: &dyn Store, acting: &Acting) -> Result<Vec<Report>, Error> {
    let result = may_handle(acting).and_then(|()| {
        let rows = sql::read(store.db(), |tx| {
            tx.query(
                &format!(
                    "SELECT {COLS} FROM data_use_report ORDER BY CASE WHEN state = 'open' THEN 0 ELSE 1 END, id DESC LIMIT 200"
                ),
                &[],
            )
        })?;
        Ok(rows.iter().map(from_row).collect::<Result<Vec<_>, _>>()?)
    });
    acting.audited(store, "data_use.reports", "queue", result)
}

/// Answers report `id` with one of [`OUTCOMES`] and a message; the citizen sees it on their page
/// and gets an SMS. Audited as `data_use.report.answer`.
pub fn answer(
    store: &dyn Store,
    acting: &Acting,
    id: i64,
    outcome: &str,
    message: &str,
) -> Result<(), Error> {
    let target = id.to_string();
    let result = may_handle(acting).and_then(|()| {
        if !OUTCOMES.contains(&outcome) {
            return Err(Error::bad("report.outcome", "unknown outcome"));
        }
        let message: String = message.trim().chars().take(1000).collect();
        if message.is_empty() {
            return Err(Error::bad("report.answer", "the answer is empty"));
        }
        sql::transact(store.db(), |tx| {
            let n = tx.exec(
                "UPDATE data_use_report SET state = 'answered', outcome = $2, answer = $3, \
                 answered_by = $4, answered_at = $5 WHERE id = $1 AND state = 'open'",
                &[
                    id.into(),
                    outcome.into(),
                    message.as_str().into(),
                    acting.caller.staff.username.as_str().into(),
                    to_ms(acting.now).into(),
                ],
            )?;
            if n != 1 {
                return Err(Error::not_found(
                    "report.not_open",
                    "no open report has this id",
                ));
            }
            let reporter = tx
                .row(
                    "SELECT personal_id FROM data_use_report WHERE id = $1",
                    &[id.into()],
                )?
                .and_then(|r| r.first().cloned())
                .map(|v| v.text())
                .transpose()?;
            let phone = match reporter {
                Some(pid) => account_key::phone(tx, Key::Person(&pid))?,
                None => None,
            };
            if let Some(phone) = phone {
                crate::outbox::queue_sms(
                    tx,
                    &phone,
                    &format!(
                        "eID: Phan anh #{id} ve viec su dung du lieu cua ban da duoc tra loi. Xem tai muc Ai da dung du lieu cua toi."
                    ),
                    "data_use_report",
                    acting.now,
                )?;
            }
            Ok(())
        })
    });
    acting.audited(store, "data_use.report.answer", &target, result)
}
