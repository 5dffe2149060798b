//! RESP2/RESP3 protocol for Ferrite. See docs/architecture.md.
