//! paramiko (Ansible, Netmiko, Fabric), which has no chacha20-poly1305, against quoll:
//! `tests/paramiko_client.py` in `build/venv` (`python3 -m venv build/venv &&
//! build/venv/bin/pip install paramiko`; scripts/test does it). Without it the tests fail with
//! NOT RUN.

mod common;
use common::*;
use std::path::PathBuf;
use std::process::Command;

const PW: &str = "c0rrect-horse";

/// The venv's python with paramiko importable, or a NOT RUN failure.
fn paramiko_python() -> PathBuf {
    let py = std::env::var_os("QUOLL_PARAMIKO_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("build/venv/bin/python"));
    let ok = Command::new(&py)
        .args(["-c", "import paramiko"])
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false);
    require(
        ok,
        &format!(
            "{} cannot import paramiko (python3 -m venv build/venv && \
             build/venv/bin/pip install paramiko; scripts/test does it)",
            py.display()
        ),
    );
    py
}

fn script() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/paramiko_client.py")
}

/// A wrong key, then the right one, on one transport; exec with exit status; SFTP put and
/// get of 10 MiB byte-exact.
#[test]
fn paramiko_keys_exec_and_sftp() {
    let py = paramiko_python();
    let srv = Server::start();
    let wrong = srv.dir.join("wrong_ed25519");
    ssh_keygen(&wrong);
    let out = run(
        Command::new(&py)
            .arg(script())
            .arg("keys")
            .arg(srv.port.to_string())
            .arg(&srv.user)
            .arg(&srv.client_key)
            .arg(&wrong)
            .arg(srv.dir.path()),
        CMD_TIMEOUT,
    );
    assert_eq!(out.code, Some(0), "{}", srv.context(&out));
    assert!(out.stdout.ends_with("ok\n"), "{}", srv.context(&out));
    // paramiko's first choices: aes128-ctr with plain hmac-sha2-256.
    assert!(
        out.stdout
            .contains("cipher: aes128-ctr/aes128-ctr mac: hmac-sha2-256/hmac-sha2-256"),
        "{}",
        srv.context(&out)
    );
}

/// As root with a throwaway account: a refused key, then the password, on one transport.
#[test]
fn paramiko_password_after_a_refused_key() {
    let py = paramiko_python();
    let Some(u) = TestUser::create("pk", PW, "/bin/sh") else {
        return;
    };
    let srv = Server::start();
    let wrong = srv.dir.join("wrong_ed25519");
    ssh_keygen(&wrong);
    let out = run(
        Command::new(&py)
            .arg(script())
            .arg("password")
            .arg(srv.port.to_string())
            .arg(&u.name)
            .arg(PW)
            .arg(&wrong),
        CMD_TIMEOUT,
    );
    assert_eq!(out.code, Some(0), "{}", srv.context(&out));
    assert!(out.stdout.ends_with("ok\n"), "{}", srv.context(&out));
}
