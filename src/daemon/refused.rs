//! Connections refused at accept (no memory for their buffers), kept until the client has
//! read why.
//!
//! A socket closed while input from the peer is still unread is reset, not closed, and a
//! client whose next write meets that reset fails with "Broken pipe" before it reads the
//! refusal it was sent (OpenSSH writes its KEXINIT as soon as it has our version line). So a
//! refused socket is written to, shut for writing, and then read and discarded until the
//! client closes it or `LINGER_MS` passes. Few are kept; the oldest goes first.

use std::io::{ErrorKind, Read, Write};
use std::net::{Shutdown, TcpStream};
use std::os::fd::{AsRawFd, RawFd};

/// Refused sockets kept at most; beyond that the oldest is closed at once.
pub const MAX: usize = 16;
/// How long a refused client gets to read its refusal and close.
const LINGER_MS: u64 = 2000;

struct Entry {
    sock: TcpStream,
    until: u64,
    done: bool,
}

pub struct Refused {
    entries: Vec<Entry>,
}

impl Default for Refused {
    fn default() -> Self {
        Refused {
            entries: Vec::with_capacity(MAX),
        }
    }
}

impl Refused {
    /// Sends `why` (small enough for any socket buffer) and keeps the socket for a while.
    pub fn add(&mut self, mut sock: TcpStream, why: &[u8], now: u64) {
        let _ = sock.write(why);
        let _ = sock.shutdown(Shutdown::Write);
        let mut e = Entry {
            sock,
            until: now + LINGER_MS,
            done: false,
        };
        e.drain();
        if e.done {
            return;
        }
        if self.entries.len() >= MAX {
            self.entries.remove(0);
        }
        self.entries.push(e);
    }

    /// The sockets to poll for input, with their index for `readable`.
    pub fn fds(&self) -> impl Iterator<Item = (usize, RawFd)> + '_ {
        self.entries
            .iter()
            .enumerate()
            .filter(|(_, e)| !e.done)
            .map(|(i, e)| (i, e.sock.as_raw_fd()))
    }

    /// Input arrived on the socket at `i`: it is read and dropped.
    pub fn readable(&mut self, i: usize) {
        if let Some(e) = self.entries.get_mut(i) {
            e.drain();
        }
    }

    /// Closes the sockets whose clients closed or whose time is up; returns the milliseconds
    /// until the next one is due (for the poll timeout).
    pub fn expire(&mut self, now: u64) -> Option<u64> {
        self.entries.retain(|e| !e.done && now < e.until);
        self.entries.iter().map(|e| e.until - now).min()
    }
}

impl Entry {
    /// Reads what is there; `done` once the client closed (or the socket failed).
    fn drain(&mut self) {
        let mut sink = [0u8; 512];
        // Bounded: a client that keeps sending is cut at LINGER_MS anyway.
        for _ in 0..16 {
            match self.sock.read(&mut sink) {
                Ok(0) => break,
                Ok(_) => continue,
                Err(e) if e.kind() == ErrorKind::WouldBlock => return,
                Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                Err(_) => break,
            }
        }
        // Closed, failed, or still sending after 8 KiB: let it go.
        self.done = true;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::TcpListener;

    fn pair() -> (TcpStream, TcpStream) {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let c = TcpStream::connect(l.local_addr().unwrap()).unwrap();
        let (s, _) = l.accept().unwrap();
        s.set_nonblocking(true).unwrap();
        (s, c)
    }

    #[test]
    fn the_client_reads_its_refusal_even_when_it_writes_late() {
        let mut r = Refused::default();
        let (s, mut c) = pair();
        r.add(s, b"refused\r\n", 0);
        assert_eq!(r.fds().count(), 1, "kept while the client is there");
        // The client writes after the refusal was sent, then reads it: no reset.
        c.write_all(&[7u8; 2000]).unwrap();
        std::thread::sleep(std::time::Duration::from_millis(50));
        r.readable(0);
        let mut got = Vec::new();
        c.read_to_end(&mut got).unwrap();
        assert_eq!(got, b"refused\r\n");
        drop(c);
        std::thread::sleep(std::time::Duration::from_millis(50));
        r.readable(0);
        assert_eq!(r.expire(1), None, "closed once the client closed");
    }

    #[test]
    fn kept_for_a_while_and_few_at_a_time() {
        let mut r = Refused::default();
        let mut clients = Vec::new();
        for _ in 0..MAX + 3 {
            let (s, c) = pair();
            r.add(s, b"x", 10);
            clients.push(c);
        }
        assert_eq!(r.fds().count(), MAX);
        assert_eq!(r.expire(10 + LINGER_MS - 1), Some(1));
        assert_eq!(r.expire(10 + LINGER_MS), None);
        assert_eq!(r.fds().count(), 0);
    }
}
