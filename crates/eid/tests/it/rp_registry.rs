//! The relying-party registry: `eid admin client add|list|rotate-secret|disable` and
//! `eid admin keys rotate|list` as a process, and the console pages (ministry level only).

use std::process::{Command, Output};
use std::sync::{Arc, OnceLock};

use eid_core::oidc::clients;
use eid_core::store::Role;
use eid_core::Store;
use eid_domain::UnitCode;

use crate::helpers::{
    agent, call, cookie_value, create_user, csrf_field, fresh_store, post_form, set_cookie,
    sign_in, spawn, temp_dir, Reply, TestUser,
};

fn eid(db: &str, args: &[&str]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_eid"));
    cmd.arg("--db").arg(db).args(args);
    for (k, _) in std::env::vars().filter(|(k, _)| k.starts_with("EID_")) {
        cmd.env_remove(k);
    }
    cmd.output().unwrap()
}

fn out(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn err(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// The value of the `name: value` line of a command's output.
fn field(o: &Output, name: &str) -> Option<String> {
    out(o)
        .lines()
        .find_map(|l| l.strip_prefix(&format!("{name}: ")).map(str::to_owned))
}

fn sqlite_db(tag: &str) -> (String, std::path::PathBuf) {
    let dir = temp_dir(tag);
    (format!("sqlite://{}", dir.join("eid.db").display()), dir)
}

#[test]
fn the_cli_registers_a_client_shows_its_secret_once_rotates_it_and_disables_it() {
    let (db, _dir) = sqlite_db("rp-cli");
    let add = eid(
        &db,
        &[
            "admin",
            "client",
            "add",
            "--client-id",
            "cong-dvc",
            "--name-vi",
            "Cổng Dịch vụ công",
            "--name-en",
            "Public Service Portal",
            "--redirect-uri",
            "https://dichvucong.example.vn/cb",
            "--redirect-uri",
            "http://127.0.0.1:8443/cb",
            "--scopes",
            "openid,profile birthdate",
            "--acr",
            "urn:eid:vn:loa:1 urn:eid:vn:loa:2",
            "--alg",
            "RS256",
        ],
    );
    assert!(add.status.success(), "{}", err(&add));
    assert_eq!(field(&add, "client_id").as_deref(), Some("cong-dvc"));
    let secret = field(&add, "client_secret").expect("the secret is printed");
    assert!(secret.len() >= 32, "{secret}");
    assert_eq!(out(&add).matches(&secret).count(), 1, "printed once");

    let store = eid_core::open(&db).unwrap();
    let c = clients::get(store.as_ref(), "cong-dvc").unwrap().unwrap();
    assert!(
        c.secret_matches(&secret),
        "the printed secret is the stored one"
    );
    assert_eq!(c.scopes, ["openid", "profile", "birthdate"]);
    assert_eq!(c.acr_values, ["urn:eid:vn:loa:1", "urn:eid:vn:loa:2"]);
    assert_eq!(c.id_token_alg.as_str(), "RS256");
    assert_eq!(c.redirect_uris.len(), 2);
    assert_eq!(c.sector_identifier, "dichvucong.example.vn");

    let list = eid(&db, &["admin", "client", "list"]);
    assert!(list.status.success(), "{}", err(&list));
    let row = out(&list)
        .lines()
        .find(|l| l.starts_with("cong-dvc"))
        .unwrap()
        .to_owned();
    assert!(
        row.contains("active") && row.contains("RS256") && row.contains("Cổng Dịch vụ công"),
        "{row}"
    );
    assert!(
        !out(&list).contains(&secret),
        "the list never shows a secret"
    );

    let rotated = eid(&db, &["admin", "client", "rotate-secret", "cong-dvc"]);
    assert!(rotated.status.success(), "{}", err(&rotated));
    let fresh = field(&rotated, "client_secret").unwrap();
    assert_ne!(fresh, secret);
    let c = clients::get(store.as_ref(), "cong-dvc").unwrap().unwrap();
    assert!(c.secret_matches(&fresh) && !c.secret_matches(&secret));

    let disabled = eid(&db, &["admin", "client", "disable", "cong-dvc"]);
    assert!(disabled.status.success(), "{}", err(&disabled));
    assert!(
        clients::get(store.as_ref(), "cong-dvc")
            .unwrap()
            .unwrap()
            .disabled
    );
    let list = eid(&db, &["admin", "client", "list"]);
    assert!(out(&list)
        .lines()
        .any(|l| l.starts_with("cong-dvc") && l.contains("disabled")));

    // Every change is in the audit trail, as the command line.
    let trail = store.audit_log(100).unwrap();
    for action in [
        "oidc.client.add",
        "oidc.client.rotate_secret",
        "oidc.client.disable",
    ] {
        assert!(
            trail
                .iter()
                .any(|e| e.action == action && e.target == "cong-dvc" && e.outcome == "ok"),
            "{action} audited"
        );
    }
}

#[test]
fn the_cli_refuses_a_bad_client_and_a_private_key_jwt_client_gets_no_secret() {
    let (db, dir) = sqlite_db("rp-cli-bad");
    let base = [
        "admin",
        "client",
        "add",
        "--name-vi",
        "Ngân hàng",
        "--name-en",
        "Bank",
    ];
    let run = |extra: &[&str]| {
        let mut args = base.to_vec();
        args.extend_from_slice(extra);
        eid(&db, &args)
    };

    let http = run(&["--redirect-uri", "http://bank.example.vn/cb"]);
    assert_eq!(http.status.code(), Some(2));
    assert!(err(&http).contains("https://"), "{}", err(&http));
    let scope = run(&[
        "--redirect-uri",
        "https://bank.example.vn/cb",
        "--scopes",
        "openid everything",
    ]);
    assert_eq!(scope.status.code(), Some(2));
    assert!(err(&scope).contains("unknown scope"), "{}", err(&scope));
    let alg = run(&[
        "--redirect-uri",
        "https://bank.example.vn/cb",
        "--alg",
        "HS256",
    ]);
    assert_eq!(alg.status.code(), Some(2));
    let no_keys = run(&[
        "--redirect-uri",
        "https://bank.example.vn/cb",
        "--auth-method",
        "private_key_jwt",
    ]);
    assert_eq!(no_keys.status.code(), Some(2));
    assert!(err(&no_keys).contains("JWKS"), "{}", err(&no_keys));
    let store = eid_core::open(&db).unwrap();
    let acting = cli_acting();
    assert!(
        clients::list(store.as_ref(), &acting).unwrap().is_empty(),
        "nothing stored"
    );

    let jwks = dir.join("jwks.json");
    std::fs::write(
        &jwks,
        r#"{"keys":[{"kty":"EC","crv":"P-256","x":"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU","y":"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0","kid":"bank-1","use":"sig"}]}"#,
    )
    .unwrap();
    let pkj = run(&[
        "--client-id",
        "bank",
        "--redirect-uri",
        "https://bank.example.vn/cb",
        "--auth-method",
        "private_key_jwt",
        "--jwks-file",
        jwks.to_str().unwrap(),
        "--require-par",
    ]);
    assert!(pkj.status.success(), "{}", err(&pkj));
    assert!(field(&pkj, "client_secret").is_none());
    let c = clients::get(store.as_ref(), "bank").unwrap().unwrap();
    assert!(c.require_par && c.jwks.is_some());
    let rotate = eid(&db, &["admin", "client", "rotate-secret", "bank"]);
    assert_eq!(
        rotate.status.code(),
        Some(2),
        "a private_key_jwt client has no secret"
    );
    let unknown = eid(&db, &["admin", "client", "disable", "nobody"]);
    assert_eq!(unknown.status.code(), Some(2));
}

fn cli_acting() -> eid_core::Acting {
    eid_core::Acting::new(
        eid_core::Caller {
            staff: eid_core::store::Staff {
                id: 0,
                username: "t".into(),
                display_name: "t".into(),
                role: Role::Ministry,
                unit: UnitCode::NATION,
                disabled: false,
            },
            actor: eid_core::Actor::Cli("test".into()),
        },
        "test",
        crate::helpers::now(),
    )
}

#[test]
fn keys_rotate_moves_next_to_current_and_current_to_previous() {
    let (db, dir) = sqlite_db("rp-keys");
    let kek = dir.join("kek.bin");
    let kek = kek.to_str().unwrap();
    let state_of = |o: &Output, state: &str, alg: &str| -> Vec<String> {
        out(o)
            .lines()
            .filter_map(|l| {
                let w: Vec<&str> = l.split_whitespace().collect();
                (w.len() == 4 && w[0] == state && w[1] == alg).then(|| w[3].to_owned())
            })
            .collect()
    };
    let first = eid(&db, &["admin", "keys", "rotate", "--key-file", kek]);
    assert!(first.status.success(), "{}", err(&first));
    let second = eid(&db, &["admin", "keys", "rotate", "--key-file", kek]);
    assert!(second.status.success(), "{}", err(&second));
    for alg in ["ES256", "RS256", "EdDSA"] {
        let (next1, cur1) = (
            state_of(&first, "next", alg),
            state_of(&first, "current", alg),
        );
        assert_eq!((next1.len(), cur1.len()), (1, 1), "{alg}: {}", out(&first));
        assert_eq!(
            state_of(&second, "current", alg),
            next1,
            "{alg}: next became current"
        );
        assert_eq!(
            state_of(&second, "previous", alg),
            cur1,
            "{alg}: current became previous"
        );
        assert_ne!(state_of(&second, "next", alg), next1, "{alg}: a new next");
    }
    let list = eid(&db, &["admin", "keys", "list"]);
    assert!(list.status.success());
    assert!(!out(&list).contains("PRIVATE") && !out(&list).contains("\"d\""));
    assert_eq!(std::fs::metadata(kek).unwrap().len(), 32);
    // Without --key-file: the server's own place beside the SQLite database.
    let default = eid(&db, &["admin", "keys", "rotate"]);
    assert!(default.status.success(), "{}", err(&default));
    let beside = dir.join("eid.db.oidc.key");
    assert_eq!(std::fs::metadata(&beside).unwrap().len(), 32);
}

// --- The console pages ----------------------------------------------------------------------

struct Fixture {
    base: String,
    store: Arc<dyn Store>,
    bo: TestUser,
    tinh: TestUser,
}

fn fixture() -> &'static Fixture {
    static F: OnceLock<Fixture> = OnceLock::new();
    F.get_or_init(|| {
        let store = fresh_store("rp-console");
        let bo = create_user(store.as_ref(), "rp.bo", Role::Ministry, UnitCode::NATION);
        let tinh = create_user(
            store.as_ref(),
            "rp.tinh",
            Role::Province,
            UnitCode::parse("62").unwrap(),
        );
        Fixture {
            base: spawn(Arc::clone(&store)),
            store,
            bo,
            tinh,
        }
    })
}

struct Officer {
    base: String,
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
            .get(&format!("{}/search", f.base))
            .header("Cookie", &cookie),
    );
    let csrf = csrf_field(&page.into_string().unwrap());
    Officer {
        base: f.base.clone(),
        cookie,
        csrf,
    }
}

impl Officer {
    fn get(&self, path: &str) -> (u16, String) {
        let r = call(
            agent()
                .get(&format!("{}{path}", self.base))
                .header("Cookie", &self.cookie),
        );
        (r.status(), r.into_string().unwrap())
    }
    fn post(&self, path: &str, form: &[(&str, &str)]) -> Reply {
        let mut all = form.to_vec();
        all.push(("csrf", &self.csrf));
        post_form(
            agent()
                .post(&format!("{}{path}", self.base))
                .header("Cookie", &self.cookie),
            &all,
        )
    }
}

/// The text of the element with `id` (up to its closing tag).
fn by_id(html: &str, id: &str) -> String {
    let at = html
        .find(&format!("id=\"{id}\""))
        .unwrap_or_else(|| panic!("no #{id}"));
    let rest = &html[at..];
    let start = rest.find('>').unwrap() + 1;
    rest[start..start + rest[start..].find('<').unwrap()]
        .trim()
        .to_owned()
}

#[test]
fn ministry_staff_register_edit_rotate_and_disable_a_client_in_the_console() {
    let f = fixture();
    let bo = officer(f, &f.bo);
    let (status, list) = bo.get("/relying-parties");
    assert_eq!(status, 200);
    assert!(
        list.contains("href=\"/relying-parties\""),
        "the ministry sees the nav link"
    );
    assert!(
        list.contains("Dịch vụ đăng nhập bằng eID"),
        "Vietnamese first"
    );
    let (status, form) = bo.get("/relying-parties/new");
    assert_eq!(status, 200);
    assert!(form.contains("name=\"scope.vn_personal_id\""));

    let r = bo.post(
        "/relying-parties",
        &[
            ("client_id", "benh-vien"),
            ("name_vi", "Bệnh viện Đa khoa"),
            ("name_en", "General Hospital"),
            (
                "redirect_uris",
                "https://benhvien.example.vn/cb\r\nhttps://benhvien.example.vn/cb2",
            ),
            ("scope.profile", "1"),
            ("scope.birthdate", "1"),
            ("acr.urn:eid:vn:loa:1", "1"),
            ("alg", "ES256"),
            ("auth_method", "client_secret_basic"),
        ],
    );
    assert_eq!(r.status(), 200);
    assert_eq!(r.header("cache-control"), Some("no-store"));
    let html = r.into_string().unwrap();
    let secret = by_id(&html, "client-secret");
    assert_eq!(by_id(&html, "client-id"), "benh-vien");
    let c = clients::get(f.store.as_ref(), "benh-vien")
        .unwrap()
        .unwrap();
    assert!(
        c.secret_matches(&secret),
        "the page shows the stored secret"
    );
    assert_eq!(c.scopes, ["openid", "profile", "birthdate"]);
    assert_eq!(
        c.redirect_uris,
        [
            "https://benhvien.example.vn/cb",
            "https://benhvien.example.vn/cb2"
        ]
    );

    let (status, page) = bo.get("/relying-parties/benh-vien");
    assert_eq!(status, 200);
    assert!(!page.contains(&secret), "the secret is never shown again");
    assert!(page.contains("Bệnh viện Đa khoa"));

    let r = bo.post(
        "/relying-parties/benh-vien",
        &[
            ("name_vi", "Bệnh viện Trung ương"),
            ("name_en", "Central Hospital"),
            ("redirect_uris", "https://benhvien.example.vn/cb"),
            ("scope.profile", "1"),
            ("scope.phone", "1"),
            ("acr.urn:eid:vn:loa:2", "1"),
            ("alg", "RS256"),
            ("require_par", "1"),
        ],
    );
    assert_eq!(r.status(), 303);
    let c = clients::get(f.store.as_ref(), "benh-vien")
        .unwrap()
        .unwrap();
    assert_eq!(c.name_vi, "Bệnh viện Trung ương");
    assert_eq!(c.scopes, ["openid", "profile", "phone"]);
    assert_eq!(c.acr_values, ["urn:eid:vn:loa:2"]);
    assert_eq!(c.id_token_alg.as_str(), "RS256");
    assert!(c.require_par);
    assert_eq!(
        c.sector_identifier, "benhvien.example.vn",
        "the sector stays"
    );

    // A refused edit stays on the page with the reason, and changes nothing.
    let r = bo.post(
        "/relying-parties/benh-vien",
        &[
            ("name_vi", "X"),
            ("name_en", "X"),
            ("redirect_uris", "http://benhvien.example.vn/cb"),
            ("alg", "ES256"),
            ("acr.urn:eid:vn:loa:1", "1"),
        ],
    );
    assert_eq!(r.status(), 400);
    assert!(r.into_string().unwrap().contains("oidc.client.bad"));
    assert_eq!(
        clients::get(f.store.as_ref(), "benh-vien")
            .unwrap()
            .unwrap()
            .name_vi,
        "Bệnh viện Trung ương"
    );

    let r = bo.post("/relying-parties/benh-vien/rotate-secret", &[]);
    assert_eq!(r.status(), 200);
    assert_eq!(r.header("cache-control"), Some("no-store"));
    let fresh = by_id(&r.into_string().unwrap(), "client-secret");
    let c = clients::get(f.store.as_ref(), "benh-vien")
        .unwrap()
        .unwrap();
    assert!(c.secret_matches(&fresh) && !c.secret_matches(&secret));

    // The front channel reads clients through the node's cache: the sign-in request below
    // caches the client, and the console's disable still counts at once on this node.
    let authorize = || {
        agent()
            .get(&format!(
                "{}/oauth2/authorize?response_type=code&client_id=benh-vien\
                 &redirect_uri=https%3A%2F%2Fbenhvien.example.vn%2Fcb&scope=openid\
                 &code_challenge=E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM\
                 &code_challenge_method=S256&state=s1",
                f.base
            ))
            .call()
            .unwrap()
    };
    let r = authorize();
    assert_eq!(r.status(), 303, "enabled: back to the client");
    assert!(r
        .headers()
        .get("location")
        .and_then(|l| l.to_str().ok())
        .is_some_and(|l| l.starts_with("https://benhvien.example.vn/cb")));
    let r = bo.post("/relying-parties/benh-vien/disable", &[]);
    assert_eq!(r.status(), 303);
    let r = authorize();
    assert_eq!(r.status(), 400, "disabled: the provider's own page at once");
    assert!(r.headers().get("location").is_none());
    assert!(
        clients::get(f.store.as_ref(), "benh-vien")
            .unwrap()
            .unwrap()
            .disabled
    );
    let (_, list) = bo.get("/relying-parties");
    assert!(list.contains("data-client=\"benh-vien\""));
    assert!(list.contains("Đã vô hiệu hoá"));

    // Without the session's CSRF token nothing happens.
    let r = post_form(
        agent()
            .post(&format!(
                "{}/relying-parties/benh-vien/rotate-secret",
                f.base
            ))
            .header("Cookie", &bo.cookie),
        &[("csrf", "wrong")],
    );
    assert_eq!(r.status(), 403);
    assert!(clients::get(f.store.as_ref(), "benh-vien")
        .unwrap()
        .unwrap()
        .secret_matches(&fresh));
}

#[test]
fn other_staff_get_403_and_no_link() {
    let f = fixture();
    let tinh = officer(f, &f.tinh);
    let (status, search) = tinh.get("/search");
    assert_eq!(status, 200);
    assert!(
        !search.contains("/relying-parties"),
        "no nav link below the ministry"
    );
    for path in [
        "/relying-parties",
        "/relying-parties/new",
        "/relying-parties/anything",
    ] {
        assert_eq!(tinh.get(path).0, 403, "{path}");
    }
    let r = tinh.post(
        "/relying-parties",
        &[
            ("client_id", "tinh-portal"),
            ("name_vi", "A"),
            ("name_en", "A"),
            ("redirect_uris", "https://a.example.vn/cb"),
            ("alg", "ES256"),
            ("acr.urn:eid:vn:loa:1", "1"),
        ],
    );
    assert_eq!(r.status(), 403);
    assert!(clients::get(f.store.as_ref(), "tinh-portal")
        .unwrap()
        .is_none());
    let trail = f.store.audit_log(200).unwrap();
    assert!(trail
        .iter()
        .any(|e| e.action == "oidc.client.list" && e.outcome == "denied"));
}

// --- The demo's sample portal ----------------------------------------------------------------

#[test]
fn the_demo_portal_waits_for_its_registration_and_a_new_run_points_it_at_the_new_address() {
    let store = fresh_store("rp-portal");
    let base = spawn(Arc::clone(&store));
    let page = call(agent().get(&format!("{base}/demo/portal")));
    assert_eq!(page.status(), 200);
    let html = page.into_string().unwrap();
    assert!(
        html.contains("Cổng dịch vụ công (minh hoạ)"),
        "Vietnamese first"
    );
    assert!(
        !html.contains("id=\"eid-login\""),
        "no button before `eid demo` registers it"
    );

    let acting = cli_acting();
    let url =
        eid_core::rp::register_demo_portal(store.as_ref(), &acting, "http://127.0.0.1:1").unwrap();
    assert_eq!(url, "http://127.0.0.1:1/demo/portal");
    let first = eid_core::rp::demo_portal_secret(store.as_ref())
        .unwrap()
        .unwrap();
    let url = eid_core::rp::register_demo_portal(store.as_ref(), &acting, &base).unwrap();
    assert_eq!(url, format!("{base}/demo/portal"));
    let second = eid_core::rp::demo_portal_secret(store.as_ref())
        .unwrap()
        .unwrap();
    let c = clients::get(store.as_ref(), eid_core::rp::DEMO_PORTAL)
        .unwrap()
        .unwrap();
    assert_eq!(c.redirect_uris, [format!("{base}/demo/portal/callback")]);
    assert!(
        c.secret_matches(&second) && !c.secret_matches(&first),
        "a new secret each run"
    );
    assert_eq!(c.auth_method.as_str(), "client_secret_basic");

    let html = call(agent().get(&format!("{base}/demo/portal")))
        .into_string()
        .unwrap();
    assert!(html.contains("id=\"eid-login\"") && html.contains("Đăng nhập bằng eID"));
    // A callback that did not start here (no flow cookie, or another state) signs no one in.
    let r = call(agent().get(&format!("{base}/demo/portal/callback?code=x&state=y")));
    assert_eq!(r.status(), 200);
    let html = r.into_string().unwrap();
    assert!(html.contains("Đăng nhập không thành công") && !html.contains("id=\"claims\""));
}

#[test]
fn help_runs_for_the_registry_and_keys_commands() {
    let (db, _dir) = sqlite_db("rp-help");
    for args in [
        &["admin", "client", "--help"][..],
        &["admin", "client", "add", "--help"],
        &["admin", "client", "list", "--help"],
        &["admin", "client", "rotate-secret", "--help"],
        &["admin", "client", "disable", "--help"],
        &["admin", "keys", "rotate", "--help"],
        &["admin", "keys", "list", "--help"],
    ] {
        let o = eid(&db, args);
        assert!(o.status.success(), "eid {args:?}: {}", err(&o));
        assert!(out(&o).contains("Usage: eid admin"), "eid {args:?}");
    }
}

#[test]
fn the_demo_portal_secret_is_not_kept_in_the_database() {
    let store = fresh_store("rp-portal-secret");
    // What an older demo left: the secret in plain text.
    eid_core::sql::write_one(store.db(), |tx| {
        tx.exec(
            "INSERT INTO app_setting (key, value) VALUES ('demo.portal_secret', $1)",
            &[b"old-plain-secret".to_vec().into()],
        )
    })
    .unwrap();
    let acting = cli_acting();

    eid_core::rp::register_demo_portal(store.as_ref(), &acting, "http://127.0.0.1:1").unwrap();

    let secret = eid_core::rp::demo_portal_secret(store.as_ref())
        .unwrap()
        .expect("this process knows the portal's secret");
    let c = clients::get(store.as_ref(), eid_core::rp::DEMO_PORTAL)
        .unwrap()
        .unwrap();
    assert!(c.secret_matches(&secret));
    let settings = eid_core::sql::read(store.db(), |tx| {
        tx.query("SELECT key, value FROM app_setting", &[])
    })
    .unwrap();
    for row in &settings {
        let key = row[0].clone().text().unwrap();
        assert_ne!(key, "demo.portal_secret", "the old plain secret is gone");
        let value = match row[1].clone() {
            eid_core::sql::Val::Blob(b) => b,
            eid_core::sql::Val::Text(t) => t.into_bytes(),
            _ => Vec::new(),
        };
        assert!(
            !value.windows(secret.len()).any(|w| w == secret.as_bytes()),
            "{key} holds the portal's secret"
        );
    }
    // Nor anywhere else as text: the client row holds its hash only.
    let plain = eid_core::sql::read(store.db(), |tx| {
        tx.query(
            "SELECT client_id FROM oidc_client WHERE client_id = $1 AND secret_hash = $2",
            &[
                eid_core::rp::DEMO_PORTAL.into(),
                secret.as_bytes().to_vec().into(),
            ],
        )
    })
    .unwrap();
    assert!(plain.is_empty());
}
