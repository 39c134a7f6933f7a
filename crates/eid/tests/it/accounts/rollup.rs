//! The roll-up: every transition counted.

use eid_core::accounts::{self as acc, metric};
use eid_core::store::path_range;
use eid_domain::UnitCode;
use serde_json::json;
use time::macros::date;

use super::*;

#[test]
fn the_roll_up_counts_every_transition() {
    let w = World::new("acc-rollup");
    let first_day = acc::day_of(crate::helpers::now());
    let dev = w.device(w.at.commune);
    // Level 1: two activations, one registration left pending.
    let a = w.person(Some(date!(2022 - 05 - 01)));
    w.level1(&a);
    let b = w.person(Some(date!(2021 - 06 - 01)));
    w.level1(&b);
    let c = w.person(Some(date!(2021 - 06 - 01)));
    ok(w.register(&c, c.id.as_str()), 202);
    // Level 2: four applications collected; one activated, one rejected, one in review, one
    // with its code unused; and one self-service upgrade.
    let d = w.person(Some(date!(2021 - 06 - 01)));
    w.level2(&dev, &d);
    let e = w.person(Some(date!(2021 - 06 - 01)));
    let rejected = w.collect(&dev, &e, true);
    ok(
        w.post(
            &format!("/api/v1/applications/{rejected}/reject"),
            Some(&w.huyen.token),
            json!({ "reason": "sai thông tin" }),
        ),
        200,
    );
    let f = w.person(Some(date!(2021 - 06 - 01)));
    w.collect(&dev, &f, false);
    w.collect(&dev, &c, true);
    let t = w.session(&a);
    ok(
        w.post(
            "/api/v1/app/upgrade",
            Some(&t),
            json!({ "passcode": PASSCODE, "photo_base64": photo(a.id.as_str()) }),
        ),
        200,
    );
    // A resident of the neighbouring commune, collected on the commune's device: counted
    // where they live.
    let g = w.person_born(
        date!(1988 - 02 - 02),
        Some(date!(2021 - 06 - 01)),
        w.at.neighbour,
    );
    w.collect(&dev, &g, true);
    // Refusals count nothing.
    refused(
        w.intake(w.packet(&dev, &e, "nobody", true)),
        403,
        "officer.unknown",
    );
    refused(
        w.signin(b.id.as_str(), "Sai-mật-khẩu-1", DEVICE),
        401,
        "auth.bad_credentials",
    );

    let last_day = acc::day_of(crate::helpers::now());
    let count = |m: &str, unit: &UnitCode| {
        acc::count(
            w.store.as_ref(),
            m,
            path_range(unit).unwrap(),
            first_day,
            last_day,
        )
        .unwrap()
    };
    let commune = w.at.commune;
    assert_eq!(count(metric::APPLICATIONS_COLLECTED, &commune), 4);
    assert_eq!(count(metric::LEVEL1_ACTIVATED, &commune), 2);
    assert_eq!(count(metric::LEVEL2_ACTIVATED, &commune), 2);
    let neighbour = w.at.neighbour;
    assert_eq!(count(metric::APPLICATIONS_COLLECTED, &neighbour), 1);
    assert_eq!(count(metric::LEVEL1_ACTIVATED, &neighbour), 0);
    let district = w.at.district;
    assert_eq!(count(metric::APPLICATIONS_COLLECTED, &district), 5);
    assert_eq!(count(metric::LEVEL2_ACTIVATED, &district), 2);
    assert_eq!(count(metric::APPLICATIONS_COLLECTED, &w.at.far), 0);
    // The same numbers as the events say.
    let mut by_kind = std::collections::HashMap::<String, i64>::new();
    for p in [&a, &b, &c, &d, &e, &f] {
        for k in w.stored_kinds(p) {
            *by_kind.entry(k).or_default() += 1;
        }
    }
    assert_eq!(by_kind.get("application_collected"), Some(&4));
    assert_eq!(by_kind.get("level1_activated"), Some(&2));
    assert_eq!(by_kind.get("level2_activated"), Some(&2));
    // Outside the days: nothing.
    assert_eq!(
        acc::count(
            w.store.as_ref(),
            metric::LEVEL1_ACTIVATED,
            path_range(&commune).unwrap(),
            first_day - 10,
            first_day - 1
        )
        .unwrap(),
        0
    );
}
