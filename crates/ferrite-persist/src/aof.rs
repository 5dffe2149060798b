//! The append-only file (see the crate docs).
