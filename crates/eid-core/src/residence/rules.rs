//! The procedures a citizen files online, with their legal processing time and online fee read
//! from `procedures.tsv` (sources named there), and the rules of each one's form.

use std::sync::OnceLock;

use time::Date;

use crate::error::Error;

/// A residence procedure.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Procedure {
    /// Temporary residence registration (đăng ký tạm trú), a term up to 2 years.
    Temporary,
    /// Renewal of a temporary residence (gia hạn tạm trú), within 15 days before its end.
    Renewal,
    /// Permanent residence registration (đăng ký thường trú).
    Permanent,
    /// Temporary absence declaration (khai báo tạm vắng).
    Absence,
    /// Household split (tách hộ).
    Split,
    /// Deregistration of the temporary residence (xóa đăng ký tạm trú).
    Deregister,
}

pub const ALL: [Procedure; 6] = [
    Procedure::Temporary,
    Procedure::Renewal,
    Procedure::Permanent,
    Procedure::Absence,
    Procedure::Split,
    Procedure::Deregister,
];

impl Procedure {
    pub fn as_str(self) -> &'static str {
        match self {
            Procedure::Temporary => "temporary",
            Procedure::Renewal => "renewal",
            Procedure::Permanent => "permanent",
            Procedure::Absence => "absence",
            Procedure::Split => "split",
            Procedure::Deregister => "deregister",
        }
    }

    pub fn parse(s: &str) -> Result<Procedure, Error> {
        ALL.into_iter()
            .find(|p| p.as_str() == s)
            .ok_or_else(|| Error::bad("residence.bad_procedure", "unknown procedure"))
    }

    /// The legal processing time and fee of this procedure.
    pub fn terms(self) -> Terms {
        table()
            .iter()
            .find(|t| t.procedure == self)
            .cloned()
            .unwrap_or(Terms {
                procedure: self,
                working_days: 1,
                fee_vnd: 0,
                source: String::new(),
            })
    }

    /// Whether the request names a new address (and its commune).
    pub fn needs_address(self) -> bool {
        matches!(self, Procedure::Temporary | Procedure::Permanent)
    }

    /// Whether the request has an end date (the term of a temporary residence, the return from
    /// an absence).
    pub fn needs_until(self) -> bool {
        matches!(
            self,
            Procedure::Temporary | Procedure::Renewal | Procedure::Absence
        )
    }
}

/// A procedure's legal terms, as data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Terms {
    pub procedure: Procedure,
    pub working_days: u32,
    pub fee_vnd: i64,
    pub source: String,
}

const DATA: &str = include_str!("procedures.tsv");

fn parse(text: &str) -> Vec<Terms> {
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .filter_map(|l| {
            let mut c = l.split('\t');
            Some(Terms {
                procedure: Procedure::parse(c.next()?).ok()?,
                working_days: c.next()?.parse().ok()?,
                fee_vnd: c.next()?.parse().ok()?,
                source: c.next()?.to_owned(),
            })
        })
        .collect()
}

/// Every procedure's terms.
pub fn table() -> &'static [Terms] {
    static T: OnceLock<Vec<Terms>> = OnceLock::new();
    T.get_or_init(|| parse(DATA))
}

/// The longest term of a temporary residence: 2 years (Law on Residence Art. 27(3)).
pub const MAX_TERM_DAYS: i64 = 2 * 366;
/// A renewal is filed within 15 days before the term ends (Art. 28(3)).
pub const RENEW_WINDOW_DAYS: i64 = 15;
/// The longest note a citizen or an officer writes.
pub const MAX_NOTE_CHARS: usize = 1_000;

/// Checks the end date of a request filed `today`: after today; a temporary residence (or its
/// renewal) at most 2 years on.
pub fn check_until(p: Procedure, today: Date, until: Option<Date>) -> Result<Option<Date>, Error> {
    if !p.needs_until() {
        return Ok(None);
    }
    let Some(u) = until else {
        return Err(Error::bad(
            "residence.until_required",
            "an end date is required",
        ));
    };
    if u <= today {
        return Err(Error::bad(
            "residence.until_past",
            "the end date must be after today",
        ));
    }
    if p != Procedure::Absence && (u - today).whole_days() > MAX_TERM_DAYS {
        return Err(Error::bad(
            "residence.term_too_long",
            "a temporary residence lasts at most 2 years",
        ));
    }
    Ok(Some(u))
}

/// A note (a reason, a question, an answer): trimmed, 1 to [`MAX_NOTE_CHARS`] characters, no
/// control characters but line breaks.
pub fn check_note<'a>(code: &'static str, note: &'a str) -> Result<&'a str, Error> {
    let n = note.trim();
    if n.is_empty()
        || n.chars().count() > MAX_NOTE_CHARS
        || n.chars().any(|c| c.is_control() && c != '\n' && c != '\r')
    {
        return Err(Error::bad(
            code,
            format!("a text of 1 to {MAX_NOTE_CHARS} characters is required"),
        ));
    }
    Ok(n)
}
