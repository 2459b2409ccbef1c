//! The command line, with Dropbear's flags and meanings.

use crate::config::{Options, DEFAULT_PORT, MAX_CONNECTIONS_CAP, MAX_LISTENERS, MAX_WINDOW};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

pub const USAGE: &str = "\
Usage: quoll [options]
       quoll keygen -f FILE [-C comment]   create an Ed25519 host key
       quoll keygen -y -f FILE             print a key's public line and fingerprint
Options:
-r keyfile      Ed25519 host key (default /etc/quoll/ssh_host_ed25519_key)
-R              Create the host key at the first connection if missing
-F              Don't fork into background
-E              Log to stderr rather than syslog
-p [address:]port
                Listen on this port and address (up to 10; default port 22)
-P pidfile      Write the daemon's pid here
-D dir          Read authorized_keys from dir instead of ~/.ssh
-T n            Maximum authentication tries (default 10)
-W window       Receive window per channel in bytes (default 65536, max 1048576)
-m              Don't display the motd (quoll never does)
-s, -g          Disable password logins (quoll has only public keys for now)
-j, -k          Disable local / remote port forwarding
-a              Remote-forwarded ports listen on the address asked for (default: loopback)
-z              Disable QoS (quoll sets none)
--max-conns n   Maximum simultaneous connections (default 64)
--login-grace s Seconds a connection may take to log in (default 120)
--sftp-server PATH
                Run PATH for the sftp subsystem instead of the built-in server
--no-sftp       Refuse the sftp subsystem
--builtin-scp   Serve scp -t/-f built-in even when scp is on PATH (default:
                only when it is not)
-V              Version
-h              This help
";

#[derive(Debug, PartialEq, Eq)]
pub enum Cli {
    Run(Box<Options>),
    Help,
    Version,
}

#[derive(Debug, PartialEq, Eq)]
pub struct CliError(pub String);

fn err<T>(msg: impl Into<String>) -> Result<T, CliError> {
    Err(CliError(msg.into()))
}

fn number<T: std::str::FromStr>(flag: &str, v: &str) -> Result<T, CliError> {
    v.parse()
        .map_err(|_| CliError(format!("{flag}: '{v}' is not a valid number")))
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
    if let Ok(a) = v.parse::<SocketAddr>() {
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

pub fn parse(args: &[String]) -> Result<Cli, CliError> {
    let mut o = Options::default();
    let mut i = 0;
    while i < args.len() {
        let arg = &args[i];
        i += 1;
        if let Some(long) = arg.strip_prefix("--") {
            let (name, inline) = match long.split_once('=') {
                Some((n, v)) => (n, Some(v.to_string())),
                None => (long, None),
            };
            let mut value = || -> Result<String, CliError> {
                if let Some(v) = inline.clone() {
                    return Ok(v);
                }
                i += 1;
                args.get(i - 1)
                    .cloned()
                    .ok_or_else(|| CliError(format!("--{name} needs a value")))
            };
            match name {
                "max-conns" => {
                    let n: usize = number("--max-conns", &value()?)?;
                    if n == 0 || n > MAX_CONNECTIONS_CAP {
                        return err(format!("--max-conns: must be 1..={MAX_CONNECTIONS_CAP}"));
                    }
                    o.max_connections = n;
                }
                "login-grace" => {
                    let n: u64 = number("--login-grace", &value()?)?;
                    if n == 0 {
                        return err("--login-grace: must be at least 1");
                    }
                    o.login_grace_secs = n;
                }
                "sftp-server" => o.sftp_server = Some(value()?.into()),
                "no-sftp" => o.no_sftp = true,
                "builtin-scp" => o.builtin_scp = true,
                "help" => return Ok(Cli::Help),
                "version" => return Ok(Cli::Version),
                _ => return err(format!("unknown option --{name}")),
            }
            continue;
        }
        let Some(flags) = arg.strip_prefix('-').filter(|f| !f.is_empty()) else {
            return err(format!("unexpected argument '{arg}'"));
        };
        let chars: Vec<char> = flags.chars().collect();
        let mut j = 0;
        while j < chars.len() {
            let c = chars[j];
            j += 1;
            // Flags with a value take the rest of this word or the next word (Dropbear style).
            let mut value = || -> Result<String, CliError> {
                let rest: String = chars[j..].iter().collect();
                j = chars.len();
                if !rest.is_empty() {
                    return Ok(rest);
                }
                i += 1;
                args.get(i - 1)
                    .cloned()
                    .ok_or_else(|| CliError(format!("-{c} needs a value")))
            };
            match c {
                'r' => o.hostkey = value()?.into(),
                'R' => o.defer_keygen = true,
                'F' => o.foreground = true,
                'E' => o.log_stderr = true,
                'p' => {
                    let v = value()?;
                    o.listen.extend(parse_listen(&v)?);
                    if o.listen.len() > MAX_LISTENERS {
                        return err(format!("-p: at most {MAX_LISTENERS} listening addresses"));
                    }
                }
                'P' => o.pidfile = Some(value()?.into()),
                'D' => o.auth_dir = Some(value()?.into()),
                'T' => {
                    let n: u32 = number("-T", &value()?)?;
                    if n == 0 {
                        return err("-T: must be at least 1");
                    }
                    o.max_auth_tries = n;
                }
                'W' => {
                    let n: u32 = number("-W", &value()?)?;
                    if !(crate::config::MAX_CHANNEL_PACKET..=MAX_WINDOW).contains(&n) {
                        return err(format!(
                            "-W: must be between {} and {MAX_WINDOW}",
                            crate::config::MAX_CHANNEL_PACKET
                        ));
                    }
                    o.window = n;
                }
                'j' => o.no_local_forward = true,
                'k' => o.no_remote_forward = true,
                'a' => o.forward_any_address = true,
                // Already true of quoll: no motd, no passwords, no QoS marks.
                'm' | 's' | 'g' | 'z' => {}
                'V' => return Ok(Cli::Version),
                'h' => return Ok(Cli::Help),
                'b' | 'e' | 'w' | 'G' | 'B' | 't' | 'c' | 'i' | 'K' | 'I' => {
                    return err(format!(
                        "-{c} is a Dropbear option quoll does not support yet"
                    ))
                }
                _ => return err(format!("unknown option -{c}")),
            }
        }
    }
    if o.listen.is_empty() {
        o.listen = parse_listen(&DEFAULT_PORT.to_string())?;
    }
    Ok(Cli::Run(Box::new(o)))
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
        assert!(run(&["-c", "cmd"]).is_err());
        assert!(run(&["--max-conns", "0"]).is_err());
        assert!(run(&["--sftp-server"]).is_err());
    }

    #[test]
    fn file_transfer_flags() {
        let o = run(&["--sftp-server", "/usr/lib/sftp-server", "--builtin-scp"]).unwrap();
        assert_eq!(o.sftp_server, Some("/usr/lib/sftp-server".into()));
        assert!(o.builtin_scp && !o.no_sftp);
        let o = run(&["--no-sftp", "--sftp-server=/x"]).unwrap();
        assert!(o.no_sftp);
        assert_eq!(o.sftp_server, Some("/x".into()));
    }
}
