//! Safe wrappers of the key host functions. They raise (end the call) on any
//! error, so they return plain values.

use crate::{decode_list, encode_list, parse_reply, read_result, sys, wasm_len, Reply};

/// GET `key` as text: `None` if the key does not exist. Invalid UTF-8 is
/// replaced with U+FFFD; use [`ferrite_get_bytes`] for binary values.
pub fn ferrite_get(key: impl AsRef<[u8]>) -> Option<String> {
    ferrite_get_bytes(key).map(into_string_lossy)
}

/// GET `key` as bytes: `None` if the key does not exist.
pub fn ferrite_get_bytes(key: impl AsRef<[u8]>) -> Option<Vec<u8>> {
    let key = key.as_ref();
    // SAFETY: `key` is a live slice the host only reads.
    let len = unsafe { sys::ferrite_get(key.as_ptr(), wasm_len(key)) };
    read_result(len)
}

/// Longest decimal form of an `i64` (`-9223372036854775808`), in bytes.
const I64_DECIMAL_BYTES_MAX: usize = 20;

/// GET `key` as an integer, read the way INCR reads a value (canonical
/// decimal: optional `-`, no `+`, spaces or leading zeros, within `i64`):
/// `None` if the key does not exist or does not hold such an integer.
/// Makes no heap allocation, unlike `ferrite_get(key)?.parse()`.
///
/// ```no_run
/// use ferrite_wasm_sdk::*;
/// let hits = ferrite_get_i64("hits").unwrap_or(0);
/// ```
pub fn ferrite_get_i64(key: impl AsRef<[u8]>) -> Option<i64> {
    let key = key.as_ref();
    // SAFETY: `key` is a live slice the host only reads.
    let len = unsafe { sys::ferrite_get(key.as_ptr(), wasm_len(key)) };
    if !(0..=I64_DECIMAL_BYTES_MAX as i64).contains(&len) {
        return None; // nil, or too long to be an integer
    }
    let mut buf = [0u8; I64_DECIMAL_BYTES_MAX];
    // SAFETY: `buf` is a live, writable array of `I64_DECIMAL_BYTES_MAX >= len` bytes.
    let copied = unsafe { sys::ferrite_result_read(buf.as_mut_ptr(), len as i32) };
    assert!(copied >= 0 && copied as i64 <= len, "host copied {} bytes", copied);
    parse_canonical_i64(&buf[..copied as usize])
}

/// Parses a canonical decimal `i64` (Redis's `string2ll` rules).
pub(crate) fn parse_canonical_i64(bytes: &[u8]) -> Option<i64> {
    if bytes.is_empty() || bytes.len() > I64_DECIMAL_BYTES_MAX {
        return None;
    }
    if bytes == b"0" {
        return Some(0);
    }
    let (negative, digits) = match bytes[0] {
        b'-' => (true, &bytes[1..]),
        _ => (false, bytes),
    };
    if digits.is_empty() || digits[0] == b'0' {
        return None;
    }
    let mut value: u64 = 0;
    for &d in digits {
        if !d.is_ascii_digit() {
            return None;
        }
        value = value.checked_mul(10)?.checked_add(u64::from(d - b'0'))?;
    }
    if negative {
        if value > i64::MAX as u64 + 1 {
            None
        } else {
            Some((value as i64).wrapping_neg())
        }
    } else {
        i64::try_from(value).ok()
    }
}

/// SET `key` to `value` (no expiry; an existing TTL is cleared, like SET).
pub fn ferrite_set(key: impl AsRef<[u8]>, value: impl AsRef<[u8]>) {
    ferrite_set_ex(key, value, 0)
}

/// SET `key` to `value` expiring in `ttl_secs` seconds (`ttl_secs` ≤ 0: no expiry).
pub fn ferrite_set_ex(key: impl AsRef<[u8]>, value: impl AsRef<[u8]>, ttl_secs: i64) {
    let (key, value) = (key.as_ref(), value.as_ref());
    // SAFETY: both slices are live and only read by the host.
    unsafe {
        sys::ferrite_set(key.as_ptr(), wasm_len(key), value.as_ptr(), wasm_len(value), ttl_secs);
    }
}

/// DEL `key`: whether it existed.
pub fn ferrite_del(key: impl AsRef<[u8]>) -> bool {
    let key = key.as_ref();
    // SAFETY: `key` is a live slice the host only reads.
    unsafe { sys::ferrite_del(key.as_ptr(), wasm_len(key)) == 1 }
}

/// EXISTS `key`.
pub fn ferrite_exists(key: impl AsRef<[u8]>) -> bool {
    let key = key.as_ref();
    // SAFETY: `key` is a live slice the host only reads.
    unsafe { sys::ferrite_exists(key.as_ptr(), wasm_len(key)) == 1 }
}

/// INCR `key`: the new value.
pub fn ferrite_incr(key: impl AsRef<[u8]>) -> i64 {
    let key = key.as_ref();
    // SAFETY: `key` is a live slice the host only reads.
    unsafe { sys::ferrite_incr(key.as_ptr(), wasm_len(key)) }
}

/// INCRBY `key` `delta`: the new value.
pub fn ferrite_incrby(key: impl AsRef<[u8]>, delta: i64) -> i64 {
    let key = key.as_ref();
    // SAFETY: `key` is a live slice the host only reads.
    unsafe { sys::ferrite_incrby(key.as_ptr(), wasm_len(key), delta) }
}

/// HGET `key` `field` as text (lossy UTF-8): `None` if absent.
pub fn ferrite_hget(key: impl AsRef<[u8]>, field: impl AsRef<[u8]>) -> Option<String> {
    ferrite_hget_bytes(key, field).map(into_string_lossy)
}

/// HGET `key` `field` as bytes: `None` if absent.
pub fn ferrite_hget_bytes(key: impl AsRef<[u8]>, field: impl AsRef<[u8]>) -> Option<Vec<u8>> {
    let (key, field) = (key.as_ref(), field.as_ref());
    // SAFETY: both slices are live and only read by the host.
    let len = unsafe { sys::ferrite_hget(key.as_ptr(), wasm_len(key), field.as_ptr(), wasm_len(field)) };
    read_result(len)
}

/// HSET `key` `field` `value`: whether the field is new.
pub fn ferrite_hset(key: impl AsRef<[u8]>, field: impl AsRef<[u8]>, value: impl AsRef<[u8]>) -> bool {
    let (key, field, value) = (key.as_ref(), field.as_ref(), value.as_ref());
    // SAFETY: all three slices are live and only read by the host.
    unsafe {
        sys::ferrite_hset(
            key.as_ptr(), wasm_len(key),
            field.as_ptr(), wasm_len(field),
            value.as_ptr(), wasm_len(value),
        ) == 1
    }
}

/// EXPIRE `key` `secs`: whether the key exists (and got the TTL).
pub fn ferrite_expire(key: impl AsRef<[u8]>, secs: i64) -> bool {
    let key = key.as_ref();
    // SAFETY: `key` is a live slice the host only reads.
    unsafe { sys::ferrite_expire(key.as_ptr(), wasm_len(key), secs) == 1 }
}

/// TTL `key`: seconds, `-1` no TTL, `-2` no such key (Redis semantics).
pub fn ferrite_ttl(key: impl AsRef<[u8]>) -> i64 {
    let key = key.as_ref();
    // SAFETY: `key` is a live slice the host only reads.
    unsafe { sys::ferrite_ttl(key.as_ptr(), wasm_len(key)) }
}

/// ZADD `key` `score` `member`: whether the member is new.
///
/// `score` accepts any number (`now` as `i64` in milliseconds, say).
pub fn ferrite_zadd(key: impl AsRef<[u8]>, score: impl Into<Score>, member: impl AsRef<[u8]>) -> bool {
    let (key, member) = (key.as_ref(), member.as_ref());
    let score = score.into().0;
    // SAFETY: both slices are live and only read by the host.
    unsafe { sys::ferrite_zadd(key.as_ptr(), wasm_len(key), score, member.as_ptr(), wasm_len(member)) == 1 }
}

/// A sorted-set score (an `f64`); converts from the usual number types so
/// that `ferrite_zadd(key, now_ms, member)` works with an `i64`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Score(pub f64);

macro_rules! score_from {
    ($($t:ty),*) => {$(
        impl From<$t> for Score {
            #[allow(clippy::cast_precision_loss)] // reason: scores are f64 in Redis too
            fn from(v: $t) -> Score { Score(v as f64) }
        }
    )*};
}
score_from!(f64, f32, i64, i32, u32, u64, usize);

/// ZCARD `key`.
pub fn ferrite_zcard(key: impl AsRef<[u8]>) -> i64 {
    let key = key.as_ref();
    // SAFETY: `key` is a live slice the host only reads.
    unsafe { sys::ferrite_zcard(key.as_ptr(), wasm_len(key)) }
}

/// ZREMRANGEBYSCORE `key` `min` `max` (ZRANGEBYSCORE syntax: `-inf`, `(5`, `12`):
/// members removed.
pub fn ferrite_zremrangebyscore(key: impl AsRef<[u8]>, min: impl AsRef<[u8]>, max: impl AsRef<[u8]>) -> i64 {
    let (key, min, max) = (key.as_ref(), min.as_ref(), max.as_ref());
    // SAFETY: all three slices are live and only read by the host.
    unsafe {
        sys::ferrite_zremrangebyscore(
            key.as_ptr(), wasm_len(key),
            min.as_ptr(), wasm_len(min),
            max.as_ptr(), wasm_len(max),
        )
    }
}

/// KEYS `pattern` (Redis glob): only keys the function may read are listed.
pub fn ferrite_keys(pattern: impl AsRef<[u8]>) -> Vec<String> {
    let pattern = pattern.as_ref();
    // SAFETY: `pattern` is a live slice the host only reads.
    let len = unsafe { sys::ferrite_keys(pattern.as_ptr(), wasm_len(pattern)) };
    let buf = read_result(len).unwrap_or_default();
    decode_list(&buf)
        .expect("host returned a malformed KEYS list")
        .into_iter()
        .map(into_string_lossy)
        .collect()
}

/// Runs any permitted command and returns its reply. Command errors come
/// back as [`Reply::Error`] (like `redis.pcall`); permission denials too.
///
/// ```no_run
/// use ferrite_wasm_sdk::{call, Reply};
/// let reply = call(&["HINCRBY", "stats", "hits", "1"]);
/// assert_eq!(reply, Reply::Integer(1));
/// ```
pub fn call<T: AsRef<[u8]>>(argv: &[T]) -> Reply {
    ferrite_call(argv)
}

/// Same as [`call`], under the host function's name.
pub fn ferrite_call<T: AsRef<[u8]>>(argv: &[T]) -> Reply {
    let req = encode_list(argv);
    // SAFETY: `req` is a live buffer the host only reads.
    let len = unsafe { sys::ferrite_call(req.as_ptr(), wasm_len(&req)) };
    let buf = read_result(len).unwrap_or_default();
    parse_reply(&buf).expect("host returned a malformed RESP reply")
}

pub(crate) fn into_string_lossy(bytes: Vec<u8>) -> String {
    match String::from_utf8(bytes) {
        Ok(s) => s,
        Err(e) => String::from_utf8_lossy(e.as_bytes()).into_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::parse_canonical_i64;

    #[test]
    fn canonical_integers_only() {
        assert_eq!(parse_canonical_i64(b"0"), Some(0));
        assert_eq!(parse_canonical_i64(b"42"), Some(42));
        assert_eq!(parse_canonical_i64(b"-7"), Some(-7));
        assert_eq!(parse_canonical_i64(b"9223372036854775807"), Some(i64::MAX));
        assert_eq!(parse_canonical_i64(b"-9223372036854775808"), Some(i64::MIN));
        for bad in [
            &b""[..], b"-", b"-0", b"007", b"+5", b" 5", b"5 ", b"1.0", b"9223372036854775808",
            b"-9223372036854775809", b"99999999999999999999", b"abc",
        ] {
            assert_eq!(parse_canonical_i64(bad), None, "{:?}", bad);
        }
    }
}
