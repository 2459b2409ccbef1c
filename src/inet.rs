//! IP and socket addresses as text: parsing and printing, accepting and producing exactly what
//! std's `FromStr` and `Display` do. quoll has its own because core::net's parser and Display
//! code cost about 5 KB of MIPS code on the router build; these few loops do the same job in
//! less than half that (the stripped mt7621-router binary: 3.4 KB smaller).
//!
//! The parsers read untrusted text (the network, authorized_keys, resolv.conf): every read is
//! a checked `get`, every number checked arithmetic, so no input can panic.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4, SocketAddrV6};

/// `s` as an IPv4 or IPv6 address, as `s.parse::<IpAddr>()`.
pub fn parse_ip(s: &str) -> Option<IpAddr> {
    let mut p = Input {
        s: s.as_bytes(),
        at: 0,
    };
    // IPv4 first, as std: text that starts as an IPv4 address is never IPv6.
    let ip = match p.ipv4() {
        Some(v4) => IpAddr::V4(Ipv4Addr::from_bits(v4)),
        None => IpAddr::V6(p.ipv6()?),
    };
    p.done().then_some(ip)
}

/// `s` as `a.b.c.d:port` or `[v6%scope]:port`, as `s.parse::<SocketAddr>()`.
pub fn parse_socket_addr(s: &str) -> Option<SocketAddr> {
    let mut p = Input {
        s: s.as_bytes(),
        at: 0,
    };
    let addr = if p.eat(b'[') {
        let ip = p.ipv6()?;
        let scope = if p.eat(b'%') {
            p.number(10, usize::MAX, true)?
        } else {
            0
        };
        if !p.eat(b']') {
            return None;
        }
        SocketAddr::V6(SocketAddrV6::new(ip, p.port()?, 0, scope))
    } else {
        let ip = Ipv4Addr::from_bits(p.ipv4()?);
        SocketAddr::V4(SocketAddrV4::new(ip, p.port()?))
    };
    p.done().then_some(addr)
}

/// Text being parsed and how far it has been read.
struct Input<'a> {
    s: &'a [u8],
    at: usize,
}

impl Input<'_> {
    fn done(&self) -> bool {
        self.at == self.s.len()
    }

    /// Reads `c` if it comes next.
    fn eat(&mut self, c: u8) -> bool {
        let hit = self.s.get(self.at) == Some(&c);
        self.at += usize::from(hit);
        hit
    }

    /// Digits in `radix`, as many as there are. Fails (position then undefined: the caller
    /// resets it) without a digit, with more than `max_digits`, on overflow, or (unless
    /// `zero_prefix_ok`) on a leading zero, which could be meant as octal.
    fn number(&mut self, radix: u32, max_digits: usize, zero_prefix_ok: bool) -> Option<u32> {
        let start = self.at;
        let mut v: u32 = 0;
        while let Some(d) = self
            .s
            .get(self.at)
            .and_then(|&b| char::from(b).to_digit(radix))
        {
            v = v.checked_mul(radix)?.checked_add(d)?;
            self.at += 1;
            if self.at - start > max_digits {
                return None;
            }
        }
        let digits = self.at - start;
        let octal = !zero_prefix_ok && digits > 1 && self.s.get(start) == Some(&b'0');
        (digits > 0 && !octal).then_some(v)
    }

    /// `:port`: any number of decimal digits, leading zeros allowed (as std).
    fn port(&mut self) -> Option<u16> {
        if !self.eat(b':') {
            return None;
        }
        u16::try_from(self.number(10, usize::MAX, true)?).ok()
    }

    /// An IPv4 address as its 32 bits; on failure the position is left where it was.
    fn ipv4(&mut self) -> Option<u32> {
        let start = self.at;
        let mut v = 0;
        for i in 0..4 {
            let octet = if i == 0 || self.eat(b'.') {
                self.number(10, 3, false).filter(|&n| n < 256)
            } else {
                None
            };
            let Some(octet) = octet else {
                self.at = start;
                return None;
            };
            v = v << 8 | octet;
        }
        Some(v)
    }

    /// Up to `limit` colon-separated hex groups into `out` (big-endian), where the last two
    /// may be written as an IPv4 address: how many were read and whether IPv4 ended them. A
    /// separator not followed by a group is left unread (it may start `::`).
    fn groups(&mut self, out: &mut [u8; 16], limit: usize) -> (usize, bool) {
        let mut n = 0;
        while n < limit {
            let mark = self.at;
            if n > 0 && !self.eat(b':') {
                break;
            }
            if n + 1 < limit {
                if let (Some([a, b, c, d]), Some(v4)) = (out.get_mut(2 * n..2 * n + 4), self.ipv4())
                {
                    [*a, *b, *c, *d] = v4.to_be_bytes();
                    return (n + 2, true);
                }
            }
            let (Some([hi, lo]), Some(v)) =
                (out.get_mut(2 * n..2 * n + 2), self.number(16, 4, true))
            else {
                self.at = mark;
                break;
            };
            [_, _, *hi, *lo] = v.to_be_bytes();
            n += 1;
        }
        (n, false)
    }

    fn ipv6(&mut self) -> Option<Ipv6Addr> {
        let mut head = [0u8; 16];
        let (n, v4) = self.groups(&mut head, 8);
        if n < 8 {
            // An IPv4 part ends the address: it cannot come before `::`.
            if v4 || !self.eat(b':') || !self.eat(b':') {
                return None;
            }
            // `::` stands for at least one zero group: at most 7 - n groups follow.
            let mut tail = [0u8; 16];
            let (m, _) = self.groups(&mut tail, 7usize.saturating_sub(n));
            for (dst, src) in head.iter_mut().rev().zip(tail.iter().take(2 * m).rev()) {
                *dst = *src;
            }
        }
        Some(Ipv6Addr::from(head))
    }
}

/// Prints as `IpAddr`'s Display does.
pub struct Ip(pub IpAddr);

/// Prints as `SocketAddr`'s Display does.
pub struct Sock(pub SocketAddr);

impl fmt::Display for Ip {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut t = Text::default();
        t.ip(&self.0);
        // pad, as std: `{:>20}` and the like work the same.
        f.pad(t.as_str())
    }
}

impl fmt::Display for Sock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut t = Text::default();
        match &self.0 {
            SocketAddr::V4(a) => t.ipv4(a.ip()),
            SocketAddr::V6(a) => {
                t.push(b'[');
                t.ipv6(a.ip());
                if a.scope_id() != 0 {
                    t.push(b'%');
                    t.num(a.scope_id(), false);
                }
                t.push(b']');
            }
        }
        t.push(b':');
        t.num(self.0.port().into(), false);
        f.pad(t.as_str())
    }
}

/// A stack buffer the text is built in (the longest, a v6 socket address with a scope, is
/// 58 bytes); anything past its end would be dropped, never a panic.
struct Text {
    buf: [u8; 64],
    len: usize,
}

impl Default for Text {
    fn default() -> Text {
        Text {
            buf: [0; 64],
            len: 0,
        }
    }
}

impl Text {
    // One call is smaller than the bounds check inlined at every use.
    #[inline(never)]
    fn push(&mut self, c: u8) {
        if let Some(b) = self.buf.get_mut(self.len) {
            *b = c;
            self.len += 1;
        }
    }

    fn as_str(&self) -> &str {
        let b = self.buf.get(..self.len).unwrap_or(&[]);
        std::str::from_utf8(b).unwrap_or("")
    }

    /// `n` in decimal or lowercase hex, without leading zeros.
    fn num(&mut self, n: u32, hex: bool) {
        let radix = if hex { 16 } else { 10 };
        if n >= radix {
            self.num(n / radix, hex);
        }
        let d = (n % radix) as u8;
        self.push(if d < 10 { b'0' + d } else { b'a' + d - 10 });
    }

    fn ip(&mut self, ip: &IpAddr) {
        match ip {
            IpAddr::V4(v4) => self.ipv4(v4),
            IpAddr::V6(v6) => self.ipv6(v6),
        }
    }

    fn ipv6(&mut self, v6: &Ipv6Addr) {
        if let Some(v4) = v6.to_ipv4_mapped() {
            for &c in b"::ffff:" {
                self.push(c);
            }
            return self.ipv4(&v4);
        }
        let mut g = [0u32; 8];
        for (x, pair) in g.iter_mut().zip(v6.octets().chunks_exact(2)) {
            if let [hi, lo] = *pair {
                *x = u32::from(hi) << 8 | u32::from(lo);
            }
        }
        // RFC 5952 as std: the longest run of two or more zero groups becomes `::`, the
        // first such run on a tie.
        let (mut at, mut len, mut run) = (0, 0, 0);
        for (i, &x) in g.iter().enumerate() {
            run = if x == 0 { run + 1 } else { 0 };
            if run > len {
                len = run;
                at = i + 1 - run;
            }
        }
        let mut colon = false;
        for (i, &x) in g.iter().enumerate() {
            if len > 1 && i >= at && i < at + len {
                if i == at {
                    self.push(b':');
                    self.push(b':');
                }
                colon = false;
                continue;
            }
            if colon {
                self.push(b':');
            }
            self.num(x, true);
            colon = true;
        }
    }

    fn ipv4(&mut self, v4: &Ipv4Addr) {
        for (i, o) in v4.octets().into_iter().enumerate() {
            if i > 0 {
                self.push(b'.');
            }
            self.num(o.into(), false);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(s: &str) {
        assert_eq!(parse_ip(s), s.parse::<IpAddr>().ok(), "ip {s:?}");
        assert_eq!(
            parse_socket_addr(s),
            s.parse::<SocketAddr>().ok(),
            "socket {s:?}"
        );
    }

    fn check_display(a: SocketAddr) {
        assert_eq!(Sock(a).to_string(), a.to_string());
        assert_eq!(Ip(a.ip()).to_string(), a.ip().to_string());
        check(&a.to_string());
        check(&a.ip().to_string());
    }

    /// A small deterministic generator (xorshift64*): the same corpus on every run.
    struct Rng(u64);

    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
        }

        fn below(&mut self, n: usize) -> usize {
            (self.next() % n as u64) as usize
        }

        /// Mostly zero groups, so that zero runs land in every position.
        fn group(&mut self) -> u16 {
            match self.below(4) {
                0 | 1 => 0,
                2 => self.next() as u16 & 0xff,
                _ => self.next() as u16,
            }
        }

        fn v6(&mut self) -> Ipv6Addr {
            let mut g = [0u16; 8];
            for x in &mut g {
                *x = self.group();
            }
            match self.below(8) {
                // IPv4-mapped and IPv4-compatible.
                0 => g[..6].copy_from_slice(&[0, 0, 0, 0, 0, 0xffff]),
                1 => g[..6].copy_from_slice(&[0; 6]),
                _ => {}
            }
            Ipv6Addr::from(g)
        }

        fn addr(&mut self) -> SocketAddr {
            let port = match self.below(3) {
                0 => 0,
                _ => self.next() as u16,
            };
            if self.below(2) == 0 {
                let v4 = Ipv4Addr::from(self.next() as u32);
                return SocketAddr::V4(SocketAddrV4::new(v4, port));
            }
            let scope = match self.below(3) {
                0 => self.next() as u32,
                _ => 0,
            };
            let flow = self.next() as u32 & 1;
            SocketAddr::V6(SocketAddrV6::new(self.v6(), port, flow, scope))
        }
    }

    #[test]
    fn edge_cases() {
        for s in [
            "",
            " ",
            " 1.2.3.4",
            "1.2.3.4 ",
            "1.2.3.4\n",
            "0.0.0.0",
            "255.255.255.255",
            "256.1.1.1",
            "1.2.3.256",
            "01.2.3.4",
            "1.2.3.04",
            "1.2.3.0",
            "00.1.2.3",
            "1.2.3",
            "1.2.3.4.",
            "1.2.3.4.5",
            ".1.2.3.4",
            "1..2.3",
            "1.2.3.4:22",
            "1.2.3.4:0",
            "1.2.3.4:022",
            "1.2.3.4:0000000000000000000022",
            "1.2.3.4:65535",
            "1.2.3.4:65536",
            "1.2.3.4:4294967296",
            "1.2.3.4:99999999999999999999",
            "1.2.3.4:",
            "1.2.3.4:-1",
            "1.2.3.4:+1",
            ":22",
            "[1.2.3.4]:22",
            "1234.1.1.1",
            "::",
            ":::",
            "::::",
            "::1",
            "1::",
            "::1::",
            "1::2::3",
            ":1::",
            "::1:",
            "1:2:3:4:5:6:7:8",
            "1:2:3:4:5:6:7:8:9",
            "1:2:3:4:5:6:7::",
            "1:2:3:4:5:6:7:8::",
            "::1:2:3:4:5:6:7",
            "::1:2:3:4:5:6:7:8",
            "1:2:3:4:5:6:7",
            "1:2:3:4::5:6:7:8",
            "12345::",
            "::12345",
            "0001:0002::ffff",
            "00001::",
            "FFFF::ABCD",
            "fFfF::aBcD",
            "g::1",
            "::ffff:1.2.3.4",
            "::FFFF:1.2.3.4",
            "::ffff:01.2.3.4",
            "::ffff:1.2.3",
            "::ffff:1.2.3.4.5",
            "::1.2.3.4",
            "64:ff9b::1.2.3.4",
            "1:2:3:4:5:6:1.2.3.4",
            "1:2:3:4:5:6:7:1.2.3.4",
            "1:2:3:4:5::1.2.3.4",
            "1:2:3:4:5:6::1.2.3.4",
            "1.2.3.4::",
            "1.2.3.4::1",
            "::1.2.3.4:1",
            "::1.2.3.4::",
            "fe80::1%2",
            "[::1]",
            "[::1]:",
            "[::1]:22",
            "[::1]:65536",
            "[::1]22",
            "::1:22",
            "[::1%2]:22",
            "[::1%]:22",
            "[::1%4294967295]:22",
            "[::1%4294967296]:22",
            "[::1%02]:22",
            "[::1%2%3]:22",
            "[::ffff:1.2.3.4]:22",
            "[::ffff:1.2.3.4%7]:0",
            "[1:2:3:4:5:6:7:8]:22",
            "[1:2:3:4:5:6:7:8:9]:22",
            "[::1]:22 ",
            "[]:22",
            "[:]:22",
            "[::]:22",
            "[::1:22",
            "::1]:22",
            "1.2.3.4%2",
            "1.2.3.4%2:22",
            "１.2.3.4",
            "é::1",
            "::1\u{0}",
        ] {
            check(s);
        }
    }

    #[test]
    fn random_strings() {
        let alphabet = b"0123456789abcdefABCDEF:.[]%";
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
        let mut s = String::new();
        for _ in 0..200_000 {
            s.clear();
            for _ in 0..rng.below(46) {
                s.push(char::from(alphabet[rng.below(alphabet.len())]));
            }
            check(&s);
        }
    }

    /// Strings of address pieces: far more of them are valid, or nearly, than of single
    /// characters.
    #[test]
    fn random_pieces() {
        let pieces = [
            "0", "1", "9", "00", "01", "255", "256", "ff", "FFFF", "abcd", "12345", ":", "::", ".",
            "[", "]", "%", "%2", "]:22", ":65535", ":65536", "1.2.3.4", "0.0.0.0",
        ];
        let mut rng = Rng(0x5151_2020_abab_7777);
        let mut s = String::new();
        for _ in 0..200_000 {
            s.clear();
            for _ in 0..rng.below(13) {
                s.push_str(pieces[rng.below(pieces.len())]);
            }
            check(&s);
        }
    }

    #[test]
    fn mutated_addresses() {
        let alphabet = b"0123456789abcdefABCDEF:.[]% x";
        let mut rng = Rng(0x0123_4567_89ab_cdef);
        for _ in 0..100_000 {
            let a = rng.addr();
            for text in [a.to_string(), a.ip().to_string()] {
                check(&text);
                let mut b = text.into_bytes();
                let i = rng.below(b.len() + 1);
                let c = alphabet[rng.below(alphabet.len())];
                match rng.below(3) {
                    0 if i < b.len() => b[i] = c,
                    1 if i < b.len() => {
                        b.remove(i);
                    }
                    _ => b.insert(i, c),
                }
                check(std::str::from_utf8(&b).unwrap());
            }
        }
    }

    #[test]
    fn display() {
        let zero_runs = [
            [0, 0, 0, 0, 0, 0, 0, 0],
            [0, 0, 0, 0, 0, 0, 0, 1],
            [1, 0, 0, 0, 0, 0, 0, 0],
            [1, 0, 1, 0, 1, 0, 1, 0],
            [0, 1, 0, 1, 0, 1, 0, 1],
            [1, 0, 0, 1, 0, 0, 1, 1],
            [1, 0, 0, 1, 0, 0, 0, 1],
            [1, 0, 0, 0, 1, 0, 0, 1],
            [0, 0, 1, 1, 1, 1, 0, 0],
            [0, 0, 0, 0, 0, 0xffff, 0x102, 0x304],
            [0, 0, 0, 0, 0, 0, 0x102, 0x304],
            [0, 0, 0, 0, 0, 0xfffe, 0x102, 0x304],
            [0, 0, 0, 0, 0xffff, 0, 0x102, 0x304],
            [0x64, 0xff9b, 0, 0, 0, 0, 0x102, 0x304],
            [0xfe80, 0, 0, 0, 0, 0, 0, 0xabcd],
            [0xffff; 8],
        ];
        for g in zero_runs {
            for (port, scope) in [(0, 0), (22, 0), (65535, 4294967295), (1, 3)] {
                check_display(SocketAddr::V6(SocketAddrV6::new(g.into(), port, 0, scope)));
            }
        }
        // Every pattern of zero and non-zero groups.
        for bits in 0u32..256 {
            let g: [u16; 8] = core::array::from_fn(|i| (bits >> i & 1) as u16 * 0xa0b);
            check_display(SocketAddr::V6(SocketAddrV6::new(g.into(), 22, 0, 0)));
        }
        for v4 in [
            [0, 0, 0, 0],
            [255, 255, 255, 255],
            [10, 0, 100, 9],
            [1, 2, 3, 4],
        ] {
            check_display(SocketAddr::from((v4, 22)));
        }
        let mut rng = Rng(0xdead_beef_cafe_f00d);
        for _ in 0..100_000 {
            check_display(rng.addr());
        }
    }

    #[test]
    fn padding_as_std() {
        let a: SocketAddr = "[::1%3]:22".parse().unwrap();
        assert_eq!(format!("{:>30}|", Sock(a)), format!("{a:>30}|"));
        assert_eq!(format!("{:<20}|", Ip(a.ip())), format!("{:<20}|", a.ip()));
        assert_eq!(format!("{:.3}", Ip(a.ip())), format!("{:.3}", a.ip()));
    }
}
