//! The log lines about admission: one kind per verdict or failure, each rate-limited on its
//! own so that a flood of connections cannot flood the log.

use super::{Admission, Cap, Refusal, Verdict};
use crate::inet::Sock;
use log::warn;
use std::net::SocketAddr;

/// Kinds of log line, each rate-limited on its own (`note`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Note {
    Parked,
    Refused,
    Penalised,
    Dropped,
    Displaced,
    AcceptFailed,
    Descriptors,
    PenaltyStarts,
}

pub(super) const NOTES: usize = 8;

impl Note {
    pub(super) const ALL: [Note; NOTES] = [
        Note::Parked,
        Note::Refused,
        Note::Penalised,
        Note::Dropped,
        Note::Displaced,
        Note::AcceptFailed,
        Note::Descriptors,
        Note::PenaltyStarts,
    ];

    /// What the held-back lines of this kind were about, for the line that counts them.
    pub fn what(self) -> &'static str {
        match self {
            Note::Parked => "connections made to wait",
            Note::Refused => "connections refused at a limit",
            Note::Penalised => "connections refused from penalised sources",
            Note::Dropped => "connections dropped early (--max-startups)",
            Note::Displaced => "connections displaced",
            Note::AcceptFailed => "failed accepts",
            Note::Descriptors => "connections closed for lack of descriptors",
            Note::PenaltyStarts => "sources penalised",
        }
    }
}

impl Admission {
    /// A log line of this kind: `Some(n)` to log it now (n lines held back before it).
    pub fn note(&mut self, kind: Note, now: u64) -> Option<u32> {
        self.log.event(kind as usize, now)
    }

    /// Held-back lines due to be counted in one line now.
    pub fn notes_due(&mut self, now: u64) -> Option<(Note, u32)> {
        let (k, n) = self.log.due(now)?;
        Some((Note::ALL[k], n))
    }

    /// Logs `line` unless a line of this kind went out less than `LOG_INTERVAL_MS` ago;
    /// then it is only counted, for the next line of its kind or `log_held`.
    #[inline(never)]
    pub fn log(&mut self, kind: Note, now: u64, line: core::fmt::Arguments) {
        let Some(n) = self.note(kind, now) else {
            return;
        };
        let more = if n > 0 {
            format!(" ({n} more {} since the last such line)", kind.what())
        } else {
            String::new()
        };
        let level = match kind {
            Note::Parked | Note::Displaced => log::Level::Info,
            _ => log::Level::Warn,
        };
        log::log!(level, "{line}{more}");
    }

    /// Logs the counts of lines held back whose interval has passed (the loop calls this
    /// every turn; `next_wake` says when one is due).
    pub fn log_held(&mut self, now: u64) {
        while let Some((kind, n)) = self.notes_due(now) {
            warn!("{n} more {} since the last such line", kind.what());
        }
    }

    /// Logs a verdict on a connection from `peer` (rate-limited per kind).
    #[inline(never)]
    pub fn log_verdict(&mut self, v: Verdict, peer: SocketAddr, now: u64, max_conns: usize) {
        let who = Sock(peer);
        let (kind, cap) = match v {
            Verdict::Serve | Verdict::Displace(_) => return,
            Verdict::Park(Cap::Total(n)) => {
                let f = format_args!(
                    "Maximum of {n} unauthenticated connections reached: new connections wait"
                );
                return self.log(Note::Parked, now, f);
            }
            Verdict::Park(Cap::Slots) => {
                let f = format_args!(
                    "Maximum of {max_conns} connections reached: new connections wait"
                );
                return self.log(Note::Parked, now, f);
            }
            Verdict::Refuse(Refusal::Penalised(ms)) => {
                let secs = ms.div_ceil(1000);
                let f = format_args!(
                    "Connection from {who} refused: source penalised for another {secs} s"
                );
                return self.log(Note::Penalised, now, f);
            }
            Verdict::Refuse(Refusal::Dropped(n)) => {
                let f = format_args!(
                    "Connection from {who} dropped: {n} unauthenticated connections (--max-startups)"
                );
                return self.log(Note::Dropped, now, f);
            }
            Verdict::Park(c) => (Note::Parked, c),
            Verdict::Refuse(Refusal::Over(c)) => (Note::Refused, c),
        };
        let verb = if kind == Note::Parked {
            "waits"
        } else {
            "refused"
        };
        let (n, what) = match cap {
            Cap::Address(n) => (n, "unauthenticated connections from this address"),
            Cap::Network(n) => (n, "unauthenticated connections from its network"),
            Cap::Total(n) => (n, "unauthenticated connections and no room to wait"),
            Cap::Slots => (max_conns, "connections and no room to wait"),
        };
        let f = format_args!("Connection from {who} {verb}: {n} {what}");
        self.log(kind, now, f);
    }
}
