//! Shared by the RDB tests: a real redis-server on a free loopback port, and
//! reading whole keyspaces out of redis and out of a `Store`.
#![allow(dead_code)] // Each test file uses a different part.

use std::collections::BTreeMap;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use bytes::Bytes;
use ferrite_store::{Entry, Store, StoreConfig, Value};

/// Most databases read from a redis-server.
const DATABASES_MAX: usize = 64;

/// How long redis-server may take to answer PING.
const STARTUP_TIMEOUT: Duration = Duration::from_secs(20);

/// A value in a form both sides can produce and compare.
#[derive(Debug, Clone, PartialEq)]
pub enum Plain {
    String(Vec<u8>),
    List(Vec<Vec<u8>>),
    /// Sorted.
    Set(Vec<Vec<u8>>),
    /// Sorted by field.
    Hash(Vec<(Vec<u8>, Vec<u8>)>),
    /// In rank order; scores as bits of f64.
    ZSet(Vec<(Vec<u8>, f64)>),
}

/// db → key → (value, expire_at_ms).
pub type Keyspace = BTreeMap<usize, BTreeMap<Vec<u8>, (Plain, Option<u64>)>>;

pub fn plain(value: &Value) -> Plain {
    match value {
        Value::String(s) => Plain::String(s.to_bytes().to_vec()),
        Value::List(l) => Plain::List(l.iter().map(|b| b.to_vec()).collect()),
        Value::Set(s) => {
            let mut v: Vec<Vec<u8>> = s.iter().map(|b| b.to_vec()).collect();
            v.sort();
            Plain::Set(v)
        }
        Value::Hash(h) => {
            let mut v: Vec<_> = h.iter().map(|(f, x)| (f.to_vec(), x.to_vec())).collect();
            v.sort();
            Plain::Hash(v)
        }
        Value::ZSet(z) => Plain::ZSet(z.iter().map(|(m, s)| (m.to_vec(), s)).collect()),
    }
}

/// Every key of every database of `store`.
pub fn store_keyspace(store: &Store) -> Keyspace {
    let mut out = Keyspace::new();
    for db in 0..store.config().databases {
        for (key, entry) in store.snapshot_db(db) {
            out.entry(db)
                .or_default()
                .insert(key.to_vec(), (plain(&entry.value), entry.expire_at_ms));
        }
    }
    out
}

pub fn new_store() -> Store {
    Store::new(StoreConfig::default())
}

pub fn scratch_dir(tag: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("ferrite-rdb-{}-{tag}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("create scratch dir");
    dir
}

/// A loopback port that was free a moment ago, below Linux's ephemeral range
/// (32768–60999): a port from `bind(0)` comes from that range, where any
/// client socket of a parallel test may take it before the server binds it.
/// (A copy of ferrite-server's `tests/common::free_port`: another crate.)
fn free_port() -> u16 {
    use std::hash::{BuildHasher, Hasher};
    loop {
        let random = std::collections::hash_map::RandomState::new()
            .build_hasher()
            .finish();
        let port = 20_000 + (random % 12_000) as u16;
        if TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
}

/// A redis-server child, killed on drop.
pub struct Redis {
    child: Child,
    pub port: u16,
    pub dir: PathBuf,
    log: PathBuf,
}

impl Redis {
    /// Starts redis-server with `dir/dump.rdb` as its snapshot (loaded if
    /// present), persistence otherwise off, plus `extra` arguments.
    pub fn start(dir: &Path, extra: &[&str]) -> Redis {
        let port = free_port();
        let log = dir.join("redis.log");
        let port_text = port.to_string();
        let dir_text = dir.to_str().expect("utf-8 dir");
        let mut args = vec![
            "--port",
            &port_text,
            "--bind",
            "127.0.0.1",
            "--dir",
            dir_text,
            "--dbfilename",
            "dump.rdb",
            "--save",
            "",
            "--appendonly",
            "no",
            "--daemonize",
            "no",
            "--logfile",
            "redis.log",
        ];
        args.extend_from_slice(extra);
        let child = Command::new("redis-server")
            .args(&args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect(
                "start redis-server (Debian package redis-server; scripts/test.sh installs it)",
            );
        let mut redis = Redis {
            child,
            port,
            dir: dir.to_path_buf(),
            log,
        };
        let deadline = Instant::now() + STARTUP_TIMEOUT;
        loop {
            if let Ok(Some(status)) = redis.child.try_wait() {
                panic!(
                    "redis-server exited during startup ({status}); log:\n{}",
                    redis.log()
                );
            }
            if let Ok(mut conn) = redis.try_conn() {
                if redis::cmd("PING").query::<String>(&mut conn).is_ok() {
                    return redis;
                }
            }
            assert!(
                Instant::now() < deadline,
                "redis-server did not start; log:\n{}",
                redis.log()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn try_conn(&self) -> redis::RedisResult<redis::Connection> {
        redis::Client::open(format!("redis://127.0.0.1:{}/", self.port))?.get_connection()
    }

    pub fn conn(&self) -> redis::Connection {
        self.try_conn().expect("connect to redis-server")
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Every key of every database, read through the client. TTLs are
    /// turned into absolute times with the local clock (compare ±1 s).
    pub fn keyspace(&self) -> Keyspace {
        let mut conn = self.conn();
        let mut out = Keyspace::new();
        let now = unix_ms();
        // Every database the server has (SELECT fails past the last).
        for db in 0..DATABASES_MAX {
            if redis::cmd("SELECT").arg(db).query::<()>(&mut conn).is_err() {
                break;
            }
            let keys: Vec<Vec<u8>> = redis::cmd("KEYS").arg("*").query(&mut conn).unwrap();
            for key in keys {
                let kind: String = redis::cmd("TYPE").arg(&key).query(&mut conn).unwrap();
                let value = match kind.as_str() {
                    "string" => {
                        Plain::String(redis::cmd("GET").arg(&key).query(&mut conn).unwrap())
                    }
                    "list" => Plain::List(
                        redis::cmd("LRANGE")
                            .arg(&key)
                            .arg(0)
                            .arg(-1)
                            .query(&mut conn)
                            .unwrap(),
                    ),
                    "set" => {
                        let mut v: Vec<Vec<u8>> =
                            redis::cmd("SMEMBERS").arg(&key).query(&mut conn).unwrap();
                        v.sort();
                        Plain::Set(v)
                    }
                    "hash" => {
                        let flat: Vec<Vec<u8>> =
                            redis::cmd("HGETALL").arg(&key).query(&mut conn).unwrap();
                        let mut v: Vec<_> = flat
                            .chunks(2)
                            .map(|c| (c[0].clone(), c[1].clone()))
                            .collect();
                        v.sort();
                        Plain::Hash(v)
                    }
                    "zset" => {
                        let flat: Vec<Vec<u8>> = redis::cmd("ZRANGE")
                            .arg(&key)
                            .arg(0)
                            .arg(-1)
                            .arg("WITHSCORES")
                            .query(&mut conn)
                            .unwrap();
                        Plain::ZSet(
                            flat.chunks(2)
                                .map(|c| {
                                    let s = String::from_utf8(c[1].clone()).unwrap();
                                    (c[0].clone(), s.parse::<f64>().unwrap())
                                })
                                .collect(),
                        )
                    }
                    other => panic!("unexpected type {other}"),
                };
                let pttl: i64 = redis::cmd("PTTL").arg(&key).query(&mut conn).unwrap();
                let at = (pttl >= 0).then(|| now + pttl as u64);
                out.entry(db).or_default().insert(key, (value, at));
            }
        }
        out
    }
}

impl Drop for Redis {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn unix_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64
}

/// Asserts two keyspaces are equal, expiry times within `slack_ms`.
pub fn assert_same(expected: &Keyspace, found: &Keyspace, slack_ms: u64) {
    let count = |k: &Keyspace| k.values().map(BTreeMap::len).sum::<usize>();
    for (db, keys) in expected {
        for (key, (value, at)) in keys {
            let name = String::from_utf8_lossy(key);
            let Some((found_value, found_at)) = found.get(db).and_then(|k| k.get(key)) else {
                panic!("db {db} key {name}: missing");
            };
            assert_eq!(found_value, value, "db {db} key {name}: value");
            match (at, found_at) {
                (None, None) => {}
                (Some(a), Some(b)) => assert!(
                    a.abs_diff(*b) <= slack_ms,
                    "db {db} key {name}: expiry {a} vs {b}"
                ),
                _ => panic!("db {db} key {name}: expiry {at:?} vs {found_at:?}"),
            }
        }
    }
    assert_eq!(count(expected), count(found), "key counts");
}

/// Builds an entry.
pub fn entry(value: Value, expire_at_ms: Option<u64>) -> Entry {
    Entry {
        value,
        expire_at_ms,
    }
}

pub fn b(s: impl AsRef<[u8]>) -> Bytes {
    Bytes::copy_from_slice(s.as_ref())
}
