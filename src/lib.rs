//! quoll: a small SSH server for embedded Linux.
//!
//! `proto` is the protocol core (no I/O); `daemon` runs the server around it; `sys` makes
//! every system call and holds all of quoll's `unsafe` code (denied everywhere else);
//! `accounts` knows users and passwords; the rest are the pieces in between that read files
//! (host keys, authorized_keys).

#![deny(unsafe_code)]

pub mod accounts;
pub mod authkeys;
pub mod base64;
pub mod cli;
pub mod config;
pub mod daemon;
pub mod date;
pub mod hostkey;
pub mod inet;
pub mod ioerr;
pub mod keygen;
pub mod proto;
pub mod readfile;
#[cfg(feature = "scp")]
pub mod scp;
#[cfg(feature = "sftp")]
pub mod sftp;
#[allow(unsafe_code)]
pub mod sys;

// moved: see sys::fsys. The old path, still used by hostkey.rs and scp.rs, whose `open`
// takes raw libc flags.
pub mod fsys {
    pub use crate::sys::fsys::*;

    // moved: see sys::fsys::open, which takes typed flags.
    pub fn open(
        path: &std::path::Path,
        flags: libc::c_int,
        mode: u32,
    ) -> std::io::Result<std::fs::File> {
        crate::sys::fsys::open(path, OFlag::from_bits_retain(flags), mode)
    }
}

/// The optional parts this quoll was built with (`quoll -V` prints them).
pub const FEATURES: &[(&str, bool)] = &[
    ("sftp", cfg!(feature = "sftp")),
    ("scp", cfg!(feature = "scp")),
];
