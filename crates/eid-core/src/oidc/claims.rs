//! What a client learns about a citizen: a pairwise `sub` (HMAC-SHA-256 of the client's sector
//! and the personal ID under a per-database key, so two sectors cannot join their users), and
//! the claims behind each scope. The personal ID number is released only under its own scope.

use hmac::{Hmac, Mac};
use rand::RngCore;
use serde_json::{json, Map, Value};
use sha2::Sha256;

use super::jose;
use crate::sql::Tx;
use crate::StoreError;
use eid_domain::{BirthDate, Person, Tree, Units};

/// The per-database pairwise key (created on first use).
pub fn pairwise_key(tx: &mut dyn Tx) -> Result<Vec<u8>, StoreError> {
    if let Some(k) = tx.stored_key("oidc_pairwise_key")? {
        return Ok(k);
    }
    let mut key = vec![0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut key);
    tx.exec(
        "INSERT INTO app_setting (key, value) VALUES ('oidc_pairwise_key', $1) ON CONFLICT (key) DO NOTHING",
        &[key.into()],
    )?;
    tx.stored_key("oidc_pairwise_key")?
        .ok_or_else(|| StoreError::Db("the pairwise key could not be stored".into()))
}

/// The pairwise subject of `personal_id` for `sector`.
pub fn subject(key: &[u8], sector: &str, personal_id: &str) -> String {
    match Hmac::<Sha256>::new_from_slice(key) {
        Ok(mut m) => {
            m.update(sector.as_bytes());
            m.update(b"\0");
            m.update(personal_id.as_bytes());
            jose::b64(&m.finalize().into_bytes())
        }
        Err(_) => String::new(),
    }
}

/// The claims `scopes` release about `person` (besides `sub`), and their names.
pub fn for_scopes(person: &Person, phone: Option<&str>, scopes: &[String]) -> Map<String, Value> {
    let has = |s: &str| scopes.iter().any(|x| x == s);
    let mut out = Map::new();
    if has("profile") {
        out.insert("name".into(), person.name.full().into());
        out.insert("family_name".into(), person.name.surname().into());
        out.insert("given_name".into(), person.name.given().into());
        if !person.name.middle().is_empty() {
            out.insert("middle_name".into(), person.name.middle().into());
        }
    }
    if has("birthdate") {
        let b = match person.birth {
            BirthDate::Full(d) => eid_domain::person::iso(d),
            BirthDate::Year(y) => format!("{y:04}"),
        };
        out.insert("birthdate".into(), b.into());
    }
    if has("gender") {
        let g = match person.sex {
            eid_domain::Sex::Male => "male",
            eid_domain::Sex::Female => "female",
        };
        out.insert("gender".into(), g.into());
    }
    if has("address") {
        let units = Units::get();
        let tree = Tree::Gso2024;
        let unit = person.residence.unit;
        let mut names: Vec<String> = units
            .unit(tree, &unit)
            .map(|u| vec![u.name.clone()])
            .unwrap_or_default();
        let mut region = None;
        for a in units.ancestors(tree, &unit) {
            if a.parent.is_none() {
                region = Some(a.name.clone());
            }
            names.push(a.name.clone());
        }
        let locality = names.first().cloned();
        let mut formatted = vec![person.residence.address.clone()];
        formatted.extend(names.iter().cloned());
        let mut addr = Map::new();
        addr.insert("formatted".into(), formatted.join(", ").into());
        addr.insert(
            "street_address".into(),
            person.residence.address.clone().into(),
        );
        if let Some(l) = locality {
            addr.insert("locality".into(), l.into());
        }
        if let Some(r) = region {
            addr.insert("region".into(), r.into());
        }
        addr.insert("country".into(), "VN".into());
        out.insert("address".into(), Value::Object(addr));
    }
    if has("phone") {
        if let Some(p) = phone {
            out.insert("phone_number".into(), p.into());
            out.insert("phone_number_verified".into(), json!(true));
        }
    }
    if has("vn_personal_id") {
        out.insert("vn_personal_id".into(), person.id.as_str().into());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pairwise_subjects_differ_by_sector_and_key() {
        let k = [7u8; 32];
        let a = subject(&k, "bank.vn", "001099000001");
        assert_eq!(a, subject(&k, "bank.vn", "001099000001"));
        assert_ne!(a, subject(&k, "hospital.vn", "001099000001"));
        assert_ne!(a, subject(&[8u8; 32], "bank.vn", "001099000001"));
        assert!(!a.contains("001099000001"));
        assert_eq!(a.len(), 43);
    }
}
