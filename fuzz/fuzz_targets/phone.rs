//! Fuzzes `PhoneNumber::parse`: every accepted number has one canonical E.164 form that both
//! it and its national form parse back to.
#![no_main]

use eid_domain::PhoneNumber;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(s) = std::str::from_utf8(data) else { return };
    let Ok(p) = PhoneNumber::parse(s) else { return };

    let e164 = p.as_str();
    assert!(e164.starts_with("+84"), "not E.164 +84: {e164:?}");
    assert_eq!(e164.len(), 12, "E.164 form is not +84 and 9 digits: {e164:?}");
    assert!(e164[1..].bytes().all(|b| b.is_ascii_digit()));

    let again = PhoneNumber::parse(e164).unwrap_or_else(|e| panic!("E.164 {e164:?} does not re-parse: {e}"));
    assert_eq!(again, p, "E.164 form re-parses to another number");

    let national = p.national();
    assert_eq!(national.len(), 10);
    assert!(national.starts_with('0'));
    let again = PhoneNumber::parse(&national).unwrap_or_else(|e| panic!("national {national:?} does not re-parse: {e}"));
    assert_eq!(again, p, "national form re-parses to another number");

    assert_eq!(p.to_string(), e164);
    let masked = p.masked();
    assert_eq!(masked, format!("0******{}", &e164[9..]));
});
