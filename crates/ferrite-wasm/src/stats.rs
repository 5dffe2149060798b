//! Per-function statistics. Counters are atomics; the duration histogram has
//! its own mutex per function, so calls of different functions never share
//! a lock.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use hdrhistogram::Histogram;
use parking_lot::Mutex;

/// Longest duration the histogram records exactly (longer ones saturate): 1 h.
const HISTOGRAM_NS_MAX: u64 = 3_600_000_000_000;

/// Counters of one function.
pub(crate) struct FunctionStats {
    invocations: AtomicU64,
    successful: AtomicU64,
    failed: AtomicU64,
    duration_ns_total: AtomicU64,
    fuel_consumed: AtomicU64,
    memory_bytes_last: AtomicU64,
    memory_bytes_peak: AtomicU64,
    /// [`crate::clock::mono_ms`] of the last call's end, plus one (0: never).
    last_invocation_ms: AtomicU64,
    deferred: AtomicU64,
    histogram: Mutex<Histogram<u64>>,
}

/// A snapshot of a function's statistics (WASM.STATS / WASM.INFO).
#[derive(Debug, Clone, PartialEq)]
pub struct StatsSnapshot {
    /// Calls started.
    pub invocations: u64,
    /// Calls that returned a reply (error replies from `ferrite_error` count
    /// as failed).
    pub successful: u64,
    /// Calls that failed.
    pub failed: u64,
    /// Mean duration of a call.
    pub avg_duration: Duration,
    /// 99th percentile duration.
    pub p99_duration: Duration,
    /// Total fuel consumed by all calls.
    pub fuel_consumed: u64,
    /// Linear memory size at the end of the last call, in bytes.
    pub memory_used_bytes: u64,
    /// Largest linear memory size seen at the end of a call, in bytes.
    pub memory_peak_bytes: u64,
    /// Unix time of the last call, in ms (`None` if never called).
    pub last_invocation_ms: Option<u64>,
    /// Inline attempts handed back to the blocking pool (they would have
    /// waited, or overran the inline budget); each also counts once in
    /// `invocations` when it runs there.
    pub deferred: u64,
}

pub(crate) fn unix_ms(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

impl FunctionStats {
    pub(crate) fn new() -> Self {
        FunctionStats {
            invocations: AtomicU64::new(0),
            successful: AtomicU64::new(0),
            failed: AtomicU64::new(0),
            duration_ns_total: AtomicU64::new(0),
            fuel_consumed: AtomicU64::new(0),
            memory_bytes_last: AtomicU64::new(0),
            memory_bytes_peak: AtomicU64::new(0),
            last_invocation_ms: AtomicU64::new(0),
            deferred: AtomicU64::new(0),
            // 3 significant digits from 1 ns to 1 h: a fixed, bounded size.
            histogram: Mutex::new(
                Histogram::new_with_bounds(1, HISTOGRAM_NS_MAX, 3)
                    .expect("static histogram bounds are valid"),
            ),
        }
    }

    /// Records one finished call, which ran from `started` to `ended`.
    pub(crate) fn record(
        &self,
        ok: bool,
        started: Instant,
        ended: Instant,
        fuel: u64,
        memory_bytes: u64,
    ) {
        let duration = ended.saturating_duration_since(started);
        let ns = u64::try_from(duration.as_nanos())
            .unwrap_or(u64::MAX)
            .clamp(1, HISTOGRAM_NS_MAX);
        self.invocations.fetch_add(1, Ordering::Relaxed);
        if ok {
            self.successful.fetch_add(1, Ordering::Relaxed);
        } else {
            self.failed.fetch_add(1, Ordering::Relaxed);
        }
        self.duration_ns_total.fetch_add(ns, Ordering::Relaxed);
        self.fuel_consumed.fetch_add(fuel, Ordering::Relaxed);
        self.memory_bytes_last
            .store(memory_bytes, Ordering::Relaxed);
        self.memory_bytes_peak
            .fetch_max(memory_bytes, Ordering::Relaxed);
        // Monotonic, + 1 so that 0 means never; made Unix time on reading.
        self.last_invocation_ms
            .store(crate::clock::mono_ms(ended) + 1, Ordering::Relaxed);
        // `ns` is clamped into the histogram's range, so this cannot fail.
        let _ = self.histogram.lock().record(ns);
    }

    /// Counts one inline attempt handed back (see [`StatsSnapshot::deferred`]).
    pub(crate) fn record_deferred(&self) {
        self.deferred.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn snapshot(&self) -> StatsSnapshot {
        let invocations = self.invocations.load(Ordering::Relaxed);
        let total = self.duration_ns_total.load(Ordering::Relaxed);
        let p99 = self.histogram.lock().value_at_quantile(0.99);
        let last = self.last_invocation_ms.load(Ordering::Relaxed);
        StatsSnapshot {
            invocations,
            successful: self.successful.load(Ordering::Relaxed),
            failed: self.failed.load(Ordering::Relaxed),
            avg_duration: Duration::from_nanos(total.checked_div(invocations).unwrap_or(0)),
            p99_duration: Duration::from_nanos(p99),
            fuel_consumed: self.fuel_consumed.load(Ordering::Relaxed),
            memory_used_bytes: self.memory_bytes_last.load(Ordering::Relaxed),
            memory_peak_bytes: self.memory_bytes_peak.load(Ordering::Relaxed),
            last_invocation_ms: (last != 0).then(|| crate::clock::unix_ms_of(last - 1)),
            deferred: self.deferred.load(Ordering::Relaxed),
        }
    }

    /// Resets every counter (WASM.STATS RESET).
    pub(crate) fn reset(&self) {
        for c in [
            &self.invocations,
            &self.successful,
            &self.failed,
            &self.duration_ns_total,
            &self.fuel_consumed,
            &self.memory_bytes_last,
            &self.memory_bytes_peak,
            &self.last_invocation_ms,
            &self.deferred,
        ] {
            c.store(0, Ordering::Relaxed);
        }
        self.histogram.lock().reset();
    }
}
