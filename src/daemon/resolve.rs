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

use crate::dns::hosts::from_hosts;
use crate::dns::resolv_conf::{candidates, parse_conf, Conf};
use crate::dns::wire::{build_query, parse_reply, valid_name, Reply, MSG, TYPE_A, TYPE_AAAA};
use std::io::ErrorKind;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, UdpSocket};

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

/// A non-blocking UDP socket of one family on a random port, if a server of that family is
/// configured.
fn bind(conf: &Conf, v6: bool) -> Option<UdpSocket> {
    if !conf.ns.iter().any(|a| a.is_ipv6() == v6) {
        return None;
    }
    let any = if v6 {
        SocketAddr::from((Ipv6Addr::UNSPECIFIED, 0))
    } else {
        SocketAddr::from((Ipv4Addr::UNSPECIFIED, 0))
    };
    let sock = UdpSocket::bind(any).ok()?;
    sock.set_nonblocking(true).ok()?;
    Some(sock)
}

/// Whether a reply's source is this server: family, port and address (an IPv6 flow label
/// or scope id aside).
fn same_peer(from: &SocketAddr, ns: &SocketAddr) -> bool {
    from.is_ipv6() == ns.is_ipv6() && from.ip() == ns.ip() && from.port() == ns.port()
}

/// Asks every server at once for `name`'s A and AAAA records, resending what is unanswered
/// every `timeout / attempts`, for `timeout` at most. The A address as soon as there is one,
/// else (once both are answered, or at the timeout) the AAAA address.
fn query(name: &str, conf: &Conf, socks: &[Option<UdpSocket>; 2]) -> Option<IpAddr> {
    let mut r = [0u8; 4];
    crate::sys::random::fill(&mut r).ok()?;
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
    let start = crate::sys::time::monotonic_ms();
    let mut resend = 0;
    let mut buf = [0u8; MSG];
    loop {
        let now = (crate::sys::time::monotonic_ms() - start) as u32;
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
                        // A failed send is like a lost packet.
                        let _ = s.send_to(&qbuf[..lens[i]], ns);
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
                pfd.fd = std::os::fd::AsRawFd::as_raw_fd(s);
            }
        }
        // Poll skips negative fds; an error or EINTR only means another round.
        let _ = crate::sys::poll::poll(&mut pfds, wait as i32 + 1);
        for s in socks.iter().flatten() {
            loop {
                let (n, from) = match s.recv_from(&mut buf) {
                    Ok(r) => r,
                    Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                    // Nothing more (EAGAIN) or an error: poll again.
                    Err(_) => break,
                };
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dns::wire::tests::{response, v4, V6};
    use std::net::UdpSocket;
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

    #[test]
    fn peers() {
        let sa = |s: &str| -> SocketAddr { s.parse().unwrap() };
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
