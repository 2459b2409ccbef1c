//! Login records: a pty session of quoll running as root appears in utmp (`who`), its login
//! and logout in wtmp (`last`, `utmpdump`), and its time, line and address in lastlog
//! (`lastlog`). Needs root (quoll writes the records only as root) and the glibc build.
//!
//! The machine's real files are used: the test finds its own entries by the session's pid and
//! terminal, and creates /var/run/utmp, /var/log/wtmp and /var/log/lastlog (root:utmp 0664)
//! when missing, as systemd-tmpfiles does at boot.

mod common;
use common::*;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

const USER: &str = "quolltest";
const UTMP: &str = "/var/run/utmp";
const WTMP: &str = "/var/log/wtmp";
const LASTLOG: &str = "/var/log/lastlog";

/// `utmpdump FILE` as records: [type, pid, id, user, line, host, addr, time], trimmed.
fn records(file: &str) -> Vec<Vec<String>> {
    let out = run(Command::new("utmpdump").arg(file), CMD_TIMEOUT);
    assert_eq!(out.code, Some(0), "utmpdump {file}\n{}", out.describe());
    out.stdout
        .lines()
        .filter_map(|l| l.strip_prefix('[')?.strip_suffix(']'))
        .map(|l| l.split("] [").map(|f| f.trim().to_string()).collect())
        .collect()
}

/// The records of `file` for this session's pid and terminal line.
/// `file`'s records for process `pid` on `line`, past the first `skip` records (wtmp only
/// grows, and an earlier session may have had the same pid and line: pids wrap at 32768).
fn ours(file: &str, skip: usize, pid: &str, line: &str) -> Vec<Vec<String>> {
    records(file)
        .into_iter()
        .skip(skip)
        .filter(|r| r.len() == 8 && r[1].parse::<u32>().ok() == pid.parse().ok() && r[4] == line)
        .collect()
}

#[test]
fn pty_sessions_are_recorded_in_utmp_wtmp_and_lastlog() {
    if skip_unless_quoll("login records") {
        return;
    }
    assert!(
        is_root(),
        "needs root: quoll writes login records only as root (tests run as {})",
        current_user()
    );
    ensure_user(USER);
    for file in [UTMP, WTMP, LASTLOG] {
        if !Path::new(file).exists() {
            sh(&format!(
                "touch {file} && chown root:utmp {file} 2>/dev/null; chmod 664 {file}"
            ));
        }
    }
    let wtmp_before = records(WTMP).len();
    let srv = Server::start_with(Options {
        user: Some(USER.to_string()),
        ..Default::default()
    });
    let script = "echo \"pid=$$ tty=$(tty)\"; who; echo who-done";
    let out = run_in_pty(srv.ssh_command(&["-tt"], script), 24, 80, CMD_TIMEOUT);
    assert_eq!(out.code, Some(0), "{}", srv.context(&out));
    let lines: Vec<&str> = out
        .stdout
        .lines()
        .map(|l| l.trim_end_matches('\r'))
        .collect();
    let (pid, tty) = lines
        .iter()
        .find_map(|l| {
            let (p, t) = l.strip_prefix("pid=")?.split_once(" tty=")?;
            Some((p.to_string(), t.to_string()))
        })
        .unwrap_or_else(|| panic!("no pid/tty line\n{}", srv.context(&out)));
    let line = tty
        .strip_prefix("/dev/")
        .unwrap_or_else(|| panic!("not a terminal: {tty}"))
        .to_string();

    // During the session: `who` lists the user on that terminal, from the client's address.
    assert!(
        lines.iter().any(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            f.first() == Some(&USER)
                && f.get(1) == Some(&line.as_str())
                && l.ends_with("(127.0.0.1)")
        }),
        "`who` in the session does not list {USER} on {line} from 127.0.0.1\n{}",
        srv.context(&out)
    );

    // After it: utmp holds no live entry for it, wtmp holds the login and then the logout.
    let ended = wait_until(Duration::from_secs(10), || {
        ours(WTMP, wtmp_before, &pid, &line)
            .iter()
            .any(|r| r[0] == "8")
    });
    let wtmp = ours(WTMP, wtmp_before, &pid, &line);
    assert!(
        ended,
        "no logout (DEAD_PROCESS) in {WTMP}: {wtmp:?}\n{}",
        srv.log()
    );
    let login = wtmp.iter().position(|r| r[0] == "7");
    let logout = wtmp.iter().rposition(|r| r[0] == "8");
    assert!(
        matches!((login, logout), (Some(a), Some(b)) if a < b),
        "{WTMP}: want the login (7) then the logout (8): {wtmp:?}"
    );
    let rec = &wtmp[login.unwrap()];
    assert_eq!(rec[3], USER, "{rec:?}");
    assert_eq!(rec[5], "127.0.0.1", "{rec:?}");
    assert_eq!(rec[6], "127.0.0.1", "{rec:?}");
    let utmp = ours(UTMP, 0, &pid, &line);
    assert!(
        !utmp.is_empty() && utmp.iter().all(|r| r[0] == "8"),
        "{UTMP}: want our entry marked DEAD_PROCESS (8): {utmp:?}"
    );

    // `last` pairs them: a login from 127.0.0.1 on that line that has ended.
    let last = sh(&format!("last -w -f {WTMP}"));
    let entry = last
        .lines()
        .find(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            f.first() == Some(&USER) && f.get(1) == Some(&line.as_str())
        })
        .unwrap_or_else(|| panic!("`last` does not list {USER} on {line}:\n{last}"));
    assert!(entry.contains("127.0.0.1"), "{entry}");
    assert!(
        !entry.contains("still logged in") && !entry.contains("no logout"),
        "{entry}"
    );

    // lastlog: the user's latest login is this one.
    let lastlog = sh(&format!("lastlog -u {USER}"));
    let row = lastlog.lines().nth(1).unwrap_or("");
    let f: Vec<&str> = row.split_whitespace().collect();
    assert!(
        f.first() == Some(&USER)
            && f.get(1) == Some(&line.as_str())
            && f.get(2) == Some(&"127.0.0.1"),
        "lastlog:\n{lastlog}"
    );
}
