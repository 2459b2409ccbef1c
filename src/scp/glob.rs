//! fnmatch(3)-style matching of a pattern from `words` against a file name, in bytes.

/// Whether a pattern has an unescaped `*`, `?` or `[`.
pub(super) fn has_glob(p: &[u8]) -> bool {
    let mut i = 0;
    while i < p.len() {
        match p[i] {
            b'\\' => i += 1,
            b'*' | b'?' | b'[' => return true,
            _ => {}
        }
        i += 1;
    }
    false
}

/// Matches a `[...]` class at the start of `p` against `c`: (matched, length of the class),
/// or `None` when the class is not closed (then `[` is literal, as in the shell).
fn class(p: &[u8], c: u8) -> Option<(bool, usize)> {
    let mut i = 1;
    let negate = matches!(p.get(i), Some(b'!' | b'^'));
    if negate {
        i += 1;
    }
    let mut matched = false;
    let mut first = true;
    loop {
        let mut lo = *p.get(i)?;
        if lo == b']' && !first {
            return Some((matched != negate, i + 1));
        }
        first = false;
        if lo == b'\\' {
            i += 1;
            lo = *p.get(i)?;
        }
        i += 1;
        let mut hi = lo;
        if p.get(i) == Some(&b'-') && p.get(i + 1).is_some_and(|&b| b != b']') {
            hi = p[i + 1];
            i += 2;
            if hi == b'\\' {
                hi = *p.get(i)?;
                i += 1;
            }
        }
        matched |= (lo..=hi).contains(&c);
    }
}

/// fnmatch(3) without flags over bytes: `*`, `?`, `[...]`, backslash escapes.
pub fn glob_match(p: &[u8], n: &[u8]) -> bool {
    let (mut pi, mut ni) = (0, 0);
    // Where to resume after the last `*`: (pattern index after it, name index it covers to).
    let mut star: Option<(usize, usize)> = None;
    while ni < n.len() {
        let step = match p.get(pi) {
            Some(b'*') => {
                star = Some((pi + 1, ni));
                pi += 1;
                continue;
            }
            Some(b'?') => Some(1),
            Some(b'[') => match class(&p[pi..], n[ni]) {
                Some((true, len)) => Some(len),
                Some((false, _)) => None,
                None => (n[ni] == b'[').then_some(1),
            },
            Some(b'\\') if pi + 1 < p.len() => (p[pi + 1] == n[ni]).then_some(2),
            Some(&c) => (c == n[ni]).then_some(1),
            None => None,
        };
        match (step, star) {
            (Some(len), _) => {
                pi += len;
                ni += 1;
            }
            (None, Some((sp, sn))) => {
                star = Some((sp, sn + 1));
                pi = sp;
                ni = sn + 1;
            }
            (None, None) => return false,
        }
    }
    p[pi..].iter().all(|&b| b == b'*')
}

/// A word the shell has expanded already, as a pattern that matches only itself: every
/// backslash and glob character escaped, and a leading `~` made `./~` (a file of that name).
pub fn literal(p: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(p.len() + 2);
    if p == b"~" || p.starts_with(b"~/") {
        out.extend_from_slice(b"./");
    }
    for &b in p {
        if matches!(b, b'\\' | b'*' | b'?' | b'[') {
            out.push(b'\\');
        }
        out.push(b);
    }
    out
}

/// `p` with its unescaped glob characters escaped: only `~` still expands.
pub(super) fn escape_globs(p: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(p.len());
    let mut i = 0;
    while i < p.len() {
        match p[i] {
            b'\\' if i + 1 < p.len() => {
                out.extend_from_slice(&p[i..i + 2]);
                i += 2;
                continue;
            }
            b'*' | b'?' | b'[' => out.push(b'\\'),
            _ => {}
        }
        out.push(p[i]);
        i += 1;
    }
    out
}

/// "." and "..", which readdir(3) lists and a shell's glob and scp's recursion leave out.
pub(super) fn is_dot_or_dotdot(name: &[u8]) -> bool {
    name == b"." || name == b".."
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_literal_word_matches_only_itself() {
        for name in ["a*b", "x?", "[ab]", r"back\slash", "plain"] {
            let pattern = literal(name.as_bytes());
            assert!(glob_match(&pattern, name.as_bytes()), "{name}");
            assert!(!glob_match(&pattern, b"ab"), "{name}");
        }
        assert_eq!(literal(b"~"), b"./~");
        assert_eq!(literal(b"~/x"), b"./~/x");
        assert_eq!(literal(b"a~"), b"a~");
    }

    #[test]
    fn glob_matching() {
        let m = |p: &str, n: &str| glob_match(p.as_bytes(), n.as_bytes());
        assert!(m("*.log", "a.log") && m("*.log", ".log") && !m("*.log", "a.txt"));
        assert!(m("a*b*c", "aXXbYYc") && m("a*b*c", "abc") && !m("a*b*c", "acb"));
        assert!(m("?x", "ax") && !m("?x", "x"));
        assert!(m("[a-c]1", "b1") && !m("[a-c]1", "d1") && m("[!a-c]1", "d1"));
        assert!(m("[]]", "]") && m("[a-]", "-"));
        assert!(m(r"\*", "*") && !m(r"\*", "a"));
        assert!(m("[", "[") && m("x[y", "x[y"));
        assert!(m("*", "") && m("**", "abc"));
    }
}
