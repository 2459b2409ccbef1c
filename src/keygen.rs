//! `quoll keygen`: make or inspect a host key with the one binary.

use crate::hostkey;
use crate::proto::crypto;
use std::io::Write;
use std::path::Path;

const USAGE: &str =
    "usage: quoll keygen -f FILE [-C comment]   write a new Ed25519 host key\n       \
                     quoll keygen -y -f FILE                print its public key and fingerprint\n";

/// Runs the subcommand with the arguments after `keygen`; returns the exit code.
pub fn main(args: &[String]) -> i32 {
    use crate::sys::fd::{STDERR, STDOUT};
    run(args, &mut { STDOUT }, &mut { STDERR })
}

/// What the command line asked for.
struct Options<'a> {
    file: &'a str,
    comment: Option<&'a str>,
    show_public: bool,
}

/// `None` on anything not understood.
fn parse(args: &[String]) -> Option<Options<'_>> {
    let (mut file, mut comment, mut show_public) = (None, None, false);
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "-f" => file = Some(args.next()?.as_str()),
            "-C" => comment = Some(args.next()?.as_str()),
            "-y" => show_public = true,
            _ => return None,
        }
    }
    // -C names the comment of a new key; with -y the file already has one.
    if show_public && comment.is_some() {
        return None;
    }
    Some(Options {
        file: file?,
        comment,
        show_public,
    })
}

/// `main` with its output streams passed in, for tests.
pub fn run(args: &[String], out: &mut dyn Write, err: &mut dyn Write) -> i32 {
    if matches!(args, [a] if a == "-h" || a == "--help") {
        let _ = out.write_all(USAGE.as_bytes());
        return 0;
    }
    let Some(opts) = parse(args) else {
        let _ = err.write_all(USAGE.as_bytes());
        return 2;
    };
    let path = Path::new(opts.file);
    let result = if opts.show_public {
        show(path, out)
    } else {
        create(path, opts.comment, out)
    };
    match result {
        Ok(()) => 0,
        Err(msg) => {
            let _ = writeln!(err, "quoll keygen: {msg}");
            1
        }
    }
}

fn show(path: &Path, out: &mut dyn Write) -> Result<(), String> {
    let (key, comment) = hostkey::load_with_comment(path).map_err(|e| e.to_string())?;
    writeln!(out, "{}", hostkey::public_line(&key, &comment)).map_err(|e| e.to_string())?;
    writeln!(out, "{}", fingerprint_line(&key, &comment)).map_err(|e| e.to_string())
}

fn create(path: &Path, comment: Option<&str>, out: &mut dyn Write) -> Result<(), String> {
    // Checked here for a clear message; `generate_with_comment` refuses atomically anyway.
    if crate::sys::fsys::lstat(path).is_ok() {
        return Err(format!(
            "{}: already exists; not overwriting a key",
            crate::sys::fsys::show(path)
        ));
    }
    let comment = comment.map_or_else(hostkey::default_comment, str::to_owned);
    let key = hostkey::generate_with_comment(path, &comment).map_err(|e| e.to_string())?;
    writeln!(
        out,
        "wrote {} and {}",
        crate::sys::fsys::show(path),
        crate::sys::fsys::show(&hostkey::pub_path(path))
    )
    .map_err(|e| e.to_string())?;
    writeln!(out, "{}", fingerprint_line(&key, &comment)).map_err(|e| e.to_string())
}

/// As `ssh-keygen -l` prints it: `256 SHA256:... comment (ED25519)`.
fn fingerprint_line(key: &crypto::Ed25519Key, comment: &str) -> String {
    let comment = if comment.is_empty() {
        "no comment"
    } else {
        comment
    };
    format!(
        "256 {} {} (ED25519)",
        crypto::fingerprint(&key.public_blob()),
        comment
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hostkey::tests::{run as tool, TempDir};

    fn keygen(args: &[&str]) -> (i32, String, String) {
        let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
        let (mut out, mut err) = (Vec::new(), Vec::new());
        let code = run(&args, &mut out, &mut err);
        (
            code,
            String::from_utf8(out).unwrap(),
            String::from_utf8(err).unwrap(),
        )
    }

    #[test]
    fn keygen_writes_and_shows_a_key() {
        let dir = TempDir::new("keygen");
        let path = dir.join("etc/quoll/ssh_host_ed25519_key");
        let file = path.to_str().unwrap();
        let (code, out, err) = keygen(&["-f", file, "-C", "my board"]);
        assert_eq!((code, err.as_str()), (0, ""));
        let key = hostkey::load(&path).unwrap();
        let fp_line = fingerprint_line(&key, "my board");
        assert!(out.ends_with(&format!("{fp_line}\n")), "{out}");

        let (code, out, err) = keygen(&["-y", "-f", file]);
        assert_eq!((code, err.as_str()), (0, ""));
        let public = hostkey::public_line(&key, "my board");
        assert_eq!(out, format!("{public}\n{fp_line}\n"));

        // The same lines ssh-keygen prints for this file.
        std::fs::remove_file(hostkey::pub_path(&path)).unwrap();
        let o = tool("ssh-keygen", &["-l", "-f", file]);
        assert_eq!(String::from_utf8(o.stdout).unwrap(), format!("{fp_line}\n"));
        let o = tool("ssh-keygen", &["-y", "-f", file]);
        assert_eq!(String::from_utf8(o.stdout).unwrap(), format!("{public}\n"));
    }

    #[test]
    fn keygen_refuses_to_overwrite() {
        let dir = TempDir::new("keygen-exists");
        let path = dir.join("key");
        let file = path.to_str().unwrap();
        assert_eq!(keygen(&["-f", file]).0, 0);
        let before = std::fs::read(&path).unwrap();
        let (code, out, err) = keygen(&["-f", file]);
        assert_eq!((code, out.as_str()), (1, ""));
        assert!(
            err.contains(file) && err.contains("already exists"),
            "{err}"
        );
        assert_eq!(std::fs::read(&path).unwrap(), before);
    }

    #[test]
    fn keygen_bad_usage() {
        for args in [
            &[][..],
            &["-f"],
            &["-C", "x"],
            &["-y"],
            &["-x", "-f", "k"],
            &["-y", "-C", "c", "-f", "k"],
            &["-f", "k", "extra"],
        ] {
            let (code, out, err) = keygen(args);
            assert_eq!((code, out.as_str()), (2, ""), "{args:?}");
            assert!(err.starts_with("usage:"), "{args:?}: {err}");
        }
        let (code, out, _) = keygen(&["--help"]);
        assert_eq!(code, 0);
        assert!(out.starts_with("usage:"));
    }

    #[test]
    fn keygen_errors_name_the_file() {
        let dir = TempDir::new("keygen-err");
        let missing = dir.join("missing");
        let (code, _, err) = keygen(&["-y", "-f", missing.to_str().unwrap()]);
        assert_eq!(code, 1);
        assert!(err.contains(missing.to_str().unwrap()), "{err}");

        let junk = dir.join("junk");
        std::fs::write(&junk, b"junk").unwrap();
        std::fs::set_permissions(&junk, std::os::unix::fs::PermissionsExt::from_mode(0o600))
            .unwrap();
        let (code, _, err) = keygen(&["-y", "-f", junk.to_str().unwrap()]);
        assert_eq!(code, 1);
        assert!(
            err.contains("junk") && err.contains("not a usable"),
            "{err}"
        );
    }
}
