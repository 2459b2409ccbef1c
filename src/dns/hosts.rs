//! `/etc/hosts` text: the first address given for a name.

use std::net::IpAddr;

/// The first address given for `name` (checked, no trailing dot) in hosts-file text.
pub(crate) fn from_hosts(text: &str, name: &str) -> Option<IpAddr> {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dns::wire::tests::v4;

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
    fn malformed_lines_skipped() {
        let text = "fe80::1%eth0 scoped\n\
                    10.0.0.1:80 port\n\
                    10.0.0.256 bad\n\
                    \0 10.0.0.5 nul\n\
                    10.0.0.6\n\
                    10.0.0.7 box.. box\n";
        for name in ["scoped", "port", "bad", "nul"] {
            assert_eq!(from_hosts(text, name), None, "{name}");
        }
        assert_eq!(from_hosts(text, "box"), v4(10, 0, 0, 7));
        let long = format!("10.0.0.8 {}x\n10.0.0.9 x\n", "a ".repeat(10_000));
        assert_eq!(from_hosts(&long, "x"), v4(10, 0, 0, 8));
    }
}
