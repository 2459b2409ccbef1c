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
pub(crate) mod tests {
    use super::format::{BEGIN, END, WRAP};
    use super::*;
    use crate::proto::crypto::{self, ED25519_NAME};
    use crate::proto::wire::vec_string;
    use std::fs::OpenOptions;
    use std::io::Write;
    use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
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

    /// Runs an external tool. A test that needs one fails when it is missing (NOT RUN):
    /// scripts/test installs it.
    pub(crate) fn run(tool: &str, args: &[&str]) -> Output {
        match Command::new(tool).args(args).output() {
            Ok(out) => out,
            Err(e) if e.kind() == ErrorKind::NotFound => {
                panic!("NOT RUN: {tool} is not installed (scripts/test installs it)")
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

    pub(crate) fn s(path: &Path) -> &str {
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
    fn keys_named_like_dropbears_are_made_in_dropbears_format() {
        let dir = TempDir::new("format");
        let db = dir.join("dropbear_ed25519_host_key");
        let key = generate(&db).unwrap();
        let bytes = std::fs::read(&db).unwrap();
        assert_eq!(bytes.len(), 83);
        assert_eq!(&bytes[..15], b"\0\0\0\x0bssh-ed25519");
        assert_eq!(read_any(&db).unwrap().2, Format::Dropbear);
        assert_eq!(load(&db).unwrap().public_key(), key.public_key());
        let os = dir.join("ssh_host_ed25519_key");
        generate(&os).unwrap();
        assert_eq!(read_any(&os).unwrap().2, Format::OpenSsh);
        // Converted both ways, the key stays the same.
        let out = dir.join("converted");
        write_as(&out, &key, "", Format::OpenSsh).unwrap();
        write_as(&out, &key, "", Format::Dropbear).unwrap();
        assert_eq!(std::fs::read(&out).unwrap(), bytes);
        assert_eq!(mode(&out), 0o600);
    }

    #[test]
    fn comment_with_a_newline_not_written() {
        let dir = TempDir::new("comment");
        let path = dir.join("key");
        match generate_with_comment(&path, "two\nlines") {
            Err(e @ HostKeyError::Io(..)) => assert!(e.to_string().contains("comment"), "{e}"),
            other => panic!("expected an error, got {other:?}"),
        }
        assert!(!path.exists() && !pub_path(&path).exists());
        let key = Ed25519Key::from_seed(&[6; 32]);
        assert!(save(&path, &key, "bell\x07").is_err());
        assert!(!path.exists());
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
        let out = run("ssh-keygen", &["-l", "-f", s(&path)]);
        let fp = crypto::fingerprint(&key.public_blob());
        assert_eq!(stdout(&out), format!("256 {fp} board@quoll (ED25519)\n"));
        let out = run("ssh-keygen", &["-y", "-f", s(&path)]);
        assert_eq!(stdout(&out).trim_end(), public_line(&key, "board@quoll"));
    }

    #[test]
    fn loads_ssh_keygen_key() {
        let dir = TempDir::new("fromssh");
        let path = dir.join("key");
        let out = run(
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
        );
        stdout(&out);
        let (key, comment) = load_with_comment(&path).unwrap();
        assert_eq!(comment, "made by ssh-keygen");
        let out = run("ssh-keygen", &["-y", "-f", s(&path)]);
        assert_eq!(stdout(&out).trim_end(), public_line(&key, &comment));
        // What we write back is the same key to ssh-keygen.
        save(&path, &key, &comment).unwrap();
        let out = run("ssh-keygen", &["-y", "-f", s(&path)]);
        assert_eq!(stdout(&out).trim_end(), public_line(&key, &comment));
    }

    #[test]
    fn ssh_keygen_encrypted_and_other_types_refused() {
        let dir = TempDir::new("sshother");
        let enc = dir.join("enc");
        let out = run(
            "ssh-keygen",
            &["-q", "-t", "ed25519", "-N", "secret", "-f", s(&enc)],
        );
        stdout(&out);
        assert_format_error(&enc, "encrypted");
        let ecdsa = dir.join("ecdsa");
        stdout(&run(
            "ssh-keygen",
            &["-q", "-t", "ecdsa", "-N", "", "-f", s(&ecdsa)],
        ));
        assert_format_error(&ecdsa, "not an Ed25519 key");
    }

    #[test]
    fn loads_dropbear_key() {
        let dir = TempDir::new("dropbear");
        let path = dir.join("dropbear_ed25519_host_key");
        let out = run("dropbearkey", &["-t", "ed25519", "-f", s(&path)]);
        stdout(&out);
        let key = load(&path).unwrap();
        let out = run("dropbearkey", &["-y", "-f", s(&path)]);
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
        stdout(&run("dropbearkey", &["-t", "ecdsa", "-f", s(&other)]));
        assert_format_error(&other, "not an Ed25519 key");
    }
}
