//! Sliding-window rate limiter over a sorted set of request timestamps.
//!
//! `WASM.CALL sliding_window_rate_limit KEYS rate:sw:1 ARGS 5 1000` → `1` if
//! fewer than 5 requests were admitted in the last 1000 ms, else `0`.
//! Capabilities: `read write time random`.

use ferrite_wasm_sdk::*;

/// 1 if admitted, 0 if `limit` requests were already admitted in the last `window_ms`.
#[ferrite_function]
pub fn sliding_window_rate_limit(key: &str, limit: i64, window_ms: i64) -> Result<i64, String> {
    if window_ms <= 0 {
        return Err("ERR window_ms must be positive".to_string());
    }
    let now = ferrite_time_millis();
    let window_start = now - window_ms;

    // Forget requests that left the window.
    ferrite_zremrangebyscore(key, "-inf", window_start.to_string());

    if ferrite_zcard(key) >= limit {
        return Ok(0);
    }

    // Record this request; the random id keeps members unique within a millisecond.
    ferrite_zadd(key, now, format!("{}:{}", now, ferrite_random_id()));
    ferrite_expire(key, window_ms / 1000 + 1);
    Ok(1)
}
