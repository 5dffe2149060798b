//! The reference seed's `validate`, in the ABI's *raw* convention
//! `fn(input_ptr, input_len) -> i32`: the first argument's bytes are the input.
//!
//! `WASM.CALL validate '{"email": "test@example.com"}'` → `{"valid": true}`.
//! Capabilities: none.

use ferrite_wasm_sdk::{ferrite_error, ferrite_return};

/// Status 0 with the reply set by `ferrite_return`; 1 (with an error reply) on bad input.
#[no_mangle]
pub extern "C" fn validate(input_ptr: *const u8, input_len: usize) -> i32 {
    let input: &[u8] = if input_len == 0 {
        &[]
    } else {
        // SAFETY: the host wrote `input_len` bytes at `input_ptr` (allocated
        // with this module's `ferrite_alloc`) and they stay untouched for the call.
        unsafe { std::slice::from_raw_parts(input_ptr, input_len) }
    };
    let data: serde_json::Value = match serde_json::from_slice(input) {
        Ok(v) => v,
        Err(e) => {
            ferrite_error(format!("ERR invalid JSON input: {}", e));
            return 1;
        }
    };

    let email = data["email"].as_str().unwrap_or("");
    let valid = email.contains('@') && email.contains('.');

    ferrite_return(format!(r#"{{"valid": {}}}"#, valid));
    0
}
