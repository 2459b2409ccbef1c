//! Time- and volume-driven work, and writing out what is owed: the delayed password FAILURE,
//! rekeying after `rekey_secs` or `rekey_bytes`, `-K` keepalives, `-I` and `-M`.

use super::{fail, Conn, Host, KexState, State, Timers, RESERVE};
use crate::proto::limits;
use crate::proto::msg::{self, reason};
use crate::proto::packet::Output;

impl Conn {
    /// Writes what channels and global requests owe, starts a rekey when one is due.
    pub fn flush(&mut self, host: &mut dyn Host) {
        self.st.flush(&mut self.output, host)
    }

    /// Time- and volume-driven work: a rekey after `rekey_secs` or `rekey_bytes`. Call once per
    /// loop turn.
    pub fn tick(&mut self, host: &mut dyn Host, now: u64) {
        let st = &mut self.st;
        let out = &mut self.output;
        if st.auth.reply_due.is_some_and(|t| now >= t) && st.closing.is_none() {
            st.auth.reply_due = None;
            let methods = st.auth.methods();
            let _ = out.packet(0, |w| {
                w.u8(msg::USERAUTH_FAILURE)?;
                w.string(methods.as_bytes())?;
                w.bool(false)
            });
        }
        st.timers(out, now);
        let idle = matches!(st.kex, KexState::Idle);
        // Only after authentication, so no authentication reply can fall inside our exchange.
        let due = now.saturating_sub(st.kex_started_at) >= st.rekey_secs * 1000
            || self.input.counters.bytes >= st.rekey_bytes
            || out.counters.bytes >= st.rekey_bytes;
        if idle && due && st.auth.done && st.closing.is_none() && out.room() >= RESERVE {
            st.kex_started_at = now;
            st.send_kexinit(out, host);
        }
        st.flush(out, host);
    }

    /// Replaces the `-K`/`-I`/`-M` timers (tests).
    pub fn set_timers(&mut self, t: Timers) {
        self.st.timers = t;
    }

    /// Milliseconds until `tick` has time-driven work, for the loop's poll timeout.
    pub fn next_tick(&self, now: u64) -> u64 {
        let st = &self.st;
        let t = st.timers;
        let mut due = st.kex_started_at + st.rekey_secs * 1000;
        let mut at = |d: Option<u64>| {
            if let Some(d) = d {
                due = due.min(d);
            }
        };
        at(st.auth.reply_due);
        at(st.keepalive_due());
        at((t.idle > 0).then(|| st.last_activity + t.idle * 1000));
        at((t.max_session > 0).then(|| st.started_at + t.max_session * 1000));
        due.saturating_sub(now)
    }

    /// Milliseconds until `spare` has buffers to hand back (`None`: not before more traffic),
    /// for the loop's poll timeout.
    pub fn next_spare(&self, now: u64) -> Option<u64> {
        let st = &self.st;
        if st.io_seen {
            return Some(limits::SPARE_AFTER_MS);
        }
        (!st.spared).then(|| (st.last_io + limits::SPARE_AFTER_MS).saturating_sub(now))
    }

    /// After `SPARE_AFTER_MS` without socket traffic, hands `release` every buffer that holds
    /// nothing (input, output, each open channel's receive buffer), once per quiet spell. Their
    /// contents are dead: the edge may give the pages back to the system, and they may come
    /// back as anything. Call once per loop turn.
    pub fn spare(&mut self, now: u64, release: &mut dyn FnMut(&mut [u8])) {
        let st = &mut self.st;
        if core::mem::take(&mut st.io_seen) {
            st.last_io = now;
            st.spared = false;
        }
        if st.spared || now < st.last_io + limits::SPARE_AFTER_MS {
            return;
        }
        st.spared = true;
        // A held packet's payload stays where `held` says.
        if st.held.is_none() {
            if let Some(b) = self.input.spare() {
                release(b);
            }
        }
        if let Some(b) = self.output.spare() {
            release(b);
        }
        st.channels.spare(release);
    }
}

impl State {
    /// Writes what channels and global requests owe (as room allows; not during our kex).
    pub(super) fn flush(&mut self, out: &mut Output, host: &mut dyn Host) {
        if self.closing.is_some() || self.sending_blocked() {
            return;
        }
        while let Some(&reply) = self.global_replies.front() {
            let r = out.packet(0, |w| match reply {
                super::GlobalReply::Failure => w.u8(msg::REQUEST_FAILURE),
                super::GlobalReply::Success => w.u8(msg::REQUEST_SUCCESS),
                super::GlobalReply::Port(p) => {
                    w.u8(msg::REQUEST_SUCCESS)?;
                    w.u32(p)
                }
            });
            if r.is_err() {
                return;
            }
            self.global_replies.pop_front();
        }
        let _ = self.channels.emit(out, 0, host);
    }

    /// `-K`, `-I`, `-M`: keepalive requests and the disconnects they lead to.
    fn timers(&mut self, out: &mut Output, now: u64) {
        if core::mem::take(&mut self.sent_data) {
            self.last_activity = now;
        }
        if self.closing.is_some() {
            return;
        }
        let t = self.timers;
        if t.max_session > 0 && now >= self.started_at + t.max_session * 1000 {
            self.disconnect(
                out,
                fail(reason::BY_APPLICATION, "Maximum session time reached"),
            );
            return;
        }
        if t.idle > 0 && now >= self.last_activity + t.idle * 1000 {
            self.disconnect(out, fail(reason::BY_APPLICATION, "Idle timeout"));
            return;
        }
        if let Some(due) = self.keepalive_due() {
            if now < due || self.sending_blocked() || out.room() < RESERVE {
                return;
            }
            if self.keepalives_missed >= limits::KEEPALIVE_MAX_MISSED {
                self.disconnect(out, fail(reason::CONNECTION_LOST, "Keepalive timeout"));
                return;
            }
            let _ = out.packet(0, |w| {
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
}
