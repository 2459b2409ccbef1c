//! Directory listings: opendir(3) and readdir(3), names as bytes.

use std::ffi::CStr;
use std::io;
use std::path::Path;
use std::ptr::NonNull;

/// An open directory stream (close-on-exec, as opendir makes it). Iterating yields every entry
/// name in readdir(3)'s order, "." and ".." included (SFTP lists them, as OpenSSH's
/// sftp-server does). A read error is yielded once and ends the listing, as with std.
pub struct Dir {
    dirp: NonNull<libc::DIR>,
    done: bool,
}

impl Dir {
    pub fn open(path: &Path) -> io::Result<Dir> {
        let c = super::cstr(path)?;
        // SAFETY: c is a valid C string; opendir returns a new stream or null.
        let dirp = unsafe { libc::opendir(c.as_ptr()) };
        match NonNull::new(dirp) {
            Some(dirp) => Ok(Dir { dirp, done: false }),
            None => Err(io::Error::last_os_error()),
        }
    }
}

impl Iterator for Dir {
    type Item = io::Result<Vec<u8>>;

    fn next(&mut self) -> Option<io::Result<Vec<u8>>> {
        if !self.done {
            // readdir returns null at the end and on an error; only errno tells them apart.
            // SAFETY: __errno_location points to this thread's errno.
            unsafe { *libc::__errno_location() = 0 };
            // SAFETY: dirp is an open stream, used by nothing else.
            let entry = unsafe { libc::readdir(self.dirp.as_ptr()) };
            if entry.is_null() {
                self.done = true;
                let e = io::Error::last_os_error();
                return (e.raw_os_error() != Some(0)).then_some(Err(e));
            }
            // SAFETY: entry points to a dirent valid until the next readdir on this stream;
            // d_name is NUL-terminated. Only the field's address is taken: the record may be
            // shorter than the struct.
            let name = unsafe { CStr::from_ptr((&raw const (*entry).d_name).cast()) }.to_bytes();
            return Some(Ok(name.to_vec()));
        }
        None
    }
}

impl Drop for Dir {
    fn drop(&mut self) {
        // SAFETY: dirp is an open stream, closed once here and never used again.
        unsafe { libc::closedir(self.dirp.as_ptr()) };
    }
}
