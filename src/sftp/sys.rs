//! The few system calls std does not wrap: statvfs, fstatvfs, utimensat on a path.

use super::proto::{StatVfs, STATVFS_NOSUID, STATVFS_RDONLY};
use std::ffi::CString;
use std::io;
use std::os::fd::AsRawFd;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

fn cpath(path: &Path) -> io::Result<CString> {
    CString::new(path.as_os_str().as_bytes())
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "path contains a NUL byte"))
}

// The field types differ between targets (u32 on some 32-bit libcs, u64 elsewhere).
#[allow(clippy::unnecessary_cast)]
fn convert(s: &libc::statvfs) -> StatVfs {
    let mut flag = 0;
    if s.f_flag & libc::ST_RDONLY != 0 {
        flag |= STATVFS_RDONLY;
    }
    if s.f_flag & libc::ST_NOSUID != 0 {
        flag |= STATVFS_NOSUID;
    }
    StatVfs {
        bsize: s.f_bsize as u64,
        frsize: s.f_frsize as u64,
        blocks: s.f_blocks as u64,
        bfree: s.f_bfree as u64,
        bavail: s.f_bavail as u64,
        files: s.f_files as u64,
        ffree: s.f_ffree as u64,
        favail: s.f_favail as u64,
        fsid: s.f_fsid as u64,
        flag,
        namemax: s.f_namemax as u64,
    }
}

pub fn statvfs(path: &Path) -> io::Result<StatVfs> {
    let c = cpath(path)?;
    // SAFETY: statvfs is plain old data; all-zero is a valid value.
    let mut s: libc::statvfs = unsafe { std::mem::zeroed() };
    // SAFETY: c is a valid C string and s a valid out-pointer.
    if unsafe { libc::statvfs(c.as_ptr(), &mut s) } != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(convert(&s))
}

pub fn fstatvfs(fd: &impl AsRawFd) -> io::Result<StatVfs> {
    // SAFETY: as in `statvfs`.
    let mut s: libc::statvfs = unsafe { std::mem::zeroed() };
    // SAFETY: fd is open for the duration of the call; s is a valid out-pointer.
    if unsafe { libc::fstatvfs(fd.as_raw_fd(), &mut s) } != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(convert(&s))
}

/// Sets atime and mtime (whole seconds) of `path`, of the link itself when `follow` is false.
pub fn set_times(path: &Path, atime: i64, mtime: i64, follow: bool) -> io::Result<()> {
    let c = cpath(path)?;
    let ts = [
        libc::timespec {
            tv_sec: atime as libc::time_t,
            tv_nsec: 0,
        },
        libc::timespec {
            tv_sec: mtime as libc::time_t,
            tv_nsec: 0,
        },
    ];
    let flags = if follow { 0 } else { libc::AT_SYMLINK_NOFOLLOW };
    // SAFETY: c is a valid C string; ts points to two timespecs.
    if unsafe { libc::utimensat(libc::AT_FDCWD, c.as_ptr(), ts.as_ptr(), flags) } != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// The real uid of this process.
pub fn uid() -> u32 {
    // SAFETY: getuid takes no arguments and cannot fail.
    unsafe { libc::getuid() }
}
