//! authorized_keys: finding the file, checking its permissions, matching a key.
//! STUB: signatures fixed, bodies to be written.

use std::path::Path;

/// Options of the matching authorized_keys line (more arrive with the flags issue).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct KeyOptions {
    pub command: Option<String>,
    pub no_pty: bool,
}

/// Is `keyblob` (an `ssh-ed25519` public key blob) listed in the file at `path`?
/// `owner_uid` is the user the file belongs to: the file and every directory above it must be
/// owned by that user or root and not group/world-writable, else the file is refused (`Err`
/// with a message for the log). A missing file is `Ok(None)`.
pub fn find_key(path: &Path, owner_uid: u32, keyblob: &[u8]) -> Result<Option<KeyOptions>, String> {
    let _ = (path, owner_uid, keyblob);
    todo!()
}
