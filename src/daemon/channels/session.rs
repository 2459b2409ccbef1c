//! Session channels: the user's shell, command or subsystem as a child process, on a pty or
//! on pipes, and its exit status.

use super::{End, Io};
use crate::accounts::users;
use crate::daemon::edge::{short_of_descriptors, Edge};
use crate::daemon::{forward, spawn};
use crate::inet::{Ip, Sock};
use crate::proto::budget::{Budget, Grant};
use crate::proto::channel::{ExitInfo, PtySize, SessionStart};
use crate::proto::conn::Conn;
use crate::sys::{fd, pty, utmp};
use log::warn;
use std::fs::File;
use std::io;
use std::os::fd::OwnedFd;

/// A session's process and the loop's ends of its stdio.
pub struct Process {
    pub pid: i32,
    pub io: Io,
    /// The pty master (a dup), for window changes; `None` on pipes.
    pub pty: Option<OwnedFd>,
    /// Set when the child was reaped (`exited`).
    pub exit: Option<ExitInfo>,
    /// On pipes, once the child exited: the bytes of stdout and stderr still owed to the
    /// client, counted from what the pipes held at the exit (see `exited`).
    pub owed: Option<[usize; 2]>,
    /// CHANNEL_CLOSE (with the exit status) has been asked for.
    pub finished: bool,
    /// On a pty, once the shell exited: when reading the terminal stops (`PTY_DRAIN_MS`).
    pub drain_until: Option<u64>,
    /// The agent socket, when the session asked for agent forwarding.
    pub agent: Option<forward::AgentSock>,
    /// Whether the stdout pipe was grown (`grow_pipe`), and the room it holds while it lives.
    pub pipe: PipeGrowth,
    /// A pty session's utmp/wtmp entry, ended (logout written) when the session is dropped.
    #[allow(dead_code)] // held for its Drop
    pub record: Option<utmp::Record>,
}

/// A stdout pipe's growth: asked for at most once per session.
pub enum PipeGrowth {
    /// Not yet.
    Unasked,
    /// Asked; the growth room the larger pipe holds, if it grew.
    Asked(#[allow(dead_code)] Option<Grant>), // held for its Drop
}

/// A process on pipes that fills its stdout pipe faster than the loop reads it one packet at a time
/// (a read of half a packet or more: `tar`, `cat` of a file, not a prompt) gets a pipe of
/// `GROWN_PIPE` bytes, if the growth room has the difference: it then writes on while the
/// loop is busy, and the loop's reads take fuller packets. A refusal leaves the pipe as it
/// is, and no session asks twice.
pub fn grow_pipe(growth: &mut PipeGrowth, pipe: &File, budget: &mut Budget) {
    if !matches!(growth, PipeGrowth::Unasked) {
        return;
    }
    *growth = PipeGrowth::Asked(None);
    let Ok(size) = fd::pipe_size(pipe) else {
        return;
    };
    let extra = crate::config::GROWN_PIPE.saturating_sub(size);
    if extra == 0 {
        return;
    }
    let Some(grant) = budget.grant(extra) else {
        return;
    };
    if fd::set_pipe_size(pipe, crate::config::GROWN_PIPE).is_ok() {
        *growth = PipeGrowth::Asked(Some(grant));
    }
}

impl Process {
    /// The child was reaped. On pipes, everything it wrote is in the pipes by now; what they
    /// hold is what the client is still owed, and the session ends once that is sent, even
    /// while a background child keeps the pipes open (Dropbear's rule: `sleep 10 & echo
    /// started` returns at once). Counting the bytes rather than reading until the pipe is
    /// empty also ends a session whose background child never stops writing.
    pub fn exited(&mut self, exit: ExitInfo) {
        self.exit = Some(exit);
        if self.pty.is_none() {
            // FIONREAD does not fail on a pipe; should it, the pipe is read until it is
            // empty (Dropbear's rule).
            let held = |f: &Option<File>| {
                f.as_ref()
                    .map_or(0, |f| fd::unread(f).unwrap_or(usize::MAX))
            };
            self.owed = Some([held(&self.io.output), held(&self.io.stderr)]);
        }
    }

    /// SIGHUP to a process not yet reaped (its pid may be reused after that).
    pub fn hang_up(&self) {
        if self.exit.is_none() {
            spawn::signal(self.pid, libc::SIGHUP);
        }
    }
}

/// `shell`, `exec` or `subsystem`: starts the process, as the logged-in user.
pub fn start(edge: &mut Edge, ch: usize, req: &SessionStart) -> bool {
    let Some(user) = edge.user.clone() else {
        return false;
    };
    if !crate::daemon::descriptors::spare(crate::config::FD_PER_SESSION) {
        short_of_descriptors("Session", edge.peer);
        return false;
    }
    match spawn_for(edge, ch, &user, req) {
        Ok(()) => true,
        Err(e) => {
            warn!(
                "Failed to start session for '{}' from {}: {}",
                user.name,
                Sock(edge.peer),
                e
            );
            false
        }
    }
}

fn spawn_for(edge: &mut Edge, ch: usize, user: &users::User, req: &SessionStart) -> io::Result<()> {
    let slot = edge
        .ends
        .get_mut(ch)
        .ok_or_else(|| crate::ioerr::other("no session slot"))?;
    // -c wins over authorized_keys command= (the administrator's policy for everyone).
    let forced = edge
        .opts
        .forced_command
        .as_deref()
        .or(edge.key_options.command.as_deref())
        .map(str::as_bytes);
    let command = forced.or(req.command);
    let original = forced.and(req.command);
    let pty_req = req.pty.filter(|_| !edge.key_options.no_pty);
    let pty = match pty_req {
        Some(p) => {
            let pty = spawn::open_pty(p.size, user.uid)?;
            let _ = pty::apply_modes(&pty.slave, &p.modes);
            Some(pty)
        }
        None => None,
    };
    // The first of a name wins: authorized_keys environment= (with --permit-user-env),
    // then the client's env requests, then quoll's own environment (-e).
    let mut env: Vec<(String, String)> = Vec::new();
    // Dropbear's SSH_PUBKEYINFO: the comment of the key's line, first so nothing replaces it.
    if let Some(info) = &edge.key_options.info {
        env.push(("SSH_PUBKEYINFO".into(), info.clone()));
    }
    if edge.opts.permit_user_env {
        env.extend(edge.key_options.environment.iter().cloned());
    }
    env.extend(
        req.env
            .split(|&b| b == 0)
            .filter_map(|e| std::str::from_utf8(e).ok()?.split_once('='))
            .map(|(k, v)| (k.to_string(), v.to_string())),
    );
    let agent = match slot.take() {
        Some(End::AgentWaiting(a)) => Some(a),
        _ => None,
    };
    if let Some(a) = &agent {
        env.push((
            "SSH_AUTH_SOCK".into(),
            crate::sys::fsys::show(&a.path).to_string(),
        ));
    }
    if edge.opts.pass_env {
        // -e: quoll's own environment too (the session's variables still win).
        env.extend(spawn::own_environment());
    }
    let ssh_client = format!(
        "{} {} {}",
        Ip(edge.peer.ip()),
        edge.peer.port(),
        edge.local.port()
    );
    let ssh_connection = format!(
        "{} {} {} {}",
        Ip(edge.peer.ip()),
        edge.peer.port(),
        Ip(edge.local.ip()),
        edge.local.port()
    );
    let (command, builtin) = spawn::launch(
        edge.opts,
        user.uid,
        command,
        forced.is_some(),
        req.subsystem,
    )?;
    let spec = spawn::SpawnSpec {
        user,
        command,
        pty: pty.as_ref(),
        term: pty_req.map(|p| p.term.as_str()),
        env: &env,
        ssh_client: &ssh_client,
        ssh_connection: &ssh_connection,
        original_command: original,
        drop_privileges: edge.daemon_uid == 0,
        builtin,
    };
    let child = spawn::spawn(&spec)?;
    let record = pty.as_ref().and_then(|p| {
        utmp::Record::start(&p.name, &user.name, user.uid, edge.peer.ip(), child.pid)
    });
    *slot = Some(End::Process(Box::new(Process {
        pid: child.pid,
        io: Io {
            input: Some(File::from(child.stdin)),
            output: Some(File::from(child.stdout)),
            stderr: child.stderr.map(File::from),
        },
        pty: pty.map(|p| p.master),
        exit: None,
        owed: None,
        finished: false,
        drain_until: None,
        agent,
        pipe: PipeGrowth::Unasked,
        record,
    })));
    Ok(())
}

pub fn window_change(edge: &mut Edge, ch: usize, size: PtySize) {
    if let Some(Some(End::Process(p))) = edge.ends.get(ch) {
        if let Some(m) = &p.pty {
            let _ = spawn::resize_pty(m, size);
        }
    }
}

pub fn signal(edge: &mut Edge, ch: usize, name: &str) {
    if let (Some(Some(End::Process(p))), Some(sig)) =
        (edge.ends.get(ch), spawn::signal_number(name))
    {
        if p.exit.is_none() {
            spawn::signal(p.pid, sig);
        }
    }
}

/// A process channel's turn: its stdin closed once the client's data has all been written
/// (pipes only: a pty's EOF is the client's ^D); after the process exited, its stdin closed,
/// what it owes sent (pipes) or the terminal read to its end or for `PTY_DRAIN_MS` (a pty);
/// then the channel finished with the exit status once every output is closed.
pub fn service(conn: &mut Conn, edge: &mut Edge, ch: usize, now: u64) {
    let Some(Some(End::Process(p))) = edge.ends.get_mut(ch) else {
        return;
    };
    if p.pty.is_none() && p.io.input.is_some() && conn.channel_input_finished(ch) {
        p.io.input = None;
    }
    if p.exit.is_some() && p.pty.is_none() {
        // As Dropbear: nothing reads stdin after the process is gone; a background child
        // that does sees EOF.
        p.io.input = None;
        super::read_into(conn, edge, ch, false);
        super::read_into(conn, edge, ch, true);
    } else if p.exit.is_some() && p.io.output.is_some() {
        // The shell exited: send what the terminal holds. Once nothing holds the slave the
        // master reads EIO after the last byte and `read_into` closes it. A background
        // process may keep the terminal open, so reading stops `PTY_DRAIN_MS` after the
        // exit, with what was readable by then.
        super::read_into(conn, edge, ch, false);
        if let Some(Some(End::Process(p))) = edge.ends.get_mut(ch) {
            if p.io.output.is_some() && conn.channel_send_room(ch) > 0 {
                let until = *p
                    .drain_until
                    .get_or_insert(now + crate::config::PTY_DRAIN_MS);
                if now >= until {
                    p.io.output = None;
                    p.io.input = None;
                }
            }
        }
    }
    let Some(Some(End::Process(p))) = edge.ends.get_mut(ch) else {
        return;
    };
    if let (Some(exit), None, None, false) = (p.exit, &p.io.output, &p.io.stderr, p.finished) {
        p.finished = true;
        conn.channel_finish(ch, Some(exit), edge);
    }
}
