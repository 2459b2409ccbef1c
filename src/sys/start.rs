//! What std's runtime did before `main`, for quoll's own C `main` (`#![no_main]` in
//! src/main.rs; std's start-up and exit code cost about 4 KB on the routers, and quoll needs
//! only these parts of what it sets up):
//! - every descriptor above 2 is closed: whatever the parent (an init script, inetd, a
//!   careless program) left open would otherwise stay open for the daemon's life, and a pipe's
//!   reader would never see EOF; in `-i` mode the connection is fds 0 and 1 and stays;
//! - closed standard descriptors are opened on /dev/null, so that a listening socket or a
//!   host key file never becomes fd 0, 1 or 2 and receives a log line or a prompt;
//! - SIGPIPE is ignored (here only), so a write to a closed connection is an EPIPE error
//!   and never kills the daemon and every session with it (children get the default back
//!   before exec, src/daemon/spawn/);
//! - the argument vector is taken from `main`'s `argv` (std fills `env::args` on musl only
//!   from its own start-up code).

use std::ffi::CStr;

/// Closes every descriptor above 2, opens /dev/null on each of fd 0, 1, 2 that is closed,
/// then ignores SIGPIPE. `open` returns the lowest free descriptor, so filling them in order
/// puts each where it belongs. If /dev/null cannot be opened, quoll aborts, as std's start-up
/// does.
pub fn descriptors() {
    super::fd::close_from(3);
    for fd in 0..3 {
        // SAFETY: fcntl with integer arguments only; open with a NUL-terminated literal.
        unsafe {
            if libc::fcntl(fd, libc::F_GETFD) == -1
                && *libc::__errno_location() == libc::EBADF
                && libc::open(c"/dev/null".as_ptr(), libc::O_RDWR) != fd
            {
                libc::abort();
            }
        }
    }
    // SAFETY: ignoring a signal has no memory effects.
    unsafe { libc::signal(libc::SIGPIPE, libc::SIG_IGN) };
}

/// The command line as bytes, program name (argv[0]) first.
///
/// # Safety
/// `argv` must hold `argc` pointers to NUL-terminated strings, as `main` receives them.
pub unsafe fn raw_arguments(argc: libc::c_int, argv: *const *const libc::c_char) -> Vec<Vec<u8>> {
    (0..argc.max(0) as usize)
        // SAFETY: the caller's contract: argv[i] for i < argc is a C string.
        .map(|i| unsafe { CStr::from_ptr(*argv.add(i)) }.to_bytes().to_vec())
        .collect()
}

/// The arguments after the program name as text, or the position (from 1) of the first that
/// is not UTF-8.
pub fn arguments(raw: &[Vec<u8>]) -> Result<Vec<String>, usize> {
    raw.iter()
        .enumerate()
        .skip(1)
        .map(|(i, a)| String::from_utf8(a.clone()).map_err(|_| i))
        .collect()
}

/// Defines quoll's C `main`: the start-up above, then `$entry` with the command line as bytes
/// (`raw_arguments`), its result the exit status. A macro so that the `unsafe` reading of
/// `argv` stays in this module while the symbol is defined in the binary (src/main.rs).
#[macro_export]
macro_rules! c_main {
    ($entry:path) => {
        #[no_mangle]
        extern "C" fn main(
            argc: ::core::ffi::c_int,
            argv: *const *const ::core::ffi::c_char,
        ) -> ::core::ffi::c_int {
            $crate::sys::start::descriptors();
            // SAFETY: these are the argc and argv that the C start-up code passed to main.
            let raw = unsafe { $crate::sys::start::raw_arguments(argc, argv) };
            $entry(&raw)
        }
    };
}
