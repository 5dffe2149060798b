//! The reply parser: full RESP2/RESP3 frames (for tests, clients and the
//! validation of frames returned by wasm guests).

use bytes::Bytes;

use crate::error::ProtocolError;
use crate::frame::Frame;
use crate::int::parse_i64;

/// Limits of [`parse_frame`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FrameLimits {
    /// Deepest nesting of aggregates (the parser recurses at most this deep).
    pub depth_max: usize,
    /// Largest bulk, verbatim or big-number payload.
    pub bulk_len_max: usize,
    /// Most elements of one aggregate (pairs for maps).
    pub aggregate_len_max: usize,
}

impl Default for FrameLimits {
    fn default() -> FrameLimits {
        FrameLimits {
            depth_max: 128,
            bulk_len_max: 512 * 1024 * 1024,
            aggregate_len_max: 64 * 1024 * 1024,
        }
    }
}

/// Aggregates are never preallocated beyond this many elements: memory
/// grows with the input actually present, not with announced lengths.
const AGGREGATE_PREALLOCATED_MAX: usize = 1024;

/// Parses one RESP2 or RESP3 frame from the front of `buf` with the default
/// limits. Returns the frame and the bytes it used, `Ok(None)` when `buf`
/// holds only part of a frame.
///
/// RESP2 `$-1` is [`Frame::Null`] and `*-1` is [`Frame::NullArray`]; RESP3
/// `_` is [`Frame::Null`]. Attributes (`|`) and streamed strings and
/// aggregates (`$?`, `*?`) are refused.
///
/// ```
/// use ferrite_protocol::{parse_frame, Frame};
/// let (frame, used) = parse_frame(b"*2\r\n:1\r\n,1.5\r\nrest").unwrap().unwrap();
/// assert_eq!(frame, Frame::Array(vec![Frame::Integer(1), Frame::Double(1.5)]));
/// assert_eq!(used, 14);
/// assert_eq!(parse_frame(b"*2\r\n:1\r\n").unwrap(), None);
/// ```
pub fn parse_frame(buf: &[u8]) -> Result<Option<(Frame, usize)>, ProtocolError> {
    parse_frame_with_limits(buf, &FrameLimits::default())
}

/// [`parse_frame`] with explicit limits.
pub fn parse_frame_with_limits(
    buf: &[u8],
    limits: &FrameLimits,
) -> Result<Option<(Frame, usize)>, ProtocolError> {
    let mut parser = Parser {
        buf,
        pos: 0,
        limits,
    };
    Ok(parser.frame(0)?.map(|frame| (frame, parser.pos)))
}

struct Parser<'a> {
    buf: &'a [u8],
    pos: usize,
    limits: &'a FrameLimits,
}

impl Parser<'_> {
    /// The next line (without `\r\n`), or `None` if incomplete.
    fn line(&mut self) -> Result<Option<&[u8]>, ProtocolError> {
        let rest = &self.buf[self.pos..];
        let Some(cr) = rest.iter().position(|&byte| byte == b'\r') else {
            return Ok(None);
        };
        match rest.get(cr + 1) {
            None => Ok(None),
            Some(b'\n') => {
                self.pos += cr + 2;
                Ok(Some(&rest[..cr]))
            }
            Some(_) => Err(ProtocolError::Malformed("line end")),
        }
    }

    fn integer(&mut self, what: &'static str) -> Result<Option<i64>, ProtocolError> {
        let Some(line) = self.line()? else {
            return Ok(None);
        };
        parse_i64(line)
            .map(Some)
            .ok_or(ProtocolError::Malformed(what))
    }

    /// A payload of `len` bytes followed by `\r\n`.
    fn payload(&mut self, len: i64) -> Result<Option<Bytes>, ProtocolError> {
        if len < 0 {
            return Err(ProtocolError::Malformed("bulk length"));
        }
        if len as u64 > self.limits.bulk_len_max as u64 {
            return Err(ProtocolError::TooLarge {
                what: "bulk length",
                len,
            });
        }
        let len = len as usize;
        let rest = &self.buf[self.pos..];
        if rest.len() < len + 2 {
            return Ok(None);
        }
        if &rest[len..len + 2] != b"\r\n" {
            return Err(ProtocolError::Malformed("bulk end"));
        }
        self.pos += len + 2;
        Ok(Some(Bytes::copy_from_slice(&rest[..len])))
    }

    fn aggregate_len(&self, len: i64) -> Result<usize, ProtocolError> {
        if len < 0 {
            return Err(ProtocolError::Malformed("aggregate length"));
        }
        if len as u64 > self.limits.aggregate_len_max as u64 {
            return Err(ProtocolError::TooLarge {
                what: "aggregate length",
                len,
            });
        }
        Ok(len as usize)
    }

    fn items(&mut self, len: usize, depth: usize) -> Result<Option<Vec<Frame>>, ProtocolError> {
        let mut items = Vec::with_capacity(len.min(AGGREGATE_PREALLOCATED_MAX));
        for _ in 0..len {
            let Some(item) = self.frame(depth + 1)? else {
                return Ok(None);
            };
            items.push(item);
        }
        Ok(Some(items))
    }

    fn frame(&mut self, depth: usize) -> Result<Option<Frame>, ProtocolError> {
        let Some(&kind) = self.buf.get(self.pos) else {
            return Ok(None);
        };
        if matches!(kind, b'*' | b'%' | b'~' | b'>') && depth >= self.limits.depth_max {
            return Err(ProtocolError::TooDeep {
                depth_max: self.limits.depth_max,
            });
        }
        let start = self.pos;
        self.pos += 1;
        if self.buf.get(self.pos) == Some(&b'?') && matches!(kind, b'$' | b'*' | b'%' | b'~') {
            return Err(ProtocolError::UnsupportedType(kind));
        }
        let frame = match kind {
            b'+' | b'-' | b'(' | b',' | b'#' | b'_' => {
                let Some(line) = self.line()? else {
                    return self.incomplete(start);
                };
                match kind {
                    b'+' => Frame::Simple(Bytes::copy_from_slice(line)),
                    b'-' => Frame::Error(Bytes::copy_from_slice(line)),
                    b'(' => {
                        let digits = line.strip_prefix(b"-").unwrap_or(line);
                        if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
                            return Err(ProtocolError::Malformed("big number"));
                        }
                        Frame::BigNumber(Bytes::copy_from_slice(line))
                    }
                    b',' => Frame::Double(parse_double(line)?),
                    b'#' => match line {
                        b"t" => Frame::Boolean(true),
                        b"f" => Frame::Boolean(false),
                        _ => return Err(ProtocolError::Malformed("boolean")),
                    },
                    _ => {
                        if !line.is_empty() {
                            return Err(ProtocolError::Malformed("null"));
                        }
                        Frame::Null
                    }
                }
            }
            b':' => match self.integer("integer")? {
                Some(value) => Frame::Integer(value),
                None => return self.incomplete(start),
            },
            b'$' | b'=' => {
                let Some(len) = self.integer("bulk length")? else {
                    return self.incomplete(start);
                };
                if kind == b'$' && len == -1 {
                    Frame::Null
                } else {
                    let Some(data) = self.payload(len)? else {
                        return self.incomplete(start);
                    };
                    if kind == b'$' {
                        Frame::Bulk(data)
                    } else {
                        if data.len() < 4 || data[3] != b':' {
                            return Err(ProtocolError::Malformed("verbatim string"));
                        }
                        Frame::Verbatim {
                            format: [data[0], data[1], data[2]],
                            text: data.slice(4..),
                        }
                    }
                }
            }
            b'*' | b'~' | b'>' => {
                let Some(len) = self.integer("aggregate length")? else {
                    return self.incomplete(start);
                };
                if kind == b'*' && len == -1 {
                    Frame::NullArray
                } else {
                    let len = self.aggregate_len(len)?;
                    let Some(items) = self.items(len, depth)? else {
                        return self.incomplete(start);
                    };
                    match kind {
                        b'*' => Frame::Array(items),
                        b'~' => Frame::Set(items),
                        _ => Frame::Push(items),
                    }
                }
            }
            b'%' => {
                let Some(len) = self.integer("aggregate length")? else {
                    return self.incomplete(start);
                };
                let len = self.aggregate_len(len)?;
                let mut pairs = Vec::with_capacity(len.min(AGGREGATE_PREALLOCATED_MAX));
                for _ in 0..len {
                    let Some(key) = self.frame(depth + 1)? else {
                        return self.incomplete(start);
                    };
                    let Some(value) = self.frame(depth + 1)? else {
                        return self.incomplete(start);
                    };
                    pairs.push((key, value));
                }
                Frame::Map(pairs)
            }
            other => return Err(ProtocolError::UnsupportedType(other)),
        };
        Ok(Some(frame))
    }

    fn incomplete(&mut self, start: usize) -> Result<Option<Frame>, ProtocolError> {
        self.pos = start;
        Ok(None)
    }
}

fn parse_double(text: &[u8]) -> Result<f64, ProtocolError> {
    let malformed = ProtocolError::Malformed("double");
    let text = std::str::from_utf8(text).map_err(|_| malformed.clone())?;
    match text {
        "inf" | "+inf" => Ok(f64::INFINITY),
        "-inf" => Ok(f64::NEG_INFINITY),
        "nan" => Ok(f64::NAN),
        "-nan" => Ok(-f64::NAN),
        _ if text
            .bytes()
            .all(|byte| byte.is_ascii_digit() || b"+-.eE".contains(&byte)) =>
        {
            text.parse().map_err(|_| malformed)
        }
        _ => Err(malformed),
    }
}
