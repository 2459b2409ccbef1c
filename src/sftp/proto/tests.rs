//! Requests and replies round-trip, and no input makes the parser misread or panic.

use super::*;

fn round_trip(req: Request, id: u32) {
    let mut buf = Vec::new();
    req.emit(id, &mut buf);
    let len = u32::from_be_bytes(buf[..4].try_into().unwrap()) as usize;
    assert_eq!(len, buf.len() - 4);
    let (got_id, got) = Request::parse(&buf[4..]).unwrap();
    assert_eq!(got, req);
    if !matches!(req, Request::Init { .. }) {
        assert_eq!(got_id, id);
    }
    // Every strict prefix is truncated input and must be rejected, not misread.
    for cut in 0..buf.len() - 4 {
        let body = &buf[4..4 + cut];
        if let Ok((_, r)) = Request::parse(body) {
            // Only requests whose last field is optional may parse short.
            panic!("prefix of {cut} bytes parsed as {r:?}");
        }
    }
}

#[test]
fn requests_round_trip() {
    let attrs = Attrs {
        size: Some(1 << 40),
        uid_gid: Some((1000, 100)),
        permissions: Some(0o100644),
        times: Some((1, 0xffff_ffff)),
    };
    let reqs = [
        Request::Init { version: 3 },
        Request::Open {
            path: b"/tmp/a b",
            flags: FXF_WRITE | FXF_CREAT | FXF_TRUNC,
            attrs,
        },
        Request::Close(b"\0\0\0\x01"),
        Request::Read {
            handle: b"h",
            offset: u64::MAX,
            len: 32768,
        },
        Request::Write {
            handle: b"h",
            offset: 5,
            data: b"hello",
        },
        Request::Lstat(b"x"),
        Request::Fstat(b"h"),
        Request::Setstat {
            path: b"p",
            attrs: Attrs::default(),
        },
        Request::Fsetstat {
            handle: b"h",
            attrs,
        },
        Request::Opendir(b"."),
        Request::Readdir(b"h"),
        Request::Remove(b"f"),
        Request::Mkdir {
            path: b"d",
            attrs: Attrs {
                permissions: Some(0o755),
                ..Default::default()
            },
        },
        Request::Rmdir(b"d"),
        Request::Realpath(b""),
        Request::Stat("é".as_bytes()),
        Request::Rename {
            from: b"a",
            to: b"b",
        },
        Request::Readlink(b"l"),
        Request::Symlink {
            target: b"t",
            link: b"l",
        },
        Request::PosixRename {
            from: b"a",
            to: b"b",
        },
        Request::Statvfs(b"/"),
        Request::Fstatvfs(b"h"),
        Request::Hardlink {
            from: b"a",
            to: b"b",
        },
        Request::Fsync(b"h"),
        Request::ExpandPath(b"~/x"),
        Request::Lsetstat { path: b"l", attrs },
        Request::UnknownExtended(b"copy-data"),
    ];
    for (i, r) in reqs.into_iter().enumerate() {
        round_trip(r, i as u32 * 7919);
    }
}

#[test]
fn limits_and_unknown_parse() {
    let mut buf = Vec::new();
    Request::Limits.emit(9, &mut buf);
    assert_eq!(Request::parse(&buf[4..]), Ok((9, Request::Limits)));
    let body = [99u8, 0, 0, 0, 5, 1, 2, 3];
    assert_eq!(Request::parse(&body), Ok((5, Request::Unknown(99))));
}

#[test]
fn known_bytes() {
    // OPEN id 1 "ab" READ no attrs
    let body = [
        3, 0, 0, 0, 1, 0, 0, 0, 2, b'a', b'b', 0, 0, 0, 1, 0, 0, 0, 0,
    ];
    assert_eq!(
        Request::parse(&body),
        Ok((
            1,
            Request::Open {
                path: b"ab",
                flags: FXF_READ,
                attrs: Attrs::default()
            }
        ))
    );
    let mut out = Vec::new();
    Reply::Status {
        code: Status::Eof,
        message: "End of file",
    }
    .emit(7, &mut out);
    let mut want = vec![0, 0, 0, 30, 101, 0, 0, 0, 7, 0, 0, 0, 1, 0, 0, 0, 11];
    want.extend_from_slice(b"End of file");
    want.extend_from_slice(&[0, 0, 0, 2, b'e', b'n']);
    assert_eq!(out, want);
}

#[test]
fn lying_lengths_are_rejected() {
    // A path length far beyond the packet.
    let body = [13, 0, 0, 0, 1, 0xff, 0xff, 0xff, 0xff, b'a'];
    assert_eq!(Request::parse(&body), Err(ParseError));
    // An attribute extension count that cannot fit.
    let body = [
        9, 0, 0, 0, 1, 0, 0, 0, 1, b'p', 0x80, 0, 0, 0, 0xff, 0xff, 0xff, 0xff,
    ];
    assert_eq!(Request::parse(&body), Err(ParseError));
    assert_eq!(Request::parse(&[]), Err(ParseError));
    assert_eq!(Request::parse(&[4, 0, 0]), Err(ParseError));
}

/// Random bytes, and random corruptions of valid requests, parse or fail but never panic.
#[test]
fn random_input_never_panics() {
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    let mut valid = Vec::new();
    Request::Write {
        handle: b"12345678",
        offset: 7,
        data: b"data",
    }
    .emit(1, &mut valid);
    for _ in 0..20_000 {
        let len = (next() % 64) as usize;
        let mut body: Vec<u8> = (0..len).map(|_| next() as u8).collect();
        if let Some(b) = body.first_mut() {
            *b %= 24; // mostly known packet types
        }
        let _ = Request::parse(&body);
        let mut v = valid[4..].to_vec();
        let i = (next() as usize) % v.len();
        v[i] = next() as u8;
        let _ = Request::parse(&v[..(next() as usize) % (v.len() + 1)]);
    }
}

#[test]
fn extended_attrs_are_skipped() {
    let mut body = vec![9, 0, 0, 0, 1, 0, 0, 0, 1, b'p'];
    body.extend_from_slice(&(ATTR_EXTENDED | ATTR_PERMISSIONS).to_be_bytes());
    body.extend_from_slice(&0o600u32.to_be_bytes());
    body.extend_from_slice(&[0, 0, 0, 1, 0, 0, 0, 1, b'k', 0, 0, 0, 1, b'v']);
    let (_, r) = Request::parse(&body).unwrap();
    assert_eq!(
        r,
        Request::Setstat {
            path: b"p",
            attrs: Attrs {
                permissions: Some(0o600),
                ..Default::default()
            }
        }
    );
}

#[test]
fn replies_parse_back() {
    let attrs = Attrs {
        size: Some(3),
        permissions: Some(0o40755),
        ..Default::default()
    };
    let entries = [
        NameEntry {
            name: b"a",
            long: b"-rw-r--r--    1 u g 3 Jan  1 00:00 a",
            attrs,
        },
        NameEntry {
            name: b"b",
            long: b"b",
            attrs: Attrs::default(),
        },
    ];
    let mut out = Vec::new();
    Reply::Name(&entries).emit(4, &mut out);
    let mut r = Reader::new(&out[4..]);
    assert_eq!(r.u8(), Ok(FXP_NAME));
    assert_eq!(r.u32(), Ok(4));
    assert_eq!(r.u32(), Ok(2));
    for e in &entries {
        assert_eq!(r.string(), Ok(e.name));
        assert_eq!(r.string(), Ok(e.long));
        assert_eq!(r.attrs(), Ok(e.attrs));
    }
    assert!(r.is_empty());
    assert_eq!(
        out.len(),
        4 + 9 + entries.iter().map(NameEntry::len).sum::<usize>()
    );

    Reply::Version.emit(0, &mut out);
    let mut r = Reader::new(&out[4..]);
    assert_eq!((r.u8(), r.u32()), (Ok(FXP_VERSION), Ok(3)));
    let mut names = Vec::new();
    while !r.is_empty() {
        names.push(r.string().unwrap().to_vec());
        r.string().unwrap();
    }
    assert!(names.contains(&b"limits@openssh.com".to_vec()));

    Reply::Limits(Limits {
        max_packet: 1,
        max_read: 2,
        max_write: 3,
        max_handles: 4,
    })
    .emit(8, &mut out);
    assert_eq!(out.len(), 4 + 1 + 4 + 32);
    let mut r = Reader::new(&out[4..]);
    assert_eq!((r.u8(), r.u32()), (Ok(FXP_EXTENDED_REPLY), Ok(8)));
    assert_eq!(
        (r.u64(), r.u64(), r.u64(), r.u64()),
        (Ok(1), Ok(2), Ok(3), Ok(4))
    );

    let d = data_header(3, 5);
    Reply::Data(b"hello").emit(3, &mut out);
    assert_eq!(&out[..DATA_HEADER], &d);
}
