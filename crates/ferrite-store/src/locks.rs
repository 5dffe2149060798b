//! Logical locks held by transactions ([`crate::Txn`]), and the waiters of
//! ordinary commands blocked by them ([`Blocked`]).
//!
//! The key table is split into [`LOCK_SHARDS`] shards by key hash, each with
//! its own mutex on its own cache lines: a transaction on one key (a
//! WASM.CALL with one key) locks one shard, so I/O threads running calls on
//! different keys share no lock. One mutex over the whole table moved its
//! cache line between the cores four times per call.
//!
//! The whole keyspace (`Want::Everything`: MULTI/EXEC, a call without KEYS,
//! a snapshot) is taken under every shard's mutex at once, so a reader that
//! holds any one shard mutex sees a consistent `exclusive`.
//!
//! Wake-ups: a release wakes blocking waiters (`acquire`, worker threads)
//! through a condition variable and async waiters ([`Blocked`]) through a
//! watch channel, each only when someone waits (a count read after a
//! `SeqCst` fence, against the waiter's increment before it looks).

use std::cell::Cell;
use std::sync::atomic::{fence, AtomicU64, AtomicUsize, Ordering};
use std::time::Instant;

use bytes::Bytes;
use hashbrown::HashTable;
use parking_lot::{Condvar, Mutex, MutexGuard};
use tokio::sync::watch;

use crate::cmd::CommandSpec;
use crate::value::BuildHasher;

/// Shards of the key table (a power of two, at most 64: a `u64` mask).
pub(crate) const LOCK_SHARDS: usize = 16;

/// Transaction ids a thread takes from the shared counter at once.
const ID_BLOCK: u64 = 1 << 12;

/// Returned by [`crate::Store::execute`] when a key of the command is held by
/// a transaction. Await [`Blocked::wait`], then retry the command.
#[derive(Debug)]
#[must_use = "await `wait()` and retry the command"]
pub struct Blocked {
    release: watch::Receiver<u64>,
}

impl Blocked {
    /// Resolves once some transaction released its locks (or the store is gone).
    /// Never blocks the thread.
    pub async fn wait(mut self) {
        // An error means the store was dropped: nothing will ever be held again.
        let _ = self.release.changed().await;
    }

    /// Whether a release already happened since the command was blocked.
    pub fn is_released(&self) -> bool {
        self.release.has_changed().unwrap_or(true)
    }
}

/// Identifier of one transaction (never 0).
pub(crate) type TxnId = u64;

/// What a transaction asks for.
pub(crate) enum Want<'a> {
    Keys(&'a [Bytes]),
    Everything,
}

/// One shard of the key table.
#[derive(Default)]
struct KeyShard {
    /// (key name in every database, holder), by [`Locks::hash`].
    keys: HashTable<(Bytes, TxnId)>,
}

/// A shard with its count of held keys, on cache lines of its own.
#[derive(Default)]
#[repr(align(128))]
struct Shard {
    table: Mutex<KeyShard>,
    /// `table.keys.len()`, written under `table`'s mutex, read without it
    /// (an ordinary command's "nothing held here").
    held: AtomicUsize,
}

/// The shard mutexes a caller holds, by shard index.
type Held<'a> = [Option<MutexGuard<'a, KeyShard>>; LOCK_SHARDS];

pub(crate) struct Locks {
    shards: Box<[Shard]>,
    hasher: BuildHasher,
    /// The transaction holding the whole keyspace (0: none). Set only while
    /// holding every shard's mutex.
    exclusive: AtomicU64,
    /// Transactions waiting for the whole keyspace (new key locks wait
    /// behind them).
    exclusive_waiters: AtomicUsize,
    /// Blocking acquisitions asleep (or about to look and sleep).
    sleepers: AtomicUsize,
    /// Bumped by each release that found sleepers.
    generation: AtomicU64,
    sleep_lock: Mutex<()>,
    released: Condvar,
    version: watch::Sender<u64>,
}

impl Locks {
    /// `hasher`: the store's, so that a key hashed for its store shard
    /// needs no second hash here ([`Locks::check_one`]).
    pub(crate) fn new(hasher: BuildHasher) -> Locks {
        const { assert!(LOCK_SHARDS.is_power_of_two() && LOCK_SHARDS <= 64) };
        Locks {
            shards: (0..LOCK_SHARDS).map(|_| Shard::default()).collect(),
            hasher,
            exclusive: AtomicU64::new(0),
            exclusive_waiters: AtomicUsize::new(0),
            sleepers: AtomicUsize::new(0),
            generation: AtomicU64::new(0),
            sleep_lock: Mutex::new(()),
            released: Condvar::new(),
            version: watch::Sender::new(0),
        }
    }

    /// A new transaction id, unique in the process. Threads take blocks of
    /// [`ID_BLOCK`] ids, so the shared counter is not touched per call.
    pub(crate) fn new_id(&self) -> TxnId {
        static NEXT_BLOCK: AtomicU64 = AtomicU64::new(1);
        thread_local! {
            /// (next id, end of this thread's block).
            static BLOCK: Cell<(u64, u64)> = const { Cell::new((0, 0)) };
        }
        BLOCK.with(|block| {
            let (mut next, mut end) = block.get();
            if next == end {
                next = NEXT_BLOCK.fetch_add(ID_BLOCK, Ordering::Relaxed);
                end = next + ID_BLOCK;
            }
            block.set((next + 1, end));
            debug_assert_ne!(next, 0);
            next
        })
    }

    fn hash(&self, key: &[u8]) -> u64 {
        std::hash::BuildHasher::hash_one(&self.hasher, key)
    }

    /// The shard of a key hash: bits the shard's table does not use for
    /// placement (hashbrown uses the low ones and the top 7).
    fn shard_of(hash: u64) -> usize {
        ((hash >> 32) as usize) & (LOCK_SHARDS - 1)
    }

    /// Whether a transaction holds the whole keyspace now.
    pub(crate) fn keyspace_held(&self) -> bool {
        self.exclusive.load(Ordering::Acquire) != 0
    }

    /// Whether a transaction holds `key` (whose hash by the store's hasher
    /// is `hash`) by name; see also [`Locks::keyspace_held`].
    pub(crate) fn key_held(&self, key: &[u8], hash: u64) -> bool {
        let shard = &self.shards[Self::shard_of(hash)];
        shard.held.load(Ordering::Acquire) > 0
            && shard
                .table
                .lock()
                .keys
                .find(hash, |(k, _)| k == key)
                .is_some()
    }

    /// For ordinary commands: `Some(Blocked)` if a transaction holds one of
    /// `keys` (or the keyspace, or any key for keyspace-wide commands).
    /// Callers hold the store's shard mutexes of their keys, so a transaction
    /// that starts holding after this returned `None` only runs its commands
    /// after the caller finished.
    pub(crate) fn check(&self, spec: &CommandSpec, keys: &[&Bytes]) -> Option<Blocked> {
        if self.exclusive.load(Ordering::Acquire) != 0 {
            return self.blocked_unless_released(|| self.exclusive.load(Ordering::SeqCst) == 0);
        }
        if spec.is_keyspace_wide() {
            let nothing_held = || {
                self.shards
                    .iter()
                    .all(|s| s.held.load(Ordering::SeqCst) == 0)
            };
            if nothing_held() {
                return None;
            }
            return self.blocked_unless_released(nothing_held);
        }
        keys.iter()
            .find_map(|key| self.check_key(key, self.hash(key)))
    }

    /// [`Locks::check`] for a command on one key (not keyspace-wide) whose
    /// hash (by the store's hasher) is `hash`.
    pub(crate) fn check_one(&self, key: &[u8], hash: u64) -> Option<Blocked> {
        if self.exclusive.load(Ordering::Acquire) != 0 {
            return self.blocked_unless_released(|| self.exclusive.load(Ordering::SeqCst) == 0);
        }
        self.check_key(key, hash)
    }

    fn check_key(&self, key: &[u8], hash: u64) -> Option<Blocked> {
        let shard = &self.shards[Self::shard_of(hash)];
        if shard.held.load(Ordering::Acquire) == 0 {
            return None;
        }
        let table = shard.table.lock();
        table.keys.find(hash, |(k, _)| k == key)?;
        // Subscribed under the shard lock: the release (which takes it to
        // remove the key) counts this receiver.
        Some(Blocked {
            release: self.version.subscribe(),
        })
    }

    /// `Some(Blocked)` unless `released()` holds once subscribed: either the
    /// release came before the subscription (and `released` sees it) or
    /// after (and it sees the receiver, see [`Locks::wake`]).
    fn blocked_unless_released(&self, released: impl Fn() -> bool) -> Option<Blocked> {
        let release = self.version.subscribe();
        fence(Ordering::SeqCst);
        (!released()).then_some(Blocked { release })
    }

    /// Locks the shards in `mask`, in index order (the one order every
    /// multi-shard locker uses).
    fn lock_mask(&self, mask: u64) -> Held<'_> {
        let mut held: Held<'_> = Default::default();
        let mut rest = mask;
        while rest != 0 {
            let i = rest.trailing_zeros() as usize;
            held[i] = Some(self.shards[i].table.lock());
            rest &= rest - 1;
        }
        held
    }

    fn try_take(&self, id: TxnId, want: &Want<'_>) -> bool {
        match want {
            Want::Keys(keys) => self.try_take_keys(id, keys),
            Want::Everything => {
                let held = self.lock_mask(u64::MAX >> (64 - LOCK_SHARDS));
                if self.exclusive.load(Ordering::SeqCst) != 0
                    || held.iter().flatten().any(|t| !t.keys.is_empty())
                {
                    return false;
                }
                self.exclusive.store(id, Ordering::SeqCst);
                true
            }
        }
    }

    fn try_take_keys(&self, id: TxnId, keys: &[Bytes]) -> bool {
        if let [key] = keys {
            return self.try_take_key(id, key);
        }
        let mut hashes = smallvec::SmallVec::<[u64; 4]>::with_capacity(keys.len());
        let mut mask = 0u64;
        for key in keys {
            let hash = self.hash(key);
            mask |= 1 << Self::shard_of(hash);
            hashes.push(hash);
        }
        let mut held = self.lock_mask(mask);
        // Under a shard mutex: `exclusive` is set under all of them.
        if self.exclusive.load(Ordering::SeqCst) != 0
            || self.exclusive_waiters.load(Ordering::SeqCst) > 0
        {
            return false;
        }
        let busy = keys.iter().zip(&hashes).any(|(key, &hash)| {
            held[Self::shard_of(hash)]
                .as_ref()
                .and_then(|t| t.keys.find(hash, |(k, _)| k == key))
                .is_some_and(|(_, holder)| *holder != id)
        });
        if busy {
            return false;
        }
        for (key, &hash) in keys.iter().zip(&hashes) {
            let i = Self::shard_of(hash);
            let Some(table) = held[i].as_mut() else {
                continue;
            };
            if table.keys.find(hash, |(k, _)| k == key).is_none() {
                // A reference to the caller's bytes, held only until the
                // transaction ends.
                table
                    .keys
                    .insert_unique(hash, (key.clone(), id), |(k, _)| self.hash(k));
                self.shards[i].held.fetch_add(1, Ordering::SeqCst);
            }
        }
        true
    }

    /// [`Locks::try_take_keys`] of one key (a WASM.CALL with one key): one
    /// shard, no mask.
    fn try_take_key(&self, id: TxnId, key: &Bytes) -> bool {
        let hash = self.hash(key);
        let shard = &self.shards[Self::shard_of(hash)];
        let mut table = shard.table.lock();
        if self.exclusive.load(Ordering::SeqCst) != 0
            || self.exclusive_waiters.load(Ordering::SeqCst) > 0
        {
            return false;
        }
        match table.keys.find(hash, |(k, _)| k == key) {
            Some((_, holder)) => *holder == id,
            None => {
                table
                    .keys
                    .insert_unique(hash, (key.clone(), id), |(k, _)| self.hash(k));
                shard.held.fetch_add(1, Ordering::SeqCst);
                true
            }
        }
    }

    /// Non-blocking acquisition. `Err(Blocked)` to wait for a release.
    pub(crate) fn try_acquire(&self, id: TxnId, want: &Want<'_>) -> Result<(), Blocked> {
        if self.try_take(id, want) {
            return Ok(());
        }
        // A release between the failed attempt and the subscription would
        // be missed: subscribe, then try once more.
        let release = self.version.subscribe();
        fence(Ordering::SeqCst);
        if self.try_take(id, want) {
            return Ok(());
        }
        Err(Blocked { release })
    }

    /// Blocking acquisition until `deadline`; false on timeout. A waiter for
    /// the whole keyspace makes new key acquisitions wait behind it.
    pub(crate) fn acquire(&self, id: TxnId, want: &Want<'_>, deadline: Instant) -> bool {
        if self.try_take(id, want) {
            return true;
        }
        let exclusive = matches!(want, Want::Everything);
        if exclusive {
            self.exclusive_waiters.fetch_add(1, Ordering::SeqCst);
        }
        let taken = loop {
            // Counted before looking: a release after our look sees us.
            self.sleepers.fetch_add(1, Ordering::SeqCst);
            let seen = self.generation.load(Ordering::SeqCst);
            if self.try_take(id, want) {
                self.sleepers.fetch_sub(1, Ordering::SeqCst);
                break true;
            }
            let mut guard = self.sleep_lock.lock();
            let timed_out = self.generation.load(Ordering::SeqCst) == seen
                && self.released.wait_until(&mut guard, deadline).timed_out();
            drop(guard);
            self.sleepers.fetch_sub(1, Ordering::SeqCst);
            if timed_out {
                break self.try_take(id, want);
            }
        };
        if exclusive {
            self.exclusive_waiters.fetch_sub(1, Ordering::SeqCst);
            if !taken {
                // Key takers may have waited behind us.
                self.wake(true);
            }
        }
        taken
    }

    /// Releases what `id` holds: the keys it took (`keys`, as asked) or the
    /// whole keyspace (`None`).
    pub(crate) fn release(&self, id: TxnId, keys: Option<&[Bytes]>) {
        match keys {
            None => {
                debug_assert_eq!(self.exclusive.load(Ordering::SeqCst), id);
                self.exclusive.store(0, Ordering::SeqCst);
            }
            Some(keys) => {
                for key in keys {
                    let hash = self.hash(key);
                    let shard = &self.shards[Self::shard_of(hash)];
                    let mut table = shard.table.lock();
                    if let Ok(entry) = table
                        .keys
                        .find_entry(hash, |(k, holder)| k == key && *holder == id)
                    {
                        entry.remove();
                        shard.held.fetch_sub(1, Ordering::SeqCst);
                    }
                }
            }
        }
        self.wake(false);
    }

    /// Wakes the waiters of a release (`always`: even with no count seen).
    fn wake(&self, always: bool) {
        fence(Ordering::SeqCst);
        if always || self.sleepers.load(Ordering::SeqCst) > 0 {
            self.generation.fetch_add(1, Ordering::SeqCst);
            let _guard = self.sleep_lock.lock();
            self.released.notify_all();
        }
        // With no receiver, no task waits: the wake-up (a `notify_waiters`)
        // is skipped.
        if always || self.version.receiver_count() > 0 {
            self.version.send_modify(|v| *v = v.wrapping_add(1));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::time::Duration;

    fn keys(names: &[&str]) -> Vec<Bytes> {
        names
            .iter()
            .map(|n| Bytes::copy_from_slice(n.as_bytes()))
            .collect()
    }

    impl Locks {
        fn any_held(&self) -> bool {
            self.keyspace_held()
                || self
                    .shards
                    .iter()
                    .any(|s| s.held.load(Ordering::SeqCst) > 0)
        }
    }

    #[test]
    fn ids_are_unique_across_threads() {
        let locks = Arc::new(Locks::new(BuildHasher::default()));
        let ids: Vec<Vec<TxnId>> = std::thread::scope(|s| {
            let handles: Vec<_> = (0..4)
                .map(|_| s.spawn(|| (0..10_000).map(|_| locks.new_id()).collect::<Vec<_>>()))
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        let mut all: Vec<TxnId> = ids.into_iter().flatten().collect();
        let n = all.len();
        all.sort_unstable();
        all.dedup();
        assert_eq!(all.len(), n);
        assert!(!all.contains(&0));
    }

    #[test]
    fn keys_exclude_each_other_and_everything() {
        let locks = Locks::new(BuildHasher::default());
        let (a, b, c) = (locks.new_id(), locks.new_id(), locks.new_id());
        let ab = keys(&["a", "b"]);
        let bc = keys(&["b", "c"]);
        let d = keys(&["d"]);
        assert!(locks.try_take(a, &Want::Keys(&ab)));
        assert!(!locks.try_take(b, &Want::Keys(&bc)), "b is held by a");
        assert!(locks.try_take(b, &Want::Keys(&d)));
        assert!(!locks.try_take(c, &Want::Everything));
        assert!(locks.any_held());
        let b_key = &ab[1];
        assert!(locks.key_held(b_key, locks.hash(b_key)));
        assert!(!locks.key_held(b"c", locks.hash(b"c")));
        locks.release(a, Some(&ab));
        assert!(locks.try_take(c, &Want::Keys(&bc)));
        locks.release(b, Some(&d));
        locks.release(c, Some(&bc));
        assert!(!locks.any_held());
        let e = locks.new_id();
        assert!(locks.try_take(e, &Want::Everything));
        assert!(!locks.try_take(a, &Want::Keys(&d)), "the keyspace is held");
        assert!(!locks.try_take(a, &Want::Everything));
        locks.release(e, None);
        assert!(!locks.any_held());
        // A key given twice is taken (and released) once.
        let twice = keys(&["x", "x"]);
        assert!(locks.try_take(a, &Want::Keys(&twice)));
        locks.release(a, Some(&twice));
        assert!(!locks.any_held());
    }

    #[test]
    fn a_blocking_acquisition_wakes_on_release() {
        let locks = Arc::new(Locks::new(BuildHasher::default()));
        let k = keys(&["k"]);
        let holder = locks.new_id();
        assert!(locks.try_take(holder, &Want::Keys(&k)));
        let waiter = {
            let (locks, k) = (Arc::clone(&locks), k.clone());
            std::thread::spawn(move || {
                let id = locks.new_id();
                let deadline = Instant::now() + Duration::from_secs(30);
                let taken = locks.acquire(id, &Want::Everything, deadline);
                locks.release(id, None);
                let id = locks.new_id();
                let taken_key = locks.acquire(id, &Want::Keys(&k), deadline);
                locks.release(id, Some(&k));
                (taken, taken_key)
            })
        };
        // Keys wait behind a waiting exclusive taker.
        while locks.exclusive_waiters.load(Ordering::SeqCst) == 0 {
            std::thread::yield_now();
        }
        let late = locks.new_id();
        assert!(!locks.try_take(late, &Want::Keys(&keys(&["other"]))));
        locks.release(holder, Some(&k));
        assert_eq!(waiter.join().unwrap(), (true, true));
        assert!(!locks.any_held());
    }

    #[test]
    fn a_blocking_acquisition_times_out() {
        let locks = Locks::new(BuildHasher::default());
        let k = keys(&["k"]);
        let holder = locks.new_id();
        assert!(locks.try_take(holder, &Want::Keys(&k)));
        let id = locks.new_id();
        let deadline = Instant::now() + Duration::from_millis(20);
        assert!(!locks.acquire(id, &Want::Keys(&k), deadline));
        assert!(!locks.acquire(id, &Want::Everything, deadline));
        assert_eq!(locks.exclusive_waiters.load(Ordering::SeqCst), 0);
        assert_eq!(locks.sleepers.load(Ordering::SeqCst), 0);
    }

    #[test]
    fn blocked_commands_see_the_release() {
        let locks = Locks::new(BuildHasher::default());
        let k = keys(&["k"]);
        let holder = locks.new_id();
        assert!(locks.try_take(holder, &Want::Keys(&k)));
        let spec = crate::cmd::lookup(b"get").expect("GET");
        let free = Bytes::from_static(b"free");
        assert!(locks.check(spec, &[&free]).is_none());
        let blocked = locks.check(spec, &[&k[0]]).expect("k is held");
        assert!(!blocked.is_released());
        locks.release(holder, Some(&k));
        assert!(blocked.is_released());
        assert!(locks.check(spec, &[&k[0]]).is_none());
        let all = locks.new_id();
        assert!(locks.try_take(all, &Want::Everything));
        let blocked = locks.check(spec, &[&free]).expect("the keyspace is held");
        locks.release(all, None);
        assert!(blocked.is_released());
    }
}
