//! A command's stdout, stderr and exit status reach the client separately.
//! 20 concurrent connections each running a command all succeed.

mod common;
use common::*;
use std::thread;

#[test]
fn exec_separates_stdout_stderr_and_exit_status() {
    let srv = Server::start();
    let out = srv.ssh("echo out; echo err >&2; exit 7");
    assert_eq!(out.code, Some(7), "{}", srv.context(&out));
    assert_eq!(out.stdout, "out\n", "{}", srv.context(&out));
    assert_eq!(out.stderr, "err\n", "{}", srv.context(&out));
}

#[test]
fn exec_exit_zero_and_output_after_child_exit() {
    // Output written just before the child exits must all arrive before exit-status/CLOSE.
    let srv = Server::start();
    let out = srv.ssh("seq 1 20000; seq 1 5000 >&2");
    assert_eq!(out.code, Some(0), "{}", srv.context(&out));
    let expect_out: String = (1..=20000).map(|i| format!("{}\n", i)).collect();
    let expect_err: String = (1..=5000).map(|i| format!("{}\n", i)).collect();
    assert!(
        out.stdout == expect_out,
        "stdout differs ({} bytes, expected {})\n{}",
        out.stdout.len(),
        expect_out.len(),
        srv.context(&out)
    );
    assert!(
        out.stderr == expect_err,
        "stderr differs ({} bytes, expected {})\n{}",
        out.stderr.len(),
        expect_err.len(),
        srv.context(&out)
    );
}

#[test]
fn twenty_concurrent_connections() {
    let srv = Server::start();
    let srv = &srv;
    thread::scope(|s| {
        let handles: Vec<_> = (0..20)
            .map(|i| {
                s.spawn(move || {
                    // The sleep keeps all 20 sessions open at the same time.
                    let out = srv.ssh(&format!("sleep 1; echo conn-{}; echo $(({} * 3))", i, i));
                    (i, out)
                })
            })
            .collect();
        for h in handles {
            let (i, out) = h.join().expect("client thread panicked");
            assert_eq!(
                out.code,
                Some(0),
                "connection {}:\n{}",
                i,
                srv.context(&out)
            );
            assert_eq!(
                out.stdout,
                format!("conn-{}\n{}\n", i, i * 3),
                "connection {}:\n{}",
                i,
                srv.context(&out)
            );
        }
    });
}

/// SSH_CLIENT and SSH_CONNECTION as OpenSSH sets them: the client's address and port, then
/// the server's port (SSH_CLIENT) or address and port (SSH_CONNECTION).
#[test]
fn ssh_client_and_ssh_connection() {
    let srv = Server::start();
    let out = srv.ssh_opts(
        &["-b", "127.0.0.2"],
        "echo \"$SSH_CLIENT\"; echo \"$SSH_CONNECTION\"",
    );
    assert_eq!(out.code, Some(0), "{}", srv.context(&out));
    let lines: Vec<&str> = out.stdout.lines().collect();
    let client_port = lines
        .first()
        .and_then(|l| l.strip_prefix("127.0.0.2 "))
        .and_then(|l| l.split(' ').next())
        .filter(|p| p.parse::<u16>().is_ok_and(|p| p > 0))
        .unwrap_or_else(|| panic!("no client port:\n{}", srv.context(&out)));
    let port = srv.port;
    assert_eq!(
        lines,
        [
            format!("127.0.0.2 {client_port} {port}"),
            format!("127.0.0.2 {client_port} 127.0.0.1 {port}")
        ],
        "{}",
        srv.context(&out)
    );
}
