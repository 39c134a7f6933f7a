//! Sector files: the column mapping, reading rows into comparable records with bad rows
//! reported by line and reason, and linking a whole file against a register held in memory.

use std::collections::HashMap;
use std::io::Read;

use eid_domain::units::Tree;
use time::Date;

use super::matcher::record::{Birth, Places, Record};
use crate::import::Rejected;

/// The fields a sector file can give, by the name a mapping uses.
pub const TARGETS: [&str; 9] = [
    "row_id",
    "personal_id",
    "surname",
    "middle_name",
    "given_name",
    "birth_date",
    "sex",
    "unit_tree",
    "unit",
];

/// Which column of the file holds each field; the other columns are kept as attributes (card
/// numbers, validity, dates of death).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Mapping {
    /// (target field, column name), targets from [`TARGETS`].
    pub columns: Vec<(String, String)>,
}

impl Mapping {
    /// Every field in a column of its own name (the format `eid gen sector` writes).
    pub fn identity() -> Mapping {
        Mapping {
            columns: TARGETS
                .iter()
                .map(|t| ((*t).to_owned(), (*t).to_owned()))
                .collect(),
        }
    }

    /// Checks the mapping alone: known targets, each once, the ones matching needs present.
    pub fn check(&self) -> Result<(), String> {
        let mut seen = Vec::new();
        for (target, column) in &self.columns {
            if !TARGETS.contains(&target.as_str()) {
                return Err(format!("unknown field {target}"));
            }
            if column.trim().is_empty() {
                return Err(format!("{target}: empty column name"));
            }
            if seen.contains(&target) {
                return Err(format!("{target} mapped twice"));
            }
            seen.push(target);
        }
        for needed in ["row_id", "surname", "given_name", "birth_date"] {
            if !self.columns.iter().any(|(t, _)| t == needed) {
                return Err(format!("{needed} is not mapped"));
            }
        }
        Ok(())
    }

    /// Checks the mapping against a file's header: every mapped column is there. Returns each
    /// target's column position.
    pub fn against(&self, header: &[&str]) -> Result<HashMap<String, usize>, String> {
        self.check()?;
        let mut at = HashMap::new();
        for (target, column) in &self.columns {
            let i = header
                .iter()
                .position(|h| h.trim() == column.trim())
                .ok_or_else(|| format!("column {column} (for {target}) is not in the file"))?;
            at.insert(target.clone(), i);
        }
        Ok(at)
    }

    /// Parses `target=column,target=column`.
    pub fn parse(s: &str) -> Result<Mapping, String> {
        let columns = s
            .split(',')
            .filter(|p| !p.trim().is_empty())
            .map(|p| {
                p.split_once('=')
                    .map(|(t, c)| (t.trim().to_owned(), c.trim().to_owned()))
                    .ok_or_else(|| format!("{p}: expected field=column"))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let m = Mapping { columns };
        m.check()?;
        Ok(m)
    }

    /// The `target=column,…` form [`Mapping::parse`] reads.
    pub fn to_text(&self) -> String {
        self.columns
            .iter()
            .map(|(t, c)| format!("{t}={c}"))
            .collect::<Vec<_>>()
            .join(",")
    }
}

/// One good sector row.
#[derive(Debug, Clone)]
pub struct SectorRow {
    /// 1-based line in the file (the header is line 1).
    pub line: u64,
    pub row_id: String,
    pub record: Record,
    /// The unmapped columns, (name, value), empty values left out.
    pub attributes: Vec<(String, String)>,
    /// The mapped fields other than `row_id`, (target, value), in [`TARGETS`] order, empty
    /// values left out: what the console shows beside the register's values.
    pub values: Vec<(String, String)>,
    /// A digest of [`SectorRow::values`]: with the source and `row_id` it names "the same row"
    /// in a later file, whose officer decision is then reused.
    pub fingerprint: String,
}

/// The digest of a row's mapped values (hex, 128 bits of SHA-256).
pub fn fingerprint(values: &[(String, String)]) -> String {
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    for (t, v) in values {
        h.update(t.as_bytes());
        h.update([0x1f]);
        h.update(v.as_bytes());
        h.update([0x1e]);
    }
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(32);
    for b in h.finalize().iter().take(16) {
        out.push(char::from(HEX[usize::from(b >> 4)]));
        out.push(char::from(HEX[usize::from(b & 15)]));
    }
    out
}

/// Longest cell accepted, in bytes.
const MAX_CELL: usize = 1024;

/// Reads a sector CSV under `mapping`: the good rows and the rejected ones. A bad header or
/// mapping fails the whole file before any row is read.
pub fn read_sector(
    input: impl Read,
    mapping: &Mapping,
    today: Date,
) -> Result<(Vec<SectorRow>, Vec<Rejected>), String> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(input);
    let mut records = reader.records();
    let header = match records.next() {
        Some(Ok(h)) => h,
        Some(Err(e)) => return Err(format!("line 1: {e}")),
        None => return Err("the file is empty".to_owned()),
    };
    let header: Vec<String> = header
        .iter()
        .enumerate()
        .map(|(i, h)| {
            if i == 0 {
                h.trim_start_matches('\u{feff}')
            } else {
                h
            }
            .to_owned()
        })
        .collect();
    let lines = records.enumerate().map(|(n, rec)| {
        (
            n as u64 + 2,
            rec.map(|r| r.iter().map(str::to_owned).collect::<Vec<_>>())
                .map_err(|e| e.to_string()),
        )
    });
    read_lines(&header, lines, mapping, today)
}

/// Reads a sector file that is either a CSV or an XLSX workbook (told apart by the ZIP
/// signature an XLSX starts with).
pub fn read_sector_bytes(
    bytes: &[u8],
    mapping: &Mapping,
    today: Date,
) -> Result<(Vec<SectorRow>, Vec<Rejected>), String> {
    if bytes.starts_with(b"PK\x03\x04") {
        read_sector_xlsx(bytes, mapping, today)
    } else {
        read_sector(bytes, mapping, today)
    }
}

/// Reads the first sheet of an XLSX workbook under `mapping`, as [`read_sector`] reads a CSV:
/// the first row is the header, a row's line is its sheet row number. Dates may be date cells,
/// workbook serial numbers or text; a personal ID kept as a number gets its leading zeros back.
pub fn read_sector_xlsx(
    bytes: &[u8],
    mapping: &Mapping,
    today: Date,
) -> Result<(Vec<SectorRow>, Vec<Rejected>), String> {
    use calamine::{Data, Reader, Xlsx};
    let mut book: Xlsx<_> = Xlsx::new(std::io::Cursor::new(bytes))
        .map_err(|_| "the file is not an XLSX workbook".to_owned())?;
    let range = book
        .worksheet_range_at(0)
        .ok_or_else(|| "the workbook has no sheet".to_owned())?
        .map_err(|_| "the first sheet does not read".to_owned())?;
    let first = range.start().map_or(0, |(r, _)| u64::from(r)) + 1;
    let mut rows = range.rows();
    let text = |c: &Data| match c {
        Data::Int(n) => n.to_string(),
        Data::Float(f) if f.fract() == 0.0 && f.abs() < 1e15 => format!("{}", *f as i64),
        Data::Float(f) => f.to_string(),
        Data::DateTime(d) => serial_date(d.as_f64()).unwrap_or_default(),
        Data::String(s) | Data::DateTimeIso(s) | Data::DurationIso(s) => s.clone(),
        Data::Bool(b) => b.to_string(),
        Data::Empty | Data::Error(_) => String::new(),
    };
    let header: Vec<String> = rows
        .next()
        .ok_or_else(|| "the file is empty".to_owned())?
        .iter()
        .map(text)
        .collect();
    // Numbers in the date and ID columns are read as what they stand for.
    let pos = |t: &str| {
        mapping
            .columns
            .iter()
            .find(|(target, _)| target == t)
            .and_then(|(_, c)| header.iter().position(|h| h.trim() == c.trim()))
    };
    let (birth_at, id_at) = (pos("birth_date"), pos("personal_id"));
    let lines = rows.enumerate().map(|(i, row)| {
        let cells: Vec<String> = row
            .iter()
            .enumerate()
            .map(|(j, c)| match c {
                Data::Float(f) if Some(j) == birth_at && f.fract() == 0.0 && *f > 4000.0 => {
                    serial_date(*f).unwrap_or_else(|| text(c))
                }
                Data::Int(_) | Data::Float(_) if Some(j) == id_at => {
                    let t = text(c);
                    if t.len() < 12 && t.bytes().all(|b| b.is_ascii_digit()) {
                        format!("{t:0>12}")
                    } else {
                        t
                    }
                }
                c => text(c),
            })
            .collect();
        (first + 1 + i as u64, Ok(cells))
    });
    // A blank row of a sheet (every cell empty) is not a row.
    let lines = lines.filter(|(_, cells)| {
        cells
            .as_ref()
            .map_or(true, |c| c.iter().any(|x| !x.trim().is_empty()))
    });
    let (good, bad) = read_lines(&header, lines, mapping, today)?;
    Ok((good, bad))
}

/// A workbook serial day (1900 system: day 0 is 30 December 1899) as `YYYY-MM-DD`.
fn serial_date(serial: f64) -> Option<String> {
    if !(1.0..=2_958_465.0).contains(&serial) {
        return None;
    }
    let base = time::macros::date!(1899 - 12 - 30);
    let d = base.checked_add(time::Duration::days(serial.floor() as i64))?;
    Some(format!(
        "{:04}-{:02}-{:02}",
        d.year(),
        u8::from(d.month()),
        d.day()
    ))
}

fn read_lines(
    header: &[String],
    lines: impl Iterator<Item = (u64, Result<Vec<String>, String>)>,
    mapping: &Mapping,
    today: Date,
) -> Result<(Vec<SectorRow>, Vec<Rejected>), String> {
    let names: Vec<&str> = header.iter().map(String::as_str).collect();
    let at = mapping.against(&names)?;
    let mapped: Vec<usize> = at.values().copied().collect();
    let mut places = Places::default();
    let (mut good, mut bad) = (Vec::new(), Vec::new());
    for (line, rec) in lines {
        let rec = match rec {
            Ok(r) => r,
            Err(e) => {
                bad.push(rejected(line, "*", e));
                continue;
            }
        };
        if rec.len() != header.len() {
            bad.push(rejected(
                line,
                "*",
                format!("{} fields, the header has {}", rec.len(), header.len()),
            ));
            continue;
        }
        if let Some(i) = rec.iter().position(|c| c.len() > MAX_CELL) {
            bad.push(rejected(
                line,
                "*",
                format!("field {} is longer than {MAX_CELL} bytes", i + 1),
            ));
            continue;
        }
        let get = |t: &str| {
            at.get(t)
                .and_then(|&i| rec.get(i))
                .map_or("", |s| s.as_str())
                .trim()
        };
        match parse_row(&mut places, &get, today) {
            Ok(record) => good.push(SectorRow {
                line,
                row_id: get("row_id").to_owned(),
                values: {
                    let values: Vec<(String, String)> = TARGETS
                        .iter()
                        .filter(|t| **t != "row_id" && !get(t).is_empty())
                        .map(|t| ((*t).to_owned(), get(t).to_owned()))
                        .collect();
                    values
                },
                fingerprint: String::new(),
                record,
                attributes: header
                    .iter()
                    .enumerate()
                    .filter(|(i, _)| !mapped.contains(i))
                    .filter_map(|(i, h)| {
                        rec.get(i)
                            .filter(|v| !v.trim().is_empty())
                            .map(|v| (h.clone(), v.trim().to_owned()))
                    })
                    .collect(),
            }),
            Err((column, reason)) => bad.push(rejected(line, column, reason)),
        }
    }
    for row in &mut good {
        row.fingerprint = fingerprint(&row.values);
    }
    Ok((good, bad))
}

fn rejected(line: u64, column: &'static str, reason: String) -> Rejected {
    Rejected {
        line,
        column,
        reason,
    }
}

fn parse_row<'a>(
    places: &mut Places,
    get: &dyn Fn(&str) -> &'a str,
    today: Date,
) -> Result<Record, (&'static str, String)> {
    if get("row_id").is_empty() {
        return Err(("row_id", "missing".to_owned()));
    }
    let id = get("personal_id");
    if !id.is_empty() && (id.len() != 12 || !id.bytes().all(|b| b.is_ascii_digit())) {
        return Err(("personal_id", "not 12 digits".to_owned()));
    }
    if get("surname").is_empty() && get("given_name").is_empty() {
        return Err(("given_name", "no name".to_owned()));
    }
    let birth = get("birth_date");
    match Birth::parse(birth) {
        Some(b) if b.year < 1900 || b.year > today.year() => {
            return Err(("birth_date", format!("year {} out of range", b.year)))
        }
        Some(_) => {}
        None if birth.is_empty() => {}
        None => {
            return Err((
                "birth_date",
                "not YYYY-MM-DD, DD/MM/YYYY or YYYY".to_owned(),
            ))
        }
    }
    let sex = get("sex");
    if !sex.is_empty() && eid_domain::Sex::parse(sex).is_none() {
        return Err(("sex", "not M or F".to_owned()));
    }
    let tree = match get("unit_tree") {
        "" => Tree::Gso2024,
        t => Tree::parse(t).ok_or(("unit_tree", "not 2024 or 2025".to_owned()))?,
    };
    let unit = get("unit");
    let record = Record::from_text(
        places,
        id,
        get("surname"),
        get("middle_name"),
        get("given_name"),
        birth,
        sex,
        tree,
        unit,
    );
    if !unit.is_empty() && !record.place.is_known() {
        return Err(("unit", format!("no unit {unit} in the {tree} tree")));
    }
    Ok(record)
}

/// Reads a register in the person CSV format into records and their personal IDs; rows that
/// do not parse are skipped and counted.
pub fn read_register(
    input: impl Read,
    today: Date,
) -> Result<(Vec<String>, Vec<Record>, u64), String> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .from_reader(input);
    let mut rows = reader.records();
    match rows.next() {
        Some(Ok(h)) => {
            let h: Vec<&str> = h.iter().collect();
            eid_store::csvfmt::check_header(&h).map_err(|e| format!("line 1: {e}"))?;
        }
        Some(Err(e)) => return Err(format!("line 1: {e}")),
        None => return Err("the file is empty".to_owned()),
    }
    let mut places = Places::default();
    let (mut ids, mut records, mut skipped) = (Vec::new(), Vec::new(), 0);
    for row in rows {
        let Ok(row) = row else {
            skipped += 1;
            continue;
        };
        let fields: Vec<&str> = row.iter().collect();
        match eid_store::csvfmt::parse_row(&fields, today) {
            Ok(p) => {
                ids.push(p.id.as_str().to_owned());
                records.push(Record::from_person(&mut places, &p));
            }
            Err(_) => skipped += 1,
        }
    }
    Ok((ids, records, skipped))
}
