//! `Debug` for the storage types of [`crate::store`] that hold personal data or secrets: the
//! staff's names, password hashes, session CSRF tokens, the values of a person's history, the
//! name and birth date of a search, the personal IDs that audit entries target.
//!
//! Each shows its ids and what helps to debug, and masks the rest with the forms of
//! [`eid_domain::redact`].

use std::fmt;

use eid_domain::redact::{Hidden, MaybeId, Text};

use crate::store::{AuditEntry, NewStaff, PersonEvent, SearchQuery, Session, Staff};

/// The keys of a JSON object, without its values (which may carry a reason typed by an officer,
/// or a person's old and new values).
pub struct JsonKeys<'a>(pub &'a serde_json::Value);

impl fmt::Debug for JsonKeys<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0.as_object() {
            Some(o) => f.debug_set().entries(o.keys()).finish(),
            None => f.write_str("…"),
        }
    }
}

impl fmt::Debug for PersonEvent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PersonEvent")
            .field("seq", &self.seq)
            .field("at", &self.at)
            .field("actor", &self.actor)
            .field("kind", &self.kind)
            .field("reason", &Text(&self.reason))
            .field("changes", &JsonKeys(&self.changes))
            .finish()
    }
}

impl fmt::Debug for SearchQuery {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SearchQuery")
            .field("name_prefix", &Text(&self.name_prefix))
            .field("birth_year", &self.birth_year.map(|_| Hidden))
            .field("birth_date", &self.birth_date.map(|_| Hidden))
            .field("within", &self.within)
            .field("limit", &self.limit)
            .finish()
    }
}

impl fmt::Debug for Staff {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Staff")
            .field("id", &self.id)
            .field("username", &Hidden)
            .field("display_name", &Hidden)
            .field("role", &self.role)
            .field("unit", &self.unit)
            .field("disabled", &self.disabled)
            .finish()
    }
}

impl fmt::Debug for NewStaff {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NewStaff")
            .field("username", &Hidden)
            .field("display_name", &Hidden)
            .field("role", &self.role)
            .field("unit", &self.unit)
            .field("password_hash", &Hidden)
            .finish()
    }
}

impl fmt::Debug for Session {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Session")
            .field("staff", &self.staff)
            .field("csrf", &Hidden)
            .field("expires_at", &self.expires_at)
            .finish()
    }
}

impl fmt::Debug for AuditEntry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuditEntry")
            .field("seq", &self.seq)
            .field("at", &self.at)
            .field("actor", &self.actor)
            .field("action", &self.action)
            .field("target", &MaybeId(&self.target))
            .field("outcome", &self.outcome)
            .field("request_id", &self.request_id)
            .finish()
    }
}
