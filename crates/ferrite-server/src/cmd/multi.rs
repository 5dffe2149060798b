//! MULTI EXEC DISCARD WATCH (UNWATCH is a one-liner in `mod.rs`), with
//! Redis's semantics: commands are queued (`+QUEUED`), a queueing error
//! aborts EXEC (`EXECABORT`), a changed WATCHed key makes EXEC reply null,
//! and EXEC runs the queue atomically (a whole-keyspace transaction of the
//! store) without rolling back commands that fail.

use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;
use ferrite_protocol::Frame;
use ferrite_store::{Layer, TxnMode};

use crate::cmd::{begin_multi, resolve, run_server_command};
use crate::connection::Session;
use crate::error::{CommandError, CommandResult};
use crate::server::Server;

/// Keys one connection may WATCH at most.
pub const WATCHED_KEYS_MAX: usize = 100_000;

/// `MULTI`.
pub fn multi(session: &mut Session) -> CommandResult {
    if session.multi.is_some() {
        return Err(CommandError::MultiNested);
    }
    begin_multi(session);
    Ok(Frame::ok())
}

/// `DISCARD`.
pub fn discard(session: &mut Session) -> CommandResult {
    if session.multi.is_none() {
        return Err(CommandError::DiscardWithoutMulti);
    }
    session.end_multi();
    Ok(Frame::ok())
}

/// `WATCH key [key ...]`.
pub fn watch(server: &Server, session: &mut Session, argv: &[Bytes]) -> CommandResult {
    if session.multi.is_some() {
        return Err(CommandError::WatchInMulti);
    }
    for key in &argv[1..] {
        let already = session
            .watches
            .iter()
            .any(|(db, k, _)| *db == session.db && k == key);
        if already || session.watches.len() >= WATCHED_KEYS_MAX {
            continue;
        }
        let handle = server.store.watch(session.db, key);
        session.watches.push((session.db, key.clone(), handle));
    }
    Ok(Frame::ok())
}

/// `EXEC`.
pub async fn exec(server: &Arc<Server>, session: &mut Session) -> Frame {
    let Some(multi) = session.multi.take() else {
        return CommandError::ExecWithoutMulti.to_frame();
    };
    if multi.failed {
        session.end_multi();
        return CommandError::ExecAbort.to_frame();
    }
    let mut txn = match server
        .store
        .begin_exclusive(session.db, TxnMode::ReadWrite)
        .await
    {
        Ok(txn) => txn,
        Err(err) => {
            session.end_multi();
            return Frame::Error(format!("ERR {err}").into());
        }
    };
    // Checked while holding the whole keyspace: nothing can change in between.
    let dirty = session
        .watches
        .iter()
        .any(|(_, _, handle)| handle.is_dirty());
    session.end_multi();
    if dirty {
        drop(txn);
        return Frame::NullArray;
    }
    txn.disable_undo();
    txn.set_protocol(session.protocol);
    let mut replies = Vec::with_capacity(multi.queued.len());
    for argv in &multi.queued {
        let started = Instant::now();
        let reply = match resolve(argv) {
            Err(reply) => reply,
            Ok(spec) => {
                session.info.touch(spec.name);
                let reply = match spec.layer {
                    Layer::Store => txn.execute(argv),
                    Layer::Wasm => CommandError::WasmUnavailable(spec.name).to_frame(),
                    Layer::Server => {
                        let reply = run_server_command(server, session, spec, argv)
                            .await
                            .unwrap_or(Frame::NullArray);
                        if spec.name == "select" && !reply.is_error() {
                            // The session's index was validated by SELECT.
                            let _ = txn.select(session.db);
                        }
                        reply
                    }
                };
                let usec = u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX);
                server.stats.record_call(spec.name, usec, reply.is_error());
                reply
            }
        };
        if let Frame::Error(text) = &reply {
            server.stats.record_error(&text[..]);
        }
        replies.push(reply);
    }
    txn.commit();
    Frame::Array(replies)
}
