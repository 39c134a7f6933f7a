//! Account recovery without the old phone (issue 15), against a SIM swap: whoever knows the
//! personal ID and holds the phone number but lacks the passcode or the face is refused; with the
//! passcode and a face match, the owner cancels within the time lock and the recovery never
//! completes; an honest recovery completes only after the lock, binding the new phone and device
//! and ending the old sessions; parallel starts are held to the core attempt limit. SQLite always;
//! PostgreSQL when `EID_TEST_DATABASE_URL` is set.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use eid_core::accounts::recovery::{self, Start, Status};
use eid_core::accounts::{self as acc, Account, Refusal, Settings};
use eid_core::import::{import_generated, ImportOptions, OnError};
use eid_core::secret::hash_password;
use eid_core::store::{Actor, Store};
use eid_domain::{LifeState, PhoneNumber, UnitCode};
use eid_gen::{GenConfig, Generator};
use time::macros::{date, datetime};
use time::{Date, Duration, OffsetDateTime};

const TODAY: Date = date!(2026 - 11 - 23);
const NOW: OffsetDateTime = datetime!(2026-11-23 09:00 UTC);
const PASSWORD: &str = "mat-khau-dung-1";
const PASSCODE: &str = "246810";
const OLD_PHONE: &str = "0912345678";
const NEW_PHONE: &str = "0987654321";

/// The register and one account with [`PASSWORD`], [`PASSCODE`] and [`OLD_PHONE`].
fn account(store: &dyn Store) -> Account {
    let persons: Vec<_> = Generator::new(&GenConfig {
        count: 40,
        seed: 9,
        province: Some(UnitCode::parse("62").unwrap()),
        today: TODAY,
    })
    .unwrap()
    .collect();
    let opts = ImportOptions {
        on_error: OnError::Skip,
        today: TODAY,
        now: NOW - Duration::days(1),
        actor: Actor::Cli("test".into()),
        reason: "test".into(),
    };
    import_generated(store, persons.iter().cloned(), &opts).unwrap();
    let holder = persons
        .iter()
        .find(|p| {
            p.life.state == LifeState::Alive
                && p.birth.age_on(TODAY) > acc::MIN_AGE
                && p.card.is_some_and(|c| !c.revoked)
        })
        .unwrap();
    let s = Settings::default();
    let then = NOW - Duration::hours(1);
    let handle = acc::register(
        store,
        &s,
        &acc::Registration {
            personal_id: &holder.id,
            phone: &PhoneNumber::parse(OLD_PHONE).unwrap(),
            photo: b"photo",
            photo_hash: [7; 32],
            verifier: "test",
            score: 0.99,
            matched: true,
            device_hash: acc::device_hash("device-0001-test").unwrap(),
        },
        then,
    )
    .unwrap();
    let code = last_code(store, OLD_PHONE);
    acc::confirm_registration(
        store,
        &s,
        &handle,
        &code,
        &hash_password(PASSWORD).unwrap(),
        &hash_password(PASSCODE).unwrap(),
        then,
    )
    .unwrap()
}

fn e164(national: &str) -> String {
    PhoneNumber::parse(national).unwrap().as_str().to_owned()
}

/// The six-digit code of the newest SMS to `phone`.
fn last_code(store: &dyn Store, phone: &str) -> String {
    let to = e164(phone);
    acc::sms_list(store, 500)
        .unwrap()
        .into_iter()
        .filter(|m| m.to == to)
        .max_by_key(|m| m.id)
        .unwrap()
        .body
        .split(|c: char| !c.is_ascii_digit())
        .find(|w| w.len() == 6)
        .unwrap()
        .to_owned()
}

fn cancel_token(store: &dyn Store) -> String {
    let to = e164(OLD_PHONE);
    let body = acc::sms_list(store, 500)
        .unwrap()
        .into_iter()
        .filter(|m| m.to == to && m.purpose == "recovery_notice")
        .max_by_key(|m| m.id)
        .unwrap()
        .body;
    body.split("?t=").nth(1).unwrap().trim().to_owned()
}

fn start<'a>(a: &'a Account, passcode: &'a str, face: bool) -> Start<'a> {
    Start {
        personal_id: a.personal_id.as_str(),
        passcode,
        new_phone: NEW_PHONE,
        device_hash: Some(acc::device_hash("the-new-phone-0002").unwrap()),
        face_matched: face,
    }
}

#[test]
fn a_sim_swapper_without_passcode_or_face_is_refused_and_counted() {
    for s in eid_core::testkit::engines("recovery-swap") {
        let s = s.as_ref();
        let a = account(s);
        // Knows the personal ID, holds the number, guesses the passcode: refused.
        let e = recovery::start(s, &start(&a, "000000", true), NOW).unwrap_err();
        assert!(matches!(e, Refusal::BadPasscode), "{e:?}");
        // Has the passcode but not the face: refused.
        let e = recovery::start(s, &start(&a, PASSCODE, false), NOW).unwrap_err();
        assert!(matches!(e, Refusal::FaceMismatch), "{e:?}");
        // An unknown ID answers as a wrong passcode does.
        let mut other = start(&a, PASSCODE, true);
        other.personal_id = "001099012345";
        assert!(matches!(
            recovery::start(s, &other, NOW).unwrap_err(),
            Refusal::BadPasscode
        ));
        // The account is as it was.
        let now = acc::account_of(s, &a.personal_id).unwrap().unwrap();
        assert_eq!(now.phone, e164(OLD_PHONE));
        // Counted for operations, each with its next step on the ladder.
        let figures = recovery::failures(s, 7, NOW).unwrap();
        assert!(figures.contains(&("account.bad_passcode".into(), "portrait".into(), 2)));
        assert!(figures.contains(&("account.face_mismatch".into(), "fingerprint".into(), 1)));
    }
}

#[test]
fn the_owner_cancels_within_the_lock_and_the_recovery_never_completes() {
    for s in eid_core::testkit::engines("recovery-cancel") {
        let s = s.as_ref();
        let a = account(s);
        // The attacker has the passcode and fooled the face check.
        let handle = recovery::start(s, &start(&a, PASSCODE, true), NOW).unwrap();
        assert!(matches!(
            recovery::confirm(
                s,
                &handle,
                "000000",
                recovery::DEFAULT_LOCK,
                "https://eid.test",
                NOW
            ),
            Err(Refusal::BadCode)
        ));
        let code = last_code(s, NEW_PHONE);
        let unlock = recovery::confirm(
            s,
            &handle,
            &code,
            recovery::DEFAULT_LOCK,
            "https://eid.test",
            NOW,
        )
        .unwrap();
        assert_eq!(unlock, NOW + Duration::hours(72));
        // The owner's sessions see the banner; the bound phone got a cancel link.
        let pending = recovery::pending_for(s, a.personal_id.as_str())
            .unwrap()
            .unwrap();
        assert_eq!(pending.unlock_at, unlock);
        assert!(!pending.new_phone_masked.contains("654321"));
        // Too early: refused.
        assert!(matches!(
            recovery::complete(s, &handle, NOW + Duration::hours(1)),
            Err(Refusal::WrongState(_))
        ));
        // The owner cancels from the SMS link.
        recovery::cancel_by_token(s, &cancel_token(s), NOW + Duration::hours(2)).unwrap();
        assert!(recovery::pending_for(s, a.personal_id.as_str())
            .unwrap()
            .is_none());
        // After the lock: still refused, for ever.
        assert!(matches!(
            recovery::complete(s, &handle, NOW + Duration::hours(80)),
            Err(Refusal::WrongState(_))
        ));
        assert_eq!(
            recovery::status(s, &handle, NOW + Duration::hours(80)).unwrap(),
            Status::Cancelled
        );
        let now = acc::account_of(s, &a.personal_id).unwrap().unwrap();
        assert_eq!(now.phone, e164(OLD_PHONE));

        // A second attempt, cancelled from a signed-in session this time.
        let handle =
            recovery::start(s, &start(&a, PASSCODE, true), NOW + Duration::hours(81)).unwrap();
        let code = last_code(s, NEW_PHONE);
        recovery::confirm(
            s,
            &handle,
            &code,
            recovery::DEFAULT_LOCK,
            "https://eid.test",
            NOW + Duration::hours(81),
        )
        .unwrap();
        assert_eq!(
            recovery::cancel_by_owner(s, a.personal_id.as_str(), NOW + Duration::hours(82))
                .unwrap(),
            1
        );
        assert!(recovery::complete(s, &handle, NOW + Duration::hours(200)).is_err());
        assert_eq!(
            acc::account_of(s, &a.personal_id).unwrap().unwrap().phone,
            e164(OLD_PHONE)
        );
    }
}

#[test]
fn an_honest_recovery_binds_the_new_phone_after_the_lock() {
    for s in eid_core::testkit::engines("recovery-honest") {
        let s = s.as_ref();
        let a = account(s);
        let handle = recovery::start(s, &start(&a, PASSCODE, true), NOW).unwrap();
        assert_eq!(
            recovery::status(s, &handle, NOW).unwrap(),
            Status::WaitingForCode
        );
        let code = last_code(s, NEW_PHONE);
        let lock = Duration::hours(1);
        recovery::confirm(s, &handle, &code, lock, "https://eid.test", NOW).unwrap();
        // Another start while one waits: refused.
        assert!(matches!(
            recovery::start(s, &start(&a, PASSCODE, true), NOW),
            Err(Refusal::WrongState(_))
        ));
        assert_eq!(
            recovery::status(s, &handle, NOW + Duration::minutes(59)).unwrap(),
            Status::Locked {
                unlock_at: NOW + lock
            }
        );
        recovery::complete(s, &handle, NOW + lock).unwrap();
        let now = acc::account_of(s, &a.personal_id).unwrap().unwrap();
        assert_eq!(now.phone, e164(NEW_PHONE));
        assert_eq!(
            now.device_hash,
            Some(acc::device_hash("the-new-phone-0002").unwrap())
        );
        // Completed once only.
        assert!(recovery::complete(s, &handle, NOW + lock).is_err());
    }
}

#[test]
fn parallel_starts_are_held_to_the_attempt_limit() {
    for s in eid_core::testkit::engines("recovery-parallel") {
        let a = account(s.as_ref());
        let granted = std::sync::atomic::AtomicU32::new(0);
        let limited = std::sync::atomic::AtomicU32::new(0);
        std::thread::scope(|scope| {
            for _ in 0..12 {
                let (s, a) = (s.clone(), a.clone());
                let (granted, limited) = (&granted, &limited);
                scope.spawn(move || {
                    match recovery::start(s.as_ref(), &start(&a, "111111", true), NOW) {
                        Err(Refusal::TooManyCodes(_)) => {
                            limited.fetch_add(1, std::sync::atomic::Ordering::SeqCst)
                        }
                        Err(Refusal::BadPasscode) => {
                            granted.fetch_add(1, std::sync::atomic::Ordering::SeqCst)
                        }
                        other => panic!("{other:?}"),
                    };
                });
            }
        });
        assert_eq!(granted.into_inner(), recovery::STARTS_PER_DAY);
        assert_eq!(limited.into_inner(), 12 - recovery::STARTS_PER_DAY);
        // Even the right passcode is held back now.
        assert!(matches!(
            recovery::start(s.as_ref(), &start(&a, PASSCODE, true), NOW),
            Err(Refusal::TooManyCodes(_))
        ));
    }
}
