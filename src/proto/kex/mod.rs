//! Key exchange: KEXINIT negotiation, mlkem768x25519-sha256 and curve25519-sha256, the
//! exchange hash, key derivation, and the strict-kex and ext-info markers (RFC 4253 §7-8,
//! RFC 8731, draft-ietf-sshm-mlkem-hybrid-kex, OpenSSH PROTOCOL).

use super::cipher::{Cipher, DirectionAlgs, KeyMaterial, CIPHERS, KEY_LEN, MACS};
use super::crypto::{SharedSecret, X25519Secret};
use super::msg;
use super::wire::{mpint_bytes, NameList, Reader, WireError, Writer};
use sha2::{Digest, Sha256};
use zeroize::Zeroize;

/// The key exchange methods, best first.
#[cfg(feature = "mlkem")]
pub const KEX_ALGS: &[&str] = &[
    "mlkem768x25519-sha256",
    "curve25519-sha256",
    "curve25519-sha256@libssh.org",
];
#[cfg(not(feature = "mlkem"))]
pub const KEX_ALGS: &[&str] = &["curve25519-sha256", "curve25519-sha256@libssh.org"];
pub const HOSTKEY_ALGS: &[&str] = &["ssh-ed25519"];
pub const STRICT_C: &str = "kex-strict-c-v00@openssh.com";
pub const EXT_INFO_C: &str = "ext-info-c";

/// What the server offers, in KEXINIT order.
#[cfg(feature = "mlkem")]
const OFFER_KEX: &str = "mlkem768x25519-sha256,curve25519-sha256,curve25519-sha256@libssh.org,\
kex-strict-s-v00@openssh.com";
#[cfg(not(feature = "mlkem"))]
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
#[cfg(all(feature = "aes-ctr", not(feature = "aes")))]
const OFFER_CIPHER: &str = "chacha20-poly1305@openssh.com,aes128-ctr";
#[cfg(all(feature = "aes-ctr", not(feature = "aes")))]
const OFFER_MAC: &str = "hmac-sha2-256-etm@openssh.com,hmac-sha2-256";
#[cfg(not(feature = "aes-ctr"))]
const OFFER_CIPHER: &str = "chacha20-poly1305@openssh.com";
/// Without AES the only cipher is an AEAD and no MAC is ever used, but some clients refuse an
/// empty MAC list: one name stands in (negotiation ignores it, `-Q mac` does not list it).
#[cfg(not(feature = "aes-ctr"))]
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
/// A key exchange method.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    /// curve25519-sha256 (and its libssh.org name): X25519, K an mpint.
    Curve25519,
    /// mlkem768x25519-sha256: ML-KEM-768 and X25519, K a string.
    #[cfg(feature = "mlkem")]
    MlKem768X25519,
}

impl Method {
    fn named(name: &str) -> Method {
        #[cfg(feature = "mlkem")]
        if name == "mlkem768x25519-sha256" {
            return Method::MlKem768X25519;
        }
        let _ = name;
        Method::Curve25519
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Negotiated {
    pub kex: Method,
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
        kex: Method::named(chosen_kex),
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

    pub(crate) fn finish(mut self, q_c: &[u8], q_s: &[u8], k: &Secret) -> [u8; 32] {
        hash_string(&mut self.0, q_c);
        hash_string(&mut self.0, q_s);
        k.encode(&mut |b| self.0.update(b));
        self.0.finalize().into()
    }
}

/// The shared secret K and how the exchange hash and the key derivation take it: an mpint
/// (curve25519-sha256, RFC 8731) or a string (mlkem768x25519-sha256, where K is itself a
/// SHA-256 output).
pub struct Secret {
    k: SharedSecret,
    as_string: bool,
}

impl Secret {
    pub fn mpint(k: SharedSecret) -> Self {
        Secret {
            k,
            as_string: false,
        }
    }

    pub fn string(k: SharedSecret) -> Self {
        Secret { k, as_string: true }
    }

    fn encode(&self, out: &mut impl FnMut(&[u8])) {
        if self.as_string {
            out(&(self.k.0.len() as u32).to_be_bytes());
            out(&self.k.0);
        } else {
            mpint_bytes(&self.k.0, out);
        }
    }
}

/// The longest server share: the ML-KEM-768 ciphertext and an X25519 key.
#[cfg(feature = "mlkem")]
pub const MAX_Q_S: usize = hybrid::CIPHERTEXT + 32;
#[cfg(not(feature = "mlkem"))]
pub const MAX_Q_S: usize = 32;

/// The result of the server's half of the exchange.
pub struct Exchange {
    /// The server's share (Q_S): an X25519 key, or the ML-KEM ciphertext and an X25519 key.
    pub q_s: heapless::Vec<u8, MAX_Q_S>,
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
    pub fn derive(k: &Secret, h: &[u8; 32], sid: &[u8; 32], algs: Negotiated) -> Option<Self> {
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

/// The server's side of the exchange (KEX_ECDH_INIT, or KEX_HYBRID_INIT which has the same
/// number): returns Q_S, H and the derived keys; the caller signs H. `ephemeral` is the X25519
/// key, `kem_seed` 32 fresh random bytes for ML-KEM's encapsulation (unused by curve25519).
pub fn ecdh(
    hash: ExchangeHash,
    payload: &[u8],
    ephemeral: X25519Secret,
    kem_seed: &[u8; 32],
    session_id: Option<&[u8; 32]>,
    algs: Negotiated,
) -> Result<Exchange, KexError> {
    let mut r = Reader::new(payload);
    if r.u8()? != msg::KEX_ECDH_INIT {
        return Err(KexError::Malformed);
    }
    let q_c = r.string()?;
    r.end()?;
    let (q_s, k) = match algs.kex {
        Method::Curve25519 => {
            let _ = kem_seed;
            let peer: [u8; 32] = q_c.try_into().map_err(|_| KexError::BadPublicKey)?;
            let k = ephemeral.agree(&peer).map_err(|_| KexError::BadPublicKey)?;
            let mut q_s = heapless::Vec::new();
            // Fits: MAX_Q_S >= 32.
            let _ = q_s.extend_from_slice(&ephemeral.public_key());
            (q_s, Secret::mpint(k))
        }
        #[cfg(feature = "mlkem")]
        Method::MlKem768X25519 => {
            let (q_s, k) = hybrid::encapsulate(q_c, kem_seed, &ephemeral)?;
            (q_s, Secret::string(k))
        }
    };
    let h = hash.finish(q_c, &q_s, &k);
    let sid = session_id.unwrap_or(&h);
    let keys = NewKeys::derive(&k, &h, sid, algs).ok_or(KexError::NoCommonMac)?;
    Ok(Exchange { q_s, h, keys })
}

/// RFC 4253 §7.2: HASH(K || H || letter || session_id), extended with HASH(K || H || K1).
pub(crate) fn derive(k: &Secret, h: &[u8; 32], letter: u8, sid: &[u8; 32]) -> [u8; KEY_LEN] {
    let start = || {
        let mut d = Sha256::new();
        k.encode(&mut |b| d.update(b));
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

/// mlkem768x25519-sha256 (draft-ietf-sshm-mlkem-hybrid-kex): the client's share is its
/// ML-KEM-768 encapsulation key followed by its X25519 key; ours is the ciphertext followed by
/// our X25519 key; K = SHA-256(ML-KEM secret || X25519 secret).
#[cfg(feature = "mlkem")]
mod hybrid {
    use super::{KexError, SharedSecret, X25519Secret, MAX_Q_S};
    use ml_kem::array::Array;
    use ml_kem::{EncapsulationKey768, B32};
    use sha2::{Digest, Sha256};
    use zeroize::Zeroize;

    pub const ENCAPSULATION_KEY: usize = 1184;
    pub const CIPHERTEXT: usize = 1088;

    pub fn encapsulate(
        q_c: &[u8],
        seed: &[u8; 32],
        ephemeral: &X25519Secret,
    ) -> Result<(heapless::Vec<u8, MAX_Q_S>, SharedSecret), KexError> {
        if q_c.len() != ENCAPSULATION_KEY + 32 {
            return Err(KexError::BadPublicKey);
        }
        let (ek, x) = q_c.split_at(ENCAPSULATION_KEY);
        let ek = Array::try_from(ek).map_err(|_| KexError::BadPublicKey)?;
        // FIPS 203 §7.2's input check (every coefficient below q) happens here.
        let ek = EncapsulationKey768::new(&ek).map_err(|_| KexError::BadPublicKey)?;
        let peer: [u8; 32] = x.try_into().map_err(|_| KexError::BadPublicKey)?;
        let classic = ephemeral.agree(&peer).map_err(|_| KexError::BadPublicKey)?;
        let mut m = B32::from(*seed);
        let (ct, mut pq) = ek.encapsulate_deterministic(&m);
        m.as_mut_slice().zeroize();
        let mut d = Sha256::new();
        d.update(pq.as_slice());
        d.update(classic.0);
        pq.as_mut_slice().zeroize();
        let k = SharedSecret(d.finalize().into());
        let mut q_s = heapless::Vec::new();
        // Fits: MAX_Q_S is the ciphertext and a key.
        let _ = q_s.extend_from_slice(ct.as_slice());
        let _ = q_s.extend_from_slice(&ephemeral.public_key());
        Ok((q_s, k))
    }
}

#[cfg(test)]
mod tests;
