//! Daemon-wide key list files: the trusted user CAs (`--trusted-user-ca-keys`, OpenSSH's
//! TrustedUserCAKeys) and the revoked keys (`--revoked-keys`, the plain-key form of
//! OpenSSH's RevokedKeys): one public key a line, `keytype base64 [comment]`, `#` comments
//! and blank lines ignored. Read whole on each check (bounded like authorized_keys), so an
//! edited file applies to the next login without a restart. The file and its directories
//! must be quoll's or root's and writable by nobody else, as authorized_keys must be the
//! user's: a trusted-CA file anyone could write would let anyone in.

use crate::proto::userkey::UserKey;
use crate::sys::fsys::{self, OFlag};
use std::path::Path;

use crate::config::MAX_AUTHORIZED_KEYS_FILE as MAX_FILE;

/// The key blobs listed in the file at `path`. Lines that are not a key are passed to
/// `warn` and skipped. A missing or unreadable file is an error (the caller decides what
/// that means: no trusted CA, or every key refused).
pub fn read_keys(path: &Path, warn: &mut dyn FnMut(String)) -> Result<Vec<Vec<u8>>, String> {
    let mut file = fsys::open(
        path,
        OFlag::O_RDONLY | OFlag::O_NONBLOCK | OFlag::O_NOCTTY,
        0,
    )
    .map_err(|e| format!("{}: {e}", fsys::show(path)))?;
    let meta = fsys::fstat(&file).map_err(|e| format!("{}: {e}", fsys::show(path)))?;
    if !meta.is_file() {
        return Err(format!("{} is not a regular file", fsys::show(path)));
    }
    // Whoever can write a CA into this file can log in as anyone: the file and the
    // directories above it must be quoll's (or root's) and writable by nobody else.
    super::check_path(path, &meta, crate::sys::ids::euid(), Path::new("/"))?;
    let contents = crate::readfile::read(&mut file, MAX_FILE)
        .map_err(|e| format!("{}: {e}", fsys::show(path)))?;
    if contents.truncated {
        return Err(format!(
            "{}: longer than {MAX_FILE} bytes",
            fsys::show(path)
        ));
    }
    Ok(parse_keys(&contents.data, &mut |n, why| {
        warn(format!("{}:{n}: {why}, skipped", fsys::show(path)))
    }))
}

/// The key blobs of a key list's text; `bad(line number, why)` for each line skipped.
fn parse_keys(text: &[u8], bad: &mut dyn FnMut(usize, &str)) -> Vec<Vec<u8>> {
    let mut keys = Vec::new();
    for (index, line) in text.split(|&b| b == b'\n').enumerate() {
        let Ok(line) = std::str::from_utf8(line) else {
            bad(index + 1, "not UTF-8");
            continue;
        };
        let line = line.trim_matches([' ', '\t', '\r']);
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let mut fields = line.split([' ', '\t']).filter(|f| !f.is_empty());
        let (Some(_type), Some(base64)) = (fields.next(), fields.next()) else {
            bad(index + 1, "no key on the line");
            continue;
        };
        match crate::base64::decode(base64) {
            Some(blob) => keys.push(blob),
            None => bad(index + 1, "invalid base64 in key"),
        }
    }
    keys
}

/// Is `key` (the blob `blob`) revoked by `list`: the key itself, a certificate's key, or
/// its CA? Returns what was found listed, for the log.
pub fn revoked(list: &[Vec<u8>], blob: &[u8], key: &UserKey<'_>) -> Option<&'static str> {
    let listed = |b: &[u8]| list.iter().any(|k| k.as_slice() == b);
    if listed(blob) {
        return Some("key");
    }
    match key {
        UserKey::Plain(_) => None,
        #[cfg(feature = "certs")]
        UserKey::Cert(c) => {
            if listed(&c.key.plain_blob()) {
                Some("certificate's key")
            } else if listed(c.signature_key) {
                Some("certificate's CA")
            } else {
                None
            }
        }
    }
}

/// The certificate's CA blob, for a certificate.
pub fn cert_ca<'a>(key: &UserKey<'a>) -> Option<&'a [u8]> {
    match key {
        UserKey::Plain(_) => None,
        #[cfg(feature = "certs")]
        UserKey::Cert(c) => Some(c.signature_key),
    }
}

/// Does the certificate `key` list `user` among its principals (what a CA of
/// `--trusted-user-ca-keys` asks)? The grant checks it again with the rest of the certificate.
pub fn cert_names(key: &UserKey<'_>, user: &str) -> bool {
    match key {
        UserKey::Plain(_) => {
            let _ = user;
            false
        }
        #[cfg(feature = "certs")]
        UserKey::Cert(c) => c.principals().any(|p| p == user.as_bytes()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::userkey;

    #[test]
    fn key_lists_skip_what_is_not_a_key() {
        let mut skipped = Vec::new();
        let keys = parse_keys(
            b"# revoked\n\nssh-ed25519 AAEC x\n  ssh-rsa\t AAECAw== old key\r\nbad\nssh-rsa !!\n",
            &mut |n, why| skipped.push((n, why.to_string())),
        );
        assert_eq!(keys, vec![vec![0, 1, 2], vec![0, 1, 2, 3]]);
        assert_eq!(
            skipped,
            vec![
                (5, "no key on the line".to_string()),
                (6, "invalid base64 in key".to_string())
            ]
        );
    }

    #[test]
    fn revocation_covers_the_key_and_a_certificate_ca() {
        let ed = crate::proto::crypto::Ed25519Key::from_seed(&[3; 32]).public_blob();
        let key = userkey::parse(&ed).unwrap();
        assert_eq!(revoked(&[ed.to_vec()], &ed, &key), Some("key"));
        assert_eq!(revoked(&[vec![1, 2]], &ed, &key), None);
    }
}
