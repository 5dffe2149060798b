//! RESP records of the incr files: encoding effects, reading them back.
//!
//! A record is one command as a RESP array of bulk strings, exactly what
//! Redis writes (`*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nv\r\n`). The reader
//! tells a record cut short by the end of the file ([`Read::Truncated`]: a
//! crash in the middle of a write) from bytes that are not a record at all
//! ([`RecordError`]: corruption).

use bytes::Bytes;

/// Longest `*<n>` / `$<n>` header line read, with its CRLF.
pub const HEADER_LINE_MAX_BYTES: usize = 32;
/// Most arguments one record may have (Redis's multibulk limit).
pub const RECORD_ARGS_MAX: usize = 1024 * 1024;
/// Largest argument accepted (Redis's `proto-max-bulk-len` ceiling).
pub const RECORD_ARG_MAX_BYTES: usize = 512 * 1024 * 1024;

/// Appends `argv` as a RESP array to `out`.
pub fn encode_command(out: &mut Vec<u8>, argv: &[impl AsRef<[u8]>]) {
    push_header(out, b'*', argv.len());
    for arg in argv {
        let arg = arg.as_ref();
        push_header(out, b'$', arg.len());
        out.extend_from_slice(arg);
        out.extend_from_slice(b"\r\n");
    }
}

fn push_header(out: &mut Vec<u8>, kind: u8, n: usize) {
    out.push(kind);
    let mut digits = [0u8; 20];
    let mut i = digits.len();
    let mut n = n;
    loop {
        i -= 1;
        digits[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    out.extend_from_slice(&digits[i..]);
    out.extend_from_slice(b"\r\n");
}

/// The result of reading at one offset.
#[derive(Debug, PartialEq, Eq)]
pub enum Read {
    /// A whole record and the offset just after it.
    Record(Vec<Bytes>, usize),
    /// Clean end of the data.
    End,
    /// The data ends inside a record.
    Truncated,
}

/// Bytes that are not a valid record, at `offset` (of the record's first
/// byte).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{reason}")]
pub struct RecordError {
    /// What is wrong.
    pub reason: &'static str,
}

fn bad(reason: &'static str) -> RecordError {
    RecordError { reason }
}

/// Reads a `<kind><digits>\r\n` line at `pos`: `Ok(None)` when the data ends
/// first.
fn header(data: &Bytes, pos: usize, kind: u8) -> Result<Option<(usize, usize)>, RecordError> {
    let window = &data[pos..data.len().min(pos + HEADER_LINE_MAX_BYTES)];
    let Some(nl) = window.iter().position(|&b| b == b'\n') else {
        if window.len() == HEADER_LINE_MAX_BYTES {
            return Err(bad("header line too long"));
        }
        if window.first().is_some_and(|&b| b != kind) {
            return Err(bad(if kind == b'*' {
                "expected '*' (a RESP array)"
            } else {
                "expected '$' (a bulk string)"
            }));
        }
        return Ok(None);
    };
    let line = &window[..nl];
    if line.first() != Some(&kind) {
        return Err(bad(if kind == b'*' {
            "expected '*' (a RESP array)"
        } else {
            "expected '$' (a bulk string)"
        }));
    }
    let digits = line[1..]
        .strip_suffix(b"\r")
        .ok_or(bad("header line does not end with CRLF"))?;
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return Err(bad("invalid length in header"));
    }
    let n = std::str::from_utf8(digits)
        .ok()
        .and_then(|s| s.parse::<usize>().ok())
        .ok_or(bad("invalid length in header"))?;
    Ok(Some((n, pos + nl + 1)))
}

/// Reads the record starting at `pos` of `data`.
pub fn read_record(data: &Bytes, pos: usize) -> Result<Read, RecordError> {
    if pos >= data.len() {
        return Ok(Read::End);
    }
    let Some((count, mut at)) = header(data, pos, b'*')? else {
        return Ok(Read::Truncated);
    };
    if count == 0 || count > RECORD_ARGS_MAX {
        return Err(bad("invalid number of arguments"));
    }
    let mut argv = Vec::with_capacity(count.min(64));
    for _ in 0..count {
        if at >= data.len() {
            return Ok(Read::Truncated);
        }
        let Some((len, start)) = header(data, at, b'$')? else {
            return Ok(Read::Truncated);
        };
        if len > RECORD_ARG_MAX_BYTES {
            return Err(bad("argument too long"));
        }
        let end = start + len;
        if end + 2 > data.len() {
            return Ok(Read::Truncated);
        }
        if &data[end..end + 2] != b"\r\n" {
            return Err(bad("bulk string does not end with CRLF"));
        }
        argv.push(data.slice(start..end));
        at = end + 2;
    }
    Ok(Read::Record(argv, at))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn encoded(argvs: &[&[&str]]) -> Bytes {
        let mut out = Vec::new();
        for argv in argvs {
            encode_command(&mut out, argv);
        }
        Bytes::from(out)
    }

    #[test]
    fn round_trip() {
        let data = encoded(&[&["SET", "k", "v"], &["DEL", ""]]);
        assert_eq!(
            &data[..],
            b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nv\r\n*2\r\n$3\r\nDEL\r\n$0\r\n\r\n"
        );
        let Read::Record(argv, next) = read_record(&data, 0).unwrap() else {
            panic!()
        };
        assert_eq!(argv, vec!["SET", "k", "v"]);
        let Read::Record(argv, end) = read_record(&data, next).unwrap() else {
            panic!()
        };
        assert_eq!(argv, vec!["DEL", ""]);
        assert_eq!(read_record(&data, end).unwrap(), Read::End);
    }

    #[test]
    fn every_cut_is_truncation() {
        let data = encoded(&[&["SET", "key", "value12345"]]);
        for cut in 1..data.len() {
            assert_eq!(
                read_record(&data.slice(..cut), 0).unwrap(),
                Read::Truncated,
                "cut at {cut}"
            );
        }
    }

    #[test]
    fn garbage_is_corruption() {
        for bad in [
            &b"SET k v\r\n"[..],
            b"*x\r\n",
            b"*0\r\n",
            b"*1\r\n+OK\r\n",
            b"*1\r\n$1\r\nab\r\n",
            b"*1\n$1\r\na\r\n",
            b"*-1\r\n",
            b"*111111111111111111111111111111111111\r\n",
        ] {
            assert!(
                read_record(&Bytes::copy_from_slice(bad), 0).is_err(),
                "{:?}",
                String::from_utf8_lossy(bad)
            );
        }
    }
}
