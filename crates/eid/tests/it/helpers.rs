//! The test harness: the shared seeded server over the test kit (`eid::testkit`: stores on the
//! engine `EID_TEST_ENGINE` names, servers on port 0 with a clock, staff of any role), and the
//! HTTP helpers the tests share.

use std::sync::{Arc, OnceLock};

use eid_core::clock::{Clock, SystemClock};
use eid_core::import::{import_generated, ImportOptions, OnError};
use eid_core::store::Role;
use eid_core::{Actor, Store};
use eid_domain::{Level, Person, Tree, UnitCode, Units};
use time::OffsetDateTime;

pub use eid::testkit::{create_user, fresh_store, fresh_url, spawn, temp_dir, TestUser};

/// The current time, by the clock the shared servers run on (the system's).
pub fn now() -> OffsetDateTime {
    SystemClock.now()
}

/// The shared server: one province of generated people and one user of each role.
pub struct TestApp {
    pub base: String,
    pub store: Arc<dyn Store>,
    pub imported: u64,
    pub persons: Vec<Person>,
    pub ministry: TestUser,
    pub province: TestUser,
    pub district: TestUser,
    pub commune: TestUser,
    pub auditor: TestUser,
}

/// The province the tests generate (Kon Tum).
pub const PROVINCE: &str = "62";

pub fn app() -> &'static TestApp {
    static APP: OnceLock<TestApp> = OnceLock::new();
    APP.get_or_init(|| {
        let store = fresh_store("it");
        let today = now().date();
        let province = UnitCode::parse(PROVINCE).unwrap();
        let cfg = eid_gen::GenConfig {
            count: 3000,
            seed: 7,
            province: Some(province),
            today,
        };
        let persons: Vec<Person> = eid_gen::Generator::new(&cfg).unwrap().collect();
        let opts = ImportOptions {
            on_error: OnError::Skip,
            today,
            now: now(),
            actor: Actor::Cli("test".to_owned()),
            reason: "test data".to_owned(),
        };
        let summary = import_generated(store.as_ref(), persons.clone().into_iter(), &opts).unwrap();
        assert!(summary.imported > 2500, "{summary:?}");
        let persons: Vec<Person> = persons
            .into_iter()
            .filter(|p| p.check(today).is_ok())
            .collect();

        // The commune officer's commune is the first person's; their district contains it.
        let commune = persons[0].residence.unit;
        let units = Units::get();
        let district = units
            .ancestors(Tree::Gso2024, &commune)
            .into_iter()
            .find(|u| u.level == Level::District)
            .unwrap()
            .code;
        let app = TestApp {
            base: String::new(),
            imported: summary.imported,
            ministry: create_user(store.as_ref(), "bo", Role::Ministry, UnitCode::NATION),
            province: create_user(store.as_ref(), "tinh", Role::Province, province),
            district: create_user(store.as_ref(), "huyen", Role::District, district),
            commune: create_user(store.as_ref(), "xa", Role::Commune, commune),
            auditor: create_user(store.as_ref(), "kiemtra", Role::Auditor, UnitCode::NATION),
            persons,
            store: Arc::clone(&store),
        };
        TestApp {
            base: spawn(store),
            ..app
        }
    })
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// A person living in the commune officer's commune.
    pub fn local_person(&self) -> &Person {
        self.persons
            .iter()
            .find(|p| p.residence.unit == self.commune.unit)
            .unwrap()
    }

    /// A person of the province living outside the commune officer's district.
    pub fn far_person(&self) -> &Person {
        let units = Units::get();
        self.persons
            .iter()
            .find(|p| !units.contains(Tree::Gso2024, &self.district.unit, &p.residence.unit))
            .unwrap()
    }
}

/// An agent that does not follow redirects, so tests see them, and treats every status as an
/// answer, so tests read 4xx and 5xx bodies.
pub fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .max_redirects(0)
        .http_status_as_error(false)
        .proxy(None)
        .build()
        .new_agent()
}

/// A request ready to go: `call` sends a GET as it is and a POST with an empty body.
pub trait Call {
    fn go(self) -> Result<ureq::http::Response<ureq::Body>, ureq::Error>;
}

impl Call for ureq::RequestBuilder<ureq::typestate::WithoutBody> {
    fn go(self) -> Result<ureq::http::Response<ureq::Body>, ureq::Error> {
        self.call()
    }
}

impl Call for ureq::RequestBuilder<ureq::typestate::WithBody> {
    fn go(self) -> Result<ureq::http::Response<ureq::Body>, ureq::Error> {
        self.send_empty()
    }
}

/// A request that carries a body (POST, PUT, …).
pub type WithBody = ureq::RequestBuilder<ureq::typestate::WithBody>;

/// A response read whole: status, headers and body.
pub struct Reply {
    status: u16,
    headers: ureq::http::HeaderMap,
    body: Vec<u8>,
}

impl Reply {
    fn read(r: Result<ureq::http::Response<ureq::Body>, ureq::Error>) -> Reply {
        let (parts, body) = match r {
            Ok(r) => r.into_parts(),
            Err(e) => panic!("transport error: {e}"),
        };
        let mut bytes = Vec::new();
        std::io::Read::read_to_end(&mut body.into_reader(), &mut bytes).unwrap();
        Reply {
            status: parts.status.as_u16(),
            headers: parts.headers,
            body: bytes,
        }
    }

    pub fn status(&self) -> u16 {
        self.status
    }

    /// The first value of header `name`.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// Every value of header `name`.
    pub fn all(&self, name: &str) -> Vec<&str> {
        self.headers
            .get_all(name)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .collect()
    }

    pub fn into_string(self) -> Result<String, std::string::FromUtf8Error> {
        String::from_utf8(self.body)
    }

    pub fn into_json<T: serde::de::DeserializeOwned>(self) -> serde_json::Result<T> {
        serde_json::from_slice(&self.body)
    }

    pub fn into_bytes(self) -> Vec<u8> {
        self.body
    }
}

/// Sends a request and returns the response whatever its status.
pub fn call(req: impl Call) -> Reply {
    Reply::read(req.go())
}

/// Posts a form and returns the response whatever its status.
pub fn post_form(req: WithBody, form: &[(&str, &str)]) -> Reply {
    Reply::read(req.send_form(form.iter().copied()))
}

/// Posts a JSON body and returns the response whatever its status.
pub fn send_json(req: WithBody, body: impl serde::Serialize) -> Reply {
    Reply::read(req.send_json(body))
}

/// Posts raw bytes (with whatever `Content-Type` the request carries) and returns the response.
pub fn send_bytes(req: WithBody, body: &[u8]) -> Reply {
    Reply::read(req.send(body))
}

/// GET `path` with a bearer token; returns status and JSON body.
pub fn get_json(base: &str, path: &str, token: &str) -> (u16, serde_json::Value) {
    let r = call(
        agent()
            .get(&format!("{base}{path}"))
            .header("Authorization", &format!("Bearer {token}")),
    );
    let status = r.status();
    let body = r.into_string().unwrap();
    (
        status,
        serde_json::from_str(&body).unwrap_or(serde_json::Value::String(body)),
    )
}

/// The value of cookie `name` among a response's `Set-Cookie` headers, with its attributes.
pub fn set_cookie(r: &Reply, name: &str) -> Option<String> {
    r.all("set-cookie")
        .into_iter()
        .find(|c| c.starts_with(&format!("{name}=")))
        .map(str::to_owned)
}

/// The value part of a `Set-Cookie` header.
pub fn cookie_value(set_cookie: &str) -> String {
    set_cookie
        .split(';')
        .next()
        .unwrap()
        .split_once('=')
        .unwrap()
        .1
        .to_owned()
}

/// The value of the first hidden `csrf` input of a page.
pub fn csrf_field(html: &str) -> String {
    let at = html.find("name=\"csrf\" value=\"").expect("a csrf field");
    let rest = &html[at + "name=\"csrf\" value=\"".len()..];
    rest[..rest.find('"').unwrap()].to_owned()
}

/// Signs in through the console form; returns the final response of the POST.
pub fn sign_in(base: &str, username: &str, password: &str) -> Reply {
    let form = call(agent().get(&format!("{base}/login")));
    let login_cookie = cookie_value(&set_cookie(&form, "eid_login_csrf").unwrap());
    let csrf = csrf_field(&form.into_string().unwrap());
    post_form(
        agent()
            .post(&format!("{base}/login"))
            .header("Cookie", &format!("eid_login_csrf={login_cookie}")),
        &[
            ("username", username),
            ("password", password),
            ("csrf", &csrf),
        ],
    )
}
