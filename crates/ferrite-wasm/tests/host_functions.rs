//! Every host function of `docs/abi.md` §4, through WAT guests.

mod common;

use bytes::Bytes;
use common::*;
use ferrite_protocol::Frame;
use ferrite_wasm::{CallContext, FunctionPermissions, WasmError, WasmValue};

/// One export per host function; arguments come through `ferrite_arg`.
const SINK: &str = r#"
(func (export "get") (call $ret_result (call $get (call $buf (i32.const 0)) (call $a (i32.const 0)))))
(func (export "set")
  (drop (call $set (call $buf (i32.const 0)) (call $a (i32.const 0)) (call $buf (i32.const 1)) (call $a (i32.const 1))))
  (call $return_int (i64.const 0)))
(func (export "del") (call $return_int (i64.extend_i32_s (call $del (call $buf (i32.const 0)) (call $a (i32.const 0))))))
(func (export "exists") (call $return_int (i64.extend_i32_s (call $exists (call $buf (i32.const 0)) (call $a (i32.const 0))))))
(func (export "incr") (call $return_int (call $incr (call $buf (i32.const 0)) (call $a (i32.const 0)))))
(func (export "incrby5") (call $return_int (call $incrby (call $buf (i32.const 0)) (call $a (i32.const 0)) (i64.const 5))))
(func (export "hget") (call $ret_result
  (call $hget (call $buf (i32.const 0)) (call $a (i32.const 0)) (call $buf (i32.const 1)) (call $a (i32.const 1)))))
(func (export "hset") (call $return_int (i64.extend_i32_s
  (call $hset (call $buf (i32.const 0)) (call $a (i32.const 0)) (call $buf (i32.const 1)) (call $a (i32.const 1))
              (call $buf (i32.const 2)) (call $a (i32.const 2))))))
(func (export "expire100") (call $return_int (i64.extend_i32_s
  (call $expire (call $buf (i32.const 0)) (call $a (i32.const 0)) (i64.const 100)))))
(func (export "ttl") (call $return_int (call $ttl (call $buf (i32.const 0)) (call $a (i32.const 0)))))
(func (export "zadd15") (call $return_int (i64.extend_i32_s
  (call $zadd (call $buf (i32.const 0)) (call $a (i32.const 0)) (f64.const 1.5) (call $buf (i32.const 1)) (call $a (i32.const 1))))))
(func (export "zcard") (call $return_int (call $zcard (call $buf (i32.const 0)) (call $a (i32.const 0)))))
(func (export "zremall") (call $return_int
  (call $zrem (call $buf (i32.const 0)) (call $a (i32.const 0)) (i32.const 0) (i32.const 4) (i32.const 8) (i32.const 4))))
(func (export "keys") (call $ret_result (call $keys (call $buf (i32.const 0)) (call $a (i32.const 0)))))
(func (export "call") (call $ret_result (call $call (call $buf (i32.const 0)) (call $a (i32.const 0)))))
(func (export "log") (call $log (i32.const 2) (call $buf (i32.const 0)) (call $a (i32.const 0))) (call $return_int (i64.const 0)))
(func (export "time") (result i64) (call $time))
(func (export "now") (result i64) (call $now))
(func (export "random_f64") (result f64) (call $random_f64))
(func (export "random_bytes") (result i32)
  (drop (call $random_bytes (i32.const 16384) (i32.const 64)))
  (call $return (i32.const 16384) (i32.const 64))
  (i32.const 0))
(func (export "argc") (call $return_int (i64.extend_i32_s (call $argc))))
(func (export "numkeys") (call $return_int (i64.extend_i32_s (call $numkeys))))
(func (export "arg_missing") (call $return_int (call $arg (i32.const 7))))
(func (export "echo") (call $return (call $buf (i32.const 0)) (call $a (i32.const 0))))
(func (export "resp") (call $return_resp (call $buf (i32.const 0)) (call $a (i32.const 0))))
(func (export "fail") (call $error (call $buf (i32.const 0)) (call $a (i32.const 0))))
(func (export "nothing"))
(func (export "nil") (call $return_nil))
(func $arg_read_cap (param $cap i32)
  (local $n i64)
  (i32.store (i32.const 16384) (i32.const 0x2e2e2e2e))
  (local.set $n (call $arg_read (i32.const 0) (i32.const 16384) (local.get $cap)))
  (if (i64.lt_s (local.get $n) (i64.const 0)) (then (call $return_int (local.get $n)) (return)))
  (if (i64.le_s (local.get $n) (i64.extend_i32_u (local.get $cap)))
    ;; copied: reply with the bytes at dst
    (then (call $return (i32.const 16384) (i32.wrap_i64 (local.get $n))))
    ;; too long: dst untouched ("...." still there), the argument is in the result buffer
    (else
      (if (i32.ne (i32.load (i32.const 16384)) (i32.const 0x2e2e2e2e)) (then (unreachable)))
      (call $ret_result (local.get $n)))))
(func (export "arg_read_100") (call $arg_read_cap (i32.const 100)))
(func (export "arg_read_16") (call $arg_read_cap (i32.const 16)))
(func (export "arg_read_5") (call $arg_read_cap (i32.const 5)))
(func (export "arg_read_4") (call $arg_read_cap (i32.const 4)))
(func (export "arg_read_0") (call $arg_read_cap (i32.const 0)))
(func (export "arg_read_bad_ptr") (drop (call $arg_read (i32.const 0) (i32.const -4) (i32.const 100))))
(func (export "incr_a_then_b_twice")
  (i32.store8 (i32.const 20000) (i32.const 0x61))
  (drop (call $incr (i32.const 20000) (i32.const 1)))
  (i32.store8 (i32.const 20000) (i32.const 0x62))
  (drop (call $incr (i32.const 20000) (i32.const 1)))
  (call $return_int (call $incr (i32.const 20000) (i32.const 1))))
(func (export "partial_read")
  (drop (call $arg (i32.const 0)))
  (call $return_int (i64.extend_i32_s (call $result_read (i32.const 16384) (i32.const 2)))))
"#;

fn sink() -> (
    ferrite_wasm::WasmExecutor,
    std::sync::Arc<ferrite_store::Store>,
) {
    let (executor, store) = setup();
    executor.load("sink", guest(SINK), Some(all())).unwrap();
    (executor, store)
}

fn call(
    executor: &ferrite_wasm::WasmExecutor,
    export: &str,
    args: &[&str],
) -> Result<WasmValue, WasmError> {
    executor.call("sink", export, args.iter().map(|a| s(a)).collect(), None)
}

#[test]
fn strings_get_set_del_exists_incr() {
    let (x, store) = sink();
    assert_eq!(call(&x, "get", &["k"]).unwrap(), WasmValue::Nil);
    assert_eq!(call(&x, "set", &["k", "hello"]).unwrap(), WasmValue::I64(0));
    assert_eq!(
        redis(&store, &["GET", "k"]),
        Frame::Bulk(Bytes::from("hello"))
    );
    assert_eq!(call(&x, "get", &["k"]).unwrap(), bulk("hello"));
    assert_eq!(call(&x, "exists", &["k"]).unwrap(), WasmValue::I64(1));
    assert_eq!(call(&x, "del", &["k"]).unwrap(), WasmValue::I64(1));
    assert_eq!(call(&x, "del", &["k"]).unwrap(), WasmValue::I64(0));
    assert_eq!(call(&x, "exists", &["k"]).unwrap(), WasmValue::I64(0));
    assert_eq!(call(&x, "incr", &["n"]).unwrap(), WasmValue::I64(1));
    assert_eq!(call(&x, "incr", &["n"]).unwrap(), WasmValue::I64(2));
    assert_eq!(call(&x, "incrby5", &["n"]).unwrap(), WasmValue::I64(7));
    assert_eq!(redis(&store, &["GET", "n"]), Frame::Bulk(Bytes::from("7")));
}

#[test]
fn a_key_rewritten_in_place_between_host_calls_is_read_again() {
    // Keys are read from guest memory at each host call: new bytes at the
    // same address are a new key.
    let (x, store) = sink();
    for round in 1..=2 {
        assert_eq!(
            call(&x, "incr_a_then_b_twice", &[]).unwrap(),
            WasmValue::I64(2 * round)
        );
        assert_eq!(
            redis(&store, &["GET", "a"]),
            Frame::Bulk(Bytes::from(round.to_string()))
        );
        assert_eq!(
            redis(&store, &["GET", "b"]),
            Frame::Bulk(Bytes::from((2 * round).to_string()))
        );
    }
}

#[test]
fn large_value_through_result_buffer() {
    let (x, store) = sink();
    let big = "x".repeat(4000);
    redis(&store, &["SET", "big", &big]);
    // The guest copies at most 4096 bytes of an argument; GET returns all.
    assert_eq!(call(&x, "get", &["big"]).unwrap(), bulk(&big));
    // A 1 MB value through ferrite_get + a partial ferrite_result_read.
    let huge = "y".repeat(1 << 20);
    redis(&store, &["SET", "huge", &huge]);
    let partial = r#"(func (export "len") (call $return_int (call $get (call $buf (i32.const 0)) (call $a (i32.const 0)))))"#;
    x.load("huge", guest(partial), Some(all())).unwrap();
    assert_eq!(
        x.call("huge", "len", vec![s("huge")], None).unwrap(),
        WasmValue::I64(1 << 20)
    );
    assert_eq!(
        call(&x, "partial_read", &["abcdef"]).unwrap(),
        WasmValue::I64(2)
    );
}

#[test]
fn wrongtype_raises_and_ends_the_call() {
    let (x, store) = sink();
    redis(&store, &["HSET", "h", "f", "v"]);
    assert_eq!(
        call(&x, "get", &["h"]),
        Err(WasmError::CommandError(
            "WRONGTYPE Operation against a key holding the wrong kind of value".into()
        ))
    );
    redis(&store, &["SET", "s", "abc"]);
    assert_eq!(
        call(&x, "incr", &["s"]),
        Err(WasmError::CommandError(
            "ERR value is not an integer or out of range".into()
        ))
    );
}

#[test]
fn hashes_expire_ttl() {
    let (x, store) = sink();
    assert_eq!(call(&x, "hget", &["h", "f"]).unwrap(), WasmValue::Nil);
    assert_eq!(
        call(&x, "hset", &["h", "f", "v1"]).unwrap(),
        WasmValue::I64(1)
    );
    assert_eq!(
        call(&x, "hset", &["h", "f", "v2"]).unwrap(),
        WasmValue::I64(0)
    );
    assert_eq!(call(&x, "hget", &["h", "f"]).unwrap(), bulk("v2"));
    assert_eq!(
        redis(&store, &["HGET", "h", "f"]),
        Frame::Bulk(Bytes::from("v2"))
    );
    assert_eq!(call(&x, "ttl", &["h"]).unwrap(), WasmValue::I64(-1));
    assert_eq!(call(&x, "ttl", &["absent"]).unwrap(), WasmValue::I64(-2));
    assert_eq!(call(&x, "expire100", &["h"]).unwrap(), WasmValue::I64(1));
    assert_eq!(
        call(&x, "expire100", &["absent"]).unwrap(),
        WasmValue::I64(0)
    );
    let WasmValue::I64(ttl) = call(&x, "ttl", &["h"]).unwrap() else {
        panic!()
    };
    assert!((99..=100).contains(&ttl), "{ttl}");
}

#[test]
fn sorted_sets_and_keys() {
    let (x, store) = sink();
    assert_eq!(call(&x, "zadd15", &["z", "a"]).unwrap(), WasmValue::I64(1));
    assert_eq!(call(&x, "zadd15", &["z", "b"]).unwrap(), WasmValue::I64(1));
    assert_eq!(call(&x, "zadd15", &["z", "a"]).unwrap(), WasmValue::I64(0));
    assert_eq!(redis(&store, &["ZSCORE", "z", "a"]), Frame::Double(1.5));
    assert_eq!(call(&x, "zcard", &["z"]).unwrap(), WasmValue::I64(2));
    assert_eq!(call(&x, "zremall", &["z"]).unwrap(), WasmValue::I64(2));
    assert_eq!(call(&x, "zcard", &["z"]).unwrap(), WasmValue::I64(0));

    redis(&store, &["SET", "user:1", "a"]);
    redis(&store, &["SET", "user:2", "b"]);
    redis(&store, &["SET", "other", "c"]);
    let WasmValue::Bytes(encoded) = call(&x, "keys", &["user:*"]).unwrap() else {
        panic!()
    };
    let a = list(&[b"user:1", b"user:2"]);
    let b = list(&[b"user:2", b"user:1"]);
    assert!(encoded == a || encoded == b, "{encoded:?}");
}

#[test]
fn generic_call_returns_resp2() {
    let (x, store) = sink();
    let argv = |items: &[&[u8]]| WasmValue::Bytes(list(items));
    let run = |v: WasmValue| {
        x.call("sink", "call", vec![v], Some(CallContext::default()))
            .unwrap()
    };
    assert_eq!(run(argv(&[b"SET", b"k", b"v"])), bulk("+OK\r\n"));
    assert_eq!(run(argv(&[b"GET", b"k"])), bulk("$1\r\nv\r\n"));
    assert_eq!(run(argv(&[b"GET", b"nope"])), bulk("$-1\r\n"));
    assert_eq!(run(argv(&[b"RPUSH", b"l", b"a", b"b"])), bulk(":2\r\n"));
    assert_eq!(
        run(argv(&[b"LRANGE", b"l", b"0", b"-1"])),
        bulk("*2\r\n$1\r\na\r\n$1\r\nb\r\n")
    );
    // Command errors come back as error replies (pcall), the call goes on.
    assert_eq!(
        run(argv(&[b"INCR", b"k"])),
        bulk("-ERR value is not an integer or out of range\r\n")
    );
    assert_eq!(redis(&store, &["GET", "k"]), Frame::Bulk(Bytes::from("v")));
    // A malformed list traps with a typed error.
    assert!(matches!(
        x.call(
            "sink",
            "call",
            vec![WasmValue::Bytes(vec![9, 0, 0, 0])],
            Some(CallContext::default())
        ),
        Err(WasmError::Trap {
            code: "bad_host_call",
            ..
        })
    ));
}

#[test]
fn utilities_time_random_log() {
    let (x, _) = sink();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    for f in ["time", "now"] {
        let WasmValue::I64(t) = call(&x, f, &[]).unwrap() else {
            panic!()
        };
        assert!((t - now).abs() < 10_000, "{t} vs {now}");
    }
    let WasmValue::F64(r) = call(&x, "random_f64", &[]).unwrap() else {
        panic!()
    };
    assert!((0.0..1.0).contains(&r));
    let WasmValue::Bytes(b) = call(&x, "random_bytes", &[]).unwrap() else {
        panic!()
    };
    assert_eq!(b.len(), 64);
    assert!(b.iter().any(|&x| x != 0));
    assert_eq!(
        call(&x, "log", &["hello from wasm"]).unwrap(),
        WasmValue::I64(0)
    );
}

#[test]
fn arg_read_copies_or_falls_back_to_the_result_buffer() {
    let (x, _) = sink();
    let with = |cap: u32, arg: &str| call(&x, &format!("arg_read_{cap}"), &[arg]);
    // Fits (also exactly): copied to dst in one call.
    assert_eq!(with(100, "hello").unwrap(), bulk("hello"));
    assert_eq!(with(5, "hello").unwrap(), bulk("hello"));
    assert_eq!(with(0, "").unwrap(), bulk(""));
    // Longer than dst: nothing written, the argument is in the result buffer.
    assert_eq!(with(4, "hello").unwrap(), bulk("hello"));
    let big = "x".repeat(10_000);
    assert_eq!(with(16, &big).unwrap(), bulk(&big));
    // Out of range.
    assert_eq!(call(&x, "arg_read_100", &[]).unwrap(), WasmValue::I64(-1));
    // A bad destination traps like any bad pointer.
    let err = call(&x, "arg_read_bad_ptr", &["abc"]).unwrap_err();
    assert!(
        err.reply_text().starts_with("ERR wasm trap: bad pointer"),
        "{err:?}"
    );
}

#[test]
fn arguments_and_replies() {
    let (x, _) = sink();
    assert_eq!(
        call(&x, "argc", &["a", "b", "c"]).unwrap(),
        WasmValue::I64(3)
    );
    let ctx = CallContext {
        num_keys: Some(2),
        ..Default::default()
    };
    assert_eq!(
        x.call("sink", "numkeys", vec![s("a"), s("b"), s("c")], Some(ctx))
            .unwrap(),
        WasmValue::I64(2)
    );
    // Leading strings are keys when no context says otherwise.
    assert_eq!(
        x.call("sink", "numkeys", vec![s("a"), WasmValue::I64(3)], None)
            .unwrap(),
        WasmValue::I64(1)
    );
    assert_eq!(call(&x, "arg_missing", &[]).unwrap(), WasmValue::I64(-1));
    assert_eq!(
        call(&x, "echo", &["bytes\0\u{1}"]).unwrap(),
        bulk("bytes\0\u{1}")
    );
    assert_eq!(call(&x, "nothing", &[]).unwrap(), WasmValue::Nil);
    assert_eq!(call(&x, "nil", &[]).unwrap(), WasmValue::Nil);
    assert_eq!(
        call(&x, "resp", &["*2\r\n:1\r\n$2\r\nab\r\n"]).unwrap(),
        WasmValue::Array(vec![WasmValue::I64(1), bulk("ab")])
    );
    assert_eq!(
        call(&x, "resp", &["%1\r\n+a\r\n,1.5\r\n"]).unwrap(),
        WasmValue::Array(vec![WasmValue::Status("a".into()), WasmValue::F64(1.5)])
    );
    assert_eq!(
        call(&x, "resp", &["*2\r\n:1\r\n"]),
        Err(WasmError::GuestError(
            "ERR invalid RESP reply from function".into()
        ))
    );
    assert_eq!(
        call(&x, "fail", &["INVALID bad input"]),
        Err(WasmError::GuestError("INVALID bad input".into()))
    );
    assert_eq!(
        call(&x, "fail", &["bad input"]),
        Err(WasmError::GuestError("ERR bad input".into()))
    );
}

#[test]
fn overloads_by_signature() {
    let (x, store) = setup();
    redis(&store, &["SET", "k", "value"]);
    // Reference-seed ferrite_get: (i32, i32) -> i32, value copied via ferrite_alloc.
    let seed_get = module(
        r#"(module
        (import "ferrite" "ferrite_get" (func $get (param i32 i32) (result i32)))
        (import "ferrite" "ferrite_return" (func $return (param i32 i32)))
        (import "ferrite" "ferrite_return_nil" (func $nil))
        (import "ferrite" "ferrite_set" (func $set (param i32 i32 i32 i32 i64) (result i32)))
        (import "ferrite" "ferrite_log" (func $log (param i32 i32 i32) (result i32)))
        (import "ferrite" "ferrite_random" (func $random (param i32 i32) (result i32)))
        (memory (export "memory") 1)
        (global $bump (mut i32) (i32.const 1024))
        (func (export "ferrite_alloc") (param $n i32) (result i32)
          (local $p i32) (local.set $p (global.get $bump))
          (global.set $bump (i32.add (global.get $bump) (local.get $n))) (local.get $p))
        (data (i32.const 0) "k")
        (data (i32.const 8) "missing")
        (data (i32.const 16) "t")
        (data (i32.const 24) "v")
        (func (export "get") (local $p i32)
          (local.set $p (call $get (i32.const 0) (i32.const 1)))
          (call $return (i32.add (local.get $p) (i32.const 4)) (i32.load (local.get $p))))
        (func (export "get_missing") (result i32) (call $get (i32.const 8) (i32.const 7)))
        (func (export "set_ttl") (result i32)
          (drop (call $log (i32.const 2) (i32.const 24) (i32.const 1)))
          (drop (call $random (i32.const 100) (i32.const 8)))
          (call $set (i32.const 16) (i32.const 1) (i32.const 24) (i32.const 1) (i64.const 50))))"#,
    );
    x.load("seed", seed_get, Some(all())).unwrap();
    assert_eq!(x.call("seed", "get", vec![], None).unwrap(), bulk("value"));
    assert_eq!(
        x.call("seed", "get_missing", vec![], None).unwrap(),
        WasmValue::I64(0)
    );
    assert_eq!(
        x.call("seed", "set_ttl", vec![], None).unwrap(),
        WasmValue::I64(0)
    );
    assert_eq!(redis(&store, &["TTL", "t"]), Frame::Integer(50));

    // The reference-seed ferrite_get needs ferrite_alloc: refused at load.
    let no_alloc = module(
        r#"(module (import "ferrite" "ferrite_get" (func (param i32 i32) (result i32)))
           (memory (export "memory") 1) (func (export "f")))"#,
    );
    assert!(
        matches!(x.load("noalloc", no_alloc, None), Err(WasmError::InvalidModule(m)) if m.contains("ferrite_alloc"))
    );
}

#[test]
fn unknown_imports_are_named_at_load() {
    let (x, _) = setup();
    let bad_sig = module(
        r#"(module (import "ferrite" "ferrite_get" (func (param i64) (result i64))) (func (export "f")))"#,
    );
    match x.load("a", bad_sig, None) {
        Err(WasmError::UnknownImport { module, name, .. }) => {
            assert_eq!((module.as_str(), name.as_str()), ("ferrite", "ferrite_get"))
        }
        other => panic!("{other:?}"),
    }
    let bad_name =
        module(r#"(module (import "ferrite" "ferrite_teleport" (func)) (func (export "f")))"#);
    assert!(
        matches!(x.load("b", bad_name, None), Err(WasmError::UnknownImport { name, .. }) if name == "ferrite_teleport")
    );
    let bad_module = module(r#"(module (import "env" "abort" (func)) (func (export "f")))"#);
    assert!(
        matches!(x.load("c", bad_module, None), Err(WasmError::UnknownImport { module, .. }) if module == "env")
    );
    let text = x
        .load(
            "d",
            module(r#"(module (import "env" "x" (func)) (func (export "f")))"#),
            None,
        )
        .unwrap_err()
        .reply_text();
    assert_eq!(text, "ERR unknown import 'env::x' (unknown import module)");
}

#[test]
fn default_permissions_are_restrictive() {
    let (x, store) = setup();
    x.load("sink", guest(SINK), None).unwrap();
    redis(&store, &["SET", "k", "v"]);
    assert_eq!(
        x.call("sink", "get", vec![s("k")], None).unwrap(),
        bulk("v")
    );
    assert!(matches!(
        x.call("sink", "set", vec![s("k"), s("w")], None),
        Err(WasmError::PermissionDenied(_))
    ));
    assert!(matches!(
        x.call("sink", "time", vec![], None),
        Err(WasmError::PermissionDenied(_))
    ));
    assert_eq!(
        x.call("sink", "log", vec![s("ok")], None).unwrap(),
        WasmValue::I64(0)
    );
    let _ = FunctionPermissions::restrictive();
}
