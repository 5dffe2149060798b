//! Every permission and capability rule, allowed and denied (`docs/abi.md` §5).

mod common;

use bytes::Bytes;
use common::*;
use ferrite_protocol::Frame;
use ferrite_wasm::{
    AccessMode, CallContext, CallRequest, Capabilities, Capability, FunctionPermissions, WasmError,
    WasmValue,
};

const BODY: &str = r#"
(func (export "get") (call $ret_result (call $get (call $buf (i32.const 0)) (call $a (i32.const 0)))))
(func (export "set")
  (drop (call $set (call $buf (i32.const 0)) (call $a (i32.const 0)) (call $buf (i32.const 1)) (call $a (i32.const 1))))
  (call $return_int (i64.const 0)))
(func (export "del") (call $return_int (i64.extend_i32_s (call $del (call $buf (i32.const 0)) (call $a (i32.const 0))))))
(func (export "call") (call $ret_result (call $call (call $buf (i32.const 0)) (call $a (i32.const 0)))))
(func (export "keys") (call $ret_result (call $keys (call $buf (i32.const 0)) (call $a (i32.const 0)))))
(func (export "time") (result i64) (call $time))
(func (export "random") (result f64) (call $random_f64))
(func (export "log") (call $log (i32.const 1) (i32.const 0) (i32.const 4)))
"#;

fn load(
    perms: FunctionPermissions,
) -> (
    ferrite_wasm::WasmExecutor,
    std::sync::Arc<ferrite_store::Store>,
) {
    let (x, store) = setup();
    x.load("f", guest(BODY), Some(perms)).unwrap();
    (x, store)
}

fn denied(r: Result<WasmValue, WasmError>) -> String {
    match r {
        Err(WasmError::PermissionDenied(m)) => {
            assert!(m.starts_with("NOPERM function 'f' may not"), "{m}");
            m
        }
        other => panic!("expected PermissionDenied, got {other:?}"),
    }
}

fn caps(list: &[Capability]) -> FunctionPermissions {
    FunctionPermissions::with_capabilities_only(Capabilities::from_list(list))
}

#[test]
fn read_write_delete_capabilities() {
    let (x, store) = load(caps(&[Capability::Read]));
    redis(&store, &["SET", "k", "v"]);
    assert_eq!(x.call("f", "get", vec![s("k")], None).unwrap(), bulk("v"));
    let m = denied(x.call("f", "set", vec![s("k"), s("w")], None));
    assert!(m.contains("'write' capability"), "{m}");
    denied(x.call("f", "del", vec![s("k")], None));

    let (x, store) = load(caps(&[Capability::Write]));
    redis(&store, &["SET", "k", "v"]);
    denied(x.call("f", "get", vec![s("k")], None));
    assert_eq!(
        x.call("f", "set", vec![s("k"), s("w")], None).unwrap(),
        WasmValue::I64(0)
    );
    let m = denied(x.call("f", "del", vec![s("k")], None));
    assert!(m.contains("'delete' capability"), "{m}");

    let (x, store) = load(caps(&[Capability::Delete]));
    redis(&store, &["SET", "k", "v"]);
    assert_eq!(
        x.call("f", "del", vec![s("k")], None).unwrap(),
        WasmValue::I64(1)
    );

    let (x, _) = load(FunctionPermissions::with_capabilities_only(
        Capabilities::parse(&["all"]).unwrap(),
    ));
    assert_eq!(
        x.call("f", "set", vec![s("k"), s("w")], None).unwrap(),
        WasmValue::I64(0)
    );
}

#[test]
fn time_random_log_capabilities() {
    let (x, _) = load(caps(&[
        Capability::Time,
        Capability::Random,
        Capability::Log,
    ]));
    assert!(matches!(
        x.call("f", "time", vec![], None),
        Ok(WasmValue::I64(_))
    ));
    assert!(matches!(
        x.call("f", "random", vec![], None),
        Ok(WasmValue::F64(_))
    ));
    assert_eq!(x.call("f", "log", vec![], None).unwrap(), WasmValue::Nil);
    let (x, _) = load(caps(&[Capability::Read]));
    assert!(denied(x.call("f", "time", vec![], None)).contains("'time'"));
    assert!(denied(x.call("f", "random", vec![], None)).contains("'random'"));
    assert!(denied(x.call("f", "log", vec![], None)).contains("'log'"));
}

#[test]
fn read_only_function_and_read_only_call() {
    let (x, store) = load(FunctionPermissions::read_write().with_read_only(true));
    redis(&store, &["SET", "k", "v"]);
    assert_eq!(x.call("f", "get", vec![s("k")], None).unwrap(), bulk("v"));
    assert!(denied(x.call("f", "set", vec![s("k"), s("w")], None)).contains("read-only"));

    let (x, store) = load(FunctionPermissions::read_write());
    let ctx = CallContext {
        read_only: true,
        ..Default::default()
    };
    assert!(denied(x.call("f", "set", vec![s("k"), s("w")], Some(ctx))).contains("read-only"));
    // WASM.CALLREAD through the server entry point.
    let request = CallRequest {
        function: "f.set".into(),
        keys: Some(vec![Bytes::from("k")]),
        args: vec![Bytes::from("w")],
        db: 0,
        mode: AccessMode::ReadOnly,
    };
    let frame = x.execute_frame(&*store, request.clone());
    assert!(
        matches!(&frame, Frame::Error(e) if e.starts_with(b"NOPERM")),
        "{frame:?}"
    );
    let frame = x.execute_frame(
        &*store,
        CallRequest {
            mode: AccessMode::ReadWrite,
            ..request
        },
    );
    assert_eq!(frame, Frame::Integer(0));
}

#[test]
fn key_patterns_allow_and_deny() {
    let perms = FunctionPermissions::read_write()
        .with_allowed_keys(vec!["user:*".into(), "!user:admin*".into()]);
    let (x, store) = load(perms);
    assert_eq!(
        x.call("f", "set", vec![s("user:1"), s("a")], None).unwrap(),
        WasmValue::I64(0)
    );
    let m = denied(x.call("f", "set", vec![s("session:1"), s("a")], None));
    assert!(m.contains("key 'session:1'"), "{m}");
    denied(x.call("f", "get", vec![s("user:admin")], None));
    denied(x.call("f", "set", vec![s("user:admin2"), s("a")], None));
    // Only denies given: everything else is allowed.
    let (x, _) = load(FunctionPermissions::read_write().with_allowed_keys(vec!["!admin:*".into()]));
    assert_eq!(
        x.call("f", "set", vec![s("anything"), s("a")], None)
            .unwrap(),
        WasmValue::I64(0)
    );
    denied(x.call("f", "set", vec![s("admin:x"), s("a")], None));
    // Keys checked for ferrite_call too, for every key of the command.
    let (x, store2) = load(FunctionPermissions::read_write().with_allowed_keys(vec!["a*".into()]));
    let argv = WasmValue::Bytes(list(&[b"MSET", b"a1", b"x", b"b1", b"y"]));
    let WasmValue::Bytes(reply) = x
        .call("f", "call", vec![argv], Some(CallContext::default()))
        .unwrap()
    else {
        panic!()
    };
    assert!(
        reply.starts_with(b"-NOPERM function 'f' may not access key 'b1'"),
        "{}",
        String::from_utf8_lossy(&reply)
    );
    assert_eq!(redis(&store2, &["EXISTS", "a1"]), Frame::Integer(0));
    // ferrite_keys lists only readable keys.
    redis(&store, &["SET", "user:admin", "x"]);
    redis(&store, &["SET", "other", "x"]);
    let WasmValue::Bytes(keys) = x.call("f", "keys", vec![s("*")], None).unwrap() else {
        panic!()
    };
    let _ = keys;
    let (x, store) = load(
        FunctionPermissions::read_write()
            .with_allowed_keys(vec!["user:*".into(), "!user:admin*".into()]),
    );
    redis(&store, &["SET", "user:1", "x"]);
    redis(&store, &["SET", "user:admin", "x"]);
    redis(&store, &["SET", "other", "x"]);
    let WasmValue::Bytes(keys) = x.call("f", "keys", vec![s("*")], None).unwrap() else {
        panic!()
    };
    assert_eq!(keys, list(&[b"user:1"]));
    // Keyspace-wide commands through ferrite_call need unrestricted keys.
    let argv = WasmValue::Bytes(list(&[b"FLUSHALL"]));
    let WasmValue::Bytes(reply) = x
        .call("f", "call", vec![argv], Some(CallContext::default()))
        .unwrap()
    else {
        panic!()
    };
    assert!(
        reply.starts_with(b"-NOPERM"),
        "{}",
        String::from_utf8_lossy(&reply)
    );
}

#[test]
fn commands_allow_and_deny_lists() {
    let perms =
        FunctionPermissions::read_write().with_allowed_commands(vec!["get".into(), "SET".into()]);
    let (x, store) = load(perms);
    let run = |items: &[&[u8]]| {
        let WasmValue::Bytes(r) = x
            .call(
                "f",
                "call",
                vec![WasmValue::Bytes(list(items))],
                Some(CallContext::default()),
            )
            .unwrap()
        else {
            panic!()
        };
        String::from_utf8(r).unwrap()
    };
    assert_eq!(run(&[b"SET", b"k", b"v"]), "+OK\r\n");
    assert_eq!(run(&[b"GET", b"k"]), "$1\r\nv\r\n");
    assert!(run(&[b"INCR", b"n"])
        .starts_with("-NOPERM function 'f' may not run 'INCR' (not in COMMANDS)"));
    assert!(run(&[b"NOSUCH"]).starts_with("-NOPERM"));
    // Typed host functions go through the same check.
    assert!(denied(x.call("f", "del", vec![s("k")], None)).contains("not in COMMANDS"));

    let perms = FunctionPermissions::read_write()
        .with_denied_commands(vec!["flushall".into(), "DEL".into()]);
    let (x, store2) = load(perms);
    redis(&store2, &["SET", "k", "v"]);
    let WasmValue::Bytes(r) = x
        .call(
            "f",
            "call",
            vec![WasmValue::Bytes(list(&[b"FLUSHALL"]))],
            Some(CallContext::default()),
        )
        .unwrap()
    else {
        panic!()
    };
    assert!(r.starts_with(b"-NOPERM function 'f' may not run 'FLUSHALL' (in DENY_COMMANDS)"));
    assert!(denied(x.call("f", "del", vec![s("k")], None)).contains("DENY_COMMANDS"));
    assert_eq!(
        x.call("f", "set", vec![s("k"), s("w")], None).unwrap(),
        WasmValue::I64(0)
    );
    assert_eq!(redis(&store2, &["GET", "k"]), Frame::Bulk(Bytes::from("w")));
    let _ = store;
}

#[test]
fn http_needs_allow_network_and_capability() {
    let (x, _) = setup();
    let perms = FunctionPermissions::read_write().with_capabilities(Capabilities::all());
    // setup() allows the network: load works.
    x.load("h", guest(BODY), Some(perms.clone())).unwrap();
    let store = std::sync::Arc::new(ferrite_store::Store::new(
        ferrite_store::StoreConfig::default(),
    ));
    let closed = ferrite_wasm::WasmExecutor::builder()
        .keyspace(store)
        .build()
        .unwrap();
    assert!(
        matches!(closed.load("h", guest(BODY), Some(perms)), Err(WasmError::InvalidConfig(m)) if m.contains("allow_network"))
    );
}
