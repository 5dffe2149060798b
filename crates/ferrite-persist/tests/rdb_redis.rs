//! RDB against a real redis-server 7.0: files Redis writes load into a
//! `Store` with every key, value and TTL intact, and files ferrite writes
//! load into Redis the same way (our functions AUX field included).

mod rdb_support;

use std::sync::Mutex;

use bytes::Bytes;
use ferrite_persist::rdb::{self, LoadOptions, WriteOptions};
use ferrite_persist::FunctionCatalog;
use ferrite_store::value::{HashValue, ListValue, SetValue, ZSet};
use ferrite_store::{StrValue, Value};
use rdb_support::{assert_same, b, entry, new_store, scratch_dir, store_keyspace, Redis};

/// A function catalog kept in memory.
#[derive(Default)]
struct TestCatalog(Mutex<Vec<(String, Bytes)>>);

impl FunctionCatalog for TestCatalog {
    fn dump(&self) -> Vec<(String, Bytes)> {
        self.0.lock().unwrap().clone()
    }
    fn restore_all(&self, functions: Vec<(String, Bytes)>) -> Result<(), String> {
        *self.0.lock().unwrap() = functions;
        Ok(())
    }
}

/// TTL slack: redis reports PTTL at a slightly different moment.
const SLACK_MS: u64 = 1000;

fn run(conn: &mut redis::Connection, args: &[&[u8]]) {
    let mut cmd = redis::cmd(std::str::from_utf8(args[0]).unwrap());
    for a in &args[1..] {
        cmd.arg(*a);
    }
    cmd.query::<redis::Value>(conn)
        .unwrap_or_else(|e| panic!("{:?}: {e}", String::from_utf8_lossy(args[0])));
}

/// Fills redis with every type in every encoding Redis 7.0 writes.
fn fill(redis: &Redis) {
    let mut c = redis.conn();
    // Small quicklist nodes (several per list) and a low plain-node
    // threshold, so lists use packed and plain QUICKLIST_2 nodes.
    run(
        &mut c,
        &[b"CONFIG", b"SET", b"list-max-listpack-size", b"4"],
    );
    run(&mut c, &[b"DEBUG", b"QUICKLIST-PACKED-THRESHOLD", b"100"]);
    let long = "abc".repeat(1000);
    let binary: Vec<u8> = (0..=255u8).collect();
    let plain_elem = "p".repeat(500);
    run(&mut c, &[b"SET", b"int:small", b"42"]);
    run(&mut c, &[b"SET", b"int:neg", b"-123456"]);
    run(&mut c, &[b"SET", b"int:i32", b"-2147483648"]);
    run(&mut c, &[b"SET", b"int:big", b"9223372036854775807"]);
    run(&mut c, &[b"SET", b"str:short", b"hello"]);
    run(&mut c, &[b"SET", b"str:lzf", long.as_bytes()]);
    run(&mut c, &[b"SET", b"str:binary", &binary]);
    run(&mut c, &[b"SET", b"str:empty", b""]);
    run(&mut c, &[b"SET", b"str:zero-padded", b"007"]);
    run(&mut c, &[b"SET", &binary, b"binary key"]);
    run(
        &mut c,
        &[
            b"RPUSH",
            b"list:small",
            b"a",
            b"b",
            b"1",
            b"-5",
            b"",
            b"70000",
            b"5000000000",
        ],
    );
    for i in 0..1000 {
        let item = if i % 3 == 0 {
            i.to_string()
        } else {
            format!("item-{i}")
        };
        run(&mut c, &[b"RPUSH", b"list:big", item.as_bytes()]);
    }
    run(
        &mut c,
        &[
            b"RPUSH",
            b"list:plain",
            b"x",
            plain_elem.as_bytes(),
            b"y",
            long.as_bytes(),
        ],
    );
    run(
        &mut c,
        &[b"SADD", b"set:int", b"1", b"2", b"3", b"-7", b"1000000"],
    );
    run(
        &mut c,
        &[b"SADD", b"set:int64", b"5000000000", b"-5000000000", b"1"],
    );
    run(&mut c, &[b"SADD", b"set:str", b"apple", b"banana", b"7"]);
    for i in 0..1000 {
        run(&mut c, &[b"SADD", b"set:big", format!("m{i}").as_bytes()]);
        run(
            &mut c,
            &[b"SADD", b"set:bigint", (i * 7).to_string().as_bytes()],
        );
    }
    run(
        &mut c,
        &[
            b"HSET",
            b"hash:small",
            b"name",
            b"ferrite",
            b"n",
            b"12",
            b"neg",
            b"-3",
            b"empty",
            b"",
        ],
    );
    for i in 0..1000 {
        run(
            &mut c,
            &[
                b"HSET",
                b"hash:big",
                format!("f{i}").as_bytes(),
                i.to_string().as_bytes(),
            ],
        );
    }
    run(&mut c, &[b"HSET", b"hash:longval", b"f", long.as_bytes()]);
    run(
        &mut c,
        &[
            b"ZADD",
            b"zset:small",
            b"1",
            b"one",
            b"2.5",
            b"two.5",
            b"-3",
            b"neg",
            b"inf",
            b"top",
            b"-inf",
            b"bottom",
            b"1e300",
            b"huge",
        ],
    );
    for i in 0..500 {
        let score = format!("{}", f64::from(i) * 0.1 - 7.0);
        run(
            &mut c,
            &[
                b"ZADD",
                b"zset:big",
                score.as_bytes(),
                format!("m{i}").as_bytes(),
            ],
        );
    }
    run(
        &mut c,
        &[
            b"ZADD",
            b"zset:long",
            b"3.14159",
            long.as_bytes(),
            b"0",
            b"short",
        ],
    );
    run(&mut c, &[b"SET", b"ttl:str", b"v", b"PX", b"100000"]);
    run(&mut c, &[b"HSET", b"ttl:hash", b"a", b"b"]);
    run(&mut c, &[b"EXPIRE", b"ttl:hash", b"3600"]);
    run(&mut c, &[b"SELECT", b"1"]);
    run(&mut c, &[b"SET", b"k", b"db1"]);
    run(&mut c, &[b"RPUSH", b"l", b"1", b"2"]);
    run(&mut c, &[b"PEXPIRE", b"l", b"500000"]);
    run(&mut c, &[b"SELECT", b"15"]);
    run(&mut c, &[b"ZADD", b"z", b"1", b"a"]);
    run(&mut c, &[b"SADD", b"s", b"x"]);
    // A Lua function library: written as FUNCTION2, skipped on load.
    run(&mut c, &[
        b"FUNCTION",
        b"LOAD",
        b"#!lua name=testlib\nredis.register_function('noop', function(keys, args) return 1 end)",
    ]);
}

#[test]
fn redis_to_ferrite_to_redis() {
    let dir = scratch_dir("from-redis");
    let redis = Redis::start(&dir, &["--enable-debug-command", "yes"]);
    fill(&redis);
    let expected = redis.keyspace();
    run(&mut redis.conn(), &[b"SAVE"]);
    let dump = dir.join("dump.rdb");

    // Redis → ferrite.
    let store = new_store();
    let catalog = TestCatalog::default();
    catalog.restore_all(vec![("kept".into(), b("x"))]).unwrap();
    let stats = rdb::load_file(&dump, &store, &catalog, &LoadOptions::default()).unwrap();
    assert_eq!(stats.version, 10);
    assert_eq!(stats.redis_functions_skipped, 1);
    // The encodings Redis 7.0 used for this data, each now verified.
    let types = stats.value_types;
    for (value_type, name) in [
        (0, "STRING"),
        (2, "SET"),
        (4, "HASH"),
        (5, "ZSET_2"),
        (11, "SET_INTSET"),
        (16, "HASH_LISTPACK"),
        (17, "ZSET_LISTPACK"),
        (18, "LIST_QUICKLIST_2"),
    ] {
        assert!(
            types[value_type] > 0,
            "Redis wrote no {name} value: {types:?}"
        );
    }
    assert!(stats.quicklist_plain_nodes >= 2, "no plain quicklist nodes");
    assert!(stats.lzf_strings >= 2, "no LZF strings");
    assert_eq!(stats.functions, 0);
    assert_eq!(
        catalog.dump().len(),
        1,
        "a Redis file leaves the catalog alone"
    );
    let loaded = store_keyspace(&store);
    assert_same(&expected, &loaded, SLACK_MS);
    assert_eq!(
        stats.keys as usize,
        loaded.values().map(|k| k.len()).sum::<usize>()
    );
    drop(redis);

    // ferrite → Redis: the store just loaded, written by us, loaded by Redis.
    let dir2 = scratch_dir("back-to-redis");
    let functions = vec![
        (
            "limiter".to_string(),
            Bytes::from(vec![0u8, 97, 115, 109, 1, 0, 0, 0]),
        ),
        ("other".to_string(), b("record")),
    ];
    catalog.restore_all(functions.clone()).unwrap();
    let written = rdb::save_store(
        &dir2.join("dump.rdb"),
        &store,
        &catalog,
        &WriteOptions::default(),
    )
    .unwrap();
    assert!(written > 0);
    let redis2 = Redis::start(&dir2, &[]);
    assert_same(&expected, &redis2.keyspace(), SLACK_MS);
    assert!(
        redis2.log().contains("DB loaded from disk"),
        "redis log:\n{}",
        redis2.log()
    );
    // …and read back by us, functions included.
    let store2 = new_store();
    let catalog2 = TestCatalog::default();
    let stats2 = rdb::load_file(
        &dir2.join("dump.rdb"),
        &store2,
        &catalog2,
        &LoadOptions::default(),
    )
    .unwrap();
    // Our LZF strings: Redis loaded them above, and so do we.
    assert!(stats2.lzf_strings >= 2, "{stats2:?}");
    assert_eq!(catalog2.dump(), functions);
    assert_same(&store_keyspace(&store), &store_keyspace(&store2), 0);
}

/// Values ferrite holds that the fill above does not produce from Redis.
#[test]
fn ferrite_values_load_into_redis() {
    let store = new_store();
    let now = rdb_support::unix_ms();
    let mut list = ListValue::new();
    for i in 0..300 {
        list.push_back(b(format!("e{i}")));
    }
    list.push_back(b(""));
    list.push_back(b("123"));
    let mut set = SetValue::default();
    for m in ["1", "-2", "x", ""] {
        set.insert(b(m));
    }
    let mut ints = SetValue::default();
    for m in 0..600 {
        ints.insert(b((m * 1000).to_string()));
    }
    let mut hash = HashValue::default();
    hash.insert(b("f"), b("v"));
    hash.insert(b(""), b(""));
    hash.insert(b("int"), b("-99"));
    let mut big_hash = HashValue::default();
    for i in 0..700 {
        big_hash.insert(b(format!("field{i}")), b("x".repeat(i % 90)));
    }
    let mut zset = ZSet::new();
    zset.insert(b("a"), 1.5);
    zset.insert(b("b"), f64::INFINITY);
    zset.insert(b("c"), f64::NEG_INFINITY);
    zset.insert(b("d"), 0.1 + 0.2);
    zset.insert(b("e"), -1e-300);
    let mut big_zset = ZSet::new();
    for i in 0..400 {
        big_zset.insert(b(format!("member{i}")), f64::from(i) / 3.0);
    }
    let values = vec![
        ("s:int", Value::String(StrValue::Int(7)), None),
        ("s:i64", Value::String(StrValue::Int(i64::MIN)), None),
        ("s:raw", Value::string(b"plain text"), Some(now + 50_000)),
        ("s:big", Value::string("y".repeat(100_000).as_bytes()), None),
        ("list", Value::List(list), Some(now + 3_600_000)),
        ("set", Value::Set(Box::new(set)), None),
        ("set:ints", Value::Set(Box::new(ints)), None),
        ("hash", Value::Hash(Box::new(hash)), None),
        ("hash:big", Value::Hash(Box::new(big_hash)), None),
        ("zset", Value::ZSet(Box::new(zset)), Some(now + 10_000)),
        ("zset:big", Value::ZSet(Box::new(big_zset)), None),
    ];
    for (db, (key, value, ttl)) in values.into_iter().enumerate() {
        assert!(store.load_entry(db % 16, key.as_bytes(), entry(value, ttl)));
    }
    let dir = scratch_dir("ferrite-values");
    let catalog = TestCatalog::default();
    rdb::save_store(
        &dir.join("dump.rdb"),
        &store,
        &catalog,
        &WriteOptions::default(),
    )
    .unwrap();
    let redis = Redis::start(&dir, &[]);
    assert_same(&store_keyspace(&store), &redis.keyspace(), SLACK_MS);
    // Redis writes it back; we read Redis's encodings of our values.
    run(&mut redis.conn(), &[b"SAVE"]);
    let store2 = new_store();
    let stats = rdb::load_file(
        &dir.join("dump.rdb"),
        &store2,
        &catalog,
        &LoadOptions::default(),
    )
    .unwrap();
    assert_eq!(stats.keys, 11);
    assert_same(&store_keyspace(&store), &store_keyspace(&store2), 0);
}

/// `rdbchecksum no` (a zero checksum) and `rdbcompression no` files load;
/// a database the store does not have is an error naming file and offset.
#[test]
fn redis_options_and_database_range() {
    let dir = scratch_dir("options");
    let redis = Redis::start(
        &dir,
        &[
            "--rdbchecksum",
            "no",
            "--rdbcompression",
            "no",
            "--databases",
            "32",
        ],
    );
    let mut c = redis.conn();
    let long = "abc".repeat(100);
    run(&mut c, &[b"SET", b"long", long.as_bytes()]);
    run(&mut c, &[b"SELECT", b"20"]);
    run(&mut c, &[b"SET", b"k", b"v"]);
    let expected = redis.keyspace();
    run(&mut c, &[b"SAVE"]);
    drop(c);
    drop(redis);
    let path = dir.join("dump.rdb");
    let file = std::fs::read(&path).unwrap();
    assert_eq!(&file[file.len() - 8..], &[0; 8], "rdbchecksum no writes 0");

    let catalog = TestCatalog::default();
    let err = rdb::load_file(&path, &new_store(), &catalog, &LoadOptions::default()).unwrap_err();
    let text = err.to_string();
    assert!(
        text.starts_with(&format!(
            "{}: cannot load the record at offset ",
            path.display()
        )) && text.ends_with("database 20 is out of range (databases = 16)"),
        "{text}"
    );

    let store = ferrite_store::Store::new(ferrite_store::StoreConfig {
        databases: 32,
        ..Default::default()
    });
    let stats = rdb::load_file(&path, &store, &catalog, &LoadOptions::default()).unwrap();
    assert_eq!(stats.lzf_strings, 0);
    assert_same(&expected, &store_keyspace(&store), SLACK_MS);
}
