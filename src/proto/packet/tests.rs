use super::*;
use crate::proto::cipher::{ChaChaPoly, CipherAlg, DirectionAlgs, KeyMaterial, CIPHERS, MACS};

/// Every cipher (and for CTR every MAC) quoll offers, by name.
pub(crate) fn all_algs() -> Vec<(String, DirectionAlgs)> {
    let mut v = Vec::new();
    for &(name, cipher) in CIPHERS {
        if cipher.needs_mac() {
            for &(mac_name, mac) in MACS {
                let algs = DirectionAlgs {
                    cipher,
                    mac: Some(mac),
                };
                v.push((format!("{name} {mac_name}"), algs));
            }
        } else {
            v.push((name.to_string(), DirectionAlgs { cipher, mac: None }));
        }
    }
    v
}

fn cipher(algs: DirectionAlgs, seed: u8) -> Cipher {
    let (iv, key, mac) = ([seed; 64], [seed ^ 1; 64], [seed ^ 2; 64]);
    Cipher::new(
        algs,
        KeyMaterial {
            iv: &iv,
            key: &key,
            mac: &mac,
        },
    )
    .unwrap()
}

fn chacha(k: [u8; 64]) -> Cipher {
    Cipher::ChaChaPoly(ChaChaPoly::new(&k))
}

#[test]
fn a_payload_of_room_fits_after_a_partial_send() {
    // The socket took only part of the output: the free space is split between the front
    // and the tail, and `room()` counts both. Losing such a packet lost a router's data.
    let mut keys = vec![None];
    keys.extend(all_algs().into_iter().map(|(_, a)| Some(a)));
    for key in keys {
        for first in [0, 1, 100, 5_000, 20_000, 35_000, 60_000] {
            for sent in [1, 7, 1_000, 17_000, 34_000, 70_000] {
                let mut out = Output::new(crate::proto::limits::OUTPUT_BUFFER);
                if let Some(a) = key {
                    out.set_cipher(cipher(a, 9));
                }
                let n = first.min(out.room());
                out.packet(0, |w| w.raw(&vec![1; n])).unwrap();
                let n = out.room();
                out.packet(1, |w| w.raw(&vec![2; n])).unwrap();
                out.sent(sent.min(out.pending().len()));
                let room = out.room();
                if room == 0 {
                    // Nothing is promised: every message has at least one byte.
                    continue;
                }
                let before = out.pending().to_vec();
                out.packet(1, |w| w.raw(&vec![3; room]))
                    .unwrap_or_else(|e| {
                        panic!("first {first}, sent {sent}: {room} promised: {e:?}")
                    });
                // What was pending is still there, in order, before the new packet.
                assert_eq!(&out.pending()[..before.len()], &before[..]);
            }
        }
    }
}

fn roundtrip(key: Option<DirectionAlgs>) {
    let mut out = Output::new(100_000);
    let mut inp = Input::new();
    if let Some(a) = key {
        out.set_cipher(cipher(a, 7));
        inp.set_cipher(cipher(a, 7));
    }
    for i in 0..20u8 {
        out.packet(i, |w| w.raw(&vec![i; i as usize * 100]))
            .unwrap();
    }
    // Feed in odd-sized pieces.
    let data = out.pending().to_vec();
    let mut fed = 0;
    let mut got = 0u8;
    while got < 20 {
        if let Some((a, b)) = inp.next_packet().unwrap() {
            assert_eq!(&inp.payload_buf()[a..b], &vec![got; got as usize * 100][..]);
            inp.consume_packet();
            got += 1;
            continue;
        }
        let n = 7.min(data.len() - fed);
        inp.space()[..n].copy_from_slice(&data[fed..fed + n]);
        inp.filled(n);
        fed += n;
    }
    assert_eq!(inp.seq, 20);
}

#[test]
fn plain_roundtrip() {
    roundtrip(None);
}

#[test]
fn encrypted_roundtrip() {
    for (name, a) in all_algs() {
        eprintln!("{name}");
        roundtrip(Some(a));
    }
}

#[test]
fn padded_to_the_cipher_block() {
    for (name, a) in all_algs() {
        let c = cipher(a, 3);
        let (block, outside) = (c.block(), c.length_outside());
        let mut out = Output::new(10_000);
        out.set_cipher(c);
        for n in 0..40 {
            let before = out.pending().len();
            out.packet(n as u8, |w| w.raw(&vec![0; n])).unwrap();
            let wire = out.pending().len() - before - cipher(a, 3).tag_len();
            let padded = if outside { wire - 4 } else { wire };
            assert_eq!(padded % block, 0, "{name}, payload {n}");
        }
    }
}

#[test]
fn lying_length_refused_before_body() {
    let mut inp = Input::new();
    inp.space()[..4].copy_from_slice(&[0xff, 0xff, 0xff, 0xff]);
    inp.filled(4);
    assert_eq!(inp.next_packet(), Err(PacketError::BadLength));
    let mut inp = Input::new();
    inp.space()[..4].copy_from_slice(&35001u32.to_be_bytes());
    inp.filled(4);
    assert_eq!(inp.next_packet(), Err(PacketError::BadLength));
}

#[test]
fn bad_padding_refused() {
    let mut inp = Input::new();
    // length 12, padding 11: leaves no payload byte... padding 12 > length - 1.
    let pkt = [0, 0, 0, 12, 12, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];
    inp.space()[..16].copy_from_slice(&pkt);
    inp.filled(16);
    assert_eq!(inp.next_packet(), Err(PacketError::BadLength));
}

#[test]
fn tampered_packet_refused() {
    let k = [9u8; 64];
    let mut out = Output::new(10_000);
    out.set_cipher(chacha(k));
    out.packet(0, |w| w.raw(b"hello")).unwrap();
    let mut data = out.pending().to_vec();
    let last = data.len() - 1;
    data[last] ^= 1;
    let mut inp = Input::new();
    inp.set_cipher(chacha(k));
    inp.space()[..data.len()].copy_from_slice(&data);
    inp.filled(data.len());
    assert_eq!(inp.next_packet(), Err(PacketError::BadMac));
}

/// A flipped byte in the MAC or tag, or in the body, of the second packet under every
/// cipher: refused as a bad MAC, the first packet still good.
#[test]
fn tampered_packet_refused_every_cipher() {
    for (name, a) in all_algs() {
        for from_end in [1, 20] {
            let mut out = Output::new(10_000);
            out.set_cipher(cipher(a, 5));
            out.packet(0, |w| w.raw(b"first")).unwrap();
            let first = out.pending().len();
            out.packet(0, |w| w.raw(&[7; 40])).unwrap();
            let mut data = out.pending().to_vec();
            let at = data.len() - from_end;
            data[at] ^= 0x40;
            let mut inp = Input::new();
            inp.set_cipher(cipher(a, 5));
            inp.space()[..data.len()].copy_from_slice(&data);
            inp.filled(data.len());
            assert!(inp.next_packet().unwrap().is_some(), "{name}");
            inp.consume_packet();
            assert_eq!(inp.start, first);
            assert_eq!(
                inp.next_packet(),
                Err(PacketError::BadMac),
                "{name} -{from_end}"
            );
        }
    }
}

/// A length over the limit is refused from the first bytes, before the body (and so any
/// MAC over it) is there: in clear with EtM and GCM, from the first block with
/// encrypt-and-MAC.
#[test]
fn lying_length_refused_before_body_every_cipher() {
    for (name, a) in all_algs() {
        let c = cipher(a, 4);
        let mut inp = Input::new();
        let (block, outside) = (c.block(), c.length_outside());
        inp.set_cipher(c);
        let mut head = [0u8; 16];
        head[..4].copy_from_slice(&(MAX_PACKET as u32 + 16).to_be_bytes());
        if !outside || matches!(a.cipher, CipherAlg::ChaChaPoly) {
            // Encrypted length: seal a header with a sender holding the same keys.
            let mut out = Output::new(100_000);
            out.set_cipher(cipher(a, 4));
            out.packet(0, |w| w.raw(&[0; 100])).unwrap();
            let sealed = out.pending().to_vec();
            // The plain start of that packet, padded as `finish_packet` pads.
            let unpadded = if outside { 101 } else { 105 };
            let mut pad = block - unpadded % block;
            if pad < 4 {
                pad += block;
            }
            let mut plain = [0u8; 16];
            plain[..4].copy_from_slice(&(101 + pad as u32).to_be_bytes());
            plain[4] = pad as u8;
            // Same keystream: the lying header encrypts as that packet's start did.
            for i in 0..16 {
                head[i] ^= sealed[i] ^ plain[i];
            }
        }
        inp.space()[..16].copy_from_slice(&head);
        inp.filled(16);
        assert_eq!(inp.next_packet(), Err(PacketError::BadLength), "{name}");
    }
}
