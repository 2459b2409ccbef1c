//! `/etc/resolv.conf` text as musl reads it, and the names a lookup asks for in turn (the
//! search list and `ndots`).

use super::wire::valid_name;
use std::net::{IpAddr, SocketAddr};

/// What `/etc/resolv.conf` says.
#[derive(Debug, PartialEq)]
pub(crate) struct Conf {
    /// At most three servers, port 53 (tests use their own port).
    pub(crate) ns: Vec<SocketAddr>,
    /// The search domains, space-separated (from the last `search` or `domain` line).
    pub(crate) search: String,
    pub(crate) ndots: u32,
    /// Seconds for one candidate name, over all attempts.
    pub(crate) timeout: u32,
    pub(crate) attempts: u32,
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
pub(crate) fn parse_conf(text: &str) -> Conf {
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
pub(crate) fn candidates(name: &str, conf: &Conf) -> Vec<String> {
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

#[cfg(test)]
mod tests {
    use super::*;

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
    fn malformed_lines_ignored() {
        let c = parse_conf(
            "nameserver 10.0.0.1:53\n\
             nameserver fe80::1%eth0\n\
             nameserver 10.0.0.256\n\
             \tnameserver 10.0.0.2\n\
             options ndots:-1 timeout:1x attempts:\n\
             search\n",
        );
        assert_eq!(c.ns, ["10.0.0.2:53".parse::<SocketAddr>().unwrap()]);
        assert_eq!((c.ndots, c.timeout, c.attempts), (1, 1, 2));
        assert_eq!(c.search, "");
        // Names no query can carry are not candidates.
        assert!(candidates(&"x".repeat(64), &c).is_empty());
        assert!(candidates("a\0b", &c).is_empty());
    }
}
