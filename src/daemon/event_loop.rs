//! The one poll(2) loop: listeners, connections, session children and the signal pipe.
//!
//! Each connection is a `Slot`: its socket, its protocol state (`Conn`) and its sessions.
//! The loop moves bytes between sockets, `Conn` and children; `Conn` decides what they mean.

use super::admission::{Admission, Note, Pending, Verdict};
use super::login::{self, Login};
use super::{descriptors, forward, memory, refused, spawn};
use crate::accounts::users;
use crate::authkeys::KeyOptions;
use crate::config::{Options, FD_PER_SESSION, FD_RESERVE_LOGIN};
use crate::hostkey;
use crate::inet::{Ip, Sock};
use crate::proto::budget::Budget;
use crate::proto::channel::{DirectTcpip, ExitInfo, Outgoing, PtySize, SessionHost, SessionStart};
use crate::proto::conn::{Conn, Disconnect, GlobalReply, Host, Params};
use crate::proto::crypto::{Ed25519Key, ED25519_BLOB_LEN, ED25519_SIG_BLOB_LEN};
use crate::proto::{auth::AuthHost, msg::reason};
use crate::sys::{fd as fds, fsys, pty, signal as signals, socket as net, utmp};
use log::{error, info, warn};
use std::fs::File;
use std::io::{self, ErrorKind, Read, Write};
use std::net::{IpAddr, SocketAddr, TcpListener, TcpStream};
use std::os::fd::{AsRawFd, OwnedFd, RawFd};

/// One session channel's process and the loop's ends of its stdio.
struct Session {
    pid: i32,
    stdin: Option<File>,
    stdout: Option<File>,
    stderr: Option<File>,
    /// The pty master (a dup), for window changes; `None` on pipes.
    pty: Option<OwnedFd>,
    /// Set when the child was reaped.
    exit: Option<ExitInfo>,
    finished: bool,
    /// A socket channel (forwarding, agent) instead of a process: `stdout` reads it, `stdin`
    /// writes it, and the client's EOF shuts its write side down.
    stream: bool,
    eof_sent: bool,
    /// A direct-tcpip target still being resolved or connected.
    connect: Option<forward::Connect>,
    /// The agent socket of a session that asked for agent forwarding.
    agent: Option<forward::AgentSock>,
    /// A pty session's utmp/wtmp entry, ended (logout written) when the session is dropped.
    #[allow(dead_code)] // held for its Drop
    record: Option<utmp::Record>,
}

impl Session {
    fn empty() -> Session {
        Session {
            pid: 0,
            stdin: None,
            stdout: None,
            stderr: None,
            pty: None,
            exit: None,
            finished: false,
            stream: false,
            eof_sent: false,
            connect: None,
            agent: None,
            record: None,
        }
    }

    fn stream(read: File, write: File) -> Session {
        Session {
            stdin: Some(write),
            stdout: Some(read),
            stream: true,
            ..Session::empty()
        }
    }
}

/// A connection's byte stream: a TCP socket, or (`-i`, inetd mode) stdin and stdout, which
/// may be two different fds (pipes from `ssh -o ProxyCommand`).
enum Stream {
    Tcp(TcpStream),
    Pipes { r: File, w: File },
}

impl Stream {
    fn read_fd(&self) -> RawFd {
        match self {
            Stream::Tcp(s) => s.as_raw_fd(),
            Stream::Pipes { r, .. } => r.as_raw_fd(),
        }
    }

    fn write_fd(&self) -> RawFd {
        match self {
            Stream::Tcp(s) => s.as_raw_fd(),
            Stream::Pipes { w, .. } => w.as_raw_fd(),
        }
    }

    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Stream::Tcp(s) => s.read(buf),
            Stream::Pipes { r, .. } => r.read(buf),
        }
    }

    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Stream::Tcp(s) => s.write(buf),
            Stream::Pipes { w, .. } => w.write(buf),
        }
    }

    fn quick_ack(&self) {
        if let Stream::Tcp(s) = self {
            net::quick_ack(s);
        }
    }
}

/// An accepted connection waiting for a login slot (its address or network at its cap, or
/// every slot taken; `admission.rs`).
struct Parked {
    sock: TcpStream,
    peer: SocketAddr,
    since: u64,
}

/// Connections parked at most, over all addresses.
const MAX_PARKED: usize = crate::config::MAX_PARKED;

struct Slot {
    sock: Stream,
    conn: Box<Conn>,
    peer: SocketAddr,
    local: SocketAddr,
    accepted_at: u64,
    sessions: Box<[Option<Session>]>,
    /// The user whose key was last allowed, and that key's authorized_keys options.
    user: Option<users::User>,
    key_options: KeyOptions,
    /// Remote-forwarded ports (`ssh -R`).
    forwards: Vec<forward::Forward>,
    /// Authentication under way.
    login: Login,
}

#[derive(Clone, Copy)]
enum Ref {
    Signal,
    Listener(usize),
    Sock(usize),
    Stdin(usize, usize),
    Stdout(usize, usize),
    Stderr(usize, usize),
    Resolve(usize, usize),
    Connect(usize, usize),
    Forward(usize, usize),
    Agent(usize, usize),
    /// A connection's authentication helper.
    Auth(usize),
    Refused(usize),
}

pub struct Server {
    opts: Options,
    key: Option<Ed25519Key>,
    listeners: Vec<TcpListener>,
    sigfd: RawFd,
    slots: Vec<Option<Slot>>,
    pollfds: Vec<libc::pollfd>,
    refs: Vec<Ref>,
    epoch: u64,
    daemon_uid: u32,
    /// The `-b` banner, read at start.
    banner: Vec<u8>,
    /// Every connection slot holds a logged-in user (logged once until it is not).
    limit_logged: bool,
    parked: Vec<Parked>,
    /// Where the next round of starting waiting authentication checks begins.
    next_check: usize,
    /// Connection and channel buffers of all connections together (`--max-memory`).
    budget: Budget,
    /// Connections refused for want of memory, until their clients have read why.
    refused: refused::Refused,
    /// Who gets a login slot; penalties; the accept pause; rate-limited log lines.
    admission: Admission,
    /// The connections not logged in yet and the parked addresses, as `admission` is shown
    /// them (reused; capacity fixed at start).
    pending: Vec<Pending>,
    parked_ips: Vec<IpAddr>,
}

/// Connections taken from a listener in one turn at most, so that a flood of connects does
/// not keep the loop from serving the others.
const ACCEPT_BATCH: usize = 64;

/// Why a descriptor for a logged-in user's request was not created.
fn short_of_descriptors(what: &str, peer: SocketAddr) {
    warn!(
        "{what} for {} refused: too few descriptors left",
        Sock(peer)
    );
}

/// The edge as the protocol core sees it: one connection's sessions and identity.
pub(super) struct Edge<'a> {
    key: &'a Ed25519Key,
    pub(super) opts: &'a Options,
    pub(super) peer: SocketAddr,
    local: SocketAddr,
    sessions: &'a mut [Option<Session>],
    /// The account logged in, and its key's authorized_keys options: set only on success.
    pub(super) user: &'a mut Option<users::User>,
    pub(super) key_options: &'a mut KeyOptions,
    forwards: &'a mut Vec<forward::Forward>,
    pub(super) daemon_uid: u32,
    banner: &'a [u8],
    pub(super) login: &'a mut Login,
    /// The loop's clock (ms) for this turn.
    now: u64,
    budget: &'a mut Budget,
}

fn random(buf: &mut [u8]) {
    if let Err(e) = crate::sys::random::fill(buf) {
        // Without randomness no key exchange is safe: stop rather than go on weakly.
        error!("getrandom failed: {e}");
        std::process::abort();
    }
}

impl Host for Edge<'_> {
    fn random(&mut self, buf: &mut [u8]) {
        random(buf)
    }

    fn global_request(&mut self, name: &str, data: &[u8]) -> GlobalReply {
        let mut r = crate::proto::wire::Reader::new(data);
        let (Ok(address), Ok(port)) = (r.text(), r.u32()) else {
            return GlobalReply::Failure;
        };
        match name {
            "tcpip-forward" => self.remote_forward(address, port),
            "cancel-tcpip-forward" => {
                let before = self.forwards.len();
                self.forwards
                    .retain(|f| !(f.address == address && f.port == port));
                if self.forwards.len() < before {
                    GlobalReply::Success
                } else {
                    GlobalReply::Failure
                }
            }
            _ => GlobalReply::Failure,
        }
    }

    fn host_key_blob(&self) -> [u8; ED25519_BLOB_LEN] {
        self.key.public_blob()
    }

    fn sign(&mut self, data: &[u8]) -> [u8; ED25519_SIG_BLOB_LEN] {
        self.key.sign_blob(data)
    }
}

impl AuthHost for Edge<'_> {
    fn banner(&self) -> &[u8] {
        self.banner
    }
}

impl SessionHost for Edge<'_> {
    fn window_buffer(&mut self, kind: &str, bytes: usize) -> Option<Box<[u8]>> {
        match self.budget.buffer(bytes) {
            Ok(b) => Some(b),
            Err(why) => {
                warn!(
                    "Channel {kind} for '{}' from {} refused: {}",
                    self.user.as_ref().map_or("", |u| u.name.as_str()),
                    Sock(self.peer),
                    memory::refusal(why, self.budget, bytes)
                );
                None
            }
        }
    }

    fn window_freed(&mut self, buf: Box<[u8]>) {
        self.budget.free(buf);
    }

    fn open_direct_tcpip(&mut self, ch: usize, req: &DirectTcpip) -> bool {
        if self.opts.no_local_forward
            || self.key_options.no_port_forwarding
            || !self.key_options.permits_open(req.host, req.port)
        {
            info!(
                "Local forward to {}:{} from {} refused",
                req.host,
                req.port,
                Sock(self.peer)
            );
            return false;
        }
        let Some(slot) = self.sessions.get_mut(ch) else {
            return false;
        };
        // A socket, or a resolver's pipe and then a socket.
        if !descriptors::spare(3) {
            short_of_descriptors("Local forward", self.peer);
            return false;
        }
        let ids = match (&*self.user, self.daemon_uid) {
            (Some(u), 0) => Some((u.uid, u.gid)),
            _ => None,
        };
        let deadline = self.now + crate::config::RESOLVE_TIMEOUT_MS;
        match forward::connect_start(req.host, req.port, ids, deadline) {
            Ok(c) => {
                *slot = Some(Session {
                    connect: Some(c),
                    stream: true,
                    ..Session::empty()
                });
                true
            }
            Err(e) => {
                info!(
                    "Local forward to {}:{} from {}: {e}",
                    req.host,
                    req.port,
                    Sock(self.peer)
                );
                false
            }
        }
    }

    fn agent_request(&mut self, ch: usize) -> bool {
        let Some(user) = self.user.clone() else {
            return false;
        };
        if self.key_options.no_agent_forwarding {
            return false;
        }
        let Some(slot) = self.sessions.get_mut(ch) else {
            return false;
        };
        if !descriptors::spare(2) {
            short_of_descriptors("Agent forwarding", self.peer);
            return false;
        }
        match forward::AgentSock::create(user.uid, user.gid) {
            Ok(a) => {
                *slot = Some(Session {
                    agent: Some(a),
                    ..Session::empty()
                });
                true
            }
            Err(e) => {
                warn!("Agent socket for '{}': {e}", user.name);
                false
            }
        }
    }

    fn start_session(&mut self, ch: usize, req: &SessionStart) -> bool {
        let Some(user) = self.user.clone() else {
            return false;
        };
        if !descriptors::spare(FD_PER_SESSION) {
            short_of_descriptors("Session", self.peer);
            return false;
        }
        match self.spawn(ch, &user, req) {
            Ok(()) => true,
            Err(e) => {
                warn!(
                    "Failed to start session for '{}' from {}: {}",
                    user.name,
                    Sock(self.peer),
                    e
                );
                false
            }
        }
    }

    fn window_change(&mut self, ch: usize, size: PtySize) {
        if let Some(Some(Session { pty: Some(m), .. })) = self.sessions.get(ch) {
            let _ = pty::resize(m, winsize(size));
        }
    }

    fn signal(&mut self, ch: usize, name: &str) {
        if let (Some(Some(s)), Some(sig)) = (self.sessions.get(ch), spawn::signal_number(name)) {
            if s.exit.is_none() {
                spawn::signal(s.pid, sig);
            }
        }
    }

    fn channel_freed(&mut self, ch: usize) {
        if let Some(slot) = self.sessions.get_mut(ch) {
            if let Some(s) = slot.take() {
                hang_up(&s);
            }
        }
    }
}

fn winsize(s: PtySize) -> pty::WinSize {
    pty::WinSize {
        cols: s.cols,
        rows: s.rows,
        width_px: s.width_px,
        height_px: s.height_px,
    }
}

/// A session whose channel is gone gets SIGHUP, as a terminal hang-up would.
fn hang_up(s: &Session) {
    if s.exit.is_none() {
        spawn::signal(s.pid, libc::SIGHUP);
    }
}

impl Edge<'_> {
    /// `tcpip-forward`: a listener on loopback (any address with `-a`), port 0 allocated.
    fn remote_forward(&mut self, address: &str, port: u32) -> GlobalReply {
        let Some(user) = self.user.as_ref() else {
            return GlobalReply::Failure;
        };
        if self.opts.no_remote_forward
            || self.key_options.no_port_forwarding
            || !self.key_options.permits_listen(address, port)
        {
            info!(
                "Remote forward of {address}:{port} for '{}' refused",
                user.name
            );
            return GlobalReply::Failure;
        }
        // As OpenSSH: only root may forward privileged ports.
        if (1..1024).contains(&port) && user.uid != 0 {
            return GlobalReply::Failure;
        }
        if self.forwards.len() >= crate::config::MAX_REMOTE_FORWARDS {
            return GlobalReply::Failure;
        }
        if !descriptors::spare(1) {
            short_of_descriptors("Remote forward", self.peer);
            return GlobalReply::Failure;
        }
        match forward::bind_remote(address, port, self.opts.forward_any_address) {
            Ok(f) => {
                let bound = f.port;
                self.forwards.push(f);
                if port == 0 {
                    GlobalReply::Port(bound)
                } else {
                    GlobalReply::Success
                }
            }
            Err(e) => {
                info!(
                    "Remote forward of {address}:{port} for '{}': {e}",
                    user.name
                );
                GlobalReply::Failure
            }
        }
    }

    fn spawn(&mut self, ch: usize, user: &users::User, req: &SessionStart) -> io::Result<()> {
        let slot = self
            .sessions
            .get_mut(ch)
            .ok_or_else(|| crate::ioerr::other("no session slot"))?;
        // -c wins over authorized_keys command= (the administrator's policy for everyone).
        let forced = self
            .opts
            .forced_command
            .as_deref()
            .or(self.key_options.command.as_deref())
            .map(str::as_bytes);
        let command = forced.or(req.command);
        let original = forced.and(req.command);
        let pty_req = req.pty.filter(|_| !self.key_options.no_pty);
        let pty = match pty_req {
            Some(p) => {
                let pty = pty::open(winsize(p.size), user.uid)?;
                let _ = pty::apply_modes(&pty.slave, &p.modes);
                Some(pty)
            }
            None => None,
        };
        // The first of a name wins: authorized_keys environment= (with --permit-user-env),
        // then the client's env requests, then quoll's own environment (-e).
        let mut env: Vec<(String, String)> = Vec::new();
        if self.opts.permit_user_env {
            env.extend(self.key_options.environment.iter().cloned());
        }
        env.extend(
            req.env
                .split(|&b| b == 0)
                .filter_map(|e| std::str::from_utf8(e).ok()?.split_once('='))
                .map(|(k, v)| (k.to_string(), v.to_string())),
        );
        let agent = slot.take().and_then(|s| s.agent);
        if let Some(a) = &agent {
            env.push((
                "SSH_AUTH_SOCK".into(),
                crate::sys::fsys::show(&a.path).to_string(),
            ));
        }
        if self.opts.pass_env {
            // -e: quoll's own environment too (the session's variables still win).
            env.extend(spawn::own_environment());
        }
        let ssh_client = format!(
            "{} {} {}",
            Ip(self.peer.ip()),
            self.peer.port(),
            self.local.port()
        );
        let ssh_connection = format!(
            "{} {} {} {}",
            Ip(self.peer.ip()),
            self.peer.port(),
            Ip(self.local.ip()),
            self.local.port()
        );
        let (command, builtin) = spawn::launch(
            self.opts,
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
            drop_privileges: self.daemon_uid == 0,
            builtin,
        };
        let child = spawn::spawn(&spec)?;
        let record = pty
            .as_ref()
            .and_then(|p| utmp::Record::start(&p.name, user, self.peer.ip(), child.pid));
        let master = match pty {
            Some(p) => Some(p.master),
            None => None,
        };
        *slot = Some(Session {
            pid: child.pid,
            stdin: Some(File::from(child.stdin)),
            stdout: Some(File::from(child.stdout)),
            stderr: child.stderr.map(File::from),
            pty: master,
            agent,
            record,
            ..Session::empty()
        });
        Ok(())
    }
}

/// Size of the stack buffer a child's output is read into (one channel data packet).
const CHUNK: usize = crate::config::MAX_CHANNEL_PACKET as usize;

impl Server {
    pub fn new(opts: Options, key: Option<Ed25519Key>, sigfd: RawFd) -> io::Result<Server> {
        let mut listeners = Vec::new();
        let mut last_err = None;
        // -i: no listeners, the connection is on stdin/stdout (`adopt_stdio`).
        for a in opts.listen.iter().filter(|_| !opts.inetd) {
            match net::listen(*a, opts.interface.as_deref()) {
                Ok(l) => listeners.push(l),
                Err(e) => {
                    // A board without IPv6 still serves IPv4 when both were asked for.
                    warn!("Failed listening on '{}': {e}", Sock(*a));
                    last_err = Some(e);
                }
            }
        }
        if listeners.is_empty() && !opts.inetd {
            return Err(last_err.unwrap_or_else(|| crate::ioerr::other("no listening address")));
        }
        let banner = match &opts.banner {
            Some(p) => {
                let b = crate::readfile::read_path(p, crate::config::MAX_BANNER).map_err(|e| {
                    crate::ioerr::other(format!("banner {}: {e}", crate::sys::fsys::show(p)))
                })?;
                if b.truncated {
                    return Err(crate::ioerr::other(format!(
                        "banner {} is larger than {} bytes",
                        crate::sys::fsys::show(p),
                        crate::config::MAX_BANNER
                    )));
                }
                b.data.to_vec()
            }
            None => Vec::new(),
        };
        let max = opts.max_connections;
        // The most poll entries a connection can have (its socket, twice with -i; stdin,
        // stdout, stderr, connect and agent per channel; its forwarded ports), so that the
        // arrays never grow while serving.
        let per_conn = 2 + 5 * opts.max_channels + crate::config::MAX_REMOTE_FORWARDS;
        let polled = 1 + listeners.len() + refused::MAX + max * per_conn;
        if !opts.inetd {
            // Raised only as far as needed: sessions inherit it.
            let want = descriptors::wanted(max, listeners.len());
            match descriptors::raise(want) {
                Ok(have) if have < want => warn!(
                    "Descriptor limit {have} is low for --max-conns {max} (about {want} wanted): \
                     new connections are closed while fewer than {} are free",
                    crate::config::FD_RESERVE_ACCEPT
                ),
                Ok(_) => {}
                Err(e) => warn!("Descriptor limit: {e}"),
            }
        }
        let slots = (0..max).map(|_| None).collect();
        let daemon_uid = crate::sys::ids::euid();
        let budget = memory::budget(&opts);
        info!(
            "Memory budget {} bytes: {} per connection, {} more per open channel",
            budget.limit(),
            Conn::fixed_bytes(opts.max_channels),
            opts.window
        );
        Ok(Server {
            pollfds: Vec::with_capacity(polled),
            refs: Vec::with_capacity(polled),
            key,
            listeners,
            sigfd,
            slots,
            epoch: crate::sys::time::monotonic_ms(),
            daemon_uid,
            banner,
            limit_logged: false,
            parked: Vec::with_capacity(MAX_PARKED),
            next_check: 0,
            budget,
            refused: refused::Refused::default(),
            admission: Admission::new(&opts),
            pending: Vec::with_capacity(max),
            parked_ips: Vec::with_capacity(MAX_PARKED),
            opts,
        })
    }

    /// Milliseconds since the server started: the core's clock.
    fn now(&self) -> u64 {
        crate::sys::time::monotonic_ms() - self.epoch
    }

    /// Runs until SIGTERM or SIGINT.
    pub fn run(&mut self) -> io::Result<()> {
        loop {
            let timeout = self.build_pollfds();
            if let Err(e) = crate::sys::poll::poll(&mut self.pollfds, timeout) {
                if e.kind() == ErrorKind::Interrupted {
                    continue;
                }
                return Err(e);
            }
            for i in 0..self.pollfds.len() {
                let ev = self.pollfds[i].revents;
                if ev == 0 {
                    continue;
                }
                match self.refs[i] {
                    Ref::Signal => {
                        let p = signals::take_pending(self.sigfd);
                        if p.child {
                            self.reap();
                        }
                        if p.terminate {
                            info!("Terminated by signal");
                            self.shutdown();
                            return Ok(());
                        }
                    }
                    Ref::Listener(l) => self.accept(l),
                    Ref::Sock(s) => self.sock_ready(s, ev),
                    Ref::Stdin(s, ch) => self.write_stdin(s, ch),
                    Ref::Stdout(s, ch) => self.read_child(s, ch, false),
                    Ref::Stderr(s, ch) => self.read_child(s, ch, true),
                    Ref::Resolve(s, ch) | Ref::Connect(s, ch) => self.connect_progress(s, ch),
                    Ref::Forward(s, i) => self.accept_forwarded(s, i),
                    Ref::Agent(s, ch) => self.accept_agent(s, ch),
                    Ref::Auth(s) => {
                        self.with_slot(s, |_, conn, edge| edge.check_progress(conn, edge.now));
                    }
                    Ref::Refused(i) => self.refused.readable(i),
                }
            }
            self.auth_checks();
            for s in 0..self.slots.len() {
                if self.slots[s].is_some() {
                    self.service(s);
                }
            }
            debug_assert_eq!(
                self.budget.used(),
                self.slots
                    .iter()
                    .flatten()
                    .map(|s| s.conn.held_bytes())
                    .sum(),
                "memory budget out of step with the buffers held"
            );
            if !self.parked.is_empty() {
                self.unpark();
            }
            let now = self.now();
            self.admission.log_held(now);
            if self.opts.inetd && self.slots.iter().all(|s| s.is_none()) {
                // -i: the one connection is over.
                self.shutdown();
                return Ok(());
            }
        }
    }

    /// Fills the poll array; returns the timeout in ms.
    fn build_pollfds(&mut self) -> libc::c_int {
        self.pollfds.clear();
        self.refs.clear();
        push(
            &mut self.pollfds,
            &mut self.refs,
            self.sigfd,
            libc::POLLIN,
            Ref::Signal,
        );
        if self.accepting() {
            for (i, l) in self.listeners.iter().enumerate() {
                push(
                    &mut self.pollfds,
                    &mut self.refs,
                    l.as_raw_fd(),
                    libc::POLLIN,
                    Ref::Listener(i),
                );
            }
        }
        let now = self.now();
        // While accepting rests (out of descriptors), so do forwarded ports and agents.
        let paused = self.admission.paused(now);
        let mut timeout: u64 = 3_600_000;
        for (s, slot) in self.slots.iter().enumerate() {
            let Some(slot) = slot else { continue };
            let conn = &slot.conn;
            let mut ev = 0;
            if conn.wants_input() {
                ev |= libc::POLLIN;
            }
            if !conn.output().is_empty() {
                ev |= libc::POLLOUT;
            }
            let (rfd, wfd) = (slot.sock.read_fd(), slot.sock.write_fd());
            if rfd == wfd {
                push(&mut self.pollfds, &mut self.refs, rfd, ev, Ref::Sock(s));
            } else {
                let rev = ev & libc::POLLIN;
                push(&mut self.pollfds, &mut self.refs, rfd, rev, Ref::Sock(s));
                if ev & libc::POLLOUT != 0 {
                    push(
                        &mut self.pollfds,
                        &mut self.refs,
                        wfd,
                        libc::POLLOUT,
                        Ref::Sock(s),
                    );
                }
            }
            if !conn.authenticated() {
                let (deadline, _) = self
                    .admission
                    .login_deadline(slot.accepted_at, conn.kex_done());
                timeout = timeout.min(deadline.saturating_sub(now));
            }
            timeout = timeout.min(conn.next_tick(now));
            for (ch, sess) in slot.sessions.iter().enumerate() {
                let Some(sess) = sess else { continue };
                if let Some(f) = &sess.stdin {
                    if !conn.channel_input(ch).is_empty() {
                        push(
                            &mut self.pollfds,
                            &mut self.refs,
                            f.as_raw_fd(),
                            libc::POLLOUT,
                            Ref::Stdin(s, ch),
                        );
                    }
                }
                let room = conn.channel_send_room(ch) > 0;
                if let (Some(f), true) = (&sess.stdout, room) {
                    push(
                        &mut self.pollfds,
                        &mut self.refs,
                        f.as_raw_fd(),
                        libc::POLLIN,
                        Ref::Stdout(s, ch),
                    );
                }
                if let (Some(f), true) = (&sess.stderr, room) {
                    push(
                        &mut self.pollfds,
                        &mut self.refs,
                        f.as_raw_fd(),
                        libc::POLLIN,
                        Ref::Stderr(s, ch),
                    );
                }
                match &sess.connect {
                    Some(forward::Connect::Resolving(job, _)) => {
                        timeout = timeout.min(job.deadline.saturating_sub(now));
                        push(
                            &mut self.pollfds,
                            &mut self.refs,
                            job.fd(),
                            libc::POLLIN,
                            Ref::Resolve(s, ch),
                        )
                    }
                    Some(forward::Connect::Connecting(t)) => push(
                        &mut self.pollfds,
                        &mut self.refs,
                        t.as_raw_fd(),
                        libc::POLLOUT,
                        Ref::Connect(s, ch),
                    ),
                    None => {}
                }
                if let (Some(a), false) = (&sess.agent, paused) {
                    push(
                        &mut self.pollfds,
                        &mut self.refs,
                        a.listener.as_raw_fd(),
                        libc::POLLIN,
                        Ref::Agent(s, ch),
                    );
                }
            }
            if conn.question().is_some() && !slot.login.has_check() {
                // A question not taken up yet (asked while answering another): at once.
                timeout = 0;
            }
            if let Some(c) = slot.login.running_fd() {
                push(
                    &mut self.pollfds,
                    &mut self.refs,
                    c.0,
                    libc::POLLIN,
                    Ref::Auth(s),
                );
                timeout = timeout.min(c.1.saturating_sub(now));
            }
            for (i, f) in slot.forwards.iter().enumerate().filter(|_| !paused) {
                push(
                    &mut self.pollfds,
                    &mut self.refs,
                    f.listener.as_raw_fd(),
                    libc::POLLIN,
                    Ref::Forward(s, i),
                );
            }
        }
        for p in &self.parked {
            let deadline = p.since + self.opts.login_grace_secs * 1000;
            timeout = timeout.min(deadline.saturating_sub(now));
        }
        if let Some(t) = self.admission.next_wake(now) {
            timeout = timeout.min(t.saturating_sub(now));
        }
        if let Some(due) = self.refused.expire(now) {
            timeout = timeout.min(due);
        }
        for (i, fd) in self.refused.fds() {
            push(
                &mut self.pollfds,
                &mut self.refs,
                fd,
                libc::POLLIN,
                Ref::Refused(i),
            );
        }
        // +1 ms so a timer is due when poll returns rather than a hair early.
        (timeout + 1).min(3_600_000) as libc::c_int
    }

    fn ensure_key(&mut self) -> bool {
        if self.key.is_some() {
            return true;
        }
        match hostkey::load_or_generate(&self.opts.hostkey) {
            Ok((k, generated)) => {
                if generated {
                    info!(
                        "Generated host key {}",
                        crate::sys::fsys::show(&self.opts.hostkey)
                    );
                }
                self.key = Some(k);
                true
            }
            Err(e) => {
                error!("{e}");
                false
            }
        }
    }

    fn accept(&mut self, l: usize) {
        for _ in 0..ACCEPT_BATCH {
            let (sock, peer) = match self.listeners[l].accept() {
                Ok(x) => x,
                Err(e) if e.kind() == ErrorKind::WouldBlock => return,
                Err(e)
                    if matches!(
                        e.kind(),
                        ErrorKind::Interrupted | ErrorKind::ConnectionAborted
                    ) =>
                {
                    continue
                }
                Err(e) => {
                    // EMFILE, ENFILE, ENOBUFS, ENOMEM: the listener stays readable, and
                    // retrying at once would spin. Rest a while.
                    let now = self.now();
                    self.admission.pause(now);
                    let f = format_args!("accept: {e}; not accepting for a second");
                    self.admission.log(Note::AcceptFailed, now, f);
                    return;
                }
            };
            let now = self.now();
            if descriptors::accept_reserve_hit(sock.as_raw_fd()) {
                self.admission.pause(now);
                let f = format_args!(
                    "Connection from {} closed: too few descriptors left; not accepting for a second",
                    Sock(peer)
                );
                self.admission.log(Note::Descriptors, now, f);
                return;
            }
            let verdict = self.admit(peer.ip(), now);
            self.admission
                .log_verdict(verdict, peer, now, self.opts.max_connections);
            match verdict {
                Verdict::Serve => {}
                Verdict::Displace(s) => self.displace(s, peer, now),
                Verdict::Park(_) => {
                    self.parked.push(Parked {
                        sock,
                        peer,
                        since: now,
                    });
                    continue;
                }
                Verdict::Refuse(_) => continue,
            }
            if !self.serve(sock, peer) {
                return;
            }
            if !self.accepting() {
                return;
            }
        }
    }

    /// Shows `admission` the connections not logged in yet and the parked ones.
    fn fill_pending(&mut self) {
        self.pending.clear();
        for (i, sl) in self.slots.iter().enumerate() {
            if let Some(sl) = sl.as_ref().filter(|sl| !sl.conn.authenticated()) {
                self.pending.push(Pending {
                    slot: i,
                    ip: sl.peer.ip(),
                    since: sl.accepted_at,
                });
            }
        }
        self.parked_ips.clear();
        self.parked_ips
            .extend(self.parked.iter().map(|p| p.peer.ip()));
    }

    /// The admission decision on a new connection from `ip`.
    fn admit(&mut self, ip: IpAddr, now: u64) -> Verdict {
        self.fill_pending();
        let free = self.slots.iter().any(|s| s.is_none());
        let mut roll = [0u8; 4];
        random(&mut roll);
        let roll = u32::from_ne_bytes(roll);
        self.admission
            .decide(ip, &self.pending, &self.parked_ips, free, now, roll)
    }

    /// Closes a connection that has not logged in, to make room for a newcomer from a
    /// network holding fewer slots (fair sharing, `admission.rs`). No penalty: it did nothing
    /// wrong.
    fn displace(&mut self, s: usize, by: SocketAddr, now: u64) {
        let Some(mut slot) = self.slots[s].take() else {
            return;
        };
        slot.conn.disconnect(Disconnect {
            reason: reason::TOO_MANY_CONNECTIONS,
            text: "too many connections before login",
        });
        // Best effort: the socket closes anyway.
        let _ = slot.sock.write(slot.conn.output());
        let f = format_args!(
            "Exit before auth from <{}>: displaced by {} (its network held fewer unauthenticated connections)",
            Sock(slot.peer),
            Sock(by)
        );
        self.admission.log(Note::Displaced, now, f);
        slot.conn.free(&mut self.budget);
    }

    /// Starts serving an accepted socket; false when there is no slot (or no host key).
    fn serve(&mut self, sock: TcpStream, peer: SocketAddr) -> bool {
        if !self.ensure_key() {
            return false;
        }
        // No Nagle: small handshake packets leave at once (avoids the delayed-ACK stall).
        if sock.set_nonblocking(true).is_err() || sock.set_nodelay(true).is_err() {
            return true;
        }
        let local = sock.local_addr().unwrap_or(peer);
        self.add_conn(Stream::Tcp(sock), peer, local)
    }

    /// Serves parked connections whose address and network are back under their caps, oldest
    /// first, while there are login slots; drops those that waited longer than the login
    /// grace time.
    fn unpark(&mut self) {
        let now = self.now();
        let grace = self.opts.login_grace_secs * 1000;
        let mut i = 0;
        while i < self.parked.len() {
            let p = &self.parked[i];
            if now >= p.since + grace {
                info!(
                    "Exit before auth from <{}>: login grace time exceeded while waiting",
                    Sock(p.peer)
                );
                self.parked.remove(i);
                continue;
            }
            let ip = p.peer.ip();
            self.fill_pending();
            let free = self.slots.iter().any(|s| s.is_none());
            if !free || self.pending.len() >= self.opts.max_unauth {
                return;
            }
            if self.admission.may_unpark(ip, &self.pending, free) {
                let p = self.parked.remove(i);
                if !self.serve(p.sock, p.peer) {
                    return;
                }
                continue;
            }
            i += 1;
        }
    }

    /// Whether the listeners are polled: not while accepting rests (out of descriptors), nor
    /// while every slot holds a logged-in user (nobody could be served or displace anyone:
    /// new clients wait in the kernel's listen backlog and are served as slots free up).
    /// Otherwise new connections are taken and decided on (`admission.rs`), also when every
    /// login slot is taken: a newcomer from a network holding fewer displaces one.
    fn accepting(&mut self) -> bool {
        if self.admission.paused(self.now()) {
            return false;
        }
        let full = self
            .slots
            .iter()
            .all(|s| s.as_ref().is_some_and(|sl| sl.conn.authenticated()));
        if full && !self.limit_logged {
            info!(
                "Maximum of {} connections reached: new connections wait",
                self.opts.max_connections
            );
        }
        self.limit_logged = full;
        !full
    }

    /// `-i`: the one connection is on stdin and stdout.
    pub fn adopt_stdio(&mut self) -> io::Result<()> {
        let unspecified = SocketAddr::from(([0, 0, 0, 0], 0));
        // Our own copies of stdin and stdout (the connection), non-blocking, close-on-exec.
        let r = File::from(fds::dup_cloexec(&std::io::stdin())?);
        let w = File::from(fds::dup_cloexec(&std::io::stdout())?);
        fds::set_nonblocking_cloexec(&r)?;
        fds::set_nonblocking_cloexec(&w)?;
        // A socket from inetd: its addresses; pipes (ProxyCommand): none.
        let (peer, local) = match fds::dup_cloexec(&r) {
            Ok(copy) => {
                let sock = TcpStream::from(copy);
                (sock.peer_addr().ok(), sock.local_addr().ok())
            }
            Err(e) => {
                log::warn!("-i: no copy of the connection to read its addresses: {e}");
                (None, None)
            }
        };
        // stdin/stdout are replaced by /dev/null so nothing else ever writes the stream.
        let null = fsys::open(std::path::Path::new("/dev/null"), fsys::OFlag::O_RDWR, 0)?;
        fds::dup_onto(&null, 0)?;
        fds::dup_onto(&null, 1)?;
        if !self.ensure_key() {
            return Err(crate::ioerr::other("no host key"));
        }
        let peer = peer.unwrap_or(unspecified);
        self.add_conn(Stream::Pipes { r, w }, peer, local.unwrap_or(unspecified));
        Ok(())
    }

    /// Sets up a connection in a free slot; false when there is none. Without memory for its
    /// buffers it is refused, with a reason the client prints.
    fn add_conn(&mut self, sock: Stream, peer: SocketAddr, local: SocketAddr) -> bool {
        let Some(free) = self.slots.iter().position(|s| s.is_none()) else {
            return false;
        };
        {
            info!("Child connection from {}", Sock(peer));
            let now = self.now();
            let params = Params {
                window: self.opts.window,
                max_channels: self.opts.max_channels,
                max_auth_tries: self.opts.max_auth_tries,
                rekey_bytes: crate::config::REKEY_BYTES,
                rekey_secs: crate::config::REKEY_SECS,
                auth: crate::proto::auth::Policy {
                    password: !self.opts.no_password,
                    key_and_password: self.opts.key_and_password,
                    blank: self.opts.blank_password,
                },
                timers: crate::proto::conn::Timers {
                    keepalive: self.opts.keepalive_secs,
                    idle: self.opts.idle_timeout_secs,
                    max_session: self.opts.max_session_secs,
                },
            };
            let conn = match Conn::try_new(params, &Sock(peer).to_string(), now, &mut self.budget) {
                Ok(c) => c,
                Err(why) => {
                    let asked = Conn::fixed_bytes(params.max_channels);
                    warn!(
                        "Connection from {} refused: {}",
                        Sock(peer),
                        memory::refusal(why, &self.budget, asked)
                    );
                    let why = crate::proto::conn::refusal(
                        reason::TOO_MANY_CONNECTIONS,
                        "memory limit reached: connection refused",
                    );
                    match sock {
                        Stream::Tcp(s) => self.refused.add(s, &why, now),
                        Stream::Pipes { mut w, .. } => {
                            let _ = w.write(&why);
                        }
                    }
                    return true;
                }
            };
            let slot = Slot {
                sock,
                conn,
                peer,
                local,
                accepted_at: now,
                sessions: (0..self.opts.max_channels).map(|_| None).collect(),
                user: None,
                key_options: KeyOptions::default(),
                forwards: Vec::new(),
                login: Login::default(),
            };
            self.slots[free] = Some(slot);
            self.with_slot(free, |_, conn, edge| conn.start(edge));
            self.flush_socket(free);
        }
        true
    }

    /// Runs `f` with a slot's socket, connection and edge.
    fn with_slot<R>(
        &mut self,
        s: usize,
        f: impl FnOnce(&mut Stream, &mut Conn, &mut Edge) -> R,
    ) -> Option<R> {
        let now = self.now();
        let key = self.key.as_ref()?;
        let slot = self.slots[s].as_mut()?;
        let (sock, conn, mut edge) = parts(
            key,
            &self.opts,
            self.daemon_uid,
            &self.banner,
            &mut self.budget,
            slot,
            now,
        );
        Some(f(sock, conn, &mut edge))
    }

    fn sock_ready(&mut self, s: usize, ev: i16) {
        if ev & (libc::POLLIN | libc::POLLHUP | libc::POLLERR) != 0 {
            self.read_socket(s);
        }
        self.flush_socket(s);
    }

    fn read_socket(&mut self, s: usize) {
        let now = self.now();
        self.with_slot(s, |sock, conn, edge| {
            for _ in 0..4 {
                if !conn.wants_input() {
                    break;
                }
                let space = conn.input_space();
                if space.is_empty() {
                    break;
                }
                match sock.read(space) {
                    Ok(0) => {
                        conn.peer_closed();
                        break;
                    }
                    Ok(n) => {
                        conn.received(n, edge, now);
                        if conn.output().is_empty() {
                            // Nothing to answer with, so no reply carries the ACK: send it now.
                            // A client that wrote two small packets (NEWKEYS, then a service
                            // request) holds the second under Nagle until this ACK, and Linux
                            // would delay it 40 ms.
                            sock.quick_ack();
                        }
                    }
                    Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                    Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                    Err(_) => {
                        conn.peer_closed();
                        break;
                    }
                }
            }
        });
    }

    /// Writes queued output until the socket would block.
    fn flush_socket(&mut self, s: usize) {
        let Some(slot) = self.slots[s].as_mut() else {
            return;
        };
        loop {
            let out = slot.conn.output();
            if out.is_empty() {
                return;
            }
            match slot.sock.write(out) {
                Ok(n) => slot.conn.output_sent(n),
                Err(e) if e.kind() == ErrorKind::WouldBlock => return,
                Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                Err(_) => {
                    slot.conn.peer_closed();
                    let n = slot.conn.output().len();
                    slot.conn.output_sent(n);
                    return;
                }
            }
        }
    }

    fn write_stdin(&mut self, s: usize, ch: usize) {
        self.with_slot(s, |_, conn, edge| {
            let Some(Some(sess)) = edge.sessions.get_mut(ch) else {
                return;
            };
            let Some(f) = sess.stdin.as_mut() else { return };
            let data = conn.channel_input(ch);
            if data.is_empty() {
                return;
            }
            match f.write(data) {
                Ok(n) => conn.channel_consumed(ch, n, edge),
                Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::Interrupted) => {}
                Err(_) => {
                    // The process closed its stdin: discard what the client still sends.
                    sess.stdin = None;
                    let n = conn.channel_input(ch).len();
                    conn.channel_consumed(ch, n, edge);
                }
            }
        });
    }

    fn read_child(&mut self, s: usize, ch: usize, stderr: bool) {
        self.with_slot(s, |_, conn, edge| read_child_into(conn, edge, ch, stderr));
    }

    /// A direct-tcpip target resolved or connected (or failed): confirm or refuse the channel.
    fn connect_progress(&mut self, s: usize, ch: usize) {
        self.with_slot(s, |_, conn, edge| {
            let Some(Some(sess)) = edge.sessions.get_mut(ch) else {
                return;
            };
            let result = match sess.connect.take() {
                Some(forward::Connect::Resolving(mut job, port)) => {
                    match forward::resolved(&mut job, port) {
                        Ok(Some(t)) => {
                            sess.connect = Some(forward::Connect::Connecting(t));
                            return;
                        }
                        Ok(None) => {
                            sess.connect = Some(forward::Connect::Resolving(job, port));
                            return;
                        }
                        Err(e) => Err(e),
                    }
                }
                Some(forward::Connect::Connecting(t)) => {
                    forward::connect_result(&t).and_then(|_| forward::split(t.into()))
                }
                None => return,
            };
            match result {
                Ok((read, write)) => {
                    *sess = Session::stream(read, write);
                    conn.channel_open_result(ch, true, edge);
                }
                Err(e) => {
                    info!("Local forward from {} failed: {e}", Sock(edge.peer));
                    edge.sessions[ch] = None;
                    conn.channel_open_result(ch, false, edge);
                }
            }
        });
    }

    /// A connection on a remote-forwarded port becomes a forwarded-tcpip channel.
    fn accept_forwarded(&mut self, s: usize, i: usize) {
        let r = self.with_slot(s, |_, conn, edge| {
            let Some(f) = edge.forwards.get(i) else {
                return Ok(());
            };
            let Some((sock, from)) = for_user(f.listener.accept())? else {
                return Ok(());
            };
            let (address, port) = (f.address.clone(), f.port);
            let what = Outgoing::ForwardedTcpip {
                address: &address,
                port,
                originator: &Ip(from.ip()).to_string(),
                originator_port: from.port() as u32,
            };
            open_stream(conn, edge, &what, sock);
            Ok(())
        });
        self.accept_trouble(s, r);
    }

    /// A connection on a session's agent socket becomes an auth-agent channel.
    fn accept_agent(&mut self, s: usize, ch: usize) {
        let r = self.with_slot(s, |_, conn, edge| {
            let Some(Some(Session { agent: Some(a), .. })) = edge.sessions.get(ch) else {
                return Ok(());
            };
            let Some((sock, _)) = for_user(a.listener.accept())? else {
                return Ok(());
            };
            open_stream(conn, edge, &Outgoing::Agent, sock);
            Ok(())
        });
        self.accept_trouble(s, r);
    }

    /// After accepting on a forwarded port or agent socket failed for lack of descriptors:
    /// rest all listeners a while, log (rate-limited).
    fn accept_trouble(&mut self, s: usize, r: Option<Result<(), String>>) {
        let Some(Err(why)) = r else { return };
        let now = self.now();
        self.admission.pause(now);
        let peer = self.slots[s]
            .as_ref()
            .map_or(String::new(), |sl| format!(" for {}", Sock(sl.peer)));
        let f = format_args!("Forwarded connection{peer} dropped: {why}");
        self.admission.log(Note::Descriptors, now, f);
    }

    fn reap(&mut self) {
        while let Some((pid, status)) = signals::reap() {
            let exit = if libc::WIFEXITED(status) {
                ExitInfo::Status(libc::WEXITSTATUS(status) as u32)
            } else if libc::WIFSIGNALED(status) {
                ExitInfo::Signal(
                    spawn::signal_name(libc::WTERMSIG(status)),
                    libc::WCOREDUMP(status),
                )
            } else {
                continue;
            };
            for slot in self.slots.iter_mut().flatten() {
                // Reaped helpers: their pid may be reused, so no kill may reach it any more.
                if let Some(job) = slot.login.helper().filter(|j| j.pid() == pid) {
                    job.set_reaped();
                }
                for sess in slot.sessions.iter_mut().flatten() {
                    if let Some(forward::Connect::Resolving(job, _)) = &mut sess.connect {
                        if job.pid() == pid {
                            job.set_reaped();
                        }
                    }
                    if sess.pid == pid && sess.exit.is_none() {
                        sess.exit = Some(exit);
                    }
                }
            }
        }
    }

    /// Authentication questions: takes up new ones, ends overdue checks, and starts waiting
    /// checks while the caps allow, in turn from where the last round stopped (so one
    /// connection cannot keep the others waiting).
    fn auth_checks(&mut self) {
        let now = self.now();
        for s in 0..self.slots.len() {
            if self.slots[s].is_some() {
                self.with_slot(s, |_, conn, edge| {
                    edge.check_deadline(conn, now);
                    edge.ask(conn, now);
                });
            }
        }
        let n = self.slots.len();
        for i in 0..n {
            let s = (self.next_check + i) % n;
            let Some(kind) = self.slots[s].as_ref().and_then(|sl| sl.login.waiting()) else {
                continue;
            };
            let running = self
                .slots
                .iter()
                .flatten()
                .filter(|sl| {
                    sl.login
                        .running()
                        .is_some_and(|k| login::same_class(k, kind))
                })
                .count();
            if login::may_start(kind, running) {
                self.with_slot(s, |_, conn, edge| edge.start_check(conn, now));
                self.next_check = (s + 1) % n;
            }
        }
    }

    /// Per-turn work for one connection: finished sessions, timers, output, closing.
    fn service(&mut self, s: usize) {
        let now = self.now();
        let (deadline, why) = match self.slots[s].as_ref() {
            Some(sl) => self
                .admission
                .login_deadline(sl.accepted_at, sl.conn.kex_done()),
            None => return,
        };
        self.with_slot(s, |_, conn, edge| {
            for ch in 0..edge.sessions.len() {
                let Some(sess) = edge.sessions[ch].as_mut() else {
                    continue;
                };
                if let Some(forward::Connect::Resolving(job, _)) = &sess.connect {
                    if now >= job.deadline {
                        info!(
                            "Local forward from {}: name lookup timed out",
                            Sock(edge.peer)
                        );
                        // Dropping the job kills the helper.
                        edge.sessions[ch] = None;
                        conn.channel_open_result(ch, false, edge);
                        continue;
                    }
                }
                if sess.pty.is_none() && sess.stdin.is_some() && conn.channel_input_finished(ch) {
                    if let (true, Some(w)) = (sess.stream, &sess.stdin) {
                        forward::shutdown_write(w);
                    }
                    sess.stdin = None;
                }
                if sess.stream && sess.connect.is_none() {
                    if sess.stdout.is_none() && !sess.eof_sent {
                        sess.eof_sent = true;
                        conn.channel_send_eof(ch, edge);
                    }
                    let Some(sess) = edge.sessions[ch].as_mut() else {
                        continue;
                    };
                    if sess.stdout.is_none() && sess.stdin.is_none() && !sess.finished {
                        sess.finished = true;
                        conn.channel_finish(ch, None, edge);
                    }
                    continue;
                }
                if sess.exit.is_some() && sess.pty.is_some() && sess.stdout.is_some() {
                    // A pty may stay open in a background process: after the shell exits,
                    // send what is readable now, then finish.
                    read_child_into(conn, edge, ch, false);
                    if let Some(Some(sess)) = edge.sessions.get_mut(ch) {
                        if conn.channel_send_room(ch) > 0 {
                            sess.stdout = None;
                            sess.stdin = None;
                        }
                    }
                }
                let Some(sess) = edge.sessions[ch].as_mut() else {
                    continue;
                };
                if let (Some(exit), None, None, false) =
                    (sess.exit, &sess.stdout, &sess.stderr, sess.finished)
                {
                    sess.finished = true;
                    conn.channel_finish(ch, Some(exit), edge);
                }
            }
            if !conn.authenticated() && conn.closing().is_none() && now >= deadline {
                conn.disconnect(Disconnect {
                    reason: reason::BY_APPLICATION,
                    text: why,
                });
            }
            conn.tick(edge, now);
            if conn.wants_input() {
                // Packets held back while output was full.
                conn.received(0, edge, now);
            }
        });
        self.flush_socket(s);
        let closing = self.slots[s].as_ref().and_then(|sl| sl.conn.closing());
        if let Some(d) = closing {
            if let Some(slot) = self.slots[s].take() {
                let who = slot.user.as_ref().map(|u| u.name.clone());
                match who {
                    Some(u) if slot.conn.authenticated() => {
                        info!("Exit ({u}) from <{}>: {}", Sock(slot.peer), d.text)
                    }
                    _ => {
                        info!("Exit before auth from <{}>: {}", Sock(slot.peer), d.text);
                        let fails = slot.conn.auth.failures();
                        self.admission
                            .ended_before_login(slot.peer.ip(), d, fails, now);
                    }
                }
                for sess in slot.sessions.iter().flatten() {
                    hang_up(sess);
                }
                slot.conn.free(&mut self.budget);
            }
        }
    }

    fn shutdown(&mut self) {
        for slot in self.slots.iter_mut() {
            if let Some(s) = slot.take() {
                for sess in s.sessions.iter().flatten() {
                    hang_up(sess);
                }
                s.conn.free(&mut self.budget);
            }
        }
    }
}

// Out of line: `with_slot` is instantiated once per closure, and each copy built the Edge.
#[inline(never)]
fn parts<'a>(
    key: &'a Ed25519Key,
    opts: &'a Options,
    daemon_uid: u32,
    banner: &'a [u8],
    budget: &'a mut Budget,
    slot: &'a mut Slot,
    now: u64,
) -> (&'a mut Stream, &'a mut Conn, Edge<'a>) {
    let Slot {
        sock,
        conn,
        sessions,
        user,
        key_options,
        peer,
        local,
        forwards,
        login,
        ..
    } = slot;
    let edge = Edge {
        key,
        opts,
        peer: *peer,
        local: *local,
        sessions,
        user,
        key_options,
        forwards,
        daemon_uid,
        banner,
        login,
        now,
        budget,
    };
    (sock, conn, edge)
}

/// Reads what the channel can take from a child's stdout or stderr and sends it.
fn read_child_into(conn: &mut Conn, edge: &mut Edge, ch: usize, stderr: bool) {
    let Some(Some(sess)) = edge.sessions.get_mut(ch) else {
        return;
    };
    let is_pty = sess.pty.is_some();
    let file = if stderr {
        &mut sess.stderr
    } else {
        &mut sess.stdout
    };
    let Some(f) = file.as_mut() else { return };
    let mut buf = [0u8; CHUNK];
    loop {
        let room = conn.channel_send_room(ch).min(CHUNK);
        if room == 0 {
            return;
        }
        match f.read(&mut buf[..room]) {
            Ok(0) => break,
            Ok(n) => {
                // `n` is within the room asked for just now, so the packet fits; a refusal
                // would be a bug in that promise, and closes the connection rather than
                // lose the bytes.
                if !conn.channel_send(ch, stderr && !is_pty, &buf[..n]) {
                    debug_assert!(false, "channel_send refused {n} bytes within its room");
                    log::error!("Output of {n} bytes did not fit its room; closing");
                    return;
                }
            }
            Err(e) if e.kind() == ErrorKind::WouldBlock => return,
            Err(e) if e.kind() == ErrorKind::Interrupted => continue,
            // EIO on a pty master: every slave end is closed.
            Err(_) => break,
        }
    }
    *file = None;
}

/// What accept(2) on a logged-in user's forwarded port or agent socket gave: the socket, none
/// (would block), or Err when accepting must rest (out of descriptors). A socket that would
/// eat into the login reserve is dropped: that one connection fails.
fn for_user<S: Into<OwnedFd>, A>(r: io::Result<(S, A)>) -> Result<Option<(OwnedFd, A)>, String> {
    match r {
        Ok((sock, a)) => {
            let fd: OwnedFd = sock.into();
            // The socket is split into two descriptors (`open_stream`).
            if descriptors::in_reserve(fd.as_raw_fd(), FD_RESERVE_LOGIN + 1) {
                return Err("too few descriptors left".into());
            }
            Ok(Some((fd, a)))
        }
        Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::Interrupted) => Ok(None),
        Err(e) => Err(e.to_string()),
    }
}

/// Opens a channel to the client for an accepted socket; drops it when the table is full.
fn open_stream(conn: &mut Conn, edge: &mut Edge, what: &Outgoing, sock: OwnedFd) {
    let Ok((read, write)) = forward::split(sock) else {
        return;
    };
    if let Some(ch) = conn.channel_open(what, edge) {
        if let Some(slot) = edge.sessions.get_mut(ch) {
            *slot = Some(Session::stream(read, write));
        }
    }
}
/// One poll entry and what it belongs to. Out of line: the loop adds entries from a dozen
/// places, and each inlined copy carried both vectors' growth checks.
#[inline(never)]
fn push(pfds: &mut Vec<libc::pollfd>, refs: &mut Vec<Ref>, fd: RawFd, events: i16, r: Ref) {
    pfds.push(libc::pollfd {
        fd,
        events,
        revents: 0,
    });
    refs.push(r);
}
