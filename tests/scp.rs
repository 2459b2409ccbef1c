//! `scp` both ways in SFTP mode (the default of OpenSSH 9) and in legacy mode
//! (`scp -O`, served by quoll's built-in scp under `--builtin-scp`, by the system's scp
//! otherwise): 1 byte, 0 bytes, 50 MiB of random bytes, names with spaces and non-ASCII,
//! `-r` of a directory tree, modes and mtimes with `-p`.
//!
//! The server runs on this machine, so "remote" paths are in the test's temporary directory
//! and are checked locally.

mod common;
use common::*;
use std::fs;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;
use std::time::Duration;

const BIG: usize = 50 << 20;
const TRANSFER_TIMEOUT: Duration = Duration::from_secs(240);

/// The legacy protocol hands the remote path to a shell (or quoll's splitter): escape it.
fn shell_escape(path: &str) -> String {
    path.replace(' ', "\\ ")
}

fn scp(srv: &Server, opts: &[&str], from: &str, to: &str) -> Out {
    let mut cmd = srv.transfer_command("scp", opts);
    cmd.arg(from).arg(to);
    let out = run(&mut cmd, TRANSFER_TIMEOUT);
    assert_eq!(
        out.code,
        Some(0),
        "scp {opts:?} {from} {to}:\n{}",
        srv.context(&out)
    );
    out
}

/// Uploads and downloads 1 byte, 0 bytes, 50 MiB and a file named with a space and
/// non-ASCII, checking contents by SHA-256.
fn both_ways(srv: &Server, opts: &[&str]) {
    let legacy = opts.contains(&"-O");
    let local = srv.dir.join("local");
    let remote = srv.dir.join("remote");
    let back = srv.dir.join("back");
    for d in [&local, &remote, &back] {
        fs::create_dir(d).unwrap();
    }
    let files: [(&str, usize); 4] = [
        ("one", 1),
        ("zero", 0),
        ("big.bin", BIG),
        ("a b ünïcødé.txt", 1000),
    ];
    for (name, size) in files {
        random_file(&local.join(name), size);
        let remote_path = remote.join(name).display().to_string();
        let remote_arg = if legacy {
            shell_escape(&remote_path)
        } else {
            remote_path.clone()
        };
        scp(
            srv,
            opts,
            &local.join(name).display().to_string(),
            &srv.remote(&remote_arg),
        );
        assert_eq!(
            fs::metadata(&remote_path).unwrap().len(),
            size as u64,
            "uploaded {name}"
        );
        assert_eq!(
            sha256_file(Path::new(&remote_path)),
            sha256_file(&local.join(name)),
            "upload of {name} changed it"
        );
        scp(
            srv,
            opts,
            &srv.remote(&remote_arg),
            &back.join(name).display().to_string(),
        );
        assert_eq!(
            sha256_file(&back.join(name)),
            sha256_file(&local.join(name)),
            "download of {name} changed it"
        );
    }
}

/// A tree with nested directories, odd modes and old mtimes goes up and comes back with
/// `-r -p`, the same in content, mode and mtime.
fn tree_both_ways(srv: &Server, opts: &[&str]) {
    let src = srv.dir.join("tree");
    fs::create_dir_all(src.join("sub/deeper")).unwrap();
    fs::create_dir(src.join("empty dir")).unwrap();
    let files = [
        ("top.txt", 0o640, 1_500_000_000),
        ("sub/run.sh", 0o750, 1_400_000_000),
        ("sub/deeper/ünï cødé", 0o604, 1_300_000_000),
        ("sub/zero", 0o600, 1_200_000_000),
    ];
    for (i, (name, mode, mtime)) in files.iter().enumerate() {
        let p = src.join(name);
        fs::write(&p, name.repeat(i * 100)).unwrap();
        fs::set_permissions(&p, fs::Permissions::from_mode(*mode)).unwrap();
        set_mtime(&p, *mtime);
    }
    fs::set_permissions(src.join("sub"), fs::Permissions::from_mode(0o750)).unwrap();
    for d in ["sub/deeper", "sub", "empty dir", ""] {
        set_mtime(&src.join(d), 1_100_000_000);
    }

    let up = srv.dir.join("up");
    let mut o = opts.to_vec();
    o.extend(["-r", "-p"]);
    scp(
        srv,
        &o,
        &src.display().to_string(),
        &srv.remote(&up.display().to_string()),
    );
    compare_trees(&src, &up);
    let down = srv.dir.join("down");
    scp(
        srv,
        &o,
        &srv.remote(&up.display().to_string()),
        &down.display().to_string(),
    );
    compare_trees(&src, &down);
}

fn set_mtime(p: &Path, secs: u64) {
    let t = std::time::UNIX_EPOCH + Duration::from_secs(secs);
    let f = fs::File::open(p).unwrap();
    f.set_times(fs::FileTimes::new().set_accessed(t).set_modified(t))
        .unwrap();
}

/// Same names, contents, file modes, and mtimes of files and directories.
fn compare_trees(a: &Path, b: &Path) {
    let ma = fs::metadata(a).unwrap();
    let mb = fs::metadata(b).unwrap();
    assert_eq!(ma.is_dir(), mb.is_dir(), "{}", b.display());
    assert_eq!(
        ma.mode() & 0o7777,
        mb.mode() & 0o7777,
        "mode of {}",
        b.display()
    );
    if ma.is_dir() {
        let names = |d: &Path| {
            let mut v: Vec<_> = fs::read_dir(d)
                .unwrap()
                .map(|e| e.unwrap().file_name())
                .collect();
            v.sort();
            v
        };
        let (na, nb) = (names(a), names(b));
        assert_eq!(na, nb, "entries of {}", b.display());
        for n in na {
            compare_trees(&a.join(&n), &b.join(&n));
        }
    } else {
        assert_eq!(
            fs::read(a).unwrap(),
            fs::read(b).unwrap(),
            "{}",
            b.display()
        );
    }
    assert_eq!(ma.mtime(), mb.mtime(), "mtime of {}", b.display());
}

/// A quoll with `--builtin-scp` (the tests that use it exist only in builds with the scp
/// feature).
#[cfg(feature = "scp")]
fn builtin_scp_server() -> Option<Server> {
    if skip_unless_quoll("--builtin-scp") {
        return None;
    }
    Some(Server::start_with(Options {
        extra_args: vec!["--builtin-scp".into()],
        ..Default::default()
    }))
}

#[test]
fn sftp_mode_both_ways() {
    both_ways(&Server::start(), &[]);
}

#[test]
fn sftp_mode_tree_with_modes_and_times() {
    tree_both_ways(&Server::start(), &[]);
}

#[cfg(feature = "scp")]
#[test]
fn legacy_builtin_both_ways() {
    let Some(srv) = builtin_scp_server() else {
        return;
    };
    both_ways(&srv, &["-O"]);
}

#[cfg(feature = "scp")]
#[test]
fn legacy_builtin_tree_with_modes_and_times() {
    let Some(srv) = builtin_scp_server() else {
        return;
    };
    tree_both_ways(&srv, &["-O"]);
}

/// Without `--builtin-scp` the system's scp (Debian has one) serves `scp -O`; with it quoll
/// does. OpenSSH's scp in sink mode prints `Sink: C...` under `-v`; quoll's does not.
#[test]
fn legacy_default_runs_system_scp() {
    let srv = Server::start();
    let f = srv.dir.join("f");
    fs::write(&f, b"x").unwrap();
    let to = srv.remote(&srv.dir.join("g").display().to_string());
    let has_system_scp = Path::new("/usr/bin/scp").exists() || Path::new("/bin/scp").exists();
    let out = scp(&srv, &["-O", "-v"], &f.display().to_string(), &to);
    assert_eq!(fs::read(srv.dir.join("g")).unwrap(), b"x");
    if has_system_scp {
        assert!(
            out.stderr.contains("Sink: C0"),
            "the system scp did not serve:\n{}",
            srv.context(&out)
        );
    }
    #[cfg(feature = "scp")]
    if let Some(srv) = builtin_scp_server() {
        let f = srv.dir.join("f");
        fs::write(&f, b"y").unwrap();
        let to = srv.remote(&srv.dir.join("g").display().to_string());
        let out = scp(&srv, &["-O", "-v"], &f.display().to_string(), &to);
        assert_eq!(fs::read(srv.dir.join("g")).unwrap(), b"y");
        assert!(
            !out.stderr.contains("Sink: C0"),
            "--builtin-scp still ran the system scp:\n{}",
            srv.context(&out)
        );
    }
}

/// Errors come back as scp's messages, and the transfer fails.
#[cfg(feature = "scp")]
#[test]
fn legacy_builtin_reports_errors() {
    let Some(srv) = builtin_scp_server() else {
        return;
    };
    let missing = srv.dir.join("missing");
    let mut cmd = srv.transfer_command("scp", &["-O"]);
    cmd.arg(srv.remote(&missing.display().to_string()))
        .arg(srv.dir.join("x"));
    let out = run(&mut cmd, CMD_TIMEOUT);
    assert_eq!(out.code, Some(1), "{}", srv.context(&out));
    assert!(
        out.stderr.contains("No such file or directory"),
        "{}",
        srv.context(&out)
    );
    // A directory without -r.
    let mut cmd = srv.transfer_command("scp", &["-O"]);
    cmd.arg(srv.remote(&srv.dir.path().display().to_string()))
        .arg(srv.dir.join("x"));
    let out = run(&mut cmd, CMD_TIMEOUT);
    assert_eq!(out.code, Some(1), "{}", srv.context(&out));
    assert!(
        out.stderr.contains("not a regular file"),
        "{}",
        srv.context(&out)
    );
}

/// Unquoted globs in a legacy download expand on the server (as a shell would do for the
/// system scp), quoted ones do not; `~/` is the home directory in both modes (SFTP mode
/// resolves it through expand-path@openssh.com).
#[cfg(feature = "scp")]
#[test]
fn globs_and_home() {
    let Some(srv) = builtin_scp_server() else {
        return;
    };
    let g = srv.dir.join("g");
    fs::create_dir(&g).unwrap();
    for n in ["a.log", "b.log", "c.txt", "*.log"] {
        fs::write(g.join(n), n).unwrap();
    }
    let got = srv.dir.join("got");
    fs::create_dir(&got).unwrap();
    let pattern = format!("{}/[ab].log", g.display());
    scp(
        &srv,
        &["-O"],
        &srv.remote(&pattern),
        &got.display().to_string(),
    );
    let mut names: Vec<String> = fs::read_dir(&got)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(names, ["a.log", "b.log"]);
    let quoted = format!("'{}/*.log'", g.display());
    let one = srv.dir.join("one");
    scp(
        &srv,
        &["-O", "-T"],
        &srv.remote(&quoted),
        &one.display().to_string(),
    );
    assert_eq!(fs::read(&one).unwrap(), b"*.log");

    let home = sh(&format!("getent passwd {} | cut -d: -f6", srv.user))
        .trim()
        .to_string();
    let name = format!("quoll-scp-home-test-{}", std::process::id());
    let in_home = Path::new(&home).join(&name);
    for opts in [&["-O"][..], &[][..]] {
        let _ = fs::remove_file(&in_home);
        scp(
            &srv,
            opts,
            &g.join("c.txt").display().to_string(),
            &srv.remote(&format!("~/{name}")),
        );
        let content = fs::read(&in_home);
        let _ = fs::remove_file(&in_home);
        assert_eq!(content.unwrap(), b"c.txt", "scp {opts:?} to ~/");
    }
}
