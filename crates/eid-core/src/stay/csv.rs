//! The bulk file of a healthcare facility (inpatients) and the typed times of the forms.
//!
//! A UTF-8 CSV with a header row naming its columns (any order): `personal_id`, `full_name`,
//! `birth_date` for a citizen, or `passport`, `nationality`, `full_name` for a foreigner; then
//! `arrival`, `departure` (Vietnam time, `dd/mm/yyyy hh:mm` or `yyyy-mm-ddThh:mm`) and `reason`.
//! Each data row becomes a stay or a refusal with its line number.

use time::{Date, OffsetDateTime, PrimitiveDateTime, Time, UtcOffset};

use super::{Guest, StayIn, DEADLINE};
use crate::Error;

/// The largest file accepted (about 10,000 rows).
pub const MAX_BYTES: usize = 2 * 1024 * 1024;

/// The columns of the file.
pub const COLUMNS: [&str; 8] = [
    "personal_id",
    "full_name",
    "birth_date",
    "passport",
    "nationality",
    "arrival",
    "departure",
    "reason",
];

fn vietnam() -> UtcOffset {
    UtcOffset::from_hms(DEADLINE.utc_offset_hours, 0, 0).unwrap_or(UtcOffset::UTC)
}

/// A time typed in Vietnam time: `dd/mm/yyyy hh:mm`, `yyyy-mm-dd hh:mm` or `yyyy-mm-ddThh:mm`
/// (the HTML `datetime-local` input), or an RFC 3339 instant with its own offset.
pub fn parse_time(s: &str) -> Option<OffsetDateTime> {
    let s = s.trim();
    if let Ok(t) = OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339) {
        return Some(t);
    }
    let (d, t) = s.split_once(['T', ' '])?;
    let date = if d.contains('/') {
        let p: Vec<&str> = d.split('/').collect();
        match p.as_slice() {
            [dd, mm, yy] => eid_domain::parse_iso_date(&format!("{yy}-{mm:0>2}-{dd:0>2}"))?,
            _ => return None,
        }
    } else {
        eid_domain::parse_iso_date(d)?
    };
    let mut hm = t.trim().split(':');
    let h: u8 = hm.next()?.parse().ok()?;
    let m: u8 = hm.next()?.parse().ok()?;
    let time = Time::from_hms(h, m, 0).ok()?;
    Some(PrimitiveDateTime::new(date, time).assume_offset(vietnam()))
}

/// The day of a time in Vietnam.
pub fn vietnam_day(t: OffsetDateTime) -> Date {
    t.to_offset(vietnam()).date()
}

/// Reads a stay from named fields (a CSV row, a form's guest, an API body's guest).
pub fn stay_from_fields(get: &dyn Fn(&str) -> String) -> Result<StayIn, Error> {
    let pid = get("personal_id");
    let guest = if !pid.trim().is_empty() {
        Guest::Citizen {
            personal_id: pid.trim().to_owned(),
            full_name: get("full_name").trim().to_owned(),
            birth: get("birth_date").trim().to_owned(),
        }
    } else if !get("passport").trim().is_empty() {
        Guest::Foreigner {
            passport: get("passport"),
            nationality: get("nationality"),
            full_name: get("full_name"),
        }
    } else {
        return Err(Error::bad(
            "stay.no_guest",
            "a guest has a personal ID, or a passport number and nationality",
        ));
    };
    let time_of = |k: &str, what: &str| {
        parse_time(&get(k)).ok_or_else(|| {
            Error::bad(
                "stay.bad_time",
                format!("{what} is a date and time (dd/mm/yyyy hh:mm)"),
            )
        })
    };
    Ok(StayIn {
        guest,
        arrival: time_of("arrival", "the arrival")?,
        departure: time_of("departure", "the expected departure")?,
        reason: get("reason"),
    })
}

/// The rows of a bulk file: (line number, stay or why not).
pub type Rows = Vec<(usize, Result<StayIn, Error>)>;

/// Parses a bulk file: (line number, stay or why not) per data row. A file without the
/// required header is refused whole.
pub fn parse(bytes: &[u8]) -> Result<Rows, Error> {
    if bytes.len() > MAX_BYTES {
        return Err(Error::bad(
            "stay.file_too_large",
            "the file is larger than 2 MB",
        ));
    }
    let text = std::str::from_utf8(bytes)
        .map_err(|_| Error::bad("stay.file_encoding", "the file is not UTF-8 text"))?;
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut r = ::csv::ReaderBuilder::new()
        .flexible(true)
        .trim(::csv::Trim::All)
        .from_reader(text.as_bytes());
    let header: Vec<String> = r
        .headers()
        .map_err(|_| Error::bad("stay.file_header", "the file has no header row"))?
        .iter()
        .map(|h| h.trim().to_lowercase())
        .collect();
    for need in ["full_name", "arrival", "departure", "reason"] {
        if !header.iter().any(|h| h == need) {
            return Err(Error::bad(
                "stay.file_header",
                format!("the header has no column {need}"),
            ));
        }
    }
    let mut out = Vec::new();
    for rec in r.records() {
        let rec = match rec {
            Ok(rec) => rec,
            Err(e) => {
                let line = e.position().map_or(0, |p| p.line() as usize);
                out.push((
                    line,
                    Err(Error::bad("stay.file_row", "the row is not valid CSV")),
                ));
                continue;
            }
        };
        let line = rec.position().map_or(0, |p| p.line() as usize);
        let get = |k: &str| -> String {
            header
                .iter()
                .position(|h| h == k)
                .and_then(|i| rec.get(i))
                .unwrap_or("")
                .to_owned()
        };
        out.push((line, stay_from_fields(&get)));
    }
    Ok(out)
}
