//! Percentages as text, exactly: rounding half away from zero on the decimal digits.

use super::*;

/// The most decimals [`format_percent`] and [`percent_fixed`] will show; more are cut to this.
pub const MAX_DECIMALS: u32 = 17;

/// Formats a percentage (or any number) with `decimals` decimals, rounding half away from zero.
///
/// The float is read as the shortest decimal that converts back to it (what Rust's `{}` prints),
/// and that decimal is rounded: 2.675 shows as "2.68" and 0.125 as "0.13" with two decimals,
/// where `format!("{:.2}")` would round the binary value just below them down. A result of zero
/// has no minus sign. Not-a-number and infinities are printed as Rust prints them.
///
/// A percentage computed as a float from two counts can land a hair off a half; to show a share
/// of two counts, prefer [`percent_fixed`].
pub fn format_percent(value: f64, decimals: u32) -> String {
    if !value.is_finite() {
        return value.to_string();
    }
    let decimals = decimals.min(MAX_DECIMALS) as usize;
    let text = value.abs().to_string();
    let (int_part, frac_part) = text.split_once('.').unwrap_or((text.as_str(), ""));
    let frac: Vec<u8> = frac_part.bytes().map(|b| b.wrapping_sub(b'0')).collect();

    let mut digits: Vec<u8> = int_part.bytes().map(|b| b.wrapping_sub(b'0')).collect();
    digits.extend((0..decimals).map(|i| frac.get(i).copied().unwrap_or(0)));
    if frac.get(decimals).is_some_and(|&d| d >= 5) {
        round_up(&mut digits);
    }
    render(value.is_sign_negative(), &digits, decimals)
}

/// Adds one to the last of a list of decimal digits, carrying.
fn round_up(digits: &mut Vec<u8>) {
    for d in digits.iter_mut().rev() {
        if *d == 9 {
            *d = 0;
        } else {
            *d += 1;
            return;
        }
    }
    digits.insert(0, 1);
}

/// Decimal digits as text, the last `decimals` of them after the point.
fn render(negative: bool, digits: &[u8], decimals: usize) -> String {
    let (int_digits, frac_digits) = digits.split_at(digits.len().saturating_sub(decimals));
    let mut out = String::with_capacity(digits.len() + 3);
    if negative && digits.iter().any(|&d| d != 0) {
        out.push('-');
    }
    if int_digits.is_empty() {
        out.push('0');
    }
    out.extend(int_digits.iter().map(|&d| char::from(b'0' + d)));
    if decimals > 0 {
        out.push('.');
        out.extend(frac_digits.iter().map(|&d| char::from(b'0' + d)));
    }
    out
}

/// `done` as a percentage of `target` with `decimals` decimals, computed and rounded (half away
/// from zero) on integers, so the digits are always right: 1,633,225 of 1,620,967 is "100.76".
/// A zero target gives 100 (see the module notes). At most [`MAX_DECIMALS`] decimals.
pub fn percent_fixed(done: u64, target: u64, decimals: u32) -> String {
    let decimals = decimals.min(MAX_DECIMALS);
    let (num, den) = share(done, target);
    // num < 2^64 and scale ≤ 10^19 < 2^64, so the product fits in a u128.
    let scaled = num * 10u128.pow(decimals + 2);
    let mut units = scaled / den;
    if (scaled % den) * 2 >= den {
        units += 1;
    }
    let one = 10u128.pow(decimals);
    let (whole, frac) = (units / one, units % one);
    if decimals == 0 {
        whole.to_string()
    } else {
        format!("{whole}.{frac:0width$}", width = decimals as usize)
    }
}
