//! The host key's files: a checked read (never through a symlink, only the owner's, closed to
//! group and others) and the atomic write (`KEY.tmpPID`, fsync, move into place, fsync of the
//! directory) with the clean-up of temp files an interrupted write left behind.

use super::HostKeyError;
use crate::readfile::Contents;
use crate::sys::fsys::{self, temp_path, OFlag};
use std::io::{self, ErrorKind, Write};
use std::path::Path;

// An Ed25519 key file is under 500 bytes; anything much larger is refused.
use crate::config::MAX_HOSTKEY_FILE as MAX_FILE;

/// The whole key file, if it may be a host key: a regular file (not a symlink: O_NOFOLLOW;
/// O_NONBLOCK so a FIFO put there cannot hang the open), owned by the user quoll runs as and
/// closed to group and others, as OpenSSH demands of its host keys.
pub(super) fn read(path: &Path) -> Result<Contents, HostKeyError> {
    let io_err = |e| HostKeyError::Io(path.to_path_buf(), e);
    let flags = OFlag::O_RDONLY | OFlag::O_NOFOLLOW | OFlag::O_NONBLOCK;
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
    Ok(contents)
}

/// The directory holding `path` ("." spelled as `None`).
pub(super) fn parent(path: &Path) -> Option<&Path> {
    fsys::parent(path).filter(|p| !p.as_os_str().is_empty())
}

/// Creates `PATH.tmpPID` (exclusively, never through a symlink), writes and fsyncs it, moves
/// it to `path` and fsyncs the directory so the new name survives a power cut.
pub(super) fn write_atomic(
    path: &Path,
    data: &[u8],
    mode: u32,
    replace: bool,
) -> Result<(), HostKeyError> {
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
    match fsys::fsync(&fsys::open(dir, OFlag::O_RDONLY, 0)?) {
        // Some filesystems cannot fsync a directory; their renames are as durable as they get.
        Err(e) if e.raw_os_error() == Some(libc::EINVAL) => Ok(()),
        other => other,
    }
}

/// Removes `KEY.tmpNNN` and `KEY.pub.tmpNNN` left behind by an interrupted save.
pub(super) fn remove_stale_temp_files(path: &Path) {
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

#[cfg(test)]
mod tests {
    use super::super::tests::{s, TempDir};
    use super::super::{generate, load, load_or_generate, pub_path, public_line};
    use super::*;
    use std::os::unix::fs::PermissionsExt;

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
}
