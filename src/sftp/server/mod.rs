//! The SFTP request loop: read a packet, parse it, act on the filesystem, write the reply.
//!
//! Blocking I/O on the child's stdin/stdout. Memory is fixed: one input buffer of
//! `MAX_PACKET`, one output buffer, `MAX_HANDLES` handle slots. A packet that does not parse
//! gets a BAD_MESSAGE status and ends the subsystem; a lying packet length ends it too.
//!
//! `handles.rs` keeps the table of open files and directories and answers the requests that
//! read through them (READ, READDIR); this file runs the loop and answers the rest.

#![forbid(unsafe_code)]

mod handles;
#[cfg(test)]
mod tests;

use super::fs::{self as sfs, Names};
use super::proto::{
    Attrs, Limits, NameEntry, Reply, Request, StatVfs, Status, STATVFS_NOSUID, STATVFS_RDONLY,
};
use crate::config::{SFTP_MAX_HANDLES, SFTP_MAX_PACKET, SFTP_MAX_READ};
use crate::sys::fsys::{self, Dir, Stat};
use handles::Handle;
use std::io::{self, Read, Write};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::FileExt;
use std::path::PathBuf;

/// Directory entries per READDIR reply (each well under 1 KiB: names are at most 255 bytes).
const READDIR_BATCH: usize = 64;

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
