//! WASI modules through the executor (`_initialize`, `proc_exit`, stdout)
//! and `ferrite_http` against a loopback server started by the test.

mod common;

use std::io::{Read, Write};
use std::net::TcpListener;
use std::time::Duration;

use common::*;
use ferrite_wasm::{Capabilities, FunctionPermissions, WasmError, WasmValue};

const WASI: &str = r#"(module
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
  (import "ferrite" "ferrite_return_int" (func $ret (param i64)))
  (memory (export "memory") 1)
  (global $init (mut i32) (i32.const 0))
  (data (i32.const 100) "hello from wasi stdout\n")
  ;; iovec at 0: ptr 100, len 23
  (data (i32.const 0) "\64\00\00\00\17\00\00\00")
  (func (export "_initialize") (global.set $init (i32.add (global.get $init) (i32.const 1))))
  (func (export "initialized") (call $ret (i64.extend_i32_s (global.get $init))))
  (func (export "print") (result i32) (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 50)))
  (func (export "exit3") (call $exit (i32.const 3)))
  (func (export "exit0") (call $ret (i64.const 7)) (call $exit (i32.const 0)) (unreachable)))"#;

#[test]
fn wasi_reactor_initialize_stdout_and_exit() {
    let (x, _) = setup();
    x.load("w", module(WASI), Some(all())).unwrap();
    assert!(x.info("w").unwrap().wasi);
    // `_initialize` runs once on every fresh instance, before the entry.
    for _ in 0..3 {
        assert_eq!(
            x.call("w", "initialized", vec![], None).unwrap(),
            WasmValue::I64(1)
        );
    }
    // fd_write to stdout succeeds (errno 0) and the bytes reach the log.
    assert_eq!(
        x.call("w", "print", vec![], None).unwrap(),
        WasmValue::I64(0)
    );
    assert_eq!(x.call("w", "exit3", vec![], None), Err(WasmError::Exit(3)));
    assert_eq!(
        WasmError::Exit(3).reply_text(),
        "ERR function exited with code 3"
    );
    // proc_exit(0) ends the call successfully with the reply set so far.
    assert_eq!(
        x.call("w", "exit0", vec![], None).unwrap(),
        WasmValue::I64(7)
    );
}

const HTTP: &str = r#"(module
  (import "ferrite" "ferrite_arg" (func $arg (param i32) (result i64)))
  (import "ferrite" "ferrite_result_read" (func $read (param i32 i32) (result i32)))
  (import "ferrite" "ferrite_http" (func $http (param i32 i32) (result i64)))
  (import "ferrite" "ferrite_return" (func $return (param i32 i32)))
  (memory (export "memory") 1)
  ;; argument 0 is the list-encoded request; the reply is the encoded response
  (func (export "fetch") (local $n i32) (local $r i64)
    (local.set $n (i32.wrap_i64 (call $arg (i32.const 0))))
    (drop (call $read (i32.const 0) (local.get $n)))
    (local.set $r (call $http (i32.const 0) (local.get $n)))
    (drop (call $read (i32.const 8192) (i32.wrap_i64 (local.get $r))))
    (call $return (i32.const 8192) (i32.wrap_i64 (local.get $r)))))"#;

/// Serves one HTTP request on a free loopback port; returns the port.
fn serve_once(body: &'static str) -> (u16, std::thread::JoinHandle<String>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let handle = std::thread::spawn(move || {
        let (mut conn, _) = listener.accept().unwrap();
        conn.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        let mut request = Vec::new();
        let mut buf = [0u8; 1024];
        while !request.windows(4).any(|w| w == b"\r\n\r\n") {
            let n = conn.read(&mut buf).unwrap();
            if n == 0 {
                break;
            }
            request.extend_from_slice(&buf[..n]);
        }
        let reply = format!(
            "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nX-Test: yes\r\nConnection: close\r\n\r\n{body}",
            body.len()
        );
        conn.write_all(reply.as_bytes()).unwrap();
        String::from_utf8_lossy(&request).into_owned()
    });
    (port, handle)
}

#[test]
fn http_host_call_reaches_an_allowed_loopback_server() {
    let (x, _) = setup();
    let (port, server) = serve_once("pong");
    let perms = FunctionPermissions::read_write()
        .with_capabilities(Capabilities::all())
        .with_http_hosts(vec![format!("127.0.0.1:{port}")]);
    x.load("h", module(HTTP), Some(perms)).unwrap();
    let url = format!("http://127.0.0.1:{port}/ping");
    let request = list(&[b"GET", url.as_bytes(), b"", b"X-Req", b"1"]);
    let WasmValue::Bytes(response) = x
        .call("h", "fetch", vec![WasmValue::Bytes(request)], None)
        .unwrap()
    else {
        panic!()
    };
    // status, body, then headers
    let count = u32::from_le_bytes(response[..4].try_into().unwrap());
    assert!(count >= 2 && count % 2 == 0, "{count}");
    assert_eq!(&response[4..8], &3u32.to_le_bytes());
    assert_eq!(&response[8..11], b"200");
    assert_eq!(&response[11..15], &4u32.to_le_bytes());
    assert_eq!(&response[15..19], b"pong");
    let seen = server.join().unwrap();
    assert!(seen.starts_with("GET /ping HTTP/1.1\r\n"), "{seen}");
    assert!(seen.contains("X-Req: 1"), "{seen}");

    // A host not on the allow-list is refused without a connection.
    let request = list(&[b"GET", b"http://127.0.0.2:1/", b""]);
    match x.call("h", "fetch", vec![WasmValue::Bytes(request)], None) {
        Err(WasmError::CommandError(m)) => assert!(m.starts_with("ERR http: "), "{m}"),
        other => panic!("{other:?}"),
    }
    // Without the http capability the host call is denied.
    x.load("h2", module(HTTP), Some(FunctionPermissions::read_write()))
        .unwrap();
    let request = list(&[b"GET", url.as_bytes(), b""]);
    assert!(matches!(
        x.call("h2", "fetch", vec![WasmValue::Bytes(request)], None),
        Err(WasmError::PermissionDenied(_))
    ));
}
