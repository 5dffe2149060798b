//! Sorted set value. PLACEHOLDER: helper "store2" owns this file and replaces
//! it with the real sorted set; the store core only needs `Default`, `Clone`,
//! `PartialEq`, `len` and `is_empty`.

use bytes::Bytes;

/// A sorted set (placeholder representation: unsorted member/score pairs).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ZSet {
    entries: Vec<(Bytes, f64)>,
}

impl ZSet {
    /// Number of members.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether there are no members.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}
