//! `from="pattern-list"`: does a line admit the client's address?

use std::net::IpAddr;

/// Does `from="pattern-list"` admit `peer`? OpenSSH's rules, on the address (quoll does no
/// reverse DNS): patterns with `*` and `?`, `addr/bits` CIDR blocks, and `!pattern`, which
/// refuses outright when it matches. At least one positive pattern must match.
pub fn from_allows(list: &str, peer: IpAddr) -> bool {
    // An IPv4 client on an IPv6 socket shows up as ::ffff:a.b.c.d: compare as IPv4.
    let peer = peer.to_canonical();
    let text = crate::inet::Ip(peer).to_string();
    let mut allowed = false;
    for pat in list.split(',') {
        let (negated, pat) = match pat.strip_prefix('!') {
            Some(p) => (true, p),
            None => (false, pat),
        };
        let hit = match pat.split_once('/') {
            Some((addr, bits)) => match (crate::inet::parse_ip(addr), bits.parse()) {
                (Some(net), Ok(bits)) => in_block(net, bits, peer),
                _ => false,
            },
            None => wildcard(pat.as_bytes(), text.as_bytes()),
        };
        if hit && negated {
            return false;
        }
        allowed |= hit;
    }
    allowed
}

/// Does a certificate's `source-address` critical option admit `peer`? The list is
/// OpenSSH's (PROTOCOL.certkeys): comma-separated addresses and `addr/bits` blocks, no
/// wildcards, no `!`. None when an entry is neither, which makes the certificate invalid.
pub fn source_address_allows(list: &str, peer: IpAddr) -> Option<bool> {
    let peer = peer.to_canonical();
    let mut allowed = false;
    for entry in list.split(',') {
        let (addr, bits) = entry.split_once('/').unwrap_or((entry, ""));
        let net = crate::inet::parse_ip(addr)?;
        let width = if net.is_ipv4() { 32 } else { 128 };
        let bits = if bits.is_empty() {
            width
        } else {
            bits.parse().ok()?
        };
        if bits > width {
            return None;
        }
        allowed |= in_block(net, bits, peer);
    }
    Some(allowed)
}

/// Is `peer` in the block `net/bits`? Never for a prefix longer than the address or an
/// address of the other family.
fn in_block(net: IpAddr, bits: u32, peer: IpAddr) -> bool {
    match (net, peer) {
        (IpAddr::V4(n), IpAddr::V4(p)) if bits <= 32 => {
            let mask = u32::MAX.checked_shl(32 - bits).unwrap_or(0);
            u32::from(n) & mask == u32::from(p) & mask
        }
        (IpAddr::V6(n), IpAddr::V6(p)) if bits <= 128 => {
            let mask = u128::MAX.checked_shl(128 - bits).unwrap_or(0);
            u128::from(n) & mask == u128::from(p) & mask
        }
        _ => false,
    }
}

/// `*` any run, `?` any one character, case-insensitive. A loop that only ever returns to the
/// last `*` (a later `*` can match whatever an earlier one could), so any pattern costs at
/// most pattern × text steps and no stack: the pattern is the user's, as long as the file.
pub(super) fn wildcard(pat: &[u8], s: &[u8]) -> bool {
    let (mut p, mut i) = (0, 0);
    // After the last `*`: where the pattern resumes, and where in `s` that `*` ends now.
    let mut star: Option<(usize, usize)> = None;
    while i < s.len() {
        match pat.get(p) {
            Some(b'*') => {
                star = Some((p + 1, i));
                p += 1;
                continue;
            }
            Some(&c) if c == b'?' || c.eq_ignore_ascii_case(&s[i]) => {
                p += 1;
                i += 1;
                continue;
            }
            _ => {}
        }
        let Some((after, end)) = star else {
            return false;
        };
        // The last `*` takes one more character; try the rest again from there.
        star = Some((after, end + 1));
        p = after;
        i = end + 1;
    }
    pat[p..].iter().all(|&c| c == b'*')
}

/// `wildcard` by the book: `m[i][j]` is whether `pat[i..]` matches `s[j..]`.
#[cfg(feature = "fuzzing")]
pub(super) fn wildcard_table(pat: &[u8], s: &[u8]) -> bool {
    let mut m = vec![vec![false; s.len() + 1]; pat.len() + 1];
    m[pat.len()][s.len()] = true;
    for i in (0..pat.len()).rev() {
        for j in (0..=s.len()).rev() {
            m[i][j] = match pat[i] {
                b'*' => m[i + 1][j] || (j < s.len() && m[i][j + 1]),
                c => j < s.len() && (c == b'?' || c.eq_ignore_ascii_case(&s[j])) && m[i + 1][j + 1],
            };
        }
    }
    m[0][0]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::authkeys::options::parse_options;
    use crate::authkeys::MAX_FILE;

    const LOCAL: IpAddr = IpAddr::V4(std::net::Ipv4Addr::LOCALHOST);

    #[test]
    fn from_patterns() {
        let ip = |s: &str| s.parse::<IpAddr>().unwrap();
        assert!(from_allows("127.0.0.1", LOCAL));
        assert!(from_allows("10.*,127.0.0.?", LOCAL));
        assert!(!from_allows("10.*", LOCAL));
        assert!(from_allows("127.0.0.0/8", ip("127.9.9.9")));
        assert!(!from_allows("127.0.0.0/8,!127.9.*", ip("127.9.9.9")));
        assert!(
            !from_allows("!127.0.0.1", LOCAL),
            "a negation alone admits nobody"
        );
        assert!(from_allows("::1", ip("::1")));
        assert!(from_allows("2001:db8::/32", ip("2001:db8::5")));
        assert!(from_allows("127.0.0.1", ip("::ffff:127.0.0.1")));
        assert!(!from_allows("127.0.0.1/40", LOCAL));
    }

    /// Runs `f` on a thread with the main thread's 8 MiB stack (where the daemon matches
    /// patterns) and waits at most a minute for its answer.
    fn within_a_minute(f: impl FnOnce() -> bool + Send + 'static) -> bool {
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::Builder::new()
            .stack_size(8 << 20)
            .spawn(move || tx.send(f()))
            .unwrap();
        rx.recv_timeout(std::time::Duration::from_secs(60))
            .expect("no answer within a minute")
    }

    /// Found while writing the authkeys fuzz target: each `*` was a recursion that tried
    /// every split, so `*?*?...x` against a long IPv6 address took exponential time in the
    /// daemon's loop (years at 20 stars).
    #[test]
    fn from_pattern_of_many_stars_is_matched_in_polynomial_time() {
        let pattern = format!("{}x", "*?".repeat(20));
        let peer = "2001:db8:1234:5678:9abc:def0:1234:5678".parse().unwrap();
        assert!(!within_a_minute(move || from_allows(&pattern, peer)));
        let pattern = format!("{}8", "*?".repeat(20));
        assert!(within_a_minute(move || from_allows(&pattern, peer)));
    }

    #[test]
    fn source_address_lists() {
        let ip = |s: &str| s.parse::<IpAddr>().unwrap();
        let list = "127.0.0.1/32,10.0.0.0/8,2001:db8::/32,192.168.1.5";
        assert_eq!(source_address_allows(list, ip("127.0.0.1")), Some(true));
        assert_eq!(source_address_allows(list, ip("10.200.0.1")), Some(true));
        assert_eq!(
            source_address_allows(list, ip("::ffff:10.1.1.1")),
            Some(true)
        );
        assert_eq!(source_address_allows(list, ip("2001:db8:1::1")), Some(true));
        assert_eq!(source_address_allows(list, ip("192.168.1.5")), Some(true));
        assert_eq!(source_address_allows(list, ip("192.168.1.6")), Some(false));
        assert_eq!(source_address_allows(list, ip("127.0.0.2")), Some(false));
        for bad in [
            "10.*",
            "!10.0.0.0/8",
            "10.0.0.0/33",
            "::/129",
            "host",
            "",
            "10.0.0.0/x",
        ] {
            assert_eq!(source_address_allows(bad, ip("10.0.0.1")), None, "{bad}");
        }
    }

    /// The authkeys fuzz target's first finding (a timeout): 47 `*` in a row before
    /// `2001:27..0`, against the addresses the target tries.
    #[test]
    fn from_pattern_found_by_the_fuzzer_is_matched_quickly() {
        const INPUT: &[u8] =
            b"from=\"55555558,!10.2.5=555555555$55555555555555/55555555555558,!10.25/1111111111111\
              6,!10.2.*,2001:27..0,5555555555\x00\x00\x00,55555555555555$55555555555555/555555558,\
              !10.25/11111111111116,!10.2.*,***********************************************2001:27\
              ..0,5555555555\x00\x00\x00,555555555555$55555555555555/555555555555555558,!10.2.00,*\
              21:555555558,!10.25/11111111111116,!10.2.*,2001:27..0,5555555555\x00\x00\x00,5555555\
              5555555$55555555555555/55555555555557,!10.2.00,*21:27..0,555555,2001:27..0.1:*\" ssh\
              -ed25519 AUAC seecdsa-ll\x0a";
        let line = std::str::from_utf8(&INPUT[..INPUT.len() - 1]).unwrap();
        // The options alone: the key on this line is no key (a whole line is now refused).
        let list = parse_options(line).unwrap().0 .1.unwrap();
        for peer in ["192.168.1.20", "2001:db8::20", "::ffff:10.1.2.3"] {
            let list = list.clone();
            let peer = peer.parse().unwrap();
            within_a_minute(move || from_allows(&list, peer));
        }
    }

    /// A user's authorized_keys line may be as long as the file: a `from=` pattern of 250,000
    /// `*` took a stack frame per `*` and overflowed the stack (the daemon died of SIGSEGV).
    #[test]
    fn from_pattern_as_long_as_the_file_does_not_overflow_the_stack() {
        let line = format!(r#"from="{}1" ssh-ed25519 AAECAw=="#, "*".repeat(250_000));
        assert!(line.len() < MAX_FILE);
        let list = parse_options(&line).unwrap().0 .1.unwrap();
        assert!(within_a_minute(move || from_allows(&list, LOCAL)));
    }
}
