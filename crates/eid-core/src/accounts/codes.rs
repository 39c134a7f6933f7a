//! One-time codes: six digits kept as HMAC-SHA-256 under a per-database key, short-lived and
//! limited to a few attempts; [`with_code`] checks one and runs the step it unlocks.

use hmac::{Hmac, Mac};
use rand::{Rng, RngCore};
use sha2::Sha256;
use time::{Duration, OffsetDateTime};

use crate::secret::{constant_time_eq, random_token, token_hash};
use crate::sql::{self, SqlRow, Tx, Val};
use crate::store::{from_ms, to_ms, Store, StoreError};

use super::*;

pub(super) fn code_key(tx: &mut dyn Tx) -> Result<Vec<u8>, StoreError> {
    if let Some(k) = tx.stored_key("code_key")? {
        return Ok(k);
    }
    let mut key = vec![0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut key);
    tx.exec(
        "INSERT INTO app_setting (key, value) VALUES ('code_key', $1) ON CONFLICT (key) DO NOTHING",
        &[key.clone().into()],
    )?;
    tx.stored_key("code_key")?
        .ok_or_else(|| StoreError::Db("the code key could not be stored".into()))
}

pub(super) fn code_mac(key: &[u8], handle: &[u8], code: &str) -> Vec<u8> {
    match Hmac::<Sha256>::new_from_slice(key) {
        Ok(mut m) => {
            m.update(handle);
            m.update(b":");
            m.update(code.as_bytes());
            m.finalize().into_bytes().to_vec()
        }
        // HMAC takes keys of any length; this arm is unreachable in practice.
        Err(_) => Vec::new(),
    }
}

/// A new six-digit code.
pub(super) fn six_digits() -> String {
    format!("{:06}", rand::rngs::OsRng.gen_range(0..1_000_000u32))
}

/// A code row to create.
pub(super) struct NewCode<'a> {
    pub(super) purpose: &'a str,
    pub(super) personal_id: Option<&'a str>,
    pub(super) account_id: Option<i64>,
    pub(super) application_id: Option<i64>,
    pub(super) phone: Option<&'a str>,
    pub(super) payload: String,
    pub(super) ttl: Duration,
    /// A second code (phone change: one to each number).
    pub(super) second: bool,
}

/// Reserves the sending of a code of `purpose` for the personal ID and the phone as given (so
/// that the answer is the same whether or not they name an account): at most
/// [`Settings::code_issues_per_hour`] an hour for each. Call it in the transaction that sends.
pub(super) fn reserve_issue(
    tx: &mut dyn Tx,
    s: &Settings,
    purpose: &str,
    personal_id: &str,
    phone: &str,
    now: OffsetDateTime,
) -> Result<(), Refusal> {
    for (what, value) in [
        (format!("issue-{purpose}"), personal_id),
        (format!("issue-{purpose}-phone"), phone),
    ] {
        let key = limits::hashed_key(tx, &what, value)?;
        let r = limits::reserve(tx, &key, s.code_issues_per_hour, Duration::hours(1), now)?;
        if !r.granted {
            return Err(Refusal::TooManyCodes(r.until));
        }
    }
    Ok(())
}

/// Creates a code; returns `(handle, code, second code)`. The handle is what the client keeps
/// to confirm; the codes go by SMS. The person's open codes of the same purpose die: only the
/// newest can be used.
pub(super) fn new_code(
    tx: &mut dyn Tx,
    c: NewCode<'_>,
    now: OffsetDateTime,
) -> Result<(String, String, Option<String>), StoreError> {
    let key = code_key(tx)?;
    let handle = random_token();
    let handle_hash = token_hash(&handle);
    let code = six_digits();
    let second = c.second.then(six_digits);
    if let Some(pid) = c.personal_id {
        tx.exec(
            "UPDATE code SET state = 'dead' WHERE personal_id = $1 AND purpose = $2 AND state = 'open'",
            &[pid.into(), c.purpose.into()],
        )?;
    }
    tx.exec(
        "INSERT INTO code (handle, purpose, personal_id, account_id, application_id, phone, code_hash, \
         code2_hash, payload, state, expires_at, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 'open', $10, $11)",
        &[
            handle_hash.clone().into(),
            c.purpose.into(),
            c.personal_id.into(),
            c.account_id.into(),
            c.application_id.into(),
            c.phone.into(),
            code_mac(&key, &handle_hash, &code).into(),
            second
                .as_ref()
                .map(|s| code_mac(&key, &handle_hash, s))
                .into(),
            c.payload.into(),
            to_ms(now + c.ttl).into(),
            to_ms(now).into(),
        ],
    )?;
    Ok((handle, code, second))
}

/// A decoy: a handle with no code behind it, answered exactly like a real one (it carries the
/// personal ID as given, so that guesses on it count against that ID as on a real code).
pub(super) fn decoy_code(
    tx: &mut dyn Tx,
    purpose: &str,
    personal_id: &str,
    ttl: Duration,
    now: OffsetDateTime,
) -> Result<String, StoreError> {
    let handle = random_token();
    tx.exec(
        "INSERT INTO code (handle, purpose, personal_id, state, expires_at, created_at) VALUES ($1, $2, $3, 'open', $4, $5)",
        &[
            token_hash(&handle).into(),
            purpose.into(),
            personal_id.into(),
            to_ms(now + ttl).into(),
            to_ms(now).into(),
        ],
    )?;
    Ok(handle)
}

/// A code row found by its handle.
pub(super) struct OpenCode {
    pub(super) id: i64,
    pub(super) handle_hash: Vec<u8>,
    pub(super) personal_id: Option<String>,
    pub(super) account_id: Option<i64>,
    pub(super) application_id: Option<i64>,
    pub(super) phone: Option<String>,
    pub(super) code_hash: Option<Vec<u8>>,
    code2_hash: Option<Vec<u8>>,
    pub(super) payload: String,
    pub(super) open: bool,
    pub(super) expires_at: OffsetDateTime,
}

pub(super) const CODE_COLS: &str =
    "id, handle, personal_id, account_id, application_id, phone, code_hash, code2_hash, \
    payload, attempts, sends, state, expires_at";

pub(super) fn code_from(r: &SqlRow) -> Result<OpenCode, StoreError> {
    let g = |i: usize| r.get(i).cloned().unwrap_or(Val::Null);
    Ok(OpenCode {
        id: g(0).int()?,
        handle_hash: g(1).opt_blob()?.unwrap_or_default(),
        personal_id: g(2).opt_text()?,
        account_id: g(3).opt_int()?,
        application_id: g(4).opt_int()?,
        phone: g(5).opt_text()?,
        code_hash: g(6).opt_blob()?,
        code2_hash: g(7).opt_blob()?,
        payload: g(8).text()?,
        open: g(11).text()? == "open",
        expires_at: from_ms(g(12).int()?),
    })
}

/// Checks `code` (and `code2`) against the code behind `handle` for `purpose`. Before anything
/// is compared, the entry reserves its place twice: against the person's entries of the hour
/// across all their codes ([`Settings::code_guesses_per_hour`]) and against the code's own
/// attempts ([`Settings::max_attempts`]; the last allowed wrong entry kills the code), each with
/// one conditional update, so that entries sent at once cannot get more compared. Every failure
/// is the same [`Refusal::BadCode`]; a right entry gives the person's place back.
pub(super) fn check_code(
    tx: &mut dyn Tx,
    found: Option<OpenCode>,
    code: &str,
    code2: Option<&str>,
    settings: &Settings,
    now: OffsetDateTime,
) -> Result<Result<OpenCode, Refusal>, StoreError> {
    let key = code_key(tx)?;
    let Some(c) = found else {
        // Spend the same work as a real check.
        let _ = code_mac(&key, b"-", code);
        return Ok(Err(Refusal::BadCode));
    };
    // Every entry on a person's handle counts, on a used, dead or expired code too.
    let person = match c.personal_id.as_deref() {
        Some(pid) => Some(limits::hashed_key(tx, "guess", pid)?),
        None => None,
    };
    if let Some(k) = &person {
        let r = limits::reserve(
            tx,
            k,
            settings.code_guesses_per_hour,
            Duration::hours(1),
            now,
        )?;
        if !r.granted {
            return Ok(Err(Refusal::BadCode));
        }
    }
    if !c.open || c.expires_at <= now {
        return Ok(Err(Refusal::BadCode));
    }
    // The code's own attempt, reserved under its row lock.
    let reserved = tx.exec(
        "UPDATE code SET attempts = attempts + 1 WHERE id = $1 AND state = 'open' AND attempts < $2",
        &[c.id.into(), settings.max_attempts.into()],
    )?;
    if reserved == 0 {
        return Ok(Err(Refusal::BadCode));
    }
    let good1 = c
        .code_hash
        .as_ref()
        .is_some_and(|h| constant_time_eq(h, &code_mac(&key, &c.handle_hash, code)));
    let good2 = match (&c.code2_hash, code2) {
        (None, _) => true,
        (Some(h), Some(code2)) => constant_time_eq(h, &code_mac(&key, &c.handle_hash, code2)),
        (Some(_), None) => false,
    };
    if good1 && good2 {
        // Only one request uses a code, even when several present it at once.
        let used = tx.exec(
            "UPDATE code SET state = 'used' WHERE id = $1 AND state = 'open'",
            &[c.id.into()],
        )?;
        if used == 0 {
            return Ok(Err(Refusal::BadCode));
        }
        if let Some(k) = &person {
            limits::refund(tx, k)?;
        }
        return Ok(Ok(c));
    }
    tx.exec(
        "UPDATE code SET state = 'dead' WHERE id = $1 AND state = 'open' AND attempts >= $2",
        &[c.id.into(), settings.max_attempts.into()],
    )?;
    Ok(Err(Refusal::BadCode))
}

/// Runs `body` in one transaction once the code that `find` looks up checks out. A wrong code
/// still commits (its attempt counts) and so does a refusal from `body` (the code is spent);
/// a store error rolls everything back.
pub(super) fn with_code<T>(
    store: &dyn Store,
    s: &Settings,
    now: OffsetDateTime,
    (code, code2): (&str, Option<&str>),
    find: impl FnOnce(&mut dyn Tx) -> Result<Option<OpenCode>, StoreError>,
    body: impl FnOnce(&mut dyn Tx, OpenCode) -> Result<T, Refusal>,
) -> Result<T, Refusal> {
    sql::transact(store.db(), |tx| -> Result<Result<T, Refusal>, Refusal> {
        let found = find(tx)?;
        let c = match check_code(tx, found, code, code2, s, now)? {
            Ok(c) => c,
            Err(e) => return Ok(Err(e)),
        };
        match body(tx, c) {
            Err(Refusal::Store(e)) => Err(Refusal::Store(e)),
            r => Ok(r),
        }
    })?
}

pub(super) fn code_by_handle(
    tx: &mut dyn Tx,
    purpose: &str,
    handle: &str,
) -> Result<Option<OpenCode>, StoreError> {
    let sql = format!("SELECT {CODE_COLS} FROM code WHERE handle = $1 AND purpose = $2");
    tx.row(&sql, &[token_hash(handle).into(), purpose.into()])?
        .as_ref()
        .map(code_from)
        .transpose()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn code_macs_depend_on_key_handle_and_code() {
        let a = code_mac(b"k1", b"h", "123456");
        assert_eq!(a.len(), 32);
        assert_ne!(a, code_mac(b"k2", b"h", "123456"));
        assert_ne!(a, code_mac(b"k1", b"g", "123456"));
        assert_ne!(a, code_mac(b"k1", b"h", "123457"));
    }
}
