//! The append-only file, Redis 7's multi-part layout:
//!
//! ```text
//! <dir>/<appenddirname>/                 (default appendonlydir)
//!     <appendfilename>.manifest          (default appendonly.aof.manifest)
//!     <appendfilename>.<n>.base.rdb      the snapshot incr files apply to
//!     <appendfilename>.<n>.incr.aof      RESP commands, replayed in order
//! ```
//!
//! * [`manifest`]: the manifest syntax.
//! * [`resp`]: records (RESP arrays) written and read back.
//! * [`writer`]: [`AofWriter`], the [`ferrite_store::EffectSink`] with group
//!   commit and the three fsync policies.
//! * this module: naming, loading a whole set ([`load`]), creating one and
//!   the file steps of a rewrite ([`rewrite_begin`], [`rewrite_commit`]).
//!
//! A rewrite never leaves a set that loads wrong: the new incr file is
//! created and listed in the manifest (after the old ones) *before* the first
//! byte goes to it; the new manifest (new base + new incr) replaces the old
//! one atomically (temp file, fsync, rename, directory fsync) only once the
//! new base is durable; old files are deleted after that.

pub mod manifest;
pub mod resp;
pub mod writer;

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

use bytes::Bytes;
use ferrite_store::Effect;

pub use manifest::{AofFile, FileKind, Manifest, ManifestError};
pub use resp::{encode_command, read_record, Read, RecordError};
pub use writer::{AofWriter, FsyncPolicy, Switch};

/// Where the AOF set lives and how to load it.
#[derive(Debug, Clone)]
pub struct AofPaths {
    /// `<dir>/<appenddirname>`.
    pub dir: PathBuf,
    /// `appendfilename` (`appendonly.aof`).
    pub filename: String,
}

impl AofPaths {
    /// The manifest's path.
    pub fn manifest_path(&self) -> PathBuf {
        self.dir.join(format!("{}.manifest", self.filename))
    }

    /// The path of a file of the set.
    pub fn file_path(&self, file: &AofFile) -> PathBuf {
        self.dir.join(&file.name)
    }

    /// Name of base file `seq` (`.rdb` for an RDB base, `.aof` for RESP).
    pub fn base_name(&self, seq: u64, rdb: bool) -> String {
        let ext = if rdb { "rdb" } else { "aof" };
        format!("{}.{seq}.base.{ext}", self.filename)
    }

    /// Name of incr file `seq`.
    pub fn incr_name(&self, seq: u64) -> String {
        format!("{}.{seq}.incr.aof", self.filename)
    }

    /// Sum of the sizes of the base and incr files (`aof_current_size`), and
    /// of the base alone.
    pub fn sizes(&self, manifest: &Manifest) -> (u64, u64) {
        let size = |f: &AofFile| {
            std::fs::metadata(self.file_path(f))
                .map(|m| m.len())
                .unwrap_or(0)
        };
        let base = manifest.base.as_ref().map_or(0, size);
        (base + manifest.incrs.iter().map(size).sum::<u64>(), base)
    }
}

/// Why the AOF could not be loaded or maintained. Messages name the file
/// and, for bad content, the byte offset.
#[derive(Debug, thiserror::Error)]
pub enum AofError {
    /// An I/O error on a file.
    #[error("AOF I/O error on {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The error.
        source: std::io::Error,
    },
    /// The manifest is not valid.
    #[error("bad AOF manifest {path}: {source}")]
    Manifest {
        /// The manifest.
        path: PathBuf,
        /// What and where.
        source: ManifestError,
    },
    /// A file the manifest lists does not exist.
    #[error("AOF file {path} listed in the manifest does not exist")]
    MissingFile {
        /// The missing file.
        path: PathBuf,
    },
    /// Bytes that are not a valid record.
    #[error("Bad file format reading the append only file {path} at offset {offset}: {reason}")]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// Offset of the bad record's first byte.
        offset: u64,
        /// What is wrong.
        reason: String,
    },
    /// The last record is incomplete and `aof-load-truncated` is `no`, or a
    /// file other than the last one is truncated.
    #[error("AOF {path} truncated at offset {offset} (last command incomplete){hint}")]
    Truncated {
        /// The file.
        path: PathBuf,
        /// Where the last complete record ends.
        offset: u64,
        /// Why it is refused.
        hint: &'static str,
    },
    /// A record could not be replayed (unknown command, an error reply).
    #[error("AOF {path} at offset {offset}: replaying {command} failed: {reason}")]
    Replay {
        /// The file.
        path: PathBuf,
        /// Offset of the record.
        offset: u64,
        /// The command name.
        command: String,
        /// The error.
        reason: String,
    },
    /// The base file could not be loaded.
    #[error("AOF base {path}: {reason}")]
    Base {
        /// The base file.
        path: PathBuf,
        /// The loader's error.
        reason: String,
    },
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> AofError + '_ {
    move |source| AofError::Io {
        path: path.to_owned(),
        source,
    }
}

/// Applies what the files contain (the server implements it over its store
/// and function catalog).
pub trait Replayer {
    /// Loads an RDB base file.
    fn load_rdb_base(&mut self, path: &Path) -> Result<(), String>;
    /// Applies one group of commands (one command, or the body of a
    /// MULTI/EXEC), all or nothing.
    fn apply(&mut self, group: &[Effect]) -> Result<(), String>;
}

/// What [`load`] did.
#[derive(Debug, Default)]
pub struct LoadReport {
    /// Files read (base included).
    pub files: usize,
    /// Commands replayed from RESP files.
    pub commands: u64,
    /// A truncated tail that was cut off: (file, valid length).
    pub truncated: Option<(PathBuf, u64)>,
}

/// Reads the manifest of `paths`, `Ok(None)` when there is none.
pub fn read_manifest(paths: &AofPaths) -> Result<Option<Manifest>, AofError> {
    let path = paths.manifest_path();
    match std::fs::read(&path) {
        Ok(text) => Manifest::parse(&text)
            .map(Some)
            .map_err(|source| AofError::Manifest { path, source }),
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(source) => Err(AofError::Io { path, source }),
    }
}

/// Loads the AOF set of `paths` into `replayer`: the base, then every incr
/// file in manifest order. `Ok(None)` when there is no manifest.
///
/// A record cut short at the end of the *last* file is dropped with a
/// warning and the file truncated to its last complete record when
/// `load_truncated`; refused otherwise. Anything else wrong refuses, naming
/// the file and offset.
pub fn load(
    paths: &AofPaths,
    load_truncated: bool,
    replayer: &mut dyn Replayer,
) -> Result<Option<(Manifest, LoadReport)>, AofError> {
    let Some(manifest) = read_manifest(paths)? else {
        return Ok(None);
    };
    let mut report = LoadReport::default();
    let mut files: Vec<&AofFile> = manifest.base.iter().collect();
    files.extend(manifest.incrs.iter());
    for file in &files {
        let path = paths.file_path(file);
        if !path.exists() {
            return Err(AofError::MissingFile { path });
        }
    }
    let count = files.len();
    for (index, file) in files.into_iter().enumerate() {
        let path = paths.file_path(file);
        report.files += 1;
        let data = Bytes::from(std::fs::read(&path).map_err(io(&path))?);
        if file.kind == FileKind::Base && data.starts_with(b"REDIS") {
            replayer
                .load_rdb_base(&path)
                .map_err(|reason| AofError::Base {
                    path: path.clone(),
                    reason,
                })?;
            continue;
        }
        let last = index + 1 == count;
        let outcome = replay_resp(&path, &data, replayer, &mut report.commands)?;
        if let Some(valid) = outcome {
            if !last {
                return Err(AofError::Truncated {
                    path,
                    offset: valid,
                    hint: ": only the last file of the AOF may be truncated",
                });
            }
            if !load_truncated {
                return Err(AofError::Truncated {
                    path,
                    offset: valid,
                    hint: ", and aof-load-truncated is no: refusing to start \
                           (set aof-load-truncated yes to load up to that offset)",
                });
            }
            tracing::warn!(
                "AOF {} truncated at offset {valid} (last command incomplete): loaded up to {valid}, the rest is discarded",
                path.display()
            );
            let f = OpenOptions::new()
                .write(true)
                .open(&path)
                .map_err(io(&path))?;
            f.set_len(valid).map_err(io(&path))?;
            f.sync_all().map_err(io(&path))?;
            report.truncated = Some((path, valid));
        }
    }
    Ok(Some((manifest, report)))
}

fn command_name(argv: &[Bytes]) -> String {
    String::from_utf8_lossy(&argv[0]).to_ascii_uppercase()
}

/// Replays one RESP file. `Ok(Some(valid))` when it ends inside a record or
/// inside a MULTI without EXEC: everything up to `valid` was applied.
fn replay_resp(
    path: &Path,
    data: &Bytes,
    replayer: &mut dyn Replayer,
    commands: &mut u64,
) -> Result<Option<u64>, AofError> {
    let mut pos = 0usize;
    let mut db = 0usize;
    // Open MULTI: (offset of MULTI, queued effects).
    let mut multi: Option<(usize, Vec<(usize, Effect)>)> = None;
    loop {
        let read = read_record(data, pos).map_err(|e| AofError::Corrupt {
            path: path.to_owned(),
            offset: pos as u64,
            reason: e.reason.to_owned(),
        })?;
        let (argv, next) = match read {
            Read::Record(argv, next) => (argv, next),
            Read::End => {
                return Ok(multi.map(|(start, _)| start as u64));
            }
            Read::Truncated => {
                return Ok(Some(multi.map_or(pos, |(start, _)| start) as u64));
            }
        };
        let replay_err = |reason: String, offset: usize, argv: &[Bytes]| AofError::Replay {
            path: path.to_owned(),
            offset: offset as u64,
            command: command_name(argv),
            reason,
        };
        let name = argv[0].to_ascii_lowercase();
        match name.as_slice() {
            b"select" => {
                db = argv
                    .get(1)
                    .and_then(|a| std::str::from_utf8(a).ok())
                    .and_then(|s| s.parse().ok())
                    .ok_or_else(|| replay_err("invalid DB index".to_owned(), pos, &argv))?;
            }
            b"multi" => {
                if multi.is_some() {
                    return Err(replay_err(
                        "MULTI calls can not be nested".to_owned(),
                        pos,
                        &argv,
                    ));
                }
                multi = Some((pos, Vec::new()));
            }
            b"exec" => {
                let Some((_, queued)) = multi.take() else {
                    return Err(replay_err("EXEC without MULTI".to_owned(), pos, &argv));
                };
                let offset = queued.first().map_or(pos, |(o, _)| *o);
                let group: Vec<Effect> = queued.into_iter().map(|(_, e)| e).collect();
                *commands += group.len() as u64;
                if !group.is_empty() {
                    replayer
                        .apply(&group)
                        .map_err(|reason| replay_err(reason, offset, &group[0].argv))?;
                }
            }
            _ => {
                let effect = Effect { db, argv };
                match &mut multi {
                    Some((_, queued)) => queued.push((pos, effect)),
                    None => {
                        *commands += 1;
                        replayer
                            .apply(std::slice::from_ref(&effect))
                            .map_err(|reason| replay_err(reason, pos, &effect.argv))?;
                    }
                }
            }
        }
        pos = next;
    }
}

/// Writes `manifest` atomically: temp file, fsync, rename, directory fsync.
pub fn write_manifest(paths: &AofPaths, manifest: &Manifest) -> Result<(), AofError> {
    let path = paths.manifest_path();
    let temp = paths.dir.join(format!("temp-{}.manifest", paths.filename));
    {
        let mut f = File::create(&temp).map_err(io(&temp))?;
        f.write_all(manifest.to_text().as_bytes())
            .map_err(io(&temp))?;
        f.sync_all().map_err(io(&temp))?;
    }
    std::fs::rename(&temp, &path).map_err(io(&path))?;
    sync_dir(&paths.dir)
}

/// fsyncs a directory (makes renames and new files in it durable).
pub fn sync_dir(dir: &Path) -> Result<(), AofError> {
    File::open(dir).and_then(|d| d.sync_all()).map_err(io(dir))
}

/// Opens (creating it if needed) incr file `file` for appending; returns it
/// with its length.
pub fn open_incr(paths: &AofPaths, file: &AofFile) -> Result<(File, u64), AofError> {
    let path = paths.file_path(file);
    let f = OpenOptions::new()
        .create(true)
        .append(true)
        .open(&path)
        .map_err(io(&path))?;
    let len = f.metadata().map_err(io(&path))?.len();
    Ok((f, len))
}

/// Makes sure the set has an incr file to append to and returns it opened:
/// the last incr of `manifest`, or (no manifest / no incr) a new incr file
/// listed in a new manifest written before it is used.
pub fn open_for_append(
    paths: &AofPaths,
    manifest: Option<Manifest>,
) -> Result<(Manifest, File, u64), AofError> {
    std::fs::create_dir_all(&paths.dir).map_err(io(&paths.dir))?;
    let mut manifest = manifest.unwrap_or_default();
    if manifest.incrs.is_empty() {
        let seq = manifest.incr_seq() + 1;
        let file = AofFile {
            name: paths.incr_name(seq),
            seq,
            kind: FileKind::Incr,
        };
        let (f, len) = open_incr(paths, &file)?;
        f.sync_all().map_err(io(&paths.file_path(&file)))?;
        manifest.incrs.push(file);
        write_manifest(paths, &manifest)?;
        return Ok((manifest, f, len));
    }
    let last = manifest.incrs.last().cloned().expect("checked non-empty");
    let (f, len) = open_incr(paths, &last)?;
    Ok((manifest, f, len))
}

/// A rewrite in progress: the files it created and the set it replaces.
#[derive(Debug, Clone)]
pub struct RewritePlan {
    /// The manifest in force while the rewrite runs (old set + new incr).
    pub during: Manifest,
    /// The new base, to be written by the caller at
    /// [`AofPaths::file_path`].
    pub new_base: AofFile,
    /// The new incr file appends go to after the cut.
    pub new_incr: AofFile,
}

/// Step 1 of a rewrite: creates incr file N+1 and lists it in the manifest
/// after the current incr files (so a crash from here on replays the old
/// set then the new incr). Returns the plan and the opened new incr, to be
/// handed to [`AofWriter::switch_file`] at the cut.
pub fn rewrite_begin(
    paths: &AofPaths,
    current: &Manifest,
    rdb_base: bool,
) -> Result<(RewritePlan, Switch), AofError> {
    let seq = current.incr_seq() + 1;
    let new_incr = AofFile {
        name: paths.incr_name(seq),
        seq,
        kind: FileKind::Incr,
    };
    let (file, len) = open_incr(paths, &new_incr)?;
    file.sync_all().map_err(io(&paths.file_path(&new_incr)))?;
    let mut during = current.clone();
    during.incrs.push(new_incr.clone());
    write_manifest(paths, &during)?;
    let base_seq = current.base_seq() + 1;
    let new_base = AofFile {
        name: paths.base_name(base_seq, rdb_base),
        seq: base_seq,
        kind: FileKind::Base,
    };
    Ok((
        RewritePlan {
            during,
            new_base,
            new_incr,
        },
        Switch { file, len },
    ))
}

/// Step 3 of a rewrite (step 2: the caller wrote and fsynced the new base):
/// the manifest becomes new base + new incr (and any incr created after
/// it), atomically; then the files of the old set are deleted.
pub fn rewrite_commit(paths: &AofPaths, plan: &RewritePlan) -> Result<Manifest, AofError> {
    sync_dir(&paths.dir)?;
    let keep_from = plan.new_incr.seq;
    let new = Manifest {
        base: Some(plan.new_base.clone()),
        incrs: plan
            .during
            .incrs
            .iter()
            .filter(|f| f.seq >= keep_from)
            .cloned()
            .collect(),
        history: Vec::new(),
    };
    write_manifest(paths, &new)?;
    let old = plan
        .during
        .base
        .iter()
        .chain(plan.during.history.iter())
        .chain(plan.during.incrs.iter().filter(|f| f.seq < keep_from));
    for file in old {
        if file.name == plan.new_base.name {
            continue;
        }
        let path = paths.file_path(file);
        if let Err(err) = std::fs::remove_file(&path) {
            tracing::warn!("cannot delete old AOF file {}: {err}", path.display());
        }
    }
    Ok(new)
}

/// Cancels a rewrite whose base could not be written: the new incr stays
/// (appends already go there) and remains listed; nothing is lost.
pub fn rewrite_abort(paths: &AofPaths, plan: &RewritePlan) {
    let _ = std::fs::remove_file(paths.file_path(&plan.new_base));
}

#[cfg(test)]
mod tests;
