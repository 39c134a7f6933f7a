//! Sign-in, sessions and devices.

use std::fmt;

use eid_domain::redact;
use eid_domain::PersonalId;
use time::OffsetDateTime;

use crate::secret::{constant_time_eq, hex, random_token, token_hash, verify_password};
use crate::sql::{self, Tx, Val};
use crate::store::{from_ms, to_ms, Actor, Store, StoreError};

use super::*;

/// What a sign-in gives. Its `Debug` hides the token and the handle.
#[derive(Clone, PartialEq, Eq)]
pub enum SignIn {
    /// A session token for the bound device.
    Session {
        token: String,
        expires_at: OffsetDateTime,
    },
    /// A new device: a code went to the bound phone; confirm with this handle.
    DeviceCheck { handle: String },
}

/// Whether a lock-out is in force.
pub fn locked_out(a: &Account, now: OffsetDateTime) -> Option<OffsetDateTime> {
    a.locked_out_until.filter(|&u| u > now)
}

/// Counts a wrong password or passcode; locks out after too many.
pub fn secret_failed(
    store: &dyn Store,
    s: &Settings,
    a: &Account,
    what: &str,
    now: OffsetDateTime,
) -> Result<Option<OffsetDateTime>, StoreError> {
    sql::transact(store.db(), |tx| {
        // Counted in the database (failures sent at once all count), and never while a
        // lock-out is in force: a failure that was already in flight leaves it as it is.
        account_key::exec(
            tx,
            "UPDATE account SET failures = failures + 1, updated_at = $1 WHERE {account} \
             AND (locked_out_until IS NULL OR locked_out_until <= $1)",
            &[to_ms(now).into()],
            a.key(),
        )?;
        let row = account_key::row(
            tx,
            "SELECT failures, locked_out_until FROM account WHERE {account}",
            &[],
            a.key(),
        )?
        .unwrap_or_default();
        let g = |i: usize| row.get(i).cloned().unwrap_or(Val::Null);
        let failures = g(0).opt_int()?.unwrap_or(0);
        let in_force = g(1).opt_int()?.map(from_ms).filter(|&u| u > now);
        let lock =
            (in_force.is_none() && failures >= i64::from(s.max_failures)).then(|| now + s.lockout);
        if let Some(until) = lock {
            account_key::exec(
                tx,
                "UPDATE account SET failures = 0, locked_out_until = $1 WHERE {account}",
                &[to_ms(until).into()],
                a.key(),
            )?;
        }
        let actor = Actor::Anonymous;
        record(
            tx,
            NewEvent::account(a, "secret_failed", &actor)
                .detail(serde_json::json!({ "secret": what })),
            now,
        )?;
        if in_force.is_some() {
            return Ok(in_force);
        }
        if let Some(until) = lock {
            record(
                tx,
                NewEvent::account(a, "locked_out", &actor)
                    .detail(serde_json::json!({ "minutes": s.lockout.whole_minutes() })),
                now,
            )?;
            return Ok(Some(until));
        }
        Ok(None)
    })
}

pub(super) fn new_session(
    tx: &mut dyn Tx,
    s: &Settings,
    a: &Account,
    device_hash: &[u8],
    now: OffsetDateTime,
) -> Result<SignIn, StoreError> {
    let token = random_token();
    let expires_at = now + s.session_ttl;
    tx.exec(
        "INSERT INTO citizen_session (token_hash, account_id, device_hash, created_at, expires_at) VALUES ($1, $2, $3, $4, $5)",
        &[token_hash(&token).into(), a.id.into(), device_hash.to_vec().into(), to_ms(now).into(), to_ms(expires_at).into()],
    )?;
    clear_failures(tx, a)?;
    Ok(SignIn::Session { token, expires_at })
}

/// A right secret clears the account's failure count and lock-out. An account read with
/// neither is not written (the returning citizen's sign-in: one statement and one row version
/// fewer); a failure counted by a concurrent request after that read then stays counted, the
/// cautious side.
pub(super) fn clear_failures(tx: &mut dyn Tx, a: &Account) -> Result<(), StoreError> {
    if a.failures == 0 && a.locked_out_until.is_none() {
        return Ok(());
    }
    account_key::exec(
        tx,
        "UPDATE account SET failures = 0, locked_out_until = NULL WHERE {account}",
        &[],
        a.key(),
    )?;
    Ok(())
}

/// Which front a sign-in opens a session for: the app (a bearer token in `citizen_session`) or
/// a browser (the `/me` pages, [`super::web_session`]). The device rule is the same for both.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Front {
    App,
    Web,
}

impl Front {
    /// The prefix of a device-check code's payload (the app's has none, as before).
    fn payload(self, device_hash: &[u8]) -> String {
        match self {
            Front::App => hex(device_hash),
            Front::Web => format!("web:{}", hex(device_hash)),
        }
    }

    /// The front and device hash a device-check code's payload names.
    fn of_payload(payload: &str) -> (Front, Vec<u8>) {
        match payload.strip_prefix("web:") {
            Some(h) => (Front::Web, crate::intake::unhex(h).unwrap_or_default()),
            None => (
                Front::App,
                crate::intake::unhex(payload).unwrap_or_default(),
            ),
        }
    }

    /// A session for this front on a device the account is bound to.
    fn open(
        self,
        tx: &mut dyn Tx,
        s: &Settings,
        a: &Account,
        device_hash: &[u8],
        amr: &[&str],
        now: OffsetDateTime,
    ) -> Result<SignIn, StoreError> {
        match self {
            Front::App => new_session(tx, s, a, device_hash, now),
            Front::Web => {
                clear_failures(tx, a)?;
                let (token, expires_at) = web_session::open_in(tx, s, a, device_hash, amr, now)?;
                Ok(SignIn::Session { token, expires_at })
            }
        }
    }
}

/// Completes a sign-in whose password was right: a session on the bound device, or a code to
/// the bound phone for a new device.
pub fn signin(
    store: &dyn Store,
    s: &Settings,
    a: &Account,
    device_hash: &[u8],
    now: OffsetDateTime,
) -> Result<SignIn, Refusal> {
    signin_for(store, s, a, device_hash, Front::App, None, now)
}

/// [`signin`] for a front. `clear` is the limit key of the password just checked: forgotten
/// in the same transaction as the session or the device code.
pub(super) fn signin_for(
    store: &dyn Store,
    s: &Settings,
    a: &Account,
    device_hash: &[u8],
    front: Front,
    clear: Option<&str>,
    now: OffsetDateTime,
) -> Result<SignIn, Refusal> {
    let a = match sync_account_lock(store, a.clone(), now) {
        Ok(a) => a,
        Err(e) => {
            if let Some(k) = clear {
                limits::clear_now(store, k)?;
            }
            return Err(e.into());
        }
    };
    let locks = a.locks();
    if !locks.is_empty() {
        if let Some(k) = clear {
            limits::clear_now(store, k)?;
        }
        return Err(Refusal::AccountLocked(locks));
    }
    sql::transact(store.db(), |tx| {
        if let Some(k) = clear {
            limits::clear(tx, k)?;
        }
        let actor = Actor::Anonymous;
        let bound = a
            .device_hash
            .as_deref()
            .is_some_and(|d| constant_time_eq(d, device_hash));
        if bound || a.device_hash.is_none() {
            if a.device_hash.is_none() {
                account_key::exec(
                    tx,
                    "UPDATE account SET device_hash = $1 WHERE {account}",
                    &[device_hash.to_vec().into()],
                    a.key(),
                )?;
            }
            let out = front.open(tx, s, &a, device_hash, &["pwd"], now)?;
            record(
                tx,
                NewEvent::account(&a, "signed_in", &actor)
                    .detail(serde_json::json!({ "device": device_label(device_hash) })),
                now,
            )?;
            return Ok(out);
        }
        reserve_issue(tx, s, "device", a.personal_id.as_str(), &a.phone, now)?;
        let (handle, code, _) = new_code(
            tx,
            NewCode {
                purpose: "device",
                personal_id: Some(a.personal_id.as_str()),
                account_id: Some(a.id),
                application_id: None,
                phone: Some(&a.phone),
                payload: front.payload(device_hash),
                ttl: s.otp_ttl,
                second: false,
            },
            now,
        )?;
        queue_sms(
            tx,
            &a.phone,
            &format!("Ma xac thuc dang nhap tren thiet bi moi: {code}. Neu khong phai ban, goi 1900 0368."),
            "device",
            now,
        )?;
        record(
            tx,
            NewEvent::account(&a, "device_check_sent", &actor)
                .detail(serde_json::json!({ "device": device_label(device_hash) })),
            now,
        )?;
        Ok(SignIn::DeviceCheck { handle })
    })
}

/// A short label for a device hash in events (not the device's identifier).
pub(super) fn device_label(h: &[u8]) -> String {
    hex(h.get(..4).unwrap_or(h))
}

/// Confirms a new device with the code sent to the bound phone: the device becomes the bound
/// one and every other session ends.
pub fn confirm_device(
    store: &dyn Store,
    s: &Settings,
    handle: &str,
    code: &str,
    now: OffsetDateTime,
) -> Result<SignIn, Refusal> {
    confirm_device_for(store, s, handle, code, Front::App, now)
}

/// [`confirm_device`] for a front: a code sent for the other front's sign-in is refused as a
/// wrong code.
pub(super) fn confirm_device_for(
    store: &dyn Store,
    s: &Settings,
    handle: &str,
    code: &str,
    front: Front,
    now: OffsetDateTime,
) -> Result<SignIn, Refusal> {
    with_code(
        store,
        s,
        now,
        (code, None),
        |tx| {
            let found = code_by_handle(tx, "device", handle)?;
            Ok(found)
        },
        |tx, c| {
            let Some(a) = account_where(tx, Key::Id(c.account_id.unwrap_or(-1)))? else {
                return Err(Refusal::BadCode);
            };
            if !a.locks().is_empty() {
                return Err(Refusal::AccountLocked(a.locks()));
            }
            let (sent_for, device) = Front::of_payload(&c.payload);
            if sent_for != front {
                return Err(Refusal::BadCode);
            }
            account_key::exec(
                tx,
                "UPDATE account SET device_hash = $1, updated_at = $2 WHERE {account}",
                &[device.clone().into(), to_ms(now).into()],
                a.key(),
            )?;
            tx.exec(
                "UPDATE citizen_session SET revoked = 1 WHERE account_id = $1",
                &[a.id.into()],
            )?;
            web_session::end_all_in(tx, a.id, now)?;
            let actor = Actor::Anonymous;
            record(
                tx,
                NewEvent::account(&a, "device_bound", &actor)
                    .detail(serde_json::json!({ "device": device_label(&device) })),
                now,
            )?;
            let out = front.open(tx, s, &a, &device, &["pwd", "otp"], now)?;
            record(
                tx,
                NewEvent::account(&a, "signed_in", &actor)
                    .detail(serde_json::json!({ "device": device_label(&device) })),
                now,
            )?;
            Ok(out)
        },
    )
}

/// The account behind a session token, if the session is live. Locks are the caller's to check.
pub fn session_account(
    store: &dyn Store,
    token: &str,
    now: OffsetDateTime,
) -> Result<Option<Account>, StoreError> {
    sql::read(store.db(), |tx| {
        // The session, and on PostgreSQL its account's partition from `account_key`; then the
        // account from that one partition (see `crate::account_key`).
        let sql = format!(
            "SELECT s.account_id, {} FROM citizen_session s \
             WHERE s.token_hash = $1 AND s.revoked = 0 AND s.expires_at > $2",
            account_key::partition_hint(tx.engine(), "s.account_id")
        );
        let Some(row) = tx.row(&sql, &[token_hash(token).into(), to_ms(now).into()])? else {
            return Ok(None);
        };
        let g = |i: usize| row.get(i).cloned().unwrap_or(Val::Null);
        account_where(tx, Key::hinted(g(0).int()?, g(1).opt_int()?))
    })
}

/// Ends a session.
pub fn sign_out(store: &dyn Store, token: &str) -> Result<(), StoreError> {
    sql::transact(store.db(), |tx| {
        tx.exec(
            "UPDATE citizen_session SET revoked = 1 WHERE token_hash = $1",
            &[token_hash(token).into()],
        )?;
        Ok(())
    })
}

impl fmt::Debug for SignIn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SignIn::Session { expires_at, .. } => f
                .debug_struct("Session")
                .field("token", &redact::Hidden)
                .field("expires_at", expires_at)
                .finish(),
            SignIn::DeviceCheck { .. } => f
                .debug_struct("DeviceCheck")
                .field("handle", &redact::Hidden)
                .finish(),
        }
    }
}

// ----------------------------------------------------------------------------------------------
// Credential checks: the whole rule, for the citizen app and any other front (OpenID Connect)

/// What a person presents to sign in or to lift their own lock, as typed: the personal ID is
/// parsed here, so that a malformed one is answered like an unknown one.
pub struct Credentials<'a> {
    pub personal_id: &'a str,
    pub password: &'a str,
    /// The passcode as well (the holder's unlock asks for both).
    pub passcode: Option<&'a str>,
}

impl fmt::Debug for Credentials<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials")
            .field("personal_id", &redact::Hidden)
            .field("password", &redact::Hidden)
            .field("passcode", &self.passcode.map(|_| redact::Hidden))
            .finish()
    }
}

/// The hash of an app's device identifier (the store never keeps the identifier itself), or
/// why the identifier is refused.
pub fn device_hash(raw: &str) -> Result<Vec<u8>, &'static str> {
    let raw = raw.trim();
    if raw.len() < 8 || raw.len() > 128 || !raw.bytes().all(|b| b.is_ascii_graphic()) {
        return Err("device_id is 8 to 128 printable ASCII characters");
    }
    Ok(token_hash(raw))
}

/// The keys that count password checks for a personal ID as typed: from any device, and from
/// the account's bound device (which strangers do not know, so their failures cannot lock the
/// holder out of it).
pub(super) fn password_keys(tx: &mut dyn Tx, personal_id: &str) -> Result<[String; 2], StoreError> {
    let any = limits::hashed_key(tx, "pw", personal_id)?;
    let bound = format!("{any}:bound");
    Ok([any, bound])
}

/// The key that counts passcode checks for an account.
pub(super) fn passcode_key(a: &Account) -> String {
    format!("pc:{}", a.id)
}

/// Checks a personal ID with its password (and passcode, when given) and returns the account.
///
/// Before any hash is compared, the check reserves its place under the personal ID as typed
/// ([`limits::reserve`]: at most [`Settings::max_failures`] checks per [`Settings::lockout`]
/// window), whether or not the ID names an account, so that an unknown ID answers exactly like
/// a known one, [`Refusal::LockedOut`] included. A right secret clears the count. An unknown
/// person, a malformed ID, a person without an active account and a wrong secret get the same
/// answer ([`Refusal::BadCredentials`]) after the same Argon2 work: an unknown person is checked
/// against a dummy hash. Wrong secrets of an account are recorded ([`secret_failed`], as
/// `what`). Slow on purpose: call it off the async runtime.
pub fn check_credentials(
    store: &dyn Store,
    s: &Settings,
    c: &Credentials<'_>,
    what: &str,
    now: OffsetDateTime,
) -> Result<Account, Refusal> {
    check_credentials_from(store, s, c, what, None, now)
}

/// [`check_credentials`] from a device (its hash): the account's bound device counts its
/// checks under a key of its own.
pub(super) fn check_credentials_from(
    store: &dyn Store,
    s: &Settings,
    c: &Credentials<'_>,
    what: &str,
    device: Option<&[u8]>,
    now: OffsetDateTime,
) -> Result<Account, Refusal> {
    let (a, key) = check_credentials_keyed(store, s, c, what, device, now)?;
    if let Some(key) = key {
        limits::clear_now(store, &key)?;
    }
    Ok(a)
}

/// [`check_credentials_from`] that leaves the right secret's limit key for the caller to clear
/// in the transaction it writes next (a sign-in's session), so a sign-in writes once after its
/// reservation. `None` when nothing is counted under the key (the bound device's right
/// password with no failure in the window): there is nothing to clear.
pub(super) fn check_credentials_keyed(
    store: &dyn Store,
    s: &Settings,
    c: &Credentials<'_>,
    what: &str,
    device: Option<&[u8]>,
    now: OffsetDateTime,
) -> Result<(Account, Option<String>), Refusal> {
    let parsed = PersonalId::parse(c.personal_id).ok();
    let found = match &parsed {
        Some(id) => active_account_and_secrets(store, id)?,
        None => None,
    };
    let (account, pw, pc) = match found {
        Some((a, pw, pc)) => (Some(a), pw, pc),
        None => (None, None, None),
    };
    let typed = parsed.as_ref().map_or_else(
        || c.personal_id.trim().to_owned(),
        |id| id.as_str().to_owned(),
    );
    let bound = match (
        device,
        account.as_ref().and_then(|a| a.device_hash.as_deref()),
    ) {
        (Some(d), Some(b)) => constant_time_eq(d, b),
        _ => false,
    };
    let any = limits::hashed_key_now(store, "pw", &typed)?;
    let key = if bound { format!("{any}:bound") } else { any };
    if let (true, Some(a)) = (bound, &account) {
        // The holder's own device: only someone holding its secret identifier gets here, so
        // its checks are taken one at a time on this node and counted when they fail, and a
        // right password writes nothing before the session (the returning citizen's sign-in
        // is then two writes with its token). Across n nodes a burst with the stolen
        // identifier gets at most n − 1 checks beyond the limit.
        return limits::one_at_a_time(&key, || {
            // Passcodes guessed to the limit on the holder's session lock the password out
            // too; both counts come in one read.
            let [passcodes, passwords] = limits::look(store, [&passcode_key(a), &key])?;
            if let Some(until) = passcodes.spent(s.max_failures, s.lockout, now) {
                return Err(Refusal::LockedOut(until));
            }
            let (count, until) = passwords.count(s.lockout, now);
            if count >= i64::from(s.max_failures) {
                return Err(Refusal::LockedOut(until));
            }
            let mut ok = verify_password(c.password, pw.as_deref());
            if let Some(p) = c.passcode {
                ok &= verify_password(p, pc.as_deref());
            }
            if ok {
                // Nothing counted under the key in its window: nothing to clear.
                return Ok((a.clone(), (count > 0).then(|| key.clone())));
            }
            let r = limits::reserve_now(store, &key, s.max_failures, s.lockout, now)?;
            secret_failed(store, s, a, what, now)?;
            Err(if !r.granted || r.count >= i64::from(s.max_failures) {
                Refusal::LockedOut(r.until)
            } else {
                Refusal::BadCredentials
            })
        });
    }
    if let Some(a) = &account {
        if let Some(until) = limits::spent(store, &passcode_key(a), s.max_failures, s.lockout, now)?
        {
            return Err(Refusal::LockedOut(until));
        }
    }
    let r = limits::reserve_now(store, &key, s.max_failures, s.lockout, now)?;
    if !r.granted {
        return Err(Refusal::LockedOut(r.until));
    }
    let spent = r.count >= i64::from(s.max_failures);
    let mut ok = verify_password(c.password, pw.as_deref());
    if let Some(p) = c.passcode {
        ok &= verify_password(p, pc.as_deref());
    }
    let Some(a) = account else {
        return Err(if spent {
            Refusal::LockedOut(r.until)
        } else {
            Refusal::BadCredentials
        });
    };
    if !ok {
        secret_failed(store, s, &a, what, now)?;
        return Err(if spent {
            Refusal::LockedOut(r.until)
        } else {
            Refusal::BadCredentials
        });
    }
    Ok((a, Some(key)))
}

/// Signs a person in with personal ID and password from a device (its hash, see
/// [`device_hash`]): the credential check with its equal timing and lock-out, then the
/// account's own locks (the register's included), then a session on the bound device or a code
/// to the bound phone for a new one.
pub fn sign_in(
    store: &dyn Store,
    s: &Settings,
    c: &Credentials<'_>,
    device_hash: &[u8],
    now: OffsetDateTime,
) -> Result<SignIn, Refusal> {
    let (a, key) = check_credentials_keyed(store, s, c, "password", Some(device_hash), now)?;
    signin_for(store, s, &a, device_hash, Front::App, key.as_deref(), now)
}

/// The holder lifts their own lock with password and passcode (no session: a locked account
/// has none).
pub fn unlock(
    store: &dyn Store,
    s: &Settings,
    c: &Credentials<'_>,
    now: OffsetDateTime,
) -> Result<Account, Refusal> {
    let a = check_credentials(store, s, c, "unlock", now)?;
    set_lock(store, &a, LockBy::Holder, false, now)
}

/// Checks the signed-in holder's passcode. The check reserves its place first (at most
/// [`Settings::max_failures`] per [`Settings::lockout`] window for the account, then
/// [`Refusal::LockedOut`] until the window ends); a right one clears the count, a wrong one is
/// recorded. Slow on purpose (Argon2): call it off the async runtime.
pub fn check_passcode(
    store: &dyn Store,
    s: &Settings,
    a: &Account,
    passcode: &str,
    now: OffsetDateTime,
) -> Result<(), Refusal> {
    let key = passcode_key(a);
    let r = limits::reserve_now(store, &key, s.max_failures, s.lockout, now)?;
    if !r.granted {
        return Err(Refusal::LockedOut(r.until));
    }
    let (_, stored) = secrets(store, a)?;
    if verify_password(passcode, stored.as_deref()) {
        limits::clear_now(store, &key)?;
        secret_ok(store, a)?;
        return Ok(());
    }
    secret_failed(store, s, a, "passcode", now)?;
    Err(if r.count >= i64::from(s.max_failures) {
        Refusal::LockedOut(r.until)
    } else {
        Refusal::BadPasscode
    })
}
