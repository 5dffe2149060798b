//! CLIENT ID SETNAME GETNAME LIST INFO (ID is a one-liner in `mod.rs`).

use bytes::Bytes;
use ferrite_protocol::{parse_i64, Frame};

use crate::cmd::connection::validate_client_name;
use crate::connection::Session;
use crate::error::{CommandError, CommandResult};
use crate::server::Server;

/// CLIENT HELP lines (Redis's text for the subcommands Ferrite has).
pub const HELP: &[&str] = &[
    "GETNAME",
    "    Return the name of the current connection.",
    "ID",
    "    Return the ID of the current connection.",
    "INFO",
    "    Return information about the current client connection.",
    "LIST [options ...]",
    "    Return information about client connections. Options:",
    "    * TYPE (NORMAL|MASTER|REPLICA|PUBSUB)",
    "      Return clients of specified type.",
    "SETNAME <name>",
    "    Assign the name <name> to the current connection.",
];

/// `CLIENT SETNAME name` (empty clears it).
pub fn setname(session: &mut Session, argv: &[Bytes]) -> CommandResult {
    validate_client_name(&argv[2])?;
    *session.info.name.lock() = String::from_utf8_lossy(&argv[2]).into_owned();
    Ok(Frame::ok())
}

/// `CLIENT GETNAME`: the name, or null when none is set.
pub fn getname(session: &Session) -> CommandResult {
    let name = session.info.name.lock();
    Ok(if name.is_empty() {
        Frame::Null
    } else {
        Frame::bulk_copy(name.as_bytes())
    })
}

/// `CLIENT LIST [TYPE normal|master|replica|pubsub] [ID id [id ...]]`.
pub fn list(server: &Server, _session: &Session, argv: &[Bytes]) -> CommandResult {
    let mut ids: Option<Vec<u64>> = None;
    let mut only_normal = true;
    if argv.len() == 4 && argv[2].eq_ignore_ascii_case(b"type") {
        let kind = argv[3].to_ascii_lowercase();
        only_normal = match kind.as_slice() {
            b"normal" => true,
            b"master" | b"slave" | b"replica" | b"pubsub" => false,
            _ => {
                return Err(CommandError::UnknownClientType(
                    String::from_utf8_lossy(&argv[3]).into_owned(),
                ))
            }
        };
    } else if argv.len() > 3 && argv[2].eq_ignore_ascii_case(b"id") {
        let mut wanted = Vec::with_capacity(argv.len() - 3);
        for arg in &argv[3..] {
            // Redis 7.0 accepts any integer; ids are positive, so others match nothing.
            let id = parse_i64(arg).ok_or(CommandError::InvalidClientId)?;
            wanted.push(u64::try_from(id).unwrap_or(0));
        }
        ids = Some(wanted);
    } else if argv.len() != 2 {
        return Err(CommandError::Syntax);
    }
    let mut text = String::new();
    if only_normal {
        for client in server.clients.snapshot() {
            if ids.as_ref().is_some_and(|ids| !ids.contains(&client.id)) {
                continue;
            }
            text.push_str(&client.line());
            text.push('\n');
        }
    }
    Ok(Frame::verbatim_txt(text))
}

/// `CLIENT INFO`: this client's CLIENT LIST line.
pub fn info(session: &Session) -> Frame {
    let mut line = session.info.line();
    line.push('\n');
    Frame::verbatim_txt(line)
}
