//! md5crypt `$1$`, as FreeBSD and glibc compute it.

use super::md5::Md5;
use super::{encode, push_ascii};
use zeroize::Zeroizing;

const MD5_ROUNDS: u32 = 1000;
pub(super) const MD5_SALT_MAX: usize = 8;

// The order in which each scheme writes its final digest's bytes: groups of three (most
// significant first) become four characters, a last group of two or one becomes three or two.
pub(super) const MD5_ORDER: [u8; 16] = [0, 6, 12, 1, 7, 13, 2, 8, 14, 3, 9, 15, 4, 10, 5, 11];

/// md5crypt as FreeBSD and glibc compute it.
pub(super) fn md5_crypt(pw: &[u8], salt: &[u8]) -> Zeroizing<String> {
    let mut h = Md5::new();
    h.update(pw);
    h.update(salt);
    h.update(pw);
    let mut sum = Zeroizing::new(h.finalize());

    let mut h = Md5::new();
    h.update(pw);
    h.update(b"$1$");
    h.update(salt);
    let mut n = pw.len();
    while n > sum.len() {
        h.update(&sum[..]);
        n -= sum.len();
    }
    h.update(sum.get(..n).unwrap_or_default());
    // The original clears the sum's first byte and adds it for each set bit of the length: a
    // NUL byte. For a clear bit it adds the password's first byte.
    let first = [pw.first().copied().unwrap_or(0)];
    let mut n = pw.len();
    while n > 0 {
        h.update(if n & 1 == 1 { &[0] } else { &first });
        n >>= 1;
    }
    *sum = h.finalize();

    for r in 0..MD5_ROUNDS {
        let mut h = Md5::new();
        if r & 1 == 1 {
            h.update(pw);
        } else {
            h.update(&sum[..]);
        }
        if r % 3 != 0 {
            h.update(salt);
        }
        if r % 7 != 0 {
            h.update(pw);
        }
        if r & 1 == 1 {
            h.update(&sum[..]);
        } else {
            h.update(pw);
        }
        *sum = h.finalize();
    }

    let mut out = Zeroizing::new(String::with_capacity(3 + MD5_SALT_MAX + 1 + 22));
    out.push_str("$1$");
    push_ascii(&mut out, salt);
    out.push('$');
    encode(&mut out, &sum[..], &MD5_ORDER);
    out
}
