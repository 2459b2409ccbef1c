//! What a key the helper found listed logs in with: the options of its authorized_keys
//! line, and for a certificate what `Certificate::check` grants at the real time (the CA's
//! signature, validity, principals, critical options), folded into the same `KeyOptions`
//! the session code applies. A FIDO key's signature flags are held against them last.

use crate::authkeys::{self, KeyOptions};
use crate::proto::userkey::{self, SkSigned, UserKey};
use std::net::IpAddr;

/// Seconds since the epoch by the wall clock, for a certificate's validity interval (the
/// loop's own clock is monotonic and knows no date).
pub fn wall_secs() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// The options `blob` logs `user` in with, given what the helper found: `line` (the
/// authorized_keys line listing the key, or the `cert-authority` line listing a
/// certificate's CA) or `ca_file` (the CA is in `--trusted-user-ca-keys`). `Err` says why
/// not, for the log.
pub fn grant(
    blob: &[u8],
    user: &str,
    line: &str,
    ca_file: bool,
    peer: IpAddr,
    now: u64,
) -> Result<KeyOptions, String> {
    let key = userkey::parse(blob).map_err(|e| e.to_string())?;
    #[cfg(not(feature = "certs"))]
    let _ = (user, ca_file, now);
    match key {
        UserKey::Plain(_) => authkeys::options_for(line, blob, peer)
            .ok_or_else(|| "line does not list the key".to_string()),
        #[cfg(feature = "certs")]
        UserKey::Cert(cert) => cert_grant(&cert, user, line, ca_file, peer, now),
    }
}

#[cfg(feature = "certs")]
fn cert_grant(
    cert: &userkey::Certificate<'_>,
    user: &str,
    line: &str,
    ca_file: bool,
    peer: IpAddr,
    now: u64,
) -> Result<KeyOptions, String> {
    use userkey::Principals;
    let mut o = if ca_file {
        KeyOptions::default()
    } else {
        authkeys::ca_options_for(line, cert.signature_key, peer)
            .ok_or_else(|| "line does not list the CA".to_string())?
    };
    let who = match (&o.principals, ca_file) {
        (_, true) => Principals::User(user),
        (Some(list), false) => Principals::AnyOf(list),
        (None, false) => Principals::UserOrNone(user),
    };
    let g = cert.check(now, who).map_err(|e| e.to_string())?;
    if let Some(list) = g.source_address {
        match authkeys::source_address_allows(list, peer) {
            Some(true) => {}
            Some(false) => return Err("source-address does not admit the client".into()),
            None => return Err("malformed source-address".into()),
        }
    }
    if let Some(cmd) = g.force_command {
        // OpenSSH refuses a certificate and a key option that force different commands.
        if o.command.as_deref().is_some_and(|c| c != cmd) {
            return Err("force-command and the line's command= differ".into());
        }
        o.command = Some(cmd.to_string());
    }
    // Extensions are permissions: one a certificate lacks is a restriction.
    o.no_pty |= !g.permit_pty;
    o.no_port_forwarding |= !g.permit_port_forwarding;
    o.no_agent_forwarding |= !g.permit_agent_forwarding;
    o.no_x11_forwarding |= !g.permit_x11_forwarding;
    o.no_touch_required |= g.no_touch_required;
    // The principals were the CA line's question; nothing for the session.
    o.principals = None;
    if ca_file {
        o.info = None;
    }
    Ok(o)
}

/// Does a FIDO key's signature (`sk`) satisfy the options: the user's touch unless
/// `no-touch-required`, user verification with `verify-required`? Other keys always do.
pub fn sk_ok(sk: Option<SkSigned>, o: &KeyOptions) -> Result<(), &'static str> {
    match sk {
        Some(s) if !s.satisfies(!o.no_touch_required, false) => {
            Err("user presence (authenticator touch) requirement not met")
        }
        Some(s) if !s.satisfies(false, o.verify_required) => {
            Err("user verification requirement not met")
        }
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fido_flags_against_the_options() {
        let touched = SkSigned {
            flags: userkey::SK_USER_PRESENT,
            counter: 1,
        };
        let untouched = SkSigned {
            flags: 0,
            counter: 2,
        };
        let verified = SkSigned {
            flags: userkey::SK_USER_PRESENT | userkey::SK_USER_VERIFIED,
            counter: 3,
        };
        let plain = KeyOptions::default();
        let no_touch = KeyOptions {
            no_touch_required: true,
            ..KeyOptions::default()
        };
        let verify = KeyOptions {
            verify_required: true,
            ..KeyOptions::default()
        };
        assert!(sk_ok(None, &plain).is_ok());
        assert!(sk_ok(Some(touched), &plain).is_ok());
        assert!(sk_ok(Some(untouched), &plain).is_err());
        assert!(sk_ok(Some(untouched), &no_touch).is_ok());
        assert!(sk_ok(Some(touched), &verify).is_err());
        assert!(sk_ok(Some(verified), &verify).is_ok());
    }
}
