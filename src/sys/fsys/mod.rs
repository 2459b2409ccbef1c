//! The file-system calls quoll makes, as thin wrappers of libc.
//!
//! std's own wrappers (OpenOptions, DirBuilder, read_dir, canonicalize, ...) each bring their
//! path-to-C-string glue and Path machinery, and OpenOptions's error values keep std's
//! escaping `Debug` code alive: 14 KB of the MIPS router build. These make the C string once
//! and leave errno in the error, so messages and SFTP status codes are the ones std gave.
//! Like std, they retry on EINTR where std did, and every descriptor is close-on-exec.
//! `parent`, `file_name` and `show` stand in for Path's methods of those names (`show` for
//! `display`): one call of std's brings its code back.

mod dir;
mod path;

pub use dir::Dir;
pub use path::{file_name, parent, show};

/// open(2)'s flags, typed (nix's bitflags over the `O_*` constants): what `open` takes.
pub use nix::fcntl::OFlag;

use std::ffi::{CStr, CString, OsStr, OsString};
use std::fs::File;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd};
use std::os::raw::{c_char, c_int};
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::path::{Path, PathBuf};

/// `path` as a C string. A NUL inside gets std's error, word for word.
pub(crate) fn cstr(path: &Path) -> io::Result<CString> {
    CString::new(path.as_os_str().as_bytes()).map_err(|_| {
        crate::ioerr::new(
            io::ErrorKind::InvalidInput,
            "file name contained an unexpected NUL byte",
        )
    })
}

/// A libc return value: -1 is the error in errno.
fn cvt(r: c_int) -> io::Result<c_int> {
    if r == -1 {
        Err(io::Error::last_os_error())
    } else {
        Ok(r)
    }
}

/// `cvt`, calling again while the call is interrupted by a signal (as std does for these).
fn cvt_r(mut call: impl FnMut() -> c_int) -> io::Result<c_int> {
    loop {
        match cvt(call()) {
            Err(e) if e.raw_os_error() == Some(libc::EINTR) => {}
            other => return other,
        }
    }
}

/// open(2) with `flags` (O_CLOEXEC is always added: quoll forks children, which must not
/// inherit its files) and `mode` for a file it creates.
pub fn open(path: &Path, flags: OFlag, mode: u32) -> io::Result<File> {
    let c = cstr(path)?;
    let fd = cvt_r(|| {
        // SAFETY: c is a valid C string; open returns a new descriptor or -1.
        unsafe { libc::open(c.as_ptr(), flags.bits() | libc::O_CLOEXEC, mode) }
    })?;
    // SAFETY: fd is a fresh descriptor that nothing else owns.
    Ok(unsafe { File::from_raw_fd(fd) })
}

/// `PATH.tmpPID`: the name this process writes a file under before moving it to `path`.
pub fn temp_path(path: &Path) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(format!(".tmp{}", std::process::id()));
    PathBuf::from(name)
}

/// Creates `tmp` (a `temp_path`) for writing: exclusively and never through a symlink
/// (O_EXCL|O_NOFOLLOW), with exactly `mode` whatever the umask. A file already there is
/// removed first (the link, not what it names): boards often boot to the same PIDs, so it
/// may be this program's own leftover from a power cut.
pub fn create_temp(tmp: &Path, mode: u32) -> io::Result<File> {
    let flags = OFlag::O_WRONLY | OFlag::O_CREAT | OFlag::O_EXCL | OFlag::O_NOFOLLOW;
    let file = match open(tmp, flags, mode) {
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
            unlink(tmp)?;
            open(tmp, flags, mode)?
        }
        other => other?,
    };
    // The umask may have taken bits off the mode asked for.
    fchmod(&file, mode)?;
    Ok(file)
}

/// What quoll uses of stat(2).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Stat {
    /// File type and permission bits (st_mode).
    pub mode: u32,
    pub uid: u32,
    pub gid: u32,
    pub nlink: u64,
    pub size: u64,
    pub atime: i64,
    pub mtime: i64,
}

impl Stat {
    pub fn is_dir(&self) -> bool {
        self.mode & libc::S_IFMT == libc::S_IFDIR
    }

    pub fn is_file(&self) -> bool {
        self.mode & libc::S_IFMT == libc::S_IFREG
    }

    pub fn is_symlink(&self) -> bool {
        self.mode & libc::S_IFMT == libc::S_IFLNK
    }
}

// The field types differ between targets (u32 on some 32-bit libcs, u64 elsewhere).
#[allow(clippy::unnecessary_cast)]
fn convert(s: &libc::stat) -> Stat {
    Stat {
        mode: s.st_mode as u32,
        uid: s.st_uid as u32,
        gid: s.st_gid as u32,
        nlink: s.st_nlink as u64,
        size: s.st_size as u64,
        atime: s.st_atime as i64,
        mtime: s.st_mtime as i64,
    }
}

fn empty_stat() -> libc::stat {
    // SAFETY: stat is plain old data; all zeroes is a valid value.
    unsafe { std::mem::zeroed() }
}

/// stat(2) when `follow`, else lstat(2) (the link itself).
fn stat_at(path: &Path, follow: bool) -> io::Result<Stat> {
    let c = cstr(path)?;
    let mut s = empty_stat();
    let flags = if follow { 0 } else { libc::AT_SYMLINK_NOFOLLOW };
    // SAFETY: c is a valid C string and s a valid out-pointer.
    cvt(unsafe { libc::fstatat(libc::AT_FDCWD, c.as_ptr(), &mut s, flags) })?;
    Ok(convert(&s))
}

/// stat(2): symlinks followed.
pub fn stat(path: &Path) -> io::Result<Stat> {
    stat_at(path, true)
}

/// lstat(2): a symlink itself.
pub fn lstat(path: &Path) -> io::Result<Stat> {
    stat_at(path, false)
}

/// fstat(2) of an open file.
pub fn fstat(file: &File) -> io::Result<Stat> {
    let mut s = empty_stat();
    // SAFETY: the descriptor is open for the call; s is a valid out-pointer.
    cvt(unsafe { libc::fstat(file.as_raw_fd(), &mut s) })?;
    Ok(convert(&s))
}

/// One path in, 0 or -1 out.
fn path_call(path: &Path, call: unsafe extern "C" fn(*const c_char) -> c_int) -> io::Result<()> {
    let c = cstr(path)?;
    // SAFETY: c is a valid C string, the only argument of `call`.
    cvt(unsafe { call(c.as_ptr()) }).map(drop)
}

/// Two paths in, 0 or -1 out.
fn two_path_call(
    from: &Path,
    to: &Path,
    call: unsafe extern "C" fn(*const c_char, *const c_char) -> c_int,
) -> io::Result<()> {
    let (from, to) = (cstr(from)?, cstr(to)?);
    // SAFETY: both are valid C strings, the only arguments of `call`.
    cvt(unsafe { call(from.as_ptr(), to.as_ptr()) }).map(drop)
}

pub fn unlink(path: &Path) -> io::Result<()> {
    path_call(path, libc::unlink)
}

pub fn rmdir(path: &Path) -> io::Result<()> {
    path_call(path, libc::rmdir)
}

/// unlinkat(2): removes `name` from the open directory `dir`, whatever has become of the
/// path `dir` was opened by (a name with a `/` is refused: it could lead elsewhere).
pub fn unlink_at(dir: &File, name: &Path) -> io::Result<()> {
    if name.as_os_str().as_bytes().contains(&b'/') {
        return Err(io::Error::from_raw_os_error(libc::EINVAL));
    }
    let c = cstr(name)?;
    // SAFETY: the descriptor is open for the call; c is a valid C string.
    cvt(unsafe { libc::unlinkat(dir.as_raw_fd(), c.as_ptr(), 0) }).map(drop)
}

/// mkdir(2): `mode` less the umask.
pub fn mkdir(path: &Path, mode: u32) -> io::Result<()> {
    let c = cstr(path)?;
    // SAFETY: c is a valid C string.
    cvt(unsafe { libc::mkdir(c.as_ptr(), mode) }).map(drop)
}

/// `mkdir -p`: `path` and whichever of its parents are missing, each made with `mode` (less
/// the umask); an existing directory is success. std's create_dir_all, step for step: up
/// while mkdir says ENOENT, then down again.
pub fn mkdir_all(path: &Path, mode: u32) -> io::Result<()> {
    let Some(up) = parent(path) else {
        return Ok(()); // "" and "/"
    };
    let exists_as_dir = |e: &io::Error| {
        e.kind() == io::ErrorKind::AlreadyExists && stat(path).is_ok_and(|s| s.is_dir())
    };
    match mkdir(path, mode) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(e) if !exists_as_dir(&e) => return Err(e),
        _ => return Ok(()),
    }
    mkdir_all(up, mode)?;
    match mkdir(path, mode) {
        Err(e) if !exists_as_dir(&e) => Err(e),
        _ => Ok(()),
    }
}

pub fn rename(from: &Path, to: &Path) -> io::Result<()> {
    two_path_call(from, to, libc::rename)
}

/// A hard link `to` naming `from` (link(2); `from` itself if it is a symlink, as std's
/// hard_link, which uses linkat without AT_SYMLINK_FOLLOW).
pub fn link(from: &Path, to: &Path) -> io::Result<()> {
    unsafe extern "C" fn link_here(from: *const c_char, to: *const c_char) -> c_int {
        // SAFETY: the caller passes two valid C strings.
        unsafe { libc::linkat(libc::AT_FDCWD, from, libc::AT_FDCWD, to, 0) }
    }
    two_path_call(from, to, link_here)
}

/// A symlink `link` whose target is `target`.
#[cfg(feature = "sftp")]
pub fn symlink(target: &Path, link: &Path) -> io::Result<()> {
    two_path_call(target, link, libc::symlink)
}

/// The target of the symlink `path`.
#[cfg(feature = "sftp")]
pub fn readlink(path: &Path) -> io::Result<PathBuf> {
    let c = cstr(path)?;
    let mut buf = vec![0u8; 256];
    loop {
        // SAFETY: c is a valid C string; buf has buf.len() writable bytes.
        let n = unsafe { libc::readlink(c.as_ptr(), buf.as_mut_ptr().cast(), buf.len()) };
        if n < 0 {
            return Err(io::Error::last_os_error());
        }
        let n = n as usize;
        // A full buffer may be a cut-off target: try again with more room.
        if n < buf.len() {
            buf.truncate(n);
            return Ok(PathBuf::from(OsString::from_vec(buf)));
        }
        buf.resize(buf.len() * 2, 0);
    }
}

/// realpath(3): absolute, symlinks resolved, every component existing.
pub fn realpath(path: &Path) -> io::Result<PathBuf> {
    let c = cstr(path)?;
    // SAFETY: c is a valid C string; with a null buffer realpath mallocs the result.
    let r = unsafe { libc::realpath(c.as_ptr(), std::ptr::null_mut()) };
    if r.is_null() {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: r is the NUL-terminated string realpath returned, ours to read and free.
    let bytes = unsafe { CStr::from_ptr(r) }.to_bytes().to_vec();
    // SAFETY: r came from malloc and is not used after this.
    unsafe { libc::free(r.cast()) };
    Ok(PathBuf::from(OsString::from_vec(bytes)))
}

/// chmod(2), following symlinks.
pub fn chmod(path: &Path, mode: u32) -> io::Result<()> {
    let c = cstr(path)?;
    // SAFETY: c is a valid C string.
    cvt_r(|| unsafe { libc::chmod(c.as_ptr(), mode) }).map(drop)
}

pub fn fchmod(file: &File, mode: u32) -> io::Result<()> {
    // SAFETY: the descriptor is open for the call.
    cvt_r(|| unsafe { libc::fchmod(file.as_raw_fd(), mode) }).map(drop)
}

/// chown(2) when `follow`, else lchown(2).
fn chown_at(path: &Path, uid: u32, gid: u32, follow: bool) -> io::Result<()> {
    let c = cstr(path)?;
    let flags = if follow { 0 } else { libc::AT_SYMLINK_NOFOLLOW };
    // SAFETY: c is a valid C string.
    cvt(unsafe { libc::fchownat(libc::AT_FDCWD, c.as_ptr(), uid, gid, flags) }).map(drop)
}

/// chown(2), following symlinks.
pub fn chown(path: &Path, uid: u32, gid: u32) -> io::Result<()> {
    chown_at(path, uid, gid, true)
}

/// lchown(2): a symlink itself.
#[cfg(feature = "sftp")]
pub fn lchown(path: &Path, uid: u32, gid: u32) -> io::Result<()> {
    chown_at(path, uid, gid, false)
}

/// ftruncate(2). A size past i64 is refused with std's error.
#[cfg(any(feature = "sftp", feature = "scp"))]
pub fn ftruncate(file: &File, size: u64) -> io::Result<()> {
    let size = i64::try_from(size).map_err(|_| {
        crate::ioerr::new(
            io::ErrorKind::InvalidInput,
            "out of range integral type conversion attempted",
        )
    })?;
    // SAFETY: the descriptor is open for the call.
    cvt_r(|| unsafe { libc::ftruncate(file.as_raw_fd(), size) }).map(drop)
}

/// pread(2) at `offset`, EINTR retried: the bytes read (fewer at the end of the file).
pub fn read_at(file: &File, buf: &mut [u8], offset: u64) -> io::Result<usize> {
    loop {
        // SAFETY: the descriptor is open for the call; buf has buf.len() writable bytes.
        let n = unsafe {
            libc::pread(
                file.as_raw_fd(),
                buf.as_mut_ptr().cast(),
                buf.len(),
                offset as i64,
            )
        };
        if n >= 0 {
            return Ok(n as usize);
        }
        let e = io::Error::last_os_error();
        if e.raw_os_error() != Some(libc::EINTR) {
            return Err(e);
        }
    }
}

/// pwrite(2) until all of `buf` is at `offset`, as std's `FileExt::write_all_at`: EINTR is
/// retried, a write of nothing is std's WriteZero error, and an offset past i64::MAX turns
/// negative as in std (pwrite says EINVAL).
pub fn write_all_at(file: &File, mut buf: &[u8], mut offset: u64) -> io::Result<()> {
    while !buf.is_empty() {
        // SAFETY: the descriptor is open for the call; buf has buf.len() readable bytes.
        let n = unsafe {
            libc::pwrite(
                file.as_raw_fd(),
                buf.as_ptr().cast(),
                buf.len(),
                offset as i64,
            )
        };
        match n {
            -1 => {
                let e = io::Error::last_os_error();
                if e.raw_os_error() != Some(libc::EINTR) {
                    return Err(e);
                }
            }
            0 => {
                return Err(crate::ioerr::new(
                    io::ErrorKind::WriteZero,
                    "failed to write whole buffer",
                ))
            }
            n => {
                buf = &buf[n as usize..];
                offset += n as u64;
            }
        }
    }
    Ok(())
}

pub fn fsync(file: &File) -> io::Result<()> {
    // SAFETY: the descriptor is open for the call.
    cvt_r(|| unsafe { libc::fsync(file.as_raw_fd()) }).map(drop)
}

/// Sets atime and mtime (whole seconds) of `path`, of the link itself when `follow` is false.
#[cfg(any(feature = "sftp", feature = "scp"))]
pub fn set_times(path: &Path, atime: i64, mtime: i64, follow: bool) -> io::Result<()> {
    let c = cstr(path)?;
    let ts = [timespec(atime), timespec(mtime)];
    let flags = if follow { 0 } else { libc::AT_SYMLINK_NOFOLLOW };
    // SAFETY: c is a valid C string; ts points to two timespecs.
    cvt(unsafe { libc::utimensat(libc::AT_FDCWD, c.as_ptr(), ts.as_ptr(), flags) }).map(drop)
}

/// Sets atime and mtime (whole seconds) of an open file.
#[cfg(feature = "sftp")]
pub fn set_file_times(file: &File, atime: i64, mtime: i64) -> io::Result<()> {
    let ts = [timespec(atime), timespec(mtime)];
    // SAFETY: the descriptor is open for the call; ts points to two timespecs.
    cvt(unsafe { libc::futimens(file.as_raw_fd(), ts.as_ptr()) }).map(drop)
}

/// Whole seconds as a timespec (built field by field: with musl's 64-bit time_t on 32-bit
/// targets it has a private padding field).
#[cfg(any(feature = "sftp", feature = "scp"))]
fn timespec(secs: i64) -> libc::timespec {
    // SAFETY: timespec is plain old data; all zeroes is a valid value.
    let mut t: libc::timespec = unsafe { std::mem::zeroed() };
    t.tv_sec = secs as _;
    t
}

/// mkdtemp(3): a new directory, mode 0700, named by `template` (a path ending in `XXXXXX`
/// and a NUL, as C has it) with the X's replaced.
pub fn mkdtemp(template: &mut [u8]) -> io::Result<PathBuf> {
    let Some((0, name)) = template.split_last_mut() else {
        return Err(io::Error::from_raw_os_error(libc::EINVAL));
    };
    // SAFETY: name is writable and followed by template's NUL, as mkdtemp requires.
    if unsafe { libc::mkdtemp(name.as_mut_ptr().cast::<c_char>()) }.is_null() {
        return Err(io::Error::last_os_error());
    }
    Ok(PathBuf::from(OsStr::from_bytes(name)))
}

// moved: see sys::ids (the old paths, still used by hostkey.rs and scp.rs).
pub use super::ids::{euid, uid};

#[cfg(test)]
mod tests;
