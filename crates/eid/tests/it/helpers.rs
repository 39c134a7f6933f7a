//! The test harness: a seeded database, staff of every role with tokens and passwords, and the
//! server running on its own thread and runtime.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, OnceLock};

use eid::Config;
use eid_core::import::{import_generated, ImportOptions, OnError};
use eid_core::secret::{hash_password, random_token, token_hash};
use eid_core::store::{NewStaff, Role};
use eid_core::{Actor, Store};
use eid_domain::{Level, Person, Tree, UnitCode, Units};
use time::OffsetDateTime;

/// A fresh, empty folder under the system's temporary folder.
pub fn temp_dir(label: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("eid-test-{label}-{}", &random_token()[..12]));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A fresh, migrated store: PostgreSQL in a new schema when `EID_TEST_DATABASE_URL` is set,
/// SQLite in a temporary folder otherwise.
pub fn fresh_store(label: &str) -> Arc<dyn Store> {
    let store: Arc<dyn Store> = match std::env::var("EID_TEST_DATABASE_URL") {
        Ok(url) if !url.is_empty() => {
            let schema = format!("eid_test_{}", &random_token()[..12]);
            Arc::new(eid_core::pg::PgStore::connect(&url, Some(&schema)).unwrap())
        }
        _ => {
            let path = temp_dir(label).join("eid.db");
            eid_core::open(&format!("sqlite://{}", path.display())).unwrap()
        }
    };
    store.migrate().unwrap();
    store
}

/// Starts the server over `store` on 127.0.0.1:0 and returns its base URL.
pub fn spawn(store: Arc<dyn Store>) -> String {
    let (tx, rx) = std::sync::mpsc::channel::<SocketAddr>();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            let config = Config {
                listen: SocketAddr::from(([127, 0, 0, 1], 0)),
                development: true,
                ..Config::default()
            };
            let (app, addr) = eid::Application::with_store(config, store).await.unwrap();
            tx.send(addr).unwrap();
            app.run_until_stopped().await.unwrap();
        });
    });
    let addr = rx.recv().unwrap();
    format!("http://{addr}")
}

/// A staff account made for the tests.
pub struct TestUser {
    pub id: i64,
    pub username: String,
    pub password: String,
    pub token: String,
    pub unit: UnitCode,
}

pub fn create_user(store: &dyn Store, username: &str, role: Role, unit: UnitCode) -> TestUser {
    let password = format!("Mật-khẩu-{}-A1", &random_token()[..8]);
    let new = NewStaff {
        username: username.to_owned(),
        display_name: format!("Cán bộ {username}"),
        role,
        unit,
        password_hash: hash_password(&password).unwrap(),
    };
    let now = OffsetDateTime::now_utc();
    let id = store.create_staff(&new, now).unwrap();
    let token = random_token();
    store
        .create_api_token(id, &format!("test {username}"), &token_hash(&token), now)
        .unwrap();
    TestUser {
        id,
        username: username.to_owned(),
        password,
        token,
        unit,
    }
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
        let today = OffsetDateTime::now_utc().date();
        let province = UnitCode::parse(PROVINCE).unwrap();
        let cfg = eid_core::gen::GenConfig {
            count: 3000,
            seed: 7,
            province: Some(province),
            today,
        };
        let persons: Vec<Person> = eid_core::gen::Generator::new(&cfg).unwrap().collect();
        let opts = ImportOptions {
            on_error: OnError::Skip,
            today,
            now: OffsetDateTime::now_utc(),
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
