//! Shared helpers of the WAT-based runtime tests.
#![allow(dead_code, reason = "each test binary uses a different subset")]

use std::sync::Arc;

use bytes::Bytes;
use ferrite_protocol::Frame;
use ferrite_store::{Store, StoreConfig};
use ferrite_wasm::{FunctionPermissions, ResourceLimits, WasmExecutor, WasmValue};

/// Every `ferrite` import in its primary signature.
pub const IMPORTS: &str = r#"
(import "ferrite" "ferrite_argc" (func $argc (result i32)))
(import "ferrite" "ferrite_numkeys" (func $numkeys (result i32)))
(import "ferrite" "ferrite_arg" (func $arg (param i32) (result i64)))
(import "ferrite" "ferrite_result_read" (func $result_read (param i32 i32) (result i32)))
(import "ferrite" "ferrite_arg_read" (func $arg_read (param i32 i32 i32) (result i64)))
(import "ferrite" "ferrite_return" (func $return (param i32 i32)))
(import "ferrite" "ferrite_return_int" (func $return_int (param i64)))
(import "ferrite" "ferrite_return_nil" (func $return_nil))
(import "ferrite" "ferrite_return_resp" (func $return_resp (param i32 i32)))
(import "ferrite" "ferrite_error" (func $error (param i32 i32)))
(import "ferrite" "ferrite_get" (func $get (param i32 i32) (result i64)))
(import "ferrite" "ferrite_set" (func $set (param i32 i32 i32 i32) (result i32)))
(import "ferrite" "ferrite_del" (func $del (param i32 i32) (result i32)))
(import "ferrite" "ferrite_exists" (func $exists (param i32 i32) (result i32)))
(import "ferrite" "ferrite_incr" (func $incr (param i32 i32) (result i64)))
(import "ferrite" "ferrite_incrby" (func $incrby (param i32 i32 i64) (result i64)))
(import "ferrite" "ferrite_hget" (func $hget (param i32 i32 i32 i32) (result i64)))
(import "ferrite" "ferrite_hset" (func $hset (param i32 i32 i32 i32 i32 i32) (result i32)))
(import "ferrite" "ferrite_expire" (func $expire (param i32 i32 i64) (result i32)))
(import "ferrite" "ferrite_ttl" (func $ttl (param i32 i32) (result i64)))
(import "ferrite" "ferrite_zadd" (func $zadd (param i32 i32 f64 i32 i32) (result i32)))
(import "ferrite" "ferrite_zcard" (func $zcard (param i32 i32) (result i64)))
(import "ferrite" "ferrite_zremrangebyscore" (func $zrem (param i32 i32 i32 i32 i32 i32) (result i64)))
(import "ferrite" "ferrite_keys" (func $keys (param i32 i32) (result i64)))
(import "ferrite" "ferrite_call" (func $call (param i32 i32) (result i64)))
(import "ferrite" "ferrite_log" (func $log (param i32 i32 i32)))
(import "ferrite" "ferrite_time_millis" (func $time (result i64)))
(import "ferrite" "ferrite_now" (func $now (result i64)))
(import "ferrite" "ferrite_random_f64" (func $random_f64 (result f64)))
(import "ferrite" "ferrite_random_bytes" (func $random_bytes (param i32 i32) (result i32)))
"#;

/// Memory layout of [`guest`]: argument buffers A0..A3 at 512, 4608, 8704,
/// 12800 (4 KiB each), result scratch at 16384, bump allocator from 32768.
pub const PRELUDE: &str = r#"
(memory (export "memory") 1)
(global $bump (mut i32) (i32.const 32768))
(func (export "ferrite_alloc") (param $n i32) (result i32)
  (local $p i32)
  (local.set $p (global.get $bump))
  (global.set $bump (i32.add (global.get $bump) (local.get $n)))
  (local.get $p))
(data (i32.const 0) "-inf")
(data (i32.const 8) "+inf")
;; copies argument $i to buffer $i; returns its length (traps if missing)
(func $a (param $i i32) (result i32)
  (if (i64.lt_s (call $arg (local.get $i)) (i64.const 0)) (then (unreachable)))
  (call $result_read (call $buf (local.get $i)) (i32.const 4096)))
(func $buf (param $i i32) (result i32)
  (i32.add (i32.const 512) (i32.mul (local.get $i) (i32.const 4096))))
;; returns the current result buffer as a bulk reply (nil if $n < 0)
(func $ret_result (param $n i64)
  (if (i64.lt_s (local.get $n) (i64.const 0))
    (then (call $return_nil))
    (else
      (drop (call $result_read (i32.const 16384) (i32.wrap_i64 (local.get $n))))
      (call $return (i32.const 16384) (i32.wrap_i64 (local.get $n))))))
"#;

/// A module with every import, the prelude and `body`.
pub fn guest(body: &str) -> Vec<u8> {
    wat::parse_str(format!("(module {IMPORTS} {PRELUDE} {body})")).expect("valid WAT")
}

/// A module from raw WAT text.
pub fn module(text: &str) -> Vec<u8> {
    wat::parse_str(text).expect("valid WAT")
}

/// An executor over a fresh store, with small pools.
pub fn setup() -> (WasmExecutor, Arc<Store>) {
    setup_with(ResourceLimits::default())
}

pub fn setup_with(limits: ResourceLimits) -> (WasmExecutor, Arc<Store>) {
    let store = Arc::new(Store::new(StoreConfig::default()));
    let executor = WasmExecutor::builder()
        .limits(limits)
        .pool_size(1, 8)
        .allow_network(true)
        .keyspace(store.clone())
        .build()
        .expect("executor");
    (executor, store)
}

pub fn all() -> FunctionPermissions {
    FunctionPermissions::permissive()
}

pub fn s(v: &str) -> WasmValue {
    WasmValue::String(v.to_string())
}

pub fn bulk(v: &str) -> WasmValue {
    WasmValue::Bytes(v.as_bytes().to_vec())
}

/// Runs a command directly on the store (db 0).
pub fn redis(store: &Store, args: &[&str]) -> Frame {
    let argv: Vec<Bytes> = args
        .iter()
        .map(|a| Bytes::copy_from_slice(a.as_bytes()))
        .collect();
    store.execute(0, &argv).expect("not blocked")
}

/// List encoding (docs/abi.md §2).
pub fn list(items: &[&[u8]]) -> Vec<u8> {
    let mut out = (items.len() as u32).to_le_bytes().to_vec();
    for item in items {
        out.extend_from_slice(&(item.len() as u32).to_le_bytes());
        out.extend_from_slice(item);
    }
    out
}
