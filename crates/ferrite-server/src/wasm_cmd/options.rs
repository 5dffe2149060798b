//! Parsing of WASM.LOAD / WASM.LOADB / WASM.UPDATE option lists and of
//! WASM.CALL argument lists.
//!
//! Both seeds' syntaxes are accepted in one grammar:
//!
//! ```text
//! [REPLACE]
//! [PERMISSIONS item ... | READ_ONLY]      item = key pattern | !deny pattern | READ_ONLY | command name
//! [COMMANDS cmd ...] [DENY_COMMANDS cmd ...]
//! [CAPABILITIES cap ...]
//! [MAX_MEMORY size | MEMORY size]          size = bytes | 512KB | 16MB | 1GB (binary units)
//! [TIMEOUT ms | 100ms | 5s]
//! [MAX_FUEL n]
//! ```
//!
//! Options may come in any order, each at most once. Multi-value options
//! take every following argument up to the next option keyword.

use bytes::Bytes;
use ferrite_wasm::Capability;

/// Largest accepted memory limit: 4 GiB, the most a wasm32 memory can address.
pub const MEMORY_BYTES_MAX: u64 = 4 * 1024 * 1024 * 1024;
/// Largest accepted timeout: one hour.
pub const TIMEOUT_MS_MAX: u64 = 3_600_000;
/// Most items accepted in one multi-value option (patterns, commands…).
pub const OPTION_ITEMS_MAX: usize = 1024;

/// A capability named in `CAPABILITIES`: one of the runtime's capabilities,
/// or `all` (the reference seed's list).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CapabilityName {
    One(Capability),
    All,
}

impl CapabilityName {
    /// Parses a capability name, case-insensitively.
    pub fn parse(word: &[u8]) -> Option<CapabilityName> {
        let word = std::str::from_utf8(word).ok()?;
        if word.eq_ignore_ascii_case("all") {
            return Some(CapabilityName::All);
        }
        Capability::ALL
            .iter()
            .find(|c| c.name().eq_ignore_ascii_case(word))
            .map(|c| CapabilityName::One(*c))
    }

    /// The lower-case name, as WASM.INFO shows it.
    pub fn as_str(self) -> &'static str {
        match self {
            CapabilityName::One(c) => c.name(),
            CapabilityName::All => "all",
        }
    }

    /// Display order: the runtime's order, `all` last.
    fn rank(self) -> usize {
        match self {
            CapabilityName::One(c) => Capability::ALL
                .iter()
                .position(|x| *x == c)
                .unwrap_or(Capability::ALL.len()),
            CapabilityName::All => Capability::ALL.len(),
        }
    }
}

/// What an option list asked for. `None` means "not given": WASM.LOAD then
/// uses the configured default, WASM.UPDATE keeps the current value.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LoadOptions {
    pub replace: bool,
    /// READ_ONLY was given (standalone or inside PERMISSIONS).
    pub read_only: bool,
    /// Key patterns from PERMISSIONS (Redis glob syntax); `None` if PERMISSIONS gave none.
    pub key_patterns_allow: Option<Vec<Bytes>>,
    /// `!pattern` items from PERMISSIONS, without the `!`.
    pub key_patterns_deny: Vec<Bytes>,
    /// Upper-case command names from COMMANDS and from PERMISSIONS items that name commands.
    pub commands_allow: Option<Vec<String>>,
    /// Upper-case command names from DENY_COMMANDS.
    pub commands_deny: Vec<String>,
    pub capabilities: Option<Vec<CapabilityName>>,
    pub memory_bytes_max: Option<u64>,
    pub timeout_ms: Option<u64>,
    pub fuel_max: Option<u64>,
}

/// A malformed option list. `Display` is the full error reply text.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OptionError {
    #[error("ERR syntax error: unknown option '{0}'")]
    UnknownOption(String),
    #[error("ERR syntax error: {0} given more than once")]
    Duplicate(&'static str),
    #[error("ERR syntax error: {0} needs at least one value")]
    MissingValue(&'static str),
    #[error("ERR syntax error: {0} takes exactly one value")]
    OneValue(&'static str),
    #[error("ERR syntax error: too many values for {0} (at most {max})", max = OPTION_ITEMS_MAX)]
    TooManyValues(&'static str),
    #[error("ERR unknown capability '{0}' (expected read, write, delete, http, time, random, log or all)")]
    UnknownCapability(String),
    #[error("ERR unknown command '{0}' in {1}")]
    UnknownCommand(String, &'static str),
    #[error(
        "ERR invalid memory size '{0}' (expected bytes or a number with KB, MB or GB, at most 4GB)"
    )]
    BadMemory(String),
    #[error("ERR invalid timeout '{0}' (expected milliseconds, or a number with ms or s, at most 1 hour)")]
    BadTimeout(String),
    #[error("ERR invalid MAX_FUEL '{0}' (expected a positive integer)")]
    BadFuel(String),
    #[error("ERR syntax error: REPLACE is not valid for {0}")]
    ReplaceNotAllowed(&'static str),
    #[error("ERR syntax error: empty key pattern in PERMISSIONS")]
    EmptyPattern,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Keyword {
    Replace,
    Permissions,
    ReadOnly,
    Commands,
    DenyCommands,
    Capabilities,
    Memory,
    Timeout,
    Fuel,
}

fn keyword(word: &[u8]) -> Option<Keyword> {
    let kw = match word.len() {
        6..=13 => word.to_ascii_uppercase(),
        _ => return None,
    };
    Some(match kw.as_slice() {
        b"REPLACE" => Keyword::Replace,
        b"PERMISSIONS" => Keyword::Permissions,
        b"READ_ONLY" => Keyword::ReadOnly,
        b"COMMANDS" => Keyword::Commands,
        b"DENY_COMMANDS" => Keyword::DenyCommands,
        b"CAPABILITIES" => Keyword::Capabilities,
        b"MAX_MEMORY" | b"MEMORY" => Keyword::Memory,
        b"TIMEOUT" => Keyword::Timeout,
        b"MAX_FUEL" => Keyword::Fuel,
        _ => return None,
    })
}

/// Which command the option list belongs to (REPLACE is only for loads).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OptionsFor {
    Load,
    Update,
}

/// Parses an option list. `is_command` tells whether a word names a known
/// command (used for COMMANDS, DENY_COMMANDS and bare command names in
/// PERMISSIONS).
pub fn parse_options(
    args: &[Bytes],
    for_command: OptionsFor,
    is_command: &dyn Fn(&str) -> bool,
) -> Result<LoadOptions, OptionError> {
    let mut opts = LoadOptions::default();
    let mut seen: Vec<&'static str> = Vec::new();
    let mut mark = |name: &'static str| -> Result<(), OptionError> {
        if seen.contains(&name) {
            return Err(OptionError::Duplicate(name));
        }
        seen.push(name);
        Ok(())
    };
    let mut i = 0;
    while i < args.len() {
        let Some(kw) = keyword(&args[i]) else {
            return Err(OptionError::UnknownOption(
                String::from_utf8_lossy(&args[i]).into_owned(),
            ));
        };
        i += 1;
        // Values of this option: every argument up to the next keyword.
        let start = i;
        while i < args.len() && keyword(&args[i]).is_none() {
            i += 1;
        }
        let values = &args[start..i];
        match kw {
            Keyword::Replace => {
                if for_command == OptionsFor::Update {
                    return Err(OptionError::ReplaceNotAllowed("WASM.UPDATE"));
                }
                mark("REPLACE")?;
                // Values after REPLACE are not options: reject them by name.
                if let Some(v) = values.first() {
                    return Err(OptionError::UnknownOption(
                        String::from_utf8_lossy(v).into_owned(),
                    ));
                }
                opts.replace = true;
            }
            Keyword::ReadOnly => {
                if let Some(v) = values.first() {
                    return Err(OptionError::UnknownOption(
                        String::from_utf8_lossy(v).into_owned(),
                    ));
                }
                opts.read_only = true;
            }
            Keyword::Permissions => {
                mark("PERMISSIONS")?;
                // READ_ONLY inside PERMISSIONS is a keyword, so the scan above
                // stopped there; `PERMISSIONS READ_ONLY` leaves `values` empty
                // and the READ_ONLY arm handles it next.
                let read_only_follows =
                    i < args.len() && keyword(&args[i]) == Some(Keyword::ReadOnly);
                if values.is_empty() && !read_only_follows {
                    return Err(OptionError::MissingValue("PERMISSIONS"));
                }
                check_count(values, "PERMISSIONS")?;
                for v in values {
                    if v.is_empty() {
                        return Err(OptionError::EmptyPattern);
                    }
                    if let Some(deny) = v.strip_prefix(b"!") {
                        if deny.is_empty() {
                            return Err(OptionError::EmptyPattern);
                        }
                        opts.key_patterns_deny.push(v.slice(1..));
                        continue;
                    }
                    if let Some(name) = command_word(v).filter(|n| is_command(n)) {
                        push_unique(opts.commands_allow.get_or_insert_with(Vec::new), name);
                        continue;
                    }
                    opts.key_patterns_allow
                        .get_or_insert_with(Vec::new)
                        .push(v.clone());
                }
            }
            Keyword::Commands | Keyword::DenyCommands => {
                let name = if kw == Keyword::Commands {
                    "COMMANDS"
                } else {
                    "DENY_COMMANDS"
                };
                mark(name)?;
                if values.is_empty() {
                    return Err(OptionError::MissingValue(name));
                }
                check_count(values, name)?;
                let list = if kw == Keyword::Commands {
                    opts.commands_allow.get_or_insert_with(Vec::new)
                } else {
                    &mut opts.commands_deny
                };
                for v in values {
                    let cmd = command_word(v).filter(|n| is_command(n)).ok_or_else(|| {
                        OptionError::UnknownCommand(String::from_utf8_lossy(v).into_owned(), name)
                    })?;
                    push_unique(list, cmd);
                }
            }
            Keyword::Capabilities => {
                mark("CAPABILITIES")?;
                if values.is_empty() {
                    return Err(OptionError::MissingValue("CAPABILITIES"));
                }
                check_count(values, "CAPABILITIES")?;
                let mut caps = Vec::with_capacity(values.len());
                for v in values {
                    let cap = CapabilityName::parse(v).ok_or_else(|| {
                        OptionError::UnknownCapability(String::from_utf8_lossy(v).into_owned())
                    })?;
                    if !caps.contains(&cap) {
                        caps.push(cap);
                    }
                }
                caps.sort_by_key(|c| c.rank());
                opts.capabilities = Some(caps);
            }
            Keyword::Memory => {
                mark("MAX_MEMORY")?;
                let v = one_value(values, "MAX_MEMORY")?;
                opts.memory_bytes_max = Some(parse_memory_size(v)?);
            }
            Keyword::Timeout => {
                mark("TIMEOUT")?;
                let v = one_value(values, "TIMEOUT")?;
                opts.timeout_ms = Some(parse_timeout_ms(v)?);
            }
            Keyword::Fuel => {
                mark("MAX_FUEL")?;
                let v = one_value(values, "MAX_FUEL")?;
                let fuel = std::str::from_utf8(v)
                    .ok()
                    .and_then(|s| s.parse::<u64>().ok())
                    .filter(|&f| f > 0)
                    .ok_or_else(|| OptionError::BadFuel(String::from_utf8_lossy(v).into_owned()))?;
                opts.fuel_max = Some(fuel);
            }
        }
    }
    Ok(opts)
}

fn check_count(values: &[Bytes], name: &'static str) -> Result<(), OptionError> {
    if values.len() > OPTION_ITEMS_MAX {
        return Err(OptionError::TooManyValues(name));
    }
    Ok(())
}

fn one_value<'a>(values: &'a [Bytes], name: &'static str) -> Result<&'a [u8], OptionError> {
    match values {
        [] => Err(OptionError::MissingValue(name)),
        [v] => Ok(v),
        _ => Err(OptionError::OneValue(name)),
    }
}

fn push_unique(list: &mut Vec<String>, name: String) {
    if !list.contains(&name) {
        list.push(name);
    }
}

/// An argument that looks like a command name (letters, digits, `.`, `_`,
/// `-`, `|`), upper-cased.
fn command_word(v: &[u8]) -> Option<String> {
    if v.is_empty() || v.len() > 64 {
        return None;
    }
    if !v
        .iter()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-' | b'|'))
    {
        return None;
    }
    Some(String::from_utf8_lossy(v).to_ascii_uppercase())
}

/// Parses `16777216`, `512KB`, `16MB`, `1GB` (also `K`, `M`, `G`, `B`, any
/// case). Units are binary: `16MB` is 16 × 1024 × 1024 bytes, as the seed's
/// `max_memory = 16777216 # bytes (16MB)` shows.
pub fn parse_memory_size(v: &[u8]) -> Result<u64, OptionError> {
    let bad = || OptionError::BadMemory(String::from_utf8_lossy(v).into_owned());
    let s = std::str::from_utf8(v).map_err(|_| bad())?.trim();
    let digits_end = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let (num, unit) = s.split_at(digits_end);
    let num: u64 = num.parse().map_err(|_| bad())?;
    let mult: u64 = match unit.to_ascii_uppercase().as_str() {
        "" | "B" => 1,
        "K" | "KB" => 1024,
        "M" | "MB" => 1024 * 1024,
        "G" | "GB" => 1024 * 1024 * 1024,
        _ => return Err(bad()),
    };
    let bytes = num.checked_mul(mult).ok_or_else(bad)?;
    if bytes == 0 || bytes > MEMORY_BYTES_MAX {
        return Err(bad());
    }
    Ok(bytes)
}

/// Parses `1000` (milliseconds), `100ms`, `5s`.
pub fn parse_timeout_ms(v: &[u8]) -> Result<u64, OptionError> {
    let bad = || OptionError::BadTimeout(String::from_utf8_lossy(v).into_owned());
    let s = std::str::from_utf8(v).map_err(|_| bad())?.trim();
    let digits_end = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let (num, unit) = s.split_at(digits_end);
    let num: u64 = num.parse().map_err(|_| bad())?;
    let ms = match unit.to_ascii_lowercase().as_str() {
        "" | "ms" => Some(num),
        "s" => num.checked_mul(1000),
        _ => None,
    }
    .ok_or_else(bad)?;
    if ms == 0 || ms > TIMEOUT_MS_MAX {
        return Err(bad());
    }
    Ok(ms)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b(words: &[&str]) -> Vec<Bytes> {
        words
            .iter()
            .map(|w| Bytes::copy_from_slice(w.as_bytes()))
            .collect()
    }
    fn known(name: &str) -> bool {
        matches!(name, "GET" | "SET" | "INCR" | "FLUSHALL" | "CONFIG")
    }
    fn load(words: &[&str]) -> Result<LoadOptions, OptionError> {
        parse_options(&b(words), OptionsFor::Load, &known)
    }

    #[test]
    fn guide_syntax() {
        let o = load(&["PERMISSIONS", "user:*", "GET", "SET", "REPLACE"]).unwrap();
        assert!(o.replace);
        assert_eq!(o.key_patterns_allow, Some(b(&["user:*"])));
        assert_eq!(
            o.commands_allow,
            Some(vec!["GET".to_string(), "SET".to_string()])
        );

        let o = load(&["PERMISSIONS", "!admin:*"]).unwrap();
        assert_eq!(o.key_patterns_allow, None);
        assert_eq!(o.key_patterns_deny, b(&["admin:*"]));

        let o = load(&["PERMISSIONS", "READ_ONLY"]).unwrap();
        assert!(o.read_only);

        let o = load(&[
            "COMMANDS",
            "get",
            "SET",
            "INCR",
            "DENY_COMMANDS",
            "FLUSHALL",
            "CONFIG",
        ])
        .unwrap();
        assert_eq!(o.commands_allow.unwrap(), vec!["GET", "SET", "INCR"]);
        assert_eq!(o.commands_deny, vec!["FLUSHALL", "CONFIG"]);

        assert_eq!(
            load(&["MAX_MEMORY", "16MB"]).unwrap().memory_bytes_max,
            Some(16 * 1024 * 1024)
        );
        assert_eq!(load(&["TIMEOUT", "100ms"]).unwrap().timeout_ms, Some(100));
        assert_eq!(load(&["TIMEOUT", "5s"]).unwrap().timeout_ms, Some(5000));
        assert_eq!(
            load(&["MAX_FUEL", "10000000"]).unwrap().fuel_max,
            Some(10_000_000)
        );
    }

    #[test]
    fn reference_syntax() {
        let o = load(&[
            "CAPABILITIES",
            "read",
            "write",
            "log",
            "MEMORY",
            "10MB",
            "TIMEOUT",
            "1000",
        ])
        .unwrap();
        assert_eq!(
            o.capabilities,
            Some(vec![
                CapabilityName::One(Capability::Read),
                CapabilityName::One(Capability::Write),
                CapabilityName::One(Capability::Log)
            ])
        );
        assert_eq!(o.memory_bytes_max, Some(10 * 1024 * 1024));
        assert_eq!(o.timeout_ms, Some(1000));
        assert_eq!(
            load(&["MEMORY", "5MB"]).unwrap().memory_bytes_max,
            Some(5 * 1024 * 1024)
        );
        assert_eq!(
            load(&["MEMORY", "65536"]).unwrap().memory_bytes_max,
            Some(65536)
        );
    }

    #[test]
    fn malformed_lists_get_specific_errors() {
        assert_eq!(
            load(&["BOGUS"]),
            Err(OptionError::UnknownOption("BOGUS".into()))
        );
        assert_eq!(
            load(&["CAPABILITIES"]),
            Err(OptionError::MissingValue("CAPABILITIES"))
        );
        assert_eq!(
            load(&["CAPABILITIES", "fly"]),
            Err(OptionError::UnknownCapability("fly".into()))
        );
        assert_eq!(
            load(&["MEMORY", "10XB"]),
            Err(OptionError::BadMemory("10XB".into()))
        );
        assert_eq!(
            load(&["MEMORY", "0"]),
            Err(OptionError::BadMemory("0".into()))
        );
        assert_eq!(
            load(&["MEMORY", "8GB"]),
            Err(OptionError::BadMemory("8GB".into()))
        );
        assert!(matches!(
            load(&["MEMORY", "99999999999999999999GB"]),
            Err(OptionError::BadMemory(_))
        ));
        assert_eq!(
            load(&["TIMEOUT", "-5"]),
            Err(OptionError::BadTimeout("-5".into()))
        );
        assert_eq!(
            load(&["TIMEOUT", "1", "2"]),
            Err(OptionError::OneValue("TIMEOUT"))
        );
        assert_eq!(
            load(&["TIMEOUT"]),
            Err(OptionError::MissingValue("TIMEOUT"))
        );
        assert_eq!(
            load(&["MAX_FUEL", "0"]),
            Err(OptionError::BadFuel("0".into()))
        );
        assert_eq!(
            load(&["TIMEOUT", "1", "TIMEOUT", "2"]),
            Err(OptionError::Duplicate("TIMEOUT"))
        );
        assert_eq!(
            load(&["COMMANDS", "NOPE"]),
            Err(OptionError::UnknownCommand("NOPE".into(), "COMMANDS"))
        );
        assert_eq!(load(&["PERMISSIONS", "!"]), Err(OptionError::EmptyPattern));
        assert_eq!(
            load(&["REPLACE", "x"]),
            Err(OptionError::UnknownOption("x".into()))
        );
        assert_eq!(
            parse_options(&b(&["REPLACE"]), OptionsFor::Update, &known),
            Err(OptionError::ReplaceNotAllowed("WASM.UPDATE"))
        );
        assert_eq!(
            OptionError::UnknownOption("BOGUS".into()).to_string(),
            "ERR syntax error: unknown option 'BOGUS'"
        );
    }
}

impl LoadOptions {
    /// The canonical option list that parses back to these options (REPLACE
    /// omitted). Used to persist a function's options.
    pub fn to_args(&self) -> Vec<Bytes> {
        let mut out: Vec<Bytes> = Vec::new();
        let word = |s: &str| Bytes::copy_from_slice(s.as_bytes());
        let mut perms: Vec<Bytes> = Vec::new();
        if let Some(allow) = &self.key_patterns_allow {
            perms.extend(allow.iter().cloned());
        }
        for deny in &self.key_patterns_deny {
            let mut v = Vec::with_capacity(deny.len() + 1);
            v.push(b'!');
            v.extend_from_slice(deny);
            perms.push(Bytes::from(v));
        }
        if !perms.is_empty() {
            out.push(word("PERMISSIONS"));
            out.extend(perms);
        }
        if self.read_only {
            out.push(word("READ_ONLY"));
        }
        if let Some(cmds) = &self.commands_allow {
            if !cmds.is_empty() {
                out.push(word("COMMANDS"));
                out.extend(cmds.iter().map(|c| word(c)));
            }
        }
        if !self.commands_deny.is_empty() {
            out.push(word("DENY_COMMANDS"));
            out.extend(self.commands_deny.iter().map(|c| word(c)));
        }
        if let Some(caps) = &self.capabilities {
            out.push(word("CAPABILITIES"));
            out.extend(caps.iter().map(|c| word(c.as_str())));
        }
        if let Some(m) = self.memory_bytes_max {
            out.push(word("MAX_MEMORY"));
            out.push(word(&m.to_string()));
        }
        if let Some(t) = self.timeout_ms {
            out.push(word("TIMEOUT"));
            out.push(word(&format!("{t}ms")));
        }
        if let Some(f) = self.fuel_max {
            out.push(word("MAX_FUEL"));
            out.push(word(&f.to_string()));
        }
        out
    }
}

#[cfg(test)]
mod roundtrip_tests {
    use super::*;

    #[test]
    fn to_args_parses_back() {
        let known = |n: &str| matches!(n, "GET" | "SET" | "FLUSHALL");
        let words = [
            "PERMISSIONS",
            "user:*",
            "!admin:*",
            "GET",
            "READ_ONLY",
            "DENY_COMMANDS",
            "FLUSHALL",
            "CAPABILITIES",
            "read",
            "log",
            "MEMORY",
            "10MB",
            "TIMEOUT",
            "5s",
            "MAX_FUEL",
            "42",
        ];
        let args: Vec<Bytes> = words
            .iter()
            .map(|w| Bytes::copy_from_slice(w.as_bytes()))
            .collect();
        let opts = parse_options(&args, OptionsFor::Load, &known).unwrap();
        let again = parse_options(&opts.to_args(), OptionsFor::Load, &known).unwrap();
        assert_eq!(opts, again);
    }
}
