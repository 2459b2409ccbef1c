//! The Ed25519 host key on flash: OpenSSH `openssh-key-v1` and Dropbear formats, atomic save.
//! STUB: signatures fixed, bodies to be written.

use crate::proto::crypto::Ed25519Key;
use std::path::{Path, PathBuf};

#[derive(Debug)]
pub enum HostKeyError {
    /// The file could not be read or written.
    Io(PathBuf, std::io::Error),
    /// The file exists but is not a valid unencrypted Ed25519 key (truncated, corrupt, other type).
    Format(PathBuf, &'static str),
    /// The file is readable by group or others.
    Permissions(PathBuf),
}

impl std::fmt::Display for HostKeyError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            HostKeyError::Io(p, e) => write!(f, "{}: {}", p.display(), e),
            HostKeyError::Format(p, why) => {
                write!(f, "{}: not a usable Ed25519 key: {}", p.display(), why)
            }
            HostKeyError::Permissions(p) => write!(
                f,
                "{}: permissions too open (readable by group or others); chmod 600 it",
                p.display()
            ),
        }
    }
}

/// Reads a host key in OpenSSH or Dropbear format.
pub fn load(path: &Path) -> Result<Ed25519Key, HostKeyError> {
    let _ = path;
    todo!()
}

/// Generates a new key with getrandom and saves it atomically (with a `.pub` beside it).
pub fn generate(path: &Path) -> Result<Ed25519Key, HostKeyError> {
    let _ = path;
    todo!()
}

/// Loads the key, or generates it when the file does not exist. `true` when generated.
pub fn load_or_generate(path: &Path) -> Result<(Ed25519Key, bool), HostKeyError> {
    let _ = path;
    todo!()
}

/// Writes `key` to `path` in openssh-key-v1 format and `path.pub`, each atomically.
pub fn save(path: &Path, key: &Ed25519Key, comment: &str) -> Result<(), HostKeyError> {
    let _ = (path, key, comment);
    todo!()
}

/// `ssh-ed25519 AAAA... comment`
pub fn public_line(key: &Ed25519Key, comment: &str) -> String {
    let _ = (key, comment);
    todo!()
}
