//! quoll: a small SSH server for embedded Linux.
//!
//! `proto` is the protocol core (no I/O); `daemon` is the OS edge; the rest are the pieces in
//! between that read files (host keys, authorized_keys).

pub mod authkeys;
pub mod base64;
pub mod cli;
pub mod config;
pub mod daemon;
pub mod hostkey;
pub mod keygen;
pub mod proto;
pub mod pwhash;
pub mod scp;
pub mod sftp;
