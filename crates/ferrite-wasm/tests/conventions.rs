//! Entry conventions, the `ferrite.abi` section, and the executor's
//! lifecycle API (load/replace/unload/list/info/update/stats).

mod common;

use bytes::Bytes;
use common::*;
use ferrite_protocol::Frame;
use ferrite_wasm::{
    AccessMode, CallContext, CallRequest, Convention, FunctionPermissions, LoadOptions,
    ResourceLimits, WasmError, WasmValue,
};

/// The Go seed's typed signature: rate_limit(keyPtr, keyLen, limit, window int32) int32.
const TYPED: &str = r#"
(func (export "rate_limit") (param $kp i32) (param $kl i32) (param $limit i32) (param $window i32) (result i32)
  (local $n i64)
  (local.set $n (call $incr (local.get $kp) (local.get $kl)))
  (if (i64.eq (local.get $n) (i64.const 1))
    (then (drop (call $expire (local.get $kp) (local.get $kl) (i64.extend_i32_s (local.get $window))))))
  (i32.le_s (i32.wrap_i64 (local.get $n)) (local.get $limit)))
(func (export "half") (param $x f64) (result f64) (f64.div (local.get $x) (f64.const 2)))
(func (export "sum64") (param $a i64) (param $b i64) (result i64) (i64.add (local.get $a) (local.get $b)))
(func (export "raw") (param $p i32) (param $n i32) (result i32)
  (call $return (local.get $p) (local.get $n)) (i32.const 0))
(func (export "raw_status") (param $p i32) (param $n i32) (result i32) (i32.const 3))
(func (export "raw_error") (param $p i32) (param $n i32) (result i32)
  (call $error (local.get $p) (local.get $n)) (i32.const 1))
"#;

#[test]
fn typed_convention_binds_keys_and_numbers() {
    let (x, store) = setup();
    x.load("rl", guest(TYPED), Some(all())).unwrap();
    let info = x.info("rl").unwrap();
    let conv = |n: &str| {
        info.exports
            .iter()
            .find(|e| e.name == n)
            .unwrap()
            .convention
    };
    assert_eq!(conv("rate_limit"), Convention::Typed);
    assert_eq!(conv("raw"), Convention::Raw);
    assert_eq!(
        info.exports
            .iter()
            .find(|e| e.name == "rate_limit")
            .unwrap()
            .wasm_signature,
        "(i32, i32, i32, i32) -> i32"
    );

    let args = || vec![s("rate:1"), WasmValue::I64(2), WasmValue::I64(60)];
    assert_eq!(
        x.call("rl", "rate_limit", args(), None).unwrap(),
        WasmValue::I64(1)
    );
    assert_eq!(
        x.call("rl", "rate_limit", args(), None).unwrap(),
        WasmValue::I64(1)
    );
    assert_eq!(
        x.call("rl", "rate_limit", args(), None).unwrap(),
        WasmValue::I64(0)
    );
    assert_eq!(
        redis(&store, &["GET", "rate:1"]),
        Frame::Bulk(Bytes::from("3"))
    );
    assert_eq!(redis(&store, &["TTL", "rate:1"]), Frame::Integer(60));

    // Server entry: WASM.CALL rl.rate_limit KEYS rate:2 ARGS 5 10
    let request = CallRequest {
        function: "rl.rate_limit".into(),
        keys: Some(vec![Bytes::from("rate:2")]),
        args: vec![Bytes::from("5"), Bytes::from("10")],
        db: 0,
        mode: AccessMode::ReadWrite,
    };
    assert_eq!(x.execute_frame(&*store, request.clone()), Frame::Integer(1));
    // Wrong counts and non-numbers are clear errors.
    let bad = CallRequest {
        args: vec![Bytes::from("5")],
        ..request.clone()
    };
    let frame = x.execute_frame(&*store, bad);
    assert_eq!(
        frame,
        Frame::Error(Bytes::from(
            "ERR function 'rate_limit' takes 4 wasm parameters: got 1 KEYS (2 parameters each) and 1 ARGS"
        ))
    );
    let bad = CallRequest {
        args: vec![Bytes::from("x"), Bytes::from("10")],
        ..request
    };
    assert_eq!(
        x.execute_frame(&*store, bad),
        Frame::Error(Bytes::from(
            "ERR function 'rate_limit' argument 2 is not a valid i32"
        ))
    );
    assert_eq!(
        x.call("rl", "half", vec![WasmValue::F64(3.0)], None)
            .unwrap(),
        WasmValue::F64(1.5)
    );
    assert_eq!(
        x.call(
            "rl",
            "sum64",
            vec![WasmValue::I64(1 << 40), WasmValue::I64(2)],
            None
        )
        .unwrap(),
        WasmValue::I64((1 << 40) + 2)
    );
}

#[test]
fn raw_convention() {
    let (x, _) = setup();
    x.load("rl", guest(TYPED), Some(all())).unwrap();
    assert_eq!(
        x.call("rl", "raw", vec![s("{\"a\":1}")], None).unwrap(),
        bulk("{\"a\":1}")
    );
    assert_eq!(x.call("rl", "raw", vec![], None).unwrap(), bulk(""));
    assert_eq!(
        x.call("rl", "raw_status", vec![s("x")], None),
        Err(WasmError::GuestError(
            "ERR function returned status 3".into()
        ))
    );
    assert_eq!(
        x.call("rl", "raw_error", vec![s("BAD input")], None),
        Err(WasmError::GuestError("BAD input".into()))
    );
}

/// A reused instance caches its last typed/raw entry point (and calls it
/// without wasmtime's per-call type check): calls that alternate between
/// entry points of different signatures on the same instances must each get
/// their own function and their own result type, every time.
#[test]
fn alternating_entry_points_on_reused_instances() {
    let (x, _) = setup();
    x.load("rl", guest(TYPED), Some(all())).unwrap();
    for i in 0..50i64 {
        assert_eq!(
            x.call("rl", "half", vec![WasmValue::F64(i as f64)], None)
                .unwrap(),
            WasmValue::F64(i as f64 / 2.0)
        );
        assert_eq!(
            x.call(
                "rl",
                "sum64",
                vec![WasmValue::I64(i << 33), WasmValue::I64(i)],
                None
            )
            .unwrap(),
            WasmValue::I64((i << 33) + i)
        );
        assert_eq!(
            x.call("rl", "raw", vec![s(&format!("r{i}"))], None)
                .unwrap(),
            bulk(&format!("r{i}"))
        );
        assert_eq!(
            x.call("rl", "raw_status", vec![s("x")], None),
            Err(WasmError::GuestError(
                "ERR function returned status 3".into()
            ))
        );
        // Same entry twice in a row: the cached one.
        for _ in 0..2 {
            assert_eq!(
                x.call(
                    "rl",
                    "sum64",
                    vec![WasmValue::I64(-i), WasmValue::I64(1)],
                    None
                )
                .unwrap(),
                WasmValue::I64(1 - i)
            );
        }
    }
}

#[test]
fn abi_section_declares_conventions_and_arity() {
    let (x, _) = setup();
    let wasm = module(&format!(
        r#"(module {IMPORTS} {PRELUDE}
        (@custom "ferrite.abi" "ferrite-abi 1\nfn greet sdk name:str -> str\nfn pair typed a:i32 b:i32 -> i32\n")
        (func (export "greet") (call $return (call $buf (i32.const 0)) (call $a (i32.const 0))))
        (func (export "pair") (param i32 i32) (result i32) (i32.add (local.get 0) (local.get 1))))"#
    ));
    x.load("g", wasm, Some(all())).unwrap();
    let info = x.info("g").unwrap();
    let greet = info.exports.iter().find(|e| e.name == "greet").unwrap();
    assert_eq!(
        greet.declared_signature.as_deref(),
        Some("(name: str) -> str")
    );
    // (i32, i32) -> i32 declared typed: numbers, not a raw pointer.
    let pair = info.exports.iter().find(|e| e.name == "pair").unwrap();
    assert_eq!(pair.convention, Convention::Typed);
    let ctx = CallContext {
        num_keys: Some(0),
        ..Default::default()
    };
    assert_eq!(
        x.call(
            "g",
            "pair",
            vec![WasmValue::I64(2), WasmValue::I64(3)],
            Some(ctx)
        )
        .unwrap(),
        WasmValue::I64(5)
    );
    assert_eq!(
        x.call("g", "greet", vec![s("bob")], None).unwrap(),
        bulk("bob")
    );
    assert_eq!(
        x.call("g", "greet", vec![], None),
        Err(WasmError::BadArguments(
            "ERR function 'greet' expects 1 arguments, got 0".into()
        ))
    );
    // A section contradicting the signature is refused, naming the export.
    let contradiction = module(
        r#"(module (@custom "ferrite.abi" "ferrite-abi 1\nfn f raw\n") (memory (export "memory") 1) (func (export "f")))"#,
    );
    assert!(
        matches!(x.load("c", contradiction, None), Err(WasmError::UnsupportedExport { name, .. }) if name == "f")
    );
    let ghost = module(
        r#"(module (@custom "ferrite.abi" "ferrite-abi 1\nfn ghost sdk\n") (memory (export "memory") 1) (func (export "f")))"#,
    );
    assert!(
        matches!(x.load("c", ghost, None), Err(WasmError::InvalidModule(m)) if m.contains("ghost"))
    );
}

#[test]
fn unsupported_exports_are_refused_by_name() {
    let (x, _) = setup();
    let multi =
        module(r#"(module (func (export "two") (result i32 i32) (i32.const 1) (i32.const 2)))"#);
    match x.load("m", multi, None) {
        Err(e @ WasmError::UnsupportedExport { .. }) => {
            assert_eq!(
                e.reply_text(),
                "ERR export 'two' has unsupported signature (more than one result)"
            )
        }
        other => panic!("{other:?}"),
    }
    let refs = module(r#"(module (func (export "r") (param v128)))"#);
    assert!(
        matches!(x.load("m", refs, None), Err(WasmError::UnsupportedExport { name, .. }) if name == "r")
    );
    let none = module(r#"(module (memory (export "memory") 1) (func (export "_start")))"#);
    assert!(matches!(
        x.load("m", none, None),
        Err(WasmError::InvalidModule(_))
    ));
    assert!(matches!(
        x.load("m", b"not wasm", None),
        Err(WasmError::InvalidModule(_))
    ));
}

#[test]
fn assemblyscript_strings_via_new() {
    let (x, _) = setup();
    // A minimal AssemblyScript-like runtime: __new(size, id) bump-allocates
    // with a 20-byte header whose rtSize (u32 at ptr-4) is the byte length.
    let wasm = module(&format!(
        r#"(module {IMPORTS} {PRELUDE}
        (func (export "__new") (param $size i32) (param $id i32) (result i32)
          (local $p i32)
          (local.set $p (i32.add (call $alloc (i32.add (local.get $size) (i32.const 20))) (i32.const 20)))
          (i32.store (i32.sub (local.get $p) (i32.const 4)) (local.get $size))
          (i32.store (i32.sub (local.get $p) (i32.const 8)) (local.get $id))
          (local.get $p))
        (func $alloc (param $n i32) (result i32)
          (local $p i32) (local.set $p (global.get $bump))
          (global.set $bump (i32.add (global.get $bump) (local.get $n))) (local.get $p))
        ;; returns the UTF-16 byte length of the string plus its first code unit
        (func (export "strlen") (param $s i32) (param $limit i64) (result i32)
          (i32.add (i32.mul (i32.load (i32.sub (local.get $s) (i32.const 4))) (i32.const 1000))
                   (i32.load16_u (local.get $s)))))"#
    ));
    x.load("as", wasm, Some(all())).unwrap();
    // k + a = params: the key is one AssemblyScript string.
    assert_eq!(
        x.call("as", "strlen", vec![s("AB"), WasmValue::I64(1)], None)
            .unwrap(),
        WasmValue::I64(4 * 1000 + 65)
    );
}

#[test]
fn lifecycle_replace_unload_update_stats() {
    let (x, store) = setup();
    let v1 = module(
        r#"(module (import "ferrite" "ferrite_return_int" (func $r (param i64)))
           (memory (export "memory") 1) (func (export "v") (call $r (i64.const 1))))"#,
    );
    let v2 = module(
        r#"(module (import "ferrite" "ferrite_return_int" (func $r (param i64)))
           (memory (export "memory") 1) (func (export "v") (call $r (i64.const 2))))"#,
    );
    x.load("v", v1.clone(), None).unwrap();
    assert_eq!(
        x.load("v", v2.clone(), None),
        Err(WasmError::AlreadyExists("v".into()))
    );
    assert_eq!(x.call("v", "v", vec![], None).unwrap(), WasmValue::I64(1));
    // WASM.CALL v (no export name, module name = export name).
    let req = CallRequest {
        function: "v".into(),
        keys: None,
        args: vec![],
        db: 0,
        mode: AccessMode::ReadWrite,
    };
    assert_eq!(x.execute_frame(&*store, req.clone()), Frame::Integer(1));
    // A failed replace keeps the old function.
    let replace = |bytes: &[u8]| {
        x.load_with(
            "v",
            bytes,
            LoadOptions {
                replace: true,
                ..Default::default()
            },
        )
    };
    assert!(replace(b"garbage").is_err());
    assert_eq!(x.call("v", "v", vec![], None).unwrap(), WasmValue::I64(1));
    let info = replace(&v2).unwrap();
    assert_eq!(info.sha256.len(), 64);
    assert_eq!(x.call("v", "v", vec![], None).unwrap(), WasmValue::I64(2));
    assert_eq!(x.list(), vec!["v".to_string()]);

    let stats = x.stats("v").unwrap();
    assert_eq!(
        (stats.invocations, stats.successful, stats.failed),
        (1, 1, 0)
    );
    assert!(stats.avg_duration > std::time::Duration::ZERO);
    assert!(stats.p99_duration >= stats.avg_duration / 2);
    assert!(stats.last_invocation_ms.is_some());
    assert_eq!(stats.memory_used_bytes, 65536);

    let limits = ResourceLimits::quick();
    let info = x
        .update("v", Some(limits), Some(FunctionPermissions::read_only()))
        .unwrap();
    assert_eq!(info.limits, limits);
    assert!(info.permissions.read_only);
    assert!(x
        .update(
            "v",
            Some(ResourceLimits {
                max_memory: 0,
                ..limits
            }),
            None
        )
        .is_err());

    x.unload("v").unwrap();
    assert_eq!(x.unload("v"), Err(WasmError::FunctionNotFound("v".into())));
    assert_eq!(
        x.call("v", "v", vec![], None),
        Err(WasmError::FunctionNotFound("v".into()))
    );
    assert!(matches!(
        x.call("nope", "v", vec![], None),
        Err(WasmError::FunctionNotFound(_))
    ));
    assert!(matches!(
        x.load("bad.name", v1, None),
        Err(WasmError::InvalidConfig(_))
    ));
}

#[test]
fn same_bytes_compile_once() {
    let (x, _) = setup();
    let wasm = module(r#"(module (memory (export "memory") 1) (func (export "f")))"#);
    x.load("a", wasm.clone(), None).unwrap();
    x.load("b", wasm, None).unwrap();
    assert_eq!(x.info("a").unwrap().sha256, x.info("b").unwrap().sha256);
    assert!(matches!(
        x.call("a", "g", vec![], None),
        Err(WasmError::ExportNotFound { .. })
    ));
}
