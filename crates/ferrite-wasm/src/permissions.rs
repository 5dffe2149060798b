//! What a function may do: capabilities, key patterns, READ_ONLY, command
//! allow/deny lists and the HTTP host allow-list. Checked in one place
//! ([`FunctionPermissions::check`]) for every host call.

use std::fmt;

use crate::keyspace::CommandInfo;
use crate::WasmError;

/// Most key patterns, command names or HTTP hosts a permission set may hold.
pub const PERMISSION_ITEMS_MAX: usize = 1024;

/// One capability (seed: `CAPABILITIES read write delete http time random log all`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Capability {
    /// Read keys.
    Read,
    /// Write keys.
    Write,
    /// Delete keys (DEL, UNLINK, GETDEL, FLUSHDB, FLUSHALL).
    Delete,
    /// HTTP requests (`ferrite_http`) to allow-listed hosts.
    Http,
    /// Read the clock (`ferrite_time_millis`, WASI clocks).
    Time,
    /// Random numbers (`ferrite_random*`, WASI `random_get`).
    Random,
    /// Write to the server log (`ferrite_log`, WASI stdout/stderr).
    Log,
}

impl Capability {
    /// Every capability, in display order.
    pub const ALL: [Capability; 7] = [
        Capability::Read,
        Capability::Write,
        Capability::Delete,
        Capability::Http,
        Capability::Time,
        Capability::Random,
        Capability::Log,
    ];

    /// Lower-case name as used by `CAPABILITIES`.
    pub fn name(self) -> &'static str {
        match self {
            Capability::Read => "read",
            Capability::Write => "write",
            Capability::Delete => "delete",
            Capability::Http => "http",
            Capability::Time => "time",
            Capability::Random => "random",
            Capability::Log => "log",
        }
    }

    fn bit(self) -> u8 {
        1 << (self as u8)
    }
}

/// A set of [`Capability`] values.
#[derive(Clone, Copy, PartialEq, Eq, Default)]
pub struct Capabilities(u8);

impl Capabilities {
    /// No capability.
    pub const fn none() -> Self {
        Capabilities(0)
    }

    /// Every capability (`all`).
    pub fn all() -> Self {
        Capability::ALL
            .iter()
            .fold(Capabilities(0), |c, &x| c.with(x))
    }

    /// Builds a set from a list.
    pub fn from_list(list: &[Capability]) -> Self {
        list.iter().fold(Capabilities(0), |c, &x| c.with(x))
    }

    /// Parses case-insensitive names (`read`, …, `all`).
    ///
    /// ```
    /// use ferrite_wasm::{Capabilities, Capability};
    /// let caps = Capabilities::parse(&["READ", "log"]).unwrap();
    /// assert!(caps.contains(Capability::Log) && !caps.contains(Capability::Write));
    /// assert_eq!(Capabilities::parse(&["all"]).unwrap(), Capabilities::all());
    /// assert!(Capabilities::parse(&["fly"]).is_err());
    /// ```
    pub fn parse<S: AsRef<str>>(names: &[S]) -> Result<Self, WasmError> {
        let mut caps = Capabilities(0);
        for name in names {
            let name = name.as_ref();
            if name.eq_ignore_ascii_case("all") {
                caps = Capabilities::all();
                continue;
            }
            let cap = Capability::ALL
                .iter()
                .find(|c| c.name().eq_ignore_ascii_case(name))
                .ok_or_else(|| {
                    WasmError::InvalidConfig(format!("ERR unknown capability '{name}'"))
                })?;
            caps = caps.with(*cap);
        }
        Ok(caps)
    }

    /// This set plus `cap`.
    #[must_use]
    pub fn with(self, cap: Capability) -> Self {
        Capabilities(self.0 | cap.bit())
    }

    /// This set minus `cap`.
    #[must_use]
    pub fn without(self, cap: Capability) -> Self {
        Capabilities(self.0 & !cap.bit())
    }

    /// Whether `cap` is in the set.
    pub fn contains(self, cap: Capability) -> bool {
        self.0 & cap.bit() != 0
    }

    /// The capabilities in the set, in display order.
    pub fn iter(self) -> impl Iterator<Item = Capability> {
        Capability::ALL
            .into_iter()
            .filter(move |c| self.contains(*c))
    }
}

impl fmt::Debug for Capabilities {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list()
            .entries(self.iter().map(Capability::name))
            .finish()
    }
}

/// Default permissions of functions loaded without explicit ones
/// (seed `[wasm.security] default_permissions`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DefaultPermissions {
    /// `read` and `log` only (the default).
    #[default]
    Restrictive,
    /// Every capability except `http` (which needs `allow_network`).
    Permissive,
}

/// Permissions of one function.
///
/// ```
/// use ferrite_wasm::{Capability, FunctionPermissions};
/// let p = FunctionPermissions::read_write()
///     .with_allowed_keys(vec!["rate:*".to_string(), "!rate:admin".to_string()]);
/// assert!(p.key_allowed(b"rate:user:1"));
/// assert!(!p.key_allowed(b"rate:admin"));
/// assert!(!p.key_allowed(b"other"));
/// assert!(p.capabilities.contains(Capability::Write));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FunctionPermissions {
    /// Granted capabilities.
    pub capabilities: Capabilities,
    /// Allow patterns (Redis glob). Empty means no key at all.
    pub allowed_keys: Vec<String>,
    /// Deny patterns (Redis glob); a key matching one is refused even when
    /// an allow pattern matches. `with_allowed_keys` puts `!pattern` items here.
    pub denied_keys: Vec<String>,
    /// Refuse every write and delete (`READ_ONLY`).
    pub read_only: bool,
    /// If set, only these commands (upper case) may run (`COMMANDS`).
    pub allowed_commands: Option<Vec<String>>,
    /// These commands (upper case) may never run (`DENY_COMMANDS`).
    pub denied_commands: Vec<String>,
    /// Hosts `ferrite_http` may reach (needs the `http` capability).
    pub http_allow_hosts: Vec<String>,
}

impl FunctionPermissions {
    fn with_caps(caps: Capabilities) -> Self {
        FunctionPermissions {
            capabilities: caps,
            allowed_keys: vec!["*".to_string()],
            denied_keys: Vec::new(),
            read_only: false,
            allowed_commands: None,
            denied_commands: Vec::new(),
            http_allow_hosts: Vec::new(),
        }
    }

    /// `read`, `write`, `delete` and `log` on every key.
    pub fn read_write() -> Self {
        Self::with_caps(Capabilities::from_list(&[
            Capability::Read,
            Capability::Write,
            Capability::Delete,
            Capability::Log,
        ]))
    }

    /// `read` and `log` on every key, and READ_ONLY.
    pub fn read_only() -> Self {
        FunctionPermissions {
            read_only: true,
            ..Self::with_caps(Capabilities::from_list(&[
                Capability::Read,
                Capability::Log,
            ]))
        }
    }

    /// The restrictive default: `read` and `log` on every key.
    pub fn restrictive() -> Self {
        Self::with_caps(Capabilities::from_list(&[
            Capability::Read,
            Capability::Log,
        ]))
    }

    /// The permissive default: every capability but `http`, on every key.
    pub fn permissive() -> Self {
        Self::with_caps(Capabilities::all().without(Capability::Http))
    }

    /// Exactly these capabilities, on every key.
    pub fn with_capabilities_only(caps: Capabilities) -> Self {
        Self::with_caps(caps)
    }

    /// The permissions for a [`DefaultPermissions`] policy.
    pub fn default_for(policy: DefaultPermissions) -> Self {
        match policy {
            DefaultPermissions::Restrictive => Self::restrictive(),
            DefaultPermissions::Permissive => Self::permissive(),
        }
    }

    /// Replaces the key patterns. Items starting with `!` are deny patterns.
    /// If only deny patterns are given, every other key is allowed.
    #[must_use]
    pub fn with_allowed_keys(mut self, patterns: Vec<String>) -> Self {
        let (deny, allow): (Vec<String>, Vec<String>) =
            patterns.into_iter().partition(|p| p.starts_with('!'));
        self.denied_keys = deny.into_iter().map(|p| p[1..].to_string()).collect();
        self.allowed_keys = if allow.is_empty() {
            vec!["*".to_string()]
        } else {
            allow
        };
        self
    }

    /// Replaces the capabilities.
    #[must_use]
    pub fn with_capabilities(mut self, caps: Capabilities) -> Self {
        self.capabilities = caps;
        self
    }

    /// Sets the COMMANDS allow-list (names are upper-cased).
    #[must_use]
    pub fn with_allowed_commands(mut self, commands: Vec<String>) -> Self {
        self.allowed_commands = Some(
            commands
                .into_iter()
                .map(|c| c.to_ascii_uppercase())
                .collect(),
        );
        self
    }

    /// Sets DENY_COMMANDS (names are upper-cased).
    #[must_use]
    pub fn with_denied_commands(mut self, commands: Vec<String>) -> Self {
        self.denied_commands = commands
            .into_iter()
            .map(|c| c.to_ascii_uppercase())
            .collect();
        self
    }

    /// Sets READ_ONLY.
    #[must_use]
    pub fn with_read_only(mut self, read_only: bool) -> Self {
        self.read_only = read_only;
        self
    }

    /// Sets the HTTP host allow-list.
    #[must_use]
    pub fn with_http_hosts(mut self, hosts: Vec<String>) -> Self {
        self.http_allow_hosts = hosts;
        self
    }

    /// Checks the item counts.
    pub fn validate(&self) -> Result<(), WasmError> {
        let counts = [
            self.allowed_keys.len(),
            self.denied_keys.len(),
            self.allowed_commands.as_ref().map_or(0, Vec::len),
            self.denied_commands.len(),
            self.http_allow_hosts.len(),
        ];
        if counts.iter().any(|&n| n > PERMISSION_ITEMS_MAX) {
            return Err(WasmError::InvalidConfig(format!(
                "ERR at most {PERMISSION_ITEMS_MAX} patterns, commands or hosts per function"
            )));
        }
        Ok(())
    }

    /// Whether `key` matches an allow pattern and no deny pattern.
    pub fn key_allowed(&self, key: &[u8]) -> bool {
        let glob = |p: &String| ferrite_store::glob::matches(p.as_bytes(), key);
        !self.denied_keys.iter().any(glob) && self.allowed_keys.iter().any(glob)
    }

    /// Whether every key is allowed (no deny pattern, an allow pattern `*`).
    pub fn all_keys_allowed(&self) -> bool {
        self.denied_keys.is_empty() && self.allowed_keys.iter().any(|p| p == "*")
    }

    /// The one permission check of every host call (`docs/abi.md` §5):
    /// capability, READ_ONLY (of the function or of the call), COMMANDS /
    /// DENY_COMMANDS, then every key. Returns the `NOPERM …` text on denial.
    pub(crate) fn check(
        &self,
        function: &str,
        cmd: &CommandInfo<'_>,
        call_read_only: bool,
    ) -> Result<(), String> {
        let deny = |what: String| Err(format!("NOPERM function '{function}' may not {what}"));
        let needed = if cmd.delete {
            Capability::Delete
        } else if cmd.write {
            Capability::Write
        } else {
            Capability::Read
        };
        if !self.capabilities.contains(needed) {
            return deny(format!(
                "run '{}' without the '{}' capability",
                cmd.upper_name(),
                needed.name()
            ));
        }
        if (cmd.write || cmd.delete) && (self.read_only || call_read_only) {
            return deny(format!(
                "run write command '{}' in read-only mode",
                cmd.upper_name()
            ));
        }
        let listed = |list: &[String]| list.iter().any(|c| c.eq_ignore_ascii_case(cmd.name));
        if let Some(allowed) = &self.allowed_commands {
            if !listed(allowed) {
                return deny(format!("run '{}' (not in COMMANDS)", cmd.upper_name()));
            }
        }
        if listed(&self.denied_commands) {
            return deny(format!("run '{}' (in DENY_COMMANDS)", cmd.upper_name()));
        }
        if cmd.keyspace_wide && !self.all_keys_allowed() {
            return deny(format!(
                "run '{}' on the whole keyspace (key patterns restrict it)",
                cmd.upper_name()
            ));
        }
        for key in &cmd.keys {
            if !self.key_allowed(key) {
                return deny(format!("access key '{}'", String::from_utf8_lossy(key)));
            }
        }
        Ok(())
    }

    /// Checks a capability that is not a keyspace command (`http`, `time`, …).
    pub(crate) fn check_capability(&self, function: &str, cap: Capability) -> Result<(), String> {
        if self.capabilities.contains(cap) {
            Ok(())
        } else {
            Err(format!(
                "NOPERM function '{function}' may not use '{}' (capability missing)",
                cap.name()
            ))
        }
    }
}

impl Default for FunctionPermissions {
    /// The restrictive default.
    fn default() -> Self {
        Self::restrictive()
    }
}
