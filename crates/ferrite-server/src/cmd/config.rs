//! CONFIG GET / SET (RESETSTAT is a one-liner in `mod.rs`), over the one
//! parameter table of [`crate::config::PARAMS`].

use bytes::Bytes;
use ferrite_protocol::Frame;

use crate::config::{find_param, ConfigError, Param, PARAMS};
use crate::error::{CommandError, CommandResult};
use crate::server::Server;

/// `CONFIG GET pattern [pattern ...]`: every parameter matching any of the
/// glob patterns (case-insensitive), once.
pub fn get(server: &Server, argv: &[Bytes]) -> CommandResult {
    let config = server.config.read();
    let pairs = PARAMS
        .iter()
        .filter(|p| argv[2..].iter().any(|pattern| ferrite_store::glob::matches_nocase(pattern, p.name.as_bytes())))
        .map(|p| (Frame::bulk(p.name), Frame::Bulk(p.get(&config).into())))
        .collect();
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
        let param = find_param(&text).ok_or_else(|| CommandError::ConfigUnknown(text.clone().into_owned()))?;
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
        let name = touched.iter().find(|(_, p)| p.file_key() == key).map_or(&argv[2], |(name, _)| *name);
        return Err(failed(name, &reason));
    }
    *server.config.write() = config;
    Ok(Frame::ok())
}
