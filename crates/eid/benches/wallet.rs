//! Wallet presentations (issue 15), on one thread: issuing a credential (the claims read from the
//! store, a status index written, one ES256 signature) and verifying one offline (base45, COSE,
//! one ES256 verification, expiry, status bit), against a bare ES256 JWS sign and verify of the
//! same claims as the baseline measured in the same run; then the size of the credential, its
//! QR text and the QR symbol for each disclosure set. Prints `key: value` lines and a table.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::Instant;

use eid_core::import::{import_generated, ImportOptions, OnError};
use eid_core::linkage::files::Mapping;
use eid_core::linkage::service::{self, Source};
use eid_core::linkage::Thresholds;
use eid_core::oidc::jose::{Alg, Jws};
use eid_core::oidc::keys::{self, Kek};
use eid_core::wallet::cred::{self, Ask, Attr};
use eid_core::wallet::{self, status, DocKind};
use eid_core::Actor;
use eid_gen::{GenConfig, Generator};
use time::OffsetDateTime;

fn per_second(n: usize, f: &mut dyn FnMut(usize)) -> f64 {
    let t = Instant::now();
    for i in 0..n {
        f(i);
    }
    n as f64 / t.elapsed().as_secs_f64()
}

fn main() {
    let n: usize = std::env::var("EID_BENCH_N")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2000);
    let now: OffsetDateTime = eid_core::clock::Clock::now(&eid_core::clock::SystemClock);
    let today = now.date();
    let dir = std::env::temp_dir().join(format!("eid-bench-wallet-{}", std::process::id()));
    let store = eid_core::open(&format!("sqlite://{}", dir.join("eid.db").display())).unwrap();
    store.migrate().unwrap();
    let people: Vec<_> = Generator::new(&GenConfig {
        count: 300,
        seed: 15,
        province: None,
        today,
    })
    .unwrap()
    .filter(|p| {
        p.life.state == eid_domain::LifeState::Alive && wallet::at_least(p.birth, 18, today)
    })
    .collect();
    let actor = Actor::Cli("bench".into());
    let opts = ImportOptions {
        on_error: OnError::Abort,
        today,
        now,
        actor: actor.clone(),
        reason: "bench".into(),
    };
    import_generated(store.as_ref(), people.iter().cloned(), &opts).unwrap();
    for (name, kind, extra, value) in [
        (
            "bhyt",
            "health_insurance",
            "card_number,valid_to",
            "GD4790123456789,2027-12-31",
        ),
        (
            "driving_licence",
            "other",
            "class,valid_to,points",
            "B2,2031-06-30,12",
        ),
    ] {
        service::define_source(
            store.as_ref(),
            &actor,
            now,
            &Source {
                name: name.into(),
                kind: kind.into(),
                mapping: Mapping::identity(),
            },
        )
        .unwrap();
        let mut rows = vec![format!("row_id,personal_id,surname,middle_name,given_name,birth_date,sex,unit_tree,unit,{extra}")];
        for (i, p) in people.iter().enumerate() {
            rows.push(format!(
                "R{i},{},{},{},{},{},{},2024,{},{value}",
                p.id.as_str(),
                p.name.surname(),
                p.name.middle(),
                p.name.given(),
                p.birth,
                p.sex.as_str(),
                p.residence.unit.as_str()
            ));
        }
        service::import(
            store.as_ref(),
            &actor,
            now,
            name,
            "f.csv",
            today,
            rows.join("\n").as_bytes(),
            &Thresholds::default(),
            &mut |_| {},
        )
        .unwrap();
    }
    let p = &people[0];
    wallet::request(store.as_ref(), &p.id, DocKind::HealthInsurance, now).unwrap();
    wallet::request(store.as_ref(), &p.id, DocKind::DrivingLicence, now).unwrap();
    let kek = Kek::random();
    keys::ensure(store.as_ref(), &kek, now).unwrap();
    let signing = keys::signing_keys(store.as_ref(), &kek).unwrap();
    let jwks = keys::jwks(store.as_ref()).unwrap();
    let list = status::current(store.as_ref(), now).unwrap();
    let issuer = "https://eid.gov.vn";
    let ask = |attrs: &'static [Attr]| Ask {
        purpose: "health",
        attrs,
        ttl_seconds: 60,
        issuer,
    };

    // Issue and verify: name, birth date, health-insurance number.
    let set: &'static [Attr] = &[Attr::Name, Attr::BirthDate, Attr::HealthInsurance];
    let mut texts = Vec::with_capacity(n);
    let issue = per_second(n, &mut |_| {
        texts.push(
            cred::issue(store.as_ref(), &signing, &p.id, &ask(set), now, today)
                .unwrap()
                .text,
        );
    });
    let verify = per_second(n, &mut |i| {
        cred::verify(&texts[i], &jwks, Some(&list), now).unwrap();
    });
    // Baseline: a bare ES256 JWS of the same claims.
    let v = cred::verify(&texts[0], &jwks, Some(&list), now).unwrap();
    let claims: serde_json::Map<_, _> = v
        .claims
        .iter()
        .map(|(k, v)| (k.clone(), serde_json::json!(v)))
        .collect();
    let claims = serde_json::Value::Object(claims);
    let key = signing.get(Alg::Es256).unwrap();
    let jwk = jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["kid"] == key.kid.as_str())
        .unwrap()
        .clone();
    let mut jws = Vec::with_capacity(n);
    let sign_base = per_second(n, &mut |_| jws.push(key.sign_jwt("JWT", &claims).unwrap()));
    let verify_base = per_second(n, &mut |i| {
        assert!(Jws::parse(&jws[i]).unwrap().verify(&jwk))
    });
    println!("credentials: {n}");
    println!("issue_per_second_per_core: {issue:.0}");
    println!("es256_jws_sign_per_second_per_core: {sign_base:.0}");
    println!("issue_vs_bare_signature: {:.2}", sign_base / issue);
    println!("offline_verify_per_second_per_core: {verify:.0}");
    println!("es256_jws_verify_per_second_per_core: {verify_base:.0}");
    println!("verify_vs_bare_verification: {:.2}", verify_base / verify);
    println!();
    println!(
        "{:<34} {:>10} {:>9} {:>11} {:>8}",
        "disclosure set", "COSE bytes", "QR chars", "QR version", "modules"
    );
    let sets: [(&str, &'static [Attr]); 5] = [
        ("over 18", &[Attr::Over18]),
        ("name + birth date", &[Attr::Name, Attr::BirthDate]),
        (
            "name + birth date + health ins.",
            &[Attr::Name, Attr::BirthDate, Attr::HealthInsurance],
        ),
        (
            "name + driving licence",
            &[Attr::Name, Attr::DrivingLicence],
        ),
        ("all eight", &Attr::ALL),
    ];
    for (label, attrs) in sets {
        let c = cred::issue(store.as_ref(), &signing, &p.id, &ask(attrs), now, today).unwrap();
        let (version, modules) = eid::wallet::qr_size(&c.text).unwrap();
        println!(
            "{label:<34} {:>10} {:>9} {:>11} {:>8}",
            c.bytes,
            c.text.len(),
            version,
            modules
        );
    }
    drop(store);
    let _ = std::fs::remove_dir_all(&dir);
}
