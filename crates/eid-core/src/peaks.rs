//! Announced peaks (surge mode): a window set in advance — start, end, the expected load as a
//! multiple of an ordinary day, a note — in which the web server's admission control tightens
//! the share of new registrations by itself and relaxes it again at the end.
//!
//! Only ministry-level staff (and the command line, which acts as ministry) announce or remove a
//! peak; both are audited (`peak.add`, `peak.remove`). A removed peak stays in the table with its
//! removal time, so the list shows what was announced.

use time::OffsetDateTime;

use crate::error::Error;
use crate::sql::{self, Val};
use crate::store::{from_ms, to_ms, Role};
use crate::{Acting, Store, StoreError};

/// The highest expected load a peak may announce, in thousandths (100×).
pub const MAX_LOAD_PERMILLE: u32 = 100_000;
/// The longest note, in characters.
pub const MAX_NOTE: usize = 200;
/// The longest window: a peak is an event, not a season.
pub const MAX_DAYS: i64 = 31;

/// An announced peak.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Peak {
    pub id: i64,
    pub starts_at: OffsetDateTime,
    pub ends_at: OffsetDateTime,
    /// The expected load as a multiple of an ordinary day, in thousandths (3000 = 3×).
    pub load_permille: u32,
    pub note: String,
    /// The actor who announced it, as the audit trail writes it (`staff:7`, `cli:admin`).
    pub created_by: String,
    pub created_at: OffsetDateTime,
}

impl Peak {
    /// Whether the window holds `now` (its start included, its end not).
    pub fn holds(&self, now: OffsetDateTime) -> bool {
        self.starts_at <= now && now < self.ends_at
    }
}

/// What an operator announces.
#[derive(Debug, Clone)]
pub struct NewPeak {
    pub starts_at: OffsetDateTime,
    pub ends_at: OffsetDateTime,
    pub load_permille: u32,
    pub note: String,
}

/// Checks a new peak against the rules, as of `now`.
pub fn check(new: &NewPeak, now: OffsetDateTime) -> Result<(), Error> {
    if new.ends_at <= new.starts_at {
        return Err(Error::bad(
            "peak.bad_window",
            "the end must come after the start",
        ));
    }
    if new.ends_at <= now {
        return Err(Error::bad("peak.past", "the window has already ended"));
    }
    if new.ends_at - new.starts_at > time::Duration::days(MAX_DAYS) {
        return Err(Error::bad(
            "peak.too_long",
            format!("a peak lasts at most {MAX_DAYS} days"),
        ));
    }
    if !(1000..=MAX_LOAD_PERMILLE).contains(&new.load_permille) {
        return Err(Error::bad(
            "peak.bad_load",
            "the expected load is a multiple of an ordinary day from 1 to 100",
        ));
    }
    if new.note.chars().count() > MAX_NOTE || new.note.chars().any(char::is_control) {
        return Err(Error::bad(
            "peak.bad_note",
            format!("the note is at most {MAX_NOTE} characters on one line"),
        ));
    }
    Ok(())
}

fn ministry(acting: &Acting) -> Result<(), Error> {
    if acting.caller.role() == Role::Ministry {
        Ok(())
    } else {
        Err(Error::ScopeDenied)
    }
}

/// Announces a peak; returns its id. Ministry only; audited `peak.add`.
pub fn add(store: &dyn Store, acting: &Acting, new: &NewPeak) -> Result<i64, Error> {
    let result = ministry(acting)
        .and_then(|()| check(new, acting.now))
        .and_then(|()| {
            sql::transact(store.db(), |tx| {
                tx.int(
                    "INSERT INTO surge_peak (starts_at, ends_at, load_permille, note, created_by, created_at) \
                     VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
                    &[
                        to_ms(new.starts_at).into(),
                        to_ms(new.ends_at).into(),
                        new.load_permille.into(),
                        new.note.trim().into(),
                        acting.actor().to_db().into(),
                        to_ms(acting.now).into(),
                    ],
                )
            })
            .map_err(Error::from)
        });
    let target = match &result {
        Ok(id) => id.to_string(),
        Err(_) => String::new(),
    };
    acting.audited(store, "peak.add", &target, result)
}

/// Removes an announced peak (it stays listed as removed). Ministry only; audited `peak.remove`.
pub fn remove(store: &dyn Store, acting: &Acting, id: i64) -> Result<(), Error> {
    let result = ministry(acting).and_then(|()| {
        let n = sql::transact(store.db(), |tx| {
            tx.exec(
                "UPDATE surge_peak SET removed_at = $1 WHERE id = $2 AND removed_at IS NULL",
                &[to_ms(acting.now).into(), id.into()],
            )
        })?;
        if n == 0 {
            Err(Error::not_found("peak.not_found", "no such announced peak"))
        } else {
            Ok(())
        }
    });
    acting.audited(store, "peak.remove", &id.to_string(), result)
}

fn peak(row: &[Val]) -> Result<Peak, StoreError> {
    let get = |i: usize| row.get(i).cloned().unwrap_or(Val::Null);
    Ok(Peak {
        id: get(0).int()?,
        starts_at: from_ms(get(1).int()?),
        ends_at: from_ms(get(2).int()?),
        load_permille: u32::try_from(get(3).int()?).unwrap_or(1000),
        note: get(4).text()?,
        created_by: get(5).text()?,
        created_at: from_ms(get(6).int()?),
    })
}

/// The peaks not removed that end after `after`, soonest first (at most 100). The admission
/// control reads them with `after` = now; the console and the command line list them.
pub fn upcoming(store: &dyn Store, after: OffsetDateTime) -> Result<Vec<Peak>, StoreError> {
    sql::read(store.db(), |tx| {
        tx.query(
            "SELECT id, starts_at, ends_at, load_permille, note, created_by, created_at \
             FROM surge_peak WHERE removed_at IS NULL AND ends_at > $1 \
             ORDER BY starts_at, id LIMIT 100",
            &[to_ms(after).into()],
        )?
        .iter()
        .map(|r| peak(r))
        .collect()
    })
}

/// The load the peaks announce at `now`, in thousandths: the largest of the windows holding
/// `now`, or 1000 (an ordinary day) when none does.
pub fn load_at(peaks: &[Peak], now: OffsetDateTime) -> u32 {
    peaks
        .iter()
        .filter(|p| p.holds(now))
        .map(|p| p.load_permille)
        .max()
        .unwrap_or(1000)
        .max(1000)
}

/// Vietnam's offset: the times an operator types are Vietnamese wall-clock times.
const VIETNAM: time::UtcOffset = match time::UtcOffset::from_hms(7, 0, 0) {
    Ok(o) => o,
    Err(_) => time::UtcOffset::UTC,
};

/// A time as an operator types it: `dd/mm/yyyy hh:mm` or `yyyy-mm-dd hh:mm` (also with a `T`)
/// in Vietnam's time, or RFC 3339 with its own offset.
pub fn parse_time(s: &str) -> Option<OffsetDateTime> {
    use time::format_description::well_known::Rfc3339;
    use time::macros::format_description;
    let s = s.trim();
    if let Ok(t) = OffsetDateTime::parse(s, &Rfc3339) {
        return Some(t);
    }
    let s = s.replace('T', " ");
    let formats = [
        format_description!("[day]/[month]/[year] [hour]:[minute]"),
        format_description!("[year]-[month]-[day] [hour]:[minute]"),
    ];
    formats
        .iter()
        .find_map(|f| time::PrimitiveDateTime::parse(&s, f).ok())
        .map(|t| t.assume_offset(VIETNAM))
}

/// An expected load as typed (`3`, `2,5`, `2.5`, with or without `x`/`×`), in thousandths.
pub fn parse_load(s: &str) -> Option<u32> {
    let s = s
        .trim()
        .trim_end_matches(['x', 'X', '×'])
        .trim()
        .replace(',', ".");
    let v: f64 = s.parse().ok()?;
    if !v.is_finite() || v <= 0.0 || v > 1000.0 {
        return None;
    }
    Some((v * 1000.0).round() as u32)
}

/// A time as the console and the command line show it: `dd/mm/yyyy hh:mm` in Vietnam's time.
pub fn show_time(t: OffsetDateTime) -> String {
    let t = t.to_offset(VIETNAM);
    format!(
        "{:02}/{:02}/{} {:02}:{:02}",
        t.day(),
        u8::from(t.month()),
        t.year(),
        t.hour(),
        t.minute()
    )
}

/// A load in thousandths as a multiple (`2,5×` in Vietnamese, `2.5×` otherwise).
pub fn show_load(permille: u32, decimal_comma: bool) -> String {
    let whole = permille / 1000;
    let frac = permille % 1000;
    let mut s = if frac == 0 {
        whole.to_string()
    } else {
        let f = format!("{frac:03}");
        format!("{whole}.{}", f.trim_end_matches('0'))
    };
    if decimal_comma {
        s = s.replace('.', ",");
    }
    s + "×"
}
