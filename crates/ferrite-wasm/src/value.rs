//! [`WasmValue`]: arguments and results of calls, and their RESP mapping.

use bytes::Bytes;
use ferrite_protocol::Frame;

/// Most nested array levels converted between [`WasmValue`] and RESP.
pub const VALUE_DEPTH_MAX: usize = 64;

/// An argument to, or the result of, a function call.
///
/// Results map to RESP as: `I32`/`I64` → integer, `F32`/`F64` → double,
/// `Bytes`/`String` → bulk string, `Status` → simple string, `Nil` → null,
/// `Array` → array, `Error` → error reply.
#[derive(Debug, Clone, PartialEq)]
pub enum WasmValue {
    /// A 32-bit integer.
    I32(i32),
    /// A 64-bit integer.
    I64(i64),
    /// A 32-bit float.
    F32(f32),
    /// A 64-bit float.
    F64(f64),
    /// Bytes.
    Bytes(Vec<u8>),
    /// UTF-8 text.
    String(String),
    /// A status (simple string) reply such as `OK`.
    Status(String),
    /// Nil / null.
    Nil,
    /// An array.
    Array(Vec<WasmValue>),
    /// An error reply (full text, with its code word).
    Error(String),
}

impl WasmValue {
    /// The bytes an argument passes to the guest: integers and floats in
    /// decimal, as a Redis client would send them.
    pub fn to_arg_bytes(&self) -> Bytes {
        match self {
            WasmValue::I32(v) => Bytes::from(v.to_string()),
            WasmValue::I64(v) => Bytes::from(v.to_string()),
            WasmValue::F32(v) => Bytes::from(v.to_string()),
            WasmValue::F64(v) => Bytes::from(v.to_string()),
            WasmValue::Bytes(b) => Bytes::copy_from_slice(b),
            WasmValue::String(s) | WasmValue::Status(s) | WasmValue::Error(s) => {
                Bytes::copy_from_slice(s.as_bytes())
            }
            WasmValue::Nil | WasmValue::Array(_) => Bytes::new(),
        }
    }

    /// The RESP reply for this value.
    pub fn to_frame(&self) -> Frame {
        self.to_frame_depth(0)
    }

    fn to_frame_depth(&self, depth: usize) -> Frame {
        match self {
            WasmValue::I32(v) => Frame::Integer(i64::from(*v)),
            WasmValue::I64(v) => Frame::Integer(*v),
            WasmValue::F32(v) => Frame::Double(f64::from(*v)),
            WasmValue::F64(v) => Frame::Double(*v),
            WasmValue::Bytes(b) => Frame::Bulk(Bytes::copy_from_slice(b)),
            WasmValue::String(s) => Frame::Bulk(Bytes::copy_from_slice(s.as_bytes())),
            WasmValue::Status(s) => Frame::Simple(Bytes::copy_from_slice(s.as_bytes())),
            WasmValue::Nil => Frame::Null,
            WasmValue::Error(e) => Frame::Error(Bytes::copy_from_slice(e.as_bytes())),
            WasmValue::Array(items) if depth < VALUE_DEPTH_MAX => {
                Frame::Array(items.iter().map(|v| v.to_frame_depth(depth + 1)).collect())
            }
            WasmValue::Array(_) => Frame::Error(Bytes::from_static(b"ERR reply nested too deeply")),
        }
    }

    /// Converts a RESP reply into a value (maps and sets become flat arrays,
    /// booleans integers, big numbers and verbatim strings bytes).
    pub fn from_frame(frame: &Frame) -> WasmValue {
        Self::from_frame_depth(frame, 0)
    }

    fn from_frame_depth(frame: &Frame, depth: usize) -> WasmValue {
        match frame {
            Frame::Simple(s) => WasmValue::Status(String::from_utf8_lossy(s).into_owned()),
            Frame::Error(e) => WasmValue::Error(String::from_utf8_lossy(e).into_owned()),
            Frame::Integer(v) => WasmValue::I64(*v),
            Frame::Bulk(b) | Frame::BigNumber(b) | Frame::Verbatim { text: b, .. } => {
                WasmValue::Bytes(b.to_vec())
            }
            Frame::Null | Frame::NullArray => WasmValue::Nil,
            Frame::Double(d) => WasmValue::F64(*d),
            Frame::Boolean(b) => WasmValue::I64(i64::from(*b)),
            Frame::Array(list) | Frame::Set(list) | Frame::Push(list) => {
                Self::from_items(list.iter(), depth)
            }
            Frame::Map(pairs) => Self::from_items(pairs.iter().flat_map(|(k, v)| [k, v]), depth),
        }
    }

    fn from_items<'a>(items: impl Iterator<Item = &'a Frame>, depth: usize) -> WasmValue {
        if depth >= VALUE_DEPTH_MAX {
            return WasmValue::Error("ERR reply nested too deeply".into());
        }
        WasmValue::Array(
            items
                .map(|f| Self::from_frame_depth(f, depth + 1))
                .collect(),
        )
    }
}

impl From<&str> for WasmValue {
    fn from(s: &str) -> Self {
        WasmValue::String(s.to_string())
    }
}

impl From<i64> for WasmValue {
    fn from(v: i64) -> Self {
        WasmValue::I64(v)
    }
}

impl From<Vec<u8>> for WasmValue {
    fn from(v: Vec<u8>) -> Self {
        WasmValue::Bytes(v)
    }
}
