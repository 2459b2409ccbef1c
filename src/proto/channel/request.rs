//! Channel requests (RFC 4254 §6): pty, env, the session start and the notifications a
//! running session gets (window-change, signal).
//!
//! A request only the edge can answer (start this session, make an agent socket) or that the
//! edge must act on (resize the pty, deliver a signal) is not handled here at once: `request`
//! returns a `Wait`, the packet stays held in the input buffer, and `Channels::event` names it
//! (re-read from the held packet) until the edge answers through `Channels::resume`. Its reply
//! is queued only then, so replies keep the order of the requests.

use super::chan::{Channel, Env};
use super::{Buffers, ChanError, Channels, DirectTcpip, Kind, PtyReq, PtySize, Refusal};
use crate::proto::limits::{MAX_COMMAND, MAX_SESSION_ENV};
use crate::proto::wire::Reader;

/// What a held channel packet waits for (the channel number it concerns).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Wait {
    /// `shell`, `exec` or `subsystem`: start the process?
    Session(usize),
    /// `auth-agent-req@openssh.com`: make an agent socket?
    Agent(usize),
    /// A `direct-tcpip` open: start connecting? (`Conn::channel_open_result` follows.)
    DirectTcpip(usize),
    /// `window-change` on a running pty session: resize it.
    WindowChange(usize),
    /// `signal` on a running session: deliver it.
    Signal(usize),
}

/// What the edge is asked about a channel, re-read from the held packet.
#[derive(Clone, Copy)]
pub enum Asked<'a> {
    Session(SessionStart<'a>),
    Agent,
    DirectTcpip(DirectTcpip<'a>),
    WindowChange(PtySize),
    Signal(&'a str),
}

/// What a `shell`, `exec` or `subsystem` request asks the edge to start.
#[derive(Clone, Copy)]
pub struct SessionStart<'a> {
    pub command: Option<&'a [u8]>,
    pub subsystem: Option<&'a str>,
    pub pty: Option<&'a PtyReq>,
    /// Accepted `env` pairs as `NAME=value` entries separated by NUL bytes.
    pub env: &'a [u8],
}

/// A CHANNEL_REQUEST's recipient, name and want-reply, and the reader at its own fields.
fn header(payload: &[u8]) -> Result<(usize, &str, bool, Reader<'_>), ChanError> {
    let mut r = Reader::new(payload);
    r.u8()?;
    let ch = r.u32()? as usize;
    let name = r.text()?;
    let want_reply = r.bool()?;
    Ok((ch, name, want_reply, r))
}

fn pty_size(r: &mut Reader) -> Result<PtySize, ChanError> {
    Ok(PtySize {
        cols: r.u32()?,
        rows: r.u32()?,
        width_px: r.u32()?,
        height_px: r.u32()?,
    })
}

impl Channel {
    /// Handles a CHANNEL_REQUEST for this channel (`ch`); `Some` when it waits for the edge.
    pub(super) fn request(&mut self, ch: usize, r: &mut Reader) -> Result<Option<Wait>, ChanError> {
        let name = r.text()?;
        let want_reply = r.bool()?;
        if self.close_in {
            return Err(ChanError::AfterClose);
        }
        let session = self.kind == Kind::Session;
        let wait = match name {
            _ if !session => None,
            "auth-agent-req@openssh.com" if !self.started => Some(Wait::Agent(ch)),
            "shell" | "exec" | "subsystem" if !self.started => {
                let long = name == "exec" && r.string()?.len() > MAX_COMMAND;
                let subsystem_ok = name != "subsystem" || r.text().is_ok();
                if !subsystem_ok {
                    return Err(ChanError::Malformed);
                }
                (!long).then_some(Wait::Session(ch))
            }
            "window-change" => {
                let size = pty_size(r)?;
                match &mut self.pty {
                    Some(p) => {
                        p.size = size;
                        self.started.then_some(Wait::WindowChange(ch))
                    }
                    None => None,
                }
            }
            "signal" => {
                r.text()?;
                self.started.then_some(Wait::Signal(ch))
            }
            _ => None,
        };
        if wait.is_some() {
            // The reply is queued when the edge answers; make sure there is room for it.
            if want_reply && self.replies.full() {
                return Err(ChanError::TooManyReplies);
            }
            return Ok(wait);
        }
        let ok = match name {
            _ if !session => false,
            "pty-req" if !self.started && self.pty.is_none() => {
                let term = r.text()?;
                let size = pty_size(r)?;
                let modes = r.string()?;
                let mut req = PtyReq {
                    term: heapless::String::new(),
                    size,
                    modes: heapless::Vec::new(),
                };
                let fits =
                    req.term.push_str(term).is_ok() && req.modes.extend_from_slice(modes).is_ok();
                if fits {
                    self.pty = Some(Box::new(req));
                }
                fits
            }
            "env" if !self.started => {
                let var = r.text()?;
                let value = r.text()?;
                self.add_env(var, value)
            }
            // A window-change with a pty before the session started: kept for the start.
            "window-change" => self.pty.is_some(),
            _ => false,
        };
        if want_reply && !self.replies.push(ok) {
            return Err(ChanError::TooManyReplies);
        }
        Ok(None)
    }

    /// Only LANG and LC_* are passed on (as OpenSSH's default AcceptEnv on Debian).
    fn add_env(&mut self, var: &str, value: &str) -> bool {
        let allowed = var == "LANG" || (var.starts_with("LC_") && var.len() > 3);
        let clean = var.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
            && !value.as_bytes().contains(&0);
        if !allowed || !clean || self.env_count >= MAX_SESSION_ENV {
            return false;
        }
        let env = self.env.get_or_insert_with(|| Box::new(Env::new()));
        let before = env.len();
        let ok = env.extend_from_slice(var.as_bytes()).is_ok()
            && env.push(b'=').is_ok()
            && env.extend_from_slice(value.as_bytes()).is_ok()
            && env.push(0).is_ok();
        if !ok {
            env.truncate(before);
            return false;
        }
        self.env_count += 1;
        true
    }
}

impl Channels {
    /// What the held `payload` asks the edge (`w` is what `handle` returned for it).
    pub fn asked<'a>(&'a self, w: Wait, payload: &'a [u8]) -> Option<Asked<'a>> {
        if let Wait::DirectTcpip(_) = w {
            let mut r = Reader::new(payload);
            r.u8().ok()?;
            r.string().ok()?;
            for _ in 0..3 {
                r.u32().ok()?;
            }
            return Some(Asked::DirectTcpip(DirectTcpip {
                host: r.text().ok()?,
                port: r.u32().ok()?,
                originator: r.text().ok()?,
                originator_port: r.u32().ok()?,
            }));
        }
        let (ch, name, _, mut r) = header(payload).ok()?;
        let c = self.slot(ch)?;
        Some(match w {
            Wait::Session(_) => Asked::Session(SessionStart {
                command: if name == "exec" {
                    Some(r.string().ok()?)
                } else {
                    None
                },
                subsystem: if name == "subsystem" {
                    Some(r.text().ok()?)
                } else {
                    None
                },
                pty: c.pty.as_deref(),
                env: c.env.as_deref().map_or(&[], |e| e.as_slice()),
            }),
            Wait::Agent(_) => Asked::Agent,
            Wait::WindowChange(_) => Asked::WindowChange(c.pty.as_ref()?.size),
            Wait::Signal(_) => Asked::Signal(r.text().ok()?),
            Wait::DirectTcpip(_) => return None,
        })
    }

    /// The edge's answer to the held `payload` (`ok`; notifications are always ok): the
    /// channel learns it, and the reply is queued.
    pub fn resume(
        &mut self,
        w: Wait,
        payload: &[u8],
        ok: bool,
        host: &mut dyn Buffers,
    ) -> Result<(), ChanError> {
        if let Wait::DirectTcpip(ch) = w {
            let Some(c) = self.slot_mut(ch).filter(|c| c.open) else {
                return Ok(());
            };
            if ok {
                return Ok(());
            }
            c.release(host);
            let id = c.peer_id;
            return self.refuse(id, Refusal::Prohibited);
        }
        let (ch, _, want_reply, _) = header(payload)?;
        let Some(c) = self.slot_mut(ch).filter(|c| c.open) else {
            return Ok(());
        };
        let ok = match w {
            Wait::Session(_) => {
                c.started = ok;
                ok
            }
            Wait::Agent(_) => ok,
            _ => true,
        };
        // Room was checked before the packet was held.
        if want_reply && !c.replies.push(ok) {
            return Err(ChanError::TooManyReplies);
        }
        Ok(())
    }
}
