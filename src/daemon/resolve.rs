//! A small DNS stub resolver for the `direct-tcpip` resolver child on musl builds.
//!
//! musl's `getaddrinfo` puts about 17 KB of code into a static MIPS binary (service names,
//! canonical names, RFC 6724 address sorting, ...). A router forwarding `ssh -L` needs one
//! address for a host name: `/etc/hosts`, then A and AAAA queries over UDP to the servers in
//! `/etc/resolv.conf` with musl's search list, `ndots`, `timeout` and `attempts`. glibc builds
//! keep `to_socket_addrs` (NSS); this code is built and tested on every target, only the call
//! site in `forward.rs` is musl-only.
//!
//! Where it differs from musl 1.2.3 (on purpose, for a single address and less code):
//! - the result is the first A address, else the first AAAA address (musl sorts IPv6 first
//!   when there is a route for it);
//! - `/etc/hosts` names match case-insensitively and without the trailing dot, and the first
//!   matching line wins;
//! - `_` is allowed in names (musl refuses it), bytes over 0x7f are not;
//! - a search candidate that has no address records, times out or gets only failures
//!   (SERVFAIL, REFUSED) is skipped like an NXDOMAIN; musl ends the search at those;
//! - `timeout:0` and `attempts:0` count as 1 (musl would send nothing or divide by zero);
//! - IPv6 nameservers with a `%scope` suffix are not understood.

use std::net::{IpAddr, SocketAddr};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

/// What `/etc/resolv.conf` says.
#[derive(Debug, PartialEq)]
pub struct Conf {
    /// At most three servers, port 53 (tests use their own port).
    pub ns: Vec<SocketAddr>,
    /// The search domains, space-separated (from the last `search` or `domain` line).
    pub search: String,
    pub ndots: u32,
    /// Seconds for one candidate name, over all attempts.
    pub timeout: u32,
    pub attempts: u32,
}

const TYPE_A: u16 = 1;
const TYPE_AAAA: u16 = 28;
/// A UDP DNS message without EDNS.
const MSG: usize = 512;

/// The address for `name`: `/etc/hosts`, then DNS as `/etc/resolv.conf` says.
pub fn lookup(name: &str) -> Option<IpAddr> {
    // Bounded like every file quoll reads; a longer file is used up to the bound.
    let read = |path| {
        crate::readfile::read_path(std::path::Path::new(path), crate::config::MAX_RESOLVER_FILE)
            .map(|c| String::from_utf8_lossy(&c.data).into_owned())
            .unwrap_or_default()
    };
    lookup_with(
        name,
        &read("/etc/hosts"),
        &parse_conf(&read("/etc/resolv.conf")),
    )
}

fn lookup_with(name: &str, hosts: &str, conf: &Conf) -> Option<IpAddr> {
    let base = valid_name(name)?;
    if let Some(ip) = from_hosts(hosts, base) {
        return Some(ip);
    }
    // One socket per family in use, for all candidates: stale replies to an earlier
    // candidate fail the ID and question checks.
    let socks = [bind(conf, false), bind(conf, true)];
    if socks.iter().all(Option::is_none) {
        return None;
    }
    candidates(name, conf)
        .iter()
        .find_map(|c| query(c, conf, &socks))
}

/// `name` without its one allowed trailing dot, if DNS can carry it as a host name.
fn valid_name(name: &str) -> Option<&str> {
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

/// The first address given for `name` (checked, no trailing dot) in hosts-file text.
fn from_hosts(text: &str, name: &str) -> Option<IpAddr> {
    for line in text.lines() {
        let line = line.split('#').next().unwrap_or("");
        let mut fields = line.split_ascii_whitespace();
        let Some(ip) = fields.next().and_then(crate::inet::parse_ip) else {
            continue;
        };
        if fields.any(|h| h.strip_suffix('.').unwrap_or(h).eq_ignore_ascii_case(name)) {
            return Some(ip);
        }
    }
    None
}

/// The leading decimal digits of `s`, saturating; None without any.
fn number(s: &str) -> Option<u32> {
    let digits = s.bytes().take_while(u8::is_ascii_digit);
    let mut n: Option<u32> = None;
    for d in digits {
        n = Some(
            n.unwrap_or(0)
                .saturating_mul(10)
                .saturating_add((d - b'0') as u32),
        );
    }
    n
}

/// Reads resolv.conf text as musl does: unknown or malformed lines are ignored.
fn parse_conf(text: &str) -> Conf {
    let mut c = Conf {
        ns: Vec::new(),
        search: String::new(),
        ndots: 1,
        timeout: 5,
        attempts: 2,
    };
    for line in text.lines() {
        let mut words = line.split_ascii_whitespace();
        match words.next() {
            Some("nameserver") => {
                if let (Some(ip), true) =
                    (words.next().and_then(crate::inet::parse_ip), c.ns.len() < 3)
                {
                    c.ns.push(SocketAddr::new(ip, 53));
                }
            }
            Some("search" | "domain") => {
                c.search.clear();
                for w in words {
                    c.search.push_str(w);
                    c.search.push(' ');
                }
            }
            Some("options") => {
                for w in words {
                    let set = |key: &str, field: &mut u32, max: u32| {
                        if let Some(n) = w.strip_prefix(key).and_then(number) {
                            *field = n.min(max);
                        }
                    };
                    set("ndots:", &mut c.ndots, 15);
                    set("timeout:", &mut c.timeout, 60);
                    set("attempts:", &mut c.attempts, 10);
                }
            }
            _ => {}
        }
    }
    if c.ns.is_empty() {
        c.ns.push(SocketAddr::new(IpAddr::from([127, 0, 0, 1]), 53));
    }
    c
}

/// The names to ask for, in order: with each search domain first when `name` has fewer than
/// `ndots` dots and no trailing dot, then `name` itself. Too long combinations are left out.
fn candidates(name: &str, conf: &Conf) -> Vec<String> {
    let mut out = Vec::new();
    let Some(base) = valid_name(name) else {
        return out;
    };
    let dots = name.bytes().filter(|&b| b == b'.').count();
    if dots < conf.ndots as usize && !name.ends_with('.') {
        for domain in conf.search.split_ascii_whitespace() {
            let mut full = String::with_capacity(base.len() + 1 + domain.len());
            full.push_str(base);
            full.push('.');
            full.push_str(domain.strip_suffix('.').unwrap_or(domain));
            if valid_name(&full).is_some() {
                out.push(full);
            }
        }
    }
    out.push(base.to_string());
    out
}

/// Writes a recursive query for `name` (from `valid_name`, so it fits) into `buf`; returns
/// its length.
fn build_query(buf: &mut [u8; MSG], id: u16, name: &str, qtype: u16) -> usize {
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
enum Reply {
    /// Not an answer to this query (or a failure code: another server may still answer).
    Ignore,
    NxDomain,
    /// The first address of the query's type, if the answer section has one.
    Answer(Option<IpAddr>),
}

/// The offset just after the possibly compressed name at `p`. Pointers are followed only to
/// check that the name is well formed: each must point before the previous one (or before
/// the name), so no loop can go round, and a name over 255 bytes is refused.
fn skip_name(msg: &[u8], mut p: usize) -> Option<usize> {
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
fn parse_reply(reply: &[u8], query: &[u8]) -> Reply {
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

/// A non-blocking UDP socket of one family, if a server of that family is configured. The
/// first sendto binds it to the unspecified address and a random port (autobind).
fn bind(conf: &Conf, v6: bool) -> Option<OwnedFd> {
    if !conf.ns.iter().any(|a| a.is_ipv6() == v6) {
        return None;
    }
    let family = if v6 { libc::AF_INET6 } else { libc::AF_INET };
    // SAFETY: plain socket(2); the fd is owned right after.
    let fd = unsafe {
        libc::socket(
            family,
            libc::SOCK_DGRAM | libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC,
            0,
        )
    };
    // SAFETY: a fresh socket nothing else owns.
    (fd >= 0).then(|| unsafe { OwnedFd::from_raw_fd(fd) })
}

/// Whether a reply's source is this server: family, port and address (an IPv6 flow label
/// or scope id aside).
fn same_peer(from: &libc::sockaddr_storage, ns: &SocketAddr) -> bool {
    let (want, _) = super::net::sockaddr(*ns);
    let bytes = |ss: &libc::sockaddr_storage| {
        // SAFETY: a sockaddr_storage is plain bytes, read within its size.
        unsafe {
            core::slice::from_raw_parts(
                (ss as *const libc::sockaddr_storage).cast::<u8>(),
                core::mem::size_of::<libc::sockaddr_storage>(),
            )
        }
    };
    let (a, b) = (bytes(from), bytes(&want));
    // sockaddr_in: family, port, address in bytes 0..8; sockaddr_in6: family and port in
    // 0..4, the address in 8..24.
    let ranges: [core::ops::Range<usize>; 2] = if ns.is_ipv6() {
        [0..4, 8..24]
    } else {
        [0..4, 4..8]
    };
    ranges.into_iter().all(|r| a.get(r.clone()) == b.get(r))
}

/// Asks every server at once for `name`'s A and AAAA records, resending what is unanswered
/// every `timeout / attempts`, for `timeout` at most. The A address as soon as there is one,
/// else (once both are answered, or at the timeout) the AAAA address.
fn query(name: &str, conf: &Conf, socks: &[Option<OwnedFd>; 2]) -> Option<IpAddr> {
    let mut r = [0u8; 4];
    super::random(&mut r).ok()?;
    let id_a = u16::from_be_bytes([r[0], r[1]]);
    let mut id_aaaa = u16::from_be_bytes([r[2], r[3]]);
    if id_aaaa == id_a {
        id_aaaa ^= 1;
    }
    let mut q = [[0u8; MSG]; 2];
    let lens = [
        build_query(&mut q[0], id_a, name, TYPE_A),
        build_query(&mut q[1], id_aaaa, name, TYPE_AAAA),
    ];
    // Per query: None while unanswered, then the address it gave, if any.
    let mut got: [Option<Option<IpAddr>>; 2] = [None, None];
    // Milliseconds since the first send.
    let timeout = conf.timeout.max(1) * 1000;
    let interval = timeout / conf.attempts.max(1);
    let start = super::monotonic_ms();
    let mut resend = 0;
    let mut buf = [0u8; MSG];
    loop {
        let now = (super::monotonic_ms() - start) as u32;
        if now >= timeout {
            break;
        }
        if now >= resend {
            for (i, qbuf) in q.iter().enumerate() {
                if got[i].is_some() {
                    continue;
                }
                for ns in &conf.ns {
                    if let Some(s) = &socks[ns.is_ipv6() as usize] {
                        let (sa, len) = super::net::sockaddr(*ns);
                        // SAFETY: the query's bytes and a valid sockaddr of length len; a
                        // failed send is like a lost packet.
                        unsafe {
                            libc::sendto(
                                s.as_raw_fd(),
                                qbuf.as_ptr().cast(),
                                lens[i],
                                0,
                                (&sa as *const libc::sockaddr_storage).cast(),
                                len,
                            )
                        };
                    }
                }
            }
            resend = now + interval;
        }
        let wait = resend.min(timeout) - now;
        let mut pfds = [libc::pollfd {
            fd: -1,
            events: libc::POLLIN,
            revents: 0,
        }; 2];
        for (pfd, s) in pfds.iter_mut().zip(socks) {
            if let Some(s) = s {
                pfd.fd = s.as_raw_fd();
            }
        }
        // SAFETY: two valid pollfds (poll skips negative fds); an error or EINTR only means
        // another round.
        unsafe { libc::poll(pfds.as_mut_ptr(), 2, wait as i32 + 1) };
        for s in socks.iter().flatten() {
            loop {
                // SAFETY: all-zero is a valid sockaddr_storage.
                let mut from: libc::sockaddr_storage = unsafe { core::mem::zeroed() };
                let mut from_len = core::mem::size_of_val(&from) as libc::socklen_t;
                // SAFETY: buf and from are writable for the lengths given.
                let n = unsafe {
                    libc::recvfrom(
                        s.as_raw_fd(),
                        buf.as_mut_ptr().cast(),
                        MSG,
                        0,
                        (&mut from as *mut libc::sockaddr_storage).cast(),
                        &mut from_len,
                    )
                };
                // Nothing more (EAGAIN) or an error: poll again.
                let Ok(n) = usize::try_from(n) else { break };
                // Only the servers asked may answer (ports included).
                if !conf.ns.iter().any(|ns| same_peer(&from, ns)) {
                    continue;
                }
                for i in 0..2 {
                    if got[i].is_some() {
                        continue;
                    }
                    match parse_reply(buf.get(..n).unwrap_or(&[]), &q[i][..lens[i]]) {
                        Reply::Ignore => {}
                        Reply::NxDomain => got[i] = Some(None),
                        Reply::Answer(a) => got[i] = Some(a),
                    }
                }
            }
        }
        if let Some(Some(a)) = got[0] {
            return Some(a);
        }
        if got[0].is_some() && got[1].is_some() {
            break;
        }
    }
    got[0].flatten().or(got[1].flatten())
}

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

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::{Ipv4Addr, UdpSocket};
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::{Arc, Mutex};
    use std::time::{Duration, Instant};

    fn conf(ns: SocketAddr) -> Conf {
        Conf {
            ns: vec![ns],
            search: String::new(),
            ndots: 1,
            timeout: 2,
            attempts: 2,
        }
    }

    fn v4(a: u8, b: u8, c: u8, d: u8) -> Option<IpAddr> {
        Some(IpAddr::V4(Ipv4Addr::new(a, b, c, d)))
    }

    #[test]
    fn hosts() {
        let text = "# comment 10.0.0.9 box\n\
                    127.0.0.1\tlocalhost\n\
                    10.0.0.1  Router router.lan # the gateway\n\
                    not-an-ip box\n\
                    fd00::2 nas\n\
                    10.0.0.3 nas box.\n\
                    10.0.0.4 box\n";
        assert_eq!(from_hosts(text, "router"), v4(10, 0, 0, 1));
        assert_eq!(from_hosts(text, "ROUTER.lan"), v4(10, 0, 0, 1));
        assert_eq!(from_hosts(text, "nas"), "fd00::2".parse().ok());
        assert_eq!(from_hosts(text, "box"), v4(10, 0, 0, 3));
        assert_eq!(from_hosts(text, "gateway"), None);
        assert_eq!(from_hosts(text, "route"), None);
        assert_eq!(from_hosts(text, "comment"), None);
        assert_eq!(from_hosts("", "box"), None);
    }

    #[test]
    fn resolv_conf() {
        let c = parse_conf("");
        assert_eq!(
            c,
            Conf {
                ns: vec!["127.0.0.1:53".parse().unwrap()],
                search: String::new(),
                ndots: 1,
                timeout: 5,
                attempts: 2,
            }
        );
        let c = parse_conf(
            "# generated\n\
             nameserver 192.168.1.1\n\
             nameserver not-an-address\n\
             nameserver\n\
             nameservers 10.9.9.9\n\
             nameserver 2001:db8::53 # v6\n\
             domain home\n\
             nameserver 10.0.0.3\n\
             nameserver 10.0.0.4\n\
             search lan corp.example.\n\
             options ndots:99 timeout:100 attempts:77 rotate\n\
             options debug ndots:x timeout:\n",
        );
        let ns: Vec<SocketAddr> = ["192.168.1.1:53", "[2001:db8::53]:53", "10.0.0.3:53"]
            .iter()
            .map(|s| s.parse().unwrap())
            .collect();
        assert_eq!(c.ns, ns);
        assert_eq!(c.search, "lan corp.example. ");
        assert_eq!((c.ndots, c.timeout, c.attempts), (15, 60, 10));
        let c = parse_conf("search a b\ndomain c\noptions ndots:0 timeout:3 attempts:1\n");
        assert_eq!(c.search, "c ");
        assert_eq!((c.ndots, c.timeout, c.attempts), (0, 3, 1));
        let c = parse_conf("options ndots:99999999999999999999\n");
        assert_eq!(c.ndots, 15);
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
    fn search_order() {
        let mut c = parse_conf("search lan corp.example.\n");
        assert_eq!(
            candidates("box", &c),
            ["box.lan", "box.corp.example", "box"]
        );
        assert_eq!(candidates("box.", &c), ["box"]);
        assert_eq!(candidates("a.box", &c), ["a.box"]);
        c.ndots = 2;
        assert_eq!(
            candidates("a.box", &c),
            ["a.box.lan", "a.box.corp.example", "a.box"]
        );
        c.ndots = 0;
        assert_eq!(candidates("box", &c), ["box"]);
        // A search domain that would make the name too long is left out.
        c.ndots = 1;
        c.search = format!("lan {}", "x".repeat(250));
        assert_eq!(candidates("box", &c), ["box.lan", "box"]);
        assert!(candidates("bad name", &c).is_empty());
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

    fn query_msg(id: u16, name: &str, qtype: u16) -> Vec<u8> {
        let mut buf = [0u8; MSG];
        let n = build_query(&mut buf, id, name, qtype);
        buf[..n].to_vec()
    }

    /// A response to `query` with `rcode` and these answer records, owners pointing to the
    /// question name.
    fn response(query: &[u8], rcode: u8, answers: &[(u16, &[u8])]) -> Vec<u8> {
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

    const V6: [u8; 16] = [
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

    #[test]
    fn peers() {
        let sa = |s: &str| crate::daemon::net::sockaddr(s.parse().unwrap()).0;
        let v4: SocketAddr = "10.0.0.1:53".parse().unwrap();
        assert!(same_peer(&sa("10.0.0.1:53"), &v4));
        assert!(!same_peer(&sa("10.0.0.1:54"), &v4));
        assert!(!same_peer(&sa("10.0.0.2:53"), &v4));
        assert!(!same_peer(&sa("[::ffff:10.0.0.1]:53"), &v4));
        let v6: SocketAddr = "[fe80::1]:53".parse().unwrap();
        assert!(same_peer(&sa("[fe80::1]:53"), &v6));
        assert!(same_peer(&sa("[fe80::1%2]:53"), &v6), "scope id aside");
        assert!(!same_peer(&sa("[fe80::2]:53"), &v6));
        assert!(!same_peer(&sa("[fe80::1]:5353"), &v6));
        assert!(!same_peer(&sa("10.0.0.1:53"), &v6));
    }

    /// A fake DNS server on 127.0.0.1; `handle` gets its socket, each query and the sender.
    /// It stops after a few idle seconds.
    fn serve(handle: impl Fn(&UdpSocket, &[u8], SocketAddr) + Send + 'static) -> SocketAddr {
        serve_on(UdpSocket::bind("127.0.0.1:0").unwrap(), handle)
    }

    fn serve_on(
        sock: UdpSocket,
        handle: impl Fn(&UdpSocket, &[u8], SocketAddr) + Send + 'static,
    ) -> SocketAddr {
        sock.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        let addr = sock.local_addr().unwrap();
        std::thread::spawn(move || {
            let mut buf = [0u8; MSG];
            while let Ok((n, from)) = sock.recv_from(&mut buf) {
                handle(&sock, &buf[..n], from);
            }
        });
        addr
    }

    /// The question name and type of a query from `build_query`.
    fn question(q: &[u8]) -> (String, u16) {
        let mut name = String::new();
        let mut p = 12;
        while q[p] != 0 {
            if !name.is_empty() {
                name.push('.');
            }
            let l = q[p] as usize;
            name.push_str(std::str::from_utf8(&q[p + 1..p + 1 + l]).unwrap());
            p += 1 + l;
        }
        (name, u16::from_be_bytes([q[p + 1], q[p + 2]]))
    }

    /// A server knowing `box.a.test` (A), `v6.test` (AAAA only), `both.test` (both),
    /// NXDOMAIN for the rest; it records the names asked.
    fn zone_server() -> (SocketAddr, Arc<Mutex<Vec<String>>>) {
        let asked = Arc::new(Mutex::new(Vec::new()));
        let log = asked.clone();
        let addr = serve(move |s, q, from| {
            let (name, qtype) = question(q);
            let name = name.to_ascii_lowercase();
            log.lock().unwrap().push(name.clone());
            let r = match (name.as_str(), qtype) {
                ("box.a.test", TYPE_A) => response(q, 0, &[(TYPE_A, &[10, 0, 0, 1])]),
                ("both.test", TYPE_A) => response(q, 0, &[(TYPE_A, &[10, 0, 0, 2])]),
                ("both.test", TYPE_AAAA) | ("v6.test", TYPE_AAAA) => {
                    response(q, 0, &[(TYPE_AAAA, &V6)])
                }
                ("box.a.test" | "v6.test" | "both.test", _) => response(q, 0, &[]),
                _ => response(q, 3, &[]),
            };
            s.send_to(&r, from).unwrap();
        });
        (addr, asked)
    }

    #[test]
    fn end_to_end() {
        let (addr, asked) = zone_server();
        let c = conf(addr);
        assert_eq!(lookup_with("box.a.test", "", &c), v4(10, 0, 0, 1));
        assert_eq!(lookup_with("BOX.A.TEST.", "", &c), v4(10, 0, 0, 1));
        assert_eq!(lookup_with("both.test", "", &c), v4(10, 0, 0, 2));
        assert_eq!(lookup_with("v6.test", "", &c), Some(IpAddr::from(V6)));
        assert_eq!(lookup_with("none.test", "", &c), None);
        assert_eq!(lookup_with("bad name", "", &c), None);
        // /etc/hosts first: the server is not asked.
        asked.lock().unwrap().clear();
        let hosts = "192.168.9.9 box.a.test\n";
        assert_eq!(lookup_with("box.a.test", hosts, &c), v4(192, 168, 9, 9));
        assert!(asked.lock().unwrap().is_empty());
    }

    #[test]
    fn end_to_end_ipv6_server() {
        // Skipped where the loopback has no IPv6.
        let Ok(sock) = UdpSocket::bind("[::1]:0") else {
            return;
        };
        let addr = serve_on(sock, |s, q, from| {
            let r = match question(q).1 {
                TYPE_A => response(q, 0, &[(TYPE_A, &[10, 0, 0, 6])]),
                _ => response(q, 0, &[]),
            };
            s.send_to(&r, from).unwrap();
        });
        let c = conf(addr);
        assert_eq!(lookup_with("six.test", "", &c), v4(10, 0, 0, 6));
    }

    #[test]
    fn end_to_end_search() {
        let (addr, asked) = zone_server();
        let mut c = conf(addr);
        c.search = "x.test a.test".to_string();
        assert_eq!(lookup_with("box", "", &c), v4(10, 0, 0, 1));
        let mut names = asked.lock().unwrap().clone();
        names.dedup();
        assert_eq!(names, ["box.x.test", "box.a.test"]);
        // With a trailing dot (or enough dots) the name is asked as it is.
        let (addr, asked) = zone_server();
        c.ns = vec![addr];
        assert_eq!(lookup_with("box.", "", &c), None);
        let mut names = asked.lock().unwrap().clone();
        names.dedup();
        assert_eq!(names, ["box"]);
    }

    #[test]
    fn end_to_end_silent_server() {
        let silent = serve(|_, _, _| {});
        let mut c = conf(silent);
        c.timeout = 1;
        c.attempts = 1;
        let start = Instant::now();
        assert_eq!(lookup_with("box.a.test", "", &c), None);
        let took = start.elapsed();
        // Gives up at the timeout (the upper bound leaves room for a loaded emulator).
        assert!(took >= Duration::from_millis(900), "{took:?}");
        assert!(took < Duration::from_secs(10), "{took:?}");
    }

    #[test]
    fn end_to_end_retries() {
        // The first A query is dropped; the resend after timeout/attempts is answered.
        let dropped = AtomicBool::new(false);
        let addr = serve(move |s, q, from| {
            let (_, qtype) = question(q);
            if qtype == TYPE_A && !dropped.swap(true, Ordering::Relaxed) {
                return;
            }
            let r = match qtype {
                TYPE_A => response(q, 0, &[(TYPE_A, &[10, 0, 0, 5])]),
                _ => response(q, 0, &[]),
            };
            s.send_to(&r, from).unwrap();
        });
        let mut c = conf(addr);
        c.timeout = 2;
        c.attempts = 4;
        // Only the resend can be answered, and it must come before the 2 s timeout.
        assert_eq!(lookup_with("r.test", "", &c), v4(10, 0, 0, 5));
    }

    #[test]
    fn end_to_end_spoofed_port_ignored() {
        // The right ID and question, but from another port: ignored.
        let spoof = UdpSocket::bind("127.0.0.1:0").unwrap();
        let addr = serve(move |s, q, from| {
            let (_, qtype) = question(q);
            if qtype == TYPE_A {
                let fake = response(q, 0, &[(TYPE_A, &[6, 6, 6, 6])]);
                spoof.send_to(&fake, from).unwrap();
                std::thread::sleep(Duration::from_millis(50));
                s.send_to(&response(q, 0, &[(TYPE_A, &[10, 0, 0, 3])]), from)
                    .unwrap();
            } else {
                s.send_to(&response(q, 0, &[]), from).unwrap();
            }
        });
        assert_eq!(lookup_with("s.test", "", &conf(addr)), v4(10, 0, 0, 3));
    }

    #[test]
    fn end_to_end_wrong_id_ignored() {
        let addr = serve(move |s, q, from| {
            let (_, qtype) = question(q);
            if qtype == TYPE_A {
                let mut fake = response(q, 0, &[(TYPE_A, &[6, 6, 6, 6])]);
                fake[0] ^= 0x80;
                s.send_to(&fake, from).unwrap();
                std::thread::sleep(Duration::from_millis(50));
                s.send_to(&response(q, 0, &[(TYPE_A, &[10, 0, 0, 4])]), from)
                    .unwrap();
            } else {
                s.send_to(&response(q, 0, &[]), from).unwrap();
            }
        });
        assert_eq!(lookup_with("w.test", "", &conf(addr)), v4(10, 0, 0, 4));
    }

    #[test]
    fn end_to_end_second_server_answers() {
        // Queries go to every server at once: a silent first server costs nothing.
        let silent = serve(|_, _, _| {});
        let (addr, _) = zone_server();
        let mut c = conf(silent);
        c.ns.push(addr);
        c.timeout = 30;
        c.attempts = 1;
        let start = Instant::now();
        assert_eq!(lookup_with("both.test", "", &c), v4(10, 0, 0, 2));
        // Asked one after the other, the silent server would take the whole 30 s.
        assert!(start.elapsed() < Duration::from_secs(10));
    }
}
