//! Values stored under keys.

use std::collections::VecDeque;

use bytes::Bytes;
use indexmap::{IndexMap, IndexSet};

mod inline;
pub mod zset;

pub use inline::{HeapBytes, SmallBytes, StrBytes, STR_INLINE_MAX_BYTES};
pub use zset::ZSet;

/// The hasher of every map in the store (foldhash, seeded per process).
pub type BuildHasher = hashbrown::DefaultHashBuilder;

/// A hash: field → value. Insertion-ordered; `swap_remove` keeps removal O(1)
/// and index access gives O(1) random fields (HRANDFIELD) and stable SCAN cursors.
pub type HashValue = IndexMap<Bytes, Bytes, BuildHasher>;

/// A set of members (same layout reasons as [`HashValue`]).
pub type SetValue = IndexSet<Bytes, BuildHasher>;

/// A list.
pub type ListValue = VecDeque<Bytes>;

/// A value of one of the Redis data types.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// A string (integers that print canonically are kept as `i64`).
    String(StrValue),
    /// A list.
    List(ListValue),
    /// A hash (boxed, like every large variant, so that an entry holding a
    /// string stays small: `size_of::<Value>()` is 40 bytes).
    Hash(Box<HashValue>),
    /// A set (boxed).
    Set(Box<SetValue>),
    /// A sorted set (boxed).
    ZSet(Box<ZSet>),
}

impl Value {
    /// The name TYPE replies (`string`, `list`, `hash`, `set`, `zset`).
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::String(_) => "string",
            Value::List(_) => "list",
            Value::Hash(_) => "hash",
            Value::Set(_) => "set",
            Value::ZSet(_) => "zset",
        }
    }

    /// Whether this is a collection with no elements (such keys are deleted).
    pub fn is_empty_collection(&self) -> bool {
        match self {
            Value::String(_) => false,
            Value::List(l) => l.is_empty(),
            Value::Hash(h) => h.is_empty(),
            Value::Set(s) => s.is_empty(),
            Value::ZSet(z) => z.is_empty(),
        }
    }

    /// A string value from bytes (copied, so the value never pins a network buffer).
    pub fn string(bytes: &[u8]) -> Value {
        Value::String(StrValue::from_slice(bytes))
    }

    /// An empty hash.
    pub fn new_hash() -> Value {
        Value::Hash(Box::default())
    }

    /// An empty set.
    pub fn new_set() -> Value {
        Value::Set(Box::default())
    }

    /// An empty list.
    pub fn new_list() -> Value {
        Value::List(ListValue::new())
    }

    /// An empty sorted set.
    pub fn new_zset() -> Value {
        Value::ZSet(Box::default())
    }
}

/// A string value. Strings that are the canonical decimal form of an `i64`
/// are stored as the integer (8 bytes, no allocation, cheap INCR).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StrValue {
    /// Canonical decimal integer.
    Int(i64),
    /// Any other bytes (inline when short).
    Raw(StrBytes),
}

impl StrValue {
    /// Builds a string value, copying the bytes (or parsing a canonical integer).
    pub fn from_slice(bytes: &[u8]) -> StrValue {
        match parse_canonical_i64(bytes) {
            Some(n) => StrValue::Int(n),
            None => StrValue::Raw(StrBytes::new(bytes)),
        }
    }

    /// Builds a string value owning `bytes` (no copy; use only for bytes
    /// that do not pin a larger buffer).
    pub fn from_bytes(bytes: Bytes) -> StrValue {
        match parse_canonical_i64(&bytes) {
            Some(n) => StrValue::Int(n),
            None => StrValue::Raw(StrBytes::from_bytes(bytes)),
        }
    }

    /// The value's bytes.
    pub fn to_bytes(&self) -> Bytes {
        match self {
            StrValue::Int(n) => Bytes::from(n.to_string()),
            StrValue::Raw(b) => b.to_bytes(),
        }
    }

    /// Length in bytes (STRLEN).
    pub fn len(&self) -> usize {
        match self {
            StrValue::Int(n) => int_len(*n),
            StrValue::Raw(b) => b.len(),
        }
    }

    /// Whether the string is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The integer value, if the string is one (Redis `string2ll` rules).
    pub fn as_i64(&self) -> Option<i64> {
        match self {
            StrValue::Int(n) => Some(*n),
            StrValue::Raw(b) => parse_canonical_i64(b),
        }
    }
}

/// Digits (and sign) of `n` in decimal.
fn int_len(n: i64) -> usize {
    let mut len = usize::from(n < 0);
    let mut v = n.unsigned_abs();
    loop {
        len += 1;
        v /= 10;
        if v == 0 {
            return len;
        }
    }
}

/// Redis `string2ll`: an optional `-`, no leading zeros (except "0"), no
/// spaces or `+`, at most 20 bytes, within `i64`.
pub fn parse_canonical_i64(bytes: &[u8]) -> Option<i64> {
    if bytes.is_empty() || bytes.len() > 20 {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_integers() {
        assert_eq!(parse_canonical_i64(b"0"), Some(0));
        assert_eq!(parse_canonical_i64(b"-1"), Some(-1));
        assert_eq!(parse_canonical_i64(b"9223372036854775807"), Some(i64::MAX));
        assert_eq!(parse_canonical_i64(b"-9223372036854775808"), Some(i64::MIN));
        assert_eq!(parse_canonical_i64(b"9223372036854775808"), None);
        for bad in [
            &b""[..],
            b"-",
            b"-0",
            b"01",
            b"+1",
            b" 1",
            b"1 ",
            b"1a",
            b"0x1",
        ] {
            assert_eq!(parse_canonical_i64(bad), None, "{:?}", bad);
        }
        assert_eq!(StrValue::from_slice(b"-123").len(), 4);
        assert_eq!(
            StrValue::from_slice(b"-123").to_bytes(),
            Bytes::from_static(b"-123")
        );
        assert_eq!(
            StrValue::from_slice(b"007"),
            StrValue::Raw(StrBytes::new(b"007"))
        );
    }
}

#[cfg(test)]
mod size_tests {
    #[test]
    fn values_stay_small() {
        // A string entry must not pay for the largest collection inline.
        assert!(
            std::mem::size_of::<super::Value>() <= 40,
            "{}",
            std::mem::size_of::<super::Value>()
        );
    }
}
