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
//!
//! The rate-limited log lines about these decisions are in `notes.rs`.

mod notes;
#[cfg(test)]
mod tests;

pub use notes::Note;
use notes::NOTES;

use super::penalty::{self, Offence, Penalties};
use super::ratelimit::RateLimit;
use crate::config;
use crate::inet::Ip;
use crate::options::Options;
use crate::proto::conn::Disconnect;
use std::net::IpAddr;

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

    /// When the loop must wake for this module: the end of a pause, a count to log.
    pub fn next_wake(&self, now: u64) -> Option<u64> {
        let pause = (self.paused_until > now).then_some(self.paused_until);
        match (pause, self.log.next_due()) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }
}
