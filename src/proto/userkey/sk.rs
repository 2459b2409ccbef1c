//! FIDO security keys (OpenSSH PROTOCOL.u2f): the key signs not the message but
//! SHA-256(application) || flags || counter || SHA-256(message), and the signature blob
//! carries the flags and counter after the signature.

use super::{KeyError, SkSigned};
use crate::proto::wire::Reader;
use sha2::{Digest, Sha256};

/// byte flags, uint32 counter, and nothing after.
pub(super) fn trailer(r: &mut Reader<'_>) -> Result<SkSigned, KeyError> {
    let flags = r.u8()?;
    let counter = r.u32()?;
    r.end()?;
    Ok(SkSigned { flags, counter })
}

/// What the authenticator signed.
pub(super) fn signed_data(application: &[u8], sk: SkSigned, msg: &[u8]) -> [u8; 69] {
    let mut out = [0u8; 69];
    out[..32].copy_from_slice(&Sha256::digest(application));
    out[32] = sk.flags;
    out[33..37].copy_from_slice(&sk.counter.to_be_bytes());
    out[37..].copy_from_slice(&Sha256::digest(msg));
    out
}
