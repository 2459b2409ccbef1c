//! The DNS message wire format for a stub resolver (RFC 1035): host name checks, a query for
//! one name and type, and a reply read against the query it answers. Bytes only; the sockets
//! are in `daemon::resolve`.

use std::net::IpAddr;

pub(crate) const TYPE_A: u16 = 1;
pub(crate) const TYPE_AAAA: u16 = 28;
/// A UDP DNS message without EDNS.
pub(crate) const MSG: usize = 512;

/// `name` without its one allowed trailing dot, if DNS can carry it as a host name.
pub(crate) fn valid_name(name: &str) -> Option<&str> {
    let n = name.strip_suffix('.').unwrap_or(name);
    if n.is_empty() || n.len() > 253 {
        return None;
    }
    let label_ok = |l: &str| {
        (1..=63).contains(&l.len())
            && l.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    };
    n.split('.').all(label_ok).then_some(n)
}

/// Writes a recursive query for `name` (from `valid_name`, so it fits) into `buf`; returns
/// its length.
pub(crate) fn build_query(buf: &mut [u8; MSG], id: u16, name: &str, qtype: u16) -> usize {
    let [i0, i1] = id.to_be_bytes();
    // ID, flags with RD, one question, no other records.
    buf[..12].copy_from_slice(&[i0, i1, 0x01, 0, 0, 1, 0, 0, 0, 0, 0, 0]);
    let mut p = 12;
    for label in name.split('.') {
        buf[p] = label.len() as u8;
        buf[p + 1..p + 1 + label.len()].copy_from_slice(label.as_bytes());
        p += 1 + label.len();
    }
    let [t0, t1] = qtype.to_be_bytes();
    buf[p..p + 5].copy_from_slice(&[0, t0, t1, 0, 1]);
    p + 5
}

/// What a reply says about one query.
#[derive(Debug, PartialEq)]
pub(crate) enum Reply {
    /// Not an answer to this query (or a failure code: another server may still answer).
    Ignore,
    NxDomain,
    /// The first address of the query's type, if the answer section has one.
    Answer(Option<IpAddr>),
}

/// The offset just after the possibly compressed name at `p`. Pointers are followed only to
/// check that the name is well formed: each must point before the previous one (or before
/// the name), so no loop can go round, and a name over 255 bytes is refused.
pub(crate) fn skip_name(msg: &[u8], mut p: usize) -> Option<usize> {
    let mut end = None;
    let mut limit = p;
    let mut len = 0;
    loop {
        let b = *msg.get(p)? as usize;
        match b & 0xc0 {
            0 if b == 0 => return Some(end.unwrap_or(p + 1)),
            0 => {
                len += b + 1;
                if len > 255 {
                    return None;
                }
                p += b + 1;
            }
            0xc0 => {
                let target = (b & 0x3f) << 8 | *msg.get(p + 1)? as usize;
                if target >= limit {
                    return None;
                }
                end.get_or_insert(p + 2);
                limit = target;
                p = target;
            }
            _ => return None,
        }
    }
}

/// Checks `reply` against `query` (a whole message from `build_query`): same ID, a
/// response, the same single question (name case aside). Like musl, owner names in the
/// answer section are not checked (a CNAME chain's records have other owners).
pub(crate) fn parse_reply(reply: &[u8], query: &[u8]) -> Reply {
    let qlen = query.len();
    let (Some(head), Some(question), Some(asked)) =
        (reply.get(..12), reply.get(12..qlen), query.get(12..))
    else {
        return Reply::Ignore;
    };
    if head[..2] != query[..2]
        || head[2] & 0x80 == 0
        || head[4..6] != [0, 1]
        || !question.eq_ignore_ascii_case(asked)
    {
        return Reply::Ignore;
    }
    match head[3] & 0x0f {
        0 => {}
        3 => return Reply::NxDomain,
        _ => return Reply::Ignore,
    }
    let qtype = [query[qlen - 4], query[qlen - 3]];
    let count = u16::from_be_bytes([head[6], head[7]]);
    // A truncated (TC) reply is read as far as it goes.
    let mut p = qlen;
    for _ in 0..count {
        let Some(q) = skip_name(reply, p) else { break };
        let Some(&[t0, t1, c0, c1, _, _, _, _, l0, l1]) = reply.get(q..q + 10) else {
            break;
        };
        let end = q + 10 + u16::from_be_bytes([l0, l1]) as usize;
        let Some(data) = reply.get(q + 10..end) else {
            break;
        };
        if [t0, t1] == qtype && [c0, c1] == [0, 1] {
            let ip = match u16::from_be_bytes(qtype) {
                TYPE_A => <[u8; 4]>::try_from(data).ok().map(IpAddr::from),
                _ => <[u8; 16]>::try_from(data).ok().map(IpAddr::from),
            };
            if ip.is_some() {
                return Reply::Answer(ip);
            }
        }
        p = end;
    }
    Reply::Answer(None)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use std::net::Ipv4Addr;

    pub(crate) fn v4(a: u8, b: u8, c: u8, d: u8) -> Option<IpAddr> {
        Some(IpAddr::V4(Ipv4Addr::new(a, b, c, d)))
    }

    #[test]
    fn names() {
        assert_eq!(valid_name("router"), Some("router"));
        assert_eq!(valid_name("a-b_c.Example.COM."), Some("a-b_c.Example.COM"));
        assert_eq!(valid_name(""), None);
        assert_eq!(valid_name("."), None);
        assert_eq!(valid_name("a.."), None);
        assert_eq!(valid_name("a..b"), None);
        assert_eq!(valid_name(".a"), None);
        assert_eq!(valid_name("a b"), None);
        assert_eq!(valid_name("a/b"), None);
        assert_eq!(valid_name("caf\u{e9}"), None);
        let l63 = "x".repeat(63);
        assert!(valid_name(&l63).is_some());
        assert_eq!(valid_name(&"x".repeat(64)), None);
        let n253 = [&l63[..], &l63, &l63, &l63[..61]].join(".");
        assert_eq!(n253.len(), 253);
        assert!(valid_name(&n253).is_some());
        assert!(valid_name(&(n253.clone() + ".")).is_some());
        assert_eq!(valid_name(&(n253 + "x")), None);
    }

    #[test]
    fn query_bytes() {
        let mut buf = [0u8; MSG];
        let n = build_query(&mut buf, 0x1234, "ab.c", TYPE_A);
        assert_eq!(
            buf[..n],
            [
                0x12, 0x34, 0x01, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, //
                2, b'a', b'b', 1, b'c', 0, //
                0x00, 0x01, 0x00, 0x01,
            ]
        );
        let n = build_query(&mut buf, 0xfe01, "x", TYPE_AAAA);
        assert_eq!(
            buf[..n],
            [
                0xfe, 0x01, 0x01, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, //
                1, b'x', 0, 0x00, 0x1c, 0x00, 0x01,
            ]
        );
        // The longest name fits with room to spare.
        let long = ["x".repeat(63).as_str(); 4].join(".")[..253].to_string();
        assert!(valid_name(&long).is_some());
        assert_eq!(build_query(&mut buf, 1, &long, TYPE_A), 12 + 255 + 4);
    }

    pub(crate) fn query_msg(id: u16, name: &str, qtype: u16) -> Vec<u8> {
        let mut buf = [0u8; MSG];
        let n = build_query(&mut buf, id, name, qtype);
        buf[..n].to_vec()
    }

    /// A response to `query` with `rcode` and these answer records, owners pointing to the
    /// question name.
    pub(crate) fn response(query: &[u8], rcode: u8, answers: &[(u16, &[u8])]) -> Vec<u8> {
        let mut r = query.to_vec();
        r[2] |= 0x80;
        r[3] = 0x80 | rcode;
        r[6..8].copy_from_slice(&(answers.len() as u16).to_be_bytes());
        for (rtype, data) in answers {
            r.extend_from_slice(&[0xc0, 12]);
            r.extend_from_slice(&rtype.to_be_bytes());
            r.extend_from_slice(&[0, 1, 0, 0, 0x0e, 0x10]);
            r.extend_from_slice(&(data.len() as u16).to_be_bytes());
            r.extend_from_slice(data);
        }
        r
    }

    pub(crate) const V6: [u8; 16] = [
        0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x35,
    ];

    #[test]
    fn replies() {
        let qa = query_msg(0x1234, "box.lan", TYPE_A);
        let qaaaa = query_msg(0x4321, "box.lan", TYPE_AAAA);
        let ra = response(&qa, 0, &[(TYPE_A, &[10, 0, 0, 7])]);
        assert_eq!(parse_reply(&ra, &qa), Reply::Answer(v4(10, 0, 0, 7)));
        let r6 = response(&qaaaa, 0, &[(TYPE_AAAA, &V6)]);
        assert_eq!(
            parse_reply(&r6, &qaaaa),
            Reply::Answer("2001:db8::35".parse().ok())
        );
        // Another type, a wrong length, another class: no address.
        let r = response(&qa, 0, &[(TYPE_AAAA, &V6), (TYPE_A, &[1, 2, 3])]);
        assert_eq!(parse_reply(&r, &qa), Reply::Answer(None));
        let mut r = response(&qa, 0, &[(TYPE_A, &[1, 2, 3, 4])]);
        let class = qa.len() + 5;
        r[class] = 3;
        assert_eq!(parse_reply(&r, &qa), Reply::Answer(None));
        // No data, NXDOMAIN, SERVFAIL.
        assert_eq!(
            parse_reply(&response(&qa, 0, &[]), &qa),
            Reply::Answer(None)
        );
        assert_eq!(parse_reply(&response(&qa, 3, &[]), &qa), Reply::NxDomain);
        assert_eq!(parse_reply(&response(&qa, 2, &[]), &qa), Reply::Ignore);
        // The question's case may differ (0x20 randomisation by forwarders).
        let mut r = ra.clone();
        r[13] = b'B';
        assert_eq!(parse_reply(&r, &qa), Reply::Answer(v4(10, 0, 0, 7)));
        // Truncated (TC) replies give what they hold.
        let mut r = ra.clone();
        r[2] |= 0x02;
        assert_eq!(parse_reply(&r, &qa), Reply::Answer(v4(10, 0, 0, 7)));
    }

    #[test]
    fn replies_ignored() {
        let qa = query_msg(0x1234, "box.lan", TYPE_A);
        let ra = response(&qa, 0, &[(TYPE_A, &[10, 0, 0, 7])]);
        let mut r = ra.clone();
        r[1] ^= 1;
        assert_eq!(parse_reply(&r, &qa), Reply::Ignore, "wrong ID");
        let mut r = ra.clone();
        r[2] &= 0x7f;
        assert_eq!(parse_reply(&r, &qa), Reply::Ignore, "not a response");
        let mut r = ra.clone();
        r[14] = b'y';
        assert_eq!(parse_reply(&r, &qa), Reply::Ignore, "other name");
        let qaaaa = query_msg(0x1234, "box.lan", TYPE_AAAA);
        assert_eq!(parse_reply(&ra, &qaaaa), Reply::Ignore, "other type");
        let mut r = ra.clone();
        r[qa.len() - 1] = 3;
        assert_eq!(parse_reply(&r, &qa), Reply::Ignore, "other class");
        let mut r = ra.clone();
        r[5] = 2;
        assert_eq!(parse_reply(&r, &qa), Reply::Ignore, "two questions");
        assert_eq!(parse_reply(&ra[..qa.len() - 1], &qa), Reply::Ignore);
        assert_eq!(parse_reply(&[], &qa), Reply::Ignore);
        // REFUSED: another server may answer.
        assert_eq!(parse_reply(&response(&qa, 5, &[]), &qa), Reply::Ignore);
    }

    #[test]
    fn cname_and_compression() {
        // box.lan CNAME real.example (name spelt out), real.example A 10.1.1.1 (owner a
        // pointer to the CNAME's data), then the same via a pointer to a pointer.
        let qa = query_msg(7, "box.lan", TYPE_A);
        let mut r = response(&qa, 0, &[]);
        r[7] = 2;
        let cname_data = r.len() + 12;
        r.extend_from_slice(&[0xc0, 12, 0, 5, 0, 1, 0, 0, 0, 60, 0, 14]);
        r.extend_from_slice(b"\x04real\x07example\x00");
        assert_eq!(r.len(), cname_data + 14);
        let second = r.len();
        r.extend_from_slice(&[0xc0, cname_data as u8, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4]);
        r.extend_from_slice(&[10, 1, 1, 1]);
        assert_eq!(parse_reply(&r, &qa), Reply::Answer(v4(10, 1, 1, 1)));
        // A label then a pointer to the record before's owner (itself a pointer).
        let mut r2 = r[..second].to_vec();
        r2.extend_from_slice(&[3, b'w', b'w', b'w', 0xc0, cname_data as u8 - 12]);
        r2.extend_from_slice(&[0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 10, 2, 2, 2]);
        assert_eq!(parse_reply(&r2, &qa), Reply::Answer(v4(10, 2, 2, 2)));
    }

    #[test]
    fn pointer_loops_rejected() {
        let qa = query_msg(7, "box.lan", TYPE_A);
        let base = response(&qa, 0, &[]);
        let at = base.len();
        // An owner pointing to itself, one pointing forward, and two pointing at each
        // other: no address, and no hang.
        for name in [
            vec![0xc0, at as u8],
            vec![0xc0, at as u8 + 2, 0xc0, at as u8],
            vec![1, b'a', 0xc0, at as u8],
            vec![0x40, 0],
        ] {
            let mut r = base.clone();
            r[7] = 1;
            r.extend_from_slice(&name);
            r.extend_from_slice(&[0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 10, 0, 0, 1]);
            assert_eq!(parse_reply(&r, &qa), Reply::Answer(None), "{name:?}");
        }
        assert_eq!(skip_name(&[0xc0, 0], 0), None);
        assert_eq!(skip_name(&[0, 0xc0, 0], 1), Some(3));
        assert_eq!(skip_name(&[1, b'a', 0], 0), Some(3));
        assert_eq!(skip_name(&[1, b'a'], 0), None);
        // 128 one-byte labels spell a name longer than 255 bytes.
        let mut long = [1u8, b'a'].repeat(128);
        long.push(0);
        assert_eq!(skip_name(&long, 0), None);
        assert_eq!(skip_name(&long[2..], 0), Some(long.len() - 2));
    }

    /// `base` (a reply to `qa` without records) with one A record whose owner is `owner`.
    fn with_owner(base: &[u8], owner: &[u8]) -> Vec<u8> {
        let mut r = base.to_vec();
        r[7] = 1;
        r.extend_from_slice(owner);
        r.extend_from_slice(&[0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 10, 0, 0, 1]);
        r
    }

    #[test]
    fn malformed_owner_names() {
        let qa = query_msg(7, "box.lan", TYPE_A);
        let base = response(&qa, 0, &[]);
        let at = base.len();
        assert_eq!(
            parse_reply(&with_owner(&base, &[0xc0, 12]), &qa),
            Reply::Answer(v4(10, 0, 0, 1))
        );
        for owner in [
            // Pointers past the end of the message, to themselves, forward.
            vec![0xc0, 0xff],
            vec![0xff, 0xff],
            vec![0xc0, at as u8],
            vec![0xc0, at as u8 + 1],
            // A pointer cut in half, a label running off the end.
            vec![0xc0],
            vec![60, b'a'],
            // Label lengths 64..=191 are no labels (0x40 and 0x80 are reserved).
            [&[64u8][..], &[b'x'; 64], &[0]].concat(),
            vec![0x80, 0],
            vec![0xbf, 0],
        ] {
            let r = with_owner(&base, &owner);
            assert_eq!(parse_reply(&r, &qa), Reply::Answer(None), "{owner:?}");
        }
        // A label of 63 is fine; names of 254 label bytes pass, 256 do not.
        let label = |n: usize| [&[n as u8][..], &vec![b'x'; n]].concat();
        let name = |ls: &[usize]| [ls.iter().flat_map(|&n| label(n)).collect(), vec![0]].concat();
        let ok = name(&[63, 63, 63, 61]);
        assert_eq!(skip_name(&ok, 0), Some(ok.len()));
        assert_eq!(
            parse_reply(&with_owner(&base, &ok), &qa),
            Reply::Answer(v4(10, 0, 0, 1))
        );
        let long = name(&[63, 63, 63, 63]);
        assert_eq!(skip_name(&long, 0), None);
        assert_eq!(
            parse_reply(&with_owner(&base, &long), &qa),
            Reply::Answer(None)
        );
        // Over 255 through a chain of backward pointers, each after one label: no loop, but
        // too long a name.
        let mut chain = base.clone();
        let mut prev = 12;
        for _ in 0..130 {
            let here = chain.len();
            chain.extend_from_slice(&[1, b'a', 0xc0 | (prev >> 8) as u8, prev as u8]);
            prev = here;
        }
        assert_eq!(skip_name(&chain, prev), None);
        // Twenty such links are a fine name.
        assert!(skip_name(&chain, at + 4 * 20).is_some());
    }

    #[test]
    fn truncated_records_and_lying_counts() {
        let qa = query_msg(0x1234, "box.lan", TYPE_A);
        let ra = response(&qa, 0, &[(TYPE_A, &[10, 0, 0, 7])]);
        // Cut inside the answer: no address, and no panic.
        for n in qa.len()..ra.len() {
            assert_eq!(
                parse_reply(&ra[..n], &qa),
                Reply::Answer(None),
                "cut at {n}"
            );
        }
        // RDLENGTH past the end, or shorter than an address.
        let rdlen = ra.len() - 6;
        for len in [5u16, 0xffff, 3, 0] {
            let mut r = ra.clone();
            r[rdlen..rdlen + 2].copy_from_slice(&len.to_be_bytes());
            assert_eq!(parse_reply(&r, &qa), Reply::Answer(None), "rdlength {len}");
        }
        // An answer count far above what the message holds: read to the end.
        let mut r = response(&qa, 0, &[(5u16, &b"\x01x\xc0\x0c"[..]); 40]);
        r[6..8].copy_from_slice(&[0xff, 0xff]);
        assert_eq!(parse_reply(&r, &qa), Reply::Answer(None));
        r.extend_from_slice(&[0xc0, 12, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 10, 0, 0, 9]);
        assert_eq!(parse_reply(&r, &qa), Reply::Answer(v4(10, 0, 0, 9)));
        // Records past the answer count are not read.
        let mut r = ra.clone();
        r[6..8].copy_from_slice(&[0, 0]);
        assert_eq!(parse_reply(&r, &qa), Reply::Answer(None));
    }

    #[test]
    fn wrong_id_or_question() {
        let qa = query_msg(0x1234, "box.lan", TYPE_A);
        let ra = response(&qa, 0, &[(TYPE_A, &[10, 0, 0, 7])]);
        // Another ID, also on an NXDOMAIN (it must not end the lookup).
        for id in [0x1235u16, 0x3412, 0] {
            let mut r = ra.clone();
            r[..2].copy_from_slice(&id.to_be_bytes());
            assert_eq!(parse_reply(&r, &qa), Reply::Ignore);
            let mut r = response(&qa, 3, &[]);
            r[..2].copy_from_slice(&id.to_be_bytes());
            assert_eq!(parse_reply(&r, &qa), Reply::Ignore);
        }
        // Another question echoed: a shorter or longer name, the name compressed, no
        // question at all.
        for other in ["box.la", "box.lann", "xbox.lan", "lan"] {
            let q = query_msg(0x1234, other, TYPE_A);
            let r = response(&q, 0, &[(TYPE_A, &[10, 0, 0, 7])]);
            assert_eq!(parse_reply(&r, &qa), Reply::Ignore, "{other}");
        }
        let mut r = ra[..12].to_vec();
        r.extend_from_slice(&[0xc0, 12, 0, 1, 0, 1]);
        r.extend_from_slice(&ra[qa.len()..]);
        assert_eq!(parse_reply(&r, &qa), Reply::Ignore);
        let mut r = ra.clone();
        r[4..6].copy_from_slice(&[0, 0]);
        assert_eq!(parse_reply(&r, &qa), Reply::Ignore);
    }

    #[test]
    fn no_panics_on_any_input() {
        let qa = query_msg(0x1234, "box.lan", TYPE_A);
        let qaaaa = query_msg(0x1235, "box.lan", TYPE_AAAA);
        let mut good = response(&qa, 0, &[(5, b"\x01x\xc0\x0c"), (TYPE_A, &[10, 0, 0, 7])]);
        good.extend_from_slice(&[0xc0, 12, 0, 28, 0, 1, 0, 0, 0, 0, 0, 16]);
        good.extend_from_slice(&V6);
        for n in 0..=good.len() {
            let _ = parse_reply(&good[..n], &qa);
            let _ = parse_reply(&good[..n], &qaaaa);
        }
        // xorshift: random messages and random corruptions of a good one.
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut next = || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        let mut buf = [0u8; MSG];
        for _ in 0..20_000 {
            let len = (next() % MSG as u64) as usize;
            for b in &mut buf[..len] {
                *b = next() as u8;
            }
            // Often a plausible header, so the parser gets past the first checks.
            if next() % 2 == 0 && len >= qa.len() {
                buf[..qa.len()].copy_from_slice(&qa);
                buf[2] |= 0x80;
                buf[3] &= 0xf0;
            }
            let _ = parse_reply(&buf[..len], &qa);
            let mut bad = good.clone();
            for _ in 0..1 + next() % 4 {
                let i = (next() % bad.len() as u64) as usize;
                bad[i] = next() as u8;
            }
            let _ = parse_reply(&bad, &qa);
            let _ = parse_reply(&bad, &qaaaa);
            let _ = skip_name(&buf[..len], (next() % MSG as u64) as usize);
        }
    }
}
