//! The test kit runs a server at a fixed date: everything it stamps follows the clock the test
//! holds, and moves only when the test moves it.

use std::sync::Arc;

use eid::testkit::{fresh_store, spawn_with_clock};
use eid_core::clock::ManualClock;
use eid_core::store::Role;
use eid_domain::UnitCode;
use time::macros::date;
use time::Duration;

use crate::helpers::{create_user, get_json};

/// The `at` of the newest `audit.read` entry in an audit page.
fn newest_read_at(page: &serde_json::Value) -> String {
    page.as_array()
        .unwrap()
        .iter()
        .find(|e| e["action"] == "audit.read")
        .map(|e| e["at"].as_str().unwrap().to_owned())
        .unwrap_or_default()
}

#[test]
fn a_server_on_a_manual_clock_stamps_its_time_and_moves_with_it() {
    let store = fresh_store("clock");
    let auditor = create_user(store.as_ref(), "kiemtra", Role::Auditor, UnitCode::NATION);
    let clock = Arc::new(ManualClock::at_date(date!(2023 - 03 - 15)));
    let base = spawn_with_clock(Arc::clone(&store), clock.clone());

    let (status, first) = get_json(&base, "/api/v1/audit", &auditor.token);
    assert_eq!(status, 200, "{first}");
    // The first read sees no earlier read.
    assert_eq!(newest_read_at(&first), "");

    clock.advance(Duration::days(1));
    let (_, second) = get_json(&base, "/api/v1/audit", &auditor.token);
    // The first read was audited at the fixed date (09:00 in Vietnam is 02:00 UTC).
    assert!(
        newest_read_at(&second).starts_with("2023-03-15T02:00:00"),
        "{second}"
    );

    clock.advance(Duration::days(400));
    let (_, third) = get_json(&base, "/api/v1/audit", &auditor.token);
    assert!(
        newest_read_at(&third).starts_with("2023-03-16T02:00:00"),
        "{third}"
    );
}
