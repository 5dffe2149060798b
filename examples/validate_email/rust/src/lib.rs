//! Validation with a regular expression.
//!
//! `WASM.CALL validate_email ARGS someone@example.com` → `1`; `ARGS nope` → `0`.
//! Capabilities: none.

use ferrite_wasm_sdk::*;
use regex::Regex;

/// 1 if `email` looks like an e-mail address, else 0.
#[ferrite_function]
pub fn validate_email(email: &str) -> i64 {
    // Every call runs on a fresh instance, so there is nothing to cache across calls.
    let re = Regex::new(r"^[a-zA-Z0-9._%+-]+@[a-zA-Z0-9.-]+\.[a-zA-Z]{2,}$").expect("valid regex");
    i64::from(re.is_match(email))
}
