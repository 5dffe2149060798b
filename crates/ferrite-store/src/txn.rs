//! Transactions: logical locks plus an undo log (WASM.CALL, MULTI/EXEC).

use std::ops::Deref;
use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;
use ferrite_protocol::Protocol;
use hashbrown::{HashMap, HashSet};

use crate::cmd::{self, CommandSpec};
use crate::effects::Effect;
use crate::error::StoreError;
use crate::keyspace::Entry;
use crate::locks::{TxnId, Want};
use crate::store::Store;
use crate::{reply, Frame};

/// What a transaction holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    /// Exactly these keys (by name, in every database), taken at `begin`.
    /// Any other key gets `ERR key 'x' is not declared in KEYS`; read-only
    /// keyspace-wide commands (KEYS, SCAN, DBSIZE, RANDOMKEY) are allowed,
    /// FLUSHDB/FLUSHALL are not.
    Keys(Vec<Bytes>),
    /// The whole keyspace, exclusively, taken at the first command that
    /// touches a key (waiting until the `begin` deadline). A transaction that
    /// never touches a key takes no lock.
    Lazy,
    /// The whole keyspace, exclusively, taken at `begin` (MULTI/EXEC).
    All,
}

/// Whether a transaction may write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TxnMode {
    /// Reads and writes.
    ReadWrite,
    /// Write commands fail (`StoreError::WriteInReadOnly`), nothing is written.
    ReadOnly,
}

/// Most undo entries found by a linear scan; past this an index is built.
/// A call changes a handful of keys: a scan of a short vector is cheaper
/// than the hash maps this log used to allocate for every transaction.
const UNDO_SCAN_MAX: usize = 8;

/// The undo log: the entry of each key as it was before its first change,
/// per database.
#[derive(Default)]
pub(crate) struct UndoLog {
    enabled: bool,
    /// `(db, key, entry before the first change)`, in recording order.
    recorded: Vec<(usize, Bytes, Option<Entry>)>,
    /// The recorded keys per database, once `recorded` is longer than
    /// [`UNDO_SCAN_MAX`] (empty before).
    index: HashMap<usize, HashSet<Bytes>>,
}

impl UndoLog {
    /// Records `prior()` for (db, key) unless already recorded.
    pub(crate) fn record(&mut self, db: usize, key: &[u8], prior: impl FnOnce() -> Option<Entry>) {
        if !self.enabled {
            return;
        }
        let seen = if self.recorded.len() <= UNDO_SCAN_MAX {
            self.recorded
                .iter()
                .any(|(d, k, _)| *d == db && k.as_ref() == key)
        } else {
            self.index.get(&db).is_some_and(|keys| keys.contains(key))
        };
        if seen {
            return;
        }
        let key = Bytes::copy_from_slice(key);
        if self.recorded.len() == UNDO_SCAN_MAX {
            for (d, k, _) in &self.recorded {
                self.index.entry(*d).or_default().insert(k.clone());
            }
        }
        if self.recorded.len() >= UNDO_SCAN_MAX {
            self.index.entry(db).or_default().insert(key.clone());
        }
        self.recorded.push((db, key, prior()));
    }

    /// Forgets every entry.
    fn clear(&mut self) {
        self.recorded.clear();
        self.index.clear();
    }

    /// Takes every entry out, leaving the log empty.
    fn take(&mut self) -> Vec<(usize, Bytes, Option<Entry>)> {
        self.index.clear();
        std::mem::take(&mut self.recorded)
    }
}

/// The keys a transaction declared (`KEYS …`): the keys its commands may
/// touch. A few are scanned (no hashing, no set to build per transaction);
/// past [`DeclaredKeys::SCAN_MAX`] they are hashed.
pub(crate) struct DeclaredKeys {
    keys: Vec<Bytes>,
    set: Option<HashSet<Bytes>>,
}

impl DeclaredKeys {
    /// Most keys checked by a linear scan.
    const SCAN_MAX: usize = 8;

    fn new(keys: Vec<Bytes>) -> DeclaredKeys {
        let set = (keys.len() > Self::SCAN_MAX).then(|| keys.iter().cloned().collect());
        DeclaredKeys { keys, set }
    }

    /// Whether `key` is declared.
    pub(crate) fn contains(&self, key: &[u8]) -> bool {
        match &self.set {
            Some(set) => set.contains(key),
            None => self.keys.iter().any(|k| k.as_ref() == key),
        }
    }
}

/// What a [`crate::Ctx`] needs from the running transaction.
pub(crate) struct TxnCtx<'t> {
    pub(crate) declared: Option<&'t DeclaredKeys>,
    pub(crate) undo: &'t mut UndoLog,
    /// Effects of the transaction's commands so far, appended as one group
    /// at commit.
    pub(crate) effects: &'t mut Vec<Effect>,
}

/// A borrowed or shared store.
pub(crate) enum StoreRef<'s> {
    Borrowed(&'s Store),
    Shared(Arc<Store>),
}

impl Deref for StoreRef<'_> {
    type Target = Store;
    fn deref(&self) -> &Store {
        match self {
            StoreRef::Borrowed(s) => s,
            StoreRef::Shared(s) => s,
        }
    }
}

/// An atomic unit of work over the keyspace. Ordinary commands on its keys get
/// `Err(Blocked)` from [`Store::execute`] until it ends.
///
/// End it with [`Txn::commit`] or [`Txn::rollback`]; dropping it rolls back.
pub struct Txn<'s> {
    store: StoreRef<'s>,
    id: TxnId,
    db: usize,
    mode: TxnMode,
    declared: Option<DeclaredKeys>,
    /// Whether the lock table holds something for this txn.
    holding: bool,
    /// Lazy scope: take everything at the first key access.
    lazy: bool,
    deadline: Option<Instant>,
    now_ms: u64,
    undo: UndoLog,
    /// Effects of the commands run so far (only while the sink is enabled).
    effects: Vec<Effect>,
    protocol: Protocol,
    finished: bool,
}

impl<'s> Txn<'s> {
    fn new(
        store: StoreRef<'s>,
        db: usize,
        scope: &Scope,
        mode: TxnMode,
        deadline: Option<Instant>,
    ) -> Txn<'s> {
        let id = store.locks().new_id();
        Txn {
            store,
            id,
            db,
            mode,
            // Set from the scope once the locks are taken (`declare`).
            declared: None,
            holding: false,
            lazy: matches!(scope, Scope::Lazy),
            deadline,
            now_ms: 0,
            undo: UndoLog {
                enabled: true,
                ..UndoLog::default()
            },
            effects: Vec::new(),
            protocol: Protocol::Resp2,
            finished: false,
        }
    }

    /// Moves a [`Scope::Keys`] scope's keys into the transaction.
    fn declare(&mut self, scope: Scope) {
        if let Scope::Keys(keys) = scope {
            self.declared = Some(DeclaredKeys::new(keys));
        }
    }

    fn want(scope: &Scope) -> Option<Want<'_>> {
        match scope {
            Scope::Keys(keys) if keys.is_empty() => None,
            Scope::Keys(keys) => Some(Want::Keys(keys)),
            Scope::Lazy => None,
            Scope::All => Some(Want::Everything),
        }
    }

    /// Blocking begin (worker threads).
    pub(crate) fn begin_blocking(
        store: StoreRef<'s>,
        db: usize,
        scope: Scope,
        mode: TxnMode,
        deadline: Instant,
    ) -> Result<Txn<'s>, crate::LockError> {
        Self::check_scope(&store, db, &scope)?;
        let started = Instant::now();
        let mut txn = Txn::new(store, db, &scope, mode, Some(deadline));
        if let Some(want) = Self::want(&scope) {
            if !txn.store.locks().acquire(txn.id, &want, deadline) {
                txn.finished = true;
                return Err(crate::LockError::Timeout {
                    waited: started.elapsed(),
                });
            }
            txn.holding = true;
        }
        txn.declare(scope);
        txn.now_ms = txn.store.now_ms();
        Ok(txn)
    }

    fn check_scope(store: &Store, db: usize, scope: &Scope) -> Result<(), crate::LockError> {
        if db >= store.config().databases {
            return Err(crate::LockError::DbIndexOutOfRange);
        }
        if let Scope::Keys(keys) = scope {
            let max = store.config().txn_keys_max;
            if keys.len() > max {
                return Err(crate::LockError::TooManyKeys {
                    declared: keys.len(),
                    max,
                });
            }
        }
        Ok(())
    }

    /// Begins a transaction only if its locks are free right now, for a
    /// caller that must not wait (the WASM runtime's inline calls on an I/O
    /// thread): [`crate::LockError::Timeout`] (waited 0) if one is held. A
    /// [`Scope::Lazy`] transaction later tries the keyspace lock once the
    /// same way (its command gets `StoreError::LockTimeout`). Like
    /// [`Store::begin`] with a deadline of now, without reading the clock.
    pub fn begin_now(
        store: &'s Store,
        db: usize,
        scope: Scope,
        mode: TxnMode,
    ) -> Result<Txn<'s>, crate::LockError> {
        Self::check_scope(store, db, &scope)?;
        Txn::try_begin(StoreRef::Borrowed(store), db, scope, mode).map_err(|_| {
            crate::LockError::Timeout {
                waited: std::time::Duration::ZERO,
            }
        })
    }

    /// Non-blocking begin: `Err(Blocked)` to await and retry.
    pub(crate) fn try_begin(
        store: StoreRef<'s>,
        db: usize,
        scope: Scope,
        mode: TxnMode,
    ) -> Result<Txn<'s>, crate::Blocked> {
        debug_assert!(db < store.config().databases);
        let mut txn = Txn::new(store, db, &scope, mode, None);
        if let Some(want) = Self::want(&scope) {
            if let Err(blocked) = txn.store.locks().try_acquire(txn.id, &want) {
                txn.finished = true;
                return Err(blocked);
            }
            txn.holding = true;
        }
        txn.declare(scope);
        txn.now_ms = txn.store.now_ms();
        Ok(txn)
    }

    /// The selected database.
    pub fn db(&self) -> usize {
        self.db
    }

    /// Selects the database for the following commands.
    pub fn select(&mut self, db: usize) -> Result<(), StoreError> {
        if db >= self.store.config().databases {
            return Err(StoreError::DbIndexOutOfRange);
        }
        self.db = db;
        Ok(())
    }

    /// Sets the protocol whose reply shapes `execute` produces (default RESP2;
    /// see [`Store::execute_with`]).
    pub fn set_protocol(&mut self, protocol: Protocol) {
        self.protocol = protocol;
    }

    /// Stops recording undo entries (MULTI/EXEC never rolls back, and skipping
    /// the copies makes big values cheap). Rollback then only releases locks.
    pub fn disable_undo(&mut self) {
        self.undo.enabled = false;
        self.undo.clear();
    }

    /// Runs one data command inside the transaction; errors are error frames.
    pub fn execute(&mut self, argv: &[Bytes]) -> Frame {
        match self.execute_inner(argv) {
            Ok(frame) => frame,
            Err(err) => reply::error(&err),
        }
    }

    /// [`Txn::execute`] for a caller that already looked the command up:
    /// `spec` must be [`crate::lookup`]'s answer for `argv[0]` and `keys`
    /// `spec.keys(argv)`. Saves the second lookup and key extraction (the
    /// WASM runtime looks every command up for its permission check first).
    /// Arity is checked here, as [`Txn::execute`] does.
    pub fn execute_resolved(
        &mut self,
        spec: &'static CommandSpec,
        keys: &[&Bytes],
        argv: &[Bytes],
    ) -> Frame {
        debug_assert!(argv
            .first()
            .and_then(|name| cmd::lookup(name))
            .is_some_and(|found| std::ptr::eq(found, spec)));
        debug_assert_eq!(keys, spec.keys(argv).as_slice());
        let result = if spec.arity_ok(argv.len()) {
            self.run_resolved(spec, keys, argv)
        } else {
            Err(StoreError::WrongArity(spec.name))
        };
        match result {
            Ok(frame) => frame,
            Err(err) => reply::error(&err),
        }
    }

    fn execute_inner(&mut self, argv: &[Bytes]) -> Result<Frame, StoreError> {
        let spec = cmd::resolve(argv)?;
        let keys = spec.keys(argv);
        self.run_resolved(spec, &keys, argv)
    }

    fn run_resolved(
        &mut self,
        spec: &'static CommandSpec,
        keys: &[&Bytes],
        argv: &[Bytes],
    ) -> Result<Frame, StoreError> {
        let Some(handler) = spec.handler else {
            return Err(StoreError::NotADataCommand(spec.name));
        };
        if self.mode == TxnMode::ReadOnly && spec.is_write() {
            return Err(StoreError::WriteInReadOnly(spec.name));
        }
        if let Some(declared) = &self.declared {
            if spec.is_keyspace_wide() && spec.is_write() {
                return Err(StoreError::KeyspaceWideInKeysScope(spec.name));
            }
            if let Some(key) = keys.iter().find(|k| !declared.contains(k.as_ref())) {
                return Err(StoreError::KeyNotDeclared(
                    String::from_utf8_lossy(key).into_owned(),
                ));
            }
        }
        if self.lazy && !self.holding && (!keys.is_empty() || spec.is_keyspace_wide()) {
            let deadline = self.deadline.unwrap_or_else(Instant::now);
            if !self
                .store
                .locks()
                .acquire(self.id, &Want::Everything, deadline)
            {
                return Err(StoreError::LockTimeout);
            }
            self.holding = true;
        }
        let store: &Store = &self.store;
        // One key (GET, INCR…): hashed once, for the shard and the lookup.
        let mut single = None;
        let guards = match keys {
            [key] if !spec.is_keyspace_wide() => {
                let (hash, guards) = store.lock_one(key);
                single = Some((*key, hash));
                guards
            }
            _ => store.lock_for(spec, keys),
        };
        let sink = store.recording_sink();
        let mut ctx = crate::Ctx::new(
            store,
            self.db,
            self.now_ms,
            guards,
            Some(TxnCtx {
                declared: self.declared.as_ref(),
                undo: &mut self.undo,
                effects: &mut self.effects,
            }),
            self.protocol,
            sink,
        );
        if let Some((key, hash)) = single {
            ctx.remember_hash(key, hash);
        }
        let result = handler(&mut ctx, argv);
        ctx.finish(argv);
        result
    }

    /// Keeps every change, reports their effects as one group (see
    /// [`crate::effects`]) and releases the locks.
    pub fn commit(mut self) {
        self.undo.clear();
        self.report_effects();
        self.finish();
    }

    /// Restores every key the transaction changed (values and TTLs) and
    /// releases the locks. With undo disabled ([`Txn::disable_undo`]) the
    /// changes stay, so their effects are reported as at commit.
    pub fn rollback(mut self) {
        self.undo_all();
        self.finish();
    }

    /// Appends the buffered effects as one group (called before the logical
    /// locks are released, so nothing else touched these keys meanwhile).
    fn report_effects(&mut self) {
        let effects = std::mem::take(&mut self.effects);
        if effects.is_empty() {
            return;
        }
        // The sink may have been disabled since: the effects were built while
        // it was on, and a disabled sink ignores them anyway.
        if let Some(sink) = self.store.recording_sink() {
            sink.append(&effects);
        }
    }

    fn undo_all(&mut self) {
        if !self.undo.enabled {
            // Nothing can be undone: the changes stay, and so must their effects.
            self.report_effects();
            return;
        }
        self.effects.clear();
        for (db, key, prior) in self.undo.take() {
            self.store.restore(db, key, prior);
        }
    }

    fn finish(&mut self) {
        if !self.finished {
            self.finished = true;
            if self.holding {
                // A `Keys` scope took its declared keys; `Lazy` and `All`
                // the keyspace.
                let keys = match (&self.declared, self.lazy) {
                    (Some(declared), false) => Some(declared.keys.as_slice()),
                    _ => None,
                };
                self.store.locks().release(self.id, keys);
            }
            self.holding = false;
        }
    }
}

impl Drop for Txn<'_> {
    fn drop(&mut self) {
        if !self.finished {
            self.undo_all();
            self.finish();
        }
    }
}

impl std::fmt::Debug for Txn<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Txn")
            .field("id", &self.id)
            .field("db", &self.db)
            .field("mode", &self.mode)
            .field("holding", &self.holding)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, Instant};

    use crate::tests::argv;
    use crate::{Scope, Store, StoreConfig, TxnMode};

    /// Declared keys are scanned up to `DeclaredKeys::SCAN_MAX` and hashed
    /// past it: either way exactly the declared keys are usable.
    #[test]
    fn declared_keys_are_checked_by_scan_and_by_set() {
        for n in [1usize, 8, 9, 40] {
            let s = Store::new(StoreConfig::default());
            let keys: Vec<String> = (0..n).map(|i| format!("k{i}")).collect();
            let names: Vec<&str> = keys.iter().map(String::as_str).collect();
            let deadline = Instant::now() + Duration::from_secs(5);
            let mut txn = s
                .begin(0, Scope::Keys(argv(&names)), TxnMode::ReadWrite, deadline)
                .unwrap();
            for k in &names {
                let reply = txn.execute(&argv(&["SET", k, "v"]));
                assert_eq!(reply, crate::reply::ok(), "{n} keys: {k}");
            }
            for k in ["k", "k1x", "x", ""] {
                let reply = txn.execute(&argv(&["SET", k, "v"]));
                assert!(
                    matches!(&reply, ferrite_protocol::Frame::Error(e) if e.ends_with(b"is not declared in KEYS")),
                    "{n} keys: {k}: {reply:?}"
                );
            }
            txn.commit();
        }
    }

    /// Past `UNDO_SCAN_MAX` keys the undo log switches from a scan to an
    /// index: keys changed again after the switch, in two databases, and a
    /// FLUSHDB of everything are all restored exactly once.
    #[test]
    fn rollback_restores_many_keys_in_several_databases() {
        let s = Store::new(StoreConfig {
            shards: 4,
            ..StoreConfig::default()
        });
        for i in 0..30 {
            s.execute(0, &argv(&["SET", &format!("k{i}"), &format!("v{i}")]))
                .unwrap();
        }
        s.execute(1, &argv(&["SET", "k3", "100"])).unwrap();
        let before: Vec<_> = (0..2).map(|db| s.snapshot_db(db)).collect();
        let deadline = Instant::now() + Duration::from_secs(5);
        let mut txn = s
            .begin(0, Scope::Lazy, TxnMode::ReadWrite, deadline)
            .unwrap();
        for round in 0..2 {
            for i in 0..20 {
                let key = format!("k{i}");
                txn.execute(&argv(&["APPEND", &key, &format!("+{round}")]));
            }
            txn.select(1).unwrap();
            for i in 0..12 {
                txn.execute(&argv(&["INCR", &format!("k{i}")]));
            }
            txn.select(0).unwrap();
        }
        txn.execute(&argv(&["FLUSHDB"]));
        txn.execute(&argv(&["SET", "new", "1"]));
        assert_eq!(txn.undo.recorded.len(), 30 + 12 + 1);
        txn.rollback();
        let after: Vec<_> = (0..2).map(|db| s.snapshot_db(db)).collect();
        assert_eq!(before, after);
    }
}
