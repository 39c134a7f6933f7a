//! The same request many times at once (a double tap, or a guesser in parallel).

use std::sync::Arc;

use serde_json::{json, Value};
use time::macros::date;

use crate::helpers::{agent, send_json};

use super::*;

/// Sends `n` requests built by `body(i)` to `path` at the same moment; returns the answers.
fn at_once(w: &World, path: &str, n: usize, body: impl Fn(usize) -> Value) -> Vec<(u16, Value)> {
    let barrier = Arc::new(std::sync::Barrier::new(n));
    let handles: Vec<_> = (0..n)
        .map(|i| {
            let (url, b, barrier) = (format!("{}{path}", w.base), body(i), Arc::clone(&barrier));
            std::thread::spawn(move || {
                let req = agent().post(&url);
                barrier.wait();
                answer(send_json(req, b))
            })
        })
        .collect();
    handles.into_iter().map(|h| h.join().unwrap()).collect()
}

#[test]
fn parallel_wrong_codes_all_count() {
    let w = World::new("acc-par-codes");
    let p = w.person(Some(date!(2021 - 06 - 01)));
    w.level1(&p);
    w.session(&p);
    let r = ok(w.signin(p.id.as_str(), PASSWORD, OTHER_DEVICE), 202);
    let handle = r["device_check"].as_str().unwrap().to_owned();
    let code = w.code(phone_of(&p), "device");
    let answers = at_once(
        &w,
        "/api/v1/app/signin/device",
        16,
        |i| json!({ "handle": handle, "code": wrong(&code, u32::try_from(i).unwrap() + 1) }),
    );
    for a in answers {
        refused(a, 401, "code.invalid");
    }
    // Sixteen wrong entries: the code is dead.
    refused(
        w.post(
            "/api/v1/app/signin/device",
            None,
            json!({ "handle": handle, "code": code }),
        ),
        401,
        "code.invalid",
    );
}

#[test]
fn parallel_uses_of_one_code_give_one_session() {
    let w = World::new("acc-par-once");
    let p = w.person(Some(date!(2021 - 06 - 01)));
    w.level1(&p);
    let r = ok(w.signin(p.id.as_str(), PASSWORD, OTHER_DEVICE), 202);
    let handle = r["device_check"].as_str().unwrap().to_owned();
    let code = w.code(phone_of(&p), "device");
    let answers = at_once(
        &w,
        "/api/v1/app/signin/device",
        8,
        |_| json!({ "handle": handle, "code": code }),
    );
    let granted: Vec<&(u16, Value)> = answers.iter().filter(|a| a.0 == 200).collect();
    assert_eq!(granted.len(), 1, "{answers:?}");
    for a in answers.iter().filter(|a| a.0 != 200) {
        refused(a.clone(), 401, "code.invalid");
    }
    let k = kinds(&w.account(&p));
    assert_eq!(
        k.iter().filter(|k| *k == "device_bound").count(),
        1,
        "{k:?}"
    );
}

#[test]
fn parallel_wrong_passwords_all_count() {
    let w = World::new("acc-par-passwords");
    let p = w.person(Some(date!(2021 - 06 - 01)));
    w.level1(&p);
    let answers = at_once(
        &w,
        "/api/v1/app/signin",
        8,
        |_| json!({ "personal_id": p.id.as_str(), "password": "Sai-mật-khẩu-1", "device_id": DEVICE }),
    );
    assert!(
        answers.iter().all(|a| a.0 == 401 || a.0 == 429),
        "{answers:?}"
    );
    refused(
        w.signin(p.id.as_str(), PASSWORD, DEVICE),
        429,
        "auth.locked_out",
    );
}

#[test]
fn parallel_copies_of_a_packet_collect_once() {
    let w = World::new("acc-par-packet");
    let dev = w.device(w.at.commune);
    let p = w.person(Some(date!(2021 - 06 - 01)));
    let packet = w.packet(&dev, &p, "xa", true);
    let answers = at_once(&w, "/api/v1/intake/applications", 8, |_| packet.clone());
    assert_eq!(
        answers.iter().filter(|a| a.0 == 201).count(),
        1,
        "{answers:?}"
    );
    for a in answers.into_iter().filter(|a| a.0 != 201) {
        refused(a, 409, "packet.replayed");
    }
    assert_eq!(w.sms(phone_of(&p)).len(), 1);
}

/// Like [`at_once`], with an officer's token.
fn at_once_as(w: &World, token: &str, path: &str, n: usize) -> Vec<(u16, Value)> {
    let barrier = Arc::new(std::sync::Barrier::new(n));
    let handles: Vec<_> = (0..n)
        .map(|_| {
            let (url, barrier) = (format!("{}{path}", w.base), Arc::clone(&barrier));
            let auth = format!("Bearer {token}");
            std::thread::spawn(move || {
                let req = agent().post(&url).header("Authorization", &auth);
                barrier.wait();
                answer(send_json(req, json!({})))
            })
        })
        .collect();
    handles.into_iter().map(|h| h.join().unwrap()).collect()
}

#[test]
fn parallel_approvals_and_resends_act_once_each() {
    let w = World::new("acc-par-decide");
    let dev = w.device(w.at.commune);
    let p = w.person(Some(date!(2021 - 06 - 01)));
    let id = w.collect(&dev, &p, false);
    let answers = at_once_as(
        &w,
        &w.huyen.token,
        &format!("/api/v1/applications/{id}/approve"),
        6,
    );
    assert_eq!(
        answers.iter().filter(|a| a.0 == 200).count(),
        1,
        "{answers:?}"
    );
    for a in answers.into_iter().filter(|a| a.0 != 200) {
        refused(a, 409, "state.wrong");
    }
    assert_eq!(w.sms(phone_of(&p)).len(), 1);
    // Two more sends are allowed, however many ask at once.
    let answers = at_once_as(
        &w,
        &w.xa.token,
        &format!("/api/v1/applications/{id}/resend"),
        6,
    );
    assert_eq!(
        answers.iter().filter(|a| a.0 == 200).count(),
        2,
        "{answers:?}"
    );
    for a in answers.into_iter().filter(|a| a.0 != 200) {
        refused(a, 429, "code.too_many_sends");
    }
    assert_eq!(w.sms(phone_of(&p)).len(), 3);
    ok(w.activate(&p, &w.code(phone_of(&p), "activate")), 200);
}
