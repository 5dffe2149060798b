//! The command table: one [`CommandSpec`] per command, for every layer.
//!
//! # One table for all layers
//!
//! The table lists every command Ferrite knows, including those another layer
//! executes (connection/server commands in `ferrite-server`, `WASM.*` in
//! `ferrite-wasm`): their specs have `handler: None` and `layer` says who runs
//! them. COMMAND COUNT/INFO/DOCS/GETKEYS and permission checks therefore read
//! one static table ([`lookup`], [`commands`]); the server dispatches
//! `Layer::Server`/`Layer::Wasm` commands itself and hands `Layer::Store`
//! ones to [`crate::Store::execute`] (which refuses the others with
//! [`StoreError::NotADataCommand`]).
//!
//! Each family file (`strings.rs`, `keys.rs`, …) exports `COMMANDS: &[CommandSpec]`;
//! registering a family is one line in [`FAMILIES`]. The metadata of other
//! layers' commands lives in this table too: `server.rs` (written by the
//! ferrite-server side) and, for `WASM.*`, a `wasm.rs` family built the same
//! way with [`CommandSpec::external`] and [`CommandSpec::numkeys_at`].
//!
//! Arity, flags, key positions, ACL categories, summaries, `since` and
//! `group` of the data commands are Redis 7.0.15's; `tests/redis_diff.rs`
//! (`command_table_matches_redis`) checks them against a running redis-server.

use std::collections::HashMap;
use std::sync::OnceLock;

use bytes::Bytes;

use crate::ctx::Ctx;
use crate::error::{StoreError, StoreResult};
use crate::Frame;

pub mod hash;
pub mod keys;
pub mod list;
pub mod server;
pub mod set;
pub mod strings;
pub mod zset;

/// Every family's table; add a family with one line here.
const FAMILIES: &[&[CommandSpec]] = &[
    strings::COMMANDS,
    keys::COMMANDS,
    hash::COMMANDS,
    list::COMMANDS,
    set::COMMANDS,
    zset::COMMANDS,
    server::COMMANDS,
];

/// A data command: parse `argv` (argv\[0\] is the command name), apply through
/// `ctx`, return the reply. Errors are replied as their Redis text.
pub type Handler = fn(&mut Ctx<'_>, &[Bytes]) -> StoreResult<Frame>;

/// Which layer executes a command.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layer {
    /// `ferrite-store` (data commands; `handler` is set).
    Store,
    /// `ferrite-server` (connection, server, transaction commands).
    Server,
    /// `ferrite-wasm` (`WASM.*`).
    Wasm,
}

/// Command flags as Redis COMMAND INFO names them, plus Ferrite-internal ones.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CommandFlags(u32);

impl CommandFlags {
    /// `write`
    pub const WRITE: Self = Self(1 << 0);
    /// `readonly`
    pub const READONLY: Self = Self(1 << 1);
    /// `denyoom`
    pub const DENYOOM: Self = Self(1 << 2);
    /// `admin`
    pub const ADMIN: Self = Self(1 << 3);
    /// `pubsub`
    pub const PUBSUB: Self = Self(1 << 4);
    /// `noscript`
    pub const NOSCRIPT: Self = Self(1 << 5);
    /// `blocking`
    pub const BLOCKING: Self = Self(1 << 6);
    /// `loading`
    pub const LOADING: Self = Self(1 << 7);
    /// `stale`
    pub const STALE: Self = Self(1 << 8);
    /// `skip_monitor`
    pub const SKIP_MONITOR: Self = Self(1 << 9);
    /// `skip_slowlog`
    pub const SKIP_SLOWLOG: Self = Self(1 << 10);
    /// `fast`
    pub const FAST: Self = Self(1 << 11);
    /// `no_auth`
    pub const NO_AUTH: Self = Self(1 << 12);
    /// `may_replicate`
    pub const MAY_REPLICATE: Self = Self(1 << 13);
    /// `no_mandatory_keys`
    pub const NO_MANDATORY_KEYS: Self = Self(1 << 14);
    /// `no_async_loading`
    pub const NO_ASYNC_LOADING: Self = Self(1 << 15);
    /// `no_multi`
    pub const NO_MULTI: Self = Self(1 << 16);
    /// `movablekeys` (keys found through a numkeys argument, see [`CommandSpec::numkeys_index`]).
    pub const MOVABLE_KEYS: Self = Self(1 << 17);
    /// `allow_busy`
    pub const ALLOW_BUSY: Self = Self(1 << 18);
    /// Ferrite-internal, not reported: the command reads or writes the whole
    /// keyspace (KEYS, SCAN, DBSIZE, FLUSH*, RANDOMKEY), so it locks every shard
    /// and waits for every transaction.
    pub const KEYSPACE: Self = Self(1 << 31);

    /// Names reported by COMMAND INFO, in Redis's order.
    const NAMES: &'static [(Self, &'static str)] = &[
        (Self::WRITE, "write"),
        (Self::READONLY, "readonly"),
        (Self::DENYOOM, "denyoom"),
        (Self::ADMIN, "admin"),
        (Self::PUBSUB, "pubsub"),
        (Self::NOSCRIPT, "noscript"),
        (Self::BLOCKING, "blocking"),
        (Self::LOADING, "loading"),
        (Self::STALE, "stale"),
        (Self::SKIP_MONITOR, "skip_monitor"),
        (Self::SKIP_SLOWLOG, "skip_slowlog"),
        (Self::FAST, "fast"),
        (Self::NO_AUTH, "no_auth"),
        (Self::MAY_REPLICATE, "may_replicate"),
        (Self::NO_MANDATORY_KEYS, "no_mandatory_keys"),
        (Self::NO_ASYNC_LOADING, "no_async_loading"),
        (Self::NO_MULTI, "no_multi"),
        (Self::MOVABLE_KEYS, "movablekeys"),
        (Self::ALLOW_BUSY, "allow_busy"),
    ];

    /// No flags.
    pub const NONE: Self = Self(0);

    /// Union (usable in `const` tables).
    pub const fn with(self, other: Self) -> Self {
        Self(self.0 | other.0)
    }

    /// Whether all flags of `other` are set.
    pub const fn contains(self, other: Self) -> bool {
        self.0 & other.0 == other.0
    }

    /// The flag names COMMAND INFO reports, in Redis's order.
    pub fn names(self) -> Vec<&'static str> {
        Self::NAMES
            .iter()
            .filter(|(flag, _)| self.contains(*flag))
            .map(|(_, name)| *name)
            .collect()
    }
}

impl std::ops::BitOr for CommandFlags {
    type Output = Self;
    fn bitor(self, rhs: Self) -> Self {
        self.with(rhs)
    }
}

/// Everything known about one command.
#[derive(Debug)]
pub struct CommandSpec {
    /// Lower-case name (`"get"`, `"wasm.call"`).
    pub name: &'static str,
    /// Redis arity: `n` = exactly n arguments including the name, `-n` = at least n.
    pub arity: i32,
    /// Flags.
    pub flags: CommandFlags,
    /// Position of the first key (0 = none), as COMMAND INFO reports.
    pub first_key: i32,
    /// Position of the last key (negative = from the end: -1 last argument).
    pub last_key: i32,
    /// Step between keys.
    pub step: i32,
    /// For `movablekeys` commands (`WASM.CALL f numkeys k1 k2 …`): index of the
    /// numkeys argument; the keys follow it. 0 = not such a command.
    pub numkeys_index: usize,
    /// Command group (`string`, `generic`, `hash`, `set`, `list`, `sorted-set`,
    /// `connection`, `server`, `transactions`, `scripting`).
    pub group: &'static str,
    /// One-line summary (COMMAND DOCS).
    pub summary: &'static str,
    /// Redis version that introduced the command (COMMAND DOCS `since`).
    pub since: &'static str,
    /// ACL categories beyond those implied by group and flags (e.g. `"@keyspace"`, `"@dangerous"`).
    pub extra_acl: &'static [&'static str],
    /// Subcommands (CLIENT ID, CONFIG GET…), with names like `"client|id"`.
    pub subcommands: &'static [CommandSpec],
    /// Who executes it.
    pub layer: Layer,
    /// The implementation for `Layer::Store` commands.
    pub handler: Option<Handler>,
}

impl CommandSpec {
    /// A data command spec with the common fields; chain `.acl(..)`, `.since(..)`.
    #[allow(clippy::too_many_arguments)] // reason: a const table row; named builders would triple its length
    pub const fn data(
        name: &'static str,
        arity: i32,
        flags: CommandFlags,
        keys: (i32, i32, i32),
        group: &'static str,
        summary: &'static str,
        handler: Handler,
    ) -> CommandSpec {
        CommandSpec {
            name,
            arity,
            flags,
            first_key: keys.0,
            last_key: keys.1,
            step: keys.2,
            numkeys_index: 0,
            group,
            summary,
            since: "1.0.0",
            extra_acl: &[],
            subcommands: &[],
            layer: Layer::Store,
            handler: Some(handler),
        }
    }

    /// A spec for a command another layer executes.
    pub const fn external(
        layer: Layer,
        name: &'static str,
        arity: i32,
        flags: CommandFlags,
        keys: (i32, i32, i32),
        group: &'static str,
        summary: &'static str,
    ) -> CommandSpec {
        CommandSpec {
            name,
            arity,
            flags,
            first_key: keys.0,
            last_key: keys.1,
            step: keys.2,
            numkeys_index: 0,
            group,
            summary,
            since: "1.0.0",
            extra_acl: &[],
            subcommands: &[],
            layer,
            handler: None,
        }
    }

    /// Sets `since`.
    pub const fn since(mut self, version: &'static str) -> CommandSpec {
        self.since = version;
        self
    }

    /// Sets extra ACL categories.
    pub const fn acl(mut self, categories: &'static [&'static str]) -> CommandSpec {
        self.extra_acl = categories;
        self
    }

    /// Sets subcommands.
    pub const fn subcommands(mut self, subs: &'static [CommandSpec]) -> CommandSpec {
        self.subcommands = subs;
        self
    }

    /// Makes keys follow a numkeys argument at `index` (sets `movablekeys`).
    pub const fn numkeys_at(mut self, index: usize) -> CommandSpec {
        self.numkeys_index = index;
        self.flags = self.flags.with(CommandFlags::MOVABLE_KEYS);
        self
    }

    /// Whether the command writes.
    pub fn is_write(&self) -> bool {
        self.flags.contains(CommandFlags::WRITE)
    }

    /// Whether the command touches the whole keyspace (see [`CommandFlags::KEYSPACE`]).
    pub fn is_keyspace_wide(&self) -> bool {
        self.flags.contains(CommandFlags::KEYSPACE)
    }

    /// Whether `argc` (including the name) satisfies the arity.
    pub fn arity_ok(&self, argc: usize) -> bool {
        let argc = i64::try_from(argc).unwrap_or(i64::MAX);
        let arity = i64::from(self.arity);
        if arity >= 0 {
            argc == arity
        } else {
            argc >= -arity
        }
    }

    /// The key arguments of `argv` (COMMAND GETKEYS, locking, permissions).
    /// Positions beyond `argv` are ignored; a bad numkeys yields no keys.
    pub fn keys<'a>(&self, argv: &'a [Bytes]) -> Vec<&'a Bytes> {
        if self.numkeys_index > 0 {
            // Fixed keys before numkeys (ZUNIONSTORE's destination), then the counted ones.
            let mut keys: Vec<&'a Bytes> = Vec::new();
            if self.first_key > 0 && self.step > 0 {
                let mut i = self.first_key as usize;
                while i <= self.last_key.max(self.first_key) as usize && i < self.numkeys_index && i < argv.len() {
                    keys.push(&argv[i]);
                    i += self.step as usize;
                }
            }
            let Some(n) = argv
                .get(self.numkeys_index)
                .and_then(|b| std::str::from_utf8(b).ok())
                .and_then(|s| s.parse::<usize>().ok())
            else {
                return keys;
            };
            let start = self.numkeys_index + 1;
            let end = start.saturating_add(n).min(argv.len());
            keys.extend(argv.get(start..end).unwrap_or(&[]).iter());
            return keys;
        }
        if self.first_key <= 0 || self.step <= 0 {
            return Vec::new();
        }
        let argc = argv.len() as i64;
        let first = i64::from(self.first_key);
        let last = if self.last_key < 0 {
            argc + i64::from(self.last_key)
        } else {
            i64::from(self.last_key).min(argc - 1)
        };
        let mut keys = Vec::new();
        let mut i = first;
        while i <= last && i < argc {
            keys.push(&argv[i as usize]);
            i += i64::from(self.step);
        }
        keys
    }

    /// ACL categories in Redis's order (`@keyspace @read @string @fast`…).
    pub fn acl_categories(&self) -> Vec<&'static str> {
        const ORDER: &[&str] = &[
            "@keyspace",
            "@read",
            "@write",
            "@set",
            "@sortedset",
            "@list",
            "@hash",
            "@string",
            "@bitmap",
            "@hyperloglog",
            "@geo",
            "@stream",
            "@pubsub",
            "@admin",
            "@fast",
            "@slow",
            "@blocking",
            "@dangerous",
            "@connection",
            "@transaction",
            "@scripting",
        ];
        let mut have: Vec<&'static str> = self.extra_acl.to_vec();
        if self.flags.contains(CommandFlags::WRITE) {
            have.push("@write");
        }
        if self.flags.contains(CommandFlags::READONLY) && self.group != "scripting" {
            have.push("@read");
        }
        if self.flags.contains(CommandFlags::ADMIN) {
            have.push("@admin");
            have.push("@dangerous");
        }
        if self.flags.contains(CommandFlags::PUBSUB) {
            have.push("@pubsub");
        }
        if self.flags.contains(CommandFlags::FAST) {
            have.push("@fast");
        }
        if self.flags.contains(CommandFlags::BLOCKING) {
            have.push("@blocking");
        }
        if !self.flags.contains(CommandFlags::FAST) {
            have.push("@slow");
        }
        match self.group {
            "string" => have.push("@string"),
            "hash" => have.push("@hash"),
            "set" => have.push("@set"),
            "list" => have.push("@list"),
            "sorted-set" => have.push("@sortedset"),
            "connection" => have.push("@connection"),
            "transactions" => have.push("@transaction"),
            "scripting" => have.push("@scripting"),
            _ => {}
        }
        ORDER
            .iter()
            .copied()
            .filter(|c| have.contains(c))
            .collect()
    }
}

fn table() -> &'static HashMap<&'static str, &'static CommandSpec> {
    static TABLE: OnceLock<HashMap<&'static str, &'static CommandSpec>> = OnceLock::new();
    TABLE.get_or_init(|| {
        let mut map = HashMap::new();
        for spec in FAMILIES.iter().flat_map(|f| f.iter()) {
            debug_assert_eq!(spec.name, spec.name.to_ascii_lowercase());
            let previous = map.insert(spec.name, spec);
            assert!(previous.is_none(), "command {} registered twice", spec.name);
        }
        map
    })
}

/// One step of HSCAN/SSCAN/ZSCAN over an index-ordered collection of `len`
/// elements: the positions to visit (highest first) and the next cursor.
/// Cursor 0 starts; `r > 0` means positions `[0, r)` remain. Visiting from
/// the end keeps the SCAN guarantee under `swap_remove`: an element present
/// for the whole iteration is returned at least once.
pub fn scan_positions(len: usize, cursor: u64, count: usize) -> (std::ops::Range<usize>, u64) {
    let remaining = if cursor == 0 {
        len
    } else {
        usize::try_from(cursor).unwrap_or(usize::MAX).min(len)
    };
    let start = remaining.saturating_sub(count.max(1));
    (start..remaining, start as u64)
}

/// Longest command name accepted by [`lookup`] (bytes).
const NAME_BYTES_MAX: usize = 64;

/// Finds a command by name, ASCII case-insensitively.
///
/// ```
/// let spec = ferrite_store::lookup(b"GeT").unwrap();
/// assert_eq!(spec.name, "get");
/// assert!(ferrite_store::lookup(b"nope").is_none());
/// ```
pub fn lookup(name: &[u8]) -> Option<&'static CommandSpec> {
    if name.len() > NAME_BYTES_MAX {
        return None;
    }
    let mut buf = [0u8; NAME_BYTES_MAX];
    let lower = &mut buf[..name.len()];
    lower.copy_from_slice(name);
    lower.make_ascii_lowercase();
    let lower = std::str::from_utf8(lower).ok()?;
    table().get(lower).copied()
}

/// Every command (top level, subcommands inside), in no particular order.
pub fn commands() -> impl Iterator<Item = &'static CommandSpec> {
    table().values().copied()
}

/// Looks up `argv[0]` and checks arity: the unknown-command and arity errors
/// exactly as Redis 7 words them.
pub fn resolve(argv: &[Bytes]) -> StoreResult<&'static CommandSpec> {
    let Some(name) = argv.first() else {
        return Err(unknown_command(b"", &[]));
    };
    let Some(spec) = lookup(name) else {
        return Err(unknown_command(name, &argv[1..]));
    };
    if !spec.arity_ok(argv.len()) {
        return Err(StoreError::WrongArity(spec.name));
    }
    Ok(spec)
}

/// Redis's `%.128s` of a C string: stops at NUL, at most 128 bytes; CR/LF
/// become spaces (error replies are one line).
fn c_string_prefix(bytes: &[u8], max: usize) -> String {
    let end = bytes.iter().position(|&b| b == 0).unwrap_or(bytes.len()).min(max);
    let text: Vec<u8> = bytes[..end]
        .iter()
        .map(|&b| if b == b'\r' || b == b'\n' { b' ' } else { b })
        .collect();
    String::from_utf8_lossy(&text).into_owned()
}

/// The "unknown command" error (Redis 7.0 `processCommand`).
pub fn unknown_command(name: &[u8], args: &[Bytes]) -> StoreError {
    let mut listed = String::new();
    for arg in args {
        if listed.len() >= 128 {
            break;
        }
        let room = 128 - listed.len();
        listed.push('\'');
        listed.push_str(&c_string_prefix(arg, room));
        listed.push_str("' ");
    }
    StoreError::UnknownCommand {
        name: c_string_prefix(name, 128),
        args: listed,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn argv(parts: &[&str]) -> Vec<Bytes> {
        parts.iter().map(|p| Bytes::copy_from_slice(p.as_bytes())).collect()
    }

    #[test]
    fn unknown_command_text() {
        let err = resolve(&argv(&["foo", "a", "b"])).unwrap_err();
        assert_eq!(
            err.to_string(),
            "ERR unknown command 'foo', with args beginning with: 'a' 'b' "
        );
        let err = resolve(&argv(&["foo"])).unwrap_err();
        assert_eq!(err.to_string(), "ERR unknown command 'foo', with args beginning with: ");
    }

    #[test]
    fn arity_text() {
        let err = resolve(&argv(&["GET"])).unwrap_err();
        assert_eq!(err.to_string(), "ERR wrong number of arguments for 'get' command");
    }

    #[test]
    fn keys_positions() {
        let spec = CommandSpec::external(Layer::Server, "x", -2, CommandFlags::WRITE, (1, -1, 2), "string", "");
        let a = argv(&["mset", "k1", "v1", "k2", "v2"]);
        assert_eq!(spec.keys(&a), vec![&a[1], &a[3]]);
        let spec = CommandSpec::external(Layer::Wasm, "y", -3, CommandFlags::WRITE, (0, 0, 0), "scripting", "")
            .numkeys_at(2);
        let a = argv(&["wasm.call", "f", "2", "a", "b", "arg"]);
        assert_eq!(spec.keys(&a), vec![&a[3], &a[4]]);
        let a = argv(&["wasm.call", "f", "9", "a"]);
        assert_eq!(spec.keys(&a), vec![&a[3]]);
        let a = argv(&["wasm.call", "f", "x", "a"]);
        assert!(spec.keys(&a).is_empty());
        let get = lookup(b"get").unwrap();
        let a = argv(&["get", "k"]);
        assert_eq!(get.keys(&a), vec![&a[1]]);
    }

    #[test]
    fn table_is_consistent() {
        for spec in commands() {
            assert_eq!(spec.layer == Layer::Store, spec.handler.is_some(), "{}", spec.name);
            assert!(spec.arity != 0, "{}", spec.name);
            if spec.layer == Layer::Store {
                assert!(
                    spec.is_write() != spec.flags.contains(CommandFlags::READONLY),
                    "{} must be exactly one of write/readonly",
                    spec.name
                );
            }
        }
    }
}
