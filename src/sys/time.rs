//! The monotonic clock.

use nix::time::{clock_gettime, ClockId};

/// Milliseconds on the monotonic clock (from an unspecified start): what std's `Instant`
/// gives, without its Duration arithmetic.
pub fn monotonic_ms() -> u64 {
    // CLOCK_MONOTONIC cannot fail on Linux.
    clock_gettime(ClockId::CLOCK_MONOTONIC).map_or(0, |t| {
        t.tv_sec() as u64 * 1000 + t.tv_nsec() as u64 / 1_000_000
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn monotonic_ms_keeps_pace_with_instant() {
        // `Instant` brackets both readings, so however long the scheduler holds this thread
        // between them, the clock cannot have moved more than the bracket (plus a millisecond
        // of rounding), nor less than the sleep.
        let outer = std::time::Instant::now();
        let a = super::monotonic_ms();
        std::thread::sleep(std::time::Duration::from_millis(50));
        let b = super::monotonic_ms();
        let took = outer.elapsed().as_millis() as u64;
        assert!(b >= a + 50 && b - a <= took + 1, "{a} {b} {took}");
    }
}
