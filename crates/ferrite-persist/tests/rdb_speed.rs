//! Write and load time of 1,000,000 small string keys (run in release:
//! `cargo test --release -p ferrite-persist --test rdb_speed -- --ignored
//! --nocapture`). Ignored by default: it measures, and asserts only that
//! every key survives.

use std::time::Instant;

use bytes::Bytes;
use ferrite_persist::rdb::{self, LoadOptions, WriteOptions};
use ferrite_persist::FunctionCatalog;
use ferrite_store::{Entry, Store, StoreConfig, Value};

/// Keys written and loaded.
const KEYS: usize = 1_000_000;

struct NoFunctions;

impl FunctionCatalog for NoFunctions {
    fn dump(&self) -> Vec<(String, Bytes)> {
        Vec::new()
    }
    fn restore_all(&self, _: Vec<(String, Bytes)>) -> Result<(), String> {
        Ok(())
    }
}

#[test]
#[ignore = "measurement; run in release with --ignored --nocapture"]
fn one_million_small_keys() {
    let store = Store::new(StoreConfig::default());
    for i in 0..KEYS {
        let entry = Entry {
            value: Value::string(format!("value-{i:04}").as_bytes()),
            expire_at_ms: None,
        };
        store.load_entry(0, format!("key:{i:08}").as_bytes(), entry);
    }
    let dir = std::env::temp_dir().join(format!("ferrite-rdb-speed-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("dump.rdb");

    // The parts: copying the keyspace out, and encoding it in memory.
    let start = Instant::now();
    let entries = store.snapshot_db(0);
    let copy = start.elapsed();
    let start = Instant::now();
    let (file, _) = rdb::write(
        Vec::new(),
        [(0, &entries[..])],
        &[],
        &WriteOptions::default(),
    )
    .unwrap();
    let encode = start.elapsed();
    struct Count(usize);
    impl rdb::LoadSink for Count {
        fn entry(&mut self, _: usize, _: Bytes, _: Entry) -> Result<(), String> {
            self.0 += 1;
            Ok(())
        }
        fn functions(&mut self, _: Vec<(String, Bytes)>) -> Result<(), String> {
            Ok(())
        }
    }
    let start = Instant::now();
    let mut count = Count(0);
    rdb::load(&file[..], &LoadOptions::default(), &mut count).unwrap();
    let decode = start.elapsed();
    assert_eq!(count.0, KEYS);
    println!(
        "snapshot_db(0) copy {copy:?}; rdb::write into memory {encode:?} ({} bytes); \
         rdb::load from memory, no store {decode:?}",
        file.len()
    );
    drop((entries, file));

    let start = Instant::now();
    let bytes = rdb::save_store(&path, &store, &NoFunctions, &WriteOptions::default()).unwrap();
    let write = start.elapsed();

    let loaded = Store::new(StoreConfig::default());
    let start = Instant::now();
    let stats = rdb::load_file(&path, &loaded, &NoFunctions, &LoadOptions::default()).unwrap();
    let load = start.elapsed();

    assert_eq!(stats.keys as usize, KEYS);
    assert_eq!(loaded.dbsize(0), KEYS);
    println!(
        "rdb {KEYS} keys, {bytes} bytes: save_store {write:?} ({:.0} keys/s, incl. the \
         snapshot_db copy and fsync); load_file {load:?} ({:.0} keys/s, incl. Store inserts)",
        KEYS as f64 / write.as_secs_f64(),
        KEYS as f64 / load.as_secs_f64(),
    );
    std::fs::remove_dir_all(&dir).unwrap();
}
