//! Changes by the holder or an officer: phone, password, passcode.

use eid_domain::{PersonalId, PhoneNumber};
use time::OffsetDateTime;

use crate::secret::hash_password;
use crate::sql::{self, Tx};
use crate::store::{to_ms, Actor, Staff, Store, StoreError};

use super::*;

/// Starts a change of phone number: one code to the old number and one to the new.
pub fn start_phone_change(
    store: &dyn Store,
    s: &Settings,
    a: &Account,
    new_phone: &PhoneNumber,
    now: OffsetDateTime,
) -> Result<String, Refusal> {
    if new_phone.as_str() == a.phone {
        return Err(Refusal::Invalid(
            "phone.same",
            "the new number is the current one".into(),
        ));
    }
    sql::transact(store.db(), |tx| {
        reserve_issue(
            tx,
            s,
            "phone",
            a.personal_id.as_str(),
            new_phone.as_str(),
            now,
        )?;
        let (handle, code_old, code_new) = new_code(
            tx,
            NewCode {
                purpose: "phone",
                personal_id: Some(a.personal_id.as_str()),
                account_id: Some(a.id),
                application_id: None,
                phone: Some(new_phone.as_str()),
                payload: String::new(),
                ttl: s.otp_ttl,
                second: true,
            },
            now,
        )?;
        queue_sms(tx, &a.phone, &format!("Ma xac nhan doi so dien thoai (so cu): {code_old}. Neu khong phai ban, goi 1900 0368."), "phone_old", now)?;
        queue_sms(
            tx,
            new_phone.as_str(),
            &format!(
                "Ma xac nhan doi so dien thoai (so moi): {}.",
                code_new.unwrap_or_default()
            ),
            "phone_new",
            now,
        )?;
        let actor = Actor::Anonymous;
        record(
            tx,
            NewEvent::account(a, "phone_change_started", &actor)
                .detail(serde_json::json!({ "to": new_phone.masked() })),
            now,
        )?;
        Ok(handle)
    })
}

/// Confirms a phone change with both codes.
pub fn confirm_phone_change(
    store: &dyn Store,
    s: &Settings,
    a: &Account,
    handle: &str,
    code_old: &str,
    code_new: &str,
    now: OffsetDateTime,
) -> Result<Account, Refusal> {
    with_code(
        store,
        s,
        now,
        (code_old, Some(code_new)),
        |tx| {
            let found = code_by_handle(tx, "phone", handle)?.filter(|c| c.account_id == Some(a.id));
            Ok(found)
        },
        |tx, c| {
            let phone = c.phone.clone().unwrap_or_default();
            change_phone(tx, a, &phone, &Actor::Anonymous, None, now)
        },
    )
}

pub(super) fn change_phone(
    tx: &mut dyn Tx,
    a: &Account,
    phone: &str,
    actor: &Actor,
    reason: Option<&str>,
    now: OffsetDateTime,
) -> Result<Account, Refusal> {
    account_key::exec(
        tx,
        "UPDATE account SET phone = $1, updated_at = $2 WHERE {account}",
        &[phone.into(), to_ms(now).into()],
        a.key(),
    )?;
    let masked = PhoneNumber::parse(phone)
        .map(|p| p.masked())
        .unwrap_or_default();
    record(
        tx,
        NewEvent::account(a, "phone_changed", actor)
            .detail(serde_json::json!({ "to": masked, "reason": reason })),
        now,
    )?;
    account_where(tx, a.key())?.ok_or(Refusal::NotFound("account.not_found"))
}

/// An officer changes the phone number (the holder came in person), with a reason.
pub fn officer_set_phone(
    store: &dyn Store,
    officer: &Staff,
    a: &Account,
    phone: &PhoneNumber,
    reason: &str,
    now: OffsetDateTime,
) -> Result<Account, Refusal> {
    if !officer.sees(&a.commune) {
        return Err(Refusal::OfficerOutsideScope);
    }
    if reason.trim().is_empty() {
        return Err(Refusal::Invalid(
            "account.reason",
            "a phone change by an officer needs a reason".into(),
        ));
    }
    sql::transact(store.db(), |tx| {
        change_phone(
            tx,
            a,
            phone.as_str(),
            &Actor::Staff(officer.id),
            Some(reason.trim()),
            now,
        )
    })
}

/// Starts a password reset. The same handle-shaped answer whether or not the ID and phone
/// match an account; a code goes only to the account's own phone. Sends are limited per ID and
/// per phone as given ([`Settings::code_issues_per_hour`]), so the limit answers alike too.
pub fn start_reset(
    store: &dyn Store,
    s: &Settings,
    id: &PersonalId,
    phone: &PhoneNumber,
    now: OffsetDateTime,
) -> Result<String, Refusal> {
    let a = account_of(store, id)?.filter(|a| a.is_active() && a.phone == phone.as_str());
    sql::transact(store.db(), |tx| {
        reserve_issue(tx, s, "reset", id.as_str(), phone.as_str(), now)?;
        let Some(a) = a.as_ref() else {
            return Ok(decoy_code(tx, "reset", id.as_str(), s.otp_ttl, now)?);
        };
        let (handle, code, _) = new_code(
            tx,
            NewCode {
                purpose: "reset",
                personal_id: Some(a.personal_id.as_str()),
                account_id: Some(a.id),
                application_id: None,
                phone: Some(&a.phone),
                payload: String::new(),
                ttl: s.otp_ttl,
                second: false,
            },
            now,
        )?;
        queue_sms(
            tx,
            &a.phone,
            &format!("Ma dat lai mat khau: {code}. Neu khong phai ban, goi 1900 0368."),
            "reset",
            now,
        )?;
        let actor = Actor::Anonymous;
        record(
            tx,
            NewEvent::account(a, "password_reset_started", &actor),
            now,
        )?;
        Ok(handle)
    })
}

/// Completes a password reset with the code; ends every session.
pub fn confirm_reset(
    store: &dyn Store,
    s: &Settings,
    handle: &str,
    code: &str,
    password_hash: &str,
    now: OffsetDateTime,
) -> Result<(), Refusal> {
    with_code(
        store,
        s,
        now,
        (code, None),
        |tx| code_by_handle(tx, "reset", handle),
        |tx, c| {
            let Some(a) = account_where(tx, Key::Id(c.account_id.unwrap_or(-1)))? else {
                return Err(Refusal::BadCode);
            };
            account_key::exec(
                tx,
                "UPDATE account SET password_hash = $1, failures = 0, locked_out_until = NULL, updated_at = $2 WHERE {account}",
                &[password_hash.into(), to_ms(now).into()],
                a.key(),
            )?;
            tx.exec(
                "UPDATE citizen_session SET revoked = 1 WHERE account_id = $1",
                &[a.id.into()],
            )?;
            // A code to the holder's phone lifts a lock-out that others caused.
            for key in password_keys(tx, a.personal_id.as_str())? {
                limits::clear(tx, &key)?;
            }
            limits::clear(tx, &passcode_key(&a))?;
            let actor = Actor::Anonymous;
            record(tx, NewEvent::account(&a, "password_reset", &actor), now)?;
            Ok(())
        },
    )
}

/// Replaces the password or the passcode (`which`: `password` or `passcode`); the caller has
/// checked the current passcode.
pub fn set_secret(
    store: &dyn Store,
    a: &Account,
    which: &str,
    hash: &str,
    now: OffsetDateTime,
) -> Result<(), Refusal> {
    let (sql, kind) = match which {
        "password" => (
            "UPDATE account SET password_hash = $1, updated_at = $2 WHERE {account}",
            "password_changed",
        ),
        "passcode" => (
            "UPDATE account SET passcode_hash = $1, updated_at = $2 WHERE {account}",
            "passcode_changed",
        ),
        _ => {
            return Err(Refusal::Invalid(
                "account.secret",
                "password or passcode".into(),
            ))
        }
    };
    sql::transact(store.db(), |tx| {
        account_key::exec(tx, sql, &[hash.into(), to_ms(now).into()], a.key())?;
        let actor = Actor::Anonymous;
        record(tx, NewEvent::account(a, kind, &actor), now)?;
        Ok(())
    })
}

/// Resets the failure count after a right passcode.
pub fn secret_ok(store: &dyn Store, a: &Account) -> Result<(), StoreError> {
    if a.failures == 0 {
        return Ok(());
    }
    sql::transact(store.db(), |tx| {
        account_key::exec(
            tx,
            "UPDATE account SET failures = 0 WHERE {account}",
            &[],
            a.key(),
        )?;
        Ok(())
    })
}

/// Replaces the password or the passcode (`which`) after checking the holder's current passcode
/// ([`check_passcode`], which counts a wrong one towards the lock-out). The new secret is hashed
/// here with Argon2id: slow on purpose, call it off the async runtime.
pub fn replace_secret(
    store: &dyn Store,
    s: &Settings,
    a: &Account,
    passcode: &str,
    which: &str,
    new_secret: &str,
    now: OffsetDateTime,
) -> Result<(), Refusal> {
    check_passcode(store, s, a, passcode, now)?;
    // Argon2id with fixed, valid parameters does not fail; if it ever did, it is an internal
    // error like a database failure (never shown to the caller).
    let hash = hash_password(new_secret)
        .map_err(|e| Refusal::Store(StoreError::Db(format!("hashing the new secret: {e}"))))?;
    set_secret(store, a, which, &hash, now)
}
