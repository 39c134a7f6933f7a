//! The account's history: one event per transition, written in the transition's transaction.

use std::fmt;

use eid_domain::PersonalId;
use time::OffsetDateTime;

use crate::sql::{self, Tx, Val};
use crate::store::{from_ms, to_ms, Actor, Store, StoreError};

use super::*;

/// One event of an account's history.
#[derive(Clone, PartialEq)]
pub struct AccountEvent {
    pub seq: i64,
    pub at: OffsetDateTime,
    pub kind: String,
    pub actor: Actor,
    pub application_id: Option<i64>,
    pub unit: Option<String>,
    pub device_id: Option<i64>,
    /// JSON without secrets or personal data beyond what the holder already knows.
    pub detail: serde_json::Value,
}

/// What one event records.
pub(super) struct NewEvent<'a> {
    pub(super) personal_id: &'a str,
    pub(super) account_id: Option<i64>,
    pub(super) application_id: Option<i64>,
    pub(super) kind: &'a str,
    pub(super) commune: Option<&'a str>,
    pub(super) res_path: Option<i64>,
    pub(super) unit: Option<&'a str>,
    pub(super) device_id: Option<i64>,
    pub(super) actor: &'a Actor,
    pub(super) detail: serde_json::Value,
}

impl<'a> NewEvent<'a> {
    pub(super) fn account(a: &'a Account, kind: &'a str, actor: &'a Actor) -> NewEvent<'a> {
        NewEvent {
            personal_id: a.personal_id.as_str(),
            account_id: Some(a.id),
            application_id: None,
            kind,
            commune: Some(a.commune.as_str()),
            res_path: Some(a.res_path),
            unit: None,
            device_id: None,
            actor,
            detail: serde_json::json!({}),
        }
    }
    pub(super) fn detail(mut self, d: serde_json::Value) -> Self {
        self.detail = d;
        self
    }
}

pub(super) fn record(
    tx: &mut dyn Tx,
    e: NewEvent<'_>,
    now: OffsetDateTime,
) -> Result<(), StoreError> {
    tx.exec(
        "INSERT INTO account_event (personal_id, account_id, application_id, kind, at, day, commune, \
         res_path, unit, device_id, actor, detail) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
        &[
            e.personal_id.into(),
            e.account_id.into(),
            e.application_id.into(),
            e.kind.into(),
            to_ms(now).into(),
            day_of(now).into(),
            e.commune.into(),
            e.res_path.into(),
            e.unit.into(),
            e.device_id.into(),
            e.actor.to_db().into(),
            e.detail.to_string().into(),
        ],
    )?;
    Ok(())
}

/// Every event of a person's account and applications, oldest first.
pub fn events(store: &dyn Store, id: &PersonalId) -> Result<Vec<AccountEvent>, StoreError> {
    sql::read(store.db(), |tx| {
        let rows = tx.query(
            "SELECT seq, at, kind, actor, application_id, unit, device_id, detail FROM account_event \
             WHERE personal_id = $1 ORDER BY seq",
            &[id.as_str().into()],
        )?;
        rows.iter()
            .map(|r| {
                let g = |i: usize| r.get(i).cloned().unwrap_or(Val::Null);
                Ok(AccountEvent {
                    seq: g(0).int()?,
                    at: from_ms(g(1).int()?),
                    kind: g(2).text()?,
                    actor: Actor::from_db(&g(3).text()?),
                    application_id: g(4).opt_int()?,
                    unit: g(5).opt_text()?,
                    device_id: g(6).opt_int()?,
                    detail: serde_json::from_str(&g(7).text()?)
                        .map_err(|e| StoreError::Corrupt(format!("event detail: {e}")))?,
                })
            })
            .collect()
    })
}

use eid_store::redact::JsonKeys;

impl fmt::Debug for AccountEvent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AccountEvent")
            .field("seq", &self.seq)
            .field("at", &self.at)
            .field("kind", &self.kind)
            .field("actor", &self.actor)
            .field("application_id", &self.application_id)
            .field("unit", &self.unit)
            .field("device_id", &self.device_id)
            .field("detail", &JsonKeys(&self.detail))
            .finish()
    }
}
