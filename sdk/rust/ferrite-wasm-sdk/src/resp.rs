//! RESP2 replies: the value [`crate::call`] returns, and a reply a function
//! can return (encoded for `ferrite_return_resp`).

use crate::limits::{LIST_ITEMS_MAX, RESP_DEPTH_MAX};
use crate::Error;

/// One RESP2 reply.
#[derive(Debug, Clone, PartialEq)]
pub enum Reply {
    /// `+OK`
    Status(String),
    /// `-ERR …` (as `ferrite_call` reports command errors, like `redis.pcall`).
    Error(String),
    /// `:42`
    Integer(i64),
    /// `$3\r\nabc` (bulk string).
    Bulk(Vec<u8>),
    /// `$-1` or `*-1`.
    Nil,
    /// `*N …`
    Array(Vec<Reply>),
}

impl Reply {
    /// The bytes of a bulk or status reply.
    pub fn as_bytes(&self) -> Option<&[u8]> {
        match self {
            Reply::Bulk(b) => Some(b),
            Reply::Status(s) => Some(s.as_bytes()),
            _ => None,
        }
    }

    /// The text of a bulk or status reply, if it is UTF-8.
    pub fn as_str(&self) -> Option<&str> {
        self.as_bytes().and_then(|b| core::str::from_utf8(b).ok())
    }

    /// The value of an integer reply, or of a bulk reply holding a decimal integer.
    pub fn as_i64(&self) -> Option<i64> {
        match self {
            Reply::Integer(i) => Some(*i),
            other => other.as_str().and_then(|s| s.parse().ok()),
        }
    }

    /// Whether this is an error reply.
    pub fn is_error(&self) -> bool {
        matches!(self, Reply::Error(_))
    }

    /// Encodes this reply as one RESP2 frame.
    ///
    /// ```
    /// use ferrite_wasm_sdk::Reply;
    /// let r = Reply::Array(vec![Reply::Integer(1), Reply::Bulk(b"a".to_vec()), Reply::Nil]);
    /// assert_eq!(r.to_resp(), b"*3\r\n:1\r\n$1\r\na\r\n$-1\r\n");
    /// ```
    pub fn to_resp(&self) -> Vec<u8> {
        let mut out = Vec::new();
        self.encode_into(&mut out);
        out
    }

    fn encode_into(&self, out: &mut Vec<u8>) {
        match self {
            Reply::Status(s) => line(out, b'+', s.as_bytes()),
            Reply::Error(s) => line(out, b'-', s.as_bytes()),
            Reply::Integer(i) => line(out, b':', i.to_string().as_bytes()),
            Reply::Bulk(b) => {
                line(out, b'$', b.len().to_string().as_bytes());
                out.extend_from_slice(b);
                out.extend_from_slice(b"\r\n");
            }
            Reply::Nil => out.extend_from_slice(b"$-1\r\n"),
            Reply::Array(items) => {
                line(out, b'*', items.len().to_string().as_bytes());
                for item in items {
                    item.encode_into(out);
                }
            }
        }
    }
}

fn line(out: &mut Vec<u8>, tag: u8, body: &[u8]) {
    out.push(tag);
    // Status and error lines may not contain CR or LF; replace them so the
    // frame stays well formed.
    out.extend(body.iter().map(|&b| if b == b'\r' || b == b'\n' { b' ' } else { b }));
    out.extend_from_slice(b"\r\n");
}

/// Parses exactly one RESP2 reply that fills `buf`.
///
/// ```
/// use ferrite_wasm_sdk::{parse_reply, Reply};
/// assert_eq!(parse_reply(b":7\r\n").unwrap(), Reply::Integer(7));
/// assert_eq!(parse_reply(b"-ERR no\r\n").unwrap(), Reply::Error("ERR no".into()));
/// ```
pub fn parse_reply(buf: &[u8]) -> Result<Reply, Error> {
    let mut pos = 0;
    let reply = parse_at(buf, &mut pos, 0)?;
    if pos != buf.len() {
        return Err(Error::MalformedReply);
    }
    Ok(reply)
}

fn parse_at(buf: &[u8], pos: &mut usize, depth: usize) -> Result<Reply, Error> {
    if depth > RESP_DEPTH_MAX {
        return Err(Error::MalformedReply);
    }
    let tag = *buf.get(*pos).ok_or(Error::MalformedReply)?;
    *pos += 1;
    let head = read_line(buf, pos)?;
    match tag {
        b'+' => Ok(Reply::Status(utf8(head)?)),
        b'-' => Ok(Reply::Error(utf8(head)?)),
        b':' => Ok(Reply::Integer(int(head)?)),
        b'$' => {
            let len = int(head)?;
            if len == -1 {
                return Ok(Reply::Nil);
            }
            if len < 0 || len as u64 > crate::limits::RESULT_BYTES_MAX {
                return Err(Error::MalformedReply);
            }
            let len = len as usize;
            let end = pos.checked_add(len).ok_or(Error::MalformedReply)?;
            if buf.len() < end + 2 || &buf[end..end + 2] != b"\r\n" {
                return Err(Error::MalformedReply);
            }
            let body = buf[*pos..end].to_vec();
            *pos = end + 2;
            Ok(Reply::Bulk(body))
        }
        b'*' => {
            let count = int(head)?;
            if count == -1 {
                return Ok(Reply::Nil);
            }
            // Every element takes at least 3 bytes, which bounds the allocation.
            if count < 0 || count > LIST_ITEMS_MAX as i64 || count as usize > (buf.len() - *pos) / 3 {
                return Err(Error::MalformedReply);
            }
            let mut items = Vec::with_capacity(count as usize);
            for _ in 0..count {
                items.push(parse_at(buf, pos, depth + 1)?);
            }
            Ok(Reply::Array(items))
        }
        _ => Err(Error::MalformedReply),
    }
}

fn read_line<'a>(buf: &'a [u8], pos: &mut usize) -> Result<&'a [u8], Error> {
    let rest = &buf[*pos..];
    let cr = rest.windows(2).position(|w| w == b"\r\n").ok_or(Error::MalformedReply)?;
    *pos += cr + 2;
    Ok(&rest[..cr])
}

fn utf8(b: &[u8]) -> Result<String, Error> {
    String::from_utf8(b.to_vec()).map_err(|_| Error::MalformedReply)
}

fn int(b: &[u8]) -> Result<i64, Error> {
    core::str::from_utf8(b)
        .ok()
        .and_then(|s| s.parse().ok())
        .ok_or(Error::MalformedReply)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_type() {
        assert_eq!(parse_reply(b"+OK\r\n").unwrap(), Reply::Status("OK".into()));
        assert_eq!(parse_reply(b":-3\r\n").unwrap(), Reply::Integer(-3));
        assert_eq!(parse_reply(b"$0\r\n\r\n").unwrap(), Reply::Bulk(vec![]));
        assert_eq!(parse_reply(b"$4\r\na\r\nb\r\n").unwrap(), Reply::Bulk(b"a\r\nb".to_vec()));
        assert_eq!(parse_reply(b"$-1\r\n").unwrap(), Reply::Nil);
        assert_eq!(parse_reply(b"*-1\r\n").unwrap(), Reply::Nil);
        assert_eq!(
            parse_reply(b"*2\r\n*1\r\n:1\r\n$1\r\nx\r\n").unwrap(),
            Reply::Array(vec![Reply::Array(vec![Reply::Integer(1)]), Reply::Bulk(b"x".to_vec())])
        );
    }

    #[test]
    fn rejects_malformed() {
        for bad in [
            &b""[..], b"+OK", b":x\r\n", b"$5\r\nab\r\n", b"*2\r\n:1\r\n", b"?\r\n", b":1\r\n:2\r\n",
            b"*1000000\r\n",
        ] {
            assert_eq!(parse_reply(bad), Err(Error::MalformedReply), "{:?}", bad);
        }
        let deep = "*1\r\n".repeat(RESP_DEPTH_MAX + 2) + ":1\r\n";
        assert_eq!(parse_reply(deep.as_bytes()), Err(Error::MalformedReply));
    }

    #[test]
    fn round_trips() {
        let r = Reply::Array(vec![
            Reply::Status("OK".into()),
            Reply::Error("ERR x".into()),
            Reply::Integer(i64::MIN),
            Reply::Bulk(b"\r\n".to_vec()),
            Reply::Nil,
            Reply::Array(vec![]),
        ]);
        assert_eq!(parse_reply(&r.to_resp()).unwrap(), r);
    }
}
