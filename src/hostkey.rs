//! The Ed25519 host key on flash: OpenSSH `openssh-key-v1` and Dropbear formats, atomic save.
//!
//! Saving writes `KEY.tmpPID`, fsyncs it, moves it into place and fsyncs the directory, so a
//! power cut leaves either no key file or a complete one (plus perhaps a stale temp file,
//! which `load_or_generate` removes).

use crate::base64;
use crate::fsys::{self, temp_path};
use crate::proto::crypto::{self, Ed25519Key, ED25519_NAME};
use crate::proto::wire::{vec_string, vec_u32, Reader};
use std::io::{self, ErrorKind, Write};
use std::path::{Path, PathBuf};
use zeroize::Zeroizing;

#[derive(Debug)]
pub enum HostKeyError {
    /// The file could not be read or written.
    Io(PathBuf, std::io::Error),
    /// The file exists but is not a valid unencrypted Ed25519 key (truncated, corrupt, other type).
    Format(PathBuf, &'static str),
    /// The file is readable by group or others.
    Permissions(PathBuf),
    /// The path is a symbolic link: whoever can change the link chooses the key.
    Symlink(PathBuf),
    /// The file belongs to another user (its uid) than the one quoll runs as.
    Owner(PathBuf, u32),
}

impl std::fmt::Display for HostKeyError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            HostKeyError::Io(p, e) => write!(f, "{}: {}", fsys::show(p), e),
            HostKeyError::Format(p, why) => {
                write!(f, "{}: not a usable Ed25519 key: {}", fsys::show(p), why)
            }
            HostKeyError::Permissions(p) => write!(
                f,
                "{}: permissions too open (group or others have access); chmod 600 it",
                fsys::show(p)
            ),
            HostKeyError::Symlink(p) => write!(
                f,
                "{}: is a symbolic link; refusing it (name the key file itself)",
                fsys::show(p)
            ),
            HostKeyError::Owner(p, uid) => write!(
                f,
                "{}: owned by uid {uid}, not by uid {} that quoll runs as; chown it",
                fsys::show(p),
                fsys::euid()
            ),
        }
    }
}

impl std::error::Error for HostKeyError {}

const BEGIN: &str = "-----BEGIN OPENSSH PRIVATE KEY-----";
const END: &str = "-----END OPENSSH PRIVATE KEY-----";
const MAGIC: &[u8] = b"openssh-key-v1\0";
/// OpenSSH wraps the base64 body at 70 columns.
const WRAP: usize = 70;
// An Ed25519 key file is under 500 bytes; anything much larger is refused.
use crate::config::MAX_HOSTKEY_FILE as MAX_FILE;

/// Reads a host key in OpenSSH or Dropbear format.
pub fn load(path: &Path) -> Result<Ed25519Key, HostKeyError> {
    load_with_comment(path).map(|(key, _)| key)
}

/// Like `load`, also returning the key's comment (empty for Dropbear keys, which have none).
///
/// The file must be a regular file (not a symlink: O_NOFOLLOW; O_NONBLOCK so a FIFO put
/// there cannot hang the open), owned by the user quoll runs as and closed to group and
/// others, as OpenSSH demands of its host keys. The `.pub` beside it is never read.
pub fn load_with_comment(path: &Path) -> Result<(Ed25519Key, String), HostKeyError> {
    let io_err = |e| HostKeyError::Io(path.to_path_buf(), e);
    let flags = libc::O_RDONLY | libc::O_NOFOLLOW | libc::O_NONBLOCK;
    let mut file = match fsys::open(path, flags, 0) {
        Err(e)
            if e.raw_os_error() == Some(libc::ELOOP)
                && fsys::lstat(path).is_ok_and(|s| s.is_symlink()) =>
        {
            return Err(HostKeyError::Symlink(path.into()))
        }
        other => other.map_err(io_err)?,
    };
    // fstat the open file, not the path, so the checks and the read see the same file.
    let meta = fsys::fstat(&file).map_err(io_err)?;
    if !meta.is_file() {
        return Err(HostKeyError::Format(path.into(), "not a regular file"));
    }
    if meta.uid != fsys::euid() {
        return Err(HostKeyError::Owner(path.into(), meta.uid));
    }
    if meta.mode & 0o077 != 0 {
        return Err(HostKeyError::Permissions(path.into()));
    }
    let contents = crate::readfile::read(&mut file, MAX_FILE).map_err(io_err)?;
    if contents.truncated {
        return Err(HostKeyError::Format(path.into(), "file too large"));
    }
    parse(&contents.data).map_err(|why| HostKeyError::Format(path.into(), why))
}

/// Generates a new key with getrandom and saves it atomically (with a `.pub` beside it).
pub fn generate(path: &Path) -> Result<Ed25519Key, HostKeyError> {
    generate_with_comment(path, &default_comment())
}

/// Like `generate`, with the given comment. Never replaces an existing key file.
pub fn generate_with_comment(path: &Path, comment: &str) -> Result<Ed25519Key, HostKeyError> {
    let mut seed = Zeroizing::new([0u8; 32]);
    crate::daemon::random(&mut seed[..]).map_err(|e| HostKeyError::Io(path.into(), e))?;
    let key = Ed25519Key::from_seed(&seed);
    write_key(path, &key, comment, false)?;
    Ok(key)
}

/// Loads the key, or generates it when the file does not exist. `true` when generated.
pub fn load_or_generate(path: &Path) -> Result<(Ed25519Key, bool), HostKeyError> {
    remove_stale_temp_files(path);
    match load_with_comment(path) {
        Ok((key, comment)) => {
            // A power cut between writing the key and its .pub leaves no .pub: redo it.
            // Best effort: the key itself is fine, and the filesystem may be read-only.
            let pub_path = pub_path(path);
            if fsys::stat(&pub_path).is_err() {
                let line = public_line(&key, &comment) + "\n";
                if let Err(e) = write_atomic(&pub_path, line.as_bytes(), 0o644, true) {
                    log::warn!("could not recreate the public key file: {e}");
                }
            }
            Ok((key, false))
        }
        Err(HostKeyError::Io(_, e)) if e.kind() == ErrorKind::NotFound => {
            Ok((generate(path)?, true))
        }
        Err(e) => Err(e),
    }
}

/// Writes `key` to `path` in openssh-key-v1 format and `path.pub`, each atomically.
pub fn save(path: &Path, key: &Ed25519Key, comment: &str) -> Result<(), HostKeyError> {
    write_key(path, key, comment, true)
}

/// `ssh-ed25519 AAAA... comment`
pub fn public_line(key: &Ed25519Key, comment: &str) -> String {
    let mut line = format!("ssh-ed25519 {}", base64::encode(&key.public_blob()));
    if !comment.is_empty() {
        line.push(' ');
        line.push_str(comment);
    }
    line
}

/// `path` with `.pub` appended to the file name.
pub fn pub_path(path: &Path) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(".pub");
    PathBuf::from(name)
}

/// The comment for keys quoll makes itself: `quoll@HOSTNAME`.
pub fn default_comment() -> String {
    let host = crate::readfile::read_path(Path::new("/proc/sys/kernel/hostname"), 64)
        .map(|c| String::from_utf8_lossy(&c.data).trim().to_string())
        .unwrap_or_default();
    format!("quoll@{host}")
}

// ---- Parsing ----

/// Parses either format; the error says what is wrong, the caller adds the file name.
fn parse(data: &[u8]) -> Result<(Ed25519Key, String), &'static str> {
    if data.starts_with(BEGIN.as_bytes()) {
        let blob = dearmor(data)?;
        return parse_openssh(&blob);
    }
    if data.starts_with(b"-----BEGIN ") {
        return Err("a PEM key, not an OpenSSH (openssh-key-v1) Ed25519 key");
    }
    parse_dropbear(data).map(|key| (key, String::new()))
}

/// The base64 body between the BEGIN and END lines, decoded.
fn dearmor(data: &[u8]) -> Result<Zeroizing<Vec<u8>>, &'static str> {
    let text = std::str::from_utf8(data).map_err(|_| "corrupt (not text)")?;
    let mut lines = text.lines().map(str::trim);
    lines.next(); // BEGIN, checked by the caller
    let mut body = Zeroizing::new(String::new());
    for line in lines.by_ref() {
        if line == END {
            let decoded = base64::decode(&body).ok_or("corrupt (bad base64)")?;
            return Ok(Zeroizing::new(decoded));
        }
        body.push_str(line);
    }
    Err("truncated (no END line)")
}

/// PROTOCOL.key: magic, cipher, kdf, kdf options, key count, public keys, private section.
fn parse_openssh(blob: &[u8]) -> Result<(Ed25519Key, String), &'static str> {
    const SHORT: &str = "truncated or corrupt";
    let mut r = Reader::new(blob);
    if r.bytes(MAGIC.len()).map_err(|_| SHORT)? != MAGIC {
        return Err("corrupt (no openssh-key-v1 header)");
    }
    let cipher = r.string().map_err(|_| SHORT)?;
    let kdf = r.string().map_err(|_| SHORT)?;
    let kdf_options = r.string().map_err(|_| SHORT)?;
    if cipher != b"none" || kdf != b"none" || !kdf_options.is_empty() {
        return Err("encrypted (passphrase-protected) keys are not supported");
    }
    if r.u32().map_err(|_| SHORT)? != 1 {
        return Err("the file must hold exactly one key");
    }
    let public_blob = r.string().map_err(|_| SHORT)?;
    let private = r.string().map_err(|_| SHORT)?;
    r.end().map_err(|_| "corrupt (data after the key)")?;
    if Reader::new(public_blob).string().map_err(|_| SHORT)? != ED25519_NAME {
        return Err("not an Ed25519 key");
    }
    let public = crypto::parse_public_blob(public_blob).map_err(|_| SHORT)?;

    let mut r = Reader::new(private);
    let check1 = r.u32().map_err(|_| SHORT)?;
    let check2 = r.u32().map_err(|_| SHORT)?;
    // Unequal check ints mean a wrong passphrase in an encrypted key, or corruption here.
    if check1 != check2 {
        return Err("corrupt (check numbers differ)");
    }
    if r.string().map_err(|_| SHORT)? != ED25519_NAME {
        return Err("not an Ed25519 key");
    }
    let inner_public = r.string().map_err(|_| SHORT)?;
    let pair: &[u8; 64] = r
        .string()
        .map_err(|_| SHORT)?
        .try_into()
        .map_err(|_| "corrupt (private key length)")?;
    let comment = r.text().map_err(|_| SHORT)?.to_owned();
    // Padding is 1, 2, 3, ... up to the cipher block size.
    let pad = r.rest();
    if pad.iter().enumerate().any(|(i, &b)| b as usize != i + 1) {
        return Err("corrupt (padding)");
    }
    if inner_public != public {
        return Err("corrupt (public keys differ)");
    }
    let key = key_from_pair(pair)?;
    if key.public_key() != public {
        return Err("corrupt (public key does not match private key)");
    }
    Ok((key, comment))
}

/// Dropbear: string "ssh-ed25519", string (32-byte seed || 32-byte public key).
fn parse_dropbear(data: &[u8]) -> Result<Ed25519Key, &'static str> {
    let mut r = Reader::new(data);
    let kind = r.string().map_err(|_| "unrecognized format")?;
    if kind != ED25519_NAME {
        if [&b"ssh-rsa"[..], b"ssh-dss"].contains(&kind) || kind.starts_with(b"ecdsa-") {
            return Err("not an Ed25519 key");
        }
        return Err("unrecognized format (neither OpenSSH nor Dropbear)");
    }
    let pair: &[u8; 64] = r
        .string()
        .map_err(|_| "truncated")?
        .try_into()
        .map_err(|_| "corrupt (private key length)")?;
    r.end().map_err(|_| "corrupt (data after the key)")?;
    key_from_pair(pair)
}

/// seed || public, as both formats store it; the public half must match the seed.
fn key_from_pair(pair: &[u8; 64]) -> Result<Ed25519Key, &'static str> {
    let mut seed = Zeroizing::new([0u8; 32]);
    seed.copy_from_slice(&pair[..32]);
    let key = Ed25519Key::from_seed(&seed);
    if key.public_key()[..] != pair[32..] {
        return Err("corrupt (public key does not match private key)");
    }
    Ok(key)
}

// ---- Writing ----

/// The armored openssh-key-v1 file text.
fn to_openssh(key: &Ed25519Key, comment: &str) -> io::Result<Zeroizing<String>> {
    let mut check = [0u8; 4];
    crate::daemon::random(&mut check)?;
    Ok(armor(&openssh_blob(key, comment, check)))
}

/// The binary openssh-key-v1 structure (PROTOCOL.key), unencrypted.
fn openssh_blob(key: &Ed25519Key, comment: &str, check: [u8; 4]) -> Zeroizing<Vec<u8>> {
    let public = key.public_key();
    let mut private = Zeroizing::new(Vec::with_capacity(160));
    // Two equal check numbers: how a reader spots a wrong passphrase (or corruption).
    private.extend_from_slice(&check);
    private.extend_from_slice(&check);
    vec_string(&mut private, ED25519_NAME);
    vec_string(&mut private, &public);
    let mut pair = Zeroizing::new([0u8; 64]);
    pair[..32].copy_from_slice(key.seed());
    pair[32..].copy_from_slice(&public);
    vec_string(&mut private, &pair[..]);
    vec_string(&mut private, comment.as_bytes());
    // Pad to the block size of cipher "none", 8.
    let mut pad = 1;
    while private.len() % 8 != 0 {
        private.push(pad);
        pad += 1;
    }

    let mut blob = Zeroizing::new(Vec::with_capacity(300));
    blob.extend_from_slice(MAGIC);
    vec_string(&mut blob, b"none");
    vec_string(&mut blob, b"none");
    vec_string(&mut blob, b"");
    vec_u32(&mut blob, 1);
    vec_string(&mut blob, &key.public_blob());
    vec_string(&mut blob, &private);
    blob
}

/// BEGIN line, base64 wrapped at 70 columns, END line.
fn armor(blob: &[u8]) -> Zeroizing<String> {
    let body = Zeroizing::new(base64::encode(blob));
    let mut text = Zeroizing::new(String::with_capacity(body.len() + 100));
    text.push_str(BEGIN);
    text.push('\n');
    let mut rest: &str = &body;
    while !rest.is_empty() {
        // base64 is ASCII, so any byte index is a character boundary.
        let (line, tail) = rest.split_at(rest.len().min(WRAP));
        text.push_str(line);
        text.push('\n');
        rest = tail;
    }
    text.push_str(END);
    text.push('\n');
    text
}

/// Writes the key and then its `.pub`. With `replace` false an existing key is kept and
/// the call fails with `AlreadyExists`.
fn write_key(
    path: &Path,
    key: &Ed25519Key,
    comment: &str,
    replace: bool,
) -> Result<(), HostKeyError> {
    if let Some(dir) = parent(path) {
        fsys::mkdir_all(dir, 0o700).map_err(|e| HostKeyError::Io(dir.into(), e))?;
    }
    let text = to_openssh(key, comment).map_err(|e| HostKeyError::Io(path.into(), e))?;
    write_atomic(path, text.as_bytes(), 0o600, replace)?;
    let line = public_line(key, comment) + "\n";
    write_atomic(&pub_path(path), line.as_bytes(), 0o644, true)
}

/// The directory holding `path` ("." spelled as `None`).
fn parent(path: &Path) -> Option<&Path> {
    fsys::parent(path).filter(|p| !p.as_os_str().is_empty())
}

/// Creates `PATH.tmpPID` (exclusively, never through a symlink), writes and fsyncs it, moves
/// it to `path` and fsyncs the directory so the new name survives a power cut.
fn write_atomic(path: &Path, data: &[u8], mode: u32, replace: bool) -> Result<(), HostKeyError> {
    let tmp = temp_path(path);
    let result = write_temp(&tmp, data, mode)
        .map_err(|e| HostKeyError::Io(tmp.clone(), e))
        .and_then(|()| move_into_place(&tmp, path, replace))
        .and_then(|()| {
            let dir = parent(path).unwrap_or(Path::new("."));
            sync_dir(dir).map_err(|e| HostKeyError::Io(dir.into(), e))
        });
    if result.is_err() {
        let _ = fsys::unlink(&tmp);
    }
    result
}

fn write_temp(tmp: &Path, data: &[u8], mode: u32) -> io::Result<()> {
    let mut file = fsys::create_temp(tmp, mode)?;
    file.write_all(data)?;
    fsys::fsync(&file)
}

fn move_into_place(tmp: &Path, path: &Path, replace: bool) -> Result<(), HostKeyError> {
    let io_err = |e| HostKeyError::Io(path.to_path_buf(), e);
    if replace {
        return fsys::rename(tmp, path).map_err(io_err);
    }
    // link(2) fails if `path` exists, so there is no window in which a key is replaced.
    match fsys::link(tmp, path) {
        Ok(()) => fsys::unlink(tmp).map_err(io_err),
        Err(e) if e.kind() == ErrorKind::AlreadyExists => Err(io_err(e)),
        // A filesystem without hard links: check, then rename.
        Err(_) => {
            if fsys::lstat(path).is_ok() {
                return Err(io_err(io::Error::from(ErrorKind::AlreadyExists)));
            }
            fsys::rename(tmp, path).map_err(io_err)
        }
    }
}

fn sync_dir(dir: &Path) -> io::Result<()> {
    match fsys::fsync(&fsys::open(dir, libc::O_RDONLY, 0)?) {
        // Some filesystems cannot fsync a directory; their renames are as durable as they get.
        Err(e) if e.raw_os_error() == Some(libc::EINVAL) => Ok(()),
        other => other,
    }
}

/// Removes `KEY.tmpNNN` and `KEY.pub.tmpNNN` left behind by an interrupted save.
fn remove_stale_temp_files(path: &Path) {
    let (Some(name), dir) = (
        fsys::file_name(path),
        parent(path).unwrap_or(Path::new(".")),
    ) else {
        return;
    };
    let Some(name) = name.to_str() else { return };
    let Ok(entries) = fsys::Dir::open(dir) else {
        return;
    };
    for file_name in entries.flatten() {
        let Ok(other) = std::str::from_utf8(&file_name) else {
            continue;
        };
        let rest = other.strip_prefix(name).unwrap_or("");
        let rest = rest.strip_prefix(".pub").unwrap_or(rest);
        let is_temp = rest
            .strip_prefix(".tmp")
            .is_some_and(|pid| !pid.is_empty() && pid.bytes().all(|b| b.is_ascii_digit()));
        if is_temp {
            let stale = dir.join(other);
            log::warn!("removing stale temporary file {}", fsys::show(&stale));
            let _ = fsys::unlink(&stale);
        }
    }
}

/// Entry point of the `hostkey` fuzz target (fuzz/): file contents through the parser; a
/// key it accepts, written out as quoll writes keys, must read back the same.
#[cfg(feature = "fuzzing")]
pub fn fuzz_file(data: &[u8]) {
    let Ok((key, comment)) = parse(&data[..data.len().min(MAX_FILE)]) else {
        return;
    };
    let text = armor(&openssh_blob(&key, &comment, [1, 2, 3, 4]));
    let (again, comment_again) = parse(text.as_bytes()).expect("a written key reads back");
    assert_eq!(again.seed(), key.seed());
    assert_eq!(comment_again, comment);
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use std::fs::OpenOptions;
    use std::os::unix::fs::{MetadataExt, OpenOptionsExt, PermissionsExt};
    use std::process::{Command, Output};
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// A fresh directory under the system temp dir, removed on drop.
    pub(crate) struct TempDir(pub PathBuf);

    impl TempDir {
        pub(crate) fn new(tag: &str) -> TempDir {
            static N: AtomicUsize = AtomicUsize::new(0);
            let n = N.fetch_add(1, Ordering::Relaxed);
            let dir = std::env::temp_dir().join(format!(
                "quoll-test-{}-{}-{}",
                tag,
                std::process::id(),
                n
            ));
            let _ = std::fs::remove_dir_all(&dir);
            std::fs::create_dir(&dir).unwrap();
            TempDir(dir)
        }

        pub(crate) fn join(&self, name: &str) -> PathBuf {
            self.0.join(name)
        }
    }

    impl Drop for TempDir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    /// Runs an external tool; `None` (after saying why) when it is not installed.
    pub(crate) fn run(tool: &str, args: &[&str]) -> Option<Output> {
        match Command::new(tool).args(args).output() {
            Ok(out) => Some(out),
            Err(e) if e.kind() == ErrorKind::NotFound => {
                eprintln!("skipping: {tool} is not installed");
                None
            }
            Err(e) => panic!("{tool}: {e}"),
        }
    }

    fn stdout(out: &Output) -> String {
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout.clone()).unwrap()
    }

    fn mode(path: &Path) -> u32 {
        std::fs::metadata(path).unwrap().mode() & 0o777
    }

    fn s(path: &Path) -> &str {
        path.to_str().unwrap()
    }

    fn assert_format_error(path: &Path, why: &str) {
        match load(path) {
            Err(e @ HostKeyError::Format(..)) => {
                let msg = e.to_string();
                assert!(msg.contains(s(path)), "{msg}");
                assert!(msg.contains(why), "{msg}");
            }
            other => panic!("{}: expected a format error, got {other:?}", path.display()),
        }
    }

    #[test]
    fn save_load_round_trip() {
        let dir = TempDir::new("roundtrip");
        let path = dir.join("sub/dir/key");
        let key = generate_with_comment(&path, "test@quoll").unwrap();
        assert_eq!(mode(&dir.join("sub/dir")), 0o700);
        assert_eq!(mode(&path), 0o600);
        assert_eq!(mode(&pub_path(&path)), 0o644);
        let (loaded, comment) = load_with_comment(&path).unwrap();
        assert_eq!(loaded.seed(), key.seed());
        assert_eq!(loaded.public_key(), key.public_key());
        assert_eq!(comment, "test@quoll");
        let pub_text = std::fs::read_to_string(pub_path(&path)).unwrap();
        assert_eq!(pub_text, public_line(&key, "test@quoll") + "\n");
        assert!(pub_text.starts_with("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI"));
        // The armor matches OpenSSH's: 70 columns, BEGIN/END lines.
        let text = std::fs::read_to_string(&path).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], BEGIN);
        assert_eq!(*lines.last().unwrap(), END);
        assert!(lines[1..lines.len() - 2].iter().all(|l| l.len() == WRAP));
        // Nothing temporary left behind.
        let names: Vec<_> = std::fs::read_dir(dir.join("sub/dir")).unwrap().collect();
        assert_eq!(names.len(), 2);

        // `save` replaces; the new key loads.
        let other = Ed25519Key::from_seed(&[5; 32]);
        save(&path, &other, "").unwrap();
        assert_eq!(load(&path).unwrap().public_key(), other.public_key());
        assert_eq!(
            std::fs::read_to_string(pub_path(&path)).unwrap(),
            public_line(&other, "") + "\n"
        );
    }

    #[test]
    fn generate_never_overwrites() {
        let dir = TempDir::new("nooverwrite");
        let path = dir.join("key");
        let first = generate(&path).unwrap();
        match generate(&path) {
            Err(HostKeyError::Io(p, e)) => {
                assert_eq!(p, path);
                assert_eq!(e.kind(), ErrorKind::AlreadyExists);
            }
            other => panic!("expected AlreadyExists, got {other:?}"),
        }
        assert_eq!(load(&path).unwrap().public_key(), first.public_key());
        assert!(!temp_path(&path).exists());
    }

    #[test]
    fn load_or_generate_cleans_up() {
        let dir = TempDir::new("log");
        let path = dir.join("ssh_host_ed25519_key");
        // Leftovers of an interrupted save, one of them with our own PID.
        std::fs::write(dir.join("ssh_host_ed25519_key.tmp123"), b"half a key").unwrap();
        std::fs::write(dir.join("ssh_host_ed25519_key.pub.tmp77"), b"ssh-").unwrap();
        std::fs::write(temp_path(&path), b"").unwrap();
        std::fs::write(dir.join("ssh_host_ed25519_key.tmpx"), b"not ours").unwrap();

        let (key, generated) = load_or_generate(&path).unwrap();
        assert!(generated);
        let (again, generated) = load_or_generate(&path).unwrap();
        assert!(!generated);
        assert_eq!(again.public_key(), key.public_key());
        let mut names: Vec<String> = std::fs::read_dir(&dir.0)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        names.sort();
        assert_eq!(
            names,
            [
                "ssh_host_ed25519_key",
                "ssh_host_ed25519_key.pub",
                "ssh_host_ed25519_key.tmpx"
            ]
        );

        // A lost .pub is written again.
        std::fs::remove_file(pub_path(&path)).unwrap();
        load_or_generate(&path).unwrap();
        let line = std::fs::read_to_string(pub_path(&path)).unwrap();
        assert!(line.starts_with(&public_line(&key, "")));
    }

    #[test]
    fn stale_temp_with_our_pid_does_not_block_save() {
        let dir = TempDir::new("stale");
        let path = dir.join("key");
        std::fs::write(temp_path(&path), b"junk").unwrap();
        generate(&path).unwrap();
        assert!(!temp_path(&path).exists());
    }

    #[test]
    fn temp_file_is_not_followed_through_a_symlink() {
        let dir = TempDir::new("symlink");
        let path = dir.join("key");
        let target = dir.join("victim");
        std::fs::write(&target, b"keep me").unwrap();
        std::os::unix::fs::symlink(&target, temp_path(&path)).unwrap();
        // The link is removed and replaced by a fresh file; the victim is untouched.
        generate(&path).unwrap();
        assert_eq!(std::fs::read(&target).unwrap(), b"keep me");
    }

    #[test]
    fn group_or_world_access_refused() {
        let dir = TempDir::new("perm");
        let path = dir.join("key");
        generate(&path).unwrap();
        for bad in [0o644, 0o640, 0o604, 0o620] {
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(bad)).unwrap();
            match load(&path) {
                Err(e @ HostKeyError::Permissions(_)) => {
                    assert!(e.to_string().contains(s(&path)));
                }
                other => panic!("mode {bad:o}: expected Permissions, got {other:?}"),
            }
        }
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o400)).unwrap();
        assert!(load(&path).is_ok());
    }

    #[test]
    fn symlink_refused_even_to_a_good_key() {
        let dir = TempDir::new("keylink");
        let path = dir.join("key");
        generate(&path).unwrap();
        let link = dir.join("link");
        std::os::unix::fs::symlink(&path, &link).unwrap();
        match load(&link) {
            Err(e @ HostKeyError::Symlink(_)) => {
                let msg = e.to_string();
                assert!(
                    msg.contains(s(&link)) && msg.contains("symbolic link"),
                    "{msg}"
                );
            }
            other => panic!("expected Symlink, got {other:?}"),
        }
        // Dangling: refused too, and nothing is created where it points.
        let dangling = dir.join("dangling");
        std::os::unix::fs::symlink(dir.join("nowhere"), &dangling).unwrap();
        assert!(matches!(
            load_or_generate(&dangling),
            Err(HostKeyError::Symlink(_))
        ));
        assert!(!dir.join("nowhere").exists());
        // Creation never follows one either (link(2) fails on the existing name).
        assert!(generate(&dangling).is_err());
        assert!(!dir.join("nowhere").exists());
    }

    #[test]
    fn missing_file_is_io_not_found() {
        let dir = TempDir::new("missing");
        let path = dir.join("nope");
        match load(&path) {
            Err(e @ HostKeyError::Io(..)) => {
                assert!(e.to_string().contains(s(&path)));
                assert!(
                    matches!(e, HostKeyError::Io(_, ref io) if io.kind() == ErrorKind::NotFound)
                );
            }
            other => panic!("{other:?}"),
        }
    }

    fn write_private(path: &Path, data: &[u8]) {
        let _ = std::fs::remove_file(path);
        OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(path)
            .unwrap()
            .write_all(data)
            .unwrap();
    }

    #[test]
    fn truncated_files_refused() {
        let dir = TempDir::new("trunc");
        let path = dir.join("key");
        let key = generate(&path).unwrap();
        let full = std::fs::read(&path).unwrap();
        let cut = dir.join("cut");
        for n in [
            0,
            1,
            10,
            35,
            36,
            37,
            100,
            200,
            full.len() - 40,
            full.len() - 2,
        ] {
            write_private(&cut, &full[..n]);
            assert!(
                matches!(load(&cut), Err(HostKeyError::Format(..))),
                "cut at {n}"
            );
        }
        // Whole base64 lines dropped: the text is well formed but the key is short.
        let text = String::from_utf8(full).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        for keep in 1..lines.len() - 1 {
            let mut short = lines[..keep].join("\n");
            short.push('\n');
            short.push_str(END);
            write_private(&cut, short.as_bytes());
            assert!(
                matches!(load(&cut), Err(HostKeyError::Format(..))),
                "{keep} lines"
            );
        }

        // Dropbear format, cut everywhere.
        let mut dropbear = Vec::new();
        vec_string(&mut dropbear, ED25519_NAME);
        let mut pair = key.seed().to_vec();
        pair.extend_from_slice(&key.public_key());
        vec_string(&mut dropbear, &pair);
        write_private(&cut, &dropbear);
        assert_eq!(load(&cut).unwrap().public_key(), key.public_key());
        for n in 0..dropbear.len() {
            write_private(&cut, &dropbear[..n]);
            assert!(
                matches!(load(&cut), Err(HostKeyError::Format(..))),
                "cut at {n}"
            );
        }
        assert_format_error(&cut, "truncated");
    }

    #[test]
    fn corrupt_files_refused() {
        let dir = TempDir::new("corrupt");
        let path = dir.join("key");
        let key = Ed25519Key::from_seed(&[3; 32]);
        let good = openssh_blob(&key, "c", [1, 2, 3, 4]);
        write_private(&path, armor(&good).as_bytes());
        assert_eq!(load(&path).unwrap().public_key(), key.public_key());

        // Offsets into the blob: the header is 15 + 8 + 8 + 4 + 4 bytes, then the public
        // blob (4 + 51), the private section's length (4), its check ints (8).
        let private = 15 + 8 + 8 + 4 + 4 + 4 + 51 + 4;
        let cases: [(usize, &str); 4] = [
            (private + 3, "check numbers differ"),
            // The seed, inside the private section.
            (private + 8 + 15 + 36 + 4, "does not match"),
            // The public key in the public blob.
            (15 + 8 + 8 + 4 + 4 + 4 + 20, "differ"),
            // The last padding byte.
            (good.len() - 1, "padding"),
        ];
        for (offset, why) in cases {
            let mut bad = good.to_vec();
            bad[offset] ^= 0x40;
            write_private(&path, armor(&bad).as_bytes());
            assert_format_error(&path, why);
        }

        // Encrypted: cipher name other than "none".
        let mut enc = good.to_vec();
        enc[15 + 4..15 + 8].copy_from_slice(b"aes1");
        write_private(&path, armor(&enc).as_bytes());
        assert_format_error(&path, "encrypted");

        // Garbage base64, a PEM key of another kind, random bytes.
        write_private(&path, format!("{BEGIN}\n!!!!\n{END}\n").as_bytes());
        assert_format_error(&path, "base64");
        write_private(&path, b"-----BEGIN RSA PRIVATE KEY-----\nAAAA\n");
        assert_format_error(&path, "PEM");
        write_private(&path, b"\x00\x00\x00\x07ssh-rsa\x00\x00\x00\x01\x23");
        assert_format_error(&path, "not an Ed25519 key");
        write_private(&path, b"hello");
        assert_format_error(&path, "unrecognized");

        // Dropbear with a public half that does not belong to the seed.
        let mut dropbear = Vec::new();
        vec_string(&mut dropbear, ED25519_NAME);
        let mut pair = key.seed().to_vec();
        pair.extend_from_slice(&[9; 32]);
        vec_string(&mut dropbear, &pair);
        write_private(&path, &dropbear);
        assert_format_error(&path, "does not match");
    }

    #[test]
    fn ssh_keygen_agrees_on_our_key() {
        let dir = TempDir::new("sshkeygen");
        let path = dir.join("key");
        let key = generate_with_comment(&path, "board@quoll").unwrap();
        // Without the .pub, ssh-keygen has to read our private key file.
        std::fs::remove_file(pub_path(&path)).unwrap();
        let Some(out) = run("ssh-keygen", &["-l", "-f", s(&path)]) else {
            return;
        };
        let fp = crypto::fingerprint(&key.public_blob());
        assert_eq!(stdout(&out), format!("256 {fp} board@quoll (ED25519)\n"));
        let out = run("ssh-keygen", &["-y", "-f", s(&path)]).unwrap();
        assert_eq!(stdout(&out).trim_end(), public_line(&key, "board@quoll"));
    }

    #[test]
    fn loads_ssh_keygen_key() {
        let dir = TempDir::new("fromssh");
        let path = dir.join("key");
        let Some(out) = run(
            "ssh-keygen",
            &[
                "-q",
                "-t",
                "ed25519",
                "-N",
                "",
                "-C",
                "made by ssh-keygen",
                "-f",
                s(&path),
            ],
        ) else {
            return;
        };
        stdout(&out);
        let (key, comment) = load_with_comment(&path).unwrap();
        assert_eq!(comment, "made by ssh-keygen");
        let out = run("ssh-keygen", &["-y", "-f", s(&path)]).unwrap();
        assert_eq!(stdout(&out).trim_end(), public_line(&key, &comment));
        // What we write back is the same key to ssh-keygen.
        save(&path, &key, &comment).unwrap();
        let out = run("ssh-keygen", &["-y", "-f", s(&path)]).unwrap();
        assert_eq!(stdout(&out).trim_end(), public_line(&key, &comment));
    }

    #[test]
    fn ssh_keygen_encrypted_and_other_types_refused() {
        let dir = TempDir::new("sshother");
        let enc = dir.join("enc");
        let Some(out) = run(
            "ssh-keygen",
            &["-q", "-t", "ed25519", "-N", "secret", "-f", s(&enc)],
        ) else {
            return;
        };
        stdout(&out);
        assert_format_error(&enc, "encrypted");
        let ecdsa = dir.join("ecdsa");
        stdout(
            &run(
                "ssh-keygen",
                &["-q", "-t", "ecdsa", "-N", "", "-f", s(&ecdsa)],
            )
            .unwrap(),
        );
        assert_format_error(&ecdsa, "not an Ed25519 key");
    }

    #[test]
    fn loads_dropbear_key() {
        let dir = TempDir::new("dropbear");
        let path = dir.join("dropbear_ed25519_host_key");
        let Some(out) = run("dropbearkey", &["-t", "ed25519", "-f", s(&path)]) else {
            return;
        };
        stdout(&out);
        let key = load(&path).unwrap();
        let out = run("dropbearkey", &["-y", "-f", s(&path)]).unwrap();
        let text = stdout(&out);
        let line = text
            .lines()
            .find(|l| l.starts_with("ssh-ed25519 "))
            .unwrap();
        let theirs: Vec<&str> = line.split(' ').take(2).collect();
        let ours = public_line(&key, "");
        assert_eq!(theirs.join(" "), ours);
        // Dropbear's file has no comment; the fingerprint matches too.
        let fp = crypto::fingerprint(&key.public_blob());
        assert!(text.contains(&fp), "{text}");

        let other = dir.join("ecdsa");
        stdout(&run("dropbearkey", &["-t", "ecdsa", "-f", s(&other)]).unwrap());
        assert_format_error(&other, "not an Ed25519 key");
    }
}
