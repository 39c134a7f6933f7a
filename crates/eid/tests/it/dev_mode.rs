//! Development mode and the CLI's output: `eid serve` refuses the development adapters unless
//! development mode is set, says so with a banner and a strip when it is, `eid demo` only
//! touches a database it made, and a closed standard output never makes the CLI panic or lose
//! a secret shown once.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use eid_core::store::Role;
use eid_domain::UnitCode;

use crate::helpers::{agent, call, fresh_store, spawn, temp_dir};

/// The `eid` binary with no `EID_*` variable of the test's environment.
fn eid() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_eid"));
    for (k, _) in std::env::vars().filter(|(k, _)| k.starts_with("EID_")) {
        cmd.env_remove(k);
    }
    cmd.env("EID_LOG", "warn");
    cmd
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// A server process and what it wrote to stderr until it said where it listens.
struct Served {
    child: Child,
    base: String,
    stderr: String,
    stdout: String,
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts `cmd` and waits (up to two minutes) for "eid listening on http://…" on stderr; the
/// exit code and stderr if the process ends first.
fn try_serve(mut cmd: Command) -> Result<Served, (Option<i32>, String)> {
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let (tx, rx) = mpsc::channel::<(bool, String)>();
    let err = child.stderr.take().unwrap();
    let out = child.stdout.take().unwrap();
    let tx2 = tx.clone();
    std::thread::spawn(move || {
        for line in BufReader::new(err).lines().map_while(Result::ok) {
            let _ = tx.send((true, line));
        }
    });
    std::thread::spawn(move || {
        for line in BufReader::new(out).lines().map_while(Result::ok) {
            let _ = tx2.send((false, line));
        }
    });
    let (mut stderr, mut stdout) = (String::new(), String::new());
    loop {
        let (is_err, line) = match rx.recv_timeout(Duration::from_secs(120)) {
            Ok(got) => got,
            Err(mpsc::RecvTimeoutError::Disconnected) => {
                let status = child.wait().unwrap();
                return Err((status.code(), stderr));
            }
            Err(mpsc::RecvTimeoutError::Timeout) => {
                let _ = child.kill();
                panic!("no address in time; stderr:\n{stderr}");
            }
        };
        if !is_err {
            stdout.push_str(&line);
            stdout.push('\n');
            continue;
        }
        stderr.push_str(&line);
        stderr.push('\n');
        if let Some(base) = line.strip_prefix("eid listening on ") {
            // What was written before the address (the demo's accounts) is in by now.
            std::thread::sleep(Duration::from_millis(200));
            while let Ok((e, l)) = rx.try_recv() {
                let s = if e { &mut stderr } else { &mut stdout };
                s.push_str(&l);
                s.push('\n');
            }
            return Ok(Served {
                base: base.trim().to_owned(),
                child,
                stderr,
                stdout,
            });
        }
    }
}

fn serve(cmd: Command) -> Served {
    try_serve(cmd).unwrap_or_else(|(code, err)| panic!("exited with {code:?}:\n{err}"))
}

fn login_page(base: &str, lang: Option<&str>) -> String {
    let mut req = agent().get(&format!("{base}/login"));
    if let Some(l) = lang {
        req = req.header("Cookie", &format!("lang={l}"));
    }
    let r = call(req);
    assert_eq!(r.status(), 200);
    r.into_string().unwrap()
}

const STRIP: &str = "class=\"devstrip\"";

#[test]
fn serve_refuses_the_development_adapters_without_development_mode_and_names_the_keys() {
    let dir = temp_dir("dev-refuse");
    let file = dir.join("eid.db");
    let db = format!("sqlite://{}", file.display());

    let o = eid()
        .args(["--db", &db, "--listen", "127.0.0.1:0", "serve"])
        .output()
        .unwrap();

    let err = text(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert_eq!(err.lines().count(), 1, "one line: {err}");
    for key in [
        "sms_gateway_url",
        "face_verifier_url",
        "development = true",
        "EID_DEVELOPMENT=1",
        "--dev",
    ] {
        assert!(err.contains(key), "{key} in {err}");
    }
    assert!(!file.exists(), "refused before touching the database");

    // Only the verifier missing: the line names only it.
    let o = eid()
        .args(["--db", &db, "--listen", "127.0.0.1:0", "serve"])
        .env("EID_SMS_GATEWAY_URL", "http://127.0.0.1:9/send")
        .output()
        .unwrap();
    let err = text(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(
        err.contains("face_verifier_url") && !err.contains("sms_gateway_url"),
        "{err}"
    );
}

#[test]
fn serve_with_dev_prints_the_banner_and_every_console_page_shows_the_strip() {
    let dir = temp_dir("dev-serve");
    let db = format!("sqlite://{}", dir.join("eid.db").display());
    let mut cmd = eid();
    cmd.args(["--db", &db, "--listen", "127.0.0.1:0", "serve", "--dev"]);

    let s = serve(cmd);

    assert!(s.stderr.contains("DEVELOPMENT MODE"), "{}", s.stderr);
    assert!(s.stderr.contains("SMS: development sink"), "{}", s.stderr);
    assert!(
        s.stderr.contains("face verification: development verifier"),
        "{}",
        s.stderr
    );
    let vi = login_page(&s.base, None);
    assert!(
        vi.contains(STRIP) && vi.contains("Chế độ phát triển"),
        "{vi}"
    );
    let en = login_page(&s.base, Some("en"));
    assert!(
        en.contains(STRIP) && en.contains("Development mode"),
        "{en}"
    );
    // An error page (no such page) carries it too.
    let r = call(agent().get(&format!("{}/no-such-page", s.base)));
    assert_eq!(r.status(), 404);
    assert!(r.into_string().unwrap().contains(STRIP));

    // The same through the environment.
    let mut cmd = eid();
    cmd.args(["--db", &db, "--listen", "127.0.0.1:0", "serve"])
        .env("EID_DEVELOPMENT", "1");
    let s = serve(cmd);
    assert!(s.stderr.contains("DEVELOPMENT MODE"), "{}", s.stderr);
}

#[test]
fn the_strip_shows_only_in_development_mode() {
    let dev = spawn(fresh_store("dev-strip-on"));
    let store = fresh_store("dev-strip-off");
    crate::helpers::create_user(store.as_ref(), "bo.prod", Role::Ministry, UnitCode::NATION);
    let (tx, rx) = mpsc::channel::<SocketAddr>();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            // Production: real-looking adapters (nothing is sent, so they are never called).
            let config = eid::Config {
                listen: SocketAddr::from(([127, 0, 0, 1], 0)),
                sms_gateway_url: Some("http://127.0.0.1:9/sms/send".to_owned()),
                face_verifier_url: Some("http://127.0.0.1:9/faces/compare".to_owned()),
                development: false,
                ..eid::Config::default()
            };
            let (app, addr) = eid::Application::with_store(config, store).await.unwrap();
            tx.send(addr).unwrap();
            app.run_until_stopped().await.unwrap();
        });
    });
    let prod = format!("http://{}", rx.recv().unwrap());

    assert!(login_page(&dev, None).contains(STRIP));
    let page = login_page(&prod, None);
    assert!(!page.contains(STRIP) && !page.contains("Chế độ phát triển"));
    let page = login_page(&prod, Some("en"));
    assert!(!page.contains(STRIP) && !page.contains("Development mode"));
}

#[test]
fn an_application_without_development_mode_refuses_the_development_adapters() {
    let store = fresh_store("dev-app-refuse");
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let config = eid::Config {
        listen: SocketAddr::from(([127, 0, 0, 1], 0)),
        ..eid::Config::default()
    };
    // A clone stays here: the PostgreSQL client must not be dropped inside the runtime.
    let server = eid::Application::with_store(config, std::sync::Arc::clone(&store));
    let err = match rt.block_on(server) {
        Ok(_) => panic!("a production server with the development adapters started"),
        Err(e) => e,
    };
    assert!(
        err.contains("sms_gateway_url") && err.contains("--dev"),
        "{err}"
    );
}

/// `eid --db DB demo` with a tiny province and no history, as a server.
fn demo(db: &str) -> Result<Served, (Option<i32>, String)> {
    let mut cmd = eid();
    cmd.args(["--db", db, "--listen", "127.0.0.1:0", "demo"])
        .args(["--people", "300", "--history-days", "0"]);
    try_serve(cmd)
}

#[test]
fn the_demo_runs_in_development_mode_and_only_on_an_empty_database_or_its_own() {
    // A database the demo did not make: one staff account created by an administrator.
    let dir = temp_dir("dev-demo");
    let theirs = format!("sqlite://{}", dir.join("theirs.db").display());
    let o = eid()
        .args([
            "--db",
            &theirs,
            "admin",
            "create-user",
            "--username",
            "tinh.62",
        ])
        .args(["--role", "province", "--unit", "62"])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", text(&o.stderr));
    let store = eid_core::open(&theirs).unwrap();
    let (_, hash_before) = store.staff_by_username("tinh.62").unwrap().unwrap();
    drop(store);

    let (code, err) = match demo(&theirs) {
        Ok(_) => panic!("the demo started on a database it did not make"),
        Err(e) => e,
    };
    assert_eq!(code, Some(2), "{err}");
    assert!(
        err.contains("already holds staff or people that `eid demo` did not create"),
        "{err}"
    );
    let store = eid_core::open(&theirs).unwrap();
    let (_, hash_after) = store.staff_by_username("tinh.62").unwrap().unwrap();
    assert_eq!(hash_before, hash_after, "no password was reset");
    assert!(store.staff_by_username("bo.congan").unwrap().is_none());
    assert!(!eid_core::settings::made_by_demo(store.as_ref()).unwrap());
    drop(store);

    // Its own database: made on the first run, used again on the second.
    let ours = format!("sqlite://{}", dir.join("ours.db").display());
    let first = demo(&ours).unwrap_or_else(|(c, e)| panic!("exit {c:?}: {e}"));
    assert!(
        first.stderr.contains("DEVELOPMENT MODE"),
        "{}",
        first.stderr
    );
    assert!(first.stdout.contains("bo.congan"), "{}", first.stdout);
    assert!(login_page(&first.base, None).contains(STRIP));
    drop(first);
    let second = demo(&ours).unwrap_or_else(|(c, e)| panic!("exit {c:?}: {e}"));
    assert!(
        second.stderr.contains("not generating"),
        "{}",
        second.stderr
    );
    drop(second);
    let store = eid_core::open(&ours).unwrap();
    assert!(eid_core::settings::made_by_demo(store.as_ref()).unwrap());
}

#[test]
fn the_demo_claim_is_taken_only_on_an_empty_store_and_kept() {
    let empty = fresh_store("dev-claim-empty");
    assert!(eid_core::settings::claim_for_demo(empty.as_ref()).unwrap());
    assert!(eid_core::settings::made_by_demo(empty.as_ref()).unwrap());
    // Staff the demo adds later do not undo the claim.
    crate::helpers::create_user(empty.as_ref(), "bo.demo", Role::Ministry, UnitCode::NATION);
    assert!(eid_core::settings::claim_for_demo(empty.as_ref()).unwrap());

    let staffed = fresh_store("dev-claim-staff");
    crate::helpers::create_user(
        staffed.as_ref(),
        "bo.other",
        Role::Ministry,
        UnitCode::NATION,
    );
    assert!(!eid_core::settings::claim_for_demo(staffed.as_ref()).unwrap());
    assert!(!eid_core::settings::made_by_demo(staffed.as_ref()).unwrap());
}

// ----------------------------------------------------------------------------------------------
// A closed standard output

/// Runs `eid args…` with its standard output a pipe whose reading end is already closed.
fn with_closed_stdout(args: &[&str]) -> std::process::Output {
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    eid()
        .args(args)
        .stdout(writer)
        .stderr(Stdio::piped())
        .output()
        .unwrap()
}

fn device_count(db: &str) -> usize {
    let o = eid()
        .args(["--db", db, "admin", "device", "list"])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", text(&o.stderr));
    text(&o.stdout).lines().count() - 1
}

#[test]
fn a_device_whose_seed_cannot_be_shown_is_not_added_and_nothing_panics() {
    let dir = temp_dir("dev-pipe-device");
    let db = format!("sqlite://{}", dir.join("eid.db").display());
    let add = [
        "--db",
        db.as_str(),
        "admin",
        "device",
        "add",
        "--name",
        "Máy 1",
        "--unit",
        "608",
        "--generate-key",
    ];

    // `| head -c 0`: the reader is gone before anything is written.
    let o = with_closed_stdout(&add);
    let err = text(&o.stderr);
    assert!(!err.contains("panicked"), "{err}");
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert_eq!(
        err,
        "eid: the private key seed could not be written to standard output (it was closed), so nothing was saved\n"
    );
    assert_eq!(device_count(&db), 0, "no device without its seed");

    // `| head -1`: the first line is read, then the reader goes.
    let mut child = eid()
        .args(add)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut first)
        .unwrap();
    let o = child.wait_with_output().unwrap();
    let err = text(&o.stderr);
    assert!(!err.contains("panicked"), "{err}");
    assert!(
        matches!(o.status.code(), Some(0) | Some(141)),
        "a clean exit: {:?} {err}",
        o.status
    );
    assert!(first.starts_with("private key seed (shown once"), "{first}");
    let seed = first.trim().rsplit(' ').next().unwrap();
    let key = eid_core::intake::signing_key(seed).unwrap();
    // The device exists, and the seed that reached the reader is its key's.
    let store = eid_core::open(&db).unwrap();
    let devices = eid_core::accounts::devices(store.as_ref(), &UnitCode::NATION).unwrap();
    assert_eq!(devices.len(), 1);
    assert_eq!(
        eid_core::secret::hex(&devices[0].public_key),
        eid_core::intake::public_hex(&key)
    );
}

#[test]
fn secrets_and_listings_on_a_closed_stdout_end_quietly() {
    let dir = temp_dir("dev-pipe-admin");
    let db = format!("sqlite://{}", dir.join("eid.db").display());
    let user = [
        "--db",
        db.as_str(),
        "admin",
        "create-user",
        "--username",
        "tinh.62",
        "--role",
        "province",
        "--unit",
        "62",
    ];

    // A generated password nobody received: no user.
    let o = with_closed_stdout(&user);
    let err = text(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(
        !err.contains("panicked") && err.contains("nothing was saved"),
        "{err}"
    );
    let users = eid()
        .args(["--db", &db, "admin", "list-users"])
        .output()
        .unwrap();
    assert!(!text(&users.stdout).contains("tinh.62"));

    // With a reader, the user is made; a token nobody received is not.
    let o = eid().args(user).output().unwrap();
    assert!(o.status.success(), "{}", text(&o.stderr));
    let o = with_closed_stdout(&[
        "--db",
        &db,
        "admin",
        "issue-token",
        "--username",
        "tinh.62",
        "--name",
        "lost",
    ]);
    let err = text(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(
        !err.contains("panicked") && err.contains("nothing was saved"),
        "{err}"
    );
    let tokens = eid()
        .args(["--db", &db, "admin", "list-tokens"])
        .output()
        .unwrap();
    assert!(
        !text(&tokens.stdout).contains("lost"),
        "{}",
        text(&tokens.stdout)
    );

    // Plain output: quiet, with the code of a closed pipe.
    for args in [
        vec!["--db", db.as_str(), "admin", "list-users"],
        vec!["--db", db.as_str(), "admin", "list-tokens"],
        vec!["--db", db.as_str(), "migrate"],
        vec!["gen", "persons", "--count", "20000", "--seed", "1"],
    ] {
        let o = with_closed_stdout(&args);
        assert_eq!(o.status.code(), Some(141), "{args:?}: {}", text(&o.stderr));
        assert_eq!(text(&o.stderr), "", "{args:?}");
    }
}
