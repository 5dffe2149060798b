//! The Rust examples of the seed use cases, with their JSON documents checked
//! field by field.

use ferrite_guest_tests::{json, today_utc, Harness};
use ferrite_wasm::WasmValue;
use serde_json::json as doc;

#[test]
fn transform_user_adds_full_name_and_age() {
    let h = Harness::new();
    h.load("transform_user", "transform_user-rust", &["read", "time"]);
    // Born on January 1st thirty years ago: 30 today, whatever today is.
    let (year, _, _) = today_utc();
    let birth = format!("{}-01-01", year - 30);
    let user = doc!({"id": 7, "first_name": "Ada", "last_name": "Lovelace", "birth_date": birth});
    h.cmd(&["SET", "user:7", &user.to_string()]);

    let out = json(&h.call_text("transform_user", &["user:7"], &[]));
    assert_eq!(
        out,
        doc!({"id": 7, "first_name": "Ada", "last_name": "Lovelace", "birth_date": birth,
              "full_name": "Ada Lovelace", "age": 30})
    );
    // Born December 31st: not 30 yet, unless today is December 31st.
    let (_, month, day) = today_utc();
    let birth = format!("{}-12-31", year - 30);
    h.cmd(&[
        "SET",
        "user:8",
        &doc!({"first_name": "Al", "last_name": "Turing", "birth_date": birth}).to_string(),
    ]);
    let expected_age = if (month, day) == (12, 31) { 30 } else { 29 };
    assert_eq!(
        json(&h.call_text("transform_user", &["user:8"], &[]))["age"],
        doc!(expected_age)
    );

    assert_eq!(
        h.call_err("transform_user", &["user:none"], &[]),
        "ERR no user at key 'user:none'"
    );
    h.cmd(&["SET", "user:bad", "{not json"]);
    assert!(h
        .call_err("transform_user", &["user:bad"], &[])
        .starts_with("ERR invalid user JSON"));
}

#[test]
fn validate_email_uses_the_regex() {
    let h = Harness::new();
    h.load("validate_email", "validate_email-rust", &[]);
    for (email, valid) in [
        ("someone@example.com", 1),
        ("first.last+tag@sub.example.org", 1),
        ("no-at-sign.example.com", 0),
        ("a@b.c", 0),
        ("a b@example.com", 0),
        ("", 0),
    ] {
        assert_eq!(
            h.call_int("validate_email", &[], &[email]),
            valid,
            "{email:?}"
        );
    }
}

#[test]
fn aggregate_stats_over_a_pattern() {
    let h = Harness::new();
    h.load("aggregate_stats", "aggregate_stats-rust", &["read"]);
    h.cmd(&[
        "MSET", "stats:a", "10", "stats:b", "20", "stats:c", "30.5", "stats:d", "hello", "other:x",
        "1000",
    ]);
    h.cmd(&["HSET", "stats:h", "f", "5"]);

    let out = json(&h.call_text_lazy("aggregate_stats", &["stats:*"]));
    assert_eq!(out["count"], doc!(3));
    assert_eq!(out["sum"].as_f64(), Some(60.5));
    let avg = out["avg"].as_f64().expect("avg is a number");
    assert!((avg - 60.5 / 3.0).abs() < 1e-9, "avg {avg}");
    assert_eq!(out.as_object().map(|o| o.len()), Some(3), "{out}");

    let empty = json(&h.call_text_lazy("aggregate_stats", &["nothing:*"]));
    assert_eq!(empty, doc!({"sum": 0.0, "count": 0, "avg": 0.0}));
}

#[test]
fn process_order_discounts_and_updates_the_order() {
    let h = Harness::new();
    h.load("process_order", "process_order-rust", &["read", "write"]);
    h.cmd(&["SET", "user:1", r#"{"name":"Pam","membership":"premium"}"#]);
    h.cmd(&["SET", "user:2", r#"{"name":"Bob","membership":"basic"}"#]);
    h.cmd(&[
        "SET",
        "order:premium",
        r#"{"id":"A","user_id":"1","total":80.0}"#,
    ]);
    h.cmd(&[
        "SET",
        "order:big",
        r#"{"id":"B","user_id":2,"total":120.0}"#,
    ]);
    h.cmd(&[
        "SET",
        "order:small",
        r#"{"id":"C","user_id":"2","total":50.0}"#,
    ]);

    for (order, discount, final_total) in [
        ("order:premium", 0.15, 68.0),
        ("order:big", 0.10, 108.0),
        ("order:small", 0.0, 50.0),
    ] {
        let reply = json(&h.call_text_lazy("process_order", &[order]));
        assert_eq!(
            reply["discount"].as_f64(),
            Some(discount),
            "{order}: {reply}"
        );
        assert_eq!(
            reply["final_total"].as_f64(),
            Some(final_total),
            "{order}: {reply}"
        );
        assert_eq!(reply["status"], doc!("processed"), "{order}");
        // The stored order is the returned document.
        let stored = json(&h.get(order).expect("order still exists"));
        assert_eq!(stored, reply, "{order}: stored order updated");
    }
    assert_eq!(
        json(&h.get("order:big").unwrap())["id"],
        doc!("B"),
        "other fields are kept"
    );

    // A missing user fails the call and leaves the order untouched.
    h.cmd(&[
        "SET",
        "order:orphan",
        r#"{"id":"D","user_id":"99","total":10.0}"#,
    ]);
    assert_eq!(
        h.call_err_lazy("process_order", &["order:orphan"]),
        "ERR no such key 'user:99'"
    );
    assert_eq!(
        h.get("order:orphan").as_deref(),
        Some(r#"{"id":"D","user_id":"99","total":10.0}"#)
    );
}

/// The reference seed's `validate` (raw convention), in Rust and in Go.
fn validate(file: &str, capabilities: &[&str]) {
    let h = Harness::new();
    h.load("validate", file, capabilities);
    for (input, valid) in [
        (r#"{"email": "test@example.com"}"#, true),
        (r#"{"email": "test-example.com"}"#, false),
        (r#"{"name": "no email"}"#, false),
    ] {
        let out = json(&h.call_text_lazy("validate", &[input]));
        assert_eq!(out, doc!({"valid": valid}), "{file}: {input}");
    }
    let err = h.call_err_lazy("validate", &["{not json"]);
    assert!(err.starts_with("ERR invalid JSON input"), "{file}: {err}");
}

#[test]
fn validate_rust_raw_convention() {
    validate("validate-rust", &[]);
    // The seed's exact reply text.
    let h = Harness::new();
    h.load("validate", "validate-rust", &[]);
    assert_eq!(
        h.call_lazy("validate", &[r#"{"email": "test@example.com"}"#]),
        Ok(WasmValue::Bytes(br#"{"valid": true}"#.to_vec()))
    );
}

#[test]
fn validate_rust_wasi_raw_convention() {
    validate("validate-rust-wasi", &[]);
}

#[test]
fn validate_go_raw_convention() {
    // The Go runtime reads the clock while it starts (see sdk/go/README.md).
    validate("validate-go", &["time"]);
}
