//! [`Store`]: databases, shards, command execution, expiry, watches.

use std::hash::BuildHasher as _;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use ferrite_protocol::Protocol;
use parking_lot::{Mutex, MutexGuard};
use rand::Rng;

use crate::cmd::{self, CommandSpec};
use crate::ctx::Ctx;
use crate::effects::{Effect, EffectSink};
use crate::error::{LockError, StoreError};
use crate::keyspace::{Entry, Shard};
use crate::locks::{Blocked, Locks, TxnId, Want};
use crate::txn::{Scope, StoreRef, Txn, TxnMode};
use crate::value::BuildHasher;
use crate::{reply, Frame};

/// Store configuration. Every field is a limit or a size; see [`Default`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoreConfig {
    /// Number of databases (SELECT 0..databases). Default 16.
    pub databases: usize,
    /// Number of lock shards; rounded up to a power of two, at least 1. Default 64.
    pub shards: usize,
    /// Longest string value (SETRANGE, APPEND): Redis `proto-max-bulk-len`. Default 512 MiB.
    pub string_bytes_max: usize,
    /// Most keys a `Scope::Keys` transaction may declare. Default 100 000.
    pub txn_keys_max: usize,
    /// Keys sampled per database shard per round of active expiry (Redis: 20).
    pub expire_sample_keys: usize,
    /// Hashes with at most this many fields (and short values) reply to HSCAN
    /// in one step, as Redis's listpack encoding does. Default 128.
    pub hash_small_entries_max: usize,
    /// Longest field or value of such a small hash. Default 64.
    pub hash_small_value_bytes_max: usize,
    /// Sets of integers up to this size reply to SSCAN in one step (intset). Default 512.
    pub set_small_int_entries_max: usize,
    /// Most elements a negative-count HRANDFIELD/SRANDMEMBER may return
    /// (Redis has no limit; this bounds one reply's memory). Default 10 000 000.
    pub random_reply_elements_max: usize,
}

impl Default for StoreConfig {
    fn default() -> Self {
        StoreConfig {
            databases: 16,
            shards: 64,
            string_bytes_max: 512 * 1024 * 1024,
            txn_keys_max: 100_000,
            expire_sample_keys: 20,
            hash_small_entries_max: 128,
            hash_small_value_bytes_max: 64,
            set_small_int_entries_max: 512,
            random_reply_elements_max: 10_000_000,
        }
    }
}

/// INFO keyspace numbers of one database.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeyspaceInfo {
    /// Database index.
    pub db: usize,
    /// Keys (including expired keys not yet reclaimed, like Redis).
    pub keys: usize,
    /// Keys with an expiry.
    pub expires: usize,
    /// Estimated average remaining TTL of volatile keys, ms (Redis `avg_ttl`).
    pub avg_ttl_ms: u64,
}

/// Counters for INFO stats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct StoreStats {
    /// Keys deleted because they expired (lazy and active).
    pub expired_keys: u64,
    /// Changes since start (Redis `dirty`-like).
    pub changes: u64,
}

/// A consistent copy of every database, taken by
/// [`Store::snapshot_consistent`] (what BGSAVE and BGREWRITEAOF write).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct StoreSnapshot {
    /// The clock (Unix ms) at the cut. Entries already expired then are left
    /// out (they are logically absent; their lazy deletion, if any, is
    /// reported after the cut and replays as a no-op `DEL`).
    pub taken_at_ms: u64,
    /// `dbs[i]`: the live entries of database `i`, in no particular order.
    /// The keys of one shard share one buffer (drop the snapshot once
    /// written; [`Store::load_entry`] copies them); string values are
    /// reference counts, collections deep copies.
    pub dbs: Vec<Vec<(Bytes, Entry)>>,
}

impl StoreSnapshot {
    /// Number of keys in all databases.
    pub fn key_count(&self) -> usize {
        self.dbs.iter().map(Vec::len).sum()
    }
}

/// Releases a whole-keyspace logical lock when dropped (also on panic).
struct HeldKeyspace<'a> {
    locks: &'a Locks,
    id: TxnId,
}

impl Drop for HeldKeyspace<'_> {
    fn drop(&mut self) {
        self.locks.release(self.id, None);
    }
}

/// One shard's live entries, per database, as they were at a snapshot's cut.
type ShardCopy = Vec<Vec<(Bytes, Entry)>>;

/// A consistent snapshot being copied: per shard, its copy (`None` until
/// copied).
pub(crate) struct PendingSnapshot {
    taken_at_ms: u64,
    copies: Mutex<Vec<Option<ShardCopy>>>,
}

/// A WATCH on one key: [`WatchHandle::is_dirty`] turns true after any write,
/// delete, expiry or flush of the key. Dropping it unwatches.
#[derive(Debug)]
pub struct WatchHandle {
    flag: Arc<AtomicBool>,
}

impl WatchHandle {
    /// Whether the key changed since the watch began.
    pub fn is_dirty(&self) -> bool {
        self.flag.load(Ordering::Acquire)
    }
}

/// The keyspace: `databases` databases split into shards by key hash.
/// `Send + Sync`; share it as `Arc<Store>`.
///
/// ```
/// use bytes::Bytes;
/// use ferrite_store::{Store, StoreConfig, Frame};
/// let store = Store::new(StoreConfig::default());
/// let argv = |a: &[&str]| a.iter().map(|s| Bytes::copy_from_slice(s.as_bytes())).collect::<Vec<_>>();
/// store.execute(0, &argv(&["SET", "k", "v"])).unwrap();
/// assert_eq!(store.execute(0, &argv(&["GET", "k"])).unwrap(), Frame::Bulk(Bytes::from("v")));
/// ```
pub struct Store {
    config: StoreConfig,
    shards: Box<[Mutex<Shard>]>,
    hasher: BuildHasher,
    locks: Locks,
    expired_keys: AtomicU64,
    /// Writes since start (striped: every write command bumps it).
    changes: crate::striped::Counter,
    /// Where the next active expiry cycle starts (shard × db).
    expire_cursor: AtomicUsize,
    /// Receiver of the effects of every change (the AOF), set once at start-up.
    sink: OnceLock<Arc<dyn EffectSink>>,
    /// Test-only clock: when non-zero, the time (Unix ms) every command sees.
    #[cfg(test)]
    test_clock_ms: AtomicU64,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

/// Asks the CPU to start loading the cache line at `ptr` (no effect where
/// there is no prefetch instruction).
#[inline]
fn prefetch_read(ptr: *const u8) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: a prefetch is a hint: it never faults and reads nothing the
    // program sees, whatever the address (here a live entry's); SSE is part
    // of the x86_64 baseline.
    #[allow(unused_unsafe)] // reason: the intrinsic is a safe fn on newer toolchains
    unsafe {
        std::arch::x86_64::_mm_prefetch::<{ std::arch::x86_64::_MM_HINT_T0 }>(ptr.cast());
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = ptr;
}

/// Where the shard index starts in a key's hash (see [`Store::shard_of_hash`]).
const SHARD_HASH_SHIFT: u32 = 32;

/// Current Unix time in milliseconds.
pub(crate) fn unix_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}

/// One locked shard: its index and guard.
pub(crate) type Guard<'a> = (usize, MutexGuard<'a, Shard>);

/// Shard locks of one command, sorted by shard index: the one shard of a
/// single-key command inline (no allocation per command), or a `Vec`.
pub(crate) enum Guards<'a> {
    /// One shard.
    One([Guard<'a>; 1]),
    /// Any number of shards.
    Many(Vec<Guard<'a>>),
}

impl<'a> std::ops::Deref for Guards<'a> {
    type Target = [Guard<'a>];

    #[inline]
    fn deref(&self) -> &[Guard<'a>] {
        match self {
            Guards::One(one) => one,
            Guards::Many(many) => many,
        }
    }
}

impl std::ops::DerefMut for Guards<'_> {
    #[inline]
    fn deref_mut(&mut self) -> &mut Self::Target {
        match self {
            Guards::One(one) => one,
            Guards::Many(many) => many,
        }
    }
}

impl Store {
    /// Creates an empty store.
    ///
    /// # Panics
    /// If `config.databases` is 0 or more than 1 << 16 (a configuration bug).
    pub fn new(mut config: StoreConfig) -> Store {
        assert!(
            (1..=1 << 16).contains(&config.databases),
            "databases must be within 1..=65536"
        );
        config.shards = config.shards.clamp(1, 1 << 16).next_power_of_two();
        let hasher = BuildHasher::default();
        let shards = (0..config.shards)
            .map(|_| Mutex::new(Shard::new(config.databases, &hasher)))
            .collect();
        Store {
            config,
            shards,
            locks: Locks::new(hasher),
            hasher,
            expired_keys: AtomicU64::new(0),
            changes: crate::striped::Counter::default(),
            expire_cursor: AtomicUsize::new(0),
            sink: OnceLock::new(),
            #[cfg(test)]
            test_clock_ms: AtomicU64::new(0),
        }
    }

    /// Sets the receiver of the effects of every change (see
    /// [`crate::effects`]). Call once, at start-up, before serving; the
    /// sink's [`EffectSink::enabled`] switches reporting on and off at run
    /// time. Without a sink (or while it is disabled) a write costs one
    /// atomic load more than before and allocates nothing.
    ///
    /// # Panics
    /// If a sink is already set (a start-up bug: there is one AOF).
    pub fn set_effect_sink(&self, sink: Arc<dyn EffectSink>) {
        assert!(
            self.sink.set(sink).is_ok(),
            "Store::set_effect_sink called twice"
        );
    }

    /// The sink, if set and enabled now.
    pub(crate) fn recording_sink(&self) -> Option<&dyn EffectSink> {
        let sink = self.sink.get()?;
        if sink.enabled() {
            Some(&**sink)
        } else {
            None
        }
    }

    /// Reports `DEL key` in `db` (a key deleted because it expired) as a
    /// group of its own. Call while holding the key's shard lock.
    pub(crate) fn report_expired(sink: Option<&dyn EffectSink>, db: usize, key: &[u8]) {
        if let Some(sink) = sink {
            sink.append(&[Effect {
                db,
                argv: vec![Bytes::from_static(b"DEL"), Bytes::copy_from_slice(key)],
            }]);
        }
    }

    /// The current time (Unix ms) commands see.
    pub(crate) fn now_ms(&self) -> u64 {
        #[cfg(test)]
        {
            let fixed = self.test_clock_ms.load(Ordering::Relaxed);
            if fixed != 0 {
                return fixed;
            }
        }
        unix_ms()
    }

    /// Test hook: fixes the clock every command sees at `ms` (0 = real time).
    #[cfg(test)]
    pub(crate) fn set_test_clock(&self, ms: u64) {
        self.test_clock_ms.store(ms, Ordering::Relaxed);
    }

    /// The configuration (shards rounded to a power of two).
    pub fn config(&self) -> &StoreConfig {
        &self.config
    }

    pub(crate) fn shard_count(&self) -> usize {
        self.shards.len()
    }

    pub(crate) fn locks(&self) -> &Locks {
        &self.locks
    }

    /// The hash of `key`: every key map of every shard hashes with the
    /// store's hasher, so one hash serves for the shard and the lookup.
    #[inline]
    pub(crate) fn hash_key(&self, key: &[u8]) -> u64 {
        self.hasher.hash_one(key)
    }

    /// The shard of a key whose [`Store::hash_key`] is `hash`. Takes bits the
    /// shard's own tables do not use for placement (hashbrown uses the low
    /// bits for the bucket and the top 7 for its tag), so keys of one shard
    /// still spread over its table.
    #[inline]
    pub(crate) fn shard_of_hash(&self, hash: u64) -> usize {
        ((hash >> SHARD_HASH_SHIFT) as usize) & (self.shards.len() - 1)
    }

    pub(crate) fn shard_of(&self, key: &[u8]) -> usize {
        self.shard_of_hash(self.hash_key(key))
    }

    pub(crate) fn note_expired(&self, n: u64) {
        self.expired_keys.fetch_add(n, Ordering::Relaxed);
    }

    pub(crate) fn note_write(&self) {
        self.changes.add(1);
    }

    /// Counters for INFO.
    pub fn stats(&self) -> StoreStats {
        StoreStats {
            expired_keys: self.expired_keys.load(Ordering::Relaxed),
            changes: self.changes.get(),
        }
    }

    /// Locks the shards a command needs, in index order.
    /// Locks the shard of a command's only key: its hash (for
    /// [`crate::Ctx::remember_hash`], so the key is hashed once) and guard.
    pub(crate) fn lock_one(&self, key: &[u8]) -> (u64, Guards<'_>) {
        let hash = self.hash_key(key);
        let i = self.shard_of_hash(hash);
        (hash, Guards::One([(i, self.lock_shard(i))]))
    }

    pub(crate) fn lock_for(&self, spec: &CommandSpec, keys: &[&Bytes]) -> Guards<'_> {
        if spec.is_keyspace_wide() {
            return Guards::Many(
                (0..self.shards.len())
                    .map(|i| (i, self.lock_shard(i)))
                    .collect(),
            );
        }
        if let [key] = keys {
            // The common case (GET, SET, INCR…): no allocation, no sort.
            let i = self.shard_of(key);
            return Guards::One([(i, self.lock_shard(i))]);
        }
        let mut indexes: Vec<usize> = keys.iter().map(|k| self.shard_of(k)).collect();
        indexes.sort_unstable();
        indexes.dedup();
        Guards::Many(
            indexes
                .into_iter()
                .map(|i| (i, self.lock_shard(i)))
                .collect(),
        )
    }

    /// Runs one data command; `argv[0]` is the name in any case.
    ///
    /// Unknown commands and arity errors are replied exactly as Redis 7 does.
    /// `Err(Blocked)` when one of its keys (or, for KEYS/SCAN/FLUSH…, any key)
    /// is held by a [`Txn`]: await [`Blocked::wait`] and retry. Never blocks
    /// the thread beyond the short shard mutexes.
    ///
    /// Replies have the shapes of a RESP2 client; use [`Store::execute_with`]
    /// for RESP3 clients.
    pub fn execute(&self, db: usize, argv: &[Bytes]) -> Result<Frame, Blocked> {
        self.execute_with(db, argv, Protocol::Resp2)
    }

    /// [`Store::execute`] for a client speaking `protocol`. A few replies
    /// differ in shape beyond what the encoder downgrades (RESP3 arrays of
    /// pairs that RESP2 flattens, as in HRANDFIELD … WITHVALUES).
    pub fn execute_with(
        &self,
        db: usize,
        argv: &[Bytes],
        protocol: Protocol,
    ) -> Result<Frame, Blocked> {
        match cmd::resolve(argv) {
            Ok(spec) => self.execute_resolved(db, spec, argv, protocol),
            Err(err) => Ok(reply::error(&err)),
        }
    }

    /// [`Store::execute_with`] for a caller that already looked `argv[0]` up
    /// in the command table and checked its arity (the server's dispatcher),
    /// so the table is consulted once per command.
    pub fn execute_resolved(
        &self,
        db: usize,
        spec: &'static CommandSpec,
        argv: &[Bytes],
        protocol: Protocol,
    ) -> Result<Frame, Blocked> {
        self.execute_resolved_at(db, spec, argv, protocol, self.now_ms())
    }

    /// [`Store::execute_resolved`] at a time the caller already read (Unix
    /// ms; the server reads the clock once per command for this, the
    /// client's idle time and the command's duration). Use a fresh time for
    /// a retry after [`Blocked::wait`].
    pub fn execute_resolved_at(
        &self,
        db: usize,
        spec: &'static CommandSpec,
        argv: &[Bytes],
        protocol: Protocol,
        now_ms: u64,
    ) -> Result<Frame, Blocked> {
        // Handlers index argv by position: never run one with a bad arity.
        if !spec.arity_ok(argv.len()) {
            return Ok(reply::error(&StoreError::WrongArity(spec.name)));
        }
        let Some(handler) = spec.handler else {
            return Ok(reply::error(&StoreError::NotADataCommand(spec.name)));
        };
        if db >= self.config.databases {
            return Ok(reply::error(&StoreError::DbIndexOutOfRange));
        }
        // One key (GET, SET, INCR…): no Vec, and hashed once.
        let (one, many);
        let mut single = None;
        let (keys, guards): (&[&Bytes], Guards<'_>) = match spec.single_key(argv) {
            Some(key) if !spec.is_keyspace_wide() => {
                one = [key];
                let (hash, guards) = self.lock_one(key);
                single = Some((key, hash));
                (&one, guards)
            }
            _ => {
                many = spec.keys(argv);
                (&many, self.lock_for(spec, &many))
            }
        };
        // Checked under the shard locks: a transaction that starts holding
        // after this runs its commands after ours.
        let blocked = match single {
            Some((key, hash)) => self.locks.check_one(key, hash),
            None => self.locks.check(spec, keys),
        };
        if let Some(blocked) = blocked {
            return Err(blocked);
        }
        let sink = self.recording_sink();
        let mut ctx = Ctx::new(self, db, now_ms, guards, None, protocol, sink);
        if let Some((key, hash)) = single {
            ctx.remember_hash(key, hash);
        }
        let result = handler(&mut ctx, argv);
        ctx.finish(argv);
        Ok(match result {
            Ok(frame) => frame,
            Err(err) => reply::error(&err),
        })
    }

    /// Runs one data command while loading a snapshot or an append-only file
    /// at start-up (Redis's `server.loading`): the clock reads 0, so nothing
    /// expires and no key counts as already expired (TTLs in the records are
    /// absolute, see [`crate::effects`]); no effect is reported; logical
    /// locks are ignored (nothing else runs during loading). Errors are
    /// error frames, as from [`Store::execute`].
    pub fn execute_loading(&self, db: usize, argv: &[Bytes]) -> Frame {
        let spec = match cmd::resolve(argv) {
            Ok(spec) => spec,
            Err(err) => return reply::error(&err),
        };
        let Some(handler) = spec.handler else {
            return reply::error(&StoreError::NotADataCommand(spec.name));
        };
        if db >= self.config.databases {
            return reply::error(&StoreError::DbIndexOutOfRange);
        }
        let keys = spec.keys(argv);
        let guards = self.lock_for(spec, &keys);
        let mut ctx = Ctx::new(self, db, 0, guards, None, Protocol::Resp2, None);
        let result = handler(&mut ctx, argv);
        ctx.finish(argv);
        match result {
            Ok(frame) => frame,
            Err(err) => reply::error(&err),
        }
    }

    /// Begins a transaction, blocking the thread until its locks are free or
    /// `deadline` passes (for worker threads, never for async tasks).
    pub fn begin(
        &self,
        db: usize,
        scope: Scope,
        mode: TxnMode,
        deadline: Instant,
    ) -> Result<Txn<'_>, LockError> {
        Txn::begin_blocking(StoreRef::Borrowed(self), db, scope, mode, deadline)
    }

    /// [`Store::begin`] for a shared store: the transaction owns an `Arc`
    /// (`'static`, so it can live in a wasm instance's state).
    pub fn begin_shared(
        self: &Arc<Self>,
        db: usize,
        scope: Scope,
        mode: TxnMode,
        deadline: Instant,
    ) -> Result<Txn<'static>, LockError> {
        Txn::begin_blocking(
            StoreRef::Shared(Arc::clone(self)),
            db,
            scope,
            mode,
            deadline,
        )
    }

    /// Begins a whole-keyspace exclusive transaction ([`Scope::All`]) without
    /// blocking the thread (MULTI/EXEC on an I/O task).
    pub async fn begin_exclusive(&self, db: usize, mode: TxnMode) -> Result<Txn<'_>, LockError> {
        if db >= self.config.databases {
            return Err(LockError::DbIndexOutOfRange);
        }
        loop {
            match Txn::try_begin(StoreRef::Borrowed(self), db, Scope::All, mode) {
                Ok(txn) => return Ok(txn),
                Err(blocked) => blocked.wait().await,
            }
        }
    }

    /// Restores (db, key) to `prior` (undo of a transaction).
    pub(crate) fn restore(&self, db: usize, key: Bytes, prior: Option<Entry>) {
        let mut shard = self.lock_shard(self.shard_of(&key));
        let dbs = &mut shard.dbs[db];
        dbs.touch_watched(&key);
        match prior {
            Some(entry) => {
                dbs.insert(&key, entry);
            }
            None => {
                dbs.remove(&key);
            }
        }
    }

    /// WATCHes `key` in `db`. An already expired key is reclaimed first, so
    /// its later reclamation does not count as a change. A `db` out of range
    /// (callers validate SELECT) yields a handle that is always dirty.
    pub fn watch(&self, db: usize, key: &[u8]) -> WatchHandle {
        let flag = Arc::new(AtomicBool::new(false));
        let mut shard = self.lock_shard(self.shard_of(key));
        let Some(dbs) = shard.dbs.get_mut(db) else {
            flag.store(true, Ordering::Release);
            return WatchHandle { flag };
        };
        if dbs
            .map
            .get(key)
            .is_some_and(|e| e.is_expired(self.now_ms()))
        {
            dbs.remove(key);
            dbs.touch_watched(key);
            self.note_expired(1);
            Self::report_expired(self.recording_sink(), db, key);
        }
        dbs.add_watch(key, &flag);
        WatchHandle { flag }
    }

    /// Per-database numbers for INFO keyspace (only databases with keys).
    pub fn keyspace_info(&self) -> Vec<KeyspaceInfo> {
        let mut info: Vec<KeyspaceInfo> = (0..self.config.databases)
            .map(|db| KeyspaceInfo {
                db,
                keys: 0,
                expires: 0,
                avg_ttl_ms: 0,
            })
            .collect();
        let mut ttl_weight = vec![0u128; self.config.databases];
        for i in 0..self.shards.len() {
            let shard = self.lock_shard(i);
            for (db, dbs) in shard.dbs.iter().enumerate() {
                info[db].keys += dbs.map.len();
                info[db].expires += dbs.volatile.len();
                ttl_weight[db] += u128::from(dbs.avg_ttl_ms) * dbs.volatile.len() as u128;
            }
        }
        for (db, entry) in info.iter_mut().enumerate() {
            if entry.expires > 0 {
                entry.avg_ttl_ms =
                    u64::try_from(ttl_weight[db] / entry.expires as u128).unwrap_or(u64::MAX);
            }
        }
        info.retain(|i| i.keys > 0);
        info
    }

    /// Number of keys in `db` (expired ones not yet reclaimed included).
    pub fn dbsize(&self, db: usize) -> usize {
        (0..self.shards.len())
            .map(|i| self.lock_shard(i).dbs.get(db).map_or(0, |d| d.map.len()))
            .sum()
    }

    /// Stores `entry` at `key` in `db` as is, replacing any value (loading a
    /// snapshot or log at startup). Marks watchers; no transaction checks.
    /// Returns false if `db` is out of range.
    pub fn load_entry(&self, db: usize, key: &[u8], entry: Entry) -> bool {
        let mut shard = self.lock_shard(self.shard_of(key));
        let Some(dbs) = shard.dbs.get_mut(db) else {
            return false;
        };
        dbs.touch_watched(key);
        dbs.insert(key, entry);
        self.note_write();
        true
    }

    /// A copy of every live entry of `db` (tests, persistence). O(keys).
    pub fn snapshot_db(&self, db: usize) -> Vec<(Bytes, Entry)> {
        let now = self.now_ms();
        let mut out = Vec::new();
        for i in 0..self.shards.len() {
            let shard = self.lock_shard(i);
            if let Some(dbs) = shard.dbs.get(db) {
                out.extend(
                    dbs.map
                        .iter()
                        .filter(|(_, e)| !e.is_expired(now))
                        .map(|(k, e)| (k.to_bytes(), e.clone())),
                );
            }
        }
        out.sort_by(|a, b| a.0.cmp(&b.0));
        out
    }

    /// A consistent snapshot of the whole keyspace without fork (BGSAVE,
    /// BGREWRITEAOF).
    ///
    /// 1. Takes the whole-keyspace logical lock, as a [`Scope::All`]
    ///    transaction would: waits (blocking the thread, until `deadline`)
    ///    for running transactions, so no uncommitted write is at the cut.
    /// 2. Locks every shard, so no command is half-way, and calls `at_cut`
    ///    there: every effect reported before `at_cut` is in the snapshot,
    ///    every effect reported after it is not (the AOF starts its new
    ///    incremental file in `at_cut`). Marks every shard "to copy",
    ///    releases the logical lock, then the shard mutexes.
    /// 3. Copies every shard as it was at the cut: whoever locks a marked
    ///    shard first copies it before touching it — this thread, walking
    ///    the shards in order, or a command ([`Store::lock_shard`]), so
    ///    writes after the cut never reach the copy.
    ///
    /// Entries expired at the cut are left out (see [`StoreSnapshot`]).
    ///
    /// The pause: commands wait only for step 2 (every shard mutex, the
    /// cut) and for the copy of the shards they touch (1/`shards` of the
    /// keyspace each), not for the whole copy. Copying 1 000 000 string keys
    /// (16-byte keys, 8-byte values) takes 155–390 ms in all (release, load
    /// average about 4): `cargo test --release -p ferrite-store --lib snapshot_pause -- --ignored --nocapture`.
    /// Collections cost more: their elements are copied.
    ///
    /// Call it from a blocking thread (`spawn_blocking`), never an async task.
    pub fn snapshot_consistent(
        &self,
        deadline: Instant,
        at_cut: impl FnOnce(),
    ) -> Result<StoreSnapshot, LockError> {
        let started = Instant::now();
        let id = self.locks.new_id();
        if !self.locks.acquire(id, &Want::Everything, deadline) {
            return Err(LockError::Timeout {
                waited: started.elapsed(),
            });
        }
        let held = HeldKeyspace {
            locks: &self.locks,
            id,
        };
        let pending = {
            // Commands check the logical locks under their shard mutexes: once
            // we hold every mutex, the commands that got past the check before
            // we held the keyspace have finished and reported their effects,
            // and no transaction is under way (its writes would be uncommitted).
            // `lock_shard`: a previous snapshot's pending copies finish first.
            let mut guards: Vec<_> = (0..self.shards.len()).map(|i| self.lock_shard(i)).collect();
            at_cut();
            let pending = Arc::new(PendingSnapshot {
                taken_at_ms: self.now_ms(),
                copies: Mutex::new(vec![None; guards.len()]),
            });
            for guard in &mut guards {
                debug_assert!(guard.pending_copy.is_none(), "one snapshot at a time");
                guard.pending_copy = Some(Arc::clone(&pending));
            }
            // Commands may run again from here: each shard is copied, as it
            // was at the cut, by whoever locks it first (this thread below, or
            // a command in `lock_shard`), so a command waits for at most the
            // copy of the shards it touches, not for the whole keyspace.
            drop(held);
            drop(guards);
            pending
        };
        for i in 0..self.shards.len() {
            drop(self.lock_shard(i));
        }
        let mut dbs: Vec<Vec<(Bytes, Entry)>> = vec![Vec::new(); self.config.databases];
        let copies = std::mem::take(&mut *pending.copies.lock());
        for copy in copies {
            let Some(copy) = copy else {
                debug_assert!(false, "every shard is copied once");
                continue;
            };
            for (out, entries) in dbs.iter_mut().zip(copy) {
                if out.is_empty() {
                    *out = entries;
                } else {
                    out.extend(entries);
                }
            }
        }
        Ok(StoreSnapshot {
            taken_at_ms: pending.taken_at_ms,
            dbs,
        })
    }

    /// A hint that a command on `key` in `db` comes next: starts loading its
    /// entry into the CPU cache, so that the miss overlaps with the work in
    /// between (the server calls it for the next pipelined request before
    /// running the current one). Finds the entry by its hash tag alone (no
    /// key comparison, which would wait for the entry); never waits for a
    /// lock, never copies a shard for a snapshot, changes nothing.
    pub fn prefetch(&self, db: usize, key: &[u8]) {
        let hash = self.hash_key(key);
        let Some(shard) = self.shards[self.shard_of_hash(hash)].try_lock() else {
            return;
        };
        if shard.pending_copy.is_some() {
            return;
        }
        let Some(dbs) = shard.dbs.get(db) else {
            return;
        };
        if let Some((stored, entry)) = dbs.first_with_tag(hash) {
            // An entry spans two cache lines: the key's and the value's.
            prefetch_read(std::ptr::from_ref(stored).cast());
            prefetch_read(std::ptr::from_ref(entry).cast());
        }
    }

    /// Locks shard `i`; if a consistent snapshot still needs its entries as
    /// they were at the cut, copies them first. Every shard lock goes
    /// through here.
    #[inline]
    pub(crate) fn lock_shard(&self, i: usize) -> MutexGuard<'_, Shard> {
        let mut guard = self.shards[i].lock();
        if guard.pending_copy.is_some() {
            Self::copy_for_snapshot(i, &mut guard);
        }
        guard
    }

    #[cold]
    fn copy_for_snapshot(i: usize, shard: &mut Shard) {
        let Some(pending) = shard.pending_copy.take() else {
            return;
        };
        let taken_at_ms = pending.taken_at_ms;
        let copy: ShardCopy = shard
            .dbs
            .iter()
            .map(|dbs| {
                let live = || dbs.map.iter().filter(|(_, e)| !e.is_expired(taken_at_ms));
                // One buffer for the keys of this shard's database, sliced per
                // key: one allocation instead of one per key.
                let mut names = Vec::with_capacity(live().map(|(k, _)| k.len()).sum());
                for (key, _) in live() {
                    names.extend_from_slice(key);
                }
                let names = Bytes::from(names);
                let mut out = Vec::with_capacity(dbs.map.len());
                let mut at = 0;
                for (key, entry) in live() {
                    out.push((names.slice(at..at + key.len()), entry.clone()));
                    at += key.len();
                }
                out
            })
            .collect();
        let mut copies = pending.copies.lock();
        debug_assert!(copies[i].is_none(), "a shard is copied once per snapshot");
        copies[i] = Some(copy);
    }

    /// One round of active expiry, Redis style: samples keys that have a TTL
    /// (at most `budget` samples in total), deletes the expired ones, and
    /// keeps sampling a database shard while more than 25% of its sample was
    /// expired. Keys a transaction holds are left to it (its view of them
    /// must not change under it); nothing is deleted while one holds the
    /// whole keyspace. Returns keys deleted.
    pub fn active_expire_cycle(&self, budget: usize) -> usize {
        let per_round = self.config.expire_sample_keys.max(1);
        let slots = self.shards.len() * self.config.databases;
        let start = self.expire_cursor.fetch_add(1, Ordering::Relaxed) % slots;
        let mut sampled = 0usize;
        let mut deleted = 0usize;
        let mut rng = rand::rng();
        let sink = self.recording_sink();
        for step in 0..slots {
            if sampled >= budget {
                break;
            }
            let slot = (start + step) % slots;
            let (shard_index, db) = (slot / self.config.databases, slot % self.config.databases);
            let mut shard = self.lock_shard(shard_index);
            // Under the shard mutex: a transaction taking the keyspace or a
            // key after this looks runs its commands after this cycle.
            if self.locks.keyspace_held() {
                break;
            }
            let dbs = &mut shard.dbs[db];
            if dbs.volatile.is_empty() {
                continue;
            }
            if !dbs.watched.is_empty() && rng.random_range(0..16) == 0 {
                dbs.prune_watches();
            }
            let now = self.now_ms();
            loop {
                let n = per_round.min(dbs.volatile.len()).min(budget - sampled);
                if n == 0 {
                    break;
                }
                let mut expired_now = 0;
                let mut ttl_sum = 0u64;
                let mut ttl_count = 0u64;
                for _ in 0..n {
                    sampled += 1;
                    let index = rng.random_range(0..dbs.volatile.len());
                    let Some(key) = dbs.volatile.get_index(index).cloned() else {
                        break;
                    };
                    let expire_at = dbs.map.get(&key).and_then(|e| e.expire_at_ms);
                    match expire_at {
                        Some(at) if now > at && self.locks.key_held(&key, self.hash_key(&key)) => {}
                        Some(at) if now > at => {
                            dbs.remove(&key);
                            dbs.touch_watched(&key);
                            Self::report_expired(sink, db, &key);
                            expired_now += 1;
                        }
                        Some(at) => {
                            ttl_sum += at - now;
                            ttl_count += 1;
                        }
                        None => {
                            debug_assert!(false, "volatile set out of sync");
                            dbs.volatile.swap_remove(&key);
                        }
                    }
                    if dbs.volatile.is_empty() {
                        break;
                    }
                }
                if let Some(avg) = ttl_sum.checked_div(ttl_count) {
                    dbs.avg_ttl_ms = if dbs.avg_ttl_ms == 0 {
                        avg
                    } else {
                        dbs.avg_ttl_ms / 50 * 49 + avg / 50
                    };
                }
                deleted += expired_now;
                self.note_expired(expired_now as u64);
                if expired_now * 4 <= n || dbs.volatile.is_empty() || sampled >= budget {
                    break;
                }
            }
        }
        deleted
    }
}
