//! Limits, traps, bad pointers, fresh state and all-or-nothing calls.

mod common;

use std::time::{Duration, Instant};

use bytes::Bytes;
use common::*;
use ferrite_protocol::Frame;
use ferrite_wasm::{LoadOptions, ResourceLimits, WasmError, WasmValue};

const BODY: &str = r#"
(global $counter (mut i32) (i32.const 0))
(func (export "spin") (loop $l (br $l)))
(func (export "spin_host") (loop $l (drop (call $exists (i32.const 0) (i32.const 4))) (br $l)))
(func (export "bomb") (loop $l (drop (memory.grow (i32.const 16))) (br $l)))
(func (export "grow_once") (result i32) (memory.grow (i32.const 1)))
(func $recurse (export "recurse") (call $recurse))
(func (export "unreachable") (unreachable))
(func (export "div0") (result i32) (i32.div_s (i32.const 1) (i32.const 0)))
(func (export "oob") (result i32) (i32.load (i32.const 0x7fffffff)))
(func (export "counter") (result i32)
  (global.set $counter (i32.add (global.get $counter) (i32.const 1)))
  (global.get $counter))
(func (export "mem_counter") (result i32)
  (i32.store (i32.const 100) (i32.add (i32.load (i32.const 100)) (i32.const 1)))
  (i32.load (i32.const 100)))
(func (export "bad_ptr_neg") (drop (call $get (i32.const -1) (i32.const 4))))
(func (export "bad_len_huge") (drop (call $get (i32.const 0) (i32.const 0x7fffffff))))
(func (export "bad_len_neg") (drop (call $get (i32.const 16) (i32.const -16))))
(func (export "bad_return") (call $return (i32.const 65530) (i32.const 10)))
(func (export "bad_result_read") (drop (call $arg (i32.const 0))) (drop (call $result_read (i32.const -8) (i32.const 100))))
(func (export "set_then_trap")
  (drop (call $set (call $buf (i32.const 0)) (call $a (i32.const 0)) (call $buf (i32.const 0)) (call $a (i32.const 0))))
  (unreachable))
(func (export "set_then_error")
  (drop (call $set (call $buf (i32.const 0)) (call $a (i32.const 0)) (call $buf (i32.const 0)) (call $a (i32.const 0))))
  (call $error (i32.const 0) (i32.const 4)))
(func (export "set_then_spin")
  (drop (call $set (call $buf (i32.const 0)) (call $a (i32.const 0)) (call $buf (i32.const 0)) (call $a (i32.const 0))))
  (loop $l (br $l)))
(func (export "set_ok")
  (drop (call $set (call $buf (i32.const 0)) (call $a (i32.const 0)) (call $buf (i32.const 0)) (call $a (i32.const 0)))))
"#;

fn load(
    limits: ResourceLimits,
) -> (
    ferrite_wasm::WasmExecutor,
    std::sync::Arc<ferrite_store::Store>,
) {
    let (x, store) = setup_with(limits);
    x.load("f", guest(BODY), Some(all())).unwrap();
    (x, store)
}

#[test]
fn timeout_preempts_a_tight_loop_within_150ms() {
    let limits = ResourceLimits {
        max_fuel: u64::MAX / 2,
        ..ResourceLimits::quick()
    };
    let (x, _) = load(limits);
    for export in ["spin", "spin_host"] {
        let started = Instant::now();
        let r = x.call("f", export, vec![], None);
        let took = started.elapsed();
        assert_eq!(r, Err(WasmError::Timeout(100)), "{export}");
        assert!(took >= Duration::from_millis(100), "{export}: {took:?}");
        assert!(took < Duration::from_millis(150), "{export}: {took:?}");
    }
    assert_eq!(
        WasmError::Timeout(100).reply_text(),
        "ERR function timed out after 100ms"
    );
}

#[test]
fn fuel_exhaustion() {
    let limits = ResourceLimits {
        max_fuel: 100_000,
        ..ResourceLimits::default()
    };
    let (x, _) = load(limits);
    let started = Instant::now();
    assert_eq!(
        x.call("f", "spin", vec![], None),
        Err(WasmError::FuelExhausted)
    );
    assert!(started.elapsed() < Duration::from_secs(1));
    let stats = x.stats("f").unwrap();
    assert_eq!((stats.invocations, stats.failed), (1, 1));
    assert!(stats.fuel_consumed >= 99_000, "{}", stats.fuel_consumed);
}

#[test]
fn memory_limit() {
    let limits = ResourceLimits {
        max_memory: 1 << 20,
        ..ResourceLimits::default()
    };
    let (x, _) = load(limits);
    assert_eq!(
        x.call("f", "bomb", vec![], None),
        Err(WasmError::MemoryLimitExceeded { limit: 1 << 20 })
    );
    // Growing within the limit works, on a fresh instance each time.
    assert_eq!(
        x.call("f", "grow_once", vec![], None).unwrap(),
        WasmValue::I64(1)
    );
    assert_eq!(
        x.call("f", "grow_once", vec![], None).unwrap(),
        WasmValue::I64(1)
    );
    // A declared minimum over the limit is refused at load.
    let big = module(r#"(module (memory (export "memory") 17) (func (export "f")))"#);
    assert_eq!(
        x.load("big", big.clone(), None),
        Err(WasmError::MemoryLimitExceeded { limit: 1 << 20 })
    );
    let opts = LoadOptions {
        limits: Some(ResourceLimits {
            max_memory: 2 << 20,
            ..limits
        }),
        ..Default::default()
    };
    x.load_with("big", &big, opts).unwrap();
    // And an update below the minimum is refused.
    assert!(matches!(
        x.update("big", Some(limits), None),
        Err(WasmError::MemoryLimitExceeded { .. })
    ));
}

#[test]
fn deep_recursion_is_a_stack_overflow() {
    let (x, _) = load(ResourceLimits::default());
    assert_eq!(
        x.call("f", "recurse", vec![], None),
        Err(WasmError::StackOverflow)
    );
    assert_eq!(
        x.call("f", "counter", vec![], None).unwrap(),
        WasmValue::I64(1)
    );
}

#[test]
fn traps_are_typed() {
    let (x, _) = load(ResourceLimits::default());
    let code = |e: &str| match x.call("f", e, vec![], None) {
        Err(WasmError::Trap { code, .. }) => code,
        other => panic!("{e}: {other:?}"),
    };
    assert_eq!(code("unreachable"), "unreachable");
    assert_eq!(code("div0"), "divide_by_zero");
    assert_eq!(code("oob"), "out_of_bounds");
    assert_eq!(
        x.call("f", "div0", vec![], None).unwrap_err().reply_text(),
        "ERR wasm trap: integer divide by zero"
    );
}

#[test]
fn bad_pointers_and_lengths_trap_cleanly() {
    let (x, _) = load(ResourceLimits::default());
    for export in [
        "bad_ptr_neg",
        "bad_len_huge",
        "bad_len_neg",
        "bad_return",
        "bad_result_read",
    ] {
        match x.call("f", export, vec![s("key")], None) {
            Err(WasmError::BadPointer(m)) => {
                assert!(m.contains("outside guest memory"), "{export}: {m}")
            }
            other => panic!("{export}: {other:?}"),
        }
    }
    let text = x
        .call("f", "bad_ptr_neg", vec![], None)
        .unwrap_err()
        .reply_text();
    assert!(text.starts_with("ERR wasm trap: bad pointer"), "{text}");
    // The host is fine afterwards.
    assert_eq!(
        x.call("f", "counter", vec![], None).unwrap(),
        WasmValue::I64(1)
    );
}

#[test]
fn every_call_starts_from_fresh_state() {
    let (x, _) = load(ResourceLimits::default());
    for _ in 0..20 {
        assert_eq!(
            x.call("f", "counter", vec![], None).unwrap(),
            WasmValue::I64(1)
        );
        assert_eq!(
            x.call("f", "mem_counter", vec![], None).unwrap(),
            WasmValue::I64(1)
        );
    }
    // Also from several threads at once.
    std::thread::scope(|scope| {
        for _ in 0..4 {
            scope.spawn(|| {
                for _ in 0..50 {
                    assert_eq!(
                        x.call("f", "counter", vec![], None).unwrap(),
                        WasmValue::I64(1)
                    );
                }
            });
        }
    });
    assert_eq!(x.stats("f").unwrap().successful, 240);
}

#[test]
fn failed_calls_roll_back() {
    let limits = ResourceLimits {
        max_time: Duration::from_millis(50),
        max_fuel: u64::MAX / 2,
        ..Default::default()
    };
    let (x, store) = load(limits);
    assert!(matches!(
        x.call("f", "set_then_trap", vec![s("a")], None),
        Err(WasmError::Trap { .. })
    ));
    assert!(matches!(
        x.call("f", "set_then_error", vec![s("b")], None),
        Err(WasmError::GuestError(_))
    ));
    assert_eq!(
        x.call("f", "set_then_spin", vec![s("c")], None),
        Err(WasmError::Timeout(50))
    );
    for k in ["a", "b", "c"] {
        assert_eq!(redis(&store, &["EXISTS", k]), Frame::Integer(0), "{k}");
    }
    redis(&store, &["SET", "d", "old"]);
    assert!(x.call("f", "set_then_trap", vec![s("d")], None).is_err());
    assert_eq!(
        redis(&store, &["GET", "d"]),
        Frame::Bulk(Bytes::from("old"))
    );
    assert_eq!(
        x.call("f", "set_ok", vec![s("e")], None).unwrap(),
        WasmValue::Nil
    );
    assert_eq!(redis(&store, &["GET", "e"]), Frame::Bulk(Bytes::from("e")));
}
