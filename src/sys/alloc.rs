//! The process allocator. Large blocks — the per-connection packet buffers and channel
//! windows — come straight from mmap(2): the kernel hands out zeroed pages that cost no
//! resident memory until they are written, and munmap returns them when the connection ends.
//! Through malloc, calloc may clear recycled memory (touching every page) and freed blocks stay
//! in the heap. Small blocks go to the C library's malloc as usual.
//!
//! When the system refuses memory (an address-space limit, strict overcommit) `alloc` returns
//! null, and std aborts the whole process for any allocation that cannot fail (`Box::new`,
//! `vec!`, a growing `Vec`). So every buffer a peer can make quoll allocate — a connection's,
//! a channel's — comes through `zeroed`, which fails instead, and only while `HEADROOM` of
//! address space would remain for everything else.

use std::alloc::{GlobalAlloc, Layout, System};

pub struct PageAlloc;

/// Blocks from this size up are mapped directly (the smallest connection buffer is larger).
const LARGE: usize = 32 * 1024;
/// mmap returns page-aligned memory; pages are at least this large on every target.
const PAGE: usize = 4096;

fn is_large(l: &Layout) -> bool {
    l.size() >= LARGE && l.align() <= PAGE
}

fn map(size: usize) -> *mut u8 {
    // SAFETY: anonymous private mapping, no fd; checked for MAP_FAILED below.
    let p = unsafe {
        libc::mmap(
            core::ptr::null_mut(),
            size,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
            -1,
            0,
        )
    };
    if p == libc::MAP_FAILED {
        core::ptr::null_mut()
    } else {
        p as *mut u8
    }
}

// SAFETY: every pointer handed out is either from System (and returned to it) or a fresh
// mapping of at least `size` bytes (unmapped with the same size); `is_large` decides which,
// from the layout the caller must pass back unchanged.
unsafe impl GlobalAlloc for PageAlloc {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        if is_large(&l) {
            map(l.size())
        } else {
            System.alloc(l)
        }
    }

    unsafe fn alloc_zeroed(&self, l: Layout) -> *mut u8 {
        if is_large(&l) {
            // Fresh anonymous pages are zero: nothing to clear, nothing touched.
            map(l.size())
        } else {
            System.alloc_zeroed(l)
        }
    }

    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        if is_large(&l) {
            libc::munmap(p as *mut libc::c_void, l.size());
        } else {
            System.dealloc(p, l)
        }
    }

    unsafe fn realloc(&self, p: *mut u8, l: Layout, new_size: usize) -> *mut u8 {
        let new_l = Layout::from_size_align_unchecked(new_size, l.align());
        if !is_large(&l) && !is_large(&new_l) {
            return System.realloc(p, l, new_size);
        }
        let q = self.alloc(new_l);
        if !q.is_null() {
            core::ptr::copy_nonoverlapping(p, q, l.size().min(new_size));
            self.dealloc(p, l);
        }
        q
    }
}

/// Address space left free beside the buffers peers ask for: quoll's own small allocations
/// (log lines, a session's environment) and its stack grow into it, so they never meet the
/// limit first and abort the daemon.
pub const HEADROOM: usize = 1 << 20;

/// `n` zero bytes for a connection or channel buffer (large ones mapped, untouched), or `None`
/// when the system refuses them or would then have less than `HEADROOM` left to give.
pub fn zeroed(n: usize) -> Option<Box<[u8]>> {
    let layout = Layout::array::<u8>(n).ok()?;
    if n == 0 {
        return Some(Box::default());
    }
    // SAFETY: a layout of non-zero size.
    let p = unsafe { std::alloc::alloc_zeroed(layout) };
    if p.is_null() {
        return None;
    }
    // SAFETY: `p` is a fresh zeroed allocation of `n` bytes with `[u8]`'s layout, so it is a
    // valid `[u8]` that the Box frees with the same layout.
    let buf = unsafe { Box::from_raw(core::ptr::slice_from_raw_parts_mut(p, n)) };
    // A trial mapping: is there still room beside it? (Dropping `buf` frees it if not.)
    let probe = map(HEADROOM);
    if probe.is_null() {
        return None;
    }
    // SAFETY: `probe` is the mapping of HEADROOM bytes just made.
    unsafe { libc::munmap(probe as *mut libc::c_void, HEADROOM) };
    Some(buf)
}

/// The system's page size (which MIPS kernels may set to 16 KiB; `PAGE` is the least).
fn page_size() -> Option<usize> {
    // SAFETY: sysconf has no memory effects.
    let page = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    usize::try_from(page).ok().filter(|p| p.is_power_of_two())
}

/// Gives the whole pages inside `buf` back to the kernel (`MADV_DONTNEED`): they hold no
/// memory until written again and read as zero meanwhile. For buffers whose contents are dead
/// (`Conn::spare`); a failure only leaves the memory where it was.
pub fn discard(buf: &mut [u8]) {
    let Some(page) = page_size() else {
        return;
    };
    let start = buf.as_mut_ptr() as usize;
    let first = start.next_multiple_of(page);
    let end = (start + buf.len()) & !(page - 1);
    if end > first {
        // SAFETY: [first, end) lies inside `buf`, which we hold mutably; anonymous private
        // pages (mapped, or malloc's) read as zero after MADV_DONTNEED, which is a valid
        // value for bytes, and nothing else lives inside `buf`.
        unsafe { libc::madvise(first as *mut libc::c_void, end - first, libc::MADV_DONTNEED) };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zeroed_buffers_and_refusals() {
        for n in [0, 1, 4096, LARGE, 300_000] {
            let b = zeroed(n).unwrap();
            assert_eq!(b.len(), n);
            assert!(b.iter().all(|&x| x == 0));
        }
        // More than any address space: refused, not an abort.
        assert!(zeroed(isize::MAX as usize).is_none());
    }

    /// How many of the pages in [p, p + len) (page-aligned) are resident, by mincore(2).
    fn resident(p: *const u8, len: usize, page: usize) -> usize {
        let mut v = vec![0u8; len.div_ceil(page)];
        // SAFETY: `v` has a byte for each page of the range, which is mapped.
        let r = unsafe { libc::mincore(p as *mut libc::c_void, len, v.as_mut_ptr().cast()) };
        assert_eq!(r, 0, "mincore: {}", std::io::Error::last_os_error());
        v.iter().filter(|&&x| x & 1 != 0).count()
    }

    #[test]
    fn discarded_pages_are_zero_and_not_resident() {
        const N: usize = 1 << 20;
        let page = page_size().unwrap();
        let mut b = zeroed(N).unwrap();
        b.fill(0x5a);
        let base = b.as_ptr() as usize;
        let first = (base + 100).next_multiple_of(page);
        let end = (base + N - 100) & !(page - 1);
        let pages = (end - first) / page;
        assert_eq!(resident(first as *const u8, end - first, page), pages);
        // An unaligned piece: only the pages wholly inside it go.
        discard(&mut b[100..N - 100]);
        assert_eq!(resident(first as *const u8, end - first, page), 0);
        let (head, tail) = (first - base, end - base);
        assert!(b[..head].iter().all(|&x| x == 0x5a));
        assert!(b[head..tail].iter().all(|&x| x == 0));
        assert!(b[tail..].iter().all(|&x| x == 0x5a));
        b.fill(1);
        assert!(b.iter().all(|&x| x == 1));
    }

    #[test]
    fn large_blocks_round_trip_and_grow() {
        let a = PageAlloc;
        for size in [16, 4096, LARGE - 1, LARGE, 200_000] {
            let l = Layout::from_size_align(size, 8).unwrap();
            // SAFETY: layouts are non-zero; pointers are used within their sizes.
            unsafe {
                let p = a.alloc_zeroed(l);
                assert!(!p.is_null());
                assert!((0..size).all(|i| *p.add(i) == 0));
                p.write_bytes(0xab, size);
                let q = a.realloc(p, l, size * 2);
                assert!(!q.is_null());
                assert!((0..size).all(|i| *q.add(i) == 0xab));
                a.dealloc(q, Layout::from_size_align(size * 2, 8).unwrap());
            }
        }
    }
}
