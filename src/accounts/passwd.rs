//! Password checks: the user's hash from `/etc/shadow` (or the passwd field when it is not
//! `x`), the typed password hashed with its settings, a constant-time comparison.
//!
//! md5 `$1$`, sha256 `$5$` and sha512 `$6$` are computed by `super::pwhash` on every target, so
//! musl builds do not link crypt(3) at all and know only those three. glibc builds hand any
//! other method to libcrypt (libxcrypt): yescrypt `$y$` (Debian's default), bcrypt `$2b$` and
//! the rest it knows.

use super::pwhash;
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

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
    let mut field = field_of(&account_file("/etc/passwd"), name);
    if field.as_deref() == Some("x") || field.is_none() {
        field = field_of(&account_file("/etc/shadow"), name);
    }
    classify(field.as_deref())
}

/// An account file's text; empty when it cannot be read, is not UTF-8 or is too large (a
/// lookup then finds nobody: the login is refused).
fn account_file(path: &str) -> Zeroizing<String> {
    let text = super::users::read_accounts(path)
        .ok()
        .and_then(|data| std::str::from_utf8(&data).ok().map(str::to_string));
    Zeroizing::new(text.unwrap_or_default())
}

fn classify(field: Option<&str>) -> Hash {
    match field {
        None => Hash::Locked,
        Some("") => Hash::Blank,
        Some(f) if f.starts_with('!') || f.starts_with('*') || f == "x" => Hash::Locked,
        Some(f) => Hash::Crypt(f.to_string()),
    }
}

/// Does `password` hash to `hash`? False on any error (unknown method, NUL in the password,
/// malformed hash).
pub fn matches(password: &[u8], hash: &str) -> bool {
    let out = if pwhash::knows(hash) {
        pwhash::hash(password, hash)
    } else {
        other_method(password, hash)
    };
    // Lengths are public: the method fixes them.
    out.is_some_and(|out| {
        out.len() == hash.len() && bool::from(out.as_bytes().ct_eq(hash.as_bytes()))
    })
}

#[cfg(target_env = "gnu")]
fn other_method(password: &[u8], hash: &str) -> Option<Zeroizing<String>> {
    crate::sys::crypt::crypt_hash(password, hash)
}

/// musl builds know only pwhash's methods.
#[cfg(not(target_env = "gnu"))]
fn other_method(_password: &[u8], _hash: &str) -> Option<Zeroizing<String>> {
    None
}

/// Is `shell` listed in /etc/shells? True when that file does not exist (as Dropbear).
pub fn shell_allowed(shell: &str) -> bool {
    match crate::readfile::read_path(
        std::path::Path::new("/etc/shells"),
        crate::config::MAX_SHELLS_FILE,
    ) {
        Ok(c) => String::from_utf8_lossy(&c.data)
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

    /// crypt(3)'s result buffer is static and the test harness runs tests in threads.
    #[cfg(target_env = "gnu")]
    static CRYPT: std::sync::Mutex<()> = std::sync::Mutex::new(());

    #[test]
    fn crypt_methods() {
        #[cfg(target_env = "gnu")]
        let _crypt = CRYPT.lock().unwrap_or_else(|e| e.into_inner());
        // Known answers (computed with `openssl passwd` and `mkpasswd`).
        let md5 = "$1$saltsalt$qjXMvbEw8oaL.CzflDtaK/";
        let sha256 = "$5$saltsalt$gOjOtoMpVhru2uyjeJSEc/JaLQWOXMNmlOnj6T4AtC.";
        let sha512 = "$6$saltsalt$qFmFH.bQmmtXzyBY0s9v7Oicd2z4XSIecDzlB5KiA2/jctKu9YterLp8wwnSq.qc.eoxqOmSuNp2xS0ktL3nh/";
        assert!(matches(b"password", md5), "md5");
        assert!(!matches(b"passwore", md5));
        assert!(matches(b"password", sha256), "sha256");
        assert!(!matches(b"password ", sha256));
        assert!(matches(b"password", sha512), "sha512");
        assert!(!matches(b"", sha512));
        assert!(!matches(b"pass\0word", sha512));
        assert!(!matches(b"password", "*"));
        // A truncated or extended hash is not the hash.
        assert!(!matches(b"password", &sha512[..sha512.len() - 1]));
        assert!(!matches(b"password", &format!("{sha512}x")));
        // yescrypt and bcrypt: libcrypt's, on glibc builds only.
        let yescrypt = "$y$j9T$saltsaltsaltsaltsalt..$31QemJgEsTP0RnXz2coIbu1KFJThHce4ZXRh4xX0QpD";
        let bcrypt = "$2b$05$9Kwbf5CUikGvtp0UcMN3z.wRwN0.B1OYAhbCG/ZGZixWN/KiLtBlO";
        assert_eq!(matches(b"password", yescrypt), cfg!(target_env = "gnu"));
        assert_eq!(matches(b"password", bcrypt), cfg!(target_env = "gnu"));
        assert!(!matches(b"passwore", yescrypt));
    }

    /// pwhash gives libxcrypt's answers: password lengths around the digests' and MD5's block
    /// sizes up to the longest allowed, bytes 1 to 255, salts from empty to beyond the
    /// truncation, default and explicit rounds.
    #[cfg(target_env = "gnu")]
    #[test]
    fn pwhash_agrees_with_libcrypt() {
        let _crypt = CRYPT.lock().unwrap_or_else(|e| e.into_inner());
        let mut seed = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        // libxcrypt takes any printable byte but '$' and `!*:;\` in a salt.
        let salt_chars = b"./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz_-#%~";
        let lengths = [
            0, 1, 2, 7, 8, 15, 16, 17, 31, 32, 33, 55, 56, 63, 64, 65, 100, 127, 128, 129, 200,
            300, 510, 511,
        ];
        let mut compared = 0usize;
        for (i, &len) in lengths.iter().enumerate() {
            for scheme in ["$1$", "$5$", "$6$"] {
                let pw: Vec<u8> = (0..len).map(|_| (next() % 255 + 1) as u8).collect();
                // Empty, short, at md5's and sha's limits of 8 and 16, beyond them.
                let salt_len = [0, 3, 8, 9, 12, 16, 17, 20][compared % 8];
                let salt: String = (0..salt_len)
                    .map(|_| char::from(salt_chars[(next() % salt_chars.len() as u64) as usize]))
                    .collect();
                let rounds = match (scheme, i % 3) {
                    ("$1$", _) | (_, 0) => String::new(),
                    (_, 1) => format!("rounds={}$", 1000 + next() % 3000),
                    _ => "rounds=5000$".to_string(),
                };
                let setting = format!("{scheme}{rounds}{salt}");
                let ours = pwhash::hash(&pw, &setting)
                    .unwrap_or_else(|| panic!("pwhash refused {setting}"));
                let theirs = crate::sys::crypt::crypt_hash(&pw, &setting)
                    .unwrap_or_else(|| panic!("libcrypt refused {setting}"));
                assert_eq!(*ours, *theirs, "{setting} {pw:?}");
                // Checked against its own result, as a login does.
                assert!(matches(&pw, &ours), "{}", *ours);
                compared += 1;
            }
        }
        assert_eq!(compared, lengths.len() * 3);
        // What both refuse.
        for (pw, setting) in [
            (&[b'x'; 512][..], "$6$ab"),
            (&[b'x'; 512][..], "$1$ab"),
            (b"x", "$5$rounds=abc$ab"),
            (b"x", "$5$rounds=$ab"),
            (b"x", "$5$rounds=1000"),
            (b"x", "$6$rounds=1000000000$ab"),
            (b"x", "$6$rounds=99999999999999999999$ab"),
            (b"x", "$6$a:b"),
            (b"x", "$5$a b"),
            (b"x", "$1$a*b"),
            (b"x", "$1$a\\b"),
            (b"x", "$6$\u{e9}"),
        ] {
            assert!(pwhash::hash(pw, setting).is_none(), "{setting}");
            assert!(
                crate::sys::crypt::crypt_hash(pw, setting).is_none(),
                "{setting}"
            );
        }
    }
}
