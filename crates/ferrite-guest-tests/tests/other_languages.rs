//! C, Go and AssemblyScript examples beyond rate_limit.

use ferrite_guest_tests::{json, Harness};
use ferrite_wasm::WasmValue;

/// zlib's CRC-32, to check the C guest.
fn crc32(data: &[u8]) -> u32 {
    let mut crc = 0xFFFF_FFFFu32;
    for &b in data {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = (crc >> 1) ^ (0xEDB8_8320 & 0u32.wrapping_sub(crc & 1));
        }
    }
    !crc
}

fn checksum(file: &str) {
    let h = Harness::new();
    h.load("checksum", file, &["read"]);
    h.cmd(&["SET", "doc:1", "hello world"]);
    assert_eq!(
        h.call_int("checksum", &["doc:1"], &[]),
        222_957_957,
        "{file}: crc32(hello world)"
    );
    // A value larger than any fixed buffer goes through ferrite_alloc.
    let big: String = (0..100_000u32)
        .map(|i| char::from(b'a' + (i % 26) as u8))
        .collect();
    h.cmd(&["SET", "doc:big", &big]);
    assert_eq!(
        h.call_int("checksum", &["doc:big"], &[]),
        i64::from(crc32(big.as_bytes())),
        "{file}: big value"
    );
    assert_eq!(
        h.call("checksum", &["doc:none"], &[]),
        Ok(WasmValue::Nil),
        "{file}: missing key → nil"
    );
    // The typed export in the same module, arguments parsed by the host.
    assert_eq!(
        h.call_int("checksum.add", &[], &["2", "40"]),
        42,
        "{file}: typed add"
    );
}

#[test]
fn checksum_c() {
    checksum("checksum-c");
}

#[test]
fn checksum_c_wasi() {
    checksum("checksum-c-wasi");
}

#[test]
fn transform_assemblyscript() {
    let h = Harness::new();
    h.load("transform", "transform-as", &["read"]);
    h.cmd(&["SET", "user:csv:1", "Ada, Lovelace ,ADA@Example.COM"]);
    h.cmd(&["SET", "user:csv:2", "Grace,\"Hopper\",grace@navy.mil"]);
    h.cmd(&["SET", "user:csv:bad", "just one field"]);

    let out = json(&h.call_text("transform", &["user:csv:1"], &[]));
    assert_eq!(
        out,
        serde_json::json!({"full_name": "Ada Lovelace", "email": "ada@example.com"})
    );
    // Quotes are escaped in the JSON output.
    let out = json(&h.call_text("transform", &["user:csv:2"], &[]));
    assert_eq!(out["full_name"], serde_json::json!("Grace \"Hopper\""));
    assert_eq!(
        h.call("transform", &["user:csv:none"], &[]),
        Ok(WasmValue::Nil)
    );
    assert_eq!(
        h.call_err("transform", &["user:csv:bad"], &[]),
        "INVALID record at 'user:csv:bad' is not first,last,email"
    );

    // The SDK-convention export: one reply per key, nil for missing ones.
    match h.call(
        "transform.transform_all",
        &["user:csv:1", "user:csv:none"],
        &[],
    ) {
        Ok(WasmValue::Array(items)) => {
            assert_eq!(items.len(), 2);
            match &items[0] {
                WasmValue::Bytes(b) => assert_eq!(
                    json(std::str::from_utf8(b).unwrap()),
                    serde_json::json!({"full_name": "Ada Lovelace", "email": "ada@example.com"})
                ),
                other => panic!("{other:?}"),
            }
            assert_eq!(items[1], WasmValue::Nil);
        }
        other => panic!("transform_all: {other:?}"),
    }
}
