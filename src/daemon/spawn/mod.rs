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
//!
//! The rooms: `launch.rs` decides what a session runs (a shell command or a built-in server)
//! and its argv; `environment.rs` builds the child's environment; `signals.rs` names signals
//! as RFC 4254 does; `terminal.rs` opens and sizes a session's pty; this file starts the
//! child.

mod environment;
mod launch;
mod signals;
mod terminal;
#[cfg(test)]
mod tests;

use crate::accounts::users::User;
use crate::config;
use crate::sys::fd::{dup_cloexec, pipe, set_nonblocking_cloexec};
use crate::sys::process::{fork_child, ChildIo, Ids, Plan, Target};
use crate::sys::pty::Pty;
use std::ffi::CString;
use std::io;
use std::os::fd::{AsRawFd, OwnedFd, RawFd};

pub use crate::sys::process::{enable_self_exec, own_environment, signal};
pub use launch::{launch, Builtin};
pub use signals::{signal_name, signal_number};
pub use terminal::{open_pty, resize_pty};

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

/// Forks and execs a session. In the child every fd but 0, 1, 2 is closed, signal
/// dispositions and mask are reset, it leads a new session, drops to the user, arms SIGHUP
/// for quoll's death, and any failure (setgroups, setgid, setuid, exec) makes it print a
/// reason on its stderr and `_exit(1)` — never run on with the wrong identity. (A failed
/// chdir is the exception, as in OpenSSH: the session starts in `/` with a notice. A failed
/// exec exits with 127, as shells do.)
pub fn spawn(spec: &SpawnSpec) -> io::Result<Child> {
    let user = spec.user;
    let (target, argv) = launch::session_program(spec)?;
    let envp = environment::environment(spec)?;
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
