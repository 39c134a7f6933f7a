//! Read routing and reconnection against real servers: a streaming replica made from the test
//! database (`EID_TEST_DATABASE_URL`) with `pg_basebackup -R` on another loopback port, started
//! here and stopped at the end. They run whenever the test database is set.

use std::path::PathBuf;
use std::process::Command;

use super::*;
use crate::store::Actor;
use time::macros::{date, datetime};
use time::Date;

const TODAY: Date = date!(2026 - 01 - 01);
const NOW: OffsetDateTime = datetime!(2026-01-01 08:00 UTC);
const BIN: &str = "/usr/lib/postgresql/15/bin";

/// A replica of the test database, stopped and removed when dropped.
struct Replica {
    dir: PathBuf,
    port: u16,
}

fn as_postgres(cmd: &str) -> Command {
    // initdb and the server refuse to run as root: they run as the postgres system user then.
    let root = Command::new("id")
        .arg("-u")
        .output()
        .map(|o| o.stdout.starts_with(b"0\n"))
        .unwrap_or(false);
    if root {
        let mut c = Command::new("runuser");
        c.args(["-u", "postgres", "--", cmd]);
        c
    } else {
        Command::new(cmd)
    }
}

impl Replica {
    fn start(primary: &postgres::Config) -> Replica {
        // A hot standby needs at least the primary's max_connections.
        let max: String = primary
            .connect(NoTls)
            .unwrap()
            .query_one("SHOW max_connections", &[])
            .unwrap()
            .get(0);
        let host = match primary.get_hosts().first() {
            Some(postgres::config::Host::Tcp(h)) => h.clone(),
            _ => "127.0.0.1".into(),
        };
        let port = primary.get_ports().first().copied().unwrap_or(5432);
        let user = primary.get_user().unwrap_or("postgres").to_owned();
        let salt = format!("{:08x}", rand::random::<u32>());
        let dir = std::env::temp_dir().join(format!("eid-replica-{salt}"));
        std::fs::create_dir_all(&dir).unwrap();
        let _ = Command::new("chown")
            .args(["postgres", dir.to_str().unwrap()])
            .status();
        let data = dir.join("data");
        let out = as_postgres(&format!("{BIN}/pg_basebackup"))
            .args(["-h", &host, "-p", &port.to_string(), "-U", &user, "-D"])
            .arg(&data)
            .args(["-R", "-X", "stream", "-c", "fast"])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "pg_basebackup: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        // A free port: bind one and let it go.
        let rport = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let opts = format!(
            "-p {rport} -k {} -c listen_addresses=127.0.0.1 -c hot_standby=on -c fsync=off \
             -c max_connections={max}",
            dir.display()
        );
        let out = as_postgres(&format!("{BIN}/pg_ctl"))
            .arg("-D")
            .arg(&data)
            .arg("-l")
            .arg(dir.join("log"))
            .args(["-w", "-o", &opts, "start"])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "pg_ctl start: {}",
            std::fs::read_to_string(dir.join("log")).unwrap_or_default()
        );
        Replica { dir, port: rport }
    }

    fn url(&self, app: &str) -> String {
        format!(
            "postgres://postgres@127.0.0.1:{}/postgres?application_name={app}",
            self.port
        )
    }

    fn client(&self) -> Client {
        Client::connect(&self.url("eid-test-probe"), NoTls).unwrap()
    }
}

impl Drop for Replica {
    fn drop(&mut self) {
        let _ = as_postgres(&format!("{BIN}/pg_ctl"))
            .arg("-D")
            .arg(self.dir.join("data"))
            .args(["-m", "immediate", "stop"])
            .output();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn person(id: &str, given: &str) -> Person {
    let f = [
        id,
        "Lê",
        "Văn",
        given,
        "1990-05-02",
        "M",
        "38",
        "14755",
        "Thôn 3",
        "",
        "",
        "HH-1",
        "0912345678",
        "smartphone",
        "alive",
        "",
        "2021-06-01",
        "0",
    ];
    csvfmt::parse_row(&f, TODAY).unwrap()
}

fn put(store: &PgStore, p: &Person) {
    let mut w = store
        .writer(&Actor::Cli("test".into()), "test", NOW)
        .unwrap();
    w.put(p).unwrap();
    w.commit().unwrap();
}

fn given(store: &PgStore, id: &str) -> String {
    store
        .person(&PersonalId::parse(id).unwrap())
        .unwrap()
        .unwrap()
        .person
        .name
        .given()
        .to_owned()
}

/// Backends of `app` on the replica that have run a query.
fn backends(replica: &Replica, app: &str) -> i64 {
    replica
        .client()
        .query_one(
            "SELECT count(*) FROM pg_stat_activity WHERE application_name = $1",
            &[&app],
        )
        .unwrap()
        .get(0)
}

fn wait_until(what: &str, mut f: impl FnMut() -> bool) {
    for _ in 0..600 {
        if f() {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("never: {what}");
}

#[test]
fn reads_go_to_a_fresh_replica_and_see_own_writes() {
    let Some(url) = crate::testkit::postgres_url() else {
        return; // EID_SKIP_POSTGRES=1, said on stderr
    };
    let base = split_pool(&url).unwrap().0;
    let replica = Replica::start(&base.parse().unwrap());
    let schema = format!("eid_replica_{:08x}", rand::random::<u32>());
    let app = format!("eid-replica-test-{:08x}", rand::random::<u32>());
    // A second replica that is down: it is skipped (and rests).
    let sep = if base.contains('?') { '&' } else { '?' };
    let store_url = format!(
        "{base}{sep}pool=4&max_replica_lag_ms=300&replica=postgres://postgres@127.0.0.1:1/postgres&replica={}",
        replica.url(&app)
    );
    let store = PgStore::connect(&store_url, Some(&schema)).unwrap();
    store.migrate().unwrap();
    let id = "038090001234";

    put(&store, &person(id, "An"));
    // Read-your-writes: the write's position is the floor; a read goes to the primary until the
    // replica has replayed it, then to the replica.
    assert_eq!(given(&store, id), "An");
    wait_until("replica caught up", || store.reads_on_replica());
    assert_eq!(given(&store, id), "An");
    assert!(
        backends(&replica, &app) >= 1,
        "no eid connection on the replica"
    );

    // A lagging replica: replay paused, then a write. The floor is past what it replayed: this
    // server's own write is read back from the primary.
    replica
        .client()
        .batch_execute("SELECT pg_wal_replay_pause()")
        .unwrap();
    put(&store, &person(id, "Bình"));
    assert!(!store.reads_on_replica());
    assert_eq!(given(&store, id), "Bình");

    // The staleness bound on others' writes: once the replica has caught up again, replay is
    // paused and another server (another store, whose writes this one's floor does not know)
    // writes. The replica has replayed everything this server wrote, but what it received and
    // has not replayed is older than 300 ms: it is skipped.
    replica
        .client()
        .batch_execute("SELECT pg_wal_replay_resume()")
        .unwrap();
    wait_until("replica caught up again", || store.reads_on_replica());
    replica
        .client()
        .batch_execute("SELECT pg_wal_replay_pause()")
        .unwrap();
    let other = PgStore::connect(&base, Some(&schema)).unwrap();
    put(&other, &person(id, "Chi"));
    std::thread::sleep(Duration::from_millis(400));
    // Something new reaches the replica (received, not replayed): its lag is now measured.
    put(&other, &person("038090001235", "Dung"));
    wait_until("replica lag past the bound", || !store.reads_on_replica());
    assert_eq!(given(&store, id), "Chi");

    replica
        .client()
        .batch_execute("SELECT pg_wal_replay_resume()")
        .unwrap();
    wait_until("replica fresh after resume", || store.reads_on_replica());
    assert_eq!(given(&store, id), "Chi");

    // A stopped replica: reads go to the primary and still answer.
    drop(replica);
    assert!(!store.reads_on_replica());
    assert_eq!(given(&store, "038090001235"), "Dung");

    drop(store);
    if let Ok(mut c) = Client::connect(&base, NoTls) {
        let _ = c.batch_execute(&format!("DROP SCHEMA {} CASCADE", quote_ident(&schema)));
    }
}

#[test]
fn a_dead_connection_empties_the_pool_and_the_next_call_reconnects() {
    let Some(url) = crate::testkit::postgres_url() else {
        return; // EID_SKIP_POSTGRES=1, said on stderr
    };
    let base = split_pool(&url).unwrap().0;
    let app = format!("eid-reconnect-{:08x}", rand::random::<u32>());
    let sep = if base.contains('?') { '&' } else { '?' };
    let store =
        PgStore::connect(&format!("{base}{sep}pool=4&application_name={app}"), None).unwrap();
    // Four connections open and idle.
    std::thread::scope(|s| {
        for _ in 0..4 {
            s.spawn(|| {
                let mut c = store.conn().unwrap();
                c.c()
                    .unwrap()
                    .batch_execute("SELECT pg_sleep(0.2)")
                    .unwrap();
            });
        }
    });
    assert_eq!(store.pool.lock().idle.len(), 4);
    // The server ends them all, as a crash or a failover does.
    let mut admin = Client::connect(&base, NoTls).unwrap();
    let ended: i64 = admin
        .query_one(
            "SELECT count(*) FILTER (WHERE pg_terminate_backend(pid)) FROM pg_stat_activity \
             WHERE application_name = $1",
            &[&app],
        )
        .unwrap()
        .get(0);
    assert_eq!(ended, 4);
    // The first call meets a dead connection and fails; the pool drops every idle one with it.
    // It says the database is unavailable (the HTTP layer's 503), not a plain database error.
    let first = crate::sql::read_one(&store, |tx| tx.query("SELECT 1", &[]));
    assert!(
        matches!(first, Err(StoreError::Unavailable(_))),
        "{first:?}"
    );
    {
        let state = store.pool.lock();
        assert_eq!(state.idle.len(), 0);
        assert_eq!(state.open, 0);
    }
    // The next calls open fresh connections.
    for _ in 0..3 {
        let rows = crate::sql::read_one(&store, |tx| tx.query("SELECT 2::bigint", &[])).unwrap();
        assert_eq!(rows[0][0], Val::Int(2));
    }
}

#[test]
fn url_replicas_and_lag_bound_are_split_off() {
    let p = split_url(
        "postgres://u@h1:1,h2:2/db?target_session_attrs=read-write&replica=postgres://u@r:3/db&pool=5&replica=postgres://u@r:4/db&max_replica_lag_ms=250",
    )
    .unwrap();
    assert_eq!(
        p.url,
        "postgres://u@h1:1,h2:2/db?target_session_attrs=read-write"
    );
    assert_eq!(p.pool, 5);
    assert_eq!(p.replicas, ["postgres://u@r:3/db", "postgres://u@r:4/db"]);
    assert_eq!(p.max_lag_ms, 250);
    let p = split_url("postgres://u@h/db").unwrap();
    assert!(p.replicas.is_empty());
    assert_eq!(p.max_lag_ms, DEFAULT_MAX_LAG_MS);
    assert!(split_url("postgres://u@h/db?replica=r:3").is_err());
    assert!(split_url("postgres://u@h/db?max_replica_lag_ms=soon").is_err());
}
