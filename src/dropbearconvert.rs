//! quoll run as `dropbearconvert`: Dropbear's key converter, for Ed25519 keys only.
//!
//! `dropbearconvert dropbear openssh IN OUT` and `dropbearconvert openssh dropbear IN OUT`,
//! with Dropbear's command line, messages and exit statuses (`dropbearconvert.c`): the input
//! must be in the format named, the output (mode 0600) replaces what is at OUT. An OpenSSH
//! key's comment is lost, as Dropbear's format has none; one written for OpenSSH has none.

use crate::hostkey::{self, Format};
use std::io::Write;
use std::path::Path;

const USAGE: &str = "Usage: dropbearconvert <inputtype> <outputtype> <inputfile> <outputfile>

All parameters must be specified in order.

The input and output types are one of:
openssh
dropbear

Example:
dropbearconvert openssh dropbear /etc/ssh/ssh_host_ed25519_key /etc/dropbear/dropbear_ed25519_host_key
";

/// Runs `dropbearconvert` with the arguments after the program name; returns the exit status.
pub fn main(args: &[String]) -> i32 {
    use crate::sys::fd::STDERR;
    run(args, &mut { STDERR })
}

/// A type word, read as Dropbear reads it: by its first letter.
fn format(word: &str) -> Option<Format> {
    match word.bytes().next() {
        Some(b'd') => Some(Format::Dropbear),
        Some(b'o') => Some(Format::OpenSsh),
        _ => None,
    }
}

/// `main` with its message stream passed in, for tests (the tool prints nothing on stdout).
pub fn run(args: &[String], err: &mut dyn Write) -> i32 {
    let [input, output, infile, outfile] = args else {
        return usage(err, "All arguments must be specified");
    };
    let Some(from) = format(input) else {
        return usage(err, "Invalid input key type");
    };
    let Some(to) = format(output) else {
        return usage(err, "Invalid output key type");
    };
    let key = match hostkey::read_any(Path::new(infile)) {
        Ok((key, _, found)) if found == from => key,
        Ok(_) => {
            let other = if from == Format::Dropbear {
                "not a Dropbear key file"
            } else {
                "not an OpenSSH key file"
            };
            let _ = writeln!(err, "{infile}: {other}\nError reading key from '{infile}'");
            return 1;
        }
        Err(e) => {
            let _ = writeln!(err, "{e}\nError reading key from '{infile}'");
            return 1;
        }
    };
    let _ = writeln!(err, "Key is a ssh-ed25519 key");
    match hostkey::write_as(Path::new(outfile), &key, "", to) {
        Ok(()) => {
            let _ = writeln!(err, "Wrote key to '{outfile}'");
            0
        }
        Err(e) => {
            let _ = writeln!(err, "{e}\nError writing key to '{outfile}'");
            1
        }
    }
}

fn usage(err: &mut dyn Write, msg: &str) -> i32 {
    let _ = writeln!(err, "{msg}");
    let _ = err.write_all(USAGE.as_bytes());
    1
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hostkey::tests::TempDir;
    use std::os::unix::fs::MetadataExt;

    fn convert(args: &[&str]) -> (i32, String) {
        let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
        let mut err = Vec::new();
        let code = run(&args, &mut err);
        (code, String::from_utf8(err).unwrap())
    }

    #[test]
    fn converts_both_ways_and_back() {
        let dir = TempDir::new("dbconvert");
        let db = dir.join("dropbear_ed25519_host_key");
        let key = hostkey::generate_as(&db, "", Format::Dropbear).unwrap();
        let (ossh, back) = (dir.join("ossh"), dir.join("back"));
        let s = |p: &Path| p.to_str().unwrap().to_owned();
        let (code, err) = convert(&["dropbear", "openssh", &s(&db), &s(&ossh)]);
        assert_eq!(code, 0, "{err}");
        assert_eq!(
            err,
            format!("Key is a ssh-ed25519 key\nWrote key to '{}'\n", s(&ossh))
        );
        let (again, _, format) = hostkey::read_any(&ossh).unwrap();
        assert_eq!((again.seed(), format), (key.seed(), Format::OpenSsh));
        assert_eq!(std::fs::metadata(&ossh).unwrap().mode() & 0o777, 0o600);
        let (code, _) = convert(&["o", "d", &s(&ossh), &s(&back)]);
        assert_eq!(code, 0);
        assert_eq!(std::fs::read(&back).unwrap(), std::fs::read(&db).unwrap());
        // The input must be in the format named.
        let (code, err) = convert(&["openssh", "dropbear", &s(&db), &s(&back)]);
        assert_eq!(code, 1);
        assert!(err.ends_with(&format!("Error reading key from '{}'\n", s(&db))));
    }

    #[test]
    fn bad_usage() {
        for (args, first) in [
            (
                &["dropbear", "openssh", "in"][..],
                "All arguments must be specified",
            ),
            (&["x", "openssh", "in", "out"], "Invalid input key type"),
            (&["dropbear", "", "in", "out"], "Invalid output key type"),
        ] {
            let (code, err) = convert(args);
            assert_eq!(code, 1);
            assert!(err.starts_with(&format!("{first}\nUsage:")), "{err}");
        }
    }
}
