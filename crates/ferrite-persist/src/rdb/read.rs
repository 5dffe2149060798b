//! The streaming RDB reader: one pass over any `Read`, one key in memory at
//! a time, every length checked before anything is allocated for it.

use std::io::{ErrorKind, Read};

use bytes::Bytes;
use ferrite_store::value::{HashValue, ListValue, SetValue};
use ferrite_store::{Entry, StrValue, Value};

use super::compact::{self, BlobError, Elem};
use super::{lzf, LoadOptions, LoadSink, LoadStats, RdbError, CRC, FUNCTIONS_AUX};

/// Read buffer size.
const READ_BUFFER_BYTES: usize = 64 * 1024;
/// Most elements or bytes reserved ahead of reading them (larger values grow
/// as their data actually arrives).
const RESERVE_MAX: usize = 4096;
/// Newest RDB version read (Redis 7.4 writes 12; its new value types are
/// refused by type, everything else loads).
const RDB_VERSION_READ_MAX: u32 = 12;

/// Buffered input that tracks the offset and the running checksum.
struct Input<R> {
    r: R,
    buf: Box<[u8]>,
    pos: usize,
    end: usize,
    /// Bytes before `crc_from` are in `digest`.
    crc_from: usize,
    /// File offset of `buf[0]`.
    base: u64,
    digest: crc::Digest<'static, u64>,
}

impl<R: Read> Input<R> {
    fn offset(&self) -> u64 {
        self.base + self.pos as u64
    }

    /// Makes at least one more byte available, or reports truncation.
    fn fill(&mut self) -> Result<(), RdbError> {
        if self.pos < self.end {
            return Ok(());
        }
        self.digest.update(&self.buf[self.crc_from..self.pos]);
        self.base += self.pos as u64;
        self.pos = 0;
        self.end = 0;
        self.crc_from = 0;
        loop {
            match self.r.read(&mut self.buf) {
                Ok(0) => return Err(RdbError::Truncated { offset: self.base }),
                Ok(n) => {
                    self.end = n;
                    return Ok(());
                }
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) => return Err(RdbError::Io(e)),
            }
        }
    }

    fn u8(&mut self) -> Result<u8, RdbError> {
        self.fill()?;
        let b = self.buf[self.pos];
        self.pos += 1;
        Ok(b)
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N], RdbError> {
        let mut out = [0u8; N];
        self.read_into(&mut out)?;
        Ok(out)
    }

    fn read_into(&mut self, mut out: &mut [u8]) -> Result<(), RdbError> {
        while !out.is_empty() {
            self.fill()?;
            let n = out.len().min(self.end - self.pos);
            out[..n].copy_from_slice(&self.buf[self.pos..self.pos + n]);
            self.pos += n;
            out = &mut out[n..];
        }
        Ok(())
    }

    /// `n` bytes; memory grows only as the bytes arrive.
    fn bytes(&mut self, n: usize) -> Result<Vec<u8>, RdbError> {
        let mut out = Vec::with_capacity(n.min(READ_BUFFER_BYTES));
        while out.len() < n {
            self.fill()?;
            let take = (n - out.len()).min(self.end - self.pos);
            out.extend_from_slice(&self.buf[self.pos..self.pos + take]);
            self.pos += take;
        }
        Ok(out)
    }

    /// The checksum of everything consumed so far.
    fn checksum(&mut self) -> u64 {
        self.digest.update(&self.buf[self.crc_from..self.pos]);
        self.crc_from = self.pos;
        self.digest.clone().finalize()
    }
}

/// A length or one of the special string encodings.
enum LenOrEncoding {
    Length(u64),
    Int8,
    Int16,
    Int32,
    Lzf,
}

/// A string as read: bytes or an integer-encoded value.
enum RdbString {
    Bytes(Vec<u8>),
    Int(i64),
}

impl RdbString {
    fn into_bytes(self) -> Bytes {
        match self {
            RdbString::Bytes(b) => Bytes::from(b),
            RdbString::Int(n) => Bytes::from(n.to_string()),
        }
    }
}

pub(super) struct Reader<'a, R> {
    input: Input<R>,
    options: &'a LoadOptions,
    stats: LoadStats,
}

fn corrupt(offset: u64, what: impl Into<String>) -> RdbError {
    RdbError::Corrupt {
        offset,
        what: what.into(),
    }
}

/// Printable form of a key for error messages (at most 64 bytes).
fn show_key(key: &[u8]) -> String {
    let shown = &key[..key.len().min(64)];
    let mut text = String::from_utf8_lossy(shown).escape_debug().to_string();
    if key.len() > shown.len() {
        text.push('…');
    }
    format!("\"{text}\"")
}

impl<'a, R: Read> Reader<'a, R> {
    pub(super) fn new(r: R, options: &'a LoadOptions) -> Self {
        Reader {
            input: Input {
                r,
                buf: vec![0u8; READ_BUFFER_BYTES].into_boxed_slice(),
                pos: 0,
                end: 0,
                crc_from: 0,
                base: 0,
                digest: CRC.digest(),
            },
            options,
            stats: LoadStats::default(),
        }
    }

    pub(super) fn run(mut self, sink: &mut dyn LoadSink) -> Result<LoadStats, RdbError> {
        let header: [u8; 9] = self.input.array()?;
        if &header[..5] != b"REDIS" {
            return Err(corrupt(0, "not an RDB file (no REDIS signature)"));
        }
        let version = std::str::from_utf8(&header[5..])
            .ok()
            .filter(|v| v.bytes().all(|b| b.is_ascii_digit()))
            .and_then(|v| v.parse::<u32>().ok())
            .ok_or_else(|| corrupt(5, "bad RDB version digits"))?;
        if !(1..=RDB_VERSION_READ_MAX).contains(&version) {
            return Err(RdbError::Unsupported {
                offset: 5,
                what: format!(
                    "RDB version {version} (this build reads 1..={RDB_VERSION_READ_MAX})"
                ),
            });
        }
        self.stats.version = version;
        let mut db = 0usize;
        let mut expire_at_ms: Option<u64> = None;
        loop {
            let op_at = self.input.offset();
            let op = self.input.u8()?;
            match op {
                super::OP_EOF => {
                    if version >= 5 {
                        let computed = self.input.checksum();
                        let at = self.input.offset();
                        let stored = u64::from_le_bytes(self.input.array()?);
                        // Redis writes 0 when `rdbchecksum no`.
                        if stored != 0 && stored != computed {
                            return Err(RdbError::ChecksumMismatch {
                                offset: at,
                                expected: stored,
                                found: computed,
                            });
                        }
                    }
                    self.stats.bytes = self.input.offset();
                    return Ok(self.stats);
                }
                super::OP_SELECTDB => {
                    let n = self.len()?;
                    db = usize::try_from(n)
                        .map_err(|_| corrupt(op_at, format!("database number {n}")))?;
                }
                super::OP_RESIZEDB => {
                    self.len()?;
                    self.len()?;
                }
                super::OP_SLOT_INFO => {
                    for _ in 0..3 {
                        self.len()?;
                    }
                }
                super::OP_AUX => {
                    let key = self.string()?.into_bytes();
                    let value_at = self.input.offset();
                    let value = self.string()?.into_bytes();
                    if key.as_ref() == FUNCTIONS_AUX.as_bytes() {
                        let functions = decode_functions(&value, super::FUNCTIONS_ENCODING_VERSION)
                            .map_err(|(pos, what)| {
                                corrupt(
                                    value_at + pos as u64,
                                    format!("{FUNCTIONS_AUX} field: {what}"),
                                )
                            })?;
                        self.stats.functions = functions.len();
                        sink.functions(functions)
                            .map_err(|message| RdbError::Sink {
                                offset: op_at,
                                message,
                            })?;
                    } else {
                        sink.aux(&key, &value);
                    }
                }
                super::OP_MODULE_AUX => {
                    let module_id = self.len()?;
                    let _when_opcode = self.len()?;
                    let _when = self.len()?;
                    self.skip_module_value()?;
                    tracing::warn!(
                        offset = op_at,
                        module_id,
                        "RDB: skipped module AUX data (modules are not supported)"
                    );
                }
                super::OP_FUNCTION2 => {
                    self.string()?;
                    self.stats.redis_functions_skipped += 1;
                    tracing::warn!(
                        offset = op_at,
                        "RDB: skipped a Redis function library (Lua functions cannot run in ferrite)"
                    );
                }
                super::OP_FUNCTION_PRE_GA => {
                    return Err(RdbError::Unsupported {
                        offset: op_at,
                        what: "Redis 7.0 release-candidate function records".into(),
                    })
                }
                super::OP_EXPIRETIME_MS => {
                    expire_at_ms = Some(u64::from_le_bytes(self.input.array()?));
                }
                super::OP_EXPIRETIME => {
                    let secs = u32::from_le_bytes(self.input.array()?);
                    expire_at_ms = Some(u64::from(secs) * 1000);
                }
                super::OP_IDLE => {
                    self.len()?;
                }
                super::OP_FREQ => {
                    self.input.u8()?;
                }
                value_type => {
                    let key = self.string()?.into_bytes();
                    match self.value(value_type, op_at, &key)? {
                        Some(value) => {
                            self.stats.keys += 1;
                            let entry = Entry {
                                value,
                                expire_at_ms: expire_at_ms.take(),
                            };
                            sink.entry(db, key, entry)
                                .map_err(|message| RdbError::Sink {
                                    offset: op_at,
                                    message,
                                })?;
                        }
                        None => {
                            expire_at_ms = None;
                            self.stats.empty_skipped += 1;
                        }
                    }
                }
            }
        }
    }

    /// A length or string encoding marker.
    fn len_or_encoding(&mut self) -> Result<LenOrEncoding, RdbError> {
        let first = self.input.u8()?;
        Ok(match first >> 6 {
            0 => LenOrEncoding::Length(u64::from(first & 0x3f)),
            1 => {
                LenOrEncoding::Length((u64::from(first & 0x3f) << 8) | u64::from(self.input.u8()?))
            }
            2 => match first {
                0x80 => LenOrEncoding::Length(u64::from(u32::from_be_bytes(self.input.array()?))),
                0x81 => LenOrEncoding::Length(u64::from_be_bytes(self.input.array()?)),
                _ => {
                    return Err(corrupt(
                        self.input.offset() - 1,
                        format!("bad length byte {first:#04x}"),
                    ))
                }
            },
            _ => match first & 0x3f {
                0 => LenOrEncoding::Int8,
                1 => LenOrEncoding::Int16,
                2 => LenOrEncoding::Int32,
                3 => LenOrEncoding::Lzf,
                other => {
                    return Err(corrupt(
                        self.input.offset() - 1,
                        format!("unknown string encoding {other}"),
                    ))
                }
            },
        })
    }

    fn len(&mut self) -> Result<u64, RdbError> {
        let at = self.input.offset();
        match self.len_or_encoding()? {
            LenOrEncoding::Length(n) => Ok(n),
            _ => Err(corrupt(at, "expected a length, found a string encoding")),
        }
    }

    /// A byte count, checked against the configured limit.
    fn byte_len(&mut self, n: u64, at: u64, what: &str) -> Result<usize, RdbError> {
        if n > self.options.max_string_bytes {
            return Err(corrupt(
                at,
                format!(
                    "{what} of {n} bytes exceeds the limit of {} bytes",
                    self.options.max_string_bytes
                ),
            ));
        }
        usize::try_from(n).map_err(|_| corrupt(at, format!("{what} of {n} bytes")))
    }

    fn string(&mut self) -> Result<RdbString, RdbError> {
        let at = self.input.offset();
        Ok(match self.len_or_encoding()? {
            LenOrEncoding::Length(n) => {
                let n = self.byte_len(n, at, "string")?;
                RdbString::Bytes(self.input.bytes(n)?)
            }
            LenOrEncoding::Int8 => RdbString::Int(i64::from(self.input.u8()? as i8)),
            LenOrEncoding::Int16 => {
                RdbString::Int(i64::from(i16::from_le_bytes(self.input.array()?)))
            }
            LenOrEncoding::Int32 => {
                RdbString::Int(i64::from(i32::from_le_bytes(self.input.array()?)))
            }
            LenOrEncoding::Lzf => {
                let clen = self.len()?;
                let ulen = self.len()?;
                let clen = self.byte_len(clen, at, "compressed string")?;
                let ulen = self.byte_len(ulen, at, "string")?;
                if ulen as u64 > (clen as u64).saturating_mul(lzf::EXPANSION_MAX) {
                    return Err(corrupt(
                        at,
                        format!("LZF string claims {ulen} bytes from {clen} compressed bytes"),
                    ));
                }
                let data_at = self.input.offset();
                let compressed = self.input.bytes(clen)?;
                self.stats.lzf_strings += 1;
                let plain = lzf::decompress(&compressed, ulen)
                    .map_err(|pos| corrupt(data_at + pos as u64, "malformed LZF data"))?;
                RdbString::Bytes(plain)
            }
        })
    }

    fn bytes_elem(&mut self) -> Result<Bytes, RdbError> {
        Ok(self.string()?.into_bytes())
    }

    /// A blob string (ziplist, listpack, …) with its offset.
    fn blob(&mut self) -> Result<(u64, Bytes), RdbError> {
        let at = self.input.offset();
        let s = self.string()?;
        // An LZF blob's inner offsets are within the decompressed bytes;
        // they are reported relative to the blob's start either way.
        Ok((at, s.into_bytes()))
    }

    /// Redis's string-format double (ZSET type 0 and 3).
    fn string_double(&mut self, at: u64) -> Result<f64, RdbError> {
        let len = self.input.u8()?;
        match len {
            253 => Err(corrupt(at, "NaN score")),
            254 => Ok(f64::INFINITY),
            255 => Ok(f64::NEG_INFINITY),
            n => {
                let text = self.input.bytes(usize::from(n))?;
                parse_score(&text).ok_or_else(|| corrupt(at, "bad score text"))
            }
        }
    }

    fn count(&mut self) -> Result<u64, RdbError> {
        self.len()
    }

    /// Reads one value of type `value_type`; `None` for an empty collection.
    fn value(&mut self, value_type: u8, at: u64, key: &[u8]) -> Result<Option<Value>, RdbError> {
        let unsupported = |what: &str| RdbError::Unsupported {
            offset: at,
            what: format!("{what} value of key {}", show_key(key)),
        };
        if let Some(count) = self.stats.value_types.get_mut(usize::from(value_type)) {
            *count += 1;
        }
        let value = match value_type {
            super::TYPE_STRING => {
                return Ok(Some(Value::String(match self.string()? {
                    RdbString::Int(n) => StrValue::Int(n),
                    RdbString::Bytes(b) => StrValue::from_bytes(Bytes::from(b)),
                })))
            }
            super::TYPE_LIST => {
                let n = self.count()?;
                let mut list = ListValue::with_capacity(reserve(n));
                for _ in 0..n {
                    list.push_back(self.bytes_elem()?);
                }
                Value::List(list)
            }
            super::TYPE_SET => {
                let n = self.count()?;
                let mut set = SetValue::with_capacity_and_hasher(reserve(n), Default::default());
                for _ in 0..n {
                    let member_at = self.input.offset();
                    if !set.insert(self.bytes_elem()?) {
                        return Err(corrupt(
                            member_at,
                            format!("duplicate set member in key {}", show_key(key)),
                        ));
                    }
                }
                Value::Set(Box::new(set))
            }
            super::TYPE_HASH => {
                let n = self.count()?;
                let mut hash = HashValue::with_capacity_and_hasher(reserve(n), Default::default());
                for _ in 0..n {
                    let field_at = self.input.offset();
                    let field = self.bytes_elem()?;
                    let value = self.bytes_elem()?;
                    if hash.insert(field, value).is_some() {
                        return Err(corrupt(
                            field_at,
                            format!("duplicate hash field in key {}", show_key(key)),
                        ));
                    }
                }
                Value::Hash(Box::new(hash))
            }
            super::TYPE_ZSET | super::TYPE_ZSET_2 => {
                let n = self.count()?;
                let mut zset = ferrite_store::value::ZSet::new();
                for _ in 0..n {
                    let member_at = self.input.offset();
                    let member = self.bytes_elem()?;
                    let score = if value_type == super::TYPE_ZSET_2 {
                        f64::from_le_bytes(self.input.array()?)
                    } else {
                        self.string_double(member_at)?
                    };
                    if score.is_nan() {
                        return Err(corrupt(member_at, "NaN score"));
                    }
                    if zset.insert(member, score).is_some() {
                        return Err(corrupt(
                            member_at,
                            format!("duplicate sorted set member in key {}", show_key(key)),
                        ));
                    }
                }
                Value::ZSet(Box::new(zset))
            }
            super::TYPE_HASH_ZIPMAP => {
                let (blob_at, blob) = self.blob()?;
                let mut pairs = Pairs::default();
                compact::zipmap(&blob, |e| pairs.push(e)).map_err(|e| blob_error(blob_at, e))?;
                pairs.into_hash(blob_at, key)?
            }
            super::TYPE_LIST_ZIPLIST => {
                let (blob_at, blob) = self.blob()?;
                let mut list = ListValue::new();
                compact::ziplist(&blob, |e| {
                    list.push_back(elem_bytes(e));
                    Ok(())
                })
                .map_err(|e| blob_error(blob_at, e))?;
                Value::List(list)
            }
            super::TYPE_SET_INTSET => {
                let (blob_at, blob) = self.blob()?;
                let mut set = SetValue::default();
                compact::intset(&blob, |n| {
                    set.insert(Bytes::from(n.to_string()));
                    Ok(())
                })
                .map_err(|e| blob_error(blob_at, e))?;
                Value::Set(Box::new(set))
            }
            super::TYPE_SET_LISTPACK => {
                let (blob_at, blob) = self.blob()?;
                let mut set = SetValue::default();
                let mut duplicate = false;
                compact::listpack(&blob, |e| {
                    duplicate |= !set.insert(elem_bytes(e));
                    Ok(())
                })
                .map_err(|e| blob_error(blob_at, e))?;
                if duplicate {
                    return Err(corrupt(
                        blob_at,
                        format!("duplicate set member in key {}", show_key(key)),
                    ));
                }
                Value::Set(Box::new(set))
            }
            super::TYPE_ZSET_ZIPLIST | super::TYPE_ZSET_LISTPACK => {
                let (blob_at, blob) = self.blob()?;
                Pairs::walk(&blob, value_type == super::TYPE_ZSET_ZIPLIST)
                    .map_err(|e| blob_error(blob_at, e))?
                    .into_zset(blob_at, key)?
            }
            super::TYPE_HASH_ZIPLIST | super::TYPE_HASH_LISTPACK => {
                let (blob_at, blob) = self.blob()?;
                Pairs::walk(&blob, value_type == super::TYPE_HASH_ZIPLIST)
                    .map_err(|e| blob_error(blob_at, e))?
                    .into_hash(blob_at, key)?
            }
            super::TYPE_LIST_QUICKLIST | super::TYPE_LIST_QUICKLIST_2 => {
                let nodes = self.count()?;
                let mut list = ListValue::new();
                for _ in 0..nodes {
                    let container = if value_type == super::TYPE_LIST_QUICKLIST_2 {
                        let at = self.input.offset();
                        match self.len()? {
                            QUICKLIST_NODE_PLAIN => Some(true),
                            QUICKLIST_NODE_PACKED => Some(false),
                            other => {
                                return Err(corrupt(
                                    at,
                                    format!("unknown quicklist container {other}"),
                                ))
                            }
                        }
                    } else {
                        None
                    };
                    let (blob_at, blob) = self.blob()?;
                    let mut push = |e: Elem<'_>| {
                        list.push_back(elem_bytes(e));
                        Ok(())
                    };
                    match container {
                        Some(true) => {
                            self.stats.quicklist_plain_nodes += 1;
                            list.push_back(blob);
                        }
                        Some(false) => compact::listpack(&blob, &mut push)
                            .map_err(|e| blob_error(blob_at, e))?,
                        None => compact::ziplist(&blob, &mut push)
                            .map_err(|e| blob_error(blob_at, e))?,
                    }
                }
                Value::List(list)
            }
            super::TYPE_MODULE | super::TYPE_MODULE_2 => return Err(unsupported("module")),
            super::TYPE_STREAM_LISTPACKS
            | super::TYPE_STREAM_LISTPACKS_2
            | super::TYPE_STREAM_LISTPACKS_3 => return Err(unsupported("stream")),
            super::TYPE_HASH_METADATA_FIRST..=super::TYPE_HASH_METADATA_LAST => {
                return Err(unsupported("hash with field expiry (Redis 7.4)"))
            }
            other => return Err(corrupt(at, format!("unknown value type {other}"))),
        };
        Ok((!value.is_empty_collection()).then_some(value))
    }

    /// Skips a module value in the opcode format (`rdbLoadCheckModuleValue`).
    fn skip_module_value(&mut self) -> Result<(), RdbError> {
        loop {
            let at = self.input.offset();
            match self.len()? {
                0 => return Ok(()),
                1 | 2 => {
                    self.len()?;
                }
                3 => {
                    self.input.array::<4>()?;
                }
                4 => {
                    self.input.array::<8>()?;
                }
                5 => {
                    self.string()?;
                }
                other => return Err(corrupt(at, format!("unknown module data opcode {other}"))),
            }
        }
    }
}

const QUICKLIST_NODE_PLAIN: u64 = 1;
const QUICKLIST_NODE_PACKED: u64 = 2;

fn reserve(n: u64) -> usize {
    usize::try_from(n).unwrap_or(usize::MAX).min(RESERVE_MAX)
}

fn blob_error(blob_at: u64, (pos, what): BlobError) -> RdbError {
    // `blob_at` is the start of the string header; inner offsets count from
    // the blob's first byte, a few header bytes later.
    corrupt(
        blob_at,
        format!("{what} (at byte {pos} of the encoded value)"),
    )
}

fn elem_bytes(e: Elem<'_>) -> Bytes {
    match e {
        Elem::Str(s) => Bytes::copy_from_slice(s),
        Elem::Int(n) => Bytes::from(n.to_string()),
    }
}

/// A score as Redis prints it (`%.17g`, `inf`, `-inf`).
fn parse_score(text: &[u8]) -> Option<f64> {
    let text = std::str::from_utf8(text).ok()?;
    let score: f64 = text.parse().ok()?;
    (!score.is_nan()).then_some(score)
}

/// The second element of a pair, as stored.
enum Second {
    Int(i64),
    Bytes(Bytes),
}

/// Alternating elements of a compact hash or sorted set.
#[derive(Default)]
struct Pairs {
    items: Vec<(Bytes, Second)>,
    pending: Option<Bytes>,
}

impl Pairs {
    /// Collects the elements of a ziplist (`ziplist`) or a listpack.
    fn walk(blob: &[u8], ziplist: bool) -> Result<Pairs, BlobError> {
        let mut pairs = Pairs::default();
        if ziplist {
            compact::ziplist(blob, |e| pairs.push(e))?;
        } else {
            compact::listpack(blob, |e| pairs.push(e))?;
        }
        Ok(pairs)
    }

    fn push(&mut self, e: Elem<'_>) -> Result<(), BlobError> {
        match self.pending.take() {
            None => self.pending = Some(elem_bytes(e)),
            Some(first) => {
                let second = match e {
                    Elem::Int(n) => Second::Int(n),
                    Elem::Str(s) => Second::Bytes(Bytes::copy_from_slice(s)),
                };
                self.items.push((first, second));
            }
        }
        Ok(())
    }

    fn check_even(&self, at: u64, key: &[u8]) -> Result<(), RdbError> {
        if self.pending.is_some() {
            return Err(corrupt(
                at,
                format!("odd number of elements in key {}", show_key(key)),
            ));
        }
        Ok(())
    }

    fn into_hash(self, at: u64, key: &[u8]) -> Result<Value, RdbError> {
        self.check_even(at, key)?;
        let mut hash = HashValue::with_capacity_and_hasher(self.items.len(), Default::default());
        for (field, second) in self.items {
            let value = match second {
                Second::Int(n) => Bytes::from(n.to_string()),
                Second::Bytes(b) => b,
            };
            if hash.insert(field, value).is_some() {
                return Err(corrupt(
                    at,
                    format!("duplicate hash field in key {}", show_key(key)),
                ));
            }
        }
        Ok(Value::Hash(Box::new(hash)))
    }

    fn into_zset(self, at: u64, key: &[u8]) -> Result<Value, RdbError> {
        self.check_even(at, key)?;
        let mut zset = ferrite_store::value::ZSet::new();
        for (member, second) in self.items {
            let score = match second {
                Second::Int(n) => n as f64,
                Second::Bytes(b) => parse_score(&b)
                    .ok_or_else(|| corrupt(at, format!("bad score in key {}", show_key(key))))?,
            };
            if zset.insert(member, score).is_some() {
                return Err(corrupt(
                    at,
                    format!("duplicate sorted set member in key {}", show_key(key)),
                ));
            }
        }
        Ok(Value::ZSet(Box::new(zset)))
    }
}

/// Parses the functions AUX value with the reader's own length and string
/// decoding; errors give the offset inside the value.
pub(super) fn decode_functions(
    value: &[u8],
    version: u8,
) -> Result<Vec<(String, Bytes)>, (usize, String)> {
    let options = LoadOptions::default();
    let mut reader = Reader::new(value, &options);
    let at = |reader: &Reader<'_, &[u8]>| reader.input.offset() as usize;
    let fail = |reader: &Reader<'_, &[u8]>, e: RdbError| (at(reader), e.to_string());
    let found = reader.input.u8().map_err(|e| fail(&reader, e))?;
    if found != version {
        return Err((0, format!("encoding version {found}, expected {version}")));
    }
    let count = reader.len().map_err(|e| fail(&reader, e))?;
    let mut functions = Vec::with_capacity(reserve(count));
    for _ in 0..count {
        let name_at = at(&reader);
        let name = reader.string().map_err(|e| fail(&reader, e))?.into_bytes();
        let name = String::from_utf8(name.to_vec())
            .map_err(|_| (name_at, "function name is not UTF-8".to_string()))?;
        let record = reader.string().map_err(|e| fail(&reader, e))?.into_bytes();
        functions.push((name, record));
    }
    if at(&reader) != value.len() {
        return Err((at(&reader), "bytes after the last function".into()));
    }
    Ok(functions)
}
