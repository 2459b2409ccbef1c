//! The `log` backend: syslog (facility authpriv, ident "quoll" or `--syslog-ident`) or stderr
//! with `-E`.

use std::io::Write;
use std::os::unix::net::UnixDatagram;
use std::sync::Mutex;

struct Logger {
    to_stderr: bool,
}

/// The name in syslog lines (`--syslog-ident`, e.g. "dropbear" for fail2ban's stock filter).
static IDENT: std::sync::OnceLock<String> = std::sync::OnceLock::new();

static STDERR_LOGGER: Logger = Logger { to_stderr: true };
static SYSLOG_LOGGER: Logger = Logger { to_stderr: false };

/// Installs the logger. With `to_stderr` lines go to stderr as `[pid] 2026-11-26T18:52:01Z msg`
/// (Dropbear's `-E` style, with the time in UTC); else as datagrams to syslogd's /dev/log.
/// Only the first call installs a logger (the `log` crate allows one); later calls only
/// change the level.
pub fn init(to_stderr: bool, level: log::LevelFilter, ident: &str) {
    let _ = IDENT.set(sanitize(ident));
    let logger = if to_stderr {
        &STDERR_LOGGER
    } else {
        &SYSLOG_LOGGER
    };
    let _ = log::set_logger(logger);
    log::set_max_level(level);
}

impl log::Log for Logger {
    fn enabled(&self, metadata: &log::Metadata) -> bool {
        metadata.level() <= log::max_level()
    }

    fn log(&self, record: &log::Record) {
        if !self.enabled(record.metadata()) {
            return;
        }
        let msg = sanitize(&record.args().to_string());
        if self.to_stderr {
            // One write per line so lines from quoll and its children do not interleave.
            let line = format!("[{}] {} {}\n", std::process::id(), timestamp(), msg);
            let _ = { crate::sys::fd::STDERR }.write_all(line.as_bytes());
        } else {
            send_to_syslogd(syslog_line(record.level(), &msg).as_bytes());
        }
    }

    fn flush(&self) {}
}

/// RFC 3164 without the optional TIMESTAMP: `<PRI>IDENT[PID]: msg`, facility authpriv. The
/// syslog daemon stamps the message with its own clock and time zone (busybox syslogd,
/// OpenWrt's logd, journald and syslog-ng do so for a message without one; rsyslog ignores
/// the sender's time on /dev/log anyway). Local time here would need the C library's time
/// zone code, 7.5 KB of a static binary, for a field the receiver replaces.
fn syslog_line(level: log::Level, msg: &str) -> String {
    format!(
        "<{}>{}[{}]: {}",
        libc::LOG_AUTHPRIV | priority(level),
        IDENT.get().map_or("quoll", String::as_str),
        std::process::id(),
        msg
    )
}

/// The datagram socket to syslogd, connected on first use and again after syslogd restarts.
static SYSLOG_SOCKET: Mutex<Option<UnixDatagram>> = Mutex::new(None);

/// Sends one message to /dev/log, as syslog(3) would; reconnects once if syslogd went away;
/// drops it silently if there is no syslogd. (Not syslog(3) itself: musl formats with
/// vsnprintf, which would pull printf and its float code into the static binary.)
fn send_to_syslogd(msg: &[u8]) {
    let mut sock = SYSLOG_SOCKET.lock().unwrap_or_else(|e| e.into_inner());
    for _ in 0..2 {
        if sock.is_none() {
            *sock = UnixDatagram::unbound()
                .and_then(|s| s.connect("/dev/log").map(|()| s))
                .ok();
        }
        match sock.as_ref().map(|s| s.send(msg)) {
            Some(Ok(_)) => return,
            Some(Err(_)) => *sock = None,
            None => return,
        }
    }
}

fn priority(level: log::Level) -> libc::c_int {
    match level {
        log::Level::Error => libc::LOG_ERR,
        log::Level::Warn => libc::LOG_WARNING,
        log::Level::Info => libc::LOG_INFO,
        log::Level::Debug | log::Level::Trace => libc::LOG_DEBUG,
    }
}

/// The time now in UTC as `2026-11-26T18:52:01Z` (no time zone code: see `syslog_line`).
fn timestamp() -> String {
    // SAFETY: time accepts a null pointer.
    let now = unsafe { libc::time(std::ptr::null_mut()) };
    utc(now as i64)
}

/// Seconds since the epoch as an ISO 8601 UTC time.
fn utc(secs: i64) -> String {
    let (days, rem) = (secs.div_euclid(86400), secs.rem_euclid(86400));
    let (year, month, day) = crate::date::civil(days);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem / 60 % 60,
        rem % 60
    )
}

/// Replaces control characters with `?`. Peer-supplied text (user names, commands, versions)
/// ends up in log lines, and must not forge extra lines or send escape sequences to whoever
/// reads the log on a terminal. Covers C0, DEL and the C1 range (U+0080..U+009F, which some
/// terminals also obey).
pub fn sanitize(msg: &str) -> String {
    msg.chars()
        .map(|c| if c.is_control() { '?' } else { c })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sanitize_replaces_controls() {
        assert_eq!(sanitize("plain user é"), "plain user é");
        assert_eq!(sanitize("a\nb\rc\0d\x1b[31m\x7f"), "a?b?c?d?[31m?");
        assert_eq!(sanitize("tab\there"), "tab?here");
        assert_eq!(sanitize("csi\u{9b}x"), "csi?x");
        assert_eq!(sanitize(""), "");
    }

    #[test]
    fn utc_times() {
        assert_eq!(utc(0), "1970-01-01T00:00:00Z");
        assert_eq!(utc(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(utc(1_795_715_521), "2026-11-26T17:52:01Z");
        assert_eq!(utc(4_107_542_399), "2100-02-28T23:59:59Z");
        assert_eq!(utc(-1), "1969-12-31T23:59:59Z");
        assert_eq!(timestamp().len(), 20);
    }

    #[test]
    fn utc_agrees_with_gmtime() {
        // 64 bits everywhere quoll is built: on 32-bit musl, scripts/build-target builds the
        // libc crate for musl's 64-bit time_t (musl_time64 in targets/).
        assert_eq!(std::mem::size_of::<libc::time_t>(), 8);
        let end = 8_000_000_000;
        let mut t: i64 = -86_400 * 365;
        while t < end {
            // SAFETY: tm is plain old data filled by gmtime_r.
            let tm = unsafe {
                let mut tm: libc::tm = std::mem::zeroed();
                assert!(!libc::gmtime_r(&(t as libc::time_t), &mut tm).is_null());
                tm
            };
            let want = format!(
                "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
                tm.tm_year + 1900,
                tm.tm_mon + 1,
                tm.tm_mday,
                tm.tm_hour,
                tm.tm_min,
                tm.tm_sec
            );
            assert_eq!(utc(t), want);
            t += 7_777_777;
        }
    }

    #[test]
    fn syslog_line_shape() {
        let line = syslog_line(log::Level::Info, "Generated host key");
        // LOG_AUTHPRIV (10 << 3) | LOG_INFO (6) = 86
        let want = format!("<86>quoll[{}]: Generated host key", std::process::id());
        assert_eq!(line, want);
    }

    #[test]
    fn priorities() {
        assert_eq!(priority(log::Level::Error), libc::LOG_ERR);
        assert_eq!(priority(log::Level::Trace), libc::LOG_DEBUG);
    }
}
