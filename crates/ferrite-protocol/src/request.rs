//! The request parser: multibulk and inline requests, incremental, with
//! Redis 7.0's limits and error texts (`processMultibulkBuffer`,
//! `processInlineBuffer` and `sdssplitargs` in networking.c / sds.c).

use bytes::{Buf, Bytes, BytesMut};

use crate::error::ProtocolError;
use crate::int::parse_i64;

/// Limits of the request parser.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// Largest bulk argument (`proto-max-bulk-len`, default 512 MB).
    pub bulk_len_max: usize,
    /// Largest argument count of a multibulk request (Redis: `INT_MAX`).
    pub multibulk_len_max: usize,
    /// Longest inline request, and longest `*`/`$` header, before its line
    /// end (Redis's `PROTO_INLINE_MAX_SIZE`, 64 KB).
    ///
    /// Redis checks this limit on whatever it has buffered after each read
    /// of at most 16 KB, so a line whose end lies beyond it is refused even
    /// when the line end arrives in the same burst; the decoder refuses such
    /// lines whatever the read sizes, so the outcome does not depend on how
    /// the bytes were split.
    pub inline_len_max: usize,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            bulk_len_max: 512 * 1024 * 1024,
            multibulk_len_max: i32::MAX as usize,
            inline_len_max: 64 * 1024,
        }
    }
}

/// Arguments up to which a multibulk request is accepted before AUTH when a
/// password is required.
const UNAUTHENTICATED_MULTIBULK_LEN_MAX: i64 = 10;
/// Largest bulk accepted before AUTH when a password is required.
const UNAUTHENTICATED_BULK_LEN_MAX: i64 = 16 * 1024;
/// Argument vectors are never preallocated beyond this (Redis: 1024), so
/// a `*2000000000` header costs nothing until the arguments arrive.
const ARGS_PREALLOCATED_MAX: usize = 1024;

/// Most arguments a request may have for the one-pass path of
/// [`RequestDecoder::decode`] (longer ones take the general path).
const WHOLE_ARGS_MAX: usize = 16;

/// One command: its arguments, never empty (empty lines, `*0` and `*-1`
/// are skipped as Redis skips them).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    args: Vec<Bytes>,
}

impl Request {
    /// A request from its arguments; `None` when `args` is empty.
    pub fn new(args: Vec<Bytes>) -> Option<Request> {
        if args.is_empty() {
            None
        } else {
            Some(Request { args })
        }
    }

    /// All arguments, the command name first.
    pub fn args(&self) -> &[Bytes] {
        &self.args
    }

    /// The command name as sent (any case).
    pub fn name(&self) -> &Bytes {
        &self.args[0]
    }

    /// Takes the arguments.
    pub fn into_args(self) -> Vec<Bytes> {
        self.args
    }
}

#[derive(Debug)]
enum State {
    /// Between requests.
    Idle,
    /// Inside a multibulk request.
    Multibulk {
        /// Arguments still to read.
        remaining: usize,
        args: Vec<Bytes>,
        /// Length of the argument whose header was read, if any.
        bulk_len: Option<usize>,
    },
}

/// An incremental request decoder for one connection.
///
/// Feed it the connection's read buffer; it consumes complete requests from
/// the front and keeps the state of a partial one, so a 512 MB bulk that
/// arrives slowly is not re-scanned: once its header is read, each call
/// only compares the buffered length with the announced one. Arguments are
/// split from the buffer without copying.
///
/// ```
/// use bytes::BytesMut;
/// use ferrite_protocol::{Limits, RequestDecoder};
/// let mut decoder = RequestDecoder::new(Limits::default());
/// let mut buf = BytesMut::from(&b"*2\r\n$4\r\nECHO\r\n$2\r\nh"[..]);
/// assert_eq!(decoder.decode(&mut buf).unwrap(), None);
/// buf.extend_from_slice(b"i\r\nPING\r\n");
/// let echo = decoder.decode(&mut buf).unwrap().unwrap();
/// assert_eq!(echo.args(), &[&b"ECHO"[..], &b"hi"[..]]);
/// let ping = decoder.decode(&mut buf).unwrap().unwrap();
/// assert_eq!(ping.name(), &b"PING"[..]);
/// assert!(buf.is_empty());
/// ```
#[derive(Debug)]
pub struct RequestDecoder {
    limits: Limits,
    auth_required: bool,
    state: State,
    /// Leading bytes of the buffer known to hold no line end (so a long
    /// inline request arriving slowly is scanned once).
    scanned_len: usize,
    /// Whether the one-pass path is tried (tests turn it off to compare).
    whole_path: bool,
}

impl RequestDecoder {
    /// A decoder with the given limits.
    pub fn new(limits: Limits) -> RequestDecoder {
        RequestDecoder {
            limits,
            auth_required: false,
            state: State::Idle,
            scanned_len: 0,
            whole_path: true,
        }
    }

    /// Whether the client still has to AUTH; while set, multibulk requests
    /// of more than 10 arguments and bulks above 16 KB are refused as Redis
    /// refuses them.
    pub fn set_auth_required(&mut self, auth_required: bool) {
        self.auth_required = auth_required;
    }

    /// The limits in force.
    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// Changes the limits (CONFIG SET proto-max-bulk-len); applies from the
    /// next header on.
    pub fn set_limits(&mut self, limits: Limits) {
        self.limits = limits;
    }

    /// The length of the bulk argument being received, once its header was
    /// read; a server may reserve that much buffer.
    pub fn pending_bulk_len(&self) -> Option<usize> {
        match self.state {
            State::Multibulk { bulk_len, .. } => bulk_len,
            State::Idle => None,
        }
    }

    /// Whether a request has been started but not completed.
    pub fn is_partial(&self) -> bool {
        matches!(self.state, State::Multibulk { .. })
    }

    /// Consumes the next complete request from the front of `buf`.
    ///
    /// Returns `Ok(None)` when more bytes are needed (partial state is kept;
    /// append to the same buffer and call again). Bytes are only ever taken
    /// from the front of `buf`; callers must only append to it. After an
    /// error the connection must be closed: the decoder state is undefined.
    pub fn decode(&mut self, buf: &mut BytesMut) -> Result<Option<Request>, ProtocolError> {
        loop {
            match &mut self.state {
                State::Idle => {
                    if buf.is_empty() {
                        return Ok(None);
                    }
                    if buf[0] == b'*' {
                        if let Some(request) = self.decode_whole(buf) {
                            return Ok(Some(request));
                        }
                        if !self.read_multibulk_header(buf)? {
                            return Ok(None);
                        }
                    } else {
                        match self.read_inline(buf)? {
                            Inline::Incomplete => return Ok(None),
                            Inline::Empty => {}
                            Inline::Request(request) => return Ok(Some(request)),
                        }
                    }
                }
                State::Multibulk {
                    remaining,
                    args,
                    bulk_len,
                } => {
                    while *remaining > 0 {
                        let len = match *bulk_len {
                            Some(len) => len,
                            None => {
                                let line_len = match find_line(buf, b'\r', self.scanned_len) {
                                    Ok(line_len) if line_len > self.limits.inline_len_max => {
                                        return Err(ProtocolError::TooBigBulkCountString);
                                    }
                                    Ok(line_len) => line_len,
                                    Err(resume) => {
                                        if buf.len() > self.limits.inline_len_max {
                                            return Err(ProtocolError::TooBigBulkCountString);
                                        }
                                        self.scanned_len = resume;
                                        return Ok(None);
                                    }
                                };
                                // Redis needs one byte after `\r` and skips it unchecked.
                                if line_len + 2 > buf.len() {
                                    self.scanned_len = line_len;
                                    return Ok(None);
                                }
                                if buf[0] != b'$' {
                                    return Err(ProtocolError::ExpectedDollar(buf[0]));
                                }
                                let len = parse_i64(&buf[1..line_len])
                                    .filter(|&len| {
                                        len >= 0
                                            && u64::try_from(len).is_ok_and(|len| {
                                                len <= self.limits.bulk_len_max as u64
                                            })
                                    })
                                    .ok_or(ProtocolError::InvalidBulkLength)?;
                                if self.auth_required && len > UNAUTHENTICATED_BULK_LEN_MAX {
                                    return Err(ProtocolError::UnauthenticatedBulkLength);
                                }
                                buf.advance(line_len + 2);
                                self.scanned_len = 0;
                                let len = len as usize;
                                *bulk_len = Some(len);
                                len
                            }
                        };
                        // The payload and the two bytes after it (`\r\n`, unchecked as in Redis).
                        if buf.len() < len + 2 {
                            return Ok(None);
                        }
                        args.push(buf.split_to(len).freeze());
                        buf.advance(2);
                        *bulk_len = None;
                        *remaining -= 1;
                    }
                    let args = std::mem::take(args);
                    self.state = State::Idle;
                    debug_assert!(!args.is_empty());
                    return Ok(Some(Request { args }));
                }
            }
        }
    }

    /// The one-pass path for the common case: a multibulk request of at
    /// most [`WHOLE_ARGS_MAX`] arguments, complete in `buf`, with plain
    /// decimal counts and lengths within the limits (no AUTH pending). Its
    /// spans are found in one scan and the arguments are slices of one
    /// frozen buffer, instead of a line search, an integer parse and two
    /// buffer advances per header. `None` (nothing consumed) for anything
    /// else, which the general path then reads (and refuses) exactly as
    /// before: whenever this returns a request, the general path returns
    /// the same one.
    fn decode_whole(&mut self, buf: &mut BytesMut) -> Option<Request> {
        if !self.whole_path || self.auth_required {
            return None;
        }
        let bytes: &[u8] = buf;
        let (count, cr) = small_decimal(bytes, 1)?;
        if count == 0
            || count > WHOLE_ARGS_MAX
            || count > self.limits.multibulk_len_max
            || cr > self.limits.inline_len_max
        {
            return None;
        }
        // The byte after `\r` is skipped unchecked (as Redis does).
        let mut at = cr + 2;
        let mut spans = [(0usize, 0usize); WHOLE_ARGS_MAX];
        for span in &mut spans[..count] {
            if *bytes.get(at)? != b'$' {
                return None;
            }
            let (len, cr) = small_decimal(bytes, at + 1)?;
            if cr - at > self.limits.inline_len_max || len > self.limits.bulk_len_max {
                return None;
            }
            let start = cr + 2;
            let end = start + len;
            // The payload and the two bytes after it (unchecked).
            if bytes.len() < end + 2 {
                return None;
            }
            *span = (start, end);
            at = end + 2;
        }
        let whole = buf.split_to(at).freeze();
        self.scanned_len = 0;
        let args = spans[..count]
            .iter()
            .map(|&(start, end)| whole.slice(start..end))
            .collect();
        Some(Request { args })
    }

    /// Reads `*<count>\r\n`; `Ok(false)` when incomplete.
    fn read_multibulk_header(&mut self, buf: &mut BytesMut) -> Result<bool, ProtocolError> {
        let line_len = match find_line(buf, b'\r', self.scanned_len) {
            Ok(line_len) if line_len > self.limits.inline_len_max => {
                return Err(ProtocolError::TooBigMultibulkCountString);
            }
            Ok(line_len) => line_len,
            Err(resume) => {
                if buf.len() > self.limits.inline_len_max {
                    return Err(ProtocolError::TooBigMultibulkCountString);
                }
                self.scanned_len = resume;
                return Ok(false);
            }
        };
        if line_len + 2 > buf.len() {
            self.scanned_len = line_len;
            return Ok(false);
        }
        let count = parse_i64(&buf[1..line_len])
            .filter(|&count| {
                count <= i64::from(i32::MAX)
                    && (count <= 0 || count as u64 <= self.limits.multibulk_len_max as u64)
            })
            .ok_or(ProtocolError::InvalidMultibulkLength)?;
        if self.auth_required && count > UNAUTHENTICATED_MULTIBULK_LEN_MAX {
            return Err(ProtocolError::UnauthenticatedMultibulkLength);
        }
        buf.advance(line_len + 2);
        self.scanned_len = 0;
        if count > 0 {
            let count = count as usize;
            self.state = State::Multibulk {
                remaining: count,
                args: Vec::with_capacity(count.min(ARGS_PREALLOCATED_MAX)),
                bulk_len: None,
            };
        }
        Ok(true)
    }

    fn read_inline(&mut self, buf: &mut BytesMut) -> Result<Inline, ProtocolError> {
        let newline = match find_line(buf, b'\n', self.scanned_len) {
            Ok(newline) if newline > self.limits.inline_len_max => {
                return Err(ProtocolError::TooBigInlineRequest);
            }
            Ok(newline) => newline,
            Err(resume) => {
                if buf.len() > self.limits.inline_len_max {
                    return Err(ProtocolError::TooBigInlineRequest);
                }
                self.scanned_len = resume;
                return Ok(Inline::Incomplete);
            }
        };
        let line_len = if newline > 0 && buf[newline - 1] == b'\r' {
            newline - 1
        } else {
            newline
        };
        let args = split_args(&buf[..line_len])?;
        buf.advance(newline + 1);
        self.scanned_len = 0;
        Ok(match Request::new(args) {
            Some(request) => Inline::Request(request),
            None => Inline::Empty,
        })
    }
}

enum Inline {
    Incomplete,
    Empty,
    Request(Request),
}

/// The offset of the first `terminator` in `buf`, searching from `from`;
/// otherwise `Err(resume)`, the offset to resume the search from once more
/// bytes arrived.
///
/// Redis searches with `strchr`, which stops at a NUL byte: a NUL before the
/// line end means "no line end yet", exactly as in Redis (such a client
/// waits until the length limit closes it), so the search never resumes
/// past a NUL.
/// The argument at `index` (0 = the command name) of the multibulk
/// request at the start of `buf`, if its headers up to that argument are
/// plain (as the one-pass path of [`RequestDecoder::decode`] takes them)
/// and the argument is complete. Consumes nothing and checks no limits: for
/// hints only, such as the server prefetching the next request's key while
/// the current one runs.
///
/// ```
/// use ferrite_protocol::peek_argument;
/// let buf = b"*2\r\n$3\r\nGET\r\n$5\r\nkey:1\r\n";
/// assert_eq!(peek_argument(buf, 1), Some(&b"key:1"[..]));
/// assert_eq!(peek_argument(&buf[..20], 1), None);
/// assert_eq!(peek_argument(buf, 2), None);
/// ```
pub fn peek_argument(buf: &[u8], index: usize) -> Option<&[u8]> {
    if buf.first() != Some(&b'*') {
        return None;
    }
    let (count, cr) = small_decimal(buf, 1)?;
    if index >= count {
        return None;
    }
    let mut at = cr + 2;
    for i in 0..=index {
        if *buf.get(at)? != b'$' {
            return None;
        }
        let (len, cr) = small_decimal(buf, at + 1)?;
        let start = cr + 2;
        let end = start.checked_add(len)?;
        if i == index {
            return buf.get(start..end);
        }
        at = end + 2;
    }
    None
}

/// A plain decimal at `from` (`0`, or 1-9 digits without a leading zero:
/// text [`parse_i64`] reads as the same value) followed by `\r` and one
/// more byte: its value and the position of the `\r`. `None` for anything
/// else (signs, longer numbers, other bytes, not enough bytes).
#[inline]
fn small_decimal(bytes: &[u8], from: usize) -> Option<(usize, usize)> {
    /// Digits at most (values below 10^9).
    const DIGITS_MAX: usize = 9;
    let first = *bytes.get(from)?;
    let mut value = match first {
        b'0' => 0,
        b'1'..=b'9' => usize::from(first - b'0'),
        _ => return None,
    };
    let mut at = from + 1;
    if first != b'0' {
        while at - from < DIGITS_MAX {
            match bytes.get(at) {
                Some(&digit @ b'0'..=b'9') => {
                    value = value * 10 + usize::from(digit - b'0');
                    at += 1;
                }
                _ => break,
            }
        }
    }
    if *bytes.get(at)? != b'\r' || at + 1 >= bytes.len() {
        return None;
    }
    Some((value, at))
}

fn find_line(buf: &[u8], terminator: u8, from: usize) -> Result<usize, usize> {
    let from = from.min(buf.len());
    match buf[from..]
        .iter()
        .position(|&byte| byte == terminator || byte == 0)
    {
        Some(offset) if buf[from + offset] == terminator => Ok(from + offset),
        Some(offset) => Err(from + offset),
        None => Err(buf.len()),
    }
}

/// Parses the first complete request in `buf` (a convenience for one-shot
/// parsing and tests; arguments are copied). Empty lines, `*0` and `*-1`
/// before it are skipped and counted in the consumed length.
///
/// ```
/// use ferrite_protocol::{parse_request, Limits};
/// let (request, consumed) = parse_request(b"SET k \"a b\"\r\nGET k\r\n", &Limits::default())
///     .unwrap()
///     .unwrap();
/// assert_eq!(request.args(), &[&b"SET"[..], &b"k"[..], &b"a b"[..]]);
/// assert_eq!(consumed, 13);
/// ```
pub fn parse_request(
    buf: &[u8],
    limits: &Limits,
) -> Result<Option<(Request, usize)>, ProtocolError> {
    let mut decoder = RequestDecoder::new(limits.clone());
    let mut bytes = BytesMut::from(buf);
    Ok(decoder
        .decode(&mut bytes)?
        .map(|request| (request, buf.len() - bytes.len())))
}

/// Splits a line into arguments exactly as Redis's `sdssplitargs` does (the
/// inline protocol and redis-cli): blanks separate arguments; `"…"` with
/// escapes `\n \r \t \b \a \xHH \<any>`; `'…'` with only `\'`; a closing
/// quote must be followed by a blank or the end. The line ends at the first
/// NUL byte, as the C string does.
///
/// ```
/// use ferrite_protocol::{split_args, ProtocolError};
/// let args = split_args(br#"SET "a\x41\n" 'it\'s' """#).unwrap();
/// assert_eq!(args, vec![&b"SET"[..], &b"aA\n"[..], &b"it's"[..], &b""[..]]);
/// assert_eq!(split_args(b"GET \"k"), Err(ProtocolError::UnbalancedQuotes));
/// ```
pub fn split_args(line: &[u8]) -> Result<Vec<Bytes>, ProtocolError> {
    let line = match line.iter().position(|&byte| byte == 0) {
        Some(nul) => &line[..nul],
        None => line,
    };
    let at = |i: usize| line.get(i).copied().unwrap_or(0);
    let mut args = Vec::new();
    let mut i = 0;
    loop {
        while i < line.len() && is_c_space(line[i]) {
            i += 1;
        }
        if i >= line.len() {
            return Ok(args);
        }
        let mut current = Vec::new();
        let mut in_double = false;
        let mut in_single = false;
        loop {
            let byte = at(i);
            if in_double {
                if byte == b'\\'
                    && at(i + 1) == b'x'
                    && at(i + 2).is_ascii_hexdigit()
                    && at(i + 3).is_ascii_hexdigit()
                {
                    current.push(hex_value(at(i + 2)) * 16 + hex_value(at(i + 3)));
                    i += 3;
                } else if byte == b'\\' && at(i + 1) != 0 {
                    i += 1;
                    current.push(match at(i) {
                        b'n' => b'\n',
                        b'r' => b'\r',
                        b't' => b'\t',
                        b'b' => 0x08,
                        b'a' => 0x07,
                        other => other,
                    });
                } else if byte == b'"' {
                    if at(i + 1) != 0 && !is_c_space(at(i + 1)) {
                        return Err(ProtocolError::UnbalancedQuotes);
                    }
                    i += 1;
                    break;
                } else if byte == 0 {
                    return Err(ProtocolError::UnbalancedQuotes);
                } else {
                    current.push(byte);
                }
            } else if in_single {
                if byte == b'\\' && at(i + 1) == b'\'' {
                    i += 1;
                    current.push(b'\'');
                } else if byte == b'\'' {
                    if at(i + 1) != 0 && !is_c_space(at(i + 1)) {
                        return Err(ProtocolError::UnbalancedQuotes);
                    }
                    i += 1;
                    break;
                } else if byte == 0 {
                    return Err(ProtocolError::UnbalancedQuotes);
                } else {
                    current.push(byte);
                }
            } else {
                match byte {
                    b' ' | b'\n' | b'\r' | b'\t' | 0 => {
                        if byte != 0 {
                            i += 1;
                        }
                        break;
                    }
                    b'"' => in_double = true,
                    b'\'' => in_single = true,
                    other => current.push(other),
                }
            }
            i += 1;
        }
        args.push(Bytes::from(current));
    }
}

/// C's `isspace` in the C locale.
fn is_c_space(byte: u8) -> bool {
    matches!(byte, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r')
}

fn hex_value(digit: u8) -> u8 {
    match digit {
        b'0'..=b'9' => digit - b'0',
        b'a'..=b'f' => digit - b'a' + 10,
        b'A'..=b'F' => digit - b'A' + 10,
        _ => 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Decodes `input` fed in chunks of `chunk` bytes: the requests, then
    /// the error that stopped decoding, if any.
    fn decode_all(
        input: &[u8],
        chunk: usize,
        whole_path: bool,
        limits: &Limits,
    ) -> (Vec<Request>, Option<ProtocolError>) {
        let mut decoder = RequestDecoder::new(limits.clone());
        decoder.whole_path = whole_path;
        let mut buf = BytesMut::new();
        let mut out = Vec::new();
        for piece in input.chunks(chunk.max(1)) {
            buf.extend_from_slice(piece);
            loop {
                match decoder.decode(&mut buf) {
                    Ok(Some(request)) => out.push(request),
                    Ok(None) => break,
                    Err(err) => return (out, Some(err)),
                }
            }
        }
        (out, None)
    }

    /// xorshift64*: a deterministic generator, no dependency.
    struct Rng(u64);

    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
        }

        fn below(&mut self, n: u64) -> usize {
            (self.next() % n) as usize
        }
    }

    #[test]
    fn one_pass_path_decodes_exactly_as_the_general_path() {
        const PIECES: &[&[u8]] = &[
            b"*",
            b"$",
            b"\r",
            b"\n",
            b"0",
            b"1",
            b"3",
            b"9",
            b"-",
            b"+",
            b"00",
            b"\x00",
            b"GET",
            b" ",
            b"17",
            b"16",
            b"65",
            b"*2\r\n$3\r\nGET\r\n$1\r\nk\r\n",
            b"*3\r\n$3\r\nSET\r\n$5\r\nkey:1\r\n$3\r\nxxx\r\n",
            b"*1\r\n$0\r\n\r\n",
        ];
        let tight = Limits {
            bulk_len_max: 4,
            multibulk_len_max: 2,
            inline_len_max: 3,
        };
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
        for round in 0..20_000 {
            let mut input = Vec::new();
            for _ in 0..rng.below(24) {
                input.extend_from_slice(PIECES[rng.below(PIECES.len() as u64)]);
            }
            let limits = if round % 4 == 0 {
                tight.clone()
            } else {
                Limits::default()
            };
            let chunk = 1 + rng.below(input.len() as u64 + 1);
            assert_eq!(
                decode_all(&input, chunk, true, &limits),
                decode_all(&input, chunk, false, &limits),
                "input {:?}, chunk {chunk}",
                Bytes::from(input.clone())
            );
        }
    }

    #[test]
    fn one_pass_path_takes_common_requests() {
        let mut decoder = RequestDecoder::new(Limits::default());
        let mut buf = BytesMut::from(&b"*3\r\n$3\r\nSET\r\n$5\r\nkey:1\r\n$3\r\nxxx\r\n*1"[..]);
        let request = decoder.decode_whole(&mut buf).unwrap();
        assert_eq!(request.args(), &[&b"SET"[..], &b"key:1"[..], &b"xxx"[..]]);
        assert_eq!(&buf[..], b"*1");
        assert!(decoder.decode_whole(&mut buf).is_none());
        assert_eq!(&buf[..], b"*1");
    }
}
