//! The server's replies, emitted into a caller's buffer; DATA's header is written apart so
//! the data itself is read straight into place.

use super::*;

/// `statvfs@openssh.com` reply fields, in wire order.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StatVfs {
    pub bsize: u64,
    pub frsize: u64,
    pub blocks: u64,
    pub bfree: u64,
    pub bavail: u64,
    pub files: u64,
    pub ffree: u64,
    pub favail: u64,
    pub fsid: u64,
    pub flag: u64,
    pub namemax: u64,
}

/// `limits@openssh.com` reply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    pub max_packet: u64,
    pub max_read: u64,
    pub max_write: u64,
    pub max_handles: u64,
}

/// One NAME entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NameEntry<'a> {
    pub name: &'a [u8],
    pub long: &'a [u8],
    pub attrs: Attrs,
}

impl NameEntry<'_> {
    /// Encoded length in bytes.
    pub fn len(&self) -> usize {
        8 + self.name.len() + self.long.len() + self.attrs.len()
    }

    pub fn is_empty(&self) -> bool {
        false
    }
}

/// A server reply (all but DATA, which the server writes in place to avoid a copy; see
/// `begin_data`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reply<'a> {
    Version,
    Status { code: Status, message: &'a str },
    Handle(&'a [u8]),
    Data(&'a [u8]),
    Name(&'a [NameEntry<'a>]),
    Attrs(Attrs),
    StatVfs(StatVfs),
    Limits(Limits),
}

impl Reply<'_> {
    /// Emits the reply to request `id` into `buf` (cleared first), length prefix included.
    pub fn emit(&self, id: u32, buf: &mut Vec<u8>) {
        match self {
            Reply::Version => {
                let mut w = begin(buf, FXP_VERSION);
                w.u32(VERSION);
                for (name, version) in EXTENSIONS {
                    w.string(name.as_bytes()).string(version.as_bytes());
                }
            }
            Reply::Status { code, message } => {
                begin(buf, FXP_STATUS)
                    .u32(id)
                    .u32(*code as u32)
                    .string(message.as_bytes())
                    .string(b"en");
            }
            Reply::Handle(h) => {
                begin(buf, FXP_HANDLE).u32(id).string(h);
            }
            Reply::Data(d) => {
                begin(buf, FXP_DATA).u32(id).string(d);
            }
            Reply::Name(entries) => {
                let mut w = begin(buf, FXP_NAME);
                w.u32(id).u32(entries.len() as u32);
                for e in entries.iter() {
                    w.string(e.name).string(e.long).attrs(&e.attrs);
                }
            }
            Reply::Attrs(a) => {
                begin(buf, FXP_ATTRS).u32(id).attrs(a);
            }
            Reply::StatVfs(s) => {
                let mut w = begin(buf, FXP_EXTENDED_REPLY);
                w.u32(id);
                for v in [
                    s.bsize, s.frsize, s.blocks, s.bfree, s.bavail, s.files, s.ffree, s.favail,
                    s.fsid, s.flag, s.namemax,
                ] {
                    w.u64(v);
                }
            }
            Reply::Limits(l) => {
                begin(buf, FXP_EXTENDED_REPLY)
                    .u32(id)
                    .u64(l.max_packet)
                    .u64(l.max_read)
                    .u64(l.max_write)
                    .u64(l.max_handles);
            }
        }
        finish(buf);
    }
}

/// Bytes a DATA reply adds in front of its data: length, type, id, string length.
pub const DATA_HEADER: usize = 4 + 1 + 4 + 4;

/// Writes a DATA header for `len` bytes of data that the caller appends right after.
pub fn data_header(id: u32, len: u32) -> [u8; DATA_HEADER] {
    let mut h = [0u8; DATA_HEADER];
    h[..4].copy_from_slice(&(len + 9).to_be_bytes());
    h[4] = FXP_DATA;
    h[5..9].copy_from_slice(&id.to_be_bytes());
    h[9..].copy_from_slice(&len.to_be_bytes());
    h
}
