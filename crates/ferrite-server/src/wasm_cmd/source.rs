//! Where a module comes from: inline bytes or a path confined to the module
//! directory.

use std::path::{Component, Path, PathBuf};

/// The four bytes every WebAssembly binary starts with.
pub const WASM_MAGIC: &[u8; 4] = b"\0asm";

/// Longest accepted module path argument, in bytes.
pub const PATH_BYTES_MAX: usize = 4096;

/// The second argument of WASM.LOAD: module bytes or a path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ModuleSource<'a> {
    Bytes(&'a [u8]),
    Path(&'a str),
}

/// Tells bytes from a path by the wasm magic number.
pub fn classify(arg: &[u8]) -> Result<ModuleSource<'_>, SourceError> {
    if arg.starts_with(WASM_MAGIC) {
        return Ok(ModuleSource::Bytes(arg));
    }
    if arg.is_empty() || arg.len() > PATH_BYTES_MAX || arg.contains(&0) {
        return Err(SourceError::NotModule);
    }
    match std::str::from_utf8(arg) {
        Ok(p) => Ok(ModuleSource::Path(p)),
        Err(_) => Err(SourceError::NotModule),
    }
}

/// Why a module source was refused. `Display` is the full error reply.
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    #[error("ERR module is neither WebAssembly bytes (\\0asm) nor a path")]
    NotModule,
    #[error("ERR no module directory is configured (set [wasm] module_dir); use WASM.LOADB or pass bytes")]
    NoModuleDir,
    #[error("ERR module path '{0}' escapes the module directory ('..' is not allowed)")]
    DotDot(String),
    #[error("ERR module path '{0}' is outside the module directory")]
    Outside(String),
    #[error("ERR cannot read module '{path}': {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error("ERR module '{path}' is {bytes} bytes, more than the limit of {limit} bytes")]
    TooLarge {
        path: String,
        bytes: u64,
        limit: u64,
    },
}

/// Resolves `requested` inside `module_dir` and returns the canonical path.
///
/// Relative paths are taken relative to the module directory; absolute paths
/// must lie inside it. `..` components are refused outright, and the
/// canonical path (symlinks resolved) must still be inside the directory.
pub fn resolve(module_dir: &Path, requested: &str) -> Result<PathBuf, SourceError> {
    let req = Path::new(requested);
    if req.components().any(|c| matches!(c, Component::ParentDir)) {
        return Err(SourceError::DotDot(requested.to_string()));
    }
    let dir = module_dir
        .canonicalize()
        .map_err(|source| SourceError::Io {
            path: module_dir.display().to_string(),
            source,
        })?;
    let joined = if req.is_absolute() {
        req.to_path_buf()
    } else {
        dir.join(req)
    };
    if req.is_absolute() && !joined.starts_with(&dir) && !joined.starts_with(module_dir) {
        return Err(SourceError::Outside(requested.to_string()));
    }
    let canonical = joined.canonicalize().map_err(|source| SourceError::Io {
        path: requested.to_string(),
        source,
    })?;
    if !canonical.starts_with(&dir) {
        return Err(SourceError::Outside(requested.to_string()));
    }
    Ok(canonical)
}

/// Reads a module file, refusing files larger than `module_bytes_max`
/// before reading them.
pub fn read_module(path: &Path, module_bytes_max: u64) -> Result<Vec<u8>, SourceError> {
    let shown = || path.display().to_string();
    let meta = std::fs::metadata(path).map_err(|source| SourceError::Io {
        path: shown(),
        source,
    })?;
    if meta.len() > module_bytes_max {
        return Err(SourceError::TooLarge {
            path: shown(),
            bytes: meta.len(),
            limit: module_bytes_max,
        });
    }
    std::fs::read(path).map_err(|source| SourceError::Io {
        path: shown(),
        source,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn magic_tells_bytes_from_paths() {
        assert_eq!(
            classify(b"\0asm\x01\0\0\0").unwrap(),
            ModuleSource::Bytes(b"\0asm\x01\0\0\0")
        );
        assert_eq!(
            classify(b"rate_limit.wasm").unwrap(),
            ModuleSource::Path("rate_limit.wasm")
        );
        assert!(matches!(classify(b""), Err(SourceError::NotModule)));
        assert!(matches!(classify(b"a\0b"), Err(SourceError::NotModule)));
    }

    #[test]
    fn paths_are_confined() {
        let root = std::env::temp_dir().join(format!("ferrite-src-test-{}", std::process::id()));
        let dir = root.join("modules");
        std::fs::create_dir_all(dir.join("sub")).unwrap();
        std::fs::write(dir.join("f.wasm"), b"\0asm").unwrap();
        std::fs::write(dir.join("sub/g.wasm"), b"\0asm").unwrap();
        std::fs::write(root.join("secret.wasm"), b"\0asm").unwrap();

        assert!(resolve(&dir, "f.wasm").unwrap().ends_with("modules/f.wasm"));
        assert!(resolve(&dir, "sub/g.wasm").is_ok());
        let abs = dir.join("f.wasm");
        assert!(resolve(&dir, abs.to_str().unwrap()).is_ok());
        assert!(matches!(
            resolve(&dir, "../secret.wasm"),
            Err(SourceError::DotDot(_))
        ));
        assert!(matches!(
            resolve(&dir, "sub/../../secret.wasm"),
            Err(SourceError::DotDot(_))
        ));
        let outside = root.join("secret.wasm");
        assert!(matches!(
            resolve(&dir, outside.to_str().unwrap()),
            Err(SourceError::Outside(_))
        ));
        assert!(matches!(
            resolve(&dir, "/etc/passwd"),
            Err(SourceError::Outside(_))
        ));
        #[cfg(unix)]
        {
            std::os::unix::fs::symlink(root.join("secret.wasm"), dir.join("link.wasm")).unwrap();
            assert!(matches!(
                resolve(&dir, "link.wasm"),
                Err(SourceError::Outside(_))
            ));
        }
        assert!(matches!(
            resolve(&dir, "missing.wasm"),
            Err(SourceError::Io { .. })
        ));
        assert!(matches!(
            read_module(&dir.join("f.wasm"), 2),
            Err(SourceError::TooLarge { .. })
        ));
        assert_eq!(read_module(&dir.join("f.wasm"), 4).unwrap(), b"\0asm");
        std::fs::remove_dir_all(&root).unwrap();
    }
}
