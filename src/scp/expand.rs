//! Source operands expanded as a shell would: `~`, and glob characters against a directory
//! listing.

use super::glob::{glob_match, has_glob, is_dot_or_dotdot};
use super::words::unescape;
use crate::sys::fsys::Dir;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

/// Expands a source pattern as the shell would: a leading unquoted `~` is the home
/// directory; unquoted glob characters in the last component match directory entries
/// (dot files only when the pattern starts with a dot), sorted. No match leaves the
/// pattern as it is, so the error names it.
pub(super) fn expand(p: &[u8], home: Option<&Path>) -> Vec<PathBuf> {
    let (prefix, p) = match (home, p) {
        (Some(h), b"~") => (Some(h), &b""[..]),
        (Some(h), _) if p.starts_with(b"~/") => (Some(h), &p[2..]),
        _ => (None, p),
    };
    let join = |rest: &[u8]| -> PathBuf {
        let rest = PathBuf::from(std::ffi::OsStr::from_bytes(rest));
        match prefix {
            Some(h) => h.join(rest),
            None => rest,
        }
    };
    let (dir, last) = match p.iter().rposition(|&b| b == b'/') {
        Some(i) => (&p[..=i], &p[i + 1..]),
        None => (&b""[..], p),
    };
    if !has_glob(last) || has_glob(dir) {
        return vec![join(&unescape(p))];
    }
    let dir_lit = unescape(dir);
    let dir_path = join(&dir_lit);
    let listing = Dir::open(if dir_path.as_os_str().is_empty() {
        Path::new(".")
    } else {
        &dir_path
    });
    let mut names: Vec<Vec<u8>> = listing
        .into_iter()
        .flatten()
        .flatten()
        .filter(|n| !is_dot_or_dotdot(n))
        .filter(|n| (!n.starts_with(b".") || last.starts_with(b".")) && glob_match(last, n))
        .collect();
    if names.is_empty() {
        return vec![join(&unescape(p))];
    }
    names.sort();
    names
        .into_iter()
        .map(|n| {
            let mut full = dir_lit.clone();
            full.extend_from_slice(&n);
            join(&full)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::super::glob::escape_globs;
    use super::super::run::tests::tmp;
    use super::*;
    use std::fs;

    #[test]
    fn sources_expand_like_a_shell() {
        let d = tmp("glob");
        for n in ["a.log", "b.log", ".h.log", "c.txt", "*.log"] {
            fs::write(d.join(n), b"").unwrap();
        }
        let dir = d.as_os_str().as_bytes();
        let pat = |p: &str| [dir, b"/", p.as_bytes()].concat();
        let names = |v: Vec<PathBuf>| -> Vec<String> {
            v.iter()
                .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
                .collect()
        };
        assert_eq!(
            names(expand(&pat("*.log"), None)),
            ["*.log", "a.log", "b.log"]
        );
        assert_eq!(names(expand(&pat(".*.log"), None)), [".h.log"]);
        // readdir's "." and ".." are no matches, as in a shell.
        assert_eq!(expand(&pat(".*"), None), [d.join(".h.log")]);
        assert_eq!(names(expand(&pat(r"\*.log"), None)), ["*.log"]);
        assert_eq!(names(expand(&pat("*.none"), None)), ["*.none"]);
        let home = Path::new("/home/u");
        assert_eq!(expand(b"~/a b", Some(home)), [PathBuf::from("/home/u/a b")]);
        assert_eq!(expand(b"~", Some(home)), [PathBuf::from("/home/u")]);
        assert_eq!(expand(br"\~/x", Some(home)), [PathBuf::from("~/x")]);
        assert_eq!(escape_globs(b"a*b"), br"a\*b");
        fs::remove_dir_all(&d).unwrap();
    }
}
