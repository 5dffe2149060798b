//! Setting the reply of the call.

use crate::{sys, wasm_len, Reply};

/// Sets a bulk-string reply.
pub fn ferrite_return(value: impl AsRef<[u8]>) {
    let value = value.as_ref();
    // SAFETY: `value` is a live slice of `value.len()` bytes that the host only reads.
    unsafe { sys::ferrite_return(value.as_ptr(), wasm_len(value)) }
}

/// Sets an integer reply.
pub fn ferrite_return_int(value: i64) {
    // SAFETY: no pointers are passed.
    unsafe { sys::ferrite_return_int(value) }
}

/// Sets a nil reply.
pub fn ferrite_return_nil() {
    // SAFETY: no pointers are passed.
    unsafe { sys::ferrite_return_nil() }
}

/// Sets a reply given as one RESP2/RESP3 frame (see [`Reply::to_resp`]).
/// A malformed frame makes the host raise `ERR invalid RESP reply from function`.
pub fn ferrite_return_resp(frame: impl AsRef<[u8]>) {
    let frame = frame.as_ref();
    // SAFETY: `frame` is a live slice that the host only reads.
    unsafe { sys::ferrite_return_resp(frame.as_ptr(), wasm_len(frame)) }
}

/// Sets an error reply. The text is used as is when it starts with an
/// upper-case code word (`INVALID bad input`), else the host prefixes `ERR `.
pub fn ferrite_error(message: impl AsRef<str>) {
    let message = message.as_ref().as_bytes();
    // SAFETY: `message` is a live slice that the host only reads.
    unsafe { sys::ferrite_error(message.as_ptr(), wasm_len(message)) }
}

/// A return type of a `#[ferrite_function]`: sets the reply.
pub trait IntoReply {
    /// Sets the reply of the call from `self`.
    fn into_reply(self);
}

impl IntoReply for () {
    fn into_reply(self) {
        ferrite_return_nil()
    }
}

macro_rules! int_reply {
    ($($t:ty),*) => {$(
        impl IntoReply for $t {
            fn into_reply(self) {
                match i64::try_from(self) {
                    Ok(v) => ferrite_return_int(v),
                    Err(_) => ferrite_error("ERR integer reply out of range"),
                }
            }
        }
    )*};
}
int_reply!(i8, i16, i32, i64, u8, u16, u32, u64, isize, usize);

impl IntoReply for bool {
    fn into_reply(self) {
        ferrite_return_int(i64::from(self))
    }
}

impl IntoReply for f64 {
    /// Redis RESP2 style: a double is a bulk string (`1.5`, `inf`, `-inf`).
    fn into_reply(self) {
        let text = if self.is_infinite() {
            if self > 0.0 { "inf".to_string() } else { "-inf".to_string() }
        } else {
            self.to_string()
        };
        ferrite_return(text)
    }
}

impl IntoReply for f32 {
    fn into_reply(self) {
        f64::from(self).into_reply()
    }
}

impl IntoReply for String {
    fn into_reply(self) {
        ferrite_return(self)
    }
}

impl IntoReply for &str {
    fn into_reply(self) {
        ferrite_return(self)
    }
}

impl IntoReply for Vec<u8> {
    fn into_reply(self) {
        ferrite_return(self)
    }
}

impl IntoReply for &[u8] {
    fn into_reply(self) {
        ferrite_return(self)
    }
}

impl IntoReply for Reply {
    fn into_reply(self) {
        ferrite_return_resp(self.to_resp())
    }
}

impl<T: IntoReply> IntoReply for Option<T> {
    fn into_reply(self) {
        match self {
            Some(v) => v.into_reply(),
            None => ferrite_return_nil(),
        }
    }
}

impl<T: IntoReply, E: core::fmt::Display> IntoReply for Result<T, E> {
    fn into_reply(self) {
        match self {
            Ok(v) => v.into_reply(),
            Err(e) => ferrite_error(e.to_string()),
        }
    }
}
