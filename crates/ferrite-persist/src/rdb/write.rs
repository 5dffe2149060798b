//! The RDB writer: a stream of opcodes over a buffered, checksummed writer.

use std::io::{BufWriter, Write};
use std::time::{SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use ferrite_store::{Entry, StrValue, Value};

use super::{
    encode_functions, encode_len, lzf, RdbError, WriteOptions, CRC, FUNCTIONS_AUX, OP_AUX, OP_EOF,
    OP_EXPIRETIME_MS, OP_RESIZEDB, OP_SELECTDB, RDB_VERSION_WRITTEN, TYPE_HASH, TYPE_LIST,
    TYPE_SET, TYPE_STRING, TYPE_ZSET_2,
};

/// Redis's size of the output buffer (`rdbSaveRio` writes through 64 KiB).
const WRITE_BUFFER_BYTES: usize = 64 * 1024;

/// Writes one RDB file as a stream: header and AUX fields on creation, then
/// [`Writer::functions`], [`Writer::select_db`] and [`Writer::entry`] in any
/// order, then [`Writer::finish`] (EOF and checksum).
///
/// Entries may come from any source, one database after another or mixed:
/// a change of database emits SELECTDB. Call [`Writer::select_db`] first
/// when the database's size is known, to add Redis's RESIZEDB hint.
pub struct Writer<W: Write> {
    out: BufWriter<W>,
    digest: crc::Digest<'static, u64>,
    written: u64,
    db: Option<usize>,
    compress: bool,
}

/// Strings longer than this are tried with LZF (Redis: 20).
const COMPRESS_MIN_BYTES: usize = 20;

impl<W: Write> Writer<W> {
    /// Starts a file: `REDIS0010` and the AUX fields Redis 7.0 writes
    /// (`redis-ver`, `redis-bits`, `ctime`, `used-mem`, `aof-base`) plus
    /// `ferrite-ver` and `options.extra_aux`.
    pub fn new(w: W, options: &WriteOptions) -> Result<Self, RdbError> {
        let mut writer = Writer {
            out: BufWriter::with_capacity(WRITE_BUFFER_BYTES, w),
            digest: CRC.digest(),
            written: 0,
            db: None,
            compress: options.compress,
        };
        writer.raw(format!("REDIS{RDB_VERSION_WRITTEN:04}").as_bytes())?;
        let ctime = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        writer.aux(b"redis-ver", super::REDIS_VERSION_CLAIMED.as_bytes())?;
        writer.aux(b"redis-bits", b"64")?;
        writer.aux(b"ctime", ctime.to_string().as_bytes())?;
        writer.aux(b"used-mem", options.used_mem.to_string().as_bytes())?;
        writer.aux(b"aof-base", if options.aof_base { b"1" } else { b"0" })?;
        writer.aux(b"ferrite-ver", env!("CARGO_PKG_VERSION").as_bytes())?;
        for (key, value) in &options.extra_aux {
            writer.aux(key.as_bytes(), value)?;
        }
        Ok(writer)
    }

    /// One AUX field (Redis ignores names it does not know).
    pub fn aux(&mut self, key: &[u8], value: &[u8]) -> Result<(), RdbError> {
        self.raw(&[OP_AUX])?;
        self.string(key)?;
        self.string(value)
    }

    /// The loaded functions, as the `ferrite-functions` AUX field (see the
    /// module docs for its encoding). Write it even when empty: loading a
    /// file that has it replaces the catalog.
    pub fn functions(&mut self, functions: &[(String, Bytes)]) -> Result<(), RdbError> {
        self.aux(FUNCTIONS_AUX.as_bytes(), &encode_functions(functions))
    }

    /// Starts database `db` with Redis's RESIZEDB hint (`keys` entries of
    /// which `expires` have a TTL).
    pub fn select_db(&mut self, db: usize, keys: u64, expires: u64) -> Result<(), RdbError> {
        self.raw(&[OP_SELECTDB])?;
        self.len(db as u64)?;
        self.raw(&[OP_RESIZEDB])?;
        self.len(keys)?;
        self.len(expires)?;
        self.db = Some(db);
        Ok(())
    }

    /// A whole database: SELECTDB and RESIZEDB, then every entry. Nothing
    /// for an empty database.
    pub fn db(&mut self, db: usize, entries: &[(Bytes, Entry)]) -> Result<(), RdbError> {
        if entries.is_empty() {
            return Ok(());
        }
        let expires = entries
            .iter()
            .filter(|(_, e)| e.expire_at_ms.is_some())
            .count();
        self.select_db(db, entries.len() as u64, expires as u64)?;
        for (key, entry) in entries {
            self.entry(db, key, entry)?;
        }
        Ok(())
    }

    /// One key. Empty collections are skipped (Redis deletes such keys).
    pub fn entry(&mut self, db: usize, key: &[u8], entry: &Entry) -> Result<(), RdbError> {
        if entry.value.is_empty_collection() {
            return Ok(());
        }
        if self.db != Some(db) {
            self.raw(&[OP_SELECTDB])?;
            self.len(db as u64)?;
            self.db = Some(db);
        }
        if let Some(at) = entry.expire_at_ms {
            self.raw(&[OP_EXPIRETIME_MS])?;
            self.raw(&at.to_le_bytes())?;
        }
        match &entry.value {
            Value::String(s) => {
                self.raw(&[TYPE_STRING])?;
                self.string(key)?;
                match s {
                    StrValue::Int(n) => self.int_string(*n)?,
                    StrValue::Raw(b) => self.string(b)?,
                }
            }
            Value::List(list) => {
                self.raw(&[TYPE_LIST])?;
                self.string(key)?;
                self.len(list.len() as u64)?;
                for item in list {
                    self.string(item)?;
                }
            }
            Value::Set(set) => {
                self.raw(&[TYPE_SET])?;
                self.string(key)?;
                self.len(set.len() as u64)?;
                for member in set.iter() {
                    self.string(member)?;
                }
            }
            Value::Hash(hash) => {
                self.raw(&[TYPE_HASH])?;
                self.string(key)?;
                self.len(hash.len() as u64)?;
                for (field, value) in hash.iter() {
                    self.string(field)?;
                    self.string(value)?;
                }
            }
            Value::ZSet(zset) => {
                self.raw(&[TYPE_ZSET_2])?;
                self.string(key)?;
                self.len(zset.len() as u64)?;
                // Highest score first, as Redis writes it (cheap to load).
                for (member, score) in zset.iter_span(zset.span_by_rank(0, -1, true)) {
                    self.string(member)?;
                    self.raw(&score.to_le_bytes())?;
                }
            }
        }
        Ok(())
    }

    /// Writes EOF and the checksum, flushes, and returns the writer and the
    /// number of bytes written.
    pub fn finish(mut self) -> Result<(W, u64), RdbError> {
        self.raw(&[OP_EOF])?;
        let checksum = self.digest.clone().finalize();
        self.out.write_all(&checksum.to_le_bytes())?;
        self.written += 8;
        let written = self.written;
        let inner = self
            .out
            .into_inner()
            .map_err(|e| RdbError::Io(e.into_error()))?;
        Ok((inner, written))
    }

    fn raw(&mut self, bytes: &[u8]) -> Result<(), RdbError> {
        self.digest.update(bytes);
        self.out.write_all(bytes)?;
        self.written += bytes.len() as u64;
        Ok(())
    }

    /// Redis's length encoding.
    fn len(&mut self, n: u64) -> Result<(), RdbError> {
        let (bytes, used) = encode_len(n);
        self.raw(&bytes[..used])
    }

    /// A string; short canonical integers use the integer encodings, as
    /// Redis's `rdbTryIntegerEncoding` does, and longer strings are LZF
    /// compressed when that saves at least 4 bytes (`rdbSaveLzfStringObject`).
    fn string(&mut self, bytes: &[u8]) -> Result<(), RdbError> {
        if bytes.len() <= 11 {
            if let Some(n) = ferrite_store::value::parse_canonical_i64(bytes) {
                if let Some(encoded) = int_encoding(n) {
                    return self.raw(encoded.as_slice());
                }
            }
        }
        if self.compress && bytes.len() > COMPRESS_MIN_BYTES {
            if let Some(packed) = lzf::compress(bytes, bytes.len() - 4) {
                self.raw(&[0xc3])?;
                self.len(packed.len() as u64)?;
                self.len(bytes.len() as u64)?;
                return self.raw(&packed);
            }
        }
        self.len(bytes.len() as u64)?;
        self.raw(bytes)
    }

    /// An integer string value (`rdbSaveLongLongAsStringObject`).
    fn int_string(&mut self, n: i64) -> Result<(), RdbError> {
        match int_encoding(n) {
            Some(encoded) => self.raw(encoded.as_slice()),
            None => {
                let text = n.to_string();
                self.len(text.len() as u64)?;
                self.raw(text.as_bytes())
            }
        }
    }
}

/// Up to 5 encoded bytes.
struct Encoded {
    bytes: [u8; 5],
    len: usize,
}

impl Encoded {
    fn as_slice(&self) -> &[u8] {
        &self.bytes[..self.len]
    }
}

/// The INT8/INT16/INT32 string encodings of `n`, if it fits 32 bits.
fn int_encoding(n: i64) -> Option<Encoded> {
    let mut bytes = [0u8; 5];
    let len = if let Ok(v) = i8::try_from(n) {
        bytes[0] = 0xc0;
        bytes[1] = v as u8;
        2
    } else if let Ok(v) = i16::try_from(n) {
        bytes[0] = 0xc1;
        bytes[1..3].copy_from_slice(&v.to_le_bytes());
        3
    } else if let Ok(v) = i32::try_from(n) {
        bytes[0] = 0xc2;
        bytes[1..5].copy_from_slice(&v.to_le_bytes());
        5
    } else {
        return None;
    };
    Some(Encoded { bytes, len })
}
