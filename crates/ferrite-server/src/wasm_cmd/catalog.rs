//! Loaded functions survive restarts: each one is a file
//! `<data dir>/functions/<name>.fn`, rewritten atomically (temp file, fsync,
//! rename, fsync of the directory) on WASM.LOAD / UPDATE / RELOAD and removed
//! on WASM.UNLOAD. Start-up reads them all back.
//!
//! File format (little-endian), version 1:
//!
//! ```text
//! "FERRITEFN1\n"          11 bytes of magic
//! u32 crc32 of the body   (IEEE, over everything after this field)
//! body: list encoding     u32 count, then count × (u32 len, bytes):
//!   [0] name
//!   [1] loaded_at, Unix milliseconds, decimal text
//!   [2] source path ("" when loaded from bytes)
//!   [3] module bytes
//!   [4..] canonical option list (see `LoadOptions::to_args`)
//! ```

use std::io::Write;
use std::path::{Path, PathBuf};

use bytes::Bytes;

const MAGIC: &[u8; 11] = b"FERRITEFN1\n";
/// Largest function file read back at start-up (module plus options).
pub const RECORD_BYTES_MAX: u64 = 1 << 30;
/// Most function files read at start-up.
pub const RECORDS_MAX: usize = 100_000;

/// One persisted function.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    pub name: String,
    pub loaded_at_ms: u64,
    /// The canonical path the module was read from, if it came from a file.
    pub source_path: Option<String>,
    pub module: Bytes,
    pub options: Vec<Bytes>,
}

/// Why the catalog could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum CatalogError {
    #[error("function catalog {path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error("function catalog {path}: corrupt file ({why})")]
    Corrupt { path: String, why: &'static str },
}

/// The directory of function files inside the data directory.
pub fn functions_dir(data_dir: &Path) -> PathBuf {
    data_dir.join("functions")
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> CatalogError + '_ {
    move |source| CatalogError::Io {
        path: path.display().to_string(),
        source,
    }
}

/// Writes (or replaces) the record of one function, atomically.
pub fn save(data_dir: &Path, record: &Record) -> Result<(), CatalogError> {
    let dir = functions_dir(data_dir);
    std::fs::create_dir_all(&dir).map_err(io(&dir))?;
    let bytes = encode(record);

    let path = dir.join(format!("{}.fn", record.name));
    let tmp = dir.join(format!(".{}.fn.tmp", record.name));
    {
        let mut f = std::fs::File::create(&tmp).map_err(io(&tmp))?;
        f.write_all(&bytes).map_err(io(&tmp))?;
        f.sync_all().map_err(io(&tmp))?;
    }
    std::fs::rename(&tmp, &path).map_err(io(&path))?;
    sync_dir(&dir)
}

/// Removes the record of one function (absent is fine).
pub fn remove(data_dir: &Path, name: &str) -> Result<(), CatalogError> {
    let dir = functions_dir(data_dir);
    let path = dir.join(format!("{name}.fn"));
    match std::fs::remove_file(&path) {
        Ok(()) => sync_dir(&dir),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(io(&path)(e)),
    }
}

/// Reads every record, sorted by name. A corrupt file is an error naming it:
/// the server refuses to start rather than silently dropping a function.
pub fn load_all(data_dir: &Path) -> Result<Vec<Record>, CatalogError> {
    let dir = functions_dir(data_dir);
    let entries = match std::fs::read_dir(&dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(io(&dir)(e)),
    };
    let mut out = Vec::new();
    for entry in entries {
        let entry = entry.map_err(io(&dir))?;
        let path = entry.path();
        let is_record = path.extension().is_some_and(|e| e == "fn")
            && !entry.file_name().to_string_lossy().starts_with('.');
        if !is_record {
            continue;
        }
        if out.len() >= RECORDS_MAX {
            return Err(CatalogError::Corrupt {
                path: dir.display().to_string(),
                why: "too many function files",
            });
        }
        out.push(read_record(&path)?);
    }
    out.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(out)
}

/// The bytes of a record as stored in its file (magic, CRC, body); also
/// the record of a function in snapshots (RDB AUX).
pub fn encode(record: &Record) -> Vec<u8> {
    let body = encode_body(record);
    let mut bytes = Vec::with_capacity(MAGIC.len() + 4 + body.len());
    bytes.extend_from_slice(MAGIC);
    bytes.extend_from_slice(&crc32(&body).to_le_bytes());
    bytes.extend_from_slice(&body);
    bytes
}

fn read_record(path: &Path) -> Result<Record, CatalogError> {
    let len = std::fs::metadata(path).map_err(io(path))?.len();
    if len > RECORD_BYTES_MAX {
        return Err(CatalogError::Corrupt {
            path: path.display().to_string(),
            why: "file too large",
        });
    }
    let bytes = std::fs::read(path).map_err(io(path))?;
    decode(&bytes, &path.display().to_string())
}

/// Parses [`encode`]'s bytes; `label` names the source in errors.
pub fn decode(bytes: &[u8], label: &str) -> Result<Record, CatalogError> {
    let corrupt = |why| CatalogError::Corrupt {
        path: label.to_owned(),
        why,
    };
    let rest = bytes
        .strip_prefix(MAGIC.as_slice())
        .ok_or_else(|| corrupt("bad magic"))?;
    if rest.len() < 4 {
        return Err(corrupt("truncated header"));
    }
    let (crc, body) = rest.split_at(4);
    if u32::from_le_bytes([crc[0], crc[1], crc[2], crc[3]]) != crc32(body) {
        return Err(corrupt("checksum mismatch"));
    }
    let items = decode_list(body).ok_or_else(|| corrupt("bad list encoding"))?;
    if items.len() < 4 {
        return Err(corrupt("too few fields"));
    }
    let text =
        |b: &Bytes| String::from_utf8(b.to_vec()).map_err(|_| corrupt("non UTF-8 text field"));
    let name = text(&items[0])?;
    let loaded_at_ms = text(&items[1])?
        .parse::<u64>()
        .map_err(|_| corrupt("bad loaded_at"))?;
    let source = text(&items[2])?;
    Ok(Record {
        name,
        loaded_at_ms,
        source_path: (!source.is_empty()).then_some(source),
        module: items[3].clone(),
        options: items[4..].to_vec(),
    })
}

fn encode_body(r: &Record) -> Vec<u8> {
    let loaded_at = r.loaded_at_ms.to_string();
    let mut items: Vec<&[u8]> = vec![
        r.name.as_bytes(),
        loaded_at.as_bytes(),
        r.source_path.as_deref().unwrap_or("").as_bytes(),
        &r.module,
    ];
    items.extend(r.options.iter().map(|o| o.as_ref()));
    let total: usize = 4 + items.iter().map(|i| 4 + i.len()).sum::<usize>();
    let mut out = Vec::with_capacity(total);
    out.extend_from_slice(&(items.len() as u32).to_le_bytes());
    for item in items {
        out.extend_from_slice(&(item.len() as u32).to_le_bytes());
        out.extend_from_slice(item);
    }
    out
}

fn decode_list(mut body: &[u8]) -> Option<Vec<Bytes>> {
    let take_u32 = |b: &mut &[u8]| -> Option<u32> {
        let (head, tail) = b.split_first_chunk::<4>()?;
        *b = tail;
        Some(u32::from_le_bytes(*head))
    };
    let count = take_u32(&mut body)? as usize;
    // Every item needs at least its 4-byte length: bound the allocation.
    if count > body.len() / 4 {
        return None;
    }
    let mut items = Vec::with_capacity(count);
    for _ in 0..count {
        let len = take_u32(&mut body)? as usize;
        if len > body.len() {
            return None;
        }
        let (item, tail) = body.split_at(len);
        items.push(Bytes::copy_from_slice(item));
        body = tail;
    }
    body.is_empty().then_some(items)
}

fn sync_dir(dir: &Path) -> Result<(), CatalogError> {
    std::fs::File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(io(dir))
}

/// CRC-32 (IEEE 802.3, reflected, polynomial 0xEDB88320).
fn crc32(data: &[u8]) -> u32 {
    const TABLE: [u32; 256] = {
        let mut table = [0u32; 256];
        let mut i = 0;
        while i < 256 {
            let mut c = i as u32;
            let mut k = 0;
            while k < 8 {
                c = if c & 1 != 0 {
                    0xEDB8_8320 ^ (c >> 1)
                } else {
                    c >> 1
                };
                k += 1;
            }
            table[i] = c;
            i += 1;
        }
        table
    };
    let mut crc = !0u32;
    for &b in data {
        crc = TABLE[((crc ^ b as u32) & 0xFF) as usize] ^ (crc >> 8);
    }
    !crc
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tmp_dir(tag: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("ferrite-catalog-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    fn record(name: &str) -> Record {
        Record {
            name: name.into(),
            loaded_at_ms: 1_700_000_000_123,
            source_path: Some("/opt/ferrite/wasm/x.wasm".into()),
            module: Bytes::from_static(b"\0asm\x01\0\0\0"),
            options: vec![
                Bytes::from_static(b"CAPABILITIES"),
                Bytes::from_static(b"read"),
            ],
        }
    }

    #[test]
    fn crc32_known_value() {
        assert_eq!(crc32(b"123456789"), 0xCBF4_3926);
    }

    #[test]
    fn save_load_remove() {
        let d = tmp_dir("slr");
        assert!(load_all(&d).unwrap().is_empty());
        save(&d, &record("b")).unwrap();
        let mut a = record("a");
        a.source_path = None;
        a.options.clear();
        save(&d, &a).unwrap();
        assert_eq!(load_all(&d).unwrap(), vec![a.clone(), record("b")]);
        remove(&d, "b").unwrap();
        remove(&d, "b").unwrap();
        assert_eq!(load_all(&d).unwrap(), vec![a]);
        std::fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn corruption_is_named() {
        let d = tmp_dir("corrupt");
        save(&d, &record("f")).unwrap();
        let path = functions_dir(&d).join("f.fn");
        let mut bytes = std::fs::read(&path).unwrap();
        let last = bytes.len() - 1;
        bytes[last] ^= 0xFF;
        std::fs::write(&path, &bytes).unwrap();
        let err = load_all(&d).unwrap_err().to_string();
        assert!(
            err.contains("f.fn") && err.contains("checksum mismatch"),
            "{err}"
        );
        std::fs::write(&path, &bytes[..8]).unwrap();
        assert!(load_all(&d).unwrap_err().to_string().contains("bad magic"));
        std::fs::remove_dir_all(&d).unwrap();
    }
}
