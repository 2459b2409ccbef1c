//! Password checks: the user's hash from `/etc/shadow` (or the passwd field when it is not
//! `x`), crypt(3), a constant-time comparison. The typed password is never copied except into
//! one C string that is zeroed after use.
//!
//! musl's crypt knows md5 `$1$`, sha256 `$5$`, sha512 `$6$`, bcrypt `$2b$` and DES, not
//! yescrypt `$y$`; glibc builds link libcrypt (libxcrypt), which knows all of them.

use std::ffi::{CStr, CString};
use std::os::raw::c_char;
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

#[cfg_attr(target_env = "gnu", link(name = "crypt"))]
extern "C" {
    fn crypt(key: *const c_char, salt: *const c_char) -> *mut c_char;
}

/// What the password database says about a user's password.
#[derive(Debug, PartialEq, Eq)]
pub enum Hash {
    /// A crypt(3) hash to compare against.
    Crypt(String),
    /// Locked (`!`, `*` prefixes, or no usable entry).
    Locked,
    /// The field is empty: no password at all.
    Blank,
}

/// The second field of `name`'s line in a colon-separated file (`/etc/shadow`, `/etc/passwd`).
fn field_of(text: &str, name: &str) -> Option<String> {
    text.lines().find_map(|l| {
        let mut it = l.split(':');
        (it.next() == Some(name)).then(|| it.next().unwrap_or("").to_string())
    })
}

/// The user's password hash: `/etc/shadow` first, the passwd field when that is not `x`.
pub fn hash_of(name: &str) -> Hash {
    let passwd = std::fs::read_to_string("/etc/passwd").unwrap_or_default();
    let mut field = field_of(&passwd, name);
    if field.as_deref() == Some("x") || field.is_none() {
        let shadow = Zeroizing::new(std::fs::read_to_string("/etc/shadow").unwrap_or_default());
        field = field_of(&shadow, name);
    }
    classify(field.as_deref())
}

fn classify(field: Option<&str>) -> Hash {
    match field {
        None => Hash::Locked,
        Some("") => Hash::Blank,
        Some(f) if f.starts_with('!') || f.starts_with('*') || f == "x" => Hash::Locked,
        Some(f) => Hash::Crypt(f.to_string()),
    }
}

/// Does `password` hash to `hash`? False on any error (unknown method, NUL in the password).
pub fn matches(password: &[u8], hash: &str) -> bool {
    if password.contains(&0) {
        return false;
    }
    let key = Zeroizing::new({
        let mut v = Vec::with_capacity(password.len() + 1);
        v.extend_from_slice(password);
        v.push(0);
        v
    });
    let Ok(salt) = CString::new(hash) else {
        return false;
    };
    // SAFETY: both arguments are NUL-terminated; the loop is single-threaded, so crypt's
    // static result buffer is not shared; it is copied out before any other call.
    let out = unsafe { crypt(key.as_ptr() as *const c_char, salt.as_ptr()) };
    if out.is_null() {
        return false;
    }
    // SAFETY: a non-null result of crypt is a NUL-terminated string.
    let out = unsafe { CStr::from_ptr(out) }.to_bytes();
    // Failure tokens start with '*' and never equal a real hash; lengths are public.
    !out.starts_with(b"*") && out.len() == hash.len() && bool::from(out.ct_eq(hash.as_bytes()))
}

/// Is `shell` listed in /etc/shells? True when that file does not exist (as Dropbear).
pub fn shell_allowed(shell: &str) -> bool {
    match std::fs::read_to_string("/etc/shells") {
        Ok(text) => text
            .lines()
            .map(str::trim)
            .any(|l| !l.starts_with('#') && l == shell),
        Err(_) => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_are_classified() {
        assert_eq!(classify(None), Hash::Locked);
        assert_eq!(classify(Some("")), Hash::Blank);
        assert_eq!(classify(Some("!$6$abc")), Hash::Locked);
        assert_eq!(classify(Some("*")), Hash::Locked);
        assert_eq!(classify(Some("$6$s$h")), Hash::Crypt("$6$s$h".into()));
        let text = "root:x:0:0::/root:/bin/sh\nalice:$1$x$y:1:1::/h:/bin/sh\n";
        assert_eq!(field_of(text, "alice").as_deref(), Some("$1$x$y"));
        assert_eq!(field_of(text, "ali"), None);
    }

    #[test]
    fn crypt_methods() {
        // Known answers (computed with `openssl passwd`).
        let md5 = "$1$saltsalt$qjXMvbEw8oaL.CzflDtaK/";
        let sha512 = "$6$saltsalt$qFmFH.bQmmtXzyBY0s9v7Oicd2z4XSIecDzlB5KiA2/jctKu9YterLp8wwnSq.qc.eoxqOmSuNp2xS0ktL3nh/";
        assert!(matches(b"password", md5), "md5");
        assert!(!matches(b"passwore", md5));
        assert!(matches(b"password", sha512), "sha512");
        assert!(!matches(b"", sha512));
        assert!(!matches(b"pass\0word", sha512));
        assert!(!matches(b"password", "*"));
    }
}
