//! The descriptor budget. One process holds every connection, so running out of descriptors
//! (RLIMIT_NOFILE) would stop logins in a confusing way: /etc/passwd cannot be opened and a
//! real user looks like a nonexistent one. Two reserves keep that from happening:
//! - new connections must leave `FD_RESERVE_ACCEPT` free: a socket accepted into it is
//!   closed at once (and the listeners rest, `Admission::pause`);
//! - a logged-in user's requests (a session, a tunnel, an agent connection) must leave
//!   `FD_RESERVE_LOGIN` free, else that one channel is refused;
//!
//! so the logins in progress can always open their files. The kernel hands out the lowest
//! free number, so a descriptor numbered within `n` of the limit means fewer than `n` are
//! free.

use crate::config::{FD_RESERVE_ACCEPT, FD_RESERVE_LOGIN};
use crate::sys::{fd, rlimit};
use std::io;
use std::os::fd::RawFd;

/// Descriptors quoll uses besides its connections (stdio, signal pipe, listeners, log).
const BASE: usize = 16;
/// Descriptors a typical connection holds: its socket and one session's stdin, stdout,
/// stderr and pty master.
const PER_CONNECTION: usize = 5;

/// The soft limit on descriptors (the highest number is one less).
pub fn soft_limit() -> usize {
    rlimit::nofile().map_or(usize::MAX, |(soft, _)| {
        usize::try_from(soft).unwrap_or(usize::MAX)
    })
}

/// Descriptors quoll wants for `max_conns` connections and `listeners` listeners.
pub fn wanted(max_conns: usize, listeners: usize) -> usize {
    BASE + listeners + FD_RESERVE_ACCEPT + max_conns * PER_CONNECTION
}

/// The soft limit to set: `wanted`, within the hard limit, never lower than now.
fn target(soft: u64, hard: u64, wanted: u64) -> Option<u64> {
    let t = wanted.min(hard);
    (t > soft).then_some(t)
}

/// Raises the soft limit towards `wanted` (children inherit it, so not beyond what quoll
/// needs). Returns the soft limit in force.
pub fn raise(wanted: usize) -> io::Result<usize> {
    let (soft, hard) = rlimit::nofile()?;
    if let Some(t) = target(soft, hard, wanted as u64) {
        rlimit::set_nofile(t.min(hard), hard)?;
    }
    Ok(soft_limit())
}

fn within(fd: usize, reserve: usize, limit: usize) -> bool {
    fd.saturating_add(reserve) >= limit
}

/// Whether a descriptor just created as `fd` lies in the last `reserve` of the limit.
pub fn in_reserve(fd: RawFd, reserve: usize) -> bool {
    within(usize::try_from(fd).unwrap_or(0), reserve, soft_limit())
}

/// A new connection's socket: true when it must be closed to keep the accept reserve.
pub fn accept_reserve_hit(fd: RawFd) -> bool {
    in_reserve(fd, FD_RESERVE_ACCEPT)
}

/// Whether a logged-in user's request may open `n` descriptors: the lowest free number
/// plus `n` still leaves the login reserve.
pub fn spare(n: usize) -> bool {
    let Some(fd) = fd::lowest_free() else {
        return false;
    };
    !within(fd as usize, n + FD_RESERVE_LOGIN, soft_limit())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reserve_arithmetic() {
        // Limit 40: descriptors 0..=39. 24 kept free means 16 and up are in the reserve.
        assert!(!within(15, 24, 40));
        assert!(within(16, 24, 40));
        assert!(within(39, 24, 40));
        assert!(!within(0, 0, usize::MAX));
        assert!(within(usize::MAX, 1, usize::MAX));
    }

    #[test]
    fn the_limit_is_raised_only_as_far_as_needed() {
        assert_eq!(target(1024, 1_048_576, 360), None);
        assert_eq!(target(1024, 1_048_576, 5000), Some(5000));
        assert_eq!(target(1024, 4096, 5000), Some(4096));
        assert_eq!(target(64, 64, 5000), None);
        assert_eq!(target(100, u64::MAX, 200), Some(200));
        // The defaults fit the usual soft limit of 1024.
        assert!(wanted(crate::config::DEFAULT_MAX_CONNECTIONS, 2) <= 1024);
    }

    #[test]
    fn spare_sees_the_lowest_free_descriptor() {
        // Plenty here; the process limit is at least in the hundreds.
        assert!(spare(1));
        assert!(soft_limit() > FD_RESERVE_ACCEPT);
        assert!(!in_reserve(3, 1));
    }
}
