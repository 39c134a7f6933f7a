//! Stay notifications over HTTP with the server's clock at 23:30 Vietnam time on 3 December
//! 2026: a host notifies two guests on the citizen form (one arrived before 23:00, late; one
//! after, on time), the same refusal for an unknown and a mismatched guest, a healthcare
//! facility's CSV with bad rows, an establishment's system with a client-credentials token,
//! concurrent double submissions, and the commune police's console.

use std::sync::Arc;

use base64::Engine as _;
use eid_core::clock::ManualClock;
use eid_core::oidc::clients::{self, AuthMethod, NewClient};
use eid_core::oidc::jose::Alg;
use eid_core::stay::{self, Kind, NewEstablishment};
use eid_core::store::{Role, Staff};
use eid_core::{Acting, Actor, Caller, Store};
use eid_domain::{
    BirthDate, Card, LifeStatus, Person, PersonName, PersonalId, PhoneNumber, PhoneType, Residence,
    Sex, Tree, UnitCode, Units,
};
use serde_json::{json, Value};
use time::macros::{date, datetime};
use time::OffsetDateTime;

use crate::helpers::{
    agent, call, cookie_value, create_user, csrf_field, fresh_store, post_form, send_bytes,
    send_json, set_cookie, sign_in, TestUser,
};

const PASSWORD: &str = "Mật-khẩu-Mạnh-2026";
const PASSCODE: &str = "246810";
const APP_DEVICE: &str = "app-device-0001";
const NOW: OffsetDateTime = datetime!(2026-12-03 23:30 +7);

struct World {
    base: String,
    store: Arc<dyn Store>,
    bo: TestUser,
    xa: TestUser,
    commune: UnitCode,
    serial: std::sync::atomic::AtomicU32,
}

fn officer(u: &TestUser, role: Role) -> Acting {
    Acting::new(
        Caller {
            staff: Staff {
                id: u.id,
                username: u.username.clone(),
                display_name: u.username.clone(),
                role,
                unit: u.unit,
                disabled: false,
            },
            actor: Actor::Staff(u.id),
        },
        "test",
        NOW,
    )
}

impl World {
    fn new(label: &str) -> World {
        let store = fresh_store(label);
        let units = Units::get();
        let province = UnitCode::parse("62").unwrap();
        let district = units.children(Tree::Gso2024, &province)[1].code;
        let commune = units.children(Tree::Gso2024, &district)[0].code;
        let bo = create_user(store.as_ref(), "bo", Role::Ministry, UnitCode::NATION);
        let xa = create_user(store.as_ref(), "xa", Role::Commune, commune);
        let base =
            eid::testkit::spawn_with_clock(Arc::clone(&store), Arc::new(ManualClock::new(NOW)));
        World {
            base,
            store,
            bo,
            xa,
            commune,
            serial: std::sync::atomic::AtomicU32::new(1),
        }
    }

    fn person(&self, surname: &str, given: &str, born: time::Date) -> Person {
        let n = self
            .serial
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let p = Person {
            id: PersonalId::from_parts(62, Sex::Male, born.year(), 700 + n).unwrap(),
            name: PersonName::parse(surname, "Văn", given).unwrap(),
            birth: BirthDate::Full(born),
            sex: Sex::Male,
            hometown: None,
            residence: Residence {
                unit: self.commune,
                address: format!("Thôn {n}"),
            },
            temporary: None,
            household: None,
            phone: Some(PhoneNumber::parse(&format!("0914{n:06}")).unwrap()),
            phone_type: PhoneType::Smartphone,
            life: LifeStatus::ALIVE,
            card: Some(Card {
                issued: date!(2023 - 05 - 01),
                revoked: false,
            }),
        };
        let mut w = self
            .store
            .writer(&Actor::Cli("test".into()), "test", NOW)
            .unwrap();
        w.put(&p).unwrap();
        w.commit().unwrap();
        p
    }

    fn api(&self, path: &str, token: Option<&str>, body: Value) -> (u16, Value) {
        let mut req = agent().post(&format!("{}{path}", self.base));
        if let Some(t) = token {
            req = req.header("Authorization", &format!("Bearer {t}"));
        }
        let r = send_json(req, body);
        let s = r.status();
        (s, r.into_json().unwrap_or(Value::Null))
    }

    fn sms(&self, p: &Person, purpose: &str) -> String {
        let r = call(
            agent()
                .get(&format!("{}/api/v1/sms?limit=500", self.base))
                .header("Authorization", &format!("Bearer {}", self.bo.token)),
        );
        let body: Value = r.into_json().unwrap();
        let phone = p.phone.as_ref().unwrap().as_str().to_owned();
        let m = body["messages"]
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["to"] == phone.as_str() && m["purpose"] == purpose)
            .unwrap()
            .clone();
        m["body"]
            .as_str()
            .unwrap()
            .split(|c: char| !c.is_ascii_digit())
            .find(|w| w.len() == 6)
            .unwrap()
            .to_owned()
    }

    fn level1(&self, p: &Person) {
        let photo = base64::engine::general_purpose::STANDARD
            .encode(eid::verifier::dev_portrait(p.id.as_str()));
        let (s, r) = self.api(
            "/api/v1/app/register",
            None,
            json!({ "personal_id": p.id.as_str(), "phone": p.phone.as_ref().unwrap().national(),
                    "photo_base64": photo, "device_id": APP_DEVICE }),
        );
        assert_eq!(s, 202, "{r}");
        let code = self.sms(p, "register");
        let (s, r) = self.api(
            "/api/v1/app/register/confirm",
            None,
            json!({ "handle": r["handle"], "code": code, "password": PASSWORD, "passcode": PASSCODE }),
        );
        assert_eq!(s, 200, "{r}");
    }

    fn establishment(&self, kind: Kind, notifier: &Person) -> i64 {
        stay::register_establishment(
            self.store.as_ref(),
            &officer(&self.xa, Role::Commune),
            &NewEstablishment {
                kind,
                name: format!("Cơ sở {}", kind.as_str()),
                address: "1 Trần Phú".into(),
                commune: self.commune.as_str().into(),
                relatives_once: false,
                notifiers: vec![notifier.id.as_str().into()],
            },
        )
        .unwrap()
        .id
    }
}

/// A browser with a cookie jar, signed in as a citizen.
struct Browser<'a> {
    w: &'a World,
    jar: std::collections::BTreeMap<String, String>,
}

impl<'a> Browser<'a> {
    fn signed_in(w: &'a World, p: &Person) -> Browser<'a> {
        let mut b = Browser {
            w,
            jar: Default::default(),
        };
        let (_, html) = b.get("/me/signin?fresh=1");
        let csrf = csrf_field(&html);
        let (s, html) = b.post(
            "/me/signin",
            &[
                ("csrf", &csrf),
                ("personal_id", p.id.as_str()),
                ("password", PASSWORD),
                ("next", "/me/stays"),
                ("acr", "1"),
                ("fresh", "0"),
            ],
        );
        assert_eq!(s, 202, "{html}");
        let handle = hidden(&html, "handle");
        let csrf = csrf_field(&html);
        let code = w.sms(p, "device");
        let (s, html) = b.post(
            "/me/signin/code",
            &[
                ("csrf", &csrf),
                ("handle", &handle),
                ("code", &code),
                ("next", "/me/stays"),
                ("acr", "1"),
                ("fresh", "0"),
            ],
        );
        assert_eq!(s, 303, "{html}");
        b
    }

    fn keep(&mut self, r: &crate::helpers::Reply) {
        for c in r.all("set-cookie") {
            let (k, v) = c.split(';').next().unwrap().split_once('=').unwrap();
            if v.is_empty() || c.contains("Max-Age=0") {
                self.jar.remove(k);
            } else {
                self.jar.insert(k.to_owned(), v.to_owned());
            }
        }
    }

    fn cookies(&self) -> String {
        self.jar
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    fn get(&mut self, path: &str) -> (u16, String) {
        let mut req = agent().get(&format!("{}{path}", self.w.base));
        if !self.jar.is_empty() {
            req = req.header("Cookie", &self.cookies());
        }
        let r = call(req);
        self.keep(&r);
        (r.status(), r.into_string().unwrap())
    }

    fn post(&mut self, path: &str, form: &[(&str, &str)]) -> (u16, String) {
        let mut req = agent().post(&format!("{}{path}", self.w.base));
        if !self.jar.is_empty() {
            req = req.header("Cookie", &self.cookies());
        }
        let r = post_form(req, form);
        self.keep(&r);
        let loc = r.header("location").map(str::to_owned).unwrap_or_default();
        let s = r.status();
        let body = r.into_string().unwrap();
        (s, if s == 303 { loc } else { body })
    }

    fn upload(&mut self, fields: &[(&str, &str)], file: &str) -> (u16, String) {
        let boundary = "----stayboundary7MA4YWxk";
        let mut body = String::new();
        for (k, v) in fields {
            body.push_str(&format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"{k}\"\r\n\r\n{v}\r\n"
            ));
        }
        body.push_str(&format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"noi-tru.csv\"\r\nContent-Type: text/csv\r\n\r\n{file}\r\n--{boundary}--\r\n"
        ));
        let req = agent()
            .post(&format!("{}/me/stays/upload", self.w.base))
            .header("Cookie", &self.cookies())
            .header(
                "Content-Type",
                &format!("multipart/form-data; boundary={boundary}"),
            );
        let r = send_bytes(req, body.as_bytes());
        (r.status(), r.into_string().unwrap())
    }
}

fn hidden(html: &str, name: &str) -> String {
    let key = format!("name=\"{name}\" value=\"");
    let at = html
        .find(&key)
        .unwrap_or_else(|| panic!("no {name} field: {html}"));
    let rest = &html[at + key.len()..];
    rest[..rest.find('"').unwrap()].to_owned()
}

fn alert(html: &str) -> String {
    let at = html.find("role=\"alert\">").expect("an alert");
    let rest = &html[at..];
    rest[..rest.find("</p>").unwrap()].to_owned()
}

fn ddmmyyyy(d: time::Date) -> String {
    format!("{:02}/{:02}/{}", d.day(), u8::from(d.month()), d.year())
}

fn birth(p: &Person) -> String {
    match p.birth {
        BirthDate::Full(d) => ddmmyyyy(d),
        BirthDate::Year(y) => y.to_string(),
    }
}

#[test]
fn a_host_notifies_two_guests_on_the_form_one_before_23_00_late_and_one_after_on_time() {
    let w = World::new("stay-form");
    let host = w.person("Trần", "Hùng", date!(1980 - 01 - 02));
    let g1 = w.person("Lê", "Nam", date!(1990 - 05 - 06));
    let g2 = w.person("Phạm", "Bình", date!(1975 - 11 - 30));
    w.level1(&host);
    let e = w.establishment(Kind::Tourist, &host);
    let mut b = Browser::signed_in(&w, &host);

    let (s, html) = b.get("/me/stays");
    assert_eq!(s, 200, "{html}");
    assert!(html.contains("Cơ sở tourist"), "{html}");
    let (s, html) = b.get(&format!("/me/stays/notify?e={e}"));
    assert_eq!(s, 200);
    assert!(html.contains("trước 23 giờ"), "{html}");
    let csrf = csrf_field(&html);
    let es = e.to_string();
    let (b1, b2) = (birth(&g1), birth(&g2));
    let (s, loc) = b.post(
        "/me/stays/notify",
        &[
            ("csrf", &csrf),
            ("e", &es),
            ("g0.personal_id", g1.id.as_str()),
            ("g0.full_name", &g1.name.full()),
            ("g0.birth_date", &b1),
            ("g0.arrival", "2026-12-03T20:00"),
            ("g0.departure", "2026-12-05T10:00"),
            ("g0.reason", "Du lịch"),
            ("g1.personal_id", g2.id.as_str()),
            ("g1.full_name", &g2.name.full()),
            ("g1.birth_date", &b2),
            ("g1.arrival", "2026-12-03T23:15"),
            ("g1.departure", "2026-12-04T10:00"),
            ("g1.reason", "Công tác"),
        ],
    );
    assert_eq!(s, 303, "{loc}");
    assert_eq!(loc, "/me/stays?done=2&late=1");
    let (_, html) = b.get(&loc);
    assert!(
        html.contains("Đã thông báo lưu trú cho số khách: 2"),
        "{html}"
    );
    assert_eq!(html.matches("stay-late").count(), 1, "{html}");
    assert_eq!(html.matches("stay-ontime").count(), 1, "{html}");
    assert!(
        !html.contains(g1.id.as_str()),
        "the host sees no full ID afterwards"
    );

    // Departure before arrival: refused, nothing written.
    let (s, html) = b.post(
        "/me/stays/notify",
        &[
            ("csrf", &csrf),
            ("e", &es),
            ("g0.personal_id", g1.id.as_str()),
            ("g0.full_name", &g1.name.full()),
            ("g0.birth_date", &b1),
            ("g0.arrival", "2026-12-06T20:00"),
            ("g0.departure", "2026-12-05T10:00"),
            ("g0.reason", "Du lịch"),
        ],
    );
    assert_eq!(s, 400);
    assert!(
        alert(&html).contains("ngày dự kiến rời đi trước ngày đến"),
        "{html}"
    );

    // Unknown ID and mismatched name: the same status and the same words.
    let unknown = PersonalId::from_parts(62, Sex::Male, 1990, 99_999).unwrap();
    let try_guest = |b: &mut Browser, id: &str, name: &str| {
        b.post(
            "/me/stays/notify",
            &[
                ("csrf", &csrf),
                ("e", &es),
                ("g0.personal_id", id),
                ("g0.full_name", name),
                ("g0.birth_date", &b1),
                ("g0.arrival", "2026-12-03T21:00"),
                ("g0.departure", "2026-12-05T10:00"),
                ("g0.reason", "Du lịch"),
            ],
        )
    };
    let (s1, h1) = try_guest(&mut b, unknown.as_str(), &g1.name.full());
    let (s2, h2) = try_guest(&mut b, g1.id.as_str(), "Lê Văn Nhân");
    assert_eq!((s1, s2), (400, 400));
    assert_eq!(alert(&h1), alert(&h2));
    assert!(alert(&h1).contains("không khớp"), "{h1}");

    // The guest sees the stay and a masked notifier.
    w.level1(&g1);
    let mut gb = Browser::signed_in(&w, &g1);
    let (_, html) = gb.get("/me/stays");
    assert!(html.contains("T. V. Hùng"), "{html}");
    assert!(html.contains("Cơ sở tourist"), "{html}");
    // And in their "who used my data" log: the establishment, what the check read, the purpose
    // (on PostgreSQL after the fold, which the citizen's page runs before it reads the log).
    eid_core::transparency::staff_reads::fold(w.store.as_ref()).unwrap();
    let (uses, _) =
        eid_core::transparency::entries_for(w.store.as_ref(), g1.id.as_str(), 0).unwrap();
    let stays: Vec<_> = uses
        .iter()
        .filter(|e| e.who_kind == "establishment")
        .collect();
    assert_eq!(stays.len(), 1, "one stay written for this guest");
    assert_eq!(stays[0].purpose, "stay.notify");
    let (_, html) = gb.get("/me/data-use");
    assert!(
        html.contains("Thông báo lưu trú") && html.contains("Cơ sở lưu trú"),
        "{html}"
    );
    let (refused, _) =
        eid_core::transparency::entries_for(w.store.as_ref(), unknown.as_str(), 0).unwrap();
    assert!(refused.is_empty(), "a refused guest check records nothing");
}

#[test]
fn a_healthcare_facility_uploads_a_csv_and_bad_rows_are_reported_by_line() {
    let w = World::new("stay-csv-http");
    let host = w.person("Trần", "Hùng", date!(1980 - 01 - 02));
    let g = w.person("Lê", "Nam", date!(1990 - 05 - 06));
    w.level1(&host);
    let e = w.establishment(Kind::Healthcare, &host);
    let mut b = Browser::signed_in(&w, &host);
    let (_, html) = b.get(&format!("/me/stays/notify?e={e}"));
    assert!(html.contains("enctype=\"multipart/form-data\""), "{html}");
    let csrf = csrf_field(&html);
    let file = format!(
        "personal_id,full_name,birth_date,arrival,departure,reason\n\
         {id},{name},{b},03/12/2026 08:00,06/12/2026 08:00,Điều trị nội trú\n\
         {id},Lê Văn Sai,{b},03/12/2026 08:00,06/12/2026 08:00,Điều trị nội trú\n\
         {id},{name},{b},04/12/2026 08:00,02/12/2026 08:00,Điều trị nội trú\n",
        id = g.id.as_str(),
        name = g.name.full(),
        b = birth(&g)
    );
    let (s, html) = b.upload(&[("csrf", &csrf), ("e", &e.to_string())], &file);
    assert_eq!(s, 200, "{html}");
    assert!(
        html.contains("<span class=\"stay-written\">1</span>"),
        "{html}"
    );
    assert!(html.contains("data-line=\"3\""), "{html}");
    assert!(html.contains("data-line=\"4\""), "{html}");
    assert!(!html.contains("data-line=\"2\""), "{html}");
    assert!(html.contains("stay.guest_unverified"), "{html}");
    assert!(html.contains("stay.departure_before_arrival"), "{html}");
    // A bad form token is refused.
    let (s, _) = b.upload(&[("csrf", "x"), ("e", &e.to_string())], &file);
    assert_eq!(s, 403);
}

fn client_with_secret(w: &World, id: &str) -> String {
    let (_, secret) = clients::add(
        w.store.as_ref(),
        &officer(&w.bo, Role::Ministry),
        &NewClient {
            client_id: Some(id.into()),
            name_vi: "Hệ thống bệnh viện".into(),
            name_en: "Hospital system".into(),
            logo_uri: None,
            redirect_uris: vec!["https://benhvien.example.vn/cb".into()],
            post_logout_redirect_uris: vec![],
            backchannel_logout_uri: None,
            scopes: vec!["openid".into()],
            acr_values: vec![eid_core::oidc::ACR_LOA1.into()],
            id_token_alg: Alg::Es256,
            auth_method: AuthMethod::ClientSecretBasic,
            jwks: None,
            require_par: false,
            sector_identifier: None,
            dpop_bound: false,
        },
    )
    .unwrap();
    secret.unwrap()
}

fn token(w: &World, id: &str, secret: &str, scope: &str) -> (u16, Value) {
    let basic = base64::engine::general_purpose::STANDARD.encode(format!("{id}:{secret}"));
    let mut form = vec![("grant_type", "client_credentials")];
    if !scope.is_empty() {
        form.push(("scope", scope));
    }
    let r = post_form(
        agent()
            .post(&format!("{}/oauth2/token", w.base))
            .header("authorization", &format!("Basic {basic}")),
        &form,
    );
    let s = r.status();
    (s, r.into_json().unwrap_or(Value::Null))
}

#[test]
fn a_hospital_system_notifies_with_a_client_credentials_token_and_a_double_submission_writes_one_stay(
) {
    let w = World::new("stay-api");
    let host = w.person("Trần", "Hùng", date!(1980 - 01 - 02));
    let g = w.person("Lê", "Nam", date!(1990 - 05 - 06));
    let e = w.establishment(Kind::Healthcare, &host);
    let secret = client_with_secret(&w, "benh-vien");
    let other_secret = client_with_secret(&w, "khong-gan");

    // Not bound: the grant is refused.
    let (s, r) = token(&w, "khong-gan", &other_secret, "");
    assert_eq!(
        (s, r["error"].as_str()),
        (400, Some("unauthorized_client")),
        "{r}"
    );
    stay::bind_client(
        w.store.as_ref(),
        &officer(&w.xa, Role::Commune),
        "benh-vien",
        e,
    )
    .unwrap();
    let (s, r) = token(&w, "benh-vien", &secret, "openid");
    assert_eq!(
        (s, r["error"].as_str()),
        (400, Some("invalid_scope")),
        "{r}"
    );
    let (s, r) = token(&w, "benh-vien", &secret, "stay:notify");
    assert_eq!(s, 200, "{r}");
    assert_eq!(r["scope"], "stay:notify");
    assert!(r.get("id_token").is_none(), "{r}");
    assert!(r.get("refresh_token").is_none(), "{r}");
    let at = r["access_token"].as_str().unwrap().to_owned();

    // The token is no person's: userinfo refuses it.
    let ui = call(
        agent()
            .get(&format!("{}/oauth2/userinfo", w.base))
            .header("Authorization", &format!("Bearer {at}")),
    );
    assert_eq!(ui.status(), 401);

    let body = json!({ "stays": [
        { "personal_id": g.id.as_str(), "full_name": g.name.full(), "birth_date": "1990-05-06",
          "arrival": "2026-12-03T20:00:00+07:00", "departure": "2026-12-06T08:00:00+07:00",
          "reason": "Điều trị nội trú" },
        { "passport": "B1234567", "nationality": "KOR", "full_name": "Kim Min-jun",
          "arrival": "2026-12-03T23:10", "departure": "2026-12-05T08:00", "reason": "Điều trị" }
    ]});
    // Eight copies at once: every answer names the same stays; one wrote them.
    let answers: Vec<(u16, Value)> = std::thread::scope(|sc| {
        let hs: Vec<_> = (0..8)
            .map(|_| sc.spawn(|| w.api("/api/v1/stays", Some(&at), body.clone())))
            .collect();
        hs.into_iter().map(|h| h.join().unwrap()).collect()
    });
    for (s, r) in &answers {
        assert_eq!(*s, 201, "{r}");
        assert_eq!(r["stays"][0]["id"], answers[0].1["stays"][0]["id"]);
    }
    let fresh = answers
        .iter()
        .filter(|(_, r)| r["stays"][0]["repeated"] == false)
        .count();
    assert_eq!(fresh, 1, "{answers:?}");
    let r = &answers[0].1;
    assert_eq!(r["stays"][0]["late"], true, "arrived 20:00, notified 23:30");
    assert_eq!(r["stays"][1]["late"], false, "a foreign guest: 12 hours");
    assert_eq!(
        stay::view::my_stays(w.store.as_ref(), g.id.as_str())
            .unwrap()
            .len(),
        1
    );

    // The same answer for an unknown ID and a mismatched name (but for the request id).
    let probe = |id: &str, name: &str| {
        let (s, mut r) = w.api(
            "/api/v1/stays",
            Some(&at),
            json!({ "stays": [{ "personal_id": id, "full_name": name, "birth_date": "1990-05-06",
                "arrival": "2026-12-03T21:00", "departure": "2026-12-04T08:00", "reason": "Khám" }]}),
        );
        r["error"]["request_id"] = Value::Null;
        (s, r)
    };
    let unknown = PersonalId::from_parts(62, Sex::Male, 1990, 99_999).unwrap();
    let a = probe(unknown.as_str(), &g.name.full());
    let b = probe(g.id.as_str(), "Lê Văn Nhân");
    assert_eq!(a.0, 400);
    assert_eq!(a, b);
    assert_eq!(a.1["error"]["code"], "stay.guest_unverified");
    assert_eq!(a.1["error"]["detail"]["index"], 0);

    // A staff API token is not a client token.
    let (s, _) = w.api("/api/v1/stays", Some(&w.bo.token), body.clone());
    assert_eq!(s, 401);
    let (s, _) = w.api("/api/v1/stays", None, body);
    assert_eq!(s, 401);

    // The route is in the OpenAPI document.
    let doc = eid::openapi::document();
    assert!(doc["paths"]["/api/v1/stays"]["post"].is_object());
}

fn console_cookie(w: &World, u: &TestUser) -> String {
    let r = sign_in(&w.base, &u.username, &u.password);
    format!(
        "eid_session={}",
        cookie_value(&set_cookie(&r, "eid_session").unwrap())
    )
}

#[test]
fn the_commune_police_register_an_establishment_see_todays_guests_and_search_with_a_reason() {
    let w = World::new("stay-console");
    let host = w.person("Trần", "Hùng", date!(1980 - 01 - 02));
    let g = w.person("Lê", "Nam", date!(1990 - 05 - 06));
    let cookie = console_cookie(&w, &w.xa);
    let get = |path: &str| {
        let r = call(
            agent()
                .get(&format!("{}{path}", w.base))
                .header("Cookie", &cookie),
        );
        let s = r.status();
        (s, r.into_string().unwrap())
    };
    let post = |path: &str, form: &[(&str, &str)]| {
        let r = post_form(
            agent()
                .post(&format!("{}{path}", w.base))
                .header("Cookie", &cookie),
            form,
        );
        let s = r.status();
        let loc = r.header("location").map(str::to_owned).unwrap_or_default();
        (s, loc, r.into_string().unwrap())
    };
    let (s, html) = get("/stays/establishments");
    assert_eq!(s, 200, "{html}");
    let csrf = csrf_field(&html);
    let commune = w.commune.as_str().to_owned();
    let (s, loc, _) = post(
        "/stays/establishments",
        &[
            ("csrf", &csrf),
            ("kind", "tourist"),
            ("name", "Khách sạn Sông Hàn"),
            ("address", "5 Bạch Đằng"),
            ("commune", &commune),
            ("notifiers", host.id.as_str()),
        ],
    );
    assert_eq!(s, 303);
    let id: i64 = loc
        .trim_start_matches("/stays/establishments/")
        .split('?')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    stay::notify(
        w.store.as_ref(),
        &stay::Notifier::Citizen {
            personal_id: host.id.as_str().into(),
            via: stay::Via::Web,
        },
        id,
        &[stay::StayIn {
            guest: stay::Guest::Citizen {
                personal_id: g.id.as_str().into(),
                full_name: g.name.full(),
                birth: "06/05/1990".into(),
            },
            arrival: datetime!(2026-12-03 19:00 +7),
            departure: datetime!(2026-12-05 10:00 +7),
            reason: "Du lịch".into(),
        }],
        NOW,
    )
    .unwrap();

    let (s, html) = get("/stays");
    assert_eq!(s, 200);
    assert!(html.contains("Khách sạn Sông Hàn"), "{html}");
    assert!(html.contains("Thông báo muộn"), "{html}");
    assert!(
        html.contains("href=\"/stays\""),
        "the navigation has the section"
    );
    let (s, html) = get(&format!("/stays/establishments/{id}"));
    assert_eq!(s, 200);
    assert!(html.contains(g.id.as_str()), "{html}");

    let (s, html) = get("/stays/search");
    assert_eq!(s, 200);
    let csrf = csrf_field(&html);
    let (s, _, html) = post(
        "/stays/search",
        &[
            ("csrf", &csrf),
            ("personal_id", g.id.as_str()),
            ("reason", ""),
        ],
    );
    assert_eq!(s, 400, "{html}");
    let (s, _, html) = post(
        "/stays/search",
        &[
            ("csrf", &csrf),
            ("personal_id", g.id.as_str()),
            ("reason", "Xác minh tin báo 113"),
        ],
    );
    assert_eq!(s, 200, "{html}");
    assert!(html.contains("Khách sạn Sông Hàn"), "{html}");

    let (s, csv) = get("/stays/report?format=csv&from=2026-12-01&to=2026-12-03");
    assert_eq!(s, 200);
    assert!(csv.starts_with("kind,establishments,stays,late\n"), "{csv}");
    assert!(csv.contains("tourist,1,1,1\n"), "{csv}");
    let (s, html) = get("/stays/report");
    assert_eq!(s, 200);
    assert!(html.contains("Cơ sở khám bệnh, chữa bệnh"), "{html}");

    // A ministry officer may not search by person.
    let bo = console_cookie(&w, &w.bo);
    let r = call(
        agent()
            .get(&format!("{}/stays/search", w.base))
            .header("Cookie", &bo),
    );
    assert_eq!(r.status(), 403);
}
