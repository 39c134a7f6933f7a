//! Fuzzes `PersonalId::parse` and the invariants of every ID it accepts.
#![no_main]

use eid_domain::{PersonalId, Sex};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(s) = std::str::from_utf8(data) else { return };
    let Ok(id) = PersonalId::parse(s) else { return };

    // The stored form is exactly the input: no normalisation happens on the way in.
    assert_eq!(id.as_str(), s, "as_str() does not round-trip");
    assert_eq!(PersonalId::parse(id.as_str()), Ok(id), "as_str() does not re-parse to the same ID");
    assert_eq!(id.to_string(), s);

    // Twelve ASCII digits.
    assert_eq!(s.len(), 12);
    assert!(s.bytes().all(|b| b.is_ascii_digit()));

    let year = id.birth_year();
    assert!((1900..=2399).contains(&year), "birth_year {year} out of 1900..=2399");

    let d4 = s.as_bytes()[3] - b'0';
    let want = if d4 % 2 == 0 { Sex::Male } else { Sex::Female };
    assert_eq!(id.sex(), want, "sex() disagrees with the parity of digit 4");

    let province = id.province_code();
    assert!(province < 100, "province_code {province} >= 100");
    assert_eq!(format!("{province:03}"), s[..3], "province_code() is not digits 1-3");

    // The year is digits 5-6 within the century that digit 4 encodes.
    assert_eq!(year.rem_euclid(100), i32::from(s.as_bytes()[4] - b'0') * 10 + i32::from(s.as_bytes()[5] - b'0'));

    // from_parts rebuilds the same prefix from the decoded parts.
    let serial: u32 = s[6..].parse().unwrap_or(u32::MAX);
    let rebuilt = PersonalId::from_parts(province, id.sex(), year, serial);
    assert_eq!(rebuilt, Ok(id), "from_parts(decoded parts) differs");

    // Debug must not reveal the serial.
    assert_eq!(format!("{id:?}"), format!("PersonalId({}…)", &s[..6]));
});
