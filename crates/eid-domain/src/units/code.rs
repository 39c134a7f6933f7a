//! Unit codes: zero-padded GSO numbers whose width says the level.

use std::fmt;
use std::str::FromStr;

use super::{Level, Tree};

/// A well-formed unit code: `VN`, or a GSO code of 2, 3 or 5 digits whose width is its level.
///
/// A code is only well formed, not known to exist: [`Units::lookup`] checks that, in a tree.
/// Codes order by level, then by number, which is the order of the GSO lists.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct UnitCode {
    pub(super) level: Level,
    pub(super) number: u32,
    /// The zero-padded ASCII text, `level.width()` bytes long, the rest zero.
    pub(super) text: [u8; 5],
}

impl UnitCode {
    /// The country, root of both trees. Displays as `VN`.
    pub const NATION: UnitCode = UnitCode {
        level: Level::Nation,
        number: 0,
        text: *b"VN\0\0\0",
    };

    /// Parses `VN` or a code of exactly 2 (province), 3 (district) or 5 (commune) ASCII digits.
    /// Codes of all zeros name no unit and are refused. Existence is not checked.
    pub fn parse(s: &str) -> Result<UnitCode, UnitError> {
        if s == "VN" {
            return Ok(UnitCode::NATION);
        }
        let level = match s.len() {
            2 => Level::Province,
            3 => Level::District,
            5 => Level::Commune,
            _ => return Err(format_error(s)),
        };
        if !s.bytes().all(|b| b.is_ascii_digit()) {
            return Err(format_error(s));
        }
        let number = s.bytes().fold(0u32, |n, b| n * 10 + u32::from(b - b'0'));
        if number == 0 {
            return Err(UnitError::Format(format!(
                "unit code {s} is all zeros, which names no unit"
            )));
        }
        UnitCode::new(level, number).ok_or_else(|| format_error(s))
    }

    /// The code of province `n` (1 to 99).
    pub fn province(n: u8) -> Result<UnitCode, UnitError> {
        UnitCode::numbered(Level::Province, u32::from(n))
    }

    /// The code of district `n` (1 to 999).
    pub fn district(n: u16) -> Result<UnitCode, UnitError> {
        UnitCode::numbered(Level::District, u32::from(n))
    }

    /// The code of commune `n` (1 to 99999).
    pub fn commune(n: u32) -> Result<UnitCode, UnitError> {
        UnitCode::numbered(Level::Commune, n)
    }

    pub(super) fn numbered(level: Level, n: u32) -> Result<UnitCode, UnitError> {
        UnitCode::new(level, n).ok_or_else(|| {
            UnitError::Format(format!(
                "{level} code must be 1 to {}: got {n}",
                level.max()
            ))
        })
    }

    /// The code of a numbered unit, if `number` fits the level's width and is not zero.
    pub(super) fn new(level: Level, number: u32) -> Option<UnitCode> {
        if level == Level::Nation || number == 0 || number > level.max() {
            return None;
        }
        let mut text = [0u8; 5];
        let mut rest = number;
        for slot in text.iter_mut().take(level.width()).rev() {
            // `rest % 10` is below 10, so the cast cannot truncate.
            *slot = b'0' + (rest % 10) as u8;
            rest /= 10;
        }
        Some(UnitCode {
            level,
            number,
            text,
        })
    }

    /// The level the code's width names.
    pub fn level(&self) -> Level {
        self.level
    }

    /// The code as displayed: zero-padded (`"38"`, `"389"`, `"15001"`) or `"VN"`.
    pub fn as_str(&self) -> &str {
        self.text
            .get(..self.level.width())
            .and_then(|bytes| std::str::from_utf8(bytes).ok())
            .unwrap_or("")
    }

    /// The integer code (0 for [`UnitCode::NATION`]).
    pub fn number(&self) -> u32 {
        self.number
    }
}

/// The error for a string that is not a unit code, showing at most 16 characters of it.
pub(super) fn format_error(s: &str) -> UnitError {
    let shown: String = s.chars().take(16).collect();
    let more = if s.chars().nth(16).is_some() {
        "…"
    } else {
        ""
    };
    UnitError::Format(format!(
        "unit code must be VN or 2, 3 or 5 digits: got {shown:?}{more}"
    ))
}

impl fmt::Debug for UnitCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "UnitCode({})", self.as_str())
    }
}

impl fmt::Display for UnitCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl AsRef<str> for UnitCode {
    fn as_ref(&self) -> &str {
        self.as_str()
    }
}

impl FromStr for UnitCode {
    type Err = UnitError;

    fn from_str(s: &str) -> Result<UnitCode, UnitError> {
        UnitCode::parse(s)
    }
}

/// Why a unit code was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UnitError {
    /// Not a well-formed code; the string is the whole reason, in English.
    Format(String),
    /// Well formed, but no unit of the tree has this code (shown zero-padded).
    Unknown { tree: Tree, code: String },
}

impl fmt::Display for UnitError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            UnitError::Format(reason) => f.write_str(reason),
            UnitError::Unknown { tree, code } => {
                write!(f, "unknown unit {code} in the {tree} tree")
            }
        }
    }
}

impl std::error::Error for UnitError {}
