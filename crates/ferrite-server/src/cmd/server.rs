//! TIME and SHUTDOWN.

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
/// Ferrite has no persistence yet, so SAVE and NOSAVE both exit without
/// writing anything (SAVE is logged); NOW and FORCE change nothing because
/// there are no replicas to wait for and no save to fail.
pub fn shutdown(
    server: &Arc<Server>,
    session: &mut Session,
    argv: &[Bytes],
) -> Result<(), CommandError> {
    let mut save = false;
    let mut nosave = false;
    let mut abort = false;
    for arg in &argv[1..] {
        match arg.to_ascii_lowercase().as_slice() {
            b"save" => save = true,
            b"nosave" => nosave = true,
            b"now" | b"force" => {}
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
    if save {
        tracing::warn!("SHUTDOWN SAVE: persistence is not implemented, nothing was saved");
    }
    tracing::warn!("User requested shutdown...");
    session.close = true;
    server.request_shutdown();
    Ok(())
}
