//! User keys against known answers (Wycheproof), against OpenSSH's own keys, signatures and
//! certificates (testdata/, made by scripts/userkey-fixtures), and every refusal.

use super::*;
use crate::proto::crypto::Ed25519Key;
use crate::proto::wire::vec_string;

#[cfg_attr(not(any(feature = "rsa", feature = "ecdsa")), allow(dead_code))]
fn hex(s: &str) -> Vec<u8> {
    if s == "-" {
        return Vec::new();
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

#[cfg_attr(not(any(feature = "rsa", feature = "ecdsa")), allow(dead_code))]
fn mpint_of(v: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    let first = v.iter().position(|&b| b != 0).unwrap_or(v.len());
    let v = &v[first..];
    if v.first().is_some_and(|b| b & 0x80 != 0) {
        out.push(0);
    }
    out.extend_from_slice(v);
    out
}

fn blob(fields: &[&[u8]]) -> Vec<u8> {
    let mut out = Vec::new();
    for f in fields {
        vec_string(&mut out, f);
    }
    out
}

/// The blob of a testdata `.pub` line.
fn fixture(name: &str) -> Vec<u8> {
    let path = format!(
        "{}/src/proto/userkey/testdata/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    let text = std::fs::read_to_string(&path).unwrap();
    crate::base64::decode(text.split(' ').nth(1).unwrap()).unwrap()
}

fn testdata(name: &str) -> String {
    let path = format!(
        "{}/src/proto/userkey/testdata/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read_to_string(path).unwrap()
}

fn plain(b: &[u8]) -> PublicKey<'_> {
    match parse(b).unwrap() {
        UserKey::Plain(k) => k,
        #[allow(unreachable_patterns)]
        _ => panic!("a certificate"),
    }
}

/// An OpenSSH SSHSIG signature (`ssh-keygen -Y sign`, PROTOCOL.sshsig) of the fixture
/// message, checked with `verify`: the public key it names, the data OpenSSH signed, and
/// the signature blob.
fn check_sshsig(name: &str) -> Result<Signed, KeyError> {
    use sha2::{Digest, Sha256, Sha512};
    let armored = testdata(&format!("{name}.sshsig"));
    let body: String = armored
        .lines()
        .filter(|l| !l.starts_with("-----"))
        .collect();
    let raw = crate::base64::decode(&body).unwrap();
    let mut r = Reader::new(&raw);
    assert_eq!(r.bytes(6).unwrap(), b"SSHSIG");
    assert_eq!(r.u32().unwrap(), 1);
    let public = r.string().unwrap();
    let namespace = r.string().unwrap();
    let reserved = r.string().unwrap();
    let hash = r.string().unwrap();
    let sig = r.string().unwrap();
    assert_eq!(public, fixture(&format!("{name}.pub")).as_slice());
    let message = testdata("message.txt");
    let digest = match hash {
        b"sha512" => Sha512::digest(message.as_bytes()).to_vec(),
        b"sha256" => Sha256::digest(message.as_bytes()).to_vec(),
        _ => panic!("hash"),
    };
    let mut signed = b"SSHSIG".to_vec();
    for f in [namespace, reserved, hash, &digest] {
        vec_string(&mut signed, f);
    }
    let key = plain(public);
    let alg = SigAlg::from_name(Reader::new(sig).string().unwrap()).unwrap();
    let good = verify(&key, alg, &signed, sig);
    // The same signature over another message fails.
    signed[10] ^= 1;
    assert_eq!(verify(&key, alg, &signed, sig), Err(KeyError::BadSignature));
    good
}

#[test]
fn ed25519_sshsig_from_openssh_verifies() {
    assert_eq!(check_sshsig("ed25519"), Ok(Signed::default()));
}

#[test]
fn server_sig_algs_lists_exactly_what_is_verified() {
    assert_eq!(SERVER_SIG_ALGS, SIG_ALGS.join(","));
    for name in SIG_ALGS {
        assert!(SigAlg::from_name(name.as_bytes()).is_some(), "{name}");
    }
    for name in [
        "ssh-rsa",
        "ssh-dss",
        "rsa-sha2-256-cert-v01@openssh.com",
        "",
    ] {
        assert_eq!(SigAlg::from_name(name.as_bytes()), None, "{name}");
    }
    #[cfg(all(
        feature = "rsa",
        feature = "nistp384",
        feature = "nistp521",
        feature = "sk"
    ))]
    assert_eq!(
        SERVER_SIG_ALGS,
        "ssh-ed25519,sk-ssh-ed25519@openssh.com,ecdsa-sha2-nistp256,ecdsa-sha2-nistp384,\
         ecdsa-sha2-nistp521,sk-ecdsa-sha2-nistp256@openssh.com,rsa-sha2-512,rsa-sha2-256"
    );
    #[cfg(not(any(feature = "rsa", feature = "ecdsa", feature = "sk")))]
    assert_eq!(SERVER_SIG_ALGS, "ssh-ed25519");
}

#[test]
fn ed25519_parse_and_verify() {
    let key = Ed25519Key::from_seed(&[3; 32]);
    let b = key.public_blob();
    assert_eq!(plain(&b), PublicKey::Ed25519(key.public_key()));
    let sig = key.sign_blob(b"msg");
    let k = plain(&b);
    assert_eq!(
        verify(&k, SigAlg::Ed25519, b"msg", &sig),
        Ok(Signed::default())
    );
    assert_eq!(
        verify(&k, SigAlg::Ed25519, b"msh", &sig),
        Err(KeyError::BadSignature)
    );
    let mut long = sig.to_vec();
    long.push(0);
    assert_eq!(
        verify(&k, SigAlg::Ed25519, b"msg", &long),
        Err(KeyError::Malformed)
    );
    // Another kind's algorithm, named by the caller or in the blob.
    #[cfg(feature = "rsa")]
    assert_eq!(
        verify(&k, SigAlg::RsaSha256, b"msg", &sig),
        Err(KeyError::WrongAlgorithm)
    );
}

#[test]
fn truncated_blobs_refused_at_every_length() {
    #[allow(unused_mut)]
    let mut blobs = vec![Ed25519Key::from_seed(&[3; 32]).public_blob().to_vec()];
    #[cfg(feature = "rsa")]
    blobs.push(fixture("rsa2048.pub"));
    #[cfg(feature = "ecdsa")]
    blobs.push(fixture("ecdsa256.pub"));
    #[cfg(feature = "certs")]
    blobs.push(fixture("ed25519-cert.pub"));
    for b in blobs {
        assert!(parse(&b).is_ok());
        for n in 0..b.len() {
            assert!(parse(&b[..n]).is_err(), "{n} of {}", b.len());
        }
        let mut long = b.clone();
        long.push(0);
        assert_eq!(parse(&long), Err(KeyError::Malformed));
    }
    assert_eq!(
        parse(&blob(&[b"ssh-dss", b"x"])),
        Err(KeyError::UnknownType)
    );
    let mut huge = blob(&[b"ssh-ed25519"]);
    huge.resize(MAX_KEY_BLOB + 1, 0);
    assert_eq!(parse(&huge), Err(KeyError::Malformed));
}

#[test]
fn mpints_must_be_minimal_and_positive() {
    assert_eq!(mpint(&[]), Ok(&[][..]));
    assert_eq!(mpint(&[1]), Ok(&[1][..]));
    assert_eq!(mpint(&[0, 0x80]), Ok(&[0x80][..]));
    assert_eq!(mpint(&[0x80]), Err(KeyError::Malformed));
    assert_eq!(mpint(&[0]), Err(KeyError::Malformed));
    assert_eq!(mpint(&[0, 1]), Err(KeyError::Malformed));
}

#[test]
fn signature_alg_maps_request_names() {
    let ed = Ed25519Key::from_seed(&[3; 32]).public_blob();
    let ed = parse(&ed).unwrap();
    assert_eq!(signature_alg(b"ssh-ed25519", &ed), Some(SigAlg::Ed25519));
    assert_eq!(
        signature_alg(b"ssh-ed25519-cert-v01@openssh.com", &ed),
        None
    );
    assert_eq!(signature_alg(b"ssh-rsa", &ed), None);
    assert_eq!(signature_alg(b"rsa-sha2-256", &ed), None);
}

#[cfg(feature = "rsa")]
mod rsa_keys {
    use super::*;

    fn rsa_blob(e: &[u8], n: &[u8]) -> Vec<u8> {
        blob(&[b"ssh-rsa", &mpint_of(e), &mpint_of(n)])
    }

    /// The modulus of the rsa2048 fixture.
    fn n2048() -> Vec<u8> {
        match plain(&fixture("rsa2048.pub")) {
            PublicKey::Rsa { n, .. } => n.to_vec(),
            k => panic!("{k:?}"),
        }
    }

    #[test]
    fn wycheproof_pkcs1_v1_5_2048_sha256_sha512() {
        let text = testdata("wycheproof_rsa_2048.txt");
        let (mut key, mut alg) = (Vec::new(), SigAlg::RsaSha256);
        let (mut valid, mut invalid) = (0, 0);
        for line in text.lines().filter(|l| !l.starts_with('#')) {
            let f: Vec<&str> = line.split(' ').collect();
            if f[0] == "key" {
                key = rsa_blob(&hex(f[2]), &hex(f[1]));
                alg = match f[3] {
                    "sha256" => SigAlg::RsaSha256,
                    _ => SigAlg::RsaSha512,
                };
                continue;
            }
            let k = plain(&key);
            let sig = blob(&[alg.name().as_bytes(), &hex(f[3])]);
            let got = verify(&k, alg, &hex(f[2]), &sig);
            match f[1] {
                "v" => {
                    assert_eq!(got, Ok(Signed::default()), "tcId {}", f[0]);
                    valid += 1;
                }
                // "acceptable" is tcId 8 of each file: a DigestInfo without its NULL. OpenSSH
                // compares the DigestInfo whole and refuses it; so does quoll.
                _ => {
                    assert!(got.is_err(), "tcId {} verified", f[0]);
                    invalid += 1;
                }
            }
        }
        assert!(valid >= 17 && invalid >= 100, "{valid} {invalid}");
    }

    #[test]
    fn openssh_rsa_sshsig_verifies() {
        for name in ["rsa2048", "rsa4096"] {
            assert_eq!(check_sshsig(name), Ok(Signed::default()), "{name}");
        }
    }

    #[test]
    fn sha1_and_other_kinds_refused() {
        let b = fixture("rsa2048.pub");
        let k = parse(&b).unwrap();
        assert_eq!(signature_alg(b"rsa-sha2-512", &k), Some(SigAlg::RsaSha512));
        assert_eq!(signature_alg(b"rsa-sha2-256", &k), Some(SigAlg::RsaSha256));
        assert_eq!(signature_alg(b"ssh-rsa", &k), None);
        assert_eq!(signature_alg(b"ssh-ed25519", &k), None);
        assert_eq!(
            signature_alg(b"rsa-sha2-256-cert-v01@openssh.com", &k),
            None
        );
        // A signature blob naming ssh-rsa (SHA-1) is refused whatever the caller expects.
        let sig = blob(&[b"ssh-rsa", &[1; 256]]);
        assert_eq!(
            verify(k.key(), SigAlg::RsaSha256, b"m", &sig),
            Err(KeyError::WrongAlgorithm)
        );
        // Longer than the modulus.
        let sig = blob(&[b"rsa-sha2-256", &[1; 257]]);
        assert_eq!(
            verify(k.key(), SigAlg::RsaSha256, b"m", &sig),
            Err(KeyError::Malformed)
        );
    }

    #[test]
    fn bad_keys_refused() {
        let n = n2048();
        let e = [1u8, 0, 1];
        assert!(parse(&rsa_blob(&e, &n)).is_ok());
        let mut even = n.clone();
        *even.last_mut().unwrap() &= 0xfe;
        assert_eq!(parse(&rsa_blob(&e, &even)), Err(KeyError::RsaEvenModulus));
        for bad_e in [&[1u8][..], &[2], &[0], &[], &[1, 0, 0], &[3, 0, 0, 0, 1]] {
            assert_eq!(
                parse(&rsa_blob(bad_e, &n)),
                Err(KeyError::RsaBadExponent),
                "{bad_e:?}"
            );
        }
        // Modulus not longer than the exponent.
        let mut big_e = n.clone();
        big_e[0] |= 0x80;
        assert_eq!(parse(&rsa_blob(&big_e, &n)), Err(KeyError::RsaBadExponent));
        assert_eq!(parse(&rsa_blob(&n, &n)), Err(KeyError::RsaBadExponent));
        assert_eq!(
            parse(&rsa_blob(&e, &n[..128])),
            Err(KeyError::RsaTooSmall(1024))
        );
        let mut huge = vec![0xff; 1025];
        huge[0] = 1;
        assert_eq!(
            parse(&rsa_blob(&e, &huge)),
            Err(KeyError::RsaTooLarge(8193))
        );
        let mut max = vec![0xff; 1024];
        max[0] = 0xc1;
        assert!(parse(&rsa_blob(&e, &max)).is_ok());
        // A negative modulus, a non-minimal exponent.
        assert_eq!(
            parse(&blob(&[b"ssh-rsa", &[1, 0, 1], &n])),
            Err(KeyError::Malformed)
        );
        assert_eq!(
            parse(&blob(&[b"ssh-rsa", &[0, 1, 0, 1], &mpint_of(&n)])),
            Err(KeyError::Malformed)
        );
    }

    #[test]
    fn a_short_signature_is_padded_as_openssh_does() {
        // A signature whose first byte is zero verifies whole and one byte short (OpenSSH
        // pads it); a byte too long or another byte dropped does not.
        let text = testdata("rsa_leading_zero.txt");
        let f: Vec<&str> = text.lines().nth(1).unwrap().split(' ').collect();
        let b = rsa_blob(&hex(f[1]), &hex(f[0]));
        let k = plain(&b);
        let (msg, sig) = (hex(f[2]), hex(f[3]));
        assert_eq!(sig[0], 0);
        let check =
            |sig: &[u8]| verify(&k, SigAlg::RsaSha256, &msg, &blob(&[b"rsa-sha2-256", sig]));
        assert_eq!(check(&sig), Ok(Signed::default()));
        assert_eq!(check(&sig[1..]), Ok(Signed::default()));
        assert_eq!(check(&sig[2..]), Err(KeyError::BadSignature));
        let mut with_zero = vec![0];
        with_zero.extend_from_slice(&sig);
        assert_eq!(check(&with_zero), Err(KeyError::Malformed));
    }
}

#[cfg(feature = "ecdsa")]
mod ecdsa_keys {
    use super::*;

    fn ec_blob(point: &[u8]) -> Vec<u8> {
        blob(&[b"ecdsa-sha2-nistp256", b"nistp256", point])
    }

    fn ec_sig(r: &[u8], s: &[u8]) -> Vec<u8> {
        blob(&[b"ecdsa-sha2-nistp256", &blob(&[&mpint_of(r), &mpint_of(s)])])
    }

    #[test]
    fn wycheproof_p256_sha256() {
        let text = testdata("wycheproof_ecdsa_p256.txt");
        let mut key = Vec::new();
        let (mut valid, mut invalid) = (0, 0);
        for line in text.lines().filter(|l| !l.starts_with('#')) {
            let f: Vec<&str> = line.split(' ').collect();
            if f[0] == "key" {
                key = ec_blob(&hex(f[1]));
                continue;
            }
            let k = plain(&key);
            let sig = ec_sig(&hex(f[3]), &hex(f[4]));
            let got = verify(&k, SigAlg::Ecdsa(Curve::P256), &hex(f[2]), &sig);
            if f[1] == "v" {
                assert_eq!(got, Ok(Signed::default()), "tcId {}", f[0]);
                valid += 1;
            } else {
                assert!(got.is_err(), "tcId {} verified", f[0]);
                invalid += 1;
            }
        }
        assert!(valid > 150 && invalid > 50, "{valid} {invalid}");
    }

    #[test]
    fn openssh_ecdsa_sshsig_verifies() {
        assert_eq!(check_sshsig("ecdsa256"), Ok(Signed::default()));
        #[cfg(feature = "nistp384")]
        assert_eq!(check_sshsig("ecdsa384"), Ok(Signed::default()));
        #[cfg(feature = "nistp521")]
        assert_eq!(check_sshsig("ecdsa521"), Ok(Signed::default()));
    }

    fn point256() -> Vec<u8> {
        match plain(&fixture("ecdsa256.pub")) {
            PublicKey::Ecdsa { point, .. } => point.to_vec(),
            k => panic!("{k:?}"),
        }
    }

    #[test]
    fn bad_points_refused() {
        let p = point256();
        assert!(parse(&ec_blob(&p)).is_ok());
        let mut off = p.clone();
        off[64] ^= 1;
        assert_eq!(parse(&ec_blob(&off)), Err(KeyError::BadPoint));
        // The point at infinity, as SEC1 encodes it, and as all zeros.
        assert_eq!(parse(&ec_blob(&[0])), Err(KeyError::BadPoint));
        let mut zeros = vec![0u8; 65];
        zeros[0] = 4;
        assert_eq!(parse(&ec_blob(&zeros)), Err(KeyError::BadPoint));
        // Compressed form; a coordinate of p (not below the field prime).
        let mut compressed = vec![2 + (p[64] & 1)];
        compressed.extend_from_slice(&p[1..33]);
        assert_eq!(parse(&ec_blob(&compressed)), Err(KeyError::BadPoint));
        let mut big_x = p.clone();
        big_x[1..33].copy_from_slice(&hex(
            "ffffffff00000001000000000000000000000000ffffffffffffffffffffffff",
        ));
        assert_eq!(parse(&ec_blob(&big_x)), Err(KeyError::BadPoint));
        // The curve named in the blob must be the type's.
        assert_eq!(
            parse(&blob(&[b"ecdsa-sha2-nistp256", b"nistp384", &p])),
            Err(KeyError::Malformed)
        );
    }

    #[test]
    fn r_and_s_out_of_range_refused() {
        let b = ec_blob(&point256());
        let k = plain(&b);
        let n = hex("ffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551");
        let one = [1u8];
        let alg = SigAlg::Ecdsa(Curve::P256);
        for (r, s) in [
            (&[][..], &one[..]),
            (&one[..], &[][..]),
            (&n[..], &one[..]),
            (&one[..], &n[..]),
            (&[1u8; 33][..], &one[..]),
        ] {
            assert_eq!(
                verify(&k, alg, b"m", &ec_sig(r, s)),
                Err(KeyError::BadScalar),
                "{r:?} {s:?}"
            );
        }
        // In range, but wrong.
        assert_eq!(
            verify(&k, alg, b"m", &ec_sig(&one, &one)),
            Err(KeyError::BadSignature)
        );
        // A negative r, and trailing bytes after s.
        let neg = blob(&[b"ecdsa-sha2-nistp256", &blob(&[&[0x80], &one])]);
        assert_eq!(verify(&k, alg, b"m", &neg), Err(KeyError::Malformed));
        let mut inner = blob(&[&one, &one]);
        inner.push(0);
        let trailing = blob(&[b"ecdsa-sha2-nistp256", &inner]);
        assert_eq!(verify(&k, alg, b"m", &trailing), Err(KeyError::Malformed));
        // Another curve's algorithm.
        #[cfg(feature = "nistp384")]
        assert_eq!(
            verify(&k, SigAlg::Ecdsa(Curve::P384), b"m", &ec_sig(&one, &one)),
            Err(KeyError::WrongAlgorithm)
        );
    }
}

#[cfg(feature = "sk")]
mod sk_keys {
    use super::*;

    fn sk_sig(name: &[u8], sig: &[u8], flags: u8, counter: u32) -> Vec<u8> {
        let mut out = blob(&[name, sig]);
        out.push(flags);
        out.extend_from_slice(&counter.to_be_bytes());
        out
    }

    #[test]
    fn sk_ed25519_signs_application_flags_counter_and_message_hash() {
        let key = Ed25519Key::from_seed(&[9; 32]);
        let b = blob(&[b"sk-ssh-ed25519@openssh.com", &key.public_key(), b"ssh:"]);
        let k = plain(&b);
        assert_eq!(
            k,
            PublicKey::SkEd25519 {
                key: key.public_key(),
                application: b"ssh:"
            }
        );
        let alg = SigAlg::SkEd25519;
        for (flags, counter) in [
            (SK_USER_PRESENT, 5),
            (0, 6),
            (SK_USER_PRESENT | SK_USER_VERIFIED, 7),
        ] {
            let data = sk::signed_data(b"ssh:", SkSigned { flags, counter }, b"msg");
            let sig = sk_sig(alg.name().as_bytes(), &key.sign(&data), flags, counter);
            let got = verify(&k, alg, b"msg", &sig).unwrap().sk.unwrap();
            assert_eq!(got, SkSigned { flags, counter });
            assert_eq!(got.satisfies(true, false), flags & SK_USER_PRESENT != 0);
            assert!(got.satisfies(false, false));
            assert_eq!(got.satisfies(false, true), flags & SK_USER_VERIFIED != 0);
            // Flags or counter changed after signing.
            let bad = sk_sig(alg.name().as_bytes(), &key.sign(&data), flags ^ 1, counter);
            assert_eq!(verify(&k, alg, b"msg", &bad), Err(KeyError::BadSignature));
            let bad = sk_sig(alg.name().as_bytes(), &key.sign(&data), flags, counter + 1);
            assert_eq!(verify(&k, alg, b"msg", &bad), Err(KeyError::BadSignature));
            // Without the trailer.
            let short = blob(&[alg.name().as_bytes(), &key.sign(&data)]);
            assert_eq!(verify(&k, alg, b"msg", &short), Err(KeyError::Malformed));
        }
        // The plain Ed25519 algorithm is not this key's.
        let parsed = parse(&b).unwrap();
        assert_eq!(signature_alg(b"ssh-ed25519", &parsed), None);
        assert_eq!(
            signature_alg(b"sk-ssh-ed25519@openssh.com", &parsed),
            Some(alg)
        );
    }

    #[cfg(feature = "ecdsa")]
    #[test]
    fn sk_ecdsa_p256() {
        use p256::ecdsa::signature::Signer;
        let signer = p256::ecdsa::SigningKey::from_slice(&[7; 32]).unwrap();
        let point = signer.verifying_key().to_sec1_point(false);
        let b = blob(&[
            b"sk-ecdsa-sha2-nistp256@openssh.com",
            b"nistp256",
            point.as_bytes(),
            b"ssh:",
        ]);
        let k = plain(&b);
        let alg = SigAlg::SkEcdsa;
        let sk = SkSigned {
            flags: SK_USER_PRESENT,
            counter: 42,
        };
        let data = sk::signed_data(b"ssh:", sk, b"msg");
        let sig: p256::ecdsa::Signature = signer.sign(&data);
        let (r, s) = sig.split_bytes();
        let inner = blob(&[&mpint_of(&r), &mpint_of(&s)]);
        let good = sk_sig(alg.name().as_bytes(), &inner, sk.flags, sk.counter);
        assert_eq!(verify(&k, alg, b"msg", &good), Ok(Signed { sk: Some(sk) }));
        assert_eq!(verify(&k, alg, b"msh", &good), Err(KeyError::BadSignature));
        let bad = sk_sig(alg.name().as_bytes(), &inner, 0, sk.counter);
        assert_eq!(verify(&k, alg, b"msg", &bad), Err(KeyError::BadSignature));
        // A bad point is refused at parse, as for plain ECDSA.
        let mut off = point.as_bytes().to_vec();
        off[64] ^= 1;
        let b = blob(&[
            b"sk-ecdsa-sha2-nistp256@openssh.com",
            b"nistp256",
            &off,
            b"ssh:",
        ]);
        assert_eq!(parse(&b), Err(KeyError::BadPoint));
    }
}

#[cfg(feature = "certs")]
mod certs {
    use super::*;

    /// 2026-01-01T00:00:00Z; the fixtures are valid from 2020 to 2040.
    const NOW: u64 = 1_767_225_600;

    fn cert(b: &[u8]) -> Certificate<'_> {
        match parse(b).unwrap() {
            UserKey::Cert(c) => c,
            k => panic!("{k:?}"),
        }
    }

    /// The blob with its signature key replaced (the CA signature left as it is).
    fn with_signature_key(b: &[u8], ca: &[u8]) -> Vec<u8> {
        let c = cert(b);
        let head = c.signed.len() - 4 - c.signature_key.len();
        let mut out = b[..head].to_vec();
        vec_string(&mut out, ca);
        vec_string(&mut out, c.signature);
        out
    }

    #[test]
    fn openssh_ed25519_certificate() {
        let b = fixture("ed25519-cert.pub");
        let c = cert(&b);
        assert_eq!(c.key, plain(&fixture("ed25519.pub")));
        assert_eq!(c.signature_key, fixture("ca_ed25519.pub").as_slice());
        assert_eq!(
            (c.serial, c.cert_type, c.key_id),
            (7, 1, &b"quoll ed25519"[..])
        );
        let names: Vec<&[u8]> = c.principals().collect();
        assert_eq!(names, [&b"alice"[..], b"bob"]);
        let k = parse(&b).unwrap();
        assert!(k.is_cert());
        assert_eq!(k.type_name(), "ssh-ed25519-cert-v01@openssh.com");
        assert_eq!(
            signature_alg(b"ssh-ed25519-cert-v01@openssh.com", &k),
            Some(SigAlg::Ed25519)
        );
        assert_eq!(signature_alg(b"ssh-ed25519", &k), None);
        let grant = c.check(NOW, Principals::User("alice")).unwrap();
        // ssh-keygen's default extensions.
        assert_eq!(
            grant,
            CertGrant {
                permit_pty: true,
                permit_port_forwarding: true,
                permit_agent_forwarding: true,
                permit_x11_forwarding: true,
                permit_user_rc: true,
                ..Default::default()
            }
        );
        assert!(c.check(NOW, Principals::User("bob")).is_ok());
        assert!(c.check(NOW, Principals::UserOrNone("bob")).is_ok());
        assert!(c.check(NOW, Principals::AnyOf("carol,bob")).is_ok());
        for who in [
            Principals::User("carol"),
            Principals::User("alic"),
            Principals::UserOrNone("carol"),
            Principals::AnyOf("carol,alice2"),
        ] {
            assert_eq!(c.check(NOW, who), Err(CertError::WrongPrincipal), "{who:?}");
        }
    }

    #[test]
    fn validity_interval() {
        let b = fixture("ed25519-cert.pub");
        let c = cert(&b);
        let alice = Principals::User("alice");
        assert!(c.check(c.valid_after, alice).is_ok());
        assert!(c.check(c.valid_before - 1, alice).is_ok());
        assert_eq!(
            c.check(c.valid_after - 1, alice),
            Err(CertError::NotYetValid)
        );
        assert_eq!(c.check(c.valid_before, alice), Err(CertError::Expired));
        let b = fixture("ed25519-expired-cert.pub");
        assert_eq!(cert(&b).check(NOW, alice), Err(CertError::Expired));
    }

    #[test]
    fn a_certificate_listing_no_principal_is_only_for_cert_authority_lines() {
        let b = fixture("ed25519-anyone-cert.pub");
        let c = cert(&b);
        assert_eq!(c.principals().count(), 0);
        assert!(c.check(NOW, Principals::UserOrNone("anyone")).is_ok());
        assert_eq!(
            c.check(NOW, Principals::User("anyone")),
            Err(CertError::WrongPrincipal)
        );
        assert_eq!(
            c.check(NOW, Principals::AnyOf("anyone")),
            Err(CertError::WrongPrincipal)
        );
    }

    #[test]
    fn host_certificates_and_unknown_critical_options_refused() {
        let alice = Principals::User("alice");
        let b = fixture("ed25519-host-cert.pub");
        assert_eq!(cert(&b).check(NOW, alice), Err(CertError::NotUserCert));
        let b = fixture("ed25519-critical-cert.pub");
        assert_eq!(
            cert(&b).check(NOW, alice),
            Err(CertError::UnknownCriticalOption)
        );
    }

    #[test]
    fn extensions_and_critical_options_returned() {
        let b = fixture("ed25519-notouch-cert.pub");
        let grant = cert(&b).check(NOW, Principals::User("alice")).unwrap();
        assert_eq!(
            grant,
            CertGrant {
                no_touch_required: true,
                ..Default::default()
            }
        );
    }

    #[cfg(feature = "ecdsa")]
    #[test]
    fn openssh_ecdsa_certificate_with_force_command_and_source_address() {
        let b = fixture("ecdsa256-cert.pub");
        let c = cert(&b);
        assert_eq!(c.signature_key, fixture("ca_ecdsa.pub").as_slice());
        let grant = c.check(NOW, Principals::User("alice")).unwrap();
        assert_eq!(
            grant,
            CertGrant {
                force_command: Some("/bin/true"),
                source_address: Some("127.0.0.1/32,10.0.0.0/8"),
                permit_pty: true,
                ..Default::default()
            }
        );
    }

    #[cfg(feature = "rsa")]
    #[test]
    fn openssh_rsa_certificates_by_an_rsa_ca_with_both_hashes() {
        for (name, ca_alg) in [
            ("rsa2048-sha256", "rsa-sha2-256"),
            ("rsa2048-sha512", "rsa-sha2-512"),
        ] {
            let b = fixture(&format!("{name}-cert.pub"));
            let c = cert(&b);
            assert_eq!(
                Reader::new(c.signature).string().unwrap(),
                ca_alg.as_bytes()
            );
            assert!(c.check(NOW, Principals::User("alice")).is_ok(), "{name}");
            let k = parse(&b).unwrap();
            assert_eq!(k.type_name(), "ssh-rsa-cert-v01@openssh.com");
            assert_eq!(
                signature_alg(b"rsa-sha2-512-cert-v01@openssh.com", &k),
                Some(SigAlg::RsaSha512)
            );
            assert_eq!(signature_alg(b"ssh-rsa-cert-v01@openssh.com", &k), None);
            assert_eq!(signature_alg(b"rsa-sha2-512", &k), None);
        }
        // The CA signature renamed to SHA-1 ssh-rsa: refused.
        let b = fixture("rsa2048-sha256-cert.pub");
        let c = cert(&b);
        let mut sig = Reader::new(c.signature);
        sig.string().unwrap();
        let renamed = blob(&[b"ssh-rsa", sig.string().unwrap()]);
        let head = c.signed.len();
        let mut b2 = b[..head].to_vec();
        vec_string(&mut b2, &renamed);
        assert_eq!(
            cert(&b2).check(NOW, Principals::User("alice")),
            Err(CertError::CaSignatureKind)
        );
    }

    #[test]
    fn a_ca_signature_of_another_kind_or_by_another_key_is_refused() {
        let b = fixture("ed25519-cert.pub");
        let alice = Principals::User("alice");
        // The CA blob says ECDSA (or RSA), the signature is Ed25519.
        #[cfg(feature = "ecdsa")]
        {
            let forged = with_signature_key(&b, &fixture("ca_ecdsa.pub"));
            assert_eq!(
                cert(&forged).check(NOW, alice),
                Err(CertError::CaSignatureKind)
            );
        }
        #[cfg(feature = "rsa")]
        {
            let forged = with_signature_key(&b, &fixture("ca_rsa.pub"));
            assert_eq!(
                cert(&forged).check(NOW, alice),
                Err(CertError::CaSignatureKind)
            );
        }
        // Another Ed25519 CA (one not trusted would be; here its signature fails).
        let other = Ed25519Key::from_seed(&[5; 32]).public_blob();
        let forged = with_signature_key(&b, &other);
        assert_eq!(
            cert(&forged).check(NOW, alice),
            Err(CertError::BadCaSignature(KeyError::BadSignature))
        );
        // A signed field changed: the key id.
        let c = cert(&b);
        let at = b.windows(13).position(|w| w == b"quoll ed25519").unwrap();
        let mut changed = b.clone();
        changed[at] ^= 1;
        assert_eq!(
            cert(&changed).check(NOW, alice),
            Err(CertError::BadCaSignature(KeyError::BadSignature))
        );
        assert!(c.check(NOW, alice).is_ok());
        // A certificate cannot be a CA.
        let nested = with_signature_key(&b, &b);
        assert!(parse(&nested).is_err());
    }
}
