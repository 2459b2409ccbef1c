//! Who gets one of the login slots: the policy the loop asks at accept, at unpark and when a
//! connection ends before login. Pure (no syscalls): the loop passes in the connections not
//! yet logged in, the parked ones, the time (ms) and random bits.
//!
//! For a new connection, in order:
//! 1. A penalised source (`penalty.rs`) is refused.
//! 2. Over `--max-unauth-per-addr` from its address, or `--max-unauth-per-net` from its
//!    network (IPv4 /24, IPv6 /64), it is parked (accepted, not served) behind them, up to as
//!    many again; beyond that it is refused: that address or network is flooding.
//! 3. Below `start` unauthenticated connections it is served.
//! 4. Fair sharing: if its network holds fewer login slots than the network holding the
//!    most, it is served, and when the slots are full that network's newest connection is
//!    closed to make room. So a few networks holding every slot can delay a newcomer from
//!    elsewhere by nothing: the newcomer displaces them, however idle they keep them.
//! 5. Otherwise it comes from (one of) the biggest holders: with every slot taken it is
//!    parked (or refused when parking is full); between `start` and `full` it is dropped at
//!    random with a probability rising from `rate`% to 100% (OpenSSH's MaxStartups).
//!
//! The first key exchange has its own deadline (`--kex-timeout`), shorter than the login
//! grace time, so idle connections give their slots back soon.

use super::penalty::{self, Offence, Penalties};
use super::ratelimit::RateLimit;
use crate::config;
use crate::inet::{Ip, Sock};
use crate::options::Options;
use crate::proto::conn::Disconnect;
use log::warn;
use std::net::{IpAddr, SocketAddr};

/// A connection that has not logged in yet, as the loop sees it.
#[derive(Debug, Clone, Copy)]
pub struct Pending {
    pub slot: usize,
    pub ip: IpAddr,
    /// When it was served (ms).
    pub since: u64,
}

/// A limit that was reached, with the count that reached it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cap {
    /// Unauthenticated connections from this address.
    Address(usize),
    /// ... from this address's network.
    Network(usize),
    /// ... in total (`full`).
    Total(usize),
    /// Every connection slot is taken (`--max-conns`).
    Slots,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Serve,
    /// Close this slot's connection (not logged in yet), then serve the new one.
    Displace(usize),
    /// Keep the socket, serve it when the limit allows (`may_unpark`).
    Park(Cap),
    Refuse(Refusal),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// The source is penalised for this many more ms.
    Penalised(u64),
    /// Over a limit with no room left to park.
    Over(Cap),
    /// Random early drop at this many unauthenticated connections.
    Dropped(usize),
}

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

const NOTES: usize = 8;

impl Note {
    const ALL: [Note; NOTES] = [
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

/// The key of an address's network for the per-network cap and fair sharing: IPv4 /24,
/// IPv6 /64.
pub fn net_key(ip: IpAddr) -> u128 {
    match ip.to_canonical() {
        IpAddr::V4(a) => 0xffff_0000_0000 | (u32::from(a) & 0xffff_ff00) as u128,
        IpAddr::V6(a) => u128::from(a) & !((1u128 << 64) - 1),
    }
}

/// Listeners are IPv6-only or IPv4, so an address never comes in two forms.
fn same_addr(a: IpAddr, b: IpAddr) -> bool {
    a == b
}

pub struct Admission {
    begin: usize,
    rate: u32,
    full: usize,
    per_addr: usize,
    per_net: usize,
    kex_ms: u64,
    grace_ms: u64,
    penalties: Option<Penalties>,
    /// The listeners rest until then (after running out of descriptors).
    paused_until: u64,
    log: RateLimit<NOTES>,
    /// Per-network tallies of the pending connections (`biggest_holder`).
    tally: Vec<Tally>,
}

/// One network's pending connections: how many, and the newest (since, slot).
#[derive(Clone, Copy)]
struct Tally {
    net: u128,
    count: usize,
    newest: (u64, usize),
}

/// An empty tally entry: no `net_key` has all bits set.
const NO_NET: u128 = u128::MAX;

impl Admission {
    pub fn new(o: &Options) -> Admission {
        Admission {
            begin: o.startups_begin.min(o.max_unauth),
            rate: o.startups_rate.min(100),
            full: o.max_unauth,
            per_addr: o.max_unauth_per_addr,
            per_net: o.max_unauth_per_net,
            kex_ms: o.kex_timeout_secs.saturating_mul(1000),
            grace_ms: o.login_grace_secs.saturating_mul(1000),
            penalties: o
                .penalties
                .map(|s| Penalties::new(s, config::PENALTY_SOURCES)),
            paused_until: 0,
            log: RateLimit::new(config::LOG_INTERVAL_MS),
            // Open addressing at most half full: pending connections never outnumber slots.
            tally: vec![
                Tally {
                    net: NO_NET,
                    count: 0,
                    newest: (0, 0),
                };
                (2 * o.max_connections + 2).next_power_of_two()
            ],
        }
    }

    /// The decision on a new connection from `ip`. `pending`: the served connections not
    /// logged in yet; `parked`: the addresses of the parked ones; `free_slot`: whether a
    /// connection slot is free; `roll`: random bits for the early drop.
    pub fn decide(
        &mut self,
        ip: IpAddr,
        pending: &[Pending],
        parked: &[IpAddr],
        free_slot: bool,
        now: u64,
        roll: u32,
    ) -> Verdict {
        if let Some(ms) = self.penalties.as_ref().and_then(|p| p.refused(ip, now)) {
            return Verdict::Refuse(Refusal::Penalised(ms));
        }
        let net = net_key(ip);
        let from_addr = pending.iter().filter(|p| same_addr(p.ip, ip)).count();
        if from_addr >= self.per_addr {
            return self.park_or_refuse(Cap::Address(from_addr), ip, parked);
        }
        let from_net = pending.iter().filter(|p| net_key(p.ip) == net).count();
        if from_net >= self.per_net {
            return self.park_or_refuse(Cap::Network(from_net), ip, parked);
        }
        let u = pending.len();
        if u < self.begin && free_slot {
            return Verdict::Serve;
        }
        let (most, victim) = self.biggest_holder(pending);
        if from_net < most {
            if u < self.full && free_slot {
                return Verdict::Serve;
            }
            return Verdict::Displace(victim);
        }
        if u >= self.full {
            return self.park_or_refuse(Cap::Total(u), ip, parked);
        }
        if !free_slot {
            return self.park_or_refuse(Cap::Slots, ip, parked);
        }
        // begin <= u < full here (a free slot, so u >= begin), so full > begin; saturating
        // all the same.
        let span = self.full.saturating_sub(self.begin).max(1) as u64;
        let over = u.saturating_sub(self.begin) as u64;
        let p = u64::from(self.rate) + (100 - u64::from(self.rate)) * over / span;
        if u64::from(roll % 100) < p {
            Verdict::Refuse(Refusal::Dropped(u))
        } else {
            Verdict::Serve
        }
    }

    fn park_or_refuse(&self, cap: Cap, ip: IpAddr, parked: &[IpAddr]) -> Verdict {
        let net = net_key(ip);
        let addr = parked.iter().filter(|&&p| same_addr(p, ip)).count();
        let in_net = parked.iter().filter(|&&p| net_key(p) == net).count();
        if parked.len() < config::MAX_PARKED && addr < self.per_addr && in_net < self.per_net {
            Verdict::Park(cap)
        } else {
            Verdict::Refuse(Refusal::Over(cap))
        }
    }

    /// The most slots one network holds, and the connection to close for a newcomer: the
    /// newest one of such a network; among several such networks, the one whose newest
    /// connection is oldest (a connection that just arrived is the last to go).
    fn biggest_holder(&mut self, pending: &[Pending]) -> (usize, usize) {
        let t = &mut self.tally;
        t.iter_mut().for_each(|e| e.net = NO_NET);
        let mask = t.len() - 1;
        for p in pending.iter().take(mask / 2) {
            let net = net_key(p.ip);
            let h = (net as u64 ^ (net >> 64) as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15);
            let mut i = (h >> 32) as usize & mask;
            while t[i].net != NO_NET && t[i].net != net {
                i = (i + 1) & mask;
            }
            let e = &mut t[i];
            if e.net == NO_NET {
                *e = Tally {
                    net,
                    count: 0,
                    newest: (p.since, p.slot),
                };
            }
            e.count += 1;
            e.newest = e.newest.max((p.since, p.slot));
        }
        // Most connections first; then the oldest newest connection.
        let best = t
            .iter()
            .filter(|e| e.net != NO_NET)
            .max_by_key(|e| (e.count, core::cmp::Reverse(e.newest)));
        best.map_or((0, 0), |e| (e.count, e.newest.1))
    }

    /// Whether a parked connection from `ip` may be served now.
    pub fn may_unpark(&self, ip: IpAddr, pending: &[Pending], free_slot: bool) -> bool {
        let net = net_key(ip);
        free_slot
            && pending.len() < self.full
            && pending.iter().filter(|p| same_addr(p.ip, ip)).count() < self.per_addr
            && pending.iter().filter(|p| net_key(p.ip) == net).count() < self.per_net
    }

    /// When a connection served at `since` must have logged in, and the disconnect text
    /// then: the key exchange deadline until that is done, then the login grace time.
    pub fn login_deadline(&self, since: u64, kex_done: bool) -> (u64, &'static str) {
        let grace = since.saturating_add(self.grace_ms);
        let kex = since.saturating_add(self.kex_ms);
        if !kex_done && kex < grace {
            (kex, penalty::KEX_TIMEOUT)
        } else {
            (grace, penalty::GRACE_EXCEEDED)
        }
    }

    /// A connection from `ip` ended before login (`d`, after `failures` failed attempts):
    /// its source's penalty. Returns the offence and the seconds the source is now refused
    /// for, when this made it refused.
    pub fn ended_before_login(
        &mut self,
        ip: IpAddr,
        d: Disconnect,
        failures: u32,
        now: u64,
    ) -> Option<(Offence, u64)> {
        let o = penalty::classify(d, failures);
        let secs = self.penalties.as_mut()?.record(ip, o, now)?;
        self.log(
            Note::PenaltyStarts,
            now,
            format_args!(
                "Penalty for {}: new connections refused for {secs} s ({})",
                Ip(ip),
                o.describe()
            ),
        );
        Some((o, secs))
    }

    /// Stop accepting for a while: accept(2) failed for lack of descriptors or memory, or
    /// the new socket fell into the descriptor reserve. Retrying at once would spin.
    pub fn pause(&mut self, now: u64) {
        self.paused_until = now.saturating_add(config::ACCEPT_PAUSE_MS);
    }

    pub fn paused(&self, now: u64) -> bool {
        now < self.paused_until
    }

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

    /// When the loop must wake for this module: the end of a pause, a count to log.
    pub fn next_wake(&self, now: u64) -> Option<u64> {
        let pause = (self.paused_until > now).then_some(self.paused_until);
        match (pause, self.log.next_due()) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn adm(f: impl FnOnce(&mut Options)) -> Admission {
        let mut o = Options::default();
        f(&mut o);
        Admission::new(&o)
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    /// `n` pending connections from `addr`, in slots from `first`, served at `first + i`.
    fn from(addr: &str, n: usize, first: usize) -> Vec<Pending> {
        (0..n)
            .map(|i| Pending {
                slot: first + i,
                ip: ip(addr),
                since: (first + i) as u64,
            })
            .collect()
    }

    #[test]
    fn below_start_everyone_is_served() {
        let mut a = adm(|_| {});
        let p = from("192.0.2.1", 9, 0);
        assert_eq!(
            a.decide(ip("192.0.2.1"), &p, &[], true, 0, 0),
            Verdict::Serve
        );
    }

    #[test]
    fn per_address_then_per_network_caps_park_then_refuse() {
        let mut a = adm(|o| o.max_unauth_per_addr = 3);
        let p = from("192.0.2.1", 3, 0);
        let v = a.decide(ip("192.0.2.1"), &p, &[], true, 0, 0);
        assert_eq!(v, Verdict::Park(Cap::Address(3)));
        let parked = [ip("192.0.2.1"); 3];
        let v = a.decide(ip("192.0.2.1"), &p, &parked, true, 0, 0);
        assert_eq!(v, Verdict::Refuse(Refusal::Over(Cap::Address(3))));
        // Another address of that /24 is under its own cap and the network's.
        assert_eq!(
            a.decide(ip("192.0.2.2"), &p, &parked, true, 0, 0),
            Verdict::Serve
        );

        let mut a = adm(|o| o.max_unauth_per_net = 4);
        let mut p = from("192.0.2.1", 2, 0);
        p.extend(from("192.0.2.2", 2, 2));
        let v = a.decide(ip("192.0.2.3"), &p, &[], true, 0, 0);
        assert_eq!(v, Verdict::Park(Cap::Network(4)));
        let parked = [ip("192.0.2.9"); 4];
        let v = a.decide(ip("192.0.2.3"), &p, &parked, true, 0, 0);
        assert_eq!(v, Verdict::Refuse(Refusal::Over(Cap::Network(4))));
        assert_eq!(
            a.decide(ip("192.0.3.1"), &p, &parked, true, 0, 0),
            Verdict::Serve
        );
        // IPv6: one /64 is one network.
        let p6 = from("2001:db8::1", 4, 0);
        let v = a.decide(ip("2001:db8::ffff"), &p6, &[], true, 0, 0);
        assert_eq!(v, Verdict::Park(Cap::Network(4)));
        assert_eq!(
            a.decide(ip("2001:db8:0:1::1"), &p6, &[], true, 0, 0),
            Verdict::Serve
        );
    }

    #[test]
    fn parking_is_bounded_in_total() {
        let mut a = adm(|o| o.max_unauth_per_addr = 1);
        let p = from("192.0.2.1", 1, 0);
        let parked: Vec<IpAddr> = (0..config::MAX_PARKED)
            .map(|i| IpAddr::from([10, i as u8, 0, 1]))
            .collect();
        let v = a.decide(ip("192.0.2.1"), &p, &parked, true, 0, 0);
        assert_eq!(v, Verdict::Refuse(Refusal::Over(Cap::Address(1))));
    }

    /// The test of finding 3 in miniature: every slot held by idle connections from 20
    /// networks; a newcomer from a 21st is served at once, by displacing one of the
    /// biggest holders' newest connections, whatever the random bits.
    #[test]
    fn a_newcomer_displaces_the_biggest_holders_newest() {
        let mut a = adm(|_| {});
        let mut p = Vec::new();
        // 12 networks hold 2 slots, 8 hold 1: 32.
        for n in 0..20 {
            let k = if n < 12 { 2 } else { 1 };
            let at = p.len();
            p.extend(from(&format!("127.{}.0.1", n + 1), k, at));
        }
        assert_eq!(p.len(), 32);
        for roll in [0, 1, 50, 99, u32::MAX] {
            let v = a.decide(ip("127.21.0.1"), &p, &[], true, 100, roll);
            // Network 1 (slots 0, 1) has the oldest newest connection among those with 2.
            assert_eq!(v, Verdict::Displace(1));
        }
        // With a free slot but at `full`, the same.
        assert_eq!(
            a.decide(ip("127.21.0.1"), &p, &[], false, 100, 0),
            Verdict::Displace(1)
        );
        // A network that holds 1 may still displace one that holds 2 ...
        assert_eq!(
            a.decide(ip("127.20.0.9"), &p, &[], true, 100, 0),
            Verdict::Displace(1)
        );
        // ... one that holds 2 may not: it waits.
        let v = a.decide(ip("127.1.0.9"), &p, &[], true, 100, 0);
        assert_eq!(v, Verdict::Park(Cap::Total(32)));
    }

    #[test]
    fn when_all_hold_one_the_oldest_goes_first() {
        let mut a = adm(|o| o.max_unauth = 4);
        let p: Vec<Pending> = (0..4)
            .map(|i| Pending {
                slot: 10 - i,
                ip: IpAddr::from([10, i as u8, 0, 1]),
                since: 50 + i as u64,
            })
            .collect();
        assert_eq!(
            a.decide(ip("10.9.0.1"), &p, &[], true, 60, 0),
            Verdict::Displace(10)
        );
    }

    #[test]
    fn the_tally_holds_every_slot() {
        // As many pending as slots, all from different networks but one, IPv4 and IPv6.
        let mut a = adm(|o| {
            o.max_connections = 64;
            o.max_unauth = 64;
        });
        let mut p: Vec<Pending> = (0..62)
            .map(|i| Pending {
                slot: i,
                ip: if i % 2 == 0 {
                    IpAddr::from([10, i as u8, 0, 1])
                } else {
                    IpAddr::from([0x2001, 0xdb8, i as u16, 0, 0, 0, 0, 1])
                },
                since: i as u64,
            })
            .collect();
        p.extend(from("2001:db8:77::1", 1, 62));
        p.extend(from("2001:db8:77::2", 1, 63));
        assert_eq!(a.biggest_holder(&p), (2, 63));
        assert_eq!(
            a.decide(ip("192.0.2.1"), &p, &[], false, 100, 0),
            Verdict::Displace(63)
        );
    }

    #[test]
    fn random_early_drop_only_for_the_biggest_holder() {
        let mut a = adm(|o| {
            o.startups_begin = 10;
            o.startups_rate = 30;
            o.max_unauth = 20;
            o.max_unauth_per_addr = 30;
            o.max_unauth_per_net = 30;
        });
        let p = from("192.0.2.1", 10, 0);
        // At start: 30%.
        assert_eq!(
            a.decide(ip("192.0.2.1"), &p, &[], true, 0, 29),
            Verdict::Refuse(Refusal::Dropped(10))
        );
        assert_eq!(
            a.decide(ip("192.0.2.1"), &p, &[], true, 0, 30),
            Verdict::Serve
        );
        // Half way: 30 + 70 * 5/10 = 65%.
        let p = from("192.0.2.1", 15, 0);
        assert_eq!(
            a.decide(ip("192.0.2.1"), &p, &[], true, 0, 64),
            Verdict::Refuse(Refusal::Dropped(15))
        );
        assert_eq!(
            a.decide(ip("192.0.2.1"), &p, &[], true, 0, 65),
            Verdict::Serve
        );
        // Another network holding less is never dropped.
        for roll in 0..100 {
            assert_eq!(
                a.decide(ip("198.51.100.1"), &p, &[], true, 0, roll),
                Verdict::Serve
            );
        }
        // At full the biggest holder waits.
        let p = from("192.0.2.1", 20, 0);
        assert_eq!(
            a.decide(ip("192.0.2.1"), &p, &[], true, 0, 99),
            Verdict::Park(Cap::Total(20))
        );
        // start == full: no random drop at all.
        let mut a = adm(|o| {
            o.max_unauth = 2;
            o.max_unauth_per_addr = 5;
        });
        let p = from("192.0.2.1", 1, 0);
        assert_eq!(
            a.decide(ip("192.0.2.1"), &p, &[], true, 0, 0),
            Verdict::Serve
        );
        let p = from("192.0.2.1", 2, 0);
        assert_eq!(
            a.decide(ip("192.0.2.1"), &p, &[], true, 0, 0),
            Verdict::Park(Cap::Total(2))
        );
    }

    #[test]
    fn no_free_slot() {
        let mut a = adm(|_| {});
        // Every slot holds a logged-in user: wait.
        assert_eq!(
            a.decide(ip("192.0.2.1"), &[], &[], false, 0, 0),
            Verdict::Park(Cap::Slots)
        );
        // Some are still logging in: a network holding fewer displaces.
        let p = from("198.51.100.1", 2, 5);
        assert_eq!(
            a.decide(ip("192.0.2.1"), &p, &[], false, 0, 0),
            Verdict::Displace(6)
        );
    }

    #[test]
    fn penalised_sources_are_refused() {
        let mut a = adm(|_| {});
        let src = ip("203.0.113.5");
        let d = Disconnect {
            reason: crate::proto::msg::reason::CONNECTION_LOST,
            text: "connection closed by peer",
        };
        for t in 0..3 {
            assert_eq!(a.ended_before_login(src, d, 2, t), None);
        }
        assert_eq!(
            a.ended_before_login(src, d, 2, 3),
            Some((Offence::AuthFail, 20))
        );
        assert!(matches!(
            a.decide(src, &[], &[], true, 4, 0),
            Verdict::Refuse(Refusal::Penalised(_))
        ));
        assert_eq!(
            a.decide(ip("203.0.113.6"), &[], &[], true, 4, 0),
            Verdict::Serve
        );
        assert_eq!(a.decide(src, &[], &[], true, 20_004, 0), Verdict::Serve);
        // Off: nothing is recorded.
        let mut a = adm(|o| o.penalties = None);
        for t in 0..100 {
            assert_eq!(a.ended_before_login(src, d, 2, t), None);
        }
        assert_eq!(a.decide(src, &[], &[], true, 100, 0), Verdict::Serve);
    }

    #[test]
    fn unparking() {
        let a = adm(|o| o.max_unauth_per_addr = 2);
        let p = from("192.0.2.1", 2, 0);
        assert!(!a.may_unpark(ip("192.0.2.1"), &p, true));
        assert!(a.may_unpark(ip("192.0.2.1"), &p[..1], true));
        assert!(!a.may_unpark(ip("192.0.2.1"), &p[..1], false));
        let a = adm(|o| o.max_unauth = 2);
        assert!(!a.may_unpark(ip("198.51.100.1"), &p, true));
    }

    #[test]
    fn the_key_exchange_deadline_comes_first() {
        let a = adm(|_| {});
        assert_eq!(
            a.login_deadline(1000, false),
            (11_000, penalty::KEX_TIMEOUT)
        );
        assert_eq!(
            a.login_deadline(1000, true),
            (121_000, penalty::GRACE_EXCEEDED)
        );
        let a = adm(|o| o.login_grace_secs = 5);
        assert_eq!(a.login_deadline(0, false), (5_000, penalty::GRACE_EXCEEDED));
    }

    #[test]
    fn pauses_and_notes() {
        let mut a = adm(|_| {});
        assert!(!a.paused(0));
        a.pause(100);
        assert!(a.paused(1099) && !a.paused(1100));
        assert_eq!(a.next_wake(200), Some(1100));
        assert_eq!(a.note(Note::AcceptFailed, 200), Some(0));
        assert_eq!(a.note(Note::AcceptFailed, 300), None);
        assert_eq!(a.note(Note::Refused, 300), Some(0));
        assert_eq!(a.next_wake(2000), Some(200 + config::LOG_INTERVAL_MS));
        assert_eq!(
            a.notes_due(200 + config::LOG_INTERVAL_MS),
            Some((Note::AcceptFailed, 1))
        );
        assert_eq!(a.next_wake(2000 + config::LOG_INTERVAL_MS), None);
        assert_eq!(Note::ALL.len(), NOTES);
        for (i, n) in Note::ALL.iter().enumerate() {
            assert_eq!(*n as usize, i);
        }
    }

    #[test]
    fn networks() {
        assert_eq!(net_key(ip("192.0.2.1")), net_key(ip("192.0.2.254")));
        assert_ne!(net_key(ip("192.0.2.1")), net_key(ip("192.0.3.1")));
        assert_eq!(net_key(ip("::ffff:192.0.2.1")), net_key(ip("192.0.2.9")));
        assert_eq!(
            net_key(ip("2001:db8:1:2::1")),
            net_key(ip("2001:db8:1:2:8::1"))
        );
        assert_ne!(
            net_key(ip("2001:db8:1:2::1")),
            net_key(ip("2001:db8:1:3::1"))
        );
    }
}
