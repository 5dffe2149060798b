//! The raw host functions of guest ABI v1 (import module `ferrite`), exactly
//! as `docs/abi.md` §4 declares them.
//!
//! Prefer the safe wrappers at the crate root. These are `unsafe` because the
//! host reads or writes guest memory at the given `(ptr, len)` ranges; an
//! out-of-bounds range traps the call (it never corrupts the host).
//!
//! Where the ABI accepts two signatures under one name, the SDK imports
//! exactly one of them: `ferrite_get` returning `i64` (result buffer),
//! `ferrite_set` with the `ttl_secs` parameter (`0` = no expiry) and
//! `ferrite_log` returning nothing. Off wasm32 (host `cargo check`/`cargo
//! test`) every function here panics: there is no Ferrite host to call.

macro_rules! host_functions {
    ($( $(#[$doc:meta])* pub fn $name:ident($($arg:ident: $ty:ty),* $(,)?) $(-> $ret:ty)?; )*) => {
        #[cfg(target_arch = "wasm32")]
        #[link(wasm_import_module = "ferrite")]
        extern "C" {
            $( $(#[$doc])* pub fn $name($($arg: $ty),*) $(-> $ret)?; )*
        }

        $(
            $(#[$doc])*
            ///
            /// # Safety
            /// Not a wasm32 target: always panics (there is no Ferrite host).
            #[cfg(not(target_arch = "wasm32"))]
            #[allow(unused_variables)] // reason: off wasm32 there is no host to call; the arguments are unused because the function only reports that, with a panic naming it
            pub unsafe fn $name($($arg: $ty),*) $(-> $ret)? {
                panic!(concat!(
                    "ferrite host function `", stringify!($name),
                    "` is only available inside a wasm32 module run by Ferrite"
                ))
            }
        )*
    };
}

host_functions! {
    /// Number of arguments (KEYS then ARGS).
    pub fn ferrite_argc() -> i32;
    /// How many of the arguments are KEYS.
    pub fn ferrite_numkeys() -> i32;
    /// Puts argument `index` in the result buffer; returns its length, `-1` if out of range.
    pub fn ferrite_arg(index: i32) -> i64;
    /// Copies `min(dst_len, result_len)` bytes of the current result to `dst`; returns the count.
    pub fn ferrite_result_read(dst: *mut u8, dst_len: i32) -> i32;
    /// Copies argument `index` to `dst` if it fits in `dst_len` bytes, else puts it in the
    /// result buffer (as `ferrite_arg`); returns its length, `-1` if out of range.
    pub fn ferrite_arg_read(index: i32, dst: *mut u8, dst_len: i32) -> i64;
    /// Sets a bulk-string reply.
    pub fn ferrite_return(ptr: *const u8, len: i32);
    /// Sets an integer reply.
    pub fn ferrite_return_int(value: i64);
    /// Sets a nil reply.
    pub fn ferrite_return_nil();
    /// Sets a reply given as one RESP2/RESP3 frame.
    pub fn ferrite_return_resp(ptr: *const u8, len: i32);
    /// Sets an error reply (`ERR ` is prefixed unless the text starts with an upper-case code word).
    pub fn ferrite_error(ptr: *const u8, len: i32);
    /// GET: length of the value in the result buffer, `-1` nil.
    pub fn ferrite_get(key: *const u8, key_len: i32) -> i64;
    /// SET with optional TTL (`ttl_secs` ≤ 0: no expiry); returns `0`.
    pub fn ferrite_set(key: *const u8, key_len: i32, val: *const u8, val_len: i32, ttl_secs: i64) -> i32;
    /// DEL: `1` deleted, `0` absent.
    pub fn ferrite_del(key: *const u8, key_len: i32) -> i32;
    /// EXISTS: `1` / `0`.
    pub fn ferrite_exists(key: *const u8, key_len: i32) -> i32;
    /// INCR: the new value.
    pub fn ferrite_incr(key: *const u8, key_len: i32) -> i64;
    /// INCRBY: the new value.
    pub fn ferrite_incrby(key: *const u8, key_len: i32, delta: i64) -> i64;
    /// HGET: length of the value in the result buffer, `-1` nil.
    pub fn ferrite_hget(key: *const u8, key_len: i32, field: *const u8, field_len: i32) -> i64;
    /// HSET of one field: `1` new field, `0` updated.
    pub fn ferrite_hset(key: *const u8, key_len: i32, field: *const u8, field_len: i32, val: *const u8, val_len: i32) -> i32;
    /// EXPIRE: `1` set, `0` no such key.
    pub fn ferrite_expire(key: *const u8, key_len: i32, secs: i64) -> i32;
    /// TTL: seconds, `-1` no TTL, `-2` no key.
    pub fn ferrite_ttl(key: *const u8, key_len: i32) -> i64;
    /// ZADD of one member: members added.
    pub fn ferrite_zadd(key: *const u8, key_len: i32, score: f64, member: *const u8, member_len: i32) -> i32;
    /// ZCARD.
    pub fn ferrite_zcard(key: *const u8, key_len: i32) -> i64;
    /// ZREMRANGEBYSCORE with ZRANGEBYSCORE bound syntax: members removed.
    pub fn ferrite_zremrangebyscore(key: *const u8, key_len: i32, min: *const u8, min_len: i32, max: *const u8, max_len: i32) -> i64;
    /// KEYS pattern: length of a list-encoded result in the result buffer.
    pub fn ferrite_keys(pattern: *const u8, pattern_len: i32) -> i64;
    /// Runs a command given as a list-encoded argv; the RESP2 reply goes to the result buffer.
    pub fn ferrite_call(argv: *const u8, argv_len: i32) -> i64;
    /// Writes a log line (levels 0 error … 4 trace).
    pub fn ferrite_log(level: i32, msg: *const u8, msg_len: i32);
    /// Unix time in milliseconds.
    pub fn ferrite_time_millis() -> i64;
    /// Unix time in milliseconds (alias of `ferrite_time_millis`).
    pub fn ferrite_now() -> i64;
    /// Uniform random number in [0, 1).
    pub fn ferrite_random_f64() -> f64;
    /// Fills `buf` with random bytes; returns `len`.
    pub fn ferrite_random_bytes(buf: *mut u8, len: i32) -> i32;
    /// HTTP request (list-encoded); returns the length of the list-encoded response.
    pub fn ferrite_http(req: *const u8, req_len: i32) -> i64;
}
