//! The server: shared state, the accept loop, the active expiry timer and
//! graceful shutdown.

use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use parking_lot::RwLock;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

use ferrite_store::{Store, StoreConfig};

use crate::client::{Clients, RegisterError};
use crate::config::{Config, LogLevel};
use crate::connection;
use crate::io_threads::IoThreads;
use crate::persist::Persistence;
use crate::stats::Stats;
use crate::wasm_cmd::WasmService;

/// How long shutdown waits for connections to finish their current batch.
pub const SHUTDOWN_GRACE_MS: u64 = 5_000;
/// Keys sampled per active expiry cycle at most.
pub const EXPIRE_CYCLE_BUDGET_KEYS: usize = 2_000;

/// A server error (start-up or I/O of the listener).
#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    /// The listening socket could not be opened.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The tokio runtime could not be created.
    #[error("cannot start the runtime: {0}")]
    Runtime(std::io::Error),
    /// The wasm runtime or the persisted functions could not be loaded.
    #[error("{0}")]
    Wasm(String),
    /// The data could not be loaded (AOF or RDB), or the AOF not opened.
    #[error("{0}")]
    Persist(String),
    /// The signal handlers could not be installed.
    #[error("cannot install signal handlers: {0}")]
    Signals(std::io::Error),
}

/// State shared by every connection.
pub struct Server {
    /// The configuration in force (CONFIG SET changes it).
    pub config: RwLock<Config>,
    /// The keyspace.
    pub store: Arc<Store>,
    /// The WASM functions (`None` when `[wasm] enabled = false`).
    pub wasm: Option<Arc<WasmService>>,
    /// AOF and snapshots.
    pub persistence: Arc<Persistence>,
    /// Connected clients.
    pub clients: Clients,
    /// Counters for INFO.
    pub stats: Stats,
    /// When the server started.
    pub started: Instant,
    /// 40 hex characters identifying this run (INFO `run_id`).
    pub run_id: String,
    /// The address actually listened on.
    pub local_addr: SocketAddr,
    shutdown_tx: watch::Sender<bool>,
    shutting_down: AtomicBool,
    log_level_hook: Option<LogLevelHook>,
    /// The threads serving connections.
    io: IoThreads,
}

/// Applies a new log level (CONFIG SET loglevel) to the process's logger.
pub type LogLevelHook = Box<dyn Fn(LogLevel) + Send + Sync>;

impl Server {
    /// Asks every connection and the accept loop to stop (SHUTDOWN, signals).
    pub fn request_shutdown(&self) {
        self.shutting_down.store(true, Ordering::SeqCst);
        self.shutdown_tx.send_replace(true);
    }

    /// Whether shutdown was requested.
    pub fn is_shutting_down(&self) -> bool {
        self.shutting_down.load(Ordering::SeqCst)
    }

    /// A receiver that changes to `true` on shutdown.
    pub fn shutdown_signal(&self) -> watch::Receiver<bool> {
        self.shutdown_tx.subscribe()
    }

    /// Applies `level` to the logger, if the binary installed a hook.
    pub fn apply_log_level(&self, level: LogLevel) {
        if let Some(hook) = &self.log_level_hook {
            hook(level);
        }
    }

    /// Seconds since start.
    pub fn uptime_secs(&self) -> u64 {
        self.started.elapsed().as_secs()
    }
}

/// Microseconds since the Unix epoch.
pub fn unix_time_us() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_micros()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}

fn new_run_id() -> String {
    use rand::Rng;
    let mut rng = rand::rng();
    (0..40)
        .map(|_| char::from_digit(rng.random_range(0..16), 16).unwrap_or('0'))
        .collect()
}

/// Runs the server until SHUTDOWN, SIGINT or SIGTERM. Builds a small tokio
/// runtime for accepting, timers and signals; [`serve`] starts the
/// `io-threads` connection threads (one per core for 0, see
/// [`crate::io_threads`]). `log_level_hook` lets CONFIG SET loglevel reach the logger the
/// binary installed.
pub fn run(config: Config, log_level_hook: Option<LogLevelHook>) -> Result<(), ServerError> {
    // Accepting, timers and signals; connections run on the I/O threads.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .thread_name("ferrite-main")
        .build()
        .map_err(ServerError::Runtime)?;
    runtime.block_on(serve(config, log_level_hook))
}

/// Binds, serves and returns after a graceful shutdown.
pub async fn serve(
    config: Config,
    log_level_hook: Option<LogLevelHook>,
) -> Result<(), ServerError> {
    let ip: IpAddr = config.bind.parse().unwrap_or(IpAddr::from([127, 0, 0, 1]));
    let addr = SocketAddr::new(ip, config.port);
    let listener = TcpListener::bind(addr)
        .await
        .map_err(|source| ServerError::Bind { addr, source })?;
    let local_addr = listener
        .local_addr()
        .map_err(|source| ServerError::Bind { addr, source })?;
    let store_config = StoreConfig {
        databases: config.databases as usize,
        string_bytes_max: config.proto_max_bulk_len.bytes_usize(),
        ..StoreConfig::default()
    };
    let (shutdown_tx, _) = watch::channel(false);
    let io_threads = match config.io_threads {
        0 => std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get),
        n => n as usize,
    };
    let io = IoThreads::start(io_threads).map_err(ServerError::Runtime)?;
    let store = Arc::new(Store::new(store_config));
    let wasm = if config.wasm.enabled {
        let (wasm_config, dir, store) =
            (config.wasm.clone(), config.dir.clone(), Arc::clone(&store));
        // Start-up compiles the persisted modules: keep it off the runtime's workers.
        let service =
            tokio::task::spawn_blocking(move || WasmService::start(&wasm_config, &dir, store))
                .await
                .map_err(|e| ServerError::Wasm(e.to_string()))?
                .map_err(ServerError::Wasm)?;
        Some(Arc::new(service))
    } else {
        None
    };
    let persistence = {
        let (config, store, wasm) = (config.clone(), Arc::clone(&store), wasm.clone());
        tokio::task::spawn_blocking(move || Persistence::start(&config, store, wasm))
            .await
            .map_err(|e| ServerError::Persist(e.to_string()))?
            .map_err(|e| ServerError::Persist(e.to_string()))?
    };
    if let Some(wasm) = &wasm {
        wasm.set_log(Arc::clone(&persistence) as Arc<dyn ferrite_store::EffectSink>);
    }
    let server = Arc::new(Server {
        config: RwLock::new(config),
        store,
        persistence,
        wasm,
        clients: Clients::default(),
        stats: Stats::default(),
        started: Instant::now(),
        run_id: new_run_id(),
        local_addr,
        shutdown_tx,
        shutting_down: AtomicBool::new(false),
        log_level_hook,
        io,
    });
    tracing::info!(
        "Ferrite {} started, pid {}",
        env!("CARGO_PKG_VERSION"),
        std::process::id()
    );
    tracing::info!("Ready to accept connections on {local_addr}");

    spawn_signal_handlers(&server)?;
    tokio::spawn(expire_loop(Arc::clone(&server)));
    tokio::spawn(persistence_cron(Arc::clone(&server)));
    accept_loop(&server, listener).await;

    tracing::info!(
        "shutting down: closing {} client connections",
        server.clients.len()
    );
    let deadline = Instant::now() + Duration::from_millis(SHUTDOWN_GRACE_MS);
    while !server.clients.is_empty() && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let persistence = Arc::clone(&server.persistence);
    let config = server.config.read().clone();
    match tokio::task::spawn_blocking(move || persistence.shutdown(&config)).await {
        Ok(Ok(())) => {}
        Ok(Err(err)) => tracing::warn!("Error saving at shutdown: {err}"),
        Err(err) => tracing::warn!("Error saving at shutdown: {err}"),
    }
    let io_server = Arc::clone(&server);
    let _ = tokio::task::spawn_blocking(move || io_server.io.stop()).await;
    tracing::info!("Ferrite is now ready to exit, bye bye...");
    Ok(())
}

fn spawn_signal_handlers(server: &Arc<Server>) -> Result<(), ServerError> {
    use tokio::signal::unix::{signal, SignalKind};
    let mut sigterm = signal(SignalKind::terminate()).map_err(ServerError::Signals)?;
    let mut sigint = signal(SignalKind::interrupt()).map_err(ServerError::Signals)?;
    let server = Arc::clone(server);
    tokio::spawn(async move {
        let name = tokio::select! {
            _ = sigterm.recv() => "SIGTERM",
            _ = sigint.recv() => "SIGINT",
        };
        tracing::warn!("Received {name} scheduling shutdown...");
        server.request_shutdown();
    });
    Ok(())
}

async fn accept_loop(server: &Arc<Server>, listener: TcpListener) {
    let mut shutdown = server.shutdown_signal();
    loop {
        if *shutdown.borrow() {
            return;
        }
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            _ = shutdown.changed() => return,
        };
        match accepted {
            Ok((stream, peer)) => admit(server, stream, peer),
            Err(err) => {
                // EMFILE and friends: back off instead of spinning.
                tracing::warn!("accept failed: {err}");
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    }
}

fn admit(server: &Arc<Server>, stream: TcpStream, peer: SocketAddr) {
    server
        .stats
        .connections_received
        .fetch_add(1, Ordering::Relaxed);
    let _ = stream.set_nodelay(true);
    let laddr = stream.local_addr().unwrap_or(server.local_addr);
    let maxclients = server.config.read().maxclients as usize;
    let fd = std::os::fd::AsRawFd::as_raw_fd(&stream);
    match server.clients.register(peer, laddr, fd, maxclients) {
        Ok(info) => {
            let (owned, id) = (Arc::clone(server), info.id);
            let spawned = server
                .io
                .spawn_connection(stream, move |stream| connection::run(owned, stream, info));
            if let Err(err) = spawned {
                tracing::warn!("cannot hand a connection to an I/O thread: {err}");
                server.clients.unregister(id);
            }
        }
        Err(RegisterError::MaxClients) => {
            server
                .stats
                .rejected_connections
                .fetch_add(1, Ordering::Relaxed);
            server
                .stats
                .record_error(b"ERR max number of clients reached");
            tokio::spawn(async move {
                use tokio::io::AsyncWriteExt;
                let mut stream = stream;
                let _ = tokio::time::timeout(
                    Duration::from_millis(1000),
                    stream.write_all(b"-ERR max number of clients reached\r\n"),
                )
                .await;
            });
        }
    }
}

/// Once a second: save rules and automatic AOF rewrites.
async fn persistence_cron(server: Arc<Server>) {
    let mut shutdown = server.shutdown_signal();
    loop {
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_secs(1)) => {}
            _ = shutdown.changed() => return,
        }
        let config = server.config.read().clone();
        server.persistence.cron(&config);
        // Samples the peak of used_memory (INFO `used_memory_peak`).
        let _ = crate::alloc::allocated_bytes();
    }
}

async fn expire_loop(server: Arc<Server>) {
    let mut shutdown = server.shutdown_signal();
    loop {
        let hz = u64::from(server.config.read().hz.max(1));
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_millis(1000 / hz)) => {}
            _ = shutdown.changed() => return,
        }
        let store = Arc::clone(&server.store);
        // Bounded work: at most EXPIRE_CYCLE_BUDGET_KEYS samples.
        let deleted = store.active_expire_cycle(EXPIRE_CYCLE_BUDGET_KEYS);
        if deleted > 0 {
            tracing::trace!(deleted, "active expiry");
        }
    }
}
