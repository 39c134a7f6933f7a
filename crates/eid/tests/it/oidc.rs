//! The OpenID Connect provider over HTTP: discovery, JWKS, PAR, authorize and its refusals
//! (each with the error the specifications give, none telling whether a person exists). The
//! token endpoint, userinfo, refresh and rotation are in `oidc_tokens`.
//!
//! Each test has its own server on a manual clock over a fresh store with a few generated
//! people and two clients: `bank` (private_key_jwt, ES256 ID tokens, PAR required, DPoP not
//! required) and `portal` (client_secret_basic, RS256 ID tokens).

use std::sync::Arc;

use eid_core::clock::ManualClock;
use eid_core::import::{import_generated, ImportOptions, OnError};
use eid_core::oidc::clients::{self, AuthMethod, NewClient};
use eid_core::oidc::jose::{self, Alg, SigningKey};
use eid_core::oidc::{grant, request, Session, ACR_LOA1, ACR_LOA2};
use eid_core::store::{Role, Staff};
use eid_core::{Acting, Actor, Caller, Store};
use eid_domain::{Person, UnitCode};
use serde_json::{json, Value};

use crate::helpers::{agent, call, now, post_form, Reply};

pub const BANK_CB: &str = "http://127.0.0.1:9/cb";
pub const PORTAL_CB: &str = "https://portal.example.vn/cb";

pub struct Op {
    pub base: String,
    pub store: Arc<dyn Store>,
    pub clock: Arc<ManualClock>,
    pub bank_key: SigningKey,
    pub portal_secret: String,
    pub person: Person,
    /// The server's key-encryption key file.
    pub kek_file: std::path::PathBuf,
}

pub fn ministry() -> Acting {
    let staff = Staff {
        id: 1,
        username: "bo".into(),
        display_name: "Bộ".into(),
        role: Role::Ministry,
        unit: UnitCode::NATION,
        disabled: false,
    };
    Acting::new(
        Caller {
            staff,
            actor: Actor::Staff(1),
        },
        "test",
        now(),
    )
}

pub fn setup(label: &str) -> Op {
    setup_with(label, |_| {})
}

/// [`setup`] with the server's configuration changed by `configure` first.
pub fn setup_with(label: &str, configure: impl FnOnce(&mut eid::Config)) -> Op {
    let store = crate::helpers::fresh_store(label);
    let today = now().date();
    let cfg = eid_gen::GenConfig {
        count: 30,
        seed: 11,
        province: Some(UnitCode::parse("62").unwrap()),
        today,
    };
    let persons: Vec<Person> = eid_gen::Generator::new(&cfg)
        .unwrap()
        .filter(|p| p.check(today).is_ok())
        .collect();
    let opts = ImportOptions {
        on_error: OnError::Skip,
        today,
        now: now(),
        actor: Actor::Cli("test".to_owned()),
        reason: "test data".to_owned(),
    };
    import_generated(store.as_ref(), persons.clone().into_iter(), &opts).unwrap();
    let bank_key = SigningKey::generate("bank-1", Alg::Es256).unwrap();
    let mut jwk = bank_key.public_jwk().unwrap();
    jwk["kid"] = json!("bank-1");
    let m = ministry();
    clients::add(
        store.as_ref(),
        &m,
        &NewClient {
            client_id: Some("bank".into()),
            name_vi: "Ngân hàng Thử".into(),
            name_en: "Test Bank".into(),
            logo_uri: None,
            redirect_uris: vec![BANK_CB.into()],
            post_logout_redirect_uris: vec!["http://127.0.0.1:9/bye".into()],
            backchannel_logout_uri: None,
            scopes: ["profile", "birthdate", "vn_personal_id", "offline_access"]
                .map(String::from)
                .to_vec(),
            acr_values: vec![ACR_LOA1.into(), ACR_LOA2.into()],
            id_token_alg: Alg::Es256,
            auth_method: AuthMethod::PrivateKeyJwt,
            jwks: Some(json!({ "keys": [jwk] })),
            require_par: true,
            sector_identifier: Some("bank.example.vn".into()),
            dpop_bound: false,
        },
    )
    .unwrap();
    let (_, secret) = clients::add(
        store.as_ref(),
        &m,
        &NewClient {
            client_id: Some("portal".into()),
            name_vi: "Cổng thử".into(),
            name_en: "Test portal".into(),
            logo_uri: None,
            redirect_uris: vec![PORTAL_CB.into()],
            post_logout_redirect_uris: vec![],
            backchannel_logout_uri: None,
            scopes: ["profile", "address", "offline_access"]
                .map(String::from)
                .to_vec(),
            acr_values: vec![ACR_LOA1.into()],
            id_token_alg: Alg::Rs256,
            auth_method: AuthMethod::ClientSecretBasic,
            jwks: None,
            require_par: false,
            sector_identifier: None,
            dpop_bound: false,
        },
    )
    .unwrap();
    let clock = Arc::new(ManualClock::new(now()));
    let kek_file = crate::helpers::temp_dir(label).join("oidc.key");
    let mut config = eid::testkit::test_config();
    config.oidc.key_file = Some(kek_file.display().to_string());
    configure(&mut config);
    let base = eid::testkit::spawn_with(Arc::clone(&store), config, clock.clone()).base;
    Op {
        base,
        store,
        clock,
        bank_key,
        portal_secret: secret.unwrap(),
        person: persons[0].clone(),
        kek_file,
    }
}

impl Op {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// A fresh client assertion of `bank` for audience `aud`.
    pub fn assertion(&self, aud: &str) -> String {
        let t = self.clock_now();
        self.bank_key
            .sign_jwt(
                "JWT",
                &json!({"iss": "bank", "sub": "bank", "aud": aud, "iat": t, "exp": t + 60,
                        "jti": eid_core::secret::random_token()}),
            )
            .unwrap()
    }

    pub fn clock_now_dt(&self) -> time::OffsetDateTime {
        use eid_core::clock::Clock;
        self.clock.now()
    }

    pub fn clock_now(&self) -> i64 {
        use eid_core::clock::Clock;
        self.clock.now().unix_timestamp()
    }

    /// A code issued straight through the core for a signed-in citizen at `level` (the citizen
    /// pages' sign-in is tested with them); returns (code, verifier).
    pub fn code(&self, client: &str, scope: &str, level: u8) -> (String, String) {
        use eid_core::clock::Clock;
        let c = clients::get(self.store.as_ref(), client).unwrap().unwrap();
        let verifier = eid_core::secret::random_token();
        let redirect = c.redirect_uris[0].clone();
        let p: request::Params = [
            ("response_type", "code"),
            ("client_id", client),
            ("redirect_uri", redirect.as_str()),
            ("scope", scope),
            (
                "code_challenge",
                jose::sha256_b64(verifier.as_bytes()).as_str(),
            ),
            ("code_challenge_method", "S256"),
            ("nonce", "n-0S6"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
        let t = self.clock.now();
        let req = request::validate(&c, &p, t).unwrap();
        let session = Session {
            sid: "sid-1".into(),
            personal_id: self.person.id.as_str().to_owned(),
            level,
            auth_time: t,
            amr: vec!["pwd".into()],
        };
        let kek = eid_core::oidc::keys::Kek::load_or_create(&self.kek_file).unwrap();
        let code = grant::issue_code(self.store.as_ref(), &kek, &req, &session, true, t).unwrap();
        (code, verifier)
    }
}

pub fn pct(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

pub fn json(r: Reply) -> (u16, Value) {
    let s = r.status();
    (s, r.into_json().unwrap_or(Value::Null))
}

fn authorize(op: &Op, q: &[(&str, &str)]) -> Reply {
    let mut req = agent().get(&op.url("/oauth2/authorize"));
    for (k, v) in q {
        req = req.query(*k, *v);
    }
    call(req)
}

fn good_query<'a>(
    client: &'a str,
    redirect: &'a str,
    challenge: &'a str,
) -> Vec<(&'a str, &'a str)> {
    vec![
        ("response_type", "code"),
        ("client_id", client),
        ("redirect_uri", redirect),
        ("scope", "openid profile"),
        ("state", "st-1"),
        ("nonce", "n-1"),
        ("code_challenge", challenge),
        ("code_challenge_method", "S256"),
    ]
}

/// The query of a redirect's `Location` as pairs.
pub fn location_query(r: &Reply) -> Vec<(String, String)> {
    let loc = r.header("location").unwrap_or("");
    let q = loc.split_once('?').map_or("", |x| x.1);
    q.split('&')
        .filter_map(|kv| kv.split_once('='))
        .map(|(k, v)| (k.to_owned(), pct_decode(v)))
        .collect()
}

pub fn pct_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' && i + 2 < b.len() + 1 {
            out.push(u8::from_str_radix(&s[i + 1..i + 3], 16).unwrap());
            i += 3;
        } else {
            out.push(if b[i] == b'+' { b' ' } else { b[i] });
            i += 1;
        }
    }
    String::from_utf8(out).unwrap()
}

fn get<'a>(q: &'a [(String, String)], k: &str) -> Option<&'a str> {
    q.iter().find(|(a, _)| a == k).map(|(_, v)| v.as_str())
}

#[test]
fn discovery_names_the_endpoints_and_jwks_publishes_next_and_current_keys() {
    let op = setup("oidc-discovery");
    let (s, d) = json(call(
        agent().get(&op.url("/.well-known/openid-configuration")),
    ));
    assert_eq!(s, 200);
    assert_eq!(d["issuer"], op.base.as_str());
    assert_eq!(d["token_endpoint"], op.url("/oauth2/token").as_str());
    assert_eq!(
        d["pushed_authorization_request_endpoint"],
        op.url("/oauth2/par").as_str()
    );
    assert_eq!(d["code_challenge_methods_supported"], json!(["S256"]));
    assert_eq!(d["subject_types_supported"], json!(["pairwise"]));
    assert_eq!(
        d["authorization_response_iss_parameter_supported"],
        json!(true)
    );
    assert!(d["id_token_signing_alg_values_supported"]
        .as_array()
        .unwrap()
        .contains(&json!("RS256")));
    let (s, jwks) = json(call(agent().get(&op.url("/oauth2/jwks"))));
    assert_eq!(s, 200);
    let keys = jwks["keys"].as_array().unwrap();
    assert_eq!(keys.len(), 6, "current and next of ES256, RS256 and EdDSA");
    assert!(
        keys.iter()
            .all(|k| k.get("d").is_none() && k.get("p").is_none()),
        "public only"
    );
}

#[test]
fn authorize_refuses_bad_requests_with_a_page_or_a_redirect_as_the_specs_say() {
    let op = setup("oidc-authorize");
    let verifier = eid_core::secret::random_token();
    let challenge = jose::sha256_b64(verifier.as_bytes());

    // Unknown client, unknown redirect: the provider's own page, never a redirect.
    let mut q = good_query("nobody", PORTAL_CB, &challenge);
    let r = authorize(&op, &q);
    assert_eq!(r.status(), 400);
    assert!(r.header("location").is_none());
    q = good_query("portal", "https://evil.example/cb", &challenge);
    let r = authorize(&op, &q);
    assert_eq!(r.status(), 400);
    assert!(r.header("location").is_none());
    let r = authorize(
        &op,
        &good_query("portal", "https://portal.example.vn/cb/extra", &challenge),
    );
    assert_eq!(r.status(), 400, "exact match only");

    // Known client and redirect: back to the client with the error, the state and iss.
    let back = |q: Vec<(&str, &str)>, error: &str| {
        let r = authorize(&op, &q);
        assert_eq!(r.status(), 303, "{error}");
        let loc = r.header("location").unwrap().to_owned();
        assert!(loc.starts_with(PORTAL_CB), "{loc}");
        let lq = location_query(&r);
        assert_eq!(get(&lq, "error"), Some(error), "{loc}");
        assert_eq!(get(&lq, "state"), Some("st-1"));
        assert_eq!(get(&lq, "iss"), Some(op.base.as_str()));
    };
    let mut q = good_query("portal", PORTAL_CB, &challenge);
    q[3] = ("scope", "openid profile vn_personal_id");
    back(q, "invalid_scope");
    let mut q = good_query("portal", PORTAL_CB, &challenge);
    q[3] = ("scope", "profile");
    back(q, "invalid_scope");
    let q: Vec<_> = good_query("portal", PORTAL_CB, &challenge)
        .into_iter()
        .filter(|(k, _)| *k != "code_challenge")
        .collect();
    back(q, "invalid_request");
    let mut q = good_query("portal", PORTAL_CB, &challenge);
    q[7] = ("code_challenge_method", "plain");
    back(q, "invalid_request");
    let mut q = good_query("portal", PORTAL_CB, &challenge);
    q.push(("acr_values", ACR_LOA2));
    back(q, "invalid_request");
    let mut q = good_query("portal", PORTAL_CB, &challenge);
    q[0] = ("response_type", "token");
    back(q, "unsupported_response_type");
    let mut q = good_query("portal", PORTAL_CB, &challenge);
    q.push(("prompt", "none"));
    back(q, "login_required");

    // PAR required for the bank: by value is refused at its redirect URI.
    let r = authorize(&op, &good_query("bank", BANK_CB, &challenge));
    assert_eq!(r.status(), 303);
    assert!(r.header("location").unwrap().starts_with(BANK_CB));
    assert_eq!(get(&location_query(&r), "error"), Some("invalid_request"));

    // A good request goes to sign in, then back to the waiting request; a login_hint naming a
    // person or nobody answers alike (hints of one length: the waiting request is sealed in
    // its handle, whose length follows what the client sent, never who exists).
    let mut answers = Vec::new();
    for hint in [op.person.id.as_str(), "001099999999", "not-an-id-00"] {
        let mut q = good_query("portal", PORTAL_CB, &challenge);
        q.push(("login_hint", hint));
        let r = authorize(&op, &q);
        assert_eq!(r.status(), 303);
        let loc = r.header("location").unwrap().to_owned();
        assert!(
            loc.starts_with("/me/signin?next=%2Foauth2%2Fresume%3Frid%3D"),
            "{loc}"
        );
        answers.push((r.status(), loc.len()));
    }
    assert!(answers.windows(2).all(|w| w[0] == w[1]), "{answers:?}");
    // The waiting request resumes (to sign-in again, with no session); an unknown one is a page.
    let r = call(agent().get(&op.url("/oauth2/resume?rid=00")));
    assert_eq!(r.status(), 400);
}

#[test]
fn par_authenticates_the_client_and_its_request_uri_is_single_use_and_short_lived() {
    let op = setup("oidc-par");
    let verifier = eid_core::secret::random_token();
    let challenge = jose::sha256_b64(verifier.as_bytes());
    let par = |assertion: &str, extra: &[(&str, &str)]| {
        let mut form = vec![
            ("client_id", "bank"),
            (
                "client_assertion_type",
                "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
            ),
            ("client_assertion", assertion),
            ("response_type", "code"),
            ("redirect_uri", BANK_CB),
            ("scope", "openid profile"),
            ("code_challenge", &challenge),
            ("code_challenge_method", "S256"),
            ("state", "s-par"),
        ];
        form.extend_from_slice(extra);
        json(post_form(agent().post(&op.url("/oauth2/par")), &form))
    };
    let a = op.assertion(&op.base);
    let (s, body) = par(&a, &[]);
    assert_eq!(s, 201, "{body}");
    assert_eq!(body["expires_in"], 60);
    let uri = body["request_uri"].as_str().unwrap().to_owned();
    assert!(uri.starts_with("urn:ietf:params:oauth:request_uri:"));

    // The same assertion again: its jti is spent.
    let (s, body) = par(&a, &[]);
    assert_eq!((s, body["error"].as_str()), (401, Some("invalid_client")));
    // A tampered assertion, and one for another audience.
    let mut t = op.assertion(&op.base);
    t.push('A');
    let (s, body) = par(&t, &[]);
    assert_eq!((s, body["error"].as_str()), (401, Some("invalid_client")));
    let (s, body) = par(&op.assertion("https://elsewhere.example"), &[]);
    assert_eq!((s, body["error"].as_str()), (401, Some("invalid_client")));
    // Over-asking in a pushed request.
    let (s, body) = par(
        &op.assertion(&op.base),
        &[("acr_values", "urn:eid:vn:loa:3")],
    );
    assert_eq!((s, body["error"].as_str()), (400, Some("invalid_request")));

    let use_uri = |uri: &str| {
        call(
            agent()
                .get(&op.url("/oauth2/authorize"))
                .query("client_id", "bank")
                .query("request_uri", uri),
        )
    };
    let r = use_uri(&uri);
    assert_eq!(r.status(), 303);
    assert!(r.header("location").unwrap().starts_with("/me/signin?"));
    let r = use_uri(&uri);
    assert_eq!(r.status(), 400, "single use");
    assert!(r.header("location").is_none());

    // Past 60 seconds a pushed request is gone.
    let (s, body) = par(&op.assertion(&op.base), &[]);
    assert_eq!(s, 201);
    op.clock.advance(time::Duration::seconds(61));
    let r = use_uri(body["request_uri"].as_str().unwrap());
    assert_eq!(r.status(), 400);
    assert!(r.into_string().unwrap().contains("invalid_request_uri"));

    // Unknown clients are not authenticated.
    let r = post_form(
        agent()
            .post(&op.url("/oauth2/par"))
            .header("authorization", "Basic bm9ib2R5Om5vdGhpbmc="),
        &[("response_type", "code")],
    );
    assert_eq!(json(r).1["error"], "invalid_client");

    // Each failed client authentication is in the audit trail, with the client id it claimed.
    let log = op.store.audit_log(100).unwrap();
    let failed: Vec<&str> = log
        .iter()
        .filter(|e| e.action == "oidc.client_auth" && e.outcome == "failed")
        .map(|e| e.target.as_str())
        .collect();
    assert_eq!(
        failed.iter().filter(|t| **t == "bank").count(),
        3,
        "{failed:?}"
    );
    assert!(failed.contains(&"nobody"), "{failed:?}");
}

/// `eid migrate` makes the signing keys: a new database's JWKS exists before any request, so
/// no request pays for generating them; a second migrate adds none.
#[test]
fn migrate_makes_the_signing_keys_before_any_request() {
    let db = crate::helpers::fresh_url(eid_core::testkit::Engine::from_env(), "oidc-migrate");
    let dir = crate::helpers::temp_dir("oidc-migrate-kek");
    let kek_file = dir.join("kek");
    let config = dir.join("eid.toml");
    std::fs::write(
        &config,
        format!("[oidc]\nkey_file = \"{}\"\n", kek_file.display()),
    )
    .unwrap();
    let migrate = || {
        let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_eid"));
        cmd.args([
            "--config",
            &config.display().to_string(),
            "--db",
            &db,
            "migrate",
        ]);
        for (k, _) in std::env::vars().filter(|(k, _)| k.starts_with("EID_")) {
            cmd.env_remove(k);
        }
        let o = cmd.output().unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        String::from_utf8_lossy(&o.stdout).into_owned()
    };

    let first = migrate();

    assert!(first.contains("signing keys made"), "{first}");
    assert!(kek_file.exists());
    let store = eid_core::open(&db).unwrap();
    let published = eid_core::oidc::keys::jwks(store.as_ref()).unwrap();
    let keys = published["keys"].as_array().unwrap();
    for alg in ["ES256", "RS256", "EdDSA"] {
        assert_eq!(
            keys.iter().filter(|k| k["alg"] == alg).count(),
            2,
            "a current and a next {alg} key in {published}"
        );
    }
    let kids = eid_core::oidc::keys::current_kids(store.as_ref()).unwrap();
    assert_eq!(kids.len(), 3, "{kids:?}");
    let kek = eid_core::oidc::keys::Kek::load_or_create(&kek_file).unwrap();
    assert!(eid_core::oidc::keys::signing_keys(store.as_ref(), &kek).is_ok());

    let second = migrate();

    assert!(!second.contains("signing keys made"), "{second}");
    assert_eq!(
        eid_core::oidc::keys::jwks(store.as_ref()).unwrap()["keys"]
            .as_array()
            .unwrap()
            .len(),
        keys.len()
    );
}
