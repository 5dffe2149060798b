//! Instance reuse (`src/reuse.rs`): an instance put back after a call is
//! indistinguishable from a fresh one, whatever the call wrote, and an
//! instance that cannot be put back is dropped.

mod common;

use std::sync::Arc;

use common::*;
use ferrite_store::{Store, StoreConfig};
use ferrite_wasm::{WasmError, WasmExecutor, WasmValue};

/// WAT: the locals and loop of an `observe` function that folds every byte
/// of memory into `$h` (FNV-1a), shared by the modules below.
macro_rules! memory_hash {
    () => {
        r#"    (local $i i32) (local $h i64)
    (local.set $h (i64.const 0xcbf29ce484222325))
    (block $done (loop $l
      (br_if $done (i32.ge_u (local.get $i) (i32.mul (memory.size) (i32.const 65536))))
      (local.set $h (i64.mul (i64.xor (local.get $h) (i64.load8_u (local.get $i)))
                             (i64.const 0x100000001b3)))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $l)))
"#
    };
}

/// Two pages (128 KiB: 2 KiB chunks), three non-exported mutable globals,
/// active and passive data. `observe` hashes all of memory and the globals;
/// `mutate` changes all of them in every way a guest (or the host on its
/// behalf) can.
const HOSTILE: &str = concat!(
    r#"(module
  (import "ferrite" "ferrite_arg" (func $arg (param i32) (result i64)))
  (import "ferrite" "ferrite_result_read" (func $result_read (param i32 i32) (result i32)))
  (import "ferrite" "ferrite_random_bytes" (func $random_bytes (param i32 i32) (result i32)))
  (import "ferrite" "ferrite_error" (func $error (param i32 i32)))
  (import "wasi_snapshot_preview1" "random_get" (func $random_get (param i32 i32) (result i32)))
  (memory (export "memory") 2)
  (global $g32 (mut i32) (i32.const 7))
  (global $g64 (mut i64) (i64.const -3))
  (global $gf (mut f64) (f64.const 1.5))
  (data (i32.const 1000) "pristine data at 1000")
  (data (i32.const 131000) "end of memory")
  (data $passive "passive segment bytes")
  (func $observe (export "observe") (result i64)
"#,
    memory_hash!(),
    r#"    (i64.add (local.get $h)
      (i64.add (i64.extend_i32_u (global.get $g32))
        (i64.add (global.get $g64)
          (i64.trunc_f64_s (f64.mul (global.get $gf) (f64.const 1000)))))))
  (func $scribble (param $seed i32)
    (local $p i32)
    ;; a seed-dependent address anywhere in memory
    (local.set $p (i32.rem_u (i32.mul (local.get $seed) (i32.const 7919)) (i32.const 131056)))
    (i32.store (local.get $p) (i32.const -1))
    (i64.store offset=3 (local.get $p) (i64.const -1))
    (i32.store8 (i32.const 2047) (i32.const 1))
    (i32.store16 (i32.const 4095) (i32.const 0x0101))
    (i64.store8 (i32.const 6000) (i64.const 2))
    (i64.store16 (i32.const 8000) (i64.const 2))
    (i64.store32 (i32.const 10000) (i64.const 2))
    (f32.store (i32.const 12000) (f32.const 3.5))
    (f64.store (i32.const 14000) (f64.const 3.5))
    ;; straddles the end of chunk 0
    (v128.store (i32.const 2040) (v128.const i64x2 -1 -1))
    (v128.store32_lane 1 (i32.const 30718) (v128.const i32x4 9 9 9 9))
    ;; the last bytes of memory, through a large offset
    (i64.store offset=131000 (i32.const 64) (i64.const -1))
    (memory.fill (i32.const 4000) (i32.const 0xab) (i32.const 9000))
    (memory.copy (i32.const 60000) (i32.const 1000) (i32.const 5000))
    (memory.init $passive (i32.const 70000) (i32.const 0) (i32.const 21))
    ;; host writes: an argument copied in, random bytes, WASI random
    (drop (call $arg (i32.const 0)))
    (drop (call $result_read (i32.const 90000) (i32.const 100)))
    (drop (call $random_bytes (i32.const 120000) (i32.const 64)))
    (drop (call $random_get (i32.const 1002) (i32.const 8)))
    (global.set $g32 (i32.add (global.get $g32) (local.get $seed)))
    (global.set $g64 (i64.const 99))
    (global.set $gf (f64.const -2.25)))
  (func (export "mutate") (param $seed i32) (result i64)
    (call $scribble (local.get $seed))
    (call $observe))
  (func (export "mutate_then_error") (param $seed i32)
    (call $scribble (local.get $seed))
    (call $error (i32.const 1000) (i32.const 8)))
  (func (export "mutate_then_trap") (param $seed i32)
    (call $scribble (local.get $seed))
    (unreachable))
  (func (export "grow_and_write") (result i32)
    (drop (memory.grow (i32.const 1)))
    (i32.store (i32.const 140000) (i32.const 5))
    (i32.store (i32.const 1000) (i32.const 5))
    (memory.size))
)"#
);

/// An executor that keeps no ready instance of its own (the keeper never
/// refills the pool), so `ready_instances` shows what calls put back.
fn bare_executor(max_instances: usize) -> WasmExecutor {
    let store = Arc::new(Store::new(StoreConfig::default()));
    WasmExecutor::builder()
        .pool_size(0, max_instances)
        .keyspace(store)
        .build()
        .unwrap()
}

fn executor(max_instances: usize) -> WasmExecutor {
    let x = bare_executor(max_instances);
    x.load("h", module(HOSTILE), Some(all())).unwrap();
    x
}

fn observe(x: &WasmExecutor) -> WasmValue {
    x.call("h", "observe", vec![], None).unwrap()
}

fn ready(x: &WasmExecutor) -> usize {
    x.info("h").unwrap().ready_instances
}

#[test]
fn a_reused_instance_sees_the_state_of_a_fresh_one() {
    let x = executor(1);
    let fresh = observe(&x);
    // The pool holds one instance, put back after every call: the calls
    // below all run on the instance that ran the first one.
    assert_eq!(ready(&x), 1);
    for seed in 0..64 {
        let dirty = x
            .call("h", "mutate", vec![WasmValue::I32(seed)], None)
            .unwrap();
        assert_ne!(dirty, fresh, "seed {seed}: mutate changed nothing");
        assert_eq!(observe(&x), fresh, "seed {seed}");
        assert_eq!(ready(&x), 1, "seed {seed}: the instance was not put back");
    }
}

#[test]
fn an_error_reply_keeps_the_instance_and_its_writes_are_undone() {
    let x = executor(1);
    let fresh = observe(&x);
    let err = x
        .call("h", "mutate_then_error", vec![WasmValue::I32(5)], None)
        .unwrap_err();
    assert!(matches!(err, WasmError::GuestError(_)), "{err:?}");
    assert_eq!(ready(&x), 1);
    assert_eq!(observe(&x), fresh);
}

#[test]
fn a_trap_drops_the_instance() {
    let x = executor(1);
    let fresh = observe(&x);
    let err = x
        .call("h", "mutate_then_trap", vec![WasmValue::I32(5)], None)
        .unwrap_err();
    assert!(matches!(err, WasmError::Trap { .. }), "{err:?}");
    assert_eq!(ready(&x), 0, "a trapped instance is not put back");
    assert_eq!(observe(&x), fresh);
    assert_eq!(ready(&x), 1);
}

#[test]
fn grown_memory_drops_the_instance() {
    let x = executor(1);
    let fresh = observe(&x);
    assert_eq!(
        x.call("h", "grow_and_write", vec![], None).unwrap(),
        WasmValue::I64(3)
    );
    assert_eq!(
        ready(&x),
        0,
        "an instance whose memory grew is not put back"
    );
    assert_eq!(observe(&x), fresh);
}

#[test]
fn a_function_that_always_grows_memory_stops_taking_snapshots() {
    let x = executor(1);
    let fresh = observe(&x);
    for _ in 0..16 {
        x.call("h", "grow_and_write", vec![], None).unwrap();
    }
    // 16 instances in a row could not be put back: new instances take no
    // snapshot, so even a call that does not grow memory drops its
    // instance. Every call still sees a fresh state.
    assert_eq!(observe(&x), fresh);
    assert_eq!(ready(&x), 0);
    assert_eq!(observe(&x), fresh);
}

#[test]
fn concurrent_calls_each_see_a_fresh_instance() {
    let x = executor(4);
    let fresh = observe(&x);
    std::thread::scope(|scope| {
        for t in 0..4 {
            let (x, fresh) = (&x, &fresh);
            scope.spawn(move || {
                for i in 0..100 {
                    let seed = t * 1000 + i;
                    x.call("h", "mutate", vec![WasmValue::I32(seed)], None)
                        .unwrap();
                    assert_eq!(&observe(x), fresh, "thread {t} call {i}");
                }
            });
        }
    });
    assert!(ready(&x) <= 4);
}

#[test]
fn a_module_the_rewrite_does_not_cover_gets_a_fresh_instance_per_call() {
    let x = bare_executor(1);
    // data.drop changes instance state no snapshot restores.
    let wasm = module(
        r#"(module
        (memory (export "memory") 1)
        (data $d "abc")
        (global $n (mut i32) (i32.const 0))
        (func (export "f") (result i32)
          (memory.init $d (i32.const 0) (i32.const 0) (i32.const 3))
          (data.drop $d)
          (global.set $n (i32.add (global.get $n) (i32.const 1)))
          (global.get $n)))"#,
    );
    x.load("d", wasm, Some(all())).unwrap();
    for _ in 0..3 {
        assert_eq!(x.call("d", "f", vec![], None).unwrap(), WasmValue::I64(1));
        assert_eq!(x.info("d").unwrap().ready_instances, 0);
    }
}

/// A reactor: `_initialize` burns 50,000 loop iterations of fuel and
/// leaves a mark in memory and in a global.
const REACTOR: &str = r#"(module
  (memory (export "memory") 1)
  (global $inits (mut i32) (i32.const 0))
  (func (export "_initialize")
    (local $i i32)
    (loop $l
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $l (i32.lt_u (local.get $i) (i32.const 50000))))
    (global.set $inits (i32.add (global.get $inits) (i32.const 1)))
    (i32.store (i32.const 64) (i32.add (i32.load (i32.const 64)) (i32.const 1))))
  (func (export "seen") (result i32)
    ;; what this call sees of _initialize, then scribble over it
    (local $r i32)
    (local.set $r (i32.add (i32.mul (global.get $inits) (i32.const 10)) (i32.load (i32.const 64))))
    (global.set $inits (i32.const 99))
    (i32.store (i32.const 64) (i32.const 99))
    (local.get $r)))"#;

#[test]
fn a_reactor_initializes_once_per_instance_and_every_call_sees_it_done_once() {
    let x = bare_executor(1);
    x.load("r", module(REACTOR), Some(all())).unwrap();
    for _ in 0..20 {
        // One run of _initialize: the global and the memory cell are 1.
        assert_eq!(
            x.call("r", "seen", vec![], None).unwrap(),
            WasmValue::I64(11)
        );
    }
    // _initialize ran when the instance was made, not in the calls: their
    // fuel is far below one run of its loop.
    let stats = x.stats("r").unwrap();
    assert_eq!(stats.invocations, 20);
    assert!(
        stats.fuel_consumed / 20 < 10_000,
        "fuel per call {}",
        stats.fuel_consumed / 20
    );
}

#[test]
fn a_failing_initialize_is_reported_by_the_call_as_before() {
    let x = bare_executor(1);
    let wasm = module(
        r#"(module
        (memory (export "memory") 1)
        (func (export "_initialize") (unreachable))
        (func (export "f") (result i32) (i32.const 1)))"#,
    );
    x.load("bad", wasm, Some(all())).unwrap();
    for _ in 0..3 {
        let err = x.call("bad", "f", vec![], None).unwrap_err();
        assert!(matches!(err, WasmError::Trap { .. }), "{err:?}");
        // After the failure at instantiation the function makes plain
        // instances (no more initializer runs there): none is kept.
        assert_eq!(x.info("bad").unwrap().ready_instances, 0);
    }
}

/// Random modules: each `scribble` is a random sequence of stores of every
/// type (at random addresses, many near chunk ends and the end of memory,
/// with random offsets), bulk operations and global writes. After each
/// call the next one must see the fresh state. Seeded: a failure names its
/// seed.
#[test]
fn random_writes_never_survive_a_call() {
    use rand::{Rng, SeedableRng};
    const MEMORY_BYTES: u32 = 3 * 65536; // 4 KiB chunks
    for seed in 0..40u64 {
        let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
        let mut body = String::new();
        let addr = |rng: &mut rand::rngs::StdRng, width: u32| -> (u32, u32) {
            // (address, offset) with address + offset + width <= memory
            let end = match rng.random_range(0..3) {
                0 => rng.random_range(width..=MEMORY_BYTES),
                1 => {
                    let chunk = rng.random_range(1..48u32) * 4096;
                    (chunk + rng.random_range(0..2 * width)).clamp(width, MEMORY_BYTES)
                }
                _ => MEMORY_BYTES - rng.random_range(0..width),
            };
            let ea = end - width;
            let offset = rng.random_range(0..=ea.min(70_000));
            (ea - offset, offset)
        };
        for _ in 0..rng.random_range(1..40) {
            let op = rng.random_range(0..12);
            let line = match op {
                0..=9 => {
                    let (store, width, value) = [
                        ("i32.store", 4, "(i32.const -1)"),
                        ("i32.store8", 1, "(i32.const 7)"),
                        ("i32.store16", 2, "(i32.const 7)"),
                        ("i64.store", 8, "(i64.const -1)"),
                        ("i64.store8", 1, "(i64.const 9)"),
                        ("i64.store16", 2, "(i64.const 9)"),
                        ("i64.store32", 4, "(i64.const 9)"),
                        ("f32.store", 4, "(f32.const 2.5)"),
                        ("f64.store", 8, "(f64.const 2.5)"),
                        ("v128.store", 16, "(v128.const i64x2 -1 5)"),
                    ][op as usize];
                    let (a, off) = addr(&mut rng, width);
                    format!("({store} offset={off} (i32.const {a}) {value})")
                }
                10 => {
                    let len = rng.random_range(0..9000u32);
                    let (a, _) = addr(&mut rng, len.max(1));
                    format!(
                        "(memory.fill (i32.const {a}) (i32.const 0x5a) (i32.const {}))",
                        len.min(MEMORY_BYTES - a)
                    )
                }
                _ => {
                    let len = rng.random_range(0..9000u32);
                    let (a, _) = addr(&mut rng, len.max(1));
                    let src = rng.random_range(0..=MEMORY_BYTES - len.min(MEMORY_BYTES - a));
                    format!(
                        "(memory.copy (i32.const {a}) (i32.const {src}) (i32.const {}))",
                        len.min(MEMORY_BYTES - a)
                    )
                }
            };
            body.push_str(&line);
            body.push('\n');
        }
        let wat = format!(
            concat!(
                r#"(module
  (memory (export "memory") 3)
  (global $g (mut i64) (i64.const 5))
  (data (i32.const 0) "start of memory")
  (data (i32.const 4090) "across a chunk end")
  (data (i32.const 196600) "the end")
  (func $observe (export "observe") (result i64)
"#,
                memory_hash!(),
                r#"    (i64.add (local.get $h) (global.get $g)))
  (func (export "scribble") (result i64)
    {body}
    (global.set $g (i64.const -77))
    (call $observe)))"#
            ),
            body = body
        );
        let x = bare_executor(1);
        x.load("r", module(&wat), Some(all())).unwrap();
        let fresh = x.call("r", "observe", vec![], None).unwrap();
        for round in 0..3 {
            let dirty = x.call("r", "scribble", vec![], None).unwrap();
            assert_ne!(dirty, fresh, "seed {seed}: scribble changed nothing");
            assert_eq!(
                x.call("r", "observe", vec![], None).unwrap(),
                fresh,
                "seed {seed} round {round}:\n{body}"
            );
            assert_eq!(x.info("r").unwrap().ready_instances, 1, "seed {seed}");
        }
    }
}

/// `_initialize` then `ferrite_init`, once before every call's entry: on a
/// reused instance (before its snapshot) and on a fresh one per call (a
/// module the rewrite does not cover, with `data.drop`).
#[test]
fn ferrite_init_runs_after_initialize_once_per_call_state() {
    for covered in [true, false] {
        let drop_data = if covered { "" } else { "(data.drop $d)" };
        let wasm = module(&format!(
            r#"(module
            (memory (export "memory") 1)
            (data $d "x")
            (global $g (mut i32) (i32.const 0))
            (func (export "_initialize") (global.set $g (i32.const 1)))
            (func (export "ferrite_init")
              (global.set $g (i32.add (i32.mul (global.get $g) (i32.const 10)) (i32.const 2))))
            (func (export "f") (result i32)
              {drop_data}
              (global.get $g)))"#
        ));
        let x = bare_executor(1);
        x.load("i", wasm, Some(all())).unwrap();
        for _ in 0..3 {
            assert_eq!(
                x.call("i", "f", vec![], None).unwrap(),
                WasmValue::I64(12),
                "covered: {covered}"
            );
        }
        assert_eq!(
            x.info("i").unwrap().ready_instances,
            usize::from(covered),
            "covered: {covered}"
        );
        // Neither initializer is callable.
        assert!(x.call("i", "ferrite_init", vec![], None).is_err());
    }
}

/// A memory the module does not export (as `memory` or at all) is put back
/// too: nothing of one call reaches the next.
#[test]
fn an_unexported_memory_is_restored_too() {
    let x = bare_executor(1);
    let wasm = module(
        r#"(module
        (memory 1)
        (func (export "count") (result i32)
          (i32.store (i32.const 100) (i32.add (i32.load (i32.const 100)) (i32.const 1)))
          (i32.load (i32.const 100))))"#,
    );
    x.load("m", wasm, Some(all())).unwrap();
    for _ in 0..5 {
        assert_eq!(
            x.call("m", "count", vec![], None).unwrap(),
            WasmValue::I64(1)
        );
        assert_eq!(x.info("m").unwrap().ready_instances, 1, "reused");
    }
}

/// Making an instance runs the module's initializers, which the inline
/// budget does not bound: an inline call that would have to make one is
/// handed back; once an instance is in the pool, inline calls use it.
#[test]
fn an_inline_call_does_not_run_initializers_on_the_callers_thread() {
    use ferrite_protocol::Frame;
    use ferrite_wasm::{AccessMode, CallRequest, Inline};
    let store = Arc::new(Store::new(StoreConfig::default()));
    let x = WasmExecutor::builder()
        .pool_size(0, 1)
        .keyspace(store.clone())
        .build()
        .unwrap();
    let wasm = module(&REACTOR.replace(
        "(func (export \"seen\")",
        "(func (export \"trap\") (unreachable))\n  (func (export \"seen\")",
    ));
    x.load("r", wasm, Some(all())).unwrap();
    let request = |export: &str| CallRequest {
        function: format!("r.{export}"),
        keys: None,
        args: Vec::new(),
        db: 0,
        mode: AccessMode::ReadWrite,
    };
    // The load left one instance in the pool: inline.
    let outcome = x.try_execute_inline(&*store, request("seen"));
    assert!(
        matches!(outcome, Inline::Done(Frame::Integer(11))),
        "{outcome:?}"
    );
    // A trap drops it: the pool is empty.
    assert!(x.call("r", "trap", vec![], None).is_err());
    assert_eq!(x.info("r").unwrap().ready_instances, 0);
    // Inline would have to instantiate (and initialize): handed back.
    let Inline::Deferred(deferred) = x.try_execute_inline(&*store, request("seen")) else {
        panic!("expected the call to be handed back");
    };
    // Run where waiting is allowed: it makes the instance and puts it back.
    assert_eq!(x.execute_frame(&*store, deferred), Frame::Integer(11));
    assert_eq!(x.info("r").unwrap().ready_instances, 1);
    let outcome = x.try_execute_inline(&*store, request("seen"));
    assert!(
        matches!(outcome, Inline::Done(Frame::Integer(11))),
        "{outcome:?}"
    );
}
