//! Ferrite WebAssembly runtime. See docs/architecture.md and docs/abi.md.
