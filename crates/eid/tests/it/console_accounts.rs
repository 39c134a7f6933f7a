//! The officer pages of the console for accounts: application and review queues, account pages, devices, the SMS outbox.
//!
//! One server over its own fresh store (SQLite, or PostgreSQL when `EID_TEST_DATABASE_URL` is
//! set) with officers of a Kon Tum commune, of its district and of a neighbouring commune.
//! Applications come in as signed packets from an intake device registered over the API, each
//! test with persons of its own, so the tests run in parallel without meeting.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, OnceLock};

use eid_core::intake::{new_key, sign, signing_key, unhex, PacketFields};
use eid_core::secret::random_token;
use eid_core::store::Role;
use eid_core::{Actor, Store};
use eid_domain::{
    BirthDate, Card, LifeStatus, Person, PersonName, PersonalId, PhoneNumber, PhoneType, Residence,
    Sex, Tree, UnitCode, Units,
};
use serde_json::{json, Value};
use time::macros::date;

use crate::helpers::{
    agent, call, cookie_value, create_user, csrf_field, fresh_store, post_form, send_json,
    set_cookie, sign_in, spawn, Reply, TestUser,
};

struct Fixture {
    base: String,
    store: Arc<dyn Store>,
    commune: UnitCode,
    /// An officer of `commune`, of its district, and of another commune of that district.
    xa: TestUser,
    huyen: TestUser,
    xa_khac: TestUser,
    /// A ministry-level officer: the only level that reads the development outbox.
    bo: TestUser,
    device: i64,
    seed: String,
    serial: AtomicU32,
}

fn fixture() -> &'static Fixture {
    static F: OnceLock<Fixture> = OnceLock::new();
    F.get_or_init(|| {
        let store = fresh_store("console-accounts");
        let units = Units::get();
        let province = UnitCode::parse("62").unwrap();
        let district = units.children(Tree::Gso2024, &province)[1].code;
        let communes = units.children(Tree::Gso2024, &district);
        let (commune, other) = (communes[0].code, communes[1].code);
        let xa = create_user(store.as_ref(), "ca.xa", Role::Commune, commune);
        let huyen = create_user(store.as_ref(), "ca.huyen", Role::District, district);
        let xa_khac = create_user(store.as_ref(), "ca.xa.khac", Role::Commune, other);
        let bo = create_user(store.as_ref(), "ca.bo", Role::Ministry, UnitCode::NATION);
        let base = spawn(Arc::clone(&store));
        let (seed, public) = new_key();
        let (status, body) = api_post(
            &base,
            "/api/v1/devices",
            &huyen.token,
            json!({ "name": "Máy thu nhận số 1", "unit": commune.as_str(),
                    "public_key": public, "daily_capacity": 300 }),
        );
        assert_eq!(status, 201, "{body}");
        Fixture {
            device: body["device"]["id"].as_i64().unwrap(),
            base,
            store,
            commune,
            xa,
            huyen,
            xa_khac,
            bo,
            seed,
            serial: AtomicU32::new(1),
        }
    })
}

fn api_post(base: &str, path: &str, token: &str, body: Value) -> (u16, Value) {
    let r = send_json(
        agent()
            .post(&format!("{base}{path}"))
            .header("Authorization", &format!("Bearer {token}")),
        body,
    );
    let status = r.status();
    (status, r.into_json().unwrap_or(Value::Null))
}

impl Fixture {
    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// A new adult of the commune with a valid card and a phone, written to the register.
    fn person(&self) -> Person {
        let n = self.serial.fetch_add(1, Ordering::Relaxed);
        let p = Person {
            id: PersonalId::from_parts(62, Sex::Male, 1990, 500 + n).unwrap(),
            name: PersonName::parse("Trần", "Văn", "Bình").unwrap(),
            birth: BirthDate::Full(date!(1990 - 05 - 17)),
            sex: Sex::Male,
            hometown: None,
            residence: Residence {
                unit: self.commune,
                address: format!("Thôn {n}"),
            },
            temporary: None,
            household: None,
            phone: Some(PhoneNumber::parse(&format!("0987{n:06}")).unwrap()),
            phone_type: PhoneType::Smartphone,
            life: LifeStatus::ALIVE,
            card: Some(Card {
                issued: date!(2024 - 01 - 10),
                revoked: false,
            }),
        };
        let now = crate::helpers::now();
        p.check(now.date()).unwrap();
        let mut w = self
            .store
            .writer(&Actor::Cli("test".into()), "test", now)
            .unwrap();
        w.put(&p).unwrap();
        w.commit().unwrap();
        p
    }

    /// Sends a signed application for `p` from the device; `matched: false` sends it to review.
    fn collect(&self, p: &Person, matched: bool) -> i64 {
        let phone = p.phone.as_ref().unwrap().national();
        let nonce: [u8; 16] = unhex(&random_token()[..32]).unwrap().try_into().unwrap();
        let fields = PacketFields {
            device: self.device,
            personal_id: p.id.as_str(),
            phone: &phone,
            portrait_sha256: [9; 32],
            method: "fingerprint",
            against: "card",
            matched,
            score: if matched { 0.96 } else { 0.31 },
            officer: &self.xa.username,
            collected_at: crate::helpers::now(),
            nonce,
        };
        let (packet, signature) = sign(&fields, &signing_key(&self.seed).unwrap()).unwrap();
        let r = send_json(
            agent().post(&self.url("/api/v1/intake/applications")),
            json!({ "packet": packet, "signature": signature }),
        );
        assert_eq!(r.status(), 201);
        let body: Value = r.into_json().unwrap();
        body["application"]["id"].as_i64().unwrap()
    }

    /// A level-2 account for `p`: collected, approved, and activated with the SMS code.
    fn account(&self, p: &Person) {
        self.collect(p, true);
        let phone = p.phone.as_ref().unwrap().as_str().to_owned();
        let code = (0..100)
            .find_map(|_| {
                let r = call(
                    agent()
                        .get(&self.url("/api/v1/sms?limit=500"))
                        .header("Authorization", &format!("Bearer {}", self.bo.token)),
                );
                let body: Value = r.into_json().unwrap();
                let code = body["messages"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .find(|m| m["to"] == phone.as_str() && m["purpose"] == "activate")
                    .and_then(|m| m["body"].as_str())
                    .and_then(six_digits);
                if code.is_none() {
                    std::thread::sleep(std::time::Duration::from_millis(50));
                }
                code
            })
            .expect("an activation SMS");
        let r = send_json(
            agent().post(&self.url("/api/v1/app/activate")),
            json!({
                "personal_id": p.id.as_str(), "code": code, "password": "Mật-khẩu-Mạnh-2026",
                "passcode": "135790", "device_id": "console-test-phone",
            }),
        );
        assert_eq!(r.status(), 200, "{}", r.into_string().unwrap());
    }
}

fn six_digits(body: &str) -> Option<String> {
    body.as_bytes()
        .windows(6)
        .position(|w| w.iter().all(u8::is_ascii_digit))
        .map(|i| body[i..i + 6].to_owned())
}

/// A signed-in officer: the session cookie and the CSRF token of their session.
struct Officer {
    cookie: String,
    csrf: String,
}

fn officer(f: &Fixture, u: &TestUser) -> Officer {
    let r = sign_in(&f.base, &u.username, &u.password);
    assert_eq!(r.status(), 303);
    let cookie = format!(
        "eid_session={}",
        cookie_value(&set_cookie(&r, "eid_session").unwrap())
    );
    let page = call(
        agent()
            .get(&f.url("/applications"))
            .header("Cookie", &cookie),
    );
    let csrf = csrf_field(&page.into_string().unwrap());
    Officer { cookie, csrf }
}

impl Officer {
    fn get(&self, f: &Fixture, path: &str) -> (u16, String) {
        let r = call(agent().get(&f.url(path)).header("Cookie", &self.cookie));
        (r.status(), r.into_string().unwrap())
    }

    /// Posts a form with the session's CSRF token added.
    fn post(&self, f: &Fixture, path: &str, form: &[(&str, &str)]) -> Reply {
        let mut all = form.to_vec();
        all.push(("csrf", &self.csrf));
        post_form(
            agent().post(&f.url(path)).header("Cookie", &self.cookie),
            &all,
        )
    }
}

#[test]
fn the_queue_lists_the_units_applications_and_the_review_queue_only_those_in_review() {
    let f = fixture();
    let (ok, review) = (f.person(), f.person());
    let ok_id = f.collect(&ok, true);
    let review_id = f.collect(&review, false);
    let xa = officer(f, &f.xa);

    let (status, all) = xa.get(f, "/applications");
    let (_, queue) = xa.get(f, "/applications?state=review");
    let (_, day) = xa.get(
        f,
        &format!(
            "/applications?day={}&unit={}",
            crate::helpers::now()
                .to_offset(time::UtcOffset::from_hms(7, 0, 0).unwrap())
                .date(),
            f.commune
        ),
    );
    let (_, other_day) = xa.get(f, "/applications?day=2001-01-01");

    assert_eq!(status, 200);
    for id in [ok.id.as_str(), review.id.as_str()] {
        assert!(all.contains(id) && day.contains(id), "{id} is listed");
        assert!(!other_day.contains(id));
    }
    assert!(all.contains(&format!("href=\"/applications/{ok_id}\"")));
    assert!(all.contains("Máy thu nhận số 1"), "the device is named");
    assert!(all.contains("Đã gửi mã") && all.contains("Chờ duyệt"));
    assert!(queue.contains(review.id.as_str()) && !queue.contains(ok.id.as_str()));
    assert!(queue.contains("Hàng chờ duyệt"));
    assert!(
        all.contains("Xác thực khuôn mặt") && all.contains("dev-hash") && all.contains("dev-sink"),
        "the page states the configured verifier and SMS sender"
    );
    assert!(
        all.contains("href=\"/applications\""),
        "the accounts section is in the menu"
    );

    let (status, page) = xa.get(f, &format!("/applications/{review_id}"));
    assert_eq!(status, 200);
    assert!(page.contains(review.id.as_str()) && page.contains("Không khớp"));
    assert!(page.contains("Thiết bị không đối sánh khớp vân tay"));
    assert!(
        !page.contains("/reject\"") && page.contains("cấp trên"),
        "a commune officer does not decide reviews of their own commune"
    );
    let (status, page) = xa.get(f, "/applications?day=yesterday");
    assert_eq!(status, 400);
    assert!(page.contains("YYYY-MM-DD"));
}

#[test]
fn a_commune_officer_of_another_commune_is_refused_the_application_and_the_account() {
    let f = fixture();
    let p = f.person();
    let id = f.collect(&p, false);
    let khac = officer(f, &f.xa_khac);

    let (app, _) = khac.get(f, &format!("/applications/{id}"));
    let (list_status, list) = khac.get(f, "/applications");
    let (other_unit, _) = khac.get(f, &format!("/applications?unit={}", f.commune));
    let act = khac.post(f, &format!("/applications/{id}/reject"), &[("reason", "x")]);

    assert_eq!((app, other_unit, act.status()), (403, 403, 403));
    assert_eq!(list_status, 200);
    assert!(!list.contains(p.id.as_str()), "not in their queue");
}

#[test]
fn rejecting_needs_the_csrf_token_and_a_reason_and_then_shows_the_outcome() {
    let f = fixture();
    let p = f.person();
    let id = f.collect(&p, false);
    let huyen = officer(f, &f.huyen);
    let path = format!("/applications/{id}/reject");

    let without = post_form(
        agent().post(&f.url(&path)).header("Cookie", &huyen.cookie),
        &[("reason", "Ảnh không rõ")],
    );
    let wrong = post_form(
        agent().post(&f.url(&path)).header("Cookie", &huyen.cookie),
        &[("reason", "Ảnh không rõ"), ("csrf", "00")],
    );
    let (_, still) = huyen.get(f, &format!("/applications/{id}"));
    let empty = huyen.post(f, &path, &[("reason", "  ")]);
    let empty_status = empty.status();
    let empty_page = empty.into_string().unwrap();
    let done = huyen.post(f, &path, &[("reason", "Ảnh chân dung không rõ mặt")]);
    let location = done.header("location").map(str::to_owned);
    let (_, after) = huyen.get(f, &format!("/applications/{id}?done=reject"));
    let again = huyen.post(f, &path, &[("reason", "lần nữa")]);
    let again_status = again.status();
    let again_page = again.into_string().unwrap();

    assert_eq!((without.status(), wrong.status()), (403, 403));
    assert!(still.contains("Chờ duyệt") && still.contains(&format!("action=\"{path}\"")));
    assert_eq!(empty_status, 422);
    assert!(
        empty_page.contains("Cần ghi lý do từ chối") && empty_page.contains("application.reason")
    );
    assert_eq!(
        (done.status(), location.as_deref()),
        (
            303,
            Some(format!("/applications/{id}?done=reject").as_str())
        )
    );
    assert!(after.contains("Đã từ chối hồ sơ.") && after.contains("Bị từ chối"));
    assert!(after.contains("Ảnh chân dung không rõ mặt") && after.contains("ca.huyen"));
    assert!(
        !after.contains(&format!("action=\"{path}\"")),
        "no more buttons"
    );
    assert_eq!(again_status, 409);
    assert!(
        again_page.contains("already rejected"),
        "the refusal's message is shown"
    );
}

#[test]
fn a_district_officer_approves_a_review_and_the_code_goes_to_the_sms_outbox() {
    let f = fixture();
    let p = f.person();
    let id = f.collect(&p, false);
    let huyen = officer(f, &f.huyen);

    let r = huyen.post(f, &format!("/applications/{id}/approve"), &[]);
    let (_, page) = huyen.get(f, &format!("/applications/{id}"));
    let resend = huyen.post(f, &format!("/applications/{id}/resend"), &[]);
    // The outbox is read at ministry level (see the next test for the district's refusal).
    let (status, sms) = officer(f, &f.bo).get(f, "/sms");

    assert_eq!(r.status(), 303);
    assert!(page.contains("Đã gửi mã") && page.contains("/resend\""));
    assert_eq!(resend.status(), 303);
    assert_eq!(status, 200);
    let masked = p.phone.as_ref().unwrap().masked();
    assert!(sms.contains(&masked), "the recipient is masked");
    assert!(!sms.contains(&p.phone.as_ref().unwrap().national()));
    assert!(sms.contains("Ma kich hoat") && sms.contains("Mã kích hoạt mức 2"));
}

#[test]
fn only_ministry_level_staff_open_the_sms_outbox_and_see_its_link() {
    let f = fixture();
    let p = f.person();
    f.collect(&p, true);
    let huyen = officer(f, &f.huyen);
    let bo = officer(f, &f.bo);
    let api = |token: &str| {
        call(
            agent()
                .get(&f.url("/api/v1/sms?limit=10"))
                .header("Authorization", &format!("Bearer {token}")),
        )
    };

    let (district_status, district_page) = huyen.get(f, "/sms");
    let (_, district_queue) = huyen.get(f, "/applications");
    let (ministry_status, ministry_page) = bo.get(f, "/sms");
    let (_, ministry_queue) = bo.get(f, "/applications");
    let district_api = api(&f.huyen.token);
    let commune_api = api(&f.xa.token);
    let ministry_api = api(&f.bo.token);

    assert_eq!(district_status, 403, "the standard scope refusal");
    assert!(!district_page.contains("<table class=\"sms\""));
    assert!(
        !district_queue.contains("href=\"/sms\""),
        "no link to a page it cannot open"
    );
    assert_eq!(ministry_status, 200);
    assert!(ministry_page.contains("<table class=\"sms\""));
    assert!(ministry_page.contains(&p.phone.as_ref().unwrap().masked()));
    assert!(ministry_queue.contains("href=\"/sms\""));
    assert_eq!(district_api.status(), 403);
    assert_eq!(commune_api.status(), 403);
    let body: Value = district_api.into_json().unwrap();
    assert_eq!(body["error"]["code"], "scope.denied", "{body}");
    assert_eq!(ministry_api.status(), 200);
    let body: Value = ministry_api.into_json().unwrap();
    assert_eq!(body["sender"], "dev-sink");
}

#[test]
fn an_officer_locks_and_unlocks_an_account_with_a_reason_and_the_history_shows_both() {
    let f = fixture();
    let p = f.person();
    f.account(&p);
    let xa = officer(f, &f.xa);
    let path = format!("/accounts/{}", p.id);

    let (status, before) = xa.get(f, &path);
    let no_reason = xa.post(f, &format!("{path}/lock"), &[("reason", "")]);
    let no_reason_status = no_reason.status();
    let no_reason_page = no_reason.into_string().unwrap();
    let no_csrf = post_form(
        agent()
            .post(&f.url(&format!("{path}/lock")))
            .header("Cookie", &xa.cookie),
        &[("reason", "Mất điện thoại")],
    );
    let lock = xa.post(
        f,
        &format!("{path}/lock"),
        &[("reason", "Gọi tổng đài báo mất điện thoại")],
    );
    let (_, locked) = xa.get(f, &path);
    let unlock = xa.post(
        f,
        &format!("{path}/unlock"),
        &[("reason", "Chủ tài khoản đến trụ sở xác minh")],
    );
    let (_, unlocked) = xa.get(f, &path);
    let (person_status, person) = xa.get(f, &format!("/persons/{}", p.id));
    let khac = officer(f, &f.xa_khac);
    let (outside, _) = khac.get(f, &path);

    assert_eq!(status, 200);
    assert!(before.contains("Đang hoạt động") && before.contains("Mức</dt><dd>Mức 2"));
    assert!(before.contains("Kích hoạt mức 2") && before.contains("Thu nhận hồ sơ"));
    assert!(before.contains("Máy thu nhận số 1") && before.contains("Trần Văn Bình"));
    assert!(before.contains(&p.phone.as_ref().unwrap().masked()));
    assert_eq!(no_reason_status, 422);
    assert!(no_reason_page.contains("Cần ghi lý do"));
    assert_eq!((no_csrf.status(), lock.status()), (403, 303));
    assert!(locked.contains("Đang bị khóa") && locked.contains("Gọi tổng đài báo mất điện thoại"));
    assert!(locked.contains("Cán bộ khóa") && locked.contains("/unlock\""));
    assert_eq!(unlock.status(), 303);
    assert!(unlocked.contains("Đang hoạt động") && unlocked.contains("Cán bộ mở khóa"));
    assert!(unlocked.contains("Chủ tài khoản đến trụ sở xác minh"));
    assert!(
        unlocked.find("Cán bộ mở khóa") < unlocked.find("Cán bộ khóa"),
        "newest first"
    );
    assert_eq!(person_status, 200);
    assert!(person.contains(&format!("href=\"/accounts/{}\"", p.id)));
    assert_eq!(outside, 403);
}

#[test]
fn the_device_registry_registers_suspends_and_is_read_only_for_a_commune_officer() {
    let f = fixture();
    let huyen = officer(f, &f.huyen);
    let xa = officer(f, &f.xa);
    let (_, public) = new_key();

    let added = huyen.post(
        f,
        "/devices",
        &[
            ("name", "Máy lưu động"),
            ("unit", f.commune.as_str()),
            ("public_key", &public),
            ("daily_capacity", "80"),
        ],
    );
    let bad_key = huyen.post(
        f,
        "/devices",
        &[
            ("name", "Máy hỏng"),
            ("unit", f.commune.as_str()),
            ("public_key", "abcd"),
            ("daily_capacity", "80"),
        ],
    );
    let bad_key_status = bad_key.status();
    let bad_key_page = bad_key.into_string().unwrap();
    let (_, list) = huyen.get(f, "/devices");
    let id = {
        let at = list.find("Máy lưu động").unwrap();
        let form = &list[at..];
        let start = form.find("action=\"/devices/").unwrap() + "action=\"/devices/".len();
        form[start..start + form[start..].find('/').unwrap()].to_owned()
    };
    let suspend = huyen.post(
        f,
        &format!("/devices/{id}/status"),
        &[("status", "suspended")],
    );
    let (_, after) = huyen.get(f, "/devices?done=device_status");
    let by_commune = xa.post(f, &format!("/devices/{id}/status"), &[("status", "active")]);
    let (_, seen_by_commune) = xa.get(f, "/devices");

    assert_eq!(added.status(), 303);
    assert_eq!(bad_key_status, 400);
    assert!(bad_key_page.contains("64 chữ số hex") && bad_key_page.contains("value=\"Máy hỏng\""));
    assert!(list.contains("Máy lưu động") && list.contains(&public[..16]));
    assert!(list.contains("Máy thu nhận số 1") && list.contains("dev-hash"));
    assert_eq!(suspend.status(), 303);
    let row = &after[after.find("Máy lưu động").unwrap()..];
    assert!(row[..row.find("</tr>").unwrap()].contains("Tạm dừng"));
    assert!(after.contains("Đã cập nhật trạng thái thiết bị."));
    assert_eq!(by_commune.status(), 403);
    assert!(seen_by_commune.contains("Máy lưu động"));
    assert!(
        !seen_by_commune.contains("/status\""),
        "no buttons for a commune officer"
    );
}

#[test]
fn the_pages_speak_english_on_the_switch() {
    let f = fixture();
    let huyen = officer(f, &f.huyen);
    let cookie = format!("{}; lang=en", huyen.cookie);

    let page = call(
        agent()
            .get(&f.url("/applications?state=review"))
            .header("Cookie", &cookie),
    )
    .into_string()
    .unwrap();

    assert!(page.contains("<html lang=\"en\">"));
    assert!(page.contains("Review queue") && page.contains("Face verification"));
    assert!(!page.contains("??"), "every string is translated");
}
