//! crypt(3) from glibc's libcrypt, for the hash methods quoll does not compute itself
//! (`accounts::pwhash` does SHA-crypt). The `libc` crate does not declare `crypt`.

use std::ffi::{CStr, CString};
use std::os::raw::c_char;
use zeroize::Zeroizing;

#[link(name = "crypt")]
extern "C" {
    fn crypt(key: *const c_char, salt: *const c_char) -> *mut c_char;
}

/// crypt(3)'s result, None when it fails (or the password holds a NUL). The typed password
/// is copied only into one C string, zeroed after use.
pub fn crypt_hash(password: &[u8], setting: &str) -> Option<Zeroizing<String>> {
    if password.contains(&0) {
        return None;
    }
    let key = Zeroizing::new({
        let mut v = Vec::with_capacity(password.len() + 1);
        v.extend_from_slice(password);
        v.push(0);
        v
    });
    let salt = CString::new(setting).ok()?;
    // SAFETY: both arguments are NUL-terminated; the loop is single-threaded, so crypt's
    // static result buffer is not shared; it is copied out before any other call.
    let out = unsafe { crypt(key.as_ptr() as *const c_char, salt.as_ptr()) };
    if out.is_null() {
        return None;
    }
    // SAFETY: a non-null result of crypt is a NUL-terminated string.
    let out = unsafe { CStr::from_ptr(out) }.to_bytes();
    // Failure tokens start with '*' and never equal a real hash.
    if out.starts_with(b"*") {
        return None;
    }
    String::from_utf8(out.to_vec()).ok().map(Zeroizing::new)
}
