//! The SDK examples (built from source by `scripts/build-guests.sh` into
//! `target/guests/`) loaded into a running `ferrite`, both as bytes and from
//! a path in the module directory, and called through a real client
//! (issue 5, acceptance point 2). The embedded-runtime tests of the same
//! modules, with more cases each, are in `crates/ferrite-guest-tests`.

mod common;

use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::time::Duration;

use bytes::Bytes;
use common::Ferrite;
use ferrite_protocol::Frame;

fn guests_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/guests")
}

fn guest(file: &str) -> Vec<u8> {
    let path = guests_dir().join(format!("{file}.wasm"));
    std::fs::read(&path).unwrap_or_else(|e| {
        panic!(
            "{}: {e}; run scripts/build-guests.sh first (scripts/test.sh does)",
            path.display()
        )
    })
}

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

fn text(frame: Frame) -> String {
    match frame {
        Frame::Bulk(b) => String::from_utf8(b.to_vec()).unwrap(),
        other => panic!("expected a bulk string, got {other:?}"),
    }
}

fn json(frame: Frame) -> serde_json::Value {
    serde_json::from_str(&text(frame)).unwrap()
}

struct Setup {
    server: Ferrite,
    dir: PathBuf,
}

impl Drop for Setup {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A server whose module directory holds every built guest.
fn setup(tag: &str) -> Setup {
    let dir = std::env::temp_dir().join(format!("ferrite-guests-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let modules = dir.join("modules");
    std::fs::create_dir_all(&modules).unwrap();
    let entries = std::fs::read_dir(guests_dir()).unwrap_or_else(|e| {
        panic!(
            "{}: {e}; run scripts/build-guests.sh first",
            guests_dir().display()
        )
    });
    for entry in entries {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), modules.join(entry.file_name())).unwrap();
    }
    let server = Ferrite::start(&["--dir", dir.to_str().unwrap()]);
    Setup { server, dir }
}

/// A connection with a read timeout long enough for compiling a Go module
/// (megabytes of wasm) in a debug build.
fn connect(s: &Setup) -> TcpStream {
    let c = s.server.raw();
    c.set_read_timeout(Some(Duration::from_secs(120))).unwrap();
    c
}

/// Loads `file` twice: as bytes under `<name>_bytes` and from its path under
/// `<name>_path`.
fn load_both(c: &mut TcpStream, name: &str, file: &str, caps: &[&str]) -> [String; 2] {
    let by_bytes = format!("{name}_bytes");
    let by_path = format!("{name}_path");
    let path = format!("{file}.wasm");
    let bytes = guest(file);
    for (fname, source) in [(&by_bytes, bytes.as_slice()), (&by_path, path.as_bytes())] {
        let mut args: Vec<&[u8]> = vec![b"WASM.LOAD", fname.as_bytes(), source];
        if !caps.is_empty() {
            args.push(b"CAPABILITIES");
            args.extend(caps.iter().map(|c| c.as_bytes()));
        }
        assert_eq!(cmd(c, &args), ok(), "loading {file} as {fname}");
    }
    [by_bytes, by_path]
}

#[test]
fn rate_limiters_of_every_language_through_a_client() {
    let s = setup("rate");
    let mut c = connect(&s);
    let cases: &[(&str, &[&str])] = &[
        ("rate_limit-rust", &["read", "write"]),
        ("rate_limit-rust-wasi", &["read", "write"]),
        ("rate_limit-c", &["read", "write"]),
        ("rate_limit-c-wasi", &["read", "write"]),
        // The Go runtime reads the clock while it starts (sdk/go/README.md).
        ("rate_limit-go", &["read", "write", "time"]),
        ("rate_limit-as", &["read", "write"]),
    ];
    let mut keys = Vec::new();
    for (file, caps) in cases {
        let name = file.replace('-', "_");
        for function in load_both(&mut c, &name, file, caps) {
            // The module's export is `rate_limit`; the function name differs.
            let call = format!("{function}.rate_limit");
            let key = format!("rate:{function}");
            for i in 1..=3 {
                let reply = cmd(
                    &mut c,
                    &[
                        b"WASM.CALL",
                        call.as_bytes(),
                        b"KEYS",
                        key.as_bytes(),
                        b"ARGS",
                        b"3",
                        b"1",
                    ],
                );
                assert_eq!(reply, Frame::Integer(1), "{call}: call {i} admitted");
            }
            let reply = cmd(
                &mut c,
                &[
                    b"WASM.CALL",
                    call.as_bytes(),
                    b"KEYS",
                    key.as_bytes(),
                    b"ARGS",
                    b"3",
                    b"1",
                ],
            );
            assert_eq!(reply, Frame::Integer(0), "{call}: call 4 limited");
            keys.push((call, key));
        }
    }
    // Every window was 1 s: after it, each limiter admits again.
    std::thread::sleep(Duration::from_millis(1300));
    for (call, key) in keys {
        let reply = cmd(
            &mut c,
            &[
                b"WASM.CALL",
                call.as_bytes(),
                b"KEYS",
                key.as_bytes(),
                b"ARGS",
                b"3",
                b"1",
            ],
        );
        assert_eq!(reply, Frame::Integer(1), "{call}: admitted in a new window");
        assert_eq!(text(cmd(&mut c, &[b"GET", key.as_bytes()])), "1");
    }
}

#[test]
fn json_examples_through_a_client() {
    let s = setup("json");
    let mut c = connect(&s);

    // The reference seed's raw `validate`, in Rust and Go.
    for (file, caps) in [("validate-rust", &[][..]), ("validate-go", &["time"][..])] {
        for f in load_both(&mut c, &file.replace('-', "_"), file, caps) {
            let call = format!("{f}.validate");
            let out = json(cmd(
                &mut c,
                &[
                    b"WASM.CALL",
                    call.as_bytes(),
                    br#"{"email": "test@example.com"}"#,
                ],
            ));
            assert_eq!(out, serde_json::json!({"valid": true}), "{call}");
            let out = json(cmd(
                &mut c,
                &[b"WASM.CALL", call.as_bytes(), br#"{"email": "nobody"}"#],
            ));
            assert_eq!(out, serde_json::json!({"valid": false}), "{call}");
        }
    }

    // aggregate_stats over keys matching a pattern.
    for (k, v) in [
        ("stat:a", "10"),
        ("stat:b", "20.5"),
        ("stat:c", "30"),
        ("stat:text", "n/a"),
    ] {
        assert_eq!(cmd(&mut c, &[b"SET", k.as_bytes(), v.as_bytes()]), ok());
    }
    for f in load_both(&mut c, "agg", "aggregate_stats-rust", &["read"]) {
        let call = format!("{f}.aggregate_stats");
        let out = json(cmd(&mut c, &[b"WASM.CALL", call.as_bytes(), b"stat:*"]));
        assert_eq!(out["count"], serde_json::json!(3), "{call}: {out}");
        assert_eq!(out["sum"].as_f64(), Some(60.5), "{call}: {out}");
        let avg = out["avg"].as_f64().unwrap();
        assert!((avg - 60.5 / 3.0).abs() < 1e-9, "{call}: {out}");
    }

    // process_order: premium users get 15 %, and the stored order is updated.
    assert_eq!(
        cmd(
            &mut c,
            &[b"SET", b"user:1", br#"{"id":"1","membership":"premium"}"#]
        ),
        ok()
    );
    let [by_bytes, by_path] = load_both(&mut c, "order", "process_order-rust", &["read", "write"]);
    for (f, key) in [(by_bytes, "order:p1"), (by_path, "order:p2")] {
        assert_eq!(
            cmd(
                &mut c,
                &[
                    b"SET",
                    key.as_bytes(),
                    br#"{"id":"A","user_id":"1","total":200.0}"#
                ]
            ),
            ok()
        );
        let call = format!("{f}.process_order");
        // Positional form: the order names the user key, so the call takes
        // the keyspace at its first access instead of declaring KEYS.
        let reply = json(cmd(
            &mut c,
            &[b"WASM.CALL", call.as_bytes(), key.as_bytes()],
        ));
        assert_eq!(reply["discount"].as_f64(), Some(0.15), "{call}: {reply}");
        assert_eq!(
            reply["final_total"].as_f64(),
            Some(170.0),
            "{call}: {reply}"
        );
        let stored = json(cmd(&mut c, &[b"GET", key.as_bytes()]));
        assert_eq!(stored, reply, "{call}: the stored order is the updated one");
    }
}

#[test]
fn every_example_module_loads_as_bytes_and_from_a_path() {
    let s = setup("all");
    let mut c = connect(&s);
    let mut files: Vec<String> = std::fs::read_dir(guests_dir())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".wasm"))
        .collect();
    files.sort();
    assert!(
        files.len() >= 20,
        "expected every example of every language, found {files:?}"
    );
    for file in &files {
        let stem = file.trim_end_matches(".wasm");
        let name = stem.replace('-', "_");
        let loaded = load_both(
            &mut c,
            &name,
            stem,
            &["read", "write", "time", "random", "log"],
        );
        for f in loaded {
            let info = cmd(&mut c, &[b"WASM.INFO", f.as_bytes()]);
            assert!(matches!(info, Frame::Array(_)), "{f}: {info:?}");
        }
    }

    // A few more calls through the server on top of the ones above.
    let call = "validate_email_rust_path.validate_email";
    for (email, valid) in [("someone@example.com", 1), ("no-at-sign.example.com", 0)] {
        assert_eq!(
            cmd(
                &mut c,
                &[b"WASM.CALL", call.as_bytes(), b"ARGS", email.as_bytes()]
            ),
            Frame::Integer(valid),
            "{email}"
        );
    }
    let call = "sliding_window_rate_limit_rust_bytes.sliding_window_rate_limit";
    for i in 1..=4 {
        let reply = cmd(
            &mut c,
            &[
                b"WASM.CALL",
                call.as_bytes(),
                b"KEYS",
                b"rate:sw",
                b"ARGS",
                b"3",
                b"10000",
            ],
        );
        assert_eq!(
            reply,
            Frame::Integer(i64::from(i <= 3)),
            "sliding window call {i}"
        );
    }
    assert_eq!(cmd(&mut c, &[b"SET", b"doc:1", b"hello world"]), ok());
    for f in ["checksum_c_bytes", "checksum_c_wasi_path"] {
        let call = format!("{f}.checksum");
        assert_eq!(
            cmd(&mut c, &[b"WASM.CALL", call.as_bytes(), b"KEYS", b"doc:1"]),
            Frame::Integer(222_957_957),
            "{call}"
        );
    }
}
