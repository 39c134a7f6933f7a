//! Statements on one account (`eid_core::account_key`) on both engines: SQLite always,
//! PostgreSQL when `EID_TEST_DATABASE_URL` is set. On PostgreSQL `account` is partitioned by
//! province and they go in two steps; the pruning itself is checked in
//! `pg::partition_tests::migration_34_…`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use eid_core::account_key::{self, Key};
use eid_core::sql::{self, Val};
use eid_core::StoreError;

#[test]
fn statements_on_one_account_find_it_on_both_engines() {
    let insert = "INSERT INTO account (personal_id, level, state, phone, commune, res_path, \
                  created_at, updated_at) VALUES ($1, 1, 'active', '+84912345678', $2, $3, 1, 1)";
    let (thanh_hoa, hanoi) = (3_838_014_755_i64, 100_100_001_i64);
    for s in eid_core::testkit::engines("account_key") {
        let db = s.db();
        let engine = sql::read(db, |tx| Ok::<_, StoreError>(tx.engine())).unwrap();
        // A second account for a person is "has one already", and the transaction goes on.
        let (first, second, other) = sql::transact(db, |tx| {
            let first = account_key::insert_new(
                tx,
                insert,
                &["038090001234".into(), "14755".into(), thanh_hoa.into()],
            )?;
            let second = account_key::insert_new(
                tx,
                insert,
                &["038090001234".into(), "00001".into(), hanoi.into()],
            )?;
            let other = account_key::insert_new(
                tx,
                insert,
                &["038090001235".into(), "00001".into(), hanoi.into()],
            )?;
            Ok::<_, StoreError>((first, second, other))
        })
        .unwrap();
        let first = first.unwrap();
        assert_eq!(second, None, "{engine}");
        assert!(
            other.is_some(),
            "{engine}: the transaction went on after the refusal"
        );
        let phone = "SELECT personal_id FROM account WHERE {account}";
        let found = |key: Key<'_>| -> Option<String> {
            sql::read(db, |tx| account_key::row(tx, phone, &[], key))
                .unwrap()
                .map(|r| r[0].text().unwrap())
        };
        assert_eq!(found(Key::Id(first)).as_deref(), Some("038090001234"));
        assert_eq!(
            found(Key::Person("038090001235")).as_deref(),
            Some("038090001235")
        );
        assert_eq!(found(Key::Person("038090009999")), None);
        // A key that names the wrong province (the account moved since it was read) still
        // finds it, and a change through it changes one row.
        let stale = Key::At {
            id: first,
            res_path: hanoi,
        };
        assert_eq!(found(stale).as_deref(), Some("038090001234"), "{engine}");
        let changed = sql::transact(db, |tx| {
            account_key::exec(
                tx,
                "UPDATE account SET phone = $1 WHERE {account}",
                &["+84987654321".into()],
                stale,
            )
        })
        .unwrap();
        assert_eq!(changed, 1, "{engine}");
        // The partition hint reads the province beside an id on PostgreSQL only.
        let hint = sql::read(db, |tx| {
            let sql = format!(
                "SELECT {} FROM account WHERE personal_id = $1",
                account_key::partition_hint(tx.engine(), "account.id")
            );
            tx.row(&sql, &["038090001235".into()])
        })
        .unwrap()
        .unwrap();
        let expected = if engine == "postgres" {
            Val::Int(100_000_000)
        } else {
            Val::Null
        };
        assert_eq!(hint, [expected], "{engine}");
    }
}
