//! Flag values that are more than a number: listen addresses, sizes, `--max-startups` and
//! `--penalties`.

use super::{err, CliError};
use crate::config::{MAX_CONNECTIONS_CAP, MIN_MAX_MEMORY};
use crate::options::PenaltySecs;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

/// `--max-memory`: bytes, or K, M, G (binary multiples), at least `MIN_MAX_MEMORY`.
pub(super) fn size(flag: &str, v: &str) -> Result<u64, CliError> {
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
pub(super) fn parse_startups(v: &str) -> Result<(usize, u32, usize), CliError> {
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
pub(super) fn parse_penalties(v: &str) -> Result<Option<PenaltySecs>, CliError> {
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
