//! SSH data types (RFC 4251 §5) read from and written to byte slices.
//!
//! Contract: every accessor checks its length first and returns `WireError` instead of
//! panicking, so a parser built from these never indexes out of bounds on peer input.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WireError {
    /// The input ended before the field did.
    Short,
    /// A field is larger than the limit that applies to it.
    TooLong,
    /// Text that must be UTF-8 (or ASCII) is not.
    BadText,
    /// A value is outside what the field allows.
    BadValue,
    /// The output buffer is full.
    NoSpace,
}

pub type WireResult<T> = Result<T, WireError>;

/// A cursor over untrusted input.
#[derive(Clone)]
pub struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    pub fn new(buf: &'a [u8]) -> Self {
        Reader { buf, pos: 0 }
    }

    pub fn remaining(&self) -> usize {
        self.buf.len() - self.pos
    }

    pub fn is_empty(&self) -> bool {
        self.remaining() == 0
    }

    /// Everything not read yet.
    pub fn rest(&self) -> &'a [u8] {
        &self.buf[self.pos..]
    }

    pub fn bytes(&mut self, n: usize) -> WireResult<&'a [u8]> {
        if self.remaining() < n {
            return Err(WireError::Short);
        }
        let s = &self.buf[self.pos..self.pos + n];
        self.pos += n;
        Ok(s)
    }

    pub fn array<const N: usize>(&mut self) -> WireResult<[u8; N]> {
        let mut a = [0u8; N];
        a.copy_from_slice(self.bytes(N)?);
        Ok(a)
    }

    pub fn u8(&mut self) -> WireResult<u8> {
        Ok(self.bytes(1)?[0])
    }

    pub fn bool(&mut self) -> WireResult<bool> {
        Ok(self.u8()? != 0)
    }

    pub fn u32(&mut self) -> WireResult<u32> {
        Ok(u32::from_be_bytes(self.array()?))
    }

    pub fn u64(&mut self) -> WireResult<u64> {
        Ok(u64::from_be_bytes(self.array()?))
    }

    /// A `string`: u32 length then that many bytes.
    pub fn string(&mut self) -> WireResult<&'a [u8]> {
        let n = self.u32()? as usize;
        self.bytes(n)
    }

    /// A `string` that must be UTF-8 (user names, request names, ...).
    pub fn text(&mut self) -> WireResult<&'a str> {
        core::str::from_utf8(self.string()?).map_err(|_| WireError::BadText)
    }

    /// A `name-list`: comma-separated US-ASCII names.
    pub fn name_list(&mut self) -> WireResult<NameList<'a>> {
        let s = self.string()?;
        if !s.iter().all(|&c| c.is_ascii_graphic()) {
            return Err(WireError::BadText);
        }
        // Checked above: ASCII is UTF-8.
        core::str::from_utf8(s)
            .map(NameList)
            .map_err(|_| WireError::BadText)
    }

    /// Fails unless all input was consumed (RFC says extra data is an error for fixed messages).
    pub fn end(&self) -> WireResult<()> {
        if self.is_empty() {
            Ok(())
        } else {
            Err(WireError::BadValue)
        }
    }
}

/// A parsed name-list; iterate the names with `iter()`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NameList<'a>(pub &'a str);

impl<'a> NameList<'a> {
    pub fn iter(&self) -> impl Iterator<Item = &'a str> {
        self.0.split(',').filter(|s| !s.is_empty())
    }

    pub fn contains(&self, name: &str) -> bool {
        self.iter().any(|n| n == name)
    }

    /// RFC 4253 §7.1: the first name on the client's list that the server also supports.
    pub fn first_common(&self, ours: &[&'static str]) -> Option<&'static str> {
        self.iter()
            .find_map(|theirs| ours.iter().copied().find(|o| *o == theirs))
    }
}

/// A cursor writing into a fixed buffer; never grows, fails with `NoSpace`.
pub struct Writer<'a> {
    buf: &'a mut [u8],
    pos: usize,
}

impl<'a> Writer<'a> {
    pub fn new(buf: &'a mut [u8]) -> Self {
        Writer { buf, pos: 0 }
    }

    pub fn len(&self) -> usize {
        self.pos
    }

    pub fn is_empty(&self) -> bool {
        self.pos == 0
    }

    pub fn written(&self) -> &[u8] {
        &self.buf[..self.pos]
    }

    pub fn raw(&mut self, data: &[u8]) -> WireResult<()> {
        let end = self.pos.checked_add(data.len()).ok_or(WireError::NoSpace)?;
        if end > self.buf.len() {
            return Err(WireError::NoSpace);
        }
        self.buf[self.pos..end].copy_from_slice(data);
        self.pos = end;
        Ok(())
    }

    pub fn u8(&mut self, v: u8) -> WireResult<()> {
        self.raw(&[v])
    }

    pub fn bool(&mut self, v: bool) -> WireResult<()> {
        self.u8(v as u8)
    }

    pub fn u32(&mut self, v: u32) -> WireResult<()> {
        self.raw(&v.to_be_bytes())
    }

    pub fn u64(&mut self, v: u64) -> WireResult<()> {
        self.raw(&v.to_be_bytes())
    }

    pub fn string(&mut self, s: &[u8]) -> WireResult<()> {
        let n = u32::try_from(s.len()).map_err(|_| WireError::TooLong)?;
        // All or nothing: never leave a length without its bytes.
        if self.buf.len() - self.pos < 4 + s.len() {
            return Err(WireError::NoSpace);
        }
        self.u32(n)?;
        self.raw(s)
    }

    /// A string whose bytes `fill` writes in place (at most `max`; it returns how many):
    /// data read straight into a packet, with no copy. A `fill` that writes nothing leaves
    /// an empty string.
    pub fn string_with(
        &mut self,
        max: usize,
        fill: impl FnOnce(&mut [u8]) -> usize,
    ) -> WireResult<usize> {
        let room = (self.buf.len() - self.pos)
            .checked_sub(4)
            .ok_or(WireError::NoSpace)?;
        let start = self.pos + 4;
        let area = &mut self.buf[start..start + max.min(room)];
        let cap = area.len();
        let n = fill(area).min(cap);
        self.u32(u32::try_from(n).map_err(|_| WireError::TooLong)?)?;
        self.pos += n;
        Ok(n)
    }

    /// An `mpint` holding the non-negative big-endian integer `v`.
    pub fn mpint(&mut self, v: &[u8]) -> WireResult<()> {
        let v = strip_zeros(v);
        let pad = v.first().is_some_and(|&b| b & 0x80 != 0);
        self.u32((v.len() + pad as usize) as u32)?;
        if pad {
            self.u8(0)?;
        }
        self.raw(v)
    }
}

fn strip_zeros(v: &[u8]) -> &[u8] {
    let first = v.iter().position(|&b| b != 0).unwrap_or(v.len());
    &v[first..]
}

/// Helpers for building SSH-encoded data in a `Vec` (files and other non-peer data only).
pub fn vec_u32(v: &mut Vec<u8>, n: u32) {
    v.extend_from_slice(&n.to_be_bytes());
}

pub fn vec_string(v: &mut Vec<u8>, s: &[u8]) {
    vec_u32(v, s.len() as u32);
    v.extend_from_slice(s);
}

/// An `mpint` for a non-negative big-endian value, as a hash input (SHA-256 `update`).
pub fn mpint_bytes(v: &[u8], out: &mut impl FnMut(&[u8])) {
    let v = strip_zeros(v);
    let pad = v.first().is_some_and(|&b| b & 0x80 != 0);
    out(&((v.len() + pad as usize) as u32).to_be_bytes());
    if pad {
        out(&[0]);
    }
    out(v);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn read_fields() {
        let b = [0, 0, 0, 3, b'a', b'b', b'c', 1, 0, 0, 1, 0];
        let mut r = Reader::new(&b);
        assert_eq!(r.string().unwrap(), b"abc");
        assert!(r.bool().unwrap());
        assert_eq!(r.u32().unwrap(), 256);
        assert!(r.end().is_ok());
        assert_eq!(r.u8(), Err(WireError::Short));
    }

    #[test]
    fn lying_length_is_short() {
        let b = [0xff, 0xff, 0xff, 0xff, 1, 2];
        assert_eq!(Reader::new(&b).string(), Err(WireError::Short));
        let b = [0, 0, 0];
        assert_eq!(Reader::new(&b).u32(), Err(WireError::Short));
    }

    #[test]
    fn name_lists() {
        let b = [0, 0, 0, 7, b'a', b',', b'b', b'b', b',', b'c', b'c'];
        let nl = Reader::new(&b).name_list().unwrap();
        assert_eq!(nl.iter().collect::<Vec<_>>(), ["a", "bb", "cc"]);
        assert_eq!(nl.first_common(&["cc", "bb"]), Some("bb"));
        assert_eq!(nl.first_common(&["x"]), None);
        let bad = [0, 0, 0, 2, b'a', 0xc3];
        assert_eq!(Reader::new(&bad).name_list(), Err(WireError::BadText));
    }

    #[test]
    fn mpint_encoding() {
        // RFC 4251 §5 examples.
        let mut buf = [0u8; 16];
        let mut w = Writer::new(&mut buf);
        w.mpint(&[0x00, 0x80]).unwrap();
        assert_eq!(w.written(), [0, 0, 0, 2, 0, 0x80]);
        let mut w = Writer::new(&mut buf);
        w.mpint(&[0, 0]).unwrap();
        assert_eq!(w.written(), [0, 0, 0, 0]);
        let mut v = Vec::new();
        mpint_bytes(&[0x09, 0xa3], &mut |b| v.extend_from_slice(b));
        assert_eq!(v, [0, 0, 0, 2, 0x09, 0xa3]);
    }

    #[test]
    fn writer_full() {
        let mut buf = [0u8; 5];
        let mut w = Writer::new(&mut buf);
        assert_eq!(w.string(b"abcd"), Err(WireError::NoSpace));
        assert_eq!(w.string(b"a"), Ok(()));
    }
}
