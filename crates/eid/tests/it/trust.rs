//! Trust (issue 15) over real HTTP: an officer's lookup shows on the citizen's "who used my
//! data" page with its inclusion in a signed checkpoint; the citizen reports it; an auditor
//! answers on the console and the citizen sees the answer (and gets an SMS); an officer's code
//! checks as valid signed out and a wrong one does not; `eid audit verify` passes, then fails
//! naming an entry altered by raw SQL.

use std::process::Command;
use std::sync::Arc;

use base64::Engine as _;
use eid_core::store::Role;
use eid_core::{Actor, Store};
use eid_domain::{
    BirthDate, Card, LifeStatus, Person, PersonName, PersonalId, PhoneNumber, PhoneType, Residence,
    Sex, Tree, UnitCode, Units,
};
use serde_json::{json, Value};
use time::macros::date;

use crate::helpers::{
    agent, call, cookie_value, create_user, csrf_field, post_form, send_json, set_cookie, sign_in,
    Reply,
};

const PASSWORD: &str = "Mật-khẩu-Mạnh-2026";
const PASSCODE: &str = "246810";
const DEVICE: &str = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

fn person(store: &dyn Store, commune: UnitCode) -> Person {
    let born = date!(1990 - 03 - 15);
    let p = Person {
        id: PersonalId::from_parts(62, Sex::Female, born.year(), 4242).unwrap(),
        name: PersonName::parse("Nguyễn", "Thị", "Hoa").unwrap(),
        birth: BirthDate::Full(born),
        sex: Sex::Female,
        hometown: None,
        residence: Residence {
            unit: commune,
            address: "Thôn 1".into(),
        },
        temporary: None,
        household: None,
        phone: Some(PhoneNumber::parse("0912004242").unwrap()),
        phone_type: PhoneType::Smartphone,
        life: LifeStatus::ALIVE,
        card: Some(Card {
            issued: date!(2023 - 05 - 01),
            revoked: false,
        }),
    };
    let mut w = store
        .writer(&Actor::Cli("test".into()), "test", crate::helpers::now())
        .unwrap();
    w.put(&p).unwrap();
    w.commit().unwrap();
    p
}

fn api(base: &str, path: &str, body: Value) -> (u16, Value) {
    let r = send_json(agent().post(&format!("{base}{path}")), body);
    let status = r.status();
    (status, r.into_json().unwrap_or(Value::Null))
}

fn sms(base: &str, token: &str) -> Vec<Value> {
    let r = call(
        agent()
            .get(&format!("{base}/api/v1/sms?limit=500"))
            .header("Authorization", &format!("Bearer {token}")),
    );
    let body: Value = r.into_json().unwrap();
    body["messages"].as_array().unwrap().clone()
}

fn console_cookie(r: &Reply) -> String {
    format!(
        "eid_session={}",
        cookie_value(&set_cookie(r, "eid_session").unwrap())
    )
}

fn get(base: &str, path: &str, cookie: &str) -> (u16, String) {
    let r = call(
        agent()
            .get(&format!("{base}{path}"))
            .header("Cookie", cookie),
    );
    let s = r.status();
    (s, r.into_string().unwrap())
}

fn post(base: &str, path: &str, cookie: &str, form: &[(&str, &str)]) -> (u16, String, String) {
    let r = post_form(
        agent()
            .post(&format!("{base}{path}"))
            .header("Cookie", cookie),
        form,
    );
    let s = r.status();
    let loc = r.header("location").unwrap_or_default().to_owned();
    (s, r.into_string().unwrap(), loc)
}

fn eid(args: &[&str]) -> std::process::Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_eid"));
    cmd.args(args);
    for (k, _) in std::env::vars().filter(|(k, _)| k.starts_with("EID_")) {
        cmd.env_remove(k);
    }
    cmd.output().unwrap()
}

struct Setup {
    url: String,
    store: Arc<dyn Store>,
    base: String,
    bo: eid::testkit::TestUser,
    xa: eid::testkit::TestUser,
    kiem: eid::testkit::TestUser,
    p: Person,
    commune: UnitCode,
    phone: String,
}

/// A server over a fresh store, three staff accounts and a citizen with an account (by the app).
fn setup(label: &str) -> Setup {
    let url = eid_core::testkit::fresh_url(eid_core::testkit::Engine::from_env(), label);
    let store: Arc<dyn Store> = eid_core::open(&url).unwrap();
    store.migrate().unwrap();
    let units = Units::get();
    let province = UnitCode::parse("62").unwrap();
    let district = units.children(Tree::Gso2024, &province)[1].code;
    let commune = units.children(Tree::Gso2024, &district)[0].code;
    let bo = create_user(store.as_ref(), "bo", Role::Ministry, UnitCode::NATION);
    let xa = create_user(store.as_ref(), "xa", Role::Commune, commune);
    let kiem = create_user(store.as_ref(), "kiem", Role::Auditor, UnitCode::NATION);
    let base = eid::testkit::spawn(Arc::clone(&store));
    let p = person(store.as_ref(), commune);

    // The citizen's account, by the app.
    let photo = base64::engine::general_purpose::STANDARD
        .encode(eid::verifier::dev_portrait(p.id.as_str()));
    let (s, r) = api(
        &base,
        "/api/v1/app/register",
        json!({ "personal_id": p.id.as_str(), "phone": p.phone.as_ref().unwrap().national(),
                "photo_base64": photo, "device_id": "app-device-0001" }),
    );
    assert_eq!(s, 202, "{r}");
    let phone = p.phone.as_ref().unwrap().as_str().to_owned();
    let body = sms(&base, &bo.token)
        .into_iter()
        .find(|m| m["to"] == phone.as_str() && m["purpose"] == "register")
        .unwrap();
    let code: String = body["body"]
        .as_str()
        .unwrap()
        .split(|c: char| !c.is_ascii_digit())
        .find(|w| w.len() == 6)
        .unwrap()
        .to_owned();
    let (s, r) = api(
        &base,
        "/api/v1/app/register/confirm",
        json!({ "handle": r["handle"], "code": code, "password": PASSWORD, "passcode": PASSCODE }),
    );
    assert_eq!(s, 200, "{r}");

    Setup {
        url,
        store,
        base,
        bo,
        xa,
        kiem,
        p,
        commune,
        phone,
    }
}

/// A browser session of the citizen, signed in as the sign-in pages would.
fn me_cookie(w: &Setup) -> String {
    let account = eid_core::accounts::account_of(w.store.as_ref(), &w.p.id)
        .unwrap()
        .unwrap();
    let (token, _) = eid_core::accounts::web_session::start(
        w.store.as_ref(),
        &eid_core::accounts::Settings::default(),
        &account,
        &eid_core::accounts::device_hash(DEVICE).unwrap(),
        &["pwd"],
        crate::helpers::now(),
    )
    .unwrap();
    format!("eid_dev={DEVICE}; eid_me={token}")
}

#[test]
fn a_lookup_is_seen_reported_answered_and_the_log_verifies_until_altered() {
    let w = setup("trust_http");
    let Setup {
        url,
        store,
        base,
        bo,
        xa,
        kiem,
        p,
        commune,
        phone,
    } = &w;
    let (url, base, phone, commune) = (url.clone(), base.clone(), phone.clone(), *commune);
    let store = Arc::clone(store);
    // The commune officer looks the person up.
    let r = call(
        agent()
            .get(&format!("{base}/api/v1/persons/{}", p.id.as_str()))
            .header("Authorization", &format!("Bearer {}", xa.token)),
    );
    assert_eq!(r.status(), 200);

    let me = me_cookie(&w);
    let (s, html) = get(&base, "/me/data-use", &me);
    assert_eq!(s, 200, "{html}");
    assert!(html.contains("Cán bộ cấp xã"), "{html}");
    assert!(html.contains("Tra cứu hồ sơ dân cư"), "{html}");
    assert!(html.contains("Có trong mốc"), "{html}");
    assert!(
        !html.contains(&xa.username),
        "the officer's username is not shown"
    );
    let seq = html
        .split("name=\"seq\" value=\"")
        .nth(1)
        .and_then(|s| s.split('"').next())
        .unwrap()
        .to_owned();
    let csrf = csrf_field(&html);
    // Without the form token: refused.
    let (s, _, _) = post(
        &base,
        "/me/data-use/report",
        &me,
        &[("seq", &seq), ("note", "x")],
    );
    assert_eq!(s, 403);
    let (s, _, loc) = post(
        &base,
        "/me/data-use/report",
        &me,
        &[
            ("csrf", &csrf),
            ("seq", &seq),
            ("note", "Tôi không làm thủ tục nào"),
        ],
    );
    assert_eq!(s, 303);
    assert!(loc.starts_with("/me/data-use?reported=1"), "{loc}");
    let (_, html) = get(&base, "/me/data-use", &me);
    assert!(html.contains("Đang xử lý"), "{html}");

    // The auditor sees the case and answers; the commune officer has no such page.
    let xa_cookie = console_cookie(&sign_in(&base, &xa.username, &xa.password));
    let (s, _) = get(&base, "/trust/reports", &xa_cookie);
    assert_eq!(s, 403);
    let kiem_cookie = console_cookie(&sign_in(&base, &kiem.username, &kiem.password));
    let (s, html) = get(&base, "/trust/reports", &kiem_cookie);
    assert_eq!(s, 200, "{html}");
    assert!(html.contains("Tôi không làm thủ tục nào"), "{html}");
    let id = html
        .split("id=\"report-")
        .nth(1)
        .and_then(|s| s.split('"').next())
        .unwrap()
        .to_owned();
    let csrf = csrf_field(&html);
    let (s, _, loc) = post(
        &base,
        &format!("/trust/reports/{id}"),
        &kiem_cookie,
        &[
            ("csrf", &csrf),
            ("outcome", "misuse"),
            ("message", "Cán bộ đã bị nhắc nhở"),
        ],
    );
    assert_eq!(s, 303);
    assert_eq!(loc, "/trust/reports?answered=1");
    let (_, html) = get(&base, "/me/data-use", &me);
    assert!(html.contains("Sử dụng sai, đã xử lý"), "{html}");
    assert!(html.contains("Cán bộ đã bị nhắc nhở"), "{html}");
    assert!(sms(&base, &bo.token)
        .iter()
        .any(|m| m["to"] == phone.as_str() && m["purpose"] == "data_use_report"));

    // The public checkpoint and an entry's proof.
    let r = call(agent().get(&format!("{base}/transparency/checkpoint")));
    assert_eq!(r.status(), 200);
    assert!(r
        .into_string()
        .unwrap()
        .starts_with("eid.gov.vn/data-use\n"));
    let r = call(agent().get(&format!("{base}/transparency/proof/{seq}")));
    let proof: Value = r.into_json().unwrap();
    assert_eq!(proof["verified"], true, "{proof}");

    // An officer's code: valid signed out, a wrong one not, and the failure counted.
    let (_, html) = get(&base, "/trust/officer-code", &xa_cookie);
    let csrf = csrf_field(&html);
    let (s, html, _) = post(&base, "/trust/officer-code", &xa_cookie, &[("csrf", &csrf)]);
    assert_eq!(s, 200);
    assert!(html.contains("<svg"), "a QR");
    let code = html
        .split("id=\"officer-code\">")
        .nth(1)
        .and_then(|s| s.split('<').next())
        .unwrap()
        .to_owned();
    assert_eq!(code.len(), 8);
    let first = call(agent().get(&format!("{base}/me/verify-officer")));
    let dev = cookie_value(&set_cookie(&first, "eid_dev").unwrap());
    let anon = format!("eid_dev={dev}");
    let csrf = csrf_field(&first.into_string().unwrap());
    let (s, html, _) = post(
        &base,
        "/me/verify-officer",
        &anon,
        &[("csrf", &csrf), ("code", &code)],
    );
    assert_eq!(s, 200);
    assert!(html.contains("Mã hợp lệ"), "{html}");
    let (s, html, _) = post(
        &base,
        "/me/verify-officer",
        &anon,
        &[
            ("csrf", &csrf),
            ("code", "ABCD2345"),
            ("unit", commune.as_str()),
        ],
    );
    assert_eq!(s, 200);
    assert!(html.contains("Mã không hợp lệ"), "{html}");
    let (_, html) = get(&base, "/trust/officer-code", &xa_cookie);
    assert!(html.contains("id=\"scam-figures\""), "{html}");

    // The CLI: the log verifies, then an altered entry is named.
    let out = eid(&["--db", &url, "audit", "verify"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    eid_core::sql::transact(store.db(), |tx| {
        if tx.engine() == "sqlite" {
            tx.exec("DROP TRIGGER data_use_no_update", &[])?;
        } else {
            tx.exec(
                "ALTER TABLE data_use DISABLE TRIGGER data_use_append_only",
                &[],
            )?;
        }
        tx.exec(
            "UPDATE data_use SET purpose = 'nothing' WHERE seq = $1",
            &[seq.parse::<i64>().unwrap().into()],
        )
    })
    .unwrap();
    let out = eid(&["--db", &url, "audit", "verify"]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains(&format!("entry {seq}:")), "{err}");
}

/// A multipart form with a photo, as a browser with `cookie` sends it.
fn post_multipart(
    base: &str,
    path: &str,
    cookie: &str,
    form: &[(&str, &str)],
    photo: &[u8],
) -> Reply {
    let boundary = "----eidtrustboundary42";
    let mut body = Vec::new();
    for (k, v) in form {
        body.extend_from_slice(
            format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{k}\"\r\n\r\n{v}\r\n")
                .as_bytes(),
        );
    }
    body.extend_from_slice(
        format!("--{boundary}\r\nContent-Disposition: form-data; name=\"photo\"; filename=\"me.jpg\"\r\nContent-Type: image/jpeg\r\n\r\n").as_bytes(),
    );
    body.extend_from_slice(photo);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    crate::helpers::send_bytes(
        agent()
            .post(&format!("{base}{path}"))
            .header(
                "Content-Type",
                &format!("multipart/form-data; boundary={boundary}"),
            )
            .header("Cookie", cookie),
        &body,
    )
}

#[test]
fn a_recovery_on_the_pages_is_told_to_the_owner_who_cancels_it() {
    let w = setup("trust_recover");
    let base = &w.base;
    let first = call(agent().get(&format!("{base}/me/recover")));
    assert_eq!(first.status(), 200);
    let dev = cookie_value(&set_cookie(&first, "eid_dev").unwrap());
    let csrf = csrf_field(&first.into_string().unwrap());
    let anon = format!("eid_dev={dev}");
    let portrait = eid::verifier::dev_portrait(w.p.id.as_str());
    // Knowing the ID and holding a phone is not enough: the passcode is wrong.
    let r = post_multipart(
        base,
        "/me/recover",
        &anon,
        &[
            ("csrf", &csrf),
            ("personal_id", w.p.id.as_str()),
            ("passcode", "000000"),
            ("phone", "0987654321"),
        ],
        &portrait,
    );
    assert_eq!(r.status(), 401);
    let html = r.into_string().unwrap();
    assert!(html.contains("mã bảo vệ không đúng"), "{html}");
    assert!(html.contains("id=\"next-step\""), "{html}");
    // With the passcode and the portrait: a code to the new phone.
    let r = post_multipart(
        base,
        "/me/recover",
        &anon,
        &[
            ("csrf", &csrf),
            ("personal_id", w.p.id.as_str()),
            ("passcode", PASSCODE),
            ("phone", "0987654321"),
        ],
        &portrait,
    );
    assert_eq!(r.status(), 200);
    let handle = cookie_value(&set_cookie(&r, "eid_recover").unwrap());
    let requester = format!("{anon}; eid_recover={handle}");
    let code: String = sms(base, &w.bo.token)
        .into_iter()
        .find(|m| m["to"] == "+84987654321" && m["purpose"] == "recovery")
        .unwrap()["body"]
        .as_str()
        .unwrap()
        .split(|c: char| !c.is_ascii_digit())
        .find(|x| x.len() == 6)
        .unwrap()
        .to_owned();
    let (s, html, _) = post(
        base,
        "/me/recover/confirm",
        &requester,
        &[("csrf", &csrf), ("code", &code)],
    );
    assert_eq!(s, 200, "{html}");
    assert!(html.contains("Yêu cầu đang chờ"), "{html}");
    // The bound phone is told, with a cancel link.
    assert!(sms(base, &w.bo.token)
        .iter()
        .any(|m| m["to"] == w.phone.as_str() && m["purpose"] == "recovery_notice"));
    // Too early to complete.
    let (s, _, _) = post(base, "/me/recover/complete", &requester, &[("csrf", &csrf)]);
    assert_eq!(s, 409);
    // The owner's session shows the banner and cancels.
    let me = me_cookie(&w);
    let (_, html) = get(base, "/me/data-use", &me);
    assert!(html.contains("id=\"recovery-banner\""), "{html}");
    let csrf_me = csrf_field(&html);
    let (s, html, _) = post(base, "/me/recover/cancel-mine", &me, &[("csrf", &csrf_me)]);
    assert_eq!(s, 200);
    assert!(html.contains("Đã huỷ yêu cầu khôi phục"), "{html}");
    let (_, html) = get(base, "/me/recover", &requester);
    assert!(html.contains("Chủ tài khoản đã huỷ"), "{html}");
    let account = eid_core::accounts::account_of(w.store.as_ref(), &w.p.id)
        .unwrap()
        .unwrap();
    assert_eq!(account.phone, w.phone);
}
