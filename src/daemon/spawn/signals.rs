//! Signal names as RFC 4254 §6.10 has them, for `signal` requests and `exit-signal`.

/// RFC 4254 §6.10 signal names (without "SIG").
const SIGNALS: &[(&str, i32)] = &[
    ("ABRT", libc::SIGABRT),
    ("ALRM", libc::SIGALRM),
    ("FPE", libc::SIGFPE),
    ("HUP", libc::SIGHUP),
    ("ILL", libc::SIGILL),
    ("INT", libc::SIGINT),
    ("KILL", libc::SIGKILL),
    ("PIPE", libc::SIGPIPE),
    ("QUIT", libc::SIGQUIT),
    ("SEGV", libc::SIGSEGV),
    ("TERM", libc::SIGTERM),
    ("USR1", libc::SIGUSR1),
    ("USR2", libc::SIGUSR2),
];

/// Maps an SSH signal name ("TERM", "INT", ...) to a signal number and back.
pub fn signal_number(name: &str) -> Option<i32> {
    SIGNALS.iter().find(|(n, _)| *n == name).map(|&(_, s)| s)
}

/// The RFC 4254 name of `sig`. Signals the RFC does not name (e.g. SIGBUS, SIGSYS) are
/// reported as "SIG@openssh.com", the name OpenSSH uses: RFC 4254 allows `name@domain`
/// for local extensions, and clients print it rather than reject it.
pub fn signal_name(sig: i32) -> &'static str {
    SIGNALS
        .iter()
        .find(|(_, s)| *s == sig)
        .map_or("SIG@openssh.com", |&(n, _)| n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signal_names_round_trip() {
        for name in [
            "ABRT", "ALRM", "FPE", "HUP", "ILL", "INT", "KILL", "PIPE", "QUIT",
        ] {
            assert_eq!(signal_name(signal_number(name).unwrap()), name);
        }
        for name in ["SEGV", "TERM", "USR1", "USR2"] {
            assert_eq!(signal_name(signal_number(name).unwrap()), name);
        }
        assert_eq!(signal_number("SIGTERM"), None);
        assert_eq!(signal_number("BUS"), None);
        assert_eq!(signal_name(libc::SIGBUS), "SIG@openssh.com");
    }
}
