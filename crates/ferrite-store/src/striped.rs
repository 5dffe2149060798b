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

/// One stripe, aligned so that stripes share no cache line.
#[derive(Default)]
#[repr(align(128))]
struct Padded<T>(T);

/// One `T` per thread stripe ([`thread_index`]), each on its own cache lines:
/// a thread works on [`Stripes::mine`], readers visit [`Stripes::iter`].
///
/// ```
/// use std::sync::atomic::{AtomicU64, Ordering};
/// let s = ferrite_store::striped::Stripes::<AtomicU64>::default();
/// s.mine().fetch_add(2, Ordering::Relaxed);
/// std::thread::scope(|t| {
///     t.spawn(|| s.mine().fetch_add(3, Ordering::Relaxed));
/// });
/// assert_eq!(s.iter().map(|c| c.load(Ordering::Relaxed)).sum::<u64>(), 5);
/// ```
pub struct Stripes<T> {
    stripes: [Padded<T>; STRIPES],
}

impl<T: Default> Default for Stripes<T> {
    fn default() -> Self {
        Stripes {
            stripes: std::array::from_fn(|_| Padded::default()),
        }
    }
}

impl<T> Stripes<T> {
    /// This thread's stripe.
    pub fn mine(&self) -> &T {
        &self.stripes[thread_index()].0
    }

    /// Every stripe, this thread's first, then the others in turn.
    pub fn iter_from_mine(&self) -> impl Iterator<Item = &T> {
        let first = thread_index();
        (0..STRIPES).map(move |i| &self.stripes[(first + i) % STRIPES].0)
    }

    /// Every stripe, in index order.
    pub fn iter(&self) -> impl Iterator<Item = &T> {
        self.stripes.iter().map(|s| &s.0)
    }
}

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
#[derive(Default)]
pub struct Counter {
    stripes: Stripes<AtomicU64>,
}

impl Counter {
    /// Adds `n` (wrapping) to this thread's stripe.
    pub fn add(&self, n: u64) {
        self.stripes.mine().fetch_add(n, Ordering::Relaxed);
    }

    /// The sum of the stripes (wrapping).
    pub fn get(&self) -> u64 {
        self.stripes
            .iter()
            .map(|s| s.load(Ordering::Relaxed))
            .fold(0, u64::wrapping_add)
    }

    /// Sets the counter to zero (racing adds may survive, as with one atomic).
    pub fn reset(&self) {
        for s in self.stripes.iter() {
            s.store(0, Ordering::Relaxed);
        }
    }
}
