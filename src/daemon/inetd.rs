//! inetd mode (`-i`): the exit status of its one connection, as Dropbear's. Dropbear ends a
//! connection with status 0 when the peer closed it or said goodbye and at its own time
//! limits (`dropbear_close`), and with 1 on every error (`dropbear_exit`): a bad packet, a
//! failed key exchange, too many authentication failures, a missed keepalive, a socket error.
//! A socket-activated unit or an inetd wrapper counts the failures by it.

use super::penalty::{GRACE_EXCEEDED, KEX_TIMEOUT};
use crate::proto::conn::Disconnect;

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

/// The status for a connection that ended with `d`; `socket_error` when a read or write of
/// the stream failed (recorded as a close by the peer, but an error to Dropbear).
pub fn exit_status(d: Disconnect, socket_error: bool) -> i32 {
    if !socket_error && CLEAN.contains(&d.text) {
        0
    } else {
        1
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::msg::reason;

    fn d(reason: u32, text: &'static str) -> Disconnect {
        Disconnect { reason, text }
    }

    #[test]
    fn goodbyes_and_time_limits_are_0_errors_1() {
        let lost = reason::CONNECTION_LOST;
        let app = reason::BY_APPLICATION;
        assert_eq!(exit_status(d(lost, "connection closed by peer"), false), 0);
        assert_eq!(exit_status(d(lost, "connection closed by peer"), true), 1);
        assert_eq!(exit_status(d(11, "Disconnect received"), false), 0);
        assert_eq!(exit_status(d(2, "Disconnect received"), false), 0);
        assert_eq!(exit_status(d(app, GRACE_EXCEEDED), false), 0);
        assert_eq!(exit_status(d(app, KEX_TIMEOUT), false), 0);
        assert_eq!(exit_status(d(app, "Idle timeout"), false), 0);
        assert_eq!(
            exit_status(d(app, "Maximum session time reached"), false),
            0
        );
        assert_eq!(exit_status(d(lost, "Keepalive timeout"), false), 1);
        assert_eq!(exit_status(d(reason::MAC_ERROR, "MAC error"), false), 1);
        assert_eq!(
            exit_status(d(reason::PROTOCOL_ERROR, "bad packet length"), false),
            1
        );
        let auth = reason::NO_MORE_AUTH_METHODS_AVAILABLE;
        assert_eq!(
            exit_status(d(auth, "too many authentication failures"), false),
            1
        );
    }
}
