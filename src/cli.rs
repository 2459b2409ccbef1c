//! The command line, with Dropbear's flags and meanings.

use crate::config::{
    DEFAULT_PORT, MAX_CHANNELS, MAX_CHANNEL_PACKET, MAX_CONNECTIONS_CAP, MAX_LISTENERS, MAX_WINDOW,
    MIN_MAX_MEMORY,
};
use crate::options::{Options, PenaltySecs};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

pub use crate::flags::USAGE;

#[derive(Debug, PartialEq, Eq)]
pub enum Cli {
    Run(Box<Options>),
    /// `-Q kind`: print the supported algorithms.
    Query(String),
    Help,
    Version,
}

#[derive(Debug, PartialEq, Eq)]
pub struct CliError(pub String);

fn err<T>(msg: impl Into<String>) -> Result<T, CliError> {
    Err(CliError(msg.into()))
}

/// The flags that take a number, with its smallest and largest value.
const NUMERIC: &[(&str, u64, u64)] = &[
    ("-T", 1, u32::MAX as u64),
    ("-W", MAX_CHANNEL_PACKET as u64, MAX_WINDOW as u64),
    ("-K", 0, u64::MAX),
    ("-I", 0, u64::MAX),
    ("-M", 0, u64::MAX),
    ("--max-conns", 1, MAX_CONNECTIONS_CAP as u64),
    ("--login-grace", 1, u64::MAX),
    ("--max-unauth", 1, MAX_CONNECTIONS_CAP as u64),
    ("--max-unauth-per-addr", 1, MAX_CONNECTIONS_CAP as u64),
    ("--max-unauth-per-net", 1, MAX_CONNECTIONS_CAP as u64),
    ("--kex-timeout", 1, u64::MAX),
    ("--max-sessions", 1, MAX_CHANNELS as u64),
];

/// The short flags that take a value (`-p 22` or `-p22`).
const WITH_VALUE: &[u8] = b"rpPDTWbGclKIMQ";

/// The long flags that take a value (`--name value` or `--name=value`).
const LONG_WITH_VALUE: &[&str] = &[
    "max-conns",
    "login-grace",
    "max-unauth",
    "max-unauth-per-addr",
    "max-unauth-per-net",
    "max-startups",
    "kex-timeout",
    "penalties",
    "max-sessions",
    "syslog-ident",
    "sftp-server",
    "max-memory",
];

/// `v` as the number `flag` takes (checked against its range in NUMERIC); 0 for a flag that
/// takes no number. Tables and one function instead of parsing code per flag: the parser is
/// the largest part of the start-up code on a router build.
#[inline(never)]
fn number(flag: &str, v: &str) -> Result<u64, CliError> {
    let Some(&(_, min, max)) = NUMERIC.iter().find(|n| n.0 == flag) else {
        return Ok(0);
    };
    let n: u64 = v
        .parse()
        .map_err(|_| CliError(format!("{flag}: '{v}' is not a valid number")))?;
    if n < min || n > max {
        return err(if max == u64::MAX {
            format!("{flag}: must be at least {min}")
        } else {
            format!("{flag}: must be between {min} and {max}")
        });
    }
    Ok(n)
}

/// `--max-memory`: bytes, or K, M, G (binary multiples), at least `MIN_MAX_MEMORY`.
fn size(flag: &str, v: &str) -> Result<u64, CliError> {
    let (digits, unit) = match v.as_bytes().last().map(u8::to_ascii_uppercase) {
        Some(b'K') => (&v[..v.len() - 1], 1 << 10),
        Some(b'M') => (&v[..v.len() - 1], 1 << 20),
        Some(b'G') => (&v[..v.len() - 1], 1 << 30),
        _ => (v, 1),
    };
    let n = digits
        .parse::<u64>()
        .ok()
        .and_then(|n| n.checked_mul(unit))
        .ok_or_else(|| CliError(format!("{flag}: '{v}' is not a size (bytes, or K, M, G)")))?;
    if n < MIN_MAX_MEMORY {
        return err(format!("{flag}: must be at least {MIN_MAX_MEMORY} bytes"));
    }
    Ok(n)
}

/// The words after the one being parsed.
struct Words<'a> {
    args: &'a [String],
    i: usize,
}

impl Words<'_> {
    /// A flag's value: `inline` (the rest of the word: `-p22`, `--x=v`) or the next word.
    #[inline(never)]
    fn value(&mut self, flag: &str, inline: Option<&str>) -> Result<String, CliError> {
        if let Some(v) = inline {
            return Ok(v.to_string());
        }
        let v = self
            .args
            .get(self.i)
            .ok_or_else(|| CliError(format!("{flag} needs a value")))?;
        self.i += 1;
        Ok(v.clone())
    }
}

/// `[address:]port`, with `[v6]:port` for IPv6; no address means every IPv4 and IPv6 address.
pub fn parse_listen(v: &str) -> Result<Vec<SocketAddr>, CliError> {
    let bad = || CliError(format!("-p: '{v}' is not [address:]port"));
    if let Ok(port) = v.parse::<u16>() {
        return Ok(vec![
            SocketAddr::new(IpAddr::V6(Ipv6Addr::UNSPECIFIED), port),
            SocketAddr::new(IpAddr::V4(Ipv4Addr::UNSPECIFIED), port),
        ]);
    }
    if let Some(a) = crate::inet::parse_socket_addr(v) {
        return Ok(vec![a]);
    }
    let (host, port) = v.rsplit_once(':').ok_or_else(bad)?;
    let port: u16 = port.parse().map_err(|_| bad())?;
    match host {
        "localhost" => Ok(vec![SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), port)]),
        "" | "*" => parse_listen(&port.to_string()),
        _ => err(format!("-p: '{host}' is not an IP address")),
    }
}

/// `--max-startups start:rate:full` (OpenSSH's MaxStartups), or one number: `full` alone,
/// no random drop.
#[inline(never)]
fn parse_startups(v: &str) -> Result<(usize, u32, usize), CliError> {
    let mut n = [0usize; 4];
    let mut count = 0;
    for part in v.split(':') {
        let slot = n.get_mut(count);
        match (slot, part.parse()) {
            (Some(slot), Ok(x)) => *slot = x,
            _ => return err(format!("--max-startups: '{v}' is not start:rate:full")),
        }
        count += 1;
    }
    let [start, rate, full] = match count {
        1 => [n[0], 100, n[0]],
        3 => [n[0], n[1], n[2]],
        _ => return err(format!("--max-startups: '{v}' is not start:rate:full")),
    };
    if full == 0 || full > MAX_CONNECTIONS_CAP || start > full || rate > 100 {
        return err(format!(
            "--max-startups: need start <= full <= {MAX_CONNECTIONS_CAP}, full >= 1, rate <= 100"
        ));
    }
    Ok((start, rate as u32, full))
}

/// `--penalties` kinds, in the order of `PenaltySecs`' fields (`grace-exceeded` is
/// OpenSSH's name for `grace`).
const PENALTY_KINDS: [&str; 7] = [
    "authfail",
    "noauth",
    "protocol",
    "grace",
    "min",
    "max",
    "grace-exceeded",
];

/// `--penalties off`, or comma-separated `kind:seconds` items that change the defaults.
#[inline(never)]
fn parse_penalties(v: &str) -> Result<Option<PenaltySecs>, CliError> {
    if v == "off" {
        return Ok(None);
    }
    let d = PenaltySecs::default();
    let mut secs = [d.authfail, d.noauth, d.protocol, d.grace, d.min, d.max];
    for item in v.split(',') {
        let (kind, n) = item.split_once(':').unwrap_or((item, ""));
        let k = PENALTY_KINDS.iter().position(|k| *k == kind);
        match (k, n.parse::<u32>()) {
            (Some(k), Ok(n)) => secs[if k == 6 { 3 } else { k }] = n,
            _ => return err(format!("--penalties: '{item}' is not kind:seconds")),
        }
    }
    let [authfail, noauth, protocol, grace, min, max] = secs;
    if min > max {
        return err("--penalties: min must not exceed max");
    }
    Ok(Some(PenaltySecs {
        authfail,
        noauth,
        protocol,
        grace,
        min,
        max,
    }))
}

pub fn parse(args: &[String]) -> Result<Cli, CliError> {
    let mut o = Options::default();
    let mut seen_r = false;
    let mut w = Words { args, i: 0 };
    while let Some(arg) = args.get(w.i) {
        w.i += 1;
        if let Some(long) = arg.strip_prefix("--") {
            let (name, inline) = match long.split_once('=') {
                Some((n, v)) => (n, Some(v)),
                None => (long, None),
            };
            let flag = &arg[..name.len() + 2];
            let mut v = String::new();
            if LONG_WITH_VALUE.contains(&name) {
                v = w.value(flag, inline)?;
            }
            let n = number(flag, &v)?;
            match name {
                "max-conns" => o.max_connections = n as usize,
                "login-grace" => o.login_grace_secs = n,
                "max-unauth" => o.max_unauth = n as usize,
                "max-unauth-per-addr" => o.max_unauth_per_addr = n as usize,
                "max-unauth-per-net" => o.max_unauth_per_net = n as usize,
                "max-startups" => {
                    (o.startups_begin, o.startups_rate, o.max_unauth) = parse_startups(&v)?
                }
                "kex-timeout" => o.kex_timeout_secs = n,
                "penalties" => o.penalties = parse_penalties(&v)?,
                "max-sessions" => o.max_channels = n as usize,
                "max-memory" => o.max_memory = Some(size(flag, &v)?),
                "permit-user-env" => o.permit_user_env = true,
                "syslog-ident" => {
                    if v.is_empty() || v.len() > 32 || !v.bytes().all(|c| c.is_ascii_graphic()) {
                        return err("--syslog-ident: 1 to 32 printable characters");
                    }
                    o.syslog_ident = v;
                }
                "sftp-server" => o.sftp_server = Some(v.into()),
                "no-sftp" => o.no_sftp = true,
                "builtin-scp" if cfg!(feature = "scp") => o.builtin_scp = true,
                "builtin-scp" => return err("--builtin-scp: this quoll has no built-in scp"),
                "help" => return Ok(Cli::Help),
                "version" => return Ok(Cli::Version),
                _ => return err(format!("unknown option {flag}")),
            }
            continue;
        }
        let Some(flags) = arg.strip_prefix('-').filter(|f| !f.is_empty()) else {
            return err(format!("unexpected argument '{arg}'"));
        };
        for (at, c) in flags.char_indices() {
            let flag = format!("-{c}");
            if c.is_ascii() && WITH_VALUE.contains(&(c as u8)) {
                // A value: the rest of this word or the next word (Dropbear style).
                let rest = &flags[at + c.len_utf8()..];
                let v = w.value(&flag, Some(rest).filter(|r| !r.is_empty()))?;
                let n = number(&flag, &v)?;
                match c {
                    'r' if seen_r => o.extra_hostkeys.push(v.into()),
                    'r' => {
                        o.hostkey = v.into();
                        seen_r = true;
                    }
                    'p' => {
                        o.listen.extend(parse_listen(&v)?);
                        if o.listen.len() > MAX_LISTENERS {
                            return err(format!("-p: at most {MAX_LISTENERS} listening addresses"));
                        }
                    }
                    'P' => o.pidfile = Some(v.into()),
                    'D' => o.auth_dir = Some(v.into()),
                    'T' => o.max_auth_tries = n as u32,
                    'W' => o.window = n as u32,
                    'b' => o.banner = Some(v.into()),
                    'G' => o.group = Some(v),
                    'c' => o.forced_command = Some(v),
                    'l' => o.interface = Some(v),
                    'K' => o.keepalive_secs = n,
                    'I' => o.idle_timeout_secs = n,
                    'M' => o.max_session_secs = n,
                    _ => {
                        if query(&v).is_none() {
                            return err(format!("-Q: '{v}' is not one of kex, sig, cipher, mac"));
                        }
                        return Ok(Cli::Query(v));
                    }
                }
                break;
            }
            match c {
                'R' => o.defer_keygen = true,
                'F' => o.foreground = true,
                'E' => o.log_stderr = true,
                'e' => o.pass_env = true,
                'w' => o.no_root = true,
                's' => o.no_password = true,
                'g' => o.no_root_password = true,
                'B' => o.blank_password = true,
                't' => o.key_and_password = true,
                'j' => o.no_local_forward = true,
                'k' => o.no_remote_forward = true,
                'a' => o.forward_any_address = true,
                'i' => o.inetd = true,
                // No motd and no QoS marks: already true of quoll.
                'm' | 'z' => {}
                'V' => return Ok(Cli::Version),
                'h' => return Ok(Cli::Help),
                _ => return err(format!("unknown option {flag}")),
            }
        }
    }
    if o.listen.is_empty() {
        o.listen = parse_listen(&DEFAULT_PORT.to_string())?;
    }
    if o.key_and_password && o.no_password {
        return err("-t needs passwords: it cannot be combined with -s");
    }
    Ok(Cli::Run(Box::new(o)))
}

/// `-Q kind`: the algorithms quoll supports, as `ssh -Q` lists them.
pub fn query(kind: &str) -> Option<&'static [&'static str]> {
    match kind {
        "kex" => Some(crate::proto::kex::KEX_ALGS),
        "sig" | "key" | "HostKeyAlgorithms" => Some(&["ssh-ed25519"]),
        "cipher" => Some(crate::proto::cipher::CIPHER_NAMES),
        // Only the AES-CTR ciphers use a MAC; without them the list is empty.
        "mac" => Some(crate::proto::cipher::MAC_NAMES),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(a: &[&str]) -> Result<Options, CliError> {
        let v: Vec<String> = a.iter().map(|s| s.to_string()).collect();
        match parse(&v)? {
            Cli::Run(o) => Ok(*o),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn dropbear_style_flags() {
        let o = run(&[
            "-FE",
            "-p",
            "127.0.0.1:2222",
            "-r/tmp/k",
            "-D",
            "/d",
            "-T3",
            "-p",
            "[::1]:22",
        ])
        .unwrap();
        assert!(o.foreground && o.log_stderr);
        assert_eq!(
            o.listen,
            vec![
                "127.0.0.1:2222".parse().unwrap(),
                "[::1]:22".parse().unwrap()
            ]
        );
        assert_eq!(o.hostkey, std::path::PathBuf::from("/tmp/k"));
        assert_eq!(o.max_auth_tries, 3);
        assert_eq!(o.auth_dir, Some("/d".into()));
    }

    #[test]
    fn default_port_listens_everywhere() {
        let o = run(&["-F"]).unwrap();
        assert_eq!(o.listen.len(), 2);
        assert!(o.listen.iter().all(|a| a.port() == 22));
    }

    #[test]
    fn bad_flags_are_errors() {
        assert!(run(&["-x"]).is_err());
        assert!(run(&["-p"]).is_err());
        assert!(run(&["-p", "host:99999"]).is_err());
        assert!(run(&["-T", "abc"]).is_err());
        assert!(run(&["-W", "10"]).is_err());
        assert!(run(&["stray"]).is_err());
        assert!(run(&["-c"]).is_err());
        assert!(run(&["-t", "-s"]).is_err());
        assert!(run(&["--max-sessions", "17"]).is_err());
        assert!(run(&["--max-conns", "0"]).is_err());
        assert!(run(&["--sftp-server"]).is_err());
    }

    #[test]
    fn every_dropbear_flag() {
        let o = run(&[
            "-b",
            "/etc/banner",
            "-e",
            "-w",
            "-G",
            "users",
            "-sgB",
            "-jka",
            "-c",
            "date",
            "-l",
            "eth0",
            "-i",
            "-K",
            "5",
            "-I60",
            "-M",
            "600",
            "-m",
            "-z",
            "-r",
            "/a",
            "-r",
            "/b",
        ])
        .unwrap();
        assert_eq!(o.banner, Some("/etc/banner".into()));
        assert!(o.pass_env && o.no_root && o.no_password && o.no_root_password);
        assert!(o.blank_password && o.no_local_forward && o.no_remote_forward);
        assert!(o.forward_any_address && o.inetd);
        assert_eq!(o.group.as_deref(), Some("users"));
        assert_eq!(o.forced_command.as_deref(), Some("date"));
        assert_eq!(o.interface.as_deref(), Some("eth0"));
        assert_eq!((o.keepalive_secs, o.idle_timeout_secs), (5, 60));
        assert_eq!(o.max_session_secs, 600);
        assert_eq!(o.hostkey, std::path::PathBuf::from("/a"));
        assert_eq!(o.extra_hostkeys, vec![std::path::PathBuf::from("/b")]);
        assert!(run(&["-t"]).unwrap().key_and_password);
        let v = |a: &[&str]| a.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(parse(&v(&["-Q", "kex"])), Ok(Cli::Query("kex".into())));
        assert!(parse(&v(&["-Q", "foo"])).is_err());
        let o = run(&[
            "--max-unauth",
            "5",
            "--max-unauth-per-addr=2",
            "--max-sessions",
            "3",
        ])
        .unwrap();
        assert_eq!(
            (o.max_unauth, o.max_unauth_per_addr, o.max_channels),
            (5, 2, 3)
        );
    }

    #[test]
    fn values_inline_or_next_and_bounds() {
        // A value flag ends its word: "-Fp22" is -F then -p 22; "-pF" is -p with "F".
        let o = run(&["-Fp2222", "-T", "4", "--login-grace=7", "--max-conns", "9"]).unwrap();
        assert!(o.foreground);
        assert_eq!(o.listen.len(), 2);
        assert!(o.listen.iter().all(|a| a.port() == 2222));
        assert_eq!(
            (o.max_auth_tries, o.login_grace_secs, o.max_connections),
            (4, 7, 9)
        );
        assert_eq!(
            run(&["-pF"]).unwrap_err().0,
            "-p: 'F' is not [address:]port"
        );
        let e = |a: &[&str]| run(a).unwrap_err().0;
        assert_eq!(e(&["-T"]), "-T needs a value");
        assert_eq!(e(&["--max-conns"]), "--max-conns needs a value");
        assert_eq!(e(&["-T0"]), "-T: must be between 1 and 4294967295");
        assert_eq!(
            e(&["--login-grace", "0"]),
            "--login-grace: must be at least 1"
        );
        assert_eq!(e(&["-K", "-1"]), "-K: '-1' is not a valid number");
        assert_eq!(
            e(&["--max-conns=0"]),
            "--max-conns: must be between 1 and 1024"
        );
        assert_eq!(
            e(&["-W", "1048577"]),
            "-W: must be between 32768 and 1048576"
        );
        assert_eq!(e(&["--bogus=1"]), "unknown option --bogus");
        assert_eq!(e(&["-Fx"]), "unknown option -x");
        assert_eq!(run(&["-W1048576"]).unwrap().window, 1048576);
        assert_eq!(run(&["-K0", "-I", "0"]).unwrap().keepalive_secs, 0);
    }

    #[test]
    fn every_numeric_flag_takes_a_value() {
        for (flag, min, max) in NUMERIC {
            assert!(min <= max, "{flag}");
            match flag.strip_prefix("--") {
                Some(long) => assert!(LONG_WITH_VALUE.contains(&long), "{flag}"),
                None => assert!(
                    flag.len() == 2 && WITH_VALUE.contains(&flag.as_bytes()[1]),
                    "{flag}"
                ),
            }
        }
    }

    #[test]
    fn max_memory_takes_bytes_or_a_suffix() {
        assert_eq!(run(&[]).unwrap().max_memory, None);
        for (v, want) in [
            ("65536", 65536),
            ("3584K", 3584 << 10),
            ("16m", 16 << 20),
            ("2G", 2 << 30),
        ] {
            assert_eq!(
                run(&["--max-memory", v]).unwrap().max_memory,
                Some(want),
                "{v}"
            );
        }
        assert_eq!(run(&["--max-memory=1M"]).unwrap().max_memory, Some(1 << 20));
        let e = |a: &[&str]| run(a).unwrap_err().0;
        assert_eq!(
            e(&["--max-memory", "16"]),
            "--max-memory: must be at least 65536 bytes"
        );
        for bad in ["", "M", "1.5M", "-1", "12T", "99999999999999999999G"] {
            assert_eq!(
                e(&["--max-memory", bad]),
                format!("--max-memory: '{bad}' is not a size (bytes, or K, M, G)")
            );
        }
        assert_eq!(e(&["--max-memory"]), "--max-memory needs a value");
    }

    #[test]
    fn admission_flags() {
        let o = run(&[]).unwrap();
        assert_eq!(
            (o.startups_begin, o.startups_rate, o.max_unauth),
            (10, 30, 32)
        );
        assert_eq!((o.max_unauth_per_net, o.kex_timeout_secs), (16, 10));
        assert_eq!(o.penalties, Some(PenaltySecs::default()));
        let o = run(&[
            "--max-startups",
            "5:50:40",
            "--max-unauth-per-net=8",
            "--kex-timeout",
            "3",
            "--penalties",
            "authfail:7,noauth:0,grace-exceeded:30,min:20",
        ])
        .unwrap();
        assert_eq!(
            (o.startups_begin, o.startups_rate, o.max_unauth),
            (5, 50, 40)
        );
        assert_eq!((o.max_unauth_per_net, o.kex_timeout_secs), (8, 3));
        let p = o.penalties.unwrap();
        assert_eq!((p.authfail, p.noauth, p.grace, p.min), (7, 0, 30, 20));
        assert_eq!((p.protocol, p.max), (10, 600));
        assert_eq!(run(&["--penalties", "off"]).unwrap().penalties, None);
        // One number: a hard limit, no random drop; --max-unauth after it sets full.
        let o = run(&["--max-startups", "20"]).unwrap();
        assert_eq!(
            (o.startups_begin, o.startups_rate, o.max_unauth),
            (20, 100, 20)
        );
        let o = run(&["--max-startups", "4:30:8", "--max-unauth", "6"]).unwrap();
        assert_eq!((o.startups_begin, o.max_unauth), (4, 6));
        let e = |a: &[&str]| run(a).unwrap_err().0;
        assert_eq!(
            e(&["--max-startups", "10:30"]),
            "--max-startups: '10:30' is not start:rate:full"
        );
        assert!(e(&["--max-startups", "20:30:10"]).contains("start <= full"));
        assert!(e(&["--max-startups", "1:101:10"]).contains("rate <= 100"));
        assert!(e(&["--max-startups", "0"]).contains("full >= 1"));
        assert_eq!(
            e(&["--penalties", "crash:90"]),
            "--penalties: 'crash:90' is not kind:seconds"
        );
        assert_eq!(
            e(&["--penalties", "min:5,max:4"]),
            "--penalties: min must not exceed max"
        );
        assert_eq!(
            e(&["--kex-timeout", "0"]),
            "--kex-timeout: must be at least 1"
        );
        assert_eq!(
            e(&["--max-unauth-per-net", "0"]),
            "--max-unauth-per-net: must be between 1 and 1024"
        );
    }

    #[test]
    fn file_transfer_flags() {
        let r = run(&["--sftp-server", "/usr/lib/sftp-server", "--builtin-scp"]);
        if cfg!(feature = "scp") {
            let o = r.unwrap();
            assert_eq!(o.sftp_server, Some("/usr/lib/sftp-server".into()));
            assert!(o.builtin_scp && !o.no_sftp);
        } else {
            assert_eq!(
                r.unwrap_err().0,
                "--builtin-scp: this quoll has no built-in scp"
            );
        }
        let o = run(&["--no-sftp", "--sftp-server=/x"]).unwrap();
        assert!(o.no_sftp);
        assert_eq!(o.sftp_server, Some("/x".into()));
    }
}
