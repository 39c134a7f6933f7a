//! Staff and access: signing in with a password, console sessions and API tokens turned into a
//! [`Caller`], signing out. The storage of staff, sessions and tokens is `eid_store::staff`
//! (re-exported here under its old path); this module holds the rules on top of it.
//!
//! An unknown user, a disabled one and a wrong password take the same Argon2id work and get the
//! same answer ([`Refusal::BadCredentials`]), so sign-in cannot tell which usernames exist. Every
//! attempt is audited as `auth.login` with the username as target. Lock-outs after repeated
//! failures are the caller's (the console's in-memory limiter), which records them through
//! [`sign_in_limited`].

use time::{Duration, OffsetDateTime};

use crate::accounts::Refusal;
use crate::secret::{random_token, token_hash, verify_password};
use crate::store::Staff;
use crate::{Acting, Actor, Caller, Error, Store};

pub use eid_store::staff::*;

const LOGIN: &str = "auth.login";

/// Checks a staff member's password at `now`. Audited as `auth.login`: `ok`, or `failed` (by the
/// account when the username exists, anonymously otherwise). Run it off the async runtime: it
/// costs one Argon2id verification whatever the outcome.
pub fn sign_in(
    store: &dyn Store,
    username: &str,
    password: &str,
    request_id: &str,
    now: OffsetDateTime,
) -> Result<Staff, Error> {
    let found = store.staff_by_username(username)?;
    // `None` verifies against a dummy hash: an unknown user costs what a wrong password costs.
    let ok = verify_password(password, found.as_ref().map(|(_, h)| h.as_str()));
    match found {
        Some((staff, _)) if ok && !staff.disabled => {
            store.audit(
                &Actor::Staff(staff.id),
                LOGIN,
                username,
                "ok",
                request_id,
                now,
            )?;
            Ok(staff)
        }
        Some((staff, _)) => {
            store.audit(
                &Actor::Staff(staff.id),
                LOGIN,
                username,
                "failed",
                request_id,
                now,
            )?;
            Err(Refusal::BadCredentials.into())
        }
        None => {
            store.audit(
                &Actor::Anonymous,
                LOGIN,
                username,
                "failed",
                request_id,
                now,
            )?;
            Err(Refusal::BadCredentials.into())
        }
    }
}

/// Records a sign-in refused before any check because the username or the address is locked
/// out (audited `limited`, anonymously).
pub fn sign_in_limited(
    store: &dyn Store,
    username: &str,
    request_id: &str,
    now: OffsetDateTime,
) -> Result<(), Error> {
    Ok(store.audit(
        &Actor::Anonymous,
        LOGIN,
        username,
        "limited",
        request_id,
        now,
    )?)
}

/// A console session just opened: the cookie's token, shown once and stored only as its hash.
pub struct NewSession {
    pub token: String,
}

impl std::fmt::Debug for NewSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewSession")
            .field("token", &eid_domain::redact::Hidden)
            .finish()
    }
}

/// Opens a console session of `ttl` for a signed-in staff member, with its own CSRF token.
pub fn open_session(
    store: &dyn Store,
    staff: &Staff,
    ttl: Duration,
    now: OffsetDateTime,
) -> Result<NewSession, Error> {
    let token = random_token();
    let csrf = random_token();
    store.create_session(&token_hash(&token), staff.id, &csrf, now, now + ttl)?;
    Ok(NewSession { token })
}

/// The caller behind a console session cookie (by its hash) and the session's CSRF token:
/// `None` for an unknown or expired session or a disabled account.
pub fn session_caller(
    store: &dyn Store,
    session_hash: &[u8],
    now: OffsetDateTime,
) -> Result<Option<(Caller, String)>, Error> {
    Ok(match store.session(session_hash, now)? {
        Some(s) if !s.staff.disabled => Some((
            Caller {
                actor: Actor::Staff(s.staff.id),
                staff: s.staff,
            },
            s.csrf,
        )),
        _ => None,
    })
}

/// The caller behind an API bearer token (by its hash): `None` for an unknown or revoked token
/// or a disabled account.
pub fn token_caller(store: &dyn Store, hash: &[u8]) -> Result<Option<Caller>, Error> {
    Ok(match store.api_token(hash)? {
        Some((id, staff)) if !staff.disabled => Some(Caller {
            staff,
            actor: Actor::Token(id),
        }),
        _ => None,
    })
}

/// Ends the caller's console session (by its cookie's hash). Audited as `auth.logout`.
pub fn sign_out(store: &dyn Store, acting: &Acting, session_hash: &[u8]) -> Result<(), Error> {
    store.delete_session(session_hash)?;
    acting.audit(store, "auth.logout", &acting.caller.staff.username, "ok")?;
    Ok(())
}
