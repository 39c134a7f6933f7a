//! Level 1: self-service registration with a code to the phone.

use eid_domain::{PersonalId, PhoneNumber};
use time::OffsetDateTime;

use crate::secret::hex;
use crate::sql;
use crate::store::{to_ms, Actor, Store};

use super::*;

/// A level-1 registration as the app sends it, after the face check.
pub struct Registration<'a> {
    pub personal_id: &'a PersonalId,
    pub phone: &'a PhoneNumber,
    pub photo: &'a [u8],
    pub photo_hash: [u8; 32],
    pub verifier: &'a str,
    pub score: f64,
    pub matched: bool,
    pub device_hash: Vec<u8>,
}

/// Refuses a level-1 registration whose holder may be under 14 by the birth year the personal
/// ID itself carries: everyone born in a year whose last day is not 14 years ago today. Decided
/// from the ID alone, before the register is read or the face compared, so that the answer is
/// the same for a child in the register and an unused ID of the same year (the register's full
/// birth date would tell which children exist). Someone who turned 14 earlier this year is
/// refused until the year's end like the rest of their birth year; a guardian's consent on file
/// opens an account before that.
pub fn under_14_by_id(id: &PersonalId, now: OffsetDateTime) -> Result<(), Refusal> {
    let today = now.to_offset(vietnam()).date();
    let year = id.birth_year();
    let surely_14 = today.year() - year > MIN_AGE
        || (today.year() - year == MIN_AGE
            && today.month() == time::Month::December
            && today.day() == 31);
    if surely_14 {
        Ok(())
    } else {
        Err(Refusal::Under14)
    }
}

/// Starts a level-1 registration. Returns a handle to confirm with. For someone the register
/// does not know, who is not alive, or who already holds an active account, the answer is the
/// same handle-shaped token (no code is sent; the outcome is recorded for the person where there
/// is one), so that registration cannot be used to learn who is in the register.
pub fn register(
    store: &dyn Store,
    s: &Settings,
    r: &Registration<'_>,
    now: OffsetDateTime,
) -> Result<String, Refusal> {
    under_14_by_id(r.personal_id, now)?;
    let person = store.person(r.personal_id)?.map(|p| p.person);
    if !r.matched {
        return Err(Refusal::FaceMismatch);
    }
    sql::transact(store.db(), |tx| {
        reserve_issue(
            tx,
            s,
            "register",
            r.personal_id.as_str(),
            r.phone.as_str(),
            now,
        )?;
        let Some(p) = person.as_ref() else {
            return Ok(decoy_code(
                tx,
                "register",
                r.personal_id.as_str(),
                s.otp_ttl,
                now,
            )?);
        };
        let (commune, res_path) = residence(p)?;
        let existing = account_where(tx, Key::Person(p.id.as_str()))?;
        let refused = if alive(p).is_err() {
            Some("not alive in the register")
        } else if existing.as_ref().is_some_and(Account::is_active) {
            Some("an active account exists")
        } else {
            None
        };
        if let Some(why) = refused {
            let actor = Actor::Anonymous;
            record(
                tx,
                NewEvent {
                    personal_id: p.id.as_str(),
                    account_id: existing.as_ref().map(|a| a.id),
                    application_id: None,
                    kind: "registration_refused",
                    commune: Some(commune.as_str()),
                    res_path: Some(res_path),
                    unit: None,
                    device_id: None,
                    actor: &actor,
                    detail: serde_json::json!({ "reason": why }),
                },
                now,
            )?;
            return Ok(decoy_code(
                tx,
                "register",
                r.personal_id.as_str(),
                s.otp_ttl,
                now,
            )?);
        }
        tx.exec(
            "INSERT INTO photo (hash, bytes, created_at) VALUES ($1, $2, $3) ON CONFLICT (hash) DO NOTHING",
            &[r.photo_hash.to_vec().into(), r.photo.to_vec().into(), to_ms(now).into()],
        )?;
        let account_id = match existing {
            Some(a) => {
                account_key::exec(
                    tx,
                    "UPDATE account SET phone = $1, photo_hash = $2, verifier = $3, verifier_score = $4, \
                     device_hash = $5, commune = $6, res_path = $7, updated_at = $8 WHERE {account}",
                    &[r.phone.as_str().into(), r.photo_hash.to_vec().into(), r.verifier.into(), r.score.into(), r.device_hash.clone().into(), commune.as_str().into(), res_path.into(), to_ms(now).into()],
                    a.key(),
                )?;
                tx.exec(
                    "UPDATE code SET state = 'dead' WHERE account_id = $1 AND purpose = 'register' AND state = 'open'",
                    &[a.id.into()],
                )?;
                a.id
            }
            None => match account_key::insert_new(
                tx,
                "INSERT INTO account (personal_id, level, state, phone, commune, res_path, photo_hash, verifier, \
                 verifier_score, device_hash, register_lock, created_at, updated_at) \
                 VALUES ($1, 0, 'pending', $2, $3, $4, $5, $6, $7, $8, $9, $10, $10)",
                &[
                    p.id.as_str().into(),
                    r.phone.as_str().into(),
                    commune.as_str().into(),
                    res_path.into(),
                    r.photo_hash.to_vec().into(),
                    r.verifier.into(),
                    r.score.into(),
                    r.device_hash.clone().into(),
                    register_lock_reason(p).into(),
                    to_ms(now).into(),
                ],
            )? {
                Some(id) => id,
                // A registration for the same person committed meanwhile: answer as for any
                // refused registration.
                None => return Ok(decoy_code(tx, "register", r.personal_id.as_str(), s.otp_ttl, now)?),
            },
        };
        let (handle, code, _) = new_code(
            tx,
            NewCode {
                purpose: "register",
                personal_id: Some(p.id.as_str()),
                account_id: Some(account_id),
                application_id: None,
                phone: Some(r.phone.as_str()),
                payload: String::new(),
                ttl: s.otp_ttl,
                second: false,
            },
            now,
        )?;
        queue_sms(
            tx,
            r.phone.as_str(),
            &format!(
                "Ma xac thuc dang ky tai khoan dinh danh dien tu: {code}. Hieu luc {} phut. Khong cung cap ma nay cho bat ky ai.",
                s.otp_ttl.whole_minutes()
            ),
            "register",
            now,
        )?;
        let actor = Actor::Anonymous;
        record(
            tx,
            NewEvent {
                personal_id: p.id.as_str(),
                account_id: Some(account_id),
                application_id: None,
                kind: "registration_started",
                commune: Some(commune.as_str()),
                res_path: Some(res_path),
                unit: None,
                device_id: None,
                actor: &actor,
                detail: serde_json::json!({
                    "level": 1,
                    "verifier": r.verifier,
                    "score": r.score,
                    "photo_sha256": hex(&r.photo_hash),
                    "phone": PhoneNumber::parse(r.phone.as_str()).map(|p| p.masked()).unwrap_or_default(),
                }),
            },
            now,
        )?;
        Ok(handle)
    })
}

/// Confirms a level-1 registration with the SMS code and sets the secrets: the account is
/// active at level 1.
pub fn confirm_registration(
    store: &dyn Store,
    s: &Settings,
    handle: &str,
    code: &str,
    password_hash: &str,
    passcode_hash: &str,
    now: OffsetDateTime,
) -> Result<Account, Refusal> {
    with_code(
        store,
        s,
        now,
        (code, None),
        |tx| {
            let found = code_by_handle(tx, "register", handle)?;
            Ok(found)
        },
        |tx, c| {
            let Some(a) = account_where(tx, Key::Id(c.account_id.unwrap_or(-1)))? else {
                return Err(Refusal::BadCode);
            };
            if a.is_active() {
                return Err(Refusal::BadCode);
            }
            account_key::exec(
            tx,
            "UPDATE account SET level = 1, state = 'active', password_hash = $1, passcode_hash = $2, \
             activated_at = $3, updated_at = $3 WHERE {account}",
            &[password_hash.into(), passcode_hash.into(), to_ms(now).into()],
            a.key(),
        )?;
            let actor = Actor::Anonymous;
            record(tx, NewEvent::account(&a, "level1_activated", &actor), now)?;
            bump(tx, metric::LEVEL1_ACTIVATED, a.res_path, now)?;
            bump(tx, metric::ACCOUNTS_ACTIVATED, a.res_path, now)?;
            account_where(tx, a.key())?.ok_or(Refusal::NotFound("account.not_found"))
        },
    )
}
