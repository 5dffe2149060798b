//! Crate-level tests: exact frames through `Store::execute`.

use bytes::Bytes;

use crate::{Frame, Store, StoreConfig};

pub(crate) fn argv(parts: &[&str]) -> Vec<Bytes> {
    parts
        .iter()
        .map(|p| Bytes::copy_from_slice(p.as_bytes()))
        .collect()
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
    assert_eq!(
        run(&s, &["SET", "k", "w", "NX", "XX"]),
        err("ERR syntax error")
    );
    assert_eq!(
        run(&s, &["SET", "k", "w", "EX", "0"]),
        err("ERR invalid expire time in 'set' command")
    );
    assert_eq!(
        run(&s, &["SET", "k", "w", "EX", "x"]),
        err("ERR value is not an integer or out of range")
    );
    assert_eq!(
        run(&s, &["SET", "k"]),
        err("ERR wrong number of arguments for 'set' command")
    );
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
        .begin_shared(
            0,
            Scope::All,
            TxnMode::ReadWrite,
            Instant::now() + Duration::from_secs(1),
        )
        .unwrap();
    let blocked = s.execute(0, &argv(&["GET", "x"])).unwrap_err();
    let waiter = std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .unwrap();
        rt.block_on(async {
            tokio::time::timeout(Duration::from_secs(5), blocked.wait())
                .await
                .is_ok()
        })
    });
    std::thread::sleep(Duration::from_millis(20));
    txn.commit();
    assert!(waiter.join().unwrap());
    assert_eq!(run(&s, &["GET", "x"]), Frame::Null);
}

fn int(n: i64) -> Frame {
    Frame::Integer(n)
}

fn arr(items: Vec<Frame>) -> Frame {
    Frame::Array(items)
}

fn set_of(items: &[&str]) -> Frame {
    Frame::Set(items.iter().map(|s| bulk(s)).collect())
}

fn simple(s: &str) -> Frame {
    Frame::Simple(Bytes::copy_from_slice(s.as_bytes()))
}

const WRONGTYPE: &str = "WRONGTYPE Operation against a key holding the wrong kind of value";

#[test]
fn strings_family() {
    let s = Store::new(StoreConfig::default());
    assert_eq!(run(&s, &["SETNX", "k", "1"]), int(1));
    assert_eq!(run(&s, &["SETNX", "k", "2"]), int(0));
    assert_eq!(run(&s, &["INCRBY", "k", "41"]), int(42));
    assert_eq!(run(&s, &["DECR", "k"]), int(41));
    assert_eq!(
        run(&s, &["DECRBY", "k", "-9223372036854775808"]),
        err("ERR decrement would overflow")
    );
    assert_eq!(run(&s, &["SET", "max", "9223372036854775807"]), ok());
    assert_eq!(
        run(&s, &["INCR", "max"]),
        err("ERR increment or decrement would overflow")
    );
    assert_eq!(run(&s, &["SET", "t", "hello"]), ok());
    assert_eq!(
        run(&s, &["INCR", "t"]),
        err("ERR value is not an integer or out of range")
    );
    assert_eq!(run(&s, &["APPEND", "t", " world"]), int(11));
    assert_eq!(run(&s, &["STRLEN", "t"]), int(11));
    assert_eq!(run(&s, &["GETRANGE", "t", "-5", "-1"]), bulk("world"));
    assert_eq!(run(&s, &["GETRANGE", "t", "5", "1"]), bulk(""));
    assert_eq!(run(&s, &["SETRANGE", "t", "0", "J"]), int(11));
    assert_eq!(run(&s, &["SETRANGE", "pad", "3", "x"]), int(4));
    assert_eq!(
        run(&s, &["GET", "pad"]),
        Frame::Bulk(Bytes::from_static(b"\0\0\0x"))
    );
    assert_eq!(
        run(&s, &["SETRANGE", "t", "-1", "x"]),
        err("ERR offset is out of range")
    );
    assert_eq!(
        run(&s, &["SETRANGE", "t", "536870912", "x"]),
        err("ERR string exceeds maximum allowed size (proto-max-bulk-len)")
    );
    assert_eq!(run(&s, &["MSET", "a", "1", "b", "2"]), ok());
    assert_eq!(
        run(&s, &["MSET", "a", "1", "b"]),
        err("ERR wrong number of arguments for 'mset' command")
    );
    assert_eq!(
        run(&s, &["MGET", "a", "nokey", "b"]),
        arr(vec![bulk("1"), Frame::Null, bulk("2")])
    );
    assert_eq!(run(&s, &["MSETNX", "a", "9", "c", "3"]), int(0));
    assert_eq!(run(&s, &["MSETNX", "c", "3", "d", "4"]), int(1));
    assert_eq!(run(&s, &["INCRBYFLOAT", "f", "10.5"]), bulk("10.5"));
    assert_eq!(run(&s, &["INCRBYFLOAT", "f", "0.1"]), bulk("10.6"));
    assert_eq!(
        run(&s, &["INCRBYFLOAT", "f", "-5.0e3"]),
        bulk("-4989.39999999999999991"),
        "as redis-server 7.0.15"
    );
    assert_eq!(
        run(&s, &["INCRBYFLOAT", "f", "inf"]),
        err("ERR increment would produce NaN or Infinity")
    );
    assert_eq!(
        run(&s, &["INCRBYFLOAT", "f", "x"]),
        err("ERR value is not a valid float")
    );
    assert_eq!(run(&s, &["GETDEL", "a"]), bulk("1"));
    assert_eq!(run(&s, &["GETDEL", "a"]), Frame::Null);
    assert_eq!(
        run(&s, &["SETEX", "e", "0", "v"]),
        err("ERR invalid expire time in 'setex' command")
    );
    assert_eq!(run(&s, &["PSETEX", "e", "100000", "v"]), ok());
    assert_eq!(run(&s, &["GETEX", "e", "PERSIST"]), bulk("v"));
    assert_eq!(run(&s, &["TTL", "e"]), int(-1));
    assert_eq!(run(&s, &["GETEX", "e", "EX", "100"]), bulk("v"));
    assert_eq!(run(&s, &["TTL", "e"]), int(100));
    assert_eq!(run(&s, &["GETEX", "e", "EXAT", "1"]), bulk("v"));
    assert_eq!(run(&s, &["EXISTS", "e"]), int(0));
    assert_eq!(
        run(&s, &["GETEX", "b", "PX", "1", "PERSIST"]),
        err("ERR syntax error")
    );
    assert_eq!(
        run(&s, &["SET", "k", "v", "KEEPTTL", "EX", "1"]),
        err("ERR syntax error")
    );
    assert_eq!(run(&s, &["SADD", "set", "x"]), int(1));
    for cmd in [
        &["GET", "set"][..],
        &["INCR", "set"],
        &["APPEND", "set", "x"],
        &["SET", "set", "v", "GET"],
    ] {
        assert_eq!(run(&s, cmd), err(WRONGTYPE), "{cmd:?}");
    }
    assert_eq!(run(&s, &["MGET", "set"]), arr(vec![Frame::Null]));
    assert_eq!(
        run(&s, &["SET", "set", "v"]),
        ok(),
        "SET overwrites any type"
    );
}

#[test]
fn keys_family() {
    let s = Store::new(StoreConfig::default());
    assert_eq!(run(&s, &["MSET", "a", "1", "b", "2", "c", "3"]), ok());
    assert_eq!(run(&s, &["EXISTS", "a", "a", "x"]), int(2));
    assert_eq!(run(&s, &["DEL", "a", "x"]), int(1));
    assert_eq!(run(&s, &["UNLINK", "b"]), int(1));
    assert_eq!(run(&s, &["TYPE", "c"]), simple("string"));
    assert_eq!(run(&s, &["TYPE", "x"]), simple("none"));
    assert_eq!(run(&s, &["TTL", "c"]), int(-1));
    assert_eq!(run(&s, &["TTL", "x"]), int(-2));
    assert_eq!(run(&s, &["EXPIRE", "c", "100", "XX"]), int(0));
    assert_eq!(run(&s, &["EXPIRE", "c", "100", "GT"]), int(0));
    assert_eq!(run(&s, &["EXPIRE", "c", "100", "LT"]), int(1));
    assert_eq!(run(&s, &["EXPIRE", "c", "50", "GT"]), int(0));
    assert_eq!(run(&s, &["EXPIRE", "c", "200", "GT"]), int(1));
    assert_eq!(run(&s, &["EXPIRE", "c", "100", "NX"]), int(0));
    assert_eq!(run(&s, &["TTL", "c"]), int(200));
    assert_eq!(
        run(&s, &["EXPIRE", "c", "1", "NX", "GT"]),
        err("ERR NX and XX, GT or LT options at the same time are not compatible")
    );
    assert_eq!(
        run(&s, &["EXPIRE", "c", "1", "GT", "LT"]),
        err("ERR GT and LT options at the same time are not compatible")
    );
    assert_eq!(
        run(&s, &["EXPIRE", "c", "1", "BOGUS"]),
        err("ERR Unsupported option BOGUS")
    );
    assert_eq!(
        run(&s, &["EXPIRE", "c", "9223372036854775807"]),
        err("ERR invalid expire time in 'expire' command")
    );
    assert_eq!(run(&s, &["PEXPIREAT", "c", "32503680000123"]), int(1));
    assert_eq!(run(&s, &["PEXPIRETIME", "c"]), int(32503680000123));
    assert_eq!(run(&s, &["EXPIRETIME", "c"]), int(32503680000));
    assert_eq!(run(&s, &["PERSIST", "c"]), int(1));
    assert_eq!(run(&s, &["PERSIST", "c"]), int(0));
    assert_eq!(run(&s, &["EXPIRE", "c", "-1"]), int(1));
    assert_eq!(run(&s, &["EXISTS", "c"]), int(0));

    assert_eq!(run(&s, &["MSET", "k1", "v", "k2", "v", "other", "v"]), ok());
    assert_eq!(run(&s, &["PEXPIRE", "k2", "100000"]), int(1));
    let mut keys = match run(&s, &["KEYS", "k*"]) {
        Frame::Array(v) => v,
        other => panic!("{other:?}"),
    };
    keys.sort_by_key(|f| format!("{f:?}"));
    assert_eq!(keys, vec![bulk("k1"), bulk("k2")]);
    assert_eq!(run(&s, &["RENAME", "k2", "k3"]), ok());
    assert!(
        matches!(run(&s, &["PTTL", "k3"]), Frame::Integer(ms) if ms > 99_000),
        "RENAME keeps the TTL"
    );
    assert_eq!(run(&s, &["RENAME", "nokey", "x"]), err("ERR no such key"));
    assert_eq!(run(&s, &["RENAMENX", "k3", "k1"]), int(0));
    assert_eq!(run(&s, &["RENAMENX", "k3", "k4"]), int(1));
    assert_eq!(
        run(&s, &["COPY", "k4", "k4"]),
        err("ERR source and destination objects are the same")
    );
    assert_eq!(run(&s, &["COPY", "k4", "k1"]), int(0));
    assert_eq!(run(&s, &["COPY", "k4", "k1", "REPLACE"]), int(1));
    assert_eq!(run(&s, &["COPY", "k4", "k4", "DB", "3"]), int(1));
    assert_eq!(
        run(&s, &["COPY", "k4", "k4", "DB", "16"]),
        err("ERR DB index is out of range")
    );
    assert_eq!(s.execute(3, &argv(&["GET", "k4"])).unwrap(), bulk("v"));
    assert_eq!(run(&s, &["DBSIZE"]), int(3));
    assert_eq!(run(&s, &["FLUSHDB", "BOGUS"]), err("ERR syntax error"));
    assert_eq!(run(&s, &["FLUSHDB", "ASYNC"]), ok());
    assert_eq!(run(&s, &["DBSIZE"]), int(0));
    assert_eq!(run(&s, &["RANDOMKEY"]), Frame::Null);
    assert_eq!(s.execute(3, &argv(&["DBSIZE"])).unwrap(), int(1));
    assert_eq!(run(&s, &["FLUSHALL"]), ok());
    assert_eq!(s.execute(3, &argv(&["DBSIZE"])).unwrap(), int(0));
    assert_eq!(run(&s, &["SET", "only", "v"]), ok());
    assert_eq!(run(&s, &["RANDOMKEY"]), bulk("only"));
}

#[test]
fn scan_returns_every_key_once_across_calls() {
    let s = Store::new(StoreConfig {
        shards: 4,
        ..StoreConfig::default()
    });
    for i in 0..500 {
        assert_eq!(run(&s, &["SET", &format!("key:{i}"), "v"]), ok());
    }
    assert_eq!(run(&s, &["SADD", "set:1", "m"]), int(1));
    let mut seen = std::collections::BTreeSet::new();
    let mut cursor = "0".to_owned();
    let mut calls = 0;
    loop {
        calls += 1;
        assert!(calls < 1000);
        let reply = run(
            &s,
            &[
                "SCAN", &cursor, "COUNT", "37", "MATCH", "key:*", "TYPE", "string",
            ],
        );
        let Frame::Array(parts) = reply else { panic!() };
        let Frame::Bulk(next) = &parts[0] else {
            panic!()
        };
        let Frame::Array(keys) = &parts[1] else {
            panic!()
        };
        for k in keys {
            let Frame::Bulk(k) = k else { panic!() };
            seen.insert(k.clone());
        }
        cursor = String::from_utf8(next.to_vec()).unwrap();
        if cursor == "0" {
            break;
        }
    }
    assert_eq!(seen.len(), 500);
    assert!(calls > 5, "COUNT bounds the work per call");
    assert_eq!(
        run(&s, &["SCAN", "0", "COUNT", "0"]),
        err("ERR syntax error")
    );
    assert_eq!(run(&s, &["SCAN", "x"]), err("ERR invalid cursor"));
}

#[test]
fn hash_family() {
    let s = Store::new(StoreConfig::default());
    assert_eq!(run(&s, &["HSET", "h", "f1", "v1", "f2", "v2"]), int(2));
    assert_eq!(run(&s, &["HSET", "h", "f1", "x", "f3", "v3"]), int(1));
    assert_eq!(
        run(&s, &["HSET", "h", "f1"]),
        err("ERR wrong number of arguments for 'hset' command")
    );
    assert_eq!(run(&s, &["HMSET", "h", "f4", "v4"]), ok());
    assert_eq!(run(&s, &["HSETNX", "h", "f4", "v"]), int(0));
    assert_eq!(run(&s, &["HGET", "h", "f1"]), bulk("x"));
    assert_eq!(
        run(&s, &["HMGET", "h", "f1", "nof"]),
        arr(vec![bulk("x"), Frame::Null])
    );
    assert_eq!(run(&s, &["HDEL", "h", "f2", "nof"]), int(1));
    assert_eq!(
        run(&s, &["HGETALL", "h"]),
        Frame::Map(vec![
            (bulk("f1"), bulk("x")),
            (bulk("f3"), bulk("v3")),
            (bulk("f4"), bulk("v4"))
        ]),
        "small hashes keep insertion order, as Redis's listpack"
    );
    assert_eq!(
        run(&s, &["HKEYS", "h"]),
        arr(vec![bulk("f1"), bulk("f3"), bulk("f4")])
    );
    assert_eq!(
        run(&s, &["HVALS", "h"]),
        arr(vec![bulk("x"), bulk("v3"), bulk("v4")])
    );
    assert_eq!(run(&s, &["HLEN", "h"]), int(3));
    assert_eq!(run(&s, &["HSTRLEN", "h", "f3"]), int(2));
    assert_eq!(run(&s, &["HEXISTS", "h", "f3"]), int(1));
    assert_eq!(run(&s, &["HGETALL", "nokey"]), Frame::Map(vec![]));
    assert_eq!(
        run(&s, &["HSCAN", "h", "0", "MATCH", "f[13]"]),
        arr(vec![
            bulk("0"),
            arr(vec![bulk("f1"), bulk("x"), bulk("f3"), bulk("v3")])
        ])
    );
    assert_eq!(
        run(&s, &["HSCAN", "nokey", "0", "BOGUS"]),
        arr(vec![bulk("0"), arr(vec![])])
    );
    assert_eq!(
        run(&s, &["HSCAN", "h", "0", "BOGUS"]),
        err("ERR syntax error")
    );
    assert_eq!(run(&s, &["HINCRBY", "h", "n", "5"]), int(5));
    assert_eq!(
        run(&s, &["HINCRBY", "h", "f1", "5"]),
        err("ERR hash value is not an integer")
    );
    assert_eq!(run(&s, &["HINCRBYFLOAT", "h", "n", "0.5"]), bulk("5.5"));
    assert_eq!(
        run(&s, &["HINCRBYFLOAT", "h", "f1", "1"]),
        err("ERR hash value is not a float")
    );
    assert_eq!(
        run(&s, &["HINCRBYFLOAT", "h", "n", "inf"]),
        err("ERR value is NaN or Infinity")
    );
    assert_eq!(run(&s, &["HDEL", "h", "f1", "f3", "f4", "n"]), int(4));
    assert_eq!(run(&s, &["EXISTS", "h"]), int(0), "empty hash deleted");

    assert_eq!(run(&s, &["HSET", "r", "a", "1", "b", "2"]), int(2));
    assert_eq!(run(&s, &["HRANDFIELD", "r", "0"]), arr(vec![]));
    let Frame::Array(picks) = run(&s, &["HRANDFIELD", "r", "-5"]) else {
        panic!()
    };
    assert_eq!(picks.len(), 5, "negative count repeats");
    assert!(picks.iter().all(|f| *f == bulk("a") || *f == bulk("b")));
    let Frame::Array(mut all) = run(&s, &["HRANDFIELD", "r", "10", "WITHVALUES"]) else {
        panic!()
    };
    all.sort_by_key(|f| format!("{f:?}"));
    assert_eq!(
        all,
        vec![bulk("1"), bulk("2"), bulk("a"), bulk("b")],
        "RESP2: flat field/value list"
    );
    let resp3 = s
        .execute_with(
            0,
            &argv(&["HRANDFIELD", "r", "1", "WITHVALUES"]),
            crate::Protocol::Resp3,
        )
        .unwrap();
    assert!(
        resp3 == arr(vec![arr(vec![bulk("a"), bulk("1")])])
            || resp3 == arr(vec![arr(vec![bulk("b"), bulk("2")])]),
        "RESP3: pairs, got {resp3:?}"
    );
    assert_eq!(
        run(&s, &["HRANDFIELD", "r", "1", "WITHVALUE"]),
        err("ERR syntax error")
    );
    assert_eq!(run(&s, &["HRANDFIELD", "nokey"]), Frame::Null);
    assert_eq!(run(&s, &["SET", "str", "v"]), ok());
    assert_eq!(run(&s, &["HGET", "str", "f"]), err(WRONGTYPE));
    assert_eq!(run(&s, &["HSET", "str", "f", "v"]), err(WRONGTYPE));
}

#[test]
fn set_family() {
    let s = Store::new(StoreConfig::default());
    assert_eq!(run(&s, &["SADD", "i", "3", "1", "2", "10", "-5"]), int(5));
    assert_eq!(
        run(&s, &["SMEMBERS", "i"]),
        set_of(&["-5", "1", "2", "3", "10"]),
        "intsets are sorted"
    );
    assert_eq!(run(&s, &["SADD", "i", "1"]), int(0));
    assert_eq!(run(&s, &["SISMEMBER", "i", "10"]), int(1));
    assert_eq!(
        run(&s, &["SMISMEMBER", "i", "10", "11"]),
        arr(vec![int(1), int(0)])
    );
    assert_eq!(run(&s, &["SCARD", "i"]), int(5));
    assert_eq!(run(&s, &["SREM", "i", "10", "11"]), int(1));
    assert_eq!(run(&s, &["SADD", "a", "x", "y", "z"]), int(3));
    assert_eq!(run(&s, &["SADD", "b", "y", "z", "w"]), int(3));
    let sorted = |f: Frame| match f {
        Frame::Set(mut v) => {
            v.sort_by_key(|f| format!("{f:?}"));
            v
        }
        other => panic!("{other:?}"),
    };
    assert_eq!(
        sorted(run(&s, &["SINTER", "a", "b"])),
        vec![bulk("y"), bulk("z")]
    );
    assert_eq!(
        sorted(run(&s, &["SUNION", "a", "b", "nokey"])),
        vec![bulk("w"), bulk("x"), bulk("y"), bulk("z")]
    );
    assert_eq!(sorted(run(&s, &["SDIFF", "a", "b"])), vec![bulk("x")]);
    assert_eq!(run(&s, &["SINTER", "a", "nokey"]), Frame::Set(vec![]));
    assert_eq!(run(&s, &["SINTERSTORE", "d", "a", "b"]), int(2));
    assert_eq!(run(&s, &["SDIFFSTORE", "d", "a", "a"]), int(0));
    assert_eq!(run(&s, &["EXISTS", "d"]), int(0));
    assert_eq!(run(&s, &["SET", "str", "v"]), ok());
    assert_eq!(run(&s, &["SINTER", "nokey", "str"]), err(WRONGTYPE));
    assert_eq!(
        run(&s, &["SUNIONSTORE", "str", "a"]),
        int(3),
        "STORE overwrites any type"
    );
    assert_eq!(run(&s, &["TYPE", "str"]), simple("set"));
    assert_eq!(
        run(&s, &["SPOP", "a", "-1"]),
        err("ERR value is out of range, must be positive")
    );
    assert_eq!(run(&s, &["SPOP", "nokey"]), Frame::Null);
    assert_eq!(run(&s, &["SPOP", "nokey", "2"]), Frame::Set(vec![]));
    assert_eq!(
        sorted(run(&s, &["SPOP", "a", "10"])),
        vec![bulk("x"), bulk("y"), bulk("z")]
    );
    assert_eq!(run(&s, &["EXISTS", "a"]), int(0), "popped set deleted");
    // The whole set as an array (not a RESP3 set), as redis-server 7.0.15 replies.
    assert_eq!(
        run(&s, &["SRANDMEMBER", "i", "100"]),
        arr(["-5", "1", "2", "3"].iter().map(|m| bulk(m)).collect())
    );
    let Frame::Array(v) = run(&s, &["SRANDMEMBER", "i", "-7"]) else {
        panic!()
    };
    assert_eq!(v.len(), 7);
    assert_eq!(run(&s, &["SRANDMEMBER", "nokey", "3"]), arr(vec![]));
    assert_eq!(
        run(&s, &["SSCAN", "i", "0", "MATCH", "-*"]),
        arr(vec![bulk("0"), arr(vec![bulk("-5")])])
    );
}

#[test]
fn watch_sees_writes_deletes_expiry_and_flush() {
    let s = Store::new(StoreConfig::default());
    run(&s, &["SET", "w", "1"]);
    let clean = s.watch(0, b"other");
    let w = s.watch(0, b"w");
    assert!(!w.is_dirty());
    run(&s, &["GET", "w"]);
    assert!(!w.is_dirty(), "reads do not dirty");
    run(&s, &["INCR", "w"]);
    assert!(w.is_dirty());
    let w = s.watch(0, b"w");
    run(&s, &["DEL", "w"]);
    assert!(w.is_dirty());
    run(&s, &["SET", "w", "1", "PX", "20"]);
    let w = s.watch(0, b"w");
    std::thread::sleep(std::time::Duration::from_millis(40));
    run(&s, &["GET", "w"]);
    assert!(w.is_dirty(), "expiry dirties");
    run(&s, &["SET", "w", "1"]);
    let w = s.watch(0, b"w");
    let other_db = s.watch(1, b"w");
    run(&s, &["FLUSHDB"]);
    assert!(w.is_dirty());
    assert!(!other_db.is_dirty());
    assert!(!clean.is_dirty());
    let w = s.watch(0, b"h");
    run(&s, &["HSET", "h", "f", "v"]);
    assert!(w.is_dirty(), "creating a watched key dirties");
}

#[test]
fn active_expiry_and_keyspace_info() {
    let s = Store::new(StoreConfig {
        shards: 2,
        ..StoreConfig::default()
    });
    for i in 0..200 {
        run(&s, &["SET", &format!("short:{i}"), "v", "PX", "10"]);
    }
    for i in 0..50 {
        run(&s, &["SET", &format!("long:{i}"), "v", "EX", "1000"]);
        run(&s, &["SET", &format!("keep:{i}"), "v"]);
    }
    let info = s.keyspace_info();
    assert_eq!(info.len(), 1);
    assert_eq!((info[0].db, info[0].keys, info[0].expires), (0, 300, 250));
    std::thread::sleep(std::time::Duration::from_millis(30));
    let mut removed = 0;
    for _ in 0..200 {
        removed += s.active_expire_cycle(100);
        if removed == 200 {
            break;
        }
    }
    assert_eq!(
        removed, 200,
        "active expiry reclaims every expired key, never a live one"
    );
    let info = s.keyspace_info();
    assert_eq!((info[0].keys, info[0].expires), (100, 50));
    assert!(
        info[0].avg_ttl_ms > 900_000 && info[0].avg_ttl_ms <= 1_000_000,
        "{info:?}"
    );
    assert_eq!(s.stats().expired_keys, 200);
}

#[test]
fn active_expiry_leaves_keys_held_by_a_transaction() {
    use crate::{Scope, TxnMode};
    let s = Store::new(StoreConfig {
        shards: 2,
        ..StoreConfig::default()
    });
    for key in ["held", "free:1", "free:2"] {
        run(&s, &["SET", key, "v", "PX", "10"]);
    }
    std::thread::sleep(std::time::Duration::from_millis(30));
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    let txn = s
        .begin(
            0,
            Scope::Keys(argv(&["held"])),
            TxnMode::ReadWrite,
            deadline,
        )
        .expect("begin");
    let mut removed = 0;
    for _ in 0..50 {
        removed += s.active_expire_cycle(100);
    }
    assert_eq!(removed, 2, "the two free keys expire, the held one waits");
    assert_eq!(s.keyspace_info()[0].keys, 1);
    txn.commit();
    let all = s
        .begin(0, Scope::All, TxnMode::ReadWrite, deadline)
        .expect("begin");
    assert_eq!(
        s.active_expire_cycle(100),
        0,
        "nothing while the keyspace is held"
    );
    all.commit();
    assert_eq!(s.active_expire_cycle(100), 1);
}

#[test]
fn lazy_scope_takes_the_keyspace_at_first_key() {
    use crate::{Scope, TxnMode};
    use std::time::{Duration, Instant};
    let s = Store::new(StoreConfig::default());
    let deadline = Instant::now() + Duration::from_secs(5);
    let mut txn = s
        .begin(0, Scope::Lazy, TxnMode::ReadWrite, deadline)
        .unwrap();
    assert!(
        s.execute(0, &argv(&["SET", "x", "1"])).is_ok(),
        "no lock before the first key"
    );
    assert_eq!(txn.execute(&argv(&["GET", "x"])), bulk("1"));
    assert!(
        s.execute(0, &argv(&["GET", "y"])).is_err(),
        "whole keyspace held"
    );
    assert!(s.execute(0, &argv(&["DBSIZE"])).is_err());
    assert_eq!(txn.execute(&argv(&["SET", "y", "2"])), ok());
    txn.commit();
    assert_eq!(run(&s, &["GET", "y"]), bulk("2"));
    // A second txn waits for the first, until its deadline.
    let t1 = s
        .begin(0, Scope::Keys(argv(&["k"])), TxnMode::ReadWrite, deadline)
        .unwrap();
    let start = Instant::now();
    let t2 = s.begin(
        0,
        Scope::Keys(argv(&["k"])),
        TxnMode::ReadWrite,
        Instant::now() + Duration::from_millis(50),
    );
    assert!(matches!(t2, Err(crate::LockError::Timeout { .. })));
    assert!(start.elapsed() >= Duration::from_millis(50));
    drop(t1);
    assert!(s
        .begin(0, Scope::Keys(argv(&["k"])), TxnMode::ReadWrite, deadline)
        .is_ok());
}

#[test]
fn read_only_and_keys_scope_errors() {
    use crate::{Scope, TxnMode};
    use std::time::{Duration, Instant};
    let s = Store::new(StoreConfig::default());
    let deadline = Instant::now() + Duration::from_secs(5);
    let mut txn = s
        .begin(0, Scope::Keys(argv(&["a"])), TxnMode::ReadOnly, deadline)
        .unwrap();
    assert_eq!(
        txn.execute(&argv(&["SET", "a", "1"])),
        err("ERR Write commands are not allowed from read-only scripts. (command 'set')")
    );
    assert_eq!(txn.execute(&argv(&["GET", "a"])), Frame::Null);
    assert_eq!(
        txn.execute(&argv(&["FLUSHALL"])),
        err("ERR Write commands are not allowed from read-only scripts. (command 'flushall')")
    );
    assert_eq!(
        txn.execute(&argv(&["DBSIZE"])),
        int(0),
        "keyspace-wide reads are allowed"
    );
    assert_eq!(
        txn.execute(&argv(&["NOPE"])),
        err("ERR unknown command 'NOPE', with args beginning with: ")
    );
    txn.commit();
    let mut txn = s
        .begin(0, Scope::Keys(argv(&["a"])), TxnMode::ReadWrite, deadline)
        .unwrap();
    assert_eq!(
        txn.execute(&argv(&["FLUSHDB"])),
        err("ERR command 'flushdb' touches the whole keyspace and cannot run with declared KEYS")
    );
    assert_eq!(
        txn.execute(&argv(&["MSET", "a", "1", "b", "2"])),
        err("ERR key 'b' is not declared in KEYS")
    );
    assert!(
        s.execute(0, &argv(&["DBSIZE"])).is_err(),
        "keyspace-wide commands wait for txns"
    );
    txn.commit();
    assert_eq!(run(&s, &["DBSIZE"]), int(0), "nothing written");
}

#[test]
fn rollback_restores_ttls_and_other_dbs() {
    use crate::{Scope, TxnMode};
    use std::time::{Duration, Instant};
    let s = Store::new(StoreConfig::default());
    run(&s, &["SET", "a", "1", "EX", "100"]);
    run(&s, &["HSET", "h", "f", "v"]);
    let before: Vec<_> = (0..2).map(|db| s.snapshot_db(db)).collect();
    let mut txn = s
        .begin(
            0,
            Scope::Lazy,
            TxnMode::ReadWrite,
            Instant::now() + Duration::from_secs(5),
        )
        .unwrap();
    assert_eq!(txn.execute(&argv(&["PERSIST", "a"])), int(1));
    assert_eq!(txn.execute(&argv(&["HDEL", "h", "f"])), int(1));
    assert_eq!(txn.execute(&argv(&["COPY", "a", "a", "DB", "1"])), int(1));
    txn.select(1).unwrap();
    assert_eq!(txn.execute(&argv(&["SET", "z", "1"])), ok());
    txn.rollback();
    let after: Vec<_> = (0..2).map(|db| s.snapshot_db(db)).collect();
    assert_eq!(before, after);
}

mod rollback_prop {
    use super::*;
    use crate::{Scope, TxnMode};
    use proptest::prelude::*;
    use std::time::{Duration, Instant};

    const KEYS: &[&str] = &["a", "b", "c", "d"];

    fn command() -> impl Strategy<Value = Vec<String>> {
        let key = prop::sample::select(KEYS);
        let val = prop::sample::select(&["1", "x", "-7", "abc"][..]);
        (0usize..24, key, prop::sample::select(KEYS), val).prop_map(|(op, k, k2, v)| {
            let parts: Vec<&str> = match op {
                0 => vec!["SET", k, v],
                1 => vec!["SET", k, v, "EX", "500"],
                2 => vec!["DEL", k],
                3 => vec!["INCR", k],
                4 => vec!["APPEND", k, v],
                5 => vec!["HSET", k, v, v],
                6 => vec!["HDEL", k, v],
                7 => vec!["SADD", k, v],
                8 => vec!["SREM", k, v],
                9 => vec!["SPOP", k],
                10 => vec!["EXPIRE", k, "300"],
                11 => vec!["PERSIST", k],
                12 => vec!["RENAME", k, k2],
                13 => vec!["COPY", k, k2, "REPLACE"],
                14 => vec!["SUNIONSTORE", k, k, k2],
                15 => vec!["FLUSHDB"],
                16 => vec!["SETRANGE", k, "2", v],
                17 => vec!["GETDEL", k],
                18 => vec!["MSET", k, v, k2, v],
                19 => vec!["HINCRBY", k, v, "3"],
                20 => vec!["EXPIRE", k, "-1"],
                21 => vec!["INCRBYFLOAT", k, "1.5"],
                22 => vec!["COPY", k, k2, "DB", "1"],
                _ => vec!["GETEX", k, "PX", "90000"],
            };
            parts.into_iter().map(str::to_owned).collect()
        })
    }

    fn apply(s: &Store, cmds: &[Vec<String>]) {
        for c in cmds {
            let parts: Vec<&str> = c.iter().map(String::as_str).collect();
            s.execute(0, &argv(&parts)).unwrap();
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(200))]
        #[test]
        fn rollback_restores_snapshot(
            setup in prop::collection::vec(command(), 0..12),
            work in prop::collection::vec(command(), 1..20),
            lazy in any::<bool>(),
        ) {
            let s = Store::new(StoreConfig { shards: 4, ..StoreConfig::default() });
            apply(&s, &setup);
            let before: Vec<_> = (0..2).map(|db| s.snapshot_db(db)).collect();
            let scope = if lazy { Scope::Lazy } else { Scope::Keys(argv(KEYS)) };
            let mut txn = s.begin(0, scope, TxnMode::ReadWrite, Instant::now() + Duration::from_secs(5)).unwrap();
            for c in &work {
                let parts: Vec<&str> = c.iter().map(String::as_str).collect();
                let _ = txn.execute(&argv(&parts));
            }
            txn.rollback();
            let after: Vec<_> = (0..2).map(|db| s.snapshot_db(db)).collect();
            prop_assert_eq!(before, after);
        }

        #[test]
        fn commit_equals_plain_execution(
            setup in prop::collection::vec(command(), 0..12),
            work in prop::collection::vec(command(), 1..20),
        ) {
            let plain = Store::new(StoreConfig::default());
            let txn_store = Store::new(StoreConfig::default());
            apply(&plain, &setup);
            apply(&txn_store, &setup);
            apply(&plain, &work);
            let mut txn = txn_store.begin(0, Scope::Lazy, TxnMode::ReadWrite, Instant::now() + Duration::from_secs(5)).unwrap();
            for c in &work {
                let parts: Vec<&str> = c.iter().map(String::as_str).collect();
                let _ = txn.execute(&argv(&parts));
            }
            txn.commit();
            // SPOP picks randomly: compare only when no SPOP ran.
            if !work.iter().any(|c| c[0] == "SPOP") {
                for db in 0..2 {
                    let strip = |v: Vec<(Bytes, crate::Entry)>| -> Vec<(Bytes, crate::Value, bool)> {
                        v.into_iter().map(|(k, e)| (k, e.value, e.expire_at_ms.is_some())).collect()
                    };
                    prop_assert_eq!(strip(plain.snapshot_db(db)), strip(txn_store.snapshot_db(db)));
                }
            }
        }
    }
}

/// Rough single-thread throughput of `Store::execute` (run by hand in release:
/// `cargo test --release -p ferrite-store --lib throughput -- --ignored --nocapture`).
#[test]
#[ignore = "timing, run by hand"]
fn throughput() {
    let s = Store::new(StoreConfig::default());
    let n = 1_000_000;
    let cmds: Vec<Vec<Bytes>> = (0..1000)
        .map(|i| argv(&["SET", &format!("key:{i}"), "value"]))
        .collect();
    let gets: Vec<Vec<Bytes>> = (0..1000)
        .map(|i| argv(&["GET", &format!("key:{i}")]))
        .collect();
    let start = std::time::Instant::now();
    for i in 0..n {
        s.execute(0, &cmds[i % 1000]).unwrap();
    }
    let set = start.elapsed();
    let start = std::time::Instant::now();
    for i in 0..n {
        s.execute(0, &gets[i % 1000]).unwrap();
    }
    let get = start.elapsed();
    eprintln!(
        "SET {:.0} ops/s, GET {:.0} ops/s",
        n as f64 / set.as_secs_f64(),
        n as f64 / get.as_secs_f64()
    );
}

/// Threads running ordinary INCRs (retrying when blocked) and transactions
/// that INCR several keys and commit or roll back: no deadlock, no lost or
/// phantom increment, and every committed transaction's keys moved together.
#[test]
fn concurrent_commands_and_transactions_are_atomic() {
    use crate::{Scope, TxnMode};
    use rand::Rng;
    use std::sync::atomic::{AtomicI64, Ordering};
    use std::sync::Arc;
    use std::time::{Duration, Instant};
    let store = Arc::new(Store::new(StoreConfig {
        shards: 4,
        ..StoreConfig::default()
    }));
    let keys = ["k0", "k1", "k2", "k3", "k4", "k5"];
    let expected = Arc::new(AtomicI64::new(0));
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut handles = Vec::new();
    for t in 0..6 {
        let store = Arc::clone(&store);
        let expected = Arc::clone(&expected);
        handles.push(std::thread::spawn(move || {
            let mut rng = rand::rng();
            for _ in 0..400 {
                assert!(Instant::now() < deadline, "stuck");
                if t < 3 {
                    let key = keys[rng.random_range(0..keys.len())];
                    loop {
                        match store.execute(0, &argv(&["INCR", key])) {
                            Ok(_) => break,
                            Err(_) => std::thread::yield_now(),
                        }
                    }
                    expected.fetch_add(1, Ordering::Relaxed);
                } else {
                    let lazy = rng.random_bool(0.3);
                    let picked: Vec<&str> = keys
                        .iter()
                        .copied()
                        .filter(|_| rng.random_bool(0.5))
                        .collect();
                    let scope = if lazy {
                        Scope::Lazy
                    } else {
                        Scope::Keys(argv(&picked))
                    };
                    let mut txn = store
                        .begin(
                            0,
                            scope,
                            TxnMode::ReadWrite,
                            Instant::now() + Duration::from_secs(10),
                        )
                        .expect("lock within 10 s");
                    for key in &picked {
                        let reply = txn.execute(&argv(&["INCR", key]));
                        assert!(matches!(reply, Frame::Integer(_)), "{key}: {reply:?}");
                    }
                    if rng.random_bool(0.5) {
                        txn.commit();
                        expected.fetch_add(picked.len() as i64, Ordering::Relaxed);
                    } else {
                        txn.rollback();
                    }
                }
            }
        }));
    }
    for h in handles {
        h.join().unwrap();
    }
    let mut total = 0;
    for key in keys {
        if let Frame::Bulk(v) = run(&store, &["GET", key]) {
            total += std::str::from_utf8(&v).unwrap().parse::<i64>().unwrap();
        }
    }
    assert_eq!(total, expected.load(Ordering::Relaxed));
}
