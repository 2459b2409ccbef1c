//! The OS layer: every system call quoll makes, and the only `unsafe` code in the crate
//! (`#![deny(unsafe_code)]` at the crate roots; this module alone is allowed it). Each
//! module wraps one family of calls in safe functions; every `unsafe` block says why it is
//! sound in a `// SAFETY:` line. docs/sys.md lists the modules and, for each family, whether
//! it calls `nix` or `libc` and why.

pub mod alloc;
#[cfg(target_env = "gnu")]
pub mod crypt;
pub mod fd;
pub mod fsys;
pub mod ids;
pub mod memory;
pub mod poll;
pub mod process;
pub mod pty;
#[cfg(not(target_env = "musl"))]
pub mod pwd;
pub mod random;
pub mod rlimit;
pub mod signal;
pub mod socket;
pub mod start;
#[cfg(feature = "sftp")]
pub mod statvfs;
pub mod syslog;
pub mod time;
pub mod utmp;
