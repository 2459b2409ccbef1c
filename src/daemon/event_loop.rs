//! The one poll(2) loop: listeners, connections, session children and the signal pipe.
//!
//! Each connection is a `Slot`: its socket, its protocol state (`Conn`) and its channels'
//! ends. The loop moves bytes between sockets, `Conn` and children; `Conn` decides what they
//! mean. Its rooms: `reactor.rs` (the poll set and timeout), `accept.rs` (taking connections
//! in), `edge.rs` (the core's services and events), `login.rs` (authentication checks in
//! helper children) and `channels/` (one file per channel kind).

use super::accept::{Parked, MAX_PARKED};
use super::admission::{Admission, Note, Pending};
use super::channels::{self, agent, direct_tcpip, forwarded_tcpip, End};
use super::edge::{hang_up_all, Edge};
use super::login::{self, Login};
use super::reactor::{PollSet, Ref};
use super::{descriptors, forward, inetd, memory, refused, spawn};
use crate::accounts::users;
use crate::authkeys::KeyOptions;
use crate::inet::Sock;
use crate::options::Options;
use crate::proto::budget::Budget;
use crate::proto::channel::ExitInfo;
use crate::proto::conn::{Conn, Disconnect};
use crate::proto::crypto::Ed25519Key;
use crate::proto::msg::reason;
use crate::sys::{signal as signals, socket as net};
use log::{info, warn};
use std::fs::File;
use std::io::{self, ErrorKind, Read, Write};
use std::net::{IpAddr, SocketAddr, TcpListener, TcpStream};
use std::os::fd::{AsRawFd, RawFd};

/// A connection's byte stream: a TCP socket, or (`-i`, inetd mode) stdin and stdout, which
/// may be two different fds (pipes from `ssh -o ProxyCommand`).
pub(super) enum Stream {
    Tcp(TcpStream),
    Pipes { r: File, w: File },
}

impl Stream {
    pub(super) fn read_fd(&self) -> RawFd {
        match self {
            Stream::Tcp(s) => s.as_raw_fd(),
            Stream::Pipes { r, .. } => r.as_raw_fd(),
        }
    }

    pub(super) fn write_fd(&self) -> RawFd {
        match self {
            Stream::Tcp(s) => s.as_raw_fd(),
            Stream::Pipes { w, .. } => w.as_raw_fd(),
        }
    }

    pub(super) fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Stream::Tcp(s) => s.read(buf),
            Stream::Pipes { r, .. } => r.read(buf),
        }
    }

    pub(super) fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Stream::Tcp(s) => s.write(buf),
            Stream::Pipes { w, .. } => w.write(buf),
        }
    }

    pub(super) fn quick_ack(&self) {
        if let Stream::Tcp(s) = self {
            net::quick_ack(s);
        }
    }
}

pub(super) struct Slot {
    pub(super) sock: Stream,
    pub(super) conn: Box<Conn>,
    pub(super) peer: SocketAddr,
    pub(super) local: SocketAddr,
    pub(super) accepted_at: u64,
    /// The loop's end of each channel, by channel number.
    pub(super) ends: Box<[Option<End>]>,
    /// The user whose key was last allowed, and that key's authorized_keys options.
    pub(super) user: Option<users::User>,
    pub(super) key_options: KeyOptions,
    /// Remote-forwarded ports (`ssh -R`).
    pub(super) forwards: Vec<forward::Forward>,
    /// Authentication under way.
    pub(super) login: Login,
    /// The peer has sent something.
    pub(super) heard: bool,
    /// A read or write of the stream failed after that (the core records it as a close by
    /// the peer; `-i`'s exit status tells them apart).
    pub(super) broken: bool,
}

pub struct Server {
    pub(super) opts: Options,
    pub(super) key: Option<Ed25519Key>,
    pub(super) listeners: Vec<TcpListener>,
    pub(super) sigfd: RawFd,
    /// One entry per connection allowed, boxed: a free entry is a pointer's size, so the
    /// table costs 8 bytes a connection until used (an unboxed `Slot` is about 1 KB, and
    /// filling the table with `None` wrote to every page of it).
    pub(super) slots: Vec<Option<Box<Slot>>>,
    pub(super) poll: PollSet,
    pub(super) epoch: u64,
    pub(super) daemon_uid: u32,
    /// The `-b` banner, read at start.
    pub(super) banner: Vec<u8>,
    /// Every connection slot holds a logged-in user (logged once until it is not).
    pub(super) limit_logged: bool,
    pub(super) parked: Vec<Parked>,
    /// Where the next round of starting waiting authentication checks begins.
    pub(super) next_check: usize,
    /// Connection and channel buffers of all connections together (`--max-memory`).
    pub(super) budget: Budget,
    /// Connections refused for want of memory, until their clients have read why.
    pub(super) refused: refused::Refused,
    /// Who gets a login slot; penalties; the accept pause; rate-limited log lines.
    pub(super) admission: Admission,
    /// The connections not logged in yet and the parked addresses, as `admission` is shown
    /// them (reused; capacity fixed at start).
    pub(super) pending: Vec<Pending>,
    pub(super) parked_ips: Vec<IpAddr>,
    /// `-i`: the exit status, once its connection has ended (`inetd::exit_status`).
    pub(super) inetd_status: i32,
}

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
            "Memory budget {} bytes: {} per connection, {} more per open channel, {} for \
             windows grown past {} and pipes grown past the system's size",
            budget.limit(),
            Conn::fixed_bytes(opts.max_channels),
            opts.window,
            budget.growth_room(),
            opts.window
        );
        Ok(Server {
            poll: PollSet::with_capacity(polled),
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
            inetd_status: 0,
            opts,
        })
    }
    /// Milliseconds since the server started: the core's clock.
    pub(super) fn now(&self) -> u64 {
        crate::sys::time::monotonic_ms() - self.epoch
    }
    /// Runs until SIGTERM or SIGINT (status 0) or, with `-i`, until its connection ends
    /// (the status says how); returns the exit status.
    pub fn run(&mut self) -> io::Result<i32> {
        loop {
            let timeout = self.build_pollfds();
            if !self.poll.wait(timeout)? {
                continue;
            }
            for i in 0..self.poll.fds.len() {
                let ev = self.poll.fds[i].revents;
                if ev == 0 {
                    continue;
                }
                match self.poll.refs[i] {
                    Ref::Signal => {
                        let p = signals::take_pending(self.sigfd);
                        if p.child {
                            self.reap();
                        }
                        if p.terminate {
                            info!("Terminated by signal");
                            self.shutdown();
                            return Ok(0);
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
            if cfg!(debug_assertions) {
                let (held, grown) = self.slots.iter().flatten().fold((0, 0), |(h, g), s| {
                    (h + s.conn.held_bytes(), g + s.conn.grown_bytes())
                });
                assert_eq!(
                    (self.budget.used(), self.budget.grown()),
                    (held, grown),
                    "memory budget out of step with the buffers held (bytes, grown bytes)"
                );
            }
            if !self.parked.is_empty() {
                self.unpark();
            }
            let now = self.now();
            self.admission.log_held(now);
            if self.opts.inetd && self.slots.iter().all(|s| s.is_none()) {
                // -i: the one connection is over.
                self.shutdown();
                return Ok(self.inetd_status);
            }
        }
    }
    /// Runs `f` with a slot's socket, connection and edge, then answers what the connection
    /// waits for (`Edge::serve`).
    pub(super) fn with_slot<R>(
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
        let r = f(sock, conn, &mut edge);
        edge.serve(conn);
        Some(r)
    }
    fn sock_ready(&mut self, s: usize, ev: i16) {
        if ev & (libc::POLLIN | libc::POLLHUP | libc::POLLERR) != 0 {
            self.read_socket(s);
        }
        self.flush_socket(s);
    }
    fn read_socket(&mut self, s: usize) {
        let now = self.now();
        // (bytes came, the read failed)
        let r = self.with_slot(s, |sock, conn, edge| {
            let mut got = false;
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
                        got = true;
                        conn.received(n, edge, now);
                        // The reads go on only once what the packets asked is answered.
                        edge.serve(conn);
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
                        return (got, true);
                    }
                }
            }
            (got, false)
        });
        if let (Some((got, failed)), Some(slot)) = (r, self.slots[s].as_mut()) {
            slot.heard |= got;
            // Dropbear too counts a failure before the client's version line as a close.
            slot.broken |= failed && slot.heard;
        }
    }
    /// Writes queued output until the socket would block.
    pub(super) fn flush_socket(&mut self, s: usize) {
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
                    slot.broken |= slot.heard;
                    let n = slot.conn.output().len();
                    slot.conn.output_sent(n);
                    return;
                }
            }
        }
    }
    fn write_stdin(&mut self, s: usize, ch: usize) {
        self.with_slot(s, |_, conn, edge| {
            let Some(io) = edge.ends.get_mut(ch).and_then(|e| e.as_mut()?.io()) else {
                return;
            };
            let n = channels::write_input(io, conn.channel_input(ch));
            if n > 0 {
                conn.channel_consumed(ch, n, edge);
            }
        });
    }
    fn read_child(&mut self, s: usize, ch: usize, stderr: bool) {
        self.with_slot(s, |_, conn, edge| {
            channels::read_into(conn, edge, ch, stderr)
        });
    }
    /// A direct-tcpip target resolved or connected (or failed).
    fn connect_progress(&mut self, s: usize, ch: usize) {
        self.with_slot(s, |_, conn, edge| direct_tcpip::progress(conn, edge, ch));
    }
    /// A connection on a remote-forwarded port becomes a forwarded-tcpip channel.
    fn accept_forwarded(&mut self, s: usize, i: usize) {
        let r = self.with_slot(s, |_, conn, edge| forwarded_tcpip::accept(conn, edge, i));
        self.accept_trouble(s, r);
    }
    /// A connection on a session's agent socket becomes an auth-agent channel.
    fn accept_agent(&mut self, s: usize, ch: usize) {
        let r = self.with_slot(s, |_, conn, edge| agent::accept(conn, edge, ch));
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
                for end in slot.ends.iter_mut().flatten() {
                    match end {
                        End::Connecting(forward::Connect::Resolving(job, _))
                            if job.pid() == pid =>
                        {
                            job.set_reaped()
                        }
                        End::Process(p) if p.pid == pid && p.exit.is_none() => p.exited(exit),
                        _ => {}
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
            for ch in 0..edge.ends.len() {
                channels::service(conn, edge, ch, now);
            }
            if !conn.authenticated() && conn.closing().is_none() && now >= deadline {
                conn.disconnect(Disconnect {
                    reason: reason::BY_APPLICATION,
                    text: why,
                });
            }
            conn.tick(edge, now);
            conn.spare(now, &mut crate::sys::alloc::discard);
            if conn.wants_input() {
                // Packets held back while output was full.
                conn.received(0, edge, now);
            }
        });
        self.flush_socket(s);
        let closing = self.slots[s].as_ref().and_then(|sl| sl.conn.closing());
        if let Some(d) = closing {
            if let Some(slot) = self.slots[s].take() {
                if self.opts.inetd {
                    self.inetd_status = inetd::exit_status(d.text, slot.broken);
                }
                let who = slot.user.as_ref().map(|u| u.name.clone());
                match who {
                    Some(u) if slot.conn.authenticated() => {
                        info!("Exit ({u}) from <{}>: {}", Sock(slot.peer), d.text)
                    }
                    _ => {
                        info!("Exit before auth from <{}>: {}", Sock(slot.peer), d.text);
                        let fails = slot.conn.auth_failures();
                        self.admission
                            .ended_before_login(slot.peer.ip(), d, fails, now);
                    }
                }
                hang_up_all(&slot.ends);
                slot.conn.free(&mut self.budget);
            }
        }
    }
    fn shutdown(&mut self) {
        for slot in self.slots.iter_mut() {
            if let Some(s) = slot.take() {
                hang_up_all(&s.ends);
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
        ends,
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
        ends,
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
