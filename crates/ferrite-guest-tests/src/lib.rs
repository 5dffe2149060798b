//! Test harness for the guest examples: loads the modules that
//! `scripts/build-guests.sh` put in `target/guests/` into a
//! [`ferrite_wasm::WasmExecutor`] over an embedded [`ferrite_store::Store`]
//! and calls them the way the server does.
//!
//! A missing module is a test failure that says to run the build script:
//! the tests never build guests themselves (that needs Rust 1.63, clang, Go
//! and npm, which `scripts/build-guests.sh` sets up).

use std::path::PathBuf;
use std::sync::Arc;

use bytes::Bytes;
use ferrite_protocol::Frame;
use ferrite_store::{Store, StoreConfig};
use ferrite_wasm::{
    CallContext, Capabilities, Capability, FunctionPermissions, LoadOptions, WasmError,
    WasmExecutor, WasmValue,
};

/// Where `scripts/build-guests.sh` installs the modules.
pub fn guests_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/guests")
}

/// The bytes of `target/guests/<file>.wasm`; panics with instructions if missing.
pub fn guest_bytes(file: &str) -> Vec<u8> {
    let path = guests_dir().join(format!("{file}.wasm"));
    match std::fs::read(&path) {
        Ok(bytes) => bytes,
        Err(e) => panic!(
            "guest module {} is missing ({e}): run scripts/build-guests.sh first \
             (it builds every SDK example into target/guests/)",
            path.display()
        ),
    }
}

/// Capabilities from names (`read`, `write`, `delete`, `time`, `random`, `log`, `http`).
pub fn caps(names: &[&str]) -> Capabilities {
    let list: Vec<Capability> = names
        .iter()
        .map(|n| match *n {
            "read" => Capability::Read,
            "write" => Capability::Write,
            "delete" => Capability::Delete,
            "time" => Capability::Time,
            "random" => Capability::Random,
            "log" => Capability::Log,
            "http" => Capability::Http,
            other => panic!("unknown capability {other}"),
        })
        .collect();
    Capabilities::from_list(&list)
}

/// An embedded store plus an executor over it.
pub struct Harness {
    /// The keyspace the functions run against.
    pub store: Arc<Store>,
    /// The runtime.
    pub executor: WasmExecutor,
}

impl Default for Harness {
    fn default() -> Self {
        Self::new()
    }
}

impl Harness {
    /// A fresh store and executor with default limits.
    pub fn new() -> Harness {
        let store = Arc::new(Store::new(StoreConfig::default()));
        let executor = WasmExecutor::builder()
            .keyspace(store.clone())
            .build()
            .expect("executor builds with default configuration");
        Harness { store, executor }
    }

    /// Loads `target/guests/<file>.wasm` as `name` with exactly `capabilities` on every key.
    pub fn load(&self, name: &str, file: &str, capabilities: &[&str]) {
        let permissions = FunctionPermissions::with_capabilities_only(caps(capabilities));
        self.executor
            .load_with(
                name,
                &guest_bytes(file),
                LoadOptions {
                    permissions: Some(permissions),
                    ..LoadOptions::default()
                },
            )
            .unwrap_or_else(|e| panic!("loading {file}.wasm as {name}: {}", e.reply_text()));
    }

    /// Runs a data command directly on the store (db 0), e.g. to seed keys.
    pub fn cmd(&self, argv: &[&str]) -> Frame {
        let argv: Vec<Bytes> = argv
            .iter()
            .map(|a| Bytes::copy_from_slice(a.as_bytes()))
            .collect();
        match self.store.execute(0, &argv) {
            Ok(frame) => frame,
            Err(_) => {
                panic!("store command {argv:?} blocked: no call should hold keys between tests")
            }
        }
    }

    /// Calls `module[.export]` as `WASM.CALL f KEYS … ARGS …`: the call holds
    /// exactly `keys` (none if empty). Errors come back as the client's error text.
    pub fn call(&self, function: &str, keys: &[&str], args: &[&str]) -> Result<WasmValue, String> {
        self.call_with(function, keys, args, Some(keys.len()))
    }

    /// Calls `module[.export]` as `WASM.CALL f arg …` (no KEYS): the call
    /// takes the keyspace lazily at its first key access.
    pub fn call_lazy(&self, function: &str, args: &[&str]) -> Result<WasmValue, String> {
        self.call_with(function, &[], args, None)
    }

    fn call_with(
        &self,
        function: &str,
        keys: &[&str],
        args: &[&str],
        num_keys: Option<usize>,
    ) -> Result<WasmValue, String> {
        let (module, entry) = function.split_once('.').unwrap_or((function, function));
        let mut values: Vec<WasmValue> = keys
            .iter()
            .map(|k| WasmValue::Bytes(k.as_bytes().to_vec()))
            .collect();
        values.extend(args.iter().map(|a| WasmValue::Bytes(a.as_bytes().to_vec())));
        let context = CallContext {
            num_keys,
            ..CallContext::default()
        };
        self.executor
            .call(module, entry, values, Some(context))
            .map_err(|e: WasmError| e.reply_text())
    }

    /// [`call`](Self::call) that must succeed with an integer.
    pub fn call_int(&self, function: &str, keys: &[&str], args: &[&str]) -> i64 {
        match self.call(function, keys, args) {
            Ok(WasmValue::I64(v)) => v,
            Ok(WasmValue::I32(v)) => i64::from(v),
            other => panic!("{function} {keys:?} {args:?}: expected an integer, got {other:?}"),
        }
    }

    /// [`call`](Self::call) that must succeed with a bulk string.
    pub fn call_text(&self, function: &str, keys: &[&str], args: &[&str]) -> String {
        match self.call(function, keys, args) {
            Ok(WasmValue::Bytes(b)) => String::from_utf8(b).expect("UTF-8 reply"),
            Ok(WasmValue::String(s)) => s,
            other => panic!("{function} {keys:?} {args:?}: expected a bulk string, got {other:?}"),
        }
    }

    /// [`call`](Self::call) that must fail; returns the error reply text.
    pub fn call_err(&self, function: &str, keys: &[&str], args: &[&str]) -> String {
        match self.call(function, keys, args) {
            Err(text) => text,
            Ok(v) => panic!("{function} {keys:?} {args:?}: expected an error reply, got {v:?}"),
        }
    }

    /// [`call_lazy`](Self::call_lazy) that must succeed with a bulk string.
    pub fn call_text_lazy(&self, function: &str, args: &[&str]) -> String {
        match self.call_lazy(function, args) {
            Ok(WasmValue::Bytes(b)) => String::from_utf8(b).expect("UTF-8 reply"),
            Ok(WasmValue::String(s)) => s,
            other => panic!("{function} {args:?}: expected a bulk string, got {other:?}"),
        }
    }

    /// [`call_lazy`](Self::call_lazy) that must fail; returns the error reply text.
    pub fn call_err_lazy(&self, function: &str, args: &[&str]) -> String {
        match self.call_lazy(function, args) {
            Err(text) => text,
            Ok(v) => panic!("{function} {args:?}: expected an error reply, got {v:?}"),
        }
    }

    /// GET `key` from the store: `None` for a missing key.
    pub fn get(&self, key: &str) -> Option<String> {
        match self.cmd(&["GET", key]) {
            Frame::Bulk(b) => Some(String::from_utf8(b.to_vec()).expect("UTF-8 value")),
            Frame::Null => None,
            other => panic!("GET {key}: {other:?}"),
        }
    }
}

/// Parses JSON text, panicking with the text on failure.
pub fn json(text: &str) -> serde_json::Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"))
}

/// Today's civil date (UTC) from the system clock: (year, month, day).
pub fn today_utc() -> (i64, u32, u32) {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock after 1970")
        .as_secs();
    civil_from_days(i64::try_from(secs / 86_400).expect("days fit i64"))
}

/// Days since 1970-01-01 → (year, month, day) (Howard Hinnant's algorithm).
pub fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = u32::try_from(doy - (153 * mp + 2) / 5 + 1).expect("day in 1..=31");
    let month = u32::try_from(if mp < 10 { mp + 3 } else { mp - 9 }).expect("month in 1..=12");
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}
