//! X25519 and Ed25519 (curve25519-dalek with `fast-25519`, else salty) with the checks SSH
//! needs, and SSH blob encodings.

use super::wire::{Reader, Writer};
use sha2::{Digest, Sha256};
use zeroize::{Zeroize, ZeroizeOnDrop};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CryptoError {
    /// X25519 produced the all-zero secret (low-order peer point).
    ZeroSharedSecret,
    /// A signature or key is malformed or does not verify.
    BadSignature,
    /// AEAD tag mismatch.
    BadMac,
}

/// The SSH name of the one key type quoll speaks.
pub const ED25519_NAME: &[u8] = b"ssh-ed25519";
/// Length of an `ssh-ed25519` public key blob: string "ssh-ed25519" + string key.
pub const ED25519_BLOB_LEN: usize = 4 + 11 + 4 + 32;
/// Length of an `ssh-ed25519` signature blob: string "ssh-ed25519" + string sig.
pub const ED25519_SIG_BLOB_LEN: usize = 4 + 11 + 4 + 64;

/// The Ed25519 group order L, little-endian (RFC 8032 §5.1).
const GROUP_ORDER: [u8; 32] = [
    0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde, 0x14,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10,
];

/// An ephemeral X25519 secret, zeroized on drop.
#[derive(Zeroize, ZeroizeOnDrop)]
pub struct X25519Secret([u8; 32]);

/// A shared secret, zeroized on drop.
#[derive(Zeroize, ZeroizeOnDrop)]
pub struct SharedSecret(pub [u8; 32]);

impl X25519Secret {
    /// From 32 random bytes (clamping is applied by the scalar multiplication).
    pub fn from_random(bytes: [u8; 32]) -> Self {
        X25519Secret(bytes)
    }

    #[cfg(not(feature = "fast-25519"))]
    pub fn public_key(&self) -> [u8; 32] {
        salty::agreement::SecretKey::from_seed(&self.0)
            .public()
            .to_bytes()
    }

    #[cfg(feature = "fast-25519")]
    pub fn public_key(&self) -> [u8; 32] {
        curve25519_dalek::montgomery::MontgomeryPoint::mul_base_clamped(self.0).to_bytes()
    }

    /// Rejects the all-zero result (RFC 7748 §6.1, RFC 8731 §3).
    pub fn agree(&self, peer_public: &[u8; 32]) -> Result<SharedSecret, CryptoError> {
        #[cfg(not(feature = "fast-25519"))]
        let shared = {
            let ours = salty::agreement::SecretKey::from_seed(&self.0);
            let theirs = salty::agreement::PublicKey::from(*peer_public);
            SharedSecret(ours.agree(&theirs).to_bytes())
        };
        #[cfg(feature = "fast-25519")]
        let shared = SharedSecret(
            curve25519_dalek::montgomery::MontgomeryPoint(*peer_public)
                .mul_clamped(self.0)
                .to_bytes(),
        );
        // OR of all bytes, so the check takes the same time whatever the secret is.
        if shared.0.iter().fold(0u8, |acc, b| acc | b) == 0 {
            return Err(CryptoError::ZeroSharedSecret);
        }
        Ok(shared)
    }
}

/// An Ed25519 signing key (host key); the seed is zeroized on drop.
pub struct Ed25519Key {
    seed: [u8; 32],
    /// Both crates zeroize their secret half on drop.
    #[cfg(not(feature = "fast-25519"))]
    pair: salty::Keypair,
    #[cfg(feature = "fast-25519")]
    pair: ed25519_dalek::SigningKey,
}

impl Drop for Ed25519Key {
    fn drop(&mut self) {
        self.seed.zeroize();
    }
}

/// Shows the public key only, so a key never ends up in a log by accident.
impl core::fmt::Debug for Ed25519Key {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "Ed25519Key(public ")?;
        for b in self.public_key() {
            write!(f, "{b:02x}")?;
        }
        write!(f, ")")
    }
}

impl Ed25519Key {
    pub fn from_seed(seed: &[u8; 32]) -> Self {
        Ed25519Key {
            seed: *seed,
            #[cfg(not(feature = "fast-25519"))]
            pair: salty::Keypair::from(seed),
            #[cfg(feature = "fast-25519")]
            pair: ed25519_dalek::SigningKey::from_bytes(seed),
        }
    }

    pub fn seed(&self) -> &[u8; 32] {
        &self.seed
    }

    #[cfg(not(feature = "fast-25519"))]
    pub fn public_key(&self) -> [u8; 32] {
        self.pair.public.to_bytes()
    }

    #[cfg(not(feature = "fast-25519"))]
    pub fn sign(&self, msg: &[u8]) -> [u8; 64] {
        self.pair.sign(msg).to_bytes()
    }

    #[cfg(feature = "fast-25519")]
    pub fn public_key(&self) -> [u8; 32] {
        self.pair.verifying_key().to_bytes()
    }

    #[cfg(feature = "fast-25519")]
    pub fn sign(&self, msg: &[u8]) -> [u8; 64] {
        use ed25519_dalek::Signer;
        self.pair.sign(msg).to_bytes()
    }

    /// The SSH public key blob: string "ssh-ed25519", string key.
    pub fn public_blob(&self) -> [u8; ED25519_BLOB_LEN] {
        public_blob(&self.public_key())
    }

    /// The SSH signature blob over `msg`: string "ssh-ed25519", string signature.
    pub fn sign_blob(&self, msg: &[u8]) -> [u8; ED25519_SIG_BLOB_LEN] {
        let mut out = [0u8; ED25519_SIG_BLOB_LEN];
        write_typed(&mut out, &self.sign(msg));
        out
    }
}

/// Writes string "ssh-ed25519", string `data` into `out`, which is exactly that long.
fn write_typed(out: &mut [u8], data: &[u8]) {
    let mut w = Writer::new(out);
    // The callers size `out` from the constants above, so neither write can run out of room.
    let ok = w.string(ED25519_NAME).is_ok() && w.string(data).is_ok();
    debug_assert!(ok && w.len() == 4 + ED25519_NAME.len() + 4 + data.len());
}

/// Reads string "ssh-ed25519", string of exactly N bytes, and nothing after.
fn read_typed<const N: usize>(blob: &[u8]) -> Result<[u8; N], CryptoError> {
    let mut r = Reader::new(blob);
    let bad = |_| CryptoError::BadSignature;
    if r.string().map_err(bad)? != ED25519_NAME {
        return Err(CryptoError::BadSignature);
    }
    let data = r.string().map_err(bad)?;
    r.end().map_err(bad)?;
    data.try_into().map_err(|_| CryptoError::BadSignature)
}

pub fn public_blob(key: &[u8; 32]) -> [u8; ED25519_BLOB_LEN] {
    let mut out = [0u8; ED25519_BLOB_LEN];
    write_typed(&mut out, key);
    out
}

/// Parses an `ssh-ed25519` public key blob.
pub fn parse_public_blob(blob: &[u8]) -> Result<[u8; 32], CryptoError> {
    read_typed(blob)
}

/// True when the little-endian scalar `s` is below the group order L (RFC 8032 §5.1.7).
fn is_canonical_scalar(s: &[u8; 32]) -> bool {
    // Compare from the most significant byte down; public data, so no constant time needed.
    for (a, l) in s.iter().rev().zip(GROUP_ORDER.iter().rev()) {
        if a != l {
            return a < l;
        }
    }
    false
}

/// Verifies an `ssh-ed25519` signature blob (string "ssh-ed25519", string sig) over `msg`.
/// Rejects a non-canonical s (s >= L) before asking salty.
pub fn verify_sig_blob(public: &[u8; 32], msg: &[u8], sig_blob: &[u8]) -> bool {
    let Ok(sig) = read_typed::<64>(sig_blob) else {
        return false;
    };
    verify_raw(public, msg, &sig)
}

/// Verifies a bare 64-byte Ed25519 signature over `msg`; a non-canonical s is refused.
pub fn verify_raw(public: &[u8; 32], msg: &[u8], sig: &[u8; 64]) -> bool {
    let mut s = [0u8; 32];
    s.copy_from_slice(&sig[32..]);
    // salty would accept s + L as the same signature: malleable, so refuse it here (for
    // either crate, so both refuse the same signatures).
    if !is_canonical_scalar(&s) {
        return false;
    }
    #[cfg(not(feature = "fast-25519"))]
    {
        let Ok(key) = salty::PublicKey::try_from(public) else {
            return false;
        };
        key.verify(msg, &salty::Signature::from(sig)).is_ok()
    }
    #[cfg(feature = "fast-25519")]
    {
        use ed25519_dalek::Verifier;
        let Ok(key) = ed25519_dalek::VerifyingKey::from_bytes(public) else {
            return false;
        };
        key.verify(msg, &ed25519_dalek::Signature::from_bytes(sig))
            .is_ok()
    }
}

/// `SHA256:` + unpadded base64 of SHA-256(blob), as `ssh-keygen -l` prints it.
pub fn fingerprint(blob: &[u8]) -> String {
    let digest = Sha256::digest(blob);
    format!("SHA256:{}", crate::base64::encode_unpadded(&digest))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex<const N: usize>(s: &str) -> [u8; N] {
        let v: Vec<u8> = (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect();
        v.try_into().unwrap()
    }

    fn x25519(scalar: &str, u: &str) -> Result<SharedSecret, CryptoError> {
        X25519Secret::from_random(hex(scalar)).agree(&hex(u))
    }

    #[test]
    fn x25519_rfc7748_section_5_2() {
        let out = x25519(
            "a546e36bf0527c9d3b16154b82465edd62144c0ac1fc5a18506a2244ba449ac4",
            "e6db6867583030db3594c1a424b15f7c726624ec26b3353b10a903a6d0ab1c4c",
        );
        assert_eq!(
            out.unwrap().0,
            hex::<32>("c3da55379de9c6908e94ea4df28d084f32eccf03491c71f754b4075577a28552")
        );
        let out = x25519(
            "4b66e9d4d1b4673c5ad22691957d6af5c11b6421e0ea01d42ca4169e7918ba0d",
            "e5210f12786811d3f4b7959d0538ae2c31dbe7106fc03c3efc4cd549c715a493",
        );
        assert_eq!(
            out.unwrap().0,
            hex::<32>("95cbde9476e8907d7aade45cb4b873f88b595a68799fa152e6f8f7647aac7957")
        );
    }

    #[test]
    fn x25519_rfc7748_section_6_1() {
        let a = X25519Secret::from_random(hex(
            "77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a",
        ));
        let b = X25519Secret::from_random(hex(
            "5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb",
        ));
        let a_pub = a.public_key();
        let b_pub = b.public_key();
        assert_eq!(
            a_pub,
            hex::<32>("8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a")
        );
        assert_eq!(
            b_pub,
            hex::<32>("de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f")
        );
        let k = hex::<32>("4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742");
        assert_eq!(a.agree(&b_pub).unwrap().0, k);
        assert_eq!(b.agree(&a_pub).unwrap().0, k);
    }

    #[test]
    fn x25519_low_order_points_rejected() {
        let me = X25519Secret::from_random([7; 32]);
        // u = 0 and u = 1 are of low order: the result is all zeros.
        assert_eq!(
            me.agree(&[0; 32]).err(),
            Some(CryptoError::ZeroSharedSecret)
        );
        let mut one = [0u8; 32];
        one[0] = 1;
        assert_eq!(me.agree(&one).err(), Some(CryptoError::ZeroSharedSecret));
    }

    /// RFC 8032 §7.1 tests 1-3: (secret, public, message, signature).
    const RFC8032: [(&str, &str, &str, &str); 3] = [
        (
            "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
            "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a",
            "",
            "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b",
        ),
        (
            "4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb",
            "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c",
            "72",
            "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00",
        ),
        (
            "c5aa8df43f9f837bedb7442f31dcb7b166d38535076f094b85ce3a2e0b4458f7",
            "fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025",
            "af82",
            "6291d657deec24024827e69c3abe01a30ce548a284743a445e3680d7db5ac3ac18ff9b538d16f290ae67f760984dc6594a7c15e9716ed28dc027beceea1ec40a",
        ),
    ];

    fn msg_bytes(m: &str) -> Vec<u8> {
        (0..m.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&m[i..i + 2], 16).unwrap())
            .collect()
    }

    fn sig_blob(sig: &[u8; 64]) -> [u8; ED25519_SIG_BLOB_LEN] {
        let mut out = [0u8; ED25519_SIG_BLOB_LEN];
        write_typed(&mut out, sig);
        out
    }

    #[test]
    fn ed25519_rfc8032_vectors() {
        for (secret, public, msg, sig) in RFC8032 {
            let key = Ed25519Key::from_seed(&hex(secret));
            let msg = msg_bytes(msg);
            let sig = hex::<64>(sig);
            assert_eq!(key.public_key(), hex::<32>(public));
            assert_eq!(key.sign(&msg), sig);
            assert_eq!(key.sign_blob(&msg), sig_blob(&sig));
            assert!(verify_sig_blob(
                &key.public_key(),
                &msg,
                &key.sign_blob(&msg)
            ));
        }
    }

    #[test]
    fn ed25519_flipped_bit_fails() {
        let (secret, _, msg, _) = RFC8032[2];
        let key = Ed25519Key::from_seed(&hex(secret));
        let msg = msg_bytes(msg);
        let good = key.sign_blob(&msg);
        // One bit in every byte of the signature (salty is slow in debug builds, so not
        // every bit), then a bit of the message and of the key.
        for i in 19..ED25519_SIG_BLOB_LEN {
            let mut bad = good;
            bad[i] ^= 1 << (i % 8);
            assert!(!verify_sig_blob(&key.public_key(), &msg, &bad), "byte {i}");
        }
        let mut bad_msg = msg.clone();
        bad_msg[0] ^= 1;
        assert!(!verify_sig_blob(&key.public_key(), &bad_msg, &good));
        let mut bad_key = key.public_key();
        bad_key[0] ^= 1;
        assert!(!verify_sig_blob(&bad_key, &msg, &good));
    }

    /// Adds L to the little-endian scalar in `s`.
    fn add_group_order(s: &mut [u8]) {
        let mut carry = 0u16;
        for (b, l) in s.iter_mut().zip(GROUP_ORDER) {
            let sum = *b as u16 + l as u16 + carry;
            *b = sum as u8;
            carry = sum >> 8;
        }
        assert_eq!(carry, 0);
    }

    #[test]
    fn ed25519_s_plus_l_rejected() {
        for (secret, _, msg, _) in RFC8032 {
            let key = Ed25519Key::from_seed(&hex(secret));
            let msg = msg_bytes(msg);
            let mut sig = key.sign(&msg);
            add_group_order(&mut sig[32..]);
            assert!(!verify_sig_blob(&key.public_key(), &msg, &sig_blob(&sig)));
        }
        assert!(!is_canonical_scalar(&GROUP_ORDER));
        let mut below = GROUP_ORDER;
        below[0] -= 1;
        assert!(is_canonical_scalar(&below));
    }

    #[test]
    fn malformed_blobs_rejected() {
        let key = Ed25519Key::from_seed(&[1; 32]);
        let good = key.sign_blob(b"m");
        assert!(verify_sig_blob(&key.public_key(), b"m", &good));
        // Truncated at every length, and one byte too long.
        for n in 0..good.len() {
            assert!(!verify_sig_blob(&key.public_key(), b"m", &good[..n]));
        }
        let mut long = good.to_vec();
        long.push(0);
        assert!(!verify_sig_blob(&key.public_key(), b"m", &long));
        // Another type name of the same length.
        let mut other = good;
        other[4..15].copy_from_slice(b"ssh-ed25518");
        assert!(!verify_sig_blob(&key.public_key(), b"m", &other));

        let blob = key.public_blob();
        assert_eq!(parse_public_blob(&blob), Ok(key.public_key()));
        for n in 0..blob.len() {
            assert!(parse_public_blob(&blob[..n]).is_err());
        }
        let mut long = blob.to_vec();
        long.push(0);
        assert!(parse_public_blob(&long).is_err());
        let mut rsa = Vec::new();
        crate::proto::wire::vec_string(&mut rsa, b"ssh-rsa");
        crate::proto::wire::vec_string(&mut rsa, &[0; 32]);
        assert!(parse_public_blob(&rsa).is_err());
    }

    #[test]
    fn fingerprint_format() {
        // SHA-256 of the empty string, printed the way ssh-keygen prints fingerprints.
        assert_eq!(
            fingerprint(b""),
            "SHA256:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU"
        );
    }
}
