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
        let dir =
            std::env::temp_dir().join(format!("quoll-test-{}-{}-{}", tag, std::process::id(), n));
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
            assert!(matches!(e, HostKeyError::Io(_, ref io) if io.kind() == ErrorKind::NotFound));
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
