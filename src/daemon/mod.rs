//! The daemon: the poll loop, admission, login policy, sessions and their children. The
//! system calls it makes are in `crate::sys`.

pub mod admission;
pub mod authcheck;
pub mod descriptors;
pub mod event_loop;
pub mod forward;
pub mod helper;
pub mod login;
pub mod memory;
pub mod multicall;
pub mod penalty;
pub mod ratelimit;
pub mod refused;
// Its socket calls (socket, sendto, recvfrom, poll) are still its own; when they move to
// `sys::socket` this exception goes.
#[allow(unsafe_code)]
pub mod resolve;
pub mod spawn;

// moved: see sys::fd, sys::socket, sys::random, sys::time, accounts::users (old paths, still
// used by resolve.rs, hostkey.rs and scp.rs).
pub use crate::accounts::users;
pub use crate::sys::fd as fds;
pub use crate::sys::random::fill as random;
pub use crate::sys::socket as net;
pub use crate::sys::time::monotonic_ms;
