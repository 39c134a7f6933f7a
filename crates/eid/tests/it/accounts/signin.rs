//! Sign-in: new devices, failures that look alike, and the lock-out.

use eid_domain::{PersonalId, Sex};
use serde_json::json;
use time::macros::date;

use super::*;

#[test]
fn signin_on_a_new_device_needs_the_code_and_ends_the_old_session() {
    let w = World::new("acc-signin-device");
    let p = w.person(Some(date!(2021 - 06 - 01)));
    w.level1(&p);
    let old = w.session(&p);
    ok(w.get("/api/v1/app/account", Some(&old)), 200);

    let r = ok(w.signin(p.id.as_str(), PASSWORD, OTHER_DEVICE), 202);
    let handle = r["device_check"].as_str().unwrap().to_owned();
    assert!(r.get("token").is_none());
    let code = w.code(phone_of(&p), "device");
    // The old session lives until the new device is confirmed.
    ok(w.get("/api/v1/app/account", Some(&old)), 200);
    refused(
        w.post(
            "/api/v1/app/signin/device",
            None,
            json!({ "handle": handle, "code": wrong(&code, 1) }),
        ),
        401,
        "code.invalid",
    );
    let s = ok(
        w.post(
            "/api/v1/app/signin/device",
            None,
            json!({ "handle": handle, "code": code }),
        ),
        200,
    );
    let new = s["token"].as_str().unwrap().to_owned();
    ok(w.get("/api/v1/app/account", Some(&new)), 200);
    refused(
        w.get("/api/v1/app/account", Some(&old)),
        401,
        "auth.invalid",
    );
    // The new device is the bound one now; the first device needs a code again.
    ok(w.signin(p.id.as_str(), PASSWORD, OTHER_DEVICE), 200);
    ok(w.signin(p.id.as_str(), PASSWORD, DEVICE), 202);
    // No session at all, and a session signed out.
    refused(w.get("/api/v1/app/account", None), 401, "auth.required");
    assert_eq!(w.post("/api/v1/app/signout", Some(&new), json!({})).0, 204);
    refused(
        w.get("/api/v1/app/account", Some(&new)),
        401,
        "auth.invalid",
    );
    let v = w.account(&p);
    assert_eq!(
        kinds(&v),
        strs(&[
            "registration_started",
            "level1_activated",
            "signed_in",
            "device_check_sent",
            "device_bound",
            "signed_in",
            "signed_in",
            "device_check_sent"
        ])
    );
}

#[test]
fn signin_failures_look_alike_and_lock_out() {
    let w = World::new("acc-signin-fail");
    let p = w.person(Some(date!(2021 - 06 - 01)));
    w.level1(&p);
    let unknown = PersonalId::from_parts(62, Sex::Male, 1980, 999_003).unwrap();
    let a = refused(
        w.signin(unknown.as_str(), PASSWORD, DEVICE),
        401,
        "auth.bad_credentials",
    );
    let b = refused(
        w.signin("06209", PASSWORD, DEVICE),
        401,
        "auth.bad_credentials",
    );
    let c = refused(
        w.signin(p.id.as_str(), "Sai-mật-khẩu-1", DEVICE),
        401,
        "auth.bad_credentials",
    );
    assert_eq!(a["message"], b["message"]);
    assert_eq!(a["message"], c["message"]);
    // A person in the register without an account answers alike too.
    let no_account = w.person(Some(date!(2021 - 06 - 01)));
    refused(
        w.signin(no_account.id.as_str(), PASSWORD, DEVICE),
        401,
        "auth.bad_credentials",
    );

    for _ in 2..=4 {
        refused(
            w.signin(p.id.as_str(), "Sai-mật-khẩu-1", DEVICE),
            401,
            "auth.bad_credentials",
        );
    }
    let e = refused(
        w.signin(p.id.as_str(), "Sai-mật-khẩu-1", DEVICE),
        429,
        "auth.locked_out",
    );
    assert!(e["detail"]["retry_after_seconds"].as_i64().unwrap() > 0);
    refused(
        w.signin(p.id.as_str(), PASSWORD, DEVICE),
        429,
        "auth.locked_out",
    );
    let v = w.account(&p);
    let k = kinds(&v);
    assert_eq!(k.iter().filter(|k| *k == "secret_failed").count(), 5);
    assert_eq!(k.last().map(String::as_str), Some("locked_out"));
    assert!(!k.contains(&"signed_in".to_owned()));
}
