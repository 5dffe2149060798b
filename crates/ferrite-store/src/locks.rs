//! Logical locks held by transactions ([`crate::Txn`]), and the waiters of
//! ordinary commands blocked by them ([`Blocked`]).

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::Instant;

use bytes::Bytes;
use hashbrown::HashMap;
use parking_lot::{Condvar, Mutex};
use tokio::sync::watch;

use crate::cmd::CommandSpec;

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

/// Identifier of one transaction.
pub(crate) type TxnId = u64;

#[derive(Default)]
struct Table {
    /// The transaction holding the whole keyspace.
    exclusive: Option<TxnId>,
    /// Transactions waiting for the whole keyspace (new key locks wait behind them).
    exclusive_waiters: usize,
    /// Key name (in every database) → holder.
    keys: HashMap<Bytes, TxnId>,
}

impl Table {
    fn is_busy_for(&self, spec: &CommandSpec, keys: &[&Bytes]) -> bool {
        if self.exclusive.is_some() {
            return true;
        }
        if self.keys.is_empty() {
            return false;
        }
        if spec.is_keyspace_wide() {
            return true;
        }
        keys.iter().any(|k| self.keys.contains_key(k.as_ref()))
    }
}

/// What a transaction asks for.
pub(crate) enum Want<'a> {
    Keys(&'a [Bytes]),
    Everything,
}

pub(crate) struct Locks {
    table: Mutex<Table>,
    released: Condvar,
    version: watch::Sender<u64>,
    /// Number of transactions holding anything (fast path for `execute`).
    holders: AtomicUsize,
    /// Last transaction id handed out (no table lock to take one).
    last_id: AtomicU64,
}

impl Locks {
    pub(crate) fn new() -> Locks {
        Locks {
            table: Mutex::new(Table::default()),
            released: Condvar::new(),
            version: watch::Sender::new(0),
            holders: AtomicUsize::new(0),
            last_id: AtomicU64::new(0),
        }
    }

    pub(crate) fn new_id(&self) -> TxnId {
        self.last_id.fetch_add(1, Ordering::Relaxed) + 1
    }

    /// Whether any transaction holds anything now. Callers hold the shard
    /// mutexes of their keys, so a transaction that starts holding after this
    /// returned false only runs its commands after the caller finished.
    pub(crate) fn any_held(&self) -> bool {
        self.holders.load(Ordering::Acquire) > 0
    }

    /// For ordinary commands: `Some(Blocked)` if a transaction holds one of
    /// `keys` (or the keyspace, or any key for keyspace-wide commands).
    pub(crate) fn check(&self, spec: &CommandSpec, keys: &[&Bytes]) -> Option<Blocked> {
        let table = self.table.lock();
        if table.is_busy_for(spec, keys) {
            // Subscribed under the table lock: a release cannot slip in between.
            Some(Blocked {
                release: self.version.subscribe(),
            })
        } else {
            None
        }
    }

    fn try_take(table: &mut Table, id: TxnId, want: &Want<'_>) -> bool {
        match want {
            Want::Keys(keys) => {
                if table.exclusive.is_some()
                    || table.exclusive_waiters > 0
                    || keys
                        .iter()
                        .any(|k| table.keys.get(k).is_some_and(|h| *h != id))
                {
                    return false;
                }
                for key in keys.iter() {
                    // A reference to the caller's bytes, held only until
                    // the transaction ends.
                    table.keys.insert(key.clone(), id);
                }
                true
            }
            Want::Everything => {
                if table.exclusive.is_some() || !table.keys.is_empty() {
                    return false;
                }
                table.exclusive = Some(id);
                true
            }
        }
    }

    /// Non-blocking acquisition. `Err(Blocked)` to wait for a release.
    pub(crate) fn try_acquire(&self, id: TxnId, want: &Want<'_>) -> Result<(), Blocked> {
        let mut table = self.table.lock();
        if Self::try_take(&mut table, id, want) {
            self.holders.fetch_add(1, Ordering::AcqRel);
            Ok(())
        } else {
            Err(Blocked {
                release: self.version.subscribe(),
            })
        }
    }

    /// Blocking acquisition until `deadline`; false on timeout. A waiter for
    /// the whole keyspace makes new key acquisitions wait behind it.
    pub(crate) fn acquire(&self, id: TxnId, want: &Want<'_>, deadline: Instant) -> bool {
        let mut table = self.table.lock();
        let exclusive = matches!(want, Want::Everything);
        loop {
            if Self::try_take(&mut table, id, want) {
                self.holders.fetch_add(1, Ordering::AcqRel);
                return true;
            }
            if exclusive {
                table.exclusive_waiters += 1;
            }
            let timed_out = self.released.wait_until(&mut table, deadline).timed_out();
            if exclusive {
                table.exclusive_waiters -= 1;
            }
            if timed_out {
                if Self::try_take(&mut table, id, want) {
                    self.holders.fetch_add(1, Ordering::AcqRel);
                    return true;
                }
                if exclusive {
                    // Key takers may have waited behind us.
                    self.released.notify_all();
                    self.version.send_modify(|v| *v = v.wrapping_add(1));
                }
                return false;
            }
        }
    }

    /// Releases everything `id` holds; `holding` says whether it acquired.
    pub(crate) fn release(&self, id: TxnId, holding: bool) {
        if !holding {
            return;
        }
        let mut table = self.table.lock();
        if table.exclusive == Some(id) {
            table.exclusive = None;
        }
        table.keys.retain(|_, holder| *holder != id);
        self.holders.fetch_sub(1, Ordering::AcqRel);
        drop(table);
        self.released.notify_all();
        // Every `Blocked` subscribes under the table lock, so one that saw
        // this transaction's locks is counted here; with none, no task
        // waits and the wake-up (a `notify_waiters`) is skipped.
        if self.version.receiver_count() > 0 {
            self.version.send_modify(|v| *v = v.wrapping_add(1));
        }
    }
}
