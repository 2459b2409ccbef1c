//! SFTP version 3 wire format (draft-ietf-secsh-filexfer-02) plus the OpenSSH extensions:
//! typed parse and emit over byte slices, no I/O.
//!
//! A packet on the wire is `uint32 length, byte type, payload`; `Request::parse` takes the
//! bytes after the length (type + payload) and borrows strings from them. Replies are emitted
//! by `Reply::emit` into a caller's buffer, length prefix included. Once `parse` returns `Ok`
//! nothing else reads the input, so a lying string length can only produce `Err`.
//!
//! `wire.rs` holds the data types (the cursor over input, the writer, `Attrs`), `request.rs`
//! the client's requests, `reply.rs` the server's replies; this file the numbers both use.

#![forbid(unsafe_code)]

mod reply;
mod request;
#[cfg(test)]
mod tests;
mod wire;

pub use reply::{data_header, Limits, NameEntry, Reply, StatVfs, DATA_HEADER};
pub use request::{Request, EXTENSIONS};
pub use wire::{begin, finish, Attrs, Reader, Writer};

/// Protocol version we speak.
pub const VERSION: u32 = 3;

pub const FXP_INIT: u8 = 1;
pub const FXP_VERSION: u8 = 2;
pub const FXP_OPEN: u8 = 3;
pub const FXP_CLOSE: u8 = 4;
pub const FXP_READ: u8 = 5;
pub const FXP_WRITE: u8 = 6;
pub const FXP_LSTAT: u8 = 7;
pub const FXP_FSTAT: u8 = 8;
pub const FXP_SETSTAT: u8 = 9;
pub const FXP_FSETSTAT: u8 = 10;
pub const FXP_OPENDIR: u8 = 11;
pub const FXP_READDIR: u8 = 12;
pub const FXP_REMOVE: u8 = 13;
pub const FXP_MKDIR: u8 = 14;
pub const FXP_RMDIR: u8 = 15;
pub const FXP_REALPATH: u8 = 16;
pub const FXP_STAT: u8 = 17;
pub const FXP_RENAME: u8 = 18;
pub const FXP_READLINK: u8 = 19;
pub const FXP_SYMLINK: u8 = 20;
pub const FXP_STATUS: u8 = 101;
pub const FXP_HANDLE: u8 = 102;
pub const FXP_DATA: u8 = 103;
pub const FXP_NAME: u8 = 104;
pub const FXP_ATTRS: u8 = 105;
pub const FXP_EXTENDED: u8 = 200;
pub const FXP_EXTENDED_REPLY: u8 = 201;

/// `SSH_FXF_*` open flags.
pub const FXF_READ: u32 = 0x01;
pub const FXF_WRITE: u32 = 0x02;
pub const FXF_APPEND: u32 = 0x04;
pub const FXF_CREAT: u32 = 0x08;
pub const FXF_TRUNC: u32 = 0x10;
pub const FXF_EXCL: u32 = 0x20;

/// `SSH_FILEXFER_ATTR_*` flags.
pub const ATTR_SIZE: u32 = 0x01;
pub const ATTR_UIDGID: u32 = 0x02;
pub const ATTR_PERMISSIONS: u32 = 0x04;
pub const ATTR_ACMODTIME: u32 = 0x08;
pub const ATTR_EXTENDED: u32 = 0x8000_0000;

/// `SSH_FX_*` status codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u32)]
pub enum Status {
    Ok = 0,
    Eof = 1,
    NoSuchFile = 2,
    PermissionDenied = 3,
    Failure = 4,
    BadMessage = 5,
    NoConnection = 6,
    ConnectionLost = 7,
    OpUnsupported = 8,
}

/// `SSH_FXE_STATVFS_*` mount flags.
pub const STATVFS_RDONLY: u64 = 0x1;
pub const STATVFS_NOSUID: u64 = 0x2;

/// Input that does not parse: too short, a string running past the end, or trailing junk is
/// tolerated (extensions may add fields) but nothing else.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ParseError;
