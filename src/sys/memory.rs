//! How much memory the machine and the process limits allow.

use nix::sys::resource::{getrlimit, Resource};

/// Total RAM (sysinfo(2)).
pub fn physical_memory() -> Option<u64> {
    // SAFETY: sysinfo fills the plain struct it is given.
    let mut si: libc::sysinfo = unsafe { core::mem::zeroed() };
    // SAFETY: a valid pointer to a sysinfo struct.
    if unsafe { libc::sysinfo(&mut si) } != 0 {
        return None;
    }
    (si.totalram as u64).checked_mul(u64::from(si.mem_unit).max(1))
}

/// `RLIMIT_AS` (`ulimit -v`), when one is set.
pub fn address_space_limit() -> Option<u64> {
    let (soft, _) = getrlimit(Resource::RLIMIT_AS).ok()?;
    // rlim_t is 32 bits on some 32-bit targets: the cast is not the same type there.
    #[allow(clippy::unnecessary_cast)]
    (soft != libc::RLIM_INFINITY).then_some(soft as u64)
}
