;; A fixed-window rate limiter in the SDK convention (docs/abi.md §3):
;; rate_limit(key: str, limit: i64, window: i64) -> i64
;; answers 1 (allowed) or 0 (rate limited).
(module
  (import "ferrite" "ferrite_arg" (func $arg (param i32) (result i64)))
  (import "ferrite" "ferrite_result_read" (func $read (param i32 i32) (result i32)))
  (import "ferrite" "ferrite_get" (func $get (param i32 i32) (result i64)))
  (import "ferrite" "ferrite_incr" (func $incr (param i32 i32) (result i64)))
  (import "ferrite" "ferrite_expire" (func $expire (param i32 i32 i64) (result i32)))
  (import "ferrite" "ferrite_return_int" (func $ret (param i64)))
  (memory (export "memory") 1)
  (@custom "ferrite.abi" "ferrite-abi 1\nfn rate_limit sdk key:str limit:i64 window:i64 -> i64\n")

  ;; Copies argument $i to $dst (at most 256 bytes); returns its length.
  (func $load (param $i i32) (param $dst i32) (result i32)
    (if (i64.gt_u (call $arg (local.get $i)) (i64.const 256)) (then (unreachable)))
    (call $read (local.get $dst) (i32.const 256)))

  ;; Parses the unsigned decimal at $p .. $p + $n.
  (func $parse (param $p i32) (param $n i32) (result i64)
    (local $v i64) (local $end i32)
    (local.set $end (i32.add (local.get $p) (local.get $n)))
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $p) (local.get $end)))
        (local.set $v
          (i64.add (i64.mul (local.get $v) (i64.const 10))
                   (i64.extend_i32_u (i32.sub (i32.load8_u (local.get $p)) (i32.const 48)))))
        (local.set $p (i32.add (local.get $p) (i32.const 1)))
        (br $next)))
    (local.get $v))

  (func (export "rate_limit")
    (local $kl i32) (local $limit i64) (local $window i64) (local $n i64) (local $count i64)
    (local.set $kl (call $load (i32.const 0) (i32.const 0)))
    (local.set $limit (call $parse (i32.const 256) (call $load (i32.const 1) (i32.const 256))))
    (local.set $window (call $parse (i32.const 512) (call $load (i32.const 2) (i32.const 512))))
    ;; GET key -> current count (nil = 0)
    (local.set $n (call $get (i32.const 0) (local.get $kl)))
    (if (i64.ge_s (local.get $n) (i64.const 0))
      (then (local.set $count (call $parse (i32.const 768) (call $read (i32.const 768) (i32.const 32))))))
    (if (i64.ge_s (local.get $count) (local.get $limit))
      (then (call $ret (i64.const 0)) (return)))
    ;; INCR key, and EXPIRE key window when the window starts
    (if (i64.eq (call $incr (i32.const 0) (local.get $kl)) (i64.const 1))
      (then (drop (call $expire (i32.const 0) (local.get $kl) (local.get $window)))))
    (call $ret (i64.const 1))))
