//! RDB snapshots: Redis's RDB format, version 10 (what Redis 7.0 writes),
//! written and read.
//!
//! # What is written
//!
//! `REDIS0010`; AUX fields `redis-ver` (the Redis version whose format this
//! is, 7.0.15), `redis-bits`, `ctime`, `used-mem`, `aof-base`, `ferrite-ver`
//! and `ferrite-functions` (below); per database SELECTDB (+ RESIZEDB when
//! the size is known); per key EXPIRETIME_MS when it has a TTL, then the
//! value in the plain encodings every Redis still loads: STRING (integer
//! encodings INT8/16/32 for canonical integers that fit 32 bits, LZF for
//! strings over 20 bytes that it shrinks by at least 4 bytes, else raw
//! bytes; [`WriteOptions::compress`] turns LZF off), LIST (type 1), SET (2), HASH (4), ZSET_2 (5, binary
//! doubles); EOF and the CRC-64 (Jones, reflected, as Redis's `crc64`).
//! Redis 7.0.15 loads these files (tested against the real server) and
//! converts small collections to its compact encodings on load.
//!
//! # Functions
//!
//! The AUX field `ferrite-functions` holds every loaded function
//! ([`crate::FunctionCatalog::dump`]). Its value is: one byte, the encoding
//! version (1); an RDB length, the number of functions; then per function
//! two RDB strings, the name and the opaque record. Redis ignores AUX fields
//! it does not know (tested), so files stay loadable by Redis. A file with
//! the field replaces the catalog on load; a file without it (written by
//! Redis) leaves the catalog alone.
//!
//! # What is read
//!
//! Everything Redis up to 7.2 writes for strings, lists, sets, hashes and
//! sorted sets, in every encoding: integer and LZF strings; LIST, ZIPLIST,
//! QUICKLIST, QUICKLIST_2 (plain and packed nodes); SET, INTSET,
//! SET_LISTPACK; HASH, ZIPMAP, HASH_ZIPLIST, HASH_LISTPACK; ZSET, ZSET_2,
//! ZSET_ZIPLIST, ZSET_LISTPACK; EXPIRETIME and EXPIRETIME_MS; SELECTDB,
//! RESIZEDB, SLOT_INFO, AUX, IDLE, FREQ. Redis function libraries (FUNCTION2) are
//! skipped with a warning: Lua cannot run here. Module AUX data is skipped
//! with a warning. Streams, module values and Redis 7.4's hashes with field
//! expiry are refused with [`RdbError::Unsupported`] naming the key and the
//! offset. A checksum of 0 means "not computed" (`rdbchecksum no`), as in
//! Redis.
//!
//! # Limits and failure
//!
//! The reader streams: one key is in memory at a time, and memory for a
//! string grows only as its bytes arrive, so a hostile length gives
//! [`RdbError::Truncated`] or [`RdbError::Corrupt`], never a large
//! allocation. Strings (keys, values, encoded blobs) are limited to
//! [`LoadOptions::max_string_bytes`] (default 512 MiB, Redis's
//! `proto-max-bulk-len`). Entries reach the sink as they are read: when
//! [`load`] fails, the sink has seen a prefix of the file (the server
//! refuses to start, as Redis does).
//!
//! # Speed
//!
//! 1,000,000 small string keys, release build, best of 5 runs on a busy
//! 2-core machine (`cargo test --release -p ferrite-persist --test rdb_speed
//! -- --ignored --nocapture`; details in `docs/persistence.md`): encoding
//! 88 ms, decoding 148 ms; [`save_store`] 1.16 s (of which 1.15 s is
//! `Store::snapshot_db` copying the keyspace), [`load_file`] into a `Store`
//! 0.82 s.
//!
//! # Example
//!
//! ```
//! use bytes::Bytes;
//! use ferrite_persist::rdb::{self, LoadOptions, LoadSink, WriteOptions};
//! use ferrite_store::{Entry, Value};
//!
//! let entry = Entry { value: Value::string(b"hello"), expire_at_ms: None };
//! let mut file = Vec::new();
//! let mut writer = rdb::Writer::new(&mut file, &WriteOptions::default())?;
//! writer.functions(&[("f".to_string(), Bytes::from_static(b"record"))])?;
//! writer.entry(0, b"greeting", &entry)?;
//! writer.finish()?;
//!
//! #[derive(Default)]
//! struct Collect(Vec<(usize, Bytes, Entry)>, Vec<(String, Bytes)>);
//! impl LoadSink for Collect {
//!     fn entry(&mut self, db: usize, key: Bytes, entry: Entry) -> Result<(), String> {
//!         self.0.push((db, key, entry));
//!         Ok(())
//!     }
//!     fn functions(&mut self, functions: Vec<(String, Bytes)>) -> Result<(), String> {
//!         self.1 = functions;
//!         Ok(())
//!     }
//! }
//! let mut sink = Collect::default();
//! let stats = rdb::load(&file[..], &LoadOptions::default(), &mut sink)?;
//! assert_eq!(stats.keys, 1);
//! assert_eq!(sink.0, vec![(0, Bytes::from("greeting"), entry)]);
//! assert_eq!(sink.1[0].0, "f");
//! # Ok::<(), rdb::RdbError>(())
//! ```

mod compact;
mod lzf;
mod read;
mod write;

use std::fs::File;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use bytes::Bytes;
use ferrite_store::{Entry, Store};

use crate::FunctionCatalog;

pub use write::Writer;

/// RDB version written (Redis 7.0's).
pub const RDB_VERSION_WRITTEN: u32 = 10;
/// The Redis version whose RDB format is written (AUX `redis-ver`).
pub const REDIS_VERSION_CLAIMED: &str = "7.0.15";
/// AUX field holding ferrite's functions.
pub const FUNCTIONS_AUX: &str = "ferrite-functions";
/// Version byte at the start of the functions AUX value.
const FUNCTIONS_ENCODING_VERSION: u8 = 1;
/// Default [`LoadOptions::max_string_bytes`]: 512 MiB (Redis's
/// `proto-max-bulk-len`).
pub const MAX_STRING_BYTES_DEFAULT: u64 = 512 * 1024 * 1024;

const CRC: crc::Crc<u64> = crc::Crc::<u64>::new(&crc::CRC_64_REDIS);

// Opcodes (Redis `rdb.h`).
/// Cluster slot sizes (Redis 7.4): three lengths, a hint.
const OP_SLOT_INFO: u8 = 244;
const OP_FUNCTION2: u8 = 245;
const OP_FUNCTION_PRE_GA: u8 = 246;
const OP_MODULE_AUX: u8 = 247;
const OP_IDLE: u8 = 248;
const OP_FREQ: u8 = 249;
const OP_AUX: u8 = 250;
const OP_RESIZEDB: u8 = 251;
const OP_EXPIRETIME_MS: u8 = 252;
const OP_EXPIRETIME: u8 = 253;
const OP_SELECTDB: u8 = 254;
const OP_EOF: u8 = 255;

// Value types (Redis `rdb.h`).
const TYPE_STRING: u8 = 0;
const TYPE_LIST: u8 = 1;
const TYPE_SET: u8 = 2;
const TYPE_ZSET: u8 = 3;
const TYPE_HASH: u8 = 4;
const TYPE_ZSET_2: u8 = 5;
const TYPE_MODULE: u8 = 6;
const TYPE_MODULE_2: u8 = 7;
const TYPE_HASH_ZIPMAP: u8 = 9;
const TYPE_LIST_ZIPLIST: u8 = 10;
const TYPE_SET_INTSET: u8 = 11;
const TYPE_ZSET_ZIPLIST: u8 = 12;
const TYPE_HASH_ZIPLIST: u8 = 13;
const TYPE_LIST_QUICKLIST: u8 = 14;
const TYPE_STREAM_LISTPACKS: u8 = 15;
const TYPE_HASH_LISTPACK: u8 = 16;
const TYPE_ZSET_LISTPACK: u8 = 17;
const TYPE_LIST_QUICKLIST_2: u8 = 18;
const TYPE_STREAM_LISTPACKS_2: u8 = 19;
const TYPE_SET_LISTPACK: u8 = 20;
const TYPE_STREAM_LISTPACKS_3: u8 = 21;
/// Redis 7.4's hashes with field expiry (types 22 to 25).
const TYPE_HASH_METADATA_FIRST: u8 = 22;
const TYPE_HASH_METADATA_LAST: u8 = 25;

/// Errors reading or writing an RDB stream. Offsets are byte offsets from
/// the start of the file.
#[derive(Debug, thiserror::Error)]
pub enum RdbError {
    /// The input ended before the file did.
    #[error("truncated at offset {offset}")]
    Truncated {
        /// Where the input ended.
        offset: u64,
    },
    /// The bytes do not form a valid RDB file.
    #[error("corrupt at offset {offset}: {what}")]
    Corrupt {
        /// Start of the invalid item.
        offset: u64,
        /// What is wrong.
        what: String,
    },
    /// The content does not match the checksum at the end.
    #[error(
        "checksum mismatch at offset {offset}: the file says {expected:#018x}, \
         its content gives {found:#018x}"
    )]
    ChecksumMismatch {
        /// Offset of the stored checksum.
        offset: u64,
        /// The stored checksum.
        expected: u64,
        /// The checksum of the content.
        found: u64,
    },
    /// Valid RDB that ferrite cannot load (streams, modules, …).
    #[error("unsupported at offset {offset}: {what}")]
    Unsupported {
        /// Start of the record.
        offset: u64,
        /// What it is.
        what: String,
    },
    /// The sink refused a record (database out of range, functions that
    /// fail to load).
    #[error("cannot load the record at offset {offset}: {message}")]
    Sink {
        /// Start of the record.
        offset: u64,
        /// The sink's reason.
        message: String,
    },
    /// Reading or writing failed.
    #[error("i/o error: {0}")]
    Io(#[from] std::io::Error),
}

/// An [`RdbError`] with the file it concerns:
/// `dump.rdb: corrupt at offset 1234: …`.
#[derive(Debug, thiserror::Error)]
#[error("{}: {source}", path.display())]
pub struct RdbFileError {
    /// The file.
    pub path: PathBuf,
    /// What went wrong.
    #[source]
    pub source: RdbError,
}

impl RdbFileError {
    fn new(path: &Path, source: impl Into<RdbError>) -> Self {
        RdbFileError {
            path: path.to_path_buf(),
            source: source.into(),
        }
    }
}

/// How [`Writer`] writes: AUX fields of the header, compression.
#[derive(Debug, Clone)]
pub struct WriteOptions {
    /// LZF-compress strings longer than 20 bytes when that saves at least
    /// 4 bytes (Redis's `rdbcompression yes`, the default).
    pub compress: bool,
    /// AUX `aof-base`: 1 when the file is the base of an append-only file.
    pub aof_base: bool,
    /// AUX `used-mem`, bytes (informational).
    pub used_mem: u64,
    /// More AUX fields (name, value).
    pub extra_aux: Vec<(String, Bytes)>,
}

impl Default for WriteOptions {
    fn default() -> Self {
        WriteOptions {
            compress: true,
            aof_base: false,
            used_mem: 0,
            extra_aux: Vec::new(),
        }
    }
}

/// Reading limits.
#[derive(Debug, Clone)]
pub struct LoadOptions {
    /// Longest string (key, value, element or encoded blob), bytes.
    pub max_string_bytes: u64,
}

impl Default for LoadOptions {
    fn default() -> Self {
        LoadOptions {
            max_string_bytes: MAX_STRING_BYTES_DEFAULT,
        }
    }
}

/// Receives what [`load`] reads, in file order.
pub trait LoadSink {
    /// One key. An `Err` stops loading with [`RdbError::Sink`].
    fn entry(&mut self, db: usize, key: Bytes, entry: Entry) -> Result<(), String>;

    /// The `ferrite-functions` AUX field (only if the file has it).
    fn functions(&mut self, functions: Vec<(String, Bytes)>) -> Result<(), String>;

    /// Any other AUX field.
    fn aux(&mut self, _key: &[u8], _value: &[u8]) {}
}

/// What [`load`] found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LoadStats {
    /// RDB version of the file.
    pub version: u32,
    /// Keys handed to the sink.
    pub keys: u64,
    /// Keys whose value was an empty collection (not handed over).
    pub empty_skipped: u64,
    /// Keys already expired at load time, dropped by [`load_file`] (like a
    /// Redis master does); always 0 from [`load`].
    pub expired_skipped: u64,
    /// Functions in the `ferrite-functions` field.
    pub functions: usize,
    /// Redis function libraries skipped (FUNCTION2 records).
    pub redis_functions_skipped: u64,
    /// Bytes read, up to and including the checksum.
    pub bytes: u64,
    /// Values read per RDB value type (index: the type byte, e.g. 18 for
    /// QUICKLIST_2), empty ones included.
    pub value_types: [u64; VALUE_TYPES],
    /// Strings stored LZF-compressed.
    pub lzf_strings: u64,
    /// QUICKLIST_2 nodes in the plain (single large element) container.
    pub quicklist_plain_nodes: u64,
}

/// Size of [`LoadStats::value_types`]: RDB value types are below 32.
pub const VALUE_TYPES: usize = 32;

/// Reads one RDB stream from `r`, handing keys and functions to `sink`.
/// Reads ahead in 64 KiB blocks: `r` may be left past the end of the file
/// ([`LoadStats::bytes`] says where it ended).
pub fn load<R: Read>(
    r: R,
    options: &LoadOptions,
    sink: &mut dyn LoadSink,
) -> Result<LoadStats, RdbError> {
    read::Reader::new(r, options).run(sink)
}

/// Writes a whole file: the header, `functions`, then each database's
/// entries with its RESIZEDB hint. Returns the bytes written.
pub fn write<'a, W: Write>(
    w: W,
    dbs: impl IntoIterator<Item = (usize, &'a [(Bytes, Entry)])>,
    functions: &[(String, Bytes)],
    options: &WriteOptions,
) -> Result<(W, u64), RdbError> {
    let mut writer = Writer::new(w, options)?;
    writer.functions(functions)?;
    for (db, entries) in dbs {
        writer.db(db, entries)?;
    }
    writer.finish()
}

/// Number of temp files created by this process (unique names).
static TEMP_COUNTER: AtomicU64 = AtomicU64::new(0);

/// Writes `path` atomically: `fill` writes a file into a temp file in the
/// same directory, which is fsynced, renamed over `path`, and the directory
/// fsynced. On error the temp file is removed and `path` is untouched.
/// Returns the bytes written.
pub fn save_file(
    path: &Path,
    options: &WriteOptions,
    fill: impl FnOnce(&mut Writer<File>) -> Result<(), RdbError>,
) -> Result<u64, RdbFileError> {
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let temp = dir.join(format!(
        "temp-{}-{}.rdb",
        std::process::id(),
        TEMP_COUNTER.fetch_add(1, Ordering::Relaxed)
    ));
    let result = (|| -> Result<u64, RdbError> {
        let file = File::create(&temp)?;
        let mut writer = Writer::new(file, options)?;
        fill(&mut writer)?;
        let (file, written) = writer.finish()?;
        file.sync_all()?;
        drop(file);
        std::fs::rename(&temp, path)?;
        File::open(&dir)?.sync_all()?;
        Ok(written)
    })();
    result.map_err(|e| {
        let _ = std::fs::remove_file(&temp);
        RdbFileError::new(path, e)
    })
}

/// Saves every database of `store` and the functions of `catalog` to
/// `path` ([`save_file`]). Returns the bytes written.
///
/// Each database is copied with `Store::snapshot_db` (one shard lock at a
/// time), so a transaction spanning shards that commits meanwhile may be
/// seen half-applied; for a point-in-time file feed [`Writer`] from a
/// consistent copy instead.
pub fn save_store(
    path: &Path,
    store: &Store,
    catalog: &dyn FunctionCatalog,
    options: &WriteOptions,
) -> Result<u64, RdbFileError> {
    save_file(path, options, |writer| {
        writer.functions(&catalog.dump())?;
        for db in 0..store.config().databases {
            writer.db(db, &store.snapshot_db(db))?;
        }
        Ok(())
    })
}

/// Loads `path` into `store` (keys already expired are dropped) and, if the
/// file has the functions field, replaces the functions of `catalog`.
pub fn load_file(
    path: &Path,
    store: &Store,
    catalog: &dyn FunctionCatalog,
    options: &LoadOptions,
) -> Result<LoadStats, RdbFileError> {
    let file = File::open(path).map_err(|e| RdbFileError::new(path, e))?;
    let mut sink = StoreSink {
        store,
        catalog,
        now_ms: unix_ms(),
        expired: 0,
    };
    let mut stats = load(file, options, &mut sink).map_err(|e| RdbFileError::new(path, e))?;
    stats.expired_skipped = sink.expired;
    stats.keys -= sink.expired;
    Ok(stats)
}

fn unix_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// Loads into a [`Store`] and a [`FunctionCatalog`].
struct StoreSink<'a> {
    store: &'a Store,
    catalog: &'a dyn FunctionCatalog,
    now_ms: u64,
    expired: u64,
}

impl LoadSink for StoreSink<'_> {
    fn entry(&mut self, db: usize, key: Bytes, entry: Entry) -> Result<(), String> {
        if entry.is_expired(self.now_ms) {
            self.expired += 1;
            return Ok(());
        }
        if self.store.load_entry(db, &key, entry) {
            Ok(())
        } else {
            Err(format!(
                "database {db} is out of range (databases = {})",
                self.store.config().databases
            ))
        }
    }

    fn functions(&mut self, functions: Vec<(String, Bytes)>) -> Result<(), String> {
        self.catalog.restore_all(functions)
    }
}

/// Redis's length encoding of `n`: the bytes and how many are used.
fn encode_len(n: u64) -> ([u8; 9], usize) {
    let mut out = [0u8; 9];
    let used = if n < 1 << 6 {
        out[0] = n as u8;
        1
    } else if n < 1 << 14 {
        out[0] = 0x40 | (n >> 8) as u8;
        out[1] = n as u8;
        2
    } else if let Ok(n) = u32::try_from(n) {
        out[0] = 0x80;
        out[1..5].copy_from_slice(&n.to_be_bytes());
        5
    } else {
        out[0] = 0x81;
        out[1..9].copy_from_slice(&n.to_be_bytes());
        9
    };
    (out, used)
}

/// The value of the functions AUX field (see the module docs).
fn encode_functions(functions: &[(String, Bytes)]) -> Vec<u8> {
    let mut out = vec![FUNCTIONS_ENCODING_VERSION];
    let put_len = |out: &mut Vec<u8>, n: usize| {
        let (bytes, used) = encode_len(n as u64);
        out.extend_from_slice(&bytes[..used]);
    };
    put_len(&mut out, functions.len());
    for (name, record) in functions {
        put_len(&mut out, name.len());
        out.extend_from_slice(name.as_bytes());
        put_len(&mut out, record.len());
        out.extend_from_slice(record);
    }
    out
}
