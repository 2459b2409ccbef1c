//! The Debian package (`scripts/package-deb native`, with the quoll under test as its binary):
//! its files, an install into a throwaway root, a login through the installed binary, a purge
//! that leaves nothing behind.
//!
//! The throwaway root is a temporary directory with an empty dpkg database, installed into
//! with `dpkg --root=DIR --force-script-chrootless`: dpkg unpacks there and runs the
//! maintainer scripts on this machine with `DPKG_ROOT=DIR` (they honour it), so no chroot with
//! a shell and C library has to be built, and nothing outside DIR is touched. The database
//! there knows no other package, so `libc6` is forced (`--force-depends`); the binary runs
//! with this machine's C library.

mod common;

use common::*;
use std::collections::BTreeSet;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

fn ok(out: Out, what: &str) -> Out {
    assert_eq!(out.code, Some(0), "{what}:\n{}", out.describe());
    out
}

/// Every path under `dir` but dpkg's own database.
fn tree(dir: &Path) -> BTreeSet<PathBuf> {
    let mut found = BTreeSet::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.starts_with(dir.join("var/lib/dpkg")) {
                continue;
            }
            if p.is_dir() && !p.is_symlink() {
                todo.push(p.clone());
            }
            found.insert(p.strip_prefix(dir).unwrap().to_path_buf());
        }
    }
    found
}

fn dpkg(root: &Path, args: &[&str]) -> Out {
    let mut c = Command::new("dpkg");
    c.arg(format!("--root={}", root.display()))
        .arg("--force-script-chrootless")
        .arg("--force-depends")
        .args(args);
    run(&mut c, CMD_TIMEOUT)
}

#[test]
fn the_deb_installs_serves_a_login_and_purges_cleanly() {
    if skip_unless_quoll("the quoll package") {
        return;
    }
    require_root("installing a package with dpkg");
    for tool in ["dpkg", "dpkg-deb"] {
        require(
            !sh(&format!("command -v {tool}")).is_empty(),
            &format!("{tool} is not installed"),
        );
    }
    let dir = TempDir::new("deb");

    // Build it.
    let out = ok(
        run(
            Command::new(format!("{ROOT}/scripts/package-deb"))
                .args(["native", "--binary", &quoll_bin(), "--out"])
                .arg(dir.join("out")),
            Duration::from_secs(300),
        ),
        "scripts/package-deb",
    );
    let deb = PathBuf::from(out.stdout.trim());
    assert!(deb.ends_with("quoll_0.1.0_amd64.deb"), "{}", deb.display());
    let field = |f: &str| {
        let out = run(
            Command::new("dpkg-deb").arg("-f").arg(&deb).arg(f),
            CMD_TIMEOUT,
        );
        ok(out, "dpkg-deb -f").stdout.trim().to_string()
    };
    assert_eq!(field("Package"), "quoll");
    assert_eq!(field("Architecture"), "amd64");
    let conffiles = run(
        Command::new("dpkg-deb")
            .arg("-I")
            .arg(&deb)
            .arg("conffiles"),
        CMD_TIMEOUT,
    );
    assert_eq!(ok(conffiles, "conffiles").stdout, "/etc/default/quoll\n");

    // Install it into an empty root.
    let root = dir.join("root");
    for d in [
        "var/lib/dpkg/info",
        "var/lib/dpkg/updates",
        "var/lib/dpkg/triggers",
    ] {
        std::fs::create_dir_all(root.join(d)).unwrap();
    }
    std::fs::write(root.join("var/lib/dpkg/status"), "").unwrap();
    let before = tree(&root);
    ok(dpkg(&root, &["-i", deb.to_str().unwrap()]), "dpkg -i");
    let status = ok(dpkg(&root, &["-s", "quoll"]), "dpkg -s");
    assert!(status.stdout.contains("Status: install ok installed"));
    let binary = root.join("usr/sbin/quoll");
    assert_eq!(std::fs::metadata(&binary).unwrap().mode() & 0o7777, 0o755);
    for file in [
        "lib/systemd/system/quoll.service",
        "lib/systemd/system/quoll.socket",
        "lib/systemd/system/quoll@.service",
        "usr/share/man/man8/quoll.8.gz",
        "etc/default/quoll",
    ] {
        assert!(root.join(file).is_file(), "{file} not installed");
    }
    // postinst made the host key with the installed binary.
    let key = root.join("etc/quoll/ssh_host_ed25519_key");
    assert_eq!(std::fs::metadata(&key).unwrap().mode() & 0o777, 0o600);
    let public = std::fs::read_to_string(root.join("etc/quoll/ssh_host_ed25519_key.pub")).unwrap();
    // The man page is found by man, from the installed tree.
    let man = run(
        Command::new("man")
            .env("MANPATH", root.join("usr/share/man"))
            .env("MANWIDTH", "80")
            .args(["-P", "cat", "8", "quoll"]),
        CMD_TIMEOUT,
    );
    assert!(
        ok(man, "man quoll").stdout.contains("dropbearconvert"),
        "the installed man page"
    );
    verify_units(&root);

    // The installed binary serves a login with the key postinst made.
    let installed = binary.to_str().unwrap().to_string();
    let mut server = Server::start_with(common::Options {
        hostkey: Some(key.clone()),
        wrapper: vec!["sh".into(), "-c".into(), format!("exec {installed} \"$@\"")],
        ..Default::default()
    });
    let exe = std::fs::read_link(format!("/proc/{}/exe", server.pid().unwrap())).unwrap();
    assert_eq!(exe, binary);
    assert_eq!(server.ssh_ok("echo logged in"), "logged in\n");
    let known = std::fs::read_to_string(&server.known_hosts).unwrap();
    let key_blob = public.split_whitespace().nth(1).unwrap();
    assert!(known.contains(key_blob), "{known}\n{public}");
    server.stop();

    // Purged: nothing of it is left.
    ok(dpkg(&root, &["--purge", "quoll"]), "dpkg --purge");
    assert_eq!(tree(&root), before);
    let status = dpkg(&root, &["-s", "quoll"]);
    assert_ne!(status.code, Some(0), "{}", status.describe());
}

/// `systemd-analyze verify` of the installed units, their ExecStart pointed at the installed
/// binary (its path here is under the throwaway root) and `man` at the installed man page
/// (verify checks the units' `Documentation=man:quoll(8)`).
fn verify_units(root: &Path) {
    require(
        !sh("command -v systemd-analyze").is_empty(),
        "systemd-analyze is not installed (systemd)",
    );
    let units = root.join("verify");
    std::fs::create_dir(&units).unwrap();
    let installed = root.join("usr/sbin/quoll");
    let mut args = vec!["verify".to_string()];
    for unit in ["quoll.service", "quoll.socket", "quoll@.service"] {
        let text = std::fs::read_to_string(root.join("lib/systemd/system").join(unit)).unwrap();
        let text = text.replace("/usr/sbin/quoll", installed.to_str().unwrap());
        std::fs::write(units.join(unit), text).unwrap();
        args.push(units.join(unit).to_str().unwrap().to_string());
    }
    let out = run(
        Command::new("systemd-analyze")
            .env("MANPATH", root.join("usr/share/man"))
            .args(&args),
        CMD_TIMEOUT,
    );
    let out = ok(out, "systemd-analyze verify");
    assert_eq!(out.stdout + &out.stderr, "", "systemd-analyze warns");
    std::fs::remove_dir_all(&units).unwrap();
}
