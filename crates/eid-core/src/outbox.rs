//! The SMS outbox: messages queued in the transaction that decides them, sent by a dispatcher
//! outside any request. A sent message's code is blanked, so the outbox keeps no live secret.

use std::fmt;

use eid_domain::redact;
use eid_domain::SmsState;
use time::OffsetDateTime;

use crate::sql::{self, SqlRow, Tx, Val};
use crate::store::{from_ms, to_ms, Store, StoreError};

/// Queues an SMS; a dispatcher sends it outside any request.
pub(crate) fn queue_sms(
    tx: &mut dyn Tx,
    to: &str,
    body: &str,
    purpose: &str,
    now: OffsetDateTime,
) -> Result<(), StoreError> {
    tx.exec(
        "INSERT INTO sms_outbox (to_phone, body, purpose, state, next_attempt_at, created_at) \
         VALUES ($1, $2, $3, 'pending', $4, $4)",
        &[to.into(), body.into(), purpose.into(), to_ms(now).into()],
    )?;
    Ok(())
}

/// One message of the outbox. Its `Debug` masks the phone and shows only the body's length.
#[derive(Clone, PartialEq, Eq)]
pub struct Sms {
    pub id: i64,
    pub to: String,
    pub body: String,
    pub purpose: String,
    pub state: SmsState,
    pub attempts: u32,
    pub created_at: OffsetDateTime,
    pub sent_at: Option<OffsetDateTime>,
    pub last_error: Option<String>,
}

fn sms_from(r: &SqlRow) -> Result<Sms, StoreError> {
    let g = |i: usize| r.get(i).cloned().unwrap_or(Val::Null);
    Ok(Sms {
        id: g(0).int()?,
        to: g(1).text()?,
        body: g(2).text()?,
        purpose: g(3).text()?,
        state: SmsState::parse(&g(4).text()?).map_err(|e| StoreError::Corrupt(e.to_string()))?,
        attempts: u32::try_from(g(5).int()?).unwrap_or(u32::MAX),
        created_at: from_ms(g(6).int()?),
        sent_at: g(7).opt_int()?.map(from_ms),
        last_error: g(8).opt_text()?,
    })
}

const SMS_COLS: &str =
    "id, to_phone, body, purpose, state, attempts, created_at, sent_at, last_error";

/// Messages due for sending.
pub fn sms_due(store: &dyn Store, now: OffsetDateTime, limit: u32) -> Result<Vec<Sms>, StoreError> {
    sql::read(store.db(), |tx| {
        let sql = format!(
            "SELECT {SMS_COLS} FROM sms_outbox WHERE state = 'pending' AND next_attempt_at <= $1 \
             ORDER BY next_attempt_at, id LIMIT $2"
        );
        tx.query(&sql, &[to_ms(now).into(), limit.into()])?
            .iter()
            .map(sms_from)
            .collect()
    })
}

/// What happened to one send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SmsResult {
    /// The gateway accepted the message; `provider_id` is its message id when it gave one.
    Sent { provider_id: Option<String> },
    /// The attempt failed and the message is due again at `next_attempt_at`.
    Retry {
        error: String,
        next_attempt_at: OffsetDateTime,
    },
    /// The message will not be sent.
    Failed { error: String },
}

/// Records a send. A sent message's code is blanked: the outbox keeps no live secret.
pub fn sms_record(
    store: &dyn Store,
    id: i64,
    result: &SmsResult,
    now: OffsetDateTime,
    keep_body: bool,
) -> Result<(), StoreError> {
    sql::transact(store.db(), |tx| {
        match result {
            SmsResult::Sent { provider_id } => {
                tx.exec(
                    "UPDATE sms_outbox SET state = 'sent', attempts = attempts + 1, sent_at = $1, \
                     provider_id = $2, last_error = NULL WHERE id = $3",
                    &[to_ms(now).into(), provider_id.clone().into(), id.into()],
                )?;
                if !keep_body {
                    let body = tx.row("SELECT body FROM sms_outbox WHERE id = $1", &[id.into()])?;
                    if let Some(b) = body.and_then(|r| r.into_iter().next()) {
                        let blanked = blank_digits(&b.text()?);
                        tx.exec(
                            "UPDATE sms_outbox SET body = $1 WHERE id = $2",
                            &[blanked.into(), id.into()],
                        )?;
                    }
                }
            }
            SmsResult::Retry {
                error,
                next_attempt_at,
            } => {
                tx.exec(
                    "UPDATE sms_outbox SET attempts = attempts + 1, next_attempt_at = $1, last_error = $2 \
                     WHERE id = $3",
                    &[to_ms(*next_attempt_at).into(), error.clone().into(), id.into()],
                )?;
            }
            SmsResult::Failed { error } => {
                tx.exec(
                    "UPDATE sms_outbox SET state = 'failed', attempts = attempts + 1, last_error = $1 \
                     WHERE id = $2",
                    &[error.clone().into(), id.into()],
                )?;
            }
        }
        Ok(())
    })
}

/// Replaces every run of six digits with `••••••` (the codes in a sent message).
fn blank_digits(body: &str) -> String {
    let mut out = String::with_capacity(body.len());
    let mut run = String::new();
    for ch in body.chars().chain(std::iter::once('\0')) {
        if ch.is_ascii_digit() {
            run.push(ch);
            continue;
        }
        if run.len() == 6 {
            out.push_str("••••••");
        } else {
            out.push_str(&run);
        }
        run.clear();
        if ch != '\0' {
            out.push(ch);
        }
    }
    out
}

/// The latest messages, newest first (the development sink's view for staff).
pub fn sms_list(store: &dyn Store, limit: u32) -> Result<Vec<Sms>, StoreError> {
    sql::read(store.db(), |tx| {
        let sql = format!("SELECT {SMS_COLS} FROM sms_outbox ORDER BY id DESC LIMIT $1");
        tx.query(&sql, &[limit.into()])?
            .iter()
            .map(sms_from)
            .collect()
    })
}

impl fmt::Debug for Sms {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sms")
            .field("id", &self.id)
            .field("to", &redact::Phone(&self.to))
            .field("body", &redact::Text(&self.body))
            .field("purpose", &self.purpose)
            .field("state", &self.state)
            .field("attempts", &self.attempts)
            .field("created_at", &self.created_at)
            .field("sent_at", &self.sent_at)
            .field("last_error", &self.last_error)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sent_codes_are_blanked_and_other_numbers_kept() {
        assert_eq!(
            blank_digits("Ma kich hoat: 123456, hieu luc den het ngay 30/11/2026."),
            "Ma kich hoat: ••••••, hieu luc den het ngay 30/11/2026."
        );
        assert_eq!(blank_digits("goi 1900 0368"), "goi 1900 0368");
    }
}
