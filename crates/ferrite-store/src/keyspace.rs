//! Shards and per-database key maps. Handlers never see these types: they go
//! through [`crate::Ctx`].

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Weak};

use bytes::Bytes;
use hashbrown::HashMap;
use indexmap::{IndexMap, IndexSet};

use crate::value::{BuildHasher, Value};

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

/// A WATCH flag shared between a [`crate::WatchHandle`] and the keyspace.
pub(crate) type WatchFlag = AtomicBool;

/// One database's keys within one shard.
#[derive(Default)]
pub(crate) struct DbShard {
    /// All keys. Index order gives O(1) random keys and stable SCAN cursors.
    pub(crate) map: IndexMap<Bytes, Entry, BuildHasher>,
    /// Keys that have an expiry (invariant: exactly those with `expire_at_ms.is_some()`).
    pub(crate) volatile: IndexSet<Bytes, BuildHasher>,
    /// Keys WATCHed by some client; dead weak entries are pruned lazily.
    pub(crate) watched: HashMap<Bytes, Vec<Weak<WatchFlag>>>,
    /// Running estimate of the average TTL of volatile keys (INFO keyspace), ms.
    pub(crate) avg_ttl_ms: u64,
}

impl DbShard {
    /// Inserts or replaces an entry, keeping `volatile` in sync.
    pub(crate) fn insert(&mut self, key: Bytes, entry: Entry) -> Option<Entry> {
        if entry.expire_at_ms.is_some() {
            self.volatile.insert(key.clone());
        } else {
            self.volatile.swap_remove(&key);
        }
        self.map.insert(key, entry)
    }

    /// Removes a key.
    pub(crate) fn remove(&mut self, key: &[u8]) -> Option<Entry> {
        let old = self.map.swap_remove(key)?;
        if old.expire_at_ms.is_some() {
            self.volatile.swap_remove(key);
        }
        Some(old)
    }

    /// Sets or clears the expiry of an existing key; false if absent.
    pub(crate) fn set_expire(&mut self, key: &[u8], expire_at_ms: Option<u64>) -> bool {
        let Some((_, stored_key, entry)) = self.map.get_full_mut(key) else {
            return false;
        };
        match (entry.expire_at_ms.is_some(), expire_at_ms.is_some()) {
            (false, true) => {
                self.volatile.insert(stored_key.clone());
            }
            (true, false) => {
                self.volatile.swap_remove(key);
            }
            _ => {}
        }
        entry.expire_at_ms = expire_at_ms;
        true
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
            if map.contains_key(key) {
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
        self.map = IndexMap::default();
        self.volatile = IndexSet::default();
        self.avg_ttl_ms = 0;
        n
    }
}

/// One lock domain: the keys of every database whose hash falls in this shard.
pub(crate) struct Shard {
    pub(crate) dbs: Box<[DbShard]>,
}

impl Shard {
    pub(crate) fn new(databases: usize) -> Shard {
        Shard {
            dbs: (0..databases).map(|_| DbShard::default()).collect(),
        }
    }
}
