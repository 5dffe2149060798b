//! RDB snapshots (see the crate docs).
