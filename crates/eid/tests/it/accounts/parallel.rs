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

/// Holds the store's write path for `hold`: a transaction that updates `dev`'s day counts (the
/// single writer on SQLite; those rows' locks on PostgreSQL, which every application of `dev`
/// takes). Returns once the hold has begun; the thread ends when it is released.
fn hold_writes(w: &World, dev: &Dev, hold: std::time::Duration) -> std::thread::JoinHandle<()> {
    let (store, id) = (Arc::clone(&w.store), dev.id);
    let (held, started) = std::sync::mpsc::channel();
    let h = std::thread::spawn(move || {
        eid_core::sql::transact(store.db(), |tx| {
            let n = tx.exec(
                "UPDATE device_day_count SET n = n WHERE device_id = $1",
                &[id.into()],
            )?;
            assert!(n > 0, "the device has a day count to lock");
            held.send(()).unwrap();
            std::thread::sleep(hold);
            Ok::<_, StoreError>(())
        })
        .unwrap();
    });
    started.recv().unwrap();
    h
}

/// Applications that arrive while the write path is busy share the next group transaction
/// (savepoint each): a bad signature, an unknown officer, a replayed copy and a second
/// application for the same person are refused as they would be alone, and every other
/// application in the group commits and is answered with its own row.
#[test]
fn parallel_applications_in_one_group_each_get_their_own_answer() {
    let w = World::new("acc-par-group");
    let dev = w.device(w.at.commune);
    // One application first, so that the device has a day count (the hold's lock).
    let first = w.person(Some(date!(2021 - 06 - 01)));
    w.collect(&dev, &first, true);
    let good: Vec<Person> = (0..4)
        .map(|_| w.person(Some(date!(2021 - 06 - 01))))
        .collect();
    let unmatched = w.person(Some(date!(2021 - 06 - 01)));
    let copied = w.person(Some(date!(2021 - 06 - 01)));
    let twice = w.person(Some(date!(2021 - 06 - 01)));
    let forged_for = w.person(Some(date!(2021 - 06 - 01)));
    let nobody_for = w.person(Some(date!(2021 - 06 - 01)));
    let (other_seed, _) = new_key();
    let copy = w.packet(&dev, &copied, "xa", true);
    // (what is sent, whose application it is, what the answer may be)
    let mut sends: Vec<(Value, &Person, &str)> = good
        .iter()
        .map(|p| (w.packet(&dev, p, "xa", true), p, "code_sent"))
        .collect();
    sends.push((
        w.packet(&dev, &unmatched, "xa", false),
        &unmatched,
        "review",
    ));
    sends.push((copy.clone(), &copied, "once"));
    sends.push((copy, &copied, "once"));
    sends.push((w.packet(&dev, &twice, "xa", true), &twice, "open"));
    sends.push((w.packet(&dev, &twice, "huyen", true), &twice, "open"));
    sends.push((
        packet_signed(dev.id, &other_seed, &forged_for, "xa", true),
        &forged_for,
        "forged",
    ));
    sends.push((
        w.packet(&dev, &nobody_for, "nobody", true),
        &nobody_for,
        "nobody",
    ));

    let before = group_counts(&w);
    let hold = hold_writes(&w, &dev, std::time::Duration::from_millis(700));
    let bodies: Vec<Value> = sends.iter().map(|s| s.0.clone()).collect();
    let answers = at_once(&w, "/api/v1/intake/applications", bodies.len(), |i| {
        bodies[i].clone()
    });
    hold.join().unwrap();
    // They did share: fewer group transactions than applications that reached one.
    let after = group_counts(&w);
    let (groups, held) = (after.0 - before.0, after.1 - before.1);
    assert!(groups >= 1 && held > groups, "{groups} groups held {held}");

    let mut collected = Vec::new();
    for ((_, p, want), (status, body)) in sends.iter().zip(&answers) {
        match *want {
            "code_sent" | "review" => {
                assert_eq!(*status, 201, "{body}");
                assert_eq!(body["application"]["state"], *want, "{body}");
                assert_eq!(body["application"]["personal_id"], p.id.as_str(), "{body}");
                collected.push((*p, body["application"]["id"].as_i64().unwrap()));
            }
            "forged" => {
                refused((*status, body.clone()), 422, "packet.invalid");
            }
            "nobody" => {
                refused((*status, body.clone()), 403, "officer.unknown");
            }
            _ => {}
        }
    }
    // Of the two copies of one packet, one is collected and the other is a replay; of two
    // packets for one person, one is collected and the other finds it open.
    for (kind, code) in [("once", "packet.replayed"), ("open", "application.open")] {
        let mine: Vec<&(u16, Value)> = sends
            .iter()
            .zip(&answers)
            .filter(|(s, _)| s.2 == kind)
            .map(|(_, a)| a)
            .collect();
        assert_eq!(mine.iter().filter(|a| a.0 == 201).count(), 1, "{mine:?}");
        for a in mine.iter().filter(|a| a.0 != 201) {
            refused((*a).clone(), 409, code);
        }
        let won = mine.iter().find(|a| a.0 == 201).unwrap();
        let p = sends.iter().find(|s| s.2 == kind).unwrap().1;
        collected.push((p, won.1["application"]["id"].as_i64().unwrap()));
    }

    // Every answered application is stored as answered, once, with its SMS when approved;
    // the refused ones left nothing.
    for (p, id) in &collected {
        let a = w.application(*id);
        assert_eq!(a["personal_id"], p.id.as_str());
        let kinds = w.stored_kinds(p);
        assert_eq!(
            kinds
                .iter()
                .filter(|k| *k == "application_collected")
                .count(),
            1,
            "{kinds:?}"
        );
        let sms = w.sms(phone_of(p)).len();
        assert_eq!(sms, usize::from(a["state"] == "code_sent"), "{a}");
    }
    for p in [&forged_for, &nobody_for] {
        assert!(w.stored_kinds(p).is_empty());
        assert!(w.sms(phone_of(p)).is_empty());
    }
    let list = ok(
        w.get("/api/v1/applications?limit=100", Some(&w.xa.token)),
        200,
    );
    assert_eq!(
        list["applications"].as_array().unwrap().len(),
        collected.len() + 1
    );
}

/// The intake group commit's (transactions, applications) so far, from `/metrics`.
fn group_counts(w: &World) -> (u64, u64) {
    let text = crate::helpers::call(agent().get(&format!("{}/metrics", w.base)))
        .into_string()
        .unwrap();
    let count = |name: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(name)?.trim().parse::<u64>().ok())
            .unwrap_or(0)
    };
    (
        count("eid_intake_group_commits_total "),
        count("eid_intake_group_applications_total "),
    )
}
