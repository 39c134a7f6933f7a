//! Locks: the register's (death, emigration, a revoked card), the holder's and the officer's.

use eid_domain::{LifeState, Person, PersonalId, UnitCode};
use time::{Date, OffsetDateTime};

use crate::sql;
use crate::store::{to_ms, unit_path, Actor, Staff, Store, StoreError};

use super::*;

/// Why the register stops a person from using an account, if it does: death, emigration or a
/// revoked card. Absence from the locality does not lock an account.
pub fn register_lock_reason(p: &Person) -> Option<&'static str> {
    match p.life.state {
        LifeState::Dead => return Some("dead"),
        LifeState::Emigrated => return Some("emigrated"),
        _ => {}
    }
    if p.card.is_some_and(|c| c.revoked) {
        return Some("card_revoked");
    }
    None
}

pub(super) fn alive(p: &Person) -> Result<(), Refusal> {
    match p.life.state {
        LifeState::Dead => Err(Refusal::PersonNotAlive("dead")),
        LifeState::Emigrated => Err(Refusal::PersonNotAlive("emigrated")),
        _ => Ok(()),
    }
}

pub(super) fn valid_card(p: &Person, today: Date) -> Result<Date, Refusal> {
    let Some(card) = p.card else {
        return Err(Refusal::CardInvalid("no card issued"));
    };
    if card.revoked {
        return Err(Refusal::CardInvalid("revoked"));
    }
    if !card.is_valid(p.birth, today) {
        return Err(Refusal::CardInvalid("expired"));
    }
    Ok(card.issued)
}

pub(super) fn residence(p: &Person) -> Result<(UnitCode, i64), StoreError> {
    let path = unit_path(&p.residence.unit)
        .ok_or_else(|| StoreError::Corrupt("residence is not a commune".into()))?;
    Ok((p.residence.unit, path))
}

/// Brings an account's register lock in line with the register, recording the change. Called
/// wherever an account is used and after the register changes a person; returns the account
/// as it now stands.
pub fn sync_register_lock(
    store: &dyn Store,
    id: &PersonalId,
    now: OffsetDateTime,
) -> Result<Option<Account>, StoreError> {
    match account_of(store, id)? {
        Some(a) => sync_account_lock(store, a, now).map(Some),
        None => Ok(None),
    }
}

/// [`sync_register_lock`] for an account already read.
pub fn sync_account_lock(
    store: &dyn Store,
    a: Account,
    now: OffsetDateTime,
) -> Result<Account, StoreError> {
    let Some(stored) = store.person_near(&a.personal_id, a.res_path)? else {
        return Ok(a);
    };
    let want = register_lock_reason(&stored.person);
    if a.register_lock.as_deref() == want {
        return Ok(a);
    }
    let fallback = a.clone();
    sql::transact(store.db(), |tx| {
        let Some(a) = account_where(tx, a.key())? else {
            return Ok(fallback);
        };
        if a.register_lock.as_deref() == want {
            return Ok(a);
        }
        account_key::exec(
            tx,
            "UPDATE account SET register_lock = $1, updated_at = $2 WHERE {account}",
            &[want.into(), to_ms(now).into()],
            a.key(),
        )?;
        let actor = Actor::Cli("register".into());
        let (kind, why) = match want {
            Some(w) => ("locked_by_register", w),
            None => (
                "unlocked_by_register",
                a.register_lock.as_deref().unwrap_or(""),
            ),
        };
        record(
            tx,
            NewEvent::account(&a, kind, &actor).detail(serde_json::json!({ "reason": why })),
            now,
        )?;
        Ok(account_where(tx, a.key())?.unwrap_or(a))
    })
}

/// Who locks or unlocks.
pub enum LockBy<'a> {
    /// The holder, who proved their passcode.
    Holder,
    /// An officer, with a reason.
    Officer(&'a Staff, &'a str),
}

/// Locks or unlocks an account. The holder lifts only their own lock; an officer lifts only
/// an officer's lock; the register's lock follows the register.
pub fn set_lock(
    store: &dyn Store,
    a: &Account,
    by: LockBy<'_>,
    lock: bool,
    now: OffsetDateTime,
) -> Result<Account, Refusal> {
    sql::transact(store.db(), |tx| {
        let a = account_where(tx, a.key())?.ok_or(Refusal::NotFound("account.not_found"))?;
        let (actor, kind, detail) = match by {
            LockBy::Holder => {
                if a.holder_lock == lock {
                    return Err(Refusal::WrongState(format!(
                        "the holder's lock is already {}",
                        if lock { "on" } else { "off" }
                    )));
                }
                account_key::exec(
                    tx,
                    "UPDATE account SET holder_lock = $1, updated_at = $2 WHERE {account}",
                    &[lock.into(), to_ms(now).into()],
                    a.key(),
                )?;
                (
                    Actor::Anonymous,
                    if lock {
                        "locked_by_holder"
                    } else {
                        "unlocked_by_holder"
                    },
                    serde_json::json!({}),
                )
            }
            LockBy::Officer(officer, reason) => {
                if !officer.sees(&a.commune) {
                    return Err(Refusal::OfficerOutsideScope);
                }
                let reason = reason.trim();
                if reason.is_empty() || reason.chars().count() > 500 {
                    return Err(Refusal::Invalid(
                        "account.reason",
                        "a lock or unlock needs a reason of 1 to 500 characters".into(),
                    ));
                }
                if a.officer_lock.is_some() == lock {
                    return Err(Refusal::WrongState(format!(
                        "the officer's lock is already {}",
                        if lock { "on" } else { "off" }
                    )));
                }
                account_key::exec(
                    tx,
                    "UPDATE account SET officer_lock = $1, updated_at = $2 WHERE {account}",
                    &[
                        (if lock { Some(reason) } else { None }).into(),
                        to_ms(now).into(),
                    ],
                    a.key(),
                )?;
                if lock {
                    tx.exec(
                        "UPDATE citizen_session SET revoked = 1 WHERE account_id = $1",
                        &[a.id.into()],
                    )?;
                }
                (
                    Actor::Staff(officer.id),
                    if lock {
                        "locked_by_officer"
                    } else {
                        "unlocked_by_officer"
                    },
                    serde_json::json!({ "reason": reason }),
                )
            }
        };
        if lock {
            tx.exec(
                "UPDATE citizen_session SET revoked = 1 WHERE account_id = $1",
                &[a.id.into()],
            )?;
            web_session::end_all_in(tx, a.id, now)?;
        }
        record(tx, NewEvent::account(&a, kind, &actor).detail(detail), now)?;
        account_where(tx, a.key())?.ok_or(Refusal::NotFound("account.not_found"))
    })
}

/// The holder, signed out (a locked account has no session), proves password and passcode
/// ([`check_credentials`], with its limits): their own lock is lifted if it is on, and the
/// account comes back with the locks that remain — an officer's with its reason, the
/// register's — so that the holder sees who locked it and why. Slow on purpose (Argon2).
pub fn unlock_own(
    store: &dyn Store,
    s: &Settings,
    c: &Credentials<'_>,
    now: OffsetDateTime,
) -> Result<Account, Refusal> {
    let a = check_credentials(store, s, c, "unlock", now)?;
    let a = sync_account_lock(store, a, now)?;
    if a.holder_lock {
        set_lock(store, &a, LockBy::Holder, false, now)
    } else {
        Ok(a)
    }
}
