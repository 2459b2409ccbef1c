//! ECDSA over the NIST curves (RFC 5656 §3.1.2), verified by RustCrypto's `p256` (and
//! `p384`, `p521` with their features). The hash is the curve's: SHA-256, -384, -512.
//!
//! The point must be uncompressed (OpenSSH sends and accepts no other form), on the curve
//! and not the point at infinity; r and s must be 1..n-1 (the crates refuse the rest).

use super::{mpint, Curve, KeyError};
use crate::proto::wire::Reader;

/// Checks an encoded public point.
pub(super) fn check_point(curve: Curve, point: &[u8]) -> Result<(), KeyError> {
    if point.len() != 1 + 2 * curve.field_len() || point[0] != 0x04 {
        return Err(KeyError::BadPoint);
    }
    match curve {
        Curve::P256 => p256::ecdsa::VerifyingKey::from_sec1_bytes(point).map(|_| ()),
        #[cfg(feature = "nistp384")]
        Curve::P384 => p384::ecdsa::VerifyingKey::from_sec1_bytes(point).map(|_| ()),
        #[cfg(feature = "nistp521")]
        Curve::P521 => p521::ecdsa::VerifyingKey::from_sec1_bytes(point).map(|_| ()),
        #[allow(unreachable_patterns)]
        _ => return Err(KeyError::NotBuilt),
    }
    .map_err(|_| KeyError::BadPoint)
}

/// Copies the magnitude of `v` right-aligned into `out`; too long is out of range.
fn scalar(v: &[u8], out: &mut [u8]) -> Result<(), KeyError> {
    let v = mpint(v)?;
    if v.len() > out.len() {
        return Err(KeyError::BadScalar);
    }
    let at = out.len() - v.len();
    out[at..].copy_from_slice(v);
    Ok(())
}

macro_rules! verify_with {
    ($krate:ident, $point:expr, $msg:expr, $r:expr, $s:expr) => {{
        use $krate::ecdsa::signature::Verifier;
        let key =
            $krate::ecdsa::VerifyingKey::from_sec1_bytes($point).map_err(|_| KeyError::BadPoint)?;
        let (mut r, mut s) = ($krate::FieldBytes::default(), $krate::FieldBytes::default());
        scalar($r, &mut r)?;
        scalar($s, &mut s)?;
        let sig = $krate::ecdsa::Signature::from_scalars(r, s).map_err(|_| KeyError::BadScalar)?;
        key.verify($msg, &sig).map_err(|_| KeyError::BadSignature)
    }};
}

/// Verifies `sig` (the string inside the signature blob: mpint r, mpint s) over `msg`.
pub(super) fn verify(curve: Curve, point: &[u8], msg: &[u8], sig: &[u8]) -> Result<(), KeyError> {
    let mut r = Reader::new(sig);
    let (sr, ss) = (r.string()?, r.string()?);
    r.end()?;
    match curve {
        Curve::P256 => verify_with!(p256, point, msg, sr, ss),
        #[cfg(feature = "nistp384")]
        Curve::P384 => verify_with!(p384, point, msg, sr, ss),
        #[cfg(feature = "nistp521")]
        Curve::P521 => verify_with!(p521, point, msg, sr, ss),
        #[allow(unreachable_patterns)]
        _ => Err(KeyError::NotBuilt),
    }
}
