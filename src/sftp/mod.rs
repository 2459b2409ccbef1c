//! Built-in SFTP server (protocol version 3 with OpenSSH's extensions).
//!
//! It runs in the session's forked child after the privilege drop, so every file access is
//! the user's, exactly as with an external `sftp-server`. `proto` is the pure wire format;
//! `server` owns the request loop and the handle table; `fs` maps requests onto the
//! filesystem (statvfs, which std lacks, is `crate::sys::statvfs`).

pub mod fs;
pub mod proto;
pub mod server;

pub use server::serve;
