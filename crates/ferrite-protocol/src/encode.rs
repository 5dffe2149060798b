//! The encoder: RESP3-shaped frames to RESP2 or RESP3 bytes.

use bytes::{BufMut, BytesMut};

use crate::frame::Frame;

/// The protocol version of a connection (`HELLO 2` / `HELLO 3`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Protocol {
    /// RESP2, the default of a new connection.
    #[default]
    Resp2,
    /// RESP3.
    Resp3,
}

impl Protocol {
    /// The number HELLO reports (`2` or `3`).
    pub fn version(self) -> i64 {
        match self {
            Protocol::Resp2 => 2,
            Protocol::Resp3 => 3,
        }
    }
}

/// Appends the encoding of `frame` to `out`, downgrading RESP3 types for
/// RESP2 exactly as Redis 7.0 does.
///
/// ```
/// use bytes::BytesMut;
/// use ferrite_protocol::{encode, Frame, Protocol};
/// let frame = Frame::Map(vec![(Frame::bulk("a"), Frame::Double(0.1))]);
/// let mut out = BytesMut::new();
/// encode(&frame, Protocol::Resp2, &mut out);
/// assert_eq!(&out[..], b"*2\r\n$1\r\na\r\n$19\r\n0.10000000000000001\r\n");
/// out.clear();
/// encode(&frame, Protocol::Resp3, &mut out);
/// assert_eq!(&out[..], b"%1\r\n$1\r\na\r\n,0.10000000000000001\r\n");
/// ```
pub fn encode(frame: &Frame, protocol: Protocol, out: &mut BytesMut) {
    let resp3 = protocol == Protocol::Resp3;
    match frame {
        Frame::Simple(text) => put_line(out, b'+', text),
        Frame::Error(text) => put_line(out, b'-', text),
        Frame::Integer(value) => put_header(out, b':', *value),
        Frame::Bulk(data) => put_bulk(out, b'$', data),
        Frame::Null if resp3 => out.put_slice(b"_\r\n"),
        Frame::Null => out.put_slice(b"$-1\r\n"),
        Frame::NullArray if resp3 => out.put_slice(b"_\r\n"),
        Frame::NullArray => out.put_slice(b"*-1\r\n"),
        Frame::Array(items) => put_items(out, b'*', items, protocol),
        Frame::Set(items) => put_items(out, if resp3 { b'~' } else { b'*' }, items, protocol),
        Frame::Push(items) => put_items(out, if resp3 { b'>' } else { b'*' }, items, protocol),
        Frame::Map(pairs) => {
            if resp3 {
                put_header(out, b'%', len_i64(pairs.len()));
            } else {
                put_header(out, b'*', len_i64(pairs.len()).saturating_mul(2));
            }
            for (key, value) in pairs {
                encode(key, protocol, out);
                encode(value, protocol, out);
            }
        }
        Frame::Double(value) => {
            let mut text = [0u8; DOUBLE_TEXT_LEN_MAX];
            let len = format_double(*value, &mut text);
            if resp3 {
                put_line(out, b',', &text[..len]);
            } else {
                put_bulk(out, b'$', &text[..len]);
            }
        }
        Frame::Boolean(value) if resp3 => out.put_slice(if *value { b"#t\r\n" } else { b"#f\r\n" }),
        Frame::Boolean(value) => out.put_slice(if *value { b":1\r\n" } else { b":0\r\n" }),
        Frame::BigNumber(digits) if resp3 => put_line(out, b'(', digits),
        Frame::BigNumber(digits) => put_bulk(out, b'$', digits),
        Frame::Verbatim { format, text } if resp3 => {
            put_header(out, b'=', len_i64(text.len()).saturating_add(4));
            out.put_slice(format);
            out.put_u8(b':');
            out.put_slice(text);
            out.put_slice(b"\r\n");
        }
        Frame::Verbatim { text, .. } => put_bulk(out, b'$', text),
    }
}

/// Encodes `frame` into a new vector (tests, small replies).
pub fn encode_to_vec(frame: &Frame, protocol: Protocol) -> Vec<u8> {
    let mut out = BytesMut::new();
    encode(frame, protocol, &mut out);
    out.to_vec()
}

fn len_i64(len: usize) -> i64 {
    i64::try_from(len).unwrap_or(i64::MAX)
}

fn put_header(out: &mut BytesMut, kind: u8, value: i64) {
    let mut digits = [0u8; 20];
    let text = format_i64(value, &mut digits);
    out.reserve(text.len() + 3);
    out.put_u8(kind);
    out.put_slice(text);
    out.put_slice(b"\r\n");
}

/// A one-line frame; `\r` and `\n` become spaces so the output always
/// stays valid protocol (as Redis's `addReplyErrorFormat` does).
fn put_line(out: &mut BytesMut, kind: u8, text: &[u8]) {
    out.reserve(text.len() + 3);
    out.put_u8(kind);
    if text.iter().any(|&byte| byte == b'\r' || byte == b'\n') {
        for &byte in text {
            out.put_u8(if byte == b'\r' || byte == b'\n' {
                b' '
            } else {
                byte
            });
        }
    } else {
        out.put_slice(text);
    }
    out.put_slice(b"\r\n");
}

fn put_bulk(out: &mut BytesMut, kind: u8, data: &[u8]) {
    put_header(out, kind, len_i64(data.len()));
    out.reserve(data.len() + 2);
    out.put_slice(data);
    out.put_slice(b"\r\n");
}

fn put_items(out: &mut BytesMut, kind: u8, items: &[Frame], protocol: Protocol) {
    put_header(out, kind, len_i64(items.len()));
    for item in items {
        encode(item, protocol, out);
    }
}

fn format_i64(value: i64, buf: &mut [u8; 20]) -> &[u8] {
    let mut magnitude = value.unsigned_abs();
    let mut start = buf.len();
    loop {
        start -= 1;
        buf[start] = b'0' + (magnitude % 10) as u8;
        magnitude /= 10;
        if magnitude == 0 {
            break;
        }
    }
    if value < 0 {
        start -= 1;
        buf[start] = b'-';
    }
    &buf[start..]
}

/// Longest output of [`format_double`]
/// (`-1.2345678901234567e-308` is 24 bytes).
pub const DOUBLE_TEXT_LEN_MAX: usize = 32;

/// Significant digits of C's `%.17g`.
const DOUBLE_DIGITS: usize = 17;

/// Formats `value` like C's `printf("%.17g")` with glibc, which is how Redis
/// 7.0 replies doubles (`addReplyDouble`): `inf`, `-inf`, `nan`, `-nan`,
/// `0`, `-0`, `0.10000000000000001`, `1e+20`, `1.5e-05`.
/// Writes into `out` and returns the length.
///
/// ```
/// use ferrite_protocol::format_double;
/// let mut buf = [0u8; ferrite_protocol::DOUBLE_TEXT_LEN_MAX];
/// let len = format_double(1.5e-5, &mut buf);
/// assert_eq!(&buf[..len], b"1.5e-05");
/// ```
pub fn format_double(value: f64, out: &mut [u8; DOUBLE_TEXT_LEN_MAX]) -> usize {
    let mut len = 0;
    let mut push = |bytes: &[u8], len: &mut usize| {
        out[*len..*len + bytes.len()].copy_from_slice(bytes);
        *len += bytes.len();
    };
    if value.is_sign_negative() {
        // Also `-nan` for a NaN with the sign bit, as glibc prints it.
        push(b"-", &mut len);
    }
    if value.is_nan() {
        push(b"nan", &mut len);
        return len;
    }
    if value.is_infinite() {
        push(b"inf", &mut len);
        return len;
    }
    if value == 0.0 {
        push(b"0", &mut len);
        return len;
    }
    // 17 significant digits, correctly rounded (half to even, like glibc).
    let scientific = format!("{:.*e}", DOUBLE_DIGITS - 1, value.abs());
    let (mantissa, exponent) = scientific.split_once('e').unwrap_or((&scientific, "0"));
    let exponent: i32 = exponent.parse().unwrap_or(0);
    let mut digits = [0u8; DOUBLE_DIGITS];
    let mut digit_count = 0;
    for &byte in mantissa
        .as_bytes()
        .iter()
        .filter(|byte| byte.is_ascii_digit())
    {
        if digit_count < DOUBLE_DIGITS {
            digits[digit_count] = byte;
            digit_count += 1;
        }
    }
    // %g strips trailing zeros.
    while digit_count > 1 && digits[digit_count - 1] == b'0' {
        digit_count -= 1;
    }
    let digits = &digits[..digit_count];
    if exponent < -4 || exponent >= DOUBLE_DIGITS as i32 {
        push(&digits[..1], &mut len);
        if digits.len() > 1 {
            push(b".", &mut len);
            push(&digits[1..], &mut len);
        }
        push(if exponent < 0 { b"e-" } else { b"e+" }, &mut len);
        let magnitude = exponent.unsigned_abs();
        if magnitude < 10 {
            push(b"0", &mut len);
        }
        push(magnitude.to_string().as_bytes(), &mut len);
    } else if exponent < 0 {
        push(b"0.", &mut len);
        for _ in 0..(-exponent - 1) {
            push(b"0", &mut len);
        }
        push(digits, &mut len);
    } else {
        let integer_len = exponent as usize + 1;
        if digits.len() <= integer_len {
            push(digits, &mut len);
            for _ in digits.len()..integer_len {
                push(b"0", &mut len);
            }
        } else {
            push(&digits[..integer_len], &mut len);
            push(b".", &mut len);
            push(&digits[integer_len..], &mut len);
        }
    }
    len
}
