//! Level 1: self-service registration with the SMS code, and its refusals.

use eid_domain::{LifeState, LifeStatus, PersonalId, PhoneNumber, Sex};
use serde_json::json;
use time::macros::date;
use time::Date;

use super::*;

#[test]
fn level1_registration_is_confirmed_with_the_sms_code() {
    let w = World::new("acc-l1");
    let p = w.person(Some(date!(2021 - 06 - 01)));
    let r = ok(w.register(&p, p.id.as_str()), 202);
    let handle = r["handle"].as_str().unwrap().to_owned();
    assert_eq!(handle.len(), 64);
    let msgs = w.sms(phone_of(&p));
    assert_eq!(msgs.len(), 1, "{msgs:?}");
    assert_eq!(msgs[0]["purpose"], "register");
    let code = six_digits(msgs[0]["body"].as_str().unwrap());

    // Before the code: a pending account.
    let before = w.account(&p);
    assert_eq!(before["account"]["state"], "pending");
    assert_eq!(before["account"]["level"], 0);

    let a = ok(w.confirm(&handle, &code, PASSWORD), 200);
    assert_eq!(a["account"]["state"], "active");
    assert_eq!(a["account"]["level"], 1);
    assert_eq!(a["account"]["verifier"], "dev-hash");
    let v = w.account(&p);
    assert_eq!(v["account"]["state"], "active");
    assert_eq!(v["account"]["level"], 1);
    assert_eq!(v["account"]["locks"], json!([]));
    assert_eq!(
        kinds(&v),
        strs(&["registration_started", "level1_activated"])
    );

    // The code is used: a second confirm fails.
    refused(w.confirm(&handle, &code, PASSWORD), 401, "code.invalid");
    // The holder signs in on the device they registered from.
    w.session(&p);
}

#[test]
fn level1_unknown_dead_emigrated_or_active_get_the_same_answer_and_no_code() {
    let w = World::new("acc-l1-quiet");
    let real = w.person(Some(date!(2021 - 06 - 01)));
    let first = ok(w.register(&real, real.id.as_str()), 202);
    let message = first["message"].clone();
    let code = w.code(phone_of(&real), "register");
    ok(
        w.confirm(first["handle"].as_str().unwrap(), &code, PASSWORD),
        200,
    );

    let mut dead = w.person(Some(date!(2021 - 06 - 01)));
    dead.life = LifeStatus {
        state: LifeState::Dead,
        since: Some(date!(2025 - 01 - 10)),
    };
    w.put(&dead);
    let mut emigrated = w.person(Some(date!(2021 - 06 - 01)));
    emigrated.life = LifeStatus {
        state: LifeState::Emigrated,
        since: Some(date!(2024 - 05 - 01)),
    };
    w.put(&emigrated);
    let unknown = PersonalId::from_parts(62, Sex::Male, 1985, 999_001).unwrap();
    let unknown_phone = PhoneNumber::parse("0987000111").unwrap();

    let cases: Vec<(&str, String, PhoneNumber)> = vec![
        (
            "unknown",
            unknown.as_str().to_owned(),
            unknown_phone.clone(),
        ),
        ("dead", dead.id.as_str().to_owned(), phone_of(&dead).clone()),
        (
            "emigrated",
            emigrated.id.as_str().to_owned(),
            phone_of(&emigrated).clone(),
        ),
        // Again for the person who now has an active account, from a new phone number.
        (
            "active",
            real.id.as_str().to_owned(),
            PhoneNumber::parse("0987000222").unwrap(),
        ),
    ];
    for (what, id, phone) in cases {
        let r = ok(w.register_as(&id, &phone.national(), &id), 202);
        let keys: Vec<&String> = r.as_object().unwrap().keys().collect();
        assert_eq!(keys, vec!["handle", "message"], "{what}");
        assert_eq!(r["message"], message, "{what}");
        let handle = r["handle"].as_str().unwrap();
        assert_eq!(handle.len(), 64, "{what}");
        assert!(w.sms(&phone).is_empty(), "{what}: an SMS was queued");
        refused(w.confirm(handle, "123456", PASSWORD), 401, "code.invalid");
    }
    // Only the real registration sent a code.
    assert_eq!(w.sms(phone_of(&real)).len(), 1);
    // The refusals are on the persons' records, not on an account.
    assert_eq!(w.stored_kinds(&dead), strs(&["registration_refused"]));
    assert_eq!(
        kinds(&w.account(&real)),
        strs(&[
            "registration_started",
            "level1_activated",
            "registration_refused"
        ])
    );
}

#[test]
fn level1_refuses_under_14_a_wrong_photo_and_a_weak_password() {
    let w = World::new("acc-l1-refusals");
    // Under 14 by the year in the ID, and under 14 by the birthday later this year.
    let today = crate::helpers::now().date();
    let young = w.person_born(date!(2014 - 01 - 05), None, w.at.commune);
    refused(
        w.register(&young, young.id.as_str()),
        422,
        "account.under_14",
    );
    let born = Date::from_calendar_date(today.year() - 14, time::Month::December, 31).unwrap();
    let almost = w.person_born(born, None, w.at.commune);
    refused(
        w.register(&almost, almost.id.as_str()),
        422,
        "account.under_14",
    );
    assert!(w.sms(phone_of(&young)).is_empty());
    assert!(w.sms(phone_of(&almost)).is_empty());

    // Somebody else's photo.
    let p = w.person(Some(date!(2021 - 06 - 01)));
    refused(w.register(&p, "062190000000"), 422, "account.face_mismatch");
    assert!(w.sms(phone_of(&p)).is_empty());

    // A weak password is refused before the code is looked at: the code still works.
    let r = ok(w.register(&p, p.id.as_str()), 202);
    let handle = r["handle"].as_str().unwrap();
    let code = w.code(phone_of(&p), "register");
    refused(w.confirm(handle, &code, "password"), 400, "password.policy");
    refused(
        w.confirm(handle, &code, "abcdefghijkl"),
        400,
        "password.policy",
    );
    refused(
        w.post(
            "/api/v1/app/register/confirm",
            None,
            json!({ "handle": handle, "code": code, "password": PASSWORD, "passcode": "12345" }),
        ),
        400,
        "passcode.invalid",
    );
    ok(w.confirm(handle, &code, PASSWORD), 200);
}

#[test]
fn level1_code_dies_after_five_wrong_entries() {
    let w = World::new("acc-l1-dies");
    let p = w.person(Some(date!(2021 - 06 - 01)));
    let r = ok(w.register(&p, p.id.as_str()), 202);
    let handle = r["handle"].as_str().unwrap();
    let code = w.code(phone_of(&p), "register");
    for k in 1..=5 {
        refused(
            w.confirm(handle, &wrong(&code, k), PASSWORD),
            401,
            "code.invalid",
        );
    }
    refused(w.confirm(handle, &code, PASSWORD), 401, "code.invalid");
    let v = w.account(&p);
    assert_eq!(v["account"]["state"], "pending");
    assert_eq!(kinds(&v), strs(&["registration_started"]));

    // Registering again sends a new code, which works.
    let r = ok(w.register(&p, p.id.as_str()), 202);
    let code2 = w.code(phone_of(&p), "register");
    ok(
        w.confirm(r["handle"].as_str().unwrap(), &code2, PASSWORD),
        200,
    );
}

#[test]
fn level1_expired_code_is_refused() {
    let w = World::new("acc-l1-expired");
    let p = w.person(Some(date!(2021 - 06 - 01)));
    let r = ok(w.register(&p, p.id.as_str()), 202);
    let code = w.code(phone_of(&p), "register");
    w.expire_codes("register");
    refused(
        w.confirm(r["handle"].as_str().unwrap(), &code, PASSWORD),
        401,
        "code.invalid",
    );
    assert_eq!(w.account(&p)["account"]["state"], "pending");
}
