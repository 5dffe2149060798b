//! Ferrite persistence (issue 6): the append-only file and RDB snapshots.
//!
//! * [`rdb`]: the snapshot format, Redis's RDB (version 10, as written by
//!   Redis 7.0), read and written; loaded functions travel in an AUX field.
//! * [`aof`]: the append-only file, Redis 7's multi-part layout
//!   (`appendonlydir/` with a manifest, an RDB base and RESP incr files),
//!   group commit, `appendfsync always|everysec|no`, non-blocking rewrite.
//!
//! Depends on `ferrite-store` (values, [`ferrite_store::EffectSink`]); knows
//! nothing of the server or of wasm: functions are opaque records handed to a
//! [`FunctionCatalog`].

pub mod aof;
pub mod rdb;

use bytes::Bytes;

/// The loaded functions, as persistence sees them: opaque records.
///
/// The server implements it over its function catalog. Snapshots store
/// [`FunctionCatalog::dump`]; loading calls [`FunctionCatalog::restore`].
pub trait FunctionCatalog: Send + Sync {
    /// Every loaded function: (name, record). The record is whatever the
    /// server needs to load the function again (module bytes and options).
    fn dump(&self) -> Vec<(String, Bytes)>;

    /// Replaces the whole set of functions with `functions` (loading a
    /// snapshot). Errors name the function that failed.
    fn restore_all(&self, functions: Vec<(String, Bytes)>) -> Result<(), String>;
}
