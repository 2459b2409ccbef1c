//! The `log` backend: syslog (facility authpriv, ident "quoll") or stderr with `-E`.
//! STUB: signatures fixed, bodies to be written.

/// Installs the logger. With `to_stderr` lines go to stderr as `[pid] Mon DD HH:MM:SS msg`
/// (Dropbear's `-E` style); else to syslog through openlog/syslog.
pub fn init(to_stderr: bool, level: log::LevelFilter) {
    let _ = (to_stderr, level);
    todo!()
}
