//! SFTP packets: each length-framed packet of the input goes through `Request::parse`, and one
//! that parses must read back the same after `Request::emit`. Then the whole conversation
//! runs through the real server (`quoll::sftp::serve`) in a fresh private directory: every
//! path in a request that parsed is first confined to that directory (leading `/` and `..`
//! dropped, symlink targets kept relative), so the fuzzer can create, write, rename, link
//! and remove files there and nowhere else. Packets that do not parse, and bytes that are
//! not a whole packet, go to the server as they are. The server's output must be whole
//! packets.
#![no_main]

use libfuzzer_sys::fuzz_target;
use quoll::config::SFTP_MAX_PACKET;
use quoll::sftp::proto::Request;
use quoll::sftp::server::{EXIT_IO, EXIT_OK, EXIT_PROTOCOL};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// This process's scratch directory (mode 0700), emptied before every input.
fn scratch() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let base = std::env::var_os("QUOLL_FUZZ_TMP")
            .map_or_else(std::env::temp_dir, PathBuf::from)
            .join(format!("quoll-fuzz-sftp-{}", std::process::id()));
        wipe(&base);
        base
    })
}

/// Removes `dir` whatever the fuzzer made of it (modes included), then creates it empty.
fn wipe(dir: &Path) {
    if std::fs::remove_dir_all(dir).is_err() {
        let _ = std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700));
        allow_all(dir);
        let _ = std::fs::remove_dir_all(dir);
    }
    std::fs::DirBuilder::new()
        .mode(0o700)
        .create(dir)
        .expect("scratch directory");
}

/// Makes every directory below `dir` writable and searchable again (for a non-root run).
fn allow_all(dir: &Path) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        if e.file_type().is_ok_and(|t| t.is_dir()) {
            let _ = std::fs::set_permissions(e.path(), std::fs::Permissions::from_mode(0o700));
            allow_all(&e.path());
        }
    }
}

/// The path's components without `.`, `..` and empty ones, joined by `/`.
fn relative(p: &[u8]) -> Vec<u8> {
    p.split(|&b| b == b'/')
        .filter(|c| !c.is_empty() && *c != b"." && *c != b"..")
        .collect::<Vec<_>>()
        .join(&b'/')
}

/// `p` confined to the scratch directory.
fn confine(p: &[u8]) -> Vec<u8> {
    let mut out = scratch().as_os_str().as_bytes().to_vec();
    out.push(b'/');
    out.extend_from_slice(&relative(p));
    out
}

/// Emits `req` with every path confined (symlink targets relative, no `..`).
fn emit_confined(id: u32, req: &Request, buf: &mut Vec<u8>) {
    use Request as R;
    let (a, b);
    let r = match *req {
        R::Open { path, flags, attrs } => {
            a = confine(path);
            R::Open {
                path: &a,
                flags,
                attrs,
            }
        }
        R::Setstat { path, attrs } => {
            a = confine(path);
            R::Setstat { path: &a, attrs }
        }
        R::Lsetstat { path, attrs } => {
            a = confine(path);
            R::Lsetstat { path: &a, attrs }
        }
        R::Mkdir { path, attrs } => {
            a = confine(path);
            R::Mkdir { path: &a, attrs }
        }
        R::Lstat(p) => {
            a = confine(p);
            R::Lstat(&a)
        }
        R::Stat(p) => {
            a = confine(p);
            R::Stat(&a)
        }
        R::Opendir(p) => {
            a = confine(p);
            R::Opendir(&a)
        }
        R::Remove(p) => {
            a = confine(p);
            R::Remove(&a)
        }
        R::Rmdir(p) => {
            a = confine(p);
            R::Rmdir(&a)
        }
        R::Realpath(p) => {
            a = confine(p);
            R::Realpath(&a)
        }
        R::Readlink(p) => {
            a = confine(p);
            R::Readlink(&a)
        }
        R::Statvfs(p) => {
            a = confine(p);
            R::Statvfs(&a)
        }
        R::ExpandPath(p) => {
            a = confine(p);
            R::ExpandPath(&a)
        }
        R::Rename { from, to } => {
            (a, b) = (confine(from), confine(to));
            R::Rename { from: &a, to: &b }
        }
        R::PosixRename { from, to } => {
            (a, b) = (confine(from), confine(to));
            R::PosixRename { from: &a, to: &b }
        }
        R::Hardlink { from, to } => {
            (a, b) = (confine(from), confine(to));
            R::Hardlink { from: &a, to: &b }
        }
        R::Symlink { target, link } => {
            (a, b) = (relative(target), confine(link));
            R::Symlink {
                target: &a,
                link: &b,
            }
        }
        // Handles and data name no path.
        ref other => other.clone(),
    };
    r.emit(id, buf);
}

fuzz_target!(|data: &[u8]| {
    wipe(scratch());
    let mut input = Vec::with_capacity(data.len() + 1024);
    let mut buf = Vec::new();
    let mut rest = data;
    loop {
        let Some(head) = rest.get(..4) else {
            input.extend_from_slice(rest);
            break;
        };
        let len = u32::from_be_bytes([head[0], head[1], head[2], head[3]]) as usize;
        let Some(body) = rest.get(4..4 + len).filter(|_| len <= SFTP_MAX_PACKET) else {
            input.extend_from_slice(rest);
            break;
        };
        rest = &rest[4 + len..];
        match Request::parse(body) {
            Ok((id, req)) => {
                req.emit(id, &mut buf);
                let again = Request::parse(&buf[4..]).expect("an emitted request parses");
                assert_eq!(again, (id, req.clone()), "parse(emit(r)) == r");
                emit_confined(id, &req, &mut buf);
                input.extend_from_slice(&buf);
            }
            Err(_) => {
                // The server answers BAD_MESSAGE and stops here.
                input.extend_from_slice(&data[data.len() - rest.len() - 4 - len..]);
                break;
            }
        }
    }

    let mut out = Vec::new();
    let code = quoll::sftp::serve(&mut &input[..], &mut out);
    assert!(
        matches!(code, EXIT_OK | EXIT_PROTOCOL | EXIT_IO),
        "exit {code}"
    );
    let mut replies = &out[..];
    while !replies.is_empty() {
        let head: [u8; 4] = replies[..4.min(replies.len())]
            .try_into()
            .expect("reply length field");
        let n = u32::from_be_bytes(head) as usize;
        assert!((5..=SFTP_MAX_PACKET).contains(&n), "reply length {n}");
        replies = replies.get(4 + n..).expect("whole reply packets");
    }
});
