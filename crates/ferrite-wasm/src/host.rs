//! Host functions of import module `ferrite` (`docs/abi.md` §4) and the
//! per-instance host state.
//!
//! Every keyspace host function builds an argv and goes through [`run`]:
//! one deadline check, one permission check, one `Transaction::execute`.
//! Guest memory is touched only through [`crate::memory`].

use std::collections::HashSet;
use std::ptr::NonNull;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use ferrite_protocol::Frame;
use rand::{Rng, RngCore};
use wasmtime::{Caller, Engine, Linker, Module, ResourceLimiter, ValType};

use crate::error::normalize_error_text;
use crate::keyspace::{AccessMode, KeyScope, Keyspace, Transaction};
use crate::memory::{self, HostError, ListLimits};
use crate::permissions::{Capability, FunctionPermissions};
use crate::WasmError;

/// Import module of the host functions.
pub const IMPORT_MODULE: &str = "ferrite";
/// Import module of WASI preview 1.
pub const WASI_MODULE: &str = "wasi_snapshot_preview1";
/// Largest key, value, message or result moved between host and guest
/// (the RESP bulk limit).
pub const BULK_BYTES_MAX: usize = 512 * 1024 * 1024;
/// Most items in a `ferrite_call` argv.
pub const CALL_ARGV_ITEMS_MAX: usize = 1024 * 1024;
/// Largest `ferrite_random` fill, in bytes.
pub const RANDOM_BYTES_MAX: usize = 1024 * 1024;
/// Most table elements a guest may grow its tables to.
pub const TABLE_ELEMENTS_MAX: usize = 1_000_000;

/// An error a host function raises: ends the call with this error.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub(crate) struct Raise(pub(crate) WasmError);

/// Raised in an inline attempt (`WasmExecutor::try_execute_inline`) when
/// the call would have to wait (a lock, a sleep) or overran its inline
/// budget: the attempt is rolled back and the call runs again, from the
/// start, on a blocking thread. Guests cannot catch it.
#[derive(Debug, thiserror::Error)]
#[error("call deferred to a blocking thread")]
pub(crate) struct Defer;

/// CPU time of the calling thread. An inline attempt's budget counts this,
/// not wall time: on a busy machine the thread may be preempted in the
/// middle of a short call, which is no reason to take the call off the I/O
/// thread.
#[cfg(unix)]
pub(crate) fn thread_cpu_time() -> Duration {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid, writable timespec for the duration of the
    // call; CLOCK_THREAD_CPUTIME_ID is supported on every unix we build for.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    if rc != 0 {
        return Duration::ZERO;
    }
    Duration::new(
        u64::try_from(ts.tv_sec).unwrap_or(0),
        u32::try_from(ts.tv_nsec).unwrap_or(0),
    )
}

/// Elsewhere: wall time since the first use (preemption counts too).
#[cfg(not(unix))]
pub(crate) fn thread_cpu_time() -> Duration {
    static START: std::sync::OnceLock<Instant> = std::sync::OnceLock::new();
    START.get_or_init(Instant::now).elapsed()
}

/// The inline part of the epoch callback: `Err` (deferring the call) once
/// it used [`crate::INLINE_BUDGET`] of CPU since its first tick.
pub(crate) fn inline_tick(call: &mut CallState) -> wasmtime::Result<()> {
    if !call.inline {
        return Ok(());
    }
    let now = thread_cpu_time();
    match call.inline_cpu_from {
        None => call.inline_cpu_from = Some(now),
        Some(from) if now.saturating_sub(from) >= crate::INLINE_BUDGET => {
            call.overran = true;
            return defer(call);
        }
        Some(_) => {}
    }
    Ok(())
}

/// Marks the running call as deferred and returns the error that unwinds it.
pub(crate) fn defer<T>(call: &mut CallState) -> wasmtime::Result<T> {
    call.deferred = true;
    Err(wasmtime::Error::new(Defer))
}

fn raise<T>(e: WasmError) -> wasmtime::Result<T> {
    Err(wasmtime::Error::new(Raise(e)))
}

/// The keyspace handle and transaction of the running call.
pub(crate) struct CallEnv<'a> {
    pub(crate) keyspace: &'a dyn Keyspace,
    /// `None` until the first command of a call without declared keys: a
    /// call that runs none (a pure function) begins no transaction at all
    /// (begin + commit cost ~650 Ir, a fifth of a trivial call).
    txn: Option<Box<dyn Transaction + 'a>>,
    /// How to begin it then (the whole keyspace, lazily: no lock until the
    /// first key access).
    later: LaterBegin,
}

/// What a call without declared keys begins its transaction with.
#[derive(Debug, Clone, Copy)]
pub(crate) struct LaterBegin {
    pub(crate) db: usize,
    pub(crate) mode: AccessMode,
    pub(crate) deadline: Instant,
    /// Inline on an I/O thread: try, never wait.
    pub(crate) inline: bool,
}

impl<'a> CallEnv<'a> {
    /// A call's environment; `txn` is its transaction if already begun
    /// (declared keys), else it begins at the first command (`later`).
    pub(crate) fn new(
        keyspace: &'a dyn Keyspace,
        txn: Option<Box<dyn Transaction + 'a>>,
        later: LaterBegin,
    ) -> Self {
        CallEnv {
            keyspace,
            txn,
            later,
        }
    }

    /// The call's transaction, begun now if it was not yet. `Ok(None)`:
    /// beginning it would wait (inline only): the call must be deferred.
    pub(crate) fn txn(&mut self) -> Result<Option<&mut (dyn Transaction + 'a)>, WasmError> {
        if self.txn.is_none() {
            let LaterBegin {
                db,
                mode,
                deadline,
                inline,
            } = self.later;
            self.txn = if inline {
                self.keyspace.try_begin(db, KeyScope::Lazy, mode)?
            } else {
                Some(self.keyspace.begin(db, KeyScope::Lazy, mode, deadline)?)
            };
        }
        Ok(self.txn.as_deref_mut())
    }

    /// Ends the call's transaction, if it began: commits or rolls back.
    pub(crate) fn finish(self, commit: bool) {
        match (self.txn, commit) {
            (Some(txn), true) => txn.commit(),
            (Some(txn), false) => txn.rollback(),
            (None, _) => {}
        }
    }
}

/// Pointer to the [`CallEnv`] of the running call (see [`HostState::env`]).
pub(crate) struct EnvPtr(NonNull<CallEnv<'static>>);

// SAFETY: the pointer is only set while a call runs, by the thread running
// it, and cleared before that call returns (`Executor::run_call`); a store
// moved to another thread (the pool keeper) never holds one.
unsafe impl Send for EnvPtr {}

impl EnvPtr {
    /// Erases the lifetime of `env`; the caller must clear the pointer
    /// before `env` goes out of scope.
    pub(crate) fn new(env: &mut CallEnv<'_>) -> EnvPtr {
        EnvPtr(NonNull::from(env).cast())
    }
}

/// Per-call state, reset before each call.
pub(crate) struct CallState {
    pub(crate) permissions: Arc<FunctionPermissions>,
    /// WASM.CALLREAD / read-only call.
    pub(crate) read_only: bool,
    pub(crate) args: Vec<Bytes>,
    pub(crate) numkeys: usize,
    /// The result buffer (`docs/abi.md` §2).
    pub(crate) result: Vec<u8>,
    /// The reply set by `ferrite_return*` / `ferrite_error`.
    pub(crate) reply: Option<Frame>,
    pub(crate) deadline: Instant,
    /// `deadline` as [`crate::clock::mono_ms`], for the check at each host
    /// call against the coarse clock.
    pub(crate) deadline_ms: u64,
    pub(crate) timeout_ms: u64,
    pub(crate) env: Option<EnvPtr>,
    pub(crate) http_timeout_ms: u64,
    pub(crate) http_body_bytes_max: usize,
    /// An inline attempt (`WasmExecutor::try_execute_inline`).
    pub(crate) inline: bool,
    /// Inline attempt: the thread's CPU time ([`thread_cpu_time`]) at the
    /// first epoch tick the call saw. Read there rather than at the start,
    /// so that a short call (no tick) pays no clock syscall; the budget is
    /// counted from it, so a call gets at most one tick more.
    pub(crate) inline_cpu_from: Option<Duration>,
    /// The inline attempt used up its budget (not merely would wait).
    pub(crate) overran: bool,
    /// The inline attempt was given up ([`Defer`]); its outcome is void.
    pub(crate) deferred: bool,
}

/// The memory limit of a store.
pub(crate) struct Limiter {
    pub(crate) memory_bytes_max: usize,
}

impl ResourceLimiter for Limiter {
    fn memory_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        if desired > self.memory_bytes_max {
            return raise(WasmError::MemoryLimitExceeded {
                limit: self.memory_bytes_max as u64,
            });
        }
        Ok(true)
    }

    fn table_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        Ok(desired <= TABLE_ELEMENTS_MAX)
    }
}

/// Data of every wasmtime store of this crate.
pub(crate) struct HostState {
    pub(crate) function: Arc<str>,
    /// The instance's exported `memory`, looked up once at instantiation
    /// (a by-name export lookup per host call showed in profiles).
    pub(crate) memory: Option<wasmtime::Memory>,
    /// The instance's `ferrite_alloc (i32) -> i32`, looked up at its first
    /// use (by module index, through `instance` and `alloc_handle`): most
    /// calls never pass data through it, and the lookup cost ~1,200
    /// instructions per instantiation.
    pub(crate) alloc: Option<wasmtime::TypedFunc<i32, i32>>,
    /// This store's instance (set right after instantiation).
    pub(crate) instance: Option<wasmtime::Instance>,
    /// The module's `ferrite_alloc` export, if any.
    pub(crate) alloc_handle: Option<wasmtime::ModuleExport>,
    /// The last SDK-convention entry point called on this instance (index
    /// in the function's exports), typed: a reused instance calls it again
    /// without an export lookup or a dynamic type check.
    pub(crate) sdk_entry: Option<(usize, wasmtime::TypedFunc<(), ()>)>,
    /// The same for the typed and raw conventions: the last entry point
    /// (index in the function's exports), and whether its wasm type was
    /// checked against the export's signature (then it is called without
    /// wasmtime's per-call check, see `executor::call_checked_entry`).
    pub(crate) entry: Option<(usize, wasmtime::Func, bool)>,
    /// The module's initializers (`_initialize`, `ferrite_init`) already
    /// ran on this instance (before its snapshot): calls skip them.
    pub(crate) initialized: bool,
    pub(crate) call: CallState,
    pub(crate) limiter: Limiter,
    pub(crate) wasi: crate::wasi::WasiCtx,
}

/// The running call's [`CallEnv`] (borrows only the `env` field, so the
/// rest of the state stays usable beside it).
fn env_of(env: &mut Option<EnvPtr>) -> wasmtime::Result<&mut CallEnv<'static>> {
    match env.as_mut() {
        // SAFETY: `env` points to a live `CallEnv` on the stack of the
        // thread running this call (set in `run_call`, cleared before it
        // returns). The `'static` is a lie we never act on: nothing
        // borrowed from it outlives this host call.
        Some(ptr) => Ok(unsafe { ptr.0.as_mut() }),
        None => raise(WasmError::Internal(
            "ERR host call outside a function call".into(),
        )),
    }
}

impl memory::RecordsWrites for HostState {
    fn dirty(&mut self) -> &mut crate::reuse::DirtyChunks {
        &mut self.wasi.dirty
    }
}

impl HostState {
    fn deny(&self, cap: Capability) -> wasmtime::Result<()> {
        match self.call.permissions.check_capability(&self.function, cap) {
            Ok(()) => Ok(()),
            Err(text) => raise(WasmError::PermissionDenied(text)),
        }
    }

    fn set_result(&mut self, bytes: &[u8]) -> wasmtime::Result<i64> {
        if bytes.len() > BULK_BYTES_MAX {
            return raise(WasmError::Trap {
                code: "result_too_large",
                message: format!("result of {} bytes exceeds {BULK_BYTES_MAX}", bytes.len()),
            });
        }
        self.call.result.clear();
        self.call.result.extend_from_slice(bytes);
        Ok(bytes.len() as i64)
    }
}

/// How [`run`] reports a refused or failed command.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Errors {
    /// Raise (typed host functions).
    Raise,
    /// Return as an error reply (`ferrite_call`, like `redis.pcall`).
    Reply,
}

/// The one path of every keyspace access: deadline, permissions, execute.
/// `name`: `argv[0]`, when the caller spells it with a static string (the
/// typed host functions; see [`Keyspace::command_info_static`]).
fn run(
    caller: &mut Caller<'_, HostState>,
    name: Option<&'static str>,
    argv: &[Bytes],
    errors: Errors,
    filter_keys: bool,
) -> wasmtime::Result<Frame> {
    debug_assert!(name.is_none_or(|n| argv.first().is_some_and(|a| **a == *n.as_bytes())));
    let HostState { function, call, .. } = caller.data_mut();
    // The coarse clock (epoch ticks): no clock read per host call. The
    // epoch callback enforces the deadline between host calls as precisely.
    if crate::clock::coarse_ms() >= call.deadline_ms {
        return raise(WasmError::Timeout(call.timeout_ms));
    }
    let read_only = call.read_only;
    // Disjoint fields: no Arc clone of the name or permissions per command.
    let permissions = &*call.permissions;
    let env = env_of(&mut call.env)?;
    let mut blocked = false;
    let info = match name {
        Some(name) => env.keyspace.command_info_static(name, argv),
        None => env.keyspace.command_info(argv),
    };
    let frame = match info {
        Some(mut info) => {
            if filter_keys {
                info.keyspace_wide = false;
            }
            match permissions.check(function, &info, read_only) {
                Ok(()) => {
                    let Some(txn) = env.txn().or_else(raise)? else {
                        return defer(&mut caller.data_mut().call);
                    };
                    let frame = txn.execute_checked(&info, argv);
                    blocked = txn.would_block();
                    frame
                }
                Err(text) if errors == Errors::Raise => {
                    return raise(WasmError::PermissionDenied(text))
                }
                Err(text) => Frame::Error(Bytes::from(text)),
            }
        }
        // Unknown command: only the COMMANDS allow-list can refuse it first;
        // otherwise the keyspace answers with Redis's own error text.
        None if permissions.allowed_commands.is_some() => {
            let name = argv
                .first()
                .map(|n| String::from_utf8_lossy(n).to_ascii_uppercase())
                .unwrap_or_default();
            let text =
                format!("NOPERM function '{function}' may not run '{name}' (not in COMMANDS)");
            if errors == Errors::Raise {
                return raise(WasmError::PermissionDenied(text));
            }
            Frame::Error(Bytes::from(text))
        }
        None => {
            let Some(txn) = env.txn().or_else(raise)? else {
                return defer(&mut caller.data_mut().call);
            };
            let frame = txn.execute(argv);
            blocked = txn.would_block();
            frame
        }
    };
    if blocked {
        return defer(&mut caller.data_mut().call);
    }
    match frame {
        Frame::Error(text) if errors == Errors::Raise => raise(WasmError::CommandError(
            String::from_utf8_lossy(&text).into_owned(),
        )),
        frame => Ok(frame),
    }
}

fn unexpected<T>(cmd: &str, frame: &Frame) -> wasmtime::Result<T> {
    raise(WasmError::Internal(format!(
        "ERR unexpected reply to {cmd}: {frame:?}"
    )))
}

fn int_reply(cmd: &str, frame: Frame) -> wasmtime::Result<i64> {
    match frame {
        Frame::Integer(n) => Ok(n),
        other => unexpected(cmd, &other),
    }
}

/// Stores a bulk/nil reply in the result buffer: its length, or -1 for nil.
fn bulk_result(
    caller: &mut Caller<'_, HostState>,
    cmd: &str,
    frame: Frame,
) -> wasmtime::Result<i64> {
    match frame {
        Frame::Bulk(b) => caller.data_mut().set_result(&b),
        Frame::Null => Ok(-1),
        other => unexpected(cmd, &other),
    }
}

fn mem(caller: &mut Caller<'_, HostState>) -> wasmtime::Result<wasmtime::Memory> {
    match caller.data().memory {
        Some(memory) => Ok(memory),
        None => Ok(memory::guest_memory(caller)?),
    }
}

/// Copies `len` bytes at `ptr` out of guest memory.
fn read(
    caller: &mut Caller<'_, HostState>,
    what: &'static str,
    ptr: i32,
    len: i32,
) -> wasmtime::Result<Bytes> {
    let memory = mem(caller)?;
    Ok(Bytes::from(memory::read_bytes(
        memory,
        &*caller,
        what,
        ptr as u32,
        len as u32,
        BULK_BYTES_MAX,
    )?))
}

// ---- arguments and results -------------------------------------------------

fn h_argc(caller: Caller<'_, HostState>) -> i32 {
    caller.data().call.args.len() as i32
}

fn h_numkeys(caller: Caller<'_, HostState>) -> i32 {
    caller.data().call.numkeys as i32
}

/// Argument `index` of the call, if in range.
fn arg_at(call: &CallState, index: i32) -> Option<&Bytes> {
    usize::try_from(index).ok().and_then(|i| call.args.get(i))
}

fn h_arg(mut caller: Caller<'_, HostState>, index: i32) -> wasmtime::Result<i64> {
    let state = caller.data_mut();
    let Some(arg) = arg_at(&state.call, index).cloned() else {
        return Ok(-1);
    };
    state.set_result(&arg)
}

/// `ferrite_arg_read(index, dst, dst_len) -> len`: argument `index`
/// copied straight to `dst` when it fits in `dst_len` bytes (one host call
/// per argument instead of `ferrite_arg` + `ferrite_result_read`); when it
/// does not, nothing is written and the argument is put in the result
/// buffer as `ferrite_arg` does. `-1` if out of range.
fn h_arg_read(
    mut caller: Caller<'_, HostState>,
    index: i32,
    dst: i32,
    dst_len: i32,
) -> wasmtime::Result<i64> {
    let memory = mem(&mut caller)?;
    let (data, state) = memory.data_and_store_mut(&mut caller);
    let Some(arg) = arg_at(&state.call, index) else {
        return Ok(-1);
    };
    let len = arg.len();
    if len > dst_len as u32 as usize {
        let arg = arg.clone();
        return state.set_result(&arg);
    }
    // len <= dst_len, a u32
    memory::slice_mut(data, &mut state.wasi.dirty, dst as u32, len as u32)?.copy_from_slice(arg);
    Ok(len as i64)
}

fn h_result_read(
    mut caller: Caller<'_, HostState>,
    dst: i32,
    dst_len: i32,
) -> wasmtime::Result<i32> {
    let memory = mem(&mut caller)?;
    let (data, state) = memory.data_and_store_mut(&mut caller);
    let n = state.call.result.len().min(dst_len as u32 as usize);
    let n32 = n as u32; // n <= dst_len, a u32
    memory::slice_mut(data, &mut state.wasi.dirty, dst as u32, n32)?
        .copy_from_slice(&state.call.result[..n]);
    Ok(n32 as i32)
}

fn h_return(mut caller: Caller<'_, HostState>, ptr: i32, len: i32) -> wasmtime::Result<()> {
    let bytes = read(&mut caller, "reply", ptr, len)?;
    caller.data_mut().call.reply = Some(Frame::Bulk(bytes));
    Ok(())
}

fn h_return_int(mut caller: Caller<'_, HostState>, v: i64) {
    caller.data_mut().call.reply = Some(Frame::Integer(v));
}

fn h_return_nil(mut caller: Caller<'_, HostState>) {
    caller.data_mut().call.reply = Some(Frame::Null);
}

fn h_return_resp(mut caller: Caller<'_, HostState>, ptr: i32, len: i32) -> wasmtime::Result<()> {
    let bytes = read(&mut caller, "reply", ptr, len)?;
    match ferrite_protocol::parse_frame(&bytes) {
        Ok(Some((frame, used))) if used == bytes.len() => {
            caller.data_mut().call.reply = Some(frame);
            Ok(())
        }
        _ => raise(WasmError::GuestError(
            "ERR invalid RESP reply from function".into(),
        )),
    }
}

fn h_error(mut caller: Caller<'_, HostState>, ptr: i32, len: i32) -> wasmtime::Result<()> {
    let bytes = read(&mut caller, "error", ptr, len)?;
    let text = normalize_error_text(&bytes);
    caller.data_mut().call.reply = Some(Frame::Error(Bytes::from(text)));
    Ok(())
}

// ---- keys ------------------------------------------------------------------

fn h_get(mut caller: Caller<'_, HostState>, kp: i32, kl: i32) -> wasmtime::Result<i64> {
    let key = read(&mut caller, "key", kp, kl)?;
    let frame = run(
        &mut caller,
        Some("GET"),
        &[Bytes::from_static(b"GET"), key],
        Errors::Raise,
        false,
    )?;
    bulk_result(&mut caller, "GET", frame)
}

/// Reference-seed `ferrite_get`: the value is copied into a guest buffer
/// from `ferrite_alloc` as `u32 len` + bytes; 0 means nil.
fn h_get_alloc(mut caller: Caller<'_, HostState>, kp: i32, kl: i32) -> wasmtime::Result<i32> {
    let key = read(&mut caller, "key", kp, kl)?;
    let frame = run(
        &mut caller,
        Some("GET"),
        &[Bytes::from_static(b"GET"), key],
        Errors::Raise,
        false,
    )?;
    let value = match frame {
        Frame::Bulk(b) => b,
        Frame::Null => return Ok(0),
        other => return unexpected("GET", &other),
    };
    let Some(total) = value
        .len()
        .checked_add(4)
        .and_then(|t| i32::try_from(t).ok())
    else {
        return raise(WasmError::Trap {
            code: "result_too_large",
            message: "value too large for ferrite_alloc".into(),
        });
    };
    let ptr = guest_alloc(&mut caller, total)?;
    let memory = mem(&mut caller)?;
    memory::write_u32(memory, &mut caller, ptr as u32, value.len() as u32)?;
    memory::write_bytes(memory, &mut caller, (ptr as u32).wrapping_add(4), &value)?;
    Ok(ptr)
}

/// Calls the guest's `ferrite_alloc(size) -> ptr`; 0 raises.
pub(crate) fn guest_alloc(caller: &mut Caller<'_, HostState>, size: i32) -> wasmtime::Result<i32> {
    let alloc = match caller.data().alloc.clone() {
        Some(alloc) => alloc,
        None => {
            let state = caller.data();
            let func = match (state.instance, state.alloc_handle) {
                (Some(instance), Some(handle)) => instance
                    .get_module_export(&mut *caller, &handle)
                    .and_then(wasmtime::Extern::into_func),
                _ => caller
                    .get_export("ferrite_alloc")
                    .and_then(wasmtime::Extern::into_func),
            };
            let Some(func) = func else {
                return raise(WasmError::BadArguments(
                    "ERR module exports no ferrite_alloc".into(),
                ));
            };
            let alloc = func.typed::<i32, i32>(&*caller)?;
            caller.data_mut().alloc = Some(alloc.clone());
            alloc
        }
    };
    let ptr = alloc.call(&mut *caller, size)?;
    if ptr == 0 {
        return raise(WasmError::Trap {
            code: "alloc_failed",
            message: format!("ferrite_alloc({size}) returned 0"),
        });
    }
    Ok(ptr)
}

fn h_set(
    mut caller: Caller<'_, HostState>,
    kp: i32,
    kl: i32,
    vp: i32,
    vl: i32,
) -> wasmtime::Result<i32> {
    set(&mut caller, kp, kl, vp, vl, 0)
}

fn h_set_ttl(
    mut caller: Caller<'_, HostState>,
    kp: i32,
    kl: i32,
    vp: i32,
    vl: i32,
    ttl_secs: i64,
) -> wasmtime::Result<i32> {
    set(&mut caller, kp, kl, vp, vl, ttl_secs)
}

fn set(
    caller: &mut Caller<'_, HostState>,
    kp: i32,
    kl: i32,
    vp: i32,
    vl: i32,
    ttl_secs: i64,
) -> wasmtime::Result<i32> {
    let key = read(caller, "key", kp, kl)?;
    let value = read(caller, "value", vp, vl)?;
    let mut args: smallvec::SmallVec<[Bytes; 5]> =
        smallvec::smallvec![Bytes::from_static(b"SET"), key, value];
    if ttl_secs > 0 {
        args.push(Bytes::from_static(b"EX"));
        args.push(int_arg(ttl_secs));
    }
    match run(caller, Some("SET"), &args, Errors::Raise, false)? {
        Frame::Simple(_) => Ok(0),
        other => unexpected("SET", &other),
    }
}

/// An integer argument as RESP spells it (no `fmt` machinery).
fn int_arg(n: i64) -> Bytes {
    Bytes::copy_from_slice(itoa::Buffer::new().format(n).as_bytes())
}

fn key_int_cmd(
    caller: &mut Caller<'_, HostState>,
    cmd: &'static str,
    kp: i32,
    kl: i32,
    extra: &[Bytes],
) -> wasmtime::Result<i64> {
    let key = read(caller, "key", kp, kl)?;
    // Inline: no argv allocation for the commands functions run most.
    let mut args: smallvec::SmallVec<[Bytes; 4]> =
        smallvec::smallvec![Bytes::from_static(cmd.as_bytes()), key];
    args.extend(extra.iter().cloned());
    let frame = run(caller, Some(cmd), &args, Errors::Raise, false)?;
    int_reply(cmd, frame)
}

fn h_del(mut caller: Caller<'_, HostState>, kp: i32, kl: i32) -> wasmtime::Result<i32> {
    Ok(key_int_cmd(&mut caller, "DEL", kp, kl, &[])? as i32)
}

fn h_exists(mut caller: Caller<'_, HostState>, kp: i32, kl: i32) -> wasmtime::Result<i32> {
    Ok(key_int_cmd(&mut caller, "EXISTS", kp, kl, &[])? as i32)
}

fn h_incr(mut caller: Caller<'_, HostState>, kp: i32, kl: i32) -> wasmtime::Result<i64> {
    key_int_cmd(&mut caller, "INCR", kp, kl, &[])
}

fn h_incrby(
    mut caller: Caller<'_, HostState>,
    kp: i32,
    kl: i32,
    delta: i64,
) -> wasmtime::Result<i64> {
    key_int_cmd(&mut caller, "INCRBY", kp, kl, &[int_arg(delta)])
}

fn h_expire(
    mut caller: Caller<'_, HostState>,
    kp: i32,
    kl: i32,
    secs: i64,
) -> wasmtime::Result<i32> {
    Ok(key_int_cmd(&mut caller, "EXPIRE", kp, kl, &[int_arg(secs)])? as i32)
}

fn h_ttl(mut caller: Caller<'_, HostState>, kp: i32, kl: i32) -> wasmtime::Result<i64> {
    key_int_cmd(&mut caller, "TTL", kp, kl, &[])
}

fn h_zcard(mut caller: Caller<'_, HostState>, kp: i32, kl: i32) -> wasmtime::Result<i64> {
    key_int_cmd(&mut caller, "ZCARD", kp, kl, &[])
}

fn h_hget(
    mut caller: Caller<'_, HostState>,
    kp: i32,
    kl: i32,
    fp: i32,
    fl: i32,
) -> wasmtime::Result<i64> {
    let key = read(&mut caller, "key", kp, kl)?;
    let field = read(&mut caller, "field", fp, fl)?;
    let frame = run(
        &mut caller,
        Some("HGET"),
        &[Bytes::from_static(b"HGET"), key, field],
        Errors::Raise,
        false,
    )?;
    bulk_result(&mut caller, "HGET", frame)
}

#[allow(
    clippy::too_many_arguments,
    reason = "the wasm signature of ferrite_hset"
)]
fn h_hset(
    mut caller: Caller<'_, HostState>,
    kp: i32,
    kl: i32,
    fp: i32,
    fl: i32,
    vp: i32,
    vl: i32,
) -> wasmtime::Result<i32> {
    let field = read(&mut caller, "field", fp, fl)?;
    let value = read(&mut caller, "value", vp, vl)?;
    Ok(key_int_cmd(&mut caller, "HSET", kp, kl, &[field, value])? as i32)
}

fn h_zadd(
    mut caller: Caller<'_, HostState>,
    kp: i32,
    kl: i32,
    score: f64,
    mp: i32,
    ml: i32,
) -> wasmtime::Result<i32> {
    let member = read(&mut caller, "member", mp, ml)?;
    let score = Bytes::from(format_score(score));
    Ok(key_int_cmd(&mut caller, "ZADD", kp, kl, &[score, member])? as i32)
}

/// A score as ZADD accepts it (`inf`, `-inf`, shortest round-trip decimal).
fn format_score(score: f64) -> String {
    if score.is_infinite() {
        if score > 0.0 {
            "inf".into()
        } else {
            "-inf".into()
        }
    } else {
        format!("{score:?}")
    }
}

#[allow(
    clippy::too_many_arguments,
    reason = "the wasm signature of ferrite_zremrangebyscore"
)]
fn h_zremrangebyscore(
    mut caller: Caller<'_, HostState>,
    kp: i32,
    kl: i32,
    minp: i32,
    minl: i32,
    maxp: i32,
    maxl: i32,
) -> wasmtime::Result<i64> {
    let min = read(&mut caller, "min", minp, minl)?;
    let max = read(&mut caller, "max", maxp, maxl)?;
    key_int_cmd(&mut caller, "ZREMRANGEBYSCORE", kp, kl, &[min, max])
}

fn h_keys(mut caller: Caller<'_, HostState>, pp: i32, pl: i32) -> wasmtime::Result<i64> {
    let pattern = read(&mut caller, "pattern", pp, pl)?;
    let frame = run(
        &mut caller,
        Some("KEYS"),
        &[Bytes::from_static(b"KEYS"), pattern],
        Errors::Raise,
        true,
    )?;
    let Frame::Array(items) = frame else {
        return unexpected("KEYS", &frame);
    };
    let permissions = caller.data().call.permissions.clone();
    let mut keys: Vec<Bytes> = Vec::with_capacity(items.len());
    for item in items {
        match item {
            Frame::Bulk(k) if permissions.key_allowed(&k) => keys.push(k),
            Frame::Bulk(_) => {}
            other => return unexpected("KEYS", &other),
        }
    }
    let mut out = Vec::new();
    memory::encode_list(keys.iter(), &mut out)?;
    caller.data_mut().set_result(&out)
}

fn h_call(mut caller: Caller<'_, HostState>, ap: i32, al: i32) -> wasmtime::Result<i64> {
    let memory = mem(&mut caller)?;
    let limits = ListLimits {
        items_max: CALL_ARGV_ITEMS_MAX,
        bytes_max: BULK_BYTES_MAX,
    };
    let args: Vec<Bytes> = memory::read_list(memory, &caller, ap as u32, al as u32, limits)?
        .into_iter()
        .map(Bytes::from)
        .collect();
    let frame = if args.is_empty() {
        Frame::Error(Bytes::from_static(b"ERR ferrite_call needs a command name"))
    } else {
        run(&mut caller, None, &args, Errors::Reply, false)?
    };
    let encoded = ferrite_protocol::encode_to_vec(&frame, ferrite_protocol::Protocol::Resp2);
    caller.data_mut().set_result(&encoded)
}

// ---- utilities -------------------------------------------------------------

fn h_log(mut caller: Caller<'_, HostState>, level: i32, mp: i32, ml: i32) -> wasmtime::Result<()> {
    caller.data().deny(Capability::Log)?;
    let msg = read(&mut caller, "log message", mp, ml)?;
    let text = String::from_utf8_lossy(&msg);
    let function = &*caller.data().function;
    match level {
        0 => tracing::error!(target: "ferrite::wasm", function, "{text}"),
        1 => tracing::warn!(target: "ferrite::wasm", function, "{text}"),
        2 => tracing::info!(target: "ferrite::wasm", function, "{text}"),
        3 => tracing::debug!(target: "ferrite::wasm", function, "{text}"),
        _ => tracing::trace!(target: "ferrite::wasm", function, "{text}"),
    }
    Ok(())
}

fn h_log_i32(caller: Caller<'_, HostState>, level: i32, mp: i32, ml: i32) -> wasmtime::Result<i32> {
    h_log(caller, level, mp, ml)?;
    Ok(0)
}

fn h_time_millis(caller: Caller<'_, HostState>) -> wasmtime::Result<i64> {
    caller.data().deny(Capability::Time)?;
    let ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis())
        .unwrap_or(0);
    Ok(i64::try_from(ms).unwrap_or(i64::MAX))
}

fn h_random_f64(caller: Caller<'_, HostState>) -> wasmtime::Result<f64> {
    caller.data().deny(Capability::Random)?;
    Ok(rand::rng().random::<f64>())
}

fn h_random_bytes(mut caller: Caller<'_, HostState>, bp: i32, bl: i32) -> wasmtime::Result<i32> {
    caller.data().deny(Capability::Random)?;
    memory::check_len("random buffer", bl as u32, RANDOM_BYTES_MAX)?;
    let memory = mem(&mut caller)?;
    let (data, state) = memory.data_and_store_mut(&mut caller);
    let buf = memory::slice_mut(data, &mut state.wasi.dirty, bp as u32, bl as u32)?;
    rand::rng().fill_bytes(buf);
    Ok(bl)
}

fn h_http(mut caller: Caller<'_, HostState>, rp: i32, rl: i32) -> wasmtime::Result<i64> {
    caller.data().deny(Capability::Http)?;
    let request = read(&mut caller, "http request", rp, rl)?;
    let call = &caller.data().call;
    let policy = crate::http::HttpPolicy {
        allow_hosts: call.permissions.http_allow_hosts.clone(),
        timeout_ms: call.http_timeout_ms,
        body_bytes_max: call.http_body_bytes_max,
    };
    match crate::http::request_encoded(&policy, &request, call.deadline) {
        Ok(encoded) => caller.data_mut().set_result(&encoded),
        Err(e) => raise(WasmError::CommandError(format!("ERR http: {e}"))),
    }
}

// ---- linking ---------------------------------------------------------------

/// Compact signature text: params, `:`, results; `i` i32, `I` i64, `f` f32,
/// `F` f64, `?` anything else.
pub(crate) fn signature(ty: &wasmtime::FuncType) -> String {
    let code = |v: ValType| match v {
        ValType::I32 => 'i',
        ValType::I64 => 'I',
        ValType::F32 => 'f',
        ValType::F64 => 'F',
        _ => '?',
    };
    let mut s: String = ty.params().map(code).collect();
    s.push(':');
    s.extend(ty.results().map(code));
    s
}

/// Defines host function `name` with signature `sig`; false if the host has
/// no such function with that signature.
fn define(linker: &mut Linker<HostState>, name: &str, sig: &str) -> wasmtime::Result<bool> {
    let m = IMPORT_MODULE;
    match (name, sig) {
        ("ferrite_argc", ":i") => linker.func_wrap(m, name, h_argc)?,
        ("ferrite_numkeys", ":i") => linker.func_wrap(m, name, h_numkeys)?,
        ("ferrite_arg", "i:I") => linker.func_wrap(m, name, h_arg)?,
        ("ferrite_arg_read", "iii:I") => linker.func_wrap(m, name, h_arg_read)?,
        ("ferrite_result_read", "ii:i") => linker.func_wrap(m, name, h_result_read)?,
        ("ferrite_return", "ii:") => linker.func_wrap(m, name, h_return)?,
        ("ferrite_return_int", "I:") => linker.func_wrap(m, name, h_return_int)?,
        ("ferrite_return_nil", ":") => linker.func_wrap(m, name, h_return_nil)?,
        ("ferrite_return_resp", "ii:") => linker.func_wrap(m, name, h_return_resp)?,
        ("ferrite_error", "ii:") => linker.func_wrap(m, name, h_error)?,
        ("ferrite_get", "ii:I") => linker.func_wrap(m, name, h_get)?,
        ("ferrite_get", "ii:i") => linker.func_wrap(m, name, h_get_alloc)?,
        ("ferrite_set", "iiii:i") => linker.func_wrap(m, name, h_set)?,
        ("ferrite_set", "iiiiI:i") => linker.func_wrap(m, name, h_set_ttl)?,
        ("ferrite_del", "ii:i") => linker.func_wrap(m, name, h_del)?,
        ("ferrite_exists", "ii:i") => linker.func_wrap(m, name, h_exists)?,
        ("ferrite_incr", "ii:I") => linker.func_wrap(m, name, h_incr)?,
        ("ferrite_incrby", "iiI:I") => linker.func_wrap(m, name, h_incrby)?,
        ("ferrite_hget", "iiii:I") => linker.func_wrap(m, name, h_hget)?,
        ("ferrite_hset", "iiiiii:i") => linker.func_wrap(m, name, h_hset)?,
        ("ferrite_expire", "iiI:i") => linker.func_wrap(m, name, h_expire)?,
        ("ferrite_ttl", "ii:I") => linker.func_wrap(m, name, h_ttl)?,
        ("ferrite_zadd", "iiFii:i") => linker.func_wrap(m, name, h_zadd)?,
        ("ferrite_zcard", "ii:I") => linker.func_wrap(m, name, h_zcard)?,
        ("ferrite_zremrangebyscore", "iiiiii:I") => {
            linker.func_wrap(m, name, h_zremrangebyscore)?
        }
        ("ferrite_keys", "ii:I") => linker.func_wrap(m, name, h_keys)?,
        ("ferrite_call", "ii:I") => linker.func_wrap(m, name, h_call)?,
        ("ferrite_log", "iii:") => linker.func_wrap(m, name, h_log)?,
        ("ferrite_log", "iii:i") => linker.func_wrap(m, name, h_log_i32)?,
        ("ferrite_time_millis" | "ferrite_now", ":I") => {
            linker.func_wrap(m, name, h_time_millis)?
        }
        ("ferrite_random" | "ferrite_random_f64", ":F") => {
            linker.func_wrap(m, name, h_random_f64)?
        }
        ("ferrite_random" | "ferrite_random_bytes", "ii:i") => {
            linker.func_wrap(m, name, h_random_bytes)?
        }
        ("ferrite_http", "ii:I") => linker.func_wrap(m, name, h_http)?,
        _ => return Ok(false),
    };
    Ok(true)
}

/// What a module's imports need.
pub(crate) struct Imports {
    pub(crate) wasi: bool,
    /// Imports the reference-seed `ferrite_get` (needs `ferrite_alloc`).
    pub(crate) needs_alloc: bool,
}

/// Builds a linker holding exactly what `module` imports, choosing each
/// overload by the imported signature. Fails naming the first import the
/// host does not provide.
pub(crate) fn build_linker(
    engine: &Engine,
    module: &Module,
) -> Result<(Linker<HostState>, Imports), WasmError> {
    let mut linker = Linker::new(engine);
    let mut defined: HashSet<(String, String)> = HashSet::new();
    let mut imports = Imports {
        wasi: false,
        needs_alloc: false,
    };
    let internal = |e: wasmtime::Error| WasmError::Internal(format!("ERR linking: {e}"));
    for import in module.imports() {
        let unknown = |reason: String| WasmError::UnknownImport {
            module: import.module().to_string(),
            name: import.name().to_string(),
            reason,
        };
        match import.module() {
            IMPORT_MODULE => {
                let Some(ty) = import.ty().func().cloned() else {
                    return Err(unknown("not a function".into()));
                };
                let sig = signature(&ty);
                if defined.contains(&(import.name().to_string(), sig.clone())) {
                    continue;
                }
                if defined.iter().any(|(n, _)| n == import.name()) {
                    return Err(unknown("imported twice with different signatures".into()));
                }
                if !define(&mut linker, import.name(), &sig).map_err(internal)? {
                    return Err(unknown(format!("no host function with signature {ty:?}")));
                }
                if import.name() == "ferrite_get" && sig == "ii:i" {
                    imports.needs_alloc = true;
                }
                defined.insert((import.name().to_string(), sig));
            }
            WASI_MODULE => {
                if !imports.wasi {
                    crate::wasi::add_to_linker(&mut linker, |s: &mut HostState| &mut s.wasi)
                        .map_err(internal)?;
                    imports.wasi = true;
                }
            }
            _ => return Err(unknown("unknown import module".into())),
        }
    }
    Ok((linker, imports))
}

/// Classifies an error that ended a call.
pub(crate) fn classify(err: wasmtime::Error, timeout_ms: u64) -> WasmError {
    if let Some(Raise(e)) = err.downcast_ref::<Raise>() {
        return e.clone();
    }
    if let Some(h) = err.downcast_ref::<HostError>() {
        return match h {
            HostError::BadPointer { .. } | HostError::NoMemoryExport => {
                WasmError::BadPointer(h.to_string())
            }
            _ => WasmError::Trap {
                code: "bad_host_call",
                message: h.to_string(),
            },
        };
    }
    if let Some(crate::wasi::WasiExit(code)) = err.downcast_ref::<crate::wasi::WasiExit>() {
        return WasmError::Exit(*code);
    }
    if let Some(trap) = err.downcast_ref::<wasmtime::Trap>() {
        use wasmtime::Trap as T;
        let (code, message) = match trap {
            T::OutOfFuel => return WasmError::FuelExhausted,
            T::Interrupt => return WasmError::Timeout(timeout_ms),
            T::StackOverflow => return WasmError::StackOverflow,
            T::UnreachableCodeReached => ("unreachable", "unreachable instruction executed"),
            T::IntegerDivisionByZero => ("divide_by_zero", "integer divide by zero"),
            T::IntegerOverflow => ("integer_overflow", "integer overflow"),
            T::MemoryOutOfBounds => ("out_of_bounds", "out of bounds memory access"),
            T::TableOutOfBounds => ("table_out_of_bounds", "out of bounds table access"),
            T::IndirectCallToNull => ("indirect_call_to_null", "uninitialized table element"),
            T::BadSignature => ("bad_signature", "indirect call type mismatch"),
            T::BadConversionToInteger => ("bad_conversion", "invalid conversion to integer"),
            T::HeapMisaligned => ("misaligned", "unaligned atomic"),
            _ => ("trap", "wasm trap"),
        };
        return WasmError::Trap {
            code,
            message: message.to_string(),
        };
    }
    WasmError::Internal(format!("ERR {err}"))
}
