//! SFTP version 3 wire format (draft-ietf-secsh-filexfer-02) plus the OpenSSH extensions:
//! typed parse and emit over byte slices, no I/O.
//!
//! A packet on the wire is `uint32 length, byte type, payload`; `Request::parse` takes the
//! bytes after the length (type + payload) and borrows strings from them. Replies are emitted
//! by `Reply::emit` into a caller's buffer, length prefix included. Once `parse` returns `Ok`
//! nothing else reads the input, so a lying string length can only produce `Err`.

#![forbid(unsafe_code)]

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

/// A cursor over untrusted bytes.
pub struct Reader<'a> {
    buf: &'a [u8],
}

impl<'a> Reader<'a> {
    pub fn new(buf: &'a [u8]) -> Reader<'a> {
        Reader { buf }
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8], ParseError> {
        if n > self.buf.len() {
            return Err(ParseError);
        }
        let (head, rest) = self.buf.split_at(n);
        self.buf = rest;
        Ok(head)
    }

    pub fn u8(&mut self) -> Result<u8, ParseError> {
        Ok(self.take(1)?[0])
    }

    pub fn u32(&mut self) -> Result<u32, ParseError> {
        let b = self.take(4)?;
        Ok(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }

    pub fn u64(&mut self) -> Result<u64, ParseError> {
        Ok((u64::from(self.u32()?) << 32) | u64::from(self.u32()?))
    }

    pub fn string(&mut self) -> Result<&'a [u8], ParseError> {
        let n = self.u32()? as usize;
        self.take(n)
    }

    pub fn attrs(&mut self) -> Result<Attrs, ParseError> {
        let flags = self.u32()?;
        let mut a = Attrs::default();
        if flags & ATTR_SIZE != 0 {
            a.size = Some(self.u64()?);
        }
        if flags & ATTR_UIDGID != 0 {
            a.uid_gid = Some((self.u32()?, self.u32()?));
        }
        if flags & ATTR_PERMISSIONS != 0 {
            a.permissions = Some(self.u32()?);
        }
        if flags & ATTR_ACMODTIME != 0 {
            a.times = Some((self.u32()?, self.u32()?));
        }
        if flags & ATTR_EXTENDED != 0 {
            // Extended attributes are parsed and ignored; each pair consumes at least 8
            // bytes, so a lying count fails at the end of the packet.
            let count = self.u32()?;
            for _ in 0..count {
                self.string()?;
                self.string()?;
            }
        }
        Ok(a)
    }

    pub fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }
}

/// File attributes (`ATTRS`); `None` fields are absent.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Attrs {
    pub size: Option<u64>,
    pub uid_gid: Option<(u32, u32)>,
    /// Full `st_mode`, file type bits included.
    pub permissions: Option<u32>,
    /// (atime, mtime) in seconds since the epoch.
    pub times: Option<(u32, u32)>,
}

impl Attrs {
    pub fn flags(&self) -> u32 {
        let mut f = 0;
        if self.size.is_some() {
            f |= ATTR_SIZE;
        }
        if self.uid_gid.is_some() {
            f |= ATTR_UIDGID;
        }
        if self.permissions.is_some() {
            f |= ATTR_PERMISSIONS;
        }
        if self.times.is_some() {
            f |= ATTR_ACMODTIME;
        }
        f
    }

    /// Encoded length in bytes.
    pub fn len(&self) -> usize {
        4 + self.size.map_or(0, |_| 8)
            + self.uid_gid.map_or(0, |_| 8)
            + self.permissions.map_or(0, |_| 4)
            + self.times.map_or(0, |_| 8)
    }

    pub fn is_empty(&self) -> bool {
        self.flags() == 0
    }
}

/// Appends SFTP data types to a buffer.
pub struct Writer<'a> {
    pub buf: &'a mut Vec<u8>,
}

impl Writer<'_> {
    pub fn u8(&mut self, v: u8) -> &mut Self {
        self.buf.push(v);
        self
    }

    pub fn u32(&mut self, v: u32) -> &mut Self {
        self.buf.extend_from_slice(&v.to_be_bytes());
        self
    }

    pub fn u64(&mut self, v: u64) -> &mut Self {
        self.buf.extend_from_slice(&v.to_be_bytes());
        self
    }

    /// Strings longer than u32::MAX cannot occur: packets are bounded far below that.
    pub fn string(&mut self, s: &[u8]) -> &mut Self {
        self.u32(s.len() as u32);
        self.buf.extend_from_slice(s);
        self
    }

    pub fn attrs(&mut self, a: &Attrs) -> &mut Self {
        self.u32(a.flags());
        if let Some(s) = a.size {
            self.u64(s);
        }
        if let Some((u, g)) = a.uid_gid {
            self.u32(u).u32(g);
        }
        if let Some(p) = a.permissions {
            self.u32(p);
        }
        if let Some((at, mt)) = a.times {
            self.u32(at).u32(mt);
        }
        self
    }
}

/// Starts a packet in `buf` (cleared): a length placeholder and the type byte.
pub fn begin(buf: &mut Vec<u8>, kind: u8) -> Writer<'_> {
    buf.clear();
    buf.extend_from_slice(&[0, 0, 0, 0, kind]);
    Writer { buf }
}

/// Fills in the length of the packet started by `begin`.
pub fn finish(buf: &mut [u8]) {
    let len = (buf.len() - 4) as u32;
    buf[..4].copy_from_slice(&len.to_be_bytes());
}

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

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trip(req: Request, id: u32) {
        let mut buf = Vec::new();
        req.emit(id, &mut buf);
        let len = u32::from_be_bytes(buf[..4].try_into().unwrap()) as usize;
        assert_eq!(len, buf.len() - 4);
        let (got_id, got) = Request::parse(&buf[4..]).unwrap();
        assert_eq!(got, req);
        if !matches!(req, Request::Init { .. }) {
            assert_eq!(got_id, id);
        }
        // Every strict prefix is truncated input and must be rejected, not misread.
        for cut in 0..buf.len() - 4 {
            let body = &buf[4..4 + cut];
            if let Ok((_, r)) = Request::parse(body) {
                // Only requests whose last field is optional may parse short.
                panic!("prefix of {cut} bytes parsed as {r:?}");
            }
        }
    }

    #[test]
    fn requests_round_trip() {
        let attrs = Attrs {
            size: Some(1 << 40),
            uid_gid: Some((1000, 100)),
            permissions: Some(0o100644),
            times: Some((1, 0xffff_ffff)),
        };
        let reqs = [
            Request::Init { version: 3 },
            Request::Open {
                path: b"/tmp/a b",
                flags: FXF_WRITE | FXF_CREAT | FXF_TRUNC,
                attrs,
            },
            Request::Close(b"\0\0\0\x01"),
            Request::Read {
                handle: b"h",
                offset: u64::MAX,
                len: 32768,
            },
            Request::Write {
                handle: b"h",
                offset: 5,
                data: b"hello",
            },
            Request::Lstat(b"x"),
            Request::Fstat(b"h"),
            Request::Setstat {
                path: b"p",
                attrs: Attrs::default(),
            },
            Request::Fsetstat {
                handle: b"h",
                attrs,
            },
            Request::Opendir(b"."),
            Request::Readdir(b"h"),
            Request::Remove(b"f"),
            Request::Mkdir {
                path: b"d",
                attrs: Attrs {
                    permissions: Some(0o755),
                    ..Default::default()
                },
            },
            Request::Rmdir(b"d"),
            Request::Realpath(b""),
            Request::Stat("é".as_bytes()),
            Request::Rename {
                from: b"a",
                to: b"b",
            },
            Request::Readlink(b"l"),
            Request::Symlink {
                target: b"t",
                link: b"l",
            },
            Request::PosixRename {
                from: b"a",
                to: b"b",
            },
            Request::Statvfs(b"/"),
            Request::Fstatvfs(b"h"),
            Request::Hardlink {
                from: b"a",
                to: b"b",
            },
            Request::Fsync(b"h"),
            Request::ExpandPath(b"~/x"),
            Request::Lsetstat { path: b"l", attrs },
            Request::UnknownExtended(b"copy-data"),
        ];
        for (i, r) in reqs.into_iter().enumerate() {
            round_trip(r, i as u32 * 7919);
        }
    }

    #[test]
    fn limits_and_unknown_parse() {
        let mut buf = Vec::new();
        Request::Limits.emit(9, &mut buf);
        assert_eq!(Request::parse(&buf[4..]), Ok((9, Request::Limits)));
        let body = [99u8, 0, 0, 0, 5, 1, 2, 3];
        assert_eq!(Request::parse(&body), Ok((5, Request::Unknown(99))));
    }

    #[test]
    fn known_bytes() {
        // OPEN id 1 "ab" READ no attrs
        let body = [
            3, 0, 0, 0, 1, 0, 0, 0, 2, b'a', b'b', 0, 0, 0, 1, 0, 0, 0, 0,
        ];
        assert_eq!(
            Request::parse(&body),
            Ok((
                1,
                Request::Open {
                    path: b"ab",
                    flags: FXF_READ,
                    attrs: Attrs::default()
                }
            ))
        );
        let mut out = Vec::new();
        Reply::Status {
            code: Status::Eof,
            message: "End of file",
        }
        .emit(7, &mut out);
        let mut want = vec![0, 0, 0, 30, 101, 0, 0, 0, 7, 0, 0, 0, 1, 0, 0, 0, 11];
        want.extend_from_slice(b"End of file");
        want.extend_from_slice(&[0, 0, 0, 2, b'e', b'n']);
        assert_eq!(out, want);
    }

    #[test]
    fn lying_lengths_are_rejected() {
        // A path length far beyond the packet.
        let body = [13, 0, 0, 0, 1, 0xff, 0xff, 0xff, 0xff, b'a'];
        assert_eq!(Request::parse(&body), Err(ParseError));
        // An attribute extension count that cannot fit.
        let body = [
            9, 0, 0, 0, 1, 0, 0, 0, 1, b'p', 0x80, 0, 0, 0, 0xff, 0xff, 0xff, 0xff,
        ];
        assert_eq!(Request::parse(&body), Err(ParseError));
        assert_eq!(Request::parse(&[]), Err(ParseError));
        assert_eq!(Request::parse(&[4, 0, 0]), Err(ParseError));
    }

    /// Random bytes, and random corruptions of valid requests, parse or fail but never panic.
    #[test]
    fn random_input_never_panics() {
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut next = move || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        let mut valid = Vec::new();
        Request::Write {
            handle: b"12345678",
            offset: 7,
            data: b"data",
        }
        .emit(1, &mut valid);
        for _ in 0..20_000 {
            let len = (next() % 64) as usize;
            let mut body: Vec<u8> = (0..len).map(|_| next() as u8).collect();
            if let Some(b) = body.first_mut() {
                *b %= 24; // mostly known packet types
            }
            let _ = Request::parse(&body);
            let mut v = valid[4..].to_vec();
            let i = (next() as usize) % v.len();
            v[i] = next() as u8;
            let _ = Request::parse(&v[..(next() as usize) % (v.len() + 1)]);
        }
    }

    #[test]
    fn extended_attrs_are_skipped() {
        let mut body = vec![9, 0, 0, 0, 1, 0, 0, 0, 1, b'p'];
        body.extend_from_slice(&(ATTR_EXTENDED | ATTR_PERMISSIONS).to_be_bytes());
        body.extend_from_slice(&0o600u32.to_be_bytes());
        body.extend_from_slice(&[0, 0, 0, 1, 0, 0, 0, 1, b'k', 0, 0, 0, 1, b'v']);
        let (_, r) = Request::parse(&body).unwrap();
        assert_eq!(
            r,
            Request::Setstat {
                path: b"p",
                attrs: Attrs {
                    permissions: Some(0o600),
                    ..Default::default()
                }
            }
        );
    }

    #[test]
    fn replies_parse_back() {
        let attrs = Attrs {
            size: Some(3),
            permissions: Some(0o40755),
            ..Default::default()
        };
        let entries = [
            NameEntry {
                name: b"a",
                long: b"-rw-r--r--    1 u g 3 Jan  1 00:00 a",
                attrs,
            },
            NameEntry {
                name: b"b",
                long: b"b",
                attrs: Attrs::default(),
            },
        ];
        let mut out = Vec::new();
        Reply::Name(&entries).emit(4, &mut out);
        let mut r = Reader::new(&out[4..]);
        assert_eq!(r.u8(), Ok(FXP_NAME));
        assert_eq!(r.u32(), Ok(4));
        assert_eq!(r.u32(), Ok(2));
        for e in &entries {
            assert_eq!(r.string(), Ok(e.name));
            assert_eq!(r.string(), Ok(e.long));
            assert_eq!(r.attrs(), Ok(e.attrs));
        }
        assert!(r.is_empty());
        assert_eq!(
            out.len(),
            4 + 9 + entries.iter().map(NameEntry::len).sum::<usize>()
        );

        Reply::Version.emit(0, &mut out);
        let mut r = Reader::new(&out[4..]);
        assert_eq!((r.u8(), r.u32()), (Ok(FXP_VERSION), Ok(3)));
        let mut names = Vec::new();
        while !r.is_empty() {
            names.push(r.string().unwrap().to_vec());
            r.string().unwrap();
        }
        assert!(names.contains(&b"limits@openssh.com".to_vec()));

        Reply::Limits(Limits {
            max_packet: 1,
            max_read: 2,
            max_write: 3,
            max_handles: 4,
        })
        .emit(8, &mut out);
        assert_eq!(out.len(), 4 + 1 + 4 + 32);
        let mut r = Reader::new(&out[4..]);
        assert_eq!((r.u8(), r.u32()), (Ok(FXP_EXTENDED_REPLY), Ok(8)));
        assert_eq!(
            (r.u64(), r.u64(), r.u64(), r.u64()),
            (Ok(1), Ok(2), Ok(3), Ok(4))
        );

        let d = data_header(3, 5);
        Reply::Data(b"hello").emit(3, &mut out);
        assert_eq!(&out[..DATA_HEADER], &d);
    }
}
