//! The daemon: the poll loop, admission, login policy, sessions and their children. The
//! system calls it makes are in `crate::sys`.

mod accept;
pub mod admission;
pub mod authcheck;
mod channels;
pub mod descriptors;
mod edge;
pub mod event_loop;
pub mod forward;
pub mod helper;
mod inetd;
mod keygrant;
pub mod login;
#[cfg(test)]
mod login_tests;
pub mod memory;
pub mod multicall;
pub mod penalty;
pub mod ratelimit;
mod reactor;
pub mod refused;
pub mod resolve;
pub mod spawn;
#[cfg(test)]
mod test_server;
