//! The client's requests: parsed from a packet (borrowing its strings) and, for tests and
//! tools, emitted.

use super::*;

/// A client request, borrowing paths and data from the packet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Request<'a> {
    Init {
        version: u32,
    },
    Open {
        path: &'a [u8],
        flags: u32,
        attrs: Attrs,
    },
    Close(&'a [u8]),
    Read {
        handle: &'a [u8],
        offset: u64,
        len: u32,
    },
    Write {
        handle: &'a [u8],
        offset: u64,
        data: &'a [u8],
    },
    Lstat(&'a [u8]),
    Fstat(&'a [u8]),
    Setstat {
        path: &'a [u8],
        attrs: Attrs,
    },
    Fsetstat {
        handle: &'a [u8],
        attrs: Attrs,
    },
    Opendir(&'a [u8]),
    Readdir(&'a [u8]),
    Remove(&'a [u8]),
    Mkdir {
        path: &'a [u8],
        attrs: Attrs,
    },
    Rmdir(&'a [u8]),
    Realpath(&'a [u8]),
    Stat(&'a [u8]),
    Rename {
        from: &'a [u8],
        to: &'a [u8],
    },
    Readlink(&'a [u8]),
    /// OpenSSH's order (the reverse of the draft): the link's target first, then the path of
    /// the link to create. The OpenSSH client sends this order.
    Symlink {
        target: &'a [u8],
        link: &'a [u8],
    },
    PosixRename {
        from: &'a [u8],
        to: &'a [u8],
    },
    Statvfs(&'a [u8]),
    Fstatvfs(&'a [u8]),
    Hardlink {
        from: &'a [u8],
        to: &'a [u8],
    },
    Fsync(&'a [u8]),
    Limits,
    ExpandPath(&'a [u8]),
    Lsetstat {
        path: &'a [u8],
        attrs: Attrs,
    },
    /// An EXTENDED request we do not know (answered OP_UNSUPPORTED).
    UnknownExtended(&'a [u8]),
    /// A packet type we do not know (answered OP_UNSUPPORTED).
    Unknown(u8),
}

/// Extensions announced in VERSION, with their versions. `Request::parse` knows them by
/// their position here.
pub const EXTENSIONS: &[(&str, &str)] = &[
    ("posix-rename@openssh.com", "1"),
    ("statvfs@openssh.com", "2"),
    ("fstatvfs@openssh.com", "2"),
    ("hardlink@openssh.com", "1"),
    ("fsync@openssh.com", "1"),
    ("lsetstat@openssh.com", "1"),
    ("limits@openssh.com", "1"),
    ("expand-path@openssh.com", "1"),
];

impl<'a> Request<'a> {
    /// Parses a packet body (type byte + payload) into its request id and request. `INIT` has
    /// no id; it is returned as 0.
    pub fn parse(body: &'a [u8]) -> Result<(u32, Request<'a>), ParseError> {
        let mut r = Reader::new(body);
        let kind = r.u8()?;
        if kind == FXP_INIT {
            return Ok((0, Request::Init { version: r.u32()? }));
        }
        let id = r.u32()?;
        let req = match kind {
            FXP_OPEN => Request::Open {
                path: r.string()?,
                flags: r.u32()?,
                attrs: r.attrs()?,
            },
            FXP_CLOSE => Request::Close(r.string()?),
            FXP_READ => Request::Read {
                handle: r.string()?,
                offset: r.u64()?,
                len: r.u32()?,
            },
            FXP_WRITE => Request::Write {
                handle: r.string()?,
                offset: r.u64()?,
                data: r.string()?,
            },
            FXP_LSTAT => Request::Lstat(r.string()?),
            FXP_FSTAT => Request::Fstat(r.string()?),
            FXP_SETSTAT => Request::Setstat {
                path: r.string()?,
                attrs: r.attrs()?,
            },
            FXP_FSETSTAT => Request::Fsetstat {
                handle: r.string()?,
                attrs: r.attrs()?,
            },
            FXP_OPENDIR => Request::Opendir(r.string()?),
            FXP_READDIR => Request::Readdir(r.string()?),
            FXP_REMOVE => Request::Remove(r.string()?),
            FXP_MKDIR => Request::Mkdir {
                path: r.string()?,
                attrs: r.attrs()?,
            },
            FXP_RMDIR => Request::Rmdir(r.string()?),
            FXP_REALPATH => Request::Realpath(r.string()?),
            FXP_STAT => Request::Stat(r.string()?),
            FXP_RENAME => Request::Rename {
                from: r.string()?,
                to: r.string()?,
            },
            FXP_READLINK => Request::Readlink(r.string()?),
            FXP_SYMLINK => Request::Symlink {
                target: r.string()?,
                link: r.string()?,
            },
            FXP_EXTENDED => {
                let name = r.string()?;
                // By position in EXTENSIONS: a `match` on byte-string patterns compiles to a
                // byte-by-byte decision tree (2.5 KB on MIPS); slice equality is one bcmp call.
                match EXTENSIONS.iter().position(|(n, _)| n.as_bytes() == name) {
                    Some(0) => Request::PosixRename {
                        from: r.string()?,
                        to: r.string()?,
                    },
                    Some(1) => Request::Statvfs(r.string()?),
                    Some(2) => Request::Fstatvfs(r.string()?),
                    Some(3) => Request::Hardlink {
                        from: r.string()?,
                        to: r.string()?,
                    },
                    Some(4) => Request::Fsync(r.string()?),
                    Some(5) => Request::Lsetstat {
                        path: r.string()?,
                        attrs: r.attrs()?,
                    },
                    Some(6) => Request::Limits,
                    Some(7) => Request::ExpandPath(r.string()?),
                    _ => Request::UnknownExtended(name),
                }
            }
            other => Request::Unknown(other),
        };
        Ok((id, req))
    }

    /// Emits the request as a client would (length prefix included). Used by tests and by
    /// anything that needs to drive the server.
    pub fn emit(&self, id: u32, buf: &mut Vec<u8>) {
        use Request as R;
        let kind = match self {
            R::Init { .. } => FXP_INIT,
            R::Open { .. } => FXP_OPEN,
            R::Close(_) => FXP_CLOSE,
            R::Read { .. } => FXP_READ,
            R::Write { .. } => FXP_WRITE,
            R::Lstat(_) => FXP_LSTAT,
            R::Fstat(_) => FXP_FSTAT,
            R::Setstat { .. } => FXP_SETSTAT,
            R::Fsetstat { .. } => FXP_FSETSTAT,
            R::Opendir(_) => FXP_OPENDIR,
            R::Readdir(_) => FXP_READDIR,
            R::Remove(_) => FXP_REMOVE,
            R::Mkdir { .. } => FXP_MKDIR,
            R::Rmdir(_) => FXP_RMDIR,
            R::Realpath(_) => FXP_REALPATH,
            R::Stat(_) => FXP_STAT,
            R::Rename { .. } => FXP_RENAME,
            R::Readlink(_) => FXP_READLINK,
            R::Symlink { .. } => FXP_SYMLINK,
            R::Unknown(k) => *k,
            _ => FXP_EXTENDED,
        };
        let mut w = begin(buf, kind);
        if let R::Init { version } = self {
            w.u32(*version);
            finish(buf);
            return;
        }
        w.u32(id);
        match self {
            R::Init { .. } | R::Unknown(_) => {}
            R::Close(s)
            | R::Lstat(s)
            | R::Fstat(s)
            | R::Opendir(s)
            | R::Readdir(s)
            | R::Remove(s)
            | R::Rmdir(s)
            | R::Realpath(s)
            | R::Stat(s)
            | R::Readlink(s) => {
                w.string(s);
            }
            R::Open { path, flags, attrs } => {
                w.string(path).u32(*flags).attrs(attrs);
            }
            R::Read {
                handle,
                offset,
                len,
            } => {
                w.string(handle).u64(*offset).u32(*len);
            }
            R::Write {
                handle,
                offset,
                data,
            } => {
                w.string(handle).u64(*offset).string(data);
            }
            R::Setstat { path: s, attrs }
            | R::Fsetstat { handle: s, attrs }
            | R::Mkdir { path: s, attrs } => {
                w.string(s).attrs(attrs);
            }
            R::Rename { from, to } => {
                w.string(from).string(to);
            }
            R::Symlink { target, link } => {
                w.string(target).string(link);
            }
            R::Limits
            | R::PosixRename { .. }
            | R::Statvfs(_)
            | R::Fstatvfs(_)
            | R::Hardlink { .. }
            | R::Fsync(_)
            | R::ExpandPath(_)
            | R::Lsetstat { .. }
            | R::UnknownExtended(_) => emit_extended(self, &mut w),
        }
        finish(buf);
    }
}

/// The name and fields of an EXTENDED request.
fn emit_extended(req: &Request, w: &mut Writer) {
    match req {
        Request::Limits => {
            w.string(b"limits@openssh.com");
        }
        Request::PosixRename { from, to } => {
            w.string(b"posix-rename@openssh.com")
                .string(from)
                .string(to);
        }
        Request::Hardlink { from, to } => {
            w.string(b"hardlink@openssh.com").string(from).string(to);
        }
        Request::Statvfs(p) => {
            w.string(b"statvfs@openssh.com").string(p);
        }
        Request::Fstatvfs(h) => {
            w.string(b"fstatvfs@openssh.com").string(h);
        }
        Request::Fsync(h) => {
            w.string(b"fsync@openssh.com").string(h);
        }
        Request::ExpandPath(p) => {
            w.string(b"expand-path@openssh.com").string(p);
        }
        Request::Lsetstat { path, attrs } => {
            w.string(b"lsetstat@openssh.com").string(path).attrs(attrs);
        }
        Request::UnknownExtended(name) => {
            w.string(name);
        }
        _ => {}
    }
}
