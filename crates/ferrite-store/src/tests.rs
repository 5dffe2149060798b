//! Crate-level tests: exact frames through `Store::execute`.

use bytes::Bytes;

use crate::{Frame, Store, StoreConfig};

pub(crate) fn argv(parts: &[&str]) -> Vec<Bytes> {
    parts.iter().map(|p| Bytes::copy_from_slice(p.as_bytes())).collect()
}

pub(crate) fn run(store: &Store, parts: &[&str]) -> Frame {
    store.execute(0, &argv(parts)).expect("not blocked")
}

pub(crate) fn bulk(s: &str) -> Frame {
    Frame::Bulk(Bytes::copy_from_slice(s.as_bytes()))
}

pub(crate) fn err(s: &str) -> Frame {
    Frame::Error(Bytes::copy_from_slice(s.as_bytes()))
}

pub(crate) fn ok() -> Frame {
    Frame::Simple(Bytes::from_static(b"OK"))
}

#[test]
fn get_set_basics() {
    let s = Store::new(StoreConfig::default());
    assert_eq!(run(&s, &["GET", "k"]), Frame::Null);
    assert_eq!(run(&s, &["SET", "k", "v"]), ok());
    assert_eq!(run(&s, &["get", "k"]), bulk("v"));
    assert_eq!(run(&s, &["SET", "k", "w", "NX"]), Frame::Null);
    assert_eq!(run(&s, &["SET", "k", "w", "XX", "GET"]), bulk("v"));
    assert_eq!(run(&s, &["GET", "k"]), bulk("w"));
    assert_eq!(run(&s, &["SET", "k", "w", "NX", "XX"]), err("ERR syntax error"));
    assert_eq!(run(&s, &["SET", "k", "w", "EX", "0"]), err("ERR invalid expire time in 'set' command"));
    assert_eq!(run(&s, &["SET", "k", "w", "EX", "x"]), err("ERR value is not an integer or out of range"));
    assert_eq!(run(&s, &["SET", "k"]), err("ERR wrong number of arguments for 'set' command"));
    assert_eq!(
        run(&s, &["FOO", "a", "b"]),
        err("ERR unknown command 'FOO', with args beginning with: 'a' 'b' ")
    );
    assert_eq!(run(&s, &["SET", "n", "12"]), ok());
    assert_eq!(run(&s, &["GET", "n"]), bulk("12"));
}

#[test]
fn set_px_expires() {
    let s = Store::new(StoreConfig::default());
    assert_eq!(run(&s, &["SET", "k", "v", "PX", "30"]), ok());
    assert_eq!(run(&s, &["GET", "k"]), bulk("v"));
    std::thread::sleep(std::time::Duration::from_millis(60));
    assert_eq!(run(&s, &["GET", "k"]), Frame::Null);
    assert_eq!(s.dbsize(0), 0, "lazy expiry deleted the key");
}

#[test]
fn txn_blocks_only_its_keys() {
    use crate::{Scope, TxnMode};
    use std::time::{Duration, Instant};
    let s = std::sync::Arc::new(Store::new(StoreConfig::default()));
    let deadline = Instant::now() + Duration::from_secs(5);
    let mut txn = s
        .begin(0, Scope::Keys(argv(&["a"])), TxnMode::ReadWrite, deadline)
        .unwrap();
    assert_eq!(txn.execute(&argv(&["SET", "a", "1"])), ok());
    assert_eq!(
        txn.execute(&argv(&["SET", "b", "1"])),
        err("ERR key 'b' is not declared in KEYS")
    );
    let (tx, rx) = std::sync::mpsc::channel();
    let other = std::sync::Arc::clone(&s);
    let handle = std::thread::spawn(move || {
        let blocked = other.execute(0, &argv(&["GET", "a"]));
        let free = other.execute(0, &argv(&["SET", "b", "2"]));
        tx.send(()).unwrap();
        (blocked.is_err(), free)
    });
    rx.recv_timeout(Duration::from_secs(5)).unwrap();
    let (was_blocked, free) = handle.join().unwrap();
    assert!(was_blocked, "GET a must be blocked while the txn holds a");
    assert_eq!(free.ok(), Some(ok()));
    let blocked = s.execute(0, &argv(&["GET", "a"])).unwrap_err();
    assert!(!blocked.is_released());
    txn.rollback();
    assert!(blocked.is_released());
    assert_eq!(run(&s, &["GET", "a"]), Frame::Null, "rollback removed a");
    assert_eq!(run(&s, &["GET", "b"]), bulk("2"));
}

#[test]
fn blocked_waiter_wakes_async() {
    use crate::{Scope, TxnMode};
    use std::time::{Duration, Instant};
    let s = std::sync::Arc::new(Store::new(StoreConfig::default()));
    let txn = s
        .begin_shared(0, Scope::All, TxnMode::ReadWrite, Instant::now() + Duration::from_secs(1))
        .unwrap();
    let blocked = s.execute(0, &argv(&["GET", "x"])).unwrap_err();
    let waiter = std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread().enable_time().build().unwrap();
        rt.block_on(async {
            tokio::time::timeout(Duration::from_secs(5), blocked.wait()).await.is_ok()
        })
    });
    std::thread::sleep(Duration::from_millis(20));
    txn.commit();
    assert!(waiter.join().unwrap());
    assert_eq!(run(&s, &["GET", "x"]), Frame::Null);
}
