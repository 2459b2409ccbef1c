//! The SFTP request loop: read a packet, parse it, act on the filesystem, write the reply.
//!
//! Blocking I/O on the child's stdin/stdout. Memory is fixed: one input buffer of
//! `MAX_PACKET`, one output buffer, `MAX_HANDLES` handle slots. A packet that does not parse
//! gets a BAD_MESSAGE status and ends the subsystem; a lying packet length ends it too.

#![forbid(unsafe_code)]

use super::fs::{self as sfs, Names};
use super::proto::{
    self, Attrs, Limits, NameEntry, Reply, Request, StatVfs, Status, STATVFS_NOSUID, STATVFS_RDONLY,
};
use crate::config::{SFTP_MAX_HANDLES, SFTP_MAX_PACKET, SFTP_MAX_READ};
use crate::sys::fsys::{self, Dir, Stat};
use std::fs::File;
use std::io::{self, Read, Write};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::FileExt;
use std::path::PathBuf;
use std::time::SystemTime;

/// Directory entries per READDIR reply (each well under 1 KiB: names are at most 255 bytes).
const READDIR_BATCH: usize = 64;

enum Handle {
    File(File),
    Dir { iter: Dir, path: PathBuf },
}

/// Exit codes of `serve`.
pub const EXIT_OK: i32 = 0;
pub const EXIT_PROTOCOL: i32 = 1;
pub const EXIT_IO: i32 = 2;

struct Server {
    /// (generation, handle); the handle string is `index || generation`, so a stale handle
    /// of a reused slot is refused.
    handles: Vec<Option<(u32, Handle)>>,
    generation: u32,
    names: Names,
    out: Vec<u8>,
}

/// Why the request loop stops.
enum Stop {
    /// Clean end of input between packets.
    Eof,
    /// Protocol violation: exit code 1.
    Protocol,
    /// Reading or writing the channel failed: exit code 2.
    Io,
}

/// Serves one SFTP session until the client closes its end. Returns the exit code.
pub fn serve(input: &mut impl Read, output: &mut impl Write) -> i32 {
    let mut s = Server {
        handles: (0..SFTP_MAX_HANDLES).map(|_| None).collect(),
        generation: 0,
        names: Names::default(),
        out: Vec::with_capacity(SFTP_MAX_READ + 1024),
    };
    let mut packet = vec![0u8; SFTP_MAX_PACKET];
    let mut initialised = false;
    let stop = loop {
        let len = match read_len(input) {
            Ok(Some(n)) => n as usize,
            Ok(None) => break Stop::Eof,
            Err(_) => break Stop::Io,
        };
        if !(5..=SFTP_MAX_PACKET).contains(&len) {
            // A length we will not buffer: answer the id if we can see it, then stop, since
            // the framing can no longer be trusted.
            let mut head = [0u8; 5];
            let id = if len >= 5 && input.read_exact(&mut head).is_ok() {
                u32::from_be_bytes([head[1], head[2], head[3], head[4]])
            } else {
                0
            };
            let _ = s.status(output, id, Status::BadMessage, "bad packet length");
            break Stop::Protocol;
        }
        if input.read_exact(&mut packet[..len]).is_err() {
            break Stop::Io;
        }
        let body = &packet[..len];
        let (id, req) = match Request::parse(body) {
            Ok(r) => r,
            Err(_) => {
                let id = u32::from_be_bytes([body[1], body[2], body[3], body[4]]);
                let _ = s.status(output, id, Status::BadMessage, "malformed packet");
                break Stop::Protocol;
            }
        };
        let first = matches!(req, Request::Init { .. });
        if first == initialised {
            // INIT must come first and only once.
            let _ = s.status(output, id, Status::BadMessage, "unexpected packet");
            break Stop::Protocol;
        }
        initialised = true;
        if s.handle(id, req, output).is_err() {
            break Stop::Io;
        }
    };
    let _ = output.flush();
    match stop {
        Stop::Eof => EXIT_OK,
        Stop::Protocol => EXIT_PROTOCOL,
        Stop::Io => EXIT_IO,
    }
}

/// The next packet length, or `None` at a clean end of input.
fn read_len(input: &mut impl Read) -> io::Result<Option<u32>> {
    let mut b = [0u8; 4];
    let mut got = 0;
    while got < 4 {
        match input.read(&mut b[got..]) {
            Ok(0) if got == 0 => return Ok(None),
            Ok(0) => return Err(io::ErrorKind::UnexpectedEof.into()),
            Ok(n) => got += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(Some(u32::from_be_bytes(b)))
}

impl Server {
    fn send(&mut self, output: &mut impl Write, id: u32, reply: Reply) -> io::Result<()> {
        reply.emit(id, &mut self.out);
        output.write_all(&self.out)?;
        output.flush()
    }

    fn status(&mut self, out: &mut impl Write, id: u32, code: Status, msg: &str) -> io::Result<()> {
        self.send(out, id, Reply::Status { code, message: msg })
    }

    fn ok(&mut self, out: &mut impl Write, id: u32) -> io::Result<()> {
        self.status(out, id, Status::Ok, "Success")
    }

    fn error(&mut self, out: &mut impl Write, id: u32, e: &io::Error) -> io::Result<()> {
        let (code, msg) = sfs::status_of(e);
        self.status(out, id, code, &msg)
    }

    /// Replies OK or the error of `r`.
    fn done(&mut self, out: &mut impl Write, id: u32, r: io::Result<()>) -> io::Result<()> {
        match r {
            Ok(()) => self.ok(out, id),
            Err(e) => self.error(out, id, &e),
        }
    }

    fn attrs(&mut self, out: &mut impl Write, id: u32, r: io::Result<Stat>) -> io::Result<()> {
        match r {
            Ok(m) => self.send(out, id, Reply::Attrs(sfs::attrs_of(&m))),
            Err(e) => self.error(out, id, &e),
        }
    }

    /// Replies with one NAME entry (REALPATH, READLINK, expand-path).
    fn one_name(
        &mut self,
        out: &mut impl Write,
        id: u32,
        r: io::Result<PathBuf>,
    ) -> io::Result<()> {
        match r {
            Ok(p) => {
                let name = p.as_os_str().as_bytes();
                let entry = NameEntry {
                    name,
                    long: name,
                    attrs: Attrs::default(),
                };
                self.send(out, id, Reply::Name(&[entry]))
            }
            Err(e) => self.error(out, id, &e),
        }
    }

    fn new_handle(&mut self, h: Handle) -> Option<[u8; 8]> {
        let i = self.handles.iter().position(Option::is_none)?;
        self.generation = self.generation.wrapping_add(1);
        self.handles[i] = Some((self.generation, h));
        let mut bytes = [0u8; 8];
        bytes[..4].copy_from_slice(&(i as u32).to_be_bytes());
        bytes[4..].copy_from_slice(&self.generation.to_be_bytes());
        Some(bytes)
    }

    fn slot(&self, h: &[u8]) -> Option<usize> {
        let h: &[u8; 8] = h.try_into().ok()?;
        let i = u32::from_be_bytes([h[0], h[1], h[2], h[3]]) as usize;
        let generation = u32::from_be_bytes([h[4], h[5], h[6], h[7]]);
        match self.handles.get(i)? {
            Some((g, _)) if *g == generation => Some(i),
            _ => None,
        }
    }

    fn file(&self, h: &[u8]) -> Option<&File> {
        match &self.handles[self.slot(h)?] {
            Some((_, Handle::File(f))) => Some(f),
            _ => None,
        }
    }

    fn reply_handle(&mut self, out: &mut impl Write, id: u32, h: Handle) -> io::Result<()> {
        match self.new_handle(h) {
            Some(bytes) => self.send(out, id, Reply::Handle(&bytes)),
            None => self.status(out, id, Status::Failure, "too many open handles"),
        }
    }

    fn bad_handle(&mut self, out: &mut impl Write, id: u32) -> io::Result<()> {
        self.status(out, id, Status::Failure, "invalid handle")
    }

    fn handle(&mut self, id: u32, req: Request, out: &mut impl Write) -> io::Result<()> {
        use Request as R;
        match req {
            R::Init { .. } => self.send(out, id, Reply::Version),
            R::Open { path, flags, attrs } => {
                let mode = attrs.permissions.map_or(0o666, |p| p & 0o7777);
                match sfs::open(sfs::path(path), flags, mode) {
                    Ok(f) => self.reply_handle(out, id, Handle::File(f)),
                    Err(e) => self.error(out, id, &e),
                }
            }
            R::Opendir(path) => {
                let p = sfs::path(path);
                match Dir::open(p) {
                    Ok(iter) => {
                        let h = Handle::Dir {
                            iter,
                            path: p.to_path_buf(),
                        };
                        self.reply_handle(out, id, h)
                    }
                    Err(e) => self.error(out, id, &e),
                }
            }
            R::Close(h) => match self.slot(h) {
                Some(i) => {
                    // Dropping closes; errors of close(2) are not reported by std.
                    self.handles[i] = None;
                    self.ok(out, id)
                }
                None => self.bad_handle(out, id),
            },
            R::Read {
                handle,
                offset,
                len,
            } => self.read(out, id, handle, offset, len),
            R::Write {
                handle,
                offset,
                data,
            } => {
                let r = self.file(handle).map(|f| f.write_all_at(data, offset));
                match r {
                    Some(r) => self.done(out, id, r),
                    None => self.bad_handle(out, id),
                }
            }
            R::Readdir(h) => self.readdir(out, id, h),
            R::Lstat(p) => self.attrs(out, id, fsys::lstat(sfs::path(p))),
            R::Stat(p) => self.attrs(out, id, fsys::stat(sfs::path(p))),
            R::Fstat(h) => match self.file(h).map(fsys::fstat) {
                Some(r) => self.attrs(out, id, r),
                None => self.bad_handle(out, id),
            },
            R::Setstat { path, attrs } => {
                self.done(out, id, sfs::setstat(sfs::path(path), &attrs, true))
            }
            R::Lsetstat { path, attrs } => {
                self.done(out, id, sfs::setstat(sfs::path(path), &attrs, false))
            }
            R::Fsetstat { handle, attrs } => {
                match self.file(handle).map(|f| sfs::fsetstat(f, &attrs)) {
                    Some(r) => self.done(out, id, r),
                    None => self.bad_handle(out, id),
                }
            }
            R::Remove(p) => self.done(out, id, fsys::unlink(sfs::path(p))),
            R::Mkdir { path, attrs } => {
                let mode = attrs.permissions.map_or(0o777, |p| p & 0o7777);
                self.done(out, id, fsys::mkdir(sfs::path(path), mode))
            }
            R::Rmdir(p) => self.done(out, id, fsys::rmdir(sfs::path(p))),
            R::Realpath(p) => self.one_name(out, id, sfs::realpath(sfs::path(p))),
            R::ExpandPath(p) => self.one_name(out, id, sfs::expand_path(p)),
            R::Readlink(p) => self.one_name(out, id, fsys::readlink(sfs::path(p))),
            R::Rename { from, to } => {
                // SFTP v3 RENAME must not replace an existing file (posix-rename does). The
                // check and the rename are two steps: good enough for a single user's session.
                let to = sfs::path(to);
                let r = if fsys::lstat(to).is_ok() {
                    Err(io::Error::from_raw_os_error(libc::EEXIST))
                } else {
                    fsys::rename(sfs::path(from), to)
                };
                self.done(out, id, r)
            }
            R::PosixRename { from, to } => {
                self.done(out, id, fsys::rename(sfs::path(from), sfs::path(to)))
            }
            R::Hardlink { from, to } => {
                self.done(out, id, fsys::link(sfs::path(from), sfs::path(to)))
            }
            R::Symlink { target, link } => {
                let r = fsys::symlink(sfs::path(target), sfs::path(link));
                self.done(out, id, r)
            }
            R::Fsync(h) => match self.file(h).map(fsys::fsync) {
                Some(r) => self.done(out, id, r),
                None => self.bad_handle(out, id),
            },
            R::Statvfs(p) => match crate::sys::statvfs::statvfs(sfs::path(p)) {
                Ok(v) => self.send(out, id, Reply::StatVfs(stat_vfs(v))),
                Err(e) => self.error(out, id, &e),
            },
            R::Fstatvfs(h) => match self.file(h).map(crate::sys::statvfs::fstatvfs) {
                Some(Ok(v)) => self.send(out, id, Reply::StatVfs(stat_vfs(v))),
                Some(Err(e)) => self.error(out, id, &e),
                None => self.bad_handle(out, id),
            },
            R::Limits => {
                let l = Limits {
                    max_packet: SFTP_MAX_PACKET as u64,
                    max_read: SFTP_MAX_READ as u64,
                    max_write: SFTP_MAX_READ as u64,
                    max_handles: SFTP_MAX_HANDLES as u64,
                };
                self.send(out, id, Reply::Limits(l))
            }
            R::UnknownExtended(_) | R::Unknown(_) => {
                self.status(out, id, Status::OpUnsupported, "operation not supported")
            }
        }
    }

    /// READ: up to `len` bytes (clamped to `SFTP_MAX_READ`) read straight into the reply.
    fn read(
        &mut self,
        out: &mut impl Write,
        id: u32,
        h: &[u8],
        offset: u64,
        len: u32,
    ) -> io::Result<()> {
        let len = (len as usize).min(SFTP_MAX_READ);
        let Some(i) = self.slot(h) else {
            return self.bad_handle(out, id);
        };
        let Some((_, Handle::File(f))) = &self.handles[i] else {
            return self.bad_handle(out, id);
        };
        let buf = &mut self.out;
        buf.clear();
        buf.resize(proto::DATA_HEADER + len, 0);
        let mut got = 0;
        let mut err = None;
        while got < len {
            match f.read_at(
                &mut buf[proto::DATA_HEADER + got..],
                offset.saturating_add(got as u64),
            ) {
                Ok(0) => break,
                Ok(n) => got += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => {
                    err = Some(e);
                    break;
                }
            }
        }
        if got == 0 {
            return match err {
                Some(e) => self.error(out, id, &e),
                None => self.status(out, id, Status::Eof, "End of file"),
            };
        }
        buf.truncate(proto::DATA_HEADER + got);
        buf[..proto::DATA_HEADER].copy_from_slice(&proto::data_header(id, got as u32));
        out.write_all(buf)?;
        out.flush()
    }

    /// READDIR: a batch of entries with `ls -l` lines, or EOF when the directory is done.
    fn readdir(&mut self, out: &mut impl Write, id: u32, h: &[u8]) -> io::Result<()> {
        let Some(i) = self.slot(h) else {
            return self.bad_handle(out, id);
        };
        let Some((_, Handle::Dir { iter, path })) = &mut self.handles[i] else {
            return self.bad_handle(out, id);
        };
        let now = SystemTime::now();
        let mut found: Vec<(Vec<u8>, Vec<u8>, Attrs)> = Vec::new();
        for name in iter.by_ref() {
            let Ok(name) = name else { continue };
            // An entry that vanished since readdir(3) is skipped, as ls does.
            let Ok(m) = fsys::lstat(&path.join(std::ffi::OsStr::from_bytes(&name))) else {
                continue;
            };
            let long = self.names.long_name(&name, &m, now);
            found.push((name, long, sfs::attrs_of(&m)));
            if found.len() == READDIR_BATCH {
                break;
            }
        }
        if found.is_empty() {
            return self.status(out, id, Status::Eof, "End of directory");
        }
        let entries: Vec<NameEntry> = found
            .iter()
            .map(|(name, long, attrs)| NameEntry {
                name,
                long,
                attrs: *attrs,
            })
            .collect();
        self.send(out, id, Reply::Name(&entries))
    }
}

/// The `statvfs@openssh.com` reply for what statvfs(3) said.
fn stat_vfs(s: crate::sys::statvfs::FsStats) -> StatVfs {
    let mut flag = 0;
    if s.read_only {
        flag |= STATVFS_RDONLY;
    }
    if s.nosuid {
        flag |= STATVFS_NOSUID;
    }
    StatVfs {
        bsize: s.bsize,
        frsize: s.frsize,
        blocks: s.blocks,
        bfree: s.bfree,
        bavail: s.bavail,
        files: s.files,
        ffree: s.ffree,
        favail: s.favail,
        fsid: s.fsid,
        flag,
        namemax: s.namemax,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sftp::proto::Reader;
    use std::fs;

    fn tmp(tag: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("quoll-sftp-{}-{}", tag, std::process::id()));
        let _ = fs::remove_dir_all(&d);
        fs::create_dir(&d).unwrap();
        d
    }

    /// Runs `serve` over `reqs` (INIT first); returns the exit code and the reply packets
    /// (type byte + payload) after VERSION.
    fn session(reqs: &[Request]) -> (i32, Vec<Vec<u8>>) {
        let mut input = Vec::new();
        let mut buf = Vec::new();
        Request::Init { version: 3 }.emit(0, &mut buf);
        input.extend_from_slice(&buf);
        for (i, r) in reqs.iter().enumerate() {
            r.emit(i as u32 + 1, &mut buf);
            input.extend_from_slice(&buf);
        }
        let mut out = Vec::new();
        let code = serve(&mut &input[..], &mut out);
        let mut packets = Vec::new();
        let mut rest = &out[..];
        while !rest.is_empty() {
            let n = u32::from_be_bytes(rest[..4].try_into().unwrap()) as usize;
            packets.push(rest[4..4 + n].to_vec());
            rest = &rest[4 + n..];
        }
        assert_eq!(packets[0][0], proto::FXP_VERSION);
        packets.remove(0);
        (code, packets)
    }

    /// (type, id, status code if STATUS)
    fn head(p: &[u8]) -> (u8, u32, Option<u32>) {
        let mut r = Reader::new(p);
        let kind = r.u8().unwrap();
        let id = r.u32().unwrap();
        let code = (kind == proto::FXP_STATUS).then(|| r.u32().unwrap());
        (kind, id, code)
    }

    fn handle_of(p: &[u8]) -> Vec<u8> {
        let mut r = Reader::new(&p[5..]);
        r.string().unwrap().to_vec()
    }

    fn path_bytes(p: &std::path::Path) -> Vec<u8> {
        p.as_os_str().as_bytes().to_vec()
    }

    #[test]
    fn write_then_read_back() {
        let d = tmp("rw");
        let f = path_bytes(&d.join("f"));
        // Handles are predictable: slot 0, generation 1 then 2.
        let h1 = [0, 0, 0, 0, 0, 0, 0, 1];
        let h2 = [0, 0, 0, 0, 0, 0, 0, 2];
        let reqs = [
            Request::Open {
                path: &f,
                flags: proto::FXF_WRITE | proto::FXF_CREAT | proto::FXF_TRUNC,
                attrs: Attrs {
                    permissions: Some(0o600),
                    ..Default::default()
                },
            },
            Request::Write {
                handle: &h1,
                offset: 0,
                data: b"hello",
            },
            Request::Close(&h1),
            Request::Stat(&f),
            Request::Open {
                path: &f,
                flags: proto::FXF_READ,
                attrs: Attrs::default(),
            },
            Request::Read {
                handle: &h2,
                offset: 1,
                len: 100,
            },
            Request::Read {
                handle: &h2,
                offset: 5,
                len: 100,
            },
            Request::Read {
                handle: &h1,
                offset: 0,
                len: 1,
            },
            Request::Limits,
            Request::UnknownExtended(b"copy-data"),
            Request::Realpath(b"/tmp/../tmp/no-such-file"),
        ];
        let (code, p) = session(&reqs);
        assert_eq!(code, EXIT_OK);
        assert_eq!(p.len(), reqs.len());
        assert_eq!(head(&p[0]), (proto::FXP_HANDLE, 1, None));
        assert_eq!(handle_of(&p[0]), h1);
        assert_eq!(head(&p[1]), (proto::FXP_STATUS, 2, Some(0)));
        assert_eq!(head(&p[2]), (proto::FXP_STATUS, 3, Some(0)));
        let mut r = Reader::new(&p[3][5..]);
        let a = r.attrs().unwrap();
        assert_eq!(a.size, Some(5));
        assert_eq!(a.permissions.map(|m| m & 0o777), Some(0o600));
        assert_eq!(handle_of(&p[4]), h2);
        assert_eq!(head(&p[5]).0, proto::FXP_DATA);
        assert_eq!(handle_of(&p[5]), b"ello");
        assert_eq!(
            head(&p[6]),
            (proto::FXP_STATUS, 7, Some(Status::Eof as u32))
        );
        // h1 was closed: a stale handle.
        assert_eq!(
            head(&p[7]),
            (proto::FXP_STATUS, 8, Some(Status::Failure as u32))
        );
        let mut r = Reader::new(&p[8][5..]);
        assert_eq!(r.u64(), Ok(SFTP_MAX_PACKET as u64));
        assert_eq!(
            head(&p[9]),
            (proto::FXP_STATUS, 10, Some(Status::OpUnsupported as u32))
        );
        let mut r = Reader::new(&p[10][5..]);
        assert_eq!(r.u32(), Ok(1));
        assert_eq!(r.string(), Ok(&b"/tmp/no-such-file"[..]));
        fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn reads_are_clamped_and_handles_bounded() {
        let d = tmp("limits");
        let f = d.join("big");
        fs::write(&f, vec![7u8; SFTP_MAX_READ + 5000]).unwrap();
        let fb = path_bytes(&f);
        let db = path_bytes(&d);
        let mut reqs = vec![
            Request::Open {
                path: &fb,
                flags: proto::FXF_READ,
                attrs: Attrs::default(),
            },
            Request::Read {
                handle: &[0, 0, 0, 0, 0, 0, 0, 1],
                offset: 0,
                len: u32::MAX,
            },
        ];
        for _ in 0..SFTP_MAX_HANDLES {
            reqs.push(Request::Opendir(&db));
        }
        let (code, p) = session(&reqs);
        assert_eq!(code, EXIT_OK);
        let mut r = Reader::new(&p[1][5..]);
        assert_eq!(r.string().map(<[u8]>::len), Ok(SFTP_MAX_READ));
        // One file handle + 63 directories fit; the 64th directory does not.
        for reply in &p[2..p.len() - 1] {
            assert_eq!(reply[0], proto::FXP_HANDLE);
        }
        assert_eq!(head(p.last().unwrap()).2, Some(Status::Failure as u32));
        fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn readdir_lists_then_ends() {
        let d = tmp("dir");
        for n in 0..100 {
            fs::write(d.join(format!("f{n}")), b"").unwrap();
        }
        let db = path_bytes(&d);
        let h = [0, 0, 0, 0, 0, 0, 0, 1];
        let mut reqs = vec![Request::Opendir(&db)];
        for _ in 0..3 {
            reqs.push(Request::Readdir(&h));
        }
        let (_, p) = session(&reqs);
        let count = |p: &[u8]| Reader::new(&p[5..]).u32().unwrap();
        assert_eq!(p[1][0], proto::FXP_NAME);
        assert_eq!(p[2][0], proto::FXP_NAME);
        // 100 files plus "." and "..".
        assert_eq!(count(&p[1]) + count(&p[2]), 102);
        assert_eq!(head(&p[3]).2, Some(Status::Eof as u32));
        // Entries carry an ls -l line ending in the name; "." and ".." come in readdir's order.
        let mut dots = 0;
        for batch in [&p[1], &p[2]] {
            let mut r = Reader::new(&batch[9..]);
            for _ in 0..count(batch) {
                let name = r.string().unwrap().to_vec();
                let long = r.string().unwrap();
                r.attrs().unwrap();
                assert!(long.ends_with(&name));
                let dot = name == b"." || name == b"..";
                dots += usize::from(dot);
                let want: &[u8] = if dot { b"d" } else { b"-rw" };
                assert!(long.starts_with(want), "{}", String::from_utf8_lossy(long));
            }
        }
        assert_eq!(dots, 2, "\".\" and \"..\" are listed");
        fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn truncated_input_is_an_error_exit() {
        let mut buf = Vec::new();
        Request::Init { version: 3 }.emit(0, &mut buf);
        buf.extend_from_slice(&[0, 0, 0, 50, 17]);
        let mut out = Vec::new();
        assert_eq!(serve(&mut &buf[..], &mut out), EXIT_IO);
        // A second INIT is a protocol error.
        let mut twice = Vec::new();
        Request::Init { version: 3 }.emit(0, &mut buf);
        twice.extend_from_slice(&buf);
        twice.extend_from_slice(&buf);
        assert_eq!(serve(&mut &twice[..], &mut Vec::new()), EXIT_PROTOCOL);
    }
}
