//! passwd lookups.

use std::ffi::{CStr, CString};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    pub name: String,
    pub uid: u32,
    pub gid: u32,
    pub home: String,
    /// Login shell; `/bin/sh` when the passwd field is empty.
    pub shell: String,
}

/// First buffer size for the string fields of a passwd entry; doubled on ERANGE.
const INITIAL_BUF: usize = 1024;
/// A passwd line longer than this is not a user we want to log in.
const MAX_BUF: usize = 64 * 1024;

/// getpwnam_r
pub fn by_name(name: &str) -> Option<User> {
    // A name with a NUL byte cannot be in passwd (and must not be truncated into one that is).
    let cname = CString::new(name).ok()?;
    lookup(|(pwd, buf, len, result)| {
        // SAFETY: all pointers are valid for the call; buf has `len` writable bytes.
        unsafe { libc::getpwnam_r(cname.as_ptr(), pwd, buf, len, result) }
    })
}

/// getpwuid_r
pub fn by_uid(uid: u32) -> Option<User> {
    lookup(|(pwd, buf, len, result)| {
        // SAFETY: all pointers are valid for the call; buf has `len` writable bytes.
        unsafe { libc::getpwuid_r(uid, pwd, buf, len, result) }
    })
}

/// The shape shared by getpwnam_r and getpwuid_r once the key is bound.
type GetpwArgs = (
    *mut libc::passwd,
    *mut libc::c_char,
    usize,
    *mut *mut libc::passwd,
);

/// Runs a getpw*_r call, growing the string buffer on ERANGE up to `MAX_BUF`.
fn lookup(call: impl Fn(GetpwArgs) -> i32) -> Option<User> {
    let mut size = INITIAL_BUF;
    loop {
        let mut buf = vec![0 as libc::c_char; size];
        // SAFETY: passwd is plain old data; an all-zero value is valid (null pointers).
        let mut pwd: libc::passwd = unsafe { std::mem::zeroed() };
        let mut result: *mut libc::passwd = std::ptr::null_mut();
        let rc = call((&mut pwd, buf.as_mut_ptr(), buf.len(), &mut result));
        if rc == libc::ERANGE && size < MAX_BUF {
            size *= 2;
            continue;
        }
        if rc != 0 || result.is_null() {
            // Not found, or an error (e.g. NSS unavailable): either way, no such user.
            return None;
        }
        return convert(&pwd);
    }
}

/// getgrnam_r: the gid of a group (e.g. `tty`, which owns terminals).
pub fn group_id(name: &str) -> Option<u32> {
    let cname = CString::new(name).ok()?;
    let mut size = INITIAL_BUF;
    loop {
        let mut buf = vec![0 as libc::c_char; size];
        // SAFETY: group is plain old data; an all-zero value is valid (null pointers).
        let mut grp: libc::group = unsafe { std::mem::zeroed() };
        let mut result: *mut libc::group = std::ptr::null_mut();
        // SAFETY: all pointers are valid for the call; buf has buf.len() writable bytes.
        let rc = unsafe {
            libc::getgrnam_r(
                cname.as_ptr(),
                &mut grp,
                buf.as_mut_ptr(),
                buf.len(),
                &mut result,
            )
        };
        if rc == libc::ERANGE && size < MAX_BUF {
            size *= 2;
            continue;
        }
        return (rc == 0 && !result.is_null()).then_some(grp.gr_gid);
    }
}

/// Is `user` (primary group `gid`) a member of group `group`? (getgrouplist)
pub fn in_group(user: &str, gid: u32, group: u32) -> bool {
    if gid == group {
        return true;
    }
    let Ok(cname) = CString::new(user) else {
        return false;
    };
    let mut n: libc::c_int = 64;
    loop {
        let mut groups = vec![0 as libc::gid_t; n as usize];
        let before = n;
        // SAFETY: groups has n writable entries; n is updated to the count needed.
        let rc = unsafe { libc::getgrouplist(cname.as_ptr(), gid, groups.as_mut_ptr(), &mut n) };
        if rc >= 0 {
            return groups[..n.max(0) as usize].contains(&group);
        }
        if n <= before {
            n = before * 2;
        }
        if n > 65536 {
            return false;
        }
    }
}

/// Copies the fields we need out of the C struct while `buf` is still alive.
fn convert(pwd: &libc::passwd) -> Option<User> {
    let field = |p: *const libc::c_char| -> Option<String> {
        if p.is_null() {
            return Some(String::new());
        }
        // SAFETY: a successful getpw*_r points the fields at NUL-terminated strings in buf.
        let s = unsafe { CStr::from_ptr(p) };
        // Non-UTF-8 names, homes or shells are refused rather than mangled.
        s.to_str().ok().map(str::to_owned)
    };
    let name = field(pwd.pw_name)?;
    let home = field(pwd.pw_dir)?;
    let mut shell = field(pwd.pw_shell)?;
    if shell.is_empty() {
        // passwd(5): an empty shell field means /bin/sh.
        shell = "/bin/sh".to_owned();
    }
    Some(User {
        name,
        uid: pwd.pw_uid,
        gid: pwd.pw_gid,
        home,
        shell,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn root_by_name_and_uid() {
        let r = by_name("root").expect("root exists");
        assert_eq!(r.uid, 0);
        assert_eq!(r.gid, 0);
        assert!(!r.shell.is_empty());
        assert_eq!(by_uid(0), Some(r));
    }

    #[test]
    fn unknown_and_bad_names() {
        assert_eq!(by_name("no-such-user-quoll-test"), None);
        assert_eq!(by_name("ro\0ot"), None);
        assert_eq!(by_name(""), None);
    }

    #[test]
    fn groups() {
        assert!(in_group("root", 0, 0));
        assert_eq!(group_id("root"), Some(0));
        assert_eq!(group_id("no-such-group-quoll-test"), None);
    }

    #[test]
    fn current_user_round_trips() {
        // SAFETY: getuid cannot fail.
        let uid = unsafe { libc::getuid() };
        if let Some(u) = by_uid(uid) {
            assert_eq!(by_name(&u.name).map(|v| v.uid), Some(uid));
        }
    }
}
