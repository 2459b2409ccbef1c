//! Password hashes in crypt(3)'s formats: md5crypt `$1$`, sha256crypt `$5$` and sha512crypt
//! `$6$` (Ulrich Drepper's "Unix crypt using SHA-256 and SHA-512"), the schemes routers'
//! `/etc/shadow` files hold. With them here a static musl build links no crypt(3), which would
//! bring DES, bcrypt and (for its sha formats) printf along.
//!
//! Results are libxcrypt's (a glibc test in `accounts::passwd` compares them), except that a
//! `rounds=` count below 1000 is raised to 1000 and leading zeros are dropped, as the spec and
//! glibc's original code do, where libxcrypt refuses the setting. Either way the result's
//! `rounds=` differs from the setting's, so such a stored hash never matches.
//!
//! Pure code: no I/O, no unsafe, no panics on any input. Bytes derived from the password are
//! wiped when dropped (the SHA-2 states by sha2's `zeroize` feature).
//!
//! Each scheme in its file: `md5crypt.rs` (with the MD5 it needs, `md5.rs`), `sha.rs` for
//! both SHA-2 schemes; this file picks the scheme and writes crypt's base 64.

#![forbid(unsafe_code)]

mod md5;
mod md5crypt;
mod sha;
#[cfg(test)]
mod tests;

use md5crypt::{md5_crypt, MD5_SALT_MAX};
use sha::{sha_crypt, Sha, SHA256_ORDER, SHA512_ORDER};
use sha2::{Digest, Sha256, Sha512};
use zeroize::Zeroizing;

/// The longest password hashed, as in libxcrypt (its 512-byte limit less the NUL). The SHA
/// schemes' cost grows with the length and the check runs in the server's only thread: a
/// 35 KB password would stall every connection for seconds on a router.
pub const MAX_PASSWORD: usize = 511;

/// crypt's base-64 alphabet.
const ALPHABET: &[u8; 64] = b"./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// Is `setting` (a stored hash, or a prefix of one) of a scheme `hash` computes?
pub fn knows(setting: &str) -> bool {
    ["$1$", "$5$", "$6$"].iter().any(|p| setting.starts_with(p))
}

/// crypt(3) of `password` with `setting` (a stored hash, or its scheme, options and salt):
/// the full hash string. None for other schemes, malformed settings (a `rounds=` that is not
/// digits ending in `$`, or above 999,999,999; a byte libxcrypt refuses: not printable ASCII,
/// a space or one of `!*:;\`), and passwords longer than `MAX_PASSWORD` or holding a NUL
/// (which crypt(3) could not be given).
pub fn hash(password: &[u8], setting: &str) -> Option<Zeroizing<String>> {
    if password.len() > MAX_PASSWORD
        || password.contains(&0)
        || !setting
            .bytes()
            .all(|b| b.is_ascii_graphic() && !b"!*:;\\".contains(&b))
    {
        return None;
    }
    if let Some(rest) = setting.strip_prefix("$1$") {
        Some(md5_crypt(password, salt(rest, MD5_SALT_MAX)))
    } else if let Some(rest) = setting.strip_prefix("$5$") {
        sha_crypt(
            Sha::S256(Sha256::new()),
            password,
            rest,
            "$5$",
            &SHA256_ORDER,
        )
    } else if let Some(rest) = setting.strip_prefix("$6$") {
        sha_crypt(
            Sha::S512(Sha512::new()),
            password,
            rest,
            "$6$",
            &SHA512_ORDER,
        )
    } else {
        None
    }
}

/// The salt at the start of `rest`: up to the next `$`, at most `max` bytes.
pub(super) fn salt(rest: &str, max: usize) -> &[u8] {
    let s = rest.as_bytes();
    let end = s.iter().position(|&b| b == b'$').unwrap_or(s.len());
    s.get(..end.min(max)).unwrap_or_default()
}

/// Appends `bytes`, which `hash` checked are ASCII.
pub(super) fn push_ascii(out: &mut String, bytes: &[u8]) {
    out.extend(bytes.iter().map(|&b| char::from(b)));
}

/// Appends `digest` in crypt's base 64, its bytes taken in `order` (see `MD5_ORDER`).
pub(super) fn encode(out: &mut String, digest: &[u8], order: &[u8]) {
    for group in order.chunks(3) {
        let mut w = group.iter().fold(0u32, |w, &i| {
            (w << 8) | u32::from(digest.get(usize::from(i)).copied().unwrap_or(0))
        });
        for _ in 0..=group.len() {
            out.push(char::from(ALPHABET[(w & 63) as usize]));
            w >>= 6;
        }
    }
}
