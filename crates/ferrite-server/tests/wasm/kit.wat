;; Test kit for the WASM.* command tests: one module, many exports, all in
;; the SDK convention `() -> ()` (docs/abi.md §3). Arguments are read with
;; ferrite_arg into fixed 256-byte slots: argument 0 at 0, argument 1 at 256.
(module
  (import "ferrite" "ferrite_arg" (func $arg (param i32) (result i64)))
  (import "ferrite" "ferrite_result_read" (func $read (param i32 i32) (result i32)))
  (import "ferrite" "ferrite_get" (func $get (param i32 i32) (result i64)))
  (import "ferrite" "ferrite_set" (func $set (param i32 i32 i32 i32) (result i32)))
  (import "ferrite" "ferrite_return" (func $ret_bytes (param i32 i32)))
  (import "ferrite" "ferrite_return_int" (func $ret (param i64)))
  (import "ferrite" "ferrite_error" (func $error (param i32 i32)))
  (memory (export "memory") 1)
  (data (i32.const 1024) "x")
  (data (i32.const 1025) "y")
  (data (i32.const 1026) "w")
  (data (i32.const 1040) "INVALID nope")

  ;; Copies argument $i to $dst (at most 256 bytes); returns its length.
  (func $load (param $i i32) (param $dst i32) (result i32)
    (if (i64.gt_u (call $arg (local.get $i)) (i64.const 256)) (then (unreachable)))
    (call $read (local.get $dst) (i32.const 256)))

  ;; The default export: touches no key.
  (func (export "kit") (call $ret (i64.const 1)))

  ;; SET arg0 x, SET arg1 y.
  (func $set2
    (drop (call $set (i32.const 0) (call $load (i32.const 0) (i32.const 0)) (i32.const 1024) (i32.const 1)))
    (drop (call $set (i32.const 256) (call $load (i32.const 1) (i32.const 256)) (i32.const 1025) (i32.const 1))))
  (func (export "set2") (call $set2) (call $ret (i64.const 1)))
  (func (export "set2_trap") (call $set2) (unreachable))
  (func (export "set2_spin") (call $set2) (loop $l (br $l)))
  (func (export "set2_fail") (call $set2) (call $error (i32.const 1040) (i32.const 12)))

  ;; SET arg0 w.
  (func (export "set0")
    (drop (call $set (i32.const 0) (call $load (i32.const 0) (i32.const 0)) (i32.const 1026) (i32.const 1)))
    (call $ret (i64.const 1)))

  ;; GET arg0 (nil stays nil).
  (func (export "get0")
    (local $n i64)
    (local.set $n (call $get (i32.const 0) (call $load (i32.const 0) (i32.const 0))))
    (if (i64.lt_s (local.get $n) (i64.const 0)) (then (return)))
    (if (i64.gt_u (local.get $n) (i64.const 512)) (then (unreachable)))
    (call $ret_bytes (i32.const 512) (call $read (i32.const 512) (i32.const 512))))

  ;; GET arg0, then spin until the timeout ends the call.
  (func (export "hold0_spin")
    (drop (call $get (i32.const 0) (call $load (i32.const 0) (i32.const 0))))
    (loop $l (br $l)))

  ;; Spin without touching a key.
  (func (export "spin") (loop $l (br $l))))
