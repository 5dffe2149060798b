//! The HTTP client behind `ferrite_http` (docs/abi.md §4): a small, blocking
//! HTTP/1.1 client over [`std::net::TcpStream`] that reaches only allow-listed
//! hosts, within a deadline, with bounded responses.
//!
//! It runs on the worker thread executing a wasm call, so it blocks; every
//! socket operation gets the time left until `min(now + timeout_ms, call
//! deadline)` as its timeout. Only `http://` URLs are supported: TLS is not
//! compiled in. One request per connection (`Connection: close`).
//!
//! Limits: URL 8 KiB, response head 64 KiB and 100 headers, request and
//! response body [`HttpPolicy::body_bytes_max`]. A response body over the
//! limit is an error, never silently truncated.
//!
//! Host names are resolved with the system resolver on a helper thread, so
//! the deadline also bounds a slow lookup. Redirects are not followed: the
//! guest receives the 3xx response.

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::time::{Duration, Instant};

/// Longest accepted URL.
const URL_BYTES_MAX: usize = 8 * 1024;
/// Longest accepted response head (status line and headers).
const HEAD_BYTES_MAX: usize = 64 * 1024;
/// Most response headers.
const HEADERS_MAX: usize = 100;
/// Most request headers the guest may send.
const REQUEST_HEADERS_MAX: usize = 100;
/// Longest chunk-size or trailer line of a chunked body.
const CHUNK_LINE_BYTES_MAX: usize = 4 * 1024;
/// Longest method name.
const METHOD_BYTES_MAX: usize = 32;
/// Most interim (1xx) responses skipped before the final one.
const INTERIM_RESPONSES_MAX: usize = 8;
/// Most addresses tried for one host.
const ADDRESSES_MAX: usize = 8;
/// Size of one socket read.
const READ_CHUNK_BYTES: usize = 16 * 1024;

/// What `ferrite_http` may reach (capability `http`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpPolicy {
    /// Allowed hosts: `host` (any port) or `host:port` (that port only),
    /// compared case-insensitively with the URL's host. IPv6 literals are
    /// written in brackets (`[::1]:8080`). Empty: nothing is reachable.
    pub allow_hosts: Vec<String>,
    /// Timeout of a whole request (connect, send, receive), in ms; the call's
    /// own deadline also applies.
    pub timeout_ms: u64,
    /// Largest request or response body, in bytes.
    pub body_bytes_max: usize,
}

impl Default for HttpPolicy {
    /// Nothing allowed, 5 s timeout, 1 MiB bodies.
    fn default() -> Self {
        Self {
            allow_hosts: Vec::new(),
            timeout_ms: 5_000,
            body_bytes_max: 1024 * 1024,
        }
    }
}

/// A complete HTTP response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct HttpResponse {
    /// Status code, 100..=999.
    pub status: u16,
    /// Headers in the order received (names as sent by the server).
    pub headers: Vec<(Vec<u8>, Vec<u8>)>,
    /// The body, de-chunked.
    pub body: Vec<u8>,
}

/// Why an HTTP request failed. The runtime replies `ERR http: <this>`.
#[derive(Debug, thiserror::Error)]
pub enum HttpError {
    /// The URL's scheme is not `http`.
    #[error("unsupported URL scheme '{scheme}' (only http:// is supported)")]
    UnsupportedScheme {
        /// The scheme as written.
        scheme: String,
    },
    /// The URL cannot be parsed or is not acceptable.
    #[error("invalid URL: {reason}")]
    InvalidUrl {
        /// What is wrong with it.
        reason: &'static str,
    },
    /// The URL's host is not in the allow-list.
    #[error("host '{host}' is not in the allow-list")]
    HostNotAllowed {
        /// `host:port` as requested.
        host: String,
    },
    /// The method is not an HTTP token.
    #[error("invalid method")]
    InvalidMethod,
    /// A request header is malformed or reserved.
    #[error("invalid request header: {reason}")]
    InvalidHeader {
        /// What is wrong with it.
        reason: &'static str,
    },
    /// The request body exceeds `body_bytes_max`.
    #[error("request body of {len} bytes exceeds the limit of {len_max} bytes")]
    RequestTooLarge {
        /// Body size.
        len: usize,
        /// The limit.
        len_max: usize,
    },
    /// The host name did not resolve.
    #[error("cannot resolve '{host}': {source}")]
    Resolve {
        /// The host name.
        host: String,
        /// The resolver error.
        source: io::Error,
    },
    /// No address of the host accepted a connection.
    #[error("cannot connect to {addr}: {source}")]
    Connect {
        /// The last address tried.
        addr: SocketAddr,
        /// The connection error.
        source: io::Error,
    },
    /// The request did not complete within the timeout (or call deadline).
    #[error("timed out after {timeout_ms} ms")]
    Timeout {
        /// The effective timeout.
        timeout_ms: u64,
    },
    /// A socket error after connecting.
    #[error("i/o error: {0}")]
    Io(#[source] io::Error),
    /// The response head or body exceeds its limit.
    #[error("response {what} exceeds the limit of {len_max} bytes")]
    ResponseTooLarge {
        /// "head" or "body".
        what: &'static str,
        /// The limit.
        len_max: usize,
    },
    /// The guest's list-encoded request (docs/abi.md §4 `ferrite_http`) is
    /// malformed.
    #[error("invalid request: {reason}")]
    InvalidRequest {
        /// What is wrong with it.
        reason: &'static str,
    },
    /// The server's response is not valid HTTP/1.x.
    #[error("malformed response: {reason}")]
    MalformedResponse {
        /// What is wrong with it.
        reason: &'static str,
    },
}

/// A parsed `http://` URL.
#[derive(Debug, PartialEq, Eq)]
struct Url<'a> {
    /// Host as written (lower-cased later), IPv6 with brackets.
    host: &'a str,
    port: u16,
    /// `host[:port]` as written, for the `Host` header.
    authority: &'a str,
    /// Path and query, never empty.
    target: &'a str,
}

fn parse_url(url: &str) -> Result<Url<'_>, HttpError> {
    if url.len() > URL_BYTES_MAX {
        return Err(HttpError::InvalidUrl {
            reason: "longer than 8 KiB",
        });
    }
    let Some((scheme, rest)) = url.split_once("://") else {
        return Err(HttpError::InvalidUrl {
            reason: "missing scheme",
        });
    };
    if !scheme.eq_ignore_ascii_case("http") {
        return Err(HttpError::UnsupportedScheme {
            scheme: scheme.to_owned(),
        });
    }
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, after) = rest.split_at(authority_end);
    let target = after.split('#').next().unwrap_or("");
    if target.bytes().any(|b| b <= b' ' || b == 0x7f) {
        return Err(HttpError::InvalidUrl {
            reason: "whitespace or control character in path",
        });
    }
    let target = if target.is_empty() { "/" } else { target };
    if authority.contains('@') {
        return Err(HttpError::InvalidUrl {
            reason: "user info is not supported",
        });
    }
    let (host, port) = if let Some(v6) = authority.strip_prefix('[') {
        let Some((inside, tail)) = v6.split_once(']') else {
            return Err(HttpError::InvalidUrl {
                reason: "unterminated IPv6 address",
            });
        };
        if inside.is_empty()
            || !inside
                .bytes()
                .all(|b| b.is_ascii_hexdigit() || b == b':' || b == b'.')
        {
            return Err(HttpError::InvalidUrl {
                reason: "bad IPv6 address",
            });
        }
        let host = &authority[..inside.len() + 2];
        match tail {
            "" => (host, None),
            _ => match tail.strip_prefix(':') {
                Some(port) => (host, Some(port)),
                None => {
                    return Err(HttpError::InvalidUrl {
                        reason: "junk after IPv6 address",
                    })
                }
            },
        }
    } else {
        match authority.split_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (authority, None),
        }
    };
    if !host.starts_with('[')
        && (host.is_empty()
            || !host
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.' || b == b'_'))
    {
        return Err(HttpError::InvalidUrl {
            reason: "bad host name",
        });
    }
    let port = match port {
        None => 80,
        Some(p) if !p.is_empty() && p.len() <= 5 && p.bytes().all(|b| b.is_ascii_digit()) => p
            .parse::<u16>()
            .ok()
            .filter(|p| *p != 0)
            .ok_or(HttpError::InvalidUrl { reason: "bad port" })?,
        Some(_) => return Err(HttpError::InvalidUrl { reason: "bad port" }),
    };
    Ok(Url {
        host,
        port,
        authority,
        target,
    })
}

/// Whether `host:port` is allowed by `allow_hosts`.
fn host_allowed(allow_hosts: &[String], host: &str, port: u16) -> bool {
    let with_port = format!("{host}:{port}");
    allow_hosts
        .iter()
        .any(|entry| entry.eq_ignore_ascii_case(host) || entry.eq_ignore_ascii_case(&with_port))
}

fn is_token(bytes: &[u8]) -> bool {
    !bytes.is_empty()
        && bytes
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(b))
}

/// Headers the client sets itself; a guest may not send them.
const RESERVED_HEADERS: [&str; 4] = ["host", "content-length", "transfer-encoding", "connection"];

fn check_request(
    policy: &HttpPolicy,
    method: &str,
    headers: &[(Vec<u8>, Vec<u8>)],
    body: &[u8],
) -> Result<(), HttpError> {
    if method.len() > METHOD_BYTES_MAX || !is_token(method.as_bytes()) {
        return Err(HttpError::InvalidMethod);
    }
    if headers.len() > REQUEST_HEADERS_MAX {
        return Err(HttpError::InvalidHeader {
            reason: "more than 100 headers",
        });
    }
    for (name, value) in headers {
        if !is_token(name) {
            return Err(HttpError::InvalidHeader {
                reason: "name is not a token",
            });
        }
        if value.iter().any(|b| matches!(b, b'\r' | b'\n' | 0)) {
            return Err(HttpError::InvalidHeader {
                reason: "value contains CR, LF or NUL",
            });
        }
        if RESERVED_HEADERS
            .iter()
            .any(|r| r.as_bytes().eq_ignore_ascii_case(name))
        {
            return Err(HttpError::InvalidHeader {
                reason:
                    "Host, Content-Length, Transfer-Encoding and Connection are set by the host",
            });
        }
    }
    if body.len() > policy.body_bytes_max {
        return Err(HttpError::RequestTooLarge {
            len: body.len(),
            len_max: policy.body_bytes_max,
        });
    }
    Ok(())
}

/// Sends one HTTP/1.1 request and reads the whole response.
///
/// Blocking. Checked before any network access: scheme (`http` only), URL,
/// allow-list, method, headers (the client sets `Host`, `Content-Length` and
/// `Connection: close` itself), request body size. The timeout is
/// `min(policy.timeout_ms, deadline)` for the whole exchange.
pub(crate) fn request(
    policy: &HttpPolicy,
    method: &str,
    url: &str,
    headers: &[(Vec<u8>, Vec<u8>)],
    body: &[u8],
    deadline: Instant,
) -> Result<HttpResponse, HttpError> {
    let parsed = parse_url(url)?;
    if !host_allowed(&policy.allow_hosts, parsed.host, parsed.port) {
        return Err(HttpError::HostNotAllowed {
            host: format!("{}:{}", parsed.host, parsed.port),
        });
    }
    check_request(policy, method, headers, body)?;

    let start = Instant::now();
    let deadline = deadline.min(start + Duration::from_millis(policy.timeout_ms));
    let timeout_ms =
        u64::try_from(deadline.saturating_duration_since(start).as_millis()).unwrap_or(u64::MAX);
    let clock = Clock {
        deadline,
        timeout_ms,
    };

    let mut stream = connect(&parsed, &clock)?;

    let mut head = Vec::with_capacity(256);
    head.extend_from_slice(method.as_bytes());
    head.push(b' ');
    head.extend_from_slice(parsed.target.as_bytes());
    head.extend_from_slice(b" HTTP/1.1\r\nHost: ");
    head.extend_from_slice(parsed.authority.as_bytes());
    head.extend_from_slice(b"\r\nConnection: close\r\n");
    let has_body = !body.is_empty() || matches!(method, "POST" | "PUT" | "PATCH");
    if has_body {
        head.extend_from_slice(format!("Content-Length: {}\r\n", body.len()).as_bytes());
    }
    for (name, value) in headers {
        head.extend_from_slice(name);
        head.extend_from_slice(b": ");
        head.extend_from_slice(value);
        head.extend_from_slice(b"\r\n");
    }
    head.extend_from_slice(b"\r\n");
    clock.write_all(&mut stream, &head)?;
    clock.write_all(&mut stream, body)?;

    let mut reader = Reader {
        stream,
        buf: Vec::new(),
        pos: 0,
        eof: false,
        clock,
    };
    read_response(&mut reader, method == "HEAD", policy.body_bytes_max)
}

/// Items of a list-encoded `ferrite_http` request: method, URL, body, then
/// header name/value pairs.
const REQUEST_FIXED_ITEMS: usize = 3;

/// Runs a `ferrite_http` request given in its list encoding (docs/abi.md §4:
/// `method, url, body, name1, value1, …`) and returns the response in its
/// list encoding (`status, body, name1, value1, …`), ready for the result
/// buffer.
pub(crate) fn request_encoded(
    policy: &HttpPolicy,
    encoded: &[u8],
    deadline: Instant,
) -> Result<Vec<u8>, HttpError> {
    let limits = crate::memory::ListLimits {
        items_max: REQUEST_FIXED_ITEMS + 2 * REQUEST_HEADERS_MAX,
        bytes_max: policy
            .body_bytes_max
            .saturating_add(URL_BYTES_MAX)
            .saturating_add(HEAD_BYTES_MAX),
    };
    let items =
        crate::memory::decode_list(encoded, limits).map_err(|_| HttpError::InvalidRequest {
            reason: "not a list of method, url, body and header pairs within limits",
        })?;
    if items.len() < REQUEST_FIXED_ITEMS || (items.len() - REQUEST_FIXED_ITEMS) % 2 != 0 {
        return Err(HttpError::InvalidRequest {
            reason: "expected method, url, body, then name/value pairs",
        });
    }
    let method = std::str::from_utf8(items[0]).map_err(|_| HttpError::InvalidMethod)?;
    let url = std::str::from_utf8(items[1]).map_err(|_| HttpError::InvalidUrl {
        reason: "not UTF-8",
    })?;
    let headers: Vec<(Vec<u8>, Vec<u8>)> = items[REQUEST_FIXED_ITEMS..]
        .chunks_exact(2)
        .map(|pair| (pair[0].to_vec(), pair[1].to_vec()))
        .collect();
    let response = request(policy, method, url, &headers, items[2], deadline)?;
    Ok(response.encode())
}

impl HttpResponse {
    /// The response in the list encoding of `ferrite_http`:
    /// `status` (decimal text), `body`, then header name/value pairs.
    pub(crate) fn encode(&self) -> Vec<u8> {
        let status = self.status.to_string();
        let items = [status.as_bytes(), self.body.as_slice()].into_iter().chain(
            self.headers
                .iter()
                .flat_map(|(n, v)| [n.as_slice(), v.as_slice()]),
        );
        let mut out = Vec::new();
        // Every item is bounded (body by `body_bytes_max`, head by 64 KiB),
        // far below the u32 limit of the encoding.
        let encoded = crate::memory::encode_list(items, &mut out);
        debug_assert!(encoded.is_ok());
        out
    }
}

/// The deadline of one request.
#[derive(Debug, Clone, Copy)]
struct Clock {
    deadline: Instant,
    timeout_ms: u64,
}

impl Clock {
    fn timeout(&self) -> HttpError {
        HttpError::Timeout {
            timeout_ms: self.timeout_ms,
        }
    }

    /// Time left, or `Timeout`.
    fn remaining(&self) -> Result<Duration, HttpError> {
        let left = self.deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            Err(self.timeout())
        } else {
            Ok(left)
        }
    }

    fn io_error(&self, error: io::Error) -> HttpError {
        match error.kind() {
            io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut => self.timeout(),
            _ => HttpError::Io(error),
        }
    }

    fn write_all(&self, stream: &mut TcpStream, mut bytes: &[u8]) -> Result<(), HttpError> {
        while !bytes.is_empty() {
            stream
                .set_write_timeout(Some(self.remaining()?))
                .map_err(HttpError::Io)?;
            match stream.write(bytes) {
                Ok(0) => return Err(HttpError::Io(io::ErrorKind::WriteZero.into())),
                Ok(n) => bytes = &bytes[n..],
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(self.io_error(e)),
            }
        }
        Ok(())
    }
}

/// Resolves `url`'s host. IP literals need no lookup; a name is looked up
/// on a helper thread so that the deadline bounds the wait even when the
/// system resolver hangs (the thread then finishes on its own).
fn resolve(url: &Url<'_>, clock: &Clock) -> Result<Vec<SocketAddr>, HttpError> {
    let name = url.host.trim_start_matches('[').trim_end_matches(']');
    if let Ok(ip) = name.parse::<std::net::IpAddr>() {
        return Ok(vec![SocketAddr::new(ip, url.port)]);
    }
    let (tx, rx) = std::sync::mpsc::channel();
    let (owned, port) = (name.to_owned(), url.port);
    std::thread::Builder::new()
        .name("ferrite-http-dns".into())
        .spawn(move || {
            let result = (owned.as_str(), port)
                .to_socket_addrs()
                .map(|addrs| addrs.take(ADDRESSES_MAX).collect::<Vec<_>>());
            // The requester may have timed out and gone.
            let _ = tx.send(result);
        })
        .map_err(HttpError::Io)?;
    match rx.recv_timeout(clock.remaining()?) {
        Ok(result) => result.map_err(|source| HttpError::Resolve {
            host: url.host.to_owned(),
            source,
        }),
        Err(std::sync::mpsc::RecvTimeoutError::Timeout) => Err(clock.timeout()),
        Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => Err(HttpError::Resolve {
            host: url.host.to_owned(),
            source: io::Error::other("resolver thread failed"),
        }),
    }
}

fn connect(url: &Url<'_>, clock: &Clock) -> Result<TcpStream, HttpError> {
    let addrs = resolve(url, clock)?;
    let mut last = None;
    for addr in addrs {
        match TcpStream::connect_timeout(&addr, clock.remaining()?) {
            Ok(stream) => {
                stream.set_nodelay(true).map_err(HttpError::Io)?;
                return Ok(stream);
            }
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::TimedOut | io::ErrorKind::WouldBlock
                ) =>
            {
                return Err(clock.timeout())
            }
            Err(source) => last = Some(HttpError::Connect { addr, source }),
        }
    }
    Err(last.unwrap_or(HttpError::Resolve {
        host: url.host.to_owned(),
        source: io::Error::new(io::ErrorKind::NotFound, "no addresses"),
    }))
}

/// Buffered reads from the connection, each bounded by the deadline.
struct Reader {
    stream: TcpStream,
    buf: Vec<u8>,
    /// Bytes of `buf` before `pos` are consumed.
    pos: usize,
    eof: bool,
    clock: Clock,
}

impl Reader {
    fn available(&self) -> &[u8] {
        &self.buf[self.pos..]
    }

    fn consume(&mut self, n: usize) {
        debug_assert!(n <= self.buf.len() - self.pos);
        self.pos += n;
        if self.pos == self.buf.len() {
            self.buf.clear();
            self.pos = 0;
        }
    }

    /// Reads more bytes; `Ok(false)` at end of stream.
    fn fill(&mut self) -> Result<bool, HttpError> {
        if self.eof {
            return Ok(false);
        }
        if self.pos > 0 {
            self.buf.drain(..self.pos);
            self.pos = 0;
        }
        let old = self.buf.len();
        self.buf.resize(old + READ_CHUNK_BYTES, 0);
        loop {
            let remaining = self.clock.remaining();
            let remaining = match remaining {
                Ok(r) => r,
                Err(e) => {
                    self.buf.truncate(old);
                    return Err(e);
                }
            };
            if let Err(e) = self.stream.set_read_timeout(Some(remaining)) {
                self.buf.truncate(old);
                return Err(HttpError::Io(e));
            }
            match self.stream.read(&mut self.buf[old..]) {
                Ok(n) => {
                    self.buf.truncate(old + n);
                    self.eof = n == 0;
                    return Ok(n > 0);
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => {
                    self.buf.truncate(old);
                    return Err(self.clock.io_error(e));
                }
            }
        }
    }

    /// Reads one CRLF- (or LF-) terminated line of at most `len_max` bytes,
    /// without the terminator.
    fn line(&mut self, len_max: usize) -> Result<Vec<u8>, HttpError> {
        loop {
            if let Some(end) = self.available().iter().position(|b| *b == b'\n') {
                let mut line = self.available()[..end].to_vec();
                self.consume(end + 1);
                if line.last() == Some(&b'\r') {
                    line.pop();
                }
                return Ok(line);
            }
            if self.available().len() > len_max {
                return Err(HttpError::MalformedResponse {
                    reason: "chunk line too long",
                });
            }
            if !self.fill()? {
                return Err(HttpError::MalformedResponse {
                    reason: "connection closed inside a chunked body",
                });
            }
        }
    }

    /// Appends exactly `n` bytes to `out`.
    fn exact(&mut self, mut n: usize, out: &mut Vec<u8>) -> Result<(), HttpError> {
        while n > 0 {
            if self.available().is_empty() && !self.fill()? {
                return Err(HttpError::MalformedResponse {
                    reason: "connection closed before the end of the body",
                });
            }
            let take = n.min(self.available().len());
            out.extend_from_slice(&self.available()[..take]);
            self.consume(take);
            n -= take;
        }
        Ok(())
    }
}

/// A parsed response head.
struct Head {
    status: u16,
    headers: Vec<(Vec<u8>, Vec<u8>)>,
}

fn read_head(reader: &mut Reader) -> Result<Head, HttpError> {
    loop {
        let mut slots = [httparse::EMPTY_HEADER; HEADERS_MAX];
        let mut response = httparse::Response::new(&mut slots);
        match response.parse(reader.available()) {
            Ok(httparse::Status::Complete(len)) => {
                let status = response.code.ok_or(HttpError::MalformedResponse {
                    reason: "missing status code",
                })?;
                let headers = response
                    .headers
                    .iter()
                    .map(|h| (h.name.as_bytes().to_vec(), h.value.to_vec()))
                    .collect();
                reader.consume(len);
                return Ok(Head { status, headers });
            }
            Ok(httparse::Status::Partial) => {}
            Err(httparse::Error::TooManyHeaders) => {
                return Err(HttpError::MalformedResponse {
                    reason: "more than 100 headers",
                })
            }
            Err(_) => {
                return Err(HttpError::MalformedResponse {
                    reason: "invalid status line or header",
                })
            }
        }
        if reader.available().len() >= HEAD_BYTES_MAX {
            return Err(HttpError::ResponseTooLarge {
                what: "head",
                len_max: HEAD_BYTES_MAX,
            });
        }
        if !reader.fill()? {
            return Err(HttpError::MalformedResponse {
                reason: "connection closed before the response head",
            });
        }
    }
}

fn header<'h>(headers: &'h [(Vec<u8>, Vec<u8>)], name: &str) -> impl Iterator<Item = &'h [u8]> {
    let name = name.as_bytes().to_vec();
    headers
        .iter()
        .filter(move |(n, _)| n.eq_ignore_ascii_case(&name))
        .map(|(_, v)| v.as_slice())
}

fn read_response(
    reader: &mut Reader,
    head_request: bool,
    body_bytes_max: usize,
) -> Result<HttpResponse, HttpError> {
    let too_large = HttpError::ResponseTooLarge {
        what: "body",
        len_max: body_bytes_max,
    };
    let mut interim = 0;
    let head = loop {
        let head = read_head(reader)?;
        // Skip interim responses (100 Continue, 103 Early Hints).
        if (100..200).contains(&head.status) && head.status != 101 {
            interim += 1;
            if interim > INTERIM_RESPONSES_MAX {
                return Err(HttpError::MalformedResponse {
                    reason: "too many interim responses",
                });
            }
            continue;
        }
        break head;
    };
    let mut body = Vec::new();
    let no_body = head_request || head.status == 204 || head.status == 304 || head.status == 101;
    let chunked = header(&head.headers, "transfer-encoding").any(|v| {
        v.split(|b| *b == b',')
            .next_back()
            .is_some_and(|last| last.trim_ascii().eq_ignore_ascii_case(b"chunked"))
    });
    let lengths: Vec<&[u8]> = header(&head.headers, "content-length").take(2).collect();
    let content_length = match (lengths.first(), lengths.get(1)) {
        (None, _) => None,
        (Some(v), None) => Some(
            std::str::from_utf8(v.trim_ascii())
                .ok()
                .filter(|s| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()))
                .and_then(|s| s.parse::<u64>().ok())
                .ok_or(HttpError::MalformedResponse {
                    reason: "bad Content-Length",
                })?,
        ),
        (Some(_), Some(_)) => {
            return Err(HttpError::MalformedResponse {
                reason: "several Content-Length headers",
            })
        }
    };
    if no_body {
        // Nothing to read.
    } else if chunked {
        loop {
            let line = reader.line(CHUNK_LINE_BYTES_MAX)?;
            let size_text = line
                .split(|b| *b == b';')
                .next()
                .unwrap_or(&[])
                .trim_ascii();
            let size = std::str::from_utf8(size_text)
                .ok()
                .filter(|s| !s.is_empty() && s.len() <= 16)
                .and_then(|s| u64::from_str_radix(s, 16).ok())
                .ok_or(HttpError::MalformedResponse {
                    reason: "bad chunk size",
                })?;
            if size == 0 {
                // Trailers, up to the empty line.
                let mut trailer_bytes = 0usize;
                loop {
                    let trailer = reader.line(CHUNK_LINE_BYTES_MAX)?;
                    if trailer.is_empty() {
                        break;
                    }
                    trailer_bytes += trailer.len();
                    if trailer_bytes > HEAD_BYTES_MAX {
                        return Err(HttpError::ResponseTooLarge {
                            what: "head",
                            len_max: HEAD_BYTES_MAX,
                        });
                    }
                }
                break;
            }
            let size = usize::try_from(size).map_err(|_| HttpError::ResponseTooLarge {
                what: "body",
                len_max: body_bytes_max,
            })?;
            if body.len().saturating_add(size) > body_bytes_max {
                return Err(too_large);
            }
            reader.exact(size, &mut body)?;
            if !reader.line(2)?.is_empty() {
                return Err(HttpError::MalformedResponse {
                    reason: "missing CRLF after chunk",
                });
            }
        }
    } else if let Some(length) = content_length {
        let length = usize::try_from(length)
            .ok()
            .filter(|l| *l <= body_bytes_max)
            .ok_or(too_large)?;
        body.reserve(length);
        reader.exact(length, &mut body)?;
    } else {
        // Delimited by the end of the connection.
        loop {
            let chunk = reader.available();
            if body.len() + chunk.len() > body_bytes_max {
                return Err(too_large);
            }
            body.extend_from_slice(chunk);
            let n = chunk.len();
            reader.consume(n);
            if !reader.fill()? {
                break;
            }
        }
    }
    debug_assert!(body.len() <= body_bytes_max);
    Ok(HttpResponse {
        status: head.status,
        headers: head.headers,
        body,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls() {
        let u = parse_url("http://Example.com:8080/a/b?c=d#frag").unwrap();
        assert_eq!(
            u,
            Url {
                host: "Example.com",
                port: 8080,
                authority: "Example.com:8080",
                target: "/a/b?c=d"
            }
        );
        let u = parse_url("HTTP://127.0.0.1").unwrap();
        assert_eq!((u.host, u.port, u.target), ("127.0.0.1", 80, "/"));
        let u = parse_url("http://[::1]:9/x").unwrap();
        assert_eq!((u.host, u.port, u.authority), ("[::1]", 9, "[::1]:9"));
        let u = parse_url("http://h?q").unwrap();
        assert_eq!(u.target, "?q");
        assert!(matches!(
            parse_url("https://example.com/"),
            Err(HttpError::UnsupportedScheme { scheme }) if scheme == "https"
        ));
        for bad in [
            "example.com",
            "http://",
            "http://:80/",
            "http://u:p@host/",
            "http://host:0/",
            "http://host:65536/",
            "http://host:/",
            "http://host:8x/",
            "http://ho st/",
            "http://host/a b",
            "http://host/a\r\nX: y",
            "http://[::1/",
            "http://[::1]x/",
            "http://[zz]/",
        ] {
            assert!(
                matches!(parse_url(bad), Err(HttpError::InvalidUrl { .. })),
                "{bad}"
            );
        }
        let long = format!("http://h/{}", "a".repeat(URL_BYTES_MAX));
        assert!(matches!(
            parse_url(&long),
            Err(HttpError::InvalidUrl { .. })
        ));
    }

    #[test]
    fn allow_list() {
        let allow = vec![
            "api.example.com".to_owned(),
            "127.0.0.1:8080".to_owned(),
            "[::1]:9".to_owned(),
        ];
        assert!(host_allowed(&allow, "API.example.com", 80));
        assert!(host_allowed(&allow, "api.example.com", 1234));
        assert!(host_allowed(&allow, "127.0.0.1", 8080));
        assert!(!host_allowed(&allow, "127.0.0.1", 8081));
        assert!(host_allowed(&allow, "[::1]", 9));
        assert!(!host_allowed(&allow, "example.com", 80));
        assert!(!host_allowed(&allow, "evil-api.example.com", 80));
        assert!(!host_allowed(&[], "127.0.0.1", 80));
    }

    #[test]
    fn request_checks() {
        let policy = HttpPolicy {
            body_bytes_max: 4,
            ..HttpPolicy::default()
        };
        let h = |n: &str, v: &str| vec![(n.as_bytes().to_vec(), v.as_bytes().to_vec())];
        assert!(check_request(&policy, "GET", &h("X-A", "b"), b"1234").is_ok());
        assert!(matches!(
            check_request(&policy, "G T", &[], b""),
            Err(HttpError::InvalidMethod)
        ));
        assert!(matches!(
            check_request(&policy, "", &[], b""),
            Err(HttpError::InvalidMethod)
        ));
        for (n, v) in [
            ("X A", "b"),
            ("X-A", "b\r\nEvil: 1"),
            ("host", "x"),
            ("Content-Length", "1"),
        ] {
            assert!(
                matches!(
                    check_request(&policy, "GET", &h(n, v), b""),
                    Err(HttpError::InvalidHeader { .. })
                ),
                "{n}"
            );
        }
        assert!(matches!(
            check_request(&policy, "POST", &[], b"12345"),
            Err(HttpError::RequestTooLarge { len: 5, len_max: 4 })
        ));
    }

    // ----- Against a loopback server -----

    use std::net::TcpListener;
    use std::sync::mpsc;
    use std::thread;

    /// Reads one request (head + Content-Length body) from `stream`.
    fn read_request(stream: &mut TcpStream) -> Vec<u8> {
        stream
            .set_read_timeout(Some(Duration::from_secs(5)))
            .unwrap();
        let mut data = Vec::new();
        let mut buf = [0u8; 4096];
        loop {
            if let Some(end) = data.windows(4).position(|w| w == b"\r\n\r\n") {
                let head = String::from_utf8_lossy(&data[..end]).to_ascii_lowercase();
                let len = head
                    .lines()
                    .find_map(|l| l.strip_prefix("content-length: "))
                    .map_or(0, |v| v.trim().parse::<usize>().unwrap());
                if data.len() >= end + 4 + len {
                    return data;
                }
            }
            let n = stream.read(&mut buf).unwrap();
            if n == 0 {
                return data;
            }
            data.extend_from_slice(&buf[..n]);
        }
    }

    /// Starts a one-connection server answering `response`; returns its
    /// address and a channel with the request it received.
    fn serve_once(response: &'static [u8]) -> (SocketAddr, mpsc::Receiver<Vec<u8>>) {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let (tx, rx) = mpsc::channel();
        thread::spawn(move || {
            let (mut stream, _) = listener.accept().unwrap();
            let request = read_request(&mut stream);
            stream.write_all(response).unwrap();
            let _ = tx.send(request);
        });
        (addr, rx)
    }

    fn policy_for(addr: SocketAddr) -> HttpPolicy {
        HttpPolicy {
            allow_hosts: vec![addr.to_string()],
            timeout_ms: 5_000,
            body_bytes_max: 1024,
        }
    }

    fn far() -> Instant {
        Instant::now() + Duration::from_secs(30)
    }

    #[test]
    fn get_with_headers() {
        let (addr, rx) = serve_once(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nX-Reply: yes\r\nContent-Length: 5\r\n\r\nhello");
        let url = format!("http://{addr}/path?q=1");
        let headers = vec![(b"X-Token".to_vec(), b"abc".to_vec())];
        let response = request(&policy_for(addr), "GET", &url, &headers, b"", far()).unwrap();
        assert_eq!(response.status, 200);
        assert_eq!(response.body, b"hello");
        assert_eq!(
            response.headers,
            vec![
                (b"Content-Type".to_vec(), b"text/plain".to_vec()),
                (b"X-Reply".to_vec(), b"yes".to_vec()),
                (b"Content-Length".to_vec(), b"5".to_vec()),
            ]
        );
        let sent = rx.recv_timeout(Duration::from_secs(5)).unwrap();
        assert_eq!(
            String::from_utf8(sent).unwrap(),
            format!("GET /path?q=1 HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nX-Token: abc\r\n\r\n")
        );
    }

    #[test]
    fn post_with_body_and_chunked_response() {
        let (addr, rx) = serve_once(
            b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Created\r\nTransfer-Encoding: chunked\r\n\r\n4;ext=1\r\nWiki\r\n6\r\npedia \r\n0\r\nTrailer: x\r\n\r\n",
        );
        let url = format!("http://{addr}/submit");
        let headers = vec![(b"Content-Type".to_vec(), b"application/json".to_vec())];
        let response = request(
            &policy_for(addr),
            "POST",
            &url,
            &headers,
            b"{\"a\":1}",
            far(),
        )
        .unwrap();
        assert_eq!(response.status, 201);
        assert_eq!(response.body, b"Wikipedia ");
        let sent = rx.recv_timeout(Duration::from_secs(5)).unwrap();
        assert_eq!(
            String::from_utf8(sent).unwrap(),
            format!(
                "POST /submit HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Length: 7\r\nContent-Type: application/json\r\n\r\n{{\"a\":1}}"
            )
        );
    }

    #[test]
    fn body_until_close_and_limits() {
        let (addr, _rx) = serve_once(b"HTTP/1.0 404 Not Found\r\n\r\nno such thing");
        let response = request(
            &policy_for(addr),
            "GET",
            &format!("http://{addr}/"),
            &[],
            b"",
            far(),
        )
        .unwrap();
        assert_eq!(
            (response.status, response.body.as_slice()),
            (404, &b"no such thing"[..])
        );

        let (addr, _rx) = serve_once(b"HTTP/1.1 200 OK\r\nContent-Length: 2000\r\n\r\n");
        let error = request(
            &policy_for(addr),
            "GET",
            &format!("http://{addr}/"),
            &[],
            b"",
            far(),
        )
        .unwrap_err();
        assert!(
            matches!(
                error,
                HttpError::ResponseTooLarge {
                    what: "body",
                    len_max: 1024
                }
            ),
            "{error}"
        );

        let (addr, _rx) = serve_once(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort");
        let error = request(
            &policy_for(addr),
            "GET",
            &format!("http://{addr}/"),
            &[],
            b"",
            far(),
        )
        .unwrap_err();
        assert!(
            matches!(error, HttpError::MalformedResponse { .. }),
            "{error}"
        );

        let (addr, _rx) = serve_once(b"SMTP ready\r\n\r\n");
        let error = request(
            &policy_for(addr),
            "GET",
            &format!("http://{addr}/"),
            &[],
            b"",
            far(),
        )
        .unwrap_err();
        assert!(
            matches!(error, HttpError::MalformedResponse { .. }),
            "{error}"
        );
    }

    #[test]
    fn refused_before_any_connection() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let addr = listener.local_addr().unwrap();
        let policy = HttpPolicy {
            allow_hosts: vec![
                "example.com".into(),
                format!("127.0.0.1:{}", addr.port() ^ 1),
            ],
            ..policy_for(addr)
        };
        let error =
            request(&policy, "GET", &format!("http://{addr}/"), &[], b"", far()).unwrap_err();
        assert!(
            matches!(&error, HttpError::HostNotAllowed { host } if *host == addr.to_string()),
            "{error}"
        );
        assert_eq!(
            error.to_string(),
            format!("host '{addr}' is not in the allow-list")
        );
        let error = request(
            &policy_for(addr),
            "GET",
            &format!("https://{addr}/"),
            &[],
            b"",
            far(),
        )
        .unwrap_err();
        assert!(
            matches!(error, HttpError::UnsupportedScheme { .. }),
            "{error}"
        );
        // Nothing connected.
        assert_eq!(
            listener.accept().unwrap_err().kind(),
            io::ErrorKind::WouldBlock
        );
    }

    #[test]
    fn silent_server_times_out() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let (tx, rx) = mpsc::channel::<()>();
        let server = thread::spawn(move || {
            let (_stream, _) = listener.accept().unwrap();
            // Hold the connection open without answering until the test ends.
            let _ = rx.recv_timeout(Duration::from_secs(10));
        });
        let policy = HttpPolicy {
            timeout_ms: 200,
            ..policy_for(addr)
        };
        let start = Instant::now();
        let error =
            request(&policy, "GET", &format!("http://{addr}/"), &[], b"", far()).unwrap_err();
        let elapsed = start.elapsed();
        assert!(
            matches!(error, HttpError::Timeout { timeout_ms: 200 }),
            "{error}"
        );
        assert!(
            elapsed >= Duration::from_millis(190) && elapsed < Duration::from_secs(2),
            "{elapsed:?}"
        );

        // The call deadline wins when it is sooner.
        let start = Instant::now();
        let deadline = start + Duration::from_millis(100);
        let policy = policy_for(addr);
        let error = request(
            &policy,
            "GET",
            &format!("http://{addr}/"),
            &[],
            b"",
            deadline,
        )
        .unwrap_err();
        assert!(matches!(error, HttpError::Timeout { .. }), "{error}");
        assert!(start.elapsed() < Duration::from_secs(1));
        drop(tx);
        server.join().unwrap();
    }

    #[test]
    fn list_encoded_request_and_response() {
        let (addr, rx) = serve_once(b"HTTP/1.1 200 OK\r\nX-A: 1\r\nContent-Length: 2\r\n\r\nok");
        let url = format!("http://{addr}/e");
        let mut encoded = Vec::new();
        let items: [&[u8]; 5] = [b"PUT", url.as_bytes(), b"data", b"X-Q", b"v"];
        crate::memory::encode_list(items, &mut encoded).unwrap();
        let response = request_encoded(&policy_for(addr), &encoded, far()).unwrap();
        let limits = crate::memory::ListLimits {
            items_max: 16,
            bytes_max: 1024,
        };
        let decoded = crate::memory::decode_list(&response, limits).unwrap();
        let expected: [&[u8]; 6] = [b"200", b"ok", b"X-A", b"1", b"Content-Length", b"2"];
        assert_eq!(decoded, expected);
        let sent = String::from_utf8(rx.recv_timeout(Duration::from_secs(5)).unwrap()).unwrap();
        assert!(
            sent.starts_with("PUT /e HTTP/1.1\r\n")
                && sent.contains("\r\nX-Q: v\r\n")
                && sent.ends_with("\r\n\r\ndata"),
            "{sent}"
        );

        for bad in [
            &[b"GET".as_slice(), b"http://x/"][..],
            &[b"GET", b"http://x/", b"", b"name-only"],
        ] {
            let mut encoded = Vec::new();
            crate::memory::encode_list(bad.iter(), &mut encoded).unwrap();
            let error = request_encoded(&policy_for(addr), &encoded, far()).unwrap_err();
            assert!(matches!(error, HttpError::InvalidRequest { .. }), "{error}");
        }
        let error = request_encoded(&policy_for(addr), b"\x01\x00", far()).unwrap_err();
        assert!(matches!(error, HttpError::InvalidRequest { .. }), "{error}");
    }

    #[test]
    fn host_names_are_resolved() {
        let (addr, _rx) = serve_once(b"HTTP/1.1 204 No Content\r\n\r\n");
        let policy = HttpPolicy {
            allow_hosts: vec!["localhost".into()],
            ..policy_for(addr)
        };
        let url = format!("http://localhost:{}/", addr.port());
        match request(&policy, "DELETE", &url, &[], b"", far()) {
            Ok(response) => assert_eq!((response.status, response.body.len()), (204, 0)),
            // If "localhost" resolves to ::1 first, that address refuses and
            // 127.0.0.1 answers; only a system without "localhost" fails.
            Err(error) => assert!(matches!(error, HttpError::Resolve { .. }), "{error}"),
        }
    }
}
