//! ssh-audit (from PyPI, in build/venv; `scripts/test` installs it) against quoll: no failure,
//! and exactly the warnings README.md lists, each for an algorithm some client needs.

mod common;
use common::*;
use std::path::PathBuf;
use std::process::{Command, Stdio};

/// Every fail/warn line ssh-audit's JSON report holds, as "LEVEL KIND ALGORITHM: NOTE".
const SUMMARY: &str = r#"
import json, sys
d = json.load(sys.stdin)
for kind in ("kex", "key", "enc", "mac"):
    for a in d.get(kind, []):
        for level in ("fail", "warn"):
            for note in a.get("notes", {}).get(level, []):
                print("%s %s %s: %s" % (level, kind, a["algorithm"], note))
for c in d.get("cves", []):
    print("fail cve %s" % c)
"#;

#[test]
fn ssh_audit_finds_no_failure_and_only_the_documented_warnings() {
    if skip_unless_quoll("ssh-audit's report of quoll") {
        return;
    }
    let audit = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("build/venv/bin/ssh-audit");
    require(
        audit.exists(),
        "no ssh-audit in build/venv (scripts/test installs it from PyPI)",
    );
    let srv = Server::start();
    let out = run(
        Command::new(&audit).args(["-j", "-p", &srv.port.to_string(), "127.0.0.1"]),
        CMD_TIMEOUT,
    );
    // ssh-audit's exit codes: 0 good, 2 warnings, 3 failures.
    assert_eq!(out.code, Some(2), "{}", srv.context(&out));
    let json = srv.dir.join("audit.json");
    std::fs::write(&json, &out.stdout).unwrap();
    let summary = run_io(
        Command::new("python3").args(["-c", SUMMARY]),
        Stdio::from(std::fs::File::open(&json).unwrap()),
        Stdio::piped(),
        CMD_TIMEOUT,
    );
    assert_eq!(summary.code, Some(0), "{}", summary.describe());
    let mut got: Vec<&str> = summary.stdout.lines().collect();
    got.sort();
    assert_eq!(
        got,
        [
            "warn kex curve25519-sha256: does not provide protection against post-quantum attacks",
            "warn kex curve25519-sha256@libssh.org: does not provide protection against post-quantum attacks",
            "warn mac hmac-sha2-256: using encrypt-and-MAC mode",
            "warn mac hmac-sha2-512: using encrypt-and-MAC mode",
        ],
        "{}",
        srv.context(&out)
    );
}
