//! Ferrite WebAssembly runtime. See docs/architecture.md and docs/abi.md.

#[allow(
    dead_code,
    reason = "called by the runtime; remove once it is wired up"
)]
mod http;
#[allow(
    dead_code,
    reason = "called by the runtime; remove once it is wired up"
)]
mod memory;
#[allow(
    dead_code,
    reason = "called by the runtime; remove once it is wired up"
)]
mod wasi;
