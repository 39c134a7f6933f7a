//! The residence JSON API over real HTTP (issue 14): a citizen's app files a temporary absence
//! with its session token, reads its requests and answers the police's question; the commune
//! police's system works the queue with a staff token (ask, approve, refuse), scoped by unit
//! (another commune's officer is refused and audited as denied); the approval shows in the
//! register's API; errors are JSON with their codes.

use eid_core::store::Role;
use eid_core::{sql, Store};
use eid_domain::{Person, Tree, UnitCode, Units};
use serde_json::{json, Value};

use crate::helpers::{agent, call, create_user, fresh_store, get_json, send_json, spawn};
use crate::residence::citizen;

/// An app session for `p` (opened through the table, as the sign-in has its own tests).
fn app_session(store: &dyn Store, p: &Person) -> String {
    let token = eid_core::secret::random_token();
    let now = eid_core::store::to_ms(crate::helpers::now());
    sql::transact(store.db(), |tx| {
        let account = tx.int(
            "SELECT id FROM account WHERE personal_id = $1",
            &[p.id.as_str().into()],
        )?;
        tx.exec(
            "INSERT INTO citizen_session (token_hash, account_id, device_hash, created_at, \
             expires_at) VALUES ($1, $2, $3, $4, $5)",
            &[
                eid_core::secret::token_hash(&token).into(),
                account.into(),
                vec![7u8; 32].into(),
                now.into(),
                (now + 86_400_000).into(),
            ],
        )
    })
    .unwrap();
    token
}

fn post(base: &str, path: &str, token: &str, body: Value) -> (u16, Value) {
    let r = send_json(
        agent()
            .post(&format!("{base}{path}"))
            .header("Authorization", &format!("Bearer {token}")),
        body,
    );
    let status = r.status();
    (status, r.into_json().unwrap_or(Value::Null))
}

fn code(v: &Value) -> &str {
    v["error"]["code"].as_str().unwrap_or("")
}

#[test]
fn the_app_files_and_the_commune_police_decide_over_json() {
    let store = fresh_store("residence-api");
    let units = Units::get();
    let province = UnitCode::parse("62").unwrap();
    let district = units.children(Tree::Gso2024, &province)[2].code;
    let communes = units.children(Tree::Gso2024, &district);
    let (home, elsewhere) = (communes[0].code, communes[1].code);
    let cop = create_user(store.as_ref(), "api.cop", Role::Commune, home);
    let stranger = create_user(store.as_ref(), "api.stranger", Role::Commune, elsewhere);
    let p = citizen(store.as_ref(), home, 41);
    let q = citizen(store.as_ref(), home, 42);
    let me = app_session(store.as_ref(), &p);
    let other_citizen = app_session(store.as_ref(), &q);
    let base = spawn(std::sync::Arc::clone(&store));

    // Without a session: refused with a JSON error.
    let r = call(agent().get(&format!("{base}/api/v1/app/residence")));
    assert_eq!(r.status(), 401);
    // A term over 2 years is refused with its code; nothing is filed.
    let (s, v) = post(
        &base,
        "/api/v1/app/residence",
        &me,
        json!({"procedure": "temporary", "commune": elsewhere.as_str(),
               "address": "Số 3 ngõ 5", "until": "2030-01-01"}),
    );
    assert_eq!((s, code(&v)), (400, "residence.term_too_long"), "{v}");
    // A field the API does not know: the request's shape is refused.
    let (s, v) = post(
        &base,
        "/api/v1/app/residence",
        &me,
        json!({"procedure": "absence", "until": "2027-03-01", "colour": "red"}),
    );
    assert_eq!((s, code(&v)), (422, "request.bad_fields"), "{v}");

    // Filed: a temporary absence with its destination; 1 working day.
    let absence = json!({"procedure": "absence", "until": "2027-03-01",
                         "address": "Phường Hải Châu, Đà Nẵng", "note": "Đi làm xa"});
    let (s, v) = post(&base, "/api/v1/app/residence", &me, absence.clone());
    assert_eq!(s, 201, "{v}");
    let id = v["request"]["id"].as_i64().unwrap();
    assert_eq!(v["request"]["state"], "submitted");
    assert_eq!(v["request"]["legal_days"], 1);
    assert_eq!(v["request"]["clock"]["overdue"], false);
    assert_eq!(v["steps"][0]["kind"], "submitted");
    // Twice: refused while open.
    let (s, v) = post(&base, "/api/v1/app/residence", &me, absence);
    assert_eq!((s, code(&v)), (409, "residence.duplicate"), "{v}");
    let (s, v) = get_json(&base, "/api/v1/app/residence", &me);
    assert_eq!(s, 200);
    assert_eq!(v["requests"].as_array().unwrap().len(), 1);
    // Another citizen cannot read it: the same answer as no such request.
    let (s, v) = get_json(
        &base,
        &format!("/api/v1/app/residence/{id}"),
        &other_citizen,
    );
    assert_eq!((s, code(&v)), (404, "residence.not_found"), "{v}");

    // Another commune's officer: not in their queue, not readable, not approvable.
    let (s, v) = get_json(&base, "/api/v1/residence", &stranger.token);
    assert_eq!(s, 200, "{v}");
    assert!(v["requests"].as_array().unwrap().is_empty(), "{v}");
    let (s, v) = get_json(&base, &format!("/api/v1/residence/{id}"), &stranger.token);
    assert_eq!(s, 403, "{v}");
    let (s, v) = post(
        &base,
        &format!("/api/v1/residence/{id}/approve"),
        &stranger.token,
        Value::Null,
    );
    assert_eq!(s, 403, "{v}");

    // The commune's officer asks for more; the app sees the question and answers.
    let (s, v) = get_json(&base, "/api/v1/residence", &cop.token);
    assert_eq!(s, 200);
    assert_eq!(v["requests"][0]["id"], id);
    assert_eq!(v["requests"][0]["personal_id"], p.id.as_str());
    let (s, v) = post(
        &base,
        &format!("/api/v1/residence/{id}/ask"),
        &cop.token,
        json!({"text": "Cần giấy xác nhận nơi làm việc"}),
    );
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["request"]["state"], "more_info");
    let (s, v) = post(
        &base,
        &format!("/api/v1/residence/{id}/approve"),
        &cop.token,
        Value::Null,
    );
    assert_eq!((s, code(&v)), (409, "residence.waiting"), "{v}");
    let (_, v) = get_json(&base, &format!("/api/v1/app/residence/{id}"), &me);
    assert_eq!(v["request"]["asked"], "Cần giấy xác nhận nơi làm việc");
    let (s, v) = post(
        &base,
        &format!("/api/v1/app/residence/{id}/answer"),
        &me,
        json!({"text": "Đã có giấy xác nhận"}),
    );
    assert_eq!(s, 200, "{v}");
    assert_eq!(
        v["steps"].as_array().unwrap().last().unwrap()["kind"],
        "answered"
    );

    // Approved: the register keeps the absence, as the register's API shows.
    let (s, v) = post(
        &base,
        &format!("/api/v1/residence/{id}/approve"),
        &cop.token,
        Value::Null,
    );
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["request"]["state"], "approved");
    let (s, v) = get_json(
        &base,
        &format!("/api/v1/persons/{}", p.id.as_str()),
        &cop.token,
    );
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["residency"]["absence"]["to"], "2027-03-01");
    assert_eq!(
        v["residency"]["absence"]["destination"],
        "Phường Hải Châu, Đà Nẵng"
    );
    let (_, v) = get_json(&base, &format!("/api/v1/app/residence/{id}"), &me);
    assert_eq!(v["request"]["state"], "approved");

    // A refusal needs a reason.
    let (s, v) = post(
        &base,
        "/api/v1/app/residence",
        &me,
        json!({"procedure": "split", "note": "Tách hộ riêng"}),
    );
    assert_eq!(s, 201, "{v}");
    let split = v["request"]["id"].as_i64().unwrap();
    let (s, v) = post(
        &base,
        &format!("/api/v1/residence/{split}/refuse"),
        &cop.token,
        json!({"text": ""}),
    );
    assert_eq!((s, code(&v)), (400, "residence.reason_required"), "{v}");
    let (s, v) = post(
        &base,
        &format!("/api/v1/residence/{split}/refuse"),
        &cop.token,
        json!({"text": "Chưa đủ điều kiện tách hộ"}),
    );
    assert_eq!(s, 200, "{v}");
    assert_eq!(
        (
            v["request"]["state"].as_str(),
            v["request"]["outcome"].as_str()
        ),
        (Some("refused"), Some("Chưa đủ điều kiện tách hộ"))
    );

    // Audited like the console's actions, the stranger's attempt as denied.
    let audit: Vec<(String, String)> = store
        .audit_log(200)
        .unwrap()
        .into_iter()
        .filter(|a| a.action.starts_with("residence."))
        .map(|a| (a.action, a.outcome))
        .collect();
    for want in [
        ("residence.approve", "denied"),
        ("residence.ask", "ok"),
        ("residence.approve", "ok"),
        ("residence.refuse", "ok"),
    ] {
        assert!(
            audit.contains(&(want.0.to_owned(), want.1.to_owned())),
            "{want:?} in {audit:?}"
        );
    }
}
