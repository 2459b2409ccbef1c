//! The daemon as an init script sees it: command-line errors, background mode with a pid
//! file, the connection limit and the login grace time.

mod common;

use common::*;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

#[test]
fn bad_flags_exit_1_with_a_message() {
    if skip_unless_quoll("command line") {
        return;
    }
    for args in [
        &["-x"][..],
        &["-p"],
        &["-T", "many"],
        &["stray"],
        &["-p", "1.2.3:22"],
    ] {
        let out = run(Command::new(quoll_bin()).args(args), CMD_TIMEOUT);
        assert_eq!(out.code, Some(1), "{args:?}: {}", out.describe());
        assert!(
            out.stderr.contains("quoll:"),
            "{args:?}: {}",
            out.describe()
        );
        assert!(out.stderr.contains("Usage"), "{args:?}: {}", out.describe());
    }
    let v = run(Command::new(quoll_bin()).arg("-V"), CMD_TIMEOUT);
    assert_eq!(v.code, Some(0));
    assert!(v.stdout.starts_with("quoll "), "{}", v.describe());
    let h = run(Command::new(quoll_bin()).arg("-h"), CMD_TIMEOUT);
    assert_eq!(h.code, Some(0));
    assert!(h.stdout.contains("-p [address:]port"), "{}", h.describe());
}

#[test]
fn bad_host_key_file_is_refused_by_name() {
    if skip_unless_quoll("host key errors") {
        return;
    }
    let dir = TempDir::new("badkey");
    let key = dir.join("hostkey");
    std::fs::write(&key, "-----BEGIN OPENSSH PRIVATE KEY-----\ntruncated\n").unwrap();
    set_mode(&key, 0o600);
    let out = run(
        Command::new(quoll_bin())
            .args(["-F", "-E", "-p", "127.0.0.1:1", "-r"])
            .arg(&key),
        CMD_TIMEOUT,
    );
    assert_eq!(out.code, Some(1), "{}", out.describe());
    assert!(
        out.stderr.contains(&key.display().to_string()),
        "{}",
        out.describe()
    );
}

/// `ssh` with the client key `key` to a daemon started by hand on `port`, running `remote`.
fn login(dir: &TempDir, key: &std::path::Path, port: u16, remote: &str) -> Out {
    run(
        Command::new("ssh")
            .args(["-F", "/dev/null", "-p", &port.to_string(), "-i"])
            .arg(key)
            .arg("-o")
            .arg(format!("UserKnownHostsFile={}", dir.join("kh").display()))
            .args([
                "-o",
                "StrictHostKeyChecking=accept-new",
                "-o",
                "BatchMode=yes",
            ])
            .arg(format!("{}@127.0.0.1", current_user()))
            .arg(remote),
        CMD_TIMEOUT,
    )
}

#[test]
fn an_argument_that_is_not_utf8_exits_1_with_a_message() {
    if skip_unless_quoll("command line") {
        return;
    }
    use std::os::unix::ffi::OsStrExt;
    let out = run(
        Command::new(quoll_bin())
            .args(["-F", "-E", "-r"])
            .arg(std::ffi::OsStr::from_bytes(b"/tmp/key\xff")),
        CMD_TIMEOUT,
    );
    assert_eq!(out.code, Some(1), "{}", out.describe());
    assert!(
        out.stderr.contains("quoll: argument 4 is not UTF-8"),
        "{}",
        out.describe()
    );
}

/// Started by an init system with fd 0, 1 and 2 closed, the daemon puts /dev/null there, so
/// that the listening socket or a pipe does not become its standard input or its log.
#[test]
fn closed_standard_descriptors_become_dev_null() {
    if skip_unless_quoll("closed standard descriptors") {
        return;
    }
    let (dir, key) = key_dir("closedfds");
    let port = free_port();
    let mut daemon = Command::new("sh")
        .arg("-c")
        .arg(r#"exec "$@" 0<&- 1>&- 2>&-"#)
        .arg("sh")
        .arg(quoll_bin())
        .args(["-F", "-E", "-p", &format!("127.0.0.1:{port}"), "-r"])
        .arg(dir.join("hostkey"))
        .arg("-D")
        .arg(dir.path())
        .spawn()
        .unwrap();
    let pid = daemon.id();
    let listening = wait_until(Duration::from_secs(10), || {
        TcpStream::connect(("127.0.0.1", port)).is_ok()
    });
    let fds: Vec<String> = (0..3)
        .map(
            |fd| match std::fs::read_link(format!("/proc/{pid}/fd/{fd}")) {
                Ok(p) => p.display().to_string(),
                Err(e) => format!("fd {fd}: {e}"),
            },
        )
        .collect();
    let login = login(&dir, &key, port, "echo fds-ok");
    let _ = daemon.kill();
    let _ = daemon.wait();
    assert!(listening, "the daemon did not listen");
    assert_eq!(fds, ["/dev/null", "/dev/null", "/dev/null"]);
    assert_eq!(login.stdout, "fds-ok\n", "{}", login.describe());
}

#[test]
fn backgrounds_writes_pidfile_and_removes_it_on_term() {
    if skip_unless_quoll("background mode") {
        return;
    }
    let (dir, key) = key_dir("bg");
    let port = free_port();
    let pidfile = dir.join("quoll.pid");
    let out = run(
        Command::new(quoll_bin())
            .args(["-p", &format!("127.0.0.1:{port}"), "-r"])
            .arg(dir.join("hostkey"))
            .arg("-D")
            .arg(dir.path())
            .arg("-P")
            .arg(&pidfile),
        CMD_TIMEOUT,
    );
    // The foreground process returns at once; the daemon lives on.
    assert_eq!(out.code, Some(0), "{}", out.describe());
    assert!(
        wait_until(Duration::from_secs(10), || pidfile.exists()),
        "no pid file"
    );
    let pid: i32 = std::fs::read_to_string(&pidfile)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    let login = login(&dir, &key, port, "echo daemon-ok");
    let killed = Command::new("kill").arg(pid.to_string()).status().unwrap();
    assert!(killed.success());
    assert_eq!(login.stdout, "daemon-ok\n", "{}", login.describe());
    assert!(
        wait_until(Duration::from_secs(10), || !pidfile.exists()),
        "pid file left behind"
    );
}

#[test]
fn connections_over_the_limit_wait() {
    if skip_unless_quoll("connection limit") {
        return;
    }
    let srv = Server::start_with(Options {
        extra_args: vec!["--max-conns".into(), "2".into()],
        ..Default::default()
    });
    // Two held connections fill the table (they stop after the version exchange). The
    // harness's own readiness probe may still hold a slot for a moment: retry until both
    // get a version line.
    let mut held = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(10);
    while held.len() < 2 {
        assert!(
            Instant::now() < deadline,
            "could not fill the table: {}",
            srv.log()
        );
        let mut s = TcpStream::connect(("127.0.0.1", srv.port)).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        let mut buf = [0u8; 4];
        if s.read_exact(&mut buf).is_ok() {
            assert_eq!(&buf, b"SSH-");
            held.push(s);
        } else {
            std::thread::sleep(Duration::from_millis(50));
        }
    }
    // The third is neither served nor closed: it waits in the listen backlog.
    let mut third = TcpStream::connect(("127.0.0.1", srv.port)).unwrap();
    third
        .set_read_timeout(Some(Duration::from_secs(1)))
        .unwrap();
    let mut buf = [0u8; 4];
    let r = third.read(&mut buf);
    assert!(r.is_err(), "got {r:?}");
    assert!(
        srv.log().contains("Maximum of 2 connections"),
        "{}",
        srv.log()
    );
    // Once one leaves, the waiting one is served.
    drop(held.pop());
    third
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    third.read_exact(&mut buf).unwrap();
    assert_eq!(&buf, b"SSH-");
    drop(third);
    assert!(wait_until(Duration::from_secs(10), || srv.ssh("true").code == Some(0)));
}

#[test]
fn login_grace_time_cuts_unauthenticated_connections() {
    if skip_unless_quoll("login grace") {
        return;
    }
    let srv = Server::start_with(Options {
        extra_args: vec!["--login-grace".into(), "2".into()],
        ..Default::default()
    });
    let mut s = TcpStream::connect(("127.0.0.1", srv.port)).unwrap();
    s.write_all(b"SSH-2.0-silent\r\n").unwrap();
    s.set_read_timeout(Some(Duration::from_secs(15))).unwrap();
    let start = Instant::now();
    let mut buf = Vec::new();
    let _ = s.read_to_end(&mut buf);
    let waited = start.elapsed();
    assert!(
        waited >= Duration::from_secs(1) && waited < Duration::from_secs(10),
        "{waited:?}"
    );
    assert!(
        srv.log().contains("login grace time exceeded"),
        "{}",
        srv.log()
    );
    // An authenticated session is not cut by it.
    let out = srv.ssh("sleep 3; echo still-here");
    assert_eq!(out.stdout, "still-here\n", "{}", out.describe());
    let _ = Stdio::null();
}

/// Started with a descriptor it does not know about (here the write end of a pipe at fd 5,
/// as a careless init script or parent process may leave one open), the daemon closes it at
/// start: the pipe's reader sees EOF, and no session child can inherit it either.
#[test]
fn descriptors_inherited_at_start_are_closed() {
    if skip_unless_quoll("closing inherited descriptors") {
        return;
    }
    use std::os::fd::AsRawFd;
    use std::os::unix::process::CommandExt;
    let (dir, key) = key_dir("inheritedfd");
    let (reader, writer) = std::io::pipe().unwrap();
    let port = free_port();
    let mut cmd = Command::new(quoll_bin());
    cmd.args(["-F", "-E", "-p", &format!("127.0.0.1:{port}"), "-r"])
        .arg(dir.join("hostkey"))
        .arg("-D")
        .arg(dir.path())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    let w = writer.as_raw_fd();
    // SAFETY: dup2 is async-signal-safe; the copy at fd 5 has no close-on-exec flag.
    unsafe {
        cmd.pre_exec(move || {
            if libc::dup2(w, 5) < 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let mut daemon = cmd.spawn().unwrap();
    drop(writer);
    let pid = daemon.id();
    let listening = wait_until(Duration::from_secs(10), || {
        TcpStream::connect(("127.0.0.1", port)).is_ok()
    });
    // fd 5 may be taken again by the daemon's own files: look for the pipe itself.
    let pipe = std::fs::read_link(format!("/proc/self/fd/{}", reader.as_raw_fd())).unwrap();
    let held: Vec<String> = std::fs::read_dir(format!("/proc/{pid}/fd"))
        .unwrap()
        .filter_map(|e| {
            let e = e.ok()?;
            (std::fs::read_link(e.path()).ok()? == pipe)
                .then(|| e.file_name().to_string_lossy().into_owned())
        })
        .collect();
    // The daemon held the last write end: the reader sees EOF rather than waiting.
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut r = reader;
        let mut buf = [0u8; 1];
        let _ = tx.send(r.read(&mut buf).map_err(|e| e.to_string()));
    });
    let eof = rx.recv_timeout(Duration::from_secs(5));
    let session = login(&dir, &key, port, "ls /proc/self/fd");
    let _ = daemon.kill();
    let _ = daemon.wait();
    assert!(listening, "the daemon did not listen");
    assert!(
        held.is_empty(),
        "the daemon still holds {} at fd {held:?}",
        pipe.display()
    );
    assert_eq!(eof, Ok(Ok(0)), "the pipe's reader did not see EOF");
    // ls has its directory open as fd 3.
    assert_eq!(session.stdout, "0\n1\n2\n3\n", "{}", session.describe());
}

/// `-i` keeps fds 0 and 1 (the connection) and closes what else it was given: the session's
/// parent, quoll, no longer has the file it got as fd 5.
#[test]
fn inetd_mode_closes_inherited_descriptors_but_keeps_the_connection() {
    if skip_unless_quoll("-i") {
        return;
    }
    let (dir, key) = key_dir("inetdfd");
    let marker = dir.join("inherited-marker");
    std::fs::write(&marker, "").unwrap();
    let proxy = format!(
        "sh -c 'exec {} -i -E -r {} -D {} 5<{}'",
        quoll_bin(),
        dir.join("hostkey").display(),
        dir.path().display(),
        marker.display()
    );
    let out = run(
        Command::new("ssh")
            .args(["-F", "/dev/null", "-i"])
            .arg(&key)
            .arg("-o")
            .arg(format!("ProxyCommand={proxy}"))
            .arg("-o")
            .arg(format!("UserKnownHostsFile={}", dir.join("kh").display()))
            .args([
                "-o",
                "StrictHostKeyChecking=accept-new",
                "-o",
                "BatchMode=yes",
            ])
            .arg(format!("{}@quoll-inetd", current_user()))
            .arg("ls -l /proc/$PPID/fd/ | grep -q inherited-marker && echo still-open; echo done"),
        CMD_TIMEOUT,
    );
    assert_eq!(out.code, Some(0), "{}", out.describe());
    assert_eq!(out.stdout, "done\n", "{}", out.describe());
}

/// `-P` through a symlink: the pid file replaces the link (the file it pointed to is left
/// as it was), is a regular file of mode 0644 whatever the umask, and holds the pid.
#[test]
fn pidfile_is_written_atomically_never_through_a_symlink() {
    if skip_unless_quoll("-P") {
        return;
    }
    use std::os::unix::fs::PermissionsExt;
    for umask in ["000", "077"] {
        let dir = TempDir::new("pidlink");
        let victim = dir.join("victim");
        std::fs::write(&victim, "precious\n").unwrap();
        set_mode(&victim, 0o600);
        let pidfile = dir.join("quoll.pid");
        std::os::unix::fs::symlink(&victim, &pidfile).unwrap();
        let port = free_port();
        let mut daemon = Command::new("sh")
            .arg("-c")
            .arg(format!(r#"umask {umask}; exec "$@""#))
            .arg("sh")
            .arg(quoll_bin())
            .args(["-F", "-E", "-p", &format!("127.0.0.1:{port}"), "-r"])
            .arg(dir.join("hostkey"))
            .arg("-P")
            .arg(&pidfile)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let pid = daemon.id();
        let written = wait_until(Duration::from_secs(10), || {
            std::fs::symlink_metadata(&pidfile).is_ok_and(|m| m.is_file())
        });
        let meta = std::fs::symlink_metadata(&pidfile);
        let text = std::fs::read_to_string(&pidfile).unwrap_or_default();
        let victim_text = std::fs::read_to_string(&victim).unwrap();
        let leftovers: Vec<String> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.contains(".tmp"))
            .collect();
        let _ = daemon.kill();
        let _ = daemon.wait();
        assert_eq!(
            victim_text, "precious\n",
            "umask {umask}: written through the link"
        );
        assert!(
            written,
            "umask {umask}: the pid path is not a regular file: {meta:?}"
        );
        let mode = meta.unwrap().permissions().mode() & 0o7777;
        assert_eq!(mode, 0o644, "umask {umask}: pid file mode {mode:o}");
        assert_eq!(text, format!("{pid}\n"), "umask {umask}");
        assert!(leftovers.is_empty(), "umask {umask}: {leftovers:?}");
    }
}

/// A temporary directory holding a new client key `id` that its `authorized_keys` allows
/// (quoll's `-D` directory), and the key's path.
fn key_dir(tag: &str) -> (TempDir, std::path::PathBuf) {
    let dir = TempDir::new(tag);
    let key = dir.join("id");
    ssh_keygen(&key);
    std::fs::copy(dir.join("id.pub"), dir.join("authorized_keys")).unwrap();
    (dir, key)
}
