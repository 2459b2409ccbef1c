//! The `ssh-userauth` service: SERVICE_REQUEST, and USERAUTH_REQUEST and INFO_RESPONSE,
//! handled by `auth::Auth` and answered here. A question for the edge holds the request
//! (`Event::Auth`, answered by `resume_auth`); an attempt finished without the edge that
//! deserves a log line holds it too, until the edge has read its report
//! (`Event::AuthReport`). The core logs nothing: the edge logs every attempt from its
//! `Report`.

use super::{fail, no_space, Conn, Disconnect, Flow, Held, Host, State, Wait};
use crate::proto::auth::{self, Attempt, Outcome, Question, Report, Step};
use crate::proto::msg::{self, reason};
use crate::proto::packet::Output;
use crate::proto::wire::Reader;

impl State {
    /// SERVICE_REQUEST: `ssh-userauth` only, followed by the `-b` banner the first time.
    pub(super) fn on_service_request(
        &mut self,
        out: &mut Output,
        payload: &[u8],
        host: &mut dyn Host,
    ) -> Result<(), Disconnect> {
        let mut r = Reader::new(payload);
        let _ = r.u8();
        let name = r
            .string()
            .map_err(|_| fail(reason::PROTOCOL_ERROR, "malformed service request"))?;
        // Until login, ssh-userauth may be asked for again, as OpenSSH's sshd allows:
        // paramiko asks before every method it tries.
        if name != b"ssh-userauth" || self.auth.done {
            return Err(fail(reason::SERVICE_NOT_AVAILABLE, "service not available"));
        }
        let first = !self.service;
        self.service = true;
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
        Ok(())
    }

    pub(super) fn on_userauth(
        &mut self,
        out: &mut Output,
        payload: &[u8],
        host: &mut dyn Host,
        now: u64,
    ) -> Result<Flow, Disconnect> {
        let sid = self.session_id.unwrap_or([0; 32]);
        let step = if payload[0] == auth::INFO_RESPONSE {
            self.auth.info_response(payload)
        } else {
            self.auth.request(payload, &sid)
        };
        match step.map_err(auth_error)? {
            Step::Ask => Ok(Flow::Hold(Wait::Auth)),
            Step::Done(outcome, attempt) => {
                self.auth_reply(out, outcome, payload, host, now)?;
                Ok(if reported(outcome, attempt) {
                    Flow::Hold(Wait::AuthReport(outcome, attempt))
                } else {
                    Flow::Next
                })
            }
        }
    }

    /// Queues the reply to an attempt (or, for a wrong password, the time the FAILURE is
    /// due). Too many failures sends nothing: the connection ends once the edge has the report.
    fn auth_reply(
        &mut self,
        out: &mut Output,
        outcome: Outcome,
        payload: &[u8],
        host: &mut dyn Host,
        now: u64,
    ) -> Result<(), Disconnect> {
        let auth = &mut self.auth;
        let methods = auth.methods();
        match outcome {
            Outcome::Success => out.packet(0, |w| w.u8(msg::USERAUTH_SUCCESS)),
            Outcome::PkOk => {
                let (alg, blob) = auth::pk_ok_fields(payload)
                    .ok_or_else(|| fail(reason::PROTOCOL_ERROR, "malformed publickey request"))?;
                out.packet(0, |w| {
                    w.u8(msg::USERAUTH_PK_OK)?;
                    w.string(alg)?;
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
            Outcome::TooMany => Ok(()),
        }
        .map_err(no_space)
    }

    /// The report of the attempt `payload` made (the user of a keyboard-interactive answer
    /// is the one its exchange began with).
    fn report(&self, payload: &[u8], outcome: Outcome, attempt: Attempt) -> Report {
        // Only a publickey attempt names its key; the request is parsed for it once.
        let fields = match attempt {
            Attempt::Key | Attempt::UnknownKey | Attempt::BadSignature | Attempt::RefusedKey => {
                auth::pk_ok_fields(payload)
            }
            _ => None,
        };
        Report {
            user: self.log_user(payload),
            attempt,
            outcome,
            key: fields
                .map(|(_, blob)| auth::key_description(blob))
                .unwrap_or_default(),
            detail: match (attempt, fields) {
                (Attempt::RefusedKey, Some((alg, blob))) => auth::refusal(alg, blob),
                _ => String::new(),
            },
            failures: self.auth.failures(),
        }
    }

    /// The user an attempt in `payload` is for, made safe for a log line.
    fn log_user(&self, payload: &[u8]) -> heapless::String<64> {
        if payload.first() == Some(&auth::INFO_RESPONSE) {
            auth::printable(self.auth.pending_user().as_bytes())
        } else {
            user_for_log(payload)
        }
    }

    /// The report a held attempt waits to give (`Event::AuthReport`).
    pub(super) fn held_report(&self, payload: &[u8]) -> Option<Report> {
        match self.held?.wait {
            Wait::AuthReport(outcome, attempt) => Some(self.report(payload, outcome, attempt)),
            _ => None,
        }
    }
}

/// Whether an attempt finished by the core alone is worth a log line.
fn reported(outcome: Outcome, attempt: Attempt) -> bool {
    outcome == Outcome::TooMany
        || matches!(
            attempt,
            Attempt::Key
                | Attempt::UnknownKey
                | Attempt::RefusedKey
                | Attempt::BadSignature
                | Attempt::NeedKey
                | Attempt::PasswordChange
        )
}

impl Conn {
    /// The decision a held authentication request waits for, if any (`Event::Auth`). The
    /// edge answers with `resume_auth`, now or later; until then nothing more is read from
    /// this connection.
    pub fn question(&self) -> Option<Question<'_>> {
        let h = self.st.held.filter(|h| h.wait == Wait::Auth)?;
        self.st.auth.question(
            self.input
                .payload_buf()
                .get(h.start as usize..h.end as usize)?,
        )
    }

    /// The edge's answer to `question()`: the request is finished (replied to, its bytes
    /// wiped) and the connection goes on with what the client sent after it. Returns the
    /// attempt's report, for the edge to log and to commit the identity it checked only on
    /// `Outcome::Success` (or keep a `-t` key step on `Partial`); None when nothing was asked.
    pub fn resume_auth(&mut self, yes: bool, host: &mut dyn Host, now: u64) -> Option<Report> {
        let Held { start, end, .. } = self.st.held.filter(|h| h.wait == Wait::Auth)?;
        self.st.held = None;
        let (a, b) = (start as usize, end as usize);
        let result = {
            let payload = &self.input.payload_buf()[a..b];
            // Named before the answer ends a keyboard-interactive exchange.
            let user = self.st.log_user(payload);
            match self.st.auth.answer(payload, yes).map_err(auth_error) {
                Ok((outcome, attempt)) => self
                    .st
                    .auth_reply(&mut self.output, outcome, payload, host, now)
                    .map(|_| Report {
                        user,
                        ..self.st.report(payload, outcome, attempt)
                    }),
                Err(d) => Err(d),
            }
        };
        // It may hold a password: no copy stays in the buffer.
        self.input.wipe(a..b);
        self.input.consume_packet();
        self.st.last_activity = now;
        match result {
            Ok(report) => {
                self.go_on(host, now);
                Some(report)
            }
            Err(d) => {
                self.disconnect(d);
                None
            }
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
        auth::AuthError::NoMemory => fail(reason::BY_APPLICATION, "out of memory"),
    }
}

/// What a report of too many failures ends the connection with.
pub(super) fn too_many() -> Disconnect {
    fail(
        reason::NO_MORE_AUTH_METHODS_AVAILABLE,
        "Too many authentication failures",
    )
}

/// The user name of a USERAUTH_REQUEST, made safe for a log line.
fn user_for_log(payload: &[u8]) -> heapless::String<64> {
    let mut r = Reader::new(payload);
    let _ = r.u8();
    auth::printable(r.string().unwrap_or(b""))
}
