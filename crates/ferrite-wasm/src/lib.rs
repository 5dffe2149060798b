//! Ferrite WebAssembly runtime: sandboxed, limited, pooled execution of
//! WebAssembly functions against a keyspace, usable embedded.
//!
//! * [`WasmExecutor`] loads modules (compiled once per SHA-256) and calls
//!   their exports. Every call runs on a fresh instance (taken from a pool of
//!   pre-instantiated, never used instances), inside one keyspace
//!   transaction that is committed on success and rolled back on any failure.
//! * [`ResourceLimits`]: memory (`ResourceLimiter`), wall-clock time (epoch
//!   interruption, host calls included), fuel and stack.
//! * [`FunctionPermissions`]: capabilities, key patterns, READ_ONLY,
//!   COMMANDS / DENY_COMMANDS, checked in one place on every host call.
//! * [`Keyspace`] / [`Transaction`]: the only way to data; implemented for
//!   `ferrite_store::Store`.
//! * [`WasmError`]: one typed error, each variant with a stable RESP text.
//!
//! The guest ABI is specified in `docs/abi.md`.

mod abi;
mod clock;
mod error;
mod executor;
mod host;
#[allow(
    dead_code,
    reason = "the HTTP client also offers a typed request API no host function uses yet"
)]
mod http;
mod keyspace;
mod limits;
#[allow(
    dead_code,
    reason = "a complete set of checked accessors; not every width is used by a host function"
)]
mod memory;
mod permissions;
mod reuse;
mod stats;
mod store_impl;
mod value;
mod wasi;

pub use abi::{AbiType, Convention, DeclaredSignature, ExportInfo, NumType};
pub use error::WasmError;
pub use executor::{
    CallContext, CallRequest, ExportDescription, FunctionConfig, FunctionInfo, Inline, LoadOptions,
    WasmConfig, WasmExecutor, WasmExecutorBuilder, CALL_ARGS_MAX, EPOCH_TICK, FUNCTIONS_MAX,
    INLINE_BUDGET, MODULE_BYTES_MAX, NAME_BYTES_MAX,
};
pub use keyspace::{AccessMode, CommandInfo, KeyList, KeyScope, Keyspace, Transaction};
pub use limits::{PoolConfig, ResourceLimits};
pub use permissions::{Capabilities, Capability, DefaultPermissions, FunctionPermissions};
pub use stats::StatsSnapshot;
pub use value::WasmValue;
