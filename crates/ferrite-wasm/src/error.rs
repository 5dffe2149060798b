//! The one error type of this crate, [`WasmError`], and its stable RESP texts.

/// Everything that can go wrong loading or calling a WebAssembly function.
///
/// Each variant maps to one stable RESP error text ([`WasmError::reply_text`]),
/// documented in `docs/abi.md` §7. Runtime failures are classified from
/// [`wasmtime::Trap`] codes and from the typed errors host functions raise,
/// never by matching message strings.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum WasmError {
    /// No module is loaded under this name.
    #[error("function '{0}' not found")]
    FunctionNotFound(String),
    /// The module exists but has no callable export with this name.
    #[error("export '{export}' not found in function '{module}'")]
    ExportNotFound {
        /// The module name.
        module: String,
        /// The requested export.
        export: String,
    },
    /// A name is already loaded (and `replace` was not asked for).
    #[error("function '{0}' already exists")]
    AlreadyExists(String),
    /// A host call was refused by the function's permissions.
    #[error("{0}")]
    PermissionDenied(String),
    /// The call used up its fuel (`MAX_FUEL`).
    #[error("function exceeded its fuel limit")]
    FuelExhausted,
    /// The call ran longer than its wall-clock limit (`TIMEOUT`), in ms.
    #[error("function timed out after {0}ms")]
    Timeout(u64),
    /// The guest tried to grow its memory past `MAX_MEMORY` (bytes).
    #[error("function exceeded its memory limit of {limit} bytes")]
    MemoryLimitExceeded {
        /// The limit in bytes.
        limit: u64,
    },
    /// The guest exhausted its native stack (deep recursion).
    #[error("function exceeded its stack limit")]
    StackOverflow,
    /// The guest trapped (unreachable, integer divide by zero, …).
    #[error("wasm trap: {message}")]
    Trap {
        /// A stable short code (`unreachable`, `divide_by_zero`, …).
        code: &'static str,
        /// Human readable description.
        message: String,
    },
    /// The guest passed a pointer/length outside its memory to a host call.
    #[error("wasm trap: {0}")]
    BadPointer(String),
    /// The module failed validation or linking at load time.
    #[error("invalid module: {0}")]
    InvalidModule(String),
    /// An export's signature fits no entry convention (`docs/abi.md` §3).
    #[error("export '{name}' has unsupported signature ({reason})")]
    UnsupportedExport {
        /// The export's name.
        name: String,
        /// Why it was refused.
        reason: String,
    },
    /// The module imports something the host does not provide.
    #[error("unknown import '{module}::{name}' ({reason})")]
    UnknownImport {
        /// Import module.
        module: String,
        /// Import name.
        name: String,
        /// Why (unknown name or signature).
        reason: String,
    },
    /// Arguments do not fit the export's parameters (full reply text).
    #[error("{0}")]
    BadArguments(String),
    /// Limits, permissions or names given at load/update are invalid (full
    /// reply text).
    #[error("{0}")]
    InvalidConfig(String),
    /// The guest reported an error with `ferrite_error` (full reply text).
    #[error("{0}")]
    GuestError(String),
    /// A data command run by a host call failed (`WRONGTYPE …`, `ERR …`);
    /// the full Redis error text.
    #[error("{0}")]
    CommandError(String),
    /// The guest called WASI `proc_exit` with a non-zero code.
    #[error("function exited with code {0}")]
    Exit(i32),
    /// The keyspace could not be locked before the deadline (full reply text).
    #[error("{0}")]
    Busy(String),
    /// Internal failure of the runtime (full reply text).
    #[error("{0}")]
    Internal(String),
}

impl WasmError {
    /// The RESP error text the server sends for this error (no leading `-`,
    /// no CRLF). Texts start with an upper-case code word; see `docs/abi.md` §7.
    pub fn reply_text(&self) -> String {
        match self {
            // Already carry their own code word.
            WasmError::PermissionDenied(m)
            | WasmError::GuestError(m)
            | WasmError::CommandError(m)
            | WasmError::BadArguments(m)
            | WasmError::InvalidConfig(m)
            | WasmError::Internal(m)
            | WasmError::Busy(m) => m.clone(),
            other => format!("ERR {other}"),
        }
    }

    /// A stable, machine-friendly name of the variant (used in statistics
    /// and logs).
    pub fn kind(&self) -> &'static str {
        match self {
            WasmError::FunctionNotFound(_) => "function_not_found",
            WasmError::ExportNotFound { .. } => "export_not_found",
            WasmError::AlreadyExists(_) => "already_exists",
            WasmError::PermissionDenied(_) => "permission_denied",
            WasmError::FuelExhausted => "fuel_exhausted",
            WasmError::Timeout(_) => "timeout",
            WasmError::MemoryLimitExceeded { .. } => "memory_limit",
            WasmError::StackOverflow => "stack_overflow",
            WasmError::Trap { .. } => "trap",
            WasmError::BadPointer(_) => "bad_pointer",
            WasmError::InvalidModule(_) => "invalid_module",
            WasmError::UnsupportedExport { .. } => "unsupported_export",
            WasmError::UnknownImport { .. } => "unknown_import",
            WasmError::BadArguments(_) => "bad_arguments",
            WasmError::InvalidConfig(_) => "invalid_config",
            WasmError::GuestError(_) => "guest_error",
            WasmError::CommandError(_) => "command_error",
            WasmError::Exit(_) => "exit",
            WasmError::Busy(_) => "busy",
            WasmError::Internal(_) => "internal",
        }
    }
}

/// Normalises a guest-provided error text: kept as is when it starts with an
/// upper-case code word (`INVALID bad input`), else prefixed with `ERR `.
/// CR and LF are replaced by spaces so the text is a valid RESP error line.
pub(crate) fn normalize_error_text(raw: &[u8]) -> String {
    let text = String::from_utf8_lossy(raw).replace(['\r', '\n'], " ");
    let word = text.split(' ').next().unwrap_or("");
    let has_code = !word.is_empty()
        && word.len() < text.len()
        && word
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_');
    if has_code {
        text
    } else {
        format!("ERR {text}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_text_code_word() {
        assert_eq!(
            normalize_error_text(b"INVALID bad input"),
            "INVALID bad input"
        );
        assert_eq!(normalize_error_text(b"bad input"), "ERR bad input");
        assert_eq!(normalize_error_text(b"OOPS"), "ERR OOPS");
        assert_eq!(normalize_error_text(b"a\r\nb"), "ERR a  b");
    }

    #[test]
    fn reply_texts_are_stable() {
        assert_eq!(
            WasmError::Timeout(100).reply_text(),
            "ERR function timed out after 100ms"
        );
        assert_eq!(
            WasmError::FuelExhausted.reply_text(),
            "ERR function exceeded its fuel limit"
        );
        assert_eq!(
            WasmError::MemoryLimitExceeded { limit: 65536 }.reply_text(),
            "ERR function exceeded its memory limit of 65536 bytes"
        );
        assert_eq!(
            WasmError::PermissionDenied("NOPERM function 'f' may not write key 'k'".into())
                .reply_text(),
            "NOPERM function 'f' may not write key 'k'"
        );
    }
}
