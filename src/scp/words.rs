//! Word splitting of the command line a client sends (`scp -t -- 'a b'`) with the quoting a
//! POSIX shell gives it, never a shell itself. Quoted glob characters stay escaped so that
//! only unquoted ones expand.

/// Characters a word keeps backslash-escaped when they came quoted: the glob characters,
/// `~` (home) and the backslash itself.
const SPECIAL: &[u8] = b"*?[~\\";

/// Splits a shell command line into words, as patterns: blanks separate words; `'...'` is
/// literal; `"..."` is literal but for `\\`-escapes of `\\ " $ \``; `\\x` outside quotes is
/// a literal `x`. Literal (quoted or escaped) `* ? [ ~ \\` are kept backslash-escaped in the
/// word, so that only unquoted ones glob or expand (see `unescape`, `expand`).
/// Returns `None` on an unterminated quote or an unquoted shell operator or expansion
/// (`; & | < > ( ) $ \`` and newline): such a line needs a real shell.
pub fn split_words(cmd: &[u8]) -> Option<Vec<Vec<u8>>> {
    fn literal(w: &mut Vec<u8>, c: u8) {
        if SPECIAL.contains(&c) {
            w.push(b'\\');
        }
        w.push(c);
    }
    let mut words = Vec::new();
    let mut word: Option<Vec<u8>> = None;
    let mut i = 0;
    while i < cmd.len() {
        let c = cmd[i];
        i += 1;
        match c {
            b' ' | b'\t' => {
                if let Some(w) = word.take() {
                    words.push(w);
                }
            }
            b'\'' => {
                let w = word.get_or_insert_with(Vec::new);
                let end = cmd[i..].iter().position(|&b| b == b'\'')?;
                for &b in &cmd[i..i + end] {
                    literal(w, b);
                }
                i += end + 1;
            }
            b'"' => {
                let w = word.get_or_insert_with(Vec::new);
                loop {
                    let c = *cmd.get(i)?;
                    i += 1;
                    match c {
                        b'"' => break,
                        b'\\' if matches!(cmd.get(i), Some(b'\\' | b'"' | b'$' | b'`')) => {
                            literal(w, cmd[i]);
                            i += 1;
                        }
                        b'$' | b'`' => return None,
                        _ => literal(w, c),
                    }
                }
            }
            b'\\' => {
                let c = *cmd.get(i)?;
                i += 1;
                if c != b'\n' {
                    literal(word.get_or_insert_with(Vec::new), c);
                }
            }
            b';' | b'&' | b'|' | b'<' | b'>' | b'(' | b')' | b'$' | b'`' | b'\n' => return None,
            _ => word.get_or_insert_with(Vec::new).push(c),
        }
    }
    if let Some(w) = word {
        words.push(w);
    }
    Some(words)
}

/// A pattern word with its escapes removed: the literal text.
pub fn unescape(p: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(p.len());
    let mut i = 0;
    while i < p.len() {
        if p[i] == b'\\' && i + 1 < p.len() {
            i += 1;
        }
        out.push(p[i]);
        i += 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(s: &str) -> Option<Vec<String>> {
        split_words(s.as_bytes()).map(|v| {
            v.into_iter()
                .map(|w| String::from_utf8(w).unwrap())
                .collect()
        })
    }

    #[test]
    fn splitting_follows_shell_quoting() {
        assert_eq!(
            words("scp -t -- '/tmp/a b'").unwrap(),
            ["scp", "-t", "--", "/tmp/a b"]
        );
        assert_eq!(words(r"scp -f 'it'\''s'").unwrap(), ["scp", "-f", "it's"]);
        assert_eq!(words(r"scp -f a\ b").unwrap(), ["scp", "-f", "a b"]);
        assert_eq!(
            words(r#"scp -f "a \"b\" \$c""#).unwrap(),
            ["scp", "-f", r#"a "b" $c"#]
        );
        assert_eq!(words("  scp\t-t  x  ").unwrap(), ["scp", "-t", "x"]);
        assert_eq!(words("scp -t ''").unwrap(), ["scp", "-t", ""]);
        assert_eq!(
            words("scp -f 'ünï cødé'").unwrap(),
            ["scp", "-f", "ünï cødé"]
        );
        // Needs a shell: operators, expansions, globs, unterminated quotes.
        for bad in [
            "scp -t x; rm -rf /",
            "scp -t $HOME",
            "scp -t 'x",
            "scp -t \"x",
            "scp -t x\\",
            "scp -t `id`",
            "scp -t x | y",
            "scp -t \"$(id)\"",
        ] {
            assert_eq!(words(bad), None, "{bad}");
        }
    }

    #[test]
    fn quoted_specials_stay_escaped() {
        assert_eq!(
            words(r#"scp -f '*.txt' \? "[a]" *.log ~/x '~'"#).unwrap(),
            ["scp", "-f", r"\*.txt", r"\?", r"\[a]", "*.log", "~/x", r"\~"]
        );
        assert_eq!(words(r"scp -f 'a\b'").unwrap(), ["scp", "-f", r"a\\b"]);
        assert_eq!(unescape(br"a\\b\*c"), br"a\b*c");
    }
}
