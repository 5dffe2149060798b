//! `WasmExecutor::try_execute_inline`: short calls run on the caller's
//! thread; anything that would wait or overrun the budget is rolled back and
//! handed back untouched.

mod common;

use std::time::{Duration, Instant};

use bytes::Bytes;
use common::*;
use ferrite_protocol::Frame;
use ferrite_store::{Scope, TxnMode};
use ferrite_wasm::{AccessMode, CallRequest, Inline, ResourceLimits, WasmError};

/// `set`: SET arg0 "+inf", reply 1. `set_spin`: the same, then spins.
/// `get`: GET arg0. `one`: reply 1, no key.
const BODY: &str = r#"
(func (export "set")
  (drop (call $set (i32.const 512) (call $a (i32.const 0)) (i32.const 8) (i32.const 4)))
  (call $return_int (i64.const 1)))
(func (export "set_spin")
  (drop (call $set (i32.const 512) (call $a (i32.const 0)) (i32.const 8) (i32.const 4)))
  (loop $l (br $l)))
(func (export "get")
  (call $ret_result (call $get (i32.const 512) (call $a (i32.const 0)))))
(func (export "one") (call $return_int (i64.const 1)))
"#;

fn request(function: &str, keys: Option<&[&str]>, args: &[&str]) -> CallRequest {
    let b = |v: &[&str]| -> Vec<Bytes> {
        v.iter()
            .map(|s| Bytes::copy_from_slice(s.as_bytes()))
            .collect()
    };
    CallRequest {
        function: function.to_string(),
        keys: keys.map(b),
        args: b(args),
        db: 0,
        mode: AccessMode::ReadWrite,
    }
}

fn deferred(outcome: Inline) -> CallRequest {
    match outcome {
        Inline::Deferred(request) => request,
        Inline::Done(frame) => panic!("expected a deferred call, got {frame:?}"),
    }
}

#[test]
fn a_short_call_runs_inline_and_commits() {
    let (executor, store) = setup();
    executor.load("kit", guest(BODY), Some(all())).unwrap();
    let outcome = executor.try_execute_inline(&*store, request("kit.set", Some(&["k"]), &[]));
    assert!(
        matches!(outcome, Inline::Done(Frame::Integer(1))),
        "{outcome:?}"
    );
    assert_eq!(
        redis(&store, &["GET", "k"]),
        Frame::Bulk(Bytes::from("+inf"))
    );
    // Errors are final too (not deferred): an unknown function.
    let outcome = executor.try_execute_inline(&*store, request("nope", None, &[]));
    assert!(
        matches!(outcome, Inline::Done(Frame::Error(_))),
        "{outcome:?}"
    );
}

#[test]
fn an_overrun_is_rolled_back_handed_back_and_backs_the_function_off() {
    let (executor, store) = setup_with(ResourceLimits {
        max_time: Duration::from_millis(2_000),
        max_fuel: 1_000_000_000_000,
        ..ResourceLimits::default()
    });
    executor.load("kit", guest(BODY), Some(all())).unwrap();
    let t0 = Instant::now();
    let back = deferred(
        executor.try_execute_inline(&*store, request("kit.set_spin", Some(&["k"]), &["x"])),
    );
    // Stopped after about INLINE_BUDGET of CPU (plus ticks), not at the 2 s
    // timeout (a wide bound: it tells the two apart, it is not a speed goal).
    assert!(
        t0.elapsed() < Duration::from_millis(1_000),
        "{:?}",
        t0.elapsed()
    );
    assert_eq!(back.function, "kit.set_spin");
    assert_eq!(back.keys, Some(vec![Bytes::from("k")]));
    assert_eq!(back.args, vec![Bytes::from("x")]);
    // Its SET was undone.
    assert_eq!(redis(&store, &["EXISTS", "k"]), Frame::Integer(0));
    // The function is now kept off the inline path: handed back at once,
    // even for its short export (`deferred` asserts it was not run).
    deferred(executor.try_execute_inline(&*store, request("kit.one", None, &[])));
    // The blocking path runs it to its real end.
    assert!(matches!(
        executor.execute(&*store, back),
        Err(WasmError::Timeout(2_000))
    ));
    assert_eq!(redis(&store, &["EXISTS", "k"]), Frame::Integer(0));
}

#[test]
fn a_held_key_is_not_waited_for() {
    let (executor, store) = setup();
    executor.load("kit", guest(BODY), Some(all())).unwrap();
    let deadline = Instant::now() + Duration::from_secs(5);
    let holder = store
        .begin(
            0,
            Scope::Keys(vec![Bytes::from("k")]),
            TxnMode::ReadWrite,
            deadline,
        )
        .unwrap();
    let t0 = Instant::now();
    let back =
        deferred(executor.try_execute_inline(&*store, request("kit.set", Some(&["k"]), &[])));
    // Not waited for the holder (it holds the key for the whole test; the
    // call's own deadline is 5 s): a wide bound that tells the two apart.
    assert!(t0.elapsed() < Duration::from_millis(2_000));
    assert_eq!(executor.stats("kit").unwrap().deferred, 1);
    // Another key is free: that call runs.
    let outcome = executor.try_execute_inline(&*store, request("kit.set", Some(&["other"]), &[]));
    assert!(
        matches!(outcome, Inline::Done(Frame::Integer(1))),
        "{outcome:?}"
    );
    holder.rollback();
    assert_eq!(executor.execute(&*store, back).unwrap(), Frame::Integer(1));
    assert_eq!(
        redis(&store, &["GET", "k"]),
        Frame::Bulk(Bytes::from("+inf"))
    );
}

#[test]
fn a_lazy_call_that_would_wait_for_the_keyspace_is_handed_back() {
    let (executor, store) = setup();
    executor.load("kit", guest(BODY), Some(all())).unwrap();
    redis(&store, &["SET", "k", "v"]);
    let deadline = Instant::now() + Duration::from_secs(5);
    let holder = store
        .begin(
            0,
            Scope::Keys(vec![Bytes::from("k")]),
            TxnMode::ReadWrite,
            deadline,
        )
        .unwrap();
    // No KEYS: the call takes the whole keyspace at its first key access,
    // which would wait for `holder`.
    let back = deferred(executor.try_execute_inline(&*store, request("kit.get", None, &["k"])));
    assert_eq!(back.keys, None);
    assert_eq!(back.args, vec![Bytes::from("k")]);
    // A call that touches no key needs no lock.
    let outcome = executor.try_execute_inline(&*store, request("kit.one", None, &[]));
    assert!(
        matches!(outcome, Inline::Done(Frame::Integer(1))),
        "{outcome:?}"
    );
    holder.rollback();
    let outcome = executor.try_execute_inline(&*store, back);
    assert!(
        matches!(&outcome, Inline::Done(Frame::Bulk(b)) if b == "v"),
        "{outcome:?}"
    );
}
