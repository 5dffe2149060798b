//! `Frame`: the RESP3-shaped value every handler replies with.

use bytes::Bytes;

/// A RESP value, always in its RESP3 shape.
///
/// Handlers build RESP3 frames; [`crate::encode`] downgrades them for RESP2
/// connections exactly as Redis 7.0 does. Byte payloads are [`Bytes`], so
/// `&'static` texts cost nothing (`Frame::simple("OK")` does not allocate).
#[derive(Debug, Clone, PartialEq)]
pub enum Frame {
    /// `+text` (a status reply). Must not contain `\r` or `\n`; the encoder
    /// replaces them with spaces.
    Simple(Bytes),
    /// `-CODE text`. Must not contain `\r` or `\n`; the encoder replaces
    /// them with spaces.
    Error(Bytes),
    /// `:n`.
    Integer(i64),
    /// `$len` + bytes.
    Bulk(Bytes),
    /// The null bulk: `$-1` in RESP2, `_` in RESP3 (`addReplyNull`).
    Null,
    /// The null array: `*-1` in RESP2, `_` in RESP3 (`addReplyNullArray`).
    NullArray,
    /// `*n` + elements.
    Array(Vec<Frame>),
    /// `%n` + key/value pairs; a flat `*2n` array in RESP2.
    Map(Vec<(Frame, Frame)>),
    /// `~n` + elements; an array in RESP2.
    Set(Vec<Frame>),
    /// `,d` formatted like C's `%.17g`; a bulk string in RESP2.
    Double(f64),
    /// `#t`/`#f`; `:1`/`:0` in RESP2.
    Boolean(bool),
    /// `(digits`; a bulk string in RESP2.
    BigNumber(Bytes),
    /// `=len\r\nfmt:text`; a bulk string of `text` in RESP2.
    Verbatim {
        /// Three-byte format, `txt` or `mkd`.
        format: [u8; 3],
        /// The text without the `fmt:` prefix.
        text: Bytes,
    },
    /// `>n` + elements (out-of-band data); an array in RESP2.
    Push(Vec<Frame>),
}

impl Frame {
    /// `+OK`.
    pub fn ok() -> Frame {
        Frame::Simple(Bytes::from_static(b"OK"))
    }

    /// `+QUEUED`.
    pub fn queued() -> Frame {
        Frame::Simple(Bytes::from_static(b"QUEUED"))
    }

    /// `+PONG`.
    pub fn pong() -> Frame {
        Frame::Simple(Bytes::from_static(b"PONG"))
    }

    /// A status reply.
    pub fn simple(text: impl Into<Bytes>) -> Frame {
        Frame::Simple(text.into())
    }

    /// An error reply; `text` includes its code word, as in
    /// `Frame::error("ERR syntax error")`.
    ///
    /// ```
    /// use ferrite_protocol::{encode_to_vec, Frame, Protocol};
    /// let frame = Frame::error("ERR syntax error");
    /// assert_eq!(encode_to_vec(&frame, Protocol::Resp2), b"-ERR syntax error\r\n");
    /// ```
    pub fn error(text: impl Into<Bytes>) -> Frame {
        Frame::Error(text.into())
    }

    /// A bulk string.
    pub fn bulk(data: impl Into<Bytes>) -> Frame {
        Frame::Bulk(data.into())
    }

    /// A bulk string copied from `data`.
    pub fn bulk_copy(data: &[u8]) -> Frame {
        Frame::Bulk(Bytes::copy_from_slice(data))
    }

    /// An array.
    pub fn array(items: Vec<Frame>) -> Frame {
        Frame::Array(items)
    }

    /// An array of bulk strings.
    pub fn bulk_array<I>(items: I) -> Frame
    where
        I: IntoIterator,
        I::Item: Into<Bytes>,
    {
        Frame::Array(
            items
                .into_iter()
                .map(|item| Frame::Bulk(item.into()))
                .collect(),
        )
    }

    /// A verbatim `txt` string (INFO, CLIENT INFO…).
    pub fn verbatim_txt(text: impl Into<Bytes>) -> Frame {
        Frame::Verbatim {
            format: *b"txt",
            text: text.into(),
        }
    }

    /// Whether this is an error reply.
    pub fn is_error(&self) -> bool {
        matches!(self, Frame::Error(_))
    }

    /// The payload of a `Bulk`, `Simple` or `Verbatim` frame.
    pub fn as_bytes(&self) -> Option<&Bytes> {
        match self {
            Frame::Bulk(bytes) | Frame::Simple(bytes) => Some(bytes),
            Frame::Verbatim { text, .. } => Some(text),
            _ => None,
        }
    }

    /// The value of an `Integer` frame.
    pub fn as_integer(&self) -> Option<i64> {
        match self {
            Frame::Integer(value) => Some(*value),
            _ => None,
        }
    }
}

impl From<i64> for Frame {
    fn from(value: i64) -> Frame {
        Frame::Integer(value)
    }
}

impl From<usize> for Frame {
    /// Counts (lengths, cardinalities); saturates at `i64::MAX`.
    fn from(value: usize) -> Frame {
        Frame::Integer(i64::try_from(value).unwrap_or(i64::MAX))
    }
}

impl From<bool> for Frame {
    fn from(value: bool) -> Frame {
        Frame::Boolean(value)
    }
}

impl From<f64> for Frame {
    fn from(value: f64) -> Frame {
        Frame::Double(value)
    }
}

impl From<Bytes> for Frame {
    fn from(value: Bytes) -> Frame {
        Frame::Bulk(value)
    }
}

impl From<Vec<Frame>> for Frame {
    fn from(items: Vec<Frame>) -> Frame {
        Frame::Array(items)
    }
}

impl From<Option<Bytes>> for Frame {
    /// `None` is the null bulk.
    fn from(value: Option<Bytes>) -> Frame {
        value.map_or(Frame::Null, Frame::Bulk)
    }
}
