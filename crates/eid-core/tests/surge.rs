//! Surge mode's storage (issue 16): announced peaks over a real store (either engine), and the
//! SQLite online backup taken under concurrent writes, then restored.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use eid_core::audit::AuditQuery;
use eid_core::peaks::{self, NewPeak};
use eid_core::sql;
use eid_core::store::{Role, Staff};
use eid_core::{testkit, Acting, Actor, Caller, Error, Store};
use eid_domain::UnitCode;
use time::macros::datetime;
use time::OffsetDateTime;

const NOW: OffsetDateTime = datetime!(2026-12-01 09:00 UTC);

fn acting(role: Role) -> Acting {
    let staff = Staff {
        id: 4,
        username: "m".into(),
        display_name: "M".into(),
        role,
        unit: UnitCode::NATION,
        disabled: false,
    };
    Acting::new(
        Caller {
            staff,
            actor: Actor::Staff(4),
        },
        "req-surge",
        NOW,
    )
}

fn synced(store: &dyn Store) {
    let (tx, rx) = std::sync::mpsc::channel();
    store.audit_synced(
        "req-surge",
        Box::new(move |r| {
            let _ = tx.send(r);
        }),
    );
    rx.recv().unwrap().unwrap();
}

fn window(from: OffsetDateTime, hours: i64, load: u32) -> NewPeak {
    NewPeak {
        starts_at: from,
        ends_at: from + time::Duration::hours(hours),
        load_permille: load,
        note: "Công bố hỗ trợ tiền mặt".into(),
    }
}

#[test]
fn the_ministry_announces_and_removes_peaks_others_are_refused_and_both_are_audited() {
    let store = testkit::fresh_store("surge-peaks");
    let store = store.as_ref();
    let ministry = acting(Role::Ministry);
    let soon = NOW + time::Duration::hours(1);
    let id = peaks::add(store, &ministry, &window(soon, 6, 3000)).unwrap();
    let now_id = peaks::add(
        store,
        &ministry,
        &window(NOW - time::Duration::hours(1), 2, 2500),
    )
    .unwrap();
    // Refused: a province officer, a window that ended, a reversed window, a load below 1×.
    let province = acting(Role::Province);
    assert!(matches!(
        peaks::add(store, &province, &window(soon, 1, 2000)),
        Err(Error::ScopeDenied)
    ));
    for bad in [
        window(NOW - time::Duration::hours(5), 1, 2000),
        NewPeak {
            ends_at: soon - time::Duration::hours(1),
            ..window(soon, 1, 2000)
        },
        window(soon, 1, 500),
        window(soon, 24 * 40, 2000),
    ] {
        assert!(matches!(
            peaks::add(store, &ministry, &bad),
            Err(Error::Bad { .. })
        ));
    }
    let list = peaks::upcoming(store, NOW).unwrap();
    assert_eq!(list.iter().map(|p| p.id).collect::<Vec<_>>(), [now_id, id]);
    assert_eq!(list[1].load_permille, 3000);
    assert_eq!(list[1].note, "Công bố hỗ trợ tiền mặt");
    assert_eq!(list[1].created_by, "staff:4");
    assert_eq!(peaks::load_at(&list, NOW), 2500);
    assert_eq!(
        peaks::load_at(&list, soon + time::Duration::minutes(30)),
        3000
    );
    assert_eq!(peaks::load_at(&list, soon + time::Duration::hours(7)), 1000);

    assert!(matches!(
        peaks::remove(store, &province, id),
        Err(Error::ScopeDenied)
    ));
    peaks::remove(store, &ministry, id).unwrap();
    assert!(matches!(
        peaks::remove(store, &ministry, id),
        Err(Error::NotFound { .. })
    ));
    let list = peaks::upcoming(store, NOW).unwrap();
    assert_eq!(list.len(), 1);

    synced(store);
    let lines = store
        .audit_query(&AuditQuery {
            limit: 50,
            ..AuditQuery::default()
        })
        .unwrap();
    let count = |action: &str, outcome: &str| {
        lines
            .iter()
            .filter(|l| l.action == action && l.outcome == outcome)
            .count()
    };
    assert_eq!(count("peak.add", "ok"), 2);
    assert_eq!(count("peak.add", "denied"), 1);
    assert_eq!(count("peak.add", "failed"), 4);
    assert_eq!(count("peak.remove", "ok"), 1);
    assert_eq!(count("peak.remove", "denied"), 1);
}

#[test]
fn typed_times_and_loads_are_read_as_an_operator_means_them() {
    let t = peaks::parse_time("28/08/2025 19:30").unwrap();
    assert_eq!(t, datetime!(2025-08-28 12:30 UTC));
    assert_eq!(peaks::parse_time("2025-08-28T19:30"), Some(t));
    assert_eq!(peaks::parse_time("2025-08-28T19:30:00+07:00"), Some(t));
    assert_eq!(peaks::parse_time("31/02/2025 10:00"), None);
    assert_eq!(peaks::show_time(t), "28/08/2025 19:30");
    assert_eq!(peaks::parse_load("2,5"), Some(2500));
    assert_eq!(peaks::parse_load("3x"), Some(3000));
    assert_eq!(peaks::parse_load("abc"), None);
    assert_eq!(peaks::show_load(2500, true), "2,5×");
    assert_eq!(peaks::show_load(3000, false), "3×");
}

/// A SQLite store at a path of the test's own (backups are SQLite's).
fn sqlite_store(label: &str) -> (Arc<dyn Store>, std::path::PathBuf) {
    let dir = testkit::temp_dir(label);
    let path = dir.join("eid.db");
    let store = eid_core::open(&format!("sqlite://{}", path.display())).unwrap();
    store.migrate().unwrap();
    (store, path)
}

fn insert(store: &dyn Store, i: i64) -> i64 {
    sql::transact(store.db(), |tx| {
        tx.int(
            "INSERT INTO surge_peak (starts_at, ends_at, load_permille, note, created_by, created_at) \
             VALUES ($1, $2, 1000, $3, 'cli:test', $1) RETURNING id",
            &[i.into(), (i + 1).into(), format!("row {i} {}", "x".repeat(100)).into()],
        )
    })
    .unwrap()
}

#[test]
fn a_backup_taken_under_concurrent_writes_holds_every_write_acknowledged_before_it() {
    let (store, _path) = sqlite_store("surge-backup");
    // Some bulk, so that the copy takes a while and the writer runs alongside it.
    sql::transact(store.db(), |tx| {
        for i in 0..30_000_i64 {
            tx.exec(
                "INSERT INTO surge_peak (starts_at, ends_at, load_permille, note, created_by, created_at) \
                 VALUES ($1, $2, 1000, $3, 'cli:bulk', $1)",
                &[i.into(), (i + 1).into(), "y".repeat(200).into()],
            )?;
        }
        Ok::<_, eid_core::StoreError>(())
    })
    .unwrap();

    let acked = Arc::new(Mutex::new(Vec::<i64>::new()));
    let stop = Arc::new(AtomicBool::new(false));
    let writer = {
        let (store, acked, stop) = (Arc::clone(&store), Arc::clone(&acked), Arc::clone(&stop));
        std::thread::spawn(move || {
            let mut i = 1_000_000;
            while !stop.load(Ordering::Relaxed) {
                let id = insert(store.as_ref(), i);
                acked.lock().unwrap().push(id);
                i += 1;
            }
        })
    };
    let started = Instant::now();
    while acked.lock().unwrap().len() < 200 && started.elapsed() < Duration::from_secs(30) {
        std::thread::sleep(Duration::from_millis(5));
    }
    let before: Vec<i64> = acked.lock().unwrap().clone();
    assert!(before.len() >= 200, "the writer wrote");
    let out = testkit::temp_dir("surge-backup-out").join("copy.db");
    let copied = store.backup_to(&out).unwrap();
    let during = acked.lock().unwrap().len() - before.len();
    std::thread::sleep(Duration::from_millis(50));
    stop.store(true, Ordering::Relaxed);
    writer.join().unwrap();
    let all = acked.lock().unwrap().clone();
    assert!(
        all.len() > before.len(),
        "writes went on during and after the backup"
    );
    assert!(copied.main.1 > 1_000_000, "{copied:?}");
    assert!(
        copied.audit.is_some(),
        "the audit trail is copied beside it"
    );
    eid_core::backup::integrity(&out).unwrap();
    // A second backup to the same file is refused: a backup never overwrites.
    assert!(store.backup_to(&out).is_err());

    // Restore onto a fresh path, then onto the live-looking database only with force.
    let target = testkit::temp_dir("surge-restore").join("restored.db");
    eid_core::backup::restore(&out, &target, false).unwrap();
    let restored = eid_core::open(&format!("sqlite://{}", target.display())).unwrap();
    restored.migrate().unwrap();
    let ids: std::collections::HashSet<i64> = sql::read(restored.db(), |tx| {
        tx.query(
            "SELECT id FROM surge_peak WHERE created_by = 'cli:test'",
            &[],
        )?
        .iter()
        .map(|r| r[0].int())
        .collect::<Result<_, _>>()
    })
    .unwrap();
    for id in &before {
        assert!(ids.contains(id), "acknowledged write {id} is in the backup");
    }
    let bulk = sql::read(restored.db(), |tx| {
        tx.int(
            "SELECT count(*) FROM surge_peak WHERE created_by = 'cli:bulk'",
            &[],
        )
    })
    .unwrap();
    assert_eq!(bulk, 30_000);
    // Nothing acknowledged after the backup finished is in it.
    assert!(
        ids.len() <= before.len() + during,
        "{} ≤ {} + {during}",
        ids.len(),
        before.len()
    );
    drop(restored);

    // A database holding staff is not replaced without force.
    let (busy, busy_path) = sqlite_store("surge-restore-busy");
    busy.create_staff(
        &eid_core::store::NewStaff {
            username: "x".into(),
            display_name: "X".into(),
            role: Role::Ministry,
            unit: UnitCode::NATION,
            password_hash: "h".into(),
        },
        NOW,
    )
    .unwrap();
    drop(busy);
    assert!(eid_core::backup::holds_data(&busy_path));
    let refused = eid_core::backup::restore(&out, &busy_path, false).unwrap_err();
    assert!(refused.to_string().contains("--force"), "{refused}");
    let forced = eid_core::backup::restore(&out, &busy_path, true).unwrap();
    assert_eq!(forced.staff, 0);
    assert!(!eid_core::backup::holds_data(&busy_path));
}
