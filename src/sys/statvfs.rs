//! statvfs and fstatvfs, which std does not wrap.

use super::fsys::cstr;
use crate::sftp::proto::{StatVfs, STATVFS_NOSUID, STATVFS_RDONLY};
use std::io;
use std::os::fd::AsRawFd;
use std::path::Path;

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
    let c = cstr(path)?;
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
