//! `eid verify credential <TEXT>`: checks a wallet presentation (the QR's text) with the same
//! core verification as the desk page and the online check — signature against the published
//! keys, expiry, and the status list — from the database, or, offline, from a saved JWKS and
//! status list (`--jwks`, `--status`).

use std::io::Read;
use std::path::PathBuf;

use clap::Args;
use eid_core::wallet::{cred, status};

use super::out::{errln, outln};
use super::*;

#[derive(Debug, Args)]
pub struct CredentialArgs {
    /// The QR's text, or `-` for stdin.
    pub text: String,
    /// A saved JWKS (from /oauth2/jwks) instead of the database's keys.
    #[arg(long, value_name = "FILE", requires = "status")]
    pub jwks: Option<PathBuf>,
    /// A saved status list (from /wallet/status) instead of the database's.
    #[arg(long, value_name = "FILE", requires = "jwks")]
    pub status: Option<PathBuf>,
}

pub(super) fn verify(config: &Config, args: &CredentialArgs) -> Result<(), Failure> {
    let mut text = args.text.clone();
    if text == "-" {
        text.clear();
        std::io::stdin().read_to_string(&mut text)?;
    }
    let now = now();
    let (jwks, list) = match (&args.jwks, &args.status) {
        (Some(j), Some(s)) => {
            let jwks: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(j)?)?;
            let token = std::fs::read_to_string(s)?;
            let list = status::read_token(&token, &jwks, now)
                .map_err(|e| format!("the status list is refused: {e:?}"))?;
            (jwks, list)
        }
        _ => {
            let store = open_store(&config.db)?;
            (
                eid_core::oidc::keys::jwks(store.as_ref())?,
                status::current(store.as_ref(), now)?,
            )
        }
    };
    match cred::verify(&text, &jwks, Some(&list), now) {
        Ok(v) => {
            outln!("valid: signature, expiry and status checked")?;
            outln!("purpose: {}", v.purpose)?;
            for (k, val) in &v.claims {
                outln!("{k}: {val}")?;
            }
            outln!("expires: {}", v.expires_at)?;
            Ok(())
        }
        Err(e) => {
            errln!("refused: {}", e.code());
            Err(Failure {
                message: String::new(),
                code: 1,
            })
        }
    }
}

/// The demo's sector data for the wallet: a health-insurance file, a driving-licence file (class,
/// validity, points) and a vehicle-registration file for a sample of the register (with the demo
/// citizen in each), matched through the linkage; the demo citizen asks for the health card,
/// so `/me/wallet` shows it integrated. Skipped when the sources already exist.
/// A demo sector file: source name, kind, extra columns, and the extra values of a person.
type DemoFile<'a> = (
    &'a str,
    &'a str,
    &'a str,
    Box<dyn Fn(usize, &eid_domain::Person) -> Option<String> + 'a>,
);

pub(super) fn demo_wallet(store: &dyn Store, citizen: Option<&str>) -> Result<(), Failure> {
    use eid_core::linkage::files::Mapping;
    use eid_core::linkage::service::{self, Source};
    use eid_core::linkage::Thresholds;

    if service::source(store, "bhyt-demo").is_ok() {
        return Ok(());
    }
    let actor = Actor::Cli("demo".to_owned());
    let mut people: Vec<eid_domain::Person> = Vec::new();
    store.for_each_person(&UnitCode::NATION, &mut |p| {
        let theirs = citizen == Some(p.id.as_str());
        if (people.len() < 3000 || theirs) && p.life.state == eid_domain::LifeState::Alive {
            people.push(p.clone());
        }
        Ok(())
    })?;
    let header = "row_id,personal_id,surname,middle_name,given_name,birth_date,sex,unit_tree,unit";
    let row = |i: usize, p: &eid_domain::Person, tag: &str| {
        format!(
            "{tag}{i:06},{},{},{},{},{},{},2024,{}",
            p.id.as_str(),
            p.name.surname(),
            p.name.middle(),
            p.name.given(),
            p.birth,
            p.sex.as_str(),
            p.residence.unit.as_str()
        )
    };
    let adult = |p: &eid_domain::Person| eid_core::wallet::at_least(p.birth, 18, today());
    let files: [DemoFile; 3] = [
        (
            "bhyt-demo",
            "health_insurance",
            "card_number,valid_to,hospital",
            Box::new(|i, _| Some(format!("GD479{i:010},2026-12-31,Trạm y tế xã"))),
        ),
        (
            "driving-licence-demo",
            "other",
            "licence_number,class,valid_to,points,issuer",
            Box::new(move |i, p| {
                (adult(p) && (i % 5 < 2 || citizen == Some(p.id.as_str()))).then(|| {
                    let class = ["A1", "B2", "C"].get(i % 3).copied().unwrap_or("B2");
                    format!(
                        "79{i:010},{class},2031-06-30,{},Sở Xây dựng",
                        12 - (i % 4) as i32
                    )
                })
            }),
        ),
        (
            "vehicle-demo",
            "other",
            "plate,make,registered_on",
            Box::new(move |i, p| {
                (adult(p) && (i % 10 < 3 || citizen == Some(p.id.as_str()))).then(|| {
                    format!(
                        "79A-{:03}.{:02},Honda,2022-0{}-15",
                        i % 1000,
                        i % 100,
                        1 + i % 9
                    )
                })
            }),
        ),
    ];
    for (name, kind, extra, value) in &files {
        service::define_source(
            store,
            &actor,
            now(),
            &Source {
                name: (*name).to_owned(),
                kind: (*kind).to_owned(),
                mapping: Mapping::identity(),
            },
        )?;
        let mut lines = vec![format!("{header},{extra}")];
        for (i, p) in people.iter().enumerate() {
            if let Some(v) = value(i, p) {
                lines.push(format!("{},{v}", row(i, p, "W")));
            }
        }
        service::import(
            store,
            &actor,
            now(),
            name,
            &format!("{name}.csv"),
            today(),
            lines.join("\n").as_bytes(),
            &Thresholds::default(),
            &mut |_| {},
        )?;
    }
    if let Some(id) = citizen.and_then(|c| eid_domain::PersonalId::parse(c).ok()) {
        eid_core::wallet::request(
            store,
            &id,
            eid_core::wallet::DocKind::HealthInsurance,
            now(),
        )?;
    }
    errln!(
        "wallet: sector files for {} persons (health insurance, driving licences, vehicles) matched",
        people.len()
    );
    Ok(())
}
