//! The confirmation of residence information (xác nhận thông tin về cư trú), the document that
//! replaces the household book: generated from the register at the moment it is asked for,
//! signed as a compact JWS (header `typ` [`TYP`]) with the platform's current signing key (the
//! OpenID provider's key store, `oidc::keys`), and checked by anyone against the published
//! JWKS — on the public page, or offline with `eid verify residence`.

use eid_domain::{PersonalId, Tree, Units};
use serde_json::{json, Value};
use time::OffsetDateTime;

use super::calendar;
use super::requests::{self, State};
use super::rules::Procedure;
use crate::clock::vietnam;
use crate::error::Error;
use crate::oidc::jose::{Alg, Jws};
use crate::oidc::keys::SigningKeys;
use crate::store::Store;

/// The JWS header's `typ` of a residence confirmation.
pub const TYP: &str = "eid-residence+jwt";

/// A residence as the confirmation states it.
#[derive(Clone, PartialEq, Eq)]
pub struct Place {
    pub commune: String,
    /// The commune's name with those of its district and province.
    pub unit_name: String,
    pub address: String,
    /// The end of a temporary residence's term, when the register knows it (`yyyy-mm-dd`).
    pub until: Option<String>,
}

/// What a confirmation says. Its `Debug` shows only the number.
#[derive(Clone, PartialEq, Eq)]
pub struct Confirmation {
    /// `XN-<personal ID>-<seconds>`: unique per issue.
    pub number: String,
    pub issuer: String,
    pub issued_at: OffsetDateTime,
    pub personal_id: String,
    pub name: String,
    pub birth: String,
    pub permanent: Place,
    pub temporary: Option<Place>,
    pub household: Option<String>,
    /// The register record's version the confirmation was made from.
    pub version: i64,
}

impl std::fmt::Debug for Confirmation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Confirmation({})", self.version)
    }
}

fn unit_name(code: &eid_domain::UnitCode) -> String {
    let units = Units::get();
    let mut parts = Vec::new();
    let mut at = Some(*code);
    while let Some(c) = at {
        match units.unit(Tree::Gso2024, &c) {
            Some(u) => {
                parts.push(u.name.clone());
                at = u.parent;
            }
            None => break,
        }
    }
    parts.join(", ")
}

/// Builds the confirmation of `pid` from the register now. A person not in the register is
/// `NotFound`.
pub fn build(
    store: &dyn Store,
    issuer: &str,
    pid: &PersonalId,
    now: OffsetDateTime,
) -> Result<Confirmation, Error> {
    let stored = store
        .person(pid)?
        .ok_or_else(|| Error::not_found("person.not_found", "no person has this personal ID"))?;
    let p = &stored.person;
    // The term of the temporary residence: the latest approved registration or renewal at the
    // address the register holds.
    let until = match &p.temporary {
        Some(t) => requests::mine(store, pid)?
            .into_iter()
            .filter(|r| {
                r.state == State::Approved
                    && matches!(r.procedure, Procedure::Temporary | Procedure::Renewal)
                    && r.commune == t.unit
            })
            .filter_map(|r| r.until)
            .max()
            .map(calendar::iso),
        None => None,
    };
    Ok(Confirmation {
        number: format!("XN-{}-{}", pid.as_str(), now.unix_timestamp()),
        issuer: issuer.to_owned(),
        issued_at: now,
        personal_id: pid.as_str().to_owned(),
        name: p.name.full(),
        birth: p.birth.to_string(),
        permanent: Place {
            commune: p.residence.unit.as_str().to_owned(),
            unit_name: unit_name(&p.residence.unit),
            address: p.residence.address.clone(),
            until: None,
        },
        temporary: p.temporary.as_ref().map(|t| Place {
            commune: t.unit.as_str().to_owned(),
            unit_name: unit_name(&t.unit),
            address: t.address.clone(),
            until,
        }),
        household: p.household.clone(),
        version: stored.version,
    })
}

fn place_json(p: &Place) -> Value {
    json!({"commune": p.commune, "unit": p.unit_name, "address": p.address, "until": p.until})
}

fn place_from(v: &Value) -> Option<Place> {
    let s = |k: &str| v.get(k).and_then(Value::as_str).map(str::to_owned);
    Some(Place {
        commune: s("commune")?,
        unit_name: s("unit")?,
        address: s("address")?,
        until: s("until"),
    })
}

/// Signs a confirmation with the current ES256 key (EdDSA when there is none).
pub fn sign(keys: &SigningKeys, c: &Confirmation) -> Result<String, Error> {
    let key = keys
        .get(Alg::Es256)
        .or_else(|| keys.get(Alg::EdDsa))
        .ok_or_else(|| Error::Store(crate::StoreError::Db("no signing key".into())))?;
    let claims = json!({
        "iss": c.issuer,
        "jti": c.number,
        "iat": c.issued_at.unix_timestamp(),
        "sub": c.personal_id,
        "name": c.name,
        "birthdate": c.birth,
        "permanent": place_json(&c.permanent),
        "temporary": c.temporary.as_ref().map(place_json),
        "household": c.household,
        "ver": c.version,
    });
    key.sign_jwt(TYP, &claims)
        .map_err(|e| Error::Store(crate::StoreError::Db(format!("signing: {e}"))))
}

/// Why a confirmation was not accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Invalid {
    /// Not a compact JWS, or not a residence confirmation (`typ`).
    Malformed,
    /// No published key has its `kid`.
    UnknownKey,
    /// The signature does not match (the document was altered, or signed by someone else).
    BadSignature,
}

impl Invalid {
    pub fn code(self) -> &'static str {
        match self {
            Invalid::Malformed => "residence.confirmation_malformed",
            Invalid::UnknownKey => "residence.confirmation_unknown_key",
            Invalid::BadSignature => "residence.confirmation_bad_signature",
        }
    }
}

/// Checks a confirmation against a JWKS (`{"keys": [...]}`) and reads it.
pub fn verify(jwks: &Value, token: &str) -> Result<Confirmation, Invalid> {
    let jws = Jws::parse(token.trim()).ok_or(Invalid::Malformed)?;
    if jws.header.get("typ").and_then(Value::as_str) != Some(TYP) {
        return Err(Invalid::Malformed);
    }
    let kid = jws
        .header
        .get("kid")
        .and_then(Value::as_str)
        .ok_or(Invalid::Malformed)?;
    let key = jwks
        .get("keys")
        .and_then(Value::as_array)
        .and_then(|ks| {
            ks.iter()
                .find(|k| k.get("kid").and_then(Value::as_str) == Some(kid))
        })
        .ok_or(Invalid::UnknownKey)?;
    if !jws.verify(key) {
        return Err(Invalid::BadSignature);
    }
    let c = &jws.claims;
    let s = |k: &str| c.get(k).and_then(Value::as_str).map(str::to_owned);
    let read = || -> Option<Confirmation> {
        Some(Confirmation {
            number: s("jti")?,
            issuer: s("iss")?,
            issued_at: OffsetDateTime::from_unix_timestamp(c.get("iat")?.as_i64()?).ok()?,
            personal_id: s("sub")?,
            name: s("name")?,
            birth: s("birthdate")?,
            permanent: place_from(c.get("permanent")?)?,
            temporary: c.get("temporary").and_then(place_from),
            household: s("household"),
            version: c.get("ver")?.as_i64()?,
        })
    };
    read().ok_or(Invalid::Malformed)
}

/// dd/mm/yyyy hh:mm of an instant in Vietnam.
pub fn vn_time(t: OffsetDateTime) -> String {
    let t = t.to_offset(vietnam());
    format!(
        "{:02}/{:02}/{} {:02}:{:02}",
        t.day(),
        u8::from(t.month()),
        t.year(),
        t.hour(),
        t.minute()
    )
}
