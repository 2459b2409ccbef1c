//! The stock OpenSSH client negotiates curve25519-sha256, ssh-ed25519,
//! chacha20-poly1305@openssh.com and strict key exchange.

mod common;
use common::*;
use std::process::Command;

#[test]
fn negotiated_algorithms_and_strict_kex() {
    let srv = Server::start();
    // -vvv: "will use strict KEX ordering" is a debug3 message.
    let out = srv.ssh_opts(&["-vvv"], "echo ok");
    assert_eq!(out.code, Some(0), "{}", srv.context(&out));
    assert_eq!(out.stdout, "ok\n");
    let e = &out.stderr;
    // Whole-line matches (ssh ends its log lines with CR LF): no other algorithm slips through
    // as a prefix match.
    for line in [
        "kex: algorithm: curve25519-sha256",
        "kex: host key algorithm: ssh-ed25519",
    ] {
        assert!(
            e.lines()
                .any(|l| l.trim_end().ends_with(&format!("debug1: {}", line))),
            "ssh -vvv output lacks the line {:?}\n{}",
            line,
            srv.context(&out)
        );
    }
    for needle in [
        "kex: server->client cipher: chacha20-poly1305@openssh.com",
        "kex: client->server cipher: chacha20-poly1305@openssh.com",
        "will use strict KEX ordering",
        "Server host key: ssh-ed25519 SHA256:",
        // ext-info answered with server-sig-algs including ssh-ed25519
        "kex_input_ext_info: server-sig-algs=<",
    ] {
        assert!(
            e.contains(needle),
            "ssh -vvv output lacks {:?}\n{}",
            needle,
            srv.context(&out)
        );
    }
    let sig_algs = e.lines().find(|l| l.contains("server-sig-algs=<")).unwrap();
    // Exactly the signature algorithms this build verifies (`-Q sig`, from the same table
    // authentication uses; tests/userkeys.rs logs in with each of the default build's), and
    // never SHA-1 `ssh-rsa`.
    if skip_unless_quoll("the exact server-sig-algs list") {
        return;
    }
    let listed = sig_algs
        .split("server-sig-algs=<")
        .nth(1)
        .and_then(|l| l.split('>').next())
        .unwrap_or_default();
    let built = run(Command::new(quoll_bin()).args(["-Q", "sig"]), CMD_TIMEOUT);
    assert_eq!(built.code, Some(0), "{}", built.describe());
    assert_eq!(
        listed,
        built.stdout.lines().collect::<Vec<_>>().join(","),
        "{sig_algs}"
    );
    assert!(listed.split(',').all(|a| a != "ssh-rsa"), "{sig_algs}");
    // The default build (the native test run) lists every kind.
    if std::env::var_os("QUOLL_BIN").is_none() {
        assert_eq!(
            listed,
            "ssh-ed25519,sk-ssh-ed25519@openssh.com,ecdsa-sha2-nistp256,ecdsa-sha2-nistp384,\
             ecdsa-sha2-nistp521,sk-ecdsa-sha2-nistp256@openssh.com,rsa-sha2-512,rsa-sha2-256",
        );
    }
}

#[test]
fn libssh_kex_name_is_accepted() {
    let srv = Server::start();
    let out = srv.ssh_opts(
        &["-v", "-o", "KexAlgorithms=curve25519-sha256@libssh.org"],
        "echo ok",
    );
    assert_eq!(out.code, Some(0), "{}", srv.context(&out));
    assert!(
        out.stderr
            .contains("kex: algorithm: curve25519-sha256@libssh.org"),
        "{}",
        srv.context(&out)
    );
}
