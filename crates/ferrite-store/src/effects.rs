//! Effects: what the store tells persistence (the AOF) about every change.
//!
//! Contract (issue 6). A write is reported as the *effects* it had, as
//! commands that replay deterministically on a store loaded with
//! [`crate::Store::execute_loading`]:
//!
//! * an ordinary write command is reported as itself, except commands whose
//!   outcome depends on the clock or on randomness, which are rewritten
//!   (relative TTLs become absolute `PXAT`/`PEXPIREAT`, SPOP becomes SREM of
//!   the popped members, …);
//! * a key deleted because it expired (lazily or actively) is reported as
//!   `DEL key` before the command that noticed it;
//! * a [`crate::Txn`] (WASM.CALL, MULTI/EXEC) reports the effects of its
//!   commands as one group at commit, nothing on rollback;
//! * a command that changed nothing reports nothing.
//!
//! [`EffectSink::append`] is called while the writer still holds the locks
//! of the keys involved, so the effects on one key reach the sink in the
//! order they were applied.

use bytes::Bytes;

/// One command to replay in database `db`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Effect {
    /// Database the command applies to.
    pub db: usize,
    /// The command and its arguments (`argv[0]` is the name).
    pub argv: Vec<Bytes>,
}

/// Receives the effects of every change (the append-only file).
pub trait EffectSink: Send + Sync {
    /// Whether effects are wanted now (appendonly on). When false the store
    /// does not build them, so persistence off costs one atomic load.
    fn enabled(&self) -> bool;

    /// Appends one atomic group of effects, in apply order. A group of more
    /// than one effect must be replayed all or nothing (the AOF wraps it in
    /// MULTI/EXEC). Must not block: buffer, and let a writer thread do I/O.
    fn append(&self, group: &[Effect]);
}
