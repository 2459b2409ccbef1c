//! The packet ciphers of one direction and their names. The implementations live in the
//! `quoll-aead` workspace crate, which is compiled for speed while the rest of quoll is
//! compiled for size.
//!
//! chacha20-poly1305@openssh.com always; with the `aes` feature also aes128/256-ctr with
//! HMAC-SHA2 (encrypt-then-MAC and encrypt-and-MAC) and aes128/256-gcm@openssh.com, for the
//! clients that have no ChaCha20 (paramiko, libssh2, JSch); with only `aes-ctr` (small builds)
//! aes128-ctr with hmac-sha2-256 and its EtM form, what those clients choose first.

#[cfg(feature = "aes")]
pub use quoll_aead::Gcm;
#[cfg(feature = "aes-ctr")]
pub use quoll_aead::{AesKey, CtrHmac, MacAlg};
pub use quoll_aead::{BadTag, ChaChaPoly, KEY_LEN, TAG_LEN};

/// The longest MAC or tag after a packet.
#[cfg(feature = "aes-ctr")]
pub const MAX_TAG_LEN: usize = quoll_aead::MAX_MAC_LEN;
#[cfg(not(feature = "aes-ctr"))]
pub const MAX_TAG_LEN: usize = TAG_LEN;

/// A negotiated cipher.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CipherAlg {
    ChaChaPoly,
    #[cfg(feature = "aes-ctr")]
    AesCtr(AesKey),
    #[cfg(feature = "aes")]
    AesGcm(AesKey),
}

/// A negotiated MAC (for the CTR ciphers only).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MacChoice {
    #[cfg(feature = "aes-ctr")]
    pub alg: MacAlg,
    /// Encrypt-then-MAC (`*-etm@openssh.com`).
    pub etm: bool,
}

/// The ciphers quoll has, in the order it offers them: chacha20-poly1305 first, then
/// OpenSSH's order.
pub const CIPHERS: &[(&str, CipherAlg)] = &[
    ("chacha20-poly1305@openssh.com", CipherAlg::ChaChaPoly),
    #[cfg(feature = "aes-ctr")]
    ("aes128-ctr", CipherAlg::AesCtr(AesKey::Aes128)),
    #[cfg(feature = "aes")]
    ("aes256-ctr", CipherAlg::AesCtr(AesKey::Aes256)),
    #[cfg(feature = "aes")]
    ("aes128-gcm@openssh.com", CipherAlg::AesGcm(AesKey::Aes128)),
    #[cfg(feature = "aes")]
    ("aes256-gcm@openssh.com", CipherAlg::AesGcm(AesKey::Aes256)),
];

/// The names of `CIPHERS` and `MACS` alone, for `quoll -Q` (a test keeps them in step).
pub const CIPHER_NAMES: &[&str] = &[
    "chacha20-poly1305@openssh.com",
    #[cfg(feature = "aes-ctr")]
    "aes128-ctr",
    #[cfg(feature = "aes")]
    "aes256-ctr",
    #[cfg(feature = "aes")]
    "aes128-gcm@openssh.com",
    #[cfg(feature = "aes")]
    "aes256-gcm@openssh.com",
];
pub const MAC_NAMES: &[&str] = &[
    #[cfg(feature = "aes-ctr")]
    "hmac-sha2-256-etm@openssh.com",
    #[cfg(feature = "aes")]
    "hmac-sha2-512-etm@openssh.com",
    #[cfg(feature = "aes-ctr")]
    "hmac-sha2-256",
    #[cfg(feature = "aes")]
    "hmac-sha2-512",
];

/// The MACs quoll has, EtM first (OpenSSH's order).
#[cfg(feature = "aes-ctr")]
pub const MACS: &[(&str, MacChoice)] = &[
    (
        "hmac-sha2-256-etm@openssh.com",
        MacChoice {
            alg: MacAlg::HmacSha256,
            etm: true,
        },
    ),
    #[cfg(feature = "aes")]
    (
        "hmac-sha2-512-etm@openssh.com",
        MacChoice {
            alg: MacAlg::HmacSha512,
            etm: true,
        },
    ),
    (
        "hmac-sha2-256",
        MacChoice {
            alg: MacAlg::HmacSha256,
            etm: false,
        },
    ),
    #[cfg(feature = "aes")]
    (
        "hmac-sha2-512",
        MacChoice {
            alg: MacAlg::HmacSha512,
            etm: false,
        },
    ),
];
#[cfg(not(feature = "aes-ctr"))]
pub const MACS: &[(&str, MacChoice)] = &[];

impl CipherAlg {
    /// AEADs authenticate themselves: no MAC is negotiated for them.
    pub fn needs_mac(self) -> bool {
        #[cfg(feature = "aes-ctr")]
        if let CipherAlg::AesCtr(_) = self {
            return true;
        }
        false
    }

    /// IV bytes taken from the key derivation (letters A and B).
    pub fn iv_len(self) -> usize {
        match self {
            CipherAlg::ChaChaPoly => 0,
            #[cfg(feature = "aes-ctr")]
            CipherAlg::AesCtr(_) => quoll_aead::CTR_IV_LEN,
            #[cfg(feature = "aes")]
            CipherAlg::AesGcm(_) => quoll_aead::GCM_IV_LEN,
        }
    }
}

/// The cipher and MAC of one direction, as negotiated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DirectionAlgs {
    pub cipher: CipherAlg,
    /// `Some` exactly when `cipher.needs_mac()`.
    pub mac: Option<MacChoice>,
}

/// The keying material of one direction from the key derivation (RFC 4253 §7.2): each is as
/// long as the longest use (64 bytes: chacha20-poly1305's key, HMAC-SHA-512's key).
pub struct KeyMaterial<'a> {
    pub iv: &'a [u8; KEY_LEN],
    pub key: &'a [u8; KEY_LEN],
    pub mac: &'a [u8; KEY_LEN],
}

/// One direction's cipher state. The AES variants keep their expanded keys and HMAC states
/// inline (up to 912 bytes): part of the connection's fixed, budgeted size, with no
/// allocation at a rekey, rather than boxed outside the budget.
#[cfg_attr(any(test, feature = "fuzzing"), derive(Clone))]
#[allow(clippy::large_enum_variant)]
pub enum Cipher {
    ChaChaPoly(ChaChaPoly),
    #[cfg(feature = "aes-ctr")]
    CtrHmac(CtrHmac),
    #[cfg(feature = "aes")]
    Gcm(Gcm),
}

impl Cipher {
    /// `None` if a CTR cipher comes without a MAC (negotiation never does that).
    pub fn new(algs: DirectionAlgs, k: KeyMaterial) -> Option<Cipher> {
        #[cfg(not(feature = "aes-ctr"))]
        let _ = (algs, k.iv, k.mac);
        match algs.cipher {
            CipherAlg::ChaChaPoly => Some(Cipher::ChaChaPoly(ChaChaPoly::new(k.key))),
            #[cfg(feature = "aes-ctr")]
            CipherAlg::AesCtr(aes) => {
                let mut iv = [0u8; quoll_aead::CTR_IV_LEN];
                iv.copy_from_slice(&k.iv[..quoll_aead::CTR_IV_LEN]);
                let mac = algs.mac?;
                let c = CtrHmac::new(aes, k.key, &iv, mac.alg, k.mac, mac.etm);
                zeroize::Zeroize::zeroize(&mut iv);
                c.map(Cipher::CtrHmac)
            }
            #[cfg(feature = "aes")]
            CipherAlg::AesGcm(aes) => {
                let mut iv = [0u8; quoll_aead::GCM_IV_LEN];
                iv.copy_from_slice(&k.iv[..quoll_aead::GCM_IV_LEN]);
                let c = Gcm::new(aes, k.key, &iv);
                zeroize::Zeroize::zeroize(&mut iv);
                c.map(Cipher::Gcm)
            }
        }
    }

    /// Bytes of MAC or tag after each packet.
    pub fn tag_len(&self) -> usize {
        match self {
            Cipher::ChaChaPoly(_) => TAG_LEN,
            #[cfg(feature = "aes-ctr")]
            Cipher::CtrHmac(c) => c.mac_len(),
            #[cfg(feature = "aes")]
            Cipher::Gcm(_) => quoll_aead::GCM_TAG_LEN,
        }
    }

    /// What the padded part of a packet is a multiple of.
    pub fn block(&self) -> usize {
        match self {
            Cipher::ChaChaPoly(_) => 8,
            #[cfg(feature = "aes-ctr")]
            _ => quoll_aead::AES_BLOCK,
        }
    }

    /// The length field is outside the padded, encrypted block: it is either encrypted on its
    /// own (chacha20-poly1305) or sent in clear (EtM, GCM). Only encrypt-and-MAC encrypts it
    /// with the rest.
    pub fn length_outside(&self) -> bool {
        match self {
            #[cfg(feature = "aes-ctr")]
            Cipher::CtrHmac(c) => c.etm(),
            _ => true,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn name_lists_in_step() {
        let names: Vec<&str> = CIPHERS.iter().map(|c| c.0).collect();
        assert_eq!(names, CIPHER_NAMES);
        let names: Vec<&str> = MACS.iter().map(|c| c.0).collect();
        assert_eq!(names, MAC_NAMES);
        assert_eq!(CIPHER_NAMES[0], "chacha20-poly1305@openssh.com");
    }
}
