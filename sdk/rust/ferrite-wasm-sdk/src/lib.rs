//! Write [Ferrite](https://example.invalid/ferrite) WebAssembly functions in Rust.
//!
//! This crate speaks guest ABI v1 (`docs/abi.md` in the Ferrite repository):
//! it imports host functions from the wasm module `ferrite`, reads arguments
//! and variable-size results through the host's result buffer, and sets the
//! reply with `ferrite_return*` / `ferrite_error`.
//!
//! ```no_run
//! use ferrite_wasm_sdk::*;
//!
//! /// Allows `limit` calls per `window` seconds for `key`: 1 allowed, 0 limited.
//! #[ferrite_function]
//! pub fn rate_limit(key: &str, limit: i64, window: i64) -> i64 {
//!     let count = ferrite_get_i64(key).unwrap_or(0);
//!     if count >= limit {
//!         return 0;
//!     }
//!     if ferrite_incr(key) == 1 {
//!         ferrite_expire(key, window);
//!     }
//!     1
//! }
//! ```
//!
//! Build with `cargo build --release --target wasm32-unknown-unknown` (crate
//! type `cdylib`), load with `WASM.LOAD rate_limit <bytes> CAPABILITIES read write`
//! and call with `WASM.CALL rate_limit KEYS rate:1 ARGS 10 60`.
//!
//! # What `#[ferrite_function]` generates
//!
//! For `pub fn name(p1: T1, …) -> R` it keeps the function as written and adds
//! a wasm export `name` of signature `() -> ()` (the ABI's *SDK* convention)
//! that
//! 1. checks that the call got exactly as many arguments (KEYS then ARGS) as
//!    the function has parameters, else replies
//!    `ERR function 'name' expects N arguments, got M`;
//! 2. reads each argument with `ferrite_arg_read` (into a 256-byte stack
//!    buffer; a longer one through the result buffer) and
//!    decodes it with [`FromArg`]: `&str`, `String` (UTF-8), `&[u8]`,
//!    `Vec<u8>`, `i32`, `i64` (decimal), `f64`, `bool` (`1`/`0`/`true`/`false`).
//!    A decode error replies `ERR argument 'p' of 'name' …` and the function
//!    is not run;
//! 3. calls the function and turns its result into the reply with
//!    [`IntoReply`]: `()` → nil, integers and `bool` → integer, `f64` → bulk
//!    string (like Redis doubles in RESP2), `String`/`&str`/`Vec<u8>` → bulk
//!    string, `Option<T>` → `T` or nil, `Result<T, E: Display>` → `T` or an
//!    error reply with `E`'s text, [`Reply`] → that RESP value;
//! 4. describes the function in the module's `ferrite.abi` custom section, for
//!    example `fn rate_limit sdk key:str limit:i64 window:i64 -> i64`.
//!
//! Unsupported signatures are compile errors that name the supported types:
//!
//! ```compile_fail
//! use ferrite_wasm_sdk::*;
//! #[ferrite_function]
//! pub fn f(x: u16) -> i64 { x as i64 } // parameters may be &str, String, &[u8], Vec<u8>, i32, i64, f64 or bool
//! ```
//!
//! ```compile_fail
//! use ferrite_wasm_sdk::*;
//! #[ferrite_function]
//! pub fn f(x: i64) -> std::collections::HashMap<String, i64> { Default::default() }
//! ```
//!
//! ```compile_fail
//! use ferrite_wasm_sdk::*;
//! #[ferrite_function]
//! pub fn f<T>(x: i64) -> i64 { x } // no generics
//! ```
//!
//! ```compile_fail
//! use ferrite_wasm_sdk::*;
//! #[ferrite_function(name = "a.b")] // `.` separates module and export in WASM.CALL
//! pub fn f(x: i64) -> i64 { x }
//! ```
//!
//! # Errors and panics
//!
//! Host calls *raise*: a host call that fails (permission denied, `WRONGTYPE`,
//! not an integer…) ends the call with that error and undoes its writes, so
//! the wrappers here return plain values. A panic in the guest replies
//! `ERR panic in guest: <message>` — the exported entry installs a panic hook
//! that records that reply before wasm traps (`unreachable`); wasm has no
//! unwinding, so the panic ends the call and its writes are undone like any
//! error. The server keeps serving.
//!
//! # The `ferrite.abi` section
//!
//! Each `#[ferrite_function]` contributes one self-contained block
//! `ferrite-abi 1\nfn … \n` to the custom section. The linker concatenates
//! the blocks in an unspecified order, so the header line `ferrite-abi 1`
//! appears once per function; the section is still a valid ABI v1 section
//! whose first line is the header.

#![warn(missing_docs)]

mod args;
mod http;
mod keyspace;
mod list;
mod reply;
mod resp;
pub mod sys;
mod util;

#[doc(hidden)]
pub mod __private;

pub use ferrite_wasm_sdk_macros::ferrite_function;

pub use args::{arg, arg_string, args, argc, numkeys, FromArg};
pub use http::{ferrite_http, HttpResponse};
pub use keyspace::{
    call, ferrite_call, ferrite_del, ferrite_exists, ferrite_expire, ferrite_get,
    ferrite_get_bytes, ferrite_get_i64, ferrite_hget, ferrite_hget_bytes, ferrite_hset, ferrite_incr,
    ferrite_incrby, ferrite_keys, ferrite_set, ferrite_set_ex, ferrite_ttl, ferrite_zadd,
    ferrite_zcard, ferrite_zremrangebyscore, Score,
};
pub use list::{decode_list, encode_list};
pub use reply::{
    ferrite_error, ferrite_return, ferrite_return_int, ferrite_return_nil, ferrite_return_resp,
    IntoReply,
};
pub use resp::{parse_reply, Reply};
pub use util::{
    ferrite_log, ferrite_now, ferrite_random_bytes, ferrite_random_f64, ferrite_random_id,
    ferrite_time_millis, LogLevel,
};

/// Limits the SDK enforces on data it decodes itself.
pub mod limits {
    /// Largest result the host may hand over (the ABI's bulk limit, 512 MB).
    pub const RESULT_BYTES_MAX: u64 = 512 * 1024 * 1024;
    /// Most items accepted in one list-encoded result or RESP array.
    pub const LIST_ITEMS_MAX: u32 = 16 * 1024 * 1024;
    /// Deepest nesting of RESP arrays accepted by [`crate::parse_reply`].
    pub const RESP_DEPTH_MAX: usize = 64;
}

/// Everything that can go wrong inside the SDK itself (host errors are
/// raised by the host and never reach guest code).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Error {
    /// The call got a different number of arguments than the function takes.
    ArgumentCount {
        /// Export name.
        function: &'static str,
        /// Parameters of the function.
        expected: usize,
        /// Arguments of the call (KEYS + ARGS).
        got: usize,
    },
    /// An argument could not be decoded into its parameter type.
    InvalidArgument {
        /// Export name.
        function: &'static str,
        /// Parameter name.
        param: &'static str,
        /// Why, e.g. `value is not an integer or out of range`.
        reason: &'static str,
    },
    /// A list-encoded buffer was truncated, had trailing bytes or too many items.
    MalformedList,
    /// A RESP reply could not be parsed.
    MalformedReply,
    /// An `ferrite_http` response did not have the documented shape.
    MalformedHttpResponse,
    /// The host returned a length the ABI does not allow.
    BadResultLength(i64),
}

impl core::fmt::Display for Error {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Error::ArgumentCount { function, expected, got } => write!(
                f,
                "ERR function '{}' expects {} arguments, got {}",
                function, expected, got
            ),
            Error::InvalidArgument { function, param, reason } => {
                write!(f, "ERR argument '{}' of '{}': {}", param, function, reason)
            }
            Error::MalformedList => f.write_str("ERR malformed list encoding from host"),
            Error::MalformedReply => f.write_str("ERR malformed RESP reply"),
            Error::MalformedHttpResponse => f.write_str("ERR malformed http response from host"),
            Error::BadResultLength(n) => write!(f, "ERR host returned bad result length {}", n),
        }
    }
}

impl std::error::Error for Error {}

/// Copies the current result buffer (of `len` bytes, as a host call returned)
/// into a new vector. `len` < 0 means nil.
pub fn read_result(len: i64) -> Option<Vec<u8>> {
    if len < 0 {
        return None;
    }
    assert!(
        len as u64 <= limits::RESULT_BYTES_MAX,
        "host returned a result of {} bytes, over the ABI limit",
        len
    );
    let mut buf = vec![0u8; len as usize];
    // SAFETY: `buf` is a live, writable allocation of exactly `buf.len()`
    // bytes; the host writes at most `dst_len` bytes into it.
    let copied = unsafe { sys::ferrite_result_read(buf.as_mut_ptr(), wasm_len(&buf)) };
    assert!(copied >= 0 && copied as usize <= buf.len(), "host copied {} bytes", copied);
    buf.truncate(copied as usize);
    Some(buf)
}

/// The length of a guest slice as the ABI's `i32` (an unsigned 32-bit value
/// carried in a wasm `i32`; on wasm32 a slice never exceeds it).
#[inline]
pub(crate) fn wasm_len(bytes: &[u8]) -> i32 {
    debug_assert!(bytes.len() as u64 <= u32::MAX as u64);
    bytes.len() as u32 as i32
}
