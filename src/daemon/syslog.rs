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

/// Installs the logger. With `to_stderr` lines go to stderr as `[pid] Mon DD HH:MM:SS msg`
/// (Dropbear's `-E` style); else as datagrams to syslogd's /dev/log, as syslog(3) sends them.
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
            let _ = std::io::stderr().lock().write_all(line.as_bytes());
        } else {
            send_to_syslogd(syslog_line(record.level(), &msg).as_bytes());
        }
    }

    fn flush(&self) {}
}

/// RFC 3164, as musl's syslog(3) writes it: `<PRI>Mmm dd hh:mm:ss IDENT[PID]: msg`, facility
/// authpriv.
fn syslog_line(level: log::Level, msg: &str) -> String {
    format!(
        "<{}>{} {}[{}]: {}",
        libc::LOG_AUTHPRIV | priority(level),
        format_time(b' '),
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

/// Local time as `Mon DD HH:MM:SS`, or an empty string if the clock cannot be converted.
fn timestamp() -> String {
    format_time(b'0')
}

/// Local time as `Mon DD HH:MM:SS` with the day padded by `pad` (b'0', or b' ' for syslog),
/// formatted here rather than by strftime (musl's uses snprintf; see send_to_syslogd).
fn format_time(pad: u8) -> String {
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    // SAFETY: time accepts a null pointer; tm is plain old data filled by localtime_r.
    let tm = unsafe {
        let now = libc::time(std::ptr::null_mut());
        let mut tm: libc::tm = std::mem::zeroed();
        if libc::localtime_r(&now, &mut tm).is_null() {
            return String::new();
        }
        tm
    };
    let Some(month) = usize::try_from(tm.tm_mon).ok().and_then(|m| MONTHS.get(m)) else {
        return String::new();
    };
    let day = if tm.tm_mday < 10 {
        format!("{}{}", pad as char, tm.tm_mday)
    } else {
        tm.tm_mday.to_string()
    };
    format!(
        "{month} {day} {:02}:{:02}:{:02}",
        tm.tm_hour, tm.tm_min, tm.tm_sec
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
    fn timestamp_shape() {
        let t = timestamp();
        // "Nov 26 13:20:19"
        assert_eq!(t.len(), 15, "{t:?}");
        assert_eq!(&t[3..4], " ");
        assert_eq!(&t[9..10], ":");
    }

    #[test]
    fn syslog_line_shape() {
        let line = syslog_line(log::Level::Info, "Generated host key");
        // LOG_AUTHPRIV (10 << 3) | LOG_INFO (6) = 86; "<86>Nov  6 13:20:19 quoll[PID]: ..."
        assert!(line.starts_with("<86>"), "{line:?}");
        assert_eq!(&line[7..8], " ", "{line:?}");
        assert_eq!(&line[13..14], ":", "{line:?}");
        let pid = format!(" quoll[{}]: Generated host key", std::process::id());
        assert_eq!(&line[19..], pid, "{line:?}");
        assert_ne!(&line[8..9], "0", "day padded with a space: {line:?}");
    }

    #[test]
    fn priorities() {
        assert_eq!(priority(log::Level::Error), libc::LOG_ERR);
        assert_eq!(priority(log::Level::Trace), libc::LOG_DEBUG);
    }
}
