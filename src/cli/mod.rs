//! The command line, with Dropbear's flags and meanings.
//!
//! This file walks the words and fills in `Options`; `values.rs` parses the values that are
//! more than a number (listen addresses, sizes, `--max-startups`, `--penalties`).

#[cfg(test)]
mod tests;
mod values;

use crate::config::{
    DEFAULT_PORT, MAX_CHANNELS, MAX_CHANNEL_PACKET, MAX_CONNECTIONS_CAP, MAX_LISTENERS, MAX_WINDOW,
};
use crate::options::Options;
use values::{parse_penalties, parse_startups, size};

pub use crate::flags::USAGE;
pub use values::parse_listen;

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
    "trusted-user-ca-keys",
    "revoked-keys",
    "root-keys",
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

/// The command line over quoll's defaults.
pub fn parse(args: &[String]) -> Result<Cli, CliError> {
    parse_from(args, Options::default())
}

/// The command line over the given defaults (`Options::dropbear` when run as `dropbear`).
pub fn parse_from(args: &[String], defaults: Options) -> Result<Cli, CliError> {
    let mut o = defaults;
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
                "trusted-user-ca-keys" if cfg!(feature = "certs") => {
                    o.trusted_user_ca_keys = Some(v.into())
                }
                "trusted-user-ca-keys" => {
                    return err("--trusted-user-ca-keys: this quoll has no certificate support")
                }
                "revoked-keys" => o.revoked_keys = Some(v.into()),
                "root-keys" => o.root_keys = Some(v.into()),
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
        // What user keys may sign with and be; the host key is Ed25519 only.
        "sig" => Some(crate::proto::userkey::SIG_ALGS),
        "key" => Some(crate::proto::userkey::KEY_TYPES),
        "HostKeyAlgorithms" => Some(&["ssh-ed25519"]),
        "cipher" => Some(crate::proto::cipher::CIPHER_NAMES),
        // Only the AES-CTR ciphers use a MAC; without them the list is empty.
        "mac" => Some(crate::proto::cipher::MAC_NAMES),
        _ => None,
    }
}
