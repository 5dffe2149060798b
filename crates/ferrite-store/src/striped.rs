//! Counters that many threads bump: one stripe per thread, summed on read.
//!
//! A single `AtomicU64` bumped by every I/O thread for every command moves
//! its cache line between cores each time; a stripe per thread keeps each
//! line with one core.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

/// Stripes per counter: the first this many threads each get their own.
pub const STRIPES: usize = 16;

/// This thread's stripe, in `0..STRIPES`: threads take them in turn.
pub fn thread_index() -> usize {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    thread_local! {
        static INDEX: usize = NEXT.fetch_add(1, Ordering::Relaxed) % STRIPES;
    }
    INDEX.with(|i| *i)
}

/// One counter, aligned so that stripes share no cache line.
#[derive(Default)]
#[repr(align(128))]
struct Padded(AtomicU64);

/// A `u64` counter striped by thread ([`thread_index`]).
///
/// ```
/// let c = ferrite_store::striped::Counter::default();
/// c.add(2);
/// std::thread::scope(|s| {
///     s.spawn(|| c.add(3));
/// });
/// assert_eq!(c.get(), 5);
/// ```
pub struct Counter {
    stripes: [Padded; STRIPES],
}

impl Default for Counter {
    fn default() -> Self {
        Counter {
            stripes: std::array::from_fn(|_| Padded::default()),
        }
    }
}

impl Counter {
    /// Adds `n` (wrapping) to this thread's stripe.
    pub fn add(&self, n: u64) {
        self.stripes[thread_index()]
            .0
            .fetch_add(n, Ordering::Relaxed);
    }

    /// The sum of the stripes (wrapping).
    pub fn get(&self) -> u64 {
        self.stripes
            .iter()
            .map(|s| s.0.load(Ordering::Relaxed))
            .fold(0, u64::wrapping_add)
    }

    /// Sets the counter to zero (racing adds may survive, as with one atomic).
    pub fn reset(&self) {
        for s in &self.stripes {
            s.0.store(0, Ordering::Relaxed);
        }
    }
}
