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
        let (a, i) = (super::monotonic_ms(), std::time::Instant::now());
        std::thread::sleep(std::time::Duration::from_millis(50));
        let (b, took) = (super::monotonic_ms(), i.elapsed().as_millis() as u64);
        assert!(b >= a + 50 && b - a <= took + 2, "{a} {b} {took}");
    }
}
