//! The SSH packet ciphers: chacha20-poly1305@openssh.com here, and with the `aes` feature the
//! AES modes in `aes_modes`.
//!
//! chacha20-poly1305@openssh.com (OpenSSH PROTOCOL.chacha20poly1305).
//!
//! Two ChaCha20 keys per direction, both with the packet sequence number as the 64-bit nonce:
//! K_1 encrypts the 4-byte length alone, so a receiver can learn the length before it has the
//! whole packet; K_2's first block gives the Poly1305 key and its later blocks encrypt the rest.
//! The tag covers the encrypted length and the encrypted rest. No allocation per packet.
//!
//! A crate of its own so that its generic cipher code is compiled at opt-level 3 while the
//! rest of quoll is built for size (see the profiles in the workspace Cargo.toml).
#![no_std]
#![forbid(unsafe_code)]

#[cfg(test)]
extern crate std;
#[cfg(test)]
use std::vec::Vec;

#[cfg(feature = "aes-ctr")]
mod aes_modes;
#[cfg(feature = "aes-ctr")]
pub use aes_modes::*;

use chacha20::cipher::common::array::Array;
use chacha20::cipher::{Block, KeyIvInit, StreamCipherCore};
use chacha20::ChaCha20LegacyCore;
use poly1305::universal_hash::{KeyInit, UniversalHash};
use poly1305::Poly1305;
use subtle::ConstantTimeEq;
use zeroize::{Zeroize, ZeroizeOnDrop};

pub const KEY_LEN: usize = 64;
pub const TAG_LEN: usize = 16;

/// The authentication tag did not match: the packet was altered or the keys differ.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BadTag;

/// One direction's keys: bytes 0..32 K_2 (payload), 32..64 K_1 (length). Zeroized on drop.
#[derive(Zeroize, ZeroizeOnDrop)]
#[cfg_attr(feature = "fuzzing", derive(Clone))]
pub struct ChaChaPoly {
    payload_key: [u8; 32],
    length_key: [u8; 32],
}

/// ChaCha20 under `key` with nonce `seq` (big-endian u64), at block counter 0.
/// (With the crates' `zeroize` features the cipher state is wiped when dropped.)
fn chacha(key: &[u8; 32], seq: u32) -> ChaCha20LegacyCore {
    let nonce = u64::from(seq).to_be_bytes();
    ChaCha20LegacyCore::new(key.into(), (&nonce).into())
}

/// Keystream blocks asked of the cipher at once: as many as its widest backend computes in
/// parallel. On x86_64 that is AVX-512's sixteen (asked for four it takes a slower tail path:
/// sealing 32 KiB packets 1.0-1.2 GB/s against 1.55-1.6 with sixteen, docs/design.md; AVX2
/// takes them four at a time), aarch64's NEON four, and the portable backend (MIPS, armv7)
/// one, which `xor_keystream` then writes straight into aligned memory.
const PAR_BLOCKS: usize = if cfg!(target_arch = "x86_64") {
    16
} else if cfg!(target_arch = "aarch64") {
    4
} else {
    1
};

/// A few keystream blocks, aligned so that they read as machine words.
#[repr(C, align(8))]
struct Keystream([Block<ChaCha20LegacyCore>; PAR_BLOCKS]);

/// XORs the start of `stream` into `data` (`stream` at least as long) a machine word at a time. The
/// `cipher` crate's own XOR goes byte by byte where the compiler does not vectorise it: on
/// MIPS, and on x86_64 once link-time optimisation has re-optimised the crates' code at
/// quoll's opt-level "s" (docs/bench.md); this loop is word-wise at every opt-level. The
/// words are `data`'s aligned ones (a packet's payload is aligned in practice): on MIPS an
/// unaligned word store is two instructions, `swl` and `swr`, and qemu runs each of them
/// through a helper that stores byte by byte (docs/bench.md).
pub(crate) fn xor_words(data: &mut [u8], stream: &[u8]) {
    const W: usize = core::mem::size_of::<usize>();
    let stream = &stream[..data.len()];
    let (head, words, tail) = bytemuck::pod_align_to_mut::<u8, usize>(data);
    let (head_ks, rest) = stream.split_at(head.len());
    let (words_ks, tail_ks) = rest.split_at(words.len() * W);
    for (d, k) in head.iter_mut().zip(head_ks) {
        *d ^= k;
    }
    match bytemuck::try_cast_slice::<u8, usize>(words_ks) {
        Ok(keys) => {
            for (d, k) in words.iter_mut().zip(keys) {
                *d ^= k;
            }
        }
        // The data's words do not start at a word of the keystream (a payload that is not at a
        // word boundary): read the keystream unaligned.
        Err(_) => {
            for (d, k) in words.iter_mut().zip(words_ks.chunks_exact(W)) {
                let mut b = [0u8; W];
                b.copy_from_slice(k);
                *d ^= usize::from_ne_bytes(b);
            }
        }
    }
    for (d, k) in tail.iter_mut().zip(tail_ks) {
        *d ^= k;
    }
}

/// XORs `core`'s keystream from its current block on into `data`, asking for `ks.len()`
/// blocks at a time (what its SIMD or bitsliced backend computes in parallel), and leaves
/// the core at the block after the last one used: the rest of a last partial block is
/// dropped. The keystream is the crate's; the XOR is `xor_words`. Used by ChaCha20 here and
/// by AES-CTR and GCM in `aes_modes`. The caller wipes `ks`.
pub(crate) fn xor_keystream<C: StreamCipherCore>(
    core: &mut C,
    data: &mut [u8],
    ks: &mut [Block<C>],
) {
    let block = core::mem::size_of::<Block<C>>();
    if let [one] = ks {
        // One block at a time straight into the caller's aligned buffer, not through the
        // batch loop: the compiler then sees the alignment and a portable backend stores its
        // words with `sw`, not `swl` + `swr` (MIPS; docs/design.md).
        for chunk in data.chunks_mut(block) {
            core.write_keystream_block(one);
            xor_words(chunk, one);
        }
        return;
    }
    for chunk in data.chunks_mut(core::mem::size_of_val(ks)) {
        core.write_keystream_blocks(&mut ks[..chunk.len().div_ceil(block)]);
        xor_words(chunk, Array::slice_as_flattened(ks));
    }
}

/// ChaCha20's keystream into `buf` (on MIPS the crate's byte-wise XOR was a third of
/// ChaCha20's instructions, docs/bench.md).
fn apply_keystream(core: &mut ChaCha20LegacyCore, buf: &mut [u8]) {
    let mut ks = Keystream(Default::default());
    xor_keystream(core, buf, &mut ks.0);
    // The first chunk wrote the most blocks (a packet's 4-byte length: one).
    let used = buf
        .len()
        .div_ceil(core::mem::size_of::<Block<ChaCha20LegacyCore>>());
    Array::slice_as_flattened_mut(&mut ks.0[..used.min(PAR_BLOCKS)]).zeroize();
}

/// Poly1305 of `data` (any length, RFC 8439's padding of the last block). Whole blocks go
/// through `update`, which hands the AVX2 backend four at a time; `compute_unpadded` alone
/// feeds it one block per call (3.2 GB/s against 4.2 over 32 KiB, docs/design.md).
fn poly1305_tag(mut mac: Poly1305, data: &[u8]) -> [u8; TAG_LEN] {
    let (blocks, rest) = poly1305::Block::slice_as_chunks(data);
    mac.update(blocks);
    mac.compute_unpadded(rest).into()
}

impl ChaChaPoly {
    pub fn new(key: &[u8; KEY_LEN]) -> Self {
        let mut c = ChaChaPoly {
            payload_key: [0; 32],
            length_key: [0; 32],
        };
        c.payload_key.copy_from_slice(&key[..32]);
        c.length_key.copy_from_slice(&key[32..]);
        c
    }

    /// Decrypts the 4-byte packet length field of packet number `seq`.
    pub fn decrypt_length(&self, seq: u32, enc: &[u8; 4]) -> u32 {
        let mut len = *enc;
        apply_keystream(&mut chacha(&self.length_key, seq), &mut len);
        u32::from_be_bytes(len)
    }

    /// The payload cipher positioned at block 1, and the Poly1305 keyed with the first 32
    /// bytes of block 0.
    fn payload_start(&self, seq: u32) -> (ChaCha20LegacyCore, Poly1305) {
        let mut cipher = chacha(&self.payload_key, seq);
        let mut block0 = Block::<ChaCha20LegacyCore>::default();
        cipher.write_keystream_block(&mut block0);
        let mut poly_key = [0u8; 32];
        poly_key.copy_from_slice(&block0[..32]);
        let mac = Poly1305::new((&poly_key).into());
        block0.as_mut_slice().zeroize();
        poly_key.zeroize();
        (cipher, mac)
    }

    /// `buf` is the encrypted length (4 bytes) followed by the encrypted rest of the packet;
    /// checks `tag` in constant time over all of `buf`, then decrypts `buf[4..]` in place.
    /// On a bad tag `buf` is left untouched.
    pub fn open(&self, seq: u32, buf: &mut [u8], tag: &[u8; TAG_LEN]) -> Result<(), BadTag> {
        let (mut cipher, mac) = self.payload_start(seq);
        let expected = poly1305_tag(mac, buf);
        if !bool::from(expected.ct_eq(tag)) {
            return Err(BadTag);
        }
        let start = buf.len().min(4);
        apply_keystream(&mut cipher, &mut buf[start..]);
        Ok(())
    }

    /// `buf` is the plain length (4 bytes) followed by the plain rest of the packet; encrypts
    /// all of it in place and returns the tag.
    pub fn seal(&self, seq: u32, buf: &mut [u8]) -> [u8; TAG_LEN] {
        let (len, rest) = buf.split_at_mut(buf.len().min(4));
        apply_keystream(&mut chacha(&self.length_key, seq), len);
        let (mut cipher, mac) = self.payload_start(seq);
        apply_keystream(&mut cipher, rest);
        poly1305_tag(mac, buf)
    }
}

/// Test vectors' hex, as bytes (the chacha and AES tests share it).
#[cfg(test)]
fn unhex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn test_key() -> [u8; KEY_LEN] {
        core::array::from_fn(|i| i as u8 + 1)
    }

    /// Produced by scripts/aead-vector.py in the quoll repository (Python `cryptography`, an independent
    /// ChaCha20 and Poly1305).
    #[test]
    fn aead_known_answer() {
        let seq = 0x0102_0304;
        let plain = unhex(
            "000000880a71756f6c6c206b6e6f776e2d616e7377657220746573743a20000102030405060708090a0b\
             0c0d0e0f101112131415161718191a1b1c1d1e1f202122232425262728292a2b2c2d2e2f3031323334\
             35363738393a3b3c3d3e3f404142434445464748494a4b4c4d4e4f505152535455565758595a5b5c5d\
             5e5f60616263a0a1a2a3a4a5a6a7a8a9",
        );
        let cipher_text = unhex(
            "ab83151a268e0d7e4cb1f19a3859f1e597dbfc89e1fdb93bd490246a8fa46b88d12e04b4467993e7e3\
             07661b3e5d1a17b1aa032d6a57cc59ac0d17b1b7f770a7818294e286deabb69d59558626eb2dd3f72d\
             5250e16ca1b78eff44e43d3d235d25f1cc45d5394a927d183d1ae48caebb87283203b31e652dafb847\
             db34e07ce42740eee80f0e487ced7ab2af",
        );
        let tag: [u8; 16] = unhex("c0ffd757defae024e5ea3a74a64718e2")
            .try_into()
            .unwrap();

        let c = ChaChaPoly::new(&test_key());
        let mut buf = plain.clone();
        assert_eq!(c.seal(seq, &mut buf), tag);
        assert_eq!(buf, cipher_text);

        let enc_len: [u8; 4] = buf[..4].try_into().unwrap();
        assert_eq!(c.decrypt_length(seq, &enc_len), 0x88);
        c.open(seq, &mut buf, &tag).unwrap();
        assert_eq!(buf[4..], plain[4..]);
    }

    /// A full-size packet, from the same script: the SIMD backends' whole batches and tails.
    /// The tag is over every ciphertext byte.
    #[test]
    fn aead_known_answer_long_packet() {
        let seq = 0x0A0B_0C0D;
        let plain: Vec<u8> = (0..4 + 32768 + 12).map(|i| (i * 7 + 3) as u8).collect();
        let c = ChaChaPoly::new(&test_key());
        let mut buf = plain.clone();
        let tag = c.seal(seq, &mut buf);
        assert_eq!(tag[..], unhex("19dd71f9cae6233ab090410e3967f235")[..]);
        assert_eq!(
            buf[1024..1040],
            unhex("2cca1e13e9bdd431448f0fee3b9206e8")[..]
        );
        assert_eq!(
            buf[buf.len() - 16..],
            unhex("1d674cbc1af285bd27365ffc1817df45")[..]
        );
        c.open(seq, &mut buf, &tag).unwrap();
        assert_eq!(buf[4..], plain[4..]);
    }

    /// The word-wise XOR against the crate's own byte-wise one (`ChaCha20Legacy`), at every
    /// length around a word, a block and the batch of blocks, from block 1 on.
    #[test]
    fn keystream_matches_the_crate() {
        use chacha20::cipher::{StreamCipher, StreamCipherSeek};
        let key = [7u8; 32];
        let mut lens: Vec<usize> = (0..=300).collect();
        lens.extend([511, 512, 513, 1023, 1024, 1025, 32768 + 3]);
        // This target's `apply_keystream` (`PAR_BLOCKS`), and `xor_keystream` with the batch
        // of every target (1: MIPS and armv7, 4: aarch64, 16: x86_64), so that each path runs
        // on every machine the tests run on. Every start within a word too.
        for batch in [None, Some(1), Some(4), Some(16)] {
            for (len, off) in lens.iter().flat_map(|&l| (0..8).map(move |o| (l, o))) {
                let data: Vec<u8> = (0..len).map(|i| (i * 31 + 5) as u8).collect();
                let mut space = std::vec![0u8; len + 8];
                space[off..off + len].copy_from_slice(&data);
                let mut core = chacha(&key, 9);
                let mut skip = Block::<ChaCha20LegacyCore>::default();
                core.write_keystream_block(&mut skip);
                let ours = &mut space[off..off + len];
                match batch {
                    None => apply_keystream(&mut core, ours),
                    Some(n) => {
                        let mut ks = std::vec![Block::<ChaCha20LegacyCore>::default(); n];
                        xor_keystream(&mut core, ours, &mut ks);
                    }
                }
                let mut theirs = data.clone();
                let nonce = 9u64.to_be_bytes();
                let mut c = chacha20::ChaCha20Legacy::new((&key).into(), (&nonce).into());
                c.seek(64u64);
                c.apply_keystream(&mut theirs);
                assert_eq!(
                    space[off..off + len],
                    theirs,
                    "batch {batch:?}, length {len} at offset {off}"
                );
            }
        }
    }

    /// Whole blocks through `update`, the rest through `compute_unpadded`: the crate's own
    /// `compute_unpadded` tag at every length around a block and the backend's four.
    #[test]
    fn poly1305_matches_the_crate() {
        let key = [11u8; 32];
        let data: Vec<u8> = (0..1200).map(|i| (i * 13 + 1) as u8).collect();
        for len in (0..=200).chain([1023, 1024, 1025, 1199]) {
            let want: [u8; TAG_LEN] = Poly1305::new((&key).into())
                .compute_unpadded(&data[..len])
                .into();
            assert_eq!(
                poly1305_tag(Poly1305::new((&key).into()), &data[..len]),
                want,
                "length {len}"
            );
        }
    }

    #[test]
    fn round_trip_many_sizes() {
        let c = ChaChaPoly::new(&test_key());
        for n in [4, 5, 16, 63, 64, 65, 127, 128, 1000, 35000] {
            let plain: Vec<u8> = (0..n).map(|i| (i * 7) as u8).collect();
            let mut buf = plain.clone();
            let seq = n as u32 * 3;
            let tag = c.seal(seq, &mut buf);
            if n > 4 {
                assert_ne!(buf[4..], plain[4..]);
            }
            let enc_len: [u8; 4] = buf[..4].try_into().unwrap();
            let plain_len = u32::from_be_bytes(plain[..4].try_into().unwrap());
            assert_eq!(c.decrypt_length(seq, &enc_len), plain_len);
            c.open(seq, &mut buf, &tag).unwrap();
            assert_eq!(buf[4..], plain[4..]);
        }
    }

    #[test]
    fn tampering_rejected() {
        let c = ChaChaPoly::new(&test_key());
        let mut sealed = b"\0\0\0\x10sixteen bytes!!".to_vec();
        let tag = c.seal(9, &mut sealed);

        // Any flipped bit: in the length, the body or the tag.
        for i in 0..sealed.len() * 8 {
            let mut buf = sealed.clone();
            buf[i / 8] ^= 1 << (i % 8);
            let before = buf.clone();
            assert_eq!(c.open(9, &mut buf, &tag), Err(BadTag));
            assert_eq!(buf, before, "buffer left untouched on a bad tag");
        }
        for i in 0..TAG_LEN * 8 {
            let mut bad = tag;
            bad[i / 8] ^= 1 << (i % 8);
            assert_eq!(c.open(9, &mut sealed.clone(), &bad), Err(BadTag));
        }
        // Right bytes, wrong sequence number; truncated packet.
        assert_eq!(c.open(10, &mut sealed.clone(), &tag), Err(BadTag));
        let mut short = sealed[..sealed.len() - 1].to_vec();
        assert_eq!(c.open(9, &mut short, &tag), Err(BadTag));
        // Wrong key.
        let other = ChaChaPoly::new(&[9; KEY_LEN]);
        assert_eq!(other.open(9, &mut sealed.clone(), &tag), Err(BadTag));
        c.open(9, &mut sealed, &tag).unwrap();
        assert_eq!(&sealed[4..], b"sixteen bytes!!");
    }
}
