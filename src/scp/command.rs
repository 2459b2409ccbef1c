//! The `scp -t`/`scp -f` command line: whether the built-in serves it, and its options.

use super::words::split_words;

/// The arguments after `scp` when `cmd` is an `scp -t ...` or `scp -f ...` command line that
/// the built-in can serve; `None` for anything else.
pub fn parse_command(cmd: &[u8]) -> Option<Vec<Vec<u8>>> {
    let mut words = split_words(cmd)?;
    if words.first().map(Vec::as_slice) != Some(b"scp") {
        return None;
    }
    words.remove(0);
    let opts = Opts::parse(&words).ok()?;
    Some(words).filter(|_| opts.sink != opts.source)
}

/// The scp options the server side understands.
#[derive(Debug, Default, PartialEq, Eq)]
pub(super) struct Opts {
    pub(super) sink: bool,
    pub(super) source: bool,
    pub(super) recursive: bool,
    pub(super) preserve: bool,
    pub(super) target_is_dir: bool,
    /// Index of the first operand.
    pub(super) operands: usize,
}

impl Opts {
    pub(super) fn parse<A: AsRef<[u8]>>(args: &[A]) -> Result<Opts, String> {
        let mut o = Opts::default();
        let mut i = 0;
        while i < args.len() {
            let a = args[i].as_ref();
            if a == b"--" {
                i += 1;
                break;
            }
            let Some(flags) = a.strip_prefix(b"-").filter(|f| !f.is_empty()) else {
                break;
            };
            for &f in flags {
                match f {
                    b't' => o.sink = true,
                    b'f' => o.source = true,
                    b'r' => o.recursive = true,
                    b'p' => o.preserve = true,
                    b'd' => o.target_is_dir = true,
                    // Verbose and quiet only change what a client prints.
                    b'v' | b'q' => {}
                    _ => return Err(format!("unsupported option -{}", f as char)),
                }
            }
            i += 1;
        }
        o.operands = i;
        Ok(o)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands() {
        let p = |s: &str| parse_command(s.as_bytes());
        assert_eq!(
            p("scp -v -r -p -t -- /tmp/x").unwrap(),
            vec![
                b"-v".to_vec(),
                b"-r".to_vec(),
                b"-p".to_vec(),
                b"-t".to_vec(),
                b"--".to_vec(),
                b"/tmp/x".to_vec()
            ]
        );
        assert!(p("scp -f a b").is_some());
        assert!(p("scp -prf a").is_some());
        assert_eq!(p("scp a b"), None);
        assert_eq!(p("scp -t -f x"), None);
        assert_eq!(p("/usr/bin/scp -t x"), None);
        assert_eq!(p("scp -Z -t x"), None);
        assert_eq!(p("ls -t"), None);
        assert_eq!(p("scp -t x && reboot"), None);
    }
}
