//! Starts the real `ferrite` binary on a free loopback port for a test and
//! kills it at the end.

#![allow(dead_code)] // reason: each test binary uses a different subset of the helpers

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How long the server may take to start.
pub const START_TIMEOUT: Duration = Duration::from_secs(10);

/// A running server.
pub struct Ferrite {
    child: Child,
    /// The port it listens on.
    pub port: u16,
    /// Everything it logged so far.
    pub log: Arc<Mutex<String>>,
}

/// The outcome of a server that was expected to refuse to start.
pub struct Refused {
    pub code: Option<i32>,
    pub stderr: String,
}

fn command(args: &[&str], env: &[(&str, &str)]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_ferrite"));
    cmd.args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    for (key, _) in std::env::vars() {
        if key.starts_with("FERRITE_") {
            cmd.env_remove(key);
        }
    }
    for (key, value) in env {
        cmd.env(key, value);
    }
    cmd
}

impl Ferrite {
    /// Starts `ferrite --port 0 <args>` and waits for its "Ready" log line.
    pub fn start(args: &[&str]) -> Ferrite {
        Ferrite::start_with_env(args, &[])
    }

    /// Like [`Ferrite::start`] with extra environment variables.
    pub fn start_with_env(args: &[&str], env: &[(&str, &str)]) -> Ferrite {
        let mut all = vec!["--port", "0"];
        all.extend_from_slice(args);
        let mut child = command(&all, env).spawn().expect("spawn ferrite");
        let stderr = child.stderr.take().expect("stderr");
        let log = Arc::new(Mutex::new(String::new()));
        let (tx, rx) = mpsc::channel();
        let sink = Arc::clone(&log);
        std::thread::spawn(move || {
            let mut tx = Some(tx);
            for line in BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                if let Some(addr) = line.split("Ready to accept connections on ").nth(1) {
                    let addr = addr.split_whitespace().next().unwrap_or_default();
                    let port = addr.rsplit(':').next().and_then(|p| p.parse::<u16>().ok());
                    if let (Some(tx), Some(port)) = (tx.take(), port) {
                        let _ = tx.send(port);
                    }
                }
                let mut log = sink.lock().unwrap();
                log.push_str(&line);
                log.push('\n');
            }
        });
        let port = match rx.recv_timeout(START_TIMEOUT) {
            Ok(port) => port,
            Err(_) => {
                let _ = child.kill();
                panic!("ferrite did not start; log:\n{}", log.lock().unwrap());
            }
        };
        Ferrite { child, port, log }
    }

    /// Runs `ferrite <args>` expecting it to exit with an error quickly;
    /// `--port 0` unless `args` name a port, so a refusal never depends on
    /// whether 6379 is free on this machine.
    pub fn refuse(args: &[&str], env: &[(&str, &str)]) -> Refused {
        let mut all = Vec::with_capacity(args.len() + 2);
        if !args.contains(&"--port") {
            all.extend_from_slice(&["--port", "0"]);
        }
        all.extend_from_slice(args);
        let args = all.as_slice();
        let mut child = command(args, env).spawn().expect("spawn ferrite");
        let deadline = Instant::now() + START_TIMEOUT;
        loop {
            if let Some(status) = child.try_wait().expect("wait") {
                let mut stderr = String::new();
                child
                    .stderr
                    .take()
                    .unwrap()
                    .read_to_string(&mut stderr)
                    .unwrap();
                return Refused {
                    code: status.code(),
                    stderr,
                };
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                panic!("ferrite {args:?} did not exit");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// `redis://127.0.0.1:port/`.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/", self.port)
    }

    /// A multiplexed async connection through the `redis` crate.
    pub async fn conn(&self) -> redis::aio::MultiplexedConnection {
        let client = redis::Client::open(self.url()).unwrap();
        tokio::time::timeout(
            Duration::from_secs(5),
            client.get_multiplexed_async_connection(),
        )
        .await
        .expect("connect timeout")
        .expect("connect")
    }

    /// A raw TCP connection with a read timeout.
    pub fn raw(&self) -> TcpStream {
        let stream = TcpStream::connect(("127.0.0.1", self.port)).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(5)))
            .unwrap();
        stream
    }

    /// Waits for the process to exit by itself.
    pub fn wait_exit(&mut self, timeout: Duration) -> Option<std::process::ExitStatus> {
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            if let Some(status) = self.child.try_wait().unwrap() {
                return Some(status);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        None
    }

    /// Sends SIGTERM.
    pub fn terminate(&self) {
        let status = Command::new("kill")
            .arg("-TERM")
            .arg(self.child.id().to_string())
            .status()
            .unwrap();
        assert!(status.success());
    }
}

impl Drop for Ferrite {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Sends raw bytes and reads until `expected_len` bytes arrived, the peer
/// closed, or the timeout.
pub fn roundtrip(stream: &mut TcpStream, request: &[u8], expected_len: usize) -> Vec<u8> {
    stream.write_all(request).unwrap();
    read_at_least(stream, expected_len)
}

/// Reads until `len` bytes, EOF or timeout.
pub fn read_at_least(stream: &mut TcpStream, len: usize) -> Vec<u8> {
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    while out.len() < len {
        match stream.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => out.extend_from_slice(&buf[..n]),
            Err(_) => break,
        }
    }
    out
}

/// Whether the peer closed the connection (EOF or reset within the read
/// timeout; data or a timeout mean it is open).
pub fn is_closed(stream: &mut TcpStream) -> bool {
    let mut buf = [0u8; 64];
    match stream.read(&mut buf) {
        Ok(0) => true,
        Ok(_) => false,
        Err(e) => matches!(
            e.kind(),
            std::io::ErrorKind::ConnectionReset
                | std::io::ErrorKind::ConnectionAborted
                | std::io::ErrorKind::BrokenPipe
        ),
    }
}

/// Sends a request and reads exactly one complete RESP reply.
pub fn request(stream: &mut TcpStream, request: &[u8]) -> ferrite_protocol::Frame {
    stream.write_all(request).unwrap();
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        if let Some((frame, _)) = ferrite_protocol::parse_frame(&out).expect("valid RESP") {
            return frame;
        }
        let n = stream.read(&mut buf).expect("reply before the timeout");
        assert!(n > 0, "connection closed before a full reply");
        out.extend_from_slice(&buf[..n]);
    }
}

/// A loopback port that was free a moment ago, below Linux's ephemeral range
/// (32768–60999): a port from `bind(0)` comes from that range, where any
/// client socket of a parallel test may take it before the server binds it.
pub fn free_port() -> u16 {
    use std::hash::{BuildHasher, Hasher};
    loop {
        let random = std::collections::hash_map::RandomState::new()
            .build_hasher()
            .finish();
        let port = 20_000 + (random % 12_000) as u16;
        if std::net::TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
}
