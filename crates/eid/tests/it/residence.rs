//! Residence procedures over real HTTP (issue 14): a level-2 citizen files a temporary residence
//! request with a scan on /me/residence (a level-1 session is sent to the passcode step), wrong
//! and oversized files and double submissions (also in parallel) are refused, an officer of
//! another commune is refused, the commune officer asks for more, the citizen answers with a new
//! file, the officer approves, the register and the person's history show the change, the
//! citizen is told by SMS at each step, the confirmation verifies on /verify/residence and with
//! `eid verify residence`, and one altered byte is refused by both.

use std::process::Command;
use std::sync::Arc;

use eid_core::store::Role;
use eid_core::{sql, Actor, Store};
use eid_domain::{
    BirthDate, Card, LifeStatus, Person, PersonName, PersonalId, PhoneNumber, PhoneType, Residence,
    Sex, Tree, UnitCode, Units,
};
use time::macros::date;

use crate::helpers::{
    agent, call, cookie_value, create_user, csrf_field, fresh_store, get_json, post_form,
    send_bytes, set_cookie, sign_in, spawn,
};

const BOUNDARY: &str = "eidResidenceBoundary7MA4YWxk";

fn jpeg(len: usize) -> Vec<u8> {
    let mut b = vec![0xFF, 0xD8, 0xFF, 0xE0];
    b.resize(len.max(4), 7);
    b
}

/// A multipart body of text fields and files (`files`, with a name and a claimed type).
fn multipart(fields: &[(&str, &str)], files: &[(&str, &str, &[u8])]) -> Vec<u8> {
    let mut out = Vec::new();
    for (k, v) in fields {
        out.extend_from_slice(
            format!("--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"{k}\"\r\n\r\n{v}\r\n")
                .as_bytes(),
        );
    }
    for (name, claimed, bytes) in files {
        out.extend_from_slice(
            format!(
                "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"files\"; filename=\"{name}\"\r\nContent-Type: {claimed}\r\n\r\n"
            )
            .as_bytes(),
        );
        out.extend_from_slice(bytes);
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(format!("--{BOUNDARY}--\r\n").as_bytes());
    out
}

struct Browser {
    base: String,
    cookies: String,
}

impl Browser {
    fn get(&self, path: &str) -> (u16, String, Option<String>) {
        let r = call(
            agent()
                .get(&format!("{}{path}", self.base))
                .header("Cookie", &self.cookies),
        );
        let loc = r.header("location").map(str::to_owned);
        (r.status(), r.into_string().unwrap_or_default(), loc)
    }
    fn post_multipart(&self, path: &str, body: &[u8]) -> (u16, String, Option<String>) {
        let r = send_bytes(
            agent()
                .post(&format!("{}{path}", self.base))
                .header("Cookie", &self.cookies)
                .header(
                    "Content-Type",
                    &format!("multipart/form-data; boundary={BOUNDARY}"),
                ),
            body,
        );
        let loc = r.header("location").map(str::to_owned);
        (r.status(), r.into_string().unwrap_or_default(), loc)
    }
    fn post(&self, path: &str, form: &[(&str, &str)]) -> (u16, String, Option<String>) {
        let r = post_form(
            agent()
                .post(&format!("{}{path}", self.base))
                .header("Cookie", &self.cookies),
            form,
        );
        let loc = r.header("location").map(str::to_owned);
        (r.status(), r.into_string().unwrap_or_default(), loc)
    }
}

/// A person of `commune` in the register, with a level-2 account.
pub(crate) fn citizen(store: &dyn Store, commune: UnitCode, n: u32) -> Person {
    let p = Person {
        id: PersonalId::from_parts(62, Sex::Male, 1988, 7000 + n).unwrap(),
        name: PersonName::parse("Trần", "Văn", "Bình").unwrap(),
        birth: BirthDate::Full(date!(1988 - 06 - 02)),
        sex: Sex::Male,
        hometown: None,
        residence: Residence {
            unit: commune,
            address: format!("Thôn {n}"),
        },
        temporary: None,
        household: Some(format!("HH-{n}")),
        phone: Some(PhoneNumber::parse(&format!("0913{n:06}")).unwrap()),
        phone_type: PhoneType::Smartphone,
        life: LifeStatus::ALIVE,
        card: Some(Card {
            issued: date!(2023 - 01 - 01),
            revoked: false,
        }),
    };
    let mut w = store
        .writer(&Actor::Cli("test".into()), "test", crate::helpers::now())
        .unwrap();
    w.put(&p).unwrap();
    w.commit().unwrap();
    sql::transact(store.db(), |tx| {
        tx.exec(
            "INSERT INTO account (personal_id, level, state, phone, commune, res_path, \
             created_at, updated_at) VALUES ($1, 2, 'active', $2, $3, 0, 0, 0)",
            &[
                p.id.as_str().into(),
                format!("+84913{n:06}").into(),
                commune.as_str().into(),
            ],
        )
    })
    .unwrap();
    p
}

/// A browser signed in as `p` at `level` (the session is opened through the core; the sign-in
/// pages have their own tests).
fn browser(base: &str, store: &dyn Store, p: &Person, level: i64, device: char) -> Browser {
    let device_id: String = std::iter::repeat_n(device, 64).collect();
    let hash = eid_core::accounts::device_hash(&device_id).unwrap();
    let account = eid_core::accounts::account_of(store, &p.id)
        .unwrap()
        .unwrap();
    let (token, _) = eid_core::accounts::web_session::start(
        store,
        &eid_core::accounts::Settings::default(),
        &account,
        &hash,
        &["pwd", "pin"],
        crate::helpers::now(),
    )
    .unwrap();
    sql::transact(store.db(), |tx| {
        tx.exec(
            "UPDATE citizen_web_session SET level = $1 WHERE personal_id = $2",
            &[level.into(), p.id.as_str().into()],
        )
    })
    .unwrap();
    Browser {
        base: base.to_owned(),
        cookies: format!("eid_dev={device_id}; eid_me={token}"),
    }
}

fn console(base: &str, username: &str, password: &str) -> Browser {
    let r = sign_in(base, username, password);
    let c = set_cookie(&r, "eid_session").expect("a console session");
    Browser {
        base: base.to_owned(),
        cookies: format!("eid_session={}", cookie_value(&c)),
    }
}

fn sms(store: &dyn Store) -> usize {
    eid_core::outbox::sms_list(store, 1000)
        .unwrap()
        .iter()
        .filter(|m| m.purpose == "residence")
        .count()
}

fn between<'a>(html: &'a str, start: &str, end: &str) -> &'a str {
    let at = html
        .find(start)
        .unwrap_or_else(|| panic!("no {start}: {html}"))
        + start.len();
    let rest = &html[at..];
    &rest[..rest.find(end).unwrap()]
}

#[test]
fn a_temporary_residence_is_filed_asked_answered_approved_and_confirmed() {
    let store = fresh_store("residence");
    let units = Units::get();
    let province = UnitCode::parse("62").unwrap();
    let district = units.children(Tree::Gso2024, &province)[1].code;
    let communes = units.children(Tree::Gso2024, &district);
    let (home, there) = (communes[0].code, communes[1].code);
    let xa_home = create_user(store.as_ref(), "xa.home", Role::Commune, home);
    let xa_there = create_user(store.as_ref(), "xa.there", Role::Commune, there);
    let huyen = create_user(store.as_ref(), "huyen", Role::District, district);
    let p = citizen(store.as_ref(), home, 1);
    let q = citizen(store.as_ref(), home, 2);
    let base = spawn(Arc::clone(&store));

    // A level-1 session is sent through the passcode step and back.
    let low = browser(&base, store.as_ref(), &q, 1, 'b');
    let (s, _, loc) = low.get("/me/residence/new");
    assert_eq!(s, 303);
    assert_eq!(
        loc.as_deref(),
        Some("/me/signin?next=%2Fme%2Fresidence%2Fnew&acr=2&fresh=0")
    );

    let me = browser(&base, store.as_ref(), &p, 2, 'a');
    let (s, html, _) = me.get("/me/residence/new");
    assert_eq!(s, 200, "{html}");
    assert!(
        html.contains("Đăng ký tạm trú") && html.contains("7.000 đ"),
        "{html}"
    );
    let csrf = csrf_field(&html);
    let fields = [
        ("csrf", csrf.as_str()),
        ("procedure", "temporary"),
        ("commune", there.as_str()),
        ("address", "Số 8 đường Bà Triệu"),
        ("until", "2027-12-31"),
        ("note", "Thuê nhà đi làm"),
    ];

    // A text file that claims to be a JPEG, and a JPEG over 5 MB: refused, nothing filed.
    let (s, html, _) = me.post_multipart(
        "/me/residence/new",
        &multipart(
            &fields,
            &[("scan.jpg", "image/jpeg", b"not an image at all")],
        ),
    );
    assert_eq!(s, 400);
    assert!(html.contains("JPEG, PNG hoặc tệp PDF"), "{html}");
    let big = jpeg(5 * 1024 * 1024 + 1);
    let (s, html, _) = me.post_multipart(
        "/me/residence/new",
        &multipart(&fields, &[("big.jpg", "image/jpeg", &big)]),
    );
    assert_eq!(s, 400);
    assert!(html.contains("quá lớn"), "{html}");
    // Without the form token: refused.
    let mut no_token = fields;
    no_token[0] = ("csrf", "");
    let (s, _, _) = me.post_multipart("/me/residence/new", &multipart(&no_token, &[]));
    assert_eq!(s, 403);

    // Filed with a scan (sent as "application/octet-stream": the bytes decide).
    let (s, html, loc) = me.post_multipart(
        "/me/residence/new",
        &multipart(
            &fields,
            &[("hop-dong.jpg", "application/octet-stream", &jpeg(2000))],
        ),
    );
    assert_eq!(s, 303, "{html}");
    let loc = loc.unwrap();
    let id: i64 = between(&loc, "/me/residence/", "?").parse().unwrap();
    let (s, html, _) = me.get(&loc);
    assert_eq!(s, 200);
    assert!(
        html.contains("Đã tiếp nhận") && html.contains("hop-dong.jpg"),
        "{html}"
    );
    assert!(
        html.contains("ngày làm việc") && html.contains("7.000 đ"),
        "{html}"
    );
    assert_eq!(sms(store.as_ref()), 1);

    // The same request again: refused while it is open.
    let (s, html, _) = me.post_multipart("/me/residence/new", &multipart(&fields, &[]));
    assert_eq!(s, 409);
    assert!(html.contains("hồ sơ cùng loại"), "{html}");

    // Another commune's officer may not open it; a district officer reads it without forms.
    let other = console(&base, &xa_home.username, &xa_home.password);
    let (s, _, _) = other.get(&format!("/residence/{id}"));
    assert_eq!(s, 403);
    let (s, _, _) = other.post(&format!("/residence/{id}/approve"), &[("csrf", "x")]);
    assert_eq!(s, 403);
    let district = console(&base, &huyen.username, &huyen.password);
    let (s, html, _) = district.get(&format!("/residence/{id}"));
    assert_eq!(s, 200);
    assert!(!html.contains("id=\"res-approve\""), "{html}");

    // The commune officer asks for more; the citizen sees the question and answers with a PDF.
    let cop = console(&base, &xa_there.username, &xa_there.password);
    let (s, html, _) = cop.get("/residence");
    assert_eq!(s, 200);
    assert!(html.contains(&format!("data-request=\"{id}\"")), "{html}");
    let (_, html, _) = cop.get(&format!("/residence/{id}"));
    let ccsrf = csrf_field(&html);
    let (s, _, loc) = cop.post(
        &format!("/residence/{id}/ask"),
        &[
            ("csrf", &ccsrf),
            ("question", "Cần bản hợp đồng thuê có chữ ký chủ nhà"),
        ],
    );
    assert_eq!((s, loc), (303, Some(format!("/residence/{id}?done=ask"))));
    assert_eq!(sms(store.as_ref()), 2);
    let (_, html, _) = me.get(&format!("/me/residence/{id}"));
    assert!(
        html.contains("Cần bản hợp đồng thuê có chữ ký chủ nhà"),
        "{html}"
    );
    let csrf = csrf_field(&html);
    let (s, html, loc) = me.post_multipart(
        &format!("/me/residence/{id}/answer"),
        &multipart(
            &[("csrf", &csrf), ("answer", "Đã bổ sung hợp đồng")],
            &[(
                "hop-dong-ky.pdf",
                "application/pdf",
                b"%PDF-1.4 signed contract",
            )],
        ),
    );
    assert_eq!(s, 303, "{html}");
    assert_eq!(loc, Some(format!("/me/residence/{id}?done=answered")));

    // Approved: the register changes through an `updated` event with the request as reason.
    let (s, _, _) = cop.post(&format!("/residence/{id}/approve"), &[("csrf", &ccsrf)]);
    assert_eq!(s, 303);
    let after = store.person(&p.id).unwrap().unwrap().person;
    let t = after.temporary.expect("a temporary residence");
    assert_eq!((t.unit, t.address.as_str()), (there, "Số 8 đường Bà Triệu"));
    let last = store.history(&p.id).unwrap().pop().unwrap();
    assert_eq!(
        (last.kind.as_str(), last.reason.clone()),
        ("updated", format!("Hồ sơ cư trú số {id}"))
    );
    assert_eq!(sms(store.as_ref()), 3);
    // The person's page (their district's officer: the commune officer of the new address sees
    // persons of their own commune only) shows the event and the new address.
    let (s, html, _) = district.get(&format!("/persons/{}", p.id.as_str()));
    assert_eq!(s, 200);
    assert!(html.contains(&format!("Hồ sơ cư trú số {id}")), "{html}");
    assert!(html.contains("Số 8 đường Bà Triệu"), "{html}");
    // The term's end is in the register: on the page (dd/mm/yyyy), in the history, in the API.
    assert!(html.contains("hạn đến 31/12/2027"), "{html}");
    assert!(html.contains("Hạn tạm trú"), "{html}");
    let (s, json) = get_json(
        &base,
        &format!("/api/v1/persons/{}", p.id.as_str()),
        &huyen.token,
    );
    assert_eq!(s, 200, "{json}");
    assert_eq!(json["residency"]["temp_until"], "2027-12-31");
    let (_, json) = get_json(
        &base,
        &format!("/api/v1/persons/{}/history", p.id.as_str()),
        &huyen.token,
    );
    let events = json["events"].as_array().unwrap();
    assert!(
        events
            .iter()
            .any(|e| e["reason"] == format!("Hồ sơ cư trú số {id}")
                && e["changes"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|c| c["field"] == "temp_until" && c["new"] == "2027-12-31")),
        "{json}"
    );
    let (_, html, _) = me.get("/me/residence");
    assert!(html.contains("Đã phê duyệt"), "{html}");
    let (s, html, _) = cop.get("/residence/ops");
    assert_eq!(s, 200);
    assert!(html.contains("Đúng hạn") && html.contains("Tết"), "{html}");

    // The confirmation: the signed form verifies on the public page and with the CLI.
    let (s, html, _) = me.get("/me/residence/confirmation");
    assert_eq!(s, 200, "{html}");
    assert!(
        html.contains("Số 8 đường Bà Triệu") && html.contains("<svg"),
        "{html}"
    );
    let token = between(&html, "readonly>", "</textarea>").trim().to_owned();
    let check = |t: &str| {
        let r = call(agent().get(&format!(
            "{base}/verify/residence?t={}",
            eid::citizen::session::encode(t)
        )));
        (r.status(), r.into_string().unwrap())
    };
    let (s, html) = check(&token);
    assert_eq!(s, 200);
    assert!(
        html.contains("Chữ ký hợp lệ") && html.contains("Bà Triệu"),
        "{html}"
    );
    let dot = token.find('.').unwrap();
    let mut bytes = token.clone().into_bytes();
    bytes[dot + 10] = if bytes[dot + 10] == b'A' { b'B' } else { b'A' };
    let altered = String::from_utf8(bytes).unwrap();
    let (s, html) = check(&altered);
    assert_eq!(s, 422);
    assert!(!html.contains("Chữ ký hợp lệ"), "{html}");

    let dir = crate::helpers::temp_dir("residence-cli");
    let good = dir.join("xac-nhan.jwt");
    let bad = dir.join("sua.jwt");
    std::fs::write(&good, &token).unwrap();
    std::fs::write(&bad, &altered).unwrap();
    let run = |f: &std::path::Path| {
        Command::new(env!("CARGO_BIN_EXE_eid"))
            .args(["verify", "residence"])
            .arg(f)
            .args(["--jwks", &format!("{base}/oauth2/jwks")])
            .output()
            .unwrap()
    };
    let out = run(&good);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("valid"));
    let out = run(&bad);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("refused: residence.confirmation_"));
}

#[test]
fn parallel_double_submissions_file_one_request() {
    let store = fresh_store("residence_double");
    let units = Units::get();
    let district = units.children(Tree::Gso2024, &UnitCode::parse("62").unwrap())[0].code;
    let home = units.children(Tree::Gso2024, &district)[0].code;
    let p = citizen(store.as_ref(), home, 3);
    let base = spawn(Arc::clone(&store));
    let me = Arc::new(browser(&base, store.as_ref(), &p, 2, 'c'));
    let (_, html, _) = me.get("/me/residence/new");
    let csrf = csrf_field(&html);
    let body = Arc::new(multipart(
        &[
            ("csrf", &csrf),
            ("procedure", "absence"),
            ("until", "2027-10-01"),
        ],
        &[],
    ));
    let handles: Vec<_> = (0..6)
        .map(|_| {
            let (me, body) = (Arc::clone(&me), Arc::clone(&body));
            std::thread::spawn(move || me.post_multipart("/me/residence/new", &body).0)
        })
        .collect();
    let mut statuses: Vec<u16> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    statuses.sort_unstable();
    assert_eq!(statuses, vec![303, 409, 409, 409, 409, 409]);
    let mine = eid_core::residence::requests::mine(store.as_ref(), &p.id).unwrap();
    assert_eq!(mine.len(), 1);
}
