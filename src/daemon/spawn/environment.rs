//! A session child's environment: built whole by quoll, nothing inherited from the daemon.

use super::{cstring, SpawnSpec};
use crate::config;
use std::ffi::CString;
use std::io;

/// The child's whole environment: nothing is inherited from quoll.
pub(super) fn environment(spec: &SpawnSpec) -> io::Result<Vec<CString>> {
    let user = spec.user;
    let path = if user.uid == 0 {
        config::ROOT_PATH
    } else {
        config::DEFAULT_PATH
    };
    let mut vars: Vec<(&str, &[u8])> = vec![
        ("USER", user.name.as_bytes()),
        ("LOGNAME", user.name.as_bytes()),
        ("HOME", user.home.as_bytes()),
        ("SHELL", user.shell.as_bytes()),
        ("PATH", path.as_bytes()),
    ];
    // TERM only describes a terminal; without a pty there is none.
    if let (Some(_), Some(term)) = (spec.pty, spec.term) {
        vars.push(("TERM", term.as_bytes()));
    }
    vars.push(("SSH_CLIENT", spec.ssh_client.as_bytes()));
    vars.push(("SSH_CONNECTION", spec.ssh_connection.as_bytes()));
    if let Some(pty) = spec.pty {
        vars.push(("SSH_TTY", pty.name.as_bytes()));
    }
    if let Some(cmd) = spec.original_command {
        vars.push(("SSH_ORIGINAL_COMMAND", cmd));
    }
    let mail = format!("/var/mail/{}", user.name);
    vars.push(("MAIL", mail.as_bytes()));
    for (name, value) in spec.env {
        // The caller filters names; still never let one override ours or smuggle a second
        // variable in through '='.
        let bad = name.is_empty()
            || name.as_bytes().contains(&b'=')
            || vars.iter().any(|(n, _)| n == name);
        if bad {
            continue;
        }
        vars.push((name, value.as_bytes()));
    }
    vars.iter()
        .map(|(name, value)| {
            let mut v = Vec::with_capacity(name.len() + 1 + value.len());
            v.extend_from_slice(name.as_bytes());
            v.push(b'=');
            v.extend_from_slice(value);
            cstring(&v, name)
        })
        .collect()
}
