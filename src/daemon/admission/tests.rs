//! Admission decisions for crowds from one address, one network, and many.

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
