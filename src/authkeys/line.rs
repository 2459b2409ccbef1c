//! One line of authorized_keys: `[options] keytype base64 [comment]`.

use super::options::parse_options;
use super::KeyOptions;

/// A line's options and its `from=` pattern list.
pub(super) type Parsed = (KeyOptions, Option<String>);

/// An ssh-ed25519 line, ready to compare.
#[derive(Debug)]
pub(super) struct Entry {
    pub(super) options: KeyOptions,
    /// `from="pattern-list"`.
    pub(super) from: Option<String>,
    pub(super) blob: Vec<u8>,
}

/// Parses one line. `Ok(None)`: nothing that could match (blank, comment, another key type,
/// a certificate authority). `Err`: a line to warn about.
pub(super) fn parse_line(line: &str) -> Result<Option<Entry>, String> {
    let line = line.trim_matches([' ', '\t', '\r']);
    if line.is_empty() || line.starts_with('#') {
        return Ok(None);
    }
    let first = line.split([' ', '\t']).next().unwrap_or("");
    let ((options, from), rest) = if is_key_type(first) {
        ((KeyOptions::default(), None), line)
    } else {
        match parse_options(line)? {
            Some(parsed) => parsed,
            None => return Ok(None),
        }
    };
    let mut fields = rest.split([' ', '\t']).filter(|f| !f.is_empty());
    let (Some(key_type), Some(base64)) = (fields.next(), fields.next()) else {
        return Err("no key on the line".into());
    };
    if key_type != "ssh-ed25519" {
        return Ok(None);
    }
    let blob = crate::base64::decode(base64).ok_or("invalid base64 in key")?;
    Ok(Some(Entry {
        options,
        from,
        blob,
    }))
}

/// Key type names that can start a line with no options.
fn is_key_type(word: &str) -> bool {
    word.starts_with("ssh-") || word.starts_with("ecdsa-") || word.starts_with("sk-")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_parsing() {
        assert!(parse_line("").unwrap().is_none());
        assert!(parse_line("  # comment").unwrap().is_none());
        assert!(parse_line("ssh-rsa AAAA x").unwrap().is_none());
        assert!(parse_line("ssh-ed25519").is_err());
        assert!(parse_line("ssh-ed25519 !!!!").is_err());
        let e = parse_line("ssh-ed25519\tAAECAw== comment with spaces")
            .unwrap()
            .unwrap();
        assert_eq!(e.blob, vec![0, 1, 2, 3]);
    }
}
