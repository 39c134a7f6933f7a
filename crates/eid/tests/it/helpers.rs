//! The test harness: the shared seeded server over the test kit (`eid::testkit`: stores on the
//! engine `EID_TEST_ENGINE` names, servers on port 0 with a clock, staff of every role), and the
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

/// An agent that does not follow redirects, so tests see them.
pub fn agent() -> ureq::Agent {
    ureq::AgentBuilder::new().redirects(0).build()
}

/// Sends a request and returns the response whatever its status.
pub fn call(req: ureq::Request) -> ureq::Response {
    match req.call() {
        Ok(r) | Err(ureq::Error::Status(_, r)) => r,
        Err(e) => panic!("transport error: {e}"),
    }
}

/// Posts a form and returns the response whatever its status.
pub fn post_form(req: ureq::Request, form: &[(&str, &str)]) -> ureq::Response {
    match req.send_form(form) {
        Ok(r) | Err(ureq::Error::Status(_, r)) => r,
        Err(e) => panic!("transport error: {e}"),
    }
}

/// GET `path` with a bearer token; returns status and JSON body.
pub fn get_json(base: &str, path: &str, token: &str) -> (u16, serde_json::Value) {
    let r = call(
        agent()
            .get(&format!("{base}{path}"))
            .set("Authorization", &format!("Bearer {token}")),
    );
    let status = r.status();
    let body = r.into_string().unwrap();
    (
        status,
        serde_json::from_str(&body).unwrap_or(serde_json::Value::String(body)),
    )
}

/// The value of cookie `name` among a response's `Set-Cookie` headers, with its attributes.
pub fn set_cookie(r: &ureq::Response, name: &str) -> Option<String> {
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
pub fn sign_in(base: &str, username: &str, password: &str) -> ureq::Response {
    let form = call(agent().get(&format!("{base}/login")));
    let login_cookie = cookie_value(&set_cookie(&form, "eid_login_csrf").unwrap());
    let csrf = csrf_field(&form.into_string().unwrap());
    post_form(
        agent()
            .post(&format!("{base}/login"))
            .set("Cookie", &format!("eid_login_csrf={login_cookie}")),
        &[
            ("username", username),
            ("password", password),
            ("csrf", &csrf),
        ],
    )
}
