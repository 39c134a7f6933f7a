//! The citizen's browser sessions: the `/me` pages and the OpenID Connect provider sign in
//! through them.
//!
//! A browser is a device, bound as the app's device is: [`sign_in`] checks the password with the
//! app's rule ([`check_credentials`] with its limits and equal timing, the account's locks, the
//! bound device or a code to the bound phone) and opens a session at level 1 (`amr` "pwd", or
//! "pwd otp" after a new browser's code, [`confirm_device`]). [`step_up`] checks the passcode
//! (its own limit, [`check_passcode`]) and raises a level-2 account's session to level 2 (`amr`
//! gains "pin", `auth_time` moves). The store keeps only the SHA-256 of the session token and
//! of the browser's device identifier.
//!
//! A session is live until [`end`] (or [`end_all_for`]), until it has gone unused for
//! [`Settings::web_idle`], and at most [`Settings::web_ttl`] after it started. [`find`] also
//! reads the account's locks (the register's included): a locked account's session ends there.
//! Sessions end in these functions and nowhere else.

use std::fmt;

use eid_domain::redact;
use eid_domain::{AccountLevel, PersonalId};
use time::{Duration, OffsetDateTime};

use crate::secret::{hex, random_token, token_hash};
use crate::sql::{self, SqlRow, Tx, Val};
use crate::store::{from_ms, to_ms, Store, StoreError};

use super::*;

/// A live browser session. Its `Debug` masks the personal ID and hides the device.
#[derive(Clone, PartialEq, Eq)]
pub struct WebSession {
    pub id: i64,
    pub personal_id: PersonalId,
    /// The hex SHA-256 of the browser's device identifier (never the identifier itself).
    pub device_id: String,
    /// The level reached in this session: 1 after the password, 2 after the passcode.
    pub level: AccountLevel,
    /// When the person last proved a secret in this session.
    pub auth_time: OffsetDateTime,
    /// The methods used, in order: "pwd", then "otp" (a new browser's code), "pin" (passcode).
    pub amr: Vec<String>,
}

impl fmt::Debug for WebSession {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WebSession")
            .field("id", &self.id)
            .field("personal_id", &redact::Id(self.personal_id.as_str()))
            .field("device_id", &redact::Hidden)
            .field("level", &self.level)
            .field("auth_time", &self.auth_time)
            .field("amr", &self.amr)
            .finish()
    }
}

/// Writes a new level-1 session on `device_hash` for `a`; returns the token and its absolute
/// end. For [`Front::Web`]'s sign-in, inside its transaction.
pub(super) fn open_in(
    tx: &mut dyn Tx,
    s: &Settings,
    a: &Account,
    device_hash: &[u8],
    amr: &[&str],
    now: OffsetDateTime,
) -> Result<(String, OffsetDateTime), StoreError> {
    let token = random_token();
    let expires_at = now + s.web_ttl;
    let idle_until = (now + s.web_idle).min(expires_at);
    tx.exec(
        "INSERT INTO citizen_web_session (token_hash, account_id, personal_id, device_hash, level, \
         auth_time, amr, created_at, last_seen, idle_until, expires_at) \
         VALUES ($1, $2, $3, $4, 1, $5, $6, $5, $5, $7, $8)",
        &[
            token_hash(&token).into(),
            a.id.into(),
            a.personal_id.as_str().into(),
            device_hash.to_vec().into(),
            to_ms(now).into(),
            amr.join(" ").into(),
            to_ms(idle_until).into(),
            to_ms(expires_at).into(),
        ],
    )?;
    Ok((token, expires_at))
}

/// Opens a level-1 session for an account whose password was just checked elsewhere (the
/// caller is responsible for that check); the token and the session.
pub fn start(
    store: &dyn Store,
    s: &Settings,
    a: &Account,
    device_hash: &[u8],
    amr: &[&str],
    now: OffsetDateTime,
) -> Result<(String, WebSession), StoreError> {
    let token = sql::transact(store.db(), |tx| {
        Ok::<_, StoreError>(open_in(tx, s, a, device_hash, amr, now)?.0)
    })?;
    let session = find(store, &token, now)?
        .ok_or_else(|| StoreError::Corrupt("a web session just written is not found".into()))?;
    Ok((token, session))
}

/// Signs a person in on a browser (its device hash): the app's rule, with a browser session.
/// Slow on purpose (Argon2): call it off the async runtime.
pub fn sign_in(
    store: &dyn Store,
    s: &Settings,
    c: &Credentials<'_>,
    device_hash: &[u8],
    now: OffsetDateTime,
) -> Result<SignIn, Refusal> {
    let (a, key) = check_credentials_keyed(store, s, c, "password", Some(device_hash), now)?;
    signin_for(store, s, &a, device_hash, Front::Web, key.as_deref(), now)
}

/// Binds a new browser with the code sent to the bound phone, ends every other session of the
/// account (the app's and the browsers') and opens one here ("pwd otp").
pub fn confirm_device(
    store: &dyn Store,
    s: &Settings,
    handle: &str,
    code: &str,
    now: OffsetDateTime,
) -> Result<SignIn, Refusal> {
    confirm_device_for(store, s, handle, code, Front::Web, now)
}

const COLS: &str =
    "id, personal_id, device_hash, level, auth_time, amr, last_seen, idle_until, account_id";

struct Row {
    session: WebSession,
    last_seen: OffsetDateTime,
    idle_until: OffsetDateTime,
    account_id: i64,
}

fn row_from(r: &SqlRow) -> Result<Row, StoreError> {
    let g = |i: usize| r.get(i).cloned().unwrap_or(Val::Null);
    let pid = g(1).text()?;
    Ok(Row {
        session: WebSession {
            id: g(0).int()?,
            personal_id: PersonalId::parse(&pid)
                .map_err(|e| StoreError::Corrupt(format!("web session personal ID: {e}")))?,
            device_id: hex(&g(2).blob()?),
            level: AccountLevel::from_number(g(3).int()?).map_err(corrupt)?,
            auth_time: from_ms(g(4).int()?),
            amr: g(5).text()?.split_whitespace().map(str::to_owned).collect(),
        },
        last_seen: from_ms(g(6).int()?),
        idle_until: from_ms(g(7).int()?),
        account_id: g(8).int()?,
    })
}

/// Use within this long of the last recorded use is not written down (one write a minute at
/// most per session, not one per page).
const SEEN_GRAIN: Duration = Duration::minutes(1);

/// The live session a token names, if any. Slides its idle end forward; ends it (and answers
/// `None`) when the account is locked — by the holder, an officer or the register — or no
/// longer active.
pub fn find(
    store: &dyn Store,
    token: &str,
    now: OffsetDateTime,
) -> Result<Option<WebSession>, StoreError> {
    let found = sql::read(store.db(), |tx| {
        // The session, and on PostgreSQL its account's partition beside it (`account_key`);
        // then the account from that partition, in the same read.
        let sql = format!(
            "SELECT {COLS}, {} FROM citizen_web_session WHERE token_hash = $1 AND ended_at IS NULL \
             AND expires_at > $2 AND idle_until > $2",
            account_key::partition_hint(tx.engine(), "account_id")
        );
        let Some(r) = tx.row(&sql, &[token_hash(token).into(), to_ms(now).into()])? else {
            return Ok(None);
        };
        let row = row_from(&r)?;
        let hint = r.get(9).cloned().unwrap_or(Val::Null).opt_int()?;
        let account = account_where(tx, Key::hinted(row.account_id, hint))?;
        Ok::<_, StoreError>(Some((row, account)))
    })?;
    let Some((row, account)) = found else {
        return Ok(None);
    };
    let usable = match account {
        Some(a) => {
            let a = sync_account_lock(store, a, now)?;
            a.is_active() && a.locks().is_empty()
        }
        None => false,
    };
    if !usable {
        end(store, row.session.id, now)?;
        return Ok(None);
    }
    if now - row.last_seen >= SEEN_GRAIN {
        let idle = row.idle_until - row.last_seen;
        sql::transact(store.db(), |tx| {
            tx.exec(
                "UPDATE citizen_web_session SET last_seen = $1, \
                 idle_until = CASE WHEN $2 < expires_at THEN $2 ELSE expires_at END \
                 WHERE id = $3 AND ended_at IS NULL",
                &[
                    to_ms(now).into(),
                    to_ms(now + idle).into(),
                    row.session.id.into(),
                ],
            )?;
            Ok::<_, StoreError>(())
        })?;
    }
    Ok(Some(row.session))
}

/// The account behind a session (its locks as the register has them).
pub fn account(
    store: &dyn Store,
    session: &WebSession,
    now: OffsetDateTime,
) -> Result<Option<Account>, StoreError> {
    match account_of(store, &session.personal_id)? {
        Some(a) => sync_account_lock(store, a, now).map(Some),
        None => Ok(None),
    }
}

/// Raises a session to level 2 with the passcode: only a level-2 account's
/// ([`Refusal::Level2Required`] otherwise, before any check), through [`check_passcode`] with
/// its limit. `amr` gains "pin" and `auth_time` becomes now.
pub fn step_up(
    store: &dyn Store,
    s: &Settings,
    session: &WebSession,
    passcode: &str,
    now: OffsetDateTime,
) -> Result<WebSession, Refusal> {
    let a = account(store, session, now)?.ok_or(Refusal::BadCredentials)?;
    let locks = a.locks();
    if !locks.is_empty() {
        end(store, session.id, now)?;
        return Err(Refusal::AccountLocked(locks));
    }
    if a.level != AccountLevel::Two {
        return Err(Refusal::Level2Required);
    }
    check_passcode(store, s, &a, passcode, now)?;
    let mut amr = session.amr.clone();
    if !amr.iter().any(|m| m == "pin") {
        amr.push("pin".to_owned());
    }
    let changed = sql::transact(store.db(), |tx| {
        tx.exec(
            "UPDATE citizen_web_session SET level = 2, amr = $1, auth_time = $2, last_seen = $2 \
             WHERE id = $3 AND ended_at IS NULL",
            &[amr.join(" ").into(), to_ms(now).into(), session.id.into()],
        )
    })?;
    if changed == 0 {
        return Err(Refusal::BadCredentials);
    }
    Ok(WebSession {
        level: AccountLevel::Two,
        auth_time: now,
        amr,
        ..session.clone()
    })
}

/// Ends a session (again is harmless).
pub fn end(store: &dyn Store, id: i64, now: OffsetDateTime) -> Result<(), StoreError> {
    sql::transact(store.db(), |tx| {
        tx.exec(
            "UPDATE citizen_web_session SET ended_at = $1 WHERE id = $2 AND ended_at IS NULL",
            &[to_ms(now).into(), id.into()],
        )?;
        Ok(())
    })
}

/// Ends every browser session of a person; how many had not ended yet.
pub fn end_all_for(
    store: &dyn Store,
    personal_id: &PersonalId,
    now: OffsetDateTime,
) -> Result<u64, StoreError> {
    sql::transact(store.db(), |tx| {
        tx.exec(
            "UPDATE citizen_web_session SET ended_at = $1 WHERE personal_id = $2 AND ended_at IS NULL",
            &[to_ms(now).into(), personal_id.as_str().into()],
        )
    })
}

/// [`end_all_for`] inside a transaction, by account.
pub(super) fn end_all_in(
    tx: &mut dyn Tx,
    account_id: i64,
    now: OffsetDateTime,
) -> Result<u64, StoreError> {
    tx.exec(
        "UPDATE citizen_web_session SET ended_at = $1 WHERE account_id = $2 AND ended_at IS NULL",
        &[to_ms(now).into(), account_id.into()],
    )
}

/// A device with live sessions, as the holder's "my devices" shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceSessions {
    /// The hex SHA-256 of the device identifier.
    pub device_id: String,
    /// A short label (its first 8 hex digits).
    pub label: String,
    /// Whether the account is bound to this device.
    pub bound: bool,
    /// Live browser sessions and app sessions on it.
    pub browser_sessions: u32,
    pub app_sessions: u32,
    /// The last use seen (a browser's last page, an app session's start).
    pub last_seen: OffsetDateTime,
}

/// The devices with live sessions of the holder (browsers and the app), the bound one first,
/// then the most recently used.
pub fn devices_of(
    store: &dyn Store,
    a: &Account,
    now: OffsetDateTime,
) -> Result<Vec<DeviceSessions>, StoreError> {
    let rows = sql::read(store.db(), |tx| {
        let mut out: Vec<(Vec<u8>, bool, i64)> = Vec::new();
        for r in tx.query(
            "SELECT device_hash, last_seen FROM citizen_web_session WHERE account_id = $1 \
             AND ended_at IS NULL AND expires_at > $2 AND idle_until > $2",
            &[a.id.into(), to_ms(now).into()],
        )? {
            let g = |i: usize| r.get(i).cloned().unwrap_or(Val::Null);
            out.push((g(0).blob()?, true, g(1).int()?));
        }
        for r in tx.query(
            "SELECT device_hash, created_at FROM citizen_session WHERE account_id = $1 \
             AND revoked = 0 AND expires_at > $2",
            &[a.id.into(), to_ms(now).into()],
        )? {
            let g = |i: usize| r.get(i).cloned().unwrap_or(Val::Null);
            out.push((g(0).blob()?, false, g(1).int()?));
        }
        Ok::<_, StoreError>(out)
    })?;
    let mut devices: Vec<DeviceSessions> = Vec::new();
    for (hash, browser, seen) in rows {
        let id = hex(&hash);
        let i = match devices.iter().position(|d| d.device_id == id) {
            Some(i) => i,
            None => {
                devices.push(DeviceSessions {
                    label: id.chars().take(8).collect(),
                    bound: a.device_hash.as_deref() == Some(hash.as_slice()),
                    device_id: id,
                    browser_sessions: 0,
                    app_sessions: 0,
                    last_seen: from_ms(seen),
                });
                devices.len() - 1
            }
        };
        if let Some(d) = devices.get_mut(i) {
            if browser {
                d.browser_sessions += 1;
            } else {
                d.app_sessions += 1;
            }
            d.last_seen = d.last_seen.max(from_ms(seen));
        }
    }
    devices.sort_by(|x, y| y.bound.cmp(&x.bound).then(y.last_seen.cmp(&x.last_seen)));
    Ok(devices)
}

/// Signs the holder's device (its hex hash, as [`devices_of`] lists it) out: its browser
/// sessions end and its app sessions are revoked. Recorded as `device_signed_out`. How many
/// sessions ended.
pub fn sign_out_device(
    store: &dyn Store,
    a: &Account,
    device_id: &str,
    now: OffsetDateTime,
) -> Result<u64, Refusal> {
    let Some(hash) = crate::intake::unhex(device_id).filter(|h| h.len() == 32) else {
        return Err(Refusal::NotFound("device.not_found"));
    };
    sql::transact(store.db(), |tx| {
        let web = tx.exec(
            "UPDATE citizen_web_session SET ended_at = $1 WHERE account_id = $2 \
             AND device_hash = $3 AND ended_at IS NULL",
            &[to_ms(now).into(), a.id.into(), hash.clone().into()],
        )?;
        let app = tx.exec(
            "UPDATE citizen_session SET revoked = 1 WHERE account_id = $1 AND device_hash = $2 \
             AND revoked = 0",
            &[a.id.into(), hash.clone().into()],
        )?;
        if web + app == 0 {
            return Err(Refusal::NotFound("device.not_found"));
        }
        record(
            tx,
            NewEvent::account(a, "device_signed_out", &crate::store::Actor::Anonymous)
                .detail(serde_json::json!({ "device": device_label(&hash) })),
            now,
        )?;
        Ok(web + app)
    })
}
