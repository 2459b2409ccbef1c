//! One channel: its receive buffer (the window it advertises), the peer's window, and what
//! it owes the peer as flags written out by `emit` in the order RFC 4254 wants (confirmation,
//! request replies, window adjust, EOF, exit status, CLOSE).

use super::{Buffers, ChanError, ExitInfo, Kind, PtyReq};
use crate::proto::limits::{MAX_CHANNEL_PACKET, MAX_WINDOW};
use crate::proto::msg;
use crate::proto::packet::Output;
use crate::proto::wire::{WireError, Writer};

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

    /// No room for another reply (`push` would fail).
    pub fn full(&self) -> bool {
        self.count >= 32
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Flag {
    No,
    Want,
    Sent,
}

/// Accepted `env` pairs, `NAME=value` entries each ended by a NUL byte.
pub(super) type Env = heapless::Vec<u8, 1024>;

#[cfg_attr(any(test, feature = "fuzzing"), derive(Clone))]
pub struct Channel {
    pub open: bool,
    pub kind: Kind,
    /// For a channel we opened: the CHANNEL_OPEN still owed (type and extra data), or sent and
    /// awaiting the client's answer.
    pub(super) open_out: Flag,
    pub(super) open_msg: heapless::Vec<u8, 300>,
    pub(super) peer_id: u32,
    pub(super) peer_window: u32,
    pub(super) peer_max: u32,
    /// Client-to-process bytes in `buf[head..tail]`; `buf` is the window's worth, from the
    /// edge while the channel is open, empty while it is not.
    pub(super) buf: Box<[u8]>,
    pub(super) head: usize,
    pub(super) tail: usize,
    /// `buf`'s length when the channel opened; it doubles while the window limits an upload
    /// (`data`), up to `MAX_WINDOW`.
    pub(super) first: u32,
    /// Bytes the peer may still send.
    pub(super) window: u32,
    pub(super) eof_in: bool,
    pub(super) close_in: bool,
    pub(super) started: bool,
    /// The session's pty and env requests, boxed when they come: a table of channels that
    /// held them inline was 2.5 KB a channel, written in full for every connection.
    pub pty: Option<Box<PtyReq>>,
    pub(super) env: Option<Box<Env>>,
    pub(super) env_count: usize,
    pub(super) confirm: Flag,
    pub(super) replies: Replies,
    pub(super) eof_out: Flag,
    pub(super) exit: Option<ExitInfo>,
    pub(super) exit_sent: bool,
    pub(super) close_out: Flag,
    /// Closed, and the edge not yet told (`Event::ChannelGone`): the slot is not reused
    /// until it is.
    pub(super) gone: bool,
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
            first: 0,
            window: 0,
            eof_in: false,
            close_in: false,
            started: false,
            pty: None,
            env: None,
            env_count: 0,
            confirm: Flag::No,
            replies: Replies::default(),
            eof_out: Flag::No,
            exit: None,
            exit_sent: false,
            close_out: Flag::No,
            gone: false,
        }
    }

    /// Opens the channel with its receive buffer (the window it advertises).
    pub(super) fn reset(
        &mut self,
        kind: Kind,
        peer_id: u32,
        peer_window: u32,
        peer_max: u32,
        buf: Box<[u8]>,
    ) {
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
        self.first = self.window;
        self.confirm = Flag::Want;
    }

    /// Closes the channel and hands its buffer back to the edge.
    pub(super) fn release(&mut self, host: &mut dyn Buffers) {
        self.open = false;
        let grown = self.grown_len();
        host.window_freed(core::mem::take(&mut self.buf), grown);
    }

    /// Bytes of receive buffer held (0 when closed).
    pub fn buffer_len(&self) -> usize {
        self.buf.len()
    }

    /// ... beyond its first size.
    pub fn grown_len(&self) -> usize {
        self.buf.len().saturating_sub(self.first as usize)
    }

    /// A client-opened stream channel waits for the edge's connect before it is confirmed.
    pub(super) fn hold_confirmation(&mut self) {
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

    /// The receive buffer when it has one and holds nothing; its contents may then change.
    pub(super) fn spare(&mut self) -> Option<&mut [u8]> {
        (!self.buf.is_empty() && self.head == self.tail).then_some(&mut self.buf[..])
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

    pub(super) fn data(
        &mut self,
        index: usize,
        data: &[u8],
        host: &mut dyn Buffers,
    ) -> Result<(), ChanError> {
        if self.eof_in || self.close_in {
            return Err(ChanError::AfterClose);
        }
        if data.len() > self.window as usize || data.len() > MAX_CHANNEL_PACKET as usize {
            return Err(ChanError::WindowExceeded);
        }
        self.window -= data.len() as u32;
        // Nothing buffered before it: the edge may write it on at once, and only what its
        // sink leaves is copied (in order, since the buffer was empty).
        let taken = if self.head == self.tail {
            host.deliver(index, data).min(data.len())
        } else {
            0
        };
        let rest = &data[taken..];
        if self.buf.len() - self.tail < rest.len() {
            self.buf.copy_within(self.head..self.tail, 0);
            self.tail -= self.head;
            self.head = 0;
        }
        // Invariant: buffered + window <= capacity, so this fits.
        self.buf[self.tail..self.tail + rest.len()].copy_from_slice(rest);
        self.tail += rest.len();
        // The process took everything at once as the client used up half its window (the
        // adjustment is due): the window, not the process, holds the upload back.
        let half = self.buf.len() / 2;
        if self.head == self.tail
            && self.window as usize <= half
            && self.window as usize + data.len() > half
        {
            self.grow(host);
        }
        Ok(())
    }

    /// Twice the receive buffer (so twice the window the next adjustment grants), if the edge
    /// has the memory to spare; the buffer holds nothing, so nothing is copied.
    fn grow(&mut self, host: &mut dyn Buffers) {
        let cap = self.buf.len();
        let want = cap.saturating_mul(2).min(MAX_WINDOW as usize);
        if want <= cap {
            return;
        }
        let old = core::mem::take(&mut self.buf);
        self.buf = host.grow_window(old, want).unwrap_or_else(|old| old);
        self.head = 0;
        self.tail = 0;
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
}

impl Channel {
    /// Writes what this channel owes the peer, as far as output room allows. Returns true when
    /// the channel is finished (CLOSE both ways) and can be freed.
    pub(super) fn emit(
        &mut self,
        index: usize,
        out: &mut Output,
        pad: u8,
    ) -> Result<bool, WireError> {
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
