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
//!
//! # Mechanism
//!
//! A command "changed something" when it went through one of the mutating
//! accessors of [`crate::Ctx`] (or FLUSH* removed keys). When it finishes,
//! still under its shard locks, its effect is its own argv, unless the
//! handler called [`crate::Ctx::propagate_as`] with a rewrite. Outside a
//! transaction the effect is appended as a group of one; inside, it is
//! buffered in the [`crate::Txn`] and the buffer is appended as one group by
//! `commit`, before the logical locks are released. `rollback` (and drop)
//! discards the buffer, except with [`crate::Txn::disable_undo`]: then
//! nothing is undone, so the buffer is appended as at commit. Nothing is
//! built while no sink is set or [`EffectSink::enabled`] is false.
//!
//! Keys found expired (lazily by any command, by [`crate::Store::watch`], or
//! by [`crate::Store::active_expire_cycle`]) are appended at once as
//! `DEL key` groups of one, in their database, even inside a transaction
//! (a rollback does not bring an expired key back).
//!
//! # Rewrites
//!
//! Every write command of `cmd/*.rs` was checked for clock and randomness.
//! Rewritten (Redis 7 propagates the same way):
//!
//! | command | reported as |
//! |---|---|
//! | `SET k v` with EX/PX/EXAT/PXAT (any NX/XX/GET) | `SET k v PXAT <abs ms>` |
//! | `SET k v KEEPTTL` (any NX/XX/GET) | `SET k v KEEPTTL` |
//! | `SET k v NX/XX/GET` (no expiry) | `SET k v` |
//! | `SETEX` / `PSETEX` | `SET k v PXAT <abs ms>` |
//! | `GETEX` EX/PX/EXAT/PXAT | `PEXPIREAT k <abs ms>`, or `DEL k` if the time had passed |
//! | `GETEX … PERSIST` (key had a TTL) | `PERSIST k` |
//! | `GETDEL` | `DEL k` |
//! | `EXPIRE`/`PEXPIRE`/`EXPIREAT`/`PEXPIREAT` (any NX/XX/GT/LT) | `PEXPIREAT k <abs ms>`, or `DEL k` if the time had passed |
//! | `SPOP k` / `SPOP k n` | `SREM k <members popped>`, or `DEL k` when all were popped |
//! | `INCRBYFLOAT` (long-double arithmetic) | `SET k <result> KEEPTTL` |
//! | `HINCRBYFLOAT` | `HSET k f <result>` |
//!
//! Reported verbatim because their outcome depends only on the keyspace:
//! SETNX, MSET, MSETNX, INCR, DECR, INCRBY, DECRBY, APPEND, SETRANGE, DEL,
//! UNLINK, PERSIST, RENAME, RENAMENX, COPY (the TTL copied is absolute),
//! FLUSHDB, FLUSHALL, HSET, HSETNX, HMSET, HDEL, HINCRBY, LPUSH, RPUSH,
//! LPUSHX, RPUSHX, LPOP, RPOP, LSET, LREM, LTRIM, LINSERT, LMOVE, LMPOP,
//! RPOPLPUSH, SADD, SREM, SINTERSTORE, SUNIONSTORE, SDIFFSTORE,
//! ZADD, ZINCRBY (f64 arithmetic), ZREM, ZRANGESTORE, ZREMRANGEBY*,
//! ZPOPMIN, ZPOPMAX, ZMPOP, ZUNIONSTORE, ZINTERSTORE, ZDIFFSTORE. The
//! random read commands (SRANDMEMBER, HRANDFIELD, ZRANDMEMBER, RANDOMKEY)
//! write nothing. There is no MOVE, RESTORE, SMOVE, GETSET or blocking pop
//! in the table yet; a test fails when a write command is added to the
//! table without being classified here (`REWRITTEN` / `VERBATIM`).
//!
//! # Replay
//!
//! [`crate::Store::execute_loading`] runs the effects with the clock at 0:
//! nothing expires while loading and every TTL in the records is absolute,
//! so no handler computes `now + relative` on them.

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

/// The effect `DEL key`.
pub(crate) fn del(key: &Bytes) -> Vec<Bytes> {
    vec![Bytes::from_static(b"DEL"), key.clone()]
}

/// The effect `PEXPIREAT key at` (absolute, Unix ms).
pub(crate) fn pexpireat(key: &Bytes, at: u64) -> Vec<Bytes> {
    vec![
        Bytes::from_static(b"PEXPIREAT"),
        key.clone(),
        Bytes::from(at.to_string()),
    ]
}

/// The effect `SREM key member…` (SPOP's rewrite).
pub(crate) fn srem(key: &Bytes, members: &[Bytes]) -> Vec<Bytes> {
    let mut argv = Vec::with_capacity(members.len() + 2);
    argv.push(Bytes::from_static(b"SREM"));
    argv.push(key.clone());
    argv.extend(members.iter().cloned());
    argv
}

/// Write commands whose effect is a rewrite (see the module docs). With
/// [`VERBATIM`], every write command of the table: a test keeps new
/// commands from going unclassified.
#[cfg(test)]
pub(crate) const REWRITTEN: &[&str] = &[
    "set",
    "setex",
    "psetex",
    "getex",
    "getdel",
    "expire",
    "pexpire",
    "expireat",
    "pexpireat",
    "spop",
    "incrbyfloat",
    "hincrbyfloat",
];

/// Write commands reported as their own argv (deterministic given the keyspace).
#[cfg(test)]
pub(crate) const VERBATIM: &[&str] = &[
    "setnx",
    "mset",
    "msetnx",
    "incr",
    "decr",
    "incrby",
    "decrby",
    "append",
    "setrange",
    "del",
    "unlink",
    "persist",
    "rename",
    "renamenx",
    "copy",
    "flushdb",
    "flushall",
    "hset",
    "hsetnx",
    "hmset",
    "hdel",
    "hincrby",
    "lpush",
    "rpush",
    "lpushx",
    "rpushx",
    "lpop",
    "rpop",
    "lset",
    "lrem",
    "ltrim",
    "linsert",
    "lmove",
    "lmpop",
    "rpoplpush",
    "sadd",
    "srem",
    "sinterstore",
    "sunionstore",
    "sdiffstore",
    "zadd",
    "zincrby",
    "zrem",
    "zrangestore",
    "zremrangebyscore",
    "zremrangebyrank",
    "zremrangebylex",
    "zpopmin",
    "zpopmax",
    "zmpop",
    "zunionstore",
    "zinterstore",
    "zdiffstore",
];
