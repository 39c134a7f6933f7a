//! Reading the audit trail: auditors and the ministry only, and the read is itself audited.

use time::{Date, Duration, OffsetDateTime, Time};

use crate::audit::AuditQuery;
use crate::store::{Actor, AuditEntry, Role};
use crate::{Acting, Error, Store};

/// The number of entries a read returns unless asked otherwise.
pub const DEFAULT_LIMIT: u32 = 100;
/// The most entries one read returns.
pub const MAX_LIMIT: u32 = 1000;

/// Parses the `limit` of a read: 1 to [`MAX_LIMIT`], [`DEFAULT_LIMIT`] when empty.
pub fn parse_limit(raw: Option<&str>) -> Result<u32, Error> {
    match raw.map(str::trim).filter(|s| !s.is_empty()) {
        None => Ok(DEFAULT_LIMIT),
        Some(s) => s
            .parse::<u32>()
            .ok()
            .filter(|n| (1..=MAX_LIMIT).contains(n))
            .ok_or_else(|| Error::bad("audit.bad_limit", "limit must be 1 to 1000")),
    }
}

/// The newest `limit` audit entries, for auditors and the ministry. Audited as `audit.read`,
/// allowed or denied.
pub fn audit_log(store: &dyn Store, acting: &Acting, limit: u32) -> Result<Vec<AuditEntry>, Error> {
    const ACTION: &str = "audit.read";
    if !matches!(acting.caller.role(), Role::Auditor | Role::Ministry) {
        acting.audit(store, ACTION, "audit", "denied")?;
        return Err(Error::ScopeDenied);
    }
    let entries = store.audit_log(limit)?;
    acting.audit(store, ACTION, "audit", "ok")?;
    Ok(entries)
}

/// What an auditor looks for in the trail. Empty fields do not filter.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuditFilter {
    /// A staff username, or an actor as the trail writes it (`cli:demo`, `token:3`, `anonymous`).
    pub actor: String,
    /// The exact action (`person.read`).
    pub action: String,
    /// The exact target (a personal ID, a unit code, a username).
    pub target: String,
    /// The first day, in Vietnam's time, included.
    pub from: Option<Date>,
    /// The last day, in Vietnam's time, included.
    pub to: Option<Date>,
    /// Only entries older than this `seq`: the page after the entry.
    pub before_seq: Option<i64>,
    pub limit: u32,
}

/// Midnight of `d` in Vietnam's time.
fn start_of(d: Date) -> OffsetDateTime {
    d.with_time(Time::MIDNIGHT)
        .assume_offset(crate::clock::vietnam())
}

/// The entries matching `f`, newest first, for auditors and the ministry. Audited as
/// `audit.read` (allowed or denied), like [`audit_log`]. An actor that names no staff
/// username and is not written as the trail writes actors matches nothing.
pub fn audit_search(
    store: &dyn Store,
    acting: &Acting,
    f: &AuditFilter,
) -> Result<Vec<AuditEntry>, Error> {
    const ACTION: &str = "audit.read";
    if !matches!(acting.caller.role(), Role::Auditor | Role::Ministry) {
        acting.audit(store, ACTION, "audit", "denied")?;
        return Err(Error::ScopeDenied);
    }
    if let (Some(from), Some(to)) = (f.from, f.to) {
        if to < from {
            return Err(Error::bad(
                "audit.bad_range",
                "the last day is before the first",
            ));
        }
    }
    let text = |s: &str| Some(s.trim().to_owned()).filter(|s| !s.is_empty());
    let actor = match text(&f.actor) {
        None => None,
        Some(a) => match store.staff_by_username(&a)? {
            Some((staff, _)) => Some(Actor::Staff(staff.id)),
            None if a == "anonymous" || a.contains(':') => Some(Actor::from_db(&a)),
            None => {
                acting.audit(store, ACTION, "audit", "ok")?;
                return Ok(Vec::new());
            }
        },
    };
    let q = AuditQuery {
        actor,
        action: text(&f.action),
        target: text(&f.target),
        before_seq: f.before_seq,
        since: f.from.map(start_of),
        until: f.to.map(|d| start_of(d) + Duration::days(1)),
        limit: f.limit.min(MAX_EXPORT),
        ..AuditQuery::default()
    };
    let entries = store.audit_query(&q)?;
    acting.audit(store, ACTION, "audit", "ok")?;
    Ok(entries)
}

/// The most entries one export (a CSV of the trail) holds.
pub const MAX_EXPORT: u32 = 50_000;

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn the_limit_is_one_to_a_thousand() {
        assert_eq!(parse_limit(None).unwrap(), 100);
        assert_eq!(parse_limit(Some(" ")).unwrap(), 100);
        assert_eq!(parse_limit(Some("1000")).unwrap(), 1000);
        for bad in ["0", "1001", "x"] {
            assert!(matches!(
                parse_limit(Some(bad)),
                Err(Error::Bad {
                    code: "audit.bad_limit",
                    ..
                })
            ));
        }
    }
}
