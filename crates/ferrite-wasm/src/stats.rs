//! Per-function statistics: per thread stripe
//! ([`ferrite_store::striped`]), one mutex over the counters and the
//! duration histogram, so a call takes one lock that stays with its core
//! to record itself, and readers (WASM.STATS) merge the stripes. Atomics
//! per counter cost a call nine contended read-modify-writes when two
//! threads run the same function; one shared mutex still moved its line
//! between the I/O threads twice per call.

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use ferrite_store::striped::{Counter, Stripes};
use hdrhistogram::Histogram;
use parking_lot::Mutex;

/// Longest duration the histogram records exactly (longer ones saturate): 1 h.
const HISTOGRAM_NS_MAX: u64 = 3_600_000_000_000;

/// Counters of one function.
pub(crate) struct FunctionStats {
    /// A stripe's counters (a histogram is ~260 KiB) are allocated by the
    /// first call its threads record.
    stripes: Stripes<Mutex<Option<Box<Counters>>>>,
    /// Apart: counted on the inline path's way out, not under the lock.
    deferred: Counter,
}

struct Counters {
    invocations: u64,
    successful: u64,
    failed: u64,
    duration_ns_total: u64,
    fuel_consumed: u64,
    memory_bytes_last: u64,
    memory_bytes_peak: u64,
    /// [`crate::clock::mono_ms`] of the last call's end, plus one (0: never).
    last_invocation_ms: u64,
    histogram: Histogram<u64>,
}

impl Counters {
    fn new() -> Self {
        Counters {
            invocations: 0,
            successful: 0,
            failed: 0,
            duration_ns_total: 0,
            fuel_consumed: 0,
            memory_bytes_last: 0,
            memory_bytes_peak: 0,
            last_invocation_ms: 0,
            // 3 significant digits from 1 ns to 1 h: a fixed, bounded size.
            histogram: Histogram::new_with_bounds(1, HISTOGRAM_NS_MAX, 3)
                .expect("static histogram bounds are valid"),
        }
    }
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
            stripes: Stripes::default(),
            deferred: Counter::default(),
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
        // Monotonic, + 1 so that 0 means never; made Unix time on reading.
        let last_ms = crate::clock::mono_ms(ended) + 1;
        let mut stripe = self.stripes.mine().lock();
        let c = stripe.get_or_insert_with(|| Box::new(Counters::new()));
        c.invocations += 1;
        if ok {
            c.successful += 1;
        } else {
            c.failed += 1;
        }
        c.duration_ns_total = c.duration_ns_total.saturating_add(ns);
        c.fuel_consumed = c.fuel_consumed.saturating_add(fuel);
        c.memory_bytes_last = memory_bytes;
        c.memory_bytes_peak = c.memory_bytes_peak.max(memory_bytes);
        c.last_invocation_ms = last_ms;
        // `ns` is clamped into the histogram's range, so this cannot fail.
        let _ = c.histogram.record(ns);
    }

    /// Counts one inline attempt handed back (see [`StatsSnapshot::deferred`]).
    pub(crate) fn record_deferred(&self) {
        self.deferred.add(1);
    }

    /// The stripes merged: sums, the peak, the latest call's memory size.
    pub(crate) fn snapshot(&self) -> StatsSnapshot {
        let mut all = Counters::new();
        for stripe in self.stripes.iter() {
            let stripe = stripe.lock();
            let Some(c) = stripe.as_deref() else { continue };
            all.invocations += c.invocations;
            all.successful += c.successful;
            all.failed += c.failed;
            all.duration_ns_total = all.duration_ns_total.saturating_add(c.duration_ns_total);
            all.fuel_consumed = all.fuel_consumed.saturating_add(c.fuel_consumed);
            all.memory_bytes_peak = all.memory_bytes_peak.max(c.memory_bytes_peak);
            if c.last_invocation_ms >= all.last_invocation_ms {
                all.last_invocation_ms = c.last_invocation_ms;
                all.memory_bytes_last = c.memory_bytes_last;
            }
            // Same bounds on both sides: adding cannot fail.
            let _ = all.histogram.add(&c.histogram);
        }
        let last = all.last_invocation_ms;
        StatsSnapshot {
            invocations: all.invocations,
            successful: all.successful,
            failed: all.failed,
            avg_duration: Duration::from_nanos(
                all.duration_ns_total
                    .checked_div(all.invocations)
                    .unwrap_or(0),
            ),
            p99_duration: Duration::from_nanos(all.histogram.value_at_quantile(0.99)),
            fuel_consumed: all.fuel_consumed,
            memory_used_bytes: all.memory_bytes_last,
            memory_peak_bytes: all.memory_bytes_peak,
            last_invocation_ms: (last != 0).then(|| crate::clock::unix_ms_of(last - 1)),
            deferred: self.deferred.get(),
        }
    }

    /// Resets every counter (WASM.STATS RESET).
    pub(crate) fn reset(&self) {
        for stripe in self.stripes.iter() {
            *stripe.lock() = None;
        }
        self.deferred.reset();
    }
}
