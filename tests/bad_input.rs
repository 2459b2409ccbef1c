//! Bad input over a raw TCP connection ends that connection only. For each
//! case `tests/rawssh.py` misbehaves in one well-defined way and checks that the server sent
//! SSH_MSG_DISCONNECT (plaintext before keys, encrypted after) or closed the connection; then
//! a session opened before still echoes through `cat` and a fresh login works. The same check
//! follows writes to a command that has closed its standard input (EPIPE, not SIGPIPE).

mod common;
use common::*;
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

fn run_scenario(srv: &Server, scenario: &str) -> Out {
    let out = rawssh(scenario, srv.port);
    assert!(
        out.code == Some(0) && out.stdout.contains("RESULT "),
        "scenario {}: the server did not reject the bad input as expected\n{}",
        scenario,
        srv.context(&out)
    );
    out
}

fn scenario(name: &str) {
    scenario_expecting(name, "RESULT ");
}

/// `scenario`, with `result` in what the raw client printed (e.g. the disconnect reason).
fn scenario_expecting(name: &str, result: &str) {
    let srv = Server::start();
    let mut session = srv.cat_session();
    let out = run_scenario(&srv, name);
    assert!(
        out.stdout.contains(result),
        "{name}: expected {result:?}\n{}",
        srv.context(&out)
    );
    check_still_serving(&srv, &mut session, name);
    session
        .finish()
        .unwrap_or_else(|e| panic!("{}\n--- server log ---\n{}", e, srv.log()));
}

#[test]
fn bad_etm_mac_after_kex() {
    scenario_expecting(
        "bad_etm_mac",
        "RESULT disconnect 5 message authentication code incorrect",
    );
}

#[test]
fn bad_encrypt_and_mac_after_kex() {
    scenario_expecting(
        "bad_plain_mac",
        "RESULT disconnect 5 message authentication code incorrect",
    );
}

#[test]
fn bad_gcm_tag_after_kex() {
    scenario_expecting(
        "bad_gcm_tag",
        "RESULT disconnect 5 message authentication code incorrect",
    );
}

#[test]
fn raw_client_happy_path() {
    // The control: the raw client itself works (full kex, strict, ext-info, service, none).
    let srv = Server::start();
    let out = run(
        Command::new("python3")
            .arg(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/rawssh.py"))
            .arg("happy")
            .arg(srv.port.to_string())
            .env("RAWSSH_USER", &srv.user),
        CMD_TIMEOUT,
    );
    assert_eq!(out.code, Some(0), "{}", srv.context(&out));
    assert!(out.stdout.contains("RESULT ok"), "{}", srv.context(&out));
    // The host key the raw client verified is the one in the key file.
    let kg = run(
        Command::new("ssh-keygen")
            .arg("-l")
            .arg("-f")
            .arg(&srv.hostkey),
        CMD_TIMEOUT,
    );
    let want = fingerprint_in(&kg.stdout).expect("ssh-keygen -l fingerprint");
    let seen = out
        .stdout
        .lines()
        .find(|l| l.starts_with("kex done:"))
        .and_then(fingerprint_in);
    assert_eq!(
        seen.as_deref(),
        Some(want.as_str()),
        "{}",
        srv.context(&out)
    );
}

#[test]
fn garbage_instead_of_version() {
    scenario("garbage");
}

#[test]
fn over_long_version_line() {
    scenario("long_version");
}

#[test]
fn huge_packet_length_before_kex() {
    scenario("huge_length");
}

#[test]
fn message_out_of_order_during_kex() {
    scenario("out_of_order");
}

#[test]
fn strict_kex_ignore_before_kexinit() {
    scenario("ignore_first");
}

#[test]
fn strict_kex_ignore_during_kex() {
    scenario("ignore_during_kex");
}

#[test]
fn bad_mac_after_kex() {
    scenario("bad_mac");
}

#[test]
fn huge_packet_length_after_kex() {
    scenario("huge_length_enc");
}

/// Half a packet, then silence: while the raw connection hangs mid-packet the one-threaded
/// daemon must keep serving; when the peer then closes, the connection ends.
#[test]
fn truncated_packet_then_silence() {
    let srv = Server::start();
    let mut session = srv.cat_session();
    let mut child = Command::new("python3")
        .arg(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/rawssh.py"))
        .arg("truncated")
        .arg(srv.port.to_string())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("spawn rawssh.py");
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let mut lines = Vec::new();
    loop {
        match rx.recv_timeout(Duration::from_secs(20)) {
            Ok(l) if l == "HOLDING" => break,
            Ok(l) => lines.push(l),
            Err(_) => {
                let _ = child.kill();
                panic!(
                    "rawssh.py never got to HOLDING: {:?}\n--- server log ---\n{}",
                    lines,
                    srv.log()
                );
            }
        }
    }
    // The raw connection now sits on half a packet.
    std::thread::sleep(Duration::from_millis(500));
    check_still_serving(&srv, &mut session, "truncated-hold");

    drop(child.stdin.take()); // let it close its side
    let (code, timed_out) = wait_timeout(&mut child, CMD_TIMEOUT);
    let rest: Vec<String> = rx.try_iter().collect();
    assert!(
        code == Some(0) && !timed_out && rest.iter().any(|l| l.starts_with("RESULT ")),
        "truncated: no disconnect/close after the peer's EOF (code {:?}, timed out {}): {:?}\n--- server log ---\n{}",
        code,
        timed_out,
        rest,
        srv.log()
    );
    check_still_serving(&srv, &mut session, "truncated");
    session
        .finish()
        .unwrap_or_else(|e| panic!("{}\n--- server log ---\n{}", e, srv.log()));
}

/// All of the above against one daemon, one after the other, with one session open throughout.
/// Eight protocol errors from one address in a few seconds earn it a penalty (refused at
/// accept for a while, `tests/limits.rs`): this test, about the daemon surviving them, turns
/// penalties off so that the fresh logins in between are still let in.
#[test]
fn all_bad_inputs_against_one_daemon() {
    let srv = Server::start_with(Options {
        extra_args: vec!["--penalties".into(), "off".into()],
        ..Default::default()
    });
    let mut session = srv.cat_session();
    for name in [
        "garbage",
        "long_version",
        "huge_length",
        "out_of_order",
        "ignore_first",
        "ignore_during_kex",
        "bad_mac",
        "huge_length_enc",
    ] {
        run_scenario(&srv, name);
        check_still_serving(&srv, &mut session, name);
    }
    session
        .finish()
        .unwrap_or_else(|e| panic!("{}\n--- server log ---\n{}", e, srv.log()));
}

/// A command that closed its standard input while the client still sends data: the
/// server's next write to that pipe fails (EPIPE). That must be an error for this channel
/// only, not a SIGPIPE that ends the daemon with every session (SIGPIPE is ignored,
/// src/sys/start.rs); the command's output and exit status still arrive. (TCP writes
/// cannot raise SIGPIPE: std sends with MSG_NOSIGNAL.)
#[test]
fn writing_to_a_command_that_closed_stdin_ends_nothing_else() {
    let srv = Server::start();
    let mut session = srv.cat_session();
    let mut client = srv
        .ssh_command(&[], "exec 0<&-; sleep 1; echo done; exit 3")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut stdin = client.stdin.take().unwrap();
    let feeder = std::thread::spawn(move || {
        let chunk = vec![b'x'; 64 * 1024];
        // Until ssh stops reading (the channel is closed): a few MiB at most.
        for _ in 0..64 {
            if std::io::Write::write_all(&mut stdin, &chunk).is_err() {
                break;
            }
        }
    });
    let (code, timed_out) = wait_timeout(&mut client, CMD_TIMEOUT);
    let mut out = String::new();
    let _ = std::io::Read::read_to_string(client.stdout.as_mut().unwrap(), &mut out);
    let _ = feeder.join();
    assert!(
        !timed_out,
        "ssh did not finish
{}",
        srv.log()
    );
    assert_eq!((out.as_str(), code), ("done\n", Some(3)), "{}", srv.log());
    check_still_serving(&srv, &mut session, "writes to a closed stdin");
}
