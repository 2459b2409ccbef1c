//! Sessions and helpers really started: pipes, a pty, the environment, descriptors, the
//! privilege drop, signals.

use super::*;
use crate::accounts::users;
use crate::proto::channel::PtySize;
use crate::sys::{fd, poll, process};
use std::time::{Duration, Instant};

const TIMEOUT: Duration = Duration::from_secs(10);

/// Reads until EOF (or EIO, which a pty master reports once the slave is gone).
fn read_all(fd: &OwnedFd) -> Vec<u8> {
    let deadline = Instant::now() + TIMEOUT;
    let mut out = Vec::new();
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        assert!(
            !left.is_zero(),
            "timed out reading; got {:?}",
            String::from_utf8_lossy(&out)
        );
        let mut pfd = libc::pollfd {
            fd: fd.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        };
        let _ = poll::poll(std::slice::from_mut(&mut pfd), left.as_millis() as i32);
        let mut buf = [0u8; 4096];
        match fd::read(fd, &mut buf) {
            Ok(0) => return out,
            Ok(n) => out.extend_from_slice(&buf[..n]),
            Err(e) => match e.raw_os_error().unwrap_or(0) {
                libc::EAGAIN | libc::EINTR => {}
                libc::EIO => return out,
                e => panic!("read: errno {e}"),
            },
        }
    }
}

/// waitpid with a deadline.
fn wait(pid: i32) -> i32 {
    process::wait_within(pid, TIMEOUT)
}

fn exit_code(status: i32) -> i32 {
    assert!(libc::WIFEXITED(status), "status {status:#x}");
    libc::WEXITSTATUS(status)
}

/// The current user, with /bin/sh so the tests know their shell.
fn me() -> User {
    let mut u = users::by_uid(crate::sys::ids::uid()).expect("current user in passwd");
    u.shell = "/bin/sh".into();
    u
}

fn spec<'a>(user: &'a User, command: Option<&'a [u8]>) -> SpawnSpec<'a> {
    SpawnSpec {
        user,
        command,
        pty: None,
        term: None,
        env: &[],
        ssh_client: "192.0.2.1 50000 22",
        ssh_connection: "192.0.2.1 50000 192.0.2.2 22",
        original_command: None,
        drop_privileges: false,
        builtin: None,
    }
}

/// Runs a pipe-mode child to completion: (stdout, stderr, exit code).
fn run(spec: &SpawnSpec) -> (String, String, i32) {
    let child = spawn(spec).unwrap();
    drop(child.stdin);
    let out = read_all(&child.stdout);
    let err = read_all(child.stderr.as_ref().unwrap());
    let code = exit_code(wait(child.pid));
    let s = |v: Vec<u8>| String::from_utf8(v).unwrap();
    (s(out), s(err), code)
}

#[test]
fn pipes_carry_stdout_stderr_and_status() {
    let user = me();
    let cmd = b"echo hello; echo err >&2; exit 3";
    let (out, err, code) = run(&spec(&user, Some(cmd)));
    assert_eq!((out.as_str(), err.as_str(), code), ("hello\n", "err\n", 3));
}

#[test]
fn stdin_reaches_the_child_and_login_shell_gets_dash_argv0() {
    let user = User {
        // No profile scripts to run from a home that does not exist.
        home: "/nonexistent-quoll-test".into(),
        ..me()
    };
    let child = spawn(&spec(&user, None)).unwrap();
    let script = b"echo \"$0\"; pwd\n";
    // A pipe takes this much without blocking.
    let n = fd::write(&child.stdin, script).unwrap();
    assert_eq!(n, script.len());
    drop(child.stdin);
    let out = String::from_utf8(read_all(&child.stdout)).unwrap();
    let err = String::from_utf8(read_all(child.stderr.as_ref().unwrap())).unwrap();
    assert_eq!(exit_code(wait(child.pid)), 0);
    assert_eq!(out, "-sh\n/\n");
    assert!(
        err.contains("Could not chdir to home directory /nonexistent-quoll-test"),
        "{err}"
    );
}

#[test]
fn command_is_one_argument() {
    let user = me();
    // Quotes and semicolons are the shell's business, not ours: this is exactly what
    // `sh -c` receives.
    let (out, _, code) = run(&spec(&user, Some(b"printf '%s\\n' \"a;b\" 'c d'")));
    assert_eq!((out.as_str(), code), ("a;b\nc d\n", 0));
}

#[test]
fn own_environment_reads_environ() {
    let own = own_environment();
    let path = std::env::var("PATH").expect("tests run with a PATH");
    assert!(own.iter().any(|(k, v)| k == "PATH" && *v == path));
    assert!(own.iter().all(|(k, _)| !k.is_empty()));
}

#[test]
fn environment_is_exactly_ours() {
    let user = me();
    let env = [
        ("LANG".to_string(), "C.UTF-8".to_string()),
        ("PATH".to_string(), "/evil".to_string()),
        ("A=B".to_string(), "x".to_string()),
    ];
    let s = SpawnSpec {
        env: &env,
        original_command: Some(b"ls -l"),
        term: Some("vt100"), // no pty: not exported
        ..spec(&user, Some(b"env"))
    };
    let (out, _, code) = run(&s);
    assert_eq!(code, 0);
    let mut vars: Vec<&str> = out.lines().filter(|l| !l.starts_with("PWD=")).collect();
    vars.sort();
    let path = if user.uid == 0 {
        config::ROOT_PATH
    } else {
        config::DEFAULT_PATH
    };
    let mut want = vec![
        format!("HOME={}", user.home),
        "LANG=C.UTF-8".to_string(),
        format!("LOGNAME={}", user.name),
        format!("MAIL=/var/mail/{}", user.name),
        format!("PATH={path}"),
        "SHELL=/bin/sh".to_string(),
        "SSH_CLIENT=192.0.2.1 50000 22".to_string(),
        "SSH_CONNECTION=192.0.2.1 50000 192.0.2.2 22".to_string(),
        "SSH_ORIGINAL_COMMAND=ls -l".to_string(),
        format!("USER={}", user.name),
    ];
    want.sort();
    assert_eq!(vars, want);
}

#[test]
fn only_stdio_is_inherited() {
    let user = me();
    // A descriptor without close-on-exec, as a careless library might leave one.
    let dup = fd::dup_inheritable(&std::io::stderr()).unwrap();
    let leaked = dup.as_raw_fd();
    assert!(leaked > 2);
    let cmd = format!("test -e /proc/self/fd/{leaked} && echo leaked; exec ls /proc/self/fd");
    let (out, _, code) = run(&spec(&user, Some(cmd.as_bytes())));
    assert_eq!(code, 0);
    // ls itself has its directory open as fd 3.
    assert_eq!(out, "0\n1\n2\n3\n");
}

#[test]
fn pty_child_has_terminal_and_term() {
    let user = me();
    let size = PtySize {
        cols: 80,
        rows: 24,
        ..Default::default()
    };
    let pty = open_pty(size, user.uid).unwrap();
    let s = SpawnSpec {
        pty: Some(&pty),
        term: Some("xterm-quoll"),
        ..spec(&user, Some(b"tty; echo \"$TERM $SSH_TTY\"; stty size"))
    };
    let child = spawn(&s).unwrap();
    assert!(child.stderr.is_none());
    let name = pty.name.clone();
    // Only the child may hold the slave now, so the master reports EOF when it exits.
    drop(pty.slave);
    drop(child.stdin);
    let out = String::from_utf8(read_all(&child.stdout)).unwrap();
    assert_eq!(exit_code(wait(child.pid)), 0);
    assert_eq!(out, format!("{name}\r\nxterm-quoll {name}\r\n24 80\r\n"));
}

#[test]
fn exec_failure_exits_127() {
    let user = User {
        shell: "/nonexistent/quoll-shell".into(),
        ..me()
    };
    let (out, err, code) = run(&spec(&user, Some(b"true")));
    assert_eq!((out.as_str(), code), ("", 127));
    assert!(
        err.starts_with("quoll: cannot execute /nonexistent/quoll-shell: "),
        "{err}"
    );
}

#[test]
fn nul_in_command_is_refused() {
    let user = me();
    assert!(spawn(&spec(&user, Some(b"echo a\0rm -rf /"))).is_err());
}

#[test]
fn root_drops_to_nobody() {
    assert!(
        crate::sys::ids::euid() == 0,
        "NOT RUN: dropping privileges needs the tests to run as root"
    );
    let mut nobody = users::by_name("nobody").expect("NOT RUN: no user nobody");
    nobody.shell = "/bin/sh".into(); // nobody's own shell is nologin
    let s = SpawnSpec {
        drop_privileges: true,
        ..spec(&nobody, Some(b"id -u; id -g; id -G"))
    };
    let (out, err, code) = run(&s);
    assert_eq!(code, 0, "{err}");
    let (u, g) = (nobody.uid, nobody.gid);
    assert_eq!(out, format!("{u}\n{g}\n{g}\n"));
}

#[test]
fn signal_reaches_the_group() {
    let user = me();
    let child = spawn(&spec(&user, Some(b"sleep 30; echo survived"))).unwrap();
    std::thread::sleep(Duration::from_millis(100));
    signal(child.pid, libc::SIGTERM);
    let out = read_all(&child.stdout);
    let status = wait(child.pid);
    assert!(libc::WIFSIGNALED(status) && libc::WTERMSIG(status) == libc::SIGTERM);
    assert!(out.is_empty());
    signal(0, libc::SIGTERM); // must be a no-op, not a signal to ourselves
}
