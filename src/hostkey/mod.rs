//! The Ed25519 host key on flash: OpenSSH `openssh-key-v1` and Dropbear formats, atomic save.
//!
//! Both formats are read wherever a key is read. A key quoll creates is in Dropbear's format
//! when its file name starts with `dropbear_` (`/etc/dropbear/dropbear_ed25519_host_key`, where
//! Dropbear's own tools expect theirs), else in OpenSSH's.
//!
//! `format` turns bytes into keys and keys into bytes; `store` reads and writes the files.
//! Saving writes `KEY.tmpPID`, fsyncs it, moves it into place and fsyncs the directory, so a
//! power cut leaves either no key file or a complete one (plus perhaps a stale temp file,
//! which `load_or_generate` removes).

mod format;
mod store;

pub use format::public_line;

use crate::proto::crypto::Ed25519Key;
use crate::sys::fsys;
use format::{armor, dropbear_bytes, openssh_blob, parse};
use std::io::{self, ErrorKind};
use std::path::{Path, PathBuf};
use store::{parent, remove_stale_temp_files, write_atomic};
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

impl HostKeyError {
    /// The file holds a key of another type (RSA, ECDSA, DSS), in either format.
    pub fn is_other_type(&self) -> bool {
        matches!(self, HostKeyError::Format(_, why) if *why == format::NOT_ED25519)
    }

    /// The file does not exist.
    pub fn is_not_found(&self) -> bool {
        matches!(self, HostKeyError::Io(_, e) if e.kind() == ErrorKind::NotFound)
    }
}

/// The two key file formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// `openssh-key-v1`, armored (`ssh-keygen`'s), with a comment.
    OpenSsh,
    /// Dropbear's binary file (`dropbearkey`'s), without a comment.
    Dropbear,
}

impl Format {
    /// The format quoll creates a key in at `path`: Dropbear's for a file named like
    /// Dropbear's keys (`dropbear_*`), OpenSSH's otherwise.
    pub fn for_path(path: &Path) -> Format {
        let dropbear =
            fsys::file_name(path).is_some_and(|n| n.as_encoded_bytes().starts_with(b"dropbear_"));
        if dropbear {
            Format::Dropbear
        } else {
            Format::OpenSsh
        }
    }
}

/// Reads a host key in OpenSSH or Dropbear format.
pub fn load(path: &Path) -> Result<Ed25519Key, HostKeyError> {
    load_with_comment(path).map(|(key, _)| key)
}

/// Like `load`, also returning the key's comment (empty for Dropbear keys, which have none).
/// The file must pass `store::read`'s checks. The `.pub` beside it is never read.
pub fn load_with_comment(path: &Path) -> Result<(Ed25519Key, String), HostKeyError> {
    let contents = store::read(path)?;
    parse(&contents.data).map_err(|why| HostKeyError::Format(path.into(), why))
}

/// Generates a new key with getrandom and saves it atomically (with a `.pub` beside it).
pub fn generate(path: &Path) -> Result<Ed25519Key, HostKeyError> {
    generate_with_comment(path, &default_comment())
}

/// Like `generate`, with the given comment (in the `.pub` only when the format has none).
/// Never replaces an existing key file.
pub fn generate_with_comment(path: &Path, comment: &str) -> Result<Ed25519Key, HostKeyError> {
    generate_as(path, comment, Format::for_path(path))
}

/// Like `generate_with_comment`, in the given format.
pub fn generate_as(path: &Path, comment: &str, format: Format) -> Result<Ed25519Key, HostKeyError> {
    let mut seed = Zeroizing::new([0u8; 32]);
    crate::sys::random::fill(&mut seed[..]).map_err(|e| HostKeyError::Io(path.into(), e))?;
    let key = Ed25519Key::from_seed(&seed);
    write_key(path, &key, comment, format, false)?;
    Ok(key)
}

/// A key file for the key tools (`dropbearkey -y`, `dropbearconvert`): either format, with
/// its comment and which format it was. Unlike a host key it may be anyone's file, and a
/// symlink is followed, as Dropbear's tools do; only its size is bounded.
pub fn read_any(path: &Path) -> Result<(Ed25519Key, String, Format), HostKeyError> {
    let contents = crate::readfile::read_path(path, crate::config::MAX_HOSTKEY_FILE)
        .map_err(|e| HostKeyError::Io(path.into(), e))?;
    if contents.truncated {
        return Err(HostKeyError::Format(path.into(), "file too large"));
    }
    let data = contents.data;
    let (key, comment) = parse(&data).map_err(|why| HostKeyError::Format(path.into(), why))?;
    let format = if format::is_openssh(&data) {
        Format::OpenSsh
    } else {
        Format::Dropbear
    };
    Ok((key, comment, format))
}

/// Writes `key` to `path` in `format` (mode 0600, atomically, replacing what is there, as
/// `dropbearconvert` does), without a `.pub`.
pub fn write_as(
    path: &Path,
    key: &Ed25519Key,
    comment: &str,
    format: Format,
) -> Result<(), HostKeyError> {
    let data = encode(path, key, comment, format)?;
    write_atomic(path, &data, 0o600, true)
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
    write_key(path, key, comment, Format::OpenSsh, true)
}

/// `path` with `.pub` appended to the file name.
pub fn pub_path(path: &Path) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(".pub");
    PathBuf::from(name)
}

/// The comment for keys quoll makes itself: `quoll@HOSTNAME`.
pub fn default_comment() -> String {
    format!("quoll@{}", hostname())
}

/// The machine's host name (empty when unknown), as a key comment shows it.
pub fn hostname() -> String {
    crate::readfile::read_path(Path::new("/proc/sys/kernel/hostname"), 64)
        .map(|c| {
            String::from_utf8_lossy(&c.data)
                .trim()
                .replace(char::is_control, "")
        })
        .unwrap_or_default()
}

/// The armored openssh-key-v1 file text.
fn to_openssh(key: &Ed25519Key, comment: &str) -> io::Result<Zeroizing<String>> {
    let mut check = [0u8; 4];
    crate::sys::random::fill(&mut check)?;
    Ok(armor(&openssh_blob(key, comment, check)))
}

/// The key file's bytes in `format`; a comment with a control character is refused.
fn encode(
    path: &Path,
    key: &Ed25519Key,
    comment: &str,
    format: Format,
) -> Result<Zeroizing<Vec<u8>>, HostKeyError> {
    if !format::comment_ok(comment) {
        let e = crate::ioerr::new(
            ErrorKind::InvalidInput,
            "the comment has a control character",
        );
        return Err(HostKeyError::Io(path.into(), e));
    }
    match format {
        Format::Dropbear => Ok(dropbear_bytes(key)),
        Format::OpenSsh => {
            let text = to_openssh(key, comment).map_err(|e| HostKeyError::Io(path.into(), e))?;
            Ok(Zeroizing::new(text.as_bytes().to_vec()))
        }
    }
}

/// Writes the key and then its `.pub`. With `replace` false an existing key is kept and
/// the call fails with `AlreadyExists`.
fn write_key(
    path: &Path,
    key: &Ed25519Key,
    comment: &str,
    format: Format,
    replace: bool,
) -> Result<(), HostKeyError> {
    let data = encode(path, key, comment, format)?;
    if let Some(dir) = parent(path) {
        fsys::mkdir_all(dir, 0o700).map_err(|e| HostKeyError::Io(dir.into(), e))?;
    }
    write_atomic(path, &data, 0o600, replace)?;
    let line = public_line(key, comment) + "\n";
    write_atomic(&pub_path(path), line.as_bytes(), 0o644, true)
}

/// Entry point of the `hostkey` fuzz target (fuzz/): file contents through the parser; a
/// key it accepts, written out as quoll writes keys, must read back the same.
#[cfg(feature = "fuzzing")]
pub fn fuzz_file(data: &[u8]) {
    let data = &data[..data.len().min(crate::config::MAX_HOSTKEY_FILE)];
    let Ok((key, comment)) = parse(data) else {
        return;
    };
    let text = armor(&openssh_blob(&key, &comment, [1, 2, 3, 4]));
    let (again, comment_again) = parse(text.as_bytes()).expect("a written key reads back");
    assert_eq!(again.seed(), key.seed());
    assert_eq!(comment_again, comment);
}

#[cfg(test)]
pub(crate) mod tests;
