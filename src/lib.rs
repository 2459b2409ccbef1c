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
pub mod dns;
pub mod dropbearconvert;
pub mod dropbearkey;
pub mod flags;
pub mod hostkey;
pub mod inet;
pub mod ioerr;
pub mod keygen;
pub mod options;
pub mod proto;
pub mod readfile;
#[cfg(feature = "scp")]
pub mod scp;
#[cfg(feature = "sftp")]
pub mod sftp;
#[allow(unsafe_code)]
pub mod sys;

/// The optional parts this quoll was built with (`quoll -V` prints them).
pub const FEATURES: &[(&str, bool)] = &[
    ("fast-25519", cfg!(feature = "fast-25519")),
    ("sftp", cfg!(feature = "sftp")),
    ("scp", cfg!(feature = "scp")),
    ("aes", cfg!(feature = "aes")),
    (
        "aes-ctr",
        cfg!(all(feature = "aes-ctr", not(feature = "aes"))),
    ),
    ("mlkem", cfg!(feature = "mlkem")),
    ("rsa", cfg!(feature = "rsa")),
    ("ecdsa", cfg!(feature = "ecdsa")),
    ("nistp384", cfg!(feature = "nistp384")),
    ("nistp521", cfg!(feature = "nistp521")),
    ("sk", cfg!(feature = "sk")),
    ("certs", cfg!(feature = "certs")),
];
