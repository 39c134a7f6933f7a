//! Limits on secrets and codes under bursts (issue 10, items 1–5): real parallel HTTP requests
//! against the real server. "Secrets checked" are counted from what the server records for
//! each check that ran: `auth.login` audit lines `ok`/`failed` for staff (a refused attempt is
//! `limited`), `secret_failed` events for citizens, the SMS outbox for codes sent.

use std::sync::{Arc, Barrier};
use std::time::Instant;

use eid_core::store::Role;
use eid_domain::{PersonalId, Sex, UnitCode};
use serde_json::{json, Value};
use time::macros::date;

use crate::helpers::{agent, call, cookie_value, create_user, csrf_field, post_form, set_cookie};

use super::*;

/// Runs `f(i)` for `i` in `0..n` on `n` threads released at the same moment.
fn burst<R: Send + 'static>(n: usize, f: impl Fn(usize) -> R + Send + Sync + 'static) -> Vec<R> {
    let barrier = Arc::new(Barrier::new(n));
    let f = Arc::new(f);
    let handles: Vec<_> = (0..n)
        .map(|i| {
            let (barrier, f) = (Arc::clone(&barrier), Arc::clone(&f));
            std::thread::spawn(move || {
                barrier.wait();
                f(i)
            })
        })
        .collect();
    handles.into_iter().map(|h| h.join().unwrap()).collect()
}

/// `n` POSTs of `body(i)` to `path` at once.
fn posts(w: &World, path: &str, n: usize, body: impl Fn(usize) -> Value) -> Vec<(u16, Value)> {
    let reqs: Vec<(String, Value)> = (0..n)
        .map(|i| (format!("{}{path}", w.base), body(i)))
        .collect();
    let reqs = Arc::new(reqs);
    burst(n, move |i| {
        let (url, b) = reqs[i].clone();
        answer(send_json(agent().post(&url), b))
    })
}

fn count(kinds: &[String], kind: &str) -> usize {
    kinds.iter().filter(|k| *k == kind).count()
}

fn statuses(answers: &[(u16, Value)]) -> Vec<(u16, String)> {
    let mut v: Vec<(u16, String)> = answers
        .iter()
        .map(|a| (a.0, a.1["error"]["code"].as_str().unwrap_or("").to_owned()))
        .collect();
    v.sort();
    v
}

// ----------------------------------------------------------------------------------------------
// Item 1: staff

/// `n` console sign-ins of `username` at once, each with its own login form; the password of
/// attempt `i` is `password(i)`. Returns the statuses.
fn staff_burst(
    base: &str,
    username: &str,
    n: usize,
    password: impl Fn(usize) -> String,
) -> Vec<u16> {
    let forms: Vec<(String, String, String)> = (0..n)
        .map(|i| {
            let form = call(agent().get(&format!("{base}/login")));
            let cookie = cookie_value(&set_cookie(&form, "eid_login_csrf").unwrap());
            let csrf = csrf_field(&form.into_string().unwrap());
            (cookie, csrf, password(i))
        })
        .collect();
    let forms = Arc::new(forms);
    let (base, username) = (base.to_owned(), username.to_owned());
    burst(n, move |i| {
        let (cookie, csrf, password) = forms[i].clone();
        post_form(
            agent()
                .post(&format!("{base}/login"))
                .header("Cookie", &format!("eid_login_csrf={cookie}")),
            &[
                ("username", &username),
                ("password", &password),
                ("csrf", &csrf),
            ],
        )
        .status()
    })
}

/// The sign-ins of `username` whose password was checked (`ok` or `failed` in the audit).
fn staff_checked(store: &dyn Store, username: &str) -> usize {
    std::thread::sleep(std::time::Duration::from_millis(300));
    store
        .audit_log(10_000)
        .unwrap()
        .iter()
        .filter(|e| e.action == "auth.login" && e.target == username)
        .filter(|e| e.outcome == "ok" || e.outcome == "failed")
        .count()
}

/// A burst of `n` sign-ins of one user from one address, the right password among them when
/// `with_right`; then the right password once more.
fn staff_case(n: usize, with_right: bool) {
    let store = fresh_store(&format!("hard-staff-{n}-{with_right}"));
    let user = create_user(store.as_ref(), "an", Role::Commune, UnitCode::NATION);
    let base = spawn(Arc::clone(&store));
    let right = user.password.clone();
    let codes = staff_burst(&base, "an", n, move |i| {
        if with_right && i == n / 2 {
            right.clone()
        } else {
            format!("wrong password {i}A")
        }
    });
    assert!(
        codes.iter().all(|c| [303, 401, 429].contains(c)),
        "{codes:?}"
    );
    let checked = staff_checked(store.as_ref(), "an");
    assert!(
        (1..=5).contains(&checked),
        "{checked} passwords checked in a burst of {n} (limit 5): {codes:?}"
    );
    assert_eq!(
        codes.iter().filter(|c| **c == 401).count() + codes.iter().filter(|c| **c == 303).count(),
        checked
    );
    // After the burst, the right password waits for the window, unless it was among the
    // checked ones (the holder signed in: the address gets that place back).
    let again = crate::helpers::sign_in(&base, "an", &user.password);
    let expected = if codes.contains(&303) { 303 } else { 429 };
    assert_eq!(again.status(), expected, "{codes:?}");
}

#[test]
fn staff_bursts_of_40_and_200_check_at_most_the_limit() {
    staff_case(40, true);
    staff_case(200, true);
    staff_case(40, false);
}

// ----------------------------------------------------------------------------------------------
// Item 1: citizens (password, passcode)

#[test]
fn a_burst_of_citizen_sign_ins_checks_at_most_the_limit() {
    let w = World::new("hard-signin-burst");
    let p = w.person(Some(date!(2021 - 06 - 01)));
    w.level1(&p);
    let id = p.id.as_str().to_owned();
    let answers = posts(
        &w,
        "/api/v1/app/signin",
        40,
        move |i| json!({ "personal_id": id, "password": format!("Sai-mật-khẩu-{i}"), "device_id": DEVICE }),
    );
    let checked = count(&w.stored_kinds(&p), "secret_failed");
    assert_eq!(checked, 5, "{:?}", statuses(&answers));
    assert!(answers.iter().all(|a| a.0 == 401 || a.0 == 429));
    // The right password after the limit is refused until the window passes.
    refused(
        w.signin(p.id.as_str(), PASSWORD, DEVICE),
        429,
        "auth.locked_out",
    );
    assert_eq!(count(&w.stored_kinds(&p), "signed_in"), 0);
}

#[test]
fn a_burst_of_passcode_checks_checks_at_most_the_limit() {
    let w = World::new("hard-passcode-burst");
    let p = w.person(Some(date!(2021 - 06 - 01)));
    w.level1(&p);
    let token = w.session(&p);
    let (url, t) = (format!("{}/api/v1/app/lock", w.base), token.clone());
    let answers = burst(40, move |i| {
        answer(send_json(
            agent()
                .post(&url)
                .header("Authorization", &format!("Bearer {t}")),
            json!({ "passcode": format!("{:06}", 100_000 + i) }),
        ))
    });
    let checked = count(&w.stored_kinds(&p), "secret_failed");
    assert_eq!(checked, 5, "{:?}", statuses(&answers));
    // The right passcode after the limit waits for the window (and so does the password).
    refused(
        w.signin(p.id.as_str(), PASSWORD, DEVICE),
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
}

// ----------------------------------------------------------------------------------------------
// Item 2: codes

fn reset(w: &World, id: &str, phone: &str) -> (u16, Value) {
    w.post(
        "/api/v1/app/password-reset",
        None,
        json!({ "personal_id": id, "phone": phone }),
    )
}

fn reset_confirm(w: &World, handle: &str, code: &str) -> (u16, Value) {
    w.post(
        "/api/v1/app/password-reset/confirm",
        None,
        json!({ "handle": handle, "code": code, "password": "Mật-khẩu-Mới-2027" }),
    )
}

#[test]
fn a_burst_of_resets_sends_a_few_codes_and_answers_alike_for_unknown_people() {
    let w = World::new("hard-reset-burst");
    let p = w.person(Some(date!(2021 - 06 - 01)));
    w.level1(&p);
    let before = w.sms(phone_of(&p)).len();
    let (id, phone) = (p.id.as_str().to_owned(), phone_of(&p).national());
    let known = posts(
        &w,
        "/api/v1/app/password-reset",
        30,
        move |_| json!({ "personal_id": id, "phone": phone }),
    );
    let sent = w.sms(phone_of(&p)).len() - before;
    assert_eq!(sent, 3, "{:?}", statuses(&known));
    let unknown_id = PersonalId::from_parts(62, Sex::Male, 1980, 999_007).unwrap();
    let unknown = posts(
        &w,
        "/api/v1/app/password-reset",
        30,
        move |_| json!({ "personal_id": unknown_id.as_str(), "phone": "0912999007" }),
    );
    assert_eq!(statuses(&known), statuses(&unknown));
    assert_eq!(
        known.iter().filter(|a| a.0 == 202).count(),
        3,
        "{:?}",
        statuses(&known)
    );
    let refusal = known.iter().find(|a| a.0 == 429).unwrap();
    assert_eq!(refusal.1["error"]["code"], "code.too_many");
    // Only the newest code is live: 30 answers, one code that works.
    let live: Vec<&str> = known
        .iter()
        .filter_map(|a| a.1["handle"].as_str())
        .collect();
    assert_eq!(live.len(), 3);
}

#[test]
fn a_new_code_kills_the_previous_one_and_guesses_are_limited_across_codes() {
    let w = World::new("hard-reset-codes");
    let p = w.person(Some(date!(2021 - 06 - 01)));
    w.level1(&p);
    let (id, phone) = (p.id.as_str(), phone_of(&p).national());
    let first = ok(reset(&w, id, &phone), 202)["handle"]
        .as_str()
        .unwrap()
        .to_owned();
    let first_code = w.code(phone_of(&p), "reset");
    let second = ok(reset(&w, id, &phone), 202)["handle"]
        .as_str()
        .unwrap()
        .to_owned();
    let second_code = w.code(phone_of(&p), "reset");
    // The first code died when the second was sent.
    refused(reset_confirm(&w, &first, &first_code), 401, "code.invalid");
    // Ten entries for the person across codes (limit 10 an hour), then the right code is not
    // even compared.
    for k in 1..=5 {
        refused(
            reset_confirm(&w, &second, &wrong(&second_code, k)),
            401,
            "code.invalid",
        );
    }
    let third = ok(reset(&w, id, &phone), 202)["handle"]
        .as_str()
        .unwrap()
        .to_owned();
    let third_code = w.code(phone_of(&p), "reset");
    for k in 1..=4 {
        refused(
            reset_confirm(&w, &third, &wrong(&third_code, k)),
            401,
            "code.invalid",
        );
    }
    refused(reset_confirm(&w, &third, &third_code), 401, "code.invalid");
    assert!(!w.stored_kinds(&p).contains(&"password_reset".to_owned()));
}

#[test]
fn a_burst_of_new_device_sign_ins_sends_a_few_codes() {
    let w = World::new("hard-device-burst");
    let p = w.person(Some(date!(2021 - 06 - 01)));
    w.level1(&p);
    w.session(&p);
    let id = p.id.as_str().to_owned();
    let answers = posts(
        &w,
        "/api/v1/app/signin",
        20,
        move |_| json!({ "personal_id": id, "password": PASSWORD, "device_id": OTHER_DEVICE }),
    );
    let sent = w
        .sms(phone_of(&p))
        .iter()
        .filter(|m| m["purpose"] == "device")
        .count();
    assert_eq!(sent, 3, "{:?}", statuses(&answers));
    assert!(
        answers.iter().all(|a| a.0 == 202 || a.0 == 429),
        "{:?}",
        statuses(&answers)
    );
}

// ----------------------------------------------------------------------------------------------
// Item 4: lock-out

#[test]
fn an_unknown_id_is_locked_out_exactly_like_an_existing_one() {
    let w = World::new("hard-lockout-alike");
    // Four holders and four unknown IDs; each pair takes turns, so a machine busy with other
    // tests slows both sides alike, and the timing is compared over 16 checks a side.
    const PAIRS: u32 = 4;
    let holders: Vec<_> = (0..PAIRS)
        .map(|_| {
            let p = w.person(Some(date!(2021 - 06 - 01)));
            w.level1(&p);
            p.id.as_str().to_owned()
        })
        .collect();
    let unknown: Vec<String> = (0..PAIRS)
        .map(|k| {
            PersonalId::from_parts(62, Sex::Male, 1980, 999_011 + k)
                .unwrap()
                .as_str()
                .to_owned()
        })
        .collect();
    let mut seen = vec![[Vec::new(), Vec::new()]; PAIRS as usize];
    let mut took: [Vec<f64>; 2] = [Vec::new(), Vec::new()];
    for round in 0..7 {
        for k in 0..PAIRS as usize {
            for (side, id) in [&holders[k], &unknown[k]].into_iter().enumerate() {
                let t0 = Instant::now();
                let (status, body) = w.signin(id, "Sai-mật-khẩu-1", DEVICE);
                // The first four answers of an ID each check a password.
                if round < 4 {
                    took[side].push(t0.elapsed().as_secs_f64());
                }
                seen[k][side].push((
                    status,
                    body["error"]["code"].clone(),
                    body["error"]["message"].clone(),
                ));
            }
        }
    }
    for [known, stranger] in &seen {
        assert_eq!(known, stranger);
        let codes: Vec<u16> = known.iter().map(|a| a.0).collect();
        assert_eq!(codes, vec![401, 401, 401, 401, 429, 429, 429]);
    }
    // Timing within noise: both spend the same Argon2 work. Medians of 16 checks a side, with
    // a loose bound for a machine running other tests at once.
    let median = |v: &[f64]| {
        let mut v = v.to_vec();
        v.sort_by(f64::total_cmp);
        (v[v.len() / 2 - 1] + v[v.len() / 2]) / 2.0
    };
    let (a, b) = (median(&took[0]), median(&took[1]));
    assert!(a / b < 3.0 && b / a < 3.0, "{a} s vs {b} s");
}

#[test]
fn strangers_cannot_keep_the_holder_out() {
    let w = World::new("hard-lockout-holder");
    let p = w.person(Some(date!(2021 - 06 - 01)));
    w.level1(&p);
    // Strangers, on devices of their own, lock the ID out.
    for _ in 0..6 {
        w.signin(p.id.as_str(), "Sai-mật-khẩu-1", OTHER_DEVICE);
    }
    refused(
        w.signin(p.id.as_str(), PASSWORD, OTHER_DEVICE),
        429,
        "auth.locked_out",
    );
    // The holder's bound device still signs in.
    ok(w.signin(p.id.as_str(), PASSWORD, DEVICE), 200);
    // And a reset code to the holder's phone lifts the lock-out for every device.
    let handle = ok(reset(&w, p.id.as_str(), &phone_of(&p).national()), 202)["handle"]
        .as_str()
        .unwrap()
        .to_owned();
    let code = w.code(phone_of(&p), "reset");
    ok(reset_confirm(&w, &handle, &code), 204);
    ok(
        w.signin(p.id.as_str(), "Mật-khẩu-Mới-2027", OTHER_DEVICE),
        202,
    );
}

// ----------------------------------------------------------------------------------------------
// Items 3 and 4: per source

/// A POST from `source` (behind the trusted proxy on 127.0.0.1, see
/// `eid::testkit::production_limits`).
fn post_from(w: &World, source: &str, path: &str, body: Value) -> (u16, Value) {
    answer(send_json(
        agent()
            .post(&format!("{}{path}", w.base))
            .header("X-Forwarded-For", source),
        body,
    ))
}

#[test]
fn one_source_is_throttled_before_the_account_it_attacks() {
    let w = World::with_config("hard-source", eid::testkit::production_limits());
    let p = w.person(Some(date!(2021 - 06 - 01)));
    w.level1(&p);
    let id = p.id.as_str();
    let wrong =
        json!({ "personal_id": id, "password": "Sai-mật-khẩu-1", "device_id": OTHER_DEVICE });
    let answers: Vec<(u16, Value)> = (0..120)
        .map(|_| post_from(&w, "203.0.113.7", "/api/v1/app/signin", wrong.clone()))
        .collect();
    let s = statuses(&answers);
    // The burst of four (below the account's five), then the source waits.
    assert_eq!(s.iter().filter(|a| a.0 == 401).count(), 4, "{s:?}");
    assert!(
        s.iter()
            .filter(|a| a.0 == 429)
            .all(|a| a.1 == "auth.rate_limited"),
        "{s:?}"
    );
    assert_eq!(count(&w.stored_kinds(&p), "secret_failed"), 4);
    // The account was not locked: its holder signs in from elsewhere.
    let right = json!({ "personal_id": id, "password": PASSWORD, "device_id": DEVICE });
    ok(
        post_from(&w, "198.51.100.20", "/api/v1/app/signin", right),
        200,
    );
    // Resets (an SMS route) are limited per source too, whatever the IDs.
    let resets: Vec<u16> = (0..8)
        .map(|i| {
            let other = PersonalId::from_parts(62, Sex::Male, 1981, 990_000 + i).unwrap();
            post_from(
                &w,
                "203.0.113.8",
                "/api/v1/app/password-reset",
                json!({ "personal_id": other.as_str(), "phone": format!("09129{i:05}") }),
            )
            .0
        })
        .collect();
    assert_eq!(resets, vec![202, 202, 202, 429, 429, 429, 429, 429]);
}

#[test]
fn forwarded_for_is_ignored_without_a_trusted_proxy() {
    let mut config = eid::testkit::production_limits();
    config.limits.trusted_proxies.clear();
    let w = World::with_config("hard-no-proxy", config);
    let answers: Vec<u16> = (0..6)
        .map(|i| {
            let unknown = PersonalId::from_parts(62, Sex::Male, 1982, 990_000 + i).unwrap();
            post_from(
                &w,
                &format!("203.0.113.{}", 10 + i),
                "/api/v1/app/signin",
                json!({ "personal_id": unknown.as_str(), "password": "Sai-mật-khẩu-1", "device_id": DEVICE }),
            )
            .0
        })
        .collect();
    assert_eq!(answers, vec![401, 401, 401, 401, 429, 429]);
}
