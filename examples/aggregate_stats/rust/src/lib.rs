//! Aggregation over the keys matching a pattern.
//!
//! ```text
//! MSET stats:a 10 stats:b 20 stats:c 30.5 stats:d hello
//! WASM.CALL aggregate_stats ARGS stats:*
//! → {"avg":20.166666666666668,"count":3,"sum":60.5}
//! ```
//! Values that are not numbers (and non-string keys) are skipped.
//! Capabilities: `read`.

use ferrite_wasm_sdk::*;

/// `{"sum": …, "count": …, "avg": …}` over the numeric values of the keys matching `pattern`.
#[ferrite_function]
pub fn aggregate_stats(pattern: &str) -> String {
    let mut sum = 0.0;
    let mut count: u64 = 0;
    for key in ferrite_keys(pattern) {
        // Only string values: GET of another type would raise WRONGTYPE.
        if let Reply::Status(kind) = call(&["TYPE", key.as_str()]) {
            if kind != "string" {
                continue;
            }
        }
        if let Some(value) = ferrite_get(&key) {
            if let Ok(num) = value.trim().parse::<f64>() {
                if num.is_finite() {
                    sum += num;
                    count += 1;
                }
            }
        }
    }
    let avg = if count > 0 { sum / count as f64 } else { 0.0 };
    serde_json::json!({ "sum": sum, "count": count, "avg": avg }).to_string()
}
