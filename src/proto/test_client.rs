//! An SSH client built from the core's own primitives, for the connection tests
//! (`conn_tests`) and the fuzz targets (`fuzz/`, built with the `fuzzing` feature), with the
//! edge's stand-in from `test_host.rs`. Keys and randomness are fixed, so every run of a
//! handshake produces the same bytes.

use super::cipher::{Cipher, DirectionAlgs, CIPHERS, MACS};
use super::conn::{Conn, Timers, SERVER_VERSION};
use super::crypto::{public_blob, verify_sig_blob, Ed25519Key, X25519Secret};
use super::kex::{ExchangeHash, Method, Negotiated, NewKeys, Secret};
use super::msg;
use super::packet::{Input, Output, PacketError};
use super::test_host::key;
pub use super::test_host::{params, test_host, ChannelEvent, TestHost};
use super::wire::{Reader, WireError, Writer};
use std::sync::OnceLock;

/// The client's side of one connection: its two packet streams and session state.
#[cfg_attr(any(test, feature = "fuzzing"), derive(Clone))]
pub struct Client {
    pub out: Output,
    pub inp: Input,
    pub user_key: &'static Ed25519Key,
    pub sid: [u8; 32],
    pub version_seen: bool,
    /// Strict key exchange was negotiated (sequence numbers restart at each NEWKEYS).
    pub strict: bool,
    /// The key exchange `absorb` is running, if any.
    kex: Option<Box<ClientKex>>,
    /// Why `absorb` stopped reading the server's packets (its keys no longer match them).
    pub lost: Option<&'static str>,
    /// Every byte `pump` handed the server, when set: a recorded session to replay.
    pub recording: Option<Vec<u8>>,
    /// The one cipher and MAC the client offers for both directions ("" for no MAC).
    pub cipher: &'static str,
    pub mac: &'static str,
}

impl Default for Client {
    fn default() -> Self {
        Self::new()
    }
}

/// A key exchange the client runs while absorbing the server's output (its ephemeral key
/// is `X25519Secret::from_random(REKEY_SECRET)`).
#[cfg_attr(any(test, feature = "fuzzing"), derive(Clone))]
struct ClientKex {
    i_c: Vec<u8>,
    /// The server's KEXINIT payload, once seen.
    i_s: Option<Vec<u8>>,
    /// Server-to-client keys, from the server's KEX_ECDH_REPLY until its NEWKEYS.
    s2c: Option<Cipher>,
}

pub fn setup(window: u32) -> (Box<Conn>, TestHost, Client) {
    setup_rekey(window, 1 << 30)
}

pub fn setup_rekey(window: u32, rekey_bytes: u64) -> (Box<Conn>, TestHost, Client) {
    setup_full(window, rekey_bytes, super::auth::Policy::default())
}

pub fn setup_timers(timers: Timers) -> (Box<Conn>, TestHost, Client) {
    let (mut conn, mut host, mut c) = setup(65536);
    conn.set_timers(timers);
    c.handshake(&mut conn, &mut host, true);
    c.login(&mut conn, &mut host);
    (conn, host, c)
}

static USER_KEY: OnceLock<Ed25519Key> = OnceLock::new();

/// The client's ephemeral X25519 secret in the key exchanges `absorb` runs.
const REKEY_SECRET: [u8; 32] = [6; 32];

/// A fresh connection (started: version line and KEXINIT queued), its host and a client.
pub fn setup_full(
    window: u32,
    rekey_bytes: u64,
    policy: super::auth::Policy,
) -> (Box<Conn>, TestHost, Client) {
    let mut host = test_host();
    let mut conn = Conn::try_new(params(window, rekey_bytes, policy), 0, &mut host.budget)
        .expect("an unlimited budget");
    conn.start(&mut host);
    (conn, host, Client::new())
}

pub const V_C: &[u8] = b"SSH-2.0-test";

impl Client {
    pub fn new() -> Client {
        Client {
            out: Output::new(200_000),
            inp: Input::new(),
            user_key: Self::user_key(),
            sid: [0; 32],
            version_seen: false,
            strict: false,
            kex: None,
            lost: None,
            recording: None,
            cipher: "chacha20-poly1305@openssh.com",
            mac: "",
        }
    }

    /// A client that offers only `cipher` and `mac` (the test client's own choice, looked
    /// up by name: what a client that offers one of each must end up with).
    pub fn with_cipher(cipher: &'static str, mac: &'static str) -> Client {
        Client {
            cipher,
            mac,
            ..Client::new()
        }
    }

    fn algs(&self) -> Result<Negotiated, &'static str> {
        let cipher = CIPHERS
            .iter()
            .find(|(n, _)| *n == self.cipher)
            .ok_or("unknown cipher")?
            .1;
        let mac = if cipher.needs_mac() {
            Some(
                MACS.iter()
                    .find(|(n, _)| *n == self.mac)
                    .ok_or("unknown MAC")?
                    .1,
            )
        } else {
            None
        };
        let d = DirectionAlgs { cipher, mac };
        Ok(Negotiated {
            kex: Method::Curve25519,
            c2s: d,
            s2c: d,
        })
    }

    /// The client's Ed25519 key (seed 3), which `test_host` allows for "alice".
    pub fn user_key() -> &'static Ed25519Key {
        key(&USER_KEY, 3)
    }

    pub fn send(&mut self, f: impl FnOnce(&mut Writer) -> Result<(), WireError>) {
        self.out.packet(0, f).unwrap();
    }

    /// Hands up to `max` of the client's queued bytes to the connection the way the daemon's
    /// loop does: only while it wants input, no more than its input space. Returns how many.
    pub fn deliver(&mut self, conn: &mut Conn, host: &mut TestHost, now: u64, max: usize) -> usize {
        let mut done = 0;
        loop {
            host.settle(conn, now);
            if done >= max || self.out.is_empty() || !conn.wants_input() {
                break;
            }
            let data = self.out.pending();
            let space = conn.input_space();
            let n = space.len().min(data.len()).min(max - done);
            if n == 0 {
                break;
            }
            space[..n].copy_from_slice(&data[..n]);
            self.out.sent(n);
            conn.received(n, host, now);
            done += n;
        }
        done
    }

    /// Moves bytes both ways until neither side has more to say.
    pub fn pump(&mut self, conn: &mut Conn, host: &mut TestHost) {
        for _ in 0..10 {
            let data = self.out.pending().to_vec();
            self.out.sent(data.len());
            if let Some(r) = &mut self.recording {
                r.extend_from_slice(&data);
            }
            let mut off = 0;
            while off < data.len() && conn.closing().is_none() {
                host.settle(conn, 0);
                let space = conn.input_space();
                let n = space.len().min(data.len() - off);
                space[..n].copy_from_slice(&data[off..off + n]);
                off += n;
                conn.received(n, host, 0);
            }
            host.settle(conn, 0);
            let out = conn.output().to_vec();
            conn.output_sent(out.len());
            let mut out = &out[..];
            if !self.version_seen && !out.is_empty() {
                let nl = out.iter().position(|&c| c == b'\n').unwrap();
                assert_eq!(&out[..nl - 1], SERVER_VERSION.as_bytes());
                out = &out[nl + 1..];
                self.version_seen = true;
            }
            let sp = self.inp.space();
            sp[..out.len()].copy_from_slice(out);
            self.inp.filled(out.len());
        }
    }

    /// The next payload from the server, if any.
    pub fn recv(&mut self) -> Option<Vec<u8>> {
        let (a, b) = self.inp.next_packet().unwrap()?;
        let p = self.inp.payload_buf()[a..b].to_vec();
        self.inp.consume_packet();
        Some(p)
    }

    pub fn recv_kind(&mut self, kind: u8) -> Vec<u8> {
        loop {
            let p = self.recv().expect("no packet");
            if p[0] == kind {
                return p;
            }
            assert!(
                matches!(
                    p[0],
                    msg::EXT_INFO | msg::CHANNEL_WINDOW_ADJUST | msg::USERAUTH_BANNER
                ),
                "unexpected message {}",
                p[0]
            );
        }
    }

    pub fn kexinit(strict: bool) -> Vec<u8> {
        Self::kexinit_offering(strict, "chacha20-poly1305@openssh.com", "")
    }

    fn kexinit_offering(strict: bool, cipher: &str, mac: &str) -> Vec<u8> {
        let mut v = vec![msg::KEXINIT];
        v.extend_from_slice(&[9u8; 16]);
        let kex = if strict {
            "curve25519-sha256,ext-info-c,kex-strict-c-v00@openssh.com"
        } else {
            "curve25519-sha256"
        };
        for l in [
            kex,
            "ssh-ed25519",
            cipher,
            cipher,
            mac,
            mac,
            "none",
            "none",
            "",
            "",
        ] {
            super::wire::vec_string(&mut v, l.as_bytes());
        }
        v.extend_from_slice(&[0; 5]);
        v
    }

    /// Runs a key exchange; `server_init` is the server's KEXINIT payload.
    pub fn kex(
        &mut self,
        conn: &mut Conn,
        host: &mut TestHost,
        server_init: Option<&[u8]>,
        strict: bool,
        first: bool,
    ) {
        let i_c = Self::kexinit_offering(strict, self.cipher, self.mac);
        self.send(|w| w.raw(&i_c));
        let eph = X25519Secret::from_random([5; 32]);
        let q_c = eph.public_key();
        self.send(|w| {
            w.u8(msg::KEX_ECDH_INIT)?;
            w.string(&q_c)
        });
        self.pump(conn, host);
        // On a client-started rekey the server's KEXINIT comes as an answer.
        let server_init = match server_init {
            Some(s) => s.to_vec(),
            None => self.recv_kind(msg::KEXINIT),
        };
        let reply = self.recv_kind(msg::KEX_ECDH_REPLY);
        let (c2s, s2c) = self
            .reply_keys(&i_c, &server_init, &eph, &reply, first)
            .unwrap();
        assert_eq!(self.recv_kind(msg::NEWKEYS), [msg::NEWKEYS]);
        self.send(|w| w.u8(msg::NEWKEYS));
        self.out.set_cipher(c2s);
        self.inp.set_cipher(s2c);
        if strict {
            self.out.seq = 0;
            self.inp.seq = 0;
        }
    }

    /// Checks the server's KEX_ECDH_REPLY (`reply`, the whole payload) and derives the new
    /// (client-to-server, server-to-client) ciphers; a first exchange sets the session id.
    fn reply_keys(
        &mut self,
        i_c: &[u8],
        i_s: &[u8],
        eph: &X25519Secret,
        reply: &[u8],
        first: bool,
    ) -> Result<(Cipher, Cipher), &'static str> {
        let mut r = Reader::new(reply.get(1..).unwrap_or(&[]));
        let bad = |_| "malformed KEX_ECDH_REPLY";
        let k_s = r.string().map_err(bad)?.to_vec();
        let q_s: [u8; 32] = r.string().map_err(bad)?.try_into().map_err(|_| "bad Q_S")?;
        let sig = r.string().map_err(bad)?.to_vec();
        let k = Secret::mpint(eph.agree(&q_s).map_err(|_| "bad Q_S")?);
        let q_c = eph.public_key();
        let h = ExchangeHash::start(V_C, SERVER_VERSION.as_bytes(), i_c, i_s, &k_s)
            .finish(&q_c, &q_s, &k);
        let host_pub: [u8; 32] = k_s
            .get(19..)
            .and_then(|p| p.try_into().ok())
            .ok_or("bad host key blob")?;
        if !verify_sig_blob(&host_pub, &h, &sig) {
            return Err("bad host signature over H");
        }
        if first {
            self.sid = h;
        }
        let keys = NewKeys::derive(&k, &h, &self.sid, self.algs()?).ok_or("no keys")?;
        Ok((keys.c2s, keys.s2c))
    }

    /// A key exchange that `absorb` follows is under way: the client may send nothing else
    /// until its NEWKEYS (RFC 4253 §7.1).
    pub fn in_kex(&self) -> bool {
        self.kex.is_some()
    }

    /// Starts a key exchange as a client does, KEXINIT and KEX_ECDH_INIT at once (to be
    /// finished by `absorb`). False when one is running or the output is full.
    pub fn start_kex(&mut self) -> bool {
        if self.kex.is_some() {
            return false;
        }
        let i_c = Self::kexinit_offering(false, self.cipher, self.mac);
        let q_c = X25519Secret::from_random(REKEY_SECRET).public_key();
        let sent = self.out.packet(0, |w| w.raw(&i_c)).is_ok()
            && self
                .out
                .packet(0, |w| {
                    w.u8(msg::KEX_ECDH_INIT)?;
                    w.string(&q_c)
                })
                .is_ok();
        self.kex = Some(Box::new(ClientKex {
            i_c,
            i_s: None,
            s2c: None,
        }));
        sent
    }

    /// Reads the server's bytes as a client would after the handshake: decrypts its packets,
    /// takes part in its key exchanges (answering a server's KEXINIT, sending NEWKEYS,
    /// switching keys) and returns the other payloads. At a packet it cannot read it stops
    /// for good and says why in `lost`.
    pub fn absorb(&mut self, mut bytes: &[u8]) -> Vec<Vec<u8>> {
        let mut payloads = Vec::new();
        while !bytes.is_empty() && self.lost.is_none() {
            let space = self.inp.space();
            let n = space.len().min(bytes.len());
            if n == 0 {
                self.lost = Some("no input space");
                break;
            }
            space[..n].copy_from_slice(&bytes[..n]);
            self.inp.filled(n);
            bytes = &bytes[n..];
            loop {
                let (a, b) = match self.inp.next_packet() {
                    Ok(Some(r)) => r,
                    Ok(None) => break,
                    Err(e) => {
                        self.lost = Some(match e {
                            PacketError::BadMac => "a packet's MAC did not verify",
                            PacketError::BadLength => "a packet's length made no sense",
                        });
                        break;
                    }
                };
                let p = self.inp.payload_buf()[a..b].to_vec();
                self.inp.consume_packet();
                if let Err(why) = self.follow_kex(&p) {
                    self.lost = Some(why);
                    break;
                }
                payloads.push(p);
            }
        }
        payloads
    }

    /// The client's part in a key exchange for one server payload; `Err` when the keys can
    /// no longer be followed.
    fn follow_kex(&mut self, p: &[u8]) -> Result<(), &'static str> {
        match p.first() {
            Some(&msg::KEXINIT) => {
                if self.kex.is_none() {
                    self.start_kex();
                }
                match &mut self.kex {
                    Some(k) if k.i_s.is_none() => k.i_s = Some(p.to_vec()),
                    _ => return Err("a second KEXINIT from the server"),
                }
            }
            Some(&msg::KEX_ECDH_REPLY) => {
                let mut k = self
                    .kex
                    .take()
                    .ok_or("KEX_ECDH_REPLY without an exchange")?;
                let i_s = k.i_s.take().ok_or("KEX_ECDH_REPLY before KEXINIT")?;
                let eph = X25519Secret::from_random(REKEY_SECRET);
                let (c2s, s2c) = self.reply_keys(&k.i_c, &i_s, &eph, p, false)?;
                self.out
                    .packet(0, |w| w.u8(msg::NEWKEYS))
                    .map_err(|_| "no room for NEWKEYS")?;
                self.out.set_cipher(c2s);
                if self.strict {
                    self.out.seq = 0;
                }
                k.s2c = Some(s2c);
                self.kex = Some(k);
            }
            Some(&msg::NEWKEYS) => {
                let s2c = self
                    .kex
                    .take()
                    .and_then(|k| k.s2c)
                    .ok_or("NEWKEYS without new keys")?;
                self.inp.set_cipher(s2c);
                if self.strict {
                    self.inp.seq = 0;
                }
            }
            _ => {}
        }
        Ok(())
    }

    pub fn handshake(&mut self, conn: &mut Conn, host: &mut TestHost, strict: bool) {
        self.strict = strict;
        self.out.raw(V_C).unwrap();
        self.out.raw(b"\r\n").unwrap();
        self.pump(conn, host);
        let server_init = self.recv_kind(msg::KEXINIT);
        self.kex(conn, host, Some(&server_init), strict, true);
    }

    /// A signed publickey request for "alice" with the client's key.
    pub fn send_signed_pubkey(&mut self) {
        let blob = public_blob(&self.user_key.public_key());
        let mut signed = Vec::new();
        super::wire::vec_string(&mut signed, &self.sid);
        signed.push(msg::USERAUTH_REQUEST);
        for s in [&b"alice"[..], b"ssh-connection", b"publickey"] {
            super::wire::vec_string(&mut signed, s);
        }
        signed.push(1);
        super::wire::vec_string(&mut signed, b"ssh-ed25519");
        super::wire::vec_string(&mut signed, &blob);
        let sig = self.user_key.sign_blob(&signed);
        self.send(|w| {
            w.u8(msg::USERAUTH_REQUEST)?;
            w.string(b"alice")?;
            w.string(b"ssh-connection")?;
            w.string(b"publickey")?;
            w.bool(true)?;
            w.string(b"ssh-ed25519")?;
            w.string(&blob)?;
            w.string(&sig)
        });
    }

    /// The publickey query step (no signature) for "alice" with the key `blob`.
    pub fn send_pubkey_query(&mut self, blob: &[u8]) {
        self.send(|w| {
            w.u8(msg::USERAUTH_REQUEST)?;
            w.string(b"alice")?;
            w.string(b"ssh-connection")?;
            w.string(b"publickey")?;
            w.bool(false)?;
            w.string(b"ssh-ed25519")?;
            w.string(blob)
        });
    }

    pub fn login(&mut self, conn: &mut Conn, host: &mut TestHost) {
        self.send(|w| {
            w.u8(msg::SERVICE_REQUEST)?;
            w.string(b"ssh-userauth")
        });
        self.send_signed_pubkey();
        self.pump(conn, host);
        self.recv_kind(msg::SERVICE_ACCEPT);
        self.recv_kind(msg::USERAUTH_SUCCESS);
        assert!(conn.authenticated());
    }
}
