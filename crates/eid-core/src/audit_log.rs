//! Reading the audit trail: auditors and the ministry only, and the read is itself audited.

use crate::store::{AuditEntry, Role};
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
