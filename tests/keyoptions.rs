//! authorized_keys options, each through a real login: command=, no-pty, restrict
//! and pty, from=, environment= (only with --permit-user-env), the forwarding restrictions
//! (accepted), and a line with an unknown option skipped
//! and logged.

mod common;
use common::*;

fn quoll(extra: &[&str]) -> Server {
    Server::start_with(Options {
        extra_args: extra.iter().map(|s| s.to_string()).collect(),
        ..Default::default()
    })
}

/// Puts `options` in front of the client key's authorized_keys line.
fn with_options(srv: &Server, options: &str) {
    let path = srv.dir.join("authorized_keys");
    let line = std::fs::read_to_string(srv.dir.join("id_ed25519.pub")).unwrap();
    std::fs::write(&path, format!("{options} {line}")).unwrap();
}

fn has_tty(srv: &Server) -> bool {
    let out = srv.ssh_opts(&["-tt"], "tty >/dev/null && echo TTY || echo NOTTY");
    assert_eq!(out.code, Some(0), "{}", srv.context(&out));
    out.stdout.contains("TTY") && !out.stdout.contains("NOTTY")
}

#[test]
fn command_is_forced_with_the_original_in_the_environment() {
    if skip_unless_quoll("authorized_keys options") {
        return;
    }
    let srv = quoll(&[]);
    with_options(&srv, "command=\"echo forced:$SSH_ORIGINAL_COMMAND\"");
    assert_eq!(srv.ssh_ok("echo asked"), "forced:echo asked\n");
}

#[test]
fn no_pty_restrict_and_pty() {
    if skip_unless_quoll("authorized_keys options") {
        return;
    }
    let srv = quoll(&[]);
    assert!(has_tty(&srv));
    with_options(&srv, "no-pty");
    assert!(!has_tty(&srv));
    with_options(&srv, "restrict");
    assert!(!has_tty(&srv));
    with_options(&srv, "restrict,pty");
    assert!(has_tty(&srv));
}

#[test]
fn from_admits_only_matching_addresses() {
    if skip_unless_quoll("authorized_keys options") {
        return;
    }
    let srv = quoll(&[]);
    with_options(&srv, "from=\"10.0.0.0/8\"");
    let out = srv.ssh("true");
    assert_ne!(out.code, Some(0), "{}", srv.context(&out));
    assert!(
        srv.log().contains("key not allowed from 127.0.0.1"),
        "{}",
        srv.log()
    );
    with_options(&srv, "from=\"10.*,127.0.0.?\"");
    assert_eq!(srv.ssh_ok("echo from-ok"), "from-ok\n");
    with_options(&srv, "from=\"*,!127.0.0.2\"");
    assert_eq!(srv.ssh_ok("echo from-ok"), "from-ok\n");
    let out = srv.ssh_opts(&["-b", "127.0.0.2"], "true");
    assert_ne!(out.code, Some(0), "{}", srv.context(&out));
}

#[test]
fn environment_only_with_permit_user_env() {
    if skip_unless_quoll("authorized_keys options") {
        return;
    }
    let srv = quoll(&[]);
    with_options(&srv, "environment=\"QT_KEY_VAR=from-key\"");
    assert_eq!(srv.ssh_ok("echo x$QT_KEY_VAR"), "x\n");
    let srv = quoll(&["--permit-user-env"]);
    with_options(&srv, "environment=\"QT_KEY_VAR=from-key\"");
    assert_eq!(srv.ssh_ok("echo x$QT_KEY_VAR"), "xfrom-key\n");
}

#[test]
fn forwarding_restrictions_are_accepted() {
    if skip_unless_quoll("authorized_keys options") {
        return;
    }
    let srv = quoll(&[]);
    with_options(
        &srv,
        "no-port-forwarding,no-agent-forwarding,no-X11-forwarding,permitopen=\"localhost:80\",permitlisten=\"8080\",no-user-rc",
    );
    assert_eq!(srv.ssh_ok("echo restricted-ok"), "restricted-ok\n");
}

#[test]
fn a_line_with_an_unknown_option_is_skipped_and_logged() {
    if skip_unless_quoll("authorized_keys options") {
        return;
    }
    let srv = quoll(&[]);
    with_options(&srv, "no-pty,frobnicate");
    let out = srv.ssh("true");
    assert_ne!(out.code, Some(0), "{}", srv.context(&out));
    assert!(
        srv.log().contains("unknown option \"frobnicate\", skipped"),
        "{}",
        srv.log()
    );
    with_options(&srv, "environment=\"NO EQUALS\"");
    let out = srv.ssh("true");
    assert_ne!(out.code, Some(0), "{}", srv.context(&out));
    assert!(srv.log().contains("malformed option environment"));
}
