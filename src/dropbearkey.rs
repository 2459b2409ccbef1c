//! quoll run as `dropbearkey`: Dropbear's key tool, for Ed25519 keys only.
//!
//! Its command line, messages, output and exit statuses are Dropbear's (`dropbearkey.c`), so
//! the scripts that call it (OpenWrt's and Buildroot's init scripts, LuCI) work unchanged:
//! `-t ed25519 -f FILE [-s 256] [-C comment]` writes a key in Dropbear's format (and FILE.pub),
//! `-y -f FILE` prints the public line and the fingerprint. The types quoll cannot serve (rsa,
//! ecdsa, dss) are refused as a Dropbear built without them refuses them: "Unknown key type",
//! the usage and exit status 1, which those scripts take as "skip this type".

use crate::hostkey::{self, Format};
use crate::proto::crypto::{self, Ed25519Key};
use std::io::Write;
use std::path::Path;

const USAGE: &str = "Usage: dropbearkey -t <type> -f <filename> [-s bits]
-t type\tType of key to generate. One of:
\t\ted25519
-f filename    Use filename for the secret key.
               ~/.ssh/id_dropbear is recommended for client keys.
-s bits\tKey size in bits, should be a multiple of 8 (optional)
           Ed25519 has a fixed size of 256 bits
-y\t\tJust print the publickey and fingerprint for the
\t\tprivate key in <filename>.
-C\t\tSpecify the key comment (email).
";

/// Dropbear's exit status for a key it cannot read (`exit(DROPBEAR_FAILURE)`, that is -1).
const READ_FAILED: i32 = 255;

/// Runs `dropbearkey` with the arguments after the program name; returns the exit status.
pub fn main(args: &[String]) -> i32 {
    use crate::sys::fd::{STDERR, STDOUT};
    run(args, &mut { STDOUT }, &mut { STDERR })
}

/// What the command line asked for, read as Dropbear reads it: a word starting with `-` is
/// a flag named by its second character (`-yes` is `-y`), other words are values of the flag
/// before them or ignored.
#[derive(Debug, Default, PartialEq, Eq)]
struct Args {
    file: Option<String>,
    kind: Option<String>,
    bits: Option<String>,
    comment: Option<String>,
    passphrase: Option<String>,
    show: bool,
    help: bool,
}

fn parse(args: &[String]) -> Result<Args, String> {
    let mut a = Args::default();
    let mut next: Option<&mut Option<String>> = None;
    for word in args {
        if let Some(slot) = next.take() {
            *slot = Some(word.clone());
            continue;
        }
        let Some(flag) = word.strip_prefix('-') else {
            continue;
        };
        match flag.chars().next() {
            Some('f') => next = Some(&mut a.file),
            Some('t') => next = Some(&mut a.kind),
            Some('s') => next = Some(&mut a.bits),
            Some('C') => next = Some(&mut a.comment),
            Some('N') => next = Some(&mut a.passphrase),
            Some('y') => a.show = true,
            Some('h') => {
                a.help = true;
                return Ok(a);
            }
            Some('v' | 'q') => {}
            _ => return Err(format!("Unknown argument {word}\n")),
        }
    }
    Ok(a)
}

/// `main` with its output streams passed in, for tests.
pub fn run(args: &[String], out: &mut dyn Write, err: &mut dyn Write) -> i32 {
    let a = match parse(args) {
        Ok(a) if a.help => {
            let _ = err.write_all(USAGE.as_bytes());
            return 0;
        }
        Ok(a) => a,
        Err(msg) => return usage_error(err, &msg),
    };
    let Some(file) = a.file.as_deref() else {
        return usage_error(err, "Must specify a key filename\n");
    };
    let path = Path::new(file);
    if a.show {
        return match hostkey::read_any(path) {
            Ok((key, _, _)) => {
                print_public(out, &key, None);
                0
            }
            Err(e) => {
                let what = match e {
                    hostkey::HostKeyError::Io(..) => "Failed reading",
                    _ => "Bad key in",
                };
                let _ = writeln!(err, "{what} '{file}'\n{e}");
                READ_FAILED
            }
        };
    }
    let kind = a.kind.as_deref().unwrap_or("ed25519");
    if kind != "ed25519" {
        return usage_error(err, &format!("Unknown key type '{kind}'\n"));
    }
    if let Some(bits) = &a.bits {
        // sscanf("%u") takes the leading digits.
        let digits: String = bits.chars().take_while(char::is_ascii_digit).collect();
        match digits.parse::<u64>() {
            Err(_) => return fail(err, "Bits must be an integer\n"),
            Ok(256) => {}
            Ok(_) => return exited(err, "Ed25519 keys have a fixed size of 256 bits\n"),
        }
    }
    if a.passphrase.as_deref().is_some_and(|p| !p.is_empty()) {
        return fail(err, "Only empty passphrase is supported\n");
    }
    let _ = err.write_all(b"Generating 256 bit ed25519 key, this may take a while...\n");
    let comment = a.comment.unwrap_or_else(user_at_host);
    let key = match generate(path, &comment) {
        Ok(key) => key,
        Err(e) => {
            let _ = writeln!(err, "{e}");
            return exited(err, "Failed to generate key.\n");
        }
    };
    print_public(out, &key, Some(&comment));
    0
}

/// A new key in Dropbear's format at `path` (never over an existing file), `.pub` beside it.
fn generate(path: &Path, comment: &str) -> Result<Ed25519Key, hostkey::HostKeyError> {
    hostkey::generate_as(path, comment, Format::Dropbear)
}

/// What Dropbear prints for a key: the public line (with `comment`, or `user@host` as
/// Dropbear shows every key it reads) and the SHA256 fingerprint.
fn print_public(out: &mut dyn Write, key: &Ed25519Key, comment: Option<&str>) {
    let comment = comment.map_or_else(user_at_host, str::to_owned);
    let line = hostkey::public_line(key, "");
    let fp = crypto::fingerprint(&key.public_blob());
    let _ = write!(
        out,
        "Public key portion is:\n{line} {comment}\nFingerprint: {fp}\n"
    );
}

/// The comment Dropbear gives a key when none is named: the user running it `@` the host.
fn user_at_host() -> String {
    let user = crate::accounts::users::by_uid(crate::sys::fsys::uid())
        .map(|u| u.name)
        .unwrap_or_default();
    format!("{user}@{}", hostkey::hostname())
}

fn usage_error(err: &mut dyn Write, msg: &str) -> i32 {
    let _ = err.write_all(msg.as_bytes());
    let _ = err.write_all(USAGE.as_bytes());
    1
}

fn fail(err: &mut dyn Write, msg: &str) -> i32 {
    let _ = err.write_all(msg.as_bytes());
    1
}

/// Dropbear's `dropbear_exit`: "Exited: " and the message, as its log line (with its newline).
fn exited(err: &mut dyn Write, msg: &str) -> i32 {
    let _ = writeln!(err, "Exited: {msg}");
    1
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hostkey::tests::TempDir;

    fn tool(args: &[&str]) -> (i32, String, String) {
        let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
        let (mut out, mut err) = (Vec::new(), Vec::new());
        let code = run(&args, &mut out, &mut err);
        let text = |b| String::from_utf8(b).unwrap();
        (code, text(out), text(err))
    }

    #[test]
    fn makes_and_shows_a_dropbear_key() {
        let dir = TempDir::new("dbkey");
        let path = dir.join("k");
        let file = path.to_str().unwrap();
        let (code, out, err) = tool(&["-t", "ed25519", "-f", file, "-C", "me@board"]);
        assert_eq!(code, 0, "{err}");
        assert_eq!(
            err,
            "Generating 256 bit ed25519 key, this may take a while...\n"
        );
        let (key, comment, format) = hostkey::read_any(&path).unwrap();
        assert_eq!((comment.as_str(), format), ("", Format::Dropbear));
        let line = hostkey::public_line(&key, "me@board");
        let fp = crypto::fingerprint(&key.public_blob());
        assert_eq!(
            out,
            format!("Public key portion is:\n{line}\nFingerprint: {fp}\n")
        );
        assert_eq!(
            std::fs::read_to_string(hostkey::pub_path(&path)).unwrap(),
            format!("{line}\n")
        );
        // -y shows it with user@host, as Dropbear shows every key.
        let (code, shown, _) = tool(&["-y", "-f", file]);
        assert_eq!(code, 0);
        assert!(shown.contains(&format!("Fingerprint: {fp}\n")), "{shown}");
        assert!(shown.contains(&format!("@{}\n", hostkey::hostname())));
        // Never over an existing key.
        let before = std::fs::read(&path).unwrap();
        let (code, out, err) = tool(&["-t", "ed25519", "-f", file]);
        assert_eq!((code, out.as_str()), (1, ""));
        assert!(
            err.ends_with("Exited: Failed to generate key.\n\n"),
            "{err}"
        );
        assert_eq!(std::fs::read(&path).unwrap(), before);
    }

    #[test]
    fn other_types_and_bad_usage_are_refused_as_dropbear_does() {
        let dir = TempDir::new("dbkey-bad");
        let file = dir.join("k");
        let file = file.to_str().unwrap();
        for kind in ["rsa", "ecdsa", "dss", "ed448"] {
            let (code, out, err) = tool(&["-t", kind, "-f", file]);
            assert_eq!((code, out.as_str()), (1, ""));
            assert!(
                err.starts_with(&format!("Unknown key type '{kind}'\nUsage: dropbearkey")),
                "{err}"
            );
        }
        let (code, _, err) = tool(&["-t", "ed25519"]);
        assert_eq!(code, 1);
        assert!(err.starts_with("Must specify a key filename\nUsage:"));
        let (code, _, err) = tool(&["-x", "-f", file]);
        assert_eq!(code, 1);
        assert!(err.starts_with("Unknown argument -x\nUsage:"));
        let (code, _, err) = tool(&["-t", "ed25519", "-f", file, "-s", "512"]);
        assert_eq!(
            (code, err.as_str()),
            (1, "Exited: Ed25519 keys have a fixed size of 256 bits\n\n")
        );
        let (code, _, err) = tool(&["-f", file, "-s", "many"]);
        assert_eq!((code, err.as_str()), (1, "Bits must be an integer\n"));
        assert!(!dir.join("k").exists());
        let (code, _, err) = tool(&["-h"]);
        assert!(code == 0 && err.starts_with("Usage:"));
        let (code, _, err) = tool(&["-y", "-f", file]);
        assert_eq!(code, 255);
        assert!(
            err.starts_with(&format!("Failed reading '{file}'\n")),
            "{err}"
        );
        std::fs::write(dir.join("k"), b"junk").unwrap();
        let (code, _, err) = tool(&["-y", "-f", file]);
        assert_eq!(code, 255);
        assert!(err.starts_with(&format!("Bad key in '{file}'\n")), "{err}");
    }
}
