//! Spreadsheets (XLSX) for the console's exports, written by `rust_xlsxwriter`.
//!
//! This module only says how our sheets look: a bold header row that stays in view (frozen),
//! optional column widths, text kept as text (never read as a formula, whatever it starts with),
//! text with line breaks wrapped. The workbook's creation time is fixed, so the same sheets
//! always give the same bytes.
//!
//! The whole workbook is built in memory (the outreach export is capped at a few tens of
//! thousands of rows); `rust_xlsxwriter`'s constant-memory mode would instead write the rows,
//! which hold personal data, to temporary files on disk.
//!
//! Excel's limits are reported as `Err` rather than written into a file a spreadsheet program
//! would refuse or "repair": 1,048,576 rows (header included) and 16,384 columns per sheet,
//! 32,767 characters per text cell.

use rust_xlsxwriter::{
    utility::row_col_to_cell, ColNum, DocProperties, ExcelDateTime, Format, RowNum, Workbook,
    Worksheet, XlsxError,
};

/// One cell of a [`Sheet`].
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    /// Text, written as a string. Never interpreted as a formula, whatever it starts with.
    Text(String),
    /// A number. NaN and the infinities have no XLSX form; they are written as the text `NaN`,
    /// `inf` or `-inf`.
    Number(f64),
    /// A day, written as a real date cell shown `dd/mm/yyyy` (the Vietnamese way), so the
    /// spreadsheet sorts and filters it as a date.
    Date(time::Date),
    /// No cell is written.
    Empty,
}

impl From<String> for Cell {
    fn from(text: String) -> Self {
        Cell::Text(text)
    }
}

impl From<&str> for Cell {
    fn from(text: &str) -> Self {
        Cell::Text(text.to_owned())
    }
}

impl From<f64> for Cell {
    fn from(number: f64) -> Self {
        Cell::Number(number)
    }
}

/// One worksheet: a bold, frozen header row, then the rows.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Sheet {
    /// The tab's name. Characters Excel refuses (`[]:*?/\`) become `_`, apostrophes at either
    /// end go, `History` (reserved) gets a `_`, and it is cut to 31 characters; a name Excel
    /// still refuses (empty, or the same as another sheet's) becomes `SheetN`.
    pub name: String,
    /// The header row (row 1). When empty, there is no header row and nothing is frozen.
    pub header: Vec<String>,
    /// The data rows; they may differ in length.
    pub rows: Vec<Vec<Cell>>,
    /// Column widths in characters, from column A on; optional, may be shorter than the row.
    /// Values that are not finite or not positive are ignored; widths are capped at 255.
    pub column_widths: Vec<f64>,
}

/// A complete .xlsx workbook with one or more sheets.
///
/// Errors when `sheets` is empty (a workbook needs a sheet) or when a sheet exceeds the limits in
/// the module documentation.
pub fn workbook(sheets: &[Sheet]) -> Result<Vec<u8>, String> {
    if sheets.is_empty() {
        return Err("a workbook needs at least one sheet".to_owned());
    }
    let mut book = Workbook::new();
    let epoch = ExcelDateTime::from_ymd(2000, 1, 1).map_err(|e| e.to_string())?;
    book.set_properties(&DocProperties::new().set_creation_datetime(&epoch));
    let styles = Styles::default();
    let mut names: Vec<String> = Vec::with_capacity(sheets.len());
    for (index, sheet) in sheets.iter().enumerate() {
        let worksheet = book.add_worksheet();
        let name = sheet_name(&sheet.name);
        let lower = name.to_lowercase();
        if !names.iter().any(|n| n.to_lowercase() == lower) && worksheet.set_name(&name).is_ok() {
            names.push(name);
        }
        write_sheet(worksheet, sheet, &styles).map_err(|e| format!("sheet {}: {e}", index + 1))?;
    }
    book.save_to_buffer().map_err(|e| e.to_string())
}

/// The cell formats: bold for the header, wrapped text for text with line breaks.
struct Styles {
    header: Format,
    header_wrapped: Format,
    wrapped: Format,
    day: Format,
}

impl Default for Styles {
    fn default() -> Styles {
        let wrap = |f: Format| {
            f.set_text_wrap()
                .set_align(rust_xlsxwriter::FormatAlign::Top)
        };
        Styles {
            header: Format::new().set_bold(),
            header_wrapped: wrap(Format::new().set_bold()),
            wrapped: wrap(Format::new()),
            day: Format::new().set_num_format("dd/mm/yyyy"),
        }
    }
}

fn write_sheet(ws: &mut Worksheet, sheet: &Sheet, styles: &Styles) -> Result<(), String> {
    let at = |row: usize, col: usize| -> Result<(RowNum, ColNum), String> {
        match (RowNum::try_from(row), ColNum::try_from(col)) {
            (Ok(r), Ok(c)) => Ok((r, c)),
            _ => Err(XlsxError::RowColumnLimitError.to_string()),
        }
    };
    let cell_error =
        |(r, c): (RowNum, ColNum), e: XlsxError| format!("cell {}: {e}", row_col_to_cell(r, c));
    for (col, width) in sheet.column_widths.iter().enumerate() {
        if width.is_finite() && *width > 0.0 {
            let (_, c) = at(0, col)?;
            ws.set_column_width(c, width.min(255.0))
                .map_err(|e| e.to_string())?;
        }
    }
    let first_row = usize::from(!sheet.header.is_empty());
    if first_row == 1 {
        ws.set_freeze_panes(1, 0).map_err(|e| e.to_string())?;
        for (col, text) in sheet.header.iter().enumerate() {
            let format = if text.contains(['\n', '\r']) {
                &styles.header_wrapped
            } else {
                &styles.header
            };
            let place = at(0, col)?;
            if !text.is_empty() {
                ws.write_string_with_format(place.0, place.1, text, format)
                    .map_err(|e| cell_error(place, e))?;
            }
        }
    }
    for (index, row) in sheet.rows.iter().enumerate() {
        for (col, cell) in row.iter().enumerate() {
            let place = at(first_row + index, col)?;
            let (r, c) = place;
            let written = match cell {
                Cell::Text(text) if text.is_empty() => continue,
                Cell::Text(text) if text.contains(['\n', '\r']) => {
                    ws.write_string_with_format(r, c, text, &styles.wrapped)
                }
                Cell::Text(text) => ws.write_string(r, c, text),
                Cell::Number(n) if n.is_finite() => ws.write_number(r, c, *n),
                Cell::Number(n) if n.is_nan() => ws.write_string(r, c, "NaN"),
                Cell::Number(n) if *n > 0.0 => ws.write_string(r, c, "inf"),
                Cell::Number(_) => ws.write_string(r, c, "-inf"),
                Cell::Date(d) => {
                    let day = ExcelDateTime::from_ymd(
                        u16::try_from(d.year()).map_err(|e| e.to_string())?,
                        u8::from(d.month()),
                        d.day(),
                    )
                    .map_err(|e| cell_error(place, e))?;
                    ws.write_datetime_with_format(r, c, &day, &styles.day)
                }
                Cell::Empty => continue,
            };
            written.map_err(|e| cell_error(place, e))?;
        }
    }
    Ok(())
}

/// A sheet name Excel accepts, as far as characters and length go (see [`Sheet::name`]).
fn sheet_name(name: &str) -> String {
    let replaced: String = name
        .chars()
        .map(|c| match c {
            '[' | ']' | ':' | '*' | '?' | '/' | '\\' => '_',
            c if c.is_control() => '_',
            c => c,
        })
        .collect();
    let cut: String = replaced.trim_matches('\'').chars().take(31).collect();
    let mut name = cut.trim_end_matches('\'').to_owned();
    // Excel reserves it (rust_xlsxwriter does not check).
    if name.eq_ignore_ascii_case("history") {
        name.push('_');
    }
    name
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;
    use std::io::Read;

    /// Opens the workbook as a ZIP archive and returns its parts by name.
    fn parts(xlsx: &[u8]) -> BTreeMap<String, String> {
        let mut zip = zip::ZipArchive::new(std::io::Cursor::new(xlsx)).unwrap();
        (0..zip.len())
            .map(|i| {
                let mut part = zip.by_index(i).unwrap();
                let mut text = String::new();
                part.read_to_string(&mut text).unwrap();
                (part.name().unwrap().into_owned(), text)
            })
            .collect()
    }

    /// The shared strings in order: what a `t="s"` cell's index points at.
    fn shared_strings(parts: &BTreeMap<String, String>) -> Vec<String> {
        parts["xl/sharedStrings.xml"]
            .split("<si>")
            .skip(1)
            .map(|si| {
                let t = &si[si.find("<t").unwrap()..];
                let t = &t[t.find('>').unwrap() + 1..];
                t[..t.find("</t>").unwrap()]
                    .replace("&lt;", "<")
                    .replace("&gt;", ">")
                    .replace("&quot;", "\"")
                    .replace("&apos;", "'")
                    .replace("&amp;", "&")
            })
            .collect()
    }

    /// The text of cell `reference` (e.g. `B2`) of sheet 1: a shared string, or a number.
    fn cell(parts: &BTreeMap<String, String>, reference: &str) -> Option<String> {
        let sheet = &parts["xl/worksheets/sheet1.xml"];
        let at = sheet.find(&format!("<c r=\"{reference}\""))?;
        let c = &sheet[at..];
        let c = &c[..c.find("</c>")?];
        let v = &c[c.find("<v>")? + 3..c.find("</v>")?];
        if c.contains("t=\"s\"") {
            Some(shared_strings(parts)[v.parse::<usize>().unwrap()].clone())
        } else {
            Some(v.to_owned())
        }
    }

    fn outreach_sheet() -> Sheet {
        Sheet {
            name: "Danh sách liên hệ".to_owned(),
            header: vec![
                "Họ và tên".to_owned(),
                "Ngày sinh".to_owned(),
                "Số điện thoại".to_owned(),
                "Điểm".to_owned(),
            ],
            rows: vec![
                vec![
                    "Nguyễn Thị Ánh".into(),
                    "1990-05-17".into(),
                    "+84901234567".into(),
                    Cell::Number(9.5),
                ],
                vec![
                    "Trần Văn Đức & <Cộng sự> \"A\" 'B'".into(),
                    Cell::Empty,
                    "=HYPERLINK(\"http://x\",\"bấm\")".into(),
                    Cell::Number(-3.0),
                ],
                vec![
                    "dòng một\ndòng hai".into(),
                    "-1+1".into(),
                    "@SUM(A1)".into(),
                    Cell::Number(1234567.25),
                ],
            ],
            column_widths: vec![28.0, 12.0, 16.0],
        }
    }

    #[test]
    fn xlsx_vietnamese_workbook_round_trips() {
        let parts = parts(&workbook(&[outreach_sheet()]).unwrap());
        for part in [
            "[Content_Types].xml",
            "xl/workbook.xml",
            "xl/styles.xml",
            "xl/sharedStrings.xml",
            "xl/worksheets/sheet1.xml",
        ] {
            assert!(parts.contains_key(part), "{part} in {:?}", parts.keys());
        }

        // Header and values come back as written, Vietnamese included.
        let got = |r: &str| cell(&parts, r);
        assert_eq!(got("A1").as_deref(), Some("Họ và tên"));
        assert_eq!(got("C1").as_deref(), Some("Số điện thoại"));
        assert_eq!(got("A2").as_deref(), Some("Nguyễn Thị Ánh"));
        assert_eq!(got("C2").as_deref(), Some("+84901234567"));
        assert_eq!(got("D2").as_deref(), Some("9.5"));
        assert_eq!(got("D4").as_deref(), Some("1234567.25"));
        // Markup characters survive; the empty cell B3 is simply absent.
        assert_eq!(
            got("A3").as_deref(),
            Some("Trần Văn Đức & <Cộng sự> \"A\" 'B'")
        );
        assert!(got("B3").is_none());
        // Formula-looking text stays an inert string; no formula anywhere.
        assert!(got("C3").unwrap().starts_with("=HYPERLINK("));
        assert_eq!(got("B4").as_deref(), Some("-1+1"));
        assert_eq!(got("C4").as_deref(), Some("@SUM(A1)"));
        assert!(!parts["xl/worksheets/sheet1.xml"].contains("<f>"));

        let sheet = &parts["xl/worksheets/sheet1.xml"];
        // The header is bold and frozen; the widths are set.
        assert!(sheet.contains("<c r=\"A1\" s=\"1\" t=\"s\">"), "{sheet}");
        assert!(parts["xl/styles.xml"].contains("<b/>"));
        assert!(sheet.contains("state=\"frozen\""));
        assert!(sheet.contains("ySplit=\"1\""));
        assert!(sheet.contains("<col min=\"1\" max=\"1\""), "{sheet}");
        assert!(parts["xl/workbook.xml"].contains("<sheet name=\"Danh sách liên hệ\""));
        // Text with a line break is wrapped.
        assert_eq!(got("A4").as_deref(), Some("dòng một\ndòng hai"));
        assert!(parts["xl/styles.xml"].contains("wrapText=\"1\""));
    }

    #[test]
    fn xlsx_output_is_deterministic() {
        let sheets = [outreach_sheet(), Sheet::default()];
        assert_eq!(workbook(&sheets).unwrap(), workbook(&sheets).unwrap());
    }

    #[test]
    fn xlsx_several_sheets_and_sheet_names() {
        let sheet = |name: &str| Sheet {
            name: name.to_owned(),
            ..Sheet::default()
        };
        let parts = parts(
            &workbook(&[
                sheet("Liên hệ [tháng 5/2024]: *?\\"),
                sheet("Một cái tên rất dài, dài hơn ba mươi mốt ký tự"),
                sheet(""),
                sheet("LIÊN HỆ _THÁNG 5_2024__ ___"),
                sheet("'History'"),
                sheet("A & B"),
            ])
            .unwrap(),
        );
        let wb = &parts["xl/workbook.xml"];
        for expected in [
            "name=\"Liên hệ _tháng 5_2024__ ___\" sheetId=\"1\"",
            "name=\"Một cái tên rất dài, dài hơn ba\" sheetId=\"2\"",
            "name=\"Sheet3\" sheetId=\"3\"",
            // The same as sheet 1 ignoring case: the default name instead.
            "name=\"Sheet4\" sheetId=\"4\"",
            "name=\"History_\" sheetId=\"5\"",
            "name=\"A &amp; B\" sheetId=\"6\"",
        ] {
            assert!(wb.contains(expected), "{expected} in {wb}");
        }
        for n in 1..=6 {
            // No header: nothing frozen.
            assert!(!parts[&format!("xl/worksheets/sheet{n}.xml")].contains("frozen"));
        }
    }

    #[test]
    fn xlsx_numbers_and_limits() {
        let sheet = Sheet {
            name: "s".to_owned(),
            header: vec![" padded ".to_owned()],
            rows: vec![vec![
                Cell::Number(f64::NAN),
                Cell::Number(f64::NEG_INFINITY),
                Cell::Number(1e20),
                Cell::Number(-0.000_001),
                Cell::Number(0.0),
                Cell::Text(String::new()),
            ]],
            column_widths: vec![f64::NAN, -1.0, 1000.0],
        };
        let parts = parts(&workbook(&[sheet]).unwrap());
        let got = |r: &str| cell(&parts, r);
        assert_eq!(got("A1").as_deref(), Some(" padded "));
        assert_eq!(got("A2").as_deref(), Some("NaN"));
        assert_eq!(got("B2").as_deref(), Some("-inf"));
        assert_eq!(got("C2").unwrap().parse::<f64>().unwrap(), 1e20);
        assert_eq!(got("D2").unwrap().parse::<f64>().unwrap(), -0.000_001);
        assert_eq!(got("E2").as_deref(), Some("0"));
        assert!(got("F2").is_none());
        let xml = &parts["xl/worksheets/sheet1.xml"];
        assert!(xml.contains("<col min=\"3\" max=\"3\""), "{xml}");
        assert!(!xml.contains("<col min=\"1\""), "{xml}");

        assert!(workbook(&[]).is_err());
        let too_long = Sheet {
            rows: vec![vec![Cell::Text("ạ".repeat(32_768))]],
            ..Sheet::default()
        };
        let err = workbook(&[too_long]).unwrap_err();
        assert!(err.contains("cell A1"), "{err}");
        let wide = Sheet {
            header: vec!["x".to_owned(); 16_385],
            ..Sheet::default()
        };
        assert!(workbook(&[wide]).is_err());
    }
}
