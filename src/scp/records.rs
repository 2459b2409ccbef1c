//! The scp protocol's records: `C`/`D` lines (mode, size, name) and `T` lines (times), read
//! and written. The sink and source loops in `run` send and receive them.

/// A parsed `C` or `D` record.
#[derive(Debug, PartialEq, Eq)]
pub struct Record<'a> {
    pub dir: bool,
    pub mode: u32,
    pub size: u64,
    pub name: &'a [u8],
}

/// Parses `C0644 12 name` / `D0755 0 name` (without the newline). Rejects names that would
/// leave the target directory.
pub fn parse_record(line: &[u8]) -> Result<Record<'_>, &'static str> {
    let (&kind, rest) = line.split_first().ok_or("empty record")?;
    if kind != b'C' && kind != b'D' {
        return Err("expected control record");
    }
    let mode_end = rest
        .iter()
        .position(|&b| b == b' ')
        .ok_or("mode not delimited")?;
    let mode_digits = &rest[..mode_end];
    if mode_digits.is_empty()
        || mode_digits.len() > 4
        || !mode_digits.iter().all(|b| (b'0'..=b'7').contains(b))
    {
        return Err("bad mode");
    }
    let mode = mode_digits
        .iter()
        .fold(0u32, |m, &d| (m << 3) | u32::from(d - b'0'));
    let rest = &rest[mode_end + 1..];
    let size_end = rest
        .iter()
        .position(|&b| b == b' ')
        .ok_or("size not delimited")?;
    let size_digits = &rest[..size_end];
    if size_digits.is_empty() || !size_digits.iter().all(u8::is_ascii_digit) {
        return Err("size not present");
    }
    let size = std::str::from_utf8(size_digits)
        .ok()
        .and_then(|s| s.parse::<u64>().ok())
        .filter(|&s| s <= i64::MAX as u64)
        .ok_or("size out of range")?;
    let name = &rest[size_end + 1..];
    if name.is_empty() || name.contains(&b'/') || name == b".." || name == b"." {
        return Err("unexpected filename");
    }
    Ok(Record {
        dir: kind == b'D',
        mode,
        size,
        name,
    })
}

/// Parses `T<mtime> <usec> <atime> <usec>` (without the `T` and newline): (mtime, atime).
pub fn parse_times(line: &[u8]) -> Option<(i64, i64)> {
    let text = std::str::from_utf8(line).ok()?;
    let f: Vec<&str> = text.split(' ').collect();
    if f.len() != 4 {
        return None;
    }
    let n = |s: &str| -> Option<i64> {
        (!s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()))
            .then(|| s.parse().ok())
            .flatten()
    };
    let (mtime, _, atime, _) = (n(f[0])?, n(f[1])?, n(f[2])?, n(f[3])?);
    Some((mtime, atime))
}

/// The `C` or `D` line for `rec`, newline included. A name holding a newline cannot be
/// sent (the caller refuses such files).
pub(super) fn record_line(rec: &Record) -> Vec<u8> {
    let kind = if rec.dir { 'D' } else { 'C' };
    let mut line = format!("{kind}{:04o} {} ", rec.mode, rec.size).into_bytes();
    line.extend_from_slice(rec.name);
    line.push(b'\n');
    line
}

/// `T<mtime> 0 <atime> 0`, newline included.
pub(super) fn times_line(mtime: i64, atime: i64) -> Vec<u8> {
    format!("T{mtime} 0 {atime} 0\n").into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records() {
        assert_eq!(
            parse_record(b"C0644 12 a b"),
            Ok(Record {
                dir: false,
                mode: 0o644,
                size: 12,
                name: b"a b"
            })
        );
        assert_eq!(
            parse_record(b"D4755 0 dir"),
            Ok(Record {
                dir: true,
                mode: 0o4755,
                size: 0,
                name: b"dir"
            })
        );
        for bad in [
            &b"C0644 12 ../x"[..],
            b"C0644 12 ..",
            b"C0644 12 a/b",
            b"C0644 12 ",
            b"C0648 1 x",
            b"C06444 1 x",
            b"C0644 -1 x",
            b"C0644 99999999999999999999 x",
            b"C0644 1x",
            b"X0644 1 x",
            b"C",
            b"",
        ] {
            assert!(
                parse_record(bad).is_err(),
                "{:?}",
                String::from_utf8_lossy(bad)
            );
        }
        assert_eq!(
            parse_times(b"1700000000 0 1600000000 0"),
            Some((1_700_000_000, 1_600_000_000))
        );
        assert_eq!(parse_times(b"1 0 2"), None);
        assert_eq!(parse_times(b"-1 0 2 0"), None);
    }

    /// The message `parse_record` gives for `line` (a panic fails the test too).
    fn refused(line: &str) -> &'static str {
        match parse_record(line.as_bytes()) {
            Ok(r) => panic!("{line:?} accepted as {r:?}"),
            Err(why) => why,
        }
    }

    #[test]
    fn malformed_records() {
        for line in [
            "C0689 1 x",
            "C06a4 1 x",
            "C+644 1 x",
            "C-644 1 x",
            "C 1 x",
            "C0x1f 1 x",
        ] {
            assert_eq!(refused(line), "bad mode", "{line}");
        }
        for line in [
            "C0644 18446744073709551616 x",
            "C0644 99999999999999999999999999 x",
            "C0644 9223372036854775808 x",
        ] {
            assert_eq!(refused(line), "size out of range", "{line}");
        }
        assert!(parse_record(b"C0644 9223372036854775807 x").is_ok());
        for line in ["C0644 +1 x", "C0644 1e3 x", "C0644  1 x", "C0644 0x10 x"] {
            assert_eq!(refused(line), "size not present", "{line}");
        }
        for line in [
            "C0644 1 a/b",
            "C0644 1 /",
            "C0644 1 ..",
            "C0644 1 .",
            "D0755 0 ",
            "D0755 0 x/",
        ] {
            assert_eq!(refused(line), "unexpected filename", "{line}");
        }
        assert_eq!(refused("C0644"), "mode not delimited");
        assert_eq!(refused("C0644 12"), "size not delimited");
        assert_eq!(refused("C064412x"), "mode not delimited");
        assert_eq!(refused("E0644 1 x"), "expected control record");
        // Names are bytes: spaces, leading dots and non-UTF-8 are names like any other.
        for name in [&b" x "[..], b"...", b".x", b"\xff\xfe"] {
            let line = [&b"C0600 0 "[..], name].concat();
            assert_eq!(parse_record(&line).map(|r| r.name), Ok(name));
        }
    }

    #[test]
    fn malformed_times() {
        for t in [
            "",
            "1 0 2",
            "1 0 2 0 3",
            "1 0 2 0 ",
            " 1 0 2 0",
            "1  0 2 0",
            "-1 0 2 0",
            "+1 0 2 0",
            "1 0 x 0",
            "1 0 2 0x",
            "1.5 0 2 0",
            "9223372036854775808 0 1 0",
            "1 0 99999999999999999999 0",
            "1 99999999999999999999 2 0",
            "1\t0\t2\t0",
            "1 0 2 0\r",
        ] {
            assert_eq!(parse_times(t.as_bytes()), None, "{t:?}");
        }
        assert_eq!(parse_times(b"1 \xff 2 0"), None);
        assert_eq!(
            parse_times(b"9223372036854775807 999999 0 0"),
            Some((i64::MAX, 0))
        );
    }

    #[test]
    fn lines_written_read_back() {
        let rec = Record {
            dir: false,
            mode: 0o4755,
            size: u64::MAX >> 1,
            name: b"a b\xff",
        };
        let line = record_line(&rec);
        assert_eq!(line, b"C4755 9223372036854775807 a b\xff\n");
        assert_eq!(parse_record(&line[..line.len() - 1]), Ok(rec));
        let dir = Record {
            dir: true,
            mode: 0o700,
            size: 0,
            name: b"d",
        };
        assert_eq!(record_line(&dir), b"D0700 0 d\n");
        assert_eq!(times_line(1_700_000_000, 0), b"T1700000000 0 0 0\n");
        let t = times_line(5, 6);
        assert_eq!(parse_times(&t[1..t.len() - 1]), Some((5, 6)));
    }
}
