//! What a session runs: the shell with the client's (or a forced) command, a login shell, or
//! a server built into quoll; and the argv it is started with.

use super::{cstring, SpawnSpec};
#[cfg(any(feature = "scp", not(feature = "sftp")))]
use crate::config;
use crate::options::Options;
use crate::sys::process::Target;
use std::ffi::CString;
use std::io;
use std::os::unix::ffi::OsStrExt;

/// Servers quoll runs itself in the session child, as the user: quoll executed again under an
/// internal name (`multicall`), so the child holds none of the daemon's memory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Builtin {
    /// `subsystem sftp`.
    #[cfg(feature = "sftp")]
    Sftp,
    /// `scp -t ...` / `scp -f ...`: the command's arguments after `scp`, as patterns
    /// (`scp::split_words`).
    #[cfg(feature = "scp")]
    Scp(Vec<Vec<u8>>),
}

/// Decides what a session runs: `(command, builtin)` from the effective command (forced or
/// the client's) and the requested subsystem. A subsystem other than sftp, or sftp when
/// disabled, is an error (the request is refused). A forced command replaces a subsystem,
/// as in OpenSSH.
pub fn launch<'a>(
    opts: &'a Options,
    uid: u32,
    command: Option<&'a [u8]>,
    forced: bool,
    subsystem: Option<&str>,
) -> io::Result<(Option<&'a [u8]>, Option<Builtin>)> {
    if let (Some(name), false) = (subsystem, forced) {
        if name != "sftp" || opts.no_sftp {
            return Err(crate::ioerr::other(format!(
                "subsystem '{name}' is not available"
            )));
        }
        return match &opts.sftp_server {
            Some(path) => Ok((Some(path.as_os_str().as_bytes()), None)),
            #[cfg(feature = "sftp")]
            None => Ok((None, Some(Builtin::Sftp))),
            #[cfg(not(feature = "sftp"))]
            None => match config::SFTP_SERVERS
                .iter()
                .find(|p| is_executable(std::path::Path::new(p)))
            {
                Some(p) => Ok((Some(p.as_bytes()), None)),
                None => Err(crate::ioerr::other("no sftp-server installed")),
            },
        };
    }
    #[cfg(feature = "scp")]
    if let Some(args) = command.and_then(crate::scp::parse_command) {
        let path = if uid == 0 {
            config::ROOT_PATH
        } else {
            config::DEFAULT_PATH
        };
        if opts.builtin_scp || !on_path("scp", path) {
            return Ok((command, Some(Builtin::Scp(args))));
        }
    }
    #[cfg(not(feature = "scp"))]
    let _ = uid;
    Ok((command, None))
}

/// Whether `path` is an executable file.
#[cfg(any(feature = "scp", not(feature = "sftp")))]
fn is_executable(path: &std::path::Path) -> bool {
    crate::sys::fsys::stat(path).is_ok_and(|m| m.is_file() && m.mode & 0o111 != 0)
}

/// Whether an executable `name` is in one of `path`'s directories.
#[cfg(feature = "scp")]
fn on_path(name: &str, path: &str) -> bool {
    path.split(':')
        .any(|dir| is_executable(&std::path::Path::new(dir).join(name)))
}

/// The session's argv and program: the shell (`shell -c command`, or a login shell with a
/// `-` in argv[0]), or quoll under a built-in server's name.
pub(super) fn session_program(spec: &SpawnSpec) -> io::Result<(Target, Vec<CString>)> {
    let user = spec.user;
    #[cfg(any(feature = "sftp", feature = "scp"))]
    if let Some(b) = &spec.builtin {
        let argv = match b {
            #[cfg(feature = "sftp")]
            Builtin::Sftp => vec![cstring(crate::daemon::multicall::SFTP.as_bytes(), "name")?],
            #[cfg(feature = "scp")]
            Builtin::Scp(args) => {
                std::iter::once(cstring(crate::daemon::multicall::SCP.as_bytes(), "name"))
                    .chain(args.iter().map(|a| cstring(a, "scp argument")))
                    .collect::<io::Result<_>>()?
            }
        };
        return Ok((Target::Quoll(crate::daemon::multicall::run), argv));
    }
    let shell = cstring(user.shell.as_bytes(), "shell")?;
    let base = user.shell.rsplit('/').next().unwrap_or(&user.shell);
    // The command is one argv element: it reaches the shell exactly as the client sent it,
    // never pasted into another command line.
    let argv = match spec.command {
        Some(cmd) => vec![
            cstring(base.as_bytes(), "shell")?,
            c"-c".to_owned(),
            cstring(cmd, "command")?,
        ],
        // A leading '-' in argv[0] tells the shell it is a login shell.
        None => vec![cstring(format!("-{base}").as_bytes(), "shell")?],
    };
    Ok((Target::Path(shell), argv))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn launch_picks_builtins() {
        let o = Options::default();
        let run = |o: &Options, cmd: Option<&'static [u8]>, forced: bool, sub: Option<&str>| {
            launch(o, 1000, cmd, forced, sub).map(|(c, b)| (c.map(<[u8]>::to_vec), b))
        };
        #[cfg(feature = "sftp")]
        assert_eq!(
            run(&o, None, false, Some("sftp")).unwrap(),
            (None, Some(Builtin::Sftp))
        );
        // Without the built-in, an installed sftp-server serves, or the request is refused.
        #[cfg(not(feature = "sftp"))]
        match config::SFTP_SERVERS
            .iter()
            .find(|p| is_executable(std::path::Path::new(p)))
        {
            Some(p) => assert_eq!(
                run(&o, None, false, Some("sftp")).unwrap(),
                (Some(p.as_bytes().to_vec()), None)
            ),
            None => assert!(run(&o, None, false, Some("sftp")).is_err()),
        }
        assert!(run(&o, None, false, Some("netconf")).is_err());
        // A forced command replaces the subsystem.
        assert_eq!(
            run(&o, Some(b"date"), true, Some("sftp")).unwrap(),
            (Some(b"date".to_vec()), None)
        );
        let ext = Options {
            sftp_server: Some("/usr/lib/openssh/sftp-server".into()),
            ..Options::default()
        };
        assert_eq!(
            run(&ext, None, false, Some("sftp")).unwrap(),
            (Some(b"/usr/lib/openssh/sftp-server".to_vec()), None)
        );
        let off = Options {
            no_sftp: true,
            ..Options::default()
        };
        assert!(run(&off, None, false, Some("sftp")).is_err());
    }

    #[cfg(feature = "scp")]
    #[test]
    fn launch_picks_builtin_scp() {
        let o = Options::default();
        let run = |o: &Options, cmd: Option<&'static [u8]>| {
            launch(o, 1000, cmd, false, None).map(|(c, b)| (c.map(<[u8]>::to_vec), b))
        };
        let always = Options {
            builtin_scp: true,
            ..Options::default()
        };
        let (_, b) = run(&always, Some(b"scp -t -- 'a b'")).unwrap();
        assert_eq!(
            b,
            Some(Builtin::Scp(vec![
                b"-t".to_vec(),
                b"--".to_vec(),
                b"a b".to_vec()
            ]))
        );
        assert_eq!(run(&always, Some(b"ls")).unwrap().1, None);
        // Without --builtin-scp the built-in serves only when PATH has no scp.
        let has_scp = on_path("scp", config::DEFAULT_PATH);
        let (_, b) = run(&o, Some(b"scp -f x")).unwrap();
        assert_eq!(b.is_some(), !has_scp);
    }
}
