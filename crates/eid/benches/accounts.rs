//! Level-2 accounts benchmark (a benchmark program, not a test; `bash bench/accounts.sh`).
//!
//! Over a temporary SQLite store holding a generated province, with the real server running
//! in-process on 127.0.0.1:0:
//!
//! 1. Applications: packets signed beforehand for distinct eligible people are sent to
//!    `POST /api/v1/intake/applications` from K client threads (keep-alive agents). Each request
//!    is collected → approved → activation code → SMS queued in one transaction. The same work
//!    (device lookup, signature check, collect, audit line: what the handler does) is also
//!    timed in-process from K threads, so the HTTP overhead shows. Goal: ≥ 2,000 applications/s.
//! 2. Activation (`POST /api/v1/app/activate`, two Argon2id hashes per request) and sign-in
//!    (`POST /api/v1/app/signin`, one Argon2id verification) against the bare cost of the same
//!    number of hashes on 2 threads, measured in the same run in blocks that alternate with the
//!    requests'.
//!    Goal: ≤ 1.3× the bare cost.
//!
//! `cargo bench -p eid --bench accounts -- [--people N] [--apps N] [--accounts N]
//! [--clients 8,32] [--argon-clients 2,8] [--serial N] [--dir PATH]`

// A benchmark program: a failed setup step stops it with its message.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use eid_core::accounts as acc;
use eid_core::import::{import_generated, ImportOptions, OnError};
use eid_core::intake::{self, PacketFields};
use eid_core::secret::{hash_password, random_token, token_hash, verify_password};
use eid_core::store::{NewStaff, Role};
use eid_core::{Actor, Store};
use eid_domain::{LifeState, Person, PhoneNumber, UnitCode};
use time::{Date, OffsetDateTime};

const PROVINCE: &str = "62";
const OFFICER: &str = "bench.officer";
const APPS_GOAL: f64 = 2000.0;
const RATIO_GOAL: f64 = 1.3;
/// Requests per block when the Argon2id-bound paths alternate with bare hashing.
const BLOCK: usize = 50;

struct Args {
    people: u64,
    apps: usize,
    accounts: usize,
    clients: Vec<usize>,
    argon_clients: Vec<usize>,
    serial: usize,
    dir: Option<PathBuf>,
}

fn usage(why: &str) -> ! {
    eprintln!("{why}");
    eprintln!(
        "usage: cargo bench -p eid --bench accounts -- [--people N] [--apps N per run] \
         [--accounts N] [--clients 8,32] [--argon-clients 2,8] [--serial N] [--dir PATH]"
    );
    std::process::exit(2)
}

fn num<T: std::str::FromStr>(flag: &str, v: &str) -> T {
    v.replace(['_', ','], "")
        .parse()
        .unwrap_or_else(|_| usage(&format!("{flag}: not a number: {v}")))
}

fn args() -> Args {
    let mut a = Args {
        people: 100_000,
        apps: 8_000,
        accounts: 200,
        clients: vec![8, 32],
        argon_clients: vec![2, 8],
        serial: 1_000,
        dir: None,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        // `cargo bench` passes `--bench` to every bench binary.
        if flag == "--bench" {
            continue;
        }
        let v = it
            .next()
            .unwrap_or_else(|| usage(&format!("{flag} needs a value")));
        match flag.as_str() {
            "--people" => a.people = num(&flag, &v),
            "--apps" => a.apps = num(&flag, &v),
            "--accounts" => a.accounts = num(&flag, &v),
            "--argon-clients" => {
                a.argon_clients = v.split(',').map(|k| num(&flag, k)).collect();
            }
            "--serial" => a.serial = num(&flag, &v),
            "--clients" => a.clients = v.split(',').map(|k| num(&flag, k)).collect(),
            "--dir" => a.dir = Some(PathBuf::from(v)),
            _ => usage(&format!("unknown flag {flag}")),
        }
    }
    if a.clients.is_empty()
        || a.clients.contains(&0)
        || a.argon_clients.is_empty()
        || a.argon_clients.contains(&0)
        || a.apps == 0
    {
        usage("clients, argon clients and apps must be at least 1");
    }
    a
}

/// Thousands separators.
fn thousands(n: f64) -> String {
    let s = format!("{:.0}", n.max(0.0));
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn ms(d: Duration) -> String {
    let m = d.as_secs_f64() * 1000.0;
    if m < 10.0 {
        format!("{m:.1} ms")
    } else {
        format!("{m:.0} ms")
    }
}

/// The latencies of one run, sorted.
struct Latencies(Vec<Duration>);

impl Latencies {
    fn new(mut v: Vec<Duration>) -> Latencies {
        v.sort_unstable();
        Latencies(v)
    }
    fn pct(&self, p: f64) -> Duration {
        let n = self.0.len();
        if n == 0 {
            return Duration::ZERO;
        }
        let i = ((n as f64 * p).ceil() as usize).clamp(1, n) - 1;
        self.0[i]
    }
    fn summary(&self) -> String {
        format!(
            "p50 {}, p99 {}, max {}",
            ms(self.pct(0.50)),
            ms(self.pct(0.99)),
            ms(self.pct(1.0))
        )
    }
}

/// What a timed run of requests gives.
struct Run {
    ok: usize,
    failed: usize,
    first_error: Option<String>,
    elapsed: Duration,
    latencies: Latencies,
}

impl Run {
    fn rate(&self) -> f64 {
        self.ok as f64 / self.elapsed.as_secs_f64()
    }
}

/// Runs `work(i)` for i in 0..n from `threads` threads; each thread gets its own state from
/// `init`. `work` returns Err(message) for a refused item.
fn run_parallel<S, I, W>(n: usize, threads: usize, init: I, work: W) -> Run
where
    I: Fn() -> S + Sync,
    W: Fn(&mut S, usize) -> Result<(), String> + Sync,
{
    let next = AtomicUsize::new(0);
    let errors = Mutex::new((0usize, None::<String>));
    let all = Mutex::new(Vec::with_capacity(n));
    let start = Instant::now();
    std::thread::scope(|s| {
        for _ in 0..threads {
            s.spawn(|| {
                let mut state = init();
                let mut mine = Vec::with_capacity(n / threads + 1);
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= n {
                        break;
                    }
                    let t = Instant::now();
                    match work(&mut state, i) {
                        Ok(()) => mine.push(t.elapsed()),
                        Err(e) => {
                            let mut g = errors.lock().unwrap();
                            g.0 += 1;
                            g.1.get_or_insert(e);
                        }
                    }
                }
                all.lock().unwrap().extend(mine);
            });
        }
    });
    let elapsed = start.elapsed();
    let (failed, first_error) = errors.into_inner().unwrap();
    let latencies = Latencies::new(all.into_inner().unwrap());
    Run {
        ok: latencies.0.len(),
        failed,
        first_error,
        elapsed,
        latencies,
    }
}

/// POSTs a JSON body; Ok with the response body on `want`, Err with status and body otherwise.
fn post(agent: &ureq::Agent, url: &str, body: &str, want: u16) -> Result<String, String> {
    let mut r = agent
        .post(url)
        .header("Content-Type", "application/json")
        .send(body)
        .map_err(|e| format!("transport: {e}"))?;
    let status = r.status().as_u16();
    let text = r.body_mut().read_to_string();
    if status == want {
        text.map_err(|e| e.to_string())
    } else {
        Err(format!("{status}: {}", text.unwrap_or_default()))
    }
}

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .timeout_global(Some(Duration::from_secs(120)))
        .max_idle_connections_per_host(4)
        .http_status_as_error(false)
        .proxy(None)
        .build()
        .new_agent()
}

/// An applicant: the person and the phone the packet carries (unique in the run, so that an
/// SMS can be traced back to its applicant).
struct Applicant {
    id: String,
    phone: String,
}

/// Alive (or absent), a valid card today, 14 or older: collected and approved without review.
fn eligible(p: &Person, today: Date) -> bool {
    p.check(today).is_ok()
        && matches!(p.life.state, LifeState::Alive | LifeState::Absent)
        && p.card.is_some_and(|c| c.is_valid(p.birth, today))
        && p.birth.age_on(today) >= acc::MIN_AGE
}

/// Eligible people with distinct IDs, each with a phone no other applicant uses: the register's
/// phone when it has one (a different phone would send the application to review), otherwise
/// a made-up number no one in the register has.
fn applicants(persons: &[Person], today: Date) -> Vec<Applicant> {
    let taken: HashSet<&str> = persons
        .iter()
        .filter_map(|p| p.phone.as_ref().map(PhoneNumber::as_str))
        .collect();
    let mut used_phones: HashSet<String> = HashSet::new();
    let mut ids: HashSet<&str> = HashSet::new();
    let mut made_up = 0u32;
    let mut out = Vec::new();
    for p in persons.iter().filter(|p| eligible(p, today)) {
        if !ids.insert(p.id.as_str()) {
            continue;
        }
        let phone = match &p.phone {
            Some(ph) => ph.as_str().to_owned(),
            None => loop {
                made_up += 1;
                let candidate = format!("+8497{made_up:07}");
                if !taken.contains(candidate.as_str()) {
                    break candidate;
                }
            },
        };
        if used_phones.insert(phone.clone()) {
            out.push(Applicant {
                id: p.id.as_str().to_owned(),
                phone,
            });
        }
    }
    out
}

/// A signed packet: `(packet_hex, signature_hex)`.
type Signed = (String, String);

fn sign_all(
    who: &[Applicant],
    device: i64,
    at: OffsetDateTime,
    sign: impl Fn(&PacketFields<'_>) -> Result<Signed, String>,
) -> Vec<Signed> {
    who.iter()
        .enumerate()
        .map(|(i, a)| {
            let n = i as u128;
            let fields = PacketFields {
                device,
                personal_id: &a.id,
                phone: &a.phone,
                portrait_sha256: token_hash(&a.id).try_into().unwrap_or([7; 32]),
                method: "fingerprint",
                against: "card",
                matched: true,
                score: 0.97,
                officer: OFFICER,
                collected_at: at,
                nonce: n.to_be_bytes(),
            };
            sign(&fields).expect("a packet signs")
        })
        .collect()
}

/// In-process: what the intake handler does, without HTTP. Returns the run and the time spent
/// in each step (summed over threads).
fn intake_in_process(
    store: &Arc<dyn Store>,
    settings: &acc::Settings,
    device_id: i64,
    packets: &[Signed],
    threads: usize,
) -> (Run, [Duration; 4]) {
    let steps = Mutex::new([Duration::ZERO; 4]);
    let run = run_parallel(
        packets.len(),
        threads,
        || [Duration::ZERO; 4],
        |mine, i| {
            let (packet, sig) = &packets[i];
            let now = eid_core::clock::Clock::now(&eid_core::clock::SystemClock);
            let t0 = Instant::now();
            let device = acc::device(store.as_ref(), device_id)
                .map_err(|e| e.to_string())?
                .ok_or("no device")?;
            let key: [u8; 32] = device.public_key.clone().try_into().map_err(|_| "key")?;
            let t1 = Instant::now();
            let verified = intake::verify(packet, sig, &key).map_err(|e| e.to_string())?;
            let t2 = Instant::now();
            let out = acc::collect(store.as_ref(), settings, &device, &verified, now);
            let t3 = Instant::now();
            let actor = Actor::Cli(format!("device:{device_id}"));
            let outcome = if out.is_ok() { "ok" } else { "denied" };
            store
                .audit(
                    &actor,
                    "intake.packet",
                    verified.personal_id.as_str(),
                    outcome,
                    &format!("bench-{i}"),
                    now,
                )
                .map_err(|e| e.to_string())?;
            let t4 = Instant::now();
            mine[0] += t1 - t0;
            mine[1] += t2 - t1;
            mine[2] += t3 - t2;
            mine[3] += t4 - t3;
            if i % 64 == 0 || i + 1 == packets.len() {
                let mut g = steps.lock().unwrap();
                for (a, b) in g.iter_mut().zip(mine.iter_mut()) {
                    *a += std::mem::take(b);
                }
            }
            let c = out.map_err(|e| format!("{}: {e}", e.code()))?;
            if c.application.state.as_str() != "code_sent" {
                return Err(format!("state {}", c.application.state));
            }
            Ok(())
        },
    );
    (run, steps.into_inner().unwrap())
}

fn intake_http(base: &str, packets: &[Signed], threads: usize) -> Run {
    let url = format!("{base}/api/v1/intake/applications");
    let bodies: Vec<String> = packets
        .iter()
        .map(|(p, s)| format!("{{\"packet\":\"{p}\",\"signature\":\"{s}\"}}"))
        .collect();
    run_parallel(bodies.len(), threads, agent, |agent, i| {
        let body = post(agent, &url, &bodies[i], 201)?;
        if !body.contains("\"state\":\"code_sent\"") {
            return Err(format!("not code_sent: {body}"));
        }
        Ok(())
    })
}

/// The process's CPU time (all threads) and bytes passed to write calls, from /proc (Linux).
#[derive(Clone, Copy, Default)]
struct Proc {
    cpu: f64,
    written: u64,
}

impl Proc {
    fn now() -> Proc {
        let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
        // Fields after the command's closing parenthesis; utime and stime are the 12th and 13th.
        let ticks: Vec<f64> = stat
            .rsplit_once(')')
            .map(|(_, rest)| rest)
            .unwrap_or("")
            .split_whitespace()
            .skip(11)
            .take(2)
            .filter_map(|t| t.parse().ok())
            .collect();
        let io = std::fs::read_to_string("/proc/self/io").unwrap_or_default();
        let written = io
            .lines()
            .find_map(|l| l.strip_prefix("wchar: "))
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or(0);
        Proc {
            cpu: ticks.iter().sum::<f64>() / 100.0,
            written,
        }
    }

    /// "CPU x ms and y KB written per item, z % of the cores" since `self`.
    fn since(self, items: usize, wall: Duration) -> String {
        let now = Proc::now();
        let n = items.max(1) as f64;
        let cores = std::thread::available_parallelism().map_or(1, usize::from) as f64;
        format!(
            "CPU {:.2} ms and {:.0} KB written per item, cores {:.0} % busy",
            (now.cpu - self.cpu) * 1000.0 / n,
            now.written.saturating_sub(self.written) as f64 / 1024.0 / n,
            (now.cpu - self.cpu) * 100.0 / (wall.as_secs_f64() * cores),
        )
    }
}

/// The size of the store's write-ahead log, in MiB.
fn wal_mib(dir: &std::path::Path) -> f64 {
    std::fs::metadata(dir.join("eid.db-wal")).map_or(0.0, |m| m.len() as f64 / 1048576.0)
}

fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .unwrap_or_default()
        .split_whitespace()
        .take(3)
        .collect::<Vec<_>>()
        .join(" ")
}

/// SMS not yet handed to the sender.
fn pending_sms(store: &dyn Store) -> i64 {
    eid_core::sql::read(store.db(), |tx| {
        tx.int(
            "SELECT count(*) FROM sms_outbox WHERE state = 'pending'",
            &[],
        )
    })
    .unwrap_or(-1)
}

/// Waits until the dispatcher has sent the outbox (so that a run does not pay for the previous
/// run's SMS); returns how long that took.
fn drain_outbox(store: &dyn Store) -> Duration {
    let t = Instant::now();
    while pending_sms(store) > 0 && t.elapsed() < Duration::from_secs(120) {
        std::thread::sleep(Duration::from_millis(50));
    }
    t.elapsed()
}

/// Bare Argon2id: `n` hashes (or verifications against a stored hash) on 2 threads.
fn bare_argon(n: usize, verify: bool) -> Duration {
    let stored = hash_password("Bench password 1A").expect("a hash");
    let run = run_parallel(
        n,
        2,
        || (),
        |(), i| {
            if verify {
                verify_password("Bench password 1A", Some(&stored))
                    .then_some(())
                    .ok_or_else(|| "verify failed".to_owned())
            } else {
                hash_password(&format!("Bench secret {i} A1")).map(|_| ())
            }
        },
    );
    run.elapsed
}

/// What [`interleaved`] measured.
struct Interleaved {
    run: Run,
    /// Wall time of the bare blocks.
    bare: Duration,
    /// CPU seconds of the process during the request blocks and during the bare blocks.
    run_cpu: f64,
    bare_cpu: f64,
}

/// Requests in blocks of [`BLOCK`], alternating with bare work of the same size (bare first in
/// even blocks, last in odd ones), so that both see the same machine.
fn interleaved(
    n: usize,
    bare: impl Fn(usize) -> Duration,
    run: impl Fn(std::ops::Range<usize>) -> Run,
) -> Interleaved {
    let mut out = Interleaved {
        run: Run {
            ok: 0,
            failed: 0,
            first_error: None,
            elapsed: Duration::ZERO,
            latencies: Latencies(Vec::new()),
        },
        bare: Duration::ZERO,
        run_cpu: 0.0,
        bare_cpu: 0.0,
    };
    let bare_block = |out: &mut Interleaved, size: usize| {
        let p = Proc::now();
        out.bare += bare(size);
        out.bare_cpu += Proc::now().cpu - p.cpu;
    };
    for (b, start) in (0..n).step_by(BLOCK).enumerate() {
        let range = start..(start + BLOCK).min(n);
        let size = range.len();
        if b % 2 == 0 {
            bare_block(&mut out, size);
        }
        let p = Proc::now();
        let r = run(range);
        out.run_cpu += Proc::now().cpu - p.cpu;
        if b % 2 == 1 {
            bare_block(&mut out, size);
        }
        let total = &mut out.run;
        total.ok += r.ok;
        total.failed += r.failed;
        total.first_error = total.first_error.take().or(r.first_error);
        total.elapsed += r.elapsed;
        total.latencies.0.extend(r.latencies.0);
    }
    out.run.latencies = Latencies::new(std::mem::take(&mut out.run.latencies.0));
    out
}

/// One line of the table.
struct Row {
    name: String,
    eid: String,
    baseline: String,
    ratio: String,
    goal: String,
    met: String,
}

fn print_table(rows: &[Row]) {
    let head = Row {
        name: "benchmark".into(),
        eid: "eid".into(),
        baseline: "baseline (same run)".into(),
        ratio: "ratio".into(),
        goal: "goal".into(),
        met: "met?".into(),
    };
    let cols = |r: &Row| {
        [
            r.name.clone(),
            r.eid.clone(),
            r.baseline.clone(),
            r.ratio.clone(),
            r.goal.clone(),
            r.met.clone(),
        ]
    };
    let mut width = [0usize; 6];
    for r in std::iter::once(&head).chain(rows) {
        for (w, c) in width.iter_mut().zip(cols(r)) {
            *w = (*w).max(c.chars().count());
        }
    }
    let line = |r: &Row| {
        let cells: Vec<String> = cols(r)
            .iter()
            .zip(width)
            .map(|(c, w)| format!("{c}{}", " ".repeat(w - c.chars().count())))
            .collect();
        println!("{}", cells.join(" | ").trim_end());
    };
    line(&head);
    println!(
        "{}",
        width
            .iter()
            .map(|w| "-".repeat(*w))
            .collect::<Vec<_>>()
            .join("-|-")
    );
    for r in rows {
        line(r);
    }
}

fn check_run(what: &str, run: &Run) {
    if run.failed > 0 {
        eprintln!(
            "{what}: {} of {} refused; first: {}",
            run.failed,
            run.failed + run.ok,
            run.first_error.as_deref().unwrap_or("?")
        );
    }
}

fn main() {
    // `cargo test --all-targets` runs bench targets too, without `--bench`: do nothing then.
    if !std::env::args().any(|a| a == "--bench") {
        println!("accounts benchmark: run it with `cargo bench -p eid --bench accounts` or bench/accounts.sh");
        return;
    }
    let a = args();
    let started = Instant::now();
    let dir = a.dir.clone().unwrap_or_else(|| {
        std::env::temp_dir().join(format!("eid-bench-accounts-{}", &random_token()[..8]))
    });
    std::fs::create_dir_all(&dir).expect("the bench folder");
    // A store left by an earlier run in the same folder is replaced (only its files).
    for f in ["eid.db", "eid.audit.db"] {
        for suffix in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(dir.join(format!("{f}{suffix}")));
        }
    }
    let store = eid_core::open(&format!("sqlite://{}", dir.join("eid.db").display()))
        .expect("the store opens");
    store.migrate().expect("the store migrates");

    // The register: one generated province.
    let now = eid_core::clock::Clock::now(&eid_core::clock::SystemClock);
    let today = now.to_offset(acc::vietnam()).date();
    let province = UnitCode::parse(PROVINCE).expect("a province code");
    let t = Instant::now();
    let cfg = eid_gen::GenConfig {
        count: a.people,
        seed: 20_231_123,
        province: Some(province),
        today,
    };
    let persons: Vec<Person> = eid_gen::Generator::new(&cfg)
        .expect("the generator")
        .collect();
    let opts = ImportOptions {
        on_error: OnError::Skip,
        today,
        now,
        actor: Actor::Cli("bench".into()),
        reason: "accounts benchmark".into(),
    };
    let summary =
        import_generated(store.as_ref(), persons.iter().cloned(), &opts).expect("the import");
    let import_time = t.elapsed();
    let mut who = applicants(&persons, today);
    drop(persons);

    // Who collects: a province officer and an intake device of the province.
    store
        .create_staff(
            &NewStaff {
                username: OFFICER.into(),
                display_name: "Cán bộ benchmark".into(),
                role: Role::Province,
                unit: province,
                password_hash: hash_password("Bench officer 1A").expect("a hash"),
            },
            now,
        )
        .expect("the officer");
    let (seed, public) = intake::new_key();
    let key = intake::signing_key(&seed).expect("the device key");
    let public = intake::parse_public_key(&public).expect("the public key");
    let device = acc::add_device(
        store.as_ref(),
        "bench intake device",
        &province,
        &public,
        10_000,
        &Actor::Cli("bench".into()),
        now,
    )
    .unwrap_or_else(|e| {
        eprintln!("add_device: {e:?}");
        std::process::exit(1)
    });

    // Packets for every run, signed before any timing: a short serial run (one thread, in
    // process: the cost of one application without contention), then for each client count an
    // in-process run and an HTTP run.
    let runs = a.clients.len() * 2;
    let mut apps = a.apps;
    let serial = a.serial.min(who.len() / 10);
    if who.len() < runs * apps + serial {
        apps = (who.len() - serial) / runs;
        eprintln!(
            "only {} eligible applicants among {} people: {apps} applications per run instead of {}",
            who.len(),
            a.people,
            a.apps
        );
    }
    who.truncate(runs * apps + serial);
    let t = Instant::now();
    let signed = sign_all(&who, device.id, now, |f| intake::sign(f, &key));
    let sign_time = t.elapsed();
    // The test kit serves as `eid serve` does (one worker per core), with the development
    // SMS sink and face verifier.
    let base = eid::testkit::spawn(Arc::clone(&store));
    let settings = eid::state::account_settings(&eid::Config::default());

    println!(
        "accounts benchmark: {} people of province {PROVINCE} generated and imported ({} imported) in {:.1} s; \
         {} eligible applicants; {} packets signed in {:.1} s; {apps} applications per run; load average {}",
        thousands(a.people as f64),
        thousands(summary.imported as f64),
        import_time.as_secs_f64(),
        thousands(who.len() as f64),
        thousands(signed.len() as f64),
        sign_time.as_secs_f64(),
        loadavg(),
    );

    let in_process = |what: &str, packets: &[Signed], k: usize| {
        drain_outbox(store.as_ref());
        let p0 = Proc::now();
        let (run, steps) = intake_in_process(&store, &settings, device.id, packets, k);
        let usage = p0.since(run.ok, run.elapsed);
        check_run(what, &run);
        let wal = wal_mib(&dir);
        let backlog = pending_sms(store.as_ref());
        let drain = drain_outbox(store.as_ref());
        let per = |d: Duration| d.as_secs_f64() * 1e6 / run.ok.max(1) as f64;
        println!(
            "{what}: {} apps/s; per application, summed over threads: device {:.0} µs, \
             signature {:.0} µs, collect {:.0} µs, audit {:.0} µs; {usage}; WAL {wal:.0} MiB; \
             SMS left to send {backlog}, sent within {:.1} s",
            thousands(run.rate()),
            per(steps[0]),
            per(steps[1]),
            per(steps[2]),
            per(steps[3]),
            drain.as_secs_f64(),
        );
        run
    };

    // 1. Applications.
    let mut rows = Vec::new();
    let mut http_people: Vec<&Applicant> = Vec::new();
    let (serial_packets, rest) = signed.split_at(serial);
    if serial > 0 {
        in_process("in-process, 1 thread (serial cost)", serial_packets, 1);
    }
    let mut chunks = rest.chunks(apps).zip(who[serial..].chunks(apps));
    for &k in &a.clients {
        let (packets, _) = chunks.next().expect("packets for the run");
        let inproc = in_process(&format!("in-process, {k} threads"), packets, k);
        let (packets, people) = chunks.next().expect("packets for the run");
        let p0 = Proc::now();
        let http = intake_http(&base, packets, k);
        let usage = p0.since(http.ok, http.elapsed);
        check_run(&format!("HTTP, {k} clients"), &http);
        let wal = wal_mib(&dir);
        let backlog = pending_sms(store.as_ref());
        let drain = drain_outbox(store.as_ref());
        println!(
            "HTTP, {k} clients: {} apps/s; {usage} (server and clients); WAL {wal:.0} MiB; \
             SMS left to send {backlog}, sent within {:.1} s",
            thousands(http.rate()),
            drain.as_secs_f64()
        );
        http_people.extend(people.iter());
        let met = |r: f64| if r >= APPS_GOAL { "yes" } else { "no" }.to_owned();
        rows.push(Row {
            name: format!("applications in-process, {k} threads"),
            eid: format!(
                "{} apps/s ({})",
                thousands(inproc.rate()),
                inproc.latencies.summary()
            ),
            baseline: "—".into(),
            ratio: "—".into(),
            goal: "≥ 2,000 apps/s".into(),
            met: met(inproc.rate()),
        });
        rows.push(Row {
            name: format!("applications over HTTP, {k} clients"),
            eid: format!(
                "{} apps/s ({})",
                thousands(http.rate()),
                http.latencies.summary()
            ),
            baseline: format!("in-process: {} apps/s", thousands(inproc.rate())),
            ratio: format!("{:.2}", http.rate() / inproc.rate()),
            goal: "≥ 2,000 apps/s".into(),
            met: met(http.rate()),
        });
    }

    // 2. Activation and sign-in. The codes come from the SMS outbox, traced back by phone.
    let codes: HashMap<String, String> = acc::sms_list(store.as_ref(), u32::MAX)
        .expect("the outbox")
        .into_iter()
        .filter(|m| m.purpose == "activate")
        .filter_map(|m| {
            let at = m.body.find("Ma kich hoat: ")? + "Ma kich hoat: ".len();
            Some((m.to, m.body.get(at..at + 6)?.to_owned()))
        })
        .collect();
    // Each activation run activates its own `accounts` people; every sign-in run signs all of
    // them in again, on the phone bound at activation.
    let want = a.accounts * a.argon_clients.len();
    let chosen: Vec<(&Applicant, String)> = http_people
        .iter()
        .filter_map(|p| Some((*p, codes.get(&p.phone)?.clone())))
        .take(want)
        .collect();
    let m = chosen.len() / a.argon_clients.len();
    if m > 0 {
        let password = |i: usize| format!("Bench password {i} A1");
        let device_id = |i: usize| format!("bench-phone-{i:06}");
        let act_bodies: Vec<String> = chosen
            .iter()
            .enumerate()
            .map(|(i, (p, code))| {
                serde_json::json!({
                    "personal_id": p.id,
                    "code": code,
                    "password": password(i),
                    "passcode": "246810",
                    "device_id": device_id(i),
                })
                .to_string()
            })
            .collect();
        let signin_bodies: Vec<String> = chosen
            .iter()
            .enumerate()
            .map(|(i, (p, _))| {
                serde_json::json!({
                    "personal_id": p.id,
                    "password": password(i),
                    "device_id": device_id(i),
                })
                .to_string()
            })
            .collect();

        // Each run alternates blocks of requests with blocks of bare hashing of the same size
        // (ABBA), so that both see the same machine: the baseline of a run is the sum of its
        // bare blocks.
        let url = format!("{base}/api/v1/app/activate");
        let mut act_runs = Vec::new();
        for (j, &k) in a.argon_clients.iter().enumerate() {
            let bodies = &act_bodies[j * m..(j + 1) * m];
            let measured = interleaved(
                m,
                |n| bare_argon(2 * n, false),
                |range| {
                    let bodies = &bodies[range];
                    run_parallel(bodies.len(), k, agent, |agent, i| {
                        post(agent, &url, &bodies[i], 200).map(|_| ())
                    })
                },
            );
            check_run(&format!("activation, {k} clients"), &measured.run);
            act_runs.push((k, measured));
        }
        drain_outbox(store.as_ref());
        let url = format!("{base}/api/v1/app/signin");
        let mut signin_runs = Vec::new();
        for (j, &k) in a.argon_clients.iter().enumerate() {
            let bodies = &signin_bodies[j * m..(j + 1) * m];
            let measured = interleaved(
                m,
                |n| bare_argon(n, true),
                |range| {
                    let bodies = &bodies[range];
                    run_parallel(bodies.len(), k, agent, |agent, i| {
                        let body = post(agent, &url, &bodies[i], 200)?;
                        body.contains("\"token\"")
                            .then_some(())
                            .ok_or_else(|| format!("no session: {body}"))
                    })
                },
            );
            check_run(&format!("sign-in, {k} clients"), &measured.run);
            signin_runs.push((k, measured));
        }
        let cpu_line = |what: &str, k: usize, x: &Interleaved, hashes: usize| {
            println!(
                "{what}, {k} clients: bare Argon2id on 2 threads alongside: {:.1} hashes/s; \
                 CPU of the process {:.1} ms per hash in the requests' blocks, {:.1} ms per bare \
                 hash (ratio {:.2})",
                hashes as f64 / x.bare.as_secs_f64(),
                x.run_cpu * 1000.0 / hashes as f64,
                x.bare_cpu * 1000.0 / hashes as f64,
                x.run_cpu / x.bare_cpu,
            );
        };
        for (k, x) in &act_runs {
            cpu_line("activation", *k, x, 2 * m);
        }
        for (k, x) in &signin_runs {
            cpu_line("sign-in", *k, x, m);
        }
        let argon_row = |name: String, run: &Run, base: Duration, what: String| {
            let ratio = run.elapsed.as_secs_f64() / base.as_secs_f64();
            Row {
                name,
                eid: format!(
                    "{:.2} s, {:.1}/s ({})",
                    run.elapsed.as_secs_f64(),
                    run.rate(),
                    run.latencies.summary()
                ),
                baseline: format!("{what}: {:.2} s", base.as_secs_f64()),
                ratio: format!("{ratio:.2}×"),
                goal: "≤ 1.30×".into(),
                met: if ratio <= RATIO_GOAL && run.failed == 0 {
                    "yes"
                } else {
                    "no"
                }
                .into(),
            }
        };
        for (k, x) in &act_runs {
            rows.push(argon_row(
                format!("activation over HTTP, {m} accounts, {k} clients"),
                &x.run,
                x.bare,
                format!("{} hashes, 2 threads", 2 * m),
            ));
        }
        for (k, x) in &signin_runs {
            rows.push(argon_row(
                format!("sign-in over HTTP, {m} accounts, {k} clients"),
                &x.run,
                x.bare,
                format!("{m} verifications, 2 threads"),
            ));
        }
    } else {
        eprintln!("no activation codes found in the outbox: activation and sign-in skipped");
    }

    println!();
    print_table(&rows);
    println!(
        "\n(2 × {} runs of {apps} applications; goal ≥ {} applications/s and Argon2id-bound paths \
         ≤ {RATIO_GOAL}× bare hashing; total {:.0} s; load average at the end {})",
        a.clients.len(),
        thousands(APPS_GOAL),
        started.elapsed().as_secs_f64(),
        loadavg()
    );
    if a.dir.is_none() {
        let _ = std::fs::remove_dir_all(&dir);
    }
    std::process::exit(0);
}
