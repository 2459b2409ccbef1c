//! At most one log line per kind of event per interval. A flood (of connections, of failing
//! accepts) must not become a flood of log lines: that costs CPU and flash, and hides
//! everything else. The events held back are counted and reported in one line later.
//!
//! Pure: time comes in as milliseconds, the caller logs.

/// `N` kinds of event, each with its own interval clock.
pub struct RateLimit<const N: usize> {
    interval: u64,
    /// When a line of each kind was last allowed.
    last: [Option<u64>; N],
    /// Events of each kind held back since then.
    held: [u32; N],
}

impl<const N: usize> RateLimit<N> {
    pub const fn new(interval_ms: u64) -> Self {
        RateLimit {
            interval: interval_ms,
            last: [None; N],
            held: [0; N],
        }
    }

    fn open(&self, kind: usize, now: u64) -> bool {
        self.last[kind].is_none_or(|t| now >= t.saturating_add(self.interval))
    }

    /// An event of `kind`: `Some(n)` when it is to be logged now, `n` being the events of
    /// this kind held back before it; `None` when it is only counted. An unknown kind is
    /// always logged.
    pub fn event(&mut self, kind: usize, now: u64) -> Option<u32> {
        if kind >= N {
            return Some(0);
        }
        if self.open(kind, now) {
            self.last[kind] = Some(now);
            return Some(core::mem::take(&mut self.held[kind]));
        }
        self.held[kind] = self.held[kind].saturating_add(1);
        None
    }

    /// A kind whose held-back events are due to be reported now, with their count (call
    /// until `None`). Reporting counts as that kind's line for the interval.
    pub fn due(&mut self, now: u64) -> Option<(usize, u32)> {
        let kind = (0..N).find(|&k| self.held[k] > 0 && self.open(k, now))?;
        self.last[kind] = Some(now);
        Some((kind, core::mem::take(&mut self.held[kind])))
    }

    /// When `due` will next have something to report.
    pub fn next_due(&self) -> Option<u64> {
        (0..N)
            .filter(|&k| self.held[k] > 0)
            .filter_map(|k| self.last[k].map(|t| t.saturating_add(self.interval)))
            .min()
    }
}

#[cfg(test)]
mod tests {
    use super::RateLimit;

    #[test]
    fn one_line_per_interval_then_the_count() {
        let mut r = RateLimit::<2>::new(1000);
        assert_eq!(r.event(0, 0), Some(0));
        for t in 1..100 {
            assert_eq!(r.event(0, t * 5), None);
        }
        // The other kind has its own clock.
        assert_eq!(r.event(1, 10), Some(0));
        assert_eq!(r.next_due(), Some(1000));
        assert_eq!(r.due(999), None);
        // The next event after the interval carries the count of those held back ...
        assert_eq!(r.event(0, 1000), Some(99));
        assert_eq!(r.next_due(), None);
        // ... or, when none comes, `due` reports them.
        assert_eq!(r.event(0, 1500), None);
        assert_eq!(r.event(0, 1600), None);
        assert_eq!(r.next_due(), Some(2000));
        assert_eq!(r.due(2000), Some((0, 2)));
        assert_eq!(r.due(2000), None);
        // The report counts as the line of its interval.
        assert_eq!(r.event(0, 2500), None);
        assert_eq!(r.event(0, 3000), Some(1));
    }

    #[test]
    fn quiet_kinds_log_at_once_and_counts_saturate() {
        let mut r = RateLimit::<1>::new(10);
        assert_eq!(r.event(0, 5), Some(0));
        assert_eq!(r.event(0, 100), Some(0));
        r.held[0] = u32::MAX;
        assert_eq!(r.event(0, 101), None);
        assert_eq!(r.due(110), Some((0, u32::MAX)));
        assert_eq!(r.event(7, 0), Some(0));
        // A clock near its end does not overflow.
        assert_eq!(r.event(0, u64::MAX - 5), Some(0));
        assert_eq!(r.event(0, u64::MAX - 4), None);
        assert_eq!(r.next_due(), Some(u64::MAX));
    }
}
