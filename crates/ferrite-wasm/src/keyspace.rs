//! How the runtime reaches the keyspace: the [`Keyspace`] and
//! [`Transaction`] traits. The runtime never touches data any other way.
//!
//! A call begins one transaction, runs every host call's command through
//! [`Transaction::execute`] and, at the end, commits (success) or rolls back
//! (trap, timeout, limit, error reply): a call is all-or-nothing.
//! `ferrite_store::Store` implements the traits, so the runtime runs
//! embedded; the server may implement them over its own store handle.

use std::time::Instant;

use bytes::Bytes;
use ferrite_protocol::Frame;
pub use ferrite_store::KeyList;

use crate::WasmError;

/// Which keys a transaction holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyScope {
    /// Exactly these keys (the call's `KEYS`); others are refused.
    Keys(Vec<Bytes>),
    /// The whole keyspace, taken at the first key access (if any).
    Lazy,
}

/// Whether a transaction may write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AccessMode {
    /// Reads and writes.
    ReadWrite,
    /// Reads only (`WASM.CALLREAD`, `READ_ONLY`).
    ReadOnly,
}

/// Facts about one command that the permission check needs.
#[derive(Debug, Clone)]
pub struct CommandInfo<'a> {
    /// Command name as the command table spells it (lower case, `"get"`);
    /// [`CommandInfo::upper_name`] for replies.
    pub name: &'static str,
    /// The command may modify data.
    pub write: bool,
    /// The command deletes whole keys (DEL, UNLINK, GETDEL, FLUSHDB, FLUSHALL).
    pub delete: bool,
    /// The command looks at or changes the whole keyspace (KEYS, SCAN,
    /// RANDOMKEY, FLUSHDB, FLUSHALL…) rather than named keys.
    pub keyspace_wide: bool,
    /// Every key the command touches (borrowed from its argv; up to four
    /// inline, without allocating).
    pub keys: KeyList<'a>,
    /// The command-table entry, when the keyspace is a `ferrite_store::Store`:
    /// its transaction then runs the command without looking it up again
    /// ([`Transaction::execute_checked`]).
    pub spec: Option<&'static ferrite_store::CommandSpec>,
}

/// Commands that delete whole keys (capability `delete`).
pub const DELETE_COMMANDS: &[&str] = &["DEL", "UNLINK", "GETDEL", "FLUSHDB", "FLUSHALL"];

impl<'a> CommandInfo<'a> {
    /// Builds the info from a command table's answers (`name` in any case).
    pub fn new(
        name: &'static str,
        write: bool,
        keyspace_wide: bool,
        keys: impl Into<KeyList<'a>>,
    ) -> Self {
        let delete = DELETE_COMMANDS.iter().any(|d| d.eq_ignore_ascii_case(name));
        let keys = keys.into();
        CommandInfo {
            write: write || delete,
            delete,
            keyspace_wide,
            keys,
            name,
            spec: None,
        }
    }

    /// The name in upper case, as replies and COMMANDS lists spell it.
    pub fn upper_name(&self) -> String {
        self.name.to_ascii_uppercase()
    }
}

/// A keyspace the runtime can run calls against.
pub trait Keyspace: Send + Sync {
    /// Begins a transaction on database `db`, waiting for locks at most
    /// until `deadline`. Errors are reported to the client as they are
    /// (`WasmError::Busy`, `WasmError::CommandError`).
    fn begin(
        &self,
        db: usize,
        scope: KeyScope,
        mode: AccessMode,
        deadline: Instant,
    ) -> Result<Box<dyn Transaction + '_>, WasmError>;

    /// Begins a transaction only if that needs no waiting (an inline call on
    /// an I/O thread): `Ok(None)` when a lock it needs is held by someone
    /// else, or when this keyspace cannot begin without blocking. A lazy
    /// lock it would have to wait for later is reported by
    /// [`Transaction::would_block`] instead of waiting.
    fn try_begin(
        &self,
        db: usize,
        scope: KeyScope,
        mode: AccessMode,
    ) -> Result<Option<Box<dyn Transaction + '_>>, WasmError> {
        let _ = (db, scope, mode);
        Ok(None)
    }

    /// Looks a command up in the command table: `None` if unknown.
    /// `argv[0]` is the command name (any case).
    fn command_info<'a>(&self, argv: &'a [Bytes]) -> Option<CommandInfo<'a>>;

    /// [`command_info`](Self::command_info) of a command the caller names
    /// with a static string (`argv[0]` spells the same name): the typed host
    /// functions (GET, INCR, EXPIRE…). An implementation may resolve the name
    /// once and keep it. The default asks `command_info`.
    fn command_info_static<'a>(
        &self,
        name: &'static str,
        argv: &'a [Bytes],
    ) -> Option<CommandInfo<'a>> {
        let _ = name;
        self.command_info(argv)
    }
}

/// One atomic unit of work over the keyspace.
///
/// Dropping a transaction without [`commit`](Transaction::commit) must roll
/// it back.
pub trait Transaction {
    /// Runs one command (already permission-checked) and returns its reply,
    /// error replies included (`WRONGTYPE …`).
    fn execute(&mut self, argv: &[Bytes]) -> Frame;
    /// Runs a command whose `info` [`Keyspace::command_info`] just gave for
    /// this `argv` (and that passed the permission check). The default is
    /// [`execute`](Transaction::execute); a keyspace may use what `info`
    /// carries to skip its own lookup.
    fn execute_checked(&mut self, info: &CommandInfo<'_>, argv: &[Bytes]) -> Frame {
        let _ = info;
        self.execute(argv)
    }
    /// True after an [`execute`](Transaction::execute) that needed a lock it
    /// could not take without waiting, in a transaction from
    /// [`Keyspace::try_begin`]: that reply is void, the call must be rolled
    /// back and run again where it may wait.
    fn would_block(&self) -> bool {
        false
    }
    /// Makes every change permanent.
    fn commit(self: Box<Self>);
    /// Undoes every change (values and TTLs).
    fn rollback(self: Box<Self>);
}
