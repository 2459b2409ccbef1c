//! The C library's account lookups (glibc builds: NSS sources such as LDAP or sssd work):
//! getpwnam_r, getpwuid_r, getgrnam_r, getgrouplist. musl builds read the files themselves
//! (`accounts::users`).

use std::ffi::{CStr, CString};

/// The fields of a passwd entry quoll uses, as the C library gave them (`accounts::users`
/// makes a `User` of it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Passwd {
    pub name: String,
    pub uid: u32,
    pub gid: u32,
    pub home: String,
    /// As in the entry: may be empty.
    pub shell: String,
}

/// First buffer size for the string fields of a passwd entry; doubled on ERANGE.
const INITIAL_BUF: usize = 1024;
/// A passwd line longer than this is not a user we want to log in.
const MAX_BUF: usize = 64 * 1024;

/// getpwnam_r
pub fn by_name(name: &str) -> std::io::Result<Option<Passwd>> {
    let Ok(cname) = CString::new(name) else {
        return Ok(None);
    };
    lookup(|(pwd, buf, len, result)| {
        // SAFETY: all pointers are valid for the call; buf has `len` writable bytes.
        unsafe { libc::getpwnam_r(cname.as_ptr(), pwd, buf, len, result) }
    })
}

/// getpwuid_r
pub fn by_uid(uid: u32) -> Option<Passwd> {
    lookup(|(pwd, buf, len, result)| {
        // SAFETY: all pointers are valid for the call; buf has `len` writable bytes.
        unsafe { libc::getpwuid_r(uid, pwd, buf, len, result) }
    })
    .ok()
    .flatten()
}

/// The shape shared by getpwnam_r and getpwuid_r once the key is bound.
type GetpwArgs = (
    *mut libc::passwd,
    *mut libc::c_char,
    usize,
    *mut *mut libc::passwd,
);

/// Runs a getpw*_r call, growing the string buffer on ERANGE up to `MAX_BUF`.
fn lookup(call: impl Fn(GetpwArgs) -> i32) -> std::io::Result<Option<Passwd>> {
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
        // getpwnam_r(3): 0 with no result, ENOENT or ESRCH mean "not found"; anything
        // else is an error reading the database.
        if rc == libc::ENOENT || rc == libc::ESRCH || (rc == 0 && result.is_null()) {
            return Ok(None);
        }
        if rc != 0 {
            return Err(std::io::Error::from_raw_os_error(rc));
        }
        return Ok(convert(&pwd));
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

/// getgrouplist, bounded by `ids::MAX_GROUPS`.
pub fn groups(user: &str, gid: u32) -> Option<Vec<u32>> {
    let cname = CString::new(user).ok()?;
    let mut n = super::ids::MAX_GROUPS as libc::c_int;
    let mut groups = vec![0 as libc::gid_t; n as usize];
    // SAFETY: groups has n writable entries; n is updated to the count found.
    let rc = unsafe { libc::getgrouplist(cname.as_ptr(), gid, groups.as_mut_ptr(), &mut n) };
    if rc < 0 {
        return None;
    }
    groups.truncate(usize::try_from(n).ok()?);
    Some(groups)
}

/// Copies the fields we need out of the C struct while `buf` is still alive.
fn convert(pwd: &libc::passwd) -> Option<Passwd> {
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
    let shell = field(pwd.pw_shell)?;
    Some(Passwd {
        name,
        uid: pwd.pw_uid,
        gid: pwd.pw_gid,
        home,
        shell,
    })
}
