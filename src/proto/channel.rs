//! Session channels (RFC 4254 §5-6): the table, windows, requests, and the EOF / exit-status /
//! CLOSE ordering.
//!
//! What a channel owes the peer (a confirmation, request replies, a window adjust, EOF, exit
//! status, CLOSE) is kept as state and written by `emit` when sending is allowed (not during a
//! key exchange, output room available). So nothing is lost when it cannot be sent at once, and
//! nothing needs a queue that could grow.
//!
//! A channel's receive buffer is exactly the window it advertises. It is asked of the edge
//! (`SessionHost::window_buffer`, counted against the daemon's memory budget) when the channel
//! opens and handed back (`window_freed`) when it closes; an open the edge has no memory for
//! is refused with RESOURCE_SHORTAGE.

use super::limits::{MAX_CHANNEL_PACKET, MAX_COMMAND, MAX_SESSION_ENV, MAX_TERM, MAX_TERM_MODES};
use super::msg;
use super::packet::Output;
use super::wire::{Reader, WireError, Writer};

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PtySize {
    pub cols: u32,
    pub rows: u32,
    pub width_px: u32,
    pub height_px: u32,
}

#[cfg_attr(any(test, feature = "fuzzing"), derive(Clone))]
pub struct PtyReq {
    pub term: heapless::String<MAX_TERM>,
    pub size: PtySize,
    pub modes: heapless::Vec<u8, MAX_TERM_MODES>,
}

/// How a session's process ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitInfo {
    Status(u32),
    /// Signal name without "SIG" (RFC 4254 §6.10), and whether it dumped core.
    Signal(&'static str, bool),
}

/// What a `shell`, `exec` or `subsystem` request asks the edge to start.
pub struct SessionStart<'a> {
    pub command: Option<&'a [u8]>,
    pub subsystem: Option<&'a str>,
    pub pty: Option<&'a PtyReq>,
    /// Accepted `env` pairs as `NAME=value` entries separated by NUL bytes.
    pub env: &'a [u8],
}

/// What a channel carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A shell, command or subsystem with its requests.
    Session,
    /// Plain bytes to and from a socket: direct-tcpip, forwarded-tcpip, agent.
    Stream,
}

/// A client's `direct-tcpip` open (RFC 4254 §7.2).
pub struct DirectTcpip<'a> {
    pub host: &'a str,
    pub port: u32,
    pub originator: &'a str,
    pub originator_port: u32,
}

/// A channel the server opens towards the client.
pub enum Outgoing<'a> {
    /// A connection arrived on a remote-forwarded port (RFC 4254 §7.2).
    ForwardedTcpip {
        address: &'a str,
        port: u32,
        originator: &'a str,
        originator_port: u32,
    },
    /// A connection arrived on the session's agent socket (OpenSSH PROTOCOL.agent).
    Agent,
}

/// The edge's side of channel requests.
pub trait SessionHost {
    /// The receive buffer (`bytes` long, zeroed) of a channel being opened; `kind` names the
    /// channel type for the edge's log. `None` refuses the channel with RESOURCE_SHORTAGE.
    fn window_buffer(&mut self, kind: &str, bytes: usize) -> Option<Box<[u8]>>;
    /// A buffer from `window_buffer` comes back: its channel is closed.
    fn window_freed(&mut self, buf: Box<[u8]>);
    /// Starts connecting for a `direct-tcpip` channel; the edge answers later with
    /// `Conn::channel_open_result`. `false` refuses at once (prohibited).
    fn open_direct_tcpip(&mut self, ch: usize, req: &DirectTcpip) -> bool;
    /// `auth-agent-req@openssh.com` on a session, before it starts: make an agent socket.
    fn agent_request(&mut self, ch: usize) -> bool;
    /// Starts the session's process; `false` refuses (the client sees a failure).
    fn start_session(&mut self, ch: usize, req: &SessionStart) -> bool;
    fn window_change(&mut self, ch: usize, size: PtySize);
    /// Delivers a signal by its SSH name ("TERM", "INT", ...).
    fn signal(&mut self, ch: usize, name: &str);
    /// The channel is gone: release the session's descriptors, hang up its process.
    fn channel_freed(&mut self, ch: usize);
}

/// Replies owed, in order: a bit per reply (1 = success), oldest in bit 0.
#[derive(Default, Clone, Copy)]
pub struct Replies {
    bits: u32,
    count: u8,
}

impl Replies {
    /// `false` when 32 replies are already owed (the peer is not reading): a protocol error.
    pub fn push(&mut self, ok: bool) -> bool {
        if self.count >= 32 {
            return false;
        }
        self.bits |= (ok as u32) << self.count;
        self.count += 1;
        true
    }

    pub fn peek(&self) -> Option<bool> {
        (self.count > 0).then_some(self.bits & 1 == 1)
    }

    pub fn pop(&mut self) {
        if self.count > 0 {
            self.bits >>= 1;
            self.count -= 1;
        }
    }

    pub fn is_empty(&self) -> bool {
        self.count == 0
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChanError {
    Malformed,
    /// The peer sent more than the window allowed, or a packet over the maximum.
    WindowExceeded,
    /// Data or a request after the peer's EOF or CLOSE.
    AfterClose,
    TooManyReplies,
}

impl From<WireError> for ChanError {
    fn from(_: WireError) -> Self {
        ChanError::Malformed
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Flag {
    No,
    Want,
    Sent,
}

#[cfg_attr(any(test, feature = "fuzzing"), derive(Clone))]
pub struct Channel {
    pub open: bool,
    pub kind: Kind,
    /// For a channel we opened: the CHANNEL_OPEN still owed (type and extra data), or sent and
    /// awaiting the client's answer.
    open_out: Flag,
    open_msg: heapless::Vec<u8, 300>,
    peer_id: u32,
    peer_window: u32,
    peer_max: u32,
    /// Client-to-process bytes in `buf[head..tail]`; `buf` is the window's worth, from the
    /// edge while the channel is open, empty while it is not.
    buf: Box<[u8]>,
    head: usize,
    tail: usize,
    /// Bytes the peer may still send.
    window: u32,
    eof_in: bool,
    close_in: bool,
    started: bool,
    pub pty: Option<PtyReq>,
    env: heapless::Vec<u8, 1024>,
    env_count: usize,
    confirm: Flag,
    replies: Replies,
    eof_out: Flag,
    exit: Option<ExitInfo>,
    exit_sent: bool,
    close_out: Flag,
}

impl Channel {
    pub fn new() -> Self {
        Channel {
            open: false,
            kind: Kind::Session,
            open_out: Flag::No,
            open_msg: heapless::Vec::new(),
            peer_id: 0,
            peer_window: 0,
            peer_max: 0,
            buf: Box::default(),
            head: 0,
            tail: 0,
            window: 0,
            eof_in: false,
            close_in: false,
            started: false,
            pty: None,
            env: heapless::Vec::new(),
            env_count: 0,
            confirm: Flag::No,
            replies: Replies::default(),
            eof_out: Flag::No,
            exit: None,
            exit_sent: false,
            close_out: Flag::No,
        }
    }

    /// Opens the channel with its receive buffer (the window it advertises).
    fn reset(&mut self, kind: Kind, peer_id: u32, peer_window: u32, peer_max: u32, buf: Box<[u8]>) {
        // A closed channel has given its buffer back (`release`).
        debug_assert!(self.buf.is_empty());
        *self = Channel::new();
        self.buf = buf;
        self.open = true;
        self.kind = kind;
        self.peer_id = peer_id;
        self.peer_window = peer_window;
        self.peer_max = peer_max.min(MAX_CHANNEL_PACKET);
        self.window = self.buf.len() as u32;
        self.confirm = Flag::Want;
    }

    /// Closes the channel and hands its buffer back to the edge.
    fn release(&mut self, host: &mut dyn SessionHost) {
        self.open = false;
        host.window_freed(core::mem::take(&mut self.buf));
    }

    /// Bytes of receive buffer held (0 when closed).
    pub fn buffer_len(&self) -> usize {
        self.buf.len()
    }

    /// A client-opened stream channel waits for the edge's connect before it is confirmed.
    fn hold_confirmation(&mut self) {
        self.confirm = Flag::No;
    }

    /// Sends EOF now (the stream's read side ended) but keeps the channel open for input.
    pub fn send_eof(&mut self) {
        if self.eof_out == Flag::No {
            self.eof_out = Flag::Want;
        }
    }

    pub fn peer_id(&self) -> u32 {
        self.peer_id
    }

    /// Bytes from the client waiting for the process.
    pub fn pending_input(&self) -> &[u8] {
        &self.buf[self.head..self.tail]
    }

    pub fn consume_input(&mut self, n: usize) {
        self.head = (self.head + n).min(self.tail);
        if self.head == self.tail {
            self.head = 0;
            self.tail = 0;
        }
    }

    /// The client sent EOF and every byte before it has been consumed.
    pub fn input_finished(&self) -> bool {
        (self.eof_in || self.close_in) && self.head == self.tail
    }

    /// How many bytes of process output may be sent now (ignoring output buffer room).
    pub fn send_window(&self) -> usize {
        if !self.open
            || self.confirm != Flag::Sent
            || !self.replies.is_empty()
            || self.eof_out != Flag::No
            || self.close_in
        {
            return 0;
        }
        self.peer_window.min(self.peer_max) as usize
    }

    pub fn sent_data(&mut self, n: usize) {
        self.peer_window = self.peer_window.saturating_sub(n as u32);
    }

    /// The process is done: send EOF, its exit status, then CLOSE.
    pub fn finish(&mut self, exit: Option<ExitInfo>) {
        if self.eof_out == Flag::No {
            self.eof_out = Flag::Want;
        }
        self.exit = exit;
        if self.close_out == Flag::No {
            self.close_out = Flag::Want;
        }
    }

    fn data(&mut self, data: &[u8]) -> Result<(), ChanError> {
        if self.eof_in || self.close_in {
            return Err(ChanError::AfterClose);
        }
        if data.len() > self.window as usize || data.len() > MAX_CHANNEL_PACKET as usize {
            return Err(ChanError::WindowExceeded);
        }
        if self.buf.len() - self.tail < data.len() {
            self.buf.copy_within(self.head..self.tail, 0);
            self.tail -= self.head;
            self.head = 0;
        }
        // Invariant: buffered + window <= capacity, so this fits.
        self.buf[self.tail..self.tail + data.len()].copy_from_slice(data);
        self.tail += data.len();
        self.window -= data.len() as u32;
        Ok(())
    }

    /// Window to grant now: once half the buffer is free and not yet offered.
    fn adjust_due(&self) -> u32 {
        let cap = self.buf.len() as u32;
        let free = cap - (self.tail - self.head) as u32;
        let grant = free - self.window;
        if grant >= cap / 2 {
            grant
        } else {
            0
        }
    }

    fn request(
        &mut self,
        ch: usize,
        r: &mut Reader,
        host: &mut dyn SessionHost,
    ) -> Result<(), ChanError> {
        let name = r.text()?;
        let want_reply = r.bool()?;
        if self.close_in {
            return Err(ChanError::AfterClose);
        }
        let ok = match name {
            _ if self.kind != Kind::Session => false,
            "auth-agent-req@openssh.com" if !self.started => host.agent_request(ch),
            "pty-req" if !self.started && self.pty.is_none() => {
                let term = r.text()?;
                let size = PtySize {
                    cols: r.u32()?,
                    rows: r.u32()?,
                    width_px: r.u32()?,
                    height_px: r.u32()?,
                };
                let modes = r.string()?;
                let mut req = PtyReq {
                    term: heapless::String::new(),
                    size,
                    modes: heapless::Vec::new(),
                };
                let fits =
                    req.term.push_str(term).is_ok() && req.modes.extend_from_slice(modes).is_ok();
                if fits {
                    self.pty = Some(req);
                }
                fits
            }
            "env" if !self.started => {
                let var = r.text()?;
                let value = r.text()?;
                self.add_env(var, value)
            }
            "shell" | "exec" | "subsystem" if !self.started => {
                let (command, subsystem) = match name {
                    "exec" => (Some(r.string()?), None),
                    "subsystem" => (None, Some(r.text()?)),
                    _ => (None, None),
                };
                if command.is_some_and(|c| c.len() > MAX_COMMAND) {
                    false
                } else {
                    let req = SessionStart {
                        command,
                        subsystem,
                        pty: self.pty.as_ref(),
                        env: &self.env,
                    };
                    self.started = host.start_session(ch, &req);
                    self.started
                }
            }
            "window-change" => {
                let size = PtySize {
                    cols: r.u32()?,
                    rows: r.u32()?,
                    width_px: r.u32()?,
                    height_px: r.u32()?,
                };
                if let Some(p) = &mut self.pty {
                    p.size = size;
                    if self.started {
                        host.window_change(ch, size);
                    }
                    true
                } else {
                    false
                }
            }
            "signal" => {
                let sig = r.text()?;
                if self.started {
                    host.signal(ch, sig);
                }
                self.started
            }
            _ => false,
        };
        if want_reply && !self.replies.push(ok) {
            return Err(ChanError::TooManyReplies);
        }
        Ok(())
    }

    /// Only LANG and LC_* are passed on (as OpenSSH's default AcceptEnv on Debian).
    fn add_env(&mut self, var: &str, value: &str) -> bool {
        let allowed = var == "LANG" || (var.starts_with("LC_") && var.len() > 3);
        let clean = var.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
            && !value.as_bytes().contains(&0);
        if !allowed || !clean || self.env_count >= MAX_SESSION_ENV {
            return false;
        }
        let before = self.env.len();
        let ok = self.env.extend_from_slice(var.as_bytes()).is_ok()
            && self.env.push(b'=').is_ok()
            && self.env.extend_from_slice(value.as_bytes()).is_ok()
            && self.env.push(0).is_ok();
        if !ok {
            self.env.truncate(before);
            return false;
        }
        self.env_count += 1;
        true
    }

    /// Writes what this channel owes the peer, as far as output room allows. Returns true when
    /// the channel is finished (CLOSE both ways) and can be freed.
    fn emit(&mut self, index: usize, out: &mut Output, pad: u8) -> Result<bool, WireError> {
        if !self.open {
            return Ok(false);
        }
        if self.open_out == Flag::Want {
            let body = &self.open_msg;
            out.packet(pad, |w| {
                w.u8(msg::CHANNEL_OPEN)?;
                w.raw(body)
            })?;
            self.open_out = Flag::Sent;
        }
        if self.open_out == Flag::Sent {
            // Nothing else until the client answers the open.
            return Ok(false);
        }
        let id = self.peer_id;
        if self.confirm == Flag::Want {
            let window = self.window;
            out.packet(pad, |w| {
                w.u8(msg::CHANNEL_OPEN_CONFIRMATION)?;
                w.u32(id)?;
                // Our channel number is the table index.
                w.u32(index as u32)?;
                w.u32(window)?;
                w.u32(MAX_CHANNEL_PACKET)
            })?;
            self.confirm = Flag::Sent;
        }
        while let Some(ok) = self.replies.peek() {
            out.packet(pad, |w| {
                w.u8(if ok {
                    msg::CHANNEL_SUCCESS
                } else {
                    msg::CHANNEL_FAILURE
                })?;
                w.u32(id)
            })?;
            self.replies.pop();
        }
        if self.close_out != Flag::Sent && !self.close_in {
            let grant = self.adjust_due();
            if grant > 0 {
                out.packet(pad, |w| {
                    w.u8(msg::CHANNEL_WINDOW_ADJUST)?;
                    w.u32(id)?;
                    w.u32(grant)
                })?;
                self.window += grant;
            }
        }
        if self.eof_out == Flag::Want && !self.close_in {
            out.packet(pad, |w| {
                w.u8(msg::CHANNEL_EOF)?;
                w.u32(id)
            })?;
            self.eof_out = Flag::Sent;
        }
        if let (Some(exit), false) = (self.exit, self.exit_sent) {
            if !self.close_in {
                out.packet(pad, |w| exit_request(w, id, exit))?;
            }
            self.exit_sent = true;
        }
        // A stream delivers what the client sent before its CLOSE before it answers it: the
        // edge frees the socket when the channel is freed.
        let drained = self.kind == Kind::Session || self.head == self.tail;
        if self.close_out == Flag::Want && drained {
            out.packet(pad, |w| {
                w.u8(msg::CHANNEL_CLOSE)?;
                w.u32(id)
            })?;
            self.close_out = Flag::Sent;
        }
        Ok(self.close_out == Flag::Sent && self.close_in)
    }
}

fn exit_request(w: &mut Writer, id: u32, exit: ExitInfo) -> Result<(), WireError> {
    w.u8(msg::CHANNEL_REQUEST)?;
    w.u32(id)?;
    match exit {
        ExitInfo::Status(code) => {
            w.string(b"exit-status")?;
            w.bool(false)?;
            w.u32(code)
        }
        ExitInfo::Signal(name, core) => {
            w.string(b"exit-signal")?;
            w.bool(false)?;
            w.string(name.as_bytes())?;
            w.bool(core)?;
            w.string(b"")?;
            w.string(b"")
        }
    }
}

impl Default for Channel {
    fn default() -> Self {
        Self::new()
    }
}

/// Why a channel open was refused: the reason code and the text the client shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Refusal {
    UnknownType,
    TooMany,
    NoMemory,
    Prohibited,
    ConnectFailed,
}

impl Refusal {
    fn code(self) -> u32 {
        use msg::open_failure::*;
        match self {
            Refusal::UnknownType => UNKNOWN_CHANNEL_TYPE,
            Refusal::TooMany | Refusal::NoMemory => RESOURCE_SHORTAGE,
            Refusal::Prohibited => ADMINISTRATIVELY_PROHIBITED,
            Refusal::ConnectFailed => CONNECT_FAILED,
        }
    }

    fn text(self) -> &'static [u8] {
        match self {
            Refusal::UnknownType => b"unsupported channel type",
            Refusal::TooMany => b"too many channels",
            Refusal::NoMemory => b"memory limit reached",
            Refusal::Prohibited => b"prohibited",
            Refusal::ConnectFailed => b"connect failed",
        }
    }
}

/// All channels of one connection; the index is our channel number.
#[cfg_attr(any(test, feature = "fuzzing"), derive(Clone))]
pub struct Channels {
    pub chans: Box<[Channel]>,
    /// The window (and receive buffer) of each channel.
    window: u32,
    /// Opens refused while sending was not possible: (peer id, why), owed in order.
    refusals: heapless::Deque<(u32, Refusal), 16>,
}

impl Channels {
    /// A table of `count` closed channels, or `None` when the memory is not there.
    pub fn try_new(count: usize, window: u32) -> Option<Self> {
        let mut chans = super::budget::try_vec(count)?;
        chans.resize_with(count, Channel::new);
        Some(Channels {
            chans: chans.into_boxed_slice(),
            window,
            refusals: heapless::Deque::new(),
        })
    }

    /// Bytes of the table itself (allocated with the connection).
    pub fn table_bytes(count: usize) -> usize {
        count * core::mem::size_of::<Channel>()
    }

    /// Bytes of receive buffer held by open channels.
    pub fn buffer_bytes(&self) -> usize {
        self.chans.iter().map(Channel::buffer_len).sum()
    }

    pub fn get(&mut self, ch: usize) -> Option<&mut Channel> {
        self.chans.get_mut(ch).filter(|c| c.open)
    }

    /// Handles one connection-protocol message (80..=127 other than global requests).
    pub fn handle(&mut self, payload: &[u8], host: &mut dyn SessionHost) -> Result<(), ChanError> {
        let mut r = Reader::new(payload);
        let n = r.u8()?;
        if n == msg::CHANNEL_OPEN {
            return self.open(&mut r, host);
        }
        let id = r.u32()? as usize;
        let ch = self
            .chans
            .get_mut(id)
            .filter(|c| c.open)
            .ok_or(ChanError::Malformed)?;
        if ch.open_out == Flag::Sent {
            // A channel we opened: only the client's answer may come first.
            return match n {
                msg::CHANNEL_OPEN_CONFIRMATION => {
                    ch.peer_id = r.u32()?;
                    ch.peer_window = r.u32()?;
                    ch.peer_max = r.u32()?.min(MAX_CHANNEL_PACKET);
                    ch.open_out = Flag::No;
                    ch.confirm = Flag::Sent;
                    Ok(())
                }
                msg::CHANNEL_OPEN_FAILURE => {
                    ch.open_out = Flag::No;
                    ch.release(host);
                    host.channel_freed(id);
                    Ok(())
                }
                _ => Err(ChanError::Malformed),
            };
        }
        match n {
            msg::CHANNEL_DATA => ch.data(r.string()?),
            msg::CHANNEL_EXTENDED_DATA => {
                // Nothing in a session reads client stderr; it only uses up window.
                let _code = r.u32()?;
                let d = r.string()?;
                if d.len() > ch.window as usize {
                    return Err(ChanError::WindowExceeded);
                }
                Ok(())
            }
            msg::CHANNEL_WINDOW_ADJUST => {
                let add = r.u32()?;
                // RFC 4254 §5.2: the window may not exceed 2^32 - 1.
                ch.peer_window = ch
                    .peer_window
                    .checked_add(add)
                    .ok_or(ChanError::WindowExceeded)?;
                Ok(())
            }
            msg::CHANNEL_EOF => {
                ch.eof_in = true;
                Ok(())
            }
            msg::CHANNEL_CLOSE => {
                ch.close_in = true;
                if ch.close_out == Flag::No {
                    ch.close_out = Flag::Want;
                }
                Ok(())
            }
            msg::CHANNEL_REQUEST => ch.request(id, &mut r, host),
            // We never send requests that want replies, so a reply is out of order.
            _ => Err(ChanError::Malformed),
        }
    }

    fn open(&mut self, r: &mut Reader, host: &mut dyn SessionHost) -> Result<(), ChanError> {
        let kind = r.string()?;
        let peer_id = r.u32()?;
        let window = r.u32()?;
        let max = r.u32()?;
        let free = self.chans.iter().position(|c| !c.open);
        // Slice equality (a bcmp call), not byte-string patterns, which compile to a
        // byte-by-byte decision tree.
        let session = kind == b"session";
        let why = match free {
            _ if !session && kind != b"direct-tcpip" => Refusal::UnknownType,
            None => Refusal::TooMany,
            Some(i) if session => match host.window_buffer("session", self.window as usize) {
                Some(buf) => {
                    self.chans[i].reset(Kind::Session, peer_id, window, max, buf);
                    return Ok(());
                }
                None => Refusal::NoMemory,
            },
            Some(i) => {
                let req = DirectTcpip {
                    host: r.text()?,
                    port: r.u32()?,
                    originator: r.text()?,
                    originator_port: r.u32()?,
                };
                // The buffer first: without memory no connection is started.
                match host.window_buffer("direct-tcpip", self.window as usize) {
                    Some(buf) => {
                        let c = &mut self.chans[i];
                        c.reset(Kind::Stream, peer_id, window, max, buf);
                        c.hold_confirmation();
                        if host.open_direct_tcpip(i, &req) {
                            return Ok(());
                        }
                        c.release(host);
                        Refusal::Prohibited
                    }
                    None => Refusal::NoMemory,
                }
            }
        };
        self.refuse(peer_id, why)
    }

    fn refuse(&mut self, peer_id: u32, why: Refusal) -> Result<(), ChanError> {
        self.refusals
            .push_back((peer_id, why))
            .map_err(|_| ChanError::TooManyReplies)
    }

    /// The edge's answer to `open_direct_tcpip`: confirm, or refuse with CONNECT_FAILED.
    pub fn open_result(
        &mut self,
        ch: usize,
        ok: bool,
        host: &mut dyn SessionHost,
    ) -> Result<(), ChanError> {
        let Some(c) = self
            .chans
            .get_mut(ch)
            .filter(|c| c.open && c.confirm == Flag::No)
        else {
            return Ok(());
        };
        if ok {
            c.confirm = Flag::Want;
            return Ok(());
        }
        c.release(host);
        let id = c.peer_id;
        self.refuse(id, Refusal::ConnectFailed)
    }

    /// Opens a channel towards the client; `None` when the table is full or the edge has no
    /// memory for its buffer.
    pub fn open_outgoing(&mut self, what: &Outgoing, host: &mut dyn SessionHost) -> Option<usize> {
        let i = self.chans.iter().position(|c| !c.open)?;
        let window = self.window;
        let mut body = [0u8; 300];
        let mut w = Writer::new(&mut body);
        let r = (|| -> Result<&'static str, WireError> {
            match what {
                Outgoing::ForwardedTcpip {
                    address,
                    port,
                    originator,
                    originator_port,
                } => {
                    w.string(b"forwarded-tcpip")?;
                    w.u32(i as u32)?;
                    w.u32(window)?;
                    w.u32(MAX_CHANNEL_PACKET)?;
                    w.string(address.as_bytes())?;
                    w.u32(*port)?;
                    w.string(originator.as_bytes())?;
                    w.u32(*originator_port)?;
                    Ok("forwarded-tcpip")
                }
                Outgoing::Agent => {
                    w.string(b"auth-agent@openssh.com")?;
                    w.u32(i as u32)?;
                    w.u32(window)?;
                    w.u32(MAX_CHANNEL_PACKET)?;
                    Ok("auth-agent@openssh.com")
                }
            }
        })();
        let kind = r.ok()?;
        let buf = host.window_buffer(kind, window as usize)?;
        let c = &mut self.chans[i];
        c.reset(Kind::Stream, 0, 0, 0, buf);
        c.confirm = Flag::No;
        if c.open_msg.extend_from_slice(w.written()).is_err() {
            c.release(host);
            return None;
        }
        c.open_out = Flag::Want;
        Some(i)
    }

    /// Writes everything owed, as room allows; frees finished channels.
    pub fn emit(
        &mut self,
        out: &mut Output,
        pad: u8,
        host: &mut dyn SessionHost,
    ) -> Result<(), WireError> {
        while let Some(&(id, why)) = self.refusals.front() {
            out.packet(pad, |w| {
                w.u8(msg::CHANNEL_OPEN_FAILURE)?;
                w.u32(id)?;
                w.u32(why.code())?;
                w.string(why.text())?;
                w.string(b"")
            })?;
            self.refusals.pop_front();
        }
        for (i, c) in self.chans.iter_mut().enumerate() {
            if c.emit(i, out, pad)? {
                c.release(host);
                host.channel_freed(i);
            }
        }
        Ok(())
    }
}
