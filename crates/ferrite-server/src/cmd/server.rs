//! TIME, SHUTDOWN and the persistence commands (SAVE, BGSAVE, LASTSAVE,
//! BGREWRITEAOF; see docs/persistence.md).

use std::sync::Arc;

use bytes::Bytes;
use ferrite_protocol::Frame;

use crate::connection::Session;
use crate::error::CommandError;
use crate::server::{unix_time_us, Server};

/// `TIME`: seconds and microseconds as two bulk strings.
pub fn time() -> Frame {
    let now = unix_time_us();
    Frame::Array(vec![
        Frame::Bulk((now / 1_000_000).to_string().into()),
        Frame::Bulk((now % 1_000_000).to_string().into()),
    ])
}

/// `SHUTDOWN [NOSAVE | SAVE] [NOW] [FORCE] [ABORT]`. On success there is
/// no reply: the connection closes and the server exits.
///
/// SAVE saves a snapshot first, NOSAVE does not, neither saves when save
/// rules are set (Redis). A failed save refuses to shut down unless FORCE.
/// NOW changes nothing (there are no replicas to wait for). The snapshot is
/// written before the reply, like Redis's blocking save (on a blocking
/// thread: the I/O thread keeps serving its other connections).
pub async fn shutdown(
    server: &Arc<Server>,
    session: &mut Session,
    argv: &[Bytes],
) -> Result<(), CommandError> {
    let mut save = false;
    let mut nosave = false;
    let mut abort = false;
    let mut force = false;
    for arg in &argv[1..] {
        match arg.to_ascii_lowercase().as_slice() {
            b"save" => save = true,
            b"nosave" => nosave = true,
            b"now" => {}
            b"force" => force = true,
            b"abort" => abort = true,
            _ => return Err(CommandError::Syntax),
        }
    }
    if (save && nosave) || (abort && argv.len() > 2) {
        return Err(CommandError::Syntax);
    }
    if abort {
        // Shutdown is immediate, so there is never one in progress to abort.
        return Err(CommandError::NoShutdownInProgress);
    }
    let decision = if save {
        Some(true)
    } else if nosave {
        Some(false)
    } else {
        None
    };
    let config = server.config.read().clone();
    // The snapshot waits for running transactions: not on the I/O thread.
    let persistence = Arc::clone(&server.persistence);
    let saved = blocking(move || persistence.shutdown_save(&config, decision)).await?;
    if let Err(err) = saved {
        if !force {
            tracing::warn!("Error trying to save the DB, can't exit: {err}");
            return Err(CommandError::Persistence(
                "ERR Errors trying to SHUTDOWN. Check logs.".to_owned(),
            ));
        }
    }
    tracing::warn!("User requested shutdown...");
    session.close = true;
    server.request_shutdown();
    Ok(())
}

/// `SAVE`: a snapshot to `dbfilename` before the reply (blocks the client,
/// like Redis), written on a blocking thread: other connections keep being
/// served.
pub async fn save(server: &Server) -> Result<Frame, CommandError> {
    if server.persistence.bgsave_running() {
        return Err(CommandError::Persistence(
            "ERR Background save already in progress".to_owned(),
        ));
    }
    let config = server.config.read().clone();
    // Blocks this client like Redis's SAVE, on a blocking thread: the I/O
    // thread keeps serving its other connections.
    let persistence = Arc::clone(&server.persistence);
    blocking(move || persistence.save(&config))
        .await?
        .map(|()| Frame::ok())
        .map_err(|_| CommandError::Persistence("ERR".to_owned()))
}

/// `BGSAVE [SCHEDULE]`.
pub fn bgsave(server: &Server, argv: &[Bytes]) -> Result<Frame, CommandError> {
    if argv.len() > 2 || (argv.len() == 2 && !argv[1].eq_ignore_ascii_case(b"schedule")) {
        return Err(CommandError::Syntax);
    }
    let config = server.config.read().clone();
    server
        .persistence
        .bgsave(config)
        .map(|()| Frame::simple("Background saving started"))
        .map_err(|e| CommandError::Persistence(e.to_string()))
}

/// `LASTSAVE`: Unix time of the last successful save.
pub fn lastsave(server: &Server) -> Frame {
    Frame::Integer(i64::try_from(server.persistence.last_save()).unwrap_or(i64::MAX))
}

/// `BGREWRITEAOF`.
pub fn bgrewriteaof(server: &Server) -> Result<Frame, CommandError> {
    if server.persistence.writer().is_none() {
        return Err(CommandError::Persistence(
            "ERR BGREWRITEAOF needs the AOF on (appendonly yes, or CONFIG SET appendonly yes, \
             which creates it)"
                .to_owned(),
        ));
    }
    let config = server.config.read().clone();
    let policy = ferrite_persist::aof::FsyncPolicy::parse(&config.appendfsync)
        .unwrap_or(ferrite_persist::aof::FsyncPolicy::EverySec);
    server
        .persistence
        .bgrewriteaof(policy)
        .map(|_| Frame::simple("Background append only file rewriting started"))
        .map_err(|e| CommandError::Persistence(e.to_string()))
}

/// Runs `work` on the runtime's blocking pool and waits for it.
async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> T + Send + 'static,
) -> Result<T, CommandError> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|err| CommandError::Persistence(format!("ERR {err}")))
}
