//! Command dispatch: one lookup in the one command table
//! (`ferrite_store::lookup`), the checks Redis makes before running a
//! command (arity, AUTH, MULTI queueing), then the layer that runs it:
//! the store for data commands, this module's families for the server's own.
//!
//! One file per family: `connection.rs` (PING ECHO QUIT HELLO AUTH SELECT),
//! `client.rs`, `info.rs`, `config.rs`, `command.rs`, `server.rs` (TIME
//! SHUTDOWN), `multi.rs` (MULTI EXEC DISCARD WATCH UNWATCH).

pub mod client;
pub mod command;
pub mod config;
pub mod connection;
pub mod info;
pub mod multi;
pub mod server;

use std::sync::Arc;

use bytes::Bytes;
use ferrite_protocol::Frame;
use ferrite_store::{CommandFlags, CommandSpec, Layer};

use crate::connection::{Multi, Session, MULTI_QUEUED_MAX};
use crate::error::{CommandError, CommandResult};
use crate::server::Server;

/// Longest subcommand text quoted in an error (Redis: `%.128s`).
const QUOTED_ARG_MAX_BYTES: usize = 128;

/// Finds the spec of `argv`: the command, or its subcommand for container
/// commands (CLIENT LIST → `client|list`).
pub fn resolve(argv: &[Bytes]) -> Result<&'static CommandSpec, Frame> {
    let Some(spec) = ferrite_store::lookup(&argv[0]) else {
        return Err(ferrite_store::reply::error(
            &ferrite_store::cmd::unknown_command(&argv[0], &argv[1..]),
        ));
    };
    if spec.subcommands.is_empty() || argv.len() < 2 {
        return Ok(spec);
    }
    let sub = &argv[1];
    let found = spec.subcommands.iter().find(|s| {
        s.name
            .split_once('|')
            .is_some_and(|(_, name)| name.as_bytes().eq_ignore_ascii_case(sub))
    });
    found.ok_or_else(|| {
        let shown = &sub[..sub.len().min(QUOTED_ARG_MAX_BYTES)];
        CommandError::UnknownSubcommand {
            sub: String::from_utf8_lossy(shown).into_owned(),
            command: spec.name.to_ascii_uppercase(),
        }
        .to_frame()
    })
}

/// Commands that run immediately inside MULTI instead of being queued.
fn runs_inside_multi(name: &str) -> bool {
    matches!(
        name,
        "exec" | "discard" | "multi" | "watch" | "quit" | "reset"
    )
}

/// Runs one request and returns its reply (`None`: no reply, e.g. SHUTDOWN).
/// Records command and error statistics.
pub async fn dispatch(
    server: &Arc<Server>,
    session: &mut Session,
    argv: Vec<Bytes>,
) -> Option<Frame> {
    debug_assert!(!argv.is_empty());
    if tracing::enabled!(tracing::Level::TRACE) {
        let shown: Vec<String> = argv
            .iter()
            .take(8)
            .map(|a| String::from_utf8_lossy(&a[..a.len().min(64)]).into_owned())
            .collect();
        tracing::trace!(client = session.info.id, "command {shown:?}");
    }
    let reply = prepare_and_run(server, session, argv).await;
    if let Some(Frame::Error(text)) = &reply {
        server.stats.record_error(text);
    }
    reply
}

async fn prepare_and_run(
    server: &Arc<Server>,
    session: &mut Session,
    argv: Vec<Bytes>,
) -> Option<Frame> {
    let spec = match resolve(&argv) {
        Ok(spec) => spec,
        Err(reply) => {
            flag_multi(session);
            return Some(reply);
        }
    };
    if !spec.arity_ok(argv.len()) {
        return Some(reject(
            server,
            session,
            spec,
            CommandError::WrongArity(spec.name),
        ));
    }
    if !session.authenticated && !spec.flags.contains(CommandFlags::NO_AUTH) {
        return Some(reject(server, session, spec, CommandError::NoAuth));
    }
    if let Some(multi) = &mut session.multi {
        if !runs_inside_multi(spec.name) {
            let refused = if spec.flags.contains(CommandFlags::NO_MULTI) {
                Some(CommandError::NotAllowedInMulti)
            } else if multi.queued.len() >= MULTI_QUEUED_MAX
                || multi.queued_bytes > server.config.read().client_query_buffer_limit.bytes_usize()
            {
                Some(CommandError::MultiQueueFull)
            } else {
                None
            };
            if let Some(err) = refused {
                multi.failed = true;
                server.stats.record_rejected(spec.name);
                return Some(err.to_frame());
            }
            multi.queued_bytes += argv.iter().map(|a| a.len()).sum::<usize>();
            multi.queued.push(argv);
            session
                .info
                .multi_queued_plus_one
                .store(multi.queued.len() + 1, std::sync::atomic::Ordering::Relaxed);
            return Some(Frame::queued());
        }
    }
    let writes = spec.flags.contains(CommandFlags::WRITE)
        || spec.layer == Layer::Wasm
        || spec.name == "exec";
    if writes {
        if spec.flags.contains(CommandFlags::WRITE) {
            if let Some(text) = server.persistence.misconf() {
                return Some(Frame::Error(text.into()));
            }
        }
        // The connection waits for the AOF before replying (persist.rs).
        session.wrote = true;
    }
    let started = session.clock.command_start();
    session.info.touch_at(spec.name, started);
    let reply = if spec.name == "exec" {
        Some(multi::exec(server, session).await)
    } else {
        let now_ms = session.clock.unix_ms_at(started);
        run(server, session, spec, &argv, now_ms).await
    };
    let ended = session.clock.command_end();
    let usec =
        u64::try_from(ended.saturating_duration_since(started).as_micros()).unwrap_or(u64::MAX);
    server
        .stats
        .record_call(spec.name, usec, reply.as_ref().is_some_and(Frame::is_error));
    reply
}

/// Refuses a command before it runs, as Redis's `rejectCommand` does: the
/// open transaction is flagged, and a refused EXEC discards it.
fn reject(server: &Server, session: &mut Session, spec: &CommandSpec, err: CommandError) -> Frame {
    server.stats.record_rejected(spec.name);
    if spec.name == "exec" {
        session.end_multi();
        let text = err.to_string();
        let reason = text.strip_prefix("ERR ").unwrap_or(&text);
        return CommandError::ExecAbortBecause(reason.to_owned()).to_frame();
    }
    flag_multi(session);
    err.to_frame()
}

fn flag_multi(session: &mut Session) {
    if let Some(multi) = &mut session.multi {
        multi.failed = true;
    }
}

/// Runs a resolved, checked command outside MULTI. `now_ms`: the Unix time
/// the command started (the batch clock's).
async fn run(
    server: &Arc<Server>,
    session: &mut Session,
    spec: &'static CommandSpec,
    argv: &[Bytes],
    now_ms: u64,
) -> Option<Frame> {
    match spec.layer {
        Layer::Store => {
            let mut result =
                server
                    .store
                    .execute_resolved_at(session.db, spec, argv, session.protocol, now_ms);
            loop {
                match result {
                    Ok(frame) => return Some(frame),
                    Err(blocked) => blocked.wait().await,
                }
                // After waiting: the store reads the clock again.
                result = server
                    .store
                    .execute_resolved(session.db, spec, argv, session.protocol);
            }
        }
        Layer::Server => run_server_command(server, session, spec, argv).await,
        Layer::Wasm => match &server.wasm {
            Some(wasm) => Some(wasm.run(spec.name, argv, session.db).await),
            None => Some(CommandError::WasmUnavailable(spec.name).to_frame()),
        },
    }
}

/// Runs one of the server's own commands (never EXEC). `None` = no reply.
pub async fn run_server_command(
    server: &Arc<Server>,
    session: &mut Session,
    spec: &'static CommandSpec,
    argv: &[Bytes],
) -> Option<Frame> {
    let result: CommandResult = match spec.name {
        "ping" => connection::ping(session, argv),
        "echo" => Ok(Frame::Bulk(argv[1].clone())),
        "quit" => {
            session.close = true;
            Ok(Frame::ok())
        }
        "hello" => connection::hello(server, session, argv),
        "auth" => connection::auth(server, session, argv),
        "select" => connection::select(server, session, argv),
        "client|help" => Ok(help("CLIENT", client::HELP)),
        "config|help" => Ok(help("CONFIG", config::HELP)),
        "command|help" => Ok(help("COMMAND", command::HELP)),
        "client|id" => Ok(Frame::Integer(
            i64::try_from(session.info.id).unwrap_or(i64::MAX),
        )),
        "client|setname" => client::setname(session, argv),
        "client|getname" => client::getname(session),
        "client|list" => client::list(server, session, argv),
        "client|info" => Ok(client::info(session)),
        "info" => Ok(info::info(server, argv)),
        "config|get" => config::get(server, argv),
        "config|set" => config::set(server, argv),
        "config|resetstat" => {
            server.stats.reset();
            Ok(Frame::ok())
        }
        "command" => Ok(command::all()),
        "command|count" => Ok(command::count()),
        "command|info" => Ok(command::info(argv)),
        "command|docs" => Ok(command::docs(argv)),
        "command|getkeys" => command::getkeys(argv),
        "command|list" => command::list(argv),
        "time" => Ok(server::time()),
        "save" => server::save(server).await,
        "bgsave" => server::bgsave(server, argv),
        "lastsave" => Ok(server::lastsave(server)),
        "bgrewriteaof" => server::bgrewriteaof(server),
        "shutdown" => match server::shutdown(server, session, argv).await {
            Ok(()) => return None,
            Err(err) => Err(err),
        },
        "multi" => multi::multi(session),
        "discard" => multi::discard(session),
        "watch" => multi::watch(server, session, argv),
        "unwatch" => {
            session.watches.clear();
            Ok(Frame::ok())
        }
        other => {
            // A Layer::Server spec without a handler here is a table bug;
            // answer like Redis does for commands it does not know.
            tracing::error!("no server handler for command '{other}'");
            Ok(ferrite_store::reply::error(
                &ferrite_store::cmd::unknown_command(&argv[0], &argv[1..]),
            ))
        }
    };
    Some(result.unwrap_or_else(|err| err.to_frame()))
}

/// The reply of `<COMMAND> HELP`, in Redis's layout: an array of status
/// lines, subcommand lines followed by indented descriptions, HELP last.
pub fn help(command: &str, lines: &[&'static str]) -> Frame {
    let mut out = Vec::with_capacity(lines.len() + 3);
    out.push(Frame::simple(format!(
        "{command} <subcommand> [<arg> [value] [opt] ...]. Subcommands are:"
    )));
    out.extend(lines.iter().map(|line| Frame::simple(*line)));
    out.push(Frame::simple("HELP"));
    out.push(Frame::simple("    Prints this help."));
    Frame::Array(out)
}

/// Starts a MULTI block.
pub fn begin_multi(session: &mut Session) {
    session.multi = Some(Multi::default());
    session
        .info
        .multi_queued_plus_one
        .store(1, std::sync::atomic::Ordering::Relaxed);
}
