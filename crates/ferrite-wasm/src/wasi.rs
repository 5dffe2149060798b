//! WASI preview 1 (`wasi_snapshot_preview1`), hand-written, deny by default.
//!
//! Every function of preview 1 is defined with its exact signature, so any
//! Go (`GOOS=wasip1`) or Rust `wasm32-wasi` module links, but the sandbox
//! grants almost nothing (docs/abi.md §6):
//!
//! * only fds 0, 1 and 2 exist; they are character devices with fixed
//!   rights (0: read, 1 and 2: write). An operation needing a right the fd
//!   lacks returns `ENOTCAPABLE`, an unknown fd `EBADF`;
//! * no preopens (`fd_prestat_get` returns `EBADF`, so libc stops scanning),
//!   so every `path_*` function fails (`ENOTCAPABLE` on a stdio fd, else
//!   `EBADF`), and there is no filesystem code at all;
//! * no sockets, no program arguments, no environment;
//! * `fd_write` to 1 and 2 goes to the log (target `ferrite::wasm::guest`)
//!   line by line, only with capability `log`; otherwise it is accepted and
//!   dropped. `fd_read` on 0 reads end of file;
//! * `clock_time_get` reads real clocks only with capability `time`; else
//!   realtime reads 0 and monotonic a constant 1 ns, `random_get` fills real random bytes only with `random` (else
//!   zeros);
//! * `poll_oneoff` really sleeps for clock subscriptions, but never past the
//!   call's deadline ([`WasiCtx::deadline`]), since epoch interruption cannot
//!   preempt a sleeping host function;
//! * `proc_exit(code)` ends the call with the typed error [`WasiExit`].
//!
//! A guest pointer outside memory traps the call with
//! [`HostError::BadPointer`](crate::memory::HostError) like every other host
//! function, rather than returning `EFAULT`.

use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use rand::RngCore;
use wasmtime::{Caller, Linker, Memory};

use crate::memory::{self, HostError};
use crate::reuse::DirtyChunks;

/// Import module name of WASI preview 1.
pub(crate) const MODULE: &str = "wasi_snapshot_preview1";

/// Bytes of guest output logged per call (stdout and stderr together);
/// output past it is dropped with one notice.
pub(crate) const LOG_BYTES_MAX: usize = 64 * 1024;
/// Longest line logged as one record; a longer line is split.
pub(crate) const LOG_LINE_BYTES_MAX: usize = 4 * 1024;
/// Most iovecs accepted by one `fd_read` / `fd_write` (POSIX `IOV_MAX`).
const IOVS_MAX: u32 = 1024;
/// Longest single `poll_oneoff` sleep when no call deadline is set.
const POLL_SLEEP_MAX: Duration = Duration::from_secs(60);

/// What the monotonic clock reads without capability `time`. Not 0: Go's
/// runtime aborts at start-up ("nanotime returning zero") on a zero clock.
pub(crate) const FROZEN_MONOTONIC_NS: u64 = 1;

/// `wasi_snapshot_preview1` errno values used here.
mod errno {
    pub const SUCCESS: i32 = 0;
    pub const BADF: i32 = 8;
    pub const INVAL: i32 = 28;
    pub const NOTSUP: i32 = 58;
    pub const NOTCAPABLE: i32 = 76;
}

/// Rights (`rights` bit flags) of the standard fds.
mod rights {
    pub const FD_DATASYNC: u64 = 1 << 0;
    pub const FD_READ: u64 = 1 << 1;
    pub const FD_SYNC: u64 = 1 << 4;
    pub const FD_WRITE: u64 = 1 << 6;
    pub const FD_FILESTAT_GET: u64 = 1 << 21;
    pub const POLL_FD_READWRITE: u64 = 1 << 27;
}

const FILETYPE_CHARACTER_DEVICE: u8 = 2;
const CLOCK_REALTIME: u32 = 0;
const CLOCK_MONOTONIC: u32 = 1;
const EVENTTYPE_CLOCK: u8 = 0;
const EVENTTYPE_FD_READ: u8 = 1;
const EVENTTYPE_FD_WRITE: u8 = 2;
const SUBCLOCKFLAGS_ABSTIME: u16 = 1;
const EVENTRWFLAGS_HANGUP: u16 = 1;
const SUBSCRIPTION_BYTES: u32 = 48;
const EVENT_BYTES: u32 = 32;
const FDSTAT_BYTES: u32 = 24;
const FILESTAT_BYTES: u32 = 64;
const IOVEC_BYTES: u32 = 8;

/// `proc_exit(code)` was called: the call ends here.
///
/// Returned from the host function as its `wasmtime::Error`; the runtime
/// downcasts to this type (`ERR function exited with code N` unless 0).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("function exited with code {0}")]
pub struct WasiExit(pub i32);

/// Per-call WASI state: granted capabilities and buffered guest output.
///
/// Create one with [`WasiCtx::new`] (everything denied), set the
/// capabilities, and call [`WasiCtx::finish`] when the call ends (dropping
/// it does the same) so that a last unterminated line is logged.
#[derive(Debug)]
pub(crate) struct WasiCtx {
    /// Capability `time`: clocks read real time, else 0.
    pub time: bool,
    /// Capability `random`: `random_get` is real, else zeros.
    pub random: bool,
    /// Capability `log`: stdout/stderr go to the log, else are dropped.
    pub log: bool,
    /// Name of the function being called, attached to every log line.
    pub function: Arc<str>,
    /// Set by `proc_exit`.
    pub exit_code: Option<i32>,
    /// End of the call: `poll_oneoff` never sleeps past it.
    pub deadline: Option<Instant>,
    /// Inline attempt (`WasmExecutor::try_execute_inline`): `poll_oneoff`
    /// may not sleep; it defers the call instead.
    pub inline: bool,
    /// `poll_oneoff` deferred the inline attempt.
    pub deferred: bool,
    /// stdout and stderr line buffers.
    streams: [LineBuffer; 2],
    /// Bytes logged so far in this call (both streams).
    logged_bytes: usize,
    /// Whether the guest closed fd 0, 1 or 2.
    closed: [bool; 3],
    /// Where the host wrote into guest memory in this call (WASI and
    /// `ferrite` functions alike), for instance reuse (`crate::reuse`).
    pub dirty: crate::reuse::DirtyChunks,
}

#[derive(Debug, Default)]
struct LineBuffer {
    partial: Vec<u8>,
}

impl WasiCtx {
    /// A context for calling `function` with every capability denied.
    pub(crate) fn new(function: Arc<str>) -> Self {
        Self {
            time: false,
            random: false,
            log: false,
            function,
            exit_code: None,
            deadline: None,
            inline: false,
            deferred: false,
            streams: Default::default(),
            logged_bytes: 0,
            closed: [false; 3],
            dirty: crate::reuse::DirtyChunks::default(),
        }
    }

    /// Back to the state of a new context for the next call on the same
    /// instance (capabilities, deadline and `inline` are set per call);
    /// keeps the chunk size of `dirty`, clears its mask.
    pub(crate) fn reset(&mut self) {
        self.exit_code = None;
        self.deferred = false;
        for stream in &mut self.streams {
            stream.partial.clear();
        }
        self.logged_bytes = 0;
        self.closed = [false; 3];
        self.dirty.mask = 0;
    }

    /// Logs any unterminated output line. Idempotent.
    pub(crate) fn finish(&mut self) {
        for fd in [1, 2] {
            self.flush_stream(fd);
        }
    }

    fn is_open(&self, fd: i32) -> bool {
        usize::try_from(fd)
            .ok()
            .and_then(|i| self.closed.get(i))
            .is_some_and(|closed| !closed)
    }

    /// Rights of an open fd, or `EBADF`.
    fn rights(&self, fd: i32) -> Result<u64, i32> {
        if !self.is_open(fd) {
            return Err(errno::BADF);
        }
        let common = rights::FD_FILESTAT_GET | rights::POLL_FD_READWRITE;
        Ok(match fd {
            0 => common | rights::FD_READ,
            _ => common | rights::FD_WRITE | rights::FD_SYNC | rights::FD_DATASYNC,
        })
    }

    /// `Ok` if `fd` is open and has `right`; else `EBADF` / `ENOTCAPABLE`.
    fn require(&self, fd: i32, right: u64) -> Result<(), i32> {
        if self.rights(fd)? & right == right {
            Ok(())
        } else {
            Err(errno::NOTCAPABLE)
        }
    }

    /// Stream index (0 stdout, 1 stderr) of fd 1 or 2.
    fn stream_index(fd: i32) -> Option<usize> {
        match fd {
            1 => Some(0),
            2 => Some(1),
            _ => None,
        }
    }

    /// Accepts guest output for fd 1 or 2: buffered into lines and logged
    /// with capability `log`, dropped otherwise.
    fn write_output(&mut self, fd: i32, mut bytes: &[u8]) {
        let Some(index) = Self::stream_index(fd) else {
            return;
        };
        if !self.log || self.logged_bytes >= LOG_BYTES_MAX {
            return;
        }
        while !bytes.is_empty() {
            if let Some(newline) = bytes.iter().position(|b| *b == b'\n') {
                self.push_partial(index, fd, &bytes[..newline]);
                self.emit_line(fd);
                bytes = &bytes[newline + 1..];
            } else {
                self.push_partial(index, fd, bytes);
                bytes = &[];
            }
        }
    }

    /// Appends to a partial line, splitting lines longer than the limit.
    fn push_partial(&mut self, index: usize, fd: i32, mut bytes: &[u8]) {
        while !bytes.is_empty() {
            let room = LOG_LINE_BYTES_MAX - self.streams[index].partial.len();
            let take = room.min(bytes.len());
            self.streams[index]
                .partial
                .extend_from_slice(&bytes[..take]);
            bytes = &bytes[take..];
            if self.streams[index].partial.len() == LOG_LINE_BYTES_MAX {
                self.emit_line(fd);
            }
        }
        debug_assert!(self.streams[index].partial.len() < LOG_LINE_BYTES_MAX);
    }

    /// Logs the buffered partial line of fd 1 or 2, if there is one.
    fn flush_stream(&mut self, fd: i32) {
        if let Some(index) = Self::stream_index(fd) {
            if !self.streams[index].partial.is_empty() {
                self.emit_line(fd);
            }
        }
    }

    /// Logs the buffered line of fd 1 or 2 (possibly empty) and clears it,
    /// within the per-call cap.
    fn emit_line(&mut self, fd: i32) {
        let Some(index) = Self::stream_index(fd) else {
            return;
        };
        let line = std::mem::take(&mut self.streams[index].partial);
        if self.logged_bytes >= LOG_BYTES_MAX {
            return;
        }
        let room = LOG_BYTES_MAX - self.logged_bytes;
        let shown = &line[..line.len().min(room)];
        // Count the newline too, so a flood of empty lines is capped.
        self.logged_bytes = self.logged_bytes.saturating_add(line.len() + 1);
        let text = String::from_utf8_lossy(shown);
        let function = &*self.function;
        if fd == 1 {
            tracing::info!(target: "ferrite::wasm::guest", function, stream = "stdout", "{text}");
        } else {
            tracing::warn!(target: "ferrite::wasm::guest", function, stream = "stderr", "{text}");
        }
        if self.logged_bytes >= LOG_BYTES_MAX {
            tracing::warn!(
                target: "ferrite::wasm::guest",
                function,
                "output limit of {LOG_BYTES_MAX} bytes per call reached; further output dropped"
            );
        }
    }

    /// Nanoseconds on `clock`, or `None` for an unsupported clock. Without
    /// capability `time` the clocks are frozen: realtime at 0 (1970) and
    /// monotonic at [`FROZEN_MONOTONIC_NS`].
    fn now_ns(&self, clock: u32) -> Option<u64> {
        if clock != CLOCK_REALTIME && clock != CLOCK_MONOTONIC {
            return None;
        }
        if !self.time {
            return Some(if clock == CLOCK_MONOTONIC {
                FROZEN_MONOTONIC_NS
            } else {
                0
            });
        }
        let nanos = if clock == CLOCK_REALTIME {
            SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .unwrap_or_default()
                .as_nanos()
        } else {
            monotonic_base().elapsed().as_nanos()
        };
        Some(u64::try_from(nanos).unwrap_or(u64::MAX))
    }
}

impl Drop for WasiCtx {
    fn drop(&mut self) {
        self.finish();
    }
}

/// Process-wide origin of `CLOCK_MONOTONIC`.
fn monotonic_base() -> Instant {
    static BASE: OnceLock<Instant> = OnceLock::new();
    *BASE.get_or_init(Instant::now)
}

/// Result of a WASI function body: an errno to return, or a trap.
type Errno = Result<i32, HostError>;

/// Maps `Result<(), errno>` to an errno.
fn status(result: Result<(), i32>) -> i32 {
    match result {
        Ok(()) => errno::SUCCESS,
        Err(code) => code,
    }
}

/// Returns the errno early from a WASI function body.
macro_rules! check {
    ($result:expr) => {
        if let Err(code) = $result {
            return Ok(code);
        }
    };
}

/// Defines every `wasi_snapshot_preview1` function in `linker`. `get` finds
/// the [`WasiCtx`] in the store data.
pub(crate) fn add_to_linker<T: 'static>(
    linker: &mut Linker<T>,
    get: fn(&mut T) -> &mut WasiCtx,
) -> wasmtime::Result<()> {
    // Runs `body` with the guest memory view and the WASI context.
    fn with<T: 'static, R>(
        caller: &mut Caller<'_, T>,
        get: fn(&mut T) -> &mut WasiCtx,
        body: impl FnOnce(Memory, &mut [u8], &mut WasiCtx) -> Result<R, HostError>,
    ) -> wasmtime::Result<R> {
        let memory = memory::guest_memory(caller)?;
        let (data, state) = memory.data_and_store_mut(caller);
        Ok(body(memory, data, get(state))?)
    }
    // Like `with`, for functions that only look at the context.
    fn ctx<T: 'static, R>(
        caller: &mut Caller<'_, T>,
        get: fn(&mut T) -> &mut WasiCtx,
        body: impl FnOnce(&mut WasiCtx) -> R,
    ) -> wasmtime::Result<R> {
        Ok(body(get(caller.data_mut())))
    }

    let m = MODULE;

    // Program arguments and environment: always empty.
    linker.func_wrap(
        m,
        "args_get",
        move |mut c: Caller<'_, T>, _argv: i32, _buf: i32| {
            with(&mut c, get, |_, _, _| Ok(errno::SUCCESS))
        },
    )?;
    linker.func_wrap(
        m,
        "args_sizes_get",
        move |mut c: Caller<'_, T>, argc: i32, size: i32| {
            with(&mut c, get, |_, data, wasi| {
                write_sizes(data, &mut wasi.dirty, argc, size)
            })
        },
    )?;
    linker.func_wrap(
        m,
        "environ_get",
        move |mut c: Caller<'_, T>, _env: i32, _buf: i32| {
            with(&mut c, get, |_, _, _| Ok(errno::SUCCESS))
        },
    )?;
    linker.func_wrap(
        m,
        "environ_sizes_get",
        move |mut c: Caller<'_, T>, n: i32, size: i32| {
            with(&mut c, get, |_, data, wasi| {
                write_sizes(data, &mut wasi.dirty, n, size)
            })
        },
    )?;

    // Clocks.
    linker.func_wrap(
        m,
        "clock_res_get",
        move |mut c: Caller<'_, T>, id: i32, out: i32| {
            with(&mut c, get, |_, data, wasi| {
                if id as u32 != CLOCK_REALTIME && id as u32 != CLOCK_MONOTONIC {
                    return Ok(errno::INVAL);
                }
                put_u64(data, &mut wasi.dirty, out, 1)?;
                Ok(errno::SUCCESS)
            })
        },
    )?;
    linker.func_wrap(
        m,
        "clock_time_get",
        move |mut c: Caller<'_, T>, id: i32, _precision: i64, out: i32| {
            with(&mut c, get, |_, data, wasi| {
                let Some(now) = wasi.now_ns(id as u32) else {
                    return Ok(errno::INVAL);
                };
                put_u64(data, &mut wasi.dirty, out, now)?;
                Ok(errno::SUCCESS)
            })
        },
    )?;

    // File descriptors: only stdio exists.
    linker.func_wrap(
        m,
        "fd_advise",
        move |mut c: Caller<'_, T>, fd: i32, _offset: i64, _len: i64, _advice: i32| {
            ctx(&mut c, get, |wasi| {
                status(wasi.rights(fd).and(Err(errno::NOTCAPABLE)))
            })
        },
    )?;
    linker.func_wrap(
        m,
        "fd_allocate",
        move |mut c: Caller<'_, T>, fd: i32, _offset: i64, _len: i64| {
            ctx(&mut c, get, |wasi| {
                status(wasi.rights(fd).and(Err(errno::NOTCAPABLE)))
            })
        },
    )?;
    linker.func_wrap(m, "fd_close", move |mut c: Caller<'_, T>, fd: i32| {
        ctx(&mut c, get, |wasi| {
            if !wasi.is_open(fd) {
                return errno::BADF;
            }
            wasi.flush_stream(fd);
            if let Some(closed) = usize::try_from(fd)
                .ok()
                .and_then(|i| wasi.closed.get_mut(i))
            {
                *closed = true;
            }
            errno::SUCCESS
        })
    })?;
    linker.func_wrap(m, "fd_datasync", move |mut c: Caller<'_, T>, fd: i32| {
        ctx(&mut c, get, |wasi| fd_sync(wasi, fd, rights::FD_DATASYNC))
    })?;
    linker.func_wrap(m, "fd_sync", move |mut c: Caller<'_, T>, fd: i32| {
        ctx(&mut c, get, |wasi| fd_sync(wasi, fd, rights::FD_SYNC))
    })?;
    linker.func_wrap(
        m,
        "fd_fdstat_get",
        move |mut c: Caller<'_, T>, fd: i32, out: i32| {
            with(&mut c, get, |_, data, wasi| {
                let rights = match wasi.rights(fd) {
                    Ok(rights) => rights,
                    Err(code) => return Ok(code),
                };
                let stat = memory::slice_mut(data, &mut wasi.dirty, out as u32, FDSTAT_BYTES)?;
                stat.fill(0);
                stat[0] = FILETYPE_CHARACTER_DEVICE;
                // fs_flags (u16 at 2) stay 0.
                stat[8..16].copy_from_slice(&rights.to_le_bytes());
                // fs_rights_inheriting (u64 at 16) stays 0: nothing to inherit.
                Ok(errno::SUCCESS)
            })
        },
    )?;
    linker.func_wrap(
        m,
        "fd_fdstat_set_flags",
        move |mut c: Caller<'_, T>, fd: i32, _flags: i32| {
            ctx(&mut c, get, |wasi| {
                status(wasi.rights(fd).and(Err(errno::NOTCAPABLE)))
            })
        },
    )?;
    linker.func_wrap(
        m,
        "fd_fdstat_set_rights",
        move |mut c: Caller<'_, T>, fd: i32, _base: i64, _inheriting: i64| {
            ctx(&mut c, get, |wasi| {
                status(wasi.rights(fd).and(Err(errno::NOTSUP)))
            })
        },
    )?;
    linker.func_wrap(
        m,
        "fd_filestat_get",
        move |mut c: Caller<'_, T>, fd: i32, out: i32| {
            with(&mut c, get, |_, data, wasi| {
                check!(wasi.require(fd, rights::FD_FILESTAT_GET));
                let stat = memory::slice_mut(data, &mut wasi.dirty, out as u32, FILESTAT_BYTES)?;
                stat.fill(0);
                stat[16] = FILETYPE_CHARACTER_DEVICE;
                stat[24..32].copy_from_slice(&1u64.to_le_bytes()); // nlink
                Ok(errno::SUCCESS)
            })
        },
    )?;
    linker.func_wrap(
        m,
        "fd_filestat_set_size",
        move |mut c: Caller<'_, T>, fd: i32, _size: i64| {
            ctx(&mut c, get, |wasi| {
                status(wasi.rights(fd).and(Err(errno::NOTCAPABLE)))
            })
        },
    )?;
    linker.func_wrap(
        m,
        "fd_filestat_set_times",
        move |mut c: Caller<'_, T>, fd: i32, _atim: i64, _mtim: i64, _flags: i32| {
            ctx(&mut c, get, |wasi| {
                status(wasi.rights(fd).and(Err(errno::NOTCAPABLE)))
            })
        },
    )?;
    linker.func_wrap(
        m,
        "fd_pread",
        move |mut c: Caller<'_, T>, fd: i32, _iovs: i32, _n: i32, _offset: i64, _nread: i32| {
            // Needs FD_SEEK, which no fd has.
            ctx(&mut c, get, |wasi| {
                status(wasi.rights(fd).and(Err(errno::NOTCAPABLE)))
            })
        },
    )?;
    linker.func_wrap(
        m,
        "fd_pwrite",
        move |mut c: Caller<'_, T>, fd: i32, _iovs: i32, _n: i32, _offset: i64, _nw: i32| {
            ctx(&mut c, get, |wasi| {
                status(wasi.rights(fd).and(Err(errno::NOTCAPABLE)))
            })
        },
    )?;
    linker.func_wrap(
        m,
        "fd_prestat_get",
        move |mut c: Caller<'_, T>, _fd: i32, _out: i32| {
            // No preopens: EBADF tells libc to stop scanning.
            ctx(&mut c, get, |_| errno::BADF)
        },
    )?;
    linker.func_wrap(
        m,
        "fd_prestat_dir_name",
        move |mut c: Caller<'_, T>, _fd: i32, _path: i32, _len: i32| {
            ctx(&mut c, get, |_| errno::BADF)
        },
    )?;
    linker.func_wrap(
        m,
        "fd_read",
        move |mut c: Caller<'_, T>, fd: i32, iovs: i32, iovs_len: i32, nread: i32| {
            with(&mut c, get, |_, data, wasi| {
                check!(wasi.require(fd, rights::FD_READ));
                // Check every iovec so a bad one traps even at EOF.
                let mut total: u64 = 0;
                check!(for_each_iovec(data, iovs, iovs_len, |range| {
                    total += range.len() as u64;
                })?);
                debug_assert!(total <= u64::from(u32::MAX) * u64::from(IOVS_MAX));
                // stdin is always at end of file.
                put_u32(data, &mut wasi.dirty, nread, 0)?;
                Ok(errno::SUCCESS)
            })
        },
    )?;
    linker.func_wrap(
        m,
        "fd_readdir",
        move |mut c: Caller<'_, T>, fd: i32, _buf: i32, _len: i32, _cookie: i64, _used: i32| {
            ctx(&mut c, get, |wasi| {
                status(wasi.rights(fd).and(Err(errno::NOTCAPABLE)))
            })
        },
    )?;
    linker.func_wrap(
        m,
        "fd_renumber",
        move |mut c: Caller<'_, T>, fd: i32, to: i32| {
            ctx(&mut c, get, |wasi| {
                status(wasi.rights(fd).and(wasi.rights(to)).and(Err(errno::NOTSUP)))
            })
        },
    )?;
    linker.func_wrap(
        m,
        "fd_seek",
        move |mut c: Caller<'_, T>, fd: i32, _offset: i64, _whence: i32, _out: i32| {
            ctx(&mut c, get, |wasi| {
                status(wasi.rights(fd).and(Err(errno::NOTCAPABLE)))
            })
        },
    )?;
    linker.func_wrap(
        m,
        "fd_tell",
        move |mut c: Caller<'_, T>, fd: i32, _out: i32| {
            ctx(&mut c, get, |wasi| {
                status(wasi.rights(fd).and(Err(errno::NOTCAPABLE)))
            })
        },
    )?;
    linker.func_wrap(
        m,
        "fd_write",
        move |mut c: Caller<'_, T>, fd: i32, iovs: i32, iovs_len: i32, nwritten: i32| {
            with(&mut c, get, |_, data, wasi| {
                check!(wasi.require(fd, rights::FD_WRITE));
                let mut total: u64 = 0;
                check!(for_each_iovec(data, iovs, iovs_len, |range| {
                    total += range.len() as u64;
                })?);
                let Ok(total) = u32::try_from(total) else {
                    return Ok(errno::INVAL);
                };
                if wasi.log {
                    // Second pass: the ranges were all checked above.
                    for_each_iovec(data, iovs, iovs_len, |range| {
                        if let Some(bytes) = data.get(range) {
                            wasi.write_output(fd, bytes);
                        }
                    })?
                    .ok();
                }
                put_u32(data, &mut wasi.dirty, nwritten, total)?;
                Ok(errno::SUCCESS)
            })
        },
    )?;

    // Paths: there is no filesystem and no preopened directory.
    linker.func_wrap(
        m,
        "path_create_directory",
        move |mut c: Caller<'_, T>, fd: i32, _path: i32, _len: i32| {
            ctx(&mut c, get, |wasi| path_denied(wasi, fd))
        },
    )?;
    linker.func_wrap(
        m,
        "path_filestat_get",
        move |mut c: Caller<'_, T>, fd: i32, _flags: i32, _path: i32, _len: i32, _out: i32| {
            ctx(&mut c, get, |wasi| path_denied(wasi, fd))
        },
    )?;
    linker.func_wrap(
        m,
        "path_filestat_set_times",
        move |mut c: Caller<'_, T>,
              fd: i32,
              _flags: i32,
              _path: i32,
              _len: i32,
              _atim: i64,
              _mtim: i64,
              _fst: i32| { ctx(&mut c, get, |wasi| path_denied(wasi, fd)) },
    )?;
    linker.func_wrap(
        m,
        "path_link",
        move |mut c: Caller<'_, T>,
              old_fd: i32,
              _old_flags: i32,
              _old_path: i32,
              _old_len: i32,
              _new_fd: i32,
              _new_path: i32,
              _new_len: i32| { ctx(&mut c, get, |wasi| path_denied(wasi, old_fd)) },
    )?;
    linker.func_wrap(
        m,
        "path_open",
        move |mut c: Caller<'_, T>,
              fd: i32,
              _dirflags: i32,
              _path: i32,
              _len: i32,
              _oflags: i32,
              _base: i64,
              _inheriting: i64,
              _fdflags: i32,
              _opened: i32| { ctx(&mut c, get, |wasi| path_denied(wasi, fd)) },
    )?;
    linker.func_wrap(
        m,
        "path_readlink",
        move |mut c: Caller<'_, T>,
              fd: i32,
              _path: i32,
              _len: i32,
              _buf: i32,
              _buf_len: i32,
              _used: i32| { ctx(&mut c, get, |wasi| path_denied(wasi, fd)) },
    )?;
    linker.func_wrap(
        m,
        "path_remove_directory",
        move |mut c: Caller<'_, T>, fd: i32, _path: i32, _len: i32| {
            ctx(&mut c, get, |wasi| path_denied(wasi, fd))
        },
    )?;
    linker.func_wrap(
        m,
        "path_rename",
        move |mut c: Caller<'_, T>,
              fd: i32,
              _old_path: i32,
              _old_len: i32,
              _new_fd: i32,
              _new_path: i32,
              _new_len: i32| { ctx(&mut c, get, |wasi| path_denied(wasi, fd)) },
    )?;
    linker.func_wrap(
        m,
        "path_symlink",
        move |mut c: Caller<'_, T>,
              _old_path: i32,
              _old_len: i32,
              fd: i32,
              _new_path: i32,
              _new_len: i32| { ctx(&mut c, get, |wasi| path_denied(wasi, fd)) },
    )?;
    linker.func_wrap(
        m,
        "path_unlink_file",
        move |mut c: Caller<'_, T>, fd: i32, _path: i32, _len: i32| {
            ctx(&mut c, get, |wasi| path_denied(wasi, fd))
        },
    )?;

    // Polling, process, scheduling, randomness.
    linker.func_wrap(
        m,
        "poll_oneoff",
        move |mut c: Caller<'_, T>, subs: i32, events: i32, n: i32, nevents: i32| {
            poll_oneoff(
                &mut c,
                get,
                subs as u32,
                events as u32,
                n as u32,
                nevents as u32,
            )
        },
    )?;
    linker.func_wrap(m, "proc_exit", move |mut c: Caller<'_, T>, code: i32| {
        let wasi = get(c.data_mut());
        wasi.finish();
        wasi.exit_code = Some(code);
        Err::<(), _>(wasmtime::Error::new(WasiExit(code)))
    })?;
    linker.func_wrap(
        m,
        "proc_raise",
        move |mut c: Caller<'_, T>, _signal: i32| ctx(&mut c, get, |_| errno::NOTSUP),
    )?;
    linker.func_wrap(m, "sched_yield", move |mut c: Caller<'_, T>| {
        // One thread, nothing else to run: yielding is a no-op.
        ctx(&mut c, get, |_| errno::SUCCESS)
    })?;
    linker.func_wrap(
        m,
        "random_get",
        move |mut c: Caller<'_, T>, buf: i32, len: i32| {
            with(&mut c, get, |_, data, wasi| {
                let out = memory::slice_mut(data, &mut wasi.dirty, buf as u32, len as u32)?;
                if wasi.random {
                    rand::rng().fill_bytes(out);
                } else {
                    out.fill(0);
                }
                Ok(errno::SUCCESS)
            })
        },
    )?;

    // Sockets: none exist; stdio fds are not sockets.
    linker.func_wrap(
        m,
        "sock_accept",
        move |mut c: Caller<'_, T>, fd: i32, _flags: i32, _out: i32| {
            ctx(&mut c, get, |wasi| {
                status(wasi.rights(fd).and(Err(errno::NOTCAPABLE)))
            })
        },
    )?;
    linker.func_wrap(
        m,
        "sock_recv",
        move |mut c: Caller<'_, T>,
              fd: i32,
              _data: i32,
              _data_len: i32,
              _flags: i32,
              _len_out: i32,
              _flags_out: i32| {
            ctx(&mut c, get, |wasi| {
                status(wasi.rights(fd).and(Err(errno::NOTCAPABLE)))
            })
        },
    )?;
    linker.func_wrap(
        m,
        "sock_send",
        move |mut c: Caller<'_, T>, fd: i32, _data: i32, _data_len: i32, _flags: i32, _out: i32| {
            ctx(&mut c, get, |wasi| {
                status(wasi.rights(fd).and(Err(errno::NOTCAPABLE)))
            })
        },
    )?;
    linker.func_wrap(
        m,
        "sock_shutdown",
        move |mut c: Caller<'_, T>, fd: i32, _how: i32| {
            ctx(&mut c, get, |wasi| {
                status(wasi.rights(fd).and(Err(errno::NOTCAPABLE)))
            })
        },
    )?;
    Ok(())
}

/// `path_*` on `fd`: no fd is a directory with path rights.
fn path_denied(wasi: &WasiCtx, fd: i32) -> i32 {
    status(wasi.rights(fd).and(Err(errno::NOTCAPABLE)))
}

/// `fd_sync` / `fd_datasync`: flushes the buffered partial line.
fn fd_sync(wasi: &mut WasiCtx, fd: i32, right: u64) -> i32 {
    if let Err(code) = wasi.require(fd, right) {
        return code;
    }
    wasi.flush_stream(fd);
    errno::SUCCESS
}

/// Writes the two zero sizes of `args_sizes_get` / `environ_sizes_get`.
fn write_sizes(data: &mut [u8], dirty: &mut DirtyChunks, count: i32, size: i32) -> Errno {
    put_u32(data, dirty, count, 0)?;
    put_u32(data, dirty, size, 0)?;
    Ok(errno::SUCCESS)
}

/// Writes `bytes` at `ptr` (recorded in `dirty`).
fn put(data: &mut [u8], dirty: &mut DirtyChunks, ptr: i32, bytes: &[u8]) -> Result<(), HostError> {
    // At most 8 bytes: the length fits a u32.
    memory::slice_mut(data, dirty, ptr as u32, bytes.len() as u32)?.copy_from_slice(bytes);
    Ok(())
}

fn put_u32(
    data: &mut [u8],
    dirty: &mut DirtyChunks,
    ptr: i32,
    value: u32,
) -> Result<(), HostError> {
    put(data, dirty, ptr, &value.to_le_bytes())
}

fn put_u64(
    data: &mut [u8],
    dirty: &mut DirtyChunks,
    ptr: i32,
    value: u64,
) -> Result<(), HostError> {
    put(data, dirty, ptr, &value.to_le_bytes())
}

fn le_u16(bytes: &[u8], at: usize) -> u16 {
    u16::from_le_bytes([bytes[at], bytes[at + 1]])
}

fn le_u32(bytes: &[u8], at: usize) -> u32 {
    let mut out = [0u8; 4];
    out.copy_from_slice(&bytes[at..at + 4]);
    u32::from_le_bytes(out)
}

fn le_u64(bytes: &[u8], at: usize) -> u64 {
    let mut out = [0u8; 8];
    out.copy_from_slice(&bytes[at..at + 8]);
    u64::from_le_bytes(out)
}

/// Checks the iovec array `iovs[..iovs_len]` and every buffer it points to,
/// calling `each` with each buffer's range in `data`. Returns `Ok(Err(EINVAL))`
/// for too many iovecs; traps on any bad pointer.
fn for_each_iovec(
    data: &[u8],
    iovs: i32,
    iovs_len: i32,
    mut each: impl FnMut(std::ops::Range<usize>),
) -> Result<Result<(), i32>, HostError> {
    let count = iovs_len as u32;
    if count > IOVS_MAX {
        return Ok(Err(errno::INVAL));
    }
    // count <= IOVS_MAX, so this cannot overflow.
    let array = memory::slice(data, iovs as u32, count * IOVEC_BYTES)?;
    for iovec in array.chunks_exact(IOVEC_BYTES as usize) {
        let ptr = le_u32(iovec, 0);
        let len = le_u32(iovec, 4);
        each(memory::checked_range(data.len(), ptr, len)?);
    }
    Ok(Ok(()))
}

/// One parsed `subscription` of `poll_oneoff`.
enum Subscription {
    /// Fires after `wait` (or never, for an unsupported clock: `None`).
    Clock {
        userdata: u64,
        wait: Option<Duration>,
    },
    /// fd readiness: an errno and the event type.
    Fd { userdata: u64, kind: u8, errno: i32 },
}

fn parse_subscription(wasi: &WasiCtx, sub: &[u8]) -> Result<Subscription, HostError> {
    let userdata = le_u64(sub, 0);
    let tag = sub[8];
    Ok(match tag {
        EVENTTYPE_CLOCK => {
            let clock = le_u32(sub, 16);
            let timeout_ns = le_u64(sub, 24);
            let flags = le_u16(sub, 40);
            let wait = wasi.now_ns(clock).map(|now| {
                if flags & SUBCLOCKFLAGS_ABSTIME != 0 {
                    Duration::from_nanos(timeout_ns.saturating_sub(now))
                } else {
                    Duration::from_nanos(timeout_ns)
                }
            });
            Subscription::Clock { userdata, wait }
        }
        EVENTTYPE_FD_READ | EVENTTYPE_FD_WRITE => {
            let fd = le_u32(sub, 16) as i32;
            let right = if tag == EVENTTYPE_FD_READ {
                rights::FD_READ
            } else {
                rights::FD_WRITE
            };
            let errno = status(wasi.require(fd, right));
            Subscription::Fd {
                userdata,
                kind: tag,
                errno,
            }
        }
        _ => Subscription::Fd {
            userdata,
            kind: tag,
            errno: errno::INVAL,
        },
    })
}

/// `poll_oneoff`: fd subscriptions are always ready (stdin at EOF, output
/// never blocks), so any fd subscription makes the call return at once;
/// otherwise it sleeps until the earliest clock subscription, but never past
/// the call deadline. Clock subscriptions whose time has come are reported.
fn poll_oneoff<T: 'static>(
    caller: &mut Caller<'_, T>,
    get: fn(&mut T) -> &mut WasiCtx,
    subs: u32,
    events: u32,
    count: u32,
    nevents: u32,
) -> wasmtime::Result<i32> {
    let memory = memory::guest_memory(caller)?;
    if count == 0 {
        return Ok(errno::INVAL);
    }
    let bad = |len: u32| HostError::BadPointer {
        ptr: subs,
        len,
        memory_bytes: memory.data_size(&*caller),
    };
    let subs_bytes = count
        .checked_mul(SUBSCRIPTION_BYTES)
        .ok_or_else(|| bad(u32::MAX))?;
    let events_bytes = count
        .checked_mul(EVENT_BYTES)
        .ok_or_else(|| bad(u32::MAX))?;
    // First pass: check ranges and find how long to sleep.
    let sleep = {
        let (data, state) = memory.data_and_store_mut(&mut *caller);
        let wasi = get(state);
        memory::checked_range(data.len(), events, events_bytes)?;
        memory::checked_range(data.len(), nevents, 4)?;
        let input = memory::slice(data, subs, subs_bytes)?;
        let mut sleep: Option<Duration> = None;
        for sub in input.chunks_exact(SUBSCRIPTION_BYTES as usize) {
            match parse_subscription(wasi, sub)? {
                Subscription::Clock {
                    wait: Some(wait), ..
                } => {
                    sleep = Some(sleep.map_or(wait, |s| s.min(wait)));
                }
                Subscription::Clock { wait: None, .. } => sleep = Some(Duration::ZERO),
                Subscription::Fd { .. } => sleep = Some(Duration::ZERO),
            }
        }
        let mut sleep = sleep.unwrap_or(Duration::ZERO).min(POLL_SLEEP_MAX);
        if let Some(deadline) = wasi.deadline {
            sleep = sleep.min(deadline.saturating_duration_since(Instant::now()));
        }
        if wasi.inline && !sleep.is_zero() {
            wasi.deferred = true;
            return Err(wasmtime::Error::new(crate::host::Defer));
        }
        sleep
    };
    if !sleep.is_zero() {
        std::thread::sleep(sleep);
    }
    // Second pass: write the events. The subscriptions are copied first
    // because the event array may overlap them.
    let (data, state) = memory.data_and_store_mut(&mut *caller);
    let wasi = get(state);
    let input = memory::slice(data, subs, subs_bytes)?.to_vec();
    let mut written: u32 = 0;
    for sub in input.chunks_exact(SUBSCRIPTION_BYTES as usize) {
        let (userdata, kind, code, hangup) = match parse_subscription(wasi, sub)? {
            Subscription::Clock {
                userdata,
                wait: Some(wait),
            } => {
                if wait > sleep {
                    continue;
                }
                (userdata, EVENTTYPE_CLOCK, errno::SUCCESS, false)
            }
            Subscription::Clock {
                userdata,
                wait: None,
            } => (userdata, EVENTTYPE_CLOCK, errno::INVAL, false),
            Subscription::Fd {
                userdata,
                kind,
                errno,
            } => (
                userdata,
                kind,
                errno,
                kind == EVENTTYPE_FD_READ && errno == 0,
            ),
        };
        let at = events + written * EVENT_BYTES;
        let event = memory::slice_mut(data, &mut wasi.dirty, at, EVENT_BYTES)?;
        event.fill(0);
        event[0..8].copy_from_slice(&userdata.to_le_bytes());
        event[8..10].copy_from_slice(&(code as u16).to_le_bytes());
        event[10] = kind;
        if hangup {
            event[24..26].copy_from_slice(&EVENTRWFLAGS_HANGUP.to_le_bytes());
        }
        written += 1;
    }
    debug_assert!(written <= count);
    put_u32(data, &mut wasi.dirty, nevents as i32, written)?;
    Ok(errno::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write as _;
    use std::path::{Path, PathBuf};
    use std::process::Command;
    use std::sync::Mutex;
    use wasmtime::{Engine, Instance, Module, Store, Val};

    /// Every `wasi_snapshot_preview1` function: name, params, results.
    const PREVIEW1: [(&str, &str, &str); 46] = [
        ("args_get", "i32 i32", "i32"),
        ("args_sizes_get", "i32 i32", "i32"),
        ("environ_get", "i32 i32", "i32"),
        ("environ_sizes_get", "i32 i32", "i32"),
        ("clock_res_get", "i32 i32", "i32"),
        ("clock_time_get", "i32 i64 i32", "i32"),
        ("fd_advise", "i32 i64 i64 i32", "i32"),
        ("fd_allocate", "i32 i64 i64", "i32"),
        ("fd_close", "i32", "i32"),
        ("fd_datasync", "i32", "i32"),
        ("fd_fdstat_get", "i32 i32", "i32"),
        ("fd_fdstat_set_flags", "i32 i32", "i32"),
        ("fd_fdstat_set_rights", "i32 i64 i64", "i32"),
        ("fd_filestat_get", "i32 i32", "i32"),
        ("fd_filestat_set_size", "i32 i64", "i32"),
        ("fd_filestat_set_times", "i32 i64 i64 i32", "i32"),
        ("fd_pread", "i32 i32 i32 i64 i32", "i32"),
        ("fd_prestat_get", "i32 i32", "i32"),
        ("fd_prestat_dir_name", "i32 i32 i32", "i32"),
        ("fd_pwrite", "i32 i32 i32 i64 i32", "i32"),
        ("fd_read", "i32 i32 i32 i32", "i32"),
        ("fd_readdir", "i32 i32 i32 i64 i32", "i32"),
        ("fd_renumber", "i32 i32", "i32"),
        ("fd_seek", "i32 i64 i32 i32", "i32"),
        ("fd_sync", "i32", "i32"),
        ("fd_tell", "i32 i32", "i32"),
        ("fd_write", "i32 i32 i32 i32", "i32"),
        ("path_create_directory", "i32 i32 i32", "i32"),
        ("path_filestat_get", "i32 i32 i32 i32 i32", "i32"),
        (
            "path_filestat_set_times",
            "i32 i32 i32 i32 i64 i64 i32",
            "i32",
        ),
        ("path_link", "i32 i32 i32 i32 i32 i32 i32", "i32"),
        ("path_open", "i32 i32 i32 i32 i32 i64 i64 i32 i32", "i32"),
        ("path_readlink", "i32 i32 i32 i32 i32 i32", "i32"),
        ("path_remove_directory", "i32 i32 i32", "i32"),
        ("path_rename", "i32 i32 i32 i32 i32 i32", "i32"),
        ("path_symlink", "i32 i32 i32 i32 i32", "i32"),
        ("path_unlink_file", "i32 i32 i32", "i32"),
        ("poll_oneoff", "i32 i32 i32 i32", "i32"),
        ("proc_exit", "i32", ""),
        ("proc_raise", "i32", "i32"),
        ("sched_yield", "", "i32"),
        ("random_get", "i32 i32", "i32"),
        ("sock_accept", "i32 i32 i32", "i32"),
        ("sock_recv", "i32 i32 i32 i32 i32 i32", "i32"),
        ("sock_send", "i32 i32 i32 i32 i32", "i32"),
        ("sock_shutdown", "i32 i32", "i32"),
    ];

    struct Host {
        wasi: WasiCtx,
    }

    fn engine() -> &'static Engine {
        static ENGINE: OnceLock<Engine> = OnceLock::new();
        ENGINE.get_or_init(Engine::default)
    }

    fn store(configure: impl FnOnce(&mut WasiCtx)) -> Store<Host> {
        let mut wasi = WasiCtx::new(Arc::from("test_fn"));
        configure(&mut wasi);
        Store::new(engine(), Host { wasi })
    }

    fn instantiate(module: &Module, store: &mut Store<Host>) -> Instance {
        let mut linker = Linker::new(engine());
        add_to_linker(&mut linker, |h: &mut Host| &mut h.wasi).unwrap();
        linker.instantiate(&mut *store, module).unwrap()
    }

    fn signature(params: &str, results: &str) -> String {
        let mut sig = String::new();
        if !params.is_empty() {
            sig += &format!("(param {params}) ");
        }
        if !results.is_empty() {
            sig += &format!("(result {results})");
        }
        sig
    }

    /// A module that imports every preview1 function and exports a wasm
    /// wrapper of each under the same name, plus one page of memory.
    fn wrapper_module() -> &'static Module {
        static MODULE: OnceLock<Module> = OnceLock::new();
        MODULE.get_or_init(|| {
            let mut wat = String::from("(module\n");
            for (name, params, results) in PREVIEW1 {
                let sig = signature(params, results);
                wat += &format!(
                    "  (import \"wasi_snapshot_preview1\" \"{name}\" (func ${name} {sig}))\n"
                );
            }
            wat += "  (memory (export \"memory\") 1)\n";
            for (name, params, results) in PREVIEW1 {
                let gets: String = (0..params.split_whitespace().count())
                    .map(|i| format!("local.get {i} "))
                    .collect();
                let sig = signature(params, results);
                wat += &format!("  (func (export \"{name}\") {sig} {gets} call ${name})\n");
            }
            wat += ")";
            Module::new(engine(), wat::parse_str(&wat).unwrap()).unwrap()
        })
    }

    /// Calls the wrapper of preview1 function `name`.
    fn call(
        store: &mut Store<Host>,
        instance: &Instance,
        name: &str,
        args: &[Val],
    ) -> wasmtime::Result<i32> {
        let func = instance.get_func(&mut *store, name).unwrap();
        let mut results = vec![Val::I32(0); func.ty(&*store).results().len()];
        func.call(&mut *store, args, &mut results)?;
        Ok(results.first().and_then(Val::i32).unwrap_or(0))
    }

    fn mem<'a>(store: &'a mut Store<Host>, instance: &Instance) -> &'a mut [u8] {
        let memory = instance.get_memory(&mut *store, "memory").unwrap();
        memory.data_mut(store)
    }

    fn u32_at(store: &mut Store<Host>, instance: &Instance, at: usize) -> u32 {
        le_u32(mem(store, instance), at)
    }

    /// One captured log event.
    #[derive(Debug, Default, Clone, PartialEq)]
    struct Record {
        level: String,
        target: String,
        message: String,
        function: String,
        stream: String,
    }

    /// A tracing layer that records events structurally.
    struct Recorder(Arc<Mutex<Vec<Record>>>);

    impl<S: tracing::Subscriber> tracing_subscriber::Layer<S> for Recorder {
        fn on_event(
            &self,
            event: &tracing::Event<'_>,
            _: tracing_subscriber::layer::Context<'_, S>,
        ) {
            struct Visitor<'a>(&'a mut Record);
            impl tracing::field::Visit for Visitor<'_> {
                fn record_str(&mut self, field: &tracing::field::Field, value: &str) {
                    match field.name() {
                        "function" => self.0.function = value.to_owned(),
                        "stream" => self.0.stream = value.to_owned(),
                        "message" => self.0.message = value.to_owned(),
                        _ => {}
                    }
                }
                fn record_debug(
                    &mut self,
                    field: &tracing::field::Field,
                    value: &dyn std::fmt::Debug,
                ) {
                    if field.name() == "message" {
                        self.0.message = format!("{value:?}");
                    }
                }
            }
            let mut record = Record {
                level: event.metadata().level().to_string(),
                target: event.metadata().target().to_owned(),
                ..Record::default()
            };
            event.record(&mut Visitor(&mut record));
            self.0.lock().unwrap().push(record);
        }
    }

    /// Captures the log events produced by `f` on this thread.
    fn capture<R>(f: impl FnOnce() -> R) -> (R, Vec<Record>) {
        use tracing_subscriber::layer::SubscriberExt as _;
        let records = Arc::new(Mutex::new(Vec::new()));
        let subscriber = tracing_subscriber::registry().with(Recorder(records.clone()));
        let result = tracing::subscriber::with_default(subscriber, f);
        let records = records.lock().unwrap().clone();
        (result, records)
    }

    fn messages(records: &[Record]) -> Vec<&str> {
        records.iter().map(|r| r.message.as_str()).collect()
    }

    fn i32s(values: &[i32]) -> Vec<Val> {
        values.iter().map(|v| Val::I32(*v)).collect()
    }

    #[test]
    fn every_preview1_function_links_with_its_signature() {
        let mut store = store(|_| {});
        let instance = instantiate(wrapper_module(), &mut store);
        for (name, _, _) in PREVIEW1 {
            assert!(instance.get_func(&mut store, name).is_some(), "{name}");
        }
        // A wrong signature is a link error, not a runtime surprise.
        let bad = wat::parse_str(
            r#"(module (import "wasi_snapshot_preview1" "fd_write" (func (param i32) (result i32))))"#,
        )
        .unwrap();
        let bad = Module::new(engine(), bad).unwrap();
        let mut linker = Linker::new(engine());
        add_to_linker(&mut linker, |h: &mut Host| &mut h.wasi).unwrap();
        assert!(linker.instantiate(&mut store, &bad).is_err());
    }

    #[test]
    fn filesystem_sockets_and_fds_are_denied() {
        let mut store = store(|_| {});
        let i = instantiate(wrapper_module(), &mut store);
        // No preopens: libc's scan stops at fd 3.
        assert_eq!(
            call(&mut store, &i, "fd_prestat_get", &i32s(&[3, 0])).unwrap(),
            errno::BADF
        );
        assert_eq!(
            call(&mut store, &i, "fd_prestat_get", &i32s(&[0, 0])).unwrap(),
            errno::BADF
        );
        let open = [
            Val::I32(3),
            Val::I32(0),
            Val::I32(0),
            Val::I32(4),
            Val::I32(0),
            Val::I64(-1),
            Val::I64(-1),
            Val::I32(0),
            Val::I32(64),
        ];
        assert_eq!(
            call(&mut store, &i, "path_open", &open).unwrap(),
            errno::BADF
        );
        let mut open_stdin = open;
        open_stdin[0] = Val::I32(0);
        assert_eq!(
            call(&mut store, &i, "path_open", &open_stdin).unwrap(),
            errno::NOTCAPABLE
        );
        assert_eq!(
            call(&mut store, &i, "path_unlink_file", &i32s(&[1, 0, 4])).unwrap(),
            errno::NOTCAPABLE
        );
        assert_eq!(
            call(&mut store, &i, "path_symlink", &i32s(&[0, 1, 9, 0, 1])).unwrap(),
            errno::BADF
        );
        assert_eq!(
            call(&mut store, &i, "sock_send", &i32s(&[1, 0, 0, 0, 0])).unwrap(),
            errno::NOTCAPABLE
        );
        assert_eq!(
            call(&mut store, &i, "sock_accept", &i32s(&[5, 0, 0])).unwrap(),
            errno::BADF
        );
        let seek = [Val::I32(1), Val::I64(0), Val::I32(0), Val::I32(0)];
        assert_eq!(
            call(&mut store, &i, "fd_seek", &seek).unwrap(),
            errno::NOTCAPABLE
        );
        assert_eq!(
            call(&mut store, &i, "fd_fdstat_set_flags", &i32s(&[1, 4])).unwrap(),
            errno::NOTCAPABLE
        );
        assert_eq!(
            call(&mut store, &i, "proc_raise", &i32s(&[6])).unwrap(),
            errno::NOTSUP
        );
        assert_eq!(
            call(&mut store, &i, "sched_yield", &[]).unwrap(),
            errno::SUCCESS
        );
        // Writing to stdin or reading stdout lacks the right.
        assert_eq!(
            call(&mut store, &i, "fd_write", &i32s(&[0, 0, 0, 8])).unwrap(),
            errno::NOTCAPABLE
        );
        assert_eq!(
            call(&mut store, &i, "fd_read", &i32s(&[1, 0, 0, 8])).unwrap(),
            errno::NOTCAPABLE
        );
        // Closing an fd makes it unknown.
        assert_eq!(
            call(&mut store, &i, "fd_close", &i32s(&[1])).unwrap(),
            errno::SUCCESS
        );
        assert_eq!(
            call(&mut store, &i, "fd_write", &i32s(&[1, 0, 0, 8])).unwrap(),
            errno::BADF
        );
        assert_eq!(
            call(&mut store, &i, "fd_close", &i32s(&[1])).unwrap(),
            errno::BADF
        );
        assert_eq!(
            call(&mut store, &i, "fd_close", &i32s(&[-1])).unwrap(),
            errno::BADF
        );
    }

    #[test]
    fn stdio_stat_args_environ() {
        let mut store = store(|_| {});
        let i = instantiate(wrapper_module(), &mut store);
        mem(&mut store, &i)[..16].fill(0xaa);
        assert_eq!(
            call(&mut store, &i, "args_sizes_get", &i32s(&[0, 4])).unwrap(),
            0
        );
        assert_eq!(
            call(&mut store, &i, "environ_sizes_get", &i32s(&[8, 12])).unwrap(),
            0
        );
        assert!(mem(&mut store, &i)[..16].iter().all(|b| *b == 0));
        for fd in 0..3 {
            mem(&mut store, &i)[100..124].fill(0xaa);
            assert_eq!(
                call(&mut store, &i, "fd_fdstat_get", &i32s(&[fd, 100])).unwrap(),
                0
            );
            let stat = mem(&mut store, &i)[100..124].to_vec();
            assert_eq!(stat[0], FILETYPE_CHARACTER_DEVICE);
            let rights = le_u64(&stat, 8);
            assert_eq!(rights & rights::FD_READ != 0, fd == 0);
            assert_eq!(rights & rights::FD_WRITE != 0, fd != 0);
            assert_eq!(le_u64(&stat, 16), 0);
            assert_eq!(
                call(&mut store, &i, "fd_filestat_get", &i32s(&[fd, 200])).unwrap(),
                0
            );
            assert_eq!(mem(&mut store, &i)[216], FILETYPE_CHARACTER_DEVICE);
        }
        assert_eq!(
            call(&mut store, &i, "fd_fdstat_get", &i32s(&[3, 100])).unwrap(),
            errno::BADF
        );
        // stdin is at end of file: nread = 0.
        let m = mem(&mut store, &i);
        m[300..304].copy_from_slice(&400u32.to_le_bytes());
        m[304..308].copy_from_slice(&16u32.to_le_bytes());
        m[308..312].fill(0xff);
        assert_eq!(
            call(&mut store, &i, "fd_read", &i32s(&[0, 300, 1, 308])).unwrap(),
            0
        );
        assert_eq!(u32_at(&mut store, &i, 308), 0);
        assert_eq!(
            call(&mut store, &i, "fd_read", &i32s(&[0, 300, 1025, 308])).unwrap(),
            errno::INVAL
        );
    }

    #[test]
    fn bad_pointers_trap_with_host_error() {
        let mut store = store(|w| w.log = true);
        let i = instantiate(wrapper_module(), &mut store);
        let expect_bad = |result: wasmtime::Result<i32>| {
            let error = result.expect_err("expected a trap");
            assert!(
                matches!(
                    error.downcast_ref::<HostError>(),
                    Some(HostError::BadPointer { .. })
                ),
                "{error:?}"
            );
        };
        expect_bad(call(
            &mut store,
            &i,
            "clock_time_get",
            &[Val::I32(0), Val::I64(0), Val::I32(-1)],
        ));
        expect_bad(call(
            &mut store,
            &i,
            "clock_time_get",
            &[Val::I32(0), Val::I64(0), Val::I32(65536 - 7)],
        ));
        expect_bad(call(&mut store, &i, "random_get", &i32s(&[65000, 1000])));
        expect_bad(call(&mut store, &i, "random_get", &i32s(&[-1, 2])));
        expect_bad(call(
            &mut store,
            &i,
            "args_sizes_get",
            &i32s(&[0, i32::MIN]),
        ));
        expect_bad(call(
            &mut store,
            &i,
            "fd_fdstat_get",
            &i32s(&[1, 65536 - 23]),
        ));
        // An iovec array or buffer outside memory.
        expect_bad(call(&mut store, &i, "fd_write", &i32s(&[1, 65530, 1, 0])));
        let m = mem(&mut store, &i);
        m[0..4].copy_from_slice(&(-16i32).to_le_bytes());
        m[4..8].copy_from_slice(&32u32.to_le_bytes());
        expect_bad(call(&mut store, &i, "fd_write", &i32s(&[1, 0, 1, 8])));
        expect_bad(call(&mut store, &i, "fd_read", &i32s(&[0, 0, 1, 8])));
        expect_bad(call(
            &mut store,
            &i,
            "poll_oneoff",
            &i32s(&[0, 0, 0x0800_0000, 8]),
        ));
        // Exactly at the end is fine.
        assert_eq!(
            call(&mut store, &i, "random_get", &i32s(&[65536 - 8, 8])).unwrap(),
            0
        );
        assert_eq!(
            call(&mut store, &i, "random_get", &i32s(&[65536, 0])).unwrap(),
            0
        );
    }

    #[test]
    fn clocks_and_random_are_gated() {
        for allowed in [false, true] {
            let mut store = store(|w| {
                w.time = allowed;
                w.random = allowed;
            });
            let i = instantiate(wrapper_module(), &mut store);
            mem(&mut store, &i)[..64].fill(0xaa);
            for (clock, at) in [(CLOCK_REALTIME as i32, 0), (CLOCK_MONOTONIC as i32, 8)] {
                let args = [Val::I32(clock), Val::I64(0), Val::I32(at)];
                assert_eq!(call(&mut store, &i, "clock_time_get", &args).unwrap(), 0);
            }
            let args = [Val::I32(2), Val::I64(0), Val::I32(0)];
            assert_eq!(
                call(&mut store, &i, "clock_time_get", &args).unwrap(),
                errno::INVAL
            );
            assert_eq!(
                call(&mut store, &i, "random_get", &i32s(&[16, 48])).unwrap(),
                0
            );
            let m = mem(&mut store, &i);
            let realtime = le_u64(m, 0);
            if allowed {
                let now = SystemTime::now()
                    .duration_since(UNIX_EPOCH)
                    .unwrap()
                    .as_nanos() as u64;
                assert!(
                    realtime <= now && now - realtime < 10_000_000_000,
                    "{realtime} {now}"
                );
                assert!(m[16..64].iter().any(|b| *b != 0));
                assert!(m[16..64].iter().any(|b| *b != 0xaa));
            } else {
                assert_eq!(realtime, 0);
                assert_eq!(le_u64(m, 8), FROZEN_MONOTONIC_NS);
                assert!(m[16..64].iter().all(|b| *b == 0));
            }
            assert_eq!(
                call(&mut store, &i, "clock_res_get", &i32s(&[1, 0])).unwrap(),
                0
            );
            assert_eq!(u32_at(&mut store, &i, 0), 1);
        }
    }

    /// Writes `lines` as one fd_write of one iovec per piece.
    fn fd_write(store: &mut Store<Host>, i: &Instance, fd: i32, pieces: &[&[u8]]) -> (i32, u32) {
        let m = mem(store, i);
        let mut at = 4096;
        for (n, piece) in pieces.iter().enumerate() {
            m[at..at + piece.len()].copy_from_slice(piece);
            let iov = 64 + n * 8;
            m[iov..iov + 4].copy_from_slice(&(at as u32).to_le_bytes());
            m[iov + 4..iov + 8].copy_from_slice(&(piece.len() as u32).to_le_bytes());
            at += piece.len();
        }
        let code = call(
            store,
            i,
            "fd_write",
            &i32s(&[fd, 64, pieces.len() as i32, 0]),
        )
        .unwrap();
        (code, u32_at(store, i, 0))
    }

    #[test]
    fn stdout_and_stderr_reach_the_log_by_lines() {
        let ((), log) = capture(|| {
            let mut store = store(|w| w.log = true);
            let i = instantiate(wrapper_module(), &mut store);
            assert_eq!(
                fd_write(&mut store, &i, 1, &[b"hel", b"lo\nsecond ", b"line\npart"]),
                (0, 22)
            );
            assert_eq!(fd_write(&mut store, &i, 2, &[b"oops\n"]), (0, 5));
            assert_eq!(fd_write(&mut store, &i, 1, &[b"ial"]), (0, 3));
            assert_eq!(call(&mut store, &i, "fd_sync", &i32s(&[1])).unwrap(), 0);
            assert_eq!(fd_write(&mut store, &i, 1, &[b"\nlast"]), (0, 5));
            // Dropping the store (and its WasiCtx) flushes "last".
        });
        let record = |level: &str, stream: &str, message: &str| Record {
            level: level.to_owned(),
            target: "ferrite::wasm::guest".to_owned(),
            message: message.to_owned(),
            function: "test_fn".to_owned(),
            stream: stream.to_owned(),
        };
        assert_eq!(
            log,
            vec![
                record("INFO", "stdout", "hello"),
                record("INFO", "stdout", "second line"),
                record("WARN", "stderr", "oops"),
                record("INFO", "stdout", "partial"),
                record("INFO", "stdout", ""),
                record("INFO", "stdout", "last"),
            ]
        );
    }

    #[test]
    fn output_without_log_is_dropped_and_output_is_capped() {
        let ((), log) = capture(|| {
            let mut store = store(|_| {});
            let i = instantiate(wrapper_module(), &mut store);
            assert_eq!(fd_write(&mut store, &i, 1, &[b"secret\n"]), (0, 7));
        });
        assert!(log.is_empty(), "{log:?}");

        let ((), log) = capture(|| {
            let mut store = store(|w| w.log = true);
            let i = instantiate(wrapper_module(), &mut store);
            let chunk = vec![b'x'; 10_000];
            for _ in 0..10 {
                assert_eq!(fd_write(&mut store, &i, 1, &[&chunk]), (0, 10_000));
            }
        });
        let lines: Vec<&Record> = log.iter().filter(|r| r.stream == "stdout").collect();
        let logged: usize = lines.iter().map(|r| r.message.len()).sum();
        assert!(
            (LOG_BYTES_MAX - LOG_LINE_BYTES_MAX..=LOG_BYTES_MAX).contains(&logged),
            "{logged}"
        );
        assert!(
            lines
                .iter()
                .all(|r| r.message.len() <= LOG_LINE_BYTES_MAX
                    && r.message.bytes().all(|b| b == b'x'))
        );
        let notices = log
            .iter()
            .filter(|r| r.message.contains("output limit"))
            .count();
        assert_eq!(notices, 1, "{log:?}");
    }

    /// Writes one clock subscription (relative `timeout_ns`) at `at`.
    fn clock_sub(m: &mut [u8], at: usize, userdata: u64, timeout_ns: u64) {
        m[at..at + 48].fill(0);
        m[at..at + 8].copy_from_slice(&userdata.to_le_bytes());
        m[at + 8] = EVENTTYPE_CLOCK;
        m[at + 16..at + 20].copy_from_slice(&CLOCK_MONOTONIC.to_le_bytes());
        m[at + 24..at + 32].copy_from_slice(&timeout_ns.to_le_bytes());
    }

    #[test]
    fn poll_oneoff_sleeps_for_clocks_and_returns_for_fds() {
        let mut store = store(|_| {});
        let i = instantiate(wrapper_module(), &mut store);
        // Two clocks: 30 ms and 10 s; only the first fires.
        let m = mem(&mut store, &i);
        clock_sub(m, 1000, 7, 30_000_000);
        clock_sub(m, 1048, 8, 10_000_000_000);
        let start = Instant::now();
        store.data_mut().wasi.deadline = Some(start + Duration::from_secs(5));
        assert_eq!(
            call(&mut store, &i, "poll_oneoff", &i32s(&[1000, 2000, 2, 0])).unwrap(),
            0
        );
        let elapsed = start.elapsed();
        assert!(
            elapsed >= Duration::from_millis(30) && elapsed < Duration::from_secs(2),
            "{elapsed:?}"
        );
        let m = mem(&mut store, &i);
        assert_eq!(le_u32(m, 0), 1);
        assert_eq!(le_u64(m, 2000), 7);
        assert_eq!(le_u16(m, 2008), 0);
        assert_eq!(m[2010], EVENTTYPE_CLOCK);

        // The call deadline caps the sleep; nothing fires.
        let start = Instant::now();
        store.data_mut().wasi.deadline = Some(start + Duration::from_millis(20));
        assert_eq!(
            call(&mut store, &i, "poll_oneoff", &i32s(&[1048, 2000, 1, 0])).unwrap(),
            0
        );
        let elapsed = start.elapsed();
        assert!(
            elapsed >= Duration::from_millis(15) && elapsed < Duration::from_secs(2),
            "{elapsed:?}"
        );
        assert_eq!(u32_at(&mut store, &i, 0), 0);

        // An fd subscription is ready at once, with the clock not fired.
        let m = mem(&mut store, &i);
        m[1000..1048].fill(0);
        m[1000] = 9;
        m[1008] = EVENTTYPE_FD_READ;
        m[1016] = 0;
        let start = Instant::now();
        assert_eq!(
            call(&mut store, &i, "poll_oneoff", &i32s(&[1000, 2000, 2, 0])).unwrap(),
            0
        );
        assert!(start.elapsed() < Duration::from_secs(1));
        let m = mem(&mut store, &i);
        assert_eq!(le_u32(m, 0), 1);
        assert_eq!(le_u64(m, 2000), 9);
        assert_eq!(m[2010], EVENTTYPE_FD_READ);
        assert_eq!(le_u16(m, 2024), EVENTRWFLAGS_HANGUP);
        assert_eq!(
            call(&mut store, &i, "poll_oneoff", &i32s(&[1000, 2000, 0, 0])).unwrap(),
            errno::INVAL
        );
    }

    #[test]
    fn proc_exit_is_a_typed_error() {
        let ((), log) = capture(|| {
            let mut store = store(|w| w.log = true);
            let i = instantiate(wrapper_module(), &mut store);
            assert_eq!(fd_write(&mut store, &i, 1, &[b"unterminated"]), (0, 12));
            let error = call(&mut store, &i, "proc_exit", &i32s(&[3])).unwrap_err();
            assert_eq!(error.downcast_ref::<WasiExit>(), Some(&WasiExit(3)));
            assert_eq!(store.data().wasi.exit_code, Some(3));
        });
        assert_eq!(messages(&log), ["unterminated"]);
    }

    // ----- Real guests built from tests/guests -----

    fn guests_dir() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/guests")
    }

    fn out_dir() -> PathBuf {
        let dir = std::env::temp_dir().join(format!("ferrite-wasi-guests-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    /// The Rust guest, or `None` (with a printed reason) if there is no
    /// Rust 1.63+ compiler with the wasm32-wasi standard library.
    fn rust_guest() -> Option<&'static Module> {
        static MODULE: OnceLock<Option<Module>> = OnceLock::new();
        MODULE
            .get_or_init(|| {
                let rustc =
                    std::env::var("FERRITE_WASI_RUSTC").unwrap_or_else(|_| "/usr/bin/rustc".into());
                let sysroot = Command::new(&rustc).args(["--print", "sysroot"]).output();
                let Ok(sysroot) = sysroot else {
                    eprintln!("skipping Rust wasm32-wasi guest: {rustc} not found");
                    return None;
                };
                let sysroot = String::from_utf8_lossy(&sysroot.stdout).trim().to_owned();
                if !Path::new(&sysroot).join("lib/rustlib/wasm32-wasi").exists() {
                    eprintln!("skipping Rust wasm32-wasi guest: no wasm32-wasi std in {sysroot}");
                    return None;
                }
                let out = out_dir().join("wasi_rust.wasm");
                let status = Command::new(&rustc)
                    .args([
                        "--target",
                        "wasm32-wasi",
                        "--crate-type",
                        "cdylib",
                        "-O",
                        "-C",
                        "strip=debuginfo",
                        "-o",
                    ])
                    .arg(&out)
                    .arg(guests_dir().join("wasi_rust/lib.rs"))
                    .status()
                    .unwrap();
                assert!(status.success(), "building the Rust guest failed");
                Some(Module::from_file(engine(), &out).unwrap())
            })
            .as_ref()
    }

    /// The Go guest (c-shared, `//go:wasmexport`), or `None` (with a printed
    /// reason) if there is no Go toolchain.
    fn go_guest() -> Option<&'static Module> {
        static MODULE: OnceLock<Option<Module>> = OnceLock::new();
        MODULE
            .get_or_init(|| {
                let go = std::env::var("FERRITE_WASI_GO").ok().or_else(|| {
                    ["/usr/local/go/bin/go", "go"]
                        .into_iter()
                        .find(|go| {
                            Command::new(go)
                                .arg("version")
                                .output()
                                .is_ok_and(|o| o.status.success())
                        })
                        .map(str::to_owned)
                });
                let Some(go) = go else {
                    eprintln!("skipping Go wasip1 guest: no go toolchain");
                    return None;
                };
                let out = out_dir().join("wasi_go.wasm");
                let output = Command::new(&go)
                    .args(["build", "-buildmode=c-shared", "-o"])
                    .arg(&out)
                    .arg(".")
                    .current_dir(guests_dir().join("wasi_go"))
                    .env("GOOS", "wasip1")
                    .env("GOARCH", "wasm")
                    .env("GOTOOLCHAIN", "local")
                    .output()
                    .unwrap();
                assert!(
                    output.status.success(),
                    "building the Go guest failed: {}",
                    String::from_utf8_lossy(&output.stderr)
                );
                Some(Module::from_file(engine(), &out).unwrap())
            })
            .as_ref()
    }

    fn typed_call<P: wasmtime::WasmParams, R: wasmtime::WasmResults>(
        store: &mut Store<Host>,
        instance: &Instance,
        name: &str,
        params: P,
    ) -> wasmtime::Result<R> {
        instance
            .get_typed_func::<P, R>(&mut *store, name)?
            .call(&mut *store, params)
    }

    #[test]
    fn rust_guest_output_clock_random_exit() {
        let Some(module) = rust_guest() else { return };
        let ((), log) = capture(|| {
            let mut store = store(|w| w.log = true);
            let i = instantiate(module, &mut store);
            typed_call::<(), ()>(&mut store, &i, "hello", ()).unwrap();
            drop(store);
        });
        assert_eq!(
            messages(&log),
            ["hello from rust", "warning from rust", "no newline"]
        );
        assert_eq!(log[1].stream, "stderr");
        assert_eq!(log[1].level, "WARN");

        let ((), log) = capture(|| {
            let mut store = store(|_| {});
            let i = instantiate(module, &mut store);
            typed_call::<(), ()>(&mut store, &i, "hello", ()).unwrap();
        });
        assert!(log.is_empty(), "{log:?}");

        for allowed in [false, true] {
            let mut store = store(|w| {
                w.time = allowed;
                w.random = allowed;
            });
            let i = instantiate(module, &mut store);
            let now = typed_call::<(), u64>(&mut store, &i, "now_ns", ()).unwrap();
            let r1 = typed_call::<(), u64>(&mut store, &i, "random_u64", ()).unwrap();
            let r2 = typed_call::<(), u64>(&mut store, &i, "random_u64", ()).unwrap();
            if allowed {
                assert!(now > 1_600_000_000_000_000_000, "{now}");
                assert!(r1 != r2);
            } else {
                assert_eq!((now, r1, r2), (0, 0, 0));
            }
            // The sleep really happens; the guest's clock only moves with `time`.
            let start = Instant::now();
            let seen = typed_call::<i32, u64>(&mut store, &i, "sleep_ms", 30).unwrap();
            assert!(start.elapsed() >= Duration::from_millis(30));
            assert_eq!(seen >= 30_000_000, allowed, "{seen}");
        }

        let mut store = store(|_| {});
        let i = instantiate(module, &mut store);
        assert_eq!(
            typed_call::<(), i32>(&mut store, &i, "read_stdin", ()).unwrap(),
            0
        );
        assert_eq!(
            typed_call::<(), i32>(&mut store, &i, "env_count", ()).unwrap(),
            0
        );
        // No preopens: Rust std finds no directory to open the path in.
        assert_ne!(
            typed_call::<(), i32>(&mut store, &i, "open_file", ()).unwrap(),
            0
        );
        let error = typed_call::<i32, ()>(&mut store, &i, "exit_with", 7).unwrap_err();
        assert_eq!(error.downcast_ref::<WasiExit>(), Some(&WasiExit(7)));
        assert_eq!(store.data().wasi.exit_code, Some(7));
    }

    #[test]
    fn go_guest_output_clock_random_exit() {
        let Some(module) = go_guest() else { return };
        let init = |store: &mut Store<Host>| -> Instance {
            let i = instantiate(module, store);
            let start = Instant::now();
            typed_call::<(), ()>(store, &i, "_initialize", ()).unwrap();
            eprintln!("Go c-shared _initialize took {:?}", start.elapsed());
            i
        };
        let (result, log) = capture(|| {
            let mut store = store(|w| w.log = true);
            let i = instantiate(module, &mut store);
            typed_call::<(), ()>(&mut store, &i, "_initialize", ())?;
            typed_call::<(), ()>(&mut store, &i, "hello", ())
        });
        if let Err(error) = result {
            panic!("{error:?}\nguest output: {:#?}", messages(&log));
        }
        assert_eq!(messages(&log), ["hello from go", "warning from go"]);
        assert_eq!(
            (log[0].stream.as_str(), log[1].stream.as_str()),
            ("stdout", "stderr")
        );

        for allowed in [false, true] {
            let mut store = store(|w| {
                w.time = allowed;
                w.random = allowed;
            });
            let i = init(&mut store);
            let now = typed_call::<(), i64>(&mut store, &i, "now_ns", ()).unwrap();
            let r1 = typed_call::<(), i64>(&mut store, &i, "random_u64", ()).unwrap();
            let r2 = typed_call::<(), i64>(&mut store, &i, "random_u64", ()).unwrap();
            if allowed {
                assert!(now > 1_600_000_000_000_000_000, "{now}");
                assert!(r1 != r2);
                let start = Instant::now();
                let seen = typed_call::<i32, i64>(&mut store, &i, "sleep_ms", 30).unwrap();
                assert!(start.elapsed() >= Duration::from_millis(30));
                assert!(seen >= 30_000_000, "{seen}");
            } else {
                // Go's time.Now also mixes in the monotonic clock; both read 0.
                assert!(now <= 0, "{now}");
                assert_eq!((r1, r2), (0, 0));
            }
        }

        let mut store = store(|_| {});
        let i = init(&mut store);
        assert_eq!(
            typed_call::<(), i32>(&mut store, &i, "open_file", ()).unwrap(),
            1
        );
        let error = typed_call::<i32, ()>(&mut store, &i, "exit_with", 3).unwrap_err();
        assert_eq!(error.downcast_ref::<WasiExit>(), Some(&WasiExit(3)));
    }

    #[test]
    #[ignore = "measurement: cargo test -p ferrite-wasm go_initialize_cost -- --ignored --nocapture"]
    fn go_initialize_cost() {
        let Some(module) = go_guest() else { return };
        let mut samples = Vec::new();
        for _ in 0..5 {
            let mut store = store(|_| {});
            let start = Instant::now();
            let i = instantiate(module, &mut store);
            typed_call::<(), ()>(&mut store, &i, "_initialize", ()).unwrap();
            samples.push(start.elapsed());
        }
        samples.sort();
        assert!(samples[0] > Duration::ZERO);
        let _ = writeln!(
            std::io::stderr(),
            "Go c-shared instantiate + _initialize (no pooling): min {:?} median {:?}",
            samples[0],
            samples[2]
        );
    }
}
