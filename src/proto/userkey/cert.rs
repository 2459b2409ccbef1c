//! OpenSSH user certificates (`*-cert-v01@openssh.com`, OpenSSH PROTOCOL.certkeys).
//!
//! `parse_after_name` reads the blob and checks its form; `Certificate::check` does what
//! needs the time, the user and the CA: the CA's signature, the validity interval, the
//! principals, the critical options, and the extensions returned as flags. Whether the CA
//! is trusted is the caller's question (an authorized_keys `cert-authority` line or the
//! trusted CA file lists `signature_key`); it asks before or after `check`.

use super::{parse_fields, parse_plain, verify, KeyError, Kind, PublicKey, SigAlg};
use crate::proto::wire::Reader;

/// Certificate type of a user certificate (a host certificate is 2).
pub const USER_CERT: u32 = 1;
/// Principals in one certificate, as OpenSSH's SSHKEY_CERT_MAX_PRINCIPALS.
pub const MAX_PRINCIPALS: usize = 256;

/// A certificate, borrowing from its blob.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Certificate<'a> {
    /// The certified key: it signs the session.
    pub key: PublicKey<'a>,
    pub serial: u64,
    pub cert_type: u32,
    pub key_id: &'a [u8],
    /// The encoded principal list (strings, one after another).
    principals: &'a [u8],
    pub valid_after: u64,
    pub valid_before: u64,
    critical_options: &'a [u8],
    extensions: &'a [u8],
    /// The CA's public key blob: what a `cert-authority` line or the trusted CA file lists.
    pub signature_key: &'a [u8],
    ca: PublicKey<'a>,
    pub(super) signature: &'a [u8],
    /// Everything the CA signed: the blob up to the signature.
    pub(super) signed: &'a [u8],
}

/// What a valid certificate grants, for the session. Extensions absent from the
/// certificate are not granted (OpenSSH's meaning: a certificate with none allows no pty,
/// no forwarding).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CertGrant<'a> {
    /// `force-command`: run this instead of what the client asks.
    pub force_command: Option<&'a str>,
    /// `source-address`: comma-separated `addr[/bits]` the client must connect from.
    pub source_address: Option<&'a str>,
    pub permit_pty: bool,
    pub permit_port_forwarding: bool,
    pub permit_agent_forwarding: bool,
    pub permit_x11_forwarding: bool,
    pub permit_user_rc: bool,
    /// The FIDO key may sign without a touch.
    pub no_touch_required: bool,
}

/// Whose name the certificate must carry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Principals<'p> {
    /// `--trusted-user-ca-keys` (TrustedUserCAKeys): the user's name must be listed; a
    /// certificate listing none is refused.
    User(&'p str),
    /// An authorized_keys `cert-authority` line without `principals=`: the user's name must
    /// be listed, or the certificate lists none (valid for anyone), as in OpenSSH.
    UserOrNone(&'p str),
    /// `cert-authority,principals="a,b"`: one of these names must be listed.
    AnyOf(&'p str),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CertError {
    /// A host certificate, or another type.
    NotUserCert,
    /// The CA's signature is malformed or does not verify.
    BadCaSignature(KeyError),
    /// The signature is of another kind than the CA key (or SHA-1 `ssh-rsa`).
    CaSignatureKind,
    NotYetValid,
    Expired,
    /// No principal of the certificate is allowed here.
    WrongPrincipal,
    UnknownCriticalOption,
    /// Critical options or extensions badly formed or repeated.
    Malformed,
}

impl core::fmt::Display for CertError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            CertError::NotUserCert => write!(f, "not a user certificate"),
            CertError::BadCaSignature(e) => write!(f, "bad CA signature: {e}"),
            CertError::CaSignatureKind => write!(f, "CA signature of another kind than its key"),
            CertError::NotYetValid => write!(f, "certificate not yet valid"),
            CertError::Expired => write!(f, "certificate expired"),
            CertError::WrongPrincipal => write!(f, "certificate names no allowed principal"),
            CertError::UnknownCriticalOption => write!(f, "unknown critical option"),
            CertError::Malformed => write!(f, "malformed certificate options"),
        }
    }
}

/// Reads the rest of a certificate blob whose type name (`kind`'s certificate form) has
/// been read from `r`.
pub(super) fn parse_after_name<'a>(
    blob: &'a [u8],
    kind: Kind,
    mut r: Reader<'a>,
) -> Result<Certificate<'a>, KeyError> {
    let _nonce = r.string()?;
    let key = parse_fields(kind, &mut r)?;
    let serial = r.u64()?;
    let cert_type = r.u32()?;
    let key_id = r.string()?;
    let principals = r.string()?;
    let valid_after = r.u64()?;
    let valid_before = r.u64()?;
    let critical_options = r.string()?;
    let extensions = r.string()?;
    let _reserved = r.string()?;
    let signature_key = r.string()?;
    let signed = &blob[..blob.len() - r.remaining()];
    let signature = r.string()?;
    r.end()?;
    // The CA is a plain key of a kind built in; a certificate cannot sign one.
    let ca = parse_plain(signature_key)?;
    let mut p = Reader::new(principals);
    let mut count = 0;
    while !p.is_empty() {
        p.string()?;
        count += 1;
        if count > MAX_PRINCIPALS {
            return Err(KeyError::Malformed);
        }
    }
    Ok(Certificate {
        key,
        serial,
        cert_type,
        key_id,
        principals,
        valid_after,
        valid_before,
        critical_options,
        extensions,
        signature_key,
        ca,
        signature,
        signed,
    })
}

impl<'a> Certificate<'a> {
    /// The principals listed (each a name; parse checked the encoding).
    pub fn principals(&self) -> impl Iterator<Item = &'a [u8]> {
        let mut r = Reader::new(self.principals);
        core::iter::from_fn(move || r.string().ok())
    }

    /// Everything about the certificate but whether its CA is trusted, at `now` (seconds
    /// since the epoch). The CA's signature must be of the CA key's kind.
    pub fn check(&self, now: u64, who: Principals<'_>) -> Result<CertGrant<'a>, CertError> {
        if self.cert_type != USER_CERT {
            return Err(CertError::NotUserCert);
        }
        let mut s = Reader::new(self.signature);
        let name = s
            .string()
            .map_err(|_| CertError::BadCaSignature(KeyError::Malformed))?;
        let alg = SigAlg::from_name(name).ok_or(CertError::CaSignatureKind)?;
        if !alg.fits(self.ca.kind()) {
            return Err(CertError::CaSignatureKind);
        }
        // A FIDO CA's flags are not checked: nobody touches a key to sign a certificate
        // for someone else, and OpenSSH does not ask it either.
        verify(&self.ca, alg, self.signed, self.signature).map_err(CertError::BadCaSignature)?;
        if now < self.valid_after {
            return Err(CertError::NotYetValid);
        }
        if now >= self.valid_before {
            return Err(CertError::Expired);
        }
        let listed = |name: &[u8]| self.principals().any(|p| p == name);
        let allowed = match who {
            Principals::User(user) => listed(user.as_bytes()),
            Principals::UserOrNone(user) => {
                self.principals().next().is_none() || listed(user.as_bytes())
            }
            Principals::AnyOf(list) => list.split(',').any(|n| listed(n.as_bytes())),
        };
        if !allowed {
            return Err(CertError::WrongPrincipal);
        }
        let mut grant = CertGrant::default();
        options(self.critical_options, |name, data| {
            let value = || -> Result<&'a str, CertError> {
                let mut d = Reader::new(data);
                let v = d.text().map_err(|_| CertError::Malformed)?;
                d.end().map_err(|_| CertError::Malformed)?;
                Ok(v)
            };
            let slot = match name {
                b"force-command" => &mut grant.force_command,
                b"source-address" => &mut grant.source_address,
                _ => return Err(CertError::UnknownCriticalOption),
            };
            if slot.replace(value()?).is_some() {
                return Err(CertError::Malformed);
            }
            Ok(())
        })?;
        options(self.extensions, |name, _| {
            let flag = match name {
                b"permit-pty" => &mut grant.permit_pty,
                b"permit-port-forwarding" => &mut grant.permit_port_forwarding,
                b"permit-agent-forwarding" => &mut grant.permit_agent_forwarding,
                b"permit-X11-forwarding" => &mut grant.permit_x11_forwarding,
                b"permit-user-rc" => &mut grant.permit_user_rc,
                b"no-touch-required" => &mut grant.no_touch_required,
                // Unknown extensions are ignored (PROTOCOL.certkeys).
                _ => return Ok(()),
            };
            if *flag {
                return Err(CertError::Malformed);
            }
            *flag = true;
            Ok(())
        })?;
        Ok(grant)
    }
}

/// Each (string name, string data) pair of an options or extensions field.
fn options<'a>(
    field: &'a [u8],
    mut each: impl FnMut(&'a [u8], &'a [u8]) -> Result<(), CertError>,
) -> Result<(), CertError> {
    let mut r = Reader::new(field);
    while !r.is_empty() {
        let name = r.string().map_err(|_| CertError::Malformed)?;
        let data = r.string().map_err(|_| CertError::Malformed)?;
        each(name, data)?;
    }
    Ok(())
}
