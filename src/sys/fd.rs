//! Small file-descriptor helpers shared by the start-up, pty and spawn code.

use nix::fcntl::OFlag;
use std::io;
use std::os::fd::{AsFd, AsRawFd, FromRawFd, OwnedFd, RawFd};

/// Sets O_NONBLOCK (the loop must never block on a child or a pty) and FD_CLOEXEC (no
/// session's descriptors may leak into another session's child).
pub fn set_nonblocking_cloexec(fd: &impl AsRawFd) -> io::Result<()> {
    let fd = fd.as_raw_fd();
    // SAFETY: fcntl on a descriptor we own, with integer arguments only.
    unsafe {
        let fl = libc::fcntl(fd, libc::F_GETFL);
        if fl < 0 || libc::fcntl(fd, libc::F_SETFL, fl | libc::O_NONBLOCK) < 0 {
            return Err(io::Error::last_os_error());
        }
    }
    set_cloexec(fd)
}

fn set_cloexec(fd: RawFd) -> io::Result<()> {
    // SAFETY: fcntl on a descriptor we own, with integer arguments only.
    unsafe {
        let fl = libc::fcntl(fd, libc::F_GETFD);
        if fl < 0 || libc::fcntl(fd, libc::F_SETFD, fl | libc::FD_CLOEXEC) < 0 {
            return Err(io::Error::last_os_error());
        }
    }
    Ok(())
}

/// A pipe with both ends close-on-exec: `(read, write)`.
pub fn pipe() -> io::Result<(OwnedFd, OwnedFd)> {
    Ok(nix::unistd::pipe2(OFlag::O_CLOEXEC)?)
}

/// dup(2) with close-on-exec set atomically.
pub fn dup_cloexec(fd: &impl AsRawFd) -> io::Result<OwnedFd> {
    // SAFETY: F_DUPFD_CLOEXEC on a descriptor we own returns a new one or -1.
    let new = unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_DUPFD_CLOEXEC, 0) };
    if new < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: new is a fresh descriptor that nothing else owns.
    Ok(unsafe { OwnedFd::from_raw_fd(new) })
}

/// dup2(2): `fd` also becomes descriptor `target` (closed first if open; not close-on-exec).
pub fn dup_onto(fd: &impl AsRawFd, target: RawFd) -> io::Result<()> {
    loop {
        // SAFETY: dup2 takes integer arguments only; `target` is one of the caller's own
        // descriptor numbers (stdio), which the caller means to replace.
        if unsafe { libc::dup2(fd.as_raw_fd(), target) } >= 0 {
            return Ok(());
        }
        let e = io::Error::last_os_error();
        if e.kind() != io::ErrorKind::Interrupted {
            return Err(e);
        }
    }
}

/// Closes every descriptor from `first` up: at start (whatever the parent left open) and in
/// a forked child before exec. No allocation, no lock: safe between fork and exec.
pub fn close_from(first: RawFd) {
    // SAFETY: close_range takes integer arguments only; ~0 means "to the highest".
    let rc = unsafe {
        libc::syscall(
            libc::SYS_close_range,
            first as libc::c_uint,
            !0 as libc::c_uint,
            0,
        )
    };
    if rc == 0 {
        return;
    }
    // Kernels before 5.9: close them one by one.
    // The descriptor limit, as sysconf(_SC_OPEN_MAX) reads it.
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: lim is a valid rlimit for getrlimit to fill.
    let max = if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) } != 0
        || lim.rlim_cur == libc::RLIM_INFINITY
    {
        1024
    } else {
        lim.rlim_cur.min(libc::c_int::MAX as libc::rlim_t) as libc::c_int
    };
    for fd in first..max {
        // SAFETY: closing a descriptor we may or may not hold; EBADF is harmless.
        unsafe { libc::close(fd) };
    }
}

/// A standard descriptor (0, 1 or 2) read and written directly. std's stdin, stdout and stderr
/// add a buffer, a lock and flushing at exit (about 5 KB of a router build); everything quoll
/// writes there is a whole line or packet anyway. `flush` has nothing to do.
#[derive(Clone, Copy)]
pub struct Stdio(pub RawFd);

pub const STDIN: Stdio = Stdio(0);
pub const STDOUT: Stdio = Stdio(1);
pub const STDERR: Stdio = Stdio(2);

impl io::Read for Stdio {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        // SAFETY: buf is valid for writes of buf.len() bytes.
        let n = unsafe { libc::read(self.0, buf.as_mut_ptr().cast(), buf.len()) };
        if n < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(n as usize)
    }
}

impl io::Write for Stdio {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        // SAFETY: buf is valid for reads of buf.len() bytes.
        let n = unsafe { libc::write(self.0, buf.as_ptr().cast(), buf.len()) };
        if n < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(n as usize)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// The lowest descriptor number not in use (the one the next open would get), found by
/// duplicating fd 0 (always open: start.rs fills 0-2) and closing the copy at once.
pub fn lowest_free() -> Option<RawFd> {
    // SAFETY: F_DUPFD_CLOEXEC on fd 0 returns a new descriptor, the lowest free one.
    let fd = unsafe { libc::fcntl(0, libc::F_DUPFD_CLOEXEC, 0) };
    if fd < 0 {
        return None;
    }
    // SAFETY: fd is ours, just created.
    unsafe { libc::close(fd) };
    Some(fd)
}

/// read(2) into `buf`.
pub fn read(fd: &impl AsRawFd, buf: &mut [u8]) -> io::Result<usize> {
    // SAFETY: buf is writable for buf.len() bytes.
    let n = unsafe { libc::read(fd.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len()) };
    if n < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(n as usize)
}

/// write(2) from `buf`.
pub fn write(fd: &impl AsRawFd, buf: &[u8]) -> io::Result<usize> {
    // SAFETY: buf is readable for buf.len() bytes.
    let n = unsafe { libc::write(fd.as_raw_fd(), buf.as_ptr().cast(), buf.len()) };
    if n < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(n as usize)
}

/// How many bytes a pipe (or socket) holds unread now (FIONREAD).
pub fn unread(fd: &impl AsRawFd) -> io::Result<usize> {
    let mut n: libc::c_int = 0;
    // SAFETY: FIONREAD writes one int through the pointer, which points at `n`.
    if unsafe { libc::ioctl(fd.as_raw_fd(), libc::FIONREAD, &mut n) } != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(usize::try_from(n).unwrap_or(0))
}

/// What pipe `fd` can hold (F_GETPIPE_SZ).
pub fn pipe_size(fd: &impl AsFd) -> io::Result<usize> {
    let n = nix::fcntl::fcntl(fd.as_fd(), nix::fcntl::FcntlArg::F_GETPIPE_SZ)?;
    Ok(usize::try_from(n).unwrap_or(0))
}

/// Lets pipe `fd` hold `size` bytes (F_SETPIPE_SZ); what it can hold now. Its pages are
/// taken only as data waits in it.
pub fn set_pipe_size(fd: &impl AsFd, size: usize) -> io::Result<usize> {
    let want =
        libc::c_int::try_from(size).map_err(|_| io::Error::from(io::ErrorKind::InvalidInput))?;
    let n = nix::fcntl::fcntl(fd.as_fd(), nix::fcntl::FcntlArg::F_SETPIPE_SZ(want))?;
    Ok(usize::try_from(n).unwrap_or(0))
}

/// A copy of `fd` without close-on-exec (what a child inherits).
pub fn dup_inheritable(fd: &impl AsFd) -> io::Result<OwnedFd> {
    Ok(nix::unistd::dup(fd)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pipe_grows_to_the_size_asked() {
        let (r, w) = pipe().unwrap();
        // Linux's default is 16 pages (64 KiB with 4 KiB pages): ask for four times that.
        let bigger = pipe_size(&r).unwrap() * 4;
        assert_eq!(set_pipe_size(&r, bigger).unwrap(), bigger);
        assert_eq!(pipe_size(&w).unwrap(), bigger, "one pipe, either end");
        let (f, _) = std::os::unix::net::UnixStream::pair().unwrap();
        assert!(set_pipe_size(&f, bigger).is_err(), "not a pipe");
    }

    #[test]
    fn unread_counts_what_a_pipe_holds() {
        let (r, w) = pipe().unwrap();
        assert_eq!(unread(&r).unwrap(), 0);
        assert_eq!(write(&w, b"hello").unwrap(), 5);
        assert_eq!(unread(&r).unwrap(), 5);
        let mut buf = [0u8; 2];
        assert_eq!(read(&r, &mut buf).unwrap(), 2);
        assert_eq!(unread(&r).unwrap(), 3);
    }
}
