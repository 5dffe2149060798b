//! [`Ctx`]: the only way command handlers read and write the keyspace.
//!
//! Every accessor does lazy expiry. Every mutating accessor (`*_mut`,
//! `insert*`, `remove`, `set_expire`) marks WATCHers of the key dirty, counts a
//! change, and inside a transaction records an undo entry before the first
//! change of each key. Handlers therefore call a mutating accessor only when
//! they will change the key. Collections left empty by a command are deleted
//! when it finishes.
//!
//! Effects (see [`crate::effects`]): a command that went through a mutating
//! accessor is reported when it finishes, as its argv unless the handler
//! called [`Ctx::propagate_as`]; keys found expired are reported as `DEL`
//! at once. Nothing is built while no sink is enabled.

use bytes::Bytes;
use ferrite_protocol::Protocol;

use crate::effects::{Effect, EffectSink};
use crate::error::{StoreError, StoreResult};
use crate::glob;
use crate::keyspace::{DbShard, Entry};
use crate::store::{Guards, Store};
use crate::txn::TxnCtx;
use crate::value::{HashValue, ListValue, SetValue, StrValue, Value, ZSet};
use crate::StoreConfig;

/// Where a key lives among a command's locked shards.
#[derive(Debug, Clone, Copy)]
struct Slot {
    /// Index into `Ctx::guards`.
    pos: usize,
    /// The key's hash ([`Store::hash_key`]).
    hash: u64,
}

/// Data access for one command. See the module docs.
pub struct Ctx<'a> {
    store: &'a Store,
    db: usize,
    now_ms: u64,
    /// Locked shards, sorted by index.
    guards: Guards<'a>,
    txn: Option<TxnCtx<'a>>,
    protocol: Protocol,
    /// Keys (db, key) whose collections may have become empty.
    touched: Vec<(usize, Bytes)>,
    /// Where effects go; `None` = not recording (no sink, disabled, loading).
    sink: Option<&'a dyn EffectSink>,
    /// The database the command was issued in (its effect's db).
    cmd_db: usize,
    /// Whether the command changed something (went through `before_write`).
    wrote: bool,
    /// The command's effects when not its argv (set by [`Ctx::propagate_as`]).
    rewrite: Option<Vec<Effect>>,
    /// The hash of the command's key, already computed to lock its shard:
    /// (address, length, hash) of that argument's bytes. The argument lives
    /// for the whole command, so a slice at the same address with the same
    /// length is that key.
    key_hash: (usize, usize, u64),
}

/// Reaches the value inside a [`Value`] variant, boxed or not.
trait Inner<T> {
    fn inner(&self) -> &T;
    fn inner_mut(&mut self) -> &mut T;
}

impl<T> Inner<T> for Box<T> {
    fn inner(&self) -> &T {
        self
    }
    fn inner_mut(&mut self) -> &mut T {
        self
    }
}

macro_rules! unboxed_inner {
    ($($ty:ty),*) => {$(
        impl Inner<$ty> for $ty {
            fn inner(&self) -> &$ty {
                self
            }
            fn inner_mut(&mut self) -> &mut $ty {
                self
            }
        }
    )*};
}

unboxed_inner!(StrValue, ListValue);

macro_rules! typed_accessors {
    ($variant:ident, $ty:ty, $get:ident, $get_mut:ident, $get_or_create:ident, $new:expr) => {
        /// The value at `key` if it has this type; `WRONGTYPE` if another type.
        pub fn $get(&mut self, key: &[u8]) -> StoreResult<Option<&$ty>> {
            match self.get(key)? {
                None => Ok(None),
                Some(Value::$variant(v)) => Ok(Some(Inner::inner(v))),
                Some(_) => Err(StoreError::WrongType),
            }
        }

        /// Mutable access to an existing value of this type (records undo,
        /// marks watchers); `None` if absent, `WRONGTYPE` if another type.
        pub fn $get_mut(&mut self, key: &[u8]) -> StoreResult<Option<&mut $ty>> {
            let (slot, found) = self.find(key)?;
            let Some(index) = found else { return Ok(None) };
            let is_string = match self.entry_at(slot, index).map(|e| &e.value) {
                Some(Value::$variant(_)) => matches!(stringify!($variant), "String"),
                _ => return Err(StoreError::WrongType),
            };
            let value = if is_string {
                self.write_string_at(slot, key, index)
            } else {
                self.write_at(slot, key, index)
            };
            match value {
                Some(Value::$variant(v)) => Ok(Some(Inner::inner_mut(v))),
                _ => Err(StoreError::WrongType),
            }
        }

        /// Mutable access, creating an empty value (no TTL) if the key is absent.
        /// `WRONGTYPE` if another type. A value left empty is deleted after the command.
        pub fn $get_or_create(&mut self, key: &[u8]) -> StoreResult<&mut $ty> {
            let (slot, found) = self.find(key)?;
            let index = match found {
                None => self.insert_at(slot, key, None, $new, None),
                Some(index) => {
                    if !matches!(
                        self.entry_at(slot, index).map(|e| &e.value),
                        Some(Value::$variant(_))
                    ) {
                        return Err(StoreError::WrongType);
                    }
                    index
                }
            };
            match self.write_at(slot, key, index) {
                Some(Value::$variant(v)) => Ok(Inner::inner_mut(v)),
                _ => Err(StoreError::WrongType),
            }
        }
    };
}

impl<'a> Ctx<'a> {
    pub(crate) fn new(
        store: &'a Store,
        db: usize,
        now_ms: u64,
        guards: Guards<'a>,
        txn: Option<TxnCtx<'a>>,
        protocol: Protocol,
        sink: Option<&'a dyn EffectSink>,
    ) -> Ctx<'a> {
        debug_assert!(guards.windows(2).all(|w| w[0].0 < w[1].0));
        Ctx {
            store,
            db,
            now_ms,
            guards,
            txn,
            protocol,
            touched: Vec::new(),
            sink,
            cmd_db: db,
            wrote: false,
            rewrite: None,
            key_hash: (0, usize::MAX, 0),
        }
    }

    /// Remembers the hash of `key` (an argument of the command, alive for
    /// the whole command) so that accesses to it do not hash it again.
    pub(crate) fn remember_hash(&mut self, key: &[u8], hash: u64) {
        self.key_hash = (key.as_ptr() as usize, key.len(), hash);
    }

    /// Whether this command's effects are being recorded (a sink is enabled).
    /// Handlers need not check it: [`Ctx::propagate_as`] does.
    pub fn recording(&self) -> bool {
        self.sink.is_some()
    }

    /// Reports this command, if it changes something, as `build()` (run in
    /// the command's database) instead of its own argv: the rewrite of a
    /// command whose outcome depends on the clock or on randomness into one
    /// that replays deterministically (see [`crate::effects`]). `build` runs
    /// only while effects are recorded. A later call replaces an earlier one.
    pub fn propagate_as(&mut self, build: impl FnOnce() -> Vec<Bytes>) {
        if self.sink.is_some() {
            self.rewrite = Some(vec![Effect {
                db: self.cmd_db,
                argv: build(),
            }]);
        }
    }

    /// Current time for this command (Unix ms), fixed for the whole command
    /// (and for a whole transaction).
    pub fn now_ms(&self) -> u64 {
        self.now_ms
    }

    /// Whether the client speaks RESP3. Only for reply shapes the encoder
    /// cannot downgrade (Redis checks `c->resp` there too): RESP3 arrays of
    /// `[field, value]` pairs that RESP2 flattens (HRANDFIELD WITHVALUES,
    /// ZRANGE WITHSCORES…).
    pub fn resp3(&self) -> bool {
        self.protocol == Protocol::Resp3
    }

    /// The client's protocol (see [`Ctx::resp3`]).
    pub fn protocol(&self) -> Protocol {
        self.protocol
    }

    /// The selected database.
    pub fn db(&self) -> usize {
        self.db
    }

    /// Switches the database for the following accesses (COPY … DB n).
    pub fn select(&mut self, db: usize) -> StoreResult<()> {
        if db >= self.store.config().databases {
            return Err(StoreError::DbIndexOutOfRange);
        }
        self.db = db;
        Ok(())
    }

    /// The store's configuration (limits).
    pub fn config(&self) -> &StoreConfig {
        self.store.config()
    }

    fn check_declared(&self, key: &[u8]) -> StoreResult<()> {
        if let Some(txn) = &self.txn {
            if let Some(declared) = txn.declared {
                if !declared.contains(key) {
                    return Err(StoreError::KeyNotDeclared(
                        String::from_utf8_lossy(key).into_owned(),
                    ));
                }
            }
        }
        Ok(())
    }

    /// Where `key` lives: its shard among the locked ones, and its hash
    /// (computed once per access, for the shard and for the map lookup).
    #[inline]
    fn slot(&self, key: &[u8]) -> StoreResult<Slot> {
        let (address, len, known) = self.key_hash;
        let hash = if key.as_ptr() as usize == address && key.len() == len {
            known
        } else {
            self.store.hash_key(key)
        };
        let index = self.store.shard_of_hash(hash);
        let pos = match self.guards.first() {
            Some((first, _)) if *first == index => 0,
            _ => match self.guards.binary_search_by_key(&index, |(i, _)| *i) {
                Ok(pos) => pos,
                Err(_) => {
                    debug_assert!(
                        false,
                        "key's shard is not locked: command table key spec is wrong"
                    );
                    return Err(StoreError::Fixed(
                        "ERR internal error: key not locked by this command",
                    ));
                }
            },
        };
        Ok(Slot { pos, hash })
    }

    /// The selected database's part of the shard at `slot`.
    #[inline]
    fn shard_at(&mut self, slot: Slot) -> &mut DbShard {
        &mut self.guards[slot.pos].1.dbs[self.db]
    }

    fn db_shard(&mut self, key: &[u8]) -> StoreResult<&mut DbShard> {
        let slot = self.slot(key)?;
        Ok(self.shard_at(slot))
    }

    /// Looks `key` up once: its slot and the index of its live entry (an
    /// expired one is deleted first, see [`Ctx::find_unchecked`]). Refuses
    /// keys a transaction did not declare.
    #[inline]
    fn find(&mut self, key: &[u8]) -> StoreResult<(Slot, Option<usize>)> {
        self.check_declared(key)?;
        self.find_unchecked(key)
    }

    /// [`Ctx::find`] without the declared-keys check (keyspace-wide reads).
    /// A key found expired is deleted and reported as `DEL` at once, in a
    /// group of its own (even inside a transaction: rollback does not bring
    /// it back). No undo entry: an expired key is already logically absent.
    fn find_unchecked(&mut self, key: &[u8]) -> StoreResult<(Slot, Option<usize>)> {
        let slot = self.slot(key)?;
        let (now, db, sink) = (self.now_ms, self.db, self.sink);
        let store = self.store;
        let shard = self.shard_at(slot);
        let Some(index) = shard.index_of(slot.hash, key) else {
            return Ok((slot, None));
        };
        if shard
            .map
            .get_index(index)
            .is_some_and(|(_, e)| e.is_expired(now))
        {
            shard.remove_at(index);
            shard.touch_watched(key);
            store.note_expired(1);
            Store::report_expired(sink, db, key);
            return Ok((slot, None));
        }
        Ok((slot, Some(index)))
    }

    /// The entry at `index` of the shard at `slot` (from [`Ctx::find`]).
    #[inline]
    fn entry_at(&mut self, slot: Slot, index: usize) -> Option<&mut Entry> {
        self.shard_at(slot).map.get_index_mut(index).map(|(_, e)| e)
    }

    /// The live entry (value and expiry) at `key`.
    pub fn get_entry(&mut self, key: &[u8]) -> StoreResult<Option<&Entry>> {
        let (slot, found) = self.find(key)?;
        Ok(match found {
            Some(index) => self.entry_at(slot, index).map(|e| &*e),
            None => None,
        })
    }

    /// The live value at `key`.
    pub fn get(&mut self, key: &[u8]) -> StoreResult<Option<&Value>> {
        Ok(self.get_entry(key)?.map(|e| &e.value))
    }

    /// Whether `key` exists (and is not expired).
    pub fn exists(&mut self, key: &[u8]) -> StoreResult<bool> {
        Ok(self.find(key)?.1.is_some())
    }

    /// The expiry of `key`: `None` = no such key, `Some(None)` = persistent.
    pub fn expire_at(&mut self, key: &[u8]) -> StoreResult<Option<Option<u64>>> {
        Ok(self.get_entry(key)?.map(|e| e.expire_at_ms))
    }

    /// Records undo (first change of a key in a transaction), marks watchers,
    /// counts the change. `found` is the key's live entry (from [`Ctx::find`]).
    fn before_write(&mut self, slot: Slot, key: &[u8], found: Option<usize>) {
        let db = self.db;
        let shard = &mut self.guards[slot.pos].1.dbs[db];
        if let Some(txn) = &mut self.txn {
            txn.undo.record(db, key, || {
                found
                    .and_then(|i| shard.map.get_index(i))
                    .map(|(_, e)| e.clone())
            });
        }
        shard.touch_watched(key);
        self.store.note_write();
        self.wrote = true;
    }

    /// Mutable access to the live entry at `index` (from [`Ctx::find`]):
    /// records undo, marks watchers, and remembers the key so that a
    /// collection left empty is deleted after the command.
    fn write_at(&mut self, slot: Slot, key: &[u8], index: usize) -> Option<&mut Value> {
        self.before_write(slot, key, Some(index));
        self.touched.push((self.db, Bytes::copy_from_slice(key)));
        self.entry_at(slot, index).map(|e| &mut e.value)
    }

    /// [`Ctx::write_at`] for a string value reached through its typed
    /// accessor: it stays a string, so it can never be left an empty
    /// collection and the key need not be remembered (no copy of it).
    fn write_string_at(&mut self, slot: Slot, key: &[u8], index: usize) -> Option<&mut Value> {
        self.before_write(slot, key, Some(index));
        self.entry_at(slot, index).map(|e| &mut e.value)
    }

    /// Mutable access to any existing value (records undo, marks watchers).
    pub fn get_mut(&mut self, key: &[u8]) -> StoreResult<Option<&mut Value>> {
        let (slot, found) = self.find(key)?;
        Ok(match found {
            Some(index) => self.write_at(slot, key, index),
            None => None,
        })
    }

    /// Stores `value` at `key` with the given expiry, replacing any value and TTL.
    /// The key bytes are copied.
    pub fn insert(
        &mut self,
        key: &[u8],
        value: Value,
        expire_at_ms: Option<u64>,
    ) -> StoreResult<()> {
        let (slot, found) = self.find(key)?;
        self.insert_at(slot, key, found, value, expire_at_ms);
        Ok(())
    }

    /// Stores `value` at `key` (found at `found`, see [`Ctx::find`]);
    /// returns the entry's index.
    fn insert_at(
        &mut self,
        slot: Slot,
        key: &[u8],
        found: Option<usize>,
        value: Value,
        expire_at_ms: Option<u64>,
    ) -> usize {
        self.before_write(slot, key, found);
        if value.is_empty_collection() {
            self.touched.push((self.db, Bytes::copy_from_slice(key)));
        }
        let entry = Entry {
            value,
            expire_at_ms,
        };
        self.shard_at(slot)
            .insert_at(slot.hash, key, found, entry)
            .0
    }

    /// Stores `value` at `key`, keeping the current TTL if the key exists.
    pub fn insert_keep_ttl(&mut self, key: &[u8], value: Value) -> StoreResult<()> {
        let (slot, found) = self.find(key)?;
        let ttl = match found {
            Some(index) => self.entry_at(slot, index).and_then(|e| e.expire_at_ms),
            None => None,
        };
        self.insert_at(slot, key, found, value, ttl);
        Ok(())
    }

    /// Deletes `key`; returns the removed entry.
    pub fn remove(&mut self, key: &[u8]) -> StoreResult<Option<Entry>> {
        let (slot, found) = self.find(key)?;
        let Some(index) = found else {
            return Ok(None);
        };
        self.before_write(slot, key, found);
        Ok(Some(self.shard_at(slot).remove_at(index)))
    }

    /// Sets (`Some`) or clears (`None`) the expiry of an existing key; false if absent.
    pub fn set_expire(&mut self, key: &[u8], expire_at_ms: Option<u64>) -> StoreResult<bool> {
        let (slot, found) = self.find(key)?;
        let Some(index) = found else {
            return Ok(false);
        };
        self.before_write(slot, key, found);
        self.shard_at(slot).set_expire_at(index, expire_at_ms);
        Ok(true)
    }

    typed_accessors!(
        String,
        StrValue,
        string,
        string_mut,
        string_or_create,
        Value::String(StrValue::Raw(crate::value::StrBytes::new(b"")))
    );
    typed_accessors!(
        Hash,
        HashValue,
        hash,
        hash_mut,
        hash_or_create,
        Value::new_hash()
    );
    typed_accessors!(Set, SetValue, set, set_mut, set_or_create, Value::new_set());
    typed_accessors!(
        List,
        ListValue,
        list,
        list_mut,
        list_or_create,
        Value::new_list()
    );
    typed_accessors!(
        ZSet,
        ZSet,
        zset,
        zset_mut,
        zset_or_create,
        Value::new_zset()
    );

    // ----- whole-keyspace access (commands flagged KEYSPACE lock every shard) -----

    fn all_locked(&self) -> StoreResult<()> {
        if self.guards.len() == self.store.shard_count() {
            Ok(())
        } else {
            debug_assert!(false, "keyspace-wide access without the KEYSPACE flag");
            Err(StoreError::Fixed(
                "ERR internal error: keyspace not locked by this command",
            ))
        }
    }

    /// Number of keys in the selected database (expired but not yet deleted
    /// keys included, like Redis DBSIZE).
    pub fn key_count(&self) -> StoreResult<usize> {
        self.all_locked()?;
        Ok(self
            .guards
            .iter()
            .map(|(_, g)| g.dbs[self.db].map.len())
            .sum())
    }

    /// Live keys matching `pattern` (all keys if `None`), expired ones deleted.
    pub fn keys(&mut self, pattern: Option<&[u8]>) -> StoreResult<Vec<Bytes>> {
        self.all_locked()?;
        let (db, now) = (self.db, self.now_ms);
        let mut out = Vec::new();
        let mut expired = Vec::new();
        for (_, guard) in self.guards.iter() {
            for (key, entry) in &guard.dbs[db].map {
                if pattern.is_some_and(|p| !glob::matches(p, key)) {
                    continue;
                }
                if entry.is_expired(now) {
                    expired.push(key.clone());
                } else {
                    out.push(key.to_bytes());
                }
            }
        }
        for key in expired {
            self.exists_unchecked(&key)?;
        }
        Ok(out)
    }

    /// Lazy-expiry check that ignores declared KEYS (keyspace-wide reads):
    /// whether a live entry exists (see [`Ctx::find_unchecked`]).
    fn exists_unchecked(&mut self, key: &[u8]) -> StoreResult<bool> {
        Ok(self.find_unchecked(key)?.1.is_some())
    }

    /// One SCAN step over the selected database: visits about `count` slots
    /// starting at `cursor`, returns the next cursor (0 = done) and the live
    /// keys seen that pass `filter`. Keys present for the whole scan are
    /// returned at least once.
    pub fn scan(
        &mut self,
        cursor: u64,
        count: usize,
        mut filter: impl FnMut(&[u8], &Entry) -> bool,
    ) -> StoreResult<(u64, Vec<Bytes>)> {
        self.all_locked()?;
        let shards = self.store.shard_count() as u64;
        let (db, now) = (self.db, self.now_ms);
        let mut shard = (cursor % shards) as usize;
        // 0 = start of this shard; r > 0 = positions [0, r) remain.
        let mut remaining = cursor / shards;
        let mut visited = 0usize;
        let mut out = Vec::new();
        let mut expired = Vec::new();
        let count = count.max(1);
        loop {
            let map = &self.guards[shard].1.dbs[db].map;
            let mut r = if remaining == 0 {
                map.len()
            } else {
                usize::try_from(remaining)
                    .unwrap_or(usize::MAX)
                    .min(map.len())
            };
            while r > 0 && visited < count {
                r -= 1;
                visited += 1;
                if let Some((key, entry)) = map.get_index(r) {
                    if entry.is_expired(now) {
                        expired.push(key.clone());
                    } else if filter(key, entry) {
                        out.push(key.to_bytes());
                    }
                }
            }
            if r > 0 {
                let next = (r as u64)
                    .saturating_mul(shards)
                    .saturating_add(shard as u64);
                for key in expired {
                    self.exists_unchecked(&key)?;
                }
                return Ok((next, out));
            }
            shard += 1;
            remaining = 0;
            if shard == self.guards.len() {
                for key in expired {
                    self.exists_unchecked(&key)?;
                }
                return Ok((0, out));
            }
            if visited >= count {
                for key in expired {
                    self.exists_unchecked(&key)?;
                }
                return Ok((shard as u64, out));
            }
        }
    }

    /// A random live key of the selected database.
    pub fn random_key(&mut self) -> StoreResult<Option<Bytes>> {
        use rand::Rng;
        self.all_locked()?;
        let db = self.db;
        // Bounded retries over expired keys, as Redis.
        for _ in 0..100 {
            let total: usize = self.guards.iter().map(|(_, g)| g.dbs[db].map.len()).sum();
            if total == 0 {
                return Ok(None);
            }
            let mut pick = rand::rng().random_range(0..total);
            let mut found = None;
            for (_, guard) in self.guards.iter() {
                let map = &guard.dbs[db].map;
                if pick < map.len() {
                    found = map.get_index(pick).map(|(k, _)| k.to_bytes());
                    break;
                }
                pick -= map.len();
            }
            let Some(key) = found else { return Ok(None) };
            if self.exists_unchecked(&key)? {
                return Ok(Some(key));
            }
        }
        Ok(None)
    }

    /// Deletes every key of database `db` (or of all databases); returns how many.
    pub fn flush(&mut self, db: Option<usize>) -> StoreResult<usize> {
        self.all_locked()?;
        let dbs: Vec<usize> = match db {
            Some(db) => vec![db],
            None => (0..self.store.config().databases).collect(),
        };
        let mut removed = 0;
        for db in dbs {
            if let Some(txn) = &mut self.txn {
                for (_, guard) in self.guards.iter() {
                    for (key, entry) in &guard.dbs[db].map {
                        txn.undo.record(db, key, || Some(entry.clone()));
                    }
                }
            }
            for (_, guard) in self.guards.iter_mut() {
                removed += guard.dbs[db].clear();
            }
        }
        if removed > 0 {
            self.store.note_write();
            self.wrote = true;
        }
        Ok(removed)
    }

    /// Deletes collections the command left empty, then reports the
    /// command's effects if it changed something (called once, after the
    /// handler, still holding the shard locks so that per-key order of the
    /// effects is apply order). `argv` is the command as run.
    pub(crate) fn finish(mut self, argv: &[Bytes]) {
        self.delete_emptied();
        let Some(sink) = self.sink else { return };
        if !self.wrote {
            return;
        }
        let group = self.rewrite.take().unwrap_or_else(|| {
            vec![Effect {
                db: self.cmd_db,
                argv: argv.to_vec(),
            }]
        });
        match &mut self.txn {
            Some(txn) => txn.effects.extend(group),
            None => sink.append(&group),
        }
    }

    fn delete_emptied(&mut self) {
        let touched = std::mem::take(&mut self.touched);
        for (db, key) in touched {
            self.db = db;
            let Ok(shard) = self.db_shard(&key) else {
                continue;
            };
            if shard
                .map
                .get(&key[..])
                .is_some_and(|e| e.value.is_empty_collection())
            {
                shard.remove(&key);
            }
        }
    }
}
