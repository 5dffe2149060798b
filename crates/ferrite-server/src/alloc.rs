//! A global allocator wrapper that counts live heap bytes, for
//! `INFO memory` (`used_memory`). The binary installs it with
//! `#[global_allocator]`; without it the counter stays at zero.
//!
//! The allocator underneath is mimalloc (glibc's malloc + free cost ~190
//! instructions per pair on the request path, mimalloc's about a third).
//! The counter adds the requested sizes, as before, not mimalloc's size
//! classes. It is striped per thread ([`ferrite_store::striped`]): one
//! atomic bumped by every allocation and free of every thread moved its
//! cache line between the I/O threads several times per command (a WASM
//! call allocates about a dozen times). A stripe may go negative (a thread
//! frees what another allocated); the sum is the live total.

use std::alloc::{GlobalAlloc, Layout};

use ferrite_store::striped::{thread_index, STRIPES};
use mimalloc::MiMalloc as Inner;
use std::sync::atomic::{AtomicIsize, AtomicUsize, Ordering};

/// One stripe of the live-bytes count, on a cache line of its own.
#[repr(align(128))]
struct Stripe(AtomicIsize);

/// Live bytes per thread stripe (a `static`: the allocator cannot allocate).
static ALLOCATED_BYTES: [Stripe; STRIPES] = [const { Stripe(AtomicIsize::new(0)) }; STRIPES];
static ALLOCATED_PEAK_BYTES: AtomicUsize = AtomicUsize::new(0);

/// mimalloc, counting live bytes.
pub struct CountingAlloc;

/// Live heap bytes allocated through [`CountingAlloc`] (the sum of the
/// stripes; also raises [`allocated_peak_bytes`]).
pub fn allocated_bytes() -> usize {
    let live = ALLOCATED_BYTES
        .iter()
        .map(|s| s.0.load(Ordering::Relaxed))
        .fold(0isize, isize::wrapping_add);
    let live = usize::try_from(live).unwrap_or(0);
    ALLOCATED_PEAK_BYTES.fetch_max(live, Ordering::Relaxed);
    live
}

/// The highest value [`allocated_bytes`] returned (sampled by its callers:
/// INFO and the server's once-a-second cron, like Redis's own peak).
pub fn allocated_peak_bytes() -> usize {
    ALLOCATED_PEAK_BYTES.load(Ordering::Relaxed)
}

/// Returns this thread's freed mimalloc pages to the system now. mimalloc
/// purges freed memory after a delay, but only when the thread that freed
/// it calls into the allocator again: an I/O thread that went quiet after
/// loading 1M keys kept ~90 MiB more resident (VmRSS 231 MiB for 105 MiB
/// used) until its next requests. Each I/O thread calls this once a second
/// ([`COLLECT_INTERVAL`]).
pub fn collect_thread_garbage() {
    // SAFETY: `mi_collect` has no preconditions; it only walks the
    // calling thread's own heap.
    unsafe { libmimalloc_sys::mi_collect(false) };
}

/// How often each I/O thread runs [`collect_thread_garbage`].
pub const COLLECT_INTERVAL: std::time::Duration = std::time::Duration::from_secs(1);

fn added(size: usize) {
    ALLOCATED_BYTES[thread_index()]
        .0
        .fetch_add(size as isize, Ordering::Relaxed);
}

fn removed(size: usize) {
    ALLOCATED_BYTES[thread_index()]
        .0
        .fetch_sub(size as isize, Ordering::Relaxed);
}

/// The alignment every mimalloc block has: its size classes are whole
/// words and its pages start aligned, so `mi_malloc` needs no alignment
/// argument up to here.
const WORD_ALIGN_BYTES: usize = std::mem::size_of::<usize>();

/// Whether `layout` can take mimalloc's plain (unaligned) entry points.
///
/// The `mimalloc` crate passes every allocation to `mi_malloc_aligned`.
/// In mimalloc 3 that path serves a size that is not a power of two (a
/// 24-byte `Vec<Bytes>`, a 10-byte name) from its own size class only
/// while that class has a free block at hand; otherwise it over-allocates
/// `size + align - 1` from the next class. That class then never gets a
/// page of its own, so every such allocation took the slow path (callgrind,
/// WASM.CALL rate_limit: 3 of its ~11 allocations per call, ~880 Ir in
/// `mi_malloc_aligned` per call).
fn plain(layout: Layout) -> bool {
    layout.align() <= WORD_ALIGN_BYTES
}

// SAFETY: every method forwards to mimalloc with the caller's arguments
// (to its plain entry points only where the layout's alignment is one
// every mimalloc block has, see `plain`), so its guarantees carry over;
// the counting touches only atomics and never allocates.
unsafe impl GlobalAlloc for CountingAlloc {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let ptr = if plain(layout) {
            // SAFETY: `mi_malloc` has no preconditions; its blocks are
            // word aligned, which is all `layout` asks (`plain`).
            unsafe { libmimalloc_sys::mi_malloc(layout.size()).cast::<u8>() }
        } else {
            // SAFETY: forwarded unchanged; the caller upholds `alloc`'s contract.
            unsafe { Inner.alloc(layout) }
        };
        debug_assert_eq!(ptr as usize % layout.align(), 0);
        if !ptr.is_null() {
            added(layout.size());
        }
        ptr
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        let ptr = if plain(layout) {
            // SAFETY: as in `alloc`.
            unsafe { libmimalloc_sys::mi_zalloc(layout.size()).cast::<u8>() }
        } else {
            // SAFETY: forwarded unchanged; the caller upholds `alloc_zeroed`'s contract.
            unsafe { Inner.alloc_zeroed(layout) }
        };
        if !ptr.is_null() {
            added(layout.size());
        }
        ptr
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: forwarded unchanged; `ptr` came from this allocator (= mimalloc).
        unsafe { Inner.dealloc(ptr, layout) };
        removed(layout.size());
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let new_ptr = if plain(layout) {
            // SAFETY: `ptr` came from this allocator (= mimalloc) and is
            // live (the caller's contract); the new block is word aligned,
            // all `layout` asks.
            unsafe { libmimalloc_sys::mi_realloc(ptr.cast(), new_size).cast::<u8>() }
        } else {
            // SAFETY: forwarded unchanged; the caller upholds `realloc`'s contract.
            unsafe { Inner.realloc(ptr, layout, new_size) }
        };
        if !new_ptr.is_null() {
            removed(layout.size());
            added(new_size);
        }
        new_ptr
    }
}
