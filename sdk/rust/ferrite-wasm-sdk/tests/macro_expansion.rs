//! Host-side checks of what `#[ferrite_function]` generates: the functions
//! stay callable as plain Rust, and each contributes its `ferrite.abi` block.
//! (The exports themselves run inside wasm; crates/ferrite-guest-tests runs them.)

use ferrite_wasm_sdk::*;

#[ferrite_function]
pub fn rate_limit(key: &str, limit: i64, window: i64) -> i64 {
    if key.is_empty() || limit <= 0 || window <= 0 {
        0
    } else {
        1
    }
}

/// Doc comments and `mut` parameters are fine.
#[ferrite_function(name = "echo_bytes")]
pub fn echo(mut data: Vec<u8>, _: bool) -> Option<Vec<u8>> {
    data.reverse();
    Some(data)
}

#[ferrite_function]
fn checked(a: i32, b: f64, c: String, d: &[u8]) -> Result<String, String> {
    if a < 0 {
        return Err(format!("INVALID negative {}", a));
    }
    Ok(format!("{} {} {} {}", a, b, c, d.len()))
}

#[ferrite_function]
pub fn nothing() {}

#[ferrite_function]
pub fn reply_value(n: i64) -> std::result::Result<Reply, std::string::String> {
    Ok(Reply::Integer(n))
}

#[test]
fn functions_remain_plain_rust() {
    assert_eq!(rate_limit("k", 10, 60), 1);
    assert_eq!(echo(vec![1, 2], true), Some(vec![2, 1]));
    assert_eq!(checked(-1, 0.0, String::new(), b""), Err("INVALID negative -1".to_string()));
    assert_eq!(checked(2, 1.5, "x".into(), b"ab"), Ok("2 1.5 x 2".to_string()));
    nothing();
    assert_eq!(reply_value(3), Ok(Reply::Integer(3)));
}

#[test]
fn abi_section_blocks() {
    assert_eq!(
        &__FERRITE_ABI_rate_limit[..],
        &b"ferrite-abi 1\nfn rate_limit sdk key:str limit:i64 window:i64 -> i64\n"[..]
    );
    assert_eq!(&__FERRITE_ABI_echo[..], &b"ferrite-abi 1\nfn echo_bytes sdk data:bytes arg1:bool -> bytes\n"[..]);
    assert_eq!(
        &__FERRITE_ABI_checked[..],
        &b"ferrite-abi 1\nfn checked sdk a:i32 b:f64 c:str d:bytes -> str\n"[..]
    );
    assert_eq!(&__FERRITE_ABI_nothing[..], &b"ferrite-abi 1\nfn nothing sdk -> nil\n"[..]);
    assert_eq!(&__FERRITE_ABI_reply_value[..], &b"ferrite-abi 1\nfn reply_value sdk n:i64\n"[..]);
}
