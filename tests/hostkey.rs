//! The generated host key's fingerprint (`ssh-keygen -l -f`) is the one the
//! client records; a restart keeps the key (strict host key checking passes); a key made by
//! `dropbearkey` is used as is; `quoll keygen` writes keys OpenSSH reads and prints the same
//! public key and fingerprint as ssh-keygen.

mod common;
use common::*;
use std::path::Path;
use std::process::Command;

const ALIAS: &str = "HostKeyAlias=quoll-under-test";

fn recorded_fingerprint(srv: &Server) -> String {
    let out = run(
        Command::new("ssh-keygen")
            .arg("-l")
            .arg("-f")
            .arg(&srv.known_hosts),
        CMD_TIMEOUT,
    );
    assert_eq!(
        out.code,
        Some(0),
        "ssh-keygen -l -f known_hosts\n{}",
        out.describe()
    );
    assert_eq!(
        out.stdout.lines().count(),
        1,
        "known_hosts should hold one key:\n{}",
        out.stdout
    );
    fingerprint_in(&out.stdout).expect("fingerprint in known_hosts listing")
}

fn keygen_fingerprint(path: &Path) -> String {
    let out = run(
        Command::new("ssh-keygen").arg("-l").arg("-f").arg(path),
        CMD_TIMEOUT,
    );
    assert_eq!(
        out.code,
        Some(0),
        "ssh-keygen -l -f {}\n{}",
        path.display(),
        out.describe()
    );
    fingerprint_in(&out.stdout).expect("fingerprint in ssh-keygen -l output")
}

fn mode_of(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

#[test]
fn generated_host_key_matches_client_and_survives_restart() {
    let mut srv = Server::start();
    assert!(
        srv.hostkey.exists(),
        "host key not created at {}\n{}",
        srv.hostkey.display(),
        srv.log()
    );
    let pub_path = std::path::PathBuf::from(format!("{}.pub", srv.hostkey.display()));
    assert!(
        pub_path.exists(),
        "no .pub beside the host key\n{}",
        srv.log()
    );
    assert_eq!(mode_of(&srv.hostkey), 0o600, "host key file mode");

    let out = srv.ssh_opts(&["-o", ALIAS], "echo first");
    assert_eq!(out.code, Some(0), "{}", srv.context(&out));
    let seen = recorded_fingerprint(&srv);
    assert_eq!(
        keygen_fingerprint(&srv.hostkey),
        seen,
        "ssh-keygen -l on the private key file"
    );
    assert_eq!(
        keygen_fingerprint(&pub_path),
        seen,
        "ssh-keygen -l on the .pub file"
    );

    let key_bytes = std::fs::read(&srv.hostkey).unwrap();
    srv.restart();
    let out = srv.ssh_opts(
        &["-o", ALIAS, "-o", "StrictHostKeyChecking=yes"],
        "echo second",
    );
    assert_eq!(
        out.code,
        Some(0),
        "strict host key checking after a restart\n{}",
        srv.context(&out)
    );
    assert_eq!(out.stdout, "second\n");
    assert_eq!(
        std::fs::read(&srv.hostkey).unwrap(),
        key_bytes,
        "the host key file changed on restart"
    );
    assert_eq!(recorded_fingerprint(&srv), seen);
}

#[test]
fn dropbear_key_is_used_as_is() {
    if skip_unless_quoll("reading Dropbear's key format") {
        return;
    }
    let keys = TempDir::new("dbkey");
    let key = keys.join("dropbear_ed25519_host_key");
    let out = run(
        Command::new("dropbearkey")
            .args(["-t", "ed25519", "-f"])
            .arg(&key),
        CMD_TIMEOUT,
    );
    assert_eq!(out.code, Some(0), "dropbearkey\n{}", out.describe());
    let out = run(
        Command::new("dropbearkey").arg("-y").arg("-f").arg(&key),
        CMD_TIMEOUT,
    );
    let want = fingerprint_in(&out.stdout).expect("fingerprint in dropbearkey -y output");
    let bytes = std::fs::read(&key).unwrap();

    let srv = Server::start_with(Options {
        hostkey: Some(key.clone()),
        ..Default::default()
    });
    let out = srv.ssh("echo dropbear-key");
    assert_eq!(out.code, Some(0), "{}", srv.context(&out));
    assert_eq!(out.stdout, "dropbear-key\n");
    assert_eq!(
        recorded_fingerprint(&srv),
        want,
        "fingerprint seen by the client vs dropbearkey -y"
    );
    assert_eq!(
        std::fs::read(&key).unwrap(),
        bytes,
        "quoll must use the Dropbear key file as is"
    );
}

fn quoll_keygen(args: &[&str], file: &Path) -> Out {
    let out = run(
        Command::new(quoll_bin())
            .arg("keygen")
            .args(args)
            .arg("-f")
            .arg(file),
        CMD_TIMEOUT,
    );
    assert_eq!(
        out.code,
        Some(0),
        "quoll keygen {:?} -f {}\n{}",
        args,
        file.display(),
        out.describe()
    );
    out
}

/// `ssh-ed25519 BASE64` of a public key line (the comment dropped).
fn key_part(line: &str) -> String {
    line.split_whitespace()
        .take(2)
        .collect::<Vec<_>>()
        .join(" ")
}

/// Checks `quoll keygen -y -f FILE` against ssh-keygen's view of the same key.
fn check_keygen_y(file: &Path, want_pub: &str, want_fp: &str) {
    let out = quoll_keygen(&["-y"], file);
    let mut lines = out.stdout.lines();
    let pub_line = lines.next().unwrap_or("");
    let fp_line = lines.next().unwrap_or("");
    assert_eq!(
        key_part(pub_line),
        key_part(want_pub),
        "public key line of {}:\n{}",
        file.display(),
        out.stdout
    );
    assert!(
        fp_line.starts_with("256 SHA256:") && fp_line.ends_with("(ED25519)"),
        "fingerprint line:\n{}",
        out.stdout
    );
    assert_eq!(
        fingerprint_in(fp_line).as_deref(),
        Some(want_fp),
        "fingerprint of {}",
        file.display()
    );
}

#[test]
fn quoll_keygen_round_trip() {
    if skip_unless_quoll("quoll keygen") {
        return;
    }
    let dir = TempDir::new("keygen");

    // quoll writes, OpenSSH reads.
    let k = dir.join("quoll_key");
    quoll_keygen(&[], &k);
    assert_eq!(mode_of(&k), 0o600, "key file mode");
    let pub_file = std::fs::read_to_string(format!("{}.pub", k.display())).expect("read KEY.pub");
    let out = run(
        Command::new("ssh-keygen").arg("-y").arg("-f").arg(&k),
        CMD_TIMEOUT,
    );
    assert_eq!(
        out.code,
        Some(0),
        "ssh-keygen -y on quoll's key\n{}",
        out.describe()
    );
    assert_eq!(
        key_part(&out.stdout),
        key_part(&pub_file),
        "public key derived by ssh-keygen vs KEY.pub"
    );
    let fp = keygen_fingerprint(&k);
    check_keygen_y(&k, &pub_file, &fp);

    // OpenSSH writes, quoll reads.
    let s = dir.join("openssh_key");
    ssh_keygen(&s);
    let s_pub = std::fs::read_to_string(format!("{}.pub", s.display())).unwrap();
    check_keygen_y(&s, &s_pub, &keygen_fingerprint(&s));

    // Dropbear writes, quoll reads.
    let d = dir.join("dropbear_key");
    let out = run(
        Command::new("dropbearkey")
            .args(["-t", "ed25519", "-f"])
            .arg(&d),
        CMD_TIMEOUT,
    );
    assert_eq!(out.code, Some(0), "dropbearkey\n{}", out.describe());
    let d_pub = out
        .stdout
        .lines()
        .find(|l| l.starts_with("ssh-ed25519 "))
        .expect("public line from dropbearkey")
        .to_string();
    check_keygen_y(&d, &d_pub, &fingerprint_in(&out.stdout).unwrap());

    // A key quoll made serves as a host key; the client sees its fingerprint.
    let srv = Server::start_with(Options {
        hostkey: Some(k.clone()),
        ..Default::default()
    });
    assert_eq!(srv.ssh_ok("echo keygen-key"), "keygen-key\n");
    assert_eq!(recorded_fingerprint(&srv), fp);
}

/// A truncated, corrupt or group/world-readable host key file is refused at start with a
/// message naming the file (and never overwritten).
#[test]
fn unusable_host_key_files_are_refused() {
    if skip_unless_quoll("quoll's host key checks") {
        return;
    }
    let dir = TempDir::new("badkey");
    let good = dir.join("good");
    ssh_keygen(&good);
    let good_bytes = std::fs::read(&good).unwrap();
    let cases: [(&str, Vec<u8>, u32); 3] = [
        ("truncated_key", good_bytes[..good_bytes.len() / 2].to_vec(), 0o600),
        ("corrupt_key", b"-----BEGIN OPENSSH PRIVATE KEY-----\nnot base64 at all!\n-----END OPENSSH PRIVATE KEY-----\n".to_vec(), 0o600),
        ("readable_key", good_bytes.clone(), 0o644),
    ];
    for (name, bytes, mode) in cases {
        let path = dir.join(name);
        std::fs::write(&path, &bytes).unwrap();
        set_mode(&path, mode);
        let out = run(
            Command::new(quoll_bin())
                .args([
                    "-F",
                    "-E",
                    "-p",
                    &format!("127.0.0.1:{}", free_port()),
                    "-r",
                ])
                .arg(&path)
                .arg("-D")
                .arg(dir.path()),
            std::time::Duration::from_secs(10),
        );
        assert!(
            !out.timed_out,
            "{}: quoll started with an unusable host key\n{}",
            name,
            out.describe()
        );
        assert_ne!(
            out.code,
            Some(0),
            "{}: quoll should refuse it\n{}",
            name,
            out.describe()
        );
        let said = format!("{}{}", out.stdout, out.stderr);
        assert!(
            said.contains(path.to_str().unwrap()),
            "{}: the message should name the file\n{}",
            name,
            out.describe()
        );
        assert_eq!(
            std::fs::read(&path).unwrap(),
            bytes,
            "{}: the key file was changed",
            name
        );
    }
}

/// Starts quoll in the foreground with `-r key` (and `extra`) and returns what it said, or
/// fails the test if it keeps running (it accepted the key).
fn start_refused(what: &str, key: &Path, extra: &[&str]) -> String {
    let dir = key.parent().unwrap();
    let out = run(
        Command::new(quoll_bin())
            .args([
                "-F",
                "-E",
                "-p",
                &format!("127.0.0.1:{}", free_port()),
                "-r",
            ])
            .arg(key)
            .arg("-D")
            .arg(dir)
            .args(extra),
        std::time::Duration::from_secs(10),
    );
    assert!(
        !out.timed_out,
        "{what}: quoll started with this host key\n{}",
        out.describe()
    );
    assert_ne!(out.code, Some(0), "{what}: {}", out.describe());
    format!("{}{}", out.stdout, out.stderr)
}

/// Keys of both formats, OpenSSH's (ssh-keygen) and Dropbear's (dropbearkey), in `dir`.
fn keys_of_both_formats(dir: &TempDir) -> Vec<std::path::PathBuf> {
    let openssh = dir.join("openssh_key");
    ssh_keygen(&openssh);
    let dropbear = dir.join("dropbear_key");
    let out = run(
        Command::new("dropbearkey")
            .args(["-t", "ed25519", "-f"])
            .arg(&dropbear),
        CMD_TIMEOUT,
    );
    assert_eq!(out.code, Some(0), "dropbearkey\n{}", out.describe());
    vec![openssh, dropbear]
}

/// A host key path that is a symlink is refused, by name, whatever it points to: at start,
/// with `-R` (create at the first connection) too; a dangling link is not created through;
/// `quoll keygen` does not write through one either.
#[test]
fn symlinked_host_key_is_refused() {
    if skip_unless_quoll("quoll's host key checks") {
        return;
    }
    let dir = TempDir::new("keylink");
    for real in keys_of_both_formats(&dir) {
        let bytes = std::fs::read(&real).unwrap();
        let link = dir.join("link_key");
        let _ = std::fs::remove_file(&link);
        std::os::unix::fs::symlink(&real, &link).unwrap();
        for extra in [&[][..], &["-R"]] {
            let what = format!("{} {extra:?}", real.display());
            let said = start_refused(&what, &link, extra);
            assert!(
                said.contains(link.to_str().unwrap()) && said.contains("symbolic link"),
                "{what}: the message should name the file and say why\n{said}"
            );
        }
        assert_eq!(std::fs::read(&real).unwrap(), bytes, "{}", real.display());
    }

    // A dangling link: nothing is created where it points.
    let target = dir.join("not_there");
    let link = dir.join("dangling_key");
    std::os::unix::fs::symlink(&target, &link).unwrap();
    for extra in [&[][..], &["-R"]] {
        let said = start_refused(&format!("dangling {extra:?}"), &link, extra);
        assert!(said.contains(link.to_str().unwrap()), "{said}");
        assert!(!target.exists(), "a key was written through the link");
    }
    let out = run(
        Command::new(quoll_bin()).arg("keygen").arg("-f").arg(&link),
        CMD_TIMEOUT,
    );
    assert_ne!(out.code, Some(0), "{}", out.describe());
    assert!(!target.exists(), "quoll keygen wrote through the link");
}

/// A host key file owned by another user than the one quoll runs as is refused, by name
/// (OpenSSH and Dropbear formats). Needs root (to give the file away).
#[test]
fn host_key_owned_by_another_user_is_refused() {
    if skip_unless_quoll("quoll's host key checks") {
        return;
    }
    assert!(
        is_root(),
        "needs root: the test gives a key file to another user (runs as {})",
        current_user()
    );
    ensure_user("quolltest");
    let dir = TempDir::new("keyowner");
    for key in keys_of_both_formats(&dir) {
        sh(&format!("chown quolltest {}", key.display()));
        let bytes = std::fs::read(&key).unwrap();
        let said = start_refused(&key.display().to_string(), &key, &[]);
        assert!(
            said.contains(key.to_str().unwrap()) && said.contains("owned by"),
            "{}: the message should name the file and say why\n{said}",
            key.display()
        );
        assert_eq!(std::fs::read(&key).unwrap(), bytes);
    }
}
