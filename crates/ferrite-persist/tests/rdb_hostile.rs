//! RDB reader robustness: truncation at every byte, flipped bytes, hostile
//! lengths, old encodings crafted by hand, and a property round trip.

use bytes::Bytes;
use ferrite_persist::rdb::{self, LoadOptions, LoadSink, LoadStats, RdbError, WriteOptions};
use ferrite_store::value::{HashValue, ListValue, SetValue, ZSet};
use ferrite_store::{Entry, StrValue, Value};
use proptest::prelude::*;

#[derive(Default, Debug)]
struct Collect {
    entries: Vec<(usize, Bytes, Entry)>,
    functions: Option<Vec<(String, Bytes)>>,
}

impl LoadSink for Collect {
    fn entry(&mut self, db: usize, key: Bytes, entry: Entry) -> Result<(), String> {
        self.entries.push((db, key, entry));
        Ok(())
    }
    fn functions(&mut self, functions: Vec<(String, Bytes)>) -> Result<(), String> {
        self.functions = Some(functions);
        Ok(())
    }
}

fn load(bytes: &[u8]) -> Result<(LoadStats, Collect), RdbError> {
    let mut sink = Collect::default();
    let stats = rdb::load(bytes, &LoadOptions::default(), &mut sink)?;
    Ok((stats, sink))
}

fn b(s: impl AsRef<[u8]>) -> Bytes {
    Bytes::copy_from_slice(s.as_ref())
}

fn sample_entries() -> Vec<(usize, Bytes, Entry)> {
    let mut list = ListValue::new();
    list.extend([b("a"), b("12"), b("")]);
    let mut set = SetValue::default();
    set.extend([b("x"), b("-3")]);
    let mut hash = HashValue::default();
    hash.insert(b("f"), b("value"));
    let mut zset = ZSet::new();
    zset.insert(b("m"), 2.5);
    zset.insert(b("n"), f64::NEG_INFINITY);
    let e = |value, expire_at_ms| Entry {
        value,
        expire_at_ms,
    };
    vec![
        (0, b("int"), e(Value::String(StrValue::Int(300)), None)),
        (
            0,
            b("str"),
            e(
                Value::string(b"some longer string value"),
                Some(4_102_444_800_000),
            ),
        ),
        (0, b("list"), e(Value::List(list), None)),
        (1, b("set"), e(Value::Set(Box::new(set)), None)),
        (
            1,
            b("hash"),
            e(Value::Hash(Box::new(hash)), Some(4_102_444_800_123)),
        ),
        (7, b("zset"), e(Value::ZSet(Box::new(zset)), None)),
    ]
}

fn sample_file() -> Vec<u8> {
    let mut writer = rdb::Writer::new(Vec::new(), &WriteOptions::default()).unwrap();
    writer
        .functions(&[("fn".into(), b("module bytes"))])
        .unwrap();
    for (db, key, entry) in sample_entries() {
        writer.entry(db, &key, &entry).unwrap();
    }
    writer.finish().unwrap().0
}

#[test]
fn sample_round_trips() {
    let file = sample_file();
    let (stats, sink) = load(&file).unwrap();
    assert_eq!(stats.bytes, file.len() as u64);
    assert_eq!(sink.entries, sample_entries());
    assert_eq!(
        sink.functions,
        Some(vec![("fn".to_string(), b("module bytes"))])
    );
}

#[test]
fn every_truncation_is_reported_where_the_input_ends() {
    let file = sample_file();
    for len in 0..file.len() {
        match load(&file[..len]) {
            Err(RdbError::Truncated { offset }) => assert_eq!(offset, len as u64),
            other => panic!("prefix of {len} bytes: {other:?}"),
        }
    }
}

#[test]
fn every_flipped_byte_is_an_error() {
    let file = sample_file();
    for at in 0..file.len() {
        for mask in [0x01u8, 0x80, 0xff] {
            let mut bad = file.clone();
            bad[at] ^= mask;
            match load(&bad) {
                Ok(_) => panic!("byte {at} ^ {mask:#x}: loaded"),
                Err(RdbError::Io(e)) => panic!("byte {at}: i/o error {e}"),
                Err(
                    RdbError::Corrupt { offset, .. }
                    | RdbError::Truncated { offset }
                    | RdbError::Unsupported { offset, .. }
                    | RdbError::Sink { offset, .. }
                    | RdbError::ChecksumMismatch { offset, .. },
                ) => assert!(offset <= file.len() as u64, "byte {at}: offset {offset}"),
            }
        }
    }
    // A flip inside a value's bytes parses, and the checksum names it.
    let at = file.windows(6).position(|w| w == b"longer").unwrap();
    let mut bad = file.clone();
    bad[at] = b'L';
    match load(&bad) {
        Err(RdbError::ChecksumMismatch { offset, .. }) => assert_eq!(offset, file.len() as u64 - 8),
        other => panic!("{other:?}"),
    }
}

/// `REDIS` + version + body + EOF + checksum.
fn craft(version: u32, body: &[u8]) -> Vec<u8> {
    let mut file = format!("REDIS{version:04}").into_bytes();
    file.extend_from_slice(body);
    file.push(0xff);
    let crc = crc::Crc::<u64>::new(&crc::CRC_64_REDIS).checksum(&file);
    file.extend_from_slice(&crc.to_le_bytes());
    file
}

#[test]
fn hostile_lengths_fail_without_allocating() {
    // A key of u64::MAX bytes: over the limit.
    let mut body = vec![0x00, 0x81];
    body.extend_from_slice(&u64::MAX.to_be_bytes());
    let err = load(&craft(10, &body)).unwrap_err();
    assert!(matches!(err, RdbError::Corrupt { offset: 10, .. }), "{err}");
    assert!(err.to_string().contains("exceeds the limit"), "{err}");
    // 400 MB claimed (under the limit), 3 bytes present: truncated, and
    // only what arrived was allocated.
    let mut body = vec![0x00, 0x80];
    body.extend_from_slice(&400_000_000u32.to_be_bytes());
    body.extend_from_slice(b"abc");
    assert!(matches!(
        load(&craft(10, &body)),
        Err(RdbError::Truncated { .. })
    ));
    // A list of u64::MAX elements: the loop ends where the input does
    // (the EOF byte is not a valid string header).
    let mut body = vec![0x01, 0x01, b'k', 0x81];
    body.extend_from_slice(&u64::MAX.to_be_bytes());
    body.extend_from_slice(&[0x01, b'x']);
    assert!(matches!(
        load(&craft(10, &body)),
        Err(RdbError::Truncated { .. } | RdbError::Corrupt { .. })
    ));
    // An LZF string claiming 100 MB from 2 bytes.
    let mut body = vec![0x00, 0x01, b'k', 0xc3, 0x02, 0x80];
    body.extend_from_slice(&100_000_000u32.to_be_bytes());
    body.extend_from_slice(&[0x00, b'a']);
    let err = load(&craft(10, &body)).unwrap_err();
    assert!(err.to_string().contains("LZF"), "{err}");
    // A ziplist whose entry runs past the blob.
    let zl = [13, 0, 0, 0, 10, 0, 0, 0, 1, 0, 0, 0x3f, b'a'];
    let mut body = vec![10, 1, b'k', zl.len() as u8];
    body.extend_from_slice(&zl);
    assert!(matches!(
        load(&craft(9, &body)),
        Err(RdbError::Corrupt { .. })
    ));
    // A smaller configured limit applies to every string.
    let body = [0x00, 0x01, b'k', 0x05, b'h', b'e', b'l', b'l', b'o'];
    let options = LoadOptions {
        max_string_bytes: 4,
    };
    let err = rdb::load(&craft(10, &body)[..], &options, &mut Collect::default()).unwrap_err();
    assert!(matches!(err, RdbError::Corrupt { offset: 12, .. }), "{err}");
}

fn ziplist(entries: &[&[u8]]) -> Vec<u8> {
    // Small string entries only: prevlen (1 byte), 6-bit length, bytes.
    let mut body = Vec::new();
    let mut prev = 0u8;
    for e in entries {
        let start = body.len();
        body.push(prev);
        body.push(e.len() as u8);
        body.extend_from_slice(e);
        prev = (body.len() - start) as u8;
    }
    let mut zl = Vec::new();
    let total = 10 + body.len() + 1;
    zl.extend_from_slice(&(total as u32).to_le_bytes());
    zl.extend_from_slice(&0u32.to_le_bytes());
    zl.extend_from_slice(&(entries.len() as u16).to_le_bytes());
    zl.extend_from_slice(&body);
    zl.push(0xff);
    zl
}

fn blob(value_type: u8, key: &[u8], blob: &[u8]) -> Vec<u8> {
    let mut out = vec![value_type, key.len() as u8];
    out.extend_from_slice(key);
    out.push(0x40 | (blob.len() >> 8) as u8);
    out.push(blob.len() as u8);
    out.extend_from_slice(blob);
    out
}

#[test]
fn old_encodings_load() {
    let mut body = Vec::new();
    // EXPIRETIME (seconds), then a ziplist list with an integer entry.
    body.push(0xfd);
    body.extend_from_slice(&4_000_000_000u32.to_le_bytes());
    let mut zl = ziplist(&[b"a", b"b"]);
    // Replace the end marker with an int8 entry (prevlen 3, 0xfe, -2) + end.
    zl.pop();
    zl.extend_from_slice(&[3, 0xfe, 0xfe, 0xff]);
    let total = zl.len() as u32;
    zl[..4].copy_from_slice(&total.to_le_bytes());
    body.extend(blob(10, b"zl-list", &zl));
    body.extend(blob(
        12,
        b"zl-zset",
        &ziplist(&[b"m", b"1.5", b"n", b"-inf"]),
    ));
    body.extend(blob(13, b"zl-hash", &ziplist(&[b"f", b"v"])));
    // QUICKLIST (v1): 2 ziplist nodes.
    body.extend_from_slice(&[14, 2, b'q', b'l', 2]);
    for node in [ziplist(&[b"1"]), ziplist(&[b"2", b"3"])] {
        body.push(node.len() as u8);
        body.extend_from_slice(&node);
    }
    // ZIPMAP hash: zmlen, "f" → "v" with 1 free byte, end.
    let zm = [1, 1, b'f', 1, 1, b'v', 0, 0xff];
    body.extend(blob(9, b"zm-hash", &zm));
    // ZSET (type 3) with string-format doubles, incl. +inf (254).
    body.extend_from_slice(&[
        3, 2, b'z', b'3', 2, 1, b'a', 3, b'0', b'.', b'5', 1, b'b', 254,
    ]);
    // LIST (type 1) in db 3, with an IDLE and a FREQ hint before it.
    body.extend_from_slice(&[0xfe, 3, 0xf8, 5, 0xf9, 9, 1, 1, b'l', 1, 0xc0, 7]);
    // A SLOT_INFO hint (Redis 7.4), a Redis Lua library (FUNCTION2) and a module AUX record: skipped.
    body.extend_from_slice(&[0xf4, 1, 2, 0]);
    body.extend_from_slice(&[0xf5, 4, b'c', b'o', b'd', b'e']);
    body.extend_from_slice(&[0xf7, 0x05, 2, 2, 5, 1, b'x', 2, 9, 0]);
    let file = craft(9, &body);
    let (stats, sink) = load(&file).unwrap();
    assert_eq!(stats.redis_functions_skipped, 1);
    let found: Vec<(usize, String, String)> = sink
        .entries
        .iter()
        .map(|(db, k, e)| {
            let v = match &e.value {
                Value::List(l) => format!("{l:?}"),
                Value::Hash(h) => format!("{h:?}"),
                Value::ZSet(z) => format!("{:?}", z.iter().collect::<Vec<_>>()),
                other => format!("{other:?}"),
            };
            (*db, String::from_utf8_lossy(k).into_owned(), v)
        })
        .collect();
    let expect = |db, k: &str, v: &str| (db, k.to_string(), v.to_string());
    assert_eq!(
        found,
        vec![
            expect(0, "zl-list", r#"[b"a", b"b", b"-2"]"#),
            expect(0, "zl-zset", r#"[(b"n", -inf), (b"m", 1.5)]"#),
            expect(0, "zl-hash", r#"{b"f": b"v"}"#),
            expect(0, "ql", r#"[b"1", b"2", b"3"]"#),
            expect(0, "zm-hash", r#"{b"f": b"v"}"#),
            expect(0, "z3", r#"[(b"a", 0.5), (b"b", inf)]"#),
            expect(3, "l", r#"[b"7"]"#),
        ]
    );
    assert_eq!(sink.entries[0].2.expire_at_ms, Some(4_000_000_000_000));
    assert_eq!(sink.entries[1].2.expire_at_ms, None);
}

#[test]
fn unsupported_types_name_the_key_and_offset() {
    let body = [15, 3, b'e', b'v', b's', 0];
    let err = load(&craft(10, &body)).unwrap_err();
    assert!(
        matches!(err, RdbError::Unsupported { offset: 9, .. }),
        "{err}"
    );
    assert!(
        err.to_string().contains("stream value of key \"evs\""),
        "{err}"
    );
    // A newer version than Redis 7.4's.
    assert!(matches!(
        load(&craft(13, &[])),
        Err(RdbError::Unsupported { offset: 5, .. })
    ));
    assert!(matches!(
        load(b"RADIS0010"),
        Err(RdbError::Corrupt { offset: 0, .. })
    ));
}

#[test]
fn zero_checksum_is_not_checked() {
    let mut file = craft(10, &[0x00, 1, b'k', 1, b'v']);
    let n = file.len();
    file[n - 8..].fill(0);
    assert_eq!(load(&file).unwrap().1.entries.len(), 1);
}

#[test]
fn file_errors_name_the_file() {
    let dir = std::env::temp_dir().join(format!("ferrite-rdb-err-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("dump.rdb");
    let mut file = sample_file();
    let n = file.len();
    file.truncate(n - 3);
    std::fs::write(&path, &file).unwrap();
    let store = ferrite_store::Store::new(ferrite_store::StoreConfig::default());
    struct NoFunctions;
    impl ferrite_persist::FunctionCatalog for NoFunctions {
        fn dump(&self) -> Vec<(String, Bytes)> {
            Vec::new()
        }
        fn restore_all(&self, _: Vec<(String, Bytes)>) -> Result<(), String> {
            Ok(())
        }
    }
    let err = rdb::load_file(&path, &store, &NoFunctions, &LoadOptions::default()).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!("{}: truncated at offset {}", path.display(), n - 3)
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

fn value_strategy() -> impl Strategy<Value = Value> {
    let bytes = || proptest::collection::vec(any::<u8>(), 0..40).prop_map(Bytes::from);
    let elem = || {
        prop_oneof![
            bytes(),
            any::<i64>().prop_map(|n| Bytes::from(n.to_string())),
            (-200i64..200).prop_map(|n| Bytes::from(n.to_string())),
        ]
    };
    prop_oneof![
        elem().prop_map(|b| Value::String(StrValue::from_bytes(b))),
        proptest::collection::vec(elem(), 1..20).prop_map(|v| Value::List(v.into())),
        proptest::collection::vec(elem(), 1..20)
            .prop_map(|v| Value::Set(Box::new(v.into_iter().collect()))),
        proptest::collection::vec((elem(), elem()), 1..20)
            .prop_map(|v| Value::Hash(Box::new(v.into_iter().collect()))),
        proptest::collection::vec(
            (elem(), any::<f64>().prop_filter("no NaN", |f| !f.is_nan())),
            1..20
        )
        .prop_map(|v| {
            let mut z = ZSet::new();
            for (m, s) in v {
                z.insert(m, s);
            }
            Value::ZSet(Box::new(z))
        }),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    /// Arbitrary bytes after a valid header, with or without a valid
    /// checksum: an error or a load, never a panic.
    #[test]
    fn arbitrary_bodies_never_panic(body in proptest::collection::vec(any::<u8>(), 0..300)) {
        let _ = load(&craft(10, &body));
        let mut raw = b"REDIS0010".to_vec();
        raw.extend_from_slice(&body);
        let _ = load(&raw);
    }

    /// The sample file with random bytes overwritten and a random cut.
    #[test]
    fn mutated_files_are_errors(
        edits in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..6),
        cut in any::<prop::sample::Index>(),
    ) {
        let mut file = sample_file();
        let original = file.clone();
        for (at, byte) in edits {
            let i = at.index(file.len());
            file[i] = byte;
        }
        let len = file.len();
        file.truncate(len - cut.index(len / 4));
        if file != original {
            prop_assert!(load(&file).is_err());
        }
    }

    #[test]
    fn round_trip(
        entries in proptest::collection::btree_map(
            (0usize..16, proptest::collection::vec(any::<u8>(), 0..20)),
            (value_strategy(), proptest::option::of(any::<u64>())),
            0..30,
        ),
        functions in proptest::collection::vec(("[a-z]{1,8}", proptest::collection::vec(any::<u8>(), 0..100)), 0..4),
    ) {
        let functions: Vec<(String, Bytes)> =
            functions.into_iter().map(|(n, r)| (n, Bytes::from(r))).collect();
        let expected: Vec<(usize, Bytes, Entry)> = entries
            .into_iter()
            .map(|((db, key), (value, expire_at_ms))| (db, Bytes::from(key), Entry { value, expire_at_ms }))
            .collect();
        let mut writer = rdb::Writer::new(Vec::new(), &WriteOptions::default()).unwrap();
        writer.functions(&functions).unwrap();
        for (db, key, entry) in &expected {
            writer.entry(*db, key, entry).unwrap();
        }
        let (file, written) = writer.finish().unwrap();
        prop_assert_eq!(written, file.len() as u64);
        let (stats, sink) = load(&file).unwrap();
        prop_assert_eq!(stats.keys as usize, expected.len());
        prop_assert_eq!(sink.entries, expected);
        prop_assert_eq!(sink.functions, Some(functions));
    }
}
