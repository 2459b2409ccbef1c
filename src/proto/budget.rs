//! The daemon's memory budget: how many bytes of connection and channel buffers all
//! connections together may hold, and the one place those buffers are allocated and counted.
//!
//! The loop owns one `Budget` and hands it to `Conn::try_new` (a connection's fixed buffers,
//! at accept) and, through `channel::Buffers::window_buffer`, to each channel open (its window
//! buffer). Every allocation here is fallible: a buffer that does not fit the budget, or that
//! the system refuses, refuses that connection or that channel, never the daemon.

/// Why a buffer was not handed out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shortage {
    /// It would take the buffers past the budget.
    Budget,
    /// The system refused the memory (an address-space limit, strict overcommit).
    System,
}

/// Where buffers come from: `n` zero bytes, or `None` when the memory is not there.
pub type Alloc = fn(usize) -> Option<Box<[u8]>>;

#[cfg_attr(any(test, feature = "fuzzing"), derive(Clone))]
pub struct Budget {
    limit: usize,
    used: usize,
    alloc: Alloc,
}

impl Budget {
    /// A budget of `limit` bytes whose buffers come from `alloc` (the daemon passes one that
    /// leaves fresh pages untouched; `zeroed` writes them).
    pub fn new(limit: usize, alloc: Alloc) -> Budget {
        Budget {
            limit,
            used: 0,
            alloc,
        }
    }

    pub fn limit(&self) -> usize {
        self.limit
    }

    /// Bytes held now.
    pub fn used(&self) -> usize {
        self.used
    }

    /// Counts `n` more bytes as held, if they fit.
    pub fn take(&mut self, n: usize) -> Result<(), Shortage> {
        match self.used.checked_add(n) {
            Some(u) if u <= self.limit => {
                self.used = u;
                Ok(())
            }
            _ => Err(Shortage::Budget),
        }
    }

    /// `n` bytes are no longer held.
    pub fn give(&mut self, n: usize) {
        debug_assert!(n <= self.used, "gave back {n} bytes, {} held", self.used);
        self.used = self.used.saturating_sub(n);
    }

    /// Allocates `n` bytes that the caller has already counted with `take` (a connection's
    /// buffers are counted together, then allocated one by one).
    pub fn alloc_taken(&self, n: usize) -> Option<Box<[u8]>> {
        if n == 0 {
            return Some(Box::default());
        }
        (self.alloc)(n)
    }

    /// `n` zero bytes, counted against the budget.
    pub fn buffer(&mut self, n: usize) -> Result<Box<[u8]>, Shortage> {
        self.take(n)?;
        self.alloc_taken(n).ok_or_else(|| {
            self.give(n);
            Shortage::System
        })
    }

    /// Gives back a buffer from `buffer` (taken by value: what is counted back is dropped).
    #[allow(clippy::boxed_local)]
    pub fn free(&mut self, buf: Box<[u8]>) {
        self.give(buf.len());
    }
}

/// `n` zero bytes from safe code, or `None` when the allocator refuses (never an abort).
/// Writing the zeros makes every page resident at once, which is why the daemon passes its
/// own allocation instead (`sys::alloc::zeroed`).
pub fn zeroed(n: usize) -> Option<Box<[u8]>> {
    let mut v = Vec::new();
    v.try_reserve_exact(n).ok()?;
    v.resize(n, 0);
    Some(v.into_boxed_slice())
}

/// `Vec::try_reserve_exact` for any element type: `None` instead of an abort.
pub fn try_vec<T>(n: usize) -> Option<Vec<T>> {
    let mut v = Vec::new();
    v.try_reserve_exact(n).ok()?;
    Some(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buffers_are_counted_until_given_back() {
        let mut b = Budget::new(1000, zeroed);
        let a = b.buffer(600).unwrap();
        assert_eq!((a.len(), b.used()), (600, 600));
        assert_eq!(b.buffer(401).err(), Some(Shortage::Budget));
        assert_eq!(b.used(), 600, "a refusal takes nothing");
        let c = b.buffer(400).unwrap();
        assert_eq!(b.used(), 1000);
        b.free(a);
        assert_eq!(b.used(), 400);
        b.free(c);
        assert_eq!(b.used(), 0);
        assert_eq!(b.take(usize::MAX), Err(Shortage::Budget));
    }

    #[test]
    fn a_refused_allocation_takes_nothing() {
        let mut b = Budget::new(1 << 20, |_| None);
        assert_eq!(b.buffer(1000).err(), Some(Shortage::System));
        assert_eq!(b.used(), 0);
        // Even a request the allocator could never meet is an error, not an abort.
        assert!(zeroed(usize::MAX).is_none());
        assert!(try_vec::<u64>(usize::MAX / 4).is_none());
    }
}
