//! statvfs and fstatvfs, which std does not wrap.

use super::fsys::cstr;
use crate::sftp::proto::{StatVfs, STATVFS_NOSUID, STATVFS_RDONLY};
use nix::sys::statvfs::{FsFlags, Statvfs};
use std::io;
use std::os::fd::AsFd;
use std::path::Path;

// The field types differ between targets (u32 on some 32-bit libcs, u64 elsewhere).
#[allow(clippy::unnecessary_cast)]
fn convert(s: &Statvfs) -> StatVfs {
    let mut flag = 0;
    if s.flags().contains(FsFlags::ST_RDONLY) {
        flag |= STATVFS_RDONLY;
    }
    if s.flags().contains(FsFlags::ST_NOSUID) {
        flag |= STATVFS_NOSUID;
    }
    StatVfs {
        bsize: s.block_size() as u64,
        frsize: s.fragment_size() as u64,
        blocks: s.blocks() as u64,
        bfree: s.blocks_free() as u64,
        bavail: s.blocks_available() as u64,
        files: s.files() as u64,
        ffree: s.files_free() as u64,
        favail: s.files_available() as u64,
        fsid: s.filesystem_id() as u64,
        flag,
        namemax: s.name_max() as u64,
    }
}

pub fn statvfs(path: &Path) -> io::Result<StatVfs> {
    // The C string is made as for every other path call (fsys::cstr: same error for a NUL).
    let c = cstr(path)?;
    Ok(convert(&nix::sys::statvfs::statvfs(c.as_c_str())?))
}

pub fn fstatvfs(fd: &impl AsFd) -> io::Result<StatVfs> {
    Ok(convert(&nix::sys::statvfs::fstatvfs(fd)?))
}
