//! The person CSV format, shared by `eid import`, `eid export` and `eid gen`.
//!
//! UTF-8, comma-separated, a header line with exactly [`COLUMNS`] in this order, one person a
//! line. A byte-order mark and CRLF line ends are accepted on input; output is LF without BOM.
//! Empty optional fields are empty strings. Dates are ISO (`YYYY-MM-DD`); a birth date may be a
//! year alone (`1947`). `sex` is `M` or `F`; `phone_type` is `none`, `basic` or `smartphone`;
//! `life_status` is `alive`, `dead`, `emigrated` or `absent`; `card_revoked` is `0` or `1`.
//! Unit codes are GSO codes of the three-level (2024) tree, zero-padded: communes have 5 digits.

use eid_domain::name::nfc;
use eid_domain::{
    parse_iso_date, BirthDate, Card, LifeState, LifeStatus, Person, PersonName, PersonalId,
    PhoneNumber, PhoneType, Residence, Sex, UnitCode,
};
use time::Date;

/// The header, in order.
pub const COLUMNS: [&str; 18] = [
    "personal_id",
    "surname",
    "middle_name",
    "given_name",
    "birth_date",
    "sex",
    "hometown_unit",
    "residence_unit",
    "residence_address",
    "temp_unit",
    "temp_address",
    "household_id",
    "phone",
    "phone_type",
    "life_status",
    "life_status_date",
    "card_issued",
    "card_revoked",
];

/// No field may be longer than this, in bytes, whatever its column.
pub const MAX_FIELD_BYTES: usize = 1024;

/// Why a row was rejected: the column (or `*` for the whole row) and the reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowError {
    pub column: &'static str,
    pub reason: String,
}

impl RowError {
    fn new(column: &'static str, reason: impl Into<String>) -> RowError {
        RowError {
            column,
            reason: reason.into(),
        }
    }
}

impl std::fmt::Display for RowError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.column, self.reason)
    }
}

fn opt(s: &str) -> Option<&str> {
    let t = s.trim();
    (!t.is_empty()).then_some(t)
}

fn unit(column: &'static str, s: &str) -> Result<Option<UnitCode>, RowError> {
    opt(s)
        .map(|s| UnitCode::parse(s).map_err(|e| RowError::new(column, e.to_string())))
        .transpose()
}

fn date(column: &'static str, s: &str) -> Result<Option<Date>, RowError> {
    opt(s)
        .map(|s| {
            parse_iso_date(s)
                .ok_or_else(|| RowError::new(column, format!("{s:?} is not a date (YYYY-MM-DD)")))
        })
        .transpose()
}

/// Checks the header line (after any BOM was removed).
pub fn check_header(fields: &[&str]) -> Result<(), RowError> {
    if fields.len() != COLUMNS.len() || fields.iter().zip(COLUMNS).any(|(a, b)| a.trim() != b) {
        return Err(RowError::new(
            "*",
            format!("header must be: {}", COLUMNS.join(",")),
        ));
    }
    Ok(())
}

/// Parses one data row into a person and checks every rule. `today` bounds the dates. A cell's
/// [`guard`] comes off first.
pub fn parse_row(fields: &[&str], today: Date) -> Result<Person, RowError> {
    let cells: Vec<&str> = fields.iter().map(|c| unguard(c)).collect();
    parse_fields(&cells, today)
}

/// A person from the 18 fields as [`fields`] gives them, with no CSV guard to take off (the
/// stored form the engines rebuild persons from), checked like [`parse_row`].
pub fn parse_fields(fields: &[&str], today: Date) -> Result<Person, RowError> {
    if fields.len() != COLUMNS.len() {
        return Err(RowError::new(
            "*",
            format!("expected {} columns, found {}", COLUMNS.len(), fields.len()),
        ));
    }
    if let Some((i, _)) = fields
        .iter()
        .enumerate()
        .find(|(_, f)| f.len() > MAX_FIELD_BYTES)
    {
        let column = COLUMNS.get(i).copied().unwrap_or("*");
        return Err(RowError::new(
            column,
            format!("field is longer than {MAX_FIELD_BYTES} bytes"),
        ));
    }
    let f = |i: usize| fields.get(i).copied().unwrap_or("");
    let id =
        PersonalId::parse(f(0).trim()).map_err(|e| RowError::new("personal_id", e.to_string()))?;
    let name = PersonName::parse(f(1), f(2), f(3)).map_err(|e| {
        let column = match e {
            eid_domain::NameError::Empty(p)
            | eid_domain::NameError::TooLong(p, _)
            | eid_domain::NameError::BadChar(p, _) => match p {
                "surname" => "surname",
                "middle name" => "middle_name",
                _ => "given_name",
            },
        };
        RowError::new(column, e.to_string())
    })?;
    let birth_raw = f(4).trim();
    let birth = BirthDate::parse(birth_raw).ok_or_else(|| {
        RowError::new(
            "birth_date",
            format!("{birth_raw:?} is not a date (YYYY-MM-DD or YYYY)"),
        )
    })?;
    let sex_raw = f(5).trim();
    let sex = Sex::parse(sex_raw)
        .ok_or_else(|| RowError::new("sex", format!("{sex_raw:?} is not M or F")))?;
    let hometown = unit("hometown_unit", f(6))?;
    let residence_unit = unit("residence_unit", f(7))?
        .ok_or_else(|| RowError::new("residence_unit", "is required"))?;
    let residence = Residence {
        unit: residence_unit,
        address: nfc(f(8).trim()),
    };
    let temporary = match unit("temp_unit", f(9))? {
        Some(u) => Some(Residence {
            unit: u,
            address: nfc(f(10).trim()),
        }),
        None if opt(f(10)).is_some() => {
            return Err(RowError::new(
                "temp_unit",
                "is required with a temporary address",
            ))
        }
        None => None,
    };
    let household = opt(f(11)).map(str::to_owned);
    let phone = opt(f(12))
        .map(|p| PhoneNumber::parse(p).map_err(|e| RowError::new("phone", e.to_string())))
        .transpose()?;
    let phone_type = match opt(f(13)) {
        Some(t) => PhoneType::parse(t).ok_or_else(|| {
            RowError::new(
                "phone_type",
                format!("{t:?} is not none, basic or smartphone"),
            )
        })?,
        None if phone.is_some() => PhoneType::Basic,
        None => PhoneType::None,
    };
    let state = match opt(f(14)) {
        Some(s) => LifeState::parse(s).ok_or_else(|| {
            RowError::new(
                "life_status",
                format!("{s:?} is not alive, dead, emigrated or absent"),
            )
        })?,
        None => LifeState::Alive,
    };
    let life = LifeStatus {
        state,
        since: date("life_status_date", f(15))?,
    };
    let card = match date("card_issued", f(16))? {
        Some(issued) => {
            let revoked = match f(17).trim() {
                "" | "0" => false,
                "1" => true,
                other => {
                    return Err(RowError::new(
                        "card_revoked",
                        format!("{other:?} is not 0 or 1"),
                    ))
                }
            };
            Some(Card { issued, revoked })
        }
        None if f(17).trim() == "1" => {
            return Err(RowError::new(
                "card_revoked",
                "a revoked card needs its issue date",
            ))
        }
        None => None,
    };
    let person = Person {
        id,
        name,
        birth,
        sex,
        hometown,
        residence,
        temporary,
        household,
        phone,
        phone_type,
        life,
        card,
    };
    person
        .check(today)
        .map_err(|e| RowError::new(e.field(), e.to_string()))?;
    Ok(person)
}

/// The person's fields in [`COLUMNS`] order, as they are written to CSV and compared on import.
pub fn fields(p: &Person) -> [String; 18] {
    let mut out: [String; 18] = Default::default();
    let mut slots = out.iter_mut();
    each_field(p, &mut String::new(), |field| {
        if let Some(slot) = slots.next() {
            field.clone_into(slot);
        }
    });
    out
}

/// Calls `field` with each of `p`'s 18 fields, in [`COLUMNS`] order, as [`fields`] gives them,
/// without making a string of each: the ones that are formatted (dates, the phone) are written
/// in `scratch`. (A staged import calls it for every row.)
pub fn each_field(p: &Person, scratch: &mut String, mut field: impl FnMut(&str)) {
    use eid_domain::person::write_iso;
    use std::fmt::Write;
    field(p.id.as_str());
    field(p.name.surname());
    field(p.name.middle());
    field(p.name.given());
    scratch.clear();
    let _ = write!(scratch, "{}", p.birth);
    field(scratch);
    field(p.sex.as_str());
    field(
        p.hometown
            .as_ref()
            .map(UnitCode::as_str)
            .unwrap_or_default(),
    );
    field(p.residence.unit.as_str());
    field(&p.residence.address);
    field(
        p.temporary
            .as_ref()
            .map(|t| t.unit.as_str())
            .unwrap_or_default(),
    );
    field(
        p.temporary
            .as_ref()
            .map(|t| t.address.as_str())
            .unwrap_or_default(),
    );
    field(p.household.as_deref().unwrap_or_default());
    scratch.clear();
    if let Some(phone) = &p.phone {
        phone.write_national(scratch);
    }
    field(scratch);
    field(p.phone_type.as_str());
    field(p.life.state.as_str());
    scratch.clear();
    if let Some(d) = p.life.since {
        let _ = write_iso(scratch, d);
    }
    field(scratch);
    scratch.clear();
    if let Some(c) = p.card {
        let _ = write_iso(scratch, c.issued);
    }
    field(scratch);
    field(match p.card {
        Some(Card { revoked: true, .. }) => "1",
        Some(_) => "0",
        None => "",
    });
}

/// Writes the header line.
pub fn write_header<W: std::io::Write>(w: &mut csv::Writer<W>) -> csv::Result<()> {
    w.write_record(COLUMNS)
}

/// Writes one person, each cell [`guard`]ed.
pub fn write_person<W: std::io::Write>(w: &mut csv::Writer<W>, p: &Person) -> csv::Result<()> {
    w.write_record(fields(p).iter().map(|c| guard(c).into_owned()))
}

/// The characters a spreadsheet program reads as the start of a formula.
const FORMULA_START: [char; 6] = ['=', '+', '-', '@', '\t', '\r'];

/// Whether `cell`, after any leading `'`, starts like a formula.
fn formula_like(cell: &str) -> bool {
    cell.trim_start_matches('\'').starts_with(FORMULA_START)
}

/// A cell as written to CSV: one that a spreadsheet would run as a formula (`=`, `+`, `-`, `@`,
/// tab or carriage return first), or that already is such a cell behind quotes, gets a leading
/// `'`, which spreadsheets show as text. [`unguard`] takes exactly that quote off again, so an
/// exported file imports to the same values.
pub fn guard(cell: &str) -> std::borrow::Cow<'_, str> {
    if formula_like(cell) {
        format!("'{cell}").into()
    } else {
        cell.into()
    }
}

/// A cell as read from CSV: the `'` that [`guard`] put in front of a formula-like cell comes off;
/// any other cell is as it was.
pub fn unguard(cell: &str) -> &str {
    match cell.strip_prefix('\'') {
        Some(rest) if formula_like(rest) => rest,
        _ => cell,
    }
}

/// Strips a UTF-8 byte-order mark from the start of the first field.
pub fn strip_bom(s: &str) -> &str {
    s.strip_prefix('\u{feff}').unwrap_or(s)
}

#[cfg(test)]
mod tests {
    use super::{guard, unguard};

    #[test]
    fn formula_like_cells_are_guarded_and_read_back_as_they_were() {
        for (cell, written) in [
            ("=HYPERLINK(\"x\")", "'=HYPERLINK(\"x\")"),
            ("@SUM(A1)", "'@SUM(A1)"),
            ("+1+cmd", "'+1+cmd"),
            ("-2+3", "'-2+3"),
            ("\tcmd", "'\tcmd"),
            ("\rcmd", "'\rcmd"),
            ("'=1", "''=1"),
            ("''-1", "'''-1"),
            ("Thôn 5", "Thôn 5"),
            ("'quoted", "'quoted"),
            ("a=b", "a=b"),
            ("", ""),
            ("'", "'"),
        ] {
            assert_eq!(guard(cell), written, "{cell:?}");
            assert_eq!(unguard(written), cell, "{written:?}");
        }
    }
}
