//! Key exchange: KEXINIT negotiation, curve25519-sha256, the exchange hash, key derivation,
//! and the strict-kex and ext-info markers (RFC 4253 §7-8, RFC 8731, OpenSSH PROTOCOL).

use super::cipher::{Cipher, DirectionAlgs, KeyMaterial, CIPHERS, KEY_LEN, MACS};
use super::crypto::{SharedSecret, X25519Secret};
use super::msg;
use super::wire::{mpint_bytes, NameList, Reader, WireError, Writer};
use sha2::{Digest, Sha256};
use zeroize::Zeroize;

pub const KEX_ALGS: &[&str] = &["curve25519-sha256", "curve25519-sha256@libssh.org"];
pub const HOSTKEY_ALGS: &[&str] = &["ssh-ed25519"];
pub const STRICT_C: &str = "kex-strict-c-v00@openssh.com";
pub const EXT_INFO_C: &str = "ext-info-c";

/// What the server offers, in KEXINIT order.
const OFFER_KEX: &str =
    "curve25519-sha256,curve25519-sha256@libssh.org,kex-strict-s-v00@openssh.com";
const OFFER_HOSTKEY: &str = "ssh-ed25519";
/// The names of `cipher::CIPHERS` and `cipher::MACS` (a test keeps them in step).
#[cfg(feature = "aes")]
const OFFER_CIPHER: &str = "chacha20-poly1305@openssh.com,aes128-ctr,aes256-ctr,\
aes128-gcm@openssh.com,aes256-gcm@openssh.com";
#[cfg(feature = "aes")]
const OFFER_MAC: &str = "hmac-sha2-256-etm@openssh.com,hmac-sha2-512-etm@openssh.com,\
hmac-sha2-256,hmac-sha2-512";
#[cfg(not(feature = "aes"))]
const OFFER_CIPHER: &str = "chacha20-poly1305@openssh.com";
/// Without AES the only cipher is an AEAD and no MAC is ever used, but some clients refuse an
/// empty MAC list: one name stands in (negotiation ignores it, `-Q mac` does not list it).
#[cfg(not(feature = "aes"))]
const OFFER_MAC: &str = "hmac-sha2-256";
const OFFER_COMPRESSION: &str = "none";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KexError {
    Malformed,
    NoCommonKex,
    NoCommonHostKey,
    NoCommonCipher,
    NoCommonMac,
    NoCommonCompression,
    BadPublicKey,
}

impl From<WireError> for KexError {
    fn from(_: WireError) -> Self {
        KexError::Malformed
    }
}

impl KexError {
    pub fn text(self) -> &'static str {
        match self {
            KexError::Malformed => "malformed key exchange message",
            KexError::NoCommonKex => "no matching key exchange method",
            KexError::NoCommonHostKey => "no matching host key type",
            KexError::NoCommonCipher => "no matching cipher",
            KexError::NoCommonMac => "no matching MAC",
            KexError::NoCommonCompression => "no matching compression method",
            KexError::BadPublicKey => "bad ephemeral public key",
        }
    }
}

/// What the client's KEXINIT told us.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientOffer {
    pub strict: bool,
    pub ext_info: bool,
    /// The client sent a guessed kex packet that must be ignored (RFC 4253 §7).
    pub ignore_guess: bool,
    pub algs: Negotiated,
}

/// The cipher and MAC of each direction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Negotiated {
    pub c2s: DirectionAlgs,
    pub s2c: DirectionAlgs,
}

/// RFC 4253 §7.1, one direction: the first cipher on the client's list that quoll has, and
/// for a cipher that is not an AEAD the first such MAC (an AEAD's MAC list is ignored).
fn choose(enc: &NameList, mac: &NameList) -> Result<DirectionAlgs, KexError> {
    let cipher = enc
        .iter()
        .find_map(|n| CIPHERS.iter().find(|(ours, _)| *ours == n))
        .map(|&(_, c)| c)
        .ok_or(KexError::NoCommonCipher)?;
    let mac = if cipher.needs_mac() {
        let m = mac
            .iter()
            .find_map(|n| MACS.iter().find(|(ours, _)| *ours == n))
            .map(|&(_, m)| m)
            .ok_or(KexError::NoCommonMac)?;
        Some(m)
    } else {
        None
    };
    Ok(DirectionAlgs { cipher, mac })
}

/// Our KEXINIT payload, kept until the exchange hash has consumed it.
#[cfg_attr(any(test, feature = "fuzzing"), derive(Clone))]
pub struct OurInit {
    buf: [u8; 768],
    len: usize,
}

impl OurInit {
    pub fn build(cookie: [u8; 16]) -> Self {
        let mut buf = [0u8; 768];
        let len = {
            let mut w = Writer::new(&mut buf);
            // Cannot fail: the lists are constant and far below 768 bytes.
            let _ = (|| -> Result<(), WireError> {
                w.u8(msg::KEXINIT)?;
                w.raw(&cookie)?;
                for list in [
                    OFFER_KEX,
                    OFFER_HOSTKEY,
                    OFFER_CIPHER,
                    OFFER_CIPHER,
                    OFFER_MAC,
                    OFFER_MAC,
                    OFFER_COMPRESSION,
                    OFFER_COMPRESSION,
                    "",
                    "",
                ] {
                    w.string(list.as_bytes())?;
                }
                w.bool(false)?;
                w.u32(0)
            })();
            w.len()
        };
        OurInit { buf, len }
    }

    pub fn payload(&self) -> &[u8] {
        &self.buf[..self.len]
    }
}

/// Parses the client's KEXINIT and negotiates. `first` is true for the connection's first
/// key exchange: only then do the strict-kex and ext-info markers count.
pub fn negotiate(payload: &[u8], first: bool) -> Result<ClientOffer, KexError> {
    let mut r = Reader::new(payload);
    if r.u8()? != msg::KEXINIT {
        return Err(KexError::Malformed);
    }
    r.bytes(16)?;
    let kex = r.name_list()?;
    let hostkey = r.name_list()?;
    let enc_cs = r.name_list()?;
    let enc_sc = r.name_list()?;
    let mac_cs = r.name_list()?;
    let mac_sc = r.name_list()?;
    let comp_cs = r.name_list()?;
    let comp_sc = r.name_list()?;
    let _lang_cs = r.name_list()?;
    let _lang_sc = r.name_list()?;
    let follows = r.bool()?;
    let _reserved = r.u32()?;

    let chosen_kex = kex.first_common(KEX_ALGS).ok_or(KexError::NoCommonKex)?;
    let chosen_hk = hostkey
        .first_common(HOSTKEY_ALGS)
        .ok_or(KexError::NoCommonHostKey)?;
    let algs = Negotiated {
        c2s: choose(&enc_cs, &mac_cs)?,
        s2c: choose(&enc_sc, &mac_sc)?,
    };
    if !comp_cs.contains("none") || !comp_sc.contains("none") {
        return Err(KexError::NoCommonCompression);
    }
    // A guess is right only when both sides' first choices agree (RFC 4253 §7).
    let guess_right = kex.iter().next() == Some(chosen_kex)
        && KEX_ALGS.first() == Some(&chosen_kex)
        && hostkey.iter().next() == Some(chosen_hk);
    Ok(ClientOffer {
        strict: first && kex.contains(STRICT_C),
        ext_info: first && kex.contains(EXT_INFO_C),
        ignore_guess: follows && !guess_right,
        algs,
    })
}

fn hash_string(h: &mut Sha256, s: &[u8]) {
    h.update((s.len() as u32).to_be_bytes());
    h.update(s);
}

/// The exchange hash, started once both KEXINITs are known so that neither needs keeping.
#[cfg_attr(any(test, feature = "fuzzing"), derive(Clone))]
pub struct ExchangeHash(Sha256);

impl ExchangeHash {
    pub fn start(v_c: &[u8], v_s: &[u8], i_c: &[u8], i_s: &[u8], host_blob: &[u8]) -> Self {
        let mut h = Sha256::new();
        for s in [v_c, v_s, i_c, i_s, host_blob] {
            hash_string(&mut h, s);
        }
        ExchangeHash(h)
    }

    pub(crate) fn finish(mut self, q_c: &[u8], q_s: &[u8], k: &SharedSecret) -> [u8; 32] {
        hash_string(&mut self.0, q_c);
        hash_string(&mut self.0, q_s);
        mpint_bytes(&k.0, &mut |b| self.0.update(b));
        self.0.finalize().into()
    }
}

/// The result of the server's half of curve25519-sha256.
pub struct Exchange {
    pub q_s: [u8; 32],
    /// The exchange hash H (the session id on the first exchange).
    pub h: [u8; 32],
    pub keys: NewKeys,
}

/// The ciphers for both directions.
pub struct NewKeys {
    pub c2s: Cipher,
    pub s2c: Cipher,
}

impl NewKeys {
    /// Derives both directions' keys (RFC 4253 §7.2: IVs A/B, keys C/D, MAC keys E/F), each
    /// only when its cipher uses it.
    pub fn derive(
        k: &SharedSecret,
        h: &[u8; 32],
        sid: &[u8; 32],
        algs: Negotiated,
    ) -> Option<Self> {
        let one = |a: DirectionAlgs, iv: u8, key: u8, mac: u8| {
            let take = |used: bool, letter| {
                if used {
                    derive(k, h, letter, sid)
                } else {
                    [0; KEY_LEN]
                }
            };
            let mut iv = take(a.cipher.iv_len() > 0, iv);
            let mut key = take(true, key);
            let mut mac = take(a.mac.is_some(), mac);
            let c = Cipher::new(
                a,
                KeyMaterial {
                    iv: &iv,
                    key: &key,
                    mac: &mac,
                },
            );
            iv.zeroize();
            key.zeroize();
            mac.zeroize();
            c
        };
        Some(NewKeys {
            c2s: one(algs.c2s, b'A', b'C', b'E')?,
            s2c: one(algs.s2c, b'B', b'D', b'F')?,
        })
    }
}

/// Handles KEX_ECDH_INIT: returns Q_S, H and the derived keys. The caller signs H.
pub fn ecdh(
    hash: ExchangeHash,
    payload: &[u8],
    ephemeral: X25519Secret,
    session_id: Option<&[u8; 32]>,
    algs: Negotiated,
) -> Result<Exchange, KexError> {
    let mut r = Reader::new(payload);
    if r.u8()? != msg::KEX_ECDH_INIT {
        return Err(KexError::Malformed);
    }
    let q_c = r.string()?;
    r.end()?;
    let q_c: [u8; 32] = q_c.try_into().map_err(|_| KexError::BadPublicKey)?;
    let k = ephemeral.agree(&q_c).map_err(|_| KexError::BadPublicKey)?;
    let q_s = ephemeral.public_key();
    let h = hash.finish(&q_c, &q_s, &k);
    let sid = session_id.unwrap_or(&h);
    let keys = NewKeys::derive(&k, &h, sid, algs).ok_or(KexError::NoCommonMac)?;
    Ok(Exchange { q_s, h, keys })
}

/// RFC 4253 §7.2: HASH(K || H || letter || session_id), extended with HASH(K || H || K1).
pub(crate) fn derive(k: &SharedSecret, h: &[u8; 32], letter: u8, sid: &[u8; 32]) -> [u8; KEY_LEN] {
    let start = || {
        let mut d = Sha256::new();
        mpint_bytes(&k.0, &mut |b| d.update(b));
        d.update(h);
        d
    };
    let mut d = start();
    d.update([letter]);
    d.update(sid);
    let mut k1: [u8; 32] = d.finalize().into();
    let mut d = start();
    d.update(k1);
    let mut k2: [u8; 32] = d.finalize().into();
    let mut out = [0u8; KEY_LEN];
    out[..32].copy_from_slice(&k1);
    out[32..].copy_from_slice(&k2);
    k1.zeroize();
    k2.zeroize();
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A client's KEXINIT payload with these ten name-lists.
    fn kexinit_with(lists: [&str; 10], follows: bool) -> Vec<u8> {
        let mut v = vec![msg::KEXINIT];
        v.extend_from_slice(&[0u8; 16]);
        for l in lists {
            crate::proto::wire::vec_string(&mut v, l.as_bytes());
        }
        v.push(follows as u8);
        v.extend_from_slice(&[0; 4]);
        v
    }

    fn client_kexinit(kex: &str, hk: &str, cipher: &str, follows: bool) -> Vec<u8> {
        kexinit_with(
            [
                kex,
                hk,
                cipher,
                cipher,
                "hmac-sha2-256",
                "hmac-sha2-256",
                "none",
                "none",
                "",
                "",
            ],
            follows,
        )
    }

    #[test]
    fn negotiates_openssh_offer() {
        let p = client_kexinit(
            "sntrup761x25519-sha512@openssh.com,curve25519-sha256,ext-info-c,kex-strict-c-v00@openssh.com",
            "ssh-ed25519-cert-v01@openssh.com,ssh-ed25519,rsa-sha2-512",
            "chacha20-poly1305@openssh.com,aes128-ctr",
            false,
        );
        let o = negotiate(&p, true).unwrap();
        assert!(o.strict && o.ext_info && !o.ignore_guess);
        // Markers only count in the first exchange.
        let o = negotiate(&p, false).unwrap();
        assert!(!o.strict && !o.ext_info);
    }

    #[test]
    fn refuses_without_common_algorithms() {
        let p = client_kexinit(
            "diffie-hellman-group14-sha256",
            "ssh-ed25519",
            "chacha20-poly1305@openssh.com",
            false,
        );
        assert_eq!(negotiate(&p, true), Err(KexError::NoCommonKex));
        let p = client_kexinit(
            "curve25519-sha256",
            "rsa-sha2-256",
            "chacha20-poly1305@openssh.com",
            false,
        );
        assert_eq!(negotiate(&p, true), Err(KexError::NoCommonHostKey));
        let p = client_kexinit("curve25519-sha256", "ssh-ed25519", "aes256-cbc", false);
        assert_eq!(negotiate(&p, true), Err(KexError::NoCommonCipher));
    }

    #[test]
    fn wrong_guess_is_ignored() {
        let p = client_kexinit(
            "sntrup761x25519-sha512@openssh.com,curve25519-sha256",
            "ssh-ed25519",
            "chacha20-poly1305@openssh.com",
            true,
        );
        assert!(negotiate(&p, true).unwrap().ignore_guess);
        let p = client_kexinit(
            "curve25519-sha256",
            "ssh-ed25519",
            "chacha20-poly1305@openssh.com",
            true,
        );
        assert!(!negotiate(&p, true).unwrap().ignore_guess);
    }

    #[test]
    fn truncated_kexinit_is_malformed() {
        let p = client_kexinit(
            "curve25519-sha256",
            "ssh-ed25519",
            "chacha20-poly1305@openssh.com",
            false,
        );
        for n in 0..p.len() - 1 {
            assert!(negotiate(&p[..n], true).is_err());
        }
    }

    #[test]
    fn offer_lists_what_is_implemented() {
        let names: Vec<&str> = OFFER_CIPHER.split(',').collect();
        assert_eq!(names, crate::proto::cipher::CIPHER_NAMES);
        if !MACS.is_empty() {
            let names: Vec<&str> = OFFER_MAC.split(',').collect();
            assert_eq!(names, crate::proto::cipher::MAC_NAMES);
        }
    }

    /// RFC 4253 §7.1: per direction, the first of the client's ciphers that quoll has, and a
    /// MAC only for a cipher that is not an AEAD.
    #[cfg(feature = "aes")]
    #[test]
    fn negotiates_aes_per_direction() {
        use crate::proto::cipher::{AesKey, CipherAlg, MacAlg};
        let v = kexinit_with(
            [
                "curve25519-sha256",
                "ssh-ed25519",
                "aes192-ctr,aes256-gcm@openssh.com,aes128-ctr",
                "3des-cbc,aes128-ctr,chacha20-poly1305@openssh.com",
                "hmac-sha1",
                "umac-64@openssh.com,hmac-sha2-512,hmac-sha2-256-etm@openssh.com",
                "none",
                "none",
                "",
                "",
            ],
            false,
        );
        let o = negotiate(&v, true).unwrap();
        assert_eq!(o.algs.c2s.cipher, CipherAlg::AesGcm(AesKey::Aes256));
        assert_eq!(
            o.algs.c2s.mac, None,
            "GCM ignores the MAC list (hmac-sha1 only)"
        );
        assert_eq!(o.algs.s2c.cipher, CipherAlg::AesCtr(AesKey::Aes128));
        let mac = o.algs.s2c.mac.unwrap();
        assert_eq!((mac.alg, mac.etm), (MacAlg::HmacSha512, false));

        // CTR with no MAC in common is refused.
        let v = kexinit_with(
            [
                "curve25519-sha256",
                "ssh-ed25519",
                "aes128-ctr",
                "aes128-ctr",
                "hmac-sha1",
                "hmac-sha1",
                "none",
                "none",
                "",
                "",
            ],
            false,
        );
        assert_eq!(negotiate(&v, true), Err(KexError::NoCommonMac));
    }

    #[test]
    fn our_kexinit_parses() {
        let ours = OurInit::build([1; 16]);
        let o = negotiate(ours.payload(), true).unwrap();
        assert!(!o.strict);
    }
}
