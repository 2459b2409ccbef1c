//! What the core needs the edge for, as events. A packet that asks for a decision (may this
//! key log in, start this session, open this connection, listen on this port) or that the edge
//! must act on (resize a pty, deliver a signal, log an attempt) stays in the input buffer,
//! unconsumed, and the connection reads and handles nothing more until the edge answers
//! (`resume_auth`, `resume`): `event` re-reads what it asks from the packet itself, so nothing
//! is copied and nothing grows with what the peer sends. A channel that is gone is a flag on
//! the channel until the edge has let go of its end. The daemon answers at once where it can,
//! so on the wire nothing changes; a slow answer (a password hash) holds only its connection.

use super::userauth::too_many;
use super::{Conn, GlobalReply, Host, Wait};
use crate::proto::auth::{Outcome, Question, Report};
use crate::proto::channel::{Asked, DirectTcpip, PtySize, SessionStart, Wait as ChanWait};
use crate::proto::wire::Reader;

/// What the connection waits for the edge to decide or to take note of.
#[derive(Clone)]
pub enum Event<'a> {
    /// May this key or password log in? Answered by `resume_auth`.
    Auth(Question<'a>),
    /// An attempt the core finished alone, for the log. `resume` once logged.
    AuthReport(Report),
    /// `shell`, `exec` or `subsystem` on channel `ch`: `Answer::Yes` once the process runs.
    SessionStart { ch: usize, start: SessionStart<'a> },
    /// `auth-agent-req@openssh.com` on session `ch`: `Answer::Yes` once its socket exists.
    AgentRequest { ch: usize },
    /// A `direct-tcpip` open as channel `ch`: `Answer::Yes` once connecting has started
    /// (`Conn::channel_open_result` follows), `No` to refuse it (prohibited).
    DirectTcpip { ch: usize, req: DirectTcpip<'a> },
    /// A global request after login (`tcpip-forward`, `cancel-tcpip-forward`, ...); `data`
    /// is what follows want-reply. `Answer::Global`.
    GlobalRequest { name: &'a str, data: &'a [u8] },
    /// The client resized session `ch`'s terminal. `resume` once done.
    WindowChange { ch: usize, size: PtySize },
    /// A signal by its SSH name ("TERM", "INT", ...) for session `ch`. `resume` once sent.
    Signal { ch: usize, name: &'a str },
    /// Channel `ch` is closed: release its descriptors, hang up its process. `resume` once
    /// done; the channel number is not reused before.
    ChannelGone { ch: usize },
}

/// The edge's answer to the current event (notifications take any).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Answer {
    Yes,
    No,
    Global(GlobalReply),
}

impl Answer {
    pub fn from_bool(yes: bool) -> Answer {
        if yes {
            Answer::Yes
        } else {
            Answer::No
        }
    }
}

impl super::State {
    /// Whether an event waits for the edge (then nothing more is read).
    pub(super) fn waiting(&self) -> bool {
        self.held.is_some() || self.channels.gone().is_some()
    }
}

impl Conn {
    /// What waits for the edge, if anything: a held packet's question first, then channels
    /// that are gone. The same event is named until it is answered.
    pub fn event(&self) -> Option<Event<'_>> {
        let Some(h) = self.st.held else {
            return self.st.channels.gone().map(|ch| Event::ChannelGone { ch });
        };
        let payload = self
            .input
            .payload_buf()
            .get(h.start as usize..h.end as usize)?;
        match h.wait {
            Wait::Auth => self.question().map(Event::Auth),
            Wait::AuthReport(..) => self.st.held_report(payload).map(Event::AuthReport),
            Wait::Global => {
                let mut r = Reader::new(payload);
                r.u8().ok()?;
                let name = r.text().ok()?;
                r.bool().ok()?;
                Some(Event::GlobalRequest {
                    name,
                    data: r.rest(),
                })
            }
            Wait::Channel(w) => Some(match (w, self.st.channels.asked(w, payload)?) {
                (ChanWait::Session(ch), Asked::Session(start)) => Event::SessionStart { ch, start },
                (ChanWait::Agent(ch), Asked::Agent) => Event::AgentRequest { ch },
                (ChanWait::DirectTcpip(ch), Asked::DirectTcpip(req)) => {
                    Event::DirectTcpip { ch, req }
                }
                (ChanWait::WindowChange(ch), Asked::WindowChange(size)) => {
                    Event::WindowChange { ch, size }
                }
                (ChanWait::Signal(ch), Asked::Signal(name)) => Event::Signal { ch, name },
                _ => return None,
            }),
        }
    }

    /// The edge's answer to `event()` (anything but `Event::Auth`, which `resume_auth`
    /// answers): the held packet is finished, its reply queued, and the connection goes on
    /// with what the client sent after it.
    pub fn resume(&mut self, answer: Answer, host: &mut dyn Host, now: u64) {
        let Some(h) = self.st.held else {
            if let Some(ch) = self.st.channels.gone() {
                self.st.channels.forget(ch);
                self.go_on(host, now);
            }
            return;
        };
        let (a, b) = (h.start as usize, h.end as usize);
        let payload = &self.input.payload_buf()[a..b];
        let result = match h.wait {
            Wait::Auth => return,
            Wait::AuthReport(outcome, _) => {
                // It may hold a password.
                self.input.wipe(a..b);
                if outcome == Outcome::TooMany {
                    Err(too_many())
                } else {
                    Ok(())
                }
            }
            Wait::Global => {
                let mut r = Reader::new(payload);
                let _ = r.u8();
                let _ = r.text();
                if r.bool().unwrap_or(false) {
                    let reply = match answer {
                        Answer::Global(g) => g,
                        Answer::Yes => GlobalReply::Success,
                        Answer::No => GlobalReply::Failure,
                    };
                    // Fits: room was checked before the request was held.
                    let _ = self.st.global_replies.push_back(reply);
                }
                Ok(())
            }
            Wait::Channel(w) => self
                .st
                .channels
                .resume(w, payload, answer == Answer::Yes, host)
                .map_err(super::chan_error),
        };
        self.st.held = None;
        self.input.consume_packet();
        self.st.last_activity = now;
        match result {
            Ok(()) => self.go_on(host, now),
            Err(d) => self.disconnect(d),
        }
    }
}
