//! Business logic: applies a discount to an order and stores the result.
//!
//! ```text
//! SET order:1 '{"id":1,"user_id":"42","total":120.0}'
//! SET user:42 '{"membership":"basic"}'
//! WASM.CALL process_order ARGS order:1
//! → {"discount":0.1,"final_total":108.0,"id":1,"status":"processed","total":120.0,"user_id":"42"}
//! ```
//! Premium members get 15 %, other orders over 100 get 10 %. The stored
//! order is replaced by the returned document. Capabilities: `read write`.

use ferrite_wasm_sdk::*;
use serde_json::Value;

/// Computes the discount of the order at `order_key`, updates it, returns it.
#[ferrite_function]
pub fn process_order(order_key: &str) -> Result<String, String> {
    let mut order = load_json(order_key)?;
    let fields = order.as_object_mut().ok_or("ERR order is not a JSON object")?;
    let total = fields
        .get("total")
        .and_then(Value::as_f64)
        .ok_or("ERR order has no numeric total")?;
    let user_id = match fields.get("user_id") {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Number(n)) => n.to_string(),
        _ => return Err("ERR order has no user_id".to_string()),
    };
    let user = load_json(&format!("user:{}", user_id))?;
    let premium = user.get("membership").and_then(Value::as_str) == Some("premium");

    let discount = if premium {
        0.15
    } else if total > 100.0 {
        0.10
    } else {
        0.0
    };
    let final_total = (total * (1.0 - discount) * 100.0).round() / 100.0;

    fields.insert("discount".into(), Value::from(discount));
    fields.insert("final_total".into(), Value::from(final_total));
    fields.insert("status".into(), Value::from("processed"));
    let updated = order.to_string();
    ferrite_set(order_key, &updated);
    Ok(updated)
}

fn load_json(key: &str) -> Result<Value, String> {
    let text = ferrite_get(key).ok_or_else(|| format!("ERR no such key '{}'", key))?;
    serde_json::from_str(&text).map_err(|e| format!("ERR invalid JSON at '{}': {}", key, e))
}
