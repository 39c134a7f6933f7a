//! The person's residence fields beyond the 18 columns ([`eid_domain::Residency`]), kept in
//! `person_residency` as the projection of the person's events: a change appends an `updated`
//! event to `person_event` whose changes name the fields (`{"temp_until": [old, new], …}`),
//! counts in the person's version, and updates the row, all in the caller's transaction (a
//! [`crate::store::PersonWriter::tx`], so the person row is locked and the event commits with
//! whatever else the transaction writes). [`crate::store::replay`] ignores these keys, so the
//! 18-column projection is unchanged; [`replay`] here rebuilds the fields from the events.

use eid_domain::residency::FIELDS;
use eid_domain::{PersonalId, Residency};
use time::OffsetDateTime;

use crate::sql::{Tx, Val};
use crate::store::{to_ms, Actor, PersonEvent, StoreError};

/// The columns [`load`] reads, in [`from_row`]'s order (an engine that joins them to the person
/// row selects these).
pub const COLUMNS: &str = "temp_until, absence_from, absence_to, absence_place";

/// The residency from its four stored texts (absent ones empty), in [`COLUMNS`] order.
pub fn from_texts(f: [Option<String>; 4]) -> Result<Residency, StoreError> {
    let [a, b, c, d] = f.map(Option::unwrap_or_default);
    Residency::from_fields(&[a.as_str(), b.as_str(), c.as_str(), d.as_str()])
        .ok_or_else(|| StoreError::Corrupt("person_residency".into()))
}

fn from_row(row: &[Val]) -> Result<Residency, StoreError> {
    let mut f: [String; 4] = Default::default();
    for (slot, v) in f.iter_mut().zip(row) {
        *slot = v.opt_text()?.unwrap_or_default();
    }
    let refs = [f[0].as_str(), f[1].as_str(), f[2].as_str(), f[3].as_str()];
    Residency::from_fields(&refs).ok_or_else(|| StoreError::Corrupt("person_residency".into()))
}

/// The person's residence fields (empty when none were ever set).
pub fn load(tx: &mut dyn Tx, id: &PersonalId) -> Result<Residency, StoreError> {
    let row = tx.query(
        "SELECT temp_until, absence_from, absence_to, absence_place FROM person_residency \
         WHERE personal_id = $1",
        &[id.as_str().into()],
    )?;
    match row.first() {
        Some(r) => from_row(r),
        None => Ok(Residency::default()),
    }
}

/// The `changes` of an event from `old` to `new`: each changed field with `[old, new]`, or
/// `None` when nothing changed.
pub fn changes(old: &Residency, new: &Residency) -> Option<serde_json::Value> {
    let (o, n) = (old.fields(), new.fields());
    let map: serde_json::Map<String, serde_json::Value> = FIELDS
        .iter()
        .zip(o.iter().zip(&n))
        .filter(|(_, (a, b))| a != b)
        .map(|(c, (a, b))| ((*c).to_owned(), serde_json::json!([a, b])))
        .collect();
    (!map.is_empty()).then_some(serde_json::Value::Object(map))
}

/// Writes `new` for a person who exists: an `updated` event (actor, reason, `now`) naming the
/// changed fields, the person's version and time bumped, the row replaced. Returns whether
/// anything changed (nothing is written otherwise). `NotFound`-like `Corrupt` if the person
/// row is missing.
pub fn write(
    tx: &mut dyn Tx,
    id: &PersonalId,
    actor: &Actor,
    reason: &str,
    now: OffsetDateTime,
    new: &Residency,
) -> Result<bool, StoreError> {
    let old = load(tx, id)?;
    let Some(ch) = changes(&old, new) else {
        return Ok(false);
    };
    let at = to_ms(now);
    let bumped = if tx.engine() == "postgres" {
        // The person's partition (migration 31): its range from `person_key`, as parameters, so
        // the statement is planned for that one partition (see `pg::by_id`).
        match crate::pg::partition_in(tx, id.as_str())? {
            Some((lo, hi)) => tx.exec(
                &format!(
                    "UPDATE person SET version = version + 1, updated_at = $1 WHERE {}",
                    crate::pg::by_id("$2", "$3", "$4")
                ),
                &[at.into(), id.as_str().into(), lo.into(), hi.into()],
            )?,
            None => 0,
        }
    } else {
        tx.exec(
            "UPDATE person SET version = version + 1, updated_at = $1 WHERE personal_id = $2",
            &[at.into(), id.as_str().into()],
        )?
    };
    if bumped != 1 {
        return Err(StoreError::Corrupt(
            "residency of a person not in the register".into(),
        ));
    }
    let insert = if tx.engine() == "postgres" {
        "INSERT INTO person_event (personal_id, at, actor, kind, reason, changes) \
         VALUES ($1, $2, $3, 'updated', $4, CAST(CAST($5 AS text) AS jsonb))"
    } else {
        "INSERT INTO person_event (personal_id, at, actor, kind, reason, changes) \
         VALUES ($1, $2, $3, 'updated', $4, $5)"
    };
    tx.exec(
        insert,
        &[
            id.as_str().into(),
            at.into(),
            actor.to_db().as_str().into(),
            reason.into(),
            ch.to_string().as_str().into(),
        ],
    )?;
    let f = new.fields();
    let opt = |s: &String| -> Val {
        if s.is_empty() {
            Val::Null
        } else {
            s.as_str().into()
        }
    };
    tx.exec(
        "INSERT INTO person_residency (personal_id, temp_until, absence_from, absence_to, \
         absence_place) VALUES ($1, $2, $3, $4, $5) ON CONFLICT (personal_id) DO UPDATE SET \
         temp_until = excluded.temp_until, absence_from = excluded.absence_from, \
         absence_to = excluded.absence_to, absence_place = excluded.absence_place",
        &[
            id.as_str().into(),
            opt(&f[0]),
            opt(&f[1]),
            opt(&f[2]),
            opt(&f[3]),
        ],
    )?;
    Ok(true)
}

/// The residence fields as the person's events leave them (the projection `person_residency`
/// must equal).
pub fn replay(events: &[PersonEvent]) -> Option<Residency> {
    let mut f: [String; 4] = Default::default();
    for e in events {
        let obj = e.changes.as_object()?;
        for (slot, col) in f.iter_mut().zip(FIELDS) {
            if let Some(pair) = obj.get(col) {
                *slot = pair.get(1)?.as_str()?.to_owned();
            }
        }
    }
    Residency::from_fields(&[f[0].as_str(), f[1].as_str(), f[2].as_str(), f[3].as_str()])
}
