//! The `WASM.*` commands: parse → apply (through [`ferrite_wasm::WasmExecutor`])
//! → reply. See `docs/commands.md`.
//!
//! * A call first tries to run inline on the I/O thread
//!   ([`WasmExecutor::try_execute_inline`]): only when it cannot wait for
//!   anything and stops within `ferrite_wasm::INLINE_BUDGET`; otherwise it
//!   is undone and goes, like compilation and module file reads, to tokio's
//!   blocking pool while the connection awaits it.
//! * Loads, updates, reloads and unloads are serialized by one async mutex so
//!   that the persistent catalog (`catalog.rs`) always matches the executor.

pub mod catalog;
mod logged;
pub mod options;
pub mod source;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use ferrite_protocol::Frame;
use ferrite_store::Store;
use ferrite_wasm::{
    AccessMode, CallRequest, Capabilities, Capability, DefaultPermissions, FunctionInfo,
    FunctionPermissions, Inline, PoolConfig, ResourceLimits, WasmError, WasmExecutor,
};
use parking_lot::Mutex;

use crate::config::{PermissionProfile, WasmConfig};
use options::{CapabilityName, LoadOptions, OptionError, OptionsFor};
use source::{ModuleSource, SourceError};

/// Longest function name, in bytes.
pub const NAME_BYTES_MAX: usize = 128;

/// Why a WASM.* command failed. `Display` is the error reply text.
#[derive(Debug, thiserror::Error)]
pub enum WasmCommandError {
    #[error(transparent)]
    Option(#[from] OptionError),
    #[error(transparent)]
    Source(#[from] SourceError),
    #[error("{}", .0.reply_text())]
    Runtime(#[from] WasmError),
    #[error(transparent)]
    Catalog(#[from] catalog::CatalogError),
    #[error("ERR invalid function name '{0}': use 1 to 128 characters of A-Z a-z 0-9 _ -")]
    BadName(String),
    #[error("ERR function '{0}' already exists (use REPLACE)")]
    Exists(String),
    #[error("ERR function '{0}' not found")]
    NotFound(String),
    #[error("ERR WASM.LOADB takes module bytes (they must start with \\0asm)")]
    LoadbNeedsBytes,
    #[error("ERR too many functions (max_functions = {0})")]
    TooManyFunctions(u32),
    #[error("ERR capability '{0}' is not allowed by the server configuration ([wasm.capabilities] allowed, [wasm.security] allow_network)")]
    CapabilityNotAllowed(&'static str),
    #[error("ERR MAX_MEMORY {asked} bytes exceeds the server limit of {limit} bytes ([wasm.limits] max_memory)")]
    MemoryOverLimit { asked: u64, limit: u64 },
    #[error(
        "ERR TIMEOUT {asked} ms exceeds the server limit of {limit} ms ([wasm.limits] max_time)"
    )]
    TimeoutOverLimit { asked: u64, limit: u64 },
    #[error("ERR MAX_FUEL {asked} exceeds the server limit of {limit} ([wasm.limits] max_fuel)")]
    FuelOverLimit { asked: u64, limit: u64 },
    #[error("ERR function '{0}' was loaded from bytes, not from a file: nothing to reload")]
    NoSourcePath(String),
    #[error("ERR module is {bytes} bytes, more than the limit of {limit} bytes ([wasm.limits] max_module_bytes)")]
    ModuleTooLarge { bytes: u64, limit: u64 },
    #[error("ERR wrong number of arguments for '{0}' command")]
    Arity(&'static str),
    #[error("ERR the function call was cancelled: {0}")]
    Join(String),
}

impl WasmCommandError {
    fn to_frame(&self) -> Frame {
        Frame::Error(Bytes::from(self.to_string()))
    }
}

type WasmResult<T> = Result<T, WasmCommandError>;

/// What the server remembers of a function beyond the executor: how it was
/// loaded, so that UPDATE can merge options, RELOAD can re-read the file, and
/// the catalog can be rewritten.
#[derive(Debug, Clone)]
struct FunctionMeta {
    module: Bytes,
    source_path: Option<PathBuf>,
    options: LoadOptions,
    loaded_at_ms: u64,
}

/// The WASM side of the server.
pub struct WasmService {
    executor: Arc<WasmExecutor>,
    store: Arc<Store>,
    config: WasmConfig,
    data_dir: PathBuf,
    module_dir: PathBuf,
    meta: Mutex<HashMap<String, FunctionMeta>>,
    /// Serializes LOAD / UPDATE / RELOAD / UNLOAD (executor + catalog).
    admin: tokio::sync::Mutex<()>,
    /// Where function changes are logged (the AOF), see `logged.rs`.
    log: std::sync::OnceLock<Arc<dyn ferrite_store::EffectSink>>,
}

fn unix_ms_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

fn config_capability(c: crate::config::Capability) -> Capability {
    use crate::config::Capability as C;
    match c {
        C::Read => Capability::Read,
        C::Write => Capability::Write,
        C::Delete => Capability::Delete,
        C::Http => Capability::Http,
        C::Time => Capability::Time,
        C::Random => Capability::Random,
        C::Log => Capability::Log,
    }
}

fn capability_of(name: CapabilityName) -> Option<Capability> {
    match name {
        CapabilityName::One(c) => Some(c),
        CapabilityName::All => None,
    }
}

fn is_command(name: &str) -> bool {
    ferrite_store::lookup(name.as_bytes()).is_some()
}

/// A function name: 1–128 bytes of `A-Z a-z 0-9 _ -` (no `.`, which selects an export).
fn check_name(name: &[u8]) -> WasmResult<String> {
    let ok = !name.is_empty()
        && name.len() <= NAME_BYTES_MAX
        && name
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-'));
    if !ok {
        return Err(WasmCommandError::BadName(
            String::from_utf8_lossy(&name[..name.len().min(NAME_BYTES_MAX)]).into_owned(),
        ));
    }
    Ok(String::from_utf8_lossy(name).into_owned())
}

impl WasmService {
    /// Builds the executor from `[wasm]` and reloads every persisted function.
    pub fn start(
        config: &WasmConfig,
        data_dir: &Path,
        store: Arc<Store>,
    ) -> Result<WasmService, String> {
        let limits = ResourceLimits {
            max_memory: usize::try_from(config.default_memory_limit.0).unwrap_or(usize::MAX),
            max_time: Duration::from_millis(config.default_timeout_ms),
            max_fuel: config.limits.max_fuel,
            max_stack: config.limits.max_stack as usize,
        };
        let pool = PoolConfig {
            min_instances: config.pool.min_instances as usize,
            max_instances: config.pool.max_instances as usize,
            idle_timeout: Duration::from_secs(config.pool.idle_timeout_secs),
        };
        let policy = match config.security.default_permissions {
            PermissionProfile::Restrictive => DefaultPermissions::Restrictive,
            PermissionProfile::Permissive => DefaultPermissions::Permissive,
        };
        let executor = WasmExecutor::builder()
            .limits(limits)
            .pool(pool)
            .default_permissions(policy)
            .allow_network(config.security.allow_network)
            .keyspace(store.clone())
            .build()
            .map_err(|e| format!("cannot start the wasm runtime: {}", e.reply_text()))?;
        let module_dir = config
            .module_dir
            .clone()
            .unwrap_or_else(|| data_dir.join("modules"));
        let service = WasmService {
            executor: Arc::new(executor),
            store,
            config: config.clone(),
            data_dir: data_dir.to_path_buf(),
            module_dir,
            meta: Mutex::new(HashMap::new()),
            admin: tokio::sync::Mutex::new(()),
            log: std::sync::OnceLock::new(),
        };
        let records = catalog::load_all(data_dir).map_err(|e| e.to_string())?;
        for record in records {
            let opts = options::parse_options(&record.options, OptionsFor::Load, &is_command)
                .map_err(|e| {
                    format!(
                        "function '{}' in the catalog has bad options: {e}",
                        record.name
                    )
                })?;
            service
                .install(&record.name, &record.module, &opts, true)
                .map_err(|e| {
                    format!(
                        "function '{}' from the catalog failed to load: {e}",
                        record.name
                    )
                })?;
            let source_path = record.source_path.map(PathBuf::from);
            service.meta.lock().insert(
                record.name.clone(),
                FunctionMeta {
                    module: record.module,
                    source_path,
                    options: opts,
                    loaded_at_ms: record.loaded_at_ms,
                },
            );
            tracing::info!(function = %record.name, "reloaded wasm function from the catalog");
        }
        Ok(service)
    }

    /// The executor (embedded API, benchmarks).
    pub fn executor(&self) -> &Arc<WasmExecutor> {
        &self.executor
    }

    /// Runs one `WASM.*` command.
    pub async fn run(self: &Arc<Self>, name: &str, argv: &[Bytes], db: usize) -> Frame {
        let result = match name {
            "wasm.load" => self.load(argv, false).await,
            "wasm.loadb" => self.load(argv, true).await,
            "wasm.call" => self.call(argv, db, AccessMode::ReadWrite).await,
            "wasm.callread" => self.call(argv, db, AccessMode::ReadOnly).await,
            "wasm.unload" => self.unload(argv).await,
            "wasm.list" => Ok(self.list()),
            "wasm.info" => self.info(argv),
            "wasm.stats" if argv.len() > 2 => Err(WasmCommandError::Arity("wasm.stats")),
            "wasm.stats" => self.stats(argv),
            "wasm.update" => self.update(argv).await,
            "wasm.reload" => self.reload(argv).await,
            other => {
                tracing::error!("no wasm handler for command '{other}'");
                Ok(ferrite_store::reply::error(
                    &ferrite_store::cmd::unknown_command(&argv[0], &argv[1..]),
                ))
            }
        };
        result.unwrap_or_else(|e| e.to_frame())
    }

    /// Effective permissions and limits of an option list (see docs/commands.md).
    fn resolve(&self, opts: &LoadOptions) -> WasmResult<(FunctionPermissions, ResourceLimits)> {
        let cfg = &self.config;
        let allowed: Vec<Capability> = cfg
            .capabilities
            .allowed
            .iter()
            .map(|c| config_capability(*c))
            .collect();
        let caps: Vec<Capability> = if let Some(names) = &opts.capabilities {
            if names.contains(&CapabilityName::All) {
                allowed.clone()
            } else {
                names.iter().filter_map(|n| capability_of(*n)).collect()
            }
        } else if opts.key_patterns_allow.is_some() && !opts.read_only {
            vec![
                Capability::Read,
                Capability::Write,
                Capability::Delete,
                Capability::Log,
            ]
        } else if let Some(cmds) = &opts.commands_allow {
            let mut caps = vec![Capability::Log];
            for c in cmds {
                if let Some(spec) = ferrite_store::lookup(c.as_bytes()) {
                    let cap = if matches!(
                        spec.name,
                        "del" | "unlink" | "getdel" | "flushdb" | "flushall"
                    ) {
                        Capability::Delete
                    } else if spec.is_write() {
                        Capability::Write
                    } else {
                        Capability::Read
                    };
                    if !caps.contains(&cap) {
                        caps.push(cap);
                    }
                }
            }
            caps
        } else {
            match cfg.security.default_permissions {
                PermissionProfile::Restrictive => cfg
                    .capabilities
                    .default
                    .iter()
                    .map(|c| config_capability(*c))
                    .collect(),
                PermissionProfile::Permissive => allowed.clone(),
            }
        };
        for cap in &caps {
            let network_ok = *cap != Capability::Http || cfg.security.allow_network;
            if !allowed.contains(cap) || !network_ok {
                return Err(WasmCommandError::CapabilityNotAllowed(cap.name()));
            }
        }
        let mut patterns: Vec<String> = opts
            .key_patterns_allow
            .as_ref()
            .map(|v| {
                v.iter()
                    .map(|p| String::from_utf8_lossy(p).into_owned())
                    .collect()
            })
            .unwrap_or_default();
        patterns.extend(
            opts.key_patterns_deny
                .iter()
                .map(|p| format!("!{}", String::from_utf8_lossy(p))),
        );
        let mut perms = FunctionPermissions::with_capabilities_only(Capabilities::from_list(&caps))
            .with_read_only(opts.read_only)
            .with_denied_commands(opts.commands_deny.clone());
        if !patterns.is_empty() {
            perms = perms.with_allowed_keys(patterns);
        }
        if let Some(cmds) = &opts.commands_allow {
            perms = perms.with_allowed_commands(cmds.clone());
        }

        let memory_limit = cfg.limits.max_memory.0;
        let memory = opts
            .memory_bytes_max
            .unwrap_or(cfg.default_memory_limit.0.min(memory_limit));
        if memory > memory_limit {
            return Err(WasmCommandError::MemoryOverLimit {
                asked: memory,
                limit: memory_limit,
            });
        }
        let time_limit_ms = cfg.limits.max_time.saturating_mul(1000);
        let timeout_ms = opts
            .timeout_ms
            .unwrap_or(cfg.default_timeout_ms.min(time_limit_ms));
        if timeout_ms > time_limit_ms {
            return Err(WasmCommandError::TimeoutOverLimit {
                asked: timeout_ms,
                limit: time_limit_ms,
            });
        }
        let fuel = opts.fuel_max.unwrap_or(cfg.limits.max_fuel);
        if fuel > cfg.limits.max_fuel {
            return Err(WasmCommandError::FuelOverLimit {
                asked: fuel,
                limit: cfg.limits.max_fuel,
            });
        }
        let limits = ResourceLimits {
            max_memory: usize::try_from(memory).unwrap_or(usize::MAX),
            max_time: Duration::from_millis(timeout_ms),
            max_fuel: fuel,
            max_stack: cfg.limits.max_stack as usize,
        };
        Ok((perms, limits))
    }

    /// Compiles and registers a module (blocking: call from a blocking thread
    /// or at start-up).
    fn install(
        &self,
        name: &str,
        module: &[u8],
        opts: &LoadOptions,
        replace: bool,
    ) -> WasmResult<FunctionInfo> {
        let (permissions, limits) = self.resolve(opts)?;
        let load = ferrite_wasm::LoadOptions {
            permissions: Some(permissions),
            limits: Some(limits),
            replace,
        };
        Ok(self.executor.load_with(name, module, load)?)
    }

    async fn blocking<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> WasmResult<T> {
        tokio::task::spawn_blocking(f)
            .await
            .map_err(|e| WasmCommandError::Join(e.to_string()))
    }

    fn persist(&self, name: &str) -> WasmResult<()> {
        let meta = self.meta.lock().get(name).cloned();
        let Some(meta) = meta else { return Ok(()) };
        let module = meta.module;
        let record = catalog::Record {
            name: name.to_string(),
            loaded_at_ms: meta.loaded_at_ms,
            source_path: meta.source_path.map(|p| p.display().to_string()),
            module,
            options: meta.options.to_args(),
        };
        catalog::save(&self.data_dir, &record)?;
        self.log_loaded(&record);
        Ok(())
    }

    async fn load(self: &Arc<Self>, argv: &[Bytes], loadb: bool) -> WasmResult<Frame> {
        let name = check_name(&argv[1])?;
        let opts = options::parse_options(&argv[3..], OptionsFor::Load, &is_command)?;
        let module_bytes_max = self.config.limits.max_module_bytes.0;
        let (module, source_path): (Bytes, Option<PathBuf>) = match source::classify(&argv[2])? {
            ModuleSource::Bytes(b) if b.len() as u64 > module_bytes_max => {
                return Err(WasmCommandError::ModuleTooLarge {
                    bytes: b.len() as u64,
                    limit: module_bytes_max,
                })
            }
            ModuleSource::Bytes(_) => (argv[2].clone(), None),
            ModuleSource::Path(_) if loadb => return Err(WasmCommandError::LoadbNeedsBytes),
            ModuleSource::Path(p) => {
                let dir = self.module_dir.clone();
                let requested = p.to_string();
                let limit = module_bytes_max;
                let (bytes, path) = Self::blocking(move || -> WasmResult<(Vec<u8>, PathBuf)> {
                    let path = source::resolve(&dir, &requested)?;
                    Ok((source::read_module(&path, limit)?, path))
                })
                .await??;
                (Bytes::from(bytes), Some(path))
            }
        };
        self.resolve(&opts)?;
        let _admin = self.admin.lock().await;
        let exists = self.executor.exists(&name);
        if exists && !opts.replace {
            return Err(WasmCommandError::Exists(name));
        }
        if !exists && self.executor.list().len() >= self.config.max_functions as usize {
            return Err(WasmCommandError::TooManyFunctions(
                self.config.max_functions,
            ));
        }
        let this = Arc::clone(self);
        let (n, m, o) = (name.clone(), module.clone(), opts.clone());
        Self::blocking(move || this.install(&n, &m, &o, o.replace)).await??;
        let meta = FunctionMeta {
            module,
            source_path,
            options: LoadOptions {
                replace: false,
                ..opts
            },
            loaded_at_ms: unix_ms_now(),
        };
        self.meta.lock().insert(name.clone(), meta);
        let this = Arc::clone(self);
        Self::blocking(move || this.persist(&name)).await??;
        Ok(Frame::ok())
    }

    async fn call(
        self: &Arc<Self>,
        argv: &[Bytes],
        db: usize,
        mode: AccessMode,
    ) -> WasmResult<Frame> {
        // The checked conversion first: `from_utf8_lossy` walks the name
        // in chunks even when it is valid.
        let function = match std::str::from_utf8(&argv[1]) {
            Ok(name) => name.to_owned(),
            Err(_) => String::from_utf8_lossy(&argv[1]).into_owned(),
        };
        let (keys, args) = ferrite_store::cmd::wasm::call_layout(argv);
        let numkeys = keys.as_ref().map_or(0, |r| r.len());
        let keys = keys.map(|r| argv[r].to_vec());
        // Room for the keys in front: the executor puts them there in place.
        let mut rest = Vec::with_capacity(numkeys + args.len());
        rest.extend_from_slice(&argv[args]);
        let request = CallRequest {
            function,
            keys,
            args: rest,
            db,
            mode,
        };
        // Short calls run right here, on the I/O thread: a thread handoff
        // costs more than the call. Anything that could block is handed
        // back untouched and runs on the blocking pool.
        let request = match self.executor.try_execute_inline(&*self.store, request) {
            Inline::Done(frame) => return Ok(frame),
            Inline::Deferred(request) => request,
        };
        let this = Arc::clone(self);
        Self::blocking(move || this.executor.execute_frame(&*this.store, request)).await
    }

    async fn unload(self: &Arc<Self>, argv: &[Bytes]) -> WasmResult<Frame> {
        let name = String::from_utf8_lossy(&argv[1]).into_owned();
        let _admin = self.admin.lock().await;
        if !self.executor.exists(&name) {
            return Err(WasmCommandError::NotFound(name));
        }
        self.executor.unload(&name)?;
        self.meta.lock().remove(&name);
        self.log_unloaded(&name);
        let dir = self.data_dir.clone();
        Self::blocking(move || catalog::remove(&dir, &name)).await??;
        Ok(Frame::ok())
    }

    fn list(&self) -> Frame {
        let mut names = self.executor.list();
        names.sort();
        Frame::Array(
            names
                .into_iter()
                .map(|n| Frame::Bulk(Bytes::from(n)))
                .collect(),
        )
    }

    fn info(&self, argv: &[Bytes]) -> WasmResult<Frame> {
        let name = String::from_utf8_lossy(&argv[1]).into_owned();
        let info = self
            .executor
            .info(&name)
            .map_err(|_| WasmCommandError::NotFound(name.clone()))?;
        let meta = self.meta.lock().get(&name).cloned();
        let path = meta
            .as_ref()
            .and_then(|m| m.source_path.as_ref())
            .map(|p| p.display().to_string());
        let s = &info.stats;
        let caps: Vec<Frame> = info
            .permissions
            .capabilities
            .iter()
            .map(|c| bulk(c.name()))
            .collect();
        let exports: Vec<Frame> = info
            .exports
            .iter()
            .map(|e| {
                bulk(&format!(
                    "{} {} {}",
                    e.name,
                    e.convention.name(),
                    e.wasm_signature
                ))
            })
            .collect();
        let p = &info.permissions;
        let mut perms = Vec::new();
        perms.extend(p.allowed_keys.iter().map(|k| bulk(k)));
        perms.extend(p.denied_keys.iter().map(|k| bulk(&format!("!{k}"))));
        if p.read_only {
            perms.push(bulk("READ_ONLY"));
        }
        let fields = vec![
            ("name", bulk(&info.name)),
            ("path", path.map_or(Frame::Null, |p| bulk(&p))),
            ("capabilities", Frame::Array(caps)),
            (
                "memory_limit",
                bulk(&human_bytes(info.limits.max_memory as u64)),
            ),
            (
                "timeout_ms",
                Frame::Integer(info.limits.timeout_ms() as i64),
            ),
            (
                "fuel_limit",
                Frame::Integer(i64::try_from(info.limits.max_fuel).unwrap_or(i64::MAX)),
            ),
            ("loaded_at", bulk(&rfc3339(info.loaded_at_ms))),
            ("invocations", Frame::Integer(s.invocations as i64)),
            (
                "avg_duration_ms",
                Frame::Double(s.avg_duration.as_secs_f64() * 1000.0),
            ),
            ("errors", Frame::Integer(s.failed as i64)),
            ("exports", Frame::Array(exports)),
            ("permissions", Frame::Array(perms)),
            (
                "commands",
                Frame::Array(
                    p.allowed_commands
                        .iter()
                        .flatten()
                        .map(|c| bulk(c))
                        .collect(),
                ),
            ),
            (
                "deny_commands",
                Frame::Array(p.denied_commands.iter().map(|c| bulk(c)).collect()),
            ),
            ("sha256", bulk(&info.sha256)),
            ("module_bytes", Frame::Integer(info.module_bytes as i64)),
        ];
        Ok(map(fields))
    }

    fn stats(&self, argv: &[Bytes]) -> WasmResult<Frame> {
        if let Some(name) = argv.get(1) {
            let name = String::from_utf8_lossy(name).into_owned();
            let s = self
                .executor
                .stats(&name)
                .map_err(|_| WasmCommandError::NotFound(name))?;
            return Ok(map(vec![
                ("invocations", Frame::Integer(s.invocations as i64)),
                ("successful", Frame::Integer(s.successful as i64)),
                ("failed", Frame::Integer(s.failed as i64)),
                (
                    "avg_duration_ms",
                    Frame::Double(s.avg_duration.as_secs_f64() * 1000.0),
                ),
                (
                    "p99_duration_ms",
                    Frame::Double(s.p99_duration.as_secs_f64() * 1000.0),
                ),
                ("memory_used", bulk(&human_bytes(s.memory_used_bytes))),
                ("memory_peak", bulk(&human_bytes(s.memory_peak_bytes))),
                (
                    "fuel_consumed",
                    Frame::Integer(i64::try_from(s.fuel_consumed).unwrap_or(i64::MAX)),
                ),
                (
                    "last_invocation",
                    s.last_invocation_ms
                        .map_or(Frame::Null, |ms| bulk(&rfc3339(ms))),
                ),
                ("deferred", Frame::Integer(s.deferred as i64)),
            ]));
        }
        let names = self.executor.list();
        let (mut inv, mut ok, mut failed, mut total_ms, mut p99_ms) =
            (0u64, 0u64, 0u64, 0f64, 0f64);
        let mut last: Option<u64> = None;
        for n in &names {
            if let Ok(s) = self.executor.stats(n) {
                inv += s.invocations;
                ok += s.successful;
                failed += s.failed;
                total_ms += s.avg_duration.as_secs_f64() * 1000.0 * s.invocations as f64;
                p99_ms = p99_ms.max(s.p99_duration.as_secs_f64() * 1000.0);
                last = last.max(s.last_invocation_ms);
            }
        }
        let avg = if inv > 0 { total_ms / inv as f64 } else { 0.0 };
        Ok(map(vec![
            ("functions", Frame::Integer(names.len() as i64)),
            ("invocations", Frame::Integer(inv as i64)),
            ("successful", Frame::Integer(ok as i64)),
            ("failed", Frame::Integer(failed as i64)),
            ("avg_duration_ms", Frame::Double(avg)),
            ("max_p99_duration_ms", Frame::Double(p99_ms)),
            (
                "last_invocation",
                last.map_or(Frame::Null, |ms| bulk(&rfc3339(ms))),
            ),
        ]))
    }

    async fn update(self: &Arc<Self>, argv: &[Bytes]) -> WasmResult<Frame> {
        let name = String::from_utf8_lossy(&argv[1]).into_owned();
        let given = options::parse_options(&argv[2..], OptionsFor::Update, &is_command)?;
        let _admin = self.admin.lock().await;
        let Some(meta) = self.meta.lock().get(&name).cloned() else {
            return Err(WasmCommandError::NotFound(name));
        };
        let merged = merge_options(&meta.options, &given);
        let (permissions, limits) = self.resolve(&merged)?;
        self.executor
            .update(&name, Some(limits), Some(permissions))?;
        self.meta.lock().insert(
            name.clone(),
            FunctionMeta {
                options: merged,
                ..meta
            },
        );
        let this = Arc::clone(self);
        Self::blocking(move || this.persist(&name)).await??;
        Ok(Frame::ok())
    }

    async fn reload(self: &Arc<Self>, argv: &[Bytes]) -> WasmResult<Frame> {
        let name = String::from_utf8_lossy(&argv[1]).into_owned();
        let _admin = self.admin.lock().await;
        let Some(meta) = self.meta.lock().get(&name).cloned() else {
            return Err(WasmCommandError::NotFound(name));
        };
        let Some(path) = meta.source_path.clone() else {
            return Err(WasmCommandError::NoSourcePath(name));
        };
        let this = Arc::clone(self);
        let (n, opts) = (name.clone(), meta.options.clone());
        let module = Self::blocking(move || -> WasmResult<Bytes> {
            // The file is re-resolved so that a symlink swapped to point
            // outside the module directory is refused.
            let path = source::resolve(&this.module_dir, &path.display().to_string())?;
            let bytes = Bytes::from(source::read_module(
                &path,
                this.config.limits.max_module_bytes.0,
            )?);
            this.install(&n, &bytes, &opts, true)?;
            Ok(bytes)
        })
        .await??;
        self.meta.lock().insert(
            name.clone(),
            FunctionMeta {
                module,
                loaded_at_ms: unix_ms_now(),
                ..meta
            },
        );
        let this = Arc::clone(self);
        Self::blocking(move || this.persist(&name)).await??;
        Ok(Frame::ok())
    }
}

/// WASM.UPDATE: options given replace the stored ones, per group.
fn merge_options(old: &LoadOptions, new: &LoadOptions) -> LoadOptions {
    let mut out = old.clone();
    let permissions_given = new.key_patterns_allow.is_some()
        || !new.key_patterns_deny.is_empty()
        || new.read_only
        || new.commands_allow.is_some();
    if permissions_given {
        out.key_patterns_allow = new.key_patterns_allow.clone();
        out.key_patterns_deny = new.key_patterns_deny.clone();
        out.read_only = new.read_only;
        out.commands_allow = new.commands_allow.clone();
    }
    if !new.commands_deny.is_empty() {
        out.commands_deny = new.commands_deny.clone();
    }
    if new.capabilities.is_some() {
        out.capabilities = new.capabilities.clone();
    }
    out.memory_bytes_max = new.memory_bytes_max.or(old.memory_bytes_max);
    out.timeout_ms = new.timeout_ms.or(old.timeout_ms);
    out.fuel_max = new.fuel_max.or(old.fuel_max);
    out.replace = false;
    out
}

fn bulk(s: &str) -> Frame {
    Frame::Bulk(Bytes::copy_from_slice(s.as_bytes()))
}

/// A map reply (RESP3) that RESP2 clients see as a flat field/value array.
fn map(fields: Vec<(&'static str, Frame)>) -> Frame {
    Frame::Map(
        fields
            .into_iter()
            .map(|(k, v)| (Frame::Bulk(Bytes::from_static(k.as_bytes())), v))
            .collect(),
    )
}

/// `10MB`, `2.5MB`, `512KB`, `100B` (binary units, like the seed shows).
pub fn human_bytes(bytes: u64) -> String {
    const KB: f64 = 1024.0;
    let b = bytes as f64;
    let (value, unit) = if b >= KB * KB * KB {
        (b / (KB * KB * KB), "GB")
    } else if b >= KB * KB {
        (b / (KB * KB), "MB")
    } else if b >= KB {
        (b / KB, "KB")
    } else {
        return format!("{bytes}B");
    };
    let text = format!("{value:.1}");
    let text = text.strip_suffix(".0").unwrap_or(&text);
    format!("{text}{unit}")
}

/// RFC 3339 UTC with seconds (`2024-01-15T10:00:00Z`).
pub fn rfc3339(unix_ms: u64) -> String {
    let secs = unix_ms / 1000;
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    // Civil-from-days (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = if m <= 2 { y + 1 } else { y };
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats() {
        assert_eq!(human_bytes(10 * 1024 * 1024), "10MB");
        assert_eq!(human_bytes(2_621_440), "2.5MB");
        assert_eq!(human_bytes(512), "512B");
        assert_eq!(human_bytes(65536), "64KB");
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(1_705_312_800_000), "2024-01-15T10:00:00Z");
        assert_eq!(rfc3339(951_782_400_000), "2000-02-29T00:00:00Z");
    }

    #[test]
    fn names() {
        assert!(check_name(b"rate_limit").is_ok());
        assert!(check_name(b"a-b_9").is_ok());
        assert!(check_name(b"").is_err());
        assert!(check_name(b"a.b").is_err());
        assert!(check_name(b"../x").is_err());
        assert!(check_name(&[b'a'; 129]).is_err());
    }

    #[test]
    fn update_merges_per_group() {
        let old = LoadOptions {
            capabilities: Some(vec![CapabilityName::One(Capability::Read)]),
            timeout_ms: Some(100),
            key_patterns_allow: Some(vec![Bytes::from_static(b"user:*")]),
            ..LoadOptions::default()
        };
        let new = LoadOptions {
            timeout_ms: Some(200),
            ..LoadOptions::default()
        };
        let m = merge_options(&old, &new);
        assert_eq!(m.timeout_ms, Some(200));
        assert_eq!(m.capabilities, old.capabilities);
        assert_eq!(m.key_patterns_allow, old.key_patterns_allow);
        let new = LoadOptions {
            read_only: true,
            ..LoadOptions::default()
        };
        let m = merge_options(&old, &new);
        assert!(m.read_only);
        assert_eq!(m.key_patterns_allow, None);
    }
}
