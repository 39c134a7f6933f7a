//! Changes: phone, password reset, passcode, and the holder's event list.

use eid_core::store::Role;
use eid_domain::{PersonalId, PhoneNumber, Sex};
use serde_json::json;
use time::macros::date;

use super::*;

#[test]
fn phone_change_is_verified_on_both_numbers() {
    let w = World::new("acc-phone");
    let p = w.person(Some(date!(2021 - 06 - 01)));
    w.level1(&p);
    let token = w.session(&p);
    let new_phone = PhoneNumber::parse("0987654321").unwrap();
    refused(
        w.post(
            "/api/v1/app/phone",
            Some(&token),
            json!({ "passcode": "000000", "new_phone": new_phone.national() }),
        ),
        401,
        "account.bad_passcode",
    );
    refused(
        w.post(
            "/api/v1/app/phone",
            Some(&token),
            json!({ "passcode": PASSCODE, "new_phone": phone_of(&p).national() }),
        ),
        422,
        "phone.same",
    );
    let r = ok(
        w.post(
            "/api/v1/app/phone",
            Some(&token),
            json!({ "passcode": PASSCODE, "new_phone": new_phone.national() }),
        ),
        202,
    );
    let handle = r["handle"].as_str().unwrap();
    let code_old = w.code(phone_of(&p), "phone_old");
    let code_new = w.code(&new_phone, "phone_new");
    let confirm = |a: &str, b: &str| {
        w.post(
            "/api/v1/app/phone/confirm",
            Some(&token),
            json!({ "handle": handle, "code_old": a, "code_new": b }),
        )
    };
    if code_old != code_new {
        refused(confirm(&code_new, &code_old), 401, "code.invalid");
    }
    refused(
        confirm(&code_old, &wrong(&code_new, 1)),
        401,
        "code.invalid",
    );
    let a = ok(confirm(&code_old, &code_new), 200);
    assert_eq!(a["account"]["phone"], new_phone.masked());
    refused(confirm(&code_old, &code_new), 401, "code.invalid");
    let k = kinds(&w.account(&p));
    assert_eq!(
        k[k.len() - 4..].to_vec(),
        strs(&[
            "signed_in",
            "secret_failed",
            "phone_change_started",
            "phone_changed"
        ])
    );
    // A new device's code now goes to the new number.
    ok(w.signin(p.id.as_str(), PASSWORD, OTHER_DEVICE), 202);
    w.code(&new_phone, "device");
}

#[test]
fn officer_changes_the_phone_with_a_reason() {
    let w = World::new("acc-officer-phone");
    let p = w.person(Some(date!(2021 - 06 - 01)));
    w.level1(&p);
    let path = format!("/api/v1/accounts/{}/phone", p.id.as_str());
    refused(
        w.post(
            &path,
            Some(&w.xa.token),
            json!({ "phone": "0987654321", "reason": " " }),
        ),
        422,
        "account.reason",
    );
    refused(
        w.post(
            &path,
            Some(&w.xa.token),
            json!({ "phone": "0123", "reason": "x" }),
        ),
        400,
        "phone.invalid",
    );
    let outsider = w.user("xa2", Role::Commune, w.at.neighbour);
    refused(
        w.post(
            &path,
            Some(&outsider.token),
            json!({ "phone": "0987654321", "reason": "x" }),
        ),
        403,
        "scope.denied",
    );
    let a = ok(
        w.post(
            &path,
            Some(&w.xa.token),
            json!({ "phone": "0987654321", "reason": "mất SIM, đến trực tiếp" }),
        ),
        200,
    );
    assert_eq!(a["account"]["phone"], "0******321");
    let v = w.account(&p);
    let last = v["events"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(last["kind"], "phone_changed");
    assert_eq!(last["detail"]["reason"], "mất SIM, đến trực tiếp");
    assert_eq!(last["actor"], format!("staff:{}", w.xa.id));
}

#[test]
fn password_reset_sends_a_code_only_when_id_and_phone_match() {
    let w = World::new("acc-reset");
    let p = w.person(Some(date!(2021 - 06 - 01)));
    w.level1(&p);
    let token = w.session(&p);
    let stranger_phone = PhoneNumber::parse("0987000333").unwrap();
    let unknown = PersonalId::from_parts(62, Sex::Male, 1980, 999_004).unwrap();
    let start = |id: &str, phone: &PhoneNumber| {
        ok(
            w.post(
                "/api/v1/app/password-reset",
                None,
                json!({ "personal_id": id, "phone": phone.national() }),
            ),
            202,
        )
    };
    let a = start(unknown.as_str(), phone_of(&p));
    let b = start(p.id.as_str(), &stranger_phone);
    assert_eq!(a["message"], b["message"]);
    assert_eq!(a["handle"].as_str().unwrap().len(), 64);
    assert!(w.sms(&stranger_phone).is_empty());
    assert_eq!(
        w.sms(phone_of(&p))
            .iter()
            .filter(|m| m["purpose"] == "reset")
            .count(),
        0
    );
    let reset = |handle: &str, code: &str, password: &str| {
        w.post(
            "/api/v1/app/password-reset/confirm",
            None,
            json!({ "handle": handle, "code": code, "password": password }),
        )
    };
    refused(
        reset(a["handle"].as_str().unwrap(), "123456", "Mật-khẩu-Mới-2027"),
        401,
        "code.invalid",
    );
    refused(
        reset(b["handle"].as_str().unwrap(), "123456", "Mật-khẩu-Mới-2027"),
        401,
        "code.invalid",
    );

    let c = start(p.id.as_str(), phone_of(&p));
    assert_eq!(c["message"], a["message"]);
    let code = w.code(phone_of(&p), "reset");
    let handle = c["handle"].as_str().unwrap();
    refused(reset(handle, &code, "weak"), 400, "password.policy");
    assert_eq!(reset(handle, &code, "Mật-khẩu-Mới-2027").0, 204);
    refused(
        reset(handle, &code, "Mật-khẩu-Mới-2028"),
        401,
        "code.invalid",
    );
    // Every session ended; the old password is gone.
    refused(
        w.get("/api/v1/app/account", Some(&token)),
        401,
        "auth.invalid",
    );
    refused(
        w.signin(p.id.as_str(), PASSWORD, DEVICE),
        401,
        "auth.bad_credentials",
    );
    ok(w.signin(p.id.as_str(), "Mật-khẩu-Mới-2027", DEVICE), 200);
    let k = kinds(&w.account(&p));
    assert_eq!(
        k[k.len() - 4..].to_vec(),
        strs(&[
            "password_reset_started",
            "password_reset",
            "secret_failed",
            "signed_in"
        ])
    );
}

#[test]
fn passcode_change_needs_the_current_passcode() {
    let w = World::new("acc-passcode");
    let p = w.person(Some(date!(2021 - 06 - 01)));
    w.level1(&p);
    let token = w.session(&p);
    let change = |current: &str, new: &str| {
        w.post(
            "/api/v1/app/passcode",
            Some(&token),
            json!({ "passcode": current, "new_passcode": new }),
        )
    };
    refused(change("000000", "135792"), 401, "account.bad_passcode");
    refused(change(PASSCODE, "13579"), 400, "passcode.invalid");
    refused(change(PASSCODE, "abcdef"), 400, "passcode.invalid");
    assert_eq!(change(PASSCODE, "135792").0, 204);
    refused(change(PASSCODE, "111111"), 401, "account.bad_passcode");
    // The new passcode is the one that locks.
    refused(
        w.post(
            "/api/v1/app/lock",
            Some(&token),
            json!({ "passcode": PASSCODE }),
        ),
        401,
        "account.bad_passcode",
    );
    ok(
        w.post(
            "/api/v1/app/lock",
            Some(&token),
            json!({ "passcode": "135792" }),
        ),
        200,
    );
    let k = kinds(&w.account(&p));
    assert_eq!(
        k[2..].to_vec(),
        strs(&[
            "signed_in",
            "secret_failed",
            "passcode_changed",
            "secret_failed",
            "secret_failed",
            "locked_by_holder"
        ])
    );
}

#[test]
fn passcode_failures_lock_out_too() {
    let w = World::new("acc-passcode-lockout");
    let p = w.person(Some(date!(2021 - 06 - 01)));
    w.level1(&p);
    let token = w.session(&p);
    for _ in 1..=4 {
        refused(
            w.post(
                "/api/v1/app/lock",
                Some(&token),
                json!({ "passcode": "000000" }),
            ),
            401,
            "account.bad_passcode",
        );
    }
    refused(
        w.post(
            "/api/v1/app/lock",
            Some(&token),
            json!({ "passcode": "000000" }),
        ),
        429,
        "auth.locked_out",
    );
    refused(
        w.post(
            "/api/v1/app/lock",
            Some(&token),
            json!({ "passcode": PASSCODE }),
        ),
        429,
        "auth.locked_out",
    );
    refused(
        w.signin(p.id.as_str(), PASSWORD, DEVICE),
        429,
        "auth.locked_out",
    );
}

#[test]
fn the_holder_lists_every_event_in_order() {
    let w = World::new("acc-events");
    let p = w.person(Some(date!(2021 - 06 - 01)));
    w.level1(&p);
    let token = w.session(&p);
    ok(
        w.post(
            "/api/v1/app/lock",
            Some(&token),
            json!({ "passcode": PASSCODE }),
        ),
        200,
    );
    ok(
        w.post(
            "/api/v1/app/unlock",
            None,
            json!({ "personal_id": p.id.as_str(), "password": PASSWORD, "passcode": PASSCODE }),
        ),
        200,
    );
    let token = w.session(&p);
    assert_eq!(
        w.post(
            "/api/v1/app/passcode",
            Some(&token),
            json!({ "passcode": PASSCODE, "new_passcode": "135792" }),
        )
        .0,
        204
    );
    let r = ok(w.signin(p.id.as_str(), PASSWORD, OTHER_DEVICE), 202);
    let code = w.code(phone_of(&p), "device");
    let s = ok(
        w.post(
            "/api/v1/app/signin/device",
            None,
            json!({ "handle": r["device_check"], "code": code }),
        ),
        200,
    );
    let token = s["token"].as_str().unwrap();
    let new_phone = PhoneNumber::parse("0987654321").unwrap();
    let h = ok(
        w.post(
            "/api/v1/app/phone",
            Some(token),
            json!({ "passcode": "135792", "new_phone": new_phone.national() }),
        ),
        202,
    );
    ok(
        w.post(
            "/api/v1/app/phone/confirm",
            Some(token),
            json!({ "handle": h["handle"], "code_old": w.code(phone_of(&p), "phone_old"),
                    "code_new": w.code(&new_phone, "phone_new") }),
        ),
        200,
    );

    let events = ok(w.get("/api/v1/app/events", Some(token)), 200)["events"].clone();
    let events = events.as_array().unwrap();
    let k: Vec<&str> = events.iter().map(|e| e["kind"].as_str().unwrap()).collect();
    assert_eq!(
        k,
        vec![
            "registration_started",
            "level1_activated",
            "signed_in",
            "locked_by_holder",
            "unlocked_by_holder",
            "signed_in",
            "passcode_changed",
            "device_check_sent",
            "device_bound",
            "signed_in",
            "phone_change_started",
            "phone_changed"
        ]
    );
    let seqs: Vec<i64> = events.iter().map(|e| e["seq"].as_i64().unwrap()).collect();
    assert!(seqs.windows(2).all(|s| s[0] < s[1]), "{seqs:?}");
    // Sign-ins name the device by a label, never by its identifier.
    let label = |d: &str| eid_core::secret::hex(&eid_core::secret::token_hash(d)[..4]);
    let devices: Vec<&str> = events
        .iter()
        .filter(|e| e["kind"] == "signed_in")
        .map(|e| e["detail"]["device"].as_str().unwrap())
        .collect();
    assert_eq!(
        devices,
        vec![label(DEVICE), label(DEVICE), label(OTHER_DEVICE)]
    );
    let text = serde_json::to_string(events).unwrap();
    assert!(!text.contains(DEVICE) && !text.contains(OTHER_DEVICE));
    assert!(!text.contains(phone_of(&p).as_str()) && !text.contains(new_phone.as_str()));
    assert_eq!(events[11]["detail"]["to"], new_phone.masked());
}
