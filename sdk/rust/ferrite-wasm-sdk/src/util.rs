//! Logging, time and randomness (capabilities `log`, `time`, `random`).

use crate::{sys, wasm_len};

/// Log levels of [`ferrite_log`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(i32)]
pub enum LogLevel {
    /// 0
    Error = 0,
    /// 1
    Warn = 1,
    /// 2
    Info = 2,
    /// 3
    Debug = 3,
    /// 4
    Trace = 4,
}

/// Writes `message` to the server log (needs capability `log`).
pub fn ferrite_log(level: LogLevel, message: impl AsRef<str>) {
    let message = message.as_ref().as_bytes();
    // SAFETY: `message` is a live slice the host only reads.
    unsafe { sys::ferrite_log(level as i32, message.as_ptr(), wasm_len(message)) }
}

/// Unix time in milliseconds (needs capability `time`).
pub fn ferrite_time_millis() -> i64 {
    // SAFETY: no pointers are passed.
    unsafe { sys::ferrite_time_millis() }
}

/// Unix time in milliseconds (alias of [`ferrite_time_millis`]).
pub fn ferrite_now() -> i64 {
    // SAFETY: no pointers are passed.
    unsafe { sys::ferrite_now() }
}

/// A uniform random number in [0, 1) (needs capability `random`).
pub fn ferrite_random_f64() -> f64 {
    // SAFETY: no pointers are passed.
    unsafe { sys::ferrite_random_f64() }
}

/// Fills `buf` with random bytes (needs capability `random`).
pub fn ferrite_random_bytes(buf: &mut [u8]) {
    // SAFETY: `buf` is a live, writable slice of `buf.len()` bytes.
    let n = unsafe { sys::ferrite_random_bytes(buf.as_mut_ptr(), wasm_len(buf)) };
    assert_eq!(n as usize, buf.len(), "host filled {} of {} random bytes", n, buf.len());
}

/// A random 128-bit identifier as 32 lower-case hex digits (needs capability `random`).
pub fn ferrite_random_id() -> String {
    let mut bytes = [0u8; 16];
    ferrite_random_bytes(&mut bytes);
    hex(&bytes)
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(DIGITS[(b >> 4) as usize] as char);
        s.push(DIGITS[(b & 0xf) as usize] as char);
    }
    s
}

#[cfg(test)]
mod tests {
    #[test]
    fn hex() {
        assert_eq!(super::hex(&[0x00, 0xab, 0xff]), "00abff");
    }
}
