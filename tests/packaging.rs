//! The Buildroot and Yocto start files in packaging/, run on this machine with the quoll under
//! test: Buildroot's S50quoll under busybox's `sh` and `start-stop-daemon` (its paths
//! rewritten into a temporary directory), the Yocto units checked with `systemd-analyze verify`
//! and their `quoll -i` command line run per connection by `systemd-socket-activate`, as
//! systemd runs quoll@.service for quoll.socket. The OpenWrt package is tested on the booted
//! mipsel board (scripts/qemu-test).

mod common;

use common::*;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

fn buildroot(file: &str) -> PathBuf {
    Path::new(ROOT)
        .join("packaging/buildroot/package/quoll")
        .join(file)
}

fn yocto(file: &str) -> PathBuf {
    Path::new(ROOT)
        .join("packaging/yocto/recipes-connectivity/quoll/files")
        .join(file)
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// `ssh` as this user to 127.0.0.1:`port` with `key`, checking the host key against
/// `known_hosts` (`strict`: yes, else accept-new).
fn ssh(port: u16, key: &Path, known_hosts: &Path, strict: bool, remote: &str) -> Out {
    let mut c = Command::new("ssh");
    c.args(["-F", "/dev/null", "-p", &port.to_string()])
        .arg("-i")
        .arg(key);
    for o in [
        format!("UserKnownHostsFile={}", known_hosts.display()),
        "GlobalKnownHostsFile=/dev/null".to_string(),
        format!(
            "StrictHostKeyChecking={}",
            if strict { "yes" } else { "accept-new" }
        ),
        "BatchMode=yes".to_string(),
        "ConnectTimeout=10".to_string(),
        "IdentitiesOnly=yes".to_string(),
        "IdentityAgent=none".to_string(),
        "LogLevel=ERROR".to_string(),
    ] {
        c.arg("-o").arg(o);
    }
    c.arg(format!("{}@127.0.0.1", current_user())).arg(remote);
    run(&mut c, CMD_TIMEOUT)
}

fn login_works(port: u16, key: &Path, known_hosts: &Path, strict: bool) -> Result<(), String> {
    let out = ssh(port, key, known_hosts, strict, "echo logged-in");
    if out.code == Some(0) && out.stdout == "logged-in\n" {
        Ok(())
    } else {
        Err(out.describe())
    }
}

fn port_closed(port: u16) -> bool {
    std::net::TcpStream::connect(("127.0.0.1", port)).is_err()
}

fn pid_alive(pid: &str) -> bool {
    Path::new("/proc").join(pid).exists()
}

/// A client key and an authorized_keys directory (`-D`) for it.
fn client(dir: &TempDir) -> (PathBuf, PathBuf) {
    let key = dir.join("id_ed25519");
    ssh_keygen(&key);
    let auth = dir.join("auth");
    std::fs::create_dir(&auth).unwrap();
    std::fs::copy(key.with_extension("pub"), auth.join("authorized_keys")).unwrap();
    set_mode(&auth.join("authorized_keys"), 0o600);
    (key, auth)
}

// ---------------------------------------------------------------------------------------------
// Buildroot: S50quoll

/// `busybox sh S50quoll ACTION` with only busybox's applets on PATH.
fn s50(dir: &TempDir, action: &str) -> Out {
    let out = run(
        Command::new(dir.join("bin/busybox"))
            .arg("sh")
            .arg(dir.join("S50quoll"))
            .arg(action)
            .env_clear()
            .env("PATH", dir.join("bin")),
        CMD_TIMEOUT,
    );
    assert!(
        !out.timed_out,
        "S50quoll {action} timed out:\n{}",
        out.describe()
    );
    out
}

/// The daemon's pid, once the daemon (gone to the background) has written its pid file.
fn pid_file(dir: &TempDir) -> String {
    let path = dir.join("run/quoll.pid");
    let mut pid = String::new();
    wait_until(START_TIMEOUT, || {
        pid = std::fs::read_to_string(&path).unwrap_or_default();
        pid.ends_with('\n')
    });
    assert!(!pid.is_empty(), "{}: not written", path.display());
    pid.trim().to_string()
}

#[test]
fn buildroot_s50quoll_starts_serves_restarts_and_stops_under_busybox() {
    if skip_unless_quoll("packaging/buildroot's S50quoll") {
        return;
    }
    require(
        !sh("command -v busybox").is_empty(),
        "busybox is not installed (Buildroot's sh and start-stop-daemon)",
    );
    let dir = TempDir::new("s50");
    let bin = dir.join("bin");
    std::fs::create_dir(&bin).unwrap();
    let busybox = sh("command -v busybox").trim().to_string();
    std::os::unix::fs::symlink(&busybox, bin.join("busybox")).unwrap();
    let install = run(
        Command::new(&busybox).arg("--install").arg("-s").arg(&bin),
        CMD_TIMEOUT,
    );
    assert_eq!(install.code, Some(0), "{}", install.describe());

    // The script with its system paths moved into the temporary directory; nothing else
    // changes. /etc/dropbear starts as Buildroot's image has it: a link into /var/run.
    let d = dir.path().display().to_string();
    let script = read(&buildroot("S50quoll"))
        .replace("\"/usr/sbin/$DAEMON\"", &format!("\"{}\"", quoll_bin()))
        .replace("/var/run/$DAEMON.pid", &format!("{d}/run/quoll.pid"))
        .replace("/etc/default/$DAEMON", &format!("{d}/default"))
        .replace("\"/var/run/dropbear\"", &format!("\"{d}/run/dropbear\""))
        .replace(
            "KEYDIR=\"/etc/dropbear\"",
            &format!("KEYDIR=\"{d}/etc-dropbear\""),
        );
    std::fs::write(dir.join("S50quoll"), &script).unwrap();
    std::fs::create_dir(dir.join("run")).unwrap();
    std::os::unix::fs::symlink(dir.join("run/dropbear"), dir.join("etc-dropbear")).unwrap();
    let (key, auth) = client(&dir);
    let port = free_port();
    std::fs::write(
        dir.join("default"),
        format!("QUOLL_ARGS=\"-p 127.0.0.1:{port} -D {}\"\n", auth.display()),
    )
    .unwrap();
    let kh = dir.join("known_hosts");
    let hostkey = dir.join("etc-dropbear/dropbear_ed25519_host_key");

    let out = s50(&dir, "start");
    assert_eq!(
        (out.code, out.stdout.as_str()),
        (Some(0), "Starting quoll: OK\n"),
        "{}",
        out.describe()
    );
    let pid1 = pid_file(&dir);
    assert!(pid_alive(&pid1), "no quoll with the pid file's pid {pid1}");
    assert!(
        dir.join("etc-dropbear").is_dir() && !dir.join("etc-dropbear").is_symlink(),
        "the /etc/dropbear link into /var/run was not replaced by a directory"
    );
    assert!(
        !hostkey.exists(),
        "-R: no host key before the first connection"
    );
    login_works(port, &key, &kh, false).expect("login after start");
    assert!(
        hostkey.exists(),
        "the first connection made {}",
        hostkey.display()
    );

    let out = s50(&dir, "restart");
    assert_eq!(
        (out.code, out.stdout.as_str()),
        (Some(0), "Stopping quoll: OK\nStarting quoll: OK\n"),
        "{}",
        out.describe()
    );
    let pid2 = pid_file(&dir);
    assert_ne!(pid1, pid2, "restart kept the old process");
    assert!(!pid_alive(&pid1), "the old quoll ({pid1}) still runs");
    login_works(port, &key, &kh, true).expect("login after restart, same host key");

    let out = s50(&dir, "stop");
    assert_eq!(
        (out.code, out.stdout.as_str()),
        (Some(0), "Stopping quoll: OK\n"),
        "{}",
        out.describe()
    );
    assert!(!pid_alive(&pid2), "quoll ({pid2}) still runs after stop");
    assert!(!dir.join("run/quoll.pid").exists(), "pid file left behind");
    assert!(port_closed(port), "port {port} still open after stop");

    let out = s50(&dir, "bogus");
    assert_eq!(out.code, Some(1), "{}", out.describe());
}

// ---------------------------------------------------------------------------------------------
// Yocto: quoll.socket, quoll@.service, quollkey.service

/// A unit's text with the recipe's substitutions, the binary being the quoll under test.
fn yocto_unit(name: &str) -> String {
    read(&yocto(name))
        .replace("@SBINDIR@/quoll", &quoll_bin())
        .replace("@BASE_BINDIR@", "/bin")
}

/// The `ExecStart=` lines of a unit, without systemd's `-` prefix.
fn exec_starts(unit: &str) -> Vec<String> {
    unit.lines()
        .filter_map(|l| l.strip_prefix("ExecStart="))
        .map(|l| l.trim_start_matches('-').to_string())
        .collect()
}

#[test]
fn yocto_and_buildroot_units_pass_systemd_analyze_verify() {
    if skip_unless_quoll("packaging/'s systemd units") {
        return;
    }
    require(
        !sh("command -v systemd-analyze").is_empty(),
        "systemd-analyze is not installed (systemd)",
    );
    let dir = TempDir::new("units");
    let mut args = vec!["verify".to_string()];
    for unit in ["quoll.socket", "quoll@.service", "quollkey.service"] {
        std::fs::write(dir.join(unit), yocto_unit(unit)).unwrap();
        args.push(dir.join(unit).display().to_string());
    }
    // Buildroot's quoll.service, in a directory of its own (the name is taken).
    std::fs::create_dir(dir.join("buildroot")).unwrap();
    let br = read(&buildroot("quoll.service")).replace("/usr/sbin/quoll", &quoll_bin());
    std::fs::write(dir.join("buildroot/quoll.service"), br).unwrap();
    args.push(dir.join("buildroot/quoll.service").display().to_string());
    let out = run(Command::new("systemd-analyze").args(&args), CMD_TIMEOUT);
    assert_eq!(out.code, Some(0), "{}", out.describe());
    assert_eq!(out.stdout + &out.stderr, "", "systemd-analyze warns");
}

/// Kills the socket activator (and with it nothing else: each quoll -i ends with its
/// connection) when the test ends, passed or not.
struct Activator(Child);

impl Drop for Activator {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn yocto_socket_activation_runs_quoll_i_per_connection_and_logs_in() {
    if skip_unless_quoll("packaging/yocto's quoll -i units") {
        return;
    }
    require(
        !sh("command -v systemd-socket-activate").is_empty(),
        "systemd-socket-activate is not installed (systemd)",
    );
    let dir = TempDir::new("socket");
    let (key, auth) = client(&dir);
    let keydir = dir.join("keys");
    let expand = |cmd: &str| -> Vec<String> {
        cmd.replace("${QUOLL_KEY_DIR}", keydir.to_str().unwrap())
            .replace("$DROPBEAR_EXTRA_ARGS", &format!("-D {}", auth.display()))
            .split_whitespace()
            .map(str::to_string)
            .collect()
    };

    // quollkey.service: the directory, then the key, in Dropbear's place.
    for cmd in exec_starts(&yocto_unit("quollkey.service")) {
        let argv = expand(&cmd);
        let out = run(Command::new(&argv[0]).args(&argv[1..]), CMD_TIMEOUT);
        assert_eq!(out.code, Some(0), "{cmd}:\n{}", out.describe());
    }
    let hostkey = keydir.join("dropbear_ed25519_host_key");
    let public = read(&hostkey.with_extension("pub"));
    let public: Vec<&str> = public.split_whitespace().take(2).collect();
    assert_eq!(
        public.first(),
        Some(&"ssh-ed25519"),
        "{}",
        hostkey.display()
    );

    // quoll@.service's command line, for every connection quoll.socket accepts.
    let unit = yocto_unit("quoll@.service");
    let starts = exec_starts(&unit);
    assert_eq!(starts.len(), 1, "{unit}");
    assert!(unit.contains("StandardInput=socket"), "{unit}");
    let socket = read(&yocto("quoll.socket"));
    assert!(socket.contains("Accept=yes"), "{socket}");
    let argv = expand(&starts[0]);
    assert!(argv.contains(&"-i".to_string()), "{argv:?}");
    let port = free_port();
    let activator = Command::new("systemd-socket-activate")
        .arg("--listen")
        .arg(format!("127.0.0.1:{port}"))
        .arg("--accept")
        .arg("--inetd")
        .args(&argv)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("systemd-socket-activate");
    let activator = Activator(activator);
    assert!(
        wait_until(START_TIMEOUT, || !port_closed(port)),
        "systemd-socket-activate does not listen on {port}"
    );

    let kh = dir.join("known_hosts");
    std::fs::write(&kh, format!("[127.0.0.1]:{port} {}\n", public.join(" "))).unwrap();
    for n in 1..=3 {
        login_works(port, &key, &kh, true)
            .unwrap_or_else(|e| panic!("login {n} through the socket: {e}"));
    }
    // Each connection had a quoll of its own, gone with it.
    let children = || sh(&format!("pgrep -P {} || true", activator.0.id()));
    assert!(
        wait_until(START_TIMEOUT, || children().trim().is_empty()),
        "quoll -i processes left after their connections: {}",
        children()
    );
}
