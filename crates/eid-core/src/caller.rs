//! Who acts: the staff account behind a request, and [`Acting`] — the caller with the request id
//! and the time — which every audited use case is handed. A use case cannot write an audit line
//! without a request id, because it has no other way to write one.
//!
//! Scope ("who may see and act on what") is decided here and in [`Staff::sees`]: the web crate
//! only authenticates and hands the result over.

use eid_domain::UnitCode;
use time::OffsetDateTime;

use crate::error::Error;
use crate::store::{Role, Staff};
use crate::{Actor, Store, StoreError};

/// An authenticated staff caller: the account, and how it is recorded in the audit trail.
#[derive(Debug, Clone)]
pub struct Caller {
    pub staff: Staff,
    pub actor: Actor,
}

impl Caller {
    /// The caller's unit.
    pub fn unit(&self) -> UnitCode {
        self.staff.unit
    }

    pub fn role(&self) -> Role {
        self.staff.role
    }

    /// Whether `unit` lies within the caller's unit (the nation sees all).
    pub fn sees(&self, unit: &UnitCode) -> bool {
        self.staff.sees(unit)
    }

    /// The unit a request names (the caller's own when it names none), if it lies within the
    /// caller's unit: a bad code is `Bad`, an unknown one `NotFound`, one outside `ScopeDenied`.
    /// Auditors are refused.
    pub fn within(&self, raw: Option<&str>) -> Result<UnitCode, Error> {
        self.not_auditor()?;
        let Some(raw) = raw.filter(|u| !u.trim().is_empty()) else {
            return Ok(self.unit());
        };
        let unit = crate::register::parse_unit(raw, eid_domain::Tree::Gso2024)?.code;
        if !eid_domain::Units::get().contains(eid_domain::Tree::Gso2024, &self.unit(), &unit) {
            return Err(Error::ScopeDenied);
        }
        Ok(unit)
    }

    /// Auditors read the audit trail only: every other use case refuses them.
    pub fn not_auditor(&self) -> Result<(), Error> {
        if self.staff.role == Role::Auditor {
            Err(Error::ScopeDenied)
        } else {
            Ok(())
        }
    }
}

/// A caller acting within one request at one time: what audited use cases take.
#[derive(Debug, Clone)]
pub struct Acting {
    pub caller: Caller,
    /// The request's id, written on every audit line.
    pub request_id: String,
    /// The time of the request, by the server's clock.
    pub now: OffsetDateTime,
}

impl Acting {
    pub fn new(caller: Caller, request_id: impl Into<String>, now: OffsetDateTime) -> Acting {
        Acting {
            caller,
            request_id: request_id.into(),
            now,
        }
    }

    pub fn actor(&self) -> &Actor {
        &self.caller.actor
    }

    /// Writes one audit line for this caller, request and time.
    pub fn audit(
        &self,
        store: &dyn Store,
        action: &str,
        target: &str,
        outcome: &str,
    ) -> Result<(), StoreError> {
        store.audit(
            &self.caller.actor,
            action,
            target,
            outcome,
            &self.request_id,
            self.now,
        )
    }

    /// Audits `result` as `ok` or `failed` (`denied` for a scope refusal) and returns it.
    pub fn audited<T, E: Into<Error>>(
        &self,
        store: &dyn Store,
        action: &str,
        target: &str,
        result: Result<T, E>,
    ) -> Result<T, Error> {
        let result = result.map_err(Into::into);
        let outcome = match &result {
            Ok(_) => "ok",
            Err(Error::ScopeDenied) => "denied",
            Err(_) => "failed",
        };
        self.audit(store, action, target, outcome)?;
        result
    }
}
