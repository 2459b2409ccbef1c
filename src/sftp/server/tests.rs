//! The request loop driven with real packets against a scratch directory.

use super::*;
use crate::sftp::proto::{self, Reader};
use std::fs;

fn tmp(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("quoll-sftp-{}-{}", tag, std::process::id()));
    let _ = fs::remove_dir_all(&d);
    fs::create_dir(&d).unwrap();
    d
}

/// Runs `serve` over `reqs` (INIT first); returns the exit code and the reply packets
/// (type byte + payload) after VERSION.
fn session(reqs: &[Request]) -> (i32, Vec<Vec<u8>>) {
    let mut input = Vec::new();
    let mut buf = Vec::new();
    Request::Init { version: 3 }.emit(0, &mut buf);
    input.extend_from_slice(&buf);
    for (i, r) in reqs.iter().enumerate() {
        r.emit(i as u32 + 1, &mut buf);
        input.extend_from_slice(&buf);
    }
    let mut out = Vec::new();
    let code = serve(&mut &input[..], &mut out);
    let mut packets = Vec::new();
    let mut rest = &out[..];
    while !rest.is_empty() {
        let n = u32::from_be_bytes(rest[..4].try_into().unwrap()) as usize;
        packets.push(rest[4..4 + n].to_vec());
        rest = &rest[4 + n..];
    }
    assert_eq!(packets[0][0], proto::FXP_VERSION);
    packets.remove(0);
    (code, packets)
}

/// (type, id, status code if STATUS)
fn head(p: &[u8]) -> (u8, u32, Option<u32>) {
    let mut r = Reader::new(p);
    let kind = r.u8().unwrap();
    let id = r.u32().unwrap();
    let code = (kind == proto::FXP_STATUS).then(|| r.u32().unwrap());
    (kind, id, code)
}

fn handle_of(p: &[u8]) -> Vec<u8> {
    let mut r = Reader::new(&p[5..]);
    r.string().unwrap().to_vec()
}

fn path_bytes(p: &std::path::Path) -> Vec<u8> {
    p.as_os_str().as_bytes().to_vec()
}

#[test]
fn write_then_read_back() {
    let d = tmp("rw");
    let f = path_bytes(&d.join("f"));
    // Handles are predictable: slot 0, generation 1 then 2.
    let h1 = [0, 0, 0, 0, 0, 0, 0, 1];
    let h2 = [0, 0, 0, 0, 0, 0, 0, 2];
    let reqs = [
        Request::Open {
            path: &f,
            flags: proto::FXF_WRITE | proto::FXF_CREAT | proto::FXF_TRUNC,
            attrs: Attrs {
                permissions: Some(0o600),
                ..Default::default()
            },
        },
        Request::Write {
            handle: &h1,
            offset: 0,
            data: b"hello",
        },
        Request::Close(&h1),
        Request::Stat(&f),
        Request::Open {
            path: &f,
            flags: proto::FXF_READ,
            attrs: Attrs::default(),
        },
        Request::Read {
            handle: &h2,
            offset: 1,
            len: 100,
        },
        Request::Read {
            handle: &h2,
            offset: 5,
            len: 100,
        },
        Request::Read {
            handle: &h1,
            offset: 0,
            len: 1,
        },
        Request::Limits,
        Request::UnknownExtended(b"copy-data"),
        Request::Realpath(b"/tmp/../tmp/no-such-file"),
    ];
    let (code, p) = session(&reqs);
    assert_eq!(code, EXIT_OK);
    assert_eq!(p.len(), reqs.len());
    assert_eq!(head(&p[0]), (proto::FXP_HANDLE, 1, None));
    assert_eq!(handle_of(&p[0]), h1);
    assert_eq!(head(&p[1]), (proto::FXP_STATUS, 2, Some(0)));
    assert_eq!(head(&p[2]), (proto::FXP_STATUS, 3, Some(0)));
    let mut r = Reader::new(&p[3][5..]);
    let a = r.attrs().unwrap();
    assert_eq!(a.size, Some(5));
    assert_eq!(a.permissions.map(|m| m & 0o777), Some(0o600));
    assert_eq!(handle_of(&p[4]), h2);
    assert_eq!(head(&p[5]).0, proto::FXP_DATA);
    assert_eq!(handle_of(&p[5]), b"ello");
    assert_eq!(
        head(&p[6]),
        (proto::FXP_STATUS, 7, Some(Status::Eof as u32))
    );
    // h1 was closed: a stale handle.
    assert_eq!(
        head(&p[7]),
        (proto::FXP_STATUS, 8, Some(Status::Failure as u32))
    );
    let mut r = Reader::new(&p[8][5..]);
    assert_eq!(r.u64(), Ok(SFTP_MAX_PACKET as u64));
    assert_eq!(
        head(&p[9]),
        (proto::FXP_STATUS, 10, Some(Status::OpUnsupported as u32))
    );
    let mut r = Reader::new(&p[10][5..]);
    assert_eq!(r.u32(), Ok(1));
    assert_eq!(r.string(), Ok(&b"/tmp/no-such-file"[..]));
    fs::remove_dir_all(&d).unwrap();
}

#[test]
fn reads_are_clamped_and_handles_bounded() {
    let d = tmp("limits");
    let f = d.join("big");
    fs::write(&f, vec![7u8; SFTP_MAX_READ + 5000]).unwrap();
    let fb = path_bytes(&f);
    let db = path_bytes(&d);
    let mut reqs = vec![
        Request::Open {
            path: &fb,
            flags: proto::FXF_READ,
            attrs: Attrs::default(),
        },
        Request::Read {
            handle: &[0, 0, 0, 0, 0, 0, 0, 1],
            offset: 0,
            len: u32::MAX,
        },
    ];
    for _ in 0..SFTP_MAX_HANDLES {
        reqs.push(Request::Opendir(&db));
    }
    let (code, p) = session(&reqs);
    assert_eq!(code, EXIT_OK);
    let mut r = Reader::new(&p[1][5..]);
    assert_eq!(r.string().map(<[u8]>::len), Ok(SFTP_MAX_READ));
    // One file handle + 63 directories fit; the 64th directory does not.
    for reply in &p[2..p.len() - 1] {
        assert_eq!(reply[0], proto::FXP_HANDLE);
    }
    assert_eq!(head(p.last().unwrap()).2, Some(Status::Failure as u32));
    fs::remove_dir_all(&d).unwrap();
}

#[test]
fn readdir_lists_then_ends() {
    let d = tmp("dir");
    for n in 0..100 {
        fs::write(d.join(format!("f{n}")), b"").unwrap();
    }
    let db = path_bytes(&d);
    let h = [0, 0, 0, 0, 0, 0, 0, 1];
    let mut reqs = vec![Request::Opendir(&db)];
    for _ in 0..3 {
        reqs.push(Request::Readdir(&h));
    }
    let (_, p) = session(&reqs);
    let count = |p: &[u8]| Reader::new(&p[5..]).u32().unwrap();
    assert_eq!(p[1][0], proto::FXP_NAME);
    assert_eq!(p[2][0], proto::FXP_NAME);
    // 100 files plus "." and "..".
    assert_eq!(count(&p[1]) + count(&p[2]), 102);
    assert_eq!(head(&p[3]).2, Some(Status::Eof as u32));
    // Entries carry an ls -l line ending in the name; "." and ".." come in readdir's order.
    let mut dots = 0;
    for batch in [&p[1], &p[2]] {
        let mut r = Reader::new(&batch[9..]);
        for _ in 0..count(batch) {
            let name = r.string().unwrap().to_vec();
            let long = r.string().unwrap();
            r.attrs().unwrap();
            assert!(long.ends_with(&name));
            let dot = name == b"." || name == b"..";
            dots += usize::from(dot);
            let want: &[u8] = if dot { b"d" } else { b"-rw" };
            assert!(long.starts_with(want), "{}", String::from_utf8_lossy(long));
        }
    }
    assert_eq!(dots, 2, "\".\" and \"..\" are listed");
    fs::remove_dir_all(&d).unwrap();
}

#[test]
fn truncated_input_is_an_error_exit() {
    let mut buf = Vec::new();
    Request::Init { version: 3 }.emit(0, &mut buf);
    buf.extend_from_slice(&[0, 0, 0, 50, 17]);
    let mut out = Vec::new();
    assert_eq!(serve(&mut &buf[..], &mut out), EXIT_IO);
    // A second INIT is a protocol error.
    let mut twice = Vec::new();
    Request::Init { version: 3 }.emit(0, &mut buf);
    twice.extend_from_slice(&buf);
    twice.extend_from_slice(&buf);
    assert_eq!(serve(&mut &twice[..], &mut Vec::new()), EXIT_PROTOCOL);
}
