//! Filesystem side of SFTP: paths as bytes, metadata as `Attrs`, `ls -l` lines, errno as
//! status codes. Everything runs as the session user; the kernel decides what is allowed.

#![forbid(unsafe_code)]

use super::proto::{
    Attrs, Status, FXF_APPEND, FXF_CREAT, FXF_EXCL, FXF_READ, FXF_TRUNC, FXF_WRITE,
};
use crate::sys::fsys::{self, OFlag, Stat};
use std::ffi::OsStr;
use std::fs::File;
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

/// A path from the wire. Bytes go to the kernel as they are: no shell, no decoding. An empty
/// path means the current (home) directory, as in OpenSSH.
pub fn path(bytes: &[u8]) -> &Path {
    if bytes.is_empty() {
        Path::new(".")
    } else {
        Path::new(OsStr::from_bytes(bytes))
    }
}

/// OPEN: `pflags` (`SSH_FXF_*`) as open(2) flags, checked and combined as std's OpenOptions
/// did (EXCL counts only with CREAT), so the errors for a senseless combination read the same.
pub fn open(path: &Path, pflags: u32, mode: u32) -> io::Result<File> {
    let on = |f: u32| pflags & f != 0;
    let (read, write, append) = (on(FXF_READ), on(FXF_WRITE), on(FXF_APPEND));
    let (create, truncate) = (on(FXF_CREAT), on(FXF_TRUNC));
    let create_new = create && on(FXF_EXCL);
    const NEEDS_WRITE: &str = "creating or truncating a file requires write or append access";
    if !write && !append {
        if create || truncate {
            return Err(crate::ioerr::new(io::ErrorKind::InvalidInput, NEEDS_WRITE));
        }
        if !read {
            return Err(crate::ioerr::new(
                io::ErrorKind::InvalidInput,
                "must specify at least one of read, write, or append access",
            ));
        }
    }
    if append && truncate && !create_new {
        return Err(crate::ioerr::new(io::ErrorKind::InvalidInput, NEEDS_WRITE));
    }
    let mut flags = match (read, write || append) {
        (true, true) => OFlag::O_RDWR,
        (false, true) => OFlag::O_WRONLY,
        _ => OFlag::O_RDONLY,
    };
    flags.set(OFlag::O_APPEND, append);
    if create_new {
        flags |= OFlag::O_CREAT | OFlag::O_EXCL;
    } else {
        flags.set(OFlag::O_CREAT, create);
        flags.set(OFlag::O_TRUNC, truncate);
    }
    fsys::open(path, flags, mode)
}

/// The status code and message for an OS error.
pub fn status_of(e: &io::Error) -> (Status, String) {
    let code = match e.raw_os_error() {
        Some(libc::ENOENT) | Some(libc::ENOTDIR) | Some(libc::ELOOP) | Some(libc::EBADF) => {
            Status::NoSuchFile
        }
        Some(libc::EPERM) | Some(libc::EACCES) | Some(libc::EROFS) => Status::PermissionDenied,
        Some(libc::ENOSYS) | Some(libc::EOPNOTSUPP) => Status::OpUnsupported,
        Some(_) => Status::Failure,
        None => match e.kind() {
            io::ErrorKind::NotFound => Status::NoSuchFile,
            io::ErrorKind::PermissionDenied => Status::PermissionDenied,
            _ => Status::Failure,
        },
    };
    (code, crate::ioerr::message(e))
}

pub fn attrs_of(m: &Stat) -> Attrs {
    Attrs {
        size: Some(m.size),
        uid_gid: Some((m.uid, m.gid)),
        permissions: Some(m.mode),
        // SFTP v3 times are 32-bit; clamp rather than wrap.
        times: Some((clamp_time(m.atime), clamp_time(m.mtime))),
    }
}

fn clamp_time(t: i64) -> u32 {
    t.clamp(0, i64::from(u32::MAX)) as u32
}

/// Applies `a` to `path` in OpenSSH's order: size, permissions, times, owner. `follow` false
/// is lsetstat: the link itself (Linux has no permissions on links, so those fail).
pub fn setstat(path: &Path, a: &Attrs, follow: bool) -> io::Result<()> {
    if let Some(size) = a.size {
        fsys::ftruncate(&fsys::open(path, OFlag::O_WRONLY, 0)?, size)?;
    }
    if let Some(p) = a.permissions {
        if !follow && fsys::lstat(path)?.is_symlink() {
            return Err(io::Error::from_raw_os_error(libc::EOPNOTSUPP));
        }
        fsys::chmod(path, p & 0o7777)?;
    }
    if let Some((at, mt)) = a.times {
        fsys::set_times(path, at.into(), mt.into(), follow)?;
    }
    if let Some((u, g)) = a.uid_gid {
        if follow {
            fsys::chown(path, u, g)?;
        } else {
            fsys::lchown(path, u, g)?;
        }
    }
    Ok(())
}

/// `setstat` on an open file.
pub fn fsetstat(f: &File, a: &Attrs) -> io::Result<()> {
    if let Some(size) = a.size {
        fsys::ftruncate(f, size)?;
    }
    if let Some(p) = a.permissions {
        fsys::fchmod(f, p & 0o7777)?;
    }
    if let Some((at, mt)) = a.times {
        fsys::set_file_times(f, at.into(), mt.into())?;
    }
    if let Some((u, g)) = a.uid_gid {
        std::os::unix::fs::fchown(f, Some(u), Some(g))?;
    }
    Ok(())
}

/// realpath(3), except that the last component need not exist (as OpenSSH's sftp-server:
/// clients resolve the name of a file they are about to create).
pub fn realpath(p: &Path) -> io::Result<PathBuf> {
    match fsys::realpath(p) {
        Ok(r) => Ok(r),
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            let (Some(parent), Some(name)) = (fsys::parent(p), fsys::file_name(p)) else {
                return Err(e);
            };
            let parent = if parent.as_os_str().is_empty() {
                Path::new(".")
            } else {
                parent
            };
            Ok(fsys::realpath(parent)?.join(name))
        }
        Err(e) => Err(e),
    }
}

/// `~` and `~user` at the start of `p` expanded (expand-path@openssh.com), then `realpath`.
pub fn expand_path(p: &[u8]) -> io::Result<PathBuf> {
    let Some(rest) = p.strip_prefix(b"~") else {
        return realpath(path(p));
    };
    let (user, tail) = match rest.iter().position(|&b| b == b'/') {
        Some(i) => (&rest[..i], &rest[i + 1..]),
        None => (rest, &b""[..]),
    };
    let home = if user.is_empty() {
        // Not $HOME: a built-in server still has quoll's environment.
        crate::accounts::users::by_uid(crate::sys::fsys::uid()).map(|u| PathBuf::from(u.home))
    } else {
        std::str::from_utf8(user)
            .ok()
            .and_then(crate::accounts::users::by_name)
            .map(|u| PathBuf::from(u.home))
    };
    let home = home.ok_or_else(|| io::Error::from_raw_os_error(libc::ENOENT))?;
    realpath(&home.join(OsStr::from_bytes(tail)))
}

/// Remembers the last uid and gid names looked up (a directory is usually one owner's).
#[derive(Default)]
pub struct Names {
    user: Option<(u32, String)>,
    group: Option<(u32, String)>,
}

impl Names {
    fn user(&mut self, uid: u32) -> &str {
        if self.user.as_ref().map(|(u, _)| *u) != Some(uid) {
            let name = crate::accounts::users::by_uid(uid)
                .map(|u| u.name)
                .unwrap_or_else(|| uid.to_string());
            self.user = Some((uid, name));
        }
        self.user.as_ref().map_or("", |(_, n)| n)
    }

    fn group(&mut self, gid: u32) -> &str {
        if self.group.as_ref().map(|(g, _)| *g) != Some(gid) {
            let name = crate::accounts::users::group_name(gid).unwrap_or_else(|| gid.to_string());
            self.group = Some((gid, name));
        }
        self.group.as_ref().map_or("", |(_, n)| n)
    }

    /// An `ls -l` line in OpenSSH's layout:
    /// `-rw-r--r--    1 user     group        1234 Jan  2 03:04 name` (strmode leaves a space).
    pub fn long_name(&mut self, name: &[u8], m: &Stat, now: SystemTime) -> Vec<u8> {
        let user = self.user(m.uid).to_string();
        let group = self.group(m.gid).to_string();
        let mut s = format!(
            "{}  {:>3} {:<8} {:<8} {:>8} {} ",
            mode_string(m.mode),
            m.nlink,
            user,
            group,
            m.size,
            ls_date(m.mtime, now)
        )
        .into_bytes();
        s.extend_from_slice(name);
        s
    }
}

/// `drwxr-xr-x`-style mode, with s/S/t/T for the special bits.
pub fn mode_string(mode: u32) -> String {
    let kind = match mode & libc::S_IFMT {
        libc::S_IFDIR => 'd',
        libc::S_IFLNK => 'l',
        libc::S_IFCHR => 'c',
        libc::S_IFBLK => 'b',
        libc::S_IFIFO => 'p',
        libc::S_IFSOCK => 's',
        _ => '-',
    };
    let bit = |m: u32, c: char| if mode & m != 0 { c } else { '-' };
    let special = |x: u32, s: u32, lower: char, upper: char| match (mode & x != 0, mode & s != 0) {
        (true, true) => lower,
        (false, true) => upper,
        (true, false) => 'x',
        (false, false) => '-',
    };
    [
        kind,
        bit(0o400, 'r'),
        bit(0o200, 'w'),
        special(0o100, 0o4000, 's', 'S'),
        bit(0o040, 'r'),
        bit(0o020, 'w'),
        special(0o010, 0o2000, 's', 'S'),
        bit(0o004, 'r'),
        bit(0o002, 'w'),
        special(0o001, 0o1000, 't', 'T'),
    ]
    .iter()
    .collect()
}

const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// `ls`'s date column (UTC): `Jan  2 03:04` within six months of `now`, else `Jan  2  2020`.
pub fn ls_date(mtime: i64, now: SystemTime) -> String {
    let now = now
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64);
    let (y, m, d) = crate::date::civil(mtime.div_euclid(86_400));
    let month = MONTHS[(m - 1) as usize];
    const HALF_YEAR: i64 = 365 * 86_400 / 2;
    if (now - mtime).abs() < HALF_YEAR {
        let secs = mtime.rem_euclid(86_400);
        format!("{month} {d:>2} {:02}:{:02}", secs / 3600, secs / 60 % 60)
    } else {
        format!("{month} {d:>2}  {y}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;
    use std::time::Duration;

    #[test]
    fn modes() {
        assert_eq!(mode_string(0o100644), "-rw-r--r--");
        assert_eq!(mode_string(0o40755), "drwxr-xr-x");
        assert_eq!(mode_string(0o41777), "drwxrwxrwt");
        assert_eq!(mode_string(0o104755), "-rwsr-xr-x");
        assert_eq!(mode_string(0o102644), "-rw-r-Sr--");
        assert_eq!(mode_string(0o120777), "lrwxrwxrwx");
    }

    #[test]
    fn dates() {
        let now = UNIX_EPOCH + Duration::from_secs(1_700_000_000); // 2023-11-14 22:13:20
        assert_eq!(ls_date(1_700_000_000, now), "Nov 14 22:13");
        assert_eq!(ls_date(0, now), "Jan  1  1970");
        assert_eq!(ls_date(951_782_400, now), "Feb 29  2000");
    }

    #[test]
    fn errors_map_to_status() {
        let s = |e| status_of(&io::Error::from_raw_os_error(e)).0;
        assert_eq!(s(libc::ENOENT), Status::NoSuchFile);
        assert_eq!(s(libc::EACCES), Status::PermissionDenied);
        assert_eq!(s(libc::EPERM), Status::PermissionDenied);
        assert_eq!(s(libc::ENOSPC), Status::Failure);
        let (_, msg) = status_of(&io::Error::from_raw_os_error(libc::EACCES));
        assert_eq!(msg, "Permission denied");
    }

    /// What an open left behind: the error text, or the access flags; and the file's size.
    fn open_outcome(r: io::Result<File>, p: &Path) -> (Result<i32, String>, Option<u64>) {
        use std::os::fd::AsRawFd;
        let r = r.map(|f| {
            let info = fs::read_to_string(format!("/proc/self/fdinfo/{}", f.as_raw_fd())).unwrap();
            let octal = info.lines().find_map(|l| l.strip_prefix("flags:")).unwrap();
            let fl = i32::from_str_radix(octal.trim(), 8).unwrap();
            fl & (OFlag::O_ACCMODE | OFlag::O_APPEND | OFlag::O_CLOEXEC).bits()
        });
        (
            r.map_err(|e| e.to_string()),
            fs::metadata(p).ok().map(|m| m.len()),
        )
    }

    #[test]
    fn open_flags_as_std_took_them() {
        use std::os::unix::fs::OpenOptionsExt;
        let dir = std::env::temp_dir().join(format!("quoll-sftp-open-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir(&dir).unwrap();
        for pflags in 0..64u32 {
            for existing in [false, true] {
                let (ours, theirs) = (dir.join("ours"), dir.join("theirs"));
                for p in [&ours, &theirs] {
                    let _ = fs::remove_file(p);
                    if existing {
                        fs::write(p, b"old").unwrap();
                    }
                }
                let on = |f: u32| pflags & f != 0;
                let std_result = fs::OpenOptions::new()
                    .read(on(FXF_READ))
                    .write(on(FXF_WRITE))
                    .append(on(FXF_APPEND))
                    .create(on(FXF_CREAT))
                    .truncate(on(FXF_TRUNC))
                    .create_new(on(FXF_CREAT) && on(FXF_EXCL))
                    .mode(0o600)
                    .open(&theirs);
                assert_eq!(
                    open_outcome(open(&ours, pflags, 0o600), &ours),
                    open_outcome(std_result, &theirs),
                    "flags {pflags:#x}, existing {existing}"
                );
            }
        }
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn paths_are_bytes() {
        assert_eq!(path(b""), Path::new("."));
        assert_eq!(path(b"a\xffb").as_os_str().as_bytes(), b"a\xffb");
    }
}
