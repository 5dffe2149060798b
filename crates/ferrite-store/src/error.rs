//! The crate's error types.
//!
//! [`StoreError`] is the one error type of command execution. Its `Display`
//! text is exactly the error line Redis 7 sends (without the leading `-` and
//! the trailing CRLF), so [`crate::reply::error`] builds the reply. Callers
//! match on the variants, never on the text.

use std::time::Duration;

use thiserror::Error;

/// Why a command failed; the text is the Redis 7 error reply.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum StoreError {
    /// The command name is not in the table.
    #[error("ERR unknown command '{name}', with args beginning with: {args}")]
    UnknownCommand {
        /// The name as sent (truncated to 128 bytes, CR/LF replaced by spaces).
        name: String,
        /// `'a' 'b' ` as Redis prints the first arguments (at most ~128 bytes).
        args: String,
    },
    /// Argument count does not match the command's arity.
    #[error("ERR wrong number of arguments for '{0}' command")]
    WrongArity(&'static str),
    /// The key holds another type.
    #[error("WRONGTYPE Operation against a key holding the wrong kind of value")]
    WrongType,
    /// An integer argument or value did not parse (or is out of i64 range).
    #[error("ERR value is not an integer or out of range")]
    NotInteger,
    /// A hash field value did not parse as an integer.
    #[error("ERR hash value is not an integer")]
    HashNotInteger,
    /// A float argument or value did not parse.
    #[error("ERR value is not a valid float")]
    NotFloat,
    /// A hash field value did not parse as a float.
    #[error("ERR hash value is not a float")]
    HashNotFloat,
    /// INCRBYFLOAT/HINCRBYFLOAT produced NaN or infinity.
    #[error("ERR increment would produce NaN or Infinity")]
    NanOrInfinity,
    /// INCR family overflow.
    #[error("ERR increment or decrement would overflow")]
    Overflow,
    /// Generic syntax error.
    #[error("ERR syntax error")]
    Syntax,
    /// An expire time that is not positive or overflows (`'set'`, `'expire'`…).
    #[error("ERR invalid expire time in '{0}' command")]
    InvalidExpireTime(&'static str),
    /// RENAME and friends on a missing key.
    #[error("ERR no such key")]
    NoSuchKey,
    /// A value is out of range; the text follows Redis (`"ERR value is out of range, must be positive"`).
    #[error("ERR {0}")]
    OutOfRange(&'static str),
    /// A string would exceed `StoreConfig::string_bytes_max`.
    #[error("ERR string exceeds maximum allowed size (proto-max-bulk-len)")]
    StringTooLong,
    /// A DB index that does not exist.
    #[error("ERR DB index is out of range")]
    DbIndexOutOfRange,
    /// A transaction touched a key it did not declare.
    #[error("ERR key '{0}' is not declared in KEYS")]
    KeyNotDeclared(String),
    /// A write command inside a read-only transaction.
    #[error("ERR Write commands are not allowed from read-only scripts. (command '{0}')")]
    WriteInReadOnly(&'static str),
    /// A command that touches the whole keyspace inside a transaction that declared its keys.
    #[error("ERR command '{0}' touches the whole keyspace and cannot run with declared KEYS")]
    KeyspaceWideInKeysScope(&'static str),
    /// A command the store only describes: another layer (server, wasm) executes it.
    #[error("ERR command '{0}' is not a data command and cannot run here")]
    NotADataCommand(&'static str),
    /// A transaction could not take its lock before its deadline.
    #[error("ERR timed out waiting for the keyspace lock")]
    LockTimeout,
    /// Any other Redis error whose text is fixed (must include the code word, e.g. `"ERR …"`).
    #[error("{0}")]
    Fixed(&'static str),
    /// Any other Redis error with a computed text (must include the code word).
    #[error("{0}")]
    Message(String),
}

/// Result of a command step: an error is replied as is.
pub type StoreResult<T> = Result<T, StoreError>;

/// Why [`crate::Store::begin`] failed.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum LockError {
    /// The keys (or the whole keyspace) stayed held by another transaction
    /// until the deadline.
    #[error("ERR timed out after {waited:?} waiting for the keyspace lock")]
    Timeout {
        /// How long `begin` waited.
        waited: Duration,
    },
    /// The DB index does not exist.
    #[error("ERR DB index is out of range")]
    DbIndexOutOfRange,
    /// `Scope::Keys` with more keys than `StoreConfig::txn_keys_max`.
    #[error("ERR too many keys declared ({declared}, at most {max})")]
    TooManyKeys {
        /// Keys declared.
        declared: usize,
        /// The limit.
        max: usize,
    },
}
