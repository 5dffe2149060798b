//! Test guest for the WASI sandbox (crates/ferrite-wasm/src/wasi.rs).
//! Built by the tests with Debian's Rust 1.63:
//! `rustc --target wasm32-wasi --crate-type cdylib -O lib.rs`.
use std::io::{Read, Write};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

#[link(wasm_import_module = "wasi_snapshot_preview1")]
extern "C" {
    fn random_get(buf: *mut u8, len: usize) -> u16;
}

/// Writes to stdout and stderr, ending with an unterminated line.
#[no_mangle]
pub extern "C" fn hello() {
    println!("hello from rust");
    eprintln!("warning from rust");
    print!("no newline");
    let _ = std::io::stdout().flush();
}

/// Unix time in ns as the guest sees it.
#[no_mangle]
pub extern "C" fn now_ns() -> u64 {
    match SystemTime::now().duration_since(UNIX_EPOCH) {
        Ok(d) => d.as_nanos() as u64,
        Err(_) => u64::MAX,
    }
}

/// Eight bytes from `random_get`.
#[no_mangle]
pub extern "C" fn random_u64() -> u64 {
    let mut bytes = [0u8; 8];
    // SAFETY: the buffer is valid for 8 bytes.
    let errno = unsafe { random_get(bytes.as_mut_ptr(), bytes.len()) };
    assert_eq!(errno, 0);
    u64::from_le_bytes(bytes)
}

/// Sleeps `ms` milliseconds; returns the elapsed monotonic ns the guest saw.
#[no_mangle]
pub extern "C" fn sleep_ms(ms: u32) -> u64 {
    let start = Instant::now();
    std::thread::sleep(Duration::from_millis(u64::from(ms)));
    start.elapsed().as_nanos() as u64
}

/// Reads stdin to the end; returns the byte count, or -1 on error.
#[no_mangle]
pub extern "C" fn read_stdin() -> i32 {
    let mut buf = Vec::new();
    match std::io::stdin().read_to_end(&mut buf) {
        Ok(n) => n as i32,
        Err(_) => -1,
    }
}

/// Tries to open a file; returns 0 on success, else the errno.
#[no_mangle]
pub extern "C" fn open_file() -> i32 {
    match std::fs::File::open("/etc/passwd") {
        Ok(_) => 0,
        Err(e) => e.raw_os_error().unwrap_or(-1),
    }
}

/// Number of environment variables plus program arguments.
#[no_mangle]
pub extern "C" fn env_count() -> i32 {
    (std::env::vars_os().count() + std::env::args_os().count()) as i32
}

/// Ends the process with `code`.
#[no_mangle]
pub extern "C" fn exit_with(code: i32) {
    std::process::exit(code)
}
