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
    let count: i64 = ferrite_get(key).and_then(|v| v.parse().ok()).unwrap_or(0);
    if count >= limit {
        return 0;
    }
    // The first hit of a window starts the window's clock.
    if ferrite_incr(key) == 1 {
        ferrite_expire(key, window);
    }
    1
}
