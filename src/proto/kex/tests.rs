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
    // Right only when both sides' first choices agree (RFC 4253 §7, as OpenSSH reads it).
    let p = client_kexinit(
        KEX_ALGS[0],
        "ssh-ed25519",
        "chacha20-poly1305@openssh.com",
        true,
    );
    assert!(!negotiate(&p, true).unwrap().ignore_guess);
    #[cfg(feature = "mlkem")]
    {
        let p = client_kexinit(
            "curve25519-sha256",
            "ssh-ed25519",
            "chacha20-poly1305@openssh.com",
            true,
        );
        assert!(negotiate(&p, true).unwrap().ignore_guess);
    }
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
    // Nothing cut off: the last field (reserved) is in place.
    assert!(ours.payload().ends_with(&[0, 0, 0, 0, 0]));
    assert_eq!(o.algs.kex, Method::named(KEX_ALGS[0]));
}

#[test]
fn the_client_order_picks_the_method() {
    let p = client_kexinit(
        "curve25519-sha256@libssh.org,mlkem768x25519-sha256",
        "ssh-ed25519",
        "chacha20-poly1305@openssh.com",
        false,
    );
    assert_eq!(negotiate(&p, true).unwrap().algs.kex, Method::Curve25519);
}

fn init(q_c: &[u8]) -> Vec<u8> {
    let mut p = vec![msg::KEX_ECDH_INIT];
    crate::proto::wire::vec_string(&mut p, q_c);
    p
}

fn algs(kex: Method) -> Negotiated {
    let d = CIPHERS[0].1;
    let d = DirectionAlgs {
        cipher: d,
        mac: None,
    };
    Negotiated {
        kex,
        c2s: d,
        s2c: d,
    }
}

fn hash() -> ExchangeHash {
    ExchangeHash::start(b"SSH-2.0-c", b"SSH-2.0-s", b"i_c", b"i_s", b"blob")
}

#[test]
fn curve25519_shares_are_32_bytes() {
    let eph = || X25519Secret::from_random([3; 32]);
    let client = X25519Secret::from_random([9; 32]);
    let ex = ecdh(
        hash(),
        &init(&client.public_key()),
        eph(),
        &[0; 32],
        None,
        algs(Method::Curve25519),
    )
    .ok()
    .unwrap();
    assert_eq!(ex.q_s.as_slice(), eph().public_key());
    let q_s: [u8; 32] = ex.q_s.as_slice().try_into().unwrap();
    let k = Secret::mpint(client.agree(&q_s).unwrap());
    assert_eq!(ex.h, hash().finish(&client.public_key(), &q_s, &k));
    for bad in [&[0u8; 31][..], &[0; 33], &[0; 32]] {
        let r = ecdh(
            hash(),
            &init(bad),
            eph(),
            &[0; 32],
            None,
            algs(Method::Curve25519),
        );
        assert_eq!(r.err(), Some(KexError::BadPublicKey));
    }
}

#[cfg(feature = "mlkem")]
#[test]
fn mlkem768x25519_agrees_with_the_client() {
    use ml_kem::{Decapsulate, DecapsulationKey768, KeyExport};
    let dk = DecapsulationKey768::from_seed([5u8; 64].into());
    let x = X25519Secret::from_random([9; 32]);
    let mut q_c = dk.encapsulation_key().to_bytes().to_vec();
    q_c.extend_from_slice(&x.public_key());
    assert_eq!(q_c.len(), 1216);
    let eph = || X25519Secret::from_random([3; 32]);
    let alg = algs(Method::MlKem768X25519);
    let ex = ecdh(hash(), &init(&q_c), eph(), &[7; 32], None, alg)
        .ok()
        .unwrap();
    assert_eq!(ex.q_s.len(), 1120);
    assert_eq!(&ex.q_s[1088..], eph().public_key());
    // The client's side: decapsulate, agree, hash both secrets.
    let ct = ex.q_s[..1088].try_into().unwrap();
    let pq = dk.decapsulate(&ct);
    let classic = x.agree(&ex.q_s[1088..].try_into().unwrap()).unwrap();
    let mut d = Sha256::new();
    d.update(pq.as_slice());
    d.update(classic.0);
    let k = Secret::string(SharedSecret(d.finalize().into()));
    assert_eq!(ex.h, hash().finish(&q_c, &ex.q_s, &k));
    // Another seed, another ciphertext: the randomness is used.
    let other = ecdh(hash(), &init(&q_c), eph(), &[8; 32], None, alg)
        .ok()
        .unwrap();
    assert_ne!(other.q_s[..1088], ex.q_s[..1088]);
}

#[cfg(feature = "mlkem")]
fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// The values of scripts/mlkem-vector.py (kyber-py and OpenSSL, independent of quoll).
#[cfg(feature = "mlkem")]
#[test]
fn mlkem768x25519_known_answer() {
    use ml_kem::{DecapsulationKey768, KeyExport};
    let dk = DecapsulationKey768::from_seed([5u8; 64].into());
    let mut q_c = dk.encapsulation_key().to_bytes().to_vec();
    q_c.extend_from_slice(&X25519Secret::from_random([9; 32]).public_key());
    let alg = algs(Method::MlKem768X25519);
    let eph = X25519Secret::from_random([3; 32]);
    let ex = ecdh(hash(), &init(&q_c), eph, &[7; 32], None, alg)
        .ok()
        .unwrap();
    assert_eq!(
        hex(&Sha256::digest(&q_c)),
        "f95f7066540c43b946410e8c600bd3005e74e7451bc3d516704a287331e17497"
    );
    assert_eq!(
        hex(&Sha256::digest(&ex.q_s)),
        "9ab6989da943a9f6e2bda02771851f96acbf802c8fa20e2f4ade70acbed0c8ba"
    );
    assert_eq!(
        hex(&ex.h),
        "8923e48fe9521817d98879d8c062708b41667fc363e6148297f7daaaed489895"
    );
}

#[cfg(feature = "mlkem")]
#[test]
fn mlkem768x25519_refuses_bad_shares() {
    use ml_kem::{DecapsulationKey768, KeyExport};
    let dk = DecapsulationKey768::from_seed([5u8; 64].into());
    let good = {
        let mut v = dk.encapsulation_key().to_bytes().to_vec();
        v.extend_from_slice(&X25519Secret::from_random([9; 32]).public_key());
        v
    };
    let eph = || X25519Secret::from_random([3; 32]);
    let alg = algs(Method::MlKem768X25519);
    let mut cases: Vec<Vec<u8>> = vec![
        good[..1215].to_vec(),
        [&good[..], &[0]].concat(),
        good[1184..].to_vec(),
    ];
    // An X25519 key of small order: the all-zero shared secret.
    let mut zero = good.clone();
    zero[1184..].fill(0);
    cases.push(zero);
    // A coefficient of 4095 (>= q = 3329) fails FIPS 203's modulus check.
    let mut unreduced = good.clone();
    unreduced[0] = 0xff;
    unreduced[1] |= 0x0f;
    cases.push(unreduced);
    for bad in cases {
        let r = ecdh(hash(), &init(&bad), eph(), &[7; 32], None, alg);
        assert_eq!(r.err(), Some(KexError::BadPublicKey), "{} bytes", bad.len());
    }
}
