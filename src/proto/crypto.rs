//! X25519 and Ed25519 (salty) with the checks SSH needs, and SSH blob encodings.
//! STUB: signatures fixed, bodies to be written.

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

/// Length of an `ssh-ed25519` public key blob: string "ssh-ed25519" + string key.
pub const ED25519_BLOB_LEN: usize = 4 + 11 + 4 + 32;
/// Length of an `ssh-ed25519` signature blob: string "ssh-ed25519" + string sig.
pub const ED25519_SIG_BLOB_LEN: usize = 4 + 11 + 4 + 64;

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

    pub fn public_key(&self) -> [u8; 32] {
        todo!()
    }

    /// Rejects the all-zero result (RFC 7748 §6.1, RFC 8731 §3).
    pub fn agree(&self, peer_public: &[u8; 32]) -> Result<SharedSecret, CryptoError> {
        let _ = peer_public;
        todo!()
    }
}

/// An Ed25519 signing key (host key); the seed is zeroized on drop.
pub struct Ed25519Key {
    _private: (),
}

impl Ed25519Key {
    pub fn from_seed(seed: &[u8; 32]) -> Self {
        let _ = seed;
        todo!()
    }

    pub fn seed(&self) -> &[u8; 32] {
        todo!()
    }

    pub fn public_key(&self) -> [u8; 32] {
        todo!()
    }

    pub fn sign(&self, msg: &[u8]) -> [u8; 64] {
        let _ = msg;
        todo!()
    }

    /// The SSH public key blob: string "ssh-ed25519", string key.
    pub fn public_blob(&self) -> [u8; ED25519_BLOB_LEN] {
        public_blob(&self.public_key())
    }

    /// The SSH signature blob over `msg`: string "ssh-ed25519", string signature.
    pub fn sign_blob(&self, msg: &[u8]) -> [u8; ED25519_SIG_BLOB_LEN] {
        let _ = msg;
        todo!()
    }
}

pub fn public_blob(key: &[u8; 32]) -> [u8; ED25519_BLOB_LEN] {
    let _ = key;
    todo!()
}

/// Parses an `ssh-ed25519` public key blob.
pub fn parse_public_blob(blob: &[u8]) -> Result<[u8; 32], CryptoError> {
    let _ = blob;
    todo!()
}

/// Verifies an `ssh-ed25519` signature blob (string "ssh-ed25519", string sig) over `msg`.
/// Rejects a non-canonical s (s >= L) before asking salty.
pub fn verify_sig_blob(public: &[u8; 32], msg: &[u8], sig_blob: &[u8]) -> bool {
    let _ = (public, msg, sig_blob);
    todo!()
}

/// `SHA256:` + unpadded base64 of SHA-256(blob), as `ssh-keygen -l` prints it.
pub fn fingerprint(blob: &[u8]) -> String {
    let _ = blob;
    todo!()
}
