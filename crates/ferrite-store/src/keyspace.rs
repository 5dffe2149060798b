//! Shards and per-database key maps. Handlers never see these types: they go
//! through [`crate::Ctx`].

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Weak};

use bytes::Bytes;
use hashbrown::HashMap;
use indexmap::map::RawEntryApiV1;
use indexmap::{IndexMap, IndexSet};

use crate::value::{BuildHasher, SmallBytes, Value};

/// Longest key stored inline in a [`Key`] (no heap block of its own).
pub(crate) const KEY_INLINE_MAX_BYTES: usize = 22;

/// A key as the keyspace stores it: 24 bytes, holding keys of up to
/// [`KEY_INLINE_MAX_BYTES`] inline (like Redis's embedded strings), longer
/// ones in one exact-size heap block. A `Bytes` key cost 32 bytes plus a
/// heap block. Hashes, compares and borrows as the `[u8]` it holds, so maps
/// keyed by it are looked up with `&[u8]`.
pub(crate) type Key = SmallBytes<Box<[u8]>, KEY_INLINE_MAX_BYTES>;

/// A value with its absolute expiry time.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    /// The value.
    pub value: Value,
    /// Absolute expiry, Unix milliseconds; `None` = persistent.
    pub expire_at_ms: Option<u64>,
}

impl Entry {
    /// Whether the entry is expired at `now_ms` (Redis: `now > when`).
    pub fn is_expired(&self, now_ms: u64) -> bool {
        matches!(self.expire_at_ms, Some(at) if now_ms > at)
    }
}

/// Growth of a key map's entry vector, as a fraction of its length
/// (1/`ENTRIES_GROWTH_DIVISOR`). IndexMap would double the entries to match
/// its index table's capacity, leaving up to half of the 96-byte slots empty;
/// growing by an eighth keeps the slack near 6 %, and glibc's `realloc` of a
/// large block remaps pages instead of copying them.
const ENTRIES_GROWTH_DIVISOR: usize = 8;
/// Smallest growth step of a key map's entries (keeps small maps cheap to fill).
const ENTRIES_GROWTH_MIN: usize = 16;

/// A WATCH flag shared between a [`crate::WatchHandle`] and the keyspace.
pub(crate) type WatchFlag = AtomicBool;

/// One database's keys within one shard.
#[derive(Default)]
pub(crate) struct DbShard {
    /// All keys. Index order gives O(1) random keys and stable SCAN cursors.
    pub(crate) map: IndexMap<Key, Entry, BuildHasher>,
    /// Keys that have an expiry (invariant: exactly those with `expire_at_ms.is_some()`).
    pub(crate) volatile: IndexSet<Key, BuildHasher>,
    /// Keys WATCHed by some client; dead weak entries are pruned lazily.
    pub(crate) watched: HashMap<Bytes, Vec<Weak<WatchFlag>>>,
    /// Running estimate of the average TTL of volatile keys (INFO keyspace), ms.
    pub(crate) avg_ttl_ms: u64,
}

impl DbShard {
    /// An empty database shard whose maps hash with `hasher` (the store's:
    /// see [`DbShard::index_of`]).
    pub(crate) fn with_hasher(hasher: &BuildHasher) -> DbShard {
        DbShard {
            map: IndexMap::with_hasher(*hasher),
            volatile: IndexSet::with_hasher(*hasher),
            watched: HashMap::default(),
            avg_ttl_ms: 0,
        }
    }

    /// The map's hash of `key` (what [`DbShard::index_of`] and
    /// [`DbShard::insert_at`] take).
    pub(crate) fn hash_of(&self, key: &[u8]) -> u64 {
        std::hash::BuildHasher::hash_one(self.map.hasher(), key)
    }

    /// Position of `key` in `map`; `hash` is the map's hash of it (the
    /// store hashes a key once per command, for its shard and this lookup).
    #[inline]
    pub(crate) fn index_of(&self, hash: u64, key: &[u8]) -> Option<usize> {
        self.map
            .raw_entry_v1()
            .index_from_hash(hash, |k| k.as_slice() == key)
    }

    /// The first entry whose hash tag matches `hash` (maybe another key's):
    /// its position is found from the index table alone, without reading
    /// any entry (for [`crate::Store::prefetch`]).
    pub(crate) fn first_with_tag(&self, hash: u64) -> Option<(&Key, &Entry)> {
        let index = self.map.raw_entry_v1().index_from_hash(hash, |_| true)?;
        self.map.get_index(index)
    }

    /// Inserts or replaces an entry, keeping `volatile` in sync.
    pub(crate) fn insert(&mut self, key: &[u8], entry: Entry) -> Option<Entry> {
        let hash = self.hash_of(key);
        let found = self.index_of(hash, key);
        self.insert_at(hash, key, found, entry).1
    }

    /// Stores `entry` at `key`, which is at `found` (from
    /// [`DbShard::index_of`] with `hash`) or absent: replaced in place, or
    /// appended. Keeps `volatile` in sync. Returns the entry's index and the
    /// replaced entry.
    pub(crate) fn insert_at(
        &mut self,
        hash: u64,
        key: &[u8],
        found: Option<usize>,
        entry: Entry,
    ) -> (usize, Option<Entry>) {
        let has_ttl = entry.expire_at_ms.is_some();
        if let Some(index) = found {
            let Some((stored_key, slot)) = self.map.get_index_mut(index) else {
                unreachable!("insert_at: index from index_of is in bounds");
            };
            let old = std::mem::replace(slot, entry);
            match (old.expire_at_ms.is_some(), has_ttl) {
                (false, true) => {
                    self.volatile.insert(stored_key.clone());
                }
                (true, false) => {
                    self.volatile.swap_remove(key);
                }
                _ => {}
            }
            return (index, Some(old));
        }
        if self.map.len() == self.map.capacity() {
            let len = self.map.len();
            self.map
                .reserve_exact((len / ENTRIES_GROWTH_DIVISOR).max(ENTRIES_GROWTH_MIN));
        }
        let key = Key::new(key);
        if has_ttl {
            self.volatile.insert(key.clone());
        }
        let index = self.map.len();
        self.map
            .raw_entry_mut_v1()
            .from_hash(hash, |k| k.as_slice() == key.as_slice())
            .or_insert_with(|| (key, entry));
        (index, None)
    }

    /// Removes a key.
    pub(crate) fn remove(&mut self, key: &[u8]) -> Option<Entry> {
        let index = self.index_of(self.hash_of(key), key)?;
        Some(self.remove_at(index))
    }

    /// Removes the entry at `index` (in bounds, from [`DbShard::index_of`]).
    pub(crate) fn remove_at(&mut self, index: usize) -> Entry {
        let Some((key, old)) = self.map.swap_remove_index(index) else {
            unreachable!("remove_at: index from index_of is in bounds");
        };
        if old.expire_at_ms.is_some() {
            self.volatile.swap_remove(key.as_slice());
        }
        old
    }

    /// Sets or clears the expiry of the entry at `index` (in bounds).
    pub(crate) fn set_expire_at(&mut self, index: usize, expire_at_ms: Option<u64>) {
        let Some((stored_key, entry)) = self.map.get_index_mut(index) else {
            unreachable!("set_expire_at: index from index_of is in bounds");
        };
        match (entry.expire_at_ms.is_some(), expire_at_ms.is_some()) {
            (false, true) => {
                self.volatile.insert(stored_key.clone());
            }
            (true, false) => {
                self.volatile.swap_remove(stored_key.as_slice());
            }
            _ => {}
        }
        entry.expire_at_ms = expire_at_ms;
    }

    /// Marks every live WATCH on `key` dirty.
    pub(crate) fn touch_watched(&mut self, key: &[u8]) {
        if self.watched.is_empty() {
            return;
        }
        if let Some(flags) = self.watched.remove(key) {
            for flag in flags.iter().filter_map(Weak::upgrade) {
                flag.store(true, Ordering::Release);
            }
        }
    }

    /// Marks watches of all keys that exist dirty (FLUSHDB/FLUSHALL).
    pub(crate) fn touch_all_watched(&mut self) {
        if self.watched.is_empty() {
            return;
        }
        let map = &self.map;
        self.watched.retain(|key, flags| {
            if map.contains_key(&key[..]) {
                for flag in flags.iter().filter_map(Weak::upgrade) {
                    flag.store(true, Ordering::Release);
                }
                false
            } else {
                flags.retain(|f| f.strong_count() > 0);
                !flags.is_empty()
            }
        });
    }

    /// Registers a watch.
    pub(crate) fn add_watch(&mut self, key: &[u8], flag: &Arc<WatchFlag>) {
        match self.watched.get_mut(key) {
            Some(flags) => {
                flags.retain(|f| f.strong_count() > 0);
                flags.push(Arc::downgrade(flag));
            }
            None => {
                self.watched
                    .insert(Bytes::copy_from_slice(key), vec![Arc::downgrade(flag)]);
            }
        }
    }

    /// Drops watch entries whose handles are gone.
    pub(crate) fn prune_watches(&mut self) {
        self.watched.retain(|_, flags| {
            flags.retain(|f| f.strong_count() > 0);
            !flags.is_empty()
        });
    }

    /// Removes every key; returns how many there were.
    pub(crate) fn clear(&mut self) -> usize {
        self.touch_all_watched();
        let n = self.map.len();
        self.map = IndexMap::with_hasher(*self.map.hasher());
        self.volatile = IndexSet::with_hasher(*self.volatile.hasher());
        self.avg_ttl_ms = 0;
        n
    }
}

/// One lock domain: the keys of every database whose hash falls in this shard.
pub(crate) struct Shard {
    pub(crate) dbs: Box<[DbShard]>,
    /// A consistent snapshot that still needs this shard's entries as they
    /// were at its cut: whoever locks the shard next copies them first
    /// (`Store::lock_shard`).
    pub(crate) pending_copy: Option<std::sync::Arc<crate::store::PendingSnapshot>>,
}

impl Shard {
    pub(crate) fn new(databases: usize, hasher: &BuildHasher) -> Shard {
        Shard {
            dbs: (0..databases)
                .map(|_| DbShard::with_hasher(hasher))
                .collect(),
            pending_copy: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_compact_and_hash_as_slices() {
        assert_eq!(std::mem::size_of::<Key>(), 24);
        let hasher = BuildHasher::default();
        for len in [0, 1, KEY_INLINE_MAX_BYTES, KEY_INLINE_MAX_BYTES + 1, 300] {
            let bytes: Vec<u8> = (0..len).map(|i| i as u8).collect();
            let key = Key::new(&bytes);
            assert_eq!(key.as_slice(), &bytes[..]);
            assert_eq!(key.to_bytes(), Bytes::from(bytes.clone()));
            assert_eq!(
                std::hash::BuildHasher::hash_one(&hasher, &key),
                std::hash::BuildHasher::hash_one(&hasher, &bytes[..])
            );
            assert_eq!(
                matches!(key, SmallBytes::Inline { .. }),
                len <= KEY_INLINE_MAX_BYTES
            );
        }
    }

    #[test]
    fn map_keeps_volatile_in_sync() {
        let mut shard = DbShard::default();
        let entry = |expire_at_ms| Entry {
            value: Value::string(b"v"),
            expire_at_ms,
        };
        for i in 0..100u32 {
            shard.insert(format!("k{i}").as_bytes(), entry(None));
        }
        shard.insert(b"k7", entry(Some(5)));
        assert_eq!(shard.volatile.len(), 1);
        let k8 = shard.index_of(shard.hash_of(b"k8"), b"k8").unwrap();
        shard.set_expire_at(k8, Some(6));
        assert_eq!(shard.volatile.len(), 2);
        shard.insert(b"k7", entry(None));
        assert!(shard.remove(b"k8").is_some());
        assert!(shard.volatile.is_empty());
        assert_eq!(shard.map.len(), 99);
        assert!(shard.map.capacity() >= 99);
    }
}
