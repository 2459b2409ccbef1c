//! Changing user and group IDs in a forked child, by system call.
//!
//! musl's setuid, setgid and setgroups make every thread of the process change together
//! (`__synccall`, with semaphores and signal round trips: 2.8 KB on the routers). quoll
//! calls these only in a child it has just forked, which has one thread, so the plain system
//! call is the whole job. The callers check the result with getuid/getgroups afterwards.
//!
//! 32-bit ARM (and x86) have 16-bit legacy calls under the plain names; the 32-bit ones are
//! the `*32` calls, which is what musl uses there too.

#[cfg(not(any(target_arch = "arm", target_arch = "x86")))]
use libc::{SYS_setgid as SYS_SETGID, SYS_setgroups as SYS_SETGROUPS, SYS_setuid as SYS_SETUID};
#[cfg(any(target_arch = "arm", target_arch = "x86"))]
use libc::{
    SYS_setgid32 as SYS_SETGID, SYS_setgroups32 as SYS_SETGROUPS, SYS_setuid32 as SYS_SETUID,
};

/// Most groups a session runs with, primary included (`config::MAX_GROUPS`): the check
/// after the drop reads the groups back into an array this long, on the stack.
pub const MAX_GROUPS: usize = 256;

/// setgroups(2) for this thread only; true on success.
///
/// # Safety
/// The process must have a single thread (a child after fork).
pub unsafe fn set_groups(groups: &[libc::gid_t]) -> bool {
    // SAFETY: the kernel reads groups.len() gids from the pointer.
    unsafe { libc::syscall(SYS_SETGROUPS, groups.len(), groups.as_ptr()) == 0 }
}

/// setgid(2) for this thread only; true on success.
///
/// # Safety
/// As for `set_groups`.
pub unsafe fn set_gid(gid: libc::gid_t) -> bool {
    // SAFETY: integer arguments only.
    unsafe { libc::syscall(SYS_SETGID, gid) == 0 }
}

/// setuid(2) for this thread only; true on success.
///
/// # Safety
/// As for `set_groups`.
pub unsafe fn set_uid(uid: libc::uid_t) -> bool {
    // SAFETY: integer arguments only.
    unsafe { libc::syscall(SYS_SETUID, uid) == 0 }
}

/// Drops to `uid`, `gid` and `groups` (sorted, deduplicated) for good, and proves it: the ids
/// and groups read back must be exactly these, and `setuid(0)` must fail afterwards. The
/// error says which step failed; the caller must then exit, never go on.
///
/// For a forked child or a helper: the calls act on this thread alone (see above), so the
/// process must have one thread.
pub fn become_user(uid: u32, gid: u32, groups: &[libc::gid_t]) -> Result<(), &'static str> {
    // Groups first: after setuid we may no longer change them.
    // SAFETY (these three): the caller is single-threaded.
    if !unsafe { set_groups(groups) } {
        return Err("quoll: setgroups failed");
    }
    if !unsafe { set_gid(gid) } {
        return Err("quoll: setgid failed");
    }
    if !unsafe { set_uid(uid) } {
        return Err("quoll: setuid failed");
    }
    // SAFETY: the get*id calls cannot fail.
    let ids = unsafe {
        [
            libc::getuid(),
            libc::geteuid(),
            libc::getgid(),
            libc::getegid(),
        ]
    };
    let mut now = [0 as libc::gid_t; MAX_GROUPS];
    // SAFETY: `now` has room for now.len() gids.
    let n = unsafe { libc::getgroups(now.len() as _, now.as_mut_ptr()) };
    let same_groups = usize::try_from(n).is_ok_and(|n| now[..n] == groups[..]);
    if ids != [uid, uid, gid, gid] || !same_groups {
        return Err("quoll: privilege drop did not take effect");
    }
    // SAFETY: single-threaded; success here would mean root could be regained.
    if uid != 0 && unsafe { set_uid(0) } {
        return Err("quoll: could regain root after dropping privileges");
    }
    Ok(())
}

/// The effective uid of this process: the owner of the files it creates.
pub fn euid() -> u32 {
    nix::unistd::geteuid().as_raw()
}

/// The real uid of this process.
pub fn uid() -> u32 {
    nix::unistd::getuid().as_raw()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Runs `f` on a thread of its own: the raw set*id calls change the calling thread's
    /// credentials only (that is why they are used), so the other tests keep theirs.
    fn on_own_thread<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
        std::thread::spawn(f).join().unwrap()
    }

    /// This thread's real and effective uid and gid, and its groups.
    fn ids_now() -> ([u32; 4], Vec<libc::gid_t>) {
        let mut g = [0 as libc::gid_t; MAX_GROUPS];
        // SAFETY: the get*id calls cannot fail; `g` has room for g.len() gids.
        unsafe {
            let n = libc::getgroups(g.len() as _, g.as_mut_ptr());
            let ids = [
                libc::getuid(),
                libc::geteuid(),
                libc::getgid(),
                libc::getegid(),
            ];
            (ids, g[..n as usize].to_vec())
        }
    }

    #[test]
    fn euid_and_uid_are_this_process_s() {
        use std::os::unix::fs::MetadataExt;
        // /proc/self belongs to the effective uid.
        assert_eq!(euid(), std::fs::metadata("/proc/self").unwrap().uid());
        // SAFETY: getuid cannot fail.
        assert_eq!(uid(), unsafe { libc::getuid() });
    }

    #[test]
    fn a_drop_to_ones_own_ids() {
        let (out, before, after) = on_own_thread(|| {
            let (ids, groups) = ids_now();
            let out = become_user(ids[0], ids[2], &groups);
            (out, (ids, groups), ids_now())
        });
        if before.0[1] == 0 {
            // Root may set its own groups again: nothing changes, and the check passes.
            assert_eq!(out, Ok(()));
        } else {
            // Anyone else may not call setgroups at all, and is told so.
            assert_eq!(out, Err("quoll: setgroups failed"));
        }
        assert_eq!(after, before);
    }

    #[test]
    fn an_unprivileged_set_to_ones_own_uid_and_gid_succeeds() {
        let ok = on_own_thread(|| {
            let (ids, _) = ids_now();
            // SAFETY: on a thread of its own (see `on_own_thread`); its own ids.
            unsafe { (set_gid(ids[2]), set_uid(ids[0])) }
        });
        assert_eq!(ok, (true, true));
    }

    #[test]
    fn root_drops_to_nobody_for_good() {
        assert!(
            euid() == 0,
            "NOT RUN: dropping privileges needs the tests to run as root"
        );
        let (out, after, regained) = on_own_thread(|| {
            let out = become_user(65534, 65534, &[65534]);
            // SAFETY: on a thread of its own (see `on_own_thread`).
            let regained = unsafe { set_uid(0) };
            (out, ids_now(), regained)
        });
        assert_eq!(out, Ok(()));
        assert_eq!(after, ([65534; 4], vec![65534]));
        assert!(!regained);
    }

    #[test]
    fn groups_the_kernel_does_not_read_back_as_given_are_an_error() {
        assert!(
            euid() == 0,
            "NOT RUN: setgroups needs the tests to run as root"
        );
        // Unsorted: the kernel keeps them sorted, so the check after the drop sees others.
        let out = on_own_thread(|| become_user(0, 0, &[10, 0]));
        assert_eq!(out, Err("quoll: privilege drop did not take effect"));
    }
}
