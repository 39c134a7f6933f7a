//! The OpenID Connect provider's registry and keys over a real store (either engine).

use eid_core::oidc::clients::{self, AuthMethod, NewClient};
use eid_core::oidc::jose::{Alg, Jws};
use eid_core::oidc::keys::{self, Kek, KeyState};
use eid_core::store::{Role, Staff};
use eid_core::{testkit, Acting, Actor, Caller, Error};
use eid_domain::UnitCode;
use serde_json::json;
use time::macros::datetime;
use time::OffsetDateTime;

const NOW: OffsetDateTime = datetime!(2026-12-01 09:00 UTC);

fn acting(role: Role) -> Acting {
    let staff = Staff {
        id: 1,
        username: "m".into(),
        display_name: "M".into(),
        role,
        unit: UnitCode::NATION,
        disabled: false,
    };
    Acting::new(
        Caller {
            staff,
            actor: Actor::Staff(1),
        },
        "r1",
        NOW,
    )
}

fn portal() -> NewClient {
    NewClient {
        client_id: Some("portal".into()),
        name_vi: "Cổng Dịch vụ công".into(),
        name_en: "Public Service Portal".into(),
        logo_uri: None,
        redirect_uris: vec!["https://dichvucong.gov.vn/cb".into()],
        post_logout_redirect_uris: vec![],
        backchannel_logout_uri: None,
        scopes: vec!["profile".into(), "birthdate".into()],
        acr_values: vec![eid_core::oidc::ACR_LOA1.into()],
        id_token_alg: Alg::Es256,
        auth_method: AuthMethod::ClientSecretBasic,
        jwks: None,
        require_par: false,
        sector_identifier: None,
        dpop_bound: false,
    }
}

#[test]
fn ministry_staff_register_clients_and_others_are_refused() {
    let store = testkit::fresh_store("oidc-registry");
    let m = acting(Role::Ministry);
    let (client, secret) = clients::add(&*store, &m, &portal()).unwrap();
    let secret = secret.unwrap();
    assert_eq!(client.client_id, "portal");
    assert_eq!(client.scopes, ["openid", "profile", "birthdate"]);
    assert_eq!(client.sector_identifier, "dichvucong.gov.vn");
    assert!(client.secret_matches(&secret));
    assert!(!client.secret_matches("wrong"));
    assert!(matches!(
        clients::add(&*store, &m, &portal()),
        Err(Error::Conflict {
            code: "oidc.client.exists",
            ..
        })
    ));
    assert!(matches!(
        clients::add(&*store, &acting(Role::Province), &portal()),
        Err(Error::ScopeDenied)
    ));
    let mut bad = portal();
    bad.client_id = Some("other".into());
    bad.redirect_uris = vec!["http://evil.example/cb".into()];
    assert!(matches!(
        clients::add(&*store, &m, &bad),
        Err(Error::Bad { .. })
    ));
    let mut pkj = portal();
    pkj.client_id = Some("bank".into());
    pkj.auth_method = AuthMethod::PrivateKeyJwt;
    assert!(
        matches!(clients::add(&*store, &m, &pkj), Err(Error::Bad { .. })),
        "needs keys"
    );

    let new_secret = clients::rotate_secret(&*store, &m, "portal").unwrap();
    let again = clients::get(&*store, "portal").unwrap().unwrap();
    assert!(again.secret_matches(&new_secret));
    assert!(!again.secret_matches(&secret));

    assert_eq!(clients::list(&*store, &m).unwrap().len(), 1);
    clients::disable(&*store, &m, "portal").unwrap();
    assert!(clients::get(&*store, "portal").unwrap().unwrap().disabled);
    assert!(matches!(
        clients::disable(&*store, &m, "nobody"),
        Err(Error::NotFound { .. })
    ));
    let log = store.audit_log(20).unwrap();
    assert!(log
        .iter()
        .any(|e| e.action == "oidc.client.add" && e.outcome == "denied"));
    assert!(log
        .iter()
        .any(|e| e.action == "oidc.client.disable" && e.outcome == "ok"));
}

#[test]
fn rotation_moves_keys_along_and_the_jwks_keeps_the_previous_key() {
    let store = testkit::fresh_store("oidc-keys");
    let kek = Kek::random();
    assert!(keys::ensure(&*store, &kek, NOW).unwrap());
    assert!(!keys::ensure(&*store, &kek, NOW).unwrap(), "idempotent");
    let before = keys::list(&*store).unwrap();
    assert_eq!(
        before.len(),
        6,
        "current and next for each of three algorithms"
    );
    let signing = keys::signing_keys(&*store, &kek).unwrap();
    let es = signing.get(Alg::Es256).unwrap();
    let token = es.sign_jwt("JWT", &json!({"sub": "x"})).unwrap();
    let old_kid = es.kid.clone();

    let after = keys::rotate(&*store, &kek, &Actor::Cli("admin".into()), "cli", NOW).unwrap();
    let state = |kid: &str| after.iter().find(|k| k.kid == kid).map(|k| k.state);
    assert_eq!(state(&old_kid), Some(KeyState::Previous));
    let jwks = keys::jwks(&*store).unwrap();
    let published = jwks["keys"].as_array().unwrap();
    assert_eq!(
        published.len(),
        9,
        "next, current and previous of each algorithm"
    );
    let old = published
        .iter()
        .find(|k| k["kid"] == old_kid.as_str())
        .unwrap();
    assert!(
        Jws::parse(&token).unwrap().verify(old),
        "tokens signed before still verify"
    );
    let new_current = keys::signing_keys(&*store, &kek).unwrap();
    assert_ne!(new_current.get(Alg::Es256).unwrap().kid, old_kid);
    let rs = new_current.get(Alg::Rs256).unwrap();
    let rs_token = rs.sign_jwt("JWT", &json!({"a": 1})).unwrap();
    let rs_jwk = published
        .iter()
        .find(|k| k["kid"] == rs.kid.as_str())
        .unwrap();
    assert!(Jws::parse(&rs_token).unwrap().verify(rs_jwk));

    keys::rotate(&*store, &kek, &Actor::Cli("admin".into()), "cli", NOW).unwrap();
    let retired = keys::list(&*store).unwrap();
    assert_eq!(
        retired.iter().find(|k| k.kid == old_kid).map(|k| k.state),
        Some(KeyState::Retired)
    );
    assert!(!keys::jwks(&*store).unwrap()["keys"]
        .as_array()
        .unwrap()
        .iter()
        .any(|k| k["kid"] == old_kid.as_str()));
    assert!(
        keys::signing_keys(&*store, &Kek::random()).is_err(),
        "sealed under the kek"
    );
}

/// What a grouped test body answers when it refuses.
#[derive(Debug)]
enum Probe {
    Store(eid_core::StoreError),
    Refused(i64),
}

impl From<eid_core::StoreError> for Probe {
    fn from(e: eid_core::StoreError) -> Probe {
        Probe::Store(e)
    }
}

fn probe_db(s: &dyn eid_core::Store) -> &dyn eid_core::sql::Db {
    s.db()
}

/// The token endpoint's group commit: bodies that arrive while a group commits share the next
/// one; a body that refuses, or whose statement fails (a duplicate key, which on PostgreSQL
/// aborts the transaction until its savepoint is rolled back), loses only its own writes, and
/// each caller gets its own answer.
#[test]
fn grouped_transactions_keep_or_lose_each_body_on_its_own() {
    use eid_core::sql::{self, Group, Tx};
    use std::sync::Arc;
    let store = testkit::fresh_store("oidc-group");
    sql::transact(store.db(), |tx| {
        tx.exec(
            "CREATE TABLE group_probe (k BIGINT PRIMARY KEY, note TEXT NOT NULL)",
            &[],
        )
        .map(|_| ())
    })
    .unwrap();
    let group = Arc::new(Group::start("group-test", Arc::clone(&store), probe_db).unwrap());
    let db_store = Arc::clone(&store);
    // The first body holds its group open, so the others queue and commit together.
    let first = {
        let (g, s) = (Arc::clone(&group), Arc::clone(&db_store));
        std::thread::spawn(move || {
            sql::transact_grouped(s.db(), Some(&*g), |tx: &mut dyn Tx| {
                tx.exec("INSERT INTO group_probe (k, note) VALUES (0, 'first')", &[])?;
                std::thread::sleep(std::time::Duration::from_millis(300));
                Ok::<_, Probe>(0)
            })
        })
    };
    std::thread::sleep(std::time::Duration::from_millis(50));
    let others: Vec<_> = (1..=20i64)
        .map(|i| {
            let (g, s) = (Arc::clone(&group), Arc::clone(&db_store));
            std::thread::spawn(move || {
                sql::transact_grouped(s.db(), Some(&*g), move |tx: &mut dyn Tx| {
                    // Every fifth inserts key 0 again: a failing statement.
                    let k = if i % 5 == 0 { 0 } else { i };
                    tx.exec(
                        "INSERT INTO group_probe (k, note) VALUES ($1, 'other')",
                        &[k.into()],
                    )?;
                    if i % 3 == 0 {
                        return Err(Probe::Refused(i));
                    }
                    Ok(i)
                })
            })
        })
        .collect();
    assert!(matches!(first.join().unwrap(), Ok(0)));
    for (n, h) in others.into_iter().enumerate() {
        let i = n as i64 + 1;
        match h.join().unwrap() {
            Ok(k) => assert!(k == i && i % 5 != 0 && i % 3 != 0, "body {i} kept"),
            Err(Probe::Refused(k)) => assert!(k == i && i % 3 == 0 && i % 5 != 0, "body {i}"),
            Err(Probe::Store(e)) => assert_eq!(i % 5, 0, "body {i} failed: {e}"),
        }
    }
    let kept: Vec<i64> = sql::read(store.db(), |tx| {
        tx.query("SELECT k FROM group_probe ORDER BY k", &[])?
            .iter()
            .map(|r| r[0].int())
            .collect::<Result<Vec<_>, _>>()
    })
    .unwrap();
    let expected: Vec<i64> = (0..=20)
        .filter(|i| *i == 0 || (i % 5 != 0 && i % 3 != 0))
        .collect();
    assert_eq!(kept, expected);
    let note: String = sql::read(store.db(), |tx| {
        tx.row("SELECT note FROM group_probe WHERE k = 0", &[])?
            .unwrap()[0]
            .text()
    })
    .unwrap();
    assert_eq!(note, "first");
}

/// The exchange's one read: the client's cached row confirmed, and the caller's values, in one
/// statement; a row changed or gone since is not confirmed, and no cached row needs none.
#[test]
fn a_cached_client_row_is_confirmed_with_the_exchange_read() {
    let store = testkit::fresh_store("oidc-confirm-and");
    let m = acting(Role::Ministry);
    clients::add(&*store, &m, &portal()).unwrap();
    let read = clients::get_row(&*store, "portal").unwrap().unwrap();
    let select = "(SELECT $1 + 1), (SELECT client_id FROM oidc_client WHERE client_id = $2)";
    let check = |row: Option<&eid_core::sql::SqlRow>| {
        eid_core::sql::transact(store.db(), |tx| {
            clients::still_current_and(tx, row, select, &[41i64.into(), "portal".into()])
        })
        .unwrap()
    };
    let values = vec![42i64.into(), "portal".into()];
    assert_eq!(check(Some(&read.row)), (true, values.clone()));
    assert_eq!(check(None), (true, values.clone()));
    // Changed behind the cache (as `eid admin client rotate-secret` does): not confirmed.
    clients::rotate_secret(&*store, &m, "portal").unwrap();
    assert_eq!(check(Some(&read.row)), (false, values.clone()));
    let now = clients::get_row(&*store, "portal").unwrap().unwrap();
    assert_eq!(check(Some(&now.row)), (true, values));
    // Gone: not confirmed, and the caller's read still answers.
    eid_core::sql::transact(store.db(), |tx| {
        tx.exec("DELETE FROM oidc_client WHERE client_id = 'portal'", &[])
    })
    .unwrap();
    assert_eq!(
        check(Some(&now.row)),
        (false, vec![42i64.into(), eid_core::sql::Val::Null])
    );
}
