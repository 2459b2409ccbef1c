//! Signals become bytes on a self-pipe that the poll loop watches.
//! STUB: signatures fixed, bodies to be written.

use std::os::fd::RawFd;

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Pending {
    pub child: bool,
    pub terminate: bool,
    pub hangup: bool,
}

/// Installs handlers for SIGCHLD, SIGTERM, SIGINT, SIGHUP (SA_RESTART) writing to a
/// non-blocking self-pipe, and ignores SIGPIPE. Returns the pipe's read end for poll.
pub fn install() -> std::io::Result<RawFd> {
    todo!()
}

/// Drains the pipe and says which signals arrived.
pub fn take_pending(fd: RawFd) -> Pending {
    let _ = fd;
    todo!()
}

/// Reaps one exited child without blocking: `(pid, status)` as waitpid gives it.
pub fn reap() -> Option<(i32, i32)> {
    todo!()
}
