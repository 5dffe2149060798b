//! Functions persisted with the data (docs/persistence.md, "Functions").
//!
//! Every change is logged to the AOF as its effect, after it happened:
//!
//! * LOAD / LOADB / UPDATE / RELOAD → `WASM.LOADB <name> <module bytes>
//!   REPLACE <canonical options>` (the function's whole definition);
//! * UNLOAD → `WASM.UNLOAD <name>`.
//!
//! Replay ([`WasmService::apply_logged`]) installs or removes the function
//! and rewrites its catalog file; both records are idempotent (a rewrite's
//! snapshot may already hold a change also logged after the cut).
//! Snapshots carry every function as its catalog record
//! ([`WasmService::dump_records`] / [`WasmService::restore_records`]).

use std::path::PathBuf;
use std::sync::Arc;

use bytes::Bytes;
use ferrite_store::{Effect, EffectSink};

use super::catalog::{self, Record};
use super::options::{self, LoadOptions, OptionsFor};
use super::{is_command, FunctionMeta, WasmService};

impl WasmService {
    /// Sets where function changes are logged (once, at start-up).
    pub fn set_log(&self, sink: Arc<dyn EffectSink>) {
        let _ = self.log.set(sink);
    }

    fn log(&self, argv: Vec<Bytes>) {
        if let Some(sink) = self.log.get() {
            if sink.enabled() {
                sink.append(&[Effect { db: 0, argv }]);
            }
        }
    }

    pub(super) fn log_loaded(&self, record: &Record) {
        let mut argv = vec![
            Bytes::from_static(b"WASM.LOADB"),
            Bytes::copy_from_slice(record.name.as_bytes()),
            record.module.clone(),
            Bytes::from_static(b"REPLACE"),
        ];
        argv.extend(record.options.iter().cloned());
        self.log(argv);
    }

    pub(super) fn log_unloaded(&self, name: &str) {
        self.log(vec![
            Bytes::from_static(b"WASM.UNLOAD"),
            Bytes::copy_from_slice(name.as_bytes()),
        ]);
    }

    /// Replays a logged record (blocking: compiles). Errors are texts for
    /// the loader's message.
    pub fn apply_logged(&self, argv: &[Bytes]) -> Result<(), String> {
        let name = String::from_utf8_lossy(argv.get(1).map_or(&b""[..], |a| a)).into_owned();
        match argv[0].to_ascii_lowercase().as_slice() {
            b"wasm.loadb" if argv.len() >= 3 => {
                let opts = options::parse_options(&argv[3..], OptionsFor::Load, &is_command)
                    .map_err(|e| format!("function '{name}': bad options: {e}"))?;
                let source_path = self
                    .meta
                    .lock()
                    .get(&name)
                    .filter(|m| m.module == argv[2])
                    .and_then(|m| m.source_path.clone());
                self.restore_one(Record {
                    name,
                    loaded_at_ms: super::unix_ms_now(),
                    source_path: source_path.map(|p| p.display().to_string()),
                    module: argv[2].clone(),
                    options: opts.to_args(),
                })
            }
            b"wasm.unload" if argv.len() == 2 => {
                if self.executor.exists(&name) {
                    self.executor
                        .unload(&name)
                        .map_err(|e| format!("function '{name}': {}", e.reply_text()))?;
                }
                self.meta.lock().remove(&name);
                catalog::remove(&self.data_dir, &name).map_err(|e| e.to_string())
            }
            _ => Err("not a function record (WASM.LOADB or WASM.UNLOAD)".to_owned()),
        }
    }

    /// Installs `record` (replacing any function of that name) and writes
    /// its catalog file.
    fn restore_one(&self, record: Record) -> Result<(), String> {
        let name = record.name.clone();
        let opts: LoadOptions =
            options::parse_options(&record.options, OptionsFor::Load, &is_command)
                .map_err(|e| format!("function '{name}': bad options: {e}"))?;
        self.install(&name, &record.module, &opts, true)
            .map_err(|e| format!("function '{name}' failed to load: {e}"))?;
        self.meta.lock().insert(
            name.clone(),
            FunctionMeta {
                module: record.module.clone(),
                source_path: record.source_path.clone().map(PathBuf::from),
                options: opts,
                loaded_at_ms: record.loaded_at_ms,
            },
        );
        catalog::save(&self.data_dir, &record).map_err(|e| e.to_string())
    }

    /// Every function as (name, catalog record bytes), sorted by name.
    pub fn dump_records(&self) -> Vec<(String, Bytes)> {
        let meta = self.meta.lock();
        let mut out: Vec<(String, Bytes)> = meta
            .iter()
            .map(|(name, m)| {
                let record = Record {
                    name: name.clone(),
                    loaded_at_ms: m.loaded_at_ms,
                    source_path: m.source_path.as_ref().map(|p| p.display().to_string()),
                    module: m.module.clone(),
                    options: m.options.to_args(),
                };
                (name.clone(), Bytes::from(catalog::encode(&record)))
            })
            .collect();
        out.sort_by(|a, b| a.0.cmp(&b.0));
        out
    }

    /// Makes the function set exactly `records` (a loaded snapshot or AOF
    /// is authoritative): others are unloaded and their catalog files
    /// removed. Blocking.
    pub fn restore_records(&self, records: Vec<(String, Bytes)>) -> Result<(), String> {
        let mut keep = Vec::with_capacity(records.len());
        for (name, bytes) in records {
            let record = catalog::decode(&bytes, &format!("function '{name}' in the snapshot"))
                .map_err(|e| e.to_string())?;
            keep.push(record.name.clone());
            self.restore_one(record)?;
        }
        let existing: Vec<String> = self.meta.lock().keys().cloned().collect();
        for name in existing {
            if !keep.contains(&name) {
                self.apply_logged(&[
                    Bytes::from_static(b"WASM.UNLOAD"),
                    Bytes::copy_from_slice(name.as_bytes()),
                ])?;
            }
        }
        Ok(())
    }
}
