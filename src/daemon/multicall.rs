//! quoll under other names. The daemon's children are quoll executed again (through
//! `/proc/self/exe`) with one of these names as argv[0]: they start from a fresh memory image,
//! holding nothing of the daemon's (host key, other users' buffers), and do one job.

/// The built-in SFTP server of a session (`subsystem sftp`), as the user.
pub const SFTP: &str = "quoll-sftp";
/// The built-in `scp -t`/`scp -f` of a session, as the user; its arguments are patterns as
/// `scp::split_words` makes them.
pub const SCP: &str = "quoll-scp";
/// An authentication check (`authcheck`).
pub const AUTH: &str = "quoll-auth";
/// A host name lookup for `direct-tcpip` (`forward::resolve_main`).
pub const RESOLVE: &str = "quoll-resolve";

/// Runs the program named by argv[0] (its last path component) with the rest as arguments;
/// None when that is not one of quoll's internal names.
pub fn run(argv: &[Vec<u8>]) -> Option<i32> {
    let name = argv.first()?;
    let name = name.rsplit(|&b| b == b'/').next().unwrap_or(name);
    let name = std::str::from_utf8(name).ok()?;
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
        _ => return None,
    };
    Some(code)
}

/// Names the process (what `ps -o comm` and /proc/PID/comm show) after its job; executed
/// through /proc/self/exe it would be called "exe".
fn set_name(name: &str) {
    crate::sys::process::set_name(name);
}
