//! The host key file formats, from bytes and to bytes: OpenSSH's armored `openssh-key-v1`
//! (PROTOCOL.key, unencrypted only), Dropbear's binary Ed25519 file and the `.pub` line. No
//! files and no system calls here: `store` does those, `hostkey` joins the two.

#![forbid(unsafe_code)]

use crate::base64;
use crate::proto::crypto::{self, Ed25519Key, ED25519_NAME};
use crate::proto::wire::{vec_string, vec_u32, Reader};
use zeroize::Zeroizing;

pub(super) const BEGIN: &str = "-----BEGIN OPENSSH PRIVATE KEY-----";
pub(super) const END: &str = "-----END OPENSSH PRIVATE KEY-----";
const MAGIC: &[u8] = b"openssh-key-v1\0";
/// Why a key of another type (RSA, ECDSA, DSS) is refused; `HostKeyError::is_other_type`
/// recognises it.
pub(super) const NOT_ED25519: &str = "not an Ed25519 key";
/// OpenSSH wraps the base64 body at 70 columns.
pub(super) const WRAP: usize = 70;

/// `ssh-ed25519 AAAA... comment`
pub fn public_line(key: &Ed25519Key, comment: &str) -> String {
    let mut line = format!("ssh-ed25519 {}", base64::encode(&key.public_blob()));
    if !comment.is_empty() {
        line.push(' ');
        line.push_str(comment);
    }
    line
}

// ---- Parsing ----

/// Parses either format; the error says what is wrong, the caller adds the file name.
pub(super) fn parse(data: &[u8]) -> Result<(Ed25519Key, String), &'static str> {
    if data.starts_with(BEGIN.as_bytes()) {
        let blob = dearmor(data)?;
        return parse_openssh(&blob);
    }
    if data.starts_with(b"-----BEGIN ") {
        return Err("a PEM key, not an OpenSSH (openssh-key-v1) Ed25519 key");
    }
    parse_dropbear(data).map(|key| (key, String::new()))
}

/// The base64 body between the BEGIN and END lines, decoded.
fn dearmor(data: &[u8]) -> Result<Zeroizing<Vec<u8>>, &'static str> {
    let text = std::str::from_utf8(data).map_err(|_| "corrupt (not text)")?;
    let mut lines = text.lines().map(str::trim);
    lines.next(); // BEGIN, checked by the caller
    let mut body = Zeroizing::new(String::new());
    for line in lines.by_ref() {
        if line == END {
            let decoded = base64::decode(&body).ok_or("corrupt (bad base64)")?;
            return Ok(Zeroizing::new(decoded));
        }
        body.push_str(line);
    }
    Err("truncated (no END line)")
}

/// PROTOCOL.key: magic, cipher, kdf, kdf options, key count, public keys, private section.
fn parse_openssh(blob: &[u8]) -> Result<(Ed25519Key, String), &'static str> {
    const SHORT: &str = "truncated or corrupt";
    let mut r = Reader::new(blob);
    if r.bytes(MAGIC.len()).map_err(|_| SHORT)? != MAGIC {
        return Err("corrupt (no openssh-key-v1 header)");
    }
    let cipher = r.string().map_err(|_| SHORT)?;
    let kdf = r.string().map_err(|_| SHORT)?;
    let kdf_options = r.string().map_err(|_| SHORT)?;
    if cipher != b"none" || kdf != b"none" || !kdf_options.is_empty() {
        return Err("encrypted (passphrase-protected) keys are not supported");
    }
    if r.u32().map_err(|_| SHORT)? != 1 {
        return Err("the file must hold exactly one key");
    }
    let public_blob = r.string().map_err(|_| SHORT)?;
    let private = r.string().map_err(|_| SHORT)?;
    r.end().map_err(|_| "corrupt (data after the key)")?;
    if Reader::new(public_blob).string().map_err(|_| SHORT)? != ED25519_NAME {
        return Err(NOT_ED25519);
    }
    let public = crypto::parse_public_blob(public_blob).map_err(|_| SHORT)?;

    let mut r = Reader::new(private);
    let check1 = r.u32().map_err(|_| SHORT)?;
    let check2 = r.u32().map_err(|_| SHORT)?;
    // Unequal check ints mean a wrong passphrase in an encrypted key, or corruption here.
    if check1 != check2 {
        return Err("corrupt (check numbers differ)");
    }
    if r.string().map_err(|_| SHORT)? != ED25519_NAME {
        return Err(NOT_ED25519);
    }
    let inner_public = r.string().map_err(|_| SHORT)?;
    let pair: &[u8; 64] = r
        .string()
        .map_err(|_| SHORT)?
        .try_into()
        .map_err(|_| "corrupt (private key length)")?;
    // A control character in the comment would split the one-line `.pub` file and log lines;
    // the key itself is sound, so it is kept and the character shown as '?'.
    let comment: String = r
        .text()
        .map_err(|_| SHORT)?
        .chars()
        .map(|c| if c.is_control() { '?' } else { c })
        .collect();
    // Padding is 1, 2, 3, ... up to the cipher block size.
    let pad = r.rest();
    if pad.iter().enumerate().any(|(i, &b)| b as usize != i + 1) {
        return Err("corrupt (padding)");
    }
    if inner_public != public {
        return Err("corrupt (public keys differ)");
    }
    let key = key_from_pair(pair)?;
    if key.public_key() != public {
        return Err("corrupt (public key does not match private key)");
    }
    Ok((key, comment))
}

/// Which of the two formats `data` is in, as `parse` decides it (it then checks it).
pub(super) fn is_openssh(data: &[u8]) -> bool {
    data.starts_with(BEGIN.as_bytes())
}

/// Dropbear: string "ssh-ed25519", string (32-byte seed || 32-byte public key).
fn parse_dropbear(data: &[u8]) -> Result<Ed25519Key, &'static str> {
    let mut r = Reader::new(data);
    let kind = r.string().map_err(|_| "unrecognized format")?;
    if kind != ED25519_NAME {
        if [&b"ssh-rsa"[..], b"ssh-dss"].contains(&kind) || kind.starts_with(b"ecdsa-") {
            return Err(NOT_ED25519);
        }
        return Err("unrecognized format (neither OpenSSH nor Dropbear)");
    }
    let pair: &[u8; 64] = r
        .string()
        .map_err(|_| "truncated")?
        .try_into()
        .map_err(|_| "corrupt (private key length)")?;
    r.end().map_err(|_| "corrupt (data after the key)")?;
    key_from_pair(pair)
}

/// Whether a comment can stand in a one-line `.pub` file and a log line: no control
/// characters (a newline would split the public key line in two).
pub(super) fn comment_ok(comment: &str) -> bool {
    !comment.chars().any(char::is_control)
}

/// seed || public, as both formats store it; the public half must match the seed.
fn key_from_pair(pair: &[u8; 64]) -> Result<Ed25519Key, &'static str> {
    let mut seed = Zeroizing::new([0u8; 32]);
    seed.copy_from_slice(&pair[..32]);
    let key = Ed25519Key::from_seed(&seed);
    if key.public_key()[..] != pair[32..] {
        return Err("corrupt (public key does not match private key)");
    }
    Ok(key)
}

// ---- Writing ----

/// The binary openssh-key-v1 structure (PROTOCOL.key), unencrypted.
pub(super) fn openssh_blob(key: &Ed25519Key, comment: &str, check: [u8; 4]) -> Zeroizing<Vec<u8>> {
    let public = key.public_key();
    let mut private = Zeroizing::new(Vec::with_capacity(160));
    // Two equal check numbers: how a reader spots a wrong passphrase (or corruption).
    private.extend_from_slice(&check);
    private.extend_from_slice(&check);
    vec_string(&mut private, ED25519_NAME);
    vec_string(&mut private, &public);
    let mut pair = Zeroizing::new([0u8; 64]);
    pair[..32].copy_from_slice(key.seed());
    pair[32..].copy_from_slice(&public);
    vec_string(&mut private, &pair[..]);
    vec_string(&mut private, comment.as_bytes());
    // Pad to the block size of cipher "none", 8.
    let mut pad = 1;
    while private.len() % 8 != 0 {
        private.push(pad);
        pad += 1;
    }

    let mut blob = Zeroizing::new(Vec::with_capacity(300));
    blob.extend_from_slice(MAGIC);
    vec_string(&mut blob, b"none");
    vec_string(&mut blob, b"none");
    vec_string(&mut blob, b"");
    vec_u32(&mut blob, 1);
    vec_string(&mut blob, &key.public_blob());
    vec_string(&mut blob, &private);
    blob
}

/// Dropbear's Ed25519 key file (`dropbearkey.c`, `buf_put_ed25519_priv_key`): the key type
/// and the seed followed by the public key, each as an SSH string. It has no comment.
pub(super) fn dropbear_bytes(key: &Ed25519Key) -> Zeroizing<Vec<u8>> {
    let mut pair = Zeroizing::new([0u8; 64]);
    pair[..32].copy_from_slice(key.seed());
    pair[32..].copy_from_slice(&key.public_key());
    let mut out = Zeroizing::new(Vec::with_capacity(4 + ED25519_NAME.len() + 4 + 64));
    vec_string(&mut out, ED25519_NAME);
    vec_string(&mut out, &pair[..]);
    out
}

/// BEGIN line, base64 wrapped at 70 columns, END line.
pub(super) fn armor(blob: &[u8]) -> Zeroizing<String> {
    let body = Zeroizing::new(base64::encode(blob));
    let mut text = Zeroizing::new(String::with_capacity(body.len() + 100));
    text.push_str(BEGIN);
    text.push('\n');
    let mut rest: &str = &body;
    while !rest.is_empty() {
        // base64 is ASCII, so any byte index is a character boundary.
        let (line, tail) = rest.split_at(rest.len().min(WRAP));
        text.push_str(line);
        text.push('\n');
        rest = tail;
    }
    text.push_str(END);
    text.push('\n');
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> Ed25519Key {
        Ed25519Key::from_seed(&[3; 32])
    }

    /// An openssh-key-v1 blob built from parts, so that any part may be wrong.
    struct Blob {
        magic: Vec<u8>,
        cipher: Vec<u8>,
        nkeys: u32,
        public_blob: Vec<u8>,
        check: [u32; 2],
        kind: Vec<u8>,
        public: Vec<u8>,
        pair: Vec<u8>,
        comment: Vec<u8>,
        /// `None`: 1, 2, 3, ... up to a multiple of 8.
        pad: Option<Vec<u8>>,
    }

    impl Blob {
        fn good(comment: &[u8]) -> Blob {
            let k = key();
            let mut pair = k.seed().to_vec();
            pair.extend_from_slice(&k.public_key());
            Blob {
                magic: MAGIC.to_vec(),
                cipher: b"none".to_vec(),
                nkeys: 1,
                public_blob: k.public_blob().to_vec(),
                check: [0x0102_0304; 2],
                kind: ED25519_NAME.to_vec(),
                public: k.public_key().to_vec(),
                pair,
                comment: comment.to_vec(),
                pad: None,
            }
        }

        fn private(&self) -> Vec<u8> {
            let mut p = Vec::new();
            vec_u32(&mut p, self.check[0]);
            vec_u32(&mut p, self.check[1]);
            vec_string(&mut p, &self.kind);
            vec_string(&mut p, &self.public);
            vec_string(&mut p, &self.pair);
            vec_string(&mut p, &self.comment);
            match &self.pad {
                Some(pad) => p.extend_from_slice(pad),
                None => {
                    let mut i = 1;
                    while p.len() % 8 != 0 {
                        p.push(i);
                        i += 1;
                    }
                }
            }
            p
        }

        /// The blob with the private section's length field as given.
        fn with_private_len(&self, len: u32) -> Vec<u8> {
            let mut b = self.magic.clone();
            vec_string(&mut b, &self.cipher);
            vec_string(&mut b, b"none");
            vec_string(&mut b, b"");
            vec_u32(&mut b, self.nkeys);
            vec_string(&mut b, &self.public_blob);
            vec_u32(&mut b, len);
            b.extend_from_slice(&self.private());
            b
        }

        fn bytes(&self) -> Vec<u8> {
            self.with_private_len(self.private().len() as u32)
        }

        fn text(&self) -> Vec<u8> {
            armor(&self.bytes()).as_bytes().to_vec()
        }
    }

    /// The reason `data` is refused (a panic would fail the test too).
    fn why(data: &[u8]) -> &'static str {
        match parse(data) {
            Ok((_, comment)) => panic!("accepted (comment {comment:?})"),
            Err(why) => why,
        }
    }

    fn dropbear(kind: &[u8], pair: &[u8]) -> Vec<u8> {
        let mut d = Vec::new();
        vec_string(&mut d, kind);
        vec_string(&mut d, pair);
        d
    }

    #[test]
    fn the_test_blob_is_what_quoll_writes() {
        let good = Blob::good(b"c");
        assert_eq!(good.bytes(), *openssh_blob(&key(), "c", [1, 2, 3, 4]));
        let (k, comment) = parse(&good.text()).unwrap();
        assert_eq!((k.seed(), comment.as_str()), (key().seed(), "c"));
    }

    #[test]
    fn truncated() {
        let good = Blob::good(b"host@board");
        let blob = good.bytes();
        for n in 0..blob.len() {
            why(armor(&blob[..n]).as_bytes());
        }
        // The text cut anywhere before the END line is complete.
        let text = good.text();
        for n in 0..text.len() - 1 {
            why(&text[..n]);
        }
        assert_eq!(why(&text[..text.len() - 5]), "truncated (no END line)");
        let d = dropbear(ED25519_NAME, &good.pair);
        assert!(parse(&d).is_ok());
        for n in 0..d.len() {
            why(&d[..n]);
        }
    }

    #[test]
    fn wrong_magic_or_armor() {
        for magic in [
            &b"openssh-key-v2\0"[..],
            b"openssh-key-v1",
            b"",
            b"OPENSSH-KEY-V1\0",
        ] {
            let mut b = Blob::good(b"");
            b.magic = magic.to_vec();
            why(&b.text());
        }
        let text = String::from_utf8(Blob::good(b"").text()).unwrap();
        let mut bad = text.clone().into_bytes();
        bad[40] = 0xff;
        assert_eq!(why(&bad), "corrupt (not text)");
        let mut bad = text.clone().into_bytes();
        bad[BEGIN.len() + 1] = b'*';
        assert_eq!(why(&bad), "corrupt (bad base64)");
        assert_eq!(
            why(text.replace(END, "").as_bytes()),
            "truncated (no END line)"
        );
        assert!(why(b"-----BEGIN OPENSSH PRIVATE KEY-----").starts_with("truncated"));
        assert!(why(b"-----BEGIN EC PRIVATE KEY-----\n").contains("PEM"));
    }

    #[test]
    fn lengths_that_lie() {
        let good = Blob::good(b"c");
        let len = good.private().len() as u32;
        for lie in [len + 1, len - 1, 0, u32::MAX] {
            why(armor(&good.with_private_len(lie)).as_bytes());
        }
        for nkeys in [0, 2, u32::MAX] {
            let mut b = Blob::good(b"c");
            b.nkeys = nkeys;
            assert_eq!(why(&b.text()), "the file must hold exactly one key");
        }
        for n in [0, 31, 63, 65, 128] {
            let mut b = Blob::good(b"c");
            b.pair.resize(n, 7);
            why(&b.text());
            why(&dropbear(ED25519_NAME, &b.pair));
        }
        let mut b = Blob::good(b"c");
        b.public_blob.truncate(40);
        why(&b.text());
        // A string length field past the end, inside the private section and in Dropbear's.
        let mut b = Blob::good(b"c");
        b.comment = vec![];
        let mut bytes = b.bytes();
        // The comment's length field is followed only by the padding.
        let unpadded = 8 + 4 + ED25519_NAME.len() + 4 + 32 + 4 + 64 + 4;
        let at = bytes.len() - (b.private().len() - unpadded) - 4;
        assert_eq!(bytes[at..at + 4], [0; 4]);
        bytes[at..at + 4].copy_from_slice(&u32::MAX.to_be_bytes());
        why(armor(&bytes).as_bytes());
        let mut d = dropbear(ED25519_NAME, &good.pair);
        d[15..19].copy_from_slice(&65u32.to_be_bytes());
        why(&d);
        d[15..19].copy_from_slice(&u32::MAX.to_be_bytes());
        why(&d);
        let mut d = dropbear(ED25519_NAME, &good.pair);
        d.push(0);
        assert_eq!(why(&d), "corrupt (data after the key)");
    }

    #[test]
    fn check_ints_and_padding() {
        let mut b = Blob::good(b"c");
        b.check = [1, 2];
        assert_eq!(why(&b.text()), "corrupt (check numbers differ)");
        for pad in [&[0u8][..], &[2], &[1, 3], &[1, 2, 3, 4, 5, 6, 8], b"a"] {
            let mut b = Blob::good(b"c");
            b.pad = Some(pad.to_vec());
            assert_eq!(why(&b.text()), "corrupt (padding)", "{pad:?}");
        }
        // No padding, or more than one block of it, is still well formed.
        for pad in [vec![], (1..=16).collect()] {
            let mut b = Blob::good(b"c");
            b.pad = Some(pad);
            assert!(parse(&b.text()).is_ok());
        }
    }

    #[test]
    fn public_and_private_must_match() {
        let other = Ed25519Key::from_seed(&[4; 32]);
        let mut b = Blob::good(b"c");
        b.public_blob = other.public_blob().to_vec();
        assert_eq!(why(&b.text()), "corrupt (public keys differ)");
        let mut b = Blob::good(b"c");
        b.public = other.public_key().to_vec();
        b.public_blob = other.public_blob().to_vec();
        assert!(why(&b.text()).contains("does not match"));
        let mut b = Blob::good(b"c");
        b.pair[32..].copy_from_slice(&other.public_key());
        assert!(why(&b.text()).contains("does not match"));
        assert!(why(&dropbear(ED25519_NAME, &b.pair)).contains("does not match"));
        let mut b = Blob::good(b"c");
        b.kind = b"ssh-rsa".to_vec();
        assert_eq!(why(&b.text()), "not an Ed25519 key");
        let mut b = Blob::good(b"c");
        b.cipher = b"aes256-ctr".to_vec();
        assert!(why(&b.text()).contains("encrypted"));
        assert_eq!(why(&dropbear(b"ssh-rsa", &b.pair)), "not an Ed25519 key");
        assert!(why(&dropbear(b"ssh-ed448", &b.pair)).starts_with("unrecognized"));
    }

    #[test]
    fn comments_with_odd_bytes() {
        for bad in [&b"\xff"[..], b"a\xc3"] {
            why(&Blob::good(bad).text());
        }
        // A key is not refused for its comment: control characters are shown as '?'.
        for (odd, shown) in [
            (&b"nul\0inside"[..], "nul?inside"),
            (b"two\nlines", "two?lines"),
            (b"cr\r", "cr?"),
            (b"esc\x1b[2J", "esc?[2J"),
            (b"del\x7f", "del?"),
            ("c1\u{85}".as_bytes(), "c1?"),
        ] {
            let (_, comment) = parse(&Blob::good(odd).text()).unwrap();
            assert_eq!(comment, shown);
        }
        for good in ["", "user@host", "ünï cødé ☃", "a b  c"] {
            let (_, comment) = parse(&Blob::good(good.as_bytes()).text()).unwrap();
            assert_eq!(comment, good);
        }
        assert!(comment_ok("root@router") && !comment_ok("a\nb") && !comment_ok("\t"));
    }

    #[test]
    fn random_corruption_never_panics() {
        let good = Blob::good(b"user@board").bytes();
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut next = || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        for _ in 0..3000 {
            let mut bad = good.clone();
            for _ in 0..1 + next() % 3 {
                let i = (next() % bad.len() as u64) as usize;
                bad[i] = next() as u8;
            }
            let _ = parse(armor(&bad).as_bytes());
            let cut = (next() % bad.len() as u64) as usize;
            let _ = parse(&bad[..cut]);
        }
    }

    #[test]
    fn public_line_format() {
        let line = public_line(&key(), "a b");
        assert!(
            line.starts_with("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI"),
            "{line}"
        );
        assert!(line.ends_with(" a b"));
        assert_eq!(public_line(&key(), "").split(' ').count(), 2);
    }
}
