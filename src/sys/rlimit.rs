//! The descriptor limit (RLIMIT_NOFILE): read it, raise it.

use nix::sys::resource::{getrlimit, Resource};
use std::io;

/// A limit as a number, `u64::MAX` for RLIM_INFINITY.
// rlim_t is 32 bits on some 32-bit targets: the cast is not the same type there.
#[allow(clippy::unnecessary_cast)]
fn value(v: libc::rlim_t) -> u64 {
    if v == libc::RLIM_INFINITY {
        u64::MAX
    } else {
        v as u64
    }
}

/// The soft and hard limits on descriptors (`u64::MAX`: unlimited).
pub fn nofile() -> io::Result<(u64, u64)> {
    let (soft, hard) = getrlimit(Resource::RLIMIT_NOFILE)?;
    Ok((value(soft), value(hard)))
}

/// Sets the descriptor limits to `soft` and `hard`.
pub fn set_nofile(soft: u64, hard: u64) -> io::Result<()> {
    // The system call, not musl's setrlimit, which makes every thread apply it
    // (`__synccall`, as with set*id in ids.rs): quoll has one thread here.
    let new = [soft, hard];
    // SAFETY: prlimit64 on this process reads two u64s (struct rlimit64) from `new` and
    // writes nothing (the old-limit pointer is null).
    let rc = unsafe {
        libc::syscall(
            libc::SYS_prlimit64,
            0,
            libc::RLIMIT_NOFILE,
            new.as_ptr(),
            std::ptr::null_mut::<u64>(),
        )
    };
    if rc != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}
