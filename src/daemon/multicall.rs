//! quoll under other names. The daemon's children are quoll executed again (through
//! `/proc/self/exe`) with one of these names as argv[0]: they start from a fresh memory image,
//! holding nothing of the daemon's (host key, other users' buffers), and do one job.
//!
//! Installed under Dropbear's names (symlinks to quoll), it is Dropbear's programs too:
//! `dropbear` the server with Dropbear's defaults, `dropbearkey`, `dropbearconvert`, and
//! `scp` the built-in `scp -t`/`scp -f` (`Public`).

/// The built-in SFTP server of a session (`subsystem sftp`), as the user.
pub const SFTP: &str = "quoll-sftp";
/// The built-in `scp -t`/`scp -f` of a session, as the user; its arguments are patterns as
/// `scp::split_words` makes them.
pub const SCP: &str = "quoll-scp";
/// An authentication check (`authcheck`).
pub const AUTH: &str = "quoll-auth";
/// A host name lookup for `direct-tcpip` (`forward::resolve_main`).
pub const RESOLVE: &str = "quoll-resolve";

/// quoll's public names: what it is when installed as a link of that name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Public {
    /// `quoll` or any other name: the server, `quoll keygen`.
    Quoll,
    /// `dropbear`: the server with Dropbear's key location and syslog name.
    Dropbear,
    /// `dropbearkey`: Dropbear's key tool (`crate::dropbearkey`).
    DropbearKey,
    /// `dropbearconvert`: Dropbear's key converter (`crate::dropbearconvert`).
    DropbearConvert,
}

/// The last path component of argv[0].
fn program(argv: &[Vec<u8>]) -> &[u8] {
    let name = argv.first().map_or(&[][..], Vec::as_slice);
    name.rsplit(|&b| b == b'/').next().unwrap_or(name)
}

/// Which public program argv[0] names.
pub fn public(argv: &[Vec<u8>]) -> Public {
    match program(argv) {
        b"dropbear" => Public::Dropbear,
        b"dropbearkey" => Public::DropbearKey,
        b"dropbearconvert" => Public::DropbearConvert,
        _ => Public::Quoll,
    }
}

/// quoll as `scp`, started by a user's shell for `scp -O` (`scp -t DIR`, `scp -f FILES`):
/// the built-in server. The shell has expanded the words already, so they are taken as they
/// are, not as patterns. The client side of scp is not built in.
#[cfg(feature = "scp")]
fn scp_main(args: &[Vec<u8>]) -> i32 {
    let (mut input, mut output) = (crate::sys::fd::STDIN, crate::sys::fd::STDOUT);
    let literal: Vec<Vec<u8>> = args.iter().map(|a| crate::scp::literal(a)).collect();
    let args: Vec<&[u8]> = literal.iter().map(Vec::as_slice).collect();
    let mode = |a: &&[u8]| a.starts_with(b"-") && a.iter().any(|&b| b == b't' || b == b'f');
    if !args.iter().any(mode) {
        let _ = std::io::Write::write_all(
            &mut { crate::sys::fd::STDERR },
            b"scp: this is quoll's scp server (scp -t, scp -f); it copies nothing by itself\n",
        );
        return 1;
    }
    crate::scp::serve(&args, &mut input, &mut output)
}

#[cfg(not(feature = "scp"))]
fn scp_main(_: &[Vec<u8>]) -> i32 {
    let _ = std::io::Write::write_all(
        &mut { crate::sys::fd::STDERR },
        b"scp: this quoll is built without scp\n",
    );
    1
}

/// Runs the program named by argv[0] (its last path component) with the rest as arguments;
/// None when that is not one of quoll's internal names.
pub fn run(argv: &[Vec<u8>]) -> Option<i32> {
    let name = std::str::from_utf8(program(argv)).ok()?;
    let args = &argv[1..];
    let code = match name {
        #[cfg(feature = "sftp")]
        SFTP => {
            let (mut input, mut output) = (crate::sys::fd::STDIN, crate::sys::fd::STDOUT);
            crate::sftp::serve(&mut input, &mut output)
        }
        #[cfg(feature = "scp")]
        SCP => {
            let (mut input, mut output) = (crate::sys::fd::STDIN, crate::sys::fd::STDOUT);
            let args: Vec<&[u8]> = args.iter().map(Vec::as_slice).collect();
            crate::scp::serve(&args, &mut input, &mut output)
        }
        AUTH => {
            set_name(AUTH);
            super::authcheck::helper_main()
        }
        RESOLVE => {
            set_name(RESOLVE);
            super::forward::resolve_main(args)
        }
        "scp" => scp_main(args),
        _ => return None,
    };
    Some(code)
}

/// Names the process (what `ps -o comm` and /proc/PID/comm show) after its job; executed
/// through /proc/self/exe it would be called "exe".
fn set_name(name: &str) {
    crate::sys::process::set_name(name);
}
