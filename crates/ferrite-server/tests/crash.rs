//! Crash tests of persistence (issue 6, acceptance 1 and 3), through real
//! sockets against a real server process.
//!
//! Every scenario runs against `ferrite` and against Debian's `redis-server`
//! 7.0 with the same harness: Redis passing proves that the harness asks for
//! nothing Redis does not promise.
//!
//! * `crash_*`: 8 writer connections run SET (with and without EX), INCR,
//!   RPUSH, HSET and function calls that write (ferrite: `WASM.CALL` of
//!   `tests/wasm/kit.wat` and `ferrite-wasm/examples/rate_limit.wat`; Redis:
//!   the same logic in Lua through `FCALL`), recording every write they sent
//!   and every write acknowledged. After [`LOAD_TIME`] the server gets SIGKILL
//!   and is restarted on the same directory. Then:
//!   - `appendfsync always`: every acknowledged write is present;
//!   - `appendfsync everysec`: the acknowledged writes that are missing (the
//!     loss, printed) were all acknowledged within the documented window
//!     before the kill ([`everysec_kill_window`]: 0 for ferrite, 2 s for
//!     Redis);
//!   - in both modes nothing that was never sent exists (no unknown key, no
//!     value, element or field that was not sent, counters at most the
//!     increments sent, lists a prefix of the pushes sent);
//!   - keys set with `EX` keep an absolute expiry: their PTTL after the
//!     restart is the original TTL minus the time elapsed since the write
//!     (one second is spent on purpose between the kill and the restart), and
//!     keys whose short PX ran out while the server was down are gone;
//!   - functions loaded before the crash (and one loaded and one unloaded
//!     during the load, and on ferrite a `WASM.UPDATE`) are listed as they
//!     were and callable.
//! * `rewrite_*`: BGREWRITEAOF on a populated keyspace while writers and
//!   readers run: no error reply, every reader sees the right value, the
//!   latency of every request before and during the rewrite is recorded
//!   (p50/p99/max printed), and after a SIGKILL and restart every key
//!   (populated and written during the rewrite) is there with its value.
//!   The CI size is small; the full size is `#[ignore]`d:
//!
//!   ```sh
//!   cargo build --release --bin ferrite
//!   CRASH_FERRITE_BIN=$CARGO_TARGET_DIR/release/ferrite cargo test -p ferrite-server \
//!       --test crash -- --ignored --nocapture --test-threads=1 rewrite_under_load_full
//!   ```
//!
//!   (`CRASH_FERRITE_BIN` picks the ferrite binary; by default the one cargo
//!   built for the tests.)
//!
//! The servers run with `--save ""` (the AOF alone) and
//! `--auto-aof-rewrite-percentage 0` (no rewrite the test did not ask for).

mod common;

use std::collections::{HashMap, HashSet};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::free_port;
use ferrite_protocol::{parse_frame, Frame};
use hdrhistogram::Histogram;

/// How long a server may take to start (and to load its files).
const START_TIMEOUT: Duration = Duration::from_secs(180);
/// How long one reply may take (a loaded 2-core machine, fsync per write).
const REPLY_TIMEOUT: Duration = Duration::from_secs(60);
/// Writer connections of the crash scenarios.
const WRITERS: usize = 8;
/// How long the writers run before the SIGKILL.
const LOAD_TIME: Duration = Duration::from_millis(1500);
/// Time between the SIGKILL and the restart, so that relative TTLs replayed
/// as relative would show.
const DOWN_TIME: Duration = Duration::from_secs(1);
/// The most `appendfsync everysec` may lose to a SIGKILL: writes
/// acknowledged at most this long before the kill.
///
/// * ferrite writes the AOF (`write()`, not fsync) before it replies
///   (docs/persistence.md, "Guarantees per `appendfsync`"): nothing.
/// * Redis postpones the `write()` for up to 2 s while a background fsync is
///   slow, and replies meanwhile (`aof_delayed_fsync`; the AOF section of
///   redis.conf: "you may lose up to 2 seconds of data").
fn everysec_kill_window(target: Target) -> Duration {
    match target {
        Target::Ferrite => Duration::ZERO,
        Target::Redis => Duration::from_secs(2),
    }
}
/// TTL of the `SET ... EX` writes, seconds.
const SET_EX_SECONDS: u64 = 100;
/// TTL the rate limiter function sets on its counter, seconds.
const FN_TTL_SECONDS: u64 = 1000;
/// Slack on PTTL comparisons: the servers' clocks are sampled once per event
/// loop iteration.
const TTL_SLACK_MS: i64 = 250;
/// Keys pre-seeded with a short PX that runs out while the server is down.
const SHORT_PX_MS: u64 = 600;
/// Commands per pipelined batch when populating and verifying.
const BATCH: usize = 1000;

// ---------------------------------------------------------------------------
// Scenarios (one test per target and mode).

#[test]
fn crash_always_redis() {
    crash_scenario(Target::Redis, Fsync::Always);
}

#[test]
fn crash_always_ferrite() {
    crash_scenario(Target::Ferrite, Fsync::Always);
}

#[test]
fn crash_everysec_redis() {
    crash_scenario(Target::Redis, Fsync::Everysec);
}

#[test]
fn crash_everysec_ferrite() {
    crash_scenario(Target::Ferrite, Fsync::Everysec);
}

#[test]
fn rewrite_under_load_redis() {
    rewrite_scenario(Target::Redis, &RewriteSize::ci());
}

#[test]
fn rewrite_under_load_ferrite() {
    rewrite_scenario(Target::Ferrite, &RewriteSize::ci());
}

#[test]
#[ignore = "full size (1M keys, ~1 min); run by hand, see the module doc"]
fn rewrite_under_load_full_redis() {
    rewrite_scenario(Target::Redis, &RewriteSize::full());
}

#[test]
#[ignore = "full size (1M keys, ~1 min); run by hand, see the module doc"]
fn rewrite_under_load_full_ferrite() {
    rewrite_scenario(Target::Ferrite, &RewriteSize::full());
}

// ---------------------------------------------------------------------------
// Servers.

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Target {
    Redis,
    Ferrite,
}

impl Target {
    fn name(self) -> &'static str {
        match self {
            Target::Redis => "redis",
            Target::Ferrite => "ferrite",
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Fsync {
    Always,
    Everysec,
}

impl Fsync {
    fn name(self) -> &'static str {
        match self {
            Fsync::Always => "always",
            Fsync::Everysec => "everysec",
        }
    }
}

/// A server process with the AOF on, on a scratch directory that outlives
/// restarts. Killed when dropped; the directory is removed unless the test
/// failed (its path and the server log are printed then).
struct Server {
    target: Target,
    fsync: Fsync,
    port: u16,
    dir: PathBuf,
    log: PathBuf,
    child: Option<Child>,
}

impl Server {
    fn start(target: Target, fsync: Fsync, tag: &str) -> Server {
        let dir = std::env::temp_dir().join(format!(
            "ferrite-crash-{}-{}-{tag}-{}",
            std::process::id(),
            target.name(),
            fsync.name()
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("create scratch dir");
        let log = dir.join("server.log");
        let mut server = Server {
            target,
            fsync,
            port: 0,
            dir,
            log,
            child: None,
        };
        server.spawn();
        server
    }

    fn args(&self) -> Vec<String> {
        let mut args: Vec<String> = [
            "--port",
            &self.port.to_string(),
            "--bind",
            "127.0.0.1",
            "--dir",
            self.dir.to_str().expect("utf-8 temp dir"),
            "--save",
            "",
            "--appendonly",
            "yes",
            "--appendfsync",
            self.fsync.name(),
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        // No rewrite the test did not ask for.
        args.extend(["--auto-aof-rewrite-percentage", "0"].map(String::from));
        if self.target == Target::Redis {
            args.extend(["--daemonize", "no"].map(String::from));
        }
        args
    }

    /// Starts the process on a fresh port and waits until it answers PING
    /// (not `-LOADING`).
    fn spawn(&mut self) {
        // The free port is free when `free_port` returns, not necessarily
        // when the server binds it: under parallel tests another socket
        // (a client's ephemeral port) can take it in between.
        for attempt in 1..=SPAWN_ATTEMPTS {
            let log_bytes = std::fs::metadata(&self.log).map_or(0, |m| m.len());
            match self.try_spawn() {
                Ok(()) => return,
                Err(status) => {
                    let log = std::fs::read(&self.log).unwrap_or_default();
                    let this_start = log.get(log_bytes as usize..).unwrap_or(&[]);
                    let port_taken =
                        String::from_utf8_lossy(this_start).contains("Address already in use");
                    if !port_taken || attempt == SPAWN_ATTEMPTS {
                        panic!(
                            "{} exited at start-up ({status}); log:\n{}",
                            self.target.name(),
                            self.log_tail()
                        );
                    }
                }
            }
        }
    }

    /// One start on a fresh port: `Err` with the exit status if the
    /// process exited before answering PING.
    fn try_spawn(&mut self) -> Result<(), std::process::ExitStatus> {
        self.port = free_port();
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log)
            .expect("open server log");
        // CRASH_FERRITE_BIN: measure another build (the release binary of
        // scripts/bench-persistence.sh) without building the tests in release.
        let ferrite = std::env::var("CRASH_FERRITE_BIN")
            .unwrap_or_else(|_| env!("CARGO_BIN_EXE_ferrite").to_string());
        let program = match self.target {
            Target::Redis => "redis-server".to_string(),
            Target::Ferrite => ferrite,
        };
        let mut cmd = Command::new(&program);
        cmd.args(self.args())
            .current_dir(&self.dir)
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("dup log"))
            .stderr(log);
        // ferrite refuses FERRITE_* variables it does not know (this
        // harness's own settings, for instance).
        for (key, _) in std::env::vars() {
            if key.starts_with("FERRITE_") {
                cmd.env_remove(key);
            }
        }
        let child = cmd.spawn().unwrap_or_else(|e| {
            panic!("cannot start {program} ({e}); the crash tests need Debian's redis-server")
        });
        self.child = Some(child);
        let deadline = Instant::now() + START_TIMEOUT;
        loop {
            if let Some(status) = self.child.as_mut().unwrap().try_wait().unwrap() {
                self.child = None;
                return Err(status);
            }
            if let Ok(mut conn) = Conn::connect(self.port) {
                match conn.call(&["PING"]) {
                    Ok(Frame::Simple(s)) if s.as_ref() == b"PONG" => return Ok(()),
                    _ => {}
                }
            }
            if Instant::now() > deadline {
                panic!(
                    "{} did not answer PING within {START_TIMEOUT:?}; log:\n{}",
                    self.target.name(),
                    self.log_tail()
                );
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// SIGKILL (`Child::kill` on Unix), then reap.
    fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            child.kill().expect("SIGKILL the server");
            child.wait().expect("reap the server");
        }
    }

    fn restart(&mut self) {
        assert!(self.child.is_none(), "restart after kill");
        self.spawn();
    }

    fn conn(&self) -> Conn {
        Conn::connect(self.port).expect("connect to the server")
    }

    fn log_tail(&self) -> String {
        let text = std::fs::read(&self.log).unwrap_or_default();
        let start = text.len().saturating_sub(4000);
        String::from_utf8_lossy(&text[start..]).into_owned()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill();
        if std::thread::panicking() {
            eprintln!(
                "{} data kept in {}; log tail:\n{}",
                self.target.name(),
                self.dir.display(),
                self.log_tail()
            );
        } else {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

/// Starts of a server before a start-up failure that is not a taken port
/// fails the test.
const SPAWN_ATTEMPTS: u32 = 5;

// ---------------------------------------------------------------------------
// A blocking RESP2 connection whose errors are values (the server dies under
// the writers on purpose).

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

    fn encode<A: AsRef<[u8]>>(out: &mut Vec<u8>, args: &[A]) {
        out.extend_from_slice(format!("*{}\r\n", args.len()).as_bytes());
        for a in args {
            let a = a.as_ref();
            out.extend_from_slice(format!("${}\r\n", a.len()).as_bytes());
            out.extend_from_slice(a);
            out.extend_from_slice(b"\r\n");
        }
    }

    fn read(&mut self) -> std::io::Result<Frame> {
        let mut chunk = [0u8; 64 * 1024];
        loop {
            match parse_frame(&self.buf) {
                Ok(Some((frame, used))) => {
                    self.buf.drain(..used);
                    return Ok(frame);
                }
                Ok(None) => {}
                Err(e) => {
                    return Err(std::io::Error::new(
                        std::io::ErrorKind::InvalidData,
                        format!("bad RESP from the server: {e}"),
                    ))
                }
            }
            let n = self.stream.read(&mut chunk)?;
            if n == 0 {
                return Err(std::io::ErrorKind::UnexpectedEof.into());
            }
            self.buf.extend_from_slice(&chunk[..n]);
        }
    }

    fn call<A: AsRef<[u8]>>(&mut self, args: &[A]) -> std::io::Result<Frame> {
        let mut req = Vec::new();
        Conn::encode(&mut req, args);
        self.stream.write_all(&req)?;
        self.read()
    }

    /// Sends every command at once and reads every reply.
    fn pipeline(&mut self, cmds: &[Vec<Vec<u8>>]) -> std::io::Result<Vec<Frame>> {
        let mut req = Vec::new();
        for c in cmds {
            Conn::encode(&mut req, c);
        }
        self.stream.write_all(&req)?;
        cmds.iter().map(|_| self.read()).collect()
    }

    /// `call` for setup and verification: an I/O error is a test failure.
    #[track_caller]
    fn must<A: AsRef<[u8]>>(&mut self, args: &[A]) -> Frame {
        self.call(args).expect("server reply")
    }

    /// The fields of `INFO section`.
    fn info(&mut self, section: &str) -> HashMap<String, String> {
        let Frame::Bulk(text) = self.must(&["INFO", section]) else {
            panic!("INFO {section} is not a bulk string")
        };
        String::from_utf8_lossy(&text)
            .lines()
            .filter(|l| !l.starts_with('#'))
            .filter_map(|l| l.split_once(':'))
            .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
            .collect()
    }
}

fn cmd(parts: &[&str]) -> Vec<Vec<u8>> {
    parts.iter().map(|p| p.as_bytes().to_vec()).collect()
}

fn bulk(s: &str) -> Frame {
    Frame::Bulk(s.as_bytes().to_vec().into())
}

fn ok() -> Frame {
    Frame::Simple(b"OK".to_vec().into())
}

/// Runs `cmds` in pipelined batches.
fn pipelined(conn: &mut Conn, cmds: &[Vec<Vec<u8>>]) -> Vec<Frame> {
    let mut out = Vec::with_capacity(cmds.len());
    for chunk in cmds.chunks(BATCH) {
        out.extend(conn.pipeline(chunk).expect("pipelined replies"));
    }
    out
}

/// Every key of db 0, through SCAN.
fn all_keys(conn: &mut Conn) -> Vec<String> {
    let mut keys = Vec::new();
    let mut cursor = "0".to_string();
    loop {
        let reply = conn.must(&["SCAN", &cursor, "COUNT", "1000"]);
        let Frame::Array(mut parts) = reply else {
            panic!("SCAN reply {reply:?}")
        };
        let Some(Frame::Array(batch)) = parts.pop() else {
            panic!("SCAN keys")
        };
        let Some(Frame::Bulk(next)) = parts.pop() else {
            panic!("SCAN cursor")
        };
        for k in batch {
            let Frame::Bulk(k) = k else {
                panic!("SCAN key {k:?}")
            };
            keys.push(String::from_utf8_lossy(&k).into_owned());
        }
        cursor = String::from_utf8_lossy(&next).into_owned();
        if cursor == "0" {
            return keys;
        }
    }
}

// ---------------------------------------------------------------------------
// Functions: ferrite's WASM modules and their Lua twins on Redis.

const KIT_WAT: &str = include_str!("wasm/kit.wat");
const RATE_LIMIT_WAT: &str = include_str!("../../ferrite-wasm/examples/rate_limit.wat");

/// A "kit" library named `name` whose `set2` does `SET k1 x; SET k2 y`.
fn load_kit(target: Target, name: &str) -> Vec<Vec<u8>> {
    match target {
        Target::Ferrite => vec![
            b"WASM.LOAD".to_vec(),
            name.as_bytes().to_vec(),
            wat::parse_str(KIT_WAT).expect("kit.wat"),
            b"CAPABILITIES".to_vec(),
            b"read".to_vec(),
            b"write".to_vec(),
        ],
        Target::Redis => cmd(&[
            "FUNCTION",
            "LOAD",
            &format!(
                "#!lua name={name}\nredis.register_function('{name}_set2', function(keys, args) \
                 redis.call('SET', keys[1], 'x') redis.call('SET', keys[2], 'y') return 1 end)"
            ),
        ]),
    }
}

/// The rate limiter `rl`: GET, INCR, EXPIRE window on the first hit.
fn load_rl(target: Target) -> Vec<Vec<u8>> {
    match target {
        Target::Ferrite => vec![
            b"WASM.LOAD".to_vec(),
            b"rl".to_vec(),
            wat::parse_str(RATE_LIMIT_WAT).expect("rate_limit.wat"),
            b"CAPABILITIES".to_vec(),
            b"read".to_vec(),
            b"write".to_vec(),
        ],
        Target::Redis => cmd(&[
            "FUNCTION",
            "LOAD",
            "#!lua name=rl\nredis.register_function('rl', function(keys, args) \
             local n = tonumber(redis.call('GET', keys[1]) or '0') \
             if n >= tonumber(args[1]) then return 0 end \
             if redis.call('INCR', keys[1]) == 1 then redis.call('EXPIRE', keys[1], args[2]) end \
             return 1 end)",
        ]),
    }
}

fn call_set2(target: Target, lib: &str, a: &str, b: &str) -> Vec<Vec<u8>> {
    match target {
        Target::Ferrite => cmd(&["WASM.CALL", &format!("{lib}.set2"), "KEYS", a, b]),
        Target::Redis => cmd(&["FCALL", &format!("{lib}_set2"), "2", a, b]),
    }
}

fn call_rl(target: Target, key: &str) -> Vec<Vec<u8>> {
    let limit = "1000000000";
    let window = FN_TTL_SECONDS.to_string();
    match target {
        Target::Ferrite => cmd(&["WASM.CALL", "rl", "KEYS", key, "ARGS", limit, &window]),
        Target::Redis => cmd(&["FCALL", "rl", "1", key, limit, &window]),
    }
}

fn unload(target: Target, name: &str) -> Vec<Vec<u8>> {
    match target {
        Target::Ferrite => cmd(&["WASM.UNLOAD", name]),
        Target::Redis => cmd(&["FUNCTION", "DELETE", name]),
    }
}

/// The loaded libraries (ferrite: WASM.LIST; Redis: FUNCTION LIST's
/// library names), sorted.
fn list_functions(target: Target, conn: &mut Conn) -> Vec<String> {
    let names = |f: &Frame| match f {
        Frame::Bulk(b) => String::from_utf8_lossy(b).into_owned(),
        other => panic!("not a name: {other:?}"),
    };
    let mut out: Vec<String> = match target {
        Target::Ferrite => match conn.must(&["WASM.LIST"]) {
            Frame::Array(items) => items.iter().map(names).collect(),
            other => panic!("WASM.LIST: {other:?}"),
        },
        Target::Redis => match conn.must(&["FUNCTION", "LIST"]) {
            Frame::Array(libs) => libs
                .iter()
                .map(|lib| {
                    let Frame::Array(fields) = lib else {
                        panic!("FUNCTION LIST entry {lib:?}")
                    };
                    let at = fields
                        .iter()
                        .position(|f| *f == bulk("library_name"))
                        .expect("library_name");
                    names(&fields[at + 1])
                })
                .collect(),
            other => panic!("FUNCTION LIST: {other:?}"),
        },
    };
    out.sort();
    out
}

// ---------------------------------------------------------------------------
// The crash scenario.

/// One write a writer sent.
#[derive(Clone, Debug)]
enum Op {
    Set {
        key: String,
        value: String,
        ex: bool,
    },
    Incr {
        key: String,
    },
    Push {
        key: String,
        elem: String,
    },
    HSet {
        key: String,
        field: String,
        value: String,
    },
    /// `set2(a, b)`: SET a x, SET b y, through a function.
    FnSet2 {
        a: String,
        b: String,
    },
    /// `rl(key)`: INCR key (EXPIRE on the first), through a function.
    FnIncr {
        key: String,
    },
}

#[derive(Debug)]
struct Record {
    op: Op,
    sent: Instant,
    /// None: sent (maybe), never acknowledged (the server died).
    acked: Option<Instant>,
}

/// What one writer did.
#[derive(Default)]
struct Ledger {
    records: Vec<Record>,
    /// Replies that were not what the command must answer.
    errors: Vec<String>,
}

fn writer(target: Target, port: u16, w: usize, stop: Arc<AtomicBool>) -> Ledger {
    let mut ledger = Ledger::default();
    let mut conn = match Conn::connect(port) {
        Ok(c) => c,
        Err(e) => {
            ledger.errors.push(format!("writer {w}: connect: {e}"));
            return ledger;
        }
    };
    // Per-key counts, to check INCR/RPUSH replies as they come.
    let mut counts: HashMap<String, i64> = HashMap::new();
    let mut i = 0usize;
    while !stop.load(Ordering::Relaxed) {
        let slot = i / 8;
        let op = match i % 8 {
            0 | 7 => Op::Set {
                key: format!("w{w}:s:{i}"),
                value: format!("v{w}:{i}"),
                ex: false,
            },
            1 => Op::Set {
                key: format!("w{w}:t:{i}"),
                value: format!("t{w}:{i}"),
                ex: true,
            },
            2 => Op::Incr {
                key: format!("w{w}:c:{}", slot % 16),
            },
            3 => Op::Push {
                key: format!("w{w}:l:{}", slot % 4),
                elem: format!("e{i}"),
            },
            4 => Op::HSet {
                key: format!("w{w}:h:{}", slot % 8),
                field: format!("f{i}"),
                value: format!("h{i}"),
            },
            5 => Op::FnSet2 {
                a: format!("w{w}:fa:{i}"),
                b: format!("w{w}:fb:{i}"),
            },
            _ => Op::FnIncr {
                key: format!("w{w}:fc:{}", slot % 4),
            },
        };
        i += 1;
        let args = match &op {
            Op::Set { key, value, ex } => {
                let mut c = cmd(&["SET", key, value]);
                if *ex {
                    c.extend(cmd(&["EX", &SET_EX_SECONDS.to_string()]));
                }
                c
            }
            Op::Incr { key } => cmd(&["INCR", key]),
            Op::Push { key, elem } => cmd(&["RPUSH", key, elem]),
            Op::HSet { key, field, value } => cmd(&["HSET", key, field, value]),
            Op::FnSet2 { a, b } => call_set2(target, "kit", a, b),
            Op::FnIncr { key } => call_rl(target, key),
        };
        let sent = Instant::now();
        ledger.records.push(Record {
            op: op.clone(),
            sent,
            acked: None,
        });
        let reply = match conn.call(&args) {
            Ok(reply) => reply,
            // The server was killed: this write is in flight forever.
            Err(_) => break,
        };
        let expected = match &op {
            Op::Set { .. } => ok(),
            Op::Incr { key } | Op::Push { key, .. } => {
                let n = counts.entry(key.clone()).or_default();
                *n += 1;
                Frame::Integer(*n)
            }
            Op::HSet { .. } | Op::FnSet2 { .. } | Op::FnIncr { .. } => Frame::Integer(1),
        };
        if reply != expected {
            ledger.errors.push(format!(
                "writer {w}: {op:?} answered {reply:?}, expected {expected:?}"
            ));
            break;
        }
        ledger.records.last_mut().unwrap().acked = Some(Instant::now());
    }
    ledger
}

/// One key's expected state, from the ledgers.
#[derive(Default)]
struct Expected {
    /// key -> (value, ex, sent, acked)
    strings: HashMap<String, (String, bool, Instant, Option<Instant>)>,
    /// key -> the ack time of each increment sent, in order
    counters: HashMap<String, Vec<Option<Instant>>>,
    /// counters written through the function (they carry FN_TTL_SECONDS)
    fn_counters: HashSet<String>,
    /// key -> (element, ack time) in push order
    lists: HashMap<String, Vec<(String, Option<Instant>)>>,
    /// key -> field -> (value, ack time)
    hashes: HashMap<String, HashMap<String, (String, Option<Instant>)>>,
}

impl Expected {
    fn from(ledgers: &[Ledger]) -> Expected {
        let mut e = Expected::default();
        for r in ledgers.iter().flat_map(|l| &l.records) {
            match &r.op {
                Op::Set { key, value, ex } => {
                    e.strings
                        .insert(key.clone(), (value.clone(), *ex, r.sent, r.acked));
                }
                Op::FnSet2 { a, b } => {
                    e.strings
                        .insert(a.clone(), ("x".into(), false, r.sent, r.acked));
                    e.strings
                        .insert(b.clone(), ("y".into(), false, r.sent, r.acked));
                }
                Op::Incr { key } => e.counters.entry(key.clone()).or_default().push(r.acked),
                Op::FnIncr { key } => {
                    e.counters.entry(key.clone()).or_default().push(r.acked);
                    e.fn_counters.insert(key.clone());
                }
                Op::Push { key, elem } => e
                    .lists
                    .entry(key.clone())
                    .or_default()
                    .push((elem.clone(), r.acked)),
                Op::HSet { key, field, value } => {
                    e.hashes
                        .entry(key.clone())
                        .or_default()
                        .insert(field.clone(), (value.clone(), r.acked));
                }
            }
        }
        e
    }

    fn contains(&self, key: &str) -> bool {
        self.strings.contains_key(key)
            || self.counters.contains_key(key)
            || self.lists.contains_key(key)
            || self.hashes.contains_key(key)
    }
}

/// What the verification found.
#[derive(Default)]
struct Verdict {
    acked: usize,
    /// Acknowledged writes missing after the restart, with their ack times.
    missing: Vec<(String, Instant)>,
    /// Data that was never sent, or is not what was sent.
    wrong: Vec<String>,
}

impl Verdict {
    fn lost(&mut self, what: String, acked: Instant) {
        self.missing.push((what, acked));
    }
}

fn int_of(frame: &Frame) -> Option<i64> {
    match frame {
        Frame::Bulk(b) => std::str::from_utf8(b).ok()?.parse().ok(),
        Frame::Integer(n) => Some(*n),
        _ => None,
    }
}

fn text_of(frame: &Frame) -> Option<String> {
    match frame {
        Frame::Bulk(b) => Some(String::from_utf8_lossy(b).into_owned()),
        _ => None,
    }
}

/// Checks the restarted server against what the writers sent and got.
fn verify(conn: &mut Conn, e: &Expected) -> Verdict {
    let mut v = Verdict::default();

    // Strings (SET, SET EX, function SETs): acked present with their value,
    // never a value that was not sent; EX keys expire at an absolute time.
    let keys: Vec<&String> = e.strings.keys().collect();
    let gets: Vec<Vec<Vec<u8>>> = keys.iter().map(|k| cmd(&["GET", k])).collect();
    let values = pipelined(conn, &gets);
    let mut ttl_keys = Vec::new();
    for (k, got) in keys.iter().zip(&values) {
        let (value, ex, sent, acked) = &e.strings[*k];
        v.acked += acked.is_some() as usize;
        match got {
            Frame::Null => {
                if let Some(acked) = acked {
                    v.lost(format!("SET {k}"), *acked);
                }
            }
            Frame::Bulk(b) if b.as_ref() == value.as_bytes() => {
                if *ex {
                    ttl_keys.push((k.to_string(), *sent, acked.unwrap_or(*sent)));
                }
            }
            other => v.wrong.push(format!("GET {k} = {other:?}, sent {value:?}")),
        }
    }
    let pttls: Vec<Vec<Vec<u8>>> = ttl_keys.iter().map(|(k, ..)| cmd(&["PTTL", k])).collect();
    let asked = Instant::now();
    let got = pipelined(conn, &pttls);
    let answered = Instant::now();
    let ttl_ms = (SET_EX_SECONDS * 1000) as i64;
    for ((k, sent, acked), pttl) in ttl_keys.iter().zip(&got) {
        // Set at some time in [sent, acked], read in [asked, answered].
        let lo = ttl_ms - answered.duration_since(*sent).as_millis() as i64 - TTL_SLACK_MS;
        let hi = ttl_ms - asked.duration_since(*acked).as_millis() as i64 + TTL_SLACK_MS;
        match pttl {
            Frame::Integer(n) if (lo..=hi).contains(n) => {}
            other => v.wrong.push(format!(
                "PTTL {k} = {other:?}, expected {lo}..={hi} (EX {SET_EX_SECONDS} set {} ms before)",
                asked.duration_since(*acked).as_millis()
            )),
        }
    }

    // Counters (INCR, function INCR): between acked and sent increments.
    let keys: Vec<&String> = e.counters.keys().collect();
    let gets: Vec<Vec<Vec<u8>>> = keys.iter().map(|k| cmd(&["GET", k])).collect();
    let values = pipelined(conn, &gets);
    for (k, got) in keys.iter().zip(&values) {
        let incs = &e.counters[*k];
        let acked: Vec<Instant> = incs.iter().flatten().copied().collect();
        v.acked += acked.len();
        let n = match got {
            Frame::Null => 0,
            other => match int_of(other) {
                Some(n) => n,
                None => {
                    v.wrong.push(format!("GET {k} = {other:?}, not a counter"));
                    continue;
                }
            },
        };
        if n < 0 || n as usize > incs.len() {
            v.wrong
                .push(format!("{k} = {n}, only {} INCR sent", incs.len()));
        }
        for (i, t) in acked.iter().enumerate().skip(n.max(0) as usize) {
            v.lost(format!("INCR {k} #{}", i + 1), *t);
        }
    }
    let fn_keys: Vec<&String> = e.fn_counters.iter().collect();
    let ttls: Vec<Vec<Vec<u8>>> = fn_keys.iter().map(|k| cmd(&["TTL", k])).collect();
    for (k, ttl) in fn_keys.iter().zip(pipelined(conn, &ttls)) {
        match ttl {
            Frame::Integer(-2) => {} // never written (or lost: counted above)
            Frame::Integer(n) if n > 0 && n <= FN_TTL_SECONDS as i64 => {}
            other => v.wrong.push(format!(
                "TTL {k} = {other:?}, the function set EXPIRE {FN_TTL_SECONDS}"
            )),
        }
    }

    // Lists: a prefix of the pushes sent, at least the acked ones.
    let keys: Vec<&String> = e.lists.keys().collect();
    let ranges: Vec<Vec<Vec<u8>>> = keys
        .iter()
        .map(|k| cmd(&["LRANGE", k, "0", "-1"]))
        .collect();
    for (k, got) in keys.iter().zip(pipelined(conn, &ranges)) {
        let pushes = &e.lists[*k];
        let Frame::Array(items) = got else {
            v.wrong.push(format!("LRANGE {k} = {got:?}"));
            continue;
        };
        v.acked += pushes.iter().filter(|p| p.1.is_some()).count();
        let sent: Vec<Frame> = pushes.iter().map(|(el, _)| bulk(el)).collect();
        if items.len() > sent.len() || items[..] != sent[..items.len()] {
            v.wrong.push(format!(
                "{k} = {items:?} is not a prefix of the pushes sent {sent:?}"
            ));
            continue;
        }
        for (el, t) in &pushes[items.len()..] {
            if let Some(t) = t {
                v.lost(format!("RPUSH {k} {el}"), *t);
            }
        }
    }

    // Hashes: the acked fields, and only fields that were sent.
    let keys: Vec<&String> = e.hashes.keys().collect();
    let alls: Vec<Vec<Vec<u8>>> = keys.iter().map(|k| cmd(&["HGETALL", k])).collect();
    for (k, got) in keys.iter().zip(pipelined(conn, &alls)) {
        let fields = &e.hashes[*k];
        let Frame::Array(items) = got else {
            v.wrong.push(format!("HGETALL {k} = {got:?}"));
            continue;
        };
        let mut present = HashMap::new();
        for pair in items.chunks(2) {
            let (Some(f), Some(val)) = (text_of(&pair[0]), pair.get(1).and_then(text_of)) else {
                v.wrong.push(format!("HGETALL {k}: {pair:?}"));
                continue;
            };
            present.insert(f, val);
        }
        for (f, val) in &present {
            match fields.get(f) {
                Some((sent, _)) if sent == val => {}
                _ => v
                    .wrong
                    .push(format!("{k} field {f} = {val:?} was never sent")),
            }
        }
        for (f, (_, acked)) in fields {
            if let Some(t) = acked {
                v.acked += 1;
                if !present.contains_key(f) {
                    v.lost(format!("HSET {k} {f}"), *t);
                }
            }
        }
    }
    v
}

fn crash_scenario(target: Target, fsync: Fsync) {
    let mut server = Server::start(target, fsync, "crash");
    let mut c = server.conn();

    // Functions before the load: kit, rl, and `gone` (unloaded during it).
    assert_eq!(c.must(&load_kit(target, "kit")), ok_or_name(target, "kit"));
    assert_eq!(c.must(&load_rl(target)), ok_or_name(target, "rl"));
    assert_eq!(
        c.must(&load_kit(target, "gone")),
        ok_or_name(target, "gone")
    );

    // Keys whose PX runs out while the server is down, and keys with a long
    // EX (their PTTL after the restart is checked with the writers' EX keys).
    let seeded = Instant::now();
    let mut pre = Vec::new();
    for i in 0..50 {
        pre.push(cmd(&[
            "SET",
            &format!("pre:short:{i}"),
            "s",
            "PX",
            &SHORT_PX_MS.to_string(),
        ]));
    }
    assert!(pipelined(&mut c, &pre).iter().all(|r| *r == ok()));
    let mut ledgers_pre = Ledger::default();
    for i in 0..50 {
        let key = format!("pre:long:{i}");
        let sent = Instant::now();
        assert_eq!(
            c.must(&["SET", &key, "l", "EX", &SET_EX_SECONDS.to_string()]),
            ok()
        );
        ledgers_pre.records.push(Record {
            op: Op::Set {
                key,
                value: "l".into(),
                ex: true,
            },
            sent,
            acked: Some(Instant::now()),
        });
    }

    let stop = Arc::new(AtomicBool::new(false));
    let port = server.port;
    let writers: Vec<_> = (0..WRITERS)
        .map(|w| {
            let stop = Arc::clone(&stop);
            std::thread::spawn(move || writer(target, port, w, stop))
        })
        .collect();

    // During the load: a function loaded, one unloaded, one updated.
    std::thread::sleep(LOAD_TIME / 3);
    assert_eq!(
        c.must(&load_kit(target, "kit2")),
        ok_or_name(target, "kit2")
    );
    assert_eq!(c.must(&unload(target, "gone")), ok());
    if target == Target::Ferrite {
        assert_eq!(c.must(&["WASM.UPDATE", "kit", "TIMEOUT", "400ms"]), ok());
    }
    std::thread::sleep(LOAD_TIME * 2 / 3);

    let killed = Instant::now();
    server.kill();
    stop.store(true, Ordering::Relaxed);
    let mut ledgers: Vec<Ledger> = writers
        .into_iter()
        .map(|h| h.join().expect("writer thread"))
        .collect();
    let errors: Vec<&String> = ledgers.iter().flat_map(|l| &l.errors).collect();
    assert!(errors.is_empty(), "wrong replies under load: {errors:?}");
    let acked_total = ledgers
        .iter()
        .flat_map(|l| &l.records)
        .filter(|r| r.acked.is_some())
        .count();
    let in_flight = ledgers
        .iter()
        .flat_map(|l| &l.records)
        .filter(|r| r.acked.is_none())
        .count();
    assert!(
        acked_total >= 100,
        "the writers got only {acked_total} writes acknowledged in {LOAD_TIME:?}"
    );
    ledgers.push(ledgers_pre);

    std::thread::sleep(DOWN_TIME);
    server.restart();
    let restarted = Instant::now();
    let mut c = server.conn();
    let expected = Expected::from(&ledgers);
    let verdict = verify(&mut c, &expected);

    // Nothing that was never sent: every key is one the writers or the
    // set-up wrote (SCAN skips expired keys; the short-PX ones are allowed).
    let unknown: Vec<String> = all_keys(&mut c)
        .into_iter()
        .filter(|k| {
            !expected.contains(k) && !k.starts_with("pre:short:") && !k.starts_with("post:")
        })
        .collect();
    let short_alive: Vec<String> = (0..50)
        .map(|i| format!("pre:short:{i}"))
        .filter(|k| c.must(&["EXISTS", k]) != Frame::Integer(0))
        .collect();

    let window = everysec_kill_window(target);
    let window_start = killed.checked_sub(window).unwrap_or(killed);
    let outside: Vec<&(String, Instant)> = verdict
        .missing
        .iter()
        .filter(|(_, t)| *t < window_start)
        .collect();
    let oldest_ms = verdict
        .missing
        .iter()
        .map(|(_, t)| killed.duration_since(*t).as_millis())
        .max();
    println!(
        "CRASH target={} appendfsync={} acked={} in_flight={} lost_acked={} \
         oldest_lost_ms_before_kill={:?} load_ms={} restart_ms={} seeded_ms_before_kill={}",
        target.name(),
        fsync.name(),
        verdict.acked,
        in_flight,
        verdict.missing.len(),
        oldest_ms,
        LOAD_TIME.as_millis(),
        restarted.duration_since(killed).as_millis(),
        killed.duration_since(seeded).as_millis(),
    );
    assert!(
        verdict.wrong.is_empty(),
        "data that was never sent / wrong: {:#?}",
        verdict.wrong
    );
    assert!(unknown.is_empty(), "keys never written: {unknown:?}");
    assert!(
        short_alive.is_empty(),
        "keys whose PX {SHORT_PX_MS} ms ran out are still there: {short_alive:?}"
    );
    match fsync {
        Fsync::Always => assert!(
            verdict.missing.is_empty(),
            "appendfsync always lost {} acknowledged writes: {:?}",
            verdict.missing.len(),
            verdict
                .missing
                .iter()
                .take(20)
                .map(|m| &m.0)
                .collect::<Vec<_>>()
        ),
        Fsync::Everysec => assert!(
            outside.is_empty(),
            "appendfsync everysec lost {} acknowledged writes older than {window:?} \
             before the kill: {:?}",
            outside.len(),
            outside.iter().take(20).map(|m| &m.0).collect::<Vec<_>>()
        ),
    }

    // Functions: as they were at the crash, and callable.
    let functions = list_functions(target, &mut c);
    assert_eq!(
        functions,
        ["kit", "kit2", "rl"],
        "functions after the restart"
    );
    assert_eq!(
        c.must(&call_set2(target, "kit2", "post:a", "post:b")),
        Frame::Integer(1)
    );
    assert_eq!(c.must(&["GET", "post:b"]), bulk("y"));
    assert_eq!(c.must(&call_rl(target, "post:c")), Frame::Integer(1));
    assert_eq!(c.must(&["GET", "post:c"]), bulk("1"));
    if target == Target::Ferrite {
        let Frame::Array(info) = c.must(&["WASM.INFO", "kit"]) else {
            panic!("WASM.INFO kit")
        };
        let at = info
            .iter()
            .position(|f| *f == bulk("timeout_ms"))
            .expect("timeout_ms");
        assert_eq!(
            info[at + 1],
            Frame::Integer(400),
            "WASM.UPDATE kit after the restart"
        );
    }
}

/// FUNCTION LOAD answers the library name; WASM.LOAD answers OK.
fn ok_or_name(target: Target, name: &str) -> Frame {
    match target {
        Target::Ferrite => ok(),
        Target::Redis => bulk(name),
    }
}

// ---------------------------------------------------------------------------
// BGREWRITEAOF under load.

struct RewriteSize {
    /// Keys populated before the rewrite.
    keys: usize,
    /// Latency window measured before the rewrite.
    before: Duration,
    /// Writer and reader connections.
    writers: usize,
    readers: usize,
}

impl RewriteSize {
    fn ci() -> RewriteSize {
        RewriteSize {
            keys: 50_000,
            before: Duration::from_millis(800),
            writers: 3,
            readers: 2,
        }
    }

    fn full() -> RewriteSize {
        let keys = std::env::var("CRASH_REWRITE_KEYS")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(1_000_000);
        RewriteSize {
            keys,
            before: Duration::from_secs(3),
            writers: 4,
            readers: 4,
        }
    }
}

/// Phases of the rewrite run, as seen when a request is sent.
const PHASE_WARMUP: u8 = 0;
const PHASE_BEFORE: u8 = 1;
const PHASE_DURING: u8 = 2;
const PHASE_AFTER: u8 = 3;
const PHASE_STOP: u8 = 4;

/// What one load client of the rewrite run measured.
struct ClientRun {
    before: Histogram<u64>,
    during: Histogram<u64>,
    errors: Vec<String>,
    /// Writers: the keys acknowledged (`rw:<w>:<i>` = `v<i>`), in order.
    written: usize,
    /// Writers: acknowledged INCRs of `rw:<w>:ctr`.
    incrs: i64,
}

fn histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, 60_000_000, 3).expect("histogram bounds")
}

fn rewrite_client(
    port: u16,
    id: usize,
    writer: bool,
    keys: usize,
    phase: Arc<AtomicU8>,
) -> ClientRun {
    let mut run = ClientRun {
        before: histogram(),
        during: histogram(),
        errors: Vec::new(),
        written: 0,
        incrs: 0,
    };
    let mut conn = match Conn::connect(port) {
        Ok(c) => c,
        Err(e) => {
            run.errors.push(format!("client {id}: connect: {e}"));
            return run;
        }
    };
    let mut i = 0usize;
    let mut x = 0x9E37_79B9_7F4A_7C15u64 ^ id as u64;
    loop {
        let p = phase.load(Ordering::Relaxed);
        if p == PHASE_STOP {
            return run;
        }
        let (args, expected) = if writer {
            if i % 4 == 3 {
                (
                    cmd(&["INCR", &format!("rw:{id}:ctr")]),
                    Frame::Integer(run.incrs + 1),
                )
            } else {
                (
                    cmd(&[
                        "SET",
                        &format!("rw:{id}:{}", run.written),
                        &format!("v{}", run.written),
                    ]),
                    ok(),
                )
            }
        } else {
            // xorshift: a random populated key.
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let k = (x % keys as u64) as usize;
            (cmd(&["GET", &format!("pop:{k}")]), bulk(&pop_value(k)))
        };
        let t = Instant::now();
        let reply = conn.call(&args);
        let us = t.elapsed().as_micros() as u64;
        match reply {
            Ok(r) if r == expected => {}
            Ok(r) => {
                run.errors.push(format!(
                    "client {id}: {args:?} answered {r:?}, expected {expected:?}"
                ));
                return run;
            }
            Err(e) => {
                run.errors.push(format!("client {id}: {e}"));
                return run;
            }
        }
        if writer {
            if i % 4 == 3 {
                run.incrs += 1;
            } else {
                run.written += 1;
            }
        }
        i += 1;
        let h = match p {
            PHASE_BEFORE => &mut run.before,
            PHASE_DURING => &mut run.during,
            _ => continue,
        };
        h.record(us.max(1))
            .expect("latency within the histogram bounds");
    }
}

fn pop_value(k: usize) -> String {
    format!("value-{k:08}-padding-padding")
}

fn fmt_hist(h: &Histogram<u64>) -> String {
    format!(
        "n={} p50={}us p99={}us p99.9={}us max={}us",
        h.len(),
        h.value_at_quantile(0.50),
        h.value_at_quantile(0.99),
        h.value_at_quantile(0.999),
        h.max()
    )
}

/// Waits until no rewrite runs or is scheduled; returns how long it took.
fn wait_rewrite_done(c: &mut Conn, limit: Duration) -> Duration {
    let t = Instant::now();
    loop {
        let info = c.info("persistence");
        // Redis reports both; a server that never defers a rewrite may
        // omit `aof_rewrite_scheduled`.
        let busy = |f: &str| info.get(f).map(|v| v != "0");
        match (
            busy("aof_rewrite_in_progress"),
            busy("aof_rewrite_scheduled").unwrap_or(false),
        ) {
            (Some(false), false) => return t.elapsed(),
            (None, _) => panic!("INFO persistence lacks aof_rewrite_in_progress: {info:?}"),
            _ => {}
        }
        assert!(
            t.elapsed() < limit,
            "the AOF rewrite still runs after {limit:?}"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

fn rewrite_scenario(target: Target, size: &RewriteSize) {
    let mut server = Server::start(target, Fsync::Everysec, &format!("rewrite-{}", size.keys));
    let mut c = server.conn();

    let populate_start = Instant::now();
    let mut batch = Vec::with_capacity(BATCH);
    for k in 0..size.keys {
        batch.push(cmd(&["SET", &format!("pop:{k}"), &pop_value(k)]));
        if batch.len() == BATCH || k + 1 == size.keys {
            let replies = c.pipeline(&batch).expect("populate");
            assert!(replies.iter().all(|r| *r == ok()), "populate replies");
            batch.clear();
        }
    }
    let populated = populate_start.elapsed();
    wait_rewrite_done(&mut c, START_TIMEOUT);

    let phase = Arc::new(AtomicU8::new(PHASE_WARMUP));
    let port = server.port;
    let clients: Vec<_> = (0..size.writers + size.readers)
        .map(|id| {
            let phase = Arc::clone(&phase);
            let writer = id < size.writers;
            let keys = size.keys;
            std::thread::spawn(move || rewrite_client(port, id, writer, keys, phase))
        })
        .collect();

    std::thread::sleep(Duration::from_millis(300));
    phase.store(PHASE_BEFORE, Ordering::Relaxed);
    std::thread::sleep(size.before);
    phase.store(PHASE_DURING, Ordering::Relaxed);
    let started = Instant::now();
    let reply = c.must(&["BGREWRITEAOF"]);
    let replied = started.elapsed();
    assert!(
        matches!(reply, Frame::Simple(_)),
        "BGREWRITEAOF answered {reply:?}"
    );
    wait_rewrite_done(&mut c, START_TIMEOUT);
    let window = started.elapsed();
    phase.store(PHASE_AFTER, Ordering::Relaxed);
    std::thread::sleep(Duration::from_millis(300));
    phase.store(PHASE_STOP, Ordering::Relaxed);
    let runs: Vec<ClientRun> = clients
        .into_iter()
        .map(|h| h.join().expect("client thread"))
        .collect();
    let info = c.info("persistence");
    assert_eq!(
        info.get("aof_last_bgrewrite_status").map(String::as_str),
        Some("ok"),
        "INFO persistence after the rewrite: {info:?}"
    );

    let errors: Vec<&String> = runs.iter().flat_map(|r| &r.errors).collect();
    let mut before = histogram();
    let mut during = histogram();
    for r in &runs {
        before.add(&r.before).unwrap();
        during.add(&r.during).unwrap();
    }
    println!(
        "REWRITE target={} keys={} populate_ms={} bgrewriteaof_reply_us={} window_ms={}\n  \
         before: {}\n  during: {}",
        target.name(),
        size.keys,
        populated.as_millis(),
        replied.as_micros(),
        window.as_millis(),
        fmt_hist(&before),
        fmt_hist(&during),
    );
    assert!(errors.is_empty(), "errors under load: {errors:?}");
    assert!(
        !before.is_empty(),
        "no request completed before the rewrite"
    );
    assert!(
        !during.is_empty(),
        "no request completed during the rewrite"
    );
    // Keeps serving: a rewrite that blocked the clients would make one of
    // their requests wait for most of the window. Asserted for ferrite only:
    // redis-server is the reference here, and its fork can pause it for most
    // of a short window on a loaded 2-core machine (seen in a CI run: 666 ms
    // of 876 ms while the other tests ran); its numbers are printed above.
    if target == Target::Ferrite && window >= Duration::from_millis(500) {
        let max = Duration::from_micros(during.max());
        assert!(
            max < window * 3 / 4,
            "a request waited {max:?} during a rewrite of {window:?}"
        );
    }

    // Let everysec write and sync what it has, then crash and restart.
    std::thread::sleep(Duration::from_millis(1500));
    server.kill();
    server.restart();
    let mut c = server.conn();
    let written: usize = runs.iter().map(|r| r.written).sum();
    let counters = runs.iter().filter(|r| r.incrs > 0).count();
    assert_eq!(
        c.must(&["DBSIZE"]),
        Frame::Integer((size.keys + written + counters) as i64),
        "DBSIZE after the restart"
    );
    let mut lost = Vec::new();
    for (id, r) in runs.iter().enumerate() {
        let gets: Vec<Vec<Vec<u8>>> = (0..r.written)
            .map(|i| cmd(&["GET", &format!("rw:{id}:{i}")]))
            .collect();
        for (i, got) in pipelined(&mut c, &gets).iter().enumerate() {
            if *got != bulk(&format!("v{i}")) {
                lost.push(format!("rw:{id}:{i} = {got:?}"));
            }
        }
        if r.incrs > 0 {
            let got = c.must(&["GET", &format!("rw:{id}:ctr")]);
            if got != bulk(&r.incrs.to_string()) {
                lost.push(format!("rw:{id}:ctr = {got:?}, {} INCR acked", r.incrs));
            }
        }
    }
    let gets: Vec<Vec<Vec<u8>>> = (0..size.keys)
        .map(|k| cmd(&["GET", &format!("pop:{k}")]))
        .collect();
    for (k, got) in pipelined(&mut c, &gets).iter().enumerate() {
        if *got != bulk(&pop_value(k)) {
            lost.push(format!("pop:{k} = {got:?}"));
        }
    }
    assert!(
        lost.is_empty(),
        "{} acknowledged writes lost or wrong after the rewrite and a restart: {:?}",
        lost.len(),
        &lost[..lost.len().min(20)]
    );
}
