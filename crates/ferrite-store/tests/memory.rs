//! Heap bytes per key of the benchmark's memory phase (issue 7): SETs of
//! `key:<12 digits>` with 8-byte values, as `redis-benchmark -t set -r
//! 100000000 -d 8` sends them. Counts requested bytes the way the server's
//! `used_memory` does (crates/ferrite-server/src/alloc.rs).
//!
//! `MEMORY_KEYS=1000000 cargo test --release -p ferrite-store --test memory
//! -- --nocapture` prints the figure for the benchmark's size.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

use bytes::Bytes;
use ferrite_store::{Store, StoreConfig};

static LIVE_BYTES: AtomicUsize = AtomicUsize::new(0);

struct Counting;

// SAFETY: forwards every call to `System` unchanged; only counts sizes.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        LIVE_BYTES.fetch_add(layout.size(), Ordering::Relaxed);
        // SAFETY: the caller upholds `alloc`'s contract.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE_BYTES.fetch_sub(layout.size(), Ordering::Relaxed);
        // SAFETY: `ptr` came from `System` with this layout.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        LIVE_BYTES.fetch_sub(layout.size(), Ordering::Relaxed);
        LIVE_BYTES.fetch_add(new_size, Ordering::Relaxed);
        // SAFETY: the caller upholds `realloc`'s contract.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// Heap bytes per key allowed for small string keys (redis-server 7.0.15
/// used 105 B per key in the same load; issue 7 allows 1.2×).
const SMALL_KEY_BYTES_MAX: f64 = 126.0;

/// Keys loaded by default (the benchmark loads 1M; `MEMORY_KEYS` overrides).
const DEFAULT_KEYS: usize = 200_000;

#[test]
fn small_string_keys_stay_compact() {
    let keys = std::env::var("MEMORY_KEYS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(DEFAULT_KEYS);
    let store = Store::new(StoreConfig::default());
    let set = Bytes::from_static(b"SET");
    let value = Bytes::from_static(b"xxxxxxxx");
    // Warm up whatever the store allocates once.
    store
        .execute(
            0,
            &[set.clone(), Bytes::from_static(b"warm"), value.clone()],
        )
        .expect("not blocked");
    store
        .execute(
            0,
            &[Bytes::from_static(b"DEL"), Bytes::from_static(b"warm")],
        )
        .expect("not blocked");
    let before = LIVE_BYTES.load(Ordering::Relaxed);
    // A fixed LCG over 100M, like redis-benchmark's `-r 100000000`.
    let mut x: u64 = 0x2545_F491_4F6C_DD1D;
    for _ in 0..keys {
        x = x
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        let key = format!("key:{:012}", (x >> 33) % 100_000_000);
        store
            .execute(0, &[set.clone(), Bytes::from(key), value.clone()])
            .expect("not blocked");
    }
    let after = LIVE_BYTES.load(Ordering::Relaxed);
    let dbsize = match store
        .execute(0, &[Bytes::from_static(b"DBSIZE")])
        .expect("not blocked")
    {
        ferrite_store::Frame::Integer(n) => n as usize,
        other => panic!("DBSIZE answered {other:?}"),
    };
    let per_key = (after - before) as f64 / dbsize as f64;
    println!("{dbsize} keys: {per_key:.1} heap bytes per key");
    assert!(
        per_key <= SMALL_KEY_BYTES_MAX,
        "{per_key:.1} bytes per key (limit {SMALL_KEY_BYTES_MAX})"
    );
}
