//! 64 MiB of random bytes through `cat` in both directions arrive intact
//! (SHA-256), also with `-o RekeyLimit=1M` so that dozens of key exchanges happen mid-stream.
//!
//! The server runs on this machine as this user, so the remote side's files are in the test's
//! temporary directory and are hashed locally.

mod common;
use common::*;
use std::fs::File;
use std::io::Read;
use std::process::Stdio;
use std::time::Duration;

const SIZE: usize = 64 << 20;
const TRANSFER_TIMEOUT: Duration = Duration::from_secs(240);

/// `ssh host cat` with the file on stdin and stdout to another file: both directions at once.
fn round_trip(opts: &[&str]) {
    let srv = Server::start();
    let src = srv.dir.join("src.bin");
    let back = srv.dir.join("back.bin");
    let want = random_file(&src, SIZE);
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
    let want = random_file(&src, SIZE);

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

/// A client that reads slowly and unevenly: the back-pressure reaches the process through
/// the socket, quoll's buffers and the pipe, and every byte must still arrive in order.
/// (The case of a socket taking part of quoll's output is driven exactly by
/// `proto::conn_tests::output_taken_by_the_socket_in_pieces_loses_nothing`.)
#[test]
fn slow_reader_gets_every_byte() {
    let srv = Server::start();
    let src = srv.dir.join("src.bin");
    let want = random_file(&src, SIZE);
    let remote = format!("cat '{}'", src.display());
    let mut child = srv
        .ssh_command(&[], &remote)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn ssh");
    let mut stdout = child.stdout.take().unwrap();
    let mut h = <sha2::Sha256 as sha2::Digest>::new();
    let mut buf = vec![0u8; 1 << 16];
    let (mut total, mut reads) = (0usize, 0u64);
    let start = std::time::Instant::now();
    loop {
        // Pieces of 1 byte to 64 KiB, with pauses, for the first 16 MiB; then full speed.
        let want_len = if total < 16 << 20 {
            1 + (reads.wrapping_mul(2_654_435_761) % (1 << 16)) as usize
        } else {
            buf.len()
        };
        let n = stdout.read(&mut buf[..want_len]).expect("read ssh stdout");
        if n == 0 {
            break;
        }
        sha2::Digest::update(&mut h, &buf[..n]);
        total += n;
        reads += 1;
        if total < 16 << 20 && reads % 16 == 0 {
            std::thread::sleep(Duration::from_millis(2));
        }
        assert!(
            start.elapsed() < TRANSFER_TIMEOUT,
            "timed out after {total} bytes"
        );
    }
    let status = child.wait().expect("wait ssh");
    let mut err = String::new();
    let _ = child.stderr.take().unwrap().read_to_string(&mut err);
    assert!(status.success(), "ssh: {status}: {err}\n{}", srv.log());
    assert_eq!(total, SIZE, "bytes received");
    let got: String = sha2::Digest::finalize(h)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    assert_eq!(got, want, "data changed on the way");
}
