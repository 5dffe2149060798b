//! Persistence through the real binary and real sockets: the AOF in each
//! fsync mode across SIGKILL, truncation and corruption at start-up,
//! rewrites, snapshots, functions. See docs/persistence.md.

mod common;

use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use bytes::Bytes;
use common::Ferrite;
use ferrite_protocol::Frame;

const KIT_WAT: &str = include_str!("wasm/kit.wat");

/// A fresh data directory per test.
fn temp_dir(tag: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("ferrite-persist-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn args<'a>(dir: &'a Path, extra: &[&'a str]) -> Vec<&'a str> {
    let mut out = vec!["--dir", dir.to_str().unwrap(), "--save", ""];
    out.extend_from_slice(extra);
    out
}

/// Sends one command (binary-safe) and returns its reply.
fn cmd(stream: &mut TcpStream, argv: &[&[u8]]) -> Frame {
    let mut req = format!("*{}\r\n", argv.len()).into_bytes();
    for a in argv {
        req.extend_from_slice(format!("${}\r\n", a.len()).as_bytes());
        req.extend_from_slice(a);
        req.extend_from_slice(b"\r\n");
    }
    common::request(stream, &req)
}

fn c(stream: &mut TcpStream, line: &str) -> Frame {
    let words: Vec<&[u8]> = line.split(' ').map(str::as_bytes).collect();
    cmd(stream, &words)
}

fn ok() -> Frame {
    Frame::Simple(Bytes::from_static(b"OK"))
}

fn bulk(s: &str) -> Frame {
    Frame::Bulk(Bytes::copy_from_slice(s.as_bytes()))
}

fn int(n: i64) -> Frame {
    Frame::Integer(n)
}

fn info_field(stream: &mut TcpStream, name: &str) -> String {
    let reply = c(stream, "INFO persistence");
    let text = String::from_utf8_lossy(reply.as_bytes().expect("INFO reply")).into_owned();
    text.lines()
        .find_map(|l| l.strip_prefix(&format!("{name}:")))
        .unwrap_or_else(|| panic!("no {name} in {text}"))
        .to_owned()
}

/// SIGKILL: no chance to flush anything.
fn kill(server: Ferrite) {
    drop(server); // Drop kills with SIGKILL and waits.
}

fn write_everything(s: &mut TcpStream) {
    assert_eq!(c(s, "SET str hello"), ok());
    assert_eq!(c(s, "RPUSH list a b c"), int(3));
    assert_eq!(c(s, "HSET hash f1 v1 f2 v2"), int(2));
    assert_eq!(c(s, "SADD set x y z"), int(3));
    assert_eq!(c(s, "ZADD zset 1 one 2 two"), int(2));
    assert_eq!(c(s, "SET ttl v EX 1000"), ok());
    assert_eq!(c(s, "INCRBY counter 5"), int(5));
    assert_eq!(c(s, "SELECT 3"), ok());
    assert_eq!(c(s, "SET in3 three"), ok());
    assert_eq!(c(s, "SELECT 0"), ok());
    assert_eq!(c(s, "MULTI"), ok());
    c(s, "INCR counter");
    c(s, "LPUSH list z");
    assert!(matches!(c(s, "EXEC"), Frame::Array(_)));
    assert_eq!(c(s, "DEL hash"), int(1));
    assert_eq!(c(s, "HSET hash f3 v3"), int(1));
}

fn check_everything(s: &mut TcpStream, ttl_before_ms: i64) {
    assert_eq!(c(s, "GET str"), bulk("hello"));
    assert_eq!(
        c(s, "LRANGE list 0 -1"),
        Frame::Array(vec![bulk("z"), bulk("a"), bulk("b"), bulk("c")])
    );
    assert_eq!(c(s, "HGET hash f3"), bulk("v3"));
    assert_eq!(c(s, "HLEN hash"), int(1));
    assert_eq!(c(s, "SCARD set"), int(3));
    assert_eq!(c(s, "ZSCORE zset two"), bulk("2"));
    assert_eq!(c(s, "GET counter"), bulk("6"));
    let Frame::Integer(ttl) = c(s, "PTTL ttl") else {
        panic!("PTTL")
    };
    // Absolute: the restart took time, the TTL did not start again.
    assert!(
        ttl > 0 && ttl <= ttl_before_ms,
        "ttl {ttl} vs {ttl_before_ms}"
    );
    assert_eq!(c(s, "SELECT 3"), ok());
    assert_eq!(c(s, "GET in3"), bulk("three"));
    assert_eq!(c(s, "SELECT 0"), ok());
}

fn incr_files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir.join("appendonlydir"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.to_string_lossy().ends_with(".incr.aof"))
        .collect();
    files.sort();
    files
}

fn round_trip(fsync: &str) {
    let dir = temp_dir(&format!("rt-{fsync}"));
    let a = args(&dir, &["--appendonly", "yes", "--appendfsync", fsync]);
    let server = Ferrite::start(&a);
    let mut s = server.raw();
    write_everything(&mut s);
    let Frame::Integer(ttl_before) = c(&mut s, "PTTL ttl") else {
        panic!()
    };
    kill(server);
    std::thread::sleep(Duration::from_millis(50));
    let server = Ferrite::start(&a);
    let mut s = server.raw();
    check_everything(&mut s, ttl_before);
    assert_eq!(info_field(&mut s, "aof_enabled"), "1");
    assert_eq!(info_field(&mut s, "aof_last_write_status"), "ok");
}

#[test]
fn aof_always_survives_sigkill() {
    round_trip("always");
}

#[test]
fn aof_everysec_survives_sigkill() {
    round_trip("everysec");
}

#[test]
fn aof_no_survives_sigkill() {
    round_trip("no");
}

#[test]
fn manifest_and_files_use_redis_layout() {
    let dir = temp_dir("layout");
    let a = args(&dir, &["--appendonly", "yes"]);
    let server = Ferrite::start(&a);
    let mut s = server.raw();
    assert_eq!(c(&mut s, "SET k v"), ok());
    let manifest =
        std::fs::read_to_string(dir.join("appendonlydir/appendonly.aof.manifest")).unwrap();
    assert_eq!(manifest, "file appendonly.aof.1.incr.aof seq 1 type i\n");
    let incr = std::fs::read(dir.join("appendonlydir/appendonly.aof.1.incr.aof")).unwrap();
    assert_eq!(
        String::from_utf8_lossy(&incr),
        "*2\r\n$6\r\nSELECT\r\n$1\r\n0\r\n*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nv\r\n"
    );
}

#[test]
fn truncated_last_record_loads_with_a_warning_or_refuses() {
    let dir = temp_dir("trunc");
    let a = args(&dir, &["--appendonly", "yes", "--appendfsync", "always"]);
    let server = Ferrite::start(&a);
    let mut s = server.raw();
    assert_eq!(c(&mut s, "SET a 1"), ok());
    assert_eq!(c(&mut s, "SET b 2"), ok());
    kill(server);
    let incr = incr_files(&dir).pop().unwrap();
    let valid = std::fs::metadata(&incr).unwrap().len();
    let mut data = std::fs::read(&incr).unwrap();
    data.extend_from_slice(b"*3\r\n$3\r\nSET\r\n$1\r\nc\r\n$1");
    std::fs::write(&incr, &data).unwrap();

    let mut refuse = a.clone();
    refuse.extend_from_slice(&["--aof-load-truncated", "no"]);
    let refused = Ferrite::refuse(&refuse, &[]);
    assert_ne!(refused.code, Some(0));
    assert!(
        refused.stderr.contains("appendonly.aof.1.incr.aof")
            && refused.stderr.contains(&format!("offset {valid}")),
        "{}",
        refused.stderr
    );

    let server = Ferrite::start(&a);
    let mut s = server.raw();
    assert_eq!(c(&mut s, "GET a"), bulk("1"));
    assert_eq!(c(&mut s, "GET b"), bulk("2"));
    assert_eq!(c(&mut s, "EXISTS c"), int(0));
    let log = server.log.lock().unwrap().clone();
    assert!(
        log.contains(&format!(
            "truncated at offset {valid} (last command incomplete): loaded up to {valid}, the rest is discarded"
        )),
        "{log}"
    );
    assert_eq!(std::fs::metadata(&incr).unwrap().len(), valid);
    // Appending continues after the cut.
    assert_eq!(c(&mut s, "SET c 3"), ok());
    kill(server);
    let server = Ferrite::start(&a);
    let mut s = server.raw();
    assert_eq!(c(&mut s, "GET c"), bulk("3"));
}

#[test]
fn corruption_in_the_middle_refuses_naming_file_and_offset() {
    let dir = temp_dir("corrupt");
    let a = args(&dir, &["--appendonly", "yes"]);
    let server = Ferrite::start(&a);
    let mut s = server.raw();
    assert_eq!(c(&mut s, "SET a 1"), ok());
    assert_eq!(c(&mut s, "SET b 2"), ok());
    kill(server);
    let incr = incr_files(&dir).pop().unwrap();
    let mut data = std::fs::read(&incr).unwrap();
    // Break the second SET's array header ("*3" → "?3").
    let second = data
        .windows(2)
        .enumerate()
        .filter(|(_, w)| *w == b"*3")
        .map(|(i, _)| i)
        .nth(1)
        .unwrap();
    data[second] = b'?';
    std::fs::write(&incr, &data).unwrap();
    let refused = Ferrite::refuse(&a, &[]);
    assert_ne!(refused.code, Some(0));
    assert!(
        refused.stderr.contains("appendonly.aof.1.incr.aof")
            && refused.stderr.contains(&format!("offset {second}")),
        "{}",
        refused.stderr
    );
}

#[test]
fn missing_file_of_the_manifest_refuses() {
    let dir = temp_dir("missing");
    let a = args(&dir, &["--appendonly", "yes"]);
    let server = Ferrite::start(&a);
    let mut s = server.raw();
    assert_eq!(c(&mut s, "SET a 1"), ok());
    kill(server);
    std::fs::remove_file(incr_files(&dir).pop().unwrap()).unwrap();
    let refused = Ferrite::refuse(&a, &[]);
    assert_ne!(refused.code, Some(0));
    assert!(
        refused.stderr.contains("appendonly.aof.1.incr.aof")
            && refused.stderr.contains("does not exist"),
        "{}",
        refused.stderr
    );
}

fn wait_info(s: &mut TcpStream, name: &str, value: &str) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while info_field(s, name) != value {
        assert!(Instant::now() < deadline, "{name} never became {value}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn bgrewriteaof_then_restart_keeps_everything() {
    let dir = temp_dir("rewrite");
    let a = args(&dir, &["--appendonly", "yes"]);
    let server = Ferrite::start(&a);
    let mut s = server.raw();
    write_everything(&mut s);
    for i in 0..200 {
        assert_eq!(c(&mut s, &format!("SET k{i} {i}")), ok());
    }
    assert_eq!(
        c(&mut s, "BGREWRITEAOF"),
        Frame::Simple(Bytes::from_static(
            b"Background append only file rewriting started"
        ))
    );
    wait_info(&mut s, "aof_rewrite_in_progress", "0");
    assert_eq!(info_field(&mut s, "aof_last_bgrewrite_status"), "ok");
    // Writes after the rewrite go to the new incr file.
    assert_eq!(c(&mut s, "SET after rewrite"), ok());
    let Frame::Integer(ttl_before) = c(&mut s, "PTTL ttl") else {
        panic!()
    };
    let manifest =
        std::fs::read_to_string(dir.join("appendonlydir/appendonly.aof.manifest")).unwrap();
    assert_eq!(
        manifest,
        "file appendonly.aof.1.base.rdb seq 1 type b\nfile appendonly.aof.2.incr.aof seq 2 type i\n"
    );
    assert!(!dir.join("appendonlydir/appendonly.aof.1.incr.aof").exists());
    kill(server);
    let server = Ferrite::start(&a);
    let mut s = server.raw();
    check_everything(&mut s, ttl_before);
    assert_eq!(c(&mut s, "GET k199"), bulk("199"));
    assert_eq!(c(&mut s, "GET after"), bulk("rewrite"));
}

#[test]
fn save_bgsave_lastsave_and_rdb_restart() {
    let dir = temp_dir("save");
    let a = args(&dir, &[]);
    let server = Ferrite::start(&a);
    let mut s = server.raw();
    assert_eq!(info_field(&mut s, "aof_enabled"), "0");
    write_everything(&mut s);
    assert_ne!(info_field(&mut s, "rdb_changes_since_last_save"), "0");
    assert_eq!(c(&mut s, "SAVE"), ok());
    assert_eq!(info_field(&mut s, "rdb_changes_since_last_save"), "0");
    let Frame::Integer(last) = c(&mut s, "LASTSAVE") else {
        panic!()
    };
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    assert!((now - last).abs() <= 2, "{last} vs {now}");
    assert!(dir.join("dump.rdb").exists());
    assert_eq!(c(&mut s, "SET later x"), ok());
    assert_eq!(
        c(&mut s, "BGSAVE"),
        Frame::Simple(Bytes::from_static(b"Background saving started"))
    );
    wait_info(&mut s, "rdb_bgsave_in_progress", "0");
    assert_eq!(info_field(&mut s, "rdb_last_bgsave_status"), "ok");
    let Frame::Integer(ttl_before) = c(&mut s, "PTTL ttl") else {
        panic!()
    };
    kill(server);
    let server = Ferrite::start(&a);
    let mut s = server.raw();
    check_everything(&mut s, ttl_before);
    assert_eq!(c(&mut s, "GET later"), bulk("x"));
}

#[test]
fn shutdown_saves_when_rules_are_set_and_nosave_does_not() {
    let dir = temp_dir("shutdown");
    let dirs = dir.to_str().unwrap();
    let mut server = Ferrite::start(&["--dir", dirs, "--save", "3600 1"]);
    let mut s = server.raw();
    assert_eq!(c(&mut s, "SET k v"), ok());
    s.write_all_shutdown();
    assert!(server.wait_exit(Duration::from_secs(10)).is_some());
    assert!(dir.join("dump.rdb").exists());
    let server = Ferrite::start(&["--dir", dirs, "--save", ""]);
    let mut s = server.raw();
    assert_eq!(c(&mut s, "GET k"), bulk("v"));
}

trait Shutdown {
    fn write_all_shutdown(&mut self);
}

impl Shutdown for TcpStream {
    fn write_all_shutdown(&mut self) {
        use std::io::Write;
        self.write_all(b"SHUTDOWN\r\n").unwrap();
    }
}

#[test]
fn config_set_appendonly_yes_creates_the_aof() {
    let dir = temp_dir("cfgset");
    let server = Ferrite::start(&args(&dir, &[]));
    let mut s = server.raw();
    assert_eq!(c(&mut s, "SET before 1"), ok());
    assert_eq!(c(&mut s, "CONFIG SET appendonly yes"), ok());
    wait_info(&mut s, "aof_rewrite_in_progress", "0");
    assert_eq!(info_field(&mut s, "aof_enabled"), "1");
    assert_eq!(c(&mut s, "SET after 2"), ok());
    assert_eq!(
        c(&mut s, "CONFIG GET appendonly"),
        Frame::Array(vec![bulk("appendonly"), bulk("yes")])
    );
    kill(server);
    let server = Ferrite::start(&args(&dir, &["--appendonly", "yes"]));
    let mut s = server.raw();
    assert_eq!(c(&mut s, "GET before"), bulk("1"));
    assert_eq!(c(&mut s, "GET after"), bulk("2"));
}

fn kit() -> Vec<u8> {
    wat::parse_str(KIT_WAT).expect("kit.wat")
}

fn function_names(s: &mut TcpStream) -> Vec<String> {
    let Frame::Array(items) = c(s, "WASM.LIST") else {
        panic!("WASM.LIST")
    };
    let mut names: Vec<String> = items
        .iter()
        .map(|f| match f {
            Frame::Bulk(b) | Frame::Simple(b) => String::from_utf8_lossy(b).into_owned(),
            other => format!("{other:?}"),
        })
        .collect();
    names.sort();
    names
}

fn functions_round_trip(tag: &str, extra: &[&str], via_rdb: bool) {
    let dir = temp_dir(tag);
    let a = args(&dir, extra);
    let server = Ferrite::start(&a);
    let mut s = server.raw();
    let module = kit();
    assert_eq!(cmd(&mut s, &[b"WASM.LOADB", b"keep", &module]), ok());
    assert_eq!(cmd(&mut s, &[b"WASM.LOADB", b"gone", &module]), ok());
    assert_eq!(
        cmd(&mut s, &[b"WASM.UPDATE", b"keep", b"TIMEOUT", b"400ms"]),
        ok()
    );
    assert_eq!(cmd(&mut s, &[b"WASM.UNLOAD", b"gone"]), ok());
    if via_rdb {
        assert_eq!(c(&mut s, "SAVE"), ok());
    }
    kill(server);
    // The catalog files are not what brings them back: remove them.
    let _ = std::fs::remove_dir_all(dir.join("functions"));
    let server = Ferrite::start(&a);
    let mut s = server.raw();
    let names = function_names(&mut s);
    assert!(
        names.iter().any(|n| n.contains("keep")) && !names.iter().any(|n| n.contains("gone")),
        "{names:?}"
    );
    // The catalog file was written back from the data.
    assert!(dir.join("functions/keep.fn").exists());
}

#[test]
fn functions_survive_via_aof() {
    functions_round_trip("fn-aof", &["--appendonly", "yes"], false);
}

#[test]
fn functions_survive_via_rdb() {
    functions_round_trip("fn-rdb", &[], true);
}

/// The RDB files of the data directory (`dump.rdb`, or the AOF's base).
fn files_ending(dir: &Path, suffix: &str) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.to_string_lossy().ends_with(suffix))
        .collect();
    files.sort();
    files
}

/// Start-up must refuse, naming `file` (and `offset`, when given) on stderr.
fn assert_refuses(a: &[&str], file: &str, offset: Option<u64>) {
    let refused = Ferrite::refuse(a, &[]);
    assert_ne!(refused.code, Some(0), "{}", refused.stderr);
    assert!(refused.stderr.contains(file), "{}", refused.stderr);
    if let Some(offset) = offset {
        assert!(
            refused.stderr.contains(&format!("offset {offset}")),
            "{}",
            refused.stderr
        );
    }
}

#[test]
fn snapshot_files_truncated_or_corrupt_refuse_naming_file_and_offset() {
    // dump.rdb: a snapshot has no "truncated last record" tolerance (as
    // Redis): a cut file or a flipped byte refuses to start.
    let dir = temp_dir("rdbbad");
    let a = args(&dir, &[]);
    let server = Ferrite::start(&a);
    let mut s = server.raw();
    write_everything(&mut s);
    assert_eq!(c(&mut s, "SAVE"), ok());
    kill(server);
    let dump = dir.join("dump.rdb");
    let good = std::fs::read(&dump).unwrap();
    let cut = good.len() as u64 / 2;
    std::fs::write(&dump, &good[..cut as usize]).unwrap();
    assert_refuses(&a, "dump.rdb", Some(cut));
    let mut flipped = good.clone();
    let at = good.len() / 2;
    flipped[at] ^= 0x5a;
    std::fs::write(&dump, &flipped).unwrap();
    assert_refuses(&a, "dump.rdb", None);
    // The intact file still loads.
    std::fs::write(&dump, &good).unwrap();
    let server = Ferrite::start(&a);
    let mut s = server.raw();
    assert_eq!(c(&mut s, "GET str"), bulk("hello"));
    drop(server);

    // The AOF's RDB base (written by BGREWRITEAOF) and the manifest.
    let dir = temp_dir("basebad");
    let a = args(&dir, &["--appendonly", "yes"]);
    let server = Ferrite::start(&a);
    let mut s = server.raw();
    write_everything(&mut s);
    assert_eq!(
        c(&mut s, "BGREWRITEAOF"),
        Frame::Simple(Bytes::from_static(
            b"Background append only file rewriting started"
        ))
    );
    wait_info(&mut s, "aof_rewrite_in_progress", "0");
    assert_eq!(info_field(&mut s, "aof_last_bgrewrite_status"), "ok");
    kill(server);
    let aof_dir = dir.join("appendonlydir");
    let base = files_ending(&aof_dir, ".base.rdb")
        .pop()
        .expect("a base file");
    let base_name = base.file_name().unwrap().to_string_lossy().into_owned();
    let good = std::fs::read(&base).unwrap();
    let cut = good.len() as u64 - 3;
    std::fs::write(&base, &good[..cut as usize]).unwrap();
    assert_refuses(&a, &base_name, Some(cut));
    std::fs::write(&base, &good).unwrap();

    let manifest = aof_dir.join("appendonly.aof.manifest");
    let good = std::fs::read_to_string(&manifest).unwrap();
    std::fs::write(&manifest, format!("{good}file\n")).unwrap();
    assert_refuses(&a, "appendonly.aof.manifest", None);
    std::fs::write(&manifest, &good).unwrap();
    let server = Ferrite::start(&a);
    let mut s = server.raw();
    assert_eq!(c(&mut s, "GET str"), bulk("hello"));
}
