//! The file of reported daily figures, CSV or XLSX (first sheet), read into rows: a header
//! `unit,day,metric,count,source` (the documented order; columns are found by name, so extra
//! columns are ignored and the order may differ), then one figure a row. A day is `dd/mm/yyyy`
//! or `YYYY-MM-DD` (or an XLSX date cell); a count is a whole number, with `.` or spaces
//! between thousands allowed (`1.234`); `source` is free text (how the figure arrived: "Zalo
//! UBND xã", "điện thoại") and may be empty, when the import's own source applies. A row that
//! does not read is a [`BadRow`] with its line (the header is line 1) and the reason.

use eid_domain::{parse_iso_date, Metric, UnitCode};
use time::Date;

/// The header, in its documented order.
pub const REPORTED_HEADER: [&str; 5] = ["unit", "day", "metric", "count", "source"];

/// The most rows a file may hold (60 days × 600 communes × 5 metrics is 180,000).
pub const MAX_ROWS: usize = 500_000;

/// The longest source text kept, in characters.
pub const MAX_SOURCE: usize = 200;

/// One row of the file, read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileRow {
    pub line: u64,
    pub unit: UnitCode,
    pub day: Date,
    pub metric: Metric,
    pub count: u64,
    pub source: String,
}

/// A row that was not applied: its line and why (no personal data: the file holds none).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadRow {
    pub line: u64,
    pub reason: String,
}

/// The kind of file, by its name or content.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileKind {
    Csv,
    Xlsx,
}

impl FileKind {
    /// XLSX when the bytes are a ZIP archive (`PK\x03\x04`), else CSV.
    pub fn sniff(bytes: &[u8]) -> FileKind {
        if bytes.starts_with(b"PK\x03\x04") {
            FileKind::Xlsx
        } else {
            FileKind::Csv
        }
    }
}

/// The file's rows and its bad rows; `Err` when the file as a whole cannot be read (no header,
/// not UTF-8, not a workbook, too many rows).
pub fn read_file(bytes: &[u8]) -> Result<(Vec<FileRow>, Vec<BadRow>), String> {
    let cells = match FileKind::sniff(bytes) {
        FileKind::Csv => csv_cells(bytes)?,
        FileKind::Xlsx => xlsx_cells(bytes)?,
    };
    rows_from(cells)
}

/// A cell as read: text, or a number / date serial from a workbook.
#[derive(Debug, Clone)]
enum Cell {
    Text(String),
    Number(f64),
    Date(f64),
}

impl Cell {
    fn text(&self) -> String {
        match self {
            Cell::Text(s) => s.trim().to_owned(),
            Cell::Number(f) | Cell::Date(f) => {
                if f.fract() == 0.0 && f.abs() < 1e15 {
                    format!("{}", *f as i64)
                } else {
                    format!("{f}")
                }
            }
        }
    }
}

type Lines = Vec<(u64, Vec<Cell>)>;

fn csv_cells(bytes: &[u8]) -> Result<Lines, String> {
    let text = std::str::from_utf8(bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes))
        .map_err(|_| "the file is not UTF-8 text (save the CSV as UTF-8)".to_owned())?;
    let mut rdr = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(text.as_bytes());
    let mut out = Vec::new();
    for rec in rdr.records() {
        let rec = rec.map_err(|e| format!("the CSV does not read: {e}"))?;
        let line = rec.position().map_or(0, |p| p.line());
        out.push((line, rec.iter().map(|c| Cell::Text(c.to_owned())).collect()));
        if out.len() > MAX_ROWS + 1 {
            return Err(format!("the file has more than {MAX_ROWS} rows"));
        }
    }
    Ok(out)
}

fn xlsx_cells(bytes: &[u8]) -> Result<Lines, String> {
    use calamine::{Data, Reader, Xlsx};
    let mut book: Xlsx<_> = Xlsx::new(std::io::Cursor::new(bytes))
        .map_err(|_| "the file is not an XLSX workbook".to_owned())?;
    let range = book
        .worksheet_range_at(0)
        .ok_or_else(|| "the workbook has no sheet".to_owned())?
        .map_err(|_| "the first sheet does not read".to_owned())?;
    let first = range.start().map_or(0, |(r, _)| u64::from(r));
    if range.height() > MAX_ROWS + 1 {
        return Err(format!("the file has more than {MAX_ROWS} rows"));
    }
    Ok(range
        .rows()
        .enumerate()
        .map(|(i, row)| {
            let cells = row
                .iter()
                .map(|c| match c {
                    Data::Int(n) => Cell::Number(*n as f64),
                    Data::Float(f) => Cell::Number(*f),
                    Data::DateTime(d) => Cell::Date(d.as_f64()),
                    Data::String(s) | Data::DateTimeIso(s) => Cell::Text(s.clone()),
                    Data::Bool(b) => Cell::Text(b.to_string()),
                    _ => Cell::Text(String::new()),
                })
                .collect();
            (first + i as u64 + 1, cells)
        })
        .collect())
}

/// The first column of an XLSX workbook's first sheet as CSV-like text, one cell a line (lines
/// keep their numbers: an empty row stays an empty line). A number of up to 12 digits is given
/// back the leading zeros a spreadsheet drops from a personal ID.
pub fn xlsx_first_column(bytes: &[u8]) -> Result<String, String> {
    let mut out = String::new();
    let mut next = 1u64;
    for (line, cells) in xlsx_cells(bytes)? {
        while next < line {
            out.push('\n');
            next += 1;
        }
        let text = match cells.first() {
            Some(Cell::Number(f)) if f.fract() == 0.0 && *f >= 0.0 && *f < 1e12 => {
                format!("{:012}", *f as i64)
            }
            Some(c) => c.text(),
            None => String::new(),
        };
        out.push_str(&text.replace(['\n', '\r', ','], " "));
        out.push('\n');
        next = line + 1;
    }
    Ok(out)
}

/// Parses `dd/mm/yyyy` (or `d/m/yyyy`) or `YYYY-MM-DD`.
pub fn parse_day_text(s: &str) -> Option<Date> {
    let s = s.trim();
    if let Some(d) = parse_iso_date(s) {
        return Some(d);
    }
    let mut parts = s.split('/');
    let (d, m, y) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() || y.len() != 4 || d.is_empty() || m.is_empty() {
        return None;
    }
    let month = time::Month::try_from(m.parse::<u8>().ok()?).ok()?;
    Date::from_calendar_date(y.parse().ok()?, month, d.parse().ok()?).ok()
}

/// A whole count: digits, with `.`, `,` or spaces between groups of three allowed.
pub fn parse_count(s: &str) -> Option<u64> {
    let s = s.trim();
    if s.is_empty() {
        return None;
    }
    let groups: Vec<&str> = s.split(['.', ' ', ',', '\u{a0}']).collect();
    if groups.len() > 1
        && (groups.first().is_none_or(|g| g.is_empty() || g.len() > 3)
            || groups.iter().skip(1).any(|g| g.len() != 3))
    {
        return None;
    }
    let digits: String = groups.concat();
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

fn day_cell(c: &Cell) -> Option<Date> {
    match c {
        Cell::Date(serial) | Cell::Number(serial) if serial.fract() == 0.0 && *serial > 0.0 => {
            // Workbook serial days (1900 system): day 0 is 30 December 1899.
            let base = time::macros::date!(1899 - 12 - 30);
            base.checked_add(time::Duration::days(*serial as i64))
        }
        c => parse_day_text(&c.text()),
    }
}

fn rows_from(lines: Lines) -> Result<(Vec<FileRow>, Vec<BadRow>), String> {
    let mut it = lines
        .into_iter()
        .filter(|(_, cells)| cells.iter().any(|c| !c.text().is_empty()));
    let (_, header) = it.next().ok_or_else(|| {
        format!(
            "the file is empty: the header is {}",
            REPORTED_HEADER.join(",")
        )
    })?;
    let names: Vec<String> = header
        .iter()
        .map(|c| c.text().to_lowercase().replace(['_', ' '], ""))
        .collect();
    let col = |want: &str| names.iter().position(|n| n == want);
    let (Some(cu), Some(cd), Some(cm), Some(cc)) =
        (col("unit"), col("day"), col("metric"), col("count"))
    else {
        return Err(format!(
            "the header must name the columns {}",
            REPORTED_HEADER.join(",")
        ));
    };
    let cs = col("source");
    let mut rows = Vec::new();
    let mut bad = Vec::new();
    let empty = Cell::Text(String::new());
    for (line, cells) in it {
        let get = |i: usize| cells.get(i).unwrap_or(&empty);
        let mut fail = |why: String| bad.push(BadRow { line, reason: why });
        let unit_raw = get(cu).text();
        let Ok(unit) = UnitCode::parse(&unit_raw) else {
            fail(format!("unit: {unit_raw:?} is not a unit code"));
            continue;
        };
        let Some(day) = day_cell(get(cd)) else {
            fail(format!(
                "day: {:?} is not a day (dd/mm/yyyy or YYYY-MM-DD)",
                get(cd).text()
            ));
            continue;
        };
        let metric_raw = get(cm).text();
        let Some(metric) = Metric::parse(&metric_raw) else {
            fail(format!("metric: {metric_raw:?} is not a metric"));
            continue;
        };
        let count = match get(cc) {
            Cell::Number(f) if f.fract() == 0.0 && *f >= 0.0 && *f < 1e15 => Some(*f as u64),
            Cell::Number(_) | Cell::Date(_) => None,
            c => parse_count(&c.text()),
        };
        let Some(count) = count else {
            fail(format!("count: {:?} is not a whole number", get(cc).text()));
            continue;
        };
        let source: String = cs
            .map(|i| get(i).text())
            .unwrap_or_default()
            .chars()
            .take(MAX_SOURCE)
            .collect();
        rows.push(FileRow {
            line,
            unit,
            day,
            metric,
            count,
            source,
        });
    }
    Ok((rows, bad))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn days_and_counts_read_the_vietnamese_way() {
        let d = time::macros::date!(2023 - 06 - 27);
        assert_eq!(parse_day_text("27/06/2023"), Some(d));
        assert_eq!(parse_day_text("27/6/2023"), Some(d));
        assert_eq!(parse_day_text("2023-06-27"), Some(d));
        assert_eq!(parse_day_text("31/02/2023"), None);
        assert_eq!(parse_day_text("06/27/23"), None);
        assert_eq!(parse_count("1.234"), Some(1234));
        assert_eq!(parse_count("1 234 567"), Some(1_234_567));
        assert_eq!(parse_count("12"), Some(12));
        assert_eq!(parse_count("1.5"), None);
        assert_eq!(parse_count("-3"), None);
        assert_eq!(parse_count(""), None);
    }

    #[test]
    fn bad_rows_are_reported_by_line() {
        let csv = "unit,day,metric,count,source\n\
                   01,27/06/2023,applications_collected,12,Zalo\n\
                   xx,27/06/2023,applications_collected,12,\n\
                   01,2023-06-28,nonsense,1,\n\
                   01,2023-06-29,level1_activated,1.5,\n";
        let (rows, bad) = read_file(csv.as_bytes()).unwrap();
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0].count, 12);
        assert_eq!(rows[0].source, "Zalo");
        assert_eq!(
            bad.iter().map(|b| b.line).collect::<Vec<_>>(),
            vec![3, 4, 5]
        );
        assert!(bad[1].reason.starts_with("metric"), "{:?}", bad[1]);
        assert!(read_file(b"a,b\n1,2\n").is_err());
    }
}
