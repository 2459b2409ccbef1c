//! authorized_keys: finding the file, checking its permissions, matching a key.
//!
//! The format is OpenSSH's (sshd(8), "AUTHORIZED_KEYS FILE FORMAT"): one key per line,
//! `[options] keytype base64 [comment]`, with the key kinds `proto::userkey` verifies (those
//! built in); a `cert-authority` line lists a CA whose certificates may log in.
//!
//! `line.rs` parses a line (the key and its options, `options.rs`), `from.rs` matches a
//! `from=` pattern list against the client's address; this file finds the file, checks who
//! may write it, and compares the keys.

mod from;
mod keylist;
mod line;
mod options;
#[cfg(test)]
mod tests;

use from::from_allows;
pub use from::source_address_allows;
pub use keylist::{cert_ca, cert_names, read_keys, revoked};
use line::parse_line;

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
    /// `no-touch-required`: a FIDO key's signature need not show the user's touch.
    pub no_touch_required: bool,
    /// `verify-required`: a FIDO key's signature must show the user verified (PIN,
    /// biometrics).
    pub verify_required: bool,
    /// `principals="a,b"` on a `cert-authority` line: the certificate must name one of them
    /// (else it must name the user).
    pub principals: Option<String>,
    /// `SSH_PUBKEYINFO` for the session: the first word of the line's comment, as Dropbear
    /// sets it (only when every character is a letter, a digit or one of `.,_-+@`).
    pub info: Option<String>,
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

/// Is `keyblob` (a plain public key blob) listed in the file at `path`? Returns the
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
    find_key_below(path, owner_uid, keyblob, peer, Path::new("/"), false, warn)
}

/// `find_key` for a certificate: is `ca_blob` (the certificate's signature key) listed on a
/// `cert-authority` line? `ca_options_for` reads that line's options, `principals=` among
/// them, for `userkey::Certificate::check`.
pub fn find_cert_authority(
    path: &Path,
    owner_uid: u32,
    ca_blob: &[u8],
    peer: IpAddr,
    warn: &mut dyn FnMut(String),
) -> Result<Option<String>, String> {
    find_key_below(path, owner_uid, ca_blob, peer, Path::new("/"), true, warn)
}

/// The options of an authorized_keys `line` that lists `keyblob` and admits `peer`; None
/// when it does not (the line is checked again where it is applied). A `cert-authority`
/// line lists no key that may log in itself.
pub fn options_for(line: &str, keyblob: &[u8], peer: IpAddr) -> Option<KeyOptions> {
    line_options(line, keyblob, peer, false)
}

/// `options_for` for a `cert-authority` line listing `ca_blob`.
pub fn ca_options_for(line: &str, ca_blob: &[u8], peer: IpAddr) -> Option<KeyOptions> {
    line_options(line, ca_blob, peer, true)
}

fn line_options(line: &str, blob: &[u8], peer: IpAddr, ca: bool) -> Option<KeyOptions> {
    let entry = parse_line(line).ok()??;
    let listed = bool::from(entry.blob.as_slice().ct_eq(blob)) && entry.cert_authority == ca;
    let from_ok = entry.from.as_deref().is_none_or(|l| from_allows(l, peer));
    (listed && from_ok).then_some(entry.options)
}

/// `find_key` (`ca` false) or `find_cert_authority` (`ca` true), checking directories only
/// up to `top` (tests run in a world-writable /tmp).
pub(super) fn find_key_below(
    path: &Path,
    owner_uid: u32,
    keyblob: &[u8],
    peer: IpAddr,
    top: &Path,
    ca: bool,
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
    check_path(path, &meta, owner_uid, top)?;

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
                if entry.cert_authority == ca && bool::from(entry.blob.as_slice().ct_eq(keyblob)) {
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

/// The opened file `path` (its `meta`) and the directories above it, up to `top`: each
/// owned by `owner_uid` or root and writable by nobody else (OpenSSH's StrictModes).
pub(crate) fn check_path(
    path: &Path,
    meta: &fsys::Stat,
    owner_uid: u32,
    top: &Path,
) -> Result<(), String> {
    check_owner_and_mode(meta, owner_uid, "file", path)?;
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
    Ok(())
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
                    assert_eq!(
                        from::wildcard(p, t),
                        from::wildcard_table(p, t),
                        "{pat:?} {text}"
                    );
                }
            }
        }
        let o = &entry.options;
        o.permits_open("localhost", 22);
        o.permits_listen("127.0.0.1", 8080);
    }
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
