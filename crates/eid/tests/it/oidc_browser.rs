//! The provider with a real browser session: authorize → the citizen pages' sign-in → consent →
//! code → tokens → userinfo; consent reused and forced; a step-up from level 1 to level 2 with
//! the passcode; a level-1 account told how to upgrade; the connected-services page and
//! revocation; RP-initiated logout. Plain HTTP with a cookie jar.

use std::collections::BTreeMap;
use std::sync::Arc;

use base64::Engine as _;
use eid_core::oidc::clients::{self, AuthMethod, NewClient};
use eid_core::oidc::jose::{self, Alg};
use eid_core::oidc::{ACR_LOA1, ACR_LOA2};
use eid_core::store::{Role, Staff};
use eid_core::{Acting, Actor, Caller, Store};
use eid_domain::{
    BirthDate, Card, LifeStatus, Person, PersonName, PersonalId, PhoneNumber, PhoneType, Residence,
    Sex, Tree, UnitCode, Units,
};
use serde_json::{json, Value};
use time::macros::date;

use crate::helpers::{
    agent, call, create_user, fresh_store, now, post_form, send_json, Reply, TestUser,
};
use crate::oidc::location_query;

pub(crate) const PASSWORD: &str = "Mật-khẩu-Mạnh-2026";
pub(crate) const PASSCODE: &str = "246810";
pub(crate) const APP_DEVICE: &str = "app-device-0001";
pub(crate) const CB: &str = "https://portal.example.vn/cb";
pub(crate) const BYE: &str = "https://portal.example.vn/bye";

/// A relying party's back-channel logout endpoint: every request body it receives.
fn logout_listener() -> (String, std::sync::mpsc::Receiver<String>) {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/backchannel", listener.local_addr().unwrap());
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut s) = stream else { return };
            let mut buf = Vec::new();
            let mut chunk = [0u8; 4096];
            loop {
                let n = s.read(&mut chunk).unwrap_or(0);
                if n == 0 {
                    break;
                }
                buf.extend_from_slice(&chunk[..n]);
                let text = String::from_utf8_lossy(&buf).into_owned();
                if let Some(at) = text.find("\r\n\r\n") {
                    let len = text[..at]
                        .lines()
                        .find_map(|l| {
                            l.to_ascii_lowercase()
                                .strip_prefix("content-length:")
                                .map(|v| v.trim().parse::<usize>().unwrap_or(0))
                        })
                        .unwrap_or(0);
                    if buf.len() >= at + 4 + len {
                        let _ = s.write_all(
                            b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\nconnection: close\r\n\r\n",
                        );
                        let _ = tx.send(text[at + 4..at + 4 + len].to_owned());
                        break;
                    }
                }
            }
        }
    });
    (url, rx)
}

pub(crate) struct World {
    pub(crate) logouts: std::sync::mpsc::Receiver<String>,
    pub(crate) base: String,
    pub(crate) bo: TestUser,
    pub(crate) commune: UnitCode,
    pub(crate) store: Arc<dyn Store>,
    pub(crate) secret: String,
    pub(crate) serial: std::cell::Cell<u32>,
}

impl World {
    pub(crate) fn new(label: &str) -> World {
        let store = fresh_store(label);
        let units = Units::get();
        let province = UnitCode::parse("62").unwrap();
        let district = units.children(Tree::Gso2024, &province)[1].code;
        let commune = units.children(Tree::Gso2024, &district)[0].code;
        let bo = create_user(store.as_ref(), "bo", Role::Ministry, UnitCode::NATION);
        let (backchannel, logouts) = logout_listener();
        let staff = Staff {
            id: bo.id,
            username: "bo".into(),
            display_name: "Bộ".into(),
            role: Role::Ministry,
            unit: UnitCode::NATION,
            disabled: false,
        };
        let acting = Acting::new(
            Caller {
                staff,
                actor: Actor::Staff(bo.id),
            },
            "test",
            now(),
        );
        let (_, secret) = clients::add(
            store.as_ref(),
            &acting,
            &NewClient {
                client_id: Some("portal".into()),
                name_vi: "Cổng Dịch vụ công thử".into(),
                name_en: "Test public service portal".into(),
                logo_uri: None,
                redirect_uris: vec![CB.into()],
                post_logout_redirect_uris: vec![BYE.into()],
                backchannel_logout_uri: Some(backchannel),
                scopes: ["profile", "birthdate", "offline_access"]
                    .map(String::from)
                    .to_vec(),
                acr_values: vec![ACR_LOA1.into(), ACR_LOA2.into()],
                id_token_alg: Alg::Es256,
                auth_method: AuthMethod::ClientSecretBasic,
                jwks: None,
                require_par: false,
                sector_identifier: None,
                dpop_bound: false,
            },
        )
        .unwrap();
        let base = eid::testkit::spawn(Arc::clone(&store));
        World {
            logouts,
            base,
            bo,
            commune,
            store,
            secret: secret.unwrap(),
            serial: std::cell::Cell::new(1),
        }
    }

    pub(crate) fn person(&self) -> Person {
        let n = self.serial.get();
        self.serial.set(n + 1);
        let born = date!(1990 - 03 - 15);
        let p = Person {
            id: PersonalId::from_parts(62, Sex::Female, born.year(), 500 + n).unwrap(),
            name: PersonName::parse("Trần", "Thị", "Lan").unwrap(),
            birth: BirthDate::Full(born),
            sex: Sex::Female,
            hometown: None,
            residence: Residence {
                unit: self.commune,
                address: format!("Thôn {n}"),
            },
            temporary: None,
            household: None,
            phone: Some(PhoneNumber::parse(&format!("0913{n:06}")).unwrap()),
            phone_type: PhoneType::Smartphone,
            life: LifeStatus::ALIVE,
            card: Some(Card {
                issued: date!(2023 - 05 - 01),
                revoked: false,
            }),
        };
        let mut w = self
            .store
            .writer(&Actor::Cli("test".into()), "test", now())
            .unwrap();
        w.put(&p).unwrap();
        w.commit().unwrap();
        p
    }

    pub(crate) fn api(&self, path: &str, token: Option<&str>, body: Value) -> (u16, Value) {
        let mut req = agent().post(&format!("{}{path}", self.base));
        if let Some(t) = token {
            req = req.header("Authorization", &format!("Bearer {t}"));
        }
        let r = send_json(req, body);
        let s = r.status();
        (s, r.into_json().unwrap_or(Value::Null))
    }

    pub(crate) fn sms(&self, p: &Person, purpose: &str) -> String {
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

    pub(crate) fn level1(&self, p: &Person) {
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

    pub(crate) fn level2(&self, p: &Person) {
        self.level1(p);
        let (s, r) = self.api(
            "/api/v1/app/signin",
            None,
            json!({ "personal_id": p.id.as_str(), "password": PASSWORD, "device_id": APP_DEVICE }),
        );
        assert_eq!(s, 200, "{r}");
        let photo = base64::engine::general_purpose::STANDARD
            .encode(eid::verifier::dev_portrait(p.id.as_str()));
        let (s, r) = self.api(
            "/api/v1/app/upgrade",
            Some(r["token"].as_str().unwrap()),
            json!({ "passcode": PASSCODE, "photo_base64": photo }),
        );
        assert_eq!(s, 200, "{r}");
    }

    pub(crate) fn token(&self, form: &[(&str, &str)]) -> (u16, Value) {
        let basic =
            base64::engine::general_purpose::STANDARD.encode(format!("portal:{}", self.secret));
        let r = post_form(
            agent()
                .post(&format!("{}/oauth2/token", self.base))
                .header("authorization", &format!("Basic {basic}")),
            form,
        );
        let s = r.status();
        (s, r.into_json().unwrap_or(Value::Null))
    }
}

pub(crate) struct Browser<'a> {
    pub(crate) w: &'a World,
    pub(crate) jar: BTreeMap<String, String>,
}

pub(crate) type Page = (u16, String, Option<String>);

impl<'a> Browser<'a> {
    pub(crate) fn new(w: &'a World) -> Browser<'a> {
        Browser {
            w,
            jar: BTreeMap::new(),
        }
    }

    pub(crate) fn keep(&mut self, r: &Reply) {
        for c in r.all("set-cookie") {
            let (k, v) = c.split(';').next().unwrap().split_once('=').unwrap();
            if v.is_empty() || c.contains("Max-Age=0") {
                self.jar.remove(k);
            } else {
                self.jar.insert(k.to_owned(), v.to_owned());
            }
        }
    }

    pub(crate) fn cookies(&self) -> String {
        self.jar
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    pub(crate) fn get(&mut self, path: &str) -> Page {
        let url = if path.starts_with("http") {
            path.to_owned()
        } else {
            format!("{}{path}", self.w.base)
        };
        let mut req = agent().get(&url);
        if !self.jar.is_empty() {
            req = req.header("Cookie", &self.cookies());
        }
        let r = call(req);
        self.keep(&r);
        let loc = r.header("location").map(str::to_owned);
        (r.status(), r.into_string().unwrap(), loc)
    }

    pub(crate) fn get_reply(&mut self, path: &str) -> Reply {
        let mut req = agent().get(&format!("{}{path}", self.w.base));
        if !self.jar.is_empty() {
            req = req.header("Cookie", &self.cookies());
        }
        let r = call(req);
        self.keep(&r);
        r
    }

    pub(crate) fn post(&mut self, path: &str, form: &[(&str, &str)]) -> Page {
        let mut req = agent().post(&format!("{}{path}", self.w.base));
        if !self.jar.is_empty() {
            req = req.header("Cookie", &self.cookies());
        }
        let r = post_form(req, form);
        self.keep(&r);
        let loc = r.header("location").map(str::to_owned);
        (r.status(), r.into_string().unwrap(), loc)
    }

    /// Signs in on this new browser (password, then the code to the bound phone).
    pub(crate) fn sign_in_new(&mut self, p: &Person, next: &str, acr: &str) -> Page {
        let (_, html, _) = self.get("/me/signin?fresh=1");
        let csrf = crate::helpers::csrf_field(&html);
        let (s, html, _) = self.post(
            "/me/signin",
            &[
                ("csrf", &csrf),
                ("personal_id", p.id.as_str()),
                ("password", PASSWORD),
                ("next", next),
                ("acr", acr),
                ("fresh", "0"),
            ],
        );
        assert_eq!(s, 202, "{html}");
        let handle = hidden(&html, "handle");
        let csrf = crate::helpers::csrf_field(&html);
        let code = self.w.sms(p, "device");
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

pub(crate) fn hidden(html: &str, name: &str) -> String {
    let key = format!("name=\"{name}\" value=\"");
    let at = html
        .find(&key)
        .unwrap_or_else(|| panic!("no {name} field: {html}"));
    let rest = &html[at + key.len()..];
    rest[..rest.find('"').unwrap()].to_owned()
}

pub(crate) fn authorize_path(scope: &str, challenge: &str, extra: &str) -> String {
    format!(
        "/oauth2/authorize?response_type=code&client_id=portal&redirect_uri={}&scope={}&state=st&nonce=nn&code_challenge={challenge}&code_challenge_method=S256{extra}",
        crate::oidc::pct(CB),
        crate::oidc::pct(scope)
    )
}

fn q<'a>(pairs: &'a [(String, String)], k: &str) -> Option<&'a str> {
    pairs.iter().find(|(a, _)| a == k).map(|(_, v)| v.as_str())
}

/// The code from a redirect to the client, checked for state and iss.
pub(crate) fn code_of(r: &Reply, base: &str) -> String {
    assert_eq!(r.status(), 303);
    assert!(
        r.header("location").unwrap().starts_with(CB),
        "{:?}",
        r.header("location")
    );
    let pairs = location_query(r);
    assert_eq!(q(&pairs, "state"), Some("st"));
    assert_eq!(q(&pairs, "iss"), Some(base));
    q(&pairs, "code").expect("a code").to_owned()
}

#[test]
fn a_citizen_signs_in_consents_once_and_the_portal_gets_exactly_the_claims_asked_for() {
    let w = World::new("oidc-browser");
    let p = w.person();
    w.level1(&p);
    let mut b = Browser::new(&w);
    let verifier = eid_core::secret::random_token();
    let challenge = jose::sha256_b64(verifier.as_bytes());
    let path = authorize_path("openid profile offline_access", &challenge, "");

    let (s, _, loc) = b.get(&path);
    assert_eq!(s, 303);
    let loc = loc.unwrap();
    assert!(
        loc.starts_with("/me/signin?next=%2Foauth2%2Fresume%3Frid%3D"),
        "{loc}"
    );
    let next = crate::oidc::pct_decode(
        loc.split("next=")
            .nth(1)
            .unwrap()
            .split('&')
            .next()
            .unwrap(),
    );
    let (s, _, back) = b.sign_in_new(&p, &next, "1");
    assert_eq!((s, back.as_deref()), (303, Some(next.as_str())));

    // The consent page names the portal and exactly what it will receive.
    let (s, html, _) = b.get(&next);
    assert_eq!(s, 200, "{html}");
    assert!(html.contains("Cổng Dịch vụ công thử"), "{html}");
    assert!(html.contains("Họ, chữ đệm và tên"));
    assert!(!html.contains("Ngày sinh"), "birthdate was not asked for");
    assert!(!html.contains("Số định danh cá nhân"));
    let rid = hidden(&html, "rid");
    let csrf = hidden(&html, "csrf");
    let r = {
        let mut req = agent().post(&format!("{}/oauth2/consent", w.base));
        req = req.header("Cookie", &b.cookies());
        post_form(
            req,
            &[("rid", &rid), ("csrf", "forged"), ("decision", "allow")],
        )
    };
    assert_eq!(r.status(), 400, "a forged consent is refused");
    let r = {
        let mut req = agent().post(&format!("{}/oauth2/consent", w.base));
        req = req.header("Cookie", &b.cookies());
        post_form(
            req,
            &[("rid", &rid), ("csrf", &csrf), ("decision", "allow")],
        )
    };
    let code = code_of(&r, &w.base);

    let (s, tok) = w.token(&[
        ("grant_type", "authorization_code"),
        ("code", &code),
        ("redirect_uri", CB),
        ("code_verifier", &verifier),
    ]);
    assert_eq!(s, 200, "{tok}");
    let id = jose::Jws::parse(tok["id_token"].as_str().unwrap())
        .unwrap()
        .claims;
    assert_eq!(id["acr"], ACR_LOA1);
    assert_eq!(id["nonce"], "nn");
    assert!(id["amr"].as_array().unwrap().contains(&json!("pwd")));
    let info = call(agent().get(&format!("{}/oauth2/userinfo", w.base)).header(
        "authorization",
        &format!("Bearer {}", tok["access_token"].as_str().unwrap()),
    ));
    let info: Value = info.into_json().unwrap();
    assert_eq!(info["name"], "Trần Thị Lan");
    assert!(info.get("birthdate").is_none() && info.get("vn_personal_id").is_none());

    // Consent is remembered: straight back with a code. prompt=consent asks again; a refusal
    // goes back as access_denied.
    let code2 = code_of(&b.get_reply(&path), &w.base);
    assert_ne!(code2, code);
    let (s, html, _) = b.get(&format!("{path}&prompt=consent"));
    assert_eq!(s, 200, "{html}");
    let (rid, csrf) = (hidden(&html, "rid"), hidden(&html, "csrf"));
    let (s, _, loc) = b.post(
        "/oauth2/consent",
        &[("rid", &rid), ("csrf", &csrf), ("decision", "deny")],
    );
    assert_eq!(s, 303);
    assert!(loc.unwrap().contains("error=access_denied"));

    // prompt=login asks for the password again; max_age=0 too.
    let (s, _, loc) = b.get(&format!("{path}&prompt=login"));
    assert_eq!(s, 303);
    assert!(loc.unwrap().contains("fresh=1"));

    // A level-1 account asked for level 2: the page says how to upgrade.
    let (s, html, _) = b.get(&format!("{path}&acr_values={}", crate::oidc::pct(ACR_LOA2)));
    assert_eq!(s, 403, "{html}");
    assert!(html.contains("href=\"/me/upgrade\""), "{html}");

    // The connected services: the portal, what it received; revoking ends its refresh token.
    let (s, html, _) = b.get("/me/services");
    assert_eq!(s, 200, "{html}");
    assert!(
        html.contains("Cổng Dịch vụ công thử") && html.contains("họ và tên"),
        "{html}"
    );
    let csrf = hidden(&html, "csrf");
    let (s, _, _) = b.post(
        "/me/services/revoke",
        &[("csrf", &csrf), ("client_id", "portal")],
    );
    assert_eq!(s, 303);
    let (s, r) = w.token(&[
        ("grant_type", "refresh_token"),
        ("refresh_token", tok["refresh_token"].as_str().unwrap()),
    ]);
    assert_eq!((s, r["error"].as_str()), (400, Some("invalid_grant")));
    let (s, html, _) = b.get(&path);
    assert_eq!(s, 200, "consent asked again after revocation: {html}");

    // RP-initiated logout: an unregistered destination is refused; the registered one gets the
    // state back and the browser is signed out.
    let hint = tok["id_token"].as_str().unwrap();
    let (s, _, loc) = b.get(&format!(
        "/oauth2/logout?id_token_hint={hint}&post_logout_redirect_uri={}&state=x",
        crate::oidc::pct("https://evil.example/")
    ));
    assert_eq!((s, loc), (400, None));
    let (s, _, loc) = b.get(&format!(
        "/oauth2/logout?id_token_hint={hint}&post_logout_redirect_uri={}&state=bye-1",
        crate::oidc::pct(BYE)
    ));
    assert_eq!(
        (s, loc.as_deref()),
        (303, Some(format!("{BYE}?state=bye-1").as_str()))
    );
    let (s, _, loc) = b.get("/me");
    assert_eq!(s, 303, "signed out");
    assert!(loc.unwrap().starts_with("/me/signin"));

    // The portal hears of it on its back channel: a logout token for the session it knows.
    let body = w
        .logouts
        .recv_timeout(std::time::Duration::from_secs(10))
        .expect("a back-channel logout");
    let token = crate::oidc::pct_decode(
        body.strip_prefix("logout_token=")
            .expect("a logout_token form"),
    );
    let jws = jose::Jws::parse(&token).unwrap();
    assert_eq!(jws.header["typ"], "logout+jwt");
    let jwks: Value = call(agent().get(&format!("{}/oauth2/jwks", w.base)))
        .into_json()
        .unwrap();
    let key = jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["kid"] == jws.header["kid"])
        .unwrap()
        .clone();
    assert!(jws.verify(&key));
    assert_eq!(jws.claims["aud"], "portal");
    assert_eq!(jws.claims["sid"], id["sid"]);
    assert_eq!(jws.claims["sub"], id["sub"]);
    assert!(jws.claims["events"]
        .get("http://schemas.openid.net/event/backchannel-logout")
        .is_some());
    assert!(jws.claims.get("nonce").is_none());
}

#[test]
fn a_level_two_client_steps_a_level_one_session_up_with_the_passcode() {
    let w = World::new("oidc-stepup");
    let p = w.person();
    w.level2(&p);
    let mut b = Browser::new(&w);
    let (s, _, _) = b.sign_in_new(&p, "/me", "1");
    assert_eq!(s, 303);
    let verifier = eid_core::secret::random_token();
    let challenge = jose::sha256_b64(verifier.as_bytes());
    let path = authorize_path(
        "openid birthdate",
        &challenge,
        &format!("&acr_values={}", crate::oidc::pct(ACR_LOA2)),
    );
    let (s, _, loc) = b.get(&path);
    assert_eq!(s, 303);
    let loc = loc.unwrap();
    assert!(loc.contains("acr=2"), "{loc}");
    let next = crate::oidc::pct_decode(
        loc.split("next=")
            .nth(1)
            .unwrap()
            .split('&')
            .next()
            .unwrap(),
    );
    // The sign-in page sends a level-1 session to the passcode.
    let (s, _, loc) = b.get(&loc);
    assert_eq!(s, 303);
    let (s, html, _) = b.get(&loc.unwrap());
    assert_eq!(s, 200, "{html}");
    let csrf = crate::helpers::csrf_field(&html);
    let (s, _, back) = b.post(
        "/me/signin/passcode",
        &[
            ("csrf", &csrf),
            ("passcode", PASSCODE),
            ("next", &next),
            ("acr", "2"),
        ],
    );
    assert_eq!((s, back.as_deref()), (303, Some(next.as_str())));
    let (s, html, _) = b.get(&next);
    assert_eq!(s, 200, "{html}");
    assert!(
        html.contains("Ngày sinh") && html.contains("Mức 2"),
        "{html}"
    );
    let (rid, csrf) = (hidden(&html, "rid"), hidden(&html, "csrf"));
    let r = {
        let req = agent()
            .post(&format!("{}/oauth2/consent", w.base))
            .header("Cookie", &b.cookies());
        post_form(
            req,
            &[("rid", &rid), ("csrf", &csrf), ("decision", "allow")],
        )
    };
    let code = code_of(&r, &w.base);
    let (s, tok) = w.token(&[
        ("grant_type", "authorization_code"),
        ("code", &code),
        ("redirect_uri", CB),
        ("code_verifier", &verifier),
    ]);
    assert_eq!(s, 200, "{tok}");
    let id = jose::Jws::parse(tok["id_token"].as_str().unwrap())
        .unwrap()
        .claims;
    assert_eq!(id["acr"], ACR_LOA2);
    assert!(
        id["amr"].as_array().unwrap().contains(&json!("pin")),
        "{id}"
    );
}
