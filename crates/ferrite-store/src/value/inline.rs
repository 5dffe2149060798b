//! [`SmallBytes`]: a byte string kept inline when short (like Redis's
//! embedded strings), in a heap block of type `H` otherwise. Keys
//! ([`crate::keyspace::Key`]) and string values ([`StrBytes`]) use it.

use std::borrow::Borrow;
use std::hash::{Hash, Hasher};
use std::ops::Deref;

use bytes::Bytes;

/// Longest string value stored inline in a [`StrBytes`]: the most that
/// keeps `size_of::<Value>()` at 40 bytes (a test checks it).
pub const STR_INLINE_MAX_BYTES: usize = 38;

/// Where the bytes of a long [`SmallBytes`] live.
pub trait HeapBytes: Deref<Target = [u8]> + Clone {
    /// A heap copy of `bytes`.
    fn copy_from(bytes: &[u8]) -> Self;
    /// The bytes as a `Bytes` (a copy, or a reference count if `Self` is one).
    fn to_shared(&self) -> Bytes;
}

impl HeapBytes for Box<[u8]> {
    fn copy_from(bytes: &[u8]) -> Self {
        bytes.into()
    }

    fn to_shared(&self) -> Bytes {
        Bytes::copy_from_slice(self)
    }
}

impl HeapBytes for Bytes {
    fn copy_from(bytes: &[u8]) -> Self {
        Bytes::copy_from_slice(bytes)
    }

    fn to_shared(&self) -> Bytes {
        self.clone()
    }
}

/// Bytes of up to `N` (at most 255) inline, longer ones in an `H`. Hashes,
/// compares and borrows as the `[u8]` it holds, so maps keyed by it are
/// looked up with `&[u8]`.
#[derive(Clone)]
pub enum SmallBytes<H, const N: usize> {
    /// `bytes[..len]`.
    Inline {
        /// Length.
        len: u8,
        /// The bytes, zero-padded.
        bytes: [u8; N],
    },
    /// Longer bytes.
    Heap(H),
}

/// A string value's bytes: inline up to [`STR_INLINE_MAX_BYTES`] (a GET
/// then reads them from the entry itself, no reference count to touch on
/// another cache line), a shared `Bytes` beyond.
pub type StrBytes = SmallBytes<Bytes, STR_INLINE_MAX_BYTES>;

impl<H: HeapBytes, const N: usize> SmallBytes<H, N> {
    /// A copy of `bytes`.
    #[inline]
    pub fn new(bytes: &[u8]) -> Self {
        match u8::try_from(bytes.len()) {
            Ok(len) if bytes.len() <= N => {
                let mut inline = [0; N];
                inline[..bytes.len()].copy_from_slice(bytes);
                SmallBytes::Inline { len, bytes: inline }
            }
            _ => SmallBytes::Heap(H::copy_from(bytes)),
        }
    }

    /// The bytes.
    #[inline]
    pub fn as_slice(&self) -> &[u8] {
        match self {
            SmallBytes::Inline { len, bytes } => &bytes[..usize::from(*len)],
            SmallBytes::Heap(bytes) => bytes,
        }
    }

    /// The bytes as a `Bytes` (for replies and other owners): a copy, or a
    /// reference count of a shared heap block.
    pub fn to_bytes(&self) -> Bytes {
        match self {
            SmallBytes::Inline { .. } => Bytes::copy_from_slice(self.as_slice()),
            SmallBytes::Heap(heap) => heap.to_shared(),
        }
    }
}

impl StrBytes {
    /// Takes `bytes` (short ones are copied inline, long ones kept as they are).
    pub fn from_bytes(bytes: Bytes) -> StrBytes {
        if bytes.len() <= STR_INLINE_MAX_BYTES {
            StrBytes::new(&bytes)
        } else {
            SmallBytes::Heap(bytes)
        }
    }
}

impl<H: HeapBytes, const N: usize> Deref for SmallBytes<H, N> {
    type Target = [u8];

    #[inline]
    fn deref(&self) -> &[u8] {
        self.as_slice()
    }
}

impl<H: HeapBytes, const N: usize> AsRef<[u8]> for SmallBytes<H, N> {
    fn as_ref(&self) -> &[u8] {
        self.as_slice()
    }
}

impl<H: HeapBytes, const N: usize> Borrow<[u8]> for SmallBytes<H, N> {
    fn borrow(&self) -> &[u8] {
        self.as_slice()
    }
}

impl<H: HeapBytes, const N: usize> Hash for SmallBytes<H, N> {
    /// Exactly `[u8]`'s hash, as [`Borrow`] requires.
    fn hash<S: Hasher>(&self, state: &mut S) {
        self.as_slice().hash(state);
    }
}

impl<H: HeapBytes, const N: usize> PartialEq for SmallBytes<H, N> {
    fn eq(&self, other: &Self) -> bool {
        self.as_slice() == other.as_slice()
    }
}

impl<H: HeapBytes, const N: usize> Eq for SmallBytes<H, N> {}

impl<H: HeapBytes, const N: usize> std::fmt::Debug for SmallBytes<H, N> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:?}", Bytes::copy_from_slice(self.as_slice()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::value::Value;

    #[test]
    fn strings_up_to_the_inline_limit_stay_inline_and_values_stay_small() {
        assert_eq!(std::mem::size_of::<Value>(), 40);
        for len in [
            0,
            1,
            3,
            STR_INLINE_MAX_BYTES,
            STR_INLINE_MAX_BYTES + 1,
            1000,
        ] {
            let bytes: Vec<u8> = (0..len).map(|i| i as u8).collect();
            for s in [
                StrBytes::new(&bytes),
                StrBytes::from_bytes(Bytes::from(bytes.clone())),
            ] {
                assert_eq!(s.as_slice(), &bytes[..]);
                assert_eq!(s.to_bytes(), Bytes::from(bytes.clone()));
                assert_eq!(
                    matches!(s, SmallBytes::Inline { .. }),
                    len <= STR_INLINE_MAX_BYTES
                );
            }
        }
    }
}
