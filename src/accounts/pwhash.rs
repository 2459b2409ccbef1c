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

#![forbid(unsafe_code)]

use sha2::{Digest, Sha256, Sha512};
use zeroize::{Zeroize, Zeroizing};

/// The longest password hashed, as in libxcrypt (its 512-byte limit less the NUL). The SHA
/// schemes' cost grows with the length and the check runs in the server's only thread: a
/// 35 KB password would stall every connection for seconds on a router.
pub const MAX_PASSWORD: usize = 511;

const ROUNDS_DEFAULT: u32 = 5000;
const ROUNDS_MIN: u32 = 1000;
const ROUNDS_MAX: u32 = 999_999_999;
const MD5_ROUNDS: u32 = 1000;
const MD5_SALT_MAX: usize = 8;
const SHA_SALT_MAX: usize = 16;

/// crypt's base-64 alphabet.
const ALPHABET: &[u8; 64] = b"./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

// The order in which each scheme writes its final digest's bytes: groups of three (most
// significant first) become four characters, a last group of two or one becomes three or two.
const MD5_ORDER: [u8; 16] = [0, 6, 12, 1, 7, 13, 2, 8, 14, 3, 9, 15, 4, 10, 5, 11];
const SHA256_ORDER: [u8; 32] = [
    0, 10, 20, 21, 1, 11, 12, 22, 2, 3, 13, 23, 24, 4, 14, 15, 25, 5, 6, 16, 26, 27, 7, 17, 18, 28,
    8, 9, 19, 29, 31, 30,
];
const SHA512_ORDER: [u8; 64] = [
    0, 21, 42, 22, 43, 1, 44, 2, 23, 3, 24, 45, 25, 46, 4, 47, 5, 26, 6, 27, 48, 28, 49, 7, 50, 8,
    29, 9, 30, 51, 31, 52, 10, 53, 11, 32, 12, 33, 54, 34, 55, 13, 56, 14, 35, 15, 36, 57, 37, 58,
    16, 59, 17, 38, 18, 39, 60, 40, 61, 19, 62, 20, 41, 63,
];

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
fn salt(rest: &str, max: usize) -> &[u8] {
    let s = rest.as_bytes();
    let end = s.iter().position(|&b| b == b'$').unwrap_or(s.len());
    s.get(..end.min(max)).unwrap_or_default()
}

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
enum Sha {
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
fn sha_crypt(
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

/// md5crypt as FreeBSD and glibc compute it.
fn md5_crypt(pw: &[u8], salt: &[u8]) -> Zeroizing<String> {
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

/// Appends `bytes`, which `hash` checked are ASCII.
fn push_ascii(out: &mut String, bytes: &[u8]) {
    out.extend(bytes.iter().map(|&b| char::from(b)));
}

/// Appends `digest` in crypt's base 64, its bytes taken in `order` (see `MD5_ORDER`).
fn encode(out: &mut String, digest: &[u8], order: &[u8]) {
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

/// MD5 (RFC 1321), only for md5crypt: small rather than fast.
struct Md5 {
    state: [u32; 4],
    buf: [u8; 64],
    /// Bytes hashed so far.
    len: u64,
}

/// Per-step left rotations, by round (each round repeats its four).
const MD5_SHIFT: [[u32; 4]; 4] = [
    [7, 12, 17, 22],
    [5, 9, 14, 20],
    [4, 11, 16, 23],
    [6, 10, 15, 21],
];

/// floor(2^32 * |sin(i + 1)|).
const MD5_K: [u32; 64] = [
    0xd76aa478, 0xe8c7b756, 0x242070db, 0xc1bdceee, 0xf57c0faf, 0x4787c62a, 0xa8304613, 0xfd469501,
    0x698098d8, 0x8b44f7af, 0xffff5bb1, 0x895cd7be, 0x6b901122, 0xfd987193, 0xa679438e, 0x49b40821,
    0xf61e2562, 0xc040b340, 0x265e5a51, 0xe9b6c7aa, 0xd62f105d, 0x02441453, 0xd8a1e681, 0xe7d3fbc8,
    0x21e1cde6, 0xc33707d6, 0xf4d50d87, 0x455a14ed, 0xa9e3e905, 0xfcefa3f8, 0x676f02d9, 0x8d2a4c8a,
    0xfffa3942, 0x8771f681, 0x6d9d6122, 0xfde5380c, 0xa4beea44, 0x4bdecfa9, 0xf6bb4b60, 0xbebfbc70,
    0x289b7ec6, 0xeaa127fa, 0xd4ef3085, 0x04881d05, 0xd9d4d039, 0xe6db99e5, 0x1fa27cf8, 0xc4ac5665,
    0xf4292244, 0x432aff97, 0xab9423a7, 0xfc93a039, 0x655b59c3, 0x8f0ccc92, 0xffeff47d, 0x85845dd1,
    0x6fa87e4f, 0xfe2ce6e0, 0xa3014314, 0x4e0811a1, 0xf7537e82, 0xbd3af235, 0x2ad7d2bb, 0xeb86d391,
];

impl Md5 {
    fn new() -> Md5 {
        Md5 {
            state: [0x67452301, 0xefcdab89, 0x98badcfe, 0x10325476],
            buf: [0; 64],
            len: 0,
        }
    }

    fn update(&mut self, mut data: &[u8]) {
        let mut used = (self.len % 64) as usize;
        self.len = self.len.wrapping_add(data.len() as u64);
        while !data.is_empty() {
            let take = (64 - used).min(data.len());
            let (now, later) = data.split_at(take);
            self.buf[used..used + take].copy_from_slice(now);
            data = later;
            used += take;
            if used == 64 {
                md5_block(&mut self.state, &self.buf);
                used = 0;
            }
        }
    }

    fn finalize(mut self) -> [u8; 16] {
        let bits = self.len.wrapping_mul(8);
        self.update(&[0x80]);
        while self.len % 64 != 56 {
            self.update(&[0]);
        }
        self.update(&bits.to_le_bytes());
        let mut out = [0; 16];
        for (o, w) in out.chunks_exact_mut(4).zip(self.state) {
            o.copy_from_slice(&w.to_le_bytes());
        }
        out
    }
}

impl Drop for Md5 {
    fn drop(&mut self) {
        self.state.zeroize();
        self.buf.zeroize();
    }
}

fn md5_block(state: &mut [u32; 4], block: &[u8; 64]) {
    let mut m = [0u32; 16];
    for (w, b) in m.iter_mut().zip(block.chunks_exact(4)) {
        *w = u32::from_le_bytes([b[0], b[1], b[2], b[3]]);
    }
    let [mut a, mut b, mut c, mut d] = *state;
    for i in 0..64 {
        let (f, g) = match i / 16 {
            0 => ((b & c) | (!b & d), i),
            1 => ((d & b) | (!d & c), (5 * i + 1) % 16),
            2 => (b ^ c ^ d, (3 * i + 5) % 16),
            _ => (c ^ (b | !d), (7 * i) % 16),
        };
        let t = a
            .wrapping_add(f)
            .wrapping_add(MD5_K[i])
            .wrapping_add(m[g])
            .rotate_left(MD5_SHIFT[i / 16][i % 4]);
        a = d;
        d = c;
        c = b;
        b = b.wrapping_add(t);
    }
    for (s, v) in state.iter_mut().zip([a, b, c, d]) {
        *s = s.wrapping_add(v);
    }
    m.zeroize();
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(pw: &str, setting: &str) -> String {
        hash(pw.as_bytes(), setting)
            .unwrap_or_else(|| panic!("no hash for {setting}"))
            .to_string()
    }

    fn hex(b: &[u8]) -> String {
        b.iter().map(|x| format!("{x:02x}")).collect()
    }

    fn md5(data: &[u8]) -> String {
        let mut m = Md5::new();
        m.update(data);
        hex(&m.finalize())
    }

    #[test]
    fn md5_vectors() {
        // RFC 1321's test suite.
        assert_eq!(md5(b""), "d41d8cd98f00b204e9800998ecf8427e");
        assert_eq!(md5(b"a"), "0cc175b9c0f1b6a831c399e269772661");
        assert_eq!(md5(b"abc"), "900150983cd24fb0d6963f7d28e17f72");
        assert_eq!(md5(b"message digest"), "f96b697d7cb7938d525a2f31aaf161d0");
        assert_eq!(
            md5(b"abcdefghijklmnopqrstuvwxyz"),
            "c3fcd3d76192e4007dfb496cca67e13b"
        );
        assert_eq!(
            md5(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"),
            "d174ab98d277d9f5a5611c2c9f419d9f"
        );
        assert_eq!(
            md5(&b"1234567890".repeat(8)),
            "57edf4a22be3c955ac49da2e2107b67a"
        );
        // Padding boundaries and a long input (Python's hashlib).
        assert_eq!(md5(&[b'a'; 55]), "ef1772b6dff9a122358552954ad0df65");
        assert_eq!(md5(&[b'a'; 56]), "3b0c8ac703f828b04c6c197006d17218");
        assert_eq!(md5(&[b'a'; 64]), "014842d480b571495a4a0363793f7367");
        let long: Vec<u8> = (0..1000).map(|i| (i % 251) as u8).collect();
        assert_eq!(md5(&long), "a24f1e3ef66950e1327f210e3997ba2c");
        // Fed in two pieces split anywhere: the same.
        for cut in 0..=200 {
            let mut m = Md5::new();
            m.update(&long[..cut]);
            m.update(&long[cut..200]);
            assert_eq!(hex(&m.finalize()), md5(&long[..200]), "cut at {cut}");
        }
    }

    #[test]
    fn md5crypt_vectors() {
        // `openssl passwd -1 -salt SALT PASSWORD`.
        assert_eq!(
            h("password", "$1$saltstri"),
            "$1$saltstri$qQY4WxjABChYG1ccLpfkz/"
        );
        // The salt stops at 8 characters, and at a '$'.
        assert_eq!(
            h("password", "$1$saltstringlonger"),
            "$1$saltstri$qQY4WxjABChYG1ccLpfkz/"
        );
        assert_eq!(
            h("password", "$1$saltstri$qQY4WxjABChYG1ccLpfkz/"),
            "$1$saltstri$qQY4WxjABChYG1ccLpfkz/"
        );
        assert_eq!(h("password", "$1$"), "$1$$I2o9Z7NcvQAKp7wyCTlia0");
        assert_eq!(h("password", "$1$$"), "$1$$I2o9Z7NcvQAKp7wyCTlia0");
        assert_eq!(h("", "$1$abc"), "$1$abc$Or2rbeUYTvt12aiVzMuS/.");
        assert_eq!(
            h("0.s0.l33t", "$1$deadbeef"),
            "$1$deadbeef$0Huu6KHrKLVWfqa4WljDE0"
        );
        assert_eq!(
            h(
                "a password longer than sixteen bytes, and longer than sixty-four bytes as well: 0123456789",
                "$1$ab"
            ),
            "$1$ab$XcROxWHPcVKhQwMDbM1To1"
        );
        // passwd.rs's own known answer.
        assert_eq!(
            h("password", "$1$saltsalt"),
            "$1$saltsalt$qjXMvbEw8oaL.CzflDtaK/"
        );
    }

    #[test]
    fn sha256crypt_vectors() {
        // Drepper's spec.
        let v = [
            (
                "$5$saltstring",
                "Hello world!",
                "$5$saltstring$5B8vYYiY.CVt1RlTTf8KbXBH3hsxY/GNooZaBBGWEc5",
            ),
            (
                "$5$rounds=10000$saltstringsaltstring",
                "Hello world!",
                "$5$rounds=10000$saltstringsaltst$3xv.VbSHBb41AL9AvLeujZkZRBAwqFMz2.opqey6IcA",
            ),
            (
                "$5$rounds=5000$toolongsaltstring",
                "This is just a test",
                "$5$rounds=5000$toolongsaltstrin$Un/5jzAHMgOGZ5.mWJpuVolil07guHPvOW8mGRcvxa5",
            ),
            (
                "$5$rounds=1400$anotherlongsaltstring",
                "a very much longer text to encrypt.  This one even stretches over morethan one line.",
                "$5$rounds=1400$anotherlongsalts$Rx.j8H.h8HjEDGomFU8bDkXm3XIUnzyxf12oP84Bnq1",
            ),
            (
                "$5$rounds=77777$short",
                "we have a short salt string but not a short password",
                "$5$rounds=77777$short$JiO1O3ZpDAxGJeaDIuqCoEFysAe1mZNJRs3pw0KQRd/",
            ),
            (
                "$5$rounds=123456$asaltof16chars..",
                "a short string",
                "$5$rounds=123456$asaltof16chars..$gP3VQ/6X7UUEW3HkBn2w1/Ptq2jxPyzV/cZKmF/wJvD",
            ),
            (
                "$5$rounds=10$roundstoolow",
                "the minimum number is still observed",
                "$5$rounds=1000$roundstoolow$yfvwcWrQ8l/K0DAWyuPMDNHpIVlTQebY9l/gL972bIC",
            ),
        ];
        for (setting, pw, want) in v {
            assert_eq!(h(pw, setting), want, "{setting}");
            // The full hash as the setting gives itself back.
            assert_eq!(h(pw, want), want, "{want}");
        }
        // rounds=5000 given is kept in the result (libxcrypt's test suite).
        assert_eq!(
            h("Hello world!", "$5$rounds=5000$saltstring"),
            "$5$rounds=5000$saltstring$5B8vYYiY.CVt1RlTTf8KbXBH3hsxY/GNooZaBBGWEc5"
        );
    }

    #[test]
    fn sha512crypt_vectors() {
        // Drepper's spec, and (the last) an empty salt.
        let v = [
            (
                "$6$saltstring",
                "Hello world!",
                "$6$saltstring$svn8UoSVapNtMuq1ukKS4tPQd8iKwSMHWjl/O817G3uBnIFNjnQJuesI68u4OTLiBFdcbYEdFCoEOfaS35inz1",
            ),
            (
                "$6$rounds=10000$saltstringsaltstring",
                "Hello world!",
                "$6$rounds=10000$saltstringsaltst$OW1/O6BYHV6BcXZu8QVeXbDWra3Oeqh0sbHbbMCVNSnCM/UrjmM0Dp8vOuZeHBy/YTBmSK6H9qs/y3RnOaw5v.",
            ),
            (
                "$6$rounds=5000$toolongsaltstring",
                "This is just a test",
                "$6$rounds=5000$toolongsaltstrin$lQ8jolhgVRVhY4b5pZKaysCLi0QBxGoNeKQzQ3glMhwllF7oGDZxUhx1yxdYcz/e1JSbq3y6JMxxl8audkUEm0",
            ),
            (
                "$6$rounds=1400$anotherlongsaltstring",
                "a very much longer text to encrypt.  This one even stretches over morethan one line.",
                "$6$rounds=1400$anotherlongsalts$POfYwTEok97VWcjxIiSOjiykti.o/pQs.wPvMxQ6Fm7I6IoYN3CmLs66x9t0oSwbtEW7o7UmJEiDwGqd8p4ur1",
            ),
            (
                "$6$rounds=77777$short",
                "we have a short salt string but not a short password",
                "$6$rounds=77777$short$WuQyW2YR.hBNpjjRhpYD/ifIw05xdfeEyQoMxIXbkvr0gge1a1x3yRULJ5CCaUeOxFmtlcGZelFl5CxtgfiAc0",
            ),
            (
                "$6$rounds=123456$asaltof16chars..",
                "a short string",
                "$6$rounds=123456$asaltof16chars..$BtCwjqMJGx5hrJhZywWvt0RLE8uZ4oPwcelCjmw2kSYu.Ec6ycULevoBK25fs2xXgMNrCzIMVcgEJAstJeonj1",
            ),
            (
                "$6$rounds=10$roundstoolow",
                "the minimum number is still observed",
                "$6$rounds=1000$roundstoolow$kUMsbe306n21p9R.FRkW3IGn.S9NPN0x50YhH1xhLsPuWGsUSklZt58jaTfF4ZEQpyUNGc0dqbpBYYBaHHrsX.",
            ),
            (
                "$6$$bar$",
                "foo",
                "$6$$QMXjqd7rHQZPQ1yHsXkQqC1FBzDiVfTHXL.LaeDAeVV.IzMaV9VU4MQ8kPuZa2SOP1A0RPm772EaFYjpEJtdu.",
            ),
        ];
        for (setting, pw, want) in v {
            assert_eq!(h(pw, setting), want, "{setting}");
            assert_eq!(h(pw, want), want, "{want}");
        }
        // passwd.rs's own known answer (`openssl passwd -6`).
        assert_eq!(
            h("password", "$6$saltsalt"),
            "$6$saltsalt$qFmFH.bQmmtXzyBY0s9v7Oicd2z4XSIecDzlB5KiA2/jctKu9YterLp8wwnSq.qc.eoxqOmSuNp2xS0ktL3nh/"
        );
    }

    #[test]
    fn rounds_are_parsed_strictly() {
        // Leading zeros are dropped and low counts raised, as the spec's code does.
        assert!(h("x", "$5$rounds=01000$ab").starts_with("$5$rounds=1000$ab$"));
        assert!(h("x", "$5$rounds=0$ab").starts_with("$5$rounds=1000$ab$"));
        assert_eq!(h("x", "$6$rounds=0$ab"), h("x", "$6$rounds=1000$ab"));
        assert_ne!(h("x", "$6$rounds=1001$ab"), h("x", "$6$rounds=1000$ab"));
        for bad in [
            "$5$rounds=abc$salt",
            "$5$rounds=$salt",
            "$5$rounds=+1000$salt",
            "$5$rounds=-1$salt",
            "$5$rounds= 1000$salt",
            "$5$rounds=1000",
            "$5$rounds=1000x$salt",
            "$6$rounds=1000000000$salt",
            "$6$rounds=4294967296$salt",
            "$6$rounds=99999999999999999999$salt",
            "$6$rounds=99999999999999999999$",
        ] {
            assert!(hash(b"x", bad).is_none(), "{bad}");
        }
        // A second rounds= is salt.
        assert!(h("x", "$5$rounds=1000$rounds=2000$x").starts_with("$5$rounds=1000$rounds=2000$"));
    }

    #[test]
    fn settings_and_passwords_refused() {
        for bad in [
            "",
            "$",
            "$1",
            "$2b$05$abcdefghijklmnopqrstuu",
            "$y$j9T$abc",
            "$7$",
            "ab",
            "*",
            "!",
            "$5$a:b",
            "$5$a b",
            "$1$a*b",
            "$6$a;b",
            "$6$a\\b",
            "$6$a!b",
            "$1$\u{e9}t\u{e9}",
            "$6$ab\n",
            "$6$ab\0",
        ] {
            assert!(hash(b"password", bad).is_none(), "{bad:?}");
        }
        assert!(hash(b"pass\0word", "$6$ab").is_none());
        assert!(hash(&[b'x'; MAX_PASSWORD], "$6$ab").is_some());
        assert!(hash(&[b'x'; MAX_PASSWORD + 1], "$6$ab").is_none());
        assert!(hash(&[b'x'; 1000], "$1$ab").is_none());
        assert!(knows("$1$") && knows("$5$x") && knows("$6$rounds=5000$x$y"));
        assert!(!knows("$y$j9T$abc") && !knows("$2b$") && !knows("ab") && !knows(""));
    }

    #[test]
    fn odd_inputs_do_not_panic() {
        let passwords: [&[u8]; 5] = [b"", b"x", &[0xff; 64], &[b'p'; 1000], &[0x80; 511]];
        let settings = [
            "$1$",
            "$5$",
            "$6$",
            "$1$$",
            "$5$$",
            "$6$$",
            "$5$$$$",
            "$6$$$",
            "$1$$$$$",
            "$5$rounds=",
            "$5$rounds=$",
            "$5$rounds=abc$",
            "$5$rounds=0$",
            "$6$rounds=99999999999999999999$",
            "$6$rounds=1000$$",
            "$1$abcdefghijklmnopqrstuvwxyz",
            "$5$abcdefghijklmnopqrstuvwxyz",
            "$6$abcdefghijklmnopqrstuvwxyz$",
            "$5",
            "$6",
            "$1",
        ];
        for pw in passwords {
            for s in settings {
                if let Some(out) = hash(pw, s) {
                    assert!(out.starts_with(&s[..3]), "{s}");
                    assert!(out.bytes().all(|b| b.is_ascii_graphic()));
                }
            }
        }
        // The empty salt is a salt.
        assert!(h("", "$5$").starts_with("$5$$"));
        assert!(h("", "$6$$").starts_with("$6$$"));
        // Random settings built from the pieces that matter.
        // (At most two digits after rounds=: a setting costs at most 5000 rounds here.)
        let pieces = ["$", "1", "5", "6", "rounds=", "0", "a", "./", "!", ":", "é"];
        let mut seed = 0x2545_f491_4f6c_dd1du64;
        for _ in 0..2000 {
            let mut s = String::new();
            for _ in 0..(seed % 8) {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                s.push_str(pieces[(seed % pieces.len() as u64) as usize]);
            }
            let _ = hash(b"pw", &s);
        }
    }

    #[test]
    fn encode_orders_are_permutations() {
        for order in [&MD5_ORDER[..], &SHA256_ORDER[..], &SHA512_ORDER[..]] {
            let mut seen = order.to_vec();
            seen.sort_unstable();
            assert!(seen.iter().enumerate().all(|(i, &b)| usize::from(b) == i));
        }
    }
}
