//! The `log` backend: syslog (facility authpriv, ident "quoll" or `--syslog-ident`) or stderr
//! with `-E`.

use std::ffi::CString;
use std::io::Write;

struct Logger {
    to_stderr: bool,
}

static STDERR_LOGGER: Logger = Logger { to_stderr: true };
static SYSLOG_LOGGER: Logger = Logger { to_stderr: false };

/// Installs the logger. With `to_stderr` lines go to stderr as `[pid] Mon DD HH:MM:SS msg`
/// (Dropbear's `-E` style); else to syslog through openlog/syslog.
/// Only the first call installs a logger (the `log` crate allows one); later calls only
/// change the level.
pub fn init(to_stderr: bool, level: log::LevelFilter, ident: &str) {
    let logger = if to_stderr {
        &STDERR_LOGGER
    } else {
        // openlog keeps the pointer: the ident lives as long as the process.
        let ident: &'static std::ffi::CStr = Box::leak(
            CString::new(ident)
                .unwrap_or_else(|_| CString::from(c"quoll"))
                .into_boxed_c_str(),
        );
        // SAFETY: the ident is a NUL-terminated string that is never freed.
        unsafe { libc::openlog(ident.as_ptr(), libc::LOG_PID, libc::LOG_AUTHPRIV) };
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
            // sanitize removed every NUL, so this cannot fail; stay silent if it somehow did.
            let Ok(cmsg) = CString::new(msg) else { return };
            // SAFETY: the format is a static "%s" and its one argument a valid C string; the
            // message itself is never used as a format (it may hold peer-supplied text).
            unsafe { libc::syslog(priority(record.level()), c"%s".as_ptr(), cmsg.as_ptr()) };
        }
    }

    fn flush(&self) {}
}

fn priority(level: log::Level) -> libc::c_int {
    match level {
        log::Level::Error => libc::LOG_ERR,
        log::Level::Warn => libc::LOG_WARNING,
        log::Level::Info => libc::LOG_INFO,
        log::Level::Debug | log::Level::Trace => libc::LOG_DEBUG,
    }
}

/// Local time as `Mon DD HH:MM:SS`, or an empty string if the clock cannot be formatted.
fn timestamp() -> String {
    let mut buf = [0u8; 32];
    // SAFETY: time accepts a null pointer; tm is plain old data filled by localtime_r.
    let n = unsafe {
        let now = libc::time(std::ptr::null_mut());
        let mut tm: libc::tm = std::mem::zeroed();
        if libc::localtime_r(&now, &mut tm).is_null() {
            return String::new();
        }
        libc::strftime(
            buf.as_mut_ptr().cast(),
            buf.len(),
            c"%b %d %H:%M:%S".as_ptr(),
            &tm,
        )
    };
    String::from_utf8_lossy(&buf[..n]).into_owned()
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
    fn priorities() {
        assert_eq!(priority(log::Level::Error), libc::LOG_ERR);
        assert_eq!(priority(log::Level::Trace), libc::LOG_DEBUG);
    }
}
