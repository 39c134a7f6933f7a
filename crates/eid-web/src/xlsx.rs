//! A minimal XLSX (Office Open XML SpreadsheetML) writer, so the console can offer outreach lists
//! as spreadsheets without a zip or spreadsheet dependency.
//!
//! [`workbook`] builds the whole file in memory: a ZIP archive written by hand with the STORE
//! method (no compression, so no deflate code is needed), holding the few parts a spreadsheet
//! program needs: `[Content_Types].xml`, `_rels/.rels`, `xl/workbook.xml`,
//! `xl/_rels/workbook.xml.rels`, `xl/styles.xml` and one `xl/worksheets/sheetN.xml` per sheet.
//!
//! Text is written as inline strings (`t="inlineStr"`), so there is no shared-strings part. The
//! header row is bold and frozen. Every timestamp in the archive is the DOS epoch (1980-01-01
//! 00:00), so the same sheets always give the same bytes.
//!
//! Limits, reported as `Err` rather than written into a file a spreadsheet program would refuse
//! or "repair": at most 1,048,576 rows (header included) and 16,384 columns per sheet, at most
//! 32,767 UTF-16 code units per text cell, and an archive under 4 GiB (no ZIP64).

use std::fmt::Write as _;

/// One cell of a [`Sheet`].
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    /// Text, written as an inline string. Never interpreted as a formula, whatever it starts with.
    Text(String),
    /// A number. NaN and the infinities have no XLSX form; they are written as the text `NaN`,
    /// `inf` or `-inf`.
    Number(f64),
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
    /// The tab's name. Sanitised when written: characters Excel refuses (`[]:*?/\` and control
    /// characters) become `_`, it is cut to 31 characters, and an empty or repeated name is
    /// replaced or given a ` (2)`-style suffix.
    pub name: String,
    /// The header row (row 1). When empty, there is no header row and nothing is frozen.
    pub header: Vec<String>,
    /// The data rows; they may differ in length.
    pub rows: Vec<Vec<Cell>>,
    /// Column widths in characters, from column A on; optional, may be shorter than the row.
    /// Values that are not finite or not positive are ignored; widths are capped at 255.
    pub column_widths: Vec<f64>,
}

/// Rows in a worksheet, per the limits of Excel (and of the file format's row numbers).
pub const MAX_ROWS: usize = 1_048_576;
/// Columns in a worksheet (A … XFD).
pub const MAX_COLUMNS: usize = 16_384;
/// UTF-16 code units in one text cell.
pub const MAX_CELL_TEXT: usize = 32_767;
/// UTF-16 code units in a sheet name.
pub const MAX_SHEET_NAME: usize = 31;

const MIME_SHEET: &str = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";
const NS_MAIN: &str = "http://schemas.openxmlformats.org/spreadsheetml/2006/main";
const NS_REL: &str = "http://schemas.openxmlformats.org/officeDocument/2006/relationships";
const NS_PKG_REL: &str = "http://schemas.openxmlformats.org/package/2006/relationships";
const XML_DECL: &str = "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\n";

/// A complete .xlsx workbook (Office Open XML SpreadsheetML) with one or more sheets.
///
/// Errors when `sheets` is empty (a workbook needs a sheet), when a sheet exceeds the limits in
/// the module documentation, or when the archive would need ZIP64.
pub fn workbook(sheets: &[Sheet]) -> Result<Vec<u8>, String> {
    if sheets.is_empty() {
        return Err("a workbook needs at least one sheet".to_owned());
    }
    let names = sheet_names(sheets);

    let mut zip = ZipWriter::default();
    zip.add(
        "[Content_Types].xml",
        content_types(sheets.len()).as_bytes(),
    )?;
    zip.add("_rels/.rels", root_rels().as_bytes())?;
    zip.add("xl/workbook.xml", workbook_xml(&names).as_bytes())?;
    zip.add(
        "xl/_rels/workbook.xml.rels",
        workbook_rels(sheets.len()).as_bytes(),
    )?;
    zip.add("xl/styles.xml", STYLES_XML.as_bytes())?;
    for (index, sheet) in sheets.iter().enumerate() {
        let xml = sheet_xml(sheet).map_err(|e| format!("sheet {}: {e}", index + 1))?;
        zip.add(
            &format!("xl/worksheets/sheet{}.xml", index + 1),
            xml.as_bytes(),
        )?;
    }
    zip.finish()
}

/// The spreadsheet column name of a zero-based column index: 0 → `A`, 25 → `Z`, 26 → `AA`.
pub fn column_letters(index: usize) -> String {
    // Bijective base 26: there is no zero digit.
    let mut letters = Vec::new();
    let mut n = index + 1;
    while n > 0 {
        let rem = (n - 1) % 26;
        letters.push(b'A' + rem as u8);
        n = (n - 1) / 26;
    }
    letters.reverse();
    letters.into_iter().map(char::from).collect()
}

// ---------------------------------------------------------------------------------------------
// Package parts
// ---------------------------------------------------------------------------------------------

fn content_types(sheet_count: usize) -> String {
    let mut xml = String::from(XML_DECL);
    xml.push_str(
        "<Types xmlns=\"http://schemas.openxmlformats.org/package/2006/content-types\">\
         <Default Extension=\"rels\" \
         ContentType=\"application/vnd.openxmlformats-package.relationships+xml\"/>\
         <Default Extension=\"xml\" ContentType=\"application/xml\"/>",
    );
    let _ = write!(
        xml,
        "<Override PartName=\"/xl/workbook.xml\" ContentType=\"{MIME_SHEET}.main+xml\"/>"
    );
    for n in 1..=sheet_count {
        let _ = write!(
            xml,
            "<Override PartName=\"/xl/worksheets/sheet{n}.xml\" \
             ContentType=\"application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml\"/>"
        );
    }
    xml.push_str(
        "<Override PartName=\"/xl/styles.xml\" \
         ContentType=\"application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml\"/>\
         </Types>",
    );
    xml
}

fn root_rels() -> String {
    format!(
        "{XML_DECL}<Relationships xmlns=\"{NS_PKG_REL}\">\
         <Relationship Id=\"rId1\" Type=\"{NS_REL}/officeDocument\" Target=\"xl/workbook.xml\"/>\
         </Relationships>"
    )
}

fn workbook_xml(names: &[String]) -> String {
    let mut xml = format!(
        "{XML_DECL}<workbook xmlns=\"{NS_MAIN}\" xmlns:r=\"{NS_REL}\">\
         <bookViews><workbookView activeTab=\"0\"/></bookViews><sheets>"
    );
    for (index, name) in names.iter().enumerate() {
        let n = index + 1;
        xml.push_str("<sheet name=\"");
        escape_into(&mut xml, name);
        let _ = write!(xml, "\" sheetId=\"{n}\" r:id=\"rId{n}\"/>");
    }
    xml.push_str("</sheets></workbook>");
    xml
}

fn workbook_rels(sheet_count: usize) -> String {
    let mut xml = format!("{XML_DECL}<Relationships xmlns=\"{NS_PKG_REL}\">");
    for n in 1..=sheet_count {
        let _ = write!(
            xml,
            "<Relationship Id=\"rId{n}\" Type=\"{NS_REL}/worksheet\" \
             Target=\"worksheets/sheet{n}.xml\"/>"
        );
    }
    let _ = write!(
        xml,
        "<Relationship Id=\"rId{}\" Type=\"{NS_REL}/styles\" Target=\"styles.xml\"/>\
         </Relationships>",
        sheet_count + 1
    );
    xml
}

/// Cell formats (`s="N"`): 0 is the default, 1 bold (font 1) for the header, 2 and 3 the same
/// with wrapped text, for text with line breaks (otherwise the lines spill over the neighbouring
/// rows). Excel wants the two fills (none, gray125) to be there even though nothing uses them.
const STYLES_XML: &str = concat!(
    "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\n",
    "<styleSheet xmlns=\"http://schemas.openxmlformats.org/spreadsheetml/2006/main\">",
    "<fonts count=\"2\">",
    "<font><sz val=\"11\"/><name val=\"Calibri\"/><family val=\"2\"/></font>",
    "<font><b/><sz val=\"11\"/><name val=\"Calibri\"/><family val=\"2\"/></font>",
    "</fonts>",
    "<fills count=\"2\">",
    "<fill><patternFill patternType=\"none\"/></fill>",
    "<fill><patternFill patternType=\"gray125\"/></fill>",
    "</fills>",
    "<borders count=\"1\"><border><left/><right/><top/><bottom/><diagonal/></border></borders>",
    "<cellStyleXfs count=\"1\">",
    "<xf numFmtId=\"0\" fontId=\"0\" fillId=\"0\" borderId=\"0\"/>",
    "</cellStyleXfs>",
    "<cellXfs count=\"4\">",
    "<xf numFmtId=\"0\" fontId=\"0\" fillId=\"0\" borderId=\"0\" xfId=\"0\"/>",
    "<xf numFmtId=\"0\" fontId=\"1\" fillId=\"0\" borderId=\"0\" xfId=\"0\" applyFont=\"1\"/>",
    "<xf numFmtId=\"0\" fontId=\"0\" fillId=\"0\" borderId=\"0\" xfId=\"0\" ",
    "applyAlignment=\"1\"><alignment vertical=\"top\" wrapText=\"1\"/></xf>",
    "<xf numFmtId=\"0\" fontId=\"1\" fillId=\"0\" borderId=\"0\" xfId=\"0\" applyFont=\"1\" ",
    "applyAlignment=\"1\"><alignment vertical=\"top\" wrapText=\"1\"/></xf>",
    "</cellXfs>",
    "<cellStyles count=\"1\"><cellStyle name=\"Normal\" xfId=\"0\" builtinId=\"0\"/></cellStyles>",
    "</styleSheet>",
);

/// Whether a text cell is a header cell (bold).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Role {
    Header,
    Body,
}

fn sheet_xml(sheet: &Sheet) -> Result<String, String> {
    let header_rows = usize::from(!sheet.header.is_empty());
    let row_count = header_rows + sheet.rows.len();
    if row_count > MAX_ROWS {
        return Err(format!("{row_count} rows, more than {MAX_ROWS}"));
    }
    let width = sheet
        .rows
        .iter()
        .map(Vec::len)
        .chain(std::iter::once(sheet.header.len()))
        .max()
        .unwrap_or(0);
    if width > MAX_COLUMNS {
        return Err(format!("{width} columns, more than {MAX_COLUMNS}"));
    }

    let mut xml = format!("{XML_DECL}<worksheet xmlns=\"{NS_MAIN}\" xmlns:r=\"{NS_REL}\">");
    let dimension = if row_count == 0 || width == 0 {
        "A1".to_owned()
    } else {
        format!("A1:{}{row_count}", column_letters(width - 1))
    };
    let _ = write!(xml, "<dimension ref=\"{dimension}\"/>");
    if header_rows == 1 {
        // Freeze row 1: the pane below the split scrolls, the header stays.
        xml.push_str(
            "<sheetViews><sheetView tabSelected=\"0\" workbookViewId=\"0\">\
             <pane ySplit=\"1\" topLeftCell=\"A2\" activePane=\"bottomLeft\" state=\"frozen\"/>\
             <selection pane=\"bottomLeft\" activeCell=\"A2\" sqref=\"A2\"/>\
             </sheetView></sheetViews>",
        );
    }
    xml.push_str("<sheetFormatPr defaultRowHeight=\"15\"/>");
    write_cols(&mut xml, &sheet.column_widths);

    xml.push_str("<sheetData>");
    let mut row_number = 0usize;
    if header_rows == 1 {
        row_number += 1;
        let _ = write!(xml, "<row r=\"{row_number}\">");
        for (col, text) in sheet.header.iter().enumerate() {
            write_text_cell(&mut xml, col, row_number, text, Role::Header)?;
        }
        xml.push_str("</row>");
    }
    for row in &sheet.rows {
        row_number += 1;
        let _ = write!(xml, "<row r=\"{row_number}\">");
        for (col, cell) in row.iter().enumerate() {
            match cell {
                Cell::Text(text) => write_text_cell(&mut xml, col, row_number, text, Role::Body)?,
                Cell::Number(number) if number.is_finite() => {
                    let _ = write!(
                        xml,
                        "<c r=\"{}{row_number}\"><v>{}</v></c>",
                        column_letters(col),
                        format_number(*number)
                    );
                }
                Cell::Number(number) => {
                    let text = if number.is_nan() {
                        "NaN"
                    } else if *number > 0.0 {
                        "inf"
                    } else {
                        "-inf"
                    };
                    write_text_cell(&mut xml, col, row_number, text, Role::Body)?;
                }
                Cell::Empty => {}
            }
        }
        xml.push_str("</row>");
    }
    xml.push_str("</sheetData></worksheet>");
    Ok(xml)
}

fn write_cols(xml: &mut String, widths: &[f64]) {
    let mut cols = String::new();
    for (index, width) in widths.iter().enumerate().take(MAX_COLUMNS) {
        if !width.is_finite() || *width <= 0.0 {
            continue;
        }
        let n = index + 1;
        let _ = write!(
            cols,
            "<col min=\"{n}\" max=\"{n}\" width=\"{}\" customWidth=\"1\"/>",
            format_number(width.min(255.0))
        );
    }
    if !cols.is_empty() {
        xml.push_str("<cols>");
        xml.push_str(&cols);
        xml.push_str("</cols>");
    }
}

/// Writes a text cell as an inline string.
///
/// Formula injection: text that starts with `=`, `+`, `-` or `@` (or a tab or CR) is the classic
/// CSV injection vector, because a CSV importer guesses the type of every field. Here the cell is
/// typed `inlineStr` and its text sits in `<is><t>`; a spreadsheet program reads it as a string
/// and never evaluates it (a formula would have to be in an `<f>` element, which this writer never
/// emits), so the text is kept exactly as given, with no `'` prefix to spoil it. A person who
/// opens the cell for editing and presses Enter makes Excel re-parse what they typed; that is
/// their action, not the file's.
fn write_text_cell(
    xml: &mut String,
    col: usize,
    row: usize,
    text: &str,
    role: Role,
) -> Result<(), String> {
    if text.is_empty() {
        return Ok(());
    }
    let units: usize = text
        .chars()
        .filter(|c| xml_char_allowed(*c))
        .map(char::len_utf16)
        .sum();
    if units > MAX_CELL_TEXT {
        return Err(format!(
            "cell {}{row} holds {units} characters, more than {MAX_CELL_TEXT}",
            column_letters(col)
        ));
    }
    let multiline = text.contains(['\n', '\r']);
    let style = match (role, multiline) {
        (Role::Body, false) => "",
        (Role::Header, false) => " s=\"1\"",
        (Role::Body, true) => " s=\"2\"",
        (Role::Header, true) => " s=\"3\"",
    };
    let _ = write!(
        xml,
        "<c r=\"{}{row}\"{style} t=\"inlineStr\"><is>",
        column_letters(col)
    );
    // Leading or trailing whitespace would be trimmed by readers without xml:space.
    let preserve = text.starts_with(char::is_whitespace) || text.ends_with(char::is_whitespace);
    xml.push_str(if preserve {
        "<t xml:space=\"preserve\">"
    } else {
        "<t>"
    });
    escape_into(xml, text);
    xml.push_str("</t></is></c>");
    Ok(())
}

/// A finite number as an `xsd:double` lexical form: plain digits in the everyday range, the
/// shortest round-tripping exponent form outside it.
fn format_number(number: f64) -> String {
    let magnitude = number.abs();
    if number == 0.0 {
        "0".to_owned()
    } else if (1e-5..1e15).contains(&magnitude) {
        format!("{number}")
    } else {
        format!("{number:e}")
    }
}

/// Whether a character may be written: XML 1.0 allows it (`Char` production; Rust `char`s are
/// never surrogates) and it is not a control character other than tab, LF and CR. DEL and the C1
/// controls are legal XML but have no business in a cell either.
fn xml_char_allowed(c: char) -> bool {
    let xml = matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}')
        || c >= '\u{10000}';
    xml && (!c.is_control() || matches!(c, '\t' | '\n' | '\r'))
}

/// Appends `text` escaped for XML element content or a double-quoted attribute, dropping
/// characters XML 1.0 does not allow.
///
/// Two more escapes keep the text exact when read back: a CR is written as `&#13;` (a literal one
/// would be turned into a LF by the XML parser), and a literal `_xHHHH_` gets its underscore
/// escaped as `_x005F_`, since SpreadsheetML (ECMA-376 `ST_Xstring`) decodes `_xHHHH_` as the
/// character U+HHHH.
fn escape_into(out: &mut String, text: &str) {
    for (i, c) in text.char_indices() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\r' => out.push_str("&#13;"),
            '_' if looks_like_xstring_escape(&text[i..]) => out.push_str("_x005F_"),
            c if xml_char_allowed(c) => out.push(c),
            _ => {}
        }
    }
}

/// Whether `s` starts with `_xHHHH_` (four hexadecimal digits).
fn looks_like_xstring_escape(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() >= 7
        && b[0] == b'_'
        && (b[1] == b'x' || b[1] == b'X')
        && b[2..6].iter().all(u8::is_ascii_hexdigit)
        && b[6] == b'_'
}

// ---------------------------------------------------------------------------------------------
// Sheet names
// ---------------------------------------------------------------------------------------------

/// Sanitised, unique (case-insensitively, as Excel compares them) names for the sheets.
fn sheet_names(sheets: &[Sheet]) -> Vec<String> {
    let mut names: Vec<String> = Vec::with_capacity(sheets.len());
    for (index, sheet) in sheets.iter().enumerate() {
        let mut base = sanitise_sheet_name(&sheet.name);
        if base.is_empty() {
            base = format!("Sheet{}", index + 1);
        }
        let taken = |candidate: &str| {
            let lower = candidate.to_lowercase();
            names.iter().any(|n| n.to_lowercase() == lower)
        };
        let mut name = base.clone();
        let mut suffix_number = 2usize;
        while taken(&name) {
            let suffix = format!(" ({suffix_number})");
            let room = MAX_SHEET_NAME.saturating_sub(suffix.len());
            name = truncate_utf16(&base, room).trim_end().to_owned() + &suffix;
            suffix_number += 1;
        }
        names.push(name);
    }
    names
}

/// Replaces the characters Excel refuses in a sheet name (`[]:*?/\` and control characters)
/// with `_`, drops apostrophes at either end (Excel refuses them there), avoids the reserved
/// name `History` and cuts the name to 31 UTF-16 code units.
fn sanitise_sheet_name(name: &str) -> String {
    let replaced: String = name
        .chars()
        .map(|c| match c {
            '[' | ']' | ':' | '*' | '?' | '/' | '\\' => '_',
            c if c.is_control() || !xml_char_allowed(c) => '_',
            c => c,
        })
        .collect();
    let mut name = truncate_utf16(replaced.trim_matches('\''), MAX_SHEET_NAME)
        .trim_end_matches('\'')
        .to_owned();
    if name.eq_ignore_ascii_case("history") {
        name.push('_');
    }
    name
}

/// The longest prefix of `s` of at most `max` UTF-16 code units.
fn truncate_utf16(s: &str, max: usize) -> &str {
    let mut units = 0;
    for (i, c) in s.char_indices() {
        units += c.len_utf16();
        if units > max {
            return &s[..i];
        }
    }
    s
}

// ---------------------------------------------------------------------------------------------
// ZIP (STORE only) and CRC-32
// ---------------------------------------------------------------------------------------------

/// CRC-32 (IEEE 802.3, reflected polynomial 0xEDB88320), as ZIP uses it.
pub fn crc32(data: &[u8]) -> u32 {
    let mut crc = 0xFFFF_FFFFu32;
    for &byte in data {
        crc = CRC_TABLE[((crc ^ u32::from(byte)) & 0xFF) as usize] ^ (crc >> 8);
    }
    !crc
}

const CRC_TABLE: [u32; 256] = crc_table();

const fn crc_table() -> [u32; 256] {
    let mut table = [0u32; 256];
    let mut n = 0;
    while n < 256 {
        let mut c = n as u32;
        let mut k = 0;
        while k < 8 {
            c = if c & 1 != 0 {
                0xEDB8_8320 ^ (c >> 1)
            } else {
                c >> 1
            };
            k += 1;
        }
        table[n] = c;
        n += 1;
    }
    table
}

/// 00:00:00 in MS-DOS time format.
const DOS_TIME: u16 = 0;
/// 1980-01-01 in MS-DOS date format: (year - 1980) << 9 | month << 5 | day.
const DOS_DATE: u16 = (1 << 5) | 1;
/// Version 2.0 of the ZIP format: what "version needed" usually says for STORE entries.
const ZIP_VERSION: u16 = 20;

#[derive(Default)]
struct ZipWriter {
    out: Vec<u8>,
    central: Vec<u8>,
    entries: u16,
}

impl ZipWriter {
    fn add(&mut self, name: &str, data: &[u8]) -> Result<(), String> {
        let too_big = || "the workbook is too large for a ZIP archive without ZIP64".to_owned();
        let offset = u32::try_from(self.out.len()).map_err(|_| too_big())?;
        let size = u32::try_from(data.len()).map_err(|_| too_big())?;
        let name_len = u16::try_from(name.len()).map_err(|_| "entry name too long".to_owned())?;
        self.entries = self.entries.checked_add(1).ok_or_else(too_big)?;
        let crc = crc32(data);

        // Local file header.
        let out = &mut self.out;
        put_u32(out, 0x0403_4B50);
        put_u16(out, ZIP_VERSION); // version needed to extract
        put_u16(out, 0); // general purpose flags: names are ASCII, sizes known up front
        put_u16(out, 0); // compression method: STORE
        put_u16(out, DOS_TIME);
        put_u16(out, DOS_DATE);
        put_u32(out, crc);
        put_u32(out, size); // compressed size
        put_u32(out, size); // uncompressed size
        put_u16(out, name_len);
        put_u16(out, 0); // extra field length
        out.extend_from_slice(name.as_bytes());
        out.extend_from_slice(data);

        // Central directory header.
        let cd = &mut self.central;
        put_u32(cd, 0x0201_4B50);
        put_u16(cd, ZIP_VERSION); // version made by (host 0: MS-DOS)
        put_u16(cd, ZIP_VERSION); // version needed to extract
        put_u16(cd, 0); // flags
        put_u16(cd, 0); // method
        put_u16(cd, DOS_TIME);
        put_u16(cd, DOS_DATE);
        put_u32(cd, crc);
        put_u32(cd, size);
        put_u32(cd, size);
        put_u16(cd, name_len);
        put_u16(cd, 0); // extra field length
        put_u16(cd, 0); // comment length
        put_u16(cd, 0); // disk number start
        put_u16(cd, 0); // internal attributes
        put_u32(cd, 0); // external attributes
        put_u32(cd, offset); // offset of the local header
        cd.extend_from_slice(name.as_bytes());
        Ok(())
    }

    fn finish(mut self) -> Result<Vec<u8>, String> {
        let too_big = || "the workbook is too large for a ZIP archive without ZIP64".to_owned();
        let cd_offset = u32::try_from(self.out.len()).map_err(|_| too_big())?;
        let cd_size = u32::try_from(self.central.len()).map_err(|_| too_big())?;
        // The end-of-central-directory record must be findable within 4 GiB too.
        u32::try_from(self.out.len() + self.central.len()).map_err(|_| too_big())?;
        self.out.extend_from_slice(&self.central);

        let out = &mut self.out;
        put_u32(out, 0x0605_4B50);
        put_u16(out, 0); // number of this disk
        put_u16(out, 0); // disk where the central directory starts
        put_u16(out, self.entries); // entries on this disk
        put_u16(out, self.entries); // entries in total
        put_u32(out, cd_size);
        put_u32(out, cd_offset);
        put_u16(out, 0); // comment length
        Ok(self.out)
    }
}

fn put_u16(out: &mut Vec<u8>, value: u16) {
    out.extend_from_slice(&value.to_le_bytes());
}

fn put_u32(out: &mut Vec<u8>, value: u32) {
    out.extend_from_slice(&value.to_le_bytes());
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn u16_at(b: &[u8], at: usize) -> u16 {
        u16::from_le_bytes([b[at], b[at + 1]])
    }

    fn u32_at(b: &[u8], at: usize) -> u32 {
        u32::from_le_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
    }

    /// A tiny ZIP reader: finds the end-of-central-directory record, walks the central directory,
    /// and for each entry checks the local header against it, the method (STORE), the sizes and
    /// the CRC. Returns the entries by name, in archive order.
    fn read_zip(zip: &[u8]) -> Vec<(String, Vec<u8>)> {
        let eocd = (0..=zip.len() - 22)
            .rev()
            .find(|&i| u32_at(zip, i) == 0x0605_4B50)
            .expect("end of central directory");
        assert_eq!(
            eocd + 22,
            zip.len(),
            "no archive comment, nothing after the EOCD"
        );
        let total = u16_at(zip, eocd + 10) as usize;
        assert_eq!(u16_at(zip, eocd + 8) as usize, total);
        let cd_size = u32_at(zip, eocd + 12) as usize;
        let cd_offset = u32_at(zip, eocd + 16) as usize;
        assert_eq!(
            cd_offset + cd_size,
            eocd,
            "central directory ends at the EOCD"
        );

        let mut entries = Vec::new();
        let mut at = cd_offset;
        for _ in 0..total {
            assert_eq!(u32_at(zip, at), 0x0201_4B50, "central header signature");
            let method = u16_at(zip, at + 10);
            assert_eq!(method, 0, "STORE");
            assert_eq!(u16_at(zip, at + 12), DOS_TIME);
            assert_eq!(u16_at(zip, at + 14), 0x0021, "1980-01-01");
            let crc = u32_at(zip, at + 16);
            let csize = u32_at(zip, at + 20) as usize;
            let usize_ = u32_at(zip, at + 24) as usize;
            assert_eq!(csize, usize_, "stored entries are not compressed");
            let name_len = u16_at(zip, at + 28) as usize;
            let extra_len = u16_at(zip, at + 30) as usize;
            let comment_len = u16_at(zip, at + 32) as usize;
            let local = u32_at(zip, at + 42) as usize;
            let name = std::str::from_utf8(&zip[at + 46..at + 46 + name_len])
                .unwrap()
                .to_owned();
            at += 46 + name_len + extra_len + comment_len;

            assert_eq!(u32_at(zip, local), 0x0403_4B50, "local header signature");
            assert_eq!(u16_at(zip, local + 8), method);
            assert_eq!(u32_at(zip, local + 14), crc);
            assert_eq!(u32_at(zip, local + 18) as usize, csize);
            assert_eq!(u32_at(zip, local + 22) as usize, usize_);
            let lname_len = u16_at(zip, local + 26) as usize;
            let lextra_len = u16_at(zip, local + 28) as usize;
            assert_eq!(&zip[local + 30..local + 30 + lname_len], name.as_bytes());
            let data_at = local + 30 + lname_len + lextra_len;
            let data = zip[data_at..data_at + csize].to_vec();
            assert_eq!(crc32(&data), crc, "CRC of {name}");
            entries.push((name, data));
        }
        assert_eq!(at, eocd);
        entries
    }

    fn parts(zip: &[u8]) -> BTreeMap<String, String> {
        read_zip(zip)
            .into_iter()
            .map(|(name, data)| (name, String::from_utf8(data).unwrap()))
            .collect()
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
                    "Lê\u{1}Hoàng\u{0}\u{B}Phúc".into(),
                    "-1+1".into(),
                    "@SUM(A1)".into(),
                    Cell::Number(1234567.25),
                ],
            ],
            column_widths: vec![28.0, 12.0, 16.0],
        }
    }

    #[test]
    fn xlsx_crc32_check_value() {
        assert_eq!(crc32(b"123456789"), 0xCBF4_3926);
        assert_eq!(crc32(b""), 0);
    }

    #[test]
    fn xlsx_column_letters() {
        let got: Vec<String> = [0, 1, 25, 26, 27, 51, 52, 701, 702, 16_383]
            .into_iter()
            .map(column_letters)
            .collect();
        assert_eq!(
            got,
            ["A", "B", "Z", "AA", "AB", "AZ", "BA", "ZZ", "AAA", "XFD"]
        );
    }

    #[test]
    fn xlsx_vietnamese_workbook_round_trips() {
        let zip = workbook(&[outreach_sheet()]).unwrap();
        let entries = read_zip(&zip);
        let names: Vec<&str> = entries.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(
            names,
            [
                "[Content_Types].xml",
                "_rels/.rels",
                "xl/workbook.xml",
                "xl/_rels/workbook.xml.rels",
                "xl/styles.xml",
                "xl/worksheets/sheet1.xml",
            ]
        );
        let parts = parts(&zip);
        let sheet = &parts["xl/worksheets/sheet1.xml"];

        // Header: bold style, inline strings, UTF-8 Vietnamese as is.
        assert!(sheet.contains(
            "<row r=\"1\"><c r=\"A1\" s=\"1\" t=\"inlineStr\"><is><t>Họ và tên</t></is></c>\
             <c r=\"B1\" s=\"1\" t=\"inlineStr\"><is><t>Ngày sinh</t></is></c>"
        ));
        assert!(sheet.contains("<c r=\"A2\" t=\"inlineStr\"><is><t>Nguyễn Thị Ánh</t></is></c>"));
        assert!(sheet.contains("<c r=\"D2\"><v>9.5</v></c>"));
        // Escaping, and the empty cell B3 is simply absent.
        assert!(sheet.contains(
            "<row r=\"3\"><c r=\"A3\" t=\"inlineStr\"><is><t>Trần Văn Đức &amp; &lt;Cộng sự&gt; \
             &quot;A&quot; &apos;B&apos;</t></is></c><c r=\"C3\""
        ));
        // Formula-looking text stays an inert inline string; no <f> anywhere.
        assert!(sheet.contains(
            "<c r=\"C3\" t=\"inlineStr\"><is><t>=HYPERLINK(&quot;http://x&quot;,&quot;bấm&quot;)\
             </t></is></c>"
        ));
        assert!(sheet.contains("<t>-1+1</t>"));
        assert!(sheet.contains("<t>@SUM(A1)</t>"));
        assert!(!sheet.contains("<f>"));
        // Control characters are dropped.
        assert!(sheet.contains("<t>LêHoàngPhúc</t>"));
        assert!(sheet.contains("<c r=\"D4\"><v>1234567.25</v></c>"));
        // Frozen header, widths, dimension.
        assert!(sheet.contains("<dimension ref=\"A1:D4\"/>"));
        assert!(sheet.contains(
            "ySplit=\"1\" topLeftCell=\"A2\" activePane=\"bottomLeft\" state=\"frozen\""
        ));
        assert!(sheet.contains("<cols><col min=\"1\" max=\"1\" width=\"28\" customWidth=\"1\"/>"));

        assert!(parts["xl/workbook.xml"]
            .contains("<sheet name=\"Danh sách liên hệ\" sheetId=\"1\" r:id=\"rId1\"/>"));
        assert!(parts["xl/styles.xml"].contains("<font><b/>"));
        assert!(parts["[Content_Types].xml"].contains("/xl/worksheets/sheet1.xml"));
        for (name, text) in &parts {
            assert!(
                text.starts_with("<?xml version=\"1.0\" encoding=\"UTF-8\""),
                "{name}"
            );
        }
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
        let zip = workbook(&[
            sheet("Liên hệ [tháng 5/2024]: *?\\"),
            sheet("Một cái tên rất dài, dài hơn ba mươi mốt ký tự"),
            sheet(""),
            sheet("LIÊN HỆ _THÁNG 5_2024__ ___"),
            sheet("'History'"),
            sheet("A & B"),
        ])
        .unwrap();
        let parts = parts(&zip);
        let wb = &parts["xl/workbook.xml"];
        for expected in [
            "name=\"Liên hệ _tháng 5_2024__ ___\" sheetId=\"1\"",
            "name=\"Một cái tên rất dài, dài hơn ba\" sheetId=\"2\"",
            "name=\"Sheet3\" sheetId=\"3\"",
            // Same as sheet 1 ignoring case, so it gets a suffix.
            "name=\"LIÊN HỆ _THÁNG 5_2024__ ___ (2)\" sheetId=\"4\"",
            "name=\"History_\" sheetId=\"5\"",
            "name=\"A &amp; B\" sheetId=\"6\"",
        ] {
            assert!(wb.contains(expected), "{expected} in {wb}");
        }
        for n in 1..=6 {
            let sheet = &parts[&format!("xl/worksheets/sheet{n}.xml")];
            // No header: nothing frozen.
            assert!(!sheet.contains("<pane"));
            assert!(parts["xl/_rels/workbook.xml.rels"].contains(&format!(
                "Id=\"rId{n}\" Type=\"{NS_REL}/worksheet\" Target=\"worksheets/sheet{n}.xml\""
            )));
        }
        assert!(parts["xl/_rels/workbook.xml.rels"].contains("Id=\"rId7\""));
        assert_eq!(sanitise_sheet_name("a:b").chars().count(), 3);
        let long = "x".repeat(40);
        assert_eq!(sanitise_sheet_name(&long).len(), 31);
    }

    #[test]
    fn xlsx_text_escapes_and_limits() {
        let mut out = String::new();
        escape_into(&mut out, "a\r\nb\tc_x0041_d_x00e_\u{FFFE}\u{7F}\u{85}😀");
        assert_eq!(out, "a&#13;\nb\tc_x005F_x0041_d_x00e_😀");

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
                Cell::Text("dòng một\ndòng hai".to_owned()),
            ]],
            column_widths: vec![f64::NAN, -1.0, 1000.0],
        };
        let parts = parts(&workbook(&[sheet]).unwrap());
        let xml = &parts["xl/worksheets/sheet1.xml"];
        assert!(xml.contains(
            "<c r=\"A1\" s=\"1\" t=\"inlineStr\"><is><t xml:space=\"preserve\"> padded </t>"
        ));
        assert!(xml.contains("<c r=\"A2\" t=\"inlineStr\"><is><t>NaN</t></is></c>"));
        assert!(xml.contains("<t>-inf</t>"));
        assert!(xml.contains("<c r=\"C2\"><v>1e20</v></c>"));
        assert!(xml.contains("<c r=\"D2\"><v>-1e-6</v></c>"));
        assert!(xml.contains("<c r=\"E2\"><v>0</v></c>"));
        assert!(!xml.contains("r=\"F2\""));
        assert!(xml.contains("<c r=\"G2\" s=\"2\" t=\"inlineStr\"><is><t>dòng một\ndòng hai</t>"));
        assert!(
            xml.contains("<cols><col min=\"3\" max=\"3\" width=\"255\" customWidth=\"1\"/></cols>")
        );

        assert!(workbook(&[]).is_err());
        let too_long = Sheet {
            rows: vec![vec![Cell::Text("ạ".repeat(MAX_CELL_TEXT + 1))]],
            ..Sheet::default()
        };
        let err = workbook(&[too_long]).unwrap_err();
        assert!(err.contains("cell A1"), "{err}");
        let wide = Sheet {
            header: vec![String::new(); MAX_COLUMNS + 1],
            ..Sheet::default()
        };
        assert!(workbook(&[wide]).is_err());
    }
}
