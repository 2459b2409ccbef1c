//! RSA: `ssh-rsa` keys (RFC 4253 §6.6) with `rsa-sha2-256` / `rsa-sha2-512` signatures
//! (RFC 8332, RSASSA-PKCS1-v1_5 of RFC 8017 §8.2), verified by the `rsa` crate.
//!
//! The key is checked here before any big integer exists: 2048 to 8192 bits, odd modulus,
//! exponent odd, at least 3, at most 2^33-1 (the `rsa` crate's bound; real keys use 65537)
//! and below the modulus. The crate's `BoxedUint`s are heap-allocated, sized by the modulus:
//! with the 8192-bit cap one verification holds a few KiB while it runs.

use super::{KeyError, SigAlg, RSA_MAX_BITS, RSA_MIN_BITS};
use rsa::{BoxedUint, Pkcs1v15Sign};
use sha2::{Digest, Sha256, Sha512};

/// DER DigestInfo prefixes of RFC 8017 §9.2, note 1.
const SHA256_PREFIX: [u8; 19] = [
    0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01, 0x05,
    0x00, 0x04, 0x20,
];
const SHA512_PREFIX: [u8; 19] = [
    0x30, 0x51, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x03, 0x05,
    0x00, 0x04, 0x40,
];

/// The bit length of a big-endian magnitude without leading zeros.
pub(super) fn bits(v: &[u8]) -> usize {
    match v.first() {
        None => 0,
        Some(&b) => v.len() * 8 - b.leading_zeros() as usize,
    }
}

/// The checks a key gets at parse (magnitudes from `mpint`: no leading zeros).
pub(super) fn check_key(e: &[u8], n: &[u8]) -> Result<(), KeyError> {
    let n_bits = bits(n);
    if n_bits < RSA_MIN_BITS {
        return Err(KeyError::RsaTooSmall(n_bits));
    }
    if n_bits > RSA_MAX_BITS {
        return Err(KeyError::RsaTooLarge(n_bits));
    }
    if n.last().is_none_or(|b| b & 1 == 0) {
        return Err(KeyError::RsaEvenModulus);
    }
    // e >= 3, odd, at most 33 bits; and shorter than n (so below it).
    let e_ok = e.last().is_some_and(|b| b & 1 == 1)
        && (e.len() > 1 || e[0] >= 3)
        && bits(e) <= 33
        && bits(e) < n_bits;
    if !e_ok {
        return Err(KeyError::RsaBadExponent);
    }
    Ok(())
}

/// Verifies the raw signature `sig` (the string inside the signature blob) over `msg`.
/// A signature shorter than the modulus is padded with leading zeros, as OpenSSH does.
pub(super) fn verify(
    e: &[u8],
    n: &[u8],
    alg: SigAlg,
    msg: &[u8],
    sig: &[u8],
) -> Result<(), KeyError> {
    check_key(e, n)?;
    let k = n.len();
    if sig.len() > k {
        return Err(KeyError::Malformed);
    }
    let mut padded = [0u8; RSA_MAX_BITS / 8];
    padded[k - sig.len()..k].copy_from_slice(sig);
    let (scheme, hashed): (Pkcs1v15Sign, &[u8]) = match alg {
        SigAlg::RsaSha256 => (scheme(&SHA256_PREFIX, 32), &Sha256::digest(msg)[..]),
        SigAlg::RsaSha512 => (scheme(&SHA512_PREFIX, 64), &Sha512::digest(msg)[..]),
        _ => return Err(KeyError::WrongAlgorithm),
    };
    let precision = (k * 8) as u32;
    let big = |v: &[u8]| BoxedUint::from_be_slice(v, precision).map_err(|_| KeyError::Malformed);
    let key = rsa::PublicKey::new_with_size_limits(big(n)?, big(e)?, RSA_MIN_BITS..=RSA_MAX_BITS)
        .map_err(|_| KeyError::RsaBadExponent)?;
    key.verify(scheme, hashed, &padded[..k])
        .map_err(|_| KeyError::BadSignature)
}

fn scheme(prefix: &[u8], hash_len: usize) -> Pkcs1v15Sign {
    Pkcs1v15Sign {
        hash_len: Some(hash_len),
        prefix: prefix.into(),
    }
}
