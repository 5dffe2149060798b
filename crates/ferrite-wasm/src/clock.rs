//! The call path's clocks. A call reads `Instant::now()` once when it starts
//! and once when it ends (its duration); everything else is derived from
//! those readings, or from [`coarse_ms`], which the epoch ticker advances
//! every [`crate::executor::EPOCH_TICK`]. Each clock read showed in profiles
//! of WASM.CALL (about ten per call before).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;
use std::time::{Instant, SystemTime};

use crate::stats::unix_ms;

/// The origin of [`mono_ms`]: the first time the process asked.
fn base() -> Instant {
    static BASE: OnceLock<Instant> = OnceLock::new();
    *BASE.get_or_init(Instant::now)
}

/// Monotonic milliseconds since the process's first use of this clock.
pub(crate) fn mono_ms(t: Instant) -> u64 {
    u64::try_from(t.saturating_duration_since(base()).as_millis()).unwrap_or(u64::MAX)
}

/// [`mono_ms`] rounded up: for deadlines, so that `coarse_ms() >= deadline`
/// (both truncate the elapsed time, the ticker's reading included) never
/// holds before `t` itself has passed. A timeout never fires early.
pub(crate) fn mono_ms_ceil(t: Instant) -> u64 {
    let elapsed = t.saturating_duration_since(base());
    let ms = u64::try_from(elapsed.as_millis()).unwrap_or(u64::MAX);
    if elapsed.subsec_nanos() % 1_000_000 == 0 {
        ms
    } else {
        ms.saturating_add(1)
    }
}

/// [`mono_ms`] as of the epoch ticker's last tick (at most an
/// [`crate::executor::EPOCH_TICK`] behind while an executor runs, more if
/// the ticker thread is starved — as late as epoch interruption itself).
pub(crate) fn coarse_ms() -> u64 {
    COARSE_MS.load(Ordering::Relaxed)
}

static COARSE_MS: AtomicU64 = AtomicU64::new(0);

/// Advances [`coarse_ms`]; called by every executor's epoch ticker.
pub(crate) fn tick() {
    COARSE_MS.fetch_max(mono_ms(Instant::now()), Ordering::Relaxed);
}

/// The Unix time (ms) of a [`mono_ms`] reading, as of now (for display).
pub(crate) fn unix_ms_of(mono: u64) -> u64 {
    let now = Instant::now();
    unix_ms(SystemTime::now()).saturating_sub(mono_ms(now).saturating_sub(mono))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn mono_ms_is_monotonic_and_converts_to_unix_time() {
        let a = mono_ms(Instant::now());
        std::thread::sleep(Duration::from_millis(5));
        let b = mono_ms(Instant::now());
        assert!(b >= a + 5, "{a} {b}");
        let unix = unix_ms(SystemTime::now());
        let converted = unix_ms_of(b);
        assert!(
            converted <= unix + 1 && converted + 1_000 > unix,
            "{converted} {unix}"
        );
    }

    #[test]
    fn a_deadline_rounds_up_so_the_coarse_clock_never_passes_it_early() {
        let t = Instant::now() + Duration::from_micros(100_300);
        let deadline = mono_ms_ceil(t);
        assert_eq!(deadline, mono_ms(t) + 1);
        // Any reading that has reached `deadline` is at or after `t`.
        assert!(base() + Duration::from_millis(deadline) >= t);
        assert_eq!(mono_ms_ceil(base() + Duration::from_millis(7)), 7);
    }

    #[test]
    fn tick_advances_the_coarse_clock() {
        tick();
        let now = mono_ms(Instant::now());
        assert!(coarse_ms() <= now && coarse_ms() + 1_000 > now);
    }
}
