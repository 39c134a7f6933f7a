//! Vietnamese mobile phone numbers and the kind of phone a person has.
//!
//! Numbers arrive as `0912 345 678`, `+84 912 345 678`, `84912345678`, `091.234.5678` or
//! `(+84) 912-345-678`; they are stored in one form, E.164 (`+84912345678`). Only mobile
//! prefixes in use since the 2018 renumbering are accepted; the old 11-digit `01xx` numbers are
//! refused with that reason, since the operator prefix they map to is not knowable here.

use std::fmt;

/// A Vietnamese mobile number in E.164 form.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct PhoneNumber(String);

/// Why a string is not a Vietnamese mobile number.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PhoneError {
    /// A character other than digits, spaces, `.`, `-`, `(`, `)` and a leading `+`.
    BadChar(char),
    /// Not 9 national digits after the leading `0` or `+84`.
    Length(usize),
    /// An 11-digit number from before the 2018 renumbering (`01xx…`).
    OldPrefix,
    /// The first national digits are not a mobile prefix.
    NotMobile(String),
}

impl fmt::Display for PhoneError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PhoneError::BadChar(c) => write!(f, "contains {c:?}"),
            PhoneError::Length(n) => {
                write!(
                    f,
                    "must have 10 digits starting with 0 (or +84 and 9 digits), has {n}"
                )
            }
            PhoneError::OldPrefix => f.write_str("old 11-digit 01xx number, renumbered in 2018"),
            PhoneError::NotMobile(p) => write!(f, "prefix 0{p} is not a Vietnamese mobile prefix"),
        }
    }
}

impl std::error::Error for PhoneError {}

fn is_mobile_prefix(a: u8, b: u8) -> bool {
    match a {
        b'3' => (b'2'..=b'9').contains(&b),
        b'5' => matches!(b, b'2' | b'5' | b'6' | b'8' | b'9'),
        b'7' => matches!(b, b'0' | b'6' | b'7' | b'8' | b'9'),
        b'8' => (b'1'..=b'9').contains(&b),
        b'9' => b.is_ascii_digit(),
        _ => false,
    }
}

impl PhoneNumber {
    pub fn parse(s: &str) -> Result<PhoneNumber, PhoneError> {
        let trimmed = s.trim();
        let mut digits = String::with_capacity(12);
        let mut plus = false;
        for (i, c) in trimmed.chars().enumerate() {
            match c {
                '0'..='9' => digits.push(c),
                ' ' | '.' | '-' | '(' | ')' => {}
                '+' if digits.is_empty() && !plus && (i == 0 || i == 1) => plus = true,
                c => return Err(PhoneError::BadChar(c)),
            }
        }
        let national =
            if let Some(rest) = digits.strip_prefix("84").filter(|r| plus || r.len() == 9) {
                rest
            } else if plus {
                return Err(PhoneError::Length(digits.len()));
            } else if let Some(rest) = digits.strip_prefix('0') {
                rest
            } else {
                return Err(PhoneError::Length(digits.len()));
            };
        let national = national
            .strip_prefix('0')
            .filter(|_| plus)
            .unwrap_or(national);
        let b = national.as_bytes();
        if b.len() == 10 && b.first() == Some(&b'1') {
            return Err(PhoneError::OldPrefix);
        }
        if b.len() != 9 {
            return Err(PhoneError::Length(b.len() + 1));
        }
        match (b.first(), b.get(1)) {
            (Some(&x), Some(&y)) if is_mobile_prefix(x, y) => {}
            _ => return Err(PhoneError::NotMobile(national.chars().take(2).collect())),
        }
        Ok(PhoneNumber(format!("+84{national}")))
    }

    /// E.164 form, `+84912345678`.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The national form used on paper, `0912345678`.
    pub fn national(&self) -> String {
        let mut s = String::with_capacity(self.0.len());
        self.write_national(&mut s);
        s
    }

    /// Appends [`PhoneNumber::national`] to `out`.
    pub fn write_national(&self, out: &mut String) {
        out.push('0');
        out.push_str(self.0.get(3..).unwrap_or(""));
    }

    /// The number with all but the last three digits hidden, for screens and logs.
    pub fn masked(&self) -> String {
        let tail = self.0.get(self.0.len().saturating_sub(3)..).unwrap_or("");
        format!("0******{tail}")
    }
}

impl AsRef<str> for PhoneNumber {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for PhoneNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Phone numbers are personal data: `Debug` shows the masked form.
impl fmt::Debug for PhoneNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PhoneNumber({})", self.masked())
    }
}

/// What kind of phone a person has, which decides how outreach reaches them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PhoneType {
    None,
    Basic,
    Smartphone,
}

impl PhoneType {
    pub fn as_str(self) -> &'static str {
        match self {
            PhoneType::None => "none",
            PhoneType::Basic => "basic",
            PhoneType::Smartphone => "smartphone",
        }
    }

    pub fn parse(s: &str) -> Option<PhoneType> {
        match s {
            "none" => Some(PhoneType::None),
            "basic" => Some(PhoneType::Basic),
            "smartphone" => Some(PhoneType::Smartphone),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use expect_test::{expect, Expect};

    fn check(input: &str, expect: Expect) {
        let actual = match PhoneNumber::parse(input) {
            Ok(p) => format!("ok {p} {}", p.national()),
            Err(e) => format!("err {e}"),
        };
        expect.assert_eq(&actual);
    }

    #[test]
    fn every_common_spelling_becomes_e164() {
        check("0912345678", expect!["ok +84912345678 0912345678"]);
        check("0912 345 678", expect!["ok +84912345678 0912345678"]);
        check("+84 912 345 678", expect!["ok +84912345678 0912345678"]);
        check("+84912345678", expect!["ok +84912345678 0912345678"]);
        check("84912345678", expect!["ok +84912345678 0912345678"]);
        check("091.234.5678", expect!["ok +84912345678 0912345678"]);
        check("(+84) 912-345-678", expect!["ok +84912345678 0912345678"]);
        check("+84 (0) 912 345 678", expect!["ok +84912345678 0912345678"]);
        check("0321234567", expect!["ok +84321234567 0321234567"]);
        check("0869876543", expect!["ok +84869876543 0869876543"]);
    }

    #[test]
    fn bad_numbers_say_why() {
        check(
            "091234567",
            expect!["err must have 10 digits starting with 0 (or +84 and 9 digits), has 9"],
        );
        check(
            "09123456789",
            expect!["err must have 10 digits starting with 0 (or +84 and 9 digits), has 11"],
        );
        check(
            "01234567890",
            expect!["err old 11-digit 01xx number, renumbered in 2018"],
        );
        check(
            "0241234567",
            expect!["err prefix 024 is not a Vietnamese mobile prefix"],
        );
        check(
            "0512345678",
            expect!["err prefix 051 is not a Vietnamese mobile prefix"],
        );
        check("0912a45678", expect!["err contains 'a'"]);
        check(
            "912345678",
            expect!["err must have 10 digits starting with 0 (or +84 and 9 digits), has 9"],
        );
        check(
            "+1 212 555 0100",
            expect!["err must have 10 digits starting with 0 (or +84 and 9 digits), has 11"],
        );
        check(
            "",
            expect!["err must have 10 digits starting with 0 (or +84 and 9 digits), has 0"],
        );
    }

    #[test]
    fn masked_and_debug_hide_the_number() {
        let p = PhoneNumber::parse("0912345678").unwrap();
        assert_eq!(p.masked(), "0******678");
        assert_eq!(format!("{p:?}"), "PhoneNumber(0******678)");
    }

    #[test]
    fn phone_types_round_trip() {
        for t in [PhoneType::None, PhoneType::Basic, PhoneType::Smartphone] {
            assert_eq!(PhoneType::parse(t.as_str()), Some(t));
        }
        assert_eq!(PhoneType::parse("iphone"), None);
    }
}
