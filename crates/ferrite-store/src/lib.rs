//! Ferrite keyspace and data commands. See `docs/architecture.md`.
//!
//! * [`Store`]: databases split into mutex-protected shards by key hash;
//!   [`Store::execute`] runs one data command.
//! * [`Txn`]: logical locks plus an undo log for atomic multi-command work
//!   (WASM.CALL, MULTI/EXEC): [`Store::begin`], [`Store::begin_exclusive`].
//! * The command table ([`lookup`], [`commands`], [`CommandSpec`]) lists every
//!   command of every layer; see [`cmd`] for how server and wasm commands
//!   appear in it.
//! * Handlers (`cmd/*.rs`, one file per family) touch data only through
//!   [`Ctx`], parse arguments with [`args`], and fail with [`StoreError`].
//! * [`glob`]: the one Redis glob matcher.
//!
//! Replies are RESP3-shaped [`Frame`]s; the protocol encoder downgrades them
//! for RESP2 clients. The few replies whose *shape* differs by protocol
//! (RESP3 arrays of `[field, value]` pairs that RESP2 flattens: HRANDFIELD …
//! WITHVALUES, ZRANGE … WITHSCORES…) are built for the client's protocol:
//! call [`Store::execute_with`] / [`Txn::set_protocol`] with it
//! ([`Store::execute`] builds RESP2 shapes).
//!
//! # Concurrency
//!
//! One command locks the shards of its keys (all shards for KEYS, SCAN,
//! DBSIZE, RANDOMKEY, FLUSH*) for its duration, so every command is atomic.
//! A [`Txn`] holds *logical* locks between its commands; an ordinary command
//! that needs a held key gets `Err(Blocked)` instead of blocking the thread.
//! Expiry is lazy (every access) and active ([`Store::active_expire_cycle`],
//! skipped while a transaction holds locks, so a transaction sees a stable
//! keyspace). Time is frozen per command, and per transaction.
//!
//! # Limits
//!
//! [`StoreConfig`] bounds string sizes, declared keys, random-reply sizes and
//! expiry sampling. Undo entries copy the whole value of each changed key once
//! per transaction ([`Txn::disable_undo`] for MULTI/EXEC).

pub mod args;
pub mod cmd;
mod ctx;
pub mod effects;
mod error;
pub mod glob;
mod keyspace;
mod ldouble;
mod locks;
pub mod reply;
mod store;
pub mod striped;
mod txn;
pub mod value;

pub use cmd::{commands, lookup, CommandFlags, CommandSpec, Handler, KeyList, Layer};
pub use ctx::Ctx;
pub use effects::{Effect, EffectSink};
pub use error::{LockError, StoreError, StoreResult};
pub use ferrite_protocol::{Frame, Protocol};
pub use keyspace::Entry;
pub use locks::Blocked;
pub use store::{KeyspaceInfo, Store, StoreConfig, StoreSnapshot, StoreStats, WatchHandle};
pub use txn::{Scope, Txn, TxnMode};
pub use value::{StrValue, Value};

#[cfg(test)]
mod effects_tests;
#[cfg(test)]
mod tests;
