//! One connection: version exchange, transport, key exchange, authentication and channels
//! glued together. Bytes in through `input_space`/`received`, bytes out through
//! `output`/`output_sent`, decisions through `Host`, time through `now` (milliseconds from
//! any fixed start).

use super::auth::{self, Attempt, Auth, AuthHost, Outcome, Question, Step};
use super::budget::{Budget, Shortage};
use super::channel::{Channels, ExitInfo, Outgoing, SessionHost};
use super::crypto::{fingerprint, X25519Secret, ED25519_BLOB_LEN, ED25519_SIG_BLOB_LEN};
use super::kex::{self, ClientOffer, ExchangeHash, OurInit};
use super::limits::{self, MAX_PREAMBLE, MAX_VERSION_LINE};
use super::msg::{self, reason};
use super::packet::{Input, Output, PacketError};
use super::wire::{Reader, WireError};
use log::{info, warn};

pub const SERVER_VERSION: &str = concat!("SSH-2.0-quoll_", env!("CARGO_PKG_VERSION"));

/// Output room kept free for replies to one input packet, so that handling a packet never
/// fails for lack of space (the largest reply is the mlkem768x25519 kex reply with NEWKEYS
/// and EXT_INFO, about 1,350 bytes).
const RESERVE: usize = 2048;

/// Everything the connection asks of the edge.
pub trait Host: AuthHost + SessionHost {
    fn random(&mut self, buf: &mut [u8]);
    /// A global request after authentication (`tcpip-forward`, `cancel-tcpip-forward`, ...);
    /// `data` is what follows want-reply.
    fn global_request(&mut self, name: &str, data: &[u8]) -> GlobalReply;
    fn host_key_blob(&self) -> [u8; ED25519_BLOB_LEN];
    fn sign(&mut self, data: &[u8]) -> [u8; ED25519_SIG_BLOB_LEN];
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

#[cfg_attr(any(test, feature = "fuzzing"), derive(Clone))]
pub struct Conn {
    input: Input,
    output: Output,
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
    peer: heapless::String<64>,
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
    /// The payload range (in the input buffer) of an authentication request that waits for
    /// the edge's answer (`question` / `auth_answer`); nothing is read or handled meanwhile.
    held: Option<(u32, u32)>,
}

impl Conn {
    /// Failed authentication attempts so far (the daemon's penalties count them).
    pub fn auth_failures(&self) -> u32 {
        self.auth.failures()
    }

    /// The authentication state, for the connection tests.
    #[cfg(test)]
    pub(super) fn auth(&self) -> &Auth {
        &self.auth
    }

    /// Allocates the connection's fixed buffers (`fixed_bytes`), counted against `budget`;
    /// channel buffers come later, one per channel as it opens. `Err` when the budget or the
    /// system has no room for them: nothing is then held.
    pub fn try_new(
        p: Params,
        peer: &str,
        now: u64,
        budget: &mut Budget,
    ) -> Result<Box<Conn>, Shortage> {
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
        let mut name = heapless::String::new();
        let _ = name.push_str(&peer[..peer.len().min(64)]);
        // The `Conn` itself is small (see `fixed_bytes`); its buffers are the parts above.
        Ok(Box::new(Conn {
            input: Input::with_buffer(input),
            output: Output::with_buffer(output),
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
            peer: name,
            rekey_bytes: p.rekey_bytes,
            rekey_secs: p.rekey_secs,
            timers: p.timers,
            started_at: now,
            last_rx: now,
            keepalives_missed: 0,
            last_activity: now,
            sent_data: false,
            held: None,
        }))
    }

    /// Ends the connection's hold on the budget: its fixed buffers and the window buffers of
    /// channels still open.
    pub fn free(self: Box<Self>, budget: &mut Budget) {
        budget.give(self.held_bytes());
    }

    /// Bytes this connection holds against the budget.
    pub fn held_bytes(&self) -> usize {
        Self::fixed_bytes(self.channels.chans.len()) + self.channels.buffer_bytes()
    }

    /// Queues our version line and KEXINIT (the server speaks first, as OpenSSH does).
    pub fn start(&mut self, host: &mut dyn Host) {
        let _ = self.output.raw(SERVER_VERSION.as_bytes());
        let _ = self.output.raw(b"\r\n");
        self.send_kexinit(host);
    }

    pub fn authenticated(&self) -> bool {
        self.auth.done
    }

    /// The first key exchange is done (our NEWKEYS sent): the client did its share of it.
    pub fn kex_done(&self) -> bool {
        self.session_id.is_some()
    }

    /// The connection is over: flush `output()` and close.
    pub fn closing(&self) -> Option<Disconnect> {
        self.closing
    }

    /// Whether the edge should read the socket now (false while replies cannot be written).
    pub fn wants_input(&self) -> bool {
        self.closing.is_none() && self.output.room() >= RESERVE && self.held.is_none()
    }

    /// Everything in the input buffer, for tests that look for leftovers.
    #[cfg(test)]
    pub(crate) fn input_bytes(&self) -> &[u8] {
        self.input.all()
    }

    pub fn input_space(&mut self) -> &mut [u8] {
        // While a request is held its payload must stay where `held` says: no compaction.
        if self.held.is_some() {
            return &mut [];
        }
        self.input.space()
    }

    pub fn output(&self) -> &[u8] {
        self.output.pending()
    }

    pub fn output_sent(&mut self, n: usize) {
        self.output.sent(n)
    }

    /// The peer closed its side of the socket.
    pub fn peer_closed(&mut self) {
        if self.closing.is_none() {
            self.closing = Some(fail(reason::CONNECTION_LOST, "connection closed by peer"));
        }
    }

    /// Ends the connection with a DISCONNECT message (as far as output room allows).
    pub fn disconnect(&mut self, d: Disconnect) {
        if self.closing.is_some() {
            return;
        }
        self.closing = Some(d);
        // Before the peer's version line it may not speak SSH at all: say why in plain text.
        if self.version_done {
            let _ = self.output.packet(0, |w| {
                w.u8(msg::DISCONNECT)?;
                w.u32(d.reason)?;
                w.string(d.text.as_bytes())?;
                w.string(b"")
            });
        } else {
            let _ = self.output.raw(d.text.as_bytes());
            let _ = self.output.raw(b"\r\n");
        }
    }

    /// Handles `n` bytes the edge put into `input_space()`.
    pub fn received(&mut self, n: usize, host: &mut dyn Host, now: u64) {
        self.input.filled(n);
        if n > 0 {
            self.last_rx = now;
            self.keepalives_missed = 0;
        }
        if let Err(d) = self.process(host, now) {
            self.disconnect(d);
        }
    }

    fn process(&mut self, host: &mut dyn Host, now: u64) -> Result<(), Disconnect> {
        if !self.version_done {
            self.read_version()?;
        }
        while self.version_done
            && self.closing.is_none()
            && self.output.room() >= RESERVE
            && self.auth.reply_due.is_none()
            && self.held.is_none()
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
            // Copy out of the input buffer's borrow: the payload stays in place.
            let seq = self.input.seq;
            let payload_range = a..b;
            let mut hold = false;
            let result = {
                let buf = self.input.payload_buf();
                let payload = &buf[payload_range];
                Self::dispatch(
                    &mut self.output,
                    &mut self.kex,
                    &mut DispatchState {
                        session_id: &mut self.session_id,
                        strict: &mut self.strict,
                        ext_info: &mut self.ext_info,
                        ignore_next_kex: &mut self.ignore_next_kex,
                        kex_started_at: &mut self.kex_started_at,
                        service: &mut self.service,
                        auth: &mut self.auth,
                        channels: &mut self.channels,
                        global_replies: &mut self.global_replies,
                        v_c: &self.v_c,
                        peer: &self.peer,
                        closing: &mut self.closing,
                        in_seq: seq,
                        hold: &mut hold,
                    },
                    payload,
                    host,
                    now,
                )
            };
            if hold && result.is_ok() {
                // The request waits for the edge's answer, in place.
                // Fits: offsets into the input buffer (two packets).
                self.held = Some((a as u32, b as u32));
                break;
            }
            let kind = self.input.payload_buf()[a];
            if matches!(kind, msg::USERAUTH_REQUEST | auth::INFO_RESPONSE) {
                // It may hold a password: leave no copy in the buffer, also when handling it
                // failed and the connection is about to close.
                self.input.wipe(a..b);
            }
            let newkeys = result?;
            if !matches!(
                kind,
                msg::IGNORE | msg::REQUEST_SUCCESS | msg::REQUEST_FAILURE
            ) {
                self.last_activity = now;
            }
            self.input.consume_packet();
            if let Some(c2s) = newkeys {
                self.input.set_cipher(*c2s);
                if self.strict {
                    self.input.seq = 0;
                }
                self.input.counters = Default::default();
            } else if self.session_id.is_none() && self.input.seq == 0 {
                // Wrapped before the first exchange finished (strict kex requires the check).
                return Err(fail(
                    reason::PROTOCOL_ERROR,
                    "sequence number wrapped during key exchange",
                ));
            }
        }
        self.flush(host);
        Ok(())
    }

    #[inline(never)]
    fn read_version(&mut self) -> Result<(), Disconnect> {
        loop {
            let buf = self.input.buffered();
            let Some(nl) = buf.iter().position(|&c| c == b'\n') else {
                if buf.len() > MAX_VERSION_LINE || self.preamble + buf.len() > MAX_PREAMBLE {
                    return Err(fail(reason::PROTOCOL_ERROR, "no SSH version line"));
                }
                return Ok(());
            };
            let line = &buf[..nl];
            let line = line.strip_suffix(b"\r").unwrap_or(line);
            if line.starts_with(b"SSH-") {
                if !(line.starts_with(b"SSH-2.0-") || line.starts_with(b"SSH-1.99-"))
                    || nl + 1 > MAX_VERSION_LINE
                    || line.iter().any(|&c| !(0x20..0x7f).contains(&c))
                {
                    return Err(fail(reason::PROTOCOL_ERROR, "unsupported SSH version"));
                }
                // Fits: checked against MAX_VERSION_LINE above.
                let _ = self.v_c.extend_from_slice(line);
                self.input.consume(nl + 1);
                self.version_done = true;
                return Ok(());
            }
            self.preamble += nl + 1;
            if self.preamble > MAX_PREAMBLE {
                return Err(fail(reason::PROTOCOL_ERROR, "no SSH version line"));
            }
            self.input.consume(nl + 1);
        }
    }

    fn send_kexinit(&mut self, host: &mut dyn Host) {
        let mut cookie = [0u8; 16];
        host.random(&mut cookie);
        let ours = Box::new(OurInit::build(cookie));
        let _ = self.output.packet(cookie[0], |w| w.raw(ours.payload()));
        self.output.counters = Default::default();
        self.kex = KexState::SentInit(ours);
    }

    /// Sending anything but transport and kex messages is not allowed between our KEXINIT and
    /// our NEWKEYS.
    fn sending_blocked(&self) -> bool {
        matches!(self.kex, KexState::SentInit(_) | KexState::AwaitEcdh(..))
            || self.session_id.is_none()
    }

    /// Writes what channels and global requests owe, starts a rekey when one is due.
    pub fn flush(&mut self, host: &mut dyn Host) {
        if self.closing.is_some() || self.sending_blocked() {
            return;
        }
        while let Some(&reply) = self.global_replies.front() {
            let r = self.output.packet(0, |w| match reply {
                GlobalReply::Failure => w.u8(msg::REQUEST_FAILURE),
                GlobalReply::Success => w.u8(msg::REQUEST_SUCCESS),
                GlobalReply::Port(p) => {
                    w.u8(msg::REQUEST_SUCCESS)?;
                    w.u32(p)
                }
            });
            if r.is_err() {
                return;
            }
            self.global_replies.pop_front();
        }
        let _ = self.channels.emit(&mut self.output, 0, host);
    }

    /// Time- and volume-driven work: a rekey after `rekey_secs` or `rekey_bytes`. Call once per
    /// loop turn.
    pub fn tick(&mut self, host: &mut dyn Host, now: u64) {
        if self.auth.reply_due.is_some_and(|t| now >= t) && self.closing.is_none() {
            self.auth.reply_due = None;
            let methods = self.auth.methods();
            let _ = self.output.packet(0, |w| {
                w.u8(msg::USERAUTH_FAILURE)?;
                w.string(methods.as_bytes())?;
                w.bool(false)
            });
        }
        self.timers(now);
        let idle = matches!(self.kex, KexState::Idle);
        // Only after authentication, so no authentication reply can fall inside our exchange.
        let due = now.saturating_sub(self.kex_started_at) >= self.rekey_secs * 1000
            || self.input.counters.bytes >= self.rekey_bytes
            || self.output.counters.bytes >= self.rekey_bytes;
        if idle && due && self.auth.done && self.closing.is_none() && self.output.room() >= RESERVE
        {
            self.kex_started_at = now;
            self.send_kexinit(host);
        }
        self.flush(host);
    }

    /// Replaces the `-K`/`-I`/`-M` timers (tests).
    pub fn set_timers(&mut self, t: Timers) {
        self.timers = t;
    }

    /// `-K`, `-I`, `-M`: keepalive requests and the disconnects they lead to.
    fn timers(&mut self, now: u64) {
        if core::mem::take(&mut self.sent_data) {
            self.last_activity = now;
        }
        if self.closing.is_some() {
            return;
        }
        let t = self.timers;
        if t.max_session > 0 && now >= self.started_at + t.max_session * 1000 {
            self.disconnect(fail(reason::BY_APPLICATION, "Maximum session time reached"));
            return;
        }
        if t.idle > 0 && now >= self.last_activity + t.idle * 1000 {
            self.disconnect(fail(reason::BY_APPLICATION, "Idle timeout"));
            return;
        }
        if let Some(due) = self.keepalive_due() {
            if now < due || self.sending_blocked() || self.output.room() < RESERVE {
                return;
            }
            if self.keepalives_missed >= limits::KEEPALIVE_MAX_MISSED {
                self.disconnect(fail(reason::CONNECTION_LOST, "Keepalive timeout"));
                return;
            }
            let _ = self.output.packet(0, |w| {
                w.u8(msg::GLOBAL_REQUEST)?;
                w.string(b"keepalive@openssh.com")?;
                w.bool(true)
            });
            self.keepalives_missed += 1;
        }
    }

    fn keepalive_due(&self) -> Option<u64> {
        let k = self.timers.keepalive * 1000;
        (k > 0 && self.auth.done)
            .then(|| self.last_rx + k * (u64::from(self.keepalives_missed) + 1))
    }

    /// Milliseconds until `tick` has time-driven work, for the loop's poll timeout.
    pub fn next_tick(&self, now: u64) -> u64 {
        let t = self.timers;
        let mut due = self.kex_started_at + self.rekey_secs * 1000;
        let mut at = |d: Option<u64>| {
            if let Some(d) = d {
                due = due.min(d);
            }
        };
        at(self.auth.reply_due);
        at(self.keepalive_due());
        at((t.idle > 0).then(|| self.last_activity + t.idle * 1000));
        at((t.max_session > 0).then(|| self.started_at + t.max_session * 1000));
        due.saturating_sub(now)
    }

    // ---- channel data, for the edge ----

    /// How many bytes of process output may be handed to `channel_send` now.
    pub fn channel_send_room(&self, ch: usize) -> usize {
        if self.closing.is_some() || self.sending_blocked() {
            return 0;
        }
        let Some(c) = self.channels.chans.get(ch).filter(|c| c.open) else {
            return 0;
        };
        c.send_window()
            .min(self.output.room().saturating_sub(RESERVE + 16))
    }

    /// Sends process output (`ext`: stderr as extended data). `data` must fit
    /// `channel_send_room`. Bytes that do not fit are never dropped quietly: the connection
    /// is closed instead (a caller's bug), and false returned.
    pub fn channel_send(&mut self, ch: usize, ext: bool, data: &[u8]) -> bool {
        let fits = data.len() <= self.channel_send_room(ch);
        let sent = match self.channels.get(ch).filter(|_| fits) {
            Some(c) => {
                let id = c.peer_id();
                let r = self.output.packet(0, |w| {
                    if ext {
                        w.u8(msg::CHANNEL_EXTENDED_DATA)?;
                        w.u32(id)?;
                        w.u32(1)?;
                    } else {
                        w.u8(msg::CHANNEL_DATA)?;
                        w.u32(id)?;
                    }
                    w.string(data)
                });
                if r.is_ok() {
                    c.sent_data(data.len());
                }
                r.is_ok()
            }
            None => false,
        };
        if sent {
            self.sent_data = true;
        } else {
            self.disconnect(fail(reason::BY_APPLICATION, "internal error: output lost"));
        }
        sent
    }

    /// Client bytes waiting for the process's stdin.
    pub fn channel_input(&self, ch: usize) -> &[u8] {
        match self.channels.chans.get(ch).filter(|c| c.open) {
            Some(c) => c.pending_input(),
            None => &[],
        }
    }

    pub fn channel_consumed(&mut self, ch: usize, n: usize, host: &mut dyn Host) {
        if let Some(c) = self.channels.get(ch) {
            c.consume_input(n);
        }
        self.flush(host);
    }

    /// The client sent EOF (or closed) and all its bytes were consumed: close the stdin.
    pub fn channel_input_finished(&self, ch: usize) -> bool {
        self.channels
            .chans
            .get(ch)
            .is_some_and(|c| c.open && c.input_finished())
    }

    /// The process is done and all its output was sent: EOF, exit status, CLOSE follow.
    pub fn channel_finish(&mut self, ch: usize, exit: Option<ExitInfo>, host: &mut dyn Host) {
        if let Some(c) = self.channels.get(ch) {
            c.finish(exit);
        }
        self.flush(host);
    }

    /// The edge's answer to `SessionHost::open_direct_tcpip`.
    pub fn channel_open_result(&mut self, ch: usize, ok: bool, host: &mut dyn Host) {
        if self.channels.open_result(ch, ok, host).is_err() {
            self.disconnect(fail(reason::PROTOCOL_ERROR, "too many refused channels"));
        }
        self.flush(host);
    }

    /// Opens a channel to the client for a forwarded connection or an agent connection.
    pub fn channel_open(&mut self, what: &Outgoing, host: &mut dyn Host) -> Option<usize> {
        if self.closing.is_some() || !self.auth.done {
            return None;
        }
        let ch = self.channels.open_outgoing(what, host);
        self.flush(host);
        ch
    }

    /// The stream's read side ended: EOF to the client; input may still come.
    pub fn channel_send_eof(&mut self, ch: usize, host: &mut dyn Host) {
        if let Some(c) = self.channels.get(ch) {
            c.send_eof();
        }
        self.flush(host);
    }
}

impl Conn {
    /// The decision a held authentication request waits for, if any. The edge answers with
    /// `auth_answer`, now or later; until then nothing more is read from this connection.
    pub fn question(&self) -> Option<Question<'_>> {
        let (a, b) = self.held?;
        self.auth
            .question(self.input.payload_buf().get(a as usize..b as usize)?)
    }

    /// The edge's answer to `question()`: the request is finished (logged, replied to, its
    /// bytes wiped) and the connection goes on with what the client sent after it. Returns
    /// what the request led to, so the edge can commit the identity it checked only on
    /// `Success` (or keep a `-t` key step on `Partial`); None when nothing was asked.
    pub fn auth_answer(&mut self, yes: bool, host: &mut dyn Host, now: u64) -> Option<Outcome> {
        let (a, b) = self.held.take()?;
        let (a, b) = (a as usize, b as usize);
        let result = {
            let payload = &self.input.payload_buf()[a..b];
            let user = if payload[0] == auth::INFO_RESPONSE {
                safe_name(self.auth.pending_user().as_bytes())
            } else {
                user_for_log(payload)
            };
            self.auth
                .answer(payload, yes)
                .map_err(auth_error)
                .and_then(|(outcome, attempt)| {
                    auth_reply(
                        &mut self.output,
                        &mut self.auth,
                        &self.peer,
                        &user,
                        payload,
                        outcome,
                        attempt,
                        host,
                        now,
                    )
                    .map(|_| outcome)
                })
        };
        // It may hold a password: no copy stays in the buffer.
        self.input.wipe(a..b);
        self.input.consume_packet();
        self.last_activity = now;
        match result {
            Ok(outcome) => {
                if let Err(d) = self.process(host, now) {
                    self.disconnect(d);
                }
                Some(outcome)
            }
            Err(d) => {
                self.disconnect(d);
                None
            }
        }
    }
}

/// The parts of `Conn` a packet handler may change (everything but the input buffer, which
/// holds the payload being handled).
struct DispatchState<'a> {
    session_id: &'a mut Option<[u8; 32]>,
    strict: &'a mut bool,
    ext_info: &'a mut bool,
    ignore_next_kex: &'a mut bool,
    kex_started_at: &'a mut u64,
    service: &'a mut bool,
    auth: &'a mut Auth,
    channels: &'a mut Channels,
    global_replies: &'a mut heapless::Deque<GlobalReply, 16>,
    v_c: &'a [u8],
    peer: &'a str,
    closing: &'a mut Option<Disconnect>,
    in_seq: u32,
    /// Set by a handler that asked the edge a question: the packet stays unconsumed.
    hold: &'a mut bool,
}

fn no_space(_: WireError) -> Disconnect {
    fail(reason::BY_APPLICATION, "output buffer full")
}

impl Conn {
    /// Handles one payload. Returns the client-to-server cipher when the client's NEWKEYS
    /// arrived (the caller switches the input to it after consuming this packet).
    /// Out of line, like `read_version`: inlined into `process`'s loop, LLVM hoisted dozens
    /// of addresses out of the loop and spilled them to the stack (1.6 KB on MIPS).
    #[inline(never)]
    fn dispatch(
        out: &mut Output,
        kex: &mut KexState,
        st: &mut DispatchState,
        payload: &[u8],
        host: &mut dyn Host,
        now: u64,
    ) -> Result<Option<Box<super::cipher::Cipher>>, Disconnect> {
        let Some(&n) = payload.first() else {
            return Err(fail(reason::PROTOCOL_ERROR, "empty packet"));
        };
        let first_kex = st.session_id.is_none();
        let in_kex = !matches!(kex, KexState::Idle);
        // Strict kex: nothing but the exchange itself until the first NEWKEYS.
        if first_kex && *st.strict && !matches!(n, msg::KEXINIT | msg::KEX_ECDH_INIT | msg::NEWKEYS)
        {
            return Err(fail(
                reason::PROTOCOL_ERROR,
                "strict key exchange violation: unexpected message",
            ));
        }
        match n {
            msg::DISCONNECT => {
                let mut r = Reader::new(payload);
                let _ = r.u8();
                let code = r.u32().unwrap_or(0);
                // The loop logs the exit, with the user when there is one.
                *st.closing = Some(fail(code, "Disconnect received"));
                Ok(None)
            }
            msg::IGNORE | msg::DEBUG | msg::UNIMPLEMENTED => Ok(None),
            msg::KEXINIT => Self::on_kexinit(out, kex, st, payload, host, now).map(|_| None),
            msg::KEX_ECDH_INIT if *st.ignore_next_kex => {
                *st.ignore_next_kex = false;
                Ok(None)
            }
            msg::KEX_ECDH_INIT => Self::on_ecdh(out, kex, st, payload, host).map(|_| None),
            msg::NEWKEYS => match core::mem::replace(kex, KexState::Idle) {
                KexState::AwaitNewKeys(c2s) => {
                    if payload.len() != 1 {
                        return Err(fail(reason::PROTOCOL_ERROR, "malformed NEWKEYS"));
                    }
                    Ok(Some(c2s))
                }
                _ => Err(fail(reason::PROTOCOL_ERROR, "unexpected NEWKEYS")),
            },
            _ if first_kex => Err(fail(
                reason::PROTOCOL_ERROR,
                "message before key exchange completed",
            )),
            // The client sent its KEXINIT: until its NEWKEYS only kex messages may follow.
            _ if in_kex && !matches!(kex, KexState::SentInit(_)) && n >= msg::SERVICE_REQUEST => {
                Err(fail(
                    reason::PROTOCOL_ERROR,
                    "unexpected message during key exchange",
                ))
            }
            msg::SERVICE_REQUEST => {
                let mut r = Reader::new(payload);
                let _ = r.u8();
                let name = r
                    .string()
                    .map_err(|_| fail(reason::PROTOCOL_ERROR, "malformed service request"))?;
                // Until login, ssh-userauth may be asked for again, as OpenSSH's sshd allows:
                // paramiko asks before every method it tries.
                if name != b"ssh-userauth" || st.auth.done {
                    return Err(fail(reason::SERVICE_NOT_AVAILABLE, "service not available"));
                }
                let first = !*st.service;
                *st.service = true;
                out.packet(0, |w| {
                    w.u8(msg::SERVICE_ACCEPT)?;
                    w.string(b"ssh-userauth")
                })
                .map_err(no_space)?;
                let banner = host.banner();
                if first && !banner.is_empty() {
                    // Best effort: a banner that does not fit the output buffer is not sent.
                    let _ = out.packet(0, |w| {
                        w.u8(msg::USERAUTH_BANNER)?;
                        w.string(banner)?;
                        w.string(b"")
                    });
                }
                Ok(None)
            }
            msg::USERAUTH_REQUEST if !*st.service => Err(fail(
                reason::PROTOCOL_ERROR,
                "authentication before service request",
            )),
            // RFC 4252 §5.1: requests after success are ignored.
            msg::USERAUTH_REQUEST if st.auth.done => Ok(None),
            msg::USERAUTH_REQUEST | auth::INFO_RESPONSE => {
                Self::on_userauth(out, st, payload, host, now).map(|_| None)
            }
            msg::GLOBAL_REQUEST if st.auth.done => {
                let mut r = Reader::new(payload);
                let _ = r.u8();
                let bad = |_| fail(reason::PROTOCOL_ERROR, "malformed global request");
                let name = r.text().map_err(bad)?;
                let want_reply = r.bool().map_err(bad)?;
                let reply = host.global_request(name, r.rest());
                if want_reply && st.global_replies.push_back(reply).is_err() {
                    return Err(fail(reason::PROTOCOL_ERROR, "too many unanswered requests"));
                }
                Ok(None)
            }
            msg::REQUEST_SUCCESS | msg::REQUEST_FAILURE if st.auth.done => Ok(None),
            msg::CHANNEL_OPEN..=msg::CHANNEL_FAILURE if st.auth.done => {
                st.channels.handle(payload, host).map_err(|e| {
                    use super::channel::ChanError::*;
                    fail(
                        reason::PROTOCOL_ERROR,
                        match e {
                            Malformed => "malformed channel message",
                            WindowExceeded => "channel window exceeded",
                            AfterClose => "channel data after EOF or close",
                            TooManyReplies => "too many unanswered channel requests",
                        },
                    )
                })?;
                Ok(None)
            }
            msg::GLOBAL_REQUEST..=127 => Err(fail(
                reason::PROTOCOL_ERROR,
                "connection message before authentication",
            )),
            _ => {
                // RFC 4253 §11.4: unknown message numbers get UNIMPLEMENTED.
                out.packet(0, |w| {
                    w.u8(msg::UNIMPLEMENTED)?;
                    w.u32(st.in_seq)
                })
                .map_err(no_space)?;
                Ok(None)
            }
        }
    }

    fn on_kexinit(
        out: &mut Output,
        kex: &mut KexState,
        st: &mut DispatchState,
        payload: &[u8],
        host: &mut dyn Host,
        now: u64,
    ) -> Result<(), Disconnect> {
        let first = st.session_id.is_none();
        let ours = match core::mem::replace(kex, KexState::Idle) {
            KexState::SentInit(o) => o,
            KexState::Idle => {
                // The client starts a rekey: answer with our KEXINIT.
                let mut cookie = [0u8; 16];
                host.random(&mut cookie);
                let o = Box::new(OurInit::build(cookie));
                out.packet(0, |w| w.raw(o.payload())).map_err(no_space)?;
                out.counters = Default::default();
                *st.kex_started_at = now;
                o
            }
            _ => return Err(fail(reason::PROTOCOL_ERROR, "KEXINIT during key exchange")),
        };
        let offer: ClientOffer = kex::negotiate(payload, first)
            .map_err(|e| fail(reason::KEY_EXCHANGE_FAILED, e.text()))?;
        if first {
            *st.strict = offer.strict;
            *st.ext_info = offer.ext_info;
            if offer.strict && st.in_seq != 0 {
                return Err(fail(
                    reason::PROTOCOL_ERROR,
                    "strict key exchange violation: KEXINIT was not the first packet",
                ));
            }
        }
        *st.ignore_next_kex = offer.ignore_guess;
        let blob = host.host_key_blob();
        *kex = KexState::AwaitEcdh(
            Box::new(ExchangeHash::start(
                st.v_c,
                SERVER_VERSION.as_bytes(),
                payload,
                ours.payload(),
                &blob,
            )),
            offer.algs,
        );
        Ok(())
    }

    fn on_ecdh(
        out: &mut Output,
        kex: &mut KexState,
        st: &mut DispatchState,
        payload: &[u8],
        host: &mut dyn Host,
    ) -> Result<(), Disconnect> {
        let KexState::AwaitEcdh(hash, algs) = core::mem::replace(kex, KexState::Idle) else {
            return Err(fail(reason::PROTOCOL_ERROR, "unexpected KEX_ECDH_INIT"));
        };
        let mut secret = [0u8; 32];
        host.random(&mut secret);
        let eph = X25519Secret::from_random(secret);
        let mut kem_seed = [0u8; 32];
        host.random(&mut kem_seed);
        let ex = kex::ecdh(*hash, payload, eph, &kem_seed, st.session_id.as_ref(), algs);
        zeroize::Zeroize::zeroize(&mut secret);
        zeroize::Zeroize::zeroize(&mut kem_seed);
        let ex = ex.map_err(|e| fail(reason::KEY_EXCHANGE_FAILED, e.text()))?;
        let sig = host.sign(&ex.h);
        let blob = host.host_key_blob();
        out.packet(0, |w| {
            w.u8(msg::KEX_ECDH_REPLY)?;
            w.string(&blob)?;
            w.string(&ex.q_s)?;
            w.string(&sig)
        })
        .map_err(no_space)?;
        out.packet(0, |w| w.u8(msg::NEWKEYS)).map_err(no_space)?;
        let first = st.session_id.is_none();
        out.set_cipher(ex.keys.s2c);
        if *st.strict {
            out.seq = 0;
        }
        out.counters = Default::default();
        if first {
            *st.session_id = Some(ex.h);
            if *st.ext_info {
                out.packet(0, |w| {
                    w.u8(msg::EXT_INFO)?;
                    w.u32(1)?;
                    w.string(b"server-sig-algs")?;
                    w.string(b"ssh-ed25519")
                })
                .map_err(no_space)?;
            }
        }
        *kex = KexState::AwaitNewKeys(Box::new(ex.keys.c2s));
        Ok(())
    }

    fn on_userauth(
        out: &mut Output,
        st: &mut DispatchState,
        payload: &[u8],
        host: &mut dyn Host,
        now: u64,
    ) -> Result<(), Disconnect> {
        let sid = st.session_id.unwrap_or([0; 32]);
        let info = payload[0] == auth::INFO_RESPONSE;
        let user = if info {
            safe_name(st.auth.pending_user().as_bytes())
        } else {
            user_for_log(payload)
        };
        let step = if info {
            st.auth.info_response(payload)
        } else {
            st.auth.request(payload, &sid)
        };
        match step.map_err(auth_error)? {
            Step::Ask => {
                *st.hold = true;
                Ok(())
            }
            Step::Done(outcome, attempt) => auth_reply(
                out, st.auth, st.peer, &user, payload, outcome, attempt, host, now,
            ),
        }
    }
}

fn auth_error(e: auth::AuthError) -> Disconnect {
    match e {
        auth::AuthError::Malformed => {
            fail(reason::PROTOCOL_ERROR, "malformed authentication request")
        }
        auth::AuthError::BadService => fail(reason::SERVICE_NOT_AVAILABLE, "service not available"),
        auth::AuthError::Unexpected => fail(
            reason::PROTOCOL_ERROR,
            "unexpected keyboard-interactive response",
        ),
    }
}

/// Logs an authentication attempt and queues its reply (or, for a wrong password, the time
/// the FAILURE is due).
#[allow(clippy::too_many_arguments)]
fn auth_reply(
    out: &mut Output,
    auth: &mut Auth,
    peer: &str,
    user: &str,
    payload: &[u8],
    outcome: Outcome,
    attempt: Attempt,
    host: &mut dyn Host,
    now: u64,
) -> Result<(), Disconnect> {
    match attempt {
        Attempt::Key => {
            let fp = key_fingerprint(payload);
            info!(
                "Pubkey auth succeeded for '{}' with ssh-ed25519 key {} from {}",
                user, fp, peer
            );
        }
        Attempt::UnknownKey => info!(
            "Pubkey auth attempt with unknown key for '{}' from {}",
            user, peer
        ),
        Attempt::BadSignature => {
            warn!("Pubkey auth bad signature for '{}' from {}", user, peer)
        }
        Attempt::NeedKey => info!(
            "Password before key for '{}' from {}: refused (-t)",
            user, peer
        ),
        Attempt::PasswordChange => info!(
            "Password change request for '{}' from {}: refused",
            user, peer
        ),
        // The edge logs the password outcome, knowing more (nonexistent user, locked).
        Attempt::Unsupported
        | Attempt::None
        | Attempt::Query
        | Attempt::Password
        | Attempt::BadPassword => {}
    }
    let methods = auth.methods();
    match outcome {
        Outcome::Success => out.packet(0, |w| w.u8(msg::USERAUTH_SUCCESS)),
        Outcome::PkOk => {
            let blob = &auth.pk_blob;
            out.packet(0, |w| {
                w.u8(msg::USERAUTH_PK_OK)?;
                w.string(b"ssh-ed25519")?;
                w.string(blob)
            })
        }
        Outcome::Failure | Outcome::Partial => out.packet(0, |w| {
            w.u8(msg::USERAUTH_FAILURE)?;
            w.string(methods.as_bytes())?;
            w.bool(outcome == Outcome::Partial)
        }),
        Outcome::DelayedFailure => {
            // Dropbear waits 250-350 ms after a wrong password; so do we, without
            // stalling the loop: `tick` sends the FAILURE when the time has come.
            let mut r = [0u8; 2];
            host.random(&mut r);
            let jitter = u64::from(u16::from_le_bytes(r)) % 101;
            auth.reply_due = Some(now + 250 + jitter);
            Ok(())
        }
        Outcome::InfoRequest => out.packet(0, |w| {
            w.u8(auth::INFO_REQUEST)?;
            w.string(b"")?;
            w.string(b"")?;
            w.string(b"")?;
            w.u32(1)?;
            w.string(auth::PROMPT.as_bytes())?;
            w.bool(false)
        }),
        Outcome::TooMany => {
            warn!(
                "Exit before auth (user '{}', {} fails): Max auth tries reached - user '{}' from {}",
                user,
                auth.failures(),
                user,
                peer
            );
            return Err(fail(
                reason::NO_MORE_AUTH_METHODS_AVAILABLE,
                "Too many authentication failures",
            ));
        }
    }
    .map_err(no_space)
}

/// The user name of a USERAUTH_REQUEST, made safe for a log line.
fn user_for_log(payload: &[u8]) -> heapless::String<64> {
    let mut r = Reader::new(payload);
    let _ = r.u8();
    safe_name(r.string().unwrap_or(b""))
}

fn safe_name(u: &[u8]) -> heapless::String<64> {
    let mut s = heapless::String::new();
    for &c in u.iter().take(60) {
        let _ = s.push(if (0x20..0x7f).contains(&c) {
            c as char
        } else {
            '?'
        });
    }
    s
}

fn key_fingerprint(payload: &[u8]) -> String {
    let mut r = Reader::new(payload);
    let blob = (|| -> Result<&[u8], WireError> {
        r.u8()?;
        r.string()?;
        r.string()?;
        r.string()?;
        r.bool()?;
        r.string()?;
        r.string()
    })();
    blob.map(fingerprint).unwrap_or_default()
}

/// What a connection refused at accept is sent, with no `Conn` to speak for it: our version
/// line and a DISCONNECT in the clear (RFC 4253 §11.1 allows one at any time, and packets are
/// unencrypted until the first NEWKEYS), so that the client prints `text`. At most 120 bytes
/// of `text` are sent.
pub fn refusal(reason: u32, text: &str) -> heapless::Vec<u8, 256> {
    let mut payload = [0u8; 136];
    let plen = {
        let mut w = super::wire::Writer::new(&mut payload);
        let text = &text.as_bytes()[..text.len().min(120)];
        // Fits: 1 + 4 + 4 + 120 + 4 bytes.
        let _ = (|| {
            w.u8(msg::DISCONNECT)?;
            w.u32(reason)?;
            w.string(text)?;
            w.string(b"")
        })();
        w.len()
    };
    // Padding as `Output::packet` does it without a cipher: (5 + payload + padding) % 8 == 0,
    // at least 4 bytes.
    let mut pad = 8 - (5 + plen) % 8;
    if pad < 4 {
        pad += 8;
    }
    let mut v = heapless::Vec::new();
    let _ = v.extend_from_slice(SERVER_VERSION.as_bytes());
    let _ = v.extend_from_slice(b"\r\n");
    let _ = v.extend_from_slice(&((1 + plen + pad) as u32).to_be_bytes());
    let _ = v.push(pad as u8);
    let _ = v.extend_from_slice(&payload[..plen]);
    let _ = v.extend_from_slice(&[0u8; 16][..pad]);
    v
}

impl Conn {
    /// Bytes a connection holds from accept to close: the `Conn` itself, its input and output
    /// buffers and its channel table. Each open channel adds its window (`Params::window`).
    pub fn fixed_bytes(max_channels: usize) -> usize {
        core::mem::size_of::<Conn>()
            + super::packet::INPUT_BUFFER
            + limits::OUTPUT_BUFFER
            + Channels::table_bytes(max_channels)
    }
}

#[cfg(test)]
mod size_tests {
    use super::*;
    use crate::config;

    /// The figures README.md states; a change that grows a connection must update both.
    #[test]
    fn connection_memory_stays_within_documented_bound() {
        let conn = core::mem::size_of::<Conn>();
        let channel = core::mem::size_of::<super::super::channel::Channel>();
        let fixed = Conn::fixed_bytes(config::MAX_CHANNELS);
        eprintln!("Conn {conn} B, Channel {channel} B, at accept {fixed} B");
        assert_eq!(config::OUTPUT_BUFFER, 70_128);
        // README's figures (x86_64): 184,616 bytes at accept, and 446,760 for a connection
        // with one session at the default window (the unit the default budget is counted in).
        #[cfg(feature = "aes")]
        assert_eq!(super::super::packet::INPUT_BUFFER, 70_136);
        #[cfg(all(target_pointer_width = "64", feature = "aes"))]
        {
            assert_eq!((conn, channel, fixed), (3136, 2576, 184_616));
            assert_eq!(fixed + config::DEFAULT_WINDOW as usize, 446_760);
        }
        // Without the AES modes: a 16-byte tag at most, and the chacha20-poly1305 keys alone.
        #[cfg(not(feature = "aes-ctr"))]
        assert_eq!(super::super::packet::INPUT_BUFFER, 70_040);
        #[cfg(all(target_pointer_width = "64", not(feature = "aes-ctr")))]
        assert_eq!((conn, channel, fixed), (1424, 2576, 182_808));
        // The `aes-ctr` subset: HMAC-SHA-256's 32-byte MAC at most.
        #[cfg(all(feature = "aes-ctr", not(feature = "aes")))]
        assert_eq!(super::super::packet::INPUT_BUFFER, 70_072);
        assert!(
            conn <= 3328 && channel <= 2640 && fixed <= 187_000,
            "{fixed}"
        );
    }

    /// A refusal parses as our version line and a DISCONNECT with the reason and text.
    #[test]
    fn a_refusal_is_a_version_line_and_a_disconnect() {
        let long = "x".repeat(300);
        for text in ["memory limit reached: connection refused", &long[..]] {
            let r = refusal(msg::reason::TOO_MANY_CONNECTIONS, text);
            let nl = r.iter().position(|&c| c == b'\n').unwrap();
            assert_eq!(&r[..nl + 1], format!("{SERVER_VERSION}\r\n").as_bytes());
            let mut inp = super::super::packet::Input::new();
            let rest = &r[nl + 1..];
            inp.space()[..rest.len()].copy_from_slice(rest);
            inp.filled(rest.len());
            let (a, b) = inp.next_packet().unwrap().unwrap();
            let mut rd = Reader::new(&inp.payload_buf()[a..b]);
            assert_eq!(rd.u8().unwrap(), msg::DISCONNECT);
            assert_eq!(rd.u32().unwrap(), msg::reason::TOO_MANY_CONNECTIONS);
            assert_eq!(
                rd.string().unwrap(),
                &text.as_bytes()[..text.len().min(120)]
            );
            assert_eq!(rd.string().unwrap(), b"");
            inp.consume_packet();
            assert_eq!(inp.next_packet(), Ok(None), "nothing after it");
        }
    }

    /// What a connection holds is what it took: at accept, per channel, and back at close.
    #[test]
    fn a_connection_takes_its_fixed_bytes_and_gives_everything_back() {
        let p = Params {
            window: config::DEFAULT_WINDOW,
            max_channels: config::MAX_CHANNELS,
            max_auth_tries: config::DEFAULT_MAX_AUTH_TRIES,
            rekey_bytes: config::REKEY_BYTES,
            rekey_secs: config::REKEY_SECS,
            auth: auth::Policy::default(),
            timers: Timers::default(),
        };
        let fixed = Conn::fixed_bytes(p.max_channels);
        let mut budget = Budget::new(fixed - 1, super::super::budget::zeroed);
        assert_eq!(
            Conn::try_new(p, "x", 0, &mut budget).err(),
            Some(Shortage::Budget)
        );
        assert_eq!(budget.used(), 0);
        let mut budget = Budget::new(1 << 30, |_| None);
        assert_eq!(
            Conn::try_new(p, "x", 0, &mut budget).err(),
            Some(Shortage::System)
        );
        assert_eq!(budget.used(), 0, "a failed allocation holds nothing");
        let mut budget = Budget::new(fixed, super::super::budget::zeroed);
        let conn = Conn::try_new(p, "x", 0, &mut budget).unwrap();
        assert_eq!((budget.used(), conn.held_bytes()), (fixed, fixed));
        conn.free(&mut budget);
        assert_eq!(budget.used(), 0);
    }
}
