//! Call arguments (KEYS then ARGS) and their decoding into parameters.

use crate::{read_result, sys};

/// Number of arguments of the call (KEYS then ARGS).
pub fn argc() -> usize {
    // SAFETY: no pointers are passed.
    let n = unsafe { sys::ferrite_argc() };
    assert!(n >= 0, "host returned argc {}", n);
    n as usize
}

/// How many of the arguments are KEYS (they come first).
pub fn numkeys() -> usize {
    // SAFETY: no pointers are passed.
    let n = unsafe { sys::ferrite_numkeys() };
    assert!(n >= 0, "host returned numkeys {}", n);
    n as usize
}

/// Argument `index` (KEYS first, then ARGS), or `None` past the last one.
pub fn arg(index: usize) -> Option<Vec<u8>> {
    if index > i32::MAX as usize {
        return None;
    }
    // SAFETY: no pointers are passed.
    let len = unsafe { sys::ferrite_arg(index as i32) };
    read_result(len)
}

/// Argument `index` as UTF-8 text (invalid sequences become U+FFFD).
pub fn arg_string(index: usize) -> Option<String> {
    arg(index).map(|b| match String::from_utf8(b) {
        Ok(s) => s,
        Err(e) => String::from_utf8_lossy(e.as_bytes()).into_owned(),
    })
}

/// All arguments of the call, KEYS then ARGS.
pub fn args() -> Vec<Vec<u8>> {
    let n = argc();
    let mut out = Vec::with_capacity(n);
    for i in 0..n {
        out.push(arg(i).expect("host reported more arguments than it returns"));
    }
    out
}

/// A parameter type of a `#[ferrite_function]`: decodes one argument's bytes.
///
/// Implemented for `&str`, `String` (UTF-8), `&[u8]`, `Vec<u8>`, `i32`, `i64`
/// (decimal, optional sign), `f64` (decimal or `inf`/`-inf`; NaN refused) and
/// `bool` (`1`, `0`, `true`, `false`, any case).
pub trait FromArg<'a>: Sized {
    /// Decodes `bytes`; the error is the reason shown in the error reply.
    fn from_arg(bytes: &'a [u8]) -> Result<Self, &'static str>;
}

impl<'a> FromArg<'a> for &'a [u8] {
    fn from_arg(bytes: &'a [u8]) -> Result<Self, &'static str> {
        Ok(bytes)
    }
}

impl<'a> FromArg<'a> for Vec<u8> {
    fn from_arg(bytes: &'a [u8]) -> Result<Self, &'static str> {
        Ok(bytes.to_vec())
    }
}

impl<'a> FromArg<'a> for &'a str {
    fn from_arg(bytes: &'a [u8]) -> Result<Self, &'static str> {
        core::str::from_utf8(bytes).map_err(|_| "value is not valid UTF-8")
    }
}

impl<'a> FromArg<'a> for String {
    fn from_arg(bytes: &'a [u8]) -> Result<Self, &'static str> {
        <&str>::from_arg(bytes).map(str::to_owned)
    }
}

const NOT_INTEGER: &str = "value is not an integer or out of range";

impl<'a> FromArg<'a> for i64 {
    fn from_arg(bytes: &'a [u8]) -> Result<Self, &'static str> {
        core::str::from_utf8(bytes)
            .ok()
            .and_then(|s| s.parse::<i64>().ok())
            .ok_or(NOT_INTEGER)
    }
}

impl<'a> FromArg<'a> for i32 {
    fn from_arg(bytes: &'a [u8]) -> Result<Self, &'static str> {
        let v = i64::from_arg(bytes)?;
        i32::try_from(v).map_err(|_| NOT_INTEGER)
    }
}

impl<'a> FromArg<'a> for f64 {
    fn from_arg(bytes: &'a [u8]) -> Result<Self, &'static str> {
        const NOT_FLOAT: &str = "value is not a valid float";
        let s = core::str::from_utf8(bytes).map_err(|_| NOT_FLOAT)?;
        let v = match s.to_ascii_lowercase().as_str() {
            "inf" | "+inf" | "infinity" | "+infinity" => f64::INFINITY,
            "-inf" | "-infinity" => f64::NEG_INFINITY,
            other => other.parse::<f64>().map_err(|_| NOT_FLOAT)?,
        };
        if v.is_nan() {
            return Err(NOT_FLOAT);
        }
        Ok(v)
    }
}

impl<'a> FromArg<'a> for bool {
    fn from_arg(bytes: &'a [u8]) -> Result<Self, &'static str> {
        if bytes == b"1" || bytes.eq_ignore_ascii_case(b"true") {
            Ok(true)
        } else if bytes == b"0" || bytes.eq_ignore_ascii_case(b"false") {
            Ok(false)
        } else {
            Err("value is not a boolean (1, 0, true or false)")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::FromArg;

    #[test]
    fn integers() {
        assert_eq!(i64::from_arg(b"42"), Ok(42));
        assert_eq!(i64::from_arg(b"-9223372036854775808"), Ok(i64::MIN));
        assert!(i64::from_arg(b"9223372036854775808").is_err());
        assert!(i64::from_arg(b"4 2").is_err());
        assert!(i64::from_arg(b"").is_err());
        assert_eq!(i32::from_arg(b"-7"), Ok(-7));
        assert!(i32::from_arg(b"2147483648").is_err());
    }

    #[test]
    fn floats_and_bools() {
        assert_eq!(f64::from_arg(b"1.5"), Ok(1.5));
        assert_eq!(f64::from_arg(b"-inf"), Ok(f64::NEG_INFINITY));
        assert!(f64::from_arg(b"nan").is_err());
        assert!(f64::from_arg(b"x").is_err());
        assert_eq!(bool::from_arg(b"TRUE"), Ok(true));
        assert_eq!(bool::from_arg(b"0"), Ok(false));
        assert!(bool::from_arg(b"yes").is_err());
    }

    #[test]
    fn text() {
        assert_eq!(<&str>::from_arg(b"abc"), Ok("abc"));
        assert!(<&str>::from_arg(&[0xff, 0xfe]).is_err());
        assert_eq!(String::from_arg(b"x"), Ok(String::from("x")));
        assert_eq!(<&[u8]>::from_arg(&[0xff]), Ok(&[0xffu8][..]));
    }
}
