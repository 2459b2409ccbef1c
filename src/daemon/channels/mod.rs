//! The loop's end of each channel, one file per kind: `session` (a process on a pty or on
//! pipes), `direct_tcpip` (`ssh -L`), `forwarded_tcpip` (`ssh -R`) and `agent` (agent
//! forwarding). `End` says which a channel is, so no field stands unused for another kind.

pub mod agent;
pub mod direct_tcpip;
pub mod forwarded_tcpip;
pub mod session;

use super::edge::Edge;
use super::forward;
use crate::proto::conn::Conn;
use std::fs::File;
use std::io::{ErrorKind, Read, Write};

/// The most read from a channel's source at once (one channel data packet).
const CHUNK: usize = crate::config::MAX_CHANNEL_PACKET as usize;

/// What the loop holds for one open (or opening) channel.
pub enum End {
    /// A session channel that asked for agent forwarding before its process started.
    AgentWaiting(forward::AgentSock),
    /// A session's process (boxed: the largest kind, and a connection's table holds an `End`
    /// slot for each of its 16 channels).
    Process(Box<session::Process>),
    /// A direct-tcpip target still being resolved or connected.
    Connecting(forward::Connect),
    /// A socket carried by the channel: direct-tcpip once connected, forwarded-tcpip, agent.
    Socket(Socket),
}

/// The loop's descriptors for a channel's data: `input` takes what the client sends,
/// `output` (and a process's `stderr`) is read and sent to the client. Each is dropped
/// (closed) when its direction ends.
#[derive(Default)]
pub struct Io {
    pub input: Option<File>,
    pub output: Option<File>,
    pub stderr: Option<File>,
}

/// A socket channel's two halves and how far its ending has gone.
pub struct Socket {
    pub io: Io,
    pub eof_sent: bool,
    pub finished: bool,
}

impl End {
    /// A socket channel reading `read` and writing `write`.
    pub fn socket(read: File, write: File) -> End {
        End::Socket(Socket {
            io: Io {
                input: Some(write),
                output: Some(read),
                stderr: None,
            },
            eof_sent: false,
            finished: false,
        })
    }

    /// The channel's data descriptors, once it has any.
    pub fn io(&mut self) -> Option<&mut Io> {
        match self {
            End::Process(p) => Some(&mut p.io),
            End::Socket(s) => Some(&mut s.io),
            End::AgentWaiting(_) | End::Connecting(_) => None,
        }
    }

    /// The same, to look at.
    pub fn io_ref(&self) -> Option<&Io> {
        match self {
            End::Process(p) => Some(&p.io),
            End::Socket(s) => Some(&s.io),
            End::AgentWaiting(_) | End::Connecting(_) => None,
        }
    }

    /// The agent socket a session listens on, before or after its process started.
    pub fn agent(&self) -> Option<&forward::AgentSock> {
        match self {
            End::AgentWaiting(a) => Some(a),
            End::Process(p) => p.agent.as_ref(),
            _ => None,
        }
    }

    /// The channel is gone: a session's process gets SIGHUP, as a terminal hang-up would.
    /// (Sockets, connects and agent sockets close when the `End` is dropped.)
    pub fn hang_up(&self) {
        if let End::Process(p) = self {
            p.hang_up();
        }
    }
}

/// Writes client bytes to the channel's input (a process's stdin, a socket) without
/// blocking. Returns how many the client no longer needs kept: those written, or all of
/// them once the reader has gone (the descriptor is then closed, and what the client still
/// sends is discarded).
pub fn write_input(io: &mut Io, data: &[u8]) -> usize {
    let Some(f) = io.input.as_mut().filter(|_| !data.is_empty()) else {
        return 0;
    };
    loop {
        match f.write(data) {
            Ok(n) => return n,
            Err(e) if e.kind() == ErrorKind::Interrupted => continue,
            Err(e) if e.kind() == ErrorKind::WouldBlock => return 0,
            Err(_) => {
                io.input = None;
                return data.len();
            }
        }
    }
}

/// Reads what the channel can take from its output (or stderr) and sends it. A pipe of a
/// process that exited is read only as far as it owes (`session::Process::owed`), then closed.
pub fn read_into(conn: &mut Conn, edge: &mut Edge, ch: usize, stderr: bool) {
    let Some(Some(end)) = edge.ends.get_mut(ch) else {
        return;
    };
    let (io, mut owed, is_pty, mut growth) = match end {
        End::Process(p) => {
            let owed = p.owed.as_mut().map(|o| &mut o[usize::from(stderr)]);
            let is_pty = p.pty.is_some();
            // Only a stdout pipe grows: not stderr, not a pty.
            let growth = (!stderr && !is_pty).then_some(&mut p.pipe);
            (&mut p.io, owed, is_pty, growth)
        }
        End::Socket(s) => (&mut s.io, None, false, None),
        End::AgentWaiting(_) | End::Connecting(_) => return,
    };
    let file = if stderr {
        &mut io.stderr
    } else {
        &mut io.output
    };
    let Some(f) = file.as_mut() else { return };
    let ext = stderr && !is_pty;
    loop {
        let left = owed.as_deref().copied().unwrap_or(usize::MAX);
        if left == 0 {
            // Everything the exited process wrote is sent; a background child may still
            // hold the pipe, and no longer holds the channel.
            break;
        }
        let room = conn.channel_send_room(ch).min(CHUNK).min(left);
        if room == 0 {
            return;
        }
        // Read straight into the packet: no copy, and no buffer to clear first.
        match conn.channel_read_into(ch, ext, room, |area| f.read(area)) {
            Ok(0) => break,
            Ok(n) => {
                if let Some(o) = owed.as_deref_mut() {
                    *o -= n;
                }
                if let Some(g) = growth.as_deref_mut().filter(|_| n >= CHUNK / 2) {
                    session::grow_pipe(g, f, edge.budget);
                }
            }
            // Empty: done once the process has exited (there is nothing more it owes).
            Err(e) if e.kind() == ErrorKind::WouldBlock && owed.is_some() => break,
            Err(e) if e.kind() == ErrorKind::WouldBlock => return,
            Err(e) if e.kind() == ErrorKind::Interrupted => continue,
            // EIO on a pty master: every slave end is closed.
            Err(_) => break,
        }
    }
    *file = None;
}

/// Per-turn work for one channel: ends what has ended, in order (input, EOF, exit status,
/// close), so that nothing the client is owed is lost.
pub fn service(conn: &mut Conn, edge: &mut Edge, ch: usize, now: u64) {
    let Some(end) = edge.ends[ch].as_mut() else {
        return;
    };
    match end {
        End::AgentWaiting(_) => {}
        End::Connecting(forward::Connect::Resolving(job, _)) if now >= job.deadline => {
            direct_tcpip::timed_out(conn, edge, ch)
        }
        End::Connecting(_) => {}
        End::Socket(s) => {
            if s.io.input.is_some() && conn.channel_input_finished(ch) {
                if let Some(w) = &s.io.input {
                    forward::shutdown_write(w);
                }
                s.io.input = None;
            }
            if s.io.output.is_none() && !s.eof_sent {
                s.eof_sent = true;
                conn.channel_send_eof(ch, edge);
            }
            let Some(End::Socket(s)) = edge.ends[ch].as_mut() else {
                return;
            };
            if s.io.output.is_none() && s.io.input.is_none() && !s.finished {
                s.finished = true;
                conn.channel_finish(ch, None, edge);
            }
        }
        End::Process(_) => session::service(conn, edge, ch, now),
    }
}
