//! authorized_keys files found, checked and matched, with real keys from ssh-keygen.

use super::*;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::PathBuf;
use std::process::Command;

/// A private directory under the system temp dir, removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new(tag: &str) -> TempDir {
        let dir = std::env::temp_dir().join(format!("quoll-authkeys-{}-{tag}", std::process::id()));
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
    let line = super::find_key_below(path, owner, blob, peer, top, false, &mut |_| {})?;
    // The comment's SSH_PUBKEYINFO is line.rs's test; these compare the options.
    Ok(line.map(|l| KeyOptions {
        info: None,
        ..options_for(&l, blob, peer).expect("the line found lists the key")
    }))
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

/// A `.pub` line of the user-key fixtures (made by ssh-keygen, scripts/userkey-fixtures):
/// the line without its comment, and the blob.
fn fixture(name: &str) -> (String, Vec<u8>) {
    let path = format!(
        "{}/src/proto/userkey/testdata/{name}.pub",
        env!("CARGO_MANIFEST_DIR")
    );
    let text = std::fs::read_to_string(path).unwrap();
    let mut f = text.split(' ');
    let (kind, b64) = (f.next().unwrap(), f.next().unwrap());
    (format!("{kind} {b64}"), crate::base64::decode(b64).unwrap())
}

/// Every kind of key in one file, with options; the kinds this build leaves out are
/// skipped with a log line, as are RSA keys under 2048 bits.
#[test]
fn every_kind_in_one_file_with_options() {
    let tmp = TempDir::new("kinds");
    let (rsa, rsa_blob) = fixture("rsa2048");
    let (ec, ec_blob) = fixture("ecdsa256");
    let (ec384, ec384_blob) = fixture("ecdsa384");
    let (ed, ed_blob) = fixture("ed25519");
    let (ca, ca_blob) = fixture("ca_ed25519");
    let mut sk_blob = Vec::new();
    crate::proto::wire::vec_string(&mut sk_blob, b"sk-ssh-ed25519@openssh.com");
    crate::proto::wire::vec_string(&mut sk_blob, &[7; 32]);
    crate::proto::wire::vec_string(&mut sk_blob, b"ssh:");
    let sk = format!(
        "sk-ssh-ed25519@openssh.com {}",
        crate::base64::encode(&sk_blob)
    );
    let small = tmp.0.join("small");
    let status = Command::new("ssh-keygen")
        .args(["-q", "-t", "rsa", "-b", "1024", "-N", "", "-f"])
        .arg(&small)
        .status()
        .expect("ssh-keygen runs");
    assert!(status.success());
    let small = std::fs::read_to_string(small.with_extension("pub")).unwrap();
    let text = format!(
        "{small}no-pty {rsa} rsa\ncommand=\"uptime\" {ec}\n{ec384} c\n\
         no-touch-required,verify-required {sk}\ncert-authority,principals=\"alice,ops\" {ca}\n\
         ssh-dss AAAAB3NzaC1kc3M= old\n{ed}\n"
    );
    let path = write_keys(&tmp.0, &text);
    let find = |blob: &[u8], ca: bool| {
        let line =
            super::find_key_below(&path, uid(), blob, LOCAL, &tmp.0, ca, &mut |_| {}).unwrap()?;
        let o = if ca {
            ca_options_for(&line, blob, LOCAL)
        } else {
            options_for(&line, blob, LOCAL)
        };
        o.map(|o| KeyOptions { info: None, ..o })
    };
    let built = |on: bool, o: KeyOptions| on.then_some(o);
    assert_eq!(
        find(&rsa_blob, false),
        built(
            cfg!(feature = "rsa"),
            KeyOptions {
                no_pty: true,
                ..Default::default()
            }
        )
    );
    assert_eq!(
        find(&ec_blob, false),
        built(
            cfg!(feature = "ecdsa"),
            KeyOptions {
                command: Some("uptime".into()),
                ..Default::default()
            }
        )
    );
    assert_eq!(
        find(&ec384_blob, false),
        built(cfg!(feature = "nistp384"), KeyOptions::default())
    );
    assert_eq!(
        find(&sk_blob, false),
        built(
            cfg!(feature = "sk"),
            KeyOptions {
                no_touch_required: true,
                verify_required: true,
                ..Default::default()
            }
        )
    );
    assert_eq!(find(&ed_blob, false), Some(KeyOptions::default()));
    // The CA is found only as a CA, and a user key only as a user key.
    assert_eq!(find(&ca_blob, false), None);
    assert_eq!(
        find(&ca_blob, true),
        Some(KeyOptions {
            principals: Some("alice,ops".into()),
            ..Default::default()
        })
    );
    assert_eq!(find(&ed_blob, true), None);
    assert_eq!(ca_options_for(&format!("{ed}\n"), &ed_blob, LOCAL), None);
    // A lookup that matches nothing reads every line: what it logs.
    let mut warnings = Vec::new();
    let none = super::find_key_below(&path, uid(), b"none", LOCAL, &tmp.0, false, &mut |w| {
        warnings.push(w)
    });
    assert_eq!(none, Ok(None));
    let one_pass = &warnings;
    let said = |what: &str| one_pass.iter().any(|w| w.contains(what));
    if cfg!(feature = "rsa") {
        assert!(said(":1: bad key: RSA key of 1024 bits"), "{one_pass:?}");
    } else {
        assert!(said(":1: key type ssh-rsa not supported by this build"));
        assert!(said(":2: key type ssh-rsa not supported by this build"));
    }
    if !cfg!(feature = "ecdsa") {
        assert!(said(":3: key type ecdsa-sha2-nistp256 not supported"));
    }
    if !cfg!(feature = "sk") {
        assert!(said(
            ":5: key type sk-ssh-ed25519@openssh.com not supported"
        ));
    }
    // The unknown ssh-dss line is skipped silently, as before.
    assert!(!said(":7:"), "{one_pass:?}");
}
