//! Everything after the first key exchange: a real handshake with fixed keys (and, if the
//! first byte says so, a public-key login), then the fuzzer's script. Its steps send payloads
//! that the harness encrypts as the client would (so they reach authentication, the channel
//! code, global requests, rekeying ...), hand the client's bytes to the connection in pieces,
//! let the socket take the server's output (which the client decrypts, following the
//! server's key exchanges), move the clock, and play the edge: process output into a channel,
//! stdin consumed, EOF and exit, a `direct-tcpip` connect's outcome, forwarded and agent
//! channels opened towards the client.
//!
//! The input: one byte of settings (bit 0: no passwords (`-s`), 1: key and password (`-t`),
//! 2: log in with the key first, 3: strict kex, 4: window 32768 instead of 65536, 5: rekey
//! after 16 KiB, 6: `-K 2 -I 30 -M 600` timers), then steps, each a byte (mod 13) and its
//! arguments:
//!
//! | step | arguments | |
//! |---|---|---|
//! | 0-3 | u16 n, n bytes | a payload from the client |
//! | 4 | u16 n (0: all) | the connection reads up to n of the client's bytes |
//! | 5 | u16 n (0: all) | the socket takes up to n bytes of output; the client reads them |
//! | 6 | u16 t | the clock moves t × 10 ms; `tick` |
//! | 7 | u8 ch, u8 stderr, u16 n | the process writes n bytes (as far as the room allows) |
//! | 8 | u8 ch, u16 n | the process reads n bytes of its stdin |
//! | 9 | u8 ch, u8 how | bit 0: EOF from the process; else it ends (bits 1-2: no status, status `how >> 3`, signal) |
//! | 10 | u8 how [, u16 port] | a pending connect finishes (bit 0: ok), else an agent (bit 0) or forwarded connection arrives |
//! | 11 | | the client starts a key exchange |
//! | 12 | u8 k | the last payload again, k mod 41 times |
//!
//! `QUOLL_FUZZ_TRACE=1` prints the steps and the server's messages (fuzz/make-corpus writes
//! the seeds).
#![no_main]

use libfuzzer_sys::fuzz_target;
use quoll::proto::auth::Policy;
use quoll::proto::channel::{ExitInfo, Outgoing};
use quoll::proto::conn::{Conn, Timers};
use quoll::proto::msg;
use quoll::proto::test_client::{params, test_host, ChannelEvent, Client, TestHost};
use quoll_fuzz::{Ops, Watch};
use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::OnceLock;

/// Channels per connection in this harness (`test_client::params`).
const CHANNELS: usize = 2;

/// Room in the client's output kept for its own key-exchange messages.
const CLIENT_RESERVE: usize = 1024;

/// What the edge holds for a channel.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Chan {
    /// A session whose process runs (`done`: it exited and `channel_finish` was called).
    Session { done: bool },
    /// A `direct-tcpip` connect under way: `channel_open_result` is owed.
    Connecting,
    /// A connected TCP stream or an agent connection.
    Stream { done: bool },
}

#[derive(Default)]
struct Edge {
    chans: [Option<Chan>; CHANNELS],
}

impl Edge {
    /// Answers the connection's events as the test host does, and follows what they asked
    /// of the edge, in order.
    fn update(&mut self, conn: &mut Conn, host: &mut TestHost, now: u64) {
        host.settle(conn, now);
        for e in host.events.drain(..) {
            let (ch, state) = match e {
                ChannelEvent::Started(ch) => (ch, Some(Chan::Session { done: false })),
                ChannelEvent::Connecting(ch) => (ch, Some(Chan::Connecting)),
                ChannelEvent::Freed(ch) => (ch, None),
            };
            if let Some(slot) = self.chans.get_mut(ch) {
                *slot = state;
            }
        }
    }

    /// A channel with a process or stream that may still produce output.
    fn running(&self, ch: usize) -> bool {
        matches!(
            self.chans[ch],
            Some(Chan::Session { done: false } | Chan::Stream { done: false })
        )
    }
}

/// `QUOLL_FUZZ_TRACE=1`: print each step and the server's messages (to check a seed).
fn trace() -> bool {
    static ON: OnceLock<bool> = OnceLock::new();
    *ON.get_or_init(|| std::env::var_os("QUOLL_FUZZ_TRACE").is_some())
}

/// Hands up to `max` bytes of the server's output to the client (the socket took them).
fn drain(conn: &mut Conn, c: &mut Client, max: usize) {
    let n = conn.output().len().min(max);
    let bytes = conn.output()[..n].to_vec();
    conn.output_sent(n);
    for p in c.absorb(&bytes) {
        if trace() {
            eprintln!("  server: message {} ({} bytes)", p[0], p.len());
        }
    }
}

type Ready = (Box<Conn>, TestHost, Client);

/// The connection right after the handshake (and login), per setting: made once, then
/// cloned for each input, because the handshake's signatures and key agreements cost far more
/// than anything the input itself makes the connection do.
fn start(flags: u8) -> Ready {
    thread_local! {
        static READY: RefCell<HashMap<u8, Ready>> = RefCell::new(HashMap::new());
    }
    READY.with(|ready| {
        let mut ready = ready.borrow_mut();
        let (conn, host, c) = ready.entry(flags).or_insert_with(|| {
            let policy = Policy {
                password: flags & 1 == 0,
                key_and_password: flags & 2 != 0,
                blank: flags & 64 != 0,
            };
            let login = flags & 4 != 0 && !policy.key_and_password;
            let strict = flags & 8 != 0;
            let window = if flags & 16 != 0 { 32768 } else { 65536 };
            let rekey_bytes = if flags & 32 != 0 { 16 * 1024 } else { 1 << 30 };
            let mut host = test_host();
            let mut conn = Conn::try_new(
                params(window, rekey_bytes, policy),
                0,
                &mut host.budget,
            )
            .expect("an unlimited budget");
            conn.start(&mut host);
            let mut c = Client::new();
            c.handshake(&mut conn, &mut host, strict);
            if login {
                c.login(&mut conn, &mut host);
            }
            (conn, host, c)
        });
        (conn.clone(), host.clone(), c.clone())
    })
}

fuzz_target!(|data: &[u8]| {
    let mut ops = Ops(data);
    let flags = ops.u8();
    let (mut conn, mut host, mut c) = start(flags & 127);
    if flags & 64 != 0 {
        conn.set_timers(Timers {
            keepalive: 2,
            idle: 30,
            max_session: 600,
        });
    }

    let mut watch = Watch::default();
    let mut edge = Edge::default();
    let mut now = 0u64;
    edge.update(&mut conn, &mut host, now);
    watch.check(&conn);
    // The fuzzer sent key-exchange messages of its own: the client can no longer follow the
    // server's keys, and its failure to read them is no finding.
    let mut own_kex = false;
    let mut last: &[u8] = &[];
    while !ops.is_empty() && !watch.closed() {
        let op = ops.u8() % 13;
        if trace() {
            eprintln!("step {op}");
        }
        match op {
            0..=3 | 12 => {
                // A payload, or the last one again up to 40 times (a flood from a short
                // input: data past the window, requests past every limit; more would only
                // slow every input that floods, since each packet is sealed and opened).
                let times = if op == 12 {
                    ops.u8() % 41
                } else {
                    let len = usize::from(ops.u16());
                    last = ops.bytes(len);
                    1
                };
                own_kex |= matches!(
                    last.first(),
                    Some(&(msg::KEXINIT | msg::NEWKEYS | msg::KEX_ECDH_INIT))
                );
                for _ in 0..times {
                    // A client whose peer does not read stops writing; room is kept for its
                    // own key-exchange messages (KEXINIT, KEX_ECDH_INIT, NEWKEYS).
                    if c.out.room() < last.len() + CLIENT_RESERVE {
                        c.deliver(&mut conn, &mut host, now, usize::MAX);
                    }
                    if c.out.room() < last.len() + CLIENT_RESERVE {
                        break;
                    }
                    let _ = c.out.packet(0, |w| w.raw(last));
                }
            }
            4 => {
                let n = match ops.u16() {
                    0 => usize::MAX,
                    n => usize::from(n),
                };
                c.deliver(&mut conn, &mut host, now, n);
            }
            5 => {
                let n = match ops.u16() {
                    0 => usize::MAX,
                    n => usize::from(n),
                };
                drain(&mut conn, &mut c, n);
            }
            6 => {
                now += u64::from(ops.u16()) * 10;
                conn.tick(&mut host, now);
                if conn.wants_input() {
                    conn.received(0, &mut host, now);
                }
            }
            7 => {
                // Process output (or a stream's data) for the client.
                let ch = usize::from(ops.u8()) % CHANNELS;
                let ext = ops.u8() & 1 == 1;
                let want = usize::from(ops.u16());
                if edge.running(ch) {
                    let n = conn.channel_send_room(ch).min(want);
                    if n > 0 {
                        let data = vec![b'x'; n];
                        assert!(
                            conn.channel_send(ch, ext, &data),
                            "channel_send refused bytes within its room"
                        );
                    }
                }
            }
            8 => {
                // The process read some of its stdin.
                let ch = usize::from(ops.u8()) % CHANNELS;
                let want = usize::from(ops.u16());
                if edge.chans[ch].is_some() {
                    let n = conn.channel_input(ch).len().min(want);
                    conn.channel_consumed(ch, n, &mut host);
                }
            }
            9 => {
                // The process's output ended (EOF), or it exited.
                let ch = usize::from(ops.u8()) % CHANNELS;
                let how = ops.u8();
                if edge.running(ch) {
                    if how & 1 == 1 {
                        conn.channel_send_eof(ch, &mut host);
                    } else {
                        let session = matches!(edge.chans[ch], Some(Chan::Session { .. }));
                        let exit = match (session, how >> 1 & 3) {
                            (true, 1) => Some(ExitInfo::Status(u32::from(how >> 3))),
                            (true, 2) => Some(ExitInfo::Signal("TERM", how & 8 != 0)),
                            _ => None,
                        };
                        edge.chans[ch] = Some(if session {
                            Chan::Session { done: true }
                        } else {
                            Chan::Stream { done: true }
                        });
                        conn.channel_finish(ch, exit, &mut host);
                    }
                }
            }
            10 => {
                // A connect finished, or a forwarded or agent connection arrived.
                let how = ops.u8();
                let connecting = (0..CHANNELS).find(|&ch| edge.chans[ch] == Some(Chan::Connecting));
                if let Some(ch) = connecting {
                    let ok = how & 1 == 1;
                    edge.chans[ch] = ok.then_some(Chan::Stream { done: false });
                    conn.channel_open_result(ch, ok, &mut host);
                } else {
                    let what = if how & 1 == 1 {
                        Outgoing::Agent
                    } else {
                        Outgoing::ForwardedTcpip {
                            address: "127.0.0.1",
                            port: 4242,
                            originator: "10.0.0.1",
                            originator_port: u32::from(ops.u16()),
                        }
                    };
                    if let Some(ch) = conn.channel_open(&what, &mut host) {
                        edge.chans[ch] = Some(Chan::Stream { done: false });
                    }
                }
            }
            _ => {
                // 11: the client starts a key exchange.
                c.start_kex();
            }
        }
        edge.update(&mut conn, &mut host, now);
        watch.check(&conn);
        if let (Some(why), false) = (c.lost, own_kex) {
            panic!("the client could not read the server's output: {why}");
        }
    }
    if trace() {
        eprintln!(
            "settling; started {:?}, freed {:?}",
            host.started, host.freed
        );
    }
    // The rest of the conversation: everything queued reaches the other side.
    for _ in 0..8 {
        if watch.closed() {
            break;
        }
        c.deliver(&mut conn, &mut host, now, usize::MAX);
        edge.update(&mut conn, &mut host, now);
        watch.check(&conn);
        drain(&mut conn, &mut c, usize::MAX);
        watch.check(&conn);
        now += 400;
        conn.tick(&mut host, now);
        if conn.wants_input() {
            conn.received(0, &mut host, now);
        }
        edge.update(&mut conn, &mut host, now);
        watch.check(&conn);
        if let (Some(why), false) = (c.lost, own_kex) {
            panic!("the client could not read the server's output: {why}");
        }
    }
    if trace() {
        eprintln!(
            "end: closing {:?}, client lost {:?}",
            conn.closing(),
            c.lost
        );
    }
});
