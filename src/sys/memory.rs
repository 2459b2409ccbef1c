//! How much memory the machine and the process limits allow.

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
    // SAFETY: getrlimit fills the plain struct it is given.
    let mut rl: libc::rlimit = unsafe { core::mem::zeroed() };
    // SAFETY: a valid pointer to an rlimit struct.
    if unsafe { libc::getrlimit(libc::RLIMIT_AS, &mut rl) } != 0
        || rl.rlim_cur == libc::RLIM_INFINITY
    {
        return None;
    }
    Some(rl.rlim_cur as u64)
}
