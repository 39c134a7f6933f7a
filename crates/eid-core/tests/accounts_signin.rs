//! The credential checks as core use cases, on both engines: sign-in with its lock-out and
//! equal answers, the holder's unlock with password and passcode, the passcode check and the
//! secret change behind it. SQLite always; PostgreSQL when `EID_TEST_DATABASE_URL` is set.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;

use eid_core::accounts::{self as acc, Account, Credentials, Refusal, Settings, SignIn};
use eid_core::import::{import_generated, ImportOptions, OnError};
use eid_core::secret::hash_password;
use eid_core::store::{Actor, Store};
use eid_domain::{LifeState, Person, PhoneNumber, UnitCode};
use eid_gen::{GenConfig, Generator};
use time::macros::{date, datetime};
use time::{Date, Duration, OffsetDateTime};

const TODAY: Date = date!(2026 - 11 - 23);
const NOW: OffsetDateTime = datetime!(2026-11-23 09:00 UTC);
const PASSWORD: &str = "mat-khau-dung-1";
const PASSCODE: &str = "246810";

/// Three wrong secrets lock out for ten minutes.
fn settings() -> Settings {
    Settings {
        max_failures: 3,
        lockout: Duration::minutes(10),
        ..Settings::default()
    }
}

/// The register (less one person, kept back as someone it does not know) and that person.
fn people() -> (Vec<Person>, Person) {
    let mut all: Vec<Person> = Generator::new(&GenConfig {
        count: 60,
        seed: 9,
        province: Some(UnitCode::parse("62").unwrap()),
        today: TODAY,
    })
    .unwrap()
    .collect();
    let stranger = all.pop().unwrap();
    (all, stranger)
}

/// A store with the register loaded and one level-1 account with [`PASSWORD`] and [`PASSCODE`].
struct Fixture {
    store: Arc<dyn Store>,
    account: Account,
    stranger: Person,
}

fn fixture(store: Arc<dyn Store>) -> Fixture {
    let (persons, stranger) = people();
    let opts = ImportOptions {
        on_error: OnError::Skip,
        today: TODAY,
        now: NOW - Duration::days(1),
        actor: Actor::Cli("test".into()),
        reason: "test".into(),
    };
    import_generated(store.as_ref(), persons.iter().cloned(), &opts).unwrap();
    let holder = persons
        .iter()
        .find(|p| {
            p.life.state == LifeState::Alive
                && p.birth.age_on(TODAY) > acc::MIN_AGE
                && p.card.is_some_and(|c| !c.revoked)
        })
        .expect("an adult alive in the register");
    let s = settings();
    let phone = PhoneNumber::parse("0912345678").unwrap();
    let then = NOW - Duration::hours(1);
    let handle = acc::register(
        store.as_ref(),
        &s,
        &acc::Registration {
            personal_id: &holder.id,
            phone: &phone,
            photo: b"photo",
            photo_hash: [7; 32],
            verifier: "test",
            score: 0.99,
            matched: true,
            device_hash: device(),
        },
        then,
    )
    .unwrap();
    let sms = acc::sms_list(store.as_ref(), 1).unwrap();
    let code: String = sms[0]
        .body
        .split(|c: char| !c.is_ascii_digit())
        .find(|w| w.len() == 6)
        .unwrap()
        .to_owned();
    let account = acc::confirm_registration(
        store.as_ref(),
        &s,
        &handle,
        &code,
        &hash_password(PASSWORD).unwrap(),
        &hash_password(PASSCODE).unwrap(),
        then,
    )
    .unwrap();
    Fixture {
        store,
        account,
        stranger,
    }
}

fn creds<'a>(a: &'a Account, password: &'a str) -> Credentials<'a> {
    Credentials {
        personal_id: a.personal_id.as_str(),
        password,
        passcode: None,
    }
}

fn device() -> Vec<u8> {
    acc::device_hash("device-0001-test").unwrap()
}

fn reload(f: &Fixture) -> Account {
    acc::account_by_id(f.store.as_ref(), f.account.id)
        .unwrap()
        .unwrap()
}

fn kinds(f: &Fixture) -> Vec<String> {
    acc::events(f.store.as_ref(), &f.account.personal_id)
        .unwrap()
        .into_iter()
        .map(|e| e.kind)
        .collect()
}

#[test]
fn the_right_password_gives_a_session_on_the_device() {
    for store in eid_core::testkit::engines("accounts_signin") {
        let f = fixture(store);
        let s = settings();
        let out = acc::sign_in(
            f.store.as_ref(),
            &s,
            &creds(&f.account, PASSWORD),
            &device(),
            NOW,
        )
        .unwrap();
        let SignIn::Session { token, expires_at } = out else {
            panic!("a session on a bound device");
        };
        assert_eq!(expires_at, NOW + s.session_ttl);
        let a = acc::session_account(f.store.as_ref(), &token, NOW)
            .unwrap()
            .expect("the session is live");
        assert_eq!(a.id, f.account.id);
        assert_eq!(kinds(&f).last().map(String::as_str), Some("signed_in"));
        // A device the account is not bound to gets a code to the phone, not a session.
        let other = acc::device_hash("another-device-02").unwrap();
        let out = acc::sign_in(
            f.store.as_ref(),
            &s,
            &creds(&f.account, PASSWORD),
            &other,
            NOW,
        )
        .unwrap();
        assert!(matches!(out, SignIn::DeviceCheck { .. }));
    }
}

#[test]
fn a_wrong_password_is_counted_and_answered_as_bad_credentials() {
    for store in eid_core::testkit::engines("accounts_signin") {
        let f = fixture(store);
        let s = settings();
        let r = acc::sign_in(
            f.store.as_ref(),
            &s,
            &creds(&f.account, "not-the-password"),
            &device(),
            NOW,
        );
        assert!(matches!(r, Err(Refusal::BadCredentials)), "{r:?}");
        let a = reload(&f);
        assert_eq!(a.failures, 1);
        assert_eq!(a.locked_out_until, None);
        assert_eq!(kinds(&f).last().map(String::as_str), Some("secret_failed"));
        // A right password afterwards clears the count.
        acc::sign_in(
            f.store.as_ref(),
            &s,
            &creds(&f.account, PASSWORD),
            &device(),
            NOW,
        )
        .unwrap();
        assert_eq!(reload(&f).failures, 0);
    }
}

#[test]
fn too_many_wrong_passwords_lock_out_until_the_configured_time() {
    for store in eid_core::testkit::engines("accounts_signin") {
        let f = fixture(store);
        let s = settings();
        let wrong = creds(&f.account, "not-the-password");
        for _ in 1..s.max_failures {
            let r = acc::sign_in(f.store.as_ref(), &s, &wrong, &device(), NOW);
            assert!(matches!(r, Err(Refusal::BadCredentials)), "{r:?}");
        }
        let r = acc::sign_in(f.store.as_ref(), &s, &wrong, &device(), NOW);
        let until = NOW + s.lockout;
        assert!(
            matches!(r, Err(Refusal::LockedOut(u)) if u == until),
            "{r:?}"
        );
        assert_eq!(reload(&f).locked_out_until, Some(until));
        assert!(kinds(&f).iter().any(|k| k == "locked_out"));
        // While it lasts, even the right password is refused with the same time.
        let later = NOW + Duration::minutes(5);
        let right = creds(&f.account, PASSWORD);
        let r = acc::sign_in(f.store.as_ref(), &s, &right, &device(), later);
        assert!(
            matches!(r, Err(Refusal::LockedOut(u)) if u == until),
            "{r:?}"
        );
        // After it, the right password works again.
        let after = until + Duration::seconds(1);
        let out = acc::sign_in(f.store.as_ref(), &s, &right, &device(), after).unwrap();
        assert!(matches!(out, SignIn::Session { .. }));
    }
}

#[test]
fn an_unknown_person_is_answered_like_a_wrong_password() {
    for store in eid_core::testkit::engines("accounts_signin") {
        let f = fixture(store);
        let s = settings();
        let wrong = acc::sign_in(
            f.store.as_ref(),
            &s,
            &creds(&f.account, "not-the-password"),
            &device(),
            NOW,
        )
        .unwrap_err();
        let unknown = acc::sign_in(
            f.store.as_ref(),
            &s,
            &Credentials {
                personal_id: f.stranger.id.as_str(),
                password: PASSWORD,
                passcode: None,
            },
            &device(),
            NOW,
        )
        .unwrap_err();
        let malformed = acc::sign_in(
            f.store.as_ref(),
            &s,
            &Credentials {
                personal_id: "12-not-an-id",
                password: PASSWORD,
                passcode: None,
            },
            &device(),
            NOW,
        )
        .unwrap_err();
        for r in [&unknown, &malformed] {
            assert!(matches!(r, Refusal::BadCredentials), "{r:?}");
            assert_eq!(r.code(), wrong.code());
            assert_eq!(r.to_string(), wrong.to_string());
        }
        // Nothing is recorded for a person the register does not know.
        assert!(acc::events(f.store.as_ref(), &f.stranger.id)
            .unwrap()
            .is_empty());
    }
}

#[test]
fn a_locked_account_is_refused_and_the_holder_unlocks_it_with_both_secrets() {
    for store in eid_core::testkit::engines("accounts_signin") {
        let f = fixture(store);
        let s = settings();
        acc::set_lock(f.store.as_ref(), &f.account, acc::LockBy::Holder, true, NOW).unwrap();
        let r = acc::sign_in(
            f.store.as_ref(),
            &s,
            &creds(&f.account, PASSWORD),
            &device(),
            NOW,
        );
        assert!(
            matches!(&r, Err(Refusal::AccountLocked(by)) if by == &vec!["holder"]),
            "{r:?}"
        );
        // A wrong passcode with the right password does not unlock, and counts.
        let r = acc::unlock(
            f.store.as_ref(),
            &s,
            &Credentials {
                personal_id: f.account.personal_id.as_str(),
                password: PASSWORD,
                passcode: Some("000000"),
            },
            NOW,
        );
        assert!(matches!(r, Err(Refusal::BadCredentials)), "{r:?}");
        assert_eq!(reload(&f).failures, 1);
        assert!(reload(&f).holder_lock);
        let a = acc::unlock(
            f.store.as_ref(),
            &s,
            &Credentials {
                personal_id: f.account.personal_id.as_str(),
                password: PASSWORD,
                passcode: Some(PASSCODE),
            },
            NOW,
        )
        .unwrap();
        assert!(!a.holder_lock);
        assert!(a.locks().is_empty());
        assert!(kinds(&f).iter().any(|k| k == "unlocked_by_holder"));
        let out = acc::sign_in(
            f.store.as_ref(),
            &s,
            &creds(&f.account, PASSWORD),
            &device(),
            NOW,
        )
        .unwrap();
        assert!(matches!(out, SignIn::Session { .. }));
    }
}

#[test]
fn the_passcode_check_counts_and_guards_the_secret_change() {
    for store in eid_core::testkit::engines("accounts_signin") {
        let f = fixture(store);
        let s = settings();
        let r = acc::check_passcode(f.store.as_ref(), &s, &f.account, "111111", NOW);
        assert!(matches!(r, Err(Refusal::BadPasscode)), "{r:?}");
        assert_eq!(reload(&f).failures, 1);
        acc::check_passcode(f.store.as_ref(), &s, &reload(&f), PASSCODE, NOW).unwrap();
        assert_eq!(reload(&f).failures, 0);

        // A change with a wrong passcode changes nothing.
        let r = acc::replace_secret(
            f.store.as_ref(),
            &s,
            &reload(&f),
            "111111",
            "password",
            "mat-khau-moi-2",
            NOW,
        );
        assert!(matches!(r, Err(Refusal::BadPasscode)), "{r:?}");
        acc::replace_secret(
            f.store.as_ref(),
            &s,
            &reload(&f),
            PASSCODE,
            "password",
            "mat-khau-moi-2",
            NOW,
        )
        .unwrap();
        assert!(kinds(&f).iter().any(|k| k == "password_changed"));
        let old = acc::sign_in(
            f.store.as_ref(),
            &s,
            &creds(&f.account, PASSWORD),
            &device(),
            NOW,
        );
        assert!(matches!(old, Err(Refusal::BadCredentials)), "{old:?}");
        let new = acc::sign_in(
            f.store.as_ref(),
            &s,
            &creds(&f.account, "mat-khau-moi-2"),
            &device(),
            NOW,
        );
        assert!(matches!(new, Ok(SignIn::Session { .. })), "{new:?}");

        // Too many wrong passcodes lock out, and the check refuses while it lasts.
        for _ in 1..s.max_failures {
            let r = acc::check_passcode(f.store.as_ref(), &s, &reload(&f), "111111", NOW);
            assert!(matches!(r, Err(Refusal::BadPasscode)), "{r:?}");
        }
        let until = NOW + s.lockout;
        let r = acc::check_passcode(f.store.as_ref(), &s, &reload(&f), "111111", NOW);
        assert!(
            matches!(r, Err(Refusal::LockedOut(u)) if u == until),
            "{r:?}"
        );
        let r = acc::check_passcode(f.store.as_ref(), &s, &reload(&f), PASSCODE, NOW);
        assert!(
            matches!(r, Err(Refusal::LockedOut(u)) if u == until),
            "{r:?}"
        );
        // Passcodes guessed to the limit lock the password out too: on the bound device (its
        // counts read together) and on another one.
        let other = acc::device_hash("device-0002-test").unwrap();
        for d in [device(), other] {
            let r = acc::sign_in(
                f.store.as_ref(),
                &s,
                &creds(&f.account, "mat-khau-moi-2"),
                &d,
                NOW,
            );
            assert!(
                matches!(r, Err(Refusal::LockedOut(u)) if u == until),
                "{r:?}"
            );
        }
        // Once the window has passed, the bound device signs in again.
        let later = until + Duration::seconds(1);
        let r = acc::sign_in(
            f.store.as_ref(),
            &s,
            &creds(&f.account, "mat-khau-moi-2"),
            &device(),
            later,
        );
        assert!(matches!(r, Ok(SignIn::Session { .. })), "{r:?}");
    }
}
