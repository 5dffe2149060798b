//! The Ferrite server: networking, configuration, connection and server
//! commands, on top of `ferrite-store`. The `ferrite` binary is a thin
//! `main` over [`run`]. See docs/architecture.md and docs/configuration.md.

pub mod alloc;
pub mod cli;
pub mod client;
pub mod config;
pub mod stats;
