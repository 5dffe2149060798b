//! Ferrite keyspace and data commands. See docs/architecture.md.
