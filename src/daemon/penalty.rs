//! Per-source penalties, as OpenSSH 9.8's `PerSourcePenalties`: a connection that ends
//! before login through failed authentication, a protocol error or a time-out earns its
//! source some seconds; penalties add up (to at most `max`), and once more than `min` are
//! pending the source's new connections are refused at accept until they have run out.
//! Connections already open are not affected.
//!
//! A source is an IPv4 address or an IPv6 /64 (one subscriber's network; a single IPv6
//! address costs an attacker nothing to change). The table has a fixed capacity
//! (`PENALTY_SOURCES`, allocated at start): expired entries are reused, and when every entry
//! is live the one that ends soonest gives way to a longer new one, so a flood from many
//! sources keeps the worst offenders and never grows the table.
//!
//! Pure: time comes in as milliseconds.

use crate::options::PenaltySecs;
use crate::proto::conn::Disconnect;
use crate::proto::msg::reason;
use std::net::IpAddr;

/// Why a connection that never logged in earns a penalty.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Offence {
    /// It failed one or more authentication attempts (OpenSSH's `authfail`).
    AuthFail,
    /// It ended without attempting authentication (`noauth`).
    NoAuth,
    /// It broke the protocol: a malformed or misordered packet, a bad MAC, no version line.
    Protocol,
    /// It reached the login grace time or the key exchange deadline (`grace-exceeded`).
    Grace,
}

impl Offence {
    pub fn describe(self) -> &'static str {
        match self {
            Offence::AuthFail => "failed authentication",
            Offence::NoAuth => "no authentication attempted",
            Offence::Protocol => "protocol error",
            Offence::Grace => "time-out before login",
        }
    }
}

/// Disconnect texts the loop uses for its own time-outs, so that `classify` knows them.
pub const GRACE_EXCEEDED: &str = "login grace time exceeded";
pub const KEX_TIMEOUT: &str = "key exchange not completed in time";
/// What the core records when the peer sent SSH_MSG_DISCONNECT (its code is the peer's).
const PEER_DISCONNECT: &str = "Disconnect received";

/// The offence of a connection that ended before login, from why it ended and how many
/// authentication attempts it failed.
pub fn classify(d: Disconnect, failures: u32) -> Offence {
    let failed = if failures > 0 {
        Offence::AuthFail
    } else {
        Offence::NoAuth
    };
    if d.text == GRACE_EXCEEDED || d.text == KEX_TIMEOUT {
        return Offence::Grace;
    }
    if d.text == PEER_DISCONNECT {
        // The peer's own reason code says nothing about what it did.
        return failed;
    }
    match d.reason {
        reason::NO_MORE_AUTH_METHODS_AVAILABLE => Offence::AuthFail,
        reason::PROTOCOL_ERROR
        | reason::MAC_ERROR
        | reason::KEY_EXCHANGE_FAILED
        | reason::SERVICE_NOT_AVAILABLE => Offence::Protocol,
        _ => failed,
    }
}

/// The penalty table key of an address: an IPv4 address, an IPv6 /64.
pub fn source_key(ip: IpAddr) -> u128 {
    match ip.to_canonical() {
        IpAddr::V4(a) => 0xffff_0000_0000 | u32::from(a) as u128,
        IpAddr::V6(a) => u128::from(a) & !((1u128 << 64) - 1),
    }
}

#[derive(Clone, Copy)]
struct Entry {
    key: u128,
    /// When the accumulated penalty runs out (ms).
    expiry: u64,
    /// More than `min` was pending at some point: new connections are refused.
    active: bool,
}

pub struct Penalties {
    secs: PenaltySecs,
    entries: Vec<Entry>,
    capacity: usize,
}

impl Penalties {
    pub fn new(secs: PenaltySecs, capacity: usize) -> Penalties {
        Penalties {
            secs,
            entries: Vec::with_capacity(capacity),
            capacity,
        }
    }

    fn seconds(&self, o: Offence) -> u32 {
        match o {
            Offence::AuthFail => self.secs.authfail,
            Offence::NoAuth => self.secs.noauth,
            Offence::Protocol => self.secs.protocol,
            Offence::Grace => self.secs.grace,
        }
    }

    /// Adds `o`'s penalty to `ip`'s source. Returns the seconds the source is now refused
    /// for when this made it refused (it was not before), for the log.
    pub fn record(&mut self, ip: IpAddr, o: Offence, now: u64) -> Option<u64> {
        let add = u64::from(self.seconds(o)) * 1000;
        if add == 0 {
            return None;
        }
        let (min, max) = (
            u64::from(self.secs.min) * 1000,
            u64::from(self.secs.max) * 1000,
        );
        let key = source_key(ip);
        let i = match self
            .entries
            .iter()
            .position(|e| e.key == key && e.expiry > now)
        {
            Some(i) => i,
            None => {
                let fresh = Entry {
                    key,
                    expiry: now,
                    active: false,
                };
                // An expired entry, else room, else the live entry that ends soonest when
                // the new one would outlast it.
                if let Some(i) = self.entries.iter().position(|e| e.expiry <= now) {
                    self.entries[i] = fresh;
                    i
                } else if self.entries.len() < self.capacity {
                    self.entries.push(fresh);
                    self.entries.len() - 1
                } else {
                    let (i, soonest) = self
                        .entries
                        .iter()
                        .enumerate()
                        .min_by_key(|(_, e)| e.expiry)?;
                    if soonest.expiry >= now.saturating_add(add.min(max)) {
                        return None;
                    }
                    self.entries[i] = fresh;
                    i
                }
            }
        };
        let e = &mut self.entries[i];
        e.expiry = e.expiry.saturating_add(add).min(now.saturating_add(max));
        if !e.active && e.expiry - now > min {
            e.active = true;
            return Some((e.expiry - now).div_ceil(1000));
        }
        None
    }

    /// Milliseconds `ip`'s source is still refused for; None when it is not refused.
    pub fn refused(&self, ip: IpAddr, now: u64) -> Option<u64> {
        let key = source_key(ip);
        self.entries
            .iter()
            .find(|e| e.key == key && e.active && e.expiry > now)
            .map(|e| e.expiry - now)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    /// The defaults, with 20 s for a time-out (more than `min` at once).
    fn table(cap: usize) -> Penalties {
        let secs = PenaltySecs {
            grace: 20,
            ..PenaltySecs::default()
        };
        Penalties::new(secs, cap)
    }

    #[test]
    fn by_default_one_time_out_refuses_nobody() {
        let mut p = Penalties::new(PenaltySecs::default(), 8);
        let a = ip("192.0.2.9");
        assert_eq!(p.record(a, Offence::NoAuth, 0), None);
        assert_eq!(p.record(a, Offence::Grace, 0), None);
        assert_eq!(p.record(a, Offence::Protocol, 0), Some(21));
    }

    #[test]
    fn one_failure_refuses_nobody_repeated_ones_do() {
        let mut p = table(8);
        let a = ip("192.0.2.7");
        // 5 s each: 15 s pending is not more than min (15 s), 20 s is.
        for t in [0, 10, 20] {
            assert_eq!(p.record(a, Offence::AuthFail, t), None);
            assert_eq!(p.refused(a, t), None);
        }
        assert_eq!(p.record(a, Offence::AuthFail, 30), Some(20));
        assert_eq!(p.refused(a, 30), Some(19_970));
        // Others are not affected, nor is the penalty for ever.
        assert_eq!(p.refused(ip("192.0.2.8"), 30), None);
        assert_eq!(p.refused(a, 20_000), None);
        // Expired: the count starts again.
        assert_eq!(p.record(a, Offence::AuthFail, 20_000), None);
        assert_eq!(p.refused(a, 20_000), None);
    }

    #[test]
    fn penalties_add_up_to_max() {
        let mut p = table(8);
        let a = ip("198.51.100.1");
        assert_eq!(p.record(a, Offence::Grace, 0), Some(20));
        for _ in 0..100 {
            assert_eq!(p.record(a, Offence::Grace, 1000), None);
        }
        assert_eq!(p.refused(a, 1000), Some(600_000));
        assert_eq!(p.refused(a, 601_000), None);
    }

    #[test]
    fn pending_time_is_counted_from_now() {
        let mut p = table(8);
        let a = ip("198.51.100.2");
        // 10 s now and 10 s at 9 s: 11 s pending, not more than 15.
        assert_eq!(p.record(a, Offence::Protocol, 0), None);
        assert_eq!(p.record(a, Offence::Protocol, 9_000), None);
        assert_eq!(p.refused(a, 9_000), None);
        assert_eq!(p.record(a, Offence::Protocol, 10_000), Some(20));
    }

    #[test]
    fn ipv6_counts_per_64_ipv4_per_address() {
        let mut p = table(8);
        assert_eq!(p.record(ip("2001:db8:1:2::1"), Offence::Grace, 0), Some(20));
        assert!(p.refused(ip("2001:db8:1:2:ffff::9"), 0).is_some());
        assert!(p.refused(ip("2001:db8:1:3::1"), 0).is_none());
        assert_eq!(p.record(ip("10.0.0.1"), Offence::Grace, 0), Some(20));
        assert!(p.refused(ip("10.0.0.2"), 0).is_none());
        assert!(p.refused(ip("::ffff:10.0.0.1"), 0).is_some());
        // An IPv4 address never matches an IPv6 network.
        assert_ne!(source_key(ip("10.0.0.1")), source_key(ip("::a00:1")));
    }

    #[test]
    fn the_table_never_grows_and_keeps_the_longest() {
        let mut p = table(4);
        for i in 0..4u8 {
            p.record(IpAddr::from([10, 0, 0, i]), Offence::Grace, 0);
        }
        // A longer penalty takes the place of the one ending soonest ...
        p.record(ip("10.0.0.0"), Offence::Grace, 1000);
        p.record(ip("10.0.0.9"), Offence::Grace, 1000);
        p.record(ip("10.0.0.9"), Offence::Grace, 1000);
        assert_eq!(p.entries.len(), 4);
        assert!(p.refused(ip("10.0.0.9"), 1000).is_some());
        assert!(p.refused(ip("10.0.0.0"), 1000).is_some());
        // ... a shorter one is not tracked.
        assert_eq!(p.record(ip("10.0.0.10"), Offence::NoAuth, 1000), None);
        assert_eq!(p.entries.len(), 4);
        assert_eq!(p.capacity, 4);
        // Expired entries are reused.
        assert_eq!(p.record(ip("10.0.0.11"), Offence::Grace, 100_000), Some(20));
        assert_eq!(p.entries.len(), 4);
        for i in 0..=255u8 {
            p.record(IpAddr::from([172, 16, 0, i]), Offence::Grace, 200_000);
        }
        assert_eq!(p.entries.len(), 4);
        assert!(p.entries.capacity() >= 4);
    }

    #[test]
    fn zero_seconds_is_no_penalty() {
        let secs = PenaltySecs {
            noauth: 0,
            min: 0,
            ..PenaltySecs::default()
        };
        let mut p = Penalties::new(secs, 2);
        assert_eq!(p.record(ip("10.0.0.1"), Offence::NoAuth, 0), None);
        assert_eq!(p.refused(ip("10.0.0.1"), 0), None);
        assert_eq!(p.record(ip("10.0.0.1"), Offence::AuthFail, 0), Some(5));
    }

    #[test]
    fn classification() {
        let d = |reason, text| Disconnect { reason, text };
        assert_eq!(
            classify(d(reason::BY_APPLICATION, GRACE_EXCEEDED), 0),
            Offence::Grace
        );
        assert_eq!(
            classify(d(reason::BY_APPLICATION, KEX_TIMEOUT), 3),
            Offence::Grace
        );
        assert_eq!(
            classify(d(reason::PROTOCOL_ERROR, "bad packet length"), 0),
            Offence::Protocol
        );
        assert_eq!(
            classify(d(reason::MAC_ERROR, "MAC error"), 2),
            Offence::Protocol
        );
        assert_eq!(
            classify(d(reason::NO_MORE_AUTH_METHODS_AVAILABLE, "Too many"), 10),
            Offence::AuthFail
        );
        let closed = d(reason::CONNECTION_LOST, "connection closed by peer");
        assert_eq!(classify(closed, 0), Offence::NoAuth);
        assert_eq!(classify(closed, 1), Offence::AuthFail);
        // The peer's DISCONNECT carries its own code: not a protocol error of ours.
        let theirs = d(reason::PROTOCOL_ERROR, PEER_DISCONNECT);
        assert_eq!(classify(theirs, 0), Offence::NoAuth);
        assert_eq!(classify(theirs, 2), Offence::AuthFail);
    }
}
