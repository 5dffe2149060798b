//! One client connection: read, parse every complete request, execute,
//! encode the replies of the batch into one buffer, write once.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use bytes::{Bytes, BytesMut};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use ferrite_protocol::{encode, Frame, Limits, Protocol, RequestDecoder};
use ferrite_store::WatchHandle;

use crate::client::ClientInfo;
use crate::cmd;
use crate::config::BufferLimit;
use crate::server::Server;

/// Read buffer grows in steps of this (Redis: `PROTO_IOBUF_LEN`).
pub const READ_CHUNK_BYTES: usize = 16 * 1024;
/// Pending replies are written out once they exceed this, even in the middle
/// of a pipelined batch, so a long pipeline does not pile up output.
pub const WRITE_FLUSH_BYTES: usize = 64 * 1024;
/// A write that makes no progress for this long closes the client.
pub const WRITE_TIMEOUT_MS: u64 = 60_000;
/// Commands MULTI may queue at most.
pub const MULTI_QUEUED_MAX: usize = 1_000_000;

/// An open MULTI block.
#[derive(Default)]
pub struct Multi {
    /// Commands queued so far.
    pub queued: Vec<Vec<Bytes>>,
    /// Bytes of their arguments (limited by `client-query-buffer-limit`).
    pub queued_bytes: usize,
    /// A command was rejected while queueing: EXEC must abort.
    pub failed: bool,
}

/// The clock of a batch of pipelined requests: the wall clock is read once
/// per batch, the monotonic clock once per command (a command's end is the
/// next one's start), instead of three reads per command (start, end, the
/// store's Unix time).
pub struct BatchClock {
    /// When the batch started (monotonic).
    batch_start: Instant,
    /// The Unix time then, ms.
    batch_unix_ms: u64,
    /// The last reading: when the previous command of the batch ended.
    last: Instant,
}

impl BatchClock {
    fn new() -> BatchClock {
        let now = Instant::now();
        BatchClock {
            batch_start: now,
            batch_unix_ms: unix_ms_now(),
            last: now,
        }
    }

    /// Starts a batch: reads both clocks.
    pub fn start_batch(&mut self) {
        *self = BatchClock::new();
    }

    /// When the next command starts: the end of the previous one (or the
    /// start of the batch).
    pub fn command_start(&self) -> Instant {
        self.last
    }

    /// Reads the clock at the end of a command; returns the reading.
    pub fn command_end(&mut self) -> Instant {
        self.last = Instant::now();
        self.last
    }

    /// The Unix time (ms) at `at`, a reading of this batch.
    pub fn unix_ms_at(&self, at: Instant) -> u64 {
        let since = at.saturating_duration_since(self.batch_start).as_millis();
        self.batch_unix_ms
            .saturating_add(u64::try_from(since).unwrap_or(u64::MAX))
    }
}

/// Current Unix time in milliseconds.
fn unix_ms_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}

/// Per-connection state the commands read and change.
pub struct Session {
    /// What other clients see about this one.
    pub info: Arc<ClientInfo>,
    /// Selected database.
    pub db: usize,
    /// RESP2 or RESP3.
    pub protocol: Protocol,
    /// AUTH succeeded, or no password is configured.
    pub authenticated: bool,
    /// Inside MULTI.
    pub multi: Option<Multi>,
    /// WATCHed keys (db, key) and their handles.
    pub watches: Vec<(usize, Bytes, WatchHandle)>,
    /// Close once the replies so far are written (QUIT, SHUTDOWN).
    pub close: bool,
    /// A command of the batch may have written: wait for the AOF before
    /// replying (`Persistence::wait_acked`).
    pub wrote: bool,
    /// The clock of the current batch.
    pub clock: BatchClock,
}

impl Session {
    /// A new session for `info`.
    pub fn new(info: Arc<ClientInfo>, authenticated: bool) -> Session {
        Session {
            info,
            db: 0,
            protocol: Protocol::Resp2,
            authenticated,
            multi: None,
            watches: Vec::new(),
            close: false,
            wrote: false,
            clock: BatchClock::new(),
        }
    }

    /// Selects a database (index validated by the caller).
    pub fn select(&mut self, db: usize) {
        self.db = db;
        self.info.db.store(db, Ordering::Relaxed);
    }

    /// Switches RESP version.
    pub fn set_protocol(&mut self, protocol: Protocol) {
        self.protocol = protocol;
        self.info.resp.store(
            if protocol == Protocol::Resp3 { 3 } else { 2 },
            Ordering::Relaxed,
        );
    }

    /// Leaves MULTI (EXEC, DISCARD) and drops every WATCH.
    pub fn end_multi(&mut self) {
        self.multi = None;
        self.watches.clear();
        self.info.multi_queued_plus_one.store(0, Ordering::Relaxed);
    }
}

fn limits_of(server: &Server) -> (Limits, usize, BufferLimit) {
    let config = server.config.read();
    let limits = Limits {
        bulk_len_max: config.proto_max_bulk_len.bytes_usize(),
        ..Limits::default()
    };
    (
        limits,
        config.client_query_buffer_limit.bytes_usize(),
        config.client_output_buffer_limit.normal,
    )
}

/// Checks pending output against the normal-class limits: `Err` when the
/// client must be closed now; `Ok(Some(secs))` when the write must finish
/// within `secs` (output above a soft limit with a grace time).
fn check_output(output_len: usize, limit: BufferLimit) -> Result<Option<u64>, CloseReason> {
    let len = output_len as u64;
    if limit.hard_bytes > 0 && len > limit.hard_bytes {
        return Err(CloseReason::OutputBufferLimit(output_len));
    }
    if limit.soft_bytes > 0 && len > limit.soft_bytes {
        if limit.soft_secs == 0 {
            return Err(CloseReason::OutputBufferLimit(output_len));
        }
        return Ok(Some(limit.soft_secs));
    }
    Ok(None)
}

/// Serves one connection until the client leaves, misbehaves or the server
/// shuts down. Unregisters the client at the end.
pub async fn run(server: Arc<Server>, stream: TcpStream, info: Arc<ClientInfo>) {
    let id = info.id;
    let peer = info.addr;
    tracing::debug!(id, %peer, "client connected");
    if let Err(reason) = serve(&server, stream, info).await {
        tracing::info!(id, %peer, "closing client: {reason}");
    } else {
        tracing::debug!(id, %peer, "client disconnected");
    }
    server.clients.unregister(id);
}

/// Why a connection was closed by the server.
#[derive(Debug, thiserror::Error)]
enum CloseReason {
    #[error("I/O error: {0}")]
    Io(#[from] std::io::Error),
    #[error("protocol error: {0}")]
    Protocol(ferrite_protocol::ProtocolError),
    #[error("query buffer of {0} bytes reached client-query-buffer-limit")]
    QueryBufferLimit(usize),
    #[error("output buffer of {0} bytes reached client-output-buffer-limit")]
    OutputBufferLimit(usize),
    #[error("write timed out")]
    WriteTimeout,
}

async fn serve(
    server: &Arc<Server>,
    mut stream: TcpStream,
    info: Arc<ClientInfo>,
) -> Result<(), CloseReason> {
    let requirepass_set = !server.config.read().requirepass.is_empty();
    let mut session = Session::new(Arc::clone(&info), !requirepass_set);
    let (limits, _, _) = limits_of(server);
    let mut decoder = RequestDecoder::new(limits);
    decoder.set_auth_required(!session.authenticated);
    let mut input = BytesMut::with_capacity(READ_CHUNK_BYTES);
    let mut output = BytesMut::with_capacity(READ_CHUNK_BYTES);
    let mut shutdown = server.shutdown_signal();

    loop {
        // Read more input (or stop on shutdown).
        if input.capacity() - input.len() < READ_CHUNK_BYTES / 2 {
            // Grow towards a pending big bulk at most by doubling, so a bare
            // `$536870912` header costs nothing until the bytes arrive.
            let missing = decoder
                .pending_bulk_len()
                .map_or(0, |n| n.saturating_add(2).saturating_sub(input.len()));
            input.reserve(missing.clamp(READ_CHUNK_BYTES, input.len().max(READ_CHUNK_BYTES)));
        }
        let read = tokio::select! {
            read = stream.read_buf(&mut input) => read?,
            _ = shutdown.changed() => return Ok(()),
        };
        if read == 0 {
            return Ok(());
        }
        server.stats.add_net_input(read as u64);
        session.clock.start_batch();
        // Limits may change with CONFIG SET; they apply from the next batch.
        let (limits, query_limit, output_limit) = limits_of(server);
        if decoder.limits() != &limits {
            decoder.set_limits(limits);
        }

        // Execute every complete request in the buffer.
        loop {
            let request = match decoder.decode(&mut input) {
                Ok(Some(request)) => request,
                Ok(None) => break,
                Err(err) => {
                    let frame = err.to_frame();
                    if let Frame::Error(text) = &frame {
                        server.stats.record_error(text);
                    }
                    encode(&frame, session.protocol, &mut output);
                    ack_writes(server, &mut session).await;
                    flush(server, &mut stream, &mut output).await?;
                    return Err(CloseReason::Protocol(err));
                }
            };
            // Start loading the next pipelined request's key while this one runs.
            if let Some(key) = ferrite_protocol::peek_argument(&input, 1) {
                server.store.prefetch(session.db, key);
            }
            let reply = cmd::dispatch(server, &mut session, request.into_args()).await;
            if let Some(reply) = reply {
                encode(&reply, session.protocol, &mut output);
            }
            decoder.set_auth_required(!session.authenticated);
            check_output(output.len(), output_limit)?;
            if session.close {
                ack_writes(server, &mut session).await;
                flush(server, &mut stream, &mut output).await?;
                return Ok(());
            }
            if output.len() >= WRITE_FLUSH_BYTES {
                let soft_secs = check_output(output.len(), output_limit)?;
                ack_writes(server, &mut session).await;
                flush_tracked(server, &info, &mut stream, &mut output, soft_secs).await?;
            }
        }
        info.qbuf_bytes.store(input.len(), Ordering::Relaxed);
        if input.len() > query_limit {
            return Err(CloseReason::QueryBufferLimit(input.len()));
        }
        if !output.is_empty() {
            let soft_secs = check_output(output.len(), output_limit)?;
            ack_writes(server, &mut session).await;
            flush_tracked(server, &info, &mut stream, &mut output, soft_secs).await?;
        }
        if server.is_shutting_down() {
            return Ok(());
        }
    }
}

/// Replies of writes go out only once the AOF has them (group commit; a
/// no-op with the AOF off). See `persist.rs`.
async fn ack_writes(server: &Server, session: &mut Session) {
    if std::mem::take(&mut session.wrote) {
        server.persistence.wait_acked().await;
    }
}

/// [`flush`], showing the pending bytes in CLIENT LIST (`omem`) meanwhile;
/// with `soft_secs`, the write must finish within that many seconds (soft
/// output limit), else the client is closed.
async fn flush_tracked(
    server: &Server,
    info: &ClientInfo,
    stream: &mut TcpStream,
    output: &mut BytesMut,
    soft_secs: Option<u64>,
) -> Result<(), CloseReason> {
    info.omem_bytes.store(output.len(), Ordering::Relaxed);
    let len = output.len();
    let result = match soft_secs {
        None => flush(server, stream, output).await,
        Some(secs) => {
            tokio::time::timeout(Duration::from_secs(secs), flush(server, stream, output))
                .await
                .unwrap_or(Err(CloseReason::OutputBufferLimit(len)))
        }
    };
    info.omem_bytes.store(0, Ordering::Relaxed);
    result
}

async fn flush(
    server: &Server,
    stream: &mut TcpStream,
    output: &mut BytesMut,
) -> Result<(), CloseReason> {
    if output.is_empty() {
        return Ok(());
    }
    tokio::time::timeout(
        Duration::from_millis(WRITE_TIMEOUT_MS),
        stream.write_all(output),
    )
    .await
    .map_err(|_| CloseReason::WriteTimeout)??;
    server.stats.add_net_output(output.len() as u64);
    output.clear();
    if output.capacity() > 4 * WRITE_FLUSH_BYTES {
        // Give back the memory of one huge reply.
        *output = BytesMut::with_capacity(READ_CHUNK_BYTES);
    }
    Ok(())
}
