//! Thread-per-core I/O: `io-threads` OS threads, each running its own
//! single-threaded tokio runtime (its own epoll instance and timers). The
//! accept loop hands each new connection to the next thread, round robin,
//! and the connection stays there for its whole life.
//!
//! Why not one work-stealing runtime: a stealing scheduler moves
//! connections between its workers, so a connection's buffers, session and
//! socket travel between cores. Measured on this project's 2-core machine
//! (`perf stat`, 200k GETs at pipeline 1, docs/benchmarks.md session 6):
//! 850–1,382 CPU migrations with the stealing runtime, 22 here (Redis 57);
//! context switches stayed the same (~44k, Redis 26k). WASM.CALL at
//! pipeline 16 cost ~15 % less server CPU.
//!
//! Blocking work (deferred WASM calls, SAVE) goes to the `spawn_blocking`
//! pool of the connection's runtime, never onto the I/O thread itself.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread::JoinHandle;

use parking_lot::Mutex;
use tokio::net::TcpStream;
use tokio::runtime::Handle;
use tokio::sync::watch;

use crate::config::IO_THREADS_MAX;

/// The I/O threads. Dropping them (or [`IoThreads::stop`]) ends every
/// connection task still running on them.
pub struct IoThreads {
    handles: Vec<Handle>,
    next: AtomicUsize,
    stop: watch::Sender<bool>,
    threads: Mutex<Vec<JoinHandle<()>>>,
}

impl IoThreads {
    /// Starts `count` threads (at least one, at most [`IO_THREADS_MAX`]).
    pub fn start(count: usize) -> std::io::Result<IoThreads> {
        let count = count.clamp(1, IO_THREADS_MAX as usize);
        let (stop, _) = watch::channel(false);
        let mut handles = Vec::with_capacity(count);
        let mut threads = Vec::with_capacity(count);
        for index in 0..count {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .thread_name(format!("ferrite-io-{index}"))
                .build()?;
            handles.push(runtime.handle().clone());
            runtime.spawn(async {
                let mut every = tokio::time::interval(crate::alloc::COLLECT_INTERVAL);
                every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
                loop {
                    every.tick().await;
                    crate::alloc::collect_thread_garbage();
                }
            });
            let mut stopped = stop.subscribe();
            let thread = std::thread::Builder::new()
                .name(format!("ferrite-io-{index}"))
                .spawn(move || {
                    runtime.block_on(async move {
                        // An error means the sender is gone: stop as well.
                        let _ = stopped.wait_for(|stop| *stop).await;
                    });
                    // Dropping the runtime drops the tasks still on it.
                    drop(runtime);
                })?;
            threads.push(thread);
        }
        Ok(IoThreads {
            handles,
            next: AtomicUsize::new(0),
            stop,
            threads: Mutex::new(threads),
        })
    }

    /// Moves `stream` (accepted on another runtime) to the next I/O thread
    /// and runs `serve` with it there.
    pub fn spawn_connection<F, Fut>(&self, stream: TcpStream, serve: F) -> std::io::Result<()>
    where
        F: FnOnce(TcpStream) -> Fut + Send + 'static,
        Fut: std::future::Future<Output = ()> + Send + 'static,
    {
        // Leaves the accepting runtime's reactor; joins the target's below.
        let stream = stream.into_std()?;
        let index = self.next.fetch_add(1, Ordering::Relaxed) % self.handles.len();
        let handle = &self.handles[index];
        handle.spawn(async move {
            match TcpStream::from_std(stream) {
                Ok(stream) => serve(stream).await,
                Err(err) => tracing::warn!("cannot register a connection: {err}"),
            }
        });
        Ok(())
    }

    /// Stops every thread and waits for them (their remaining tasks are
    /// dropped). Call it from outside the I/O threads.
    pub fn stop(&self) {
        let _ = self.stop.send(true);
        let threads = std::mem::take(&mut *self.threads.lock());
        let me = std::thread::current().id();
        for thread in threads {
            if thread.thread().id() != me {
                let _ = thread.join();
            }
        }
    }
}

impl Drop for IoThreads {
    /// Stops the threads without waiting: the last reference may be dropped
    /// by a task on one of them.
    fn drop(&mut self) {
        let _ = self.stop.send(true);
    }
}
