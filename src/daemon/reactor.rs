//! The reactor: the poll set the loop waits on (every descriptor with what it belongs to)
//! and the timeout until the next timer is due.

use super::channels::End;
use super::event_loop::Server;
use super::forward;
use std::os::fd::{AsRawFd, RawFd};

/// What a poll entry belongs to.
#[derive(Clone, Copy)]
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
