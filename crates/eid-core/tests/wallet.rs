//! The wallet (issue 15) over the store, on SQLite and, when `EID_TEST_DATABASE_URL` is set, on
//! PostgreSQL: documents appear only once a sector row matched the person; a presentation
//! carries only the chosen claims, expires, is refused when altered, revoked, signed by another
//! key or read twice online; the status list is signed and round-trips.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use eid_core::import::{import_generated, ImportOptions, OnError};
use eid_core::linkage::files::Mapping;
use eid_core::linkage::service::{self, Source};
use eid_core::linkage::Thresholds;
use eid_core::oidc::keys::{self, Kek};
use eid_core::wallet::cred::{self, Ask, Attr, Invalid};
use eid_core::wallet::status::{self, ListError, StatusList};
use eid_core::wallet::{self, DocKind, Slot, Waiting};
use eid_core::{Actor, Error, Store};
use eid_domain::{LifeState, Person};
use eid_gen::{GenConfig, Generator};
use serde_json::json;
use time::macros::{date, datetime};
use time::{Date, Duration, OffsetDateTime};

const TODAY: Date = date!(2026 - 11 - 23);
const NOW: OffsetDateTime = datetime!(2026-11-23 09:00 UTC);
const ISSUER: &str = "https://eid.example";

fn populate(store: &dyn Store) -> Vec<Person> {
    let people: Vec<Person> = Generator::new(&GenConfig {
        count: 200,
        seed: 15,
        province: None,
        today: TODAY,
    })
    .unwrap()
    .filter(|p| p.life.state == LifeState::Alive)
    .collect();
    let opts = ImportOptions {
        on_error: OnError::Abort,
        today: TODAY,
        now: NOW,
        actor: Actor::Cli("test".into()),
        reason: "test".into(),
    };
    import_generated(store, people.iter().cloned(), &opts).unwrap();
    people
}

/// A sector source of `kind` named `name` with every person in `people`, plus `extra`
/// columns (header, value per person).
fn sector(
    store: &dyn Store,
    name: &str,
    kind: &str,
    people: &[Person],
    extra: (&str, &dyn Fn(usize) -> String),
) {
    let actor = Actor::Cli("test".into());
    service::define_source(
        store,
        &actor,
        NOW,
        &Source {
            name: name.into(),
            kind: kind.into(),
            mapping: Mapping::identity(),
        },
    )
    .unwrap();
    let mut rows = vec![format!(
        "row_id,personal_id,surname,middle_name,given_name,birth_date,sex,unit_tree,unit,{}",
        extra.0
    )];
    for (i, p) in people.iter().enumerate() {
        rows.push(format!(
            "{name}{i},{},{},{},{},{},{},2024,{},{}",
            p.id.as_str(),
            p.name.surname(),
            p.name.middle(),
            p.name.given(),
            p.birth,
            p.sex.as_str(),
            p.residence.unit.as_str(),
            (extra.1)(i)
        ));
    }
    service::import(
        store,
        &actor,
        NOW,
        name,
        &format!("{name}.csv"),
        date!(2026 - 11 - 20),
        rows.join("\n").as_bytes(),
        &Thresholds::default(),
        &mut |_| {},
    )
    .unwrap();
}

fn adult(people: &[Person]) -> &Person {
    people
        .iter()
        .find(|p| wallet::at_least(p.birth, 20, TODAY))
        .unwrap()
}

#[test]
fn documents_appear_once_matched_and_presentations_verify_only_as_issued() {
    for store in eid_core::testkit::engines("wallet") {
        let store = store.as_ref();
        let people = populate(store);
        let p = adult(&people).clone();
        let idx = people.iter().position(|x| x.id == p.id).unwrap();

        // Asked before any sector row: waiting, with the reason.
        let slot = wallet::request(store, &p.id, DocKind::HealthInsurance, NOW).unwrap();
        assert!(
            matches!(slot, Slot::Waiting(_, Waiting::NoRecord)),
            "{slot:?}"
        );
        assert!(wallet::integrated(store, &p.id).unwrap().is_empty());

        // The health-insurance file arrives and matches: the card is integrated, with its
        // source, the file's day and the columns of the row.
        sector(
            store,
            "bhyt_2026",
            "health_insurance",
            &people,
            ("card_number,valid_to", &|i| {
                format!("GD40100{i:08},2027-12-31")
            }),
        );
        let docs = wallet::integrated(store, &p.id).unwrap();
        assert_eq!(docs.len(), 1, "{docs:?}");
        let hi = &docs[0];
        assert_eq!(hi.kind, DocKind::HealthInsurance);
        assert_eq!(hi.source, "bhyt_2026");
        assert_eq!(hi.received_on, date!(2026 - 11 - 20));
        assert_eq!(
            hi.get("card_number"),
            Some(format!("GD40100{idx:08}").as_str())
        );
        assert_eq!(hi.get("valid_to"), Some("2027-12-31"));

        // A driving licence matched but not asked for is not in the wallet until asked.
        sector(
            store,
            "driving_licence",
            "other",
            &people,
            ("class,valid_to,points", &|_| "B2,2030-01-01,12".to_owned()),
        );
        assert_eq!(wallet::integrated(store, &p.id).unwrap().len(), 1);
        assert!(wallet::matched(store, &p.id, DocKind::DrivingLicence)
            .unwrap()
            .is_some());
        let slot = wallet::request(store, &p.id, DocKind::DrivingLicence, NOW).unwrap();
        assert!(matches!(slot, Slot::Integrated(..)), "{slot:?}");
        // Vehicles: no source, so waiting.
        let slot = wallet::request(store, &p.id, DocKind::VehicleRegistration, NOW).unwrap();
        assert!(matches!(slot, Slot::Waiting(_, Waiting::NoRecord)));

        // The identity card is the register's.
        let card = wallet::identity_card(store, &p.id, TODAY).unwrap();
        assert_eq!(card.personal_id, p.id.as_str());
        assert_eq!(card.full_name, p.name.full());

        // Keys as the provider keeps them.
        let kek = Kek::random();
        keys::ensure(store, &kek, NOW).unwrap();
        let signing = keys::signing_keys(store, &kek).unwrap();
        let jwks = keys::jwks(store).unwrap();

        // Nothing chosen, a bad purpose, or an attribute of a document not integrated: refused.
        let ask = |attrs: &'static [Attr]| Ask {
            purpose: "health",
            attrs,
            ttl_seconds: 60,
            issuer: ISSUER,
        };
        assert!(matches!(
            cred::issue(store, &signing, &p.id, &ask(&[]), NOW, TODAY),
            Err(Error::Bad {
                code: "wallet.nothing_disclosed",
                ..
            })
        ));
        let other = people.iter().find(|x| x.id != p.id).unwrap();
        assert!(matches!(
            cred::issue(
                store,
                &signing,
                &other.id,
                &ask(&[Attr::HealthInsurance]),
                NOW,
                TODAY
            ),
            Err(Error::Bad {
                code: "wallet.not_integrated",
                ..
            })
        ));

        // Name, birth date and health-insurance number: exactly those, plus the bookkeeping.
        let issued = cred::issue(
            store,
            &signing,
            &p.id,
            &ask(&[Attr::HealthInsurance, Attr::Name, Attr::BirthDate]),
            NOW,
            TODAY,
        )
        .unwrap();
        assert!(issued.text.starts_with(cred::PREFIX));
        assert_eq!(issued.expires_at, NOW + Duration::seconds(60));
        let list = status::current(store, NOW).unwrap();
        let v = cred::verify(&issued.text, &jwks, Some(&list), NOW).unwrap();
        let names: Vec<&str> = v.claims.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(names, ["name", "birth", "hi", "hi_to"]);
        assert_eq!(v.claims[0].1, p.name.full());
        assert_eq!(v.claims[2].1, format!("GD40100{idx:08}"));
        assert_eq!(v.purpose, "health");
        assert_eq!(v.cti, issued.cti);
        assert_eq!(v.expires_at, NOW.unix_timestamp() + 60);
        assert!(!issued.text.contains(p.id.as_str()));

        // "Over 18" alone says true and nothing else about the person.
        let over = cred::issue(store, &signing, &p.id, &ask(&[Attr::Over18]), NOW, TODAY).unwrap();
        let v18 = cred::verify(&over.text, &jwks, Some(&list), NOW).unwrap();
        assert_eq!(v18.claims, vec![("over18".to_owned(), "true".to_owned())]);
        assert!(over.text.len() < issued.text.len());

        // Expired a minute later.
        assert_eq!(
            cred::verify(
                &issued.text,
                &jwks,
                Some(&list),
                NOW + Duration::seconds(60)
            ),
            Err(Invalid::Expired)
        );
        // Tampered: any changed byte of the credential breaks it.
        let bytes = cred::decode_text(&issued.text).unwrap();
        let mut refused = 0;
        for i in (0..bytes.len()).step_by(7) {
            let mut b = bytes.clone();
            b[i] ^= 0x01;
            let t = format!("{}{}", cred::PREFIX, cred::base45(&b));
            if cred::verify(&t, &jwks, Some(&list), NOW).is_err() {
                refused += 1;
            }
        }
        assert_eq!(refused, bytes.len().div_ceil(7));
        // A changed name in the payload is a bad signature precisely.
        let name = p.name.full();
        let pos = bytes
            .windows(name.len())
            .position(|w| w == name.as_bytes())
            .unwrap();
        let mut b = bytes.clone();
        b[pos] = if b[pos] == b'A' { b'B' } else { b'A' };
        let forged = format!("{}{}", cred::PREFIX, cred::base45(&b));
        assert_eq!(
            cred::verify(&forged, &jwks, Some(&list), NOW),
            Err(Invalid::BadSignature)
        );
        // Not a presentation; signed by a key not published.
        assert_eq!(
            cred::verify("hello", &jwks, None, NOW),
            Err(Invalid::Malformed)
        );
        assert_eq!(
            cred::verify(&issued.text, &json!({"keys": []}), None, NOW),
            Err(Invalid::UnknownKey)
        );

        // Online: accepted once, recorded for the holder; a second read is a replay.
        let first = cred::check_online(store, &jwks, &issued.text, "Quầy 3", NOW).unwrap();
        assert!(first.is_ok());
        assert_eq!(
            cred::check_online(store, &jwks, &issued.text, "Quầy 3", NOW).unwrap(),
            Err(Invalid::Replayed)
        );
        let reads = cred::reads(store, &p.id).unwrap();
        assert_eq!(reads.len(), 1);
        assert_eq!(reads[0].verifier, "Quầy 3");
        assert_eq!(reads[0].claims, "name,birth,hi,hi_to");

        // Revoked: the holder withdraws it; the signed list then says so, offline too.
        assert!(cred::revoke(store, &p.id, &over.cti, NOW).unwrap());
        assert!(!cred::revoke(store, &other.id, &issued.cti, NOW).unwrap());
        let token = status::token(store, &signing, ISSUER, NOW).unwrap();
        let published = status::read_token(&token, &jwks, NOW).unwrap();
        assert!(published.revoked(over.status_idx));
        assert!(!published.revoked(issued.status_idx));
        assert_eq!(
            cred::verify(&over.text, &jwks, Some(&published), NOW),
            Err(Invalid::Revoked)
        );
        assert_eq!(
            cred::check_online(store, &jwks, &over.text, "", NOW).unwrap(),
            Err(Invalid::Revoked)
        );
        // The list itself: a stale or altered one is refused.
        assert_eq!(
            status::read_token(&token, &jwks, NOW + Duration::days(2)),
            Err(ListError::Expired)
        );
        let mut altered = token.clone();
        altered.pop();
        altered.push(if token.ends_with('A') { 'B' } else { 'A' });
        assert!(status::read_token(&altered, &jwks, NOW).is_err());
        assert!(
            token.len() < 2000,
            "a sparse list compresses: {}",
            token.len()
        );
    }
}

#[test]
fn base45_and_the_status_bits_round_trip() {
    for bytes in [&b""[..], b"A", b"AB", b"\x00\xff\x10", b"ietf!"] {
        assert_eq!(cred::unbase45(&cred::base45(bytes)).unwrap(), bytes);
    }
    // RFC 9285's examples.
    assert_eq!(cred::base45(b"AB"), "BB8");
    assert_eq!(cred::base45(b"Hello!!"), "%69 VD92EX0");
    assert_eq!(cred::unbase45("GGW"), None);
    let mut l = StatusList::empty();
    l.set(0);
    l.set(12_345);
    let back = StatusList::decompress(&l.compress()).unwrap();
    assert!(back.revoked(0) && back.revoked(12_345) && !back.revoked(1));
    assert!(
        back.revoked(status::CAPACITY + 1),
        "outside the list counts as revoked"
    );
}
