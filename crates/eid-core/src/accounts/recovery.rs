//! Account recovery without the old phone and without a police visit (issue 15).
//!
//! 1. `start`: the personal ID, the account's passcode, a fresh portrait that the face adapter
//!    matched, and the new phone number. Attempts are limited per personal ID by the core attempt
//!    limits (reserved before anything is compared). A code goes to the new phone.
//! 2. `confirm`: the new phone's code. A time lock starts (72 h by default): the bound phone gets
//!    an SMS with a cancel link, and the account's sessions show a banner ([`pending_for`]) with a
//!    cancel button.
//! 3. `cancel_by_token` (the SMS link) or `cancel_by_owner` (a signed-in session): the recovery
//!    ends and can never complete.
//! 4. `complete`: after the lock, with the requester's handle: the new phone and device are bound,
//!    the old devices' sessions end.
//!
//! Against a SIM swap: whoever holds the number and knows the personal ID still lacks the
//! passcode and the face; even with both, the owner's devices — which a SIM swap does not take —
//! are told for the whole lock and can cancel.

use rand::Rng;
use time::{Duration, OffsetDateTime};

use super::account::account_of;
use super::limits;
use super::Refusal;
use crate::account_key::{self, Key};
use crate::secret::{random_token, token_hash, verify_password};
use crate::sql::{self, Val};
use crate::store::{from_ms, to_ms, Store, StoreError};

/// The default time lock.
pub const DEFAULT_LOCK: Duration = Duration::hours(72);
/// How long the new phone's code lives.
pub const CODE_TTL: Duration = Duration::minutes(10);
/// Recovery starts per personal ID and day.
pub const STARTS_PER_DAY: u32 = 5;
/// Wrong codes before a recovery's code dies.
pub const CODE_TRIES: i64 = 5;

/// What the requester gives to start.
pub struct Start<'a> {
    pub personal_id: &'a str,
    pub passcode: &'a str,
    /// The new phone, E.164.
    pub new_phone: &'a str,
    /// The hash of the new device (browser or app) to bind.
    pub device_hash: Option<Vec<u8>>,
    /// The face adapter's answer on a fresh portrait.
    pub face_matched: bool,
}

impl std::fmt::Debug for Start<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Start(face {}, …)", self.face_matched)
    }
}

/// A recovery as its owner's sessions see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pending {
    pub id: i64,
    /// The new phone, masked.
    pub new_phone_masked: String,
    pub unlock_at: OffsetDateTime,
}

/// Where a recovery stands, for the requester.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Status {
    WaitingForCode,
    Locked { unlock_at: OffsetDateTime },
    Ready,
    Cancelled,
    Completed,
}

/// The step a failed verification sends the citizen to, on the fallback ladder: fingerprint at
/// an intake device, a fresh portrait, a code to a phone, an officer's attested override.
pub fn next_step(reason: &str) -> &'static str {
    match reason {
        "account.face_mismatch" => "fingerprint",
        "account.bad_passcode" => "portrait",
        "code.invalid" | "code.too_many" => "code",
        _ => "officer",
    }
}

/// Counts a failed verification under its reason and next step (an operations figure).
pub fn count_failure(
    store: &dyn Store,
    reason: &str,
    now: OffsetDateTime,
) -> Result<(), StoreError> {
    let day = now.unix_timestamp().div_euclid(86_400);
    sql::write_one(store.db(), |tx| {
        tx.exec(
            "INSERT INTO verify_failure (reason, next_step, day, n) VALUES ($1, $2, $3, 1) \
             ON CONFLICT (reason, next_step, day) DO UPDATE SET n = verify_failure.n + 1",
            &[reason.into(), next_step(reason).into(), day.into()],
        )
    })?;
    Ok(())
}

/// Failed verifications of the last `days` days: (reason, next step, count), most first.
pub fn failures(
    store: &dyn Store,
    days: i64,
    now: OffsetDateTime,
) -> Result<Vec<(String, String, i64)>, StoreError> {
    let since = now.unix_timestamp().div_euclid(86_400) - days;
    let rows = sql::read(store.db(), |tx| {
        tx.query(
            "SELECT reason, next_step, CAST(sum(n) AS BIGINT) FROM verify_failure WHERE day > $1 \
             GROUP BY reason, next_step ORDER BY 3 DESC",
            &[since.into()],
        )
    })?;
    rows.iter()
        .map(|r| {
            let g = |i: usize| r.get(i).cloned().unwrap_or(Val::Null);
            Ok((g(0).text()?, g(1).text()?, g(2).int()?))
        })
        .collect()
}

fn masked(phone: &str) -> String {
    eid_domain::PhoneNumber::parse(phone)
        .map(|p| p.masked())
        .unwrap_or_else(|_| "***".into())
}

fn code_hash(handle: &str, code: &str) -> Vec<u8> {
    token_hash(&format!("recovery:{handle}:{code}"))
}

/// Starts a recovery; returns the requester's handle (a code goes to the new phone). Failures are
/// counted for operations with their next step.
pub fn start(store: &dyn Store, r: &Start<'_>, now: OffsetDateTime) -> Result<String, Refusal> {
    let out = start_inner(store, r, now);
    if let Err(e) = &out {
        if !matches!(e, Refusal::Store(_)) {
            count_failure(store, e.code(), now)?;
        }
    }
    out
}

fn start_inner(store: &dyn Store, r: &Start<'_>, now: OffsetDateTime) -> Result<String, Refusal> {
    let phone = eid_domain::PhoneNumber::parse(r.new_phone)
        .map_err(|_| Refusal::Invalid("account.phone", "not a Vietnamese phone number".into()))?;
    // The place is reserved before anything is compared, so parallel attempts cannot pass it.
    let key = limits::hashed_key_now(store, "recover", r.personal_id)?;
    let reserved = limits::reserve_now(store, &key, STARTS_PER_DAY, Duration::days(1), now)?;
    if !reserved.granted {
        return Err(Refusal::TooManyCodes(reserved.until));
    }
    let id =
        eid_domain::PersonalId::parse(r.personal_id.trim()).map_err(|_| Refusal::BadPasscode)?;
    // No account and a wrong passcode answer alike.
    let Some(account) = account_of(store, &id)? else {
        let _ = verify_password(r.passcode, None);
        return Err(Refusal::BadPasscode);
    };
    let (_, passcode_hash) = super::account::secrets(store, &account)?;
    if !verify_password(r.passcode, passcode_hash.as_deref()) {
        return Err(Refusal::BadPasscode);
    }
    if !r.face_matched {
        return Err(Refusal::FaceMismatch);
    }
    let handle = random_token();
    let code: String = format!("{:06}", rand::rngs::OsRng.gen_range(0..1_000_000u32));
    sql::transact(store.db(), |tx| {
        let open = tx.int(
            "SELECT count(*) FROM account_recovery WHERE account_id = $1 AND state = 'waiting'",
            &[account.id.into()],
        )?;
        if open > 0 {
            return Err(Refusal::WrongState(
                "a recovery of this account is already waiting; it must end first".into(),
            ));
        }
        tx.exec(
            "INSERT INTO account_recovery (account_id, personal_id, new_phone, new_device_hash, \
             handle_hash, code_hash, state, created_at, code_expires_at) \
             VALUES ($1, $2, $3, $4, $5, $6, 'code', $7, $8)",
            &[
                account.id.into(),
                id.as_str().into(),
                phone.as_str().into(),
                r.device_hash.clone().into(),
                token_hash(&handle).into(),
                code_hash(&handle, &code).into(),
                to_ms(now).into(),
                to_ms(now + CODE_TTL).into(),
            ],
        )?;
        crate::outbox::queue_sms(
            tx,
            phone.as_str(),
            &format!("eID: Ma xac nhan khoi phuc tai khoan: {code}. Khong chia se ma nay."),
            "recovery",
            now,
        )?;
        Ok(())
    })?;
    Ok(handle)
}

/// Confirms the new phone's code; starts the time lock of `lock`, tells the bound phone (with a
/// cancel link under `base`) and returns when the lock ends.
pub fn confirm(
    store: &dyn Store,
    handle: &str,
    code: &str,
    lock: Duration,
    base: &str,
    now: OffsetDateTime,
) -> Result<OffsetDateTime, Refusal> {
    let out = sql::transact(store.db(), |tx| {
        let row = tx.row(
            "SELECT id, account_id, code_hash, state, code_tries, code_expires_at, new_phone \
             FROM account_recovery WHERE handle_hash = $1",
            &[token_hash(handle).into()],
        )?;
        let Some(row) = row else {
            return Ok(Err(Refusal::NotFound("recovery.not_found")));
        };
        let g = |i: usize| row.get(i).cloned().unwrap_or(Val::Null);
        let (id, account_id) = (g(0).int()?, g(1).int()?);
        if g(3).text()? != "code" {
            return Ok(Err(Refusal::WrongState(
                "the code was confirmed before".into(),
            )));
        }
        if g(4).int()? >= CODE_TRIES || from_ms(g(5).int()?) <= now {
            return Ok(Err(Refusal::BadCode));
        }
        let given = code_hash(handle, code.trim());
        if !crate::secret::constant_time_eq(&given, &g(2).blob()?) {
            tx.exec(
                "UPDATE account_recovery SET code_tries = code_tries + 1 WHERE id = $1",
                &[id.into()],
            )?;
            return Ok(Err(Refusal::BadCode));
        }
        let unlock_at = now + lock;
        let cancel = random_token();
        tx.exec(
            "UPDATE account_recovery SET state = 'waiting', unlock_at = $2, cancel_hash = $3 WHERE id = $1",
            &[id.into(), to_ms(unlock_at).into(), token_hash(&cancel).into()],
        )?;
        let bound = account_key::phone(tx, Key::Id(account_id))?;
        if let Some(bound) = bound {
            crate::outbox::queue_sms(
                tx,
                &bound,
                &format!(
                    "eID: Co yeu cau khoi phuc tai khoan cua ban sang so {}. Neu khong phai ban, huy ngay: {}/me/recover/cancel?t={cancel}",
                    masked(&g(6).text()?),
                    base.trim_end_matches('/')
                ),
                "recovery_notice",
                now,
            )?;
        }
        Ok::<_, StoreError>(Ok(unlock_at))
    })?;
    if let Err(e) = &out {
        count_failure(store, e.code(), now)?;
    }
    out
}

/// The owner cancels with the token from the SMS to the bound phone.
pub fn cancel_by_token(store: &dyn Store, token: &str, now: OffsetDateTime) -> Result<(), Refusal> {
    let n = sql::write_one(store.db(), |tx| {
        tx.exec(
            "UPDATE account_recovery SET state = 'cancelled', done_at = $2, cancelled_by = 'sms' \
             WHERE cancel_hash = $1 AND state IN ('code', 'waiting')",
            &[token_hash(token).into(), to_ms(now).into()],
        )
    })?;
    if n == 1 {
        Ok(())
    } else {
        Err(Refusal::NotFound("recovery.not_found"))
    }
}

/// The owner, signed in on one of their sessions, cancels every open recovery of the account.
pub fn cancel_by_owner(
    store: &dyn Store,
    personal_id: &str,
    now: OffsetDateTime,
) -> Result<u64, Refusal> {
    Ok(sql::write_one(store.db(), |tx| {
        tx.exec(
            "UPDATE account_recovery SET state = 'cancelled', done_at = $2, cancelled_by = 'session' \
             WHERE personal_id = $1 AND state IN ('code', 'waiting')",
            &[personal_id.into(), to_ms(now).into()],
        )
    })?)
}

/// The open recovery of the account, for the banner on the owner's sessions.
pub fn pending_for(store: &dyn Store, personal_id: &str) -> Result<Option<Pending>, StoreError> {
    let row = sql::read(store.db(), |tx| {
        tx.row(
            "SELECT id, new_phone, unlock_at FROM account_recovery \
             WHERE personal_id = $1 AND state = 'waiting' ORDER BY id DESC LIMIT 1",
            &[personal_id.into()],
        )
    })?;
    row.map(|r| {
        let g = |i: usize| r.get(i).cloned().unwrap_or(Val::Null);
        Ok(Pending {
            id: g(0).int()?,
            new_phone_masked: masked(&g(1).text()?),
            unlock_at: from_ms(g(2).int()?),
        })
    })
    .transpose()
}

/// Where the requester's recovery stands.
pub fn status(store: &dyn Store, handle: &str, now: OffsetDateTime) -> Result<Status, Refusal> {
    let row = sql::read(store.db(), |tx| {
        tx.row(
            "SELECT state, unlock_at FROM account_recovery WHERE handle_hash = $1",
            &[token_hash(handle).into()],
        )
    })?;
    let Some(r) = row else {
        return Err(Refusal::NotFound("recovery.not_found"));
    };
    let g = |i: usize| r.get(i).cloned().unwrap_or(Val::Null);
    Ok(match g(0).text()?.as_str() {
        "code" => Status::WaitingForCode,
        "cancelled" => Status::Cancelled,
        "completed" => Status::Completed,
        _ => match g(1).opt_int()?.map(from_ms) {
            Some(t) if t > now => Status::Locked { unlock_at: t },
            _ => Status::Ready,
        },
    })
}

/// Completes a recovery whose lock has passed: binds the new phone and device, ends the old
/// devices' sessions. Refused while locked, and for ever once cancelled.
pub fn complete(store: &dyn Store, handle: &str, now: OffsetDateTime) -> Result<(), Refusal> {
    sql::transact(store.db(), |tx| {
        let row = tx.row(
            "SELECT id, account_id, state, unlock_at, new_phone, new_device_hash, personal_id \
             FROM account_recovery WHERE handle_hash = $1",
            &[token_hash(handle).into()],
        )?;
        let Some(row) = row else {
            return Err(Refusal::NotFound("recovery.not_found"));
        };
        let g = |i: usize| row.get(i).cloned().unwrap_or(Val::Null);
        let (id, account_id) = (g(0).int()?, g(1).int()?);
        match g(2).text()?.as_str() {
            "waiting" => {}
            "cancelled" => {
                return Err(Refusal::WrongState(
                    "the account's owner cancelled this recovery".into(),
                ))
            }
            other => return Err(Refusal::WrongState(format!("the recovery is {other}"))),
        }
        let unlock_at = g(3).opt_int()?.map(from_ms).unwrap_or(now);
        if unlock_at > now {
            return Err(Refusal::WrongState(
                "the recovery's time lock has not ended".into(),
            ));
        }
        let new_phone = g(4).text()?;
        let old = account_key::row(
            tx,
            "SELECT phone, res_path FROM account WHERE {account}",
            &[],
            Key::Id(account_id),
        )?;
        let at = |i: usize| old.as_ref().and_then(|r| r.get(i).cloned());
        let old_phone = at(0).map(|v| v.text()).transpose()?;
        let res_path = at(1).map(|v| v.int()).transpose()?;
        account_key::exec(
            tx,
            "UPDATE account SET phone = $1, device_hash = $2, updated_at = $3 WHERE {account}",
            &[
                new_phone.as_str().into(),
                g(5).opt_blob()?.into(),
                to_ms(now).into(),
            ],
            Key::hinted(account_id, res_path),
        )?;
        tx.exec(
            "UPDATE citizen_session SET revoked = 1 WHERE account_id = $1",
            &[account_id.into()],
        )?;
        tx.exec(
            "UPDATE citizen_web_session SET ended_at = $1 WHERE personal_id = $2 AND ended_at IS NULL",
            &[to_ms(now).into(), g(6).text()?.into()],
        )?;
        tx.exec(
            "UPDATE account_recovery SET state = 'completed', done_at = $2 WHERE id = $1",
            &[id.into(), to_ms(now).into()],
        )?;
        for to in [Some(new_phone), old_phone].into_iter().flatten() {
            crate::outbox::queue_sms(
                tx,
                &to,
                "eID: Tai khoan cua ban da duoc khoi phuc sang so dien thoai va thiet bi moi.",
                "recovery_done",
                now,
            )?;
        }
        Ok(())
    })
}
