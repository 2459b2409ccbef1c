//! The names: key types, certificate types, signature algorithms, and which go together.

use super::{Curve, KeyError};

/// A kind of public key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Ed25519,
    Rsa,
    Ecdsa(Curve),
    SkEd25519,
    SkEcdsa,
}

/// Every kind, built in or not, with its key blob name and its certificate blob name.
const KINDS: [(Kind, &str, &str); 7] = [
    (
        Kind::Ed25519,
        "ssh-ed25519",
        "ssh-ed25519-cert-v01@openssh.com",
    ),
    (Kind::Rsa, "ssh-rsa", "ssh-rsa-cert-v01@openssh.com"),
    (
        Kind::Ecdsa(Curve::P256),
        "ecdsa-sha2-nistp256",
        "ecdsa-sha2-nistp256-cert-v01@openssh.com",
    ),
    (
        Kind::Ecdsa(Curve::P384),
        "ecdsa-sha2-nistp384",
        "ecdsa-sha2-nistp384-cert-v01@openssh.com",
    ),
    (
        Kind::Ecdsa(Curve::P521),
        "ecdsa-sha2-nistp521",
        "ecdsa-sha2-nistp521-cert-v01@openssh.com",
    ),
    (
        Kind::SkEd25519,
        "sk-ssh-ed25519@openssh.com",
        "sk-ssh-ed25519-cert-v01@openssh.com",
    ),
    (
        Kind::SkEcdsa,
        "sk-ecdsa-sha2-nistp256@openssh.com",
        "sk-ecdsa-sha2-nistp256-cert-v01@openssh.com",
    ),
];

impl Kind {
    /// The key blob's type name.
    pub fn name(self) -> &'static str {
        KINDS.iter().find(|k| k.0 == self).map_or("", |k| k.1)
    }

    /// The certificate blob's type name.
    pub fn cert_name(self) -> &'static str {
        KINDS.iter().find(|k| k.0 == self).map_or("", |k| k.2)
    }

    /// Is this kind compiled in?
    pub fn built(self) -> bool {
        match self {
            Kind::Ed25519 => true,
            Kind::Rsa => cfg!(feature = "rsa"),
            Kind::Ecdsa(Curve::P256) => cfg!(feature = "ecdsa"),
            Kind::Ecdsa(Curve::P384) => cfg!(feature = "nistp384"),
            Kind::Ecdsa(Curve::P521) => cfg!(feature = "nistp521"),
            Kind::SkEd25519 => cfg!(feature = "sk"),
            Kind::SkEcdsa => cfg!(all(feature = "sk", feature = "ecdsa")),
        }
    }

    /// A key or certificate type name (true: a certificate). `NotBuilt` for a known name
    /// this build leaves out, `UnknownType` for any other.
    pub fn from_blob_name(name: &[u8]) -> Result<(Kind, bool), KeyError> {
        let (kind, cert) = KINDS
            .iter()
            .find_map(|&(k, plain, cert)| {
                if name == plain.as_bytes() {
                    Some((k, false))
                } else if name == cert.as_bytes() {
                    Some((k, true))
                } else {
                    None
                }
            })
            .ok_or(KeyError::UnknownType)?;
        if !kind.built() || (cert && !cfg!(feature = "certs")) {
            return Err(KeyError::NotBuilt);
        }
        Ok((kind, cert))
    }
}

/// A signature algorithm quoll verifies (the name at the start of a signature blob).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SigAlg {
    Ed25519,
    RsaSha256,
    RsaSha512,
    Ecdsa(Curve),
    SkEd25519,
    SkEcdsa,
}

/// Every signature algorithm: (algorithm, signature blob name, the `publickey` request's
/// name for a certificate key). OpenSSH's order of preference.
const ALGS: [(SigAlg, &str, &str); 8] = [
    (
        SigAlg::Ed25519,
        "ssh-ed25519",
        "ssh-ed25519-cert-v01@openssh.com",
    ),
    (
        SigAlg::SkEd25519,
        "sk-ssh-ed25519@openssh.com",
        "sk-ssh-ed25519-cert-v01@openssh.com",
    ),
    (
        SigAlg::Ecdsa(Curve::P256),
        "ecdsa-sha2-nistp256",
        "ecdsa-sha2-nistp256-cert-v01@openssh.com",
    ),
    (
        SigAlg::Ecdsa(Curve::P384),
        "ecdsa-sha2-nistp384",
        "ecdsa-sha2-nistp384-cert-v01@openssh.com",
    ),
    (
        SigAlg::Ecdsa(Curve::P521),
        "ecdsa-sha2-nistp521",
        "ecdsa-sha2-nistp521-cert-v01@openssh.com",
    ),
    (
        SigAlg::SkEcdsa,
        "sk-ecdsa-sha2-nistp256@openssh.com",
        "sk-ecdsa-sha2-nistp256-cert-v01@openssh.com",
    ),
    (
        SigAlg::RsaSha512,
        "rsa-sha2-512",
        "rsa-sha2-512-cert-v01@openssh.com",
    ),
    (
        SigAlg::RsaSha256,
        "rsa-sha2-256",
        "rsa-sha2-256-cert-v01@openssh.com",
    ),
];

impl SigAlg {
    pub fn name(self) -> &'static str {
        ALGS.iter().find(|a| a.0 == self).map_or("", |a| a.1)
    }

    /// The key kind that makes this signature.
    pub fn kind(self) -> Kind {
        match self {
            SigAlg::Ed25519 => Kind::Ed25519,
            SigAlg::RsaSha256 | SigAlg::RsaSha512 => Kind::Rsa,
            SigAlg::Ecdsa(c) => Kind::Ecdsa(c),
            SigAlg::SkEd25519 => Kind::SkEd25519,
            SigAlg::SkEcdsa => Kind::SkEcdsa,
        }
    }

    /// May a key of `kind` make this signature (and is it built in)?
    pub fn fits(self, kind: Kind) -> bool {
        self.kind() == kind && kind.built()
    }

    /// A signature blob's algorithm name; None for names quoll does not verify (`ssh-rsa`,
    /// SHA-1, among them) or that this build leaves out.
    pub fn from_name(name: &[u8]) -> Option<SigAlg> {
        ALGS.iter()
            .find(|a| a.1.as_bytes() == name && a.0.kind().built())
            .map(|a| a.0)
    }

    /// A `publickey` request's algorithm name: the algorithm, and whether it names a
    /// certificate. `ssh-rsa` and `ssh-rsa-cert-v01@openssh.com` (SHA-1) are None.
    pub fn from_request_name(name: &[u8]) -> Option<(SigAlg, bool)> {
        if let Some(alg) = SigAlg::from_name(name) {
            return Some((alg, false));
        }
        if !cfg!(feature = "certs") {
            return None;
        }
        ALGS.iter()
            .find(|a| a.2.as_bytes() == name && a.0.kind().built())
            .map(|a| (a.0, true))
    }
}

/// Every `publickey` request name (plain and certificate forms), built in or not, with its
/// algorithm and whether it names a certificate.
#[cfg(feature = "fuzzing")]
pub(super) fn request_names() -> impl Iterator<Item = (&'static str, SigAlg, bool)> {
    ALGS.iter()
        .flat_map(|&(alg, plain, cert)| [(plain, alg, false), (cert, alg, true)])
}

/// The signature algorithms this build verifies, most preferred first: exactly the names
/// `SigAlg::from_name` accepts. Plain algorithm names only, as OpenSSH's sshd sends them.
pub const SIG_ALGS: &[&str] = &[
    "ssh-ed25519",
    #[cfg(feature = "sk")]
    "sk-ssh-ed25519@openssh.com",
    #[cfg(feature = "ecdsa")]
    "ecdsa-sha2-nistp256",
    #[cfg(feature = "nistp384")]
    "ecdsa-sha2-nistp384",
    #[cfg(feature = "nistp521")]
    "ecdsa-sha2-nistp521",
    #[cfg(all(feature = "sk", feature = "ecdsa"))]
    "sk-ecdsa-sha2-nistp256@openssh.com",
    #[cfg(feature = "rsa")]
    "rsa-sha2-512",
    #[cfg(feature = "rsa")]
    "rsa-sha2-256",
];

/// The user key and certificate types this build accepts (`quoll -Q key`).
pub const KEY_TYPES: &[&str] = &[
    "ssh-ed25519",
    #[cfg(feature = "certs")]
    "ssh-ed25519-cert-v01@openssh.com",
    #[cfg(feature = "sk")]
    "sk-ssh-ed25519@openssh.com",
    #[cfg(all(feature = "sk", feature = "certs"))]
    "sk-ssh-ed25519-cert-v01@openssh.com",
    #[cfg(feature = "ecdsa")]
    "ecdsa-sha2-nistp256",
    #[cfg(all(feature = "ecdsa", feature = "certs"))]
    "ecdsa-sha2-nistp256-cert-v01@openssh.com",
    #[cfg(feature = "nistp384")]
    "ecdsa-sha2-nistp384",
    #[cfg(all(feature = "nistp384", feature = "certs"))]
    "ecdsa-sha2-nistp384-cert-v01@openssh.com",
    #[cfg(feature = "nistp521")]
    "ecdsa-sha2-nistp521",
    #[cfg(all(feature = "nistp521", feature = "certs"))]
    "ecdsa-sha2-nistp521-cert-v01@openssh.com",
    #[cfg(all(feature = "sk", feature = "ecdsa"))]
    "sk-ecdsa-sha2-nistp256@openssh.com",
    #[cfg(all(feature = "sk", feature = "ecdsa", feature = "certs"))]
    "sk-ecdsa-sha2-nistp256-cert-v01@openssh.com",
    #[cfg(feature = "rsa")]
    "ssh-rsa",
    #[cfg(all(feature = "rsa", feature = "certs"))]
    "ssh-rsa-cert-v01@openssh.com",
];

/// `SIG_ALGS` as the comma-separated name-list of the `server-sig-algs` extension
/// (RFC 8308 §3.1), built at compile time.
pub const SERVER_SIG_ALGS: &str = match core::str::from_utf8(JOINED.0.split_at(JOINED.1).0) {
    Ok(s) => s,
    Err(_) => panic!("algorithm names are ASCII"),
};

const JOINED: ([u8; 256], usize) = join(SIG_ALGS);

const fn join(names: &[&str]) -> ([u8; 256], usize) {
    let mut out = [0u8; 256];
    let mut len = 0;
    let mut i = 0;
    while i < names.len() {
        if i > 0 {
            out[len] = b',';
            len += 1;
        }
        let name = names[i].as_bytes();
        let mut j = 0;
        while j < name.len() {
            out[len] = name[j];
            len += 1;
            j += 1;
        }
        i += 1;
    }
    (out, len)
}
