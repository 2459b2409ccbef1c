//! The daemon's memory budget: how many bytes of connection and channel buffers all
//! connections together may hold, and the one place those buffers are allocated and counted.
//!
//! The loop owns one `Budget` and hands it to `Conn::try_new` (a connection's fixed buffers,
//! at accept) and, through `channel::Buffers::window_buffer`, to each channel open (its window
//! buffer). Every allocation here is fallible: a buffer that does not fit the budget, or that
//! the system refuses, refuses that connection or that channel, never the daemon.

use std::cell::Cell;
use std::rc::Rc;

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

/// Bytes the system holds for a session beyond its defaults (a child's pipe grown past its
/// size): not quoll's memory, but memory quoll made the system hold, so it shares the growth
/// room with grown windows. Dropped wherever its holder goes, it gives the bytes back.
pub struct Grant {
    bytes: usize,
    total: Rc<Cell<usize>>,
}

impl Drop for Grant {
    fn drop(&mut self) {
        self.total.set(self.total.get().saturating_sub(self.bytes));
    }
}

#[cfg_attr(any(test, feature = "fuzzing"), derive(Clone))]
pub struct Budget {
    limit: usize,
    used: usize,
    alloc: Alloc,
    /// Bytes that channel windows grown past their first size (`grow`) and grants (`grant`)
    /// may hold together, within `limit`: the daemon sets it to what a full house of
    /// connections would leave.
    growth_room: usize,
    /// ... and the bytes they hold now.
    grown: usize,
    /// Bytes of the growth room that `Grant`s hold (kernel buffers, not counted in `used`).
    /// A clone (tests and fuzz snapshots only) shares the count.
    granted: Rc<Cell<usize>>,
}

impl Budget {
    /// A budget of `limit` bytes whose buffers come from `alloc` (the daemon passes one that
    /// leaves fresh pages untouched; `zeroed` writes them).
    pub fn new(limit: usize, alloc: Alloc) -> Budget {
        Budget {
            limit,
            used: 0,
            alloc,
            growth_room: 0,
            grown: 0,
            granted: Rc::new(Cell::new(0)),
        }
    }

    /// Lets grown windows (beyond their first size) and grants hold up to `room` bytes
    /// together (0, the default, grows none).
    pub fn set_growth_room(&mut self, room: usize) {
        self.growth_room = room.min(self.limit);
    }

    pub fn growth_room(&self) -> usize {
        self.growth_room
    }

    /// Bytes held by windows beyond their first size.
    pub fn grown(&self) -> usize {
        self.grown
    }

    /// Bytes the live `Grant`s hold.
    pub fn granted(&self) -> usize {
        self.granted.get()
    }

    /// What the growth room has left for grown windows and grants.
    fn growth_left(&self) -> usize {
        self.growth_room
            .saturating_sub(self.grown)
            .saturating_sub(self.granted.get())
    }

    /// `bytes` of the growth room for the system to hold on a session's behalf, if the room
    /// has them; given back when the `Grant` is dropped.
    pub fn grant(&mut self, bytes: usize) -> Option<Grant> {
        if bytes > self.growth_left() {
            return None;
        }
        self.granted.set(self.granted.get() + bytes);
        Some(Grant {
            bytes,
            total: Rc::clone(&self.granted),
        })
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

    /// `new` zero bytes in place of the window buffer `old`, which is given back; the
    /// difference is counted as growth. `Err(old)` when the growth room or the budget does
    /// not have it, or the system refuses.
    pub fn grow(&mut self, old: Box<[u8]>, new: usize) -> Result<Box<[u8]>, Box<[u8]>> {
        let Some(extra) = new.checked_sub(old.len()) else {
            return Err(old);
        };
        if extra > self.growth_left() {
            return Err(old);
        }
        match self.buffer(new) {
            Ok(b) => {
                self.grown += extra;
                self.free(old);
                Ok(b)
            }
            Err(_) => Err(old),
        }
    }

    /// Gives back a window buffer that had grown `extra` bytes past its first size.
    pub fn free_grown(&mut self, buf: Box<[u8]>, extra: usize) {
        self.ungrow(extra);
        self.free(buf);
    }

    /// `extra` bytes of growth are no longer held (their buffers are counted back with
    /// `give` or `free`).
    pub fn ungrow(&mut self, extra: usize) {
        debug_assert!(
            extra <= self.grown,
            "{extra} grown bytes given, {} held",
            self.grown
        );
        self.grown = self.grown.saturating_sub(extra);
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
    fn windows_grow_only_within_the_growth_room() {
        let mut b = Budget::new(10_000, zeroed);
        let w = b.buffer(1000).unwrap();
        let w = b.grow(w, 2000).expect_err("no growth room by default");
        b.set_growth_room(2500);
        let w = b.grow(w, 2000).unwrap();
        assert_eq!((w.len(), b.used(), b.grown()), (2000, 2000, 1000));
        // 1000 grown plus 2000 more would pass the room of 2500.
        let w = b.grow(w, 4000).unwrap_err();
        assert_eq!(
            (w.len(), b.used(), b.grown()),
            (2000, 2000, 1000),
            "a refusal takes nothing"
        );
        let w = b.grow(w, 3500).unwrap();
        assert_eq!((b.used(), b.grown()), (3500, 2500));
        // Shrinking is not growth.
        let w = b.grow(w, 1000).unwrap_err();
        b.free_grown(w, 2500);
        assert_eq!((b.used(), b.grown()), (0, 0));
        // The room never passes the budget itself, and the budget still bounds growth.
        b.set_growth_room(usize::MAX);
        assert_eq!(b.growth_room(), 10_000);
        let big = b.buffer(9000).unwrap();
        let w = b.buffer(500).unwrap();
        let w = b.grow(w, 1500).expect_err("over the budget");
        assert_eq!((b.used(), b.grown()), (9500, 0));
        b.free(w);
        b.free(big);
        // The system's refusal too.
        let mut b = Budget::new(10_000, |n| {
            (n < 1000).then(|| vec![0; n].into_boxed_slice())
        });
        b.set_growth_room(5000);
        let w = b.buffer(500).unwrap();
        let w = b.grow(w, 1500).unwrap_err();
        assert_eq!((b.used(), b.grown()), (500, 0));
        b.free(w);
    }

    #[test]
    fn grants_share_the_growth_room_with_windows_and_give_back_when_dropped() {
        let mut b = Budget::new(10_000, zeroed);
        assert!(b.grant(1).is_none(), "no growth room by default");
        b.set_growth_room(3000);
        let g = b.grant(2000).unwrap();
        assert_eq!((b.granted(), b.used()), (2000, 0), "not quoll's own memory");
        assert!(b.grant(1001).is_none(), "2000 granted, 1000 left");
        let w = b.buffer(1000).unwrap();
        let w = b
            .grow(w, 2500)
            .expect_err("1500 more would pass what grants leave");
        let w = b.grow(w, 2000).unwrap();
        assert_eq!((b.grown(), b.granted()), (1000, 2000));
        assert!(b.grant(1).is_none(), "windows and grants fill the room");
        drop(g);
        assert_eq!(b.granted(), 0);
        let h = b.grant(2000).unwrap();
        assert_eq!(b.granted(), 2000);
        b.free_grown(w, 1000);
        drop(h);
        assert_eq!((b.used(), b.grown(), b.granted()), (0, 0, 0));
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
