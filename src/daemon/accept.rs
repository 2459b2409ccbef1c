//! Taking connections in: accept, the admission decision (`admission` holds its rules),
//! parking connections that must wait, displacing one for a fairer newcomer, and a new
//! connection's slot (also `-i`'s one connection on stdin and stdout).

use super::admission::{Note, Pending, Verdict};
use super::event_loop::{Server, Slot, Stream};
use super::login::Login;
use super::{descriptors, memory};
use crate::authkeys::KeyOptions;
use crate::hostkey;
use crate::inet::Sock;
use crate::proto::conn::{Conn, Disconnect, Params};
use crate::proto::msg::reason;
use crate::sys::fd as fds;
use log::{error, info, warn};
use std::fs::File;
use std::io::{self, ErrorKind, Write};
use std::net::{IpAddr, SocketAddr, TcpStream};
use std::os::fd::AsRawFd;

/// An accepted connection waiting for a login slot (its address or network at its cap, or
/// every slot taken; `admission`).
pub(super) struct Parked {
    pub(super) sock: TcpStream,
    pub(super) peer: SocketAddr,
    pub(super) since: u64,
}

/// Connections parked at most, over all addresses.
pub(super) const MAX_PARKED: usize = crate::config::MAX_PARKED;

/// Connections taken from a listener in one turn at most, so that a flood of connects does
/// not keep the loop from serving the others.
const ACCEPT_BATCH: usize = 64;

impl Server {
    pub(super) fn ensure_key(&mut self) -> bool {
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
    pub(super) fn accept(&mut self, l: usize) {
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
        super::edge::random(&mut roll);
        let roll = u32::from_ne_bytes(roll);
        self.admission
            .decide(ip, &self.pending, &self.parked_ips, free, now, roll)
    }
    /// Closes a connection that has not logged in, to make room for a newcomer from a
    /// network holding fewer slots (fair sharing, `admission`). No penalty: it did nothing
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
    pub(super) fn unpark(&mut self) {
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
    /// Otherwise new connections are taken and decided on (`admission`), also when every
    /// login slot is taken: a newcomer from a network holding fewer displaces one.
    pub(super) fn accepting(&mut self) -> bool {
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
        let null = crate::sys::fsys::open(
            std::path::Path::new("/dev/null"),
            crate::sys::fsys::OFlag::O_RDWR,
            0,
        )?;
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
            let conn = match Conn::try_new(params, now, &mut self.budget) {
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
                            self.inetd_status = 1;
                        }
                    }
                    return true;
                }
            };
            // Small and fixed like the `Conn` box; the large buffers came from the budget.
            let slot = Box::new(Slot {
                sock,
                conn,
                peer,
                local,
                accepted_at: now,
                ends: (0..self.opts.max_channels).map(|_| None).collect(),
                user: None,
                key_options: KeyOptions::default(),
                forwards: Vec::new(),
                login: Login::default(),
                heard: false,
                broken: false,
            });
            self.slots[free] = Some(slot);
            self.with_slot(free, |_, conn, edge| conn.start(edge));
            self.flush_socket(free);
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use crate::daemon::test_server::TestServer;
    use std::io::Read;
    use std::time::Duration;

    /// The address the server sees for the connection it holds in `slot`.
    fn peer_of(t: &TestServer, slot: usize) -> std::net::SocketAddr {
        t.server.slots[slot].as_ref().unwrap().peer
    }

    #[test]
    fn over_its_address_cap_a_connection_waits_then_is_served() {
        let mut t = TestServer::new("accept-park", |o| o.max_unauth_per_addr = 1);
        let first = t.connect();
        t.server.accept(0);
        assert_eq!((t.served(), t.server.parked.len()), (1, 0));
        let second = t.connect();
        t.server.accept(0);
        assert_eq!((t.served(), t.server.parked.len()), (1, 1));
        // Still waiting while the first holds the address's one slot.
        t.server.unpark();
        assert_eq!(t.server.parked.len(), 1);
        // The first goes away: the second is served in its place.
        let slot = t.server.slots[0].take().unwrap();
        slot.conn.free(&mut t.server.budget);
        drop(first);
        t.server.unpark();
        assert_eq!((t.served(), t.server.parked.len()), (1, 0));
        let served = (0..t.server.slots.len())
            .find(|&i| t.server.slots[i].is_some())
            .unwrap();
        assert_eq!(peer_of(&t, served), second.local_addr().unwrap());
    }

    #[test]
    fn a_connection_that_waited_past_the_grace_time_is_closed() {
        let mut t = TestServer::new("accept-grace", |o| {
            o.max_unauth_per_addr = 1;
            o.login_grace_secs = 0;
        });
        let _first = t.connect();
        let mut second = t.connect();
        t.server.accept(0);
        assert_eq!(t.server.parked.len(), 1);
        t.server.unpark();
        assert!(t.server.parked.is_empty());
        // Closed without a word: the client reads the end of the stream.
        second
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        let mut buf = [0u8; 64];
        assert_eq!(second.read(&mut buf).unwrap(), 0);
    }

    #[test]
    fn no_accepting_while_paused() {
        let mut t = TestServer::new("accept-pause", |_| {});
        assert!(t.server.accepting());
        let now = t.server.now();
        t.server.admission.pause(now);
        assert!(!t.server.accepting());
    }

    #[test]
    fn a_served_connection_is_sent_the_version_line() {
        let mut t = TestServer::new("accept-serve", |_| {});
        let mut client = t.connect();
        t.server.accept(0);
        assert_eq!(t.served(), 1);
        assert_eq!(peer_of(&t, 0), client.local_addr().unwrap());
        client
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        let mut buf = [0u8; 8];
        client.read_exact(&mut buf).unwrap();
        assert_eq!(&buf, b"SSH-2.0-");
    }
}
