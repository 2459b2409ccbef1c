//! statvfs and fstatvfs, which std does not wrap.

use super::fsys::cstr;
use nix::sys::statvfs::{FsFlags, Statvfs};
use std::io;
use std::os::fd::AsFd;
use std::path::Path;

/// What statvfs(3) says of a file system, widened to u64 (SFTP's `statvfs@openssh.com`
/// reply is made of it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FsStats {
    pub bsize: u64,
    pub frsize: u64,
    pub blocks: u64,
    pub bfree: u64,
    pub bavail: u64,
    pub files: u64,
    pub ffree: u64,
    pub favail: u64,
    pub fsid: u64,
    pub namemax: u64,
    /// Mounted read-only (ST_RDONLY).
    pub read_only: bool,
    /// Mounted nosuid (ST_NOSUID).
    pub nosuid: bool,
}

// The field types differ between targets (u32 on some 32-bit libcs, u64 elsewhere).
#[allow(clippy::unnecessary_cast)]
fn convert(s: &Statvfs) -> FsStats {
    FsStats {
        bsize: s.block_size() as u64,
        frsize: s.fragment_size() as u64,
        blocks: s.blocks() as u64,
        bfree: s.blocks_free() as u64,
        bavail: s.blocks_available() as u64,
        files: s.files() as u64,
        ffree: s.files_free() as u64,
        favail: s.files_available() as u64,
        fsid: s.filesystem_id() as u64,
        namemax: s.name_max() as u64,
        read_only: s.flags().contains(FsFlags::ST_RDONLY),
        nosuid: s.flags().contains(FsFlags::ST_NOSUID),
    }
}

pub fn statvfs(path: &Path) -> io::Result<FsStats> {
    // The C string is made as for every other path call (fsys::cstr: same error for a NUL).
    let c = cstr(path)?;
    Ok(convert(&nix::sys::statvfs::statvfs(c.as_c_str())?))
}

pub fn fstatvfs(fd: &impl AsFd) -> io::Result<FsStats> {
    Ok(convert(&nix::sys::statvfs::fstatvfs(fd)?))
}
