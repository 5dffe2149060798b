//! The AOF manifest: Redis 7's `<appendfilename>.manifest`, one line per
//! file: `file appendonly.aof.1.base.rdb seq 1 type b`.
//!
//! Types: `b` (base: an RDB, or RESP when `aof-use-rdb-preamble no`), `i`
//! (incremental RESP files, replayed in order after the base), `h` (history:
//! files of an older set, waiting to be deleted; never loaded). Lines
//! starting with `#` are comments. Names with spaces or odd bytes are
//! quoted as Redis's `sdscatrepr` does.

use std::fmt::Write as _;

/// Longest manifest line Redis accepts (`AOF_MANIFEST_MAX_LINE`... it uses
/// 1024 bytes); longer lines are corruption.
pub const MANIFEST_LINE_MAX_BYTES: usize = 1024;

/// The role of a file in the AOF set.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileKind {
    /// The snapshot the incr files apply to (`type b`).
    Base,
    /// An incremental RESP file (`type i`).
    Incr,
    /// A file of a replaced set, deleted soon (`type h`).
    History,
}

impl FileKind {
    fn letter(self) -> char {
        match self {
            FileKind::Base => 'b',
            FileKind::Incr => 'i',
            FileKind::History => 'h',
        }
    }
}

/// One file named by the manifest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AofFile {
    /// File name inside the AOF directory.
    pub name: String,
    /// Sequence number (base and incr files count separately).
    pub seq: u64,
    /// Its role.
    pub kind: FileKind,
}

/// The parsed manifest.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Manifest {
    /// The base file, if any (a fresh AOF may start with incr files only).
    pub base: Option<AofFile>,
    /// Incremental files, in replay order (increasing `seq`).
    pub incrs: Vec<AofFile>,
    /// Files of older sets not deleted yet.
    pub history: Vec<AofFile>,
}

/// Why a manifest could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {reason}")]
pub struct ManifestError {
    /// 1-based line number (0: the whole file).
    pub line: usize,
    /// What is wrong.
    pub reason: String,
}

fn err(line: usize, reason: impl Into<String>) -> ManifestError {
    ManifestError {
        line,
        reason: reason.into(),
    }
}

impl Manifest {
    /// Parses manifest text as Redis 7.0 writes it.
    pub fn parse(text: &[u8]) -> Result<Manifest, ManifestError> {
        let mut manifest = Manifest::default();
        let mut lines = 0usize;
        for (index, raw) in text.split(|&b| b == b'\n').enumerate() {
            let number = index + 1;
            if raw.len() > MANIFEST_LINE_MAX_BYTES {
                return Err(err(number, "line too long"));
            }
            let line = raw.strip_suffix(b"\r").unwrap_or(raw);
            let trimmed = trim(line);
            if trimmed.is_empty() || trimmed[0] == b'#' {
                continue;
            }
            lines += 1;
            let words = split_args(trimmed).ok_or_else(|| err(number, "unbalanced quotes"))?;
            if words.len() % 2 != 0 {
                return Err(err(number, "invalid line: odd number of words"));
            }
            let (mut name, mut seq, mut kind) = (None, None, None);
            for pair in words.chunks(2) {
                let value = &pair[1];
                match pair[0].as_slice() {
                    b"file" => {
                        let text = String::from_utf8(value.clone())
                            .map_err(|_| err(number, "file name is not UTF-8"))?;
                        if text.contains('/') || text.is_empty() || text == "." || text == ".." {
                            return Err(err(number, format!("invalid file name '{text}'")));
                        }
                        name = Some(text);
                    }
                    b"seq" => {
                        let n = std::str::from_utf8(value)
                            .ok()
                            .and_then(|s| s.parse::<u64>().ok())
                            .filter(|&n| n > 0)
                            .ok_or_else(|| err(number, "invalid seq"))?;
                        seq = Some(n);
                    }
                    b"type" => {
                        kind = Some(match value.as_slice() {
                            b"b" => FileKind::Base,
                            b"i" => FileKind::Incr,
                            b"h" => FileKind::History,
                            _ => return Err(err(number, "unknown file type")),
                        });
                    }
                    // Redis ignores keys it does not know (forward compatibility).
                    _ => {}
                }
            }
            let (Some(name), Some(seq), Some(kind)) = (name, seq, kind) else {
                return Err(err(number, "missing file, seq or type"));
            };
            let file = AofFile { name, seq, kind };
            match kind {
                FileKind::Base => {
                    if manifest.base.is_some() {
                        return Err(err(number, "more than one base file"));
                    }
                    manifest.base = Some(file);
                }
                FileKind::Incr => {
                    if manifest.incrs.last().is_some_and(|last| last.seq >= seq) {
                        return Err(err(number, "incr file seq is not increasing"));
                    }
                    manifest.incrs.push(file);
                }
                FileKind::History => manifest.history.push(file),
            }
        }
        if lines == 0 {
            return Err(err(0, "found an empty AOF manifest"));
        }
        Ok(manifest)
    }

    /// The manifest text (base, history, incr files: Redis's order).
    pub fn to_text(&self) -> String {
        let mut out = String::new();
        let all = self
            .base
            .iter()
            .chain(self.history.iter())
            .chain(self.incrs.iter());
        for file in all {
            let _ = writeln!(
                out,
                "file {} seq {} type {}",
                quote(&file.name),
                file.seq,
                file.kind.letter()
            );
        }
        out
    }

    /// Highest base seq used so far (0 when none).
    pub fn base_seq(&self) -> u64 {
        self.base.as_ref().map_or(0, |b| b.seq)
    }

    /// Highest incr seq used so far (0 when none).
    pub fn incr_seq(&self) -> u64 {
        self.incrs.last().map_or(0, |f| f.seq)
    }
}

fn trim(line: &[u8]) -> &[u8] {
    let start = line
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .unwrap_or(line.len());
    let end = line
        .iter()
        .rposition(|b| !b.is_ascii_whitespace())
        .map_or(start, |p| p + 1);
    &line[start..end]
}

/// `sdscatrepr`-style quoting when needed.
fn quote(name: &str) -> String {
    let plain = !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_graphic() && b != b'"' && b != b'\'' && b != b'\\');
    if plain {
        return name.to_owned();
    }
    let mut out = String::from("\"");
    for b in name.bytes() {
        match b {
            b'\\' => out.push_str("\\\\"),
            b'"' => out.push_str("\\\""),
            b'\n' => out.push_str("\\n"),
            b'\r' => out.push_str("\\r"),
            b'\t' => out.push_str("\\t"),
            0x20..=0x7e => out.push(char::from(b)),
            _ => {
                let _ = write!(out, "\\x{b:02x}");
            }
        }
    }
    out.push('"');
    out
}

/// `sdssplitargs`: words separated by spaces, `"..."` with escapes, `'...'`.
fn split_args(line: &[u8]) -> Option<Vec<Vec<u8>>> {
    let mut words = Vec::new();
    let mut i = 0;
    while i < line.len() {
        while i < line.len() && line[i].is_ascii_whitespace() {
            i += 1;
        }
        if i >= line.len() {
            break;
        }
        let mut word = Vec::new();
        match line[i] {
            b'"' => {
                i += 1;
                loop {
                    let &b = line.get(i)?;
                    i += 1;
                    match b {
                        b'"' => break,
                        b'\\' => {
                            let &e = line.get(i)?;
                            i += 1;
                            word.push(match e {
                                b'n' => b'\n',
                                b'r' => b'\r',
                                b't' => b'\t',
                                b'x' => {
                                    let hex = std::str::from_utf8(line.get(i..i + 2)?).ok()?;
                                    i += 2;
                                    u8::from_str_radix(hex, 16).ok()?
                                }
                                other => other,
                            });
                        }
                        other => word.push(other),
                    }
                }
            }
            b'\'' => {
                i += 1;
                loop {
                    let &b = line.get(i)?;
                    i += 1;
                    if b == b'\'' {
                        break;
                    }
                    word.push(b);
                }
            }
            _ => {
                while i < line.len() && !line[i].is_ascii_whitespace() {
                    word.push(line[i]);
                    i += 1;
                }
            }
        }
        words.push(word);
    }
    Some(words)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_redis_manifest() {
        let text = b"file appendonly.aof.1.base.rdb seq 1 type b\n\
file appendonly.aof.1.incr.aof seq 1 type i\n\
file appendonly.aof.2.incr.aof seq 2 type i\n";
        let m = Manifest::parse(text).unwrap();
        assert_eq!(m.base.as_ref().unwrap().name, "appendonly.aof.1.base.rdb");
        assert_eq!(m.incrs.len(), 2);
        assert_eq!(m.incr_seq(), 2);
        assert_eq!(m.to_text().as_bytes(), text);
    }

    #[test]
    fn history_comments_and_unknown_keys() {
        let text = b"# comment\nfile a.1.base.aof seq 1 type b future x\nfile a.1.incr.aof seq 1 type h\n\nfile a.2.incr.aof seq 2 type i\n";
        let m = Manifest::parse(text).unwrap();
        assert_eq!(m.history.len(), 1);
        assert_eq!(m.incrs[0].seq, 2);
    }

    #[test]
    fn quoted_names_round_trip() {
        let m = Manifest {
            base: None,
            incrs: vec![AofFile {
                name: "my file\t1.aof".to_owned(),
                seq: 3,
                kind: FileKind::Incr,
            }],
            history: vec![],
        };
        assert_eq!(Manifest::parse(m.to_text().as_bytes()).unwrap(), m);
    }

    #[test]
    fn errors_name_the_line() {
        assert_eq!(Manifest::parse(b"").unwrap_err().line, 0);
        assert_eq!(
            Manifest::parse(b"file a seq 1 type b\nfile b seq 1 type b\n")
                .unwrap_err()
                .line,
            2
        );
        assert!(Manifest::parse(b"file a seq x type i\n").is_err());
        assert!(Manifest::parse(b"file a seq 1 type z\n").is_err());
        assert!(Manifest::parse(b"file a seq 1\n").is_err());
        assert!(Manifest::parse(b"file \"a seq 1 type i\n").is_err());
        assert!(Manifest::parse(b"file ../x seq 1 type i\n").is_err());
        assert!(Manifest::parse(b"file a seq 2 type i\nfile b seq 1 type i\n").is_err());
    }
}
