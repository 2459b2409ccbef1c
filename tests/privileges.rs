//! Quoll running as root drops to the target user in the session:
//! `id -u`, `id -g` and `id -G` (supplementary groups from the group database) are the user's.

mod common;
use common::*;

const USER: &str = "quolltest";

fn local(cmd: &str) -> String {
    sh(cmd).trim().to_string()
}

#[test]
fn session_runs_as_target_user() {
    require_root("privilege dropping");
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

/// IDs above 65535: on 32-bit ARM the plain setuid/setgid/setgroups system calls take 16-bit
/// IDs, and quoll must use the 32-bit ones (src/sys/ids.rs) or the session would run as
/// the wrong user (the child's own check would refuse it).
#[test]
fn session_runs_with_ids_above_65535() {
    require_root("privilege dropping");
    const BIG: &str = "quollbig";
    const BIG_GROUP: &str = "quollbiggrp";
    if run(std::process::Command::new("id").arg(BIG), CMD_TIMEOUT).code != Some(0) {
        // Another test process may be doing the same: check the outcome, not each step.
        sh(&format!(
            "groupadd -g 70011 {BIG} 2>/dev/null; groupadd -g 70012 {BIG_GROUP} 2>/dev/null; \
             useradd -m -s /bin/sh -p '*' -u 70010 -g {BIG} -G {BIG_GROUP} {BIG} 2>/dev/null; true"
        ));
    }
    assert_eq!(
        local(&format!("id -u {BIG}; id -g {BIG}; id -G {BIG}")),
        "70010\n70011\n70011 70012"
    );
    let srv = Server::start_with(Options {
        user: Some(BIG.to_string()),
        ..Default::default()
    });
    let out = srv.ssh("id -u; id -g; id -G");
    assert_eq!(out.code, Some(0), "{}", srv.context(&out));
    assert_eq!(
        out.stdout,
        "70010\n70011\n70011 70012\n",
        "{}",
        srv.context(&out)
    );
}
