//! Differential suite: the same command cases go to a real `redis-server`
//! (Debian, 7.0) and to `ferrite`, and the raw reply bytes must be identical,
//! once under RESP2 and once under RESP3 (HELLO 3).
//!
//! Cases live in `tests/differential/*.txt`, one command per line in
//! redis-cli quoting (split with `ferrite_protocol::split_args`, the parser
//! of inline requests), run in file order on one connection per server.
//! Groups are separated by `FLUSHALL` lines. Syntax of a line:
//!
//! ```text
//! # comment (blank lines are ignored too)
//! SET k v                 the raw reply bytes must be identical
//! sort: SMEMBERS s        compare with the top-level elements sorted
//! sortpairs: HGETALL h    compare with the top-level (key, value) pairs sorted
//!                         (a RESP2 flat array is read as pairs)
//! sortall: SCAN 0         compare with every aggregate sorted, recursively
//! shape: TIME             compare only reply types and aggregate lengths
//! inline: PING "a b"      send the rest of the line as an inline request
//! raw: "*1\r\n$-1\r\n"    send these bytes as they are (one quoted argument);
//!                         compare everything the server sends until it is
//!                         idle for a moment (all replies of a pipeline), and
//!                         whether it closes the connection (the first
//!                         reply is awaited, so each raw case must get one)
//! @2 SET k v              run on a second connection (WATCH tests); the
//!                         prefix comes first: `@2 sort: …`
//! ```
//!
//! After `QUIT` and after `raw:` cases the harness reconnects (and sends
//! HELLO 3 again in the RESP3 pass).
//!
//! `FERRITE_DIFF_TARGET=redis` compares redis-server with a second
//! redis-server instead of ferrite: that validates that every case is
//! deterministic. All mismatches are reported at the end, each with its
//! file, line, command and both replies.

mod common;

use std::fmt::Write as _;
use std::io::{ErrorKind, Read, Write};
use std::net::{Shutdown, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use bytes::Bytes;
use common::free_port;
use ferrite_protocol::{encode_to_vec, parse_frame, split_args, Frame, Protocol};

/// At least this many command cases must exist (issue 2, acceptance 2).
const CASES_MIN: usize = 300;
/// How long a server may take to accept connections.
const STARTUP_TIMEOUT: Duration = Duration::from_secs(20);
/// How long one reply may take.
const REPLY_TIMEOUT: Duration = Duration::from_secs(5);
/// How long to wait for a server to close a connection after a protocol error.
const CLOSE_TIMEOUT: Duration = Duration::from_millis(500);
/// Largest reply accepted.
const REPLY_BYTES_MAX: usize = 64 * 1024 * 1024;
/// A run stops after this many failed replies in a row (timeouts, closed
/// connections), so a hung server fails the test quickly instead of waiting
/// `REPLY_TIMEOUT` for each remaining case.
const FAILED_REPLIES_IN_A_ROW_MAX: usize = 5;
/// The whole run (one protocol) must finish within this time.
const RUN_TIMEOUT: Duration = Duration::from_secs(240);

/// The main suite, `tests/differential/*.txt`, on servers with default settings.
const MAIN: Suite = Suite {
    dir: "differential",
    server_args: &[],
    cases_min: CASES_MIN,
};

/// `tests/differential/requirepass/*.txt` on servers started with
/// `--requirepass secret`: NOAUTH, WRONGPASS, AUTH, HELLO AUTH and the
/// unauthenticated protocol limits. RESP2 only (the harness cannot send
/// HELLO 3 before AUTH; the cases switch protocols themselves).
const REQUIREPASS: Suite = Suite {
    dir: "differential/requirepass",
    server_args: &["--requirepass", "secret"],
    cases_min: 30,
};

#[test]
fn differential_resp2() {
    run(&MAIN, Protocol::Resp2);
}

#[test]
fn differential_resp3() {
    run(&MAIN, Protocol::Resp3);
}

#[test]
fn differential_requirepass_resp2() {
    run(&REQUIREPASS, Protocol::Resp2);
}

/// A directory of case files and how to start both servers for it.
struct Suite {
    /// Relative to `tests/`.
    dir: &'static str,
    /// Extra arguments for both servers (flags both understand).
    server_args: &'static [&'static str],
    /// The fewest command cases the directory must hold.
    cases_min: usize,
}

// ---------------------------------------------------------------------------
// Servers

/// A child server process, killed when dropped.
struct Server {
    name: &'static str,
    port: u16,
    child: Child,
    stderr_path: PathBuf,
    dir: PathBuf,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

impl Server {
    fn redis(tag: &str, extra_args: &[&str]) -> Server {
        let port = free_port();
        let dir = scratch_dir(&format!("redis-{tag}-{port}"));
        let dir_text = dir.to_str().expect("utf-8 temp dir").to_string();
        let port_text = port.to_string();
        let args = [
            "--port",
            port_text.as_str(),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--daemonize",
            "no",
            "--dir",
            dir_text.as_str(),
        ];
        let args: Vec<&str> = args.iter().chain(extra_args).copied().collect();
        Server::spawn("redis", "redis-server", &args, port, dir)
    }

    fn ferrite(tag: &str, extra_args: &[&str]) -> Server {
        let port = free_port();
        let dir = scratch_dir(&format!("ferrite-{tag}-{port}"));
        let dir_text = dir.to_str().expect("utf-8 temp dir").to_string();
        let port_text = port.to_string();
        let args = [
            "--port",
            port_text.as_str(),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            dir_text.as_str(),
        ];
        let args: Vec<&str> = args.iter().chain(extra_args).copied().collect();
        Server::spawn("ferrite", env!("CARGO_BIN_EXE_ferrite"), &args, port, dir)
    }

    fn spawn(name: &'static str, program: &str, args: &[&str], port: u16, dir: PathBuf) -> Server {
        let stderr_path = dir.join("stderr.log");
        let stderr = std::fs::File::create(&stderr_path).expect("create stderr log");
        let child = Command::new(program)
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(stderr)
            .spawn()
            .unwrap_or_else(|error| {
                panic!(
                    "cannot start {program} ({error}); the differential suite needs Debian's \
                     redis-server (scripts/test.sh installs it) and the ferrite binary"
                )
            });
        let mut server = Server {
            name,
            port,
            child,
            stderr_path,
            dir,
        };
        server.wait_ready();
        server
    }

    fn wait_ready(&mut self) {
        let deadline = Instant::now() + STARTUP_TIMEOUT;
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!(
                    "{} exited during startup ({status}); stderr:\n{}",
                    self.name,
                    self.stderr()
                );
            }
            if let Ok(mut conn) = Conn::connect(self.port) {
                if let Ok(reply) = conn.request(&[Bytes::from_static(b"PING")]) {
                    // With requirepass, PING before AUTH is refused: still ready.
                    if reply == b"+PONG\r\n" || reply.starts_with(b"-NOAUTH") {
                        return;
                    }
                }
            }
            if Instant::now() > deadline {
                panic!(
                    "{} did not answer PING on 127.0.0.1:{} within {STARTUP_TIMEOUT:?}; stderr:\n{}",
                    self.name,
                    self.port,
                    self.stderr()
                );
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn stderr(&self) -> String {
        let text = std::fs::read(&self.stderr_path).unwrap_or_default();
        let start = text.len().saturating_sub(4000);
        String::from_utf8_lossy(&text[start..]).into_owned()
    }

    fn is_running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }
}

fn scratch_dir(tag: &str) -> PathBuf {
    let dir =
        std::env::temp_dir().join(format!("ferrite-differential-{}-{tag}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("create scratch dir");
    dir
}

// ---------------------------------------------------------------------------
// Connections

/// One client connection that reads exactly one RESP frame per reply.
struct Conn {
    stream: TcpStream,
    buf: Vec<u8>,
}

impl Conn {
    fn connect(port: u16) -> std::io::Result<Conn> {
        let stream = TcpStream::connect_timeout(&([127, 0, 0, 1], port).into(), REPLY_TIMEOUT)?;
        stream.set_read_timeout(Some(REPLY_TIMEOUT))?;
        stream.set_write_timeout(Some(REPLY_TIMEOUT))?;
        stream.set_nodelay(true)?;
        Ok(Conn {
            stream,
            buf: Vec::new(),
        })
    }

    fn request(&mut self, args: &[Bytes]) -> Result<Vec<u8>, String> {
        self.send_raw(&encode_multibulk(args))?;
        self.read_reply()
    }

    fn send_raw(&mut self, bytes: &[u8]) -> Result<(), String> {
        self.stream
            .write_all(bytes)
            .map_err(|error| format!("<write failed: {error}>"))
    }

    /// The raw bytes of the next reply frame.
    fn read_reply(&mut self) -> Result<Vec<u8>, String> {
        match self.read_frame()? {
            Received::Frame(frame) => Ok(frame),
            Received::Closed => Err(format!(
                "<connection closed; partial reply: {}>",
                escape(&self.buf)
            )),
        }
    }

    /// The next reply frame, or `Received::Closed` if the server closed the
    /// connection first (received bytes stay in `self.buf`).
    fn read_frame(&mut self) -> Result<Received, String> {
        let deadline = Instant::now() + REPLY_TIMEOUT;
        loop {
            match parse_frame(&self.buf) {
                Ok(Some((_, used))) => {
                    return Ok(Received::Frame(self.buf.drain(..used).collect()))
                }
                Ok(None) => {}
                Err(error) => {
                    return Err(format!("<invalid RESP: {error}: {}>", escape(&self.buf)));
                }
            }
            if self.buf.len() > REPLY_BYTES_MAX {
                return Err("<reply too large>".into());
            }
            if Instant::now() > deadline {
                return Err(format!("<timeout; partial reply: {}>", escape(&self.buf)));
            }
            let mut chunk = [0u8; 16 * 1024];
            match self.stream.read(&mut chunk) {
                Ok(0) => return Ok(Received::Closed),
                Ok(len) => self.buf.extend_from_slice(&chunk[..len]),
                Err(error)
                    if matches!(error.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) =>
                {
                    return Err(format!("<timeout; partial reply: {}>", escape(&self.buf)));
                }
                Err(error) if error.kind() == ErrorKind::Interrupted => {}
                Err(error) => return Err(format!("<read failed: {error}>")),
            }
        }
    }

    /// Everything the server sends until it closes the connection or stays
    /// silent for `CLOSE_TIMEOUT`, and whether it closed the connection.
    /// The first reply may take up to `REPLY_TIMEOUT` (a loaded machine).
    fn read_until_idle(&mut self) -> (Result<Vec<u8>, String>, bool) {
        let mut bytes = match self.read_frame() {
            Ok(Received::Frame(first)) => first,
            Ok(Received::Closed) => return (Ok(std::mem::take(&mut self.buf)), true),
            Err(error) => return (Err(error), false),
        };
        bytes.append(&mut self.buf);
        let _ = self.stream.set_read_timeout(Some(CLOSE_TIMEOUT));
        let mut chunk = [0u8; 16 * 1024];
        let closed = loop {
            if bytes.len() > REPLY_BYTES_MAX {
                return (Err("<reply too large>".into()), false);
            }
            match self.stream.read(&mut chunk) {
                Ok(0) => break true,
                Ok(len) => bytes.extend_from_slice(&chunk[..len]),
                Err(error)
                    if matches!(error.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) =>
                {
                    break false;
                }
                Err(error) if error.kind() == ErrorKind::Interrupted => {}
                Err(_) => break true,
            }
        };
        let _ = self.stream.set_read_timeout(Some(REPLY_TIMEOUT));
        (Ok(bytes), closed)
    }
}

/// What [`Conn::read_frame`] received.
enum Received {
    Frame(Vec<u8>),
    Closed,
}

impl Drop for Conn {
    fn drop(&mut self) {
        let _ = self.stream.shutdown(Shutdown::Both);
    }
}

fn encode_multibulk(args: &[Bytes]) -> Vec<u8> {
    let mut out = format!("*{}\r\n", args.len()).into_bytes();
    for arg in args {
        out.extend_from_slice(format!("${}\r\n", arg.len()).as_bytes());
        out.extend_from_slice(arg);
        out.extend_from_slice(b"\r\n");
    }
    out
}

/// A server under test and its connections (main, and `@2`).
struct Side {
    server: Server,
    protocol: Protocol,
    conns: [Option<Conn>; 2],
}

impl Side {
    fn new(server: Server, protocol: Protocol) -> Side {
        Side {
            server,
            protocol,
            conns: [None, None],
        }
    }

    /// The connection `index`, (re)connected and switched to the protocol
    /// of the pass; the HELLO reply is returned when a connection is made.
    fn conn(&mut self, index: usize) -> Result<(&mut Conn, Option<Vec<u8>>), String> {
        let mut hello = None;
        if self.conns[index].is_none() {
            if !self.server.is_running() {
                return Err(format!("<{} is not running>", self.server.name));
            }
            let mut conn = Conn::connect(self.server.port)
                .map_err(|error| format!("<connect failed: {error}>"))?;
            if self.protocol == Protocol::Resp3 {
                hello =
                    Some(conn.request(&[Bytes::from_static(b"HELLO"), Bytes::from_static(b"3")])?);
            }
            self.conns[index] = Some(conn);
        }
        let conn = self.conns[index].as_mut().expect("connected above");
        Ok((conn, hello))
    }

    fn run(&mut self, case: &Case) -> Outcome {
        let (conn, _) = match self.conn(case.connection) {
            Ok(conn) => conn,
            Err(error) => {
                return Outcome {
                    reply: Err(error),
                    closed: None,
                }
            }
        };
        let outcome = match &case.send {
            Send::Args(args) => {
                let reply = conn.request(args);
                Outcome {
                    reply,
                    closed: None,
                }
            }
            Send::Raw(bytes) => match conn.send_raw(bytes) {
                Ok(()) => {
                    let (reply, closed) = conn.read_until_idle();
                    Outcome {
                        reply,
                        closed: Some(closed),
                    }
                }
                Err(error) => Outcome {
                    reply: Err(error),
                    closed: None,
                },
            },
        };
        let reconnect = outcome.reply.is_err()
            || matches!(case.send, Send::Raw(_))
            || case
                .args_name()
                .is_some_and(|name| name.eq_ignore_ascii_case(b"QUIT"));
        if reconnect {
            self.conns[case.connection] = None;
        }
        outcome
    }
}

struct Outcome {
    reply: Result<Vec<u8>, String>,
    /// For `raw:` cases: whether the server closed the connection afterwards.
    closed: Option<bool>,
}

// ---------------------------------------------------------------------------
// Cases

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Compare {
    Exact,
    Sort,
    SortPairs,
    SortAll,
    Shape,
}

enum Send {
    Args(Vec<Bytes>),
    Raw(Vec<u8>),
}

struct Case {
    file: String,
    line_no: usize,
    text: String,
    connection: usize,
    compare: Compare,
    send: Send,
}

impl Case {
    fn args_name(&self) -> Option<&[u8]> {
        match &self.send {
            Send::Args(args) => args.first().map(|arg| &arg[..]),
            Send::Raw(_) => None,
        }
    }
}

fn cases_dir(suite: &Suite) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests")
        .join(suite.dir)
}

fn load_cases(suite: &Suite) -> Vec<Case> {
    let dir = cases_dir(suite);
    let mut paths: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|error| panic!("{}: {error}", dir.display()))
        .map(|entry| entry.expect("directory entry").path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "txt"))
        .collect();
    paths.sort();
    assert!(!paths.is_empty(), "no case files in {}", dir.display());
    let mut cases = Vec::new();
    for path in paths {
        let file = path
            .file_name()
            .expect("file name")
            .to_string_lossy()
            .into_owned();
        let text = std::fs::read(&path).expect("read case file");
        for (index, line) in text.split(|&byte| byte == b'\n').enumerate() {
            let line = line.strip_suffix(b"\r").unwrap_or(line);
            let trimmed = trim(line);
            if trimmed.is_empty() || trimmed.starts_with(b"#") {
                continue;
            }
            cases.push(parse_case(&file, index + 1, trimmed));
        }
    }
    cases
}

fn trim(line: &[u8]) -> &[u8] {
    let start = line
        .iter()
        .position(|byte| !byte.is_ascii_whitespace())
        .unwrap_or(line.len());
    let end = line
        .iter()
        .rposition(|byte| !byte.is_ascii_whitespace())
        .map_or(start, |end| end + 1);
    &line[start..end]
}

fn parse_case(file: &str, line_no: usize, line: &[u8]) -> Case {
    let location = format!("{file}:{line_no}");
    let text = String::from_utf8_lossy(line).into_owned();
    let mut rest = line;
    let mut connection = 0;
    if let Some(after) = rest.strip_prefix(b"@2 ") {
        connection = 1;
        rest = trim(after);
    }
    let mut compare = Compare::Exact;
    let mut raw = false;
    let mut inline = false;
    for (prefix, kind) in [
        (&b"sort:"[..], Compare::Sort),
        (b"sortpairs:", Compare::SortPairs),
        (b"sortall:", Compare::SortAll),
        (b"shape:", Compare::Shape),
    ] {
        if let Some(after) = rest.strip_prefix(prefix) {
            compare = kind;
            rest = trim(after);
        }
    }
    if let Some(after) = rest.strip_prefix(b"raw:") {
        raw = true;
        rest = trim(after);
    } else if let Some(after) = rest.strip_prefix(b"inline:") {
        inline = true;
        rest = trim(after);
    }
    let args = split_args(rest).unwrap_or_else(|error| panic!("{location}: {error}"));
    assert!(!args.is_empty(), "{location}: empty command");
    let send = if raw {
        assert_eq!(args.len(), 1, "{location}: raw: takes one quoted argument");
        Send::Raw(args[0].to_vec())
    } else if inline {
        let mut bytes = rest.to_vec();
        bytes.extend_from_slice(b"\r\n");
        Send::Raw(bytes)
    } else {
        Send::Args(args)
    };
    Case {
        file: file.to_string(),
        line_no,
        text,
        connection,
        compare,
        send,
    }
}

// ---------------------------------------------------------------------------
// Comparison

/// The reply as compared: raw bytes, or re-encoded after normalisation.
fn normalise(reply: &[u8], compare: Compare, protocol: Protocol) -> Vec<u8> {
    if compare == Compare::Exact {
        return reply.to_vec();
    }
    let Ok(Some((frame, _))) = parse_frame(reply) else {
        return reply.to_vec();
    };
    match compare {
        Compare::Exact => reply.to_vec(),
        Compare::Sort => encode_to_vec(&sort_top(frame, protocol), protocol),
        Compare::SortPairs => encode_to_vec(&sort_pairs(frame, protocol), protocol),
        Compare::SortAll => encode_to_vec(&sort_all(frame, protocol), protocol),
        Compare::Shape => shape(&frame).into_bytes(),
    }
}

fn sort_frames(items: &mut [Frame], protocol: Protocol) {
    items.sort_by_cached_key(|item| encode_to_vec(item, protocol));
}

fn sort_top(frame: Frame, protocol: Protocol) -> Frame {
    match frame {
        Frame::Array(mut items) => {
            sort_frames(&mut items, protocol);
            Frame::Array(items)
        }
        Frame::Set(mut items) => {
            sort_frames(&mut items, protocol);
            Frame::Set(items)
        }
        Frame::Map(mut pairs) => {
            pairs.sort_by_cached_key(|(key, value)| {
                (encode_to_vec(key, protocol), encode_to_vec(value, protocol))
            });
            Frame::Map(pairs)
        }
        other => other,
    }
}

fn sort_pairs(frame: Frame, protocol: Protocol) -> Frame {
    match frame {
        Frame::Array(items) if items.len() % 2 == 0 && !items.iter().any(is_aggregate) => {
            let mut pairs: Vec<Vec<Frame>> = items.chunks(2).map(<[Frame]>::to_vec).collect();
            pairs.sort_by_cached_key(|pair| encode_to_vec(&Frame::Array(pair.clone()), protocol));
            Frame::Array(pairs.into_iter().flatten().collect())
        }
        // RESP3 replies of pairs: a map, or an array of two-element arrays.
        other => sort_top(other, protocol),
    }
}

fn is_aggregate(frame: &Frame) -> bool {
    matches!(
        frame,
        Frame::Array(_) | Frame::Set(_) | Frame::Map(_) | Frame::Push(_)
    )
}

fn sort_all(frame: Frame, protocol: Protocol) -> Frame {
    let frame = match frame {
        Frame::Array(items) => Frame::Array(
            items
                .into_iter()
                .map(|item| sort_all(item, protocol))
                .collect(),
        ),
        Frame::Set(items) => Frame::Set(
            items
                .into_iter()
                .map(|item| sort_all(item, protocol))
                .collect(),
        ),
        Frame::Map(pairs) => Frame::Map(
            pairs
                .into_iter()
                .map(|(key, value)| (sort_all(key, protocol), sort_all(value, protocol)))
                .collect(),
        ),
        other => other,
    };
    sort_top(frame, protocol)
}

/// Types and aggregate lengths only, e.g. `array(2)[bulk, bulk]`.
fn shape(frame: &Frame) -> String {
    let list = |name: &str, items: &mut dyn Iterator<Item = &Frame>| {
        let parts: Vec<String> = items.map(shape).collect();
        format!("{name}({})[{}]", parts.len(), parts.join(", "))
    };
    match frame {
        Frame::Simple(_) => "simple".into(),
        Frame::Error(_) => "error".into(),
        Frame::Integer(_) => "integer".into(),
        Frame::Bulk(_) => "bulk".into(),
        Frame::Null => "null".into(),
        Frame::NullArray => "null-array".into(),
        Frame::Double(_) => "double".into(),
        Frame::Boolean(_) => "boolean".into(),
        Frame::BigNumber(_) => "big-number".into(),
        Frame::Verbatim { .. } => "verbatim".into(),
        Frame::Array(items) => list("array", &mut items.iter()),
        Frame::Set(items) => list("set", &mut items.iter()),
        Frame::Push(items) => list("push", &mut items.iter()),
        Frame::Map(pairs) => list(
            "map",
            &mut pairs.iter().flat_map(|(key, value)| [key, value]),
        ),
    }
}

fn escape(bytes: &[u8]) -> String {
    const SHOWN_MAX: usize = 600;
    let mut out = String::new();
    for &byte in bytes.iter().take(SHOWN_MAX) {
        match byte {
            b'\r' => out.push_str("\\r"),
            b'\n' => out.push_str("\\n"),
            b'\\' => out.push_str("\\\\"),
            0x20..=0x7e => out.push(char::from(byte)),
            _ => {
                let _ = write!(out, "\\x{byte:02x}");
            }
        }
    }
    if bytes.len() > SHOWN_MAX {
        let _ = write!(out, "… ({} bytes)", bytes.len());
    }
    out
}

fn describe(outcome: &Outcome, compare: Compare, protocol: Protocol) -> String {
    let mut text = match &outcome.reply {
        Ok(reply) => escape(&normalise(reply, compare, protocol)),
        Err(error) => error.clone(),
    };
    if let Some(closed) = outcome.closed {
        text.push_str(if closed {
            "  [then closed]"
        } else {
            "  [stays open]"
        });
    }
    text
}

// ---------------------------------------------------------------------------
// The run

fn run(suite: &Suite, protocol: Protocol) {
    let cases = load_cases(suite);
    let commands = cases
        .iter()
        .filter(|case| !case.text.eq_ignore_ascii_case("FLUSHALL"))
        .count();
    assert!(
        commands >= suite.cases_min,
        "{}: only {commands} command cases (at least {} required)",
        suite.dir,
        suite.cases_min
    );

    let tag = match protocol {
        Protocol::Resp2 => "resp2",
        Protocol::Resp3 => "resp3",
    };
    let redis_vs_redis = std::env::var("FERRITE_DIFF_TARGET").is_ok_and(|target| target == "redis");
    let tag = if suite.server_args.is_empty() {
        tag.to_string()
    } else {
        format!("{tag}, {}", suite.server_args.join(" "))
    };
    let file_tag = tag.replace([',', ' '], "-");
    let mut reference = Side::new(Server::redis(&file_tag, suite.server_args), protocol);
    let mut target = Side::new(
        if redis_vs_redis {
            Server::redis(&format!("{file_tag}-b"), suite.server_args)
        } else {
            Server::ferrite(&file_tag, suite.server_args)
        },
        protocol,
    );
    let target_name = if redis_vs_redis { "redis-b" } else { "ferrite" };

    let mut mismatches = Vec::new();

    // The HELLO 3 reply itself (ids and versions differ): shape only.
    if protocol == Protocol::Resp3 {
        let reference_hello = reference
            .conn(0)
            .map(|(_, hello)| hello.unwrap_or_default());
        let target_hello = target.conn(0).map(|(_, hello)| hello.unwrap_or_default());
        let shape_of = |reply: &Result<Vec<u8>, String>| match reply {
            Ok(bytes) => normalise(bytes, Compare::Shape, protocol),
            Err(error) => error.clone().into_bytes(),
        };
        if shape_of(&reference_hello) != shape_of(&target_hello) {
            mismatches.push(format!(
                "(harness) [{tag}] shape: HELLO 3\n    redis:   {}\n    {target_name}: {}",
                escape(&shape_of(&reference_hello)),
                escape(&shape_of(&target_hello)),
            ));
        }
    }

    let run_deadline = Instant::now() + RUN_TIMEOUT;
    let mut failed_in_a_row = 0;
    for (index, case) in cases.iter().enumerate() {
        let stop = if !target.server.is_running() {
            Some(format!(
                "{target_name} is no longer running; stderr:\n{}",
                target.server.stderr()
            ))
        } else if failed_in_a_row >= FAILED_REPLIES_IN_A_ROW_MAX {
            Some(format!(
                "{FAILED_REPLIES_IN_A_ROW_MAX} replies in a row failed"
            ))
        } else if Instant::now() > run_deadline {
            Some(format!("the run took longer than {RUN_TIMEOUT:?}"))
        } else {
            None
        };
        if let Some(reason) = stop {
            mismatches.push(format!(
                "(harness) [{tag}] stopped before {}:{} `{}` ({} of {} cases not run): {reason}",
                case.file,
                case.line_no,
                case.text,
                cases.len() - index,
                cases.len()
            ));
            break;
        }
        let expected = reference.run(case);
        let got = target.run(case);
        failed_in_a_row = if got.reply.is_err() {
            failed_in_a_row + 1
        } else {
            0
        };
        let same = match (&expected.reply, &got.reply) {
            (Ok(expected_reply), Ok(got_reply)) => {
                normalise(expected_reply, case.compare, protocol)
                    == normalise(got_reply, case.compare, protocol)
            }
            _ => false,
        } && expected.closed == got.closed;
        if expected.reply.is_err() {
            mismatches.push(format!(
                "{}:{} [{tag}] `{}`: the reference redis-server failed: {}",
                case.file,
                case.line_no,
                case.text,
                describe(&expected, case.compare, protocol)
            ));
        } else if !same {
            mismatches.push(format!(
                "{}:{} [{tag}] `{}`\n    redis:   {}\n    {target_name}: {}",
                case.file,
                case.line_no,
                case.text,
                describe(&expected, case.compare, protocol),
                describe(&got, case.compare, protocol),
            ));
        }
    }

    if !mismatches.is_empty() {
        panic!(
            "{} of {} cases differ between redis-server and {target_name} under {tag}:\n\n{}\n",
            mismatches.len(),
            cases.len(),
            mismatches.join("\n\n")
        );
    }
}
