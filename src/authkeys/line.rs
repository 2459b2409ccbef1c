//! One line of authorized_keys: `[options] keytype base64 [comment]`.

use super::options::parse_options;
use super::KeyOptions;
use crate::proto::userkey::{self, KeyError, Kind};

/// A line's options and its `from=` pattern list.
pub(super) type Parsed = (KeyOptions, Option<String>);

/// A key line, ready to compare: a user key, or (`cert-authority`) a CA's key.
#[derive(Debug)]
pub(super) struct Entry {
    pub(super) options: KeyOptions,
    /// `from="pattern-list"`.
    pub(super) from: Option<String>,
    /// `cert-authority`: the key signs certificates; it does not log in itself.
    pub(super) cert_authority: bool,
    pub(super) blob: Vec<u8>,
}

/// Parses one line. `Ok(None)`: nothing that could match (blank, comment, a key type quoll
/// does not know). `Err`: a line to warn about, among them a key kind this build leaves
/// out, a key that does not match its type name, and an RSA key under 2048 bits.
pub(super) fn parse_line(line: &str) -> Result<Option<Entry>, String> {
    let line = line.trim_matches([' ', '\t', '\r']);
    if line.is_empty() || line.starts_with('#') {
        return Ok(None);
    }
    let first = line.split([' ', '\t']).next().unwrap_or("");
    let ((options, from), cert_authority, rest) = if is_key_type(first) {
        ((KeyOptions::default(), None), false, line)
    } else {
        parse_options(line)?
    };
    let mut fields = rest.split([' ', '\t']).filter(|f| !f.is_empty());
    let (Some(key_type), Some(base64)) = (fields.next(), fields.next()) else {
        return Err("no key on the line".into());
    };
    match Kind::from_blob_name(key_type.as_bytes()) {
        Ok((_, false)) => {}
        Ok((_, true)) => return Err("a certificate is not a key to list".into()),
        Err(KeyError::NotBuilt) => {
            // A known name (from_blob_name says so), safe to log.
            return Err(format!("key type {key_type} not supported by this build"));
        }
        Err(_) => return Ok(None),
    }
    let blob = crate::base64::decode(base64).ok_or("invalid base64 in key")?;
    let mut options = options;
    options.info = info(rest, base64);
    // The blob must be a good key of the type the line names.
    let key = userkey::parse_plain(&blob).map_err(|e| format!("bad key: {e}"))?;
    if key.kind().name() != key_type {
        return Err("key does not match its type name".into());
    }
    Ok(Some(Entry {
        options,
        from,
        cert_authority,
        blob,
    }))
}

/// Dropbear's SSH_PUBKEYINFO: what follows the one space after the key's base64, up to
/// the next space, if it is not empty and every character is a letter, a digit or one of
/// `.,_-+@` (the value reaches shell scripts).
fn info(rest: &str, base64: &str) -> Option<String> {
    // `base64` is a slice of `rest`: the comment starts after it.
    let end = base64.as_ptr() as usize - rest.as_ptr() as usize + base64.len();
    let comment = rest.get(end..)?.strip_prefix(' ')?;
    let word = comment.split(' ').next()?;
    let allowed = |c: char| c.is_ascii_alphanumeric() || ".,_-+@".contains(c);
    (!word.is_empty() && word.chars().all(allowed)).then(|| word.to_string())
}

/// Key type names that can start a line with no options.
fn is_key_type(word: &str) -> bool {
    word.starts_with("ssh-") || word.starts_with("ecdsa-") || word.starts_with("sk-")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::crypto::Ed25519Key;

    #[test]
    fn line_parsing() {
        let ed = crate::base64::encode(&Ed25519Key::from_seed(&[1; 32]).public_blob());
        assert!(parse_line("").unwrap().is_none());
        assert!(parse_line("  # comment").unwrap().is_none());
        assert!(parse_line("ssh-dss AAAA x").unwrap().is_none());
        assert!(parse_line("ssh-ed25519").is_err());
        assert!(parse_line("ssh-ed25519 !!!!").is_err());
        // Not an Ed25519 key blob.
        assert!(parse_line("ssh-ed25519 AAECAw== comment").is_err());
        let e = parse_line(&format!("ssh-ed25519\t{ed} comment with spaces"))
            .unwrap()
            .unwrap();
        assert_eq!(e.blob, Ed25519Key::from_seed(&[1; 32]).public_blob());
        assert!(!e.cert_authority);
        // The blob says ssh-ed25519, the line another type.
        assert_eq!(
            parse_line(&format!("ecdsa-sha2-nistp256 {ed}")).unwrap_err(),
            if cfg!(feature = "ecdsa") {
                "key does not match its type name"
            } else {
                "key type ecdsa-sha2-nistp256 not supported by this build"
            }
        );
        let e = parse_line(&format!(
            "cert-authority,principals=\"a,b\" ssh-ed25519 {ed}"
        ))
        .unwrap()
        .unwrap();
        assert!(e.cert_authority);
        assert_eq!(e.options.principals.as_deref(), Some("a,b"));
        let e = parse_line(&format!(
            "no-touch-required,verify-required ssh-ed25519 {ed}"
        ))
        .unwrap()
        .unwrap();
        assert!(e.options.no_touch_required && e.options.verify_required && !e.cert_authority);
        assert!(parse_line(&format!("principals=\"\" ssh-ed25519 {ed}")).is_err());
        // SSH_PUBKEYINFO: the comment's first word, when it holds only safe characters.
        let info = |l: String| parse_line(&l).unwrap().unwrap().options.info;
        assert_eq!(
            info(format!("ssh-ed25519 {ed} alice@laptop")),
            Some("alice@laptop".into())
        );
        assert_eq!(
            info(format!("no-pty ssh-ed25519 {ed} a.b_c-d+e,f second")),
            Some("a.b_c-d+e,f".into())
        );
        assert_eq!(info(format!("ssh-ed25519 {ed} alice$(reboot)")), None);
        assert_eq!(info(format!("ssh-ed25519 {ed}  two-spaces")), None);
        assert_eq!(info(format!("ssh-ed25519 {ed}")), None);
    }
}
