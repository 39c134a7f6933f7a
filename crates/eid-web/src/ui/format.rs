//! Numbers and dates as each language of the console writes them: counts grouped by thousands
//! ("1.633.225" in Vietnamese, "1,633,225" in English), decimals with the language's point
//! ("8.595,4"), percentages of a target exactly as the API computes them
//! ([`campaign::percent_fixed`]), dates as dd/mm/yyyy in Vietnamese and ISO in English.

use eid_domain::campaign;
use eid_domain::iso;
use time::Date;

use crate::console::i18n::Lang;

/// The decimal separator of the language.
pub fn decimal_sep(lang: Lang) -> char {
    match lang {
        Lang::Vi => ',',
        Lang::En => '.',
    }
}

/// The thousands separator of the language.
pub fn group_sep(lang: Lang) -> char {
    match lang {
        Lang::Vi => '.',
        Lang::En => ',',
    }
}

/// Groups the digits of a decimal number written with a `.` point ("1633225.5") and writes
/// it as the language does ("1.633.225,5" or "1,633,225.5").
pub fn localize(lang: Lang, plain: &str) -> String {
    let (sign, rest) = match plain.strip_prefix('-') {
        Some(r) => ("-", r),
        None => ("", plain),
    };
    let (int, frac) = rest.split_once('.').unwrap_or((rest, ""));
    let mut out = String::with_capacity(plain.len() + plain.len() / 3 + 1);
    out.push_str(sign);
    let len = int.chars().count();
    for (i, c) in int.chars().enumerate() {
        if i > 0 && (len - i).is_multiple_of(3) {
            out.push(group_sep(lang));
        }
        out.push(c);
    }
    if !frac.is_empty() {
        out.push(decimal_sep(lang));
        out.push_str(frac);
    }
    out
}

/// A count with thousands grouped.
pub fn num(lang: Lang, n: u64) -> String {
    localize(lang, &n.to_string())
}

/// A non-negative quantity with `decimals` decimals, rounded half away from zero.
pub fn fixed(lang: Lang, v: f64, decimals: u32) -> String {
    localize(lang, &campaign::format_percent(v, decimals))
}

/// `done` as a percentage of `target`, two decimals, exactly as the API gives it.
pub fn pct(lang: Lang, done: u64, target: u64) -> String {
    format!(
        "{}\u{a0}%",
        localize(lang, &campaign::percent_fixed(done, target, 2))
    )
}

/// A percentage already computed as a float, two decimals.
pub fn pct_f(lang: Lang, v: f64) -> String {
    format!("{}\u{a0}%", fixed(lang, v, 2))
}

/// A date as the language writes it: 15/07/2023, or 2023-07-15.
pub fn day_label(lang: Lang, d: Date) -> String {
    match lang {
        Lang::Vi => format!("{:02}/{:02}/{}", d.day(), u8::from(d.month()), d.year()),
        Lang::En => iso(d),
    }
}

/// A birth date as the language writes it: 17/07/1966, or the year alone when only it is known.
pub fn birth_label(lang: Lang, b: eid_domain::BirthDate) -> String {
    match b {
        eid_domain::BirthDate::Full(d) => day_label(lang, d),
        eid_domain::BirthDate::Year(y) => format!("{y:04}"),
    }
}

/// A day typed as Vietnamese writes it (17/07/1966, 7/7/1966) rewritten as ISO (1966-07-17);
/// anything else is returned as typed, for the reader of ISO days and years to judge.
pub fn iso_from_typed(raw: &str) -> String {
    let raw = raw.trim();
    if raw.contains('/') {
        if let Some(d) = eid_core::ops::parse_day_text(raw) {
            return iso(d);
        }
    }
    raw.to_owned()
}

/// A date without its year, for chart ticks and periods: 15/07.
pub fn short_day(d: Date) -> String {
    format!("{:02}/{:02}", d.day(), u8::from(d.month()))
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;
    use time::macros::date;

    #[test]
    fn numbers_are_written_as_each_language_writes_them() {
        assert_eq!(num(Lang::Vi, 1_633_225), "1.633.225");
        assert_eq!(num(Lang::En, 1_633_225), "1,633,225");
        assert_eq!(pct(Lang::Vi, 1_633_225, 1_620_967), "100,76\u{a0}%");
        assert_eq!(pct(Lang::En, 2_330_383, 1_620_967), "143.76\u{a0}%");
        assert_eq!(fixed(Lang::Vi, 8595.43, 1), "8.595,4");
        assert_eq!(day_label(Lang::Vi, date!(2023 - 07 - 15)), "15/07/2023");
        assert_eq!(day_label(Lang::En, date!(2023 - 07 - 15)), "2023-07-15");
        assert_eq!(
            birth_label(Lang::Vi, eid_domain::BirthDate::Full(date!(1966 - 07 - 17))),
            "17/07/1966"
        );
        assert_eq!(
            birth_label(Lang::Vi, eid_domain::BirthDate::Year(1947)),
            "1947"
        );
        assert_eq!(iso_from_typed("17/07/1966"), "1966-07-17");
        assert_eq!(iso_from_typed(" 1966-07-17 "), "1966-07-17");
        assert_eq!(iso_from_typed("1990"), "1990");
    }
}
