//! authorized_keys: finding the file, checking its permissions, matching a key.
//!
//! The format is OpenSSH's (sshd(8), "AUTHORIZED_KEYS FILE FORMAT"): one key per line,
//! `[options] keytype base64 [comment]`. Only `ssh-ed25519` keys can match, since that is the
//! only user key type quoll verifies.

use crate::sys::fsys::{self, OFlag};
use std::net::IpAddr;
use std::path::Path;
use subtle::ConstantTimeEq;

/// Options of the matching authorized_keys line (sshd(8) meanings).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct KeyOptions {
    pub command: Option<String>,
    pub no_pty: bool,
    pub no_port_forwarding: bool,
    pub no_agent_forwarding: bool,
    pub no_x11_forwarding: bool,
    /// `permitopen="host:port"` (repeatable): the only local forwarding targets allowed.
    pub permit_open: Vec<String>,
    /// `permitlisten="[host:]port"` (repeatable): the only remote forwarding listeners.
    pub permit_listen: Vec<String>,
    /// `environment="NAME=value"` (repeatable); applied only with `--permit-user-env`.
    pub environment: Vec<(String, String)>,
}

impl KeyOptions {
    /// `permitopen`: may a `direct-tcpip` go to `host:port`? Any target when none is listed.
    pub fn permits_open(&self, host: &str, port: u32) -> bool {
        self.permit_open.is_empty()
            || self.permit_open.iter().any(|e| match e.rsplit_once(':') {
                Some((h, p)) => {
                    let h = h.trim_start_matches('[').trim_end_matches(']');
                    (h == "*" || h.eq_ignore_ascii_case(host))
                        && (p == "*" || p == port.to_string())
                }
                None => false,
            })
    }

    /// `permitlisten`: may a `tcpip-forward` listen on `address:port`? Any when none is listed.
    pub fn permits_listen(&self, address: &str, port: u32) -> bool {
        self.permit_listen.is_empty()
            || self.permit_listen.iter().any(|e| {
                let (h, p) = e.rsplit_once(':').unwrap_or(("", e.as_str()));
                let host_ok = h.is_empty() || h == "*" || h.eq_ignore_ascii_case(address);
                host_ok && (p == "*" || p == port.to_string())
            })
    }
}

// A file larger than this is a mistake (or an attack on a small board's memory); keys past
// the limit are not seen.
use crate::config::MAX_AUTHORIZED_KEYS_FILE as MAX_FILE;

/// Is `keyblob` (an `ssh-ed25519` public key blob) listed in the file at `path`? Returns the
/// matching line (`options_for` reads its options), for a file read by a helper running as
/// the user and the options applied by the daemon. Lines skipped and other oddities go to
/// `warn` as log messages.
///
/// `owner_uid` is the user the file belongs to: the file and every directory above it must be
/// owned by that user or root and not group/world-writable, else the file is refused (`Err`
/// with a message for the log). A missing file is `Ok(None)`.
///
/// Unlike OpenSSH, which stops at the user's home directory, the check goes up to `/`: a home
/// under a group-writable directory is refused. Root-owned sticky directories (/tmp) pass.
///
/// `peer` is the client's address, for `from="pattern-list"`: a line whose patterns do not
/// admit it does not match (and says so in the log).
pub fn find_key(
    path: &Path,
    owner_uid: u32,
    keyblob: &[u8],
    peer: IpAddr,
    warn: &mut dyn FnMut(String),
) -> Result<Option<String>, String> {
    find_key_below(path, owner_uid, keyblob, peer, Path::new("/"), warn)
}

/// The options of an authorized_keys `line` that lists `keyblob` and admits `peer`; None
/// when it does not (the line is checked again where it is applied).
pub fn options_for(line: &str, keyblob: &[u8], peer: IpAddr) -> Option<KeyOptions> {
    let entry = parse_line(line).ok()??;
    let listed = bool::from(entry.blob.as_slice().ct_eq(keyblob));
    let from_ok = entry.from.as_deref().is_none_or(|l| from_allows(l, peer));
    (listed && from_ok).then_some(entry.options)
}

/// `find_key`, checking directories only up to `top` (tests run in a world-writable /tmp).
fn find_key_below(
    path: &Path,
    owner_uid: u32,
    keyblob: &[u8],
    peer: IpAddr,
    top: &Path,
    warn: &mut dyn FnMut(String),
) -> Result<Option<String>, String> {
    // O_NONBLOCK: opening a FIFO planted as the file must not stall its reader (the fstat
    // below then refuses it); it changes nothing for regular files.
    let file = fsys::open(
        path,
        OFlag::O_RDONLY | OFlag::O_NONBLOCK | OFlag::O_NOCTTY,
        0,
    );
    let mut file = match file {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(format!("{}: {e}", fsys::show(path))),
    };
    // Check the file we opened (fstat), not whatever the name points to a moment later.
    let meta = fsys::fstat(&file).map_err(|e| format!("{}: {e}", fsys::show(path)))?;
    if !meta.is_file() {
        return Err(format!("{} is not a regular file", fsys::show(path)));
    }
    check_owner_and_mode(&meta, owner_uid, "file", path)?;
    // Walk the real path (symlinks resolved): those are the directories someone could use to
    // swap the file.
    let real = fsys::realpath(path).map_err(|e| format!("{}: {e}", fsys::show(path)))?;
    let mut dir = real.as_path();
    while let Some(up) = fsys::parent(dir) {
        dir = up;
        let meta = fsys::stat(dir).map_err(|e| format!("{}: {e}", fsys::show(dir)))?;
        check_owner_and_mode(&meta, owner_uid, "directory", dir)?;
        // realpath's answer has no doubled or trailing `/`: the bytes compare as paths.
        if dir.as_os_str() == top.as_os_str() {
            break;
        }
    }

    let contents = crate::readfile::read(&mut file, MAX_FILE)
        .map_err(|e| format!("{}: {e}", fsys::show(path)))?;
    let text = &contents.data;
    if contents.truncated {
        warn(format!(
            "{}: longer than {MAX_FILE} bytes, rest ignored",
            fsys::show(path)
        ));
    }

    for (index, line) in text.split(|&b| b == b'\n').enumerate() {
        let Ok(line) = std::str::from_utf8(line) else {
            warn(format!(
                "{}:{}: not UTF-8, skipped",
                fsys::show(path),
                index + 1
            ));
            continue;
        };
        match parse_line(line) {
            Ok(Some(entry)) => {
                if bool::from(entry.blob.as_slice().ct_eq(keyblob)) {
                    if let Some(list) = &entry.from {
                        if !from_allows(list, peer) {
                            warn(format!(
                                "{}:{}: key not allowed from {} (from= option)",
                                fsys::show(path),
                                index + 1,
                                crate::inet::Ip(peer)
                            ));
                            continue;
                        }
                    }
                    return Ok(Some(line.to_string()));
                }
            }
            Ok(None) => {}
            Err(why) => warn(format!(
                "{}:{}: {why}, skipped",
                fsys::show(path),
                index + 1
            )),
        }
    }
    Ok(None)
}

/// OpenSSH's StrictModes rule: owned by the user or root, writable by nobody else.
fn check_owner_and_mode(
    meta: &fsys::Stat,
    owner_uid: u32,
    what: &str,
    path: &Path,
) -> Result<(), String> {
    let owner_ok = meta.uid == owner_uid || meta.uid == 0;
    // A root-owned sticky directory such as /tmp is safe to pass through: nobody else can
    // remove or rename the entries below it that they do not own.
    let sticky_root_dir = meta.is_dir() && meta.uid == 0 && meta.mode & 0o1000 != 0;
    if !owner_ok || (meta.mode & 0o022 != 0 && !sticky_root_dir) {
        return Err(format!(
            "bad ownership or modes for {what} {}",
            fsys::show(path)
        ));
    }
    Ok(())
}

/// A line's options and its `from=` pattern list.
type Parsed = (KeyOptions, Option<String>);

/// An ssh-ed25519 line, ready to compare.
#[derive(Debug)]
struct Entry {
    options: KeyOptions,
    /// `from="pattern-list"`.
    from: Option<String>,
    blob: Vec<u8>,
}

/// Parses one line. `Ok(None)`: nothing that could match (blank, comment, another key type,
/// a certificate authority). `Err`: a line to warn about.
fn parse_line(line: &str) -> Result<Option<Entry>, String> {
    let line = line.trim_matches([' ', '\t', '\r']);
    if line.is_empty() || line.starts_with('#') {
        return Ok(None);
    }
    let first = line.split([' ', '\t']).next().unwrap_or("");
    let ((options, from), rest) = if is_key_type(first) {
        ((KeyOptions::default(), None), line)
    } else {
        match parse_options(line)? {
            Some(parsed) => parsed,
            None => return Ok(None),
        }
    };
    let mut fields = rest.split([' ', '\t']).filter(|f| !f.is_empty());
    let (Some(key_type), Some(base64)) = (fields.next(), fields.next()) else {
        return Err("no key on the line".into());
    };
    if key_type != "ssh-ed25519" {
        return Ok(None);
    }
    let blob = crate::base64::decode(base64).ok_or("invalid base64 in key")?;
    Ok(Some(Entry {
        options,
        from,
        blob,
    }))
}

/// Key type names that can start a line with no options.
fn is_key_type(word: &str) -> bool {
    word.starts_with("ssh-") || word.starts_with("ecdsa-") || word.starts_with("sk-")
}

/// Parses the comma-separated options at the start of `line` and returns them with the rest
/// of the line (the key). `Ok(None)` for a line that is not a user key (`cert-authority`).
///
/// A malformed value (`from` pattern, `environment` without `=`, `permitopen` without a
/// port) makes the whole line an error, as in OpenSSH. `no-user-rc`/`user-rc` are accepted
/// and mean nothing: quoll runs no rc file.
fn parse_options(line: &str) -> Result<Option<(Parsed, &str)>, String> {
    let mut options = KeyOptions::default();
    let mut from: Option<String> = None;
    let mut rest = line;
    loop {
        let (name, value, after) = next_option(rest)?;
        rest = after;
        let lower = name.to_ascii_lowercase();
        let Some(&(_, needs_value)) = OPTIONS.iter().find(|(n, _)| *n == lower) else {
            return Err(format!("unknown option {}", shown(name)));
        };
        if needs_value != value.is_some() {
            return Err(format!("malformed option {lower}"));
        }
        match lower.as_str() {
            "command" if options.command.is_some() => {
                return Err("more than one command option".into());
            }
            "command" => options.command = value,
            "restrict" => {
                options.no_pty = true;
                options.no_port_forwarding = true;
                options.no_agent_forwarding = true;
                options.no_x11_forwarding = true;
            }
            "no-pty" => options.no_pty = true,
            "pty" => options.no_pty = false,
            "no-port-forwarding" => options.no_port_forwarding = true,
            "port-forwarding" => options.no_port_forwarding = false,
            "no-agent-forwarding" => options.no_agent_forwarding = true,
            "agent-forwarding" => options.no_agent_forwarding = false,
            "no-x11-forwarding" => options.no_x11_forwarding = true,
            "x11-forwarding" => options.no_x11_forwarding = false,
            "cert-authority" => return Ok(None),
            "from" => {
                let v = value.unwrap_or_default();
                if from.is_some() || v.is_empty() || v.split(',').any(|p| p.is_empty()) {
                    return Err("malformed option from".into());
                }
                from = Some(v);
            }
            "environment" => {
                let v = value.unwrap_or_default();
                let Some((n, val)) = v.split_once('=') else {
                    return Err("malformed option environment".into());
                };
                let name_ok =
                    !n.is_empty() && n.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
                if !name_ok {
                    return Err("malformed option environment".into());
                }
                options.environment.push((n.to_string(), val.to_string()));
            }
            "permitopen" => {
                let v = value.unwrap_or_default();
                match v.rsplit_once(':') {
                    Some((h, p)) if !h.is_empty() && (p == "*" || p.parse::<u16>().is_ok()) => {}
                    _ => return Err("malformed option permitopen".into()),
                }
                options.permit_open.push(v);
            }
            "permitlisten" => {
                let v = value.unwrap_or_default();
                let port = v.rsplit_once(':').map_or(v.as_str(), |(_, p)| p);
                if !(port == "*" || port.parse::<u16>().is_ok()) {
                    return Err("malformed option permitlisten".into());
                }
                options.permit_listen.push(v);
            }
            // no-user-rc, user-rc: quoll runs no rc file.
            _ => {}
        }
        match rest.as_bytes().first() {
            Some(b',') => rest = &rest[1..],
            Some(b' ' | b'\t') => return Ok(Some(((options, from), rest.trim_start()))),
            _ => return Err("no key after the options".into()),
        }
    }
}

/// Does `from="pattern-list"` admit `peer`? OpenSSH's rules, on the address (quoll does no
/// reverse DNS): patterns with `*` and `?`, `addr/bits` CIDR blocks, and `!pattern`, which
/// refuses outright when it matches. At least one positive pattern must match.
pub fn from_allows(list: &str, peer: IpAddr) -> bool {
    // An IPv4 client on an IPv6 socket shows up as ::ffff:a.b.c.d: compare as IPv4.
    let peer = match peer {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(peer, IpAddr::V4),
        v4 => v4,
    };
    let text = crate::inet::Ip(peer).to_string();
    let mut allowed = false;
    for pat in list.split(',') {
        let (negated, pat) = match pat.strip_prefix('!') {
            Some(p) => (true, p),
            None => (false, pat),
        };
        let hit = match pat.split_once('/') {
            Some((addr, bits)) => cidr_contains(addr, bits, peer),
            None => wildcard(pat.as_bytes(), text.as_bytes()),
        };
        if hit && negated {
            return false;
        }
        allowed |= hit;
    }
    allowed
}

fn cidr_contains(addr: &str, bits: &str, peer: IpAddr) -> bool {
    let (Some(net), Ok(bits)) = (crate::inet::parse_ip(addr), bits.parse::<u32>()) else {
        return false;
    };
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
fn wildcard(pat: &[u8], s: &[u8]) -> bool {
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

/// The OpenSSH options we know (lower case), and whether each takes a value.
const OPTIONS: &[(&str, bool)] = &[
    ("command", true),
    ("environment", true),
    ("from", true),
    ("permitlisten", true),
    ("permitopen", true),
    ("agent-forwarding", false),
    ("cert-authority", false),
    ("no-agent-forwarding", false),
    ("no-port-forwarding", false),
    ("no-pty", false),
    ("no-user-rc", false),
    ("no-x11-forwarding", false),
    ("port-forwarding", false),
    ("pty", false),
    ("restrict", false),
    ("user-rc", false),
    ("x11-forwarding", false),
];

/// An unknown option's name for the log, only if it looks like one: the "options" may be
/// any text (a symlink to a root-owned file passes the permission checks), and none of it
/// belongs in the log.
fn shown(name: &str) -> String {
    let plausible =
        name.len() <= 32 && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-');
    if plausible {
        format!("\"{name}\"")
    } else {
        "(unprintable)".into()
    }
}

/// Splits `name` or `name="value"` off the front of `s`. In the value `\"` stands for `"`
/// (the only escape OpenSSH knows; other backslashes are kept as they are).
fn next_option(s: &str) -> Result<(&str, Option<String>, &str), String> {
    let end = s.find(['=', ',', ' ', '\t']).unwrap_or(s.len());
    let (name, rest) = s.split_at(end);
    if name.is_empty() {
        return Err("empty option".into());
    }
    let Some(rest) = rest.strip_prefix('=') else {
        return Ok((name, None, rest));
    };
    let Some(quoted) = rest.strip_prefix('"') else {
        return Err(format!("value of option {} is not quoted", shown(name)));
    };
    let mut value = String::new();
    let mut chars = quoted.char_indices();
    while let Some((i, c)) = chars.next() {
        match c {
            '"' => return Ok((name, Some(value), &quoted[i + 1..])),
            '\\' if quoted[i + 1..].starts_with('"') => {
                value.push('"');
                chars.next();
            }
            c => value.push(c),
        }
    }
    Err(format!("unterminated quote in option {}", shown(name)))
}

/// Entry point of the `authkeys` fuzz target (fuzz/): file text through the line parser, as
/// `find_key` reads it, and each line's options through the checks made at login; `from=`
/// patterns are matched against short and long addresses, and the matcher must agree with a
/// plain dynamic-programming one.
#[cfg(feature = "fuzzing")]
pub fn fuzz_file(text: &[u8]) {
    use std::net::{Ipv4Addr, Ipv6Addr};
    let peers = [
        IpAddr::V4(Ipv4Addr::new(192, 168, 1, 20)),
        IpAddr::V6(Ipv6Addr::new(
            0x2001, 0xdb8, 0x1234, 0x5678, 0x9abc, 0xdef0, 0x1234, 0x5678,
        )),
        IpAddr::V6(Ipv4Addr::new(10, 1, 2, 3).to_ipv6_mapped()),
    ];
    for line in text[..text.len().min(MAX_FILE)].split(|&b| b == b'\n') {
        let Ok(line) = std::str::from_utf8(line) else {
            continue;
        };
        let Ok(Some(entry)) = parse_line(line) else {
            continue;
        };
        if let Some(list) = &entry.from {
            for peer in peers {
                from_allows(list, peer);
                let text = crate::inet::Ip(peer).to_string();
                for pat in list.split(',') {
                    let (p, t) = (pat.as_bytes(), text.as_bytes());
                    assert_eq!(wildcard(p, t), wildcard_table(p, t), "{pat:?} {text}");
                }
            }
        }
        let o = &entry.options;
        o.permits_open("localhost", 22);
        o.permits_listen("127.0.0.1", 8080);
    }
}

/// `wildcard` by the book: `m[i][j]` is whether `pat[i..]` matches `s[j..]`.
#[cfg(feature = "fuzzing")]
fn wildcard_table(pat: &[u8], s: &[u8]) -> bool {
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
mod permit_tests {
    use super::KeyOptions;

    #[test]
    fn permitopen_and_permitlisten_match() {
        let any = KeyOptions::default();
        assert!(any.permits_open("example.com", 80) && any.permits_listen("", 8080));
        let o = KeyOptions {
            permit_open: vec!["localhost:8080".into(), "db:*".into()],
            permit_listen: vec!["9000".into(), "localhost:9001".into()],
            ..Default::default()
        };
        assert!(o.permits_open("LOCALHOST", 8080) && o.permits_open("db", 5432));
        assert!(!o.permits_open("localhost", 8081) && !o.permits_open("other", 8080));
        assert!(o.permits_listen("", 9000) && o.permits_listen("0.0.0.0", 9000));
        assert!(o.permits_listen("localhost", 9001) && !o.permits_listen("", 9001));
        assert!(!o.permits_listen("", 9002));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::{MetadataExt, PermissionsExt};
    use std::path::PathBuf;
    use std::process::Command;

    /// A private directory under the system temp dir, removed on drop.
    struct TempDir(PathBuf);

    impl TempDir {
        fn new(tag: &str) -> TempDir {
            let dir =
                std::env::temp_dir().join(format!("quoll-authkeys-{}-{tag}", std::process::id()));
            let _ = std::fs::remove_dir_all(&dir);
            std::fs::create_dir(&dir).unwrap();
            std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700)).unwrap();
            TempDir(dir)
        }
    }

    impl Drop for TempDir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    const LOCAL: IpAddr = IpAddr::V4(std::net::Ipv4Addr::LOCALHOST);

    /// The lookup as the daemon sees it: the line found, then its options.
    fn find_key_below(
        path: &Path,
        owner: u32,
        blob: &[u8],
        peer: IpAddr,
        top: &Path,
    ) -> Result<Option<KeyOptions>, String> {
        let line = super::find_key_below(path, owner, blob, peer, top, &mut |_| {})?;
        Ok(line.map(|l| options_for(&l, blob, peer).expect("the line found lists the key")))
    }

    fn find_key(
        path: &Path,
        owner: u32,
        blob: &[u8],
        peer: IpAddr,
    ) -> Result<Option<KeyOptions>, String> {
        find_key_below(path, owner, blob, peer, Path::new("/"))
    }

    /// Our effective uid: /proc/self belongs to it.
    fn uid() -> u32 {
        std::fs::metadata("/proc/self").unwrap().uid()
    }

    /// Makes a real key with ssh-keygen; returns its .pub line and its blob, built from the
    /// raw public key rather than copied from the file.
    fn keygen(dir: &Path, name: &str) -> (String, Vec<u8>) {
        let path = dir.join(name);
        let status = Command::new("ssh-keygen")
            .args(["-q", "-t", "ed25519", "-N", "", "-C", "test key", "-f"])
            .arg(&path)
            .status()
            .expect("ssh-keygen runs");
        assert!(status.success());
        let line = std::fs::read_to_string(path.with_extension("pub")).unwrap();
        let line = line.trim_end().to_string();
        let decoded = crate::base64::decode(line.split(' ').nth(1).unwrap()).unwrap();
        // string "ssh-ed25519", string key(32)
        assert_eq!(&decoded[..4], &[0, 0, 0, 11]);
        assert_eq!(&decoded[4..15], b"ssh-ed25519");
        assert_eq!(&decoded[15..19], &[0, 0, 0, 32]);
        let raw = &decoded[19..];
        assert_eq!(raw.len(), 32);
        let mut blob = Vec::new();
        blob.extend_from_slice(&11u32.to_be_bytes());
        blob.extend_from_slice(b"ssh-ed25519");
        blob.extend_from_slice(&32u32.to_be_bytes());
        blob.extend_from_slice(raw);
        (line, blob)
    }

    fn write_keys(dir: &Path, text: &str) -> PathBuf {
        let path = dir.join("authorized_keys");
        std::fs::write(&path, text).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        path
    }

    #[test]
    fn matching_and_non_matching_keys() {
        let tmp = TempDir::new("match");
        let (line_a, blob_a) = keygen(&tmp.0, "a");
        let (_, blob_b) = keygen(&tmp.0, "b");
        let text = format!(
            "# my keys\n\n   \nssh-rsa AAAAB3NzaC1yc2E= rsa\nno-pty,command=\"echo \\\"hi\\\", bye\" {line_a}\n"
        );
        let path = write_keys(&tmp.0, &text);
        let found = find_key_below(&path, uid(), &blob_a, LOCAL, &tmp.0).unwrap();
        let want = KeyOptions {
            command: Some("echo \"hi\", bye".into()),
            no_pty: true,
            ..Default::default()
        };
        assert_eq!(found, Some(want));
        assert_eq!(
            find_key_below(&path, uid(), &blob_b, LOCAL, &tmp.0).unwrap(),
            None
        );
        // A prefix of a key is not the key.
        assert_eq!(
            find_key_below(&path, uid(), &blob_a[..40], LOCAL, &tmp.0).unwrap(),
            None
        );
    }

    #[test]
    fn plain_line_and_skipped_lines() {
        let tmp = TempDir::new("plain");
        let (line, blob) = keygen(&tmp.0, "k");
        let key = line.split(' ').take(2).collect::<Vec<_>>().join(" ");
        // Bad lines carrying the same key must not match; the last, plain one does.
        let text = format!(
            "bogus-option {key}\nfrom=\"10.0.0.1\" {key}\ncert-authority {key}\n\
             command=\"unterminated {key}\n\t{key}\r\n"
        );
        let path = write_keys(&tmp.0, &text);
        let found = find_key_below(&path, uid(), &blob, LOCAL, &tmp.0).unwrap();
        assert_eq!(found, Some(KeyOptions::default()));
    }

    #[test]
    fn missing_file_is_none() {
        let tmp = TempDir::new("missing");
        let path = tmp.0.join("nope");
        assert_eq!(find_key(&path, uid(), b"x", LOCAL), Ok(None));
    }

    #[test]
    fn group_writable_file_is_refused() {
        let tmp = TempDir::new("gwfile");
        let path = write_keys(&tmp.0, "");
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o620)).unwrap();
        let err = find_key_below(&path, uid(), b"x", LOCAL, &tmp.0).unwrap_err();
        assert_eq!(
            err,
            format!("bad ownership or modes for file {}", path.display())
        );
    }

    #[test]
    fn group_writable_directory_is_refused() {
        let tmp = TempDir::new("gwdir");
        let ssh = tmp.0.join(".ssh");
        std::fs::create_dir(&ssh).unwrap();
        let path = write_keys(&ssh, "");
        std::fs::set_permissions(&ssh, std::fs::Permissions::from_mode(0o770)).unwrap();
        let err = find_key_below(&path, uid(), b"x", LOCAL, &tmp.0).unwrap_err();
        assert_eq!(
            err,
            format!("bad ownership or modes for directory {}", ssh.display())
        );
        // The walk goes on up to /: a world-writable directory without the sticky bit is
        // refused; a root-owned sticky one such as /tmp is passed.
        std::fs::set_permissions(&ssh, std::fs::Permissions::from_mode(0o700)).unwrap();
        std::fs::set_permissions(&tmp.0, std::fs::Permissions::from_mode(0o777)).unwrap();
        let err = find_key(&path, uid(), b"x", LOCAL).unwrap_err();
        assert_eq!(
            err,
            format!("bad ownership or modes for directory {}", tmp.0.display())
        );
        std::fs::set_permissions(&tmp.0, std::fs::Permissions::from_mode(0o700)).unwrap();
        let tmp_meta = std::fs::metadata(std::env::temp_dir()).unwrap();
        if tmp_meta.uid() == 0 && tmp_meta.mode() & 0o1000 != 0 {
            assert_eq!(find_key(&path, uid(), b"x", LOCAL), Ok(None));
        }
    }

    #[test]
    fn file_of_another_user_is_refused() {
        let tmp = TempDir::new("owner");
        let path = write_keys(&tmp.0, "");
        // Owned by us, checked for someone else: fine only if we are root.
        let other = uid().wrapping_add(1000);
        let result = find_key_below(&path, other, b"x", LOCAL, &tmp.0);
        if uid() == 0 {
            assert_eq!(result, Ok(None));
        } else {
            assert!(result.is_err());
        }
    }

    #[test]
    fn fifo_is_refused_without_blocking() {
        let tmp = TempDir::new("fifo");
        let path = tmp.0.join("authorized_keys");
        let status = Command::new("mkfifo").arg(&path).status().unwrap();
        assert!(status.success());
        let err = find_key_below(&path, uid(), b"x", LOCAL, &tmp.0).unwrap_err();
        assert!(err.ends_with("is not a regular file"), "{err}");
    }

    #[test]
    fn unknown_option_names_are_shown_only_when_plausible() {
        assert_eq!(
            parse_options("frob k").unwrap_err(),
            "unknown option \"frob\""
        );
        let err = parse_options("root:$6$secret$hash:19000:0:99999:7::: k").unwrap_err();
        assert!(!err.contains("secret"), "{err}");
    }

    #[test]
    fn options_parsing() {
        let full = |s: &str| parse_options(s).map(|o| o.map(|(o, rest)| (o, rest.to_string())));
        let opts = |s: &str| full(s).map(|o| o.map(|((o, _), rest)| (o, rest)));
        assert_eq!(
            opts("command=\"a,b \\\"c\\\" d\\e\",no-pty ssh-ed25519 AAAA"),
            Ok(Some((
                KeyOptions {
                    command: Some("a,b \"c\" d\\e".into()),
                    no_pty: true,
                    ..Default::default()
                },
                "ssh-ed25519 AAAA".into()
            )))
        );
        // restrict implies every no-*; a later pty allows a terminal again.
        let r = opts("restrict k").unwrap().unwrap().0;
        assert!(r.no_pty && r.no_port_forwarding && r.no_agent_forwarding && r.no_x11_forwarding);
        let r = opts("restrict,pty k").unwrap().unwrap().0;
        assert!(!r.no_pty && r.no_port_forwarding);
        let o = opts(
            "No-Port-Forwarding,no-X11-forwarding,no-agent-forwarding,permitopen=\"h:1\",\
             permitopen=\"[::1]:*\",permitlisten=\"8080\",environment=\"A_1=B=c\" k",
        )
        .unwrap()
        .unwrap()
        .0;
        assert!(o.no_port_forwarding && o.no_x11_forwarding && o.no_agent_forwarding);
        assert_eq!(
            o.permit_open,
            vec!["h:1".to_string(), "[::1]:*".to_string()]
        );
        assert_eq!(o.permit_listen, vec!["8080".to_string()]);
        assert_eq!(o.environment, vec![("A_1".to_string(), "B=c".to_string())]);
        let from = full("from=\"10.0.0.0/8,!10.1.*\" k").unwrap().unwrap().0 .1;
        assert_eq!(from.as_deref(), Some("10.0.0.0/8,!10.1.*"));
        assert_eq!(opts("cert-authority k"), Ok(None));
        for bad in [
            "unknown k",
            "command=unquoted k",
            "command k",
            "no-pty=\"x\" k",
            "command=\"a\",command=\"b\" k",
            "command=\"open k",
            "no-pty,",
            "no-pty",
            ",no-pty k",
            "from=\"\" k",
            "from=\"a,,b\" k",
            "environment=\"NOEQUALS\" k",
            "environment=\"BAD NAME=x\" k",
            "permitopen=\"nohost\" k",
            "permitlisten=\"x:y\" k",
            "no-pty;x k",
        ] {
            assert!(opts(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn line_parsing() {
        assert!(parse_line("").unwrap().is_none());
        assert!(parse_line("  # comment").unwrap().is_none());
        assert!(parse_line("ssh-rsa AAAA x").unwrap().is_none());
        assert!(parse_line("ssh-ed25519").is_err());
        assert!(parse_line("ssh-ed25519 !!!!").is_err());
        let e = parse_line("ssh-ed25519\tAAECAw== comment with spaces")
            .unwrap()
            .unwrap();
        assert_eq!(e.blob, vec![0, 1, 2, 3]);
    }

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
        let list = parse_line(line).unwrap().unwrap().from.unwrap();
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
        let entry = parse_line(&line).unwrap().unwrap();
        let list = entry.from.unwrap();
        assert!(within_a_minute(move || from_allows(&list, LOCAL)));
    }

    #[test]
    fn from_mismatch_skips_the_line() {
        let tmp = TempDir::new("from");
        let (line, blob) = keygen(&tmp.0, "a");
        let path = write_keys(&tmp.0, &format!("from=\"10.0.0.0/8\" {line}\n"));
        assert_eq!(find_key_below(&path, uid(), &blob, LOCAL, &tmp.0), Ok(None));
        let ten = "10.2.3.4".parse().unwrap();
        assert!(find_key_below(&path, uid(), &blob, ten, &tmp.0)
            .unwrap()
            .is_some());
    }
}
