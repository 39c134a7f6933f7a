//! Browser sessions (`eid_core::accounts::web_session`) on both engines: a new browser needs
//! the code from the bound phone, the passcode raises a level-2 account's session (and only
//! such an account's), idle and absolute ends, a lock ends the session, sign-out of a device.
//! SQLite always; PostgreSQL when `EID_TEST_DATABASE_URL` is set.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;

use eid_core::accounts::web_session::{self as ws, WebSession};
use eid_core::accounts::{self as acc, Account, Credentials, Refusal, Settings, SignIn};
use eid_core::import::{import_generated, ImportOptions, OnError};
use eid_core::secret::hash_password;
use eid_core::store::{Actor, Store};
use eid_domain::{AccountLevel, LifeState, Person, PhoneNumber, UnitCode};
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
#[allow(dead_code)]
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

fn browser() -> Vec<u8> {
    acc::device_hash(&"b".repeat(64)).unwrap()
}

/// The code of the newest SMS for `purpose`.
fn code(f: &Fixture, purpose: &str) -> String {
    acc::sms_list(f.store.as_ref(), 50)
        .unwrap()
        .into_iter()
        .find(|m| m.purpose == purpose)
        .map(|m| {
            m.body
                .split(|c: char| !c.is_ascii_digit())
                .find(|w| w.len() == 6)
                .unwrap()
                .to_owned()
        })
        .unwrap()
}

/// Signs in on the browser (a new one: the code from the phone); the token.
fn web_sign_in(f: &Fixture, s: &Settings, now: OffsetDateTime) -> String {
    let out = ws::sign_in(
        f.store.as_ref(),
        s,
        &creds(&f.account, PASSWORD),
        &browser(),
        now,
    )
    .unwrap();
    let token = match out {
        SignIn::Session { token, .. } => token,
        SignIn::DeviceCheck { handle } => {
            let c = code(f, "device");
            match ws::confirm_device(f.store.as_ref(), s, &handle, &c, now).unwrap() {
                SignIn::Session { token, .. } => token,
                other => panic!("a session after the code: {other:?}"),
            }
        }
    };
    token
}

fn found(f: &Fixture, token: &str, now: OffsetDateTime) -> Option<WebSession> {
    ws::find(f.store.as_ref(), token, now).unwrap()
}

#[test]
fn a_new_browser_needs_the_code_then_gets_a_level_one_session() {
    for store in eid_core::testkit::engines("web_session") {
        let f = fixture(store);
        let s = settings();
        let out = ws::sign_in(
            f.store.as_ref(),
            &s,
            &creds(&f.account, PASSWORD),
            &browser(),
            NOW,
        )
        .unwrap();
        let SignIn::DeviceCheck { handle } = out else {
            panic!("the account is bound to the app's device");
        };
        // The app's confirmation does not take a browser's code.
        let c = code(&f, "device");
        assert!(matches!(
            acc::confirm_device(f.store.as_ref(), &s, &handle, &c, NOW),
            Err(Refusal::BadCode)
        ));
        let token = web_sign_in(&f, &s, NOW);
        let w = found(&f, &token, NOW).expect("a live session");
        assert_eq!(w.personal_id, f.account.personal_id);
        assert_eq!(w.level, AccountLevel::One);
        assert_eq!(w.amr, vec!["pwd".to_owned(), "otp".to_owned()]);
        assert_eq!(w.device_id, eid_core::secret::hex(&browser()));
        let shown = format!("{w:?}");
        assert!(
            !shown.contains(f.account.personal_id.as_str()) && !shown.contains(&w.device_id),
            "{shown}"
        );
        // Bound now: the password alone opens the next session ("pwd").
        let again = ws::sign_in(
            f.store.as_ref(),
            &s,
            &creds(&f.account, PASSWORD),
            &browser(),
            NOW,
        )
        .unwrap();
        let SignIn::Session { token: t2, .. } = again else {
            panic!("a bound browser")
        };
        assert_eq!(found(&f, &t2, NOW).unwrap().amr, vec!["pwd".to_owned()]);
        // A wrong password opens nothing.
        assert!(matches!(
            ws::sign_in(
                f.store.as_ref(),
                &s,
                &creds(&f.account, "sai-mat-khau"),
                &browser(),
                NOW
            ),
            Err(Refusal::BadCredentials)
        ));
        assert!(found(&f, "not-a-token", NOW).is_none());
    }
}

#[test]
fn a_session_ends_when_idle_at_its_absolute_end_and_when_ended() {
    for store in eid_core::testkit::engines("web_session") {
        let f = fixture(store);
        let s = Settings {
            web_idle: Duration::minutes(30),
            web_ttl: Duration::hours(2),
            ..settings()
        };
        let token = web_sign_in(&f, &s, NOW);
        // Used every 20 minutes, it lives on…
        let mut t = NOW;
        while t + Duration::minutes(20) < NOW + Duration::hours(2) {
            t += Duration::minutes(20);
            assert!(found(&f, &token, t).is_some(), "alive at {t}");
        }
        // …but not past its absolute end.
        assert!(found(&f, &token, NOW + Duration::hours(2)).is_none());
        // Unused for 30 minutes, it ends.
        let token = web_sign_in(&f, &s, NOW);
        assert!(found(&f, &token, NOW + Duration::minutes(29)).is_some());
        assert!(found(&f, &token, NOW + Duration::minutes(60)).is_none());
        // Ended, it ends.
        let token = web_sign_in(&f, &s, NOW);
        let w = found(&f, &token, NOW).unwrap();
        ws::end(f.store.as_ref(), w.id, NOW).unwrap();
        assert!(found(&f, &token, NOW).is_none());
        let token = web_sign_in(&f, &s, NOW);
        assert!(ws::end_all_for(f.store.as_ref(), &f.account.personal_id, NOW).unwrap() >= 1);
        assert!(found(&f, &token, NOW).is_none());
    }
}

#[test]
fn the_passcode_raises_only_a_level_two_account() {
    for store in eid_core::testkit::engines("web_session") {
        let f = fixture(store);
        let s = settings();
        let token = web_sign_in(&f, &s, NOW);
        let w = found(&f, &token, NOW).unwrap();
        // A level-1 account: refused before any passcode is compared.
        assert!(matches!(
            ws::step_up(f.store.as_ref(), &s, &w, PASSCODE, NOW),
            Err(Refusal::Level2Required)
        ));
        eid_core::sql::transact(f.store.db(), |tx| {
            tx.exec(
                "UPDATE account SET level = 2 WHERE id = $1",
                &[f.account.id.into()],
            )?;
            Ok::<_, eid_core::StoreError>(())
        })
        .unwrap();
        assert!(matches!(
            ws::step_up(f.store.as_ref(), &s, &w, "000000", NOW),
            Err(Refusal::BadPasscode)
        ));
        let later = NOW + Duration::minutes(3);
        let up = ws::step_up(f.store.as_ref(), &s, &w, PASSCODE, later).unwrap();
        assert_eq!((up.level, up.auth_time), (AccountLevel::Two, later));
        assert_eq!(
            up.amr,
            vec!["pwd".to_owned(), "otp".to_owned(), "pin".to_owned()]
        );
        assert_eq!(found(&f, &token, later).unwrap(), up);
        // Wrong passcodes to the limit: locked out, on this path too.
        let mut last = None;
        for _ in 0..4 {
            last = Some(ws::step_up(f.store.as_ref(), &s, &w, "000000", later));
        }
        assert!(matches!(last, Some(Err(Refusal::LockedOut(_)))), "{last:?}");
    }
}

#[test]
fn a_lock_ends_the_session_and_a_device_can_be_signed_out() {
    for store in eid_core::testkit::engines("web_session") {
        let f = fixture(store);
        let s = settings();
        let token = web_sign_in(&f, &s, NOW);
        let a = reload(&f);
        let devices = ws::devices_of(f.store.as_ref(), &a, NOW).unwrap();
        assert_eq!(devices.len(), 1);
        assert!(devices[0].bound && devices[0].browser_sessions == 1);
        assert_eq!(
            ws::sign_out_device(f.store.as_ref(), &a, &devices[0].device_id, NOW).unwrap(),
            1
        );
        assert!(found(&f, &token, NOW).is_none());
        assert!(ws::sign_out_device(f.store.as_ref(), &a, &devices[0].device_id, NOW).is_err());

        let token = web_sign_in(&f, &s, NOW);
        assert!(found(&f, &token, NOW).is_some());
        acc::set_lock(f.store.as_ref(), &a, acc::LockBy::Holder, true, NOW).unwrap();
        assert!(found(&f, &token, NOW).is_none());
        // Unlocked again, the ended session stays ended.
        acc::set_lock(
            f.store.as_ref(),
            &reload(&f),
            acc::LockBy::Holder,
            false,
            NOW,
        )
        .unwrap();
        assert!(found(&f, &token, NOW).is_none());
        // A lock written behind the sessions' back (as a register lock arrives): `find` sees it
        // and ends the session for good.
        let token = web_sign_in(&f, &s, NOW);
        let set = |v: Option<&str>| {
            eid_core::sql::transact(f.store.db(), |tx| {
                tx.exec(
                    "UPDATE account SET officer_lock = $1 WHERE id = $2",
                    &[v.into(), f.account.id.into()],
                )?;
                Ok::<_, eid_core::StoreError>(())
            })
            .unwrap()
        };
        set(Some("test"));
        assert!(found(&f, &token, NOW).is_none());
        set(None);
        assert!(found(&f, &token, NOW).is_none());
    }
}

fn reload(f: &Fixture) -> Account {
    acc::account_by_id(f.store.as_ref(), f.account.id)
        .unwrap()
        .unwrap()
}

#[test]
fn the_demo_finds_an_active_unlocked_account_of_a_level() {
    for store in eid_core::testkit::engines("web_session") {
        let f = fixture(store);
        let one = acc::sample_account(f.store.as_ref(), AccountLevel::One).unwrap();
        assert_eq!(one.map(|a| a.id), Some(f.account.id));
        assert!(acc::sample_account(f.store.as_ref(), AccountLevel::Two)
            .unwrap()
            .is_none());
        acc::set_lock(f.store.as_ref(), &f.account, acc::LockBy::Holder, true, NOW).unwrap();
        assert!(acc::sample_account(f.store.as_ref(), AccountLevel::One)
            .unwrap()
            .is_none());
    }
}

#[test]
fn unlock_own_lifts_only_the_holders_lock_and_shows_the_rest() {
    for store in eid_core::testkit::engines("web_session") {
        let f = fixture(store);
        let s = settings();
        acc::set_lock(f.store.as_ref(), &f.account, acc::LockBy::Holder, true, NOW).unwrap();
        eid_core::sql::transact(f.store.db(), |tx| {
            tx.exec(
                "UPDATE account SET officer_lock = 'xác minh' WHERE id = $1",
                &[f.account.id.into()],
            )?;
            Ok::<_, eid_core::StoreError>(())
        })
        .unwrap();
        let c = Credentials {
            personal_id: f.account.personal_id.as_str(),
            password: PASSWORD,
            passcode: Some(PASSCODE),
        };
        let a = acc::unlock_own(f.store.as_ref(), &s, &c, NOW).unwrap();
        assert!(!a.holder_lock);
        assert_eq!(a.officer_lock.as_deref(), Some("xác minh"));
        // Again: nothing of the holder's to lift; the officer's lock is shown, not lifted.
        let a = acc::unlock_own(f.store.as_ref(), &s, &c, NOW).unwrap();
        assert_eq!(a.locks(), vec!["officer"]);
        let wrong = Credentials {
            passcode: Some("000000"),
            ..c
        };
        assert!(matches!(
            acc::unlock_own(f.store.as_ref(), &s, &wrong, NOW),
            Err(Refusal::BadCredentials)
        ));
    }
}

#[test]
fn a_guardian_sees_the_children_the_register_records() {
    for store in eid_core::testkit::engines("web_session") {
        let f = fixture(store);
        assert!(acc::children_of(f.store.as_ref(), &f.account.personal_id)
            .unwrap()
            .is_empty());
        let (persons, _) = people();
        let child = persons
            .iter()
            .find(|p| p.birth.age_on(TODAY) < acc::MIN_AGE && p.id != f.account.personal_id)
            .expect("a child in the register");
        acc::record_guardian(
            f.store.as_ref(),
            &child.id,
            &f.account.personal_id,
            "mother",
            &Actor::Cli("test".into()),
            NOW,
        )
        .unwrap();
        let kids = acc::children_of(f.store.as_ref(), &f.account.personal_id).unwrap();
        assert_eq!(kids.len(), 1);
        assert_eq!(kids[0].personal_id, child.id);
        assert_eq!(kids[0].name, child.name.full());
        assert!(kids[0].account.is_none());
        assert!(!format!("{:?}", kids[0]).contains(&child.name.full()));
    }
}
