//! Locks: the holder's, the officer's and the register's.

use eid_core::store::Role;
use eid_domain::{Card, LifeState, LifeStatus};
use serde_json::{json, Value};
use time::macros::date;

use super::*;

/// Every endpoint a signed-in citizen calls, with a plausible body.
fn citizen_calls(w: &World, token: &str) -> Vec<(String, (u16, Value))> {
    let mut out = vec![
        (
            "account".to_owned(),
            w.get("/api/v1/app/account", Some(token)),
        ),
        (
            "events".to_owned(),
            w.get("/api/v1/app/events", Some(token)),
        ),
    ];
    let posts = [
        ("/api/v1/app/lock", json!({ "passcode": PASSCODE })),
        (
            "/api/v1/app/passcode",
            json!({ "passcode": PASSCODE, "new_passcode": "111111" }),
        ),
        (
            "/api/v1/app/password",
            json!({ "passcode": PASSCODE, "new_password": "Mật-khẩu-Mới-2027" }),
        ),
        (
            "/api/v1/app/phone",
            json!({ "passcode": PASSCODE, "new_phone": "0987111222" }),
        ),
        (
            "/api/v1/app/phone/confirm",
            json!({ "handle": "x", "code_old": "111111", "code_new": "222222" }),
        ),
        (
            "/api/v1/app/upgrade",
            json!({ "passcode": PASSCODE, "photo_base64": photo("062190000000") }),
        ),
        (
            "/api/v1/app/children",
            json!({ "passcode": PASSCODE, "child_personal_id": "062216000001",
                    "child_password": "Mật-khẩu-Của-Con-1", "child_passcode": "135790" }),
        ),
        ("/api/v1/app/signout", json!({})),
    ];
    for (path, body) in posts {
        out.push((path.to_owned(), w.post(path, Some(token), body)));
    }
    out
}

#[test]
fn holder_locks_with_the_passcode_and_unlocks() {
    let w = World::new("acc-holder-lock");
    let p = w.person(Some(date!(2021 - 06 - 01)));
    w.level1(&p);
    let token = w.session(&p);
    refused(
        w.post(
            "/api/v1/app/lock",
            Some(&token),
            json!({ "passcode": "000000" }),
        ),
        401,
        "account.bad_passcode",
    );
    let a = ok(
        w.post(
            "/api/v1/app/lock",
            Some(&token),
            json!({ "passcode": PASSCODE }),
        ),
        200,
    );
    assert_eq!(a["account"]["state"], "locked");
    assert_eq!(a["account"]["locks"], json!(["holder"]));
    // The lock ended the session; signing in again is refused for the lock.
    for (what, r) in citizen_calls(&w, &token) {
        assert_eq!(r.0, 401, "{what}: {}", r.1);
    }
    let e = refused(
        w.signin(p.id.as_str(), PASSWORD, DEVICE),
        423,
        "account.locked",
    );
    assert!(e["message"].as_str().unwrap().contains("holder"));
    refused(
        w.signin(p.id.as_str(), PASSWORD, OTHER_DEVICE),
        423,
        "account.locked",
    );
    assert!(w.sms(phone_of(&p)).iter().all(|m| m["purpose"] != "device"));

    let unlock = |password: &str, passcode: &str| {
        w.post(
            "/api/v1/app/unlock",
            None,
            json!({ "personal_id": p.id.as_str(), "password": password, "passcode": passcode }),
        )
    };
    refused(unlock(PASSWORD, "000000"), 401, "auth.bad_credentials");
    refused(
        unlock("Sai-mật-khẩu-1", PASSCODE),
        401,
        "auth.bad_credentials",
    );
    let a = ok(unlock(PASSWORD, PASSCODE), 200);
    assert_eq!(a["account"]["state"], "active");
    refused(unlock(PASSWORD, PASSCODE), 409, "state.wrong");
    let token = w.session(&p);
    ok(w.get("/api/v1/app/account", Some(&token)), 200);
    let v = w.account(&p);
    let k = kinds(&v);
    let at = k.iter().position(|k| k == "locked_by_holder").unwrap();
    assert_eq!(
        k[at..].to_vec(),
        strs(&[
            "locked_by_holder",
            "secret_failed",
            "secret_failed",
            "unlocked_by_holder",
            "signed_in"
        ])
    );
}

#[test]
fn officer_lock_with_a_reason_that_the_holder_cannot_lift() {
    let w = World::new("acc-officer-lock");
    let p = w.person(Some(date!(2021 - 06 - 01)));
    w.level1(&p);
    let token = w.session(&p);
    let path = format!("/api/v1/accounts/{}/lock", p.id.as_str());
    refused(
        w.post(&path, Some(&w.xa.token), json!({})),
        422,
        "account.reason",
    );
    // An officer of another commune sees neither the account nor its lock.
    let outsider = w.user("xa2", Role::Commune, w.at.neighbour);
    refused(
        w.post(
            &path,
            Some(&outsider.token),
            json!({ "reason": "gọi đường dây nóng" }),
        ),
        403,
        "scope.denied",
    );
    refused(
        w.get(
            &format!("/api/v1/accounts/{}", p.id.as_str()),
            Some(&outsider.token),
        ),
        403,
        "scope.denied",
    );
    let a = ok(
        w.post(
            &path,
            Some(&w.xa.token),
            json!({ "reason": "gọi đường dây nóng 1900 0368" }),
        ),
        200,
    );
    assert_eq!(a["account"]["state"], "locked");
    assert_eq!(a["account"]["locks"], json!(["officer"]));
    assert_eq!(
        a["account"]["officer_lock_reason"],
        "gọi đường dây nóng 1900 0368"
    );
    refused(
        w.get("/api/v1/app/account", Some(&token)),
        401,
        "auth.invalid",
    );
    refused(
        w.signin(p.id.as_str(), PASSWORD, DEVICE),
        423,
        "account.locked",
    );
    // The holder's unlock does not lift an officer's lock.
    refused(
        w.post(
            "/api/v1/app/unlock",
            None,
            json!({ "personal_id": p.id.as_str(), "password": PASSWORD, "passcode": PASSCODE }),
        ),
        409,
        "state.wrong",
    );
    assert_eq!(w.account(&p)["account"]["state"], "locked");
    // The district officer above lifts it, with a reason.
    let unlock = format!("/api/v1/accounts/{}/unlock", p.id.as_str());
    refused(
        w.post(&unlock, Some(&outsider.token), json!({ "reason": "x" })),
        403,
        "scope.denied",
    );
    let a = ok(
        w.post(
            &unlock,
            Some(&w.huyen.token),
            json!({ "reason": "chủ tài khoản đến trực tiếp" }),
        ),
        200,
    );
    assert_eq!(a["account"]["state"], "active");
    w.session(&p);
    let k = kinds(&w.account(&p));
    let at = k.iter().position(|k| k == "locked_by_officer").unwrap();
    assert_eq!(
        k[at..].to_vec(),
        strs(&["locked_by_officer", "unlocked_by_officer", "signed_in"])
    );
}

#[test]
fn the_register_locks_on_death_and_unlocks_when_corrected() {
    let w = World::new("acc-register-lock");
    let p = w.person(Some(date!(2021 - 06 - 01)));
    w.level1(&p);
    let token = w.session(&p);

    let mut dead = p.clone();
    dead.life = LifeStatus {
        state: LifeState::Dead,
        since: Some(date!(2026 - 11 - 01)),
    };
    w.put(&dead);
    for (what, r) in citizen_calls(&w, &token) {
        assert_eq!(
            (r.0, r.1["error"]["code"].as_str()),
            (423, Some("account.locked")),
            "{what}: {}",
            r.1
        );
    }
    refused(
        w.signin(p.id.as_str(), PASSWORD, DEVICE),
        423,
        "account.locked",
    );
    let v = w.account(&p);
    assert_eq!(v["account"]["state"], "locked");
    assert_eq!(v["account"]["locks"], json!(["register"]));
    assert_eq!(v["account"]["register_lock_reason"], "dead");
    assert_eq!(
        kinds(&v).last().map(String::as_str),
        Some("locked_by_register")
    );
    // Not something an officer or the holder lifts.
    refused(
        w.post(
            "/api/v1/app/unlock",
            None,
            json!({ "personal_id": p.id.as_str(), "password": PASSWORD, "passcode": PASSCODE }),
        ),
        409,
        "state.wrong",
    );

    // The record was wrong: back alive, the account is usable again (the session too).
    w.put(&p);
    let me = ok(w.get("/api/v1/app/account", Some(&token)), 200);
    assert_eq!(me["account"]["state"], "active");
    // A revoked card locks too, and a new card lifts it.
    let mut revoked = p.clone();
    revoked.card = Some(Card {
        issued: date!(2021 - 06 - 01),
        revoked: true,
    });
    w.put(&revoked);
    refused(
        w.get("/api/v1/app/account", Some(&token)),
        423,
        "account.locked",
    );
    let mut renewed = p.clone();
    renewed.card = Some(Card {
        issued: date!(2026 - 11 - 02),
        revoked: false,
    });
    w.put(&renewed);
    ok(w.get("/api/v1/app/account", Some(&token)), 200);
    let v = w.account(&p);
    let k = kinds(&v);
    let at = k.iter().position(|k| k == "locked_by_register").unwrap();
    assert_eq!(
        k[at..].to_vec(),
        strs(&[
            "locked_by_register",
            "unlocked_by_register",
            "locked_by_register",
            "unlocked_by_register"
        ])
    );
    let reasons: Vec<&str> = v["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["kind"] == "locked_by_register")
        .map(|e| e["detail"]["reason"].as_str().unwrap())
        .collect();
    assert_eq!(reasons, vec!["dead", "card_revoked"]);
}
