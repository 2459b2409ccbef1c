//! The edge as the protocol core sees one connection: the services it calls (`Host`,
//! `Buffers`) and the events it waits on (`Edge::serve`), answered with that connection's
//! channels, identity and the daemon's policy. Each channel kind's answers are in
//! `channels/`; the authentication questions and the log of every attempt in `login.rs`.

use super::channels::{self, agent, direct_tcpip, forwarded_tcpip, session, End};
use super::login::Login;
use super::{forward, memory};
use crate::accounts::users;
use crate::authkeys::KeyOptions;
use crate::inet::Sock;
use crate::options::Options;
use crate::proto::budget::Budget;
use crate::proto::channel::Buffers;
use crate::proto::conn::{Answer, Conn, Event, GlobalReply, Host};
use crate::proto::crypto::{Ed25519Key, ED25519_BLOB_LEN, ED25519_SIG_BLOB_LEN};
use log::{error, warn};
use std::net::SocketAddr;

/// One connection's side of the edge, borrowed from its slot for one call into the core.
pub(super) struct Edge<'a> {
    pub(super) key: &'a Ed25519Key,
    pub(super) opts: &'a Options,
    pub(super) peer: SocketAddr,
    pub(super) local: SocketAddr,
    /// The loop's end of each channel, by channel number.
    pub(super) ends: &'a mut [Option<End>],
    /// The account logged in, and its key's authorized_keys options: set only on success.
    pub(super) user: &'a mut Option<users::User>,
    pub(super) key_options: &'a mut KeyOptions,
    pub(super) forwards: &'a mut Vec<forward::Forward>,
    pub(super) daemon_uid: u32,
    pub(super) banner: &'a [u8],
    pub(super) login: &'a mut Login,
    /// The loop's clock (ms) for this turn.
    pub(super) now: u64,
    pub(super) budget: &'a mut Budget,
}

/// Randomness for the core; without it no key exchange is safe, so quoll stops rather than
/// go on weakly.
pub(super) fn random(buf: &mut [u8]) {
    if let Err(e) = crate::sys::random::fill(buf) {
        error!("getrandom failed: {e}");
        std::process::abort();
    }
}

/// Why a descriptor for a logged-in user's request was not created.
pub(super) fn short_of_descriptors(what: &str, peer: SocketAddr) {
    warn!(
        "{what} for {} refused: too few descriptors left",
        Sock(peer)
    );
}

impl Host for Edge<'_> {
    fn random(&mut self, buf: &mut [u8]) {
        random(buf)
    }

    fn host_key_blob(&self) -> [u8; ED25519_BLOB_LEN] {
        self.key.public_blob()
    }

    fn sign(&mut self, data: &[u8]) -> [u8; ED25519_SIG_BLOB_LEN] {
        self.key.sign_blob(data)
    }

    fn banner(&self) -> &[u8] {
        self.banner
    }
}

impl Buffers for Edge<'_> {
    fn window_buffer(&mut self, kind: &str, bytes: usize) -> Option<Box<[u8]>> {
        match self.budget.buffer(bytes) {
            Ok(b) => Some(b),
            Err(why) => {
                warn!(
                    "Channel {kind} for '{}' from {} refused: {}",
                    self.user.as_ref().map_or("", |u| u.name.as_str()),
                    Sock(self.peer),
                    memory::refusal(why, self.budget, bytes)
                );
                None
            }
        }
    }

    fn window_freed(&mut self, buf: Box<[u8]>, grown: usize) {
        self.budget.free_grown(buf, grown);
    }

    /// Only from the growth room (`event_loop`: what a full house of connections leaves).
    fn grow_window(&mut self, old: Box<[u8]>, bytes: usize) -> Result<Box<[u8]>, Box<[u8]>> {
        self.budget.grow(old, bytes)
    }

    /// The channel's input takes what it can at once (`channels::write_input`).
    fn deliver(&mut self, ch: usize, data: &[u8]) -> usize {
        match self.ends.get_mut(ch).and_then(|e| e.as_mut()?.io()) {
            Some(io) => channels::write_input(io, data),
            None => 0,
        }
    }
}

impl Edge<'_> {
    /// Answers what the connection waits for, as long as it can be answered at once: every
    /// event but an authentication question that needs a helper (`login.rs` answers that one
    /// later). Called after every call into the core.
    pub(super) fn serve(&mut self, conn: &mut Conn) {
        let now = self.now;
        while let Some(ev) = conn.event() {
            let answer = match ev {
                Event::Auth(_) => {
                    self.ask(conn, now);
                    if self.login.has_check() {
                        return;
                    }
                    continue;
                }
                Event::AuthReport(r) => {
                    self.log_report(&r);
                    Answer::Yes
                }
                Event::SessionStart { ch, start } => {
                    Answer::from_bool(session::start(self, ch, &start))
                }
                Event::AgentRequest { ch } => Answer::from_bool(agent::request(self, ch)),
                Event::DirectTcpip { ch, req } => {
                    Answer::from_bool(direct_tcpip::open(self, ch, &req))
                }
                Event::GlobalRequest { name, data } => Answer::Global(self.global(name, data)),
                Event::WindowChange { ch, size } => {
                    session::window_change(self, ch, size);
                    Answer::Yes
                }
                Event::Signal { ch, name } => {
                    session::signal(self, ch, name);
                    Answer::Yes
                }
                Event::ChannelGone { ch } => {
                    if let Some(end) = self.ends.get_mut(ch).and_then(Option::take) {
                        end.hang_up();
                    }
                    Answer::Yes
                }
            };
            conn.resume(answer, self, now);
        }
    }

    /// A global request after login: remote forwarding.
    fn global(&mut self, name: &str, data: &[u8]) -> GlobalReply {
        let mut r = crate::proto::wire::Reader::new(data);
        let (Ok(address), Ok(port)) = (r.text(), r.u32()) else {
            return GlobalReply::Failure;
        };
        match name {
            "tcpip-forward" => forwarded_tcpip::listen(self, address, port),
            "cancel-tcpip-forward" => forwarded_tcpip::cancel(self, address, port),
            _ => GlobalReply::Failure,
        }
    }
}

/// Whatever is left of a closed connection's channels: processes get SIGHUP.
pub(super) fn hang_up_all(ends: &[Option<End>]) {
    for end in ends.iter().flatten() {
        end.hang_up();
    }
}
