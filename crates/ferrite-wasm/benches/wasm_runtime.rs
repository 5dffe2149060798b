//! WASM runtime micro-benchmarks (docs/benchmarks.md, "WASM runtime
//! micro-benchmarks"): `cargo bench -p ferrite-wasm --bench wasm_runtime`.

use std::hint::black_box;
use std::sync::Arc;

use criterion::{criterion_group, criterion_main, BatchSize, Criterion};
use ferrite_store::{Store, StoreConfig};
use ferrite_wasm::{FunctionPermissions, LoadOptions, WasmExecutor, WasmValue};

const TRIVIAL: &str = r#"(module
  (import "ferrite" "ferrite_return_int" (func $ret (param i64)))
  (memory (export "memory") 1)
  (func (export "f") (call $ret (i64.const 1))))"#;

/// Go-seed typed signature; exactly three host calls per call.
const RATE_LIMIT: &str = r#"(module
  (import "ferrite" "ferrite_exists" (func $exists (param i32 i32) (result i32)))
  (import "ferrite" "ferrite_incr" (func $incr (param i32 i32) (result i64)))
  (import "ferrite" "ferrite_expire" (func $expire (param i32 i32 i64) (result i32)))
  (memory (export "memory") 1)
  (global $bump (mut i32) (i32.const 1024))
  (func (export "ferrite_alloc") (param $n i32) (result i32)
    (local $p i32) (local.set $p (global.get $bump))
    (global.set $bump (i32.add (global.get $bump) (local.get $n))) (local.get $p))
  (func (export "rate_limit") (param $kp i32) (param $kl i32) (param $limit i32) (param $window i32) (result i32)
    (local $fresh i32) (local $n i64)
    (local.set $fresh (i32.eqz (call $exists (local.get $kp) (local.get $kl))))
    (local.set $n (call $incr (local.get $kp) (local.get $kl)))
    (drop (call $expire (local.get $kp) (local.get $kl) (i64.extend_i32_s (local.get $window))))
    (i64.le_s (local.get $n) (i64.extend_i32_s (local.get $limit)))))"#;

/// A module of about 100 KB: many functions with arithmetic and branches.
fn big_module() -> Vec<u8> {
    let mut wat = String::from("(module (memory (export \"memory\") 1)\n");
    let mut i = 0;
    loop {
        // Cranelift compiles every function; only a few are exported.
        let export = if i % 100 == 0 {
            format!("(export \"f{i}\") ")
        } else {
            String::new()
        };
        wat.push_str(&format!(
            "(func $f{i} {export}(param $a i64) (param $b i64) (result i64) (local $t i64)
               (local.set $t (i64.mul (local.get $a) (i64.const {i})))
               (if (i64.gt_s (local.get $t) (local.get $b))
                 (then (local.set $t (i64.sub (local.get $t) (i64.rotl (local.get $b) (i64.const 3)))))
                 (else (local.set $t (i64.xor (local.get $t) (i64.load (i32.wrap_i64 (i64.and (local.get $b) (i64.const 1023))))))))
               (i64.store (i32.const 64) (local.get $t))
               (i64.add (local.get $t) (i64.popcnt (local.get $a))))\n"
        ));
        i += 1;
        if i % 50 == 0 && wat::parse_str(format!("{wat})")).unwrap().len() >= 100 * 1024 {
            break;
        }
    }
    wat.push(')');
    wat::parse_str(&wat).unwrap()
}

/// Appends a custom section so that the bytes (and hash) differ.
fn with_nonce(base: &[u8], nonce: u64) -> Vec<u8> {
    let name = b"nonce";
    let payload = nonce.to_le_bytes();
    let mut out = base.to_vec();
    out.push(0);
    out.push((1 + name.len() + payload.len()) as u8);
    out.push(name.len() as u8);
    out.extend_from_slice(name);
    out.extend_from_slice(&payload);
    out
}

fn benches(c: &mut Criterion) {
    let store = Arc::new(Store::new(StoreConfig::default()));
    let executor = WasmExecutor::builder()
        .pool_size(2, 16)
        .keyspace(store)
        .build()
        .unwrap();
    executor
        .load("trivial", wat::parse_str(TRIVIAL).unwrap(), None)
        .unwrap();
    executor
        .load(
            "rl",
            wat::parse_str(RATE_LIMIT).unwrap(),
            Some(FunctionPermissions::read_write()),
        )
        .unwrap();

    c.bench_function("warm_trivial_call", |b| {
        b.iter(|| black_box(executor.call("trivial", "f", vec![], None).unwrap()))
    });
    // The same call with no ready instances kept: every call instantiates
    // inline (pooling allocator + copy-on-write image).
    let inline = WasmExecutor::builder()
        .pool_size(0, 16)
        .keyspace(Arc::new(Store::new(StoreConfig::default())))
        .build()
        .unwrap();
    inline
        .load("trivial", wat::parse_str(TRIVIAL).unwrap(), None)
        .unwrap();
    c.bench_function("warm_trivial_call_inline_instantiation", |b| {
        b.iter(|| black_box(inline.call("trivial", "f", vec![], None).unwrap()))
    });
    drop(inline);
    c.bench_function("warm_rate_limit_call_3_host_calls", |b| {
        let args = || {
            vec![
                WasmValue::Bytes(b"rate:user:1".to_vec()),
                WasmValue::I64(i32::MAX.into()),
                WasmValue::I64(60),
            ]
        };
        b.iter(|| black_box(executor.call("rl", "rate_limit", args(), None).unwrap()))
    });

    let base = big_module();
    eprintln!("cold-load module size: {} bytes", base.len());
    let mut nonce = 0u64;
    let mut group = c.benchmark_group("cold");
    group.sample_size(10);
    group.bench_function("cold_load_100kb_module", |b| {
        b.iter_batched(
            || {
                nonce += 1;
                with_nonce(&base, nonce)
            },
            |bytes| {
                executor
                    .load_with(
                        "big",
                        &bytes,
                        LoadOptions {
                            replace: true,
                            ..Default::default()
                        },
                    )
                    .unwrap();
            },
            BatchSize::PerIteration,
        )
    });
    group.finish();
}

criterion_group!(wasm_runtime, benches);
criterion_main!(wasm_runtime);
