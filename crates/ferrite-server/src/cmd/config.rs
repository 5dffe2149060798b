//! CONFIG GET / SET (RESETSTAT is a one-liner in `mod.rs`), over the one
//! parameter table of [`crate::config::PARAMS`].

use bytes::Bytes;
use ferrite_protocol::Frame;

use crate::config::{find_param_exact, ConfigError, Param, PARAMS};
use crate::error::{CommandError, CommandResult};
use crate::server::Server;

/// CONFIG HELP lines (Redis's text for the subcommands Ferrite has).
pub const HELP: &[&str] = &[
    "GET <pattern>",
    "    Return parameters matching the glob-like <pattern> and their values.",
    "SET <directive> <value>",
    "    Set the configuration <directive> to <value>.",
    "RESETSTAT",
    "    Reset statistics reported by the INFO command.",
];

/// `CONFIG GET pattern [pattern ...]`: every parameter matching any of the
/// glob patterns (case-insensitive), once. A pattern without glob characters
/// is a name, and the reply uses it as given (`CONFIG GET HZ` → `HZ`), as
/// Redis does.
pub fn get(server: &Server, argv: &[Bytes]) -> CommandResult {
    let config = server.config.read();
    let mut seen: Vec<&'static str> = Vec::new();
    let mut pairs = Vec::new();
    for pattern in &argv[2..] {
        if ferrite_store::glob::is_literal(pattern) {
            let Some(param) = std::str::from_utf8(pattern).ok().and_then(find_param_exact) else {
                continue;
            };
            if !seen.contains(&param.name) {
                seen.push(param.name);
                pairs.push((
                    Frame::Bulk(pattern.clone()),
                    Frame::Bulk(param.get(&config).into()),
                ));
            }
            continue;
        }
        for param in PARAMS {
            if !seen.contains(&param.name)
                && ferrite_store::glob::matches_nocase(pattern, param.name.as_bytes())
            {
                seen.push(param.name);
                pairs.push((
                    Frame::bulk(param.name),
                    Frame::Bulk(param.get(&config).into()),
                ));
            }
        }
    }
    Ok(Frame::Map(pairs))
}

/// `CONFIG SET parameter value [parameter value ...]`: all or nothing.
pub fn set(server: &Server, argv: &[Bytes]) -> CommandResult {
    if argv.len() % 2 != 0 {
        return Err(CommandError::WrongArity("config|set"));
    }
    let failed = |name: &Bytes, reason: &str| CommandError::ConfigSetFailed {
        name: String::from_utf8_lossy(name).into_owned(),
        reason: reason.to_owned(),
    };
    let mut seen: Vec<&'static str> = Vec::new();
    let mut touched: Vec<(&Bytes, &'static Param)> = Vec::new();
    let mut config = server.config.read().clone();
    for pair in argv[2..].chunks_exact(2) {
        let (name, value) = (&pair[0], &pair[1]);
        let text = String::from_utf8_lossy(name);
        let param = find_param_exact(&text)
            .ok_or_else(|| CommandError::ConfigUnknown(text.clone().into_owned()))?;
        if !param.mutable {
            return Err(failed(name, "can't set immutable config"));
        }
        if seen.contains(&param.name) {
            return Err(failed(name, "duplicate parameter"));
        }
        seen.push(param.name);
        touched.push((name, param));
        let value = String::from_utf8_lossy(value);
        match config.set_param(param.name, &value) {
            Ok(_) => {}
            Err(ConfigError::Invalid { reason, .. }) => return Err(failed(name, &reason)),
            Err(other) => return Err(failed(name, &other.to_string())),
        }
    }
    if let Err(err) = config.validate() {
        let reason = match &err {
            ConfigError::Invalid { reason, .. } => reason.clone(),
            other => other.to_string(),
        };
        // Name the argument whose parameter failed validation.
        let key = match &err {
            ConfigError::Invalid { key, .. } => key.clone(),
            _ => String::new(),
        };
        let name = touched
            .iter()
            .find(|(_, p)| p.file_key() == key)
            .map_or(&argv[2], |(name, _)| *name);
        return Err(failed(name, &reason));
    }
    let level = config.loglevel;
    let policy = ferrite_persist::aof::FsyncPolicy::parse(&config.appendfsync)
        .unwrap_or(ferrite_persist::aof::FsyncPolicy::EverySec);
    let (appendonly, fsync_changed) = {
        let current = server.config.read();
        (
            (current.appendonly != config.appendonly).then_some(config.appendonly),
            current.appendfsync != config.appendfsync,
        )
    };
    if let Some(on) = appendonly {
        // `yes` starts the rewrite that creates the AOF (Redis behaviour).
        server
            .persistence
            .set_appendonly(on, policy)
            .map_err(|e| failed(&argv[2], &e.to_string()))?;
    }
    if fsync_changed {
        server.persistence.set_fsync(policy);
    }
    let previous = std::mem::replace(&mut *server.config.write(), config);
    if previous.loglevel != level {
        server.apply_log_level(level);
    }
    Ok(Frame::ok())
}
