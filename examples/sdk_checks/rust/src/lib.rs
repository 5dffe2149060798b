//! Exercises the Rust SDK's decoding, replies and error paths; the guest
//! tests (crates/ferrite-guest-tests) call every export. Several functions in
//! one module also check that their `ferrite.abi` blocks concatenate.

use ferrite_wasm_sdk::*;

/// `Err` → an error reply (`ERR division by zero`).
#[ferrite_function]
pub fn safe_divide(a: i64, b: i64) -> Result<i64, String> {
    if b == 0 {
        return Err("ERR division by zero".to_string());
    }
    Ok(a / b)
}

/// An error text starting with an upper-case code word is sent as is.
#[ferrite_function]
pub fn parse_age(text: &str) -> Result<i64, String> {
    match text.parse::<i64>() {
        Ok(age) if (0..=150).contains(&age) => Ok(age),
        _ => Err(format!("INVALID age '{}' must be an integer in 0..=150", text)),
    }
}

/// Panics: the call ends with an error reply, the server keeps serving.
#[ferrite_function]
pub fn crash(message: &str) -> i64 {
    panic!("crash requested: {}", message);
}

/// Writes `key`, then panics: the write must be undone.
#[ferrite_function]
pub fn write_then_crash(key: &str) -> i64 {
    ferrite_set(key, "written");
    panic!("after write");
}

/// `None` → nil.
#[ferrite_function]
pub fn maybe_get(key: &str) -> Option<String> {
    ferrite_get(key)
}

/// Every parameter type, echoed back as text.
#[ferrite_function]
#[allow(clippy::too_many_arguments)] // reason: one parameter per supported type
pub fn echo_types(a: i32, b: i64, c: f64, d: bool, e: &str, f: String, g: &[u8], h: Vec<u8>) -> String {
    format!("{}|{}|{}|{}|{}|{}|{}|{}", a, b, c, d, e, f, g.len(), h.len())
}

/// A float reply (bulk string, as Redis sends doubles in RESP2).
#[ferrite_function]
pub fn half(x: f64) -> f64 {
    x / 2.0
}

/// `()` → nil, after a write with a TTL.
#[ferrite_function]
pub fn set_with_ttl(key: &str, value: &[u8], ttl_secs: i64) {
    ferrite_set_ex(key, value, ttl_secs);
}

/// Hash and counter wrappers; returns `[hset_new, hget, incrby, exists, ttl, del]`.
#[ferrite_function]
pub fn wrappers(key: &str) -> Reply {
    let hkey = format!("{}:h", key);
    let ckey = format!("{}:c", key);
    let new_field = ferrite_hset(&hkey, "f", "v");
    let value = ferrite_hget(&hkey, "f");
    let counter = ferrite_incrby(&ckey, 5);
    let exists = ferrite_exists(&ckey);
    let ttl = ferrite_ttl(&ckey);
    let deleted = ferrite_del(&ckey);
    Reply::Array(vec![
        Reply::Integer(i64::from(new_field)),
        value.map_or(Reply::Nil, |v| Reply::Bulk(v.into_bytes())),
        Reply::Integer(counter),
        Reply::Integer(i64::from(exists)),
        Reply::Integer(ttl),
        Reply::Integer(i64::from(deleted)),
    ])
}

/// Runs its arguments as a command with `call` and returns the reply as is
/// (errors included, as data): a hand-written SDK-convention export that
/// takes any number of arguments.
#[no_mangle]
pub extern "C" fn run_command() {
    let argv = args();
    if argv.is_empty() {
        ferrite_error("ERR run_command needs a command");
        return;
    }
    call(&argv).into_reply();
}
