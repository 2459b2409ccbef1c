//! The reactor: the poll set the loop waits on (every descriptor with what it belongs to)
//! and the timeout until the next timer is due.

use super::channels::End;
use super::event_loop::Server;
use super::forward;
use std::os::fd::{AsRawFd, RawFd};

/// What a poll entry belongs to.
#[derive(Clone, Copy)]
#[cfg_attr(test, derive(Debug, PartialEq, Eq))]
pub(super) enum Ref {
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

/// The poll array and, entry by entry, what each descriptor belongs to. Capacity is fixed at
/// start (the most entries the connections can have), so it never grows while serving.
pub(super) struct PollSet {
    pub(super) fds: Vec<libc::pollfd>,
    pub(super) refs: Vec<Ref>,
}

impl PollSet {
    pub(super) fn with_capacity(n: usize) -> PollSet {
        PollSet {
            fds: Vec::with_capacity(n),
            refs: Vec::with_capacity(n),
        }
    }

    fn clear(&mut self) {
        self.fds.clear();
        self.refs.clear();
    }

    /// One poll entry and what it belongs to. Out of line: the loop adds entries from a
    /// dozen places, and each inlined copy carried both vectors' growth checks.
    #[inline(never)]
    pub(super) fn push(&mut self, fd: RawFd, events: i16, r: Ref) {
        self.fds.push(libc::pollfd {
            fd,
            events,
            revents: 0,
        });
        self.refs.push(r);
    }

    /// Waits for the entries (or `timeout` ms); Ok(false) when a signal cut the wait short.
    pub(super) fn wait(&mut self, timeout: libc::c_int) -> std::io::Result<bool> {
        match crate::sys::poll::poll(&mut self.fds, timeout) {
            Ok(_) => Ok(true),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => Ok(false),
            Err(e) => Err(e),
        }
    }
}

impl Server {
    /// Fills the poll array; returns the timeout in ms.
    pub(super) fn build_pollfds(&mut self) -> libc::c_int {
        self.poll.clear();
        self.poll.push(self.sigfd, libc::POLLIN, Ref::Signal);
        if self.accepting() {
            for (i, l) in self.listeners.iter().enumerate() {
                self.poll
                    .push(l.as_raw_fd(), libc::POLLIN, Ref::Listener(i));
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
                self.poll.push(rfd, ev, Ref::Sock(s));
            } else {
                let rev = ev & libc::POLLIN;
                self.poll.push(rfd, rev, Ref::Sock(s));
                if ev & libc::POLLOUT != 0 {
                    self.poll.push(wfd, libc::POLLOUT, Ref::Sock(s));
                }
            }
            if !conn.authenticated() {
                let (deadline, _) = self
                    .admission
                    .login_deadline(slot.accepted_at, conn.kex_done());
                timeout = timeout.min(deadline.saturating_sub(now));
            }
            timeout = timeout.min(conn.next_tick(now));
            if let Some(t) = conn.next_spare(now) {
                timeout = timeout.min(t);
            }
            for (ch, end) in slot.ends.iter().enumerate() {
                let Some(end) = end else { continue };
                if let Some(io) = end.io_ref() {
                    if let Some(f) = &io.input {
                        if !conn.channel_input(ch).is_empty() {
                            self.poll
                                .push(f.as_raw_fd(), libc::POLLOUT, Ref::Stdin(s, ch));
                        }
                    }
                    if conn.channel_send_room(ch) > 0 {
                        if let Some(f) = &io.output {
                            self.poll
                                .push(f.as_raw_fd(), libc::POLLIN, Ref::Stdout(s, ch));
                        }
                        if let Some(f) = &io.stderr {
                            self.poll
                                .push(f.as_raw_fd(), libc::POLLIN, Ref::Stderr(s, ch));
                        }
                    }
                }
                match end {
                    // A pty still read after its shell exited: wake when reading it ends. Once
                    // that time has passed only a client's window holds it open, and the
                    // client's window adjustment wakes the loop (no timer, or it would spin).
                    End::Process(p) => {
                        if let (Some(until), Some(_)) = (p.drain_until, &p.io.output) {
                            if until > now {
                                timeout = timeout.min(until - now);
                            }
                        }
                    }
                    End::Connecting(forward::Connect::Resolving(job, _)) => {
                        timeout = timeout.min(job.deadline.saturating_sub(now));
                        self.poll.push(job.fd(), libc::POLLIN, Ref::Resolve(s, ch));
                    }
                    End::Connecting(forward::Connect::Connecting(t)) => {
                        self.poll
                            .push(t.as_raw_fd(), libc::POLLOUT, Ref::Connect(s, ch));
                    }
                    _ => {}
                }
                if let (Some(a), false) = (end.agent(), paused) {
                    self.poll
                        .push(a.listener.as_raw_fd(), libc::POLLIN, Ref::Agent(s, ch));
                }
            }
            if conn.question().is_some() && !slot.login.has_check() {
                // A question not taken up yet (asked while answering another): at once.
                timeout = 0;
            }
            if let Some(c) = slot.login.running_fd() {
                self.poll.push(c.0, libc::POLLIN, Ref::Auth(s));
                timeout = timeout.min(c.1.saturating_sub(now));
            }
            for (i, f) in slot.forwards.iter().enumerate().filter(|_| !paused) {
                self.poll
                    .push(f.listener.as_raw_fd(), libc::POLLIN, Ref::Forward(s, i));
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
            self.poll.push(fd, libc::POLLIN, Ref::Refused(i));
        }
        // +1 ms so a timer is due when poll returns rather than a hair early.
        (timeout + 1).min(3_600_000) as libc::c_int
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::ACCEPT_PAUSE_MS;
    use crate::daemon::test_server::TestServer;
    use std::io::Write;

    #[test]
    fn the_poll_set_keeps_entries_and_refs_in_step() {
        let (r, w) = crate::sys::fd::pipe().unwrap();
        let mut p = PollSet::with_capacity(3);
        let capacity = (p.fds.capacity(), p.refs.capacity());
        p.push(r.as_raw_fd(), libc::POLLIN, Ref::Stdout(2, 5));
        p.push(w.as_raw_fd(), libc::POLLOUT, Ref::Stdin(2, 5));
        assert_eq!(p.refs, [Ref::Stdout(2, 5), Ref::Stdin(2, 5)]);
        assert_eq!(
            p.fds.iter().map(|f| (f.fd, f.events)).collect::<Vec<_>>(),
            [
                (r.as_raw_fd(), libc::POLLIN),
                (w.as_raw_fd(), libc::POLLOUT)
            ]
        );
        // Nothing to read yet; room to write.
        assert!(p.wait(0).unwrap());
        assert_eq!(p.fds[0].revents, 0);
        assert_ne!(p.fds[1].revents & libc::POLLOUT, 0);
        std::fs::File::from(w.try_clone().unwrap())
            .write_all(b"x")
            .unwrap();
        assert!(p.wait(0).unwrap());
        assert_ne!(p.fds[0].revents & libc::POLLIN, 0);
        // A new turn starts empty, in the same memory.
        p.clear();
        assert!(p.fds.is_empty() && p.refs.is_empty());
        assert_eq!((p.fds.capacity(), p.refs.capacity()), capacity);
    }

    #[test]
    fn an_idle_server_polls_its_signals_and_listener_and_sleeps_an_hour() {
        let mut t = TestServer::new("reactor-idle", |_| {});
        let timeout = t.server.build_pollfds();
        assert_eq!(t.server.poll.refs, [Ref::Signal, Ref::Listener(0)]);
        let fds: Vec<_> = t.server.poll.fds.iter().map(|f| f.fd).collect();
        assert_eq!(fds, [t.sig.as_raw_fd(), t.server.listeners[0].as_raw_fd()]);
        assert_eq!(timeout, 3_600_000);
        // Built afresh each turn: the same again, not twice as many.
        t.server.build_pollfds();
        assert_eq!(t.server.poll.refs.len(), 2);
    }

    #[test]
    fn a_pause_takes_the_listeners_out_until_it_ends() {
        let mut t = TestServer::new("reactor-pause", |_| {});
        let now = t.server.now();
        t.server.admission.pause(now);
        let timeout = t.server.build_pollfds();
        assert_eq!(t.server.poll.refs, [Ref::Signal]);
        assert!(
            timeout > 0 && timeout as u64 <= ACCEPT_PAUSE_MS + 1,
            "{timeout}"
        );
    }

    #[test]
    fn a_new_connection_is_polled_until_its_key_exchange_deadline() {
        let mut t = TestServer::new("reactor-conn", |o| o.kex_timeout_secs = 7);
        let _client = t.connect();
        t.server.accept(0);
        assert_eq!(t.served(), 1);
        let timeout = t.server.build_pollfds();
        let i = t.server.poll.refs.iter().position(|r| *r == Ref::Sock(0));
        let i = i.expect("the connection's socket is polled");
        assert_ne!(t.server.poll.fds[i].events & libc::POLLIN, 0);
        assert!(timeout > 0 && timeout <= 7_001, "{timeout}");
    }

    #[test]
    fn a_parked_connection_wakes_the_loop_at_its_grace_time() {
        let mut t = TestServer::new("reactor-parked", |o| {
            o.max_unauth_per_addr = 1;
            o.login_grace_secs = 60;
        });
        let _first = t.connect();
        let _second = t.connect();
        t.server.accept(0);
        assert_eq!((t.served(), t.server.parked.len()), (1, 1));
        // Only the parked one is left to time.
        let slot = t.server.slots[0].take().unwrap();
        slot.conn.free(&mut t.server.budget);
        let timeout = t.server.build_pollfds();
        assert!(!t.server.poll.refs.contains(&Ref::Sock(0)));
        assert!(timeout > 10_000 && timeout <= 60_001, "{timeout}");
    }
}
