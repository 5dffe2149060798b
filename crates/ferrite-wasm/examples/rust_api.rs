//! The seed's "Rust API" and "Error Handling" examples, runnable:
//! `cargo run -p ferrite-wasm --example rust_api`.
//!
//! The rate limiter is `examples/rate_limit.wat` (compiled with the `wat`
//! crate here; a real deployment loads a `.wasm` file built by an SDK).

use ferrite_wasm::{FunctionPermissions, ResourceLimits, WasmError, WasmExecutor, WasmValue};

pub fn main() -> Result<(), Box<dyn std::error::Error>> {
    // Create executor
    let executor = WasmExecutor::builder()
        .limits(ResourceLimits::default())
        .pool_size(2, 16)
        .build()?;

    // Load function
    let wasm_bytes = wat::parse_str(include_str!("rate_limit.wat"))?;
    let permissions =
        FunctionPermissions::read_write().with_allowed_keys(vec!["rate:*".to_string()]);

    executor.load("rate_limit", wasm_bytes, Some(permissions))?;

    // Call function: 100 requests per 60 s window; the 101st is limited.
    let call = || {
        executor.call(
            "rate_limit",
            "rate_limit", // entry point
            vec![
                WasmValue::Bytes(b"rate:user:123".to_vec()),
                WasmValue::I64(100),
                WasmValue::I64(60),
            ],
            None, // context
        )
    };
    let mut allowed = 0;
    for _ in 0..101 {
        match call()? {
            WasmValue::I64(1) => allowed += 1,
            WasmValue::I64(0) => println!("Rate limited"),
            other => println!("Unexpected result: {other:?}"),
        }
    }
    println!("Allowed {allowed} of 101");
    assert_eq!(allowed, 100);

    // Error handling: a key outside the permitted patterns.
    let result = executor.call(
        "rate_limit",
        "rate_limit",
        vec![
            WasmValue::Bytes(b"admin:1".to_vec()),
            WasmValue::I64(1),
            WasmValue::I64(1),
        ],
        None,
    );
    match result {
        Ok(result) => println!("Result: {result:?}"),
        Err(WasmError::FunctionNotFound(name)) => eprintln!("Function {name} not found"),
        Err(WasmError::PermissionDenied(msg)) => eprintln!("Permission denied: {msg}"),
        Err(WasmError::FuelExhausted) => eprintln!("Function exceeded instruction limit"),
        Err(WasmError::Timeout(ms)) => eprintln!("Function timed out after {ms}ms"),
        Err(WasmError::MemoryLimitExceeded { limit }) => {
            eprintln!("Function exceeded {}MB memory limit", limit / 1024 / 1024)
        }
        Err(e) => eprintln!("Error: {e}"),
    }
    let stats = executor.stats("rate_limit")?;
    println!(
        "invocations {} ok {} failed {} avg {:?} p99 {:?}",
        stats.invocations, stats.successful, stats.failed, stats.avg_duration, stats.p99_duration
    );
    assert_eq!((stats.successful, stats.failed), (101, 1));
    Ok(())
}
