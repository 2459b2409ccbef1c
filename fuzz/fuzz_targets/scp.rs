//! The built-in scp's pure parsers, each given the whole input: the command line (word
//! splitting, quoting, `scp -t`/`-f` options), `C`/`D` and `T` records, and glob patterns
//! (pattern and name split at the first NUL). Round trips: a record written back parses the
//! same; words quoted again split the same; a fully escaped name matches only itself.
#![no_main]

use libfuzzer_sys::fuzz_target;
use quoll::scp::{glob_match, parse_command, parse_record, parse_times, split_words, unescape};

/// `s` as one single-quoted shell word (`'` written as `'\''`).
fn quote(s: &[u8]) -> Vec<u8> {
    let mut q = vec![b'\''];
    for &b in s {
        if b == b'\'' {
            q.extend_from_slice(b"'\\''");
        } else {
            q.push(b);
        }
    }
    q.push(b'\'');
    q
}

/// Every byte backslash-escaped: a pattern that matches only `s`.
fn escape_all(s: &[u8]) -> Vec<u8> {
    s.iter().flat_map(|&b| [b'\\', b]).collect()
}

fuzz_target!(|data: &[u8]| {
    let _ = parse_command(data);
    if let Some(words) = split_words(data) {
        let literal: Vec<Vec<u8>> = words.iter().map(|w| unescape(w)).collect();
        let line: Vec<u8> = literal
            .iter()
            .map(|w| quote(w))
            .collect::<Vec<_>>()
            .join(&b' ');
        let again = split_words(&line).expect("quoted words split");
        let again: Vec<Vec<u8>> = again.iter().map(|w| unescape(w)).collect();
        assert_eq!(again, literal);
    }

    if let Ok(rec) = parse_record(data) {
        let mut line = format!(
            "{}{:04o} {} ",
            if rec.dir { 'D' } else { 'C' },
            rec.mode,
            rec.size
        )
        .into_bytes();
        line.extend_from_slice(rec.name);
        assert_eq!(parse_record(&line), Ok(rec));
    }
    if let Some(rest) = data.strip_prefix(b"T") {
        if let Some((mtime, atime)) = parse_times(rest) {
            let line = format!("{mtime} 0 {atime} 0");
            assert_eq!(parse_times(line.as_bytes()), Some((mtime, atime)));
        }
    }

    let (pattern, name) = match data.iter().position(|&b| b == 0) {
        Some(i) => (&data[..i], &data[i + 1..]),
        None => (data, &b""[..]),
    };
    let hit = glob_match(pattern, name);
    if !pattern.iter().any(|b| b"*?[\\".contains(b)) {
        assert_eq!(
            hit,
            pattern == name,
            "a pattern without specials is literal"
        );
    }
    assert!(glob_match(&escape_all(name), name));
    assert_eq!(
        glob_match(&escape_all(pattern), name),
        pattern == name,
        "an escaped pattern is literal"
    );
    assert!(glob_match(b"*", name));
    assert_eq!(unescape(&escape_all(name)), name);
});
