//! Persistence glue: the AOF writer and snapshots wired to the store, the
//! function catalog, the configuration, INFO and the persistence commands.
//! See docs/persistence.md for the promises.
//!
//! [`Persistence`] is the store's one [`EffectSink`] (set at start-up); it
//! forwards effects to the current [`AofWriter`] while `appendonly` is on.
//! Connections that ran a write wait in [`Persistence::wait_acked`] before
//! flushing their replies.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use parking_lot::{Mutex, RwLock};

use ferrite_persist::aof::{self, AofPaths, AofWriter, FsyncPolicy, Manifest, Replayer};
use ferrite_persist::rdb;
use ferrite_persist::FunctionCatalog;
use ferrite_store::{Effect, EffectSink, Entry, Frame, Store};

use crate::config::{parse_save_rules, Config};
use crate::wasm_cmd::WasmService;

/// How long a consistent snapshot may wait for running transactions.
pub const SNAPSHOT_PAUSE_DEADLINE_MS: u64 = 10_000;

/// Why persistence failed at start-up or in a command.
#[derive(Debug, thiserror::Error)]
pub enum PersistError {
    /// The AOF could not be loaded or written.
    #[error(transparent)]
    Aof(#[from] aof::AofError),
    /// An RDB file could not be loaded or written.
    #[error("{0}")]
    Rdb(String),
    /// Another background job runs.
    #[error("{0}")]
    Busy(&'static str),
}

/// Snapshot of the keyspace: per database, its entries.
type Dbs = Vec<Vec<(Bytes, Entry)>>;

/// The persistence state shared by the server.
pub struct Persistence {
    store: Arc<Store>,
    wasm: Option<Arc<WasmService>>,
    /// `<dir>/<appenddirname>` and the file name (fixed at start-up).
    paths: AofPaths,
    /// `<dir>`.
    dir: PathBuf,
    enabled: AtomicBool,
    writer: RwLock<Option<Arc<AofWriter>>>,
    manifest: Mutex<Manifest>,
    /// AOF size after the last rewrite (auto-rewrite growth base).
    aof_rewrite_base_size: AtomicU64,
    rewrite_in_progress: AtomicBool,
    rewrite_scheduled: AtomicBool,
    last_rewrite_secs: AtomicI64,
    last_rewrite_ok: AtomicBool,
    bgsave_in_progress: AtomicBool,
    last_bgsave_ok: AtomicBool,
    last_bgsave_secs: AtomicI64,
    last_save_unix: AtomicU64,
    changes_at_last_save: AtomicU64,
    /// Serialises snapshots and rewrites (one consistent cut at a time).
    job: Mutex<()>,
    /// SHUTDOWN already saved (or said NOSAVE): no final save.
    final_save_decided: AtomicBool,
}

fn unix_secs() -> u64 {
    crate::server::unix_time_us() / 1_000_000
}

impl EffectSink for Persistence {
    fn enabled(&self) -> bool {
        self.enabled.load(Ordering::Relaxed)
    }

    fn append(&self, group: &[Effect]) {
        if let Some(writer) = &*self.writer.read() {
            writer.append(group);
        }
    }
}

/// The function catalog as persistence sees it (empty without wasm).
struct Functions<'a>(Option<&'a WasmService>);

impl FunctionCatalog for Functions<'_> {
    fn dump(&self) -> Vec<(String, Bytes)> {
        self.0.map(|w| w.dump_records()).unwrap_or_default()
    }

    fn restore_all(&self, functions: Vec<(String, Bytes)>) -> Result<(), String> {
        match self.0 {
            Some(w) => w.restore_records(functions),
            None if functions.is_empty() => Ok(()),
            None => Err(format!(
                "the data has {} function(s) but [wasm] is disabled",
                functions.len()
            )),
        }
    }
}

/// Replays AOF records into the store and the function catalog.
struct StoreReplayer<'a> {
    store: &'a Store,
    wasm: Option<&'a WasmService>,
}

impl Replayer for StoreReplayer<'_> {
    fn load_rdb_base(&mut self, path: &Path) -> Result<(), String> {
        rdb::load_file(
            path,
            self.store,
            &Functions(self.wasm),
            &rdb::LoadOptions::default(),
        )
        .map(|_| ())
        .map_err(|e| e.to_string())
    }

    fn apply(&mut self, group: &[Effect]) -> Result<(), String> {
        for effect in group {
            let name = effect.argv[0].to_ascii_lowercase();
            if name.starts_with(b"wasm.") {
                let Some(wasm) = self.wasm else {
                    return Err("a function record needs [wasm] enabled".to_owned());
                };
                wasm.apply_logged(&effect.argv)?;
                continue;
            }
            if let Frame::Error(text) = self.store.execute_loading(effect.db, &effect.argv) {
                return Err(String::from_utf8_lossy(&text).into_owned());
            }
        }
        Ok(())
    }
}

impl Persistence {
    /// Loads the data at start-up (AOF when `appendonly yes` and it exists,
    /// else `dbfilename`) and opens the AOF for appending when enabled.
    /// Blocking: run on a blocking thread.
    pub fn start(
        config: &Config,
        store: Arc<Store>,
        wasm: Option<Arc<WasmService>>,
    ) -> Result<Arc<Persistence>, PersistError> {
        let paths = AofPaths {
            dir: config.dir.join(&config.appenddirname),
            filename: config.appendfilename.clone(),
        };
        let persistence = Arc::new(Persistence {
            store,
            wasm,
            paths,
            dir: config.dir.clone(),
            enabled: AtomicBool::new(false),
            writer: RwLock::new(None),
            manifest: Mutex::new(Manifest::default()),
            aof_rewrite_base_size: AtomicU64::new(0),
            rewrite_in_progress: AtomicBool::new(false),
            rewrite_scheduled: AtomicBool::new(false),
            last_rewrite_secs: AtomicI64::new(-1),
            last_rewrite_ok: AtomicBool::new(true),
            bgsave_in_progress: AtomicBool::new(false),
            last_bgsave_ok: AtomicBool::new(true),
            last_bgsave_secs: AtomicI64::new(-1),
            last_save_unix: AtomicU64::new(unix_secs()),
            changes_at_last_save: AtomicU64::new(0),
            job: Mutex::new(()),
            final_save_decided: AtomicBool::new(false),
        });
        persistence
            .store
            .set_effect_sink(Arc::clone(&persistence) as Arc<dyn EffectSink>);
        persistence.load(config)?;
        persistence
            .changes_at_last_save
            .store(persistence.store.stats().changes, Ordering::Relaxed);
        if config.appendonly {
            persistence.open_aof(config)?;
        }
        Ok(persistence)
    }

    fn functions(&self) -> Functions<'_> {
        Functions(self.wasm.as_deref())
    }

    fn rdb_path(&self, config: &Config) -> PathBuf {
        self.dir.join(&config.dbfilename)
    }

    fn load(&self, config: &Config) -> Result<(), PersistError> {
        let started = Instant::now();
        if config.appendonly && aof::read_manifest(&self.paths)?.is_some() {
            // The AOF's function set is authoritative: start from none.
            self.functions()
                .restore_all(Vec::new())
                .map_err(PersistError::Rdb)?;
            let mut replayer = StoreReplayer {
                store: &self.store,
                wasm: self.wasm.as_deref(),
            };
            if let Some((manifest, report)) =
                aof::load(&self.paths, config.aof_load_truncated, &mut replayer)?
            {
                tracing::info!(
                    "DB loaded from append only file {}: {} file(s), {} command(s) in {:.3} seconds",
                    self.paths.manifest_path().display(),
                    report.files,
                    report.commands,
                    started.elapsed().as_secs_f64()
                );
                *self.manifest.lock() = manifest;
            }
            return Ok(());
        }
        let path = self.rdb_path(config);
        if path.exists() {
            let stats = rdb::load_file(
                &path,
                &self.store,
                &self.functions(),
                &rdb::LoadOptions::default(),
            )
            .map_err(|e| PersistError::Rdb(e.to_string()))?;
            tracing::info!(
                "DB loaded from disk: {} keys, {} functions from {} in {:.3} seconds",
                stats.keys,
                stats.functions,
                path.display(),
                started.elapsed().as_secs_f64()
            );
            self.last_save_unix.store(
                std::fs::metadata(&path)
                    .ok()
                    .and_then(|m| m.modified().ok())
                    .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
                    .map_or(unix_secs(), |d| d.as_secs()),
                Ordering::Relaxed,
            );
        }
        Ok(())
    }

    /// Opens the AOF set for appending at start-up; a new set gets a base
    /// from the loaded data first when there is any.
    fn open_aof(&self, config: &Config) -> Result<(), PersistError> {
        let policy = FsyncPolicy::parse(&config.appendfsync).unwrap_or(FsyncPolicy::EverySec);
        let existing = aof::read_manifest(&self.paths)?;
        let fresh = existing.is_none();
        if fresh && (!self.store_is_empty() || !self.functions().dump().is_empty()) {
            // Data came from dump.rdb (or functions from the catalog): the new
            // AOF starts from a base holding it.
            std::fs::create_dir_all(&self.paths.dir).map_err(|source| aof::AofError::Io {
                path: self.paths.dir.clone(),
                source,
            })?;
            self.enable_with_rewrite(policy)?;
            return Ok(());
        }
        let (manifest, file, len) = aof::open_for_append(&self.paths, existing)?;
        let writer = AofWriter::start(file, len, policy).map_err(|source| aof::AofError::Io {
            path: self.paths.dir.clone(),
            source,
        })?;
        *self.manifest.lock() = manifest;
        *self.writer.write() = Some(Arc::new(writer));
        self.enabled.store(true, Ordering::SeqCst);
        let (size, _) = self.paths.sizes(&self.manifest.lock());
        self.aof_rewrite_base_size.store(size, Ordering::Relaxed);
        Ok(())
    }

    fn store_is_empty(&self) -> bool {
        (0..self.store.config().databases).all(|db| self.store.dbsize(db) == 0)
    }

    /// The current writer, if the AOF is on.
    pub fn writer(&self) -> Option<Arc<AofWriter>> {
        self.writer.read().clone()
    }

    /// Waits until every write appended so far may be acknowledged (see
    /// the module docs). Returns at once when the AOF is off.
    pub async fn wait_acked(&self) {
        let Some(writer) = self.writer() else { return };
        let mut rx = writer.acked();
        writer.wait_acked(&mut rx).await;
    }

    /// The error writes are refused with while the AOF cannot be written.
    pub fn misconf(&self) -> Option<String> {
        let error = self.writer()?.write_error()?;
        Some(format!("MISCONF Errors writing to the AOF file: {error}"))
    }

    /// CONFIG SET appendfsync.
    pub fn set_fsync(&self, policy: FsyncPolicy) {
        if let Some(writer) = self.writer() {
            writer.set_policy(policy);
        }
    }

    /// Takes a consistent snapshot of every database; `at_cut` runs at the
    /// cut with the keyspace paused.
    fn snapshot(&self, at_cut: impl FnOnce()) -> Result<Dbs, PersistError> {
        let deadline = Instant::now() + Duration::from_millis(SNAPSHOT_PAUSE_DEADLINE_MS);
        self.store
            .snapshot_consistent(deadline, at_cut)
            .map(|snapshot| snapshot.dbs)
            .map_err(|e| PersistError::Rdb(format!("cannot take a consistent snapshot: {e}")))
    }

    fn write_rdb(&self, path: &Path, dbs: &Dbs, aof_base: bool) -> Result<u64, PersistError> {
        let functions = self.functions().dump();
        let options = rdb::WriteOptions {
            aof_base,
            ..rdb::WriteOptions::default()
        };
        rdb::save_file(path, &options, |writer| {
            writer.functions(&functions)?;
            for (db, entries) in dbs.iter().enumerate() {
                if entries.is_empty() {
                    continue;
                }
                let expires = entries
                    .iter()
                    .filter(|(_, e)| e.expire_at_ms.is_some())
                    .count();
                writer.select_db(db, entries.len() as u64, expires as u64)?;
                for (key, entry) in entries {
                    writer.entry(db, key, entry)?;
                }
            }
            Ok(())
        })
        .map_err(|e| PersistError::Rdb(e.to_string()))
    }

    /// SAVE / BGSAVE body: a consistent snapshot to `dbfilename`.
    /// Blocking.
    pub fn save(&self, config: &Config) -> Result<(), PersistError> {
        let _job = self.job.lock();
        let started = Instant::now();
        let mut changes = 0;
        let dbs = self.snapshot(|| changes = self.store.stats().changes)?;
        let path = self.rdb_path(config);
        let result = self.write_rdb(&path, &dbs, false);
        self.last_bgsave_secs.store(
            i64::try_from(started.elapsed().as_secs()).unwrap_or(i64::MAX),
            Ordering::Relaxed,
        );
        self.last_bgsave_ok.store(result.is_ok(), Ordering::Relaxed);
        match result {
            Ok(bytes) => {
                self.changes_at_last_save.store(changes, Ordering::Relaxed);
                self.last_save_unix.store(unix_secs(), Ordering::Relaxed);
                tracing::info!("DB saved on disk: {} ({bytes} bytes)", path.display());
                Ok(())
            }
            Err(err) => {
                tracing::warn!("Error saving DB on disk: {err}");
                Err(err)
            }
        }
    }

    /// BGSAVE: `Err` when a save already runs.
    pub fn bgsave(self: &Arc<Self>, config: Config) -> Result<(), PersistError> {
        if self.bgsave_in_progress.swap(true, Ordering::SeqCst) {
            return Err(PersistError::Busy(
                "ERR Background save already in progress",
            ));
        }
        let this = Arc::clone(self);
        std::thread::Builder::new()
            .name("ferrite-bgsave".to_owned())
            .spawn(move || {
                tracing::info!("Background saving started");
                let _ = this.save(&config);
                this.bgsave_in_progress.store(false, Ordering::SeqCst);
            })
            .map_err(|e| PersistError::Rdb(format!("cannot start the background save: {e}")))?;
        Ok(())
    }

    /// BGREWRITEAOF: `Ok(false)` when it was only scheduled (a save runs).
    pub fn bgrewriteaof(self: &Arc<Self>, policy: FsyncPolicy) -> Result<bool, PersistError> {
        if self.rewrite_in_progress.swap(true, Ordering::SeqCst) {
            return Err(PersistError::Busy(
                "ERR Background append only file rewriting already in progress",
            ));
        }
        let this = Arc::clone(self);
        std::thread::Builder::new()
            .name("ferrite-aofrw".to_owned())
            .spawn(move || {
                let started = Instant::now();
                let result = match this.writer() {
                    Some(_) => this.rewrite(),
                    None => this.enable_with_rewrite(policy),
                };
                this.finish_rewrite(started, result);
            })
            .map_err(|e| PersistError::Rdb(format!("cannot start the rewrite: {e}")))?;
        Ok(true)
    }

    fn finish_rewrite(&self, started: Instant, result: Result<(), PersistError>) {
        self.last_rewrite_secs.store(
            i64::try_from(started.elapsed().as_secs()).unwrap_or(i64::MAX),
            Ordering::Relaxed,
        );
        self.last_rewrite_ok
            .store(result.is_ok(), Ordering::Relaxed);
        match result {
            Ok(()) => tracing::info!(
                "Background AOF rewrite finished successfully in {:.3} seconds",
                started.elapsed().as_secs_f64()
            ),
            Err(err) => tracing::warn!("Background AOF rewrite failed: {err}"),
        }
        self.rewrite_in_progress.store(false, Ordering::SeqCst);
    }

    /// Rewrites the AOF: new incr file at the cut, new RDB base from the
    /// snapshot, new manifest, old files deleted. Blocking.
    fn rewrite(&self) -> Result<(), PersistError> {
        let _job = self.job.lock();
        let writer = self
            .writer()
            .ok_or(PersistError::Busy("ERR the AOF is off"))?;
        let current = self.manifest.lock().clone();
        let (plan, switch) = aof::rewrite_begin(&self.paths, &current, true)?;
        *self.manifest.lock() = plan.during.clone();
        let mut switch = Some(switch);
        let dbs = self.snapshot(|| {
            if let Some(switch) = switch.take() {
                writer.switch_file(switch);
            }
        })?;
        let base = self.paths.file_path(&plan.new_base);
        if let Err(err) = self.write_rdb(&base, &dbs, true) {
            aof::rewrite_abort(&self.paths, &plan);
            return Err(err);
        }
        let new = aof::rewrite_commit(&self.paths, &plan)?;
        let (size, _) = self.paths.sizes(&new);
        self.aof_rewrite_base_size.store(size, Ordering::Relaxed);
        *self.manifest.lock() = new;
        Ok(())
    }

    /// Turns the AOF on (start-up with data and no AOF, or CONFIG SET
    /// appendonly yes): a new incr file takes effects from the cut on, the
    /// base is the snapshot at the cut; the manifest naming them replaces any
    /// old set only once both are durable. Blocking.
    fn enable_with_rewrite(&self, policy: FsyncPolicy) -> Result<(), PersistError> {
        let _job = self.job.lock();
        std::fs::create_dir_all(&self.paths.dir).map_err(|source| aof::AofError::Io {
            path: self.paths.dir.clone(),
            source,
        })?;
        let old = aof::read_manifest(&self.paths)?.unwrap_or_default();
        let seq = old
            .incr_seq()
            .max(old.history.iter().map(|f| f.seq).max().unwrap_or(0))
            + 1;
        let incr = aof::AofFile {
            name: self.paths.incr_name(seq),
            seq,
            kind: aof::FileKind::Incr,
        };
        let (file, len) = aof::open_incr(&self.paths, &incr)?;
        let writer =
            Arc::new(
                AofWriter::start(file, len, policy).map_err(|source| aof::AofError::Io {
                    path: self.paths.file_path(&incr),
                    source,
                })?,
            );
        let dbs = self.snapshot(|| {
            *self.writer.write() = Some(Arc::clone(&writer));
            self.enabled.store(true, Ordering::SeqCst);
        })?;
        let base_seq = old.base_seq() + 1;
        let base = aof::AofFile {
            name: self.paths.base_name(base_seq, true),
            seq: base_seq,
            kind: aof::FileKind::Base,
        };
        self.write_rdb(&self.paths.file_path(&base), &dbs, true)?;
        let plan = aof::RewritePlan {
            during: Manifest {
                base: old.base.clone(),
                incrs: old.incrs.iter().cloned().chain([incr.clone()]).collect(),
                history: old.history.clone(),
            },
            new_base: base,
            new_incr: incr,
        };
        let new = aof::rewrite_commit(&self.paths, &plan)?;
        let (size, _) = self.paths.sizes(&new);
        self.aof_rewrite_base_size.store(size, Ordering::Relaxed);
        *self.manifest.lock() = new;
        Ok(())
    }

    /// CONFIG SET appendonly: `yes` starts a rewrite creating the AOF; `no`
    /// stops appending (the files stay).
    pub fn set_appendonly(
        self: &Arc<Self>,
        on: bool,
        policy: FsyncPolicy,
    ) -> Result<(), PersistError> {
        if on {
            if self.writer().is_some() {
                return Ok(());
            }
            return self.bgrewriteaof(policy).map(|_| ());
        }
        self.enabled.store(false, Ordering::SeqCst);
        if let Some(writer) = self.writer.write().take() {
            std::thread::spawn(move || writer.shutdown());
        }
        Ok(())
    }

    /// Runs once a second: save rules and auto AOF rewrite.
    pub fn cron(self: &Arc<Self>, config: &Config) {
        if let Ok(rules) = parse_save_rules(&config.save) {
            let changes = self
                .store
                .stats()
                .changes
                .saturating_sub(self.changes_at_last_save.load(Ordering::Relaxed));
            let since = unix_secs().saturating_sub(self.last_save_unix.load(Ordering::Relaxed));
            let due = rules
                .iter()
                .any(|&(secs, min)| changes >= min && changes > 0 && since >= secs);
            if due && !self.bgsave_in_progress.load(Ordering::SeqCst) {
                tracing::info!("{changes} changes in {since} seconds. Saving...");
                let _ = self.bgsave(config.clone());
            }
        }
        if config.auto_aof_rewrite_percentage > 0 && self.writer().is_some() {
            let (size, _) = self.paths.sizes(&self.manifest.lock());
            let base = self.aof_rewrite_base_size.load(Ordering::Relaxed).max(1);
            let growth = size.saturating_sub(base) * 100 / base;
            if size >= config.auto_aof_rewrite_min_size.0
                && growth >= u64::from(config.auto_aof_rewrite_percentage)
                && !self.rewrite_in_progress.load(Ordering::SeqCst)
            {
                tracing::info!("Starting automatic rewriting of AOF on {growth}% growth");
                let policy =
                    FsyncPolicy::parse(&config.appendfsync).unwrap_or(FsyncPolicy::EverySec);
                let _ = self.bgrewriteaof(policy);
            }
        }
    }

    /// SHUTDOWN's save: `save` = SAVE (`Some(true)`), NOSAVE
    /// (`Some(false)`) or neither (save when save rules are set, as Redis).
    /// An error means the server must not exit. Blocking.
    pub fn shutdown_save(&self, config: &Config, save: Option<bool>) -> Result<(), PersistError> {
        let rules = parse_save_rules(&config.save).unwrap_or_default();
        // Unlike Redis, nothing changed since the last save (or load) means
        // no final save: the file on disk already holds this data.
        let changed =
            self.store.stats().changes > self.changes_at_last_save.load(Ordering::Relaxed);
        if save.unwrap_or(!rules.is_empty() && changed) {
            tracing::info!("Saving the final RDB snapshot before exiting.");
            self.save(config)?;
        }
        self.final_save_decided.store(true, Ordering::SeqCst);
        Ok(())
    }

    /// At exit: the final save if SHUTDOWN did not decide it (signals),
    /// then the AOF is written and fsynced. Blocking.
    pub fn shutdown(&self, config: &Config) -> Result<(), PersistError> {
        if !self.final_save_decided.load(Ordering::SeqCst) {
            self.shutdown_save(config, None)?;
        }
        if let Some(writer) = self.writer() {
            writer.shutdown();
            tracing::info!("Calling fsync() on the AOF file.");
        }
        Ok(())
    }

    /// Whether a BGSAVE runs.
    pub fn bgsave_running(&self) -> bool {
        self.bgsave_in_progress.load(Ordering::SeqCst)
    }

    /// LASTSAVE.
    pub fn last_save(&self) -> u64 {
        self.last_save_unix.load(Ordering::Relaxed)
    }

    /// The `# Persistence` section of INFO.
    pub fn info(&self, out: &mut String) {
        use std::fmt::Write as _;
        macro_rules! line {
            ($($arg:tt)*) => {{ let _ = write!(out, $($arg)*); out.push_str("\r\n"); }};
        }
        let ok = |b: bool| if b { "ok" } else { "err" };
        let changes = self
            .store
            .stats()
            .changes
            .saturating_sub(self.changes_at_last_save.load(Ordering::Relaxed));
        let writer = self.writer();
        let (current, base) = self.paths.sizes(&self.manifest.lock());
        line!("# Persistence");
        line!("loading:0");
        line!("async_loading:0");
        line!("current_cow_peak:0");
        line!("current_cow_size:0");
        line!("current_cow_size_age:0");
        line!("current_fork_perc:0.00");
        line!("current_save_keys_processed:0");
        line!("current_save_keys_total:0");
        line!("rdb_changes_since_last_save:{changes}");
        line!(
            "rdb_bgsave_in_progress:{}",
            u8::from(self.bgsave_in_progress.load(Ordering::Relaxed))
        );
        line!("rdb_last_save_time:{}", self.last_save());
        line!(
            "rdb_last_bgsave_status:{}",
            ok(self.last_bgsave_ok.load(Ordering::Relaxed))
        );
        line!(
            "rdb_last_bgsave_time_sec:{}",
            self.last_bgsave_secs.load(Ordering::Relaxed)
        );
        line!("rdb_current_bgsave_time_sec:-1");
        line!("rdb_last_cow_size:0");
        line!("aof_enabled:{}", u8::from(writer.is_some()));
        line!(
            "aof_rewrite_in_progress:{}",
            u8::from(self.rewrite_in_progress.load(Ordering::Relaxed))
        );
        line!(
            "aof_rewrite_scheduled:{}",
            u8::from(self.rewrite_scheduled.load(Ordering::Relaxed))
        );
        line!(
            "aof_last_rewrite_time_sec:{}",
            self.last_rewrite_secs.load(Ordering::Relaxed)
        );
        line!("aof_current_rewrite_time_sec:-1");
        line!(
            "aof_last_bgrewrite_status:{}",
            ok(self.last_rewrite_ok.load(Ordering::Relaxed))
        );
        line!(
            "aof_last_write_status:{}",
            ok(writer.as_ref().is_none_or(|w| w.write_error().is_none()))
        );
        line!("aof_last_cow_size:0");
        line!("module_fork_in_progress:0");
        line!("module_fork_last_cow_size:0");
        if let Some(writer) = &writer {
            line!("aof_current_size:{current}");
            line!("aof_base_size:{base}");
            line!("aof_pending_rewrite:0");
            line!("aof_buffer_length:{}", writer.buffer_len());
            line!("aof_pending_bio_fsync:0");
            line!("aof_delayed_fsync:0");
            line!("aof_fsync_policy:{}", writer.policy().as_str());
        }
    }
}
