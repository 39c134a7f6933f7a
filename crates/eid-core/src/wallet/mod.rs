//! The citizen's wallet (issue 15): the electronic identity card as the register holds it,
//! documents integrated from matched sector data, and presentations — a short-lived signed
//! credential (CWT in COSE_Sign1, [`cred`]) with only the claims the citizen picked, checked
//! online or offline against the published keys and a status list ([`status`]).
//!
//! A document is integrated at the citizen's request and shown only once a sector row of its
//! kind matched them (linkage, issue 13): the newest matched row of a source of that kind. A
//! request made before the match waits, and the page says why.

pub mod cred;
pub mod status;

use eid_domain::units::{Tree, Units};
use eid_domain::{BirthDate, PersonalId, UnitCode};
use serde_json::Value;
use time::{Date, OffsetDateTime};

use crate::rollup::day_date;
use crate::sql::{self, Val};
use crate::store::{from_ms, to_ms, Store, StoreError};
use crate::Error;

/// The kinds of document the wallet integrates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DocKind {
    HealthInsurance,
    SocialInsurance,
    DrivingLicence,
    VehicleRegistration,
}

impl DocKind {
    pub const ALL: [DocKind; 4] = [
        DocKind::HealthInsurance,
        DocKind::DrivingLicence,
        DocKind::VehicleRegistration,
        DocKind::SocialInsurance,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            DocKind::HealthInsurance => "health_insurance",
            DocKind::SocialInsurance => "social_insurance",
            DocKind::DrivingLicence => "driving_licence",
            DocKind::VehicleRegistration => "vehicle_registration",
        }
    }

    pub fn parse(s: &str) -> Option<DocKind> {
        DocKind::ALL.into_iter().find(|k| k.as_str() == s)
    }

    /// The document kind a linkage source gives: insurance sources by their kind; sources of
    /// kind `other` by their name (`driving…`/`gplx…` licences, `vehicle…`/`dkx…` registrations).
    pub fn of_source(kind: &str, name: &str) -> Option<DocKind> {
        let name = name.to_ascii_lowercase();
        match kind {
            "health_insurance" => Some(DocKind::HealthInsurance),
            "social_insurance" => Some(DocKind::SocialInsurance),
            "other" if name.starts_with("driving") || name.starts_with("gplx") => {
                Some(DocKind::DrivingLicence)
            }
            "other" if name.starts_with("vehicle") || name.starts_with("dkx") => {
                Some(DocKind::VehicleRegistration)
            }
            _ => None,
        }
    }
}

/// An integrated document: a matched sector row's own columns, its source and dates.
#[derive(Clone, PartialEq)]
pub struct Document {
    pub kind: DocKind,
    pub source: String,
    /// The sector row's columns other than the identity ones (`card_number`, `valid_to`,
    /// `class`, `points`, `plate`, …), in the file's order as stored.
    pub attributes: Vec<(String, String)>,
    /// The day of the sector file.
    pub received_on: Date,
    /// When the row was matched to the person (the import that decided it).
    pub verified_at: OffsetDateTime,
}

impl std::fmt::Debug for Document {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Document({}, {})", self.kind.as_str(), self.source)
    }
}

impl Document {
    /// An attribute by column name.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.attributes
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
            .filter(|v| !v.is_empty())
    }
}

/// Why a requested document is not shown yet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Waiting {
    /// No source of this kind has sent a row for the person.
    NoRecord,
    /// A row was received but awaits an officer's review (or conflicts with another person).
    InReview,
}

impl Waiting {
    pub fn as_str(self) -> &'static str {
        match self {
            Waiting::NoRecord => "no_record",
            Waiting::InReview => "in_review",
        }
    }
}

/// One kind of document in the wallet, as the citizen sees it.
#[derive(Debug, Clone, PartialEq)]
pub enum Slot {
    /// Not asked for.
    NotRequested,
    /// Asked for at this time; not matched yet, for this reason.
    Waiting(OffsetDateTime, Waiting),
    /// Integrated.
    Integrated(OffsetDateTime, Document),
}

/// The register's identity of a person, as the electronic identity card shows it.
#[derive(Clone, PartialEq)]
pub struct IdentityCard {
    pub personal_id: String,
    pub full_name: String,
    pub birth: BirthDate,
    /// `M` or `F`.
    pub sex: &'static str,
    pub nationality: &'static str,
    pub hometown: Option<String>,
    pub permanent: String,
    pub temporary: Option<String>,
    pub card_issued: Option<Date>,
    pub card_expires: Option<Date>,
    pub card_valid: bool,
}

impl std::fmt::Debug for IdentityCard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("IdentityCard(…)")
    }
}

/// A unit's name with its ancestors ("Phường X, Quận Y, Tỉnh Z"), after an address if any.
pub fn place(unit: &UnitCode, address: &str) -> String {
    let units = Units::get();
    let mut parts: Vec<String> = Vec::new();
    if !address.trim().is_empty() {
        parts.push(address.trim().to_owned());
    }
    for tree in [Tree::Gso2024, Tree::Gso2025] {
        if let Some(u) = units.unit(tree, unit) {
            parts.push(u.name.clone());
            parts.extend(units.ancestors(tree, unit).iter().map(|a| a.name.clone()));
            return parts.join(", ");
        }
    }
    parts.push(unit.as_str().to_owned());
    parts.join(", ")
}

/// The electronic identity card of `id` from the register.
pub fn identity_card(
    store: &dyn Store,
    id: &PersonalId,
    today: Date,
) -> Result<IdentityCard, Error> {
    let p = store
        .person(id)?
        .ok_or_else(|| Error::not_found("person.not_found", "no such person"))?
        .person;
    Ok(IdentityCard {
        personal_id: p.id.as_str().to_owned(),
        full_name: p.name.full(),
        birth: p.birth,
        sex: p.sex.as_str(),
        nationality: "VN",
        hometown: p.hometown.as_ref().map(|h| place(h, "")),
        permanent: place(&p.residence.unit, &p.residence.address),
        temporary: p.temporary.as_ref().map(|t| place(&t.unit, &t.address)),
        card_issued: p.card.map(|c| c.issued),
        card_expires: p
            .card
            .and_then(|c| eid_domain::card::card_expiry(p.birth, c.issued)),
        card_valid: p.card.is_some_and(|c| c.is_valid(p.birth, today)),
    })
}

/// Whether someone born on `birth` is at least `age` on `today`; a year alone counts from its
/// last day, so the answer is never yes too early.
pub fn at_least(birth: BirthDate, age: i32, today: Date) -> bool {
    let due = match birth {
        BirthDate::Full(_) => eid_domain::person::birthday(birth, age),
        BirthDate::Year(y) => Date::from_calendar_date(y + age, time::Month::December, 31).ok(),
    };
    due.is_some_and(|d| d <= today)
}

/// The sector rows of a person: (kind, document, matched?) newest first.
fn rows(store: &dyn Store, id: &PersonalId) -> Result<Vec<(DocKind, Document, bool)>, Error> {
    let rows = sql::read(store.db(), |tx| {
        tx.query(
            "SELECT r.source, s.kind, r.attributes, r.received_on, b.created_at, r.outcome \
             FROM link_result r JOIN link_source s ON s.name = r.source \
             JOIN link_batch b ON b.id = r.batch_id \
             WHERE r.personal_id = $1 ORDER BY r.received_on DESC, r.id DESC",
            &[id.as_str().into()],
        )
    })?;
    let mut out = Vec::new();
    for r in rows {
        let g = |i: usize| r.get(i).cloned().unwrap_or(Val::Null);
        let (source, kind) = (g(0).text()?, g(1).text()?);
        let Some(doc_kind) = DocKind::of_source(&kind, &source) else {
            continue;
        };
        let attrs: Value = serde_json::from_str(&g(2).text()?)
            .map_err(|_| StoreError::Corrupt("link_result.attributes".into()))?;
        let attributes = attrs
            .as_object()
            .map(|m| {
                m.iter()
                    .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_owned()))
                    .collect()
            })
            .unwrap_or_default();
        let matched = g(5).text()? == "matched";
        out.push((
            doc_kind,
            Document {
                kind: doc_kind,
                source,
                attributes,
                received_on: day_date(g(3).int()?),
                verified_at: from_ms(g(4).int()?),
            },
            matched,
        ));
    }
    Ok(out)
}

/// The newest matched document of `kind` for `id`, whether or not it was asked for.
pub fn matched(
    store: &dyn Store,
    id: &PersonalId,
    kind: DocKind,
) -> Result<Option<Document>, Error> {
    Ok(rows(store, id)?
        .into_iter()
        .find(|(k, _, m)| *k == kind && *m)
        .map(|(_, d, _)| d))
}

/// Every kind of document with its state for `id`.
pub fn documents(store: &dyn Store, id: &PersonalId) -> Result<Vec<(DocKind, Slot)>, Error> {
    let asked = sql::read(store.db(), |tx| {
        tx.query(
            "SELECT kind, requested_at FROM wallet_doc WHERE personal_id = $1",
            &[id.as_str().into()],
        )
    })?;
    let mut requested = Vec::new();
    for r in asked {
        let g = |i: usize| r.get(i).cloned().unwrap_or(Val::Null);
        if let Some(k) = DocKind::parse(&g(0).text()?) {
            requested.push((k, from_ms(g(1).int()?)));
        }
    }
    let all = rows(store, id)?;
    Ok(DocKind::ALL
        .into_iter()
        .map(|kind| {
            let slot = match requested.iter().find(|(k, _)| *k == kind) {
                None => Slot::NotRequested,
                Some((_, at)) => match all.iter().find(|(k, _, m)| *k == kind && *m) {
                    Some((_, d, _)) => Slot::Integrated(*at, d.clone()),
                    None if all.iter().any(|(k, _, _)| *k == kind) => {
                        Slot::Waiting(*at, Waiting::InReview)
                    }
                    None => Slot::Waiting(*at, Waiting::NoRecord),
                },
            };
            (kind, slot)
        })
        .collect())
}

/// The citizen asks for a document of `kind` to be integrated (again asking is harmless).
/// Returns its state now.
pub fn request(
    store: &dyn Store,
    id: &PersonalId,
    kind: DocKind,
    now: OffsetDateTime,
) -> Result<Slot, Error> {
    sql::transact(store.db(), |tx| {
        tx.exec(
            "INSERT INTO wallet_doc (personal_id, kind, requested_at) SELECT $1, $2, $3 \
             WHERE NOT EXISTS (SELECT 1 FROM wallet_doc WHERE personal_id = $1 AND kind = $2)",
            &[id.as_str().into(), kind.as_str().into(), to_ms(now).into()],
        )
    })?;
    Ok(documents(store, id)?
        .into_iter()
        .find(|(k, _)| *k == kind)
        .map(|(_, s)| s)
        .unwrap_or(Slot::NotRequested))
}

/// The integrated documents of `id` (requested and matched).
pub fn integrated(store: &dyn Store, id: &PersonalId) -> Result<Vec<Document>, Error> {
    Ok(documents(store, id)?
        .into_iter()
        .filter_map(|(_, s)| match s {
            Slot::Integrated(_, d) => Some(d),
            _ => None,
        })
        .collect())
}
