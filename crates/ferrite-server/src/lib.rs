//! The Ferrite server: networking, configuration, connection and server
//! commands, on top of `ferrite-store`. The `ferrite` binary is a thin
//! `main` over [`server::run`]. See docs/architecture.md and
//! docs/configuration.md.

pub mod alloc;
pub mod cli;
pub mod client;
pub mod cmd;
pub mod config;
pub mod connection;
pub mod error;
pub mod io_threads;
pub mod persist;
pub mod server;
pub mod stats;
pub mod wasm_cmd;

pub use config::{Config, ConfigError};
pub use error::CommandError;
pub use server::{run, ServerError};
