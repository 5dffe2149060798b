//! The rate limiters of every language admit exactly `limit` calls per
//! window and admit again once the window is over.

use std::thread::sleep;
use std::time::Duration;

use ferrite_guest_tests::Harness;

/// Seed semantics: GET count; ≥ limit → 0; else INCR (+ EXPIRE on the first hit) → 1.
fn fixed_window(file: &str) {
    fixed_window_with(file, &["read", "write"]);
}

fn fixed_window_with(file: &str, capabilities: &[&str]) {
    let h = Harness::new();
    h.load("rate_limit", file, capabilities);
    let key = "rate:user:1";
    let (limit, window_secs) = ("3", "1");
    for i in 1..=3 {
        assert_eq!(
            h.call_int("rate_limit", &[key], &[limit, window_secs]),
            1,
            "{file}: call {i} is admitted"
        );
    }
    for i in 4..=5 {
        assert_eq!(
            h.call_int("rate_limit", &[key], &[limit, window_secs]),
            0,
            "{file}: call {i} is limited"
        );
    }
    assert_eq!(
        h.get(key).as_deref(),
        Some("3"),
        "{file}: the counter holds the admitted calls"
    );
    // Another key has its own window.
    assert_eq!(
        h.call_int("rate_limit", &["rate:user:2"], &[limit, window_secs]),
        1,
        "{file}: other key"
    );

    // The first hit set a 1-second TTL: after it, the window starts over.
    sleep(Duration::from_millis(1_300));
    assert_eq!(h.get(key), None, "{file}: the window's key expired");
    assert_eq!(
        h.call_int("rate_limit", &[key], &[limit, window_secs]),
        1,
        "{file}: admitted in a new window"
    );
    assert_eq!(
        h.get(key).as_deref(),
        Some("1"),
        "{file}: a new window counts from 1"
    );
}

#[test]
fn rate_limit_rust() {
    fixed_window("rate_limit-rust");
}

#[test]
fn rate_limit_rust_wasi() {
    fixed_window("rate_limit-rust-wasi");
}

#[test]
fn rate_limit_c() {
    fixed_window("rate_limit-c");
}

#[test]
fn rate_limit_c_wasi() {
    fixed_window("rate_limit-c-wasi");
}

#[test]
fn rate_limit_go_typed() {
    // The Go runtime reads the clock while it starts (see sdk/go/README.md).
    fixed_window_with("rate_limit-go", &["read", "write", "time"]);
}

#[test]
fn rate_limit_assemblyscript_typed() {
    fixed_window("rate_limit-as");
}

#[test]
fn rate_limit_rejects_bad_arguments() {
    let h = Harness::new();
    h.load("rate_limit", "rate_limit-rust", &["read", "write"]);
    let err = h.call_err("rate_limit", &["k"], &["ten", "60"]);
    assert!(err.starts_with("ERR ") && err.contains("limit"), "{err}");
    let err = h.call_err("rate_limit", &["k"], &["10"]);
    assert!(
        err.starts_with("ERR ") && err.contains("expects 3 arguments, got 2"),
        "{err}"
    );
    assert_eq!(h.get("k"), None, "nothing was written");
}

#[test]
fn sliding_window_rate_limit() {
    let h = Harness::new();
    h.load(
        "sliding_window_rate_limit",
        "sliding_window_rate_limit-rust",
        &["read", "write", "time", "random"],
    );
    let key = "rate:sw:1";
    let (limit, window_ms) = ("3", "400");
    for i in 1..=3 {
        assert_eq!(
            h.call_int("sliding_window_rate_limit", &[key], &[limit, window_ms]),
            1,
            "call {i}"
        );
    }
    assert_eq!(
        h.call_int("sliding_window_rate_limit", &[key], &[limit, window_ms]),
        0,
        "call 4 is limited"
    );
    assert_eq!(
        h.cmd(&["ZCARD", key]),
        ferrite_protocol::Frame::Integer(3),
        "one member per admitted call"
    );

    // Once the admitted requests leave the window, calls are admitted again.
    sleep(Duration::from_millis(500));
    assert_eq!(
        h.call_int("sliding_window_rate_limit", &[key], &[limit, window_ms]),
        1,
        "admitted after the window"
    );
    assert_eq!(
        h.cmd(&["ZCARD", key]),
        ferrite_protocol::Frame::Integer(1),
        "old requests were removed"
    );

    let err = h.call_err("sliding_window_rate_limit", &[key], &[limit, "0"]);
    assert_eq!(err, "ERR window_ms must be positive");
}
