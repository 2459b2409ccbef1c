//! One connection: version exchange, transport, key exchange, authentication and channels
//! glued together. Bytes in through `input_space`/`received`, bytes out through
//! `output`/`output_sent`, decisions out as events (`event`, answered by `resume_auth` and
//! `resume`), services through `Host`, time through `now` (milliseconds from any fixed start).
//!
//! `Conn` is its two buffers beside the protocol state (`State`): a packet handler borrows the
//! payload from the input buffer, writes replies into the output buffer and changes the state,
//! three disjoint borrows. The handlers are in `transport.rs` (version line, key exchange)
//! and `userauth.rs` (the `ssh-userauth` service); beside them `events.rs` (what waits for
//! the edge), `channel_io.rs` (channel data for the edge) and `timers.rs` (rekeying,
//! keepalives, `-I`/`-M`).

mod channel_io;
mod events;
#[cfg(test)]
mod size_tests;
mod timers;
mod transport;
mod userauth;

pub use events::{Answer, Event};
pub use transport::refusal;

use super::auth::{self, Auth};
use super::budget::{Budget, Shortage};
use super::channel::{self, Buffers, Channels};
use super::crypto::{ED25519_BLOB_LEN, ED25519_SIG_BLOB_LEN};
use super::kex::{self, ExchangeHash, OurInit};
use super::limits::{self, MAX_VERSION_LINE};
use super::msg::{self, reason};
use super::packet::{Input, Output, PacketError};
use super::wire::{Reader, WireError};

pub const SERVER_VERSION: &str = concat!("SSH-2.0-quoll_", env!("CARGO_PKG_VERSION"));

/// Output room kept free for replies to one input packet, so that handling a packet never
/// fails for lack of space (the largest reply is the mlkem768x25519 kex reply with NEWKEYS
/// and EXT_INFO, about 1,350 bytes).
const RESERVE: usize = 2048;

/// The services the core calls for while it handles a packet: randomness, the host key and
/// its signature, the banner, and channel buffers from the memory budget (`Buffers`). None of
/// them is a decision about the peer, each is answered at once, and the key exchange needs
/// them in the middle of a handler; decisions are events instead (`Conn::event`).
pub trait Host: Buffers {
    fn random(&mut self, buf: &mut [u8]);
    fn host_key_blob(&self) -> [u8; ED25519_BLOB_LEN];
    fn sign(&mut self, data: &[u8]) -> [u8; ED25519_SIG_BLOB_LEN];
    /// The `-b` banner, sent before authentication (empty: none).
    fn banner(&self) -> &[u8] {
        &[]
    }
}

/// The answer to a global request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GlobalReply {
    Failure,
    Success,
    /// Success carrying the port that was bound (`tcpip-forward` for port 0).
    Port(u32),
}

/// Per-connection settings.
#[derive(Debug, Clone, Copy)]
pub struct Params {
    pub window: u32,
    pub max_channels: usize,
    pub max_auth_tries: u32,
    /// Start a key exchange after this many bytes in either direction ...
    pub rekey_bytes: u64,
    /// ... or this many seconds.
    pub rekey_secs: u64,
    /// Which authentication methods are offered.
    pub auth: auth::Policy,
    /// Timers in seconds (0: off), from `-K`, `-I`, `-M`.
    pub timers: Timers,
}

/// Connection timers (Dropbear's `-K`, `-I`, `-M`), in seconds; 0 turns one off.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Timers {
    /// After this much silence from the client, send `keepalive@openssh.com`; after
    /// `KEEPALIVE_MAX_MISSED` unanswered ones, disconnect.
    pub keepalive: u64,
    /// Disconnect after this long without traffic (anything but keepalives and IGNORE).
    pub idle: u64,
    /// Disconnect this long after the connection started.
    pub max_session: u64,
}

/// Why a connection ended; `reason` is the SSH disconnect code sent (if any).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Disconnect {
    pub reason: u32,
    pub text: &'static str,
}

fn fail(reason: u32, text: &'static str) -> Disconnect {
    Disconnect { reason, text }
}

fn no_space(_: WireError) -> Disconnect {
    fail(reason::BY_APPLICATION, "output buffer full")
}

#[cfg_attr(any(test, feature = "fuzzing"), derive(Clone))]
enum KexState {
    /// Keys in force, no exchange running.
    Idle,
    /// We sent KEXINIT and wait for the client's.
    SentInit(Box<OurInit>),
    /// Both KEXINITs seen; waiting for KEX_ECDH_INIT.
    AwaitEcdh(Box<ExchangeHash>, kex::Negotiated),
    /// We sent our reply and NEWKEYS; the client's NEWKEYS switches its direction.
    AwaitNewKeys(Box<super::cipher::Cipher>),
}

/// What a held packet waits for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Wait {
    /// An authentication question (`Event::Auth`).
    Auth,
    /// An authentication attempt the core finished alone, for the edge to log.
    AuthReport(auth::Outcome, auth::Attempt),
    /// A global request (`tcpip-forward`, `cancel-tcpip-forward`, ...).
    Global,
    /// A channel open or request.
    Channel(channel::Wait),
}

/// A packet left in place in the input buffer (its payload range) until the edge answers.
#[derive(Debug, Clone, Copy)]
struct Held {
    // Fits: offsets into the input buffer (two packets).
    start: u32,
    end: u32,
    wait: Wait,
}

/// What handling one packet led to.
enum Flow {
    Next,
    /// The client's NEWKEYS: the caller switches the input to this cipher after consuming it.
    NewKeys(Box<super::cipher::Cipher>),
    /// The packet waits for the edge, unconsumed.
    Hold(Wait),
}

#[cfg_attr(any(test, feature = "fuzzing"), derive(Clone))]
pub struct Conn {
    input: Input,
    output: Output,
    st: State,
}

/// A connection's protocol state: everything but its buffers.
#[cfg_attr(any(test, feature = "fuzzing"), derive(Clone))]
struct State {
    /// Client version line without CR LF, once read.
    v_c: heapless::Vec<u8, MAX_VERSION_LINE>,
    version_done: bool,
    preamble: usize,
    kex: KexState,
    /// Set once the first exchange completed.
    session_id: Option<[u8; 32]>,
    strict: bool,
    ext_info: bool,
    ignore_next_kex: bool,
    kex_started_at: u64,
    service: bool,
    auth: Auth,
    channels: Channels,
    global_replies: heapless::Deque<GlobalReply, 16>,
    closing: Option<Disconnect>,
    rekey_bytes: u64,
    rekey_secs: u64,
    timers: Timers,
    started_at: u64,
    /// When the client last sent anything, and keepalives sent since.
    last_rx: u64,
    keepalives_missed: u32,
    /// When traffic last went either way (for `-I`).
    last_activity: u64,
    /// Channel data went out since the last `tick` (which timestamps it).
    sent_data: bool,
    /// When bytes last went through the socket either way: `io_seen` marks traffic since the
    /// last `spare`, which timestamps it; `spared` that the buffers were handed back since.
    last_io: u64,
    io_seen: bool,
    spared: bool,
    /// The packet that waits for the edge's answer (`event` / `resume`); nothing is read or
    /// handled meanwhile.
    held: Option<Held>,
}

impl Conn {
    /// Failed authentication attempts so far (the daemon's penalties count them).
    pub fn auth_failures(&self) -> u32 {
        self.st.auth.failures()
    }

    /// The authentication state, for the connection tests.
    #[cfg(test)]
    pub(super) fn auth(&self) -> &Auth {
        &self.st.auth
    }

    /// Allocates the connection's fixed buffers (`fixed_bytes`), counted against `budget`;
    /// channel buffers come later, one per channel as it opens. `Err` when the budget or the
    /// system has no room for them: nothing is then held.
    pub fn try_new(p: Params, now: u64, budget: &mut Budget) -> Result<Box<Conn>, Shortage> {
        let fixed = Self::fixed_bytes(p.max_channels);
        budget.take(fixed)?;
        let parts = (|| {
            Some((
                budget.alloc_taken(super::packet::INPUT_BUFFER)?,
                budget.alloc_taken(limits::OUTPUT_BUFFER)?,
                Channels::try_new(p.max_channels, p.window)?,
            ))
        })();
        let Some((input, output, channels)) = parts else {
            budget.give(fixed);
            return Err(Shortage::System);
        };
        // The `Conn` itself is small (see `fixed_bytes`); its buffers are the parts above.
        Ok(Box::new(Conn {
            input: Input::with_buffer(input),
            output: Output::with_buffer(output),
            st: State {
                v_c: heapless::Vec::new(),
                version_done: false,
                preamble: 0,
                kex: KexState::Idle,
                session_id: None,
                strict: false,
                ext_info: false,
                ignore_next_kex: false,
                kex_started_at: now,
                service: false,
                auth: Auth::new(p.max_auth_tries, p.auth),
                channels,
                global_replies: heapless::Deque::new(),
                closing: None,
                rekey_bytes: p.rekey_bytes,
                rekey_secs: p.rekey_secs,
                timers: p.timers,
                started_at: now,
                last_rx: now,
                keepalives_missed: 0,
                last_activity: now,
                sent_data: false,
                last_io: now,
                io_seen: false,
                spared: false,
                held: None,
            },
        }))
    }

    /// Ends the connection's hold on the budget: its fixed buffers and the window buffers of
    /// channels still open.
    pub fn free(self: Box<Self>, budget: &mut Budget) {
        budget.ungrow(self.grown_bytes());
        budget.give(self.held_bytes());
    }

    /// Bytes its channels' windows have grown past their first size (counted in `held_bytes`).
    pub fn grown_bytes(&self) -> usize {
        self.st.channels.grown_bytes()
    }

    /// Bytes this connection holds against the budget.
    pub fn held_bytes(&self) -> usize {
        Self::fixed_bytes(self.st.channels.capacity()) + self.st.channels.buffer_bytes()
    }

    /// Bytes a connection holds from accept to close: the `Conn` itself, its input and output
    /// buffers and its channel table. Each open channel adds its window (`Params::window`).
    pub fn fixed_bytes(max_channels: usize) -> usize {
        core::mem::size_of::<Conn>()
            + super::packet::INPUT_BUFFER
            + limits::OUTPUT_BUFFER
            + Channels::table_bytes(max_channels)
    }

    /// Queues our version line and KEXINIT (the server speaks first, as OpenSSH does).
    pub fn start(&mut self, host: &mut dyn Host) {
        let _ = self.output.raw(SERVER_VERSION.as_bytes());
        let _ = self.output.raw(b"\r\n");
        self.st.send_kexinit(&mut self.output, host);
    }

    pub fn authenticated(&self) -> bool {
        self.st.auth.done
    }

    /// The first key exchange is done (our NEWKEYS sent): the client did its share of it.
    pub fn kex_done(&self) -> bool {
        self.st.session_id.is_some()
    }

    /// The connection is over: flush `output()` and close.
    pub fn closing(&self) -> Option<Disconnect> {
        self.st.closing
    }

    /// Whether the edge should read the socket now (false while replies cannot be written,
    /// and while an event waits for the edge).
    pub fn wants_input(&self) -> bool {
        self.st.closing.is_none() && self.output.room() >= RESERVE && !self.st.waiting()
    }

    /// Everything in the input buffer, for tests that look for leftovers.
    #[cfg(test)]
    pub(crate) fn input_bytes(&self) -> &[u8] {
        self.input.all()
    }

    pub fn input_space(&mut self) -> &mut [u8] {
        // While a packet is held its payload must stay where `held` says: no compaction.
        if self.st.held.is_some() {
            return &mut [];
        }
        self.input.space()
    }

    pub fn output(&self) -> &[u8] {
        self.output.pending()
    }

    pub fn output_sent(&mut self, n: usize) {
        self.output.sent(n);
        self.st.io_seen |= n > 0;
    }

    /// The peer closed its side of the socket.
    pub fn peer_closed(&mut self) {
        if self.st.closing.is_none() {
            self.st.closing = Some(fail(reason::CONNECTION_LOST, "connection closed by peer"));
        }
    }

    /// Ends the connection with a DISCONNECT message (as far as output room allows).
    pub fn disconnect(&mut self, d: Disconnect) {
        self.st.disconnect(&mut self.output, d)
    }

    /// Handles `n` bytes the edge put into `input_space()`.
    pub fn received(&mut self, n: usize, host: &mut dyn Host, now: u64) {
        self.input.filled(n);
        if n > 0 {
            self.st.last_rx = now;
            self.st.keepalives_missed = 0;
            self.st.io_seen = true;
        }
        self.go_on(host, now);
    }

    /// Handles what the input buffer holds, as far as it may now.
    fn go_on(&mut self, host: &mut dyn Host, now: u64) {
        if let Err(d) = self.process(host, now) {
            self.disconnect(d);
        }
    }

    fn process(&mut self, host: &mut dyn Host, now: u64) -> Result<(), Disconnect> {
        if !self.st.version_done {
            self.st.read_version(&mut self.input)?;
        }
        while self.st.version_done
            && self.st.closing.is_none()
            && self.output.room() >= RESERVE
            && self.st.auth.reply_due.is_none()
            && !self.st.waiting()
        {
            let (a, b) = match self.input.next_packet() {
                Ok(Some(r)) => r,
                Ok(None) => break,
                Err(PacketError::BadMac) => {
                    return Err(fail(
                        reason::MAC_ERROR,
                        "message authentication code incorrect",
                    ))
                }
                Err(PacketError::BadLength) => {
                    return Err(fail(reason::PROTOCOL_ERROR, "bad packet length"))
                }
            };
            let seq = self.input.seq;
            // The payload stays in place; the handler borrows it beside the other parts.
            let payload = &self.input.payload_buf()[a..b];
            let result = self.st.dispatch(&mut self.output, payload, seq, host, now);
            if let Ok(Flow::Hold(wait)) = result {
                self.st.held = Some(Held {
                    start: a as u32,
                    end: b as u32,
                    wait,
                });
                // Its handler parsed it, so it names its event; were it ever not to, the
                // connection would wait for an answer nobody is asked for. A report always
                // has one, and is not built here only to be dropped (it fingerprints the key).
                if !matches!(wait, Wait::AuthReport(..)) && self.event().is_none() {
                    return Err(fail(reason::PROTOCOL_ERROR, "malformed request"));
                }
                break;
            }
            let kind = self.input.payload_buf()[a];
            if matches!(kind, msg::USERAUTH_REQUEST | auth::INFO_RESPONSE) {
                // It may hold a password: leave no copy in the buffer, also when handling it
                // failed and the connection is about to close.
                self.input.wipe(a..b);
            }
            let flow = result?;
            if !matches!(
                kind,
                msg::IGNORE | msg::REQUEST_SUCCESS | msg::REQUEST_FAILURE
            ) {
                self.st.last_activity = now;
            }
            self.input.consume_packet();
            if let Flow::NewKeys(c2s) = flow {
                self.input.set_cipher(*c2s);
                if self.st.strict {
                    self.input.seq = 0;
                }
                self.input.counters = Default::default();
            } else if self.st.session_id.is_none() && self.input.seq == 0 {
                // Wrapped before the first exchange finished (strict kex requires the check).
                return Err(fail(
                    reason::PROTOCOL_ERROR,
                    "sequence number wrapped during key exchange",
                ));
            }
        }
        self.st.flush(&mut self.output, host);
        Ok(())
    }
}

impl State {
    /// Ends the connection with a DISCONNECT message (as far as output room allows).
    fn disconnect(&mut self, out: &mut Output, d: Disconnect) {
        if self.closing.is_some() {
            return;
        }
        self.closing = Some(d);
        // Before the peer's version line it may not speak SSH at all: say why in plain text.
        if self.version_done {
            let _ = out.packet(0, |w| {
                w.u8(msg::DISCONNECT)?;
                w.u32(d.reason)?;
                w.string(d.text.as_bytes())?;
                w.string(b"")
            });
        } else {
            let _ = out.raw(d.text.as_bytes());
            let _ = out.raw(b"\r\n");
        }
    }

    /// Handles one payload (`in_seq`: its sequence number).
    /// Out of line, like `read_version`: inlined into `process`'s loop, LLVM hoisted dozens
    /// of addresses out of the loop and spilled them to the stack (1.6 KB on MIPS).
    #[inline(never)]
    fn dispatch(
        &mut self,
        out: &mut Output,
        payload: &[u8],
        in_seq: u32,
        host: &mut dyn Host,
        now: u64,
    ) -> Result<Flow, Disconnect> {
        let Some(&n) = payload.first() else {
            return Err(fail(reason::PROTOCOL_ERROR, "empty packet"));
        };
        let first_kex = self.session_id.is_none();
        let in_kex = !matches!(self.kex, KexState::Idle);
        // Strict kex: nothing but the exchange itself until the first NEWKEYS.
        if first_kex
            && self.strict
            && !matches!(n, msg::KEXINIT | msg::KEX_ECDH_INIT | msg::NEWKEYS)
        {
            return Err(fail(
                reason::PROTOCOL_ERROR,
                "strict key exchange violation: unexpected message",
            ));
        }
        let done = match n {
            msg::DISCONNECT => {
                let mut r = Reader::new(payload);
                let _ = r.u8();
                let code = r.u32().unwrap_or(0);
                // The loop logs the exit, with the user when there is one.
                self.closing = Some(fail(code, "Disconnect received"));
                Ok(())
            }
            msg::IGNORE | msg::DEBUG | msg::UNIMPLEMENTED => Ok(()),
            msg::KEXINIT => self.on_kexinit(out, payload, in_seq, host, now),
            msg::KEX_ECDH_INIT if self.ignore_next_kex => {
                self.ignore_next_kex = false;
                Ok(())
            }
            msg::KEX_ECDH_INIT => self.on_ecdh(out, payload, host),
            msg::NEWKEYS => {
                return match core::mem::replace(&mut self.kex, KexState::Idle) {
                    KexState::AwaitNewKeys(c2s) => {
                        if payload.len() != 1 {
                            return Err(fail(reason::PROTOCOL_ERROR, "malformed NEWKEYS"));
                        }
                        Ok(Flow::NewKeys(c2s))
                    }
                    _ => Err(fail(reason::PROTOCOL_ERROR, "unexpected NEWKEYS")),
                }
            }
            _ if first_kex => Err(fail(
                reason::PROTOCOL_ERROR,
                "message before key exchange completed",
            )),
            // The client sent its KEXINIT: until its NEWKEYS only kex messages may follow.
            _ if in_kex
                && !matches!(self.kex, KexState::SentInit(_))
                && n >= msg::SERVICE_REQUEST =>
            {
                Err(fail(
                    reason::PROTOCOL_ERROR,
                    "unexpected message during key exchange",
                ))
            }
            msg::SERVICE_REQUEST => self.on_service_request(out, payload, host),
            msg::USERAUTH_REQUEST if !self.service => Err(fail(
                reason::PROTOCOL_ERROR,
                "authentication before service request",
            )),
            // RFC 4252 §5.1: requests after success are ignored.
            msg::USERAUTH_REQUEST if self.auth.done => Ok(()),
            msg::USERAUTH_REQUEST | auth::INFO_RESPONSE => {
                return self.on_userauth(out, payload, host, now)
            }
            msg::GLOBAL_REQUEST if self.auth.done => {
                let mut r = Reader::new(payload);
                let _ = r.u8();
                let bad = |_| fail(reason::PROTOCOL_ERROR, "malformed global request");
                r.text().map_err(bad)?;
                let want_reply = r.bool().map_err(bad)?;
                // The reply is queued when the edge answers: make sure there is room for it.
                if want_reply && self.global_replies.is_full() {
                    return Err(fail(reason::PROTOCOL_ERROR, "too many unanswered requests"));
                }
                return Ok(Flow::Hold(Wait::Global));
            }
            msg::REQUEST_SUCCESS | msg::REQUEST_FAILURE if self.auth.done => Ok(()),
            msg::CHANNEL_OPEN..=msg::CHANNEL_FAILURE if self.auth.done => {
                return match self.channels.handle(payload, host) {
                    Ok(Some(w)) => Ok(Flow::Hold(Wait::Channel(w))),
                    Ok(None) => Ok(Flow::Next),
                    Err(e) => Err(chan_error(e)),
                };
            }
            msg::GLOBAL_REQUEST..=127 => Err(fail(
                reason::PROTOCOL_ERROR,
                "connection message before authentication",
            )),
            _ => {
                // RFC 4253 §11.4: unknown message numbers get UNIMPLEMENTED.
                out.packet(0, |w| {
                    w.u8(msg::UNIMPLEMENTED)?;
                    w.u32(in_seq)
                })
                .map_err(no_space)
            }
        };
        done.map(|_| Flow::Next)
    }
}

fn chan_error(e: channel::ChanError) -> Disconnect {
    use channel::ChanError::*;
    fail(
        reason::PROTOCOL_ERROR,
        match e {
            Malformed => "malformed channel message",
            WindowExceeded => "channel window exceeded",
            AfterClose => "channel data after EOF or close",
            TooManyReplies => "too many unanswered channel requests",
        },
    )
}
