//! The OS edge: sockets, poll, fork, ptys, users, logging. All `unsafe` lives here.

pub mod event_loop;
pub mod fds;
pub mod pty;
pub mod signals;
pub mod spawn;
pub mod syslog;
pub mod users;
