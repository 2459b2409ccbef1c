//! The one way quoll starts a child process (through `sys::process::fork_child`): a session's
//! shell or built-in server, or a helper doing slow work. Every child gets default signal
//! dispositions and an empty mask, its own session, only the descriptors meant for it, the
//! privilege drop where one is due, a death signal armed for when quoll dies, and then
//! executes a program — the user's shell, or quoll itself under an internal name
//! (`multicall`), so that no child runs on with a copy of the daemon's memory (host key, other
//! users' buffers).
//!
//! Everything the child needs (argv, envp, messages, the group list) is built before fork, so
//! the child only makes system calls.

use crate::accounts::users::User;
use crate::config;
use crate::options::Options;
use crate::sys::fd::{dup_cloexec, pipe, set_nonblocking_cloexec};
use crate::sys::process::{fork_child, ChildIo, Ids, Plan, Target};
use crate::sys::pty::Pty;
use std::ffi::CString;
use std::io;
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::os::unix::ffi::OsStrExt;

pub use crate::sys::process::{enable_self_exec, own_environment, signal};

pub struct SpawnSpec<'a> {
    pub user: &'a User,
    /// `exec` command, run as `shell -c command`; `None` runs a login shell (`-sh` argv[0]).
    pub command: Option<&'a [u8]>,
    /// When set the child gets the slave as stdin/stdout/stderr and controlling terminal.
    pub pty: Option<&'a Pty>,
    /// TERM from the pty-req.
    pub term: Option<&'a str>,
    /// Accepted `env` requests (already filtered to LANG and LC_*).
    pub env: &'a [(String, String)],
    /// "client_ip client_port server_port"
    pub ssh_client: &'a str,
    /// "client_ip client_port server_ip server_port"
    pub ssh_connection: &'a str,
    /// SSH_ORIGINAL_COMMAND, set when a forced command replaced the client's.
    pub original_command: Option<&'a [u8]>,
    /// Drop to the user's uid/gid/groups (when quoll runs as root). When false the child
    /// keeps quoll's identity, which must then be the user's.
    pub drop_privileges: bool,
    /// Run this built-in server in the child (after the privilege drop, environment and
    /// chdir) instead of exec'ing the shell.
    pub builtin: Option<Builtin>,
}

/// Servers quoll runs itself in the session child, as the user: quoll executed again under an
/// internal name (`multicall`), so the child holds none of the daemon's memory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Builtin {
    /// `subsystem sftp`.
    #[cfg(feature = "sftp")]
    Sftp,
    /// `scp -t ...` / `scp -f ...`: the command's arguments after `scp`, as patterns
    /// (`scp::split_words`).
    #[cfg(feature = "scp")]
    Scp(Vec<Vec<u8>>),
}

/// Decides what a session runs: `(command, builtin)` from the effective command (forced or
/// the client's) and the requested subsystem. A subsystem other than sftp, or sftp when
/// disabled, is an error (the request is refused). A forced command replaces a subsystem,
/// as in OpenSSH.
pub fn launch<'a>(
    opts: &'a Options,
    uid: u32,
    command: Option<&'a [u8]>,
    forced: bool,
    subsystem: Option<&str>,
) -> io::Result<(Option<&'a [u8]>, Option<Builtin>)> {
    if let (Some(name), false) = (subsystem, forced) {
        if name != "sftp" || opts.no_sftp {
            return Err(crate::ioerr::other(format!(
                "subsystem '{name}' is not available"
            )));
        }
        return match &opts.sftp_server {
            Some(path) => Ok((Some(path.as_os_str().as_bytes()), None)),
            #[cfg(feature = "sftp")]
            None => Ok((None, Some(Builtin::Sftp))),
            #[cfg(not(feature = "sftp"))]
            None => match config::SFTP_SERVERS
                .iter()
                .find(|p| is_executable(std::path::Path::new(p)))
            {
                Some(p) => Ok((Some(p.as_bytes()), None)),
                None => Err(crate::ioerr::other("no sftp-server installed")),
            },
        };
    }
    #[cfg(feature = "scp")]
    if let Some(args) = command.and_then(crate::scp::parse_command) {
        let path = if uid == 0 {
            config::ROOT_PATH
        } else {
            config::DEFAULT_PATH
        };
        if opts.builtin_scp || !on_path("scp", path) {
            return Ok((command, Some(Builtin::Scp(args))));
        }
    }
    #[cfg(not(feature = "scp"))]
    let _ = uid;
    Ok((command, None))
}

/// Whether `path` is an executable file.
#[cfg(any(feature = "scp", not(feature = "sftp")))]
fn is_executable(path: &std::path::Path) -> bool {
    crate::sys::fsys::stat(path).is_ok_and(|m| m.is_file() && m.mode & 0o111 != 0)
}

/// Whether an executable `name` is in one of `path`'s directories.
#[cfg(feature = "scp")]
fn on_path(name: &str, path: &str) -> bool {
    path.split(':')
        .any(|dir| is_executable(&std::path::Path::new(dir).join(name)))
}

/// The parent's ends of a child's stdio. With a pty, `stdin` and `stdout` are both dups of the
/// master and `stderr` is `None`. All non-blocking and close-on-exec.
///
/// With a pty the caller should drop `Pty::slave` once `spawn` returns: while quoll holds the
/// slave open, reading the master never reports the end of the session.
pub struct Child {
    pub pid: i32,
    pub stdin: OwnedFd,
    pub stdout: OwnedFd,
    pub stderr: Option<OwnedFd>,
}

fn nul_error(what: &str) -> io::Error {
    crate::ioerr::new(
        io::ErrorKind::InvalidInput,
        format!("{what} contains a NUL byte"),
    )
}

fn cstring(bytes: &[u8], what: &str) -> io::Result<CString> {
    CString::new(bytes).map_err(|_| nul_error(what))
}

/// The session's argv and program: the shell (`shell -c command`, or a login shell with a
/// `-` in argv[0]), or quoll under a built-in server's name.
fn session_program(spec: &SpawnSpec) -> io::Result<(Target, Vec<CString>)> {
    let user = spec.user;
    #[cfg(any(feature = "sftp", feature = "scp"))]
    if let Some(b) = &spec.builtin {
        let argv = match b {
            #[cfg(feature = "sftp")]
            Builtin::Sftp => vec![cstring(super::multicall::SFTP.as_bytes(), "name")?],
            #[cfg(feature = "scp")]
            Builtin::Scp(args) => {
                std::iter::once(cstring(super::multicall::SCP.as_bytes(), "name"))
                    .chain(args.iter().map(|a| cstring(a, "scp argument")))
                    .collect::<io::Result<_>>()?
            }
        };
        return Ok((Target::Quoll(super::multicall::run), argv));
    }
    let shell = cstring(user.shell.as_bytes(), "shell")?;
    let base = user.shell.rsplit('/').next().unwrap_or(&user.shell);
    // The command is one argv element: it reaches the shell exactly as the client sent it,
    // never pasted into another command line.
    let argv = match spec.command {
        Some(cmd) => vec![
            cstring(base.as_bytes(), "shell")?,
            c"-c".to_owned(),
            cstring(cmd, "command")?,
        ],
        // A leading '-' in argv[0] tells the shell it is a login shell.
        None => vec![cstring(format!("-{base}").as_bytes(), "shell")?],
    };
    Ok((Target::Path(shell), argv))
}

/// The user's identity for the privilege drop, groups read from the group database.
fn ids_of(user: &User) -> io::Result<Ids> {
    let mut groups = crate::accounts::users::groups(&user.name, user.gid).ok_or_else(|| {
        crate::ioerr::other(format!(
            "cannot read the groups of {} (or more than {})",
            user.name,
            config::MAX_GROUPS
        ))
    })?;
    // The kernel keeps them sorted; so does the check after setgroups.
    groups.sort_unstable();
    groups.dedup();
    Ok(Ids {
        uid: user.uid,
        gid: user.gid,
        groups,
    })
}

/// The child's whole environment: nothing is inherited from quoll.
fn environment(spec: &SpawnSpec) -> io::Result<Vec<CString>> {
    let user = spec.user;
    let path = if user.uid == 0 {
        config::ROOT_PATH
    } else {
        config::DEFAULT_PATH
    };
    let mut vars: Vec<(&str, &[u8])> = vec![
        ("USER", user.name.as_bytes()),
        ("LOGNAME", user.name.as_bytes()),
        ("HOME", user.home.as_bytes()),
        ("SHELL", user.shell.as_bytes()),
        ("PATH", path.as_bytes()),
    ];
    // TERM only describes a terminal; without a pty there is none.
    if let (Some(_), Some(term)) = (spec.pty, spec.term) {
        vars.push(("TERM", term.as_bytes()));
    }
    vars.push(("SSH_CLIENT", spec.ssh_client.as_bytes()));
    vars.push(("SSH_CONNECTION", spec.ssh_connection.as_bytes()));
    if let Some(pty) = spec.pty {
        vars.push(("SSH_TTY", pty.name.as_bytes()));
    }
    if let Some(cmd) = spec.original_command {
        vars.push(("SSH_ORIGINAL_COMMAND", cmd));
    }
    let mail = format!("/var/mail/{}", user.name);
    vars.push(("MAIL", mail.as_bytes()));
    for (name, value) in spec.env {
        // The caller filters names; still never let one override ours or smuggle a second
        // variable in through '='.
        let bad = name.is_empty()
            || name.as_bytes().contains(&b'=')
            || vars.iter().any(|(n, _)| n == name);
        if bad {
            continue;
        }
        vars.push((name, value.as_bytes()));
    }
    vars.iter()
        .map(|(name, value)| {
            let mut v = Vec::with_capacity(name.len() + 1 + value.len());
            v.extend_from_slice(name.as_bytes());
            v.push(b'=');
            v.extend_from_slice(value);
            cstring(&v, name)
        })
        .collect()
}

/// Forks and execs a session. In the child every fd but 0, 1, 2 is closed, signal
/// dispositions and mask are reset, it leads a new session, drops to the user, arms SIGHUP
/// for quoll's death, and any failure (setgroups, setgid, setuid, exec) makes it print a
/// reason on its stderr and `_exit(1)` — never run on with the wrong identity. (A failed
/// chdir is the exception, as in OpenSSH: the session starts in `/` with a notice. A failed
/// exec exits with 127, as shells do.)
pub fn spawn(spec: &SpawnSpec) -> io::Result<Child> {
    let user = spec.user;
    let (target, argv) = session_program(spec)?;
    let envp = environment(spec)?;
    let ids = if spec.drop_privileges {
        Some(ids_of(user)?)
    } else {
        None
    };
    let home = cstring(user.home.as_bytes(), "home directory")?;

    // `child_ends` are closed in the parent after fork (by drop).
    let (io, stdin, stdout, stderr, child_ends) = match spec.pty {
        Some(pty) => {
            let stdin = dup_cloexec(&pty.master)?;
            let stdout = dup_cloexec(&pty.master)?;
            (
                ChildIo::Tty(pty.slave.as_raw_fd()),
                stdin,
                stdout,
                None,
                Vec::new(),
            )
        }
        None => {
            let (in_r, in_w) = pipe()?;
            let (out_r, out_w) = pipe()?;
            let (err_r, err_w) = pipe()?;
            let io = ChildIo::Pipes([in_r.as_raw_fd(), out_w.as_raw_fd(), err_w.as_raw_fd()]);
            (io, in_w, out_r, Some(err_r), vec![in_r, out_w, err_w])
        }
    };
    set_nonblocking_cloexec(&stdin)?;
    set_nonblocking_cloexec(&stdout)?;
    if let Some(err) = &stderr {
        set_nonblocking_cloexec(err)?;
    }
    let plan = Plan::new(
        target,
        argv,
        envp,
        io,
        ids,
        Some(home),
        // OpenSSH's wording, so users recognise it.
        format!("Could not chdir to home directory {}", user.home).into_bytes(),
        format!("quoll: cannot execute {}", user.shell).into_bytes(),
        libc::SIGHUP,
        0,
    );
    let pid = fork_child(&plan)?;
    drop(child_ends);
    Ok(Child {
        pid,
        stdin,
        stdout,
        stderr,
    })
}

/// Starts quoll again as the helper `name` (`multicall`) with `args`, its stdin and stdout on
/// the given descriptors and its stderr on quoll's own. It keeps quoll's identity (the helper
/// drops privileges itself, once it has read what needs root), starts in `/` with an empty
/// environment, is killed when quoll dies, and runs `nice` steps below the loop.
pub fn spawn_helper(
    name: &str,
    args: &[&[u8]],
    stdin: RawFd,
    stdout: RawFd,
    nice: i32,
) -> io::Result<i32> {
    let argv = std::iter::once(cstring(name.as_bytes(), "name"))
        .chain(args.iter().map(|a| cstring(a, "argument")))
        .collect::<io::Result<Vec<_>>>()?;
    let plan = Plan::new(
        Target::Quoll(super::multicall::run),
        argv,
        Vec::new(),
        ChildIo::Pipes([stdin, stdout, 2]),
        None,
        None,
        Vec::new(),
        Vec::new(),
        libc::SIGKILL,
        nice,
    );
    fork_child(&plan)
}

/// RFC 4254 §6.10 signal names (without "SIG").
const SIGNALS: &[(&str, i32)] = &[
    ("ABRT", libc::SIGABRT),
    ("ALRM", libc::SIGALRM),
    ("FPE", libc::SIGFPE),
    ("HUP", libc::SIGHUP),
    ("ILL", libc::SIGILL),
    ("INT", libc::SIGINT),
    ("KILL", libc::SIGKILL),
    ("PIPE", libc::SIGPIPE),
    ("QUIT", libc::SIGQUIT),
    ("SEGV", libc::SIGSEGV),
    ("TERM", libc::SIGTERM),
    ("USR1", libc::SIGUSR1),
    ("USR2", libc::SIGUSR2),
];

/// Maps an SSH signal name ("TERM", "INT", ...) to a signal number and back.
pub fn signal_number(name: &str) -> Option<i32> {
    SIGNALS.iter().find(|(n, _)| *n == name).map(|&(_, s)| s)
}

/// The RFC 4254 name of `sig`. Signals the RFC does not name (e.g. SIGBUS, SIGSYS) are
/// reported as "SIG@openssh.com", the name OpenSSH uses: RFC 4254 allows `name@domain`
/// for local extensions, and clients print it rather than reject it.
pub fn signal_name(sig: i32) -> &'static str {
    SIGNALS
        .iter()
        .find(|(_, s)| *s == sig)
        .map_or("SIG@openssh.com", |&(n, _)| n)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::accounts::users;
    use crate::proto::channel::PtySize;
    use crate::sys::pty;
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

    /// waitpid with a deadline; kills the child's group if it overstays.
    fn wait(pid: i32) -> i32 {
        let deadline = Instant::now() + TIMEOUT;
        loop {
            match process::wait_nohang(pid) {
                Ok(Some(status)) => return status,
                Ok(None) => {}
                Err(e) => panic!("waitpid failed: {e}"),
            }
            if Instant::now() > deadline {
                signal(pid, libc::SIGKILL);
                panic!("child {pid} did not exit");
            }
            std::thread::sleep(Duration::from_millis(10));
        }
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
        let pty = pty::open(size, user.uid).unwrap();
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
    fn launch_picks_builtins() {
        let o = Options::default();
        let run = |o: &Options, cmd: Option<&'static [u8]>, forced: bool, sub: Option<&str>| {
            launch(o, 1000, cmd, forced, sub).map(|(c, b)| (c.map(<[u8]>::to_vec), b))
        };
        #[cfg(feature = "sftp")]
        assert_eq!(
            run(&o, None, false, Some("sftp")).unwrap(),
            (None, Some(Builtin::Sftp))
        );
        // Without the built-in, an installed sftp-server serves, or the request is refused.
        #[cfg(not(feature = "sftp"))]
        match config::SFTP_SERVERS
            .iter()
            .find(|p| is_executable(std::path::Path::new(p)))
        {
            Some(p) => assert_eq!(
                run(&o, None, false, Some("sftp")).unwrap(),
                (Some(p.as_bytes().to_vec()), None)
            ),
            None => assert!(run(&o, None, false, Some("sftp")).is_err()),
        }
        assert!(run(&o, None, false, Some("netconf")).is_err());
        // A forced command replaces the subsystem.
        assert_eq!(
            run(&o, Some(b"date"), true, Some("sftp")).unwrap(),
            (Some(b"date".to_vec()), None)
        );
        let ext = Options {
            sftp_server: Some("/usr/lib/openssh/sftp-server".into()),
            ..Options::default()
        };
        assert_eq!(
            run(&ext, None, false, Some("sftp")).unwrap(),
            (Some(b"/usr/lib/openssh/sftp-server".to_vec()), None)
        );
        let off = Options {
            no_sftp: true,
            ..Options::default()
        };
        assert!(run(&off, None, false, Some("sftp")).is_err());
    }

    #[cfg(feature = "scp")]
    #[test]
    fn launch_picks_builtin_scp() {
        let o = Options::default();
        let run = |o: &Options, cmd: Option<&'static [u8]>| {
            launch(o, 1000, cmd, false, None).map(|(c, b)| (c.map(<[u8]>::to_vec), b))
        };
        let always = Options {
            builtin_scp: true,
            ..Options::default()
        };
        let (_, b) = run(&always, Some(b"scp -t -- 'a b'")).unwrap();
        assert_eq!(
            b,
            Some(Builtin::Scp(vec![
                b"-t".to_vec(),
                b"--".to_vec(),
                b"a b".to_vec()
            ]))
        );
        assert_eq!(run(&always, Some(b"ls")).unwrap().1, None);
        // Without --builtin-scp the built-in serves only when PATH has no scp.
        let has_scp = on_path("scp", config::DEFAULT_PATH);
        let (_, b) = run(&o, Some(b"scp -f x")).unwrap();
        assert_eq!(b.is_some(), !has_scp);
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
    fn signal_names_round_trip() {
        for name in [
            "ABRT", "ALRM", "FPE", "HUP", "ILL", "INT", "KILL", "PIPE", "QUIT",
        ] {
            assert_eq!(signal_name(signal_number(name).unwrap()), name);
        }
        for name in ["SEGV", "TERM", "USR1", "USR2"] {
            assert_eq!(signal_name(signal_number(name).unwrap()), name);
        }
        assert_eq!(signal_number("SIGTERM"), None);
        assert_eq!(signal_number("BUS"), None);
        assert_eq!(signal_name(libc::SIGBUS), "SIG@openssh.com");
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
}
