//! Argument parsing shared by every command family, with Redis's exact errors.

use bytes::Bytes;

use crate::error::{StoreError, StoreResult};
use crate::value::parse_canonical_i64;

/// Parses an integer argument the way Redis `getLongLongFromObject` does
/// (canonical decimal only: no spaces, `+`, or leading zeros).
pub fn parse_i64(arg: &[u8]) -> StoreResult<i64> {
    parse_canonical_i64(arg).ok_or(StoreError::NotInteger)
}

/// Parses an integer that must be within `min..=max`; outside, `err` is returned.
pub fn parse_i64_in(arg: &[u8], min: i64, max: i64, err: StoreError) -> StoreResult<i64> {
    let n = parse_i64(arg)?;
    if n < min || n > max {
        return Err(err);
    }
    Ok(n)
}

/// Parses a non-negative count or index argument that fits `usize`.
pub fn parse_usize(arg: &[u8]) -> StoreResult<usize> {
    let n = parse_i64(arg)?;
    usize::try_from(n).map_err(|_| StoreError::NotInteger)
}

/// Parses a float the way Redis `getLongDoubleFromObject`/`getDoubleFromObject`
/// do: `strtod` syntax over the whole argument (no spaces), `inf`/`-inf`
/// accepted, NaN rejected.
pub fn parse_f64(arg: &[u8]) -> StoreResult<f64> {
    parse_float(arg).ok_or(StoreError::NotFloat)
}

/// `strtod` over the whole input; `None` on empty input, leading/trailing
/// space, trailing junk, or NaN.
pub fn parse_float(arg: &[u8]) -> Option<f64> {
    if arg.is_empty() || arg.len() > 256 {
        return None;
    }
    if arg[0].is_ascii_whitespace() || arg[arg.len() - 1].is_ascii_whitespace() {
        return None;
    }
    let text = std::str::from_utf8(arg).ok()?;
    let lower = text.to_ascii_lowercase();
    let unsigned = lower.trim_start_matches(['+', '-']);
    // Rust accepts "infinity"/"inf"/"nan" like strtod; reject nan explicitly,
    // and hex floats (strtod accepts them; Rust does not: handled below).
    if unsigned.starts_with("nan") {
        return None;
    }
    if unsigned.starts_with("0x") {
        return parse_hex_float(&lower);
    }
    if lower.len() - unsigned.len() > 1 {
        return None; // "+-1"
    }
    let value: f64 = lower.parse().ok()?;
    if value.is_nan() {
        None
    } else {
        Some(value)
    }
}

/// Minimal C99 hex float (`0x1.8p3`), as strtod accepts.
fn parse_hex_float(text: &str) -> Option<f64> {
    let (negative, rest) = match text.as_bytes().first()? {
        b'-' => (true, &text[1..]),
        b'+' => (false, &text[1..]),
        _ => (false, text),
    };
    let rest = rest.strip_prefix("0x")?;
    let (mantissa, exponent) = match rest.split_once('p') {
        Some((m, e)) => (m, e.parse::<i32>().ok()?),
        None => (rest, 0),
    };
    let (int_part, frac_part) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    if int_part.is_empty() && frac_part.is_empty() {
        return None;
    }
    let mut value = 0f64;
    for c in int_part.chars() {
        value = value * 16.0 + f64::from(c.to_digit(16)?);
    }
    let mut scale = 1.0 / 16.0;
    for c in frac_part.chars() {
        value += f64::from(c.to_digit(16)?) * scale;
        scale /= 16.0;
    }
    let value = value * 2f64.powi(exponent);
    Some(if negative { -value } else { value })
}

/// ASCII case-insensitive comparison of an option argument (`EX`, `WITHSCORES`).
pub fn eq_ignore_case(arg: &[u8], option: &str) -> bool {
    arg.eq_ignore_ascii_case(option.as_bytes())
}

/// Parsed SCAN-family options (`MATCH pattern`, `COUNT n`, `TYPE t`).
#[derive(Debug, Clone, Default)]
pub struct ScanOptions {
    /// Glob filter.
    pub pattern: Option<Bytes>,
    /// Work hint (default 10).
    pub count: usize,
    /// TYPE filter (SCAN only).
    pub type_name: Option<Bytes>,
}

/// Parses a SCAN cursor like Redis (`strtoul`: optional sign, a leading
/// `-` wraps around, no leading space or trailing bytes; else `ERR invalid cursor`).
pub fn parse_cursor(arg: &[u8]) -> StoreResult<u64> {
    const INVALID: StoreError = StoreError::Fixed("ERR invalid cursor");
    let (negative, digits) = match arg.first() {
        Some(b'-') => (true, &arg[1..]),
        Some(b'+') => (false, &arg[1..]),
        _ => (false, arg),
    };
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return Err(INVALID);
    }
    let value = std::str::from_utf8(digits)
        .ok()
        .and_then(|d| d.parse::<u64>().ok())
        .ok_or(INVALID)?;
    Ok(if negative {
        value.wrapping_neg()
    } else {
        value
    })
}

/// Parses `[MATCH p] [COUNT n] [TYPE t]` from `args` (TYPE only if `allow_type`).
pub fn parse_scan_options(args: &[Bytes], allow_type: bool) -> StoreResult<ScanOptions> {
    let mut opts = ScanOptions {
        count: 10,
        ..ScanOptions::default()
    };
    let mut i = 0;
    while i < args.len() {
        let has_value = i + 1 < args.len();
        if eq_ignore_case(&args[i], "count") && has_value {
            let n = parse_i64(&args[i + 1])?;
            if n < 1 {
                return Err(StoreError::Syntax);
            }
            opts.count = usize::try_from(n).unwrap_or(usize::MAX);
        } else if eq_ignore_case(&args[i], "match") && has_value {
            opts.pattern = Some(args[i + 1].clone());
        } else if allow_type && eq_ignore_case(&args[i], "type") && has_value {
            opts.type_name = Some(args[i + 1].clone());
        } else {
            return Err(StoreError::Syntax);
        }
        i += 2;
    }
    Ok(opts)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integers() {
        assert_eq!(parse_i64(b"-42"), Ok(-42));
        assert_eq!(parse_i64(b" 1"), Err(StoreError::NotInteger));
        assert_eq!(parse_i64(b"1.0"), Err(StoreError::NotInteger));
    }

    #[test]
    fn floats() {
        assert_eq!(parse_float(b"1.5"), Some(1.5));
        assert_eq!(parse_float(b"-inf"), Some(f64::NEG_INFINITY));
        assert_eq!(parse_float(b"+inf"), Some(f64::INFINITY));
        assert_eq!(parse_float(b"1e3"), Some(1000.0));
        assert_eq!(parse_float(b".5"), Some(0.5));
        assert_eq!(parse_float(b"5."), Some(5.0));
        assert_eq!(parse_float(b"0x10"), Some(16.0));
        assert_eq!(parse_float(b"nan"), None);
        assert_eq!(parse_float(b" 1"), None);
        assert_eq!(parse_float(b"1 "), None);
        assert_eq!(parse_float(b"1a"), None);
        assert_eq!(parse_float(b""), None);
        assert_eq!(parse_float(b"+-1"), None);
    }
}
