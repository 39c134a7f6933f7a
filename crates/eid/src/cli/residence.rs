//! Residence procedures on the command line: `eid verify residence FILE --jwks URL|FILE` checks a
//! confirmation of residence information offline against the provider's published keys, and
//! the demo's seeding (open and closed requests in the demo commune, one overdue, and the demo
//! citizen's request awaiting more information).

use std::path::PathBuf;

use clap::Args;
use eid_core::residence::officer::{self, Filter};
use eid_core::residence::{confirm, requests, Applicant, NewRequest};
use eid_core::store::Role;
use eid_core::{Acting, Actor, Caller, Store};
use eid_domain::{AccountLevel, LifeState, Person, PersonalId, UnitCode};
use time::{Duration, OffsetDateTime};

use super::out::outln;
use super::Failure;

#[derive(Debug, Args)]
pub struct VerifyResidenceArgs {
    /// The signed confirmation.
    pub file: PathBuf,
    /// The published keys: a URL (e.g. https://eid.example/oauth2/jwks) or a JSON file.
    #[arg(long)]
    pub jwks: String,
}

/// The signed form in a file: the compact JWS itself, or a link whose `t=` holds it.
fn token_of(text: &str) -> String {
    let text = text.trim();
    match text.split_once("t=") {
        Some((_, t)) if text.contains("/verify/residence") => percent_decode(t),
        _ => text.to_owned(),
    }
}

fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' && i + 2 < b.len() {
            let hex = std::str::from_utf8(&b[i + 1..i + 3]).unwrap_or("");
            if let Ok(v) = u8::from_str_radix(hex, 16) {
                out.push(v);
                i += 3;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn jwks(source: &str) -> Result<serde_json::Value, Failure> {
    let text = if source.starts_with("http://") || source.starts_with("https://") {
        ureq::get(source)
            .call()
            .map_err(|e| format!("could not fetch the JWKS: {e}"))?
            .body_mut()
            .read_to_string()
            .map_err(|e| format!("could not read the JWKS: {e}"))?
    } else {
        std::fs::read_to_string(source).map_err(|e| format!("{source}: {e}"))?
    };
    Ok(serde_json::from_str(&text).map_err(|e| format!("the JWKS is not JSON: {e}"))?)
}

pub fn verify(args: VerifyResidenceArgs) -> Result<(), Failure> {
    let text =
        std::fs::read_to_string(&args.file).map_err(|e| format!("{}: {e}", args.file.display()))?;
    let keys = jwks(&args.jwks)?;
    match confirm::verify(&keys, &token_of(&text)) {
        Ok(c) => {
            outln!(
                "valid: confirmation {} issued by {} at {}",
                c.number,
                c.issuer,
                confirm::vn_time(c.issued_at)
            )?;
            outln!(
                "permanent residence: {}, {}",
                c.permanent.address,
                c.permanent.unit_name
            )?;
            match &c.temporary {
                Some(t) => outln!(
                    "temporary residence: {}, {}{}",
                    t.address,
                    t.unit_name,
                    t.until
                        .as_deref()
                        .map(|u| format!(" (until {u})"))
                        .unwrap_or_default()
                )?,
                None => outln!("temporary residence: none")?,
            }
            Ok(())
        }
        Err(e) => Err(Failure {
            message: format!("refused: {}", e.code()),
            code: 1,
        }),
    }
}

fn staff_caller(store: &dyn Store, role: Role) -> Result<Option<Caller>, Failure> {
    Ok(store
        .list_staff()?
        .into_iter()
        .find(|s| s.role == role && !s.disabled)
        .map(|s| Caller {
            actor: Actor::Staff(s.id),
            staff: s,
        }))
}

/// Seeds the demo's residence requests once (nothing if there are some already). Returns the
/// commune officer's username.
pub fn seed_demo(
    store: &dyn Store,
    province: UnitCode,
    citizen: Option<&PersonalId>,
    now: OffsetDateTime,
) -> Result<Option<String>, Failure> {
    let Some(cop) = staff_caller(store, Role::Commune)? else {
        return Ok(None);
    };
    let today = now.to_offset(eid_core::clock::vietnam()).date();
    if !officer::queue(store, &cop, Filter::All, today)?.is_empty() {
        return Ok(Some(cop.staff.username));
    }
    let here = cop.staff.unit;
    // People of the province living elsewhere, who come to live in the officer's commune.
    let mut movers: Vec<Person> = Vec::new();
    store.for_each_person(&province, &mut |p| {
        if movers.len() < 6
            && p.life.state == LifeState::Alive
            && p.residence.unit != here
            && p.household.is_some()
            && citizen.is_none_or(|c| *c != p.id)
        {
            movers.push(p.clone());
        }
        Ok(())
    })?;
    let at = |days: i64| now - Duration::days(days);
    let act = |days: i64| Acting::new(cop.clone(), "demo-residence", at(days));
    let who = |p: &Person| Applicant {
        personal_id: p.id,
        level: AccountLevel::Two,
    };
    let form = |procedure: &str, address: &str, until_days: i64| NewRequest {
        procedure: procedure.into(),
        commune: here.as_str().into(),
        address: address.into(),
        until: if until_days > 0 {
            eid_core::residence::calendar::iso(today + Duration::days(until_days))
        } else {
            String::new()
        },
        note: String::new(),
        members: String::new(),
    };
    let mut it = movers.iter();
    // Approved: a temporary residence, filed 12 days ago, decided two days later.
    if let Some(p) = it.next() {
        let id = requests::submit(
            store,
            &who(p),
            &form("temporary", "Số 14 đường Trần Phú", 400),
            &[],
            at(12),
        )?;
        officer::assign(store, &act(11), id, "")?;
        officer::approve(store, &act(10), id)?;
    }
    // Refused: a permanent residence without the owner's consent.
    if let Some(p) = it.next() {
        let id = requests::submit(
            store,
            &who(p),
            &form("permanent", "Số 3 ngõ 7 đường Lê Lợi", 0),
            &[],
            at(9),
        )?;
        officer::refuse(
            store,
            &act(6),
            id,
            "Chưa có văn bản đồng ý của chủ hộ, chủ sở hữu chỗ ở hợp pháp.",
        )?;
    }
    // Overdue: a temporary residence filed 15 days ago, assigned, never decided.
    if let Some(p) = it.next() {
        let id = requests::submit(
            store,
            &who(p),
            &form("temporary", "Tổ 5, thôn Kon Klor", 300),
            &[],
            at(15),
        )?;
        officer::assign(store, &act(14), id, "")?;
    }
    // Open, in time: a permanent residence filed yesterday.
    if let Some(p) = it.next() {
        requests::submit(
            store,
            &who(p),
            &form("permanent", "Số 21 đường Phan Đình Phùng", 0),
            &[],
            at(1),
        )?;
    }
    // The demo citizen: a temporary residence in the officer's commune, asked for more.
    if let Some(pid) = citizen {
        if let Some(p) = store.person(pid)? {
            let mut f = form("temporary", "Số 9 đường Nguyễn Huệ", 365);
            f.note = "Thuê nhà để đi làm".into();
            if p.person.residence.unit == here {
                f.procedure = "absence".into();
                f.commune = String::new();
            }
            let id = requests::submit(store, &who(&p.person), &f, &[], at(2))?;
            officer::assign(store, &act(1), id, "")?;
            officer::ask(
                store,
                &act(1),
                id,
                "Đề nghị bổ sung bản chụp hợp đồng thuê nhà có chữ ký của chủ nhà.",
            )?;
        }
    }
    Ok(Some(cop.staff.username))
}
