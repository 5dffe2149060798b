//! Server configuration: `ferrite.toml`, `FERRITE_*` environment variables
//! and command-line flags, merged as defaults ← file ← env ← CLI.
//!
//! Every setting is a [`Param`] in one table ([`PARAMS`]). The file is read
//! with serde (`deny_unknown_fields` everywhere, so an unknown key is an error
//! that names it); environment variables, command-line flags and
//! `CONFIG SET` all go through [`Config::set_param`], and `CONFIG GET` through
//! [`Param::get`]. [`Config::validate`] checks ranges and cross-field rules
//! and names the offending key.
//!
//! ```
//! use ferrite_server::config::Config;
//! let mut config = Config::from_toml_str("port = 7000\n[wasm.pool]\nmax_instances = 4\n").unwrap();
//! config.set_param("maxclients", "50").unwrap();
//! assert_eq!(config.port, 7000);
//! assert_eq!(config.maxclients, 50);
//! assert_eq!(config.wasm.pool.max_instances, 4);
//! ```

use std::fmt;
use std::net::IpAddr;
use std::path::{Path, PathBuf};

use serde::de::{self, Deserializer, Visitor};
use serde::Deserialize;

/// Number of databases the keyspace has (`SELECT 0` … `SELECT 15`).
pub const DATABASES_MAX: u32 = 16;
/// Upper bound for `maxclients` (Redis's; the file descriptor limit of the
/// process applies first).
pub const MAXCLIENTS_MAX: u32 = u32::MAX;
/// Upper bound for `hz` (active expiry cycles per second), as in Redis.
pub const HZ_MAX: u32 = 500;
/// Most I/O threads (`io-threads`) a server runs.
pub const IO_THREADS_MAX: u32 = 128;
/// Upper bound for the size limits (`client-query-buffer-limit`, …), as in
/// Redis (`LLONG_MAX`).
pub const SIZE_LIMIT_MAX_BYTES: u64 = i64::MAX as u64;

/// A configuration error. Each variant names the file, key, variable or flag.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The configuration file could not be read.
    #[error("cannot read config file {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The configuration file is not valid TOML, has an unknown key or a
    /// value of the wrong type (the message names the key and line).
    #[error("config file {path}: {source}")]
    Parse {
        /// The file (`<string>` when parsed from memory).
        path: PathBuf,
        /// The TOML/serde error.
        source: Box<toml::de::Error>,
    },
    /// A value is out of range or inconsistent.
    #[error("invalid value for `{key}`: {reason}")]
    Invalid {
        /// The key, in file notation (`wasm.pool.max_instances`).
        key: String,
        /// Why.
        reason: String,
    },
    /// A parameter name that does not exist.
    #[error("unknown configuration parameter `{name}`")]
    UnknownParam {
        /// The name as given.
        name: String,
    },
    /// A `FERRITE_*` environment variable that names no parameter.
    #[error("unknown environment variable {var} (see docs/configuration.md)")]
    UnknownEnv {
        /// The variable.
        var: String,
    },
    /// A parameter that cannot be changed while the server runs.
    #[error("`{name}` cannot be changed at run time")]
    Immutable {
        /// The parameter.
        name: &'static str,
    },
    /// A `--name` flag without a value.
    #[error("missing value for flag --{flag}")]
    MissingValue {
        /// The flag.
        flag: String,
    },
    /// A command-line argument that is not a `--name value` pair.
    #[error("unexpected argument `{arg}` (parameters are given as --name value)")]
    UnexpectedArg {
        /// The argument.
        arg: String,
    },
}

/// A size in bytes. In the file it is an integer (bytes) or a string with a
/// Redis unit: `b`, `k` (1000), `kb` (1024), `m`, `mb`, `g`, `gb`, case
/// insensitive (`"10MB"`, `"1gb"`, `"512mb"`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct ByteSize(pub u64);

impl ByteSize {
    /// Parses `"10MB"`, `"1gb"`, `"4096"`, …
    ///
    /// ```
    /// use ferrite_server::config::ByteSize;
    /// assert_eq!(ByteSize::parse("10MB"), Some(ByteSize(10 * 1024 * 1024)));
    /// assert_eq!(ByteSize::parse("1k"), Some(ByteSize(1000)));
    /// assert_eq!(ByteSize::parse("ten"), None);
    /// ```
    pub fn parse(text: &str) -> Option<ByteSize> {
        let text = text.trim();
        let digits_end = text
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(text.len());
        if digits_end == 0 {
            return None;
        }
        let number: u64 = text[..digits_end].parse().ok()?;
        let multiplier: u64 = match text[digits_end..].to_ascii_lowercase().as_str() {
            "" | "b" => 1,
            "k" => 1000,
            "kb" => 1024,
            "m" => 1000 * 1000,
            "mb" => 1024 * 1024,
            "g" => 1000 * 1000 * 1000,
            "gb" => 1024 * 1024 * 1024,
            _ => return None,
        };
        number.checked_mul(multiplier).map(ByteSize)
    }

    /// The number of bytes as `usize`, saturating.
    pub fn bytes_usize(self) -> usize {
        usize::try_from(self.0).unwrap_or(usize::MAX)
    }
}

impl fmt::Display for ByteSize {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

impl<'de> Deserialize<'de> for ByteSize {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct SizeVisitor;
        impl Visitor<'_> for SizeVisitor {
            type Value = ByteSize;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a size: bytes as an integer, or a string like \"10MB\" (units b, k, kb, m, mb, g, gb)")
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<ByteSize, E> {
                u64::try_from(v)
                    .map(ByteSize)
                    .map_err(|_| E::invalid_value(de::Unexpected::Signed(v), &self))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<ByteSize, E> {
                Ok(ByteSize(v))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<ByteSize, E> {
                ByteSize::parse(v).ok_or_else(|| E::invalid_value(de::Unexpected::Str(v), &self))
            }
        }
        deserializer.deserialize_any(SizeVisitor)
    }
}

/// One client class's output limits: close the client when its pending
/// output exceeds `hard_bytes`, or stays above `soft_bytes` for `soft_secs`
/// (at once when `soft_secs` is 0). 0 bytes = no limit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BufferLimit {
    /// Hard limit, bytes.
    pub hard_bytes: u64,
    /// Soft limit, bytes.
    pub soft_bytes: u64,
    /// How long output may stay above the soft limit, seconds.
    pub soft_secs: u64,
}

/// `client-output-buffer-limit`, in Redis's syntax:
/// `normal 0 0 0 slave 268435456 67108864 60 pubsub 33554432 8388608 60`.
/// Ferrite has only normal clients; the other classes are kept for
/// compatibility.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OutputBufferLimits {
    /// Ordinary clients.
    pub normal: BufferLimit,
    /// Replicas (`slave` or `replica`).
    pub replica: BufferLimit,
    /// Pub/sub clients.
    pub pubsub: BufferLimit,
}

impl Default for OutputBufferLimits {
    fn default() -> Self {
        OutputBufferLimits {
            normal: BufferLimit {
                hard_bytes: 0,
                soft_bytes: 0,
                soft_secs: 0,
            },
            replica: BufferLimit {
                hard_bytes: 256 << 20,
                soft_bytes: 64 << 20,
                soft_secs: 60,
            },
            pubsub: BufferLimit {
                hard_bytes: 32 << 20,
                soft_bytes: 8 << 20,
                soft_secs: 60,
            },
        }
    }
}

impl OutputBufferLimits {
    /// Applies `class hard soft soft_secs` groups to `self`, with Redis's
    /// error texts.
    ///
    /// ```
    /// use ferrite_server::config::OutputBufferLimits;
    /// let mut limits = OutputBufferLimits::default();
    /// limits.apply("normal 1mb 512kb 10").unwrap();
    /// assert_eq!(limits.normal.hard_bytes, 1 << 20);
    /// assert_eq!(limits.to_string(), "normal 1048576 524288 10 slave 268435456 67108864 60 pubsub 33554432 8388608 60");
    /// ```
    pub fn apply(&mut self, text: &str) -> Result<(), String> {
        let words: Vec<&str> = text.split_whitespace().collect();
        if words.is_empty() || words.len() % 4 != 0 {
            return Err("Wrong number of arguments in buffer limit configuration.".to_owned());
        }
        let mut next = *self;
        for group in words.chunks_exact(4) {
            let class = match group[0].to_ascii_lowercase().as_str() {
                "normal" => &mut next.normal,
                "slave" | "replica" => &mut next.replica,
                "pubsub" => &mut next.pubsub,
                _ => {
                    return Err(
                        "Invalid client class specified in buffer limit configuration.".to_owned(),
                    )
                }
            };
            let bad = || {
                "Error in hard, soft or soft_seconds setting in buffer limit configuration."
                    .to_owned()
            };
            class.hard_bytes = ByteSize::parse(group[1]).ok_or_else(bad)?.0;
            class.soft_bytes = ByteSize::parse(group[2]).ok_or_else(bad)?.0;
            class.soft_secs = group[3].parse().map_err(|_| bad())?;
        }
        *self = next;
        Ok(())
    }
}

impl fmt::Display for OutputBufferLimits {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, (name, l)) in [
            ("normal", self.normal),
            ("slave", self.replica),
            ("pubsub", self.pubsub),
        ]
        .iter()
        .enumerate()
        {
            let sep = if i == 0 { "" } else { " " };
            write!(
                f,
                "{sep}{name} {} {} {}",
                l.hard_bytes, l.soft_bytes, l.soft_secs
            )?;
        }
        Ok(())
    }
}

impl<'de> Deserialize<'de> for OutputBufferLimits {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        let mut limits = OutputBufferLimits::default();
        limits.apply(&text).map_err(de::Error::custom)?;
        Ok(limits)
    }
}

/// Log verbosity: Redis's levels (`debug`, `verbose`, `notice`, `warning`)
/// plus `trace` and `error`; tracing's `info` and `warn` are accepted as
/// `notice` and `warning`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogLevel {
    /// Everything.
    Trace,
    /// Debugging detail.
    Debug,
    /// Like `debug` (Redis distinguishes them; Ferrite logs the same).
    Verbose,
    /// Normal operation (the default).
    #[serde(alias = "info")]
    Notice,
    /// Problems only.
    #[serde(alias = "warn")]
    Warning,
    /// Errors only.
    Error,
}

impl LogLevel {
    /// Parses a level name, any case.
    pub fn parse(text: &str) -> Option<LogLevel> {
        Some(match text.to_ascii_lowercase().as_str() {
            "trace" => LogLevel::Trace,
            "debug" => LogLevel::Debug,
            "verbose" => LogLevel::Verbose,
            "notice" | "info" => LogLevel::Notice,
            "warning" | "warn" => LogLevel::Warning,
            "error" => LogLevel::Error,
            _ => return None,
        })
    }

    /// The name CONFIG GET shows.
    pub fn as_str(self) -> &'static str {
        match self {
            LogLevel::Trace => "trace",
            LogLevel::Debug => "debug",
            LogLevel::Verbose => "verbose",
            LogLevel::Notice => "notice",
            LogLevel::Warning => "warning",
            LogLevel::Error => "error",
        }
    }

    /// The tracing filter directive for this level.
    pub fn filter(self) -> &'static str {
        match self {
            LogLevel::Trace => "trace",
            LogLevel::Debug | LogLevel::Verbose => "debug",
            LogLevel::Notice => "info",
            LogLevel::Warning => "warn",
            LogLevel::Error => "error",
        }
    }
}

/// Redis 7's default snapshot schedule: after 3600 s if at least 1 change,
/// 300 s and 100 changes, 60 s and 10000 changes.
pub const DEFAULT_SAVE: &str = "3600 1 300 100 60 10000";

/// Parses a `save` value into (seconds, changes) rules; `""` is none.
pub fn parse_save_rules(text: &str) -> Result<Vec<(u64, u64)>, String> {
    let words: Vec<&str> = text.split_whitespace().collect();
    if words.len() % 2 != 0 {
        return Err("Invalid save parameters".to_owned());
    }
    words
        .chunks(2)
        .map(
            |pair| match (pair[0].parse::<u64>(), pair[1].parse::<u64>()) {
                (Ok(secs), Ok(changes)) => Ok((secs, changes)),
                _ => Err("Invalid save parameters".to_owned()),
            },
        )
        .collect()
}

/// The whole configuration. Field names are the keys of `ferrite.toml`.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Address to listen on (`127.0.0.1`).
    pub bind: String,
    /// TCP port (`6379`). `0` picks a free port (it is logged).
    pub port: u16,
    /// Number of databases, 1..=16 (`16`). `SELECT` beyond it is an error.
    pub databases: u32,
    /// Password of the default user; empty = no authentication (`""`).
    pub requirepass: String,
    /// Working directory for data files (`.`).
    pub dir: PathBuf,
    /// Maximum number of connected clients (`10000`).
    pub maxclients: u32,
    /// Threads that run client connections (tokio workers), 0..=128; `0`
    /// (the default) is one per CPU core. WASM calls that can wait, compiles
    /// and persistence run on their own threads either way.
    pub io_threads: u32,
    /// Active expiry cycles per second, 1..=500 (`10`).
    pub hz: u32,
    /// Log level (`notice`).
    pub loglevel: LogLevel,
    /// A client whose unparsed input exceeds this is closed (`1gb`).
    pub client_query_buffer_limit: ByteSize,
    /// Largest bulk string a client may send (`512mb`).
    pub proto_max_bulk_len: ByteSize,
    /// Output limits per client class, Redis syntax
    /// (`"normal 0 0 0 slave 256mb 64mb 60 pubsub 32mb 8mb 60"`).
    pub client_output_buffer_limit: OutputBufferLimits,
    /// Append-only file persistence (`false`). See docs/persistence.md.
    pub appendonly: bool,
    /// When the AOF is fsynced: `always`, `everysec` or `no` (`everysec`).
    pub appendfsync: String,
    /// Base name of the AOF files (`appendonly.aof`).
    pub appendfilename: String,
    /// Directory of the AOF files inside `dir` (`appendonlydir`).
    pub appenddirname: String,
    /// Load an AOF whose last record is incomplete, dropping it (`true`).
    pub aof_load_truncated: bool,
    /// The base of a rewritten AOF is an RDB file (`true`).
    pub aof_use_rdb_preamble: bool,
    /// Rewrite the AOF when it grew by this percentage since the last
    /// rewrite; 0 disables (`100`).
    pub auto_aof_rewrite_percentage: u32,
    /// ... and is at least this big (`64mb`).
    pub auto_aof_rewrite_min_size: ByteSize,
    /// RDB snapshot schedule, Redis syntax: pairs `<seconds> <changes>`;
    /// `""` disables (`"3600 1 300 100 60 10000"`).
    pub save: String,
    /// RDB snapshot file name inside `dir` (`dump.rdb`).
    pub dbfilename: String,
    /// WebAssembly functions.
    pub wasm: WasmConfig,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            bind: "127.0.0.1".to_owned(),
            port: 6379,
            databases: DATABASES_MAX,
            requirepass: String::new(),
            dir: PathBuf::from("."),
            maxclients: 10_000,
            io_threads: 0,
            hz: 10,
            loglevel: LogLevel::Notice,
            client_query_buffer_limit: ByteSize(1 << 30),
            proto_max_bulk_len: ByteSize(512 << 20),
            client_output_buffer_limit: OutputBufferLimits::default(),
            appendonly: false,
            appendfsync: "everysec".to_owned(),
            appendfilename: "appendonly.aof".to_owned(),
            appenddirname: "appendonlydir".to_owned(),
            aof_load_truncated: true,
            aof_use_rdb_preamble: true,
            auto_aof_rewrite_percentage: 100,
            auto_aof_rewrite_min_size: ByteSize(64 << 20),
            save: DEFAULT_SAVE.to_owned(),
            dbfilename: "dump.rdb".to_owned(),
            wasm: WasmConfig::default(),
        }
    }
}

/// The `[wasm]` section. Accepts both documented schemas (`module_dir` or
/// its alias `plugins_dir`). Loaded and validated now; used by the wasm
/// runtime.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct WasmConfig {
    /// Whether WASM.* commands are available (`true`).
    pub enabled: bool,
    /// Directory of modules loaded at start-up (none by default).
    #[serde(alias = "plugins_dir")]
    pub module_dir: Option<PathBuf>,
    /// Maximum number of loaded functions (`100`).
    pub max_functions: u32,
    /// Linear memory limit of a function that sets none (`"10MB"`).
    pub default_memory_limit: ByteSize,
    /// Wall-clock limit of a call that sets none, milliseconds (`1000`).
    pub default_timeout_ms: u64,
    /// Run guests sandboxed (no ambient WASI authority) (`true`).
    pub sandbox: bool,
    /// Hard ceilings no function may exceed.
    pub limits: WasmLimits,
    /// Instance pool.
    pub pool: WasmPool,
    /// Host access.
    pub security: WasmSecurity,
    /// Capabilities granted to functions.
    pub capabilities: WasmCapabilities,
}

impl Default for WasmConfig {
    fn default() -> Self {
        WasmConfig {
            enabled: true,
            module_dir: None,
            max_functions: 100,
            default_memory_limit: ByteSize(10 << 20),
            default_timeout_ms: 1000,
            sandbox: true,
            limits: WasmLimits::default(),
            pool: WasmPool::default(),
            security: WasmSecurity::default(),
            capabilities: WasmCapabilities::default(),
        }
    }
}

/// `[wasm.limits]`: ceilings for every function.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct WasmLimits {
    /// Linear memory, bytes or a size string (`16777216`).
    pub max_memory: ByteSize,
    /// Wall-clock time of one call, seconds (`5`).
    pub max_time: u64,
    /// Fuel (roughly wasm instructions) of one call (`10000000`).
    pub max_fuel: u64,
    /// Wasm stack, KiB (`128`).
    pub max_stack: u32,
    /// Largest module WASM.LOAD accepts, bytes or a size string (`"64MB"`).
    pub max_module_bytes: ByteSize,
}

impl Default for WasmLimits {
    fn default() -> Self {
        WasmLimits {
            max_memory: ByteSize(16 << 20),
            max_time: 5,
            max_fuel: 10_000_000,
            max_stack: 128,
            max_module_bytes: ByteSize(64 << 20),
        }
    }
}

/// `[wasm.pool]`: pre-instantiated instances per function.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct WasmPool {
    /// Instances kept warm (`2`).
    pub min_instances: u32,
    /// Instances at most (`16`).
    pub max_instances: u32,
    /// Idle instances above the minimum are dropped after this (`300`).
    pub idle_timeout_secs: u64,
}

impl Default for WasmPool {
    fn default() -> Self {
        WasmPool {
            min_instances: 2,
            max_instances: 16,
            idle_timeout_secs: 300,
        }
    }
}

/// Default permission profile of a function.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PermissionProfile {
    /// Only what is granted explicitly.
    Restrictive,
    /// Everything in `[wasm.capabilities] allowed`.
    Permissive,
}

impl PermissionProfile {
    fn as_str(self) -> &'static str {
        match self {
            PermissionProfile::Restrictive => "restrictive",
            PermissionProfile::Permissive => "permissive",
        }
    }
}

/// `[wasm.security]`.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct WasmSecurity {
    /// Guests may open network connections (`false`).
    pub allow_network: bool,
    /// Guests may touch the file system (`false`).
    pub allow_filesystem: bool,
    /// `restrictive` or `permissive` (`restrictive`).
    pub default_permissions: PermissionProfile,
}

impl Default for WasmSecurity {
    fn default() -> Self {
        WasmSecurity {
            allow_network: false,
            allow_filesystem: false,
            default_permissions: PermissionProfile::Restrictive,
        }
    }
}

/// A capability a function may hold.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Capability {
    /// Read keys.
    Read,
    /// Write keys.
    Write,
    /// Delete keys.
    Delete,
    /// Outbound HTTP.
    Http,
    /// Wall-clock time.
    Time,
    /// Random numbers.
    Random,
    /// Logging.
    Log,
}

impl Capability {
    fn as_str(self) -> &'static str {
        match self {
            Capability::Read => "read",
            Capability::Write => "write",
            Capability::Delete => "delete",
            Capability::Http => "http",
            Capability::Time => "time",
            Capability::Random => "random",
            Capability::Log => "log",
        }
    }

    fn parse(text: &str) -> Option<Capability> {
        Some(match text {
            "read" => Capability::Read,
            "write" => Capability::Write,
            "delete" => Capability::Delete,
            "http" => Capability::Http,
            "time" => Capability::Time,
            "random" => Capability::Random,
            "log" => Capability::Log,
            _ => return None,
        })
    }
}

/// `[wasm.capabilities]`.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct WasmCapabilities {
    /// Granted to a new function (`["read", "log"]`).
    pub default: Vec<Capability>,
    /// The most any function may be granted (all but `http`).
    pub allowed: Vec<Capability>,
}

impl Default for WasmCapabilities {
    fn default() -> Self {
        use Capability::*;
        WasmCapabilities {
            default: vec![Read, Log],
            allowed: vec![Read, Write, Delete, Time, Random, Log],
        }
    }
}

/// One configuration parameter: its name (Redis style, as `CONFIG GET` and
/// `--name` use it; `wasm.*` ones are dotted file paths), whether `CONFIG SET`
/// may change it, and how to read and write it as text.
pub struct Param {
    /// `maxclients`, `client-query-buffer-limit`, `wasm.pool.max_instances`…
    pub name: &'static str,
    /// `CONFIG SET` may change it while the server runs.
    pub mutable: bool,
    get: fn(&Config) -> String,
    set: fn(&mut Config, &str) -> Result<(), String>,
}

impl Param {
    /// The current value as `CONFIG GET` shows it.
    pub fn get(&self, config: &Config) -> String {
        (self.get)(config)
    }

    /// The key in `ferrite.toml` notation (`client_query_buffer_limit`).
    pub fn file_key(&self) -> String {
        self.name.replace('-', "_")
    }

    /// The environment variable (`FERRITE_CLIENT_QUERY_BUFFER_LIMIT`).
    pub fn env_var(&self) -> String {
        format!(
            "FERRITE_{}",
            self.name.replace(['-', '.'], "_").to_ascii_uppercase()
        )
    }
}

fn parse_u64(text: &str) -> Result<u64, String> {
    text.trim()
        .parse()
        .map_err(|_| "argument couldn't be parsed into an integer".to_owned())
}
fn parse_u32(text: &str) -> Result<u32, String> {
    text.trim()
        .parse()
        .map_err(|_| "argument couldn't be parsed into an integer".to_owned())
}
fn parse_bool(text: &str) -> Result<bool, String> {
    match text.to_ascii_lowercase().as_str() {
        "yes" | "true" => Ok(true),
        "no" | "false" => Ok(false),
        _ => Err("argument must be 'yes' or 'no'".to_owned()),
    }
}
fn parse_size(text: &str) -> Result<ByteSize, String> {
    ByteSize::parse(text).ok_or_else(|| "argument must be a memory value".to_owned())
}
fn yes_no(value: bool) -> String {
    if value { "yes" } else { "no" }.to_owned()
}
fn parse_caps(text: &str) -> Result<Vec<Capability>, String> {
    text.split([',', ' '])
        .filter(|s| !s.is_empty())
        .map(|s| Capability::parse(s).ok_or_else(|| format!("unknown capability '{s}'")))
        .collect()
}
fn caps_text(caps: &[Capability]) -> String {
    caps.iter()
        .map(|c| c.as_str())
        .collect::<Vec<_>>()
        .join(",")
}

macro_rules! param {
    ($name:literal, $mutable:expr, |$c:ident| $get:expr, |$cs:ident, $v:ident| $set:expr) => {
        Param {
            name: $name,
            mutable: $mutable,
            get: |$c: &Config| $get,
            set: |$cs: &mut Config, $v: &str| {
                $set;
                Ok(())
            },
        }
    };
}

/// Every parameter, in `CONFIG GET *` order.
pub static PARAMS: &[Param] = &[
    param!("bind", false, |c| c.bind.clone(), |c, v| c.bind =
        v.trim().to_owned()),
    param!("port", false, |c| c.port.to_string(), |c, v| c.port =
        v.trim().parse().map_err(|_| {
            "argument couldn't be parsed into an integer".to_owned()
        })?),
    param!("databases", false, |c| c.databases.to_string(), |c, v| c
        .databases =
        parse_u32(v)?),
    param!("requirepass", true, |c| c.requirepass.clone(), |c, v| c
        .requirepass =
        v.to_owned()),
    param!("dir", false, |c| c.dir.display().to_string(), |c, v| c
        .dir =
        PathBuf::from(v)),
    param!("maxclients", true, |c| c.maxclients.to_string(), |c, v| c
        .maxclients =
        parse_u32(v)?),
    param!("io-threads", false, |c| c.io_threads.to_string(), |c, v| {
        c.io_threads = parse_u32(v)?
    }),
    param!("hz", true, |c| c.hz.to_string(), |c, v| c.hz =
        parse_u32(v)?.clamp(1, HZ_MAX)),
    param!(
        "loglevel",
        true,
        |c| c.loglevel.as_str().to_owned(),
        |c, v| c.loglevel = LogLevel::parse(v).ok_or_else(|| {
            "argument(s) must be one of the following: debug, verbose, notice, warning".to_owned()
        })?
    ),
    param!(
        "client-query-buffer-limit",
        true,
        |c| c.client_query_buffer_limit.to_string(),
        |c, v| c.client_query_buffer_limit = parse_size(v)?
    ),
    param!(
        "proto-max-bulk-len",
        true,
        |c| c.proto_max_bulk_len.to_string(),
        |c, v| c.proto_max_bulk_len = parse_size(v)?
    ),
    param!(
        "client-output-buffer-limit",
        true,
        |c| c.client_output_buffer_limit.to_string(),
        |c, v| c.client_output_buffer_limit.apply(v)?
    ),
    param!("appendonly", true, |c| yes_no(c.appendonly), |c, v| c
        .appendonly =
        parse_bool(v)?),
    param!("appendfsync", true, |c| c.appendfsync.clone(), |c, v| c
        .appendfsync =
        v.trim().to_ascii_lowercase()),
    param!(
        "appendfilename",
        false,
        |c| c.appendfilename.clone(),
        |c, v| c.appendfilename = v.trim().to_owned()
    ),
    param!(
        "appenddirname",
        false,
        |c| c.appenddirname.clone(),
        |c, v| c.appenddirname = v.trim().to_owned()
    ),
    param!(
        "aof-load-truncated",
        true,
        |c| yes_no(c.aof_load_truncated),
        |c, v| c.aof_load_truncated = parse_bool(v)?
    ),
    param!(
        "aof-use-rdb-preamble",
        true,
        |c| yes_no(c.aof_use_rdb_preamble),
        |c, v| c.aof_use_rdb_preamble = parse_bool(v)?
    ),
    param!(
        "auto-aof-rewrite-percentage",
        true,
        |c| c.auto_aof_rewrite_percentage.to_string(),
        |c, v| c.auto_aof_rewrite_percentage = parse_u32(v)?
    ),
    param!(
        "auto-aof-rewrite-min-size",
        true,
        |c| c.auto_aof_rewrite_min_size.0.to_string(),
        |c, v| c.auto_aof_rewrite_min_size = parse_size(v)?
    ),
    param!("save", true, |c| c.save.clone(), |c, v| c.save =
        v.trim().to_owned()),
    param!("dbfilename", true, |c| c.dbfilename.clone(), |c, v| c
        .dbfilename =
        v.trim().to_owned()),
    param!("wasm.enabled", false, |c| yes_no(c.wasm.enabled), |c, v| {
        c.wasm.enabled = parse_bool(v)?
    }),
    param!(
        "wasm.module_dir",
        false,
        |c| c
            .wasm
            .module_dir
            .as_ref()
            .map(|p| p.display().to_string())
            .unwrap_or_default(),
        |c, v| c.wasm.module_dir = (!v.is_empty()).then(|| PathBuf::from(v))
    ),
    param!(
        "wasm.max_functions",
        false,
        |c| c.wasm.max_functions.to_string(),
        |c, v| c.wasm.max_functions = parse_u32(v)?
    ),
    param!(
        "wasm.default_memory_limit",
        false,
        |c| c.wasm.default_memory_limit.to_string(),
        |c, v| c.wasm.default_memory_limit = parse_size(v)?
    ),
    param!(
        "wasm.default_timeout_ms",
        false,
        |c| c.wasm.default_timeout_ms.to_string(),
        |c, v| c.wasm.default_timeout_ms = parse_u64(v)?
    ),
    param!("wasm.sandbox", false, |c| yes_no(c.wasm.sandbox), |c, v| {
        c.wasm.sandbox = parse_bool(v)?
    }),
    param!(
        "wasm.limits.max_memory",
        false,
        |c| c.wasm.limits.max_memory.to_string(),
        |c, v| c.wasm.limits.max_memory = parse_size(v)?
    ),
    param!(
        "wasm.limits.max_time",
        false,
        |c| c.wasm.limits.max_time.to_string(),
        |c, v| c.wasm.limits.max_time = parse_u64(v)?
    ),
    param!(
        "wasm.limits.max_fuel",
        false,
        |c| c.wasm.limits.max_fuel.to_string(),
        |c, v| c.wasm.limits.max_fuel = parse_u64(v)?
    ),
    param!(
        "wasm.limits.max_module_bytes",
        false,
        |c| c.wasm.limits.max_module_bytes.to_string(),
        |c, v| c.wasm.limits.max_module_bytes = parse_size(v)?
    ),
    param!(
        "wasm.limits.max_stack",
        false,
        |c| c.wasm.limits.max_stack.to_string(),
        |c, v| c.wasm.limits.max_stack = parse_u32(v)?
    ),
    param!(
        "wasm.pool.min_instances",
        false,
        |c| c.wasm.pool.min_instances.to_string(),
        |c, v| c.wasm.pool.min_instances = parse_u32(v)?
    ),
    param!(
        "wasm.pool.max_instances",
        false,
        |c| c.wasm.pool.max_instances.to_string(),
        |c, v| c.wasm.pool.max_instances = parse_u32(v)?
    ),
    param!(
        "wasm.pool.idle_timeout_secs",
        false,
        |c| c.wasm.pool.idle_timeout_secs.to_string(),
        |c, v| c.wasm.pool.idle_timeout_secs = parse_u64(v)?
    ),
    param!(
        "wasm.security.allow_network",
        false,
        |c| yes_no(c.wasm.security.allow_network),
        |c, v| c.wasm.security.allow_network = parse_bool(v)?
    ),
    param!(
        "wasm.security.allow_filesystem",
        false,
        |c| yes_no(c.wasm.security.allow_filesystem),
        |c, v| c.wasm.security.allow_filesystem = parse_bool(v)?
    ),
    param!(
        "wasm.security.default_permissions",
        false,
        |c| c.wasm.security.default_permissions.as_str().to_owned(),
        |c, v| c.wasm.security.default_permissions = match v.trim() {
            "restrictive" => PermissionProfile::Restrictive,
            "permissive" => PermissionProfile::Permissive,
            _ => return Err("argument must be 'restrictive' or 'permissive'".to_owned()),
        }
    ),
    param!(
        "wasm.capabilities.default",
        false,
        |c| caps_text(&c.wasm.capabilities.default),
        |c, v| c.wasm.capabilities.default = parse_caps(v)?
    ),
    param!(
        "wasm.capabilities.allowed",
        false,
        |c| caps_text(&c.wasm.capabilities.allowed),
        |c, v| c.wasm.capabilities.allowed = parse_caps(v)?
    ),
];

/// Looks a parameter up by its exact name, any case, as CONFIG GET/SET do.
pub fn find_param_exact(name: &str) -> Option<&'static Param> {
    PARAMS.iter().find(|p| p.name.eq_ignore_ascii_case(name))
}

/// Looks a parameter up by name: Redis style (`client-query-buffer-limit`),
/// file style (`client_query_buffer_limit`), any case.
pub fn find_param(name: &str) -> Option<&'static Param> {
    let wanted = name.to_ascii_lowercase().replace('_', "-");
    PARAMS.iter().find(|p| p.name.replace('_', "-") == wanted)
}

fn invalid(key: &str, reason: impl Into<String>) -> ConfigError {
    ConfigError::Invalid {
        key: key.to_owned(),
        reason: reason.into(),
    }
}

impl Config {
    /// Parses `ferrite.toml` text (defaults for what it leaves out) and
    /// validates it.
    pub fn from_toml_str(text: &str) -> Result<Config, ConfigError> {
        Self::parse_toml(text, Path::new("<string>")).and_then(|c| c.validate().map(|()| c))
    }

    fn parse_toml(text: &str, path: &Path) -> Result<Config, ConfigError> {
        toml::from_str(text).map_err(|source| ConfigError::Parse {
            path: path.to_owned(),
            source: Box::new(source),
        })
    }

    /// Reads a config file (not validated yet: env and flags come on top).
    pub fn from_file(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_owned(),
            source,
        })?;
        Self::parse_toml(&text, path)
    }

    /// Sets one parameter from text. `name` may use dashes or underscores.
    /// Does not validate ranges; call [`Config::validate`] after.
    pub fn set_param(&mut self, name: &str, value: &str) -> Result<&'static Param, ConfigError> {
        let param = find_param(name).ok_or_else(|| ConfigError::UnknownParam {
            name: name.to_owned(),
        })?;
        (param.set)(self, value).map_err(|reason| invalid(&param.file_key(), reason))?;
        Ok(param)
    }

    /// Applies `FERRITE_*` variables from `vars` (pass `std::env::vars()`).
    /// `FERRITE_CONFIG` (the file) is skipped; any other `FERRITE_*` that
    /// names no parameter is an error.
    pub fn apply_env(
        &mut self,
        vars: impl IntoIterator<Item = (String, String)>,
    ) -> Result<(), ConfigError> {
        for (var, value) in vars {
            if !var.starts_with("FERRITE_") || var == "FERRITE_CONFIG" {
                continue;
            }
            let param = PARAMS
                .iter()
                .find(|p| p.env_var() == var)
                .ok_or_else(|| ConfigError::UnknownEnv { var: var.clone() })?;
            (param.set)(self, &value).map_err(|reason| invalid(&param.file_key(), reason))?;
        }
        Ok(())
    }

    /// Applies Redis-style `--name value` pairs (`--maxclients 100`).
    pub fn apply_args(&mut self, args: &[String]) -> Result<(), ConfigError> {
        let mut rest = args.iter();
        while let Some(arg) = rest.next() {
            let Some(name) = arg.strip_prefix("--") else {
                return Err(ConfigError::UnexpectedArg { arg: arg.clone() });
            };
            let value = rest.next().ok_or_else(|| ConfigError::MissingValue {
                flag: name.to_owned(),
            })?;
            self.set_param(name, value)?;
        }
        Ok(())
    }

    /// Checks ranges and cross-field rules; the error names the key.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.bind.parse::<IpAddr>().is_err() {
            return Err(invalid(
                "bind",
                format!("'{}' is not an IP address", self.bind),
            ));
        }
        if !(1..=DATABASES_MAX).contains(&self.databases) {
            return Err(invalid(
                "databases",
                format!("must be between 1 and {DATABASES_MAX}"),
            ));
        }
        if self.io_threads > IO_THREADS_MAX {
            return Err(invalid(
                "io_threads",
                format!("must be between 0 (one per core) and {IO_THREADS_MAX}"),
            ));
        }
        if !(1..=MAXCLIENTS_MAX).contains(&self.maxclients) {
            return Err(invalid(
                "maxclients",
                format!("argument must be between 1 and {MAXCLIENTS_MAX} inclusive"),
            ));
        }
        if !(1..=HZ_MAX).contains(&self.hz) {
            return Err(invalid(
                "hz",
                format!("argument must be between 1 and {HZ_MAX} inclusive"),
            ));
        }
        if self.requirepass.len() > 512 {
            return Err(invalid("requirepass", "longer than 512 bytes"));
        }
        for (key, size, min) in [
            (
                "client_query_buffer_limit",
                self.client_query_buffer_limit,
                1024 * 1024,
            ),
            ("proto_max_bulk_len", self.proto_max_bulk_len, 1024 * 1024),
        ] {
            if size.0 > SIZE_LIMIT_MAX_BYTES || size.0 < min {
                return Err(invalid(
                    key,
                    format!("argument must be between {min} and {SIZE_LIMIT_MAX_BYTES} inclusive"),
                ));
            }
        }
        if !matches!(self.appendfsync.as_str(), "always" | "everysec" | "no") {
            return Err(invalid(
                "appendfsync",
                "argument(s) must be one of the following: always, everysec, no",
            ));
        }
        for (key, name) in [
            ("appendfilename", &self.appendfilename),
            ("appenddirname", &self.appenddirname),
            ("dbfilename", &self.dbfilename),
        ] {
            if name.is_empty() || name.contains('/') || name == "." || name == ".." {
                return Err(invalid(key, "must be a file name, not a path"));
            }
        }
        if !self.aof_use_rdb_preamble {
            return Err(invalid(
                "aof_use_rdb_preamble",
                "'no' (a RESP base file) is not implemented: rewrites write an RDB base \
                 (RESP bases written by Redis load fine)",
            ));
        }
        if let Err(reason) = parse_save_rules(&self.save) {
            return Err(invalid("save", reason));
        }
        self.wasm.validate()
    }
}

impl WasmConfig {
    /// Checks the `[wasm]` section; the error names the key.
    pub fn validate(&self) -> Result<(), ConfigError> {
        const MEMORY_MAX_BYTES: u64 = 4 << 30; // wasm32 address space
        let limits = &self.limits;
        if !(1..=100_000).contains(&self.max_functions) {
            return Err(invalid(
                "wasm.max_functions",
                "must be between 1 and 100000",
            ));
        }
        if limits.max_memory.0 < 65536 || limits.max_memory.0 > MEMORY_MAX_BYTES {
            return Err(invalid(
                "wasm.limits.max_memory",
                "must be between 64KB (one wasm page) and 4GB",
            ));
        }
        if self.default_memory_limit.0 < 65536 || self.default_memory_limit > limits.max_memory {
            return Err(invalid(
                "wasm.default_memory_limit",
                format!(
                    "must be between 64KB and wasm.limits.max_memory ({} bytes)",
                    limits.max_memory
                ),
            ));
        }
        if !(1..=3600).contains(&limits.max_time) {
            return Err(invalid(
                "wasm.limits.max_time",
                "must be between 1 and 3600 seconds",
            ));
        }
        if self.default_timeout_ms == 0 || self.default_timeout_ms > limits.max_time * 1000 {
            return Err(invalid(
                "wasm.default_timeout_ms",
                format!(
                    "must be between 1 and wasm.limits.max_time ({} s) in milliseconds",
                    limits.max_time
                ),
            ));
        }
        if limits.max_fuel == 0 {
            return Err(invalid("wasm.limits.max_fuel", "must be at least 1"));
        }
        if !(16..=65536).contains(&limits.max_stack) {
            return Err(invalid(
                "wasm.limits.max_stack",
                "must be between 16 and 65536 KiB",
            ));
        }
        if limits.max_module_bytes.0 == 0
            || limits.max_module_bytes.0 > ferrite_wasm::MODULE_BYTES_MAX as u64
        {
            return Err(invalid(
                "wasm.limits.max_module_bytes",
                format!(
                    "must be between 1 and {} bytes",
                    ferrite_wasm::MODULE_BYTES_MAX
                ),
            ));
        }
        if !(1..=1024).contains(&self.pool.max_instances) {
            return Err(invalid(
                "wasm.pool.max_instances",
                "must be between 1 and 1024",
            ));
        }
        if self.pool.min_instances > self.pool.max_instances {
            return Err(invalid(
                "wasm.pool.min_instances",
                "must not exceed wasm.pool.max_instances",
            ));
        }
        if self.pool.idle_timeout_secs > 86_400 {
            return Err(invalid(
                "wasm.pool.idle_timeout_secs",
                "must be at most 86400",
            ));
        }
        if let Some(cap) = self
            .capabilities
            .default
            .iter()
            .find(|c| !self.capabilities.allowed.contains(c))
        {
            return Err(invalid(
                "wasm.capabilities.default",
                format!("'{}' is not in wasm.capabilities.allowed", cap.as_str()),
            ));
        }
        let wants_http = self.capabilities.allowed.contains(&Capability::Http);
        if wants_http && !self.security.allow_network {
            return Err(invalid(
                "wasm.capabilities.allowed",
                "'http' requires wasm.security.allow_network = true",
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(text: &str) -> String {
        Config::from_toml_str(text).unwrap_err().to_string()
    }

    #[test]
    fn defaults_are_valid() {
        let config = Config::from_toml_str("").unwrap();
        assert_eq!(config.bind, "127.0.0.1");
        assert_eq!(config.port, 6379);
        assert_eq!(config.databases, 16);
        assert_eq!(config.io_threads, 0);
        assert_eq!(config.client_query_buffer_limit, ByteSize(1 << 30));
        assert_eq!(config.wasm.default_memory_limit, ByteSize(10 << 20));
    }

    #[test]
    fn unknown_keys_are_named() {
        assert!(err("prot = 1").contains("prot"), "{}", err("prot = 1"));
        assert!(err("[wasm]\nfoo = 1").contains("foo"));
        assert!(err("[wasm.pool]\nmax = 1").contains("max"));
        assert!(err("[wasm.limits]\nmax_memroy = 1").contains("max_memroy"));
    }

    #[test]
    fn bad_values_are_named() {
        assert!(err("port = \"x\"").contains("port"));
        assert!(err("port = 70000").contains("port"));
        assert!(err("databases = 17").contains("`databases`"));
        assert!(err("io_threads = 129").contains("`io_threads`"));
        assert!(err("io_threads = -1").contains("io_threads"));
        assert!(err("bind = \"nowhere\"").contains("`bind`"));
        assert!(err("client_query_buffer_limit = \"1XB\"").contains("client_query_buffer_limit"));
        assert!(
            err("[wasm]\ndefault_memory_limit = \"32MB\"").contains("wasm.default_memory_limit")
        );
        assert!(err("[wasm.pool]\nmin_instances = 20").contains("wasm.pool.min_instances"));
        assert!(
            err("[wasm.security]\ndefault_permissions = \"open\"").contains("default_permissions")
        );
        assert!(err("[wasm.capabilities]\ndefault = [\"teleport\"]").contains("default"));
        assert!(
            err("[wasm.capabilities]\ndefault = [\"write\"]\nallowed = [\"read\"]")
                .contains("wasm.capabilities.default")
        );
        assert!(err("appendfsync = \"sometimes\"").contains("appendfsync"));
        assert!(err("save = \"60\"").contains("save"));
        assert!(err("dbfilename = \"a/b\"").contains("dbfilename"));
    }

    #[test]
    fn both_wasm_schemas_load() {
        let a = Config::from_toml_str(
            "[wasm]\nenabled = true\nplugins_dir = \"/var/lib/ferrite/plugins\"\nmax_functions = 100\n\
             default_memory_limit = \"10MB\"\ndefault_timeout_ms = 1000\nsandbox = true\n\
             [wasm.capabilities]\ndefault = [\"read\", \"log\"]\n\
             allowed = [\"read\", \"write\", \"delete\", \"time\", \"random\", \"log\"]\n",
        )
        .unwrap();
        assert_eq!(
            a.wasm.module_dir.as_deref(),
            Some(Path::new("/var/lib/ferrite/plugins"))
        );
        let b = Config::from_toml_str(
            "[wasm]\nenabled = true\nmodule_dir = \"/opt/ferrite/wasm\"\n[wasm.limits]\nmax_memory = 16777216\n\
             max_time = 5\nmax_fuel = 10000000\nmax_stack = 128\n[wasm.pool]\nmin_instances = 2\n\
             max_instances = 16\nidle_timeout_secs = 300\n[wasm.security]\nallow_network = false\n\
             allow_filesystem = false\ndefault_permissions = \"restrictive\"\n",
        )
        .unwrap();
        assert_eq!(b.wasm.limits.max_fuel, 10_000_000);
        assert!(err("[wasm]\nmodule_dir = \"a\"\nplugins_dir = \"b\"").contains("module_dir"));
    }

    #[test]
    fn env_and_args_apply_in_order() {
        let mut config = Config::from_toml_str("port = 7000\nmaxclients = 10").unwrap();
        config
            .apply_env([
                ("FERRITE_PORT".to_owned(), "7001".to_owned()),
                ("FERRITE_WASM_POOL_MAX_INSTANCES".to_owned(), "8".to_owned()),
                ("PATH".to_owned(), "/bin".to_owned()),
            ])
            .unwrap();
        assert_eq!(config.port, 7001);
        assert_eq!(config.maxclients, 10);
        assert_eq!(config.wasm.pool.max_instances, 8);
        config
            .apply_args(&[
                "--port".into(),
                "7002".into(),
                "--client-query-buffer-limit".into(),
                "2mb".into(),
            ])
            .unwrap();
        assert_eq!(config.port, 7002);
        assert_eq!(config.client_query_buffer_limit, ByteSize(2 << 20));
        let unknown = config
            .apply_env([("FERRITE_PROT".to_owned(), "1".to_owned())])
            .unwrap_err();
        assert!(unknown.to_string().contains("FERRITE_PROT"));
        let bad = config
            .apply_args(&["--maxclients".into(), "many".into()])
            .unwrap_err();
        assert!(bad.to_string().contains("maxclients"));
        assert!(config
            .apply_args(&["--nope".into(), "1".into()])
            .unwrap_err()
            .to_string()
            .contains("nope"));
        assert!(matches!(
            config.apply_args(&["--port".into()]),
            Err(ConfigError::MissingValue { .. })
        ));
    }

    #[test]
    fn every_param_round_trips() {
        let defaults = Config::default();
        for param in PARAMS {
            let mut config = Config::default();
            let value = param.get(&defaults);
            config
                .set_param(param.name, &value)
                .unwrap_or_else(|e| panic!("{}: {e}", param.name));
            assert_eq!(param.get(&config), value, "{}", param.name);
            assert!(find_param(&param.file_key()).is_some());
        }
    }
}
