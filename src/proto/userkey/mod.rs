//! User public keys: the key blobs and signature blobs of every kind quoll verifies, and
//! OpenSSH user certificates. Pure functions over borrowed bytes: nothing here allocates
//! except RSA verification (the `rsa` crate's big integers live on the heap; the modulus is
//! bounded to 8192 bits before it gets there, so one verification holds a few KiB at most).
//!
//! Kinds, each behind a Cargo feature except Ed25519:
//! - `ssh-ed25519` (always; salty, through `crypto.rs`);
//! - `ssh-rsa` keys with `rsa-sha2-256` / `rsa-sha2-512` signatures (`rsa`), 2048 to 8192 bits;
//!   SHA-1 `ssh-rsa` signatures are refused;
//! - `ecdsa-sha2-nistp256` (`ecdsa`), `-nistp384` (`nistp384`), `-nistp521` (`nistp521`);
//! - FIDO keys `sk-ssh-ed25519@openssh.com` and, with `ecdsa`,
//!   `sk-ecdsa-sha2-nistp256@openssh.com` (`sk`), whose signatures carry flags and a counter;
//! - `*-cert-v01@openssh.com` certificates of each kind built in (`certs`, `cert.rs`).
//!
//! The auth code calls `parse` on the request's key blob, `signature_alg` to map the
//! request's algorithm name to the signature it must carry, and `verify`; for a certificate
//! also `Certificate::check` once the CA is known to be trusted.

#[cfg(feature = "certs")]
pub mod cert;
#[cfg(feature = "ecdsa")]
mod ecdsa;
mod kinds;
#[cfg(feature = "rsa")]
mod rsa;
#[cfg(feature = "sk")]
mod sk;
#[cfg(test)]
mod tests;

#[cfg(feature = "certs")]
pub use cert::{CertError, CertGrant, Certificate, Principals};
pub use kinds::{Kind, SigAlg, KEY_TYPES, SERVER_SIG_ALGS, SIG_ALGS};

use super::wire::Reader;

/// The largest key blob accepted, certificates included: an 8192-bit RSA key certified by
/// an 8192-bit RSA CA is about 3.2 KiB plus its principals and options.
pub const MAX_KEY_BLOB: usize = 16 * 1024;
/// The largest signature blob: an 8192-bit RSA signature and its name.
pub const MAX_SIG_BLOB: usize = 4 + 12 + 4 + 1024;
/// RSA modulus sizes accepted, in bits (OpenSSH 9 refuses under 1024, Dropbear under 1024;
/// quoll follows the issue of NIST SP 800-131A: 2048).
pub const RSA_MIN_BITS: usize = 2048;
pub const RSA_MAX_BITS: usize = 8192;

/// FIDO signature flags (OpenSSH PROTOCOL.u2f): the user touched the key, the key verified
/// the user (PIN or biometrics).
pub const SK_USER_PRESENT: u8 = 0x01;
pub const SK_USER_VERIFIED: u8 = 0x04;

/// Why a key or signature was refused; `Display` gives the log text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyError {
    /// Truncated, trailing bytes, a bad length or encoding.
    Malformed,
    /// A key type quoll does not know.
    UnknownType,
    /// A key type this build leaves out (its Cargo feature is off).
    NotBuilt,
    RsaTooSmall(usize),
    RsaTooLarge(usize),
    RsaEvenModulus,
    /// Exponent even, 1, larger than 2^33-1, or not smaller than the modulus.
    RsaBadExponent,
    /// An ECDSA point that is not on the curve, the point at infinity, or compressed.
    BadPoint,
    /// ECDSA r or s zero or not below the group order.
    BadScalar,
    /// The signature names an algorithm this key may not use (`ssh-rsa` SHA-1 included).
    WrongAlgorithm,
    /// Well formed, but does not verify.
    BadSignature,
}

impl core::fmt::Display for KeyError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            KeyError::Malformed => write!(f, "malformed key or signature"),
            KeyError::UnknownType => write!(f, "unknown key type"),
            KeyError::NotBuilt => write!(f, "key type not supported by this build"),
            KeyError::RsaTooSmall(b) => write!(f, "RSA key of {b} bits (at least 2048 needed)"),
            KeyError::RsaTooLarge(b) => write!(f, "RSA key of {b} bits (at most 8192)"),
            KeyError::RsaEvenModulus => write!(f, "RSA modulus is even"),
            KeyError::RsaBadExponent => write!(f, "RSA exponent out of range"),
            KeyError::BadPoint => write!(f, "ECDSA point invalid or not on the curve"),
            KeyError::BadScalar => write!(f, "ECDSA signature value out of range"),
            KeyError::WrongAlgorithm => write!(f, "signature algorithm not allowed for key"),
            KeyError::BadSignature => write!(f, "signature does not verify"),
        }
    }
}

impl From<super::wire::WireError> for KeyError {
    fn from(_: super::wire::WireError) -> Self {
        KeyError::Malformed
    }
}

/// A parsed public key, borrowing from its blob. Every check that needs no signature
/// (sizes, RSA modulus and exponent, ECDSA point on the curve) is done by `parse`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PublicKey<'a> {
    Ed25519([u8; 32]),
    /// Big-endian magnitudes, no leading zeros.
    Rsa {
        e: &'a [u8],
        n: &'a [u8],
    },
    /// An uncompressed SEC1 point (0x04 || x || y) on `curve`.
    Ecdsa {
        curve: Curve,
        point: &'a [u8],
    },
    SkEd25519 {
        key: [u8; 32],
        application: &'a [u8],
    },
    /// nistp256 only, as in OpenSSH.
    SkEcdsa {
        point: &'a [u8],
        application: &'a [u8],
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Curve {
    P256,
    P384,
    P521,
}

impl Curve {
    /// The curve's name in SSH blobs.
    pub fn name(self) -> &'static str {
        match self {
            Curve::P256 => "nistp256",
            Curve::P384 => "nistp384",
            Curve::P521 => "nistp521",
        }
    }

    /// Bytes of a field element (and of the group order: equal for these curves).
    pub fn field_len(self) -> usize {
        match self {
            Curve::P256 => 32,
            Curve::P384 => 48,
            Curve::P521 => 66,
        }
    }
}

impl PublicKey<'_> {
    /// The plain key blob (a certificate's subject key without the certificate): what
    /// fingerprints are taken of, as OpenSSH does, and what a revoked-keys file lists.
    pub fn plain_blob(&self) -> Vec<u8> {
        use super::wire::vec_string;
        let mut v = Vec::new();
        vec_string(&mut v, self.kind().name().as_bytes());
        match self {
            PublicKey::Ed25519(k) => vec_string(&mut v, k),
            PublicKey::Rsa { e, n } => {
                vec_mpint(&mut v, e);
                vec_mpint(&mut v, n);
            }
            PublicKey::Ecdsa { curve, point } => {
                vec_string(&mut v, curve.name().as_bytes());
                vec_string(&mut v, point);
            }
            PublicKey::SkEd25519 { key, application } => {
                vec_string(&mut v, key);
                vec_string(&mut v, application);
            }
            PublicKey::SkEcdsa { point, application } => {
                vec_string(&mut v, Curve::P256.name().as_bytes());
                vec_string(&mut v, point);
                vec_string(&mut v, application);
            }
        }
        v
    }

    pub fn kind(&self) -> Kind {
        match self {
            PublicKey::Ed25519(_) => Kind::Ed25519,
            PublicKey::Rsa { .. } => Kind::Rsa,
            PublicKey::Ecdsa { curve, .. } => Kind::Ecdsa(*curve),
            PublicKey::SkEd25519 { .. } => Kind::SkEd25519,
            PublicKey::SkEcdsa { .. } => Kind::SkEcdsa,
        }
    }
}

/// A user key as sent in a `publickey` request: a plain key, or a certificate (`certs`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UserKey<'a> {
    Plain(PublicKey<'a>),
    #[cfg(feature = "certs")]
    Cert(Certificate<'a>),
}

impl<'a> UserKey<'a> {
    /// The key that signs the session (a certificate's subject key).
    pub fn key(&self) -> &PublicKey<'a> {
        match self {
            UserKey::Plain(k) => k,
            #[cfg(feature = "certs")]
            UserKey::Cert(c) => &c.key,
        }
    }

    pub fn is_cert(&self) -> bool {
        !matches!(self, UserKey::Plain(_))
    }

    /// The blob's type name (`ssh-rsa`, `ssh-ed25519-cert-v01@openssh.com`, ...).
    pub fn type_name(&self) -> &'static str {
        match self {
            UserKey::Plain(k) => k.kind().name(),
            #[cfg(feature = "certs")]
            UserKey::Cert(c) => c.key.kind().cert_name(),
        }
    }
}

/// Parses a public key blob of any kind built in (certificates included), checking
/// everything a key can be checked for without a signature. A certificate's CA signature
/// is not checked here: `Certificate::check` does that.
pub fn parse(blob: &[u8]) -> Result<UserKey<'_>, KeyError> {
    if blob.len() > MAX_KEY_BLOB {
        return Err(KeyError::Malformed);
    }
    let mut r = Reader::new(blob);
    let name = r.string()?;
    let (kind, is_cert) = Kind::from_blob_name(name)?;
    if is_cert {
        #[cfg(feature = "certs")]
        return cert::parse_after_name(blob, kind, r).map(UserKey::Cert);
        #[cfg(not(feature = "certs"))]
        return Err(KeyError::NotBuilt);
    }
    let key = parse_fields(kind, &mut r)?;
    r.end()?;
    Ok(UserKey::Plain(key))
}

/// Parses a plain (not certificate) key blob: a CA key, a revoked key.
pub fn parse_plain(blob: &[u8]) -> Result<PublicKey<'_>, KeyError> {
    match parse(blob)? {
        UserKey::Plain(k) => Ok(k),
        #[cfg(feature = "certs")]
        UserKey::Cert(_) => Err(KeyError::WrongAlgorithm),
    }
}

/// The key fields after the type name (and after a certificate's nonce): the layouts of
/// RFC 4253 §6.6, RFC 5656 §3.1, RFC 8709 and PROTOCOL.u2f.
fn parse_fields<'a>(kind: Kind, r: &mut Reader<'a>) -> Result<PublicKey<'a>, KeyError> {
    match kind {
        Kind::Ed25519 => Ok(PublicKey::Ed25519(ed25519_key(r)?)),
        Kind::Rsa => {
            let e = mpint(r.string()?)?;
            let n = mpint(r.string()?)?;
            #[cfg(feature = "rsa")]
            {
                rsa::check_key(e, n)?;
                Ok(PublicKey::Rsa { e, n })
            }
            #[cfg(not(feature = "rsa"))]
            {
                let _ = (e, n);
                Err(KeyError::NotBuilt)
            }
        }
        Kind::Ecdsa(curve) => {
            let point = ec_point(curve, r)?;
            Ok(PublicKey::Ecdsa { curve, point })
        }
        Kind::SkEd25519 => {
            let key = ed25519_key(r)?;
            let application = r.string()?;
            Ok(PublicKey::SkEd25519 { key, application })
        }
        Kind::SkEcdsa => {
            let point = ec_point(Curve::P256, r)?;
            let application = r.string()?;
            Ok(PublicKey::SkEcdsa { point, application })
        }
    }
}

fn ed25519_key(r: &mut Reader<'_>) -> Result<[u8; 32], KeyError> {
    r.string()?.try_into().map_err(|_| KeyError::Malformed)
}

/// string curve name (must match the type), string Q, checked on the curve.
fn ec_point<'a>(curve: Curve, r: &mut Reader<'a>) -> Result<&'a [u8], KeyError> {
    if r.string()? != curve.name().as_bytes() {
        return Err(KeyError::Malformed);
    }
    let point = r.string()?;
    #[cfg(feature = "ecdsa")]
    {
        ecdsa::check_point(curve, point)?;
        Ok(point)
    }
    #[cfg(not(feature = "ecdsa"))]
    {
        let _ = point;
        Err(KeyError::NotBuilt)
    }
}

/// The magnitude of a non-negative `mpint` in its minimal encoding (RFC 4251 §5): no
/// negative numbers, no superfluous leading zero byte.
pub(crate) fn mpint(v: &[u8]) -> Result<&[u8], KeyError> {
    match v {
        [] => Ok(v),
        [first, ..] if first & 0x80 != 0 => Err(KeyError::Malformed),
        [0, rest @ ..] if rest.first().is_none_or(|b| b & 0x80 == 0) => Err(KeyError::Malformed),
        [0, rest @ ..] => Ok(rest),
        _ => Ok(v),
    }
}

/// A magnitude (no leading zeros) as an mpint: a zero byte in front when the top bit is set.
fn vec_mpint(v: &mut Vec<u8>, magnitude: &[u8]) {
    let pad = magnitude.first().is_some_and(|b| b & 0x80 != 0);
    super::wire::vec_u32(v, (magnitude.len() + usize::from(pad)) as u32);
    if pad {
        v.push(0);
    }
    v.extend_from_slice(magnitude);
}

/// What a good signature reports: for a FIDO key the flags and counter it signed, which
/// the caller checks (`SK_USER_PRESENT` unless `no-touch-required`, `SK_USER_VERIFIED` with
/// `verify-required`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Signed {
    pub sk: Option<SkSigned>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SkSigned {
    pub flags: u8,
    pub counter: u32,
}

impl SkSigned {
    /// Does this signature satisfy the key's options? Presence is required unless
    /// `no-touch-required` (option or certificate extension); verification with
    /// `verify-required`.
    pub fn satisfies(&self, touch_required: bool, verify_required: bool) -> bool {
        (!touch_required || self.flags & SK_USER_PRESENT != 0)
            && (!verify_required || self.flags & SK_USER_VERIFIED != 0)
    }
}

/// Verifies `sig_blob` (string algorithm, then the algorithm's fields) over `msg` by `key`.
/// The blob's algorithm must be `alg`, and `alg` one `key` may use.
pub fn verify(
    key: &PublicKey<'_>,
    alg: SigAlg,
    msg: &[u8],
    sig_blob: &[u8],
) -> Result<Signed, KeyError> {
    if !alg.fits(key.kind()) {
        return Err(KeyError::WrongAlgorithm);
    }
    if sig_blob.len() > MAX_SIG_BLOB {
        return Err(KeyError::Malformed);
    }
    let mut r = Reader::new(sig_blob);
    if r.string()? != alg.name().as_bytes() {
        return Err(KeyError::WrongAlgorithm);
    }
    let sig = r.string()?;
    let signed = match *key {
        PublicKey::Ed25519(k) => {
            r.end()?;
            ed25519(&k, msg, sig)?;
            Signed::default()
        }
        #[cfg(feature = "rsa")]
        PublicKey::Rsa { e, n } => {
            r.end()?;
            rsa::verify(e, n, alg, msg, sig)?;
            Signed::default()
        }
        #[cfg(feature = "ecdsa")]
        PublicKey::Ecdsa { curve, point } => {
            r.end()?;
            ecdsa::verify(curve, point, msg, sig)?;
            Signed::default()
        }
        #[cfg(feature = "sk")]
        PublicKey::SkEd25519 { key, application } => {
            let sk = sk::trailer(&mut r)?;
            let data = sk::signed_data(application, sk, msg);
            ed25519(&key, &data, sig)?;
            Signed { sk: Some(sk) }
        }
        #[cfg(all(feature = "sk", feature = "ecdsa"))]
        PublicKey::SkEcdsa { point, application } => {
            let sk = sk::trailer(&mut r)?;
            let data = sk::signed_data(application, sk, msg);
            ecdsa::verify(Curve::P256, point, &data, sig)?;
            Signed { sk: Some(sk) }
        }
        #[allow(unreachable_patterns)]
        _ => return Err(KeyError::NotBuilt),
    };
    Ok(signed)
}

/// Ed25519 through `crypto.rs` (which refuses a non-canonical s).
fn ed25519(key: &[u8; 32], msg: &[u8], sig: &[u8]) -> Result<(), KeyError> {
    let sig: &[u8; 64] = sig.try_into().map_err(|_| KeyError::Malformed)?;
    if super::crypto::verify_raw(key, msg, sig) {
        Ok(())
    } else {
        Err(KeyError::BadSignature)
    }
}

/// The signature algorithm a `publickey` request with algorithm name `pkalg` and key `key`
/// must carry, or None when the pair is not allowed: `pkalg` must name the key's own kind
/// (RFC 4252 §7), and for RSA one of the SHA-2 algorithms (RFC 8332; `ssh-rsa` is SHA-1 and
/// refused). For a certificate `pkalg` is the certificate form (`rsa-sha2-512-cert-v01@...`).
pub fn signature_alg(pkalg: &[u8], key: &UserKey<'_>) -> Option<SigAlg> {
    let (alg, cert) = SigAlg::from_request_name(pkalg)?;
    (cert == key.is_cert() && alg.fits(key.key().kind())).then_some(alg)
}

/// Entry point of the `userkey` fuzz target (fuzz/): a key blob (its length in the first two
/// bytes) and a signature blob (the rest) through `parse`, `signature_alg`, `verify` with
/// every algorithm, and for a certificate `check` under each principal rule.
#[cfg(feature = "fuzzing")]
pub fn fuzz(data: &[u8]) {
    let Some((len, rest)) = data.split_first_chunk::<2>() else {
        return;
    };
    let len = usize::from(u16::from_be_bytes(*len)).min(rest.len());
    let (blob, sig) = rest.split_at(len);
    let Ok(key) = parse(blob) else {
        return;
    };
    for (name, _, cert) in kinds::request_names() {
        if let Some(alg) = signature_alg(name.as_bytes(), &key) {
            assert_eq!(cert, key.is_cert());
            let _ = verify(key.key(), alg, b"message", sig);
        }
    }
    #[cfg(feature = "certs")]
    if let UserKey::Cert(c) = &key {
        for who in [
            Principals::User("root"),
            Principals::UserOrNone("root"),
            Principals::AnyOf("root,ops"),
        ] {
            let _ = c.check(1_767_225_600, who);
        }
    }
}
