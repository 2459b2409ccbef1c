//! Forking a session child: setsid, controlling terminal or pipes, privilege drop, a clean
//! environment, chdir home, exec the user's shell.
//! STUB: signatures fixed, bodies to be written.

use super::pty::Pty;
use super::users::User;
use std::os::fd::OwnedFd;

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
}

/// The parent's ends of a child's stdio. With a pty, `stdin` and `stdout` are both dups of the
/// master and `stderr` is `None`. All non-blocking and close-on-exec.
pub struct Child {
    pub pid: i32,
    pub stdin: OwnedFd,
    pub stdout: OwnedFd,
    pub stderr: Option<OwnedFd>,
}

/// Forks and execs. In the child every fd but 0, 1, 2 is closed, signal dispositions and mask
/// are reset, and any failure (setgid, initgroups, setuid, chdir, exec) makes it print a reason
/// on its stderr and `_exit(1)` — never run on with the wrong identity.
pub fn spawn(spec: &SpawnSpec) -> std::io::Result<Child> {
    let _ = spec;
    todo!()
}

/// Sends `sig` to the child's process group.
pub fn signal(pid: i32, sig: i32) {
    let _ = (pid, sig);
    todo!()
}

/// Maps an SSH signal name ("TERM", "INT", ...) to a signal number and back.
pub fn signal_number(name: &str) -> Option<i32> {
    let _ = name;
    todo!()
}

pub fn signal_name(sig: i32) -> &'static str {
    let _ = sig;
    todo!()
}
