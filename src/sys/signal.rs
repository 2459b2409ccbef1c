//! Signals become bytes on a self-pipe that the poll loop watches.
//!
//! A handler may only do async-signal-safe things, so it writes one byte naming the signal and
//! returns; the loop wakes on the pipe and does the real work in normal context.

use nix::fcntl::OFlag;
use std::io;
use std::os::fd::{IntoRawFd, RawFd};
use std::sync::atomic::{AtomicI32, Ordering};

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Pending {
    pub child: bool,
    pub terminate: bool,
    pub hangup: bool,
}

/// Write end of the self-pipe, read by the handler; -1 until installed.
static WRITE_FD: AtomicI32 = AtomicI32::new(-1);
/// Read end, kept so a second `install` returns the same pipe.
static READ_FD: AtomicI32 = AtomicI32::new(-1);

const BYTE_CHILD: u8 = b'C';
const BYTE_TERM: u8 = b'T';
const BYTE_HUP: u8 = b'H';

extern "C" fn on_signal(sig: libc::c_int) {
    let byte = match sig {
        libc::SIGCHLD => BYTE_CHILD,
        libc::SIGHUP => BYTE_HUP,
        _ => BYTE_TERM,
    };
    let fd = WRITE_FD.load(Ordering::Relaxed);
    if fd < 0 {
        return;
    }
    // SAFETY: errno is thread-local; reading and writing it is async-signal-safe, and so is
    // write(2). A full pipe (EAGAIN) is fine: a byte is already waiting to wake the loop.
    unsafe {
        let errno = libc::__errno_location();
        let saved = *errno;
        libc::write(fd, (&byte as *const u8).cast(), 1);
        *errno = saved;
    }
}

/// Installs handlers for SIGCHLD, SIGTERM, SIGINT, SIGHUP (SA_RESTART) writing to a
/// non-blocking self-pipe. Returns the pipe's read end for poll. Calling it again returns the
/// same pipe. (SIGPIPE is ignored from the start of `main`: `start::descriptors`.)
pub fn install() -> io::Result<RawFd> {
    let existing = READ_FD.load(Ordering::Relaxed);
    if existing >= 0 {
        return Ok(existing);
    }
    // Kept open for the life of the process: the handler writes to it at any time.
    let (r, w) = nix::unistd::pipe2(OFlag::O_NONBLOCK | OFlag::O_CLOEXEC)?;
    let fds = [r.into_raw_fd(), w.into_raw_fd()];
    WRITE_FD.store(fds[1], Ordering::Relaxed);
    READ_FD.store(fds[0], Ordering::Relaxed);

    for sig in [libc::SIGCHLD, libc::SIGTERM, libc::SIGINT, libc::SIGHUP] {
        set_action(
            sig,
            on_signal as extern "C" fn(libc::c_int) as libc::sighandler_t,
        )?;
    }
    Ok(fds[0])
}

fn set_action(sig: libc::c_int, handler: libc::sighandler_t) -> io::Result<()> {
    // SAFETY: sigaction is plain old data; zeroed means no flags and an empty mask.
    let mut sa: libc::sigaction = unsafe { std::mem::zeroed() };
    sa.sa_sigaction = handler;
    // SA_RESTART: slow syscalls outside poll resume instead of failing with EINTR.
    sa.sa_flags = libc::SA_RESTART;
    // SAFETY: sa is fully initialised; the old action is not wanted.
    if unsafe { libc::sigaction(sig, &sa, std::ptr::null_mut()) } != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// Drains the pipe and says which signals arrived.
pub fn take_pending(fd: RawFd) -> Pending {
    let mut pending = Pending::default();
    let mut buf = [0u8; 64];
    loop {
        // SAFETY: buf is valid for buf.len() bytes.
        let n = unsafe { libc::read(fd, buf.as_mut_ptr().cast(), buf.len()) };
        if n <= 0 {
            // EAGAIN (drained), EINTR or an error: either way nothing more to take now; a
            // signal arriving after this writes a new byte and wakes poll again.
            break;
        }
        for &b in &buf[..n as usize] {
            match b {
                BYTE_CHILD => pending.child = true,
                BYTE_HUP => pending.hangup = true,
                _ => pending.terminate = true,
            }
        }
    }
    pending
}

/// Reaps one exited child without blocking: `(pid, status)` as waitpid gives it.
pub fn reap() -> Option<(i32, i32)> {
    let mut status = 0;
    // SAFETY: status is a valid out-pointer.
    let pid = unsafe { libc::waitpid(-1, &mut status, libc::WNOHANG) };
    // 0: children exist but none has exited; -1: ECHILD (none at all) or EINTR.
    (pid > 0).then_some((pid, status))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hangup_arrives_on_the_pipe() {
        let fd = install().unwrap();
        assert_eq!(install().unwrap(), fd);
        // SAFETY: raise is safe to call; our handler is installed for SIGHUP.
        assert_eq!(unsafe { libc::raise(libc::SIGHUP) }, 0);
        let p = take_pending(fd);
        assert!(p.hangup);
        assert!(!p.terminate);
        // Drained: nothing left.
        assert!(!take_pending(fd).hangup);
    }
}
