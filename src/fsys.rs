//! File-system calls std does not wrap, shared by the built-in SFTP server and scp.

use std::ffi::CString;
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

pub(crate) fn cpath(path: &Path) -> io::Result<CString> {
    CString::new(path.as_os_str().as_bytes())
        .map_err(|_| crate::ioerr::new(io::ErrorKind::InvalidInput, "path contains a NUL byte"))
}

/// Sets atime and mtime (whole seconds) of `path`, of the link itself when `follow` is false.
pub fn set_times(path: &Path, atime: i64, mtime: i64, follow: bool) -> io::Result<()> {
    let c = cpath(path)?;
    let ts = [timespec(atime), timespec(mtime)];
    let flags = if follow { 0 } else { libc::AT_SYMLINK_NOFOLLOW };
    // SAFETY: c is a valid C string; ts points to two timespecs.
    if unsafe { libc::utimensat(libc::AT_FDCWD, c.as_ptr(), ts.as_ptr(), flags) } != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// Whole seconds as a timespec (built field by field: with musl's 64-bit time_t on 32-bit
/// targets it has a private padding field).
fn timespec(secs: i64) -> libc::timespec {
    // SAFETY: timespec is plain old data; all zeroes is a valid value.
    let mut t: libc::timespec = unsafe { std::mem::zeroed() };
    t.tv_sec = secs as _;
    t
}

/// The real uid of this process.
pub fn uid() -> u32 {
    // SAFETY: getuid takes no arguments and cannot fail.
    unsafe { libc::getuid() }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::MetadataExt;

    #[test]
    fn file_times_after_2038() {
        // Past the 32-bit time_t limit (2039-09-19): on 32-bit musl this needs the libc crate
        // built for musl's 64-bit time_t (musl_time64 in targets/).
        let f = std::env::temp_dir().join(format!("quoll-fsys-{}", std::process::id()));
        std::fs::write(&f, b"x").unwrap();
        set_times(&f, 2_200_000_000, 2_200_000_001, true).unwrap();
        let m = std::fs::metadata(&f).unwrap();
        std::fs::remove_file(&f).unwrap();
        assert_eq!((m.atime(), m.mtime()), (2_200_000_000, 2_200_000_001));
    }
}
