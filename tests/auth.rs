//! A key that is not in authorized_keys is refused; with `-T 10` the 11th
//! attempt is not made: the server disconnects with "Too many authentication failures".

mod common;
use common::*;
use std::path::PathBuf;

fn unauthorized_keys(srv: &Server, n: usize) -> Vec<PathBuf> {
    (1..=n)
        .map(|i| {
            let k = srv.dir.join(&format!("stranger{}", i));
            ssh_keygen(&k);
            k
        })
        .collect()
}

#[test]
fn unknown_key_is_refused() {
    let srv = Server::start();
    let keys = unauthorized_keys(&srv, 1);
    let out = run(
        &mut srv.ssh_command_keys(&[&keys[0]], &[], "echo should-not-run"),
        CMD_TIMEOUT,
    );
    assert_eq!(out.code, Some(255), "{}", srv.context(&out));
    assert!(
        out.stderr.contains("Permission denied"),
        "{}",
        srv.context(&out)
    );
    assert!(
        out.stderr.contains("publickey"),
        "methods list should name publickey\n{}",
        srv.context(&out)
    );
    assert_eq!(out.stdout, "", "{}", srv.context(&out));
    // The daemon is fine afterwards.
    assert_eq!(srv.ssh_ok("echo still-here"), "still-here\n");
}

#[test]
fn tenth_attempt_allowed_eleventh_disconnects() {
    let srv = Server::start_with(Options {
        max_auth_tries: Some(10),
        ..Default::default()
    });
    let strangers = unauthorized_keys(&srv, 10);

    // Nine failures, then the authorized key as the 10th attempt: accepted.
    let mut keys: Vec<&std::path::Path> = strangers[..9].iter().map(|p| p.as_path()).collect();
    keys.push(&srv.client_key);
    let out = run(
        &mut srv.ssh_command_keys(&keys, &[], "echo tenth-ok"),
        CMD_TIMEOUT,
    );
    assert_eq!(
        out.code,
        Some(0),
        "the 10th attempt must be allowed with -T 10\n{}",
        srv.context(&out)
    );
    assert_eq!(out.stdout, "tenth-ok\n");

    // Ten failures: the server disconnects before the authorized key (11th) is tried.
    let mut keys: Vec<&std::path::Path> = strangers.iter().map(|p| p.as_path()).collect();
    keys.push(&srv.client_key);
    let out = run(
        &mut srv.ssh_command_keys(&keys, &["-v"], "echo should-not-run"),
        CMD_TIMEOUT,
    );
    assert_eq!(out.code, Some(255), "{}", srv.context(&out));
    assert_eq!(
        out.stdout,
        "",
        "the 11th key must not have been tried\n{}",
        srv.context(&out)
    );
    assert!(
        out.stderr.contains("Too many authentication failures"),
        "expected a disconnect with \"Too many authentication failures\"\n{}",
        srv.context(&out)
    );
    // quoll allows 10 failures and answers the 11th attempt with the disconnect; OpenSSH's
    // sshd (QUOLL_TEST_SERVER=sshd) disconnects right after the 10th failure.
    let offered = out.stderr.matches("Offering public key:").count();
    let expected = if srv.kind == Kind::Quoll {
        11..=11
    } else {
        10..=10
    };
    assert!(
        expected.contains(&offered),
        "the client offered {} keys\n{}",
        offered,
        srv.context(&out)
    );

    assert_eq!(srv.ssh_ok("echo still-here"), "still-here\n");
}
