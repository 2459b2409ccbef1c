//! The edge's stand-in for the connection tests and the fuzz targets: fixed keys and
//! randomness, the core's services (`Host`, `Buffers`), and every event the core waits on
//! answered at once (`settle`), recording what was asked.

use super::auth::Question;
use super::budget::{self, Budget};
use super::channel::Buffers;
use super::conn::{Answer, Conn, Event, GlobalReply, Host, Params, Timers};
use super::crypto::{public_blob, Ed25519Key, ED25519_BLOB_LEN, ED25519_SIG_BLOB_LEN};
use super::test_client::Client;
use std::sync::OnceLock;

static HOST_KEY: OnceLock<Ed25519Key> = OnceLock::new();

/// The key with seed `[seed; 32]`, made once: deriving an Ed25519 key costs a scalar
/// multiplication, which a fuzz target would otherwise pay on every input.
pub(super) fn key(cell: &'static OnceLock<Ed25519Key>, seed: u8) -> &'static Ed25519Key {
    cell.get_or_init(|| Ed25519Key::from_seed(&[seed; 32]))
}

/// The edge's stand-in: fixed keys and randomness; records what the core asked of it.
#[derive(Clone)]
pub struct TestHost {
    /// Leave authentication questions unanswered (an edge whose helper has not replied yet).
    pub hold: bool,
    pub key: &'static Ed25519Key,
    pub allowed: [u8; ED25519_BLOB_LEN],
    pub counter: u8,
    pub started: Vec<(usize, Option<Vec<u8>>)>,
    pub freed: Vec<usize>,
    pub direct: Vec<(usize, String, u32)>,
    /// The attempts the core reported (what the edge would log).
    pub reports: Vec<(super::auth::Attempt, super::auth::Outcome)>,
    /// The same channel events in the order they came, for a harness that plays the edge.
    pub events: Vec<ChannelEvent>,
    /// The connection's and its channels' buffers.
    pub budget: Budget,
    /// How many bytes of each CHANNEL_DATA `deliver` takes (a sink's room); 0: none.
    pub sink_room: usize,
    /// What `deliver` took, by channel.
    pub delivered: Vec<(usize, Vec<u8>)>,
}

/// What the core asked of the edge about a channel.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChannelEvent {
    /// A session's process was started.
    Started(usize),
    /// A `direct-tcpip` connect began; `Conn::channel_open_result` is owed.
    Connecting(usize),
    Freed(usize),
}

impl Host for TestHost {
    fn random(&mut self, buf: &mut [u8]) {
        for b in buf {
            self.counter = self.counter.wrapping_add(1);
            *b = self.counter;
        }
    }
    fn host_key_blob(&self) -> [u8; ED25519_BLOB_LEN] {
        self.key.public_blob()
    }
    fn sign(&mut self, data: &[u8]) -> [u8; ED25519_SIG_BLOB_LEN] {
        self.key.sign_blob(data)
    }
    fn banner(&self) -> &[u8] {
        b"welcome\n"
    }
}

impl Buffers for TestHost {
    fn window_buffer(&mut self, _: &str, bytes: usize) -> Option<Box<[u8]>> {
        self.budget.buffer(bytes).ok()
    }
    fn window_freed(&mut self, buf: Box<[u8]>, grown: usize) {
        self.budget.free_grown(buf, grown);
    }
    fn grow_window(&mut self, old: Box<[u8]>, bytes: usize) -> Result<Box<[u8]>, Box<[u8]>> {
        self.budget.grow(old, bytes)
    }
    fn deliver(&mut self, ch: usize, data: &[u8]) -> usize {
        let n = data.len().min(self.sink_room);
        if n > 0 {
            self.delivered.push((ch, data[..n].to_vec()));
        }
        n
    }
}

impl TestHost {
    /// The edge's answer to an authentication question: alice's key and password, the
    /// blank account `blank`.
    pub fn decide(&self, q: Question) -> bool {
        match q {
            Question::Key { user, blob, .. } => user == "alice" && blob == self.allowed,
            Question::Password { user, password } => user == "alice" && password == b"open sesame",
            Question::Blank { user } => user == "blank",
        }
    }

    /// Answers the connection's events at once, as an edge with a fast helper would
    /// (authentication questions stay unanswered while `hold` is set).
    pub fn settle(&mut self, conn: &mut Conn, now: u64) {
        while let Some(ev) = conn.event() {
            let answer = match ev {
                Event::Auth(_) if self.hold => return,
                Event::Auth(q) => {
                    let yes = self.decide(q);
                    if let Some(r) = conn.resume_auth(yes, self, now) {
                        self.reports.push((r.attempt, r.outcome));
                    }
                    continue;
                }
                Event::AuthReport(r) => {
                    self.reports.push((r.attempt, r.outcome));
                    Answer::Yes
                }
                Event::SessionStart { ch, start } => {
                    self.started.push((ch, start.command.map(|c| c.to_vec())));
                    self.events.push(ChannelEvent::Started(ch));
                    Answer::Yes
                }
                Event::AgentRequest { .. } => Answer::Yes,
                Event::DirectTcpip { ch, req } => {
                    self.direct.push((ch, req.host.to_string(), req.port));
                    let ok = req.host != "refused";
                    if ok {
                        self.events.push(ChannelEvent::Connecting(ch));
                    }
                    Answer::from_bool(ok)
                }
                Event::GlobalRequest { name, .. } => Answer::Global(if name == "tcpip-forward" {
                    GlobalReply::Port(4242)
                } else {
                    GlobalReply::Failure
                }),
                Event::WindowChange { .. } | Event::Signal { .. } => Answer::Yes,
                Event::ChannelGone { ch } => {
                    self.freed.push(ch);
                    self.events.push(ChannelEvent::Freed(ch));
                    Answer::Yes
                }
            };
            conn.resume(answer, self, now);
        }
    }
}

/// The edge's stand-in: host key from seed 2, the client's key (seed 3) allowed for "alice",
/// randomness a counter.
pub fn test_host() -> TestHost {
    TestHost {
        key: key(&HOST_KEY, 2),
        allowed: public_blob(&Client::user_key().public_key()),
        counter: 0,
        started: vec![],
        freed: vec![],
        direct: vec![],
        reports: vec![],
        events: vec![],
        sink_room: 0,
        delivered: vec![],
        hold: false,
        budget: Budget::new(usize::MAX, budget::zeroed),
    }
}

/// Two channels, three authentication attempts, a rekey after an hour, no timers.
pub fn params(window: u32, rekey_bytes: u64, policy: super::auth::Policy) -> Params {
    Params {
        window,
        max_channels: 2,
        max_auth_tries: 3,
        rekey_bytes,
        rekey_secs: 3600,
        auth: policy,
        timers: Timers::default(),
    }
}
