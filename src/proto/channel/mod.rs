//! Channels (RFC 4254 §5-7): the table of one connection, opens both ways and refusals.
//! One channel's buffer, windows and what it owes are in `chan.rs`; its requests (and the
//! ones that wait for the edge) in `request.rs`.
//!
//! What a channel owes the peer (a confirmation, request replies, a window adjust, EOF, exit
//! status, CLOSE) is kept as state and written by `emit` when sending is allowed (not during a
//! key exchange, output room available). So nothing is lost when it cannot be sent at once, and
//! nothing needs a queue that could grow.
//!
//! A channel's receive buffer is exactly the window it advertises. It is asked of the edge
//! (`Buffers::window_buffer`, counted against the daemon's memory budget) when the channel
//! opens and handed back (`window_freed`) when it closes; an open the edge has no memory for
//! is refused with RESOURCE_SHORTAGE. While the process takes every byte at once and the
//! client still uses up its window, the window, not the process, limits the upload: the
//! buffer then doubles (`grow_window`, up to `MAX_WINDOW`) if the edge has memory to spare,
//! and the next adjustment grants the larger window. It shrinks only when the channel closes,
//! since a granted window cannot be taken back.

mod chan;
mod request;

pub use chan::{Channel, Replies};
pub use request::{Asked, SessionStart, Wait};

use super::limits::{MAX_CHANNEL_PACKET, MAX_TERM, MAX_TERM_MODES};
use super::msg;
use super::packet::Output;
use super::wire::{Reader, WireError, Writer};
use chan::Flag;

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

/// What a channel carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A shell, command or subsystem with its requests.
    Session,
    /// Plain bytes to and from a socket: direct-tcpip, forwarded-tcpip, agent.
    Stream,
}

/// A client's `direct-tcpip` open (RFC 4254 §7.2).
#[derive(Clone, Copy)]
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

/// Where channel receive buffers come from: the edge's memory budget. A service, not a
/// decision: answered at once, so it stays a call.
pub trait Buffers {
    /// The receive buffer (`bytes` long, zeroed) of a channel being opened; `kind` names the
    /// channel type for the edge's log. `None` refuses the channel with RESOURCE_SHORTAGE.
    fn window_buffer(&mut self, kind: &str, bytes: usize) -> Option<Box<[u8]>>;
    /// A buffer from `window_buffer` or `grow_window` comes back: its channel is closed.
    /// `grown` is how far it had grown past its first size.
    fn window_freed(&mut self, buf: Box<[u8]>, grown: usize);
    /// A receive buffer of `bytes` (zeroed) for a channel whose window limits its input, in
    /// place of `old`, which holds nothing and is given back here on success (`Err` hands it
    /// back to keep). The default grows nothing.
    fn grow_window(&mut self, old: Box<[u8]>, _bytes: usize) -> Result<Box<[u8]>, Box<[u8]>> {
        Err(old)
    }
    /// Channel `ch`'s data straight from the packet, offered while nothing of the channel
    /// waits in its buffer: the edge writes what its sink takes at once and says how many
    /// bytes that was; the rest is buffered as usual. Saves copying every byte a client
    /// uploads when the process keeps up. The default takes nothing.
    fn deliver(&mut self, _ch: usize, _data: &[u8]) -> usize {
        0
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

/// Why a channel open was refused: the reason code and the text the client shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Refusal {
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
    /// A channel's state is boxed the first time its number is used (most connections use
    /// one), so a connection's table costs a pointer a channel until then.
    chans: Box<[Option<Box<Channel>>]>,
    /// The window (and receive buffer) of each channel.
    window: u32,
    /// Opens refused while sending was not possible: (peer id, why), owed in order.
    refusals: heapless::Deque<(u32, Refusal), 16>,
}

impl Channels {
    /// A table of `count` closed channels, or `None` when the memory is not there.
    pub fn try_new(count: usize, window: u32) -> Option<Self> {
        let mut chans = super::budget::try_vec(count)?;
        chans.resize_with(count, || None);
        Some(Channels {
            chans: chans.into_boxed_slice(),
            window,
            refusals: heapless::Deque::new(),
        })
    }

    /// How many channels the connection may have.
    pub fn capacity(&self) -> usize {
        self.chans.len()
    }

    /// Channel `ch`, if its number was ever used.
    pub fn slot(&self, ch: usize) -> Option<&Channel> {
        self.chans.get(ch)?.as_deref()
    }

    fn slot_mut(&mut self, ch: usize) -> Option<&mut Channel> {
        self.chans.get_mut(ch)?.as_deref_mut()
    }

    /// Channel `i` (a free slot's number) to be opened, boxed on its first use.
    fn claim(&mut self, i: usize) -> &mut Channel {
        self.chans[i].get_or_insert_with(|| Box::new(Channel::new()))
    }

    /// Bytes of the table (allocated with the connection) and of what each channel may box
    /// later (a pty request, env pairs), counted up front so the budget stays a bound.
    pub fn table_bytes(count: usize) -> usize {
        count
            * (core::mem::size_of::<Channel>()
                + core::mem::size_of::<PtyReq>()
                + core::mem::size_of::<chan::Env>())
    }

    /// Hands `release` the receive buffer of each open channel that holds nothing
    /// (`Conn::spare`).
    pub(crate) fn spare(&mut self, release: &mut dyn FnMut(&mut [u8])) {
        for c in self.chans.iter_mut().flatten() {
            if let Some(b) = c.spare() {
                release(b);
            }
        }
    }

    /// Bytes of receive buffer held by open channels.
    pub fn buffer_bytes(&self) -> usize {
        self.chans.iter().flatten().map(|c| c.buffer_len()).sum()
    }

    /// ... of which their buffers have grown past their first size.
    pub fn grown_bytes(&self) -> usize {
        self.chans.iter().flatten().map(|c| c.grown_len()).sum()
    }

    pub fn get(&mut self, ch: usize) -> Option<&mut Channel> {
        self.slot_mut(ch).filter(|c| c.open)
    }

    /// Handles one connection-protocol message (80..=127 other than global requests).
    /// `Some`: the packet waits for the edge (`asked` names what, `resume` takes the answer).
    pub fn handle(
        &mut self,
        payload: &[u8],
        host: &mut dyn Buffers,
    ) -> Result<Option<Wait>, ChanError> {
        let mut r = Reader::new(payload);
        let n = r.u8()?;
        if n == msg::CHANNEL_OPEN {
            return self.open(&mut r, host);
        }
        let id = r.u32()? as usize;
        let ch = self
            .slot_mut(id)
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
                    Ok(None)
                }
                msg::CHANNEL_OPEN_FAILURE => {
                    ch.open_out = Flag::No;
                    ch.release(host);
                    ch.gone = true;
                    Ok(None)
                }
                _ => Err(ChanError::Malformed),
            };
        }
        let done = match n {
            msg::CHANNEL_REQUEST => return ch.request(id, &mut r),
            msg::CHANNEL_DATA => ch.data(id, r.string()?, host),
            msg::CHANNEL_EXTENDED_DATA => {
                // Nothing in a session reads client stderr; it only uses up window, which
                // is granted again at once (the bytes take no room in the buffer).
                let _code = r.u32()?;
                let d = r.string()?;
                if d.len() > ch.window as usize {
                    return Err(ChanError::WindowExceeded);
                }
                ch.window -= d.len() as u32;
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
            // We never send requests that want replies, so a reply is out of order.
            _ => Err(ChanError::Malformed),
        };
        done.map(|_| None)
    }

    fn open(&mut self, r: &mut Reader, host: &mut dyn Buffers) -> Result<Option<Wait>, ChanError> {
        let kind = r.string()?;
        let peer_id = r.u32()?;
        let window = r.u32()?;
        let max = r.u32()?;
        let free = self.free_slot();
        // Slice equality (a bcmp call), not byte-string patterns, which compile to a
        // byte-by-byte decision tree.
        let session = kind == b"session";
        let why = match free {
            _ if !session && kind != b"direct-tcpip" => Refusal::UnknownType,
            None => Refusal::TooMany,
            Some(i) if session => match host.window_buffer("session", self.window as usize) {
                Some(buf) => {
                    self.claim(i)
                        .reset(Kind::Session, peer_id, window, max, buf);
                    return Ok(None);
                }
                None => Refusal::NoMemory,
            },
            Some(i) => {
                // Well formed, or no buffer is taken (`asked` re-reads these fields).
                r.text()?;
                r.u32()?;
                r.text()?;
                r.u32()?;
                // The buffer first: without memory the edge is not asked to connect.
                match host.window_buffer("direct-tcpip", self.window as usize) {
                    Some(buf) => {
                        let c = self.claim(i);
                        c.reset(Kind::Stream, peer_id, window, max, buf);
                        c.hold_confirmation();
                        return Ok(Some(Wait::DirectTcpip(i)));
                    }
                    None => Refusal::NoMemory,
                }
            }
        };
        self.refuse(peer_id, why).map(|_| None)
    }

    /// A closed channel the edge has been told about (or that was never told anything).
    fn free_slot(&self) -> Option<usize> {
        self.chans
            .iter()
            .position(|c| c.as_deref().is_none_or(|c| !c.open && !c.gone))
    }

    /// The first channel gone whose end the edge still holds (`Event::ChannelGone`).
    pub fn gone(&self) -> Option<usize> {
        self.chans
            .iter()
            .position(|c| c.as_deref().is_some_and(|c| c.gone))
    }

    /// The edge has let go of channel `ch`'s end: its slot may be used again.
    pub fn forget(&mut self, ch: usize) {
        if let Some(c) = self.slot_mut(ch) {
            c.gone = false;
        }
    }

    fn refuse(&mut self, peer_id: u32, why: Refusal) -> Result<(), ChanError> {
        self.refusals
            .push_back((peer_id, why))
            .map_err(|_| ChanError::TooManyReplies)
    }

    /// How the connect started for a held `direct-tcpip` open went: confirm, or refuse with
    /// CONNECT_FAILED.
    pub fn open_result(
        &mut self,
        ch: usize,
        ok: bool,
        host: &mut dyn Buffers,
    ) -> Result<(), ChanError> {
        let Some(c) = self
            .slot_mut(ch)
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
    pub fn open_outgoing(&mut self, what: &Outgoing, host: &mut dyn Buffers) -> Option<usize> {
        let i = self.free_slot()?;
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
        let c = self.claim(i);
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
        host: &mut dyn Buffers,
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
            let Some(c) = c.as_deref_mut() else { continue };
            if c.emit(i, out, pad)? {
                c.release(host);
                c.gone = true;
            }
        }
        Ok(())
    }
}
