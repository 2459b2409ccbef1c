//! Issue 2, test 10: quoll running as root drops to the target user in the session:
//! `id -u`, `id -g` and `id -G` (supplementary groups from the group database) are the user's.

mod common;
use common::*;

const USER: &str = "quolltest";

fn local(cmd: &str) -> String {
    sh(cmd).trim().to_string()
}

#[test]
fn session_runs_as_target_user() {
    if !is_root() {
        eprintln!(
            "SKIPPED: privilege dropping needs the tests to run as root (they run as {})",
            current_user()
        );
        return;
    }
    ensure_user(USER);
    let srv = Server::start_with(Options {
        user: Some(USER.to_string()),
        ..Default::default()
    });
    let out = srv.ssh("id -u; id -g; id -G; echo \"$USER|$LOGNAME|$HOME\"");
    assert_eq!(out.code, Some(0), "{}", srv.context(&out));
    let lines: Vec<&str> = out.stdout.lines().collect();
    assert_eq!(lines.len(), 4, "{}", srv.context(&out));
    assert_eq!(
        lines[0],
        local(&format!("id -u {}", USER)),
        "uid\n{}",
        srv.context(&out)
    );
    assert_eq!(
        lines[1],
        local(&format!("id -g {}", USER)),
        "gid\n{}",
        srv.context(&out)
    );
    let mut want: Vec<String> = local(&format!("id -G {}", USER))
        .split_whitespace()
        .map(String::from)
        .collect();
    let mut got: Vec<String> = lines[2].split_whitespace().map(String::from).collect();
    want.sort();
    got.sort();
    assert_eq!(got, want, "groups\n{}", srv.context(&out));
    let home = local(&format!("getent passwd {} | cut -d: -f6", USER));
    assert_eq!(
        lines[3],
        format!("{}|{}|{}", USER, USER, home),
        "environment\n{}",
        srv.context(&out)
    );
}
