//! Issue 2, test 4: 64 MiB of random bytes through `cat` in both directions arrive intact
//! (SHA-256), also with `-o RekeyLimit=1M` so that dozens of key exchanges happen mid-stream.
//!
//! The server runs on this machine as this user, so the remote side's files are in the test's
//! temporary directory and are hashed locally.

mod common;
use common::*;
use std::fs::File;
use std::io::{Read, Write};
use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

const SIZE: usize = 64 << 20;
const TRANSFER_TIMEOUT: Duration = Duration::from_secs(240);

fn random_file(path: &Path) -> String {
    let mut src = File::open("/dev/urandom").expect("open /dev/urandom");
    let mut dst = File::create(path).expect("create random file");
    let mut buf = vec![0u8; 1 << 20];
    for _ in 0..SIZE / buf.len() {
        src.read_exact(&mut buf).expect("read /dev/urandom");
        dst.write_all(&buf).expect("write random file");
    }
    drop(dst);
    sha256_file(path)
}

/// `ssh host cat` with the file on stdin and stdout to another file: both directions at once.
fn round_trip(opts: &[&str]) {
    let srv = Server::start();
    let src = srv.dir.join("src.bin");
    let back = srv.dir.join("back.bin");
    let want = random_file(&src);
    let out = run_io(
        &mut srv.ssh_command(opts, "cat"),
        Stdio::from(File::open(&src).unwrap()),
        Stdio::from(File::create(&back).unwrap()),
        TRANSFER_TIMEOUT,
    );
    assert_eq!(out.code, Some(0), "{}", srv.context(&out));
    let len = std::fs::metadata(&back).unwrap().len();
    assert_eq!(
        len,
        SIZE as u64,
        "bytes back through cat\n{}",
        srv.context(&out)
    );
    assert_eq!(
        sha256_file(&back),
        want,
        "data changed on the way through cat\n{}",
        srv.context(&out)
    );
}

#[test]
fn cat_round_trip_64mib() {
    round_trip(&[]);
}

#[test]
fn cat_round_trip_64mib_with_rekeys() {
    round_trip(&["-o", "RekeyLimit=1M"]);
}

/// One direction at a time: upload into `cat > file`, then download with `cat file`.
#[test]
fn upload_then_download_64mib_with_rekeys() {
    let srv = Server::start();
    let opts = ["-o", "RekeyLimit=1M"];
    let src = srv.dir.join("src.bin");
    let want = random_file(&src);

    let remote = srv.dir.join("uploaded.bin");
    let out = run_io(
        &mut srv.ssh_command(&opts, &format!("cat > '{}'", remote.display())),
        Stdio::from(File::open(&src).unwrap()),
        Stdio::piped(),
        TRANSFER_TIMEOUT,
    );
    assert_eq!(out.code, Some(0), "upload:\n{}", srv.context(&out));
    assert_eq!(
        std::fs::metadata(&remote).unwrap().len(),
        SIZE as u64,
        "uploaded size\n{}",
        srv.context(&out)
    );
    assert_eq!(
        sha256_file(&remote),
        want,
        "upload changed the data\n{}",
        srv.context(&out)
    );

    let down = srv.dir.join("downloaded.bin");
    let out = run_io(
        &mut srv.ssh_command(&opts, &format!("cat '{}'", src.display())),
        Stdio::null(),
        Stdio::from(File::create(&down).unwrap()),
        TRANSFER_TIMEOUT,
    );
    assert_eq!(out.code, Some(0), "download:\n{}", srv.context(&out));
    assert_eq!(
        std::fs::metadata(&down).unwrap().len(),
        SIZE as u64,
        "downloaded size\n{}",
        srv.context(&out)
    );
    assert_eq!(
        sha256_file(&down),
        want,
        "download changed the data\n{}",
        srv.context(&out)
    );
}
