//! The one error type of this crate.

use bytes::{BufMut, Bytes, BytesMut};

use crate::frame::Frame;

/// A malformed request or reply.
///
/// For request errors the `Display` text is exactly the text Redis 7.0 sends
/// after its `-ERR ` prefix; [`ProtocolError::to_frame`] builds the full
/// error reply (`-ERR Protocol error: …`) a server sends before closing the
/// connection.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProtocolError {
    /// `*<count>` is not an integer, above `i32::MAX` or above the limit.
    #[error("Protocol error: invalid multibulk length")]
    InvalidMultibulkLength,
    /// `$<len>` is not an integer, negative or above the bulk limit.
    #[error("Protocol error: invalid bulk length")]
    InvalidBulkLength,
    /// More than the inline limit without a newline.
    #[error("Protocol error: too big inline request")]
    TooBigInlineRequest,
    /// More than the inline limit without `\r` after `*`.
    #[error("Protocol error: too big mbulk count string")]
    TooBigMultibulkCountString,
    /// More than the inline limit without `\r` after `$`.
    #[error("Protocol error: too big bulk count string")]
    TooBigBulkCountString,
    /// A multibulk argument that does not start with `$`.
    #[error("Protocol error: expected '$', got '{}'", char::from(*.0))]
    ExpectedDollar(u8),
    /// An inline request (or a case line) with unbalanced quotes.
    #[error("Protocol error: unbalanced quotes in request")]
    UnbalancedQuotes,
    /// More than 10 arguments before AUTH when a password is required.
    #[error("Protocol error: unauthenticated multibulk length")]
    UnauthenticatedMultibulkLength,
    /// A bulk above 16 KB before AUTH when a password is required.
    #[error("Protocol error: unauthenticated bulk length")]
    UnauthenticatedBulkLength,

    /// Reply parser: an unknown or unsupported type byte (attributes and
    /// streamed aggregates are not supported).
    #[error("invalid RESP: unsupported type byte {0:#04x}")]
    UnsupportedType(u8),
    /// Reply parser: a length, integer, double, boolean or big number that
    /// does not parse, or a missing `\r\n`.
    #[error("invalid RESP: malformed {0}")]
    Malformed(&'static str),
    /// Reply parser: aggregates nested deeper than the limit.
    #[error("invalid RESP: nesting deeper than {depth_max}")]
    TooDeep {
        /// The limit that was exceeded.
        depth_max: usize,
    },
    /// Reply parser: a bulk or aggregate larger than the limit.
    #[error("invalid RESP: {what} of {len} exceeds the limit")]
    TooLarge {
        /// `"bulk length"` or `"aggregate length"`.
        what: &'static str,
        /// The announced length.
        len: i64,
    },
}

impl ProtocolError {
    /// The error reply Redis sends for this error: `ERR ` + the text.
    ///
    /// For [`ProtocolError::ExpectedDollar`] the offending byte is sent raw,
    /// as Redis does (the encoder turns `\r`/`\n` into spaces).
    pub fn to_frame(&self) -> Frame {
        match self {
            ProtocolError::ExpectedDollar(byte) => {
                let mut text = BytesMut::with_capacity(48);
                text.put_slice(b"ERR Protocol error: expected '$', got '");
                text.put_u8(*byte);
                text.put_u8(b'\'');
                Frame::Error(text.freeze())
            }
            other => Frame::Error(Bytes::from(format!("ERR {other}"))),
        }
    }
}
