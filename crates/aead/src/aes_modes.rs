//! The AES packet ciphers: aes128-ctr and aes256-ctr with HMAC-SHA2 (RFC 4344, RFC 6668),
//! as OpenSSH's encrypt-then-MAC (`hmac-sha2-*-etm@openssh.com`: the length travels in clear
//! and the MAC covers the ciphertext) and as RFC 4253's encrypt-and-MAC (the length is
//! encrypted, the MAC covers the plaintext); and aes128-gcm@openssh.com and
//! aes256-gcm@openssh.com (RFC 5647 as OpenSSH PROTOCOL has it: the length is clear and is
//! the associated data, the MAC negotiated is ignored).
//!
//! The `aes` crate picks AES-NI or the ARMv8 AES instructions at run time and a constant-time
//! software AES elsewhere (MIPS). No allocation per packet; keys are zeroized on drop by the
//! crates' `zeroize` features.

//! With only the `aes-ctr` feature (small builds) there is aes128-ctr with hmac-sha2-256: the
//! AES-256, HMAC-SHA-512 and GCM variants are left out, so they cannot be asked for.

use aes::Aes128;
#[cfg(feature = "aes")]
use aes::Aes256;
use ctr::cipher::{array::Array, consts::U16, InnerIvInit};
#[cfg(feature = "aes")]
use ctr::cipher::{BlockCipherEncrypt, StreamCipherCore};
use hmac::{Hmac, KeyInit, Mac};
#[cfg(feature = "aes")]
use polyval::{hazmat::FieldElement, universal_hash::UniversalHash, Polyval};
use sha2::Sha256;
#[cfg(feature = "aes")]
use sha2::Sha512;
use subtle::ConstantTimeEq;

use crate::BadTag;

/// The AES block: what the encrypted part of a packet is a multiple of.
pub const AES_BLOCK: usize = 16;
/// The longest MAC or tag of these modes (HMAC-SHA-512; HMAC-SHA-256 in the `aes-ctr` subset).
#[cfg(feature = "aes")]
pub const MAX_MAC_LEN: usize = 64;
#[cfg(not(feature = "aes"))]
pub const MAX_MAC_LEN: usize = 32;
/// The GCM tag.
pub const GCM_TAG_LEN: usize = 16;
/// The GCM IV: 4 fixed bytes and an 8-byte invocation counter.
pub const GCM_IV_LEN: usize = 12;
/// The CTR IV (the initial counter block).
pub const CTR_IV_LEN: usize = 16;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AesKey {
    Aes128,
    #[cfg(feature = "aes")]
    Aes256,
}

impl AesKey {
    pub const fn key_len(self) -> usize {
        match self {
            AesKey::Aes128 => 16,
            #[cfg(feature = "aes")]
            AesKey::Aes256 => 32,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MacAlg {
    HmacSha256,
    #[cfg(feature = "aes")]
    HmacSha512,
}

impl MacAlg {
    /// Key length = output length (RFC 6668).
    pub const fn key_len(self) -> usize {
        match self {
            MacAlg::HmacSha256 => 32,
            #[cfg(feature = "aes")]
            MacAlg::HmacSha512 => 64,
        }
    }
}

/// AES blocks handled at once, for CTR's keystream and GCM's GHASH: the widest AES
/// backend's batch (VAES with AVX-512 computes 64 blocks in parallel, AES-NI and ARMv8 8,
/// MIPS's software AES 2).
const AES_BATCH: usize = 64;

/// 16-byte blocks, aligned so that they read as machine words; zeroized when dropped.
#[repr(C, align(8))]
struct AesBlocks([Array<u8, U16>; AES_BATCH]);

impl AesBlocks {
    fn new() -> Self {
        AesBlocks(core::array::from_fn(|_| Array::default()))
    }
}

impl Drop for AesBlocks {
    fn drop(&mut self) {
        zeroize::Zeroize::zeroize(Array::slice_as_flattened_mut(&mut self.0));
    }
}

enum CtrKey {
    A128(ctr::CtrCore<Aes128, ctr::flavors::Ctr128BE>),
    #[cfg(feature = "aes")]
    A256(ctr::CtrCore<Aes256, ctr::flavors::Ctr128BE>),
}

impl CtrKey {
    /// The keystream from the current block on into `data` (`crate::xor_keystream`).
    fn xor(&mut self, data: &mut [u8], ks: &mut [Array<u8, U16>]) {
        match self {
            CtrKey::A128(c) => crate::xor_keystream(c, data, ks),
            #[cfg(feature = "aes")]
            CtrKey::A256(c) => crate::xor_keystream(c, data, ks),
        }
    }
}

/// The CTR keystream of one direction: the `ctr` crate's counter blocks, XORed into the data
/// a machine word at a time (its own stream wrapper XORs byte by byte once link-time
/// optimisation has re-optimised it at quoll's opt-level "s", docs/bench.md). The crate's
/// state is not `Clone`; the fuzz harness's snapshots rebuild it from the key, which only
/// that build keeps.
struct Ctr {
    key: CtrKey,
    /// The last keystream block, of which the last `spare_len` bytes are still unused. A
    /// packet's encrypted part is whole blocks, so this stays empty between packets. (A `u8`
    /// keeps the state the size of the crate's own buffered stream.)
    spare: Array<u8, U16>,
    spare_len: u8,
    #[cfg(feature = "fuzzing")]
    raw: ([u8; 32], [u8; CTR_IV_LEN]),
}

impl Ctr {
    fn new(aes: AesKey, key: &[u8], iv: &[u8; CTR_IV_LEN]) -> Option<Self> {
        let key_bytes = key.get(..aes.key_len())?;
        let iv = Array::from(*iv);
        let k = match aes {
            AesKey::Aes128 => CtrKey::A128(ctr::CtrCore::inner_iv_init(
                Aes128::new_from_slice(key_bytes).ok()?,
                &iv,
            )),
            #[cfg(feature = "aes")]
            AesKey::Aes256 => CtrKey::A256(ctr::CtrCore::inner_iv_init(
                Aes256::new_from_slice(key_bytes).ok()?,
                &iv,
            )),
        };
        Some(Ctr {
            key: k,
            spare: Array::default(),
            spare_len: 0,
            #[cfg(feature = "fuzzing")]
            raw: {
                let mut raw = [0u8; 32];
                raw[..key_bytes.len()].copy_from_slice(key_bytes);
                (raw, iv.into())
            },
        })
    }

    fn apply(&mut self, buf: &mut [u8]) {
        // The rest of a block begun by the previous call.
        let spare = usize::from(self.spare_len);
        let n = spare.min(buf.len());
        let (begun, buf) = buf.split_at_mut(n);
        crate::xor_words(begun, &self.spare[16 - spare..]);
        self.spare_len -= n as u8; // n <= spare_len <= 16
        let (whole, tail) = buf.split_at_mut(buf.len() / 16 * 16);
        let mut ks = AesBlocks::new();
        self.key.xor(whole, &mut ks.0);
        if !tail.is_empty() {
            // A block of which the next call gets the rest.
            self.spare = Array::default();
            self.key.xor(&mut self.spare, &mut ks.0[..1]);
            crate::xor_words(tail, &self.spare);
            self.spare_len = (16 - tail.len()) as u8; // 1..=15
        }
    }
}

impl Drop for Ctr {
    fn drop(&mut self) {
        zeroize::Zeroize::zeroize(self.spare.as_mut_slice());
        #[cfg(feature = "fuzzing")]
        zeroize::Zeroize::zeroize(&mut self.raw.0);
    }
}

#[cfg(feature = "fuzzing")]
impl Clone for Ctr {
    fn clone(&self) -> Self {
        use ctr::cipher::StreamCipherSeekCore;
        let (aes, pos) = match &self.key {
            CtrKey::A128(c) => (AesKey::Aes128, c.get_block_pos()),
            #[cfg(feature = "aes")]
            CtrKey::A256(c) => (AesKey::Aes256, c.get_block_pos()),
        };
        let (key, iv) = &self.raw;
        let Some(mut c) = Ctr::new(aes, key, iv) else {
            unreachable!("the key was accepted before")
        };
        match &mut c.key {
            CtrKey::A128(k) => k.set_block_pos(pos),
            #[cfg(feature = "aes")]
            CtrKey::A256(k) => k.set_block_pos(pos),
        }
        c.spare = self.spare;
        c.spare_len = self.spare_len;
        c
    }
}

/// The keyed HMAC state; each packet's MAC starts from a copy, so the key's two hash blocks
/// are not recomputed per packet.
#[cfg_attr(feature = "fuzzing", derive(Clone))]
enum Hm {
    S256(Hmac<Sha256>),
    #[cfg(feature = "aes")]
    S512(Hmac<Sha512>),
}

impl Hm {
    /// MAC(key, seq || data) into `out`; returns its length.
    fn compute(&self, seq: u32, data: &[u8], out: &mut [u8; MAX_MAC_LEN]) -> usize {
        match self {
            Hm::S256(k) => {
                let mut m = k.clone();
                m.update(&seq.to_be_bytes());
                m.update(data);
                out[..32].copy_from_slice(&m.finalize().into_bytes());
                32
            }
            #[cfg(feature = "aes")]
            Hm::S512(k) => {
                let mut m = k.clone();
                m.update(&seq.to_be_bytes());
                m.update(data);
                out[..64].copy_from_slice(&m.finalize().into_bytes());
                64
            }
        }
    }

    /// Constant-time check of `tag` against MAC(key, seq || data).
    fn verify(&self, seq: u32, data: &[u8], tag: &[u8]) -> Result<(), BadTag> {
        let mut expected = [0u8; MAX_MAC_LEN];
        let n = self.compute(seq, data, &mut expected);
        let ok = tag.len() == n && bool::from(expected[..n].ct_eq(tag));
        zeroize::Zeroize::zeroize(&mut expected);
        if ok {
            Ok(())
        } else {
            Err(BadTag)
        }
    }
}

/// One direction of aes*-ctr with hmac-sha2-*(-etm@openssh.com). The counter runs on across
/// packets (RFC 4344), so sealing and opening take `&mut self`.
#[cfg_attr(feature = "fuzzing", derive(Clone))]
pub struct CtrHmac {
    ctr: Ctr,
    mac: Hm,
    mac_len: usize,
    etm: bool,
}

impl CtrHmac {
    /// `key` is `aes.key_len()` bytes, `mac_key` is `mac.key_len()` bytes (longer slices are cut).
    /// `None` if a slice is too short.
    pub fn new(
        aes: AesKey,
        key: &[u8],
        iv: &[u8; CTR_IV_LEN],
        mac: MacAlg,
        mac_key: &[u8],
        etm: bool,
    ) -> Option<Self> {
        let mac_key = mac_key.get(..mac.key_len())?;
        let ctr = Ctr::new(aes, key, iv)?;
        let hm = match mac {
            MacAlg::HmacSha256 => {
                Hm::S256(<Hmac<Sha256> as KeyInit>::new_from_slice(mac_key).ok()?)
            }
            #[cfg(feature = "aes")]
            MacAlg::HmacSha512 => {
                Hm::S512(<Hmac<Sha512> as KeyInit>::new_from_slice(mac_key).ok()?)
            }
        };
        Some(CtrHmac {
            ctr,
            mac: hm,
            mac_len: mac.key_len(),
            etm,
        })
    }

    /// Encrypt-then-MAC: the length is sent in clear and the MAC covers the ciphertext.
    pub fn etm(&self) -> bool {
        self.etm
    }

    pub fn mac_len(&self) -> usize {
        self.mac_len
    }

    /// `buf` is the whole plain packet, length field first; encrypts in place (all of it, or
    /// all but the length with EtM) and writes the MAC into `mac` (`mac_len()` bytes).
    pub fn seal(&mut self, seq: u32, buf: &mut [u8], mac: &mut [u8]) {
        let mut tag = [0u8; MAX_MAC_LEN];
        if self.etm {
            let start = buf.len().min(4);
            self.ctr.apply(&mut buf[start..]);
            self.mac.compute(seq, buf, &mut tag);
        } else {
            self.mac.compute(seq, buf, &mut tag);
            self.ctr.apply(buf);
        }
        let n = self.mac_len.min(mac.len());
        mac[..n].copy_from_slice(&tag[..n]);
    }

    /// Encrypt-and-MAC only: decrypts the packet's first block in place, which holds the
    /// length. `open` then continues after it.
    pub fn decrypt_first_block(&mut self, block: &mut [u8]) {
        self.ctr.apply(block);
    }

    /// EtM: `buf` is the clear length and the ciphertext; checks `mac` first and only then
    /// decrypts `buf[4..]` (on a bad MAC `buf` is untouched). Encrypt-and-MAC: `buf`'s first
    /// block was decrypted by `decrypt_first_block`; decrypts the rest, then checks the MAC
    /// over the plaintext (the mode allows no earlier check).
    pub fn open(&mut self, seq: u32, buf: &mut [u8], mac: &[u8]) -> Result<(), BadTag> {
        if self.etm {
            self.mac.verify(seq, buf, mac)?;
            let start = buf.len().min(4);
            self.ctr.apply(&mut buf[start..]);
            Ok(())
        } else {
            let start = buf.len().min(AES_BLOCK);
            self.ctr.apply(&mut buf[start..]);
            self.mac.verify(seq, buf, mac)
        }
    }
}

#[cfg(feature = "aes")]
#[cfg_attr(feature = "fuzzing", derive(Clone))]
enum GcmCipher {
    A128(Aes128),
    A256(Aes256),
}

/// One direction of aes*-gcm@openssh.com: NIST SP 800-38D's GCM with a 12-byte IV, made of
/// the `aes` crate's block cipher in the `ctr` crate's 32-bit counter mode and of GHASH
/// computed by the `polyval` crate (RFC 8452 appendix A: GHASH over byte-reversed blocks is
/// POLYVAL under H·x). The arithmetic is the crates'; this is the mode around it, as
/// `aes-gcm` composes it, with the keystream XORed and the blocks reversed a machine word at
/// a time: in quoll's link-time-optimised build `aes-gcm`'s byte-wise loops took GCM from
/// 2.2 to 0.95 GB/s on x86_64 (docs/bench.md). The tests hold it to `aes-gcm`.
#[cfg(feature = "aes")]
#[cfg_attr(feature = "fuzzing", derive(Clone))]
pub struct Gcm {
    cipher: GcmCipher,
    /// POLYVAL keyed with H·x, H = AES(0); each packet starts from a copy.
    ghash: Polyval,
    /// The IV's first 4 bytes, fixed for the keys' lifetime.
    fixed: [u8; 4],
    /// The IV's last 8 bytes, incremented after every packet (RFC 5647 §7.1).
    invocation: u64,
}

/// GHASH's blocks are big-endian polynomials, POLYVAL's little-endian: a block reversed.
#[cfg(feature = "aes")]
fn reversed(block: [u8; 16]) -> [u8; 16] {
    u128::from_be_bytes(block).to_le_bytes()
}

/// GHASH of `data`, its last block padded with zeros, into `ghash`.
#[cfg(feature = "aes")]
fn ghash_padded(ghash: &mut Polyval, data: &[u8], blocks: &mut AesBlocks) {
    for chunk in data.chunks(16 * AES_BATCH) {
        let mut full = chunk.chunks_exact(16);
        let mut n = 0;
        for (b, c) in blocks.0.iter_mut().zip(&mut full) {
            let mut x = [0u8; 16];
            x.copy_from_slice(c);
            *b = reversed(x).into();
            n += 1;
        }
        let last = full.remainder();
        if !last.is_empty() {
            let mut x = [0u8; 16];
            x[..last.len()].copy_from_slice(last);
            blocks.0[n] = reversed(x).into();
            n += 1;
        }
        ghash.update(&blocks.0[..n]);
    }
}

/// GCM's counter blocks for a 12-byte IV: the first (J0) masks the tag, the data's keystream
/// starts at the next.
#[cfg(feature = "aes")]
fn gcm_counter<'c, C: BlockCipherEncrypt<BlockSize = U16>>(
    cipher: &'c C,
    iv: &[u8; GCM_IV_LEN],
) -> (ctr::CtrCore<&'c C, ctr::flavors::Ctr32BE>, Array<u8, U16>) {
    let mut j0 = Array::<u8, U16>::default();
    j0[..GCM_IV_LEN].copy_from_slice(iv);
    j0[15] = 1;
    let mut ctr = ctr::CtrCore::<&C, ctr::flavors::Ctr32BE>::inner_iv_init(cipher, &j0);
    let mut mask = Array::<u8, U16>::default();
    ctr.write_keystream_block(&mut mask);
    (ctr, mask)
}

/// The tag: GHASH's lengths block, the result reversed back, XOR the masked counter block.
#[cfg(feature = "aes")]
fn gcm_tag(
    mut ghash: Polyval,
    aad_len: usize,
    data_len: usize,
    mask: &Array<u8, U16>,
) -> [u8; GCM_TAG_LEN] {
    let mut lengths = [0u8; 16];
    lengths[..8].copy_from_slice(&(aad_len as u64 * 8).to_be_bytes());
    lengths[8..].copy_from_slice(&(data_len as u64 * 8).to_be_bytes());
    ghash.update(&[reversed(lengths).into()]);
    let s: [u8; 16] = ghash.finalize().into();
    let mut tag = u128::from_le_bytes(s).to_be_bytes();
    for (t, m) in tag.iter_mut().zip(mask.iter()) {
        *t ^= m;
    }
    tag
}

#[cfg(feature = "aes")]
fn gcm_seal<C: BlockCipherEncrypt<BlockSize = U16>>(
    cipher: &C,
    key: &Polyval,
    iv: &[u8; GCM_IV_LEN],
    aad: &[u8],
    data: &mut [u8],
) -> [u8; GCM_TAG_LEN] {
    let (mut ctr, mut mask) = gcm_counter(cipher, iv);
    let mut ghash = key.clone();
    let mut ks = AesBlocks::new();
    let mut blocks = AesBlocks::new();
    ghash_padded(&mut ghash, aad, &mut blocks);
    // A batch at a time, so that GHASH reads the ciphertext while it is in cache.
    for chunk in data.chunks_mut(16 * AES_BATCH) {
        crate::xor_keystream(&mut ctr, chunk, &mut ks.0);
        ghash_padded(&mut ghash, chunk, &mut blocks);
    }
    let tag = gcm_tag(ghash, aad.len(), data.len(), &mask);
    zeroize::Zeroize::zeroize(mask.as_mut_slice());
    tag
}

/// Checks `tag` over `aad` and the ciphertext `data` (constant time), and only then
/// decrypts `data` in place.
#[cfg(feature = "aes")]
fn gcm_open<C: BlockCipherEncrypt<BlockSize = U16>>(
    cipher: &C,
    key: &Polyval,
    iv: &[u8; GCM_IV_LEN],
    aad: &[u8],
    data: &mut [u8],
    tag: &[u8; GCM_TAG_LEN],
) -> Result<(), BadTag> {
    let (mut ctr, mut mask) = gcm_counter(cipher, iv);
    let mut ghash = key.clone();
    let mut blocks = AesBlocks::new();
    ghash_padded(&mut ghash, aad, &mut blocks);
    ghash_padded(&mut ghash, data, &mut blocks);
    let expected = gcm_tag(ghash, aad.len(), data.len(), &mask);
    zeroize::Zeroize::zeroize(mask.as_mut_slice());
    if !bool::from(expected.ct_eq(tag)) {
        return Err(BadTag);
    }
    crate::xor_keystream(&mut ctr, data, &mut blocks.0);
    Ok(())
}

#[cfg(feature = "aes")]
impl Gcm {
    /// `key` is `aes.key_len()` bytes (longer is cut); `None` if it is too short.
    pub fn new(aes: AesKey, key: &[u8], iv: &[u8; GCM_IV_LEN]) -> Option<Self> {
        let key = key.get(..aes.key_len())?;
        let cipher = match aes {
            AesKey::Aes128 => GcmCipher::A128(Aes128::new_from_slice(key).ok()?),
            AesKey::Aes256 => GcmCipher::A256(Aes256::new_from_slice(key).ok()?),
        };
        // H = AES(0^128), as POLYVAL's key (RFC 8452 appendix A).
        let mut h = Array::<u8, U16>::default();
        match &cipher {
            GcmCipher::A128(c) => c.encrypt_block(&mut h),
            GcmCipher::A256(c) => c.encrypt_block(&mut h),
        }
        let mut hx = FieldElement::from(h).reverse().mulx();
        let ghash = Polyval::new(&hx.into());
        zeroize::Zeroize::zeroize(&mut hx);
        zeroize::Zeroize::zeroize(h.as_mut_slice());
        let mut fixed = [0u8; 4];
        fixed.copy_from_slice(&iv[..4]);
        let mut inv = [0u8; 8];
        inv.copy_from_slice(&iv[4..]);
        Some(Gcm {
            cipher,
            ghash,
            fixed,
            invocation: u64::from_be_bytes(inv),
        })
    }

    fn next_nonce(&mut self) -> [u8; GCM_IV_LEN] {
        let mut n = [0u8; GCM_IV_LEN];
        n[..4].copy_from_slice(&self.fixed);
        n[4..].copy_from_slice(&self.invocation.to_be_bytes());
        self.invocation = self.invocation.wrapping_add(1);
        n
    }

    /// `buf` is the plain length (4 bytes, the associated data) and the plain rest; encrypts
    /// the rest in place and returns the tag.
    pub fn seal(&mut self, buf: &mut [u8]) -> [u8; GCM_TAG_LEN] {
        let nonce = self.next_nonce();
        let (aad, rest) = buf.split_at_mut(buf.len().min(4));
        match &self.cipher {
            GcmCipher::A128(c) => gcm_seal(c, &self.ghash, &nonce, aad, rest),
            GcmCipher::A256(c) => gcm_seal(c, &self.ghash, &nonce, aad, rest),
        }
    }

    /// `buf` is the clear length and the ciphertext; checks `tag` (constant time) before
    /// decrypting `buf[4..]` in place (untouched on a bad tag).
    pub fn open(&mut self, buf: &mut [u8], tag: &[u8; GCM_TAG_LEN]) -> Result<(), BadTag> {
        let nonce = self.next_nonce();
        let (aad, rest) = buf.split_at_mut(buf.len().min(4));
        match &self.cipher {
            GcmCipher::A128(c) => gcm_open(c, &self.ghash, &nonce, aad, rest, tag),
            GcmCipher::A256(c) => gcm_open(c, &self.ghash, &nonce, aad, rest, tag),
        }
    }
}

/// The `aes-ctr` subset: aes128-ctr with hmac-sha2-256 works (the rest is not built in).
#[cfg(all(test, not(feature = "aes")))]
mod subset_tests {
    use super::*;

    #[test]
    fn only_aes128_ctr_with_hmac_sha256() {
        let iv = [0u8; CTR_IV_LEN];
        let k = [7u8; 64];
        for etm in [true, false] {
            assert!(CtrHmac::new(AesKey::Aes128, &k, &iv, MacAlg::HmacSha256, &k, etm).is_some());
        }
        // A sealed packet opens again, and a flipped bit is refused.
        let mut tx = CtrHmac::new(AesKey::Aes128, &k, &iv, MacAlg::HmacSha256, &k, true).unwrap();
        let mut rx = CtrHmac::new(AesKey::Aes128, &k, &iv, MacAlg::HmacSha256, &k, true).unwrap();
        let plain = [
            0, 0, 0, 28, 4, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20,
            21, 22, 23, 24, 25, 26, 27,
        ];
        let mut buf = plain;
        let mut mac = [0u8; 32];
        tx.seal(3, &mut buf, &mut mac);
        let mut bad = buf;
        bad[10] ^= 1;
        assert_eq!(rx.open(3, &mut bad, &mac), Err(BadTag));
        let mut rx = CtrHmac::new(AesKey::Aes128, &k, &iv, MacAlg::HmacSha256, &k, true).unwrap();
        rx.open(3, &mut buf, &mac).unwrap();
        assert_eq!(buf, plain);
    }
}

#[cfg(all(test, feature = "aes"))]
mod tests {
    use super::*;
    use crate::unhex;
    use std::vec::Vec;

    /// NIST SP 800-38A F.5.1 (CTR-AES128.Encrypt) and F.5.5 (CTR-AES256.Encrypt).
    #[test]
    fn aes_ctr_nist() {
        let iv: [u8; 16] = unhex("f0f1f2f3f4f5f6f7f8f9fafbfcfdfeff")
            .try_into()
            .unwrap();
        let plain = unhex(
            "6bc1bee22e409f96e93d7e117393172aae2d8a571e03ac9c9eb76fac45af8e51\
             30c81c46a35ce411e5fbc1191a0a52eff69f2445df4f9b17ad2b417be66c3710",
        );
        for (aes, key, expected) in [
            (
                AesKey::Aes128,
                "2b7e151628aed2a6abf7158809cf4f3c",
                "874d6191b620e3261bef6864990db6ce9806f66b7970fdff8617187bb9fffdff\
                 5ae4df3edbd5d35e5b4f09020db03eab1e031dda2fbe03d1792170a0f3009cee",
            ),
            (
                AesKey::Aes256,
                "603deb1015ca71be2b73aef0857d77811f352c073b6108d72d9810a30914dff4",
                "601ec313775789a5b7a7f504bbf3d228f443e3ca4d62b59aca84e990cacaf5c5\
                 2b0930daa23de94ce87017ba2d84988ddfc9c58db67aada613c2dd08457941a6",
            ),
        ] {
            let c = CtrHmac::new(aes, &unhex(key), &iv, MacAlg::HmacSha256, &[0; 32], true);
            let mut c = c.unwrap();
            // In two uneven pieces: the counter runs on across calls.
            let mut buf = plain.clone();
            let (a, b) = buf.split_at_mut(21);
            c.ctr.apply(a);
            c.ctr.apply(b);
            assert_eq!(buf, unhex(expected));
        }
    }

    /// RFC 4231 test cases 1 and 2. The SSH MAC puts the sequence number first, so the data's
    /// first four bytes stand for it.
    #[test]
    fn hmac_sha2_rfc4231() {
        let cases = [
            (
                &[0x0b; 20][..],
                &b"Hi There"[..],
                "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7",
                "87aa7cdea5ef619d4ff0b4241a1d6cb02379f4e2ce4ec2787ad0b30545e17cde\
                 daa833b7d6b8a702038b274eaea3f4e4be9d914eeb61f1702e696c203a126854",
            ),
            (
                &b"Jefe"[..],
                &b"what do ya want for nothing?"[..],
                "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843",
                "164b7a7bfcf819e2e395fbe73b56e0a387bd64222e831fd610270cd7ea250554\
                 9758bf75c05a994a6d034f65f8f0e6fdcaeab1a34d4a6b4b636e070a38bce737",
            ),
        ];
        for (key, data, s256, s512) in cases {
            let seq = u32::from_be_bytes(data[..4].try_into().unwrap());
            let mut out = [0u8; MAX_MAC_LEN];
            let h = Hm::S256(<Hmac<Sha256> as KeyInit>::new_from_slice(key).unwrap());
            assert_eq!(h.compute(seq, &data[4..], &mut out), 32);
            assert_eq!(out[..32], unhex(s256)[..]);
            h.verify(seq, &data[4..], &unhex(s256)).unwrap();
            let h = Hm::S512(<Hmac<Sha512> as KeyInit>::new_from_slice(key).unwrap());
            assert_eq!(h.compute(seq, &data[4..], &mut out), 64);
            assert_eq!(out[..], unhex(s512)[..]);
            h.verify(seq, &data[4..], &unhex(s512)).unwrap();
            let mut bad = unhex(s512);
            bad[63] ^= 1;
            assert_eq!(h.verify(seq, &data[4..], &bad), Err(BadTag));
            assert_eq!(h.verify(seq, &data[4..], &unhex(s512)[..32]), Err(BadTag));
        }
    }

    /// The GCM specification (McGrew, Viega), test cases 3 (AES-128) and 15 (AES-256): 96-bit
    /// IV, no associated data.
    #[test]
    fn aes_gcm_spec() {
        let plain = unhex(
            "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a72\
             1c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b391aafd255",
        );
        let iv: [u8; 12] = unhex("cafebabefacedbaddecaf888").try_into().unwrap();
        let k128 = unhex("feffe9928665731c6d6a8f9467308308");
        let k256 = unhex("feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308");
        let aad = unhex("feedfacedeadbeeffeedfacedeadbeefabaddad2");
        // Test cases 3, 15 (no associated data) and 4 (20 bytes of it, a partial last block).
        for (aes, key, aad, len, expected, tag) in [
            (
                AesKey::Aes128,
                &k128,
                &[][..],
                64,
                "42831ec2217774244b7221b784d0d49ce3aa212f2c02a4e035c17e2329aca12e\
                 21d514b25466931c7d8f6a5aac84aa051ba30b396a0aac973d58e091473f5985",
                "4d5c2af327cd64a62cf35abd2ba6fab4",
            ),
            (
                AesKey::Aes256,
                &k256,
                &[][..],
                64,
                "522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa\
                 8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7a0abcc9f662898015ad",
                "b094dac5d93471bdec1a502270e3cc6c",
            ),
            (
                AesKey::Aes128,
                &k128,
                &aad[..],
                60,
                "42831ec2217774244b7221b784d0d49ce3aa212f2c02a4e035c17e2329aca12e\
                 21d514b25466931c7d8f6a5aac84aa051ba30b396a0aac973d58e091",
                "5bc94fbc3221a5db94fae95ae7121a47",
            ),
        ] {
            let g = Gcm::new(aes, key, &iv).unwrap();
            let mut buf = plain[..len].to_vec();
            let t = match &g.cipher {
                GcmCipher::A128(c) => gcm_seal(c, &g.ghash, &iv, aad, &mut buf),
                GcmCipher::A256(c) => gcm_seal(c, &g.ghash, &iv, aad, &mut buf),
            };
            assert_eq!(buf, unhex(expected));
            assert_eq!(t[..], unhex(tag)[..]);
        }
    }

    /// quoll's GCM against the `aes-gcm` crate's: every length around a block and a batch,
    /// both key sizes, consecutive packets (the invocation counter), and a refused bit flip.
    #[test]
    fn gcm_matches_the_aes_gcm_crate() {
        use aes_gcm::{AeadInOut, Aes128Gcm, Aes256Gcm, KeyInit as _};
        let key: [u8; 32] = bytes_from(0x21);
        let iv: [u8; 12] = [9, 8, 7, 6, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xfe];
        let mut lens: Vec<usize> = (0..=70).collect();
        lens.extend([1020, 1023, 1024, 1025, 1028, 1044, 2052, 32768 + 4, 35000]);
        for aes in [AesKey::Aes128, AesKey::Aes256] {
            let mut tx = Gcm::new(aes, &key, &iv).unwrap();
            let mut rx = Gcm::new(aes, &key, &iv).unwrap();
            for (n, &len) in lens.iter().enumerate() {
                let plain: Vec<u8> = (0..len).map(|i| (i * 31 + n) as u8).collect();
                let mut buf = plain.clone();
                let tag = tx.seal(&mut buf);

                let mut nonce = [0u8; 12];
                nonce[..4].copy_from_slice(&iv[..4]);
                let inv = u64::from_be_bytes(iv[4..].try_into().unwrap()).wrapping_add(n as u64);
                nonce[4..].copy_from_slice(&inv.to_be_bytes());
                let mut reference = plain.clone();
                let (aad, rest) = reference.split_at_mut(len.min(4));
                let want = match aes {
                    AesKey::Aes128 => Aes128Gcm::new_from_slice(&key[..16])
                        .unwrap()
                        .encrypt_inout_detached((&nonce).into(), aad, rest.into()),
                    AesKey::Aes256 => Aes256Gcm::new_from_slice(&key)
                        .unwrap()
                        .encrypt_inout_detached((&nonce).into(), aad, rest.into()),
                }
                .unwrap();
                assert_eq!(buf, reference, "{aes:?} length {len}");
                assert_eq!(tag[..], want[..], "{aes:?} length {len}");

                if len > 0 {
                    let mut bad = buf.clone();
                    bad[len / 2] ^= 0x10;
                    let mut spare = Gcm::new(aes, &key, &iv).unwrap();
                    spare.invocation = rx.invocation;
                    assert_eq!(spare.open(&mut bad, &tag), Err(BadTag));
                    assert_eq!(bad[len / 2] ^ 0x10, buf[len / 2], "untouched on a bad tag");
                }
                rx.open(&mut buf, &tag).unwrap();
                assert_eq!(buf, plain, "{aes:?} length {len}");
            }
        }
    }

    const KEY: [u8; 32] = bytes_from(1);
    const IV: [u8; 16] = {
        let b: [u8; 32] = bytes_from(0x40);
        let mut iv = [0u8; 16];
        let mut i = 0;
        while i < 16 {
            iv[i] = b[i];
            i += 1;
        }
        iv
    };
    const MAC_KEY: [u8; 64] = bytes_from(0x80);
    const SEQ: u32 = 7;

    const fn bytes_from<const N: usize>(first: u8) -> [u8; N] {
        let mut k = [0u8; N];
        let mut i = 0;
        while i < N {
            k[i] = first + i as u8;
            i += 1;
        }
        k
    }

    fn gcm_iv() -> [u8; GCM_IV_LEN] {
        IV[..12].try_into().unwrap()
    }

    /// The packets of scripts/aes-vector.py.
    fn packet(n: usize, length_outside: bool) -> Vec<u8> {
        let mut payload = std::format!("quoll aes known-answer {n}: ").into_bytes();
        payload.extend((0..40 + n).map(|i| i as u8));
        let unpadded = 1 + payload.len() + if length_outside { 0 } else { 4 };
        let mut pad = 16 - unpadded % 16;
        if pad < 4 {
            pad += 16;
        }
        let mut p = ((1 + payload.len() + pad) as u32).to_be_bytes().to_vec();
        p.push(pad as u8);
        p.extend(payload);
        p.extend((0..pad).map(|i| 0xa0 + i as u8));
        p
    }

    #[derive(Clone, Copy)]
    enum Mode {
        Ctr(AesKey, MacAlg, bool),
        Gcm(AesKey),
    }

    /// Seals both packets as quoll's packet layer does, checks them against the independent
    /// computation, then opens them with a second instance.
    fn check(mode: Mode, expected: &str) {
        let expected = unhex(expected);
        let mut wire = Vec::new();
        let length_outside = !matches!(mode, Mode::Ctr(_, _, false));
        match mode {
            Mode::Ctr(aes, mac, etm) => {
                let mut c = CtrHmac::new(aes, &KEY, &IV, mac, &MAC_KEY, etm).unwrap();
                for n in 0..2 {
                    let mut p = packet(n, length_outside);
                    let mut tag = [0u8; MAX_MAC_LEN];
                    c.seal(SEQ + n as u32, &mut p, &mut tag);
                    wire.extend_from_slice(&p);
                    wire.extend_from_slice(&tag[..c.mac_len()]);
                }
            }
            Mode::Gcm(aes) => {
                let mut c = Gcm::new(aes, &KEY, &gcm_iv()).unwrap();
                for n in 0..2 {
                    let mut p = packet(n, true);
                    let tag = c.seal(&mut p);
                    wire.extend_from_slice(&p);
                    wire.extend_from_slice(&tag);
                }
            }
        }
        assert_eq!(wire, expected);

        // Open them again, packet by packet.
        let mut at = 0;
        let (mut ctr, mut gcm) = match mode {
            Mode::Ctr(aes, mac, etm) => (CtrHmac::new(aes, &KEY, &IV, mac, &MAC_KEY, etm), None),
            Mode::Gcm(aes) => (None, Gcm::new(aes, &KEY, &gcm_iv())),
        };
        for n in 0..2 {
            let plain = packet(n, length_outside);
            let len = plain.len();
            let mut buf = wire[at..at + len].to_vec();
            if let Some(c) = &mut ctr {
                let m = c.mac_len();
                let tag = wire[at + len..at + len + m].to_vec();
                if !c.etm() {
                    c.decrypt_first_block(&mut buf[..16]);
                    assert_eq!(buf[..16], plain[..16]);
                }
                c.open(SEQ + n as u32, &mut buf, &tag).unwrap();
                at += len + m;
            } else if let Some(c) = &mut gcm {
                let tag: [u8; 16] = wire[at + len..at + len + 16].try_into().unwrap();
                c.open(&mut buf, &tag).unwrap();
                at += len + 16;
            }
            assert_eq!(buf, plain);
        }
        assert_eq!(at, wire.len());
    }

    #[test]
    fn packet_known_answers() {
        use AesKey::*;
        use MacAlg::*;
        check(
            Mode::Ctr(Aes128, HmacSha256, true),
            "00000050198185984be9f55ec92c84ffaaaebaa0396d1eaa02ccad5b90af25da432f85cf77d2c648\
             0e064ceb050ce1e6d8172ecac23dfeffc23ae6f98aaa9c14f1815e90bd9754ead1eb81b3b04636cb\
             19c644455a294a6c317c62b0fbe50f5be48ba3d2acb1c133f3afdb50abe046e46465944e00000050\
             51a67691e339dcf4a2d5273b75820a34d3e0251946718e85ee6038d2303b525a73e1e45e56c42a0e\
             ea25a31303477a88f6bcb9f06445faa8b3b0da588b248f7e84df150029fa5d4101187cc3f33ec1b2\
             e2871fbc4b4ddb931b465a15914ffd67ac3bc335402e5f43f973481ba6d06fcc",
        );
        check(
            Mode::Ctr(Aes256, HmacSha512, true),
            "00000050004d50ad98927cc874b50835fe869ce87d7445470c69c1b6ea7e8a4b22a341c5963bb7f8\
             b6143fcb8416f4a0e2cc29ea361dc49eac6eff42510b87fde3c9e55e8cbcbabc559277867ddfed6f\
             2166c2de08beb1211ac982b44ef2f3e29642879543fe78c9924d76f4778ccc07ca1c282edebf6bc5\
             deea38f91ccf8a7ec797957016251660b1d782a228e59e55f8c6e62f000000506bf70ccd25625916\
             0f5d3343191dceb7dec0cbfd0edefa8eb7b5792d014f03689f6a68148f19b689f62a34383f056a4f\
             1490e801446d842483b6a45f6ef49101d02414e63a1e8e845d497329b878aa5d83cb17c98738a3ad\
             b7826c947886607b6c80f72d5203fcaaa6ef4a8d90f09d9a27266705e2ab6faae601cd7645314198\
             3f973c58bde99eb05b870df09a3b683b",
        );
        check(
            Mode::Ctr(Aes128, HmacSha256, false),
            "14f0f0bb2ef4a050c03384f5a1b2eda57a6307b758c8b108d7f077fa7217a6cb73d6c244020a40ef\
             0108e5fac40b32cec639faf3ce36eafd8eae9828cdbd6294b993506e556f05b7b44232c715ca4841\
             a6be6b8ea9e9c22b29f0f3456fe108fa9621aaf0b477d78d6d14335921ca13625dd703b2872489fa\
             abca27317e9e5d3190ee3c041c7592d6a83f6af20003715e77e5e0525ac8260aee21a70f1f5b668c\
             f2b8bdfc6849f6acb7b4de64b718b37a80db110cac7dd8ca051c78c7ff32cdbea0eb980d95c41cd6\
             1c9e8b63a6d2921592be5298427dfd23bd5ec7a5acff1b79",
        );
        check(
            Mode::Ctr(Aes256, HmacSha512, false),
            "0d3c258efd8f29c67daa083ff59acbed3e7a5c5a566ddde5ad21d86b139b62c1923fb3f4ba1833cf\
             8012f0bcfed035ee3219c092a062f346550f83c1dff5d95a88b8be38d116f38279dbe9632d6aceda\
             ba14cf229cd3aa74b5bf07a78cd8fa5860a927293f37d36bf6f377c424e70b4755e2b4320919983f\
             dc6aafd16c1b6372b7de39da73d971effad2d072750b585c678679ee417f0c1806423349120199b2\
             9dced2e054dae6ddf1ea2b0d3177206c9b6e6c188315ba8df22e30242319764b1094ec0d48618820\
             87b2a06352c8ad05d42010eabf990b0f594d772db474a65155c6c1f2973600503fb883a429ec037c\
             79ef86d04d190cdc2620b304c25d61fea1fec76af87cba57f4f224f9ff6645adce4cacab9ad74d6d\
             912430c50cc780d3",
        );
        check(
            Mode::Gcm(Aes128),
            "00000050f89d2f8048f870fd0669471123457b1d6554f0bae444e7efba9028717f7d99b5ecbf6ef6\
             0fe42c9ac1ab6dc2fd47b8dae7c3deb8566275605000ab3e366d1b6f6ec409b634b3c969a83c18c1\
             85eda2da79ccf45ca0d8315bd49173628d5fd676000000501b1d5c8ee06900475406e2a373d918ad\
             ebc8aafde330d465d385c3f431d7bd66373694e7114b6184a77e8c149c29e7f8dae947f228b294a0\
             fe4eadab476f681febab1ed8c6d6e3c340d55f3019c09a20fe89064b75bd5d3a94fce0a90bed60ce",
        );
        check(
            Mode::Gcm(Aes256),
            "00000050d7e5a91e03232cffd9ee42ce7a196f6d95185f234357cab811c451fdced78c960be0c43d\
             bf78e1b91bec0d5d55036fd527b4ab3831bd2a7df38fa0768d333a3817d872cf040a0afc5c1c749b\
             d12ea5781bbfe437b1d540a87efce6129b12881400000050ed63540660a51cc725e6aad28665f08e\
             82d11dad1396f69671c81b5ef06020560fe99fb35d68ff01463ff85b65c9f7b156835a9605706ce0\
             01c62fda97ac331cd52a1d2afe9bf268e28cfe2e9ce908389d1008ff926533f475e39ab14a35c41c",
        );
    }

    /// The word-wise CTR against the `ctr` crate's own stream, the data cut into pieces of
    /// every length around a word, a block and a batch, so that blocks are begun in one call
    /// and finished in the next.
    #[test]
    fn ctr_keystream_matches_the_crate() {
        use ctr::cipher::{KeyIvInit, StreamCipher};
        let data: Vec<u8> = (0..40_000).map(|i| (i * 7 + 3) as u8).collect();
        for aes in [AesKey::Aes128, AesKey::Aes256] {
            let mut want = data.clone();
            match aes {
                AesKey::Aes128 => ctr::Ctr128BE::<Aes128>::new_from_slices(&KEY[..16], &IV)
                    .unwrap()
                    .apply_keystream(&mut want),
                AesKey::Aes256 => ctr::Ctr128BE::<Aes256>::new_from_slices(&KEY, &IV)
                    .unwrap()
                    .apply_keystream(&mut want),
            }
            let mut ours = Ctr::new(aes, &KEY, &IV).unwrap();
            let mut got = data.clone();
            let mut at = 0;
            let pieces = [
                1,
                3,
                8,
                12,
                15,
                16,
                17,
                31,
                32,
                33,
                1023,
                1024,
                1025,
                4,
                16 * 64 + 5,
            ];
            for len in pieces.iter().cycle() {
                let end = (at + len).min(got.len());
                ours.apply(&mut got[at..end]);
                at = end;
                if at == got.len() {
                    break;
                }
            }
            assert_eq!(got, want, "{aes:?}");
        }
    }

    /// The fuzz harness's snapshots: a clone taken mid-stream goes on from the same keystream
    /// position as the original.
    #[cfg(feature = "fuzzing")]
    #[test]
    fn a_clone_continues_the_keystream() {
        for aes in [AesKey::Aes128, AesKey::Aes256] {
            let mut a = CtrHmac::new(aes, &KEY, &IV, MacAlg::HmacSha256, &MAC_KEY, true).unwrap();
            let mut skip = [0u8; 37];
            a.ctr.apply(&mut skip);
            let mut b = a.clone();
            let (mut x, mut y) = ([1u8; 100], [1u8; 100]);
            a.ctr.apply(&mut x);
            b.ctr.apply(&mut y);
            assert_eq!(x, y);
        }
    }

    fn flip(buf: &mut [u8], tag: &mut [u8], bit: usize) {
        let byte = bit / 8;
        if byte < buf.len() {
            buf[byte] ^= 1 << (bit % 8);
        } else {
            tag[byte - buf.len()] ^= 1 << (bit % 8);
        }
    }

    #[test]
    fn tampering_rejected_before_decrypting() {
        // EtM: a flipped bit anywhere (length, body, MAC) is refused and the buffer is left
        // as it was, i.e. nothing was decrypted.
        let etm = || {
            CtrHmac::new(
                AesKey::Aes128,
                &KEY,
                &IV,
                MacAlg::HmacSha256,
                &MAC_KEY,
                true,
            )
        };
        let mut sealed = packet(0, true);
        let mut tag = [0u8; MAX_MAC_LEN];
        etm().unwrap().seal(3, &mut sealed, &mut tag);
        let tag = tag[..32].to_vec();
        for bit in 0..(sealed.len() + tag.len()) * 8 {
            let (mut buf, mut t) = (sealed.clone(), tag.clone());
            flip(&mut buf, &mut t, bit);
            let before = buf.clone();
            assert_eq!(etm().unwrap().open(3, &mut buf, &t), Err(BadTag));
            assert_eq!(buf, before);
        }
        let wrong_seq = etm().unwrap().open(4, &mut sealed.clone(), &tag);
        assert_eq!(wrong_seq, Err(BadTag));
        etm().unwrap().open(3, &mut sealed, &tag).unwrap();

        // GCM: a flipped bit in the length (the associated data), the body or the tag.
        let gcm = || Gcm::new(AesKey::Aes256, &KEY, &gcm_iv());
        let mut sealed = packet(1, true);
        let tag = gcm().unwrap().seal(&mut sealed);
        for bit in 0..(sealed.len() + 16) * 8 {
            let (mut buf, mut t) = (sealed.clone(), tag);
            flip(&mut buf, &mut t, bit);
            let before = buf.clone();
            assert_eq!(gcm().unwrap().open(&mut buf, &t), Err(BadTag));
            assert_eq!(buf, before);
        }
        gcm().unwrap().open(&mut sealed, &tag).unwrap();
    }
}
