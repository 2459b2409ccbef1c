//! The authentication helper: whether an account may log in with a password, a public key
//! or (`-B`) no password at all, decided in a child process (`quoll-auth`, see `multicall`)
//! so that nothing slow runs in the loop that serves everyone: the user lookup (NSS on glibc
//! builds), /etc/shadow, the password hash (yescrypt or a sha512crypt with many rounds takes
//! a second), and authorized_keys, which is opened as the user, never as root.
//!
//! The daemon writes one `Request` to the helper's stdin and reads one `Reply` from its
//! stdout (both in SSH wire encoding); it logs what the reply says and tells the protocol
//! core the answer. The helper starts as quoll's user (root, usually), reads what needs root
//! (the account, the shadow hash), then drops to the user for good before it hashes the
//! password or opens authorized_keys. A helper that changed identity is not dumpable, so the
//! user cannot look into it or forge its reply.

use crate::accounts::passwd;
use crate::accounts::users::{self, User};
use crate::proto::wire::{vec_string, vec_u32, Reader};
use crate::sys::ids;
use std::io::{Read, Write};
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use zeroize::Zeroizing;

/// Longest request: a password (at most `accounts::pwhash::MAX_PASSWORD`) or a key blob (at
/// most `userkey::MAX_KEY_BLOB`, an RSA certificate), the user and the policy with its paths.
pub const MAX_REQUEST: usize = crate::proto::userkey::MAX_KEY_BLOB + 4096;
/// Longest reply: the account, the authorized_keys line that matched, a few warnings.
pub const MAX_REPLY: usize = 16 * 1024;
/// Longest authorized_keys line a reply carries (OpenSSH's limit on a key line is 16 KiB;
/// an Ed25519 line with options is a few hundred bytes).
const MAX_LINE: usize = 8 * 1024;
/// Warnings (skipped lines, ...) a reply carries, and the length of each.
const MAX_WARNINGS: usize = 8;
const MAX_WARNING: usize = 300;

/// What is asked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Is `secret` (a public key blob) in the user's authorized_keys?
    Key = 1,
    /// Is `secret` the user's password?
    Password = 2,
    /// Does the user have a blank password (`-B`, the `none` method)?
    Blank = 3,
}

/// The parts of the command line the checks need.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Policy {
    /// quoll's own uid: when it is not root, only that user may log in.
    pub daemon_uid: u32,
    /// `-w`
    pub no_root: bool,
    /// `-s` (the core does not even offer passwords then; checked again here)
    pub no_password: bool,
    /// `-g`
    pub no_root_password: bool,
    /// `-B`
    pub blank_password: bool,
    /// `-G group`
    pub group: Option<String>,
    /// `-D dir`: `dir/authorized_keys` instead of `~/.ssh/authorized_keys`.
    pub auth_dir: Option<PathBuf>,
    /// `--trusted-user-ca-keys FILE`: CAs whose certificates log in any user they name.
    pub trusted_ca: Option<PathBuf>,
    /// `--revoked-keys FILE`: keys and CAs refused.
    pub revoked: Option<PathBuf>,
    /// `--root-keys FILE`: root's keys also from FILE.
    pub root_keys: Option<PathBuf>,
}

#[derive(Debug, PartialEq, Eq)]
pub struct Request<'a> {
    pub kind: Kind,
    pub user: &'a str,
    pub secret: &'a [u8],
    pub peer: IpAddr,
    pub policy: Policy,
}

/// Why the answer is what it is; the daemon words the log line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// The key is listed, the password is right, the account is blank (with `-B`).
    Yes = 0,
    NoSuchUser = 1,
    /// The account database could not be read (`detail` says why): not a missing user.
    AccountsUnreadable = 2,
    /// quoll does not run as root and this is another user.
    OtherUser = 3,
    /// `-w`
    RootRefused = 4,
    /// `-G`
    NotInGroup = 5,
    /// The shell is not in /etc/shells.
    BadShell = 6,
    /// `-s`, or `-g` for root.
    PasswordsOff = 7,
    Locked = 8,
    /// A blank password without `-B`.
    BlankRefused = 9,
    WrongPassword = 10,
    /// The `none` method for an account that has a password: nothing to log.
    NotBlank = 11,
    /// The key is not in authorized_keys.
    KeyNotListed = 12,
    /// authorized_keys was refused or unreadable (`detail` says why).
    KeyFileError = 13,
    /// The helper itself failed (`detail`).
    Failed = 14,
    /// The key, a certificate's key or its CA is in the revoked-keys file, or that file
    /// cannot be read (`detail`).
    Revoked = 15,
}

impl Verdict {
    fn from_u32(n: u32) -> Option<Verdict> {
        use Verdict::*;
        [
            Yes,
            NoSuchUser,
            AccountsUnreadable,
            OtherUser,
            RootRefused,
            NotInGroup,
            BadShell,
            PasswordsOff,
            Locked,
            BlankRefused,
            WrongPassword,
            NotBlank,
            KeyNotListed,
            KeyFileError,
            Failed,
            Revoked,
        ]
        .into_iter()
        .find(|v| *v as u32 == n)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    pub verdict: Verdict,
    pub detail: String,
    /// The account, once found.
    pub user: Option<User>,
    /// The authorized_keys line that lists the key, or the `cert-authority` line that lists
    /// a certificate's CA (`Kind::Key`, `Yes`); empty when `ca_file` says why.
    pub key_line: String,
    /// A certificate whose CA is in the `--trusted-user-ca-keys` file.
    pub ca_file: bool,
    /// Log lines about the user's files (skipped authorized_keys lines, ...).
    pub warnings: Vec<String>,
}

impl Reply {
    fn new(verdict: Verdict, user: Option<User>) -> Reply {
        Reply {
            verdict,
            detail: String::new(),
            user,
            key_line: String::new(),
            ca_file: false,
            warnings: Vec::new(),
        }
    }

    fn failed(detail: String) -> Reply {
        Reply {
            detail,
            ..Reply::new(Verdict::Failed, None)
        }
    }
}

fn flags(p: &Policy) -> u32 {
    u32::from(p.no_root)
        | u32::from(p.no_password) << 1
        | u32::from(p.no_root_password) << 2
        | u32::from(p.blank_password) << 3
}

fn path_bytes(p: &Option<PathBuf>) -> &[u8] {
    use std::os::unix::ffi::OsStrExt;
    p.as_deref().map_or(&[][..], |p| p.as_os_str().as_bytes())
}

impl Request<'_> {
    /// The request as the helper reads it; wiped when dropped (it may hold a password).
    pub fn encode(&self) -> Zeroizing<Vec<u8>> {
        let mut v = Zeroizing::new(Vec::with_capacity(256 + self.secret.len()));
        vec_u32(&mut v, self.kind as u32);
        vec_string(&mut v, self.user.as_bytes());
        vec_string(&mut v, self.secret);
        vec_string(&mut v, crate::inet::Ip(self.peer).to_string().as_bytes());
        vec_u32(&mut v, self.policy.daemon_uid);
        vec_u32(&mut v, flags(&self.policy));
        vec_string(
            &mut v,
            self.policy.group.as_deref().unwrap_or("").as_bytes(),
        );
        vec_string(&mut v, path_bytes(&self.policy.auth_dir));
        vec_string(&mut v, path_bytes(&self.policy.trusted_ca));
        vec_string(&mut v, path_bytes(&self.policy.revoked));
        vec_string(&mut v, path_bytes(&self.policy.root_keys));
        v
    }

    pub fn decode(data: &[u8]) -> Option<Request<'_>> {
        use std::os::unix::ffi::OsStrExt;
        let mut r = Reader::new(data);
        let kind = match r.u32().ok()? {
            1 => Kind::Key,
            2 => Kind::Password,
            3 => Kind::Blank,
            _ => return None,
        };
        let user = r.text().ok()?;
        let secret = r.string().ok()?;
        let peer = crate::inet::parse_ip(r.text().ok()?)?;
        let daemon_uid = r.u32().ok()?;
        let f = r.u32().ok()?;
        let group = r.text().ok()?;
        let dir = r.string().ok()?;
        let trusted_ca = r.string().ok()?;
        let revoked = r.string().ok()?;
        let root_keys = r.string().ok()?;
        r.end().ok()?;
        let path =
            |p: &[u8]| (!p.is_empty()).then(|| PathBuf::from(std::ffi::OsStr::from_bytes(p)));
        Some(Request {
            kind,
            user,
            secret,
            peer,
            policy: Policy {
                daemon_uid,
                no_root: f & 1 != 0,
                no_password: f & 2 != 0,
                no_root_password: f & 4 != 0,
                blank_password: f & 8 != 0,
                group: (!group.is_empty()).then(|| group.to_string()),
                auth_dir: path(dir),
                trusted_ca: path(trusted_ca),
                revoked: path(revoked),
                root_keys: path(root_keys),
            },
        })
    }
}

impl Reply {
    pub fn encode(&self) -> Vec<u8> {
        let mut v = Vec::with_capacity(256 + self.key_line.len());
        vec_u32(&mut v, self.verdict as u32);
        vec_string(&mut v, self.detail.as_bytes());
        match &self.user {
            Some(u) => {
                v.push(1);
                vec_string(&mut v, u.name.as_bytes());
                vec_u32(&mut v, u.uid);
                vec_u32(&mut v, u.gid);
                vec_string(&mut v, u.home.as_bytes());
                vec_string(&mut v, u.shell.as_bytes());
            }
            None => v.push(0),
        }
        vec_string(&mut v, self.key_line.as_bytes());
        v.push(u8::from(self.ca_file));
        vec_u32(&mut v, self.warnings.len() as u32);
        for w in &self.warnings {
            vec_string(&mut v, w.as_bytes());
        }
        v
    }

    pub fn decode(data: &[u8]) -> Option<Reply> {
        let mut r = Reader::new(data);
        let verdict = Verdict::from_u32(r.u32().ok()?)?;
        let detail = r.text().ok()?.to_string();
        let user = match r.u8().ok()? {
            0 => None,
            1 => Some(User {
                name: r.text().ok()?.to_string(),
                uid: r.u32().ok()?,
                gid: r.u32().ok()?,
                home: r.text().ok()?.to_string(),
                shell: r.text().ok()?.to_string(),
            }),
            _ => return None,
        };
        let key_line = r.text().ok()?.to_string();
        let ca_file = match r.u8().ok()? {
            0 => false,
            1 => true,
            _ => return None,
        };
        let n = r.u32().ok()? as usize;
        if n > MAX_WARNINGS {
            return None;
        }
        let mut warnings = Vec::with_capacity(n);
        for _ in 0..n {
            warnings.push(r.text().ok()?.to_string());
        }
        r.end().ok()?;
        Some(Reply {
            verdict,
            detail,
            user,
            key_line,
            ca_file,
            warnings,
        })
    }
}

/// The helper program (`quoll-auth`): one request on stdin, one reply on stdout.
pub fn helper_main() -> i32 {
    let mut input = Zeroizing::new(vec![0u8; MAX_REQUEST]);
    let mut len = 0;
    let mut stdin = crate::sys::fd::STDIN;
    while len < input.len() {
        match stdin.read(&mut input[len..]) {
            Ok(0) => break,
            Ok(n) => len += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(_) => return 2,
        }
    }
    let reply = match Request::decode(&input[..len]) {
        Some(req) => check(&req),
        None => Reply::failed("malformed request".into()),
    };
    let out = reply.encode();
    if out.len() > MAX_REPLY || { crate::sys::fd::STDOUT }.write_all(&out).is_err() {
        return 2;
    }
    0
}

/// The checks every method shares (Dropbear's `checkusername`): the user exists, may log in
/// to this daemon (`-w`, `-G`, quoll's own uid when not root) and has a shell listed in
/// /etc/shells.
fn account(name: &str, p: &Policy) -> Result<User, Box<Reply>> {
    let user = match users::lookup(name) {
        Ok(Some(u)) => u,
        Ok(None) => return Err(Box::new(Reply::new(Verdict::NoSuchUser, None))),
        Err(e) => {
            return Err(Box::new(Reply {
                detail: format!("reading the user database: {}", crate::ioerr::message(&e)),
                ..Reply::new(Verdict::AccountsUnreadable, None)
            }))
        }
    };
    let refuse = |v| Err(Box::new(Reply::new(v, Some(user.clone()))));
    if p.daemon_uid != 0 && user.uid != p.daemon_uid {
        return refuse(Verdict::OtherUser);
    }
    if p.no_root && user.uid == 0 {
        return refuse(Verdict::RootRefused);
    }
    if let Some(g) = &p.group {
        let member = users::group_id(g).is_some_and(|gid| users::in_group(name, user.gid, gid));
        if !member {
            return refuse(Verdict::NotInGroup);
        }
    }
    if !passwd::shell_allowed(&user.shell) {
        return refuse(Verdict::BadShell);
    }
    Ok(user)
}

/// Becomes `user` for good when running as root (a no-op otherwise: then quoll already runs
/// as the one user who may log in).
fn become_user(user: &User) -> Result<(), Box<Reply>> {
    if crate::sys::ids::euid() != 0 {
        return Ok(());
    }
    let mut groups = users::groups(&user.name, user.gid).ok_or_else(|| {
        Box::new(Reply::failed(format!(
            "cannot read the groups of {}",
            user.name
        )))
    })?;
    groups.sort_unstable();
    groups.dedup();
    ids::become_user(user.uid, user.gid, &groups).map_err(|e| Box::new(Reply::failed(e.into())))
}

/// Answers one request. Runs in the helper process: it may block, and it changes identity.
pub fn check(req: &Request) -> Reply {
    let p = &req.policy;
    match req.kind {
        Kind::Blank => {
            // Asked on every client's first request: only a blank account goes on to the
            // account checks (and their log lines).
            if !p.blank_password || passwd::hash_of(req.user) != passwd::Hash::Blank {
                return Reply::new(Verdict::NotBlank, None);
            }
            match account(req.user, p) {
                Ok(user) => Reply::new(Verdict::Yes, Some(user)),
                Err(r) => *r,
            }
        }
        Kind::Password => {
            let user = match account(req.user, p) {
                Ok(u) => u,
                Err(r) => return *r,
            };
            if p.no_password || (p.no_root_password && user.uid == 0) {
                return Reply::new(Verdict::PasswordsOff, Some(user));
            }
            let hash = match passwd::hash_of(req.user) {
                passwd::Hash::Locked => return Reply::new(Verdict::Locked, Some(user)),
                passwd::Hash::Blank if p.blank_password => {
                    return Reply::new(Verdict::Yes, Some(user))
                }
                passwd::Hash::Blank => return Reply::new(Verdict::BlankRefused, Some(user)),
                passwd::Hash::Crypt(h) => Zeroizing::new(h),
            };
            // The hash is read: the slow part runs without root.
            if let Err(r) = become_user(&user) {
                return *r;
            }
            let verdict = if passwd::matches(req.secret, &hash) {
                Verdict::Yes
            } else {
                Verdict::WrongPassword
            };
            Reply::new(verdict, Some(user))
        }
        Kind::Key => key_check(req),
    }
}

/// `Kind::Key`: the revoked keys and the trusted CAs (daemon-wide files, read with quoll's
/// privileges), then the user's authorized_keys, read as the user.
fn key_check(req: &Request) -> Reply {
    let p = &req.policy;
    let user = match account(req.user, p) {
        Ok(u) => u,
        Err(r) => return *r,
    };
    // The core parsed the blob before asking: this cannot fail for a real request.
    let Ok(key) = crate::proto::userkey::parse(req.secret) else {
        return Reply::new(Verdict::KeyNotListed, Some(user));
    };
    let mut warnings = Vec::new();
    let mut warn = |w: String| {
        if warnings.len() < MAX_WARNINGS {
            warnings.push(shortened(w, MAX_WARNING));
        }
    };
    if let Some(path) = &p.revoked {
        // Fail closed, as OpenSSH: a revoked-keys file that cannot be read refuses every key.
        let refused = match crate::authkeys::read_keys(path, &mut warn) {
            Ok(list) => crate::authkeys::revoked(&list, req.secret, &key)
                .map(|what| format!("{what} is listed in {}", crate::sys::fsys::show(path))),
            Err(why) => Some(format!("revoked keys unreadable: {why}")),
        };
        if let Some(detail) = refused {
            return Reply {
                detail,
                warnings,
                ..Reply::new(Verdict::Revoked, Some(user))
            };
        }
    }
    let ca = crate::authkeys::cert_ca(&key);
    // A trusted CA's certificate that does not name the user is not refused yet: as OpenSSH,
    // a `cert-authority,principals=` line for the same CA may still admit it. If none does,
    // the grant refuses it for its principals, which is what the log should say.
    let mut trusted_elsewhere = false;
    if let (Some(ca), Some(path)) = (ca, &p.trusted_ca) {
        match crate::authkeys::read_keys(path, &mut warn) {
            Ok(list) if list.iter().any(|k| k.as_slice() == ca) => {
                if !crate::authkeys::cert_names(&key, req.user) {
                    trusted_elsewhere = true;
                } else {
                    return Reply {
                        ca_file: true,
                        warnings,
                        ..Reply::new(Verdict::Yes, Some(user))
                    };
                }
            }
            Ok(_) => {}
            Err(why) => warn(format!("trusted CA keys unreadable: {why}")),
        }
    }
    // The file and the directories above it are opened as the user: a user cannot
    // make quoll open a root-only file or a device node on their behalf.
    if let Err(r) = become_user(&user) {
        return *r;
    }
    let own = match &p.auth_dir {
        Some(d) => d.join("authorized_keys"),
        None => Path::new(&user.home).join(".ssh/authorized_keys"),
    };
    // Root's keys may also live in `--root-keys` (OpenWrt's /etc/dropbear/authorized_keys,
    // which LuCI writes): looked at after the usual file, with the same checks.
    let extra = p.root_keys.as_ref().filter(|_| user.uid == 0);
    // As OpenSSH with several AuthorizedKeysFiles: a file in error does not stop the next
    // one; the first error is reported when no file lists the key.
    let mut listed = None;
    let mut first_error = None;
    for path in std::iter::once(&own).chain(extra) {
        let here = match ca {
            Some(ca) => {
                crate::authkeys::find_cert_authority(path, user.uid, ca, req.peer, &mut warn)
            }
            None => crate::authkeys::find_key(path, user.uid, req.secret, req.peer, &mut warn),
        };
        match here {
            Ok(Some(line)) => {
                listed = Some((path, line));
                break;
            }
            Ok(None) => {}
            Err(why) => {
                first_error.get_or_insert(why);
            }
        }
    }
    let mut reply = match (listed, first_error) {
        (Some((_, line)), _) if line.len() <= MAX_LINE => Reply {
            key_line: line,
            ..Reply::new(Verdict::Yes, Some(user))
        },
        (Some((path, _)), _) => Reply {
            detail: format!(
                "{}: the key's line is too long",
                crate::sys::fsys::show(path)
            ),
            ..Reply::new(Verdict::KeyFileError, Some(user))
        },
        (None, Some(why)) => Reply {
            detail: why,
            ..Reply::new(Verdict::KeyFileError, Some(user))
        },
        (None, None) if trusted_elsewhere => Reply {
            ca_file: true,
            ..Reply::new(Verdict::Yes, Some(user))
        },
        (None, None) => Reply::new(Verdict::KeyNotListed, Some(user)),
    };
    reply.warnings = warnings;
    reply
}

/// `s` cut to at most `max` bytes, at a character boundary.
fn shortened(mut s: String, max: usize) -> String {
    if s.len() > max {
        let mut end = max;
        while !s.is_char_boundary(end) {
            end -= 1;
        }
        s.truncate(end);
    }
    s
}

#[cfg(test)]
mod tests;
