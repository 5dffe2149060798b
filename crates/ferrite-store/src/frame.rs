//! TEMPORARY placeholder for `ferrite_protocol::Frame` until ferrite-protocol
//! publishes it; deleted then (`pub use ferrite_protocol::Frame` in lib.rs).
//! Handlers build frames only through [`crate::reply`], so the swap touches
//! that module alone.

use bytes::Bytes;

/// A RESP3-shaped reply value (placeholder, see module docs).
#[derive(Debug, Clone, PartialEq)]
pub enum Frame {
    /// `+OK`
    Simple(String),
    /// `-ERR …`
    Error(String),
    /// `:1`
    Integer(i64),
    /// `$3\r\nfoo`
    Bulk(Bytes),
    /// RESP3 `_`, RESP2 `$-1`
    Null,
    /// RESP3 `_`, RESP2 `*-1`
    NullArray,
    /// `*n`
    Array(Vec<Frame>),
    /// RESP3 `%n`, RESP2 flat array
    Map(Vec<(Frame, Frame)>),
    /// RESP3 `~n`, RESP2 array
    Set(Vec<Frame>),
    /// RESP3 `,1.5`, RESP2 bulk string
    Double(f64),
    /// RESP3 `#t`, RESP2 integer
    Boolean(bool),
}
