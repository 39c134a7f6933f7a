//! Surge mode (issue 16) over real HTTP: with a capacity of one request in flight, the health
//! check is always answered, a full queue turns the API away with 503 and `Retry-After` and
//! people with the Vietnamese waiting page, a freed place goes to the officer before the new
//! registration that waited longer, and the server serves normally at once after the load.
//! Then the console's surge page, announced peaks from the console and the command line, and
//! `eid admin backup` / `restore` on a database that a server is serving.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::{Command, Output};
use std::sync::Arc;
use std::time::{Duration, Instant};

use eid_core::clock::SystemClock;
use eid_core::store::Role;
use eid_domain::UnitCode;

use crate::helpers::{
    agent, call, cookie_value, create_user, csrf_field, fresh_store, post_form, send_json,
    set_cookie, sign_in, temp_dir,
};

/// One place in flight, a queue of one per lane, goals long enough to wait in.
fn tiny() -> eid::Config {
    eid::Config {
        admission: eid::admission::AdmissionConfig {
            initial_limit: 1,
            min_limit: 1,
            max_limit: 1,
            max_queue: 1,
            goal_ms: [20_000, 20_000, 20_000],
            initial_service_ms: 50,
            ..eid::admission::AdmissionConfig::default()
        },
        ..eid::testkit::test_config()
    }
}

/// Opens a registration whose body never comes: it holds the one place until `release`.
fn hold(addr: std::net::SocketAddr) -> TcpStream {
    let mut s = TcpStream::connect(addr).unwrap();
    s.write_all(
        b"POST /api/v1/app/register HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n",
    )
    .unwrap();
    s
}

fn release(mut s: TcpStream) -> String {
    s.write_all(b"{}").unwrap();
    s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    let mut buf = [0u8; 512];
    let n = s.read(&mut buf).unwrap();
    String::from_utf8_lossy(&buf[..n]).into_owned()
}

fn html(base: &str, path: &str) -> crate::helpers::Reply {
    call(
        agent()
            .get(&format!("{base}{path}"))
            .header("Accept", "text/html,application/xhtml+xml"),
    )
}

#[test]
fn under_overload_health_is_answered_the_rest_turned_away_early_officers_first_and_recovery_is_immediate(
) {
    let server = eid::testkit::spawn_with(fresh_store("surge-http"), tiny(), Arc::new(SystemClock));
    let base = server.base.clone();
    let held = hold(server.addr);
    std::thread::sleep(Duration::from_millis(300));

    // Health is answered at once while the one place is taken.
    let t = Instant::now();
    assert_eq!(call(agent().get(&format!("{base}/healthz"))).status(), 200);
    assert!(t.elapsed() < Duration::from_secs(2));

    // A new registration waits in its lane (one whose body has not all come: admitted, it would
    // hold the place as the first does), then an officer's request in theirs.
    let waiting = hold(server.addr);
    let metrics = |base: &str| {
        call(agent().get(&format!("{base}/metrics")))
            .into_string()
            .unwrap()
    };
    std::thread::sleep(Duration::from_millis(300));
    let b = base.clone();
    let (officer_tx, officer_rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = officer_tx.send(html(&b, "/login").status());
    });
    std::thread::sleep(Duration::from_millis(300));

    // The registration lane's queue is full: the API is told 503 with Retry-After, at once…
    let t = Instant::now();
    let api = send_json(
        agent().post(&format!("{base}/api/v1/app/register")),
        serde_json::json!({"personal_id": "001099000001"}),
    );
    assert!(t.elapsed() < Duration::from_secs(2), "turned away early");
    assert_eq!(api.status(), 503);
    let retry: u64 = api.header("retry-after").unwrap().parse().unwrap();
    assert!((1..=60).contains(&retry), "{retry}");
    let body: serde_json::Value = api.into_json().unwrap();
    assert_eq!(body["error"]["code"], "server.busy");
    assert_eq!(body["error"]["detail"]["reason"], "queue_full");
    // …and a person gets the waiting page, in Vietnamese, that reloads itself.
    let page = html(&base, "/me/register");
    assert_eq!(page.status(), 503);
    assert!(page.header("retry-after").is_some());
    let text = page.into_string().unwrap();
    assert!(
        text.contains("<meta http-equiv=\"refresh\" content=\""),
        "{text}"
    );
    assert!(text.contains("Thời gian chờ dự kiến"), "{text}");
    assert!(text.contains("lang=\"vi\""));
    assert!(!text.contains("<script"));

    // The place frees: the officer goes first although the registration waited longer — had
    // the registration been admitted, it would hold the place and the officer would get no
    // answer until its body came.
    let t = Instant::now();
    let answer = release(held);
    assert!(answer.starts_with("HTTP/1.1 4"), "{answer}");
    let officer_status = officer_rx
        .recv_timeout(Duration::from_secs(15))
        .expect("the officer was admitted first, while the registration still waited");
    assert_eq!(officer_status, 200);
    let answer = release(waiting);
    assert!(
        answer.starts_with("HTTP/1.1 4"),
        "the registration was served next: {answer}"
    );

    // Recovery at once: the next requests of every lane are served.
    for path in ["/me/register", "/login", "/me/signin"] {
        assert_eq!(html(&base, path).status(), 200, "{path}");
    }
    assert!(t.elapsed() < Duration::from_secs(5));
    let m = metrics(&base);
    assert!(
        m.contains("eid_admission_requests_total{lane=\"register\",outcome=\"shed\"} 2"),
        "{m}"
    );
    assert!(m.contains("eid_admission_requests_total{lane=\"officer\",outcome=\"admitted\"}"));
}

fn eid(args: &[&str]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_eid"));
    cmd.args(args);
    for (k, _) in std::env::vars().filter(|(k, _)| k.starts_with("EID_")) {
        cmd.env_remove(k);
    }
    cmd.output().unwrap()
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

#[test]
fn the_ministry_sees_the_lanes_and_announces_a_peak_that_the_cli_lists_and_removes() {
    let dir = temp_dir("surge-console");
    let db = format!("sqlite://{}", dir.join("eid.db").display());
    let store = eid_core::open(&db).unwrap();
    store.migrate().unwrap();
    let ministry = create_user(store.as_ref(), "bo", Role::Ministry, UnitCode::NATION);
    let province = create_user(
        store.as_ref(),
        "tinh",
        Role::Province,
        UnitCode::parse("62").unwrap(),
    );
    let base = eid::testkit::spawn_with(
        Arc::clone(&store),
        eid::testkit::test_config(),
        Arc::new(SystemClock),
    )
    .base;
    let session = |user: &eid::testkit::TestUser| {
        let r = sign_in(&base, &user.username, &user.password);
        format!(
            "eid_session={}",
            cookie_value(&set_cookie(&r, "eid_session").unwrap())
        )
    };
    let cookie = session(&ministry);
    let page = call(
        agent()
            .get(&format!("{base}/surge"))
            .header("Cookie", &cookie),
    );
    assert_eq!(page.status(), 200);
    let html = page.into_string().unwrap();
    assert!(html.contains("Cao điểm truy cập và kiểm soát tiếp nhận"));
    assert!(html.contains("data-lane=\"register\""));
    assert!(
        html.contains("href=\"/surge\""),
        "the ministry's navigation links it"
    );
    let csrf = csrf_field(&html);

    let r = post_form(
        agent()
            .post(&format!("{base}/surge/peaks"))
            .header("Cookie", &cookie),
        &[
            ("csrf", &csrf),
            ("start", "01/01/2030 19:00"),
            ("end", "02/01/2030 01:00"),
            ("load", "3,5"),
            ("note", "Công bố chính sách mới"),
        ],
    );
    assert_eq!(r.status(), 303);
    let html = call(
        agent()
            .get(&format!("{base}/surge?done=added"))
            .header("Cookie", &cookie),
    )
    .into_string()
    .unwrap();
    assert!(html.contains("01/01/2030 19:00"), "{html}");
    assert!(html.contains("3,5×"));
    // A typo comes back with the form filled and the reason.
    let r = post_form(
        agent()
            .post(&format!("{base}/surge/peaks"))
            .header("Cookie", &cookie),
        &[
            ("csrf", &csrf),
            ("start", "hôm nay"),
            ("end", "x"),
            ("load", "2"),
        ],
    );
    assert_eq!(r.status(), 400);
    assert!(r.into_string().unwrap().contains("dd/mm/yyyy hh:mm"));

    // Other officers neither see the link nor open the page.
    let other = session(&province);
    let page = call(
        agent()
            .get(&format!("{base}/surge"))
            .header("Cookie", &other),
    );
    assert_eq!(page.status(), 403);
    let search = call(
        agent()
            .get(&format!("{base}/search"))
            .header("Cookie", &other),
    );
    assert!(!search.into_string().unwrap().contains("href=\"/surge\""));

    // The command line lists the peak, adds one and removes both.
    let out = eid(&["--db", &db, "admin", "peak", "list"]);
    assert!(out.status.success(), "{}", text(&out));
    let listed = text(&out);
    assert!(
        listed.contains("01/01/2030 19:00\t02/01/2030 01:00\t3.5×"),
        "{listed}"
    );
    let out = eid(&[
        "--db",
        &db,
        "admin",
        "peak",
        "add",
        "--start",
        "2031-05-01T08:00",
        "--end",
        "01/05/2031 20:00",
        "--load",
        "2",
        "--note",
        "cli",
    ]);
    assert!(out.status.success(), "{}", text(&out));
    let out = eid(&[
        "--db", &db, "admin", "peak", "add", "--start", "x", "--end", "y", "--load", "2",
    ]);
    assert!(!out.status.success());
    let ids: Vec<String> = text(&eid(&["--db", &db, "admin", "peak", "list"]))
        .lines()
        .map(|l| l.split('\t').next().unwrap().to_owned())
        .collect();
    assert_eq!(ids.len(), 2, "{ids:?}");
    for id in &ids {
        let out = eid(&["--db", &db, "admin", "peak", "remove", "--id", id]);
        assert!(out.status.success(), "{}", text(&out));
    }
    assert!(text(&eid(&["--db", &db, "admin", "peak", "list"])).contains("no peak announced"));
    let audit = store
        .audit_query(&eid_core::audit::AuditQuery {
            action: Some("peak.remove".into()),
            limit: 10,
            ..Default::default()
        })
        .unwrap();
    assert_eq!(audit.len(), 2);
    assert!(audit
        .iter()
        .all(|a| a.actor == eid_core::Actor::Cli("admin".into())));
}

#[test]
fn a_database_being_served_is_backed_up_and_restored_with_the_cli() {
    let dir = temp_dir("surge-backup-cli");
    let db = format!("sqlite://{}", dir.join("eid.db").display());
    let store = eid_core::open(&db).unwrap();
    store.migrate().unwrap();
    let ministry = create_user(store.as_ref(), "bo", Role::Ministry, UnitCode::NATION);
    let base = eid::testkit::spawn_with(
        Arc::clone(&store),
        eid::testkit::test_config(),
        Arc::new(SystemClock),
    )
    .base;
    // The server keeps answering (and writing its audit trail) while the backup runs.
    let b = base.clone();
    let token = ministry.token.clone();
    let load = std::thread::spawn(move || {
        let mut ok = 0;
        for _ in 0..60 {
            let r = call(
                agent()
                    .get(&format!("{b}/api/v1/me"))
                    .header("Authorization", &format!("Bearer {token}")),
            );
            ok += u32::from(r.status() == 200);
        }
        ok
    });
    let copy = dir.join("backup").join("eid-copy.db");
    let out = eid(&[
        "--db",
        &db,
        "admin",
        "backup",
        "--to",
        &copy.display().to_string(),
    ]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(text(&out).contains("integrity ok"), "{}", text(&out));
    assert!(text(&out).contains("1 staff"), "{}", text(&out));
    assert_eq!(
        load.join().unwrap(),
        60,
        "every request was answered during the backup"
    );
    // The same file again is refused.
    let again = eid(&[
        "--db",
        &db,
        "admin",
        "backup",
        "--to",
        &copy.display().to_string(),
    ]);
    assert!(!again.status.success());

    // Restore: onto an empty place it works; onto a database with staff only with --force.
    let fresh = format!("sqlite://{}", dir.join("restored.db").display());
    let out = eid(&[
        "--db",
        &fresh,
        "admin",
        "restore",
        "--from",
        &copy.display().to_string(),
    ]);
    assert!(out.status.success(), "{}", text(&out));
    let restored = eid_core::open(&fresh).unwrap();
    assert!(restored.staff_by_username("bo").unwrap().is_some());
    drop(restored);
    let out = eid(&[
        "--db",
        &fresh,
        "admin",
        "restore",
        "--from",
        &copy.display().to_string(),
    ]);
    assert!(!out.status.success());
    assert!(text(&out).contains("--force"), "{}", text(&out));
    let out = eid(&[
        "--db",
        &fresh,
        "admin",
        "restore",
        "--from",
        &copy.display().to_string(),
        "--force",
    ]);
    assert!(out.status.success(), "{}", text(&out));
}
