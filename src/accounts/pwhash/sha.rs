//! sha256crypt `$5$` and sha512crypt `$6$` (Ulrich Drepper's "Unix crypt using SHA-256 and
//! SHA-512").

use super::{encode, push_ascii, salt};
use sha2::{Digest, Sha256, Sha512};
use zeroize::{Zeroize, Zeroizing};

const ROUNDS_DEFAULT: u32 = 5000;
const ROUNDS_MIN: u32 = 1000;
const ROUNDS_MAX: u32 = 999_999_999;
const SHA_SALT_MAX: usize = 16;

// The order in which each scheme writes its final digest's bytes (see `md5crypt::MD5_ORDER`).
pub(super) const SHA256_ORDER: [u8; 32] = [
    0, 10, 20, 21, 1, 11, 12, 22, 2, 3, 13, 23, 24, 4, 14, 15, 25, 5, 6, 16, 26, 27, 7, 17, 18, 28,
    8, 9, 19, 29, 31, 30,
];
pub(super) const SHA512_ORDER: [u8; 64] = [
    0, 21, 42, 22, 43, 1, 44, 2, 23, 3, 24, 45, 25, 46, 4, 47, 5, 26, 6, 27, 48, 28, 49, 7, 50, 8,
    29, 9, 30, 51, 31, 52, 10, 53, 11, 32, 12, 33, 54, 34, 55, 13, 56, 14, 35, 15, 36, 57, 37, 58,
    16, 59, 17, 38, 18, 39, 60, 40, 61, 19, 62, 20, 41, 63,
];

/// An optional `rounds=N$` at the start of `rest`: the count, whether it was given, what follows.
fn rounds(rest: &str) -> Option<(u32, bool, &str)> {
    let Some(r) = rest.strip_prefix("rounds=") else {
        return Some((ROUNDS_DEFAULT, false, rest));
    };
    let (digits, after) = r.split_once('$')?;
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    // Above the maximum the spec clamps, but the result then says 999999999 and cannot match
    // the setting; refusing it saves a billion rounds.
    let n = digits.parse::<u32>().ok().filter(|&n| n <= ROUNDS_MAX)?;
    Some((n.max(ROUNDS_MIN), true, after))
}

/// A digest of password-derived bytes (the first 32 or 64), wiped when dropped.
struct Sum([u8; 64]);

impl Drop for Sum {
    fn drop(&mut self) {
        self.0.zeroize();
    }
}

/// sha256crypt's or sha512crypt's hash. An enum, not a type parameter: `sha_crypt` is then
/// compiled once for both (1 KB less on a router).
pub(super) enum Sha {
    S256(Sha256),
    S512(Sha512),
}

impl Sha {
    fn len(&self) -> usize {
        match self {
            Sha::S256(_) => 32,
            Sha::S512(_) => 64,
        }
    }

    fn update(&mut self, data: &[u8]) {
        match self {
            Sha::S256(h) => h.update(data),
            Sha::S512(h) => h.update(data),
        }
    }

    /// Finishes into `out` and starts again (the state is reset in place).
    fn finish(&mut self, out: &mut Sum) {
        match self {
            Sha::S256(h) => {
                if let Ok(o) = (&mut out.0[..32]).try_into() {
                    h.finalize_into_reset(o);
                }
            }
            Sha::S512(h) => h.finalize_into_reset((&mut out.0).into()),
        }
    }
}

/// `digest` repeated and cut to `len` bytes.
fn repeat(digest: &[u8], len: usize) -> Zeroizing<Vec<u8>> {
    let mut v = Zeroizing::new(Vec::with_capacity(len));
    v.extend(digest.iter().cycle().take(len));
    v
}

/// sha256crypt and sha512crypt, the spec's steps (numbered as there).
pub(super) fn sha_crypt(
    mut h: Sha,
    pw: &[u8],
    rest: &str,
    prefix: &str,
    order: &[u8],
) -> Option<Zeroizing<String>> {
    let (rounds, custom, rest) = rounds(rest)?;
    let salt = salt(rest, SHA_SALT_MAX);
    let len = h.len();
    let mut b = Sum([0; 64]);
    let mut a = Sum([0; 64]);

    // 4-8: B = H(password salt password).
    h.update(pw);
    h.update(salt);
    h.update(pw);
    h.finish(&mut b);
    // 1-3, 9-12: A = H(password salt, B for each password byte, then B or the password for
    // each bit of the password's length).
    h.update(pw);
    h.update(salt);
    let mut n = pw.len();
    while n > len {
        h.update(&b.0[..len]);
        n -= len;
    }
    h.update(b.0.get(..n).unwrap_or_default());
    let mut n = pw.len();
    while n > 0 {
        if n & 1 == 1 {
            h.update(&b.0[..len]);
        } else {
            h.update(pw);
        }
        n >>= 1;
    }
    h.finish(&mut a);
    // 13-16: P, the password's length of H(password repeated once per password byte).
    for _ in 0..pw.len() {
        h.update(pw);
    }
    h.finish(&mut b);
    let p = repeat(&b.0[..len], pw.len());
    // 17-20: S, the salt's length of H(salt repeated 16 + A[0] times).
    for _ in 0..16 + usize::from(a.0.first().copied().unwrap_or(0)) {
        h.update(salt);
    }
    h.finish(&mut b);
    let s = repeat(&b.0[..len], salt.len());
    // 21: the rounds.
    for r in 0..rounds {
        if r & 1 == 1 {
            h.update(&p[..]);
        } else {
            h.update(&a.0[..len]);
        }
        if r % 3 != 0 {
            h.update(&s[..]);
        }
        if r % 7 != 0 {
            h.update(&p[..]);
        }
        if r & 1 == 1 {
            h.update(&a.0[..len]);
        } else {
            h.update(&p[..]);
        }
        h.finish(&mut a);
    }
    // 22: $5$ or $6$, rounds=N$ only when the setting had it, the salt, $, the digest.
    let mut out = Zeroizing::new(String::with_capacity(128));
    out.push_str(prefix);
    if custom {
        out.push_str("rounds=");
        out.push_str(&rounds.to_string());
        out.push('$');
    }
    push_ascii(&mut out, salt);
    out.push('$');
    encode(&mut out, &a.0[..len], order);
    Some(out)
}
