//! WASM.* commands through real sockets against the real `ferrite` binary
//! (issue 4's acceptance points). Modules are written in WAT
//! (`tests/wasm/kit.wat`, `crates/ferrite-wasm/examples/rate_limit.wat`).

mod common;

use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use bytes::Bytes;
use common::Ferrite;
use ferrite_protocol::Frame;

const KIT_WAT: &str = include_str!("wasm/kit.wat");
const RATE_LIMIT_WAT: &str = include_str!("../../ferrite-wasm/examples/rate_limit.wat");

fn kit() -> Vec<u8> {
    wat::parse_str(KIT_WAT).expect("kit.wat")
}

fn rate_limit() -> Vec<u8> {
    wat::parse_str(RATE_LIMIT_WAT).expect("rate_limit.wat")
}

/// A fresh data directory per test.
fn temp_dir(tag: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("ferrite-wasm-cmd-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn start(dir: &Path) -> Ferrite {
    Ferrite::start(&["--dir", dir.to_str().unwrap()])
}

/// Sends one command (binary-safe) and returns its reply.
fn cmd(stream: &mut TcpStream, args: &[&[u8]]) -> Frame {
    let mut req = format!("*{}\r\n", args.len()).into_bytes();
    for a in args {
        req.extend_from_slice(format!("${}\r\n", a.len()).as_bytes());
        req.extend_from_slice(a);
        req.extend_from_slice(b"\r\n");
    }
    common::request(stream, &req)
}

fn ok() -> Frame {
    Frame::Simple(Bytes::from_static(b"OK"))
}

fn bulk(s: &str) -> Frame {
    Frame::Bulk(Bytes::copy_from_slice(s.as_bytes()))
}

#[track_caller]
fn assert_error(frame: &Frame, starts_with: &str) {
    match frame {
        Frame::Error(e) => assert!(
            e.starts_with(starts_with.as_bytes()),
            "expected an error starting with {starts_with:?}, got {:?}",
            String::from_utf8_lossy(e)
        ),
        other => panic!("expected an error starting with {starts_with:?}, got {other:?}"),
    }
}

/// The value of `field` in a WASM.INFO / WASM.STATS reply (RESP2: flat array).
fn field(reply: &Frame, name: &str) -> Frame {
    let Frame::Array(items) = reply else {
        panic!("not an array: {reply:?}")
    };
    for pair in items.chunks(2) {
        if pair[0] == bulk(name) {
            return pair[1].clone();
        }
    }
    panic!("no field {name} in {reply:?}")
}

#[test]
fn every_command_and_option() {
    let dir = temp_dir("all");
    let server = start(&dir);
    let mut c = server.raw();
    let kit = kit();

    // LOAD in both seeds' syntaxes; name collisions need REPLACE.
    assert_eq!(
        cmd(
            &mut c,
            &[
                b"WASM.LOAD",
                b"kit",
                &kit,
                b"CAPABILITIES",
                b"read",
                b"write",
                b"log"
            ]
        ),
        ok()
    );
    assert_error(
        &cmd(&mut c, &[b"WASM.LOAD", b"kit", &kit]),
        "ERR function 'kit' already exists",
    );
    assert_eq!(
        cmd(
            &mut c,
            &[
                b"WASM.LOAD",
                b"kit",
                &kit,
                b"REPLACE",
                b"CAPABILITIES",
                b"read",
                b"write",
                b"MEMORY",
                b"10MB",
                b"TIMEOUT",
                b"1000"
            ]
        ),
        ok()
    );
    assert_eq!(
        cmd(
            &mut c,
            &[
                b"WASM.LOAD",
                b"guide",
                &kit,
                b"PERMISSIONS",
                b"user:*",
                b"GET",
                b"SET",
                b"MAX_MEMORY",
                b"16MB",
                b"TIMEOUT",
                b"100ms",
                b"MAX_FUEL",
                b"10000000"
            ]
        ),
        ok()
    );
    assert_eq!(
        cmd(
            &mut c,
            &[
                b"WASM.LOADB",
                b"kitb",
                &kit,
                b"COMMANDS",
                b"GET",
                b"DENY_COMMANDS",
                b"FLUSHALL"
            ]
        ),
        ok()
    );
    assert_error(
        &cmd(&mut c, &[b"WASM.LOADB", b"p", b"kit.wasm"]),
        "ERR WASM.LOADB takes module bytes",
    );
    assert_eq!(
        cmd(&mut c, &[b"WASM.LIST"]),
        Frame::Array(vec![bulk("guide"), bulk("kit"), bulk("kitb")])
    );

    // Malformed option lists get specific errors, and load nothing.
    assert_error(
        &cmd(
            &mut c,
            &[b"WASM.LOAD", b"bad", &kit, b"CAPABILITIES", b"fly"],
        ),
        "ERR unknown capability 'fly'",
    );
    assert_error(
        &cmd(&mut c, &[b"WASM.LOAD", b"bad", &kit, b"TIMEOUT", b"abc"]),
        "ERR invalid timeout 'abc'",
    );
    assert_error(
        &cmd(&mut c, &[b"WASM.LOAD", b"bad", &kit, b"MEMORY", b"10XB"]),
        "ERR invalid memory size '10XB'",
    );
    assert_error(
        &cmd(&mut c, &[b"WASM.LOAD", b"bad", &kit, b"BOGUS"]),
        "ERR syntax error: unknown option 'BOGUS'",
    );
    assert_error(
        &cmd(
            &mut c,
            &[b"WASM.LOAD", b"bad", &kit, b"TIMEOUT", b"1", b"2"],
        ),
        "ERR syntax error: TIMEOUT takes exactly one value",
    );
    assert_error(
        &cmd(
            &mut c,
            &[b"WASM.LOAD", b"bad", &kit, b"COMMANDS", b"NOSUCH"],
        ),
        "ERR unknown command 'NOSUCH'",
    );
    assert_error(
        &cmd(
            &mut c,
            &[b"WASM.LOAD", b"bad", &kit, b"CAPABILITIES", b"http"],
        ),
        "ERR capability 'http' is not allowed",
    );
    assert_error(
        &cmd(&mut c, &[b"WASM.LOAD", b"bad.name", &kit]),
        "ERR invalid function name",
    );
    assert_error(
        &cmd(&mut c, &[b"WASM.LOAD", b"bad", b"\0asm\x01\0\0\0garbage"]),
        "ERR",
    );
    assert_error(
        &cmd(&mut c, &[b"WASM.LOAD", b"bad"]),
        "ERR wrong number of arguments for 'wasm.load' command",
    );
    assert_eq!(
        cmd(&mut c, &[b"WASM.LIST"]),
        Frame::Array(vec![bulk("guide"), bulk("kit"), bulk("kitb")])
    );

    // CALL in both forms; name → export, and name.export for another export.
    assert_eq!(cmd(&mut c, &[b"WASM.CALL", b"kit"]), Frame::Integer(1));
    assert_eq!(
        cmd(&mut c, &[b"WASM.CALL", b"kit.set2", b"KEYS", b"a", b"b"]),
        Frame::Integer(1)
    );
    assert_eq!(cmd(&mut c, &[b"GET", b"a"]), bulk("x"));
    assert_eq!(cmd(&mut c, &[b"GET", b"b"]), bulk("y"));
    assert_eq!(
        cmd(&mut c, &[b"WASM.CALL", b"kit.get0", b"KEYS", b"a"]),
        bulk("x")
    );
    assert_eq!(
        cmd(&mut c, &[b"WASM.CALL", b"kit.get0", b"a"]),
        bulk("x"),
        "positional form"
    );
    assert_eq!(
        cmd(&mut c, &[b"WASM.CALLREAD", b"kit.get0", b"KEYS", b"a"]),
        bulk("x")
    );
    // A missing argument makes the guest trap (its own check): an error reply.
    assert_error(
        &cmd(&mut c, &[b"WASM.CALL", b"kit.set2", b"KEYS", b"a"]),
        "ERR",
    );
    assert_error(&cmd(&mut c, &[b"WASM.CALL", b"nosuch"]), "ERR");
    assert_error(&cmd(&mut c, &[b"WASM.CALL", b"kit.nosuch"]), "ERR");
    // Undeclared keys are refused.
    assert_error(
        &cmd(
            &mut c,
            &[b"WASM.CALL", b"kit.set2", b"KEYS", b"a", b"ARGS", b"b"],
        ),
        "ERR",
    );
    // Key permissions: PERMISSIONS user:* grants only user:* keys.
    assert_eq!(
        cmd(&mut c, &[b"WASM.CALL", b"guide.set0", b"KEYS", b"user:1"]),
        Frame::Integer(1)
    );
    assert_error(
        &cmd(&mut c, &[b"WASM.CALL", b"guide.set0", b"KEYS", b"admin:1"]),
        "NOPERM",
    );
    // COMMANDS GET: SET is refused.
    assert_error(
        &cmd(&mut c, &[b"WASM.CALL", b"kitb.set0", b"KEYS", b"a"]),
        "NOPERM",
    );
    assert_eq!(cmd(&mut c, &[b"GET", b"admin:1"]), Frame::Null);

    // COMMAND GETKEYS routes by the declared keys.
    assert_eq!(
        cmd(
            &mut c,
            &[
                b"COMMAND",
                b"GETKEYS",
                b"WASM.CALL",
                b"kit",
                b"KEYS",
                b"k1",
                b"k2",
                b"ARGS",
                b"1"
            ]
        ),
        Frame::Array(vec![bulk("k1"), bulk("k2")])
    );

    // INFO and STATS carry the seed's fields.
    let info = cmd(&mut c, &[b"WASM.INFO", b"kit"]);
    assert_eq!(field(&info, "name"), bulk("kit"));
    assert_eq!(field(&info, "memory_limit"), bulk("10MB"));
    assert_eq!(field(&info, "timeout_ms"), Frame::Integer(1000));
    assert_eq!(
        field(&info, "capabilities"),
        Frame::Array(vec![bulk("read"), bulk("write")])
    );
    for f in [
        "path",
        "loaded_at",
        "invocations",
        "avg_duration_ms",
        "errors",
    ] {
        field(&info, f);
    }
    let stats = cmd(&mut c, &[b"WASM.STATS", b"kit"]);
    let Frame::Integer(inv) = field(&stats, "invocations") else {
        panic!("{stats:?}")
    };
    assert!(inv >= 7, "{stats:?}");
    for f in [
        "successful",
        "failed",
        "avg_duration_ms",
        "p99_duration_ms",
        "memory_used",
        "last_invocation",
    ] {
        field(&stats, f);
    }
    let all = cmd(&mut c, &[b"WASM.STATS"]);
    assert_eq!(field(&all, "functions"), Frame::Integer(3));
    assert_error(
        &cmd(&mut c, &[b"WASM.INFO", b"nosuch"]),
        "ERR function 'nosuch' not found",
    );

    // UPDATE changes limits and permissions in place.
    assert_eq!(
        cmd(
            &mut c,
            &[
                b"WASM.UPDATE",
                b"kit",
                b"TIMEOUT",
                b"50ms",
                b"CAPABILITIES",
                b"read"
            ]
        ),
        ok()
    );
    let info = cmd(&mut c, &[b"WASM.INFO", b"kit"]);
    assert_eq!(field(&info, "timeout_ms"), Frame::Integer(50));
    assert_eq!(
        field(&info, "memory_limit"),
        bulk("10MB"),
        "options not given keep their value"
    );
    assert_error(
        &cmd(&mut c, &[b"WASM.CALL", b"kit.set0", b"KEYS", b"a"]),
        "NOPERM",
    );
    assert_error(
        &cmd(&mut c, &[b"WASM.UPDATE", b"kit", b"REPLACE"]),
        "ERR syntax error: REPLACE is not valid",
    );
    assert_error(
        &cmd(&mut c, &[b"WASM.UPDATE", b"nosuch", b"TIMEOUT", b"5"]),
        "ERR function 'nosuch' not found",
    );
    assert_error(
        &cmd(&mut c, &[b"WASM.RELOAD", b"kit"]),
        "ERR function 'kit' was loaded from bytes",
    );

    // UNLOAD.
    assert_eq!(cmd(&mut c, &[b"WASM.UNLOAD", b"kitb"]), ok());
    assert_error(
        &cmd(&mut c, &[b"WASM.UNLOAD", b"kitb"]),
        "ERR function 'kitb' not found",
    );
    assert_eq!(
        cmd(&mut c, &[b"WASM.LIST"]),
        Frame::Array(vec![bulk("guide"), bulk("kit")])
    );
    assert_error(&cmd(&mut c, &[b"WASM.CALL", b"kitb"]), "ERR");

    // WASM.* are refused inside MULTI (a call is its own transaction).
    assert_eq!(cmd(&mut c, &[b"MULTI"]), ok());
    assert_error(
        &cmd(&mut c, &[b"WASM.CALL", b"kit"]),
        "ERR Command not allowed inside a transaction",
    );
    assert_eq!(cmd(&mut c, &[b"DISCARD"]), ok());
    drop(server);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn rate_limiter_admits_exactly_the_limit() {
    let dir = temp_dir("rate");
    let server = start(&dir);
    let mut c = server.raw();
    assert_eq!(
        cmd(
            &mut c,
            &[
                b"WASM.LOAD",
                b"rate_limit",
                &rate_limit(),
                b"CAPABILITIES",
                b"read",
                b"write"
            ]
        ),
        ok()
    );
    let port = server.port;
    let threads: Vec<_> = (0..50)
        .map(|_| {
            std::thread::spawn(move || {
                let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
                s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
                let mut allowed = 0;
                for _ in 0..40 {
                    match cmd(
                        &mut s,
                        &[
                            b"WASM.CALL",
                            b"rate_limit",
                            b"KEYS",
                            b"rate:one",
                            b"ARGS",
                            b"1000",
                            b"60",
                        ],
                    ) {
                        Frame::Integer(1) => allowed += 1,
                        Frame::Integer(0) => {}
                        other => panic!("unexpected reply {other:?}"),
                    }
                }
                allowed
            })
        })
        .collect();
    let allowed: i64 = threads.into_iter().map(|t| t.join().unwrap()).sum();
    assert_eq!(
        allowed, 1000,
        "2,000 calls with limit 1,000 must admit exactly 1,000"
    );
    assert_eq!(cmd(&mut c, &[b"GET", b"rate:one"]), bulk("1000"));
    let Frame::Integer(ttl) = cmd(&mut c, &[b"TTL", b"rate:one"]) else {
        panic!()
    };
    assert!(
        (1..=60).contains(&ttl),
        "the window's TTL was set on the first hit: {ttl}"
    );
    drop(server);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn failed_calls_leave_no_partial_writes() {
    let dir = temp_dir("atomic");
    let server = start(&dir);
    let mut c = server.raw();
    let kit = kit();
    assert_eq!(
        cmd(
            &mut c,
            &[
                b"WASM.LOAD",
                b"kit",
                &kit,
                b"CAPABILITIES",
                b"read",
                b"write",
                b"TIMEOUT",
                b"100ms"
            ]
        ),
        ok()
    );
    assert_eq!(
        cmd(
            &mut c,
            &[
                b"WASM.LOAD",
                b"poor",
                &kit,
                b"CAPABILITIES",
                b"read",
                b"write",
                b"MAX_FUEL",
                b"1000"
            ]
        ),
        ok()
    );
    assert_eq!(cmd(&mut c, &[b"SET", b"a", b"orig-a"]), ok());
    assert_eq!(
        cmd(&mut c, &[b"SET", b"b", b"orig-b", b"EX", b"1000"]),
        ok()
    );
    let unchanged = |c: &mut TcpStream| {
        assert_eq!(cmd(c, &[b"GET", b"a"]), bulk("orig-a"));
        assert_eq!(cmd(c, &[b"GET", b"b"]), bulk("orig-b"));
        let Frame::Integer(ttl) = cmd(c, &[b"TTL", b"b"]) else {
            panic!()
        };
        assert!(ttl > 990, "TTL restored too: {ttl}");
        assert_eq!(cmd(c, &[b"TTL", b"a"]), Frame::Integer(-1));
    };
    // Trap after two writes.
    assert_error(
        &cmd(
            &mut c,
            &[b"WASM.CALL", b"kit.set2_trap", b"KEYS", b"a", b"b"],
        ),
        "ERR",
    );
    unchanged(&mut c);
    // Timeout after two writes, within 100 ms (+ slack).
    let t0 = Instant::now();
    assert_error(
        &cmd(
            &mut c,
            &[b"WASM.CALL", b"kit.set2_spin", b"KEYS", b"a", b"b"],
        ),
        "ERR",
    );
    assert!(
        t0.elapsed() < Duration::from_millis(1000),
        "timeout took {:?}",
        t0.elapsed()
    );
    unchanged(&mut c);
    // An error reply from the guest after two writes.
    assert_error(
        &cmd(
            &mut c,
            &[b"WASM.CALL", b"kit.set2_fail", b"KEYS", b"a", b"b"],
        ),
        "INVALID nope",
    );
    unchanged(&mut c);
    // Fuel runs out while spinning after two writes.
    assert_error(
        &cmd(
            &mut c,
            &[b"WASM.CALL", b"poor.set2_spin", b"KEYS", b"a", b"b"],
        ),
        "ERR",
    );
    unchanged(&mut c);
    // The server keeps serving, and a good call still commits.
    assert_eq!(
        cmd(&mut c, &[b"WASM.CALL", b"kit.set2", b"KEYS", b"a", b"b"]),
        Frame::Integer(1)
    );
    assert_eq!(cmd(&mut c, &[b"GET", b"a"]), bulk("x"));
    drop(server);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_busy_function_does_not_stall_other_keys() {
    let dir = temp_dir("stall");
    // The default fuel ceiling (10M) would end a spinning guest in ~20 ms:
    // raise it so that the 2 s wall-clock TIMEOUT is what stops the call.
    let config = dir.join("ferrite.toml");
    std::fs::write(&config, "[wasm.limits]\nmax_fuel = 100000000000\n").unwrap();
    let server = Ferrite::start(&[
        "--dir",
        dir.to_str().unwrap(),
        "--config",
        config.to_str().unwrap(),
    ]);
    let mut c = server.raw();
    assert_eq!(
        cmd(
            &mut c,
            &[
                b"WASM.LOAD",
                b"kit",
                &kit(),
                b"CAPABILITIES",
                b"read",
                b"TIMEOUT",
                b"2s",
                b"MAX_FUEL",
                b"100000000000"
            ]
        ),
        ok()
    );
    assert_eq!(cmd(&mut c, &[b"SET", b"B", b"b"]), ok());
    let port = server.port;
    let busy = std::thread::spawn(move || {
        let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        let t0 = Instant::now();
        let reply = cmd(&mut s, &[b"WASM.CALL", b"kit.hold0_spin", b"KEYS", b"A"]);
        (reply, t0.elapsed())
    });
    std::thread::sleep(Duration::from_millis(100));
    let mut latencies = Vec::new();
    let t0 = Instant::now();
    while t0.elapsed() < Duration::from_millis(1700) {
        let t = Instant::now();
        assert_eq!(cmd(&mut c, &[b"GET", b"B"]), bulk("b"));
        latencies.push(t.elapsed());
    }
    let (reply, busy_for) = busy.join().unwrap();
    assert_error(&reply, "ERR");
    println!("busy call ended after {busy_for:?} with {reply:?}");
    assert!(
        busy_for >= Duration::from_millis(1900),
        "the busy call ran {busy_for:?}"
    );
    latencies.sort();
    let p99 = latencies[latencies.len() * 99 / 100];
    println!(
        "no-stall: {} GETs on key B during a 2 s call on key A: p50 {:?}, p99 {:?}, max {:?}",
        latencies.len(),
        latencies[latencies.len() / 2],
        p99,
        latencies[latencies.len() - 1]
    );
    assert!(
        latencies.len() > 100,
        "only {} GETs in 1.7 s",
        latencies.len()
    );
    assert!(
        p99 < Duration::from_millis(50),
        "p99 {p99:?} (the goal is below 5 ms; 50 ms allows a loaded CI machine)"
    );
    drop(server);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn functions_survive_a_restart() {
    let dir = temp_dir("restart");
    let modules = dir.join("modules");
    std::fs::create_dir_all(&modules).unwrap();
    std::fs::write(modules.join("rate_limit.wasm"), rate_limit()).unwrap();
    let before;
    {
        let server = start(&dir);
        let mut c = server.raw();
        assert_eq!(
            cmd(
                &mut c,
                &[
                    b"WASM.LOAD",
                    b"kit",
                    &kit(),
                    b"CAPABILITIES",
                    b"read",
                    b"write",
                    b"TIMEOUT",
                    b"300ms"
                ]
            ),
            ok()
        );
        assert_eq!(
            cmd(
                &mut c,
                &[
                    b"WASM.LOAD",
                    b"rl",
                    b"rate_limit.wasm",
                    b"CAPABILITIES",
                    b"read",
                    b"write"
                ]
            ),
            ok()
        );
        assert_eq!(
            cmd(&mut c, &[b"WASM.UPDATE", b"kit", b"TIMEOUT", b"400ms"]),
            ok()
        );
        assert_eq!(cmd(&mut c, &[b"WASM.LOAD", b"gone", &kit()]), ok());
        assert_eq!(cmd(&mut c, &[b"WASM.UNLOAD", b"gone"]), ok());
        assert_eq!(
            cmd(
                &mut c,
                &[b"WASM.CALL", b"rl", b"KEYS", b"r", b"ARGS", b"1", b"100"]
            ),
            Frame::Integer(1)
        );
        before = cmd(&mut c, &[b"WASM.LIST"]);
        assert_eq!(before, Frame::Array(vec![bulk("kit"), bulk("rl")]));
        // Killed, not shut down: the catalog is written before each reply.
        drop(server);
    }
    let server = start(&dir);
    let mut c = server.raw();
    assert_eq!(cmd(&mut c, &[b"WASM.LIST"]), before);
    let info = cmd(&mut c, &[b"WASM.INFO", b"kit"]);
    assert_eq!(field(&info, "timeout_ms"), Frame::Integer(400));
    let info = cmd(&mut c, &[b"WASM.INFO", b"rl"]);
    let Frame::Bulk(path) = field(&info, "path") else {
        panic!("{info:?}")
    };
    assert!(path.ends_with(b"modules/rate_limit.wasm"));
    assert_eq!(
        cmd(&mut c, &[b"WASM.CALL", b"kit.set2", b"KEYS", b"a", b"b"]),
        Frame::Integer(1)
    );
    // Keys are not persisted yet (issue 6), so the limiter starts over.
    assert_eq!(
        cmd(
            &mut c,
            &[b"WASM.CALL", b"rl", b"KEYS", b"r", b"ARGS", b"1", b"100"]
        ),
        Frame::Integer(1)
    );
    assert_eq!(
        cmd(
            &mut c,
            &[b"WASM.CALL", b"rl", b"KEYS", b"r", b"ARGS", b"1", b"100"]
        ),
        Frame::Integer(0)
    );
    drop(server);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn paths_are_confined_and_read_only_is_enforced() {
    let dir = temp_dir("confine");
    let modules = dir.join("modules");
    std::fs::create_dir_all(&modules).unwrap();
    std::fs::write(modules.join("kit.wasm"), kit()).unwrap();
    std::fs::write(dir.join("outside.wasm"), kit()).unwrap();
    let server = start(&dir);
    let mut c = server.raw();

    assert_eq!(
        cmd(
            &mut c,
            &[
                b"WASM.LOAD",
                b"k1",
                b"kit.wasm",
                b"CAPABILITIES",
                b"read",
                b"write"
            ]
        ),
        ok()
    );
    assert_error(
        &cmd(&mut c, &[b"WASM.LOAD", b"k2", b"../outside.wasm"]),
        "ERR module path '../outside.wasm' escapes",
    );
    let outside = dir.join("outside.wasm");
    assert_error(
        &cmd(
            &mut c,
            &[b"WASM.LOAD", b"k2", outside.to_str().unwrap().as_bytes()],
        ),
        "ERR module path",
    );
    assert_error(
        &cmd(&mut c, &[b"WASM.LOAD", b"k2", b"/etc/passwd"]),
        "ERR module path '/etc/passwd' is outside",
    );
    assert_error(
        &cmd(&mut c, &[b"WASM.LOAD", b"k2", b"missing.wasm"]),
        "ERR cannot read module",
    );
    assert_eq!(cmd(&mut c, &[b"WASM.LIST"]), Frame::Array(vec![bulk("k1")]));

    // READ_ONLY functions and WASM.CALLREAD cannot write, and nothing changes.
    assert_eq!(cmd(&mut c, &[b"SET", b"a", b"orig"]), ok());
    assert_eq!(
        cmd(
            &mut c,
            &[
                b"WASM.LOAD",
                b"ro",
                &kit(),
                b"PERMISSIONS",
                b"READ_ONLY",
                b"CAPABILITIES",
                b"read",
                b"write"
            ]
        ),
        ok()
    );
    assert_error(
        &cmd(&mut c, &[b"WASM.CALL", b"ro.set0", b"KEYS", b"a"]),
        "NOPERM",
    );
    assert_error(
        &cmd(&mut c, &[b"WASM.CALLREAD", b"k1.set0", b"KEYS", b"a"]),
        "NOPERM",
    );
    assert_error(
        &cmd(&mut c, &[b"WASM.CALLREAD", b"k1.set2", b"KEYS", b"a", b"b"]),
        "NOPERM",
    );
    assert_eq!(cmd(&mut c, &[b"GET", b"a"]), bulk("orig"));
    assert_eq!(cmd(&mut c, &[b"EXISTS", b"b"]), Frame::Integer(0));
    assert_eq!(
        cmd(&mut c, &[b"WASM.CALL", b"ro.get0", b"KEYS", b"a"]),
        bulk("orig")
    );

    // RELOAD re-reads the file: swap kit.wasm for the rate limiter.
    std::fs::write(modules.join("kit.wasm"), rate_limit()).unwrap();
    assert_eq!(cmd(&mut c, &[b"WASM.RELOAD", b"k1"]), ok());
    assert_eq!(
        cmd(
            &mut c,
            &[
                b"WASM.CALL",
                b"k1.rate_limit",
                b"KEYS",
                b"r",
                b"ARGS",
                b"5",
                b"10"
            ]
        ),
        Frame::Integer(1)
    );
    assert_error(
        &cmd(&mut c, &[b"WASM.CALL", b"k1.set0", b"KEYS", b"a"]),
        "ERR",
    );
    // A broken file: RELOAD fails and the old module stays.
    std::fs::write(modules.join("kit.wasm"), b"\0asm broken").unwrap();
    assert_error(&cmd(&mut c, &[b"WASM.RELOAD", b"k1"]), "ERR");
    assert_eq!(
        cmd(
            &mut c,
            &[
                b"WASM.CALL",
                b"k1.rate_limit",
                b"KEYS",
                b"r",
                b"ARGS",
                b"5",
                b"10"
            ]
        ),
        Frame::Integer(1)
    );
    drop(c);
    drop(server);
    // A module over [wasm.limits] max_module_bytes is refused, as bytes or from a path.
    let config = dir.join("small.toml");
    std::fs::write(&config, "[wasm.limits]\nmax_module_bytes = 100\n").unwrap();
    let server = Ferrite::start(&[
        "--dir",
        dir.to_str().unwrap(),
        "--config",
        config.to_str().unwrap(),
    ]);
    let mut c = server.raw();
    assert_error(
        &cmd(&mut c, &[b"WASM.LOAD", b"k2", &kit()]),
        "ERR module is",
    );
    std::fs::write(modules.join("big.wasm"), kit()).unwrap();
    assert_error(
        &cmd(&mut c, &[b"WASM.LOAD", b"k2", b"big.wasm"]),
        "ERR module '",
    );
    drop(server);
    let _ = std::fs::remove_dir_all(&dir);
}
