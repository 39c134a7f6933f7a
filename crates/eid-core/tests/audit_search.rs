//! The auditor's search of the trail (`eid_core::audit_log::audit_search`), on both engines:
//! by staff username, action, target and a range of days in Vietnam's time; who may search;
//! the search is itself audited.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use eid_core::audit_log::{audit_search, AuditFilter};
use eid_core::store::{Actor, NewStaff, Role, Staff};
use eid_core::{Acting, Caller, Error};
use eid_domain::UnitCode;
use time::macros::{date, datetime};
use time::OffsetDateTime;

const NOW: OffsetDateTime = datetime!(2026-12-04 09:00 UTC);

fn acting(id: i64, role: Role) -> Acting {
    let staff = Staff {
        id,
        username: format!("staff{id}"),
        display_name: format!("Staff {id}"),
        role,
        unit: UnitCode::parse("62").unwrap(),
        disabled: false,
    };
    Acting::new(
        Caller {
            staff,
            actor: Actor::Staff(id),
        },
        "rid-search",
        NOW,
    )
}

fn filter(f: AuditFilter) -> AuditFilter {
    AuditFilter { limit: 100, ..f }
}

#[test]
fn the_auditor_searches_by_username_action_target_and_days() {
    for store in eid_core::testkit::engines("audit_search") {
        let s = store.as_ref();
        let id = s
            .create_staff(
                &NewStaff {
                    username: "tinh.62".into(),
                    display_name: "Công an Tỉnh".into(),
                    role: Role::Province,
                    unit: UnitCode::parse("62").unwrap(),
                    password_hash: "x".into(),
                },
                NOW,
            )
            .unwrap();
        let staff = Actor::Staff(id);
        // 2 December 23:30 in Vietnam is 16:30 UTC; 3 December 00:30 in Vietnam is 17:30 UTC.
        let lines = [
            (
                &staff,
                "person.read",
                "062305000001",
                datetime!(2026-12-02 16:30 UTC),
            ),
            (
                &staff,
                "person.read",
                "062305000002",
                datetime!(2026-12-02 17:30 UTC),
            ),
            (
                &staff,
                "auth.login",
                "tinh.62",
                datetime!(2026-12-03 02:00 UTC),
            ),
            (
                &Actor::Cli("demo".into()),
                "person.read",
                "062305000001",
                datetime!(2026-12-03 03:00 UTC),
            ),
        ];
        for (i, (actor, action, target, at)) in lines.iter().enumerate() {
            s.audit(actor, action, target, "ok", &format!("r{i}"), *at)
                .unwrap();
        }
        let auditor = acting(900, Role::Auditor);
        let rids = |f: AuditFilter| -> Vec<String> {
            audit_search(s, &auditor, &filter(f))
                .unwrap()
                .into_iter()
                .filter(|e| e.action != "audit.read")
                .map(|e| e.request_id)
                .collect()
        };
        let by_name = AuditFilter {
            actor: "tinh.62".into(),
            ..Default::default()
        };
        assert_eq!(rids(by_name.clone()), ["r2", "r1", "r0"]);
        // Days are Vietnam's: 3 December starts at 17:00 UTC on the 2nd.
        assert_eq!(
            rids(AuditFilter {
                from: Some(date!(2026 - 12 - 03)),
                to: Some(date!(2026 - 12 - 03)),
                ..by_name.clone()
            }),
            ["r2", "r1"]
        );
        assert_eq!(
            rids(AuditFilter {
                to: Some(date!(2026 - 12 - 02)),
                ..Default::default()
            }),
            ["r0"]
        );
        assert_eq!(
            rids(AuditFilter {
                action: "person.read".into(),
                target: "062305000001".into(),
                ..Default::default()
            }),
            ["r3", "r0"]
        );
        assert_eq!(
            rids(AuditFilter {
                actor: "cli:demo".into(),
                ..Default::default()
            }),
            ["r3"]
        );
        assert!(rids(AuditFilter {
            actor: "nobody.here".into(),
            ..Default::default()
        })
        .is_empty());
        assert!(matches!(
            audit_search(
                s,
                &auditor,
                &filter(AuditFilter {
                    from: Some(date!(2026 - 12 - 03)),
                    to: Some(date!(2026 - 12 - 02)),
                    ..Default::default()
                })
            ),
            Err(Error::Bad {
                code: "audit.bad_range",
                ..
            })
        ));
        // A province officer is refused, and the refusal is in the trail.
        assert!(matches!(
            audit_search(
                s,
                &acting(id, Role::Province),
                &filter(AuditFilter::default())
            ),
            Err(Error::ScopeDenied)
        ));
        let reads = audit_search(
            s,
            &auditor,
            &filter(AuditFilter {
                action: "audit.read".into(),
                ..Default::default()
            }),
        )
        .unwrap();
        assert!(reads
            .iter()
            .any(|e| e.outcome == "denied" && e.actor == staff));
        assert!(reads
            .iter()
            .any(|e| e.outcome == "ok" && e.actor == Actor::Staff(900)));
    }
}
