//! Fixed-window rate limiter (the seed's example).
//!
//! `WASM.CALL rate_limit KEYS rate:user:1 ARGS 10 60` → `1` while fewer than
//! 10 calls were admitted in the current 60-second window, then `0` until the
//! window's key expires. Capabilities: `read write`.

use ferrite_wasm_sdk::*;

/// 1 if the call is admitted, 0 if `key` already reached `limit` in its window.
#[ferrite_function]
pub fn rate_limit(key: &str, limit: i64, window: i64) -> i64 {
    // A missing key counts as 0; a non-numeric value too (INCR then raises).
    // `ferrite_get_i64` reads the value without a heap allocation.
    let count = ferrite_get_i64(key).unwrap_or(0);
    if count >= limit {
        return 0;
    }
    // The first hit of a window starts the window's clock.
    if ferrite_incr(key) == 1 {
        ferrite_expire(key, window);
    }
    1
}
