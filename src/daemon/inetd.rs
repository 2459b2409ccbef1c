//! inetd mode (`-i`): the exit status of its one connection, as Dropbear's. Dropbear ends a
//! connection with status 0 when the peer closed it or said goodbye and at its own time
//! limits (`dropbear_close`), and with 1 on every error (`dropbear_exit`): a bad packet, a
//! failed key exchange, too many authentication failures, a missed keepalive, a socket error.
//! A socket-activated unit or an inetd wrapper counts the failures by it.

use super::penalty::{GRACE_EXCEEDED, KEX_TIMEOUT};

/// The endings Dropbear reports with status 0: the peer closed the socket or sent
/// DISCONNECT, or a time limit ran out (Dropbear's "Timeout before auth", "Idle timeout",
/// "Max duration reached").
const CLEAN: &[&str] = &[
    "connection closed by peer",
    "Disconnect received",
    GRACE_EXCEEDED,
    KEX_TIMEOUT,
    "Idle timeout",
    "Maximum session time reached",
];

/// The status for a connection that ended for `why` (its DISCONNECT text; the reason code
/// does not tell these apart); `socket_error` when a read or write of the stream failed
/// (recorded as a close by the peer, but an error to Dropbear).
pub fn exit_status(why: &str, socket_error: bool) -> i32 {
    if !socket_error && CLEAN.contains(&why) {
        0
    } else {
        1
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn goodbyes_and_time_limits_are_0_errors_1() {
        assert_eq!(exit_status("connection closed by peer", false), 0);
        assert_eq!(exit_status("connection closed by peer", true), 1);
        assert_eq!(exit_status("Disconnect received", false), 0);
        assert_eq!(exit_status(GRACE_EXCEEDED, false), 0);
        assert_eq!(exit_status(KEX_TIMEOUT, false), 0);
        assert_eq!(exit_status("Idle timeout", false), 0);
        assert_eq!(exit_status("Maximum session time reached", false), 0);
        assert_eq!(exit_status("Keepalive timeout", false), 1);
        assert_eq!(exit_status("MAC error", false), 1);
        assert_eq!(exit_status("bad packet length", false), 1);
        assert_eq!(exit_status("too many authentication failures", false), 1);
    }
}
