//! The OS edge: sockets, poll, fork, ptys, users, logging. `unsafe` lives here, in `src/fsys/`
//! (the file-system calls), in `src/sftp/sys.rs` (statvfs) and in `src/main.rs`'s C `main`
//! (reading `argv`, `start::arguments`); the rest of quoll has none.

mod accept;
pub mod admission;
pub mod alloc;
pub mod authcheck;
mod channels;
pub mod descriptors;
mod edge;
pub mod event_loop;
pub mod fds;
pub mod forward;
pub mod helper;
pub mod ids;
pub mod login;
pub mod memory;
pub mod multicall;
pub mod net;
pub mod passwd;
pub mod penalty;
pub mod pty;
pub mod ratelimit;
mod reactor;
pub mod refused;
pub mod resolve;
pub mod signals;
pub mod spawn;
pub mod start;
pub mod syslog;
pub mod users;
pub mod utmp;

/// Milliseconds on the monotonic clock (from an unspecified start): what std's `Instant`
/// gives, without its Duration arithmetic.
pub fn monotonic_ms() -> u64 {
    // SAFETY: timespec is plain old data; clock_gettime fills it (CLOCK_MONOTONIC cannot
    // fail on Linux).
    let t = unsafe {
        let mut t: libc::timespec = std::mem::zeroed();
        libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut t);
        t
    };
    t.tv_sec as u64 * 1000 + t.tv_nsec as u64 / 1_000_000
}

/// Fills `buf` from the kernel's random source (getrandom(2), or /dev/urandom on old kernels).
pub fn random(buf: &mut [u8]) -> std::io::Result<()> {
    getrandom::fill(buf).map_err(|e| match e.raw_os_error() {
        Some(code) => std::io::Error::from_raw_os_error(code),
        None => crate::ioerr::other("no random source"),
    })
}

/// Forks into the background: the parent exits, the child starts a new session with stdio on
/// /dev/null, as Dropbear does without `-F`.
pub fn daemonize() -> std::io::Result<()> {
    // SAFETY: single-threaded; the child continues with this process's state.
    match unsafe { libc::fork() } {
        -1 => return Err(std::io::Error::last_os_error()),
        0 => {}
        // SAFETY: the parent leaves at once without running destructors.
        _ => unsafe { libc::_exit(0) },
    }
    // Each failure below ends the child with the reason (main logs it): a daemon still
    // tied to the terminal or its directory would hold them for its whole life.
    // SAFETY: setsid in the child, which is not a group leader.
    if unsafe { libc::setsid() } < 0 {
        return Err(std::io::Error::last_os_error());
    }
    let null = crate::fsys::open(std::path::Path::new("/dev/null"), libc::O_RDWR, 0)?;
    for fd in 0..3 {
        fds::dup_onto(&null, fd)?;
    }
    // SAFETY: chdir with a constant C string.
    if unsafe { libc::chdir(c"/".as_ptr()) } < 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(())
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
