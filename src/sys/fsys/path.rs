//! std's `Path::parent`, `Path::file_name` and `Path::display` on Unix, worked out on the bytes.
//!
//! Same answers as std (the tests compare them on every short path over a small alphabet),
//! without std's Components iterator and the code it brings. As in std: repeated `/` and
//! `.` components count for nothing, except a leading `.`; `..` is a component of its own.

use std::ffi::OsStr;
use std::fmt;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

/// The last component of a path.
enum Last<'a> {
    /// A name, or `..` (which has a parent but is no file name).
    Name(&'a [u8]),
    /// A leading `.` with nothing after it.
    CurDir,
    /// `/` alone.
    Root,
}

/// Bytes before the components: the root `/` or a leading `.` component.
fn head_len(p: &[u8]) -> usize {
    match p {
        [b'/', ..] | [b'.'] | [b'.', b'/', ..] => 1,
        _ => 0,
    }
}

/// The component at the end of `p` (empty or `.` for a doubled `/` or a `/./`), and `p`
/// without it and the `/` before it.
fn split_back(p: &[u8], head: usize) -> (&[u8], &[u8]) {
    let body = p.get(head..).unwrap_or_default();
    match body.iter().rposition(|&b| b == b'/') {
        Some(i) => (&p[..head + i], &body[i + 1..]),
        None => (&p[..head], body),
    }
}

/// The last component of `p` and what stands before it, or `None` for an empty path.
fn last(p: &[u8]) -> Option<(Last<'_>, &[u8])> {
    let head = head_len(p);
    let mut rest = p;
    while rest.len() > head {
        let (before, comp) = split_back(rest, head);
        rest = before;
        if !comp.is_empty() && comp != b"." {
            return Some((Last::Name(comp), rest));
        }
    }
    match p.first() {
        Some(b'/') => Some((Last::Root, &p[..0])),
        Some(_) if head == 1 => Some((Last::CurDir, &p[..0])),
        _ => None,
    }
}

/// `Path::parent`: `p` without its last component (and the separators and `.`s before it);
/// `None` for `/` and the empty path.
pub fn parent(p: &Path) -> Option<&Path> {
    let bytes = p.as_os_str().as_bytes();
    let head = head_len(bytes);
    let mut rest = match last(bytes)? {
        (Last::Root, _) => return None,
        (_, rest) => rest,
    };
    // Trailing separators and `.` components are trimmed from what is left.
    while rest.len() > head {
        let (before, comp) = split_back(rest, head);
        if !comp.is_empty() && comp != b"." {
            break;
        }
        rest = before;
    }
    Some(Path::new(OsStr::from_bytes(rest)))
}

/// `Path::file_name`: the last component, `None` when it is `..`, `/` or a lone `.`.
pub fn file_name(p: &Path) -> Option<&OsStr> {
    match last(p.as_os_str().as_bytes())? {
        (Last::Name(n), _) if n != b".." => Some(OsStr::from_bytes(n)),
        _ => None,
    }
}

/// `Path::display`: the path for messages, bytes that are not UTF-8 shown as U+FFFD, as std
/// shows them (std's own formatter is some 600 bytes of MIPS code more).
pub fn show(p: &Path) -> Show<'_> {
    Show(p)
}

pub struct Show<'a>(&'a Path);

impl fmt::Display for Show<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(&String::from_utf8_lossy(self.0.as_os_str().as_bytes()))
    }
}

#[cfg(test)]
mod tests {
    //! Cases spelt out; `fsys/tests.rs` compares every short path with std's answers.
    use super::*;

    fn parent_of(p: &str) -> Option<&str> {
        parent(Path::new(p)).map(|p| p.to_str().unwrap())
    }

    fn name_of(p: &str) -> Option<&str> {
        file_name(Path::new(p)).map(|n| n.to_str().unwrap())
    }

    #[test]
    fn parents() {
        assert_eq!(parent_of("/a/b"), Some("/a"));
        assert_eq!(parent_of("/a//b/./"), Some("/a"));
        assert_eq!(parent_of("/a/.//b"), Some("/a"));
        assert_eq!(parent_of("/a"), Some("/"));
        assert_eq!(parent_of("a"), Some(""));
        assert_eq!(parent_of("./a"), Some("."));
        assert_eq!(parent_of("a/.."), Some("a"));
        assert_eq!(parent_of("/"), None);
        assert_eq!(parent_of(""), None);
    }

    #[test]
    fn file_names() {
        assert_eq!(name_of("/a/b"), Some("b"));
        assert_eq!(name_of("a/b/."), Some("b"));
        assert_eq!(name_of("a//b//"), Some("b"));
        assert_eq!(name_of("a/.."), None);
        assert_eq!(name_of("."), None);
        assert_eq!(name_of("/"), None);
        assert_eq!(name_of(""), None);
    }

    #[test]
    fn show_replaces_what_is_not_utf8_and_pads() {
        let p = Path::new(OsStr::from_bytes(b"/tmp/a\xffb"));
        assert_eq!(show(p).to_string(), "/tmp/a\u{fffd}b");
        assert_eq!(format!("[{:>4}]", show(Path::new("ab"))), "[  ab]");
    }
}
