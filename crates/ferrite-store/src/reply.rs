//! Reply constructors: the one place that builds [`Frame`]s for handlers.

use bytes::Bytes;

use crate::error::StoreError;
use crate::Frame;

/// `+OK`
pub fn ok() -> Frame {
    Frame::Simple(Bytes::from_static(b"OK"))
}

/// A simple string such as `+QUEUED` or `+string` (TYPE).
pub fn simple(text: &str) -> Frame {
    Frame::Simple(Bytes::copy_from_slice(text.as_bytes()))
}

/// An integer reply.
pub fn int(value: i64) -> Frame {
    Frame::Integer(value)
}

/// An integer reply from a count.
pub fn count(value: usize) -> Frame {
    Frame::Integer(i64::try_from(value).unwrap_or(i64::MAX))
}

/// A bulk string reply (the bytes are shared, not copied).
pub fn bulk(value: Bytes) -> Frame {
    Frame::Bulk(value)
}

/// A bulk string reply copied from a slice.
pub fn bulk_from(value: &[u8]) -> Frame {
    Frame::Bulk(Bytes::copy_from_slice(value))
}

/// The null bulk string (`$-1` in RESP2, `_` in RESP3).
pub fn null() -> Frame {
    Frame::Null
}

/// The null array (`*-1` in RESP2, `_` in RESP3).
pub fn null_array() -> Frame {
    Frame::NullArray
}

/// An array reply.
pub fn array(items: Vec<Frame>) -> Frame {
    Frame::Array(items)
}

/// A map reply (flat array in RESP2).
pub fn map(pairs: Vec<(Frame, Frame)>) -> Frame {
    Frame::Map(pairs)
}

/// A set reply (array in RESP2).
pub fn set(items: Vec<Frame>) -> Frame {
    Frame::Set(items)
}

/// A double reply (bulk string in RESP2).
pub fn double(value: f64) -> Frame {
    Frame::Double(value)
}

/// An error reply.
pub fn error(err: &StoreError) -> Frame {
    Frame::Error(Bytes::from(err.to_string()))
}

/// An array of bulk strings.
pub fn bulk_array<I: IntoIterator<Item = Bytes>>(items: I) -> Frame {
    Frame::Array(items.into_iter().map(Frame::Bulk).collect())
}

/// A set of bulk strings.
pub fn bulk_set<I: IntoIterator<Item = Bytes>>(items: I) -> Frame {
    Frame::Set(items.into_iter().map(Frame::Bulk).collect())
}
