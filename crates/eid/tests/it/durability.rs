//! Audit lines survive a crash (hardening item 16): the real `eid serve` under audited person
//! lookups (API) and person corrections (console) from several threads is killed with SIGKILL
//! mid-load, a few times; afterwards every request whose answer had been received has its
//! line in the audit trail, found by the request id of its `x-request-id` header.

use std::collections::HashSet;
use std::io::{BufRead, BufReader, Read};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::time::Duration;

use eid_core::import::{import_generated, ImportOptions, OnError};
use eid_core::store::Role;
use eid_core::Actor;
use eid_domain::{LifeState, Person, UnitCode};

use crate::helpers::{agent, cookie_value, create_user, csrf_field, set_cookie, sign_in};

/// The `eid` binary with no `EID_*` variable of the test's environment.
fn eid() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_eid"));
    for (k, _) in std::env::vars().filter(|(k, _)| k.starts_with("EID_")) {
        cmd.env_remove(k);
    }
    cmd.env("EID_LOG", "warn");
    cmd
}

/// `eid --db DB serve --dev` on a free port; the child and its base URL.
fn serve(db: &str) -> (Child, String) {
    let mut child = eid()
        .args(["--db", db, "--listen", "127.0.0.1:0", "serve", "--dev"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let err = child.stderr.take().unwrap();
    let (tx, rx) = mpsc::channel::<String>();
    let said: Arc<Mutex<Vec<String>>> = Arc::default();
    let kept = Arc::clone(&said);
    std::thread::spawn(move || {
        for line in BufReader::new(err).lines().map_while(Result::ok) {
            if let Some(base) = line.strip_prefix("eid listening on ") {
                let _ = tx.send(base.trim().to_owned());
            } else {
                lock(&kept).push(line);
            }
        }
    });
    match rx.recv_timeout(Duration::from_secs(120)) {
        Ok(base) => (child, base),
        Err(e) => {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "the server did not say where it listens ({e}); it said:\n{}",
                lock(&said).join("\n")
            );
        }
    }
}

/// The response's request id when the whole answer arrived with one of `ok` statuses.
fn acknowledged(
    r: Result<ureq::http::Response<ureq::Body>, ureq::Error>,
    ok: &[u16],
) -> Option<(u16, String, String)> {
    let (parts, body) = r.ok()?.into_parts();
    let mut text = String::new();
    body.into_reader().read_to_string(&mut text).ok()?;
    let status = parts.status.as_u16();
    let id = parts.headers.get("x-request-id")?.to_str().ok()?.to_owned();
    ok.contains(&status).then_some((status, id, text))
}

/// The value of the edit form's hidden `version` field.
fn form_version(html: &str) -> i64 {
    let key = "name=\"version\" value=\"";
    let at = html.find(key).expect("a version field") + key.len();
    let rest = &html[at..];
    rest[..rest.find('"').unwrap()].parse().unwrap()
}

#[test]
fn every_acknowledged_request_has_its_audit_line_after_a_kill_9() {
    let url = eid::testkit::fresh_url(eid::testkit::Engine::from_env(), "durability");
    let store = eid_core::open(&url).unwrap();
    store.migrate().unwrap();
    let now = crate::helpers::now();
    let today = now.date();
    let province = UnitCode::parse("62").unwrap();
    let persons: Vec<Person> = eid_gen::Generator::new(&eid_gen::GenConfig {
        count: 400,
        seed: 16,
        province: Some(province),
        today,
    })
    .unwrap()
    .filter(|p| p.check(today).is_ok())
    .collect();
    let opts = ImportOptions {
        on_error: OnError::Skip,
        today,
        now,
        actor: Actor::Cli("test".into()),
        reason: "test".into(),
    };
    import_generated(store.as_ref(), persons.clone().into_iter(), &opts).unwrap();
    let officer = create_user(store.as_ref(), "tinh.62", Role::Province, province);
    drop(store);
    let ids: Arc<Vec<String>> =
        Arc::new(persons.iter().map(|p| p.id.as_str().to_owned()).collect());
    // The editors correct living people: a dead person's record cannot say alive again.
    let alive: Arc<Vec<String>> = Arc::new(
        persons
            .iter()
            .filter(|p| p.life.state == LifeState::Alive)
            .map(|p| p.id.as_str().to_owned())
            .collect(),
    );

    const TRIALS: usize = 3;
    const READERS: usize = 4;
    const EDITORS: usize = 2;
    let acked: Arc<Mutex<Vec<(&'static str, String)>>> = Arc::default();
    for trial in 0..TRIALS {
        let (mut child, base) = serve(&url);
        let signed_in = sign_in(&base, "tinh.62", &officer.password);
        let session = format!(
            "eid_session={}",
            cookie_value(&set_cookie(&signed_in, "eid_session").expect("a session"))
        );
        let stop = Arc::new(AtomicBool::new(false));
        let before = lock(&acked).len();
        let mut threads = Vec::new();
        for t in 0..READERS {
            let (base, token, ids, stop, acked) = (
                base.clone(),
                officer.token.clone(),
                Arc::clone(&ids),
                Arc::clone(&stop),
                Arc::clone(&acked),
            );
            threads.push(std::thread::spawn(move || {
                let agent = agent();
                let mut i = t * 97 + trial * 13;
                while !stop.load(Ordering::Relaxed) {
                    i = (i + 1) % ids.len();
                    let r = agent
                        .get(&format!("{base}/api/v1/persons/{}", ids[i]))
                        .header("Authorization", &format!("Bearer {token}"))
                        .call();
                    match acknowledged(r, &[200]) {
                        Some((_, id, _)) => lock(&acked).push(("lookup", id)),
                        None => break,
                    }
                }
            }));
        }
        for t in 0..EDITORS {
            // Each editor corrects people of its own, so that versions only clash on a retry.
            let (base, session, ids, stop, acked) = (
                base.clone(),
                session.clone(),
                Arc::clone(&alive),
                Arc::clone(&stop),
                Arc::clone(&acked),
            );
            threads.push(std::thread::spawn(move || {
                let agent = agent();
                let mut n = 0usize;
                'people: while !stop.load(Ordering::Relaxed) {
                    let pid = &ids[(trial * 50 + t * 25 + n % 25) % ids.len()];
                    n += 1;
                    let url = format!("{base}/persons/{pid}/edit");
                    let form = agent.get(&url).header("Cookie", &session).call();
                    let Some((_, _, html)) = acknowledged(form, &[200]) else {
                        break;
                    };
                    let (csrf, version) = (csrf_field(&html), form_version(&html));
                    for k in 0..3 {
                        if stop.load(Ordering::Relaxed) {
                            break 'people;
                        }
                        let address = format!("Số {} đường Thử {trial}-{t}-{n}", k + 1);
                        let version = (version + k).to_string();
                        let r = agent.post(&url).header("Cookie", &session).send_form([
                            ("csrf", csrf.as_str()),
                            ("version", version.as_str()),
                            ("address", address.as_str()),
                            ("temp_unit", ""),
                            ("temp_address", ""),
                            ("phone", ""),
                            ("phone_type", "none"),
                            ("life", "alive"),
                            ("life_date", ""),
                            ("reason", "kiểm tra độ bền của nhật ký"),
                        ]);
                        match acknowledged(r, &[303, 400, 409]) {
                            Some((303, id, _)) => lock(&acked).push(("edit", id)),
                            Some(_) => continue 'people,
                            None => break 'people,
                        }
                    }
                }
            }));
        }
        // Let the load of both kinds build up (however slow the machine: lookups alone fill up
        // while the editors are still at their first form), then crash the server in the
        // middle of it.
        let waited = std::time::Instant::now();
        let since = |kind: &str| {
            lock(&acked)[before..]
                .iter()
                .filter(|(k, _)| *k == kind)
                .count()
        };
        while (since("lookup") < 50 || since("edit") < 4)
            && waited.elapsed() < Duration::from_secs(30)
        {
            std::thread::sleep(Duration::from_millis(20));
        }
        std::thread::sleep(Duration::from_millis(200 + 150 * trial as u64));
        child.kill().unwrap();
        child.wait().unwrap();
        stop.store(true, Ordering::Relaxed);
        for t in threads {
            t.join().unwrap();
        }
    }

    let store = eid_core::open(&url).unwrap();
    let trail: HashSet<String> = store
        .audit_query(&eid_core::audit::AuditQuery {
            limit: u32::MAX,
            ..Default::default()
        })
        .unwrap()
        .into_iter()
        .map(|e| e.request_id)
        .collect();
    let acked = lock(&acked);
    let count = |kind: &str| acked.iter().filter(|(k, _)| *k == kind).count();
    let lost = |kind: &str| {
        acked
            .iter()
            .filter(|(k, id)| *k == kind && !trail.contains(id))
            .count()
    };
    assert!(
        count("lookup") >= 100 && count("edit") >= 10,
        "too little load to test anything: {} lookups, {} edits acknowledged",
        count("lookup"),
        count("edit")
    );
    assert_eq!(
        (lost("lookup"), lost("edit")),
        (0, 0),
        "acknowledged requests without an audit line after {TRIALS} kills, of {} lookups and {} edits",
        count("lookup"),
        count("edit")
    );
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// A server asked to stop (SIGTERM) after answering requests exits cleanly on both engines:
/// whatever task drops the store last, closing its connections does not panic (on PostgreSQL a
/// connection closes by running a runtime of its own, which an async worker thread refuses).
#[test]
fn a_server_asked_to_stop_exits_cleanly() {
    let url = eid::testkit::fresh_url(eid::testkit::Engine::from_env(), "stop");
    let store = eid_core::open(&url).unwrap();
    store.migrate().unwrap();
    create_user(store.as_ref(), "bo", Role::Ministry, UnitCode::NATION);
    drop(store);
    let mut child = eid()
        .args(["--db", &url, "--listen", "127.0.0.1:0", "serve", "--dev"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let err = child.stderr.take().unwrap();
    let (tx, rx) = mpsc::channel::<String>();
    let log = std::thread::spawn(move || {
        let mut all = String::new();
        for line in BufReader::new(err).lines().map_while(Result::ok) {
            if let Some(base) = line.strip_prefix("eid listening on ") {
                let _ = tx.send(base.trim().to_owned());
            }
            all.push_str(&line);
            all.push('\n');
        }
        all
    });
    let base = rx.recv_timeout(Duration::from_secs(120)).unwrap();
    // Requests that use the store from the server's threads, so connections are open and idle.
    for path in [
        "/healthz",
        "/login",
        "/me/signin",
        "/.well-known/openid-configuration",
    ] {
        let r = agent().get(&format!("{base}{path}")).call().unwrap();
        assert_eq!(r.status(), 200, "{path}");
    }
    let killed = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let status = child.wait().unwrap();
    let log = log.join().unwrap();
    assert!(!log.contains("panicked"), "{log}");
    assert!(status.success(), "{status:?}\n{log}");
}

/// The server takes a bearer token it confirmed on trust for at most a second
/// (`auth::TOKEN_TTL`): a token revoked with `eid admin revoke-token` — another process — is
/// refused by the running server soon after, and stays refused.
#[test]
fn a_token_revoked_by_another_process_is_refused_within_a_second() {
    let url = eid::testkit::fresh_url(eid::testkit::Engine::from_env(), "revoke");
    let store = eid_core::open(&url).unwrap();
    store.migrate().unwrap();
    // The test user's token, id 1.
    let token = create_user(
        store.as_ref(),
        "tinh.62",
        Role::Province,
        UnitCode::parse("62").unwrap(),
    )
    .token;
    drop(store);
    let (mut child, base) = serve(&url);
    let me = || {
        agent()
            .get(&format!("{base}/api/v1/me"))
            .header("Authorization", &format!("Bearer {token}"))
            .call()
            .unwrap()
            .status()
            .as_u16()
    };
    // Used, so the server holds it confirmed.
    for _ in 0..20 {
        assert_eq!(me(), 200);
    }
    let revoked = eid()
        .args(["--db", &url, "admin", "revoke-token", "--id", "1"])
        .output()
        .unwrap();
    assert!(
        revoked.status.success(),
        "{}",
        String::from_utf8_lossy(&revoked.stderr)
    );
    let since = std::time::Instant::now();
    let mut refused_after = None;
    while since.elapsed() < Duration::from_secs(10) {
        if me() == 401 {
            refused_after = Some(since.elapsed());
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let _ = child.kill();
    let _ = child.wait();
    let after = refused_after.expect("the revoked token was still taken 10 s later");
    // One second on trust, plus room for a loaded machine.
    assert!(
        after <= Duration::from_secs(3),
        "refused only after {after:?}"
    );
}
