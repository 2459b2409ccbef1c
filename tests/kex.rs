//! Key exchange with real clients. OpenSSH 10.3 (built from source under build/ by
//! `scripts/openssh-client`, which `scripts/test` runs) negotiates mlkem768x25519-sha256 and
//! prints no post-quantum warning; against a classical-only server (Dropbear 2022.83) it does
//! warn (so the check can fail); its rekeys under the hybrid move bytes exactly. The distribution's OpenSSH (9.2 on
//! Debian 12) negotiates curve25519-sha256 (tests/algorithms.rs). A client share of the wrong
//! length, or one whose X25519 part gives the all-zero secret, is refused with
//! KEY_EXCHANGE_FAILED and the daemon goes on. An independent client (tests/rawssh.py with
//! kyber-py) completes the hybrid exchange; with one bit of the server's ciphertext flipped it
//! derives other keys and its first packet ends in a MAC error, the daemon going on.

mod common;
use common::*;
use std::fs::File;
use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

const WARNING: &str = "WARNING: connection is not using a post-quantum key exchange algorithm";

/// The OpenSSH 10.3 client: `QUOLL_NEW_SSH`, or what `scripts/openssh-client` built.
fn new_ssh() -> PathBuf {
    let path = std::env::var_os("QUOLL_NEW_SSH")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("build/openssh-10.3p1/bin/ssh")
        });
    require(
        path.exists(),
        &format!(
            "no OpenSSH 10.3 client at {} (scripts/openssh-client builds it)",
            path.display()
        ),
    );
    path
}

fn kex_line(stderr: &str, alg: &str) -> bool {
    let want = format!("debug1: kex: algorithm: {alg}");
    stderr.lines().any(|l| l.trim_end().ends_with(&want))
}

#[test]
fn openssh_10_negotiates_mlkem768x25519_without_a_warning() {
    if skip_unless_quoll("mlkem768x25519-sha256") {
        return;
    }
    let ssh = new_ssh();
    let srv = Server::start();
    let out = run(
        &mut srv.ssh_program_command(&ssh, &[&srv.client_key], &["-v"], "echo pq-ok"),
        Duration::from_secs(30),
    );
    assert_eq!(out.code, Some(0), "{}", srv.context(&out));
    assert_eq!(out.stdout, "pq-ok\n");
    assert!(
        kex_line(&out.stderr, "mlkem768x25519-sha256"),
        "ssh -v shows no mlkem768x25519-sha256\n{}",
        srv.context(&out)
    );
    assert!(!out.stderr.contains(WARNING), "{}", srv.context(&out));
}

/// The control for the test above: the same client, against a server without a post-quantum
/// exchange (the distribution's Dropbear), does print the warning. (Naming KexAlgorithms on the
/// command line would silence it, so a real classical-only server is used.)
#[test]
fn openssh_10_warns_against_a_classical_only_server() {
    let ssh = new_ssh();
    require(
        std::process::Command::new("dropbear")
            .arg("-V")
            .output()
            .is_ok(),
        "dropbear (package dropbear-bin) is not installed",
    );
    let dir = TempDir::new("kex-dropbear");
    let key = dir.join("dropbear_ed25519");
    let gen = run(
        std::process::Command::new("dropbearkey")
            .args(["-t", "ed25519", "-f"])
            .arg(&key),
        Duration::from_secs(30),
    );
    assert_eq!(gen.code, Some(0), "{}", gen.describe());
    let port = free_port();
    let mut db = std::process::Command::new("dropbear")
        .args(["-F", "-E", "-s", "-p", &format!("127.0.0.1:{port}"), "-r"])
        .arg(&key)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start dropbear");
    let up = wait_until(Duration::from_secs(10), || {
        std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()
    });
    let out = run(
        std::process::Command::new(&ssh).args([
            "-F",
            "/dev/null",
            "-v",
            "-p",
            &port.to_string(),
            "-o",
            "BatchMode=yes",
            "-o",
            "StrictHostKeyChecking=no",
            "-o",
            "UserKnownHostsFile=/dev/null",
            "-o",
            "IdentityAgent=none",
            "nobody@127.0.0.1",
            "true",
        ]),
        Duration::from_secs(30),
    );
    let _ = db.kill();
    let _ = db.wait();
    assert!(up, "dropbear did not start");
    assert!(
        kex_line(&out.stderr, "curve25519-sha256"),
        "{}",
        out.describe()
    );
    assert!(out.stderr.contains(WARNING), "{}", out.describe());
}

#[test]
fn mlkem768x25519_rekeys_move_every_byte() {
    if skip_unless_quoll("mlkem768x25519-sha256") {
        return;
    }
    let ssh = new_ssh();
    let srv = Server::start();
    let src = srv.dir.join("src.bin");
    let back = srv.dir.join("back.bin");
    let want = random_file(&src, 16 << 20);
    let out = run_io(
        &mut srv.ssh_program_command(
            &ssh,
            &[&srv.client_key],
            &["-vv", "-o", "RekeyLimit=1M"],
            "cat",
        ),
        Stdio::from(File::open(&src).unwrap()),
        Stdio::from(File::create(&back).unwrap()),
        Duration::from_secs(240),
    );
    assert_eq!(out.code, Some(0), "{}", srv.context(&out));
    assert_eq!(sha256_file(&back), want, "bytes differ after cat");
    let exchanges = out
        .stderr
        .lines()
        .filter(|l| {
            l.trim_end()
                .ends_with("kex: algorithm: mlkem768x25519-sha256")
        })
        .count();
    // 16 MiB each way with a rekey every MiB: many exchanges, all of them the hybrid.
    assert!(
        exchanges >= 8,
        "{exchanges} exchanges\n{}",
        srv.context(&out)
    );
    assert!(
        !kex_line(&out.stderr, "curve25519-sha256"),
        "{}",
        srv.context(&out)
    );
}

/// After a refused or broken exchange: the session opened before it and a new login work, and
/// the session ends cleanly.
fn daemon_goes_on(srv: &Server, mut session: CatSession, after: &str) {
    check_still_serving(srv, &mut session, after);
    session
        .finish()
        .unwrap_or_else(|e| panic!("{e}\n{}", srv.log()));
}

fn bad_share(scenario: &str) {
    if skip_unless_quoll("mlkem768x25519-sha256") {
        return;
    }
    let srv = Server::start();
    let session = srv.cat_session();
    let out = rawssh(scenario, srv.port);
    assert_eq!(out.code, Some(0), "{}", srv.context(&out));
    assert!(
        out.stdout
            .contains("RESULT disconnect 3 bad ephemeral public key"),
        "expected KEY_EXCHANGE_FAILED\n{}",
        srv.context(&out)
    );
    daemon_goes_on(&srv, session, scenario);
}

#[test]
fn a_short_hybrid_share_is_refused() {
    bad_share("mlkem_short_share");
}

#[test]
fn an_all_zero_x25519_secret_in_the_hybrid_is_refused() {
    bad_share("mlkem_zero_x25519");
}

/// tests/rawssh.py under build/venv's Python, which has kyber-py (ML-KEM) for the client side.
fn rawssh_pq(scenario: &str, srv: &Server) -> Out {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let python = root.join("build/venv/bin/python");
    let has_kyber = std::process::Command::new(&python)
        .args(["-c", "import kyber_py"])
        .output()
        .is_ok_and(|o| o.status.success());
    require(
        has_kyber,
        "no kyber-py in build/venv (scripts/test installs it from PyPI)",
    );
    run(
        std::process::Command::new(python)
            .arg(root.join("tests/rawssh.py"))
            .arg(scenario)
            .arg(srv.port.to_string())
            .env("RAWSSH_USER", &srv.user),
        CMD_TIMEOUT,
    )
}

#[test]
fn an_independent_client_completes_the_hybrid_exchange() {
    if skip_unless_quoll("mlkem768x25519-sha256") {
        return;
    }
    let srv = Server::start();
    let out = rawssh_pq("happy_mlkem_aes", &srv);
    assert_eq!(out.code, Some(0), "{}", srv.context(&out));
    assert!(
        out.stdout.contains("kex done: mlkem768x25519-sha256"),
        "{}",
        srv.context(&out)
    );
    assert!(out.stdout.contains("RESULT ok"), "{}", srv.context(&out));
}

#[test]
fn a_tampered_hybrid_ciphertext_ends_in_a_mac_error() {
    if skip_unless_quoll("mlkem768x25519-sha256") {
        return;
    }
    let srv = Server::start();
    let session = srv.cat_session();
    let out = rawssh_pq("mlkem_tampered_ciphertext", &srv);
    assert_eq!(out.code, Some(0), "{}", srv.context(&out));
    assert!(
        wait_until(Duration::from_secs(5), || srv
            .log()
            .contains("message authentication code incorrect")),
        "{}",
        srv.context(&out)
    );
    daemon_goes_on(&srv, session, "mlkem_tampered_ciphertext");
}
