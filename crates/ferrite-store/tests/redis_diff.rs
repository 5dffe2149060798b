//! Differential check against a real redis-server (run by hand while
//! developing; the server's own differential suite covers CI):
//!
//! ```text
//! redis-server --port 7301 --save '' --appendonly no --daemonize yes
//! FERRITE_REDIS_PORT=7301 cargo test -p ferrite-store --test redis_diff -- --ignored --nocapture
//! ```
//!
//! Each file in `tests/cases/*.txt` holds one command per line (redis-cli
//! quoting); `~` before a command compares the reply's elements as a multiset
//! (SMEMBERS, KEYS…); `#` starts a comment. Every file starts from FLUSHALL,
//! and every reply is compared byte for byte under RESP2 and RESP3.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use bytes::Bytes;
use ferrite_protocol::{encode_to_vec, parse_frame, split_args, Frame, Protocol};
use ferrite_store::{Store, StoreConfig};

/// The tests share one redis-server (and FLUSHALL it): run them one at a time.
static REDIS: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn redis_lock() -> std::sync::MutexGuard<'static, ()> {
    REDIS
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

struct Conn {
    stream: TcpStream,
    buf: Vec<u8>,
}

impl Conn {
    fn new(port: u16, resp3: bool) -> Conn {
        let stream = TcpStream::connect(("127.0.0.1", port)).expect("redis-server running");
        stream
            .set_read_timeout(Some(Duration::from_secs(5)))
            .unwrap();
        let mut conn = Conn {
            stream,
            buf: Vec::new(),
        };
        if resp3 {
            conn.call(&[Bytes::from_static(b"HELLO"), Bytes::from_static(b"3")]);
        }
        conn
    }

    fn call(&mut self, argv: &[Bytes]) -> Vec<u8> {
        let mut out = format!("*{}\r\n", argv.len()).into_bytes();
        for a in argv {
            out.extend_from_slice(format!("${}\r\n", a.len()).as_bytes());
            out.extend_from_slice(a);
            out.extend_from_slice(b"\r\n");
        }
        self.stream.write_all(&out).unwrap();
        loop {
            if let Ok(Some((_, used))) = parse_frame(&self.buf) {
                let reply = self.buf[..used].to_vec();
                self.buf.drain(..used);
                return reply;
            }
            let mut chunk = [0u8; 65536];
            let n = self.stream.read(&mut chunk).expect("reply");
            assert!(n > 0, "redis closed the connection");
            self.buf.extend_from_slice(&chunk[..n]);
        }
    }
}

fn sorted_elements(raw: &[u8]) -> Vec<Vec<u8>> {
    let (frame, _) = parse_frame(raw).unwrap().unwrap();
    let items: Vec<Frame> = match frame {
        // SCAN-family reply: the cursor, then the items in any order.
        Frame::Array(v) if v.len() == 2 && matches!(v[1], Frame::Array(_)) => {
            let mut v = v;
            let Frame::Array(inner) = v.pop().unwrap() else {
                unreachable!()
            };
            let mut enc: Vec<Vec<u8>> = inner
                .iter()
                .map(|f| encode_to_vec(f, Protocol::Resp3))
                .collect();
            enc.sort();
            enc.insert(0, encode_to_vec(&v[0], Protocol::Resp3));
            return enc;
        }
        Frame::Array(v) | Frame::Set(v) => v,
        Frame::Map(pairs) => pairs
            .into_iter()
            .map(|(k, v)| Frame::Array(vec![k, v]))
            .collect(),
        other => vec![other],
    };
    let mut enc: Vec<Vec<u8>> = items
        .iter()
        .map(|f| encode_to_vec(f, Protocol::Resp3))
        .collect();
    enc.sort();
    enc
}

#[test]
#[ignore = "needs FERRITE_REDIS_PORT and a running redis-server"]
fn replies_match_redis() {
    let _serial = redis_lock();
    let port: u16 = std::env::var("FERRITE_REDIS_PORT")
        .expect("FERRITE_REDIS_PORT")
        .parse()
        .unwrap();
    let only = std::env::var("FERRITE_CASES").ok();
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/cases");
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    let mut failures = 0;
    let mut total = 0;
    for file in files {
        let name = file.file_name().unwrap().to_string_lossy().into_owned();
        if only.as_ref().is_some_and(|o| !name.contains(o.as_str())) {
            continue;
        }
        let store = Store::new(StoreConfig::default());
        let mut r2 = Conn::new(port, false);
        let mut r3 = Conn::new(port, true);
        r2.call(&[Bytes::from_static(b"FLUSHALL")]);
        for (lineno, line) in std::fs::read_to_string(&file).unwrap().lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let (unordered, line) = match line.strip_prefix('~') {
                Some(rest) => (true, rest.trim()),
                None => (false, line),
            };
            if let Some(ms) = line.strip_prefix("!sleep ") {
                std::thread::sleep(Duration::from_millis(ms.parse().unwrap()));
                continue;
            }
            let argv = split_args(line.as_bytes()).unwrap();
            total += 1;
            let frame = store.execute(0, &argv).expect("not blocked");
            // Each command runs on redis once (RESP2 connection); RESP3 only
            // for read-only commands would change state otherwise, so the
            // RESP3 comparison re-encodes redis's RESP3 reply of the same
            // state by running the command on the RESP3 connection instead
            // when it is read-only.
            let spec = ferrite_store::lookup(&argv[0]);
            let readonly = spec.is_some_and(|s| !s.is_write());
            let want2 = r2.call(&argv);
            let got2 = encode_to_vec(&frame, Protocol::Resp2);
            let mut check = |want: &[u8], got: &[u8], proto: &str| {
                let same = if unordered {
                    sorted_elements(want) == sorted_elements(got)
                } else {
                    want == got
                };
                if !same {
                    failures += 1;
                    eprintln!(
                        "{name}:{} {proto} `{line}`\n  redis:   {:?}\n  ferrite: {:?}",
                        lineno + 1,
                        String::from_utf8_lossy(want),
                        String::from_utf8_lossy(got)
                    );
                }
            };
            check(&want2, &got2, "RESP2");
            if readonly && !line.to_ascii_lowercase().starts_with("randomkey") {
                let want3 = r3.call(&argv);
                let frame3 = store
                    .execute_with(0, &argv, Protocol::Resp3)
                    .expect("not blocked");
                let got3 = encode_to_vec(&frame3, Protocol::Resp3);
                check(&want3, &got3, "RESP3");
            }
        }
    }
    eprintln!("{total} commands compared, {failures} mismatches");
    assert_eq!(failures, 0);
}

fn frame_text(f: &Frame) -> String {
    match f {
        Frame::Simple(b) | Frame::Bulk(b) => String::from_utf8_lossy(b).into_owned(),
        Frame::Integer(n) => n.to_string(),
        other => format!("{other:?}"),
    }
}

/// Compares the metadata of every data command with COMMAND INFO / COMMAND
/// DOCS of redis-server (arity, flags, key positions, ACL categories,
/// summary, since, group).
#[test]
#[ignore = "needs FERRITE_REDIS_PORT and a running redis-server"]
fn command_table_matches_redis() {
    let _serial = redis_lock();
    let port: u16 = std::env::var("FERRITE_REDIS_PORT")
        .expect("FERRITE_REDIS_PORT")
        .parse()
        .unwrap();
    let mut conn = Conn::new(port, true);
    let mut bad = 0;
    let mut specs: Vec<_> = ferrite_store::commands()
        .filter(|s| s.layer == ferrite_store::Layer::Store)
        .collect();
    specs.sort_by_key(|s| s.name);
    for spec in specs {
        let raw = conn.call(&[
            Bytes::from_static(b"COMMAND"),
            Bytes::from_static(b"INFO"),
            Bytes::from(spec.name),
        ]);
        let (frame, _) = parse_frame(&raw).unwrap().unwrap();
        let Frame::Array(mut items) = frame else {
            panic!("{frame:?}")
        };
        let Some(Frame::Array(info)) = items.pop() else {
            eprintln!("{}: unknown to redis", spec.name);
            bad += 1;
            continue;
        };
        let set_names = |f: &Frame| -> Vec<String> {
            match f {
                Frame::Set(v) | Frame::Array(v) => v.iter().map(frame_text).collect(),
                _ => vec![],
            }
        };
        let want = (
            frame_text(&info[1]),
            set_names(&info[2]),
            frame_text(&info[3]),
            frame_text(&info[4]),
            frame_text(&info[5]),
            set_names(&info[6]),
        );
        let got = (
            spec.arity.to_string(),
            spec.flags
                .names()
                .iter()
                .map(|s| s.to_string())
                .collect::<Vec<_>>(),
            spec.first_key.to_string(),
            spec.last_key.to_string(),
            spec.step.to_string(),
            spec.acl_categories()
                .iter()
                .map(|s| s.to_string())
                .collect::<Vec<_>>(),
        );
        if want != got {
            bad += 1;
            eprintln!("{}:\n  redis   {:?}\n  ferrite {:?}", spec.name, want, got);
        }
        let raw = conn.call(&[
            Bytes::from_static(b"COMMAND"),
            Bytes::from_static(b"DOCS"),
            Bytes::from(spec.name),
        ]);
        let (frame, _) = parse_frame(&raw).unwrap().unwrap();
        let Frame::Map(mut pairs) = frame else {
            panic!()
        };
        let Some((_, Frame::Map(doc))) = pairs.pop() else {
            panic!()
        };
        for (k, v) in doc {
            let k = frame_text(&k);
            let mine = match k.as_str() {
                "summary" => spec.summary,
                "since" => spec.since,
                "group" => spec.group,
                _ => continue,
            };
            if frame_text(&v) != mine {
                bad += 1;
                eprintln!(
                    "{} {k}: redis {:?} ferrite {:?}",
                    spec.name,
                    frame_text(&v),
                    mine
                );
            }
        }
    }
    assert_eq!(bad, 0);
}

/// Random command sequences (fixed seed) against redis-server and the store;
/// replies compared byte for byte (RESP2), unordered replies as multisets.
#[test]
#[ignore = "needs FERRITE_REDIS_PORT and a running redis-server"]
fn random_sequences_match_redis() {
    let _serial = redis_lock();
    use rand::{Rng, SeedableRng};
    let port: u16 = std::env::var("FERRITE_REDIS_PORT")
        .expect("FERRITE_REDIS_PORT")
        .parse()
        .unwrap();
    let seed: u64 = std::env::var("FERRITE_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1);
    let steps: usize = std::env::var("FERRITE_STEPS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(20_000);
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let store = Store::new(StoreConfig::default());
    let mut redis = Conn::new(port, false);
    let mut redis3 = Conn::new(port, true);
    redis.call(&[Bytes::from_static(b"FLUSHALL")]);
    let keys = ["a", "b", "c", "d", "e"];
    let vals = [
        "0",
        "1",
        "-3",
        "10",
        "x",
        "abc",
        "1.5",
        "",
        "9223372036854775807",
        "f1",
        "3e2",
        " 1",
    ];
    let mut failures = 0;
    for step in 0..steps {
        let mut k = || keys[rng.random_range(0..keys.len())].to_owned();
        let k1 = k();
        let k2 = k();
        let k3 = k();
        let v = vals[rng.random_range(0..vals.len())].to_owned();
        let w = vals[rng.random_range(0..vals.len())].to_owned();
        let n = rng.random_range(-3i64..6).to_string();
        let pick = rng.random_range(0..70);
        let line: Vec<String> = match pick {
            0 => vec!["SET".into(), k1, v],
            1 => vec!["SET".into(), k1, v, "NX".into()],
            2 => vec!["SET".into(), k1, v, "XX".into(), "GET".into()],
            3 => vec!["SET".into(), k1, v, "EX".into(), n],
            4 => vec!["GET".into(), k1],
            5 => vec!["INCR".into(), k1],
            6 => vec!["INCRBY".into(), k1, v],
            7 => vec!["DECRBY".into(), k1, n],
            8 => vec!["INCRBYFLOAT".into(), k1, v],
            9 => vec!["APPEND".into(), k1, v],
            10 => vec!["STRLEN".into(), k1],
            11 => vec![
                "GETRANGE".into(),
                k1,
                n.clone(),
                rng.random_range(-4i64..4).to_string(),
            ],
            12 => vec![
                "SETRANGE".into(),
                k1,
                rng.random_range(0i64..5).to_string(),
                v,
            ],
            13 => vec!["GETDEL".into(), k1],
            14 => vec!["GETEX".into(), k1, "PERSIST".into()],
            15 => vec!["MSET".into(), k1, v, k2, w],
            16 => vec!["MGET".into(), k1, k2, k3],
            17 => vec!["MSETNX".into(), k1, v, k2, w],
            18 => vec!["SETNX".into(), k1, v],
            19 => vec!["DEL".into(), k1, k2],
            20 => vec!["EXISTS".into(), k1, k2, k3],
            21 => vec![
                "EXPIRE".into(),
                k1,
                (rng.random_range(-2i64..1000)).to_string(),
            ],
            22 => vec![
                "EXPIRE".into(),
                k1,
                "500".into(),
                ["NX", "XX", "GT", "LT"][rng.random_range(0..4)].into(),
            ],
            23 => vec!["TTL".into(), k1],
            24 => vec!["PERSIST".into(), k1],
            25 => vec!["TYPE".into(), k1],
            26 => vec!["RENAME".into(), k1, k2],
            27 => vec!["RENAMENX".into(), k1, k2],
            28 => vec!["COPY".into(), k1, k2],
            29 => vec!["COPY".into(), k1, k2, "REPLACE".into()],
            30 => vec!["DBSIZE".into()],
            31 => vec!["~KEYS".into(), "*".into()],
            32 => vec!["HSET".into(), k1, v, w],
            33 => vec!["HSETNX".into(), k1, v, w],
            34 => vec!["HGET".into(), k1, v],
            35 => vec!["HMGET".into(), k1, v, w],
            36 => vec!["HDEL".into(), k1, v, w],
            37 => vec!["HLEN".into(), k1],
            38 => vec!["HEXISTS".into(), k1, v],
            39 => vec!["HINCRBY".into(), k1, v, n],
            40 => vec!["HINCRBYFLOAT".into(), k1, v, w],
            41 => vec!["HSTRLEN".into(), k1, v],
            42 => vec!["~HGETALL".into(), k1],
            43 => vec!["~HKEYS".into(), k1],
            44 => vec!["~HVALS".into(), k1],
            45 => vec!["SADD".into(), k1, v, w],
            46 => vec!["SREM".into(), k1, v, w],
            47 => vec!["~SMEMBERS".into(), k1],
            48 => vec!["SISMEMBER".into(), k1, v],
            49 => vec!["SMISMEMBER".into(), k1, v, w],
            50 => vec!["SCARD".into(), k1],
            51 => vec!["~SINTER".into(), k1, k2],
            52 => vec!["~SUNION".into(), k1, k2, k3],
            53 => vec!["~SDIFF".into(), k1, k2],
            54 => vec!["SINTERSTORE".into(), k1, k2, k3],
            55 => vec!["SUNIONSTORE".into(), k1, k2, k3],
            56 => vec!["SDIFFSTORE".into(), k1, k2, k3],
            57 => vec!["EXPIRETIME".into(), k1],
            58 => vec!["SET".into(), k1, v, "KEEPTTL".into()],
            59 => vec!["GETEX".into(), k1, "EX".into(), n],
            60 => vec!["EXPIREAT".into(), k1, "1".into()],
            61 => vec!["SPOP".into(), k1, "100".into()],
            62 => vec![
                "~SSCAN".into(),
                k1,
                "0".into(),
                "COUNT".into(),
                "1000".into(),
            ],
            63 => vec![
                "~HSCAN".into(),
                k1,
                "0".into(),
                "COUNT".into(),
                "1000".into(),
            ],
            64 => vec!["SETEX".into(), k1, n, v],
            65 => vec!["HMSET".into(), k1, v.clone(), w.clone(), w, v],
            66 => vec!["DECR".into(), k1],
            67 => vec!["HRANDFIELD".into(), k1, "0".into()],
            68 => vec!["SRANDMEMBER".into(), k1, "100".into()],
            _ => vec!["UNLINK".into(), k1],
        };
        let unordered = line[0].starts_with('~');
        let argv: Vec<Bytes> = line
            .iter()
            .enumerate()
            .map(|(i, s)| {
                Bytes::from(if i == 0 {
                    s.trim_start_matches('~').to_owned()
                } else {
                    s.clone()
                })
            })
            .collect();
        let want = redis.call(&argv);
        let got = encode_to_vec(
            &store.execute(0, &argv).expect("not blocked"),
            Protocol::Resp2,
        );
        let same = if unordered || line[0] == "SPOP" || line[0] == "SRANDMEMBER" {
            sorted_elements(&want) == sorted_elements(&got)
        } else {
            want == got
        };
        let readonly = ferrite_store::lookup(&argv[0]).is_some_and(|s| !s.is_write());
        let same3 = !readonly || {
            let want3 = redis3.call(&argv);
            let frame3 = store
                .execute_with(0, &argv, Protocol::Resp3)
                .expect("not blocked");
            let got3 = encode_to_vec(&frame3, Protocol::Resp3);
            let ok = if unordered || line[0] == "SRANDMEMBER" {
                sorted_elements(&want3) == sorted_elements(&got3)
            } else {
                want3 == got3
            };
            if !ok {
                eprintln!(
                    "step {step} RESP3 {:?}\n  redis:   {:?}\n  ferrite: {:?}",
                    line,
                    String::from_utf8_lossy(&want3),
                    String::from_utf8_lossy(&got3)
                );
            }
            ok
        };
        if !same3 {
            failures += 1;
        }
        if !same {
            failures += 1;
            if failures <= 20 {
                eprintln!(
                    "step {step} {:?}\n  redis:   {:?}\n  ferrite: {:?}",
                    line,
                    String::from_utf8_lossy(&want),
                    String::from_utf8_lossy(&got)
                );
            }
        }
    }
    eprintln!("{steps} random commands, {failures} mismatches");
    assert_eq!(failures, 0);
}
