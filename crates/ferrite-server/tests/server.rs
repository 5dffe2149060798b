//! The `ferrite` binary over real sockets: pipelining, transactions,
//! expiry, databases, AUTH, protocol errors, inline commands, limits,
//! server commands and shutdown.

mod common;

use std::time::Duration;

use common::{is_closed, read_at_least, roundtrip, Ferrite};
use redis::AsyncCommands;

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

/// Runs an async test body with an overall timeout.
fn block_on<F: std::future::Future>(f: F) -> F::Output {
    rt().block_on(async {
        tokio::time::timeout(Duration::from_secs(60), f)
            .await
            .expect("test timed out")
    })
}

#[test]
fn pipelining_10000_commands() {
    let server = Ferrite::start(&[]);
    block_on(async {
        let mut con = server.conn().await;
        let mut pipe = redis::pipe();
        for i in 0..5000 {
            pipe.set(format!("key:{i}"), i).ignore();
        }
        for i in 0..5000 {
            pipe.get(format!("key:{i}"));
        }
        let values: Vec<i64> = pipe.query_async(&mut con).await.unwrap();
        assert_eq!(values, (0..5000).collect::<Vec<i64>>());
        let mut pipe = redis::pipe();
        for _ in 0..10_000 {
            pipe.incr("counter", 1).ignore();
        }
        pipe.get("counter");
        let (counter,): (i64,) = pipe.query_async(&mut con).await.unwrap();
        assert_eq!(counter, 10_000);
    });
}

#[test]
fn pipelined_raw_batch_gets_all_replies() {
    let server = Ferrite::start(&[]);
    let mut stream = server.raw();
    let request = b"PING\r\n".repeat(10_000);
    let reply = roundtrip(&mut stream, &request, 7 * 10_000);
    assert_eq!(reply, b"+PONG\r\n".repeat(10_000));
}

#[test]
fn multi_exec_and_watch() {
    let server = Ferrite::start(&[]);
    block_on(async {
        let mut a = server.conn().await;
        let mut b = server.conn().await;
        let _: () = a.set("k", 1).await.unwrap();

        // A clean transaction.
        let (x, y): (String, i64) = redis::pipe()
            .atomic()
            .set("k", 2)
            .get("k")
            .query_async(&mut a)
            .await
            .unwrap();
        assert_eq!((x.as_str(), y), ("OK", 2));

        // WATCH, another client writes the key, EXEC returns null.
        let _: () = redis::cmd("WATCH")
            .arg("k")
            .query_async(&mut a)
            .await
            .unwrap();
        let _: () = b.set("k", 100).await.unwrap();
        let result: Option<(String,)> = redis::pipe()
            .atomic()
            .set("k", 3)
            .query_async(&mut a)
            .await
            .unwrap();
        assert_eq!(result, None);
        let k: i64 = a.get("k").await.unwrap();
        assert_eq!(k, 100);

        // WATCH without interference succeeds.
        let _: () = redis::cmd("WATCH")
            .arg("k")
            .query_async(&mut a)
            .await
            .unwrap();
        let result: Option<(String, i64)> = redis::pipe()
            .atomic()
            .set("k", 101)
            .get("k")
            .query_async(&mut a)
            .await
            .unwrap();
        assert_eq!(result, Some(("OK".to_owned(), 101)));
    });
}

#[test]
fn multi_exact_replies() {
    let server = Ferrite::start(&[]);
    let mut s = server.raw();
    let cases: &[(&[u8], &[u8])] = &[
        (b"MULTI\r\n", b"+OK\r\n"),
        (b"MULTI\r\n", b"-ERR MULTI calls can not be nested\r\n"),
        (b"WATCH a\r\n", b"-ERR WATCH inside MULTI is not allowed\r\n"),
        (b"SET a 1\r\n", b"+QUEUED\r\n"),
        (b"GET\r\n", b"-ERR wrong number of arguments for 'get' command\r\n"),
        (b"EXEC\r\n", b"-EXECABORT Transaction discarded because of previous errors.\r\n"),
        (b"EXEC\r\n", b"-ERR EXEC without MULTI\r\n"),
        (b"DISCARD\r\n", b"-ERR DISCARD without MULTI\r\n"),
        (b"GET a\r\n", b"$-1\r\n"),
        (b"MULTI\r\n", b"+OK\r\n"),
        (b"SET a x\r\n", b"+QUEUED\r\n"),
        (b"INCR a\r\n", b"+QUEUED\r\n"),
        (b"PING\r\n", b"+QUEUED\r\n"),
        (b"EXEC\r\n", b"*3\r\n+OK\r\n-ERR value is not an integer or out of range\r\n+PONG\r\n"),
        (b"MULTI\r\n", b"+OK\r\n"),
        (b"SET a 2\r\n", b"+QUEUED\r\n"),
        (b"DISCARD\r\n", b"+OK\r\n"),
        (b"GET a\r\n", b"$1\r\nx\r\n"),
        (b"MULTI\r\n", b"+OK\r\n"),
        (b"SELECT 1\r\n", b"+QUEUED\r\n"),
        (b"SET b 1\r\n", b"+QUEUED\r\n"),
        (b"EXEC\r\n", b"*2\r\n+OK\r\n+OK\r\n"),
        (b"GET b\r\n", b"$1\r\n1\r\n"),
        (b"SELECT 0\r\n", b"+OK\r\n"),
        (b"GET b\r\n", b"$-1\r\n"),
        (b"MULTI\r\n", b"+OK\r\n"),
        (b"FOO\r\n", b"-ERR unknown command 'FOO', with args beginning with: \r\n"),
        (b"EXEC\r\n", b"-EXECABORT Transaction discarded because of previous errors.\r\n"),
        (b"MULTI\r\n", b"+OK\r\n"),
        (b"EXEC x\r\n", b"-EXECABORT Transaction discarded because of: wrong number of arguments for 'exec' command\r\n"),
        (b"EXEC\r\n", b"-ERR EXEC without MULTI\r\n"),
    ];
    for (request, expected) in cases {
        let reply = roundtrip(&mut s, request, expected.len());
        assert_eq!(
            String::from_utf8_lossy(&reply),
            String::from_utf8_lossy(expected),
            "request {:?}",
            String::from_utf8_lossy(request)
        );
    }
}

#[test]
fn watch_dirty_exec_is_null_in_both_protocols() {
    let server = Ferrite::start(&[]);
    let mut a = server.raw();
    let mut b = server.raw();
    for (hello, null) in [
        (&b"HELLO 2\r\n"[..], &b"*-1\r\n"[..]),
        (b"HELLO 3\r\n", b"_\r\n"),
    ] {
        a.write_all_and_drain(hello);
        assert_eq!(roundtrip(&mut a, b"WATCH w\r\n", 5), b"+OK\r\n");
        assert_eq!(roundtrip(&mut b, b"SET w 1\r\n", 5), b"+OK\r\n");
        assert_eq!(
            roundtrip(&mut a, b"MULTI\r\nGET w\r\n", 14),
            b"+OK\r\n+QUEUED\r\n"
        );
        assert_eq!(roundtrip(&mut a, b"EXEC\r\n", null.len()), null);
    }
}

trait Drain {
    fn write_all_and_drain(&mut self, request: &[u8]);
}

impl Drain for std::net::TcpStream {
    /// Sends a request whose reply is not checked and reads what arrives.
    fn write_all_and_drain(&mut self, request: &[u8]) {
        use std::io::{Read, Write};
        self.write_all(request).unwrap();
        std::thread::sleep(Duration::from_millis(100));
        let mut buf = [0u8; 4096];
        let _ = self.read(&mut buf).unwrap();
    }
}

#[test]
fn expiry_with_px() {
    let server = Ferrite::start(&["--hz", "50"]);
    block_on(async {
        let mut con = server.conn().await;
        let _: () = redis::cmd("SET")
            .arg("short")
            .arg("v")
            .arg("PX")
            .arg(100)
            .query_async(&mut con)
            .await
            .unwrap();
        let v: Option<String> = con.get("short").await.unwrap();
        assert_eq!(v.as_deref(), Some("v"));
        let pttl: i64 = con.pttl("short").await.unwrap();
        assert!((1..=100).contains(&pttl), "{pttl}");
        tokio::time::sleep(Duration::from_millis(200)).await;
        let v: Option<String> = con.get("short").await.unwrap();
        assert_eq!(v, None);

        // Active expiry reclaims keys nobody reads.
        for i in 0..50 {
            let _: () = redis::cmd("SET")
                .arg(format!("tmp:{i}"))
                .arg(i)
                .arg("PX")
                .arg(50)
                .query_async(&mut con)
                .await
                .unwrap();
        }
        let _: () = con.set("keep", 1).await.unwrap();
        let mut dbsize = 0;
        for _ in 0..100 {
            tokio::time::sleep(Duration::from_millis(50)).await;
            dbsize = redis::cmd("DBSIZE").query_async(&mut con).await.unwrap();
            if dbsize == 1 {
                break;
            }
        }
        assert_eq!(dbsize, 1, "active expiry did not reclaim the keys");
    });
}

#[test]
fn select_isolates_databases() {
    let server = Ferrite::start(&[]);
    let mut s = server.raw();
    let cases: &[(&[u8], &[u8])] = &[
        (b"SET k zero\r\n", b"+OK\r\n"),
        (b"SELECT 1\r\n", b"+OK\r\n"),
        (b"GET k\r\n", b"$-1\r\n"),
        (b"SET k one\r\n", b"+OK\r\n"),
        (b"SELECT 15\r\n", b"+OK\r\n"),
        (b"DBSIZE\r\n", b":0\r\n"),
        (b"SELECT 16\r\n", b"-ERR DB index is out of range\r\n"),
        (b"SELECT -1\r\n", b"-ERR DB index is out of range\r\n"),
        (
            b"SELECT x\r\n",
            b"-ERR value is not an integer or out of range\r\n",
        ),
        (b"SELECT 0\r\n", b"+OK\r\n"),
        (b"GET k\r\n", b"$4\r\nzero\r\n"),
        (b"SELECT 1\r\n", b"+OK\r\n"),
        (b"GET k\r\n", b"$3\r\none\r\n"),
    ];
    for (request, expected) in cases {
        assert_eq!(
            roundtrip(&mut s, request, expected.len()),
            *expected,
            "{}",
            String::from_utf8_lossy(request)
        );
    }
    block_on(async {
        let client = redis::Client::open(format!("redis://127.0.0.1:{}/1", server.port)).unwrap();
        let mut con = client.get_multiplexed_async_connection().await.unwrap();
        let v: String = con.get("k").await.unwrap();
        assert_eq!(v, "one");
    });
}

#[test]
fn auth_with_requirepass() {
    let server = Ferrite::start(&["--requirepass", "s3cret"]);
    let mut s = server.raw();
    let cases: &[(&[u8], &[u8])] = &[
        (b"GET a\r\n", b"-NOAUTH Authentication required.\r\n"),
        (b"PING\r\n", b"-NOAUTH Authentication required.\r\n"),
        (b"EXEC\r\n", b"-EXECABORT Transaction discarded because of: NOAUTH Authentication required.\r\n"),
        (b"FOO\r\n", b"-ERR unknown command 'FOO', with args beginning with: \r\n"),
        (b"HELLO 3\r\n", b"-NOAUTH HELLO must be called with the client already authenticated, otherwise the HELLO AUTH <user> <pass> option can be used to authenticate the client and select the RESP protocol version at the same time\r\n"),
        (b"AUTH wrong\r\n", b"-WRONGPASS invalid username-password pair or user is disabled.\r\n"),
        (b"AUTH bob s3cret\r\n", b"-WRONGPASS invalid username-password pair or user is disabled.\r\n"),
        (b"AUTH a b c\r\n", b"-ERR syntax error\r\n"),
        (b"AUTH s3cret\r\n", b"+OK\r\n"),
        (b"PING\r\n", b"+PONG\r\n"),
    ];
    for (request, expected) in cases {
        assert_eq!(
            String::from_utf8_lossy(&roundtrip(&mut s, request, expected.len())),
            String::from_utf8_lossy(expected)
        );
    }
    let mut t = server.raw();
    let reply = roundtrip(&mut t, b"HELLO 2 AUTH default s3cret\r\n", 20);
    assert!(
        reply.starts_with(b"*14\r\n$6\r\nserver\r\n"),
        "{}",
        String::from_utf8_lossy(&reply)
    );
    block_on(async {
        let client =
            redis::Client::open(format!("redis://:s3cret@127.0.0.1:{}/", server.port)).unwrap();
        let mut con = client.get_multiplexed_async_connection().await.unwrap();
        let _: () = con.set("x", "y").await.unwrap();
        let bad = redis::Client::open(format!("redis://:nope@127.0.0.1:{}/", server.port)).unwrap();
        let Err(err) = bad.get_multiplexed_async_connection().await else {
            panic!("wrong password must fail")
        };
        assert_eq!(err.kind(), redis::ErrorKind::AuthenticationFailed, "{err}");
    });
    // Without requirepass, AUTH <password> is an error.
    let open = Ferrite::start(&[]);
    let mut s = open.raw();
    let expected: &[u8] = b"-ERR AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?\r\n";
    assert_eq!(roundtrip(&mut s, b"AUTH x\r\n", expected.len()), expected);
    assert_eq!(roundtrip(&mut s, b"AUTH default x\r\n", 5), b"+OK\r\n");
}

#[test]
fn protocol_error_closes_only_that_client() {
    let server = Ferrite::start(&[]);
    let mut good = server.raw();
    assert_eq!(roundtrip(&mut good, b"SET before 1\r\n", 5), b"+OK\r\n");
    let cases: &[(&[u8], &[u8])] = &[
        (
            b"*1\r\n$x\r\n",
            b"-ERR Protocol error: invalid bulk length\r\n",
        ),
        (
            b"*x\r\n",
            b"-ERR Protocol error: invalid multibulk length\r\n",
        ),
        (
            b"*1\r\n+PING\r\n",
            b"-ERR Protocol error: expected '$', got '+'\r\n",
        ),
        (
            b"SET \"a b\r\n",
            b"-ERR Protocol error: unbalanced quotes in request\r\n",
        ),
        (
            b"PING\r\n*1\r\n$-5\r\n",
            b"+PONG\r\n-ERR Protocol error: invalid bulk length\r\n",
        ),
    ];
    for (request, expected) in cases {
        let mut bad = server.raw();
        let reply = roundtrip(&mut bad, request, expected.len());
        assert_eq!(
            String::from_utf8_lossy(&reply),
            String::from_utf8_lossy(expected)
        );
        assert!(
            is_closed(&mut bad),
            "connection must be closed after {:?}",
            String::from_utf8_lossy(request)
        );
        assert_eq!(roundtrip(&mut good, b"PING\r\n", 7), b"+PONG\r\n");
    }
    assert_eq!(roundtrip(&mut good, b"GET before\r\n", 7), b"$1\r\n1\r\n");
}

#[test]
fn inline_commands() {
    let server = Ferrite::start(&[]);
    let mut s = server.raw();
    assert_eq!(roundtrip(&mut s, b"PING\r\n", 7), b"+PONG\r\n");
    assert_eq!(roundtrip(&mut s, b"PING\n", 7), b"+PONG\r\n");
    assert_eq!(
        roundtrip(
            &mut s,
            b"SET greeting \"hello world\"\r\nGET greeting\r\n",
            22
        ),
        b"+OK\r\n$11\r\nhello world\r\n"
    );
    assert_eq!(roundtrip(&mut s, b"ECHO 'a b'\r\n", 9), b"$3\r\na b\r\n");
    assert_eq!(roundtrip(&mut s, b"\r\n\r\nPING\r\n", 7), b"+PONG\r\n");
}

#[test]
fn redis_cli_works() {
    let server = Ferrite::start(&[]);
    let cli = |args: &[&str]| {
        let out = std::process::Command::new("redis-cli")
            .arg("-p")
            .arg(server.port.to_string())
            .args(args)
            .output()
            .expect("redis-cli is required (Debian package redis-tools; scripts/install-deps.sh installs it)");
        assert!(
            out.status.success(),
            "redis-cli {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    };
    assert_eq!(cli(&["PING"]), "PONG\n");
    assert_eq!(cli(&["SET", "k", "v"]), "OK\n");
    assert_eq!(cli(&["GET", "k"]), "v\n");
    let hello = cli(&["-3", "HELLO", "3"]);
    assert!(
        hello.contains("server") && hello.contains("7.0.15"),
        "{hello}"
    );
    assert!(cli(&["INFO", "server"]).contains("redis_version:7.0.15"));
    // Inline (telnet-style) input through redis-cli's stdin pipe mode.
    let mut child = std::process::Command::new("redis-cli")
        .arg("-p")
        .arg(server.port.to_string())
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    {
        use std::io::Write;
        child
            .stdin
            .take()
            .unwrap()
            .write_all(b"PING\nECHO hi\n")
            .unwrap();
    }
    let out = child.wait_with_output().unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout), "PONG\nhi\n");
}

#[test]
fn connection_commands_exact_replies() {
    let server = Ferrite::start(&[]);
    let mut s = server.raw();
    let cases: &[(&[u8], &[u8])] = &[
        (b"PING hello\r\n", b"$5\r\nhello\r\n"),
        (b"PING a b\r\n", b"-ERR wrong number of arguments for 'ping' command\r\n"),
        (b"ECHO\r\n", b"-ERR wrong number of arguments for 'echo' command\r\n"),
        (b"CLIENT GETNAME\r\n", b"$-1\r\n"),
        (b"CLIENT SETNAME my-conn\r\n", b"+OK\r\n"),
        (b"CLIENT GETNAME\r\n", b"$7\r\nmy-conn\r\n"),
        (b"CLIENT SETNAME \"a b\"\r\n", b"-ERR Client names cannot contain spaces, newlines or special characters.\r\n"),
        (b"CLIENT FOO\r\n", b"-ERR unknown subcommand 'FOO'. Try CLIENT HELP.\r\n"),
        (b"CLIENT\r\n", b"-ERR wrong number of arguments for 'client' command\r\n"),
        (b"HELLO 4\r\n", b"-NOPROTO unsupported protocol version\r\n"),
        (b"HELLO x\r\n", b"-ERR Protocol version is not an integer or out of range\r\n"),
        (b"HELLO 3 FOO\r\n", b"-ERR Syntax error in HELLO option 'FOO'\r\n"),
        (b"CONFIG GET maxclients\r\n", b"*2\r\n$10\r\nmaxclients\r\n$5\r\n10000\r\n"),
        (b"CONFIG SET maxclients 50\r\n", b"+OK\r\n"),
        (b"CONFIG GET maxclients\r\n", b"*2\r\n$10\r\nmaxclients\r\n$2\r\n50\r\n"),
        (b"CONFIG SET foo 1\r\n", b"-ERR Unknown option or number of arguments for CONFIG SET - 'foo'\r\n"),
        (b"CONFIG SET maxclients x\r\n", b"-ERR CONFIG SET failed (possibly related to argument 'maxclients') - argument couldn't be parsed into an integer\r\n"),
        (b"CONFIG SET hz 5 hz 6\r\n", b"-ERR CONFIG SET failed (possibly related to argument 'hz') - duplicate parameter\r\n"),
        (b"CONFIG SET port 1\r\n", b"-ERR CONFIG SET failed (possibly related to argument 'port') - can't set immutable config\r\n"),
        (b"CONFIG SET hz\r\n", b"-ERR wrong number of arguments for 'config|set' command\r\n"),
        (b"CONFIG GET nothing-matches\r\n", b"*0\r\n"),
        (b"CONFIG RESETSTAT\r\n", b"+OK\r\n"),
        (b"COMMAND INFO nosuchcommand\r\n", b"*1\r\n$-1\r\n"),
        (b"COMMAND GETKEYS set a b\r\n", b"*1\r\n$1\r\na\r\n"),
        (b"COMMAND GETKEYS echo x\r\n", b"-ERR The command has no key arguments\r\n"),
        (b"COMMAND GETKEYS get\r\n", b"-ERR wrong number of arguments for 'command|getkeys' command\r\n"),
        (b"COMMAND GETKEYS nosuch a\r\n", b"-ERR Invalid command specified\r\n"),
        (b"SHUTDOWN ABORT\r\n", b"-ERR No shutdown in progress.\r\n"),
    ];
    for (request, expected) in cases {
        assert_eq!(
            String::from_utf8_lossy(&roundtrip(&mut s, request, expected.len())),
            String::from_utf8_lossy(expected),
            "request {}",
            String::from_utf8_lossy(request)
        );
    }
    let hello3 = b"%7\r\n$6\r\nserver\r\n$5\r\nredis\r\n$7\r\nversion\r\n$6\r\n7.0.15\r\n$5\r\nproto\r\n:3\r\n$2\r\nid\r\n";
    let reply = roundtrip(&mut s, b"HELLO 3\r\n", hello3.len() + 40);
    assert!(
        reply.starts_with(hello3),
        "{}",
        String::from_utf8_lossy(&reply)
    );
    assert!(reply.ends_with(
        b"$4\r\nmode\r\n$10\r\nstandalone\r\n$4\r\nrole\r\n$6\r\nmaster\r\n$7\r\nmodules\r\n*0\r\n"
    ));
    let reply = roundtrip(&mut s, b"CLIENT ID\r\n", 3);
    assert!(reply.starts_with(b":") && reply.ends_with(b"\r\n"));
    let reply = roundtrip(&mut s, b"TIME\r\n", 30);
    assert!(
        reply.starts_with(b"*2\r\n$10\r\n"),
        "{}",
        String::from_utf8_lossy(&reply)
    );
    let reply = String::from_utf8(roundtrip(&mut s, b"CLIENT INFO\r\n", 200)).unwrap();
    assert!(reply.starts_with("="), "RESP3 verbatim: {reply}");
    assert!(
        reply.contains(" name=my-conn ")
            && reply.contains(" cmd=client|info ")
            && reply.contains(" resp=3"),
        "{reply}"
    );
}

#[test]
fn info_has_real_numbers() {
    let server = Ferrite::start(&[]);
    block_on(async {
        let mut con = server.conn().await;
        let _: () = con.set("a", 1).await.unwrap();
        let _: () = con.set("b", 2).await.unwrap();
        let _: () = con.set("c", 3).await.unwrap();
        let _: redis::RedisResult<()> = redis::cmd("SET").arg("x").query_async(&mut con).await;
        let info: String = redis::cmd("INFO").query_async(&mut con).await.unwrap();
        for section in [
            "# Server",
            "# Clients",
            "# Memory",
            "# Stats",
            "# Errorstats",
            "# Keyspace",
        ] {
            assert!(info.contains(section), "missing {section}: {info}");
        }
        assert!(
            !info.contains("# Commandstats"),
            "commandstats is not a default section"
        );
        assert!(info.contains("db0:keys=3,expires=0,avg_ttl=0"), "{info}");
        assert!(info.contains("connected_clients:1"), "{info}");
        assert!(info.contains("errorstat_ERR:count="), "{info}");
        let used: u64 = info
            .lines()
            .find_map(|l| l.strip_prefix("used_memory:"))
            .and_then(|v| v.trim().parse().ok())
            .expect("used_memory");
        assert!(used > 100_000, "used_memory looks wrong: {used}");
        let stats: String = redis::cmd("INFO")
            .arg("commandstats")
            .query_async(&mut con)
            .await
            .unwrap();
        assert!(stats.starts_with("# Commandstats\r\n"), "{stats}");
        assert!(stats.contains("cmdstat_set:calls=3,"), "{stats}");
        assert!(stats.contains("rejected_calls=1"), "{stats}");
    });
}

#[test]
fn maxclients_refuses_extra_clients() {
    let server = Ferrite::start(&["--maxclients", "2"]);
    let mut a = server.raw();
    let mut b = server.raw();
    assert_eq!(roundtrip(&mut a, b"PING\r\n", 7), b"+PONG\r\n");
    assert_eq!(roundtrip(&mut b, b"PING\r\n", 7), b"+PONG\r\n");
    let mut c = server.raw();
    let expected: &[u8] = b"-ERR max number of clients reached\r\n";
    assert_eq!(read_at_least(&mut c, expected.len()), expected);
    assert!(is_closed(&mut c));
    drop(a);
    std::thread::sleep(Duration::from_millis(200));
    let mut d = server.raw();
    assert_eq!(roundtrip(&mut d, b"PING\r\n", 7), b"+PONG\r\n");
}

#[test]
fn query_buffer_limit_closes_the_client() {
    let server = Ferrite::start(&["--client-query-buffer-limit", "1mb"]);
    let mut good = server.raw();
    let mut greedy = server.raw();
    use std::io::Write;
    greedy
        .write_all(b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$4000000\r\n")
        .unwrap();
    let chunk = vec![b'x'; 64 * 1024];
    let mut closed = false;
    for _ in 0..40 {
        if greedy.write_all(&chunk).is_err() {
            closed = true;
            break;
        }
    }
    closed = closed || is_closed(&mut greedy);
    assert!(
        closed,
        "a client above client-query-buffer-limit must be closed"
    );
    assert_eq!(roundtrip(&mut good, b"PING\r\n", 7), b"+PONG\r\n");
}

#[test]
fn shutdown_command_exits_cleanly() {
    let mut server = Ferrite::start(&[]);
    let mut s = server.raw();
    use std::io::Write;
    s.write_all(b"SHUTDOWN NOSAVE\r\n").unwrap();
    assert!(is_closed(&mut s));
    let status = server
        .wait_exit(Duration::from_secs(10))
        .expect("ferrite must exit after SHUTDOWN");
    assert!(status.success(), "{status:?}");
}

#[test]
fn sigterm_exits_cleanly() {
    let mut server = Ferrite::start(&[]);
    let mut s = server.raw();
    assert_eq!(roundtrip(&mut s, b"PING\r\n", 7), b"+PONG\r\n");
    server.terminate();
    let status = server
        .wait_exit(Duration::from_secs(10))
        .expect("ferrite must exit on SIGTERM");
    assert!(status.success(), "{status:?}");
    assert!(is_closed(&mut s));
    assert!(server.log.lock().unwrap().contains("SIGTERM"));
}

#[test]
fn exec_is_atomic_under_concurrency() {
    let server = Ferrite::start(&[]);
    block_on(async {
        let mut tasks = Vec::new();
        for _ in 0..4 {
            let mut con = server.conn().await;
            tasks.push(tokio::spawn(async move {
                for _ in 0..200 {
                    let (a, b): (i64, i64) = redis::pipe()
                        .atomic()
                        .incr("n", 1)
                        .incr("n", 1)
                        .query_async(&mut con)
                        .await
                        .unwrap();
                    assert_eq!(
                        b,
                        a + 1,
                        "another client ran between the commands of a transaction"
                    );
                    let _: i64 = con.incr("n", 1).await.unwrap();
                }
            }));
        }
        for task in tasks {
            task.await.unwrap();
        }
        let mut con = server.conn().await;
        let n: i64 = con.get("n").await.unwrap();
        assert_eq!(n, 4 * 200 * 3);
    });
}

#[test]
fn output_buffer_limit_closes_the_client() {
    let server = Ferrite::start(&["--client-output-buffer-limit", "normal 1mb 0 0"]);
    block_on(async {
        let mut con = server.conn().await;
        let _: () = con.set("big", vec![b'x'; 2 << 20]).await.unwrap();
    });
    let mut s = server.raw();
    use std::io::Write;
    s.write_all(b"GET big\r\n").unwrap();
    assert!(
        is_closed(&mut s),
        "a reply above client-output-buffer-limit must close the client"
    );
    let mut other = server.raw();
    assert_eq!(
        roundtrip(&mut other, b"STRLEN big\r\n", 10),
        b":2097152\r\n"
    );
}

#[test]
fn config_set_requirepass_applies_to_new_connections() {
    let server = Ferrite::start(&[]);
    let mut admin = server.raw();
    assert_eq!(
        roundtrip(&mut admin, b"CONFIG SET requirepass pw\r\n", 5),
        b"+OK\r\n"
    );
    assert_eq!(roundtrip(&mut admin, b"PING\r\n", 7), b"+PONG\r\n");
    let mut fresh = server.raw();
    assert_eq!(
        roundtrip(&mut fresh, b"PING\r\n", 34),
        b"-NOAUTH Authentication required.\r\n"
    );
    assert_eq!(
        roundtrip(&mut fresh, b"AUTH pw\r\nPING\r\n", 12),
        b"+OK\r\n+PONG\r\n"
    );
}

#[test]
fn redis_crate_over_resp3() {
    let server = Ferrite::start(&[]);
    block_on(async {
        let client =
            redis::Client::open(format!("redis://127.0.0.1:{}/?protocol=resp3", server.port))
                .unwrap();
        let mut con = client.get_multiplexed_async_connection().await.unwrap();
        let _: () = con.hset("h", "f", "v").await.unwrap();
        let all: std::collections::HashMap<String, String> = con.hgetall("h").await.unwrap();
        assert_eq!(all.get("f").map(String::as_str), Some("v"));
        let info: String = redis::cmd("CLIENT")
            .arg("INFO")
            .query_async(&mut con)
            .await
            .unwrap();
        assert!(info.contains(" resp=3"), "{info}");
    });
}

#[test]
fn config_get_glob_patterns() {
    let server = Ferrite::start(&[]);
    let mut s = server.raw();
    let reply = common::request(&mut s, b"CONFIG GET client-* MAXCLIENTS\r\n");
    let ferrite_protocol::Frame::Array(items) = reply else {
        panic!("{reply:?}")
    };
    let names: Vec<String> = items
        .iter()
        .step_by(2)
        .map(|f| String::from_utf8_lossy(f.as_bytes().unwrap()).into_owned())
        .collect();
    assert_eq!(
        names,
        [
            "client-query-buffer-limit",
            "client-output-buffer-limit",
            "MAXCLIENTS"
        ]
    );
    let reply = common::request(&mut s, b"CONFIG GET wasm.pool.*\r\n");
    let ferrite_protocol::Frame::Array(items) = reply else {
        panic!("{reply:?}")
    };
    assert_eq!(items.len(), 6, "{items:?}");
}
