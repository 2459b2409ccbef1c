//! SFTP's data types on the wire: integers, strings and file attributes, read from untrusted
//! bytes and appended to a buffer.

use super::{ParseError, ATTR_ACMODTIME, ATTR_EXTENDED, ATTR_PERMISSIONS, ATTR_SIZE, ATTR_UIDGID};

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
