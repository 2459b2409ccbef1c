//! DNS for the stub resolver in `daemon::resolve` (see there for how it differs from musl):
//! the wire format, `/etc/hosts` and `/etc/resolv.conf`. Text and bytes in, values out; no
//! sockets and no files here.

#![forbid(unsafe_code)]

pub(crate) mod hosts;
pub(crate) mod resolv_conf;
pub(crate) mod wire;

#[cfg(feature = "fuzzing")]
use {
    hosts::from_hosts,
    resolv_conf::{candidates, parse_conf},
    std::net::IpAddr,
    wire::{build_query, parse_reply, Reply, MSG, TYPE_A, TYPE_AAAA},
};

/// Entry point of the `dns` fuzz target (fuzz/). The first byte picks what the rest is:
/// - a reply to a query for `example.com` (A or AAAA; the reply's ID is taken as the
///   query's, so the fuzzer need not guess it): an address found has the type asked for;
/// - a host name as a client's `direct-tcpip` request gives it: the names asked for fit a
///   query, and a reply that answers that query is read back with its address;
/// - resolv.conf and hosts text.
#[cfg(feature = "fuzzing")]
pub fn fuzz_input(data: &[u8]) {
    let Some((&sel, rest)) = data.split_first() else {
        return;
    };
    let qtype = if sel & 0x80 != 0 { TYPE_AAAA } else { TYPE_A };
    let mut q = [0u8; MSG];
    match sel % 3 {
        0 => {
            let id = rest
                .get(..2)
                .map_or(0, |b| u16::from_be_bytes([b[0], b[1]]));
            let len = build_query(&mut q, id, "example.com", qtype);
            if let Reply::Answer(Some(ip)) = parse_reply(rest, &q[..len]) {
                assert_eq!(ip.is_ipv4(), qtype == TYPE_A);
            }
        }
        1 => {
            let name = String::from_utf8_lossy(rest);
            let conf = parse_conf("search lan example.org\noptions ndots:2\n");
            for c in candidates(&name, &conf) {
                let len = build_query(&mut q, 0x1234, &c, qtype);
                // The query turned into its answer: QR set, one answer record pointing at
                // the question's name.
                let mut reply = q[..len].to_vec();
                reply[2] |= 0x80;
                reply[7] = 1;
                let [t0, t1] = qtype.to_be_bytes();
                reply.extend_from_slice(&[0xc0, 12, t0, t1, 0, 1, 0, 0, 0, 60]);
                let ip = if qtype == TYPE_A {
                    reply.extend_from_slice(&[0, 4, 10, 0, 0, 1]);
                    IpAddr::from([10, 0, 0, 1])
                } else {
                    reply.extend_from_slice(&[0, 16]);
                    reply.extend_from_slice(&[0xfd; 16]);
                    IpAddr::from([0xfd; 16])
                };
                assert_eq!(
                    parse_reply(&reply, &q[..len]),
                    Reply::Answer(Some(ip)),
                    "{c}"
                );
            }
        }
        _ => {
            let text = String::from_utf8_lossy(rest);
            let conf = parse_conf(&text);
            assert!(!conf.ns.is_empty() && conf.ns.len() <= 3);
            from_hosts(&text, "example.com");
        }
    }
}
