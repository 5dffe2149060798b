//! The AOF writer: [`AofWriter`] implements [`EffectSink`]. `append`
//! encodes under a short mutex into a buffer and advances the *appended*
//! offset; one writer thread writes the buffer out in batches and fsyncs per
//! policy; connections wait for [`AofWriter::acked`] to reach the appended
//! offset at the end of their batch before they reply.
//!
//! * `always`: the acked offset moves after `fdatasync` (group commit: one
//!   fsync covers everything appended before the write it follows);
//! * `everysec`: it moves after `write()`; a second thread fsyncs once a
//!   second;
//! * `no`: it moves after `write()`; the kernel flushes when it likes.
//!
//! So a process crash (SIGKILL) never loses an acknowledged write in any
//! mode: acknowledged bytes are in the kernel's page cache at least.

use std::fs::File;
use std::io::Write;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicU8, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use parking_lot::{Condvar, Mutex};
use tokio::sync::watch;

use ferrite_store::{Effect, EffectSink};

use super::resp::encode_command;

/// How often `everysec` fsyncs.
pub const EVERYSEC_INTERVAL_MS: u64 = 1_000;
/// After a failed write, the writer retries this often.
pub const WRITE_RETRY_MS: u64 = 1_000;
/// Most bytes handed to one `write()` call.
pub const WRITE_BATCH_MAX_BYTES: usize = 4 * 1024 * 1024;

/// `appendfsync`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FsyncPolicy {
    /// fsync before acknowledging.
    Always,
    /// fsync once a second in the background.
    EverySec,
    /// Never fsync (the OS decides).
    No,
}

impl FsyncPolicy {
    /// Parses `always`, `everysec`, `no` (any case).
    pub fn parse(text: &str) -> Option<FsyncPolicy> {
        match text.to_ascii_lowercase().as_str() {
            "always" => Some(FsyncPolicy::Always),
            "everysec" => Some(FsyncPolicy::EverySec),
            "no" => Some(FsyncPolicy::No),
            _ => None,
        }
    }

    /// The config text.
    pub fn as_str(self) -> &'static str {
        match self {
            FsyncPolicy::Always => "always",
            FsyncPolicy::EverySec => "everysec",
            FsyncPolicy::No => "no",
        }
    }

    fn to_u8(self) -> u8 {
        self as u8
    }

    fn from_u8(v: u8) -> FsyncPolicy {
        match v {
            0 => FsyncPolicy::Always,
            1 => FsyncPolicy::EverySec,
            _ => FsyncPolicy::No,
        }
    }
}

/// A file the writer switches to once every byte appended before the
/// switch is written (a rewrite's cut).
pub struct Switch {
    /// The new incr file, opened for appending.
    pub file: File,
    /// Its size now.
    pub len: u64,
}

struct Pending {
    /// Encoded bytes not yet handed to the writer thread.
    buf: Vec<u8>,
    /// Total bytes ever appended (the offset the next append starts at).
    appended: u64,
    /// Database of the last SELECT in the stream (`None`: none yet in the
    /// current file).
    db: Option<usize>,
    /// Switch files once `buf[..at]` is written.
    switch: Option<(usize, Switch)>,
    stop: bool,
}

struct Shared {
    pending: Mutex<Pending>,
    /// Wakes the writer thread (appends, switch, stop).
    wake: Condvar,
    /// Wakes the fsync thread (policy change, stop).
    fsync_wake: Condvar,
    enabled: AtomicBool,
    policy: AtomicU8,
    /// Offsets connections may acknowledge up to.
    acked: watch::Sender<u64>,
    written: AtomicU64,
    synced: AtomicU64,
    /// Size of the current incr file.
    incr_len: AtomicU64,
    /// The file written now (the fsync thread syncs it).
    file: Mutex<Arc<File>>,
    /// Last write error (`aof_last_write_status:err`); cleared on success.
    write_error: Mutex<Option<String>>,
    /// Set when fsync failed under `always` (the process exits, as Redis).
    fsync_failed: AtomicBool,
}

/// The append-only file's writer. Create with [`AofWriter::start`].
pub struct AofWriter {
    shared: Arc<Shared>,
    threads: Mutex<Vec<JoinHandle<()>>>,
}

impl AofWriter {
    /// Starts the writer threads appending to `file` (an incr file of
    /// `len` bytes, opened for appending).
    pub fn start(file: File, len: u64, policy: FsyncPolicy) -> std::io::Result<AofWriter> {
        let (acked, _) = watch::channel(0);
        let shared = Arc::new(Shared {
            pending: Mutex::new(Pending {
                buf: Vec::new(),
                appended: 0,
                db: None,
                switch: None,
                stop: false,
            }),
            wake: Condvar::new(),
            fsync_wake: Condvar::new(),
            enabled: AtomicBool::new(true),
            policy: AtomicU8::new(policy.to_u8()),
            acked,
            written: AtomicU64::new(0),
            synced: AtomicU64::new(0),
            incr_len: AtomicU64::new(len),
            file: Mutex::new(Arc::new(file)),
            write_error: Mutex::new(None),
            fsync_failed: AtomicBool::new(false),
        });
        let writer = {
            let shared = Arc::clone(&shared);
            std::thread::Builder::new()
                .name("ferrite-aof".to_owned())
                .spawn(move || write_loop(&shared))?
        };
        let syncer = {
            let shared = Arc::clone(&shared);
            std::thread::Builder::new()
                .name("ferrite-aof-fsync".to_owned())
                .spawn(move || fsync_loop(&shared))?
        };
        Ok(AofWriter {
            shared,
            threads: Mutex::new(vec![writer, syncer]),
        })
    }

    /// Stops or resumes taking effects (CONFIG SET appendonly).
    pub fn set_enabled(&self, enabled: bool) {
        self.shared.enabled.store(enabled, Ordering::SeqCst);
    }

    /// Changes `appendfsync`.
    pub fn set_policy(&self, policy: FsyncPolicy) {
        self.shared.policy.store(policy.to_u8(), Ordering::SeqCst);
        self.shared.fsync_wake.notify_all();
    }

    /// The policy in force.
    pub fn policy(&self) -> FsyncPolicy {
        FsyncPolicy::from_u8(self.shared.policy.load(Ordering::SeqCst))
    }

    /// Total bytes appended so far: a connection that wrote waits until
    /// [`AofWriter::acked`] reaches the value read after its batch.
    pub fn appended(&self) -> u64 {
        self.shared.pending.lock().appended
    }

    /// The offset acknowledged writes may reach (durable under `always`,
    /// written under `everysec`/`no`).
    pub fn acked(&self) -> watch::Receiver<u64> {
        self.shared.acked.subscribe()
    }

    /// Waits (async) until every byte appended before this call may be
    /// acknowledged.
    pub async fn wait_acked(&self, rx: &mut watch::Receiver<u64>) {
        let target = self.appended();
        if *rx.borrow() >= target {
            return;
        }
        // The sender lives as long as `self`: an error cannot happen here.
        let _ = rx.wait_for(|&acked| acked >= target).await;
    }

    /// Bytes appended but not written yet (`aof_buffer_length`).
    pub fn buffer_len(&self) -> usize {
        self.shared.pending.lock().buf.len()
    }

    /// Size of the current incr file in bytes.
    pub fn incr_len(&self) -> u64 {
        self.shared.incr_len.load(Ordering::Relaxed)
    }

    /// The last write error, if the AOF cannot be written now.
    pub fn write_error(&self) -> Option<String> {
        self.shared.write_error.lock().clone()
    }

    /// Asks the writer to move to `switch.file` once every byte appended so
    /// far is written. The new file starts with a SELECT (the db of the
    /// stream is forgotten). Call while no append can run (a rewrite's cut).
    pub fn switch_file(&self, switch: Switch) {
        let mut pending = self.shared.pending.lock();
        let at = pending.buf.len();
        pending.switch = Some((at, switch));
        pending.db = None;
        drop(pending);
        self.shared.wake.notify_all();
    }

    /// Writes and fsyncs everything appended, then stops the threads.
    pub fn shutdown(&self) {
        self.shared.pending.lock().stop = true;
        self.shared.wake.notify_all();
        self.shared.fsync_wake.notify_all();
        for handle in self.threads.lock().drain(..) {
            let _ = handle.join();
        }
        let file = Arc::clone(&self.shared.file.lock());
        if let Err(err) = file.sync_data() {
            tracing::warn!("fsync of the AOF at shutdown failed: {err}");
        }
    }
}

impl Drop for AofWriter {
    fn drop(&mut self) {
        self.shutdown();
    }
}

impl EffectSink for AofWriter {
    fn enabled(&self) -> bool {
        self.shared.enabled.load(Ordering::Relaxed)
    }

    fn append(&self, group: &[Effect]) {
        if group.is_empty() {
            return;
        }
        let mut pending = self.shared.pending.lock();
        let start = pending.buf.len();
        let wrap = group.len() > 1;
        if wrap {
            encode_command(&mut pending.buf, &[&b"MULTI"[..]]);
        }
        for effect in group {
            if pending.db != Some(effect.db) {
                let db = effect.db.to_string();
                encode_command(&mut pending.buf, &[&b"SELECT"[..], db.as_bytes()]);
                pending.db = Some(effect.db);
            }
            encode_command(&mut pending.buf, &effect.argv);
        }
        if wrap {
            encode_command(&mut pending.buf, &[&b"EXEC"[..]]);
        }
        let added = (pending.buf.len() - start) as u64;
        pending.appended += added;
        drop(pending);
        self.shared.wake.notify_one();
    }
}

fn write_loop(shared: &Shared) {
    let mut chunk: Vec<u8> = Vec::new();
    loop {
        let mut switch = None;
        {
            let mut pending = shared.pending.lock();
            while pending.buf.is_empty() && pending.switch.is_none() && !pending.stop {
                shared.wake.wait(&mut pending);
            }
            if pending.buf.is_empty() && pending.switch.is_none() && pending.stop {
                return;
            }
            // Take bytes up to the switch point (if any), at most one batch.
            let limit = match &pending.switch {
                Some((at, _)) => *at,
                None => pending.buf.len(),
            }
            .min(WRITE_BATCH_MAX_BYTES);
            chunk.clear();
            chunk.extend_from_slice(&pending.buf[..limit]);
            pending.buf.drain(..limit);
            if let Some((at, _)) = &mut pending.switch {
                *at -= limit;
                if *at == 0 {
                    switch = pending.switch.take().map(|(_, s)| s);
                }
            }
        }
        if !chunk.is_empty() {
            write_chunk(shared, &chunk);
        }
        if let Some(switch) = switch {
            // Everything before the cut is written: make it durable in the old
            // file, then continue in the new one.
            let old = Arc::clone(&shared.file.lock());
            if let Err(err) = old.sync_data() {
                tracing::warn!("fsync of the previous AOF incr file failed: {err}");
            }
            *shared.file.lock() = Arc::new(switch.file);
            shared.incr_len.store(switch.len, Ordering::Relaxed);
        }
    }
}

/// Writes `chunk` to the current file, retrying until it succeeds; then
/// fsyncs under `always` and publishes the new acked offset.
fn write_chunk(shared: &Shared, chunk: &[u8]) {
    let mut rest = chunk;
    while !rest.is_empty() {
        let file = Arc::clone(&shared.file.lock());
        match (&*file).write(rest) {
            Ok(0) => {
                report_error(shared, "write returned 0 bytes (disk full?)".to_owned());
                std::thread::sleep(Duration::from_millis(WRITE_RETRY_MS));
            }
            Ok(n) => {
                rest = &rest[n..];
                shared.incr_len.fetch_add(n as u64, Ordering::Relaxed);
            }
            Err(err) if err.kind() == std::io::ErrorKind::Interrupted => {}
            Err(err) => {
                report_error(shared, err.to_string());
                std::thread::sleep(Duration::from_millis(WRITE_RETRY_MS));
            }
        }
    }
    if shared.write_error.lock().take().is_some() {
        tracing::warn!("AOF write error is solved, the AOF is written again");
    }
    let written = shared
        .written
        .fetch_add(chunk.len() as u64, Ordering::SeqCst)
        + chunk.len() as u64;
    if FsyncPolicy::from_u8(shared.policy.load(Ordering::SeqCst)) == FsyncPolicy::Always {
        let file = Arc::clone(&shared.file.lock());
        if let Err(err) = file.sync_data() {
            // Redis: after a failed fsync the page cache state is unknown;
            // acknowledging anything more would be a lie.
            shared.fsync_failed.store(true, Ordering::SeqCst);
            tracing::error!(
                "Can't persist AOF for fsync error when the AOF fsync policy is 'always': {err}. Exiting..."
            );
            std::process::exit(1);
        }
        shared.synced.store(written, Ordering::SeqCst);
    }
    shared.acked.send_replace(written);
}

fn report_error(shared: &Shared, text: String) {
    let mut slot = shared.write_error.lock();
    if slot.is_none() {
        tracing::error!(
            "Error writing to the AOF file: {text}; writes are refused until it can be written"
        );
    }
    *slot = Some(text);
}

fn fsync_loop(shared: &Shared) {
    let mut last = Instant::now();
    loop {
        {
            let mut pending = shared.pending.lock();
            if pending.stop {
                return;
            }
            let wait = Duration::from_millis(EVERYSEC_INTERVAL_MS).saturating_sub(last.elapsed());
            let _ = shared.fsync_wake.wait_for(&mut pending, wait);
            if pending.stop {
                return;
            }
        }
        if last.elapsed() < Duration::from_millis(EVERYSEC_INTERVAL_MS) {
            continue;
        }
        last = Instant::now();
        if FsyncPolicy::from_u8(shared.policy.load(Ordering::SeqCst)) != FsyncPolicy::EverySec {
            continue;
        }
        let written = shared.written.load(Ordering::SeqCst);
        if written <= shared.synced.load(Ordering::SeqCst) {
            continue;
        }
        let file = Arc::clone(&shared.file.lock());
        match file.sync_data() {
            Ok(()) => shared.synced.store(written, Ordering::SeqCst),
            Err(err) => tracing::warn!("background AOF fsync failed: {err}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;

    fn effect(db: usize, argv: &[&str]) -> Effect {
        Effect {
            db,
            argv: argv
                .iter()
                .map(|a| Bytes::copy_from_slice(a.as_bytes()))
                .collect(),
        }
    }

    #[test]
    fn appends_are_written_with_select_and_multi() {
        let dir = std::env::temp_dir().join(format!("ferrite-aof-writer-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("a.aof");
        let _ = std::fs::remove_file(&path);
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .unwrap();
        let writer = AofWriter::start(file, 0, FsyncPolicy::Always).unwrap();
        writer.append(&[effect(0, &["SET", "a", "1"])]);
        writer.append(&[effect(0, &["SET", "b", "2"]), effect(1, &["DEL", "c"])]);
        let target = writer.appended();
        let mut rx = writer.acked();
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        rt.block_on(writer.wait_acked(&mut rx));
        assert!(*rx.borrow() >= target);
        let text = std::fs::read(&path).unwrap();
        let expected = "*2\r\n$6\r\nSELECT\r\n$1\r\n0\r\n*3\r\n$3\r\nSET\r\n$1\r\na\r\n$1\r\n1\r\n\
*1\r\n$5\r\nMULTI\r\n*3\r\n$3\r\nSET\r\n$1\r\nb\r\n$1\r\n2\r\n*2\r\n$6\r\nSELECT\r\n$1\r\n1\r\n\
*2\r\n$3\r\nDEL\r\n$1\r\nc\r\n*1\r\n$4\r\nEXEC\r\n";
        assert_eq!(String::from_utf8_lossy(&text), expected);
        assert_eq!(writer.incr_len(), expected.len() as u64);
        writer.shutdown();
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn switch_routes_later_appends_to_the_new_file() {
        let dir = std::env::temp_dir().join(format!("ferrite-aof-switch-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let open = |name: &str| {
            std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(dir.join(name))
                .unwrap()
        };
        let writer = AofWriter::start(open("old.aof"), 0, FsyncPolicy::EverySec).unwrap();
        writer.append(&[effect(2, &["SET", "a", "1"])]);
        writer.switch_file(Switch {
            file: open("new.aof"),
            len: 0,
        });
        writer.append(&[effect(2, &["SET", "b", "2"])]);
        writer.shutdown();
        let old = std::fs::read_to_string(dir.join("old.aof")).unwrap();
        let new = std::fs::read_to_string(dir.join("new.aof")).unwrap();
        assert!(
            old.contains("$1\r\na\r\n") && !old.contains("$1\r\nb\r\n"),
            "{old:?}"
        );
        // The new file starts with its own SELECT.
        assert!(
            new.starts_with("*2\r\n$6\r\nSELECT\r\n$1\r\n2\r\n"),
            "{new:?}"
        );
        assert!(new.contains("$1\r\nb\r\n"), "{new:?}");
        assert_eq!(writer.incr_len(), new.len() as u64);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
