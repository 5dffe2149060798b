//! [`WasmExecutor`]: loads modules and runs their functions.

use hashbrown::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock, Weak};
use std::thread::{self, JoinHandle, Thread};
use std::time::{Duration, Instant, SystemTime};

use arc_swap::ArcSwap;
use bytes::Bytes;
use ferrite_protocol::Frame;
use ferrite_store::striped::Stripes;
use parking_lot::{Condvar, Mutex};
use sha2::{Digest, Sha256};
use wasmtime::{
    Config, Engine, InstanceAllocationStrategy, InstancePre, Module, OptLevel,
    PoolingAllocationConfig, Store, UpdateDeadline, Val, ValRaw,
};

use crate::abi::{self, Convention, ExportInfo, NumType};
use crate::clock;
use crate::host::{
    self, CallEnv, CallState, EnvPtr, HostState, Imports, LaterBegin, Limiter, Raise,
};
use crate::keyspace::{AccessMode, KeyScope, Keyspace};
use crate::limits::{PoolConfig, ResourceLimits};
use crate::permissions::{Capability, DefaultPermissions, FunctionPermissions};
use crate::reuse;
use crate::stats::{unix_ms, FunctionStats, StatsSnapshot};
use crate::value::WasmValue;
use crate::WasmError;

/// Largest module accepted by [`WasmExecutor::load`], in bytes.
pub const MODULE_BYTES_MAX: usize = 64 * 1024 * 1024;
/// Most functions one executor holds.
pub const FUNCTIONS_MAX: usize = 10_000;
/// Longest function name, in bytes.
pub const NAME_BYTES_MAX: usize = 256;
/// Most arguments (KEYS plus ARGS) of one call.
pub const CALL_ARGS_MAX: usize = 1024 * 1024;
/// Interval of the epoch ticker that preempts running guests.
pub const EPOCH_TICK: Duration = Duration::from_millis(1);
/// Most CPU time an inline attempt ([`WasmExecutor::try_execute_inline`])
/// uses on the caller's thread before it is stopped, rolled back and handed
/// back. Counted from the first [`EPOCH_TICK`] the call sees and checked at
/// each one, so the thread is held at most about `INLINE_BUDGET +
/// 2 * EPOCH_TICK` of CPU (plus one host call).
pub const INLINE_BUDGET: Duration = Duration::from_micros(500);
/// After an inline attempt of a function used up [`INLINE_BUDGET`], the
/// function's calls skip the inline attempt for this long (in ms).
const INLINE_BACKOFF_MS: u64 = 1000;
/// With no call for this long, the epoch ticker stops ticking every
/// [`EPOCH_TICK`] (an idle server does not wake a thread 1,000 times a
/// second); the next call wakes it (see [`Ticker`]).
const TICKER_IDLE_MS: u64 = 100;
/// How often an idle epoch ticker still ticks (for the coarse clock).
const TICKER_IDLE_TICK: Duration = Duration::from_secs(1);
/// How often the pool keeper wakes up on its own.
const KEEPER_INTERVAL: Duration = Duration::from_millis(50);
/// Per freed instance slot, most bytes of linear memory (and of table)
/// reset in place rather than decommitted (see `new_engine`).
const RESET_KEEP_RESIDENT_BYTES: usize = 1024 * 1024;
/// Instances in a row dropped because their memory grew after which a
/// function's new instances take no snapshot (see `Function::reuse_misses`).
const REUSE_MISSES_MAX: u32 = 16;
/// Wasm page size.
const PAGE_BYTES: u64 = 65536;

/// The runtime part of the server configuration (seed `[wasm]`,
/// `[wasm.limits]`, `[wasm.pool]`, `[wasm.security]`), applied with
/// [`WasmExecutorBuilder::config`].
#[derive(Debug, Clone, PartialEq)]
pub struct WasmConfig {
    /// Default limits of functions loaded without their own.
    pub limits: ResourceLimits,
    /// Instance pool per function.
    pub pool: PoolConfig,
    /// `allow_network`: whether the `http` capability may be granted.
    pub allow_network: bool,
    /// `default_permissions`.
    pub default_permissions: DefaultPermissions,
    /// Timeout of one `ferrite_http` request, in ms.
    pub http_timeout_ms: u64,
    /// Largest `ferrite_http` request or response body, in bytes.
    pub http_body_bytes_max: usize,
}

impl Default for WasmConfig {
    fn default() -> Self {
        WasmConfig {
            limits: ResourceLimits::default(),
            pool: PoolConfig::default(),
            allow_network: false,
            default_permissions: DefaultPermissions::Restrictive,
            http_timeout_ms: 5_000,
            http_body_bytes_max: 1024 * 1024,
        }
    }
}

/// Configures and builds a [`WasmExecutor`].
#[must_use]
pub struct WasmExecutorBuilder {
    limits: ResourceLimits,
    pool: PoolConfig,
    default_permissions: DefaultPermissions,
    allow_network: bool,
    http_timeout_ms: u64,
    http_body_bytes_max: usize,
    instances_max: u32,
    keyspace: Option<Arc<dyn Keyspace>>,
}

impl WasmExecutorBuilder {
    /// Applies a whole [`WasmConfig`].
    pub fn config(mut self, config: WasmConfig) -> Self {
        self.limits = config.limits;
        self.pool = config.pool;
        self.allow_network = config.allow_network;
        self.default_permissions = config.default_permissions;
        self.http_timeout_ms = config.http_timeout_ms;
        self.http_body_bytes_max = config.http_body_bytes_max;
        self
    }

    /// Default limits of functions loaded without their own.
    pub fn limits(mut self, limits: ResourceLimits) -> Self {
        self.limits = limits;
        self
    }

    /// Ready instances kept per function (`min`) and instances per function
    /// at once (`max`).
    pub fn pool_size(mut self, min: usize, max: usize) -> Self {
        self.pool.min_instances = min;
        self.pool.max_instances = max;
        self
    }

    /// The whole pool configuration.
    pub fn pool(mut self, pool: PoolConfig) -> Self {
        self.pool = pool;
        self
    }

    /// Permissions of functions loaded without explicit ones.
    pub fn default_permissions(mut self, policy: DefaultPermissions) -> Self {
        self.default_permissions = policy;
        self
    }

    /// Whether the `http` capability may be granted at all (`allow_network`).
    pub fn allow_network(mut self, allow: bool) -> Self {
        self.allow_network = allow;
        self
    }

    /// Timeout and body limit of `ferrite_http` requests.
    pub fn http(mut self, timeout_ms: u64, body_bytes_max: usize) -> Self {
        self.http_timeout_ms = timeout_ms;
        self.http_body_bytes_max = body_bytes_max;
        self
    }

    /// Wasm instances alive at once across all functions (the pooling
    /// allocator's size).
    pub fn instances_max(mut self, n: u32) -> Self {
        self.instances_max = n;
        self
    }

    /// The keyspace [`WasmExecutor::call`] runs against (default: a new,
    /// empty in-memory `ferrite_store::Store`).
    pub fn keyspace(mut self, keyspace: Arc<dyn Keyspace>) -> Self {
        self.keyspace = Some(keyspace);
        self
    }

    /// Builds the executor: one engine, its epoch ticker and pool keeper.
    pub fn build(self) -> Result<WasmExecutor, WasmError> {
        self.limits.validate()?;
        self.pool.validate()?;
        if self.instances_max == 0 {
            return Err(WasmError::InvalidConfig(
                "ERR instances_max must be positive".into(),
            ));
        }
        let engine = new_engine(&self.limits, self.instances_max)?;
        let keyspace: Arc<dyn Keyspace> = match self.keyspace {
            Some(k) => k,
            None => Arc::new(ferrite_store::Store::new(
                ferrite_store::StoreConfig::default(),
            )),
        };
        let stop = Arc::new(AtomicBool::new(false));
        let ticker = Arc::new(Ticker::default());
        let ticker_handle = {
            let (engine, ticker, stop) = (engine.clone(), ticker.clone(), stop.clone());
            thread::Builder::new()
                .name("ferrite-wasm-epoch".into())
                .spawn(move || ticker_loop(&engine, &ticker, &stop))
                .map_err(|e| WasmError::Internal(format!("ERR cannot start epoch thread: {e}")))?
        };
        let ticker_thread = ticker_handle.thread().clone();
        let inner = Arc::new(Inner {
            engine,
            limits: self.limits,
            pool: self.pool,
            default_permissions: self.default_permissions,
            allow_network: self.allow_network,
            http_timeout_ms: self.http_timeout_ms,
            http_body_bytes_max: self.http_body_bytes_max,
            keyspace,
            functions: ArcSwap::from_pointee(HashMap::new()),
            functions_write: Mutex::new(()),
            modules: Mutex::new(HashMap::new()),
            stop: stop.clone(),
            keeper_thread: OnceLock::new(),
            ticker,
            ticker_thread,
            threads: Mutex::new(vec![ticker_handle]),
        });
        let weak = Arc::downgrade(&inner);
        let keeper = thread::Builder::new()
            .name("ferrite-wasm-pool".into())
            .spawn(move || keeper_loop(weak, stop))
            .map_err(|e| WasmError::Internal(format!("ERR cannot start pool thread: {e}")))?;
        let _ = inner.keeper_thread.set(keeper.thread().clone());
        inner.threads.lock().push(keeper);
        Ok(WasmExecutor { inner })
    }
}

fn new_engine(limits: &ResourceLimits, instances_max: u32) -> Result<Engine, WasmError> {
    let mut config = Config::new();
    config
        .consume_fuel(true)
        .epoch_interruption(true)
        .max_wasm_stack(limits.max_stack * 1024)
        .memory_init_cow(true)
        // Explicit bounds checks instead of guard pages and signals: a slot's
        // accessible region then never has to shrink back, so instantiation,
        // memory.grow and reset make no mprotect (with its TLB shootdown)
        // per call; mprotect was a quarter of the server's time on
        // WASM.CALL rate_limit. A guest still cannot reach past its size.
        .signals_based_traps(false)
        .memory_guard_size(0)
        .cranelift_opt_level(OptLevel::Speed);
    let mut pooling = PoolingAllocationConfig::default();
    pooling
        .total_core_instances(instances_max)
        .total_memories(instances_max)
        .total_tables(instances_max)
        .max_memories_per_module(1)
        .max_tables_per_module(1)
        .table_elements(100_000)
        .max_memory_size(crate::limits::MEMORY_BYTES_MAX);
    // A freed slot is reset to the module's image for its next instance. With
    // PAGEMAP_SCAN (Linux 6.7+) only the pages the call dirtied are copied
    // back (up to RESET_KEEP_RESIDENT_BYTES) and stay mapped: no madvise and
    // no page fault per call. Without it, wasmtime's default (madvise) is
    // kept: a memset of that many bytes per call would cost more.
    let mut scanned = pooling.clone();
    scanned
        .pagemap_scan(wasmtime::Enabled::Yes)
        .linear_memory_keep_resident(RESET_KEEP_RESIDENT_BYTES)
        .table_keep_resident(RESET_KEEP_RESIDENT_BYTES);
    let with = |pooling: PoolingAllocationConfig| {
        let mut pooled = config.clone();
        pooled.allocation_strategy(InstanceAllocationStrategy::Pooling(pooling));
        Engine::new(&pooled)
    };
    let engine = with(scanned).or_else(|e| {
        tracing::info!(target: "ferrite::wasm", "PAGEMAP_SCAN unavailable ({e}); freed instances are reset with madvise");
        with(pooling)
    });
    match engine {
        Ok(engine) => Ok(engine),
        Err(e) => {
            // The pooling allocator reserves virtual memory up front; where
            // that is refused, fall back to on-demand allocation (still
            // copy-on-write images, just slower instantiation).
            tracing::warn!(target: "ferrite::wasm", "pooling allocator unavailable ({e}); using on-demand allocation");
            Engine::new(&config)
                .map_err(|e| WasmError::Internal(format!("ERR cannot create wasm engine: {e}")))
        }
    }
}

/// Runs WebAssembly functions: one engine per executor (use one executor
/// per process), modules compiled once per content hash, a pool of fresh
/// instances per function, and limits and permissions on every call.
///
/// ```
/// use ferrite_wasm::{FunctionPermissions, ResourceLimits, WasmError, WasmExecutor, WasmValue};
///
/// let executor = WasmExecutor::builder()
///     .limits(ResourceLimits::default())
///     .pool_size(2, 16)
///     .build()?;
/// let wasm = wat::parse_str(r#"(module
///     (import "ferrite" "ferrite_return_int" (func $ret (param i64)))
///     (func (export "answer") (call $ret (i64.const 42))))"#).unwrap();
/// executor.load("answer", wasm, Some(FunctionPermissions::read_only()))?;
/// assert_eq!(executor.call("answer", "answer", vec![], None)?, WasmValue::I64(42));
/// assert!(matches!(executor.call("nope", "x", vec![], None), Err(WasmError::FunctionNotFound(_))));
/// # Ok::<(), WasmError>(())
/// ```
#[derive(Clone)]
pub struct WasmExecutor {
    inner: Arc<Inner>,
}

struct Inner {
    engine: Engine,
    limits: ResourceLimits,
    pool: PoolConfig,
    default_permissions: DefaultPermissions,
    allow_network: bool,
    http_timeout_ms: u64,
    http_body_bytes_max: usize,
    keyspace: Arc<dyn Keyspace>,
    /// The loaded functions, read by every call without a lock (see
    /// [`Function::config`]); replaced whole, under `functions_write`, by a
    /// load or an unload (at most [`FUNCTIONS_MAX`] entries to copy).
    functions: ArcSwap<HashMap<String, Arc<Function>>>,
    functions_write: Mutex<()>,
    /// Compiled modules by SHA-256 of what was loaded.
    modules: Mutex<HashMap<[u8; 32], Compiled>>,
    stop: Arc<AtomicBool>,
    keeper_thread: OnceLock<Thread>,
    ticker: Arc<Ticker>,
    ticker_thread: Thread,
    threads: Mutex<Vec<JoinHandle<()>>>,
}

/// What calls and the epoch ticker share so that the ticker can sleep while
/// no call runs. A call counts itself in its thread's `in_flight` stripe
/// and writes `last_call_ms` (when it changed), then reads `parked`; the
/// ticker writes `parked`, then reads both, all `SeqCst`: either the ticker
/// sees the call and keeps ticking, or the call sees the ticker parked and
/// wakes it. A running call (however long, even blocked in a host call)
/// keeps the ticker ticking, so its timeout is enforced on time.
#[derive(Default)]
struct Ticker {
    /// [`clock::mono_ms`] of the last call's start.
    last_call_ms: AtomicU64,
    /// Calls (and instantiations) under way, per thread stripe: a call
    /// starts and ends on one thread, so its stripe stays with its core.
    in_flight: Stripes<AtomicUsize>,
    parked: AtomicBool,
}

impl Ticker {
    /// Whether the ticker may park: no call under way and none started in
    /// the last [`TICKER_IDLE_MS`].
    fn idle(&self, now_ms: u64) -> bool {
        now_ms.saturating_sub(self.last_call_ms.load(Ordering::SeqCst)) > TICKER_IDLE_MS
            && self
                .in_flight
                .iter()
                .all(|calls| calls.load(Ordering::SeqCst) == 0)
    }
}

/// A call (or instantiation) under way; see [`Ticker`]. Uncounted on drop.
struct InFlight<'a>(&'a AtomicUsize);

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

impl Inner {
    /// Counts a call starting at `now_ms` until the guard drops; wakes the
    /// epoch ticker if it is parked.
    fn note_call(&self, now_ms: u64) -> InFlight<'_> {
        let calls = self.ticker.in_flight.mine();
        calls.fetch_add(1, Ordering::SeqCst);
        if self.ticker.last_call_ms.load(Ordering::Relaxed) != now_ms {
            self.ticker.last_call_ms.store(now_ms, Ordering::SeqCst);
        }
        if self.ticker.parked.load(Ordering::SeqCst) {
            self.ticker_thread.unpark();
        }
        InFlight(calls)
    }
}

/// The epoch ticker's loop: ticks every [`EPOCH_TICK`] while calls run or
/// come, every [`TICKER_IDLE_TICK`] (or at the next call) once idle.
fn ticker_loop(engine: &Engine, ticker: &Ticker, stop: &AtomicBool) {
    while !stop.load(Ordering::Relaxed) {
        if ticker.idle(clock::mono_ms(Instant::now())) {
            ticker.parked.store(true, Ordering::SeqCst);
            if ticker.idle(clock::mono_ms(Instant::now())) {
                thread::park_timeout(TICKER_IDLE_TICK);
            }
            ticker.parked.store(false, Ordering::SeqCst);
        } else {
            thread::sleep(EPOCH_TICK);
        }
        clock::tick();
        engine.increment_epoch();
    }
}

impl Drop for Inner {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        self.ticker_thread.unpark();
        if let Some(t) = self.keeper_thread.get() {
            t.unpark();
        }
        // The threads exit within one tick; they are not joined here because
        // the keeper may itself drop the last reference.
        self.threads.lock().clear();
    }
}

/// Limits and permissions of a function (replaced as a whole on update).
#[derive(Debug, Clone, PartialEq)]
pub struct FunctionConfig {
    /// Resource limits of each call.
    pub limits: ResourceLimits,
    /// Permissions of each call.
    pub permissions: Arc<FunctionPermissions>,
}

/// A compiled module and how many functions use it.
struct Compiled {
    module: Module,
    /// How to put an instance back after a call; `None`: a fresh instance
    /// per call (see [`crate::reuse`]).
    plan: Option<Arc<reuse::Plan>>,
    users: usize,
}

/// An instance in the state of a fresh one: never used, or used and put
/// back ([`crate::reuse`]).
struct Ready {
    store: Store<HostState>,
    instance: wasmtime::Instance,
    /// Its state right after instantiation, if it can be put back.
    snapshot: Option<reuse::Snapshot>,
}

struct Pool {
    /// Ready instances, per thread stripe: a call takes one from its
    /// thread's stripe (else from another) and puts it back there, so
    /// threads calling one function share no lock. See [`Pool::pop`].
    ready: Stripes<Mutex<Vec<Ready>>>,
    /// Instances checked out by running calls.
    running: AtomicUsize,
    /// Calls waiting in [`acquire_slot`]: a finished call signals
    /// `slot_freed` only when there are some.
    slot_waiters: AtomicUsize,
    slot_lock: Mutex<()>,
    slot_freed: Condvar,
    /// Unix ms of the last call (for the idle timeout).
    last_used_ms: AtomicU64,
}

impl Pool {
    /// A ready instance: this thread's stripe's last one, else another
    /// stripe's (one instance per calling thread settles in its stripe).
    fn pop(&self) -> Option<Ready> {
        if let Some(ready) = self.ready.mine().lock().pop() {
            return Some(ready);
        }
        self.ready
            .iter_from_mine()
            .skip(1)
            .find_map(|s| s.lock().pop())
    }

    /// Puts `ready` into this thread's stripe, unless the stripe holds
    /// `max` already (then it is dropped). Instances are created only when
    /// every stripe was found empty, so the stripes hold about `max` in all.
    fn push(&self, ready: Ready, max: usize) {
        let mut mine = self.ready.mine().lock();
        if mine.len() < max {
            mine.push(ready);
        }
    }

    /// Ready instances in all stripes.
    fn ready_len(&self) -> usize {
        self.ready.iter().map(|s| s.lock().len()).sum()
    }

    /// Drops every ready instance.
    fn clear(&self) {
        for stripe in self.ready.iter() {
            stripe.lock().clear();
        }
    }
}

struct Function {
    name: Arc<str>,
    hash: [u8; 32],
    module_bytes: usize,
    pre: InstancePre<HostState>,
    /// How to put an instance back after a call, if the module was
    /// rewritten for it.
    plan: Option<Arc<reuse::Plan>>,
    /// Memory image of the first snapshot, shared by the next ones.
    image: Mutex<Option<Arc<[u8]>>>,
    /// Instances in a row that could not be put back because their memory
    /// grew; from [`REUSE_MISSES_MAX`] on, new instances take no snapshot
    /// (a function that grows memory on every call would pay for one per
    /// call and never reuse it).
    reuse_misses: AtomicU32,
    exports: Vec<ExportInfo>,
    /// `exports[i]`'s index in the module: an instance's export without a
    /// by-name lookup.
    export_handles: Vec<Option<wasmtime::ModuleExport>>,
    /// The module's `memory` and `ferrite_alloc` exports, by index.
    memory_handle: Option<wasmtime::ModuleExport>,
    alloc_handle: Option<wasmtime::ModuleExport>,
    imports: Imports,
    has_initialize: bool,
    /// Exports `ferrite_init: () -> ()` (run like `_initialize`, after it).
    has_ferrite_init: bool,
    assemblyscript: bool,
    /// Read by every call without a lock (an `ArcSwap` load writes only
    /// the calling thread's state: two threads running the same function
    /// do not bounce a lock's cache line); replaced whole by WASM.UPDATE.
    config: ArcSwap<FunctionConfig>,
    stats: FunctionStats,
    pool: Pool,
    loaded_at: SystemTime,
    min_memory_bytes: u64,
    /// `max_instances` of the pool configuration.
    pool_max: usize,
    /// Unix ms before which calls skip the inline attempt (a recent call
    /// ran longer than [`INLINE_BUDGET`]).
    inline_after_ms: AtomicU64,
}

/// Options of [`WasmExecutor::load_with`].
#[derive(Debug, Clone, Default)]
pub struct LoadOptions {
    /// Permissions (default: the executor's default permissions).
    pub permissions: Option<FunctionPermissions>,
    /// Limits (default: the executor's limits).
    pub limits: Option<ResourceLimits>,
    /// Replace a function of the same name; on failure the old one stays.
    pub replace: bool,
}

/// Per-call options of [`WasmExecutor::call`].
#[derive(Debug, Clone, Default)]
pub struct CallContext {
    /// How many leading arguments are KEYS. `None`: the leading
    /// `Bytes`/`String` arguments.
    pub num_keys: Option<usize>,
    /// Database index.
    pub db: usize,
    /// Run read-only (WASM.CALLREAD).
    pub read_only: bool,
}

/// A call as the server makes it: KEYS and ARGS apart.
#[derive(Debug, Clone)]
pub struct CallRequest {
    /// `module` or `module.export`.
    pub function: String,
    /// Declared keys (`KEYS k …`): the transaction holds exactly these.
    /// `None` (no KEYS given): the call takes the whole keyspace at its
    /// first key access, and takes no lock if it never touches a key.
    pub keys: Option<Vec<Bytes>>,
    /// Other arguments.
    pub args: Vec<Bytes>,
    /// Database index.
    pub db: usize,
    /// WASM.CALLREAD.
    pub mode: AccessMode,
}

/// What [`WasmExecutor::try_execute_inline`] did with a call.
#[derive(Debug)]
pub enum Inline {
    /// The call ran to its end on the caller's thread: its reply (error
    /// replies included).
    Done(Frame),
    /// The call did not run here and nothing of it is visible (it would
    /// have waited for a lock, a slot or a sleep, uses the network, or ran
    /// past [`INLINE_BUDGET`]): run it with [`WasmExecutor::execute`] on a
    /// thread that may block.
    Deferred(CallRequest),
}

/// How [`WasmExecutor::execute_with`] ended.
enum Outcome {
    Done(Result<Frame, WasmError>),
    Deferred(CallRequest),
}

/// How [`WasmExecutor::run_call`] ended.
enum Run {
    Done(Result<Frame, WasmError>),
    /// Inline attempt given up and rolled back; the call's arguments back.
    Deferred(Vec<Bytes>),
}

/// Description of one export (WASM.INFO).
#[derive(Debug, Clone, PartialEq)]
pub struct ExportDescription {
    /// Export name.
    pub name: String,
    /// Entry convention.
    pub convention: Convention,
    /// Wasm signature, e.g. `(i32, i32) -> i32`.
    pub wasm_signature: String,
    /// Signature declared in `ferrite.abi`, if any.
    pub declared_signature: Option<String>,
}

/// Everything known about a loaded function (WASM.INFO).
#[derive(Debug, Clone, PartialEq)]
pub struct FunctionInfo {
    /// Name it is loaded under.
    pub name: String,
    /// SHA-256 of the module, lower-case hex.
    pub sha256: String,
    /// Module size in bytes.
    pub module_bytes: usize,
    /// Callable exports.
    pub exports: Vec<ExportDescription>,
    /// Whether the module imports WASI.
    pub wasi: bool,
    /// Limits.
    pub limits: ResourceLimits,
    /// Permissions.
    pub permissions: FunctionPermissions,
    /// Unix time of the load, in ms.
    pub loaded_at_ms: u64,
    /// Ready instances in the pool right now.
    pub ready_instances: usize,
    /// Statistics.
    pub stats: StatsSnapshot,
}

impl WasmExecutor {
    /// Starts configuring an executor.
    pub fn builder() -> WasmExecutorBuilder {
        let config = WasmConfig::default();
        WasmExecutorBuilder {
            limits: config.limits,
            pool: config.pool,
            default_permissions: config.default_permissions,
            allow_network: config.allow_network,
            http_timeout_ms: config.http_timeout_ms,
            http_body_bytes_max: config.http_body_bytes_max,
            instances_max: 1000,
            keyspace: None,
        }
    }

    /// The keyspace [`call`](Self::call) uses.
    pub fn keyspace(&self) -> &Arc<dyn Keyspace> {
        &self.inner.keyspace
    }

    /// Loads `bytes` under `name` with the executor's default limits.
    pub fn load(
        &self,
        name: &str,
        bytes: impl AsRef<[u8]>,
        permissions: Option<FunctionPermissions>,
    ) -> Result<(), WasmError> {
        self.load_with(
            name,
            bytes.as_ref(),
            LoadOptions {
                permissions,
                limits: None,
                replace: false,
            },
        )
        .map(|_| ())
    }

    /// Loads `bytes` under `name`: compiles (once per content hash),
    /// classifies the exports, links the imports and prepares instances.
    /// With `replace`, an existing function is swapped only if everything
    /// succeeded.
    pub fn load_with(
        &self,
        name: &str,
        bytes: &[u8],
        options: LoadOptions,
    ) -> Result<FunctionInfo, WasmError> {
        let inner = &self.inner;
        validate_name(name)?;
        if bytes.len() > MODULE_BYTES_MAX {
            return Err(WasmError::InvalidModule(format!(
                "module larger than {MODULE_BYTES_MAX} bytes"
            )));
        }
        if !options.replace && inner.functions.load().contains_key(name) {
            return Err(WasmError::AlreadyExists(name.to_string()));
        }
        let limits = options.limits.unwrap_or(inner.limits);
        self.check_limits(&limits)?;
        let permissions = options
            .permissions
            .unwrap_or_else(|| FunctionPermissions::default_for(inner.default_permissions));
        self.check_permissions(&permissions)?;

        let hash: [u8; 32] = Sha256::digest(bytes).into();
        let cached = inner
            .modules
            .lock()
            .get(&hash)
            .map(|c| (c.module.clone(), c.plan.clone()));
        let (module, plan) = match cached {
            Some(m) => m,
            None => compile(&inner.engine, name, bytes)?,
        };
        let min_memory_bytes = min_memory_bytes(&module)?;
        if min_memory_bytes > limits.max_memory as u64 {
            return Err(WasmError::MemoryLimitExceeded {
                limit: limits.max_memory as u64,
            });
        }
        let exports = abi::classify_exports(&module, bytes)?;
        if exports.is_empty() {
            return Err(WasmError::InvalidModule(
                "module has no callable export".into(),
            ));
        }
        let (linker, imports) = host::build_linker(&inner.engine, &module)?;
        let has_export_func = |n: &str, sig: &str| {
            module
                .exports()
                .any(|e| e.name() == n && e.ty().func().is_some_and(|f| host::signature(f) == sig))
        };
        if imports.needs_alloc && !has_export_func("ferrite_alloc", "i:i") {
            return Err(WasmError::InvalidModule(
                "module imports ferrite_get (i32, i32) -> i32 but exports no ferrite_alloc (i32) -> i32".into(),
            ));
        }
        let pre = linker
            .instantiate_pre(&module)
            .map_err(|e| WasmError::InvalidModule(format!("{e:#}")))?;
        let function = Arc::new(Function {
            name: Arc::from(name),
            hash,
            module_bytes: bytes.len(),
            pre,
            plan: plan.clone(),
            image: Mutex::new(None),
            reuse_misses: AtomicU32::new(0),
            has_initialize: has_export_func("_initialize", ":"),
            has_ferrite_init: has_export_func("ferrite_init", ":"),
            assemblyscript: has_export_func("__new", "ii:i"),
            export_handles: exports
                .iter()
                .map(|e| module.get_export_index(&e.name))
                .collect(),
            memory_handle: module.get_export_index(crate::memory::MEMORY_EXPORT),
            alloc_handle: module.get_export_index("ferrite_alloc"),
            exports,
            imports,
            config: ArcSwap::from_pointee(FunctionConfig {
                limits,
                permissions: Arc::new(permissions),
            }),
            stats: FunctionStats::new(),
            pool: Pool {
                ready: Stripes::default(),
                running: AtomicUsize::new(0),
                slot_waiters: AtomicUsize::new(0),
                slot_lock: Mutex::new(()),
                slot_freed: Condvar::new(),
                last_used_ms: AtomicU64::new(clock::mono_ms(Instant::now())),
            },
            loaded_at: SystemTime::now(),
            min_memory_bytes,
            pool_max: inner.pool.max_instances,
            inline_after_ms: AtomicU64::new(0),
        });
        // Instantiate once now so that link-time and start-function failures
        // refuse the load instead of every call.
        let first = self.instantiate(&function)?;
        {
            let _writing = inner.functions_write.lock();
            let mut functions = HashMap::clone(&inner.functions.load());
            if functions.len() >= FUNCTIONS_MAX && !functions.contains_key(name) {
                return Err(WasmError::InvalidConfig(format!(
                    "ERR at most {FUNCTIONS_MAX} functions"
                )));
            }
            if !options.replace && functions.contains_key(name) {
                return Err(WasmError::AlreadyExists(name.to_string()));
            }
            let mut modules = inner.modules.lock();
            modules
                .entry(hash)
                .or_insert_with(|| Compiled {
                    module: module.clone(),
                    plan,
                    users: 0,
                })
                .users += 1;
            if let Some(old) = functions.insert(name.to_string(), function.clone()) {
                release_module(&mut modules, &old.hash);
            }
            inner.functions.store(Arc::new(functions));
        }
        function.pool.push(first, function.pool_max);
        self.nudge_keeper();
        Ok(self.describe(&function))
    }

    /// Unloads a function; calls already running finish.
    pub fn unload(&self, name: &str) -> Result<(), WasmError> {
        let _writing = self.inner.functions_write.lock();
        let mut functions = HashMap::clone(&self.inner.functions.load());
        let old = functions
            .remove(name)
            .ok_or_else(|| WasmError::FunctionNotFound(name.to_string()))?;
        self.inner.functions.store(Arc::new(functions));
        release_module(&mut self.inner.modules.lock(), &old.hash);
        Ok(())
    }

    /// Names of the loaded functions, sorted.
    pub fn list(&self) -> Vec<String> {
        let mut names: Vec<String> = self.inner.functions.load().keys().cloned().collect();
        names.sort();
        names
    }

    /// Whether a function is loaded.
    pub fn exists(&self, name: &str) -> bool {
        self.inner.functions.load().contains_key(name)
    }

    /// Describes a loaded function.
    pub fn info(&self, name: &str) -> Result<FunctionInfo, WasmError> {
        let f = self.function(name)?;
        Ok(self.describe(&f))
    }

    /// Statistics of a function.
    pub fn stats(&self, name: &str) -> Result<StatsSnapshot, WasmError> {
        Ok(self.function(name)?.stats.snapshot())
    }

    /// Resets the statistics of a function.
    pub fn reset_stats(&self, name: &str) -> Result<(), WasmError> {
        self.function(name)?.stats.reset();
        Ok(())
    }

    /// Replaces the limits and/or permissions of a loaded function; the next
    /// call uses them.
    pub fn update(
        &self,
        name: &str,
        limits: Option<ResourceLimits>,
        permissions: Option<FunctionPermissions>,
    ) -> Result<FunctionInfo, WasmError> {
        let f = self.function(name)?;
        let mut config = FunctionConfig::clone(&f.config.load());
        if let Some(limits) = limits {
            self.check_limits(&limits)?;
            if f.min_memory_bytes > limits.max_memory as u64 {
                return Err(WasmError::MemoryLimitExceeded {
                    limit: limits.max_memory as u64,
                });
            }
            config.limits = limits;
        }
        if let Some(permissions) = permissions {
            self.check_permissions(&permissions)?;
            config.permissions = Arc::new(permissions);
        }
        f.config.store(Arc::new(config));
        Ok(self.describe(&f))
    }

    /// Calls export `entry` of module `module` with `args` against the
    /// executor's keyspace (seed "Rust API"). An error reply set by the
    /// guest (`ferrite_error`) is `Err(WasmError::GuestError)`; every
    /// failed call is rolled back.
    pub fn call(
        &self,
        module: &str,
        entry: &str,
        args: Vec<WasmValue>,
        context: Option<CallContext>,
    ) -> Result<WasmValue, WasmError> {
        let context = context.unwrap_or_default();
        if args.len() > CALL_ARGS_MAX {
            return Err(WasmError::BadArguments(format!(
                "ERR at most {CALL_ARGS_MAX} arguments"
            )));
        }
        let numkeys = context.num_keys.unwrap_or_else(|| {
            args.iter()
                .take_while(|a| matches!(a, WasmValue::Bytes(_) | WasmValue::String(_)))
                .count()
        });
        if numkeys > args.len() {
            return Err(WasmError::BadArguments(
                "ERR more keys than arguments".into(),
            ));
        }
        let bytes: Vec<Bytes> = args.iter().map(WasmValue::to_arg_bytes).collect();
        let f = self.function(module)?;
        let export = find_export(&f, entry)?;
        let keyspace = self.inner.keyspace.clone();
        let mode = if context.read_only {
            AccessMode::ReadOnly
        } else {
            AccessMode::ReadWrite
        };
        let scope = match context.num_keys {
            Some(k) => KeyScope::Keys(bytes[..k].to_vec()),
            None => KeyScope::Lazy,
        };
        let frame = match self.run_call(
            &*keyspace, &f, export, scope, bytes, numkeys, context.db, mode, false,
        ) {
            Run::Done(result) => result?,
            Run::Deferred(_) => unreachable!("a blocking call is never deferred"),
        };
        Ok(WasmValue::from_frame(&frame))
    }

    /// Runs a call as the server makes it (`WASM.CALL name KEYS … ARGS …`)
    /// against `keyspace` and returns the reply. Errors are `Err`; use
    /// [`WasmError::reply_text`] for the client's error reply. May block
    /// (locks, instance slots, sleeps, network) until the call's deadline.
    pub fn execute(
        &self,
        keyspace: &dyn Keyspace,
        request: CallRequest,
    ) -> Result<Frame, WasmError> {
        match self.execute_with(keyspace, request, false) {
            Outcome::Done(result) => result,
            Outcome::Deferred(_) => unreachable!("a blocking call is never deferred"),
        }
    }

    /// Tries to run a call on the caller's thread without ever blocking it
    /// for long (an I/O thread): only a function without the `http`
    /// capability whose recent calls were short, and only if its locks and
    /// an instance slot are free right now. The call runs with a budget of
    /// [`INLINE_BUDGET`]; if it overruns it, or would wait (a lazy keyspace
    /// lock, a WASI sleep), it is stopped, rolled back (no write visible,
    /// its instance discarded) and handed back as [`Inline::Deferred`] for
    /// [`execute`](Self::execute), which runs it from the start. Log lines
    /// are the only trace such an attempt can leave.
    pub fn try_execute_inline(&self, keyspace: &dyn Keyspace, request: CallRequest) -> Inline {
        match self.execute_with(keyspace, request, true) {
            Outcome::Done(Ok(frame)) => Inline::Done(frame),
            Outcome::Done(Err(e)) => Inline::Done(Frame::Error(Bytes::from(e.reply_text()))),
            Outcome::Deferred(request) => Inline::Deferred(request),
        }
    }

    /// The common part of [`execute`](Self::execute) and
    /// [`try_execute_inline`](Self::try_execute_inline).
    fn execute_with(&self, keyspace: &dyn Keyspace, request: CallRequest, inline: bool) -> Outcome {
        let CallRequest {
            function,
            keys,
            args: rest,
            db,
            mode,
        } = request;
        let (module, entry) = match function.split_once('.') {
            Some((m, e)) => (m, Some(e)),
            None => (function.as_str(), None),
        };
        // Borrowed from the map for the whole call: no reference count of
        // the function is touched (a count shared by every thread calling it).
        let functions = self.inner.functions.load();
        let Some(f) = functions.get(module) else {
            return Outcome::Done(Err(WasmError::FunctionNotFound(module.to_string())));
        };
        let export = match entry {
            Some(e) => find_export(f, e),
            None => find_export(f, module).or_else(|err| match f.exports.as_slice() {
                [only] => Ok(only),
                _ => Err(err),
            }),
        };
        let export = match export {
            Ok(export) => export,
            Err(e) => return Outcome::Done(Err(e)),
        };
        let numkeys = keys.as_ref().map_or(0, Vec::len);
        if numkeys.saturating_add(rest.len()) > CALL_ARGS_MAX {
            return Outcome::Done(Err(WasmError::BadArguments(format!(
                "ERR at most {CALL_ARGS_MAX} arguments"
            ))));
        }
        let keyed = keys.is_some();
        // KEYS then ARGS in one vector: ARGS's, in place when it has room
        // (the server leaves it); the keys themselves move into the scope.
        let mut args = rest;
        let scope = match keys {
            Some(keys) => {
                args.splice(0..0, keys.iter().cloned());
                KeyScope::Keys(keys)
            }
            None => KeyScope::Lazy,
        };
        match self.run_call(keyspace, f, export, scope, args, numkeys, db, mode, inline) {
            Run::Done(result) => Outcome::Done(result),
            Run::Deferred(mut args) => {
                f.stats.record_deferred();
                let rest = args.split_off(numkeys);
                Outcome::Deferred(CallRequest {
                    function,
                    keys: keyed.then_some(args),
                    args: rest,
                    db,
                    mode,
                })
            }
        }
    }

    /// Like [`execute`](Self::execute), with errors as error replies.
    pub fn execute_frame(&self, keyspace: &dyn Keyspace, request: CallRequest) -> Frame {
        match self.execute(keyspace, request) {
            Ok(frame) => frame,
            Err(e) => Frame::Error(Bytes::from(e.reply_text())),
        }
    }

    fn function(&self, name: &str) -> Result<Arc<Function>, WasmError> {
        self.inner
            .functions
            .load()
            .get(name)
            .cloned()
            .ok_or_else(|| WasmError::FunctionNotFound(name.to_string()))
    }

    fn check_limits(&self, limits: &ResourceLimits) -> Result<(), WasmError> {
        limits.validate()?;
        if limits.max_stack != self.inner.limits.max_stack {
            return Err(WasmError::InvalidConfig(format!(
                "ERR max_stack is per executor ({} KiB)",
                self.inner.limits.max_stack
            )));
        }
        Ok(())
    }

    fn check_permissions(&self, permissions: &FunctionPermissions) -> Result<(), WasmError> {
        permissions.validate()?;
        if permissions.capabilities.contains(Capability::Http) && !self.inner.allow_network {
            return Err(WasmError::InvalidConfig(
                "ERR the http capability needs allow_network in the server configuration".into(),
            ));
        }
        Ok(())
    }

    fn describe(&self, f: &Function) -> FunctionInfo {
        let config = f.config.load();
        FunctionInfo {
            name: f.name.to_string(),
            sha256: f.hash.iter().map(|b| format!("{b:02x}")).collect(),
            module_bytes: f.module_bytes,
            exports: f
                .exports
                .iter()
                .map(|e| ExportDescription {
                    name: e.name.clone(),
                    convention: e.convention,
                    wasm_signature: e.wasm_signature(),
                    declared_signature: e.declared.as_ref().map(|d| d.to_string()),
                })
                .collect(),
            wasi: f.imports.wasi,
            limits: config.limits,
            permissions: (*config.permissions).clone(),
            loaded_at_ms: unix_ms(f.loaded_at),
            ready_instances: f.pool.ready_len(),
            stats: f.stats.snapshot(),
        }
    }

    fn nudge_keeper(&self) {
        if let Some(t) = self.inner.keeper_thread.get() {
            t.unpark();
        }
    }

    /// Creates a fresh instance of `f` (never used by a call yet).
    fn instantiate(&self, f: &Function) -> Result<Ready, WasmError> {
        instantiate(&self.inner, f, Instant::now())
    }

    /// Runs one call on a fresh instance. `inline`: never wait (see
    /// [`try_execute_inline`](Self::try_execute_inline)); anything that
    /// would, gives the call up as [`Run::Deferred`].
    #[allow(clippy::too_many_arguments, reason = "internal; every field of a call")]
    fn run_call(
        &self,
        keyspace: &dyn Keyspace,
        f: &Arc<Function>,
        export: &ExportInfo,
        scope: KeyScope,
        args: Vec<Bytes>,
        numkeys: usize,
        db: usize,
        mode: AccessMode,
        inline: bool,
    ) -> Run {
        let started = Instant::now();
        let started_ms = clock::mono_ms(started);
        let _in_flight = self.inner.note_call(started_ms);
        let config = f.config.load();
        if inline && !inline_allowed(f, &config, started_ms) {
            return Run::Deferred(args);
        }
        let deadline = started + config.limits.max_time;
        let timeout_ms = config.limits.timeout_ms();
        let _slot = if inline {
            match try_acquire_slot(f) {
                Some(slot) => slot,
                None => return Run::Deferred(args),
            }
        } else {
            match acquire_slot(f, deadline, timeout_ms) {
                Ok(slot) => slot,
                Err(e) => return Run::Done(Err(e)),
            }
        };
        let fail = |e: WasmError| {
            f.stats.record(false, started, Instant::now(), 0, 0);
            e
        };
        // Inline: the locks first, so that a busy key costs no instance. A
        // call without declared keys begins its transaction at its first
        // command (`CallEnv::txn`), if it runs one.
        let (mut txn, mut scope) = (None, Some(scope));
        if inline && matches!(scope, Some(KeyScope::Keys(_))) {
            match keyspace.try_begin(db, scope.take().unwrap_or(KeyScope::Lazy), mode) {
                Ok(Some(t)) => txn = Some(t),
                Ok(None) => return Run::Deferred(args),
                Err(e) => return Run::Done(Err(fail(e))),
            }
        }
        // Written when it changes (once per ms at most), not per call: the
        // line is shared by every thread running the function.
        if f.pool.last_used_ms.load(Ordering::Relaxed) != started_ms {
            f.pool.last_used_ms.store(started_ms, Ordering::Relaxed);
        }

        // An empty pool means calls come faster than the keeper refills it
        // (every KEEPER_INTERVAL): instantiating here is then cheaper than
        // waking the keeper thread for every call.
        let popped = f.pool.pop();
        let Ready {
            mut store,
            instance,
            snapshot,
        } = match popped {
            Some(r) => r,
            // A new instance would run the module's initializers, which are
            // not bounded by the inline budget: not on an I/O thread (the
            // instance is put back for the inline calls after it).
            None if inline && initializes_at_instantiation(f) => return Run::Deferred(args),
            None => match instantiate(&self.inner, f, started) {
                Ok(r) => r,
                Err(e) => return Run::Done(Err(fail(e))),
            },
        };

        // Per-call state: limits, permissions, arguments, deadline. Field
        // by field (the pattern names every field, so a new one cannot be
        // forgotten): the permissions `Arc` is kept when it is the current
        // one and the result buffer keeps its room, so a reused instance
        // costs no shared reference count and no allocation here.
        {
            let permissions = &config.permissions;
            let state = store.data_mut();
            let CallState {
                permissions: call_permissions,
                read_only,
                args: call_args,
                numkeys: call_numkeys,
                result,
                reply,
                deadline: call_deadline,
                deadline_ms,
                timeout_ms: call_timeout_ms,
                env,
                http_timeout_ms,
                http_body_bytes_max,
                inline: call_inline,
                inline_cpu_from,
                overran,
                deferred,
            } = &mut state.call;
            if !Arc::ptr_eq(call_permissions, permissions) {
                *call_permissions = permissions.clone();
            }
            *read_only = mode == AccessMode::ReadOnly;
            *call_args = args;
            *call_numkeys = numkeys;
            result.clear();
            *reply = None;
            *call_deadline = deadline;
            *deadline_ms = clock::mono_ms_ceil(deadline);
            *call_timeout_ms = timeout_ms;
            *env = None;
            *http_timeout_ms = self.inner.http_timeout_ms;
            *http_body_bytes_max = self.inner.http_body_bytes_max;
            *call_inline = inline;
            *inline_cpu_from = None;
            *overran = false;
            *deferred = false;
            state.limiter.memory_bytes_max = config.limits.max_memory;
            set_wasi_capabilities(state, permissions);
            state.wasi.inline = inline;
            state.wasi.deferred = false;
        }
        if let Err(e) = set_budget(&mut store, &config.limits) {
            return Run::Done(Err(fail(e)));
        }

        let txn = match (txn, scope.take()) {
            (Some(txn), _) => Some(txn),
            (None, Some(keys @ KeyScope::Keys(_))) => {
                match keyspace.begin(db, keys, mode, deadline) {
                    Ok(txn) => Some(txn),
                    Err(e) => return Run::Done(Err(fail(e))),
                }
            }
            (None, _) => None,
        };
        let later = LaterBegin {
            db,
            mode,
            deadline,
            inline,
        };
        let mut env = CallEnv::new(keyspace, txn, later);
        store.data_mut().call.env = Some(EnvPtr::new(&mut env));
        let outcome = run_entry(&mut store, &instance, f, export, timeout_ms);
        // The pointer must not outlive `env`.
        store.data_mut().call.env = None;
        let state = store.data_mut();
        if state.call.deferred || state.wasi.deferred {
            // The attempt is void: undo its writes, drop its instance. If it
            // used up its budget, the function's next calls skip the inline
            // attempt for a while (a wait it would have made does not count).
            if state.call.overran {
                f.inline_after_ms.store(
                    clock::mono_ms(Instant::now()).saturating_add(INLINE_BACKOFF_MS),
                    Ordering::Relaxed,
                );
            }
            env.finish(false);
            return Run::Deferred(std::mem::take(&mut state.call.args));
        }
        state.wasi.finish();
        let outcome = match outcome {
            Ok(Frame::Error(text)) => Err(WasmError::GuestError(
                String::from_utf8_lossy(&text).into_owned(),
            )),
            other => other,
        };
        env.finish(outcome.is_ok());

        let fuel_used = config
            .limits
            .max_fuel
            .saturating_sub(store.get_fuel().unwrap_or(0));
        let memory_bytes = store
            .data()
            .memory
            .map_or(0, |m| m.data_size(&store) as u64);
        f.stats.record(
            outcome.is_ok(),
            started,
            Instant::now(),
            fuel_used,
            memory_bytes,
        );
        // A call that ended normally (an error reply included) leaves its
        // instance to be put back for the next call; after a trap or a
        // limit the instance is dropped.
        let ended_normally = matches!(outcome, Ok(_) | Err(WasmError::GuestError(_)));
        if let (Some(snapshot), true) = (snapshot, ended_normally) {
            put_back(f, store, instance, snapshot);
        }
        Run::Done(outcome)
    }
}

/// Whether calls of `f` may try to run inline now: not with the `http`
/// capability (a request blocks), not soon after a call that ran longer
/// than [`INLINE_BUDGET`].
fn inline_allowed(f: &Function, config: &FunctionConfig, now_ms: u64) -> bool {
    !config.permissions.capabilities.contains(Capability::Http)
        && now_ms >= f.inline_after_ms.load(Ordering::Relaxed)
}

fn validate_name(name: &str) -> Result<(), WasmError> {
    if name.is_empty()
        || name.len() > NAME_BYTES_MAX
        || name.contains('.')
        || name
            .bytes()
            .any(|b| b.is_ascii_whitespace() || b.is_ascii_control())
    {
        return Err(WasmError::InvalidConfig(format!(
            "ERR invalid function name '{name}': 1 to {NAME_BYTES_MAX} bytes, no '.', spaces or control characters"
        )));
    }
    Ok(())
}

fn release_module(modules: &mut HashMap<[u8; 32], Compiled>, hash: &[u8; 32]) {
    if let Some(entry) = modules.get_mut(hash) {
        entry.users -= 1;
        if entry.users == 0 {
            modules.remove(hash);
        }
    }
}

/// Compiles `bytes`, rewritten for instance reuse where the rewrite covers
/// the module ([`crate::reuse`]); otherwise as given.
fn compile(
    engine: &Engine,
    name: &str,
    bytes: &[u8],
) -> Result<(Module, Option<Arc<reuse::Plan>>), WasmError> {
    match reuse::rewrite(bytes) {
        Ok(rewritten) => match Module::new(engine, &rewritten.wasm) {
            Ok(module) => return Ok((module, Some(Arc::new(rewritten.plan)))),
            Err(e) => {
                tracing::warn!(target: "ferrite::wasm", function = name, "rewritten module refused ({e:#}); a fresh instance per call");
            }
        },
        Err(why) => {
            tracing::info!(target: "ferrite::wasm", function = name, "a fresh instance per call: {why}");
        }
    }
    let module =
        Module::new(engine, bytes).map_err(|e| WasmError::InvalidModule(format!("{e:#}")))?;
    Ok((module, None))
}

fn min_memory_bytes(module: &Module) -> Result<u64, WasmError> {
    let mut min = 0u64;
    for export in module.exports() {
        if let Some(mem) = export.ty().memory() {
            if mem.is_64() {
                return Err(WasmError::InvalidModule(
                    "64-bit memories are not supported".into(),
                ));
            }
            min = min.max(mem.minimum().saturating_mul(PAGE_BYTES));
        }
    }
    for import in module.imports() {
        if import.ty().memory().is_some() {
            return Err(WasmError::UnknownImport {
                module: import.module().to_string(),
                name: import.name().to_string(),
                reason: "memories cannot be imported; export one named 'memory'".into(),
            });
        }
    }
    Ok(min)
}

fn find_export<'f>(f: &'f Function, entry: &str) -> Result<&'f ExportInfo, WasmError> {
    f.exports
        .iter()
        .find(|e| e.name == entry)
        .ok_or_else(|| WasmError::ExportNotFound {
            module: f.name.to_string(),
            export: entry.to_string(),
        })
}

fn set_wasi_capabilities(state: &mut HostState, permissions: &FunctionPermissions) {
    let caps = permissions.capabilities;
    state.wasi.time = caps.contains(Capability::Time);
    state.wasi.random = caps.contains(Capability::Random);
    state.wasi.log = caps.contains(Capability::Log);
    state.wasi.deadline = Some(state.call.deadline);
}

fn set_budget(store: &mut Store<HostState>, limits: &ResourceLimits) -> Result<(), WasmError> {
    store
        .set_fuel(limits.max_fuel)
        .map_err(|e| WasmError::Internal(format!("ERR fuel: {e}")))?;
    store.set_epoch_deadline(1);
    Ok(())
}

/// Whether new instances of `f` are reused (take a snapshot).
fn reusing(f: &Function) -> bool {
    f.plan.is_some() && f.reuse_misses.load(Ordering::Relaxed) < REUSE_MISSES_MAX
}

/// Whether making an instance of `f` runs its initializers (see
/// [`instantiate_with`]).
fn initializes_at_instantiation(f: &Function) -> bool {
    (f.has_initialize || f.has_ferrite_init) && reusing(f)
}

/// A ready instance of `f`; `started` is now (the caller's clock reading).
fn instantiate(inner: &Inner, f: &Function, started: Instant) -> Result<Ready, WasmError> {
    instantiate_with(inner, f, started, reusing(f))
}

/// [`instantiate`]; `reusing`: take a snapshot, after running the module's
/// initializers once (the state every call then starts from, as on a fresh
/// instance that ran them). If they fail here, the instance is dropped, the
/// function stops reusing instances (so a failing or endless initializer
/// costs this once, not per instance), and a new instance without a
/// snapshot is made: the call runs the initializers itself and reports
/// their failure as before.
fn instantiate_with(
    inner: &Inner,
    f: &Function,
    started: Instant,
    reusing: bool,
) -> Result<Ready, WasmError> {
    // Initializers run guest code: the epoch must advance.
    let _in_flight = inner.note_call(clock::mono_ms(started));
    let config = f.config.load();
    let deadline = started + config.limits.max_time;
    let state = HostState {
        function: f.name.clone(),
        memory: None,
        alloc: None,
        instance: None,
        alloc_handle: f.alloc_handle,
        sdk_entry: None,
        entry: None,
        initialized: false,
        call: CallState {
            permissions: config.permissions.clone(),
            read_only: true,
            args: Vec::new(),
            numkeys: 0,
            result: Vec::new(),
            reply: None,
            deadline,
            deadline_ms: clock::mono_ms_ceil(deadline),
            timeout_ms: config.limits.timeout_ms(),
            env: None,
            http_timeout_ms: inner.http_timeout_ms,
            http_body_bytes_max: inner.http_body_bytes_max,
            inline: false,
            inline_cpu_from: None,
            overran: false,
            deferred: false,
        },
        limiter: Limiter {
            memory_bytes_max: config.limits.max_memory,
        },
        wasi: crate::wasi::WasiCtx::new(f.name.clone()),
    };
    let mut store = Store::new(&inner.engine, state);
    store.limiter(|s| &mut s.limiter);
    store.epoch_deadline_callback(|mut ctx| {
        let call = &mut ctx.data_mut().call;
        host::inline_tick(call)?;
        if Instant::now() >= call.deadline {
            Err(wasmtime::Error::new(Raise(WasmError::Timeout(
                call.timeout_ms,
            ))))
        } else {
            Ok(UpdateDeadline::Continue(1))
        }
    });
    set_wasi_capabilities(store.data_mut(), &config.permissions);
    set_budget(&mut store, &config.limits)?;
    let timeout_ms = config.limits.timeout_ms();
    let instance = f
        .pre
        .instantiate(&mut store)
        .map_err(|e| host::classify(e, timeout_ms))?;
    // By module index: a by-name lookup here cost ~2,500 instructions each.
    let memory = f
        .memory_handle
        .as_ref()
        .and_then(|h| instance.get_module_export(&mut store, h))
        .and_then(wasmtime::Extern::into_memory);
    if reusing && (f.has_initialize || f.has_ferrite_init) {
        store.data_mut().memory = memory;
        let init = run_inits(&mut store, &instance, f);
        let state = store.data_mut();
        state.wasi.finish();
        state.wasi.reset();
        if let Err(e) = init {
            tracing::info!(target: "ferrite::wasm", function = &*f.name, "initializer failed at instantiation ({e:#}); a fresh instance per call from now on");
            f.reuse_misses.store(REUSE_MISSES_MAX, Ordering::Relaxed);
            drop(store);
            return instantiate_with(inner, f, started, false);
        }
        state.initialized = true;
        set_budget(&mut store, &config.limits)?;
    }
    let snapshot = f.plan.as_ref().filter(|_| reusing).and_then(|plan| {
        let mut image = f.image.lock();
        let snapshot = reuse::Snapshot::take(&mut store, &instance, plan, image.as_ref());
        if image.is_none() {
            *image = snapshot.as_ref().and_then(|s| s.image().cloned());
        }
        snapshot
    });
    let state = store.data_mut();
    state.memory = memory;
    state.instance = Some(instance);
    state.wasi.dirty.shift = snapshot.as_ref().map(reuse::Snapshot::chunk_shift);
    Ok(Ready {
        store,
        instance,
        snapshot,
    })
}

/// Puts a used instance back in its snapshot state and into `f`'s pool of
/// ready instances, or drops it (memory grew, pool full).
/// Largest result buffer an idle instance keeps (bytes).
const RESULT_KEEP_BYTES_MAX: usize = 64 * 1024;

fn put_back(
    f: &Function,
    mut store: Store<HostState>,
    instance: wasmtime::Instance,
    snapshot: reuse::Snapshot,
) {
    let host_mask = store.data().wasi.dirty.mask;
    match snapshot.restore(&mut store, host_mask) {
        Ok(_) => {
            if f.reuse_misses.load(Ordering::Relaxed) != 0 {
                f.reuse_misses.store(0, Ordering::Relaxed);
            }
        }
        Err(reuse::NotRestored::MemoryGrew) => {
            f.reuse_misses.fetch_add(1, Ordering::Relaxed);
            return;
        }
        Err(reuse::NotRestored::Broken) => return,
    }
    let state = store.data_mut();
    state.wasi.reset();
    // Nothing of the call stays with the idle instance; a result buffer
    // keeps its room unless it is large (the next call's GET reuses it).
    state.call.args = Vec::new();
    state.call.result.clear();
    if state.call.result.capacity() > RESULT_KEEP_BYTES_MAX {
        state.call.result = Vec::new();
    }
    state.call.reply = None;
    f.pool.push(
        Ready {
            store,
            instance,
            snapshot: Some(snapshot),
        },
        f.pool_max,
    );
}

/// A running-instance slot of a function; released on drop.
struct Slot<'a> {
    pool: &'a Pool,
}

impl Drop for Slot<'_> {
    fn drop(&mut self) {
        // SeqCst pairs with `acquire_slot`: either the waiter sees this
        // slot free, or this sees the waiter (and signals under the lock
        // the waiter holds until it sleeps).
        self.pool.running.fetch_sub(1, Ordering::SeqCst);
        if self.pool.slot_waiters.load(Ordering::SeqCst) > 0 {
            let _guard = self.pool.slot_lock.lock();
            self.pool.slot_freed.notify_one();
        }
    }
}

/// A slot if one is free now.
fn try_acquire_slot(f: &Function) -> Option<Slot<'_>> {
    let pool = &f.pool;
    let mut running = pool.running.load(Ordering::Acquire);
    while running < f.pool_max {
        match pool.running.compare_exchange(
            running,
            running + 1,
            Ordering::AcqRel,
            Ordering::Acquire,
        ) {
            Ok(_) => return Some(Slot { pool }),
            Err(now) => running = now,
        }
    }
    None
}

fn acquire_slot(f: &Function, deadline: Instant, timeout_ms: u64) -> Result<Slot<'_>, WasmError> {
    let max = f.pool_max;
    let pool = &f.pool;
    loop {
        let running = pool.running.load(Ordering::Acquire);
        if running < max {
            if pool
                .running
                .compare_exchange(running, running + 1, Ordering::AcqRel, Ordering::Acquire)
                .is_ok()
            {
                return Ok(Slot { pool });
            }
            continue;
        }
        let mut guard = pool.slot_lock.lock();
        pool.slot_waiters.fetch_add(1, Ordering::SeqCst);
        if pool.running.load(Ordering::SeqCst) < max {
            pool.slot_waiters.fetch_sub(1, Ordering::SeqCst);
            continue;
        }
        let timed_out = pool.slot_freed.wait_until(&mut guard, deadline).timed_out();
        pool.slot_waiters.fetch_sub(1, Ordering::SeqCst);
        if timed_out {
            return Err(WasmError::Timeout(timeout_ms));
        }
    }
}

/// Runs the module's initializers: `_initialize` (WASI reactors), then
/// `ferrite_init` (e.g. the Rust SDK's panic hook).
fn run_inits(
    store: &mut Store<HostState>,
    instance: &wasmtime::Instance,
    f: &Function,
) -> wasmtime::Result<()> {
    for (name, present) in [
        ("_initialize", f.has_initialize),
        ("ferrite_init", f.has_ferrite_init),
    ] {
        if present {
            instance
                .get_typed_func::<(), ()>(&mut *store, name)?
                .call(&mut *store, ())?;
        }
    }
    Ok(())
}

/// Calls the initializers ([`run_inits`]) unless they already ran on this
/// instance, and then the export.
fn run_entry(
    store: &mut Store<HostState>,
    instance: &wasmtime::Instance,
    f: &Function,
    export: &ExportInfo,
    timeout_ms: u64,
) -> Result<Frame, WasmError> {
    // `proc_exit(0)` ends the call successfully.
    let classify = |e: wasmtime::Error| match e.downcast_ref::<crate::wasi::WasiExit>() {
        Some(crate::wasi::WasiExit(0)) => Ok(()),
        _ => Err(host::classify(e, timeout_ms)),
    };
    let classify_reply =
        |store: &mut Store<HostState>| store.data_mut().call.reply.take().unwrap_or(Frame::Null);
    if (f.has_initialize || f.has_ferrite_init) && !store.data().initialized {
        if let Err(e) = run_inits(store, instance, f) {
            classify(e)?;
            return Ok(classify_reply(store));
        }
    }
    let position = f.exports.iter().position(|e| std::ptr::eq(e, export));
    // A reused instance keeps its typed entry point: no export lookup and
    // no dynamic type check per call.
    let argc = store.data().call.args.len();
    if export.convention == Convention::Sdk {
        if let Some(declared) = &export.declared {
            if declared.params.len() != argc {
                return Err(WasmError::BadArguments(format!(
                    "ERR function '{}' expects {} arguments, got {argc}",
                    export.name,
                    declared.params.len()
                )));
            }
        }
        // Taken out for the call and put back, not cloned: a `TypedFunc`
        // clone counts a reference on its registered type (~60 Ir a call).
        if let Some((cached, entry)) = store.data_mut().sdk_entry.take() {
            if Some(cached) == position {
                let result = entry.call(&mut *store, ());
                store.data_mut().sdk_entry = Some((cached, entry));
                if let Err(e) = result {
                    classify(e)?;
                }
                return Ok(classify_reply(store));
            }
            store.data_mut().sdk_entry = Some((cached, entry));
        }
    }
    // The typed and raw conventions keep their entry point per instance
    // too: an export lookup cost ~740 Ir per call (callgrind, WASM.CALL of
    // a trivial typed function).
    let (func, checked) = match store.data().entry {
        Some((cached, func, checked)) if Some(cached) == position => (func, checked),
        _ => {
            let handle = position.and_then(|i| f.export_handles[i].as_ref());
            let func = handle
                .and_then(|h| instance.get_module_export(&mut *store, h))
                .and_then(wasmtime::Extern::into_func)
                .or_else(|| instance.get_func(&mut *store, &export.name))
                .ok_or_else(|| WasmError::ExportNotFound {
                    module: f.name.to_string(),
                    export: export.name.clone(),
                })?;
            let checked = signature_matches(&func.ty(&*store), export);
            if let Some(i) = position {
                store.data_mut().entry = Some((i, func, checked));
            }
            (func, checked)
        }
    };
    match export.convention {
        Convention::Sdk => {
            match (func.typed::<(), ()>(&*store), position) {
                (Ok(entry), Some(i)) => {
                    store.data_mut().sdk_entry = Some((i, entry.clone()));
                    if let Err(e) = entry.call(&mut *store, ()) {
                        classify(e)?;
                    }
                }
                _ => {
                    if let Err(e) = func.call(&mut *store, &[], &mut []) {
                        classify(e)?;
                    }
                }
            }
            Ok(classify_reply(store))
        }
        Convention::Raw => {
            let input = store.data().call.args.first().cloned().unwrap_or_default();
            let (ptr, len) = write_guest_bytes(store, instance, f, &input, timeout_ms)?;
            let status = match call_entry(
                store,
                func,
                checked,
                &[Val::I32(ptr), Val::I32(len)],
                Some(NumType::I32),
            ) {
                Ok(status) => status,
                Err(e) => {
                    classify(e)?;
                    return Ok(classify_reply(store));
                }
            };
            let status = status.and_then(|s| s.i32()).unwrap_or(0);
            match store.data_mut().call.reply.take() {
                Some(reply) => Ok(reply),
                None if status != 0 => Err(WasmError::GuestError(format!(
                    "ERR function returned status {status}"
                ))),
                None => Ok(Frame::Null),
            }
        }
        Convention::Typed => {
            let params = bind_typed(store, instance, f, export, timeout_ms)?;
            let result = match call_entry(store, func, checked, &params, export.result) {
                Ok(result) => result,
                Err(e) => {
                    classify(e)?;
                    return Ok(classify_reply(store));
                }
            };
            if let Some(reply) = store.data_mut().call.reply.take() {
                return Ok(reply);
            }
            Ok(match result.as_ref() {
                Some(Val::I32(v)) => Frame::Integer(i64::from(*v)),
                Some(Val::I64(v)) => Frame::Integer(*v),
                Some(Val::F32(v)) => Frame::Double(f64::from(f32::from_bits(*v))),
                Some(Val::F64(v)) => Frame::Double(f64::from_bits(*v)),
                _ => Frame::Null,
            })
        }
    }
}

/// The wasm type of an export's number, if it is one.
fn num_type(ty: &wasmtime::ValType) -> Option<NumType> {
    match ty {
        wasmtime::ValType::I32 => Some(NumType::I32),
        wasmtime::ValType::I64 => Some(NumType::I64),
        wasmtime::ValType::F32 => Some(NumType::F32),
        wasmtime::ValType::F64 => Some(NumType::F64),
        _ => None,
    }
}

/// Whether `ty` is exactly the wasm signature `export`'s convention calls
/// it with: then [`call_entry`] may skip wasmtime's per-call type check.
fn signature_matches(ty: &wasmtime::FuncType, export: &ExportInfo) -> bool {
    let (params, result): (&[NumType], Option<NumType>) = match export.convention {
        Convention::Raw => (&[NumType::I32, NumType::I32], Some(NumType::I32)),
        Convention::Typed => (&export.params, export.result),
        Convention::Sdk => (&[], None),
    };
    ty.params().len() == params.len()
        && ty
            .params()
            .zip(params)
            .all(|(t, p)| num_type(&t) == Some(*p))
        && ty.results().len() == usize::from(result.is_some())
        && ty
            .results()
            .zip(result)
            .all(|(t, r)| num_type(&t) == Some(r))
}

/// The raw form of a number value; `None` for anything else.
fn raw_num(v: &Val) -> Option<ValRaw> {
    match *v {
        Val::I32(x) => Some(ValRaw::i32(x)),
        Val::I64(x) => Some(ValRaw::i64(x)),
        Val::F32(bits) => Some(ValRaw::f32(bits)),
        Val::F64(bits) => Some(ValRaw::f64(bits)),
        _ => None,
    }
}

/// Calls an entry point of the typed or raw convention with number
/// `params`; returns its result (of type `result`), if it has one.
/// `checked`: `func`'s type was
/// found equal to the export's signature ([`signature_matches`]) when the
/// instance cached it, so the call skips wasmtime's type check (~600 Ir a
/// call: a registered-type lookup and a function-location search);
/// otherwise, and for any parameter that is no number, `Func::call`.
fn call_entry(
    store: &mut Store<HostState>,
    func: wasmtime::Func,
    checked: bool,
    params: &[Val],
    result: Option<NumType>,
) -> wasmtime::Result<Option<Val>> {
    let raw: Option<smallvec::SmallVec<[ValRaw; 8]>> = params.iter().map(raw_num).collect();
    match (checked, raw) {
        (true, Some(mut raw)) => {
            if raw.is_empty() {
                raw.push(ValRaw::i64(0));
            }
            // SAFETY: `checked` means `func`'s wasm type is exactly the
            // export's signature: `params` (numbers, converted above) have
            // its parameter types in order, and `raw` has room for them and
            // for its one result at most. Numbers need no GC rooting, and
            // the executor never calls wasm from within an async call.
            unsafe { func.call_unchecked(&mut *store, &mut raw[..] as *mut [ValRaw])? };
            Ok(result.map(|t| match t {
                NumType::I32 => Val::I32(raw[0].get_i32()),
                NumType::I64 => Val::I64(raw[0].get_i64()),
                NumType::F32 => Val::F32(raw[0].get_f32()),
                NumType::F64 => Val::F64(raw[0].get_f64()),
            }))
        }
        _ => {
            let mut results: smallvec::SmallVec<[Val; 1]> =
                func.ty(&*store).results().map(|_| Val::I32(0)).collect();
            func.call(&mut *store, params, &mut results)?;
            Ok(results.into_iter().next())
        }
    }
}

/// Copies `bytes` into guest memory through `ferrite_alloc`; `(0, 0)` when
/// empty.
fn write_guest_bytes(
    store: &mut Store<HostState>,
    instance: &wasmtime::Instance,
    f: &Function,
    bytes: &[u8],
    timeout_ms: u64,
) -> Result<(i32, i32), WasmError> {
    if bytes.is_empty() {
        return Ok((0, 0));
    }
    let len = i32::try_from(bytes.len())
        .map_err(|_| WasmError::BadArguments("ERR argument larger than 2 GB".into()))?;
    let alloc = instance.get_typed_func::<i32, i32>(&mut *store, "ferrite_alloc").map_err(|_| {
        WasmError::BadArguments(format!(
            "ERR function '{}' needs an exported ferrite_alloc(size: i32) -> i32 to receive arguments",
            f.name
        ))
    })?;
    let ptr = alloc
        .call(&mut *store, len)
        .map_err(|e| host::classify(e, timeout_ms))?;
    if ptr == 0 {
        return Err(WasmError::Trap {
            code: "alloc_failed",
            message: format!("ferrite_alloc({len}) returned 0"),
        });
    }
    let memory = instance
        .get_memory(&mut *store, crate::memory::MEMORY_EXPORT)
        .ok_or_else(|| {
            WasmError::BadPointer("bad pointer: module exports no memory named 'memory'".into())
        })?;
    crate::memory::write_bytes(memory, &mut *store, ptr as u32, bytes)
        .map_err(|e| WasmError::BadPointer(e.to_string()))?;
    Ok((ptr, len))
}

/// Writes an AssemblyScript string (`__new(bytes, 2)`, UTF-16LE) and returns
/// its pointer.
fn write_as_string(
    store: &mut Store<HostState>,
    instance: &wasmtime::Instance,
    bytes: &[u8],
    timeout_ms: u64,
) -> Result<i32, WasmError> {
    let utf16: Vec<u8> = String::from_utf8_lossy(bytes)
        .encode_utf16()
        .flat_map(u16::to_le_bytes)
        .collect();
    let len = i32::try_from(utf16.len())
        .map_err(|_| WasmError::BadArguments("ERR argument too large".into()))?;
    let classify = |e| host::classify(e, timeout_ms);
    let new = instance
        .get_typed_func::<(i32, i32), i32>(&mut *store, "__new")
        .map_err(|e| WasmError::Internal(format!("ERR __new: {e}")))?;
    let ptr = new.call(&mut *store, (len, 2)).map_err(classify)?;
    if let Ok(pin) = instance.get_typed_func::<i32, i32>(&mut *store, "__pin") {
        pin.call(&mut *store, ptr).map_err(classify)?;
    }
    let memory = instance
        .get_memory(&mut *store, crate::memory::MEMORY_EXPORT)
        .ok_or_else(|| {
            WasmError::BadPointer("bad pointer: module exports no memory named 'memory'".into())
        })?;
    crate::memory::write_bytes(memory, &mut *store, ptr as u32, &utf16)
        .map_err(|e| WasmError::BadPointer(e.to_string()))?;
    Ok(ptr)
}

/// Binds KEYS and ARGS to a typed export's wasm parameters (`docs/abi.md` §3).
fn bind_typed(
    store: &mut Store<HostState>,
    instance: &wasmtime::Instance,
    f: &Function,
    export: &ExportInfo,
    timeout_ms: u64,
) -> Result<Vec<Val>, WasmError> {
    let args = store.data().call.args.clone();
    let k = store.data().call.numkeys;
    let a = args.len() - k;
    let n = export.params.len();
    let as_strings = if 2 * k + a == n {
        false
    } else if f.assemblyscript && k + a == n {
        true
    } else {
        return Err(WasmError::BadArguments(format!(
            "ERR function '{}' takes {n} wasm parameters: got {k} KEYS (2 parameters each{}) and {a} ARGS",
            export.name,
            if f.assemblyscript { ", or 1 as an AssemblyScript string" } else { "" }
        )));
    };
    let mut vals = Vec::with_capacity(n);
    for key in &args[..k] {
        let p = vals.len();
        if as_strings {
            if export.params[p] != NumType::I32 {
                return Err(key_param_error(export, p));
            }
            vals.push(Val::I32(write_as_string(store, instance, key, timeout_ms)?));
        } else {
            if export.params[p] != NumType::I32 || export.params[p + 1] != NumType::I32 {
                return Err(key_param_error(export, p));
            }
            let (ptr, len) = write_guest_bytes(store, instance, f, key, timeout_ms)?;
            vals.push(Val::I32(ptr));
            vals.push(Val::I32(len));
        }
    }
    for (i, arg) in args[k..].iter().enumerate() {
        let ty = export.params[vals.len()];
        let text = std::str::from_utf8(arg).unwrap_or("").trim();
        let bad = || {
            WasmError::BadArguments(format!(
                "ERR function '{}' argument {} is not a valid {}",
                export.name,
                k + i + 1,
                ty.name()
            ))
        };
        vals.push(match ty {
            NumType::I32 => Val::I32(text.parse().map_err(|_| bad())?),
            NumType::I64 => Val::I64(text.parse().map_err(|_| bad())?),
            NumType::F32 => Val::F32(text.parse::<f32>().map_err(|_| bad())?.to_bits()),
            NumType::F64 => Val::F64(text.parse::<f64>().map_err(|_| bad())?.to_bits()),
        });
    }
    debug_assert_eq!(vals.len(), n);
    Ok(vals)
}

fn key_param_error(export: &ExportInfo, p: usize) -> WasmError {
    WasmError::BadArguments(format!(
        "ERR function '{}' parameter {} must be i32 to receive a key",
        export.name,
        p + 1
    ))
}

/// Keeps every function's pool at `min_instances` fresh instances and
/// releases the pools of functions idle longer than `idle_timeout`.
fn keeper_loop(weak: Weak<Inner>, stop: Arc<AtomicBool>) {
    while !stop.load(Ordering::Relaxed) {
        thread::park_timeout(KEEPER_INTERVAL);
        let Some(inner) = weak.upgrade() else { return };
        if stop.load(Ordering::Relaxed) {
            return;
        }
        let functions: Vec<Arc<Function>> = inner.functions.load().values().cloned().collect();
        let now_ms = clock::mono_ms(Instant::now());
        let idle_ms = inner.pool.idle_timeout.as_millis() as u64;
        for f in functions {
            let idle = now_ms.saturating_sub(f.pool.last_used_ms.load(Ordering::Relaxed)) > idle_ms;
            if idle {
                f.pool.clear();
                continue;
            }
            while f.pool.ready_len() < inner.pool.min_instances && !stop.load(Ordering::Relaxed) {
                match instantiate(&inner, &f, Instant::now()) {
                    Ok(ready) => f.pool.push(ready, f.pool_max),
                    Err(e) => {
                        tracing::warn!(target: "ferrite::wasm", function = &*f.name, "cannot pre-instantiate: {e}");
                        break;
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A call longer than the ticker's idle time keeps it ticking: its
    /// timeout (300 ms, three times the idle time) ends it on time, not at
    /// the next idle tick a second later.
    #[test]
    fn a_long_call_keeps_the_epoch_ticker_ticking() {
        let executor = WasmExecutor::builder()
            .limits(ResourceLimits {
                max_fuel: u64::MAX / 2,
                max_time: Duration::from_millis(300),
                ..ResourceLimits::default()
            })
            .build()
            .expect("executor");
        let wasm =
            wat::parse_str(r#"(module (func (export "spin") (loop $l (br $l))))"#).expect("wat");
        executor
            .load("spin", wasm, Some(FunctionPermissions::read_only()))
            .expect("load");
        let started = Instant::now();
        let result = executor.call("spin", "spin", vec![], None);
        assert_eq!(result, Err(WasmError::Timeout(300)));
        assert!(
            started.elapsed() < Duration::from_millis(300) + TICKER_IDLE_TICK / 2,
            "{:?}",
            started.elapsed()
        );
        assert!(executor
            .inner
            .ticker
            .in_flight
            .iter()
            .all(|calls| calls.load(Ordering::SeqCst) == 0));
    }

    /// A call on an executor whose epoch ticker went idle (parked) wakes
    /// it: an endless loop still ends with its timeout, not after the
    /// idle tick of a second or more.
    #[test]
    fn a_call_wakes_the_idle_epoch_ticker() {
        let executor = WasmExecutor::builder()
            .limits(ResourceLimits {
                max_fuel: u64::MAX / 2,
                ..ResourceLimits::quick()
            })
            .build()
            .expect("executor");
        let wasm =
            wat::parse_str(r#"(module (func (export "spin") (loop $l (br $l))))"#).expect("wat");
        executor
            .load("spin", wasm, Some(FunctionPermissions::read_only()))
            .expect("load");
        // Loading instantiated the module (a call for the ticker); wait
        // until the ticker has been idle long enough to park.
        let ticker = &executor.inner.ticker;
        for _ in 0..1_000 {
            if ticker.parked.load(Ordering::SeqCst) {
                break;
            }
            thread::sleep(EPOCH_TICK);
        }
        assert!(
            ticker.parked.load(Ordering::SeqCst),
            "the idle ticker parks"
        );
        let started = Instant::now();
        let result = executor.call("spin", "spin", vec![], None);
        assert_eq!(result, Err(WasmError::Timeout(100)));
        // Well below the idle tick: the call woke the ticker.
        assert!(
            started.elapsed() < TICKER_IDLE_TICK / 2,
            "{:?}",
            started.elapsed()
        );
    }
}
