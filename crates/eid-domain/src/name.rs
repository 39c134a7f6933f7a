//! Vietnamese personal names: stored as given (in NFC), matched in a folded form.
//!
//! A name reaches the register in NFC or NFD, with or without diacritics, in any case. We keep
//! what was given, normalised to NFC, and derive a *folded* form for search and matching:
//! lower case, diacritics removed, `đ`/`Đ` turned into `d`, runs of whitespace collapsed.
//! Folding loses meaning (Nguyễn and Nguyên fold alike), so it is only ever a search key.

use std::fmt;

use unicode_normalization::char::is_combining_mark;
use unicode_normalization::UnicodeNormalization;

/// The longest name part we accept, in characters.
pub const MAX_PART_CHARS: usize = 64;

/// A person's full name: surname (họ), middle name(s) (tên đệm, may be empty), given name (tên).
#[derive(Clone, PartialEq, Eq)]
pub struct PersonName {
    surname: String,
    middle: String,
    given: String,
}

/// Why a name part was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NameError {
    /// The surname or the given name is empty.
    Empty(&'static str),
    /// The part is longer than [`MAX_PART_CHARS`].
    TooLong(&'static str, usize),
    /// The part contains a character that has no place in a name (digit, control, symbol).
    BadChar(&'static str, char),
}

impl fmt::Display for NameError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NameError::Empty(part) => write!(f, "{part} is empty"),
            NameError::TooLong(part, n) => {
                write!(f, "{part} has {n} characters, more than {MAX_PART_CHARS}")
            }
            NameError::BadChar(part, c) => write!(f, "{part} contains {c:?}, not a letter"),
        }
    }
}

impl std::error::Error for NameError {}

fn clean_part(part: &'static str, raw: &str, required: bool) -> Result<String, NameError> {
    let nfc = nfc(raw);
    let collapsed = if nfc
        .split(' ')
        .all(|w| !w.is_empty() && !w.contains(char::is_whitespace))
    {
        nfc
    } else {
        nfc.split_whitespace().collect::<Vec<_>>().join(" ")
    };
    if collapsed.is_empty() {
        return if required {
            Err(NameError::Empty(part))
        } else {
            Ok(collapsed)
        };
    }
    let n = collapsed.chars().count();
    if n > MAX_PART_CHARS {
        return Err(NameError::TooLong(part, n));
    }
    if let Some(c) = collapsed.chars().find(|&c| {
        !(is_latin_letter(c)
            || c.is_alphabetic()
            || c == ' '
            || c == '-'
            || c == '\''
            || is_combining_mark(c))
    }) {
        return Err(NameError::BadChar(part, c));
    }
    Ok(collapsed)
}

impl PersonName {
    /// Validates and normalises the three parts. Surname and given name are required.
    pub fn parse(surname: &str, middle: &str, given: &str) -> Result<PersonName, NameError> {
        Ok(PersonName {
            surname: clean_part("surname", surname, true)?,
            middle: clean_part("middle name", middle, false)?,
            given: clean_part("given name", given, true)?,
        })
    }

    pub fn surname(&self) -> &str {
        &self.surname
    }
    pub fn middle(&self) -> &str {
        &self.middle
    }
    pub fn given(&self) -> &str {
        &self.given
    }

    /// The full name in Vietnamese order: surname, middle, given.
    pub fn full(&self) -> String {
        let mut s =
            String::with_capacity(self.surname.len() + self.middle.len() + self.given.len() + 2);
        for part in [&self.surname, &self.middle, &self.given] {
            if part.is_empty() {
                continue;
            }
            if !s.is_empty() {
                s.push(' ');
            }
            s.push_str(part);
        }
        s
    }

    /// The folded full name, the key for search and matching.
    pub fn folded(&self) -> String {
        fold(&self.full())
    }
}

/// Names are personal data: `Debug` shows only the initials.
impl fmt::Debug for PersonName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let initial = |s: &str| s.chars().next().unwrap_or('-');
        write!(
            f,
            "PersonName({}. {}.)",
            initial(&self.surname),
            initial(&self.given)
        )
    }
}

/// Normalises text to NFC, the form the register stores.
pub fn nfc(s: &str) -> String {
    // Most text already is NFC: the quick check answers without allocating a decomposition.
    match unicode_normalization::is_nfc_quick(s.chars()) {
        unicode_normalization::IsNormalized::Yes => s.to_owned(),
        _ => s.nfc().collect(),
    }
}

/// Whether `c` is a letter of the Latin blocks Vietnamese is written in (Latin-1's letters,
/// Latin Extended-A and -B, Latin Extended Additional): the common case of
/// [`char::is_alphabetic`], answered without its table search.
fn is_latin_letter(c: char) -> bool {
    c.is_ascii_alphabetic()
        || matches!(c, '\u{C0}'..='\u{24F}' | '\u{1E00}'..='\u{1EFF}') && c != '×' && c != '÷'
}

/// Folds text for search: lower case, no diacritics, `đ` → `d`, whitespace collapsed to one space.
pub fn fold(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut pending_space = false;
    let mut push = |c: char, out: &mut String| {
        if is_combining_mark(c) {
            return;
        }
        if c.is_whitespace() {
            pending_space = !out.is_empty();
            return;
        }
        if pending_space {
            out.push(' ');
            pending_space = false;
        }
        match c {
            'đ' | 'Đ' => out.push('d'),
            c if c.is_ascii() => out.push(c.to_ascii_lowercase()),
            c => out.extend(c.to_lowercase()),
        }
    };
    // Each character decomposed on its own: NFD's only other step, putting combining marks in
    // canonical order, changes nothing here, where every mark is dropped.
    for c in s.chars() {
        if c.is_ascii() {
            push(c, &mut out);
        } else {
            unicode_normalization::char::decompose_canonical(c, |d| push(d, &mut out));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use unicode_normalization::UnicodeNormalization;

    /// Real Vietnamese names as they reach us: NFC, NFD, upper case, without accents.
    const NAMES: &[(&str, &str, &str, &str)] = &[
        // (surname, middle, given, folded full name)
        ("Nguyễn", "Thị Bảo", "Vân", "nguyen thi bao van"),
        ("Trần", "Văn", "Đức", "tran van duc"),
        ("Lê", "", "Lợi", "le loi"),
        ("Phạm", "Minh", "Chính", "pham minh chinh"),
        ("Võ", "Nguyên", "Giáp", "vo nguyen giap"),
        ("Đặng", "Thùy", "Trâm", "dang thuy tram"),
        ("Hồ", "Xuân", "Hương", "ho xuan huong"),
        ("Huỳnh", "Tấn", "Phát", "huynh tan phat"),
        ("Bùi", "Thị", "Xuân", "bui thi xuan"),
        ("Đỗ", "Mười", "Ư", "do muoi u"),
        ("Ngô", "Bảo", "Châu", "ngo bao chau"),
        ("Dương", "Thu", "Hương", "duong thu huong"),
        ("Tôn", "Nữ", "Thị Ninh", "ton nu thi ninh"),
        ("H'", "", "Hen Niê", "h' hen nie"),
    ];

    #[test]
    fn every_spelling_of_a_name_folds_to_the_same_key() {
        for &(s, m, g, folded) in NAMES {
            let nfc = PersonName::parse(s, m, g).unwrap();
            assert_eq!(nfc.folded(), folded, "NFC {s} {m} {g}");

            let nfd = PersonName::parse(
                &s.nfd().collect::<String>(),
                &m.nfd().collect::<String>(),
                &g.nfd().collect::<String>(),
            )
            .unwrap();
            assert_eq!(nfd, nfc, "NFD input is stored as NFC");
            assert_eq!(nfd.folded(), folded);

            let upper =
                PersonName::parse(&s.to_uppercase(), &m.to_uppercase(), &g.to_uppercase()).unwrap();
            assert_eq!(upper.folded(), folded, "upper case {s}");

            let bare = PersonName::parse(&fold(s), &fold(m), &fold(g)).unwrap();
            assert_eq!(bare.folded(), folded, "no accents {s}");
        }
    }

    #[test]
    fn folding_keeps_d_bar_as_d_and_collapses_space() {
        assert_eq!(fold("  ĐOÀN   Đình\tĐạt "), "doan dinh dat");
        assert_eq!(fold("Nguyễn"), fold("Nguyên"));
        assert_eq!(fold(""), "");
    }

    #[test]
    fn names_are_stored_in_nfc_as_given() {
        let n = PersonName::parse("Nguye\u{302}\u{303}n", " Thị  ", "Vân").unwrap();
        assert_eq!(n.surname(), "Nguyễn");
        assert_eq!(n.middle(), "Thị");
        assert_eq!(n.full(), "Nguyễn Thị Vân");
    }

    #[test]
    fn bad_names_say_what_is_wrong() {
        let cases: &[(&str, &str, &str, &str)] = &[
            ("", "Văn", "An", "surname is empty"),
            ("Lê", "", "   ", "given name is empty"),
            ("Lê", "V4n", "An", "middle name contains '4', not a letter"),
            (
                "Lê",
                "",
                "An\u{0}",
                "given name contains '\\0', not a letter",
            ),
        ];
        for &(s, m, g, want) in cases {
            assert_eq!(PersonName::parse(s, m, g).unwrap_err().to_string(), want);
        }
        let long = "a".repeat(65);
        assert_eq!(
            PersonName::parse(&long, "", "An").unwrap_err().to_string(),
            "surname has 65 characters, more than 64"
        );
    }
}

#[cfg(test)]
mod fast_paths {
    use super::*;
    use unicode_normalization::UnicodeNormalization;

    #[test]
    fn the_latin_letter_shortcut_agrees_with_is_alphabetic() {
        for c in ('\u{0}'..='\u{2FFF}').chain('\u{1E00}'..='\u{1EFF}') {
            if is_latin_letter(c) {
                assert!(c.is_alphabetic(), "{c:?}");
            }
        }
        // And it covers the blocks it names.
        assert!(('\u{1E00}'..='\u{1EFF}').all(is_latin_letter));
        assert!(!is_latin_letter('×') && !is_latin_letter('÷') && !is_latin_letter('1'));
    }

    #[test]
    fn folding_character_by_character_agrees_with_nfd_of_the_whole_text() {
        let mut texts: Vec<String> = ('\u{0}'..='\u{24F}')
            .chain('\u{1E00}'..='\u{1EFF}')
            .chain('\u{300}'..='\u{36F}')
            .chain(['\u{AC00}', '\u{D7A3}', 'Ω', 'ﬁ', 'İ'])
            .map(|c| format!("a{c}b"))
            .collect();
        // Marks in non-canonical order, decomposed and composed text, runs of whitespace.
        texts.extend([
            "Nguye\u{302}\u{303}n".to_owned(),
            "Nguye\u{303}\u{302}n".to_owned(),
            "  ĐẶNG   Thùy\tTrâm ".to_owned(),
            "Hồ Xuân Hương".nfd().collect(),
            "Phạm Minh Chính".to_owned(),
        ]);
        // Text already in NFD decomposes no further character by character, so folding it
        // is folding by the book: NFD of the whole text, marks dropped.
        for t in &texts {
            let by_the_book: String = t.nfd().collect();
            assert_eq!(fold(t), fold(&by_the_book), "{t:?}");
        }
    }
}
