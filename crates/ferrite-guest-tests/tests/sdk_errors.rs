//! The Rust SDK's decoding, replies and error paths (examples/sdk_checks):
//! `Err` becomes an error reply, a panic becomes an error reply that undoes
//! the call's writes, and the runtime keeps serving afterwards.

use ferrite_guest_tests::Harness;
use ferrite_wasm::WasmValue;

fn harness(file: &str) -> Harness {
    let h = Harness::new();
    h.load("sdk_checks", file, &["read", "write", "delete"]);
    h
}

fn errors_and_panics(file: &str) {
    let h = harness(file);
    // Result<T, E>: Ok → the value, Err → an error reply.
    assert_eq!(h.call_int("sdk_checks.safe_divide", &[], &["84", "2"]), 42);
    assert_eq!(
        h.call_err("sdk_checks.safe_divide", &[], &["1", "0"]),
        "ERR division by zero"
    );
    // An error text with its own upper-case code word is kept as is.
    assert_eq!(h.call_int("sdk_checks.parse_age", &[], &["41"]), 41);
    assert_eq!(
        h.call_err("sdk_checks.parse_age", &[], &["-3"]),
        "INVALID age '-3' must be an integer in 0..=150"
    );
    // Decoding errors name the parameter and the function.
    assert_eq!(
        h.call_err("sdk_checks.safe_divide", &[], &["x", "1"]),
        "ERR argument 'a' of 'safe_divide': value is not an integer or out of range"
    );
    assert_eq!(
        h.call_err("sdk_checks.safe_divide", &[], &["1"]),
        "ERR function 'safe_divide' expects 2 arguments, got 1"
    );

    // A panic is an error reply…
    let err = h.call_err("sdk_checks.crash", &[], &["boom"]);
    assert!(err.starts_with("ERR "), "{err}");
    assert!(
        err.contains("panic in guest") || err.contains("trap"),
        "{err}"
    );
    // …that undoes the writes made before it…
    let err = h.call_err("sdk_checks.write_then_crash", &["crash:key"], &[]);
    assert!(err.starts_with("ERR "), "{err}");
    assert_eq!(
        h.get("crash:key"),
        None,
        "the write before the panic was undone"
    );
    // …and the runtime keeps serving, the same function included.
    for _ in 0..3 {
        assert_eq!(h.call_int("sdk_checks.safe_divide", &[], &["9", "3"]), 3);
        assert!(h
            .call_err("sdk_checks.crash", &[], &["again"])
            .starts_with("ERR "));
    }
    assert_eq!(h.call_int("sdk_checks.safe_divide", &[], &["10", "5"]), 2);
}

#[test]
fn rust_sdk_errors_and_panics() {
    errors_and_panics("sdk_checks-rust");
}

#[test]
fn rust_sdk_errors_and_panics_wasi() {
    errors_and_panics("sdk_checks-rust-wasi");
}

#[test]
fn rust_sdk_decodes_every_parameter_type() {
    let h = harness("sdk_checks-rust");
    assert_eq!(
        h.call_text(
            "sdk_checks.echo_types",
            &[],
            &["-5", "9000000000", "2.5", "true", "é", "txt", "abc", ""]
        ),
        "-5|9000000000|2.5|true|é|txt|3|0"
    );
    assert_eq!(
        h.call_text(
            "sdk_checks.echo_types",
            &[],
            &["0", "0", "-inf", "0", "", "", "", "xy"]
        ),
        "0|0|-inf|false|||0|2"
    );
    for (i, bad) in [(0, "2147483648"), (2, "nan"), (3, "yes")] {
        let mut args = ["1", "1", "1", "1", "a", "b", "c", "d"];
        args[i] = bad;
        let err = h.call_err("sdk_checks.echo_types", &[], &args);
        assert!(err.starts_with("ERR argument '"), "{bad}: {err}");
    }
    // Invalid UTF-8 for a &str parameter.
    let err = h
        .executor
        .call(
            "sdk_checks",
            "maybe_get",
            vec![WasmValue::Bytes(vec![0xff, 0xfe])],
            Some(ferrite_wasm::CallContext {
                num_keys: Some(1),
                ..Default::default()
            }),
        )
        .map_err(|e| e.reply_text())
        .expect_err("invalid UTF-8 is refused");
    assert_eq!(
        err,
        "ERR argument 'key' of 'maybe_get': value is not valid UTF-8"
    );
}

#[test]
fn rust_sdk_replies() {
    let h = harness("sdk_checks-rust");
    // Option: None → nil, Some → the value.
    assert_eq!(
        h.call("sdk_checks.maybe_get", &["absent"], &[]),
        Ok(WasmValue::Nil)
    );
    h.cmd(&["SET", "present", "v"]);
    assert_eq!(h.call_text("sdk_checks.maybe_get", &["present"], &[]), "v");
    // f64 → bulk string, like Redis doubles in RESP2.
    assert_eq!(h.call_text("sdk_checks.half", &[], &["5"]), "2.5");
    // () → nil, after the write with a TTL.
    assert_eq!(
        h.call("sdk_checks.set_with_ttl", &["ttl:key"], &["val", "100"]),
        Ok(WasmValue::Nil)
    );
    assert_eq!(h.get("ttl:key").as_deref(), Some("val"));
    match h.cmd(&["TTL", "ttl:key"]) {
        ferrite_protocol::Frame::Integer(t) => assert!((1..=100).contains(&t), "ttl {t}"),
        other => panic!("TTL: {other:?}"),
    }
    // A Reply array through ferrite_return_resp, from the hash/counter wrappers.
    assert_eq!(
        h.call_lazy("sdk_checks.wrappers", &["w"]),
        Ok(WasmValue::Array(vec![
            WasmValue::I64(1),
            WasmValue::Bytes(b"v".to_vec()),
            WasmValue::I64(5),
            WasmValue::I64(1),
            WasmValue::I64(-1),
            WasmValue::I64(1),
        ]))
    );
}

#[test]
fn rust_sdk_call_returns_replies_and_errors_as_data() {
    let h = harness("sdk_checks-rust");
    assert_eq!(
        h.call_lazy("sdk_checks.run_command", &["SET", "c:k", "1"]),
        Ok(WasmValue::Status("OK".into()))
    );
    assert_eq!(
        h.call_lazy("sdk_checks.run_command", &["INCRBY", "c:k", "41"]),
        Ok(WasmValue::I64(42))
    );
    assert_eq!(
        h.call_lazy("sdk_checks.run_command", &["GET", "c:missing"]),
        Ok(WasmValue::Nil)
    );
    // A command error is data for the guest (like redis.pcall); returned as is it is the reply.
    let err = h.call_err_lazy("sdk_checks.run_command", &["INCR", "c:k", "extra"]);
    assert!(err.starts_with("ERR wrong number of arguments"), "{err}");
    assert_eq!(h.get("c:k").as_deref(), Some("42"));
}

#[test]
fn rust_sdk_reads_long_arguments_from_the_heap() {
    // Arguments share a 256-byte buffer on the guest's stack; longer ones
    // (and those after it is full) are read into the heap instead.
    let h = harness("sdk_checks-rust");
    let long_text = "é".repeat(200); // 400 bytes
    let long_bytes = "b".repeat(1000);
    let mid = "m".repeat(200);
    assert_eq!(
        h.call_text(
            "sdk_checks.echo_types",
            &[],
            &["7", "8", "0.5", "1", &long_text, &mid, &long_bytes, &mid]
        ),
        format!("7|8|0.5|true|{long_text}|{mid}|1000|200")
    );
}

#[test]
fn rust_sdk_get_i64_reads_integers_as_incr_does() {
    let h = harness("sdk_checks-rust");
    assert_eq!(
        h.call("sdk_checks.get_int", &["n"], &[]),
        Ok(WasmValue::Nil)
    );
    for (value, expected) in [
        ("42", WasmValue::I64(42)),
        ("-9223372036854775808", WasmValue::I64(i64::MIN)),
        ("0", WasmValue::I64(0)),
        ("007", WasmValue::Nil),
        ("+5", WasmValue::Nil),
        ("abc", WasmValue::Nil),
        ("9223372036854775808", WasmValue::Nil),
        ("123456789012345678901234567890", WasmValue::Nil),
    ] {
        h.cmd(&["SET", "n", value]);
        assert_eq!(
            h.call("sdk_checks.get_int", &["n"], &[]),
            Ok(expected),
            "{value}"
        );
    }
}

fn stack_depth(file: &str) {
    // The examples link with a 128 KiB stack (examples/.cargo/config.toml):
    // 300 levels of 256-byte frames (~80 KiB) fit…
    let h = harness(file);
    assert_eq!(h.call_int("sdk_checks.recurse", &[], &["300"]), 301);
    // …far deeper overflows the stack, which traps (the stack is first in
    // linear memory, so it runs off its start) rather than corrupting data…
    let err = h.call_err("sdk_checks.recurse", &[], &["100000"]);
    assert!(err.starts_with("ERR "), "{err}");
    assert!(err.contains("out of bounds"), "{err}");
    // …and the next call starts from a fresh instance.
    assert_eq!(h.call_int("sdk_checks.recurse", &[], &["10"]), 11);
}

#[test]
fn rust_sdk_stack_holds_deep_recursion_and_overflow_traps() {
    stack_depth("sdk_checks-rust");
}

#[test]
fn rust_sdk_stack_holds_deep_recursion_and_overflow_traps_wasi() {
    stack_depth("sdk_checks-rust-wasi");
}
