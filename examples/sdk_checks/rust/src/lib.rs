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

/// `ferrite_get_i64`: the value as INCR reads it, nil if absent or not an integer.
#[ferrite_function]
pub fn get_int(key: &str) -> Option<i64> {
    ferrite_get_i64(key)
}

/// Recurses `depth` levels deep with a 256-byte frame per level and returns
/// `depth + 1` (checks the examples' 128 KiB stack: a few hundred levels
/// fit; far more overflows, which traps instead of corrupting memory).
#[ferrite_function]
pub fn recurse(depth: i64) -> i64 {
    let depth = u32::try_from(depth).unwrap_or(0);
    deep(depth, &[0u8; 256]) as i64
}

/// One level of [`recurse`]: a 256-byte frame, passed to the level below and
/// read again after it returns, so every level's frame is on the stack at
/// the deepest point.
#[inline(never)]
fn deep(n: u32, parent: &[u8; 256]) -> u64 {
    let mut frame = *parent;
    frame[(n % 256) as usize] ^= 1;
    if n == 0 {
        return 1;
    }
    let below = deep(n - 1, &frame);
    // SAFETY: `frame` is a live local; the volatile read keeps it until here.
    let _ = unsafe { core::ptr::read_volatile(&frame[(n % 256) as usize]) };
    below + 1
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
