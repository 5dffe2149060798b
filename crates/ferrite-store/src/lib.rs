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
//! for RESP2 clients.

pub mod args;
pub mod cmd;
mod ctx;
mod error;
pub mod glob;
mod keyspace;
mod ldouble;
mod locks;
pub mod reply;
mod store;
mod txn;
pub mod value;

pub use cmd::{commands, lookup, CommandFlags, CommandSpec, Handler, Layer};
pub use ctx::Ctx;
pub use error::{LockError, StoreError, StoreResult};
pub use ferrite_protocol::{Frame, Protocol};
pub use keyspace::Entry;
pub use locks::Blocked;
pub use store::{KeyspaceInfo, Store, StoreConfig, StoreStats, WatchHandle};
pub use txn::{Scope, Txn, TxnMode};
pub use value::{StrValue, Value};

#[cfg(test)]
mod tests;
