//! The citizen's pages (`/me`) over real HTTP with a cookie jar: registration, sign-in on a
//! new browser with the code from the bound phone, the passcode step-up, the form token, the
//! `next` rule, a locked account's session, and the refusal pages.

use std::collections::BTreeMap;
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
use time::Date;

mod account;
mod wallet;

use crate::helpers::{
    agent, call, create_user, fresh_store, post_form, send_json, Reply, TestUser,
};

const PASSWORD: &str = "Mật-khẩu-Mạnh-2026";
const PASSCODE: &str = "246810";
const APP_DEVICE: &str = "app-device-0001";

struct World {
    base: String,
    store: Arc<dyn Store>,
    bo: TestUser,
    xa: TestUser,
    commune: UnitCode,
    serial: std::cell::Cell<u32>,
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
        let base = eid::testkit::spawn(Arc::clone(&store));
        World {
            base,
            store,
            bo,
            xa,
            commune,
            serial: std::cell::Cell::new(1),
        }
    }

    /// A new adult of the commune with a card issued on `card`, in the register.
    fn person(&self, card: Date) -> Person {
        self.person_born(date!(1990 - 03 - 15), Some(card))
    }

    /// A new person of the commune born on `born`, in the register.
    fn person_born(&self, born: Date, card: Option<Date>) -> Person {
        let n = self.serial.get();
        self.serial.set(n + 1);
        let p = Person {
            id: PersonalId::from_parts(62, Sex::Female, born.year(), n).unwrap(),
            name: PersonName::parse("Nguyễn", "Thị", "Hoa").unwrap(),
            birth: BirthDate::Full(born),
            sex: Sex::Female,
            hometown: None,
            residence: Residence {
                unit: self.commune,
                address: format!("Thôn {n}"),
            },
            temporary: None,
            household: None,
            phone: Some(PhoneNumber::parse(&format!("0912{n:06}")).unwrap()),
            phone_type: PhoneType::Smartphone,
            life: LifeStatus::ALIVE,
            card: card.map(|issued| Card {
                issued,
                revoked: false,
            }),
        };
        let mut w = self
            .store
            .writer(&Actor::Cli("test".into()), "test", crate::helpers::now())
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
        let status = r.status();
        (status, r.into_json().unwrap_or(Value::Null))
    }

    /// The code of the newest SMS to `p`'s phone for `purpose`, from the development outbox.
    fn code(&self, p: &Person, purpose: &str) -> String {
        self.code_to(p.phone.as_ref().unwrap().as_str(), purpose)
    }

    /// The code of the newest SMS to `phone` (E.164) for `purpose`.
    fn code_to(&self, phone: &str, purpose: &str) -> String {
        let r = call(
            agent()
                .get(&format!("{}/api/v1/sms?limit=500", self.base))
                .header("Authorization", &format!("Bearer {}", self.bo.token)),
        );
        let body: Value = r.into_json().unwrap();
        let m = body["messages"]
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["to"] == phone && m["purpose"] == purpose)
            .unwrap_or_else(|| panic!("no {purpose} SMS"))
            .clone();
        six_digits(m["body"].as_str().unwrap())
    }

    /// A level-1 account for `p` through the app API, bound to the app's device.
    fn level1_by_app(&self, p: &Person) {
        let photo = base64::engine::general_purpose::STANDARD
            .encode(eid::verifier::dev_portrait(p.id.as_str()));
        let (s, r) = self.api(
            "/api/v1/app/register",
            None,
            json!({ "personal_id": p.id.as_str(), "phone": p.phone.as_ref().unwrap().national(),
                    "photo_base64": photo, "device_id": APP_DEVICE }),
        );
        assert_eq!(s, 202, "{r}");
        let code = self.code(p, "register");
        let (s, r) = self.api(
            "/api/v1/app/register/confirm",
            None,
            json!({ "handle": r["handle"], "code": code, "password": PASSWORD, "passcode": PASSCODE }),
        );
        assert_eq!(s, 200, "{r}");
    }

    /// An app session of `p` on the app's device.
    fn app_session(&self, p: &Person) -> String {
        let (s, r) = self.api(
            "/api/v1/app/signin",
            None,
            json!({ "personal_id": p.id.as_str(), "password": PASSWORD, "device_id": APP_DEVICE }),
        );
        assert_eq!(s, 200, "{r}");
        r["token"].as_str().unwrap().to_owned()
    }

    /// A level-2 account for `p` (card issued after the self-service cut-off), by the app.
    fn level2_by_app(&self, p: &Person) {
        self.level1_by_app(p);
        let token = self.app_session(p);
        let photo = base64::engine::general_purpose::STANDARD
            .encode(eid::verifier::dev_portrait(p.id.as_str()));
        let (s, r) = self.api(
            "/api/v1/app/upgrade",
            Some(&token),
            json!({ "passcode": PASSCODE, "photo_base64": photo }),
        );
        assert_eq!(s, 200, "{r}");
        assert_eq!(r["account"]["level"], 2);
    }
}

fn six_digits(body: &str) -> String {
    body.split(|c: char| !c.is_ascii_digit())
        .find(|w| w.len() == 6)
        .unwrap()
        .to_owned()
}

/// A browser: a cookie jar over the test agent (no redirects followed).
struct Browser {
    base: String,
    jar: BTreeMap<String, String>,
}

impl Browser {
    fn new(base: &str) -> Browser {
        Browser {
            base: base.to_owned(),
            jar: BTreeMap::new(),
        }
    }

    fn cookie_header(&self) -> String {
        self.jar
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    fn keep(&mut self, r: &Reply) {
        for c in r.all("set-cookie") {
            let pair = c.split(';').next().unwrap();
            let (k, v) = pair.split_once('=').unwrap();
            if v.is_empty() || c.contains("Max-Age=0") {
                self.jar.remove(k);
            } else {
                self.jar.insert(k.to_owned(), v.to_owned());
            }
        }
    }

    fn get(&mut self, path: &str) -> (u16, String, Option<String>) {
        let mut req = agent().get(&format!("{}{path}", self.base));
        if !self.jar.is_empty() {
            req = req.header("Cookie", &self.cookie_header());
        }
        let r = call(req);
        self.keep(&r);
        let loc = r.header("location").map(str::to_owned);
        (r.status(), r.into_string().unwrap(), loc)
    }

    fn post(&mut self, path: &str, form: &[(&str, &str)]) -> (u16, String, Option<String>) {
        let mut req = agent().post(&format!("{}{path}", self.base));
        if !self.jar.is_empty() {
            req = req.header("Cookie", &self.cookie_header());
        }
        let r = post_form(req, form);
        self.keep(&r);
        let loc = r.header("location").map(str::to_owned);
        (r.status(), r.into_string().unwrap(), loc)
    }

    /// The form token of the page at `path`.
    fn csrf(&mut self, path: &str) -> String {
        let (_, html, _) = self.get(path);
        crate::helpers::csrf_field(&html)
    }

    /// Signs in with the password (`next`, `acr`); answers the POST.
    fn sign_in(
        &mut self,
        p: &Person,
        password: &str,
        next: &str,
        acr: &str,
    ) -> (u16, String, Option<String>) {
        let csrf = self.csrf("/me/signin?fresh=1");
        self.post(
            "/me/signin",
            &[
                ("csrf", &csrf),
                ("personal_id", p.id.as_str()),
                ("password", password),
                ("next", next),
                ("acr", acr),
                ("fresh", "0"),
            ],
        )
    }

    /// Signs in on this new browser with the code sent to the bound phone.
    fn sign_in_new(
        &mut self,
        w: &World,
        p: &Person,
        next: &str,
        acr: &str,
    ) -> (u16, String, Option<String>) {
        let (status, html, _) = self.sign_in(p, PASSWORD, next, acr);
        assert_eq!(status, 202, "a new browser gets the code page: {html}");
        let handle = hidden(&html, "handle");
        let csrf = crate::helpers::csrf_field(&html);
        let code = w.code(p, "device");
        self.post(
            "/me/signin/code",
            &[
                ("csrf", &csrf),
                ("handle", &handle),
                ("code", &code),
                ("next", next),
                ("acr", acr),
                ("fresh", "0"),
            ],
        )
    }
}

/// The value of the hidden input `name` of a page.
fn hidden(html: &str, name: &str) -> String {
    let key = format!("name=\"{name}\" value=\"");
    let at = html
        .find(&key)
        .unwrap_or_else(|| panic!("no {name} field: {html}"));
    let rest = &html[at + key.len()..];
    rest[..rest.find('"').unwrap()].to_owned()
}

/// The visible text of a page (tags, attributes, style and the reference line removed).
fn text(html: &str) -> String {
    let mut out = String::new();
    let mut in_tag = false;
    for c in html.chars() {
        match c {
            '<' => in_tag = true,
            '>' => {
                in_tag = false;
                out.push(' ');
            }
            _ if !in_tag => out.push(c),
            _ => {}
        }
    }
    out
}

#[test]
fn a_new_browser_signs_in_with_the_code_from_the_bound_phone() {
    let w = World::new("me_signin");
    let p = w.person(date!(2023 - 05 - 01));
    w.level1_by_app(&p);
    let mut b = Browser::new(&w.base);

    // The first page sets the device cookie, HttpOnly and SameSite=Lax.
    let r = call(agent().get(&format!("{}/me/signin", w.base)));
    let dev = crate::helpers::set_cookie(&r, "eid_dev").expect("a device cookie");
    assert!(
        dev.contains("HttpOnly") && dev.contains("SameSite=Lax") && dev.contains("Path=/"),
        "{dev}"
    );

    // A wrong password: the form again, in Vietnamese.
    let (status, html, _) = b.sign_in(&p, "sai-mat-khau-99", "/me", "1");
    assert_eq!(status, 401);
    assert!(
        html.contains("Số định danh hoặc mật khẩu không đúng"),
        "{html}"
    );

    // The right one on a browser the account is not bound to: a code to the phone.
    let (status, _, loc) = b.sign_in_new(&w, &p, "/me/events", "1");
    assert_eq!((status, loc.as_deref()), (303, Some("/me/events")));
    assert!(b.jar.contains_key("eid_me"));

    let (status, html, _) = b.get("/me");
    assert_eq!(status, 200, "{html}");
    assert!(html.contains("Mức 1"), "{html}");
    assert!(html.contains("lang=\"vi\""));

    // The session is only good with the device cookie it was opened with.
    let mut thief = Browser::new(&w.base);
    thief.jar.insert("eid_me".into(), b.jar["eid_me"].clone());
    let (status, _, loc) = thief.get("/me");
    assert_eq!(status, 303);
    assert!(loc.unwrap().starts_with("/me/signin?next=%2Fme"));

    // Now bound: the next sign-in on this browser needs no code, and the app's device is not
    // bound any more (the app needs a code now).
    let (status, _, loc) = b.sign_in(&p, PASSWORD, "/me", "1");
    assert_eq!((status, loc.as_deref()), (303, Some("/me")));
    let (s, r) = w.api(
        "/api/v1/app/signin",
        None,
        json!({ "personal_id": p.id.as_str(), "password": PASSWORD, "device_id": APP_DEVICE }),
    );
    assert_eq!(s, 202, "{r}");

    // An address under /me that names no page: a page in the citizen's words, not JSON.
    let (status, html, _) = b.get("/me/khong-co");
    assert_eq!(status, 404);
    assert!(
        html.contains("Không có trang này") && html.contains("1900 0368"),
        "{html}"
    );

    // Sign-out ends the session.
    let (status, html, loc) = b.get("/me");
    assert_eq!(status, 200, "{loc:?} {html}");
    let csrf = crate::helpers::csrf_field(&html);
    let (status, _, loc) = b.post("/me/signout", &[("csrf", &csrf)]);
    assert_eq!((status, loc.as_deref()), (303, Some("/me/signin")));
    let (status, _, _) = b.get("/me");
    assert_eq!(status, 303);
}

#[test]
fn a_foreign_next_is_ignored_and_a_form_without_its_token_is_refused() {
    let w = World::new("me_next");
    let p = w.person(date!(2023 - 05 - 01));
    w.level1_by_app(&p);
    let mut b = Browser::new(&w.base);
    let (status, _, loc) = b.sign_in_new(&w, &p, "//evil.example", "1");
    assert_eq!((status, loc.as_deref()), (303, Some("/me")));
    for bad in [
        "//evil.example/x",
        "https://evil.example",
        "/\\evil.example",
        "/me/../..//evil.example",
    ] {
        let (status, _, loc) = b.sign_in(&p, PASSWORD, bad, "1");
        assert_eq!((status, loc.as_deref()), (303, Some("/me")), "{bad}");
    }

    // The sign-in page with a live session goes straight on, to a local next only.
    let (status, _, loc) = b.get("/me/signin?next=%2F%2Fevil.example&acr=1&fresh=0");
    assert_eq!((status, loc.as_deref()), (303, Some("/me")));
    let (status, _, loc) = b.get("/me/signin?next=%2Fme%2Fevents&acr=1&fresh=0");
    assert_eq!((status, loc.as_deref()), (303, Some("/me/events")));

    // A form with no token, or another browser's token: refused, in Vietnamese.
    let mut other = Browser::new(&w.base);
    let foreign = other.csrf("/me/signin");
    for token in ["", foreign.as_str()] {
        let (status, html, _) = b.post(
            "/me/signin",
            &[
                ("csrf", token),
                ("personal_id", p.id.as_str()),
                ("password", PASSWORD),
            ],
        );
        assert_eq!(status, 403, "{html}");
        assert!(html.contains("Biểu mẫu đã hết hạn"), "{html}");
        assert!(html.contains("1900 0368"));
    }
}

#[test]
fn level_two_is_reached_with_the_passcode_and_a_level_one_account_is_told_to_upgrade() {
    let w = World::new("me_stepup");
    let p2 = w.person(date!(2023 - 05 - 01));
    w.level2_by_app(&p2);
    let mut b = Browser::new(&w.base);
    let (status, _, loc) = b.sign_in_new(&w, &p2, "/me/events", "2");
    assert_eq!(status, 303);
    let loc = loc.unwrap();
    assert!(
        loc.starts_with("/me/signin/passcode?next=%2Fme%2Fevents&acr=2"),
        "{loc}"
    );
    let (status, html, _) = b.get(&loc);
    assert_eq!(status, 200, "{html}");
    let csrf = crate::helpers::csrf_field(&html);
    let (status, html, _) = b.post(
        "/me/signin/passcode",
        &[
            ("csrf", &csrf),
            ("passcode", "111111"),
            ("next", "/me/events"),
            ("acr", "2"),
        ],
    );
    assert_eq!(status, 401);
    assert!(html.contains("Mã khóa không đúng"), "{html}");
    let (status, _, loc) = b.post(
        "/me/signin/passcode",
        &[
            ("csrf", &csrf),
            ("passcode", PASSCODE),
            ("next", "/me/events"),
            ("acr", "2"),
        ],
    );
    assert_eq!((status, loc.as_deref()), (303, Some("/me/events")));
    let (_, html, _) = b.get("/me");
    assert!(html.contains("mã khóa (mức 2)"), "{html}");
    // At level 2 already: asking for level 2 goes straight on.
    let (status, _, loc) = b.get("/me/signin?next=%2Fme&acr=2&fresh=0");
    assert_eq!((status, loc.as_deref()), (303, Some("/me")));
    // `fresh` asks for the password again.
    let (status, html, _) = b.get("/me/signin?next=%2Fme&acr=1&fresh=1");
    assert_eq!(status, 200);
    assert!(html.contains("name=\"fresh\" value=\"1\""));

    // A level-1 account asked for level 2: a page that says how to upgrade.
    let p1 = w.person(date!(2023 - 05 - 01));
    w.level1_by_app(&p1);
    let mut b1 = Browser::new(&w.base);
    let (status, _, loc) = b1.sign_in_new(&w, &p1, "/me", "2");
    assert_eq!(status, 303);
    let (status, html, _) = b1.get(&loc.unwrap());
    assert_eq!(status, 403, "{html}");
    assert!(html.contains("Cần tài khoản định danh mức 2"), "{html}");
    assert!(html.contains("href=\"/me/upgrade\""), "{html}");
}

#[test]
fn a_locked_account_loses_its_session_and_refusals_say_what_to_do() {
    let w = World::new("me_locked");
    let p = w.person(date!(2023 - 05 - 01));
    w.level1_by_app(&p);
    let mut b = Browser::new(&w.base);
    let (status, _, _) = b.sign_in_new(&w, &p, "/me", "1");
    assert_eq!(status, 303);
    assert_eq!(b.get("/me").0, 200);

    // An officer locks the account: the browser's session ends.
    let (s, r) = w.api(
        &format!("/api/v1/accounts/{}/lock", p.id.as_str()),
        Some(&w.xa.token),
        json!({ "reason": "Mất điện thoại, người dân báo" }),
    );
    assert_eq!(s, 200, "{r}");
    let (status, _, loc) = b.get("/me");
    assert_eq!(status, 303);
    assert!(loc.unwrap().starts_with("/me/signin"));

    // Signing in again: the refusal page, in Vietnamese, with what to do and the hotline.
    let (status, html, _) = b.sign_in(&p, PASSWORD, "/me", "1");
    assert_eq!(status, 423, "{html}");
    let t = text(&html);
    assert!(t.contains("Tài khoản đang bị khóa"), "{t}");
    assert!(t.contains("công an xã") && t.contains("1900 0368"), "{t}");
    for english in ["account", "locked", "Sign in", "password"] {
        assert!(
            !t.contains(english),
            "English {english:?} on a Vietnamese page: {t}"
        );
    }

    // Too many wrong passwords: locked out for a while, with the minutes to wait.
    let q = w.person(date!(2023 - 05 - 01));
    w.level1_by_app(&q);
    let mut last = (0, String::new());
    for _ in 0..8 {
        let (status, html, _) = b.sign_in(&q, "sai-mat-khau-99", "/me", "1");
        last = (status, html);
        if status == 429 {
            break;
        }
    }
    assert_eq!(last.0, 429, "{}", last.1);
    let t = text(&last.1);
    assert!(
        t.contains("Tạm khóa do nhập sai nhiều lần") && t.contains("phút"),
        "{t}"
    );
}

impl Browser {
    /// Posts a multipart form (text fields and a `photo` file).
    fn post_multipart(
        &mut self,
        path: &str,
        form: &[(&str, &str)],
        photo: &[u8],
    ) -> (u16, String, Option<String>) {
        let boundary = "----eidtestboundary7d1f";
        let mut body = Vec::new();
        for (k, v) in form {
            body.extend_from_slice(
                format!(
                    "--{boundary}\r\nContent-Disposition: form-data; name=\"{k}\"\r\n\r\n{v}\r\n"
                )
                .as_bytes(),
            );
        }
        body.extend_from_slice(
            format!("--{boundary}\r\nContent-Disposition: form-data; name=\"photo\"; filename=\"me.jpg\"\r\nContent-Type: image/jpeg\r\n\r\n").as_bytes(),
        );
        body.extend_from_slice(photo);
        body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
        let mut req = agent().post(&format!("{}{path}", self.base)).header(
            "Content-Type",
            &format!("multipart/form-data; boundary={boundary}"),
        );
        if !self.jar.is_empty() {
            req = req.header("Cookie", &self.cookie_header());
        }
        let r = crate::helpers::send_bytes(req, &body);
        self.keep(&r);
        let loc = r.header("location").map(str::to_owned);
        (r.status(), r.into_string().unwrap(), loc)
    }
}
